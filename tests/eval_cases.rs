//! Evaluation cases: each file in `tests/cases/` holds a policy, records and the expected
//! findings, one per line: `RECORD EFFECT RULE[: MESSAGE] [@ LINE:COLUMN]`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

use std::path::Path;

use caveat::check::check_sources;
use caveat::compile::Segment;
use caveat::data::{Format, LoadOptions, read_records};
use caveat::eval::{Finding, evaluate, record_name};
use caveat::source::SourceFile;
use caveat::value::{Node, Value};

/// A field of the case file's mapping, as a string.
fn text<'a>(case: &'a Node, key: &str) -> Option<&'a str> {
    let Value::Map(map) = &case.value else {
        return None;
    };
    match &map.get(key)?.value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

fn expectations(case: &Node) -> Vec<String> {
    let Value::Map(map) = &case.value else {
        return Vec::new();
    };
    let Some(Node {
        value: Value::List(items),
        ..
    }) = map.get("expect")
    else {
        return Vec::new();
    };
    items
        .iter()
        .map(|n| match &n.value {
            Value::String(s) => s.to_string(),
            other => panic!("expectations are strings, found {other:?}"),
        })
        .collect()
}

fn run_case(path: &Path) {
    let case_text = std::fs::read_to_string(path).unwrap();
    let case_source = SourceFile::new(path.display().to_string(), case_text);
    let case = read_records(&case_source, Format::Yaml, &LoadOptions::default())
        .next()
        .unwrap()
        .unwrap()
        .root;
    let policy = SourceFile::new("case.policy", text(&case, "policy").unwrap());
    let mut program = match check_sources(&[policy]) {
        Ok(p) => p,
        Err(errors) => panic!("{}: policy does not check: {errors:#?}", path.display()),
    };
    if let Some(today) = text(&case, "today") {
        program.apply_today(today.parse().unwrap());
    }
    let format = match text(&case, "format") {
        Some("json") => Format::Json,
        Some("jsonl") => Format::Jsonl,
        Some("csv") => Format::Csv,
        _ => Format::Yaml,
    };
    let name = match format {
        Format::Yaml => "records.yaml",
        Format::Json => "records.json",
        Format::Jsonl => "records.jsonl",
        Format::Csv => "records.csv",
    };
    let records = SourceFile::new(name, text(&case, "records").unwrap());
    let options = LoadOptions {
        records_path: text(&case, "records_path").map(|p| p.split('.').map(String::from).collect()),
        ..LoadOptions::default()
    };
    let id_field: Vec<Segment> = text(&case, "id_field")
        .unwrap_or("id")
        .split('.')
        .map(|s| Segment::Key(s.into()))
        .collect();
    let mut actual = Vec::new();
    let mut all_records = Vec::new();
    for record in read_records(&records, format, &options) {
        let record = record.unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        all_records.push((record.clone(), record_name(&record, &id_field)));
        let mut findings: Vec<Finding> = Vec::new();
        evaluate(&program, &record, &mut findings);
        let name = record_name(&record, &id_field);
        for f in findings {
            let rule = &program.rules[f.rule];
            let (line, col) = records.line_col(f.span.unwrap().start);
            actual.push((
                format!("{name} {} {}", f.outcome.name(), rule.id),
                f.message,
                (line, col),
            ));
        }
    }
    let named: Vec<(&caveat::Record, &str)> =
        all_records.iter().map(|(r, n)| (r, n.as_str())).collect();
    for found in caveat::eval::evaluate_across(&program, &named) {
        let rule = &program.rules[found.finding.rule];
        let (line, col) = found.at.line_col();
        actual.push((
            format!(
                "{} {} {}",
                found.name,
                found.finding.outcome.name(),
                rule.id
            ),
            found.finding.message,
            (line, col),
        ));
    }
    let expected = expectations(&case);
    let shown: Vec<String> = actual
        .iter()
        .map(|(h, m, (l, c))| format!("{h}: {m} @ {l}:{c}"))
        .collect();
    assert_eq!(
        actual.len(),
        expected.len(),
        "{}: findings differ:\n{shown:#?}",
        path.display()
    );
    for ((head, message, (line, col)), want) in actual.iter().zip(&expected) {
        let (want, at) = match want.rsplit_once(" @ ") {
            Some((w, at)) => (w, Some(at)),
            None => (want.as_str(), None),
        };
        let (want_head, want_message) = match want.split_once(": ") {
            Some((h, m)) => (h, Some(m)),
            None => (want, None),
        };
        assert_eq!(
            head,
            want_head,
            "{}: all findings:\n{shown:#?}",
            path.display()
        );
        if let Some(m) = want_message {
            assert_eq!(&**message, m, "{}: message of {head}", path.display());
        }
        if let Some(at) = at {
            assert_eq!(
                format!("{line}:{col}"),
                at,
                "{}: position of {head}",
                path.display()
            );
        }
    }
}

#[test]
fn evaluation_cases() {
    insta::glob!("cases/*.yaml", run_case);
}
