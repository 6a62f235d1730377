//! Golden bytes: the exact postcard encoding of every type that crosses the host/module boundary.
//!
//! **These bytes are the ABI.** A module built against one version of `muster-wire` must be read
//! correctly by an engine built against another, so the encoding may not change by accident. Each
//! test below builds one value, checks that `codec::encode` gives exactly the bytes written out
//! here, and that `codec::decode` of those bytes gives the value back.
//!
//! If a test fails because a field was reordered, renamed, retyped, added or removed (or an enum
//! variant was added, removed or moved), that is an ABI change, not a test to fix up:
//!
//! 1. bump `ABI_VERSION` in `src/abi.rs` (and `abi_version_is_1` below with it);
//! 2. update `docs/abi.md` (the type listing and the version);
//! 3. only then regenerate the bytes here.
//!
//! (Postcard does not encode names, so a rename shows up as this file failing to compile rather
//! than as different bytes; it is still a change to the contract `docs/abi.md` describes.)
//!
//! The expected bytes are hex, one segment per field with a comment saying what it holds; spaces
//! are ignored. Postcard in brief: integers are varints, strings and sequences are a varint length
//! followed by their items (a string's items are its UTF-8 bytes), `Option` is `00` or `01` and the
//! value, enum variants are their varint index followed by their data, struct fields follow one
//! another in declaration order with no names or tags, maps are a length and key/value pairs.
//! Composite types reuse the segments of their parts.

#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

use std::collections::BTreeMap;
use std::fmt::Debug;

use muster_wire::abi::{ABI_VERSION, OutputSlice};
use muster_wire::codec::{decode, encode, encode_group_request, encode_user_request};
use muster_wire::{
    Context, GroupAssignment, GroupDecision, GroupRequest, GuestError, MissingEntries, Outcome, Response,
    SettingsError, TraceStep, Trigger, User, UserDecision, UserRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

// ---------------------------------------------------------------------------------------------
// Helpers

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// The golden segments as one hex string without spaces.
fn golden_hex(golden: &[&str]) -> String {
    golden.concat().chars().filter(|c| !c.is_whitespace()).collect()
}

fn unhex(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "golden hex has an odd number of digits: {hex}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or_else(|_| panic!("not hex at {i} in {hex}")))
        .collect()
}

// Asserts `value` encodes to exactly `golden` and that `golden` decodes back to `value`;
// on a mismatch, prints both as hex.
#[track_caller]
fn assert_golden<T>(value: &T, golden: &[&str])
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let type_name = std::any::type_name::<T>();
    let expected = golden_hex(golden);
    let actual = hex(&encode(value).unwrap());
    if actual != expected {
        let first_difference = expected.as_bytes().iter().zip(actual.as_bytes()).position(|(e, a)| e != a);
        let at = first_difference.unwrap_or(expected.len().min(actual.len())) / 2;
        panic!(
            "the encoding of {type_name} changed: this is an ABI change (see the top of tests/golden_bytes.rs)\n\
             expected: {expected}\n\
             actual:   {actual}\n\
             first difference at byte {at}; value: {value:?}"
        );
    }
    let decoded: T = decode(&unhex(&expected))
        .unwrap_or_else(|e| panic!("the golden bytes of {type_name} no longer decode ({e})\nbytes: {expected}"));
    assert_eq!(&decoded, value, "the golden bytes of {type_name} decode to a different value\nbytes: {expected}");
}

fn s(text: &str) -> String {
    text.into()
}

// ---------------------------------------------------------------------------------------------
// Values and their bytes. Every field is set to something other than its default.

fn context() -> Context {
    Context { realm: s("okta"), trigger: Trigger::ScimGroupChange }
}

const CONTEXT: &[&str] = &[
    "04 6f6b7461", // realm: "okta"
    "03",          // trigger: scim_group_change (variant 3)
];

fn user() -> User {
    User {
        user_name: s("zoë@ex.io"),
        external_id: Some(s("00u1")),
        email: Some(s("z@ex.io")),
        attributes: BTreeMap::from([(s("dept"), vec![s("Sales"), s("EMEA")]), (s("title"), vec![s("VP"), s("CEO")])]),
        provider_groups: vec![s("sales"), s("all")],
        internal_groups: vec![s("beta"), s("ops")],
    }
}

const USER: &[&str] = &[
    "0a 7a6fc3ab4065782e696f",      // user_name: "zoë@ex.io", 10 UTF-8 bytes (ë = c3 ab)
    "01 04 30307531",               // external_id: Some("00u1")
    "01 07 7a4065782e696f",         // email: Some("z@ex.io")
    "02",                           // attributes: 2 entries, in key order
    "04 64657074",                  //   key "dept"
    "02 05 53616c6573 04 454d4541", //   value ["Sales", "EMEA"]
    "05 7469746c65",                //   key "title"
    "02 02 5650 03 43454f",         //   value ["VP", "CEO"]
    "02 05 73616c6573 03 616c6c",   // provider_groups: ["sales", "all"]
    "02 04 62657461 03 6f7073",     // internal_groups: ["beta", "ops"]
];

const SETTINGS: &[u8] = &[0x01, 0xff];

const SETTINGS_BYTES: &[&str] = &[
    "02 01ff", // settings: 2 raw bytes (a byte string, not varints: ff stays one byte)
];

fn user_decision() -> UserDecision {
    UserDecision { organization: Some(s("acme")), rule: Some(s("r1")), groups: vec![s("g1"), s("g2")] }
}

const USER_DECISION: &[&str] = &[
    "01 04 61636d65",     // organization: Some("acme")
    "01 02 7231",         // rule: Some("r1")
    "02 02 6731 02 6732", // groups: ["g1", "g2"]
];

fn group_assignments() -> Vec<GroupAssignment> {
    vec![
        GroupAssignment { group: s("sales"), organizations: vec![s("acme"), s("globex")], rule: Some(s("r2")) },
        GroupAssignment { group: s("all"), organizations: vec![s("acme"), s("hooli")], rule: Some(s("r3")) },
    ]
}

const GROUP_ASSIGNMENT_SALES: &[&str] = &[
    "05 73616c6573",                  // group: "sales"
    "02 04 61636d65 06 676c6f626578", // organizations: ["acme", "globex"]
    "01 02 7232",                     // rule: Some("r2")
];

const GROUP_ASSIGNMENT_ALL: &[&str] = &[
    "03 616c6c",                    // group: "all"
    "02 04 61636d65 05 686f6f6c69", // organizations: ["acme", "hooli"]
    "01 02 7233",                   // rule: Some("r3")
];

fn settings_error() -> SettingsError {
    SettingsError { path: s("/rules/3"), message: s("bad") }
}

const SETTINGS_ERROR: &[&str] = &[
    "08 2f72756c65732f33", // path: "/rules/3"
    "03 626164",           // message: "bad"
];

fn trace() -> Vec<TraceStep> {
    vec![
        TraceStep { rule: Some(s("r1")), check: s("dept=Sales"), outcome: Outcome::Matched },
        TraceStep { rule: Some(s("r2")), check: s("vip"), outcome: Outcome::NotMatched },
    ]
}

const TRACE: &[&str] = &[
    "02",                      // 2 steps
    "01 02 7231",              //   rule: Some("r1")
    "0a 646570743d53616c6573", //   check: "dept=Sales"
    "00",                      //   outcome: matched
    "01 02 7232",              //   rule: Some("r2")
    "03 766970",               //   check: "vip"
    "01",                      //   outcome: not_matched
];

// ---------------------------------------------------------------------------------------------
// The version these bytes belong to.

#[test]
fn abi_version_is_1() {
    // The bytes in this file are ABI version 1. Bumping the version means the encoding changed:
    // update the bytes below (and docs/abi.md) to the new encoding, then this number.
    assert_eq!(ABI_VERSION, 1);
}

// ---------------------------------------------------------------------------------------------
// Requests

#[test]
fn trigger_every_variant() {
    assert_golden(&Trigger::Login, &["00"]);
    assert_golden(&Trigger::ScimCreate, &["01"]);
    assert_golden(&Trigger::ScimUpdate, &["02"]);
    assert_golden(&Trigger::ScimGroupChange, &["03"]);
    assert_golden(&Trigger::ScimReactivate, &["04"]);
    assert_golden(&Trigger::DryRun, &["05"]);
}

#[test]
fn context_fully_populated() {
    assert_golden(&context(), CONTEXT);
}

#[test]
fn context_default() {
    assert_golden(&Context::default(), &["00", "00"]);
}

#[test]
fn user_fully_populated() {
    assert_golden(&user(), USER);
}

#[test]
fn user_empty() {
    assert_golden(
        &User::default(),
        &[
            "00", // user_name: ""
            "00", // external_id: None
            "00", // email: None
            "00", // attributes: no entries
            "00", // provider_groups: []
            "00", // internal_groups: []
        ],
    );
}

#[test]
fn user_request_fully_populated() {
    let request = UserRequest { context: context(), settings: SETTINGS.to_vec(), user: user() };
    let golden = [CONTEXT, SETTINGS_BYTES, USER].concat();
    assert_golden(&request, &golden);
    // The host encodes requests from borrowed parts; those bytes must be the same.
    assert_eq!(hex(&encode_user_request(&context(), SETTINGS, &user()).unwrap()), golden_hex(&golden));
}

#[test]
fn group_request_fully_populated() {
    let groups = vec![s("sales"), s("all")];
    let request = GroupRequest { context: context(), settings: SETTINGS.to_vec(), groups: groups.clone() };
    let golden = [
        CONTEXT,
        SETTINGS_BYTES,
        &[
            "02 05 73616c6573 03 616c6c", // groups: ["sales", "all"]
        ],
    ]
    .concat();
    assert_golden(&request, &golden);
    assert_eq!(hex(&encode_group_request(&context(), SETTINGS, &groups).unwrap()), golden_hex(&golden));
}

// ---------------------------------------------------------------------------------------------
// Decisions and errors

#[test]
fn user_decision_fully_populated() {
    assert_golden(&user_decision(), USER_DECISION);
}

#[test]
fn user_decision_no_organization() {
    assert_golden(
        &UserDecision::default(),
        &[
            "00", // organization: None (No organization: the login is blocked)
            "00", // rule: None
            "00", // groups: []
        ],
    );
}

#[test]
fn group_assignment_fully_populated() {
    assert_golden(&group_assignments()[0], GROUP_ASSIGNMENT_SALES);
}

#[test]
fn group_assignment_no_organization() {
    assert_golden(
        &GroupAssignment { group: s("all"), organizations: vec![], rule: None },
        &[
            "03 616c6c", // group: "all"
            "00",        // organizations: [] (No organization)
            "00",        // rule: None
        ],
    );
}

#[test]
fn group_decision_fully_populated() {
    let golden = [&["02"], GROUP_ASSIGNMENT_SALES, GROUP_ASSIGNMENT_ALL].concat(); // groups: 2 assignments
    assert_golden(&GroupDecision { groups: group_assignments() }, &golden);
}

#[test]
fn group_decision_empty() {
    assert_golden(&GroupDecision::default(), &["00"]);
}

#[test]
fn settings_error_fully_populated() {
    assert_golden(&settings_error(), SETTINGS_ERROR);
}

#[test]
fn missing_entries_every_shape() {
    assert_golden(&MissingEntries::default(), &["00", "00"]); // user_rules: None, group_rules: None
    assert_golden(
        &MissingEntries { user_rules: None, group_rules: Some(settings_error()) },
        &[&["00", "01"], SETTINGS_ERROR].concat(), // user_rules: None, group_rules: Some(…)
    );
}

#[test]
fn guest_error_every_variant() {
    assert_golden(&GuestError::Settings(settings_error()), &[&["00"], SETTINGS_ERROR].concat());
    assert_golden(
        &GuestError::Request(s("eof")),
        &[
            "01",        // variant 1: Request
            "03 656f66", // "eof"
        ],
    );
    assert_golden(
        &GuestError::Rule(s("boom")),
        &[
            "02",          // variant 2: Rule
            "04 626f6f6d", // "boom"
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Traces

#[test]
fn outcome_every_variant() {
    assert_golden(&Outcome::Matched, &["00"]);
    assert_golden(&Outcome::NotMatched, &["01"]);
    assert_golden(&Outcome::Note, &["02"]);
}

#[test]
fn trace_step_every_outcome() {
    let step = |outcome| TraceStep { rule: Some(s("r1")), check: s("vip"), outcome };
    let golden = |outcome| {
        [
            "01 02 7231", // rule: Some("r1")
            "03 766970",  // check: "vip"
            outcome,      // outcome
        ]
    };
    assert_golden(&step(Outcome::Matched), &golden("00"));
    assert_golden(&step(Outcome::NotMatched), &golden("01"));
    assert_golden(&step(Outcome::Note), &golden("02"));
}

#[test]
fn trace_step_without_rule() {
    assert_golden(
        &TraceStep { rule: None, check: s("fallback"), outcome: Outcome::Note },
        &[
            "00",                  // rule: None
            "08 66616c6c6261636b", // check: "fallback"
            "02",                  // outcome: note
        ],
    );
}

#[test]
fn trace_fully_populated() {
    assert_golden(&trace(), TRACE);
}

// ---------------------------------------------------------------------------------------------
// Responses (`result` is a `Result`: variant 0 is Ok, variant 1 is Err)

#[test]
fn response_user_decision_ok() {
    let response = Response { result: Ok(user_decision()), trace: trace() };
    assert_golden(&response, &[&["00"], USER_DECISION, TRACE].concat());
}

#[test]
fn response_user_decision_err() {
    let response: Response<UserDecision> = Response { result: Err(GuestError::Rule(s("boom"))), trace: trace() };
    let golden = [
        &[
            "01",          // result: Err
            "02",          //   GuestError::Rule
            "04 626f6f6d", //   "boom"
        ],
        TRACE,
    ]
    .concat();
    assert_golden(&response, &golden);
}

#[test]
fn response_group_decision_ok() {
    let response = Response { result: Ok(GroupDecision { groups: group_assignments() }), trace: trace() };
    let golden = [&["00", "02"], GROUP_ASSIGNMENT_SALES, GROUP_ASSIGNMENT_ALL, TRACE].concat(); // Ok, 2 groups
    assert_golden(&response, &golden);
}

#[test]
fn response_group_decision_err() {
    let response: Response<GroupDecision> = Response { result: Err(GuestError::Request(s("eof"))), trace: trace() };
    let golden = [
        &[
            "01",        // result: Err
            "01",        //   GuestError::Request
            "03 656f66", //   "eof"
        ],
        TRACE,
    ]
    .concat();
    assert_golden(&response, &golden);
}

#[test]
fn response_prepared_settings_ok() {
    // `muster_prepare_settings` answers `Response<Vec<u8>>`; a `Vec<u8>` encodes like a byte
    // string: its length, then one byte per element.
    let response = Response { result: Ok(SETTINGS.to_vec()), trace: trace() };
    assert_golden(&response, &[&["00"], SETTINGS_BYTES, TRACE].concat());
}

#[test]
fn response_prepared_settings_err() {
    let response: Response<Vec<u8>> = Response { result: Err(GuestError::Settings(settings_error())), trace: trace() };
    let golden = [
        &[
            "01", // result: Err
            "00", //   GuestError::Settings
        ],
        SETTINGS_ERROR,
        TRACE,
    ]
    .concat();
    assert_golden(&response, &golden);
}

#[test]
fn response_with_empty_trace() {
    let response = Response { result: Ok(UserDecision::default()), trace: vec![] };
    assert_golden(
        &response,
        &[
            "00",       // result: Ok
            "00 00 00", //   UserDecision { organization: None, rule: None, groups: [] }
            "00",       // trace: []
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Lengths and the packed return value

#[test]
fn lengths_from_128_take_a_two_byte_varint() {
    let context = Context { realm: "r".repeat(200), trigger: Trigger::Login };
    let realm = "72".repeat(200);
    assert_golden(
        &context,
        &[
            "c8 01", // realm: length 200 = 0x48 + 1 * 128: 0x48 with the continuation bit (0xc8), then 0x01
            &realm,  //   200 × "r"
            "00",    // trigger: login
        ],
    );
}

#[test]
fn output_slice_packs_ptr_high_and_len_low() {
    // `OutputSlice` is not postcard-encoded: it is the `i64` an entry point returns.
    let slice = OutputSlice { ptr: 0x0001_0000, len: 0x2a };
    assert_eq!(slice.pack(), 0x0001_0000_0000_002a);
    assert_eq!(OutputSlice::unpack(0x0001_0000_0000_002a), slice);
    // Addresses from 2 GiB up give a negative i64; the bits are what count.
    let high = OutputSlice { ptr: 0xffff_0010, len: 0x8000_0001 };
    assert_eq!(high.pack(), 0xffff_0010_8000_0001_u64.cast_signed());
    assert_eq!(OutputSlice::unpack(0xffff_0010_8000_0001_u64.cast_signed()), high);
}

#[test]
fn trailing_bytes_are_refused() {
    // The golden bytes are the whole message: decoding does not ignore anything after them.
    let mut bytes = unhex(&golden_hex(USER_DECISION));
    bytes.push(0);
    assert!(decode::<UserDecision>(&bytes).is_err());
}
