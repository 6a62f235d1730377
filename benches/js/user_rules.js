// The 20-rule workload of `settings_json` (benches/src/lib.rs) written for the stock js-rules
// module: the same rules in the same order, the same fallback and rule-based groups, so it
// decides the benchmark's user exactly as user-rules does.

const re = {
  executive: regex("(?i)^(chief|vp|vice president)\\b"),
  initech: regex("(^|\\.)initech\\.(com|io)$"),
  salesApac: regex("^sales-apac"),
  support: regex("^support-l[123]$"),
  costCenter: regex("^CC-7[0-9]{3}$"),
  platform: regex("^eng-(platform|infra)(-|$)"),
  manager: regex("(?i)manager|lead|head of"),
};

const values = (user, name) => user.attributes[name] ?? [];
const any = (user, name, test) => values(user, name).some(test);
const is = (user, name, value) => any(user, name, (v) => v === value);
const oneOf = (user, name, list) => any(user, name, (v) => list.includes(v));
const inGroup = (user, test) => user.providerGroups.some(test);

const RULES = [
  ["executives", "acme-exec", (u) => any(u, "title", (v) => re.executive.test(v))],
  ["board", "acme-board", (u) => inGroup(u, (g) => g === "board-members" || g === "board-observers")],
  ["contractors", "acme-contractors", (u) => oneOf(u, "employeeType", ["Contractor", "Vendor", "Temp"])],
  ["interns", "acme-interns", (u, domain) => is(u, "employeeType", "Intern") && domain === "acme.com"],
  ["globex", "globex", (u, domain) => domain === "globex.com" || domain === "globex.co.uk"],
  ["initech", "initech", (u, domain) => domain !== null && re.initech.test(domain)],
  ["sales-emea", "acme-sales-emea", (u) => is(u, "department", "Sales") && is(u, "region", "EMEA")],
  ["sales-apac", "acme-sales-apac", (u) => inGroup(u, (g) => re.salesApac.test(g)) && is(u, "department", "Sales")],
  ["sales-amer", "acme-sales-amer", (u) =>
    is(u, "department", "Sales") && (is(u, "region", "AMER") || oneOf(u, "country", ["US", "CA", "MX", "BR"]))],
  ["support", "acme-support", (u) => inGroup(u, (g) => re.support.test(g))],
  ["finance", "acme-finance", (u) =>
    oneOf(u, "department", ["Finance", "Accounting", "Treasury"]) || inGroup(u, (g) => g === "finance-all")],
  ["legal", "acme-legal", (u) => any(u, "costCenter", (v) => re.costCenter.test(v))],
  ["research", "acme-research", (u) => is(u, "division", "Research") && !is(u, "clearance", "none")],
  ["security", "acme-security", (u) =>
    inGroup(u, (g) => ["secops", "red-team", "blue-team"].includes(g)) && values(u, "clearance").length > 0],
  ["platform-engineering", "acme-engineering", (u) =>
    is(u, "department", "Engineering") && inGroup(u, (g) => re.platform.test(g)) && !is(u, "employeeType", "Contractor")],
  ["engineering-other", "acme-engineering-misc", (u) => is(u, "department", "Engineering")],
  ["it", "acme-it", (u) => inGroup(u, (g) => g === "it-helpdesk" || g === "it-admins")],
  ["people", "acme-people", (u) => any(u, "department", (v) => v.toLowerCase() === "human resources")],
  ["marketing", "acme-marketing", (u) => oneOf(u, "department", ["Marketing", "Communications"])],
  ["staff", "acme", (u, domain) => domain === "acme.com"],
];

const GROUPS = [
  ["managers", "all-managers", (u) => any(u, "title", (v) => re.manager.test(v))],
  ["emea", "emea-staff", (u) => is(u, "region", "EMEA") || oneOf(u, "country", ["DE", "FR", "GB", "NL", "ES", "IT", "SE"])],
  ["vpn", "vpn-full", (u) => inGroup(u, (g) => g === "vpn-users") && !is(u, "employeeType", "Contractor")],
];

export function decideUser(user) {
  const domain = emailDomain(user);
  const groups = GROUPS.filter(([name, group, when]) => trace.check(name, `member of ${group}`, when(user, domain)))
    .map(([, group]) => group);
  for (const [name, organization, when] of RULES) {
    if (trace.check(name, `goes to ${organization}`, when(user, domain))) {
      return { organization, rule: name, groups };
    }
  }
  trace.note("fallback", "no rule matched: the fallback organization");
  return { organization: "acme-general", rule: "fallback", groups };
}
