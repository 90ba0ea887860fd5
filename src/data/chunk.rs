//! Splitting a data file into chunks of whole records, so that chunks can be read on several cores
//! and a large file never has to be in memory at once.
//!
//! A chunk ends only where a new top-level record starts: after a newline in JSONL, and before a
//! `- ` at column 0 in a YAML file whose document is a block sequence. Anything that could make a
//! split unsafe turns splitting off for the rest of the file, which then forms one chunk: a YAML
//! document that is not a sequence, a document marker (`---`, `...`) or directive after the start,
//! an anchor (an alias in a later chunk could not find it), `--records`, and plain `.json`.

use std::io::Read;
use std::path::Path;

use super::Format;
use crate::diagnostic::{Code, Diag};
use crate::source::{Source, SourceFile, TextKind};

/// The path that means standard input.
pub(crate) const STDIN: &str = "-";

/// The name standard input has in reports.
pub(crate) const STDIN_NAME: &str = "<stdin>";

/// Whether `path` stands for standard input.
pub(crate) fn is_stdin(path: &Path) -> bool {
    path == Path::new(STDIN)
}

/// All of standard input as one text named [`STDIN_NAME`], read as a file of `format` is (at
/// most `limit` bytes, UTF-8).
pub(crate) fn read_stdin(format: Format, limit: u64) -> Result<Source, Diag> {
    Chunks::open(Path::new(STDIN), format, false)?
        .with_limit(limit)
        .next()
        .unwrap_or_else(|| Ok(SourceFile::new(STDIN_NAME, String::new())))
}

/// The size a chunk grows to before it is cut at the next safe place.
pub(crate) const CHUNK_BYTES: usize = 1 << 20;

/// How far past a chunk's target size the reader looks for a record's start, at first.
const MARGIN_BYTES: usize = 64 << 10;

/// The most bytes one read asks the file for.
const READ_BYTES: usize = 64 << 10;

/// Byte buffers used before, kept for reuse: with several threads, memory freed on one and
/// allocated on another is otherwise often fresh pages from the system, each a page fault.
pub(crate) struct BufferPool {
    free: std::sync::Mutex<Vec<Vec<u8>>>,
    /// The most buffers kept.
    kept: usize,
    /// The capacities worth keeping.
    sizes: std::ops::RangeInclusive<usize>,
}

impl BufferPool {
    /// A pool keeping at most `kept` buffers whose capacity lies in `sizes`.
    pub(crate) const fn new(kept: usize, sizes: std::ops::RangeInclusive<usize>) -> BufferPool {
        BufferPool {
            free: std::sync::Mutex::new(Vec::new()),
            kept,
            sizes,
        }
    }

    /// An empty buffer, one given back before if there is one.
    pub(crate) fn take(&self) -> Vec<u8> {
        self.free
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_default()
    }

    /// Takes back a buffer whose bytes are used up, if it is of a size worth keeping.
    pub(crate) fn give_back(&self, mut buffer: Vec<u8>) {
        if !self.sizes.contains(&buffer.capacity()) {
            return;
        }
        buffer.clear();
        if let Ok(mut free) = self.free.lock()
            && free.len() < self.kept
        {
            free.push(buffer);
        }
    }
}

/// The buffers of chunks checked already, for the next chunks (at `--jobs 2`, without them,
/// 48,000 page faults for a 200 MB file against 2,700 on one core). Two windows of chunks in
/// flight on two cores need about eight.
static CHUNK_BUFFERS: BufferPool = BufferPool::new(8, CHUNK_BYTES..=4 * CHUNK_BYTES);

/// Reads a data file as a series of chunks, each a [`SourceFile`] that knows its first line.
pub(crate) struct Chunks {
    name: String,
    file: Option<Box<dyn Read>>,
    format: Format,
    /// Bytes read but not yet handed out.
    buffer: Vec<u8>,
    /// The file's line at which `buffer` starts.
    line: usize,
    /// Whether chunks may still be cut.
    splitting: bool,
    /// Whether the first chunk has been handed out.
    started: bool,
    target: usize,
    /// How far past `target` to read for the start of a record.
    margin: usize,
    /// Bytes read from the file so far, and the most allowed.
    read: u64,
    max_bytes: u64,
    /// The file's size when it was opened (0 for standard input).
    size: u64,
}

impl Chunks {
    /// Chunks of the file at `path` (or of standard input, for `-`); `split` false reads it as
    /// one chunk.
    pub fn open(path: &Path, format: Format, split: bool) -> Result<Chunks, Diag> {
        let mut size_hint = 0;
        let (name, file): (String, Box<dyn Read>) = if is_stdin(path) {
            (STDIN_NAME.to_string(), Box::new(std::io::stdin()))
        } else {
            let name = path.display().to_string();
            // Only a regular file: a FIFO would block, a device stream forever.
            let (file, size) = crate::project::open_regular(path)?;
            size_hint = size;
            (name, Box::new(file))
        };
        Ok(Chunks {
            name,
            file: Some(file),
            format,
            buffer: Vec::new(),
            line: 1,
            splitting: split && !matches!(format, Format::Json | Format::Csv),
            started: false,
            target: CHUNK_BYTES,
            margin: MARGIN_BYTES,
            read: 0,
            max_bytes: u64::MAX,
            size: size_hint,
        })
    }

    /// Refuses the file once more than `bytes` have been read from it.
    pub(crate) fn with_limit(mut self, bytes: u64) -> Chunks {
        self.max_bytes = bytes;
        self
    }

    /// Sets the size chunks grow to (for tests).
    pub(crate) fn with_target(mut self, bytes: usize) -> Chunks {
        self.target = bytes.max(1);
        self
    }

    /// Reads until the buffer holds `want` bytes or the file ends.
    fn fill(&mut self, want: usize) -> Result<(), Diag> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        // A file known to be too large is refused before any of it is read.
        let mut known_size = std::mem::take(&mut self.size);
        if want != usize::MAX {
            // Room for all of it at once: the buffer does not grow (and copy) as it fills.
            self.buffer
                .reserve(want.saturating_sub(self.buffer.len()) + READ_BYTES);
        }
        while self.buffer.len() < want {
            let read = if known_size > self.max_bytes {
                Ok(usize::try_from(known_size).unwrap_or(usize::MAX))
            } else {
                // Straight into the buffer (`read_to_end` retries an interrupted read).
                let before = self.buffer.len();
                (&mut *file)
                    .take(READ_BYTES as u64)
                    .read_to_end(&mut self.buffer)
                    .map(|_| self.buffer.len() - before)
            };
            known_size = 0;
            match read {
                Ok(0) => {
                    self.file = None;
                    break;
                }
                Ok(n) => {
                    self.read = self.read.saturating_add(n as u64);
                    if self.read > self.max_bytes {
                        self.file = None;
                        self.buffer.clear();
                        return Err(Diag::error(
                            Code::DataFileTooLarge,
                            format!(
                                "`{}` is larger than the limit of {} bytes",
                                self.name, self.max_bytes
                            ),
                        )
                        .help(
                            "raise the limit with `--max-file-size BYTES` if the file is right",
                        ));
                    }
                }
                Err(e) => {
                    self.file = None;
                    return Err(Diag::io(Code::IoRead, "cannot read", &self.name, &e));
                }
            }
        }
        Ok(())
    }

    /// Where to cut the buffer: the start of the last record that begins after `target` bytes,
    /// or `None` if there is none yet.
    fn cut(&self) -> Option<usize> {
        let from = self.target.min(self.buffer.len());
        let rest = self.buffer.get(from..)?;
        let mut at = from;
        // A YAML line that starts like an item may be inside a quoted scalar of many lines.
        let mut quotes = QuoteScan::default();
        for line in rest.split_inclusive(|&b| b == b'\n') {
            let start = at;
            at += line.len();
            if start == from && !self.buffer.get(..start).is_some_and(|b| b.ends_with(b"\n")) {
                continue; // not the start of a line
            }
            let record_start = match self.format {
                Format::Jsonl => true,
                Format::Yaml => is_item_start(line) && !quotes.inside_at(&self.buffer, start),
                Format::Json | Format::Csv => false,
            };
            if record_start && start > 0 {
                return Some(start);
            }
        }
        None
    }

    /// Turns splitting off if the text holds anything that makes cutting it unsafe.
    fn check_safe(&mut self, text: &[u8]) {
        if self.format != Format::Yaml {
            return;
        }
        // Where to look for markers: after the first content line of the file, which must be
        // an item of a block sequence; in later chunks, everywhere.
        let mut from = 0;
        if !self.started {
            let mut offset = 0;
            let first = text.split(|&b| b == b'\n').find_map(|l| {
                let at = offset;
                offset += l.len() + 1;
                let s = strip_bom(l);
                // A `%TAG` directive holds for the whole document, which a later chunk would
                // not see; a marker with content after it (`--- |`) starts the root there.
                let skipped = blank_or_comment(s)
                    || (s.starts_with(b"%") && !s.starts_with(b"%TAG"))
                    || (is_marker(s, b"---") && blank_or_comment(s.get(3..).unwrap_or(&[])));
                (!skipped).then_some((at, l))
            });
            match first {
                Some((at, line)) if is_item_start(line) => from = at,
                _ => {
                    self.splitting = false;
                    return;
                }
            }
        }
        let rest = text.get(from..).unwrap_or(&[]);
        // The lines that could be markers or directives, found by what starts them (each line
        // runs on to the text's end: the checks read only its first bytes).
        let unsafe_line = |line: &[u8]| {
            is_marker(line, b"---") || is_marker(line, b"...") || line.starts_with(b"%")
        };
        let after_break =
            |start: &'static [u8]| memchr::memmem::find_iter(rest, start).map(|i| i + 1);
        // A lone carriage return breaks a line too, and a byte order mark may start any
        // document of a stream.
        let mut starts = std::iter::once(0)
            .chain(after_break(b"\n-"))
            .chain(after_break(b"\n."))
            .chain(after_break(b"\n%"))
            .chain(after_break(b"\r-"))
            .chain(after_break(b"\r."))
            .chain(after_break(b"\r%"));
        let bom = memchr::memmem::find(rest.get(1..).unwrap_or(&[]), "\u{feff}".as_bytes());
        if bom.is_some() || starts.any(|start| unsafe_line(rest.get(start..).unwrap_or(&[]))) {
            self.splitting = false;
            return;
        }
        if has_anchor(text) {
            self.splitting = false;
        }
    }

    fn make_source(&mut self, bytes: Vec<u8>) -> Result<Source, Diag> {
        let first_line = self.line;
        self.line += crate::source::count_lines(&bytes);
        let mut source =
            crate::source::text_from_bytes(self.name.clone(), bytes, first_line, TextKind::Data)?;
        SourceFile::give_back_on_drop(&mut source, |buffer| CHUNK_BUFFERS.give_back(buffer));
        Ok(source)
    }
}

impl Iterator for Chunks {
    type Item = Result<Source, Diag>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.splitting {
                // Enough for a record to start after the target: what is read past the cut is
                // copied to the next chunk's buffer, so read little past it.
                if let Err(e) = self.fill(self.target.saturating_add(self.margin)) {
                    return Some(Err(e));
                }
            } else if let Err(e) = self.fill(usize::MAX) {
                return Some(Err(e));
            }
            if self.buffer.is_empty() && self.file.is_none() {
                if self.started {
                    return None;
                }
                // An empty file is one empty chunk, so that its name is still known.
                self.started = true;
                return Some(self.make_source(Vec::new()));
            }
            let cut = if self.splitting { self.cut() } else { None };
            let end = match cut {
                Some(end) => end,
                None if self.file.is_none() || !self.splitting => self.buffer.len(),
                // No safe place yet: read more before deciding.
                None => {
                    self.margin = self.margin.saturating_mul(2);
                    continue;
                }
            };
            if self.splitting {
                // Checked in place: the buffer is lent out, not copied.
                let buffer = std::mem::take(&mut self.buffer);
                self.check_safe(buffer.get(..end).unwrap_or(&[]));
                self.buffer = buffer;
                if !self.splitting {
                    continue; // read the rest of the file into this chunk
                }
            }
            let mut rest = CHUNK_BUFFERS.take();
            rest.extend_from_slice(self.buffer.get(end..).unwrap_or(&[]));
            self.buffer.truncate(end);
            let chunk = std::mem::replace(&mut self.buffer, rest);
            self.started = true;
            return Some(self.make_source(chunk));
        }
    }
}

/// Where YAML's quoted scalars are in a text, found from its start as far as asked, a line at
/// a time: a quote opens one only where a scalar can start (at a line's start, after `- `,
/// `: `, `? `, `[`, `{` or `,`, after `:` right behind a quote, JSON's `"a":"b"`, or after a
/// tag or an anchor there), so that the apostrophe of a plain scalar (`O'Brien`) does not;
/// `#` after white space starts a comment; the lines of a block scalar (`|`, `>`) are skipped.
/// A quote not closed within [`QUOTE_LIMIT`] bytes is taken for no scalar's, so that one stray
/// apostrophe cannot hold off every later cut (and read the rest of a large file at once).
#[derive(Debug, Default)]
struct QuoteScan {
    /// How far the text has been read.
    at: usize,
    /// Where the line `at` is on starts.
    line_start: usize,
    /// The last quoted scalar found: from its opening quote to just past its closing one.
    last: Option<(usize, usize)>,
    /// Inside a block scalar: the indentation of the line of its header.
    block: Option<usize>,
}

/// The longest quoted scalar [`QuoteScan`] follows.
const QUOTE_LIMIT: usize = 256 << 10;

impl QuoteScan {
    /// Whether offset `end` of `text` is inside a quoted scalar; `end` must not decrease from
    /// one call to the next.
    fn inside_at(&mut self, text: &[u8], end: usize) -> bool {
        while self.at < end {
            let line_end = memchr::memchr(b'\n', text.get(self.at..).unwrap_or(&[]))
                .map_or(text.len(), |n| self.at + n);
            let next_line = line_end + 1;
            if let Some(header) = self.block {
                let line = text.get(self.at..line_end).unwrap_or(&[]);
                if blank_or_comment(line) && !line.contains(&b'#') || indentation(line) > header {
                    self.at = next_line;
                    self.line_start = next_line;
                    continue;
                }
                self.block = None;
            }
            let rest = text.get(self.at..line_end).unwrap_or(&[]);
            let line = text.get(self.line_start..line_end).unwrap_or(&[]);
            let Some(found) = memchr::memchr3(b'\'', b'"', b'#', rest) else {
                if block_header(line, (text, self.line_start)) {
                    self.block = Some(block_parent(line));
                }
                self.at = next_line;
                self.line_start = next_line;
                continue;
            };
            let p = self.at + found;
            let in_line = p - self.line_start;
            match text.get(p) {
                Some(b'#')
                    if in_line == 0
                        || line
                            .get(in_line - 1)
                            .is_some_and(|b| b.is_ascii_whitespace()) =>
                {
                    if block_header(line.get(..in_line).unwrap_or(&[]), (text, self.line_start)) {
                        self.block = Some(block_parent(line));
                    }
                    self.at = next_line;
                    self.line_start = next_line;
                }
                Some(&quote)
                    if quote != b'#'
                        && scalar_starts_at(line, in_line, (text, self.line_start)) =>
                {
                    let limit = p + 1 + QUOTE_LIMIT;
                    let window = text.get(..limit.min(text.len())).unwrap_or(&[]);
                    match closing_quote(window, p + 1, quote) {
                        Some(close) => {
                            self.last = Some((p, close + 1));
                            self.at = close + 1;
                            if close >= line_end {
                                self.line_start = text
                                    .get(..close)
                                    .and_then(|before| memchr::memrchr(b'\n', before))
                                    .map_or(0, |n| n + 1);
                            }
                        }
                        // Unclosed in what is read so far, short of the limit: open to
                        // the text's end, so that more is read before a cut.
                        None if limit > text.len() => {
                            self.last = Some((p, usize::MAX));
                            self.at = text.len();
                        }
                        None => self.at = p + 1,
                    }
                }
                _ => self.at = p + 1,
            }
        }
        self.last
            .is_some_and(|(open, close)| open < end && end < close)
    }
}

/// Whether what comes before the line at `line_start` of `text` lets a scalar start the line:
/// the last line before it with more than white space and a comment ends in `:`, `[`, `{`, `,`,
/// `?` or `-`, or in a tag or an anchor (`memo: !!str`), or there is none. A plain scalar's
/// line (`foo`, then `'tis`) does not.
fn follows_scalar_start(text: &[u8], line_start: usize) -> bool {
    let mut end = line_start;
    loop {
        let Some(before) = end.checked_sub(1).and_then(|e| text.get(..e)) else {
            return true;
        };
        let start = memchr::memrchr(b'\n', before).map_or(0, |n| n + 1);
        let line = before.get(start..).unwrap_or(&[]);
        let content = line
            .iter()
            .enumerate()
            .find(|&(i, &b)| {
                b == b'#' && (i == 0 || line.get(i - 1).is_some_and(u8::is_ascii_whitespace))
            })
            .map_or(line, |(i, _)| line.get(..i).unwrap_or(&[]))
            .trim_ascii();
        if content.is_empty() {
            if start == 0 {
                return true;
            }
            end = start;
            continue;
        }
        let word = content
            .iter()
            .rposition(u8::is_ascii_whitespace)
            .map_or(0, |n| n + 1);
        return matches!(
            content.last(),
            Some(b':' | b'[' | b'{' | b',' | b'?' | b'-')
        ) || matches!(content.get(word), Some(b'!' | b'&'));
    }
}

/// How many spaces a line starts with.
fn indentation(line: &[u8]) -> usize {
    line.iter().take_while(|&&b| b == b' ').count()
}

/// The indentation of the node a block scalar's header line gives a value to, which the
/// scalar's lines are indented past: the key's column (`- memo: |` is 2), or the dash's
/// for an item that is the scalar itself (`- |` is 0).
fn block_parent(line: &[u8]) -> usize {
    let mut at = indentation(line);
    let mut dash = at;
    while line.get(at) == Some(&b'-') && matches!(line.get(at + 1), Some(b' ' | b'\t')) {
        dash = at;
        at += 1;
        at += line.get(at..).map_or(0, |rest| {
            rest.iter()
                .take_while(|b| matches!(b, b' ' | b'\t'))
                .count()
        });
    }
    if matches!(line.get(at), Some(b'|' | b'>')) {
        dash
    } else {
        at
    }
}

/// Whether a line (its comment left out) ends in a block scalar's header: `|` or `>`, perhaps
/// with a chomping and an indentation indicator, where a scalar can start.
fn block_header(line: &[u8], before: (&[u8], usize)) -> bool {
    let line = line.trim_ascii_end();
    let indicators = line
        .iter()
        .rev()
        .take(2)
        .take_while(|b| matches!(b, b'+' | b'-' | b'1'..=b'9'))
        .count();
    let at = line.len() - indicators;
    at > 0
        && matches!(line.get(at - 1), Some(b'|' | b'>'))
        && scalar_starts_at(line, at - 1, before)
}

/// Whether a scalar can start at offset `at` of a YAML `line` (see [`QuoteScan`]), `context`
/// being the text and where the line starts in it: first on its line, a scalar starts only
/// after what can precede one ([`follows_scalar_start`]).
fn scalar_starts_at(line: &[u8], at: usize, context: (&[u8], usize)) -> bool {
    let before = line.get(..at).unwrap_or(&[]);
    let trimmed = before.trim_ascii_end();
    let spaced = trimmed.len() < before.len();
    match trimmed.last() {
        None => follows_scalar_start(context.0, context.1),
        Some(b'[' | b'{' | b',') => true,
        Some(b'-' | b'?') => spaced,
        Some(b':') => spaced || matches!(trimmed.iter().rev().nth(1), Some(b'"' | b'\'')),
        // A tag or an anchor (`!!str 'x'`, `&a "x"`): where it starts decides.
        Some(_) if spaced => {
            let word = trimmed
                .iter()
                .rposition(|b| b.is_ascii_whitespace() || matches!(b, b'[' | b'{' | b','))
                .map_or(0, |n| n + 1);
            matches!(trimmed.get(word), Some(b'!' | b'&')) && scalar_starts_at(line, word, context)
        }
        Some(_) => false,
    }
}

/// The offset of the quote that closes a scalar opened by `quote` just before `from`: `''` is an
/// escaped quote in a single-quoted scalar, `\\"` in a double-quoted one.
fn closing_quote(text: &[u8], mut from: usize, quote: u8) -> Option<usize> {
    loop {
        let at = from + memchr::memchr(quote, text.get(from..)?)?;
        if quote == b'\'' && text.get(at + 1) == Some(&b'\'') {
            from = at + 2;
            continue;
        }
        let backslashes = text
            .get(..at)
            .unwrap_or(&[])
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        if quote == b'"' && backslashes % 2 == 1 {
            from = at + 1;
            continue;
        }
        return Some(at);
    }
}

/// A line (or the rest of one) with nothing but white space and perhaps a comment.
fn blank_or_comment(line: &[u8]) -> bool {
    match line.iter().position(|b| !b.is_ascii_whitespace()) {
        None => true,
        Some(at) => line.get(at) == Some(&b'#'),
    }
}

fn strip_bom(line: &[u8]) -> &[u8] {
    line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line)
}

/// A line that starts a top-level block sequence item: `-` at column 0, then a space, a tab or
/// the end of the line.
fn is_item_start(line: &[u8]) -> bool {
    let line = strip_bom(line);
    line.first() == Some(&b'-') && matches!(line.get(1), None | Some(b' ' | b'\t' | b'\n' | b'\r'))
}

/// A document marker line: `---` or `...` at column 0, alone or followed by white space.
fn is_marker(line: &[u8], marker: &[u8]) -> bool {
    line.starts_with(marker) && matches!(line.get(3), None | Some(b' ' | b'\t' | b'\n' | b'\r'))
}

/// Whether the text may hold a YAML anchor: `&` right after white space or a flow indicator,
/// followed by a character that can name an anchor. Quoted text can give a false alarm, which
/// only costs speed.
fn has_anchor(text: &[u8]) -> bool {
    text.first() == Some(&b'&')
        || memchr::memchr_iter(b'&', text).any(|i| {
            let after = i
                .checked_sub(1)
                .and_then(|before| text.get(before))
                .is_some_and(|b| matches!(b, b' ' | b'\t' | b'[' | b'{' | b',' | b':' | b'\n'));
            after && text.get(i + 1).is_some_and(|c| !c.is_ascii_whitespace())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml_chunks(started: bool) -> Chunks {
        Chunks {
            name: "t.yaml".into(),
            file: None,
            format: Format::Yaml,
            buffer: Vec::new(),
            line: 1,
            splitting: true,
            started,
            target: CHUNK_BYTES,
            margin: MARGIN_BYTES,
            read: 0,
            max_bytes: u64::MAX,
            size: 0,
        }
    }

    /// Whether a chunk with `text` leaves splitting on.
    fn safe(text: &str, started: bool) -> bool {
        let mut chunks = yaml_chunks(started);
        chunks.check_safe(text.as_bytes());
        chunks.splitting
    }

    /// Chunks read into buffers given back by chunks dropped before hold their own text and
    /// nothing of the buffer's past: together they are the file, line numbers and all.
    #[test]
    fn chunks_in_recycled_buffers_are_the_file() {
        let mut text = String::new();
        for i in 0..60_000 {
            text.push_str(&format!(
                "- id: r{i}\n  vendor: \"{}\"\n",
                "v".repeat(i % 37)
            ));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        std::fs::write(&path, &text).unwrap();
        let mut joined = String::new();
        let mut line = 1;
        let mut count = 0;
        for source in Chunks::open(&path, Format::Yaml, true).unwrap() {
            let source = source.unwrap();
            assert_eq!(
                source.line_col(0).0,
                line,
                "chunk {count} starts on its line"
            );
            line += source.text().matches('\n').count();
            joined.push_str(source.text());
            count += 1;
            // Dropped here: its buffer may hold the next chunk.
        }
        assert!(count > 2, "{count} chunks");
        assert_eq!(joined, text);
    }

    #[test]
    fn markers_directives_anchors_and_other_documents_stop_splitting() {
        assert!(
            safe("# c\n---\n- a: 1\n- b: 2\n", false),
            "a first marker is fine"
        );
        assert!(
            safe("%YAML 1.2\n---\n- a: 1\n", false),
            "so is a first directive"
        );
        assert!(
            safe("- a: x --- y\n- b: '...'\n", false),
            "not at a line's start"
        );
        assert!(safe("- a: 1\n", true));
        assert!(!safe("a: 1\n", false), "the document is not a list");
        assert!(!safe("- a: 1\n---\n- b: 2\n", false));
        assert!(!safe("- a: 1\n...\n", false));
        assert!(!safe("- a: 1\n%TAG ! x\n", true));
        assert!(!safe("---\n- a: 1\n", true), "a marker in a later chunk");
        assert!(!safe("- a: &x 1\n- b: *x\n", false));
        assert!(safe("- a: 1\n---x\n", false), "`---x` is no marker");
        assert!(
            !safe("%TAG !! tag:example.com,2000:\n---\n- a: 1\n", false),
            "a first %TAG holds for later chunks too"
        );
        assert!(safe("--- # list\n- a: 1\n", false));
        assert!(
            !safe("--- |\n- a: 1\n", false),
            "the root starts on the marker line"
        );
        assert!(
            !safe("- a: 1\n\r--- \ra: 1\n", false),
            "a marker after a lone CR"
        );
        assert!(
            !safe("- a: 1\n\u{feff}--- \na: 1\n", false),
            "a marker after a BOM"
        );
    }

    /// Where the buffer `text` is cut with a target of `target` bytes.
    fn cut_of(text: &str, target: usize) -> Option<usize> {
        let mut chunks = yaml_chunks(true);
        chunks.buffer = text.as_bytes().to_vec();
        chunks.target = target;
        chunks.cut()
    }

    #[test]
    fn a_line_inside_a_quoted_scalar_is_no_place_to_cut() {
        // The two lines after `'foo` are inside the single-quoted scalar.
        let text = "- {id: A, a: 'foo\n- {id: P, a: 1}\n- {b: x'}\n- {id: C}\n";
        assert_eq!(cut_of(text, 5), text.find("- {id: C}"));
        let text = "- a: \"x \\\" y\n- b\"\n- c\n";
        assert_eq!(
            cut_of(text, 3),
            text.find("- c"),
            "an escaped quote does not close"
        );
        let text = "- a: 'it''s\n- b'\n- c\n";
        assert_eq!(cut_of(text, 3), text.find("- c"), "nor does a doubled one");
        // An apostrophe or a quote inside a plain scalar or a comment opens nothing.
        let text = "- by: O'Brien\n- size: 27\" # it's\n- c\n";
        assert_eq!(cut_of(text, 3), text.find("- size"));
        let text = "- {\"a\":\"b\n- c\"}\n- d\n";
        assert_eq!(cut_of(text, 3), text.find("- d"), "JSON's `\"a\":\"b`");
        // A tag or an anchor before the quote.
        let text = "- {id: T, a: !!str 'foo\n- {id: X}\n- z'}\n- d\n";
        assert_eq!(cut_of(text, 3), text.find("- d"), "after a tag");
        let text = "- a: &x \"foo\n- b\"\n- d\n";
        assert_eq!(cut_of(text, 3), text.find("- d"), "after an anchor");
        // Nor does a plain scalar's line that starts with a quote.
        let text = "- {id: B, memo: foo\n    'tis}\n- {id: Q, b: 'foo\n- {id: X}\n- z'}\n- d\n";
        let after_q = text.find("- {id: Q").unwrap_or(0) + 1;
        assert_eq!(
            cut_of(text, after_q),
            text.find("- d"),
            "a plain scalar's line"
        );
        // First on its line after a comment or a tag on the line before, a quote opens one.
        for head in ["memo: # the memo follows", "memo: !!str"] {
            let text = format!("- {{id: q, {head}\n  \"start\n- x\nend\"}}\n- d\n");
            assert_eq!(cut_of(&text, 3), text.find("- d"), "{head}");
        }
        // A quote open at the end of what is read holds off the cut (more is read).
        assert_eq!(cut_of("- a: \"open\n- b\n- c\n", 3), None);
        // A quote inside a block scalar opens nothing, so the real one after it is followed.
        let text = "- memo: |\n    'Tis urgent\n  b: 'x\n- y'\n- d\n";
        assert_eq!(
            cut_of(text, 3),
            text.find("- d"),
            "a block scalar's apostrophe"
        );
    }

    #[test]
    fn a_quote_that_never_closes_does_not_stop_the_cuts() {
        // A stray apostrophe (here at a line's start, so that it looks like a scalar's quote)
        // held off every later cut: the rest of a large file became one chunk.
        let mut text = String::from("- a: x\n  'stray\n");
        while text.len() < QUOTE_LIMIT + 10 {
            text.push_str("- b: y\n");
        }
        let cut = cut_of(&text, QUOTE_LIMIT + 2).unwrap_or(0);
        assert!(cut > QUOTE_LIMIT, "{cut}");
        assert!(text.get(cut..).is_some_and(|rest| rest.starts_with("- b")));
    }

    #[test]
    fn anchors_are_found_after_space_or_flow_indicators() {
        for (text, anchor) in [
            ("&x a", true),
            ("a: &x 1", true),
            ("[&x 1]", true),
            ("{a: 1,&x 2}", true),
            ("{\"a\":&x 1}", true),
            ("a:\n&x\n", true),
            ("a: b&c", false),
            ("a: & b", false),
            ("a: &", false),
            ("", false),
        ] {
            assert_eq!(has_anchor(text.as_bytes()), anchor, "{text:?}");
        }
    }
}
