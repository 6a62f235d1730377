//! The fixture files, run natively and through the real engine on the compiled module.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

use muster_harness::Subject;

#[test]
fn fixtures_pass_natively() {
    muster_harness::native!(default_organization::DefaultOrganization { user_rules, group_rules })
        .run(["fixtures"])
        .assert_passed();
}

#[test]
fn fixtures_pass_through_the_engine() {
    muster_harness::Wasm::built("default_organization").run(["fixtures"]).assert_passed();
}
