//! Every bad data file in `tests/data_errors/` gives the diagnostics in its snapshot, in bounded
//! time, without a panic.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

mod common;

use std::path::Path;

use caveat::data::{Format, LoadOptions, read_records};
use caveat::run::data_error;
use caveat::source::read_text;

fn diagnostics_of(path: &Path) -> String {
    let relative = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path);
    let source = read_text(relative).unwrap();
    let format = Format::from_path(relative).unwrap();
    // The FPDS-style case is read with `--records entry`, as a user would.
    let records_path = relative
        .to_string_lossy()
        .contains("records_path")
        .then(|| vec!["entry".to_string()]);
    let options = LoadOptions {
        records_path,
        ..LoadOptions::default()
    };
    let errors: Vec<_> = read_records(&source, format, &options)
        .filter_map(Result::err)
        .map(data_error)
        .collect();
    assert!(
        !errors.is_empty(),
        "{} should not read cleanly",
        relative.display()
    );
    common::rendered(&errors)
}

#[test]
fn bad_data_files() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    insta::glob!("data_errors/err_*", |path| {
        insta::assert_snapshot!(diagnostics_of(path));
    });
}
