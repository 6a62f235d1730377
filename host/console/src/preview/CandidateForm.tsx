// The form of a preview page: which kind of rules and which of its versions to run as the
// candidate (the active version is marked), anything else the preview needs (`children`), and
// the button that runs it, or cancels the run in progress.

import type { ComponentChildren } from "preact";
import { ok } from "../api/client";
import { useConsole } from "../context";
import { ErrorMessage, useLoad } from "../util";

export type Kind = "user" | "group";

export interface Candidate {
  kind: Kind;
  version: number | null;
}

export function CandidateForm(props: {
  realm: string;
  candidate: Candidate;
  onCandidate: (candidate: Candidate) => void;
  running: boolean;
  runLabel: string;
  onRun: (candidate: { kind: Kind; version: number }) => void;
  onCancel: () => void;
  children?: ComponentChildren;
}) {
  const { api, tenant } = useConsole();
  const { kind } = props.candidate;
  const versions = useLoad(
    () => ok(api.GET("/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/versions", { params: { path: { tenant, realm: props.realm, kind } } })),
    [props.realm, kind],
  );
  const list = [...(versions.data?.versions ?? [])].reverse();
  const active = versions.data?.active ?? null;
  // Without a chosen version: the newest that is not active, the usual candidate.
  const chosen = props.candidate.version ?? list.find((version) => version.version !== active)?.version ?? list[0]?.version ?? null;

  return (
    <form
      class="filters"
      aria-label="Candidate"
      onSubmit={(event) => {
        event.preventDefault();
        if (chosen !== null) props.onRun({ kind, version: chosen });
      }}
    >
      <label>
        Rules
        <select name="kind" value={kind} disabled={props.running} onChange={(e) => props.onCandidate({ kind: e.currentTarget.value as Kind, version: null })}>
          <option value="user">user rules</option>
          <option value="group">group rules</option>
        </select>
      </label>
      <label>
        Candidate version
        <select
          name="version"
          value={chosen === null ? "" : String(chosen)}
          disabled={props.running || list.length === 0}
          onChange={(e) => props.onCandidate({ kind, version: Number(e.currentTarget.value) })}
        >
          {list.map((version) => (
            <option key={version.version} value={String(version.version)}>
              version {version.version}
              {version.version === active ? " (active)" : ""}
              {version.note ? ` — ${version.note}` : ""}
            </option>
          ))}
        </select>
      </label>
      {props.children}
      <div class="actions">
        {/* Keyed: one element each, so a click on Cancel never lands on a submit button being reused. */}
        {props.running ? (
          <button key="cancel" type="button" onClick={props.onCancel}>
            Cancel
          </button>
        ) : (
          <button key="run" type="submit" class="primary" disabled={chosen === null}>
            {props.runLabel}
          </button>
        )}
      </div>
      <ErrorMessage error={versions.error} />
      {versions.data && list.length === 0 && <p class="muted">No {kind}-rules version yet: upload one on the Rules page.</p>}
    </form>
  );
}
