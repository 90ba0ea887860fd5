//! Tables of findings by rule and by vendor (Markdown, so that they render in a CI job summary).

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use super::Report;
use crate::eval::Outcome;
use crate::run::{CheckedRecord, Reported, RunResult, Sink};

/// Counts by effect: deny, warn, note, error.
type Counts = [usize; 4];

/// Counts findings, and writes the tables at the end.
pub struct SummaryWriter<W: Write> {
    out: W,
    by_rule: BTreeMap<Arc<str>, Counts>,
    by_vendor: BTreeMap<Arc<str>, Counts>,
    /// The vendor of the record whose findings arrive now.
    vendor: Option<Arc<str>>,
}

impl<W: Write> SummaryWriter<W> {
    /// A writer on `out`.
    pub fn new(out: W) -> Self {
        SummaryWriter {
            out,
            by_rule: BTreeMap::new(),
            by_vendor: BTreeMap::new(),
            vendor: None,
        }
    }
}

fn slot(outcome: Outcome) -> usize {
    match outcome {
        Outcome::Deny => 0,
        Outcome::Warn => 1,
        Outcome::Note => 2,
        Outcome::Error => 3,
    }
}

/// One Markdown table, the rows with the most findings first.
fn table(
    out: &mut impl Write,
    what: &str,
    rows: &BTreeMap<Arc<str>, Counts>,
) -> std::io::Result<()> {
    writeln!(out, "| {what} | deny | warn | note | error | total |")?;
    writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: |")?;
    let mut sorted: Vec<_> = rows.iter().collect();
    sorted.sort_by_key(|(name, counts)| (std::cmp::Reverse(counts.iter().sum::<usize>()), *name));
    for (name, [deny, warn, note, error]) in sorted {
        let total = deny + warn + note + error;
        let name = name.replace('|', "\\|");
        writeln!(
            out,
            "| {name} | {deny} | {warn} | {note} | {error} | {total} |"
        )?;
    }
    Ok(())
}

impl<W: Write> Sink for SummaryWriter<W> {
    fn finding(&mut self, f: &Reported) -> std::io::Result<()> {
        let i = slot(f.outcome);
        let vendor = self.vendor.clone().unwrap_or_else(|| "(no vendor)".into());
        for counts in [
            self.by_rule.entry(f.rule_id.clone()).or_default(),
            self.by_vendor.entry(vendor).or_default(),
        ] {
            if let Some(count) = counts.get_mut(i) {
                *count += 1;
            }
        }
        Ok(())
    }

    fn wants_records(&self) -> bool {
        true
    }

    fn record(&mut self, record: &CheckedRecord) -> std::io::Result<()> {
        self.vendor = record.vendor.clone();
        Ok(())
    }
}

impl<W: Write> Report for SummaryWriter<W> {
    fn finish(&mut self, result: &RunResult) -> std::io::Result<()> {
        writeln!(self.out, "## Findings by rule\n")?;
        table(&mut self.out, "rule", &self.by_rule)?;
        writeln!(self.out, "\n## Findings by vendor\n")?;
        table(&mut self.out, "vendor", &self.by_vendor)?;
        writeln!(
            self.out,
            "\n{}; {} data error{}",
            super::human::summary_line(&result.summary),
            result.data_errors.len(),
            if result.data_errors.len() == 1 {
                ""
            } else {
                "s"
            }
        )?;
        self.out.flush()
    }
}
