//! Any policy that parses formats to the same statements (checked inside `format_file`), keeps
//! every comment, and formats to itself.

#![no_main]

use caveat::format::{format, format_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match format_file("fuzz.policy", &text) {
        Ok(formatted) => {
            assert_eq!(format(&formatted), formatted, "idempotent");
            assert_eq!(
                text.matches('#').count(),
                formatted.matches('#').count(),
                "every comment kept"
            );
        }
        Err(caveat::format::NotFormatted::Invalid(_)) => {}
        Err(caveat::format::NotFormatted::Changed(_)) => panic!("formatting changed the meaning"),
    }
});
