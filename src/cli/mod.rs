//! The command line: one file per command, each an `Args` struct and a `run` function.

pub(crate) mod changed;
pub mod check;
pub mod diff;
pub mod explain;
pub mod fmt;
pub mod init;
pub mod lint;
pub mod lsp;
pub mod man;
pub mod progress;
pub mod snapshot;
pub mod test;
pub(crate) mod today;

use std::io::IsTerminal;

use clap::{Parser, Subcommand};

use crate::diagnostic::Diag;
use crate::report::human::{self, Style};

/// caveat checks purchase records against procurement policies.
#[derive(Debug, Parser)]
#[command(
    name = "caveat",
    version,
    about,
    long_about = None,
    after_help = "The policy language: docs/language.md in caveat's repository (every construct, with examples)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// When to use colour.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Read files outside the project root (the folder of `caveat.toml`, else the git work
    /// tree, else the working folder), through symbolic links too. For local use: never in CI
    /// on pull requests.
    #[arg(long, global = true)]
    pub allow_outside: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check records against policies and report every finding.
    #[command(after_help = check::EXAMPLES)]
    Check(Box<check::Args>),
    /// Rewrite policy files in the one layout, keeping every comment (`--check`: only show).
    Fmt(fmt::Args),
    /// Find mistakes in policies before they run: types, undeclared fields, rules that never
    /// fire, unused names (`--deny warnings`: warnings fail too).
    Lint(lint::Args),
    /// Write a commented `caveat.toml`, a sample policy and sample records.
    Init(init::Args),
    /// Write every record's outcome, sorted, to commit (`--check FILE`: diff against it).
    Snapshot(Box<snapshot::Args>),
    /// Show the records whose outcomes a policy change changes (`--base OLD --head NEW`).
    Diff(Box<diff::Args>),
    /// Show why a rule did or did not fire on a record: the clauses that decided it.
    Explain(Box<explain::Args>),
    /// Run the policies' `test` blocks (`--coverage`: and show what they cover).
    Test(test::Args),
    /// Run the language server on stdin and stdout, for editors (diagnostics, hover, go to
    /// definition, completion, formatting, rule counts).
    Lsp(lsp::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `caveat man > caveat.1`; `caveat man check` prints
    /// caveat-check(1).
    Man(man::Args),
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The colour choice of this run, set once from the command line.
static COLOR: std::sync::OnceLock<ColorChoice> = std::sync::OnceLock::new();

/// `--allow-outside`, set once from the command line.
static ALLOW_OUTSIDE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

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

/// Parses a command line (the program name first), exiting with clap's usage message on a
/// mistake. Unlike `Cli::parse_from`, it records where `check`'s `--format`s and `--output`s
/// stood, so that each `--output` goes with the `--format` right before it.
pub fn parse_from<I, T>(args: I) -> Cli
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    try_parse_from(args).unwrap_or_else(|e| e.exit())
}

/// [`parse_from`], returning clap's error instead of exiting.
pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    if let (Command::Check(args), Some(("check", check))) = (&mut cli.command, matches.subcommand())
    {
        let at = |id: &str| -> Vec<usize> {
            check
                .indices_of(id)
                .map(Iterator::collect)
                .unwrap_or_default()
        };
        args.positions = check::Positions {
            formats: at("format"),
            outputs: at("output"),
        };
    }
    Ok(cli)
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Exit {
    let _ = COLOR.set(cli.color);
    let _ = ALLOW_OUTSIDE.set(cli.allow_outside);
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Snapshot(args) => snapshot::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Lsp(args) => lsp::run(&args),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "caveat", &mut script);
            write_stdout(&script)
        }
        Command::Man(args) => man::run(&args),
    }
}

/// Whether an error is stdout (or a report's pipe) closed by the reader (`caveat … | head`):
/// then a command stops quietly, with no message.
pub fn is_closed_pipe(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::BrokenPipe
}

/// Writes `bytes` to stdout: exit 0, or, when it cannot be written, a message and exit 2; a
/// closed pipe is no failure of the command and ends it quietly (exit 0).
pub fn write_stdout(bytes: &[u8]) -> Exit {
    match stdout_bytes(bytes) {
        Ok(()) => Exit::Clean,
        Err(e) => {
            print_errors(&[stdout_unwritten(&e)]);
            Exit::Trouble
        }
    }
}

/// The diagnostic of output that could not be written to stdout.
pub(crate) fn stdout_unwritten(error: &std::io::Error) -> Diag {
    Diag::io(
        crate::diagnostic::Code::IoWrite,
        "cannot write to",
        "stdout",
        error,
    )
}

/// Writes `bytes` to stdout and flushes it; a closed pipe is no error (see [`write_stdout`]).
pub fn stdout_bytes(bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if !is_closed_pipe(&e) => Err(e),
        _ => Ok(()),
    }
}

/// The exit code for a panic of Rust's `print!` or `eprint!` failing on a closed pipe, the last
/// resort of output not written through [`write_stdout`]: 0 for stdout (the reader stopped
/// early, `caveat man | head`), 2 for stderr (the command's diagnostics could not all be
/// written: it did not finish, and must not pass for clean); `None` for any other panic.
pub fn closed_pipe_exit(info: &std::panic::PanicHookInfo<'_>) -> Option<i32> {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("");
    if !message.contains("Broken pipe") {
        return None;
    }
    if message.starts_with("failed printing to stdout") {
        Some(0)
    } else if message.starts_with("failed printing to stderr") {
        Some(2)
    } else {
        None
    }
}

/// The style for a stream: by `--color`; with `auto`, colour only on a terminal and never with
/// `NO_COLOR`.
pub(crate) fn style_for(is_terminal: bool) -> Style {
    let color = match COLOR.get().copied().unwrap_or_default() {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100);
    Style { color, width }
}

/// The policy files and folders a command that reads only policies works on (those given, else
/// the config's `policies`, else `policies/`), and the config's `exclude` globs, which leave
/// entries out of the folders walked as they do for `check`.
/// A config that cannot be read is an error (its `exclude` would be lost, and a command such as
/// `fmt` would walk what it leaves out).
pub(crate) fn policy_paths(
    given: &[std::path::PathBuf],
) -> Result<(Vec<std::path::PathBuf>, Vec<String>), Diag> {
    let config = match std::env::current_dir()
        .ok()
        .and_then(|here| crate::config::find(&here))
    {
        Some(path) => Some(crate::config::load(&path)?),
        None => None,
    };
    let exclude = config
        .as_ref()
        .map(|c| c.exclude.clone())
        .unwrap_or_default();
    if !given.is_empty() {
        return Ok((
            given.iter().map(|p| crate::workdir::relative(p)).collect(),
            exclude,
        ));
    }
    let paths = config
        .map(|config| config.policies)
        .filter(|policies| !policies.is_empty())
        .unwrap_or_else(|| vec![std::path::PathBuf::from("policies")]);
    Ok((paths, exclude))
}

/// The inputs of a command that reads only policies: [`policy_paths`], walked as `check` walks
/// them; the diagnostics when they cannot be found.
pub(crate) fn policy_inputs(given: &[std::path::PathBuf]) -> Result<crate::run::Inputs, Vec<Diag>> {
    let (paths, exclude) = policy_paths(given).map_err(|diag| vec![diag])?;
    crate::run::discover(&paths, &exclude, crate::data::Format::Yaml, &project(None))
}

/// The project of this run (see [`crate::project`]): rooted at the folder of `config_path` (the
/// config in use) or, without one, of the nearest config, else the git work tree, else here;
/// confined unless `--allow-outside` lifts it (`caveat.toml` cannot: a pull request's author
/// controls it). It is made the process's current project.
pub fn project(config_path: Option<&std::path::Path>) -> crate::project::Project {
    let here = std::env::current_dir().unwrap_or_else(|_| std::path::PathBuf::from("."));
    let found = match config_path {
        Some(path) => Some(path.to_path_buf()),
        None => crate::config::find(&here),
    };
    let flag = ALLOW_OUTSIDE.get().copied().unwrap_or(false);
    let project = crate::project::Project::locate(&here, found.as_deref(), flag);
    project.clone().make_current();
    project
}

/// The most lines of lint warnings `check` shows before the first finding, and of the run's
/// warnings after the report.
const LINT_SCREENFUL: usize = 40;

/// Lint warnings on stderr: as many as fit in a screenful, then how many more there are and
/// how to see them all, so that a large policy set does not bury its findings.
pub(crate) fn print_lint_warnings(diags: &[Diag]) {
    print_screenful(diags, |more, s| {
        format!("… and {more} more lint warning{s}: `caveat lint` shows them all")
    });
}

/// The run's warnings (waivers, fields no record has, inputs) on stderr, a screenful of them;
/// a JSON report lists them all.
pub(crate) fn print_run_warnings(diags: &[Diag]) {
    print_screenful(diags, |more, s| {
        format!("… and {more} more warning{s}: `--format json` lists them all under `warnings`")
    });
}

/// `diags` on stderr as long as they fit in [`LINT_SCREENFUL`] lines (at least one), then the
/// line `more` makes of how many are left (and the plural's `s`).
fn print_screenful(diags: &[Diag], more: impl Fn(usize, &str) -> String) {
    let style = style_for(std::io::stderr().is_terminal());
    let mut lines = 0;
    for (shown, diag) in diags.iter().enumerate() {
        let text = human::render(diag, style);
        let height = text.lines().count();
        if shown > 0 && lines + height > LINT_SCREENFUL {
            let left = diags.len() - shown;
            eprintln!("{}\n", more(left, if left == 1 { "" } else { "s" }));
            return;
        }
        lines += height;
        eprint!("{text}");
    }
}

/// Prints diagnostics on stderr.
pub(crate) fn print_errors(diags: &[Diag]) {
    let style = style_for(std::io::stderr().is_terminal());
    for diag in diags {
        eprint!("{}", human::render(diag, style));
    }
}

/// `word` as a shell reads it back: in single quotes unless it is plain.
pub(crate) fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}
