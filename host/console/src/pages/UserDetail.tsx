// One stored user (GET …/realms/{r}/users/{u}): status, organization, provider groups,
// rule-based groups, internal groups (as the last login reported them), attributes; their sessions
// (GET …/users/{u}/sessions); their newest decisions, each leading to its record; Deactivate…
// and Reactivate…, each after a confirmation; and a link to try the rules on them.

import { useState } from "preact/hooks";
import { ok, type Schemas } from "../api/client";
import { href, useConsole } from "../context";
import { Card } from "../components/Card";
import { ConfirmDialog, Empty, ErrorMessage, Json, Loading, OrganizationName, formatTime, plural, useAction, useLoad } from "../util";
import { DecisionTable } from "./Overview";
import { StatusBadge } from "./Users";

type User = Schemas["User"];

export function UserDetail({ realm, id }: { realm: string; id: string }) {
  const { api, tenant } = useConsole();
  const path = { tenant, realm, user: id };
  const loaded = useLoad(() => ok(api.GET("/v1/tenants/{tenant}/realms/{realm}/users/{user}", { params: { path } })), [realm, id]);
  // The user as the last change answered it, until the next load.
  const [changed, setChanged] = useState<User | null>(null);
  const user = changed ?? loaded.data;
  const [tick, setTick] = useState(0);
  const [notice, setNotice] = useState<string | null>(null);
  const [acting, setActing] = useState<"deactivate" | "reactivate" | null>(null);

  const done = (updated: User, message: string) => {
    setChanged(updated);
    setNotice(message);
    setActing(null);
    setTick((t) => t + 1);
  };

  return (
    <>
      <p>
        <a href={href("realms", realm, "users")}>← Users</a>
      </p>
      <h1 tabIndex={-1}>{user ? user.user_name : `User ${id}`}</h1>
      <ErrorMessage error={loaded.error} />
      {loaded.loading && !user && <Loading what="the user" />}
      {notice && (
        <p class="notice" role="status" data-testid="user-notice">
          {notice}
        </p>
      )}
      {user && (
        <>
          <div class="actions page-actions">
            {user.status === "active" ? (
              <button type="button" onClick={() => setActing("deactivate")}>
                Deactivate…
              </button>
            ) : (
              <button type="button" class="primary" onClick={() => setActing("reactivate")}>
                Reactivate…
              </button>
            )}
            <a class="button" href={href("realms", realm, "test", user.id)}>
              Try the rules on this user
            </a>
          </div>
          <UserFacts user={user} />
        </>
      )}
      <Sessions realm={realm} id={id} tick={tick} />
      <History realm={realm} id={id} tick={tick} />
      {user && acting === "deactivate" && (
        <DeactivateDialog
          realm={realm}
          user={user}
          onCancel={() => setActing(null)}
          onDone={(deactivation) =>
            done(
              deactivation.user,
              `${deactivation.user.user_name} is deactivated: blocked (was ${deactivation.previous_organization ?? "in no organization"}), removed from ${plural(
                deactivation.previous_rule_groups.length,
                "rule-based group",
              )}, ${plural(deactivation.suspended_groups.length, "SCIM group membership")} suspended, ${plural(
                deactivation.revoked_sessions,
                "session",
              )} revoked.`,
            )
          }
          onAlready={(updated) => done(updated, `${updated.user_name} was deactivated already: nothing changed.`)}
        />
      )}
      {user && acting === "reactivate" && (
        <ReactivateDialog
          realm={realm}
          user={user}
          onCancel={() => setActing(null)}
          onDone={(updated) =>
            done(
              updated,
              `${updated.user_name} is active again: the rules ran and put them in ${updated.organization ?? "no organization (blocked)"}.`,
            )
          }
        />
      )}
    </>
  );
}

function UserFacts({ user }: { user: User }) {
  const internal = user.internal_groups;
  const attributes = Object.entries(user.attributes);
  return (
    <div class="columns">
      <Card id="user-facts-title" title="Who" testId="user-facts">
        <dl class="facts">
          <dt>status</dt>
          <dd data-testid="user-status">
            <StatusBadge status={user.status} />
            {user.deactivated_at !== null && user.deactivated_at !== undefined && (
              <span class="muted"> since {formatTime(user.deactivated_at)}</span>
            )}
          </dd>
          <dt>organization</dt>
          <dd data-testid="user-organization">
            <OrganizationName organization={user.organization} />
          </dd>
          <dt>display name</dt>
          <dd>{user.display_name ?? <span class="muted">—</span>}</dd>
          <dt>e-mail</dt>
          <dd>{user.email ?? <span class="muted">—</span>}</dd>
          <dt>external id</dt>
          <dd>{user.external_id ? <code>{user.external_id}</code> : <span class="muted">—</span>}</dd>
          <dt>id</dt>
          <dd>
            <code>{user.id}</code>
          </dd>
          <dt>source</dt>
          <dd>{user.scim ? "provisioned over SCIM" : "seen at login only"}</dd>
          <dt>last login</dt>
          <dd>{user.last_login_at === null ? <span class="muted">never</span> : formatTime(user.last_login_at)}</dd>
          <dt>created</dt>
          <dd>{formatTime(user.created_at)}</dd>
          <dt>updated</dt>
          <dd>{formatTime(user.updated_at)}</dd>
        </dl>
      </Card>
      <Card id="user-groups-title" title="Groups and attributes" testId="user-groups">
        <dl class="facts">
          <dt>provider groups</dt>
          <dd data-testid="user-provider-groups">
            <Names names={user.provider_groups} none="none reported by the identity provider" />
          </dd>
          <dt>rule-based groups</dt>
          <dd data-testid="user-rule-groups">
            <Names names={user.rule_groups} none={user.status === "active" ? "none" : "none while deactivated"} />
          </dd>
          {internal.length > 0 && (
            <>
              <dt>internal groups</dt>
              <dd data-testid="user-internal-groups">
                <Names names={internal} none="none" />
                <div class="muted small">as the rules last saw them</div>
              </dd>
            </>
          )}
        </dl>
        {attributes.length === 0 ? (
          <p class="muted">No attribute.</p>
        ) : (
          <div class="scroll">
            <table class="table" data-testid="user-attributes">
              <caption class="visually-hidden">Attributes</caption>
              <thead>
                <tr>
                  <th scope="col">attribute</th>
                  <th scope="col">values</th>
                </tr>
              </thead>
              <tbody>
                {attributes.map(([name, values]) => (
                  <tr key={name}>
                    <th scope="row">
                      <code>{name}</code>
                    </th>
                    <td>{values.join(", ")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {user.scim && (
          <details>
            <summary>The SCIM resource</summary>
            <Json value={user.scim} label="SCIM resource" />
          </details>
        )}
      </Card>
    </div>
  );
}

function Names({ names, none }: { names: string[]; none: string }) {
  if (names.length === 0) return <span class="muted">{none}</span>;
  return (
    <ul class="names">
      {names.map((name) => (
        <li key={name}>
          <code>{name}</code>
        </li>
      ))}
    </ul>
  );
}

function Sessions({ realm, id, tick }: { realm: string; id: string; tick: number }) {
  const { api, tenant } = useConsole();
  const sessions = useLoad(
    () => ok(api.GET("/v1/tenants/{tenant}/realms/{realm}/users/{user}/sessions", { params: { path: { tenant, realm, user: id } } })),
    [realm, id, tick],
  );
  const list = sessions.data?.sessions ?? [];
  return (
    <Card id="sessions-title" title="Sessions" error={sessions.error} testId="user-sessions">
      {sessions.loading && !sessions.data && <Loading what="sessions" />}
      {sessions.data && list.length === 0 && (
        <Empty>No session: each login opens one (valid 12 hours); SCIM provisioning opens none.</Empty>
      )}
      {list.length > 0 && (
        <div class="scroll">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">state</th>
                <th scope="col">created</th>
                <th scope="col">expires</th>
                <th scope="col">revoked</th>
              </tr>
            </thead>
            <tbody>
              {list.map((session, index) => (
                <tr key={index} data-state={session.state}>
                  <td>
                    <span class={session.state === "active" ? "badge flush outcome-matched" : session.state === "revoked" ? "badge flush outcome-failed" : "badge flush"}>
                      {session.state}
                    </span>
                  </td>
                  <td>{formatTime(session.created_at)}</td>
                  <td>{formatTime(session.expires_at)}</td>
                  <td>
                    {session.revoked_at === null || session.revoked_at === undefined ? (
                      <span class="muted">—</span>
                    ) : (
                      <>
                        {formatTime(session.revoked_at)}
                        {session.revoked_reason && <span data-testid="revoked-reason">: {session.revoked_reason}</span>}
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function History({ realm, id, tick }: { realm: string; id: string; tick: number }) {
  const { api, tenant } = useConsole();
  const [more, setMore] = useState<{ decisions: Schemas["Decision"][]; next: string | null; error?: Error }>({
    decisions: [],
    next: null,
  });
  const page = (before?: string) =>
    ok(
      api.GET("/v1/tenants/{tenant}/decisions", {
        params: { path: { tenant }, query: { realm, user: id, limit: 10, ...(before ? { before } : {}) } },
      }),
    );
  const first = useLoad(async () => {
    const answer = await page();
    setMore({ decisions: [], next: answer.next_before });
    return answer;
  }, [realm, id, tick]);
  const loadMore = async () => {
    if (!more.next) return;
    try {
      const answer = await page(more.next);
      setMore({ decisions: [...more.decisions, ...answer.decisions], next: answer.next_before });
    } catch (error) {
      setMore({ ...more, error: error as Error });
    }
  };
  const decisions = [...(first.data?.decisions ?? []), ...more.decisions];
  return (
    <Card id="history-title" title="Decisions about this user" error={first.error} testId="user-decisions">
      {first.loading && !first.data && <Loading what="decisions" />}
      {first.data && decisions.length === 0 && (
        <Empty>
          No decision recorded for this user: the rules decide at each login and SCIM change (older records may have been
          deleted by the tenant's <a href={href("retention")}>retention</a>).
        </Empty>
      )}
      {decisions.length > 0 && <DecisionTable realm={realm} decisions={decisions} />}
      <ErrorMessage error={more.error} />
      {more.next && (
        <button type="button" onClick={loadMore}>
          Load more
        </button>
      )}
    </Card>
  );
}

function DeactivateDialog(props: {
  realm: string;
  user: User;
  onCancel: () => void;
  onDone: (deactivation: Schemas["Deactivation"]) => void;
  onAlready: (user: User) => void;
}) {
  const { api, tenant } = useConsole();
  const [reason, setReason] = useState("");
  const { busy, error, run } = useAction();
  const { user } = props;
  const path = { tenant, realm: props.realm, user: user.id };
  const confirm = () =>
    run(async () => {
      const answer = await ok(
        api.POST("/v1/tenants/{tenant}/realms/{realm}/users/{user}/deactivate", { params: { path }, body: { reason: reason.trim() } }),
      );
      if (answer.changed && answer.deactivation) props.onDone(answer.deactivation);
      else props.onAlready(await ok(api.GET("/v1/tenants/{tenant}/realms/{realm}/users/{user}", { params: { path } })));
    });
  return (
    <ConfirmDialog
      title={`Deactivate ${user.user_name}?`}
      confirmLabel="Deactivate"
      confirmDisabled={busy || reason.trim() === ""}
      onConfirm={confirm}
      onCancel={props.onCancel}
    >
      <p>At once, in one step:</p>
      <ul>
        <li>
          they are <strong>blocked</strong>: every login is refused;
        </li>
        <li>
          they are removed from their organization{user.organization && <> (<code>{user.organization}</code>)</>} and their
          rule-based groups, and their SCIM group memberships are suspended (kept, counted nowhere until reactivation);
        </li>
        <li>every session of theirs is revoked: the login service is told so on its next check.</li>
      </ul>
      <ReasonField
        value={reason}
        onInput={setReason}
        placeholder="left the company"
        hint="Recorded in the audit log and on the revoked sessions."
      />
      <ErrorMessage error={error} />
    </ConfirmDialog>
  );
}

function ReactivateDialog(props: { realm: string; user: User; onCancel: () => void; onDone: (user: User) => void }) {
  const { api, tenant } = useConsole();
  const [reason, setReason] = useState("");
  const { busy, error, run } = useAction();
  const { user } = props;
  const confirm = () =>
    run(async () => {
      props.onDone(
        await ok(
          api.POST("/v1/tenants/{tenant}/realms/{realm}/users/{user}/reactivate", {
            params: { path: { tenant, realm: props.realm, user: user.id } },
            body: { reason: reason.trim() },
          }),
        ),
      );
    });
  return (
    <ConfirmDialog
      title={`Reactivate ${user.user_name}?`}
      confirmLabel="Reactivate"
      confirmDisabled={busy || reason.trim() === ""}
      onConfirm={confirm}
      onCancel={props.onCancel}
    >
      <p>
        Their suspended SCIM group memberships count again, and the realm's active rules run on them now and are applied: the
        organization and groups they get are the rules' decision, recorded like any other. Logins are accepted again (if the
        rules give them an organization). Revoked sessions stay revoked.
      </p>
      <ReasonField value={reason} onInput={setReason} placeholder="back from leave" hint="Recorded in the audit log." />
      <ErrorMessage error={error} />
    </ConfirmDialog>
  );
}

/** The required reason of a deactivation or reactivation. */
function ReasonField(props: { value: string; onInput: (value: string) => void; placeholder: string; hint: string }) {
  return (
    <>
      <label class="dialog-field">
        Reason (required)
        <input
          name="reason"
          required
          aria-required="true"
          value={props.value}
          maxLength={500}
          placeholder={props.placeholder}
          aria-describedby="reason-hint"
          onInput={(e) => props.onInput(e.currentTarget.value)}
        />
      </label>
      <p id="reason-hint" class="muted small">
        {props.hint}
      </p>
    </>
  );
}
