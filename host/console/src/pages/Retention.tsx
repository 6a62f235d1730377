// How long the tenant keeps decision records (`decision_retention_days` of GET /v1/tenants/{t}):
// a number of days or forever, changed with PUT …/retention after a confirmation; and Purge
// now (POST …/decisions/purge), which deletes the records older than that at once instead of
// waiting for the periodic job, saying how many it deleted.

import { useEffect, useState } from "preact/hooks";
import { ok, type Schemas } from "../api/client";
import { useConsole } from "../context";
import { Card } from "../components/Card";
import { ConfirmDialog, ErrorMessage, Loading, formatTime, plural, useLoad } from "../util";

const MAX_DAYS = 36500;
const DAY = 86_400_000;

function kept(days: number | null): string {
  return days === null ? "kept forever" : `kept ${plural(days, "day")}`;
}

export function Retention() {
  const { api, tenant } = useConsole();
  const info = useLoad(() => ok(api.GET("/v1/tenants/{tenant}", { params: { path: { tenant } } })), [tenant]);
  const current = info.data?.decision_retention_days;
  const [forever, setForever] = useState(false);
  const [days, setDays] = useState("");
  const [confirm, setConfirm] = useState<"save" | "purge" | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [purged, setPurged] = useState<Schemas["Purge"] | null>(null);

  // The form starts as the tenant's setting.
  useEffect(() => {
    if (current === undefined) return;
    setForever(current === null);
    setDays(current === null ? "" : String(current));
  }, [current]);

  const number = Number(days);
  const validDays = Number.isInteger(number) && number >= 1 && number <= MAX_DAYS;
  const wanted: number | null = forever ? null : number;

  const save = async () => {
    setConfirm(null);
    setError(null);
    setNotice(null);
    try {
      const updated = await ok(
        api.PUT("/v1/tenants/{tenant}/retention", { params: { path: { tenant } }, body: { decision_retention_days: wanted } }),
      );
      setNotice(`Decision records are ${kept(updated.decision_retention_days)} now.`);
      info.reload();
    } catch (caught) {
      setError(caught as Error);
    }
  };

  const purge = async () => {
    setConfirm(null);
    setError(null);
    setNotice(null);
    setPurged(null);
    try {
      setPurged(await ok(api.POST("/v1/tenants/{tenant}/decisions/purge", { params: { path: { tenant } } })));
    } catch (caught) {
      setError(caught as Error);
    }
  };

  return (
    <main class="single">
      <h1 tabIndex={-1}>Decision retention of {tenant}</h1>
      <p class="muted">
        Every login and SCIM change records a decision (its input, output and trace), listed on each realm's Decisions page and
        re-run by backtests. Records older than the retention are deleted by a periodic job; the audit log is not affected.
      </p>
      <ErrorMessage error={error} />
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <Card id="retention-now-title" title="Now" error={info.error} testId="retention-now">
        {info.loading && !info.data && <Loading what="the tenant" />}
        {info.data && (
          <p class="verdict" data-testid="retention-current">
            Decision records are <strong>{kept(info.data.decision_retention_days)}</strong>.
          </p>
        )}
      </Card>

      <Card id="retention-change-title" title="Change it">
        <form
          class="form"
          aria-label="Decision retention"
          onSubmit={(event) => {
            event.preventDefault();
            if (forever || validDays) setConfirm("save");
          }}
        >
          <fieldset>
            <legend>Keep decision records</legend>
            <label class="inline-check">
              <input type="radio" name="keep" checked={!forever} onChange={() => setForever(false)} />
              for a number of days
            </label>
            <label class="days">
              Days
              <input
                type="number"
                name="days"
                min={1}
                max={MAX_DAYS}
                step={1}
                inputMode="numeric"
                value={days}
                disabled={forever}
                required={!forever}
                aria-invalid={!forever && days !== "" && !validDays}
                aria-describedby="days-hint"
                onInput={(e) => setDays(e.currentTarget.value)}
              />
            </label>
            <p id="days-hint" class="hint days-hint">
              From 1 to {MAX_DAYS.toLocaleString("en")} (100 years).
            </p>
            <label class="inline-check">
              <input type="radio" name="keep" checked={forever} onChange={() => setForever(true)} />
              forever (nothing is ever deleted)
            </label>
          </fieldset>
          <div class="actions">
            <button type="submit" class="primary" disabled={!forever && !validDays}>
              Save…
            </button>
          </div>
        </form>
      </Card>

      <Card id="purge-title" title="Purge now" testId="purge">
        <p>
          Deletes the records older than the retention at once, instead of waiting for the periodic job.
          {current === null && " The tenant keeps them forever: there is nothing to purge."}
        </p>
        <button type="button" disabled={current === null || current === undefined} onClick={() => setConfirm("purge")}>
          Purge now…
        </button>
        {purged && (
          <p class="notice" role="status" data-testid="purged">
            {purged.cutoff === null
              ? "Nothing was deleted: the tenant keeps decision records forever."
              : `Deleted ${plural(purged.purged, "decision record")} made before ${formatTime(purged.cutoff)}.`}
          </p>
        )}
      </Card>

      {confirm === "save" && (
        <ConfirmDialog
          title={wanted === null ? "Keep decision records forever?" : `Keep decision records ${plural(wanted, "day")}?`}
          confirmLabel="Save"
          onConfirm={save}
          onCancel={() => setConfirm(null)}
        >
          {wanted === null ? (
            <p>Nothing is deleted from then on; the records pile up until a retention is set again.</p>
          ) : (
            <>
              <p>
                Records older than {plural(wanted, "day")} (today, those made before{" "}
                <strong>{formatTime(Date.now() - wanted * DAY)}</strong>) are deleted by the next run of the periodic job, or
                at once with <strong>Purge now</strong>. Deleted records cannot be brought back: their decisions can no longer
                be opened, replayed or backtested.
              </p>
              {current !== undefined && <p>Now: {kept(current)}.</p>}
            </>
          )}
        </ConfirmDialog>
      )}
      {confirm === "purge" && typeof current === "number" && (
        <ConfirmDialog title="Purge old decision records now?" confirmLabel="Purge now" onConfirm={purge} onCancel={() => setConfirm(null)}>
          <p>
            Every decision record older than {plural(current, "day")} (made before{" "}
            <strong>{formatTime(Date.now() - current * DAY)}</strong>), in every realm of {tenant}, is deleted now. This cannot be
            undone.
          </p>
        </ConfirmDialog>
      )}
    </main>
  );
}
