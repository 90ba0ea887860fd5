//! Runs every case of the YAML test suite (copied into `tests/yaml-test-suite`, MIT) through the record
//! reader: each must load or be refused with a `DataError` (never panic, never hang), and every
//! case marked `error` must be refused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use caveat::data::{Format, LoadOptions, read_records};
use caveat::source::SourceFile;

const SUITE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/yaml-test-suite");

/// Invalid YAML that saphyr-parser accepts. Each is checked to still be accepted, so the list
/// shrinks when saphyr improves. Empty: saphyr-parser 0.3.4 refuses all 94 invalid cases of this
/// copy of the suite with a syntax error.
const SAPHYR_ACCEPTS_INVALID: &[&str] = &[];

/// Where each case lives: `ID` or `ID/NN` for cases with several parts.
fn cases() -> Vec<(String, PathBuf)> {
    let mut cases = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(SUITE)
        .expect("the YAML test suite is in tests/yaml-test-suite")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let id = dir.file_name().unwrap().to_string_lossy().into_owned();
        if dir.join("in.yaml").exists() {
            cases.push((id.clone(), dir.clone()));
        }
        let mut subs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir() && p.join("in.yaml").exists())
            .collect();
        subs.sort();
        for sub in subs {
            let sub_id = format!("{id}/{}", sub.file_name().unwrap().to_string_lossy());
            cases.push((sub_id, sub));
        }
    }
    cases
}

/// Reads a case in its own thread: `Ok(error codes)` (empty if it loaded), `Err` on a panic or
/// a hang.
fn run(path: &Path, format: Format) -> Result<Vec<&'static str>, String> {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (tx, rx) = mpsc::channel();
    let name = path.display().to_string();
    std::thread::spawn(move || {
        let source = SourceFile::new(name, text);
        let codes: Vec<&'static str> = read_records(&source, format, &LoadOptions::default())
            .filter_map(|r| r.err().map(|e| e.code.as_str()))
            .collect();
        let _ = tx.send(codes);
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(codes) => Ok(codes),
        Err(mpsc::RecvTimeoutError::Timeout) => Err("hangs".to_string()),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err("panics".to_string()),
    }
}

#[test]
fn every_suite_case_loads_or_is_refused() {
    let started = Instant::now();
    let mut loaded = 0;
    let mut refused = 0;
    let mut fail_cases = 0;
    let mut fail_refused = 0;
    let mut broken = Vec::new();
    let mut accepted_invalid = Vec::new();
    let mut valid_but_syntax_error = Vec::new();
    let mut codes_seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut refused_for: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for (id, dir) in cases() {
        let must_fail = dir.join("error").exists();
        match run(&dir.join("in.yaml"), Format::Yaml) {
            Err(what) => broken.push(format!("{id} {what}")),
            Ok(codes) => {
                for code in &codes {
                    *codes_seen.entry(code).or_default() += 1;
                }
                if codes.is_empty() {
                    loaded += 1;
                } else {
                    refused += 1;
                }
                for code in codes.iter().filter(|c| {
                    !matches!(
                        **c,
                        "caveat::data::not_a_record" | "caveat::data::yaml_syntax"
                    )
                }) {
                    refused_for.entry(code).or_default().push(id.clone());
                }
                if must_fail {
                    fail_cases += 1;
                    // Refused for the syntax, not merely because its document is not a record.
                    if !codes.contains(&"caveat::data::yaml_syntax") {
                        accepted_invalid.push(id.clone());
                    } else {
                        fail_refused += 1;
                    }
                } else if codes.contains(&"caveat::data::yaml_syntax") {
                    valid_but_syntax_error.push(id.clone());
                }
            }
        }
        // The JSON twin of a valid case must not break the JSON reader either.
        let json = dir.join("in.json");
        if json.exists() {
            if let Err(what) = run(&json, Format::Json) {
                broken.push(format!("{id}/in.json {what}"));
            }
            if let Err(what) = run(&json, Format::Jsonl) {
                broken.push(format!("{id}/in.json as JSONL {what}"));
            }
        }
    }
    println!(
        "yaml-test-suite: {} cases: {loaded} loaded, {refused} refused; {fail_refused} of {fail_cases} \
         invalid cases refused as invalid YAML ({:?})",
        loaded + refused,
        started.elapsed()
    );
    println!("error codes: {codes_seen:?}");
    println!("cases refused for their content: {refused_for:?}");
    println!("valid YAML that saphyr rejects: {valid_but_syntax_error:?}");
    println!("invalid YAML that saphyr accepts: {accepted_invalid:?}");
    assert!(broken.is_empty(), "cases that panic or hang: {broken:?}");
    let unexpected: Vec<&String> = accepted_invalid
        .iter()
        .filter(|id| !SAPHYR_ACCEPTS_INVALID.contains(&id.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "invalid YAML loaded without an error: {unexpected:?}"
    );
    let fixed: Vec<&&str> = SAPHYR_ACCEPTS_INVALID
        .iter()
        .filter(|id| !accepted_invalid.iter().any(|a| a == *id))
        .collect();
    assert!(
        fixed.is_empty(),
        "now refused, remove from SAPHYR_ACCEPTS_INVALID: {fixed:?}"
    );
}
