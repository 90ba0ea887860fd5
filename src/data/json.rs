//! JSON and JSON Lines records: a strict RFC 8259 parser that keeps the span of every value
//! (serde_json cannot), iterative with an explicit stack, numbers read as exact decimals.

use super::build::{Builder, char_span, data_error, decimal_from_parts, duplicate_key, exponent};
use super::{DataError, LoadOptions, Record};
use crate::compile::projection::Wanted;
use crate::diagnostic::Code;
use crate::source::{Source, Span};
use crate::value::{Entry, Node, Text, Value, key_print_in};

/// A null with no span, for a value [`JsonRecords::whole_value`] is to write.
fn null_node() -> Node {
    Node {
        value: Value::Null,
        span: Span::default(),
    }
}

/// The records of a JSON or JSON Lines file, one at a time; see [`super::read_records`].
pub(crate) struct JsonRecords {
    source: Source,
    builder: Builder,
    /// JSON Lines: one value a line, each line on its own.
    lines: bool,
    /// The next byte to read.
    pos: usize,
    /// The end of the current document (the file, or the line).
    end: usize,
    /// JSON Lines: where the next line starts.
    next_line: usize,
    /// JSON Lines: the number (in the text, from 1) of the line last started.
    line_number: usize,
    /// The open containers, innermost last: `true` for an object.
    stack: Vec<bool>,
    state: State,
    /// The last token was a `,` (for the trailing-comma hint).
    after_comma: bool,
    done: bool,
    /// A value nothing reads, being checked without being built.
    skip: Option<Skip>,
    /// Whether lines are first tried by [`JsonRecords::whole_line`] (off only in tests that
    /// compare it with the general reader).
    whole_lines: bool,
    /// By depth, how many entries or elements the widest container [`JsonRecords::whole_line`]
    /// built there had (at most [`WHOLE_LINE_KEYS`]).
    widths: Vec<usize>,
    /// The prints ([`key_print`]) of the keys of the objects it has open, innermost last, for
    /// the duplicate-key check.
    open_prints: Vec<u64>,
    /// The keys of the last object [`JsonRecords::whole_line`] read at each place (at most
    /// [`SHAPES`] places): the records of a file mostly spell the same keys in the same order.
    shapes: Vec<Shape>,
    /// The tree of a record given back ([`super::RecordReader::give_back`]), which
    /// [`JsonRecords::whole_line`] reads the next line into.
    spare: Option<Node>,
    /// A second handle on the source, taken out while [`JsonRecords::whole_line`] reads a line:
    /// the line's text is then a plain slice for the reading methods, not reached through
    /// `self` at every byte.
    lent: Option<Source>,
}

/// The keys an object at one place of a record had (a [`Place`] and what is read there), each as
/// [`JsonRecords::whole_member`] found it: an object spelling the same keys in the same order
/// is read without searching the projection, comparing prints or allocating its keys again.
struct Shape {
    at: Place,
    wanted: Option<Wanted>,
    keys: Vec<KnownKey>,
    /// The entries last cut off the end of an object at this place (a field that only some
    /// records have), last first: the next object with more entries takes them back.
    cut: Vec<Entry>,
}

/// Where an object or list of a record stands, for its [`Shape`]: its depth (the root is 0) and
/// the print of the key it is the value of (a list's elements stand where the list does; the
/// root's key is 0). Objects under different keys at one depth (`buyer`, `exemption`) spell
/// different keys, and have a shape each.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Place {
    depth: usize,
    key: u64,
}

/// A key of a [`Shape`]: its text (no escapes, within the limits), its print, and what is read
/// of its value.
#[derive(Clone)]
struct KnownKey {
    text: Text,
    print: u64,
    child: Option<Wanted>,
}

/// Where an object being read stands against its place's [`Shape`].
struct ShapeCursor {
    /// The shape of its place, if it has one.
    slot: Option<usize>,
    /// How many keys it has read.
    index: usize,
    /// Whether every key so far is the shape's key at the same index.
    matched: bool,
    /// Once a key differs: the keys it has, for the shape of its place.
    fresh: Vec<KnownKey>,
}

/// The most places of a record whose keys [`JsonRecords::whole_line`] remembers.
const SHAPES: usize = 32;

/// How deep [`JsonRecords::whole_line`] goes before it leaves a line to the general reader.
const WHOLE_LINE_DEPTH: usize = 64;

/// The most keys an object may have for [`JsonRecords::whole_line`], which compares each key with
/// the object's others one by one: a wider object goes to the general reader, which indexes them.
const WHOLE_LINE_KEYS: usize = 32;

/// A value that is checked but not built (see [`Builder::skips_value`]): where it started, and
/// the keys of its open objects, for the duplicate-key check.
struct Skip {
    /// The depth of the container stack at its start.
    depth: usize,
    /// Its first byte.
    start: usize,
    /// The keys of the open objects, outermost first: each key's hash and span.
    keys: Vec<(u64, Span)>,
    /// The open objects, outermost first.
    objects: Vec<SkippedObject>,
}

/// An open object inside a skipped value.
struct SkippedObject {
    /// Where its keys start in [`Skip::keys`].
    first: usize,
    /// Its keys by hash, once it has more than [`LINEAR_KEYS`].
    index: Option<foldhash::HashMap<u64, Span>>,
}

/// Objects with more keys than this get a hash index for the duplicate check.
const LINEAR_KEYS: usize = 32;

/// A number as [`JsonRecords::scan_number`] found it: its sign, the byte ranges of its integer
/// and fraction digits, its exponent and its span.
struct ScannedNumber {
    negative: bool,
    int: std::ops::Range<usize>,
    frac: std::ops::Range<usize>,
    exp: i64,
    span: Span,
}

/// What the parser expects next.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// A new document (the file, or the next non-blank line).
    Start,
    Value,
    ArrayFirst,
    ArrayNext,
    ObjectFirst,
    ObjectKey,
    ObjectColon,
    ObjectNext,
    /// Only blanks may follow the document's value.
    AfterRoot,
}

impl JsonRecords {
    /// Reads the records of `source`: one JSON value, or with `lines` one value a line.
    pub fn new(source: Source, options: LoadOptions, lines: bool) -> JsonRecords {
        let pos = if source.text().starts_with('\u{feff}') {
            3
        } else {
            0
        };
        let mut builder = Builder::new(source.clone(), &options);
        builder.one_record = lines;
        JsonRecords {
            lent: Some(source.clone()),
            builder,
            end: source.text().len(),
            source,
            lines,
            pos,
            next_line: pos,
            line_number: 0,
            stack: Vec::new(),
            state: State::Start,
            after_comma: false,
            done: false,
            skip: None,
            whole_lines: true,
            widths: vec![0; WHOLE_LINE_DEPTH],
            open_prints: Vec::new(),
            shapes: Vec::new(),
            spare: None,
        }
    }

    /// The byte at `i`, if it is inside the current document.
    #[inline]
    fn at(&self, i: usize) -> Option<u8> {
        if i < self.end {
            self.source.text().as_bytes().get(i).copied()
        } else {
            None
        }
    }

    #[inline]
    fn skip_blanks(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.at(self.pos) {
            self.pos += 1;
        }
    }

    fn step(&mut self) -> Result<(), Box<DataError>> {
        match self.state {
            State::Start => {
                if let Some(record) = self.start_document() {
                    self.builder.out.push_back(Ok(record));
                }
                Ok(())
            }
            State::Value => self.value(),
            State::ArrayFirst => {
                self.skip_blanks();
                if self.at(self.pos) == Some(b']') {
                    self.close();
                    Ok(())
                } else {
                    self.value()
                }
            }
            State::ArrayNext => {
                self.skip_blanks();
                match self.at(self.pos) {
                    Some(b',') => {
                        self.pos += 1;
                        self.after_comma = true;
                        self.state = State::Value;
                        Ok(())
                    }
                    Some(b']') => {
                        self.close();
                        Ok(())
                    }
                    _ => Err(self.expected("`,` or `]`", None)),
                }
            }
            State::ObjectFirst | State::ObjectKey => {
                self.skip_blanks();
                match self.at(self.pos) {
                    Some(b'"') if self.skip.is_some() => {
                        self.skipped_key()?;
                        self.after_comma = false;
                        self.state = State::ObjectColon;
                        Ok(())
                    }
                    Some(b'"') => {
                        let (key, span) = self.string()?;
                        self.builder.key(key, span, 0);
                        self.after_comma = false;
                        self.state = State::ObjectColon;
                        Ok(())
                    }
                    Some(b'}') if self.state == State::ObjectFirst => {
                        self.close();
                        Ok(())
                    }
                    Some(b'}') => Err(self.expected(
                        "a key in double quotes",
                        Some("JSON does not allow a comma after the last member of an object"),
                    )),
                    Some(b'\'') => Err(self.expected(
                        "a key in double quotes",
                        Some("JSON strings use double quotes"),
                    )),
                    _ if self.state == State::ObjectFirst => {
                        Err(self.expected("a key in double quotes or `}`", None))
                    }
                    _ => Err(self.expected("a key in double quotes", None)),
                }
            }
            State::ObjectColon => {
                self.skip_blanks();
                if self.at(self.pos) == Some(b':') {
                    self.pos += 1;
                    self.state = State::Value;
                    Ok(())
                } else {
                    Err(self.expected("`:` after the key", None))
                }
            }
            State::ObjectNext => {
                self.skip_blanks();
                match self.at(self.pos) {
                    Some(b',') => {
                        self.pos += 1;
                        self.after_comma = true;
                        self.state = State::ObjectKey;
                        Ok(())
                    }
                    Some(b'}') => {
                        self.close();
                        Ok(())
                    }
                    _ => Err(self.expected("`,` or `}`", None)),
                }
            }
            State::AfterRoot => {
                self.skip_blanks();
                if self.pos < self.end {
                    let help = if self.lines {
                        "JSON Lines holds one value a line"
                    } else {
                        "a JSON file holds one value: put several records in a list `[…]`, or use JSON Lines (`.jsonl`)"
                    };
                    return Err(self.expected(self.end_name_of_document(), Some(help)));
                }
                self.builder.end_document();
                if self.lines {
                    self.state = State::Start;
                } else {
                    self.done = true;
                }
                Ok(())
            }
        }
    }

    fn end_name_of_document(&self) -> &'static str {
        if self.lines {
            "the end of the line"
        } else {
            "the end of the file"
        }
    }

    /// Starts the next document: the whole file, or the next line that is not blank. A line
    /// read whole ([`JsonRecords::whole_line`]) is its record, returned straight away.
    fn start_document(&mut self) -> Option<Record> {
        if !self.lines {
            if self.next_line > self.end {
                self.done = true;
                return None;
            }
            self.next_line = self.end + 1;
            self.builder.begin_document();
            self.state = State::Value;
            return None;
        }
        let len = self.source.text().len();
        // Counting LFs counts lines only where nothing else ends one.
        let only_lf = self.source.only_lf();
        loop {
            let start = self.next_line;
            if start >= len {
                self.done = true;
                return None;
            }
            self.line_number += 1;
            // The first line starts at the text's start, before a byte order mark.
            let line_start = if self.line_number == 1 { 0 } else { start };
            self.builder.line = only_lf.then_some((self.line_number, line_start));
            if self.whole_lines {
                self.pos = start;
                self.end = len;
                if let Some(root) = self.whole_line() {
                    // The line ends where its record's blanks do; the state stays `Start`:
                    // the next line is the next document.
                    self.next_line = self.pos + 1;
                    return Some(self.builder.whole_record(root));
                }
            }
            let text = self.source.text();
            let rest = text.as_bytes().get(start..).unwrap_or(&[]);
            let line_end = memchr::memchr(b'\n', rest).map_or(len, |i| start + i);
            self.next_line = line_end + 1;
            let line = text.as_bytes().get(start..line_end).unwrap_or(&[]);
            let end = if line.last() == Some(&b'\r') {
                line_end - 1
            } else {
                line_end
            };
            if line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
                continue;
            }
            self.pos = start;
            self.end = end;
            self.stack.clear();
            self.after_comma = false;
            self.builder.begin_document();
            self.state = State::Value;
            return None;
        }
    }

    /// The record of the line at the current position read straight into nodes, with the
    /// position left at the line's end (its LF, or the end of the text), when the line is the
    /// common case: an object, valid, with no escape in a key, no key twice and within the limits, and
    /// no `--records` path. `None` leaves the line to the general reader (from its start), which
    /// gives the same record or says what is wrong. This skips the event-by-event building.
    fn whole_line(&mut self) -> Option<Node> {
        let wanted = self.builder.record_wanted()?;
        let source = self.lent.take()?;
        let read = source
            .text()
            .get(..self.end)
            .and_then(|doc| self.whole_document(doc, wanted));
        self.lent = Some(source);
        read
    }

    /// [`JsonRecords::whole_line`] on `doc`, the text from the line on. The line is read
    /// without first looking for its end: blanks here are those within a line, and nothing
    /// else read here (a string, a number, a literal) takes in an LF.
    fn whole_document(&mut self, doc: &str, wanted: Wanted) -> Option<Node> {
        self.open_prints.clear();
        self.pos = past_blanks(doc, self.pos);
        if byte_at(doc, self.pos) != Some(b'{') {
            return None;
        }
        let mut root = self.spare.take().unwrap_or_else(null_node);
        let root_place = Place { depth: 0, key: 0 };
        let read = self.whole_value(doc, root_place, Some(wanted), &mut root);
        self.pos = past_blanks(doc, self.pos);
        if read.is_some() && matches!(byte_at(doc, self.pos), None | Some(b'\n')) {
            return Some(root);
        }
        // Half overwritten, it is as good a tree to read into as any.
        self.spare = Some(root);
        None
    }

    /// A value at the place `at` for [`JsonRecords::whole_line`], built as `wanted`
    /// says, or only checked (a null over its span, as the general reader keeps a value
    /// nothing reads) when `wanted` is `None`. The value is written into `out`, where it
    /// stays: a value built and then moved into place costs more than building it (the move
    /// reads back what was just written, piecemeal). `out` may hold anything, such as the
    /// value at the same place of a record given back: whatever of it is reused (a string's
    /// room, a container's vector, its entries' keys) is overwritten, the rest dropped.
    fn whole_value(
        &mut self,
        doc: &str,
        at: Place,
        wanted: Option<Wanted>,
        out: &mut Node,
    ) -> Option<()> {
        if wanted.is_none() && !matches!(out.value, Value::Null) {
            out.value = Value::Null;
        }
        let start = past_blanks(doc, self.pos);
        self.pos = start;
        match byte_at(doc, start)? {
            b'{' | b'[' => return self.whole_container(doc, at, wanted, out),
            b'"' if wanted.is_some() => self.whole_string(doc, &mut out.value)?,
            b'"' => self.pos = scan_string(doc.as_bytes(), start).ok()?.0,
            // A number nothing reads is a null (`number(false)`).
            b'-' | b'0'..=b'9' => {
                let number = scan_number(doc.as_bytes(), start).ok()?;
                self.pos = number.span.end;
                if wanted.is_some() {
                    write_number(doc, &number, &mut out.value);
                }
            }
            b't' => self.whole_literal(doc, b"true", Value::Bool(true), wanted, out)?,
            b'f' => self.whole_literal(doc, b"false", Value::Bool(false), wanted, out)?,
            b'n' => self.whole_literal(doc, b"null", Value::Null, wanted, out)?,
            _ => return None,
        }
        out.span = Span::new(start, self.pos);
        if self.too_large(out.span) {
            return None;
        }
        Some(())
    }

    /// The string at the current position (its opening quote), written into `out`: one with
    /// no escape is copied straight from the text into its place (the room of a string there
    /// already).
    fn whole_string(&mut self, doc: &str, out: &mut Value) -> Option<()> {
        let start = self.pos;
        let close = special_from(doc.as_bytes(), start + 1);
        if byte_at(doc, close) == Some(b'"') {
            let text = doc.get(start + 1..close)?;
            // The string written in place: one built aside and moved there costs more (the
            // move reads back what was just written).
            match &mut *out {
                Value::String(place) => place.clear(),
                other => *other = Value::String(Text::default()),
            }
            if let Value::String(place) = out {
                place.push_str(text);
            }
            self.pos = close + 1;
        } else {
            *out = Value::String(self.string().ok()?.0);
        }
        Some(())
    }

    /// `word` at the current position, as a value (written into `out` when it is `wanted`).
    fn whole_literal(
        &mut self,
        doc: &str,
        word: &[u8],
        value: Value,
        wanted: Option<Wanted>,
        out: &mut Node,
    ) -> Option<()> {
        if doc.as_bytes().get(self.pos..self.pos + word.len()) != Some(word) {
            return None;
        }
        self.pos += word.len();
        if wanted.is_some() {
            out.value = value;
        }
        Some(())
    }

    /// Whether a key or a value at `span` is longer than the limits allow.
    fn too_large(&self, span: Span) -> bool {
        span.end.saturating_sub(span.start) > self.builder.limits().max_scalar_bytes
    }

    /// An object or an array at its opening bracket, for [`JsonRecords::whole_value`].
    fn whole_container(
        &mut self,
        doc: &str,
        at: Place,
        wanted: Option<Wanted>,
        out: &mut Node,
    ) -> Option<()> {
        let depth = at.depth;
        if depth >= WHOLE_LINE_DEPTH || depth >= self.builder.limits().max_depth {
            return None;
        }
        // A list's elements stand where the list does, one level down.
        let element = Place {
            depth: depth + 1,
            key: at.key,
        };
        let start = self.pos;
        let object = byte_at(doc, start) == Some(b'{');
        let close = if object { b'}' } else { b']' };
        let first_print = self.open_prints.len();
        // Built straight into vectors of the width the containers at this depth had (the
        // records of a file mostly have one shape).
        let width = match wanted {
            Some(_) => self.widths.get(depth).copied().unwrap_or(0),
            None => 0,
        };
        // Built into the vector already in place when there is one of the kind (a record given
        // back): its entries are overwritten in turn, and what is left over cut off at the end.
        match (&out.value, wanted.is_some(), object) {
            (_, false, _) | (Value::Map(_), true, true) | (Value::List(_), true, false) => {}
            (_, true, true) => {
                out.value = Value::Map(crate::value::Map {
                    entries: Vec::with_capacity(width),
                });
            }
            (_, true, false) => out.value = Value::List(Vec::with_capacity(width)),
        }
        let (mut entries, mut items) = match &mut out.value {
            Value::Map(map) => (Some(&mut map.entries), None),
            Value::List(list) => (None, Some(list)),
            _ => (None, None),
        };
        let mut count = 0;
        let mut cursor = ShapeCursor {
            slot: if object {
                self.shape_slot(at, wanted)
            } else {
                None
            },
            index: 0,
            matched: true,
            fresh: Vec::new(),
        };
        self.pos = past_blanks(doc, start + 1);
        if byte_at(doc, self.pos) == Some(close) {
            self.pos += 1;
        } else {
            loop {
                if object {
                    let entries = entries.as_deref_mut();
                    self.whole_member(doc, at, wanted, first_print, entries, &mut cursor)?;
                } else if let Some(items) = &mut items {
                    if items.len() <= count {
                        items.push(null_node());
                    }
                    self.whole_value(doc, element, wanted, items.get_mut(count)?)?;
                    count += 1;
                } else {
                    self.whole_value(doc, element, wanted, &mut null_node())?;
                }
                self.pos = past_blanks(doc, self.pos);
                match byte_at(doc, self.pos)? {
                    b',' => self.pos += 1,
                    b if b == close => {
                        self.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let span = Span::new(start, self.pos);
        // What the container in place had beyond this one's entries or elements.
        let built = if object { cursor.index } else { count };
        if let Some(entries) = entries {
            match cursor.slot.and_then(|slot| self.shapes.get_mut(slot)) {
                Some(shape) if entries.len() > built => {
                    shape.cut.clear();
                    shape.cut.extend(entries.drain(built..).rev());
                }
                _ => entries.truncate(built),
            }
        }
        if let Some(items) = items {
            items.truncate(built);
        }
        self.open_prints.truncate(first_print);
        if let (Some(slot), false) = (cursor.slot, cursor.matched)
            && let Some(shape) = self.shapes.get_mut(slot)
        {
            shape.keys = cursor.fresh;
        }
        if wanted.is_some()
            && let Some(width) = self.widths.get_mut(depth)
        {
            // The widest so far, up to the most keys this reader takes: room for a record with
            // more fields than its predecessor without growing.
            *width = built.max(*width).min(WHOLE_LINE_KEYS);
        }
        out.span = span;
        Some(())
    }

    /// The shape of the objects at `depth` read as `wanted`, if there is room for it.
    fn shape_slot(&mut self, at: Place, wanted: Option<Wanted>) -> Option<usize> {
        let found = self
            .shapes
            .iter()
            .position(|s| s.at == at && s.wanted == wanted);
        if found.is_none() && self.shapes.len() < SHAPES {
            self.shapes.push(Shape {
                at,
                wanted,
                keys: Vec::new(),
                cut: Vec::new(),
            });
            return Some(self.shapes.len() - 1);
        }
        found
    }

    /// The shape's key at the cursor, when the key at the current position (its opening quote)
    /// is spelt the same: its print and what is read of its value, with the position
    /// moved past it.
    fn known_key(&mut self, doc: &str, cursor: &ShapeCursor) -> Option<(u64, Option<Wanted>)> {
        if !cursor.matched {
            return None;
        }
        let key = self.shapes.get(cursor.slot?)?.keys.get(cursor.index)?;
        let bytes = key.text.as_bytes();
        let from = self.pos + 1;
        let close = from + bytes.len();
        let text = doc.as_bytes();
        if !text
            .get(from..close)
            .is_some_and(|written| crate::value::same_bytes(written, bytes))
            || text.get(close) != Some(&b'"')
        {
            return None;
        }
        let found = (key.print, key.child);
        self.pos = close + 1;
        Some(found)
    }

    /// One `"key": value` of an object whose keys' prints start at `first_print`, written into
    /// `entries` when it is built (at the cursor's index: the entry there, left by a record
    /// given back, keeps its key when that is the same). A key its place's shape has at the
    /// same index (`cursor`) is taken as it is: the keys before it are the shape's too, so it
    /// repeats none of them.
    fn whole_member(
        &mut self,
        doc: &str,
        at: Place,
        wanted: Option<Wanted>,
        first_print: usize,
        entries: Option<&mut Vec<Entry>>,
        cursor: &mut ShapeCursor,
    ) -> Option<()> {
        self.pos = past_blanks(doc, self.pos);
        if byte_at(doc, self.pos) != Some(b'"') {
            return None;
        }
        let key_start = self.pos;
        let index = cursor.index;
        let (print, child, fresh) = match self.known_key(doc, cursor) {
            Some((print, child)) => (print, child, None),
            None => {
                if cursor.matched
                    && let Some(shape) = cursor.slot.and_then(|slot| self.shapes.get(slot))
                {
                    cursor.fresh = shape.keys.get(..cursor.index)?.to_vec();
                }
                cursor.matched = false;
                let key = self.new_key(wanted, first_print)?;
                if cursor.slot.is_some() {
                    cursor.fresh.push(key.clone());
                }
                (key.print, key.child, Some(key.text))
            }
        };
        cursor.index += 1;
        let key_span = Span::new(key_start, self.pos);
        self.open_prints.push(print);
        self.pos = past_blanks(doc, self.pos);
        if byte_at(doc, self.pos) != Some(b':') {
            return None;
        }
        self.pos += 1;
        let value_place = Place {
            depth: at.depth + 1,
            key: print,
        };
        let Some(entries) = entries else {
            return self.whole_value(doc, value_place, child, &mut null_node());
        };
        // The entries before `index` are this object's. The one at `index` is left over from a
        // record given back, or taken back from those cut off an object at this place before,
        // or new; its key is written unless it is the same.
        if entries.len() <= index {
            let shape = cursor.slot.and_then(|slot| self.shapes.get_mut(slot));
            let entry = shape
                .and_then(|shape| shape.cut.pop())
                .unwrap_or_else(|| Entry {
                    key: Text::default(),
                    key_span,
                    value: null_node(),
                });
            entries.push(entry);
        }
        let entry = entries.get_mut(index)?;
        match fresh {
            Some(key) => entry.key = key,
            None => {
                let known = &cursor.slot.and_then(|slot| self.shapes.get(slot))?.keys;
                let text = &known.get(index)?.text;
                if !crate::value::same_key(&entry.key, text) {
                    entry.key = text.clone();
                }
            }
        }
        entry.key_span = key_span;
        self.whole_value(doc, value_place, child, &mut entry.value)
    }

    /// A key at its opening quote that no shape foretold, checked (no escape, within the limits,
    /// none of its object's keys before it alike in print) and looked up in the projection.
    fn new_key(&mut self, wanted: Option<Wanted>, first_print: usize) -> Option<KnownKey> {
        let (key_span, escaped) = self.scan_string().ok()?;
        if escaped || self.too_large(key_span) {
            return None;
        }
        // Between two quotes of the (valid UTF-8) text: slicing checks no more than that.
        let key_range = key_span.start + 1..key_span.end - 1;
        let key = self.source.text().get(key_range.clone())?;
        let print = key_print_in(self.source.text().as_bytes(), key_range);
        let prints = self.open_prints.get(first_print..)?;
        // A key seen before (or one alike in its print), or too many to compare: the general
        // reader decides.
        if prints.len() >= WHOLE_LINE_KEYS || prints.contains(&print) {
            return None;
        }
        Some(KnownKey {
            text: Text::from(key),
            print,
            child: wanted.and_then(|w| self.builder.child_wanted(w, key, print)),
        })
    }

    /// Reads a value (or opens a container) at the current position.
    fn value(&mut self) -> Result<(), Box<DataError>> {
        self.skip_blanks();
        let start = self.pos;
        if self.skip.is_none() && self.builder.skips_value() {
            self.skip = Some(Skip {
                depth: self.stack.len(),
                start,
                keys: Vec::new(),
                objects: Vec::new(),
            });
        }
        if self.skip.is_some() {
            return self.skipped_value(start);
        }
        match self.at(start) {
            Some(open @ (b'{' | b'[')) => {
                let object = open == b'{';
                self.builder.start(object, start, true, 0)?;
                self.open(object);
                return Ok(());
            }
            Some(b'"') => {
                let (text, span) = self.string()?;
                self.builder.scalar(Ok(Value::String(text)), span, 0);
            }
            Some(b'-' | b'0'..=b'9') => {
                let (value, span) = self.number(true)?;
                self.builder.scalar(Ok(value), span, 0);
            }
            Some(b't') => self.literal(b"true", Value::Bool(true))?,
            Some(b'f') => self.literal(b"false", Value::Bool(false))?,
            Some(b'n') => self.literal(b"null", Value::Null)?,
            _ => return Err(self.not_a_value(start)),
        }
        self.after_comma = false;
        self.after_value();
        Ok(())
    }

    /// The error for what stands at `start` where a value should.
    fn not_a_value(&self, start: usize) -> Box<DataError> {
        match self.at(start) {
            Some(b']' | b'}') if self.after_comma => self.expected(
                "a value",
                Some("JSON does not allow a comma after the last element"),
            ),
            Some(b'\'') => self.expected("a value", Some("JSON strings use double quotes")),
            Some(b'T' | b'F' | b'N' | b'I') => self.expected(
                "a value",
                Some("JSON literals are lowercase `true`, `false` and `null`; JSON has no NaN or Infinity"),
            ),
            _ => self.expected("a value", None),
        }
    }

    /// Steps into an object or an array at its opening bracket.
    fn open(&mut self, object: bool) {
        self.stack.push(object);
        self.pos += 1;
        self.after_comma = false;
        self.state = if object {
            State::ObjectFirst
        } else {
            State::ArrayFirst
        };
    }

    fn after_value(&mut self) {
        self.state = match self.stack.last() {
            Some(true) => State::ObjectNext,
            Some(false) => State::ArrayNext,
            None => State::AfterRoot,
        };
    }

    /// Closes the innermost container at its closing bracket.
    fn close(&mut self) {
        self.pos += 1;
        let object = self.stack.pop();
        match &mut self.skip {
            Some(skip) => {
                if object == Some(true)
                    && let Some(closed) = skip.objects.pop()
                {
                    skip.keys.truncate(closed.first);
                }
                if self.stack.len() == skip.depth {
                    self.end_skip();
                }
            }
            None => self.builder.end(self.pos),
        }
        self.after_comma = false;
        self.after_value();
    }

    /// A value (or the opening of a container) inside a value nothing reads: checked as
    /// [`JsonRecords::value`] checks it, with the same limits, and not built.
    fn skipped_value(&mut self, start: usize) -> Result<(), Box<DataError>> {
        match self.at(start) {
            Some(open @ (b'{' | b'[')) => {
                if self.stack.len() >= self.builder.limits().max_depth {
                    let span = char_span(self.source.text(), start);
                    return Err(Box::new(self.builder.too_deep(span, "this collection")));
                }
                let object = open == b'{';
                if object && let Some(skip) = &mut self.skip {
                    skip.objects.push(SkippedObject {
                        first: skip.keys.len(),
                        index: None,
                    });
                }
                self.open(object);
                return Ok(());
            }
            Some(b'"') => {
                let (span, _) = self.scan_string()?;
                self.check_size(span, "value");
            }
            Some(b'-' | b'0'..=b'9') => {
                let (_, span) = self.number(false)?;
                self.check_size(span, "value");
            }
            Some(b't') => self.literal(b"true", Value::Bool(true))?,
            Some(b'f') => self.literal(b"false", Value::Bool(false))?,
            Some(b'n') => self.literal(b"null", Value::Null)?,
            _ => return Err(self.not_a_value(start)),
        }
        if self
            .skip
            .as_ref()
            .is_some_and(|s| s.depth == self.stack.len())
        {
            self.end_skip();
        }
        self.after_comma = false;
        self.after_value();
        Ok(())
    }

    /// A skipped value is complete: its key keeps a null in the record.
    fn end_skip(&mut self) {
        if let Some(skip) = self.skip.take() {
            self.builder.skipped(Span::new(skip.start, self.pos));
        }
    }

    /// The size limit for a key or a value that is skipped, as for one that is built.
    fn check_size(&mut self, span: Span, what: &str) {
        if self.too_large(span) {
            let error = self.builder.scalar_too_large(span, what);
            self.builder.error(error);
        }
    }

    /// A key of an object inside a skipped value: checked, and compared with the object's other
    /// keys.
    fn skipped_key(&mut self) -> Result<(), Box<DataError>> {
        let (span, escaped) = self.scan_string()?;
        self.check_size(span, "key");
        let hash = if escaped {
            hash_key(self.decode_key(span).as_bytes())
        } else {
            hash_key(self.key_bytes(span))
        };
        let Some(Skip { keys, objects, .. }) = &mut self.skip else {
            return Ok(());
        };
        let Some(object) = objects.last_mut() else {
            return Ok(());
        };
        let mine = keys.get(object.first..).unwrap_or(&[]);
        if object.index.is_none() && mine.len() >= LINEAR_KEYS {
            object.index = Some(mine.iter().map(|&(h, s)| (h, s)).collect());
        }
        // The earlier key with the same hash: by the index, or by a search of the few keys.
        let earlier = match &mut object.index {
            Some(index) => match index.entry(hash) {
                std::collections::hash_map::Entry::Occupied(first) => Some(*first.get()),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(span);
                    None
                }
            },
            None => mine.iter().find(|(h, _)| *h == hash).map(|&(_, s)| s),
        };
        keys.push((hash, span));
        let Some(earlier) = earlier else {
            return Ok(());
        };
        let text = self.decode_key(span);
        let same = |reader: &mut Self, at: Span| reader.decode_key(at) == text;
        // Two different keys with one hash are all but impossible; look through them all then.
        let first = if same(self, earlier) {
            Some(earlier)
        } else {
            let others: Vec<Span> = self
                .skip
                .as_ref()
                .and_then(|skip| {
                    let object = skip.objects.last()?;
                    skip.keys.get(object.first..)
                })
                .unwrap_or(&[])
                .iter()
                .filter(|&&(h, s)| h == hash && s != span)
                .map(|&(_, s)| s)
                .collect();
            others.into_iter().find(|&at| same(self, at))
        };
        if let Some(first) = first {
            let error = duplicate_key(self.builder.source(), &text, span, first);
            self.builder.error(error);
        }
        Ok(())
    }

    /// The bytes between a string's quotes.
    fn key_bytes(&self, span: Span) -> &[u8] {
        self.source
            .text()
            .as_bytes()
            .get(span.start + 1..span.end.saturating_sub(1))
            .unwrap_or(&[])
    }

    /// The text of the (valid) string at `span`, escapes resolved.
    fn decode_key(&mut self, span: Span) -> std::borrow::Cow<'static, str> {
        let bytes = self.key_bytes(span);
        if !bytes.contains(&b'\\') {
            return std::borrow::Cow::Owned(String::from_utf8_lossy(bytes).into_owned());
        }
        let pos = self.pos;
        self.pos = span.start;
        let text = self
            .string()
            .map(|(t, _)| t.into_string())
            .unwrap_or_default();
        self.pos = pos;
        std::borrow::Cow::Owned(text)
    }

    /// Checks a string at the opening quote without building it: its span, and whether it has
    /// escapes. The errors are those of [`JsonRecords::string`].
    fn scan_string(&mut self) -> Result<(Span, bool), Box<DataError>> {
        let start = self.pos;
        match scan_string(self.document(), start) {
            Ok((end, escaped)) => {
                self.pos = end;
                Ok((Span::new(start, end), escaped))
            }
            Err(fault) => Err(self.string_fault(fault)),
        }
    }

    /// Where the first `"`, `\` or control character at or after `from` is in the current
    /// document (its end if there is none).
    fn next_special(&self, from: usize) -> usize {
        let text = self.source.text().as_bytes();
        special_from(text.get(..self.end.min(text.len())).unwrap_or(&[]), from)
    }

    /// Whether `word` stands at the current position, inside the current document.
    fn at_word(&self, word: &[u8]) -> bool {
        word.iter()
            .enumerate()
            .all(|(i, &b)| self.at(self.pos + i) == Some(b))
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<(), Box<DataError>> {
        let start = self.pos;
        if !self.at_word(word) {
            return Err(self.expected(
                "a value",
                Some("JSON literals are `true`, `false` and `null`; strings need double quotes"),
            ));
        }
        self.pos += word.len();
        if self.skip.is_none() {
            self.builder
                .scalar(Ok(value), Span::new(start, self.pos), 0);
        }
        Ok(())
    }

    /// Reads a string at the opening quote: its text and its span, quotes included.
    fn string(&mut self) -> Result<(Text, Span), Box<DataError>> {
        let text = self.source.text();
        let start = self.pos;
        let mut i = self.next_special(start + 1);
        // Most strings have no escapes: one allocation, straight from the text.
        loop {
            match self.at(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    let s = text.get(start + 1..i).unwrap_or("");
                    return Ok((Text::from(s), Span::new(start, i + 1)));
                }
                Some(b'\\') => break,
                Some(0..0x20) => return Err(self.control_character(i)),
                // A long string: on from here, eight bytes at a time.
                Some(_) => i = self.next_special(i),
                None => return Err(self.unterminated(start, i)),
            }
        }
        let mut out = String::with_capacity(i - start + 16);
        out.push_str(text.get(start + 1..i).unwrap_or(""));
        loop {
            let segment = i;
            i = self.next_special(i);
            out.push_str(text.get(segment..i).unwrap_or(""));
            match self.at(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok((Text::from(out), Span::new(start, i + 1)));
                }
                Some(b'\\') => {
                    let escape = i;
                    let c = match self.at(i + 1) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let (c, len) = self.unicode_escape(escape)?;
                            out.push(c);
                            i += len;
                            continue;
                        }
                        _ => return Err(self.bad_escape(escape)),
                    };
                    out.push(c);
                    i += 2;
                }
                Some(_) => return Err(self.control_character(i)),
                None => return Err(self.unterminated(start, i)),
            }
        }
    }

    /// Reads `\uXXXX` (and its low surrogate, if it is a high one) at `at`: the character and
    /// how many bytes the escape takes.
    fn unicode_escape(&self, at: usize) -> Result<(char, usize), Box<DataError>> {
        unicode_escape(self.document(), at).map_err(|fault| self.string_fault(fault))
    }

    /// The current document's text (the file, or the line), as bytes.
    fn document(&self) -> &[u8] {
        let text = self.source.text().as_bytes();
        text.get(..self.end.min(text.len())).unwrap_or(&[])
    }

    /// What is wrong with a string, as a syntax error there.
    #[cold]
    fn string_fault(&self, fault: StringFault) -> Box<DataError> {
        match fault {
            StringFault::Unterminated { start, at } => self.unterminated(start, at),
            StringFault::Control(at) => self.control_character(at),
            StringFault::BadEscape(at) => self.bad_escape(at),
            StringFault::LoneSurrogate(at) => self.lone_surrogate(at),
        }
    }

    /// Reads a number: an exact decimal, or its text when it is too large for one; only checked
    /// (a null) unless `build`.
    fn number(&mut self, build: bool) -> Result<(Value, Span), Box<DataError>> {
        let text = self.source.text();
        let doc = text.get(..self.end.min(text.len())).unwrap_or("");
        let number = match scan_number(doc.as_bytes(), self.pos) {
            Ok(number) => number,
            Err(fault) => return Err(self.number_fault(fault)),
        };
        self.pos = number.span.end;
        let mut value = Value::Null;
        if build {
            write_number(doc, &number, &mut value);
        }
        Ok((value, number.span))
    }

    /// What is wrong with a number, as a syntax error there.
    #[cold]
    fn number_fault(&mut self, fault: NumberFault) -> Box<DataError> {
        match fault {
            NumberFault::LeadingZero { zero, next } => {
                self.pos = next;
                self.syntax(
                    "a JSON number cannot have leading zeros".to_string(),
                    char_span(self.source.text(), zero),
                    "leading zero".to_string(),
                    Some(
                        "write the number without leading zeros, or quote it as a string"
                            .to_string(),
                    ),
                )
            }
            NumberFault::Missing { at, what } => {
                self.pos = at;
                self.expected(what, None)
            }
        }
    }

    /// What stands at the current position, for a message.
    fn found(&self) -> String {
        let text = self.source.text();
        let Some(rest) = text.get(self.pos..self.end).filter(|r| !r.is_empty()) else {
            return self.end_name_of_document().to_string();
        };
        let word: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'))
            .take(24)
            .collect();
        if !word.is_empty() {
            return format!("`{word}`");
        }
        match rest.chars().next() {
            Some('\u{feff}') => "a byte-order mark".to_string(),
            Some(c) if c.is_control() => format!("the control character U+{:04X}", u32::from(c)),
            Some(c) => format!("`{c}`"),
            None => self.end_name_of_document().to_string(),
        }
    }

    #[cold]
    fn expected(&self, what: &str, help: Option<&str>) -> Box<DataError> {
        let found = self.found();
        let span = if self.pos < self.end {
            char_span(self.source.text(), self.pos)
        } else {
            Span::new(self.end, self.end)
        };
        self.syntax(
            format!("expected {what}, found {found}"),
            span,
            format!("expected {what}"),
            help.map(str::to_string),
        )
    }

    #[cold]
    fn syntax(
        &self,
        message: String,
        span: Span,
        label: String,
        help: Option<String>,
    ) -> Box<DataError> {
        Box::new(data_error(
            &self.source,
            Code::DataJsonSyntax,
            message,
            span,
            label,
            help,
        ))
    }

    #[cold]
    fn unterminated(&self, start: usize, at: usize) -> Box<DataError> {
        let message = format!(
            "expected `\"` to close the string, found {}",
            self.end_name_of_document()
        );
        let span = if at < self.end {
            char_span(self.source.text(), at)
        } else {
            Span::new(self.end, self.end)
        };
        let mut error = self.syntax(message, span, "the string is not closed".to_string(), None);
        error.related = Some(Span::new(start, start + 1));
        error.related_label = "the string starts here".to_string();
        error
    }

    #[cold]
    fn control_character(&self, at: usize) -> Box<DataError> {
        let code = self.at(at).map_or(0, u32::from);
        self.syntax(
            format!("a JSON string cannot hold the raw control character U+{code:04X}"),
            char_span(self.source.text(), at),
            "control character".to_string(),
            Some(
                "write it as an escape, such as `\\n` for a line break or `\\t` for a tab"
                    .to_string(),
            ),
        )
    }

    #[cold]
    fn bad_escape(&self, at: usize) -> Box<DataError> {
        let text = self.source.text();
        let len = text
            .get(at + 1..self.end)
            .and_then(|r| r.chars().next())
            .map_or(1, |c| 1 + c.len_utf8());
        let span = Span::new(at, (at + len).min(self.end));
        self.syntax(
            format!("invalid escape `{}` in a string", self.source.slice(span)),
            span,
            "invalid escape".to_string(),
            Some("JSON escapes are `\\\"`, `\\\\`, `\\/`, `\\b`, `\\f`, `\\n`, `\\r`, `\\t` and `\\uXXXX`".to_string()),
        )
    }

    #[cold]
    fn lone_surrogate(&self, at: usize) -> Box<DataError> {
        let span = Span::new(at, (at + 6).min(self.end));
        self.syntax(
            format!(
                "`{}` is half of a surrogate pair, without its other half",
                self.source.slice(span)
            ),
            span,
            "lone surrogate".to_string(),
            Some(
                "a character beyond U+FFFF is written as a pair such as `\\uD83D\\uDE00`"
                    .to_string(),
            ),
        )
    }

    /// Reports an error; a file ends there. A JSON Lines line is dropped whole (records read
    /// from it included) and the next one is read.
    fn fail(&mut self, error: DataError) {
        self.skip = None;
        if self.lines {
            self.builder.abort_document();
            self.builder.out.push_back(Err(error));
            self.stack.clear();
            self.state = State::Start;
        } else {
            self.builder.out.push_back(Err(error.ending_the_text()));
            self.done = true;
        }
    }
}

/// Where the first byte of `bytes` that a JSON string cannot hold as it is lies: `"`, `\` or a
/// control character. Eight bytes at a time, then one by one; the reader ends strings with it
/// and the report writer looks for what to escape with it.
pub(crate) fn first_special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    // The high bit of each byte of `y` that is zero, and only of those.
    let zero_bytes = |y: u64| !(((y & LOW7) + LOW7) | y | LOW7);
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    for (n, word) in words.enumerate() {
        let mut eight = [0; 8];
        eight.copy_from_slice(word);
        let w = u64::from_le_bytes(eight);
        let special = zero_bytes(w ^ (ONES * u64::from(b'"')))
            | zero_bytes(w ^ (ONES * u64::from(b'\\')))
            | zero_bytes(w & (ONES * 0xE0));
        if special != 0 {
            return Some(n * 8 + (special.trailing_zeros() / 8) as usize);
        }
    }
    let whole = bytes.len() - tail.len();
    tail.iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|i| whole + i)
}

/// Writes the number a [`ScannedNumber`] of `doc` spells into `out`: exact, or its text when
/// no decimal holds it.
fn write_number(doc: &str, number: &ScannedNumber, out: &mut Value) {
    let bytes = doc.as_bytes();
    let int = bytes.get(number.int.clone()).unwrap_or(&[]);
    let frac = bytes.get(number.frac.clone()).unwrap_or(&[]);
    match decimal_from_parts(number.negative, int, frac, number.exp) {
        Some(decimal) => *out = Value::Number(decimal),
        None => {
            let text = doc.get(number.span.start..number.span.end).unwrap_or("");
            *out = Value::String(text.into());
        }
    }
}

/// Why the text at a number's start is not a JSON number.
enum NumberFault {
    /// A zero followed by a digit (`0`'s place, and the digit's).
    LeadingZero { zero: usize, next: usize },
    /// No digit where one must be, and what was expected there.
    Missing { at: usize, what: &'static str },
}

/// The number at `start` of `doc` (a document's text, cut at its end), checked and cut into its
/// parts.
#[inline(always)]
fn scan_number(doc: &[u8], start: usize) -> Result<ScannedNumber, NumberFault> {
    let at = |i: usize| doc.get(i).copied();
    let mut i = start;
    let negative = at(i) == Some(b'-');
    if negative {
        i += 1;
    }
    let int_start = i;
    match at(i) {
        Some(b'0') => {
            i += 1;
            if at(i).is_some_and(|b| b.is_ascii_digit()) {
                return Err(NumberFault::LeadingZero {
                    zero: int_start,
                    next: i,
                });
            }
        }
        Some(b'1'..=b'9') => i = digits_end(doc, i),
        _ => {
            let what = "a digit after `-`";
            return Err(NumberFault::Missing { at: i, what });
        }
    }
    let int_end = i;
    let mut frac = (i, i);
    if at(i) == Some(b'.') {
        let frac_start = i + 1;
        i = digits_end(doc, frac_start);
        if i == frac_start {
            let what = "a digit after the decimal point";
            return Err(NumberFault::Missing { at: i, what });
        }
        frac = (frac_start, i);
    }
    let mut exp = 0;
    if let Some(b'e' | b'E') = at(i) {
        i += 1;
        let exp_negative = at(i) == Some(b'-');
        if let Some(b'-' | b'+') = at(i) {
            i += 1;
        }
        let exp_start = i;
        i = digits_end(doc, i);
        if i == exp_start {
            let what = "a digit in the exponent";
            return Err(NumberFault::Missing { at: i, what });
        }
        exp = exponent(exp_negative, doc.get(exp_start..i).unwrap_or(&[]));
    }
    Ok(ScannedNumber {
        negative,
        int: int_start..int_end,
        frac: frac.0..frac.1,
        exp,
        span: Span::new(start, i),
    })
}

/// Where the run of ASCII digits at `i` of `doc` ends.
fn digits_end(doc: &[u8], i: usize) -> usize {
    let rest = doc.get(i..).unwrap_or(&[]);
    i + rest
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len())
}

/// Where the first `"`, `\` or control character at or after `from` is in `doc` (its end if
/// there is none).
fn special_from(doc: &[u8], from: usize) -> usize {
    let rest = doc.get(from..).unwrap_or(&[]);
    first_special(rest).map_or(doc.len().max(from), |i| from + i)
}

/// Why the text at a string's opening quote is not a JSON string, and where.
enum StringFault {
    /// No closing quote before the document's end.
    Unterminated { start: usize, at: usize },
    /// A control character, which must be escaped.
    Control(usize),
    /// An escape JSON does not have (or a `\u` without four hex digits).
    BadEscape(usize),
    /// A `\u` escape of half a surrogate pair.
    LoneSurrogate(usize),
}

/// Checks the string whose opening quote is at `start` of `doc` (a document's text, cut at its
/// end) without building it: where it ends, and whether it has escapes.
#[inline]
fn scan_string(doc: &[u8], start: usize) -> Result<(usize, bool), StringFault> {
    let mut i = start + 1;
    let mut escaped = false;
    loop {
        i = special_from(doc, i);
        match doc.get(i) {
            Some(b'"') => return Ok((i + 1, escaped)),
            Some(b'\\') => {
                escaped = true;
                match doc.get(i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                    Some(b'u') => i += unicode_escape(doc, i)?.1,
                    _ => return Err(StringFault::BadEscape(i)),
                }
            }
            Some(0..0x20) => return Err(StringFault::Control(i)),
            Some(_) => i += 1,
            None => return Err(StringFault::Unterminated { start, at: i }),
        }
    }
}

/// Reads the `\uXXXX` escape at `at` of `doc` (and its low surrogate, if it is a high one): the
/// character and how many bytes the escape takes.
fn unicode_escape(doc: &[u8], at: usize) -> Result<(char, usize), StringFault> {
    let hex4 = |from: usize| {
        let digits = doc.get(from..from + 4)?;
        digits.iter().try_fold(0, |value, &d| {
            Some(value * 16 + char::from(d).to_digit(16)?)
        })
    };
    let first = hex4(at + 2).ok_or(StringFault::BadEscape(at))?;
    match first {
        0xD800..0xDC00 => {
            let low = if doc.get(at + 6..at + 8) == Some(b"\\u") {
                hex4(at + 8)
            } else {
                None
            };
            match low {
                Some(low @ 0xDC00..0xE000) => {
                    let code = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00);
                    char::from_u32(code)
                        .map(|c| (c, 12))
                        .ok_or(StringFault::LoneSurrogate(at))
                }
                _ => Err(StringFault::LoneSurrogate(at)),
            }
        }
        0xDC00..0xE000 => Err(StringFault::LoneSurrogate(at)),
        code => char::from_u32(code)
            .map(|c| (c, 6))
            .ok_or(StringFault::BadEscape(at)),
    }
}

/// The byte at `i` of `doc`.
#[inline]
fn byte_at(doc: &str, i: usize) -> Option<u8> {
    doc.as_bytes().get(i).copied()
}

/// The first place at or after `i` in `doc` that is not a blank within a line (a space, a tab
/// or a CR: an LF ends a JSON Lines line).
#[inline]
fn past_blanks(doc: &str, mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\r') = doc.as_bytes().get(i) {
        i += 1;
    }
    i
}

/// A key's hash, for the duplicate check of skipped objects.
fn hash_key(bytes: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0).hash_one(bytes)
}

impl super::RecordReader for JsonRecords {
    fn give_back(&mut self, root: Node) {
        self.spare = Some(root);
    }
}

impl Iterator for JsonRecords {
    type Item = Result<Record, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            // A JSON Lines line is all or nothing: its records wait until the line has parsed.
            if !self.lines || self.state == State::Start || self.done {
                if let Some(result) = self.builder.out.pop_front() {
                    return Some(result);
                }
                if self.done {
                    return None;
                }
            }
            if self.state == State::Start {
                // Most lines are read whole: their records go out without the queue.
                if let Some(record) = self.start_document() {
                    return Some(Ok(record));
                }
                continue;
            }
            if let Err(error) = self.step() {
                self.fail(*error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::data::Limits;
    use crate::data::test_support::*;
    use crate::source::SourceFile;

    fn read_with(
        text: &str,
        lines: bool,
        options: LoadOptions,
    ) -> (Source, Vec<Result<Record, DataError>>) {
        let source = SourceFile::new(if lines { "test.jsonl" } else { "test.json" }, text);
        let results = JsonRecords::new(source.clone(), options, lines).collect();
        (source, results)
    }

    fn read(text: &str) -> (Source, Vec<Result<Record, DataError>>) {
        read_with(text, false, LoadOptions::default())
    }

    fn read_lines(text: &str) -> (Source, Vec<Result<Record, DataError>>) {
        read_with(text, true, LoadOptions::default())
    }

    #[test]
    fn a_line_read_whole_ends_at_its_lf() {
        // A line is read whole without looking for its end first: an LF inside an object,
        // a string or after a number still ends the line, as the general reader has it.
        let texts = [
            "{\"id\": 1,\n\"a\": 2}\n{\"id\": 2}\n",
            "{\"id\": 1, \"a\": \"x\ny\"}\n{\"id\": 2}\n",
            "{\"id\": 1}\r\n{\"id\": 2}\t\r\n\n{\"id\": 3} \r",
            "{\"id\": 1, \"a\": 2\n}\n",
            "{\"id\": 1}\r{\"id\": 2}\n",
            "{\"id\": 1, \"a\": [1,\n2]}\n",
        ];
        for text in texts {
            let source = SourceFile::new("test.jsonl", text);
            let whole: Vec<_> = JsonRecords::new(source.clone(), LoadOptions::default(), true)
                .map(|r| format!("{r:?}"))
                .collect();
            let mut general = JsonRecords::new(source, LoadOptions::default(), true);
            general.whole_lines = false;
            let general: Vec<_> = general.map(|r| format!("{r:?}")).collect();
            assert_eq!(whole, general, "{text:?}");
        }
    }

    #[test]
    fn lines_of_one_shape_are_read_as_each_line_alone_is() {
        // Each line is read after lines whose keys it shares, in part, in another order, or
        // spelt with an escape, or with a key twice: what a reader that starts afresh at
        // each line gives.
        let lines = [
            r#"{"id": 1, "vendor": "DJI", "buyer": {"unit": "U1", "branch": "Army"}}"#,
            r#"{"id": 2, "vendor": "DJI", "buyer": {"unit": "U2", "branch": "Navy"}}"#,
            r#"{"id": 3, "vendor": "DJI"}"#,
            r#"{"id": 4, "vendor": "DJI", "buyer": {"unit": "U4"}, "amount": 5}"#,
            r#"{"id": 4, "vendor": "DJI", "buyer": {"unit": "U4"}, "amount": 5, "id": 1}"#,
            r#"{"vendor": "DJI", "id": 5}"#,
            r#"{"id": 6, "vendor": "DJI", "id": 7}"#,
            r#"{"id": 8, "vend\u006fr": "DJI"}"#,
            r#"{"id": 9, "vendor": "DJI", "vendor": "Autel"}"#,
            r#"{"id": 10, "vendorx": "DJI"}"#,
            r#"{"id": 11, "vendo": "DJI"}"#,
            r#"{"id": 12, "buyer": {"unit": "U1", "unit": "U2"}}"#,
            r#"{"id": 13, "vendor": "DJI", "buyer": {"unit": "U1", "branch": "Army"}}"#,
        ];
        for options in [
            LoadOptions::default(),
            reading("deny when buyer.unit exists\n"),
        ] {
            let text = lines.join("\n");
            let (_, together) = read_with(&text, true, options.clone());
            // What a result is, without the text it was read from and its index.
            let shown = |r: &Result<Record, DataError>| match r {
                Ok(record) => format!("{:?}", record.root),
                Err(e) => format!("{:?} {} {:?}", e.code, e.message, e.span),
            };
            assert_eq!(together.len(), lines.len());
            for (i, result) in together.iter().enumerate() {
                // The line at the same place, the lines around it blanked out.
                let blanked: Vec<String> = lines
                    .iter()
                    .enumerate()
                    .map(|(j, l)| {
                        if j == i {
                            l.to_string()
                        } else {
                            " ".repeat(l.len())
                        }
                    })
                    .collect();
                let (_, alone) = read_with(&blanked.join("\n"), true, options.clone());
                assert_eq!(shown(result), shown(&alone[0]), "line {}", i + 1);
            }
            let errors: Vec<usize> = together
                .iter()
                .enumerate()
                .filter(|(_, r)| r.is_err())
                .map(|(i, _)| i + 1)
                .collect();
            assert_eq!(errors, [5, 7, 9, 12]);
        }
    }

    /// A JSON Lines record knows its line, and a place in it is where counting lines puts it:
    /// after a byte order mark, blank lines and lines with multi-byte characters, by the
    /// general reader and the whole-line one; with a CR in the text the reader leaves it to
    /// counting (a lone CR ends a line there).
    #[test]
    fn a_json_lines_record_knows_its_line() {
        let text = "\u{feff}{\"id\": \"é-1\", \"n\": 1}\n\n  {\"id\": \"ü\", \"n\": [1, {\"k\": 2}]}\n{\"id\": 3, \"id2\": \"→\"}\n\n{\"a\": {\"a\": 1}, \"a\": 2}\n";
        let (source, results) = read_lines(text);
        let records: Vec<&Record> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(records.len(), 3, "{results:?}");
        for record in &records {
            let (line, start) = record.line.expect("a JSON Lines record knows its line");
            assert_eq!(source.line_col(start).0, line);
            let span = record.root.span;
            for offset in span.start..=span.end {
                if text.is_char_boundary(offset) {
                    assert_eq!(
                        record.line_col(offset),
                        source.line_col(offset),
                        "offset {offset}"
                    );
                }
            }
        }
        let (_, results) = read_lines("{\"a\": 1}\r\n{\"a\": 2}\r\n");
        assert!(
            results
                .iter()
                .all(|r| r.as_ref().is_ok_and(|r| r.line.is_none()))
        );
    }

    #[test]
    fn an_object_is_one_record_with_spans() {
        let (source, results) = read(
            "{\n  \"id\": \"N-1\",\n  \"amount\": 49350.00,\n  \"ok\": true,\n  \"none\": null,\n  \"tags\": [\"a\", {\"b\": false}]\n}\n",
        );
        assert_eq!(results.len(), 1);
        let record = ok(&results[0]);
        assert_eq!(record.index, 0);
        assert_eq!(source.slice(record.root.span).chars().next(), Some('{'));
        assert_eq!(source.slice(record.root.span).chars().last(), Some('}'));
        let id = get(&record.root, "id");
        assert_eq!(string(id), "N-1");
        assert_eq!(source.slice(id.span), "\"N-1\"");
        assert_eq!(source.line_col(id.span.start), (2, 9));
        let amount = number(get(&record.root, "amount"));
        assert_eq!(amount.to_string(), "49350.00");
        assert_eq!(amount.scale(), 2);
        assert_eq!(get(&record.root, "ok").value, Value::Bool(true));
        assert_eq!(get(&record.root, "none").value, Value::Null);
        let tags = get(&record.root, "tags");
        assert_eq!(source.slice(tags.span), "[\"a\", {\"b\": false}]");
        let Value::Map(map) = &record.root.value else {
            panic!()
        };
        assert_eq!(
            source.slice(map.entry("tags").unwrap().key_span),
            "\"tags\""
        );
    }

    #[test]
    fn an_array_holds_records_and_a_bad_element_is_skipped() {
        let (source, results) = read("[{\"id\": 1}, \"oops\", {\"id\": 3}, [], null]");
        assert_eq!(results.len(), 5);
        assert_eq!(ok(&results[0]).index, 0);
        let error = err(&results[1]);
        assert_eq!(error.code, Code::DataNotARecord);
        assert_eq!(error.message, "a record must be a mapping, found a string");
        assert_eq!(source.slice(error.span), "\"oops\"");
        assert_eq!(ok(&results[2]).index, 2);
        assert_eq!(
            err(&results[3]).message,
            "a record must be a mapping, found a list"
        );
        assert_eq!(
            err(&results[4]).message,
            "a record must be a mapping, found null"
        );
        let (_, results) = read("42");
        assert_eq!(err(&results[0]).code, Code::DataNotARecord);
        let (_, results) = read("null");
        assert!(results.is_empty());
    }

    #[test]
    fn the_fpds_feed_gives_ten_records_with_records_entry() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/fpds/fpds-feed-2021-04.json"
        ))
        .unwrap();
        let (source, results) = read_with(&text, false, records_path("entry"));
        assert_eq!(results.len(), 10);
        for (i, result) in results.iter().enumerate() {
            let record = ok(result);
            assert_eq!(record.index, i);
            let award = get(get(&record.root, "content"), "award");
            let amount = get(get(award, "dollarValues"), "obligatedAmount");
            assert!(crate::value::parse_data_number(string(amount)).is_some());
            assert!(source.slice(amount.span).starts_with('"'));
        }
        let first = get(
            get(
                get(get(&ok(&results[0]).root, "content"), "award"),
                "dollarValues",
            ),
            "obligatedAmount",
        );
        assert_eq!(string(first), "389838.00");
        // Without --records the feed is one record.
        let (_, results) = read(&text);
        assert_eq!(results.len(), 1);
        assert!(results[0].is_ok());
        // A feed with one entry gives it as a mapping, not a list.
        let (_, results) = read_with(
            "{\"title\": \"x\", \"entry\": {\"id\": 1}}",
            false,
            records_path("entry"),
        );
        assert_eq!(results.len(), 1);
        assert_eq!(number(get(&ok(&results[0]).root, "id")), Decimal::from(1));
        let (_, results) = read_with("{\"title\": \"x\"}", false, records_path("entry"));
        assert_eq!(err(&results[0]).code, Code::DataNoRecordsList);
    }

    /// The first `"`, `\` or control character, found a word at a time, is the one a byte by
    /// byte search finds, wherever it lies and wherever the document ends.
    #[test]
    fn special_bytes_are_found_as_one_by_one() {
        for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
            for len in 0..20 {
                for at in 0..=len {
                    let mut bytes = vec![b'x'; len];
                    bytes.extend_from_slice("é ~\u{7f}".as_bytes());
                    // At `len`: no special byte before the tail (which holds none).
                    if let Some(b) = bytes.get_mut(at).filter(|_| at < len) {
                        *b = special;
                    }
                    let text = String::from_utf8(bytes.clone()).unwrap();
                    let mut records = JsonRecords::new(
                        SourceFile::new("t.json", text),
                        LoadOptions::default(),
                        false,
                    );
                    for end in 0..=bytes.len() {
                        records.end = end;
                        for from in 0..=end {
                            let expected = (from..end)
                                .find(|&i| matches!(bytes[i], b'"' | b'\\' | 0..0x20))
                                .unwrap_or(end);
                            assert_eq!(
                                records.next_special(from),
                                expected,
                                "{bytes:?} {from}..{end}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn strings_unescape_including_surrogate_pairs() {
        let (_, results) = read(
            r#"{"a": "smile \uD83D\uDE00!", "b": "tab\tquote\" back\\ slash\/ \u00e9\u4e2d", "c": "", "d": "naïve"}"#,
        );
        let root = &ok(&results[0]).root;
        assert_eq!(string(get(root, "a")), "smile 😀!");
        assert_eq!(string(get(root, "b")), "tab\tquote\" back\\ slash/ é中");
        assert_eq!(string(get(root, "c")), "");
        assert_eq!(string(get(root, "d")), "naïve");

        for (text, part) in [
            (r#"{"a": "\uD83D"}"#, "\\uD83D"),
            (r#"{"a": "\uD83Dx"}"#, "\\uD83D"),
            (r#"{"a": "\uDE00"}"#, "\\uDE00"),
            (r#"{"a": "\uD83D\u0041"}"#, "\\uD83D"),
        ] {
            let (source, results) = read(text);
            let error = err(&results[0]);
            assert_eq!(error.code, Code::DataJsonSyntax, "{text}");
            assert_eq!(source.slice(error.span), part);
            assert!(error.message.contains("surrogate"), "{}", error.message);
        }
        let (source, results) = read(r#"{"a": "bad \q"}"#);
        let error = err(&results[0]);
        assert_eq!(error.message, "invalid escape `\\q` in a string");
        assert_eq!(source.slice(error.span), "\\q");
        let (_, results) = read(r#"{"a": "\u12G4"}"#);
        assert_eq!(err(&results[0]).code, Code::DataJsonSyntax);
        let (_, results) = read("{\"a\": \"line\nbreak\"}");
        assert!(
            err(&results[0])
                .message
                .contains("control character U+000A")
        );
    }

    #[test]
    fn numbers_are_exact_and_strict() {
        let (source, results) = read(
            r#"[{"a": 0, "b": -12.50, "c": 1e2, "d": 2.5E-3, "e": 123456789012345678901234567890123, "f": 1e400, "g": -0}]"#,
        );
        let root = &ok(&results[0]).root;
        assert_eq!(number(get(root, "a")), Decimal::ZERO);
        assert_eq!(number(get(root, "b")).to_string(), "-12.50");
        assert_eq!(number(get(root, "c")), Decimal::from(100));
        assert_eq!(number(get(root, "d")).to_string(), "0.0025");
        assert_eq!(string(get(root, "e")), "123456789012345678901234567890123");
        assert_eq!(string(get(root, "f")), "1e400");
        assert_eq!(source.slice(get(root, "f").span), "1e400");
        assert_eq!(number(get(root, "g")), Decimal::ZERO);

        for (text, message) in [
            ("[01]", "a JSON number cannot have leading zeros"),
            (
                "[1.]",
                "expected a digit after the decimal point, found `]`",
            ),
            ("[-]", "expected a digit after `-`, found `]`"),
            ("[1e]", "expected a digit in the exponent, found `]`"),
            ("[.5]", "expected a value, found `.5`"),
            ("[+1]", "expected a value, found `+1`"),
            ("[NaN]", "expected a value, found `NaN`"),
        ] {
            let (_, results) = read(text);
            let error = err(results.last().unwrap());
            assert_eq!(error.code, Code::DataJsonSyntax, "{text}");
            assert_eq!(error.message, message, "{text}");
        }
    }

    /// Options that build only what `policy` reads (and `id`).
    fn reading(policy: &str) -> LoadOptions {
        let source = SourceFile::new("p.policy", policy);
        let program = crate::check::check_sources(&[source]).expect("the policy compiles");
        let projection = program
            .projection(&[&[crate::compile::Segment::Key("id".into())]])
            .expect("a projection");
        LoadOptions {
            projection: Some(std::sync::Arc::new(projection)),
            ..LoadOptions::default()
        }
    }

    #[test]
    fn unread_fields_keep_their_key_with_null() {
        let options = reading("deny when tender.status == cancelled\n");
        let text = r#"{"id": 1, "parties": [{"id": "a", "n": 1.5e3}], "tender": {"status": "cancelled", "items": {"x": [true, null]}}}"#;
        let (source, results) = read_with(text, false, options);
        let record = ok(&results[0]);
        let Value::Map(root) = &record.root.value else {
            panic!("a mapping")
        };
        let parties = root.get("parties").expect("the key stays");
        assert_eq!(parties.value, Value::Null);
        assert_eq!(source.slice(parties.span), r#"[{"id": "a", "n": 1.5e3}]"#);
        let Some(crate::value::Node {
            value: Value::Map(tender),
            ..
        }) = root.get("tender")
        else {
            panic!("tender is read")
        };
        assert_eq!(
            tender.get("status").map(|n| &n.value),
            Some(&Value::String("cancelled".into()))
        );
        assert_eq!(tender.get("items").map(|n| &n.value), Some(&Value::Null));
        assert_eq!(
            root.get("id").map(|n| &n.value),
            Some(&Value::Number(1.into()))
        );
    }

    #[test]
    fn unread_fields_are_checked_as_read_ones_are() {
        let options = || reading("deny when vendor == DJI\n");
        // The same errors, read or not: syntax, escapes, control characters, numbers.
        for bad in [
            r#"{"vendor": "DJI", "x": {"a": 1,}}"#,
            r#"{"vendor": "DJI", "x": ["a\q"]}"#,
            r#"{"vendor": "DJI", "x": {"a": "\ud800"}}"#,
            "{\"vendor\": \"DJI\", \"x\": \"a\u{1}b\"}",
            r#"{"vendor": "DJI", "x": [01]}"#,
            r#"{"vendor": "DJI", "x": [1.]}"#,
            r#"{"vendor": "DJI", "x": [True]}"#,
            r#"{"vendor": "DJI", "x": {"a" 1}}"#,
            r#"{"vendor": "DJI", "x": [1, 2"#,
        ] {
            let (_, all) = read_with(bad, false, LoadOptions::default());
            let (_, skipped) = read_with(bad, false, options());
            let (all, skipped) = (err(&all[0]), err(&skipped[0]));
            assert_eq!((all.code, all.span), (skipped.code, skipped.span), "{bad}");
            assert_eq!(all.message, skipped.message, "{bad}");
        }
    }

    #[test]
    fn duplicate_keys_in_unread_fields_are_errors() {
        let options = || reading("deny when vendor == DJI\n");
        let text = r#"[{"vendor": "DJI", "x": [{"a": 1, "b": {"c": 2}, "\u0061": 3}]}, {"vendor": "DJI", "x": {"a": {"k": 1}, "b": {"k": 2}}}]"#;
        let (source, results) = read_with(text, false, options());
        let error = err(&results[0]);
        assert_eq!(error.code, Code::DataDuplicateKey);
        assert_eq!(source.slice(error.span), r#""\u0061""#);
        assert_eq!(error.related.map(|s| source.slice(s)), Some(r#""a""#));
        // Keys of different objects do not clash.
        assert!(results[1].is_ok());
        // A large object is checked through its index.
        let keys: Vec<String> = (0..200).map(|i| format!("\"k{i}\": {i}")).collect();
        let text = format!(
            r#"{{"vendor": "DJI", "x": {{{}, "k150": 0}}}}"#,
            keys.join(", ")
        );
        let (source, results) = read_with(&text, false, options());
        let error = err(&results[0]);
        assert_eq!(error.code, Code::DataDuplicateKey);
        assert_eq!(error.related.map(|s| source.slice(s)), Some(r#""k150""#));
        let text = format!(r#"{{"vendor": "DJI", "x": {{{}}}}}"#, keys.join(", "));
        let (_, results) = read_with(&text, false, options());
        assert!(results[0].is_ok());
    }

    #[test]
    fn limits_hold_in_unread_fields() {
        let limits = Limits {
            max_depth: 3,
            max_scalar_bytes: 8,
            ..Limits::default()
        };
        let options = || LoadOptions {
            limits,
            ..reading("deny when vendor == DJI\n")
        };
        let (_, results) = read_with(r#"{"vendor": "DJI", "x": {"b": [[1]]}}"#, false, options());
        assert_eq!(err(&results[0]).code, Code::DataTooDeep);
        let (_, results) = read_with(
            r#"{"vendor": "DJI", "x": ["a long string"]}"#,
            false,
            options(),
        );
        assert_eq!(err(&results[0]).code, Code::DataScalarTooLarge);
        let (_, results) = read_with(
            r#"{"vendor": "DJI", "x": {"a long key": 1}}"#,
            false,
            options(),
        );
        assert_eq!(err(&results[0]).code, Code::DataScalarTooLarge);
        let (_, results) = read_with(r#"{"vendor": "DJI", "x": {"b": [1]}}"#, false, options());
        assert!(results[0].is_ok());
    }

    #[test]
    fn records_under_a_path_are_read_as_the_rules_read_them() {
        let options = LoadOptions {
            records_path: Some(vec!["data".into(), "items".into()]),
            ..reading("deny when vendor == DJI\n")
        };
        let text = r#"{"meta": {"n": 2, "k": [1]}, "data": {"items": [{"id": 1, "vendor": "DJI", "x": {"y": 1}}, {"id": 2, "vendor": "Autel", "x": [{"a": 1, "a": 2}]}]}}"#;
        let (_, results) = read_with(text, false, options);
        assert_eq!(results.len(), 2);
        let Value::Map(first) = &ok(&results[0]).root.value else {
            panic!("a mapping")
        };
        assert_eq!(first.get("x").map(|n| &n.value), Some(&Value::Null));
        assert_eq!(
            first.get("vendor").map(|n| &n.value),
            Some(&Value::String("DJI".into()))
        );
        // The duplicate key in the second record's unread field still fails that record.
        assert_eq!(err(&results[1]).code, Code::DataDuplicateKey);
    }

    #[test]
    fn a_bad_json_line_in_an_unread_field_fails_alone() {
        let text =
            "{\"vendor\": \"DJI\", \"x\": [1,]}\n{\"vendor\": \"DJI\", \"x\": {\"a\": [2]}}\n";
        let (_, results) = read_with(text, true, reading("deny when vendor == DJI\n"));
        assert_eq!(results.len(), 2);
        assert_eq!(err(&results[0]).code, Code::DataJsonSyntax);
        assert!(results[1].is_ok());
    }

    mod skipping {
        use proptest::prelude::*;

        use super::*;
        use crate::compile::projection::project;

        /// A JSON value over a few keys, so that policies and duplicates meet them.
        fn json() -> impl Strategy<Value = String> {
            let key = prop::sample::select(vec!["a", "b", "c", "\\u0061", "d"]);
            let leaf = prop_oneof![
                Just("null".to_string()),
                Just("true".to_string()),
                (-1000i64..1000).prop_map(|n| n.to_string()),
                Just("1.5e3".to_string()),
                Just("\"x}\\\"y\"".to_string()),
                Just("\"\\ud83d\\ude00\"".to_string()),
                Just("\"a\\\\\"".to_string()),
                Just("\"t\\tab\\/\\n\"".to_string()),
                // Malformed now and then.
                Just("\"\\ud800\"".to_string()),
                Just("\"a\tb\"".to_string()),
                Just("01".to_string()),
                Just("\"a\\q\"".to_string()),
            ];
            leaf.prop_recursive(4, 32, 4, move |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4)
                        .prop_map(|v| format!("[{}]", v.join(","))),
                    prop::collection::vec((key.clone(), inner), 0..4).prop_map(|v| {
                        let entries: Vec<String> = v
                            .into_iter()
                            .map(|(k, v)| format!("\"{k}\": {v}"))
                            .collect();
                        format!("{{{}}}", entries.join(", "))
                    }),
                ]
            })
        }

        fn policy() -> impl Strategy<Value = String> {
            let path = prop::sample::select(vec!["a", "b", "a.b", "b.c.a", "c.a", "d"]);
            prop::collection::vec(path, 1..3).prop_map(|paths| {
                let conditions: Vec<String> = paths.iter().map(|p| format!("{p} exists")).collect();
                format!("deny when {}\n", conditions.join(" and "))
            })
        }

        /// A record too wide for `JsonRecords::whole_line` (more keys than it compares one by
        /// one), read and unread, with and without a key twice: the general reader's records
        /// and errors.
        #[test]
        fn wide_records_are_read_as_the_general_reader_reads_them() {
            let wide = |n: usize, again: &str| {
                let inner: Vec<String> = (0..n).map(|i| format!("\"k{i}\": {i}")).collect();
                format!(
                    "{{\"id\": 1, \"a\": {{{}{again}}}, \"x\": {{{}{again}}}}}\n",
                    inner.join(", "),
                    inner.join(", ")
                )
            };
            let text = [
                wide(5, ""),
                wide(40, ""),
                wide(40, ", \"k3\": 0"),
                wide(31, ", \"k0\": 1"),
            ]
            .concat();
            for options in [LoadOptions::default(), reading("deny when a exists\n")] {
                let source = SourceFile::new("test.jsonl", text.as_str());
                let whole: Vec<_> =
                    JsonRecords::new(source.clone(), options.clone(), true).collect();
                let mut general = JsonRecords::new(source, options, true);
                general.whole_lines = false;
                let general: Vec<_> = general.collect();
                assert_eq!(format!("{whole:?}"), format!("{general:?}"));
                let errors: Vec<_> = whole
                    .iter()
                    .filter_map(|r| r.as_ref().err())
                    .map(|e| e.code)
                    .collect();
                assert_eq!(errors, vec![Code::DataDuplicateKey, Code::DataDuplicateKey]);
            }
        }

        /// Lines of JSON Lines: records, other values, blank lines and CRLF endings.
        fn lines() -> impl Strategy<Value = String> {
            let line = prop_oneof![
                4 => json().prop_map(|r| format!("{{\"id\": 1, \"x\": {r}, \"a\": {r}}}")),
                2 => json(),
                1 => json().prop_map(|r| format!("{{\"id\": 1, \"a\": {r}}} 2")),
                1 => Just(String::new()),
            ];
            let ending = prop::sample::select(vec!["\n", "\r\n", " \n", "\r", "\t\r\n", ""]);
            prop::collection::vec((line, ending), 1..8)
                .prop_map(|lines| lines.into_iter().map(|(l, e)| format!("{l}{e}")).collect())
        }

        proptest! {
            /// A line read whole (`JsonRecords::whole_line`) gives what the general reader
            /// gives: the same records with the same values and spans, the same errors, with or
            /// without a projection and under tight limits.
            #[test]
            fn lines_read_whole_are_read_as_the_general_reader_reads_them(
                text in lines(),
                policy in policy(),
                projected in any::<bool>(),
                tight in any::<bool>(),
            ) {
                let mut options = if projected { reading(&policy) } else { LoadOptions::default() };
                if tight {
                    options.limits.max_depth = 3;
                    options.limits.max_scalar_bytes = 6;
                }
                let source = SourceFile::new("test.jsonl", text.as_str());
                let whole: Vec<_> = JsonRecords::new(source.clone(), options.clone(), true).collect();
                let mut general = JsonRecords::new(source, options, true);
                general.whole_lines = false;
                let general: Vec<_> = general.collect();
                prop_assert_eq!(format!("{whole:?}"), format!("{general:?}"));
            }

            /// Records read into the trees of records given back, as the pipeline gives each
            /// back once it is done with it, are the records read into fresh trees: nothing of
            /// an earlier record stays in a later one.
            #[test]
            fn records_read_into_trees_given_back_are_read_as_into_fresh_ones(
                text in lines(),
                policy in policy(),
                projected in any::<bool>(),
            ) {
                let options = if projected { reading(&policy) } else { LoadOptions::default() };
                let (fresh, reused) = fresh_and_given_back(&text, &options);
                prop_assert_eq!(reused, fresh);
            }

            /// A record read with a projection is accepted or refused as the whole record is, and
            /// holds the same values wherever the projection reads.
            #[test]
            fn unread_values_change_nothing_that_is_read(
                records in prop::collection::vec(json(), 1..4),
                policy in policy(),
            ) {
                let text: String = records.iter().map(|r| format!("{{\"id\": 1, \"r\": 0, \"x\": {r}, \"a\": {r}}}\n")).collect();
                let options = reading(&policy);
                let projection = options.projection.clone().expect("a projection");
                let (_, whole) = read_with(&text, true, LoadOptions::default());
                let (_, skipped) = read_with(&text, true, options);
                prop_assert_eq!(whole.len(), skipped.len());
                for (w, s) in whole.iter().zip(&skipped) {
                    match (w, s) {
                        (Ok(w), Ok(s)) => {
                            let root = projection.root();
                            prop_assert_eq!(project(&w.root, &projection, root), project(&s.root, &projection, root));
                        }
                        (Err(w), Err(s)) => {
                            prop_assert_eq!(w.code, s.code);
                            prop_assert_eq!(w.span, s.span);
                        }
                        (w, s) => prop_assert!(false, "{w:?} against {s:?}"),
                    }
                }
            }
        }
    }

    /// Each record's results read afresh, and read into the trees of the records before it,
    /// given back one by one.
    fn fresh_and_given_back(text: &str, options: &LoadOptions) -> (Vec<String>, Vec<String>) {
        use crate::data::RecordReader;
        let source = SourceFile::new("test.jsonl", text);
        let fresh = JsonRecords::new(source.clone(), options.clone(), true)
            .map(|result| format!("{result:?}"))
            .collect();
        let mut reader = JsonRecords::new(source, options.clone(), true);
        let mut reused = Vec::new();
        while let Some(result) = reader.next() {
            reused.push(format!("{result:?}"));
            if let Ok(record) = result {
                reader.give_back(record.root);
            }
        }
        (fresh, reused)
    }

    #[test]
    fn objects_under_different_keys_keep_a_shape_each() {
        // `buyer` and `exemption` sit at one depth and nothing reads either: under one shape
        // they would take turns replacing its keys, and every key would be looked up afresh.
        let line = r#"{"id": 1, "buyer": {"branch": "Army", "unit": "U1"}, "exemption": {"kind": "urgent"}}"#;
        let text = format!("{line}\n{line}\n");
        let source = SourceFile::new("test.jsonl", text.as_str());
        let mut reader = JsonRecords::new(source, reading("deny when id exists\n"), true);
        assert_eq!(reader.by_ref().filter(Result::is_ok).count(), 2);
        let nested: Vec<Vec<&str>> = reader
            .shapes
            .iter()
            .filter(|shape| shape.at.depth == 1)
            .map(|shape| shape.keys.iter().map(|k| k.text.as_str()).collect())
            .collect();
        assert_eq!(nested, [vec!["branch", "unit"], vec!["kind"]]);
    }

    #[test]
    fn a_tree_given_back_keeps_nothing_of_its_record() {
        // The elements of a list share one shape, which the second element leaves as `u, k`.
        // The next record's first element is read into the first element before it, keyed
        // `k, u`: its key `u` is written over `k`, and the number read there must not stay as
        // the value of `u`, which nothing reads.
        let text = "{\"id\": 1, \"items\": [{\"k\": 1, \"u\": 5}, {\"u\": 6, \"k\": 2}]}\n\
                    {\"id\": 2, \"items\": [{\"u\": 7, \"k\": 3}]}\n";
        let (fresh, reused) = fresh_and_given_back(text, &reading("deny when items.k exists\n"));
        assert_eq!(fresh.len(), 2);
        assert!(fresh[1].contains("Number(3)"), "{}", fresh[1]);
        assert_eq!(reused, fresh);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let (source, results) =
            read(r#"[{"id": 1, "vendor": "DJI", "vendor": "Autel"}, {"id": 2}]"#);
        let error = err(&results[0]);
        assert_eq!(error.code, Code::DataDuplicateKey);
        assert_eq!(source.slice(error.span), "\"vendor\"");
        assert_eq!(error.span.start, 28);
        assert_eq!(error.related.map(|s| s.start), Some(11));
        assert!(results[1].is_ok());
    }

    #[test]
    fn syntax_errors_say_what_was_expected_and_found() {
        for (text, message, at) in [
            (
                r#"{"a": 1,}"#,
                "expected a key in double quotes, found `}`",
                8,
            ),
            ("[1 2]", "expected `,` or `]`, found `2`", 3),
            (r#"{"a" 1}"#, "expected `:` after the key, found `1`", 5),
            (
                r#"{"a": 1"#,
                "expected `,` or `}`, found the end of the file",
                7,
            ),
            ("[1,]", "expected a value, found `]`", 3),
            ("{'a': 1}", "expected a key in double quotes, found `'`", 1),
            (
                "{1: 1}",
                "expected a key in double quotes or `}`, found `1`",
                1,
            ),
            ("{\"a\": tru}", "expected a value, found `tru`", 6),
            ("", "expected a value, found the end of the file", 0),
            ("{} {}", "expected the end of the file, found `{`", 3),
            (
                r#"{"a": "open"#,
                "expected `\"` to close the string, found the end of the file",
                11,
            ),
        ] {
            let (_, results) = read(text);
            let error = err(results.last().unwrap());
            assert_eq!(error.code, Code::DataJsonSyntax, "{text}");
            assert_eq!(error.message, message, "{text}");
            assert_eq!(error.span.start, at, "{text}");
        }
        let (_, results) = read("[1,]");
        assert!(
            err(results.last().unwrap())
                .help
                .as_deref()
                .is_some_and(|h| h.contains("comma"))
        );
        // The records before an error are handed out, then the file ends.
        let (_, results) = read(r#"[{"id": 1}, {"id": 2}, {"id": }]"#);
        assert_eq!(results.len(), 3);
        assert!(results[0].is_ok() && results[1].is_ok());
        assert_eq!(err(&results[2]).code, Code::DataJsonSyntax);
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing() {
        let text = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
        let (_, results) = read(&text);
        assert_eq!(results.len(), 1);
        let error = err(&results[0]);
        assert_eq!(error.code, Code::DataTooDeep);
        assert_eq!(error.span, Span::new(128, 129));
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        let (_, results) = read_with(
            r#"{"a": {"b": [1]}}"#,
            false,
            LoadOptions {
                limits,
                ..LoadOptions::default()
            },
        );
        assert!(results[0].is_ok());
        let (_, results) = read_with(
            r#"{"a": {"b": [[1]]}}"#,
            false,
            LoadOptions {
                limits,
                ..LoadOptions::default()
            },
        );
        assert_eq!(err(&results[0]).code, Code::DataTooDeep);
    }

    #[test]
    fn a_byte_order_mark_is_allowed() {
        let (source, results) = read("\u{feff}{\"a\": \"b\"}");
        let root = &ok(&results[0]).root;
        assert_eq!(source.slice(get(root, "a").span), "\"b\"");
    }

    #[test]
    fn json_lines_read_each_line_on_its_own() {
        let text = "{\"id\": 1}\n\n{\"id\": 2, oops}\r\n  \r\n{\"id\": 3}\r\n[{\"id\": 4}, {\"id\": 5}]\n\"text\"\n{\"id\": 6, \"id\": 7}\n{\"id\": 8}";
        let (source, results) = read_lines(text);
        assert_eq!(results.len(), 7);
        assert_eq!(ok(&results[0]).index, 0);
        let error = err(&results[1]);
        assert_eq!(error.code, Code::DataJsonSyntax);
        assert_eq!(
            error.message,
            "expected a key in double quotes, found `oops`"
        );
        assert_eq!(source.line_col(error.span.start), (3, 11));
        let third = ok(&results[2]);
        assert_eq!(third.index, 2);
        assert_eq!(number(get(&third.root, "id")), Decimal::from(3));
        assert_eq!(source.line_col(third.root.span.start), (5, 1));
        assert_eq!(source.slice(third.root.span), "{\"id\": 3}");
        // One record a line: a list on a line is not a list of records.
        let list = err(&results[3]);
        assert_eq!(list.code, Code::DataNotARecord);
        assert_eq!(
            list.message,
            "a JSON Lines line holds one record, a mapping; found a list"
        );
        assert_eq!(source.line_col(list.span.start), (6, 1));
        assert_eq!(err(&results[4]).code, Code::DataNotARecord);
        assert_eq!(err(&results[5]).code, Code::DataDuplicateKey);
        let last = ok(&results[6]);
        assert_eq!(
            last.index, 6,
            "a line with a syntax error counts as a record"
        );
        assert_eq!(source.line_col(last.root.span.start), (9, 1));

        let (_, results) = read_lines("{\"a\": \"unterminated\n{\"id\": 2}\n");
        assert_eq!(
            err(&results[0]).message,
            "expected `\"` to close the string, found the end of the line"
        );
        assert!(results[1].is_ok());
        let (_, results) = read_lines("{} {}\n{}\n");
        assert_eq!(results.len(), 2);
        assert_eq!(
            err(&results[0]).message,
            "expected the end of the line, found `{`"
        );
        assert_eq!(ok(&results[1]).index, 1);
        // A bad line gives one error.
        let (_, results) = read_lines("[{\"id\": 1}, {\"id\": 2}, oops]\n{\"id\": 3}\n");
        assert_eq!(results.len(), 2);
        assert_eq!(err(&results[0]).code, Code::DataJsonSyntax);
        assert_eq!(ok(&results[1]).index, 1);
        let (_, results) = read_lines("");
        assert!(results.is_empty());
        let (_, results) = read_lines("\n\n  \n");
        assert!(results.is_empty());
    }

    #[test]
    fn json_lines_with_records_path() {
        let (_, results) = read_with(
            "{\"results\": [{\"id\": 1}, {\"id\": 2}]}\n{\"other\": 1}\n{\"results\": [{\"id\": 3}]}\n",
            true,
            records_path("results"),
        );
        assert_eq!(results.len(), 4);
        assert_eq!(ok(&results[1]).index, 1);
        assert_eq!(err(&results[2]).code, Code::DataNoRecordsList);
        assert_eq!(ok(&results[3]).index, 2);
    }

    #[test]
    fn a_deep_json_line_fails_alone() {
        let text = format!("{}\n{{\"id\": 1}}\n", "[".repeat(1000));
        let (_, results) = read_lines(&text);
        assert_eq!(results.len(), 2);
        assert_eq!(err(&results[0]).code, Code::DataTooDeep);
        assert!(results[1].is_ok());
    }
}
