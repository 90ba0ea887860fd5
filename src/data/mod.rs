//! Record loading: YAML, JSON, JSONL and CSV files (and Arrow record batches, [`arrow`]) into [`Record`]s whose values keep their spans.
//!
//! Records are read one at a time, so memory does not grow with the number of records in a file.

pub mod arrow;
mod build;
pub mod chunk;
mod csv;
mod json;
mod yaml;

/// A number as YAML's core schema (or JSON, or a plain decimal string) writes it: `1e3`, `.5`,
/// `0x1F`, `389838.00`.
pub(crate) fn number_as_written(text: &str) -> Option<rust_decimal::Decimal> {
    yaml::parse_number(text.as_bytes())
}

pub(crate) use json::first_special;

use crate::diagnostic::Code;
use crate::source::{Source, Span};
use crate::value::Node;

/// One record: a mapping read from a data file.
#[derive(Debug, Clone)]
pub struct Record {
    /// The file it was read from.
    pub source: Source,
    /// Its position among the file's records, from 0, across all documents.
    pub index: usize,
    /// The record itself; always a [`crate::value::Value::Map`].
    pub root: Node,
    /// When the record lies on one line of its source (JSON Lines): that line's number in the
    /// source's text and the byte where it starts, so that a place in the record is found
    /// without counting lines ([`Record::line_col`]).
    pub line: Option<(usize, usize)>,
}

impl Record {
    /// The 1-based line and column of a byte offset within the record, as
    /// [`crate::source::SourceFile::line_col`] gives them.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        match self.line {
            Some(line) if (line.1..=self.root.span.end).contains(&offset) => {
                self.source.line_col_on(offset, line)
            }
            _ => self.source.line_col(offset),
        }
    }
}

/// The format of a data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// YAML 1.2, possibly a stream of several documents.
    Yaml,
    /// One JSON value.
    Json,
    /// One JSON record a line.
    Jsonl,
    /// CSV with a header row.
    Csv,
}

impl Format {
    /// The format a file name's extension calls for, if it names a data file (in any case:
    /// `.YAML` is YAML).
    pub fn from_path(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            "jsonl" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// Limits that keep hostile data files from costing unbounded time or memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The deepest nesting of collections allowed in a document.
    pub max_depth: usize,
    /// How many nodes alias expansion may add to a document, beyond ten per event read.
    pub max_alias_nodes: usize,
    /// The longest scalar (a key or a value), in bytes as written.
    pub max_scalar_bytes: usize,
    /// The most documents in one YAML stream.
    pub max_documents: usize,
    /// The largest data file, in bytes.
    pub max_file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 128,
            max_alias_nodes: 100_000,
            max_scalar_bytes: 16 << 20,
            max_documents: 1_000_000,
            max_file_bytes: 64 << 30,
        }
    }
}

/// How to find the records in a file.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// With `--records PATH`: the dotted path, inside each document, of the list of records.
    pub records_path: Option<Vec<String>>,
    /// The limits in force.
    pub limits: Limits,
    /// What the rules read of a record: readers that can skip a value build only these fields
    /// and only check the rest (an unread field keeps its key, with a null value). `None`: every
    /// field.
    pub projection: Option<std::sync::Arc<crate::compile::projection::Projection>>,
    /// Read YAML with the general parser alone, never with caveat's own block scanner (which
    /// reads the same records faster): for the differential tests that prove the two agree.
    pub yaml_general_only: bool,
}

/// Why a data file, or a record in it, could not be read.
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
pub struct DataError {
    /// What went wrong, in words.
    pub message: String,
    /// A stable code such as `caveat::data::duplicate_key`.
    #[diagnostic(code)]
    pub code: Code,
    /// The file (named `file`, since thiserror treats a field named `source` as the cause).
    #[source_code]
    pub file: Source,
    /// Where in the file.
    #[label("{label}")]
    pub span: Span,
    /// The label text.
    pub label: String,
    /// How to fix it.
    #[help]
    pub help: Option<String>,
    /// Other places worth showing (the first of two duplicate keys).
    #[label("{related_label}")]
    pub related: Option<Span>,
    /// The text of the related label.
    pub related_label: String,
}

impl DataError {
    /// This error ended the reading of its text (a syntax error, a limit): when records may
    /// follow it, its message says which lines were not read, so that none is lost without a
    /// word. (A file cut into chunks goes on with its next chunk: the lines are this chunk's.)
    pub(crate) fn ending_the_text(mut self) -> DataError {
        let text = self.file.text();
        // What follows the point where reading stopped, on its line too (a minified file has
        // every record on one line).
        let after = self.span.end.max(self.span.start.saturating_add(1));
        let Some(rest) = text.get(after..) else {
            return self;
        };
        let trimmed = rest.trim();
        if !may_start_a_record(rest) {
            return self;
        }
        let first = after + (rest.len() - rest.trim_start().len());
        let last = first + trimmed.len().saturating_sub(1);
        let (from, _) = self.file.line_col(first);
        let (to, _) = self.file.line_col(last);
        let lines = if from == to {
            format!("the rest of line {from}")
        } else {
            format!("the rest of the text, lines {from} to {to},")
        };
        self.message.push_str(&format!(
            "; reading stopped here, so {lines} was not read (with any records there)"
        ));
        self
    }
}

/// Whether another record may start in `rest`, the text after the point where reading stopped:
/// a mapping `{`, or a later line that is a list item or starts at its first column (a
/// document's key); the end of the record at fault (its indented lines, closing brackets) is
/// not one.
fn may_start_a_record(rest: &str) -> bool {
    rest.contains('{')
        || rest
            .lines()
            .skip(1)
            .map(|line| (line, line.trim()))
            .filter(|(_, bare)| !bare.chars().all(|c| matches!(c, ']' | '}' | ',')))
            .any(|(line, bare)| bare.starts_with(['-', '[']) || !line.starts_with([' ', '\t']))
}

/// The records of one file, one at a time, in file order (see [`read_records`]).
pub trait RecordReader: Iterator<Item = Result<Record, DataError>> + Send {
    /// Hands back the tree of a record that is done with, for the reader to read a later record
    /// into: a reader that keeps it overwrites the values of the next record of the same shape
    /// in place, instead of building its keys and containers again. Others drop it.
    fn give_back(&mut self, root: Node) {
        drop(root);
    }
}

impl RecordReader for yaml::YamlRecords<'_> {}

impl RecordReader for csv::CsvRecords {}

impl RecordReader for std::iter::Once<Result<Record, DataError>> {}

/// Reads the records of one file, one at a time, in file order.
///
/// A record that cannot be read (a duplicate key, a value that is not a mapping) is an `Err` and
/// reading goes on with the next; a syntax error ends the file with a final `Err`.
pub fn read_records<'a>(
    source: &'a Source,
    format: Format,
    options: &LoadOptions,
) -> Box<dyn RecordReader + 'a> {
    match format {
        Format::Yaml => Box::new(yaml::YamlRecords::new(source, options.clone())),
        Format::Json => Box::new(json::JsonRecords::new(
            source.clone(),
            options.clone(),
            false,
        )),
        Format::Jsonl => Box::new(json::JsonRecords::new(
            source.clone(),
            options.clone(),
            true,
        )),
        Format::Csv if options.records_path.is_some() => {
            let first = source.text().chars().next().map_or(0, char::len_utf8);
            Box::new(std::iter::once(Err(build::data_error(
                source,
                crate::diagnostic::Code::DataNoRecordsList,
                "`--records` takes the records from a list inside each document, and a CSV file \
                 has none: its rows are its records",
                crate::source::Span::new(0, first),
                "a CSV file",
                Some(
                    "check CSV files in a run without `--records`, or convert the file to JSON"
                        .to_string(),
                ),
            ))))
        }
        Format::Csv => Box::new(
            csv::CsvRecords::new(source.clone()).with_max_cell(options.limits.max_scalar_bytes),
        ),
    }
}

/// Whether caveat's own block scanner reads the YAML `source` to its end by itself, without
/// handing it to the general parser (for the tests and the fuzz target that check which files
/// take the fast path; the records are the same either way).
pub fn yaml_read_by_scanner(source: &Source, options: &LoadOptions) -> bool {
    let mut records = yaml::YamlRecords::new(source, options.clone());
    records.by_ref().for_each(drop);
    records.read_by_scanner()
}

/// Reads the YAML `source` twice, as the reader runs (the block scanner, handing what it does not
/// read to the general parser) and with the general parser alone, and compares the results as
/// text: each record's index and tree (values and spans), each error's code, message, spans and
/// help. `Ok` with the results when the two agree, `Err` saying where they first differ. For the
/// differential tests and the `yaml_differential` fuzz target.
pub fn compare_yaml_readers(source: &Source, options: &LoadOptions) -> Result<Vec<String>, String> {
    let read = |general_only| -> Vec<String> {
        let options = LoadOptions {
            yaml_general_only: general_only,
            ..options.clone()
        };
        read_records(source, Format::Yaml, &options)
            .map(|result| match result {
                Ok(record) => format!("record {} {:?}", record.index, record.root),
                Err(e) => format!(
                    "error {} {:?} at {:?} ({}) help {:?} related {:?} {}",
                    e.code.as_str(),
                    e.message,
                    e.span,
                    e.label,
                    e.help,
                    e.related,
                    e.related_label
                ),
            })
            .collect()
    };
    let (ours, general) = (read(false), read(true));
    if ours == general {
        return Ok(ours);
    }
    let at = ours
        .iter()
        .zip(&general)
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(general.len()));
    Err(format!(
        "the readers differ on {:?} at result {at}:\n  scanner: {:?}\n  general: {:?}\n\
         ({} and {} results)",
        source.text(),
        ours.get(at),
        general.get(at),
        ours.len(),
        general.len()
    ))
}

/// Helpers shared by the readers' tests.
#[cfg(test)]
mod test_support {
    use rust_decimal::Decimal;

    use super::{DataError, LoadOptions, Record};
    use crate::value::{Node, Value};

    /// Options that take the records from the list at a dotted path.
    pub fn records_path(path: &str) -> LoadOptions {
        LoadOptions {
            records_path: Some(path.split('.').map(str::to_string).collect()),
            ..LoadOptions::default()
        }
    }

    /// The record, or a test failure.
    pub fn ok(result: &Result<Record, DataError>) -> &Record {
        match result {
            Ok(record) => record,
            Err(e) => panic!("expected a record, got {e:?}"),
        }
    }

    /// The error, or a test failure.
    pub fn err(result: &Result<Record, DataError>) -> &DataError {
        match result {
            Ok(record) => panic!("expected an error, got {record:?}"),
            Err(e) => e,
        }
    }

    /// A mapping's value at `key`, or a test failure.
    pub fn get<'a>(node: &'a Node, key: &str) -> &'a Node {
        match &node.value {
            Value::Map(map) => map.get(key).unwrap_or_else(|| panic!("no key {key}")),
            other => panic!("not a mapping: {other:?}"),
        }
    }

    /// A string node's text, or a test failure.
    pub fn string(node: &Node) -> &str {
        match &node.value {
            Value::String(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    /// A number node's value, or a test failure.
    pub fn number(node: &Node) -> Decimal {
        match &node.value {
            Value::Number(n) => *n,
            other => panic!("not a number: {other:?}"),
        }
    }
}
