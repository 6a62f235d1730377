// The form of a preview page: which kind of rules and which of its versions to run as the
// candidate (the active version is marked), or the realm's draft of that kind (settings edited
// on the Rules page and not uploaded, run on the module of the version they are for), anything
// else the preview needs (`children`), and the button that runs it, or cancels the run in
// progress.

import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { ok } from "../api/client";
import { useConsole } from "../context";
import { draftSettings, useDraft, type Kind } from "../drafts";
import { ErrorMessage, useLoad } from "../util";

export type { Kind };

export interface Candidate {
  kind: Kind;
  /** A version, the draft, or null: the usual candidate. */
  version: number | "draft" | null;
}

/** What a preview runs: a version, or (`settings` given) a draft of it. */
export interface Chosen {
  kind: Kind;
  version: number;
  settings?: unknown;
}

export function CandidateForm(props: {
  realm: string;
  candidate: Candidate;
  onCandidate: (candidate: Candidate) => void;
  running: boolean;
  runLabel: string;
  onRun: (candidate: Chosen) => void;
  onCancel: () => void;
  children?: ComponentChildren;
}) {
  const { api, tenant } = useConsole();
  const { kind } = props.candidate;
  const versions = useLoad(
    () => ok(api.GET("/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/versions", { params: { path: { tenant, realm: props.realm, kind } } })),
    [props.realm, kind],
  );
  const draft = useDraft(props.realm, kind);
  const [problem, setProblem] = useState<Error | null>(null);
  const list = [...(versions.data?.versions ?? [])].reverse();
  const active = versions.data?.active ?? null;
  // Without a chosen version: the newest that is not active, the usual candidate.
  const usual = list.find((version) => version.version !== active)?.version ?? list[0]?.version ?? null;
  const chosen = props.candidate.version === "draft" && !draft ? usual : (props.candidate.version ?? usual);

  const submit = (event: Event) => {
    event.preventDefault();
    setProblem(null);
    if (chosen === null) return;
    if (chosen !== "draft") {
      props.onRun({ kind, version: chosen });
      return;
    }
    try {
      props.onRun({ kind, version: draft!.version, settings: draftSettings(draft!) });
    } catch (caught) {
      setProblem(caught as Error);
    }
  };

  return (
    <form class="filters" aria-label="Candidate" onSubmit={submit}>
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
          disabled={props.running || (list.length === 0 && !draft)}
          onChange={(e) => {
            const value = e.currentTarget.value;
            props.onCandidate({ kind, version: value === "draft" ? "draft" : Number(value) });
          }}
        >
          {draft && <option value="draft">the draft (of version {draft.version})</option>}
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
      <ErrorMessage error={versions.error ?? problem} />
      {versions.data && list.length === 0 && <p class="muted">No {kind}-rules version yet: upload one on the Rules page.</p>}
    </form>
  );
}
