//! Builds record values from a stream of parse events. Shared by the YAML and JSON readers, so
//! both find records, check keys and enforce the limits the same way.
//!
//! The builder keeps an explicit stack of open collections (no recursion, whatever the nesting)
//! and decides, as each node opens, what role it plays: a record, a list of records, a mapping on
//! the `--records` path, or plain data inside a record. A record is handed out as soon as its
//! closing event arrives, so a top-level list of a million records is never held in memory.

use crate::diagnostic::Code;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use rust_decimal::Decimal;

use super::{DataError, Limits, LoadOptions, Record};
use crate::compile::projection::{Projection, Wanted};
use crate::source::{Source, Span};
use crate::value::{Entry, Map, Node, Text, Value};

/// The error for `key` at `span`, given before at `first` in the same mapping.
pub(super) fn duplicate_key(source: &Source, key: &str, span: Span, first: Span) -> DataError {
    let error = data_error(
        source,
        Code::DataDuplicateKey,
        format!("duplicate key `{}` in one mapping", shorten(key)),
        span,
        "defined again here",
        Some("a key may appear once in a mapping: remove one of the two, or rename it".to_string()),
    );
    DataError {
        related: Some(first),
        related_label: "first defined here".to_string(),
        ..error
    }
}

/// A data error with no related span.
pub(super) fn data_error(
    source: &Source,
    code: Code,
    message: impl Into<String>,
    span: Span,
    label: impl Into<String>,
    help: Option<String>,
) -> DataError {
    DataError {
        message: message.into(),
        code,
        file: source.clone(),
        span,
        label: label.into(),
        help,
        related: None,
        related_label: String::new(),
    }
}

/// A span of one character at `offset` (empty at the end of the text).
pub(super) fn char_span(text: &str, offset: usize) -> Span {
    let len = text
        .get(offset..)
        .and_then(|rest| rest.chars().next())
        .map_or(0, char::len_utf8);
    Span::new(offset, offset + len)
}

/// A key or other user text, shortened for a message.
pub(super) fn shorten(text: &str) -> String {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or(text)),
        None => text.to_string(),
    }
}

/// The largest scale a [`Decimal`] can hold.
const MAX_SCALE: i64 = 28;

/// An exact decimal from the digits of a number already checked against a number grammar:
/// `int` and `frac` are ASCII digits (either may be empty), `exp` the decimal exponent. `None` if
/// the number does not fit a [`Decimal`] exactly (callers then keep the text as a string).
pub(super) fn decimal_from_parts(
    negative: bool,
    int: &[u8],
    frac: &[u8],
    exp: i64,
) -> Option<Decimal> {
    // The common case: at most 18 digits (no overflow of a u64 is possible) and no exponent.
    if exp == 0 && int.len() + frac.len() <= 18 {
        let mantissa = int
            .iter()
            .chain(frac)
            .fold(0u64, |m, &d| m * 10 + u64::from(d.wrapping_sub(b'0')));
        let scale = u32::try_from(frac.len()).ok()?;
        if mantissa == 0 {
            return Some(Decimal::new(0, scale));
        }
        #[allow(
            clippy::cast_possible_truncation,
            reason = "the two 32-bit halves of the mantissa"
        )]
        let (lo, mid) = (mantissa as u32, (mantissa >> 32) as u32);
        return Some(Decimal::from_parts(lo, mid, 0, negative, scale));
    }
    decimal_from_any_parts(negative, int, frac, exp)
}

/// [`decimal_from_parts`] for any number of digits and any exponent.
fn decimal_from_any_parts(negative: bool, int: &[u8], frac: &[u8], exp: i64) -> Option<Decimal> {
    let mut mantissa: u128 = 0;
    for &d in int.iter().chain(frac) {
        mantissa = mantissa
            .checked_mul(10)?
            .checked_add(u128::from(d.wrapping_sub(b'0')))?;
    }
    let frac_len = i64::try_from(frac.len()).ok()?;
    let mut scale = frac_len.checked_sub(exp)?;
    if mantissa == 0 {
        let scale = u32::try_from(scale.clamp(0, MAX_SCALE)).ok()?;
        return Some(Decimal::new(0, scale));
    }
    // Trailing zeros beyond what a Decimal can hold change nothing: drop them.
    while scale > MAX_SCALE && mantissa.is_multiple_of(10) {
        mantissa /= 10;
        scale -= 1;
    }
    if scale > MAX_SCALE {
        return None;
    }
    if scale < 0 {
        let power = u32::try_from(scale.checked_neg()?).ok()?;
        if power > 38 {
            return None;
        }
        mantissa = mantissa.checked_mul(10u128.checked_pow(power)?)?;
        scale = 0;
    }
    let magnitude = i128::try_from(mantissa).ok()?;
    let signed = if negative { -magnitude } else { magnitude };
    Decimal::try_from_i128_with_scale(signed, u32::try_from(scale).ok()?).ok()
}

/// An exponent's digits as a number, saturating far beyond any exponent a Decimal can use.
pub(super) fn exponent(negative: bool, digits: &[u8]) -> i64 {
    let mut value: i64 = 0;
    for &d in digits {
        value = (value * 10 + i64::from(d.wrapping_sub(b'0'))).min(1_000_000_000);
    }
    if negative { -value } else { value }
}

/// What a node turned out to be, for deciding its role.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Map,
    Seq,
    /// A scalar, with its type name ("null", "a string", …).
    Scalar(&'static str),
}

impl Kind {
    fn of(value: &Value) -> Kind {
        match value {
            Value::Map(_) => Kind::Map,
            Value::List(_) => Kind::Seq,
            other => Kind::Scalar(other.type_name()),
        }
    }
}

/// The part a node plays.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    /// Data: built and handed to its parent.
    Plain,
    /// A record: handed out when complete.
    Record,
    /// In the place of a record but not a mapping: an error when complete.
    NotRecord,
    /// A list whose elements are records; the elements are not kept.
    List,
    /// A mapping on the `--records` path, having matched this many of its names.
    Path(usize),
    /// Neither data nor records (a null document, a document beside the `--records` path).
    Ignore,
}

/// An open mapping. Its entries sit on the builder's entry stack from `first` on, and move to a
/// vector of the exact size when it closes (one allocation a mapping, no regrowth).
struct MapBody {
    first: usize,
    /// The key whose value is being read.
    pending: Option<PendingKey>,
    /// Key positions (in the entry stack), once the mapping is large enough that a linear search
    /// would cost.
    index: Option<HashMap<Text, usize>>,
}

/// Mappings with more keys than this get a hash index for the duplicate check.
const INDEX_FROM: usize = 16;

impl MapBody {
    fn find(&self, entries: &[Entry], key: &str) -> Option<Span> {
        match &self.index {
            Some(index) => index
                .get(key)
                .and_then(|&i| entries.get(i))
                .map(|e| e.key_span),
            None => entries
                .get(self.first..)?
                .iter()
                .find(|e| crate::value::same_key(&e.key, key))
                .map(|e| e.key_span),
        }
    }

    fn push(&mut self, entries: &mut Vec<Entry>, entry: Entry) {
        if let Some(index) = &mut self.index {
            index.insert(entry.key.clone(), entries.len());
        } else if entries.len().saturating_sub(self.first) >= INDEX_FROM {
            let mine = entries.get(self.first..).unwrap_or(&[]);
            let mut index: HashMap<Text, usize> = mine
                .iter()
                .enumerate()
                .map(|(i, e)| (e.key.clone(), self.first + i))
                .collect();
            index.insert(entry.key.clone(), entries.len());
            self.index = Some(index);
        }
        entries.push(entry);
    }
}

/// A key waiting for its value.
struct PendingKey {
    key: Text,
    span: Span,
    /// False for a duplicate or complex key: the value is read and dropped.
    keep: bool,
    /// The key is the next name on the `--records` path.
    on_path: bool,
    /// What is read of the value; `None` when nothing is (it is only checked).
    wanted: Option<Wanted>,
}

enum Body {
    Map(MapBody),
    /// A list: its items sit on the builder's item stack from this index on.
    Seq(usize),
}

/// An open collection.
struct Frame {
    body: Body,
    role: Role,
    start: usize,
    /// Flow collections end at their closing bracket; block ones at their last child.
    flow: bool,
    last_end: usize,
    anchor: usize,
    /// Nodes in this subtree, itself included.
    nodes: usize,
    /// The height of the tallest child (0 for scalars only).
    height: usize,
    /// The first error inside it (kept by records, and by anchored nodes for their aliases).
    error: Option<Box<DataError>>,
    /// What is read of its children.
    wanted: Wanted,
}

/// What a finished child adds to its parent's counts: its nodes, its height and its span.
struct Child {
    nodes: usize,
    height: usize,
    span: Span,
}

/// Puts a finished child into its parent: counted, and (`kept`, when it is built) pushed as a
/// list's next element or as the value of the key waiting in a mapping (a kept key whose child
/// is not built gets a null over the child's span). `false` when the parent is a mapping with no
/// key waiting: the child was written as a key.
#[inline(always)]
fn attach(
    parent: &mut Frame,
    (items, entries): (&mut Vec<Node>, &mut Vec<Entry>),
    kept: Option<Node>,
    child: Child,
) -> bool {
    parent.nodes = parent.nodes.saturating_add(child.nodes);
    parent.height = parent.height.max(child.height);
    parent.last_end = parent.last_end.max(child.span.end);
    let building = !matches!(parent.role, Role::Path(_) | Role::List);
    match &mut parent.body {
        Body::Seq(_) => {
            if let (Some(node), true) = (kept, building) {
                items.push(node);
            }
        }
        Body::Map(body) => {
            let Some(pending) = body.pending.take() else {
                return false;
            };
            if pending.keep {
                let value = match kept {
                    Some(node) if building => node,
                    _ => Node {
                        value: Value::Null,
                        span: child.span,
                    },
                };
                let entry = Entry {
                    key: pending.key,
                    key_span: pending.span,
                    value,
                };
                body.push(entries, entry);
            }
        }
    }
    true
}

/// A node as built: its value, how many nodes it holds, how deep it goes, and its first error.
/// Nodes that carry an anchor are kept so, for aliases, until the end of the document.
#[derive(Clone)]
struct BuiltNode {
    node: Node,
    nodes: usize,
    height: usize,
    error: Option<Box<DataError>>,
}

/// What is read of the value of `key` (with its [`key_print`](crate::value::key_print), when the
/// reader has it) in a mapping read as `at`, by `projection` (everything without one); `None` when
/// the value is only checked.
fn child_of(
    projection: Option<&Projection>,
    at: Wanted,
    key: &str,
    print: Option<u64>,
) -> Option<Wanted> {
    match (projection, print) {
        (None, _) => Some(Wanted::Everything),
        (Some(p), Some(print)) => p.child_printed(at, key, print),
        (Some(p), None) => p.child(at, key),
    }
}

/// Turns events into records; see the module documentation.
pub(super) struct Builder {
    source: Source,
    /// The line the next records lie on, when the reader knows ([`Record::line`]).
    pub(super) line: Option<(usize, usize)>,
    /// Each document is one record (a JSON Lines line): a list at its root is not read as a
    /// list of records.
    pub(super) one_record: bool,
    path: Option<Vec<String>>,
    /// What the rules read of a record.
    projection: Option<Arc<Projection>>,
    limits: Limits,
    stack: Vec<Frame>,
    /// The entries of the open mappings, innermost last.
    entries: Vec<Entry>,
    /// The items of the open lists, innermost last.
    items: Vec<Node>,
    anchors: HashMap<usize, BuiltNode>,
    /// Nodes added by alias expansion in this document.
    alias_nodes: usize,
    /// Events read in this document.
    events: usize,
    next_index: usize,
    /// The index of the document's first record.
    doc_index: usize,
    /// The `--records` list was found in this document.
    found: bool,
    /// What stood on the `--records` path where a list (or mapping) should be, and how many of
    /// the path's names led to it.
    misfit: Option<(&'static str, usize, Span)>,
    /// The span of the document's root, unless it was null.
    root: Option<Span>,
    /// Results ready to hand out.
    pub(super) out: VecDeque<Result<Record, DataError>>,
}

impl Builder {
    pub(super) fn new(source: Source, options: &LoadOptions) -> Builder {
        Builder {
            line: None,
            one_record: false,
            source,
            path: options.records_path.clone().filter(|p| !p.is_empty()),
            projection: options.projection.clone(),
            limits: options.limits,
            stack: Vec::new(),
            entries: Vec::new(),
            items: Vec::new(),
            anchors: HashMap::new(),
            alias_nodes: 0,
            events: 0,
            next_index: 0,
            doc_index: 0,
            found: false,
            misfit: None,
            root: None,
            out: VecDeque::new(),
        }
    }

    pub(super) fn source(&self) -> &Source {
        &self.source
    }

    /// Forgets everything about the current document.
    fn reset(&mut self) {
        self.stack.clear();
        self.entries.clear();
        self.items.clear();
        self.anchors.clear();
        self.alias_nodes = 0;
        self.events = 0;
        self.found = false;
        self.misfit = None;
        self.root = None;
    }

    pub(super) fn begin_document(&mut self) {
        self.reset();
        self.doc_index = self.next_index;
    }

    /// Ends a document that was read whole.
    pub(super) fn end_document(&mut self) {
        if let (Some(path), false, Some(root)) = (&self.path, self.found, self.root) {
            let dotted = path.join(".");
            let mut span = Span::new(root.start, root.start.max(root.end.min(root.start + 1)));
            let mut label = format!("no list at `{dotted}` in this document");
            let message = match self.misfit {
                Some((found, names, key_span)) => {
                    span = key_span;
                    label = format!("this holds {found}");
                    let at = path
                        .get(..names)
                        .map_or_else(|| dotted.clone(), |p| p.join("."));
                    let wanted = if names < path.len() {
                        "a mapping"
                    } else {
                        "a list of records"
                    };
                    format!("the value at `{at}` is {found}, not {wanted}")
                }
                None => format!("this document has no list of records at `{dotted}`"),
            };
            let help = format!(
                "`--records {dotted}` reads the records from the list at that path in each \
                 document; check the path, or leave out `--records` to read the document itself"
            );
            let error = data_error(
                &self.source,
                Code::DataNoRecordsList,
                message,
                span,
                label,
                Some(help),
            );
            self.out.push_back(Err(error));
        }
        self.reset();
    }

    /// Drops a document cut short by an error (a bad JSON line), with the results read from it
    /// that were not handed out yet. The document counts as one record, that could not be read.
    pub(super) fn abort_document(&mut self) {
        self.out.clear();
        self.next_index = self.doc_index + 1;
        self.reset();
    }

    /// What is read of a record's fields when a document's root is the record itself (no
    /// `--records` path): for a reader that builds such a record on its own.
    pub(super) fn record_wanted(&self) -> Option<Wanted> {
        self.path.is_none().then(|| self.wanted_below(Role::Record))
    }

    /// What is read of the value of `key` (whose [`key_print`](crate::value::key_print) is
    /// `print`) in a mapping read as `at`; `None` when it is only checked (as [`Builder::key`]
    /// decides it).
    pub(super) fn child_wanted(&self, at: Wanted, key: &str, print: u64) -> Option<Wanted> {
        child_of(self.projection.as_deref(), at, key, Some(print))
    }

    /// The record of a document that a reader built on its own, valid and whole: what
    /// [`Builder::begin_document`], the events of the record and [`Builder::end_document`]
    /// would hand out.
    pub(super) fn whole_record(&mut self, root: Node) -> Record {
        self.begin_document();
        self.next_record(root)
    }

    /// `root` as the next record of the file.
    fn next_record(&mut self, root: Node) -> Record {
        let index = self.next_index;
        self.next_index += 1;
        Record {
            source: self.source.clone(),
            index,
            root,
            line: self.line,
        }
    }

    /// Events read in the current document (for tests that check records stream out).
    #[cfg(test)]
    pub(super) fn events_read(&self) -> usize {
        self.events
    }

    pub(super) fn count_event(&mut self) {
        self.events += 1;
    }

    /// Whether the next node is a mapping key.
    pub(super) fn expects_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                body: Body::Map(MapBody { pending: None, .. }),
                ..
            })
        )
    }

    /// Records an error: it belongs to the record being read, or stands on its own outside one.
    pub(super) fn error(&mut self, error: DataError) {
        for frame in self.stack.iter_mut().rev() {
            match frame.role {
                Role::Plain => {
                    if frame.anchor != 0 && frame.error.is_none() {
                        frame.error = Some(Box::new(error.clone()));
                    }
                }
                Role::Record | Role::NotRecord => {
                    if frame.error.is_none() {
                        frame.error = Some(Box::new(error));
                    }
                    return;
                }
                Role::List | Role::Path(_) | Role::Ignore => break,
            }
        }
        self.out.push_back(Err(error));
    }

    /// The role of the node about to be added.
    fn child_role(&mut self, kind: Kind) -> Role {
        let Some(top) = self.stack.last() else {
            return match (&self.path, kind) {
                (None, Kind::Map) => Role::Record,
                (None, Kind::Seq) if self.one_record => Role::NotRecord,
                (None, Kind::Seq) => Role::List,
                // An empty or null document holds no records; a JSON Lines line holds one.
                (None, Kind::Scalar("null")) if !self.one_record => Role::Ignore,
                (None, Kind::Scalar(_)) => Role::NotRecord,
                (Some(_), Kind::Map) => Role::Path(0),
                (Some(_), _) => Role::Ignore,
            };
        };
        match top.role {
            Role::List => match kind {
                Kind::Map => Role::Record,
                _ => Role::NotRecord,
            },
            Role::Path(matched) => {
                let on_path_key = match &top.body {
                    Body::Map(MapBody {
                        pending:
                            Some(PendingKey {
                                on_path: true,
                                span,
                                ..
                            }),
                        ..
                    }) => Some(*span),
                    _ => None,
                };
                let on_path = on_path_key.is_some();
                let key_span = on_path_key.unwrap_or_default();
                if !on_path {
                    return Role::Plain;
                }
                let last = matched + 1 >= self.path.as_ref().map_or(0, Vec::len);
                match kind {
                    Kind::Map if last => {
                        self.found = true;
                        Role::Record
                    }
                    Kind::Map => Role::Path(matched + 1),
                    Kind::Seq if last => {
                        self.found = true;
                        Role::List
                    }
                    Kind::Seq => {
                        self.misfit = Some(("a list", matched + 1, key_span));
                        Role::Plain
                    }
                    Kind::Scalar(name) => {
                        self.misfit = Some((name, matched + 1, key_span));
                        Role::Plain
                    }
                }
            }
            _ => Role::Plain,
        }
    }

    /// A mapping key.
    pub(super) fn key(&mut self, key: Text, span: Span, anchor: usize) {
        if span.end.saturating_sub(span.start) > self.limits.max_scalar_bytes {
            let error = self.scalar_too_large(span, "key");
            self.error(error);
        }
        self.anchor_key(&key, span, anchor);
        let Some(Frame {
            body: Body::Map(body),
            role,
            last_end,
            wanted,
            ..
        }) = self.stack.last_mut()
        else {
            return;
        };
        *last_end = (*last_end).max(span.end);
        if let Some(first) = body.find(&self.entries, &key) {
            let error = duplicate_key(&self.source, &key, span, first);
            body.pending = Some(PendingKey {
                key,
                span,
                keep: false,
                on_path: false,
                wanted: Some(Wanted::Everything),
            });
            self.error(error);
        } else {
            let on_path = match *role {
                Role::Path(matched) => self
                    .path
                    .as_ref()
                    .and_then(|p| p.get(matched))
                    .is_some_and(|name| **name == *key),
                _ => false,
            };
            let wanted = child_of(self.projection.as_deref(), *wanted, &key, None);
            body.pending = Some(PendingKey {
                key,
                span,
                keep: true,
                on_path,
                wanted,
            });
        }
    }

    /// Whether nothing is read of the value of the key just given: the reader may then check it
    /// without building it, and give [`Builder::skipped`] its span.
    pub(super) fn skips_value(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                body: Body::Map(MapBody {
                    pending: Some(PendingKey { wanted: None, .. }),
                    ..
                }),
                ..
            })
        )
    }

    /// The value at `span`, checked but not built, that nothing reads: its key stays, with null.
    pub(super) fn skipped(&mut self, span: Span) {
        let role = self.child_role(Kind::Scalar("null"));
        let built = BuiltNode {
            node: Node {
                value: Value::Null,
                span,
            },
            nodes: 1,
            height: 0,
            error: None,
        };
        self.complete(built, role, 0, true);
    }

    /// What is read of the children of a collection about to open with `role`.
    fn wanted_below(&self, role: Role) -> Wanted {
        let Some(projection) = &self.projection else {
            return Wanted::Everything;
        };
        match role {
            Role::Record => projection.root(),
            Role::Plain => match self.stack.last() {
                Some(Frame {
                    body:
                        Body::Map(MapBody {
                            pending: Some(PendingKey { wanted, .. }),
                            ..
                        }),
                    ..
                }) => wanted.unwrap_or(Wanted::Everything),
                Some(frame) => frame.wanted,
                None => Wanted::Everything,
            },
            _ => Wanted::Everything,
        }
    }

    fn anchor_key(&mut self, key: &str, span: Span, anchor: usize) {
        if anchor != 0 {
            let node = Node {
                value: Value::String(key.into()),
                span,
            };
            self.anchors.insert(
                anchor,
                BuiltNode {
                    node,
                    nodes: 1,
                    height: 0,
                    error: None,
                },
            );
        }
    }

    /// A scalar value (an `Err` when it could not be read, for example a bad tag).
    pub(super) fn scalar(
        &mut self,
        value: Result<Value, Box<DataError>>,
        span: Span,
        anchor: usize,
    ) {
        let (value, error) = match value {
            Ok(_) if span.end.saturating_sub(span.start) > self.limits.max_scalar_bytes => (
                Value::Null,
                Some(Box::new(self.scalar_too_large(span, "value"))),
            ),
            Ok(value) => (value, None),
            Err(error) => (Value::Null, Some(error)),
        };
        // The common case, a scalar without an anchor in data being built (a key's value, a
        // list's element): written into its place as `complete` would, without being moved
        // through a `BuiltNode` first (a move that reads back what was just written).
        if anchor == 0
            && error.is_none()
            && let Some(parent) = self.stack.last_mut()
            && !matches!(parent.role, Role::List | Role::Path(_))
            // With no key waiting, the general path says what is wrong.
            && !matches!(parent.body, Body::Map(MapBody { pending: None, .. }))
        {
            let child = Child {
                nodes: 1,
                height: 0,
                span,
            };
            attach(
                parent,
                (&mut self.items, &mut self.entries),
                Some(Node { value, span }),
                child,
            );
            return;
        }
        let kind = match (&value, &error) {
            (_, Some(_)) => Kind::Scalar("a scalar"),
            (value, None) => Kind::of(value),
        };
        let role = self.child_role(kind);
        let built = BuiltNode {
            node: Node { value, span },
            nodes: 1,
            height: 0,
            error,
        };
        self.complete(built, role, anchor, true);
    }

    /// Opens a collection at byte `start`. Fails when the nesting is too deep.
    pub(super) fn start(
        &mut self,
        map: bool,
        start: usize,
        flow: bool,
        anchor: usize,
    ) -> Result<(), Box<DataError>> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(Box::new(
                self.too_deep(char_span(self.source.text(), start), "this collection"),
            ));
        }
        let role = self.child_role(if map { Kind::Map } else { Kind::Seq });
        let wanted = self.wanted_below(role);
        let body = if map {
            Body::Map(MapBody {
                first: self.entries.len(),
                pending: None,
                index: None,
            })
        } else {
            Body::Seq(self.items.len())
        };
        self.stack.push(Frame {
            body,
            role,
            start,
            flow,
            last_end: if flow { start + 1 } else { start },
            anchor,
            nodes: 1,
            height: 0,
            error: None,
            wanted,
        });
        Ok(())
    }

    /// A collection is about to start at `at`: if the innermost open collection is a list that
    /// starts there too, that list is a block list whose first item this is, and starts at
    /// `dash` (for a YAML reader whose parser starts such a list at its first item).
    pub(super) fn first_item_at(&mut self, at: usize, dash: usize) {
        if let Some(top) = self.stack.last_mut()
            && matches!(top.body, Body::Seq(_))
            && top.start == at
        {
            top.flow = false;
            top.start = dash;
            top.last_end = dash;
        }
    }

    /// Closes the innermost collection; `end` is the byte after its closing bracket, if any.
    pub(super) fn end(&mut self, end: usize) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let end = if frame.flow { end } else { frame.last_end };
        let span = Span::new(frame.start, end.max(frame.start));
        let value = match frame.body {
            Body::Map(body) => {
                let first = body.first.min(self.entries.len());
                Value::Map(Map {
                    entries: self.entries.drain(first..).collect(),
                })
            }
            Body::Seq(first) => {
                Value::List(self.items.drain(first.min(self.items.len())..).collect())
            }
        };
        let node = Node { value, span };
        let built = BuiltNode {
            node,
            nodes: frame.nodes,
            height: frame.height + 1,
            error: frame.error,
        };
        self.complete(built, frame.role, frame.anchor, false);
    }

    /// An alias of the anchor `id`, written at `span` as `name`. Fails when the expansion would
    /// exceed the alias budget or the depth limit.
    pub(super) fn alias(
        &mut self,
        id: usize,
        span: Span,
        name: &str,
    ) -> Result<(), Box<DataError>> {
        let Some(anchored) = self.anchors.get(&id) else {
            let error = data_error(
                &self.source,
                Code::DataUnknownAlias,
                format!("alias `{}` refers to no anchor in this document", shorten(name)),
                span,
                "unknown alias",
                Some("an alias (`*name`) repeats a node anchored earlier in the same document with `&name`".to_string()),
            );
            if self.expects_key() {
                self.error(error);
                self.key(Text::default(), span, 0);
            } else {
                self.scalar(Err(Box::new(error)), span, 0);
            }
            return Ok(());
        };
        let budget = self
            .limits
            .max_alias_nodes
            .saturating_add(self.events.saturating_mul(10));
        if self.alias_nodes.saturating_add(anchored.nodes) > budget {
            return Err(Box::new(data_error(
                &self.source,
                Code::DataAliasBomb,
                format!(
                    "alias `{}` would expand the document beyond {} nodes",
                    shorten(name),
                    budget
                ),
                span,
                "this alias expands too far",
                Some("aliases that repeat aliases grow exponentially (an \"alias bomb\"); write the data out instead".to_string()),
            )));
        }
        if self.stack.len() + anchored.height > self.limits.max_depth {
            return Err(Box::new(self.too_deep(span, "this alias")));
        }
        self.alias_nodes += anchored.nodes;
        let (node, nodes, height, error) = (
            anchored.node.clone(),
            anchored.nodes,
            anchored.height,
            anchored.error.clone(),
        );
        if self.expects_key() {
            let key = match &node.value {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string().into()),
                Value::Bool(b) => Some(b.to_string().into()),
                Value::Null => Some(Text::default()),
                Value::Date(d) => Some(d.to_string().into()),
                Value::List(_) | Value::Map(_) => None,
            };
            if let Some(key) = key {
                if let Some(error) = error {
                    self.error(*error);
                }
                self.key(key, span, 0);
                return Ok(());
            }
        }
        let role = self.child_role(Kind::of(&node.value));
        let built = BuiltNode {
            node,
            nodes,
            height,
            error,
        };
        self.complete(built, role, 0, true);
        Ok(())
    }

    /// The limits in force.
    pub(super) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The error for a key or value longer than the limit.
    pub(super) fn scalar_too_large(&self, span: Span, what: &str) -> DataError {
        let max = self.limits.max_scalar_bytes;
        data_error(
            &self.source,
            Code::DataScalarTooLarge,
            format!(
                "a {what} written in {} bytes (quotes and escapes included), more than the limit of {max}",
                span.end.saturating_sub(span.start)
            ),
            Span::new(span.start, span.start.saturating_add(1)),
            format!("this {what} is too long"),
            Some("raise the limit with `--max-scalar-size BYTES` if the data is right".into()),
        )
    }

    pub(super) fn too_deep(&self, span: Span, what: &str) -> DataError {
        let max = self.limits.max_depth;
        data_error(
            &self.source,
            Code::DataTooDeep,
            format!("the data is nested more than {max} levels deep"),
            span,
            format!("{what} goes deeper than {max} levels"),
            Some(format!(
                "caveat reads lists and mappings nested at most {max} deep"
            )),
        )
    }

    /// A node is complete: hand it out as a record, or add it to its parent. `fresh` says the
    /// error (if any) has not been recorded yet (scalars and aliases; collections record theirs
    /// as they go).
    fn complete(&mut self, built: BuiltNode, role: Role, anchor: usize, fresh: bool) {
        if anchor != 0 {
            self.anchors.insert(anchor, built.clone());
        }
        let BuiltNode {
            node,
            nodes,
            height,
            error,
        } = built;
        let span = node.span;
        let is_null = matches!(node.value, Value::Null) && error.is_none();
        if let (true, false, Some(error)) = (
            fresh,
            matches!(role, Role::Record | Role::NotRecord),
            &error,
        ) {
            self.error((**error).clone());
        }
        let kept = match role {
            Role::Record => {
                self.emit(node, error);
                None
            }
            Role::NotRecord => {
                self.emit_not_record(&node, error);
                None
            }
            Role::List => {
                // Only an alias brings a list with its elements: a list read in place handed
                // its records out one by one.
                if let Value::List(items) = node.value {
                    for item in items {
                        if matches!(item.value, Value::Map(_)) {
                            self.emit(item, None);
                        } else {
                            self.emit_not_record(&item, None);
                        }
                    }
                }
                None
            }
            Role::Path(_) | Role::Ignore => None,
            Role::Plain => Some(node),
        };
        let Some(parent) = self.stack.last_mut() else {
            if !is_null {
                self.root = Some(span);
            }
            return;
        };
        let child = Child {
            nodes,
            height,
            span,
        };
        if attach(parent, (&mut self.items, &mut self.entries), kept, child) {
            return;
        }
        // No key waited for it: a list or a mapping was written as a key.
        if let Some(Frame {
            body: Body::Map(body),
            ..
        }) = self.stack.last_mut()
        {
            body.pending = Some(PendingKey {
                key: Text::default(),
                span,
                keep: false,
                on_path: false,
                wanted: Some(Wanted::Everything),
            });
        }
        let error = data_error(
            &self.source,
            Code::DataComplexKey,
            "a mapping key must be a plain value, not a list or a mapping",
            span,
            "complex key",
            Some("use a string as the key".to_string()),
        );
        self.error(error);
    }

    /// Hands out a record (a mapping), or the error found inside it.
    fn emit(&mut self, node: Node, error: Option<Box<DataError>>) {
        let result = match error {
            Some(error) => {
                self.next_index += 1;
                Err(*error)
            }
            None => Ok(self.next_record(node)),
        };
        self.out.push_back(result);
    }

    /// Hands out the error for a value that stands where a record should.
    fn emit_not_record(&mut self, node: &Node, error: Option<Box<DataError>>) {
        self.next_index += 1;
        let collection = matches!(node.value, Value::List(_) | Value::Map(_));
        let error = match error {
            Some(error) if !collection => *error,
            _ => {
                let found = node.value.type_name();
                let (message, help) = if self.one_record {
                    (
                        format!("a JSON Lines line holds one record, a mapping; found {found}"),
                        "write each record on a line of its own, as `{\"id\": \"N-1\"}`",
                    )
                } else {
                    (
                        format!("a record must be a mapping, found {found}"),
                        "each record is a mapping of fields, such as `{id: N-1, vendor: DJI}`",
                    )
                };
                data_error(
                    &self.source,
                    Code::DataNotARecord,
                    message,
                    node.span,
                    format!("this is {found}"),
                    Some(help.to_string()),
                )
            }
        };
        self.out.push_back(Err(error));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers_read_quickly_are_the_numbers_read_in_general() {
        let digits = [
            "",
            "0",
            "00",
            "5",
            "05",
            "10",
            "123",
            "000100",
            "99999999",
            "4294967295",
            "4294967296",
            "18446744073",
            "999999999999999999",
        ];
        for negative in [false, true] {
            for int in digits {
                for frac in digits {
                    if int.len() + frac.len() > 18 || int.is_empty() {
                        continue;
                    }
                    let (int, frac) = (int.as_bytes(), frac.as_bytes());
                    let quick = decimal_from_parts(negative, int, frac, 0);
                    let general = decimal_from_any_parts(negative, int, frac, 0);
                    // Same value, same scale (numbers keep the digits they were written with).
                    assert_eq!(
                        quick.map(|d| (d, d.scale(), d.is_sign_negative())),
                        general.map(|d| (d, d.scale(), d.is_sign_negative())),
                        "{negative} {int:?} {frac:?}"
                    );
                }
            }
        }
    }
}
