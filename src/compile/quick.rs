//! Quick tests: a rule's clauses in a form that can be decided from the record's values alone,
//! without the general evaluation's operands, for the common shapes (a field compared with a
//! constant, membership in a constant set, `exists`, `matches`, arithmetic over number fields,
//! and `and`, `or`, `not` of these).
//!
//! A quick test answers only when it is sure to answer as the general evaluation would: a value
//! of another type than it expects (which may be an error, or a string read as a number or a
//! date), a path that meets a list, or arithmetic that fails leaves it undecided, and the
//! general evaluation decides. Most records meet most rules without a finding: for them, the
//! quick test is the whole evaluation ([`crate::eval`]).

use std::sync::Arc;

use jiff::civil::Date;
use rust_decimal::Decimal;

use super::index::flipped;
use super::program::{Clause, CompiledRule, Const, ConstSet, Expr, ExprKind, Order, Segment};
use crate::syntax::ast::ArithOp;

/// The quick tests of one rule's clauses, in the order the rule evaluates them; `None` where a
/// clause has no quick form.
#[derive(Debug, Clone, Default)]
pub struct QuickRule {
    /// The filters and the `when` clause.
    pub conditions: Vec<Option<Quick>>,
    /// The `unless` clause, when the rule has one.
    pub unless: Option<Option<Quick>>,
    /// The `require` clause, when the rule has one.
    pub require: Option<Option<Quick>>,
}

impl QuickRule {
    /// The quick tests of `rule`'s clauses; `None` for a rule across records (evaluated apart)
    /// or a rule none of whose clauses has a quick form.
    pub(crate) fn of(rule: &CompiledRule) -> Option<QuickRule> {
        if rule.across.is_some() {
            return None;
        }
        let of = |clause: &Clause| Quick::of(&clause.expr);
        let quick = QuickRule {
            conditions: rule.conditions.iter().map(of).collect(),
            unless: rule.unless.as_ref().map(of),
            require: rule.require.as_ref().map(of),
        };
        let any = quick
            .conditions
            .iter()
            .chain(quick.unless.iter())
            .chain(quick.require.iter())
            .any(Option::is_some);
        any.then_some(quick)
    }
}

/// A record value by its place: a top-level field's slot, then the steps from it.
#[derive(Debug, Clone)]
pub struct Place {
    /// The slot of the top-level field ([`super::Program::root_fields`]).
    pub slot: usize,
    /// The steps after it.
    pub rest: Vec<Segment>,
}

/// A clause's quick form.
#[derive(Debug, Clone)]
pub enum Quick {
    /// `NUMBER < > <= >= CONSTANT` (a constant on the left is flipped to the right).
    Order(Number, Order, Bound),
    /// `FIELD == CONSTANT`, or `!=` when negated.
    Equals {
        /// The field.
        at: Place,
        /// The constant.
        constant: Const,
        /// The other spellings of an aliased symbol.
        aliased: bool,
        /// `!=`.
        negated: bool,
    },
    /// `FIELD in SET`, or `not in` when negated.
    InSet(Place, Arc<ConstSet>, bool),
    /// `FIELD matches /…/`.
    Matches(Place, Arc<regex::Regex>),
    /// `FIELD exists`.
    Exists(Place),
    /// `FIELD is missing`.
    Missing(Place),
    /// `not`.
    Not(Box<Quick>),
    /// `and`, left to right.
    And(Vec<Quick>),
    /// `or`, left to right.
    Or(Vec<Quick>),
}

/// The constant side of an order test.
#[derive(Debug, Clone, Copy)]
pub enum Bound {
    /// A number.
    Number(Decimal),
    /// A date.
    Date(Date),
}

/// The value side of an order test: a field (a number, or a date against a date bound), a
/// constant number, or arithmetic over number fields and constants.
#[derive(Debug, Clone)]
pub enum Number {
    /// A field.
    Field(Place),
    /// A constant number.
    Const(Decimal),
    /// A chain of `+ -` or `* /`: the first operand, then each operator and operand.
    Arith(Box<Number>, Vec<(ArithOp, Number)>),
}

impl Quick {
    /// The quick form of a condition, if it has one.
    pub(crate) fn of(expr: &Expr) -> Option<Quick> {
        Some(match &expr.kind {
            ExprKind::Not(inner) => Quick::Not(Box::new(Quick::of(inner)?)),
            ExprKind::And(items) => Quick::And(items.iter().map(Quick::of).collect::<Option<_>>()?),
            ExprKind::Or(items) => Quick::Or(items.iter().map(Quick::of).collect::<Option<_>>()?),
            ExprKind::Order(order, left, right) => match (&left.kind, &right.kind) {
                (_, ExprKind::Const(c)) => Quick::Order(Number::of(left)?, *order, bound(c)?),
                (ExprKind::Const(c), _) => {
                    Quick::Order(Number::of(right)?, flipped(*order), bound(c)?)
                }
                _ => return None,
            },
            ExprKind::Equals {
                left,
                right,
                aliases,
                negated,
            } => {
                let ExprKind::Const(constant) = &right.kind else {
                    return None;
                };
                if !matches!(
                    constant,
                    Const::String(_) | Const::Number(_) | Const::Date(_) | Const::Bool(_)
                ) {
                    return None;
                }
                Quick::Equals {
                    at: Place::of(left)?,
                    constant: constant.clone(),
                    aliased: aliases.is_some(),
                    negated: *negated,
                }
            }
            ExprKind::InSet(needle, set, negated) => {
                Quick::InSet(Place::of(needle)?, set.clone(), *negated)
            }
            ExprKind::Matches(subject, regex) => Quick::Matches(Place::of(subject)?, regex.clone()),
            ExprKind::Exists(inner) => Quick::Exists(Place::of(inner)?),
            ExprKind::Missing(inner) => Quick::Missing(Place::of(inner)?),
            _ => return None,
        })
    }
}

impl Place {
    /// The place a path from a top-level field names.
    fn of(expr: &Expr) -> Option<Place> {
        match &expr.kind {
            ExprKind::RootField(slot, rest) => Some(Place {
                slot: *slot,
                rest: rest.clone(),
            }),
            _ => None,
        }
    }
}

impl Number {
    /// The quick form of a number-valued expression, if it has one.
    fn of(expr: &Expr) -> Option<Number> {
        Some(match &expr.kind {
            ExprKind::RootField(..) => Number::Field(Place::of(expr)?),
            ExprKind::Const(Const::Number(n)) => Number::Const(*n),
            ExprKind::Arith(first, rest) => Number::Arith(
                Box::new(Number::of(first)?),
                rest.iter()
                    .map(|(op, _, operand)| Some((*op, Number::of(operand)?)))
                    .collect::<Option<_>>()?,
            ),
            _ => return None,
        })
    }
}

/// The bound of an order test: a number or a date constant.
pub(crate) fn bound(constant: &Const) -> Option<Bound> {
    match constant {
        Const::Number(n) => Some(Bound::Number(*n)),
        Const::Date(d) => Some(Bound::Date(*d)),
        _ => None,
    }
}
