//! Any text as a policy: checking it and rendering every diagnostic must never panic or hang.

#![no_main]

use caveat::check::check_sources;
use caveat::report::human::{Style, render};
use caveat::source::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    if let Err(errors) = check_sources(&[SourceFile::new("fuzz.policy", text)]) {
        for diag in &errors {
            let _ = render(
                diag,
                Style {
                    color: false,
                    width: 80,
                },
            );
        }
    }
});
