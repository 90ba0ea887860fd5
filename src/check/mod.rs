//! Checking a policy set before it runs: loading files and their imports (`load`), scopes of
//! `let` and `alias` names (`scope`), the schema, and, once [`compile`](crate::compile) has
//! turned the checked statements into a [`Program`], the types of every expression (`types`).
//! Every error is collected; a policy set with any error is never evaluated. The advisory lints
//! (`lint`) run last.

pub(crate) mod load;
mod scope;
pub(crate) mod types;
pub(crate) mod workspace;

use std::path::PathBuf;
use std::sync::Arc;

use crate::compile::Program;
use crate::compile::statements::{CheckedFile, compile_statements};
use crate::diagnostic::Diag;
use crate::source::Source;
use crate::syntax::ast::{PolicyFile, Statement};
use load::{LoadedFile, imports_first, load, load_shown, parse_sources};
use scope::build_scopes;

/// A policy file to read, and the policy root its imports may not leave.
#[derive(Debug, Clone)]
pub struct PolicyInput {
    /// The path as the user gave it (or as found by walking a folder they gave).
    pub path: PathBuf,
    /// The folder given on the command line (a file's own folder when a file was given).
    pub root: PathBuf,
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
    pub(crate) fn into_program(self) -> Result<(Program, Vec<Diag>), Vec<Diag>> {
        let shown: Vec<Diag> = self
            .lints
            .into_iter()
            .filter(|d| !crate::lint::STYLE.contains(&d.code))
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
pub(crate) fn check_pair(
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
    let mut compiled = compile_statements(&checked_files(&base_files), &base_scopes, &mut errors);
    let split = compiled.rules.len();
    let head = compile_statements(&checked_files(&head_files), &head_scopes, &mut errors);
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
    program.aliases = aliases_of(base_scopes.iter().chain(&head_scopes));
    Ok((program, split))
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
    let mut program = compile_statements(&checked_files(files), &scopes, &mut errors).program();
    program.schema = schema;
    program.aliases = aliases_of(scopes.iter());
    program.policy_files = files.iter().map(|file| file.canonical.clone()).collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let asts: Vec<&PolicyFile> = files.iter().map(|f| &f.ast).collect();
    let mut diags = Vec::new();
    let mistyped = types::check(&program, &mut diags);
    types::check_messages(&asts, &program, &mut diags);
    let lints = match lints {
        Lints::All => {
            let imports: Vec<Vec<usize>> = files
                .iter()
                .map(|f| f.imports.iter().map(|(i, _)| *i).collect())
                .collect();
            crate::lint::lint((&asts, &imports), &program, &mistyped, diags)
        }
        Lints::ErrorsOnly => crate::lint::lint_errors(&asts, &program, &mistyped, diags),
    };
    Ok(Checked { program, lints })
}

/// The loaded files as compilation takes them: each AST with the stem that names its unnamed
/// rules.
fn checked_files(files: &[LoadedFile]) -> Vec<CheckedFile<'_>> {
    files
        .iter()
        .map(|file| CheckedFile {
            ast: &file.ast,
            stem: unnamed_rule_stem(&file.canonical),
        })
        .collect()
}

/// The stem that names the rules a policy file writes outside a `rule ID { … }` block
/// (`FILE-STEM:LINE`).
pub(crate) fn unnamed_rule_stem(path: &std::path::Path) -> String {
    path.file_stem()
        .map_or_else(|| "policy".into(), |s| s.to_string_lossy().into_owned())
}

/// Every aliased symbol of the run, once, in name order: group keys read a spelling of one as
/// the symbol.
fn aliases_of<'s>(
    scopes: impl Iterator<Item = &'s crate::compile::Scope>,
) -> Vec<(Arc<str>, Arc<crate::compile::AliasSet>)> {
    let mut found: std::collections::BTreeMap<&str, Arc<crate::compile::AliasSet>> =
        std::collections::BTreeMap::new();
    for scope in scopes {
        for (name, binding) in &scope.names {
            if let crate::compile::Binding::Alias(set) = binding {
                found.entry(name).or_insert_with(|| set.clone());
            }
        }
    }
    found
        .into_iter()
        .map(|(name, set)| (name.into(), set))
        .collect()
}

/// Maps `f` over a program's rules (each with its index) in rule order: on all cores when there
/// are enough rules to repay waking rayon's threads, else on this thread (for a policy of a few
/// dozen rules, starting the pool and its threads' idle spinning cost more than the rules do).
pub(crate) fn map_rules<'a, T: Sync, R: Send>(
    rules: &'a [T],
    f: impl Fn(usize, &'a T) -> R + Sync + Send,
) -> Vec<R> {
    use rayon::prelude::*;
    if rules.len() < PARALLEL_RULES {
        rules
            .iter()
            .enumerate()
            .map(|(i, rule)| f(i, rule))
            .collect()
    } else {
        rules
            .par_iter()
            .enumerate()
            .map(|(i, rule)| f(i, rule))
            .collect()
    }
}

/// The fewest rules [`map_rules`] works out on all cores.
const PARALLEL_RULES: usize = 256;

#[cfg(test)]
mod tests {
    use super::{PARALLEL_RULES, map_rules};

    #[test]
    fn rules_are_mapped_in_rule_order_on_one_core_or_all() {
        for len in [
            0,
            3,
            PARALLEL_RULES - 1,
            PARALLEL_RULES,
            3 * PARALLEL_RULES + 7,
        ] {
            let rules: Vec<usize> = (0..len).map(|i| i * 10).collect();
            let mapped = map_rules(&rules, |i, rule| (i, *rule + 1));
            let expected: Vec<(usize, usize)> = (0..len).map(|i| (i, i * 10 + 1)).collect();
            assert_eq!(mapped, expected, "{len} rules");
        }
    }
}
