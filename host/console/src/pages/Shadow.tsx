// Shadow mode of a realm: which versions run in shadow beside the active ones, per pair of
// versions that ran how many shadow evaluations there were, how many decided differently from
// the live decision and how many failed (GET …/realms/{r}/shadow), the same per day as a chart,
// and the differing shadow decisions themselves (GET …/decisions?realm=…&shadow=true&differs=true), each leading to its
// record. Setting and clearing the shadow version is done on the Rules page.

import { useState } from "preact/hooks";
import { ok, type Schemas } from "../api/client";
import { href, useConsole } from "../context";
import { Card } from "../components/Card";
import { DayChart } from "../components/DayChart";
import { Empty, ErrorMessage, Loading, formatTime, useLoad } from "../util";
import { DecisionTable } from "./Overview";

export function Shadow({ realm }: { realm: string }) {
  const { api, tenant } = useConsole();
  const summary = useLoad(
    () => ok(api.GET("/v1/tenants/{tenant}/realms/{realm}/shadow", { params: { path: { tenant, realm } } })),
    [realm],
  );
  const [more, setMore] = useState<{ decisions: Schemas["Decision"][]; next: string | null; error?: Error }>({
    decisions: [],
    next: null,
  });
  const page = (before?: string) =>
    ok(
      api.GET("/v1/tenants/{tenant}/decisions", {
        params: { path: { tenant }, query: { realm, shadow: true, differs: true, limit: 25, ...(before ? { before } : {}) } },
      }),
    );
  const differing = useLoad(async () => {
    const answer = await page();
    setMore({ decisions: [], next: answer.next_before });
    return answer;
  }, [realm]);
  const loadMore = async () => {
    if (!more.next) return;
    try {
      const answer = await page(more.next);
      setMore({ decisions: [...more.decisions, ...answer.decisions], next: answer.next_before });
    } catch (error) {
      setMore({ ...more, error: error as Error });
    }
  };
  const decisions = [...(differing.data?.decisions ?? []), ...more.decisions];
  const now = summary.data?.shadow;

  return (
    <>
      <h1 tabIndex={-1}>Shadow</h1>
      <p class="muted">
        A version in shadow runs beside the active one on every live login and SCIM event, after the answer; its decision is
        recorded and compared with the live one, never applied. Set or stop it on the{" "}
        <a href={href("realms", realm, "rules", "user")}>Rules page</a>.
      </p>
      {summary.loading && !summary.data && <Loading what="the shadow summary" />}
      <Card id="shadow-now-title" title="In shadow now" error={summary.error} testId="shadow-now">
        {now && (
          <dl class="facts">
            <dt>user rules</dt>
            <dd data-testid="shadow-user">
              {now.user_rules ? `version ${now.user_rules}` : <span class="muted">none</span>} ·{" "}
              <a href={href("realms", realm, "rules", "user")}>user-rules versions</a>
            </dd>
            <dt>group rules</dt>
            <dd data-testid="shadow-group">
              {now.group_rules ? `version ${now.group_rules}` : <span class="muted">none</span>} ·{" "}
              <a href={href("realms", realm, "rules", "group")}>group-rules versions</a>
            </dd>
          </dl>
        )}
      </Card>

      <Card id="shadow-results-title" title="Shadow evaluations by version pair">
        {summary.data && summary.data.results.length === 0 && (
          <Empty>
            No shadow evaluation recorded yet. Run a version in shadow (<strong>Shadow…</strong> on the Rules page); every
            live login and SCIM event then runs it too.
          </Empty>
        )}
        {summary.data && summary.data.results.length > 0 && (
          <div class="scroll">
            <table class="table" data-testid="shadow-results">
              <thead>
                <tr>
                  <th scope="col">user rules</th>
                  <th scope="col">group rules</th>
                  <th scope="col" class="num">
                    evaluations
                  </th>
                  <th scope="col" class="num">
                    differing
                  </th>
                  <th scope="col" class="num">
                    failed
                  </th>
                  <th scope="col">latest</th>
                </tr>
              </thead>
              <tbody>
                {summary.data.results.map((result) => (
                  <tr key={`${result.user_rules_version}/${result.group_rules_version}`}>
                    <td>{result.user_rules_version ? `version ${result.user_rules_version}` : "none"}</td>
                    <td>{result.group_rules_version ? `version ${result.group_rules_version}` : "none"}</td>
                    <td class="num">{result.evaluated}</td>
                    <td class="num">
                      {result.differing > 0 ? <strong class="blocked">{result.differing}</strong> : result.differing}
                    </td>
                    <td class="num">{result.failed > 0 ? <strong class="blocked">{result.failed}</strong> : result.failed}</td>
                    <td>{formatTime(result.last_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>

      {summary.data && summary.data.results.length > 0 && (
        <Card id="shadow-days-title" title="Shadow evaluations per day" testId="shadow-days">
          <p class="muted small">
            Per pair of versions, each day's shadow evaluations, how many of them differed from the live decision and how many
            failed.
          </p>
          {summary.data.results.map((result) => {
            const pair = pairName(result);
            return (
              <section
                key={`${result.user_rules_version}/${result.group_rules_version}`}
                class="pair-chart"
                aria-label={pair}
                data-pair={`${result.user_rules_version ?? "none"}/${result.group_rules_version ?? "none"}`}
              >
                <h3>{pair}</h3>
                {result.days.length === 0 ? (
                  <p class="muted">No day counted.</p>
                ) : (
                  <DayChart days={result.days} title={`Shadow evaluations per day, ${pair}`} testId="shadow-day-chart" />
                )}
              </section>
            );
          })}
        </Card>
      )}

      <Card id="shadow-differing-title" title="Differing shadow decisions" error={differing.error} testId="shadow-differing">
        <p class="muted small">
          Newest first; a failed shadow run counts as differing. Each leads to the shadow decision, and from there to the live
          decision it ran beside.
        </p>
        {differing.loading && !differing.data && <Loading what="the differing decisions" />}
        {differing.data && decisions.length === 0 && <Empty>No shadow decision differed from the live one.</Empty>}
        {decisions.length > 0 && <DecisionTable realm={realm} decisions={decisions} />}
        <ErrorMessage error={more.error} />
        {more.next && (
          <button type="button" onClick={loadMore}>
            Load more
          </button>
        )}
      </Card>
    </>
  );
}

function pairName(result: Schemas["ShadowResult"]): string {
  const version = (v: number | null) => (v ? `version ${v}` : "none");
  return `user rules ${version(result.user_rules_version)} · group rules ${version(result.group_rules_version)}`;
}
