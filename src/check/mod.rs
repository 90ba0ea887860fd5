//! Checking a policy set before it runs: reading files and their imports, scopes of `let` and
//! `alias` names, duplicate rule ids, and compiling every rule. Every error is collected; a policy
//! set with any error is never evaluated.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::compile::{
    self, AliasSet, Binding, Clause, CompiledRule, CompiledTest, CompiledWaiver, Compiler, Const,
    ConstSet, Position, Program, Scope,
};
use crate::diagnostic::Diag;
use crate::eval::Outcome;
use crate::source::{Source, SourceFile, Span};
use crate::syntax::ast::{self, Effect, PolicyFile, RuleBody, Statement};

/// A policy file to read, and the policy root its imports may not leave.
#[derive(Debug, Clone)]
pub struct PolicyInput {
    /// The path as the user gave it (or as found by walking a folder they gave).
    pub path: PathBuf,
    /// The folder given on the command line (a file's own folder when a file was given).
    pub root: PathBuf,
}

/// A policy file read and parsed, with the files it imports.
struct LoadedFile {
    ast: PolicyFile,
    canonical: PathBuf,
    imports: Vec<(usize, Span)>,
}

/// Reads, parses and checks the policy files and everything they import, and compiles them.
/// Lint errors are errors; lint warnings are not computed (see [`check_linted`]).
pub fn check(inputs: &[PolicyInput]) -> Result<Program, Vec<Diag>> {
    let (files, errors) = load(inputs);
    check_files(&files, errors, Lints::ErrorsOnly)?
        .into_program()
        .map(|(program, _)| program)
}

/// A policy set without syntax or name errors: its program and what the lints found.
#[derive(Debug)]
pub struct Checked {
    /// The compiled program.
    pub program: Program,
    /// Every lint diagnostic (see `docs/lints.md`), errors and warnings, in file order.
    pub lints: Vec<Diag>,
}

impl Checked {
    /// The program and the warnings `caveat check` shows (style lints left out), or, when a lint
    /// gave an error, those errors and warnings.
    pub fn into_program(self) -> Result<(Program, Vec<Diag>), Vec<Diag>> {
        let shown: Vec<Diag> = self
            .lints
            .into_iter()
            .filter(|d| !crate::lint::STYLE.contains(&d.code.as_str()))
            .collect();
        if shown
            .iter()
            .any(|d| d.severity == crate::diagnostic::Severity::Error)
        {
            Err(shown)
        } else {
            Ok((self.program, shown))
        }
    }
}

/// Reads, parses and checks the policy files as [`check`] does, and lints them; an error only
/// for what stops a policy set from compiling, lint errors being in [`Checked::lints`].
pub fn check_linted(inputs: &[PolicyInput]) -> Result<Checked, Vec<Diag>> {
    let (files, errors) = load(inputs);
    check_files(&files, errors, Lints::All)
}

/// Checks two policy sets, a base and a head, each on its own (rule ids may repeat across them),
/// and compiles them into one program so that records are read once for both: the base's rules
/// come first, the head's from the returned index on.
/// `base_shown_as` names the base's files in diagnostics when they live under a temporary folder:
/// (the folder, the name to show for it).
pub fn check_pair(
    base: &[PolicyInput],
    head: &[PolicyInput],
    base_shown_as: Option<(PathBuf, String)>,
) -> Result<(Program, usize), Vec<Diag>> {
    let (base_files, mut errors) = load_shown(base, base_shown_as);
    let (head_files, mut head_errors) = load(head);
    errors.append(&mut head_errors);
    let base_scopes = build_scopes(&base_files, &mut errors);
    let head_scopes = build_scopes(&head_files, &mut errors);
    // The head's schema, if any, types and checks the records for both sides.
    let schema = build_schema(&head_files, &mut errors);
    let mut compiled = compile_rules(&base_files, &base_scopes, &mut errors);
    let split = compiled.rules.len();
    let head = compile_rules(&head_files, &head_scopes, &mut errors);
    compiled.rules.extend(head.rules);
    compiled
        .waivers
        .extend(head.waivers.into_iter().map(|mut waiver| {
            waiver.rule += split;
            waiver
        }));
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut program = compiled.program();
    program.schema = schema;
    Ok((program, split))
}

/// Reads and parses the policy files and everything they import.
fn load(inputs: &[PolicyInput]) -> (Vec<LoadedFile>, Vec<Diag>) {
    load_shown(inputs, None)
}

/// [`load`], showing the files under a folder under another name.
fn load_shown(
    inputs: &[PolicyInput],
    shown_as: Option<(PathBuf, String)>,
) -> (Vec<LoadedFile>, Vec<Diag>) {
    let mut loader = Loader {
        shown_as,
        ..Loader::default()
    };
    for input in inputs {
        loader.load(&input.path, &input.root, None);
    }
    loader.find_cycles();
    (loader.files, loader.errors)
}

/// Checks policies held in memory (no imports are followed): for tests and tools.
pub fn check_sources(sources: &[Source]) -> Result<Program, Vec<Diag>> {
    let (files, errors) = parse_sources(sources);
    check_files(&files, errors, Lints::ErrorsOnly)?
        .into_program()
        .map(|(program, _)| program)
}

/// [`check_linted`] for policies held in memory.
pub fn check_sources_linted(sources: &[Source]) -> Result<Checked, Vec<Diag>> {
    let (files, errors) = parse_sources(sources);
    check_files(&files, errors, Lints::All)
}

/// Parses policies held in memory.
fn parse_sources(sources: &[Source]) -> (Vec<LoadedFile>, Vec<Diag>) {
    let mut errors = Vec::new();
    let files: Vec<LoadedFile> = sources
        .iter()
        .map(|source| {
            let (ast, mut parse_errors) = crate::syntax::parse(source);
            errors.append(&mut parse_errors);
            LoadedFile {
                ast,
                canonical: PathBuf::from(source.name()),
                imports: Vec::new(),
            }
        })
        .collect();
    (files, errors)
}

/// Which lints a check runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lints {
    /// Errors and warnings.
    All,
    /// Errors only, for callers that drop the warnings.
    ErrorsOnly,
}

/// The one schema of a policy set: the `record` blocks of all its files, merged.
fn build_schema(
    files: &[LoadedFile],
    errors: &mut Vec<Diag>,
) -> Option<Arc<crate::schema::Schema>> {
    // Imported files first: a declaration that conflicts with an imported schema is reported
    // where it is written, in the importing file.
    let mut order = Vec::with_capacity(files.len());
    let mut seen = vec![false; files.len()];
    for start in 0..files.len() {
        imports_first(files, start, &mut seen, &mut order);
    }
    let declarations = order
        .into_iter()
        .filter_map(|i| files.get(i))
        .flat_map(|f| {
            f.ast.statements.iter().filter_map(|s| match s {
                Statement::Record(decl) => Some((&f.ast.source, decl)),
                _ => None,
            })
        });
    crate::schema::build(declarations, errors).map(Arc::new)
}

/// Appends `file` to `order` after the files it imports (each file once; cycles are reported
/// elsewhere).
fn imports_first(files: &[LoadedFile], file: usize, seen: &mut [bool], order: &mut Vec<usize>) {
    match seen.get_mut(file) {
        Some(visited) if !*visited => *visited = true,
        _ => return,
    }
    if let Some(loaded) = files.get(file) {
        for (imported, _) in &loaded.imports {
            imports_first(files, *imported, seen, order);
        }
    }
    order.push(file);
}

/// Scopes, the schema, then rules, then lints: a program, or every error (those of reading and
/// parsing included). Lints run only on a policy set without other errors, so that one mistake
/// gives one diagnostic.
fn check_files(
    files: &[LoadedFile],
    mut errors: Vec<Diag>,
    lints: Lints,
) -> Result<Checked, Vec<Diag>> {
    let scopes = build_scopes(files, &mut errors);
    let schema = build_schema(files, &mut errors);
    let mut program = compile_rules(files, &scopes, &mut errors).program();
    program.schema = schema;
    if !errors.is_empty() {
        return Err(errors);
    }
    let asts: Vec<&PolicyFile> = files.iter().map(|f| &f.ast).collect();
    let lints = match lints {
        Lints::All => crate::lint::lint(&asts, &program),
        Lints::ErrorsOnly => crate::lint::lint_errors(&asts, &program),
    };
    Ok(Checked { program, lints })
}

#[derive(Default)]
struct Loader {
    files: Vec<LoadedFile>,
    by_path: HashMap<PathBuf, usize>,
    errors: Vec<Diag>,
    /// Files under this folder are shown under this name instead (a git revision's files,
    /// written to a temporary folder, are shown as `REV:PATH`).
    shown_as: Option<(PathBuf, String)>,
}

impl Loader {
    /// The name a file is shown under in diagnostics and reports.
    fn name_of(&self, path: &Path) -> String {
        if let Some((folder, shown)) = &self.shown_as
            && let Ok(rest) = path.strip_prefix(folder)
        {
            return format!("{shown}{}", rest.display());
        }
        path.display().to_string()
    }

    /// Loads a file once, then the files it imports. Returns its index.
    fn load(&mut self, path: &Path, root: &Path, from: Option<(&Source, Span)>) -> Option<usize> {
        let canonical = match path.canonicalize() {
            Ok(p) => p,
            Err(e) => {
                self.errors.push(read_error(path, &e, from));
                return None;
            }
        };
        if let Some(&index) = self.by_path.get(&canonical) {
            return Some(index);
        }
        let text = match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(e) => {
                    let at = e.utf8_error().valid_up_to();
                    let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
                    let source = SourceFile::new(self.name_of(path), lossy);
                    self.errors.push(
                        Diag::error("caveat::io::not_utf8", "policy files must be UTF-8 text")
                            .label(&source, Span::new(at, at + 1), "not UTF-8 here")
                            .help("save the file as UTF-8"),
                    );
                    return None;
                }
            },
            Err(e) => {
                self.errors.push(read_error(path, &e, from));
                return None;
            }
        };
        let source = SourceFile::new(self.name_of(path), text);
        let (ast, mut parse_errors) = crate::syntax::parse(&source);
        self.errors.append(&mut parse_errors);
        let index = self.files.len();
        self.by_path.insert(canonical.clone(), index);
        let import_decls: Vec<(String, Span)> = ast
            .statements
            .iter()
            .filter_map(|s| match s {
                Statement::Import(i) => Some((i.path.node.clone(), i.path.span)),
                _ => None,
            })
            .collect();
        self.files.push(LoadedFile {
            ast,
            canonical,
            imports: Vec::new(),
        });
        let root_canonical = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        for (target, span) in import_decls {
            let joined = path.parent().unwrap_or(Path::new("")).join(&target);
            let shown = normalize(&joined);
            match shown.canonicalize() {
                Ok(c) if !c.starts_with(&root_canonical) => {
                    self.errors.push(
                        Diag::error(
                            "caveat::check::import_outside_root",
                            format!("import `{target}` leaves the policy root `{}`", root.display()),
                        )
                        .label(&source, span, "outside the policy root")
                        .help("imports may only reach files inside the folder given on the command line; move the file there, or give a wider folder"),
                    );
                    continue;
                }
                Ok(_) => {}
                Err(_) => {
                    let help = match nearby_policy(&shown) {
                        Some(found) => format!("did you mean `{found}`?"),
                        None => "the path is relative to the importing file".to_string(),
                    };
                    self.errors.push(
                        Diag::error(
                            "caveat::check::import_missing",
                            format!("cannot find the imported file `{}`", shown.display()),
                        )
                        .label(&source, span, "no such file")
                        .help(help),
                    );
                    continue;
                }
            }
            if let Some(imported) = self.load(&shown, root, Some((&source, span)))
                && let Some(file) = self.files.get_mut(index)
            {
                file.imports.push((imported, span));
            }
        }
        Some(index)
    }

    /// Reports each import that closes a cycle.
    fn find_cycles(&mut self) {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Active,
            Done,
        }
        let mut marks = vec![Mark::New; self.files.len()];
        for start in 0..self.files.len() {
            if marks.get(start) != Some(&Mark::New) {
                continue;
            }
            // Iterative depth-first search: (file, next import to follow), and the path so far.
            let mut stack = vec![(start, 0usize)];
            if let Some(m) = marks.get_mut(start) {
                *m = Mark::Active;
            }
            while let Some(&mut (file, ref mut next)) = stack.last_mut() {
                let edge = self
                    .files
                    .get(file)
                    .and_then(|f| f.imports.get(*next))
                    .copied();
                *next += 1;
                match edge {
                    None => {
                        if let Some(m) = marks.get_mut(file) {
                            *m = Mark::Done;
                        }
                        stack.pop();
                    }
                    Some((target, span)) => match marks.get(target) {
                        Some(Mark::New) => {
                            if let Some(m) = marks.get_mut(target) {
                                *m = Mark::Active;
                            }
                            stack.push((target, 0));
                        }
                        Some(Mark::Active) => {
                            let from = stack.iter().position(|(f, _)| *f == target).unwrap_or(0);
                            let names: Vec<String> = stack
                                .get(from..)
                                .unwrap_or(&[])
                                .iter()
                                .chain(std::iter::once(&(target, 0)))
                                .filter_map(|(f, _)| self.files.get(*f))
                                .map(|f| f.ast.source.name().to_string())
                                .collect();
                            if let Some(importer) = self.files.get(file) {
                                self.errors.push(
                                    Diag::error(
                                        "caveat::check::import_cycle",
                                        format!("import cycle: {}", names.join(" → ")),
                                    )
                                    .label(&importer.ast.source, span, "this import closes the cycle")
                                    .help("move what both files need into a third file that both import"),
                                );
                            }
                        }
                        _ => {}
                    },
                }
            }
        }
    }
}

fn read_error(path: &Path, error: &std::io::Error, from: Option<(&Source, Span)>) -> Diag {
    let reason = match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        _ => error.to_string().to_lowercase(),
    };
    let diag = Diag::error(
        "caveat::io::read",
        format!("cannot read `{}`: {reason}", path.display()),
    );
    match from {
        Some((source, span)) => diag.label(source, span, "imported here"),
        None => diag,
    }
}

/// Removes `.` and resolvable `..` steps, so that paths are shown as a user would write them.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.file_name().is_some_and(|n| n != "..") => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The policy file in `folder` whose name is closest to a missing import's, if any.
fn nearby_policy(missing: &Path) -> Option<String> {
    let wanted = missing.file_name()?.to_string_lossy().into_owned();
    let entries = std::fs::read_dir(missing.parent()?).ok()?;
    let names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".policy"))
        .collect();
    crate::suggest::closest(&wanted, names.iter().map(String::as_str)).map(str::to_string)
}

/// A `let` or `alias` declaration and the file it is in.
struct Declared<'a> {
    file: usize,
    name: &'a crate::source::Spanned<String>,
}

/// Builds each file's scope: its own declarations, then those of the files it imports.
fn build_scopes(files: &[LoadedFile], errors: &mut Vec<Diag>) -> Vec<Scope> {
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
                        "caveat::check::duplicate_name",
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
                                "caveat::check::duplicate_name",
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
fn resolve_bindings(
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
            let scope = scope_of(file, visible, &resolved);
            let mut compiler = Compiler::new(&source_file.ast.source, &scope);
            let binding = match statement {
                Statement::Let(l) => let_binding(&mut compiler, l),
                Statement::Alias(a) => alias_binding(&mut compiler, a),
                _ => None,
            };
            errors.append(&mut compiler.errors);
            if let Some(binding) = binding {
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
                            "caveat::check::let_cycle",
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
    (0..files.len())
        .map(|f| scope_of(f, visible, &resolved))
        .collect()
}

fn scope_of(
    file: usize,
    visible: &[HashMap<&str, (usize, usize)>],
    resolved: &HashMap<(usize, &str), Binding>,
) -> Scope {
    let mut scope = Scope::default();
    if let Some(seen) = visible.get(file) {
        for (name, (declared_in, _)) in seen {
            if let Some(binding) = resolved.get(&(*declared_in, *name)) {
                scope.names.insert((*name).to_string(), binding.clone());
            }
        }
    }
    scope
}

/// The bare names a declaration's value uses.
fn declaration_names(statement: &Statement) -> Vec<String> {
    let mut names = Vec::new();
    let mut add = |name: &str| names.push(name.to_string());
    match statement {
        Statement::Let(l) => l.value.for_each_name(&mut add),
        Statement::Alias(a) => a.spellings.iter().for_each(|s| s.for_each_name(&mut add)),
        _ => {}
    }
    names
}

fn let_binding(compiler: &mut Compiler<'_>, decl: &ast::LetDecl) -> Option<Binding> {
    let value = compiler.expr(&decl.value);
    match value.kind {
        compile::ExprKind::Const(Const::List(values)) => {
            let ast::ExprKind::List(items) = &decl.value.kind else {
                // A list from another `let`: rebuild its set from the values.
                let set = set_of(&values);
                return Some(Binding::Let(Const::List(values), Some(Arc::new(set))));
            };
            let set = compiler.const_set(items);
            Some(Binding::Let(Const::List(values), Some(Arc::new(set))))
        }
        compile::ExprKind::Const(value) => Some(Binding::Let(value, None)),
        _ => {
            compiler.errors.push(
                Diag::error(
                    "caveat::check::let_not_constant",
                    format!("`let {}` must be a constant", decl.name.node),
                )
                .label(compiler_source(compiler), decl.value.span, "this depends on the record")
                .help("a `let` binds a string, number, date, boolean or list; for a symbol write it in quotes or in a list"),
            );
            None
        }
    }
}

fn compiler_source<'c>(compiler: &'c Compiler<'_>) -> &'c Source {
    compiler.source()
}

fn set_of(values: &[Const]) -> ConstSet {
    let mut set = ConstSet::default();
    for v in values {
        match v {
            Const::String(s) => {
                set.strings.insert(s.clone());
            }
            other => set.others.push(other.clone()),
        }
    }
    set
}

fn alias_binding(compiler: &mut Compiler<'_>, decl: &ast::AliasDecl) -> Option<Binding> {
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
                            "caveat::check::bad_regex",
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
                    "caveat::check::alias_spelling",
                    "the spellings of an alias must be strings or symbols",
                )
                .label(compiler_source(compiler), spelling.span, "not a string")
                .help("write each spelling in quotes: alias DJI = [\"Da-Jiang Innovations\"]"),
            ),
        }
    }
    Some(Binding::Alias(Arc::new(set)))
}

/// The compiled statements of a policy set, before they make a [`Program`].
struct Compiled {
    rules: Vec<CompiledRule>,
    waivers: Vec<CompiledWaiver>,
    tests: Vec<CompiledTest>,
}

impl Compiled {
    fn program(self) -> Program {
        let mut program = Program::new(self.rules).with_waivers(self.waivers);
        program.tests = self.tests;
        program
    }
}

/// Compiles the rules of every file, in order, and reports duplicate rule ids; then the waivers
/// and tests, whose rule references are resolved against all the rules.
fn compile_rules(files: &[LoadedFile], scopes: &[Scope], errors: &mut Vec<Diag>) -> Compiled {
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
                                "caveat::check::duplicate_rule_id",
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
                    let stem = file
                        .canonical
                        .file_stem()
                        .map_or_else(|| "policy".into(), |s| s.to_string_lossy().into_owned());
                    let (line, _) = source.line_col(rule.span.start);
                    let id = format!("{stem}:{line}");
                    // Files of the same name in different folders give the same ids.
                    if let Some((first_source, first_span)) = ids.get(&id) {
                        errors.push(
                            Diag::error(
                                "caveat::check::duplicate_rule_id",
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
            "caveat::check::unknown_rule",
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
        let outcome = match expectation.effect.node.as_str() {
            "deny" => Outcome::Deny,
            "warn" => Outcome::Warn,
            "note" => Outcome::Note,
            "error" => Outcome::Error,
            _ => Outcome::Waived,
        };
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
    let message = rule.message.as_ref().and_then(|m| match compile::template(&m.node) {
        Ok(t) => Some(t),
        Err(why) => {
            compiler.errors.push(
                Diag::error("caveat::check::bad_message", format!("this message cannot be used: {why}"))
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
