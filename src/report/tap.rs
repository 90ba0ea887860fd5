//! TAP version 14: a test point per record, `not ok` when it has a `deny` or `error` finding, its
//! findings in the point's YAML block.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::Arc;

use super::{Place, Report};
use crate::eval::Outcome;
use crate::report::{CheckedRecord, Reported, RunResult, Sink};

/// Writes the TAP stream; the plan comes last, as TAP allows.
pub(crate) struct TapWriter<W: Write> {
    out: W,
    points: usize,
    /// The record (or group) being reported and its findings so far.
    current: Option<Point>,
    /// With rules across records, a finding about a record may come once every record is read:
    /// the test points are then held until the end, so that a record has one point.
    held: Option<super::ByRecord<Point>>,
}

/// The test point of a record or a group.
struct Point {
    name: Arc<str>,
    /// Each finding's entry in the point's YAML block.
    findings: Vec<String>,
    failed: bool,
    /// The record's file and position; `None` for a group or a data error.
    record: Option<(Arc<str>, usize)>,
    /// For a data error: its code, in the point's YAML block.
    code: Option<&'static str>,
}

impl<W: Write> TapWriter<W> {
    /// Starts the stream; `across` says whether the program has rules across records.
    pub fn new(mut out: W, across: bool) -> std::io::Result<Self> {
        out.write_all(b"TAP version 14\n")?;
        Ok(TapWriter {
            out,
            points: 0,
            current: None,
            held: across.then(super::ByRecord::default),
        })
    }

    /// Writes (or holds) the test point of the record read last.
    fn close_record(&mut self) -> std::io::Result<()> {
        let Some(point) = self.current.take() else {
            return Ok(());
        };
        match &mut self.held {
            Some(held) => {
                held.push(point.record.clone(), point);
                Ok(())
            }
            None => self.write_point(point),
        }
    }

    fn write_point(&mut self, point: Point) -> std::io::Result<()> {
        self.points += 1;
        let status = if point.failed { "not ok" } else { "ok" };
        writeln!(
            self.out,
            "{status} {} - {}",
            self.points,
            one_line(&point.name)
        )?;
        if let Some(code) = point.code {
            writeln!(self.out, "  ---\n  code: {}\n  ...", quoted(code))?;
        }
        if !point.findings.is_empty() {
            writeln!(self.out, "  ---\n  findings:")?;
            for finding in point.findings {
                self.out.write_all(finding.as_bytes())?;
            }
            writeln!(self.out, "  ...")?;
        }
        Ok(())
    }
}

/// A test point's description is one line, in which a `#` is text, not the start of a
/// directive: TAP 14 escapes it as `\#`, and a backslash as `\\` (else a written `\#` would
/// become an escaped backslash and a directive, `# SKIP`, that passes a failing record).
fn one_line(text: &str) -> String {
    super::text::one_line(text)
        .replace('\\', "\\\\")
        .replace('#', "\\#")
}

/// A string as a YAML double-quoted scalar: JSON's quoting, with the characters YAML does not
/// allow in a document (DEL, C1 controls but NEL, surrogates' neighbours U+FFFE and U+FFFF)
/// escaped as well, which JSON leaves as they are.
fn quoted(text: &str) -> String {
    let json = serde_json::to_string(&super::text::visible(text)).unwrap_or_default();
    let printable = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{85}' | '\u{a0}'..='\u{d7ff}')
            | matches!(c, '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
    };
    if json.chars().all(printable) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 12);
    for c in json.chars() {
        if printable(c) {
            out.push(c);
        } else {
            let _ = write!(out, "\\u{:04X}", u32::from(c));
        }
    }
    out
}

impl<W: Write> Sink for TapWriter<W> {
    fn finding(&mut self, f: &Reported) -> std::io::Result<()> {
        let place = Place::of(f);
        let entry = format!(
            "    - rule: {}\n      effect: {}\n      message: {}\n      at: {}\n",
            quoted(&f.rule_id),
            f.outcome.name(),
            quoted(&f.message),
            quoted(&format!("{}:{}:{}", place.file, place.line, place.column)),
        );
        let entry = match &f.group {
            Some(group) => format!(
                "{entry}      group: [{}]\n",
                group
                    .records
                    .iter()
                    .map(|m| quoted(&format!("{}:{}:{}: {}", m.file, m.line, m.column, m.record)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => entry,
        };
        let fails = matches!(f.outcome, Outcome::Deny | Outcome::Error);
        if f.across {
            // Found once every record was read: a finding about a record joins its test point;
            // a group's is a test point of its own.
            self.close_record()?;
            if let Some(point) = self.held.as_mut().and_then(|held| held.of_record(f)) {
                point.findings.push(entry);
                point.failed |= fails;
                return Ok(());
            }
        }
        match &mut self.current {
            Some(point) => {
                point.findings.push(entry);
                point.failed |= fails;
            }
            None => {
                self.current = Some(Point {
                    name: f.record.clone(),
                    findings: vec![entry],
                    failed: fails,
                    record: None,
                    code: None,
                })
            }
        }
        Ok(())
    }

    fn wants_records(&self) -> bool {
        true
    }

    fn record(&mut self, record: &CheckedRecord) -> std::io::Result<()> {
        self.close_record()?;
        self.current = Some(Point {
            name: record.name.clone(),
            findings: Vec::new(),
            failed: false,
            record: Some((record.file.clone(), record.index)),
            code: None,
        });
        Ok(())
    }

    fn data_error(&mut self, diag: &crate::diagnostic::Diag) -> std::io::Result<()> {
        self.close_record()?;
        let at = diag
            .place()
            .map_or_else(String::new, |(file, line, column)| {
                format!("{file}:{line}:{column}: ")
            });
        self.current = Some(Point {
            name: format!("{at}{}", diag.message).into(),
            findings: Vec::new(),
            failed: true,
            record: None,
            code: Some(diag.code.as_str()),
        });
        self.close_record()
    }
}

impl<W: Write> Report for TapWriter<W> {
    fn finish(&mut self, _result: &RunResult) -> std::io::Result<()> {
        self.close_record()?;
        if let Some(held) = self.held.take() {
            for point in held.into_items() {
                self.write_point(point)?;
            }
        }
        writeln!(self.out, "1..{}", self.points)?;
        self.out.flush()
    }
}
