//! Reading a file in chunks on several threads gives exactly the output of reading it whole on one.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::PathBuf;

mod common;

/// Every finding as text: record, index, effect, rule, position and message.
fn run(paths: &[PathBuf], jobs: usize, chunk_bytes: usize) -> (Vec<String>, String) {
    let (findings, result) = common::run_check(paths, jobs, chunk_bytes);
    let shown = findings
        .iter()
        .map(|f| {
            let (line, column) = f.at.line_col();
            format!(
                "{} {} {} {} {}:{}:{} {}",
                f.record,
                f.index,
                f.outcome.name(),
                f.rule_id,
                f.at.source.name(),
                line,
                column,
                f.message
            )
        })
        .collect();
    let errors: Vec<String> = result
        .data_errors
        .iter()
        .map(|d| format!("{} {:?}", d.code, d.location().map(|l| l.line_col())))
        .collect();
    (shown, format!("{:?} {errors:?}", result.summary))
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn jobs_and_chunks_do_not_change_the_output() {
    let dir = std::env::temp_dir().join(format!("caveat-jobs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = write(
        &dir,
        "rules.policy",
        "alias DJI = [\"Da-Jiang Innovations\"]\n\
         rule dji { deny vendor DJI after 2018-05-23 unless exemption.kind == urgent }\n\
         rule big { note when amount > 900 message \"{vendor} spent {amount}\" }\n\
         rule bad { warn when quantity > 10 }\n",
    );
    let mut yaml = String::from("# purchases\n");
    let mut jsonl = String::new();
    for i in 0..3000 {
        let vendor = ["DJI", "Parrot", "Da-Jiang Innovations", "Autel"][i % 4];
        let quantity = if i % 97 == 0 {
            "lots".to_string()
        } else {
            (i % 20).to_string()
        };
        let id = if i % 5 == 0 {
            String::new()
        } else {
            format!("id: r{i}\n  ")
        };
        yaml.push_str(&format!(
            "- {id}vendor: {vendor}\n  date: 2018-{:02}-11\n  amount: {}.50\n  quantity: {quantity}\n",
            1 + i % 12,
            i % 1000
        ));
        if i % 500 == 7 {
            yaml.push_str("  vendor: duplicate\n");
        }
        if i % 11 == 0 {
            yaml.push_str("  exemption: {kind: urgent}\n");
        }
        jsonl.push_str(&format!(
            "{{\"vendor\": \"{vendor}\", \"date\": \"2019-01-01\", \"amount\": {i}}}\n"
        ));
        if i % 700 == 3 {
            jsonl.push_str("{not json}\n");
        }
    }
    let paths = vec![
        policy,
        write(&dir, "a.yaml", &yaml),
        write(&dir, "b.jsonl", &jsonl),
    ];
    let whole = run(&paths, 1, 1 << 30);
    assert!(whole.0.len() > 3000, "the data gives findings to compare");
    assert!(whole.1.contains("duplicate_key") && whole.1.contains("json_syntax"));
    for (jobs, chunk) in [(1, 4096), (2, 4096), (4, 1000), (3, 1 << 20)] {
        let chunked = run(&paths, jobs, chunk);
        assert_eq!(
            chunked.1, whole.1,
            "summary and errors with {jobs} jobs, {chunk}-byte chunks"
        );
        assert_eq!(
            chunked.0, whole.0,
            "findings with {jobs} jobs, {chunk}-byte chunks"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
