//! Renderers: one per output format. The library returns diagnostics; these turn them into text.
//!
//! Every format is a [`Report`]: a [`Sink`] that receives findings (and, if it asks, every record)
//! in output order while the run goes on, and is finished with the run's data errors and counts.

pub mod finding;
pub mod github;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod sarif;
pub mod summary;
pub(crate) mod table;
pub mod tap;
pub mod text;

use std::io::Write;
use std::sync::Arc;

use crate::compile::Program;
pub use finding::{
    CheckedRecord, Render, Reported, RunResult, Sink, Summary, WaiverNote, reported_finding,
};

/// The output formats of `caveat check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Diagnostics for people, with a summary line.
    Human,
    /// One JSON object: findings, errors, summary.
    Json,
    /// One JSON object a line, streamed: each finding, each error, then the summary.
    Jsonl,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// JUnit XML: a test case per record, a failure per finding.
    Junit,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`).
    Github,
    /// TAP version 14: a test point per record.
    Tap,
    /// CSV: one finding a row, for spreadsheets.
    Csv,
    /// Tables of findings by rule and by vendor.
    Summary,
    /// One self-contained HTML page: counts, charts, a sortable and filterable table.
    Html,
}

/// The lowest effect that fails a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// `deny` findings fail.
    Deny,
    /// `deny` and `warn` findings fail.
    Warn,
    /// Only error findings fail.
    Never,
}

/// A report being written: it takes findings as a [`Sink`], then the end of the run.
pub trait Report: Sink {
    /// Ends the report with the run's data errors and counts, and flushes it.
    fn finish(&mut self, result: &RunResult) -> std::io::Result<()>;
}

/// Where a report goes.
pub type Output = Box<dyn Write>;

/// Opens a report of `format` on `out`. `program` gives the rules, for formats that list them;
/// `quiet` leaves out the human report's summary line.
pub fn open(
    format: Format,
    out: Output,
    program: &Program,
    style: human::Style,
    quiet: bool,
) -> std::io::Result<Box<dyn Report>> {
    Ok(match format {
        Format::Human => Box::new(human::HumanWriter {
            out,
            render: human::HumanRender { style },
            summary: !quiet,
        }),
        Format::Json => Box::new(json::JsonWriter::new(out)?),
        Format::Jsonl => Box::new(json::JsonlWriter { out }),
        Format::Sarif => Box::new(sarif::SarifWriter::new(out, program)?),
        Format::Junit => Box::new(junit::JunitWriter::new(out)),
        Format::Github => Box::new(github::GithubWriter { out }),
        Format::Tap => Box::new(tap::TapWriter::new(out, crate::eval::across::any(program))?),
        Format::Csv => Box::new(table::CsvWriter::new(out)),
        Format::Summary => Box::new(summary::SummaryWriter::new(out)),
        Format::Html => Box::new(html::HtmlWriter::new(
            out,
            program,
            html::RunInfo::default(),
        )?),
    })
}

/// Several reports fed by one run, each getting every finding in order.
pub(crate) struct Reports(pub Vec<Box<dyn Report>>);

impl Sink for Reports {
    fn finding(&mut self, finding: &Reported) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|r| r.finding(finding))
    }

    /// Only a single report can take bytes rendered in the workers.
    fn renderer(&self) -> Option<Box<dyn Render + Send + Sync>> {
        match self.0.as_slice() {
            [only] => only.renderer(),
            _ => None,
        }
    }

    fn rendered(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|r| r.rendered(bytes))
    }

    fn wants_records(&self) -> bool {
        self.0.iter().any(|r| r.wants_records())
    }

    fn record(&mut self, record: &CheckedRecord) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|r| r.record(record))
    }

    fn data_error(&mut self, diag: &crate::diagnostic::Diag) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|r| r.data_error(diag))
    }

    fn progress(&mut self, bytes: usize) {
        self.0.iter_mut().for_each(|r| r.progress(bytes));
    }
}

impl Report for Reports {
    fn finish(&mut self, result: &RunResult) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|r| r.finish(result))
    }
}

/// The place of a finding in the data and in the policy, 1-based, as every format shows them.
pub(crate) struct Place<'a> {
    /// The data file.
    pub file: &'a str,
    /// Line of the deciding value.
    pub line: usize,
    /// Column of the deciding value.
    pub column: usize,
    /// The policy file.
    pub policy_file: &'a str,
    /// Line of the rule (or of the failed expression).
    pub policy_line: usize,
    /// Its column.
    pub policy_column: usize,
}

/// How many records of a group a text report lists before it says how many more there are.
pub(crate) const GROUP_SHOWN: usize = 10;

/// The test points (TAP) or cases (JUnit) of a run, in order, and where each record's is: a
/// finding about a record that comes once every record is read (a rule reading `all.`, a key of
/// another type) joins its record's, so that a record is reported once.
pub(crate) struct ByRecord<P> {
    items: Vec<P>,
    at: std::collections::HashMap<(Arc<str>, usize), usize>,
}

impl<P> Default for ByRecord<P> {
    fn default() -> Self {
        ByRecord {
            items: Vec::new(),
            at: std::collections::HashMap::new(),
        }
    }
}

impl<P> ByRecord<P> {
    /// Adds `item`, the record's (file and position) when `record` is given, else a group's;
    /// gives its position.
    pub fn push(&mut self, record: Option<(Arc<str>, usize)>, item: P) -> usize {
        let at = self.items.len();
        if let Some(record) = record {
            self.at.insert(record, at);
        }
        self.items.push(item);
        at
    }

    /// The position of the item of the record that `finding` is about, when it is about a
    /// record added before it (a finding of a group is about no one record).
    pub fn position_of(&self, finding: &Reported) -> Option<usize> {
        if finding.group.is_some() {
            return None;
        }
        let record = (Arc::from(finding.at.source.name()), finding.index);
        self.at.get(&record).copied()
    }

    /// The item of the record that `finding` is about ([`ByRecord::position_of`]).
    pub fn of_record(&mut self, finding: &Reported) -> Option<&mut P> {
        let at = self.position_of(finding)?;
        self.items.get_mut(at)
    }

    /// The item at `at`.
    pub fn get_mut(&mut self, at: usize) -> Option<&mut P> {
        self.items.get_mut(at)
    }

    /// How many items there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Every item, in the order added.
    pub fn into_items(self) -> Vec<P> {
        self.items
    }
}

/// The records of a group finding as text, `RECORD (FILE:LINE:COLUMN)`: the first `limit`, then
/// a line saying how many more.
pub(crate) fn group_records(group: &crate::eval::across::GroupNote, limit: usize) -> Vec<String> {
    let mut lines: Vec<String> = group
        .records
        .iter()
        .take(limit)
        .map(|m| {
            // Names from the data, each on one line with its control characters shown.
            let shown = |text: &str| text::one_line(text).into_owned();
            format!(
                "{} ({}:{}:{})",
                shown(&m.record),
                shown(&m.file),
                m.line,
                m.column
            )
        })
        .collect();
    if group.records.len() > limit {
        lines.push(format!("… and {} more", group.records.len() - limit));
    }
    lines
}

impl<'a> Place<'a> {
    /// Where `finding` is.
    pub fn of(finding: &'a Reported) -> Place<'a> {
        let (file, line, column) = finding.at.place();
        let (policy_file, policy_line, policy_column) = finding.policy.place();
        Place {
            file,
            line,
            column,
            policy_file,
            policy_line,
            policy_column,
        }
    }
}
