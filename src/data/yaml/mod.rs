//! YAML 1.2 records, with every value's span in bytes: read by the block scanner of this module
//! ([`block`]) where the text has the common block shape, and otherwise as a stream of
//! saphyr-parser's events (never a recursive load, so no nesting can overflow the stack).

use crate::diagnostic::Code;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, StrInput, Tag};

use super::build::{Builder, char_span, data_error, shorten};
use super::{DataError, LoadOptions, Record};
use crate::source::{Source, Span};
use crate::value::Value;
use block::{BlockScanner, Step};
use offsets::Offsets;
pub(crate) use scalar::parse_number;
use scalar::{parse_int, plain_value, quoted_end};
use tags::{TagKind, classify_tag, display_tag, find_tag, skip_properties};

mod block;
mod offsets;
mod scalar;
mod tags;

/// The records of a YAML file, one at a time; see [`super::read_records`].
pub(crate) struct YamlRecords<'a> {
    builder: Builder,
    text: &'a str,
    options: LoadOptions,
    /// What reads the text: the block scanner, until it hands the text to the general parser.
    reader: Reader<'a>,
    /// Results handed out so far; the general parser, reading the text again from the start,
    /// skips as many.
    handed_out: usize,
    skip: usize,
    /// How many of the builder's results the scanner has confirmed.
    ready: usize,
    max_depth: usize,
    documents: Documents,
    done: bool,
}

/// What reads a YAML text.
enum Reader<'a> {
    /// caveat's own block scanner.
    Scanner(BlockScanner),
    /// saphyr-parser, from the text's start (boxed: its state is large, and rarely needed).
    General(Box<General<'a>>),
}

/// saphyr-parser over the text, and the conversion of its positions to bytes.
struct General<'a> {
    parser: Parser<'a, StrInput<'a>>,
    offsets: Offsets,
}

/// Documents begun so far, and the most allowed.
struct Documents {
    count: usize,
    max: usize,
}

impl Documents {
    /// A document begins at byte `at`: one more, unless it is one too many.
    fn begin(&mut self, builder: &mut Builder, at: usize) -> Result<(), Box<DataError>> {
        self.count += 1;
        if self.count > self.max {
            return Err(Box::new(data_error(
                builder.source(),
                Code::DataTooManyDocuments,
                format!("more than {} documents in one file", self.max),
                Span::new(at, at.saturating_add(1)),
                "this document is one too many",
                Some("raise the limit with `--max-documents N` if the data is right".into()),
            )));
        }
        builder.begin_document();
        Ok(())
    }
}

impl<'a> YamlRecords<'a> {
    /// Reads the records of `source`, parsing its text where it lies.
    pub fn new(source: &'a Source, options: LoadOptions) -> YamlRecords<'a> {
        let mut records = YamlRecords {
            builder: Builder::new(source.clone(), &options),
            text: source.text(),
            reader: Reader::Scanner(BlockScanner::new()),
            handed_out: 0,
            skip: 0,
            ready: 0,
            max_depth: options.limits.max_depth,
            documents: Documents {
                count: 0,
                max: options.limits.max_documents,
            },
            done: false,
            options,
        };
        if let Some(at) = unprintable(records.text) {
            // The whole text is refused: YAML does not allow the character anywhere.
            let error = unprintable_error(&records.builder, records.text, at);
            records.builder.out.push_back(Err(error));
            records.done = true;
        } else if records.options.yaml_general_only {
            records.read_generally();
        }
        records
    }

    /// Hands the text to the general parser, which reads it again from the start, skipping the
    /// results already handed out.
    fn read_generally(&mut self) {
        self.builder = Builder::new(self.builder.source().clone(), &self.options);
        self.documents.count = 0;
        self.skip = self.handed_out;
        self.reader = Reader::General(Box::new(General {
            parser: Parser::new(StrInput::new(self.text)),
            offsets: Offsets::new(self.text),
        }));
    }

    /// Whether the block scanner has read everything so far by itself.
    pub(super) fn read_by_scanner(&self) -> bool {
        matches!(self.reader, Reader::Scanner(_))
    }

    /// The byte offset of a parser position.
    fn byte(&mut self, mark: Marker) -> usize {
        match &mut self.reader {
            Reader::General(general) => general.offsets.byte(self.text, mark.index()),
            // The scanner gives bytes itself; parser positions come only from the parser.
            Reader::Scanner(_) => mark.index(),
        }
    }

    fn span(&mut self, span: saphyr_parser::Span) -> Span {
        let start = self.byte(span.start);
        let end = self.byte(span.end);
        Span::new(start, end.max(start))
    }

    fn event(&mut self, event: Event<'a>, span: saphyr_parser::Span) -> Result<(), Box<DataError>> {
        self.builder.count_event();
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                let at = self.byte(span.start);
                self.documents.begin(&mut self.builder, at)?;
            }
            Event::DocumentEnd => self.builder.end_document(),
            Event::Scalar(text, style, anchor, tag) => {
                let mut span = self.span(span);
                let mut props = Span::new(span.start, span.start);
                if anchor != 0 || tag.is_some() {
                    let content = skip_properties(self.text, span.start, span.end);
                    if content < span.end {
                        props.end = content;
                        span.start = content;
                    } else {
                        props.end = span.end;
                    }
                }
                if matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted) {
                    // saphyr's span of a quoted scalar runs on over the spaces and comment after it.
                    span.end = quoted_end(self.text.as_bytes(), span.start)
                        .map_or(span.end, |end| end.min(span.end));
                }
                if text.bytes().all(|b| b == b'\n')
                    && matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && let Some(at) = block_indicator_before(self.text, span.start)
                {
                    // An empty block scalar's span starts where the next node does: it is its
                    // `|` or `>`.
                    span = Span::new(at, at + 1);
                }
                self.scalar(
                    text.into_owned(),
                    style,
                    anchor,
                    tag.as_deref(),
                    span,
                    props,
                );
            }
            Event::SequenceStart(anchor, tag) => self.start(false, anchor, tag.as_deref(), span)?,
            Event::MappingStart(anchor, tag) => self.start(true, anchor, tag.as_deref(), span)?,
            Event::SequenceEnd | Event::MappingEnd => {
                // A flow collection ends at its bracket (saphyr's span runs on over a comment).
                let start = self.byte(span.start);
                let end = match self.text.as_bytes().get(start) {
                    Some(b']' | b'}') => start + 1,
                    _ => self.byte(span.end),
                };
                self.builder.end(end);
            }
            Event::Alias(id) => {
                let span = self.span(span);
                let name = self.builder.source().slice(span).to_string();
                self.builder.alias(id, span, &name)?;
            }
        }
        Ok(())
    }

    fn start(
        &mut self,
        map: bool,
        anchor: usize,
        tag: Option<&Tag>,
        span: saphyr_parser::Span,
    ) -> Result<(), Box<DataError>> {
        let raw = self.byte(span.start);
        let start = if anchor != 0 || tag.is_some() {
            skip_properties(self.text, raw, self.text.len())
        } else {
            raw
        };
        let bytes = self.text.as_bytes();
        let flow = bytes.get(start) == Some(if map { &b'{' } else { &b'[' });
        // saphyr starts a list that is not indented under its key at its first item: a block
        // list starts at its first `-`. And when a collection starts where the innermost open
        // list starts, that list is such a list, and this its first item.
        self.builder.first_item_at(start, dash_before(bytes, start));
        let entry = bytes.get(start) == Some(&b'-')
            && matches!(
                bytes.get(start + 1),
                None | Some(b' ' | b'\n' | b'\r' | b'\t')
            );
        let start = if map || flow || entry {
            start
        } else {
            dash_before(bytes, start)
        };
        self.builder.start(map, start, flow, anchor)?;
        if let Some(tag) = tag {
            let written = Span::new(raw, start);
            match classify_tag(tag) {
                TagKind::NonSpecific => {}
                TagKind::Map if map => {}
                TagKind::Seq if !map => {}
                TagKind::Other => {
                    let error = self.unsupported_tag(tag, written);
                    self.builder.error(error);
                }
                core => {
                    let what = if map { "a mapping" } else { "a list" };
                    let error = self.bad_tag_use(core, what, written);
                    self.builder.error(error);
                }
            }
        }
        Ok(())
    }

    fn scalar(
        &mut self,
        text: String,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        span: Span,
        props: Span,
    ) {
        if self.builder.expects_key() {
            if let Some(tag) = tag {
                if classify_tag(tag) == TagKind::Other {
                    let error = self.unsupported_tag(tag, props);
                    self.builder.error(error);
                }
            } else if style == ScalarStyle::Plain && text == "<<" {
                let error = data_error(
                    self.builder.source(),
                    Code::DataMergeKey,
                    "merge keys (`<<`) are not supported",
                    span,
                    "merge key",
                    Some(
                        "YAML 1.2 has no merge keys: `<<` would be an ordinary key here; write the \
                         merged fields out in this mapping"
                            .to_string(),
                    ),
                );
                self.builder.error(error);
            }
            self.builder.key(text.into(), span, anchor);
            return;
        }
        let value = match tag {
            None if style == ScalarStyle::Plain => Ok(plain_value(std::borrow::Cow::Owned(text))),
            None => Ok(Value::String(text.into())),
            Some(tag) => self.tagged_value(text, tag, span, props),
        };
        self.builder.scalar(value, span, anchor);
    }

    fn tagged_value(
        &self,
        text: String,
        tag: &Tag,
        span: Span,
        props: Span,
    ) -> Result<Value, Box<DataError>> {
        let kind = classify_tag(tag);
        let value = match kind {
            TagKind::NonSpecific | TagKind::Str => return Ok(Value::String(text.into())),
            TagKind::Int => parse_int(text.as_bytes()).map(Value::Number),
            TagKind::Float => parse_number(text.as_bytes()).map(Value::Number),
            TagKind::Bool => match text.as_str() {
                "true" | "True" | "TRUE" => Some(Value::Bool(true)),
                "false" | "False" | "FALSE" => Some(Value::Bool(false)),
                _ => None,
            },
            TagKind::Null => {
                matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL").then_some(Value::Null)
            }
            TagKind::Map | TagKind::Seq => {
                return Err(Box::new(self.bad_tag_use(kind, "a scalar", props)));
            }
            TagKind::Other => return Err(Box::new(self.unsupported_tag(tag, props))),
        };
        value.ok_or_else(|| {
            let (tag_text, wanted) = match kind {
                TagKind::Int => ("!!int", "an integer"),
                TagKind::Float => ("!!float", "a number that caveat can read exactly"),
                TagKind::Bool => ("!!bool", "`true` or `false`"),
                _ => ("!!null", "null"),
            };
            Box::new(data_error(
                self.builder.source(),
                Code::DataBadTaggedValue,
                format!(
                    "`{}` is tagged `{tag_text}` but is not {wanted}",
                    shorten(&text)
                ),
                span,
                format!("not {wanted}"),
                Some(format!("remove the `{tag_text}` tag, or write {wanted}")),
            ))
        })
    }

    /// The error for an unsupported tag; `props` spans the node's properties.
    fn unsupported_tag(&self, tag: &Tag, props: Span) -> DataError {
        let at = find_tag(self.text, props.start, props.end);
        let written = at
            .map(|span| self.builder.source().slice(span).to_string())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| display_tag(tag));
        data_error(
            self.builder.source(),
            Code::DataUnsupportedTag,
            format!("tag `{}` is not supported", shorten(&written)),
            at.unwrap_or_else(|| char_span_or(self.text, props)),
            "unsupported tag",
            Some(
                "records hold plain data: strings, numbers, booleans, null, lists and mappings; \
                 remove the tag"
                    .to_string(),
            ),
        )
    }

    /// The error for a core tag on the wrong kind of node; `props` spans the node's properties.
    fn bad_tag_use(&self, kind: TagKind, what: &str, props: Span) -> DataError {
        let name = match kind {
            TagKind::Str => "!!str",
            TagKind::Int => "!!int",
            TagKind::Float => "!!float",
            TagKind::Bool => "!!bool",
            TagKind::Null => "!!null",
            TagKind::Map => "!!map",
            TagKind::Seq => "!!seq",
            TagKind::NonSpecific | TagKind::Other => "!",
        };
        data_error(
            self.builder.source(),
            Code::DataBadTaggedValue,
            format!("tag `{name}` cannot mark {what}"),
            find_tag(self.text, props.start, props.end)
                .unwrap_or_else(|| char_span_or(self.text, props)),
            format!("`{name}` on {what}"),
            Some(format!("remove the `{name}` tag")),
        )
    }

    fn syntax_error(&mut self, error: &ScanError) -> DataError {
        let offset = self.byte(*error.marker());
        let span = char_span(self.text, offset.min(self.text.len()));
        let info = error.info().trim().trim_end_matches('.');
        if info == "recursion limit exceeded" {
            // saphyr's scanner allows 255 nested flow collections, and reads ahead of the events
            // (a `[` may start a key), so it can stop before the builder sees the limit crossed.
            let max = self.max_depth.min(255);
            return data_error(
                self.builder.source(),
                Code::DataTooDeep,
                format!("the data is nested more than {max} levels deep"),
                span,
                "nested too deep here",
                Some(format!(
                    "caveat reads lists and mappings nested at most {max} deep"
                )),
            );
        }
        let after_tab = offset
            .checked_sub(1)
            .and_then(|at| self.text.as_bytes().get(at))
            == Some(&b'\t')
            && info.contains("whitespace");
        let mut message = String::with_capacity(info.len() + 16);
        message.push_str("invalid YAML: ");
        let mut chars = info.chars();
        if after_tab {
            message.push_str("a tab follows the `:`, where the reader needs a space");
        } else if let Some(first) = chars.next() {
            message.extend(first.to_lowercase());
            message.push_str(chars.as_str());
        }
        let help = if after_tab {
            // `key:<TAB>value`: YAML 1.2 allows it, the reader (like PyYAML) does not.
            "put a space after the `:` instead of the tab: the YAML reader does not take a tab as the space that separates a key from its value"
        } else if info.contains("tab") {
            "indent YAML with spaces, never tabs"
        } else if info.contains("indentation") || info.contains("block") {
            "check the indentation: items of one list or mapping line up in the same column"
        } else {
            "check the YAML syntax near this point (quote values that contain `: `, `#` or start with a special character)"
        };
        data_error(
            self.builder.source(),
            Code::DataYamlSyntax,
            message,
            span,
            "the YAML parser stopped here",
            Some(help.to_string()),
        )
    }
}

impl Iterator for YamlRecords<'_> {
    type Item = Result<Record, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            // The scanner's results wait until the next line with content is read without the
            // general parser (which could read the lines before differently).
            let may = !self.read_by_scanner() || self.done || self.ready > 0;
            if let Some(result) = may.then(|| self.builder.out.pop_front()).flatten() {
                self.ready = self.ready.saturating_sub(1);
                if self.skip > 0 {
                    self.skip -= 1;
                    continue;
                }
                self.handed_out += 1;
                return Some(result);
            }
            if self.done {
                return None;
            }
            let event = match &mut self.reader {
                Reader::Scanner(scanner) => {
                    let documents = &mut self.documents;
                    let before = self.builder.out.len();
                    let step = scanner.step(self.text, &mut self.builder, &mut |builder, at| {
                        documents.begin(builder, at)
                    });
                    match step {
                        Ok(Step::Content) => self.ready = before,
                        Ok(Step::Blank) => {}
                        Ok(Step::End) => self.done = true,
                        Ok(Step::General) => self.read_generally(),
                        Err(error) => {
                            self.builder.out.push_back(Err(error.ending_the_text()));
                            self.done = true;
                        }
                    }
                    continue;
                }
                Reader::General(general) => general.parser.next_event(),
            };
            match event {
                None => self.done = true,
                Some(Err(error)) => {
                    let error = self.syntax_error(&error);
                    self.builder.out.push_back(Err(error.ending_the_text()));
                    self.done = true;
                }
                Some(Ok((event, span))) => {
                    if let Err(error) = self.event(event, span) {
                        self.builder.out.push_back(Err(error.ending_the_text()));
                        self.done = true;
                    }
                }
            }
        }
    }
}

/// The byte offset of the first character YAML 1.2 does not allow in a stream (outside its
/// printable set, §5.1): a C0 control other than tab, line feed and carriage return, DEL, a C1
/// control other than NEL, or the noncharacters U+FFFE and U+FFFF. Such a character can only
/// be written as an escape in a double-quoted scalar (`"\x01"`).
fn unprintable(text: &str) -> Option<usize> {
    // Bytes that may start one. Most texts have none: 32 bytes are tested at a time, without a
    // branch per byte (so that the test compiles to vector instructions).
    fn suspect(b: u8) -> bool {
        (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r')
            | (b == 0x7f)
            | (b == 0xc2)
            | (b == 0xef)
    }
    const WIDTH: usize = 32;
    let bytes = text.as_bytes();
    let whole = bytes.len() - bytes.len() % WIDTH;
    let (blocks, tail) = bytes.split_at(whole);
    let flagged = blocks
        .chunks_exact(WIDTH)
        .enumerate()
        .filter(|(_, block)| block.iter().fold(false, |any, &b| any | suspect(b)))
        .map(|(i, _)| i * WIDTH)
        .chain((!tail.is_empty()).then_some(whole));
    for start in flagged {
        let end = (start + WIDTH).min(bytes.len());
        for at in start..end {
            let next = |n: usize| bytes.get(at + n).copied().unwrap_or(0);
            let bad = match next(0) {
                0xc2 => (0x80..=0x9f).contains(&next(1)) && next(1) != 0x85,
                0xef => next(1) == 0xbf && matches!(next(2), 0xbe | 0xbf),
                b => suspect(b),
            };
            if bad {
                return Some(at);
            }
        }
    }
    None
}

/// The error for the character at `at`, which [`unprintable`] found.
fn unprintable_error(builder: &Builder, text: &str, at: usize) -> DataError {
    let span = char_span(text, at);
    let code = text
        .get(at..)
        .and_then(|rest| rest.chars().next())
        .map_or(0, u32::from);
    let what = if (0xfffe..=0xffff).contains(&code) {
        "the noncharacter"
    } else {
        "the raw control character"
    };
    data_error(
        builder.source(),
        Code::DataYamlSyntax,
        format!("a YAML file cannot hold {what} U+{code:04X}"),
        span,
        "not allowed in YAML",
        Some(format!(
            "remove it, or write it as an escape in a double-quoted string: \"\\u{code:04X}\""
        )),
    )
}

/// The `-` before `at`, with only spaces and line breaks between, if there is one; else `at`.
fn dash_before(bytes: &[u8], at: usize) -> usize {
    let mut i = at;
    while i > 0 && matches!(bytes.get(i - 1), Some(b' ' | b'\n')) {
        i -= 1;
    }
    match i.checked_sub(1) {
        Some(dash) if bytes.get(dash) == Some(&b'-') => dash,
        _ => at,
    }
}

/// A span of the first character of `span` (the span itself if it is empty).
fn char_span_or(text: &str, span: Span) -> Span {
    if span.start < span.end {
        span
    } else {
        char_span(text, span.start)
    }
}

/// The `|` or `>` of the block scalar header on the last line before `end` that holds more than
/// white space or a comment.
fn block_indicator_before(text: &str, end: usize) -> Option<usize> {
    let before = text.get(..end)?;
    let mut line_end = before.len();
    loop {
        let start = before.get(..line_end)?.rfind('\n').map_or(0, |n| n + 1);
        let line = before.get(start..line_end)?;
        let content = line.trim_start();
        if !content.is_empty() && !content.starts_with('#') {
            // The last `|` or `>` after white space that only indicators and a comment follow
            // (`x > y: |` has its header at the end).
            let bytes = line.as_bytes();
            // The comment starts at a `#` after white space (a space or a tab).
            let content_end = (1..bytes.len())
                .find(|&i| {
                    bytes.get(i) == Some(&b'#')
                        && bytes.get(i - 1).is_some_and(u8::is_ascii_whitespace)
                })
                .unwrap_or(bytes.len());
            let line = line.get(..content_end).unwrap_or(line);
            let at = (0..line.len()).rev().find(|&i| {
                let after = line.get(i + 1..).unwrap_or("").trim();
                matches!(bytes.get(i), Some(b'|' | b'>'))
                    && i.checked_sub(1)
                        .and_then(|b| bytes.get(b))
                        .is_none_or(|b| b.is_ascii_whitespace())
                    && after
                        .bytes()
                        .all(|b| matches!(b, b'+' | b'-' | b'0'..=b'9'))
            })?;
            return Some(start + at);
        }
        line_end = start.checked_sub(1)?;
    }
}
#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use rust_decimal::Decimal;

    use super::*;
    use crate::data::Limits;
    use crate::data::test_support::*;
    use crate::source::SourceFile;

    fn read_with(text: &str, options: LoadOptions) -> (Source, Vec<Result<Record, DataError>>) {
        let source = SourceFile::new("test.yaml", text);
        let results = YamlRecords::new(&source, options).collect();
        (source, results)
    }

    fn read(text: &str) -> (Source, Vec<Result<Record, DataError>>) {
        read_with(text, LoadOptions::default())
    }

    const LANGUAGE_RECORDS: &str = "\
- id: N-2018-0812
  vendor: DJI
  date: 2018-08-12
  exemption: {kind: urgent, approved_by: OSD A&S, expires: 2019-06-28}
- id: AF-2018-1114
  vendor: DJI
  date: 2018-11-14
- id: AF-2017-0301
  vendor: DJI
  date: 2017-03-01
- id: N-2018-0901
  vendor: Parrot
  date: 2018-09-01
";

    #[test]
    fn the_language_records_load_with_values_and_spans() {
        let (source, results) = read(LANGUAGE_RECORDS);
        assert_eq!(results.len(), 4);
        let ids: Vec<&str> = results
            .iter()
            .map(|r| string(get(&ok(r).root, "id")))
            .collect();
        assert_eq!(
            ids,
            ["N-2018-0812", "AF-2018-1114", "AF-2017-0301", "N-2018-0901"]
        );
        let indexes: Vec<usize> = results.iter().map(|r| ok(r).index).collect();
        assert_eq!(indexes, [0, 1, 2, 3]);

        let first = ok(&results[0]);
        // The record starts at its first key, `id`.
        assert_eq!(source.line_col(first.root.span.start), (1, 3));
        assert_eq!(
            source.slice(first.root.span).lines().last(),
            Some("  exemption: {kind: urgent, approved_by: OSD A&S, expires: 2019-06-28}")
        );
        let vendor = get(&first.root, "vendor");
        assert_eq!(string(vendor), "DJI");
        assert_eq!(source.line_col(vendor.span.start), (2, 11));
        assert_eq!(source.slice(vendor.span), "DJI");
        let date = get(&first.root, "date");
        assert_eq!(
            string(date),
            "2018-08-12",
            "an unquoted date stays a string"
        );
        let exemption = get(&first.root, "exemption");
        assert_eq!(
            source.slice(exemption.span),
            "{kind: urgent, approved_by: OSD A&S, expires: 2019-06-28}"
        );
        let kind = get(exemption, "kind");
        assert_eq!(string(kind), "urgent");
        assert_eq!(source.line_col(kind.span.start), (4, 21));
        assert_eq!(string(get(exemption, "approved_by")), "OSD A&S");
        let Value::Map(map) = &exemption.value else {
            panic!()
        };
        let expires = map.entry("expires").unwrap();
        assert_eq!(source.line_col(expires.key_span.start), (4, 51));
        assert_eq!(source.slice(expires.key_span), "expires");

        let last = ok(&results[3]);
        assert_eq!(source.line_col(last.root.span.start), (11, 3));
        assert_eq!(
            source.slice(last.root.span),
            "id: N-2018-0901\n  vendor: Parrot\n  date: 2018-09-01"
        );
    }

    #[test]
    fn scalars_follow_the_yaml_1_2_core_schema() {
        let (source, results) = read(
            "a: yes\nb: no\nc: on\nd: 2018-08-12\ne: 49350.00\nf: 190_000\ng: ~\nh: null\ni:\nj: True\n\
             k: FALSE\nl: 0x1F\nm: 0o17\nn: 1.5e3\no: .inf\np: .NaN\nq: \"42\"\nr: '7'\ns: -0.50\nt: +12\n\
             u: .5\nv: 5.\nw: 1e400\nx: 123456789012345678901234567890123\ny: N-1\nz: 2018-08-12T10:00:00Z\n",
        );
        let record = ok(&results[0]);
        let root = &record.root;
        for key in ["a", "b", "c"] {
            assert!(
                matches!(get(root, key).value, Value::String(_)),
                "{key} is a string in YAML 1.2"
            );
        }
        assert_eq!(string(get(root, "d")), "2018-08-12");
        let amount = number(get(root, "e"));
        assert_eq!(amount.to_string(), "49350.00");
        assert_eq!(amount.scale(), 2);
        assert_eq!(source.slice(get(root, "e").span), "49350.00");
        assert_eq!(string(get(root, "f")), "190_000");
        for key in ["g", "h", "i"] {
            assert_eq!(get(root, key).value, Value::Null, "{key} is null");
        }
        assert_eq!(get(root, "j").value, Value::Bool(true));
        assert_eq!(get(root, "k").value, Value::Bool(false));
        assert_eq!(number(get(root, "l")), Decimal::from(31));
        assert_eq!(number(get(root, "m")), Decimal::from(15));
        assert_eq!(number(get(root, "n")), Decimal::from(1500));
        assert_eq!(string(get(root, "o")), ".inf");
        assert_eq!(string(get(root, "p")), ".NaN");
        assert_eq!(string(get(root, "q")), "42");
        assert_eq!(
            source.slice(get(root, "q").span),
            "\"42\"",
            "a quoted scalar's span has its quotes"
        );
        assert_eq!(string(get(root, "r")), "7");
        assert_eq!(number(get(root, "s")).to_string(), "-0.50");
        assert_eq!(number(get(root, "t")), Decimal::from(12));
        assert_eq!(number(get(root, "u")).to_string(), "0.5");
        assert_eq!(number(get(root, "v")), Decimal::from(5));
        assert_eq!(
            string(get(root, "w")),
            "1e400",
            "too large for a decimal: kept as text"
        );
        assert_eq!(string(get(root, "x")), "123456789012345678901234567890123");
        assert_eq!(string(get(root, "y")), "N-1");
        assert_eq!(string(get(root, "z")), "2018-08-12T10:00:00Z");
    }

    #[test]
    fn number_grammar_edges() {
        let n = |s: &str| parse_number(s.as_bytes()).map(|d| d.to_string());
        assert_eq!(n("0"), Some("0".into()));
        assert_eq!(n("-.5"), Some("-0.5".into()));
        assert_eq!(n("1E-2"), Some("0.01".into()));
        assert_eq!(n("2.50e1"), Some("25.0".into()));
        assert_eq!(
            n("0.0000000000000000000000000001"),
            Some("0.0000000000000000000000000001".into())
        );
        assert_eq!(n("0.00000000000000000000000000001"), None);
        assert_eq!(
            n("1.000000000000000000000000000000000"),
            Some("1.0000000000000000000000000000".into())
        );
        assert_eq!(n("0e99999999999999999999"), Some("0".into()));
        for bad in [
            "", "+", "-", ".", "1e", "1e+", "e5", "1.2.3", "0x", "0o", "0o8", "0xg", "1_0", "12a",
            "--1", "1 ",
        ] {
            assert_eq!(n(bad), None, "{bad:?} is not a number");
        }
        assert_eq!(
            parse_int(b"0x7fffffffffffffffffffffff").map(|d| d.to_string()),
            Some("39614081257132168796771975167".into())
        );
        assert_eq!(parse_int(b"0xffffffffffffffffffffffffff"), None);
        assert_eq!(parse_int(b"1.5"), None);
    }

    #[test]
    fn a_duplicate_key_is_an_error_at_the_second_key_and_reading_goes_on() {
        let (source, results) = read("- id: A\n  vendor: DJI\n  vendor: Autel\n- id: B\n");
        assert_eq!(results.len(), 2);
        let error = err(&results[0]);
        assert_eq!(error.code, Code::DataDuplicateKey);
        assert_eq!(error.message, "duplicate key `vendor` in one mapping");
        assert_eq!(source.line_col(error.span.start), (3, 3));
        assert_eq!(source.slice(error.span), "vendor");
        let first = error.related.unwrap();
        assert_eq!(source.line_col(first.start), (2, 3));
        assert_eq!(error.related_label, "first defined here");
        let second = ok(&results[1]);
        assert_eq!(second.index, 1);
        assert_eq!(string(get(&second.root, "id")), "B");
    }

    #[test]
    fn duplicate_keys_in_large_mappings_are_found() {
        let mut text: String = (0..100).map(|i| format!("k{i}: {i}\n")).collect();
        text.push_str("k42: again\n");
        let (source, results) = read(&text);
        let error = err(&results[0]);
        assert_eq!(error.code, Code::DataDuplicateKey);
        assert_eq!(source.line_col(error.span.start), (101, 1));
        assert_eq!(source.line_col(error.related.unwrap().start), (43, 1));
    }

    #[test]
    fn a_30000_deep_block_sequence_is_refused_without_overflowing() {
        let text = format!("{}x\n", "- ".repeat(30_000));
        let (_, results) = read(&text);
        assert_eq!(results.len(), 1);
        let error = err(&results[0]);
        assert_eq!(error.code, Code::DataTooDeep);
        assert_eq!(
            error.message,
            "the data is nested more than 128 levels deep"
        );
        assert_eq!(error.span.start, 128 * 2, "at the 129th `-`");
    }

    #[test]
    fn a_30000_deep_flow_sequence_is_refused_without_overflowing() {
        let text = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
        let (_, results) = read(&text);
        assert_eq!(results.len(), 1);
        let error = err(&results[0]);
        assert_eq!(error.code, Code::DataTooDeep);
        assert_eq!(
            error.message,
            "the data is nested more than 128 levels deep"
        );
        // saphyr's scanner stops at 255 open brackets while it looks ahead for a key.
        assert!(
            error.span.start >= 128 && error.span.start <= 256,
            "{:?}",
            error.span
        );
        // Shallower than the scanner's limit, the builder's own limit points at the 129th `[`.
        let text = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let (_, results) = read(&text);
        assert_eq!(results.len(), 1);
        let error = err(&results[0]);
        assert_eq!(error.code, Code::DataTooDeep);
    }

    #[test]
    fn nesting_up_to_the_limit_is_read() {
        let limits = Limits {
            max_depth: 4,
            ..Limits::default()
        };
        let options = LoadOptions {
            limits,
            ..LoadOptions::default()
        };
        let (_, results) = read_with("a: {b: {c: [1]}}\n", options.clone());
        assert!(results[0].is_ok());
        let (_, results) = read_with("a: {b: {c: [[1]]}}\n", options);
        assert_eq!(err(&results[0]).code, Code::DataTooDeep);
    }

    #[test]
    fn an_alias_cannot_nest_beyond_the_limit() {
        let limits = Limits {
            max_depth: 4,
            ..Limits::default()
        };
        let options = LoadOptions {
            limits,
            ..LoadOptions::default()
        };
        let (source, results) = read_with("a: &x [[[1]]]\nb: [*x]\n", options);
        let error = err(&results[0]);
        assert_eq!(error.code, Code::DataTooDeep);
        assert_eq!(source.slice(error.span), "*x");
    }

    #[test]
    fn a_billion_laughs_is_refused_fast() {
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for pair in names.windows(2) {
            let (prev, name) = (pair[0], pair[1]);
            let refs = vec![format!("*{prev}"); 9].join(",");
            text.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        let started = Instant::now();
        let (source, results) = read(&text);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        let error = err(results.last().unwrap());
        assert_eq!(error.code, Code::DataAliasBomb);
        assert!(source.slice(error.span).starts_with('*'));
        assert_eq!(results.len(), 1, "the file ends at the bomb");
    }

    #[test]
    fn aliases_repeat_anchored_nodes() {
        let (source, results) =
            read("- &base {vendor: DJI, kind: drone}\n- id: 2\n  spec: *base\n- *base\n");
        assert_eq!(results.len(), 3);
        let second = ok(&results[1]);
        let spec = get(&second.root, "spec");
        assert_eq!(string(get(spec, "vendor")), "DJI");
        assert_eq!(source.slice(get(spec, "vendor").span), "DJI");
        let third = ok(&results[2]);
        assert_eq!(third.index, 2);
        assert_eq!(string(get(&third.root, "kind")), "drone");
        // An anchored scalar's span is its text, without the anchor.
        let (source, results) = read("a: &x hello\nb: *x\n");
        let root = &ok(&results[0]).root;
        assert_eq!(source.slice(get(root, "a").span), "hello");
        assert_eq!(string(get(root, "b")), "hello");
    }

    #[test]
    fn an_alias_to_another_document_is_an_error() {
        let (source, results) = read("a: &x 1\n---\nb: *x\n");
        assert!(results[0].is_ok());
        let error = err(&results[1]);
        assert_eq!(error.code, Code::DataUnknownAlias);
        assert_eq!(source.slice(error.span), "*x");
    }

    #[test]
    fn unsupported_tags_are_refused() {
        let (source, results) =
            read("- id: 1\n  run: !!python/object:os.system rm -rf /\n- id: 2\n");
        let error = err(&results[0]);
        assert_eq!(error.code, Code::DataUnsupportedTag);
        assert_eq!(
            error.message,
            "tag `!!python/object:os.system` is not supported"
        );
        assert_eq!(source.slice(error.span), "!!python/object:os.system");
        assert!(results[1].is_ok());

        for text in [
            "a: !foo x\n",
            "a: !!binary aGVsbG8=\n",
            "a: !!timestamp 2001-12-14\n",
            "!!set {a, b}\n",
            "a: !<tag:example.com:x> 1\n",
        ] {
            let (_, results) = read(text);
            assert_eq!(err(&results[0]).code, Code::DataUnsupportedTag, "{text}");
        }
        let (_, results) = read("- !!python/object:os.system {a: 1}\n");
        assert_eq!(
            err(&results[0]).message,
            "tag `!!python/object:os.system` is not supported"
        );
    }

    #[test]
    fn core_tags_are_honoured() {
        let (_, results) = read(
            "a: !!str 42\nb: !!int \"42\"\nc: !!float 1.50\nd: !!bool \"true\"\ne: !!null ''\nf: ! 12\ng: !!map {x: 1}\nh: !!seq [1]\ni: !!int 0x10\n",
        );
        let root = &ok(&results[0]).root;
        assert_eq!(string(get(root, "a")), "42");
        assert_eq!(number(get(root, "b")), Decimal::from(42));
        assert_eq!(number(get(root, "c")).to_string(), "1.50");
        assert_eq!(get(root, "d").value, Value::Bool(true));
        assert_eq!(get(root, "e").value, Value::Null);
        assert_eq!(
            string(get(root, "f")),
            "12",
            "the non-specific tag `!` makes a string"
        );
        assert!(matches!(get(root, "g").value, Value::Map(_)));
        assert!(matches!(get(root, "h").value, Value::List(_)));
        assert_eq!(number(get(root, "i")), Decimal::from(16));

        for (text, message) in [
            (
                "a: !!int abc\n",
                "`abc` is tagged `!!int` but is not an integer",
            ),
            (
                "a: !!int 1.5\n",
                "`1.5` is tagged `!!int` but is not an integer",
            ),
            (
                "a: !!float .inf\n",
                "`.inf` is tagged `!!float` but is not a number that caveat can read exactly",
            ),
            (
                "a: !!bool yes\n",
                "`yes` is tagged `!!bool` but is not `true` or `false`",
            ),
            ("a: !!map x\n", "tag `!!map` cannot mark a scalar"),
            ("a: !!str {x: 1}\n", "tag `!!str` cannot mark a mapping"),
        ] {
            let (_, results) = read(text);
            let error = err(&results[0]);
            assert_eq!(error.code, Code::DataBadTaggedValue, "{text}");
            assert_eq!(error.message, message);
        }
    }

    #[test]
    fn documents_and_indexes() {
        let (source, results) = read(
            "id: one\n---\n- id: two\n- just text\n- id: three\n---\n---\n~\n--- {id: four}\n",
        );
        assert_eq!(results.len(), 5);
        assert_eq!(ok(&results[4]).index, 4);
        assert_eq!(ok(&results[0]).index, 0);
        assert_eq!(ok(&results[1]).index, 1);
        let error = err(&results[2]);
        assert_eq!(error.code, Code::DataNotARecord);
        assert_eq!(error.message, "a record must be a mapping, found a string");
        assert_eq!(source.slice(error.span), "just text");
        assert_eq!(ok(&results[3]).index, 3);
        assert_eq!(string(get(&ok(&results[3]).root, "id")), "three");

        let (_, results) = read("--- {id: a}\n--- {id: b}\n...\n");
        let indexes: Vec<usize> = results.iter().map(|r| ok(r).index).collect();
        assert_eq!(indexes, [0, 1]);
    }

    #[test]
    fn a_scalar_document_or_element_is_not_a_record() {
        let (source, results) = read("just a string\n");
        assert_eq!(results.len(), 1);
        let error = err(&results[0]);
        assert_eq!(error.code, Code::DataNotARecord);
        assert_eq!(source.slice(error.span), "just a string");
        let (_, results) = read("- [1, 2]\n- 3\n- {a: 1}\n-\n");
        assert_eq!(
            err(&results[0]).message,
            "a record must be a mapping, found a list"
        );
        assert_eq!(
            err(&results[1]).message,
            "a record must be a mapping, found a number"
        );
        assert_eq!(ok(&results[2]).index, 2);
        assert_eq!(
            err(&results[3]).message,
            "a record must be a mapping, found null"
        );
        let (_, results) = read("");
        assert!(results.is_empty());
        let (_, results) = read("# only a comment\n");
        assert!(results.is_empty());
        let (_, results) = read("---\n...\n");
        assert!(results.is_empty());
    }

    #[test]
    fn records_come_out_before_the_file_is_read() {
        // The records before a syntax error are handed out; the error ends the file.
        let (source, results) = read("- id: 1\n- id: 2\n- id: [3\n- id: 4\n");
        assert!(results[0].is_ok());
        assert!(results[1].is_ok());
        let error = err(&results[2]);
        assert_eq!(error.code, Code::DataYamlSyntax);
        assert_eq!(results.len(), 3);
        assert!(
            error.message.starts_with("invalid YAML: "),
            "{}",
            error.message
        );
        assert!(error.span.start <= source.text().len());

        let text: String = (0..10_000)
            .map(|i| format!("- {{id: {i}, vendor: DJI}}\n"))
            .collect();
        let source = SourceFile::new("t.yaml", text);
        let mut records = YamlRecords::new(&source, LoadOptions::default());
        assert!(records.next().is_some_and(|r| r.is_ok()));
        assert!(
            records.builder.events_read() < 20,
            "read {} events for one record",
            records.builder.events_read()
        );
        assert!(records.next().is_some_and(|r| r.is_ok()));
        assert!(records.builder.events_read() < 30);
        assert_eq!(records.count(), 9_998);
    }

    #[test]
    fn syntax_errors_point_at_bytes() {
        let (source, results) = read("name: \"Größe\"\nvendor: DJI\n  bad: indent\n");
        let error = err(results.last().unwrap());
        assert_eq!(error.code, Code::DataYamlSyntax);
        let (line, _) = source.line_col(error.span.start);
        assert_eq!(line, 3);
        assert!(
            error
                .message
                .chars()
                .nth(14)
                .is_some_and(char::is_lowercase),
            "{}",
            error.message
        );
        assert!(error.help.is_some());

        let (_, results) = read("a:\n\t- b\n");
        let error = err(results.last().unwrap());
        assert_eq!(error.code, Code::DataYamlSyntax);
    }

    #[test]
    fn characters_outside_the_printable_set_are_refused_where_they_stand() {
        // Raw, quoted or plain, in the block shape or a flow collection: the file is refused
        // at the character, by the block scanner and the general parser alike.
        let cases = [
            ("- id: a\n  vendor: \"DJ\u{1}I\"\n", 2, "U+0001"),
            ("- id: a\n- id: b\n  vendor: DJ\u{7f}I\n", 3, "U+007F"),
            ("[{id: a, vendor: \"x\u{9b}\"}]\n", 1, "U+009B"),
            ("- id: a\n  vendor: x\u{fffe}\n", 2, "U+FFFE"),
            ("- id: a\n  note: |\n    one\u{0}two\n", 3, "U+0000"),
        ];
        for general in [false, true] {
            for (text, line, code) in cases {
                let options = LoadOptions {
                    yaml_general_only: general,
                    ..LoadOptions::default()
                };
                let (source, results) = read_with(text, options);
                assert_eq!(results.len(), 1, "{text:?}");
                let error = err(&results[0]);
                assert_eq!(error.code, Code::DataYamlSyntax);
                assert!(error.message.ends_with(code), "{}", error.message);
                assert_eq!(source.line_col(error.span.start).0, line, "{text:?}");
                let bad = &source.text()[error.span.start..error.span.end];
                assert_eq!(
                    format!("U+{:04X}", u32::from(bad.chars().next().unwrap())),
                    code
                );
            }
        }
        // At any offset: in the blocks tested together or in the tail, across a block's end.
        for padding in 0..70 {
            for bad in ['\u{1}', '\u{9f}', '\u{ffff}'] {
                let text = format!("- id: a\n  note: \"{}{bad}\"\n", "x".repeat(padding));
                let (source, results) = read(&text);
                let error = err(&results[0]);
                assert_eq!(error.span.start, 17 + padding, "{text:?}");
                assert_eq!(source.text()[error.span.start..].chars().next(), Some(bad));
            }
        }
        // Tabs, line breaks, NEL, a no-break space, a byte order mark and other text are allowed.
        let (_, results) = read("- id: a\r\n  note: \"a\tb \u{85} \u{a0} \u{feff} é 語\"\n");
        assert!(results.iter().all(Result::is_ok), "{results:?}");
    }

    #[test]
    fn records_path_takes_the_list_inside_each_document() {
        let (source, results) = read_with(
            "title: feed\nentry:\n  - {id: 1}\n  - {id: 2}\nmore: [x]\n---\nentry: {id: 3}\n---\nentry: []\n",
            records_path("entry"),
        );
        assert_eq!(results.len(), 3);
        let ids: Vec<String> = results
            .iter()
            .map(|r| number(get(&ok(r).root, "id")).to_string())
            .collect();
        assert_eq!(ids, ["1", "2", "3"]);
        assert_eq!(ok(&results[2]).index, 2);
        assert_eq!(source.slice(ok(&results[0]).root.span), "{id: 1}");

        let (_, results) = read_with("a:\n  b:\n    - {id: 1}\n  c: 2\n", records_path("a.b"));
        assert_eq!(results.len(), 1);
        assert!(results[0].is_ok());
    }

    #[test]
    fn a_document_without_the_records_list_is_an_error() {
        let (source, results) = read_with(
            "title: feed\nitems: []\n---\nentry: {id: 1}\n",
            records_path("entry"),
        );
        assert_eq!(results.len(), 2);
        let error = err(&results[0]);
        assert_eq!(error.code, Code::DataNoRecordsList);
        assert_eq!(
            error.message,
            "this document has no list of records at `entry`"
        );
        assert_eq!(source.line_col(error.span.start), (1, 1));
        assert!(
            error
                .help
                .as_deref()
                .is_some_and(|h| h.contains("--records entry"))
        );
        assert_eq!(ok(&results[1]).index, 0);

        let (_, results) = read_with("entry: 42\n", records_path("entry"));
        assert_eq!(
            err(&results[0]).message,
            "the value at `entry` is a number, not a list of records"
        );
        let (_, results) = read_with("a: [1]\n", records_path("a.b"));
        assert_eq!(
            err(&results[0]).message,
            "the value at `a` is a list, not a mapping"
        );
        let (_, results) = read_with("- entry: []\n", records_path("entry"));
        assert_eq!(err(&results[0]).code, Code::DataNoRecordsList);
        let (_, results) = read_with("entry: [{id: 1}, oops]\n", records_path("entry"));
        assert!(results[0].is_ok());
        assert_eq!(err(&results[1]).code, Code::DataNotARecord);
    }

    #[test]
    fn merge_and_complex_keys_are_refused() {
        let (source, results) = read("base: &b {x: 1}\nrec:\n  <<: *b\n  y: 2\n");
        let error = err(&results[0]);
        assert_eq!(error.code, Code::DataMergeKey);
        assert_eq!(source.slice(error.span), "<<");
        assert!(
            error
                .help
                .as_deref()
                .is_some_and(|h| h.contains("YAML 1.2"))
        );

        let (source, results) = read("- ? [a, b]\n  : 1\n  id: x\n- id: y\n");
        let error = err(&results[0]);
        assert_eq!(error.code, Code::DataComplexKey);
        assert_eq!(source.slice(error.span), "[a, b]");
        assert!(results[1].is_ok());

        let (_, results) = read("{a: 1}: x\n");
        assert_eq!(err(&results[0]).code, Code::DataComplexKey);
        // A quoted "<<" is an ordinary key.
        let (_, results) = read("\"<<\": 1\n");
        assert!(results[0].is_ok());
    }

    #[test]
    fn bom_crlf_and_non_ascii_text_keep_byte_spans() {
        let (source, results) =
            read("\u{feff}- id: Größe\r\n  vendor: DJI\r\n  note: \"naïve\"\r\n- id: x\r\n");
        assert_eq!(results.len(), 2);
        let root = &ok(&results[0]).root;
        assert_eq!(source.slice(get(root, "id").span), "Größe");
        assert_eq!(source.slice(get(root, "vendor").span), "DJI");
        assert_eq!(source.line_col(get(root, "vendor").span.start), (2, 11));
        assert_eq!(source.slice(get(root, "note").span), "\"naïve\"");
        assert_eq!(string(get(root, "note")), "naïve");
        let second = &ok(&results[1]).root;
        assert_eq!(source.slice(get(second, "id").span), "x");

        // ASCII after a byte-order mark takes the shortcut.
        let (source, results) = read("\u{feff}a: 1\r\nb: two\r\n");
        let root = &ok(&results[0]).root;
        assert_eq!(source.slice(get(root, "b").span), "two");
        assert_eq!(source.line_col(get(root, "b").span.start), (2, 4));
    }

    #[test]
    fn offsets_walk_both_ways() {
        let text = "aé😀b\nc";
        let mut offsets = Offsets::new(text);
        assert!(matches!(offsets, Offsets::Walk { .. }));
        assert_eq!(offsets.byte(text, 3), 7);
        assert_eq!(offsets.byte(text, 1), 1);
        assert_eq!(offsets.byte(text, 2), 3);
        assert_eq!(offsets.byte(text, 5), 9);
        assert_eq!(offsets.byte(text, 6), 10);
        assert_eq!(offsets.byte(text, 0), 0);
        assert_eq!(offsets.byte(text, 99), text.len());
    }

    #[test]
    fn block_scalars_and_multi_line_values() {
        let (_, results) =
            read("a: |\n  line one\n  line two\nb: >\n  folded\n  text\nc: plain\n  continued\n");
        let root = &ok(&results[0]).root;
        assert_eq!(string(get(root, "a")), "line one\nline two\n");
        assert_eq!(string(get(root, "b")), "folded text\n");
        assert_eq!(string(get(root, "c")), "plain continued");
    }

    #[test]
    fn an_empty_block_scalar_is_at_its_indicator() {
        // Its span was the next record's first byte.
        let text = "- id: A\n  memo: |\n- id: B\n  memo: >-\t# none |\n\n# c\n\n- id: C\n  x > y: |+\n\n- id: D\n";
        let (_, results) = read(text);
        for (record, at) in [(0, "|\n- id: B"), (1, ">-"), (2, "|+")] {
            let memo = get(
                &ok(&results[record]).root,
                if record == 2 { "x > y" } else { "memo" },
            );
            assert!(string(memo).bytes().all(|b| b == b'\n'));
            assert_eq!(memo.span.start, text.find(at).unwrap(), "record {record}");
        }
    }

    #[test]
    fn the_reader_can_move_between_threads() {
        fn send<T: Send>(_: &T) {}
        let source = SourceFile::new("t.yaml", "");
        let records = YamlRecords::new(&source, LoadOptions::default());
        send(&records);
    }
}
