// The test panel: a stored user (searched by name, e-mail or external id with the users API, or
// given by id; the user page's "Try the rules on this user" opens it on that user) or a user
// typed here, run through the active or a candidate version (or the realm's draft of a kind:
// settings edited on the Rules page and not uploaded) with the dry-run API; shows the decision
// and the trace as a tree, with fuel and time. Nothing is stored or applied.

import { useState } from "preact/hooks";
import { ok, type Schemas } from "../api/client";
import { useConsole } from "../context";
import { draftSettings, useDraft, type Draft, type Kind } from "../drafts";
import { GroupMarksText, TraceTree, UserDecisionText } from "../components/TraceTree";
import { Empty, ErrorMessage, useDebounced, useLoad } from "../util";

/** Matches listed to pick from. */
const MATCHES = 20;

/** "active" | "none" | "draft" | a version number, as a select's value. */
type Choice = string;

/** What a dry run's body says of one kind for `choice`: its version field and, for the draft, its settings. */
function selection(kind: Kind, choice: Choice, draft: Draft | null): Schemas["VersionSelection"] {
  const version = `${kind}_rules_version` as const;
  if (choice === "active") return {};
  if (choice === "none") return { [version]: null };
  if (choice === "draft") {
    if (!draft) throw new Error(`There is no draft of the ${kind} rules: edit their settings on the Rules page.`);
    return { [version]: draft.version, [`${kind}_rules_settings`]: draftSettings(draft) };
  }
  return { [version]: Number(choice) };
}

/** `draft`: opened on the realm's draft of that kind (from the Rules page). */
export function TestPanel({ realm, user, draft }: { realm: string; user?: string; draft?: Kind }) {
  const { api, tenant } = useConsole();
  const path = { tenant, realm };
  const userVersions = useLoad(
    () => ok(api.GET("/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/versions", { params: { path: { ...path, kind: "user" } } })),
    [realm],
  );
  const groupVersions = useLoad(
    () => ok(api.GET("/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/versions", { params: { path: { ...path, kind: "group" } } })),
    [realm],
  );

  const [mode, setMode] = useState<"stored" | "adhoc">("stored");
  const [search, setSearch] = useState("");
  const settled = useDebounced(search.trim());
  const [userId, setUserId] = useState(user ?? "");
  const matches = useLoad(
    () =>
      ok(
        api.GET("/v1/tenants/{tenant}/realms/{realm}/users", {
          params: { path, query: { limit: MATCHES, ...(settled ? { search: settled } : {}) } },
        }),
      ),
    [realm, settled],
  );
  // The user the id names, to show who will be tried (a pasted id, or one from the user page).
  const settledId = useDebounced(userId.trim());
  const chosen = useLoad(
    () =>
      settledId
        ? ok(api.GET("/v1/tenants/{tenant}/realms/{realm}/users/{user}", { params: { path: { ...path, user: settledId } } }))
        : Promise.resolve(null),
    [realm, settledId],
  );
  const userDraft = useDraft(realm, "user");
  const groupDraft = useDraft(realm, "group");
  const [userChoice, setUserChoice] = useState<Choice>(draft === "user" ? "draft" : "active");
  const [groupChoice, setGroupChoice] = useState<Choice>(draft === "group" ? "draft" : "active");
  const [adHoc, setAdHoc] = useState({
    user_name: "ada@acme.com",
    email: "ada@acme.com",
    attributes: "department: Sales\ntitle: Regional Sales Manager",
    provider_groups: "sales-emea, all-staff",
  });
  const [result, setResult] = useState<Schemas["DryRun"] | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);

  const found = matches.data?.users ?? [];

  const run = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setResult(null);
    setBusy(true);
    try {
      const versions = { ...selection("user", userChoice, userDraft), ...selection("group", groupChoice, groupDraft) };
      if (mode === "stored") {
        if (!userId.trim()) throw new Error("Choose a stored user first, or give their id.");
        setResult(
          await ok(
            api.POST("/v1/tenants/{tenant}/realms/{realm}/users/{user}/dry-run", {
              params: { path: { ...path, user: userId.trim() } },
              body: versions,
            }),
          ),
        );
      } else {
        setResult(
          await ok(
            api.POST("/v1/tenants/{tenant}/realms/{realm}/dry-run", {
              params: { path },
              body: { user: adHocUser(adHoc), ...versions },
            }),
          ),
        );
      }
    } catch (caught) {
      setError(caught as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1 tabIndex={-1}>Test panel</h1>
      <p class="muted">Runs the rules on one user without storing or applying anything (a dry run).</p>
      <form class="form" onSubmit={run}>
        <fieldset class="segmented">
          <legend>User</legend>
          <label class="inline">
            <input type="radio" name="mode" checked={mode === "stored"} onChange={() => setMode("stored")} /> A stored user
          </label>
          <label class="inline">
            <input type="radio" name="mode" checked={mode === "adhoc"} onChange={() => setMode("adhoc")} /> A user typed here
          </label>
        </fieldset>

        {mode === "stored" && (
          <div class="stored-user">
            <label>
              Search users by name
              <input
                type="search"
                name="search"
                value={search}
                maxLength={200}
                aria-describedby="search-users-hint"
                onInput={(e) => setSearch(e.currentTarget.value)}
              />
            </label>
            <p id="search-users-hint" class="hint">
              Any part of the user name, e-mail, display name or external id; the first {MATCHES} matches are listed.
            </p>
            <ErrorMessage error={matches.error} />
            {matches.data && found.length === 0 && (
              <Empty>
                {settled
                  ? `No stored user matches “${settled}”: try another part of the name, or type a user instead.`
                  : "No user in this realm yet: users appear once they log in or are provisioned. Type a user instead."}
              </Empty>
            )}
            {found.length > 0 && (
              <label>
                Stored user ({found.length} {found.length === 1 ? "match" : "matches"}
                {matches.data?.next_after ? ", more not listed" : ""})
                <select
                  name="user"
                  value={userId}
                  onChange={(e) => setUserId(e.currentTarget.value)}
                  size={Math.min(6, Math.max(2, found.length))}
                  data-testid="user-matches"
                >
                  {found.map((match) => (
                    <option key={match.id} value={match.id}>
                      {match.user_name}
                      {match.display_name ? ` (${match.display_name})` : ""} — {match.organization ?? "no organization"}
                      {match.status === "deactivated" ? " — deactivated" : ""}
                    </option>
                  ))}
                </select>
              </label>
            )}
            <label>
              User id
              <input
                name="user_id"
                value={userId}
                class="mono"
                aria-describedby="user-id-hint"
                onInput={(e) => setUserId(e.currentTarget.value)}
              />
            </label>
            <p id="user-id-hint" class="hint" aria-live="polite" data-testid="chosen-user">
              {chosen.data ? (
                <>
                  The rules will run on <strong>{chosen.data.user_name}</strong> ({chosen.data.status}, now in{" "}
                  {chosen.data.organization ?? "no organization"}).
                </>
              ) : (
                "Filled in by picking a match; or paste a user's id."
              )}
            </p>
            {settledId && <ErrorMessage error={chosen.error} />}
          </div>
        )}

        {mode === "adhoc" && (
          <div class="grid2">
            <label>
              User name
              <input name="user_name" required value={adHoc.user_name} onInput={(e) => setAdHoc({ ...adHoc, user_name: e.currentTarget.value })} />
            </label>
            <label>
              E-mail
              <input name="email" type="email" value={adHoc.email} onInput={(e) => setAdHoc({ ...adHoc, email: e.currentTarget.value })} />
            </label>
            <label>
              Attributes (one per line: <code>name: value</code>)
              <textarea name="attributes" rows={4} value={adHoc.attributes} onInput={(e) => setAdHoc({ ...adHoc, attributes: e.currentTarget.value })} />
            </label>
            <label>
              Provider groups (comma-separated)
              <input name="provider_groups" value={adHoc.provider_groups} onInput={(e) => setAdHoc({ ...adHoc, provider_groups: e.currentTarget.value })} />
            </label>
          </div>
        )}

        <div class="grid2">
          <VersionSelect
            label="User-rules version"
            name="user_rules_version"
            list={userVersions.data}
            draft={userDraft}
            value={userChoice}
            onChange={setUserChoice}
          />
          <VersionSelect
            label="Group-rules version"
            name="group_rules_version"
            list={groupVersions.data}
            draft={groupDraft}
            value={groupChoice}
            onChange={setGroupChoice}
          />
        </div>
        <ErrorMessage error={userVersions.error ?? groupVersions.error} />
        <ErrorMessage error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Running…" : "Run"}
        </button>
      </form>
      {result && <DryRunResult result={result} />}
    </>
  );
}

function adHocUser(form: { user_name: string; email: string; attributes: string; provider_groups: string }): Schemas["UserInput"] {
  const attributes: Record<string, string[]> = {};
  for (const line of form.attributes.split("\n")) {
    const at = line.indexOf(":");
    if (at < 0) continue;
    const name = line.slice(0, at).trim();
    const value = line.slice(at + 1).trim();
    if (name) (attributes[name] ??= []).push(value);
  }
  return {
    user_name: form.user_name.trim(),
    email: form.email.trim() || null,
    attributes,
    provider_groups: form.provider_groups.split(",").map((g) => g.trim()).filter(Boolean),
  };
}

function VersionSelect(props: {
  label: string;
  name: string;
  list: Schemas["ModuleVersionList"] | undefined;
  draft: Draft | null;
  value: Choice;
  onChange: (value: Choice) => void;
}) {
  const active = props.list?.active;
  return (
    <label>
      {props.label}
      <select name={props.name} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        <option value="active">the active version{active ? ` (${active})` : " (none)"}</option>
        {(props.draft || props.value === "draft") && (
          <option value="draft">
            {props.draft ? `the draft (of version ${props.draft.version})` : "the draft (none now)"}
          </option>
        )}
        {[...(props.list?.versions ?? [])].reverse().map((version) => (
          <option key={version.version} value={String(version.version)}>
            version {version.version}
            {version.version === active ? " (active)" : ""}
            {version.note ? ` — ${version.note}` : ""}
          </option>
        ))}
        <option value="none">no module (the default organization)</option>
      </select>
    </label>
  );
}

function DryRunResult({ result }: { result: Schemas["DryRun"] }) {
  const evaluation = result.evaluation;
  return (
    <section aria-labelledby="result-title" class="result" data-testid="dry-run-result">
      <h2 id="result-title">Result</h2>
      <p class={result.blocked ? "verdict blocked" : "verdict"} data-testid="dry-run-verdict">
        {result.blocked ? "Blocked: no organization" : <>Organization <strong>{evaluation.user.organization}</strong></>}
        <span class="muted">
          {" "}
          · {evaluation.fuel.toLocaleString("en")} fuel · {evaluation.duration_us.toLocaleString("en")} µs
        </span>
      </p>
      <div class="columns">
        <TraceTree
          title={`User rules${moduleText(evaluation.user.module)}`}
          trace={evaluation.user.trace}
          decision={<UserDecisionText organization={evaluation.user.organization} rule={evaluation.user.rule} groups={evaluation.user.groups} />}
        />
        <TraceTree
          title={`Group rules${moduleText(evaluation.groups.module)}`}
          trace={evaluation.groups.trace}
          decision={<GroupMarksText groups={evaluation.groups.groups} />}
        />
      </div>
    </section>
  );
}

/** ` (version 2)`, ` (draft of version 2)`, or nothing when no module ran. */
function moduleText(module: Schemas["ModuleRef"] | null | undefined): string {
  if (!module) return "";
  return ` (${module.draft ? "draft of " : ""}version ${module.version})`;
}
