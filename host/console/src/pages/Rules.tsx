// A realm's rule-module versions of one kind: which is active and which runs in shadow, each
// version's digest, note and time; the settings of two versions side by side; uploading a new
// version (a .wasm picked or dropped, and its settings); activating one, rolling back, and
// setting or clearing the shadow version, each after a confirmation that says what will change.
// Settings being edited are the realm's draft of that kind (drafts.ts), which the previews can
// run before anything is uploaded.

import { useEffect, useState } from "preact/hooks";
import { ApiError, ok, type Schemas } from "../api/client";
import { href, useConsole } from "../context";
import { SettingsDiff } from "../components/SettingsDiff";
import { VersionsTable } from "../components/VersionsTable";
import { WasmFile } from "../components/WasmFile";
import { SettingsEditor, type FieldError } from "../editor/SettingsEditor";
import { recognise } from "../editor/settings";
import { getDraft, setDraft } from "../drafts";
import { ConfirmDialog, Empty, ErrorMessage, Loading, shortDigest, useLoad } from "../util";

type Kind = "user" | "group";
const KIND_LABEL: Record<Kind, string> = { user: "User rules", group: "Group rules" };

type Pending =
  | { action: "activate"; version: Schemas["ModuleVersion"] }
  | { action: "rollback" }
  | { action: "shadow"; version: Schemas["ModuleVersion"] }
  | { action: "unshadow"; version: number };

export function Rules({ realm, kind }: { realm: string; kind: Kind }) {
  const { api, tenant } = useConsole();
  const path = { tenant, realm, kind };
  const versions = useLoad(
    () => ok(api.GET("/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/versions", { params: { path } })),
    [realm, kind],
  );
  // The realm says which version runs in shadow.
  const realmInfo = useLoad(() => ok(api.GET("/v1/tenants/{tenant}/realms/{realm}", { params: { path: { tenant, realm } } })), [realm]);
  const [pending, setPending] = useState<Pending | null>(null);
  const [actionError, setActionError] = useState<Error | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  // The versions ticked to compare, the last two ticked.
  const [compared, setCompared] = useState<number[]>([]);
  const toggleCompared = (version: number) =>
    setCompared((now) => (now.includes(version) ? now.filter((v) => v !== version) : [...now, version].slice(-2)));

  const list = versions.data?.versions ?? [];
  const active = versions.data?.active ?? null;
  const activeVersion = list.find((v) => v.version === active);
  const shadow = (kind === "user" ? realmInfo.data?.shadow_user_rules_version : realmInfo.data?.shadow_group_rules_version) ?? null;
  const label = KIND_LABEL[kind].toLowerCase();

  const run = async () => {
    if (!pending) return;
    const what = pending;
    setPending(null);
    setActionError(null);
    setNotice(null);
    try {
      if (what.action === "shadow") {
        await ok(
          api.PUT("/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/shadow", { params: { path }, body: { version: what.version.version } }),
        );
        setNotice(`Version ${what.version.version} of the ${label} runs in shadow now.`);
      } else if (what.action === "unshadow") {
        await ok(api.DELETE("/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/shadow", { params: { path } }));
        setNotice(`Version ${what.version} of the ${label} no longer runs in shadow.`);
      } else {
        const result =
          what.action === "activate"
            ? await ok(
                api.POST("/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/versions/{version}/activate", {
                  params: { path: { ...path, version: what.version.version } },
                }),
              )
            : await ok(api.POST("/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/rollback", { params: { path } }));
        setNotice(
          `Version ${result.active} of the ${label} is active now` + (result.previous ? ` (it replaced version ${result.previous}).` : "."),
        );
      }
    } catch (error) {
      setActionError(error as Error);
    }
    versions.reload();
    realmInfo.reload();
  };

  return (
    <>
      <h1 tabIndex={-1}>Rules: {KIND_LABEL[kind].toLowerCase()}</h1>
      <nav class="tabs" aria-label="Module kind">
        <a href={href("realms", realm, "rules", "user")} aria-current={kind === "user" ? "page" : undefined}>
          User rules
        </a>
        <a href={href("realms", realm, "rules", "group")} aria-current={kind === "group" ? "page" : undefined}>
          Group rules
        </a>
      </nav>
      <ErrorMessage error={versions.error ?? realmInfo.error} />
      <ErrorMessage error={actionError} />
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {versions.loading && !versions.data && <Loading what="versions" />}
      {versions.data && list.length === 0 && (
        <Empty>
          No {KIND_LABEL[kind].toLowerCase()} version yet: upload a <code>.wasm</code> module below (the stock modules are built by{" "}
          <code>scripts/build-policies</code>; <code>muster new</code> starts your own).
        </Empty>
      )}
      {list.length > 0 && (
        <section aria-labelledby="versions-title">
          <div class="section-head">
            <h2 id="versions-title">Versions</h2>
            <button type="button" onClick={() => setPending({ action: "rollback" })} disabled={active === null}>
              Roll back…
            </button>
          </div>
          <p class="muted small">Tick two versions to compare their settings.</p>
          <p class="muted small" data-testid="shadow-now">
            {shadow ? (
              <>
                Version {shadow} runs in shadow beside the active one: see its differences on the{" "}
                <a href={href("realms", realm, "shadow")}>Shadow page</a>.
              </>
            ) : (
              "No version runs in shadow."
            )}
          </p>
          <VersionsTable
            versions={list}
            active={active}
            shadow={shadow}
            settings
            testId="versions"
            compare={{ selected: compared, onToggle: toggleCompared }}
            actions={(version) => (
              <>
                {version.version !== active && (
                  <>
                    <a class="button" href={href("realms", realm, "impact", kind, version.version)}>
                      Impact…
                    </a>
                    <a class="button" href={href("realms", realm, "backtest", kind, version.version)}>
                      Backtest…
                    </a>
                  </>
                )}
                {version.version !== active && (
                  <button type="button" onClick={() => setPending({ action: "activate", version })}>
                    Activate…
                  </button>
                )}
                {version.version === shadow ? (
                  <button type="button" onClick={() => setPending({ action: "unshadow", version: version.version })}>
                    Stop shadow…
                  </button>
                ) : (
                  version.version !== active &&
                  realmInfo.data && (
                    <button type="button" onClick={() => setPending({ action: "shadow", version })}>
                      Shadow…
                    </button>
                  )
                )}
              </>
            )}
          />
          <Comparison versions={list} compared={compared} onClose={() => setCompared([])} />
        </section>
      )}
      {pending?.action === "activate" && (
        <ConfirmDialog
          title={`Activate version ${pending.version.version}?`}
          confirmLabel={`Activate version ${pending.version.version}`}
          onConfirm={run}
          onCancel={() => setPending(null)}
        >
          <p>
            From now on every login and SCIM event of realm <code>{realm}</code> runs {KIND_LABEL[kind].toLowerCase()}{" "}
            <strong>version {pending.version.version}</strong>
            {pending.version.note && <> (“{pending.version.note}”)</>} instead of{" "}
            {activeVersion ? <strong>version {activeVersion.version}</strong> : "no module (the default organization)"}.
          </p>
          <p>Users already decided keep their organization until their next login or SCIM event. Roll back to undo.</p>
          <p>
            Try it first: <a href={href("realms", realm, "test")}>test panel</a>.
          </p>
        </ConfirmDialog>
      )}
      {pending?.action === "rollback" && (
        <ConfirmDialog
          title="Roll back?"
          confirmLabel="Roll back"
          onConfirm={run}
          onCancel={() => setPending(null)}
        >
          <p>
            {KIND_LABEL[kind]} <strong>version {active}</strong> stops deciding; the version that was active before it becomes
            active again for every login and SCIM event of realm <code>{realm}</code>. If there is none, the server refuses and
            nothing changes.
          </p>
        </ConfirmDialog>
      )}
      {pending?.action === "shadow" && (
        <ConfirmDialog
          title={`Run version ${pending.version.version} in shadow?`}
          confirmLabel={`Run version ${pending.version.version} in shadow`}
          onConfirm={run}
          onCancel={() => setPending(null)}
        >
          <p>
            From now on every live login and SCIM event of realm <code>{realm}</code> also runs {label}{" "}
            <strong>version {pending.version.version}</strong>
            {pending.version.note && <> (“{pending.version.note}”)</>} beside{" "}
            {activeVersion ? <>the active <strong>version {activeVersion.version}</strong></> : "the default organization (no version is active)"},
            after the answer. Its decision is recorded as a shadow decision, compared with the live one, and never applied:
            users keep what the active version decides.
          </p>
          {shadow !== null && (
            <p>
              It replaces <strong>version {shadow}</strong>, which stops running in shadow.
            </p>
          )}
          <p>
            The counts and the differing decisions are on the <a href={href("realms", realm, "shadow")}>Shadow page</a>.
          </p>
        </ConfirmDialog>
      )}
      {pending?.action === "unshadow" && (
        <ConfirmDialog
          title={`Stop running version ${pending.version} in shadow?`}
          confirmLabel="Stop shadow"
          onConfirm={run}
          onCancel={() => setPending(null)}
        >
          <p>
            Logins and SCIM events of realm <code>{realm}</code> stop running {label} <strong>version {pending.version}</strong>{" "}
            beside the active version. Nothing live changes: the active version keeps deciding. The shadow decisions recorded so
            far stay (on the Shadow page and among the decisions).
          </p>
        </ConfirmDialog>
      )}
      <Upload key={kind} realm={realm} kind={kind} versions={list} active={active} onUploaded={versions.reload} />
    </>
  );
}

/** The diff of the two ticked versions' settings, the older on the left. */
function Comparison(props: { versions: Schemas["ModuleVersion"][]; compared: number[]; onClose: () => void }) {
  const [before, after] = props.compared
    .map((number) => props.versions.find((version) => version.version === number))
    .filter((version) => version !== undefined)
    .sort((a, b) => a.version - b.version);
  if (!before || !after) return null;
  return <SettingsDiff before={before} after={after} onClose={props.onClose} />;
}

function base64(bytes: ArrayBuffer): string {
  const view = new Uint8Array(bytes);
  let binary = "";
  for (let i = 0; i < view.length; i += 0x8000) binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The js-rules editor (CodeMirror and sucrase, most of the console's code by size), loaded the
 *  first time a js-rules version is edited: every other page goes without it. */
type JsEditor = typeof import("../editor/JsRulesEditor").JsRulesEditor;
function useJsEditor(wanted: boolean): { editor: JsEditor | null; error: Error | null } {
  const [loaded, setLoaded] = useState<{ editor: JsEditor | null; error: Error | null }>({ editor: null, error: null });
  useEffect(() => {
    if (!wanted || loaded.editor) return;
    import("../editor/JsRulesEditor").then(
      (module) => setLoaded({ editor: module.JsRulesEditor, error: null }),
      (error: Error) => setLoaded({ editor: null, error: new Error(`The script editor did not load: ${error.message}`) }),
    );
  }, [wanted]);
  return loaded;
}

/** The settings a new version starts from: those of a stored version, or an empty document. */
const EMPTY = "empty";

function Upload(props: { realm: string; kind: Kind; versions: Schemas["ModuleVersion"][]; active: number | null; onUploaded: () => void }) {
  const { api, tenant } = useConsole();
  const [file, setFile] = useState<File | null>(null);
  // Settings edited earlier and not uploaded (the draft) are taken up again.
  const [saved] = useState(() => getDraft(props.realm, props.kind));
  // Which version's settings the new one starts from (null: the active one, else the newest).
  const [chosen, setChosen] = useState<string | null>(saved ? String(saved.version) : null);
  const [settings, setSettings] = useState(saved?.text ?? "{}");
  const [touched, setTouched] = useState(saved !== null);
  // js-rules edited as TypeScript: its source; and why the editors' settings cannot be sent now.
  const [typescript, setTypescript] = useState<string | null>(saved?.typescript ?? null);
  const [problem, setProblem] = useState<string | null>(null);
  const [note, setNote] = useState("");
  const [error, setError] = useState<Error | null>(null);
  const [fieldErrors, setFieldErrors] = useState<FieldError[]>([]);
  const [uploaded, setUploaded] = useState<Schemas["ModuleVersion"] | null>(null);
  const [busy, setBusy] = useState(false);

  const newest = props.versions[props.versions.length - 1];
  const start = chosen ?? String(props.active ?? newest?.version ?? EMPTY);
  const base = props.versions.find((version) => String(version.version) === start);
  // Whose module the settings are for: the version they start from; for an empty document, the
  // active (else the newest) version, the module most uploads carry again.
  const module = base ?? props.versions.find((version) => version.version === props.active) ?? newest;
  const format = module ? recognise(module.settings_schema) : null;
  const js = useJsEditor(format === "js-rules");
  const JsRulesEditor = js.editor;

  // Start from the active version's settings: most uploads change them a little.
  useEffect(() => {
    if (!touched && base) setSettings(JSON.stringify(base.settings, null, 2));
  }, [base?.version]);

  // Edited settings are the draft the previews can run, on the module they are for.
  useEffect(() => {
    if (!touched || !module) return;
    let unparsed: string | null = null;
    try {
      JSON.parse(settings);
    } catch (cause) {
      unparsed = `the settings are not JSON (${(cause as Error).message})`;
    }
    setDraft(props.realm, props.kind, { version: module.version, text: settings, typescript, problem: problem ?? unparsed });
  }, [touched, settings, typescript, problem, module?.version]);

  const discard = () => {
    setDraft(props.realm, props.kind, null);
    setTouched(false);
    setTypescript(null);
    setFieldErrors([]);
    setSettings(JSON.stringify(base?.settings ?? {}, null, 2));
  };

  const edit = (text: string) => {
    setTouched(true);
    setSettings(text);
    // The refusal was about the document as it was; its paths may no longer fit.
    setFieldErrors([]);
  };

  const startFrom = (value: string) => {
    setChosen(value);
    const version = props.versions.find((v) => String(v.version) === value);
    // An empty document for a stock module still has its (empty) list of rules (js-rules: an empty script).
    const activeVersion = props.versions.find((v) => v.version === props.active) ?? newest;
    const stock = activeVersion ? recognise(activeVersion.settings_schema) : null;
    const empty = stock === "js-rules" ? { script: "" } : stock ? { rules: [] } : {};
    setTypescript(null);
    edit(JSON.stringify(version ? version.settings : empty, null, 2));
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setFieldErrors([]);
    setUploaded(null);
    if (!file) {
      setError(new Error("Choose the module's .wasm file."));
      return;
    }
    if (problem) {
      setError(new Error(`The settings cannot be uploaded: ${problem}.`));
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(settings);
    } catch (cause) {
      setError(new Error(`The settings are not JSON: ${(cause as Error).message}`));
      return;
    }
    setBusy(true);
    try {
      const wasm = base64(await file.arrayBuffer());
      const version = await ok(
        api.POST("/v1/tenants/{tenant}/realms/{realm}/modules/{kind}", {
          params: { path: { tenant, realm: props.realm, kind: props.kind } },
          body: { wasm, settings: parsed, note },
        }),
      );
      setUploaded(version);
      setNote("");
      // Stored now: the edits are a version, no longer a draft.
      setDraft(props.realm, props.kind, null);
      setTouched(false);
      setChosen(String(version.version));
      props.onUploaded();
    } catch (caught) {
      setError(caught as Error);
      setFieldErrors(refusals(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="upload-title">
      <h2 id="upload-title">Upload a new version</h2>
      <p class="muted">
        The engine validates the module and its settings; the new version is stored but not active until you activate it.
      </p>
      <form class="form upload-form" onSubmit={submit}>
        <WasmFile file={file} onFile={setFile} />
        {props.versions.length > 0 && (
          <label>
            Start from the settings of
            <select name="start" value={start} onChange={(e) => startFrom(e.currentTarget.value)}>
              {[...props.versions].reverse().map((version) => (
                <option key={version.version} value={String(version.version)}>
                  version {version.version}
                  {version.version === props.active ? " (active)" : ""}
                  {version.note ? ` — ${version.note}` : ""}
                </option>
              ))}
              <option value={EMPTY}>an empty document</option>
            </select>
          </label>
        )}
        <p class="muted small" data-testid="editor-mode">
          {!module
            ? "Edit the settings as JSON."
            : format === "js-rules"
              ? `Version ${module.version} is the stock js-rules module (its settings schema says so): edit the script as JavaScript or TypeScript, and its config as JSON.`
              : format
              ? `Version ${module.version} is the stock ${format} module (its settings schema says so): edit ${base ? "its" : "the"} settings in the form or as JSON; each updates the other.`
              : module.settings_schema === null
                ? `Version ${module.version}'s module publishes no settings schema: edit the settings as JSON.`
                : `Version ${module.version}'s module is not a stock module (its settings schema is not one the form knows): edit the settings as JSON.`}
        </p>
        {format === "js-rules" ? (
          !JsRulesEditor ? (
            <>
              <ErrorMessage error={js.error} />
              {!js.error && <Loading what="the script editor" />}
            </>
          ) : (
          <JsRulesEditor
            text={settings}
            onText={edit}
            typescript={typescript}
            onTypescript={(source) => {
              setTouched(true);
              setTypescript(source);
            }}
            onProblem={setProblem}
            errors={fieldErrors}
          />
          )
        ) : (
          <SettingsEditor format={format} text={settings} onText={edit} errors={fieldErrors} />
        )}
        {touched && module && (
          <div class="draft-actions" data-testid="draft-actions">
            <p class="muted small">
              These settings are a draft until uploaded: the previews can run version {module.version}'s module with them,
              storing nothing.
            </p>
            <div class="actions">
              <a class="button" href={href("realms", props.realm, "test", "draft", props.kind)}>
                Test this draft…
              </a>
              <a class="button" href={href("realms", props.realm, "impact", props.kind, "draft")}>
                Impact of this draft…
              </a>
              <a class="button" href={href("realms", props.realm, "backtest", props.kind, "draft")}>
                Backtest this draft…
              </a>
              <button type="button" onClick={discard}>
                Discard the draft
              </button>
            </div>
          </div>
        )}
        <label>
          Note (what changed)
          <input name="note" value={note} onInput={(e) => setNote(e.currentTarget.value)} />
        </label>
        <ErrorMessage error={error} />
        {uploaded && (
          <p class="notice" role="status" data-testid="uploaded">
            Stored as version {uploaded.version} (digest <code>{shortDigest(uploaded.digest)}</code>). It is not active yet.
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Uploading…" : "Upload"}
        </button>
      </form>
    </section>
  );
}

/** Where a refused upload's settings went wrong: the API's `path`, and each unknown organization. */
function refusals(error: unknown): FieldError[] {
  if (!(error instanceof ApiError) || error.path === undefined) return [];
  const prefix = `settings refused at ${error.path}: `;
  const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  const unknown = (error.unknownOrganizations ?? []).map(({ organization, path }) => ({
    path,
    message: `“${organization}” is not an organization of this tenant.`,
  }));
  return unknown.length > 0 ? unknown : [{ path: error.path, message }];
}
