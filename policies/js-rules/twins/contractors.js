// The stock `contractors` module, in JavaScript: `context.config` holds that module's settings
// document, and this script checks it and decides exactly as that module does (tests/fixtures.rs
// runs the module's own fixture file against it, settings errors included).

const FIELDS = ["employee_domains", "contractor_domains", "employees", "contractors", "blocked_departments"];

// The module's settings checks, in its order: the document's shape, then organizations named,
// domains in lower case, and no domain on both lists.
export function validateConfig(config) {
  for (const key of Object.keys(config ?? {})) {
    if (!FIELDS.includes(key)) throw new ConfigError(key, `unknown field \`${key}\`, expected one of ${FIELDS.join(", ")}`);
  }
  for (const list of ["employee_domains", "contractor_domains"]) {
    if (!Array.isArray(config?.[list])) throw new ConfigError("", `missing field \`${list}\``);
  }
  for (const name of ["employees", "contractors"]) {
    if (typeof config[name] !== "string") throw new ConfigError("", `missing field \`${name}\``);
    if (config[name].trim() === "") throw new ConfigError(name, "must name an organization");
  }
  for (const list of ["employee_domains", "contractor_domains"]) {
    config[list].forEach((domain, i) => {
      if (domain === "" || domain !== domain.toLowerCase()) {
        throw new ConfigError(`${list}[${i}]`, "must be a lower-case domain such as acme.com");
      }
    });
  }
  const both = config.contractor_domains.findIndex((domain) => config.employee_domains.includes(domain));
  if (both >= 0) throw new ConfigError(`contractor_domains[${both}]`, "is also an employee domain");
}

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
