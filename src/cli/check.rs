//! `caveat check`: evaluate records against policies and report the findings.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::ValueEnum;

use super::{Exit, print_errors, style_for};
use crate::data::{Limits, LoadOptions};
use crate::diagnostic::Diag;
use crate::report::{self, Format, Report, Reports};
use crate::run::{self, RunOptions};

/// Examples shown by `caveat check --help`.
pub const EXAMPLES: &str = "Examples:
  caveat check                                   policies/ and examples/ of this folder
  caveat check policies/ data/purchases.yaml     these policies against these records
  caveat check --format json policies/ data/     a JSON report on stdout
  caveat check --records entry --id-field content.award.awardID.awardContractID.PIID \\
      policies/ feed.json                        records inside each document's `entry` list";

/// The arguments of `caveat check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files (`.policy`), data files (`.yaml`, `.yml`, `.json`, `.jsonl`) and folders,
    /// walked recursively. Default: `policies/` and `examples/` of the current folder.
    pub paths: Vec<PathBuf>,
    /// An output format; give several, each with its `--output`, to write several reports in
    /// one run.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Vec<Format>,
    /// Where the report of the `--format` given in the same position goes (default: stdout).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Vec<PathBuf>,
    /// The lowest effect that fails the check (error findings always fail).
    #[arg(long, value_enum, default_value_t = FailOn::Deny)]
    pub fail_on: FailOn,
    /// Take the records from the list at this dotted path inside each document (`entry`).
    #[arg(long, value_name = "PATH")]
    pub records: Option<String>,
    /// The dotted path of the field that names a record in reports.
    #[arg(long, value_name = "PATH", default_value = "id")]
    pub id_field: String,
    /// The date to treat as today (YYYY-MM-DD), for reproducible runs.
    #[arg(long, value_name = "DATE", value_parser = parse_today)]
    pub today: Option<jiff::civil::Date>,
    /// How many threads read and evaluate records (default: the cores available).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// The deepest nesting of collections allowed in a data file.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_depth)]
    pub max_depth: usize,
}

/// The failing level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// `deny` findings fail.
    Deny,
    /// `deny` and `warn` findings fail.
    Warn,
    /// Only error findings fail.
    Never,
}

fn parse_today(text: &str) -> Result<jiff::civil::Date, String> {
    crate::value::parse_date_literal(text).map_err(|why| format!("`{text}` is not a date: {why}"))
}

fn dotted(path: &str) -> Vec<String> {
    path.split('.').map(str::to_string).collect()
}

/// Runs `caveat check`.
pub fn run(args: &Args) -> Exit {
    let paths = if args.paths.is_empty() {
        let defaults: Vec<PathBuf> = ["policies", "examples"]
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.is_dir())
            .collect();
        if defaults.is_empty() {
            print_errors(&[Diag::error(
                "caveat::io::no_paths",
                "nothing to check: no paths given, and no `policies/` or `examples/` folder here",
            )
            .help("give policy and data files or folders: `caveat check policies/ data/`")]);
            return Exit::Trouble;
        }
        defaults
    } else {
        args.paths.clone()
    };
    let options = RunOptions {
        paths: paths.clone(),
        load: LoadOptions {
            records_path: args.records.as_deref().map(dotted),
            limits: Limits {
                max_depth: args.max_depth,
                ..Limits::default()
            },
        },
        id_field: dotted(&args.id_field),
        jobs: args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        }),
        chunk_bytes: 0,
    };
    let inputs = match run::discover(&paths) {
        Ok(inputs) => inputs,
        Err(errors) => {
            print_errors(&errors);
            return Exit::Trouble;
        }
    };
    let program = match run::compile(&inputs) {
        Ok(program) => program,
        Err(errors) => {
            print_errors(&errors);
            return Exit::Trouble;
        }
    };
    let mut reports = match open_reports(args, &program) {
        Ok(reports) => reports,
        Err(diag) => {
            print_errors(&[diag]);
            return Exit::Trouble;
        }
    };
    let (result, written) = match run::evaluate(&program, &inputs, &options, &mut reports) {
        Ok(result) => {
            let done = reports.finish(&result);
            (Some(result), done)
        }
        Err(e) => (None, Err(e)),
    };
    if let Some(result) = &result {
        print_errors(&result.data_errors);
    }
    let result = match (result, written) {
        (Some(result), Ok(())) => result,
        (_, Err(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => return Exit::Trouble,
        (_, Err(e)) => {
            eprintln!("caveat: cannot write the report: {e}");
            return Exit::Trouble;
        }
        (None, Ok(())) => return Exit::Trouble,
    };
    if !result.data_errors.is_empty() {
        return Exit::Trouble;
    }
    let summary = &result.summary;
    let fails = summary.error > 0
        || (summary.deny > 0 && args.fail_on != FailOn::Never)
        || (summary.warn > 0 && args.fail_on == FailOn::Warn);
    if fails { Exit::Findings } else { Exit::Clean }
}

/// The reports the arguments ask for: each `--format` with the `--output` in the same position,
/// or stdout. At most one report may go to stdout.
fn open_reports(args: &Args, program: &crate::compile::Program) -> Result<Reports, Diag> {
    let formats = if args.format.is_empty() {
        vec![Format::Human]
    } else {
        args.format.clone()
    };
    if args.output.len() > formats.len() {
        return Err(Diag::error(
            "caveat::cli::output_without_format",
            format!(
                "{} `--output` files but {} `--format`s",
                args.output.len(),
                formats.len()
            ),
        )
        .help("give each `--output FILE` after its `--format FORMAT`"));
    }
    if formats.len() > args.output.len() + 1 {
        return Err(Diag::error(
            "caveat::cli::several_to_stdout",
            "only one report can go to stdout",
        )
        .help("give every `--format` but one an `--output FILE`"));
    }
    let mut reports = Vec::new();
    for (i, format) in formats.iter().enumerate() {
        let (out, terminal): (report::Output, bool) = match args.output.get(i) {
            Some(path) => match std::fs::File::create(path) {
                Ok(file) => (Box::new(std::io::BufWriter::new(file)), false),
                Err(e) => {
                    return Err(Diag::error(
                        "caveat::io::write",
                        format!(
                            "cannot write `{}`: {}",
                            path.display(),
                            e.to_string().to_lowercase()
                        ),
                    ));
                }
            },
            None => (
                Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
                std::io::stdout().is_terminal(),
            ),
        };
        let opened = report::open(*format, out, program, style_for(terminal)).map_err(|e| {
            Diag::error("caveat::io::write", format!("cannot write the report: {e}"))
        })?;
        reports.push(opened);
    }
    Ok(Reports(reports))
}
