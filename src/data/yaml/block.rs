//! The reader's own scanner for the block shape that record files nearly always have: block
//! mappings and sequences, plain scalars on one line, single- and double-quoted scalars on one
//! line, flow collections on one line, comments and document markers. It reads the text line by
//! line, gives each value its span as it goes, and hands the builder keys and values directly,
//! with no event stream and no allocation for a number, a boolean or a null.
//!
//! Whatever it does not read itself (anchors, aliases, tags, block scalars, multi-line scalars or
//! flow collections, tabs, carriage returns, directives, anything it doubts is valid) it leaves to
//! the general parser: [`Step::General`] asks the caller to read the text again from the start
//! with saphyr-parser, which also gives every syntax error its diagnostic. The scanner therefore
//! never reports a syntax error, and whatever it accepts it reads exactly as the general parser
//! does (checked by the differential tests and the `yaml_differential` fuzz target).

use std::borrow::Cow;

use super::super::DataError;
use super::super::build::Builder;
use super::scalar::{plain_value, quoted_end};
use crate::source::Span;
use crate::value::{Text, Value};

/// What one step of the scanner came to.
pub(super) enum Step {
    /// A line with content was read (which ends whatever the lines before could still have
    /// changed, such as a plain scalar that a more indented line would continue); go on.
    Content,
    /// A blank line or a comment was read; go on.
    Blank,
    /// The text is read to its end.
    End,
    /// The text needs the general parser, from its start.
    General,
}

/// The first error that ends a file (too deep, too many documents), passed up unchanged.
pub(super) type Fatal = Box<DataError>;

/// The deepest flow nesting the scanner reads itself (deeper goes to the general parser).
const MAX_FLOW_DEPTH: usize = 32;

/// The longest implicit key YAML allows (1,024 characters; counted here in bytes).
const MAX_KEY_BYTES: usize = 1024;

/// An open block collection.
struct Open {
    map: bool,
    /// The column of its entries' first character (the `-`, or the key).
    indent: usize,
    /// Where a value that turned out empty would be: set while the value of its last key (or
    /// its last `-`) has not been seen yet.
    pending: Option<usize>,
}

/// The scanner's state between lines.
pub(super) struct BlockScanner {
    /// The start of the next line.
    pos: usize,
    stack: Vec<Open>,
    /// A document has begun and not ended.
    document: bool,
    /// The document's root node has begun.
    rooted: bool,
}

/// Where a node's text is, on its line.
#[derive(Clone, Copy)]
struct Line<'t> {
    src: &'t str,
    /// The line's first byte.
    start: usize,
    /// The byte after the line's last character (its newline, or the end of the text).
    end: usize,
}

impl<'t> Line<'t> {
    /// The whole text, as bytes.
    fn bytes(&self) -> &'t [u8] {
        self.src.as_bytes()
    }

    fn at(&self, i: usize) -> Option<u8> {
        if i < self.end {
            self.bytes().get(i).copied()
        } else {
            None
        }
    }

    /// Whether the byte at `i` is a space, or the line has ended there.
    fn blank_or_end(&self, i: usize) -> bool {
        matches!(self.at(i), None | Some(b' '))
    }

    /// The first byte at or after `i` that is not a space.
    fn skip_spaces(&self, mut i: usize) -> usize {
        while self.at(i) == Some(b' ') {
            i += 1;
        }
        i
    }

    /// Whether `i` starts a `- ` sequence entry.
    fn is_dash(&self, i: usize) -> bool {
        self.at(i) == Some(b'-') && self.blank_or_end(i + 1)
    }

    /// Whether nothing but spaces and a comment follows `i` (a comment needs a space before it).
    fn only_comment_after(&self, i: usize) -> bool {
        let j = self.skip_spaces(i);
        match self.at(j) {
            None => true,
            Some(b'#') => j > i,
            Some(_) => false,
        }
    }

    /// The text of `span` (which starts and ends at whole characters).
    fn str(&self, span: Span) -> &'t str {
        self.src.get(span.start..span.end).unwrap_or("")
    }

    /// The column of byte `at` (in bytes: the scanner reads only lines whose indentation is
    /// spaces, and columns are only compared with columns).
    fn column(&self, at: usize) -> usize {
        at - self.start
    }
}

/// A scalar as scanned: its span, and its text unless it is plain (a plain scalar's text is its
/// span).
struct Scanned {
    span: Span,
    quoted: Option<String>,
}

impl BlockScanner {
    pub(super) fn new() -> BlockScanner {
        BlockScanner {
            pos: 0,
            stack: Vec::new(),
            document: false,
            rooted: false,
        }
    }

    /// Reads the next line of `text`; `begin_document` is called where a document starts, with
    /// the byte it starts at.
    pub(super) fn step(
        &mut self,
        text: &str,
        builder: &mut Builder,
        begin_document: &mut dyn FnMut(&mut Builder, usize) -> Result<(), Fatal>,
    ) -> Result<Step, Fatal> {
        let bytes = text.as_bytes();
        if self.pos >= bytes.len() {
            self.end_document(builder);
            return Ok(Step::End);
        }
        let start = self.pos;
        let end = memchr::memchr(b'\n', bytes.get(start..).unwrap_or(&[]))
            .map_or(bytes.len(), |i| start + i);
        self.pos = end + 1;
        let raw = bytes.get(start..end).unwrap_or(&[]);
        // Tabs, carriage returns and other controls, and U+FEFF (whose first byte is 0xEF, as for
        // a few other characters), need the general parser's rules.
        if raw
            .iter()
            .fold(false, |odd, &b| odd | (b < 0x20) | (b == 0xEF))
        {
            return Ok(Step::General);
        }
        let line = Line {
            src: text,
            start,
            end,
        };
        let first = line.skip_spaces(start);
        let indent = first - start;
        match line.at(first) {
            None | Some(b'#') => return Ok(Step::Blank),
            Some(b'-' | b'.') if indent == 0 && marker(raw) => {
                let dashes = raw.first() == Some(&b'-');
                if !line.only_comment_after(start + 3) {
                    return Ok(Step::General);
                }
                self.end_document(builder);
                if dashes {
                    begin_document(builder, start)?;
                    self.document = true;
                }
                return Ok(Step::Content);
            }
            Some(b'%') if indent == 0 => return Ok(Step::General),
            Some(_) => {}
        }
        if !self.document {
            begin_document(builder, first)?;
            self.document = true;
        }
        let dash = line.is_dash(first);
        self.dedent(indent, dash, builder);
        let went = match self.stack.last_mut() {
            None if self.rooted => false,
            None => {
                self.rooted = true;
                match line.at(first) {
                    // A document that is one flow collection on its line.
                    Some(b'[' | b'{') => {
                        value(line, first, builder)?.is_some_and(|end| line.only_comment_after(end))
                    }
                    _ => self.block_node(line, first, builder)?,
                }
            }
            Some(top) if top.indent == indent => {
                if top.map && dash && top.pending.is_some() {
                    // `key:` then `- item` in the key's column: the list is the key's value.
                    top.pending = None;
                    self.block_node(line, first, builder)?
                } else if top.map && !dash {
                    Self::flush(top, builder);
                    match key_end(line, first) {
                        Some(key) => self.key_line(line, key, builder)?,
                        None => false,
                    }
                } else if !top.map && dash {
                    Self::flush(top, builder);
                    self.item(line, first, builder)?
                } else {
                    false
                }
            }
            Some(top) => match top.pending.take() {
                Some(_) => self.block_node(line, first, builder)?,
                None => false,
            },
        };
        Ok(if went { Step::Content } else { Step::General })
    }

    /// Gives an open collection's empty last value, if it has one.
    fn flush(open: &mut Open, builder: &mut Builder) {
        if let Some(at) = open.pending.take() {
            builder.count_event();
            builder.scalar(Ok(Value::Null), Span::new(at, at), 0);
        }
    }

    /// Closes the collections a line at `indent` ends.
    fn dedent(&mut self, indent: usize, dash: bool, builder: &mut Builder) {
        while let Some(top) = self.stack.last() {
            let nested_list_ends = !top.map
                && !dash
                && top.indent == indent
                && self
                    .stack
                    .len()
                    .checked_sub(2)
                    .and_then(|i| self.stack.get(i))
                    .is_some_and(|parent| parent.map && parent.indent == indent);
            if top.indent > indent || nested_list_ends {
                self.close(builder);
            } else {
                break;
            }
        }
    }

    /// Closes the innermost open collection.
    fn close(&mut self, builder: &mut Builder) {
        if let Some(mut open) = self.stack.pop() {
            Self::flush(&mut open, builder);
            builder.count_event();
            builder.end(0);
        }
    }

    /// Ends the open document, if any.
    fn end_document(&mut self, builder: &mut Builder) {
        while !self.stack.is_empty() {
            self.close(builder);
        }
        if self.document {
            builder.count_event();
            builder.end_document();
        }
        self.document = false;
        self.rooted = false;
    }

    /// A node that begins at `at`, the first thing on its line or after a `- `: a block list or
    /// mapping. Anything else on a line of its own is left to the general parser.
    fn block_node(&mut self, line: Line, at: usize, builder: &mut Builder) -> Result<bool, Fatal> {
        if line.is_dash(at) {
            self.open(false, line, at, builder)?;
            return self.item(line, at, builder);
        }
        if let Some(key) = key_end(line, at) {
            self.open(true, line, at, builder)?;
            return self.key_line(line, key, builder);
        }
        Ok(false)
    }

    /// Opens a block mapping or list whose first entry starts at `at`.
    fn open(
        &mut self,
        map: bool,
        line: Line,
        at: usize,
        builder: &mut Builder,
    ) -> Result<(), Fatal> {
        builder.count_event();
        builder.start(map, at, false, 0)?;
        self.stack.push(Open {
            map,
            indent: line.column(at),
            pending: None,
        });
        Ok(())
    }

    /// A `- ` entry at `dash` of the innermost list, and what follows it on the line.
    fn item(&mut self, line: Line, dash: usize, builder: &mut Builder) -> Result<bool, Fatal> {
        let at = line.skip_spaces(dash + 1);
        match line.at(at) {
            None => {
                self.set_pending(line.end);
                Ok(true)
            }
            // The general parser's empty item after a comment starts its list after it.
            Some(b'#') => Ok(false),
            Some(_) if line.is_dash(at) => self.block_node(line, at, builder),
            Some(_) => match key_end(line, at) {
                // `- key: value`: a mapping in the item.
                Some(key) => {
                    self.open(true, line, at, builder)?;
                    self.key_line(line, key, builder)
                }
                None => {
                    Ok(value(line, at, builder)?.is_some_and(|end| line.only_comment_after(end)))
                }
            },
        }
    }

    /// Marks the innermost collection's last value as not seen yet; `at` is where it is, if empty.
    fn set_pending(&mut self, at: usize) {
        if let Some(top) = self.stack.last_mut() {
            top.pending = Some(at);
        }
    }

    /// A `key: value` line of the innermost mapping, with its key and `:` as [`key_end`]
    /// found them.
    fn key_line(
        &mut self,
        line: Line,
        (key, colon): (Scanned, usize),
        builder: &mut Builder,
    ) -> Result<bool, Fatal> {
        let text = match &key.quoted {
            Some(text) => Cow::Borrowed(text.as_str()),
            None => Cow::Borrowed(line.str(key.span)),
        };
        if key.quoted.is_none() && text == "<<" {
            // A merge key has its own diagnostic in the general reader.
            return Ok(false);
        }
        builder.count_event();
        builder.key(Text::from(&*text), key.span, 0);
        let after = line.skip_spaces(colon + 1);
        match line.at(after) {
            None => {
                self.set_pending(colon);
                Ok(true)
            }
            Some(b'#') => {
                self.set_pending(colon);
                Ok(true)
            }
            Some(_) if line.is_dash(after) => Ok(false),
            // A value followed by `: ` (`a: b: c`) is not only followed by a comment: it goes
            // to the general parser, which refuses it.
            Some(_) => {
                let end = if builder.skips_value() {
                    skip_value(line, after, builder)
                } else {
                    value(line, after, builder)?
                };
                Ok(end.is_some_and(|end| line.only_comment_after(end)))
            }
        }
    }
}

/// Whether a line starts with a document marker, `---` or `...`, followed by a space or its end.
fn marker(raw: &[u8]) -> bool {
    (raw.starts_with(b"---") || raw.starts_with(b"...")) && matches!(raw.get(3), None | Some(b' '))
}

/// Whether `b` can start a plain scalar (given the byte after it, `next`), in a flow collection
/// or not.
fn plain_start(b: u8, next: Option<u8>, flow: bool) -> bool {
    match b {
        b'-' | b'?' | b':' => match next {
            None | Some(b' ') => false,
            Some(b',' | b'[' | b']' | b'{' | b'}') => !flow,
            Some(_) => true,
        },
        b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
        | b'"' | b'%' | b'@' | b'`' => false,
        _ => true,
    }
}

/// The end of a plain scalar that starts at `at` on its line (trailing spaces excluded); `None`
/// for what saphyr-parser refuses in a flow collection: a word that starts with `-`, `?` or
/// `:` followed by a flow indicator.
fn plain_end(line: Line, at: usize, flow: bool) -> Option<usize> {
    let mut i = at;
    let mut end = at;
    while let Some(b) = line.at(i) {
        match b {
            b'-' | b'?' | b':'
                if flow
                    && i > at
                    && line.at(i - 1) == Some(b' ')
                    && matches!(line.at(i + 1), Some(b',' | b'[' | b']' | b'{' | b'}')) =>
            {
                return None;
            }
            _ => {}
        }
        match b {
            b':' => {
                let next = line.at(i + 1);
                let ends = match next {
                    None | Some(b' ') => true,
                    Some(b',' | b'[' | b']' | b'{' | b'}') => flow,
                    _ => false,
                };
                if ends {
                    return Some(end);
                }
            }
            b'#' if i > at && line.at(i - 1) == Some(b' ') => return Some(end),
            b',' | b'[' | b']' | b'{' | b'}' if flow => return Some(end),
            _ => {}
        }
        i += 1;
        if b != b' ' {
            end = i;
        }
    }
    Some(end)
}

/// A key that starts at `at`, and the position of its `:`, if the line has `key:` there
/// (followed by a space or the line's end).
fn key_end(line: Line, at: usize) -> Option<(Scanned, usize)> {
    let b = line.at(at)?;
    let scanned = match b {
        b'"' | b'\'' => quoted(line, at)?,
        _ if plain_start(b, line.at(at + 1), false) => {
            let end = plain_end(line, at, false)?;
            Scanned {
                span: Span::new(at, end),
                quoted: None,
            }
        }
        _ => return None,
    };
    let colon = line.skip_spaces(scanned.span.end);
    let is_key = line.at(colon) == Some(b':')
        && line.blank_or_end(colon + 1)
        && scanned.span.end > scanned.span.start
        && scanned.span.end - scanned.span.start <= MAX_KEY_BYTES;
    is_key.then_some((scanned, colon))
}

/// A quoted scalar at `at` that closes on its line, with its text; `None` when it does not close
/// there or holds an escape the scanner does not read.
fn quoted(line: Line, at: usize) -> Option<Scanned> {
    let quote = line.at(at)?;
    // Bounded by the line: a quoted scalar that goes on to the next is the general parser's.
    let end = quoted_end(line.bytes().get(..line.end)?, at)?;
    let inner = line.str(Span::new(at + 1, end - 1));
    let text = match quote {
        b'\'' if inner.contains("''") => inner.replace("''", "'"),
        b'"' if inner.contains('\\') => unescape(inner)?,
        _ => inner.to_string(),
    };
    Some(Scanned {
        span: Span::new(at, end),
        quoted: Some(text),
    })
}

/// The text of a double-quoted scalar's escapes; `None` for an escape YAML does not have.
fn unescape(inner: &str) -> Option<String> {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let decoded = match chars.next()? {
            '0' => '\0',
            'a' => '\u{7}',
            'b' => '\u{8}',
            't' => '\t',
            'n' => '\n',
            'v' => '\u{b}',
            'f' => '\u{c}',
            'r' => '\r',
            'e' => '\u{1b}',
            ' ' => ' ',
            '"' => '"',
            '/' => '/',
            '\\' => '\\',
            'N' => '\u{85}',
            '_' => '\u{a0}',
            'L' => '\u{2028}',
            'P' => '\u{2029}',
            kind @ ('x' | 'u' | 'U') => {
                let digits = match kind {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut code = 0u32;
                for _ in 0..digits {
                    code = code * 16 + chars.next()?.to_digit(16)?;
                }
                char::from_u32(code)?
            }
            _ => return None,
        };
        out.push(decoded);
    }
    Some(out)
}

/// A value that starts at `at` on its line (after `key: ` or `- `): a quoted or plain scalar or
/// a flow collection, given to the builder. Its end, or `None` when it is for the general parser.
fn value(line: Line, at: usize, builder: &mut Builder) -> Result<Option<usize>, Fatal> {
    scalar_or_flow(line, at, false, 0, Reading::Built(builder))
}

/// A value nothing reads: checked as [`value`] checks it (its scalars' sizes, its flow
/// mappings' keys), and given to the builder as skipped.
fn skip_value(line: Line, at: usize, builder: &mut Builder) -> Option<usize> {
    let limit = builder.limits().max_scalar_bytes;
    let end = scalar_or_flow(line, at, false, 0, Reading::Checked(limit)).ok()??;
    builder.count_event();
    builder.skipped(Span::new(at, end));
    Some(end)
}

/// How a value is read: given to the builder, which checks it; or only checked, against the
/// most bytes a scalar may have. What the check would refuse goes to the general parser, which
/// says why.
enum Reading<'b> {
    Built(&'b mut Builder),
    Checked(usize),
}

impl Reading<'_> {
    fn builder(&mut self) -> Option<&mut Builder> {
        match self {
            Reading::Built(builder) => Some(builder),
            Reading::Checked(_) => None,
        }
    }

    /// Whether a scalar (or key) at `span` may be read here: within the size limit when it is
    /// only checked (the builder checks a built one itself).
    fn fits(&self, span: Span) -> bool {
        match self {
            Reading::Built(_) => true,
            Reading::Checked(limit) => span.end.saturating_sub(span.start) <= *limit,
        }
    }

    /// The same reading, for a value inside this one.
    fn inner(&mut self) -> Reading<'_> {
        match self {
            Reading::Built(builder) => Reading::Built(builder),
            Reading::Checked(limit) => Reading::Checked(*limit),
        }
    }
}

/// A scalar or flow collection at `at`, given to `builder` if there is one. `flow` says whether
/// it is inside a flow collection, `depth` how deep.
fn scalar_or_flow(
    line: Line,
    at: usize,
    flow: bool,
    depth: usize,
    mut reading: Reading<'_>,
) -> Result<Option<usize>, Fatal> {
    let Some(b) = line.at(at) else {
        return Ok(None);
    };
    let scanned = match b {
        b'[' | b'{' => return flow_collection(line, at, depth + 1, reading),
        b'"' | b'\'' => match quoted(line, at) {
            Some(scanned) => scanned,
            None => return Ok(None),
        },
        _ if plain_start(b, line.at(at + 1), flow) => match plain_end(line, at, flow) {
            Some(end) => Scanned {
                span: Span::new(at, end),
                quoted: None,
            },
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    let end = scanned.span.end;
    if !reading.fits(scanned.span) {
        return Ok(None);
    }
    if let Some(builder) = reading.builder() {
        let value = match scanned.quoted {
            Some(text) => Value::String(text.into()),
            None => plain_value(Cow::Borrowed(line.str(scanned.span))),
        };
        builder.count_event();
        builder.scalar(Ok(value), scanned.span, 0);
    }
    Ok(Some(end))
}

/// A flow mapping or list at `at` that closes on its line; its end. A plain `<<` key (a merge
/// key), and in a mapping only checked a key twice, go to the general parser.
fn flow_collection(
    line: Line,
    at: usize,
    depth: usize,
    mut reading: Reading<'_>,
) -> Result<Option<usize>, Fatal> {
    if depth > MAX_FLOW_DEPTH {
        return Ok(None);
    }
    let map = line.at(at) == Some(b'{');
    let close = if map { b'}' } else { b']' };
    if let Some(builder) = reading.builder() {
        builder.count_event();
        builder.start(map, at, true, 0)?;
    }
    // The keys of a mapping only checked (a built one's are the builder's to check).
    let mut keys: Vec<Cow<'_, str>> = Vec::new();
    let mut i = line.skip_spaces(at + 1);
    if line.at(i) == Some(close) {
        return Ok(finish_flow(i, reading.builder()));
    }
    loop {
        if map {
            let Some(b) = line.at(i) else {
                return Ok(None);
            };
            let key = match b {
                b'"' | b'\'' => quoted(line, i),
                _ if plain_start(b, line.at(i + 1), true) => {
                    plain_end(line, i, true).map(|end| Scanned {
                        span: Span::new(i, end),
                        quoted: None,
                    })
                }
                _ => None,
            };
            let Some(key) = key else {
                return Ok(None);
            };
            let colon = line.skip_spaces(key.span.end);
            if line.at(colon) != Some(b':') || line.at(colon + 1) != Some(b' ') {
                return Ok(None);
            }
            let text = match key.quoted {
                Some(text) => Cow::Owned(text),
                None if line.str(key.span) == "<<" => return Ok(None),
                None => Cow::Borrowed(line.str(key.span)),
            };
            match reading.builder() {
                Some(builder) => {
                    builder.count_event();
                    builder.key(Text::from(&*text), key.span, 0);
                }
                None => {
                    if !reading.fits(key.span) || keys.contains(&text) {
                        return Ok(None);
                    }
                    keys.push(text);
                }
            }
            i = line.skip_spaces(colon + 1);
        }
        let Some(end) = scalar_or_flow(line, i, true, depth, reading.inner())? else {
            return Ok(None);
        };
        i = line.skip_spaces(end);
        match line.at(i) {
            Some(b',') => {
                i = line.skip_spaces(i + 1);
                if !matches!(line.at(i), Some(b) if b != close && b != b',' && b != b'#') {
                    return Ok(None);
                }
            }
            Some(b) if b == close => return Ok(finish_flow(i, reading.builder())),
            _ => return Ok(None),
        }
    }
}

/// Closes a flow collection whose closing bracket is at `i`; its end.
fn finish_flow(i: usize, builder: Option<&mut Builder>) -> Option<usize> {
    if let Some(builder) = builder {
        builder.count_event();
        builder.end(i + 1);
    }
    Some(i + 1)
}
