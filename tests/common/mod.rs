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
