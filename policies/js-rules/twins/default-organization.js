// The stock `default-organization` module, in JavaScript: `context.config` holds that module's
// settings document, and this script decides exactly as it does (tests/fixtures.rs runs the
// module's own fixture file against it).

const RULE = "default organization";

export function decideUser(user, context) {
  trace.note(RULE, `every user goes to ${context.config.organization}`);
  return { organization: context.config.organization, rule: RULE };
}

export function decideGroup(group, context) {
  trace.note(RULE, `group ${group} goes to ${context.config.organization}`);
  return { organizations: [context.config.organization], rule: RULE };
}
