// The versions of one module kind as a table, newest first: number, which one is active and
// which runs in shadow, digest, the uploader's note, time and key. The Overview shows the newest
// few; the Rules page shows them all, with their settings, a button or two per row and a
// checkbox per row to pick two versions to compare.

import type { ComponentChildren } from "preact";
import type { Schemas } from "../api/client";
import { Json, formatTime, shortDigest } from "../util";

type Version = Schemas["ModuleVersion"];

export function VersionsTable(props: {
  /** As the API lists them: oldest first. */
  versions: Version[];
  active: number | null;
  shadow?: number | null;
  /** Only the newest `limit` versions. */
  limit?: number;
  /** A column with each version's settings document (folded). */
  settings?: boolean;
  /** The last column: what can be done with a version. */
  actions?: (version: Version) => ComponentChildren;
  /** A checkbox per row; `selected` are the checked versions. */
  compare?: { selected: number[]; onToggle: (version: number) => void };
  testId?: string;
  caption?: string;
}) {
  const newestFirst = [...props.versions].reverse().slice(0, props.limit ?? props.versions.length);
  return (
    <div class="scroll">
      <table class="table" data-testid={props.testId}>
        {props.caption && <caption class="visually-hidden">{props.caption}</caption>}
        <thead>
          <tr>
            {props.compare && <th scope="col">compare</th>}
            <th scope="col">version</th>
            <th scope="col">digest</th>
            <th scope="col">note</th>
            <th scope="col">uploaded</th>
            {props.settings && <th scope="col">settings</th>}
            {props.actions && <th scope="col"></th>}
          </tr>
        </thead>
        <tbody>
          {newestFirst.map((version) => {
            const active = version.version === props.active;
            const shadow = version.version === props.shadow;
            return (
              <tr key={version.version} data-version={version.version} class={active ? "active-row" : shadow ? "shadow-row" : ""}>
                {props.compare && (
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Compare version ${version.version}`}
                      checked={props.compare.selected.includes(version.version)}
                      onChange={() => props.compare?.onToggle(version.version)}
                    />
                  </td>
                )}
                <th scope="row">
                  {version.version}
                  {active && <span class="badge outcome-matched">active</span>}
                  {shadow && <span class="badge badge-shadow">shadow</span>}
                </th>
                <td>
                  <code title={version.digest}>{shortDigest(version.digest)}</code>
                </td>
                <td>{version.note || <span class="muted">no note</span>}</td>
                <td>
                  {formatTime(version.created_at)}
                  <div class="muted small">by key {version.created_by}</div>
                </td>
                {props.settings && (
                  <td>
                    <details>
                      <summary>show</summary>
                      <Json value={version.settings} label={`Settings of version ${version.version}`} />
                    </details>
                  </td>
                )}
                {props.actions && <td class="row-actions">{props.actions(version)}</td>}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
