// One decision record: what the rules saw (input), what they said (output), why (the trace as
// a tree), which module versions ran, and a replay of the recorded input with its verdict.

import { useState } from "preact/hooks";
import { ok, type Schemas } from "../api/client";
import { href, useConsole } from "../context";
import { GroupMarksText, TraceTree, UserDecisionText } from "../components/TraceTree";
import { ErrorMessage, Json, Loading, formatTime, shortDigest, useLoad } from "../util";
import { DecisionResult } from "./Overview";

export function DecisionDetail({ realm, id }: { realm: string; id: string }) {
  const { api, tenant } = useConsole();
  const record = useLoad(
    () => ok(api.GET("/v1/tenants/{tenant}/decisions/{decision}", { params: { path: { tenant, decision: id } } })),
    [id],
  );
  const decision = record.data;
  return (
    <>
      <p>
        <a href={href("realms", realm, "decisions")}>← Decisions</a>
      </p>
      <h1 tabIndex={-1}>Decision {id.slice(0, 12)}</h1>
      <ErrorMessage error={record.error} />
      {record.loading && !decision && <Loading what="the decision" />}
      {decision && (
        <>
          <dl class="facts" data-testid="decision-facts">
            <dt>user</dt>
            <dd>
              {decision.input.user.user_name} <span class="muted small">{decision.user_id ?? ""}</span>
            </dd>
            <dt>when</dt>
            <dd>{formatTime(decision.created_at)}</dd>
            <dt>trigger</dt>
            <dd>{decision.trigger}</dd>
            <dt>result</dt>
            <dd>
              <DecisionResult decision={decision} /> {decision.applied ? "applied" : "not applied"}
              {decision.shadow && <> · shadow of <a href={href("realms", realm, "decisions", decision.shadow_of ?? "")}>the live decision</a></>}
            </dd>
            <dt>modules</dt>
            <dd>
              user rules {decision.user_rules_version ?? "none"}{" "}
              <code title={decision.user_rules_digest ?? ""}>{shortDigest(decision.user_rules_digest)}</code> · group rules{" "}
              {decision.group_rules_version ?? "none"}{" "}
              <code title={decision.group_rules_digest ?? ""}>{shortDigest(decision.group_rules_digest)}</code>
            </dd>
            <dt>cost</dt>
            <dd>
              {decision.fuel.toLocaleString("en")} fuel · {decision.duration_us.toLocaleString("en")} µs
            </dd>
          </dl>
          {decision.failure && (
            <div class="error" role="alert">
              <span class="error-code">{decision.failure.kind}</span>
              <span class="error-message">{decision.failure.message}</span>
            </div>
          )}
          <Replay decision={decision} />
          {decision.output && (
            <div class="columns">
              <TraceTree
                title="User rules"
                trace={decision.trace.user}
                decision={<UserDecisionText {...decision.output.user} />}
              />
              <TraceTree title="Group rules" trace={decision.trace.groups} decision={<GroupMarksText groups={decision.output.groups} />} />
            </div>
          )}
          <details>
            <summary>Input (what the rules saw)</summary>
            <Json value={decision.input} label="Input" />
          </details>
          <details>
            <summary>Output</summary>
            <Json value={decision.output} label="Output" />
          </details>
        </>
      )}
    </>
  );
}

function Replay({ decision }: { decision: Schemas["Decision"] }) {
  const { api, tenant } = useConsole();
  const [userVersion, setUserVersion] = useState("");
  const [groupVersion, setGroupVersion] = useState("");
  const [result, setResult] = useState<Schemas["Replay"] | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);

  const replay = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setResult(null);
    const body: Schemas["ReplayWith"] = {};
    if (userVersion.trim()) body.user_rules_version = Number(userVersion);
    if (groupVersion.trim()) body.group_rules_version = Number(groupVersion);
    try {
      setResult(
        await ok(
          api.POST("/v1/tenants/{tenant}/decisions/{decision}/replay", {
            params: { path: { tenant, decision: decision.id } },
            body,
          }),
        ),
      );
    } catch (caught) {
      setError(caught as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="replay-title" class="replay">
      <h2 id="replay-title">Replay</h2>
      <p class="muted">
        Re-runs the recorded input. On the recorded versions it must come out identical; give a candidate version to see what it
        would have decided.
      </p>
      <form class="form inline-form" onSubmit={replay}>
        <label>
          User-rules version (empty: recorded)
          <input name="replay_user_rules_version" inputMode="numeric" pattern="[0-9]*" value={userVersion} onInput={(e) => setUserVersion(e.currentTarget.value)} />
        </label>
        <label>
          Group-rules version (empty: recorded)
          <input name="replay_group_rules_version" inputMode="numeric" pattern="[0-9]*" value={groupVersion} onInput={(e) => setGroupVersion(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Replaying…" : "Replay"}
        </button>
      </form>
      <ErrorMessage error={error} />
      {result && <ReplayVerdict result={result} />}
    </section>
  );
}

function ReplayVerdict({ result }: { result: Schemas["Replay"] }) {
  const verdict = result.identical
    ? "Identical: the same output and the same trace"
    : result.output_identical
      ? "Same output, different trace"
      : "Different output";
  return (
    <div data-testid="replay-result">
      <p class={result.identical ? "verdict identical" : "verdict differs"} data-testid="replay-verdict" role="status">
        {verdict} <span class="muted">(user rules {result.versions.user_rules ?? "none"}, group rules {result.versions.group_rules ?? "none"})</span>
      </p>
      {!result.identical && (
        <div class="columns">
          <div>
            <h3>Recorded</h3>
            {result.recorded.output ? <UserDecisionText {...result.recorded.output.user} /> : <p>The rules failed: no output was recorded.</p>}
            <Json value={result.recorded.output} label="Recorded output" />
          </div>
          <div>
            <h3>Replayed</h3>
            {result.replayed.output ? <UserDecisionText {...result.replayed.output.user} /> : <p>The rules failed on replay: no output.</p>}
            <Json value={result.replayed.output} label="Replayed output" />
          </div>
        </div>
      )}
    </div>
  );
}
