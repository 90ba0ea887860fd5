//! Waivers (LANGUAGE.md §8): a waived finding is listed as waived and fails nothing; a waiver
//! past its `until` (as of `--today`) no longer applies and is a warning; within 30 days of its
//! end it is a note; a waiver that waives nothing is a stale-waiver warning.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use common::caveat;

const POLICIES: &str = "tests/review/policies";
const RECORDS: &str = "tests/review/records.yaml";

fn check(today: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["check", "--today", today, POLICIES, RECORDS];
    args.extend_from_slice(extra);
    let out = caveat(&args);
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_waived_finding_is_listed_with_its_reason_and_fails_nothing() {
    let (code, stdout, stderr) = check("2019-01-15", &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    insta::assert_snapshot!("waived_human", stdout);
    // The waiver for a record without a finding is stale; none expires within 30 days.
    insta::assert_snapshot!("waived_stderr", stderr);
}

#[test]
fn waived_findings_in_json_carry_the_waiver() {
    let (code, stdout, _) = check("2019-01-15", &["--format", "json"]);
    assert_eq!(code, Some(0));
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let waived: Vec<&serde_json::Value> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["effect"] == "waived")
        .collect();
    assert_eq!(waived.len(), 2);
    assert_eq!(waived[0]["record"], "N-2018-0812");
    assert_eq!(waived[0]["waiver"]["effect"], "warn");
    assert_eq!(waived[1]["record"], "AF-2018-1114");
    assert_eq!(waived[1]["waiver"]["reason"], "SOCOM training need");
    assert_eq!(waived[1]["waiver"]["by"], "OSD A&S");
    assert_eq!(waived[1]["waiver"]["until"], "2019-06-28");
    assert_eq!(json["summary"]["waived"], 2);
    assert_eq!(json["warnings"][0]["code"], "caveat::waiver::stale");
}

#[test]
fn on_its_last_day_a_waiver_applies_and_is_a_note() {
    let (code, stdout, stderr) = check("2019-06-28", &["--format", "jsonl"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains(r#"{"rule":"dod-2018-memo","effect":"waived","record":"AF-2018-1114""#),
        "{stdout}"
    );
    assert!(
        !stdout.contains(r#"{"rule":"dod-2018-memo","effect":"deny""#),
        "{stdout}"
    );
    assert!(
        stderr.contains("the waiver of `dod-2018-memo` expires today"),
        "{stderr}"
    );
}

#[test]
fn after_its_until_date_a_waiver_no_longer_applies_and_is_a_warning() {
    let (code, stdout, stderr) = check("2019-06-29", &["--format", "jsonl"]);
    assert_eq!(code, Some(1), "the finding is a deny again");
    assert!(
        stdout.contains(r#"{"rule":"dod-2018-memo","effect":"deny","record":"AF-2018-1114""#),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#"{"warning":{"code":"caveat::waiver::expired""#),
        "{stdout}"
    );
    insta::assert_snapshot!("expired_stderr", stderr);
}

#[test]
fn waiver_warnings_fail_the_check_with_fail_on_warn() {
    // No finding at all: only the stale waiver can make the check fail.
    let dir = common::scratch(
        "waivers/fail_on_warn",
        &[
            (
                "p.policy",
                "rule r { deny vendor DJI }\nwaive r for id == \"x\" until 2030-01-01 because \"old\"\n",
            ),
            ("d.yaml", "- {id: a, vendor: Parrot}\n"),
        ],
    );
    let run = |extra: &[&str]| {
        let mut args = vec!["check", "--today", "2019-01-15", "--format", "json"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["p.policy", "d.yaml"]);
        common::caveat_in(&dir, &args).status.code()
    };
    assert_eq!(run(&[]), Some(0));
    assert_eq!(run(&["--fail-on", "warn"]), Some(1));
}

#[test]
fn a_waiver_of_an_unknown_rule_is_a_policy_error() {
    let dir = common::scratch(
        "waivers/unknown",
        &[(
            "p.policy",
            "rule dod-2018-memo { deny vendor DJI }\nwaive dod-2018-mem for id == \"x\" until 2019-01-01 because \"x\"\n",
        )],
    );
    let out = common::caveat_in(&dir, &["check", "p.policy"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(String::from_utf8(out.stderr).unwrap());
}

/// Files of the same name in two folders would give their unnamed rules the same id, and a
/// waiver of that id would cover only one of them: the ids clash, as LANGUAGE.md §2 says.
#[test]
fn unnamed_rules_that_get_the_same_id_are_a_policy_error() {
    let dir = common::scratch(
        "waivers/same_stem",
        &[
            ("a/x.policy", "deny vendor DJI\n"),
            ("b/x.policy", "warn vendor Parrot\n"),
            (
                "w.policy",
                "waive x:1 for vendor exists until 2030-01-01 because \"?\"\n",
            ),
            (
                "d.yaml",
                "- {id: p, vendor: Parrot}\n- {id: d, vendor: DJI}\n",
            ),
        ],
    );
    let out = common::caveat_in(&dir, &["check", "a", "b", "w.policy", "d.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "two rules outside a block get the id `x:1`, from `a/x.policy` and `b/x.policy`"
        ),
        "{stderr}"
    );
}

/// A waiver reads its rule's own lets, in a rule of one record as in a group rule (a let that
/// only the waiver reads included), whatever the reader.
#[test]
fn a_waiver_reads_the_lets_of_its_rule() {
    let policy = "rule p {\n  let dbl = amount * 2\n  let small = quantity < 5\n  warn when dbl > 10\n}\n\
                  waive p for dbl < 100 and small until 2030-01-01 because \"small\"\n";
    for (data, text) in [
        (
            "d.yaml",
            "- {id: a, amount: 20, quantity: 2}\n- {id: b, amount: 20, quantity: 9}\n- {id: c, amount: 80, quantity: 1}\n",
        ),
        (
            "d.jsonl",
            "{\"id\": \"a\", \"amount\": 20, \"quantity\": 2}\n{\"id\": \"b\", \"amount\": 20, \"quantity\": 9}\n{\"id\": \"c\", \"amount\": 80, \"quantity\": 1}\n",
        ),
    ] {
        let dir = common::scratch("waivers/lets", &[("w.policy", policy), (data, text)]);
        let out = common::caveat_in(
            &dir,
            &[
                "check",
                "--today",
                "2019-01-01",
                "--format",
                "jsonl",
                "w.policy",
                data,
            ],
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let effects: Vec<(String, String)> = stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|f| f.get("rule").is_some())
            .map(|f| {
                (
                    f["record"].as_str().unwrap().to_string(),
                    f["effect"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            effects,
            [("a", "waived"), ("b", "warn"), ("c", "warn")]
                .map(|(r, e)| (r.to_string(), e.to_string())),
            "{data}: {stdout}"
        );
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(!stderr.contains("stale"), "{stderr}");
    }
}
