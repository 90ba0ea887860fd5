//! Helpers shared by the integration tests.
#![allow(dead_code)]

use caveat::diagnostic::Diag;
use caveat::report::human::{Style, render};

/// Renders diagnostics without colour at a fixed width, as snapshots store them.
pub fn rendered(diags: &[Diag]) -> String {
    let style = Style {
        color: false,
        width: 100,
    };
    diags
        .iter()
        .map(|d| render(d, style))
        .collect::<Vec<_>>()
        .join("\n")
}
