// Impact preview of a candidate rules version: every stored user of the realm, a page at a time
// (POST …/modules/{kind}/versions/{v}/impact, `after` → `next_after`), evaluated with the
// candidate (a version, or the realm's draft: a version's module with settings not uploaded)
// beside the active version. The counts and a chart of what would change, the users it would
// change with before → after, those the rules fail on, and the organizations the candidate names
// that the tenant lacks. Nothing is changed.

import { useState } from "preact/hooks";
import { ok, type Schemas } from "../api/client";
import { useConsole } from "../context";
import { Card } from "../components/Card";
import { RunProgress } from "../components/RunProgress";
import { CandidateForm, type Candidate, type Chosen } from "../preview/CandidateForm";
import { ChangeSummary } from "../preview/ChangeSummary";
import { EffectCells } from "../preview/EffectCells";
import { ShowMore } from "../components/ShowMore";
import { usePagedRun } from "../pagedRun";
import { Empty, ErrorMessage } from "../util";

/** Users per request: the API's default page. */
const PAGE = 100;

export function Impact(props: { realm: string; candidate: Candidate }) {
  const { api, tenant } = useConsole();
  const [candidate, setCandidate] = useState<Candidate>(props.candidate);
  const [ran, setRan] = useState<Chosen | null>(null);
  const { run, start, cancel } = usePagedRun<Schemas["Impact"], string>();

  const runImpact = (chosen: Chosen) => {
    const { kind, version, settings } = chosen;
    setCandidate({ kind, version: settings === undefined ? version : "draft" });
    setRan(chosen);
    start(async (after) => {
      const page = await ok(
        api.POST("/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/versions/{version}/impact", {
          params: { path: { tenant, realm: props.realm, kind, version } },
          body: { after, limit: PAGE, ...(settings === undefined ? {} : { settings }) },
        }),
      );
      return { page, next: page.next_after };
    });
  };

  const pages = run.pages;
  const changes = pages.flatMap((page) => page.changes);
  const failures = pages.flatMap((page) => page.failures);
  const unknown = [...new Set(pages.flatMap((page) => page.unknown_organizations))].sort();
  const totals = {
    evaluated: pages.reduce((sum, page) => sum + page.evaluated, 0),
    changed: pages.reduce((sum, page) => sum + page.changed, 0),
    failed: pages.reduce((sum, page) => sum + page.failed, 0),
  };

  return (
    <>
      <h1 tabIndex={-1}>Impact preview</h1>
      <p class="muted">
        Runs a candidate version beside the active one on every stored user of the realm and lists whom it would change. Nothing
        is stored or applied.
      </p>
      <CandidateForm
        realm={props.realm}
        candidate={candidate}
        onCandidate={setCandidate}
        running={run.running}
        runLabel="Preview the impact"
        onRun={runImpact}
        onCancel={cancel}
      />
      <RunProgress {...run} done={totals.evaluated} pages={pages.length} noun="users evaluated" />
      <ErrorMessage error={run.error} />
      {ran && pages.length > 0 && (
        <>
          <Card id="impact-summary-title" title={`What ${ran.kind} rules ${ran.settings === undefined ? "" : "draft of "}version ${ran.version} would change`} testId="impact-summary">
            <ChangeSummary totals={totals} pairs={changes.map(({ active, candidate }) => ({ before: active, after: candidate }))} noun="users" />
            {unknown.length > 0 && (
              <div class="error" role="alert" data-testid="unknown-organizations">
                The candidate names organizations this tenant does not have: {unknown.join(", ")}. Live, those decisions would fail
                (unless the realm creates organizations on first use).
              </div>
            )}
          </Card>
          <Card id="impact-changes-title" title="Users it would change" testId="impact-changes">
            {changes.length === 0 ? (
              <Empty>No user would change{run.complete ? "" : " among those evaluated so far"}.</Empty>
            ) : (
              <ShowMore items={changes}>
                {(shown) => (
                  <div class="scroll">
                    <table class="table">
                      <thead>
                        <tr>
                          <th scope="col">user</th>
                          <th scope="col">organization</th>
                          <th scope="col">rule-based groups</th>
                          <th scope="col">provider groups</th>
                        </tr>
                      </thead>
                      <tbody>
                        {shown.map((change) => (
                          <tr key={change.user_id} data-user-id={change.user_id}>
                            <th scope="row">{change.user_name}</th>
                            <EffectCells pair={{ before: change.active, after: change.candidate }} />
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
            <Card id="impact-failures-title" title="Users the rules fail on" testId="impact-failures">
              <ShowMore items={failures}>
                {(shown) => (
                  <div class="scroll">
                    <table class="table">
                      <thead>
                        <tr>
                          <th scope="col">user</th>
                          <th scope="col">failed</th>
                          <th scope="col">kind</th>
                          <th scope="col">why</th>
                        </tr>
                      </thead>
                      <tbody>
                        {shown.map((failure) => (
                          <tr key={failure.user_id} data-user-id={failure.user_id}>
                            <th scope="row">{failure.user_name}</th>
                            <td>{failure.failed === "candidate" ? "the candidate" : "the active rules"}</td>
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
