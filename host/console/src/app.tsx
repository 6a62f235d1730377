// The console's frame: sign-in, the header with sign-out, the realm navigation, and the pages,
// chosen by the URL's fragment (#/realms/entra/rules/user). The fragment names pages only:
// the key never appears in a URL.

import { useEffect, useMemo, useState } from "preact/hooks";
import { apiClient } from "./api/client";
import { clearSession, loadSession, saveSession, type Session } from "./session";
import { ConsoleContext, href } from "./context";
import { SignIn } from "./pages/SignIn";
import { Realms } from "./pages/Realms";
import { Overview } from "./pages/Overview";
import { Rules } from "./pages/Rules";
import { TestPanel } from "./pages/TestPanel";
import { Decisions } from "./pages/Decisions";
import { DecisionDetail } from "./pages/DecisionDetail";
import { Shadow } from "./pages/Shadow";
import { Impact } from "./pages/Impact";
import { Backtest } from "./pages/Backtest";
import { Keys } from "./pages/Keys";
import { Audit } from "./pages/Audit";
import { Users } from "./pages/Users";
import { UserDetail } from "./pages/UserDetail";
import { Scim } from "./pages/Scim";
import { Retention } from "./pages/Retention";
import type { Candidate } from "./preview/CandidateForm";

function currentRoute(): string[] {
  const hash = window.location.hash.replace(/^#\/?/, "");
  return hash.split("/").filter(Boolean).map(decodeURIComponent);
}

/** A key's public id: the part between `mk_` and the next underscore. */
function keyIdOf(key: string): string {
  return key.replace(/^mk_/, "").split("_")[0] ?? "";
}

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const onChange = () => setRoute(currentRoute());
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  const context = useMemo(
    () => (session ? { tenant: session.tenant, api: apiClient(session.key), keyId: keyIdOf(session.key) } : null),
    [session],
  );

  // Each page names itself in its heading; move focus there on navigation for screen readers.
  useEffect(() => {
    document.querySelector<HTMLElement>("main h1")?.focus();
  }, [route.join("/")]);

  if (!session || !context) {
    return (
      <SignIn
        onSignedIn={(signedIn) => {
          saveSession(signedIn);
          setSession(signedIn);
        }}
      />
    );
  }
  const signOut = () => {
    clearSession();
    setSession(null);
    window.location.hash = "#/";
  };
  return (
    <ConsoleContext.Provider value={context}>
      <header class="topbar">
        <a class="brand" href="#/">
          Muster console
        </a>
        <nav class="tenant-nav" aria-label="Tenant">
          <a href="#/">Realms</a>
          <a href={href("keys")}>API keys</a>
          <a href={href("audit")}>Audit log</a>
          <a href={href("retention")}>Retention</a>
        </nav>
        <span class="tenant" data-testid="signed-in-tenant">
          tenant <strong>{session.tenant}</strong>
        </span>
        <button type="button" class="signout" onClick={signOut}>
          Sign out
        </button>
      </header>
      <Page route={route} />
    </ConsoleContext.Provider>
  );
}

function Page({ route }: { route: string[] }) {
  const [first, realm, page, arg, version] = route;
  if (first === "keys") return <Keys />;
  if (first === "audit") return <Audit />;
  if (first === "retention") return <Retention />;
  if (first !== "realms" || !realm) return <Realms />;
  let body;
  switch (page) {
    case undefined:
      body = <Overview realm={realm} />;
      break;
    case "rules":
      body = <Rules key={`${realm}/${arg}`} realm={realm} kind={arg === "group" ? "group" : "user"} />;
      break;
    case "test":
      // `…/test/draft/{kind}` opens it on the realm's draft of that kind; `…/test/{user}` on a user.
      body =
        arg === "draft" ? (
          <TestPanel key={`${realm}/draft/${version}`} realm={realm} draft={version === "group" ? "group" : "user"} />
        ) : (
          <TestPanel key={`${realm}/${arg}`} realm={realm} user={arg} />
        );
      break;
    case "users":
      body = arg ? <UserDetail key={`${realm}/${arg}`} realm={realm} id={arg} /> : <Users key={realm} realm={realm} />;
      break;
    case "scim":
      body = <Scim key={realm} realm={realm} />;
      break;
    case "decisions":
      body = arg ? <DecisionDetail realm={realm} id={arg} /> : <Decisions realm={realm} />;
      break;
    case "shadow":
      body = <Shadow realm={realm} />;
      break;
    case "impact":
      body = <Impact key={`${realm}/${arg}/${version}`} realm={realm} candidate={candidateOf(arg, version)} />;
      break;
    case "backtest":
      body = <Backtest key={`${realm}/${arg}/${version}`} realm={realm} candidate={candidateOf(arg, version)} />;
      break;
    default:
      body = <p>No such page.</p>;
  }
  return (
    <div class="layout">
      <nav class="realm-nav" aria-label={`Realm ${realm}`}>
        <p class="realm-name">
          realm <strong>{realm}</strong>
        </p>
        <ul>
          <NavLink to={href("realms", realm)} current={page === undefined} label="Overview" />
          <NavLink to={href("realms", realm, "rules", "user")} current={page === "rules"} label="Rules" />
          <NavLink to={href("realms", realm, "users")} current={page === "users"} label="Users" />
          <NavLink to={href("realms", realm, "test")} current={page === "test"} label="Test panel" />
          <NavLink to={href("realms", realm, "decisions")} current={page === "decisions"} label="Decisions" />
          <NavLink to={href("realms", realm, "shadow")} current={page === "shadow"} label="Shadow" />
          <NavLink to={href("realms", realm, "impact")} current={page === "impact"} label="Impact preview" />
          <NavLink to={href("realms", realm, "backtest")} current={page === "backtest"} label="Backtest" />
          <NavLink to={href("realms", realm, "scim")} current={page === "scim"} label="SCIM" />
        </ul>
        <p>
          <a href="#/">All realms</a>
        </p>
      </nav>
      <main>{body}</main>
    </div>
  );
}

/** The candidate a preview page's address names (`…/impact/user/4`, `…/impact/user/draft`), if any. */
function candidateOf(kind: string | undefined, version: string | undefined): Candidate {
  const number = Number(version);
  const candidate = version === "draft" ? "draft" : Number.isInteger(number) && number > 0 ? number : null;
  return { kind: kind === "group" ? "group" : "user", version: candidate };
}

function NavLink(props: { to: string; current: boolean; label: string }) {
  return (
    <li>
      <a href={props.to} aria-current={props.current ? "page" : undefined}>
        {props.label}
      </a>
    </li>
  );
}
