// The counts of a preview (impact or backtest) so far: how many users (decisions) were
// evaluated, changed and failed, as the API counted them, and what the changes are (organization,
// blocked, groups gained and lost, provider-group marks) as counted from the listed changes; as
// figures and as a bar chart.

import { Fragment } from "preact";
import { BarChart, type Bar } from "../components/BarChart";
import { countChanges, type EffectPair } from "./effects";

export interface Totals {
  /** Users (decisions) the candidate ran on. */
  evaluated: number;
  /** How many it would change, as the API counted them. */
  changed: number;
  failed: number;
}

export function ChangeSummary(props: { totals: Totals; pairs: EffectPair[]; noun: string; backtest?: boolean }) {
  const counts = countChanges(props.pairs);
  const bars: Bar[] = [
    { label: "change", value: props.totals.changed, tone: "warning" },
    { label: "change organization", value: counts.organization, tone: "warning" },
    { label: "become blocked", value: counts.blocked, tone: "danger" },
    { label: "gain groups", value: counts.gainGroups },
    { label: "lose groups", value: counts.loseGroups, tone: "warning" },
    { label: "provider-group marks change", value: counts.providerGroups },
    ...(props.backtest ? [{ label: "decided where rules failed", value: counts.decidedFailures }] : []),
    { label: "candidate or active fails", value: props.totals.failed, tone: "danger" as const },
  ];
  return (
    <div class="change-summary">
      <dl class="facts" data-testid="change-counts">
        <dt>{props.noun} evaluated</dt>
        <dd data-count="evaluated">{props.totals.evaluated}</dd>
        {bars.map((bar) => (
          <Fragment key={bar.label}>
            <dt>{bar.label}</dt>
            <dd data-count={bar.label}>{bar.value}</dd>
          </Fragment>
        ))}
      </dl>
      <BarChart bars={bars} total={props.totals.evaluated} title={`Of ${props.totals.evaluated} ${props.noun}`} testId="change-chart" />
    </div>
  );
}
