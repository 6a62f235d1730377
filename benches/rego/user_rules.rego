# The 20-rule workload of the user-rules benchmark (benches/src/lib.rs, `settings_json`),
# written as a Rego policy for regorus: the same rules in the same order, first match wins
# (an `else` chain), the same fallback and the same rule-based groups.
#
# Input: a user as the wire type's JSON form
#   {"user_name", "external_id", "email", "attributes": {name: [values]},
#    "provider_groups": [..], "internal_groups": [..]}
# Decision: data.muster.user_rules.decision = {"organization", "rule", "groups"}
package muster.user_rules

import rego.v1

# --- tests, as in the user-rules policy -------------------------------------------------------

# Some value of the attribute equals `value` (case-sensitive).
attr_equals(name, value) if {
	some v in input.attributes[name]
	v == value
}

# Some value of the attribute equals `value` ignoring case.
attr_equals_ignore_case(name, value) if {
	some v in input.attributes[name]
	lower(v) == lower(value)
}

# Some value of the attribute is one of `values` (a set).
attr_in(name, values) if {
	some v in input.attributes[name]
	v in values
}

# Some value of the attribute matches `pattern` anywhere.
attr_regex(name, pattern) if {
	some v in input.attributes[name]
	regex.match(pattern, v)
}

# The attribute has at least one value.
attr_present(name) if count(input.attributes[name]) > 0

# The user's provider groups as a set, built once per evaluation, so exact tests are lookups
# rather than scans (the efficient way to write them in Rego).
provider_groups := {g | some g in input.provider_groups}

group_equals(value) if value in provider_groups

group_in(values) if count(provider_groups & values) > 0

group_regex(pattern) if {
	some g in input.provider_groups
	regex.match(pattern, g)
}

# The e-mail address, else the user name; its domain (after the last `@`), lower-cased.
address := input.email if input.email != null
else := input.user_name

email_domain := lower(parts[count(parts) - 1]) if {
	parts := split(address, "@")
	count(parts) > 1
}

# --- `any` operands ---------------------------------------------------------------------------

sales_amer_location if attr_equals("region", "AMER")

sales_amer_location if attr_in("country", {"US", "CA", "MX", "BR"})

finance_member if attr_in("department", {"Finance", "Accounting", "Treasury"})

finance_member if group_equals("finance-all")

emea_member if attr_equals("region", "EMEA")

emea_member if attr_in("country", {"DE", "FR", "GB", "NL", "ES", "IT", "SE"})

# --- organization: first matching rule, else the fallback --------------------------------------

organization_rule := {"organization": "acme-exec", "rule": "executives"} if {
	attr_regex("title", `(?i)^(chief|vp|vice president)\b`)
} else := {"organization": "acme-board", "rule": "board"} if {
	group_in({"board-members", "board-observers"})
} else := {"organization": "acme-contractors", "rule": "contractors"} if {
	attr_in("employeeType", {"Contractor", "Vendor", "Temp"})
} else := {"organization": "acme-interns", "rule": "interns"} if {
	attr_equals("employeeType", "Intern")
	email_domain == "acme.com"
} else := {"organization": "globex", "rule": "globex"} if {
	email_domain in {"globex.com", "globex.co.uk"}
} else := {"organization": "initech", "rule": "initech"} if {
	regex.match(`(^|\.)initech\.(com|io)$`, email_domain)
} else := {"organization": "acme-sales-emea", "rule": "sales-emea"} if {
	attr_equals("department", "Sales")
	attr_equals("region", "EMEA")
} else := {"organization": "acme-sales-apac", "rule": "sales-apac"} if {
	group_regex(`^sales-apac`)
	attr_equals("department", "Sales")
} else := {"organization": "acme-sales-amer", "rule": "sales-amer"} if {
	attr_equals("department", "Sales")
	sales_amer_location
} else := {"organization": "acme-support", "rule": "support"} if {
	group_regex(`^support-l[123]$`)
} else := {"organization": "acme-finance", "rule": "finance"} if {
	finance_member
} else := {"organization": "acme-legal", "rule": "legal"} if {
	attr_regex("costCenter", `^CC-7[0-9]{3}$`)
} else := {"organization": "acme-research", "rule": "research"} if {
	attr_equals("division", "Research")
	not attr_equals("clearance", "none")
} else := {"organization": "acme-security", "rule": "security"} if {
	group_in({"secops", "red-team", "blue-team"})
	attr_present("clearance")
} else := {"organization": "acme-engineering", "rule": "platform-engineering"} if {
	attr_equals("department", "Engineering")
	group_regex(`^eng-(platform|infra)(-|$)`)
	not attr_equals("employeeType", "Contractor")
} else := {"organization": "acme-engineering-misc", "rule": "engineering-other"} if {
	attr_equals("department", "Engineering")
} else := {"organization": "acme-it", "rule": "it"} if {
	group_in({"it-helpdesk", "it-admins"})
} else := {"organization": "acme-people", "rule": "people"} if {
	attr_equals_ignore_case("department", "human resources")
} else := {"organization": "acme-marketing", "rule": "marketing"} if {
	attr_in("department", {"Marketing", "Communications"})
} else := {"organization": "acme", "rule": "staff"} if {
	email_domain == "acme.com"
} else := {"organization": data.muster.config.fallback, "rule": "fallback"}

# --- rule-based groups: every matching entry ----------------------------------------------------

groups contains "all-managers" if attr_regex("title", `(?i)manager|lead|head of`)

groups contains "emea-staff" if emea_member

groups contains "vpn-full" if {
	group_equals("vpn-users")
	not attr_equals("employeeType", "Contractor")
}

decision := {
	"organization": organization_rule.organization,
	"rule": organization_rule.rule,
	"groups": groups,
}
