//! `caveat check`: evaluate records against policies and report the findings.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::builder::TypedValueParser;

use super::progress::WithProgress;
use super::{Exit, print_errors, style_for};
use crate::config::Config;
use crate::data::{Limits, LoadOptions};
use crate::diagnostic::{Code, Diag};
use crate::report::{self, FailOn, Format, Report, Reports};
use crate::run::{self, RunOptions};

/// The deepest `--max-depth` allowed: values nested deeper than this would overflow the stack of
/// a thread that compares, copies or renders them (a worker has 16 MiB).
const MAX_DEPTH: i64 = 10_000;

/// Examples shown by `caveat check --help`.
pub(crate) const EXAMPLES: &str = "Examples:
  caveat check                                   policies/ and examples/ of this folder
  caveat check policies/ data/purchases.yaml     these policies against these records
  caveat check --format json policies/ data/     a JSON report on stdout
  caveat check --records entry --id-field content.award.awardID.awardContractID.PIID \\
      policies/ feed.json                        records inside each document's `entry` list";

/// The arguments of `caveat check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to read: shared with `caveat snapshot`.
    #[command(flatten)]
    pub input: InputArgs,
    /// An output format; give several, each with its `--output`, to write several reports in
    /// one run.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Vec<Format>,
    /// Where the report of the `--format` given right before it goes (default: stdout).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Vec<PathBuf>,
    /// Where each `--format` and `--output` stood on the command line (set by
    /// [`super::try_parse_from`]), to give each `--output` to the `--format` right before it.
    #[arg(skip)]
    pub positions: Positions,
    /// The lowest effect that fails the check (error findings always fail) [default: deny].
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Show, under each finding, the clauses that decided it and the values they read (human
    /// and JSON output).
    #[arg(long)]
    pub explain: bool,
    /// Print less: no summary line, no progress bar.
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more on stderr: the files read, the rules compiled, and the time each step took.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// The positions on the command line of `check`'s `--format` and `--output` values, in the order
/// given. Empty when the arguments were not parsed from a command line: then each `--output`
/// belongs to the `--format` of the same rank.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Positions {
    /// Of each `--format`.
    pub formats: Vec<usize>,
    /// Of each `--output`.
    pub outputs: Vec<usize>,
}

/// What a run reads, and how: the arguments `check` and `snapshot` share.
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// Policy files (`.policy`), data files (`.yaml`, `.yml`, `.json`, `.jsonl`, `.csv`), `-` for
    /// standard input, and folders, walked recursively. Default: the config's `policies` and
    /// `data`, or `policies/` and `examples/` of the current folder.
    pub paths: Vec<PathBuf>,
    /// Take the records from the list at this dotted path inside each document (`entry`).
    #[arg(long, value_name = "PATH", value_parser = dotted_path)]
    pub records: Option<String>,
    /// The dotted path of the field that names a record in reports [default: id].
    #[arg(long, value_name = "PATH", value_parser = dotted_path)]
    pub id_field: Option<String>,
    /// Leave out files and folders matching this glob (gitignore syntax) when walking folders.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// The format of standard input, given as the path `-`.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "yaml")]
    pub stdin_format: crate::data::Format,
    /// The PATHs are changed files (as a pre-commit hook passes them): check the changed data
    /// files of the config (or of `policies/` and `examples/`) against its policies, and all of
    /// its data when a policy it reads changed or a policy file is gone; other files are left
    /// out.
    #[arg(long)]
    pub changed: bool,
    /// The config file (default: the nearest `caveat.toml` here or in a folder above).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The date to treat as today (YYYY-MM-DD), for reproducible runs [default: the config's
    /// `today`, else the current date in UTC].
    #[arg(long, value_name = "DATE", value_parser = parse_today)]
    pub today: Option<jiff::civil::Date>,
    /// How many threads read and evaluate records (default: the cores available; at most 256).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(0..=256).map(usize::from))]
    pub jobs: Option<usize>,
    /// The deepest nesting of collections allowed in a data file (at most 10000; YAML is read
    /// at most 255 deep).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_depth, value_parser = clap::value_parser!(u16).range(1..=MAX_DEPTH).map(usize::from))]
    pub max_depth: usize,
    /// The largest data file read, in bytes (suffixes K, M, G: KiB, MiB, GiB) [default: 64G].
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_file_size: Option<u64>,
    /// The longest key or value in a data file, in bytes (suffixes K, M, G) [default: 16M].
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_scalar_size: Option<u64>,
    /// The most documents in one YAML file.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_documents)]
    pub max_documents: usize,
}

/// A size in bytes: a number, optionally followed by K, M or G (powers of 1024, `KiB` and `KB`
/// read the same).
fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(digits_end);
    let shift = match unit
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        _ => {
            return Err(format!(
                "`{text}` is not a size: write bytes, or a number with K, M or G"
            ));
        }
    };
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size: write bytes, or a number with K, M or G"))?;
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// Parses `--today`.
pub(crate) fn parse_today(text: &str) -> Result<jiff::civil::Date, String> {
    crate::value::parse_date_literal(text).map_err(|why| format!("`{text}` is not a date: {why}"))
}

/// A dotted path of field names given on the command line (`entry`, `award.piid`): refused
/// when empty or when a name in it is.
fn dotted_path(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("give a field name, or a dotted path of them such as `award.piid`".into());
    }
    if text.split('.').any(str::is_empty) {
        return Err(format!(
            "`{text}` has an empty field name: write the names with one `.` between them, such as `award.piid`"
        ));
    }
    Ok(text.to_string())
}

fn dotted(path: &str) -> Vec<String> {
    path.split('.').map(str::to_string).collect()
}

/// What a run reads and evaluates, ready: the arguments, over the config file, over the
/// defaults; the inputs found and the policies compiled.
pub(crate) struct Prepared {
    /// How to run.
    pub options: RunOptions,
    /// The policy and data files.
    pub inputs: run::Inputs,
    /// The compiled policies, waivers applied as of `--today`.
    pub program: crate::compile::Program,
    /// Warnings and notes about the policies that do not stop a run: waivers expired or
    /// expiring.
    pub warnings: Vec<Diag>,
}

/// The config file the arguments name, or the nearest one.
fn config(input: &InputArgs) -> Result<Option<Config>, Diag> {
    let path = match &input.config {
        Some(path) => Some(path.clone()),
        None => std::env::current_dir()
            .ok()
            .and_then(|here| crate::config::find(&here)),
    };
    path.map(|p| crate::config::load(&p)).transpose()
}

/// The files and folders a config's `policies` and `data` name, with `data` globs expanded
/// (without following links, inside the project root).
pub(crate) fn config_paths(
    config: &Config,
    project: &crate::project::Project,
) -> Result<Vec<PathBuf>, Diag> {
    let mut paths = config.policies.clone();
    for entry in &config.data {
        if !entry.contains(['*', '?', '[']) {
            paths.push(PathBuf::from(entry));
            continue;
        }
        let bad_glob = |why: String| {
            Diag::error(
                Code::ConfigBadGlob,
                format!(
                    "`data` glob `{entry}` in `{}`: {why}",
                    config.path.display()
                ),
            )
        };
        let matched = crate::walk::expand_glob(entry, project).map_err(bad_glob)?;
        if matched.is_empty() {
            return Err(bad_glob("it matches no file".into())
                .help("check the pattern; it is relative to the folder of the config file"));
        }
        paths.extend(matched);
    }
    Ok(paths)
}

/// The files to read: the arguments', else the config's, else `policies/` and `examples/`.
fn paths(
    input: &InputArgs,
    config: &Config,
    project: &crate::project::Project,
) -> Result<Vec<PathBuf>, Diag> {
    if !input.paths.is_empty() && !input.changed {
        return Ok(input
            .paths
            .iter()
            .map(|p| crate::workdir::relative(p))
            .collect());
    }
    if !config.policies.is_empty() || !config.data.is_empty() {
        return config_paths(config, project);
    }
    let defaults: Vec<PathBuf> = ["policies", "examples"]
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .collect();
    if defaults.is_empty() {
        return Err(Diag::error(
            Code::IoNoPaths,
            "nothing to check: no paths given, no `caveat.toml`, and no `policies/` or `examples/` folder here",
        )
        .help("give policy and data files or folders (`caveat check policies/ data/`), or run `caveat init`"));
    }
    Ok(defaults)
}

/// Finds the inputs and compiles the policies; the diagnostics if that fails.
pub(crate) fn prepare(input: &InputArgs) -> Result<Prepared, Vec<Diag>> {
    let (_, options, inputs) = prepare_inputs(input)?;
    let Compiled {
        program, warnings, ..
    } = compile(input, &inputs)?;
    Ok(Prepared {
        options,
        inputs,
        program,
        warnings,
    })
}

/// The policies of a run, compiled, with what is said of them.
struct Compiled {
    program: crate::compile::Program,
    /// Warnings about the policies (waivers as of today, empty files, no rules).
    warnings: Vec<Diag>,
    /// The lint warnings, printed on stderr (and shown by the HTML report).
    lints: Vec<Diag>,
}

/// Compiles the policies of `inputs` as of the run's today; the diagnostics if that fails.
fn compile(input: &InputArgs, inputs: &run::Inputs) -> Result<Compiled, Vec<Diag>> {
    let (mut program, lints) = run::compile_linted(inputs)?.into_program()?;
    // Lint warnings go to stderr, where they cannot spoil a report on stdout; a screenful.
    super::print_lint_warnings(&lints);
    let mut warnings = program.apply_today(today(input));
    warnings.extend(crate::vacuous::empty_policy_files(&inputs.policies));
    warnings.extend(crate::vacuous::no_rules(&program, &inputs.policies));
    Ok(Compiled {
        program,
        warnings,
        lints,
    })
}

/// The globs that leave entries out of the folders walked: `--exclude`, else the config's.
pub(crate) fn exclude(input: &InputArgs, config: &Config) -> Vec<String> {
    if input.exclude.is_empty() {
        config.exclude.clone()
    } else {
        input.exclude.clone()
    }
}

/// The config, the run options and the files to read, from the arguments over the config file
/// over the defaults.
pub(crate) fn prepare_inputs(
    input: &InputArgs,
) -> Result<(Config, RunOptions, run::Inputs), Vec<Diag>> {
    let config = config(input).map_err(|d| vec![d])?.unwrap_or_default();
    let in_use = (!config.path.as_os_str().is_empty()).then_some(config.path.as_path());
    let project = super::project(in_use);
    let paths = paths(input, &config, &project).map_err(|d| vec![d])?;
    let id_field = input
        .id_field
        .clone()
        .or_else(|| config.id_field.clone())
        .unwrap_or_else(|| "id".to_string());
    let exclude = exclude(input, &config);
    let defaults = Limits::default();
    let options = RunOptions {
        paths: paths.clone(),
        load: LoadOptions {
            records_path: input.records.as_deref().map(dotted),
            limits: Limits {
                max_depth: input.max_depth,
                max_documents: input.max_documents,
                max_file_bytes: input.max_file_size.unwrap_or(defaults.max_file_bytes),
                max_scalar_bytes: input
                    .max_scalar_size
                    .map_or(defaults.max_scalar_bytes, |n| {
                        usize::try_from(n).unwrap_or(usize::MAX)
                    }),
                ..defaults
            },
            // The pipeline sets what its program reads.
            projection: None,
            yaml_general_only: false,
        },
        id_field: dotted(&id_field),
        jobs: input.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        }),
        chunk_bytes: 0,
        explain: false,
        paired: None,
        ends_process: true,
    };
    let mut inputs = run::discover(&paths, &exclude, input.stdin_format, &project)?;
    if input.changed {
        super::changed::keep_changed(&mut inputs, &input.paths, &config);
    }
    Ok((config, options, inputs))
}

/// The date `--today` gives, else the config's `today`, else the current date.
pub fn today(input: &InputArgs) -> jiff::civil::Date {
    today_of(input).date
}

/// [`today`], with where it came from.
pub fn today_of(input: &InputArgs) -> super::today::Today {
    let configured = || super::today::configured(input.config.as_deref());
    super::today::Today::resolve(input.today, input.today.map_or_else(configured, |_| None))
}

/// The current date, UTC: the day waivers are applied as of without `--today`.
pub fn current_date() -> jiff::civil::Date {
    let days = jiff::Timestamp::now().as_second().div_euclid(86_400);
    let epoch = jiff::civil::date(1970, 1, 1);
    epoch
        .checked_add(jiff::Span::new().days(days))
        .unwrap_or(epoch)
}

/// [`prepare`], with its diagnostics printed if it fails.
pub(crate) fn prepare_or_report(input: &InputArgs) -> Option<Prepared> {
    prepare(input).map_err(|errors| print_errors(&errors)).ok()
}

/// The reports `check` writes: the config's `[output]` files and the arguments' reports (flags
/// add to the config; an argument's report to the same file as a config one replaces it), and
/// on stdout the arguments' stdout report, else the config's `format`, else `human` when no
/// report goes to a file.
fn reports_wanted(args: &Args, config: &Config) -> Result<Vec<(Format, Option<PathBuf>)>, Diag> {
    let given = if args.format.is_empty() && args.output.is_empty() {
        Vec::new()
    } else {
        pair_reports(&args.format, &args.output, &args.positions)?
    };
    let given_files: Vec<PathBuf> = given
        .iter()
        .filter_map(|(_, file)| file.as_deref().map(crate::workdir::absolute))
        .collect();
    let mut reports: Vec<(Format, Option<PathBuf>)> = config
        .output
        .iter()
        .filter(|(_, file)| !given_files.contains(&crate::workdir::absolute(file)))
        .map(|(format, file)| (*format, Some(file.clone())))
        .collect();
    reports.extend(given.iter().filter(|(_, file)| file.is_some()).cloned());
    let stdout = given
        .iter()
        .find(|(_, file)| file.is_none())
        .map(|(format, _)| *format)
        .or(config.format)
        .or(reports.is_empty().then_some(Format::Human));
    if let Some(format) = stdout {
        reports.insert(0, (format, None));
    }
    Ok(reports)
}

/// Each `--format` with the `--output` right after it, or stdout. An `--output` with no
/// `--format` before it, two `--output`s for one `--format`, and more than one report on stdout
/// are errors.
fn pair_reports(
    formats: &[Format],
    outputs: &[PathBuf],
    positions: &Positions,
) -> Result<Vec<(Format, Option<PathBuf>)>, Diag> {
    // Without positions from a command line, each output follows the format of its rank.
    let (format_at, output_at): (Vec<usize>, Vec<usize>) =
        if positions.formats.len() == formats.len() && positions.outputs.len() == outputs.len() {
            (positions.formats.clone(), positions.outputs.clone())
        } else {
            (
                (0..formats.len()).map(|i| 2 * i).collect(),
                (0..outputs.len()).map(|i| 2 * i + 1).collect(),
            )
        };
    let mut paired: Vec<(Format, Option<PathBuf>)> =
        formats.iter().map(|format| (*format, None)).collect();
    for (output, at) in outputs.iter().zip(&output_at) {
        let owner = format_at.iter().rposition(|f| f < at);
        let Some(slot) = owner.and_then(|i| paired.get_mut(i)) else {
            return Err(Diag::error(
                Code::CliOutputWithoutFormat,
                format!("`--output {}` has no `--format` before it", output.display()),
            )
            .help("an `--output FILE` belongs to the `--format` right before it: write `--format sarif --output caveat.sarif`"));
        };
        if let Some(earlier) = &slot.1 {
            return Err(Diag::error(
                Code::CliOutputWithoutFormat,
                format!(
                    "`--output {}` and `--output {}` both follow one `--format`",
                    earlier.display(),
                    output.display()
                ),
            )
            .help("give each `--output FILE` its own `--format FORMAT` right before it"));
        }
        // `-o -` is stdout, as `-` is standard input among the paths.
        slot.1 = Some(output.clone()).filter(|o| o.as_os_str() != "-");
    }
    let files: Vec<&PathBuf> = paired
        .iter()
        .filter_map(|(_, file)| file.as_ref())
        .collect();
    for (i, file) in files.iter().enumerate() {
        let same = |other: &&&PathBuf| {
            crate::workdir::lexical(file) == crate::workdir::lexical(other)
                || crate::project::identity(file)
                    .is_some_and(|id| crate::project::identity(other) == Some(id))
        };
        if let Some(other) = files.iter().take(i).find(same) {
            return Err(Diag::error(
                Code::CliSameOutput,
                format!(
                    "`--output {}` and `--output {}` are one file",
                    other.display(),
                    file.display()
                ),
            )
            .help("give each `--format` a file of its own"));
        }
    }
    if paired.iter().filter(|(_, file)| file.is_none()).count() > 1 {
        return Err(
            Diag::error(Code::CliSeveralToStdout, "only one report can go to stdout")
                .help("give every `--format` but one an `--output FILE` right after it"),
        );
    }
    Ok(paired)
}

/// Runs `caveat check`.
pub fn run(args: &Args) -> Exit {
    let started = std::time::Instant::now();
    let (config, options, inputs) = match prepare_inputs(&args.input) {
        Ok(found) => found,
        Err(errors) => {
            print_errors(&errors);
            return Exit::Trouble;
        }
    };
    let Compiled {
        program,
        warnings,
        lints,
    } = match compile(&args.input, &inputs) {
        Ok(compiled) => compiled,
        Err(errors) => {
            print_errors(&errors);
            report_policy_errors(args, &errors, (&config, &inputs));
            return Exit::Trouble;
        }
    };
    let options = RunOptions {
        explain: args.explain,
        ..options
    };
    if args.input.changed && inputs.data.is_empty() {
        if !args.quiet {
            eprintln!(
                "caveat: no changed file is a policy or data file of the configuration: nothing to check"
            );
        }
        return Exit::Clean;
    }
    let wanted = match reports_wanted(args, &config) {
        Ok(wanted) => wanted,
        Err(diag) => {
            print_errors(&[diag]);
            return Exit::Trouble;
        }
    };
    if let Err(diag) = guard_outputs(args, &wanted, &config, &inputs, &program) {
        print_errors(&[diag]);
        return Exit::Trouble;
    }
    let fail_on = args.fail_on.or(config.fail_on).unwrap_or(FailOn::Deny);
    if args.verbose {
        eprintln!(
            "caveat: {} rules from {} policy files, compiled in {:.1?}",
            program.rules.len(),
            inputs.policies.len(),
            started.elapsed()
        );
        for (path, format) in &inputs.data {
            let format = format!("{format:?}").to_lowercase();
            eprintln!(
                "caveat: data {} ({format})",
                crate::report::text::visible(&path.display().to_string())
            );
        }
    }
    let info = report::html::RunInfo {
        today: Some(today(&args.input)),
        policies: inputs
            .policies
            .iter()
            .map(|p| p.path.display().to_string())
            .collect(),
        data: inputs
            .data
            .iter()
            .map(|(path, _)| path.display().to_string())
            .collect(),
        lints,
    };
    let reports = match open_reports(&wanted, &program, args.quiet, &info) {
        Ok(reports) => reports,
        Err(diag) => {
            print_errors(&[diag]);
            return Exit::Trouble;
        }
    };
    let stdout_used = wanted.iter().any(|(_, file)| file.is_none());
    let mut reports = if WithProgress::wanted(args.quiet, stdout_used) {
        let total = inputs
            .data
            .iter()
            .map(|(path, _)| std::fs::metadata(path).map(|m| m.len()).ok())
            .sum::<Option<u64>>();
        Box::new(WithProgress::new(reports, total)) as Box<dyn Report>
    } else {
        Box::new(reports)
    };
    let evaluating = std::time::Instant::now();
    let (result, written) = match run::evaluate(&program, &inputs, &options, &mut *reports) {
        Ok(mut result) => {
            result.policy_warnings.splice(0..0, warnings);
            // What the walks left out is said: counted, and a folder that gave nothing warned of.
            result.summary.skipped = inputs.skipped;
            result
                .policy_warnings
                .splice(0..0, inputs.warnings.iter().cloned());
            let done = reports.finish(&result);
            (Some(result), done)
        }
        Err(e) => (None, Err(e)),
    };
    if args.verbose
        && let Some(result) = &result
    {
        eprintln!(
            "caveat: {} records read, evaluated and reported in {:.1?}",
            result.summary.records,
            evaluating.elapsed()
        );
    }
    if let Some(result) = &result {
        super::print_run_warnings(&result.policy_warnings);
        print_errors(&result.data_errors);
    }
    let result = match (result, written) {
        (Some(result), Ok(())) => result,
        (_, Err(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => return Exit::Trouble,
        (_, Err(e)) => {
            print_errors(&[report_unwritten(&e)]);
            return Exit::Trouble;
        }
        (None, Ok(())) => return Exit::Trouble,
    };
    if !result.data_errors.is_empty() {
        return Exit::Trouble;
    }
    let summary = &result.summary;
    let warned = result
        .policy_warnings
        .iter()
        .any(|d| d.severity == crate::diagnostic::Severity::Warning);
    let fails = summary.error > 0
        || (summary.deny > 0 && fail_on != FailOn::Never)
        || ((summary.warn > 0 || warned) && fail_on == FailOn::Warn);
    if fails { Exit::Findings } else { Exit::Clean }
}

/// A run stopped by its policies (or its inputs) still writes the reports it would write to
/// files, each holding the errors as its run's errors (SARIF: notifications of an unsuccessful
/// run): a CI step that uploads a report after a failed check finds this run's, not an earlier
/// run's or none. A report that cannot be placed safely (a policy file, a file the run reads) is
/// left alone.
fn report_policy_errors(args: &Args, errors: &[Diag], (config, inputs): (&Config, &run::Inputs)) {
    let Ok(wanted) = reports_wanted(args, config) else {
        return;
    };
    // The policy files the errors name (imports among them) are inputs too.
    let named: Vec<PathBuf> = errors
        .iter()
        .flat_map(|d| &d.labels)
        .map(|l| PathBuf::from(l.location.source.name()))
        .collect();
    // Every policy file the run reads, imports included (read again: compiling stopped).
    let (loaded, _) = crate::check::load::load(&inputs.policies);
    let mut program = crate::compile::Program::default();
    program.policy_files = loaded.into_iter().map(|f| f.canonical).collect();
    // Each report is written unless it would overwrite what the run reads.
    let files: Vec<(Format, Option<PathBuf>)> = wanted
        .into_iter()
        .filter(|(_, file)| {
            file.as_deref().is_some_and(|f| {
                f.extension()
                    .is_none_or(|e| !e.eq_ignore_ascii_case("policy"))
                    && !named.iter().any(|n| {
                        crate::project::identity(n)
                            .is_some_and(|n| crate::project::identity(f) == Some(n))
                    })
            })
        })
        .filter(|report| {
            guard_outputs(args, std::slice::from_ref(report), config, inputs, &program).is_ok()
        })
        .collect();
    if files.is_empty() {
        return;
    }
    let info = report::html::RunInfo {
        today: Some(today(&args.input)),
        policies: Vec::new(),
        data: Vec::new(),
        lints: Vec::new(),
    };
    let Ok(mut reports) = open_reports(&files, &program, true, &info) else {
        return;
    };
    let result = report::RunResult {
        data_errors: errors.to_vec(),
        ..report::RunResult::default()
    };
    let written = errors
        .iter()
        .try_for_each(|diag| report::Sink::data_error(&mut reports, diag))
        .and_then(|()| reports.finish(&result));
    if let Err(e) = written {
        print_errors(&[report_unwritten(&e)]);
    }
}

/// The diagnostic of a report that could not be written (to its file or to stdout).
fn report_unwritten(error: &impl std::fmt::Display) -> Diag {
    Diag::error(Code::IoWrite, format!("cannot write the report: {error}"))
}

/// The write buffer of a report that goes to a file or a pipe.
const REPORT_BUFFER_BYTES: usize = 256 << 10;

/// Opens the reports: each to its file, or to stdout.
fn open_reports(
    wanted: &[(Format, Option<PathBuf>)],
    program: &crate::compile::Program,
    quiet: bool,
    info: &report::html::RunInfo,
) -> Result<Reports, Diag> {
    let mut reports = Vec::new();
    for (format, file) in wanted {
        // Reports to a file or a pipe are written in large blocks (a check with many findings
        // writes megabytes); a terminal gets its lines as they come.
        let (out, terminal): (report::Output, bool) = match file {
            Some(path) => (
                Box::new(std::io::BufWriter::with_capacity(
                    REPORT_BUFFER_BYTES,
                    crate::project::create_output(path)?,
                )),
                false,
            ),
            None if std::io::stdout().is_terminal() => (
                Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
                true,
            ),
            None => (
                Box::new(std::io::BufWriter::with_capacity(
                    REPORT_BUFFER_BYTES,
                    std::io::stdout().lock(),
                )),
                false,
            ),
        };
        let opened = match format {
            Format::Html => report::html::HtmlWriter::new(out, program, info.clone())
                .map(|writer| Box::new(writer) as Box<dyn Report>),
            _ => report::open(*format, out, program, style_for(terminal), quiet),
        }
        .map_err(|e| report_unwritten(&e))?;
        reports.push(opened);
    }
    Ok(Reports(reports))
}

/// Refuses, before anything is opened for writing, a report file that is one of the run's
/// inputs (the same file, whatever links lead to it), one that is a link or not a regular file,
/// and one that `caveat.toml` places outside the project root (an `--output` on the command line
/// may go anywhere).
fn guard_outputs(
    args: &Args,
    wanted: &[(Format, Option<PathBuf>)],
    config: &Config,
    inputs: &run::Inputs,
    program: &crate::compile::Program,
) -> Result<(), Diag> {
    let given: Vec<PathBuf> = args
        .output
        .iter()
        .map(|p| crate::workdir::absolute(p))
        .collect();
    let project = crate::project::Project::current();
    let mut read: Vec<PathBuf> = inputs.policies.iter().map(|p| p.path.clone()).collect();
    read.extend(inputs.data.iter().map(|(path, _)| path.clone()));
    read.extend(program.policy_files.iter().cloned());
    read.push(config.path.clone());
    let identities: Vec<_> = read
        .iter()
        .filter_map(|path| crate::project::identity(path))
        .collect();
    for path in wanted.iter().filter_map(|(_, file)| file.as_ref()) {
        if crate::project::identity(path).is_some_and(|id| identities.contains(&id)) {
            return Err(Diag::error(
                Code::CliOutputIsInput,
                format!(
                    "the report file `{}` is one of the files this run reads",
                    path.display()
                ),
            )
            .help("write the report to another file; caveat never overwrites its inputs"));
        }
        crate::project::check_writable(path)?;
        if !given.contains(&crate::workdir::absolute(path)) {
            project.check_output(path)?;
        }
    }
    Ok(())
}
