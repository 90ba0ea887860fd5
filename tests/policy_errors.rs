//! Every broken policy in `tests/policy_errors/` gives the diagnostics in its snapshot.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use std::path::Path;

use caveat::check::{PolicyInput, check};

fn diagnostics_of(path: &Path) -> String {
    let relative = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path);
    let root = relative.parent().unwrap().to_path_buf();
    let input = PolicyInput {
        path: relative.to_path_buf(),
        root,
    };
    match check(&[input]) {
        Ok(_) => panic!("{} should not check cleanly", relative.display()),
        Err(errors) => common::rendered(&errors),
    }
}

#[test]
fn broken_policies() {
    // Paths in diagnostics are relative to the crate root, so that snapshots are stable.
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    insta::glob!("policy_errors/**/err_*.policy", |path| {
        insta::assert_snapshot!(diagnostics_of(path));
    });
}
