//! The rule index: a record meets only the rules that can match it.
//!
//! A rule whose first clause is `PATH == "text"` or `PATH in LIST` (of strings and aliased
//! symbols) cannot fire, nor fail, on a record whose value at PATH is missing or a string outside
//! its keys. Such rules are bucketed by key, per path; every other rule is always a candidate.
//! Wherever the plain scan could behave differently (the value is not a plain string, or looks like
//! a date, which `==` compares as a date), the index gives back every rule of that path.

use std::collections::HashMap;

use super::program::{Const, Expr, ExprKind, Segment};
use crate::value::parse_data_date;

/// Rules bucketed by the value their first clause compares a field with.
#[derive(Debug, Clone, Default)]
pub struct RuleIndex {
    /// One index per field path that some rule's first clause tests.
    pub paths: Vec<PathIndex>,
    /// Rules that are candidates for every record, in rule order.
    pub always: Vec<usize>,
}

/// The rules whose first clause tests one field path.
#[derive(Debug, Clone, Default)]
pub struct PathIndex {
    /// The field path.
    pub path: Vec<Segment>,
    /// Exact string → rules.
    pub exact: HashMap<Box<str>, Vec<usize>>,
    /// Alias-normalised string → rules.
    pub normalized: HashMap<String, Vec<usize>>,
    /// Every rule of this path, in rule order: the fallback.
    pub rules: Vec<usize>,
}

/// What a rule can be indexed on.
struct Key<'a> {
    path: &'a [Segment],
    exact: Vec<&'a str>,
    normalized: Vec<&'a str>,
}

impl RuleIndex {
    /// Builds the index of a program's rules, given each rule's first clause.
    pub fn build<'a>(first_clauses: impl Iterator<Item = Option<&'a Expr>>) -> RuleIndex {
        let mut index = RuleIndex::default();
        for (rule, clause) in first_clauses.enumerate() {
            let Some(key) = clause.and_then(key_of) else {
                index.always.push(rule);
                continue;
            };
            let position = match index.paths.iter().position(|p| p.path == key.path) {
                Some(position) => position,
                None => {
                    index.paths.push(PathIndex {
                        path: key.path.to_vec(),
                        ..PathIndex::default()
                    });
                    index.paths.len() - 1
                }
            };
            let Some(path_index) = index.paths.get_mut(position) else {
                continue;
            };
            path_index.rules.push(rule);
            for text in key.exact {
                let bucket = path_index.exact.entry(text.into()).or_default();
                if bucket.last() != Some(&rule) {
                    bucket.push(rule);
                }
            }
            for text in key.normalized {
                let bucket = path_index.normalized.entry(text.to_string()).or_default();
                if bucket.last() != Some(&rule) {
                    bucket.push(rule);
                }
            }
        }
        index
    }
}

/// The index key of a first clause, if it has one.
fn key_of(expr: &Expr) -> Option<Key<'_>> {
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
            if parse_data_date(text).is_some() {
                return None;
            }
            Some(Key {
                path,
                exact: vec![text],
                normalized: aliases
                    .as_ref()
                    .map(|a| a.normalized.iter().map(String::as_str).collect())
                    .unwrap_or_default(),
            })
        }
        ExprKind::InSet(needle, set, false) if set.others.is_empty() => {
            let ExprKind::Field(path) = &needle.kind else {
                return None;
            };
            Some(Key {
                path,
                exact: set.strings.iter().map(|s| &**s).collect(),
                normalized: set.aliases.normalized.iter().map(String::as_str).collect(),
            })
        }
        _ => None,
    }
}

/// What the index says about one path for one record.
pub enum Candidates<'i> {
    /// The value is missing: none of the path's rules can fire or fail.
    None,
    /// A plain string: these rules (exact matches, then alias matches).
    Some(&'i [usize], &'i [usize]),
    /// Anything else: every rule of the path.
    All(&'i [usize]),
}

impl PathIndex {
    /// The rules of this path that a record whose value at the path is `value` may meet.
    /// `scratch` is reused for normalising the value.
    pub fn candidates<'i>(
        &'i self,
        value: Option<&str>,
        missing: bool,
        scratch: &mut String,
    ) -> Candidates<'i> {
        if missing {
            return Candidates::None;
        }
        let Some(text) = value else {
            return Candidates::All(&self.rules);
        };
        if parse_data_date(text).is_some() {
            return Candidates::All(&self.rules);
        }
        let exact = self.exact.get(text).map_or(&[][..], Vec::as_slice);
        let normalized = if self.normalized.is_empty() {
            &[][..]
        } else {
            scratch.clear();
            scratch.extend(super::program::normalized_chars(text));
            self.normalized
                .get(scratch.as_str())
                .map_or(&[][..], Vec::as_slice)
        };
        Candidates::Some(exact, normalized)
    }
}
