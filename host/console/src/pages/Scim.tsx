// The realm's SCIM endpoint: the Tenant URL and token URL to configure the identity provider
// with (each with a copy button), how its requests went (GET …/scim/status: counts, the last
// request, the last error with its detail), its clients (GET …/scim/credentials) with Create,
// Rotate… and Revoke… (a new or rotated secret shown once, beside the client id and the URLs),
// and whether a client's secret is also accepted as a static bearer token (PUT …/scim/bearer).

import { useEffect, useState } from "preact/hooks";
import { ok, type Schemas } from "../api/client";
import { href, useConsole } from "../context";
import { Card } from "../components/Card";
import { CopyValue } from "../components/CopyValue";
import { SecretOnce } from "../components/SecretOnce";
import { ConfirmDialog, Empty, ErrorMessage, Loading, formatTime, useAction, useLoad } from "../util";

type Credential = Schemas["ScimCredential"];
type Secret = Schemas["ScimCredentialSecret"];

export function Scim({ realm }: { realm: string }) {
  const { api, tenant } = useConsole();
  const path = { tenant, realm };
  const status = useLoad(() => ok(api.GET("/v1/tenants/{tenant}/realms/{realm}/scim/status", { params: { path } })), [realm]);
  const credentials = useLoad(
    () => ok(api.GET("/v1/tenants/{tenant}/realms/{realm}/scim/credentials", { params: { path } })),
    [realm],
  );
  const [secret, setSecret] = useState<{ secret: Secret; rotated: boolean } | null>(null);
  const [confirm, setConfirm] = useState<{ action: "rotate" | "revoke"; credential: Credential } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);

  const reload = () => {
    credentials.reload();
    status.reload();
  };

  const act = async () => {
    if (!confirm) return;
    const { action, credential } = confirm;
    const credentialPath = { ...path, credential: credential.client_id };
    setConfirm(null);
    setError(null);
    setNotice(null);
    try {
      if (action === "rotate") {
        const answer = await ok(
          api.POST("/v1/tenants/{tenant}/realms/{realm}/scim/credentials/{credential}/rotate", { params: { path: credentialPath } }),
        );
        setSecret({ secret: answer, rotated: true });
      } else {
        await ok(api.DELETE("/v1/tenants/{tenant}/realms/{realm}/scim/credentials/{credential}", { params: { path: credentialPath } }));
        if (secret?.secret.client_id === credential.client_id) setSecret(null);
        setNotice(`Client ${credential.client_id} is revoked: its secret and every token issued to it no longer work.`);
      }
    } catch (caught) {
      setError(caught as Error);
    }
    reload();
  };

  const list = credentials.data?.credentials ?? [];
  return (
    <>
      <h1 tabIndex={-1}>SCIM</h1>
      <p class="muted">
        The identity provider (Entra ID, Okta, …) provisions the realm's users and groups over SCIM 2.0 with a client of its
        own. Give it the Tenant URL, and a client's id and secret for the token URL (OAuth2 client credentials).
      </p>
      <ErrorMessage error={error} />
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}

      <Card id="scim-urls-title" title="Connect the identity provider" error={status.error} testId="scim-urls">
        {status.loading && !status.data && <Loading what="the SCIM endpoint" />}
        {status.data && (
          <div class="grid2">
            <CopyValue label="Tenant URL" value={status.data.scim_url} testId="scim-url" />
            <CopyValue label="Token URL" value={status.data.token_url} testId="token-url" />
          </div>
        )}
      </Card>

      {secret && (
        <SecretOnce
          label={secret.rotated ? "New client secret" : "Client secret"}
          value={secret.secret.client_secret}
          onDone={() => setSecret(null)}
        >
          <p>
            {secret.rotated ? "Rotated: the old secret no longer works. " : "Created. "}
            Configure the identity provider with:
          </p>
          <div class="copy-list">
            <CopyValue label="Client id" value={secret.secret.client_id} testId="new-client-id" />
            <CopyValue label="Tenant URL" value={secret.secret.scim_url} />
            <CopyValue label="Token URL" value={secret.secret.token_url} />
          </div>
          <p class="copy-label">Client secret</p>
        </SecretOnce>
      )}

      <ScimStatusCard status={status.data} />

      <Card id="scim-clients-title" title="Clients" error={credentials.error} testId="scim-clients">
        <NewClientForm
          realm={realm}
          onCreated={(created) => {
            setSecret({ secret: created, rotated: false });
            setNotice(null);
            reload();
          }}
        />
        {credentials.loading && !credentials.data && <Loading what="clients" />}
        {credentials.data && list.length === 0 && (
          <Empty>No SCIM client yet: create one above, then give its id and secret to the identity provider.</Empty>
        )}
        {list.length > 0 && (
          <div class="scroll">
            <table class="table" data-testid="scim-credentials">
              <thead>
                <tr>
                  <th scope="col">client id</th>
                  <th scope="col">label</th>
                  <th scope="col">created</th>
                  <th scope="col">rotated</th>
                  <th scope="col">state</th>
                  <th scope="col">
                    <span class="visually-hidden">actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {[...list].reverse().map((credential) => (
                  <tr key={credential.client_id} data-client-id={credential.client_id}>
                    <th scope="row">
                      <code>{credential.client_id}</code>
                    </th>
                    <td>{credential.label || <span class="muted">no label</span>}</td>
                    <td>{formatTime(credential.created_at)}</td>
                    <td>{credential.rotated_at === null ? <span class="muted">never</span> : formatTime(credential.rotated_at)}</td>
                    <td>
                      {credential.revoked_at === null ? (
                        "active"
                      ) : (
                        <span class="blocked">revoked {formatTime(credential.revoked_at)}</span>
                      )}
                    </td>
                    <td class="row-actions">
                      {credential.revoked_at === null && (
                        <>
                          <button
                            type="button"
                            aria-label={`Rotate ${credential.client_id}…`}
                            onClick={() => setConfirm({ action: "rotate", credential })}
                          >
                            Rotate…
                          </button>
                          <button
                            type="button"
                            aria-label={`Revoke ${credential.client_id}…`}
                            onClick={() => setConfirm({ action: "revoke", credential })}
                          >
                            Revoke…
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {credentials.data && (
          <BearerSetting realm={realm} enabled={credentials.data.bearer_enabled} onChanged={reload} />
        )}
      </Card>

      {confirm?.action === "rotate" && (
        <ConfirmDialog
          title={`Rotate ${confirm.credential.client_id}?`}
          confirmLabel="Rotate the secret"
          onConfirm={act}
          onCancel={() => setConfirm(null)}
        >
          <p>
            The client <code>{confirm.credential.client_id}</code>
            {confirm.credential.label && <> (“{confirm.credential.label}”)</>} gets a new secret, shown once. Its current secret
            stops working at once: give the new one to the identity provider straight away, or provisioning stops.
          </p>
          <p>Access tokens issued before stay valid until they expire (within an hour): revoke the client to cut them off.</p>
        </ConfirmDialog>
      )}
      {confirm?.action === "revoke" && (
        <ConfirmDialog
          title={`Revoke ${confirm.credential.client_id}?`}
          confirmLabel="Revoke"
          onConfirm={act}
          onCancel={() => setConfirm(null)}
        >
          <p>
            The client <code>{confirm.credential.client_id}</code>
            {confirm.credential.label && <> (“{confirm.credential.label}”)</>} stops working at once: its secret and every
            access token issued to it are refused from then on, so the identity provider using it can no longer provision. This
            cannot be undone: create a new client instead.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

/** The counts and the last request and error; also shown (shorter) on the overview. */
function ScimStatusCard({ status }: { status: Schemas["ScimStatus"] | undefined }) {
  if (!status) return null;
  return (
    <Card id="scim-status-title" title="Requests" testId="scim-status">
      {status.requests === 0 ? (
        <Empty>
          No SCIM request yet. Configure the identity provider with the Tenant URL and a client (create one below); its
          requests are counted here.
        </Empty>
      ) : (
        <dl class="facts">
          <dt>requests</dt>
          <dd data-testid="scim-requests">{status.requests.toLocaleString("en")}</dd>
          <dt>errors</dt>
          <dd data-testid="scim-errors">{status.errors > 0 ? <strong class="blocked">{status.errors.toLocaleString("en")}</strong> : 0}</dd>
          <dt>last request</dt>
          <dd data-testid="scim-last-request">
            <ScimRequest request={status.last_request} />
          </dd>
          <dt>last error</dt>
          <dd data-testid="scim-last-error">
            <ScimRequest request={status.last_error} none="none" />
          </dd>
        </dl>
      )}
      <p class="muted small">
        Clients: {status.active_credentials} active. Every SCIM request is also in the <a href={href("audit")}>audit log</a> as{" "}
        <code>scim.request</code>; a refused credential is not counted here.
      </p>
    </Card>
  );
}

/** `2026-12-07 10:15:02 · PATCH /Users/… → 404: detail`. */
export function ScimRequest({ request, none = "none yet" }: { request: Schemas["ScimRequestSummary"] | null; none?: string }) {
  if (!request) return <span class="muted">{none}</span>;
  return (
    <span>
      {formatTime(request.at)} · <code>{request.method}</code> <code class="wrap">{request.path}</code> →{" "}
      <span class={request.status >= 400 ? "blocked" : undefined}>{request.status}</span>
      {request.detail && <span class="scim-detail">: {request.detail}</span>}
    </span>
  );
}

function NewClientForm({ realm, onCreated }: { realm: string; onCreated: (secret: Secret) => void }) {
  const { api, tenant } = useConsole();
  const [label, setLabel] = useState("");
  const { busy, error, run } = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    await run(async () => {
      onCreated(
        await ok(
          api.POST("/v1/tenants/{tenant}/realms/{realm}/scim/credentials", { params: { path: { tenant, realm } }, body: { label } }),
        ),
      );
      setLabel("");
    });
  };
  return (
    <form class="form-row" aria-label="New SCIM client" onSubmit={submit}>
      <label>
        Label
        <input name="label" value={label} onInput={(e) => setLabel(e.currentTarget.value)} placeholder="Entra ID provisioning" />
      </label>
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          Create client
        </button>
      </div>
      <ErrorMessage error={error} />
    </form>
  );
}

function BearerSetting(props: { realm: string; enabled: boolean; onChanged: () => void }) {
  const { api, tenant } = useConsole();
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const [said, setSaid] = useState<string | null>(null);
  // The box follows the click at once, then the API's answer (or goes back if it refuses).
  const [enabled, setEnabled] = useState(props.enabled);
  useEffect(() => setEnabled(props.enabled), [props.enabled]);
  const change = async (wanted: boolean) => {
    const before = enabled;
    setEnabled(wanted);
    setError(null);
    setSaid(null);
    setBusy(true);
    try {
      const realm = await ok(
        api.PUT("/v1/tenants/{tenant}/realms/{realm}/scim/bearer", {
          params: { path: { tenant, realm: props.realm } },
          body: { enabled: wanted },
        }),
      );
      setEnabled(realm.scim_bearer_enabled);
      setSaid(
        realm.scim_bearer_enabled
          ? "Static bearer tokens are accepted now."
          : "Static bearer tokens are refused now: only access tokens from the token URL.",
      );
      props.onChanged();
    } catch (caught) {
      setEnabled(before);
      setError(caught as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <fieldset class="bearer" data-testid="scim-bearer">
      <legend>Static bearer tokens</legend>
      <label class="inline-check">
        <input type="checkbox" name="bearer" checked={enabled} disabled={busy} onChange={(e) => change(e.currentTarget.checked)} />
        Accept a client's secret as a static bearer token
      </label>
      <p class="muted small">
        Some identity providers cannot fetch OAuth2 tokens and send one fixed token instead. When this is on, the SCIM
        endpoint also accepts <code>Authorization: Bearer &lt;client id&gt;.&lt;client secret&gt;</code> of an active client:
        simpler, but that secret then travels with every request and never expires until rotated. Leave it off unless the
        identity provider needs it.
      </p>
      <p role="status" class="small">
        {said}
      </p>
      <ErrorMessage error={error} />
    </fieldset>
  );
}
