//! Evaluation: a [`Program`] against one [`Record`] gives that record's [`Finding`]s, with the
//! semantics of docs/language.md §4–§5: a comparison with a missing field is false, a type mismatch is
//! an error finding that points at the bad value.

pub mod across;
pub(crate) mod arith;
pub mod explain;
mod functions;
mod per_member;
mod quick;
pub mod split;
pub mod value;

use std::borrow::Cow;
use std::rc::Rc;
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::compile::index::Probe;
use crate::compile::{
    Clause, CompiledRule, Const, ConstSet, Expr, ExprKind, Function, LocalLet, Order, Program,
    Segment, TemplatePart,
};
use crate::data::Record;
use crate::source::Span;
use crate::syntax::ast::Quantifier;
use crate::value::Node;
use arith::Term;
use value::{EvalValue, Items, Mismatch, Operand, as_number, as_str, compare, equals, what_it_is};

pub use crate::effect::Outcome;

/// One rule's verdict on one record.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The rule's index in [`Program::rules`].
    pub rule: usize,
    /// What it says.
    pub outcome: Outcome,
    /// The record value that decided it (for an error: the bad value), if one did.
    pub span: Option<Span>,
    /// The message: the rule's own, a generated one, or the error.
    pub message: Arc<str>,
    /// For an error: the policy span of the expression that failed.
    pub policy_span: Option<Span>,
    /// For a waived finding: the waiver (its index in [`Program::waivers`]) and the outcome it
    /// waived.
    pub waived: Option<(usize, Outcome)>,
}

/// A run-time failure: bad data met by an expression.
#[derive(Debug, Clone)]
struct Failure {
    message: String,
    record_span: Option<Span>,
    policy_span: Span,
}

/// A result of evaluation; the failure is boxed, which keeps the values the evaluator moves small.
type Result<T> = std::result::Result<T, Box<Failure>>;

/// A value computed once for the whole run (it reads `all.` and nothing of a record or a
/// group), or why it could not be.
type RunValue<'r> = std::result::Result<Operand<'r>, Failure>;

/// Evaluates a program's rules on records, reusing its buffers from one record to the next.
pub struct Evaluator<'p> {
    program: &'p Program,
    /// The expressions per member of its group rules.
    pub(crate) per_member: per_member::Plan<'p>,
    candidates: crate::compile::index::RuleSet,
    /// By rule: where the rule index found the rule's first test true on the current record.
    decided: Vec<Option<Span>>,
    scratch: String,
    slots: RootSlots,
    /// This evaluator's own copies of the generated messages its findings share.
    messages: MessageCopies,
    /// This evaluator's own copies of the regexes its `matches` tests search with.
    regexes: RegexCopies,
    /// Which of the program's waivers have waived a finding so far.
    pub used_waivers: Vec<bool>,
}

/// By rule, an evaluator's own copies of the rules' generated messages, made when a finding
/// first needs one: the message is an `Arc` whose count each finding changes, and threads
/// evaluating chunks side by side would otherwise all write to the same memory.
#[derive(Default)]
struct MessageCopies(Vec<Option<Arc<str>>>);

impl MessageCopies {
    /// The generated message of the rule at `index`, as this evaluator's own `Arc`.
    fn message(&mut self, index: usize, rule: &CompiledRule) -> Arc<str> {
        match self.0.get_mut(index) {
            Some(copy) => copy
                .get_or_insert_with(|| Arc::from(&*rule.generated_message))
                .clone(),
            None => rule.generated_message.clone(),
        }
    }
}

/// An evaluator's own copies of the program's regexes, made when first searched: a
/// `regex::Regex` keeps its search caches in a pool that only the first thread to use it reaches
/// without a lock, so threads evaluating chunks side by side each search with a copy.
#[derive(Default)]
struct RegexCopies(std::cell::RefCell<Vec<(usize, regex::Regex)>>);

impl RegexCopies {
    /// Whether `regex` matches `text`, searched with this evaluator's copy of it. Copies are
    /// found by the address of the program's regex: the program outlives its evaluators, so an
    /// address stands for one regex.
    fn is_match(&self, regex: &Arc<regex::Regex>, text: &str) -> bool {
        let address = Arc::as_ptr(regex) as usize;
        let Ok(mut copies) = self.0.try_borrow_mut() else {
            return regex.is_match(text);
        };
        let at = match copies.iter().position(|(a, _)| *a == address) {
            Some(at) => at,
            None => {
                copies.push((address, regex::Regex::clone(regex)));
                copies.len() - 1
            }
        };
        copies
            .get(at)
            .map_or_else(|| regex.is_match(text), |(_, copy)| copy.is_match(text))
    }
}

impl<'p> Evaluator<'p> {
    /// An evaluator of `program`.
    pub fn new(program: &'p Program) -> Self {
        Evaluator {
            program,
            per_member: per_member::Plan::new(program),
            candidates: crate::compile::index::RuleSet::default(),
            decided: vec![None; program.rules.len()],
            scratch: String::new(),
            slots: RootSlots::default(),
            messages: MessageCopies(vec![None; program.rules.len()]),
            regexes: RegexCopies::default(),
            used_waivers: vec![false; program.waivers.len()],
        }
    }

    /// The expressions per member of the group rules, and where the top-level fields of the
    /// record last evaluated are: what [`across::collect_sharing`] reads of that record.
    pub(crate) fn plan_and_slots(&self) -> (&per_member::Plan<'p>, &RootSlots) {
        (&self.per_member, &self.slots)
    }

    /// Evaluates the rules `record` can meet (by the rule index), appending findings in rule
    /// order. The findings are exactly those of [`evaluate_all`].
    pub fn evaluate(&mut self, record: &Record, findings: &mut Vec<Finding>) {
        self.evaluate_sharing(record, findings, &mut SharedValues::default());
    }

    /// [`Evaluator::evaluate`], keeping the values its rules share in `shared` for the rules
    /// across records of the record.
    pub(crate) fn evaluate_sharing<'r>(
        &mut self,
        record: &'r Record,
        findings: &mut Vec<Finding>,
        shared: &mut SharedValues<'r>,
    ) where
        'p: 'r,
    {
        let program = self.program;
        self.slots.fill(program, &record.root);
        let index = &program.index;
        self.candidates.copy_from(&index.always);
        for path_index in &index.paths {
            let probe = match path_index.slot {
                Some(slot) => match self.slots.get(&record.root, slot) {
                    Some(node) => probe_at(node, path_index.path.get(1..).unwrap_or(&[])),
                    None => (Probe::Missing, None),
                },
                None => probe_at(&record.root, &path_index.path),
            };
            path_index.candidates(
                probe,
                (&mut self.candidates, &mut self.decided),
                &mut self.scratch,
            );
        }
        let first = findings.len();
        evaluate_rules(
            program,
            (record, &self.slots),
            self.candidates.iter().map(|rule| Candidate {
                rule,
                decided: self.decided.get_mut(rule).and_then(Option::take),
            }),
            (findings, true),
            shared,
            Some((&mut self.messages, &self.regexes)),
        );
        if let Some(new) = findings.get_mut(first..) {
            apply_waivers(program, record, &self.slots, new, &mut self.used_waivers);
        }
    }
}

/// What the rule index sees of the value at `path` from `node`, read straight from the record:
/// the value, or `Other` (every rule of its kind is a candidate) where the path meets a list;
/// and where a string, number or date value stands, for the rules it decides.
fn probe_at<'r>(node: &'r Node, path: &[Segment]) -> (Probe<'r>, Option<Span>) {
    use crate::value::Value;
    let node = match reach(node, path) {
        Reach::Node(node) => node,
        Reach::Missing => return (Probe::Missing, None),
        Reach::List(..) => return (Probe::Other, None),
    };
    let probe = match &node.value {
        Value::Null => Probe::Missing,
        Value::String(s) => Probe::Text(s),
        Value::Number(n) => Probe::Number(*n),
        Value::Date(d) => Probe::Date(*d),
        Value::Bool(_) | Value::List(_) | Value::Map(_) => return (Probe::Other, None),
    };
    (probe, Some(node.span))
}

/// Marks as waived each `deny`, `warn` or `note` finding that a waiver in force for its rule
/// covers (the waiver's condition holds on the record); error findings are never waived. A
/// waiver whose condition cannot be evaluated on the record does not apply.
fn apply_waivers(
    program: &Program,
    record: &Record,
    slots: &RootSlots,
    findings: &mut [Finding],
    used: &mut [bool],
) {
    let mut vars = Vec::new();
    for finding in findings {
        if finding.outcome == Outcome::Error {
            continue;
        }
        let Some(rule) = program.rules.get(finding.rule) else {
            continue;
        };
        for &index in &rule.waivers {
            let Some(waiver) = program.waivers.get(index) else {
                continue;
            };
            let mut context = Context::new(&record.root, &mut vars, slots)
                .with_frame(Frame::record(rule, program));
            if let Ok((true, _)) = context.clause(&waiver.condition) {
                finding.waived = Some((index, finding.outcome));
                finding.outcome = Outcome::Waived;
                if let Some(flag) = used.get_mut(index) {
                    *flag = true;
                }
                break;
            }
        }
    }
}

/// Where each of the program's top-level fields (by slot) sits among a record's entries, found
/// in one pass over the record so that rules never search it.
#[derive(Debug, Default)]
pub(crate) struct RootSlots {
    /// Entry position by slot; `MISSING` when the record has no such field.
    positions: Vec<u32>,
    /// The keys of the record filled before and their slots: the records of a file mostly have
    /// the same keys in the same order, so a key is matched by comparing it with the one at its
    /// position before, without a hash lookup.
    last_shape: Shape,
}

/// A record's top-level keys in order, each with its slot (`None`: no rule reads it), and the
/// program (by address) whose slots they are.
#[derive(Debug, Default)]
struct Shape {
    program: usize,
    keys: Vec<(crate::value::Text, Option<usize>)>,
}

impl RootSlots {
    const MISSING: u32 = u32::MAX;

    fn fill(&mut self, program: &Program, root: &Node) {
        self.positions.clear();
        self.positions
            .resize(program.root_fields.len(), Self::MISSING);
        let program_address = std::ptr::from_ref(program) as usize;
        let last_keys = &mut self.last_shape.keys;
        if self.last_shape.program != program_address {
            self.last_shape.program = program_address;
            last_keys.clear();
        }
        if let crate::value::Value::Map(map) = &root.value {
            for (position, entry) in map.entries.iter().enumerate() {
                let slot = match last_keys.get_mut(position) {
                    Some((key, slot)) if crate::value::same_key(key, &entry.key) => *slot,
                    last => {
                        let slot = program.root_fields.get(&*entry.key).copied();
                        match last {
                            Some(last) => *last = (entry.key.clone(), slot),
                            None => last_keys.push((entry.key.clone(), slot)),
                        }
                        slot
                    }
                };
                if let (Some(slot), Ok(position)) = (slot, u32::try_from(position))
                    && let Some(at) = self.positions.get_mut(slot)
                {
                    *at = position;
                }
            }
        }
    }

    /// The record's field in `slot`, if it has one.
    fn get<'r>(&self, root: &'r Node, slot: usize) -> Option<&'r Node> {
        let position = *self.positions.get(slot)?;
        match &root.value {
            crate::value::Value::Map(map) => map.entries.get(position as usize).map(|e| &e.value),
            _ => None,
        }
    }
}

/// The value of a condition that reads nothing of the record (`1 == 1`, `not true`), if it is
/// one: for lints that find rules that always or never fire.
pub(crate) fn constant_condition(expr: &Expr) -> Option<bool> {
    match constant_value(expr)? {
        Ok(Const::Bool(holds)) => Some(holds),
        _ => None,
    }
}

/// The value of an expression that reads nothing of the record, of a rule or of the run
/// (`2018-05-23 + 1 day`, `year(2018-01-01)`, `5 > 3`): what the compiler folds it to. `None`
/// when it reads something, or its value is no constant (missing, a mapping); the failure's
/// message when it cannot be computed (`9999-12-31 + 1 day`).
pub(crate) fn constant_value(expr: &Expr) -> Option<std::result::Result<Const, String>> {
    if !reads_nothing(expr) {
        return None;
    }
    let (root, slots, mut vars) = (
        crate::value::empty_record(),
        RootSlots::default(),
        Vec::new(),
    );
    let mut context = Context::new(&root, &mut vars, &slots);
    match context.eval(expr) {
        Ok(value) => constant_of(&value.value).map(Ok),
        Err(failure) => Some(Err(failure.message)),
    }
}

/// Whether `expr` reads nothing of a record, of a rule (its lets, its group, `all.`) or of the
/// run (`today()`).
pub(crate) fn reads_nothing(expr: &Expr) -> bool {
    let mut fields = Vec::new();
    explain::fields_read(expr, &mut fields);
    // A let, a group, `all.` or the date are not constants although they name no field.
    let reads = expr.reads();
    fields.is_empty() && !(reads.lets || reads.group || reads.all || reads.today)
}

/// A computed value as a constant of the policy; `None` for a missing value or one of the
/// record's.
fn constant_of(value: &EvalValue<'_>) -> Option<Const> {
    Some(match value {
        EvalValue::Num(n) => Const::Number(*n),
        EvalValue::Str(s) => Const::String(s.as_ref().into()),
        EvalValue::Bool(b) => Const::Bool(*b),
        EvalValue::Date(d) => Const::Date(*d),
        EvalValue::DateTime(t) => Const::DateTime(*t),
        EvalValue::Duration(d) => Const::Duration(*d),
        EvalValue::List(items) => Const::List(
            items
                .iter()
                .map(|item| constant_of(&item.value))
                .collect::<Option<_>>()?,
        ),
        EvalValue::Missing | EvalValue::Nodes(_) | EvalValue::Map(_) => return None,
    })
}

/// Evaluates the rules across records of `program` (`per`, `all.`) on `records`, given in input
/// order with their names: the findings of groups (and of records, for a rule that reads
/// `all.`), in the order of each one's first record.
pub fn evaluate_across(
    program: &Program,
    records: &[(&Record, &str)],
) -> Vec<across::AcrossFinding> {
    let mut kept = across::AcrossRecords::default();
    let plan = per_member::Plan::new(program);
    for (record, name) in records {
        let mut collected = Vec::new();
        across::collect(program, &plan, record, &Arc::from(*name), &mut collected);
        kept.add(program, collected, |i| {
            format!("{}#{i}", record.source.name())
        });
    }
    let mut used = vec![false; program.waivers.len()];
    across::finish(program, &kept, &mut used, false)
}

/// Evaluates every rule of `program` on `record`, appending findings in rule order.
pub fn evaluate(program: &Program, record: &Record, findings: &mut Vec<Finding>) {
    Evaluator::new(program).evaluate(record, findings);
}

/// Evaluates every rule on `record` by the general evaluation alone, without the index and the
/// quick tests: the plain scan they must agree with.
pub fn evaluate_all(program: &Program, record: &Record, findings: &mut Vec<Finding>) {
    let mut slots = RootSlots::default();
    slots.fill(program, &record.root);
    let first = findings.len();
    evaluate_rules(
        program,
        (record, &slots),
        (0..program.rules.len()).map(|rule| Candidate {
            rule,
            decided: None,
        }),
        (findings, false),
        &mut SharedValues::default(),
        None,
    );
    let mut used = vec![false; program.waivers.len()];
    if let Some(new) = findings.get_mut(first..) {
        apply_waivers(program, record, &slots, new, &mut used);
    }
}

/// A rule to evaluate on a record, by index in the program's rules.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    rule: usize,
    /// Where the rule index found the leftmost test of the rule's first clause true, if it did
    /// ([`PathIndex::candidates`](crate::compile::index::PathIndex::candidates)).
    decided: Option<Span>,
}

fn evaluate_rules<'r>(
    program: &'r Program,
    (record, slots): (&'r Record, &RootSlots),
    rules: impl Iterator<Item = Candidate>,
    // Where findings go, and whether quick tests may decide the rules that pass.
    (findings, quick): (&mut Vec<Finding>, bool),
    shared: &mut SharedValues<'r>,
    // The evaluator's own copies of generated messages and regexes, if it keeps them.
    copies: Option<(&mut MessageCopies, &RegexCopies)>,
) {
    let mut vars = Vec::new();
    let (mut messages, regexes) = copies.unzip();
    // One context for all the rules, its frame set for each (not built anew each time).
    let mut context = Context::new(&record.root, &mut vars, slots).with_shared(shared);
    context.regexes = regexes;
    context.frame.today = program.today;
    let quick_tests = if quick { program.quick_tests() } else { &[] };
    for Candidate {
        rule: index,
        decided,
    } in rules
    {
        let Some(rule) = program.rules.get(index) else {
            continue;
        };
        if rule.across.is_some() {
            // Evaluated once every record is read.
            continue;
        }
        // Most rules pass on most records: their quick tests show it without the general
        // evaluation, and find the deciding value of most that fire.
        let known = match quick_tests.get(index) {
            Some(Some(tests)) => context.quick_verdict(tests, decided),
            _ => None,
        };
        if let Some(Verdict::Passes) = known {
            continue;
        }
        context.vars.clear();
        context.frame.lets = &rule.lets;
        context.frame.memo.clear();
        let verdict = known
            .map_or_else(|| context.rule(rule, decided), Ok)
            .and_then(|verdict| match verdict {
                Verdict::Passes => Ok(None),
                Verdict::Fires { witness } => {
                    let message = match (&rule.message, messages.as_deref_mut()) {
                        (None, Some(messages)) => messages.message(index, rule),
                        _ => context.message(rule, Some(record))?,
                    };
                    Ok(Some((witness, message)))
                }
            });
        match verdict {
            Ok(None) => {}
            Ok(Some((span, message))) => findings.push(Finding {
                rule: index,
                outcome: rule.effect.into(),
                span: span.or(Some(record.root.span)),
                message,
                policy_span: None,
                waived: None,
            }),
            Err(failure) => findings.push(Finding {
                rule: index,
                outcome: Outcome::Error,
                span: failure.record_span.or(Some(record.root.span)),
                message: failure.message.into(),
                policy_span: Some(failure.policy_span),
                waived: None,
            }),
        }
    }
}

struct Context<'r, 'v> {
    root: &'r Node,
    vars: &'v mut Vec<Operand<'r>>,
    /// Where the record's top-level fields are.
    slots: &'v RootSlots,
    /// What a rule block's expressions read besides the record.
    frame: Frame<'r, 'v>,
    /// For each variable slot that ranges over `group`, the member it stands for now (by its
    /// position in the group), so that `r.NAME` reads that member's `let each`.
    members: Vec<usize>,
    /// The values the rules of the record share ([`LocalLet::shared`]), when the context is
    /// one of a record's: computed by the first rule that reads one.
    shared: Option<&'v mut SharedValues<'r>>,
    /// The last data string the quick tests read as a date (by address and length), and what
    /// it read as.
    last_date: std::cell::Cell<Option<DateRead>>,
    /// The evaluator's own copies of the regexes, when it keeps them.
    regexes: Option<&'v RegexCopies>,
}

/// A data string's address and length, and the date it reads as.
type DateRead = ((usize, usize), Option<jiff::civil::Date>);

/// The values of lets that several rules compute alike from a record ([`LocalLet::shared`]), by
/// slot: computed by the first rule of the record that reads one, read by the others.
#[derive(Default)]
pub(crate) struct SharedValues<'r>(Vec<Memo<'r>>);

/// A rule block's names while it is evaluated on a record or a group: its lets (computed once,
/// when first read), the group's keys and records, and `all.NAME` over the run.
#[derive(Default)]
pub(crate) struct Frame<'r, 'v> {
    /// The rule's lets.
    lets: &'r [LocalLet],
    /// Their values once computed.
    memo: Vec<Memo<'r>>,
    /// The group's key values.
    keys: &'v [Operand<'r>],
    /// The group's records.
    group: &'r [Arc<Node>],
    /// The group finding's name.
    name: &'v str,
    /// `all.NAME` by let index (empty for lets `all.` does not read).
    all: &'v [Vec<Operand<'r>>],
    /// The run's date, for `today()`.
    today: Option<jiff::civil::Date>,
    /// Values of expressions that depend on `all.` and on nothing of a record or group, by the
    /// expression's address: computed once for the whole run (a rule has few of them).
    constants: &'v [(usize, RunValue<'r>)],
    /// The expressions per member of a group, by address, and each one's parts in the group.
    per_member: Option<(&'v [usize], &'r [Vec<per_member::Part>])>,
    /// Each member's values of the rule's `let each` (by member, then by let index).
    each: &'r [Arc<[per_member::Part]>],
    /// In a rule without `per` that reads `all.`, the values of the lets its record kept (by let
    /// index; [`Program::stored_lets`]), read instead of computed.
    stored: &'r [per_member::Part],
}

/// A value a frame holds for an expression before it is evaluated.
enum Known<'r, 'v> {
    /// It depends on `all.` and on nothing of a record or group: computed once for the run
    /// (or failed once: every group that reads it fails the same way).
    Constant(&'v RunValue<'r>),
    /// A comprehension or quantifier over the group's members: its part of each member.
    PerMember(&'r [per_member::Part]),
}

/// A rule-local let's state during one evaluation.
#[derive(Clone, Default)]
pub(crate) enum Memo<'r> {
    /// Not read yet.
    #[default]
    Unset,
    /// Being computed (reading it again is a cycle the compiler missed).
    Busy,
    /// Computed.
    Done(Read<'r>),
}

/// A value an expression reads without copying it: a let's list, shared with its memo, or a
/// value of its own.
#[derive(Clone)]
pub(crate) enum Read<'r> {
    Own(Operand<'r>),
    Shared(Rc<Operand<'r>>),
}

impl<'r> std::ops::Deref for Read<'r> {
    type Target = Operand<'r>;

    fn deref(&self) -> &Operand<'r> {
        match self {
            Read::Own(value) => value,
            Read::Shared(value) => value,
        }
    }
}

impl<'r, 'v> Frame<'r, 'v> {
    /// The frame of `rule` on one record: its lets, nothing of a group.
    pub(crate) fn record(rule: &'r CompiledRule, program: &Program) -> Self {
        Self::reusing(rule, program, Vec::new())
    }

    /// [`Frame::record`], its lets' memo in `memo` (emptied first; it grows when a let is
    /// first read): a buffer used before.
    pub(crate) fn reusing(
        rule: &'r CompiledRule,
        program: &Program,
        mut memo: Vec<Memo<'r>>,
    ) -> Self {
        memo.clear();
        Frame {
            lets: &rule.lets,
            memo,
            today: program.today,
            ..Frame::default()
        }
    }
}

/// A rule's verdict on a record that could be evaluated.
enum Verdict {
    /// The rule does not fire.
    Passes,
    /// The rule fires; `witness` is the record value that decided it, if one did.
    Fires { witness: Option<Span> },
}

impl<'r, 'v> Context<'r, 'v> {
    /// A context for evaluating expressions on the record whose root is `root`, with `vars`
    /// cleared for the quantifier and comprehension variables.
    fn new(root: &'r Node, vars: &'v mut Vec<Operand<'r>>, slots: &'v RootSlots) -> Self {
        vars.clear();
        Context {
            root,
            vars,
            slots,
            frame: Frame::default(),
            members: Vec::new(),
            shared: None,
            last_date: std::cell::Cell::new(None),
            regexes: None,
        }
    }

    /// Whether `regex` matches `text`: searched with the evaluator's copy when there is one.
    fn is_match(&self, regex: &Arc<regex::Regex>, text: &str) -> bool {
        match self.regexes {
            Some(copies) => copies.is_match(regex, text),
            None => regex.is_match(text),
        }
    }

    /// The context with the values the rules of its record share.
    fn with_shared(mut self, shared: &'v mut SharedValues<'r>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// [`Context::new`] for a rule block's expressions, with its frame.
    fn with_frame(mut self, frame: Frame<'r, 'v>) -> Self {
        self.frame = frame;
        self
    }

    /// The run's date for `today()`: `--today`, else the current date in UTC.
    fn today(&self) -> jiff::civil::Date {
        self.frame
            .today
            .or_else(|| {
                crate::time::date_from_days(jiff::Timestamp::now().as_second().div_euclid(86_400))
            })
            .unwrap_or_default()
    }
}

impl<'r> Context<'r, '_> {
    /// Whether the rule fires, with the record value that decided it. `decided`: the rule
    /// index found the leftmost test of the first clause true at that value (so it is not
    /// tested again).
    fn rule(&mut self, rule: &'r CompiledRule, decided: Option<Span>) -> Result<Verdict> {
        let mut witness = None;
        let mut conditions = rule.conditions.iter();
        if decided.is_some()
            && let Some(first) = conditions.next()
        {
            if !self.holds_past_leftmost(&first.expr)? {
                return Ok(Verdict::Passes);
            }
            witness = decided;
        }
        for clause in conditions {
            let (holds, span) = self.clause(clause)?;
            if !holds {
                return Ok(Verdict::Passes);
            }
            witness = witness.or(span);
        }
        if let Some(unless) = &rule.unless
            && self.clause(unless)?.0
        {
            return Ok(Verdict::Passes);
        }
        if let Some(require) = &rule.require {
            let (holds, span) = self.clause(require)?;
            if holds {
                return Ok(Verdict::Passes);
            }
            witness = witness.or(span);
        }
        Ok(Verdict::Fires { witness })
    }

    /// Whether `expr` holds, given that its leftmost test (the first operand of its `and`s,
    /// down to a test that is not one) holds: the other operands of those `and`s are tested.
    fn holds_past_leftmost(&mut self, expr: &'r Expr) -> Result<bool> {
        let ExprKind::And(items) = &expr.kind else {
            return Ok(true);
        };
        let Some((first, rest)) = items.split_first() else {
            return Ok(true);
        };
        if !self.holds_past_leftmost(first)? {
            return Ok(false);
        }
        for item in rest {
            if !self.condition(item)?.0 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn clause(&mut self, clause: &'r Clause) -> Result<(bool, Option<Span>)> {
        self.condition(&clause.expr)
    }

    /// A condition: true, or false (also when a field is missing), with the deciding value.
    fn condition(&mut self, expr: &'r Expr) -> Result<(bool, Option<Span>)> {
        let ev = self.eval(expr)?;
        match ev.value {
            EvalValue::Bool(b) => Ok((b, ev.span)),
            EvalValue::Missing => Ok((false, ev.span)),
            other => Err(Failure {
                message: format!(
                    "expected true or false, but {}",
                    what_it_is(&Operand {
                        value: other.clone(),
                        span: ev.span
                    })
                ),
                record_span: ev.span,
                policy_span: expr.span,
            }
            .into()),
        }
    }

    fn fail(expr: &Expr, mismatch: Mismatch) -> Box<Failure> {
        Box::new(Failure {
            message: mismatch.message,
            record_span: mismatch.span,
            policy_span: expr.span,
        })
    }

    fn boolean(value: bool, span: Option<Span>) -> Operand<'r> {
        Operand {
            value: EvalValue::Bool(value),
            span,
        }
    }

    /// The record's value that `expr` reads, when `expr` is a path from a top-level field or
    /// from a variable bound to a mapping of the record, and the record has a value there:
    /// found without building operands. `None` otherwise (also for a missing field or a null,
    /// or a path that projects over a list), when the general path decides.
    fn field_node(&self, expr: &'r Expr) -> Option<&'r Node> {
        let node = match &expr.kind {
            ExprKind::RootField(slot, rest) => node_at(self.slots.get(self.root, *slot)?, rest)?,
            ExprKind::Var(slot, path) => match self.var_reach(*slot, path)? {
                Reach::Node(node) => node,
                Reach::Missing | Reach::List(..) => return None,
            },
            _ => return None,
        };
        Some(node).filter(|node| !matches!(node.value, crate::value::Value::Null))
    }

    /// Where a path from a quantifier's or comprehension's variable leads, read straight from
    /// the record, when the variable holds a mapping of the record and the path starts with a
    /// key; `None` otherwise (the general [`walk`] decides).
    fn var_reach(&self, slot: usize, path: &[Segment]) -> Option<Reach<'r>> {
        let (node, rest) = self.var_start(slot, path)?;
        Some(match node {
            Some(node) => reach(node, rest),
            None => Reach::Missing,
        })
    }

    /// Where a path from the variable in `slot` starts in the record, when the variable holds a
    /// mapping of the record and the path starts with a key: that key's node (`None` when the
    /// mapping has no such key) and the rest of the path. `None` otherwise.
    fn var_start<'s>(
        &self,
        slot: usize,
        path: &'s [Segment],
    ) -> Option<(Option<&'r Node>, &'s [Segment])> {
        let EvalValue::Map(map) = self.vars.get(slot)?.value else {
            return None;
        };
        let (Segment::Key(first), rest) = path.split_first()? else {
            return None;
        };
        Some((map.get(first), rest))
    }

    /// The elements of the list of the record that the field path `expr` reaches, one by one
    /// and without collecting them: the list itself (`bids.details`), or a projection over it
    /// (`b.tenderers.id`), with the list's place. `None` for anything else (a missing value, one
    /// that is not a list, a computed list), which the general path decides.
    fn record_list(&self, expr: &'r Expr) -> Option<(RecordList<'r>, Option<Span>)> {
        let (start, path): (&'r Node, &'r [Segment]) = match &expr.kind {
            ExprKind::RootField(slot, rest) => (self.slots.get(self.root, *slot)?, rest),
            ExprKind::Var(slot, path) => {
                let (node, rest) = self.var_start(*slot, path)?;
                (node?, rest)
            }
            _ => return None,
        };
        use crate::value::Value;
        match reach(start, path) {
            Reach::Node(Node {
                value: Value::List(items),
                span,
            }) => Some((RecordList::Whole(Items::Nodes(items.iter())), Some(*span))),
            Reach::List(at) => {
                let list = node_at(start, path.get(..at)?)?;
                let Value::List(items) = &list.value else {
                    return None;
                };
                let projection = Projection::new(Items::Nodes(items.iter()), path.get(at..)?);
                Some((RecordList::Projected(projection), Some(list.span)))
            }
            Reach::Node(_) | Reach::Missing => None,
        }
    }

    /// `FIELD < > <= >= CONSTANT` where the record's value has the constant's type (a number
    /// or a date), or is a string that reads as one: what [`compare`] would decide, without the
    /// general path. `None` for anything else, which the general path decides.
    fn quick_order(&self, order: Order, left: &'r Expr, right: &'r Expr) -> Option<Operand<'r>> {
        let ExprKind::Const(constant) = &right.kind else {
            return None;
        };
        let bound = crate::compile::quick::bound(constant)?;
        let node = self.field_node(left)?;
        let ordering = self.order_against(&node.value, &bound)?;
        Some(Self::boolean(order.holds(ordering), Some(node.span)))
    }

    /// `FIELD == CONSTANT` (or `!=`) where the record's value has the constant's type: what
    /// [`equals`] would decide, without the general path. A string that differs is decided
    /// here only when no alias applies and the constant cannot be read as a date or time
    /// (which `==` would compare as one). `None` for anything else.
    fn quick_equals(
        &self,
        left: &'r Expr,
        right: &'r Expr,
        aliased: bool,
        negated: bool,
    ) -> Option<Operand<'r>> {
        let ExprKind::Const(constant) = &right.kind else {
            return None;
        };
        let node = self.field_node(left)?;
        let eq = equals_constant(&node.value, constant, aliased)?;
        Some(Self::boolean(eq != negated, Some(node.span)))
    }

    /// What the frame knows of `expr` already: a constant of the run, or a value per member of
    /// the group.
    fn known(&self, expr: &Expr) -> Option<Known<'r, '_>> {
        let address = std::ptr::from_ref(expr) as usize;
        if let Some((_, value)) = self.frame.constants.iter().find(|(a, _)| *a == address) {
            return Some(Known::Constant(value));
        }
        let (addresses, parts) = self.frame.per_member?;
        if !matches!(
            expr.kind,
            ExprKind::Comprehension(..) | ExprKind::Quantifier(..)
        ) {
            return None;
        }
        let i = addresses.iter().position(|&a| a == address)?;
        parts.get(i).map(|parts| Known::PerMember(parts))
    }

    fn eval(&mut self, expr: &'r Expr) -> Result<Operand<'r>> {
        match self.known(expr) {
            Some(Known::Constant(value)) => return value.clone().map_err(Box::new),
            Some(Known::PerMember(parts)) => {
                return per_member::value(expr, parts, self.frame.group);
            }
            None => {}
        }
        Ok(match &expr.kind {
            ExprKind::Const(c) => Operand::constant(c),
            ExprKind::Field(path) => walk(Operand::node(self.root), path),
            ExprKind::RootField(slot, rest) => match self.slots.get(self.root, *slot) {
                Some(node) => walk(Operand::node(node), rest),
                None => Operand::MISSING,
            },
            ExprKind::Var(slot, path) => match self.var_reach(*slot, path) {
                // A null is missing, with no place (as `walk` gives it).
                Some(Reach::Node(node)) if !matches!(node.value, crate::value::Value::Null) => {
                    Operand::node(node)
                }
                Some(Reach::Node(_) | Reach::Missing) => Operand::MISSING,
                Some(Reach::List(..)) | None => match self.vars.get(*slot) {
                    Some(base) => walk_from(base, path),
                    None => Operand::MISSING,
                },
            },
            ExprKind::Member(base, key) => {
                let base = self.read(base)?;
                walk_from(&base, std::slice::from_ref(key))
            }
            ExprKind::Index(base, index) => {
                let base = self.read(base)?;
                let index = self.eval(index)?;
                let segment = match &index.value {
                    EvalValue::Missing => return Ok(Operand::MISSING),
                    EvalValue::Str(s) => Segment::Key(s.as_ref().into()),
                    EvalValue::Num(n) if n.fract().is_zero() => match i64::try_from(*n) {
                        Ok(i) => Segment::Index(i),
                        Err(_) => return Ok(Operand::MISSING),
                    },
                    other => {
                        return Err(Failure {
                            message: format!("cannot index with {}", other.type_name()),
                            record_span: index.span,
                            policy_span: expr.span,
                        }
                        .into());
                    }
                };
                walk_from(&base, std::slice::from_ref(&segment))
            }
            ExprKind::Not(inner) => {
                let (b, span) = self.condition(inner)?;
                Self::boolean(!b, span)
            }
            ExprKind::And(items) => {
                let mut witness = None;
                for item in items {
                    let (b, span) = self.condition(item)?;
                    witness = witness.or(span);
                    if !b {
                        return Ok(Self::boolean(false, witness));
                    }
                }
                Self::boolean(true, witness)
            }
            ExprKind::Or(items) => {
                let mut witness = None;
                for item in items {
                    let (b, span) = self.condition(item)?;
                    if b {
                        return Ok(Self::boolean(true, span.or(witness)));
                    }
                    witness = witness.or(span);
                }
                Self::boolean(false, witness)
            }
            ExprKind::Equals {
                left,
                right,
                aliases,
                negated,
            } => {
                if let Some(quick) = self.quick_equals(left, right, aliases.is_some(), *negated) {
                    return Ok(quick);
                }
                let l = self.eval(left)?;
                let r = self.eval(right)?;
                let eq = equals(&l, &r, aliases.as_deref()).map_err(|m| Self::fail(expr, m))?;
                let span = l.span.or(r.span);
                match eq {
                    None => Self::boolean(false, span),
                    Some(eq) => Self::boolean(eq != *negated, span),
                }
            }
            ExprKind::Order(order, left, right) => {
                if let Some(quick) = self.quick_order(*order, left, right) {
                    return Ok(quick);
                }
                let l = self.eval(left)?;
                let r = self.eval(right)?;
                let ordering = compare(&l, &r).map_err(|m| Self::fail(expr, m))?;
                let holds = ordering.is_some_and(|o| order.holds(o));
                Self::boolean(holds, l.span.or(r.span))
            }
            ExprKind::InSet(needle, set, negated) => {
                if let Some(node) = self.field_node(needle)
                    && let crate::value::Value::String(text) = &node.value
                    && let Some(found) = text_in_set(text, set)
                {
                    return Ok(Self::boolean(found != *negated, Some(node.span)));
                }
                let n = self.eval(needle)?;
                match in_set(&n, set).map_err(|m| Self::fail(expr, m))? {
                    None => Self::boolean(false, n.span),
                    Some(found) => Self::boolean(found != *negated, n.span),
                }
            }
            ExprKind::InList(needle, list, negated) => {
                let n = self.eval(needle)?;
                if let Some((items, _)) = self.record_list(list) {
                    if n.is_missing() {
                        return Ok(Self::boolean(false, n.span));
                    }
                    let found = Self::any_equal(&n, items, expr)?;
                    return Ok(Self::boolean(found != *negated, n.span));
                }
                let l = self.read(list)?;
                if n.is_missing() || l.is_missing() {
                    return Ok(Self::boolean(false, n.span));
                }
                let Some(items) = l.items() else {
                    return Err(Self::fail(
                        expr,
                        Mismatch {
                            message: format!("`in` needs a list, but {}", what_it_is(&l)),
                            span: l.span,
                        },
                    ));
                };
                let found = Self::any_equal(&n, items, expr)?;
                Self::boolean(found != *negated, n.span)
            }
            ExprKind::Matches(subject, regex) => {
                let s = self.eval(subject)?;
                let text = as_str(&s, "`matches`").map_err(|m| Self::fail(expr, m))?;
                Self::boolean(text.is_some_and(|t| self.is_match(regex, t)), s.span)
            }
            ExprKind::Contains(haystack, needle, aliases) => {
                let h = self.eval(haystack)?;
                let n = self.eval(needle)?;
                let found = match &h.value {
                    EvalValue::Missing => false,
                    _ if n.is_missing() => false,
                    EvalValue::Str(s) => {
                        let needle = as_str(&n, "`contains`").map_err(|m| Self::fail(expr, m))?;
                        needle.is_some_and(|needle| s.contains(needle))
                    }
                    EvalValue::Nodes(_) | EvalValue::List(_) => {
                        let mut found = false;
                        for item in h.items().into_iter().flatten() {
                            if equals(&item, &n, aliases.as_deref())
                                .map_err(|m| Self::fail(expr, m))?
                                == Some(true)
                            {
                                found = true;
                                break;
                            }
                        }
                        found
                    }
                    _ => {
                        return Err(Failure {
                            message: format!(
                                "`contains` needs a string or a list, but {}",
                                what_it_is(&h)
                            ),
                            record_span: h.span,
                            policy_span: expr.span,
                        }
                        .into());
                    }
                };
                Self::boolean(found, h.span)
            }
            ExprKind::StartsWith(left, right) | ExprKind::EndsWith(left, right) => {
                let starts = matches!(expr.kind, ExprKind::StartsWith(..));
                let what = if starts {
                    "`starts with`"
                } else {
                    "`ends with`"
                };
                let l = self.eval(left)?;
                let r = self.eval(right)?;
                let ls = as_str(&l, what).map_err(|m| Self::fail(expr, m))?;
                let rs = as_str(&r, what).map_err(|m| Self::fail(expr, m))?;
                let holds = match (ls, rs) {
                    (Some(a), Some(b)) if starts => a.starts_with(b),
                    (Some(a), Some(b)) => a.ends_with(b),
                    _ => false,
                };
                Self::boolean(holds, l.span)
            }
            ExprKind::Exists(inner) => {
                if let Some(node) = self.field_node(inner) {
                    return Ok(Self::boolean(true, Some(node.span)));
                }
                let v = self.eval(inner)?;
                Self::boolean(!v.is_missing(), v.span)
            }
            ExprKind::Missing(inner) => {
                if let Some(node) = self.field_node(inner) {
                    return Ok(Self::boolean(false, Some(node.span)));
                }
                let v = self.eval(inner)?;
                Self::boolean(v.is_missing(), v.span)
            }
            ExprKind::Arith(first, rest) => {
                let first_ev = self.eval(first)?;
                // A missing operand makes the result missing, but every operand is still read,
                // so that bad data after a missing value is reported whatever the order.
                let mut acc = Term::of(&first_ev).map_err(|m| Self::fail(expr, m))?;
                let mut span = first_ev.span;
                for (op, op_span, operand) in rest {
                    let ev = self.eval(operand)?;
                    span = span.or(ev.span);
                    let term = Term::of(&ev).map_err(|m| Self::fail(expr, m))?;
                    let (Some(sum), Some(term)) = (acc, term) else {
                        acc = None;
                        continue;
                    };
                    // A division by zero is the divisor's fault.
                    let zero = matches!(term, Term::Num(n) if n.is_zero());
                    let blame = if zero { ev.span.or(span) } else { span };
                    acc = Some(arith::combine(*op, sum, term).map_err(|why| Failure {
                        message: format!("arithmetic failed: {why}"),
                        record_span: blame,
                        policy_span: *op_span,
                    })?);
                }
                match acc {
                    Some(acc) => Operand {
                        value: acc.value(),
                        span,
                    },
                    None => Operand::MISSING,
                }
            }
            ExprKind::If(condition, then, otherwise) => {
                let (holds, _) = self.condition(condition)?;
                if holds {
                    self.eval(then)?
                } else {
                    self.eval(otherwise)?
                }
            }
            ExprKind::Comprehension(slot, list, body, filter) => {
                let mut out = Vec::new();
                if !self.comprehension(*slot, list, body, filter.as_deref(), |v| out.push(v))? {
                    return Ok(Operand::MISSING);
                }
                Operand {
                    value: EvalValue::List(out),
                    span: None,
                }
            }
            ExprKind::List(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    let value = self.eval(item)?;
                    if !value.is_missing() {
                        values.push(value);
                    }
                }
                Operand {
                    value: EvalValue::List(values),
                    span: None,
                }
            }
            ExprKind::Local(index) => self.local(*index, expr.span)?,
            ExprKind::AllOf(index) => Operand {
                value: EvalValue::List(self.frame.all.get(*index).cloned().unwrap_or_default()),
                span: None,
            },
            ExprKind::GroupKey(index) => self
                .frame
                .keys
                .get(*index)
                .cloned()
                .unwrap_or(Operand::MISSING),
            ExprKind::Group => Operand {
                value: EvalValue::List(self.frame.group.iter().map(|n| Operand::node(n)).collect()),
                span: None,
            },
            ExprKind::GroupName => Operand {
                value: EvalValue::Str(Cow::Owned(self.frame.name.to_string())),
                span: None,
            },
            ExprKind::GroupLet(index) => {
                let mut values = Vec::with_capacity(self.frame.each.len());
                for member in self.frame.each {
                    let value = per_member::each_value(member, *index)?;
                    if !value.is_missing() {
                        values.push(value);
                    }
                }
                Operand {
                    value: EvalValue::List(values),
                    span: None,
                }
            }
            ExprKind::MemberLet(slot, index) => {
                let member = self
                    .members
                    .get(*slot)
                    .and_then(|&m| self.frame.each.get(m));
                match member {
                    Some(member) => per_member::each_value(member, *index)?,
                    None => Operand::MISSING,
                }
            }
            ExprKind::Neg(inner) => {
                let ev = self.eval(inner)?;
                match as_number(&ev, "`-`").map_err(|m| Self::fail(expr, m))? {
                    None => Operand::MISSING,
                    Some(n) => Operand {
                        value: EvalValue::Num(crate::value::negate(n)),
                        span: ev.span,
                    },
                }
            }
            ExprKind::Call(function, args) => self.call(*function, args, expr)?,
            ExprKind::Quantifier(q, slot, list, body) => {
                if let Some((items, span)) = self.record_list(list) {
                    return self.quantify(*q == Quantifier::Any, *slot, (items, span), body, false);
                }
                let l = self.read(list)?;
                if l.is_missing() {
                    return Ok(Self::boolean(false, None));
                }
                let Some(items) = l.items() else {
                    return Err(Failure {
                        message: format!(
                            "`{}` needs a list, but {}",
                            if *q == Quantifier::Any { "any" } else { "all" },
                            what_it_is(&l)
                        ),
                        record_span: l.span,
                        policy_span: list.span,
                    }
                    .into());
                };
                let over_group = matches!(list.kind, ExprKind::Group);
                self.quantify(
                    *q == Quantifier::Any,
                    *slot,
                    (items, l.span),
                    body,
                    over_group,
                )?
            }
        })
    }

    /// `any` (`want`: true) or `all` (false) of the list `items` (at `span`), each bound to the
    /// variable in `slot` while `body` is tested; `over_group`: the list is the group's members.
    fn quantify(
        &mut self,
        want: bool,
        slot: usize,
        (items, span): (impl Iterator<Item = Operand<'r>>, Option<Span>),
        body: &'r Expr,
        over_group: bool,
    ) -> Result<Operand<'r>> {
        let mut result = !want;
        let mut witness = span;
        for (member, item) in items.enumerate() {
            self.bind(slot, item, over_group.then_some(member));
            let (b, span) = self.condition(body)?;
            if b == want {
                result = want;
                witness = span.or(witness);
                break;
            }
        }
        self.vars.truncate(slot);
        Ok(Self::boolean(result, witness))
    }

    /// Whether any of `items` equals `needle` (for `in`, at `expr`).
    fn any_equal(
        needle: &Operand<'r>,
        items: impl Iterator<Item = Operand<'r>>,
        expr: &Expr,
    ) -> Result<bool> {
        for item in items {
            if equals(needle, &item, None).map_err(|m| Self::fail(expr, m))? == Some(true) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Runs the comprehension `[body for VAR in list where filter]` (VAR in `slot`), handing each
    /// value it gives to `give`; `false` when the list is missing.
    fn comprehension(
        &mut self,
        slot: usize,
        list: &'r Expr,
        body: &'r Expr,
        filter: Option<&'r Expr>,
        mut give: impl FnMut(Operand<'r>),
    ) -> Result<bool> {
        let l = self.read(list)?;
        if l.is_missing() {
            return Ok(false);
        }
        let Some(items) = l.items() else {
            return Err(Failure {
                message: format!("a comprehension needs a list, but {}", what_it_is(&l)),
                record_span: l.span,
                policy_span: list.span,
            }
            .into());
        };
        let over_group = matches!(list.kind, ExprKind::Group);
        for (member, item) in items.enumerate() {
            self.bind(slot, item, over_group.then_some(member));
            if let Some(filter) = filter
                && !self.condition(filter)?.0
            {
                continue;
            }
            let value = self.eval(body)?;
            if !value.is_missing() {
                give(value);
            }
        }
        self.vars.truncate(slot);
        Ok(true)
    }

    /// Binds the variable in `slot` to `item`, which is the group's member at `member` when the
    /// variable ranges over `group`.
    fn bind(&mut self, slot: usize, item: Operand<'r>, member: Option<usize>) {
        self.vars.truncate(slot);
        self.vars.push(item);
        if let Some(member) = member {
            if self.members.len() <= slot {
                self.members.resize(slot + 1, usize::MAX);
            }
            if let Some(at) = self.members.get_mut(slot) {
                *at = member;
            }
        }
    }

    /// A rule-local let, computed the first time it is read.
    fn local(&mut self, index: usize, blame: Span) -> Result<Operand<'r>> {
        Ok(match self.local_read(index, blame)? {
            Read::Own(value) => value,
            Read::Shared(value) => Operand::clone(&value),
        })
    }

    /// The value of `expr` for a reader that only looks at it (the list of a comprehension or
    /// quantifier, a function's argument): a let's value is read without being copied.
    fn read(&mut self, expr: &'r Expr) -> Result<Read<'r>> {
        match expr.kind {
            ExprKind::Local(index) if self.known(expr).is_none() => {
                self.local_read(index, expr.span)
            }
            _ => self.eval(expr).map(Read::Own),
        }
    }

    /// [`Context::local`], shared with the memo when it is computed (or read from the values a
    /// record kept).
    fn local_read(&mut self, index: usize, blame: Span) -> Result<Read<'r>> {
        if let Some(value) = per_member::kept_value(self.frame.stored, index) {
            return value.map(Read::Own);
        }
        // The memo is made when a let is first read: most rules on most records read none.
        if self.frame.memo.len() < self.frame.lets.len() {
            self.frame.memo.resize(self.frame.lets.len(), Memo::Unset);
        }
        match self.frame.memo.get(index) {
            Some(Memo::Done(value)) => return Ok(value.clone()),
            Some(Memo::Busy) => {
                return Err(Failure {
                    message: "a `let` is defined in terms of itself".into(),
                    record_span: None,
                    policy_span: blame,
                }
                .into());
            }
            _ => {}
        }
        let lets = self.frame.lets;
        let Some(local) = lets.get(index) else {
            return Ok(Read::Own(Operand::MISSING));
        };
        // Another rule of the record computed it already.
        if let (Some(slot), Some(shared)) = (local.shared, self.shared.as_deref())
            && let Some(Memo::Done(value)) = shared.0.get(slot)
        {
            let value = value.clone();
            if let Some(m) = self.frame.memo.get_mut(index) {
                *m = Memo::Done(value.clone());
            }
            return Ok(value);
        }
        if let Some(m) = self.frame.memo.get_mut(index) {
            *m = Memo::Busy;
        }
        // A let's value is its own: the variables of the expression that reads it are not its.
        let vars = std::mem::take(self.vars);
        let value = self.eval(&local.expr);
        *self.vars = vars;
        // A let that fails fails again when read again (not as a cycle).
        if value.is_err()
            && let Some(m) = self.frame.memo.get_mut(index)
        {
            *m = Memo::Unset;
        }
        // A list is shared (copying it at every read costs more than the count); any other
        // value is copied.
        let value = match value? {
            list @ Operand {
                value: EvalValue::List(_),
                ..
            } => Read::Shared(Rc::new(list)),
            value => Read::Own(value),
        };
        if let Some(m) = self.frame.memo.get_mut(index) {
            *m = Memo::Done(value.clone());
        }
        if let (Some(slot), Some(SharedValues(shared))) = (local.shared, self.shared.as_deref_mut())
        {
            if shared.len() <= slot {
                shared.resize(slot + 1, Memo::Unset);
            }
            if let Some(m) = shared.get_mut(slot) {
                *m = Memo::Done(value.clone());
            }
        }
        Ok(value)
    }

    /// The message of a finding of `rule`: its template rendered, or the generated one.
    fn message(&mut self, rule: &'r CompiledRule, record: Option<&Record>) -> Result<Arc<str>> {
        let Some(template) = &rule.message else {
            return Ok(rule.generated_message.clone());
        };
        let mut out = String::new();
        for part in &template.parts {
            match part {
                TemplatePart::Text(t) => out.push_str(t),
                TemplatePart::Field(path) => {
                    let value = walk(Operand::node(self.root), path);
                    render_value(&value, record, &mut out);
                }
                TemplatePart::Expr(e) => {
                    let value = self.eval(e)?;
                    render_value(&value, record, &mut out);
                }
            }
            if out.len() > MAX_MESSAGE_BYTES {
                let mut end = MAX_MESSAGE_BYTES;
                while !out.is_char_boundary(end) {
                    end -= 1;
                }
                out.truncate(end);
                out.push_str(CUT_MARKER);
                break;
            }
        }
        Ok(out.into())
    }

    fn call(
        &mut self,
        function: Function,
        args: &'r [Expr],
        expr: &'r Expr,
    ) -> Result<Operand<'r>> {
        // `count([… for …])` counts without building the list (unless the frame knows the
        // list already).
        if let (Function::Count, [arg]) = (function, args)
            && let ExprKind::Comprehension(slot, list, body, filter) = &arg.kind
            && self.known(arg).is_none()
        {
            let mut n = 0usize;
            let listed = self.comprehension(*slot, list, body, filter.as_deref(), |_| n += 1)?;
            return Ok(if listed {
                Operand {
                    value: EvalValue::Num(Decimal::from(n)),
                    span: None,
                }
            } else {
                Operand::MISSING
            });
        }
        // `count(bids.details)`, `count(b.tenderers.id)`: the record's values counted in place.
        if let (Function::Count, [arg]) = (function, args)
            && let Some((items, span)) = self.record_list(arg)
        {
            return Ok(Operand {
                value: EvalValue::Num(Decimal::from(items.count())),
                span,
            });
        }
        // Most calls have one argument: it is evaluated without a vector.
        let single;
        let many;
        let values: &[Operand<'r>] = if let [arg] = args {
            single = self.read(arg)?;
            std::slice::from_ref(&*single)
        } else {
            many = args
                .iter()
                .map(|arg| self.eval(arg))
                .collect::<Result<Vec<_>>>()?;
            &many
        };
        let fail = |m: Mismatch| Self::fail(expr, m);
        let today = self.today();
        if function == Function::Today {
            return functions::call(function, values, today).map_err(fail);
        }
        let Some(first) = values.first() else {
            return Ok(Operand::MISSING);
        };
        let span = first.span;
        // The first argument's elements one by one, or collected; `None` when it is missing.
        let items_arg = |what: &str| {
            if first.is_missing() {
                return Ok(None);
            }
            first.items().map(Some).ok_or_else(|| {
                fail(Mismatch {
                    message: format!("`{what}` needs a list, but {}", what_it_is(first)),
                    span: first.span,
                })
            })
        };
        let list_arg = |what: &str| -> Result<Option<Vec<Operand<'r>>>> {
            Ok(items_arg(what)?.map(Iterator::collect))
        };
        Ok(match function {
            Function::Count => match items_arg("count")? {
                None => Operand::MISSING,
                Some(items) => Operand {
                    value: EvalValue::Num(Decimal::from(items.count())),
                    span,
                },
            },
            Function::Len => match &first.value {
                EvalValue::Missing => Operand::MISSING,
                EvalValue::Str(s) => Operand {
                    value: EvalValue::Num(Decimal::from(s.chars().count())),
                    span,
                },
                _ if first.items().is_none() => {
                    return Err(fail(Mismatch {
                        message: format!(
                            "`len` needs a string or a list, but {}",
                            what_it_is(first)
                        ),
                        span: first.span,
                    }));
                }
                _ => match list_arg("len")? {
                    None => Operand::MISSING,
                    Some(items) => Operand {
                        value: EvalValue::Num(Decimal::from(items.len())),
                        span,
                    },
                },
            },
            Function::Sum => match items_arg("sum")? {
                None => Operand::MISSING,
                Some(items) => {
                    let items: Vec<Operand<'r>> = items.collect();
                    if let Some(total) = sum_of_durations(&items, expr)? {
                        return Ok(Operand {
                            value: EvalValue::Duration(total),
                            span,
                        });
                    }
                    let mut total = Some(Decimal::ZERO);
                    // The item at which adding in order overflows, blamed if no order fits.
                    let mut overflow_at = None;
                    for item in &items {
                        if let Some(n) = as_number(item, "`sum`").map_err(fail)? {
                            total = total.and_then(|t| t.checked_add(n));
                            if total.is_none() && overflow_at.is_none() {
                                overflow_at = Some(item.span);
                            }
                        }
                    }
                    let total = match total {
                        Some(total) => total,
                        // Only then are the numbers gathered, to be added in another order.
                        None => {
                            let numbers: Vec<Decimal> = items
                                .iter()
                                .filter_map(|item| as_number(item, "`sum`").ok().flatten())
                                .collect();
                            crate::value::balanced_sum(&numbers).ok_or_else(|| Failure {
                                message: "`sum` failed: the result is too large (overflow)".into(),
                                record_span: overflow_at.flatten(),
                                policy_span: expr.span,
                            })?
                        }
                    };
                    Operand {
                        value: EvalValue::Num(total),
                        span,
                    }
                }
            },
            Function::Min | Function::Max => {
                let items = if values.len() == 1 {
                    match list_arg(if function == Function::Min {
                        "min"
                    } else {
                        "max"
                    })? {
                        None => return Ok(Operand::MISSING),
                        Some(items) => items,
                    }
                } else {
                    values.to_vec()
                };
                let keys = value::ordering_keys(&items);
                let keys = keys.as_deref().unwrap_or(&items);
                let ranks = value::Ranking::of(keys).ranks(keys).map_err(fail)?;
                // The first of the least (or greatest) rank.
                let mut best: Option<(usize, &value::Rank<'_>)> = None;
                for (i, rank) in ranks.iter().enumerate() {
                    let Some(rank) = rank else { continue };
                    let better = best.is_none_or(|(_, best)| match function {
                        Function::Min => rank < best,
                        _ => rank > best,
                    });
                    if better {
                        best = Some((i, rank));
                    }
                }
                best.and_then(|(i, _)| items.get(i).cloned())
                    .unwrap_or(Operand::MISSING)
            }
            Function::Lower | Function::Upper => {
                let what = if function == Function::Lower {
                    "`lower`"
                } else {
                    "`upper`"
                };
                match as_str(first, what).map_err(fail)? {
                    None => Operand::MISSING,
                    Some(s) => {
                        let changed = if function == Function::Lower {
                            s.to_lowercase()
                        } else {
                            s.to_uppercase()
                        };
                        Operand {
                            value: EvalValue::Str(Cow::Owned(changed)),
                            span,
                        }
                    }
                }
            }
            _ => functions::call(function, values, today).map_err(fail)?,
        })
    }
}

/// `sum` of a list of durations (LANGUAGE.md §11: durations add to each other), missing ones
/// left out; `None` when the list holds no duration (a sum of numbers). A duration beside a
/// value of another type is bad data, at that value.
fn sum_of_durations(items: &[Operand<'_>], expr: &Expr) -> Result<Option<crate::time::Duration>> {
    if !items
        .iter()
        .any(|i| matches!(i.value, EvalValue::Duration(_)))
    {
        return Ok(None);
    }
    let mut total = crate::time::Duration(0);
    for item in items {
        let sum = match &item.value {
            EvalValue::Missing => continue,
            EvalValue::Duration(d) => total.checked_add(*d),
            _ => {
                return Err(Box::new(Failure {
                    message: format!(
                        "`sum` of durations needs durations only, but {}",
                        what_it_is(item)
                    ),
                    record_span: item.span,
                    policy_span: expr.span,
                }));
            }
        };
        total = sum.ok_or_else(|| Failure {
            message: "`sum` failed: the total is too long a duration".to_string(),
            record_span: item.span,
            policy_span: expr.span,
        })?;
    }
    Ok(Some(total))
}

/// Whether a record's value equals a constant of its own type, as `==` decides it; `None` where
/// `==` must decide otherwise: a string that differs from an aliased symbol (its other
/// spellings) or from a constant that starts with a digit (compared as a date), or values of
/// different types.
fn equals_constant(value: &crate::value::Value, constant: &Const, aliased: bool) -> Option<bool> {
    use crate::value::Value;
    Some(match (value, constant) {
        (Value::String(x), Const::String(y)) => {
            // A date or a date-time starts with a digit.
            let date_like = y.as_bytes().first().is_none_or(u8::is_ascii_digit);
            if **x != **y && (aliased || date_like) {
                return None;
            }
            **x == **y
        }
        (Value::Number(x), Const::Number(y)) => x == y,
        (Value::Date(x), Const::Date(y)) => x == y,
        (Value::Bool(x), Const::Bool(y)) => x == y,
        _ => return None,
    })
}

/// Follows a field path from a value; a key applied to a list projects over its elements.
fn walk<'r>(start: Operand<'r>, path: &[Segment]) -> Operand<'r> {
    let mut current = start;
    for i in 0..path.len() {
        match step(&current, path.get(i..).unwrap_or(&[])) {
            Step::Next(next) if next.is_missing() => return Operand::MISSING,
            Step::Next(next) => current = next,
            Step::Last(value) => return value,
        }
    }
    current
}

/// [`walk`] from a value that stays where it is (a let's, shared): only what the path reaches
/// is copied.
fn walk_from<'r>(start: &Operand<'r>, path: &[Segment]) -> Operand<'r> {
    if path.is_empty() {
        return start.clone();
    }
    match step(start, path) {
        Step::Next(next) if next.is_missing() => Operand::MISSING,
        Step::Next(next) => walk(next, path.get(1..).unwrap_or(&[])),
        Step::Last(value) => value,
    }
}

/// One step of [`walk`]: where the first segment of `path` (the rest of the path) leads from
/// `current`.
enum Step<'r> {
    /// The value the segment leads to, from which the walk goes on.
    Next(Operand<'r>),
    /// The walk's result: a key applied to a list projected the whole path over its elements.
    Last(Operand<'r>),
}

fn step<'r>(current: &Operand<'r>, path: &[Segment]) -> Step<'r> {
    let Some(segment) = path.first() else {
        return Step::Last(current.clone());
    };
    Step::Next(match (&current.value, segment) {
        (EvalValue::Map(map), Segment::Key(key)) => {
            map.get(key).map_or(Operand::MISSING, Operand::node)
        }
        (EvalValue::Nodes(_) | EvalValue::List(_), Segment::Key(_)) => {
            // Project the path over the elements, flattening lists.
            let out = match current.items() {
                Some(items) => Projection::new(items, path).collect(),
                None => Vec::new(),
            };
            return Step::Last(Operand {
                value: EvalValue::List(out),
                span: current.span,
            });
        }
        (EvalValue::Nodes(nodes), Segment::Index(i)) => position(nodes.len(), *i)
            .and_then(|p| nodes.get(p))
            .map_or(Operand::MISSING, Operand::node),
        (EvalValue::List(items), Segment::Index(i)) => position(items.len(), *i)
            .and_then(|p| items.get(p))
            .cloned()
            .unwrap_or(Operand::MISSING),
        _ => Operand::MISSING,
    })
}

/// The elements of a projection `LIST.PATH`, one by one, as [`walk`] collects them: the path
/// followed from each element of the list, the elements where it is missing (or null) left out
/// and lists it reaches flattened one level (a null inside such a list stays, as missing).
pub(crate) struct Projection<'a, 'r, 's> {
    elements: Items<'a, 'r>,
    rest: &'s [Segment],
    /// The elements of the list the last element's path gave, still to come.
    inner: Flattened<'r>,
}

/// What is left of a list within a projection.
enum Flattened<'r> {
    Nothing,
    Nodes(std::slice::Iter<'r, Node>),
    List(std::vec::IntoIter<Operand<'r>>),
}

impl<'a, 'r, 's> Projection<'a, 'r, 's> {
    /// The projection of `rest` over `elements`.
    pub(crate) fn new(elements: Items<'a, 'r>, rest: &'s [Segment]) -> Self {
        Projection {
            elements,
            rest,
            inner: Flattened::Nothing,
        }
    }
}

impl<'r> Iterator for Projection<'_, 'r, '_> {
    type Item = Operand<'r>;

    fn next(&mut self) -> Option<Operand<'r>> {
        loop {
            let next = match &mut self.inner {
                Flattened::Nothing => None,
                Flattened::Nodes(nodes) => nodes.next().map(Operand::node),
                Flattened::List(items) => items.next(),
            };
            if next.is_some() {
                return next;
            }
            let value = walk(self.elements.next()?, self.rest);
            self.inner = match value.value {
                EvalValue::Missing => Flattened::Nothing,
                EvalValue::Nodes(nodes) => Flattened::Nodes(nodes.iter()),
                EvalValue::List(items) => Flattened::List(items.into_iter()),
                other => {
                    self.inner = Flattened::Nothing;
                    return Some(Operand {
                        value: other,
                        span: value.span,
                    });
                }
            };
        }
    }
}

/// A list of the record as [`Context::record_list`] reads it: whole, or projected.
enum RecordList<'r> {
    Whole(Items<'r, 'r>),
    Projected(Projection<'r, 'r, 'r>),
}

impl<'r> Iterator for RecordList<'r> {
    type Item = Operand<'r>;

    fn next(&mut self) -> Option<Operand<'r>> {
        match self {
            RecordList::Whole(items) => items.next(),
            RecordList::Projected(projection) => projection.next(),
        }
    }
}

/// Where a path leads from a node, read straight from the record (without the operands of
/// [`walk`]).
enum Reach<'r> {
    /// Every step is a key of a mapping or a position of a list: the node there.
    Node(&'r Node),
    /// A key or a position is not there, or a step meets a value that has neither.
    Missing,
    /// A key meets a list, over whose elements [`walk`] would go on: how many segments of the
    /// path lead to the list.
    List(usize),
}

/// [`Reach`]: where `path` leads from `node`, as [`walk`] would go: a key of a mapping, a
/// position of a list.
fn reach<'r>(mut node: &'r Node, path: &[Segment]) -> Reach<'r> {
    use crate::value::Value;
    for (i, segment) in path.iter().enumerate() {
        match (&node.value, segment) {
            (Value::Map(map), Segment::Key(key)) => match map.get(key) {
                Some(next) => node = next,
                None => return Reach::Missing,
            },
            (Value::List(items), Segment::Index(i)) => {
                match position(items.len(), *i).and_then(|p| items.get(p)) {
                    Some(next) => node = next,
                    None => return Reach::Missing,
                }
            }
            (Value::List(_), Segment::Key(_)) => return Reach::List(i),
            _ => return Reach::Missing,
        }
    }
    Reach::Node(node)
}

/// The node at a path from `node`, if every step is a key of a mapping or a position of a list.
fn node_at<'r>(node: &'r Node, path: &[Segment]) -> Option<&'r Node> {
    match reach(node, path) {
        Reach::Node(node) => Some(node),
        Reach::Missing | Reach::List(..) => None,
    }
}

/// A list position; negative counts from the end.
fn position(len: usize, index: i64) -> Option<usize> {
    if index >= 0 {
        usize::try_from(index).ok()
    } else {
        len.checked_sub(usize::try_from(index.unsigned_abs()).ok()?)
    }
}

/// Membership of a string in a constant set, by hash and spelling (its strings and aliased
/// symbols): the common case. `None` when it is in neither and the set holds other constants,
/// which it must be compared with as `==` would.
fn text_in_set(text: &str, set: &ConstSet) -> Option<bool> {
    if set.strings.contains(text) || set.aliases.matches(text) {
        return Some(true);
    }
    set.others.is_empty().then_some(false)
}

/// Membership in a constant set; `Ok(None)` when the needle is missing.
fn in_set(needle: &Operand<'_>, set: &ConstSet) -> std::result::Result<Option<bool>, Mismatch> {
    if needle.is_missing() {
        return Ok(None);
    }
    if let EvalValue::Str(s) = &needle.value
        && let Some(found) = text_in_set(s, set)
    {
        return Ok(Some(found));
    }
    // Otherwise compare with each element as `==` would, reporting a type mismatch only if no
    // element matched: the first, in an order that does not change from run to run. A string
    // needle was already looked up among the strings.
    let strings = match needle.value {
        EvalValue::Str(_) => Vec::new(),
        _ => crate::compile::program::sorted(&set.strings),
    };
    let elements = set
        .others
        .iter()
        .map(Operand::constant)
        .chain(strings.into_iter().map(|s| Operand {
            value: EvalValue::Str(Cow::Borrowed(s)),
            span: None,
        }));
    let mut first_error = None;
    for element in elements {
        match equals(needle, &element, None) {
            Ok(Some(true)) => return Ok(Some(true)),
            Ok(_) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(Some(false)),
    }
}

/// The finding's message: the rule's template filled in, or one generated from its clauses.
/// The longest message a template renders, in bytes; a longer one is cut, with a marker, so
/// that many placeholders of a large value cannot make a message of gigabytes.
pub const MAX_MESSAGE_BYTES: usize = 64 << 10;

/// What ends a message cut at [`MAX_MESSAGE_BYTES`].
pub const CUT_MARKER: &str = "… (message cut at 64 KiB)";

/// Renders a value as the data wrote it: numbers as written, dates as `YYYY-MM-DD`, lists as
/// `[a, b]`, a missing value as `(missing)`.
pub(crate) fn render_value(value: &Operand<'_>, record: Option<&Record>, out: &mut String) {
    match &value.value {
        EvalValue::Missing => out.push_str("(missing)"),
        EvalValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        EvalValue::Num(n) => match value.span.zip(record) {
            Some((span, record)) => {
                // A number a schema read from a quoted string is shown without its quotes.
                let written = record.source.slice(span).trim();
                let written = ['"', '\'']
                    .iter()
                    .find_map(|q| written.strip_prefix(*q)?.strip_suffix(*q))
                    .unwrap_or(written);
                // Only a value the data wrote is shown as written; a computed one is not.
                match crate::data::number_as_written(written) {
                    Some(w) if w == *n => out.push_str(written),
                    _ => out.push_str(&n.to_string()),
                }
            }
            None => out.push_str(&n.to_string()),
        },
        EvalValue::Str(s) => out.push_str(s),
        EvalValue::Date(d) => out.push_str(&d.to_string()),
        EvalValue::DateTime(t) => out.push_str(&t.to_string()),
        EvalValue::Duration(d) => out.push_str(&d.to_string()),
        EvalValue::Nodes(_) | EvalValue::List(_) => {
            out.push('[');
            for (i, item) in value.items().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_value(&item, record, out);
            }
            out.push(']');
        }
        EvalValue::Map(map) => {
            out.push('{');
            for (i, entry) in map.entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&entry.key);
                out.push_str(": ");
                render_value(&Operand::node(&entry.value), record, out);
            }
            out.push('}');
        }
    }
}

/// The record's name in reports: its id field when present, else `FILE#INDEX`.
pub fn record_name(record: &Record, id_field: &[Segment]) -> String {
    record_label(record, id_field).to_string()
}

/// [`record_name`], as the findings of the record share it.
pub(crate) fn record_label(record: &Record, id_field: &[Segment]) -> Arc<str> {
    record_id(record, id_field).map_or_else(
        || format!("{}#{}", record.source.name(), record.index).into(),
        |id| id.as_ref().into(),
    )
}

/// The record's id field rendered as text, when it has a non-empty one: borrowed from the
/// record when it is a string.
pub(crate) fn record_id<'r>(record: &'r Record, id_field: &[Segment]) -> Option<Cow<'r, str>> {
    // The common case, a string under a path of keys, straight from the record.
    if let Some(node) = node_at(&record.root, id_field)
        && let crate::value::Value::String(id) = &node.value
    {
        return (!id.is_empty()).then_some(Cow::Borrowed(id.as_str()));
    }
    let id = walk(Operand::node(&record.root), id_field);
    match id.value {
        EvalValue::Str(s) if !s.is_empty() => Some(s),
        EvalValue::Num(_) | EvalValue::Bool(_) | EvalValue::Date(_) => {
            let mut out = String::new();
            render_value(&id, Some(record), &mut out);
            Some(out.into())
        }
        _ => None,
    }
}
