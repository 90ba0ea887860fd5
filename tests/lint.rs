//! Every broken policy in `tests/lint/` gives the diagnostics in its snapshot: lints, and the
//! errors of schema declarations. Each file holds one mistake, described in its first comment.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use std::path::Path;

use caveat::check::{PolicyInput, check_linted};

fn diagnostics_of(path: &Path) -> String {
    let relative = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path);
    let root = relative.parent().unwrap().to_path_buf();
    let input = PolicyInput {
        path: relative.to_path_buf(),
        root,
    };
    let diags = match check_linted(&[input]) {
        Ok(checked) => checked.lints,
        Err(errors) => errors,
    };
    assert!(
        !diags.is_empty(),
        "{} should not lint cleanly",
        relative.display()
    );
    common::rendered(&diags)
}

#[test]
fn broken_policies() {
    // Paths in diagnostics are relative to the crate root, so that snapshots are stable.
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    insta::glob!("lint/err_*.policy", |path| {
        insta::assert_snapshot!(diagnostics_of(path));
    });
}

#[test]
fn the_schema_alone_lints_cleanly() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let input = PolicyInput {
        path: "tests/lint/schema.policy".into(),
        root: "tests/lint".into(),
    };
    let checked = check_linted(&[input]).unwrap_or_else(|e| panic!("{}", common::rendered(&e)));
    assert!(
        checked.lints.is_empty(),
        "{}",
        common::rendered(&checked.lints)
    );
}

#[test]
fn the_schema_of_the_language_reference_checks_and_lints_cleanly() {
    // LANGUAGE.md §7, verbatim, with the headline rule.
    let text = "record {
  id: string
  vendor: string
  date: date
  amount: number
  quantity?: integer
  line_items?: [{ vendor: string, amount: number }]
  buyer: { branch: Army | Navy | \"Air Force\" | Marines | SOCOM, unit?: string }
  exemption?: { kind: urgent | training | research, approved_by: string, expires?: date }
}
rule headline { deny vendor DJI after 2018-05-23 unless exemption.kind == urgent }
";
    let checked = linted_cleanly("s7.policy", text);
    let schema = checked.program.schema.unwrap();
    assert_eq!(schema.root.fields.len(), 8);
    assert!(schema.closed.is_none());
}

#[test]
fn arithmetic_on_fields_of_unknown_type_lints_cleanly_where_it_can_run() {
    // What `date - 2018-01-01` (a duration) and `amount * 2` (a number) may be compared with,
    // and operands whose types only the data knows.
    let text = "rule a { note when (date - 2018-01-01) > 5 days and days(date - 2018-01-01) > 5 }
rule b { note when amount * 2 > 1000 and amount + fee > 10 and end - start > 15 days }
rule c { note when date + 5 days > 2018-01-01 and 2018-12-31 - date < 30 days }
rule d { note when today() - date > 30 days and (end - start) - 2 days > 1 day }
rule e { note when total - 5 > 1 and 10 / count > 2 and date - 1 day < 2018-01-01 }
";
    linted_cleanly("unknown.policy", text);
}

/// The policy `text` (named `name`), checked: it compiles and gives no lint.
fn linted_cleanly(name: &str, text: &str) -> caveat::check::Checked {
    let source = caveat::source::SourceFile::new(name, text);
    let checked = caveat::check::check_sources_linted(&[source])
        .unwrap_or_else(|e| panic!("{}", common::rendered(&e)));
    assert!(
        checked.lints.is_empty(),
        "{}",
        common::rendered(&checked.lints)
    );
    checked
}

#[test]
fn dates_and_date_times_order_together_in_min_max_and_sort() {
    // As they do in the data: by calendar date, then by instant (docs/language.md).
    let text = "rule a { note when max([2018-01-01, 2018-01-01T23:00:00-05:00]) > date }
rule b { note when min([2018-01-02, 2018-01-01T23:00Z]) < date }
rule c { note when count(sort([2018-01-02, 2018-01-01T23:00Z, 2018-01-01])) > size }
";
    linted_cleanly("dates.policy", text);
}

/// A rule that repeats an earlier one is not shadowed where a waiver excuses the earlier one:
/// there it still reports (`shadowed_rule` said it adds nothing).
#[test]
fn a_waived_rule_does_not_shadow_a_later_one() {
    let text = "rule dji { warn vendor DJI }
rule dji-again { warn vendor DJI }
waive dji for id == \"A-1\" until 2030-01-01 because \"reviewed\"
";
    linted_cleanly("waived.policy", text);
}
