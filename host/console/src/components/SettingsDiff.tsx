// Two versions' settings side by side: each pretty-printed as JSON (two-space indent, keys in
// the order the API answers them), compared line by line (jsdiff's diffLines), removed lines
// marked on the left, added lines on the right, unchanged lines beside each other. Long runs of
// unchanged lines are folded to the three lines around each change; a click unfolds them.

import { useState } from "preact/hooks";
import { diffLines } from "diff";
import type { Schemas } from "../api/client";

type Version = Schemas["ModuleVersion"];

interface Side {
  number: number;
  text: string;
}
interface Row {
  left?: Side;
  right?: Side;
  change: "same" | "removed" | "added" | "changed";
}

function lines(value: string): string[] {
  const all = value.split("\n");
  if (all[all.length - 1] === "") all.pop();
  return all;
}

/** The rows of a side-by-side diff: a removal followed by an addition is one change, paired. */
export function sideBySide(before: string, after: string): Row[] {
  const rows: Row[] = [];
  let left = 1;
  let right = 1;
  const parts = diffLines(before.endsWith("\n") ? before : `${before}\n`, after.endsWith("\n") ? after : `${after}\n`);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (!part.added && !part.removed) {
      for (const text of lines(part.value)) rows.push({ left: { number: left++, text }, right: { number: right++, text }, change: "same" });
      continue;
    }
    const removed = part.removed ? lines(part.value) : [];
    let added = part.added ? lines(part.value) : [];
    const next = parts[i + 1];
    if (part.removed && next?.added) {
      added = lines(next.value);
      i++;
    }
    for (let j = 0; j < Math.max(removed.length, added.length); j++) {
      const l = removed[j];
      const r = added[j];
      rows.push({
        left: l === undefined ? undefined : { number: left++, text: l },
        right: r === undefined ? undefined : { number: right++, text: r },
        change: l !== undefined && r !== undefined ? "changed" : l !== undefined ? "removed" : "added",
      });
    }
  }
  return rows;
}

/** Unchanged lines shown around each change. */
const CONTEXT = 3;

type Shown = { row: Row; index: number } | { fold: number; rows: number };

/** The rows to show: each change with CONTEXT unchanged lines around it; other runs folded
 *  (`fold` is the index of the run's first row) unless unfolded. */
function fold(rows: Row[], unfolded: Set<number>): Shown[] {
  const near = new Array<boolean>(rows.length).fill(false);
  rows.forEach((row, i) => {
    if (row.change === "same") return;
    for (let j = Math.max(0, i - CONTEXT); j <= Math.min(rows.length - 1, i + CONTEXT); j++) near[j] = true;
  });
  const shown: Shown[] = [];
  for (let i = 0; i < rows.length; ) {
    if (near[i] || unfolded.has(i)) {
      shown.push({ row: rows[i]!, index: i });
      i++;
      continue;
    }
    let end = i;
    while (end < rows.length && !near[end]) end++;
    if (end - i === 1) shown.push({ row: rows[i]!, index: i });
    else shown.push({ fold: i, rows: end - i });
    i = end;
  }
  return shown;
}

export function SettingsDiff({ before, after, onClose }: { before: Version; after: Version; onClose: () => void }) {
  const rows = sideBySide(JSON.stringify(before.settings, null, 2), JSON.stringify(after.settings, null, 2));
  const removed = rows.filter((row) => row.left && row.change !== "same").length;
  const added = rows.filter((row) => row.right && row.change !== "same").length;
  const [unfolded, setUnfolded] = useState<Set<number>>(new Set());
  const [all, setAll] = useState(false);
  const shown: Shown[] = all ? rows.map((row, index) => ({ row, index })) : fold(rows, unfolded);
  const unfold = (start: number, count: number) =>
    setUnfolded((now) => new Set([...now, ...Array.from({ length: count }, (_, k) => start + k)]));
  return (
    <section class="card panel" aria-labelledby="diff-title" data-testid="settings-diff">
      <div class="section-head">
        <h2 id="diff-title">
          Settings: version {before.version} → version {after.version}
        </h2>
        <span class="actions">
          <button
            type="button"
            aria-pressed={all}
            onClick={() => {
              setAll(!all);
              setUnfolded(new Set());
            }}
          >
            {all ? "Fold unchanged lines" : "Show all lines"}
          </button>
          <button type="button" onClick={onClose}>
            Close
          </button>
        </span>
      </div>
      <p class="muted" data-testid="diff-summary">
        {removed === 0 && added === 0
          ? "The two versions have the same settings."
          : `${removed} line${removed === 1 ? "" : "s"} removed, ${added} line${added === 1 ? "" : "s"} added.`}
        {before.digest === after.digest ? " Same module." : " The modules differ too (see the digests)."}
      </p>
      <div class="scroll">
        <table class="diff">
          <colgroup>
            <col class="diff-number-column" />
            <col />
            <col class="diff-number-column" />
            <col />
          </colgroup>
          <thead>
            <tr>
              <th scope="col" colSpan={2}>
                version {before.version}
              </th>
              <th scope="col" colSpan={2}>
                version {after.version}
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((item) =>
              "fold" in item ? (
                <tr key={`fold-${item.fold}`} class="diff-fold">
                  <td colSpan={4}>
                    <button type="button" class="link" onClick={() => unfold(item.fold, item.rows)}>
                      ⋯ {item.rows} unchanged lines
                    </button>
                  </td>
                </tr>
              ) : (
                <tr key={item.index} class={`diff-${item.row.change}`}>
                  <DiffCell side={item.row.left} mark={item.row.change === "same" ? null : "removed"} />
                  <DiffCell side={item.row.right} mark={item.row.change === "same" ? null : "added"} />
                </tr>
              ),
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function DiffCell({ side, mark }: { side: Side | undefined; mark: "removed" | "added" | null }) {
  if (!side) {
    return (
      <>
        <td class="diff-number diff-empty"></td>
        <td class="diff-line diff-empty"></td>
      </>
    );
  }
  return (
    <>
      <td class={`diff-number${mark ? ` diff-${mark}` : ""}`}>{side.number}</td>
      <td class={`diff-line${mark ? ` diff-${mark}` : ""}`} data-change={mark ?? "same"}>
        {mark && <span class="visually-hidden">{mark}: </span>}
        <span class="diff-sign" aria-hidden="true">
          {mark === "removed" ? "−" : mark === "added" ? "+" : " "}
        </span>
        <span class="diff-text">{side.text}</span>
      </td>
    </>
  );
}
