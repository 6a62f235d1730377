// What a candidate version changes for a user (or a recorded decision), from the two
// DecisionEffects the API compares: organization, rule-based groups, provider-group marks.

import type { Schemas } from "../api/client";

export type Effect = Schemas["DecisionEffect"];

/** One affected user or decision: its effect before (`null`: the recorded rules failed) and after. */
export interface EffectPair {
  before: Effect | null;
  after: Effect;
}

export interface ChangeCounts {
  /** Their organization differs (blocked and unblocked users included). */
  organization: number;
  /** They had an organization and would have none. */
  blocked: number;
  /** They would gain at least one rule-based group. */
  gainGroups: number;
  /** They would lose at least one rule-based group. */
  loseGroups: number;
  /** At least one provider group would be marked with other organizations. */
  providerGroups: number;
  /** The recorded rules failed and the candidate decides (backtests only). */
  decidedFailures: number;
}

export function groupsAdded(pair: EffectPair): string[] {
  const before = new Set(pair.before?.groups ?? []);
  return pair.after.groups.filter((group) => !before.has(group));
}

export function groupsRemoved(pair: EffectPair): string[] {
  const after = new Set(pair.after.groups);
  return (pair.before?.groups ?? []).filter((group) => !after.has(group));
}

export interface MarkChange {
  name: string;
  before: string[] | null;
  after: string[] | null;
}

/** The provider groups whose organizations differ (a group only one side marks: `null` on the other). */
export function markChanges(pair: EffectPair): MarkChange[] {
  const before = new Map((pair.before?.provider_groups ?? []).map((mark) => [mark.name, mark.organizations]));
  const after = new Map(pair.after.provider_groups.map((mark) => [mark.name, mark.organizations]));
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  const same = (a: string[] | undefined, b: string[] | undefined) => JSON.stringify([...(a ?? [])].sort()) === JSON.stringify([...(b ?? [])].sort());
  return names
    .filter((name) => !(before.has(name) && after.has(name) && same(before.get(name), after.get(name))))
    .map((name) => ({ name, before: before.get(name) ?? null, after: after.get(name) ?? null }));
}

export function countChanges(pairs: EffectPair[]): ChangeCounts {
  const counts: ChangeCounts = { organization: 0, blocked: 0, gainGroups: 0, loseGroups: 0, providerGroups: 0, decidedFailures: 0 };
  for (const pair of pairs) {
    if (pair.before === null) {
      counts.decidedFailures++;
      continue;
    }
    if (pair.before.organization !== pair.after.organization) counts.organization++;
    if (pair.before.organization !== null && pair.after.organization === null) counts.blocked++;
    if (groupsAdded(pair).length > 0) counts.gainGroups++;
    if (groupsRemoved(pair).length > 0) counts.loseGroups++;
    if (markChanges(pair).length > 0) counts.providerGroups++;
  }
  return counts;
}
