//! Explanations: for one rule and one record, the clauses that decided the outcome, each with
//! whether it held and the record values it read. Only the deciding clauses are shown, in the
//! rule's own order: for a rule that fired, every clause (each was needed); for one that did not,
//! the clauses up to the first that stopped it.

use std::fmt::Write as _;

use super::{Context, Finding, Outcome, RootSlots, render_value};
pub use crate::compile::ClauseRole;
use crate::compile::{Clause, Expr, ExprKind, Program, Segment};
use crate::data::Record;
use crate::eval::value::{EvalValue, Operand};

/// One deciding clause and what it came to on the record.
#[derive(Debug, Clone)]
pub struct Step {
    /// Its place among the rule's clauses (conditions, then `unless` or `require`), from 0.
    pub clause: usize,
    /// What it is to the rule.
    pub role: ClauseRole,
    /// The clause as written (`vendor in chinese_uas`, `after 2018-05-23`).
    pub text: String,
    /// Whether it held, or why it could not be evaluated.
    pub holds: Result<bool, String>,
    /// The record fields it read, each with its value as the data wrote it.
    pub values: Vec<(String, String)>,
    /// For a clause of `and`s that did not hold: the operand that did not, as written.
    pub false_at: Option<String>,
}

impl Step {
    /// The clause as written in the rule, with its `unless` or `require` keyword.
    pub fn written(&self) -> String {
        self.role.written(&self.text)
    }

    /// Whether the clause went the way a finding needs.
    pub(crate) fn for_finding(&self) -> bool {
        match (self.role, &self.holds) {
            (ClauseRole::Condition, Ok(holds)) => *holds,
            (ClauseRole::Unless | ClauseRole::Require, Ok(holds)) => !*holds,
            (_, Err(_)) => false,
        }
    }
}

/// Why a rule did or did not fire on a record.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The rule's index in [`Program::rules`].
    pub rule: usize,
    /// The finding's outcome, or `None` when the rule did not fire.
    pub outcome: Option<Outcome>,
    /// The clauses that decided it, in the rule's order.
    pub steps: Vec<Step>,
    /// For a waived finding: the waiver, by index in [`Program::waivers`].
    pub waiver: Option<usize>,
}

/// Explains rule `rule` of `program` on `record`, waivers included.
pub fn explain(program: &Program, record: &Record, rule: usize) -> Option<Explanation> {
    let mut findings = Vec::new();
    super::Evaluator::new(program).evaluate(record, &mut findings);
    explain_with(program, record, rule, &findings)
}

/// [`explain`], given the record's findings (so that many rules can be explained on one record
/// without evaluating it again).
pub(crate) fn explain_with(
    program: &Program,
    record: &Record,
    rule: usize,
    findings: &[Finding],
) -> Option<Explanation> {
    let compiled = program.rules.get(rule)?;
    if compiled.across.is_some() {
        // A rule across records is decided on groups, or on the records of the whole run.
        return None;
    }
    let steps = steps_of(program, record, compiled, compiled.clauses().collect());
    // The evaluator decided the outcome; the steps only show why.
    let finding = findings.iter().find(|f| f.rule == rule);
    Some(Explanation {
        rule,
        outcome: finding.map(|f| f.outcome),
        steps,
        waiver: finding.and_then(|f| f.waived).map(|(index, _)| index),
    })
}

/// Why a rule without `per` that reads `all.` leaves `record` out (it is decided with the
/// run's records, on those its filters and `where` keep): those clauses, up to the one that does
/// not hold. `None` for any other rule.
pub fn explain_left_out(program: &Program, record: &Record, rule: usize) -> Option<Explanation> {
    let compiled = program.rules.get(rule)?;
    compiled.across.as_ref().filter(|a| a.keys.is_empty())?;
    Some(Explanation {
        rule,
        outcome: None,
        steps: record_steps(program, record, compiled),
        waiver: None,
    })
}

/// The steps of a rule across records' filters and `where` on `record`, up to the first that
/// leaves it out (all of them when none does).
pub(crate) fn record_steps(
    program: &Program,
    record: &Record,
    compiled: &crate::compile::CompiledRule,
) -> Vec<Step> {
    steps_of(
        program,
        record,
        compiled,
        compiled.record_clauses().collect(),
    )
}

/// The steps of `clauses` of `compiled` on `record`, up to the first that decides.
fn steps_of<'r>(
    program: &Program,
    record: &'r Record,
    compiled: &'r crate::compile::CompiledRule,
    clauses: Vec<(ClauseRole, &'r Clause)>,
) -> Vec<Step> {
    let mut slots = RootSlots::default();
    slots.fill(program, &record.root);
    let mut vars = Vec::new();
    let mut context = Context::new(&record.root, &mut vars, &slots)
        .with_frame(super::Frame::record(compiled, program));
    let names = program.root_field_names();
    let mut steps = Vec::new();
    for (index, (role, clause)) in clauses.into_iter().enumerate() {
        let step = context.step(clause, role, index, record, (&compiled.source, &names));
        let decided = !step.for_finding();
        steps.push(step);
        if decided {
            break;
        }
    }
    steps
}

impl<'r> Context<'r, '_> {
    fn step(
        &mut self,
        clause: &'r Clause,
        role: ClauseRole,
        index: usize,
        record: &'r Record,
        (policy, names): (&crate::source::Source, &[&str]),
    ) -> Step {
        let holds = self
            .clause(clause)
            .map(|(holds, _)| holds)
            .map_err(|failure| failure.message);
        let false_at = self.false_at(&clause.expr, &holds, policy);
        let mut fields = Vec::new();
        self.deciding_fields(&clause.expr, &mut fields);
        let mut values: Vec<(String, String)> = Vec::new();
        for field in fields {
            let name = match &field.kind {
                ExprKind::Call(..) => crate::compile::collapse_whitespace(policy.slice(field.span)),
                ExprKind::Local(index) => self
                    .frame
                    .lets
                    .get(*index)
                    .map(|l| l.name.to_string())
                    .unwrap_or_default(),
                _ => path_text(field, names),
            };
            if name.is_empty() || values.iter().any(|(n, _)| *n == name) {
                continue;
            }
            let value = match self.eval(field) {
                Ok(value) => {
                    let matched = alias_entry(&clause.expr, &value);
                    let value = shown(&value, Some(record));
                    match matched {
                        Some(entry) => format!("{value}, by alias entry {entry}"),
                        None => value,
                    }
                }
                Err(failure) => failure.message,
            };
            values.push((name, value));
        }
        Step {
            clause: index,
            role,
            text: clause.text.clone(),
            holds,
            values,
            false_at,
        }
    }
}

/// The alias entry, as written, that a string `value` matched in a comparison of `expr` with an
/// aliased symbol (`vendor == Huawei`, `vendor in [Huawei]`), if any.
fn alias_entry(expr: &Expr, value: &Operand<'_>) -> Option<String> {
    let EvalValue::Str(text) = &value.value else {
        return None;
    };
    let mut found = None;
    let mut visit = |expr: &Expr| {
        let set = match &expr.kind {
            ExprKind::Equals {
                aliases: Some(set), ..
            }
            | ExprKind::Contains(_, _, Some(set)) => Some(&**set),
            ExprKind::InSet(_, set, _) => Some(&set.aliases),
            _ => None,
        };
        if found.is_none() {
            found = set
                .and_then(|set| set.matching_entry(text))
                .map(str::to_string);
        }
    };
    walk(expr, &mut visit);
    found
}

/// Calls `f` on `expr` and every expression inside it.
fn walk<'e>(expr: &'e Expr, f: &mut dyn FnMut(&'e Expr)) {
    f(expr);
    expr.for_each_child(&mut |child| walk(child, f));
}

/// The longest value an explanation shows, in characters; longer ones are cut with `…`.
const SHOWN_CHARS: usize = 60;

impl<'r> Context<'r, '_> {
    /// [`Step::false_at`] of a clause `expr` (of the policy file `policy`) that came to `holds`.
    pub(super) fn false_at(
        &mut self,
        expr: &'r Expr,
        holds: &Result<bool, String>,
        policy: &crate::source::Source,
    ) -> Option<String> {
        if *holds != Ok(false) {
            return None;
        }
        let part = self.false_operand(expr)?;
        Some(crate::compile::collapse_whitespace(policy.slice(part.span)))
    }

    /// In an `and` that does not hold, its first operand that does not (inside nested `and`s);
    /// `None` for any other expression.
    fn false_operand(&mut self, expr: &'r Expr) -> Option<&'r Expr> {
        let ExprKind::And(items) = &expr.kind else {
            return None;
        };
        for item in items {
            if !matches!(self.condition(item), Ok((true, _))) {
                return Some(self.false_operand(item).unwrap_or(item));
            }
        }
        None
    }

    /// The record values that decided `expr`: in `and` and `or`, only those of the operands
    /// evaluated before the result was known.
    fn deciding_fields(&mut self, expr: &'r Expr, out: &mut Vec<&'r Expr>) {
        let (items, stop_at) = match &expr.kind {
            ExprKind::And(items) => (items, false),
            ExprKind::Or(items) => (items, true),
            _ => return values_read(expr, out),
        };
        for item in items {
            self.deciding_fields(item, out);
            match self.condition(item) {
                Ok((holds, _)) if holds != stop_at => {}
                _ => break,
            }
        }
    }
}

/// A value as an explanation shows it: as the data wrote it, with strings quoted unless they
/// read as a number or a date (which they compare as), cut after [`SHOWN_CHARS`].
pub(crate) fn shown(value: &Operand<'_>, record: Option<&Record>) -> String {
    let mut out = String::new();
    match &value.value {
        EvalValue::Str(s)
            if crate::value::parse_data_number(s).is_none()
                && crate::value::parse_data_date(s).is_none() =>
        {
            let _ = write!(out, "{s:?}");
        }
        // A number computed from a list (`count`, `sum`) carries the list's span: show the number.
        EvalValue::Num(n)
            if value.span.zip(record).is_some_and(|(span, record)| {
                crate::value::parse_data_number(record.source.slice(span).trim()) != Some(*n)
            }) =>
        {
            let _ = write!(out, "{n}");
        }
        _ => render_value(value, record, &mut out),
    }
    if let Some((cut, _)) = out.char_indices().nth(SHOWN_CHARS) {
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// The record values an expression reads, outermost first: its fields, and the results of the
/// functions it calls (`count(line_items)`) rather than their arguments; quantifier variables
/// aside.
pub(super) fn fields_read<'e>(expr: &'e Expr, out: &mut Vec<&'e Expr>) {
    read(expr, false, out);
}

/// The values a clause of one record reads, as an explanation shows them: [`fields_read`], and
/// the rule's lets by name (`period = 20`), whose values decided as much as the fields.
fn values_read<'e>(expr: &'e Expr, out: &mut Vec<&'e Expr>) {
    read(expr, true, out);
}

/// [`fields_read`], and with `lets` the rule's lets too.
fn read<'e>(expr: &'e Expr, lets: bool, out: &mut Vec<&'e Expr>) {
    let reads = |e: &Expr| reads_record(e) || (lets && e.reads().lets);
    match &expr.kind {
        ExprKind::Field(_) | ExprKind::RootField(..) => out.push(expr),
        ExprKind::Local(_) if lets => out.push(expr),
        ExprKind::Call(_, args) if args.iter().any(reads) => out.push(expr),
        _ => expr.for_each_child(&mut |child| read(child, lets, out)),
    }
}

/// The parts of a clause of a rule across records whose values explain it, outermost first, in
/// written order: the rule's lets it reads, and the calls that read the group or the run
/// (`sum(group.amount)`, `upper_fence(all.a)`).
pub(super) fn group_parts<'e>(expr: &'e Expr, out: &mut Vec<&'e Expr>) {
    let shown = match &expr.kind {
        ExprKind::Local(_) => true,
        ExprKind::Call(..) => {
            let reads = expr.reads();
            reads.group || reads.all
        }
        _ => false,
    };
    if shown {
        out.push(expr);
    } else {
        expr.for_each_child(&mut |child| group_parts(child, out));
    }
}

/// Whether an expression reads the record at all.
fn reads_record(expr: &Expr) -> bool {
    let mut fields = Vec::new();
    fields_read(expr, &mut fields);
    !fields.is_empty()
}

/// A field path as a policy writes it: `exemption.kind`, `line_items[0].vendor`.
fn path_text(field: &Expr, names: &[&str]) -> String {
    let (first, rest): (Option<&str>, &[Segment]) = match &field.kind {
        ExprKind::RootField(slot, rest) => (names.get(*slot).copied(), rest),
        ExprKind::Field(path) => match path.split_first() {
            Some((Segment::Key(key), rest)) => (Some(key), rest),
            _ => (None, path),
        },
        _ => (None, &[]),
    };
    let mut text = first.unwrap_or("record").to_string();
    for segment in rest {
        match segment {
            Segment::Key(key) => {
                let _ = write!(text, ".{key}");
            }
            Segment::Index(i) => {
                let _ = write!(text, "[{i}]");
            }
        }
    }
    text
}

/// The explanation as text: a head line, then one line per deciding clause, marked `✓` when it
/// held, `✗` when it did not and `!` when it could not be evaluated.
pub fn render(program: &Program, explanation: &Explanation, record_name: &str) -> String {
    let verdict = match explanation.outcome {
        Some(outcome) => format!("{} {record_name}", verb(outcome)),
        None => format!("does not fire on {record_name}"),
    };
    let id = program.rules.get(explanation.rule).map_or("", |r| &*r.id);
    let mut out = format!("rule `{id}` {verdict}:\n");
    out.push_str(&render_steps(&explanation.steps));
    if let Some(waiver) = explanation.waiver.and_then(|w| program.waivers.get(w)) {
        let (line, _) = waiver.source.line_col(waiver.span.start);
        let _ = write!(
            out,
            "  waived until {} because {:?}",
            waiver.until, &*waiver.reason
        );
        if let Some(owner) = &waiver.owner {
            let _ = write!(out, " by {owner:?}");
        }
        let _ = writeln!(out, " ({}:{line})", waiver.source.name());
    }
    out
}

/// One line per step: `  ✓ after 2018-05-23    date = 2018-11-14`.
pub(crate) fn render_steps(steps: &[Step]) -> String {
    let lines: Vec<(String, String)> = steps
        .iter()
        .map(|step| {
            let mark = match &step.holds {
                Err(_) => "!",
                Ok(true) => "✓",
                Ok(false) => "✗",
            };
            let mut values: Vec<String> = step
                .values
                .iter()
                .map(|(name, value)| format!("{name} = {value}"))
                .collect();
            if let Err(why) = &step.holds {
                values.push(format!("cannot evaluate: {why}"));
            }
            let mut values = values.join(", ");
            if let Some(part) = &step.false_at {
                values = if values.is_empty() {
                    format!("false at `{part}`")
                } else {
                    format!("false at `{part}`: {values}")
                };
            }
            (format!("{mark} {}", step.written()), values)
        })
        .collect();
    let width = lines
        .iter()
        .map(|(clause, _)| clause.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (clause, values) in lines {
        if values.is_empty() {
            let _ = writeln!(out, "  {clause}");
        } else {
            let pad = width - clause.chars().count();
            let _ = writeln!(out, "  {clause}{}   {values}", " ".repeat(pad));
        }
    }
    out
}

fn verb(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Deny => "denies",
        Outcome::Warn => "warns about",
        Outcome::Note => "notes",
        Outcome::Error => "cannot evaluate",
        Outcome::Waived => "is waived for",
    }
}
