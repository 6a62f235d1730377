// The tenant's audit log (GET /v1/tenants/{t}/audit) with the API's filters: action (a prefix
// such as `module.`), actor, target and time window. The API pages it oldest first (`after` →
// `next_after`); to show the newest first the page reads every page of the filtered log, with
// its progress, then lists the entries newest first, each with its actor, action, target, time
// and details.

import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ok, type Schemas } from "../api/client";
import type { paths } from "../api/schema";
import { useConsole } from "../context";
import { RunProgress } from "../components/RunProgress";
import { ShowMore } from "../components/ShowMore";
import { usePagedRun } from "../pagedRun";
import { Empty, ErrorMessage, formatTime } from "../util";

type Query = NonNullable<paths["/v1/tenants/{tenant}/audit"]["get"]["parameters"]["query"]>;

interface Filters {
  action: string;
  actor: string;
  target: string;
  since: string;
  until: string;
}

const NO_FILTERS: Filters = { action: "", actor: "", target: "", since: "", until: "" };

/** Entries per request: the most the API gives at once. */
const PAGE = 1000;

function toQuery(filters: Filters): Query {
  const query: Query = { limit: PAGE };
  for (const field of ["action", "actor", "target"] as const) if (filters[field].trim()) query[field] = filters[field].trim();
  if (filters.since) query.since = new Date(filters.since).getTime();
  if (filters.until) query.until = new Date(filters.until).getTime();
  return query;
}

export function Audit() {
  const { api, tenant } = useConsole();
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const { run, start, cancel } = usePagedRun<Schemas["AuditPage"], number>();

  const load = (filters: Filters) =>
    start(async (after) => {
      const page = await ok(
        api.GET("/v1/tenants/{tenant}/audit", { params: { path: { tenant }, query: { ...toQuery(filters), ...(after === null ? {} : { after }) } } }),
      );
      return { page, next: page.next_after };
    });
  useEffect(() => {
    load(NO_FILTERS);
    return cancel;
  }, [tenant]);

  const set = (field: keyof Filters) => (event: Event) => setDraft({ ...draft, [field]: (event.currentTarget as HTMLInputElement).value });
  const events = run.pages.flatMap((page) => page.events).reverse();

  return (
    <main class="single">
      <h1 tabIndex={-1}>Audit log of {tenant}</h1>
      <p class="muted">
        Every change to the tenant, newest first: who (a key, a SCIM client, the operator or the system), what, to what, when,
        and its details. The log is append-only.
      </p>
      <form
        class="filters"
        aria-label="Filters"
        onSubmit={(event) => {
          event.preventDefault();
          load(draft);
        }}
      >
        <label>
          Action (or its start)
          <input name="action" value={draft.action} onInput={set("action")} placeholder="module." />
        </label>
        <label>
          Actor
          <input name="actor" value={draft.actor} onInput={set("actor")} placeholder="key:…" />
        </label>
        <label>
          Target
          <input name="target" value={draft.target} onInput={set("target")} />
        </label>
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
              load(NO_FILTERS);
            }}
          >
            Clear
          </button>
          {run.running && (
            <button type="button" onClick={cancel}>
              Cancel
            </button>
          )}
        </div>
      </form>
      <RunProgress {...run} done={events.length} pages={run.pages.length} noun="entries read" />
      <ErrorMessage error={run.error} />
      {!run.running && run.pages.length > 0 && events.length === 0 && <Empty>No entry matches: clear the filters or widen the window.</Empty>}
      {events.length > 0 && (
        <ShowMore items={events}>
          {(shown) => (
            <div class="scroll">
              <table class="table" data-testid="audit">
                <thead>
                  <tr>
                    <th scope="col">time</th>
                    <th scope="col">actor</th>
                    <th scope="col">action</th>
                    <th scope="col">target</th>
                    <th scope="col">details</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((event) => (
                    <tr key={event.id} data-seq={event.seq}>
                      <td>{formatTime(event.at)}</td>
                      <td>
                        <code>{event.actor}</code>
                      </td>
                      <td>
                        <code>{event.action}</code>
                      </td>
                      <td>
                        <code>{event.target}</code>
                      </td>
                      <td>
                        <Details details={event.details} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </ShowMore>
      )}
    </main>
  );
}

/** An entry's details as `name: value` lines (a nested value as JSON). */
function Details({ details }: { details: Record<string, unknown> }) {
  const entries = Object.entries(details);
  if (entries.length === 0) return <span class="muted">none</span>;
  return (
    <dl class="details">
      {entries.map(([name, value]) => (
        <Fragment key={name}>
          <dt>{name}</dt>
          <dd>{typeof value === "string" ? value : JSON.stringify(value)}</dd>
        </Fragment>
      ))}
    </dl>
  );
}
