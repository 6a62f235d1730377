// The demo's rules in JavaScript (docs/javascript.md): the same decisions as the `entra` realm's
// user-rules and group-rules settings, run by the stock js-rules module in the `okta-js` realm.
// Try it: muster eval --script docs/demo/rules.js --input docs/demo/ada.json

const salesGroup = regex("^sales-(emea|apac|amer)$");
const manager = regex("(?i)manager");

export function decideUser(user, context) {
  const department = user.attributes.department ?? [];
  const titles = user.attributes.title ?? [];
  const groups = trace.check("managers", "title matches (?i)manager", titles.some((t) => manager.test(t)))
    ? ["all-managers"]
    : [];
  if (
    trace.check("sales", "department is Sales", department.includes("Sales")) &&
    trace.check("sales", "a provider group matches ^sales-(emea|apac|amer)$", user.providerGroups.some((g) => salesGroup.test(g)))
  ) {
    return { organization: "acme-sales", rule: "sales", groups };
  }
  if (
    trace.check("engineering", "department is Engineering", department.includes("Engineering")) ||
    trace.check("engineering", "member of engineers", user.providerGroups.includes("engineers"))
  ) {
    return { organization: "acme-engineering", rule: "engineering", groups };
  }
  if (trace.check("acme staff", "e-mail domain is acme.com", emailDomain(user) === "acme.com")) {
    return { organization: "acme", rule: "acme staff", groups };
  }
  trace.note(null, "no rule matched: No organization");
  return { organization: null, groups };
}

export function decideGroup(group, context) {
  if (trace.check("sales", `${group} starts with sales-`, group.startsWith("sales-"))) {
    return { organizations: ["acme-sales"], rule: "sales" };
  }
  return { organizations: ["acme"] };
}
