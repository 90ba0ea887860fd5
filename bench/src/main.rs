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
//! - `caveat-bench saphyr FILE`: time saphyr-parser's bare event loop over FILE (the P1/P3 floor).
//! - `caveat-bench serde-json FILE`: time `serde_json::Value` for each line of a JSON Lines FILE
//!   (the P8 floor).
//! - `caveat-bench jsonl FILE > OUT`: the records of a YAML FILE as JSON Lines.

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
    let text = match text_of(path) {
        Ok(text) => text,
        Err(code) => return code,
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

/// The text of `path`, or the exit code after saying why not.
fn text_of(path: &str) -> Result<String, ExitCode> {
    std::fs::read_to_string(path).map_err(|e| {
        eprintln!("{path}: {e}");
        ExitCode::from(2)
    })
}

/// Prints a floor's timing: what it read, in how long, and at what rate.
fn report(what: &str, items: u64, bytes: usize, seconds: f64) {
    println!(
        "{what}: {items} in {seconds:.3} s ({:.0} MB/s)",
        bytes as f64 / 1e6 / seconds
    );
}

/// saphyr-parser's event loop over the file, nothing kept: the floor of P1 and P3.
fn saphyr_events(path: &str) -> ExitCode {
    let text = match text_of(path) {
        Ok(text) => text,
        Err(code) => return code,
    };
    let start = Instant::now();
    let mut events = 0u64;
    let mut parser = saphyr_parser::Parser::new_from_str(&text);
    while let Some(event) = parser.next_event() {
        if let Err(e) = event {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
        events += 1;
    }
    report(
        "saphyr-parser events",
        events,
        text.len(),
        start.elapsed().as_secs_f64(),
    );
    ExitCode::SUCCESS
}

/// `serde_json::Value` for each line: the floor of P8.
fn serde_json_lines(path: &str) -> ExitCode {
    let text = match text_of(path) {
        Ok(text) => text,
        Err(code) => return code,
    };
    let start = Instant::now();
    let mut values = 0u64;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(value) => {
                std::hint::black_box(&value);
                values += 1;
            }
            Err(e) => {
                eprintln!("{path}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    report(
        "serde_json values",
        values,
        text.len(),
        start.elapsed().as_secs_f64(),
    );
    ExitCode::SUCCESS
}

/// The records of a YAML file as JSON Lines (numbers as written, exact).
fn to_json_lines(path: &str, out: &mut impl Write) -> std::io::Result<()> {
    let source = caveat::source::read_text(std::path::Path::new(path))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    for record in read_records(&source, Format::Yaml, &LoadOptions::default()) {
        let record = record.map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut line = String::new();
        json_of(&record.root.value, &mut line);
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

fn json_of(value: &caveat::value::Value, out: &mut String) {
    use caveat::value::Value;
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(&serde_json::Value::from(&**s).to_string()),
        Value::Date(d) => out.push_str(&format!("\"{d}\"")),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_of(&item.value, out);
            }
            out.push(']');
        }
        Value::Map(map) => {
            out.push('{');
            for (i, entry) in map.entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::from(&*entry.key).to_string());
                out.push(':');
                json_of(&entry.value.value, out);
            }
            out.push('}');
        }
    }
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
        Some("saphyr") => return saphyr_events(args.get(1).map_or("", String::as_str)),
        Some("serde-json") => return serde_json_lines(args.get(1).map_or("", String::as_str)),
        Some("jsonl") => to_json_lines(args.get(1).map_or("", String::as_str), &mut out),
        _ => {
            eprintln!(
                "usage: caveat-bench gen RECORDS SEED | ocds RELEASES SEED | purchases-splits RECORDS SEED | rules N | read FILE... | compile FILE | eval POLICY FILE | saphyr FILE | serde-json FILE | jsonl FILE"
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
