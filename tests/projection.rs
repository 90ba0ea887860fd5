//! Readers build only what the rules read (src/compile/projection.rs). The JSON reader skips the
//! rest; these releases as YAML (one flow mapping per item, JSON's spacing) go to the general
//! YAML parser, which builds every record whole. The same releases in both give the same
//! findings, per-record and group rules alike. (The YAML block scanner's skipping is tested in
//! tests/yaml_reader.rs.)
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a test fails by panicking"
)]

mod common;

use std::path::{Path, PathBuf};

/// Each finding as the tests compare them: rule, record, outcome, message and a group's records.
fn findings(paths: &[PathBuf]) -> Vec<String> {
    let (findings, result) = common::run_check(paths, 1, 0);
    assert!(result.data_errors.is_empty(), "{:?}", result.data_errors);
    findings
        .iter()
        .map(|f| {
            let members = f.group.as_deref().map(|g| {
                g.records
                    .iter()
                    .map(|m| m.record.to_string())
                    .collect::<Vec<_>>()
            });
            format!(
                "{} {} {} {} {members:?}",
                f.rule_id,
                f.record,
                f.outcome.name(),
                f.message
            )
        })
        .collect()
}

#[test]
fn the_red_flag_pack_finds_the_same_in_skipped_json_and_whole_yaml() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lines = std::fs::read_to_string(root.join("examples/ocds/releases.jsonl"))
        .unwrap_or_else(|e| panic!("the example releases: {e}"));
    // JSON is YAML's flow style: one flow mapping per list item.
    let yaml: String = lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("- {l}\n"))
        .collect();
    let dir = common::scratch(
        "projection",
        &[
            ("releases.jsonl", lines.as_str()),
            ("releases.yaml", yaml.as_str()),
        ],
    );
    let pack = root.join("policies/red-flags");
    let from_json = findings(&[pack.clone(), dir.join("releases.jsonl")]);
    let from_yaml = findings(&[pack, dir.join("releases.yaml")]);
    assert!(from_json.len() > 100, "{} findings", from_json.len());
    assert!(from_json.iter().any(|f| f.starts_with("R038-buyer")));
    assert_eq!(from_json, from_yaml);
}
