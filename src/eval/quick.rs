//! Deciding a rule by its quick tests ([`crate::compile::quick`]): when they show that the rule
//! passes on a record, the general evaluation is skipped; when they show that it fires, they
//! also find the value that decided it, and only the message is made by the general path; when
//! a test cannot decide, the general evaluation decides the rule as before.

use std::cmp::Ordering;

use super::{Context, Reach, Verdict, equals_constant, reach, text_in_set};
use crate::compile::quick::{Bound, Number, Place, Quick, QuickRule};
use crate::source::Span;
use crate::syntax::ast::ArithOp;
use crate::value::{
    Node, Value, arith, order_decimals, order_quotient, parse_data_date, parse_data_number,
};

impl<'r> Context<'r, '_> {
    /// What the quick tests decide of the rule on the record, as the general evaluation would
    /// (with the same witness when it fires, and no error either way); `None` when they cannot
    /// tell. `decided`: where the rule index found the leftmost test of the first condition
    /// true.
    pub(super) fn quick_verdict(&self, rule: &QuickRule, decided: Option<Span>) -> Option<Verdict> {
        let mut conditions = rule.conditions.iter();
        if decided.is_some()
            && let Some(first) = conditions.next()
            && !self.past_leftmost(first.as_ref()?)?
        {
            return Some(Verdict::Passes);
        }
        let rest = conditions.as_slice();
        for condition in rest {
            if !self.holds(condition.as_ref()?)? {
                return Some(Verdict::Passes);
            }
        }
        if let Some(unless) = &rule.unless
            && self.holds(unless.as_ref()?)?
        {
            return Some(Verdict::Passes);
        }
        let require = match &rule.require {
            Some(require) => {
                let require = require.as_ref()?;
                if self.holds(require)? {
                    return Some(Verdict::Passes);
                }
                Some(require)
            }
            None => None,
        };
        // It fires: the deciding value, as `Context::rule` finds it.
        let mut witness = decided;
        let tested = if decided.is_some() {
            rest
        } else {
            rule.conditions.as_slice()
        };
        for condition in tested.iter().flatten().chain(require) {
            witness = witness.or_else(|| self.witness(condition));
        }
        Some(Verdict::Fires { witness })
    }

    /// As [`Context::holds_past_leftmost`]: whether `quick` holds given that its leftmost test
    /// does.
    fn past_leftmost(&self, quick: &Quick) -> Option<bool> {
        let Quick::And(items) = quick else {
            return Some(true);
        };
        let Some((first, rest)) = items.split_first() else {
            return Some(true);
        };
        if !self.past_leftmost(first)? {
            return Some(false);
        }
        self.all_hold(rest)
    }

    /// Whether every test holds, tested left to right.
    fn all_hold(&self, items: &[Quick]) -> Option<bool> {
        for item in items {
            if !self.holds(item)? {
                return Some(false);
            }
        }
        Some(true)
    }

    /// Whether a quick test holds on the record; `None` when it cannot tell.
    fn holds(&self, quick: &Quick) -> Option<bool> {
        match quick {
            Quick::Not(inner) => self.holds(inner).map(|b| !b),
            Quick::And(items) => self.all_hold(items),
            Quick::Or(items) => {
                for item in items {
                    if self.holds(item)? {
                        return Some(true);
                    }
                }
                Some(false)
            }
            Quick::Order(value, order, bound) => {
                let ordering = match (value, bound) {
                    (Number::Field(place), _) => match self.place(place)? {
                        Some(node) => self.order_against(&node.value, bound)?,
                        None => return Some(false),
                    },
                    (Number::Arith(first, rest), Bound::Number(bound))
                        if let [(ArithOp::Div, divisor)] = rest.as_slice() =>
                    {
                        // Both are read before a missing one decides (the other may be
                        // bad data, which the general path reports).
                        let (Some(a), Some(divisor)) = (self.number(first)?, self.number(divisor)?)
                        else {
                            return Some(false);
                        };
                        // A ratio against a constant: most often decided without dividing.
                        match order_quotient(&a, &divisor, bound) {
                            Some(ordering) => ordering,
                            None => order_decimals(&arith(ArithOp::Div, a, divisor).ok()?, bound),
                        }
                    }
                    (_, Bound::Number(bound)) => match self.number(value)? {
                        Some(n) => order_decimals(&n, bound),
                        None => return Some(false),
                    },
                    (_, Bound::Date(_)) => return None,
                };
                Some(order.holds(ordering))
            }
            Quick::Equals {
                at,
                constant,
                aliased,
                negated,
            } => {
                let Some(node) = self.place(at)? else {
                    return Some(false);
                };
                Some(equals_constant(&node.value, constant, *aliased)? != *negated)
            }
            Quick::InSet(at, set, negated) => {
                let Some(node) = self.place(at)? else {
                    return Some(false);
                };
                match &node.value {
                    Value::String(text) => Some(text_in_set(text, set)? != *negated),
                    _ => None,
                }
            }
            Quick::Matches(at, regex) => match self.place(at)? {
                None => Some(false),
                Some(Node {
                    value: Value::String(text),
                    ..
                }) => Some(self.is_match(regex, text)),
                Some(_) => None,
            },
            Quick::Exists(at) => Some(self.place(at)?.is_some()),
            Quick::Missing(at) => Some(self.place(at)?.is_none()),
        }
    }

    /// The record's value at `place`: `Some(None)` when it is missing (or null), `None` when
    /// the path meets a list (over which the general evaluation projects).
    fn place(&self, place: &Place) -> Option<Option<&'r Node>> {
        let Some(field) = self.slots.get(self.root, place.slot) else {
            return Some(None);
        };
        match reach(field, &place.rest) {
            Reach::Node(node) if matches!(node.value, Value::Null) => Some(None),
            Reach::Node(node) => Some(Some(node)),
            Reach::Missing => Some(None),
            Reach::List(..) => None,
        }
    }

    /// A number computed from the record: `Some(None)` when a value it needs is missing (the
    /// arithmetic is then missing, as in the general evaluation), `None` when it cannot tell (a
    /// value of another type, a failing operation).
    fn number(&self, number: &Number) -> Option<Option<rust_decimal::Decimal>> {
        match number {
            Number::Const(n) => Some(Some(*n)),
            Number::Field(place) => match self.place(place)? {
                None => Some(None),
                Some(node) => match &node.value {
                    Value::Number(n) => Some(Some(*n)),
                    Value::String(s) => parse_data_number(s).map(Some),
                    _ => None,
                },
            },
            Number::Arith(first, rest) => {
                // Every operand is read, as in the general evaluation: one that cannot be told
                // after a missing one leaves the whole undecided.
                let mut acc = self.number(first)?;
                for (op, operand) in rest {
                    let term = self.number(operand)?;
                    acc = match (acc, term) {
                        (Some(acc), Some(term)) => Some(crate::value::arith(*op, acc, term).ok()?),
                        _ => None,
                    };
                }
                Some(acc)
            }
        }
    }

    /// How a record's value orders against a number or date bound, as `compare` decides it
    /// when the value has the bound's type or is a string that reads as one (JSON has no
    /// dates); `None` for anything else, which the general path decides.
    pub(super) fn order_against(&self, value: &Value, bound: &Bound) -> Option<Ordering> {
        Some(match (value, bound) {
            (Value::Number(x), Bound::Number(y)) => order_decimals(x, y),
            (Value::Date(x), Bound::Date(y)) => x.cmp(y),
            (Value::String(x), Bound::Number(y)) => order_decimals(&parse_data_number(x)?, y),
            (Value::String(x), Bound::Date(y)) => self.data_date(x)?.cmp(y),
            _ => return None,
        })
    }

    /// A data string read as a date ([`parse_data_date`]), remembered for the record: several
    /// rules often compare the same date field.
    fn data_date(&self, text: &str) -> Option<jiff::civil::Date> {
        let key = (text.as_ptr() as usize, text.len());
        if let Some((at, date)) = self.last_date.get()
            && at == key
        {
            return date;
        }
        let date = parse_data_date(text);
        self.last_date.set(Some((key, date)));
        date
    }

    /// The record value that decided a quick test, as the general evaluation gives it with the
    /// test's result: the value it read (for a top-level field, also a null one), or for `and`
    /// and `or` the first such of the operands they tested.
    fn witness(&self, quick: &Quick) -> Option<Span> {
        match quick {
            Quick::Not(inner) => self.witness(inner),
            // `and` stops at an operand that is false, keeping the first value found; `or` at
            // one that is true, giving its value first.
            Quick::And(items) => {
                let mut witness = None;
                for item in items {
                    witness = witness.or_else(|| self.witness(item));
                    if self.holds(item) == Some(false) {
                        break;
                    }
                }
                witness
            }
            Quick::Or(items) => {
                let mut witness = None;
                for item in items {
                    let span = self.witness(item);
                    if self.holds(item) == Some(true) {
                        return span.or(witness);
                    }
                    witness = witness.or(span);
                }
                witness
            }
            Quick::Order(value, _, _) => self.number_span(value),
            Quick::Equals { at, .. }
            | Quick::InSet(at, ..)
            | Quick::Matches(at, _)
            | Quick::Exists(at)
            | Quick::Missing(at) => self.place_span(at),
        }
    }

    /// Where the value at `place` stands, as the general evaluation's operand has it: a
    /// top-level field's node, also a null one; a value further down unless it is null.
    fn place_span(&self, place: &Place) -> Option<Span> {
        let field = self.slots.get(self.root, place.slot)?;
        if place.rest.is_empty() {
            return Some(field.span);
        }
        match reach(field, &place.rest) {
            Reach::Node(node) if !matches!(node.value, Value::Null) => Some(node.span),
            _ => None,
        }
    }

    /// Where a computed number's value stands: a field's, or for arithmetic the first operand
    /// that has a place, none when an operand is missing.
    fn number_span(&self, number: &Number) -> Option<Span> {
        match number {
            Number::Const(_) => None,
            Number::Field(place) => self.place_span(place),
            Number::Arith(first, rest) => {
                self.number(number)?.as_ref()?;
                std::iter::once(&**first)
                    .chain(rest.iter().map(|(_, operand)| operand))
                    .find_map(|operand| self.number_span(operand))
            }
        }
    }
}
