// The tenant's API keys (GET /v1/tenants/{t}/keys): id, label, kind, when created and revoked;
// creating one (POST, its token shown once), revoking one (DELETE, after a confirmation; the API
// refuses to revoke the tenant's last admin key and says so).

import { useState } from "preact/hooks";
import { ok, type Schemas } from "../api/client";
import { useConsole } from "../context";
import { Card } from "../components/Card";
import { SecretOnce } from "../components/SecretOnce";
import { ConfirmDialog, Empty, ErrorMessage, Loading, formatTime, useAction, useLoad } from "../util";

type Key = Schemas["ApiKey"];

export function Keys() {
  const { api, tenant, keyId } = useConsole();
  const keys = useLoad(() => ok(api.GET("/v1/tenants/{tenant}/keys", { params: { path: { tenant } } })), [tenant]);
  const [created, setCreated] = useState<Schemas["KeyCreated"] | null>(null);
  const [revoking, setRevoking] = useState<Key | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const revoke = async () => {
    if (!revoking) return;
    const key = revoking;
    setRevoking(null);
    setError(null);
    setNotice(null);
    try {
      await ok(api.DELETE("/v1/tenants/{tenant}/keys/{key}", { params: { path: { tenant, key: key.id } } }));
      setNotice(`Key ${key.id} is revoked: it no longer works.`);
    } catch (caught) {
      setError(caught as Error);
    }
    keys.reload();
  };

  const list = [...(keys.data?.keys ?? [])].sort((a, b) => b.created_at - a.created_at);
  return (
    <main class="single">
      <h1 tabIndex={-1}>API keys of {tenant}</h1>
      <p class="muted">
        Admin keys manage the tenant (this console signs in with one); evaluation keys only log users in and check sessions,
        for the tenant's login service.
      </p>
      <ErrorMessage error={error} />
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <Card id="new-key-title" title="Create a key">
        <NewKeyForm
          onCreated={(key) => {
            setCreated(key);
            setNotice(null);
            keys.reload();
          }}
        />
        {created && <SecretOnce label="New key" value={created.token} onDone={() => setCreated(null)} />}
      </Card>
      <Card id="keys-title" title="Keys" error={keys.error}>
        {keys.loading && !keys.data && <Loading what="keys" />}
        {keys.data && list.length === 0 && <Empty>No key yet: create one above.</Empty>}
        {list.length > 0 && (
          <div class="scroll">
            <table class="table" data-testid="keys">
              <thead>
                <tr>
                  <th scope="col">id</th>
                  <th scope="col">label</th>
                  <th scope="col">kind</th>
                  <th scope="col">created</th>
                  <th scope="col">state</th>
                  <th scope="col"></th>
                </tr>
              </thead>
              <tbody>
                {list.map((key) => (
                  <tr key={key.id} data-key-id={key.id}>
                    <th scope="row">
                      <code>{key.id}</code>
                      {key.id === keyId && <div class="muted small">the key you are signed in with</div>}
                    </th>
                    <td>{key.label || <span class="muted">no label</span>}</td>
                    <td>{key.kind}</td>
                    <td>{formatTime(key.created_at)}</td>
                    <td>{key.revoked_at === null ? "active" : <span class="blocked">revoked {formatTime(key.revoked_at)}</span>}</td>
                    <td class="row-actions">
                      {key.revoked_at === null && (
                        <button type="button" onClick={() => setRevoking(key)}>
                          Revoke…
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      {revoking && (
        <ConfirmDialog title={`Revoke key ${revoking.id}?`} confirmLabel="Revoke" onConfirm={revoke} onCancel={() => setRevoking(null)}>
          <p>
            The {revoking.kind} key <code>{revoking.id}</code>
            {revoking.label && <> (“{revoking.label}”)</>} stops working at once: every script or service that uses it is refused
            from then on. This cannot be undone.
          </p>
          {revoking.id === keyId && (
            <p>
              <strong>It is the key you are signed in with:</strong> the console will be refused too; sign in again with another
              admin key.
            </p>
          )}
          <p>The server refuses to revoke the tenant's last admin key.</p>
        </ConfirmDialog>
      )}
    </main>
  );
}

function NewKeyForm({ onCreated }: { onCreated: (key: Schemas["KeyCreated"]) => void }) {
  const { api, tenant } = useConsole();
  const [label, setLabel] = useState("");
  const [kind, setKind] = useState<Schemas["KeyKind"]>("admin");
  const { busy, error, run } = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    await run(async () => {
      onCreated(await ok(api.POST("/v1/tenants/{tenant}/keys", { params: { path: { tenant } }, body: { kind, label } })));
      setLabel("");
    });
  };
  return (
    <form class="filters" aria-label="New key" onSubmit={submit}>
      <label>
        Label
        <input name="label" value={label} onInput={(e) => setLabel(e.currentTarget.value)} placeholder="what it is for" />
      </label>
      <label>
        Kind
        <select name="kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as Schemas["KeyKind"])}>
          <option value="admin">admin</option>
          <option value="evaluation">evaluation</option>
        </select>
      </label>
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          Create key
        </button>
      </div>
      <ErrorMessage error={error} />
    </form>
  );
}
