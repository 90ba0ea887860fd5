//! `caveat fmt` on files: rewriting, `--check` with a diff, refusing what does not parse.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use common::{caveat_in as caveat, scratch};

const MESSY: &str =
    "# rules\nrule  big {\nwarn when amount>5   # large\n}\n\n\n\nlet  limits = [ 1,2 ]\n";
const TIDY: &str =
    "# rules\nrule big {\n  warn when amount > 5 # large\n}\n\nlet limits = [1, 2]\n";

#[test]
fn check_prints_a_diff_and_changes_nothing() {
    let dir = scratch("fmt/check", &[("a.policy", MESSY), ("b.policy", TIDY)]);
    let out = caveat(&dir, &["fmt", "--check", "."]);
    assert_eq!(out.status.code(), Some(1));
    let diff = String::from_utf8(out.stdout).unwrap();
    assert!(diff.contains("-warn when amount>5   # large"), "{diff}");
    assert!(diff.contains("+  warn when amount > 5 # large"), "{diff}");
    assert!(!diff.contains("b.policy"), "{diff}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 2 policy files not formatted"));
    assert_eq!(
        std::fs::read_to_string(dir.join("a.policy")).unwrap(),
        MESSY
    );
}

#[test]
fn fmt_rewrites_in_place_keeping_permissions_and_is_idempotent() {
    let dir = scratch("fmt/rewrite", &[("a.policy", MESSY)]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir.join("a.policy"), std::fs::Permissions::from_mode(0o640))
            .unwrap();
    }
    let out = caveat(&dir, &["fmt", "a.policy"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(dir.join("a.policy")).unwrap(), TIDY);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("a.policy"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("caveat-fmt"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file left behind");
    let again = caveat(&dir, &["fmt", "--check", "a.policy"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(again.stdout.is_empty());
}

#[test]
fn a_policy_that_does_not_parse_is_reported_and_left_alone() {
    let broken = "deny when amount >\n";
    let dir = scratch("fmt/broken", &[("bad.policy", broken)]);
    let out = caveat(&dir, &["fmt", "bad.policy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("caveat::parse::syntax"));
    assert_eq!(
        std::fs::read_to_string(dir.join("bad.policy")).unwrap(),
        broken
    );
}

/// `caveat fmt -` formats standard input to standard output, as editors pipe it; with `--check`
/// it prints only the diff.
#[test]
fn standard_input_is_formatted_to_standard_output() {
    let run = common::caveat_with_stdin;
    let out = run(&["fmt", "-"], MESSY);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), TIDY);
    let out = run(&["fmt", "--check", "-"], MESSY);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("+let limits = [1, 2]")
    );
    assert_eq!(run(&["fmt", "--check", "-"], TIDY).status.code(), Some(0));
    let out = run(&["fmt", "-"], "rule r { deny vendor\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("<stdin>:1:"));
    // With files as well, `-` is refused rather than left out.
    let out = run(&["fmt", "--check", "-", "policies"], MESSY);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be formatted with files"));
    assert!(stderr.contains("caveat::fmt::stdin_with_files"), "{stderr}");
}
