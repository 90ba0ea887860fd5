//! `caveat test` (LANGUAGE.md §9), its coverage report, and explanations (`caveat explain`,
//! `check --explain`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use common::{caveat, caveat_in, scratch};

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = caveat(args);
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The normative examples of LANGUAGE.md §9, verbatim, against the headline rule.
#[test]
fn the_language_examples_pass() {
    let dir = scratch(
        "policy_tests/language",
        &[(
            "dod.policy",
            r#"rule dod-2018-memo {
  deny vendor DJI after 2018-05-23 unless exemption.kind == urgent
}

test "urgent exemption passes" {
  given { vendor: DJI, date: 2018-08-12, exemption: { kind: urgent } }
  expect pass
}
test "training exemption is not enough" {
  given { vendor: DJI, date: 2018-11-14, exemption: { kind: training } }
  expect deny dod-2018-memo
}
"#,
        )],
    );
    let out = caveat_in(&dir, &["test", "--today", "2026-12-05", "."]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "testing as of 2026-12-05 (--today)\nok    urgent exemption passes (./dod.policy:5)\n\
         ok    training exemption is not enough (./dod.policy:9)\n\
         2 tests: 2 passed, 0 failed\n"
    );
}

#[test]
fn passing_tests_with_coverage() {
    let (code, stdout, stderr) = run(&[
        "test",
        "--today",
        "2026-12-05",
        "--coverage",
        "tests/review/policies",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(stdout);
}

/// A group rule's coverage counts its filters, `where` and `having` with its other clauses, each
/// decisive when a test shows it deciding: `where` leaving a record out, `having` a group.
#[test]
fn group_rule_coverage_counts_where_and_having() {
    let policy = "rule g {\n  warn vendor not in [z] per vendor\n  where kind == a\n  having sum(group.amount) > 3\n  when count(group) > 1\n  unless vendor == y\n}\n\
        test \"one left out, the other too small\" {\n  given [ {vendor: x, amount: 2, kind: b}, {vendor: x, amount: 2, kind: a} ]\n  expect pass\n}\n\
        test \"large enough, but alone\" {\n  given [ {vendor: x, amount: 5, kind: a} ]\n  expect pass\n}\n";
    let dir = scratch("group_coverage", &[("g.policy", policy)]);
    let out = caveat_in(
        &dir,
        &["test", "--today", "2026-12-05", "--coverage", "g.policy"],
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    insta::assert_snapshot!(stdout);
}

#[test]
fn each_way_a_test_fails_is_a_diagnostic_with_the_deciding_clauses() {
    let (code, stdout, _) = run(&["test", "--today", "2026-12-05", "tests/review/failing"]);
    assert_eq!(code, Some(1));
    insta::assert_snapshot!(stdout);
}

#[test]
fn min_coverage_fails_below_the_threshold() {
    // 7 of 8 items: large-buy never fired.
    let (code, _, stderr) = run(&[
        "test",
        "--today",
        "2026-12-05",
        "--min-coverage",
        "90",
        "tests/review/policies",
    ]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("coverage 87.5% is below the minimum of 90%"),
        "{stderr}"
    );
    let (code, _, _) = run(&[
        "test",
        "--today",
        "2026-12-05",
        "--min-coverage",
        "85",
        "tests/review/policies",
    ]);
    assert_eq!(code, Some(0));
}

#[test]
fn a_given_file_that_cannot_be_read_fails_its_test() {
    insta::assert_snapshot!(failing_test(
        "policy_tests/missing_file",
        "rule r { deny vendor DJI }\ntest \"from a file\" {\n  given file \"nowhere.yaml\"\n  expect deny r\n}\n",
    ));
}

/// The output of `caveat test` on a policy in a scratch folder `name` whose test fails.
fn failing_test(name: &str, policy: &str) -> String {
    failing_test_with(name, policy, &[])
}

/// [`failing_test`] with more files beside the policy (a test's `given file`).
fn failing_test_with(name: &str, policy: &str, files: &[(&str, &str)]) -> String {
    let mut all = vec![("p.policy", policy)];
    all.extend_from_slice(files);
    let dir = scratch(name, &all);
    let out = caveat_in(&dir, &["test", "--today", "2026-12-05", "p.policy"]);
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_given_that_is_not_valid_yaml_fails_its_test_at_its_position() {
    let stdout = failing_test(
        "policy_tests/bad_yaml",
        "rule r { deny vendor DJI }\ntest \"bad\" {\n  given { vendor: DJI, vendor: Autel }\n  expect deny r\n}\n",
    );
    assert!(stdout.contains("caveat::data::duplicate_key"), "{stdout}");
    assert!(stdout.contains("[p.policy:3:24]"), "{stdout}");
}

#[test]
fn a_given_whose_brackets_do_not_balance_fails_its_test_with_the_data_reader_s_message() {
    let stdout = failing_test(
        "policy_tests/unbalanced",
        "rule r { deny vendor DJI }\ntest \"open\" {\n  given [ {vendor: DJI}\n  expect deny r\n}\n",
    );
    insta::assert_snapshot!(stdout);
}

/// An unclosed given is reported as unclosed, not by what its items are: the reader meets the
/// number `1` (not a record) before it runs out of data.
#[test]
fn an_unclosed_given_of_non_records_fails_as_unclosed() {
    let stdout = failing_test(
        "policy_tests/unclosed_numbers",
        "rule r { deny vendor DJI }\ntest \"open\" {\n  given [1, 2\n  expect deny r\n}\n",
    );
    insta::assert_snapshot!(stdout);
}

/// The same for a given file: it is unclosed at its end, whatever its items are.
#[test]
fn an_unclosed_given_file_fails_as_unclosed() {
    let stdout = failing_test_with(
        "policy_tests/unclosed_file",
        "rule r { deny vendor DJI }\ntest \"open\" {\n  given file \"numbers.yaml\"\n  expect deny r\n}\n",
        &[("numbers.yaml", "[1, 2\n")],
    );
    assert!(stdout.contains("caveat::data::yaml_syntax"), "{stdout}");
    assert!(!stdout.contains("not_a_record"), "{stdout}");
}

#[test]
fn explain_a_finding_and_a_non_finding() {
    let common = [
        "tests/review/policies",
        "tests/review/records.yaml",
        "--today",
        "2019-01-01",
    ];
    let mut text = String::new();
    for (rule, record) in [
        ("dod-2018-memo", "AF-2017-0301"),
        ("dod-2018-memo", "N-2018-0812"),
        ("dod-2018-memo", "AF-2018-1114"),
        ("large-buy", "AF-2018-1114"),
    ] {
        let mut args = vec!["explain", rule, record];
        args.extend(common);
        let (code, stdout, stderr) = run(&args);
        assert_eq!(code, Some(0), "{stderr}");
        text.push_str(&stdout);
    }
    insta::assert_snapshot!(text);
}

#[test]
fn explain_an_unknown_record_suggests_one() {
    let (code, _, stderr) = run(&[
        "explain",
        "dod-2018-memo",
        "AF-2018-114",
        "tests/review/policies",
        "tests/review/records.yaml",
    ]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("did you mean `AF-2018-1114`?"), "{stderr}");
}

/// Two records sharing an id: `FILE#INDEX` names one of them, as the help says.
#[test]
fn explain_names_a_record_by_its_position_too() {
    let dir = common::scratch(
        "explain-position",
        &[
            ("p.policy", "rule big { deny when amount > 1000 }\n"),
            (
                "d.yaml",
                "- {id: a, amount: 5000}\n- {id: a, amount: 7000}\n",
            ),
        ],
    );
    let out = common::caveat_in(&dir, &["explain", "big", "d.yaml#1", "p.policy", "d.yaml"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("amount = 7000"), "{stdout}");
    assert!(!stdout.contains("amount = 5000"), "{stdout}");
}

#[test]
fn check_explain_shows_the_deciding_clauses_under_each_finding() {
    let (code, stdout, _) = run(&[
        "check",
        "--explain",
        "--today",
        "2019-01-01",
        "--format",
        "json",
        "tests/review/policies",
        "tests/review/records.yaml",
    ]);
    assert_eq!(code, Some(0));
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let steps = &json["findings"][1]["explanation"];
    assert_eq!(steps[0]["clause"], "vendor in chinese_uas");
    assert_eq!(steps[0]["values"][0]["field"], "vendor");
    assert_eq!(steps[0]["values"][0]["value"], "\"DJI\"");
    assert_eq!(steps[2]["clause"], "unless exemption.kind == urgent");
    assert_eq!(steps[2]["holds"], false);
    assert_eq!(steps[2]["values"][0]["value"], "(missing)");
    let (_, human, _) = run(&[
        "check",
        "--explain",
        "--today",
        "2019-06-29",
        "tests/review/policies",
        "tests/review/records.yaml",
    ]);
    assert!(
        human.contains(
            "  decided by:\n    ✓ vendor in chinese_uas             vendor = \"DJI\"\n    ✓ after 2018-05-23                  date = 2018-11-14\n    ✗ unless exemption.kind == urgent   exemption.kind = (missing)\n"
        ),
        "{human}"
    );
}

#[test]
fn the_shipped_policies_pass_their_tests_with_full_coverage() {
    let (code, stdout, stderr) = run(&[
        "test",
        "--today",
        "2026-12-05",
        "--min-coverage",
        "100",
        "-q",
        "policies",
        // Left out of the walk of `policies` by `caveat.toml`'s `exclude`: given by name.
        "policies/red-flags",
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("testing as of 2026-12-05 (--today)\n61 tests: 61 passed, 0 failed\n"),
        "{stdout}"
    );
}

/// With a schema, a test's record is typed as `check` types records, and one that does not
/// conform fails its test at the value at fault.
#[test]
fn a_schema_types_and_checks_a_test_record() {
    let dir = scratch(
        "policy_tests/schema",
        &[(
            "p.policy",
            r#"record { id: string, vendor: string, amount: number }
rule big { warn when amount > 1000 }
test "a quoted amount is a number; the required id may be left out" {
  given { vendor: X, amount: "5000.00" }
  expect warn big
}
test "an amount that is no number" {
  given { vendor: X, amount: lots }
  expect warn big
}
"#,
        )],
    );
    let out = caveat_in(&dir, &["test", "--today", "2026-12-05", "p.policy"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

/// A function's result is shown rather than its argument, and a long value is cut.
#[test]
fn explain_shows_a_function_result_and_cuts_long_values() {
    let dir = scratch(
        "policy_tests/explain_functions",
        &[
            (
                "q.policy",
                "rule m { require count(line_items) > 1 }\nrule n { warn when any item in line_items where item.amount > 10 }\n",
            ),
            (
                "q.yaml",
                "- id: a\n  line_items: [{amount: 5, vendor: \"a very long vendor name that goes on and on and on and on\"}]\n",
            ),
        ],
    );
    let mut text = String::new();
    for rule in ["m", "n"] {
        let out = caveat_in(&dir, &["explain", rule, "a", "q.policy", "q.yaml"]);
        assert_eq!(out.status.code(), Some(0));
        text.push_str(&String::from_utf8(out.stdout).unwrap());
    }
    assert_eq!(
        text,
        "rule `m` denies a (q.yaml:1:3):\n  ✗ require count(line_items) > 1   count(line_items) = 1\n\
         rule `n` does not fire on a (q.yaml:1:3):\n  ✗ when any item in line_items where item.amount > 10   \
         line_items = [{amount: 5, vendor: a very long vendor name that goes on an…\n"
    );
}

/// In `and` and `or`, only the operands evaluated before the result was known decide it.
#[test]
fn explain_shows_only_the_operands_that_decided() {
    let dir = scratch(
        "policy_tests/explain_short_circuit",
        &[
            (
                "c.policy",
                "rule c { warn when amount > 1000 and vendor == DJI }\nrule o { warn when vendor == DJI or amount > 5 }\n",
            ),
            ("c.yaml", "- {id: a, amount: 5, vendor: DJI}\n"),
        ],
    );
    let mut text = String::new();
    for rule in ["c", "o"] {
        let out = caveat_in(&dir, &["explain", rule, "a", "c.policy", "c.yaml"]);
        text.push_str(&String::from_utf8(out.stdout).unwrap());
    }
    assert_eq!(
        text,
        "rule `c` does not fire on a (c.yaml:1:3):\n  ✗ when amount > 1000 and vendor == DJI   false at `amount > 1000`: amount = 5\n\
         rule `o` warns about a (c.yaml:1:3):\n  ✓ when vendor == DJI or amount > 5   vendor = \"DJI\"\n"
    );
}

/// An empty list of records is named as the list it is.
#[test]
fn an_empty_given_list_fails_its_test() {
    let stdout = failing_test(
        "policy_tests/empty_list",
        "rule r { deny vendor DJI }\ntest \"empty\" {\n  given [ ]\n  expect pass\n}\n",
    );
    assert!(
        stdout.contains("the records of test `empty`: the list holds no record"),
        "{stdout}"
    );
    assert!(stdout.contains("[p.policy:3:9]"), "{stdout}");
}

/// A failing test of a group rule shows, as a one-record test does, the clauses that decided the
/// rule: on each group its records make.
#[test]
fn a_failing_group_test_shows_the_clauses_on_each_group() {
    let text = failing_test(
        "policy_tests/group-test-why",
        "rule split {\n  warn per vendor when count(group) >= 2 and sum(group.amount) > 10\n}\ntest \"split\" {\n  given [ {vendor: DJI, amount: 6}, {vendor: DJI, amount: 5} ]\n  expect note split\n}\n",
    );
    assert!(
        text.contains("help: rule `split` warns about the group `DJI`:"),
        "{text}"
    );
    assert!(text.contains("✓ when count(group) >= 2"), "{text}");
}

/// A group that `having` leaves out is one the rule does not fire on: one test whose records
/// make a group that fires and one that is left out covers both ways.
#[test]
fn coverage_counts_a_group_left_out_as_not_fired() {
    let dir = scratch(
        "coverage-having",
        &[(
            "hv.policy",
            "rule hv { warn per vendor having count(group) >= 2 when count(group) < 5 }\ntest \"a\" { given [ {vendor: X}, {vendor: X}, {vendor: Y} ]  expect warn hv }\n",
        )],
    );
    let out = caveat_in(&dir, &["test", "--min-coverage", "100", "hv.policy"]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("fired ✓  not fired ✓"), "{text}");
}

/// A coverage just under the minimum is shown cut, not rounded up to the minimum it misses:
/// 2,000 of 2,001 items is 99.9%, not "100.0% is below the minimum of 100%".
#[test]
fn coverage_just_under_the_minimum_is_not_shown_as_the_minimum() {
    let mut policy = String::new();
    for n in 1..=667 {
        policy.push_str(&format!("rule r{n} {{ warn when k == {n} }}\n"));
    }
    for n in 1..=666 {
        policy.push_str(&format!(
            "test \"t{n}\" {{ given {{ k: {n} }} expect warn r{n} }}\n"
        ));
    }
    let dir = common::scratch("policy_tests/coverage_cut", &[("many.policy", &policy)]);
    let out = common::caveat_in(
        &dir,
        &["test", "-q", "--min-coverage", "100", "many.policy"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("coverage 99.9% is below the minimum of 100%"),
        "{stderr}"
    );
}

/// `test`, `lint` and `fmt` leave out what the config's `exclude` leaves out of the folders they
/// walk, as `check` does.
#[test]
fn the_config_exclude_leaves_policies_out_of_test_lint_and_fmt() {
    let dir = common::scratch(
        "policy_tests/exclude",
        &[
            (
                "caveat.toml",
                "policies = [\"policies\"]\ndata = [\"examples\"]\nexclude = [\"skip/\"]\n",
            ),
            ("policies/a.policy", "rule a { deny when amount > 5 }\n"),
            (
                "policies/skip/b.policy",
                "rule b { deny when amount > 50 }\ntest \"b\" { given {amount: 1} expect deny b }\nrule   c {deny when amount>5}\nlet unused_thing = 3\n",
            ),
            ("examples/d.yaml", "- {id: x, amount: 1}\n"),
        ],
    );
    let out = common::caveat_in(&dir, &["test"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let out = common::caveat_in(&dir, &["lint", "--deny", "warnings"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let out = common::caveat_in(&dir, &["fmt", "--check"]);
    assert_eq!(out.status.code(), Some(0));
    // Given by name, the excluded file is read.
    let out = common::caveat_in(&dir, &["test", "policies/skip/b.policy"]);
    assert_eq!(out.status.code(), Some(1));
}

/// A failing test of several records names each record its help explains: by its position in
/// the `given` list, and its id when it has one.
#[test]
fn a_failure_names_the_record_of_a_given_list() {
    let dir = common::scratch(
        "policy_tests/given_list_names",
        &[(
            "tl.policy",
            "rule big { deny when amount > 100 }\ntest \"one of three is big\" {\n  given [ {id: a, amount: 5}, {id: b, amount: 50}, {amount: 99} ]\n  expect deny big\n}\n",
        )],
    );
    let out = common::caveat_in(&dir, &["test", "tl.policy"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stderr).unwrap() + &String::from_utf8(out.stdout).unwrap();
    for named in [
        "record 1 of `one of three is big` (`a`):",
        "record 2 of `one of three is big` (`b`):",
        "record 3 of `one of three is big`:",
    ] {
        assert!(text.contains(named), "{named}: {text}");
    }
}

#[test]
fn an_explanation_names_the_operand_of_and_that_did_not_hold() {
    let dir = scratch(
        "policy_tests/false_at",
        &[
            (
                "p.policy",
                "rule r {\n  warn when amount > 5\n  unless approved == true and (amount < 100 and region == east)\n}\n",
            ),
            (
                "d.yaml",
                "- {id: a, amount: 50, approved: true, region: west}\n",
            ),
        ],
    );
    let out = caveat_in(
        &dir,
        &[
            "check",
            "--explain",
            "--format",
            "json",
            "p.policy",
            "d.yaml",
        ],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = &json["findings"][0]["explanation"];
    assert!(steps[0].get("false_at").is_none(), "{steps}");
    // Inside the nested `and`, the comparison that was false.
    assert_eq!(steps[1]["false_at"], "region == east", "{steps}");
    let out = caveat_in(&dir, &["explain", "r", "a", "p.policy", "d.yaml"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("false at `region == east`: approved = true, amount = 50, region = \"west\""),
        "{text}"
    );
}

/// A quote inside a plain YAML scalar of `given` (`27" monitor`, `O'Brien`, `:'(`, a
/// continuation line) is a character of the value: it does not open a string that runs on over
/// the rules and tests after it (they vanished, and the DJI record below passed); tags, anchors,
/// `? ` keys and JSON's `"a":"b"` keep their quoted scalars.
#[test]
fn quotes_inside_plain_given_values_do_not_hide_what_follows() {
    let dir = scratch(
        "plain-quotes",
        &[
            (
                "p.policy",
                "rule other { warn vendor Parrot }\n\
                 test \"monitor\" { given { product: 27\" monitor, vendor: Parrot } expect warn other }\n\
                 rule no-dji { deny vendor DJI }\n\
                 test \"screen\" { given { product: 32\" screen, vendor: Parrot } expect warn other }\n\
                 test \"names\" { given [ {vendor: O'Brien Supply, note: \"a, }\"}, {vendor: DJI, x: '#'} ]\n\
                   expect deny no-dji }\n\
                 test \"smiley\" { given {vendor: Parrot, mood: :'(} expect warn other }\n\
                 test \"lines\" { given {vendor: Parrot, note: size 27\n   \" wide} expect warn other }\n\
                 test \"tag\" { given {vendor: !!str \"Parrot}\", x: 1} expect pass }\n\
                 test \"json\" { given {\"vendor\":\"Parrot\",\"n\":\"}\"} expect warn other }\n\
                 test \"anchor\" { given {vendor: &a Parrot, b: *a, ? \"q}\" : w} expect warn other }\n\
                 test \"last\" { given {vendor: DJI, note: 'x'} expect deny no-dji }\n",
            ),
            ("d.yaml", "- {id: a, vendor: DJI}\n"),
        ],
    );
    let out = caveat_in(&dir, &["check", "--format", "jsonl", "p.policy", "d.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"rule\":\"no-dji\""));
    let out = caveat_in(&dir, &["test", "p.policy"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("9 tests: 9 passed, 0 failed"), "{text}");
}
