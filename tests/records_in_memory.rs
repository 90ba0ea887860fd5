//! Records held in memory (`run::records`) and rules across records run in stages
//! (`eval::split`), as the Python package and Spark use them: the findings equal a `check` run's.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use caveat::compile::{Program, Segment};
use caveat::data::{Format, LoadOptions, Record, read_records};
use caveat::eval::split::{combine_all, group_all_values, group_findings};
use caveat::report::{Reported, Sink};
use caveat::run::records::{AcrossStage, RecordCheck};

/// A finding as compared: rule, effect, name, message, the group's keys and records.
type Seen = (
    String,
    String,
    String,
    String,
    Vec<(String, String)>,
    Vec<String>,
);

fn seen(f: &Reported) -> Seen {
    let (keys, members) = f.group.as_ref().map_or((Vec::new(), Vec::new()), |g| {
        (
            g.keys
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            g.records.iter().map(|m| m.record.to_string()).collect(),
        )
    });
    (
        f.rule_id.to_string(),
        f.outcome.name().to_string(),
        f.record.to_string(),
        f.message.to_string(),
        keys,
        members,
    )
}

fn sorted(found: &[Reported]) -> Vec<Seen> {
    let mut all: Vec<Seen> = found.iter().map(seen).collect();
    all.sort();
    all
}

struct Keep(Vec<Reported>);

impl Sink for Keep {
    fn finding(&mut self, finding: &Reported) -> std::io::Result<()> {
        self.0.push(finding.clone());
        Ok(())
    }
}

/// The red-flag pack and the shipped OCDS releases, and what `check --id-field ocid` finds.
fn red_flags() -> (Program, Vec<Record>, Vec<Reported>) {
    let project = caveat::project::Project::new(&std::env::current_dir().unwrap(), false);
    let paths = vec![
        PathBuf::from("policies/red-flags"),
        PathBuf::from("examples/ocds"),
    ];
    let inputs = caveat::run::discover(&paths, &[], Format::Yaml, &project).unwrap();
    let program = caveat::run::compile(&inputs).unwrap();
    let options = caveat::run::RunOptions {
        paths: paths.clone(),
        id_field: vec!["ocid".into()],
        jobs: 1,
        ..Default::default()
    };
    let mut keep = Keep(Vec::new());
    caveat::run::evaluate(&program, &inputs, &options, &mut keep).unwrap();
    let mut records = Vec::new();
    for (path, format) in &inputs.data {
        let source = caveat::source::read_text(path).unwrap();
        let first = records.len();
        for record in read_records(&source, *format, &LoadOptions::default()) {
            let mut record = record.unwrap();
            // Positions in the whole input, as Spark's rows are.
            record.index += first;
            records.push(record);
        }
    }
    (program, records, keep.0)
}

#[test]
fn records_checked_in_memory_give_the_findings_of_a_check_run() {
    let (program, records, expected) = red_flags();
    assert!(expected.iter().any(|f| f.group.is_some()));
    let mut check = RecordCheck::new(&program, &["ocid".to_string()]);
    for record in records {
        check.add(Ok(record));
    }
    let checked = check.finish();
    assert!(checked.errors.is_empty());
    assert_eq!(sorted(&checked.findings), sorted(&expected));
}

#[test]
fn rules_across_records_in_stages_give_the_findings_of_one_pass() {
    let (program, records, expected) = red_flags();
    let id = [Segment::Key("ocid".into())];
    // Stage 1: per-record findings, and the groups each record joins.
    let mut check =
        RecordCheck::new(&program, &["ocid".to_string()]).with_stage(AcrossStage::Split);
    for record in records.clone() {
        check.add(Ok(record));
    }
    let checked = check.finish();
    let mut found = checked.findings;
    let mut groups: BTreeMap<(usize, String), Vec<usize>> = BTreeMap::new();
    for g in &checked.groups {
        groups
            .entry((g.rule, g.token.clone()))
            .or_default()
            .push(g.index);
    }
    let members = |rows: &[usize]| rows.iter().map(|&r| records[r].clone()).collect::<Vec<_>>();
    // Stage 2: each group's `all.` values, joined in the order of the groups' first records.
    let mut parts: BTreeMap<usize, Vec<(usize, String)>> = BTreeMap::new();
    for ((rule, token), rows) in &groups {
        let values = group_all_values(&program, members(rows), *rule, Some(token), &id).unwrap();
        parts.entry(*rule).or_default().push((rows[0], values));
    }
    let all: BTreeMap<usize, String> = parts
        .into_iter()
        .map(|(rule, mut values)| {
            values.sort();
            let joined = combine_all(values.iter().map(|(_, v)| v.as_str())).unwrap();
            (rule, joined)
        })
        .collect();
    assert!(
        program
            .rules
            .iter()
            .any(|r| r.across.as_ref().is_some_and(|a| !a.all.is_empty()))
    );
    // Stage 3: each group on its own.
    for ((rule, token), rows) in &groups {
        let given = all.get(rule).map(String::as_str);
        found.extend(
            group_findings(&program, members(rows), *rule, Some(token), &id, given).unwrap(),
        );
    }
    assert_eq!(sorted(&found), sorted(&expected));
}

#[test]
fn a_group_finding_in_memory_names_its_records_rows() {
    let policy = caveat::source::SourceFile::new(
        "split.policy",
        "rule split {\n  warn per vendor\n  when count(group) >= 2\n}\n",
    );
    let program = caveat::check_sources(&[policy]).unwrap();
    let data = caveat::source::SourceFile::new(
        "p.yaml",
        "- {vendor: DJI}\n- {vendor: Skydio}\n- {vendor: DJI}\n",
    );
    let mut check = RecordCheck::new(&program, &["id".to_string()]);
    for record in read_records(&data, Format::Yaml, &LoadOptions::default()) {
        check.add(record);
    }
    let found = check.finish().findings;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].index, 0);
    let group = found[0].group.as_ref().unwrap();
    let rows: Vec<usize> = group.records.iter().map(|m| m.index).collect();
    assert_eq!(rows, [0, 2]);
}
