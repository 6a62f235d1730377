// The realm's stored users (GET …/realms/{r}/users): a search over user name, e-mail, display
// name and external id (as the API searches, while typing), a status filter, the matching users
// ordered by user name a page at a time (`after` → `next_after`), each leading to their page;
// and bulk deprovisioning from a CSV file (pages/BulkDeprovision.tsx).

import { useState } from "preact/hooks";
import { ok, type Schemas } from "../api/client";
import { href, useConsole } from "../context";
import { Empty, ErrorMessage, Loading, OrganizationName, formatTime, plural, useDebounced, useLoad } from "../util";
import { BulkDeprovision } from "./BulkDeprovision";

/** Users a page. */
export const USERS_PAGE = 50;

type Status = "" | "active" | "deactivated";

export function Users({ realm }: { realm: string }) {
  const { api, tenant } = useConsole();
  const [search, setSearch] = useState("");
  const [status, setStatus] = useState<Status>("");
  const settled = useDebounced(search.trim());
  // The `after` of every page shown so far: the last is the current page's (null: the first).
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1];
  const users = useLoad(
    () =>
      ok(
        api.GET("/v1/tenants/{tenant}/realms/{realm}/users", {
          params: {
            path: { tenant, realm },
            query: {
              limit: USERS_PAGE,
              ...(settled ? { search: settled } : {}),
              ...(status ? { status } : {}),
              ...(after ? { after } : {}),
            },
          },
        }),
      ),
    [realm, settled, status, after],
  );
  const filtered = settled !== "" || status !== "";
  const list = users.data?.users ?? [];
  const restart = () => setCursors([null]);

  return (
    <>
      <h1 tabIndex={-1}>Users</h1>
      <p class="muted">
        Everyone the realm has stored: from logins and from SCIM provisioning. Open a user for their groups, sessions and
        decisions, and to deactivate or reactivate them.
      </p>
      <form class="filters user-filters" aria-label="Find users" role="search" onSubmit={(event) => event.preventDefault()}>
        <div>
          <label>
            Search
          <input
            type="search"
            name="search"
            value={search}
            maxLength={200}
            placeholder="name, e-mail or external id"
            aria-describedby="search-hint"
              onInput={(e) => {
                setSearch(e.currentTarget.value);
                restart();
              }}
            />
          </label>
          <p id="search-hint" class="hint">
            Any part of the user name, e-mail, display name or external id, ignoring case.
          </p>
        </div>
        <label>
          Status
          <select
            name="status"
            value={status}
            onChange={(e) => {
              setStatus(e.currentTarget.value as Status);
              restart();
            }}
          >
            <option value="">all</option>
            <option value="active">active</option>
            <option value="deactivated">deactivated</option>
          </select>
        </label>
      </form>

      <section aria-labelledby="users-title" data-testid="users">
        <h2 id="users-title" class="visually-hidden">
          Matching users
        </h2>
        <ErrorMessage error={users.error} />
        {users.loading && !users.data && <Loading what="users" />}
        {users.data && list.length === 0 && (
          <Empty>
            {filtered ? (
              <>
                No user matches{settled && <> “{settled}”</>}
                {status && <> among the {status} users</>}. Try another part of the name or e-mail, or{" "}
                <button
                  type="button"
                  class="link"
                  onClick={() => {
                    setSearch("");
                    setStatus("");
                    restart();
                  }}
                >
                  clear the search
                </button>
                .
              </>
            ) : (
              <>
                No user in this realm yet. Users appear once they log in (<code>POST …/realms/{realm}/login</code>) or are
                provisioned by the identity provider: set that up on the <a href={href("realms", realm, "scim")}>SCIM page</a>.
              </>
            )}
          </Empty>
        )}
        {list.length > 0 && <UserTable realm={realm} users={list} />}
        {users.data && (list.length > 0 || cursors.length > 1) && (
          <div class="pager">
            <span class="muted" aria-live="polite" data-testid="users-page">
              Page {cursors.length}: {plural(list.length, "user")}
              {users.loading && " (loading…)"}
            </span>
            <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
              Previous page
            </button>
            <button
              type="button"
              disabled={!users.data.next_after || users.loading}
              onClick={() => users.data?.next_after && setCursors([...cursors, users.data.next_after])}
            >
              Next page
            </button>
          </div>
        )}
      </section>

      <BulkDeprovision realm={realm} onDone={users.reload} />
    </>
  );
}

function UserTable({ realm, users }: { realm: string; users: Schemas["User"][] }) {
  return (
    <div class="scroll">
      <table class="table" data-testid="user-table">
        <thead>
          <tr>
            <th scope="col">user name</th>
            <th scope="col">display name</th>
            <th scope="col">e-mail</th>
            <th scope="col">organization</th>
            <th scope="col">status</th>
            <th scope="col">last login</th>
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <tr key={user.id} data-user-id={user.id}>
              <th scope="row">
                <a href={href("realms", realm, "users", user.id)}>{user.user_name}</a>
              </th>
              <td>{user.display_name ?? <span class="muted">—</span>}</td>
              <td>{user.email ?? <span class="muted">—</span>}</td>
              <td>
                <OrganizationName organization={user.organization} />
              </td>
              <td>
                <StatusBadge status={user.status} />
              </td>
              <td class="nowrap">{user.last_login_at === null ? <span class="muted">never</span> : formatTime(user.last_login_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function StatusBadge({ status }: { status: Schemas["User"]["status"] }) {
  return <span class={status === "active" ? "badge flush outcome-matched" : "badge flush outcome-failed"}>{status}</span>;
}
