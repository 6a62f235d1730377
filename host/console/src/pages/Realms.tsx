// The tenant's realms, each leading to its overview.

import { ok } from "../api/client";
import { href, useConsole } from "../context";
import { Empty, ErrorMessage, Loading, useLoad } from "../util";

export function Realms() {
  const { api, tenant } = useConsole();
  const realms = useLoad(() => ok(api.GET("/v1/tenants/{tenant}/realms", { params: { path: { tenant } } })), [tenant]);
  return (
    <main class="single">
      <h1 tabIndex={-1}>Realms of {tenant}</h1>
      <ErrorMessage error={realms.error} />
      {realms.loading && !realms.data && <Loading what="realms" />}
      {realms.data && realms.data.realms.length === 0 && (
        <Empty>
          This tenant has no realm yet. Create one with <code>POST /v1/tenants/{tenant}/realms</code> (see docs/api.md), then
          come back here.
        </Empty>
      )}
      {realms.data && realms.data.realms.length > 0 && (
        <ul class="cards">
          {realms.data.realms.map((realm) => (
            <li key={realm.id} class="card">
              <a href={href("realms", realm.id)}>
                <strong>{realm.name}</strong> <code>{realm.id}</code>
              </a>
              <p class="muted">
                user rules {realm.user_rules_version ? `v${realm.user_rules_version}` : "none"}, group rules{" "}
                {realm.group_rules_version ? `v${realm.group_rules_version}` : "none"}
              </p>
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}
