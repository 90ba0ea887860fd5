//! The compiled form of a policy set: rules whose names are resolved, whose constants are folded
//! and whose dates, regexes and alias sets are built once, ready to evaluate against any record.

use std::sync::Arc;

use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::diagnostic::Code;
use crate::source::{Source, Span};
use crate::syntax::ast::{ArithOp, Effect, Quantifier};

/// A checked, compiled policy set.
#[derive(Debug, Clone, Default)]
pub struct Program {
    /// The rules, in policy order (files in the order given, rules in file order).
    pub rules: Vec<CompiledRule>,
    /// Which rules a record can meet, by the values their first clauses test.
    pub index: super::index::RuleIndex,
    /// By rule: its clauses' quick tests ([`super::quick`]), when it has any; made when a
    /// record is first evaluated ([`Program::quick_tests`]), not for a program only checked.
    quick: std::sync::OnceLock<Vec<Option<super::quick::QuickRule>>>,
    /// The record's top-level fields that rules and the index read: name → slot (see
    /// [`ExprKind::RootField`]).
    pub root_fields: foldhash::HashMap<Box<str>, usize>,
    /// Every waiver of the policy set, in policy order; a rule lists those in force.
    pub waivers: Vec<CompiledWaiver>,
    /// Every `test` block of the policy set, in policy order.
    pub tests: Vec<CompiledTest>,
    /// The schema the records must conform to, when the policies declare one.
    pub schema: Option<Arc<crate::schema::Schema>>,
    /// The run's "today" (`--today`): the day [`Program::apply_today`] applied the waivers as
    /// of, once it has, and `today()`; the current date when not set.
    pub today: Option<Date>,
    /// Every aliased symbol of the run, for group keys: records whose key is a spelling of one
    /// share its group.
    pub aliases: Vec<(Arc<str>, Arc<AliasSet>)>,
    /// The policy files it was compiled from, imports included (a file of `let`s alone too):
    /// inputs that no report may overwrite.
    pub policy_files: Vec<std::path::PathBuf>,
    /// What the rules across records (and their waivers) read of a record: all a record keeps
    /// for them.
    pub across_projection: super::projection::Projection,
    /// How many values the rules of a record share ([`LocalLet::shared`]): lets of different
    /// rules computed the same way from the record alone are computed once per record.
    pub shared_lets: usize,
    /// For each rule across records, the lets whose values a record keeps
    /// ([`Program::stored_lets`]); empty when it keeps none.
    kept_lets: Vec<Vec<bool>>,
    /// For each rule across records without `per`, the kept lets its conditions read
    /// ([`Program::anchor_lets`]).
    anchor_lets: Vec<Vec<usize>>,
}

impl Program {
    /// A program of these rules, with their index; field paths from the record's root are
    /// given slots, so that each top-level field is looked up once per record.
    pub fn new(mut rules: Vec<CompiledRule>) -> Program {
        // Rules across records are evaluated apart, after every record is read.
        let mut index = super::index::RuleIndex::build(rules.iter().map(|r| {
            if r.across.is_some() {
                None
            } else {
                r.conditions.first().map(|c| &c.expr)
            }
        }));
        let mut root_fields = foldhash::HashMap::default();
        for path_index in &mut index.paths {
            if let Some(Segment::Key(key)) = path_index.path.first() {
                path_index.slot = Some(slot_of(key, &mut root_fields));
            }
        }
        for rule in &mut rules {
            for expr in rule.exprs_mut() {
                slot_root_fields(expr, &mut root_fields);
            }
        }
        let shared_lets = share_lets(&mut rules);
        let mut program = Program {
            rules,
            index,
            quick: std::sync::OnceLock::new(),
            root_fields,
            waivers: Vec::new(),
            tests: Vec::new(),
            schema: None,
            today: None,
            aliases: Vec::new(),
            policy_files: Vec::new(),
            across_projection: super::projection::Projection::default(),
            shared_lets,
            kept_lets: Vec::new(),
            anchor_lets: Vec::new(),
        };
        program.plan_across();
        program
    }

    /// Works out, once the rules and their waivers are known, what the rules across records
    /// keep of each record: the fields they read later, and the values of their lets.
    fn plan_across(&mut self) {
        self.across_projection = self.across_projection();
        self.kept_lets = (0..self.rules.len())
            .map(|index| self.kept_lets_of(index))
            .collect();
        self.anchor_lets = (0..self.rules.len())
            .map(|index| self.anchor_lets_of(index))
            .collect();
    }

    /// By rule, the quick tests of its clauses ([`super::quick`]), made on first use.
    pub fn quick_tests(&self) -> &[Option<super::quick::QuickRule>] {
        self.quick
            .get_or_init(|| self.rules.iter().map(super::quick::QuickRule::of).collect())
    }

    /// Attaches waivers to the rules they waive, each waiver's condition given root-field slots
    /// like the rules' clauses. Every waiver is in force until [`Program::apply_today`].
    pub(crate) fn with_waivers(mut self, mut waivers: Vec<CompiledWaiver>) -> Program {
        for (index, waiver) in waivers.iter_mut().enumerate() {
            slot_root_fields(&mut waiver.condition.expr, &mut self.root_fields);
            if let Some(rule) = self.rules.get_mut(waiver.rule) {
                rule.waivers.push(index);
            }
        }
        self.waivers = waivers;
        self.plan_across();
        self
    }

    /// Takes waivers whose `until` is before `today` out of force. Returns a warning for each
    /// expired waiver and a note for each that expires within `EXPIRY_NOTICE_DAYS` days.
    pub fn apply_today(&mut self, today: Date) -> Vec<crate::diagnostic::Diag> {
        use crate::diagnostic::{Code, Diag};
        self.today = Some(today);
        let mut diags = Vec::new();
        for (index, waiver) in self.waivers.iter().enumerate() {
            let rule_id = self
                .rules
                .get(waiver.rule)
                .map_or_else(|| "".into(), |r| r.id.clone());
            let days_left = (waiver.until - today).get_days();
            if today > waiver.until {
                if let Some(rule) = self.rules.get_mut(waiver.rule) {
                    rule.waivers.retain(|&w| w != index);
                }
                diags.push(
                    Diag::warning(
                        Code::WaiverExpired,
                        format!(
                            "the waiver of `{rule_id}` expired on {} and no longer applies",
                            waiver.until
                        ),
                    )
                    .label(&waiver.source, waiver.until_span, "expired")
                    .help("renew it with a later `until`, or delete it and fix the records it covered"),
                );
            } else if days_left <= EXPIRY_NOTICE_DAYS {
                let when = match days_left {
                    0 => "today".to_string(),
                    1 => "tomorrow".to_string(),
                    n => format!("in {n} days"),
                };
                diags.push(
                    Diag::advice(
                        Code::WaiverExpiring,
                        format!(
                            "the waiver of `{rule_id}` expires {when}: it applies until {}",
                            waiver.until
                        ),
                    )
                    .label(&waiver.source, waiver.until_span, "the last day it applies")
                    .help("renew it in time, or fix the records it covers"),
                );
            }
        }
        diags
    }

    /// A warning for each waiver in force that waived nothing in a run (`used[i]` is whether
    /// waiver `i` waived a finding).
    pub(crate) fn stale_waivers(&self, used: &[bool]) -> Vec<crate::diagnostic::Diag> {
        use crate::diagnostic::Diag;
        let in_force = |index: usize, waiver: &CompiledWaiver| {
            self.rules
                .get(waiver.rule)
                .is_some_and(|r| r.waivers.contains(&index))
        };
        self.waivers
            .iter()
            .enumerate()
            .filter(|&(index, waiver)| {
                in_force(index, waiver) && !used.get(index).copied().unwrap_or(false)
            })
            .map(|(_, waiver)| {
                let rule_id = self.rules.get(waiver.rule).map_or("", |r| &*r.id);
                Diag::warning(
                    Code::WaiverStale,
                    format!("the waiver of `{rule_id}` matched no finding (a stale waiver)"),
                )
                .label(&waiver.source, waiver.condition.span, "no finding of the rule matched this")
                .help("delete the waiver if the records it covered are gone or fixed; else check its condition: a waiver never covers an `error` finding (bad data), and does not apply to a record its condition cannot be evaluated on")
            })
            .collect()
    }
}

impl Program {
    /// For the rule across records at `index`, the lets whose values each record keeps (by let
    /// index), computed while the record is read: the lets that are not
    /// [late](CompiledRule::late_lets) but that what runs once every record is read reads (its
    /// `when`, `unless`, `having`, message, late lets and waivers, as a name, as `group.NAME` or
    /// `r.NAME`) or that `all.` reads. A record then keeps these values rather than the fields
    /// they are computed from. Empty when the rule keeps none.
    pub(crate) fn stored_lets(&self, index: usize) -> &[bool] {
        self.kept_lets.get(index).map_or(&[], Vec::as_slice)
    }

    /// For the rule without `per` at `index` that reads `all.`, the lets that each record keeps
    /// and that its conditions read (also through a let computed once every record is read),
    /// operands left to right: a finding of the rule points at the value of the first one that
    /// has a place in the record, so that it points into the record as other findings do (at a
    /// value the rule reads, not necessarily the one that decided: an `or` may hold on a later
    /// let). Empty for any other rule.
    pub(crate) fn anchor_lets(&self, index: usize) -> &[usize] {
        self.anchor_lets.get(index).map_or(&[], Vec::as_slice)
    }

    /// [`Program::anchor_lets`], worked out.
    fn anchor_lets_of(&self, index: usize) -> Vec<usize> {
        let Some(rule) = self.rules.get(index) else {
            return Vec::new();
        };
        if rule.across.as_ref().is_none_or(|a| !a.keys.is_empty()) {
            return Vec::new();
        }
        let stored = self.stored_lets(index);
        let mut order = Vec::new();
        let mut visited = vec![false; rule.lets.len()];
        // Depth first, operands left to right (as written, which is mostly the order evaluation
        // reads them in).
        let mut stack: Vec<&Expr> = rule.conditions.iter().rev().map(|c| &c.expr).collect();
        while let Some(expr) = stack.pop() {
            if let ExprKind::Local(l) = expr.kind {
                if visited.get(l).copied().unwrap_or(true) {
                    continue;
                }
                if let Some(seen) = visited.get_mut(l) {
                    *seen = true;
                }
                if stored.get(l).copied().unwrap_or(false) {
                    order.push(l);
                } else if let Some(local) = rule.lets.get(l) {
                    stack.push(&local.expr);
                }
                continue;
            }
            let mut children = Vec::new();
            expr.for_each_child(&mut |child| children.push(child));
            stack.extend(children.into_iter().rev());
        }
        order
    }

    /// [`Program::stored_lets`], worked out.
    fn kept_lets_of(&self, index: usize) -> Vec<bool> {
        let Some(rule) = self.rules.get(index) else {
            return Vec::new();
        };
        let Some(across) = &rule.across else {
            return Vec::new();
        };
        let late = rule.late_lets();
        if !late.contains(&false) {
            return Vec::new();
        }
        let mut stored = vec![false; rule.lets.len()];
        let mut keep = |l: usize| {
            if !late.get(l).copied().unwrap_or(true)
                && let Some(flag) = stored.get_mut(l)
            {
                *flag = true;
            }
        };
        for &l in &across.all {
            keep(l);
        }
        let mut stack: Vec<&Expr> = rule.clauses().map(|(_, c)| &c.expr).collect();
        stack.extend(
            rule.lets
                .iter()
                .zip(&late)
                .filter(|(_, late)| **late)
                .map(|(l, _)| &l.expr),
        );
        stack.extend(across.having.iter().map(|c| &c.expr));
        stack.extend(rule.message.iter().flat_map(Template::exprs));
        stack.extend(
            self.waivers
                .iter()
                .filter(|w| w.rule == index)
                .map(|w| &w.condition.expr),
        );
        while let Some(expr) = stack.pop() {
            match &expr.kind {
                ExprKind::GroupLet(l) | ExprKind::MemberLet(_, l) | ExprKind::Local(l) => keep(*l),
                _ => expr.for_each_child(&mut |child| stack.push(child)),
            }
        }
        if !stored.contains(&true) {
            stored.clear();
        }
        stored
    }

    /// The name of the top-level field in each root-field slot (see [`ExprKind::RootField`]).
    pub(crate) fn root_field_names(&self) -> Vec<&str> {
        let mut names = vec![""; self.root_fields.len()];
        for (name, &slot) in &self.root_fields {
            if let Some(at) = names.get_mut(slot) {
                *at = name;
            }
        }
        names
    }
}

/// What a clause is to its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClauseRole {
    /// A filter or the `when`: must hold for a finding.
    Condition,
    /// The `unless`: must not hold for a finding.
    Unless,
    /// The `require`: a finding when it does not hold.
    Require,
}

impl ClauseRole {
    /// A clause's `text` as written in the rule: `unless` and `require` keep their keyword.
    pub fn written(self, text: &str) -> String {
        match self {
            ClauseRole::Condition => text.to_string(),
            ClauseRole::Unless => format!("unless {text}"),
            ClauseRole::Require => format!("require {text}"),
        }
    }
}

/// A waiver within this many days of its `until` date gets a note.
pub(crate) const EXPIRY_NOTICE_DAYS: i32 = 30;

/// `waive RULE for EXPR until DATE because "TEXT" [by "OWNER"]`, ready to apply.
#[derive(Debug, Clone)]
pub struct CompiledWaiver {
    /// The rule waived, by its index in [`Program::rules`].
    pub rule: usize,
    /// The records it covers: those where this holds.
    pub condition: Clause,
    /// The last day it applies.
    pub until: Date,
    /// Where `until`'s date is written.
    pub until_span: Span,
    /// Why.
    pub reason: Arc<str>,
    /// Who granted it.
    pub owner: Option<Arc<str>>,
    /// The policy file.
    pub source: Source,
    /// The whole statement.
    pub span: Span,
}

/// A `test` block, its rule references resolved.
#[derive(Debug, Clone)]
pub struct CompiledTest {
    /// The test's name.
    pub name: String,
    /// Where the name is written.
    pub name_span: Span,
    /// The policy file.
    pub source: Source,
    /// The record.
    pub given: crate::syntax::ast::Given,
    /// The findings it must give: outcome and rule index; empty for `expect pass`.
    pub expect: Vec<(crate::effect::Outcome, usize)>,
    /// The `expect` clause.
    pub expect_span: Span,
    /// The whole block.
    pub span: Span,
}

/// The slot of a top-level field name, given a new one if it has none yet.
fn slot_of(key: &str, names: &mut foldhash::HashMap<Box<str>, usize>) -> usize {
    let next = names.len();
    *names.entry(key.into()).or_insert(next)
}

/// Gives each rule-local let that is computed from the record alone (no group, key or `all.`),
/// and that another rule computes the same way (the same expression, its lets alike), a slot
/// shared by those rules, so that a record's value is computed once for all of them: a policy
/// pack's rule per process and its rule per tenderer compute the same values. Returns the
/// number of slots.
fn share_lets(rules: &mut [CompiledRule]) -> usize {
    if rules.iter().filter(|r| !r.lets.is_empty()).nth(1).is_none() {
        // Sharing needs lets in two rules.
        return 0;
    }
    // Every let computed alike gets the same form, whatever rule it is in.
    let mut forms = Forms::default();
    let of_rules: Vec<Vec<Option<usize>>> = rules
        .iter()
        .map(|rule| {
            let mut done = vec![None; rule.lets.len()];
            (0..rule.lets.len())
                .map(|l| forms.of_let(rule, l, &mut done, 0))
                .collect()
        })
        .collect();
    let mut count = vec![0usize; forms.texts.len()];
    for &form in of_rules.iter().flatten().flatten() {
        if let Some(n) = count.get_mut(form) {
            *n += 1;
        }
    }
    // A slot for each form that two lets or more have.
    let mut slots: Vec<Option<usize>> = vec![None; count.len()];
    let mut next = 0;
    for (rule, forms_of_lets) in rules.iter_mut().zip(of_rules) {
        for (local, form) in rule.lets.iter_mut().zip(forms_of_lets) {
            local.shared = form
                .filter(|&f| count.get(f).is_some_and(|&n| n >= 2))
                .and_then(|f| {
                    let slot = slots.get_mut(f)?;
                    Some(*slot.get_or_insert_with(|| {
                        next += 1;
                        next - 1
                    }))
                });
        }
    }
    next
}

/// The forms of lets computed from the record alone: the text of the expression with its spans
/// left out and the lets it reads replaced by their forms, numbered as they are met.
#[derive(Default)]
struct Forms {
    /// Each form's number, by its text.
    texts: std::collections::HashMap<String, usize>,
}

impl Forms {
    /// The form of the let at `l` of `rule` (`done` keeps those of the rule's lets found so
    /// far); `None` when it reads more than the record.
    fn of_let(
        &mut self,
        rule: &CompiledRule,
        l: usize,
        done: &mut Vec<Option<Option<usize>>>,
        depth: usize,
    ) -> Option<usize> {
        if let Some(Some(form)) = done.get(l) {
            return *form;
        }
        let local = rule.lets.get(l)?;
        let reads = local.expr.reads();
        // A cycle (refused by the compiler) or a very deep chain is not shared.
        let form = if reads.group || reads.all || depth > 64 {
            None
        } else {
            let mut expr = local.expr.clone();
            let mut pure = true;
            self.normalise(&mut expr, rule, done, depth, &mut pure);
            let text = format!("{expr:?}");
            let next = self.texts.len();
            pure.then(|| *self.texts.entry(text).or_insert(next))
        };
        if let Some(slot) = done.get_mut(l) {
            *slot = Some(form);
        }
        form
    }

    /// Clears the spans of `expr` and names each let it reads by its form (`pure` turns false
    /// when one of them has none).
    fn normalise(
        &mut self,
        expr: &mut Expr,
        rule: &CompiledRule,
        done: &mut Vec<Option<Option<usize>>>,
        depth: usize,
        pure: &mut bool,
    ) {
        expr.span = Span::default();
        match &mut expr.kind {
            ExprKind::Local(k) => match self.of_let(rule, *k, done, depth + 1) {
                Some(form) => *k = form,
                None => *pure = false,
            },
            ExprKind::Arith(_, rest) => {
                for (_, op_span, _) in rest.iter_mut() {
                    *op_span = Span::default();
                }
            }
            _ => {}
        }
        expr.for_each_child_mut(&mut |child| self.normalise(child, rule, done, depth, pure));
    }
}

/// Rewrites `Field` paths that start with a key into `RootField`s, giving their first keys slots
/// in `names`.
fn slot_root_fields(expr: &mut Expr, names: &mut foldhash::HashMap<Box<str>, usize>) {
    if let ExprKind::Field(path) = &mut expr.kind {
        if let Some(Segment::Key(key)) = path.first() {
            let slot = slot_of(key, names);
            let rest = path.split_off(1);
            expr.kind = ExprKind::RootField(slot, rest);
        }
        return;
    }
    expr.for_each_child_mut(&mut |child| slot_root_fields(child, names));
}

/// The operands of an expression, in the order written, passed to `$f`; `$each` is `iter` or
/// `iter_mut`. One definition for the shared and the mutable traversal.
macro_rules! each_operand {
    ($kind:expr, $f:ident, $each:ident) => {
        match $kind {
            ExprKind::Const(_)
            | ExprKind::Field(_)
            | ExprKind::RootField(..)
            | ExprKind::Var(..)
            | ExprKind::Local(_)
            | ExprKind::AllOf(_)
            | ExprKind::GroupKey(_)
            | ExprKind::Group
            | ExprKind::GroupName
            | ExprKind::GroupLet(_)
            | ExprKind::MemberLet(..) => {}
            ExprKind::If(a, b, c) => {
                $f(a);
                $f(b);
                $f(c);
            }
            ExprKind::Comprehension(_, list, body, filter) => {
                $f(list);
                $f(body);
                if let Some(filter) = filter {
                    $f(filter);
                }
            }
            ExprKind::Member(inner, _)
            | ExprKind::Not(inner)
            | ExprKind::Matches(inner, _)
            | ExprKind::Exists(inner)
            | ExprKind::Missing(inner)
            | ExprKind::Neg(inner)
            | ExprKind::InSet(inner, ..) => $f(inner),
            ExprKind::Index(a, b)
            | ExprKind::Equals {
                left: a, right: b, ..
            }
            | ExprKind::Order(_, a, b)
            | ExprKind::InList(a, b, _)
            | ExprKind::Contains(a, b, _)
            | ExprKind::StartsWith(a, b)
            | ExprKind::EndsWith(a, b)
            | ExprKind::Quantifier(_, _, a, b) => {
                $f(a);
                $f(b);
            }
            ExprKind::And(items)
            | ExprKind::Or(items)
            | ExprKind::Call(_, items)
            | ExprKind::List(items) => {
                items.$each().for_each(|item| $f(item));
            }
            ExprKind::Arith(first, rest) => {
                $f(first);
                rest.$each().for_each(|(_, _, operand)| $f(operand));
            }
        }
    };
}

impl Expr {
    /// Calls `f` on each operand of this expression, in the order written (none for a constant,
    /// a field or a quantifier variable).
    pub(crate) fn for_each_child<'e>(&'e self, f: &mut dyn FnMut(&'e Expr)) {
        each_operand!(&self.kind, f, iter)
    }

    /// [`Expr::for_each_child`], for rewriting the operands.
    pub(crate) fn for_each_child_mut(&mut self, f: &mut dyn FnMut(&mut Expr)) {
        each_operand!(&mut self.kind, f, iter_mut)
    }
}

/// One rule, ready to evaluate.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// The rule's id: its block name, or `FILE-STEM:LINE`.
    pub id: Arc<str>,
    /// The effect of a finding.
    pub effect: Effect,
    /// The policy file.
    pub source: Source,
    /// The rule body's span, labelled in findings.
    pub span: Span,
    /// Filters and the `when` clause, in order: all must hold.
    pub conditions: Vec<Clause>,
    /// The `unless` clause: a finding only when it does not hold.
    pub unless: Option<Clause>,
    /// For `require EXPR`: a finding only when EXPR does not hold.
    pub require: Option<Clause>,
    /// The message template of `message "…"`.
    pub message: Option<Template>,
    /// The message of a rule without `message`, made from its clauses once, at compile time.
    pub generated_message: Arc<str>,
    /// `cite "…"`.
    pub cite: Option<Arc<str>>,
    /// `tags [...]`.
    pub tags: Vec<String>,
    /// The waivers in force for this rule, by index in [`Program::waivers`].
    pub waivers: Vec<usize>,
    /// Rule-local `let`s, computed per record (or per group), in the order written.
    pub lets: Vec<LocalLet>,
    /// For a rule that looks across records (`per`, or `all.`): how.
    pub across: Option<Across>,
}

/// A rule-local `let`.
#[derive(Debug, Clone)]
pub struct LocalLet {
    /// Its name.
    pub name: Arc<str>,
    /// Its value.
    pub expr: Expr,
    /// `let each` in a group rule: computed for each record before grouping, read in the
    /// group as `group.NAME` and `r.NAME` ([`ExprKind::GroupLet`], [`ExprKind::MemberLet`]).
    pub each: bool,
    /// Its slot among the values a record's rules share ([`Program::shared_lets`]): set when
    /// another rule has a let computed the same way from the record alone.
    pub shared: Option<usize>,
}

/// How a rule looks across records: its groups (none for a per-record rule with `all.`), the
/// records it considers, and what it keeps of them.
#[derive(Debug, Clone)]
pub struct Across {
    /// `per KEY [as NAME], …`: empty for a per-record rule that reads `all.NAME`.
    pub keys: Vec<GroupKey>,
    /// The filters, evaluated on each record.
    pub filters: Vec<Clause>,
    /// `where EXPR`, evaluated on each record before grouping.
    pub where_: Option<Clause>,
    /// `having EXPR`, evaluated on each group.
    pub having: Option<Clause>,
    /// Which rule-local lets `all.NAME` reads, by index in [`CompiledRule::lets`].
    pub all: Vec<usize>,
    /// For each let, the round over the run that computes its values
    /// ([`CompiledRule::all_levels`], worked out once when the rule is compiled).
    pub rounds: Vec<usize>,
}

/// One key of a group rule.
#[derive(Debug, Clone)]
pub struct GroupKey {
    /// The key's value for a record.
    pub expr: Expr,
    /// Its name inside the rule and in reports: `as NAME`, or the key as written.
    pub name: Arc<str>,
    /// The key as written, whitespace collapsed: an expression written so reads the key.
    pub text: String,
}

/// Every expression of a rule: its clauses, lets, keys, filters, `where`, `having` and the
/// expressions of its message. `$iter`, `$opt` and `$template` are the shared or the mutable
/// accessors, `$($m)?` is `mut` or nothing: one definition for both traversals.
macro_rules! rule_exprs {
    ($rule:expr, $iter:ident, $opt:ident, $template:path $(, $m:tt)?) => {{
        let rule = $rule;
        let clauses = rule
            .conditions
            .$iter()
            .chain(rule.unless.$opt())
            .chain(rule.require.$opt())
            .map(|c| &$($m)? c.expr);
        let lets = rule.lets.$iter().map(|l| &$($m)? l.expr);
        let across = rule.across.$iter().flat_map(|a| {
            let keys = a.keys.$iter().map(|k| &$($m)? k.expr);
            let clauses = a
                .filters
                .$iter()
                .chain(a.where_.$opt())
                .chain(a.having.$opt())
                .map(|c| &$($m)? c.expr);
            keys.chain(clauses)
        });
        let message = rule.message.$iter().flat_map($template);
        clauses.chain(lets).chain(across).chain(message)
    }};
}

impl CompiledRule {
    /// Every expression of the rule: its clauses, lets, keys, filters, `where`, `having` and
    /// the expressions of its message.
    pub(crate) fn exprs(&self) -> impl Iterator<Item = &Expr> {
        rule_exprs!(self, iter, as_ref, Template::exprs)
    }

    /// [`CompiledRule::exprs`], for rewriting them.
    fn exprs_mut(&mut self) -> impl Iterator<Item = &mut Expr> {
        rule_exprs!(self, iter_mut, as_mut, Template::exprs_mut, mut)
    }

    /// For each let (by index), how many rounds over the run its values take: 0 for a let that
    /// reads no `all.`, directly or through another let; one more than the deepest let whose
    /// `all.` it reads otherwise (`let b = a - median(all.a)` is one round after `a`). `Err`
    /// names a let whose values depend on themselves through `all.` (`let c = median(all.c)`),
    /// and the `all.` that closes the cycle.
    pub(crate) fn all_levels(&self) -> Result<Vec<usize>, (usize, Span)> {
        /// Where the walk stands with a let.
        #[derive(Clone, Copy)]
        enum Seen {
            Not,
            Busy,
            Done(usize),
        }
        /// The level of let `l`, entered through `all.` when `via_all`; `path` holds the lets
        /// being walked, each with how it was entered.
        fn level(
            lets: &[LocalLet],
            (l, via_all, span): (usize, bool, Span),
            seen: &mut [Seen],
            path: &mut Vec<(usize, bool)>,
        ) -> Result<usize, (usize, Span)> {
            match seen.get(l).copied() {
                Some(Seen::Done(level)) => return Ok(level),
                Some(Seen::Busy) => {
                    // A cycle: through `all.` somewhere on it, the values depend on themselves;
                    // through plain lets only, it is refused where lets are resolved.
                    let from = path.iter().rposition(|&(p, _)| p == l).unwrap_or(0);
                    let through_all = via_all || path.iter().skip(from + 1).any(|&(_, a)| a);
                    return if through_all { Err((l, span)) } else { Ok(0) };
                }
                None => return Ok(0),
                Some(Seen::Not) => {}
            }
            if let Some(at) = seen.get_mut(l) {
                *at = Seen::Busy;
            }
            path.push((l, via_all));
            let mut deepest = 0;
            let mut stack = lets
                .get(l)
                .map(|local| &local.expr)
                .into_iter()
                .collect::<Vec<_>>();
            while let Some(e) = stack.pop() {
                match &e.kind {
                    ExprKind::AllOf(k) => {
                        deepest = deepest.max(1 + level(lets, (*k, true, e.span), seen, path)?);
                    }
                    ExprKind::Local(k) => {
                        deepest = deepest.max(level(lets, (*k, false, e.span), seen, path)?);
                    }
                    _ => e.for_each_child(&mut |child| stack.push(child)),
                }
            }
            path.pop();
            if let Some(at) = seen.get_mut(l) {
                *at = Seen::Done(deepest);
            }
            Ok(deepest)
        }
        let mut seen = vec![Seen::Not; self.lets.len()];
        let mut path = Vec::new();
        (0..self.lets.len())
            .map(|l| level(&self.lets, (l, false, self.span), &mut seen, &mut path))
            .collect()
    }

    /// For a rule across records, which of its lets are computed once every record is read
    /// (by let index): a group rule's lets but its `let each`; in a rule without `per`, the lets
    /// that read `all.`, directly or through another let. The others are computed while their
    /// record is read.
    pub(crate) fn late_lets(&self) -> Vec<bool> {
        let Some(across) = &self.across else {
            return Vec::new();
        };
        if !across.keys.is_empty() {
            return self.lets.iter().map(|l| !l.each).collect();
        }
        self.lets_reading_all()
    }

    /// Which of its lets read `all.`, directly or through another let (by let index).
    pub(crate) fn lets_reading_all(&self) -> Vec<bool> {
        let mut reading = vec![false; self.lets.len()];
        loop {
            let mut changed = false;
            for (l, local) in self.lets.iter().enumerate() {
                if reading.get(l).copied().unwrap_or(true) {
                    continue;
                }
                if reads_all(&local.expr, &reading).is_some()
                    && let Some(flag) = reading.get_mut(l)
                {
                    *flag = true;
                    changed = true;
                }
            }
            if !changed {
                return reading;
            }
        }
    }

    /// Its clauses in order, each with its role: the filters and the `when`, then the `unless`
    /// or the `require`.
    pub(crate) fn clauses(&self) -> impl Iterator<Item = (ClauseRole, &Clause)> {
        let conditions = self.conditions.iter().map(|c| (ClauseRole::Condition, c));
        let unless = self.unless.iter().map(|c| (ClauseRole::Unless, c));
        let require = self.require.iter().map(|c| (ClauseRole::Require, c));
        conditions.chain(unless).chain(require)
    }

    /// The clauses a rule across records applies to each record before grouping: its filters,
    /// then its `where` (none for a rule per record, whose filters are among its conditions).
    pub(crate) fn record_clauses(&self) -> impl Iterator<Item = (ClauseRole, &Clause)> {
        let across = self.across.iter();
        let filters = across.clone().flat_map(|a| &a.filters);
        let where_ = across.flat_map(|a| &a.where_);
        filters.chain(where_).map(|c| (ClauseRole::Condition, c))
    }

    /// Every clause that can decide an outcome, in order, as coverage counts them: the
    /// [`CompiledRule::record_clauses`], the `having`, then the [`CompiledRule::clauses`].
    pub(crate) fn all_clauses(&self) -> impl Iterator<Item = (ClauseRole, &Clause)> {
        let having = self.across.iter().flat_map(|a| &a.having);
        self.record_clauses()
            .chain(having.map(|c| (ClauseRole::Condition, c)))
            .chain(self.clauses())
    }

    /// The message of a rule without `message`: which clauses matched, and which did not excuse.
    pub(crate) fn generate_message(&self) -> String {
        let mut text = match &self.require {
            Some(require) => format!("`require {}` does not hold", require.text),
            None if self.conditions.is_empty() => format!("rule `{}` matched", self.id),
            None => {
                let matched: Vec<&str> = self.conditions.iter().map(|c| c.text.as_str()).collect();
                format!("matched `{}`", matched.join(" "))
            }
        };
        if let Some(unless) = &self.unless {
            text.push_str(&format!(", not excused by `unless {}`", unless.text));
        }
        text
    }
}

/// Where `expr` reads `all.`: an `all.NAME`, or a let that `reading` (by let index) marks as
/// reading it; the first found, if any.
pub(crate) fn reads_all<'e>(expr: &'e Expr, reading: &[bool]) -> Option<&'e Expr> {
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match &e.kind {
            ExprKind::AllOf(_) => return Some(e),
            ExprKind::Local(k) if reading.get(*k).copied().unwrap_or(false) => return Some(e),
            _ => {
                // Leftmost first.
                let mut children = Vec::new();
                e.for_each_child(&mut |child| children.push(child));
                stack.extend(children.into_iter().rev());
            }
        }
    }
    None
}

/// What an expression reads besides constants, as far as the value it gives may depend on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Reads {
    /// Fields of the record, or a quantifier's or comprehension's elements.
    pub record: bool,
    /// A rule-local let.
    pub lets: bool,
    /// A group, its keys or its name.
    pub group: bool,
    /// `all.NAME`.
    pub all: bool,
    /// `today()`.
    pub today: bool,
}

impl Expr {
    /// What the expression reads.
    pub(crate) fn reads(&self) -> Reads {
        let mut reads = Reads::default();
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            match &e.kind {
                ExprKind::Field(_)
                | ExprKind::RootField(..)
                | ExprKind::Var(..)
                | ExprKind::Comprehension(..)
                | ExprKind::Quantifier(..) => reads.record = true,
                ExprKind::Local(_) => reads.lets = true,
                ExprKind::GroupKey(_)
                | ExprKind::Group
                | ExprKind::GroupName
                | ExprKind::GroupLet(_)
                | ExprKind::MemberLet(..) => {
                    reads.group = true;
                }
                ExprKind::AllOf(_) => reads.all = true,
                ExprKind::Call(Function::Today, _) => reads.today = true,
                _ => {}
            }
            e.for_each_child(&mut |child| stack.push(child));
        }
        reads
    }

    /// Whether this is a comprehension or quantifier over `group` whose filter and body read
    /// nothing but the member and the group's keys (`[count(r.bids) for r in group]`,
    /// `any r in group where r.amount > 10`): a value per member, computed while the member's
    /// record is read rather than after every record is.
    pub(crate) fn is_per_member(&self) -> bool {
        let (slot, list, parts): (usize, &Expr, Vec<&Expr>) = match &self.kind {
            ExprKind::Comprehension(slot, list, body, filter) => {
                let mut parts = vec![&**body];
                parts.extend(filter.as_deref());
                (*slot, list, parts)
            }
            ExprKind::Quantifier(_, slot, list, body) => (*slot, list, vec![&**body]),
            _ => return false,
        };
        if !matches!(list.kind, ExprKind::Group) {
            return false;
        }
        let mut stack = parts;
        while let Some(e) = stack.pop() {
            match &e.kind {
                ExprKind::Var(s, _) if *s < slot => return false,
                ExprKind::Field(_)
                | ExprKind::RootField(..)
                | ExprKind::Local(_)
                | ExprKind::AllOf(_)
                | ExprKind::Group
                | ExprKind::GroupName
                | ExprKind::GroupLet(_)
                | ExprKind::MemberLet(..) => return false,
                _ => e.for_each_child(&mut |child| stack.push(child)),
            }
        }
        true
    }

    /// The comprehension's body when it is the member itself (`[r for r in group where …]`).
    pub(crate) fn member_itself(&self) -> bool {
        matches!(&self.kind, ExprKind::Comprehension(slot, _, body, _)
            if matches!(&body.kind, ExprKind::Var(s, path) if s == slot && path.is_empty()))
    }
}

/// One clause of a rule: a boolean expression and the text it was written as.
#[derive(Debug, Clone)]
pub struct Clause {
    /// The expression.
    pub expr: Expr,
    /// Its span in the policy file.
    pub span: Span,
    /// Its text, whitespace collapsed, for generated messages.
    pub text: String,
}

/// A message with `{PATH}` placeholders.
#[derive(Debug, Clone)]
pub struct Template {
    /// Literal text and placeholders, in order.
    pub parts: Vec<TemplatePart>,
}

impl Template {
    /// The expressions of its placeholders.
    pub(crate) fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.parts.iter().filter_map(|p| match p {
            TemplatePart::Expr(e) => Some(e),
            _ => None,
        })
    }

    /// [`Template::exprs`], for rewriting them.
    fn exprs_mut(&mut self) -> impl Iterator<Item = &mut Expr> {
        self.parts.iter_mut().filter_map(|p| match p {
            TemplatePart::Expr(e) => Some(e),
            _ => None,
        })
    }
}

/// A piece of a message template.
#[derive(Debug, Clone)]
pub enum TemplatePart {
    /// Text copied as is.
    Text(String),
    /// A field of the record, rendered as in the data.
    Field(Vec<Segment>),
    /// Any other expression, rendered as its value.
    Expr(Expr),
}

/// A compiled expression, with its span in the policy for error reports.
#[derive(Debug, Clone)]
pub struct Expr {
    /// What it computes.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// `.name` or `["name"]`: a mapping key (projected over lists).
    Key(Box<str>),
    /// `[N]`: a list element.
    Index(i64),
}

/// The kinds of compiled expression.
#[derive(Debug, Clone)]
pub enum ExprKind {
    /// A constant.
    Const(Const),
    /// A path from the record's root (empty: the record itself).
    Field(Vec<Segment>),
    /// A path from the record's top-level field in this slot of [`Program::root_fields`]: what
    /// [`Program::new`] makes of a `Field` path, so that no rule searches the record for it.
    RootField(usize, Vec<Segment>),
    /// A path from a quantifier's variable: its slot in the variable stack, then the steps.
    Var(usize, Vec<Segment>),
    /// A field of a computed value (the segment is always a key).
    Member(Box<Expr>, Segment),
    /// An index into a computed value.
    Index(Box<Expr>, Box<Expr>),
    /// `not`
    Not(Box<Expr>),
    /// `and`, short-circuit, left to right.
    And(Vec<Expr>),
    /// `or`, short-circuit, left to right.
    Or(Vec<Expr>),
    /// `== !=` (negated for `!=`), alias-aware when the right side is an aliased symbol.
    Equals {
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
        /// The other spellings of the right side, when it is an aliased symbol.
        aliases: Option<Arc<AliasSet>>,
        /// `!=`
        negated: bool,
    },
    /// `< <= > >=`
    Order(Order, Box<Expr>, Box<Expr>),
    /// `in` / `not in` a constant list.
    InSet(Box<Expr>, Arc<ConstSet>, bool),
    /// `in` / `not in` a list computed per record.
    InList(Box<Expr>, Box<Expr>, bool),
    /// `matches`, against a regex built at compile time (anchored at both ends).
    Matches(Box<Expr>, Arc<regex::Regex>),
    /// `contains`: substring of a string, or element of a list.
    Contains(Box<Expr>, Box<Expr>, Option<Arc<AliasSet>>),
    /// `starts with`
    StartsWith(Box<Expr>, Box<Expr>),
    /// `ends with`
    EndsWith(Box<Expr>, Box<Expr>),
    /// `exists`
    Exists(Box<Expr>),
    /// `is missing`
    Missing(Box<Expr>),
    /// A chain of `+ -` or `* /`.
    Arith(Box<Expr>, Vec<(ArithOp, Span, Expr)>),
    /// Unary minus.
    Neg(Box<Expr>),
    /// A built-in function.
    Call(Function, Vec<Expr>),
    /// `any` / `all`: the variable's slot, the list, the body.
    Quantifier(Quantifier, usize, Box<Expr>, Box<Expr>),
    /// `if COND then A else B`
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// A list literal with an element computed per record (`[winner, runner_up]`, a `let`'s
    /// value or a field's); its missing elements are left out. A list of constants is a
    /// [`Const::List`].
    List(Vec<Expr>),
    /// `[BODY for VAR in LIST where FILTER]`: the variable's slot, the list, the body, the filter.
    Comprehension(usize, Box<Expr>, Box<Expr>, Option<Box<Expr>>),
    /// A rule-local `let`, by index in [`CompiledRule::lets`].
    Local(usize),
    /// `all.NAME`: the values of a rule-local `let` over the whole run.
    AllOf(usize),
    /// The value of a group key, by position in [`Across::keys`].
    GroupKey(usize),
    /// `group`: the records of a group.
    Group,
    /// The name of a group finding (its keys joined with ` / `), as `id` reads in a group rule.
    GroupName,
    /// `group.NAME`, NAME a `let each`: its value for each record of the group, by let index.
    GroupLet(usize),
    /// `r.NAME` for `r in group`, NAME a `let each`: the member's value (the variable's slot,
    /// then the let's index).
    MemberLet(usize, usize),
}

/// `< <= > >=`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Order {
    /// Whether two values in this `ordering` satisfy the comparison.
    pub fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Greater, Less};
        match self {
            Order::Lt => ordering == Less,
            Order::Le => ordering != Greater,
            Order::Gt => ordering == Greater,
            Order::Ge => ordering != Less,
        }
    }
}

/// The built-in functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `count(LIST)`
    Count,
    /// `sum(LIST)`
    Sum,
    /// `min(LIST)` or `min(a, b, …)`
    Min,
    /// `max(LIST)` or `max(a, b, …)`
    Max,
    /// `len(STRING or LIST)`
    Len,
    /// `lower(STRING)`
    Lower,
    /// `upper(STRING)`
    Upper,
    /// `today()`
    Today,
    /// `days(DURATION)`
    Days,
    /// `year(D)`
    Year,
    /// `month(D)`
    Month,
    /// `quarter(D)`
    Quarter,
    /// `week(D)`
    Week,
    /// `day(D)`
    Day,
    /// `fiscal_year(D)`
    FiscalYear,
    /// `distinct(LIST)`
    Distinct,
    /// `sort(LIST)`
    Sort,
    /// `flatten(LIST)`
    Flatten,
    /// `avg(LIST)`
    Avg,
    /// `median(LIST)`
    Median,
    /// `quantile(LIST, P)`
    Quantile,
    /// `lower_fence(LIST)`
    LowerFence,
    /// `upper_fence(LIST)`
    UpperFence,
    /// `substring(S, START, LENGTH)`
    Substring,
    /// `abs(N)`
    Abs,
    /// `round(N, DIGITS)`
    Round,
}

impl Function {
    /// Every function with its name, for lookup and suggestions.
    pub const ALL: [(&'static str, Function); 26] = [
        ("count", Function::Count),
        ("sum", Function::Sum),
        ("min", Function::Min),
        ("max", Function::Max),
        ("len", Function::Len),
        ("lower", Function::Lower),
        ("upper", Function::Upper),
        ("today", Function::Today),
        ("days", Function::Days),
        ("year", Function::Year),
        ("month", Function::Month),
        ("quarter", Function::Quarter),
        ("week", Function::Week),
        ("day", Function::Day),
        ("fiscal_year", Function::FiscalYear),
        ("distinct", Function::Distinct),
        ("sort", Function::Sort),
        ("flatten", Function::Flatten),
        ("avg", Function::Avg),
        ("median", Function::Median),
        ("quantile", Function::Quantile),
        ("lower_fence", Function::LowerFence),
        ("upper_fence", Function::UpperFence),
        ("substring", Function::Substring),
        ("abs", Function::Abs),
        ("round", Function::Round),
    ];

    /// How many arguments it takes: at least, at most.
    pub fn arity(self) -> (usize, usize) {
        match self {
            Function::Min | Function::Max => (1, usize::MAX),
            Function::Today => (0, 0),
            Function::Quantile => (2, 2),
            Function::Substring => (3, 3),
            Function::Round => (1, 2),
            _ => (1, 1),
        }
    }

    /// Its name as written.
    pub fn name(self) -> &'static str {
        Function::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("", |(name, _)| name)
    }

    /// How it is called, with a line of what it gives (for hovers and messages).
    pub fn signature(self) -> &'static str {
        match self {
            Function::Count => "count(LIST): how many elements",
            Function::Sum => "sum(LIST): the total of the numbers, missing ones left out",
            Function::Min => "min(LIST) or min(a, b, …): the smallest value",
            Function::Max => "max(LIST) or max(a, b, …): the largest value",
            Function::Len => "len(STRING or LIST): characters or elements",
            Function::Lower => "lower(STRING): lower case",
            Function::Upper => "upper(STRING): upper case",
            Function::Today => "today(): the run's date (--today)",
            Function::Days => "days(DURATION): whole days, truncated toward zero",
            Function::Year => "year(DATE): the year, a number",
            Function::Month => "month(DATE): \"2018-11\"",
            Function::Quarter => "quarter(DATE): \"2018-Q4\"",
            Function::Week => "week(DATE): the ISO week, \"2018-W46\"",
            Function::Day => "day(DATE-TIME): its calendar date",
            Function::FiscalYear => {
                "fiscal_year(DATE): the U.S. federal fiscal year (from October 1)"
            }
            Function::Distinct => "distinct(LIST): first occurrences, in order",
            Function::Sort => "sort(LIST): ascending",
            Function::Flatten => "flatten(LIST): one level of nested lists",
            Function::Avg => "avg(LIST): the mean, exact",
            Function::Median => "median(LIST): the middle value (type 8)",
            Function::Quantile => "quantile(LIST, P): Hyndman and Fan's type 8, P from 0 to 1",
            Function::LowerFence => "lower_fence(LIST): Q1 - 1.5 x (Q3 - Q1)",
            Function::UpperFence => "upper_fence(LIST): Q3 + 1.5 x (Q3 - Q1)",
            Function::Substring => "substring(S, START, LENGTH): by character, from 0",
            Function::Abs => "abs(N): the absolute value",
            Function::Round => "round(N, DIGITS): half to even",
        }
    }
}

/// A constant value of the policy.
#[derive(Debug, Clone, PartialEq)]
pub enum Const {
    /// A string or symbol.
    String(Box<str>),
    /// An exact decimal.
    Number(Decimal),
    /// A date.
    Date(Date),
    /// A date-time.
    DateTime(crate::time::Instant),
    /// A duration.
    Duration(crate::time::Duration),
    /// `true` / `false`.
    Bool(bool),
    /// A list of constants.
    List(Vec<Const>),
}

impl Const {
    /// A short name of the constant's type, for messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Const::String(_) => "a string",
            Const::Number(_) => "a number",
            Const::Date(_) => "a date",
            Const::DateTime(_) => "a date-time",
            Const::Duration(_) => "a duration",
            Const::Bool(_) => "a boolean",
            Const::List(_) => "a list",
        }
    }
}

/// The spellings a symbol matches through `alias`: each lower-cased and stripped of whitespace and
/// of the punctuation `. , - ' /`.
#[derive(Clone, Default, PartialEq)]
pub struct AliasSet {
    /// The normalised spellings, the symbol's own among them.
    pub normalized: foldhash::HashSet<String>,
    /// The entries as written, the patterns (raw strings) among them compiled.
    pub entries: Vec<super::alias::AliasEntry>,
}

impl AliasSet {
    /// Whether `text` is one of the spellings, after normalising it the same way, or a pattern
    /// entry matches it as written.
    pub fn matches(&self, text: &str) -> bool {
        (!self.normalized.is_empty() && self.has_normalized(text)) || self.pattern_matches(text)
    }

    /// Whether `text`, normalised, is one of the spellings: a short ASCII text is normalised on
    /// the stack (a value is matched once per record and rule), any other in a new string.
    fn has_normalized(&self, text: &str) -> bool {
        let mut buffer = [0u8; 64];
        let mut len = 0;
        if text.is_ascii() && text.len() <= buffer.len() {
            for b in text.bytes().filter_map(normalized_ascii) {
                if let Some(slot) = buffer.get_mut(len) {
                    *slot = b;
                    len += 1;
                }
            }
            if let Some(normalized) = buffer.get(..len).and_then(|b| std::str::from_utf8(b).ok()) {
                return self.normalized.contains(normalized);
            }
        }
        self.normalized.contains(&normalize(text))
    }
}

/// `text` as alias matching compares it.
pub(crate) fn normalize(text: &str) -> String {
    normalized_chars(text).collect()
}

/// `text` as alias matching compares it, into `out` (cleared first; ASCII byte by byte).
pub(crate) fn normalize_into(text: &str, out: &mut String) {
    out.clear();
    if text.is_ascii() {
        out.extend(text.bytes().filter_map(normalized_ascii).map(char::from));
    } else {
        out.extend(normalized_chars(text));
    }
}

/// An ASCII byte as [`normalized_chars`] gives it: `None` for whitespace and `.,-'/`, else in
/// lower case.
fn normalized_ascii(b: u8) -> Option<u8> {
    let dropped = matches!(
        b,
        b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ' | b'.' | b',' | b'-' | b'\'' | b'/'
    );
    (!dropped).then(|| b.to_ascii_lowercase())
}

/// The characters of `text` as alias matching compares them.
pub(crate) fn normalized_chars(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '.' | ',' | '-' | '\'' | '/'))
        .flat_map(char::to_lowercase)
}

/// A constant list compiled for membership tests.
#[derive(Clone, Default)]
pub struct ConstSet {
    /// Strings that match exactly.
    pub strings: foldhash::HashSet<Box<str>>,
    /// Aliased symbols, matched after normalising.
    pub aliases: AliasSet,
    /// Elements compared one by one as `==` compares them: numbers, dates, booleans, lists, and
    /// strings that read as a date or a date-time (equal as dates or instants, not as text).
    pub others: Vec<Const>,
}

impl ConstSet {
    /// Whether it holds nothing at all (no string, alias or other element).
    pub(crate) fn is_empty(&self) -> bool {
        self.strings.is_empty() && self.aliases.normalized.is_empty() && self.others.is_empty()
    }

    /// Adds an element: a string to [`ConstSet::strings`], unless it reads as a date or a
    /// date-time (`"2020-07-14T16:00:00+01:00"` is `"2020-07-14T15:00:00Z"` to `==`).
    pub(crate) fn insert(&mut self, element: Const) {
        match element {
            Const::String(s) if crate::value::parse_data_date(&s).is_none() => {
                self.strings.insert(s);
            }
            other => self.others.push(other),
        }
    }
}

/// The members of a hash set in order: its own order differs from one set to another (each has
/// its own random seed), and the debug text of expressions must not (two lets alike are shared
/// by their text, [`Forms`]).
pub(crate) fn sorted<T: Ord>(set: &foldhash::HashSet<T>) -> Vec<&T> {
    let mut members: Vec<&T> = set.iter().collect();
    members.sort_unstable();
    members
}

impl std::fmt::Debug for AliasSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AliasSet")
            .field("normalized", &sorted(&self.normalized))
            .field("entries", &self.entries)
            .finish()
    }
}

impl std::fmt::Debug for ConstSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConstSet")
            .field("strings", &sorted(&self.strings))
            .field("aliases", &self.aliases)
            .field("others", &self.others)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared slots of each rule's lets, by rule id.
    fn shared(policy: &str) -> Vec<(String, Vec<Option<usize>>)> {
        let source = crate::source::SourceFile::new("p.policy", policy);
        let program = crate::check::check_sources(&[source]).expect("the policy compiles");
        program
            .rules
            .iter()
            .map(|r| (r.id.to_string(), r.lets.iter().map(|l| l.shared).collect()))
            .collect()
    }

    /// Lets computed alike from the record alone share a slot across rules, through the lets
    /// they read; lets that read a group or `all.`, or that differ, do not.
    #[test]
    fn lets_computed_alike_from_the_record_are_shared() {
        let found = shared(
            "rule a {\n  let x = amount * 2\n  let y = [b.v for b in bids where b.v > x]\n  \
             let all_x = max(all.x)\n  note when count(y) > all_x\n}\n\
             rule b {\n  let twice = amount  *  2\n  let y = [b.v for b in bids where b.v > twice]\n  \
             note when count(y) > 1\n}\n\
             rule c {\n  let x = amount * 3\n  let y = [b.v for b in bids where b.v > x]\n  \
             note when count(y) > 1\n}\n\
             rule d {\n  let each x = amount * 2\n  let n = count(group)\n  note per vendor when n > max(group.x)\n}\n",
        );
        let (a, b, c, d) = (&found[0].1, &found[1].1, &found[2].1, &found[3].1);
        // `x` of a, `twice` of b and the `let each x` of d: the same value.
        assert!(a[0].is_some());
        assert_eq!(a[0], b[0]);
        assert_eq!(a[0], d[0]);
        // `y` reads a let computed alike in a and b, not in c.
        assert!(a[1].is_some());
        assert_eq!(a[1], b[1]);
        assert_eq!(c, &vec![None, None]);
        // `all.` and `group` are not the record's.
        assert_eq!(a[2], None);
        assert_eq!(d[1], None);
    }

    /// Lets alike that test membership in a constant list are shared, whatever order each
    /// rule's set of the list keeps its members in (each hash set has its own seed; the shared
    /// lets were missed in some runs and not others, and the red-flag pack's work varied by 8 %).
    #[test]
    fn lets_alike_with_constant_lists_are_shared() {
        let members: Vec<String> = (0..24).map(|i| format!("s{i}")).collect();
        let list = members.join(", ");
        let alias = "alias A = [\"a 1\", \"a 2\", \"a 3\", \"a 4\", \"a 5\", \"a 6\", \"a 7\"]\n";
        let rules: String = (0..6)
            .map(|r| {
                format!(
                    "rule r{r} {{\n  let kept = [b for b in bids where b.status in [{list}] \
                     and not (b.vendor == A)]\n  note when count(kept) > {r}\n}}\n"
                )
            })
            .collect();
        let found = shared(&format!("{alias}{rules}"));
        let first = found[0].1[0];
        assert!(first.is_some());
        for (id, slots) in &found {
            assert_eq!(slots[0], first, "rule {id}");
        }
    }

    /// Normalising on the stack (short ASCII) finds what normalising into a string finds.
    #[test]
    fn short_ascii_values_match_as_normalised_strings_do() {
        let set = AliasSet {
            normalized: ["dji", "dajianginnovations", "parrotsa"]
                .into_iter()
                .map(String::from)
                .collect(),
            entries: Vec::new(),
        };
        for text in [
            "DJI",
            "D.J.I.",
            "Da-Jiang Innovations",
            "da jiang\tinnovations",
            "Parrot S.A.",
            "Parrot\u{b}SA",
            "Parrot\u{1c}SA",
            "Skydio",
            "",
            "DJI but much longer than sixty-four bytes so that it is normalised the slow way",
            "Ｄｊｉ",
            "DJİ",
        ] {
            assert_eq!(
                set.has_normalized(text),
                set.normalized.contains(&normalize(text)),
                "{text:?}"
            );
        }
        assert!(set.matches("Da-Jiang Innovations"));
        let mut out = String::new();
        for text in ["Da-Jiang Innovations", "D.J.I./x\u{b}", "Ｄｊｉ é", ""] {
            normalize_into(text, &mut out);
            assert_eq!(out, normalize(text), "{text:?}");
        }
    }
}
