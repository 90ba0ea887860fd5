//! Checking a policy set as an editor holds it: some files' texts come from unsaved buffers, and
//! the caller (the language server) keeps the parsed files besides the result, to navigate them.

use std::collections::HashMap;
use std::path::PathBuf;

use super::load::load_overlay;
use super::{Checked, Lints, PolicyInput, check_files};
use crate::diagnostic::Diag;
use crate::syntax::ast::PolicyFile;

/// A policy file of a checked workspace.
pub(crate) struct WorkspaceFile {
    /// Its canonical path (the path given, for a buffer not saved on disk).
    pub path: PathBuf,
    /// Its syntax tree (with what error recovery kept of a file that does not parse).
    pub ast: PolicyFile,
}

/// A policy set checked as [`super::check_linted`] does, with its files.
pub(crate) struct Workspace {
    /// Every file read: the inputs and what they import.
    pub files: Vec<WorkspaceFile>,
    /// The program and every lint, or the errors that stop it from compiling.
    pub checked: Result<Checked, Vec<Diag>>,
}

/// Reads, parses, checks and lints `inputs` and their imports, taking the text of any file in
/// `overlay` (by path) from there.
pub(crate) fn check_workspace(
    inputs: &[PolicyInput],
    overlay: HashMap<PathBuf, String>,
) -> Workspace {
    let (files, errors) = load_overlay(inputs, overlay);
    let checked = check_files(&files, errors, Lints::All);
    let files = files
        .into_iter()
        .map(|file| WorkspaceFile {
            path: file.canonical,
            ast: file.ast,
        })
        .collect();
    Workspace { files, checked }
}
