//! Finding a run's inputs: the paths given are walked and sorted into policy and data files, and
//! the policies are checked and compiled.

use std::path::{Path, PathBuf};

use crate::check::{self, PolicyInput};
use crate::compile::Program;
use crate::data::Format;
use crate::diagnostic::{Code, Diag};

/// The files a run reads, sorted into policies and data.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Policy files with their roots.
    pub policies: Vec<PolicyInput>,
    /// Data files with their formats.
    pub data: Vec<(PathBuf, Format)>,
}

/// Sorts the given paths into policy and data files, walking folders in sorted order. Walks
/// skip hidden entries, what `.gitignore` files ignore, and paths matching an `exclude` glob
/// (gitignore syntax, relative to the folder walked); a file named directly is always read.
/// `-` stands for standard input, read as `stdin_format`.
pub fn discover(
    paths: &[PathBuf],
    exclude: &[String],
    stdin_format: Format,
) -> Result<Inputs, Vec<Diag>> {
    let mut inputs = Inputs::default();
    let mut errors = Vec::new();
    for path in paths {
        if path == Path::new(crate::data::chunk::STDIN) {
            inputs.data.push((path.clone(), stdin_format));
        } else if path.is_dir() {
            let mut files = Vec::new();
            walk(path, exclude, &mut files, &mut errors);
            for file in files {
                classify(&file, path, &mut inputs, false, &mut errors);
            }
        } else if path.exists() {
            let root = path
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            let root = if root.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                root
            };
            classify(path, &root, &mut inputs, true, &mut errors);
        } else {
            errors.push(Diag::error(
                Code::IoNotFound,
                format!("cannot read `{}`: no such file or folder", path.display()),
            ));
        }
    }
    // A file named twice (or inside a folder also named) is read once.
    let mut seen = std::collections::HashSet::new();
    inputs.data.retain(|(path, _)| {
        seen.insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()))
    });
    if errors.is_empty() {
        Ok(inputs)
    } else {
        Err(errors)
    }
}

fn walk(folder: &Path, exclude: &[String], files: &mut Vec<PathBuf>, errors: &mut Vec<Diag>) {
    let mut overrides = ignore::overrides::OverrideBuilder::new(folder);
    for glob in exclude {
        if let Err(e) = overrides.add(&format!("!{glob}")) {
            errors.push(
                Diag::error(
                    Code::IoBadGlob,
                    format!("`{glob}` is not a valid exclude glob: {e}"),
                )
                .help("globs use gitignore syntax: `archive/`, `*.bak.yaml`, `old/**`"),
            );
            return;
        }
    }
    let overrides = match overrides.build() {
        Ok(overrides) => overrides,
        Err(e) => {
            errors.push(Diag::error(
                Code::IoBadGlob,
                format!("the exclude globs are not valid: {e}"),
            ));
            return;
        }
    };
    let walker = ignore::WalkBuilder::new(folder)
        .hidden(true)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(false)
        .require_git(false)
        .ignore(false)
        .parents(true)
        .overrides(overrides)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for entry in walker {
        match entry {
            Ok(entry) if entry.file_type().is_some_and(|t| !t.is_dir()) => {
                files.push(entry.into_path());
            }
            Ok(_) => {}
            Err(e) => errors.push(Diag::io(
                Code::IoRead,
                "cannot read in the folder",
                folder.display(),
                &e,
            )),
        }
    }
}

fn classify(path: &Path, root: &Path, inputs: &mut Inputs, explicit: bool, errors: &mut Vec<Diag>) {
    if path.extension().is_some_and(|e| e == "policy") {
        inputs.policies.push(PolicyInput {
            path: path.to_path_buf(),
            root: root.to_path_buf(),
        });
    } else if let Some(format) = Format::from_path(path) {
        inputs.data.push((path.to_path_buf(), format));
    } else if explicit {
        errors.push(
            Diag::error(
                Code::IoUnknownKind,
                format!("`{}` is neither a policy nor a data file", path.display()),
            )
            .help("policies end in `.policy`; data files in `.yaml`, `.yml`, `.json`, `.jsonl` or `.csv`"),
        );
    }
}

/// Checks and compiles the policies of a run. Lint errors are errors; lint warnings are not
/// computed (`compile_linted` computes them too).
pub fn compile(inputs: &Inputs) -> Result<Program, Vec<Diag>> {
    some_policies(inputs)?;
    check::check(&inputs.policies)
}

/// Checks, compiles and lints the policies of a run.
pub(crate) fn compile_linted(inputs: &Inputs) -> Result<check::Checked, Vec<Diag>> {
    some_policies(inputs)?;
    check::check_linted(&inputs.policies)
}

/// An error when a run has no policy files.
fn some_policies(inputs: &Inputs) -> Result<(), Vec<Diag>> {
    if inputs.policies.is_empty() {
        return Err(vec![
            Diag::error(Code::IoNoPolicies, "no policy files to check against")
                .help("give a `.policy` file or a folder that holds some"),
        ]);
    }
    Ok(())
}
