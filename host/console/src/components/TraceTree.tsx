// A trace as a tree: each rule (or group entry) the module evaluated, in order, with the
// conditions it checked (matched / not matched, with the values the module saw), then the
// decision. The module's trace is a flat list of steps tagged with their rule; consecutive steps
// of one rule are one branch, steps without a rule are notes about the decision itself.

import type { ComponentChildren } from "preact";
import type { Schemas } from "../api/client";

type Step = Schemas["TraceStep"];

export interface TraceBranch {
  rule: string | null;
  steps: Step[];
  /**
   * The rule's own outcome: matched when the module noted what the rule did (the stock modules
   * note "rule matched: …", "adds group …", "group … goes to …" only then), else that of its last
   * check (a rule stops at the check that settles it).
   */
  outcome: "matched" | "not_matched" | "note";
}

/** Consecutive steps of the same rule, in trace order. */
export function branches(trace: Step[]): TraceBranch[] {
  const result: TraceBranch[] = [];
  for (const step of trace) {
    const last = result[result.length - 1];
    if (last && last.rule === step.rule) last.steps.push(step);
    else result.push({ rule: step.rule, steps: [step], outcome: "note" });
  }
  for (const branch of result) {
    const checks = branch.steps.filter((step) => step.outcome !== "note");
    const noted = branch.rule !== null && checks.length > 0 && checks.length < branch.steps.length;
    branch.outcome = noted ? "matched" : checks.length ? checks[checks.length - 1].outcome : "note";
  }
  return result;
}

export const OUTCOME_LABEL: Record<Step["outcome"], string> = {
  matched: "matched",
  not_matched: "not matched",
  note: "note",
};

const OUTCOME_MARK: Record<Step["outcome"], string> = { matched: "✓", not_matched: "✗", note: "•" };

export function TraceTree(props: { title: string; trace: Step[]; decision: ComponentChildren }) {
  const tree = branches(props.trace);
  return (
    <section class="trace" aria-label={props.title} data-testid="trace">
      <h3>{props.title}</h3>
      {tree.length === 0 && <p class="muted">No trace steps: no module ran (the realm's default organization decided).</p>}
      <ol class="trace-tree">
        {tree.map((branch, index) => (
          <li key={index} class={`trace-rule outcome-${branch.outcome}`} data-testid="trace-rule">
            <div class="trace-rule-head">
              {branch.rule === null ? (
                <span class="trace-rule-name">Decision notes</span>
              ) : (
                <>
                  <span class="trace-rule-kind">rule</span> <span class="trace-rule-name">{branch.rule}</span>
                  {branch.outcome !== "note" && (
                    <span class={`badge outcome-${branch.outcome}`}>{OUTCOME_LABEL[branch.outcome]}</span>
                  )}
                </>
              )}
            </div>
            <ul class="trace-steps">
              {branch.steps.map((step, i) => (
                <li key={i} class={`trace-step outcome-${step.outcome}`} data-testid="trace-step" data-outcome={step.outcome}>
                  <span class="trace-mark" aria-hidden="true">
                    {OUTCOME_MARK[step.outcome]}
                  </span>
                  <span class="trace-outcome">{OUTCOME_LABEL[step.outcome]}</span>
                  <span class="trace-check">{step.check}</span>
                </li>
              ))}
            </ul>
          </li>
        ))}
        <li class="trace-decision" data-testid="trace-decision">
          <div class="trace-rule-head">
            <span class="trace-rule-name">Decision</span>
          </div>
          <div class="trace-decision-body">{props.decision}</div>
        </li>
      </ol>
    </section>
  );
}

/** The decision of the user rules, as the last node of their tree. */
export function UserDecisionText(props: { organization: string | null; rule: string | null; groups: string[] }) {
  return (
    <span>
      {props.organization === null ? (
        <strong class="blocked">No organization: the login is blocked</strong>
      ) : (
        <>
          organization <strong data-testid="decision-organization">{props.organization}</strong>
        </>
      )}
      {props.rule && <> by rule <strong>{props.rule}</strong></>}
      {"; groups: "}
      {props.groups.length ? props.groups.join(", ") : "none"}
    </span>
  );
}

/** The organizations of each provider group, as the last node of the group rules' tree. */
export function GroupMarksText(props: { groups: Schemas["GroupAssignment"][] }) {
  if (props.groups.length === 0) return <span>no provider groups</span>;
  return (
    <ul class="plain">
      {props.groups.map((group) => (
        <li key={group.group}>
          <code>{group.group}</code> →{" "}
          {group.organizations.length ? group.organizations.join(", ") : <em>no organization</em>}
          {group.rule && <span class="muted"> (rule {group.rule})</span>}
        </li>
      ))}
    </ul>
  );
}
