//! CSV records (RFC 4180): the first row names the fields, every other row is a record. A header
//! with dots (`buyer.branch`) makes nested mappings; an empty cell is a missing field; every value
//! is a string (one that looks like a number or a date compares as one). Each value keeps its
//! line and column. The delimiter is `,`, `;`, tab or `|`, whichever the header row holds most
//! of (outside quotes), as spreadsheets export in locales where `,` is the decimal mark.
//!
//! Written here rather than with the `csv` crate, which does not give the place of each field in
//! the file, and a finding must point at its cell.

use crate::diagnostic::Code;
use std::collections::VecDeque;

use super::build::data_error;
use super::{DataError, Record};
use crate::source::{Source, Span};
use crate::value::{Entry, Map, Node, Text, Value};

/// A cell: its text (quotes removed, `""` unescaped) and where it was written.
struct Cell {
    text: String,
    span: Span,
}

/// The records of a CSV file, one at a time.
pub(crate) struct CsvRecords {
    source: Source,
    pos: usize,
    /// The header: each column's path of names.
    header: Option<Vec<(Vec<Text>, Span)>>,
    index: usize,
    pending: VecDeque<Result<Record, DataError>>,
    done: bool,
    /// The longest cell, in bytes as written (`--max-scalar-size`).
    max_cell: usize,
    /// The byte between cells.
    delimiter: u8,
}

/// The delimiters a CSV file may use.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// The delimiter of a CSV text: of `,`, `;`, tab and `|`, the one its first row holds most of
/// outside quotes (`,` on a tie or when there is none).
fn detect_delimiter(text: &str) -> u8 {
    let mut counts = [0usize; DELIMITERS.len()];
    let mut quoted = false;
    for byte in text.bytes() {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                if let Some(at) = DELIMITERS.iter().position(|d| *d == byte)
                    && let Some(count) = counts.get_mut(at)
                {
                    *count += 1;
                }
            }
            _ => {}
        }
    }
    let mut best = (b',', 0);
    for (delimiter, count) in DELIMITERS.iter().zip(counts) {
        if count > best.1 {
            best = (*delimiter, count);
        }
    }
    best.0
}

impl CsvRecords {
    /// Reads the records of `source`.
    pub fn new(source: Source) -> CsvRecords {
        let pos = if source.text().starts_with('\u{feff}') {
            3
        } else {
            0
        };
        let delimiter = detect_delimiter(source.text().get(pos..).unwrap_or(""));
        CsvRecords {
            delimiter,
            source,
            pos,
            header: None,
            index: 0,
            pending: VecDeque::new(),
            done: false,
            max_cell: usize::MAX,
        }
    }

    /// Refuses cells longer than `bytes` (as written), as every reader refuses such scalars.
    pub fn with_max_cell(mut self, bytes: usize) -> CsvRecords {
        self.max_cell = bytes;
        self
    }

    /// The error for a cell longer than the limit; reading goes on at the next line.
    fn cell_too_large(&mut self, span: Span) -> DataError {
        let text = self.source.text();
        self.pos = text
            .get(span.end..)
            .and_then(|rest| rest.find('\n'))
            .map_or(text.len(), |n| span.end + n + 1);
        data_error(
            &self.source,
            Code::DataScalarTooLarge,
            format!(
                "a value written in {} bytes (quotes included), more than the limit of {}",
                span.end - span.start,
                self.max_cell
            ),
            Span::new(span.start, span.start + 1),
            "this value is too long",
            Some("raise the limit with `--max-scalar-size BYTES` if the data is right".into()),
        )
    }

    /// The cells of the row at `self.pos`, moving past it; `None` at the end of the file.
    fn row(&mut self) -> Option<Result<(Vec<Cell>, Span), DataError>> {
        let text = self.source.text();
        let bytes = text.as_bytes();
        let delimiter = self.delimiter;
        if self.pos >= bytes.len() {
            return None;
        }
        let start = self.pos;
        let mut cells = Vec::new();
        let mut i = self.pos;
        loop {
            let cell_start = i;
            let mut value = String::new();
            if bytes.get(i) == Some(&b'"') {
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => {
                            self.pos = bytes.len();
                            return Some(Err(data_error(
                                &self.source,
                                Code::DataCsvSyntax,
                                "unterminated quoted field",
                                Span::new(cell_start, cell_start + 1),
                                "this quote is never closed",
                                Some("close the field with `\"`; a quote inside a field is written `\"\"`".into()),
                            )));
                        }
                        Some(b'"') if bytes.get(i + 1) == Some(&b'"') => {
                            value.push('"');
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(_) => {
                            let rest = text.get(i..).unwrap_or("");
                            let next = rest.find('"').unwrap_or(rest.len());
                            value.push_str(rest.get(..next).unwrap_or(""));
                            i += next;
                        }
                    }
                }
                if !matches!(bytes.get(i), None | Some(b'\n' | b'\r'))
                    && bytes.get(i) != Some(&delimiter)
                {
                    let end = text
                        .get(i..)
                        .and_then(|r| r.find(['\n', '\r']))
                        .map_or(bytes.len(), |n| i + n);
                    self.pos = end;
                    return Some(Err(data_error(
                        &self.source,
                        Code::DataCsvSyntax,
                        "text after a quoted field",
                        Span::new(i, i + 1),
                        format!(
                            "expected `{}` or the end of the line here",
                            char::from(delimiter)
                        ),
                        Some("quote the whole field: `\"a \"\"b\"\" c\"`".into()),
                    )));
                }
                if i - cell_start > self.max_cell {
                    return Some(Err(self.cell_too_large(Span::new(cell_start, i))));
                }
                cells.push(Cell {
                    text: value,
                    span: Span::new(cell_start, i),
                });
            } else {
                let rest = text.get(i..).unwrap_or("");
                let end = rest
                    .find([char::from(delimiter), '\n', '\r'])
                    .unwrap_or(rest.len());
                if end > self.max_cell {
                    return Some(Err(self.cell_too_large(Span::new(i, i + end))));
                }
                cells.push(Cell {
                    text: rest.get(..end).unwrap_or("").to_string(),
                    span: Span::new(i, i + end),
                });
                i += end;
            }
            match bytes.get(i) {
                Some(&b) if b == delimiter => i += 1,
                Some(b'\r') if bytes.get(i + 1) == Some(&b'\n') => {
                    i += 2;
                    break;
                }
                Some(b'\n' | b'\r') => {
                    i += 1;
                    break;
                }
                _ => break,
            }
        }
        self.pos = i;
        let end = text
            .get(..i)
            .map_or(i, |t| t.trim_end_matches(['\n', '\r']).len());
        Some(Ok((cells, Span::new(start, end.max(start)))))
    }

    /// Reads the header row.
    fn header(&mut self, cells: Vec<Cell>) -> Result<(), DataError> {
        let mut columns: Vec<(Vec<Text>, Span)> = Vec::new();
        for cell in cells {
            let path: Vec<Text> = cell.text.trim().split('.').map(Text::from).collect();
            if path.iter().any(|p| p.is_empty()) {
                return Err(data_error(
                    &self.source,
                    Code::DataCsvHeader,
                    format!("`{}` is not a field name", cell.text),
                    cell.span,
                    "a header cell names a field",
                    Some("name every column; use dots for nested fields: `buyer.branch`".into()),
                ));
            }
            if let Some((_, first)) = columns
                .iter()
                .find(|(p, _)| p.starts_with(&path) || path.starts_with(p))
            {
                let error = data_error(
                    &self.source,
                    Code::DataDuplicateKey,
                    format!("the column `{}` is named twice", cell.text),
                    cell.span,
                    "named again here",
                    Some("each field may have one column".into()),
                );
                return Err(DataError {
                    related: Some(*first),
                    related_label: "first named here".into(),
                    ..error
                });
            }
            columns.push((path, cell.span));
        }
        self.header = Some(columns);
        Ok(())
    }

    /// Builds the record of a row.
    fn record(&self, cells: Vec<Cell>, span: Span) -> Result<Record, DataError> {
        let columns = self.header.as_deref().unwrap_or(&[]);
        if cells.len() != columns.len() {
            return Err(data_error(
                &self.source,
                Code::DataCsvRow,
                format!(
                    "this row has {} field{}, the header {}",
                    cells.len(),
                    if cells.len() == 1 { "" } else { "s" },
                    columns.len()
                ),
                span,
                "this row",
                Some(
                    "every row needs one cell per column (an empty cell is a missing field)".into(),
                ),
            ));
        }
        let mut root = Map {
            entries: Vec::new(),
        };
        for ((path, key_span), cell) in columns.iter().zip(cells) {
            if cell.text.is_empty() {
                continue;
            }
            insert(
                &mut root,
                path,
                *key_span,
                Node {
                    value: Value::String(cell.text.into()),
                    span: cell.span,
                },
                span,
            );
        }
        Ok(Record {
            source: self.source.clone(),
            index: self.index,
            root: Node {
                value: Value::Map(root),
                span,
            },
            // A quoted field may hold line breaks: the row's lines are counted when needed.
            line: None,
        })
    }
}

/// Puts `node` at `path` in `map`, making the mappings on the way (spanning the row).
fn insert(map: &mut Map, path: &[Text], key_span: Span, node: Node, row: Span) {
    let [first, rest @ ..] = path else {
        return;
    };
    if rest.is_empty() {
        map.entries.push(Entry {
            key: first.clone(),
            key_span,
            value: node,
        });
        return;
    }
    let position = match map.entries.iter().position(|e| e.key == *first) {
        Some(position) => position,
        None => {
            map.entries.push(Entry {
                key: first.clone(),
                key_span,
                value: Node {
                    value: Value::Map(Map {
                        entries: Vec::new(),
                    }),
                    span: row,
                },
            });
            map.entries.len() - 1
        }
    };
    if let Some(Entry {
        value: Node {
            value: Value::Map(inner),
            ..
        },
        ..
    }) = map.entries.get_mut(position)
    {
        insert(inner, rest, key_span, node, row);
    }
}

impl Iterator for CsvRecords {
    type Item = Result<Record, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(result) = self.pending.pop_front() {
                return Some(result);
            }
            if self.done {
                return None;
            }
            let Some(row) = self.row() else {
                self.done = true;
                continue;
            };
            let (cells, span) = match row {
                Ok(row) => row,
                Err(error) => {
                    if self.header.is_some() {
                        self.index += 1;
                    } else {
                        self.done = true;
                    }
                    return Some(Err(error));
                }
            };
            // Blank lines hold no record; a quoted empty cell (`""`, `" "`) is a value.
            if cells.len() == 1 && self.source.slice(span).trim_ascii().is_empty() {
                continue;
            }
            if self.header.is_none() {
                if let Err(error) = self.header(cells) {
                    self.done = true;
                    return Some(Err(error));
                }
                continue;
            }
            let record = self.record(cells, span);
            self.index += 1;
            return Some(record);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_support::*;
    use crate::source::SourceFile;

    fn read(text: &str) -> (Source, Vec<Result<Record, DataError>>) {
        let source = SourceFile::new("test.csv", text);
        (source.clone(), CsvRecords::new(source).collect())
    }

    fn field<'a>(record: &'a Record, path: &[&str]) -> &'a Node {
        let mut node = &record.root;
        for key in path {
            node = get(node, key);
        }
        node
    }

    #[test]
    fn a_quoted_blank_cell_of_one_column_is_a_record_not_a_blank_line() {
        // `" "` and `""` rows were dropped as blank lines: silent loss.
        let (_, results) = read("vendor\n\" \"\n\n\"\"\nDJI\n  \n\u{a0}\n");
        // A no-break space is a value too (only ASCII white space makes a blank line).
        assert_eq!(results.len(), 4);
        assert!(
            matches!(&field(ok(&results[0]), &["vendor"]).value, Value::String(s) if &**s == " ")
        );
    }

    #[test]
    fn rows_become_records_with_positions() {
        let (source, results) = read(
            "id,vendor,buyer.branch,amount\r\nA-1,DJI,Army,\"1,200.50\"\r\n\r\nA-2,\"Da \"\"Jiang\"\"\",,300\n",
        );
        assert_eq!(results.len(), 2);
        let first = ok(&results[0]);
        assert_eq!(first.index, 0);
        let vendor = field(first, &["vendor"]);
        assert_eq!(source.slice(vendor.span), "DJI");
        assert_eq!(source.line_col(vendor.span.start), (2, 5));
        assert_eq!(
            field(first, &["buyer", "branch"]).value,
            Value::String("Army".into())
        );
        assert_eq!(
            field(first, &["amount"]).value,
            Value::String("1,200.50".into())
        );
        let second = ok(&results[1]);
        assert_eq!(second.index, 1);
        assert_eq!(
            field(second, &["vendor"]).value,
            Value::String("Da \"Jiang\"".into())
        );
        let Value::Map(map) = &second.root.value else {
            panic!("a record is a mapping");
        };
        assert!(map.get("buyer").is_none(), "an empty cell is missing");
        assert_eq!(source.line_col(second.root.span.start), (4, 1));
    }

    #[test]
    fn bad_rows_are_errors_and_count_as_records() {
        let (source, results) = read("id,vendor\nA-1\nA-2,\"DJI\" x\nA-3,\"open\n");
        assert_eq!(results.len(), 3);
        let short = err(&results[0]);
        assert_eq!(short.code, Code::DataCsvRow);
        assert_eq!(short.message, "this row has 1 field, the header 2");
        assert_eq!(err(&results[1]).code, Code::DataCsvSyntax);
        assert_eq!(source.line_col(err(&results[1]).span.start), (3, 10));
        assert_eq!(err(&results[2]).message, "unterminated quoted field");
    }

    #[test]
    fn a_column_named_twice_is_refused() {
        let (_, results) = read("id,buyer,buyer.branch\n1,2,3\n");
        assert_eq!(results.len(), 1);
        assert_eq!(err(&results[0]).code, Code::DataDuplicateKey);
        let (_, results) = read("id,,x\n");
        assert_eq!(err(&results[0]).code, Code::DataCsvHeader);
    }

    #[test]
    fn the_delimiter_is_the_one_the_header_holds() {
        let (source, results) = read("id;vendor;amount\nA-1;DJI;\"1,5\"\n");
        let record = ok(&results[0]);
        let vendor = field(record, &["vendor"]);
        assert_eq!(vendor.value, Value::String("DJI".into()));
        assert_eq!(source.line_col(vendor.span.start), (2, 5));
        assert_eq!(
            field(record, &["amount"]).value,
            Value::String("1,5".into())
        );
        let (_, results) = read("id\tvendor\nA-1\tDJI\n");
        assert_eq!(
            field(ok(&results[0]), &["vendor"]).value,
            Value::String("DJI".into())
        );
        let (_, results) = read("id|\"a,b\"|vendor\nA-1|x|DJI\n");
        assert_eq!(
            field(ok(&results[0]), &["vendor"]).value,
            Value::String("DJI".into())
        );
        assert_eq!(detect_delimiter("id\n"), b',');
        assert_eq!(detect_delimiter("\"a;b\",c\n"), b',');
    }
}
