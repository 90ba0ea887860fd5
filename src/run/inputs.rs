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
    /// Files and folders the walks left out: hidden, ignored, excluded, symbolic links to
    /// folders, and files that are neither policies nor data.
    pub skipped: usize,
    /// Warnings about the paths: a folder that yields no file.
    pub warnings: Vec<Diag>,
    /// Some configured data files were left out (`check --changed`): a waiver that matches
    /// nothing may match in them, and rules across records see only the files read.
    pub partial: bool,
}

/// Sorts the given paths into policy and data files, walking folders in sorted order. Walks
/// skip hidden entries, what `.gitignore` files ignore, and paths matching an `exclude` glob
/// (gitignore syntax, relative to the folder walked); a file named directly is always read.
/// `-` stands for standard input, read as `stdin_format`. Every path must resolve inside the
/// `project` root and be a regular file or a folder (see [`crate::project`]); what a walk leaves
/// out is counted in [`Inputs::skipped`], and a folder that yields nothing is a warning.
pub fn discover(
    paths: &[PathBuf],
    exclude: &[String],
    stdin_format: Format,
    project: &crate::project::Project,
) -> Result<Inputs, Vec<Diag>> {
    let mut inputs = Inputs::default();
    let mut errors = Vec::new();
    for path in paths {
        if crate::data::chunk::is_stdin(path) {
            inputs.data.push((path.clone(), stdin_format));
        } else if std::fs::symlink_metadata(path).is_err() {
            errors.push(Diag::error(
                Code::IoNotFound,
                format!("cannot read `{}`: no such file or folder", path.display()),
            ));
        } else if let Err(diag) = project.check_inside(path) {
            errors.push(diag);
        } else if path.is_dir() {
            let found = inputs.policies.len() + inputs.data.len();
            let mut files = Vec::new();
            inputs.skipped += crate::walk::walk(path, exclude, project, &mut files, &mut errors);
            for file in files {
                if !classify(&file, path, &mut inputs, false, &mut errors) {
                    inputs.skipped += 1;
                }
            }
            if inputs.policies.len() + inputs.data.len() == found {
                inputs.warnings.push(crate::walk::nothing_found(path));
            }
        } else if let Err(diag) = project.check_file(path) {
            errors.push(diag);
        } else {
            let root = path
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            let root = if root.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                root
            };
            classify(path, &root, &mut inputs, true, &mut errors);
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

/// Files a policy or a data file; `false` when it is neither (an error if `explicit`).
fn classify(
    path: &Path,
    root: &Path,
    inputs: &mut Inputs,
    explicit: bool,
    errors: &mut Vec<Diag>,
) -> bool {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("policy"))
    {
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
    } else {
        return false;
    }
    true
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
