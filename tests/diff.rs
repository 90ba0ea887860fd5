//! `caveat diff`: the records whose outcomes a policy change changes, from two policy folders or
//! from a git revision of the policies.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use common::{caveat, caveat_in, scratch};

const BASE: &str = "tests/review/diff/base";
const HEAD: &str = "tests/review/diff/head";
const RECORDS: &str = "tests/review/diff/records.yaml";

/// The fixture's edit tightens a date (a record is newly denied), adds an exemption (a record's
/// deny is resolved), and turns a warning into a deny with a new message.
#[test]
fn a_policy_edit_gives_exactly_these_changes() {
    let out = caveat(&[
        "diff",
        "--today",
        "2026-12-05",
        "--base",
        BASE,
        "--head",
        HEAD,
        RECORDS,
    ]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn the_same_changes_in_json() {
    let out = caveat(&[
        "diff",
        "--today",
        "2026-12-05",
        "--base",
        BASE,
        "--head",
        HEAD,
        "--format",
        "json",
        RECORDS,
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let changes: Vec<(String, String, String)> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["rule"].as_str().unwrap().to_string(),
                c["record"].as_str().unwrap().to_string(),
                c["change"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("dod-2018-memo", "A-2017-0905", "new"),
        ("dod-2018-memo", "N-2018-0915", "resolved"),
        ("large-buy", "AF-2018-1114", "changed"),
    ];
    assert_eq!(
        changes,
        expected.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );
    assert_eq!(json["changes"][0]["base"], serde_json::Value::Null);
    assert_eq!(json["changes"][0]["head"]["effect"], "deny");
    assert_eq!(json["changes"][2]["base"]["effect"], "warn");
    assert_eq!(
        json["changes"][2]["head"]["message"],
        "49350 is over the 40000 limit"
    );
    assert_eq!(
        json["summary"],
        serde_json::json!({"records": 5, "records_changed": 3, "new": 1, "resolved": 1, "changed": 1})
    );
}

#[test]
fn no_change_and_exit_code() {
    let out = caveat(&[
        "diff",
        "--today",
        "2026-12-05",
        "--base",
        BASE,
        "--head",
        BASE,
        "--exit-code",
        RECORDS,
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "outcomes as of 2026-12-05 (--today)\n\n0 of 5 records change: 0 new, 0 resolved, 0 changed\n"
    );
    let out = caveat(&[
        "diff",
        "--today",
        "2026-12-05",
        "--base",
        BASE,
        "--head",
        HEAD,
        "--exit-code",
        RECORDS,
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_git_revision_as_base_is_read_without_touching_the_work_tree() {
    let base = std::fs::read_to_string(format!("{BASE}/dod.policy")).unwrap();
    let head = std::fs::read_to_string(format!("{HEAD}/dod.policy")).unwrap();
    let records = std::fs::read_to_string(RECORDS).unwrap();
    let dir = scratch(
        "diff/git",
        &[
            ("policies/dod.policy", &base),
            ("data/records.yaml", &records),
        ],
    );
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "base"]);
    std::fs::write(dir.join("policies/dod.policy"), &head).unwrap();
    let out = caveat_in(
        &dir,
        &[
            "diff",
            "--today",
            "2026-12-05",
            "--base",
            "HEAD",
            "--head",
            "policies",
            "data/records.yaml",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.ends_with("3 of 5 records change: 1 new, 1 resolved, 1 changed\n"),
        "{text}"
    );
    // The work tree still holds the head version.
    assert_eq!(
        std::fs::read_to_string(dir.join("policies/dod.policy")).unwrap(),
        head
    );
    let out = caveat_in(
        &dir,
        &[
            "diff",
            "--today",
            "2026-12-05",
            "--base",
            "no-such-rev",
            "--head",
            "policies",
            "data/records.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("`no-such-rev` is neither a path nor a git revision")
    );
    // A policy file added since the revision: the base has no such rules.
    std::fs::write(dir.join("policies/extra.policy"), "deny vendor Parrot\n").unwrap();
    let out = caveat_in(
        &dir,
        &[
            "diff",
            "--today",
            "2026-12-05",
            "--base",
            "HEAD",
            "--head",
            "policies/extra.policy",
            "data/records.yaml",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "outcomes as of 2026-12-05 (--today)\n\nextra:1: 1 new\n  + deny   P-2018-0101: matched `vendor Parrot` (data/records.yaml:17:11)\n\n\
         1 of 5 records change: 1 new, 0 resolved, 0 changed\n"
    );
    // Diagnostics about the revision's files name them `REV:PATH`.
    std::fs::write(dir.join("policies/dod.policy"), "deny vendor\n").unwrap();
    git(&["commit", "-q", "-a", "-m", "broken"]);
    std::fs::write(dir.join("policies/dod.policy"), &head).unwrap();
    let out = caveat_in(
        &dir,
        &[
            "diff",
            "--today",
            "2026-12-05",
            "--base",
            "HEAD",
            "--head",
            "policies",
            "data/records.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("[HEAD:policies/dod.policy:1:"), "{stderr}");
    assert!(!stderr.contains("caveat-diff-"), "{stderr}");
}

/// A rule that reads `all.` on one side only is found once every record is read on that side and
/// as each record is read on the other: its findings of a record are still paired.
#[test]
fn a_rule_that_starts_reading_all_is_paired_record_by_record() {
    let dir = scratch(
        "diff-mixed-all",
        &[
            ("base.policy", "rule r { deny when amount > 10 }\n"),
            (
                "head.policy",
                "rule r {\n  let a = amount\n  deny when a > 3 and count(all.a) > 0\n}\n",
            ),
            ("d.yaml", "- {id: R1, amount: 20}\n- {id: R2, amount: 5}\n"),
        ],
    );
    let out = common::diff_in(&dir, "base.policy", "head.policy", &["d.yaml"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("r: 1 new\n  + deny   R2:"), "{text}");
    assert!(
        text.contains("1 of 2 records change: 1 new, 0 resolved, 0 changed"),
        "{text}"
    );
}
