// The globals and types a js-rules script sees (docs/javascript.md). Point your editor at this
// file (`/// <reference path="muster.d.ts" />`, or list it in tsconfig.json) to get completion
// and type checks while you write rules; the module itself runs plain JavaScript.

/** What caused the evaluation. */
type Trigger = "login" | "scim_create" | "scim_update" | "scim_group_change" | "scim_reactivate" | "dry_run";

/** A user as the rules see it: what the identity provider said, plus internal groups. */
interface MusterUser {
  /** The unique user name (usually the sign-in e-mail address). */
  readonly userName: string;
  /** The identity provider's stable id for the user, if it sent one. */
  readonly externalId: string | null;
  /** The primary e-mail address, if known. */
  readonly email: string | null;
  /** Multi-valued attributes (claims) by name; an attribute the user lacks is absent. */
  readonly attributes: { readonly [name: string]: readonly string[] };
  /** Names of the provider (IdP) groups the user is a member of. */
  readonly providerGroups: readonly string[];
  /** Names of the internal (Muster-managed) groups the user is a member of. */
  readonly internalGroups: readonly string[];
}

/** Where and why the evaluation happens, and the settings' `config`. */
interface MusterContext<Config = unknown> {
  /** The realm (identity-provider integration) the user belongs to. */
  readonly realm: string;
  /** What caused the evaluation. */
  readonly trigger: Trigger;
  /** The settings' `config` (frozen); `null` when the settings have none. */
  readonly config: Config;
}

/** What `decideUser` returns. */
interface UserDecision {
  /** The organization, or `null` for No organization (which blocks the login). */
  organization: string | null;
  /** The rule that decided, shown in traces and decision logs. */
  rule?: string | null;
  /** Rule-based internal groups to put the user in. */
  groups?: string[];
}

/** What `decideGroup` returns. */
interface GroupAssignment {
  /** The organizations the provider group is marked with (empty: No organization). */
  organizations: string[];
  /** The rule that decided. */
  rule?: string | null;
}

/** The entries a script exports (at least one of them). */
type DecideUser<Config = unknown> = (user: MusterUser, context: MusterContext<Config>) => UserDecision;
type DecideGroup<Config = unknown> = (group: string, context: MusterContext<Config>) => GroupAssignment;
/**
 * The optional export that checks the settings' `config` when the settings are validated (at
 * upload): throw a `ConfigError` to refuse it at a place; returning accepts it.
 */
type ValidateConfig<Config = unknown> = (config: Config) => void;

/** A pattern compiled by the host (Rust `regex` syntax, linear time). */
interface MusterRegex {
  /** The pattern it was compiled from. */
  readonly pattern: string;
  /** Whether the pattern matches anywhere in `text`. */
  test(text: string): boolean;
}

/** Recording why a decision came out as it did. */
declare const trace: {
  /** Records a checked condition of `rule` (matched or not) and returns `matched` as a boolean. */
  check(rule: string, description: string, matched: unknown): boolean;
  /** Records a remark, optionally about a rule. */
  note(rule: string | null, text: string): void;
};

/** The domain of the user's e-mail address (else of the user name), ASCII lower-cased; `null` without an `@`. */
declare function emailDomain(user: MusterUser): string | null;

/** Whether `pattern` (Rust `regex` syntax) matches anywhere in `text`. Throws a SyntaxError for a bad pattern. */
declare function matches(pattern: string, text: string): boolean;

/** Compiles `pattern` now (at the top level: once per settings version). Throws a SyntaxError for a bad pattern. */
declare function regex(pattern: string): MusterRegex;

/**
 * Thrown by `validateConfig` to refuse the settings' `config`: the upload is refused at
 * `config.<path>` with `message`. `path` is in the API's notation (`rules[0].pattern`); `""`
 * refuses the whole config.
 */
declare class ConfigError extends Error {
  constructor(path: string, message: string);
  /** Where in the config. */
  readonly path: string;
}
