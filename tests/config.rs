//! `caveat.toml` and folder walking: discovery upward, precedence (flag over config over
//! default), unknown keys, `.gitignore` and `--exclude`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{caveat_in, scratch};

/// A fresh project folder holding `files` (path, contents).
fn project(name: &str, files: &[(&str, &str)]) -> PathBuf {
    scratch(&format!("config/{name}"), files)
}

fn caveat(dir: &Path, args: &[&str]) -> Output {
    caveat_in(dir, args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const POLICY: &str = "deny vendor DJI\nwarn vendor Autel\n";
const RECORDS: &str = "- {id: a, vendor: DJI}\n- {id: b, vendor: Autel}\n";

#[test]
fn check_without_paths_uses_the_nearest_config_above() {
    let dir = project(
        "discovery",
        &[
            (
                "caveat.toml",
                "policies = [\"rules\"]\ndata = [\"records/*.yaml\"]\nformat = \"csv\"\n",
            ),
            ("rules/ban.policy", POLICY),
            ("records/buys.yaml", RECORDS),
            ("sub/deeper/.keep", ""),
        ],
    );
    let out = caveat(&dir.join("sub/deeper"), &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("file,line,column,record,rule"), "{text}");
    assert_eq!(text.lines().count(), 3, "{text}");
}

#[test]
fn flags_override_the_config_which_overrides_the_defaults() {
    let dir = project(
        "precedence",
        &[
            (
                "caveat.toml",
                "policies = [\"rules\"]\ndata = [\"records\"]\nfail-on = \"warn\"\nid-field = \"vendor\"\n",
            ),
            ("rules/ban.policy", "warn vendor Autel\n"),
            ("records/buys.yaml", RECORDS),
        ],
    );
    // The config says warn fails, and names records by vendor.
    let out = caveat(&dir, &["check", "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("\"record\":\"Autel\""),
        "{}",
        stdout(&out)
    );
    // Flags win.
    let out = caveat(
        &dir,
        &[
            "check",
            "--format",
            "jsonl",
            "--fail-on",
            "deny",
            "--id-field",
            "id",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("\"record\":\"b\""),
        "{}",
        stdout(&out)
    );
    // Paths on the command line replace the config's; its other settings stay.
    let out = caveat(
        &dir,
        &["check", "--format", "jsonl", "rules", "records/buys.yaml"],
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_config_named_with_config_and_its_outputs() {
    let dir = project(
        "outputs",
        &[
            (
                "conf/caveat.toml",
                "policies = [\"../rules\"]\ndata = [\"../records\"]\n[output]\nsarif = \"../out.sarif\"\njunit = \"../out.xml\"\n",
            ),
            ("rules/ban.policy", POLICY),
            ("records/buys.yaml", RECORDS),
        ],
    );
    // The config's folder is the project root: reaching `../rules` needs `--allow-outside`.
    let out = caveat(&dir, &["check", "--config", "conf/caveat.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("caveat::io::outside_project"));
    let out = caveat(
        &dir,
        &["check", "--config", "conf/caveat.toml", "--allow-outside"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).is_empty(),
        "only files are written: {}",
        stdout(&out)
    );
    assert!(
        std::fs::read_to_string(dir.join("out.sarif"))
            .unwrap()
            .contains("\"ruleId\"")
    );
    assert!(
        std::fs::read_to_string(dir.join("out.xml"))
            .unwrap()
            .contains("<testcase")
    );
}

#[test]
fn unknown_keys_are_errors_that_point_into_the_config() {
    let dir = project(
        "unknown",
        &[(
            "caveat.toml",
            "policies = [\"rules\"]\nfail_on = \"warn\"\n",
        )],
    );
    let out = caveat(&dir, &["check"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(
        text.contains("`fail_on` is not a setting caveat knows"),
        "{text}"
    );
    // Named as every other file is: relative to the working folder.
    assert!(text.contains("─[caveat.toml:2:1]"), "{text}");
    assert!(text.contains("did you mean `fail-on`?"), "{text}");
}

#[test]
fn walks_honour_gitignore_and_exclude() {
    let dir = project(
        "walk",
        &[
            ("ban.policy", POLICY),
            (".gitignore", "generated/\n"),
            ("generated/big.yaml", RECORDS),
            ("archive/old.yaml", RECORDS),
            ("current/buys.yaml", RECORDS),
        ],
    );
    let files = |out: &Output| -> Vec<String> {
        let mut files: Vec<String> = stdout(out)
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect();
        files.dedup();
        files
    };
    let out = caveat(&dir, &["check", "--format", "csv", "."]);
    assert_eq!(files(&out), ["./archive/old.yaml", "./current/buys.yaml"]);
    let out = caveat(
        &dir,
        &["check", "--format", "csv", "--exclude", "archive/", "."],
    );
    assert_eq!(files(&out), ["./current/buys.yaml"]);
    // A file named directly is read even if ignored.
    let out = caveat(
        &dir,
        &[
            "check",
            "--format",
            "csv",
            "ban.policy",
            "generated/big.yaml",
        ],
    );
    assert_eq!(files(&out), ["generated/big.yaml"]);
}
