//! GitHub Actions workflow commands: each finding becomes an annotation on the line of the record
//! that decided it, in the pull request's "Files changed" tab.

use std::io::Write;

use super::{Place, Report};
use crate::eval::Outcome;
use crate::report::{Reported, RunResult, Sink};

/// Writes `::error file=…,line=…,col=…,title=…::message` lines.
pub(crate) struct GithubWriter<W: Write> {
    /// Where to write.
    pub out: W,
}

/// Escapes the message of a workflow command.
fn data(text: &str) -> String {
    super::text::visible(text)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property of a workflow command.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

impl<W: Write> Sink for GithubWriter<W> {
    fn finding(&mut self, f: &Reported) -> std::io::Result<()> {
        let place = Place::of(f);
        let command = match f.outcome {
            Outcome::Deny | Outcome::Error => "error",
            Outcome::Warn => "warning",
            Outcome::Note | Outcome::Waived => "notice",
        };
        writeln!(
            self.out,
            "::{command} file={},line={},col={},title={}::{}",
            property(place.file),
            place.line,
            place.column,
            property(&format!("caveat {} {}", f.outcome.name(), f.rule_id)),
            data(&match &f.group {
                Some(group) => format!(
                    "{}: {} (records: {})",
                    f.record,
                    f.message,
                    super::group_records(group, super::GROUP_SHOWN).join(", ")
                ),
                None => format!("{}: {}", f.record, f.message),
            }),
        )
    }
}

impl<W: Write> Report for GithubWriter<W> {
    fn finish(&mut self, result: &RunResult) -> std::io::Result<()> {
        for diag in result.data_errors.iter().chain(&result.policy_warnings) {
            let command = match diag.severity {
                crate::diagnostic::Severity::Error => "error",
                crate::diagnostic::Severity::Warning => "warning",
                crate::diagnostic::Severity::Advice => "notice",
            };
            // A diagnostic of no file (an empty folder) names none: an empty `file=` would
            // point the annotation at nothing.
            let place = diag
                .place()
                .map_or_else(String::new, |(file, line, column)| {
                    format!("file={},line={line},col={column},", property(file))
                });
            writeln!(
                self.out,
                "::{command} {place}title={}::{}",
                property(diag.code.as_str()),
                data(&diag.message),
            )?;
        }
        self.out.flush()
    }
}
