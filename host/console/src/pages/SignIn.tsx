// Sign-in: a tenant id and an admin key, checked against the API (GET /v1/tenants/{tenant});
// a wrong, revoked or evaluation key is refused with the API's own message.

import { useState } from "preact/hooks";
import { apiClient, ok } from "../api/client";
import type { Session } from "../session";
import { ErrorMessage } from "../util";

export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [tenant, setTenant] = useState("");
  const [key, setKey] = useState("");
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const api = apiClient(key.trim());
      await ok(api.GET("/v1/tenants/{tenant}", { params: { path: { tenant: tenant.trim() } } }));
      onSignedIn({ tenant: tenant.trim(), key: key.trim() });
    } catch (caught) {
      setError(caught as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <h1 tabIndex={-1}>Sign in to the Muster console</h1>
      <p>
        Use a tenant id and one of its <strong>admin keys</strong> (<code>mk_…</code>). The key is kept for this tab only and
        sent only to this server.
      </p>
      <form onSubmit={submit} class="form" autocomplete="off">
        <label>
          Tenant id
          <input name="tenant" value={tenant} required onInput={(e) => setTenant(e.currentTarget.value)} />
        </label>
        <label>
          Admin key
          <input
            name="key"
            type="password"
            value={key}
            required
            autocomplete="off"
            onInput={(e) => setKey(e.currentTarget.value)}
          />
        </label>
        <ErrorMessage error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p class="muted">
        With <code>scripts/demo</code> running, the tenant is <code>demo</code> and its admin key is in{" "}
        <code>muster-data/demo-admin-token</code>.
      </p>
    </main>
  );
}
