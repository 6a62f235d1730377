// The stock `contractors` module, in JavaScript: `context.config` holds that module's settings
// document, and this script decides exactly as it does (tests/fixtures.rs runs the module's own
// fixture file against it).

export function decideUser(user, context) {
  const settings = context.config;
  const attribute = (name) => user.attributes[name] ?? [];

  const terminated = attribute("employee_type").some((type) => type.toLowerCase() === "terminated");
  if (trace.check("terminated", 'employee_type is "terminated"', terminated)) {
    return { organization: null, rule: "terminated" };
  }

  const domain = emailDomain(user) ?? "";
  const departments = attribute("department");
  if (trace.check("contractors", `"${domain}" is a contractor domain`, settings.contractor_domains.includes(domain))) {
    const blocked = departments.find((department) => (settings.blocked_departments ?? []).includes(department));
    if (blocked !== undefined) {
      trace.note("blocked department", `contractors in ${blocked} are blocked`);
      return { organization: null, rule: "blocked department" };
    }
    return { organization: settings.contractors, rule: "contractors", groups: ["contractors"] };
  }

  if (trace.check("employees", `"${domain}" is an employee domain`, settings.employee_domains.includes(domain))) {
    const groups = ["employees"];
    if (trace.check("engineering", 'department is "Engineering"', departments.includes("Engineering"))) {
      groups.push("engineering");
    }
    return { organization: settings.employees, rule: "employees", groups };
  }

  trace.note(null, `"${domain}" is neither an employee nor a contractor domain: blocked`);
  return { organization: null };
}
