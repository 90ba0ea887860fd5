//! The command line: one file per command, each an `Args` struct and a `run` function.

pub mod check;

use std::io::IsTerminal;

use clap::{Parser, Subcommand};

use crate::diagnostic::Diag;
use crate::report::human::{self, Style};

/// caveat checks purchase records against procurement policies.
#[derive(Debug, Parser)]
#[command(name = "caveat", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check records against policies and report every finding.
    #[command(after_help = check::EXAMPLES)]
    Check(check::Args),
}

/// How a run ended; `main` maps it to the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Nothing at the failing level: exit 0.
    Clean,
    /// Findings at the failing level, or error findings: exit 1.
    Findings,
    /// A policy or input could not be read, parsed or checked: exit 2.
    Trouble,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Clean => 0,
            Exit::Findings => 1,
            Exit::Trouble => 2,
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Check(args) => check::run(&args),
    }
}

/// The style for a stream: colour only on a terminal, and never with `NO_COLOR`.
pub fn style_for(is_terminal: bool) -> Style {
    let color = is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100);
    Style { color, width }
}

/// Prints diagnostics on stderr.
pub fn print_errors(diags: &[Diag]) {
    let style = style_for(std::io::stderr().is_terminal());
    for diag in diags {
        eprint!("{}", human::render(diag, style));
    }
}
