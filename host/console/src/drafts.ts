// The drafts the console holds: settings edited on the Rules page and not uploaded, one per realm
// and kind of rules, with the stored version whose module they are for. The test panel, the
// impact preview and the backtest can run a draft as their candidate: the API runs that
// version's module with the draft's settings and stores nothing (docs/api.md#drafts). Drafts
// live in this tab's memory only: a reload or closing the tab forgets them, as it forgets an
// unfinished upload.

import { useEffect, useState } from "preact/hooks";

export type Kind = "user" | "group";

export interface Draft {
  /** The stored version whose module runs the settings. */
  version: number;
  /** The settings document as edited (JSON text): what the editor shows again. */
  text: string;
  /** For js-rules edited as TypeScript: the TypeScript source (the settings hold what sucrase made of it). */
  typescript: string | null;
  /** Why the draft cannot run now (JSON that does not parse, TypeScript that does not compile), or null. */
  problem: string | null;
}

const drafts = new Map<string, Draft>();
const listeners = new Set<() => void>();

function keyOf(realm: string, kind: Kind): string {
  return JSON.stringify([realm, kind]);
}

/** The draft of `realm`'s `kind` rules, if there is one. */
export function getDraft(realm: string, kind: Kind): Draft | null {
  return drafts.get(keyOf(realm, kind)) ?? null;
}

/** Keeps `draft` as the draft of `realm`'s `kind` rules (null: forgets it). */
export function setDraft(realm: string, kind: Kind, draft: Draft | null): void {
  if (draft) drafts.set(keyOf(realm, kind), draft);
  else drafts.delete(keyOf(realm, kind));
  for (const listener of listeners) listener();
}

/** The draft of `realm`'s `kind` rules, kept up to date. */
export function useDraft(realm: string, kind: Kind): Draft | null {
  const [draft, setShown] = useState(() => getDraft(realm, kind));
  useEffect(() => {
    const listener = () => setShown(getDraft(realm, kind));
    listener();
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, [realm, kind]);
  return draft;
}

/** The settings a preview sends for `draft`, or an error saying why it cannot run. */
export function draftSettings(draft: Draft): unknown {
  if (draft.problem) throw new Error(`The draft cannot run: ${draft.problem}. Fix it on the Rules page.`);
  return JSON.parse(draft.text) as unknown;
}
