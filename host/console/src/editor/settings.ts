// The settings documents of the stock modules (policies/user-rules, policies/group-rules,
// policies/js-rules) as the structured editors see them: their types, whether a module's
// published settings schema is one of them, whether a document can be shown in the form, and
// paths in the API's notation.

/** A test on a list of values (policies/user-rules/src/settings.rs, `Test`). */
export type Test =
  | { equals: string }
  | { equals_ignore_case: string }
  | { in: string[] }
  | { regex: string }
  | { present: boolean };
export type TestKind = "equals" | "equals_ignore_case" | "in" | "regex" | "present";
export const TEST_KINDS: TestKind[] = ["equals", "equals_ignore_case", "in", "regex", "present"];

/** An attribute condition: the name with exactly one test beside it. */
export type AttributeCondition = { name: string } & Test;

/** A condition over a user: an object with exactly one key naming its kind. */
export type Condition =
  | { attribute: AttributeCondition }
  | { provider_group: Test }
  | { internal_group: Test }
  | { email_domain: Test }
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition };
export type ConditionKind = "attribute" | "provider_group" | "internal_group" | "email_domain" | "all" | "any" | "not";
export const CONDITION_KINDS: ConditionKind[] = ["attribute", "provider_group", "internal_group", "email_domain", "all", "any", "not"];
export type TestedKind = "provider_group" | "internal_group" | "email_domain";

export interface UserRule {
  name: string;
  organization: string;
  when: Condition;
}
export interface RuleGroup {
  name: string;
  group: string;
  when: Condition;
}
/** The user-rules settings document; `fallback` absent or null blocks unmatched users. */
export interface UserSettings {
  rules: UserRule[];
  fallback?: string | null;
  groups?: RuleGroup[];
}

export interface GroupRule {
  name: string;
  pattern: string;
  organizations: string[];
}
/** The group-rules settings document; `fallback` absent or null: *No organization*. */
export interface GroupSettings {
  rules: GroupRule[];
  fallback?: string[] | null;
}

/** The js-rules settings document: an ES module's source, and any JSON it reads as `context.config`. */
export interface JsSettings {
  script: string;
  config?: unknown;
}

export type Format = "user-rules" | "group-rules" | "js-rules";

// ---- Recognising the stock modules ----------------------------------------------------------
//
// The editor is offered when the version being edited publishes the settings schema of a stock
// module. Its schema, not its settings or its title, because:
// * the schema is generated from the module's Rust types (guest-sdk/src/schema.rs), so it says
//   exactly what the module accepts: if it has the stock structure, everything the form can
//   produce is a document the module understands, and nothing the module understands is lost;
// * a settings document alone cannot tell: a custom module may take `rules` with names and
//   organizations but its own condition language, and an empty `{"rules": []}` fits anything;
// * titles and descriptions are doc comments (every schemars settings type is titled
//   "Settings"): they change with wording and say nothing about the structure.
// So the test is structural: the top-level fields, each rule's fields, and for user rules the
// seven condition kinds, the five tests and the attribute condition's fields, exactly. Doc
// comments, defaults and the organization marks may change without the editor disappearing; a
// new field or condition kind (which the form would not know) makes it fall back to JSON.

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Follows a local `$ref` (`#/$defs/Name`, or `#/definitions/Name` of older drafts). */
function deref(root: JsonObject, schema: unknown): JsonObject | null {
  for (let hops = 0; isObject(schema) && typeof schema.$ref === "string" && hops < 8; hops++) {
    const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(schema.$ref);
    const defs = match ? root[match[1]!] : undefined;
    schema = match && isObject(defs) ? defs[match[2]!] : undefined;
  }
  return isObject(schema) ? schema : null;
}

function sameKeys(keys: Iterable<string> | null, expected: string[]): boolean {
  if (!keys) return false;
  const found = [...keys].sort();
  return found.length === expected.length && [...expected].sort().every((key, i) => key === found[i]);
}

function propertyNames(root: JsonObject, schema: unknown): string[] | null {
  const resolved = deref(root, schema);
  return resolved && isObject(resolved.properties) ? Object.keys(resolved.properties) : null;
}

function property(root: JsonObject, schema: unknown, name: string): unknown {
  const resolved = deref(root, schema);
  return resolved && isObject(resolved.properties) ? resolved.properties[name] : undefined;
}

function items(root: JsonObject, schema: unknown): unknown {
  return deref(root, schema)?.items;
}

/** The variants of an externally tagged enum (`oneOf` of one-key objects): key → its schema. */
function variants(root: JsonObject, schema: unknown): Map<string, unknown> | null {
  const resolved = deref(root, schema);
  const oneOf = resolved?.oneOf ?? resolved?.anyOf;
  if (!Array.isArray(oneOf)) return null;
  const result = new Map<string, unknown>();
  for (const variant of oneOf) {
    const names = propertyNames(root, variant);
    if (!names || names.length !== 1) return null;
    result.set(names[0]!, property(root, variant, names[0]!));
  }
  return result;
}

const USER_TOP = ["rules", "fallback", "groups"];
const USER_RULE = ["name", "organization", "when"];
const USER_GROUP = ["name", "group", "when"];
const GROUP_TOP = ["rules", "fallback"];
const GROUP_RULE = ["name", "pattern", "organizations"];
const JS_TOP = ["script", "config"];

function isConditionSchema(root: JsonObject, schema: unknown): boolean {
  const kinds = variants(root, schema);
  if (!kinds || !sameKeys(kinds.keys(), CONDITION_KINDS)) return false;
  const tests = (kind: TestedKind) => sameKeys(variants(root, kinds.get(kind))?.keys() ?? null, TEST_KINDS);
  return (
    tests("provider_group") &&
    tests("internal_group") &&
    tests("email_domain") &&
    sameKeys(propertyNames(root, kinds.get("attribute")), ["name", ...TEST_KINDS])
  );
}

/** Which stock settings format a module's published schema is, if any (see above). */
export function recognise(schema: unknown): Format | null {
  if (!isObject(schema)) return null;
  const top = propertyNames(schema, schema);
  if (sameKeys(top, USER_TOP)) {
    const rule = items(schema, property(schema, schema, "rules"));
    const group = items(schema, property(schema, schema, "groups"));
    const ok =
      sameKeys(propertyNames(schema, rule), USER_RULE) &&
      sameKeys(propertyNames(schema, group), USER_GROUP) &&
      isConditionSchema(schema, property(schema, rule, "when")) &&
      isConditionSchema(schema, property(schema, group, "when"));
    return ok ? "user-rules" : null;
  }
  if (sameKeys(top, GROUP_TOP)) {
    const rule = items(schema, property(schema, schema, "rules"));
    return sameKeys(propertyNames(schema, rule), GROUP_RULE) ? "group-rules" : null;
  }
  if (sameKeys(top, JS_TOP)) {
    return deref(schema, property(schema, schema, "script"))?.type === "string" ? "js-rules" : null;
  }
  return null;
}

// ---- Can the form show this document? -------------------------------------------------------
//
// The form shows a document only when it is exactly of the format's shape (the JSON view can
// hold anything). Each check answers why not, at which path, or null.

function only(value: JsonObject, allowed: string[], at: string): string | null {
  const extra = Object.keys(value).find((key) => !allowed.includes(key));
  return extra === undefined ? null : `${join(at, extra)} is not a field the form knows`;
}

function checkString(value: unknown, at: string): string | null {
  return typeof value === "string" ? null : `${at} is not a string`;
}

function checkStrings(value: unknown, at: string): string | null {
  if (!Array.isArray(value)) return `${at} is not a list`;
  const i = value.findIndex((item) => typeof item !== "string");
  return i < 0 ? null : `${at}[${i}] is not a string`;
}

/** The test in `value` under one of TEST_KINDS; `others` are the keys allowed beside it. */
function checkTest(value: unknown, at: string, others: string[]): string | null {
  if (!isObject(value)) return `${at} is not an object`;
  const extra = only(value, [...others, ...TEST_KINDS], at);
  if (extra) return extra;
  const given = TEST_KINDS.filter((kind) => kind in value);
  if (given.length !== 1) return `${at} needs exactly one test`;
  const kind = given[0]!;
  const test = value[kind];
  if (kind === "in") return checkStrings(test, `${at}.in`);
  if (kind === "present") return typeof test === "boolean" ? null : `${at}.present is not true or false`;
  return checkString(test, `${at}.${kind}`);
}

function checkCondition(value: unknown, at: string, depth: number): string | null {
  if (depth > 64) return `${at} is nested too deeply for the form`;
  if (!isObject(value)) return `${at} is not an object`;
  const keys = Object.keys(value);
  if (keys.length !== 1 || !CONDITION_KINDS.includes(keys[0] as ConditionKind)) {
    return `${at} is not one condition (${CONDITION_KINDS.join(", ")})`;
  }
  const kind = keys[0] as ConditionKind;
  const inner = value[kind];
  const path = `${at}.${kind}`;
  switch (kind) {
    case "attribute":
      if (!isObject(inner)) return `${path} is not an object`;
      return checkString(inner.name, `${path}.name`) ?? checkTest(inner, path, ["name"]);
    case "all":
    case "any":
      if (!Array.isArray(inner)) return `${path} is not a list`;
      for (let i = 0; i < inner.length; i++) {
        const problem = checkCondition(inner[i], `${path}[${i}]`, depth + 1);
        if (problem) return problem;
      }
      return null;
    case "not":
      return checkCondition(inner, path, depth + 1);
    default:
      return checkTest(inner, path, []);
  }
}

function checkEntries(value: unknown, at: string, fields: string[], check: (entry: JsonObject, at: string) => string | null) {
  if (!Array.isArray(value)) return `${at} is not a list`;
  for (let i = 0; i < value.length; i++) {
    const entry = value[i];
    const here = `${at}[${i}]`;
    if (!isObject(entry)) return `${here} is not an object`;
    const problem = only(entry, fields, here) ?? check(entry, here);
    if (problem) return problem;
  }
  return null;
}

/** Why the form cannot show `value` as user-rules settings, or null when it can. */
export function checkUserSettings(value: unknown): string | null {
  if (!isObject(value)) return "the document is not a JSON object";
  return (
    only(value, USER_TOP, "") ??
    checkEntries(value.rules, "rules", USER_RULE, (rule, at) =>
      checkString(rule.name, `${at}.name`) ??
      checkString(rule.organization, `${at}.organization`) ??
      checkCondition(rule.when, `${at}.when`, 1),
    ) ??
    (value.fallback === undefined || value.fallback === null ? null : checkString(value.fallback, "fallback")) ??
    (value.groups === undefined
      ? null
      : checkEntries(value.groups, "groups", USER_GROUP, (entry, at) =>
          checkString(entry.name, `${at}.name`) ??
          checkString(entry.group, `${at}.group`) ??
          checkCondition(entry.when, `${at}.when`, 1),
        ))
  );
}

/** Why the script editor cannot show `value` as js-rules settings, or null when it can. */
export function checkJsSettings(value: unknown): string | null {
  if (!isObject(value)) return "the document is not a JSON object";
  return only(value, JS_TOP, "") ?? checkString(value.script, "script");
}

/** Where a refusal of a script says it went wrong (`line 3, column 11: SyntaxError: …`): the
 *  js-rules module's own wording (policies/js-rules/src/error.rs), kept by the API's message. */
export function scriptPosition(message: string): { line: number; column: number; message: string } | null {
  const match = /line (\d+), column (\d+): ([^\n]*)/.exec(message);
  return match ? { line: Number(match[1]), column: Number(match[2]), message: match[3]! } : null;
}

/** Why the form cannot show `value` as group-rules settings, or null when it can. */
export function checkGroupSettings(value: unknown): string | null {
  if (!isObject(value)) return "the document is not a JSON object";
  return (
    only(value, GROUP_TOP, "") ??
    checkEntries(value.rules, "rules", GROUP_RULE, (rule, at) =>
      checkString(rule.name, `${at}.name`) ??
      checkString(rule.pattern, `${at}.pattern`) ??
      checkStrings(rule.organizations, `${at}.organizations`),
    ) ??
    (value.fallback === undefined || value.fallback === null ? null : checkStrings(value.fallback, "fallback"))
  );
}

// ---- Conditions and tests -------------------------------------------------------------------

export function conditionKind(condition: Condition): ConditionKind {
  return Object.keys(condition)[0] as ConditionKind;
}

export function testKind(test: Test | AttributeCondition): TestKind {
  return TEST_KINDS.find((kind) => kind in test) ?? "equals";
}

/** The test of `test` (a test, or an attribute condition, whose test sits beside its name). */
export function testOf(test: Test | AttributeCondition): Test {
  const kind = testKind(test);
  return { [kind]: (test as Record<string, unknown>)[kind] } as Test;
}

/** `test` turned into a test of `kind`, keeping what carries over (a string, a list's first). */
export function convertTest(test: Test, kind: TestKind): Test {
  const from = testKind(test);
  if (from === kind) return test;
  const value = (test as Record<string, unknown>)[from];
  const text = typeof value === "string" ? value : Array.isArray(value) ? String(value[0] ?? "") : "";
  switch (kind) {
    case "in":
      return { in: text ? [text] : [] };
    case "present":
      return { present: true };
    default:
      return { [kind]: text } as Test;
  }
}

/** `condition` turned into a condition of `kind`: a test carries over between tested kinds, a
 *  condition becomes the first operand of `all`/`any` (or the operand of `not`). */
export function convertCondition(condition: Condition, kind: ConditionKind): Condition {
  const from = conditionKind(condition);
  if (from === kind) return condition;
  const list = (c: Condition): Condition[] | null => ("all" in c ? c.all : "any" in c ? c.any : null);
  switch (kind) {
    case "all":
      return { all: list(condition) ?? [condition] };
    case "any":
      return { any: list(condition) ?? [condition] };
    case "not":
      return { not: condition };
    default: {
      // A leaf: keep the test of a leaf (or of the first leaf inside a combination).
      let leaf: Condition | undefined = condition;
      while (leaf && !isLeaf(leaf)) leaf = "not" in leaf ? leaf.not : list(leaf)?.[0];
      const test: Test = leaf ? testOf(leafTest(leaf)) : { equals: "" };
      if (kind === "attribute") {
        const name = leaf && "attribute" in leaf ? leaf.attribute.name : "";
        return { attribute: { name, ...test } };
      }
      return { [kind]: test } as Condition;
    }
  }
}

export function isLeaf(condition: Condition): boolean {
  return !("all" in condition || "any" in condition || "not" in condition);
}

function leafTest(condition: Condition): Test | AttributeCondition {
  const kind = conditionKind(condition);
  return (condition as Record<string, Test | AttributeCondition>)[kind]!;
}

export function newCondition(): Condition {
  return { attribute: { name: "", equals: "" } };
}

/** A name not yet taken among `taken`: `${stem} 1`, `${stem} 2`, … */
export function freshName(stem: string, taken: string[]): string {
  for (let n = taken.length + 1; ; n++) if (!taken.includes(`${stem} ${n}`)) return `${stem} ${n}`;
}

// ---- Lists ----------------------------------------------------------------------------------

export function moved<T>(list: T[], from: number, to: number): T[] {
  if (to < 0 || to >= list.length) return list;
  const copy = [...list];
  const [item] = copy.splice(from, 1);
  copy.splice(to, 0, item!);
  return copy;
}

export function replaced<T>(list: T[], at: number, item: T): T[] {
  return list.map((old, i) => (i === at ? item : old));
}

export function removed<T>(list: T[], at: number): T[] {
  return list.filter((_, i) => i !== at);
}

// ---- Paths in the API's notation: rules[2].when.all[0].attribute.in -------------------------

export function join(at: string, key: string | number): string {
  if (typeof key === "number") return `${at}[${key}]`;
  return at ? `${at}.${key}` : key;
}

/** The path one level up (`rules[0].name` → `rules[0]` → `rules` → `""`), null above the top. */
export function parent(path: string): string | null {
  if (path === "") return null;
  const match = /(\.[^.[\]]*|\[\d+\])$/.exec(path);
  return match ? path.slice(0, match.index) : "";
}
