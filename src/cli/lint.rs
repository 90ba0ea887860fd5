//! `caveat lint`: the checks of `caveat check` without the data, and style lints besides; every
//! lint is listed in `docs/lints.md`.

use std::path::PathBuf;

use super::{Exit, print_errors};
use crate::diagnostic::{Diag, Severity};

/// The arguments of `caveat lint`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files and folders (walked for `.policy` files; data files are ignored). Default:
    /// the config's `policies`, or `policies/`.
    pub paths: Vec<PathBuf>,
    /// Make warnings fail too: `--deny warnings`.
    #[arg(long, value_enum)]
    pub deny: Option<Deny>,
}

/// What `--deny` makes fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Deny {
    /// Warnings as well as errors.
    Warnings,
}

/// Runs `caveat lint`: exit 0 when clean, 1 when a lint gives an error (or, with
/// `--deny warnings`, a warning), 2 when a policy cannot be read, parsed or compiled.
pub fn run(args: &Args) -> Exit {
    let mut inputs = match super::policy_inputs(&args.paths) {
        Ok(inputs) => inputs,
        Err(errors) => {
            print_errors(&errors);
            return Exit::Trouble;
        }
    };
    inputs.data.clear();
    let checked = match crate::run::compile_linted(&inputs) {
        Ok(checked) => checked,
        Err(errors) => {
            print_errors(&errors);
            return Exit::Trouble;
        }
    };
    print_errors(&checked.lints);
    let count = |severity| {
        checked
            .lints
            .iter()
            .filter(|d: &&Diag| d.severity == severity)
            .count()
    };
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    let fails = errors > 0 || (warnings > 0 && args.deny == Some(Deny::Warnings));
    if errors + warnings > 0 {
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        eprintln!(
            "caveat: {} and {} in {}",
            plural(errors, "error"),
            plural(warnings, "warning"),
            plural(inputs.policies.len(), "policy file")
        );
    }
    if fails { Exit::Findings } else { Exit::Clean }
}
