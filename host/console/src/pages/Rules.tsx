// A realm's rule-module versions of one kind: which is active, each version's digest, note and
// time; uploading a new version (.wasm and settings); activating one and rolling back, each
// after a confirmation that says what will change.

import { useEffect, useState } from "preact/hooks";
import { ok, type Schemas } from "../api/client";
import { href, useConsole } from "../app";
import { VersionsTable } from "../components/VersionsTable";
import { ConfirmDialog, Empty, ErrorMessage, Loading, shortDigest, useLoad } from "../util";

type Kind = "user" | "group";
const KIND_LABEL: Record<Kind, string> = { user: "User rules", group: "Group rules" };

type Pending = { action: "activate"; version: Schemas["ModuleVersion"] } | { action: "rollback" };

export function Rules({ realm, kind }: { realm: string; kind: Kind }) {
  const { api, tenant } = useConsole();
  const path = { tenant, realm, kind };
  const versions = useLoad(
    () => ok(api.GET("/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/versions", { params: { path } })),
    [realm, kind],
  );
  const [pending, setPending] = useState<Pending | null>(null);
  const [actionError, setActionError] = useState<Error | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const list = versions.data?.versions ?? [];
  const active = versions.data?.active ?? null;
  const activeVersion = list.find((v) => v.version === active);

  const run = async () => {
    if (!pending) return;
    const what = pending;
    setPending(null);
    setActionError(null);
    setNotice(null);
    try {
      const result =
        what.action === "activate"
          ? await ok(
              api.POST("/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/versions/{version}/activate", {
                params: { path: { ...path, version: what.version.version } },
              }),
            )
          : await ok(api.POST("/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/rollback", { params: { path } }));
      setNotice(
        `Version ${result.active} of the ${KIND_LABEL[kind].toLowerCase()} is active now` +
          (result.previous ? ` (it replaced version ${result.previous}).` : "."),
      );
    } catch (error) {
      setActionError(error as Error);
    }
    versions.reload();
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
      <ErrorMessage error={versions.error} />
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
          <VersionsTable
            versions={list}
            active={active}
            settings
            testId="versions"
            actions={(version) =>
              version.version !== active && (
                <button type="button" onClick={() => setPending({ action: "activate", version })}>
                  Activate…
                </button>
              )
            }
          />
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
      <Upload realm={realm} kind={kind} initialSettings={activeVersion?.settings} onUploaded={versions.reload} />
    </>
  );
}

function base64(bytes: ArrayBuffer): string {
  const view = new Uint8Array(bytes);
  let binary = "";
  for (let i = 0; i < view.length; i += 0x8000) binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(binary);
}

function Upload(props: { realm: string; kind: Kind; initialSettings: unknown; onUploaded: () => void }) {
  const { api, tenant } = useConsole();
  const [file, setFile] = useState<File | null>(null);
  const [settings, setSettings] = useState("{}");
  const [touched, setTouched] = useState(false);
  const [note, setNote] = useState("");
  const [error, setError] = useState<Error | null>(null);
  const [uploaded, setUploaded] = useState<Schemas["ModuleVersion"] | null>(null);
  const [busy, setBusy] = useState(false);

  // Start from the active version's settings: most uploads change them a little.
  useEffect(() => {
    if (!touched && props.initialSettings !== undefined) setSettings(JSON.stringify(props.initialSettings, null, 2));
  }, [props.initialSettings, props.kind]);

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setUploaded(null);
    if (!file) {
      setError(new Error("Choose the module's .wasm file."));
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
      props.onUploaded();
    } catch (caught) {
      setError(caught as Error);
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
      <form class="form" onSubmit={submit}>
        <label>
          Module (.wasm)
          <input
            type="file"
            name="wasm"
            accept=".wasm,application/wasm"
            onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
          />
        </label>
        <label>
          Settings (JSON)
          <textarea
            name="settings"
            rows={12}
            spellcheck={false}
            value={settings}
            onInput={(e) => {
              setTouched(true);
              setSettings(e.currentTarget.value);
            }}
          />
        </label>
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
