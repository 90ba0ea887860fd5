//! Any bytes as a data file (the first byte picks YAML, JSON, JSON Lines or CSV): every record
//! read or refused with a diagnostic that renders, never a panic or hang; and read again with
//! each record's tree given back to the reader (as `check` does), the same results.

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
    let mut fresh = Vec::new();
    for record in read_records(&source, format, &options) {
        fresh.push(shown(&record));
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
    let mut reader = read_records(&source, format, &options);
    let mut given_back = Vec::new();
    while let Some(record) = reader.next() {
        given_back.push(shown(&record));
        if let Ok(record) = record {
            reader.give_back(record.root);
        }
    }
    assert_eq!(
        fresh, given_back,
        "reading into trees given back changed the records"
    );
});

/// A result as the two readings must agree on it (not the source, whose lazily counted lines
/// differ once a diagnostic has been rendered).
fn shown(record: &Result<caveat::data::Record, caveat::data::DataError>) -> String {
    match record {
        Ok(r) => format!("record {} {:?} {:?}", r.index, r.root, r.line),
        Err(e) => format!("error {:?} {} {:?} {:?}", e.code, e.message, e.span, e.help),
    }
}
