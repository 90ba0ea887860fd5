//! Helpers shared by the integration tests.
#![allow(dead_code, reason = "each test binary uses some of the helpers")]

use caveat::diagnostic::Diag;
use caveat::report::human::{Style, render};

/// Renders diagnostics without colour at a fixed width, as snapshots store them.
pub fn rendered(diags: &[Diag]) -> String {
    let style = Style {
        color: false,
        width: 100,
    };
    diags
        .iter()
        .map(|d| render(d, style))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs the built binary with `args` in `dir`, without colour, at a width of 100 columns.
pub fn caveat_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_caveat"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .unwrap_or_else(|e| panic!("the binary does not run: {e}"))
}

/// `caveat diff --base BASE --head HEAD` of `extra` (data, options) in `dir`, as of a fixed day.
pub fn diff_in(
    dir: &std::path::Path,
    base: &str,
    head: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "diff",
        "--base",
        base,
        "--head",
        head,
        "--today",
        "2026-12-05",
    ];
    args.extend_from_slice(extra);
    caveat_in(dir, &args)
}

/// Runs the built binary with `args` in the repository's folder.
pub fn caveat(args: &[&str]) -> std::process::Output {
    caveat_in(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

/// A fresh folder `name` in the tests' scratch space holding `files` (path, contents), for inputs
/// too big or odd to commit.
pub fn scratch(name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for (file, text) in files {
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    dir
}

/// Checks `paths` (policies and data, wherever they are) as `caveat check` does, with `jobs`
/// threads and chunks of `chunk_bytes` (0: the default), records named by `id`: the findings
/// in output order and what the run leaves.
pub fn run_check(
    paths: &[std::path::PathBuf],
    jobs: usize,
    chunk_bytes: usize,
) -> (Vec<caveat::report::Reported>, caveat::report::RunResult) {
    use caveat::run::{RunOptions, compile, discover, evaluate};
    // The files are the test's own, wherever they are.
    let anywhere = caveat::project::Project::new(std::path::Path::new("/"), false);
    let inputs = discover(paths, &[], caveat::data::Format::Yaml, &anywhere)
        .unwrap_or_else(|e| panic!("the inputs are not found: {e:?}"));
    let program = compile(&inputs).unwrap_or_else(|e| panic!("the policies do not check: {e:?}"));
    let options = RunOptions {
        paths: paths.to_vec(),
        id_field: vec!["id".into()],
        jobs,
        chunk_bytes,
        ..RunOptions::default()
    };
    let mut findings = Vec::new();
    let result = evaluate(&program, &inputs, &options, &mut findings)
        .unwrap_or_else(|e| panic!("the run fails: {e}"));
    (findings, result)
}

/// Runs the built binary with `args` in the repository's folder, `input` on standard input.
pub fn caveat_with_stdin(args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_caveat"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("the binary does not run: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .unwrap_or_else(|e| panic!("standard input is not written: {e}"));
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("the binary does not end: {e}"))
}
