//! Rules across records (§13): while records stream past, each rule with `per` or `all.` keeps
//! of every record it considers only the fields it reads, its name and its place; once every
//! record is read, the groups are formed, `all.NAME` is taken over them, and the rules are
//! evaluated on each group. The order of everything here is the input order, whatever the
//! number of threads.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::civil::Date;
use rust_decimal::Decimal;

pub(crate) use super::per_member::Plan;
use super::per_member::{self, Part};
use super::value::{EvalValue, Operand};
use super::{Context, Finding, Frame, Memo, RootSlots, SharedValues, Verdict};
use crate::compile::projection::project;
use crate::compile::{Across, CompiledRule, Program};
use crate::data::Record;
use crate::effect::Outcome;
use crate::source::{Location, Span};
use crate::value::Node;

/// A group key's value, as groups are told apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum KeyValue {
    /// A string (an aliased spelling is its symbol).
    Text(Box<str>),
    /// A number, normalised (`10.50` and `10.5` are one key).
    Number(Decimal),
    /// A date.
    Date(Date),
    /// A date-time, by its instant (written in any offset).
    Instant(crate::time::Instant),
    /// A data string that is a date-time (LANGUAGE.md §11), by its instant: two strings that
    /// carry a time compare as instants, so `…T21:00:00+01:00` and `…T20:00:00Z` are one key.
    /// It stays a string (as a key's type and in expressions), shown in the offset the first
    /// record of its group wrote it in.
    TimeText(crate::time::Instant),
    /// `true` or `false`.
    Bool(bool),
}

impl KeyValue {
    fn kind(&self) -> &'static str {
        match self {
            KeyValue::Text(_) | KeyValue::TimeText(_) => "a string",
            KeyValue::Number(_) => "a number",
            KeyValue::Date(_) => "a date",
            KeyValue::Instant(..) => "a date-time",
            KeyValue::Bool(_) => "a boolean",
        }
    }

    /// [`KeyValue::kind`] as a message says it: a string that is written as a number an exact
    /// decimal cannot hold says so (`1e400`, 33 digits), so that a key of such numbers among
    /// numbers is not a puzzling "string".
    fn described(&self) -> &'static str {
        match self {
            KeyValue::Text(s) => super::value::beyond_decimals(s).unwrap_or("a string"),
            _ => self.kind(),
        }
    }

    /// The value as a group's key reads in an expression.
    fn operand(&self) -> Operand<'_> {
        let value = match self {
            KeyValue::Text(s) => EvalValue::Str(std::borrow::Cow::Borrowed(s)),
            KeyValue::Number(n) => EvalValue::Num(*n),
            KeyValue::Date(d) => EvalValue::Date(*d),
            KeyValue::Instant(t) => EvalValue::DateTime(*t),
            KeyValue::TimeText(t) => EvalValue::Str(std::borrow::Cow::Owned(t.to_string())),
            KeyValue::Bool(b) => EvalValue::Bool(*b),
        };
        Operand { value, span: None }
    }
}

impl std::fmt::Display for KeyValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyValue::Text(s) => f.write_str(s),
            KeyValue::Number(n) => write!(f, "{n}"),
            KeyValue::Date(d) => write!(f, "{d}"),
            KeyValue::Instant(t) | KeyValue::TimeText(t) => write!(f, "{t}"),
            KeyValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Where a record of a group is, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The record's name.
    pub record: Arc<str>,
    /// The data file.
    pub file: Arc<str>,
    /// 1-based line of the record's first key value, or for a rule without `per` of the value
    /// its finding points at (or of the record).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Its position among its file's (or table's) records, from 0.
    pub index: usize,
}

/// What one record gave one rule across records, before it is added to the run's groups.
#[derive(Debug)]
pub(crate) struct Collected {
    /// The rule, by index.
    pub(crate) rule: usize,
    /// The groups it joins (none for a rule without `per`).
    pub(crate) joins: Vec<Join>,
    /// The fields of the record that the rules across records read, shared by them.
    node: Arc<Node>,
    /// Its name (empty when it is named by its position, known only at the merge).
    pub(crate) member: Member,
    /// Its position among its file's records.
    pub(crate) index: usize,
    /// The deciding value in the record's chunk (cut to its line when it is kept).
    at: Location,
    /// A record whose key could not be used: the error finding it gives instead.
    pub(crate) error: Option<(String, Location, Span)>,
    /// The values of the rule's lets it keeps ([`Program::stored_lets`], by let index), when
    /// the rule keeps any: its `let each` in a group rule, its lets in a rule without `per`.
    each: Option<Arc<[Part]>>,
    /// The first group it joins: the one where its `let each` values count for `all.`.
    first: Vec<KeyValue>,
    /// For a rule without `per` that reads `all.`, the field path of the value its finding
    /// points at ([`Program::anchor_lets`]), when there is one.
    field: Option<Box<str>>,
}

/// One group a record joins.
#[derive(Debug)]
pub(crate) struct Join {
    /// The group's key values.
    pub(crate) keys: Vec<KeyValue>,
    /// Where the first key's value stands in the record's chunk (an element, for a key that is
    /// a list): a group the record starts points there.
    span: Span,
    /// The 1-based line and column of `span`, when it is not where the record's member points
    /// (an element of a key that is a list other than its first value): the record's place in
    /// this group's list.
    place: Option<(usize, usize)>,
    /// The record's part in each of the rule's expressions per member (none when it has none).
    parts: Vec<Part>,
}

impl Collected {
    /// Keeps the groups (key tuples) `keep` chooses, with the record's parts in them.
    pub(crate) fn retain_groups(&mut self, mut keep: impl FnMut(&[KeyValue]) -> bool) {
        self.joins.retain(|join| keep(&join.keys));
    }
}

/// One group of a rule.
#[derive(Debug)]
struct Group {
    keys: Vec<KeyValue>,
    nodes: Vec<Arc<Node>>,
    /// Its records, each shared by the groups of the rule the record joins.
    members: Vec<Arc<Member>>,
    /// Its members' values, when the rule keeps any (boxed: most groups of a run with one group
    /// per record have none, and a group is kept until every record is read).
    values: Option<Box<MemberValues>>,
    /// The line of the first record's deciding value.
    at: Line,
    /// The input position of its first record.
    first: u64,
}

/// What a group keeps of its members besides their fields.
#[derive(Debug, Default)]
struct MemberValues {
    /// Each member's part in each of the rule's expressions per member: by expression, then
    /// by member.
    parts: Vec<Vec<Part>>,
    /// Each member's kept let values ([`Collected`]'s), when the rule keeps any; a rule
    /// without `per` has one member, whose values its lets read instead of computing them.
    each: Vec<Arc<[Part]>>,
    /// For each member, whether this is the first group it joins, where its `let each`
    /// values count for `all.` (so that a record counts once).
    counts: Vec<bool>,
    /// In a rule without `per`, the field path of the value its record's finding points at
    /// ([`Collected`]'s).
    field: Option<Box<str>>,
}

impl Group {
    /// The member whose kept fields hold the value at `span` (the place of a bad value a
    /// clause met), if exactly one does: a span names no file, and members from several files
    /// may have a value at the same place.
    fn member_holding(&self, span: Span) -> Option<&Member> {
        fn holds(node: &Node, span: Span) -> bool {
            node.span == span
                || (node.span.start <= span.start
                    && span.end <= node.span.end
                    && match &node.value {
                        crate::value::Value::Map(map) => {
                            map.entries.iter().any(|e| holds(&e.value, span))
                        }
                        crate::value::Value::List(items) => items.iter().any(|i| holds(i, span)),
                        _ => false,
                    })
        }
        let mut holding = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| holds(n, span));
        let (at, _) = holding.next()?;
        if holding.next().is_some() {
            return None;
        }
        self.members.get(at).map(|m| &**m)
    }

    /// The member whose values computed as it was read (its parts in the expressions per
    /// member, its `let each` values) hold `failure`, if one does.
    fn member_failing(&self, failure: &super::Failure) -> Option<&Member> {
        let failed = |part: &Part| {
            matches!(part, Part::Failed(message, span)
                if *span == failure.policy_span && **message == *failure.message)
        };
        let in_parts = self
            .parts()
            .iter()
            .find_map(|by_member| by_member.iter().position(failed));
        let at = in_parts.or_else(|| self.each().iter().position(|v| v.iter().any(failed)))?;
        self.members.get(at).map(|m| &**m)
    }

    /// Each member's part in each of the rule's expressions per member.
    fn parts(&self) -> &[Vec<Part>] {
        self.values.as_ref().map_or(&[], |v| v.parts.as_slice())
    }

    /// Each member's kept let values.
    fn each(&self) -> &[Arc<[Part]>] {
        self.values.as_ref().map_or(&[], |v| v.each.as_slice())
    }

    /// For each member, whether its `let each` values count for `all.` here.
    fn counts(&self) -> &[bool] {
        self.values.as_ref().map_or(&[], |v| v.counts.as_slice())
    }

    /// What a rule's expressions read as the record: nothing of one for a group rule (its fields
    /// are read through `group`), the record itself for a rule without `per`.
    fn root<'g>(&'g self, grouped: bool, empty: &'g Node) -> &'g Node {
        match self.nodes.first() {
            Some(node) if !grouped => node,
            _ => empty,
        }
    }
}

/// The groups of one rule across records.
#[derive(Debug, Default)]
struct RuleGroups {
    groups: Vec<Group>,
    /// The groups by their keys (indexes into `groups`, hashed by the keys).
    by_keys: hashbrown::HashTable<usize>,
    /// The type each key has had so far, with the first record that gave it.
    kinds: Vec<Option<(&'static str, Arc<str>)>>,
}

/// The run's records as its rules across records keep them.
#[derive(Debug, Default)]
pub struct AcrossRecords {
    /// By rule index (grown to the highest index that got a record).
    rules: Vec<RuleGroups>,
    /// Records added so far, for the order of findings.
    seen: u64,
    /// Error findings of records whose key could not be used, in input order.
    errors: Vec<AcrossFinding>,
    /// The data file of the last record added, shared by the records of that file.
    last_file: Option<Arc<str>>,
}

/// A finding of a rule across records, with what reports show of it.
#[derive(Debug, Clone)]
pub struct AcrossFinding {
    /// The finding (its message, outcome and waiver).
    pub finding: Finding,
    /// The finding's name: the group's keys joined with ` / `, or the record's name.
    pub name: Arc<str>,
    /// The deciding value's line.
    pub at: Location,
    /// The field path of the deciding value, when it is known (a rule without `per` that reads
    /// `all.` points at the value of a let it reads; a group's key is named by the report).
    pub field: Option<Box<str>>,
    /// For a group: its keys, by name, and its records.
    pub group: Option<Arc<GroupNote>>,
    /// With `--explain`: the group's keys and size and the clauses that decided.
    pub explanation: Option<Vec<super::explain::Step>>,
    /// The position of its (first) record among its file's or table's records, from 0.
    pub index: usize,
    /// An error whose bad value another record or group holds, which `all.` brought here (the
    /// message names where it comes from).
    pub elsewhere: bool,
    /// The input position of the first record, for the order of findings.
    order: (u64, usize),
}

/// A group finding's keys and records, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupNote {
    /// Each key's name and value.
    pub keys: Vec<(Arc<str>, String)>,
    /// Which key is the records' `vendor` field (written `vendor` or `record.vendor`, whatever
    /// its `as` name; else the key named `vendor`), for the reports that table findings by
    /// vendor.
    pub vendor: Option<usize>,
    /// The group's records, in input order.
    pub records: Vec<Member>,
}

/// Whether a program has rules across records.
pub fn any(program: &Program) -> bool {
    program.rules.iter().any(|r| r.across.is_some())
}

/// What `record` gives each rule across records: the groups it joins and what is kept of it.
/// `name` is the record's name, empty when it is named by its position.
pub(crate) fn collect<'p>(
    program: &'p Program,
    plan: &Plan<'p>,
    record: &Record,
    name: &Arc<str>,
    out: &mut Vec<Collected>,
) {
    let mut slots = RootSlots::default();
    slots.fill(program, &record.root);
    collect_sharing(
        program,
        (plan, &slots),
        (record, name),
        out,
        &mut SharedValues::default(),
    );
}

/// [`collect`], reading and adding to the values the record's rules share (those its rules
/// without `all.` or `per` computed already), with the record's top-level fields in `slots`.
pub(crate) fn collect_sharing<'p: 'r, 'r>(
    program: &'p Program,
    (plan, slots): (&Plan<'p>, &RootSlots),
    (record, name): (&'r Record, &Arc<str>),
    out: &mut Vec<Collected>,
    shared: &mut SharedValues<'r>,
) {
    let mut vars = Vec::new();
    // The lets' memo of each rule in turn (one buffer, not one each).
    let mut memo = Vec::new();
    let mut kept: Option<Arc<Node>> = None;
    // The file's name, made once the record joins a rule.
    let mut file: Option<Arc<str>> = None;
    for (index, rule) in program.rules.iter().enumerate() {
        let Some(across) = &rule.across else {
            continue;
        };
        let mut context = Context::new(&record.root, &mut vars, slots)
            .with_frame(Frame::reusing(rule, program, std::mem::take(&mut memo)))
            .with_shared(shared);
        // Filters and `where` choose the records the rule considers.
        let mut considered = Ok(true);
        for clause in across.filters.iter().chain(&across.where_) {
            match context.condition(&clause.expr) {
                Ok((true, _)) => {}
                Ok((false, _)) => {
                    considered = Ok(false);
                    break;
                }
                Err(failure) => {
                    considered = Err(failure);
                    break;
                }
            }
        }
        let place = |span: Span| {
            let (line, column) = record.line_col(span.start);
            let at = Location {
                source: record.source.clone(),
                span,
            };
            (line, column, at)
        };
        let (error, keys, at_span) = match considered {
            Ok(false) => {
                memo = std::mem::take(&mut context.frame.memo);
                continue;
            }
            Err(failure) => {
                let span = failure.record_span.unwrap_or(record.root.span);
                let (_, _, at) = place(span);
                (
                    Some((failure.message, at, failure.policy_span)),
                    Vec::new(),
                    span,
                )
            }
            Ok(true) => match keys_of(&mut context, program, across) {
                Ok((keys, _)) if keys.is_empty() && !across.keys.is_empty() => {
                    memo = std::mem::take(&mut context.frame.memo);
                    continue;
                }
                Ok((keys, span)) => (None, keys, span.unwrap_or(record.root.span)),
                Err((message, span, policy)) => {
                    let (_, _, at) = place(span);
                    (Some((message, at, policy)), Vec::new(), span)
                }
            },
        };
        // Where a finding of a rule without `per` points, when a let it reads has a place.
        let mut anchored = None;
        let (each, error, at_span) = match error {
            None if !program.stored_lets(index).is_empty() => {
                match each_values(&mut context, rule, across, program.stored_lets(index)) {
                    Ok(values) => {
                        anchored = anchor_span(&mut context, rule, program.anchor_lets(index));
                        (Some(values), None, anchored.unwrap_or(at_span))
                    }
                    Err(failure) => {
                        let span = failure.record_span.unwrap_or(record.root.span);
                        let (_, _, at) = place(span);
                        (None, Some((failure.message, at, failure.policy_span)), span)
                    }
                }
            }
            error => (None, error, at_span),
        };
        memo = std::mem::take(&mut context.frame.memo);
        let (line, column, at) = place(at_span);
        let exprs = plan.of(index);
        let first = match &each {
            Some(_) => keys.first().map(|(k, _)| k.clone()).unwrap_or_default(),
            None => Vec::new(),
        };
        // Each join's place is counted on from the one before on the same line (a record's
        // list key values stand in order), not from the line's start.
        let mut last = (at_span.start, (line, column));
        let joins = keys
            .into_iter()
            .map(|(keys, span)| {
                let parts = if exprs.is_empty() {
                    Vec::new()
                } else {
                    let operands: Vec<Operand<'_>> = keys.iter().map(KeyValue::operand).collect();
                    let frame = Frame {
                        keys: &operands,
                        ..Frame::record(rule, program)
                    };
                    let mut vars = Vec::new();
                    let mut context =
                        Context::new(&record.root, &mut vars, slots).with_frame(frame);
                    per_member::parts(&mut context, exprs, &record.root)
                };
                let place = (span != at_span).then(|| {
                    let (from, (line, column)) = last;
                    // A record of one line (JSON Lines) has its values on it.
                    let found = match record.source.text().get(from..span.start) {
                        Some(between)
                            if record.line.is_some() && from >= record.root.span.start =>
                        {
                            (
                                line,
                                column + crate::source::count_chars(between.as_bytes()),
                            )
                        }
                        _ => record.line_col(span.start),
                    };
                    last = (span.start, found);
                    found
                });
                Join {
                    keys,
                    span,
                    place,
                    parts,
                }
            })
            .collect();
        out.push(Collected {
            rule: index,
            joins,
            node: kept
                .get_or_insert_with(|| kept_of(&record.root, &program.across_projection))
                .clone(),
            member: Member {
                record: name.clone(),
                file: file
                    .get_or_insert_with(|| record.source.name().into())
                    .clone(),
                line,
                column,
                index: record.index,
            },
            index: record.index,
            at,
            error,
            first,
            each,
            field: anchored
                .and_then(|span| record.root.field_path(span))
                .map(Box::from),
        });
    }
}

/// Where a finding of a rule without `per` that reads `all.` points in the record: at the value
/// of the first of its `anchors` ([`Program::anchor_lets`]) that has a place there. When one
/// before it fails, at the bad value that failed it (the record's error, once every record is
/// read, is that let's), or `None` (the record) when the failure has no place in the record.
fn anchor_span<'r>(
    context: &mut Context<'r, '_>,
    rule: &'r CompiledRule,
    anchors: &[usize],
) -> Option<Span> {
    for &l in anchors {
        match context.local_read(l, rule.span) {
            Ok(value) if value.span.is_some() => return value.span,
            Ok(_) => {}
            Err(failure) => return failure.record_span,
        }
    }
    None
}

/// A record's values of the lets of `rule` that it keeps (`kept`, by let index; nothing for the
/// other lets: [`Program::stored_lets`]). In a group rule, a `let each` value that `all.` reads
/// and that cannot be computed fails the record: it must count for the whole run, and cannot.
/// (In a rule without `per`, the record is its group, which fails when the value is read.)
fn each_values<'r>(
    context: &mut Context<'r, '_>,
    rule: &'r CompiledRule,
    across: &Across,
    kept: &[bool],
) -> super::Result<Arc<[Part]>> {
    let mut values = Vec::with_capacity(rule.lets.len());
    for (l, local) in rule.lets.iter().enumerate() {
        if !kept.get(l).copied().unwrap_or(false) {
            values.push(Part::Out);
            continue;
        }
        match context.local(l, local.expr.span) {
            Err(failure) if local.each && across.all.contains(&l) => return Err(failure),
            value => values.push(per_member::each_part(value)),
        }
    }
    Ok(values.into())
}

/// The key tuples of a record: one per combination of the keys' values (a key whose value is a
/// list gives one per distinct element); none when a key is missing. With the span of the first
/// key's value.
#[allow(
    clippy::type_complexity,
    reason = "an error is its message, record span and rule span"
)]
fn keys_of<'r>(
    context: &mut Context<'r, '_>,
    program: &Program,
    across: &'r Across,
) -> Result<KeyTuples, (String, Span, Span)> {
    if across.keys.is_empty() {
        return Ok((Vec::new(), None));
    }
    // Each tuple, with where its first key's value stands (an element, for a key that is a list).
    let mut tuples: Vec<(Vec<KeyValue>, Option<Span>)> = vec![(Vec::new(), None)];
    let mut first_span = None;
    for key in &across.keys {
        let value = context
            .eval(&key.expr)
            .map_err(|f| (f.message, f.record_span.unwrap_or_default(), f.policy_span))?;
        first_span = first_span.or(value.span);
        let values: Vec<Operand<'_>> = match value.elements() {
            Some(items) => items,
            None => vec![value],
        };
        // Each distinct value, with where it first stands.
        let mut distinct: Vec<(KeyValue, Option<Span>)> = Vec::new();
        for item in values {
            if item.is_missing() {
                continue;
            }
            let Some(kv) = key_value(&item, program) else {
                return Err((
                    format!(
                        "the key `{}` must be a string, number, date or boolean, but {}",
                        key.name,
                        super::value::what_it_is(&item)
                    ),
                    item.span.unwrap_or_default(),
                    key.expr.span,
                ));
            };
            if !distinct.iter().any(|(seen, _)| *seen == kv) {
                distinct.push((kv, item.span));
            }
        }
        let mut next = Vec::with_capacity(tuples.len() * distinct.len());
        for (tuple, tuple_span) in &tuples {
            for (kv, kv_span) in &distinct {
                // Room for exactly the keys: a tuple is kept with its group to the end.
                let mut t = Vec::with_capacity(across.keys.len());
                t.extend_from_slice(tuple);
                t.push(kv.clone());
                next.push((t, tuple_span.or(*kv_span)));
            }
        }
        tuples = next;
    }
    let tuples = tuples
        .into_iter()
        .map(|(tuple, span)| (tuple, span.or(first_span).unwrap_or_default()))
        .collect();
    Ok((tuples, first_span))
}

/// What [`keys_of`] gives: the key tuples of the groups a record joins, each with where its
/// first key value stands, and where the first key's value stands.
type KeyTuples = (Vec<(Vec<KeyValue>, Span)>, Option<Span>);

/// A key's value as groups tell it apart; a spelling of an aliased symbol is that symbol.
fn key_value(value: &Operand<'_>, program: &Program) -> Option<KeyValue> {
    Some(match &value.value {
        EvalValue::Str(s) => {
            let symbol = program
                .aliases
                .iter()
                .find(|(_, set)| set.matches(s))
                .map(|(symbol, _)| symbol.as_ref());
            match symbol {
                Some(symbol) => KeyValue::Text(symbol.into()),
                None => crate::time::parse_instant(s)
                    .map_or_else(|| KeyValue::Text(s.as_ref().into()), KeyValue::TimeText),
            }
        }
        EvalValue::Num(n) => KeyValue::Number(n.normalize()),
        EvalValue::Date(d) => KeyValue::Date(*d),
        EvalValue::DateTime(t) => KeyValue::Instant(*t),
        EvalValue::Bool(b) => KeyValue::Bool(*b),
        _ => return None,
    })
}

/// What the rules across records keep of a record: what they read of it once every record is
/// read; one empty record shared by all when that is nothing.
fn kept_of(root: &Node, projection: &crate::compile::projection::Projection) -> Arc<Node> {
    static NOTHING: std::sync::OnceLock<Arc<Node>> = std::sync::OnceLock::new();
    if projection.is_nothing() {
        return NOTHING
            .get_or_init(|| Arc::new(crate::value::empty_record()))
            .clone();
    }
    Arc::new(project(root, projection, projection.root()))
}

impl AcrossRecords {
    /// The names of the groups (or records) the rule at `index` has, in input order.
    pub fn names(&self, index: usize) -> Vec<String> {
        self.rules
            .get(index)
            .map(|r| r.groups.iter().map(group_name).collect())
            .unwrap_or_default()
    }

    /// The names of the groups of rule `index` that the record named `record` joined.
    pub fn groups_of(&self, index: usize, record: &str) -> Vec<String> {
        self.rules
            .get(index)
            .map(|r| {
                r.groups
                    .iter()
                    .filter(|g| g.members.iter().any(|m| *m.record == *record))
                    .map(group_name)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The error finding of rule `index` on the record named `name` whose keys could not be
    /// used (it joined no group), if there is one.
    pub fn key_error(&self, index: usize, name: &str) -> Option<&AcrossFinding> {
        self.errors
            .iter()
            .find(|e| e.finding.rule == index && &*e.name == name)
    }

    /// Adds what one record gave, in input order; `fallback` names a record without an id.
    pub(crate) fn add(
        &mut self,
        program: &Program,
        collected: Vec<Collected>,
        fallback: impl Fn(usize) -> String,
    ) {
        for mut c in collected {
            if c.member.record.is_empty() {
                c.member.record = fallback(c.index).into();
            }
            let order = self.seen;
            self.seen += 1;
            if let Some(last) = &self.last_file
                && *last == c.member.file
            {
                c.member.file = last.clone();
            } else {
                self.last_file = Some(c.member.file.clone());
            }
            if let Some((message, at, policy_span)) = c.error.take() {
                self.errors
                    .push(error_finding(&c, &at, order, message, Some(policy_span)));
                continue;
            }
            if self.rules.len() <= c.rule {
                self.rules.resize_with(c.rule + 1, RuleGroups::default);
            }
            let Some(rule) = self.rules.get_mut(c.rule) else {
                continue;
            };
            if c.joins.is_empty() {
                // A per-record rule that reads `all.`: each record is its own group.
                rule.groups.push(Group {
                    keys: Vec::new(),
                    nodes: vec![c.node],
                    members: vec![Arc::new(c.member)],
                    values: c.each.map(|each| {
                        Box::new(MemberValues {
                            each: vec![each],
                            field: c.field,
                            ..MemberValues::default()
                        })
                    }),
                    at: Line::of(&c.at),
                    first: order,
                });
                continue;
            }
            let key_names = program
                .rules
                .get(c.rule)
                .and_then(|r| r.across.as_ref())
                .map_or(&[][..], |a| a.keys.as_slice());
            if let Some((error, key_span)) = mixed_kinds(rule, &c, key_names) {
                self.errors
                    .push(error_finding(&c, &c.at, order, error, key_span));
                continue;
            }
            let member = Arc::new(c.member);
            for Join {
                keys,
                span: key_span,
                place,
                parts,
            } in c.joins
            {
                // The record in this group's list, at the key value that put it there.
                let member = match place {
                    Some((line, column)) => Arc::new(Member {
                        line,
                        column,
                        ..Member::clone(&member)
                    }),
                    None => member.clone(),
                };
                let RuleGroups {
                    groups, by_keys, ..
                } = rule;
                let hash = key_hash(&keys);
                let found = by_keys
                    .find(hash, |&g| {
                        groups.get(g).is_some_and(|group| group.keys == keys)
                    })
                    .copied();
                let g = match found {
                    Some(g) => g,
                    None => {
                        by_keys.insert_unique(hash, groups.len(), |&g| {
                            groups.get(g).map_or(0, |group| key_hash(&group.keys))
                        });
                        let kept = !parts.is_empty() || c.each.is_some();
                        groups.push(Group {
                            keys,
                            nodes: Vec::new(),
                            members: Vec::new(),
                            values: kept.then(|| {
                                Box::new(MemberValues {
                                    parts: vec![Vec::new(); parts.len()],
                                    ..MemberValues::default()
                                })
                            }),
                            // At the key value that put the record in this group.
                            at: Line::of(&Location {
                                source: c.at.source.clone(),
                                span: key_span,
                            }),
                            first: order,
                        });
                        groups.len() - 1
                    }
                };
                if let Some(group) = groups.get_mut(g) {
                    if let Some(values) = group.values.as_deref_mut() {
                        if let Some(each) = &c.each {
                            values.each.push(each.clone());
                            values.counts.push(group.keys == c.first);
                        }
                        for (expr, part) in values.parts.iter_mut().zip(parts) {
                            expr.push(part);
                        }
                    }
                    group.nodes.push(c.node.clone());
                    group.members.push(member);
                }
            }
        }
    }
}

/// The error finding of a record a rule across records could not use, at `at` (cut to its line).
fn error_finding(
    c: &Collected,
    at: &Location,
    order: u64,
    message: String,
    policy_span: Option<Span>,
) -> AcrossFinding {
    let at = line_of(at);
    AcrossFinding {
        finding: Finding {
            rule: c.rule,
            outcome: Outcome::Error,
            span: Some(at.span),
            message: message.into(),
            policy_span,
            waived: None,
        },
        name: c.member.record.clone(),
        at,
        field: None,
        group: None,
        explanation: None,
        index: c.index,
        elsewhere: false,
        order: (order, c.rule),
    }
}

/// The hash of a group's keys.
fn key_hash(keys: &[KeyValue]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0).hash_one(keys)
}

/// A record whose key has another type than the same key of earlier records: the message, and
/// the key in the rule.
fn mixed_kinds(
    rule: &mut RuleGroups,
    c: &Collected,
    keys: &[crate::compile::GroupKey],
) -> Option<(String, Option<Span>)> {
    let width = c.joins.first()?.keys.len();
    if rule.kinds.len() < width {
        rule.kinds.resize(width, None);
    }
    // Every tuple: a key whose value is a list gives one per element, each of its own type. The
    // types a record brings are kept only when it is accepted whole: a record refused for mixing
    // types in one list must not decide the type for the records after it.
    // The types first seen in this record, made only while some key's type is unknown (after
    // the first records, never).
    let mut first_here: Vec<Option<&'static str>> = Vec::new();
    for (position, kv) in c.joins.iter().flat_map(|join| join.keys.iter().enumerate()) {
        let kind = kv.kind();
        let (expected, earlier) = match rule.kinds.get(position)? {
            Some((expected, earlier)) => (*expected, Some(earlier)),
            None => {
                if first_here.is_empty() {
                    first_here = vec![None; width];
                }
                match first_here.get_mut(position)? {
                    Some(expected) => (*expected, None),
                    here => {
                        *here = Some(kind);
                        continue;
                    }
                }
            }
        };
        if expected != kind {
            return Some(mixed_message(keys, position, kv, expected, earlier));
        }
    }
    for (seen, here) in rule.kinds.iter_mut().zip(first_here) {
        if let Some(kind) = here
            && seen.is_none()
        {
            *seen = Some((kind, c.member.record.clone()));
        }
    }
    None
}

/// What [`mixed_kinds`] says of the key at `position` of `keys`, `kv` where `expected` was
/// (for the record `earlier`, or earlier in the same record's list): the message and the key.
fn mixed_message(
    keys: &[crate::compile::GroupKey],
    position: usize,
    kv: &KeyValue,
    expected: &str,
    earlier: Option<&Arc<str>>,
) -> (String, Option<Span>) {
    let name = keys
        .get(position)
        .map_or_else(|| format!("{}", position + 1), |k| format!("`{}`", k.name));
    let message = match earlier {
        Some(earlier) => format!(
            "this record's key {name} is {}, but it was {expected} for `{earlier}`: a key must have one type in every record",
            kv.described(),
        ),
        None => format!(
            "this record's key {name} holds {} and {expected}: a key must have one type in every record",
            kv.described(),
        ),
    };
    (message, keys.get(position).map(|k| k.expr.span))
}

/// The line of a value, as a source of its own: what a finding keeps of a record's chunk.
fn line_of(at: &Location) -> Location {
    let (source, span) = at.source.snippet(at.span);
    Location { source, span }
}

/// How many bytes of a long line a group keeps around its first deciding value (half before where
/// the value starts, half after): a group is kept until every record is read, one per record
/// where keys never repeat. A finding of one record keeps 1 KiB; a group's snippet shows these
/// 240 bytes.
const GROUP_LINE: usize = 240;

/// The line of a group's first deciding value, kept for the finding the group may give (made a
/// source of its own only then: most groups give none).
#[derive(Debug)]
struct Line {
    /// The line, or a window of a long one ([`crate::source::SourceFile::line_within`]).
    text: Box<str>,
    /// Its 1-based number in the file.
    number: usize,
    /// The 1-based column where the text starts on that line.
    column: usize,
    /// The value within it.
    span: Span,
}

impl Line {
    fn of(at: &Location) -> Line {
        let around = at.source.line_within(at.span, GROUP_LINE);
        Line {
            text: around.text.into(),
            number: around.line,
            column: around.column,
            span: around.span,
        }
    }

    /// The line as a source named `file`, and the value in it.
    fn location(&self, file: &str) -> Location {
        Location {
            source: crate::source::SourceFile::window(file, &*self.text, self.number, self.column),
            span: self.span,
        }
    }
}

/// Evaluates every rule across records on its groups, once every record has been added: the
/// findings, in the order of each group's first record. `used_waivers` marks the waivers that
/// waived a finding.
pub fn finish(
    program: &Program,
    records: &AcrossRecords,
    used_waivers: &mut [bool],
    explain: bool,
) -> Vec<AcrossFinding> {
    finish_with(program, records, used_waivers, explain, &HashMap::new())
}

/// The values `all.` reads, by rule and then by let, given instead of taken from the groups at
/// hand: a split run ([`super::split`]) takes them over every part of the run first.
pub(crate) type GivenAll = HashMap<usize, Vec<Vec<Operand<'static>>>>;

/// [`finish`], with the `all.` values of the rules in `given` as given.
pub(crate) fn finish_with(
    program: &Program,
    records: &AcrossRecords,
    used_waivers: &mut [bool],
    explain: bool,
    given: &GivenAll,
) -> Vec<AcrossFinding> {
    let mut out = records.errors.clone();
    for (index, groups) in records.rules.iter().enumerate() {
        let Some(rule) = program
            .rules
            .get(index)
            .filter(|_| !groups.groups.is_empty())
        else {
            continue;
        };
        evaluate_rule(
            program,
            index,
            rule,
            &groups.groups,
            used_waivers,
            (explain, given.get(&index)),
            &mut out,
        );
    }
    // Findings of records (a rule without `per` that reads `all.`, a record whose key cannot
    // be used) come before those of groups, as per-record findings do.
    out.sort_by_key(|f| (f.group.is_some(), f.order));
    out
}

fn evaluate_rule(
    program: &Program,
    index: usize,
    rule: &CompiledRule,
    groups: &[Group],
    used_waivers: &mut [bool],
    // Whether to explain each finding, and the `all.` values when they are given.
    (explain, given): (bool, Option<&Vec<Vec<Operand<'static>>>>),
    out: &mut Vec<AcrossFinding>,
) {
    let Some(across) = &rule.across else {
        return;
    };
    let grouped = !across.keys.is_empty();
    let empty = crate::value::empty_record();
    // Pass 1: `having`, and the values `all.` reads.
    let per_member = per_member::of_rule(program, index);
    let mut prepared = prepare(program, rule, &per_member, groups, grouped, &empty);
    if let Some(given) = given {
        prepared.all = given.clone();
        prepared.all_from.clear();
        (prepared.constants, prepared.faults) = run_constants(program, rule, &empty, &prepared.all);
    }
    let states = std::mem::take(&mut prepared.states);
    let mut memos = std::mem::take(&mut prepared.memos).into_iter();
    let mut vars = Vec::new();
    // Pass 2: the rule on each group.
    for (g, ((group, state), name)) in groups.iter().zip(states).zip(&prepared.names).enumerate() {
        let memo = memos.next();
        let order = (group.first, index);
        // The error finding of a group the rule cannot be evaluated on.
        let failed = |failure: &super::Failure| {
            let (message, elsewhere) = prepared.message_of(rule, failure, (group, g));
            let mut found = finding_of(
                rule,
                index,
                group,
                grouped,
                name,
                Outcome::Error,
                message.into(),
                Some(failure.policy_span),
                order,
            );
            found.elsewhere = elsewhere;
            found
        };
        let considered = match state {
            Ok(considered) => considered,
            Err(failure) => {
                out.push(failed(&failure));
                continue;
            }
        };
        if !considered {
            continue;
        }
        let root = group.root(grouped, &empty);
        let mut slots = RootSlots::default();
        slots.fill(program, root);
        let mut frame = prepared.frame(rule, program, group, grouped, g);
        if let Some(memo) = memo.filter(|m| m.len() == rule.lets.len()) {
            frame.memo = memo;
        }
        let mut context = Context::new(root, &mut vars, &slots).with_frame(frame);
        let verdict = context.rule(rule, None).and_then(|v| match v {
            Verdict::Passes => Ok(None),
            Verdict::Fires { .. } => context.message(rule, None).map(Some),
        });
        let mut found = match verdict {
            Ok(None) => continue,
            Ok(Some(message)) => finding_of(
                rule,
                index,
                group,
                grouped,
                name,
                rule.effect.into(),
                message,
                None,
                order,
            ),
            Err(failure) => failed(&failure),
        };
        if explain {
            let described = |f: &super::Failure| prepared.message_of(rule, f, (group, g)).0;
            found.explanation = Some(group_steps(&mut context, rule, group, described));
        }
        if found.finding.outcome != Outcome::Error {
            for &w in &rule.waivers {
                let Some(waiver) = program.waivers.get(w) else {
                    continue;
                };
                if let Ok((true, _)) = context.condition(&waiver.condition.expr) {
                    found.finding.waived = Some((w, found.finding.outcome));
                    found.finding.outcome = Outcome::Waived;
                    if let Some(flag) = used_waivers.get_mut(w) {
                        *flag = true;
                    }
                    break;
                }
            }
        }
        out.push(found);
    }
}

/// A group's place among the rule's groups: every group's key values, its index, every name.
type Place<'r, 'v> = (&'v [Vec<Operand<'r>>], usize, &'v [String]);

/// The frame of `rule` on `group` (at `place`), with `all.` and the addresses of the rule's
/// expressions per member.
fn group_frame<'r, 'v>(
    rule: &'r CompiledRule,
    program: &Program,
    (group, grouped): (&'r Group, bool),
    (key_operands, g, names): Place<'r, 'v>,
    all: &'v [Vec<Operand<'r>>],
    per_member: &'v [usize],
) -> Frame<'r, 'v> {
    Frame {
        lets: &rule.lets,
        memo: vec![Memo::Unset; rule.lets.len()],
        keys: key_operands.get(g).map_or(&[], Vec::as_slice),
        group: if grouped { &group.nodes } else { &[] },
        name: names.get(g).map_or("", String::as_str),
        all,
        today: program.today,
        constants: &[],
        per_member: (!per_member.is_empty()).then_some((per_member, group.parts())),
        each: if grouped { group.each() } else { &[] },
        stored: match group.each().first() {
            Some(values) if !grouped => values,
            _ => &[],
        },
    }
}

/// The steps that explain a rule on a group: the group's keys and size, then each clause
/// (`having`, then the rule's own) with the values of the lets it read, up to the clause that
/// decided; a clause that cannot be evaluated says why in the words of `described` (which
/// record holds the bad value, as the error finding says).
fn group_steps<'r>(
    context: &mut Context<'r, '_>,
    rule: &'r CompiledRule,
    group: &Group,
    described: impl Fn(&super::Failure) -> String,
) -> Vec<super::explain::Step> {
    use super::explain::{ClauseRole, Step};
    let Some(across) = &rule.across else {
        return Vec::new();
    };
    let grouped = !across.keys.is_empty();
    // The group itself: its keys and size.
    let mut values: Vec<(String, String)> = across
        .keys
        .iter()
        .zip(&group.keys)
        .map(|(k, v)| (k.name.to_string(), v.to_string()))
        .collect();
    if grouped {
        values.push(("count(group)".into(), group.members.len().to_string()));
    }
    let mut clauses: Vec<(ClauseRole, &crate::compile::Clause)> = Vec::new();
    clauses.extend(across.having.iter().map(|c| (ClauseRole::Condition, c)));
    clauses.extend(rule.clauses());
    let mut steps = Vec::new();
    for (i, (role, clause)) in clauses.into_iter().enumerate() {
        let holds = context
            .condition(&clause.expr)
            .map(|(h, _)| h)
            .map_err(|f| described(&f));
        // The lets the clause reads, with the values they took, and the values it computes
        // from the group or the run (`sum(group.amount)`, `upper_fence(all.a)`), as written.
        let mut parts = Vec::new();
        super::explain::group_parts(&clause.expr, &mut parts);
        for part in parts {
            let shown = match &part.kind {
                crate::compile::ExprKind::Local(l) => rule
                    .lets
                    .get(*l)
                    .zip(context.local(*l, rule.span).ok())
                    .map(|(local, value)| (local.name.to_string(), value)),
                _ => context.eval(part).ok().map(|value| {
                    let text = crate::compile::collapse_whitespace(rule.source.slice(part.span));
                    (text, value)
                }),
            };
            if let Some((name, value)) = shown
                && !values.iter().any(|(n, _)| *n == name)
            {
                values.push((name, super::explain::shown(&value, None)));
            }
        }
        let false_at = context.false_at(&clause.expr, &holds, &rule.source);
        let step = Step {
            clause: i,
            role,
            text: clause.text.clone(),
            holds,
            values: std::mem::take(&mut values),
            false_at,
        };
        let decided = !step.for_finding();
        steps.push(step);
        if decided {
            break;
        }
    }
    // A group rule with no clause to show them with: its keys and size, under its `per`.
    if steps.is_empty() && !values.is_empty() {
        let keys: Vec<&str> = across.keys.iter().map(|k| k.text.as_str()).collect();
        steps.push(Step {
            // Past the rule's clauses, of which it has none here: coverage counts no clause.
            clause: 0,
            role: ClauseRole::Condition,
            text: format!("per {}", keys.join(", ")),
            holds: Ok(true),
            values,
            false_at: None,
        });
    }
    steps
}

/// What evaluating and explaining a rule on its groups need first: each group's name and key
/// values, whether `having` keeps it (or why it could not be evaluated), and the values `all.`
/// reads.
struct Prepared<'r> {
    names: Vec<String>,
    key_operands: Vec<Vec<Operand<'r>>>,
    states: Vec<super::Result<bool>>,
    /// The lets each group computed in pass 1 (none read `all.`), for pass 2 to start from.
    memos: Vec<Vec<Memo<'r>>>,
    all: Vec<Vec<Operand<'r>>>,
    /// For each value of `all`, the group it came from (none when the values were given, in a
    /// split run).
    all_from: Vec<Vec<usize>>,
    /// The run-wide values that do not depend on the group, computed once.
    constants: Vec<(usize, super::RunValue<'r>)>,
    /// The run-wide expressions that could not be evaluated, each with the value of `all.` at
    /// fault (by let and position), when one value alone is.
    faults: Vec<Fault>,
    /// The addresses of the rule's expressions per member.
    per_member: Vec<usize>,
}

impl<'r> Prepared<'r> {
    /// The message of `failure` on group `g`: when a value that `all.` brought from another
    /// group is at fault, which group that is (`all.a` holds it, from C), so that the groups
    /// that only read it do not seem to hold it.
    fn message_of(
        &self,
        rule: &CompiledRule,
        failure: &super::Failure,
        (group, g): (&Group, usize),
    ) -> (String, bool) {
        let from = self
            .faults
            .iter()
            // The failure stands in the run-wide expression, or is the whole of it.
            .find(|f| {
                f.expr.start <= failure.policy_span.start && failure.policy_span.end <= f.expr.end
            })
            .and_then(|f| {
                let (l, i) = f.value;
                Some((l, *self.all_from.get(l)?.get(i)?))
            });
        match from {
            Some((l, from)) if from != g => {
                let name = rule.lets.get(l).map_or("", |local| &*local.name);
                let group = self.names.get(from).map_or("", String::as_str);
                let message = format!("{} (`all.{name}` holds it, from {group})", failure.message);
                (message, true)
            }
            // A value of one of the group's records: which record, and where it is.
            _ => match failure
                .record_span
                .and_then(|span| group.member_holding(span))
                .or_else(|| group.member_failing(failure))
            {
                Some(m) if group.members.len() > 1 => (
                    format!(
                        "{} (in {}, {}:{}:{})",
                        failure.message, m.record, m.file, m.line, m.column
                    ),
                    false,
                ),
                _ => (failure.message.clone(), false),
            },
        }
    }

    /// The frame of the rule on group `g`, with `all.` and the run-wide values.
    fn frame<'v>(
        &'v self,
        rule: &'r CompiledRule,
        program: &Program,
        group: &'r Group,
        grouped: bool,
        g: usize,
    ) -> Frame<'r, 'v> {
        let mut frame = group_frame(
            rule,
            program,
            (group, grouped),
            (&self.key_operands, g, &self.names),
            &self.all,
            &self.per_member,
        );
        frame.constants = &self.constants;
        frame
    }
}

fn prepare<'r>(
    program: &Program,
    rule: &'r CompiledRule,
    per_member: &[&crate::compile::Expr],
    groups: &'r [Group],
    grouped: bool,
    empty: &'r Node,
) -> Prepared<'r> {
    let names: Vec<String> = groups.iter().map(group_name).collect();
    let key_operands: Vec<Vec<Operand<'r>>> = groups
        .iter()
        .map(|g| g.keys.iter().map(KeyValue::operand).collect())
        .collect();
    let per_member: Vec<usize> = per_member
        .iter()
        .map(|e| std::ptr::from_ref(*e) as usize)
        .collect();
    let (states, memos, all, all_from) = pass_one(
        program,
        rule,
        (groups, grouped, empty),
        (&key_operands, &names),
        &per_member,
    );
    let (constants, faults) = run_constants(program, rule, empty, &all);
    Prepared {
        names,
        key_operands,
        states,
        memos,
        all,
        all_from,
        constants,
        faults,
        per_member,
    }
}

/// The values `all.` reads over the groups of the rule at `index` (by let; empty for a let that
/// `all.` does not read), each converted by `convert`: what one part of a split run gives.
pub(crate) fn all_values<T>(
    program: &Program,
    records: &AcrossRecords,
    index: usize,
    convert: impl Fn(&Operand<'_>) -> T,
) -> Vec<Vec<T>> {
    let (Some(rule), Some(groups)) = (program.rules.get(index), records.rules.get(index)) else {
        return Vec::new();
    };
    let grouped = rule.across.as_ref().is_some_and(|a| !a.keys.is_empty());
    let empty = crate::value::empty_record();
    let per_member = per_member::of_rule(program, index);
    let prepared = prepare(program, rule, &per_member, &groups.groups, grouped, &empty);
    prepared
        .all
        .iter()
        .map(|values| values.iter().map(&convert).collect())
        .collect()
}

/// Pass 1 over a rule's groups: whether `having` keeps each (or why it could not be
/// evaluated), and the values of the lets that `all.` reads, over the groups kept.
fn pass_one<'r>(
    program: &Program,
    rule: &'r CompiledRule,
    (groups, grouped, empty): (&'r [Group], bool, &'r Node),
    (key_operands, names): (&[Vec<Operand<'r>>], &[String]),
    per_member: &[usize],
) -> PassOne<'r> {
    let mut all: Vec<Vec<Operand<'r>>> = vec![Vec::new(); rule.lets.len()];
    let mut all_from: Vec<Vec<usize>> = vec![Vec::new(); rule.lets.len()];
    let Some(across) = &rule.across else {
        return (Vec::new(), Vec::new(), all, all_from);
    };
    let mut states: Vec<super::Result<bool>> = groups.iter().map(|_| Ok(true)).collect();
    let mut memos: Vec<Vec<Memo<'r>>> = vec![Vec::new(); groups.len()];
    // A let whose `all.` another let reads is computed a round before it (the policy check
    // refused lets whose values depend on themselves).
    let round_of = |l: usize| across.rounds.get(l).copied().unwrap_or(0);
    let rounds = across.all.iter().map(|&l| round_of(l)).max().unwrap_or(0);
    let mut vars = Vec::new();
    for round in 0..=rounds {
        // The values of this round's lets: `all` holds those of the rounds before.
        let mut found: Vec<Vec<Operand<'r>>> = vec![Vec::new(); rule.lets.len()];
        let mut found_from: Vec<Vec<usize>> = vec![Vec::new(); rule.lets.len()];
        for (g, group) in groups.iter().enumerate() {
            if round == 0 {
                count_each(rule, across, (g, group), (&mut found, &mut found_from));
            } else if !matches!(states.get(g), Some(Ok(true))) {
                continue;
            }
            let root = group.root(grouped, empty);
            let mut slots = RootSlots::default();
            slots.fill(program, root);
            let mut frame = group_frame(
                rule,
                program,
                (group, grouped),
                (key_operands, g, names),
                &all,
                per_member,
            );
            if round > 0
                && let Some(memo) = memos.get_mut(g)
            {
                frame.memo = std::mem::take(memo);
            }
            let mut context = Context::new(root, &mut vars, &slots).with_frame(frame);
            let result = (|| {
                if round == 0
                    && let Some(having) = &across.having
                    && !context.condition(&having.expr)?.0
                {
                    return Ok(false);
                }
                for &l in &across.all {
                    if round_of(l) != round || rule.lets.get(l).is_some_and(|local| local.each) {
                        continue;
                    }
                    let value = context.local(l, rule.span)?;
                    if !value.is_missing()
                        && let (Some(values), Some(from)) =
                            (found.get_mut(l), found_from.get_mut(l))
                    {
                        values.push(value);
                        from.push(g);
                    }
                }
                Ok(true)
            })();
            // A let whose evaluation failed is computed again (and fails again) where it is read.
            let mut memo = std::mem::take(&mut context.frame.memo);
            for m in &mut memo {
                if matches!(m, Memo::Busy) {
                    *m = Memo::Unset;
                }
            }
            // A later round only fails a group (its state was `Ok(true)` to get there).
            if let Some(state) = states.get_mut(g)
                && (round == 0 || result.is_err())
            {
                *state = result;
            }
            if let Some(at) = memos.get_mut(g) {
                *at = memo;
            }
        }
        for (values, new) in all.iter_mut().zip(found) {
            values.extend(new);
        }
        for (from, new) in all_from.iter_mut().zip(found_from) {
            from.extend(new);
        }
    }
    (states, memos, all, all_from)
}

/// Adds the group's `let each` values that `all.` reads to `found`: each record counts once, in
/// the first group it joins, whatever `having` decides of the group.
fn count_each<'r>(
    rule: &CompiledRule,
    across: &Across,
    (g, group): (usize, &'r Group),
    (found, found_from): (&mut [Vec<Operand<'r>>], &mut [Vec<usize>]),
) {
    for &l in &across.all {
        if !rule.lets.get(l).is_some_and(|local| local.each) {
            continue;
        }
        let counted = group.each().iter().zip(group.counts()).filter(|(_, c)| **c);
        for (values, _) in counted {
            if let (Some(values_of_let), Some(from)) = (found.get_mut(l), found_from.get_mut(l))
                && let Ok(value) = per_member::each_value(values, l)
                && !value.is_missing()
            {
                values_of_let.push(value);
                from.push(g);
            }
        }
    }
}

/// What pass 1 gives: each group's state and lets, the values of `all.`, and for each value
/// the group it came from.
type PassOne<'r> = (
    Vec<super::Result<bool>>,
    Vec<Vec<Memo<'r>>>,
    Vec<Vec<Operand<'r>>>,
    Vec<Vec<usize>>,
);

/// Why the rule across records at `index` did or did not fire on the group (or, for a rule
/// without `per`, the record) named `name`: the group's keys and size, then each clause with the
/// values of the lets it read, up to the clause that decided. `None` when no group has that name.
pub fn explain_group(
    program: &Program,
    records: &AcrossRecords,
    index: usize,
    name: &str,
) -> Option<super::explain::Explanation> {
    explain_groups(program, records, index, |n| n == name)
        .into_iter()
        .next()
        .map(|(_, explanation)| explanation)
}

/// [`explain_group`] for each group of rule `index` whose name `wanted` takes, in input order,
/// each with its name: the rule's groups are prepared once for all of them.
pub fn explain_groups(
    program: &Program,
    records: &AcrossRecords,
    index: usize,
    wanted: impl Fn(&str) -> bool,
) -> Vec<(String, super::explain::Explanation)> {
    use super::explain::{Explanation, Step};
    let (Some(rule), Some(kept)) = (program.rules.get(index), records.rules.get(index)) else {
        return Vec::new();
    };
    let Some(across) = &rule.across else {
        return Vec::new();
    };
    let groups = &kept.groups;
    let grouped = !across.keys.is_empty();
    let empty = crate::value::empty_record();
    let per_member = per_member::of_rule(program, index);
    let prepared = prepare(program, rule, &per_member, groups, grouped, &empty);
    let mut out = Vec::new();
    let mut slots = RootSlots::default();
    let mut vars = Vec::new();
    for (g, (group, name)) in groups.iter().zip(&prepared.names).enumerate() {
        if !wanted(name) {
            continue;
        }
        let root = group.root(grouped, &empty);
        slots.fill(program, root);
        let frame = prepared.frame(rule, program, group, grouped, g);
        let mut context = Context::new(root, &mut vars, &slots).with_frame(frame);
        let considered = matches!(prepared.states.get(g), Some(Ok(true)));
        let described = |f: &super::Failure| prepared.message_of(rule, f, (group, g)).0;
        let steps = group_steps(&mut context, rule, group, described);
        // As the check decides: a group whose `where` or `having`, or a considered group whose
        // clause, cannot be evaluated gets an error finding.
        let failed = matches!(prepared.states.get(g), Some(Err(_)))
            || (considered && steps.iter().any(|s| s.holds.is_err()));
        let outcome = if failed {
            Some(Outcome::Error)
        } else if considered && steps.iter().all(Step::for_finding) {
            Some(Outcome::from(rule.effect))
        } else {
            None
        };
        let explanation = Explanation {
            rule: index,
            outcome,
            steps,
            waiver: None,
        };
        out.push((name.clone(), explanation));
    }
    out
}

/// The values of the rule's expressions that read `all.` and nothing of a record or a group
/// (`quantile(all.entered, 0.75)`, `lower_fence(all.ratio)`), by address: computed once, not once
/// per group. An expression that cannot be evaluated is left to fail where it is used.
fn run_constants<'r>(
    program: &Program,
    rule: &'r CompiledRule,
    empty: &'r Node,
    all: &[Vec<Operand<'r>>],
) -> (Vec<(usize, super::RunValue<'r>)>, Vec<Fault>) {
    let mut found: Vec<&'r crate::compile::Expr> = Vec::new();
    let mut stack: Vec<&'r crate::compile::Expr> = rule.clauses().map(|(_, c)| &c.expr).collect();
    stack.extend(rule.lets.iter().map(|l| &l.expr));
    if let Some(message) = &rule.message {
        for part in &message.parts {
            if let crate::compile::TemplatePart::Expr(e) = part {
                stack.push(e);
            }
        }
    }
    while let Some(expr) = stack.pop() {
        match run_wide(expr) {
            Some(true) => found.push(expr),
            None => expr.for_each_child(&mut |child| stack.push(child)),
            Some(false) => {}
        }
    }
    let mut values = Vec::new();
    let mut faults = Vec::new();
    if found.is_empty() {
        return (values, faults);
    }
    let slots = RootSlots::default();
    let mut vars = Vec::new();
    let frame = Frame {
        lets: &rule.lets,
        memo: vec![Memo::Unset; rule.lets.len()],
        all,
        today: program.today,
        ..Frame::default()
    };
    let mut context = Context::new(empty, &mut vars, &slots).with_frame(frame);
    for expr in found {
        let value = context.eval(expr).map_err(|failure| *failure);
        if value.is_err() {
            faults.extend(fault_of(program, rule, (empty, expr), all));
        }
        values.push((std::ptr::from_ref(expr) as usize, value));
    }
    (values, faults)
}

/// A run-wide expression that could not be evaluated, and the value of `all.` at fault.
#[derive(Debug, Clone, Copy)]
struct Fault {
    /// Where the expression is written.
    expr: Span,
    /// The let whose `all.` list holds the value, and its position there.
    value: (usize, usize),
}

/// Which value of `all.` makes `expr` fail, when one does alone: `expr` is evaluated with one
/// value in one list of `all.` and the others empty, for each value in turn (only when it
/// failed, so at most once per rule, and each evaluation reads one value). `None` when no value
/// alone makes it fail.
fn fault_of(
    program: &Program,
    rule: &CompiledRule,
    (empty, expr): (&Node, &crate::compile::Expr),
    all: &[Vec<Operand<'_>>],
) -> Option<Fault> {
    let slots = RootSlots::default();
    let mut vars = Vec::new();
    let mut alone: Vec<Vec<Operand<'_>>> = vec![Vec::new(); all.len()];
    for (l, values) in all.iter().enumerate() {
        for (i, value) in values.iter().enumerate() {
            if let Some(list) = alone.get_mut(l) {
                *list = vec![value.clone()];
            }
            let frame = Frame {
                lets: &rule.lets,
                memo: vec![Memo::Unset; rule.lets.len()],
                all: &alone,
                today: program.today,
                ..Frame::default()
            };
            let mut context = Context::new(empty, &mut vars, &slots).with_frame(frame);
            if context.eval(expr).is_err() {
                return Some(Fault {
                    expr: expr.span,
                    value: (l, i),
                });
            }
        }
        if let Some(list) = alone.get_mut(l) {
            list.clear();
        }
    }
    None
}

/// Whether an expression is one value for the whole run that reads `all.`: it reads nothing of
/// a record or a group (`Some(true)`), or reads nothing at all but constants (`Some(false)`).
fn run_wide(expr: &crate::compile::Expr) -> Option<bool> {
    let reads = expr.reads();
    (!reads.record && !reads.lets && !reads.group).then_some(reads.all)
}

/// A group's name: its key values joined with ` / `, a value that holds ` / ` itself (or starts
/// with a quote) written in double quotes, so that two groups never share a name; a record's
/// own name without keys.
fn group_name(group: &Group) -> String {
    if group.keys.is_empty() {
        return group
            .members
            .first()
            .map(|m| m.record.to_string())
            .unwrap_or_default();
    }
    group
        .keys
        .iter()
        .map(|key| {
            let text = key.to_string();
            // Quoted where it could run into the ` / ` between keys: `X /` then `Y`, and `X`
            // then `/ Y`, would both read `X / / Y`.
            let ambiguous = text.contains(" / ")
                || text.starts_with('"')
                || text.starts_with("/ ")
                || text.ends_with(" /")
                || text == "/";
            if ambiguous {
                serde_json::to_string(&text).unwrap_or(text)
            } else {
                text
            }
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

#[expect(clippy::too_many_arguments, reason = "the parts of one finding")]
fn finding_of(
    rule: &CompiledRule,
    index: usize,
    group: &Group,
    grouped: bool,
    name: &str,
    outcome: Outcome,
    message: Arc<str>,
    policy_span: Option<Span>,
    order: (u64, usize),
) -> AcrossFinding {
    let note = grouped.then(|| {
        Arc::new(GroupNote {
            keys: rule
                .across
                .as_ref()
                .map(|a| {
                    a.keys
                        .iter()
                        .zip(&group.keys)
                        .map(|(k, v)| (k.name.clone(), v.to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            vendor: rule.across.as_ref().and_then(|a| {
                let keys = &a.keys;
                keys.iter()
                    .position(|k| matches!(&*k.text, "vendor" | "record.vendor"))
                    .or_else(|| keys.iter().position(|k| &*k.name == "vendor"))
            }),
            records: group.members.iter().map(|m| Member::clone(m)).collect(),
        })
    });
    let file = group.members.first().map_or("", |m| &*m.file);
    AcrossFinding {
        finding: Finding {
            rule: index,
            outcome,
            span: Some(group.at.span),
            message,
            policy_span,
            waived: None,
        },
        name: name.into(),
        at: group.at.location(file),
        field: group.values.as_ref().and_then(|v| v.field.clone()),
        group: note,
        explanation: None,
        index: group.members.first().map_or(0, |m| m.index),
        elsewhere: false,
        order,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    /// A group is kept from its first record to the end of the run, one per record where keys
    /// never repeat: its values per member are boxed, not three empty vectors in every group.
    #[test]
    fn a_group_is_small() {
        let size = std::mem::size_of::<Group>();
        assert!(size <= 136, "{size} bytes");
    }

    /// A group keeps a window of at most `GROUP_LINE` bytes of its first record's long line (it
    /// is kept until every record is read), with the value in it and the file's line and column;
    /// a short line is kept whole.
    #[test]
    fn a_group_keeps_a_short_window_of_a_long_line() {
        let padding = "x".repeat(3_000);
        let text = format!(
            "{{\"a\":1}}\n{{\"pad\":\"{padding}\",\"buyer\":{{\"id\":\"B-1\"}},\"more\":\"{padding}\"}}\n"
        );
        let source = SourceFile::new("r.jsonl", text.as_str());
        let at = text.find("\"B-1\"").expect("the value is there");
        let location = Location {
            source: source.clone(),
            span: Span::new(at, at + 5),
        };
        let line = Line::of(&location);
        assert!(
            line.text.len() <= GROUP_LINE,
            "{} bytes kept",
            line.text.len()
        );
        let kept = line.location("r.jsonl");
        assert_eq!(
            kept.source.text().get(kept.span.start..kept.span.end),
            Some("\"B-1\"")
        );
        assert_eq!(kept.line_col(), source.line_col(at));
        let short = Line::of(&Location {
            source,
            span: Span::new(1, 4),
        });
        assert_eq!(&*short.text, "{\"a\":1}");
        // With CRLF line ends, near the line's end: the window keeps no CR, and the window as
        // a snippet shows it (a control character escaped) keeps the file's column.
        let text = format!("{{\"pad\":\"{padding}\",\"v\":\"\u{7}B\"}}\r\n{{}}\r\n");
        let source = SourceFile::new("r.jsonl", text.as_str());
        let at = text.find("\"\u{7}B\"").expect("the value is there");
        let line = Line::of(&Location {
            source: source.clone(),
            span: Span::new(at, at + 4),
        });
        assert!(!line.text.contains('\r'), "{:?}", line.text);
        let kept = line.location("r.jsonl");
        let shown = kept.source.shown();
        assert_eq!(
            shown.line_col(kept.source.shown_offset(kept.span.start)),
            source.line_col(at)
        );
    }
}
