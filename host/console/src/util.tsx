// Small shared pieces: loading data, showing errors, formatting.

import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError, ok, type Api, type Schemas } from "./api/client";

/** The realm's active users by organization (the report's JSON form). */
export async function organizationReport(api: Api, tenant: string, realm: string): Promise<Schemas["OrganizationReport"]> {
  const report = await ok(
    api.GET("/v1/tenants/{tenant}/realms/{realm}/reports/organizations", { params: { path: { tenant, realm } } }),
  );
  if (typeof report === "string") throw new Error("The server answered the organization report as CSV, not JSON.");
  return report;
}

export interface Loaded<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `deps` change (and on reload); keeps its data or error. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const generation = useRef(0);
  useEffect(() => {
    const mine = ++generation.current;
    setState((previous) => ({ data: previous.data, loading: true }));
    load().then(
      (data) => mine === generation.current && setState({ data, loading: false }),
      (error: Error) => mine === generation.current && setState({ error, loading: false }),
    );
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** An API error (or any other), as the API worded it. */
export function ErrorMessage({ error }: { error: Error | undefined | null }) {
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div class="error" role="alert">
      {code && code !== "error" && <span class="error-code">{code}</span>}
      <span class="error-message">{error.message}</span>
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <p class="muted" aria-live="polite">Loading {what}…</p>;
}

/** What to do when a list is empty. */
export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

export function formatTime(millis: number | null | undefined): string {
  if (millis === null || millis === undefined) return "—";
  const date = new Date(millis);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(
    date.getMinutes(),
  )}:${pad(date.getSeconds())}`;
}

export function shortDigest(digest: string | null | undefined): string {
  if (!digest) return "—";
  const hex = digest.replace(/^sha256:/, "");
  return hex.slice(0, 12);
}

export function Json({ value, label }: { value: unknown; label: string }) {
  return (
    <pre class="json" aria-label={label} tabIndex={0}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

/**
 * A modal confirmation that says what will change; `onConfirm` when confirmed. With
 * `confirmDisabled` (a required field of the dialog still empty) the confirm button waits.
 */
export function ConfirmDialog(props: {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  confirmDisabled?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
  }, []);
  return (
    <dialog ref={dialog} class="confirm" aria-labelledby="confirm-title" onCancel={props.onCancel}>
      <h2 id="confirm-title">{props.title}</h2>
      <div class="confirm-body">{props.children}</div>
      <div class="actions">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="button" class="primary" disabled={props.confirmDisabled} onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** An action on the API a person starts (a form, a confirmation): whether it is running, and
 * the error it ended with, to show. `run` clears the last error first. */
export function useAction(): { busy: boolean; error: Error | null; run: (action: () => Promise<void>) => Promise<void> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const run = async (action: () => Promise<void>) => {
    setError(null);
    setBusy(true);
    try {
      await action();
    } catch (caught) {
      setError(caught as Error);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

/** `value`, once it has not changed for `delay` milliseconds (a search box's text while typing). */
export function useDebounced<T>(value: T, delay = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delay);
    return () => clearTimeout(timer);
  }, [value, delay]);
  return settled;
}

/** `1 user`, `2 users`. */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count.toLocaleString("en")} ${count === 1 ? noun : nouns}`;
}

/** A user's organization, or that they have none (and are blocked). */
export function OrganizationName({ organization }: { organization: string | null | undefined }) {
  return organization ? <code>{organization}</code> : <em class="blocked">No organization (blocked)</em>;
}
