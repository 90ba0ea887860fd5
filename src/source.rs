//! Source files and spans: every AST node and every record value knows where it came from.

use std::fmt;
use std::sync::{Arc, OnceLock};

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// A file that was read, policy or data, with its name as the user gave it.
#[derive(Debug)]
pub struct SourceFile {
    name: String,
    text: String,
    /// The line of the file on which `text` starts: 1, unless this is a later chunk of a file
    /// that was read in pieces.
    first_line: usize,
    /// The characters of that line before `text` starts: 0, unless this is a window of a long
    /// line ([`SourceFile::snippet`]).
    first_column: usize,
    line_starts: OnceLock<Vec<usize>>,
    /// The last offset looked up (at first, the text's start): findings come in file order, so
    /// the next one is found by counting the line breaks from there, without an index of every
    /// line.
    last_line: std::sync::Mutex<LineMark>,
    /// Characters before every [`CHAR_BLOCK`]-th byte, for columns on long lines.
    char_marks: OnceLock<Vec<usize>>,
    /// Whether the text holds a carriage return (else only LFs end lines).
    has_cr: OnceLock<bool>,
    /// Whether the text is all ASCII (then a column is a count of bytes).
    is_ascii: OnceLock<bool>,
    /// The text as snippets show it, when it holds control characters.
    shown: OnceLock<Option<Shown>>,
    /// What takes the text's buffer back when the file is dropped (a chunk reader reusing its
    /// buffers: memory it has touched already, not fresh pages for every chunk).
    give_back: Option<fn(Vec<u8>)>,
}

/// How many bytes of a long line [`SourceFile::line_around`] keeps.
const AROUND: usize = 1024;

/// What [`SourceFile::line_around`] gives: a line, or a window of a long one.
#[derive(Debug, Clone, Copy)]
pub struct Around<'a> {
    /// The text.
    pub text: &'a str,
    /// The file's line it is on (1-based).
    pub line: usize,
    /// The column (1-based, in characters) where it starts on that line.
    pub column: usize,
    /// The span within the text.
    pub span: Span,
}

impl Drop for SourceFile {
    fn drop(&mut self) {
        if let Some(give_back) = self.give_back {
            give_back(std::mem::take(&mut self.text).into_bytes());
        }
    }
}

/// An offset of a text, its line (1-based) and where that line starts.
#[derive(Debug, Clone, Copy)]
struct LineMark {
    offset: usize,
    line: usize,
    start: usize,
}

/// A copy of a file's text with its control characters escaped (`\u{1b}`), for snippets: what
/// a terminal shows must be the text, never what it would do.
#[derive(Debug)]
struct Shown {
    /// The escaped text, as a file of the same name and first line (line breaks are kept).
    source: Source,
    /// For each escaped character: its offset in the original text, and the bytes the escapes
    /// up to and including it added.
    shifts: Vec<(usize, usize)>,
}

/// A shared handle to a [`SourceFile`].
pub type Source = Arc<SourceFile>;

impl SourceFile {
    /// Wraps `text` read from the file called `name`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        SourceFile::chunk(name, text, 1)
    }

    /// A piece of the file `name` that starts on line `first_line` of it: line numbers in
    /// diagnostics and reports are the file's.
    pub fn chunk(name: impl Into<String>, text: impl Into<String>, first_line: usize) -> Source {
        SourceFile::window(name, text, first_line, 1)
    }

    /// [`SourceFile::chunk`] for a piece that starts at `column` (1-based, in characters) of its
    /// first line: columns on that line are the file's.
    pub fn window(
        name: impl Into<String>,
        text: impl Into<String>,
        first_line: usize,
        column: usize,
    ) -> Source {
        Arc::new(SourceFile {
            name: name.into(),
            text: text.into(),
            first_line: first_line.max(1),
            first_column: column.saturating_sub(1),
            line_starts: OnceLock::new(),
            last_line: std::sync::Mutex::new(LineMark {
                offset: 0,
                line: 1,
                start: 0,
            }),
            char_marks: OnceLock::new(),
            has_cr: OnceLock::new(),
            is_ascii: OnceLock::new(),
            shown: OnceLock::new(),
            give_back: None,
        })
    }

    /// Has `give_back` take the text's buffer when this file, not yet shared, is dropped.
    pub(crate) fn give_back_on_drop(source: &mut Source, give_back: fn(Vec<u8>)) {
        if let Some(file) = Arc::get_mut(source) {
            file.give_back = Some(give_back);
        }
    }

    /// The file as snippets show it: this one, or, if it holds control characters, a copy in
    /// which they are escaped (see [`SourceFile::shown_offset`] for its offsets).
    pub fn shown(self: &Source) -> Source {
        match self.shown_copy() {
            Some(shown) => shown.source.clone(),
            None => self.clone(),
        }
    }

    /// The offset in [`SourceFile::shown`] of an offset in this file.
    pub fn shown_offset(&self, offset: usize) -> usize {
        let Some(shown) = self.shown_copy() else {
            return offset;
        };
        let before = shown.shifts.partition_point(|&(at, _)| at < offset);
        let added = before
            .checked_sub(1)
            .and_then(|i| shown.shifts.get(i))
            .map_or(0, |&(_, added)| added);
        offset + added
    }

    /// The offset in this file of an offset in [`SourceFile::shown`] that is not inside an
    /// escape (where a value starts): [`SourceFile::shown_offset`] undone.
    pub fn given_offset(&self, shown_offset: usize) -> usize {
        let Some(shown) = self.shown_copy() else {
            return shown_offset;
        };
        // The escapes wholly before the offset: each ends where its character did, shifted by
        // what it and those before it added.
        let before = shown
            .shifts
            .partition_point(|&(at, added)| at + added < shown_offset);
        let added = before
            .checked_sub(1)
            .and_then(|i| shown.shifts.get(i))
            .map_or(0, |&(_, added)| added);
        shown_offset.saturating_sub(added)
    }

    fn shown_copy(&self) -> Option<&Shown> {
        self.shown
            .get_or_init(|| {
                if !self.text.chars().any(crate::report::text::hidden) {
                    return None;
                }
                let mut text = String::with_capacity(self.text.len() + 64);
                let mut shifts = Vec::new();
                let bytes = self.text.as_bytes();
                for (at, c) in self.text.char_indices() {
                    if c == '\r' {
                        // A line break, as this file counts lines: a lone CR is shown as a line
                        // feed (miette would print it raw), CRLF as it is.
                        let lone = bytes.get(at + 1) != Some(&b'\n');
                        text.push(if lone { '\n' } else { '\r' });
                    } else if crate::report::text::hidden(c) {
                        let before = text.len();
                        crate::report::text::push_escaped(c, &mut text);
                        let added = text.len() - before - c.len_utf8();
                        let total = shifts.last().map_or(0, |&(_, t)| t) + added;
                        shifts.push((at, total));
                    } else {
                        text.push(c);
                    }
                }
                Some(Shown {
                    // A window of a line keeps the column it starts at.
                    source: SourceFile::window(
                        self.name.clone(),
                        text,
                        self.first_line,
                        self.first_column + 1,
                    ),
                    shifts,
                })
            })
            .as_ref()
    }

    /// The file name as the user gave it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole text of the file.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text a span covers (empty if the span does not fit the file).
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let mut starts = vec![0];
            let bytes = self.text.as_bytes();
            for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
                if ends_line(bytes, i) {
                    starts.push(i + 1);
                }
            }
            starts
        })
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        // Another thread looking up a line of the same file counts from the index instead.
        let mut last = self.last_line.try_lock().ok();
        let (line, start) = last
            .as_deref()
            .and_then(|&last| self.line_after(last, offset))
            .unwrap_or_else(|| self.line_by_index(offset));
        if let Some(last) = last.as_deref_mut() {
            *last = LineMark {
                offset,
                line,
                start,
            };
        }
        self.line_col_on(offset, (line, start))
    }

    /// [`SourceFile::line_col`] of an offset on a line the caller knows: its number in this
    /// text (1-based) and the byte where it starts, as a reader that went through the text line
    /// by line found them ([`SourceFile::only_lf`] must hold for its count to be this one's).
    pub fn line_col_on(&self, offset: usize, (line, start): (usize, usize)) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let mut start = start.min(offset);
        // A byte order mark is not a column.
        if line == 1 && self.first_line == 1 && self.text.starts_with('\u{feff}') {
            start = (start + '\u{feff}'.len_utf8()).min(offset);
        }
        let mut column = self.chars_between(start, offset);
        if line == 1 {
            column += self.first_column;
        }
        (line + self.first_line - 1, column + 1)
    }

    /// The line (1-based, in this text) of `offset` and where it starts, found from the index
    /// of line starts.
    fn line_by_index(&self, offset: usize) -> (usize, usize) {
        let starts = self.line_starts();
        // The line is the number of line starts at or before the offset.
        let line = starts.partition_point(|&s| s <= offset).max(1);
        (line, starts.get(line - 1).copied().unwrap_or(0))
    }

    /// Whether only LF ends lines in the text (no CR at all): then a reader that counts LFs
    /// counts lines as [`SourceFile::line_col`] does.
    pub fn only_lf(&self) -> bool {
        !*self
            .has_cr
            .get_or_init(|| memchr::memchr(b'\r', self.text.as_bytes()).is_some())
    }

    /// [`SourceFile::line_by_index`] for an offset at most 64 KiB after the last one looked up,
    /// by counting the line breaks in between (LF, CRLF and a lone CR each end a line).
    fn line_after(&self, last: LineMark, offset: usize) -> Option<(usize, usize)> {
        /// Farther than this, the index is cheaper than counting.
        const NEAR: usize = 64 * 1024;
        let LineMark {
            offset: last,
            line: last_line,
            start: last_start,
        } = last;
        if offset < last || offset - last > NEAR {
            return None;
        }
        /// Nearer than this, line breaks are found one by one in one pass; farther, they are
        /// counted in bulk and the last one found from the end.
        const FEW: usize = 2048;
        let bytes = self.text.as_bytes();
        let between = bytes.get(last..offset)?;
        let has_cr = !self.only_lf();
        if !has_cr && between.len() <= FEW {
            // Only LFs end lines: the line starts after the last one.
            let mut line = last_line;
            let mut start = last_start;
            for i in memchr::memchr_iter(b'\n', between) {
                line += 1;
                start = last + i + 1;
            }
            return Some((line, start));
        }
        if !has_cr {
            let breaks = memchr::memchr_iter(b'\n', between).count();
            let start = memchr::memrchr(b'\n', between).map_or(last_start, |i| last + i + 1);
            return Some((last_line + breaks, start));
        }
        let mut line = last_line;
        let mut start = last_start;
        for i in memchr::memchr2_iter(b'\n', b'\r', between) {
            if ends_line(bytes, last + i) {
                line += 1;
                start = last + i + 1;
            }
        }
        Some((line, start))
    }

    /// The line holding `span` (at most 1 KiB of it), as a source of its own that keeps the
    /// file's name, line number and columns, with the span within it: what a finding keeps of a
    /// record it no longer holds.
    pub fn snippet(&self, span: Span) -> (Source, Span) {
        let around = self.line_around(span);
        let source = SourceFile::window(self.name.clone(), around.text, around.line, around.column);
        (source, around.span)
    }

    /// The line `span` starts on, whole when it holds at most [`AROUND`] bytes, else the
    /// [`AROUND`] bytes around where the span starts (half before, half after, within the
    /// line); where that text starts (its line and column), and the span within it: what
    /// [`SourceFile::snippet`] makes a source of. Only bytes near the span are searched, so
    /// that each lookup on a minified file (one long line) costs the same.
    pub fn line_around(&self, span: Span) -> Around<'_> {
        self.line_within(span, AROUND)
    }

    /// [`SourceFile::line_around`] with a window of at most `around` bytes: what is kept of a
    /// line for longer than one finding (the first line of a group across records) keeps less.
    pub fn line_within(&self, span: Span, around: usize) -> Around<'_> {
        let half = around / 2;
        let bytes = self.text.as_bytes();
        let at = self.floor_boundary(span.start.min(self.text.len()));
        // The line's ends, when they are within around bytes of `at`.
        let back_from = at.saturating_sub(around);
        let line_start = match bytes
            .get(back_from..at)
            .and_then(|b| memchr::memrchr(b'\n', b))
        {
            Some(i) => Some(back_from + i + 1),
            None => (back_from == 0).then_some(0),
        };
        let ahead_to = (at + around).min(bytes.len());
        let line_end = match bytes
            .get(at..ahead_to)
            .and_then(|b| memchr::memchr(b'\n', b))
        {
            // A CRLF's CR ends the line too: it is no part of the text kept.
            Some(i) if i > 0 && bytes.get(at + i - 1) == Some(&b'\r') => Some(at + i - 1),
            Some(i) => Some(at + i),
            None => (ahead_to == bytes.len()).then_some(bytes.len()),
        };
        let (start, end) = match (line_start, line_end) {
            (Some(start), Some(end)) if end - start <= around => (start, end),
            _ => (
                self.floor_boundary(line_start.unwrap_or(0).max(at.saturating_sub(half))),
                self.floor_boundary(line_end.unwrap_or(bytes.len()).min(at + half)),
            ),
        };
        let (line, column) = self.line_col(start);
        Around {
            text: self.text.get(start..end).unwrap_or(""),
            line,
            column,
            span: Span::new(at - start, span.end.min(end).max(at) - start),
        }
    }

    /// How many characters lie between two byte offsets (`from <= to`), in time bounded by
    /// [`CHAR_BLOCK`] whatever the distance: on a minified file, where every record is on one
    /// line, each finding's column costs the same.
    fn chars_between(&self, from: usize, to: usize) -> usize {
        let to = to.min(self.text.len());
        let from = from.min(to);
        if *self.is_ascii.get_or_init(|| self.text.is_ascii()) {
            return to - from;
        }
        let bytes = self.text.as_bytes();
        let count = |range: std::ops::Range<usize>| bytes.get(range).map_or(0, count_chars);
        if to - from <= CHAR_BLOCK {
            return count(from..to);
        }
        let marks = self.char_marks.get_or_init(|| {
            let mut marks = Vec::with_capacity(bytes.len() / CHAR_BLOCK + 1);
            let mut total = 0;
            marks.push(0);
            for block in bytes.chunks(CHAR_BLOCK) {
                total += count_chars(block);
                marks.push(total);
            }
            marks
        });
        let before = |at: usize| {
            let block = at / CHAR_BLOCK;
            marks.get(block).copied().unwrap_or(0) + count(block * CHAR_BLOCK..at)
        };
        before(to) - before(from)
    }

    /// Clamps a span so it lies inside the text and on character boundaries.
    pub(crate) fn clamp(&self, span: Span) -> Span {
        let len = self.text.len();
        let mut start = span.start.min(len);
        while start > 0 && !self.text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = span.end.clamp(start, len);
        while end < len && !self.text.is_char_boundary(end) {
            end += 1;
        }
        Span { start, end }
    }
}

/// What a file holds, for the diagnostic of a file that is not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextKind {
    /// A `.policy` file.
    Policy,
    /// A data file (YAML, JSON, JSONL, CSV).
    Data,
    /// A snapshot of outcomes read by `caveat snapshot --check`.
    Snapshot,
}

/// The one UTF-8 read: `bytes` of the file `name`, starting on line `first_line` of it, as text;
/// or a `caveat::io::not_utf8` diagnostic pointing at the first byte that is not UTF-8.
pub(crate) fn text_from_bytes(
    name: impl Into<String>,
    bytes: Vec<u8>,
    first_line: usize,
    kind: TextKind,
) -> Result<Source, crate::diagnostic::Diag> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::chunk(name, text, first_line)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let source = SourceFile::chunk(name, lossy, first_line);
            let (kind, help) = match kind {
                TextKind::Policy => ("policy", "save the file as UTF-8"),
                TextKind::Data => ("data", "convert the file to UTF-8"),
                TextKind::Snapshot => ("snapshot", "write it again: `caveat snapshot -o FILE`"),
            };
            // The message says where: the human report shows no source for such a file, whose
            // bytes would garble the terminal.
            let (line, column) = source.line_col(at);
            let message = format!(
                "{kind} files must be UTF-8 text: `{}` is not, from line {line}, column {column}",
                source.name()
            );
            Err(
                crate::diagnostic::Diag::error(crate::diagnostic::Code::IoNotUtf8, message)
                    .label(&source, Span::new(at, at + 1), "not UTF-8 here")
                    .help(help),
            )
        }
    }
}

/// Reads the data file at `path` as UTF-8 text (a BOM is dropped by the readers).
/// Only a regular file inside the project root is read (see [`crate::project`]).
pub fn read_text(path: &std::path::Path) -> Result<Source, crate::diagnostic::Diag> {
    let name = path.display().to_string();
    crate::project::Project::current().check_file(path)?;
    let max = crate::data::Limits::default().max_file_bytes;
    let bytes = crate::project::read_regular(path, max, Some("--max-file-size"))?;
    text_from_bytes(name, bytes, 1, TextKind::Data)
}

/// Lines longer than this many bytes are shown as a window around the label, not whole: a
/// terminal cannot show them anyway, and miette cannot pad to columns past 65,535.
const LONG_LINE: usize = 1024;

/// How many bytes of a long line a snippet shows on each side of the label.
const WINDOW: usize = 80;

/// The most bytes of a long line a label underlines; a longer label is cut to this.
const LABEL_MAX: usize = 160;

/// The most lines a label spans; a longer one is cut to its first line.
const LABEL_LINES: usize = 40;

/// The block size of the character index behind [`SourceFile::line_col`].
const CHAR_BLOCK: usize = 4096;

impl SourceFile {
    /// The part of `span` a snippet can show: on a long line (or over many lines) a label is cut
    /// to its first line and to `LABEL_MAX` bytes, so that a snippet is an excerpt of the line
    /// around it, never the whole line. The flag tells whether it was cut.
    pub fn excerpt_span(&self, span: Span) -> (Span, bool) {
        let span = self.clamp(span);
        let first = self.line_index(span.start);
        let last = self.line_index(span.end.saturating_sub(1).max(span.start));
        let cut = last - first > LABEL_LINES || (first..=last).any(|i| self.is_long(i));
        if !cut {
            return (span, false);
        }
        let (_, content_end, _) = self.line_bounds(first);
        let end = span
            .end
            .min(content_end.max(span.start))
            .min(span.start + LABEL_MAX);
        (self.clamp(Span::new(span.start, end)), true)
    }

    /// Whether line `index` is too long to show whole.
    fn is_long(&self, index: usize) -> bool {
        let (start, content, _) = self.line_bounds(index);
        content - start > LONG_LINE
    }

    /// The 0-based index (within this text) of the line holding byte `offset`.
    fn line_index(&self, offset: usize) -> usize {
        self.line_starts()
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }

    /// The byte range of line `index`: from its first byte to its line break (`content`), and to
    /// just past the line break (`whole`).
    fn line_bounds(&self, index: usize) -> (usize, usize, usize) {
        let starts = self.line_starts();
        let start = starts.get(index).copied().unwrap_or(self.text.len());
        let whole = starts.get(index + 1).copied().unwrap_or(self.text.len());
        let content = self.text[start..whole].trim_end_matches(['\n', '\r']).len() + start;
        (start, content, whole)
    }

    /// The nearest character boundary at or before `offset`.
    fn floor_boundary(&self, mut offset: usize) -> usize {
        while offset > 0 && !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }
}

/// Snippets for miette, found through the line table (not by scanning the file from its start,
/// as miette's own `str` implementation does), with long lines cut to a window around the label.
impl SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let span = self.clamp(Span::new(span.offset(), span.offset() + span.len()));
        let first = self.line_index(span.start);
        let last = self.line_index(span.end.saturating_sub(1).max(span.start));
        let (first_start, first_end, _) = self.line_bounds(first);
        let (_, last_end, _) = self.line_bounds(last);
        let last_line = self.line_starts().len().saturating_sub(1);
        // Labels are cut to excerpts ([`SourceFile::excerpt_span`]); a longer span on a long
        // line is two labels far apart, which are then shown apart, each in its own excerpt.
        if (self.is_long(first) || self.is_long(last)) && span.end - span.start > LABEL_MAX {
            return Err(MietteError::OutOfBounds);
        }
        // Context lines are shown only up to a long one.
        let shown_before = (1..=context_lines_before)
            .take_while(|back| first >= *back && !self.is_long(first - back))
            .count();
        let shown_after = (1..=context_lines_after)
            .take_while(|ahead| last + ahead <= last_line && !self.is_long(last + ahead))
            .count();

        let (mut from, column) = if context_lines_before == 0 {
            (span.start, self.line_col(span.start).1 - 1)
        } else {
            (self.line_bounds(first.saturating_sub(shown_before)).0, 0)
        };
        let mut to = if context_lines_after == 0 {
            span.end
        } else {
            self.line_bounds((last + shown_after).min(last_line)).2
        };
        if first_end - first_start > LONG_LINE {
            from =
                from.max(self.floor_boundary(span.start.saturating_sub(WINDOW).max(first_start)));
        }
        if last_end - self.line_bounds(last).0 > LONG_LINE {
            let window_end = self.clamp(Span::new(span.end, span.end + WINDOW)).end;
            to = to.min(window_end.min(last_end).max(span.end));
        }
        let data = self.text.get(from..to).ok_or(MietteError::OutOfBounds)?;
        let line_count = self.line_index(to) - self.line_index(from);
        Ok(Box::new(MietteSpanContents::new_named(
            // A file's name may hold control characters: shown escaped, never raw.
            crate::report::text::one_line(&self.name).into_owned(),
            data.as_bytes(),
            SourceSpan::new(from.into(), to - from),
            self.line_index(from) + self.first_line - 1,
            column,
            line_count,
        )))
    }
}

/// A byte range in a source file. Spans never take part in equality of the things they annotate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (byte offsets).
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The same span moved `by` bytes to the right.
    pub(crate) fn shift(self, by: usize) -> Span {
        Span {
            start: self.start + by,
            end: self.end + by,
        }
    }
}

impl From<Span> for SourceSpan {
    fn from(span: Span) -> SourceSpan {
        SourceSpan::new(span.start.into(), span.end.saturating_sub(span.start))
    }
}

/// A value with the span it was written at; the span is ignored by equality.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    /// The value.
    pub node: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Attaches a span to a value.
    pub fn new(node: T, span: Span) -> Self {
        Spanned { node, span }
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl<T: fmt::Display> fmt::Display for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.node.fmt(f)
    }
}

/// A source file paired with a span in it: enough to render a label or a location.
#[derive(Debug, Clone)]
pub struct Location {
    /// The file.
    pub source: Source,
    /// The range in it.
    pub span: Span,
}

impl Location {
    /// The 1-based line and column where the span starts.
    pub fn line_col(&self) -> (usize, usize) {
        self.source.line_col(self.span.start)
    }

    /// The file's name and the 1-based line and column where the span starts.
    pub fn place(&self) -> (&str, usize, usize) {
        let (line, column) = self.line_col();
        (self.source.name(), line, column)
    }
}

/// How many UTF-8 characters `bytes` holds: the bytes that do not continue a sequence
/// (`10xxxxxx`), counted eight at a time.
pub(crate) fn count_chars(bytes: &[u8]) -> usize {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    let mut continuations = 0;
    for word in words {
        let mut eight = [0; 8];
        eight.copy_from_slice(word);
        let w = u64::from_le_bytes(eight);
        // Bit 7 set and bit 6 (shifted up into bit 7 of the same byte) clear.
        continuations += (w & !(w << 1) & HIGH).count_ones() as usize;
    }
    continuations += tail.iter().filter(|&&b| b & 0xC0 == 0x80).count();
    bytes.len() - continuations
}

/// How many lines end in `bytes`, as [`SourceFile`] counts them (LF, CRLF and a lone CR each
/// end a line): what a chunk of a file adds to the line its successor starts on.
pub(crate) fn count_lines(bytes: &[u8]) -> usize {
    if memchr::memchr(b'\r', bytes).is_none() {
        return memchr::memchr_iter(b'\n', bytes).count();
    }
    memchr::memchr2_iter(b'\n', b'\r', bytes)
        .filter(|&i| ends_line(bytes, i))
        .count()
}

/// Whether the LF or CR at `i` ends a line: an LF does, and so does a lone CR; in CRLF the
/// line ends after the LF.
fn ends_line(bytes: &[u8], i: usize) -> bool {
    bytes.get(i) == Some(&b'\n') || bytes.get(i + 1) != Some(&b'\n')
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails by panicking")]
mod tests {
    use super::*;

    /// A value deep in a long line (a minified file) keeps a window of at most `AROUND` bytes
    /// around it, found without searching the line, and the window's columns are the file's
    /// (characters, not bytes); a short line, or a value near the start of a long one, keeps
    /// what it kept before: the line from its start.
    #[test]
    fn a_snippet_of_a_long_line_is_a_window_with_the_file_s_columns() {
        let records: String = (0..20_000)
            .map(|i| format!("{{\"id\":{i},\"n\":\"é\"}},"))
            .collect();
        let text = format!("first line\n[{records}]\nlast\n");
        let file = SourceFile::new("m.json", text.as_str());
        for needle in ["\"id\":15000,", "\"id\":3,", "\"id\":19999,"] {
            let at = text.find(needle).expect("the value is there");
            let span = Span::new(at, at + needle.len());
            let around = file.line_around(span);
            assert!(
                around.text.len() <= AROUND,
                "{needle}: {} bytes",
                around.text.len()
            );
            assert_eq!(around.line, 2);
            let (snippet, inner) = file.snippet(span);
            assert_eq!(snippet.text().get(inner.start..inner.end), Some(needle));
            assert_eq!(snippet.line_col(inner.start), file.line_col(at), "{needle}");
        }
        let near_start = text.find("\"id\":3,").unwrap_or_default();
        let around = file.line_around(Span::new(near_start, near_start + 1));
        assert!(around.text.starts_with("[{"));
        assert_eq!(around.column, 1);
        let short = file.line_around(Span::new(2, 4));
        assert_eq!((short.text, short.line, short.column), ("first line", 1, 1));
        let last = file.line_around(Span::new(text.len() - 3, text.len() - 2));
        assert_eq!((last.text, last.line), ("last", 3));
    }

    /// The column as counted character by character from the line's start.
    fn naive_column(text: &str, offset: usize) -> usize {
        let start = text[..offset].rfind('\n').map_or(0, |n| n + 1);
        text[start..offset].chars().count() + 1
    }

    /// The line as counted line by line from the start (LF, CRLF and a lone CR end a line).
    fn naive_line(text: &str, offset: usize) -> usize {
        let before = &text.as_bytes()[..offset];
        1 + before
            .iter()
            .enumerate()
            .filter(|&(i, &b)| {
                b == b'\n' || (b == b'\r' && text.as_bytes().get(i + 1) != Some(&b'\n'))
            })
            .count()
    }

    #[test]
    fn lines_are_right_in_any_order_of_lookups() {
        let text = "a\nbb\r\nccc\rd\n\n\neeee\nf";
        let source = SourceFile::new("t.yaml", text);
        let forward: Vec<usize> = (0..=text.len()).collect();
        let backward: Vec<usize> = forward.iter().rev().copied().collect();
        let jumping: Vec<usize> = (0..=text.len())
            .map(|i| (i * 7) % (text.len() + 1))
            .collect();
        for order in [forward, backward, jumping] {
            for offset in order {
                assert_eq!(
                    source.line_col(offset).0,
                    naive_line(text, offset),
                    "at {offset}"
                );
            }
        }
    }

    /// Lines counted forward from the last lookup (the path of findings in file order) agree
    /// with counting from the start, across LF, CRLF, lone CRs and characters of any width, in
    /// a text with carriage returns, in one with LFs only and in one all ASCII, near and far.
    #[test]
    fn lines_counted_from_the_last_lookup_are_the_lines() {
        let with_cr = ["ab", "\n", "\r\n", "\r", "é✓", "𝄞x", "\n\n", "\r\r\n"];
        let lf_only = ["ab", "\n", "é✓", "𝄞x", "\n\n", "abcdefghij"];
        let ascii = ["ab", "\n", "abcdefghij", "\n\n", "\r\n"];
        for pieces in [&with_cr[..], &lf_only[..], &ascii[..]] {
            lines_counted_forward(pieces);
        }
    }

    fn lines_counted_forward(pieces: &[&str]) {
        let mut text = String::new();
        let mut seed = 7u32;
        for _ in 0..4000 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            text.push_str(pieces[(seed >> 16) as usize % pieces.len()]);
        }
        let line_start = |offset: usize| {
            let before = &text.as_bytes()[..offset];
            (0..offset)
                .rev()
                .find(|&i| {
                    before[i] == b'\n'
                        || (before[i] == b'\r' && text.as_bytes().get(i + 1) != Some(&b'\n'))
                })
                .map_or(0, |i| i + 1)
        };
        for step in [1, 3, 17, 250, 3000] {
            let source = SourceFile::new("t.yaml", text.clone());
            let offsets = (0..=text.len())
                .step_by(step)
                .filter(|&o| text.is_char_boundary(o));
            for offset in offsets {
                let (line, column) = source.line_col(offset);
                assert_eq!(
                    line,
                    naive_line(&text, offset),
                    "line at {offset}, step {step}"
                );
                let start = line_start(offset);
                assert_eq!(
                    column,
                    text[start..offset].chars().count() + 1,
                    "column at {offset}, step {step}"
                );
            }
        }
    }

    #[test]
    fn characters_are_counted_eight_bytes_at_a_time_as_one_by_one() {
        let text = "aé✓𝄞b\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}z".repeat(3);
        let bytes = text.as_bytes();
        for from in 0..bytes.len() {
            for to in from..=bytes.len() {
                let slice = bytes.get(from..to).unwrap();
                let expected = slice.iter().filter(|&&b| (b as i8) >= -0x40).count();
                assert_eq!(count_chars(slice), expected, "{from}..{to}");
            }
        }
    }

    #[test]
    fn columns_on_a_long_line_come_from_the_character_index() {
        let record = "{\"id\":\"r\",\"vendor\":\"DJé✓𝄞\"},";
        let text = format!("x\n{}\n", record.repeat(5_000));
        let source = SourceFile::new("min.json", text.clone());
        for (offset, _) in text.char_indices().step_by(997) {
            assert_eq!(
                source.line_col(offset).1,
                naive_column(&text, offset),
                "{offset}"
            );
        }
        // The index is built once, with a mark every block: a column costs at most two blocks
        // of counting, however far along the line it is.
        let marks = source.char_marks.get().unwrap();
        assert_eq!(marks.len(), text.len() / CHAR_BLOCK + 2);
    }

    #[test]
    fn a_long_label_is_cut_to_an_excerpt_of_its_line() {
        let text = format!("{{\"a\": \"{}\"}}\nnext\n", "x".repeat(5_000));
        let source = SourceFile::new("long.json", text);
        let (span, cut) = source.excerpt_span(Span::new(0, 5_010));
        assert!(cut);
        assert_eq!(span, Span::new(0, LABEL_MAX));
        let (span, cut) = source.excerpt_span(Span::new(5_010, 5_014));
        assert!(!cut);
        assert_eq!(span, Span::new(5_010, 5_014));
    }
}
