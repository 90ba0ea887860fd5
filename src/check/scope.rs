//! Names: each file's scope of `let` and `alias` declarations (its own and those it imports),
//! duplicates reported, every declaration evaluated to a constant in dependency order.

use std::collections::HashMap;
use std::sync::Arc;

use super::load::LoadedFile;
use crate::compile::{self, AliasSet, Binding, Compiler, Const, ConstSet, Scope};
use crate::diagnostic::{Code, Diag};
use crate::source::Source;
use crate::syntax::ast::{self, Statement};

/// A `let` or `alias` declaration and the file it is in.
pub(crate) struct Declared<'a> {
    file: usize,
    name: &'a crate::source::Spanned<String>,
}

/// Builds each file's scope: its own declarations, then those of the files it imports.
pub(crate) fn build_scopes(files: &[LoadedFile], errors: &mut Vec<Diag>) -> Vec<Scope> {
    // Each file's own declarations, with duplicates reported.
    let mut own: Vec<HashMap<&str, Declared<'_>>> = Vec::with_capacity(files.len());
    for (index, file) in files.iter().enumerate() {
        let mut names: HashMap<&str, Declared<'_>> = HashMap::new();
        for statement in &file.ast.statements {
            let name = match statement {
                Statement::Let(l) => &l.name,
                Statement::Alias(a) => &a.name,
                _ => continue,
            };
            if let Some(first) = names.get(name.node.as_str()) {
                errors.push(
                    Diag::error(
                        Code::CheckDuplicateName,
                        format!("`{}` is declared twice", name.node),
                    )
                    .label(&file.ast.source, name.span, "declared again here")
                    .label(&file.ast.source, first.name.span, "first declared here")
                    .help("rename one of them"),
                );
                continue;
            }
            names.insert(name.node.as_str(), Declared { file: index, name });
        }
        own.push(names);
    }
    // Which declarations each file sees.
    let mut visible: Vec<HashMap<&str, (usize, usize)>> = Vec::with_capacity(files.len());
    for (index, file) in files.iter().enumerate() {
        let mut names: HashMap<&str, (usize, usize)> = HashMap::new();
        if let Some(mine) = own.get(index) {
            for (name, d) in mine {
                names.insert(name, (d.file, index));
            }
        }
        for (imported, span) in &file.imports {
            let Some(theirs) = own.get(*imported) else {
                continue;
            };
            for (name, d) in theirs {
                match names.get(name) {
                    None => {
                        names.insert(name, (d.file, index));
                    }
                    Some((existing, _)) if *existing == d.file => {}
                    Some((existing, _)) => {
                        let here = files.get(*existing).map_or("", |f| f.ast.source.name());
                        errors.push(
                            Diag::error(
                                Code::CheckDuplicateName,
                                format!(
                                    "`{name}` is declared both in `{here}` and in `{}`",
                                    files.get(d.file).map_or("", |f| f.ast.source.name())
                                ),
                            )
                            .label(
                                &file.ast.source,
                                *span,
                                "this import brings a second `{name}`",
                            )
                            .help("rename one of them"),
                        );
                    }
                }
            }
        }
        visible.push(names);
    }
    resolve_bindings(files, &visible, errors)
}

/// Evaluates every `let` and `alias` to a constant, in dependency order, and gives each file the
/// bindings it sees.
pub(crate) fn resolve_bindings(
    files: &[LoadedFile],
    visible: &[HashMap<&str, (usize, usize)>],
    errors: &mut Vec<Diag>,
) -> Vec<Scope> {
    // The declarations of each file by name.
    let declarations: Vec<HashMap<&str, &Statement>> = files
        .iter()
        .map(|f| {
            f.ast
                .statements
                .iter()
                .filter_map(|s| match s {
                    Statement::Let(l) => Some((l.name.node.as_str(), s)),
                    Statement::Alias(a) => Some((a.name.node.as_str(), s)),
                    _ => None,
                })
                .collect()
        })
        .collect();
    let mut resolved: HashMap<(usize, &str), Binding> = HashMap::new();
    // Each file's bindings resolved so far, grown as they resolve (built afresh for each
    // declaration, they made thousands of lets quadratic).
    let mut scopes: Vec<Scope> = files.iter().map(|_| Scope::default()).collect();
    // The files that see each declaration (by its file and name), its own among them.
    let mut seen_by: HashMap<(usize, &str), Vec<usize>> = HashMap::new();
    for (file, seen) in visible.iter().enumerate() {
        for (name, (declared_in, _)) in seen {
            seen_by.entry((*declared_in, *name)).or_default().push(file);
        }
    }
    // Resolve in rounds: a declaration is resolved once every name it uses is.
    let mut pending: Vec<(usize, &str)> = declarations
        .iter()
        .enumerate()
        .flat_map(|(f, d)| d.keys().map(move |n| (f, *n)))
        .collect();
    pending.sort_unstable();
    loop {
        let before = pending.len();
        let mut still = Vec::new();
        for (file, name) in pending {
            let Some(statement) = declarations.get(file).and_then(|d| d.get(name)) else {
                continue;
            };
            let Some(source_file) = files.get(file) else {
                continue;
            };
            let names_used = declaration_names(statement);
            let seen = visible.get(file);
            let waiting = names_used.iter().any(|used| {
                seen.and_then(|s| s.get(used.as_str()))
                    .is_some_and(|(declared_in, _)| {
                        let itself = *declared_in == file && used == name;
                        !itself && !resolved.contains_key(&(*declared_in, used.as_str()))
                    })
            });
            if waiting {
                still.push((file, name));
                continue;
            }
            let Some(scope) = scopes.get(file) else {
                continue;
            };
            let mut compiler = Compiler::new(&source_file.ast.source, scope);
            let binding = match statement {
                Statement::Let(l) => let_binding(&mut compiler, l),
                Statement::Alias(a) => alias_binding(&mut compiler, a),
                _ => None,
            };
            errors.append(&mut compiler.errors);
            if let Some(binding) = binding {
                // Into the scope of every file that sees this declaration.
                for &seer in seen_by.get(&(file, name)).into_iter().flatten() {
                    if let Some(scope) = scopes.get_mut(seer) {
                        scope.names.insert(name.to_string(), binding.clone());
                    }
                }
                resolved.insert((file, name), binding);
            }
        }
        if still.is_empty() || still.len() == before {
            for (file, name) in &still {
                if let Some(Statement::Let(l)) = declarations.get(*file).and_then(|d| d.get(name))
                    && let Some(f) = files.get(*file)
                {
                    errors.push(
                        Diag::error(
                            Code::CheckLetCycle,
                            format!("`{name}` is defined in terms of itself"),
                        )
                        .label(
                            &f.ast.source,
                            l.value.span,
                            "depends on itself through other `let`s",
                        )
                        .help("give it a constant value"),
                    );
                }
            }
            break;
        }
        pending = still;
    }
    scopes
}

/// The bare names a declaration's value uses.
pub(crate) fn declaration_names(statement: &Statement) -> Vec<String> {
    let mut names = Vec::new();
    let mut add = |name: &str| names.push(name.to_string());
    match statement {
        Statement::Let(l) => l.value.for_each_name(&mut add),
        Statement::Alias(a) => a.spellings.iter().for_each(|s| s.for_each_name(&mut add)),
        _ => {}
    }
    names
}

pub(crate) fn let_binding(compiler: &mut Compiler<'_>, decl: &ast::LetDecl) -> Option<Binding> {
    // `let v = DJI`, DJI an aliased symbol (or a let that is one): `v` is that symbol, with its
    // spellings, as a list `let l = [DJI]` keeps them.
    if let ast::ExprKind::Name(name, _) = &decl.value.kind {
        match compiler.binding(name) {
            Some(Binding::Alias(set)) => {
                return Some(Binding::Symbol(name.as_str().into(), set.clone()));
            }
            Some(binding @ Binding::Symbol(..)) => return Some(binding.clone()),
            _ => {}
        }
    }
    let errors_before = compiler.errors.len();
    let mut value = compiler.expr(&decl.value);
    // An expression of constants (`2018-05-23 + 1 day`, `year(2018-01-01)`) is its value,
    // once it compiled and its types are right (`"5" + 1` is refused, as in a rule).
    // Its errors are said already, or those of a `let` it reads: what reads it is a
    // placeholder, not another error.
    if compiler.errors.len() > errors_before || compiler.read_a_failure() {
        return Some(Binding::Failed);
    }
    if !matches!(value.kind, compile::ExprKind::Const(_)) {
        let wrong = super::types::check_constant(&value, compiler_source(compiler));
        if !wrong.is_empty() {
            compiler.errors.extend(wrong);
            return Some(Binding::Failed);
        }
        match crate::eval::constant_value(&value) {
            Some(Ok(constant)) => value.kind = compile::ExprKind::Const(constant),
            Some(Err(why)) => {
                compiler.errors.push(
                    Diag::error(
                        Code::CheckArithmetic,
                        format!("`let {}` cannot be computed: {why}", decl.name.node),
                    )
                    .label(compiler_source(compiler), decl.value.span, "fails on constants")
                    .help("a `let` of constants is computed while the policy is compiled; change the values so that it can be"),
                );
                return Some(Binding::Failed);
            }
            None => {}
        }
    }
    match value.kind {
        compile::ExprKind::Const(Const::List(values)) => {
            let ast::ExprKind::List(items) = &decl.value.kind else {
                // A list from another `let` or computed: its set from the values.
                let set = set_of(&values);
                return Some(Binding::Let(Const::List(values), Some(Arc::new(set))));
            };
            // The items are compiled again for the set (aliases keep their spellings there).
            let set = compiler
                .const_set(items)
                .unwrap_or_else(|_| set_of(&values));
            Some(Binding::Let(Const::List(values), Some(Arc::new(set))))
        }
        compile::ExprKind::Const(value) => Some(Binding::Let(value, None)),
        _ => {
            let today = value.reads().today;
            // Constants whose value is missing (`max([])`): nothing of the record is read.
            let missing = !today && crate::eval::reads_nothing(&value);
            compiler.errors.push(
                Diag::error(
                    Code::CheckLetNotConstant,
                    format!("`let {}` must be a constant", decl.name.node),
                )
                .label(compiler_source(compiler), decl.value.span, if today {
                    "`today()` is the date of each run, not a constant"
                } else if missing {
                    "this has no value (it is missing)"
                } else {
                    "this depends on the record"
                })
                .help(if today {
                    "write `today()` in the rule that reads it (`when date < today() - 30 days`)"
                } else {
                    "a `let` binds a string, number, date, date-time, duration, boolean or list, or an expression of them; for a symbol write it in quotes or in a list"
                }),
            );
            Some(Binding::Failed)
        }
    }
}

pub(crate) fn compiler_source<'c>(compiler: &'c Compiler<'_>) -> &'c Source {
    compiler.source()
}

pub(crate) fn set_of(values: &[Const]) -> ConstSet {
    let mut set = ConstSet::default();
    for v in values {
        set.insert(v.clone());
    }
    set
}

pub(crate) fn alias_binding(compiler: &mut Compiler<'_>, decl: &ast::AliasDecl) -> Option<Binding> {
    let mut set = AliasSet {
        normalized: std::iter::once(compile::normalize(&decl.name.node)).collect(),
        entries: vec![compile::alias::AliasEntry::spelling(
            &decl.name.node,
            &decl.name.node,
        )],
    };
    for spelling in &decl.spellings {
        let written = compiler_source(compiler).slice(spelling.span).to_string();
        match compiler.expr(spelling).kind {
            // A raw string is a pattern, matched against the value as written.
            compile::ExprKind::Const(Const::String(s)) if written.starts_with('\'') => {
                match compile::build_regex(&s) {
                    Ok(regex) => set.entries.push(compile::alias::AliasEntry {
                        written: written.into(),
                        pattern: Some(regex),
                        normalized: String::new(),
                    }),
                    Err(why) => compiler.errors.push(
                        Diag::error(
                            Code::CheckBadRegex,
                            format!("the alias pattern {written} is not a valid regex: {why}"),
                        )
                        .label(compiler_source(compiler), spelling.span, "this pattern")
                        .help("alias patterns use the syntax of `matches` (the `regex` crate); `(?i)` ignores case"),
                    ),
                }
            }
            compile::ExprKind::Const(Const::String(s)) => {
                set.normalized.insert(compile::normalize(&s));
                set.entries
                    .push(compile::alias::AliasEntry::spelling(&written, &s));
            }
            _ => compiler.errors.push(
                Diag::error(
                    Code::CheckAliasSpelling,
                    "the spellings of an alias must be strings or symbols",
                )
                .label(compiler_source(compiler), spelling.span, "not a string")
                .help("write each spelling in quotes: alias DJI = [\"Da-Jiang Innovations\"]"),
            ),
        }
    }
    Some(Binding::Alias(Arc::new(set)))
}
