//! The human report: one miette diagnostic per finding, then a summary line.

use std::fmt::Write as _;

use miette::{GraphicalReportHandler, GraphicalTheme};

use super::Summary;
use crate::diagnostic::{Code, Diag, Severity};
use crate::eval::Outcome;
use crate::report::Reported;

/// How to draw diagnostics.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Use colour.
    pub color: bool,
    /// Wrap at this width.
    pub width: usize,
}

/// Renders one diagnostic as text.
pub fn render(diag: &Diag, style: Style) -> String {
    // A file that is not text has no lines worth showing: its bytes would garble the terminal
    // (its message says where instead).
    let without_source;
    let diag = if diag.code == Code::IoNotUtf8 {
        let bare = match diag.severity {
            Severity::Error => Diag::error(diag.code, diag.message.clone()),
            Severity::Warning => Diag::warning(diag.code, diag.message.clone()),
            Severity::Advice => Diag::advice(diag.code, diag.message.clone()),
        };
        without_source = bare.maybe_help(diag.help.clone());
        &without_source
    } else {
        diag
    };
    // Text from policies and data may hold terminal escapes: shown, never sent.
    let shown = escaped(diag);
    let diag = shown.as_ref().unwrap_or(diag);
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false);
    // Snippets are excerpts, so miette's limits are never reached; should it fail or panic all
    // the same, the diagnostic is still shown, as its plain message.
    let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut out = String::new();
        handler.render_report(&mut out, diag).map(|()| out)
    }));
    match rendered {
        Ok(Ok(out)) => out,
        _ => format!("{}: {}\n", diag.code, diag.message),
    }
}

/// A copy of `diag` with control characters in its message, labels and help shown as `\u{…}`;
/// `None` when there are none. (The source snippets are escaped by [`crate::source`].)
fn escaped(diag: &Diag) -> Option<Diag> {
    use super::text::visible;
    let any = |text: &str| matches!(visible(text), std::borrow::Cow::Owned(_));
    let needed = any(&diag.message)
        || diag.help.as_deref().is_some_and(any)
        || diag.labels.iter().any(|l| any(&l.text));
    if !needed {
        return None;
    }
    let mut copy = diag.clone();
    copy.message = visible(&diag.message).into_owned();
    copy.help = diag.help.as_deref().map(|h| visible(h).into_owned());
    for label in &mut copy.labels {
        label.text = visible(&label.text).into_owned();
    }
    Some(copy)
}

/// A finding as a diagnostic: labelled on the record value and on the rule.
pub fn finding_diag(finding: &Reported) -> Diag {
    let severity = match finding.outcome {
        Outcome::Deny | Outcome::Error => Severity::Error,
        Outcome::Warn => Severity::Warning,
        Outcome::Note | Outcome::Waived => Severity::Advice,
    };
    let value = finding
        .at
        .source
        .slice(finding.at.span)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let value = if value.chars().count() > 40 {
        format!("{}…", value.chars().take(40).collect::<String>())
    } else {
        value
    };
    let conformance = finding.is_conformance();
    // The bad value is another record's, which `all.` brought to this one.
    let elsewhere = finding.outcome == Outcome::Error && finding.elsewhere;
    let record_label = match (&finding.field, finding.outcome) {
        // (A group's error with a field has its own label, below.)
        (field, Outcome::Error) if elsewhere && (field.is_none() || finding.group.is_none()) => {
            "the bad value is another record's, read through `all.`".to_string()
        }
        // A rule without `per` that reads `all.` points at the value of a let it reads, which
        // need not be the value that failed (the message names that).
        (Some(field), Outcome::Error) if finding.across && finding.group.is_none() => {
            format!("`{field}` is {value}, which the rule reads; the message says what failed")
        }
        (None, _) if conformance && finding.rule_id.ends_with("missing_field") => {
            "a required field is missing from this record".to_string()
        }
        (None, _) if conformance && finding.rule_id.ends_with("undeclared_field") => {
            "not declared in the schema".to_string()
        }
        // A group's error: the label stands on the group's first key, and the message names
        // the record that holds the bad value.
        (Some(field), Outcome::Error) if finding.group.is_some() => {
            format!("the group's first record, where `{field}` is {value}")
        }
        (Some(field), Outcome::Error) => format!("bad data: `{field}` is {value}"),
        (Some(field), _) => format!("`{field}` is {value}"),
        (None, _) if finding.group.is_some() => "the group's first record".to_string(),
        (None, Outcome::Error) => "bad data in this record".to_string(),
        (None, _) => format!("record `{}`", finding.record),
    };
    let policy_label = match finding.outcome {
        _ if conformance => "declared here".to_string(),
        Outcome::Error => format!("rule `{}` failed here", finding.rule_id),
        _ => format!("rule `{}`", finding.rule_id),
    };
    // The record's name heads the finding: on one line, whatever the data holds.
    let record = super::text::one_line(&finding.record);
    let message = match finding.outcome {
        _ if conformance => format!(
            "{}: does not conform to the schema: {}",
            record, finding.message
        ),
        Outcome::Error => format!(
            "{}: cannot evaluate rule `{}`: {}",
            record, finding.rule_id, finding.message
        ),
        _ => format!("{}: {}", record, finding.message),
    };
    let help = match finding.outcome {
        _ if conformance => None,
        Outcome::Error if elsewhere => Some(
            "fix the value in the record the message names, or make the rule expect it".to_string(),
        ),
        Outcome::Error if finding.group.is_some() => {
            Some("fix the bad value in the group's records, or make the rule expect it".to_string())
        }
        Outcome::Error => {
            Some("fix the value in the record, or make the rule expect it".to_string())
        }
        _ => finding.cite.as_ref().map(|c| format!("see {c}")),
    };
    Diag::finding(finding.rule_id.clone(), severity, message)
        .label(&finding.at.source, finding.at.span, record_label)
        .label(&finding.policy.source, finding.policy.span, policy_label)
        .maybe_help(help)
}

/// Writes each finding as a diagnostic as it arrives.
pub(crate) struct HumanWriter<W: std::io::Write> {
    /// Where to write.
    pub out: W,
    /// How to draw.
    pub render: HumanRender,
    /// Whether to end with the summary line (not with `--quiet`).
    pub summary: bool,
}

/// Renders a finding as a diagnostic.
pub(crate) struct HumanRender {
    /// How to draw.
    pub style: Style,
}

impl crate::report::Render for HumanRender {
    fn render(&self, finding: &Reported, out: &mut Vec<u8>) {
        match &finding.waiver {
            Some(waiver) => {
                out.extend_from_slice(waived_text(finding, waiver, self.style).as_bytes())
            }
            None => {
                out.extend_from_slice(render(&finding_diag(finding), self.style).as_bytes());
                out.push(b'\n');
            }
        }
        if let Some(group) = &finding.group {
            let heading = match group.records.len() {
                1 => "  the group's record:\n".to_string(),
                n => format!("  the group's {n} records:\n"),
            };
            out.extend_from_slice(heading.as_bytes());
            for line in super::group_records(group, super::GROUP_SHOWN) {
                out.extend_from_slice(format!("    {line}\n").as_bytes());
            }
            out.push(b'\n');
        }
        if let Some(steps) = &finding.explanation {
            out.extend_from_slice(b"  decided by:\n");
            let steps = crate::eval::explain::render_steps(steps);
            for line in super::text::visible(&steps).lines() {
                out.extend_from_slice(format!("  {line}\n").as_bytes());
            }
            out.push(b'\n');
        }
    }
}

/// A waived finding, dimmed in colour: its rule as a heading, like every finding's, then the
/// record and message, then the waiver's reason, owner and end.
pub(crate) fn waived_text(
    finding: &Reported,
    waiver: &crate::report::WaiverNote,
    style: Style,
) -> String {
    let (file, line, column) = finding.at.place();
    let (policy, policy_line, policy_column) = waiver.at.place();
    let shown = |text: &str| super::text::one_line(text).into_owned();
    let mut text = format!(
        "{} (waived)\n\n  ☞ {}: {} ({}:{line}:{column})\n    waived {}: because \"{}\"",
        shown(&finding.rule_id),
        shown(&finding.record),
        shown(&finding.message),
        shown(file),
        waiver.waived.name(),
        shown(&waiver.reason)
    );
    if let Some(owner) = &waiver.owner {
        let _ = write!(text, " by {}", shown(owner));
    }
    let _ = write!(
        text,
        ", until {} ({policy}:{policy_line}:{policy_column})",
        waiver.until
    );
    if style.color {
        format!("\u{1b}[2m{text}\u{1b}[0m\n\n")
    } else {
        format!("{text}\n\n")
    }
}

impl<W: std::io::Write> crate::report::Sink for HumanWriter<W> {
    fn finding(&mut self, finding: &Reported) -> std::io::Result<()> {
        let mut bytes = Vec::new();
        crate::report::Render::render(&self.render, finding, &mut bytes);
        self.out.write_all(&bytes)
    }

    fn renderer(&self) -> Option<Box<dyn crate::report::Render + Send + Sync>> {
        Some(Box::new(HumanRender {
            style: self.render.style,
        }))
    }

    fn rendered(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes)
    }
}

/// The one summary line after the findings: [`counts`], then how many files were skipped.
pub(crate) fn summary_line(summary: &Summary) -> String {
    let mut line = counts(summary);
    line.push_str(&skipped(summary));
    line
}

/// Records checked and findings by outcome.
fn counts(summary: &Summary) -> String {
    let mut line = String::new();
    let _ = write!(
        line,
        "{} record{} checked: {} deny, {} warn, {} note, {} error",
        summary.records,
        if summary.records == 1 { "" } else { "s" },
        summary.deny,
        summary.warn,
        summary.note,
        summary.error
    );
    if summary.waived > 0 {
        let _ = write!(line, ", {} waived", summary.waived);
    }
    line
}

/// `; N files skipped` when the walks left files out, else nothing.
fn skipped(summary: &Summary) -> String {
    if summary.skipped == 0 {
        return String::new();
    }
    format!(
        "; {} file{} skipped",
        summary.skipped,
        if summary.skipped == 1 { "" } else { "s" }
    )
}

/// The summary line of a run: `summary_line`, with how many records or files could not be
/// read (`2 unreadable`) before the files skipped, so that a run that exits 2 never reads as
/// clean.
pub fn run_summary_line(result: &crate::report::RunResult) -> String {
    let mut line = counts(&result.summary);
    if !result.data_errors.is_empty() {
        let _ = write!(line, ", {} unreadable", result.data_errors.len());
    }
    line.push_str(&skipped(&result.summary));
    line
}

impl<W: std::io::Write> super::Report for HumanWriter<W> {
    /// The summary line; data errors go to stderr, where the command line prints them.
    fn finish(&mut self, result: &crate::report::RunResult) -> std::io::Result<()> {
        if self.summary {
            let line = format!("{}\n", run_summary_line(result));
            self.out.write_all(line.as_bytes())?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_files_are_counted_before_the_files_skipped() {
        let mut result = crate::report::RunResult::default();
        result.summary.records = 3;
        result.summary.deny = 1;
        result.summary.skipped = 2;
        result
            .data_errors
            .push(Diag::error(Code::IoRead, "cannot read"));
        assert_eq!(
            run_summary_line(&result),
            "3 records checked: 1 deny, 0 warn, 0 note, 0 error, 1 unreadable; 2 files skipped"
        );
        assert_eq!(
            summary_line(&result.summary),
            "3 records checked: 1 deny, 0 warn, 0 note, 0 error; 2 files skipped"
        );
    }
}
