// Bulk deprovisioning (POST …/realms/{r}/deprovision): a .csv of userNames or externalIds,
// chosen or dropped, previewed (how many lines, how many users it names, the first few), sent
// as text/csv after a confirmation, and the API's per-row report with its totals.

import { useEffect, useState } from "preact/hooks";
import { ok, type Schemas } from "../api/client";
import { href, useConsole } from "../context";
import { Card } from "../components/Card";
import { FileDrop, type FileKind } from "../components/FileDrop";
import { ConfirmDialog, ErrorMessage, plural } from "../util";

const CSV: FileKind = {
  label: "Users to deactivate (.csv)",
  name: "csv",
  extension: ".csv",
  accept: ".csv,text/csv",
  noun: "CSV file",
  testId: "csv",
};

/** What the console can tell of a file before sending it: the API reads it for real. */
interface Preview {
  lines: number;
  header: "userName" | "externalId" | null;
  values: string[];
}

/** The first field of a CSV line, trimmed (quoted or not), as the API reads it. */
function firstField(line: string): string {
  const text = line.trimStart();
  if (text.startsWith('"')) {
    let value = "";
    for (let i = 1; i < text.length; i++) {
      if (text[i] === '"') {
        if (text[i + 1] === '"') {
          value += '"';
          i++;
        } else break;
      } else value += text[i];
    }
    return value.trim();
  }
  return text.split(",")[0].trim();
}

function preview(text: string): Preview {
  const lines = text.split(/\r\n|\n|\r/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const values = lines.map(firstField);
  let header: Preview["header"] = null;
  if (values.length > 0 && /^username$/i.test(values[0])) header = "userName";
  if (values.length > 0 && /^externalid$/i.test(values[0])) header = "externalId";
  return { lines: lines.length, header, values: values.slice(header ? 1 : 0).filter(Boolean) };
}

const OUTCOMES: Record<Schemas["DeprovisionRow"]["outcome"], string> = {
  deactivated: "deactivated",
  already_deactivated: "already deactivated",
  not_found: "not found",
  error: "error",
};

export function BulkDeprovision({ realm, onDone }: { realm: string; onDone: () => void }) {
  const { api, tenant } = useConsole();
  const [file, setFile] = useState<File | null>(null);
  const [text, setText] = useState<{ file: File; text: string } | null>(null);
  const [readError, setReadError] = useState<Error | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [report, setReport] = useState<{ name: string; report: Schemas["DeprovisionReport"] } | null>(null);

  useEffect(() => {
    setText(null);
    setReadError(null);
    if (!file) return;
    file.text().then(
      (content) => setText({ file, text: content }),
      (cause: Error) => setReadError(new Error(`The file could not be read: ${cause.message}`)),
    );
  }, [file]);

  const shown = text && text.file === file ? preview(text.text) : null;

  const send = async () => {
    if (!text) return;
    setConfirming(false);
    setError(null);
    setBusy(true);
    try {
      const answer = await ok(
        api.POST("/v1/tenants/{tenant}/realms/{realm}/deprovision", {
          params: { path: { tenant, realm } },
          body: text.text,
          bodySerializer: (body: string) => body,
          headers: { "Content-Type": "text/csv" },
        }),
      );
      setReport({ name: text.file.name, report: answer });
      setFile(null);
      onDone();
    } catch (caught) {
      setError(caught as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card id="deprovision-title" title="Bulk deprovisioning by CSV" testId="deprovision">
      <p class="muted">
        A file with one user name or external id per line (only the first field of a line is read); an optional first line{" "}
        <code>userName</code> or <code>externalId</code> says which, otherwise each is looked up as an external id, then as a
        user name. Every user it names is deactivated.
      </p>
      <form
        class="form"
        aria-label="Bulk deprovisioning"
        onSubmit={(event) => {
          event.preventDefault();
          if (shown && shown.values.length > 0) setConfirming(true);
        }}
      >
        <FileDrop kind={CSV} file={file} onFile={setFile} />
        <ErrorMessage error={readError} />
        {shown && (
          <p data-testid="csv-preview">
            {plural(shown.lines, "line")}
            {shown.header ? <>: a header (<code>{shown.header}</code>) and </> : ": "}
            {plural(shown.values.length, "user")} named
            {shown.values.length > 0 && (
              <>
                {" "}
                ({shown.values.slice(0, 3).join(", ")}
                {shown.values.length > 3 ? ", …" : ""})
              </>
            )}
            .
          </p>
        )}
        {shown && shown.values.length === 0 && <p class="field-error">The file names no user: nothing to deactivate.</p>}
        <div class="actions">
          <button type="submit" class="primary" disabled={!shown || shown.values.length === 0 || busy}>
            {busy ? "Deactivating…" : "Deactivate the users in the file…"}
          </button>
        </div>
        <ErrorMessage error={error} />
      </form>
      {report && <Report realm={realm} name={report.name} report={report.report} />}
      {confirming && shown && text && (
        <ConfirmDialog
          title={`Deactivate the ${plural(shown.values.length, "user")} in ${text.file.name}?`}
          confirmLabel={`Deactivate ${plural(shown.values.length, "user")}`}
          onConfirm={send}
          onCancel={() => setConfirming(false)}
        >
          <p>
            Each user the file names is deactivated at once: <strong>blocked</strong> (every login refused), removed from their
            organization and groups, and every session of theirs revoked. The reason recorded is “bulk deprovisioning file”.
          </p>
          <p>A line that names no user is reported and skipped. A user can be reactivated from their page.</p>
        </ConfirmDialog>
      )}
    </Card>
  );
}

function Report({ realm, name, report }: { realm: string; name: string; report: Schemas["DeprovisionReport"] }) {
  return (
    <section aria-labelledby="deprovision-report-title" data-testid="deprovision-report">
      <h3 id="deprovision-report-title">Report of {name}</h3>
      <dl class="facts totals" data-testid="deprovision-totals">
        <dt>deactivated</dt>
        <dd data-count="deactivated">{report.deactivated}</dd>
        <dt>already deactivated</dt>
        <dd data-count="already_deactivated">{report.already_deactivated}</dd>
        <dt>not found</dt>
        <dd data-count="not_found">{report.not_found}</dd>
        <dt>errors</dt>
        <dd data-count="errors">{report.errors}</dd>
      </dl>
      <div class="scroll">
        <table class="table">
          <thead>
            <tr>
              <th scope="col" class="num">
                line
              </th>
              <th scope="col">value</th>
              <th scope="col">outcome</th>
            </tr>
          </thead>
          <tbody>
            {report.rows.map((row) => (
              <tr key={row.line} data-line={row.line} data-outcome={row.outcome}>
                <td class="num">{row.line}</td>
                <td>{row.user_id ? <a href={href("realms", realm, "users", row.user_id)}>{row.value}</a> : row.value}</td>
                <td>
                  <span class={row.outcome === "deactivated" ? "badge outcome-matched" : row.outcome === "error" || row.outcome === "not_found" ? "badge outcome-failed" : "badge"}>
                    {OUTCOMES[row.outcome]}
                  </span>
                  {row.error && <span class="blocked"> {row.error}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
