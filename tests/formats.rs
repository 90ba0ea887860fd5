//! Every output format of `caveat check` on the same data: deny, warn, note and error findings,
//! a record name with a comma and quotes, and a record that cannot be read.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use common::caveat;

const FIXTURE: &str = "tests/e2e/formats";

/// The report of one format on stdout; the run exits 2, since one record cannot be read.
fn report(format: &str) -> String {
    let out = caveat(&["check", "--format", format, FIXTURE]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_format_on_the_same_data() {
    for format in [
        "human", "json", "jsonl", "sarif", "junit", "github", "tap", "csv", "summary",
    ] {
        insta::assert_snapshot!(format!("format_{format}"), report(format));
    }
}

/// Where a SARIF log breaks the SARIF 2.1.0 schema.
fn sarif_schema_errors(log: &serde_json::Value) -> Vec<String> {
    // The published schema's pattern for `language` has a stray `]`, which is not a valid
    // ECMA 262 regex: the validator refuses the schema unless it is written as intended.
    let published = include_str!("sarif-schema-2.1.0.json");
    let stray = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
    assert_eq!(published.matches(stray).count(), 2);
    let text = published.replace(stray, r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#);
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    validator.iter_errors(log).map(|e| e.to_string()).collect()
}

#[test]
fn sarif_is_valid_against_the_sarif_2_1_0_schema() {
    let log: serde_json::Value = serde_json::from_str(&report("sarif")).unwrap();
    let errors = sarif_schema_errors(&log);
    assert!(errors.is_empty(), "{errors:#?}");
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    let deny = &results[0];
    assert_eq!(deny["ruleId"], "dod-2018-memo");
    assert_eq!(deny["level"], "error");
    let region = &deny["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (&region["startLine"], &region["startColumn"]),
        (&2.into(), &11.into())
    );
    let rule = &deny["relatedLocations"][0]["physicalLocation"];
    assert_eq!(
        rule["artifactLocation"]["uri"],
        "tests/e2e/formats/rules.policy"
    );
    assert_eq!(rule["region"]["startLine"], 5);
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), 4);
    assert_eq!(rules[0]["help"]["text"], "see DoD memo, 23 May 2018");
    let notifications = &log["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    assert_eq!(
        notifications[0]["descriptor"]["id"],
        "caveat::data::duplicate_key"
    );
}

#[test]
fn junit_parses_back_with_a_case_per_record() {
    let xml = report("junit");
    let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(parsed.test_suites.len(), 1);
    let suite = &parsed.test_suites[0];
    let names: Vec<&str> = suite.test_cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "AF-2018-1114",
            "N-2018-0812",
            "P, 3 \"quoted\"",
            "could not read at 19:3"
        ]
    );
    let failed: Vec<bool> = suite
        .test_cases
        .iter()
        .map(|c| !matches!(c.status, quick_junit::TestCaseStatus::Success { .. }))
        .collect();
    assert_eq!(failed, [true, false, true, true]);
}

#[test]
fn github_annotations_carry_the_line_of_the_deciding_value() {
    let text = std::fs::read_to_string(format!("{FIXTURE}/purchases.yaml")).unwrap();
    let dji_line = text
        .lines()
        .position(|l| l.trim() == "vendor: DJI")
        .unwrap()
        + 1;
    let out = report("github");
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with(&format!(
            "::error file=tests/e2e/formats/purchases.yaml,line={dji_line},col=11,"
        )),
        "{first}"
    );
}

/// A warning of no file (an empty folder) is an annotation without `file`, `line` or `col`: an
/// empty `file=` would point it at nothing.
#[test]
fn a_github_annotation_of_no_file_names_none() {
    let dir = common::scratch(
        "github_no_file",
        &[
            ("p.policy", "rule r { deny when amount > 5 }\n"),
            ("d.yaml", "- {id: a, amount: 1}\n"),
        ],
    );
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let out = common::caveat_in(
        &dir,
        &["check", "p.policy", "d.yaml", "empty", "--format", "github"],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("empty_folder"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.starts_with("::warning title=caveat%3A%3Aio%3A%3Aempty_folder::"),
        "{line}"
    );
}

#[test]
fn several_reports_in_one_run() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("several_reports");
    std::fs::create_dir_all(&dir).unwrap();
    let sarif = dir.join("out.sarif");
    let junit = dir.join("out.xml");
    let out = caveat(&[
        "check",
        "--format",
        "sarif",
        "--output",
        sarif.to_str().unwrap(),
        "--format",
        "junit",
        "-o",
        junit.to_str().unwrap(),
        "--format",
        "jsonl",
        FIXTURE,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), report("jsonl"));
    assert_eq!(std::fs::read_to_string(&sarif).unwrap(), report("sarif"));
    assert_eq!(std::fs::read_to_string(&junit).unwrap(), report("junit"));
}

#[test]
fn outputs_must_match_formats() {
    let out = caveat(&["check", "--format", "json", "--format", "csv", FIXTURE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only one report can go to stdout"));
    let out = caveat(&["check", "-o", "a.json", "-o", "b.json", FIXTURE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("`--output a.json` has no `--format` before it")
    );
}

/// Two reports to one file would garble it: refused before anything is written, also when the
/// two names differ (`sub/.././`) and the file does not exist yet; `-o -` is stdout.
#[test]
fn one_file_takes_one_report_and_a_dash_is_stdout() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("same_output");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("same.out");
    let _ = std::fs::remove_file(&file);
    let other = dir.join("sub").join("..").join(".").join("same.out");
    let out = caveat(&[
        "check",
        "--format",
        "json",
        "-o",
        file.to_str().unwrap(),
        "--format",
        "csv",
        "-o",
        other.to_str().unwrap(),
        FIXTURE,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("caveat::cli::same_output"), "{stderr}");
    assert!(stderr.contains("are one file"), "{stderr}");
    assert!(!file.exists(), "nothing is written");
    let out = caveat(&["check", "--format", "jsonl", "-o", "-", FIXTURE]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), report("jsonl"));
}

/// A thread count or a nesting depth beyond what a run can use is a usage error, not a run that
/// makes thousands of threads or overflows a stack.
#[test]
fn jobs_and_depth_have_bounds() {
    for (flag, value, range) in [
        ("--jobs", "5000", "0..=256"),
        ("--max-depth", "200000", "1..=10000"),
    ] {
        let out = caveat(&["check", flag, value, FIXTURE]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("{value} is not in {range}")),
            "{stderr}"
        );
    }
}

#[test]
fn every_format_on_the_example_data() {
    for format in [
        "human", "json", "jsonl", "sarif", "junit", "github", "tap", "csv", "summary",
    ] {
        let out = caveat(&["check", "--format", format, "policies", "examples"]);
        assert_eq!(out.status.code(), Some(1), "{format}");
        insta::assert_snapshot!(
            format!("examples_{format}"),
            String::from_utf8(out.stdout).unwrap()
        );
    }
}

/// Waived findings and waiver warnings (LANGUAGE.md §8) in every format: SARIF carries a waiver
/// as an accepted in-source suppression, and its warnings as notifications.
#[test]
fn waived_findings_in_every_format() {
    for format in [
        "human", "json", "jsonl", "sarif", "junit", "github", "tap", "csv", "summary",
    ] {
        let out = caveat(&[
            "check",
            "--today",
            "2019-01-15",
            "--format",
            format,
            "tests/review/policies",
            "tests/review/records.yaml",
        ]);
        assert_eq!(out.status.code(), Some(0), "{format}");
        let text = String::from_utf8(out.stdout).unwrap();
        if format == "sarif" {
            let log: serde_json::Value = serde_json::from_str(&text).unwrap();
            let errors = sarif_schema_errors(&log);
            assert!(errors.is_empty(), "{errors:#?}");
            let suppression = &log["runs"][0]["results"][1]["suppressions"][0];
            assert_eq!(suppression["kind"], "inSource");
            assert_eq!(suppression["status"], "accepted");
        }
        insta::assert_snapshot!(format!("waived_{format}"), text);
    }
}

#[test]
fn summary_tables_by_vendor_even_when_no_rule_reads_it() {
    // The rule reads only `amount`, so the readers build no more of a record unless the report
    // asks for its vendor; a list of vendors is named as the list.
    let dir = common::scratch(
        "summary-vendor",
        &[
            ("p.policy", "rule big { deny when amount > 5 }\n"),
            (
                "d.yaml",
                "- {id: a, vendor: DJI, amount: 9}\n- {id: b, vendor: [Autel, Parrot], amount: 9}\n- {id: c, amount: 9}\n",
            ),
            (
                "e.jsonl",
                "{\"id\": \"d\", \"vendor\": \"DJI\", \"amount\": 7}\n",
            ),
        ],
    );
    let out = common::caveat_in(&dir, &["check", "--format", "summary", "."]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let vendors: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("## Findings by vendor"))
        .filter(|l| l.starts_with("| ") && !l.starts_with("| vendor") && !l.starts_with("| ---"))
        .collect();
    assert_eq!(
        vendors,
        [
            "| DJI | 2 | 0 | 0 | 0 | 2 |",
            "| \\(no vendor\\) | 1 | 0 | 0 | 0 | 1 |",
            "| Autel, Parrot | 1 | 0 | 0 | 0 | 1 |",
        ],
        "{text}"
    );
}

#[test]
fn summary_tables_a_group_by_its_vendor_key_whatever_its_name() {
    let dir = common::scratch(
        "summary-group-vendor",
        &[
            (
                "p.policy",
                "rule t { note per record.vendor as seller when count(group) > 1 }\n",
            ),
            ("d.yaml", "- {id: a, vendor: DJI}\n- {id: b, vendor: DJI}\n"),
        ],
    );
    let out = common::caveat_in(&dir, &["check", "--format", "summary", "."]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("| DJI | 0 | 0 | 1 | 0 | 1 |"), "{text}");
}

/// A finding of a rule across records without `per` is its one record's, and is tabled under
/// that record's vendor in the summary and the HTML report (it came under "(no vendor)": it
/// arrives once every record is read, when the record last read is another). Two files, so that
/// records are told apart by file and position.
#[test]
fn summary_and_html_table_a_finding_of_all_under_its_records_vendor() {
    let dir = common::scratch(
        "summary-all-vendor",
        &[
            (
                "p.policy",
                "rule hi {\n  let a = amount\n  warn when a >= max(all.a)\n}\n",
            ),
            (
                "a.yaml",
                "- {id: x, vendor: DJI, amount: 5}\n- {id: y, vendor: Parrot, amount: 9}\n",
            ),
            ("b.yaml", "- {id: z, vendor: Skydio, amount: 1}\n"),
        ],
    );
    let out = common::caveat_in(
        &dir,
        &[
            "check", "--format", "summary", "p.policy", "a.yaml", "b.yaml",
        ],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("| Parrot | 0 | 1 | 0 | 0 | 1 |"), "{text}");
    assert!(!text.contains("no vendor"), "{text}");
    let out = common::caveat_in(
        &dir,
        &["check", "--format", "html", "p.policy", "a.yaml", "b.yaml"],
    );
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(html.contains("Parrot"), "{html}");
    assert!(!html.contains("(no vendor)"), "{html}");
}

/// A data file that cannot be read at all (too large, a folder, no permission) is named in the
/// structured fields of every format that has them, at 1:1: its file was only in the message, so
/// a CSV row had no file and a GitHub annotation no `file=`.
#[test]
fn a_file_that_cannot_be_read_is_named_in_every_formats_place() {
    let dir = common::scratch(
        "too-large-place",
        &[
            ("p.policy", "rule r { deny vendor DJI }\n"),
            ("d.yaml", "- {id: a, vendor: DJI}\n"),
        ],
    );
    let run = |format: &str| {
        let out = common::caveat_in(
            &dir,
            &[
                "check",
                "--max-file-size",
                "1",
                "--format",
                format,
                "p.policy",
                "d.yaml",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{format}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(run("csv").contains("\nd.yaml,1,1,,caveat::data::file_too_large,error,"));
    assert!(run("github").contains("::error file=d.yaml,line=1,col=1,"));
    assert!(run("json").contains(r#""file":"d.yaml","line":1,"column":1"#));
    assert!(run("tap").contains("d.yaml:1:1: `d.yaml` is larger"));
    let sarif = run("sarif");
    assert!(
        sarif.contains(r#""uri": "d.yaml""#) || sarif.contains(r#""uri":"d.yaml""#),
        "{sarif}"
    );
    assert!(run("junit").contains("at 1:1"));
}

/// Standard input is `<stdin>` wherever a report names it: a record without an id is
/// `<stdin>#0` (as `explain` names it; it was `-#0`), and input over the size limit is an error
/// of `<stdin>` (its file was `-`).
#[test]
fn standard_input_is_named_stdin_in_every_field() {
    let policy = "tests/e2e/headline/headline.policy";
    let out = common::caveat_with_stdin(
        &[
            "check",
            "--format",
            "csv",
            "--today",
            "2024-01-01",
            policy,
            "-",
        ],
        "- {vendor: DJI, date: 2019-01-01}\n",
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\n<stdin>,1,"), "{text}");
    assert!(text.contains(",<stdin>#0,"), "{text}");
    let out = common::caveat_with_stdin(
        &[
            "check",
            "--format",
            "json",
            "--max-file-size",
            "3",
            policy,
            "-",
        ],
        "- {vendor: DJI}\n",
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(r#""file":"<stdin>","line":1"#), "{text}");
}

/// A file that cannot be read takes its place among the files in the order given (README: data
/// files in the order given), in JUnit's suites and TAP's points as in the human report, not
/// after every readable file.
#[test]
fn unreadable_files_keep_their_place_in_junit_and_tap() {
    let dir = common::scratch(
        "unreadable_in_order",
        &[
            ("p.policy", "rule r { deny vendor DJI }\n"),
            ("a.yaml", "id: [\n"),
            ("b.yaml", "- {id: b1, vendor: DJI}\n"),
            ("c.json", "{\"id\": \"c1\",}\n"),
        ],
    );
    let run = |format: &str| {
        let out = common::caveat_in(
            &dir,
            &[
                "check", "--format", format, "p.policy", "a.yaml", "b.yaml", "c.json",
            ],
        );
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8(out.stdout).unwrap()
    };
    let junit = quick_junit::Report::deserialize_from_str(&run("junit")).unwrap();
    let suites: Vec<&str> = junit.test_suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(suites, ["a.yaml", "b.yaml", "c.json"]);
    let tap = run("tap");
    let points: Vec<&str> = tap
        .lines()
        .filter(|l| l.starts_with("ok ") || l.starts_with("not ok "))
        .collect();
    assert_eq!(points.len(), 3, "{tap}");
    assert!(points[0].starts_with("not ok 1 - a.yaml:"), "{tap}");
    assert_eq!(points[1], "not ok 2 - b1", "{tap}");
    assert!(points[2].starts_with("not ok 3 - c.json:"), "{tap}");
    assert!(tap.ends_with("1..3\n"), "{tap}");
}

/// TAP's YAML blocks escape what YAML forbids in a document (U+FFFE, U+FFFF), which JSON's
/// quoting leaves as they are; control characters are shown as in every report (`\u{7f}`), and
/// other text stays as written.
#[test]
fn tap_yaml_blocks_escape_what_yaml_forbids() {
    let dir = common::scratch(
        "tap_yaml_forbidden",
        &[
            (
                "p.policy",
                "rule r { deny when amount > 1 message \"{vendor}\" }\n",
            ),
            (
                "d.jsonl",
                "{\"id\": \"c\", \"vendor\": \"\\uffff\\ufffe\\u007f\\u0086é\", \"amount\": 2000}\n",
            ),
        ],
    );
    let out = common::caveat_in(&dir, &["check", "--format", "tap", "p.policy", "d.jsonl"]);
    let tap = String::from_utf8(out.stdout).unwrap();
    let message = tap
        .lines()
        .find(|l| l.trim_start().starts_with("message:"))
        .unwrap_or_else(|| panic!("{tap}"));
    assert!(
        message.ends_with(r#"message: "\uFFFF\uFFFE\\u{7f}\\u{86}é""#),
        "{message}"
    );
    assert!(
        !tap.contains(['\u{ffff}', '\u{fffe}', '\u{7f}', '\u{86}']),
        "{tap}"
    );
}

/// A check stopped by a policy error still writes its report files, each saying why (an earlier
/// run's report is not left in place to be uploaded as this run's), and exits 2.
#[test]
fn a_policy_error_is_written_to_every_report_file() {
    let dir = common::scratch(
        "policy_error_reports",
        &[
            (
                "caveat.toml",
                "policies = [\"pol\"]\ndata = [\"data\"]\n[output]\nsarif = \"caveat.sarif\"\n",
            ),
            ("pol/bad.policy", "rule broken { deny when amount > }\n"),
            ("data/d.yaml", "- {id: a, amount: 5}\n"),
            ("caveat.sarif", "OLD\n"),
        ],
    );
    let out = common::caveat_in(&dir, &["check", "--format", "tap", "-o", "r.tap"]);
    assert_eq!(out.status.code(), Some(2));
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("caveat.sarif")).unwrap()).unwrap();
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false, "{sarif}");
    let notification = &invocation["toolExecutionNotifications"][0];
    assert_eq!(notification["descriptor"]["id"], "caveat::parse::syntax");
    assert_eq!(
        notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "pol/bad.policy"
    );
    let tap = std::fs::read_to_string(dir.join("r.tap")).unwrap();
    assert!(
        tap.contains("not ok 1 - pol/bad.policy:1:34: expected an expression"),
        "{tap}"
    );
    assert!(tap.ends_with("1..1\n"), "{tap}");
    // Nothing is written over a policy file, even one given as a report.
    let out = common::caveat_in(&dir, &["check", "--format", "json", "-o", "pol/bad.policy"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(dir.join("pol/bad.policy")).unwrap(),
        "rule broken { deny when amount > }\n"
    );
    // Nor over a file a policy imports that compiled (here through a link named `.policy`).
    std::fs::write(dir.join("pol/notes.txt"), "let limit = 10\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("notes.txt", dir.join("pol/lib.policy")).unwrap();
    std::fs::write(
        dir.join("pol/bad.policy"),
        "import \"lib.policy\"\ndeny when amount > limit and bogus(\n",
    )
    .unwrap();
    let out = common::caveat_in(&dir, &["check", "--format", "json", "-o", "pol/notes.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(dir.join("pol/notes.txt")).unwrap(),
        "let limit = 10\n"
    );
}

/// The human report's header names the file's column even where control characters before the
/// value are shown escaped (`\u{1b}` is six characters on screen, one in the file).
#[test]
fn the_human_header_counts_columns_in_the_file_not_in_the_escaped_text() {
    let dir = common::scratch(
        "human_column_after_escapes",
        &[
            ("p.policy", "rule big { deny when amount > 1000 }\n"),
            ("c.csv", "id,note,vendor,amount\nR1,\u{1b}[1m,Acme,2000\n"),
            (
                "c.jsonl",
                "{\"id\":\"a\",\"note\":\"\u{202e}\u{9b}\u{7f}\",\"amount\":2000}\n",
            ),
        ],
    );
    for (data, place) in [("c.csv", "c.csv:2:14]"), ("c.jsonl", "c.jsonl:1:33]")] {
        let out = common::caveat_in(&dir, &["check", "--color", "never", "p.policy", data]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(place), "{text}");
        assert!(
            text.contains("\\u{1b}") || text.contains("\\u{202e}"),
            "{text}"
        );
        let out = common::caveat_in(&dir, &["check", "--format", "jsonl", "p.policy", data]);
        let first: serde_json::Value = serde_json::from_str(
            String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .next()
                .unwrap(),
        )
        .unwrap();
        let (line, column) = place.trim_end_matches(']').rsplit_once(':').unwrap();
        assert_eq!(first["column"].to_string(), column, "{first}");
        assert!(line.ends_with(&first["line"].to_string()), "{first}");
    }
}

/// A record that cannot be read is a failing point in its place among its file's records, in
/// TAP and JUnit (it came after the records that followed it).
#[test]
fn unreadable_records_keep_their_place_in_junit_and_tap() {
    let dir = common::scratch(
        "unreadable_record_in_order",
        &[
            ("p.policy", "rule big { deny when amount > 1000 }\n"),
            (
                "u.yaml",
                "- {id: A, amount: 1}\n- ~\n- {id: C, amount: 1}\n",
            ),
            ("u.jsonl", "{\"id\":\"a\"}\n{\"id\":\n{\"id\":\"c\"}\n"),
        ],
    );
    for (data, second) in [
        ("u.yaml", "not ok 2 - u.yaml:2:3:"),
        ("u.jsonl", "not ok 2 - u.jsonl:2:7:"),
    ] {
        let out = common::caveat_in(&dir, &["check", "--format", "tap", "p.policy", data]);
        let tap = String::from_utf8(out.stdout).unwrap();
        let points: Vec<&str> = tap
            .lines()
            .filter(|l| l.starts_with("ok ") || l.starts_with("not ok "))
            .collect();
        assert_eq!(points.len(), 3, "{tap}");
        assert!(points[1].starts_with(second), "{tap}");
        assert!(points[2].starts_with("ok 3 - "), "{tap}");
        let out = common::caveat_in(&dir, &["check", "--format", "junit", "p.policy", data]);
        let junit =
            quick_junit::Report::deserialize_from_str(&String::from_utf8(out.stdout).unwrap())
                .unwrap();
        let cases: Vec<String> = junit.test_suites[0]
            .test_cases
            .iter()
            .map(|c| c.name.to_string())
            .collect();
        assert!(cases[1].starts_with("could not read at 2:"), "{cases:?}");
        assert_eq!(cases.len(), 3, "{cases:?}");
    }
}
