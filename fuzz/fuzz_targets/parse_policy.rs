//! Any text as a policy: checking it, linting it, running its `test` blocks and rendering every
//! diagnostic must never panic or hang.

#![no_main]

use caveat::check::check_sources_linted;
use caveat::diagnostic::Diag;
use caveat::report::human::{Style, render};
use caveat::source::SourceFile;
use caveat::testing::run_tests;
use libfuzzer_sys::fuzz_target;

fn render_all<'a>(diags: impl IntoIterator<Item = &'a Diag>) {
    let style = Style {
        color: false,
        width: 80,
    };
    for diag in diags {
        let _ = render(diag, style);
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    match check_sources_linted(&[SourceFile::new("fuzz.policy", text)]) {
        Ok(checked) => {
            render_all(&checked.lints);
            let (outcomes, _coverage) = run_tests(&checked.program);
            render_all(outcomes.iter().filter_map(|o| o.failure.as_ref()));
        }
        Err(errors) => render_all(&errors),
    }
});
