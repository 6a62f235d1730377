// The realm's decision records, newest first, with the filters the API offers; each leads to
// its record and its replay.

import { useState } from "preact/hooks";
import { ok, type Schemas } from "../api/client";
import type { paths } from "../api/schema";
import { useConsole } from "../context";
import { Empty, ErrorMessage, Loading, useLoad } from "../util";
import { DecisionTable } from "./Overview";

type Query = NonNullable<paths["/v1/tenants/{tenant}/decisions"]["get"]["parameters"]["query"]>;

const TRIGGERS: Schemas["Trigger"][] = ["login", "scim_create", "scim_update", "scim_group_change", "scim_reactivate", "dry_run"];

interface Filters {
  user: string;
  trigger: string;
  applied: string;
  shadow: string;
  differs: string;
  failed: string;
  since: string;
  until: string;
}

const NO_FILTERS: Filters = { user: "", trigger: "", applied: "", shadow: "", differs: "", failed: "", since: "", until: "" };

function toQuery(realm: string, filters: Filters): Query {
  const query: Query = { realm, limit: 50 };
  if (filters.user.trim()) query.user = filters.user.trim();
  if (filters.trigger) query.trigger = filters.trigger as Schemas["Trigger"];
  for (const flag of ["applied", "shadow", "differs", "failed"] as const) {
    if (filters[flag]) query[flag] = filters[flag] === "true";
  }
  if (filters.since) query.since = new Date(filters.since).getTime();
  if (filters.until) query.until = new Date(filters.until).getTime();
  return query;
}

export function Decisions({ realm }: { realm: string }) {
  const { api, tenant } = useConsole();
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [more, setMore] = useState<{ decisions: Schemas["Decision"][]; next: string | null; error?: Error }>({
    decisions: [],
    next: null,
  });

  const page = (before?: string) =>
    ok(
      api.GET("/v1/tenants/{tenant}/decisions", {
        params: { path: { tenant }, query: { ...toQuery(realm, filters), ...(before ? { before } : {}) } },
      }),
    );
  const first = useLoad(async () => {
    const answer = await page();
    setMore({ decisions: [], next: answer.next_before });
    return answer;
  }, [realm, JSON.stringify(filters)]);

  const loadMore = async () => {
    if (!more.next) return;
    try {
      const answer = await page(more.next);
      setMore({ decisions: [...more.decisions, ...answer.decisions], next: answer.next_before });
    } catch (error) {
      setMore({ ...more, error: error as Error });
    }
  };

  const set = (field: keyof Filters) => (event: Event) =>
    setDraft({ ...draft, [field]: (event.currentTarget as HTMLInputElement | HTMLSelectElement).value });
  const decisions = [...(first.data?.decisions ?? []), ...more.decisions];

  return (
    <>
      <h1 tabIndex={-1}>Decisions</h1>
      <form
        class="filters"
        aria-label="Filters"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters(draft);
        }}
      >
        <label>
          User id
          <input name="user" value={draft.user} onInput={set("user")} />
        </label>
        <label>
          Trigger
          <select name="trigger" value={draft.trigger} onChange={set("trigger")}>
            <option value="">any</option>
            {TRIGGERS.map((trigger) => (
              <option key={trigger} value={trigger}>
                {trigger}
              </option>
            ))}
          </select>
        </label>
        <YesNo label="Applied" name="applied" value={draft.applied} onChange={set("applied")} />
        <YesNo label="Shadow" name="shadow" value={draft.shadow} onChange={set("shadow")} />
        <YesNo label="Differs (shadow)" name="differs" value={draft.differs} onChange={set("differs")} />
        <YesNo label="Failed" name="failed" value={draft.failed} onChange={set("failed")} />
        <label>
          Since
          <input type="datetime-local" name="since" value={draft.since} onInput={set("since")} />
        </label>
        <label>
          Until
          <input type="datetime-local" name="until" value={draft.until} onInput={set("until")} />
        </label>
        <div class="actions">
          <button type="submit" class="primary">
            Apply filters
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft(NO_FILTERS);
              setFilters(NO_FILTERS);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <ErrorMessage error={first.error} />
      {first.loading && !first.data && <Loading what="decisions" />}
      {first.data && decisions.length === 0 && (
        <Empty>
          No decision matches. {JSON.stringify(filters) !== JSON.stringify(NO_FILTERS) ? "Clear the filters, or " : ""}log a user in
          (or provision one over SCIM) and their decision appears here.
        </Empty>
      )}
      {decisions.length > 0 && <DecisionTable realm={realm} decisions={decisions} />}
      <ErrorMessage error={more.error} />
      {more.next && (
        <button type="button" onClick={loadMore}>
          Load more
        </button>
      )}
    </>
  );
}

function YesNo(props: { label: string; name: string; value: string; onChange: (event: Event) => void }) {
  return (
    <label>
      {props.label}
      <select name={props.name} value={props.value} onChange={props.onChange}>
        <option value="">any</option>
        <option value="true">yes</option>
        <option value="false">no</option>
      </select>
    </label>
  );
}
