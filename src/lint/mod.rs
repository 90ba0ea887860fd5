//! Lints: the advisory checks of a policy set that compiles. Rules that never or always fire or
//! add nothing ([`fires`]), unused `let`s and `alias`es and unnamed rules. They are reported with
//! the type checker's diagnostics ([`crate::check::types`]), in file order. Each lint has a
//! stable code `caveat::lint::…` and a level; see `docs/lints.md`.

mod fires;

use std::collections::HashSet;

use crate::compile::Program;
use crate::diagnostic::{Code, Diag, Severity};
use crate::syntax::ast::{Expr, FilterKind, PolicyFile, RuleBody, Statement};

/// Style lints: reported by `caveat lint`, left out of `caveat check`.
pub(crate) const STYLE: &[Code] = &[Code::LintUnnamedRule];

/// Every lint of a checked policy set, errors and warnings, with the type checker's
/// diagnostics `typed` (`mistyped` marks the rules with a type error), in file order.
pub fn lint(
    (files, imports): (&[&PolicyFile], &[Vec<usize>]),
    program: &Program,
    mistyped: &[bool],
    typed: Vec<Diag>,
) -> Vec<Diag> {
    run((files, imports), program, mistyped, typed, true)
}

/// The lints at error level only, in file order: what decides whether a policy set may run,
/// without the cost of the warnings (comparing rules with each other).
pub(crate) fn lint_errors(
    files: &[&PolicyFile],
    program: &Program,
    mistyped: &[bool],
    typed: Vec<Diag>,
) -> Vec<Diag> {
    let mut diags = run((files, &[]), program, mistyped, typed, false);
    diags.retain(|d| d.severity == Severity::Error);
    diags
}

fn run(
    (files, imports): (&[&PolicyFile], &[Vec<usize>]),
    program: &Program,
    mistyped: &[bool],
    mut diags: Vec<Diag>,
    warnings: bool,
) -> Vec<Diag> {
    fires::check(program, mistyped, warnings, &mut diags);
    if warnings {
        constant_group_keys(program, &mut diags);
        let declared = declared_names(files);
        unused((files, imports), &declared, &mut diags);
        not_imported((files, imports), &declared, &mut diags);
        unused_local(files, &mut diags);
        symbols_that_are_lets(files, &mut diags);
        duplicate_tests(files, &mut diags);
        unnamed(files, &mut diags);
    }
    let order = |d: &Diag| {
        d.location().map_or((usize::MAX, 0), |l| {
            let file = files
                .iter()
                .position(|f| std::sync::Arc::ptr_eq(&f.source, &l.source))
                .unwrap_or(usize::MAX);
            (file, l.span.start)
        })
    };
    diags.sort_by_key(order);
    // One misspelt field or value gives one diagnostic, however often it is used.
    let mut seen = HashSet::new();
    diags.retain(|d| {
        let once = matches!(d.code, Code::LintUnknownField | Code::LintNotInEnum);
        let file = d.location().map(|l| l.source.name().to_string());
        !once || seen.insert((d.code, d.message.clone(), file))
    });
    diags
}

/// Keys of `per` that are constants (`per 5`, `per [vendor, unit]`): every record has the same
/// value for them, so they split no group; a list of names was most likely meant as several keys.
fn constant_group_keys(program: &Program, diags: &mut Vec<Diag>) {
    use crate::compile::{Const, ExprKind};
    fn constant(key: &crate::compile::GroupKey) -> Option<&Const> {
        match &key.expr.kind {
            ExprKind::Const(constant) => Some(constant),
            _ => None,
        }
    }
    for rule in &program.rules {
        let keys = rule.across.as_ref().map_or(&[][..], |a| a.keys.as_slice());
        // Keys that read the record group it without the constant ones.
        let grouped_without = keys.iter().any(|key| constant(key).is_none());
        for key in keys {
            let Some(constant) = constant(key) else {
                continue;
            };
            let names: Option<Vec<&str>> = match constant {
                Const::List(items) => items
                    .iter()
                    .map(|item| match item {
                        Const::String(name) => Some(&**name),
                        _ => None,
                    })
                    .collect(),
                _ => None,
            };
            let help = match names {
                Some(names) if !names.is_empty() => format!(
                    "to group by several fields, list them without brackets: `per {}`",
                    names.join(", ")
                ),
                _ if grouped_without => format!(
                    "remove `{}`: the rule's other keys make the same groups without it",
                    key.text
                ),
                _ => "name a field of the record, such as `per vendor`; a rule about every \
                      record together reads `all.` instead"
                    .to_string(),
            };
            diags.push(
                Diag::warning(
                    Code::LintConstantGroupKey,
                    format!(
                        "the key `{}` of rule `{}` is the same for every record: it splits no group",
                        key.text, rule.id
                    ),
                )
                .label(&rule.source, key.expr.span, "reads nothing of the record")
                .help(help),
            );
        }
    }
}

/// Each file's `let` and `alias` declarations by name: whether it is an alias, and the name as
/// declared.
type Declared<'a> =
    Vec<std::collections::HashMap<&'a str, (bool, &'a crate::source::Spanned<String>)>>;

fn declared_names<'a>(files: &[&'a PolicyFile]) -> Declared<'a> {
    files
        .iter()
        .map(|file| {
            file.statements
                .iter()
                .filter_map(|statement| match statement {
                    Statement::Let(l) => Some((l.name.node.as_str(), (false, &l.name))),
                    Statement::Alias(a) => Some((a.name.node.as_str(), (true, &a.name))),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

/// The files that see file `index`'s declarations: itself and the files that import it.
fn seen_by(imports: &[Vec<usize>], index: usize) -> impl Iterator<Item = usize> + '_ {
    let importers = imports
        .iter()
        .enumerate()
        .filter(move |(_, imported)| imported.contains(&index))
        .map(|(i, _)| i);
    std::iter::once(index).chain(importers)
}

/// `let`s and `alias`es that no file which sees them uses (their own, or one that imports it).
fn unused(
    (files, imports): (&[&PolicyFile], &[Vec<usize>]),
    declared: &Declared<'_>,
    diags: &mut Vec<Diag>,
) {
    let used: Vec<HashSet<&str>> = files
        .iter()
        .map(|file| {
            let mut used = HashSet::new();
            for statement in &file.statements {
                for expr in statement_exprs(statement) {
                    expr.for_each_name(&mut |name| {
                        used.insert(name);
                    });
                }
            }
            used
        })
        .collect();
    // A group rule's keys read every alias of the run: a key spelled as an alias groups as it.
    let grouped = files.iter().flat_map(|f| &f.statements).any(|s| {
        matches!(s, Statement::Rule(rule) if matches!(&rule.body, RuleBody::Effect { per, .. } if !per.is_empty()))
    });
    // Names that are lets or aliases somewhere (a rule's own lets included): not fields.
    let named: HashSet<&str> = declared
        .iter()
        .flat_map(|d| d.keys().copied())
        .chain(
            files
                .iter()
                .flat_map(|f| &f.statements)
                .flat_map(|s| match s {
                    Statement::Rule(rule) => {
                        rule.lets.iter().map(|l| l.name.node.as_str()).collect()
                    }
                    _ => Vec::new(),
                }),
        )
        .collect();
    for (index, (file, names)) in files.iter().zip(declared).enumerate() {
        let mut names: Vec<_> = names.iter().collect();
        names.sort_by_key(|(_, (_, name))| name.span.start);
        for (text, (alias, name)) in names {
            if (*alias && grouped)
                || seen_by(imports, index).any(|i| used.get(i).is_some_and(|u| u.contains(text)))
            {
                continue;
            }
            let (code, what) = if *alias {
                (Code::LintUnusedAlias, "alias")
            } else {
                (Code::LintUnusedLet, "let")
            };
            // A name written near it (`threshhold` for `threshold`) was read as a field.
            let written = seen_by(imports, index)
                .filter_map(|i| used.get(i))
                .flat_map(|names| names.iter().copied())
                .filter(|n| n != text && !named.contains(n));
            let help = match crate::suggest::closest(text, written) {
                Some(near) => format!(
                    "a rule reads `{near}`, which is not this {what} but a field (or a symbol) of that name: if `{}` was meant, correct the spelling there",
                    name.node
                ),
                None => format!(
                    "no policy file that sees it (its own, or one that imports it) uses `{}`: remove it, import its file where it is meant to be used, or check the spelling",
                    name.node
                ),
            };
            diags.push(
                Diag::warning(code, format!("`{what} {}` is never used", name.node))
                    .label(&file.source, name.span, "declared here")
                    .help(help),
            );
        }
    }
}

/// A symbol (`vendor DJI`, `kind == urgent`) spelt as a `let` or `alias` of another file that
/// this file does not import: here it is only its own text, matched exactly, which is rarely
/// what was meant.
fn not_imported(
    (files, imports): (&[&PolicyFile], &[Vec<usize>]),
    declared: &Declared<'_>,
    diags: &mut Vec<Diag>,
) {
    for (index, file) in files.iter().enumerate() {
        let visible = |name: &str| {
            std::iter::once(index)
                .chain(imports.get(index).into_iter().flatten().copied())
                .any(|i| declared.get(i).is_some_and(|d| d.contains_key(name)))
        };
        for statement in &file.statements {
            let local: HashSet<&str> = match statement {
                Statement::Rule(rule) => rule
                    .lets
                    .iter()
                    .map(|l| l.name.node.as_str())
                    .chain(rule_key_names(&rule.body))
                    .collect(),
                _ => HashSet::new(),
            };
            for expr in statement_exprs(statement) {
                expr.for_each_symbol(&mut |name, span| {
                    if local.contains(name) || visible(name) {
                        return;
                    }
                    let Some((elsewhere, alias)) = declared.iter().enumerate().find_map(|(i, d)| {
                        d.get(name).map(|(alias, _)| (i, *alias))
                    }) else {
                        return;
                    };
                    let what = if alias { "an `alias`" } else { "a `let`" };
                    let other = files.get(elsewhere).map_or("", |f| f.source.name());
                    diags.push(
                        Diag::warning(
                            Code::LintNotImported,
                            format!("`{name}` is {what} of {other}, which this file does not import"),
                        )
                        .label(&file.source, span, "here it is the text itself, matched exactly")
                        .help(format!(
                            "import the file that declares it: `import \"{}\"`; or quote the text, `\"{name}\"`, if the text itself is meant",
                            relative_import(file.source.name(), other)
                        )),
                    );
                });
            }
        }
    }
}

/// The `as` names of a group rule's keys.
fn rule_key_names(body: &RuleBody) -> impl Iterator<Item = &str> {
    let keys = match body {
        RuleBody::Effect { per, .. } => per.as_slice(),
        RuleBody::Require { .. } => &[],
    };
    keys.iter()
        .filter_map(|k| k.name.as_ref().map(|n| n.node.as_str()))
}

/// How a file named `from` imports the file named `to` (both as shown in diagnostics, from the
/// same folder): `to` relative to `from`'s folder, `..` where it climbs.
fn relative_import(from: &str, to: &str) -> String {
    use std::path::{Component, Path};
    let base: Vec<Component<'_>> = Path::new(from)
        .parent()
        .map(|p| p.components().collect())
        .unwrap_or_default();
    let target: Vec<Component<'_>> = Path::new(to).components().collect();
    let shared = base.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); base.len() - shared];
    parts.extend(
        target
            .iter()
            .skip(shared)
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// Rule-local `let`s that nothing of their rule uses: its lets, body and message, `all.` of
/// them, a member's `.NAME` (a `let each`), or a waiver of the rule (which reads a group
/// rule's lets).
fn unused_local(files: &[&PolicyFile], diags: &mut Vec<Diag>) {
    let waivers: Vec<&crate::syntax::ast::Waiver> = files
        .iter()
        .flat_map(|f| &f.statements)
        .filter_map(|s| match s {
            Statement::Waive(w) => Some(&**w),
            _ => None,
        })
        .collect();
    for (file, statement, rule) in rules_in(files) {
        if rule.lets.is_empty() {
            continue;
        }
        let mut used: HashSet<&str> = HashSet::new();
        let id = rule.id.as_ref().map(|id| id.node.as_str());
        let waived = waivers
            .iter()
            .filter(|w| id == Some(w.rule.node.as_str()))
            .map(|w| &w.condition);
        for expr in statement_exprs(statement).into_iter().chain(waived) {
            expr.for_each_name_a_let_may_be(&mut |name| {
                used.insert(name);
            });
        }
        for local in &rule.lets {
            let name = &local.name;
            if used.contains(name.node.as_str()) {
                continue;
            }
            let rule_name = id.unwrap_or("this rule");
            diags.push(
                Diag::warning(
                    Code::LintUnusedLet,
                    format!("`let {}` is never used", name.node),
                )
                .label(&file.source, name.span, "declared here")
                .help(format!(
                    "nothing in rule `{rule_name}` or its waivers uses `{}`: remove it, or check the spelling where it is meant to be used",
                    name.node
                )),
            );
        }
    }
}

/// A warning for each element of a list literal in a rule that is a bare name a `let` of the
/// rule takes, beside a bare name that is a symbol (LANGUAGE.md §4: the let comes first), as
/// `pending` in `b.status in [valid, pending]` beside `let pending = …`: most often the text was
/// meant. (A waiver of the rule, perhaps in another file, is not looked at.)
fn symbols_that_are_lets(files: &[&PolicyFile], diags: &mut Vec<Diag>) {
    for (file, statement, rule) in rules_in(files) {
        if rule.lets.is_empty() {
            continue;
        }
        for expr in statement_exprs(statement) {
            lets_among_symbols(file, rule, expr, diags);
        }
    }
}

/// [`symbols_that_are_lets`] in one expression of `rule`.
fn lets_among_symbols(
    file: &PolicyFile,
    rule: &crate::syntax::ast::Rule,
    expr: &Expr,
    diags: &mut Vec<Diag>,
) {
    use crate::syntax::ast::ExprKind;
    let is_let = |name: &str| rule.lets.iter().any(|local| local.name.node == name);
    expr.walk(&mut |e| {
        let ExprKind::List(items) = &e.kind else {
            return;
        };
        let names = || {
            items.iter().filter_map(|item| match &item.kind {
                ExprKind::Name(name, _) => Some((name.as_str(), item.span)),
                _ => None,
            })
        };
        if !names().any(|(name, _)| !is_let(name)) {
            return;
        }
        for (name, span) in names().filter(|(name, _)| is_let(name)) {
            diags.push(
                Diag::warning(
                    Code::LintSymbolIsLet,
                    format!("`{name}` in this list is the rule's `let {name}`, not the text \"{name}\" as the names beside it are"),
                )
                .label(&file.source, span, "reads the let")
                .help(format!(
                    "to list the text, write \"{name}\" (or give the `let` another name); to list the let's value, write `({name})`"
                )),
            );
        }
    });
}

/// Each rule of `files`, with its file and statement.
fn rules_in<'a>(
    files: &'a [&'a PolicyFile],
) -> impl Iterator<Item = (&'a PolicyFile, &'a Statement, &'a crate::syntax::ast::Rule)> {
    files.iter().flat_map(|file| {
        file.statements
            .iter()
            .filter_map(move |statement| match statement {
                Statement::Rule(rule) => Some((*file, statement, &**rule)),
                _ => None,
            })
    })
}

/// The expressions a statement holds.
fn statement_exprs(statement: &Statement) -> Vec<&Expr> {
    match statement {
        Statement::Let(l) => vec![&l.value],
        Statement::Alias(a) => a.spellings.iter().collect(),
        Statement::Rule(rule) => {
            let mut out: Vec<&Expr> = rule.lets.iter().map(|l| &l.value).collect();
            out.extend(&rule.placeholders);
            out.extend(rule_body_exprs(&rule.body));
            out
        }
        Statement::Waive(waiver) => vec![&waiver.condition, &waiver.until],
        _ => Vec::new(),
    }
}

/// The expressions of a rule's body: filters, keys, `where`, `having`, `when`, `unless`.
fn rule_body_exprs(body: &RuleBody) -> Vec<&Expr> {
    match body {
        RuleBody::Effect {
            filters,
            when,
            unless,
            per,
            where_,
            having,
            ..
        } => {
            let mut out: Vec<&Expr> = per.iter().map(|k| &k.expr).collect();
            out.extend(where_.iter().chain(having.iter()));
            for filter in filters {
                match &filter.kind {
                    FilterKind::VendorIs(e)
                    | FilterKind::VendorIn(e)
                    | FilterKind::VendorNotIn(e) => out.push(e),
                    FilterKind::After(path, d) | FilterKind::Before(path, d) => {
                        out.extend(path.iter());
                        out.push(d);
                    }
                    FilterKind::Between(path, a, b) => {
                        out.extend(path.iter());
                        out.extend([a, b]);
                    }
                }
            }
            out.extend(when.iter().chain(unless.iter()));
            out
        }
        RuleBody::Require {
            condition,
            where_,
            when,
            ..
        } => std::iter::once(condition)
            .chain(where_.iter())
            .chain(when.iter())
            .collect(),
    }
}

/// Tests that share a name (reports and snapshots of test runs name a test by it), and the same
/// expectation twice in one test (findings are a set: the second adds nothing).
fn duplicate_tests(files: &[&PolicyFile], diags: &mut Vec<Diag>) {
    let mut named: std::collections::HashMap<&str, (&PolicyFile, crate::source::Span)> =
        std::collections::HashMap::new();
    for file in files {
        for statement in &file.statements {
            let Statement::Test(test) = statement else {
                continue;
            };
            match named.get(test.name.node.as_str()) {
                Some((first_file, first)) => {
                    let first_place = if std::sync::Arc::ptr_eq(&first_file.source, &file.source) {
                        format!("line {}", first_file.source.line_col(first.start).0)
                    } else {
                        first_file.source.name().to_string()
                    };
                    diags.push(
                        Diag::warning(
                            Code::LintDuplicateTest,
                            format!(
                                "a test named \"{}\" comes before this one ({first_place})",
                                test.name.node
                            ),
                        )
                        .label(&file.source, test.name.span, "the same name again")
                        .help("give each test its own name: a report names a test by it"),
                    );
                }
                None => {
                    named.insert(test.name.node.as_str(), (file, test.name.span));
                }
            }
            for (i, expectation) in test.expect.iter().enumerate() {
                let twice = test.expect.iter().take(i).any(|e| {
                    e.effect.node == expectation.effect.node && e.rule.node == expectation.rule.node
                });
                if twice {
                    diags.push(
                        Diag::warning(
                            Code::LintDuplicateTest,
                            format!(
                                "this test expects `{} {}` twice",
                                expectation.effect.node.name(),
                                expectation.rule.node
                            ),
                        )
                        .label(&file.source, expectation.rule.span, "expected again")
                        .help("a test's findings are a set: remove the second"),
                    );
                }
            }
        }
    }
}

/// Rules written outside a `rule ID { … }` block, unless another lint already points into them.
fn unnamed(files: &[&PolicyFile], diags: &mut Vec<Diag>) {
    for (file, _, rule) in rules_in(files) {
        if rule.id.is_some() {
            continue;
        }
        // One thing at a time: a rule with a real mistake is not also told to get a name.
        let flagged = diags.iter().any(|d| {
            d.location().is_some_and(|l| {
                std::sync::Arc::ptr_eq(&l.source, &file.source)
                    && rule.span.start <= l.span.start
                    && l.span.start < rule.span.end
            })
        });
        if flagged {
            continue;
        }
        let keyword = match &rule.body {
            RuleBody::Effect { effect, .. } => effect.span,
            RuleBody::Require { keyword, .. } => *keyword,
        };
        diags.push(
            Diag::warning(Code::LintUnnamedRule, "this rule has no name")
                .label(&file.source, keyword, "an unnamed rule")
                .help(
                    "name it, so that findings, tests and waivers can refer to it: \
                         `rule my-rule-id { … }`",
                ),
        );
    }
}
