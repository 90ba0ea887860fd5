//! `check --changed`: the files a commit changed (as a pre-commit hook passes them) narrow the
//! configured run. A changed policy the run reads (configured or imported), a policy file that is
//! gone, or a changed config can change any record's outcome, so then every configured data file
//! is checked; otherwise only the changed ones. Changed files that are not among the configured
//! ones (a workflow's YAML, a policy the config excludes) are left out.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::run::Inputs;
use crate::workdir::lexical;

/// Narrows the configured `inputs` to what the `changed` files call for.
pub fn keep_changed(inputs: &mut Inputs, changed: &[PathBuf], config: &Config) {
    let changed: HashSet<PathBuf> = changed.iter().map(|p| lexical(p)).collect();
    let config_changed =
        !config.path.as_os_str().is_empty() && changed.contains(&lexical(&config.path));
    if config_changed || changed.iter().any(|p| is_policy(p) && !p.exists()) {
        return;
    }
    let (read, _) = crate::check::load::load(&inputs.policies);
    let read: HashSet<&Path> = read.iter().map(|f| f.canonical.as_path()).collect();
    let policy_changed = changed
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .any(|p| read.contains(p.as_path()));
    if policy_changed {
        return;
    }
    let configured = inputs.data.len();
    inputs
        .data
        .retain(|(path, _)| changed.contains(&lexical(path)));
    inputs.partial = inputs.data.len() < configured;
}

fn is_policy(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "policy")
}
