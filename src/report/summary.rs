//! Tables of findings by rule and by vendor (Markdown, so that they render in a CI job summary).

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use super::{Report, Summary};
use crate::report::finding::Vendors;
use crate::report::{CheckedRecord, Reported, RunResult, Sink};

/// Counts findings, and writes the tables at the end.
pub(crate) struct SummaryWriter<W: Write> {
    out: W,
    by_rule: BTreeMap<Arc<str>, Summary>,
    by_vendor: BTreeMap<Arc<str>, Summary>,
    /// The vendor of each finding.
    vendors: Vendors,
}

impl<W: Write> SummaryWriter<W> {
    /// A writer on `out`.
    pub fn new(out: W) -> Self {
        SummaryWriter {
            out,
            by_rule: BTreeMap::new(),
            by_vendor: BTreeMap::new(),
            vendors: Vendors::default(),
        }
    }
}

/// One Markdown table, the rows with the most findings first.
fn table(
    out: &mut impl Write,
    what: &str,
    rows: &BTreeMap<Arc<str>, Summary>,
) -> std::io::Result<()> {
    // A `waived` column only when a waiver applied, so that runs without waivers look as before.
    let waivers = rows.values().any(|c| c.waived > 0);
    let (head, rule) = if waivers {
        (" waived |", " ---: |")
    } else {
        ("", "")
    };
    writeln!(out, "| {what} | deny | warn | note | error |{head} total |")?;
    writeln!(out, "| --- | ---: | ---: | ---: | ---: |{rule} ---: |")?;
    let total = |c: &Summary| c.deny + c.warn + c.note + c.error + c.waived;
    let mut sorted: Vec<_> = rows.iter().collect();
    sorted.sort_by_key(|(name, counts)| (std::cmp::Reverse(total(counts)), *name));
    for (name, counts) in sorted {
        let (deny, warn, note, error) = (counts.deny, counts.warn, counts.note, counts.error);
        let waived = if waivers {
            format!(" {} |", counts.waived)
        } else {
            String::new()
        };
        let total = total(counts);
        let name = super::text::markdown_cell(name);
        writeln!(
            out,
            "| {name} | {deny} | {warn} | {note} | {error} |{waived} {total} |"
        )?;
    }
    Ok(())
}

impl<W: Write> Sink for SummaryWriter<W> {
    fn finding(&mut self, f: &Reported) -> std::io::Result<()> {
        let vendor = self.vendors.of(f).unwrap_or_else(|| "(no vendor)".into());
        self.by_rule
            .entry(f.rule_id.clone())
            .or_default()
            .count(f.outcome);
        self.by_vendor.entry(vendor).or_default().count(f.outcome);
        Ok(())
    }

    fn wants_records(&self) -> bool {
        true
    }

    fn record(&mut self, record: &CheckedRecord) -> std::io::Result<()> {
        self.vendors.record(record);
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
