//! Values per member of a group (`[count(r.bids) for r in group]`, `any r in group where …`;
//! see [`Expr::is_per_member`]): each member's part is computed while its record is read, when
//! the record is at hand, and kept as a small owned value; once every record is read, the
//! comprehension or quantifier is put together from those parts in the group's order. The result
//! is the one the expression gives when evaluated on the group, failures included: the first
//! member that fails (in order, up to the member that decides a quantifier) fails it.

use std::sync::Arc;

use jiff::civil::Date;
use rust_decimal::Decimal;

use super::value::{EvalValue, Operand};
use super::{Context, Failure, Result};
use crate::compile::{CompiledRule, Expr, ExprKind, Program};
use crate::source::Span;
use crate::syntax::ast::Quantifier;
use crate::value::{Node, Value};

/// The expressions per member of each group rule of a program, by rule index.
#[derive(Debug, Default)]
pub(crate) struct Plan<'p> {
    rules: Vec<Vec<&'p Expr>>,
}

impl<'p> Plan<'p> {
    /// Finds them in every group rule's lets, clauses, `having`, message and waivers.
    pub(crate) fn new(program: &'p Program) -> Plan<'p> {
        let rules = (0..program.rules.len())
            .map(|index| of_rule(program, index))
            .collect();
        Plan { rules }
    }

    /// The expressions per member of the rule at `index`.
    pub(crate) fn of(&self, index: usize) -> &[&'p Expr] {
        self.rules.get(index).map_or(&[], Vec::as_slice)
    }
}

/// The expressions per member of the rule at `index`, in its lets, clauses, `having`, message
/// and waivers (what [`Plan::of`] gives, for one rule).
pub(crate) fn of_rule(program: &Program, index: usize) -> Vec<&Expr> {
    let Some(rule) = program.rules.get(index) else {
        return Vec::new();
    };
    let waivers = program
        .waivers
        .iter()
        .filter(|w| w.rule == index)
        .map(|w| &w.condition.expr);
    per_member_exprs(rule, waivers)
}

fn per_member_exprs<'p>(
    rule: &'p CompiledRule,
    waivers: impl Iterator<Item = &'p Expr>,
) -> Vec<&'p Expr> {
    let Some(across) = rule.across.as_ref().filter(|a| !a.keys.is_empty()) else {
        return Vec::new();
    };
    let mut stack: Vec<&Expr> = rule.clauses().map(|(_, c)| &c.expr).collect();
    stack.extend(rule.lets.iter().map(|l| &l.expr));
    stack.extend(across.having.iter().map(|c| &c.expr));
    stack.extend(
        rule.message
            .iter()
            .flat_map(crate::compile::Template::exprs),
    );
    stack.extend(waivers);
    let mut found = Vec::new();
    while let Some(expr) = stack.pop() {
        if expr.is_per_member() {
            found.push(expr);
        } else {
            expr.for_each_child(&mut |child| stack.push(child));
        }
    }
    found
}

/// One member's part of an expression per member.
#[derive(Debug, Clone)]
pub(crate) enum Part {
    /// Left out: the filter did not hold, or the body was missing.
    Out,
    /// The member itself (`[r for r in group where …]`).
    Itself,
    /// A quantifier's body held, or did not.
    Holds(bool),
    /// The body's value.
    Value(Owned),
    /// The member could not be evaluated: the message and the expression that failed.
    Failed(Arc<str>, Span),
    /// A let's value that a record kept, and that is missing (a let it did not keep is `Out`).
    Missing,
}

/// A value that outlives the record it came from.
#[derive(Debug, Clone)]
pub(crate) enum Owned {
    Bool(bool),
    Num(Decimal),
    Str(Box<str>),
    Date(Date),
    DateTime(crate::time::Instant),
    Duration(crate::time::Duration),
    List(Vec<Owned>),
    /// A list or a mapping of the record, copied.
    Node(Node),
}

impl Owned {
    /// The value of `operand`; `None` when it is missing.
    fn of(operand: &Operand<'_>) -> Option<Owned> {
        Some(match &operand.value {
            EvalValue::Missing => return None,
            EvalValue::Bool(b) => Owned::Bool(*b),
            EvalValue::Num(n) => Owned::Num(*n),
            EvalValue::Str(s) => Owned::Str(s.as_ref().into()),
            EvalValue::Date(d) => Owned::Date(*d),
            EvalValue::DateTime(t) => Owned::DateTime(*t),
            EvalValue::Duration(d) => Owned::Duration(*d),
            EvalValue::List(items) => Owned::List(items.iter().filter_map(Owned::of).collect()),
            EvalValue::Nodes(nodes) => Owned::Node(Node {
                value: Value::List(nodes.to_vec()),
                span: operand.span.unwrap_or_default(),
            }),
            EvalValue::Map(map) => Owned::Node(Node {
                value: Value::Map((*map).clone()),
                span: operand.span.unwrap_or_default(),
            }),
        })
    }

    /// The value as an operand.
    fn operand(&self) -> Operand<'_> {
        let value = match self {
            Owned::Bool(b) => EvalValue::Bool(*b),
            Owned::Num(n) => EvalValue::Num(*n),
            Owned::Str(s) => EvalValue::Str(std::borrow::Cow::Borrowed(s)),
            Owned::Date(d) => EvalValue::Date(*d),
            Owned::DateTime(t) => EvalValue::DateTime(*t),
            Owned::Duration(d) => EvalValue::Duration(*d),
            Owned::List(items) => EvalValue::List(items.iter().map(Owned::operand).collect()),
            Owned::Node(node) => return Operand::node(node),
        };
        Operand { value, span: None }
    }
}

/// The failure a member's part records (its message and the expression that failed), as the
/// evaluator reports it.
fn part_failure(message: &Arc<str>, span: &Span) -> Box<Failure> {
    Box::new(Failure {
        message: message.to_string(),
        record_span: None,
        policy_span: *span,
    })
}

/// A record's value of the let at `index` among the values it kept (`values`, by let index):
/// the failure when it could not be computed; `None` when the record did not keep that let.
pub(crate) fn kept_value(values: &[Part], index: usize) -> Option<Result<Operand<'_>>> {
    Some(match values.get(index)? {
        Part::Value(value) => Ok(value.operand()),
        Part::Missing => Ok(Operand::MISSING),
        Part::Failed(message, span) => Err(part_failure(message, span)),
        Part::Out | Part::Itself | Part::Holds(_) => return None,
    })
}

/// A record's value of the `let each` at `index`, from its values (`member`, by let index):
/// missing when it has none, the failure when it could not be computed.
pub(crate) fn each_value(member: &[Part], index: usize) -> Result<Operand<'_>> {
    kept_value(member, index).unwrap_or(Ok(Operand::MISSING))
}

/// A record's value of a `let each`, as a group keeps it.
pub(crate) fn each_part(value: Result<Operand<'_>>) -> Part {
    match value {
        Ok(value) => Owned::of(&value).map_or(Part::Missing, Part::Value),
        Err(failure) => Part::Failed(failure.message.into(), failure.policy_span),
    }
}

/// The parts of `record` (at `root`) in each of `exprs`, with the group's keys already in the
/// context's frame.
pub(crate) fn parts<'r>(
    context: &mut Context<'r, '_>,
    exprs: &[&'r Expr],
    root: &'r Node,
) -> Vec<Part> {
    exprs
        .iter()
        .map(|expr| {
            part(context, expr, root)
                .unwrap_or_else(|f| Part::Failed(f.message.into(), f.policy_span))
        })
        .collect()
}

fn part<'r>(context: &mut Context<'r, '_>, expr: &'r Expr, root: &'r Node) -> Result<Part> {
    let (slot, body, filter) = match &expr.kind {
        ExprKind::Comprehension(slot, _, body, filter) => (*slot, body, filter.as_deref()),
        ExprKind::Quantifier(_, slot, _, body) => (*slot, body, None),
        _ => return Ok(Part::Out),
    };
    context.vars.truncate(slot);
    context.vars.resize(slot, Operand::MISSING);
    context.vars.push(Operand::node(root));
    let result = (|| {
        if matches!(expr.kind, ExprKind::Quantifier(..)) {
            return Ok(Part::Holds(context.condition(body)?.0));
        }
        if let Some(filter) = filter
            && !context.condition(filter)?.0
        {
            return Ok(Part::Out);
        }
        if expr.member_itself() {
            return Ok(Part::Itself);
        }
        Ok(Owned::of(&context.eval(body)?).map_or(Part::Out, Part::Value))
    })();
    context.vars.truncate(slot);
    result
}

/// The value of `expr` (an expression per member) on a group, from its members' `parts`;
/// `members` are the group's records, for [`Part::Itself`].
pub(crate) fn value<'r>(
    expr: &Expr,
    parts: &'r [Part],
    members: &'r [Arc<Node>],
) -> Result<Operand<'r>> {
    if let ExprKind::Quantifier(q, ..) = &expr.kind {
        let want = *q == Quantifier::Any;
        let mut result = !want;
        for part in parts {
            match part {
                Part::Holds(b) if *b == want => {
                    result = want;
                    break;
                }
                Part::Failed(message, span) => return Err(part_failure(message, span)),
                _ => {}
            }
        }
        return Ok(Operand {
            value: EvalValue::Bool(result),
            span: None,
        });
    }
    let mut out = Vec::new();
    for (part, member) in parts
        .iter()
        .zip(members.iter().map(Some).chain(std::iter::repeat(None)))
    {
        match part {
            Part::Out | Part::Missing | Part::Holds(_) => {}
            Part::Itself => out.extend(member.map(|m| Operand::node(m))),
            Part::Value(value) => out.push(value.operand()),
            Part::Failed(message, span) => return Err(part_failure(message, span)),
        }
    }
    Ok(Operand {
        value: EvalValue::List(out),
        span: None,
    })
}
