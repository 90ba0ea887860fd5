//! A policy and YAML records, separated by a NUL byte: every record evaluated against every
//! rule, with the same findings through the rule index and the quick tests as by the general
//! evaluation alone, and every finding rendered, without a panic or hang.

#![no_main]

use caveat::check::check_sources;
use caveat::data::{Format, LoadOptions, read_records};
use caveat::eval::{Evaluator, evaluate_all};
use caveat::report::human::{Style, finding_diag, render};
use caveat::report::reported_finding;
use caveat::source::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let (policy, records) = text.split_once('\0').unwrap_or((&text, ""));
    let Ok(program) = check_sources(&[SourceFile::new("fuzz.policy", policy.to_string())]) else {
        return;
    };
    let source = SourceFile::new("fuzz.yaml", records.to_string());
    let mut evaluator = Evaluator::new(&program);
    for record in read_records(&source, Format::Yaml, &LoadOptions::default()).flatten() {
        let (mut indexed, mut scanned) = (Vec::new(), Vec::new());
        evaluator.evaluate(&record, &mut indexed);
        evaluate_all(&program, &record, &mut scanned);
        assert_eq!(
            indexed, scanned,
            "the index and the quick tests agree with the scan"
        );
        for finding in indexed {
            let reported = reported_finding(&program, &record, finding);
            let _ = render(
                &finding_diag(&reported),
                Style {
                    color: false,
                    width: 80,
                },
            );
        }
    }
});
