//! The conventions of the command line: `init`, completions, the manual page, `--color`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn caveat(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_caveat"));
    command.args(args).current_dir(dir).env_remove("NO_COLOR");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

fn scratch(name: &str) -> std::path::PathBuf {
    common::scratch(&format!("cli/{name}"), &[])
}

#[test]
fn init_writes_a_project_that_checks_and_never_overwrites() {
    let dir = scratch("init");
    let out = caveat(&dir, &["init"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in [
        "caveat.toml",
        "policies/example.policy",
        "data/purchases.yaml",
    ] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    // The starter project runs as is, through its config: one deny, one warn, one note.
    let out = caveat(&dir, &["check", "--format", "jsonl"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.ends_with(
            "{\"summary\":{\"records\":3,\"deny\":1,\"warn\":1,\"note\":1,\"error\":0}}\n"
        ),
        "{text}"
    );
    // Every setting is at the top level, so one appended at the end is read as itself (it landed
    // in `[output]`, a format named `today`), and the commented output setting works uncommented.
    let config = std::fs::read_to_string(dir.join("caveat.toml")).unwrap();
    let edited = config.replace("# output = {", "output = {") + "today = \"2026-01-01\"\n";
    std::fs::write(dir.join("caveat.toml"), edited).unwrap();
    let out = caveat(&dir, &["check", "--format", "jsonl"], &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("caveat.sarif").is_file() && dir.join("caveat-junit.xml").is_file());
    std::fs::write(dir.join("caveat.toml"), config).unwrap();
    // A second init writes nothing.
    std::fs::write(dir.join("policies/example.policy"), "# mine\n").unwrap();
    let out = caveat(&dir, &["init"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not overwriting"));
    assert_eq!(
        std::fs::read_to_string(dir.join("policies/example.policy")).unwrap(),
        "# mine\n"
    );
}

#[test]
fn completions_and_the_manual_page_come_from_the_command_definitions() {
    let dir = scratch("completions");
    for shell in ["bash", "zsh", "fish"] {
        let out = caveat(&dir, &["completions", shell], &[]);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("fail-on"), "{shell}: {text}");
    }
    let out = caveat(&dir, &["man"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(".TH caveat 1"), "{text}");
    assert!(text.contains("check"), "{text}");
}

#[test]
fn colour_follows_color_and_no_color() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let has_colour = |out: &Output| String::from_utf8_lossy(&out.stdout).contains('\u{1b}');
    let args = ["check", "tests/e2e/headline"];
    // Not a terminal: no colour unless asked.
    assert!(!has_colour(&caveat(repo, &args, &[])));
    let always = ["--color", "always", "check", "tests/e2e/headline"];
    assert!(has_colour(&caveat(repo, &always, &[])));
    assert!(has_colour(&caveat(repo, &always, &[("NO_COLOR", "1")])));
    let never = ["check", "--color", "never", "tests/e2e/headline"];
    assert!(!has_colour(&caveat(repo, &never, &[])));
}

#[test]
fn help_shows_examples() {
    let out = caveat(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["check", "--help"],
        &[],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Examples:"), "{text}");
    assert!(text.contains("--format"), "{text}");
}

#[test]
fn quiet_and_verbose() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let normal = caveat(
        repo,
        &["check", "--color", "never", "tests/e2e/headline"],
        &[],
    );
    assert!(String::from_utf8_lossy(&normal.stdout).contains("4 records checked"));
    let quiet = caveat(
        repo,
        &["check", "-q", "--color", "never", "tests/e2e/headline"],
        &[],
    );
    assert_eq!(quiet.status.code(), Some(1));
    let text = String::from_utf8_lossy(&quiet.stdout);
    assert!(
        text.contains("AF-2018-1114") && !text.contains("records checked"),
        "{text}"
    );
    let verbose = caveat(
        repo,
        &["check", "-v", "--format", "json", "tests/e2e/headline"],
        &[],
    );
    let text = String::from_utf8_lossy(&verbose.stderr);
    assert!(text.contains("1 rules from 1 policy files"), "{text}");
    assert!(
        text.contains("data tests/e2e/headline/purchases.yaml (yaml)"),
        "{text}"
    );
    assert!(
        text.contains("4 records read, evaluated and reported in"),
        "{text}"
    );
    // Not a terminal: no progress bar, whatever the size.
    assert!(!text.contains("checking"), "{text}");
}

#[test]
fn records_and_id_field_take_a_dotted_path_and_records_is_refused_for_csv() {
    let dir = common::scratch(
        "cli-dotted-paths",
        &[
            ("p.policy", "rule big { deny when amount > 1000 }\n"),
            ("d.csv", "id,amount\na,5000\n"),
            (
                "d.json",
                "{\"entry\": [{\"id\": \"a\", \"amount\": 5000}]}\n",
            ),
        ],
    );
    for (flag, value) in [
        ("--records", ""),
        ("--records", "a..b"),
        ("--id-field", ""),
        ("--id-field", ".id"),
    ] {
        let out = common::caveat_in(&dir, &["check", flag, value, "p.policy", "d.json"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value:?}: {err}");
        assert!(
            err.contains(&format!("invalid value '{value}' for '{flag} <PATH>'")),
            "{err}"
        );
    }
    let out = common::caveat_in(&dir, &["check", "--records", "entry", "p.policy", "d.csv"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("caveat::data::no_records_list"), "{err}");
    assert!(err.contains("d.csv:1:1"), "{err}");
}

/// Every command that prints to stdout says so and exits 2 when stdout cannot be written (a full
/// disk); `fmt -`, `fmt --check`, `explain`, `init` and `test` panicked in Rust's `print!`, and
/// `test`, `snapshot` and `diff` exited 2 without a word.
#[test]
fn a_full_stdout_is_an_error_not_a_panic() {
    let dir = common::scratch(
        "full-stdout",
        &[
            (
                "p.policy",
                "deny   vendor DJI\n\ntest \"t\" {\n  given { vendor: DJI }\n  expect deny p:1\n}\n",
            ),
            ("d.yaml", "- {id: a, vendor: DJI}\n"),
        ],
    );
    let commands: &[&[&str]] = &[
        &["fmt", "-"],
        &["fmt", "--check", "p.policy"],
        &["test", "p.policy"],
        &["explain", "p:1", "a", "p.policy", "d.yaml"],
        &["snapshot", "p.policy", "d.yaml"],
        &["diff", "--base", "p.policy", "--head", "p.policy", "d.yaml"],
        &["init", "fresh"],
        &["check", "p.policy", "d.yaml"],
    ];
    for args in commands {
        let full = std::fs::File::create("/dev/full").unwrap_or_else(|e| panic!("/dev/full: {e}"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_caveat"))
            .args(*args)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .stdin(std::fs::File::open(dir.join("p.policy")).unwrap_or_else(|e| panic!("{e}")))
            .stdout(full)
            .output()
            .unwrap_or_else(|e| panic!("the binary does not run: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("cannot write"), "{args:?}: {stderr}");
        // One coded diagnostic for it in every command (`check` printed a plain line).
        assert!(stderr.contains("caveat::io::write"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // `init` wrote every file all the same: it stopped after the first, and a second run
    // refused the half-made project.
    assert!(dir.join("fresh/caveat.toml").is_file());
    assert!(dir.join("fresh/policies").is_dir());
    let out = common::caveat_in(&dir, &["check", "fresh"]);
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
