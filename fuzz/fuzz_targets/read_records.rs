//! Any bytes as a data file (the first byte picks YAML, JSON, JSON Lines or CSV): every record
//! read or refused with a diagnostic that renders, never a panic or hang.

#![no_main]

use caveat::data::{Format, LoadOptions, read_records};
use caveat::report::human::{Style, render};
use caveat::run::data_error;
use caveat::source::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let format = match selector % 4 {
        0 => Format::Yaml,
        1 => Format::Json,
        2 => Format::Jsonl,
        _ => Format::Csv,
    };
    let options = LoadOptions {
        records_path: (selector & 0x80 != 0).then(|| vec!["entry".to_string()]),
        ..LoadOptions::default()
    };
    let text = String::from_utf8_lossy(rest).into_owned();
    let source = SourceFile::new("fuzz.data", text);
    for record in read_records(&source, format, &options) {
        if let Err(error) = record {
            let _ = render(
                &data_error(error),
                Style {
                    color: false,
                    width: 80,
                },
            );
        }
    }
});
