//! Compiling a checked policy set's statements: rules (with duplicate ids reported), then waivers
//! and tests, whose rule references are resolved against all the rules.

use std::collections::HashMap;

use super::{
    Clause, CompiledRule, CompiledTest, CompiledWaiver, Compiler, Position, Program, Scope,
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
    let mut waivers = Vec::new();
    let mut tests = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let scope = scopes.get(index).unwrap_or(&empty);
        let mut compiler = Compiler::new(&file.ast.source, scope);
        for statement in &file.ast.statements {
            match statement {
                Statement::Waive(waiver) => {
                    if let Some(w) = compile_waiver(&mut compiler, waiver, &by_id) {
                        waivers.push(w);
                    }
                }
                Statement::Test(test) => {
                    if let Some(t) = compile_test(&mut compiler, test, &by_id) {
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

/// The index of the rule `reference` names, or an error with the closest id.
fn rule_named(
    compiler: &mut Compiler<'_>,
    reference: &crate::source::Spanned<String>,
    by_id: &HashMap<&str, usize>,
) -> Option<usize> {
    if let Some(&index) = by_id.get(reference.node.as_str()) {
        return Some(index);
    }
    let suggestion = crate::suggest::closest(&reference.node, by_id.keys().copied());
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
    by_id: &HashMap<&str, usize>,
) -> Option<CompiledWaiver> {
    let rule = rule_named(compiler, &waiver.rule, by_id);
    let condition = compiler.clause(&waiver.condition, Position::For);
    let until = compiler.date_constant(&waiver.until, "`until` takes a date");
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
    by_id: &HashMap<&str, usize>,
) -> Option<CompiledTest> {
    let mut expect = Vec::new();
    let mut complete = true;
    for expectation in &test.expect {
        let outcome = expectation.effect.node;
        match rule_named(compiler, &expectation.rule, by_id) {
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
    let (effect, conditions, unless, require) = match &rule.body {
        RuleBody::Effect {
            effect,
            filters,
            when,
            unless,
        } => {
            let mut conditions: Vec<Clause> = filters.iter().map(|f| compiler.filter(f)).collect();
            if let Some(when) = when {
                let mut clause = compiler.clause(when, Position::When);
                // The generated message quotes the rule as written, keyword included.
                clause.text = format!("when {}", clause.text);
                conditions.push(clause);
            }
            let unless = unless
                .as_ref()
                .map(|u| compiler.clause(u, Position::Unless));
            (effect.node, conditions, unless, None)
        }
        RuleBody::Require {
            condition, when, ..
        } => {
            let conditions = when
                .iter()
                .map(|w| compiler.clause(w, Position::When))
                .collect();
            let require = compiler.clause(condition, Position::Require);
            (Effect::Deny, conditions, None, Some(require))
        }
    };
    let message = rule.message.as_ref().and_then(|m| match super::template(&m.node) {
        Ok(t) => Some(t),
        Err(why) => {
            compiler.errors.push(
                Diag::error(Code::CheckBadMessage, format!("this message cannot be used: {why}"))
                    .label(compiler.source(), m.span, "in this message")
                    .help("placeholders are field paths in braces, like `{vendor}` or `{buyer.branch}`"),
            );
            None
        }
    });
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
    };
    compiled.generated_message = compiled.generate_message().into();
    compiled
}
