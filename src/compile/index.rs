//! The rule index: a record meets only the rules that can match it.
//!
//! A rule is indexed on its first clause (or the first operand of an `and` there), when that is
//! one of:
//!
//! - `PATH == "text"` or `PATH in LIST` (of strings and aliased symbols): bucketed by key;
//! - `PATH > N`, `>=`, `<`, `<=` against a number or date constant, which includes the date
//!   filters `after`, `before` and `between`: kept sorted by bound;
//! - `PATH exists`.
//!
//! Such a clause is false, without an error, on a record whose value at PATH is missing or a
//! plain string or number outside the key or range, and then the rule can neither fire nor fail.
//! Wherever the plain scan could behave differently (a value of another type, which is an error,
//! or a string that looks like a date, which `==` compares as a date), the index gives back every
//! rule of that kind on the path. Every other rule is a candidate for every record.
//!
//! A rule found by its key (a string it names, a range that holds the value, a value present)
//! has that test true on the record, just as evaluating it would find it: its evaluation starts
//! past the test ([`PathIndex::candidates`]).

use std::cmp::Ordering;

use jiff::civil::Date;
use rust_decimal::Decimal;

use super::program::{Const, Expr, ExprKind, Order, Segment};
use crate::source::Span;
use crate::value::{parse_data_date, parse_data_number};

/// Rules bucketed by the value their first clause compares a field with.
#[derive(Debug, Clone, Default)]
pub struct RuleIndex {
    /// One index per field path that some rule's first clause tests.
    pub paths: Vec<PathIndex>,
    /// Rules that are candidates for every record.
    pub always: RuleSet,
}

/// A set of rules, by index: a rule added twice is in it once, and the rules come out in rule
/// order, without sorting.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// Bit `i % 64` of word `i / 64` stands for rule `i`.
    words: Vec<u64>,
}

impl RuleSet {
    /// Makes this set the same as `other`, reusing its room.
    pub(crate) fn copy_from(&mut self, other: &RuleSet) {
        self.words.clear();
        self.words.extend_from_slice(&other.words);
    }

    /// Adds a rule.
    pub(crate) fn insert(&mut self, rule: usize) {
        let word = rule / 64;
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        if let Some(bits) = self.words.get_mut(word) {
            *bits |= 1 << (rule % 64);
        }
    }

    /// The rules, in rule order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(word, &bits)| {
            let mut bits = bits;
            std::iter::from_fn(move || {
                let bit = bits.trailing_zeros() as usize;
                (bits != 0).then(|| {
                    bits &= bits - 1;
                    word * 64 + bit
                })
            })
        })
    }
}

/// The rules whose first clause tests one field path.
#[derive(Debug, Clone, Default)]
pub struct PathIndex {
    /// The field path.
    pub path: Vec<Segment>,
    /// The slot of the path's first key among the program's top-level fields.
    pub slot: Option<usize>,
    /// Exact string → rules.
    pub exact: foldhash::HashMap<Box<str>, Vec<usize>>,
    /// Alias-normalised string → rules.
    pub normalized: foldhash::HashMap<String, Vec<usize>>,
    /// Every rule keyed by equality or membership: the fallback for values that are not plain
    /// strings.
    pub equality: Vec<usize>,
    /// Rules comparing the path with a number.
    pub numbers: Bounds<Decimal>,
    /// Rules comparing the path with a date.
    pub dates: Bounds<Date>,
    /// Rules that only need the path to have a value.
    pub present: Vec<usize>,
}

/// Rules of the form `PATH > bound` (and `>=`, `<`, `<=`), sorted so that the rules a value
/// satisfies are a prefix.
#[derive(Debug, Clone, Default)]
pub struct Bounds<T> {
    /// `>` and `>=`, by bound ascending; among equal bounds `>=` first.
    above: Vec<(T, bool, usize)>,
    /// `<` and `<=`, by bound descending; among equal bounds `<=` first.
    below: Vec<(T, bool, usize)>,
}

/// A bound's type, ordered as the evaluation orders it.
pub trait BoundValue: Ord + Copy {
    /// The same as [`Ord::cmp`], by the quickest way there is.
    fn order(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }
}

impl BoundValue for Decimal {
    fn order(&self, other: &Self) -> Ordering {
        crate::value::order_decimals(self, other)
    }
}

impl BoundValue for Date {}

impl<T: BoundValue> Bounds<T> {
    fn add(&mut self, order: Order, bound: T, rule: usize) {
        match order {
            Order::Gt => self.above.push((bound, false, rule)),
            Order::Ge => self.above.push((bound, true, rule)),
            Order::Lt => self.below.push((bound, false, rule)),
            Order::Le => self.below.push((bound, true, rule)),
        }
    }

    fn sort(&mut self) {
        self.above
            .sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        self.below
            .sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    }

    /// The rules whose range holds `value`.
    fn holding(&self, value: T) -> impl Iterator<Item = usize> + '_ {
        let satisfied = |ordering: Ordering, inclusive: bool| {
            ordering == Ordering::Less || (ordering == Ordering::Equal && inclusive)
        };
        let above = self
            .above
            .partition_point(|(bound, inclusive, _)| satisfied(bound.order(&value), *inclusive));
        let below = self
            .below
            .partition_point(|(bound, inclusive, _)| satisfied(value.order(bound), *inclusive));
        let above = self.above.get(..above).unwrap_or(&[]);
        let below = self.below.get(..below).unwrap_or(&[]);
        above.iter().chain(below).map(|e| e.2)
    }

    /// Every rule, for a value of another type (which the plain scan reports as an error).
    fn all(&self) -> impl Iterator<Item = usize> + '_ {
        self.above.iter().chain(&self.below).map(|e| e.2)
    }

    fn is_empty(&self) -> bool {
        self.above.is_empty() && self.below.is_empty()
    }
}

/// What a rule can be indexed on.
enum Key<'a> {
    /// Equality with, or membership in, these strings.
    Strings {
        exact: Vec<&'a str>,
        normalized: Vec<&'a str>,
    },
    /// An ordered comparison with a number.
    Number(Order, Decimal),
    /// An ordered comparison with a date.
    Date(Order, Date),
    /// `exists`.
    Present,
}

/// A record's value at an indexed path, as the index sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Probe<'a> {
    /// No value (missing or null).
    Missing,
    /// A string.
    Text(&'a str),
    /// A number.
    Number(Decimal),
    /// A date.
    Date(Date),
    /// Anything else: a boolean, list or mapping.
    Other,
}

impl RuleIndex {
    /// Builds the index of a program's rules, given each rule's first clause.
    pub(crate) fn build<'a>(first_clauses: impl Iterator<Item = Option<&'a Expr>>) -> RuleIndex {
        let mut index = RuleIndex::default();
        for (rule, clause) in first_clauses.enumerate() {
            let Some((path, key)) = clause.and_then(key_of) else {
                index.always.insert(rule);
                continue;
            };
            let position = match index.paths.iter().position(|p| p.path == path) {
                Some(position) => position,
                None => {
                    index.paths.push(PathIndex {
                        path: path.to_vec(),
                        ..PathIndex::default()
                    });
                    index.paths.len() - 1
                }
            };
            let Some(path_index) = index.paths.get_mut(position) else {
                continue;
            };
            path_index.add(key, rule);
        }
        for path_index in &mut index.paths {
            path_index.numbers.sort();
            path_index.dates.sort();
        }
        index
    }
}

impl PathIndex {
    fn add(&mut self, key: Key<'_>, rule: usize) {
        match key {
            Key::Strings { exact, normalized } => {
                self.equality.push(rule);
                for text in exact {
                    let bucket = self.exact.entry(text.into()).or_default();
                    if bucket.last() != Some(&rule) {
                        bucket.push(rule);
                    }
                }
                for text in normalized {
                    let bucket = self.normalized.entry(text.to_string()).or_default();
                    if bucket.last() != Some(&rule) {
                        bucket.push(rule);
                    }
                }
            }
            Key::Number(order, bound) => self.numbers.add(order, bound, rule),
            Key::Date(order, bound) => self.dates.add(order, bound, rule),
            Key::Present => self.present.push(rule),
        }
    }

    /// Adds to `out` the rules of this path that a record whose value at the path is `probe`
    /// may meet. `at` is where a plain string, number or
    /// date value stands: a rule whose key the value meets has its test true there, which
    /// `decided` (by rule) is given. `scratch` is reused for normalising.
    pub(crate) fn candidates(
        &self,
        (probe, at): (Probe<'_>, Option<Span>),
        (out, decided): (&mut RuleSet, &mut [Option<Span>]),
        scratch: &mut String,
    ) {
        let mut out = Found { out, decided };
        if let Probe::Missing = probe {
            return;
        }
        out.push(self.present.iter().copied(), at);
        self.equal_candidates(probe, at, &mut out, scratch);
        if !self.numbers.is_empty() {
            let number = match probe {
                Probe::Number(n) => Some(n),
                Probe::Text(text) => parse_data_number(text),
                _ => None,
            };
            match number {
                Some(n) => out.push(self.numbers.holding(n), at),
                None => out.push(self.numbers.all(), None),
            }
        }
        if !self.dates.is_empty() {
            let date = match probe {
                Probe::Date(d) => Some(d),
                Probe::Text(text) => parse_data_date(text),
                _ => None,
            };
            match date {
                Some(d) => out.push(self.dates.holding(d), at),
                None => out.push(self.dates.all(), None),
            }
        }
    }

    /// Adds the rules keyed by equality or membership that `probe` may meet: decided at `at`
    /// those whose key it meets, or all of them undecided when the value is not a plain string
    /// the keys can decide.
    fn equal_candidates(
        &self,
        probe: Probe<'_>,
        at: Option<Span>,
        out: &mut Found<'_>,
        scratch: &mut String,
    ) {
        if self.equality.is_empty() {
            return;
        }
        let text = match probe {
            Probe::Text(text) if parse_data_date(text).is_none() => text,
            _ => return out.push(self.equality.iter().copied(), None),
        };
        if let Some(rules) = self.exact.get(text) {
            out.push(rules.iter().copied(), at);
        }
        if !self.normalized.is_empty() {
            super::program::normalize_into(text, scratch);
            if let Some(rules) = self.normalized.get(scratch.as_str()) {
                out.push(rules.iter().copied(), at);
            }
        }
    }
}

/// Where [`PathIndex::candidates`] puts the rules it finds.
struct Found<'a> {
    out: &'a mut RuleSet,
    decided: &'a mut [Option<Span>],
}

impl Found<'_> {
    /// Adds `rules`, each with its test true at `decided` when that is given.
    fn push(&mut self, rules: impl Iterator<Item = usize>, decided: Option<Span>) {
        for rule in rules {
            self.out.insert(rule);
            if let Some(at) = decided
                && let Some(slot) = self.decided.get_mut(rule)
            {
                *slot = Some(at);
            }
        }
    }
}

/// The path and index key of a first clause, if it has one.
fn key_of(expr: &Expr) -> Option<(&[Segment], Key<'_>)> {
    match &expr.kind {
        // `and` evaluates its first operand first: if that is false, nothing else runs.
        ExprKind::And(items) => key_of(items.first()?),
        ExprKind::Equals {
            left,
            right,
            aliases,
            negated: false,
        } => {
            let ExprKind::Field(path) = &left.kind else {
                return None;
            };
            let ExprKind::Const(Const::String(text)) = &right.kind else {
                return None;
            };
            // Two date strings are equal as dates: such a constant cannot be keyed by its text.
            // Nor can an alias with patterns be looked up by spelling.
            if parse_data_date(text).is_some() || aliases.as_ref().is_some_and(|a| a.has_patterns())
            {
                return None;
            }
            let normalized = aliases
                .as_ref()
                .map(|a| a.normalized.iter().map(String::as_str).collect())
                .unwrap_or_default();
            Some((
                path,
                Key::Strings {
                    exact: vec![text],
                    normalized,
                },
            ))
        }
        ExprKind::InSet(needle, set, false)
            if set.others.is_empty() && !set.aliases.has_patterns() =>
        {
            let ExprKind::Field(path) = &needle.kind else {
                return None;
            };
            Some((
                path,
                Key::Strings {
                    exact: set.strings.iter().map(|s| &**s).collect(),
                    normalized: set.aliases.normalized.iter().map(String::as_str).collect(),
                },
            ))
        }
        ExprKind::Order(order, left, right) => {
            let (path, order, bound) = match (&left.kind, &right.kind) {
                (ExprKind::Field(path), ExprKind::Const(c)) => (path, *order, c),
                (ExprKind::Const(c), ExprKind::Field(path)) => (path, flipped(*order), c),
                _ => return None,
            };
            match bound {
                Const::Number(n) => Some((path, Key::Number(order, *n))),
                Const::Date(d) => Some((path, Key::Date(order, *d))),
                _ => None,
            }
        }
        ExprKind::Exists(inner) => match &inner.kind {
            ExprKind::Field(path) if !path.is_empty() => Some((path, Key::Present)),
            _ => None,
        },
        _ => None,
    }
}

/// `a < b` is `b > a`.
pub(crate) fn flipped(order: Order) -> Order {
    match order {
        Order::Lt => Order::Gt,
        Order::Le => Order::Ge,
        Order::Gt => Order::Lt,
        Order::Ge => Order::Le,
    }
}

#[cfg(test)]
mod tests {
    use super::RuleSet;

    #[test]
    fn a_rule_set_gives_each_rule_once_in_rule_order() {
        let mut always = RuleSet::default();
        always.insert(3);
        let mut set = RuleSet::default();
        set.insert(700);
        set.copy_from(&always);
        for rule in [130, 0, 63, 64, 3, 130, 1000, 64] {
            set.insert(rule);
        }
        assert_eq!(set.iter().collect::<Vec<_>>(), [0, 3, 63, 64, 130, 1000]);
        set.copy_from(&RuleSet::default());
        assert_eq!(set.iter().count(), 0);
    }
}
