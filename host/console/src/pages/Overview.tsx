// A realm at a glance: per kind its active and shadow versions and the newest versions, its
// organizations with their active users, its recent decisions and failures, and how its SCIM
// endpoint's requests went; every other page starts here.

import { ok, type Schemas } from "../api/client";
import { href, useConsole } from "../context";
import { Card } from "../components/Card";
import { VersionsTable } from "../components/VersionsTable";
import { Empty, ErrorMessage, Loading, formatTime, organizationReport, useLoad } from "../util";
import { ScimRequest } from "./Scim";

export function Overview({ realm }: { realm: string }) {
  const { api, tenant } = useConsole();
  const path = { tenant, realm };
  const info = useLoad(() => ok(api.GET("/v1/tenants/{tenant}/realms/{realm}", { params: { path } })), [realm]);
  const organizations = useLoad(
    () => ok(api.GET("/v1/tenants/{tenant}/organizations", { params: { path: { tenant } } })),
    [tenant],
  );
  const report = useLoad(() => organizationReport(api, tenant, realm), [realm]);
  const recent = useLoad(
    () =>
      ok(
        api.GET("/v1/tenants/{tenant}/decisions", {
          params: { path: { tenant }, query: { realm, shadow: false, limit: 8 } },
        }),
      ),
    [realm],
  );
  const failures = useLoad(
    () =>
      ok(api.GET("/v1/tenants/{tenant}/decisions", { params: { path: { tenant }, query: { realm, failed: true, limit: 5 } } })),
    [realm],
  );

  const counts = new Map<string | null, number>();
  for (const entry of report.data?.organizations ?? []) counts.set(entry.organization, entry.members.length);

  return (
    <>
      <h1 tabIndex={-1}>{info.data ? info.data.name : realm}: overview</h1>
      <ErrorMessage error={info.error} />
      {info.loading && !info.data && <Loading what="the realm" />}
      {info.data && (
        <>
          <div class="columns">
            <ModuleCard realm={realm} kind="user" label="User rules" active={info.data.user_rules_version} shadow={info.data.shadow_user_rules_version} />
            <ModuleCard realm={realm} kind="group" label="Group rules" active={info.data.group_rules_version} shadow={info.data.shadow_group_rules_version} />
          </div>
          <p class="muted">
            Default organization (used when no module of a kind is active):{" "}
            {info.data.default_organization ? <code>{info.data.default_organization}</code> : "none"}.
          </p>
        </>
      )}

      <div class="columns">
        <Card id="orgs-title" title="Organizations" error={organizations.error ?? report.error}>
          {organizations.data && organizations.data.organizations.length === 0 && (
            <Empty>
              No organization yet. Create one with <code>PUT /v1/tenants/{tenant}/organizations/&lt;id&gt;</code>; rules
              assign users to organizations.
            </Empty>
          )}
          {organizations.data && organizations.data.organizations.length > 0 && (
            <div class="scroll">
            <table class="table" data-testid="organizations">
              <thead>
                <tr>
                  <th scope="col">organization</th>
                  <th scope="col">name</th>
                  <th scope="col" class="num">active users</th>
                </tr>
              </thead>
              <tbody>
                {organizations.data.organizations.map((organization) => (
                  <tr key={organization.id}>
                    <td>
                      <code>{organization.id}</code>
                    </td>
                    <td>{organization.name}</td>
                    <td class="num">{report.data ? counts.get(organization.id) ?? 0 : "…"}</td>
                  </tr>
                ))}
                {counts.has(null) && (
                  <tr>
                    <td colSpan={2}>
                      <em>No organization (blocked)</em>
                    </td>
                    <td class="num">{counts.get(null)}</td>
                  </tr>
                )}
              </tbody>
            </table>
            </div>
          )}
        </Card>

        <Card id="failures-title" title="Recent failures" error={failures.error}>
          {failures.data && failures.data.decisions.length === 0 && (
            <Empty>No failed evaluation recorded: the rules ran on every login and SCIM event.</Empty>
          )}
          {failures.data && failures.data.decisions.length > 0 && <DecisionTable realm={realm} decisions={failures.data.decisions} />}
        </Card>

        <ScimCard realm={realm} />
      </div>

      <Card
        id="recent-title"
        title="Recent decisions"
        error={recent.error}
        head={recent.data && recent.data.decisions.length > 0 && <a href={href("realms", realm, "decisions")}>All decisions →</a>}
      >
        {recent.data && recent.data.decisions.length === 0 && (
          <Empty>
            No decision yet. Log a user in through <code>POST …/realms/{realm}/login</code> (or provision one over SCIM), or try the
            rules on a made-up user in the <a href={href("realms", realm, "test")}>test panel</a>.
          </Empty>
        )}
        {recent.data && recent.data.decisions.length > 0 && <DecisionTable realm={realm} decisions={recent.data.decisions} />}
      </Card>
    </>
  );
}

/** The SCIM endpoint in short: the last request, the errors, the last error. */
function ScimCard({ realm }: { realm: string }) {
  const { api, tenant } = useConsole();
  const status = useLoad(
    () => ok(api.GET("/v1/tenants/{tenant}/realms/{realm}/scim/status", { params: { path: { tenant, realm } } })),
    [realm],
  );
  const data = status.data;
  return (
    <Card
      id="scim-title"
      title="SCIM"
      error={status.error}
      testId="overview-scim"
      head={<a href={href("realms", realm, "scim")}>SCIM page →</a>}
    >
      {data && data.requests === 0 && (
        <Empty>
          No SCIM request yet. To let the identity provider provision users, create a client and copy the URLs on the{" "}
          <a href={href("realms", realm, "scim")}>SCIM page</a>.
        </Empty>
      )}
      {data && data.requests > 0 && (
        <dl class="facts">
          <dt>last request</dt>
          <dd data-testid="overview-scim-last">
            <ScimRequest request={data.last_request} />
          </dd>
          <dt>errors</dt>
          <dd data-testid="overview-scim-errors">
            {data.errors > 0 ? <strong class="blocked">{data.errors.toLocaleString("en")}</strong> : 0} of{" "}
            {data.requests.toLocaleString("en")} requests
          </dd>
          <dt>last error</dt>
          <dd data-testid="overview-scim-last-error">
            <ScimRequest request={data.last_error} none="none" />
          </dd>
        </dl>
      )}
    </Card>
  );
}

/** One kind's module: which version is active and which runs in shadow, and the newest versions. */
function ModuleCard(props: { realm: string; kind: "user" | "group"; label: string; active: number | null; shadow: number | null }) {
  const { api, tenant } = useConsole();
  const versions = useLoad(
    () =>
      ok(
        api.GET("/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/versions", {
          params: { path: { tenant, realm: props.realm, kind: props.kind } },
        }),
      ),
    [props.realm, props.kind],
  );
  const list = versions.data?.versions ?? [];
  return (
    <Card
      id={`module-${props.kind}-title`}
      title={props.label}
      head={<a href={href("realms", props.realm, "rules", props.kind)}>Versions and upload →</a>}
      error={versions.error}
      testId={`module-${props.kind}`}
    >
      <p>
        active: <strong data-testid={`active-${props.kind}`}>{props.active ? `version ${props.active}` : <em>none</em>}</strong>
        {" · "}shadow:{" "}
        <span data-testid={`shadow-${props.kind}`}>{props.shadow ? `version ${props.shadow}` : <span class="muted">none</span>}</span>
      </p>
      {versions.data && list.length === 0 && <Empty>No version uploaded yet.</Empty>}
      {list.length > 0 && (
        <VersionsTable
          versions={list}
          active={versions.data?.active ?? props.active}
          shadow={props.shadow}
          limit={3}
          caption={`The newest ${props.label.toLowerCase()} versions`}
        />
      )}
      {list.length > 3 && (
        <p class="muted small">
          {list.length - 3} older version{list.length - 3 === 1 ? "" : "s"} on the rules page.
        </p>
      )}
    </Card>
  );
}

/** Decisions as a table; each row links to the record. */
export function DecisionTable({ realm, decisions }: { realm: string; decisions: Schemas["Decision"][] }) {
  return (
    <div class="scroll">
      <table class="table" data-testid="decision-table">
        <thead>
          <tr>
            <th scope="col">time</th>
            <th scope="col">user</th>
            <th scope="col">trigger</th>
            <th scope="col">result</th>
            <th scope="col">versions</th>
          </tr>
        </thead>
        <tbody>
          {decisions.map((decision) => (
            <tr key={decision.id} data-decision-id={decision.id}>
              <td>
                <a href={href("realms", realm, "decisions", decision.id)}>{formatTime(decision.created_at)}</a>
              </td>
              <td>{decision.input.user.user_name}</td>
              <td>
                {decision.trigger}
                {decision.shadow && <span class="badge">shadow</span>}
              </td>
              <td>
                <DecisionResult decision={decision} />
              </td>
              <td class="muted">
                user {decision.user_rules_version ?? "—"} · group {decision.group_rules_version ?? "—"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function DecisionResult({ decision }: { decision: Schemas["Decision"] }) {
  if (decision.failure) {
    return (
      <span class="badge outcome-failed" title={decision.failure.message}>
        failed: {decision.failure.kind}
      </span>
    );
  }
  const organization = decision.output?.user.organization;
  return (
    <span>
      {organization ? <code>{organization}</code> : <strong class="blocked">blocked</strong>}
      {!decision.applied && !decision.shadow && <span class="badge">not applied</span>}
      {decision.shadow && decision.differs && <span class="badge outcome-not_matched">differs</span>}
    </span>
  );
}
