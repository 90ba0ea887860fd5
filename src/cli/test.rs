//! `caveat test`: run the `test` blocks of the policies, report each failure as a diagnostic, and
//! with `--coverage` show which rules and clauses the tests exercise.

use std::io::IsTerminal;
use std::path::PathBuf;

use super::{Exit, print_errors, style_for};
use crate::report::human::render;
use crate::testing::{Coverage, run_tests};

/// The arguments of `caveat test`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files and folders. Default: the config's `policies`, or `policies/`.
    pub paths: Vec<PathBuf>,
    /// The date to treat as today (YYYY-MM-DD), for waivers [default: the config's `today`,
    /// else the current date in UTC].
    #[arg(long, value_name = "DATE", value_parser = super::check::parse_today)]
    pub today: Option<jiff::civil::Date>,
    /// Report, per rule, whether the tests saw it fire and not fire, and which clauses never
    /// decided an outcome.
    #[arg(long)]
    pub coverage: bool,
    /// Fail when coverage is below this percentage, 0 to 100 (implies `--coverage`).
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    pub min_coverage: Option<f64>,
    /// Print only failures and the summary line.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// A percentage from 0 to 100.
fn parse_percent(text: &str) -> Result<f64, String> {
    match text.trim_end_matches('%').parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!("`{text}` is not a percentage from 0 to 100")),
    }
}

/// Runs `caveat test`.
pub fn run(args: &Args) -> Exit {
    let inputs = match super::policy_inputs(&args.paths) {
        Ok(inputs) => inputs,
        Err(errors) => {
            print_errors(&errors);
            return Exit::Trouble;
        }
    };
    let mut program = match crate::run::compile(&inputs) {
        Ok(program) => program,
        Err(errors) => {
            print_errors(&errors);
            return Exit::Trouble;
        }
    };
    let today = super::today::Today::resolve(args.today, super::today::configured(None));
    // Expiry notes matter to `check`; a test run only needs the waivers in force.
    let _ = program.apply_today(today.date);
    let (outcomes, coverage) = run_tests(&program);
    let style = style_for(std::io::stdout().is_terminal());
    let mut failed = 0;
    let mut text = format!("testing {}\n", today.describe());
    for outcome in &outcomes {
        let Some(test) = program.tests.get(outcome.test) else {
            continue;
        };
        let file = test.source.name();
        let (line, _) = test.source.line_col(test.span.start);
        match &outcome.failure {
            None if !args.quiet => {
                text.push_str(&format!(
                    "ok    {} ({file}:{line})\n",
                    crate::report::text::one_line(&test.name)
                ));
            }
            None => {}
            Some(diag) => {
                failed += 1;
                text.push_str(&format!(
                    "FAIL  {} ({file}:{line})\n",
                    crate::report::text::one_line(&test.name)
                ));
                text.push_str(&render(diag, style));
                text.push('\n');
            }
        }
    }
    let total = outcomes.len();
    text.push_str(&format!(
        "{total} test{}: {} passed, {failed} failed\n",
        if total == 1 { "" } else { "s" },
        total - failed
    ));
    let show_coverage = args.coverage || args.min_coverage.is_some();
    if show_coverage {
        text.push_str(&coverage_report(&program, &coverage));
    }
    if super::write_stdout(text.as_bytes()) != Exit::Clean {
        return Exit::Trouble;
    }
    if total == 0 {
        eprintln!("caveat: no `test` blocks in the policies");
    }
    let below = args
        .min_coverage
        .is_some_and(|minimum| coverage.percent() < minimum);
    if below {
        eprintln!(
            "caveat: coverage {}% is below the minimum of {}%",
            shown_percent(coverage.percent()),
            args.min_coverage.unwrap_or_default()
        );
    }
    if failed > 0 || below {
        Exit::Findings
    } else {
        Exit::Clean
    }
}

/// A coverage percentage to one decimal, cut rather than rounded: 99.95% is 99.9%, never 100.0%
/// (which a minimum of 100 would then contradict).
fn shown_percent(percent: f64) -> String {
    format!("{:.1}", (percent * 10.0).floor() / 10.0)
}

/// Coverage per rule: fired and not fired seen, clauses that decided an outcome, and the total.
pub(crate) fn coverage_report(program: &crate::compile::Program, coverage: &Coverage) -> String {
    let mark = |seen: bool| if seen { "✓" } else { "✗" };
    let mut text = format!("\ncoverage: {}%\n", shown_percent(coverage.percent()));
    for (rule, seen) in program.rules.iter().zip(&coverage.rules) {
        let (covered, total) = seen.counts();
        let decisive = seen.decisive.iter().filter(|d| **d).count();
        text.push_str(&format!(
            "  {:<24} fired {}  not fired {}  clauses decisive {decisive}/{}  ({covered}/{total})\n",
            rule.id,
            mark(seen.fired),
            mark(seen.not_fired),
            seen.decisive.len(),
        ));
        for ((role, clause), was_decisive) in rule.all_clauses().zip(&seen.decisive) {
            if !was_decisive {
                let clause = role.written(&clause.text);
                text.push_str(&format!("      never decisive: {clause}\n"));
            }
        }
    }
    text
}
