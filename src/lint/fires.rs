//! Rules that can never fire, rules that fire on every record, and rules whose findings an
//! earlier rule already gives. Only the decidable cases: a rule's conditions are read as a
//! conjunction of comparisons of a field with constants; anything else is left alone, so these
//! lints have no false positives.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::compile::{CompiledRule, Const, Expr, ExprKind, Order, Program, Segment};
use crate::diagnostic::{Diag, Severity};
use crate::source::Span;
use crate::value::{parse_data_date, parse_data_number};

/// Reports rules that never fire, always fire, or are covered by an earlier rule.
pub fn check(program: &Program, diags: &mut Vec<Diag>) {
    let mut slots: HashMap<usize, &str> = HashMap::new();
    for (name, slot) in &program.root_fields {
        slots.insert(*slot, name);
    }
    let mut never = vec![false; program.rules.len()];
    for (i, rule) in program.rules.iter().enumerate() {
        if let Some(diag) = never_fires(rule, &slots) {
            diags.push(diag);
            if let Some(n) = never.get_mut(i) {
                *n = true;
            }
        } else if let Some(diag) = always_fires(rule) {
            diags.push(diag);
        }
    }
    let atoms: Vec<Option<BTreeSet<String>>> = program.rules.iter().map(atom_texts).collect();
    let allowed: Vec<HashMap<String, Allowed>> = program
        .rules
        .iter()
        .map(|r| constraints(r, &slots))
        .collect();
    for (j, later) in program.rules.iter().enumerate() {
        let Some(Some(later_atoms)) = atoms.get(j) else {
            continue;
        };
        let Some(later_allowed) = allowed.get(j) else {
            continue;
        };
        if never.get(j).copied().unwrap_or(false) {
            continue;
        }
        let covering = program
            .rules
            .iter()
            .enumerate()
            .take(j)
            .find(|(i, earlier)| {
                let Some(Some(earlier_atoms)) = atoms.get(*i) else {
                    return false;
                };
                earlier.effect == later.effect
                    && Arc::ptr_eq(&earlier.source, &later.source)
                    && !never.get(*i).copied().unwrap_or(false)
                    && earlier.require.is_none()
                    && implies(earlier, earlier_atoms, later_atoms, later_allowed, &slots)
                    && match (&earlier.unless, &later.unless) {
                        (None, _) => true,
                        (Some(a), Some(b)) => a.text == b.text,
                        (Some(_), None) => false,
                    }
            });
        if let Some((_, earlier)) = covering {
            diags.push(
                Diag::error(
                    "caveat::lint::shadowed_rule",
                    format!(
                        "every finding of rule `{}` is already a finding of the earlier rule `{}`",
                        later.id, earlier.id
                    ),
                )
                .with_severity(Severity::Warning)
                .label(&later.source, later.span, "this rule adds nothing")
                .label(
                    &earlier.source,
                    earlier.span,
                    "this rule fires whenever it does",
                )
                .help(
                    "remove it, or give it a condition that makes it differ from the earlier rule",
                ),
            );
        }
    }
}

/// The texts of a rule's conditions, split at `and`, for comparing rules; `None` for a
/// `require` rule.
fn atom_texts(rule: &CompiledRule) -> Option<BTreeSet<String>> {
    if rule.require.is_some() {
        return None;
    }
    let mut out = BTreeSet::new();
    for clause in &rule.conditions {
        for atom in conjuncts(&clause.expr) {
            out.insert(crate::compile::collapse_whitespace(
                rule.source.slice(atom.span),
            ));
        }
    }
    Some(out)
}

/// Whether every condition of `earlier` holds whenever the conditions of the later rule do: the
/// same text, or a comparison with constants that the later rule's own comparisons of that field
/// imply (`vendor DJI` implies `vendor in [DJI, Autel]`; `amount > 5000` implies `amount > 1000`).
fn implies(
    earlier: &CompiledRule,
    earlier_atoms: &BTreeSet<String>,
    later_atoms: &BTreeSet<String>,
    later_allowed: &HashMap<String, Allowed>,
    slots: &HashMap<usize, &str>,
) -> bool {
    if earlier_atoms.is_subset(later_atoms) {
        return true;
    }
    earlier
        .conditions
        .iter()
        .flat_map(|c| conjuncts(&c.expr))
        .all(|e| {
            let text = crate::compile::collapse_whitespace(earlier.source.slice(e.span));
            if later_atoms.contains(&text) {
                return true;
            }
            let Some((path, atom)) = atom(e, slots) else {
                return false;
            };
            let Some(later) = later_allowed.get(&path) else {
                return false;
            };
            match atom {
                Atom::Text(set) => later.text.as_ref().is_some_and(|t| t.is_subset(&set)),
                Atom::Number(b) => later.number.as_ref().is_some_and(|r| within(r, &b)),
                Atom::Date(b) => later.date.as_ref().is_some_and(|r| within(r, &b)),
            }
        })
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

/// What a rule's comparisons with constants allow each field path to be.
fn constraints(rule: &CompiledRule, slots: &HashMap<usize, &str>) -> HashMap<String, Allowed> {
    let mut fields: HashMap<String, Allowed> = HashMap::new();
    for e in rule.conditions.iter().flat_map(|c| conjuncts(&c.expr)) {
        if let Some((path, atom)) = atom(e, slots) {
            fields.entry(path).or_default().add(atom);
        }
    }
    fields
}

/// The operands of nested `and`s.
fn conjuncts(expr: &Expr) -> Vec<&Expr> {
    match &expr.kind {
        ExprKind::And(items) => items.iter().flat_map(conjuncts).collect(),
        _ => vec![expr],
    }
}

fn is_const_bool(expr: &Expr, value: bool) -> bool {
    matches!(expr.kind, ExprKind::Const(Const::Bool(b)) if b == value)
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
        Diag::error(
            "caveat::lint::always_fires",
            format!("rule `{}` fires on every record", rule.id),
        )
        .with_severity(Severity::Warning)
        .label(
            &rule.source,
            rule.span,
            "nothing here depends on the record",
        )
        .help("add a filter or a `when` condition that says which records the rule is about"),
    )
}

/// What one comparison of a field with a constant allows.
enum Atom {
    /// Equal to a string that is neither a number nor a date.
    Text(BTreeSet<String>),
    Number(Bound<Decimal>),
    Date(Bound<jiff::civil::Date>),
}

/// `value OP field`, as a range: equality is both bounds.
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

/// The field path of an expression, when it is a plain path of keys.
fn field_path(expr: &Expr, slots: &HashMap<usize, &str>) -> Option<String> {
    let (mut path, rest) = match &expr.kind {
        ExprKind::Field(path) => (Vec::new(), path),
        ExprKind::RootField(slot, rest) => (vec![slots.get(slot)?.to_string()], rest),
        _ => return None,
    };
    for segment in rest {
        match segment {
            Segment::Key(k) => path.push(k.to_string()),
            Segment::Index(_) => return None,
        }
    }
    Some(path.join("."))
}

/// A comparison of a field with a constant, as the field and what it allows.
fn atom(expr: &Expr, slots: &HashMap<usize, &str>) -> Option<(String, Atom)> {
    match &expr.kind {
        ExprKind::Equals {
            left,
            right,
            aliases: None,
            negated: false,
        } => {
            let path = field_path(left, slots)?;
            let ExprKind::Const(c) = &right.kind else {
                return None;
            };
            let allowed = match c {
                Const::String(s) if plain_text(s) => Atom::Text([s.to_string()].into()),
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
                (_, ExprKind::Const(c)) => (field_path(left, slots)?, c, *order),
                (ExprKind::Const(c), _) => (field_path(right, slots)?, c, flip(*order)),
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
            let path = field_path(needle, slots)?;
            let plain = set.aliases.normalized.is_empty()
                && set.others.is_empty()
                && set.strings.iter().all(|s| plain_text(s));
            plain.then(|| {
                let strings = set.strings.iter().map(|s| s.to_string()).collect();
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
struct Allowed {
    text: Option<BTreeSet<String>>,
    number: Option<Bound<Decimal>>,
    date: Option<Bound<jiff::civil::Date>>,
    spans: Vec<Span>,
}

impl Allowed {
    /// Narrows what the field may be by one comparison; true when nothing is left.
    fn add(&mut self, atom: Atom) -> bool {
        match atom {
            Atom::Text(set) => {
                let narrowed: BTreeSet<String> = match self.text.take() {
                    Some(before) => before.intersection(&set).cloned().collect(),
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

fn never_fires(rule: &CompiledRule, slots: &HashMap<usize, &str>) -> Option<Diag> {
    let diag = |span: Span, label: &str| {
        Diag::error(
            "caveat::lint::never_fires",
            format!("rule `{}` can never fire", rule.id),
        )
        .label(&rule.source, span, label.to_string())
    };
    let help = "remove the rule, or fix the condition that contradicts the others";
    for clause in &rule.conditions {
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
        return Some(diag(unless.span, "this excuses every record").help(help));
    }
    if let Some(require) = rule
        .require
        .as_ref()
        .filter(|r| is_const_bool(&r.expr, true))
    {
        return Some(diag(require.span, "this always holds").help(help));
    }
    let mut fields: HashMap<String, Allowed> = HashMap::new();
    let atoms = rule
        .conditions
        .iter()
        .flat_map(|c| conjuncts(&c.expr))
        .filter_map(|e| atom(e, slots).map(|a| (e.span, a)));
    for (span, (path, atom)) in atoms {
        let allowed = fields.entry(path.clone()).or_default();
        let contradiction = allowed.add(atom);
        if contradiction {
            let mut d = diag(span, &format!("`{path}` cannot also be this"));
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
