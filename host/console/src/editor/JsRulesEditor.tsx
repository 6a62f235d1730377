// The settings of the stock js-rules module edited as what they are: the script in a code editor
// with JavaScript highlighting (or TypeScript, which sucrase strips of its types before it goes
// into the settings) and `config` as JSON beside it. The settings' JSON text stays the one
// source the upload and the previews send; the editors write it. A refusal at path `script`
// whose message says `line L, column C` marks that place in the script (so does a TypeScript
// error); any other refusal is shown under the editor it names. A document the editors cannot
// show (not an object with a string `script`) is edited as JSON.

import { useEffect, useMemo, useState } from "preact/hooks";
import { CodeEditor, type Problem } from "./CodeEditor";
import type { FieldError } from "./SettingsEditor";
import { checkJsSettings, scriptPosition, type JsSettings } from "./settings";
import { transpile } from "./typescript";

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function pretty(value: unknown): string {
  return JSON.stringify(value ?? null, null, 2);
}

/** The document with `script` and `config` (a `null` config is left out: the module reads it as absent). */
function written(script: string, config: unknown): string {
  return JSON.stringify(config === null || config === undefined ? { script } : { script, config }, null, 2);
}

export function JsRulesEditor(props: {
  text: string;
  onText: (text: string) => void;
  /** The TypeScript source when the script is edited as TypeScript, else null. */
  typescript: string | null;
  onTypescript: (source: string | null) => void;
  /** Told why the settings cannot be sent now (TypeScript that does not compile, a config that
   *  is not JSON: the settings still hold the last that did), or null. */
  onProblem: (problem: string | null) => void;
  errors: FieldError[];
}) {
  const { text, onText, typescript, errors } = props;
  const parsed = useMemo(() => parse(text), [text]);
  const problem = parsed === undefined ? "the settings are not JSON" : checkJsSettings(parsed);
  const settings = problem === null ? (parsed as JsSettings) : null;

  // The config's own text, so that JSON being typed (not yet parseable) stays as typed.
  const configKey = JSON.stringify(settings?.config ?? null);
  const [configText, setConfigText] = useState(() => pretty(settings?.config));
  useEffect(() => {
    const typed = parse(configText);
    if (typed === undefined || JSON.stringify(typed) !== configKey) setConfigText(pretty(settings?.config));
  }, [configKey]);
  const configError = parse(configText) === undefined ? "config is not JSON" : null;

  const compiled = useMemo(() => (typescript === null ? null : transpile(typescript)), [typescript]);
  const unsendable = compiled?.error
    ? `the TypeScript does not compile (line ${compiled.error.line}, column ${compiled.error.column}: ${compiled.error.message})`
    : configError && settings !== null
      ? "the config is not JSON"
      : null;
  useEffect(() => props.onProblem(unsendable), [unsendable]);
  useEffect(() => () => props.onProblem(null), []);

  if (settings === null) {
    return (
      <div class="editor">
        <div class="empty" data-testid="form-unavailable">
          The script editor cannot show this document: {problem}. Edit it as JSON; the script editor comes back when it is an
          object with a <code>script</code> (and an optional <code>config</code>).
        </div>
        <label>
          Settings (JSON)
          <textarea name="settings" rows={14} spellcheck={false} value={text} onInput={(e) => onText(e.currentTarget.value)} />
        </label>
        <FieldMessages errors={errors} />
      </div>
    );
  }

  const editScript = (source: string) => {
    if (typescript === null) {
      onText(written(source, settings.config));
      return;
    }
    props.onTypescript(source);
    const result = transpile(source);
    if (result.code !== undefined) onText(written(result.code, settings.config));
  };
  const editConfig = (value: string) => {
    setConfigText(value);
    const config = parse(value);
    if (config !== undefined) onText(written(settings.script, config));
  };

  const scriptErrors = errors.filter((error) => error.path === "script");
  const problems: Problem[] = scriptErrors.flatMap((error) => scriptPosition(error.message) ?? []);
  if (compiled?.error) problems.push(compiled.error);
  const configErrors = errors.filter((error) => error.path === "config" || error.path.startsWith("config.") || error.path.startsWith("config["));
  const otherErrors = errors.filter((error) => !scriptErrors.includes(error) && !configErrors.includes(error));

  return (
    <div class="editor with-form js-editor">
      <div class="editor-form">
        <fieldset class="segmented">
          <legend>Script language</legend>
          <label class="inline">
            <input type="radio" name="script-language" checked={typescript === null} onChange={() => props.onTypescript(null)} /> JavaScript
          </label>
          <label class="inline">
            <input
              type="radio"
              name="script-language"
              checked={typescript !== null}
              onChange={() => props.onTypescript(settings.script)}
            />{" "}
            TypeScript
          </label>
        </fieldset>
        <p class="muted small">
          {typescript === null
            ? "The script: an ES module exporting decideUser and/or decideGroup (docs/javascript.md)."
            : "TypeScript: its types are stripped (sucrase) and the JavaScript left is the script the settings hold, line for line."}
        </p>
        <CodeEditor
          value={typescript ?? settings.script}
          onChange={editScript}
          language={typescript === null ? "javascript" : "typescript"}
          problems={problems}
          label="Script"
          testId="script-editor"
        />
        {compiled?.error && (
          <p class="field-error" data-testid="typescript-error">
            TypeScript: line {compiled.error.line}, column {compiled.error.column}: {compiled.error.message}. The settings keep
            the last script that compiled.
          </p>
        )}
        <FieldMessages errors={scriptErrors} testId="script-error" />
        <FieldMessages errors={otherErrors} />
      </div>
      <div class="editor-json">
        <p class="label">Config (JSON, the script's context.config)</p>
        <CodeEditor value={configText} onChange={editConfig} language="json" problems={[]} label="Config" testId="config-editor" />
        {configError && (
          <p class="field-error" data-testid="config-error">
            The config is not JSON; the settings keep the last config that was.
          </p>
        )}
        <FieldMessages errors={configErrors} />
      </div>
    </div>
  );
}

function FieldMessages(props: { errors: FieldError[]; testId?: string }) {
  if (props.errors.length === 0) return null;
  return (
    <div class="field-error" role="alert" data-testid={props.testId ?? "field-error"}>
      {props.errors.map((error, i) => (
        <pre key={i} class="refusal">
          {error.path ? `${error.path}: ` : ""}
          {error.message}
        </pre>
      ))}
    </div>
  );
}
