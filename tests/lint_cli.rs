//! `caveat lint` and the lints at the start of `caveat check`, end to end: exit codes,
//! `--deny warnings`, and reports on stdout kept clean of warnings.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use common::{caveat, caveat_in, scratch};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_lint_error_exits_1_and_names_its_code() {
    let out = caveat(&["lint", "tests/lint/err_unknown_field.policy"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("caveat::lint::unknown_field"), "{err}");
    assert!(err.contains("err_unknown_field.policy:3:57"), "{err}");
    assert!(err.contains("1 error and 0 warnings"), "{err}");
}

#[test]
fn warnings_fail_only_with_deny_warnings() {
    let file = "tests/lint/err_unused_let.policy";
    let out = caveat(&["lint", file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("caveat::lint::unused_let"));
    let out = caveat(&["lint", "--deny", "warnings", file]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn the_shipped_policies_lint_cleanly() {
    let out = caveat(&["lint", "policies", "--deny", "warnings"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

#[test]
fn a_policy_that_does_not_parse_exits_2() {
    let dir = scratch("lint-cli-parse", &[("bad.policy", "deny when\n")]);
    let out = caveat_in(&dir, &["lint", "bad.policy"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn check_stops_on_a_lint_error_before_reading_data() {
    let dir = scratch(
        "lint-cli-check-error",
        &[
            (
                "p.policy",
                "record { vendor: string, amount: number }\nrule big { deny when amount > 2018-01-01 }\n",
            ),
            ("r.yaml", "- {vendor: DJI, amount: 5}\n"),
        ],
    );
    let out = caveat_in(&dir, &["check", "p.policy", "r.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("caveat::lint::type_mismatch"));
}

#[test]
fn check_prints_warnings_on_stderr_and_keeps_json_clean() {
    let dir = scratch(
        "lint-cli-check-warning",
        &[
            (
                "p.policy",
                "let unused = [DJI]\nrule dji { deny vendor DJI }\ndeny vendor Autel\n",
            ),
            ("r.yaml", "- {id: A-1, vendor: DJI}\n"),
        ],
    );
    let out = caveat_in(&dir, &["check", "--format", "json", "p.policy", "r.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["deny"], 1);
    let err = stderr(&out);
    assert!(err.contains("caveat::lint::unused_let"), "{err}");
    // Style lints are for `caveat lint` only.
    assert!(!err.contains("caveat::lint::unnamed_rule"), "{err}");
}

#[test]
fn check_reports_nonconforming_records_in_every_format() {
    let dir = scratch(
        "lint-cli-conformance",
        &[
            ("schema.policy", "record { id: string, amount: number }\n"),
            (
                "p.policy",
                "import \"schema.policy\"\nrule big { deny when amount > 1000 }\n",
            ),
            (
                "r.yaml",
                "- id: A-1\n  amount: lots\n- id: A-2\n  amount: \"2000.00\"\n",
            ),
        ],
    );
    for format in ["human", "json", "sarif", "junit", "tap", "github", "csv"] {
        let out = caveat_in(&dir, &["check", "--format", format, "p.policy", "r.yaml"]);
        assert_eq!(out.status.code(), Some(1), "{format}: {}", stderr(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("schema") && stdout.contains("wrong_type"),
            "{format}: {stdout}"
        );
        assert!(stdout.contains("A-2"), "{format}: {stdout}");
    }
}

/// One thing at a time: an unnamed rule with a mistake gets the mistake's diagnostic only; a
/// clean unnamed rule gets the style warning.
#[test]
fn an_unnamed_rule_with_a_mistake_is_not_also_told_to_get_a_name() {
    let dir = scratch(
        "lint_cli/unnamed",
        &[
            (
                "bad.policy",
                "record { id: string, date: date }\ndeny when date > 100\n",
            ),
            ("clean.policy", "deny vendor DJI\n"),
        ],
    );
    let out = caveat_in(&dir, &["lint", "bad.policy"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("caveat::lint::type_mismatch"), "{err}");
    assert!(!err.contains("unnamed_rule"), "{err}");
    let out = caveat_in(&dir, &["lint", "clean.policy"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("caveat::lint::unnamed_rule"), "{err}");
}

/// A `let` used only by a waiver (its `until` or its condition) is used.
#[test]
fn a_let_used_only_by_a_waiver_is_not_unused() {
    let dir = scratch(
        "lint_cli/let_in_waiver",
        &[(
            "w.policy",
            "let end = 2030-01-01\nlet ids = [\"x\", \"y\"]\nrule r { deny vendor DJI }\nwaive r for id in ids until end because \"pilot\"\n",
        )],
    );
    let out = caveat_in(&dir, &["lint", "--deny", "warnings", "w.policy"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn check_shows_a_screenful_of_lint_warnings_then_a_count() {
    let lets: String = (0..200)
        .map(|i| format!("let unused_{i} = [DJI]\n"))
        .collect();
    let policy = format!("{lets}rule dji {{ deny vendor DJI }}\n");
    let dir = scratch(
        "lint-cli-screenful",
        &[
            ("p.policy", policy.as_str()),
            ("r.yaml", "- {id: A-1, vendor: DJI}\n"),
        ],
    );
    let out = caveat_in(&dir, &["check", "--format", "json", "p.policy", "r.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let shown = err.matches("caveat::lint::unused_let").count();
    assert!((1..20).contains(&shown), "{shown} shown:\n{err}");
    assert!(err.lines().count() <= 45, "{err}");
    assert!(
        err.contains(&format!(
            "… and {} more lint warnings: `caveat lint` shows them all",
            200 - shown
        )),
        "{err}"
    );
    // `caveat lint` shows every one.
    let out = caveat_in(&dir, &["lint", "p.policy"]);
    assert_eq!(
        stderr(&out).matches("caveat::lint::unused_let").count()
            + String::from_utf8_lossy(&out.stdout)
                .matches("caveat::lint::unused_let")
                .count(),
        200
    );
}

#[test]
fn check_shows_a_screenful_of_run_warnings_then_a_count() {
    // 100 rules reading fields no record has: 100 warnings after the report, a screenful shown.
    let rules: String = (0..100)
        .map(|i| format!("rule r{i} {{ deny when missing_{i} == x }}\n"))
        .collect();
    let dir = scratch(
        "run-warnings-screenful",
        &[
            ("p.policy", rules.as_str()),
            ("r.yaml", "- {id: A-1, vendor: DJI}\n"),
        ],
    );
    let out = caveat_in(&dir, &["check", "p.policy", "r.yaml"]);
    let err = stderr(&out);
    let shown = err.matches("caveat::run::unseen_field").count();
    assert!((1..20).contains(&shown), "{shown} shown:\n{err}");
    assert!(err.lines().count() <= 45, "{err}");
    assert!(
        err.contains(&format!(
            "… and {} more warnings: `--format json` lists them all under `warnings`",
            100 - shown
        )),
        "{err}"
    );
    // The JSON report lists every one.
    let out = caveat_in(&dir, &["check", "--format", "json", "p.policy", "r.yaml"]);
    let json = String::from_utf8_lossy(&out.stdout);
    assert_eq!(json.matches("caveat::run::unseen_field").count(), 100);
}

/// Two rules whose conditions read the same text through lets of the same name but other
/// bodies differ: neither covers the other.
#[test]
fn conditions_through_lets_of_one_name_are_not_compared_by_their_text() {
    let dir = scratch(
        "lint-cli-shadowed-lets",
        &[(
            "p.policy",
            "rule a {\n  let x = amount\n  note when x > 5\n}\nrule b {\n  let x = quantity\n  note when x > 5\n}\n",
        )],
    );
    let out = caveat_in(&dir, &["lint", "--deny", "warnings", "p.policy"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("adds nothing"), "{stderr}");
}
