//! Renderers: one per output format. The library returns diagnostics; these turn them into text.

pub mod human;
pub mod json;

use crate::eval::Outcome;
use crate::run::Reported;

/// Counts of findings by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Records read.
    pub records: usize,
    /// `deny` findings.
    pub deny: usize,
    /// `warn` findings.
    pub warn: usize,
    /// `note` findings.
    pub note: usize,
    /// `error` findings.
    pub error: usize,
}

impl Summary {
    /// Counts the findings of a run.
    pub fn of(records: usize, findings: &[Reported]) -> Summary {
        let mut summary = Summary {
            records,
            ..Summary::default()
        };
        for finding in findings {
            match finding.outcome {
                Outcome::Deny => summary.deny += 1,
                Outcome::Warn => summary.warn += 1,
                Outcome::Note => summary.note += 1,
                Outcome::Error => summary.error += 1,
            }
        }
        summary
    }
}
