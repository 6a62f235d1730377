//! The people both load generators log in and provision: the department, e-mail domain and
//! title mix the demo realm's rules (`docs/demo/user-rules.json`) decide on, drawn from one
//! deterministic generator so the same index is the same person in both.

use crate::rng::SplitMix64;

/// Departments: about a third Sales, a third Engineering, the rest spread over the others.
pub const DEPARTMENTS: [&str; 6] = ["Sales", "Engineering", "Finance", "Support", "Marketing", "People"];

/// Titles of people who are not managers.
const TITLES: [&str; 7] = [
    "Account Executive",
    "Software Engineer",
    "Senior Software Engineer",
    "Analyst",
    "Support Specialist",
    "Recruiter",
    "Staff Engineer",
];

/// What the rules look at first.
pub struct Person {
    /// `Sales`, `Engineering`, …
    pub department: &'static str,
    /// `acme.com`, or one in twenty at `partner.example`.
    pub domain: &'static str,
    /// One in five a manager.
    pub title: &'static str,
}

/// The next person from `random`.
pub fn person(random: &mut SplitMix64) -> Person {
    let department = match random.below(20) {
        0..=6 => "Sales",
        7..=13 => "Engineering",
        n => DEPARTMENTS[2 + n as usize % 4],
    };
    let domain = if random.below(20) == 0 { "partner.example" } else { "acme.com" };
    let title = match (random.below(5), department) {
        (0, "Sales") => "Regional Sales Manager",
        (0, "Engineering") => "Engineering Manager",
        (0, _) => "Department Manager",
        _ => TITLES[random.below(TITLES.len() as u64) as usize],
    };
    Person { department, domain, title }
}
