//! Every non-conforming record file in `tests/conformance/` gives the error findings in its
//! snapshot, checked against the `schema.policy` of its folder; conforming data is typed by the
//! schema.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use std::path::{Path, PathBuf};

use caveat::check::PolicyInput;
use caveat::data::Format;
use caveat::eval::Outcome;
use caveat::report::Reported;
use caveat::report::human::finding_diag;
use caveat::run::{self, Inputs, RunOptions};

/// The findings of checking `data` against the policies in `policies`.
fn findings(policies: &[PathBuf], data: &Path) -> Vec<Reported> {
    let inputs = Inputs {
        policies: policies
            .iter()
            .map(|p| PolicyInput {
                path: p.clone(),
                root: p.parent().unwrap().to_path_buf(),
            })
            .collect(),
        data: vec![(data.to_path_buf(), Format::from_path(data).unwrap())],
        ..Inputs::default()
    };
    let program = run::compile(&inputs).unwrap_or_else(|e| panic!("{}", common::rendered(&e)));
    let options = RunOptions {
        id_field: vec!["id".into()],
        jobs: 1,
        ..RunOptions::default()
    };
    let mut found: Vec<Reported> = Vec::new();
    let result = run::evaluate(&program, &inputs, &options, &mut found).unwrap();
    assert!(
        result.data_errors.is_empty(),
        "{}",
        common::rendered(&result.data_errors)
    );
    found
}

#[test]
fn nonconforming_records() {
    // Paths in findings are relative to the crate root, so that snapshots are stable.
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    insta::glob!("conformance/**/err_*.*", |path| {
        let relative = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
        let schema = relative.parent().unwrap().join("schema.policy");
        let found = findings(&[schema], relative);
        assert!(
            found.iter().any(|f| f.outcome == Outcome::Error),
            "{} should not conform",
            relative.display()
        );
        let diags: Vec<_> = found.iter().map(finding_diag).collect();
        insta::assert_snapshot!(common::rendered(&diags));
    });
}

#[test]
fn the_schema_types_strings_as_numbers_dates_and_booleans() {
    let dir = common::scratch(
        "conformance-typed",
        &[
            (
                "schema.policy",
                "record { id: string, amount: number, date: date, classified: bool, code: string }\n\
                 rule big { deny when amount > 1000 and date > 2021-04-10 and classified == false \
                 and code == \"007\" message \"{amount} on {date}\" }\n",
            ),
            (
                "fpds.yaml",
                "- {id: F-1, amount: \"389838.00\", date: \"2021-04-23 00:00:00\", classified: \"false\", code: 007}\n",
            ),
        ],
    );
    let found = findings(&[dir.join("schema.policy")], &dir.join("fpds.yaml"));
    let outcomes: Vec<(Outcome, &str)> = found.iter().map(|f| (f.outcome, &*f.rule_id)).collect();
    assert_eq!(outcomes, [(Outcome::Deny, "big")], "{found:#?}");
    // Typed values are shown as written, without the quotes of the string they were read from.
    assert_eq!(&*found[0].message, "389838.00 on 2021-04-23");
}

#[test]
fn a_rule_error_on_a_nonconforming_value_is_not_repeated() {
    let dir = common::scratch(
        "conformance-no-repeat",
        &[
            (
                "schema.policy",
                "record { id: string, amount: number }\nrule big { deny when amount > 1000 }\n",
            ),
            ("bad.yaml", "- {id: B-1, amount: lots}\n"),
        ],
    );
    let found = findings(&[dir.join("schema.policy")], &dir.join("bad.yaml"));
    let codes: Vec<&str> = found.iter().map(|f| &*f.rule_id).collect();
    assert_eq!(codes, ["caveat::schema::wrong_type"]);
}
