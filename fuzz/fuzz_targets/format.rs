//! Any policy that parses formats to the same statements (checked inside `format_file`), keeps
//! every comment, and formats to itself; with a unique comment put in every gap between its
//! tokens (Cedar's trick), all of them survive, in order.

#![no_main]

use caveat::format::{NotFormatted, comment_every_gap, format_file, keeps_every_gap_comment};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match format_file("fuzz.policy", &text) {
        Ok(formatted) => {
            assert_eq!(
                format_file("fuzz.policy", &formatted).ok().as_deref(),
                Some(formatted.as_str()),
                "idempotent"
            );
            assert_eq!(
                text.matches('#').count(),
                formatted.matches('#').count(),
                "every comment kept"
            );
            let (gappy, gaps) = comment_every_gap(&text);
            match format_file("fuzz.policy", &gappy) {
                Ok(formatted) => assert!(keeps_every_gap_comment(&formatted, gaps)),
                Err(e) => panic!("a comment in every gap broke the policy: {e:?}"),
            }
        }
        // A rule outside a block that formatting would move down is left alone, as it should.
        Err(NotFormatted::Invalid(_) | NotFormatted::MovesUnnamedRule { .. }) => {}
        Err(NotFormatted::Changed(_)) => panic!("formatting changed the meaning"),
    }
});
