//! caveat-bench: generates the benchmark workload with a fixed seed, and times the baselines.
//!
//! - `caveat-bench gen RECORDS SEED > FILE`: purchase records of the PERFORMANCE.md shape.
//! - `caveat-bench ocds RELEASES SEED > FILE`: synthetic OCDS compiled releases, JSON Lines, for
//!   the red-flag workload.
//! - `caveat-bench purchases-splits RECORDS SEED > FILE`: purchase records with split purchases
//!   and cumulative spend to find, for the U.S. group rules.
//! - `caveat-bench rules N > FILE`: a policy of N generated rules (`vendor == V_i and amount > X_i`).
//! - `caveat-bench read FILE...`: only read the records with caveat's reader (the floor).
//! - `caveat-bench compile FILE`: time parsing, checking and compiling a policy.
//! - `caveat-bench eval POLICY FILE`: time evaluation alone, the records already in memory.

use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use caveat::data::{Format, LoadOptions, read_records};
use caveat_bench::{generated_rules, rules_policy, write_records};

fn read(paths: &[String]) -> ExitCode {
    let start = Instant::now();
    let mut records = 0u64;
    let mut bytes = 0usize;
    for path in paths {
        let source = match caveat::source::read_text(std::path::Path::new(path)) {
            Ok(source) => source,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        bytes += source.text().len();
        let format = Format::from_path(std::path::Path::new(path)).unwrap_or(Format::Yaml);
        for record in read_records(&source, format, &LoadOptions::default()) {
            if record.is_err() {
                eprintln!("{path}: a record could not be read");
                return ExitCode::from(2);
            }
            records += 1;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "read {records} records ({:.1} MB) in {seconds:.3} s: {:.0} records/s",
        bytes as f64 / 1e6,
        records as f64 / seconds
    );
    ExitCode::SUCCESS
}

fn compile(path: &str) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    // The best of five, each from the text: parse, check and compile, index included.
    let mut best = f64::MAX;
    let mut rules = 0;
    for _ in 0..5 {
        let source = caveat::source::SourceFile::new(path, text.clone());
        let start = Instant::now();
        let compiled = caveat::check::check_sources(&[source]);
        // Freeing the program afterwards is not part of compiling it.
        best = best.min(start.elapsed().as_secs_f64());
        match compiled {
            Ok(program) => rules = program.rules.len(),
            Err(errors) => {
                eprintln!("{path}: {} errors", errors.len());
                return ExitCode::from(2);
            }
        }
    }
    println!("compiled {rules} rules in {:.1} ms", best * 1e3);
    ExitCode::SUCCESS
}

/// Evaluation alone: every record of FILE in memory first, then the policy's rules over them.
fn eval(policy: &str, data: &str) -> ExitCode {
    let program = match std::fs::read_to_string(policy)
        .map_err(|e| e.to_string())
        .and_then(|text| {
            caveat::check::check_sources(&[caveat::source::SourceFile::new(policy, text)])
                .map_err(|errors| format!("{} errors", errors.len()))
        }) {
        Ok(program) => program,
        Err(e) => {
            eprintln!("{policy}: {e}");
            return ExitCode::from(2);
        }
    };
    let Ok(source) = caveat::source::read_text(std::path::Path::new(data)) else {
        eprintln!("{data}: cannot read");
        return ExitCode::from(2);
    };
    let records: Vec<_> = read_records(&source, Format::Yaml, &LoadOptions::default())
        .filter_map(Result::ok)
        .collect();
    let mut best = f64::MAX;
    let mut count = 0;
    for _ in 0..3 {
        let mut evaluator = caveat::eval::Evaluator::new(&program);
        let mut findings = Vec::new();
        count = 0;
        let start = Instant::now();
        for record in &records {
            findings.clear();
            evaluator.evaluate(record, &mut findings);
            count += findings.len();
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "evaluated {} rules on {} records ({count} findings) in {:.3} s: {:.0} records/s",
        program.rules.len(),
        records.len(),
        best,
        records.len() as f64 / best
    );
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number =
        |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let mut out = BufWriter::new(std::io::stdout().lock());
    let result = match args.first().map(String::as_str) {
        Some("gen") => write_records(&mut out, number(1, 100_000), number(2, 42)),
        Some("ocds") => {
            caveat_bench::ocds::write_releases(&mut out, number(1, 100_000), number(2, 42))
        }
        Some("purchases-splits") => {
            caveat_bench::splits::write_purchases(&mut out, number(1, 100_000), number(2, 42))
        }
        Some("rules") => out.write_all(rules_policy(&generated_rules(number(1, 20))).as_bytes()),
        Some("read") => return read(args.get(1..).unwrap_or(&[])),
        Some("compile") => return compile(args.get(1).map_or("", String::as_str)),
        Some("eval") => {
            let arg = |i: usize| args.get(i).map_or("", String::as_str);
            return eval(arg(1), arg(2));
        }
        _ => {
            eprintln!(
                "usage: caveat-bench gen RECORDS SEED | ocds RELEASES SEED | purchases-splits RECORDS SEED | rules N | read FILE... | compile FILE | eval POLICY FILE"
            );
            return ExitCode::from(2);
        }
    };
    match result.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("caveat-bench: {e}");
            ExitCode::from(2)
        }
    }
}
