//! Loading a policy set: reading each file once (the one UTF-8 read of [`crate::source`]),
//! parsing it, following its imports without leaving the policy root, and finding import cycles.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::PolicyInput;
use crate::diagnostic::{Code, Diag};
use crate::source::{Source, Span, TextKind, text_from_bytes};
use crate::syntax::ast::{PolicyFile, Statement};

/// A policy file read and parsed, with the files it imports.
pub(crate) struct LoadedFile {
    pub(crate) ast: PolicyFile,
    pub(crate) canonical: PathBuf,
    pub(crate) imports: Vec<(usize, Span)>,
}

/// Reads and parses the policy files and everything they import.
pub(crate) fn load(inputs: &[PolicyInput]) -> (Vec<LoadedFile>, Vec<Diag>) {
    load_shown(inputs, None)
}

/// [`load`], showing the files under a folder under another name.
pub(crate) fn load_shown(
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

/// Parses policies held in memory.
pub(crate) fn parse_sources(sources: &[Source]) -> (Vec<LoadedFile>, Vec<Diag>) {
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

/// Appends `file` to `order` after the files it imports (each file once; cycles are reported
/// elsewhere).
pub(crate) fn imports_first(
    files: &[LoadedFile],
    file: usize,
    seen: &mut [bool],
    order: &mut Vec<usize>,
) {
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

#[derive(Default)]
pub(crate) struct Loader {
    files: Vec<LoadedFile>,
    by_path: HashMap<PathBuf, usize>,
    errors: Vec<Diag>,
    /// Files under this folder are shown under this name instead (a git revision's files,
    /// written to a temporary folder, are shown as `REV:PATH`).
    shown_as: Option<(PathBuf, String)>,
    /// Texts that replace files' contents on disk (an editor's unsaved buffers), by path.
    overlay: HashMap<PathBuf, String>,
}

/// [`load`], reading the files in `overlay` from there instead of from disk (a file there need
/// not exist on disk).
pub(crate) fn load_overlay(
    inputs: &[PolicyInput],
    overlay: HashMap<PathBuf, String>,
) -> (Vec<LoadedFile>, Vec<Diag>) {
    let mut loader = Loader {
        overlay,
        ..Loader::default()
    };
    for input in inputs {
        loader.load(&input.path, &input.root, None);
    }
    loader.find_cycles();
    (loader.files, loader.errors)
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
            Err(_) if self.overlay.contains_key(path) => path.to_path_buf(),
            Err(e) => {
                self.errors.push(read_error(path, &e, from));
                return None;
            }
        };
        if let Some(&index) = self.by_path.get(&canonical) {
            return Some(index);
        }
        let overlaid = self
            .overlay
            .get(&canonical)
            .or_else(|| self.overlay.get(path));
        let read = match overlaid {
            // An editor's unsaved text (the language server) is read instead of the file.
            Some(text) => Ok(text.clone().into_bytes()),
            None => {
                if let Err(e) = std::fs::metadata(path) {
                    self.errors.push(read_error(path, &e, from));
                    return None;
                }
                // Only a regular file, of a bounded size: a FIFO or a device would block or never end.
                crate::project::read_regular(path, crate::project::MAX_POLICY_BYTES, None)
            }
        };
        let source = match read {
            Ok(bytes) => match text_from_bytes(self.name_of(path), bytes, 1, TextKind::Policy) {
                Ok(source) => source,
                Err(diag) => {
                    self.errors.push(diag);
                    return None;
                }
            },
            Err(diag) => {
                self.errors.push(diag);
                return None;
            }
        };
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
                            Code::CheckImportOutsideRoot,
                            format!("import `{target}` leaves the policy root `{}`", root.display()),
                        )
                        .label(&source, span, "outside the policy root")
                        .help("imports may only reach files inside the folder given on the command line; move the file there, or give a wider folder"),
                    );
                    continue;
                }
                Ok(_) if shown.extension().is_none_or(|e| e != "policy") => {
                    let data = crate::data::Format::from_path(&shown).is_some();
                    self.errors.push(
                        Diag::error(
                            Code::CheckImportNotPolicy,
                            format!("import `{target}` is not a policy file"),
                        )
                        .label(&source, span, "not a `.policy` file")
                        .help(if data {
                            "this is a data file: give it on the command line (`caveat check POLICIES DATA`) or in `caveat.toml`'s `data`, not to `import`"
                        } else {
                            "`import` reads policy files, whose names end in `.policy`"
                        }),
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
                            Code::CheckImportMissing,
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
                                        Code::CheckImportCycle,
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

pub(crate) fn read_error(
    path: &Path,
    error: &std::io::Error,
    from: Option<(&Source, Span)>,
) -> Diag {
    let reason = match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        _ => error.to_string().to_lowercase(),
    };
    let diag = Diag::error(
        Code::IoRead,
        format!("cannot read `{}`: {reason}", path.display()),
    );
    match from {
        Some((source, span)) => diag.label(source, span, "imported here"),
        None => diag,
    }
}

/// Removes `.` and resolvable `..` steps, so that paths are shown as a user would write them.
pub(crate) fn normalize(path: &Path) -> PathBuf {
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
pub(crate) fn nearby_policy(missing: &Path) -> Option<String> {
    let wanted = missing.file_name()?.to_string_lossy().into_owned();
    let entries = std::fs::read_dir(missing.parent()?).ok()?;
    let names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".policy"))
        .collect();
    crate::suggest::closest(&wanted, names.iter().map(String::as_str)).map(str::to_string)
}
