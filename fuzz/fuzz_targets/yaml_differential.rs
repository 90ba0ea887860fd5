//! caveat's own YAML block scanner against the general parser: any text gives the same records
//! (values and spans) and the same errors whether the reader starts with the scanner (which hands
//! what it does not read to saphyr-parser) or reads with saphyr-parser alone. With
//! `CAVEAT_FUZZ_STATS=1`, counts how many inputs the scanner read to their end by itself.

#![no_main]

use std::sync::atomic::{AtomicUsize, Ordering};

use caveat::data::{DataError, Format, LoadOptions, Record, read_records, yaml_read_by_scanner};
use caveat::source::SourceFile;
use libfuzzer_sys::fuzz_target;

static RUNS: AtomicUsize = AtomicUsize::new(0);
static FAST: AtomicUsize = AtomicUsize::new(0);

fn outcome(result: &Result<Record, DataError>) -> String {
    match result {
        Ok(record) => format!("record {} {:?}", record.index, record.root),
        Err(e) => format!(
            "error {} {:?} at {:?} ({}) help {:?} related {:?} {}",
            e.code.as_str(),
            e.message,
            e.span,
            e.label,
            e.help,
            e.related,
            e.related_label
        ),
    }
}

fn read(source: &caveat::source::Source, general_only: bool) -> Vec<String> {
    let options = LoadOptions {
        yaml_general_only: general_only,
        ..LoadOptions::default()
    };
    read_records(source, Format::Yaml, &options)
        .map(|r| outcome(&r))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let source = SourceFile::new("fuzz.yaml", text);
    let (ours, general) = (read(&source, false), read(&source, true));
    assert_eq!(ours, general, "the scanner and the general parser agree");
    if std::env::var_os("CAVEAT_FUZZ_STATS").is_some() {
        let runs = RUNS.fetch_add(1, Ordering::Relaxed) + 1;
        let fast = FAST.fetch_add(
            usize::from(yaml_read_by_scanner(&source, &LoadOptions::default())),
            Ordering::Relaxed,
        ) + 1;
        if runs.is_power_of_two() {
            eprintln!("yaml_differential: {runs} inputs, about {fast} read by the scanner alone");
        }
    }
});
