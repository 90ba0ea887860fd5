//! The built binary, run on fixture folders: exit codes, JSON and human output.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use common::{caveat, caveat_with_stdin, scratch};

fn json(args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["check", "--format", "json"];
    all.extend_from_slice(args);
    let out = caveat(&all);
    let value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap(), value)
}

/// `RECORD EFFECT RULE` for each finding.
fn findings(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} {}",
                f["record"].as_str().unwrap(),
                f["effect"].as_str().unwrap(),
                f["rule"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn headline_example_denies_exactly_one_record() {
    let (code, report) = json(&["tests/e2e/headline"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&report), ["AF-2018-1114 deny headline:1"]);
    let f = &report["findings"][0];
    assert_eq!(f["file"], "tests/e2e/headline/purchases.yaml");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(6), Some(11))
    );
    assert_eq!(f["policy"]["file"], "tests/e2e/headline/headline.policy");
    assert_eq!(
        (f["policy"]["line"].as_u64(), f["policy"]["column"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        report["summary"],
        serde_json::json!({"records": 4, "deny": 1, "warn": 0, "note": 0, "error": 0})
    );
}

#[test]
fn headline_example_human_output() {
    let out = caveat(&["check", "tests/e2e/headline"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn clean_records_exit_zero() {
    let (code, report) = json(&["tests/e2e/clean"]);
    assert_eq!(code, 0);
    assert!(findings(&report).is_empty());
    assert_eq!(report["summary"]["records"], 2);
}

#[test]
fn a_broken_policy_is_never_evaluated() {
    let out = caveat(&["check", "tests/e2e/bad_policy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stdout.is_empty(),
        "no report for a policy that does not check"
    );
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_record_with_a_duplicate_key_is_reported_and_the_rest_are_checked() {
    let (code, report) = json(&["tests/e2e/duplicate_key"]);
    assert_eq!(code, 2);
    assert_eq!(findings(&report), ["d1 deny rules:1", "d3 deny rules:1"]);
    assert_eq!(report["errors"][0]["code"], "caveat::data::duplicate_key");
    assert_eq!(report["errors"][0]["line"], 5);
    assert_eq!(report["summary"]["records"], 3);
}

#[test]
fn bad_data_is_an_error_finding_that_always_fails() {
    let (code, report) = json(&["--fail-on", "never", "tests/e2e/bad_data"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&report), ["b1 error rules:1"]);
    assert_eq!(
        (
            report["findings"][0]["line"].as_u64(),
            report["findings"][0]["column"].as_u64()
        ),
        (Some(2), Some(11))
    );
    let out = caveat(&["check", "tests/e2e/bad_data"]);
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn fail_on_sets_the_failing_level() {
    assert_eq!(json(&["tests/e2e/warn_only"]).0, 0);
    assert_eq!(json(&["--fail-on", "warn", "tests/e2e/warn_only"]).0, 1);
    assert_eq!(json(&["--fail-on", "never", "tests/e2e/headline"]).0, 0);
}

#[test]
fn output_follows_the_order_given_then_file_order_then_rule_order() {
    let (_, report) = json(&[
        "tests/e2e/order/rules.policy",
        "tests/e2e/order/b.yaml",
        "tests/e2e/order/a.jsonl",
    ]);
    assert_eq!(
        findings(&report),
        [
            "b1 note first",
            "b1 warn second",
            "a1 note first",
            "a1 warn second",
            "a2 note first"
        ]
    );
    // A folder is walked in sorted order: a.jsonl before b.yaml.
    let (_, report) = json(&["tests/e2e/order"]);
    assert_eq!(
        findings(&report),
        [
            "a1 note first",
            "a1 warn second",
            "a2 note first",
            "b1 note first",
            "b1 warn second"
        ]
    );
}

#[test]
fn a_missing_path_is_an_input_error() {
    let out = caveat(&["check", "tests/e2e/no-such-folder"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file or folder"));
}

#[test]
fn the_shipped_examples_give_the_expected_findings() {
    let (code, report) = json(&[]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(findings(&report).join("\n"));
    // The README quotes this run's counts and its JSON summary.
    let readme = std::fs::read_to_string("README.md").unwrap();
    let s = &report["summary"];
    let line = format!(
        "{} records checked: {} deny, {} warn, {} note, {} error",
        s["records"], s["deny"], s["warn"], s["note"], s["error"]
    );
    assert!(readme.contains(&line), "README lacks `{line}`");
    let excerpt = readme
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let quoted: serde_json::Value = serde_json::from_str(excerpt).unwrap();
    assert_eq!(&quoted["summary"], s, "the README's JSON excerpt");
}

#[test]
fn the_real_fpds_feed_is_read_with_records_entry() {
    let (code, report) = json(&["--records", "entry", "fixtures/fpds/"]);
    assert_eq!(code, 0, "notes and warnings only");
    let name = |i: usize| format!("fixtures/fpds/fpds-feed-2021-04.json#{i}");
    assert_eq!(
        findings(&report),
        [
            format!("{} note fpds-large-obligation", name(1)),
            format!("{} warn fpds-889-option", name(1)),
            format!("{} warn fpds-889-option", name(3)),
            format!("{} note fpds-large-obligation", name(4)),
            format!("{} note fpds-dod-action", name(8)),
        ]
    );
    assert_eq!(report["summary"]["records"], 10);
    // Without --records the feed is one record holding a list: no rule applies to it.
    let (code, report) = json(&["fixtures/fpds/"]);
    assert_eq!((code, report["summary"]["records"].as_u64()), (0, Some(1)));
}

#[test]
fn a_finding_far_along_a_long_line_is_shown_as_a_window() {
    let record = format!(
        "{{\"note\": \"{}\", \"vendor\": \"DJI\"}}\n",
        "x".repeat(70_000)
    );
    let dir = scratch(
        "long_line",
        &[("long.jsonl", &record), ("ban.policy", "deny vendor DJI\n")],
    );
    let out = caveat(&["check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("long.jsonl:1:70024]"), "{stdout}");
    assert!(stdout.contains("╰── `vendor` is \"DJI\""), "{stdout}");
    let widest = stdout.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest < 300, "a line of {widest} characters");
}

#[test]
fn a_byte_order_mark_is_not_a_column() {
    let dir = scratch(
        "bom",
        &[
            ("bom.yaml", "\u{feff}vendor: DJI\n"),
            ("ban.policy", "\u{feff}deny vendor DJI\n"),
        ],
    );
    let (code, report) = json(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    let finding = &report["findings"][0];
    assert_eq!(
        (&finding["line"], &finding["column"]),
        (&1.into(), &9.into())
    );
    assert_eq!(finding["policy"]["column"], 1);
    let broken = scratch(
        "bom_policy",
        &[("bad.policy", "\u{feff}deny when amount >\n")],
    );
    let out = caveat(&["check", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.policy:1:18]"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bad_json_line_still_counts_as_a_record() {
    let dir = scratch(
        "jsonl_index",
        &[
            (
                "buys.jsonl",
                "{\"vendor\": \"Autel\"}\n{\"vendor\": DJI}\n{\"vendor\": \"DJI\"}\n",
            ),
            ("ban.policy", "deny vendor DJI\n"),
        ],
    );
    let (code, report) = json(&[dir.to_str().unwrap()]);
    assert_eq!(code, 2, "a record that could not be read fails the run");
    let names: Vec<String> = findings(&report)
        .into_iter()
        .map(|f| {
            f.rsplit_once("buys.jsonl")
                .map(|(_, rest)| rest.to_string())
                .unwrap()
        })
        .collect();
    assert_eq!(names, ["#2 deny ban:1"]);
    assert_eq!(report["summary"]["records"], 3);
}

#[test]
fn a_file_named_twice_is_checked_once() {
    let (_, once) = json(&["tests/e2e/headline"]);
    let (_, twice) = json(&[
        "tests/e2e/headline",
        "tests/e2e/headline/purchases.yaml",
        "./tests/e2e/headline/purchases.yaml",
        "tests/e2e/headline/headline.policy",
    ]);
    assert_eq!(findings(&twice), findings(&once));
    assert_eq!(twice["summary"], once["summary"]);
}

#[test]
fn records_on_standard_input_in_each_format() {
    let policy = "tests/e2e/headline/headline.policy";
    let cases = [
        ("yaml", "- {id: a, vendor: DJI, date: 2019-01-01}\n", 1, 19),
        (
            "json",
            "[{\"id\": \"a\", \"vendor\": \"DJI\", \"date\": \"2019-01-01\"}]",
            1,
            24,
        ),
        (
            "jsonl",
            "{\"id\": \"a\"}\n{\"id\": \"b\", \"vendor\": \"DJI\", \"date\": \"2019-01-01\"}\n",
            2,
            23,
        ),
        ("csv", "id,vendor,date\na,DJI,2019-01-01\n", 2, 3),
    ];
    for (format, input, line, column) in cases {
        let out = caveat_with_stdin(
            &[
                "check",
                "--format",
                "jsonl",
                "--stdin-format",
                format,
                policy,
                "-",
            ],
            input,
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let first: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap())
                .unwrap();
        assert_eq!(first["file"], "<stdin>", "{format}");
        assert_eq!(
            (first["line"].as_u64(), first["column"].as_u64()),
            (Some(line), Some(column)),
            "{format}"
        );
    }
}

#[test]
fn csv_files_are_records_with_positions() {
    let dir = scratch(
        "csv",
        &[
            ("ban.policy", "deny vendor DJI when buyer.branch == Army\n"),
            (
                "buys.csv",
                "id,vendor,buyer.branch\nA-1,Parrot,Army\nA-2,\"DJI\",Army\nA-3,DJI,Navy\n",
            ),
        ],
    );
    let (code, report) = json(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    let finding = &report["findings"][0];
    assert_eq!(finding["record"], "A-2");
    assert_eq!(
        (&finding["line"], &finding["column"]),
        (&3.into(), &5.into())
    );
    assert_eq!(report["summary"]["records"], 3);
}

#[cfg(unix)]
#[test]
fn an_import_through_a_symlink_cannot_leave_the_policy_root() {
    let dir = scratch(
        "symlink_import",
        &[("outside/secret.policy", "let x = 1\n")],
    );
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::os::unix::fs::symlink(dir.join("outside"), root.join("link")).unwrap();
    std::fs::write(
        root.join("main.policy"),
        "import \"link/secret.policy\"\ndeny when amount > x\n",
    )
    .unwrap();
    let out = caveat(&["check", root.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("caveat::check::import_outside_root"),
        "{stderr}"
    );
}

#[test]
fn data_limits_have_flags_and_clear_errors() {
    let many: String = (0..5_000)
        .map(|i| format!("---\n{{id: d{i}, vendor: DJI}}\n"))
        .collect();
    let big = format!(
        "- {{id: a, vendor: DJI, note: \"{}\"}}\n",
        "x".repeat(3_000)
    );
    let dir = scratch(
        "limits",
        &[
            ("ban.policy", "deny vendor DJI\n"),
            ("many.yaml", &many),
            ("big.yaml", &big),
        ],
    );
    let path = |f: &str| dir.join(f).to_str().unwrap().to_string();
    // Thousands of documents read fine within the default limit.
    let (code, report) = json(&[&path("ban.policy"), &path("many.yaml")]);
    assert_eq!(code, 1);
    assert_eq!(report["summary"]["deny"], 5_000);
    let cases = [
        (
            "--max-documents",
            "100",
            "many.yaml",
            "caveat::data::too_many_documents",
        ),
        (
            "--max-scalar-size",
            "1K",
            "big.yaml",
            "caveat::data::scalar_too_large",
        ),
        (
            "--max-file-size",
            "1K",
            "big.yaml",
            "caveat::data::file_too_large",
        ),
    ];
    for (flag, value, file, code) in cases {
        let (exit, report) = json(&[flag, value, &path("ban.policy"), &path(file)]);
        assert_eq!(exit, 2, "{flag}");
        assert_eq!(report["errors"][0]["code"], code, "{flag}");
    }
}

#[test]
fn crlf_and_lone_cr_keep_positions_right() {
    let dir = scratch(
        "line_ends",
        &[
            ("ban.policy", "# CRLF\r\ndeny vendor DJI\r\n"),
            (
                "crlf.yaml",
                "- id: a\r\n  vendor: Parrot\r\n- id: b\r\n  vendor: DJI\r\n",
            ),
        ],
    );
    let (code, report) = json(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    let finding = &report["findings"][0];
    assert_eq!(
        (&finding["line"], &finding["column"]),
        (&4.into(), &11.into())
    );
    assert_eq!(finding["policy"]["line"], 2);
    let bad = scratch(
        "lone_cr",
        &[("bad.policy", "deny vendor DJI\rwarn when amount >\r")],
    );
    let out = caveat(&["check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.policy:2:18]"), "{stderr}");
}

#[test]
fn invalid_utf8_and_nul_bytes_are_diagnosed_where_they_are() {
    let dir = scratch("bytes", &[("ban.policy", "deny vendor DJI\n")]);
    std::fs::write(
        dir.join("bad.yaml"),
        b"- {id: a, vendor: DJI}\n- {id: b, vendor: \xff\xfe}\n",
    )
    .unwrap();
    let (code, report) = json(&[dir.to_str().unwrap()]);
    assert_eq!(code, 2);
    let error = &report["errors"][0];
    assert_eq!(error["code"], "caveat::io::not_utf8");
    assert_eq!((&error["line"], &error["column"]), (&2.into(), &19.into()));
    std::fs::write(dir.join("bad.yaml"), b"- {id: a, vendor: \"D\0J\"}\n").unwrap();
    std::fs::write(dir.join("nul.policy"), b"deny when vendor == \"x\0\"\n").unwrap();
    let out = caveat(&["check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(dir.join("bad.policy"), b"deny vendor \xff\n").unwrap();
    std::fs::remove_file(dir.join("nul.policy")).unwrap();
    let out = caveat(&["check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("caveat::io::not_utf8"));
}

/// Empty standard input is named as findings name it, `<stdin>`, and its text is not looked for
/// in a file named `-`.
#[test]
fn empty_standard_input_is_named_stdin() {
    let out = caveat_with_stdin(&["check", "tests/e2e/headline/headline.policy", "-"], "");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("data file `<stdin>` holds no records"),
        "{stderr}"
    );
    assert!(stderr.contains("[<stdin>:1:1]"), "{stderr}");
    assert!(!stderr.contains("`-`"), "{stderr}");
}

/// `explain` reads records from standard input (`-`) as `check` does, once, though a rule across
/// records goes over them twice; a group rule without clauses shows its keys and size.
#[test]
fn explain_reads_standard_input_and_shows_a_bare_groups_keys() {
    let dir = scratch(
        "explain_stdin",
        &[("p.policy", "rule by-vendor { note per vendor }\n")],
    );
    let policy = dir.join("p.policy");
    let policy = policy.to_str().unwrap();
    let records = "- {id: r1, vendor: A}\n- {id: r2, vendor: A}\n- {id: r3, vendor: B}\n";
    let out = caveat_with_stdin(&["explain", "by-vendor", "A", policy, "-"], records);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "rule `by-vendor` notes the group `A`:\n  ✓ per vendor   vendor = A, count(group) = 2\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A name that is no group's falls back to the records, which were read once.
    let out = caveat_with_stdin(&["explain", "by-vendor", "r9", policy, "-"], records);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("cannot read"), "{stderr}");
}

/// `explain` shows the value of each of a rule's lets that a clause read, as it shows fields:
/// what decided a rule that reads its lets.
#[test]
fn explain_shows_the_lets_a_clause_reads() {
    let dir = scratch(
        "end_to_end/explain_lets",
        &[
            (
                "p.policy",
                "rule b {\n  let period = days(e - s)\n  let opened = s\n  warn where opened exists when period < 15 and count(labels) > 0\n}\n",
            ),
            (
                "d.yaml",
                "- { id: r1, s: \"2024-03-01T09:00:00Z\", e: \"2024-03-21T09:00:00Z\" }\n- { id: r2, e: \"2024-03-21T09:00:00Z\" }\n",
            ),
        ],
    );
    let out = common::caveat_in(&dir, &["explain", "b", "r1", "p.policy", "d.yaml"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "✗ when period < 15 and count(labels) > 0   false at `period < 15`: period = 20"
        ),
        "{text}"
    );
    let out = common::caveat_in(&dir, &["explain", "b", "r2", "p.policy", "d.yaml"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("✗ where opened exists   opened = (missing)"),
        "{text}"
    );
}

/// `explain` of a group rule on a record whose key could not be used (it joined no group, and
/// `check` names its error finding after it) shows that error where `check` shows it.
#[test]
fn explain_shows_a_records_key_error_of_a_group_rule() {
    let dir = scratch(
        "end_to_end/explain_key_error",
        &[
            (
                "k.policy",
                "rule g { warn per buyer having count(group) >= 1 message \"{buyer}\" }\n",
            ),
            (
                "k.yaml",
                "- {id: k1, buyer: {unit: A}, vendor: V, amount: 5}\n- {id: k2, buyer: B, vendor: V}\n",
            ),
        ],
    );
    let out = common::caveat_in(&dir, &["explain", "g", "k1", "k.policy", "k.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "rule `g` cannot evaluate k1 (k.yaml:1:19): the key `buyer` must be a string, number, \
         date or boolean, but it is a mapping\n"
    );
}
