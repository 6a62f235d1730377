// A settings document, edited as JSON and, for the stock modules, in a form beside it. The JSON
// text is the one source: the form shows the document it holds and writes the document back as
// JSON; text that does not parse leaves the form on the last document that did, and says why.
// A refusal's `path` (the API's notation) marks the field of the form it names, or the nearest
// enclosing one the form has (an unknown field's refusal marks the block that holds it).

import { useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { FieldErrors } from "./fields";
import { GroupRulesForm } from "./GroupRulesForm";
import { UserRulesForm } from "./UserRulesForm";
import { checkGroupSettings, checkUserSettings, parent, type Format, type GroupSettings, type UserSettings } from "./settings";

export interface FieldError {
  /** Where in the document, as the API names it: `rules[0].when.attribute.name`, `""` for all of it. */
  path: string;
  message: string;
}

type Parsed = { value: unknown; error?: undefined } | { value?: undefined; error: string };

function parse(text: string): Parsed {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (cause) {
    return { error: (cause as Error).message };
  }
}

export function SettingsEditor(props: {
  /** The stock format the form edits, or null for the JSON view alone (js-rules has an editor of its own). */
  format: Exclude<Format, "js-rules"> | null;
  text: string;
  onText: (text: string) => void;
  errors: FieldError[];
}) {
  const { format, text, onText, errors } = props;
  const parsed = useMemo(() => parse(text), [text]);
  const lastGood = useRef<unknown>(undefined);
  if (parsed.error === undefined) lastGood.current = parsed.value;
  const shown = lastGood.current;
  const problem =
    format === null || shown === undefined
      ? null
      : format === "user-rules"
        ? checkUserSettings(shown)
        : checkGroupSettings(shown);
  const formShown = format !== null && shown !== undefined && problem === null;
  const write = (value: UserSettings | GroupSettings) => onText(JSON.stringify(value, null, 2));

  // Each refusal goes to the field its path names or, failing that, the nearest enclosing one.
  const form = useRef<HTMLDivElement>(null);
  const [marked, setMarked] = useState<Map<string, string>>(new Map());
  useLayoutEffect(() => {
    const root = form.current;
    const found = new Map<string, string>();
    if (root) {
      for (const error of errors) {
        let path: string | null = error.path;
        const shows = (at: string) => at === "" || root.querySelector(`[data-path="${CSS.escape(at)}"]`) !== null;
        while (path !== null && !shows(path)) path = parent(path);
        if (path === null) continue;
        const message = found.has(path) ? `${found.get(path)} ${error.message}` : error.message;
        found.set(path, message);
      }
    }
    setMarked(found);
  }, [errors, formShown]);
  useLayoutEffect(() => {
    const first = form.current?.querySelector<HTMLElement>(".invalid");
    if (!first) return;
    first.scrollIntoView({ block: "center" });
    first.querySelector<HTMLElement>("input, textarea, select")?.focus({ preventScroll: true });
  }, [marked]);

  return (
    <div class={formShown ? "editor with-form" : "editor"}>
      {format !== null && (
        <div
          class="editor-form"
          ref={form}
          onKeyDown={(event) => {
            // Enter in a field of the form must not submit the upload around it.
            if (event.key === "Enter" && (event.target as HTMLElement).tagName === "INPUT") event.preventDefault();
          }}
        >
          <FieldErrors.Provider value={marked}>
            {marked.has("") && (
              <p class="field-error" data-testid="field-error">
                {marked.get("")}
              </p>
            )}
            {problem !== null && (
              <div class="empty" data-testid="form-unavailable">
                The form cannot show this document: {problem}. Edit it in the JSON view; the form comes back when the
                document has the {format === "user-rules" ? "user-rules" : "group-rules"} module's shape.
              </div>
            )}
            {formShown && format === "user-rules" && <UserRulesForm value={shown as UserSettings} onChange={write} />}
            {formShown && format === "group-rules" && <GroupRulesForm value={shown as GroupSettings} onChange={write} />}
          </FieldErrors.Provider>
        </div>
      )}
      <div class="editor-json">
        <label>
          Settings (JSON)
          <textarea
            name="settings"
            rows={formShown ? 30 : 14}
            spellcheck={false}
            value={text}
            aria-invalid={parsed.error !== undefined ? "true" : undefined}
            aria-describedby={parsed.error !== undefined ? "json-error" : undefined}
            onInput={(e) => onText(e.currentTarget.value)}
          />
        </label>
        {parsed.error !== undefined && (
          <p class="field-error" id="json-error" data-testid="json-error">
            Not JSON: {parsed.error}.{formShown ? " The form shows the last document that was." : ""}
          </p>
        )}
      </div>
    </div>
  );
}
