//! CSV: one finding a row, with a header, for spreadsheets. Data errors are rows too, with the
//! effect `error` and their code in the `rule` column.

use std::io::Write;

use super::{Place, Report};
use crate::report::{Reported, RunResult, Sink};

/// The columns, in order.
const HEADER: [&str; 11] = [
    "file",
    "line",
    "column",
    "record",
    "rule",
    "effect",
    "message",
    "policy",
    "policy_line",
    "policy_column",
    "group",
];

/// Writes CSV rows as findings arrive.
pub(crate) struct CsvWriter<W: Write> {
    out: csv::Writer<W>,
    header_written: bool,
}

impl<W: Write> CsvWriter<W> {
    /// A writer on `out`.
    pub fn new(out: W) -> Self {
        CsvWriter {
            out: csv::Writer::from_writer(out),
            header_written: false,
        }
    }

    /// Writes the header, once.
    fn header(&mut self) -> std::io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            self.out.write_record(HEADER)?;
        }
        Ok(())
    }

    /// Writes a row, each cell made safe for a spreadsheet ([`super::text::csv_cell`]).
    fn row(&mut self, row: [&str; 11]) -> std::io::Result<()> {
        self.header()?;
        self.out.write_record(
            row.iter()
                .map(|cell| super::text::csv_cell(cell).into_owned()),
        )?;
        Ok(())
    }
}

impl<W: Write> Sink for CsvWriter<W> {
    fn finding(&mut self, f: &Reported) -> std::io::Result<()> {
        let place = Place::of(f);
        self.row([
            place.file,
            &place.line.to_string(),
            &place.column.to_string(),
            &f.record,
            &f.rule_id,
            f.outcome.name(),
            &f.message,
            place.policy_file,
            &place.policy_line.to_string(),
            &place.policy_column.to_string(),
            &f.group
                .as_ref()
                .map(|g| super::group_records(g, usize::MAX).join("; "))
                .unwrap_or_default(),
        ])
    }
}

impl<W: Write> Report for CsvWriter<W> {
    fn finish(&mut self, result: &RunResult) -> std::io::Result<()> {
        for diag in &result.data_errors {
            let (file, line, column) = match diag.place() {
                Some((file, line, column)) => (file, line.to_string(), column.to_string()),
                None => ("", String::new(), String::new()),
            };
            self.row([
                file,
                &line,
                &column,
                "",
                diag.code.as_str(),
                "error",
                &diag.message,
                "",
                "",
                "",
                "",
            ])?;
        }
        self.header()?;
        self.out.flush()
    }
}
