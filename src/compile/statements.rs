//! Compiling a checked policy set's statements: rules (with duplicate ids reported), then waivers
//! and tests, whose rule references are resolved against all the rules.

use std::collections::{HashMap, HashSet};

use super::{
    Across, Clause, CompiledRule, CompiledTest, CompiledWaiver, Compiler, GroupKey, LocalLet,
    Position, Program, RuleNames, Scope,
};
use crate::diagnostic::{Code, Diag};
use crate::source::{Source, Span};
use crate::syntax::ast::{self, Effect, PolicyFile, RuleBody, Statement};

/// A checked policy file, as compilation needs it: its AST and the stem that names its unnamed
/// rules (`FILE-STEM:LINE`).
pub(crate) struct CheckedFile<'a> {
    /// The file's statements.
    pub ast: &'a PolicyFile,
    /// The file's stem.
    pub stem: String,
}

/// The compiled statements of a policy set, before they make a [`Program`].
pub(crate) struct Compiled {
    /// The rules, in file order.
    pub rules: Vec<CompiledRule>,
    /// The waivers.
    pub waivers: Vec<CompiledWaiver>,
    /// The tests.
    pub tests: Vec<CompiledTest>,
}

impl Compiled {
    /// The program of these statements.
    pub fn program(self) -> Program {
        let mut program = Program::new(self.rules).with_waivers(self.waivers);
        program.tests = self.tests;
        program
    }
}

/// Compiles the rules of every file, in order, and reports duplicate rule ids; then the waivers
/// and tests, whose rule references are resolved against all the rules.
pub(crate) fn compile_statements(
    files: &[CheckedFile<'_>],
    scopes: &[Scope],
    errors: &mut Vec<Diag>,
) -> Compiled {
    let mut rules = Vec::new();
    let mut ids: HashMap<String, (Source, Span)> = HashMap::new();
    let empty = Scope::default();
    for (index, file) in files.iter().enumerate() {
        let source = &file.ast.source;
        let scope = scopes.get(index).unwrap_or(&empty);
        let mut compiler = Compiler::new(source, scope);
        for statement in &file.ast.statements {
            let Statement::Rule(rule) = statement else {
                continue;
            };
            let id = match &rule.id {
                Some(id) => {
                    if let Some((first_source, first_span)) = ids.get(&id.node) {
                        errors.push(
                            Diag::error(
                                Code::CheckDuplicateRuleId,
                                format!("rule id `{}` is used twice", id.node),
                            )
                            .label(source, id.span, "used again here")
                            .label(first_source, *first_span, "first used here")
                            .help("rule ids are global across all the policy files of a run: rename one"),
                        );
                    } else {
                        ids.insert(id.node.clone(), (source.clone(), id.span));
                    }
                    id.node.clone()
                }
                None => {
                    let stem = &file.stem;
                    let (line, _) = source.line_col(rule.span.start);
                    let id = format!("{stem}:{line}");
                    // Files of the same name in different folders give the same ids.
                    if let Some((first_source, first_span)) = ids.get(&id) {
                        errors.push(
                            Diag::error(
                                Code::CheckDuplicateRuleId,
                                format!(
                                    "two rules outside a block get the id `{id}`, from `{}` and `{}`",
                                    first_source.name(),
                                    source.name()
                                ),
                            )
                            .label(source, rule.body_span, format!("this rule is named `{id}`"))
                            .label(first_source, *first_span, "and so is this one")
                            .help("give one of them a name (`rule ID { … }`), or rename one of the files"),
                        );
                    } else {
                        ids.insert(id.clone(), (source.clone(), rule.body_span));
                    }
                    id
                }
            };
            rules.push(compile_rule(&mut compiler, rule, id));
        }
        errors.append(&mut compiler.errors);
    }
    let by_id: HashMap<&str, usize> = rules.iter().enumerate().map(|(i, r)| (&*r.id, i)).collect();
    let unparsed: HashSet<&str> = files
        .iter()
        .flat_map(|f| &f.ast.unparsed_rules)
        .map(String::as_str)
        .collect();
    let known = KnownRules {
        by_id: &by_id,
        unparsed: &unparsed,
    };
    let mut waivers = Vec::new();
    let mut tests = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let scope = scopes.get(index).unwrap_or(&empty);
        let mut compiler = Compiler::new(&file.ast.source, scope);
        for statement in &file.ast.statements {
            match statement {
                Statement::Waive(waiver) => {
                    if let Some(w) = compile_waiver(&mut compiler, waiver, &known, &rules) {
                        waivers.push(w);
                    }
                }
                Statement::Test(test) => {
                    if let Some(t) = compile_test(&mut compiler, test, &known) {
                        tests.push(t);
                    }
                }
                _ => {}
            }
        }
        errors.append(&mut compiler.errors);
    }
    Compiled {
        rules,
        waivers,
        tests,
    }
}

/// The rules a waiver or a test may name.
struct KnownRules<'a> {
    /// Each compiled rule's index by its id.
    by_id: &'a HashMap<&'a str, usize>,
    /// The ids of rule blocks that did not parse (their syntax error is reported already).
    unparsed: &'a HashSet<&'a str>,
}

/// The index of the rule `reference` names, or an error with the closest id (none when the rule
/// it names did not parse).
fn rule_named(
    compiler: &mut Compiler<'_>,
    reference: &crate::source::Spanned<String>,
    known: &KnownRules<'_>,
) -> Option<usize> {
    if let Some(&index) = known.by_id.get(reference.node.as_str()) {
        return Some(index);
    }
    if known.unparsed.contains(reference.node.as_str()) {
        return None;
    }
    let suggestion = crate::suggest::closest(&reference.node, known.by_id.keys().copied());
    compiler.errors.push(
        Diag::error(
            Code::CheckUnknownRule,
            format!("no rule has the id `{}`", reference.node),
        )
        .label(compiler.source(), reference.span, "unknown rule")
        .help(match suggestion {
            Some(id) => format!("did you mean `{id}`?"),
            None => "name a rule block (`rule ID { … }`) or an unnamed rule as `FILE-STEM:LINE`"
                .to_string(),
        }),
    );
    None
}

fn compile_waiver(
    compiler: &mut Compiler<'_>,
    waiver: &ast::Waiver,
    known: &KnownRules<'_>,
    rules: &[CompiledRule],
) -> Option<CompiledWaiver> {
    let rule = rule_named(compiler, &waiver.rule, known);
    // A waiver reads the rule's lets as the rule does; a waiver of a group rule reads the group
    // as the rule does too: its keys, `group`, `id`.
    let names = rule.and_then(|r| rules.get(r)).map(|r| {
        let lets = RuleNames {
            lets: r.lets.iter().map(|l| l.name.to_string()).collect(),
            each: r.lets.iter().map(|l| l.each).collect(),
            lets_allowed: true,
            all_allowed: true,
            all_kept: Some(r.across.as_ref().map(|a| a.all.clone()).unwrap_or_default()),
            ..RuleNames::default()
        };
        let Some(across) = r.across.as_ref() else {
            return lets;
        };
        RuleNames {
            keys: across
                .keys
                .iter()
                .map(|k| {
                    (
                        k.text.clone(),
                        (*k.name != *k.text).then(|| k.name.to_string()),
                    )
                })
                .collect(),
            per_group: !across.keys.is_empty(),
            ..lets
        }
    });
    compiler.rule = names;
    let condition = compiler.clause(&waiver.condition, Position::For);
    compiler.rule = None;
    let until = compiler.date_constant(&waiver.until, "`until` takes a date");
    // Each text a report shows with the waived finding: its keyword, and what it must say.
    let said = [
        (
            "because",
            Some(&waiver.reason),
            "the reason the finding is waived",
        ),
        ("by", waiver.owner.as_ref(), "who decided the waiver"),
    ];
    for (keyword, text, what) in said {
        if let Some(text) = text.filter(|t| t.node.trim().is_empty()) {
            compiler.errors.push(
                Diag::error(
                    Code::CheckEmptyWaiverText,
                    format!("a waiver's `{keyword}` is empty"),
                )
                .label(compiler.source(), text.span, "empty")
                .help(format!(
                    "write {what}, which the report shows with the waived finding"
                )),
            );
        }
    }
    Some(CompiledWaiver {
        rule: rule?,
        condition,
        until: until?,
        until_span: waiver.until.span,
        reason: waiver.reason.node.as_str().into(),
        owner: waiver.owner.as_ref().map(|o| o.node.as_str().into()),
        source: compiler.source().clone(),
        span: waiver.span,
    })
}

fn compile_test(
    compiler: &mut Compiler<'_>,
    test: &ast::TestBlock,
    known: &KnownRules<'_>,
) -> Option<CompiledTest> {
    let mut expect = Vec::new();
    let mut complete = true;
    for expectation in &test.expect {
        let outcome = expectation.effect.node;
        match rule_named(compiler, &expectation.rule, known) {
            Some(rule) => expect.push((outcome, rule)),
            None => complete = false,
        }
    }
    complete.then(|| CompiledTest {
        name: test.name.node.clone(),
        name_span: test.name.span,
        source: compiler.source().clone(),
        given: test.given.clone(),
        expect,
        expect_span: test.expect_span,
        span: test.span,
    })
}

fn compile_rule(compiler: &mut Compiler<'_>, rule: &ast::Rule, id: String) -> CompiledRule {
    let (per, where_, having): (&[ast::GroupKey], Option<&ast::Expr>, Option<&ast::Expr>) =
        match &rule.body {
            RuleBody::Effect {
                per,
                where_,
                having,
                ..
            } => (per, where_.as_ref(), having.as_ref()),
            RuleBody::Require { where_, .. } => (&[], where_.as_ref(), None),
        };
    let grouped = !per.is_empty();
    let let_names = local_names(compiler, rule);
    compiler.rule = Some(RuleNames {
        lets: let_names,
        // In a rule without `per`, every let is computed per record: `each` changes nothing.
        each: rule.lets.iter().map(|l| l.each && grouped).collect(),
        dates: rule
            .lets
            .iter()
            .map(|l| match &l.value.kind {
                ast::ExprKind::Literal(ast::Literal::Date(d)) => Some(*d),
                _ => None,
            })
            .collect(),
        keys: per
            .iter()
            .map(|k| (k.text.clone(), k.name.as_ref().map(|n| n.node.clone())))
            .collect(),
        per_group: false,
        lets_allowed: !grouped,
        all_allowed: false,
        ..RuleNames::default()
    });
    // Read on each record: the filters, `where` and the keys.
    let (effect, mut conditions, unless_ast, require_ast, when_ast) = match &rule.body {
        RuleBody::Effect {
            effect,
            filters,
            when,
            unless,
            ..
        } => {
            let conditions: Vec<Clause> = filters.iter().map(|f| compiler.filter(f)).collect();
            (
                effect.node,
                conditions,
                unless.as_ref(),
                None,
                when.as_ref(),
            )
        }
        RuleBody::Require {
            condition, when, ..
        } => (
            Effect::Deny,
            Vec::new(),
            None,
            Some(condition),
            when.as_ref(),
        ),
    };
    let where_clause = where_.map(|w| {
        let mut clause = compiler.clause(w, Position::Where);
        clause.text = format!("where {}", clause.text);
        clause
    });
    let keys: Vec<GroupKey> = per
        .iter()
        .map(|k| GroupKey {
            expr: compiler.expr(&k.expr),
            name: k
                .name
                .as_ref()
                .map_or(k.text.as_str(), |n| n.node.as_str())
                .into(),
            text: k.text.clone(),
        })
        .collect();
    // The same key twice (two `as` names alike are `local_shadows`); `record.vendor` is the
    // field `vendor`.
    let field = |text: &str| text.strip_prefix("record.").unwrap_or(text).to_string();
    for (i, key) in per.iter().enumerate() {
        let first = per.get(..i).and_then(|before| {
            before.iter().find(|k| {
                k.name.is_none() && key.name.is_none() && field(&k.text) == field(&key.text)
            })
        });
        if let Some(first) = first {
            compiler.errors.push(
                Diag::error(
                    Code::CheckKeyTwice,
                    format!("`{}` is a key of this `per` twice", key.text),
                )
                .label(compiler.source(), first.expr.span, "a key here")
                .label(compiler.source(), key.expr.span, "and again here")
                .help("remove the second one: a group's records already share the key's value"),
            );
        }
    }
    // Read on each group (or record): everything else.
    if let Some(names) = compiler.rule.as_mut() {
        names.per_group = grouped;
        names.lets_allowed = true;
    }
    if let (Some(h), false) = (having, grouped) {
        compiler.errors.push(
            Diag::error(
                Code::CheckHavingWithoutPer,
                "`having` chooses groups, and this rule has none",
            )
            .label(compiler.source(), h.span, "no `per` before it")
            .help("group the records first (`per vendor … having …`), or write the condition in `where` or `when`"),
        );
    }
    let having = having.map(|h| {
        let mut clause = compiler.clause(h, Position::Having);
        clause.text = format!("having {}", clause.text);
        clause
    });
    if let Some(names) = compiler.rule.as_mut() {
        names.all_allowed = true;
    }
    let lets = compile_lets(compiler, rule);
    if let Some(when) = when_ast {
        let mut clause = compiler.clause(when, Position::When);
        // The generated message quotes the rule as written, keyword included.
        clause.text = format!("when {}", clause.text);
        conditions.push(clause);
    }
    let unless = unless_ast.map(|u| compiler.clause(u, Position::Unless));
    let require = require_ast.map(|r| compiler.clause(r, Position::Require));
    let placeholders: Vec<crate::compile::Expr> =
        rule.placeholders.iter().map(|p| compiler.expr(p)).collect();
    let all = compiler.rule.take().map(|n| n.all_read).unwrap_or_default();
    let message = rule.message.as_ref().and_then(|m| match super::template(&m.node, placeholders) {
        Ok(t) => Some(t),
        Err(why) => {
            compiler.errors.push(
                Diag::error(Code::CheckBadMessage, format!("this message cannot be used: {why}"))
                    .label(compiler.source(), m.span, "in this message")
                    .help("placeholders are expressions in braces, like `{vendor}` or `{sum(group.amount)}`; `{{` and `}}` are literal braces"),
            );
            None
        }
    });
    let across = if grouped || !all.is_empty() {
        // The filters choose records; the conditions left are evaluated per group.
        let filters = conditions
            .drain(..conditions.len() - usize::from(when_ast.is_some()))
            .collect();
        Some(Across {
            keys,
            filters,
            where_: where_clause,
            having,
            all,
            rounds: Vec::new(),
        })
    } else {
        // A per-record rule's `where` is one more condition.
        if let Some(clause) = where_clause {
            let at = conditions.len() - usize::from(when_ast.is_some());
            conditions.insert(at, clause);
        }
        None
    };
    let mut compiled = CompiledRule {
        id: id.into(),
        effect,
        source: compiler.source().clone(),
        span: rule.body_span,
        conditions,
        unless,
        require,
        message,
        cite: rule.cite.as_ref().map(|c| c.node.as_str().into()),
        tags: rule.tags.iter().map(|t| t.node.clone()).collect(),
        generated_message: "".into(),
        waivers: Vec::new(),
        lets,
        across,
    };
    compiled.generated_message = compiled.generate_message().into();
    match compiled.across.is_some().then(|| compiled.all_levels()) {
        Some(Ok(rounds)) => {
            if let Some(across) = compiled.across.as_mut() {
                across.rounds = rounds;
            }
        }
        Some(Err((l, span))) => {
            let name = compiled.lets.get(l).map_or("", |local| &*local.name);
            compiler.errors.push(
                Diag::error(
                    Code::CheckAllCycle,
                    format!("the values of `{name}` depend on themselves through `all.`"),
                )
                .label(compiler.source(), span, "this closes the cycle")
                .help(
                    "`all.NAME` lists NAME's values over the run, so NAME cannot be computed from it, directly or through other lets: compute NAME from the record or group alone, and compare it with `all.NAME` in another let or in `when`",
                ),
            );
        }
        None => {}
    }
    refuse_all_before_grouping(compiler, &compiled);
    compiled
}

/// A let that reads `all.` (directly or through other lets) read by a filter, `where` or
/// `having`: those decide the records or groups `all.` is taken over, so the let has no value
/// there yet (`all.NAME` written there is refused where it is compiled).
fn refuse_all_before_grouping(compiler: &mut Compiler<'_>, rule: &CompiledRule) {
    let Some(across) = &rule.across else {
        return;
    };
    let reading = rule.lets_reading_all();
    let clauses = across.filters.iter().map(|c| ("a filter", c));
    let clauses = clauses
        .chain(across.where_.iter().map(|c| ("`where`", c)))
        .chain(across.having.iter().map(|c| ("`having`", c)));
    for (place, clause) in clauses {
        let Some(found) = super::program::reads_all(&clause.expr, &reading) else {
            continue;
        };
        let super::ExprKind::Local(l) = found.kind else {
            continue;
        };
        let name = rule.lets.get(l).map_or("", |local| &*local.name);
        // Which `all.` it reads, through the lets between.
        let mut through = l;
        let mut all = "";
        for _ in 0..rule.lets.len() {
            let Some(local) = rule.lets.get(through) else {
                break;
            };
            match super::program::reads_all(&local.expr, &reading).map(|e| &e.kind) {
                Some(super::ExprKind::Local(k)) => through = *k,
                Some(super::ExprKind::AllOf(a)) => {
                    all = rule.lets.get(*a).map_or("", |local| &*local.name);
                    break;
                }
                _ => break,
            }
        }
        compiler.errors.push(
            Diag::error(
                Code::CheckAllCycle,
                format!("`{name}` reads `all.{all}`, so it cannot be read in {place}"),
            )
            .label(compiler.source(), found.span, "its value depends on which records or groups the rule considers")
            .help("`all.NAME` is taken over the records (or groups) that pass the filters, `where` and `having`, so they cannot read it, even through a `let`: compare in `when` instead"),
        );
    }
}

/// The names of a rule block's lets; a name declared twice, that hides a file-level `let` or
/// `alias`, or that hides `id` (a group's name) in a group rule, is an error.
fn local_names(compiler: &mut Compiler<'_>, rule: &ast::Rule) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    // The `as` names of the keys are names of the rule too.
    let (key_names, grouped): (Vec<&crate::source::Spanned<String>>, bool) = match &rule.body {
        RuleBody::Effect { per, .. } => (
            per.iter().filter_map(|k| k.name.as_ref()).collect(),
            !per.is_empty(),
        ),
        RuleBody::Require { .. } => (Vec::new(), false),
    };
    let group_name = "the group's name in this group rule (a waiver matches it with `id == …`)";
    for (i, key) in key_names.iter().enumerate() {
        let clash = if key_names.iter().take(i).any(|k| k.node == key.node) {
            Some("the name of another key of this rule")
        } else if key.node == "id" {
            Some(group_name)
        } else {
            None
        };
        if let Some(what) = clash {
            compiler.errors.push(
                Diag::error(
                    Code::CheckLocalShadows,
                    format!("`{}` is already {what}", key.node),
                )
                .label(compiler.source(), key.span, "named again here")
                .help("give each key a name of its own"),
            );
        }
    }
    for local in &rule.lets {
        let name = &local.name.node;
        let clash = if names.contains(name) {
            Some("the name of another `let` of this rule")
        } else if key_names.iter().any(|k| k.node == *name) {
            Some("the name of a key of this rule (`as`)")
        } else if compiler.declares(name) {
            Some("the name of a `let` or `alias` of the file")
        } else if grouped && name == "id" {
            Some(group_name)
        } else {
            None
        };
        if let Some(what) = clash {
            compiler.errors.push(
                Diag::error(
                    Code::CheckLocalShadows,
                    format!("`{name}` is already {what}"),
                )
                .label(compiler.source(), local.name.span, "declared again here")
                .help("give the rule's `let` a name of its own"),
            );
        }
        names.push(name.clone());
    }
    names
}

/// Compiles a rule block's lets; a cycle between them is an error.
fn compile_lets(compiler: &mut Compiler<'_>, rule: &ast::Rule) -> Vec<LocalLet> {
    let mut lets = Vec::new();
    let mut reads: Vec<Vec<usize>> = Vec::new();
    for local in &rule.lets {
        // A `let each` of a group rule is computed on each record before grouping, as `where`
        // is: compiled as `where` is, then the names read per group again.
        let each = local.each && compiler.rule.as_ref().is_some_and(|n| n.per_group);
        // What the rule's names allow around the let, while a `let each` is compiled.
        let mut around = None;
        if let Some(names) = compiler.rule.as_mut() {
            names.lets_read.clear();
            if each {
                around = Some((names.per_group, names.all_allowed, names.in_each));
                (names.per_group, names.all_allowed, names.in_each) = (false, false, true);
            }
        }
        let expr = compiler.expr(&local.value);
        if let (Some(names), Some(around)) = (compiler.rule.as_mut(), around) {
            (names.per_group, names.all_allowed, names.in_each) = around;
        }
        reads.push(
            compiler
                .rule
                .as_ref()
                .map(|n| n.lets_read.clone())
                .unwrap_or_default(),
        );
        lets.push(LocalLet {
            name: local.name.node.as_str().into(),
            expr,
            each,
            shared: None,
        });
    }
    // A let that reaches itself through the lets it reads.
    for (start, local) in rule.lets.iter().enumerate() {
        let mut seen = vec![false; rule.lets.len()];
        let mut stack: Vec<usize> = reads.get(start).cloned().unwrap_or_default();
        let mut cycle = false;
        while let Some(next) = stack.pop() {
            if next == start {
                cycle = true;
                break;
            }
            if let Some(flag) = seen.get_mut(next)
                && !*flag
            {
                *flag = true;
                stack.extend(reads.get(next).into_iter().flatten());
            }
        }
        let name = &local.name.node;
        let direct = reads.get(start).is_some_and(|r| r.contains(&start));
        if cycle && direct {
            // Most often a symbol spelled like the let: `let valid = [… where b.status == valid]`.
            compiler.errors.push(
                Diag::error(
                    Code::CheckLocalCycle,
                    format!("`{name}` is defined in terms of itself"),
                )
                .label(compiler.source(), local.value.span, format!("reads `{name}`, the let being defined"))
                .help(format!(
                    "inside the rule, the bare name `{name}` is this `let`; to compare with the text, write \"{name}\", or give the `let` another name"
                )),
            );
        } else if cycle {
            compiler.errors.push(
                Diag::error(
                    Code::CheckLocalCycle,
                    format!("`{name}` is defined in terms of itself"),
                )
                .label(
                    compiler.source(),
                    local.value.span,
                    "depends on itself through other `let`s",
                )
                .help("compute it from the record (or the group) without going round in a circle"),
            );
        }
    }
    lets
}
