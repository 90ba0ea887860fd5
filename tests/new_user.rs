//! What a new user trips on (issue 18): each report in the file named right after its format,
//! paths relative to the working folder, flags adding to the config's reports.

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
    scratch(&format!("new_user/{name}"), files)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const POLICY: &str = "deny vendor DJI\nwarn vendor Autel\n";
const RECORDS: &str = "- {id: a, vendor: DJI}\n- {id: b, vendor: Autel}\n";
const CSV: &str = "id,vendor\nc,DJI\n";

/// A project whose `caveat.toml` names its policies and data.
fn configured(name: &str, extra: &str) -> PathBuf {
    project(
        name,
        &[
            (
                "caveat.toml",
                &format!("policies = [\"policies\"]\ndata = [\"data\"]\n{extra}"),
            ),
            ("policies/ban.policy", POLICY),
            ("data/buys.yaml", RECORDS),
            ("data/more.csv", CSV),
        ],
    )
}

#[test]
fn an_output_belongs_to_the_format_right_before_it() {
    let dir = configured("pairing", "");
    let out = caveat_in(
        &dir,
        &[
            "check",
            "--format",
            "github",
            "--format",
            "sarif",
            "--output",
            "caveat.sarif",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("::error file="),
        "{}",
        stdout(&out)
    );
    assert!(read(&dir.join("caveat.sarif")).contains("\"version\": \"2.1.0\""));
    // `-o` right after its format, before another format.
    let out = caveat_in(
        &dir,
        &[
            "check", "--format", "sarif", "-o", "b.sarif", "--format", "tap",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("TAP version 14"),
        "{}",
        stdout(&out)
    );
    assert!(read(&dir.join("b.sarif")).contains("\"runs\""));
}

#[test]
fn an_output_with_no_format_before_it_is_a_usage_error() {
    let dir = configured("orphan_output", "");
    for args in [
        &["check", "-o", "out.txt"][..],
        &["check", "-o", "out.txt", "--format", "json"][..],
        &["check", "--format", "json", "-o", "a.json", "-o", "b.json"][..],
    ] {
        let out = caveat_in(&dir, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let text = stderr(&out);
        assert!(
            text.contains("caveat::cli::output_without_format"),
            "{text}"
        );
        assert!(text.contains("right before it"), "{text}");
        assert!(!dir.join("out.txt").exists());
    }
}

/// Every format's report of a config-driven run names files relative to the working folder.
#[test]
fn paths_from_the_config_are_reported_relative_to_the_working_folder() {
    let dir = configured("relative", "");
    let absolute = dir.display().to_string();
    for format in [
        "human", "json", "jsonl", "sarif", "junit", "github", "tap", "csv", "summary",
    ] {
        let out = caveat_in(&dir, &["check", "--format", format]);
        assert_eq!(out.status.code(), Some(1), "{format}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(!text.contains(&absolute), "{format}:\n{text}");
        let wanted = match format {
            "human" => "data/buys.yaml:1:",
            "json" | "jsonl" => "\"file\":\"data/buys.yaml\"",
            "sarif" => "\"uri\":\"data/buys.yaml\"",
            "junit" => "<testsuite name=\"data/buys.yaml\"",
            "github" => "file=data/buys.yaml,",
            "csv" => "data/more.csv,2,",
            "tap" | "summary" => "",
            _ => unreachable!(),
        };
        assert!(text.contains(wanted), "{format}:\n{text}");
    }
    // SARIF says what its relative URIs are relative to.
    let sarif = stdout(&caveat_in(&dir, &["check", "--format", "sarif"]));
    assert!(sarif.contains("\"uriBaseId\":\"%SRCROOT%\""), "{sarif}");
    assert!(sarif.contains("\"originalUriBaseIds\""), "{sarif}");
    // Absolute paths on the command line read the same.
    let out = caveat_in(
        &dir,
        &[
            "check",
            "--format",
            "jsonl",
            &format!("{absolute}/policies"),
            &format!("{absolute}/data/buys.yaml"),
        ],
    );
    let text = stdout(&out);
    assert!(text.contains("\"file\":\"data/buys.yaml\""), "{text}");
    assert!(text.contains("\"file\":\"policies/ban.policy\""), "{text}");
}

#[test]
fn format_flags_add_to_the_config_reports() {
    let dir = configured(
        "flags_add",
        "format = \"csv\"\n[output]\nsarif = \"out/caveat.sarif\"\njunit = \"caveat.xml\"\n",
    );
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let out = caveat_in(
        &dir,
        &[
            "check",
            "--format",
            "json",
            "-o",
            "flag.json",
            "--format",
            "tap",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // The flag's stdout report replaces the config's `format`.
    assert!(
        stdout(&out).starts_with("TAP version 14"),
        "{}",
        stdout(&out)
    );
    // The flag's file and the config's files are all written.
    assert!(read(&dir.join("flag.json")).contains("\"findings\""));
    assert!(read(&dir.join("out/caveat.sarif")).contains("\"runs\""));
    assert!(read(&dir.join("caveat.xml")).contains("<testsuites"));
    // Without a stdout format among the flags, the config's `format` stays on stdout.
    std::fs::remove_file(dir.join("caveat.xml")).unwrap();
    let out = caveat_in(&dir, &["check", "--format", "summary", "-o", "s.md"]);
    assert!(
        stdout(&out).starts_with("file,line,column"),
        "{}",
        stdout(&out)
    );
    assert!(read(&dir.join("s.md")).contains('|'));
    assert!(dir.join("caveat.xml").exists());
    // A flag's report to a file the config also names replaces the config's report there.
    let out = caveat_in(&dir, &["check", "--format", "json", "-o", "caveat.xml"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(read(&dir.join("caveat.xml")).starts_with('{'));
}

/// The `entry`, `files` and whether file names are passed, of a hook of
/// `.pre-commit-hooks.yaml`.
fn hook(id: &str) -> (Vec<String>, regex::Regex, bool) {
    let text = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"));
    let start = text
        .find(&format!("\n- id: {id}\n"))
        .unwrap_or_else(|| panic!("no hook {id}"));
    let body = &text[start + 4..];
    let body = &body[..body.find("\n- id:").unwrap_or(body.len())];
    let value = |key: &str| {
        body.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .unwrap_or_else(|| panic!("{id} has no {key}"))
            .trim()
            .to_string()
    };
    let entry = value("entry:")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let files = regex::Regex::new(&value("files:")).unwrap();
    (entry, files, !body.contains("pass_filenames: false"))
}

/// Runs a hook as pre-commit would: its entry, then the changed files its pattern matches.
fn run_hook(dir: &Path, id: &str, changed: &[&str]) -> Output {
    let (entry, files, pass_filenames) = hook(id);
    assert_eq!(entry[0], "caveat");
    let mut args: Vec<&str> = entry[1..].iter().map(String::as_str).collect();
    if pass_filenames {
        args.extend(changed.iter().filter(|f| files.is_match(f)));
    }
    caveat_in(dir, &args)
}

#[test]
fn the_changed_files_hook_checks_against_the_configured_policies_and_data() {
    let dir = configured("hook", "format = \"csv\"\n");
    std::fs::create_dir_all(dir.join(".github/workflows")).unwrap();
    std::fs::write(dir.join(".github/workflows/ci.yml"), "on: push\njobs: {}\n").unwrap();
    let (_, files, _) = hook("caveat-check-files");
    for file in [
        "data/more.csv",
        "data/buys.yaml",
        "policies/ban.policy",
        "caveat.toml",
    ] {
        assert!(files.is_match(file), "{file}");
    }
    // Only data changed: it is checked against the configured policies.
    let out = run_hook(&dir, "caveat-check-files", &["data/more.csv"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("data/more.csv,2,"), "{text}");
    assert!(!text.contains("data/buys.yaml"), "{text}");
    // Only a policy changed: every configured data file is checked.
    let out = run_hook(&dir, "caveat-check-files", &["policies/ban.policy"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("data/more.csv,2,"), "{text}");
    assert!(text.contains("data/buys.yaml,1,"), "{text}");
    // Spelt with `..`, from the project or a folder below it, it is the same file (it was
    // "nothing to check").
    for (at, changed) in [
        (dir.clone(), "data/../data/more.csv"),
        (dir.join("data"), "../data/more.csv"),
    ] {
        let out = caveat_in(&at, &["check", "--changed", changed]);
        assert_eq!(out.status.code(), Some(1), "{changed}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("more.csv,2,"),
            "{changed}: {}",
            stdout(&out)
        );
    }
    // A changed YAML file outside the configuration is no record.
    let out = run_hook(
        &dir,
        "caveat-check-files",
        &[".github/workflows/ci.yml", "README.md"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("nothing to check"),
        "{}",
        stderr(&out)
    );
    // The whole-project hook reads the config.
    let out = run_hook(&dir, "caveat-check", &["data/more.csv"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("data/buys.yaml"));
}

/// A changed policy file that the configured run does not read (the config excludes it) does not
/// call for every data file; one it reads through an import does, excluded or not.
#[test]
fn a_changed_policy_the_run_does_not_read_checks_only_changed_data() {
    let dir = project(
        "hook-excluded",
        &[
            (
                "caveat.toml",
                "policies = [\"policies\"]\ndata = [\"data\"]\nexclude = [\"drafts/\", \"lib/\"]\n",
            ),
            (
                "policies/ban.policy",
                "import \"lib/list.policy\"\ndeny vendor in banned\n",
            ),
            ("policies/lib/list.policy", "let banned = [DJI]\n"),
            ("policies/drafts/new.policy", "deny vendor Autel\n"),
            ("data/a.yaml", "- {id: a, vendor: DJI}\n"),
            ("data/b.yaml", "- {id: b, vendor: DJI}\n"),
        ],
    );
    let check = |changed: &[&str]| {
        let mut args = vec!["check", "--changed", "--format", "csv"];
        args.extend_from_slice(changed);
        caveat_in(&dir, &args)
    };
    let out = check(&["policies/drafts/new.policy", "data/a.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("data/a.yaml,1,") && !text.contains("data/b.yaml"),
        "{text}"
    );
    let out = check(&["policies/drafts/new.policy"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing to check"),
        "{}",
        stderr(&out)
    );
    let out = check(&["policies/lib/list.policy"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("data/a.yaml,1,") && text.contains("data/b.yaml,1,"),
        "{text}"
    );
    // A policy file that is gone may have been read: everything is checked.
    let out = check(&["policies/old.policy"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("data/b.yaml,1,"), "{}", stdout(&out));
}

/// With `--changed`, a waiver of a record in a file not read is not stale (the full run does not
/// fail, so neither does the hook), and a rule across records says it saw only the files read.
#[test]
fn the_changed_files_hook_does_not_call_waivers_stale_and_says_groups_are_partial() {
    let dir = project(
        "hook-partial",
        &[
            (
                "caveat.toml",
                "policies = [\"pol\"]\ndata = [\"data\"]\ntoday = \"2026-01-01\"\nfail-on = \"warn\"\n",
            ),
            (
                "pol/r.policy",
                "rule big { deny when amount > 1000 }\nwaive big for id == \"W1\" until 2030-01-01 because \"approved\"\n",
            ),
            ("data/a.yaml", "- {id: W1, vendor: V, amount: 5000}\n"),
            ("data/b.yaml", "- {id: B1, vendor: V, amount: 5}\n"),
        ],
    );
    let out = caveat_in(&dir, &["check", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run_hook(&dir, "caveat-check-files", &["data/b.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("stale"), "{}", stderr(&out));
    // Nor is a field only the files left out have called unseen.
    std::fs::write(
        dir.join("pol/e.policy"),
        "rule urgent { note when exemption.kind == urgent }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("data/a.yaml"),
        "- {id: W1, vendor: V, amount: 5000, exemption: {kind: training}}\n",
    )
    .unwrap();
    let out = caveat_in(&dir, &["check", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run_hook(&dir, "caveat-check-files", &["data/b.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("unseen"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("run::partial"), "{}", stderr(&out));
    // A group rule: told that it saw only the changed files, as a note that fails nothing.
    std::fs::write(
        dir.join("pol/g.policy"),
        "rule many { note per vendor having count(group) > 1 }\n",
    )
    .unwrap();
    let out = run_hook(&dir, "caveat-check-files", &["data/b.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("caveat::run::partial"),
        "{}",
        stderr(&out)
    );
    assert!(!stdout(&out).contains("many"), "{}", stdout(&out));
}

#[test]
fn a_semicolon_csv_export_is_read_by_its_columns() {
    let dir = project(
        "semicolon",
        &[
            ("ban.policy", POLICY),
            (
                "export.csv",
                "id;vendor;amount\nx-1;DJI;\"1,5\"\nx-2;Autel;3\n",
            ),
        ],
    );
    let out = caveat_in(
        &dir,
        &["check", "--format", "csv", "ban.policy", "export.csv"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("export.csv,2,5,x-1,ban:1,deny"), "{text}");
    assert!(text.contains("export.csv,3,5,x-2,ban:2,warn"), "{text}");
}

/// A project with a waiver that ends on 2026-01-01 and a test that relies on it.
fn waived_project(name: &str, today: &str) -> PathBuf {
    project(
        name,
        &[
            (
                "caveat.toml",
                &format!("policies = [\"policies\"]\ndata = [\"data\"]\n{today}"),
            ),
            (
                "policies/ban.policy",
                "rule no-dji {\n  deny vendor DJI\n}\n\
                 waive no-dji for id == a until 2026-01-01 because \"field trial\"\n\
                 test \"the trial drone passes\" {\n  given { id: a, vendor: DJI }\n  expect waived no-dji\n}\n",
            ),
            ("data/buys.yaml", "- {id: a, vendor: DJI}\n"),
        ],
    )
}

#[test]
fn today_can_be_set_in_the_config_and_the_flag_wins() {
    let dir = waived_project("today_config", "today = \"2025-06-01\"\n");
    let out = caveat_in(&dir, &["check", "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("\"effect\":\"waived\""),
        "{}",
        stdout(&out)
    );
    let out = caveat_in(
        &dir,
        &["check", "--format", "jsonl", "--today", "2026-12-05"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("caveat::waiver::expired"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn test_snapshot_and_diff_say_which_day_they_used() {
    let dir = waived_project("today_said", "today = \"2025-06-01\"\n");
    let out = caveat_in(&dir, &["test"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("testing as of 2025-06-01 (`today` in caveat.toml)\n"),
        "{}",
        stdout(&out)
    );
    let out = caveat_in(&dir, &["snapshot", "-o", "outcomes.txt"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("caveat: outcomes as of 2025-06-01 (`today` in caveat.toml)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(read(&dir.join("outcomes.txt")), "a\twaived\tno-dji\n");
    let out = caveat_in(
        &dir,
        &[
            "diff",
            "--base",
            "policies",
            "--head",
            "policies",
            "--today",
            "2026-02-03",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("outcomes as of 2026-02-03 (--today)\n"),
        "{}",
        stdout(&out)
    );
    let out = caveat_in(
        &dir,
        &[
            "diff", "--base", "policies", "--head", "policies", "--format", "json",
        ],
    );
    assert!(
        stdout(&out).contains("\"today\": \"2025-06-01\""),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_test_that_fails_because_its_waiver_expired_says_so() {
    let dir = waived_project("expired_test", "");
    let out = caveat_in(&dir, &["test", "--today", "2026-12-05"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("testing as of 2026-12-05 (--today)\n"),
        "{text}"
    );
    assert!(
        text.contains("the waiver of `no-dji` expired on 2026-01-01, as of 2026-12-05"),
        "{text}"
    );
}

#[test]
fn unreadable_input_is_counted_and_a_binary_file_shows_no_source() {
    let dir = project(
        "unreadable",
        &[
            ("ban.policy", POLICY),
            (
                "buys.yaml",
                "- {id: a, vendor: DJI}\n- {id: b, vendor: [open\n",
            ),
        ],
    );
    std::fs::write(
        dir.join("blob.yaml"),
        b"id: 1\nvendor: \xff\xfe\x00\x01\x1b[2J\n",
    )
    .unwrap();
    let out = caveat_in(&dir, &["check", "ban.policy", "buys.yaml", "blob.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(
        text.ends_with("records checked: 1 deny, 0 warn, 0 note, 0 error, 2 unreadable\n"),
        "{text}"
    );
    let errors = stderr(&out);
    let binary = &errors[errors.find("caveat::io::not_utf8").unwrap()..];
    assert!(
        binary.contains("`blob.yaml` is not, from line 2, column 9"),
        "{binary}"
    );
    assert!(!binary.contains('│'), "no source excerpt:\n{binary}");
    assert!(
        !binary.contains('\u{1b}') && !binary.contains('\u{fffd}'),
        "{binary}"
    );
}

#[test]
fn every_page_the_manual_names_can_be_printed() {
    let dir = project("man", &[]);
    let top = stdout(&caveat_in(&dir, &["man"]));
    let named: Vec<&str> = top
        .split("caveat\\-")
        .skip(1)
        .filter_map(|rest| rest.split_once("(1)").map(|(name, _)| name))
        .collect();
    assert!(
        named.contains(&"check") && named.contains(&"man"),
        "{named:?}"
    );
    for name in named {
        let out = caveat_in(&dir, &["man", name]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let page = stdout(&out);
        assert!(page.contains(&format!(".TH caveat-{name} 1")), "{page}");
        assert!(page.contains(&format!("caveat\\-{name} \\-")), "{page}");
        assert!(page.contains(".SH \"SEE ALSO\"\ncaveat(1)"), "{page}");
    }
    let out = caveat_in(&dir, &["man", "chek"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean `check`?"),
        "{}",
        stderr(&out)
    );
}

/// Runs `caveat` in `dir` with a stdout whose reader has gone already, as `caveat … | head` ends.
fn with_closed_stdout(dir: &Path, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    std::process::Command::new(env!("CARGO_BIN_EXE_caveat"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap()
}

/// Diagnostics on a stderr whose reader has gone (`caveat lint 2>&1 | head`) end the command
/// quietly, without a panic, and not as a pass: the diagnostics were not all written.
#[test]
fn a_closed_stderr_ends_the_command_quietly_and_not_as_a_pass() {
    let dir = project(
        "closed_stderr",
        &[
            ("policies/broken.policy", "deny when (\n"),
            // Only a warning: exit 0 when it is written.
            (
                "policies/warned.policy",
                "let unused = 1\ndeny vendor DJI\n",
            ),
        ],
    );
    for args in [
        &["lint", "policies/broken.policy"][..],
        &["test", "policies/broken.policy"][..],
        &["lint", "policies/warned.policy"][..],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_caveat"))
            .args(args)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::null())
            .stderr(writer)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let dir = waived_project("closed_pipe", "today = \"2025-06-01\"\n");
    std::fs::write(dir.join("policies/ugly.policy"), "deny   vendor Autel\n").unwrap();
    let init = dir.join("fresh");
    for (args, code) in [
        (&["man"][..], 0),
        (&["man", "check"][..], 0),
        (&["completions", "bash"][..], 0),
        (&["--help"][..], 0),
        (&["check", "--help"][..], 0),
        (&["--version"][..], 0),
        (&["init", init.to_str().unwrap()][..], 0),
        (&["explain", "no-dji", "a"][..], 0),
        (&["fmt", "--check"][..], 1),
        (&["lint"][..], 0),
        (&["test"][..], 0),
        (&["snapshot"][..], 0),
        (&["diff", "--base", "policies", "--head", "policies"][..], 0),
        // A check that could not write its report did not finish: it fails, quietly.
        (&["check"][..], 2),
    ] {
        let out = with_closed_stdout(&dir, args);
        let errors = stderr(&out).to_lowercase();
        assert!(
            !errors.contains("broken pipe") && !errors.contains("internal error"),
            "{args:?}: {errors}"
        );
        assert!(!errors.contains("panicked"), "{args:?}: {errors}");
        assert_eq!(out.status.code(), Some(code), "{args:?}: {errors}");
    }
}

#[test]
fn nothing_checked_is_a_warning_not_a_pass() {
    let dir = project(
        "vacuous",
        &[
            ("p/ban.policy", POLICY),
            ("p/empty.policy", "# rules to come\n\n"),
            (
                "lets/names.policy",
                "let uas = [Parrot]\ndeny vendor in uas\n",
            ),
            ("only_lets/names.policy", "let uas = [DJI]\n"),
            // A lone CR ends a comment, as the parser has it: a rule follows.
            ("cr/rule.policy", "# a comment\rnote when vendor == DJI\n"),
            ("cr_empty/e.policy", "\u{feff}# a\r# b\r"),
            ("d/buys.yaml", RECORDS),
            ("d/empty.yaml", ""),
            ("d/header.csv", "id,vendor\n"),
            ("d/none.json", "[]\n"),
        ],
    );
    let cases: [(&[&str], &[&str]); 7] = [
        (
            &["p/ban.policy", "p/empty.policy", "d/buys.yaml"],
            &["caveat::input::empty_policy"],
        ),
        (&["only_lets", "d/buys.yaml"], &["caveat::input::no_rules"]),
        (
            &[
                "p/ban.policy",
                "d/empty.yaml",
                "d/header.csv",
                "d/none.json",
            ],
            &["caveat::input::empty_data"],
        ),
        (&["p/ban.policy"], &["caveat::input::no_records"]),
        (&["lets", "d/buys.yaml"], &[]),
        (&["cr", "d/buys.yaml"], &[]),
        (
            &["p/ban.policy", "cr_empty", "d/buys.yaml"],
            &["caveat::input::empty_policy"],
        ),
    ];
    for (paths, codes) in cases {
        let mut args = vec!["check", "--format", "json"];
        args.extend(paths);
        let out = caveat_in(&dir, &args);
        let (json, errors) = (stdout(&out), stderr(&out));
        for code in codes {
            assert!(errors.contains(code), "{paths:?}: {errors}");
            assert!(
                json.contains(&format!("\"code\":\"{code}\"")),
                "{paths:?}: {json}"
            );
        }
        if codes.is_empty() {
            assert!(!errors.contains("caveat::input::"), "{paths:?}: {errors}");
        }
        args.extend(["--fail-on", "warn"]);
        let failed = caveat_in(&dir, &args).status.code();
        assert_eq!(
            failed,
            Some(if codes.is_empty() { 0 } else { 1 }),
            "{paths:?}"
        );
    }
    // Each empty data file is named once, and the run's "no records" is not said besides.
    let out = caveat_in(
        &dir,
        &["check", "p/ban.policy", "d/empty.yaml", "d/header.csv"],
    );
    let errors = stderr(&out);
    assert_eq!(
        errors.matches("caveat::input::empty_data").count(),
        2,
        "{errors}"
    );
    assert!(
        errors.contains("data file `d/header.csv` holds no records"),
        "{errors}"
    );
    assert!(!errors.contains("caveat::input::no_records"), "{errors}");
    assert!(
        stdout(&out).starts_with("0 records checked"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn explain_says_which_alias_entry_matched() {
    let dir = project(
        "alias_explain",
        &[
            (
                "a.policy",
                "alias Huawei = [\"Huawei Technologies Co., Ltd.\", '(?i)^huawei\\b.*']\n\
                 rule no-huawei {\n  deny vendor Huawei\n}\n",
            ),
            (
                "d.yaml",
                "- {id: a, vendor: \"HUAWEI DEVICE CO., LTD.\"}\n- {id: c, vendor: \"huawei technologies co ltd\"}\n",
            ),
        ],
    );
    let mut text = String::new();
    for record in ["a", "c"] {
        let out = caveat_in(
            &dir,
            &["explain", "no-huawei", record, "a.policy", "d.yaml"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        text.push_str(&stdout(&out));
    }
    insta::assert_snapshot!(text);
}

/// A misspelt field makes a rule silently pass wherever the rule reads it: in a rule-local
/// `let`, a group key, a group rule's `where`, `group.FIELD`, a comprehension's body or
/// filter, or through `r` of `r in group`. Each is a warning at the expression that reads it;
/// the fields spelt right, in the same places, are not.
#[test]
fn a_field_no_record_has_is_found_in_lets_keys_groups_and_comprehensions() {
    let policy = "rule local {\n  let x = amout\n  warn when x > median(all.x)\n}\n\
                  rule keyed {\n  warn per vendr, buyer.unit\n}\n\
                  rule filtered {\n  warn per vendor where amnt > 5\n}\n\
                  rule summed {\n  warn per vendor when sum(group.amuont) > 1 and sum(group.amount) > 1\n}\n\
                  rule listed {\n  note when count([i.pric for i in items where i.qty > 1]) > 0\n}\n\
                  rule members {\n  warn per vendor when any r in group where r.buyer.unti == u1\n}\n\
                  rule right {\n  let y = sum(group.amount)\n  warn per vendor, buyer.unit where amount > 5\n    when any r in group where count([i.price for i in r.items where i.qty > 1]) > 0 and y > 0\n}\n\
                  rule nested {\n  let x = [b.x for b in group.bids.details where b.status == valid]\n  let n = count(group.bids.detail)\n  note per vendor when count(x) > n\n}\n";
    let records = "- {id: a, vendor: V, amount: 5, buyer: {unit: u1}, items: [{price: 2, qty: 3}], bids: {details: [{status: valid, x: 1}]}}\n\
                   - {id: b, vendor: W, amount: 7, buyer: {unit: u2}}\n";
    let dir = project(
        "unseen-across",
        &[("m.policy", policy), ("m.yaml", records)],
    );
    let out = caveat_in(
        &dir,
        &["check", "--format", "json", "-j", "1", "m.policy", "m.yaml"],
    );
    let json = stdout(&out);
    assert!(!json.is_empty(), "{}", stderr(&out));
    for (field, rule) in [
        ("amout", "local"),
        ("vendr", "keyed"),
        ("amnt", "filtered"),
        ("amuont", "summed"),
        ("items.pric", "listed"),
        ("buyer.unti", "members"),
        // `group.bids.details` is read from each record, and its elements' paths after it.
        ("bids.detail", "nested"),
    ] {
        let said = format!("has `{field}`, which rule `{rule}` reads");
        assert!(json.contains(&said), "no warning that {said}:\n{json}");
    }
    assert_eq!(
        json.matches("no record of this run has").count(),
        7,
        "{json}"
    );
}

#[test]
fn a_field_no_record_has_is_a_warning_at_the_rule_with_a_suggestion() {
    let policy = "rule ban {\n  deny when vendr == DJI\n}\n\
                  rule urgent {\n  warn when exemption.kidn == urgent\n}\n\
                  rule items {\n  note when any item in line_items where item.vendorr == DJI\n}\n\
                  rule fine {\n  deny vendor Parrot\n}\n";
    let records = "- {id: a, vendor: DJI, exemption: {kind: urgent}, line_items: [{vendor: DJI}]}\n\
                   - {id: b, vendor: Autel}\n";
    let dir = project("unseen", &[("m.policy", policy), ("m.yaml", records)]);
    let out = caveat_in(&dir, &["check", "-q", "m.policy", "m.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!(stderr(&out));
    // In JSON `warnings`, failing `--fail-on warn`, the same for any number of jobs.
    let json = caveat_in(
        &dir,
        &["check", "--format", "json", "-j", "1", "m.policy", "m.yaml"],
    );
    assert_eq!(
        stdout(&json).matches("caveat::run::unseen_field").count(),
        3,
        "{}",
        stdout(&json)
    );
    let failing = caveat_in(
        &dir,
        &[
            "check",
            "--fail-on",
            "warn",
            "-j",
            "2",
            "m.policy",
            "m.yaml",
        ],
    );
    assert_eq!(failing.status.code(), Some(1));
    assert_eq!(stderr(&failing), stderr(&out));
    // A schema declares the fields: lint reports unknown ones instead.
    let dir = project(
        "unseen_schema",
        &[
            (
                "m.policy",
                "record {\n  id: string\n  vendor?: string\n  note?: string\n}\ndeny when note == x\n",
            ),
            ("m.yaml", records),
        ],
    );
    let out = caveat_in(&dir, &["check", "m.policy", "m.yaml"]);
    assert!(!stderr(&out).contains("unseen_field"), "{}", stderr(&out));
    // When no record could be read, the data error says why; no field was unseen.
    let dir = project(
        "unseen_unreadable",
        &[
            ("m.policy", "deny when amount > 1\n"),
            ("m.jsonl", "{\"id\": \"a\", \"amount\": 9,}\n"),
        ],
    );
    let out = caveat_in(&dir, &["check", "m.policy", "m.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("caveat::data::json_syntax"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("unseen_field"), "{}", stderr(&out));
}

/// The "did you mean" of a field no record has is written as a policy writes it: a key that is
/// not an identifier in brackets, `content.award["#text"]`, `record["Entity Name"]`.
#[test]
fn unseen_fields_suggest_paths_that_parse() {
    let dir = scratch(
        "unseen-brackets",
        &[
            (
                "p.policy",
                "rule t1 { warn when content.award[\"#txt\"] == G }\n\
                 rule t2 { note when record[\"Entity Nme\"] == x }\n",
            ),
            (
                "d.yaml",
                "- {id: a, content: {award: {\"#text\": G}}, \"Entity Name\": y}\n",
            ),
        ],
    );
    let out = caveat_in(&dir, &["check", "p.policy", "d.yaml"]);
    let errors = stderr(&out);
    assert!(
        errors.contains("did you mean `content.award[\"#text\"]`?"),
        "{errors}"
    );
    assert!(
        errors.contains("did you mean `record[\"Entity Name\"]`?"),
        "{errors}"
    );
}
