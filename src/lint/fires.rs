//! Rules that can never fire, rules that fire on every record, and rules whose findings an
//! earlier rule already gives. Only the decidable cases: a rule's conditions are read as a
//! conjunction of comparisons of a field with constants; anything else is left alone, so these
//! lints have no false positives. The analysis borrows from the program and allocates little:
//! it runs on every `check`, on policy sets of thousands of rules.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::compile::{CompiledRule, Const, Expr, ExprKind, Order, Program, Segment};
use crate::diagnostic::{Code, Diag};
use crate::source::Span;
use crate::value::{parse_data_date, parse_data_number};

/// A field path from the record's root: the slot of its top-level field, then the steps.
type Path<'r> = (usize, &'r [Segment]);

/// Reports rules that never fire and, with `warnings`, rules that always fire or are covered by
/// an earlier rule.
///
/// Rules marked in `skip` (those with a type error) are left alone.
pub fn check(program: &Program, skip: &[bool], warnings: bool, diags: &mut Vec<Diag>) {
    let slots = program.root_field_names();
    // Rules are independent until they are compared: work them out on all cores.
    let verdicts: Vec<(Option<Diag>, bool)> = crate::check::map_rules(&program.rules, |i, rule| {
        if skip.get(i).copied().unwrap_or(false) {
            // Neither reported nor compared: `true` keeps it out of the comparisons.
            return (None, true);
        }
        if let Some(across) = &rule.across {
            // A rule across records is decided on groups, which the comparisons do not model;
            // a clause that is constant (`where false`, `having false`) is decided all the same.
            let clauses = rule.conditions.iter().chain(&across.filters);
            let clauses = clauses.chain(&across.where_).chain(&across.having);
            return (constant_never(rule, clauses), true);
        }
        match never_fires(rule, &slots) {
            Some(diag) => (Some(diag), true),
            None if warnings => (always_fires(rule), false),
            None => (None, false),
        }
    });
    // Rules that never fire (or have a type error) neither cover nor are covered.
    let never: Vec<bool> = verdicts.iter().map(|(_, never)| *never).collect();
    diags.extend(verdicts.into_iter().filter_map(|(diag, _)| diag));
    if !warnings {
        return;
    }
    // What each rule that may cover or be covered says, worked out once.
    // A rule whose conditions read its own lets is left out: the same text (`x > 5`) means
    // something else in another rule, whose `x` is another let.
    let facts: Vec<Option<Facts<'_>>> = crate::check::map_rules(&program.rules, |i, rule| {
        let never = never.get(i).copied().unwrap_or(true);
        let reads_lets = rule
            .conditions
            .iter()
            .chain(&rule.unless)
            .any(|c| c.expr.reads().lets);
        (rule.require.is_none() && !never && !reads_lets).then(|| Facts::of(rule))
    });
    // Each rule that could cover later ones, filed under keys one of which every rule it covers
    // has.
    let mut by_key: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, found) in facts.iter().enumerate() {
        for key in found.iter().flat_map(Facts::filing) {
            by_key.entry(key).or_default().push(i);
        }
    }
    let shadowed: Vec<Option<Diag>> =
        crate::check::map_rules(&program.rules, |j, _| shadowed(program, &facts, &by_key, j));
    diags.extend(shadowed.into_iter().flatten());
}

/// The `shadowed_rule` warning of rule `j`, if an earlier rule covers it.
fn shadowed(
    program: &Program,
    facts: &[Option<Facts<'_>>],
    by_key: &HashMap<u64, Vec<usize>>,
    j: usize,
) -> Option<Diag> {
    let later = program.rules.get(j)?;
    let later_facts = facts.get(j)?.as_ref()?;
    let mut candidates: Vec<usize> = later_facts
        .lookups()
        .iter()
        .filter_map(|key| by_key.get(key))
        .flatten()
        .copied()
        .filter(|&i| i < j)
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    let earlier = candidates.into_iter().find_map(|i| {
        let earlier = program.rules.get(i)?;
        let earlier_facts = facts.get(i)?.as_ref()?;
        // Where a waiver excuses the earlier rule, the later one still reports.
        let waived = program.waivers.iter().any(|w| w.rule == i);
        let covers = earlier.effect == later.effect
            && !waived
            && Arc::ptr_eq(&earlier.source, &later.source)
            && earlier_facts.implied_by(later_facts)
            && match (&earlier.unless, &later.unless) {
                (None, _) => true,
                (Some(a), Some(b)) => a.text == b.text,
                (Some(_), None) => false,
            };
        covers.then_some(earlier)
    })?;
    Some(
        Diag::warning(
            Code::LintShadowedRule,
            format!(
                "every finding of rule `{}` is already a finding of the earlier rule `{}`",
                later.id, earlier.id
            ),
        )
        .label(&later.source, later.span, "this rule adds nothing")
        .label(
            &earlier.source,
            earlier.span,
            "this rule fires whenever it does",
        )
        .help("remove it, or give it a condition that makes it differ from the earlier rule"),
    )
}

/// A rule's conditions, split at `and`: each one's text and, for a comparison of a field with
/// constants, what it allows; and what they allow each field together.
struct Facts<'r> {
    conjuncts: Vec<(&'r str, Option<(Path<'r>, Atom<'r>)>)>,
    /// The texts, sorted.
    texts: Vec<&'r str>,
    allowed: Vec<(Path<'r>, Allowed<'r>)>,
}

impl<'r> Facts<'r> {
    fn of(rule: &'r CompiledRule) -> Facts<'r> {
        let mut facts = Facts {
            conjuncts: Vec::new(),
            texts: Vec::new(),
            allowed: Vec::new(),
        };
        for e in rule.conditions.iter().flat_map(|c| conjuncts(&c.expr)) {
            let text = rule.source.slice(e.span);
            let found = atom(e);
            if let Some((path, a)) = &found
                && let Some(allowed) = allowed_mut(&mut facts.allowed, *path)
            {
                allowed.add(a.clone());
            }
            facts.texts.push(text);
            facts.conjuncts.push((text, found));
        }
        facts.texts.sort_unstable();
        facts.texts.dedup();
        facts
    }

    fn has_text(&self, text: &str) -> bool {
        self.texts.binary_search(&text).is_ok()
    }

    fn allowed(&self, path: Path<'_>) -> Option<&Allowed<'r>> {
        self.allowed
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, a)| a)
    }

    /// Whether every condition of this (earlier) rule holds whenever those of `later` do: the
    /// same text, or a comparison with constants that the later rule's own comparisons of that
    /// field imply (`vendor DJI` implies `vendor in [DJI, Autel]`; `amount > 5000` implies
    /// `amount > 1000`).
    fn implied_by(&self, later: &Facts<'_>) -> bool {
        self.conjuncts.iter().all(|(text, found)| {
            if later.has_text(text) {
                return true;
            }
            let Some((path, atom)) = found else {
                return false;
            };
            let Some(allowed) = later.allowed(*path) else {
                return false;
            };
            match atom {
                Atom::Text(set) => allowed
                    .text
                    .as_ref()
                    .is_some_and(|t| t.iter().all(|v| set.binary_search(v).is_ok())),
                Atom::Number(b) => allowed.number.as_ref().is_some_and(|r| within(r, b)),
                Atom::Date(b) => allowed.date.as_ref().is_some_and(|r| within(r, b)),
            }
        })
    }

    /// The keys this rule is filed under as a possible cover of later rules: a rule it covers
    /// has one of them among its [`Facts::lookups`]. A comparison with strings gives one key per
    /// string (a rule it covers allows only some of them); else the text of a condition that is
    /// not such a comparison; else the path of a range; a rule without conditions covers all.
    fn filing(&self) -> Vec<u64> {
        let text_atom = self.conjuncts.iter().find_map(|(_, found)| match found {
            Some((path, Atom::Text(set))) => Some((path, set)),
            _ => None,
        });
        if let Some((path, set)) = text_atom {
            return set.iter().map(|value| key(2, Some(*path), value)).collect();
        }
        if let Some((text, _)) = self.conjuncts.iter().find(|(_, found)| found.is_none()) {
            return vec![key(1, None, text)];
        }
        match self.allowed.first() {
            Some((path, _)) => vec![key(3, Some(*path), "")],
            None => vec![key(0, None, "")],
        }
    }

    /// The keys under which the rules that may cover this one are filed.
    fn lookups(&self) -> Vec<u64> {
        let mut keys = vec![key(0, None, "")];
        keys.extend(self.texts.iter().map(|t| key(1, None, t)));
        for (path, found) in &self.allowed {
            keys.push(key(3, Some(*path), ""));
            if let Some(value) = found.text.as_ref().and_then(|t| t.first()) {
                keys.push(key(2, Some(*path), value));
            }
        }
        keys
    }
}

/// A filing key: its kind, a path and a text, hashed (a collision only adds a candidate).
fn key(kind: u8, path: Option<Path<'_>>, text: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    kind.hash(&mut hasher);
    if let Some((slot, rest)) = path {
        slot.hash(&mut hasher);
        for segment in rest {
            match segment {
                Segment::Key(k) => k.hash(&mut hasher),
                Segment::Index(i) => i.hash(&mut hasher),
            }
        }
    }
    text.hash(&mut hasher);
    hasher.finish()
}

/// What a field may be, from a list of them, added if new.
fn allowed_mut<'a, 'r>(
    list: &'a mut Vec<(Path<'r>, Allowed<'r>)>,
    path: Path<'r>,
) -> Option<&'a mut Allowed<'r>> {
    if !list.iter().any(|(p, _)| *p == path) {
        list.push((path, Allowed::default()));
    }
    list.iter_mut().find(|(p, _)| *p == path).map(|(_, a)| a)
}

/// Whether the range `inner` lies inside `outer`.
fn within<T: Ord>(inner: &Bound<T>, outer: &Bound<T>) -> bool {
    let inside =
        |o: &Option<(T, bool)>, i: &Option<(T, bool)>, tighter: fn(&T, &T) -> bool| match (o, i) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some((o, o_strict)), Some((i, i_strict))) => {
                tighter(i, o) || (i == o && (*i_strict || !o_strict))
            }
        };
    inside(&outer.low, &inner.low, |i, o| i > o) && inside(&outer.high, &inner.high, |i, o| i < o)
}

/// The operands of nested `and`s.
fn conjuncts(expr: &Expr) -> Vec<&Expr> {
    match &expr.kind {
        ExprKind::And(items) => items.iter().flat_map(conjuncts).collect(),
        _ => vec![expr],
    }
}

/// Whether `expr` reads nothing of the record and is always `value` (`true`, `1 == 1`, `not true`).
fn is_const_bool(expr: &Expr, value: bool) -> bool {
    crate::eval::constant_condition(expr) == Some(value)
}

fn always_fires(rule: &CompiledRule) -> Option<Diag> {
    let conditions_hold = rule
        .conditions
        .iter()
        .flat_map(|c| conjuncts(&c.expr))
        .all(|e| is_const_bool(e, true));
    let not_excused = rule
        .unless
        .as_ref()
        .is_none_or(|u| is_const_bool(&u.expr, false));
    let required_fails = rule
        .require
        .as_ref()
        .is_none_or(|r| is_const_bool(&r.expr, false));
    if !(conditions_hold && not_excused && required_fails) {
        return None;
    }
    Some(
        Diag::warning(
            Code::LintAlwaysFires,
            format!("rule `{}` fires on every record", rule.id),
        )
        .label(
            &rule.source,
            rule.span,
            "nothing here depends on the record",
        )
        .help("add a filter or a `when` condition that says which records the rule is about"),
    )
}

/// What one comparison of a field with a constant allows.
#[derive(Clone)]
enum Atom<'r> {
    /// Equal to one of these strings (sorted), none of them a number or a date.
    Text(Vec<&'r str>),
    Number(Bound<Decimal>),
    Date(Bound<jiff::civil::Date>),
}

/// `value OP field`, as a range: equality is both bounds.
#[derive(Clone)]
struct Bound<T> {
    low: Option<(T, bool)>,
    high: Option<(T, bool)>,
}

/// The range `field ORDER value` allows.
fn bound<T: Copy>(order: Order, value: T) -> Bound<T> {
    match order {
        Order::Gt => Bound {
            low: Some((value, true)),
            high: None,
        },
        Order::Ge => Bound {
            low: Some((value, false)),
            high: None,
        },
        Order::Lt => Bound {
            low: None,
            high: Some((value, true)),
        },
        Order::Le => Bound {
            low: None,
            high: Some((value, false)),
        },
    }
}

fn flip(order: Order) -> Order {
    match order {
        Order::Gt => Order::Lt,
        Order::Ge => Order::Le,
        Order::Lt => Order::Gt,
        Order::Le => Order::Ge,
    }
}

/// A string that compares only as a string.
fn plain_text(s: &str) -> bool {
    parse_data_number(s).is_none() && parse_data_date(s).is_none()
}

/// The field path of an expression, when it is a plain path of keys from the record's root.
fn field_path(expr: &Expr) -> Option<Path<'_>> {
    match &expr.kind {
        ExprKind::RootField(slot, rest) if rest.iter().all(|s| matches!(s, Segment::Key(_))) => {
            Some((*slot, rest))
        }
        _ => None,
    }
}

/// A path as written, for messages.
fn show_path(path: Path<'_>, slots: &[&str]) -> String {
    let mut out = slots.get(path.0).copied().unwrap_or("").to_string();
    for segment in path.1 {
        if let Segment::Key(k) = segment {
            out.push('.');
            out.push_str(k);
        }
    }
    out
}

/// A comparison of a field with a constant, as the field and what it allows.
fn atom(expr: &Expr) -> Option<(Path<'_>, Atom<'_>)> {
    match &expr.kind {
        ExprKind::Equals {
            left,
            right,
            aliases: None,
            negated: false,
        } => {
            let path = field_path(left)?;
            let ExprKind::Const(c) = &right.kind else {
                return None;
            };
            let allowed = match c {
                Const::String(s) if plain_text(s) => Atom::Text(vec![&**s]),
                Const::Number(n) => Atom::Number(Bound {
                    low: Some((*n, false)),
                    high: Some((*n, false)),
                }),
                Const::Date(d) => Atom::Date(Bound {
                    low: Some((*d, false)),
                    high: Some((*d, false)),
                }),
                _ => return None,
            };
            Some((path, allowed))
        }
        ExprKind::Order(order, left, right) => {
            let (path, c, order) = match (&left.kind, &right.kind) {
                (_, ExprKind::Const(c)) => (field_path(left)?, c, *order),
                (ExprKind::Const(c), _) => (field_path(right)?, c, flip(*order)),
                _ => return None,
            };
            let allowed = match c {
                Const::Number(n) => Atom::Number(bound(order, *n)),
                Const::Date(d) => Atom::Date(bound(order, *d)),
                _ => return None,
            };
            Some((path, allowed))
        }
        ExprKind::InSet(needle, set, false) => {
            let path = field_path(needle)?;
            let plain = set.aliases.normalized.is_empty()
                && set.aliases.entries.is_empty()
                && set.others.is_empty()
                && set.strings.iter().all(|s| plain_text(s));
            plain.then(|| {
                let mut strings: Vec<&str> = set.strings.iter().map(|s| &**s).collect();
                strings.sort_unstable();
                (path, Atom::Text(strings))
            })
        }
        _ => None,
    }
}

/// Whether a range is empty.
fn empty<T: Ord>(low: &Option<(T, bool)>, high: &Option<(T, bool)>) -> bool {
    match (low, high) {
        (Some((l, strict_low)), Some((h, strict_high))) => {
            h < l || (h == l && (*strict_low || *strict_high))
        }
        _ => false,
    }
}

/// Narrows a range by another.
fn narrow<T: Ord + Copy>(into: &mut Bound<T>, by: &Bound<T>) {
    if let Some((v, strict)) = by.low
        && into
            .low
            .is_none_or(|(w, s)| v > w || (v == w && strict && !s))
    {
        into.low = Some((v, strict));
    }
    if let Some((v, strict)) = by.high
        && into
            .high
            .is_none_or(|(w, s)| v < w || (v == w && strict && !s))
    {
        into.high = Some((v, strict));
    }
}

/// What one field is allowed to be so far, and the spans that said so.
#[derive(Default)]
struct Allowed<'r> {
    /// One of these strings (sorted).
    text: Option<Vec<&'r str>>,
    number: Option<Bound<Decimal>>,
    date: Option<Bound<jiff::civil::Date>>,
    spans: Vec<Span>,
}

impl<'r> Allowed<'r> {
    /// Narrows what the field may be by one comparison; true when nothing is left.
    fn add(&mut self, atom: Atom<'r>) -> bool {
        match atom {
            Atom::Text(set) => {
                let narrowed = match self.text.take() {
                    Some(mut before) => {
                        before.retain(|v| set.binary_search(v).is_ok());
                        before
                    }
                    None => set,
                };
                let none = narrowed.is_empty();
                self.text = Some(narrowed);
                none
            }
            Atom::Number(b) => {
                let range = self.number.get_or_insert(Bound {
                    low: None,
                    high: None,
                });
                narrow(range, &b);
                empty(&range.low, &range.high)
            }
            Atom::Date(b) => {
                let range = self.date.get_or_insert(Bound {
                    low: None,
                    high: None,
                });
                narrow(range, &b);
                empty(&range.low, &range.high)
            }
        }
    }
}

/// The help of a rule that can never fire.
const NEVER_HELP: &str = "remove the rule, or fix the condition that contradicts the others";

/// The `never_fires` error of `rule`, at `span`.
fn never_diag(rule: &CompiledRule, span: Span, label: &str) -> Diag {
    Diag::error(
        Code::LintNeverFires,
        format!("rule `{}` can never fire", rule.id),
    )
    .label(&rule.source, span, label.to_string())
}

/// The `never_fires` error of `rule` when one of `clauses` (which must all hold) has a part that
/// is always false, or its `unless` always holds, or its `require` always holds.
fn constant_never<'r>(
    rule: &CompiledRule,
    clauses: impl Iterator<Item = &'r crate::compile::Clause>,
) -> Option<Diag> {
    let diag = |span: Span, label: &str| never_diag(rule, span, label);
    let help = NEVER_HELP;
    for clause in clauses {
        if let Some(always_false) = conjuncts(&clause.expr)
            .into_iter()
            .find(|e| is_const_bool(e, false))
        {
            return Some(diag(always_false.span, "this is always false").help(help));
        }
    }
    if let Some(unless) = rule
        .unless
        .as_ref()
        .filter(|u| is_const_bool(&u.expr, true))
    {
        let excused = match &rule.across {
            Some(across) if !across.keys.is_empty() => "this excuses every group",
            _ => "this excuses every record",
        };
        return Some(diag(unless.span, excused).help(help));
    }
    if let Some(require) = rule
        .require
        .as_ref()
        .filter(|r| is_const_bool(&r.expr, true))
    {
        return Some(diag(require.span, "this always holds").help(help));
    }
    None
}

/// The `never_fires` error of a rule of one record: a constant clause, or comparisons of one
/// field that no value meets together.
fn never_fires(rule: &CompiledRule, slots: &[&str]) -> Option<Diag> {
    if let Some(diag) = constant_never(rule, rule.conditions.iter()) {
        return Some(diag);
    }
    let diag = |span: Span, label: &str| never_diag(rule, span, label);
    let help = NEVER_HELP;
    let mut fields: Vec<(Path<'_>, Allowed<'_>)> = Vec::new();
    let atoms = rule
        .conditions
        .iter()
        .flat_map(|c| conjuncts(&c.expr))
        .filter_map(|e| atom(e).map(|a| (e.span, a)));
    for (span, (path, atom)) in atoms {
        let Some(allowed) = allowed_mut(&mut fields, path) else {
            continue;
        };
        if allowed.add(atom) {
            let shown = show_path(path, slots);
            let mut d = diag(span, &format!("`{shown}` cannot also be this"));
            for earlier in allowed.spans.iter().rev() {
                if *earlier != span {
                    d = d.label(&rule.source, *earlier, "given this");
                    break;
                }
            }
            return Some(d.help(help));
        }
        allowed.spans.push(span);
    }
    None
}
