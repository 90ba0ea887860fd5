//! caveat's own YAML block scanner against the general parser: any text gives the same records
//! (values and spans) and the same errors whether the reader starts with the scanner (which hands
//! what it does not read to saphyr-parser) or reads with saphyr-parser alone. With
//! `CAVEAT_FUZZ_STATS=1`, counts how many inputs the scanner read to their end by itself.

#![no_main]

use std::sync::atomic::{AtomicUsize, Ordering};

use caveat::data::{LoadOptions, compare_yaml_readers, yaml_read_by_scanner};
use caveat::source::SourceFile;
use libfuzzer_sys::fuzz_target;

static RUNS: AtomicUsize = AtomicUsize::new(0);
static FAST: AtomicUsize = AtomicUsize::new(0);

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let source = SourceFile::new("fuzz.yaml", text);
    if let Err(difference) = compare_yaml_readers(&source, &LoadOptions::default()) {
        panic!("{difference}");
    }
    if std::env::var_os("CAVEAT_FUZZ_STATS").is_some() {
        let runs = RUNS.fetch_add(1, Ordering::Relaxed) + 1;
        let this = usize::from(yaml_read_by_scanner(&source, &LoadOptions::default()));
        let fast = FAST.fetch_add(this, Ordering::Relaxed) + this;
        if runs.is_power_of_two() {
            eprintln!("yaml_differential: {runs} inputs, {fast} read by the scanner alone");
        }
    }
});
