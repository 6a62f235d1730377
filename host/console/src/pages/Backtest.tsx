// Backtest of a candidate rules version over a time window: the realm's recorded live decisions
// of the window, newest first, a page at a time (POST …/modules/{kind}/versions/{v}/backtest,
// `before` → `next_before`), re-run with the candidate (a version, or the realm's draft: a
// version's module with settings not uploaded) in place of the recorded version. The
// counts and a chart of what would have ended differently, those decisions with recorded →
// candidate, and those the candidate fails on. Nothing is changed.

import { useState } from "preact/hooks";
import { ok, type Schemas } from "../api/client";
import { href, useConsole } from "../context";
import { Card } from "../components/Card";
import { RunProgress } from "../components/RunProgress";
import { CandidateForm, type Candidate, type Chosen } from "../preview/CandidateForm";
import { ChangeSummary } from "../preview/ChangeSummary";
import { EffectCells } from "../preview/EffectCells";
import { ShowMore } from "../components/ShowMore";
import { usePagedRun } from "../pagedRun";
import { Empty, ErrorMessage, formatTime } from "../util";

/** Decisions per request: the API's default page. */
const PAGE = 100;

/** A `datetime-local` value as Unix milliseconds; empty: no bound. */
function millis(value: string): number | null {
  return value ? new Date(value).getTime() : null;
}

export function Backtest(props: { realm: string; candidate: Candidate }) {
  const { api, tenant } = useConsole();
  const [candidate, setCandidate] = useState<Candidate>(props.candidate);
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const [ran, setRan] = useState<(Chosen & { since: string; until: string }) | null>(null);
  const { run, start, cancel } = usePagedRun<Schemas["Backtest"], string>();

  const runBacktest = (chosen: Chosen) => {
    const { kind, version, settings } = chosen;
    setCandidate({ kind, version: settings === undefined ? version : "draft" });
    setRan({ ...chosen, since, until });
    const window = { since: millis(since), until: millis(until), ...(settings === undefined ? {} : { settings }) };
    start(async (before) => {
      const page = await ok(
        api.POST("/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/versions/{version}/backtest", {
          params: { path: { tenant, realm: props.realm, kind, version } },
          body: { ...window, before, limit: PAGE },
        }),
      );
      return { page, next: page.next_before };
    });
  };

  const pages = run.pages;
  const changes = pages.flatMap((page) => page.changes);
  const failures = pages.flatMap((page) => page.failures);
  const totals = {
    evaluated: pages.reduce((sum, page) => sum + page.examined, 0),
    changed: pages.reduce((sum, page) => sum + page.changed, 0),
    failed: pages.reduce((sum, page) => sum + page.failed, 0),
  };
  const windowText = (from: string, to: string) =>
    from || to ? `${from ? `from ${from.replace("T", " ")}` : ""}${from && to ? " " : ""}${to ? `until ${to.replace("T", " ")}` : ""}` : "all recorded decisions";

  return (
    <>
      <h1 tabIndex={-1}>Backtest</h1>
      <p class="muted">
        Re-runs the realm's recorded live decisions of a time window (logins and SCIM events, those whose rules failed
        included) with a candidate version in place of the version that decided them, and lists those that would have ended
        differently. Nothing is stored or applied.
      </p>
      <CandidateForm
        realm={props.realm}
        candidate={candidate}
        onCandidate={setCandidate}
        running={run.running}
        runLabel="Run the backtest"
        onRun={runBacktest}
        onCancel={cancel}
      >
        <label>
          Since (empty: the first)
          <input type="datetime-local" name="since" value={since} disabled={run.running} onInput={(e) => setSince(e.currentTarget.value)} />
        </label>
        <label>
          Until (empty: now)
          <input type="datetime-local" name="until" value={until} disabled={run.running} onInput={(e) => setUntil(e.currentTarget.value)} />
        </label>
      </CandidateForm>
      <RunProgress {...run} done={totals.evaluated} pages={pages.length} noun="decisions re-run" />
      <ErrorMessage error={run.error} />
      {ran && pages.length > 0 && (
        <>
          <Card
            id="backtest-summary-title"
            title={`What ${ran.kind} rules ${ran.settings === undefined ? "" : "draft of "}version ${ran.version} would have changed, ${windowText(ran.since, ran.until)}`}
            testId="backtest-summary"
          >
            <ChangeSummary
              totals={totals}
              pairs={changes.map(({ recorded, candidate }) => ({ before: recorded, after: candidate }))}
              noun="decisions"
              backtest
            />
          </Card>
          <Card id="backtest-changes-title" title="Decisions that would have ended differently" testId="backtest-changes">
            {changes.length === 0 ? (
              <Empty>
                No decision would have ended differently{run.complete ? "" : " among those re-run so far"}.
                {totals.evaluated === 0 && " The window holds no recorded decision: widen it, or log users in first."}
              </Empty>
            ) : (
              <ShowMore items={changes}>
                {(shown) => (
                  <div class="scroll">
                    <table class="table">
                      <thead>
                        <tr>
                          <th scope="col">decision</th>
                          <th scope="col">organization</th>
                          <th scope="col">rule-based groups</th>
                          <th scope="col">provider groups</th>
                        </tr>
                      </thead>
                      <tbody>
                        {shown.map((change) => (
                          <tr key={change.decision_id} data-decision-id={change.decision_id}>
                            <th scope="row">
                              <a href={href("realms", props.realm, "decisions", change.decision_id)}>{formatTime(change.created_at)}</a>
                              <div class="muted small">user {change.user_id ?? "—"}</div>
                            </th>
                            <EffectCells
                              pair={{ before: change.recorded, after: change.candidate }}
                              failedBefore={change.recorded_failure?.kind}
                            />
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )}
              </ShowMore>
            )}
          </Card>
          {failures.length > 0 && (
            <Card id="backtest-failures-title" title="Decisions the candidate fails on" testId="backtest-failures">
              <ShowMore items={failures}>
                {(shown) => (
                  <div class="scroll">
                    <table class="table">
                      <thead>
                        <tr>
                          <th scope="col">decision</th>
                          <th scope="col">kind</th>
                          <th scope="col">why</th>
                        </tr>
                      </thead>
                      <tbody>
                        {shown.map((failure) => (
                          <tr key={failure.decision_id} data-decision-id={failure.decision_id}>
                            <th scope="row">
                              <a href={href("realms", props.realm, "decisions", failure.decision_id)}>
                                <code>{failure.decision_id.slice(0, 8)}</code>
                              </a>
                            </th>
                            <td>
                              <code>{failure.kind}</code>
                            </td>
                            <td>{failure.error}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )}
              </ShowMore>
            </Card>
          )}
        </>
      )}
    </>
  );
}
