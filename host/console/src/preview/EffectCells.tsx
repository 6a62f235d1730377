// Three table cells saying what a candidate changes for one user or decision: organization
// before → after, the rule-based groups gained (+) and lost (−), and the provider groups whose
// organizations change.

import { groupsAdded, groupsRemoved, markChanges, type EffectPair } from "./effects";

function organization(name: string | null) {
  return name ?? <span class="blocked">No organization (blocked)</span>;
}

function organizations(names: string[] | null) {
  if (names === null) return <span class="muted">unmarked</span>;
  return names.length > 0 ? names.join(", ") : <span class="blocked">no organization</span>;
}

export function EffectCells({ pair, failedBefore }: { pair: EffectPair; failedBefore?: string }) {
  const added = groupsAdded(pair);
  const removed = groupsRemoved(pair);
  const marks = markChanges(pair);
  const sameOrganization = pair.before !== null && pair.before.organization === pair.after.organization;
  return (
    <>
      <td data-cell="organization">
        {sameOrganization ? (
          <span class="muted">{organization(pair.after.organization)} (unchanged)</span>
        ) : (
          <>
            {pair.before === null ? <span class="blocked">rules failed{failedBefore ? `: ${failedBefore}` : ""}</span> : organization(pair.before.organization)}
            {" → "}
            <strong>{organization(pair.after.organization)}</strong>
          </>
        )}
      </td>
      <td data-cell="groups">
        {added.length === 0 && removed.length === 0 && <span class="muted">unchanged</span>}
        {added.map((group) => (
          <span key={`+${group}`} class="badge outcome-matched">
            + {group}
          </span>
        ))}
        {removed.map((group) => (
          <span key={`-${group}`} class="badge outcome-failed">
            − {group}
          </span>
        ))}
      </td>
      <td data-cell="provider-groups">
        {marks.length === 0 ? (
          <span class="muted">unchanged</span>
        ) : (
          <ul class="plain">
            {marks.map((mark) => (
              <li key={mark.name}>
                <code>{mark.name}</code>: {organizations(mark.before)} → {organizations(mark.after)}
              </li>
            ))}
          </ul>
        )}
      </td>
    </>
  );
}
