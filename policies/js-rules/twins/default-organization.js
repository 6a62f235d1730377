// The stock `default-organization` module, in JavaScript: `context.config` holds that module's
// settings document, and this script checks it and decides exactly as that module does
// (tests/fixtures.rs runs the module's own fixture file against it, settings errors included).

const RULE = "default organization";

// The module's settings checks: the document is `{"organization": "<non-empty>"}`, nothing else.
export function validateConfig(config) {
  for (const key of Object.keys(config ?? {})) {
    if (key !== "organization") throw new ConfigError(key, `unknown field \`${key}\`, expected \`organization\``);
  }
  if (typeof config?.organization !== "string") throw new ConfigError("", "missing field `organization`");
  if (config.organization.trim() === "") throw new ConfigError("organization", "must name an organization");
}

export function decideUser(user, context) {
  trace.note(RULE, `every user goes to ${context.config.organization}`);
  return { organization: context.config.organization, rule: RULE };
}

export function decideGroup(group, context) {
  trace.note(RULE, `group ${group} goes to ${context.config.organization}`);
  return { organizations: [context.config.organization], rule: RULE };
}
