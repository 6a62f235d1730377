// The editor's form fields. Each names its place in the settings document with `data-path`, in
// the API's notation (`rules[0].when.attribute.name`), so a refusal's `path` finds its field: the
// field is marked invalid and shows the message.

import type { ComponentChildren } from "preact";
import { createContext } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";

/** The refusals to show, by the path of the field that shows them. */
export const FieldErrors = createContext<Map<string, string>>(new Map());

export function useFieldError(path: string): string | undefined {
  return useContext(FieldErrors).get(path);
}

function errorId(path: string): string {
  return `field-error-${path.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

export function FieldMessage({ path, message }: { path: string; message: string | undefined }) {
  if (message === undefined) return null;
  return (
    <p class="field-error" id={errorId(path)} data-testid="field-error">
      {message}
    </p>
  );
}

export function TextField(props: {
  path: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
  hint?: ComponentChildren;
  mono?: boolean;
}) {
  const error = useFieldError(props.path);
  return (
    <div class={error !== undefined ? "field invalid" : "field"} data-path={props.path}>
      <label>
        {props.label}
        <input
          value={props.value}
          placeholder={props.placeholder}
          class={props.mono ? "mono" : undefined}
          spellcheck={false}
          aria-invalid={error !== undefined ? "true" : undefined}
          aria-describedby={error !== undefined ? errorId(props.path) : undefined}
          onInput={(e) => props.onChange(e.currentTarget.value)}
        />
      </label>
      {props.hint && <p class="hint">{props.hint}</p>}
      <FieldMessage path={props.path} message={error} />
    </div>
  );
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

/** A list of strings, one per line (empty lines are dropped). */
export function ListField(props: {
  path: string;
  label: string;
  values: string[];
  onChange: (values: string[]) => void;
  hint?: ComponentChildren;
}) {
  const error = useFieldError(props.path);
  // The text as typed: a trailing newline (the start of the next value) is not in the list yet.
  const [draft, setDraft] = useState(props.values.join("\n"));
  useEffect(() => {
    if (JSON.stringify(lines(draft)) !== JSON.stringify(props.values)) setDraft(props.values.join("\n"));
  }, [JSON.stringify(props.values)]);
  return (
    <div class={error !== undefined ? "field invalid" : "field"} data-path={props.path}>
      <label>
        {props.label}
        <textarea
          rows={Math.min(6, Math.max(2, props.values.length + 1))}
          value={draft}
          spellcheck={false}
          aria-invalid={error !== undefined ? "true" : undefined}
          aria-describedby={error !== undefined ? errorId(props.path) : undefined}
          onInput={(e) => {
            setDraft(e.currentTarget.value);
            props.onChange(lines(e.currentTarget.value));
          }}
        />
      </label>
      {props.hint && <p class="hint">{props.hint}</p>}
      <FieldMessage path={props.path} message={error} />
    </div>
  );
}

/** A block of the document (a rule, a condition, a list): its refusal shows at its head. */
export function Block(props: {
  path: string;
  legend: ComponentChildren;
  /** Beside the legend: the block's own control (a condition's kind). */
  control?: ComponentChildren;
  tools?: ComponentChildren;
  class?: string;
  testId?: string;
  children: ComponentChildren;
}) {
  const error = useFieldError(props.path);
  return (
    <div
      class={`block ${props.class ?? ""}${error !== undefined ? " invalid" : ""}`}
      data-path={props.path}
      data-testid={props.testId}
      role="group"
      aria-label={typeof props.legend === "string" ? props.legend : undefined}
      aria-describedby={error !== undefined ? errorId(props.path) : undefined}
    >
      <div class="block-head">
        <span class="block-legend">{props.legend}</span>
        {props.control}
        {props.tools && <span class="block-tools">{props.tools}</span>}
      </div>
      <FieldMessage path={props.path} message={error} />
      {props.children}
    </div>
  );
}

/** Up, down and remove buttons for an item of an ordered list. */
export function ItemTools(props: {
  what: string;
  index: number;
  count: number;
  onMove: (to: number) => void;
  onRemove: () => void;
}) {
  return (
    <>
      <button type="button" class="icon" aria-label={`Move ${props.what} up`} title="Move up" disabled={props.index === 0} onClick={() => props.onMove(props.index - 1)}>
        ↑
      </button>
      <button
        type="button"
        class="icon"
        aria-label={`Move ${props.what} down`}
        title="Move down"
        disabled={props.index === props.count - 1}
        onClick={() => props.onMove(props.index + 1)}
      >
        ↓
      </button>
      <button type="button" class="icon" aria-label={`Remove ${props.what}`} title="Remove" onClick={props.onRemove}>
        ✕
      </button>
    </>
  );
}

/** A part of the document without a field of its own (a test, a list): its refusal shows below it. */
export function Area(props: { path: string; class: string; children: ComponentChildren }) {
  const error = useFieldError(props.path);
  return (
    <div class={`${props.class}${error !== undefined ? " invalid" : ""}`} data-path={props.path}>
      {props.children}
      <FieldMessage path={props.path} message={error} />
    </div>
  );
}
