//! caveat against regorus (Rego) on the same records and equivalent rules: evaluation alone, the
//! records already in memory in each engine's own form. First every engine's findings are
//! compared; only if they agree is each timed.
//!
//! `cargo run --release -p caveat-peers -- [RECORDS]` (default 20,000 records).

use std::collections::BTreeSet;
use std::time::Instant;

use caveat::data::{Format, LoadOptions, read_records};
use caveat::eval::Evaluator;
use caveat::source::SourceFile;
use caveat::value::{Node, Value};
use caveat_bench::{GeneratedRule, generated_rules, rules_policy, write_records};

type Findings = BTreeSet<(usize, usize)>;

/// A record value as JSON, numbers as JSON numbers (regorus compares them as numbers).
fn to_json(node: &Node) -> serde_json::Value {
    match &node.value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => n
            .to_string()
            .parse::<serde_json::Number>()
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::String(s) => serde_json::Value::String(s.to_string()),
        Value::Date(d) => serde_json::Value::String(d.to_string()),
        Value::List(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Map(map) => serde_json::Value::Object(
            map.entries
                .iter()
                .map(|e| (e.key.to_string(), to_json(&e.value)))
                .collect(),
        ),
    }
}

/// The rules in Rego: a set of the indexes of the rules that fire for `input`.
fn rego_policy(rules: &[GeneratedRule]) -> String {
    let mut text = String::from("package caveat\n\n");
    for (i, rule) in rules.iter().enumerate() {
        let vendor = serde_json::Value::String(rule.vendor.clone());
        text.push_str(&format!(
            "fired contains {i} if {{\n  input.vendor == {vendor}\n  input.amount > {}\n}}\n\n",
            rule.threshold
        ));
    }
    text
}

fn caveat_run(
    program: &caveat::compile::Program,
    records: &[caveat::data::Record],
) -> Result<Findings, String> {
    let mut evaluator = Evaluator::new(program);
    let mut out = Findings::new();
    let mut findings = Vec::new();
    for (r, record) in records.iter().enumerate() {
        findings.clear();
        evaluator.evaluate(record, &mut findings);
        out.extend(findings.iter().map(|f| (r, f.rule)));
    }
    Ok(out)
}

fn rego_run(engine: &mut regorus::Engine, inputs: &[regorus::Value]) -> Result<Findings, String> {
    let mut out = Findings::new();
    for (r, input) in inputs.iter().enumerate() {
        engine.set_input(input.clone());
        let fired = engine
            .eval_rule("data.caveat.fired".to_string())
            .map_err(|e| e.to_string())?;
        let set = fired.as_set().map_err(|e| e.to_string())?;
        for value in set.iter() {
            let i = value.as_u64().map_err(|e| e.to_string())?;
            out.insert((r, usize::try_from(i).map_err(|e| e.to_string())?));
        }
    }
    Ok(out)
}

/// The best of three timings of `f`, in seconds.
fn best_of_three(mut f: impl FnMut() -> Result<Findings, String>) -> Result<f64, String> {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        f()?;
        best = best.min(start.elapsed().as_secs_f64());
    }
    Ok(best)
}

fn run() -> Result<(), String> {
    let count: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let mut text = Vec::new();
    write_records(&mut text, count, 42).map_err(|e| e.to_string())?;
    let source = SourceFile::new(
        "records.yaml",
        String::from_utf8(text).map_err(|e| e.to_string())?,
    );
    let records: Vec<_> = read_records(&source, Format::Yaml, &LoadOptions::default())
        .collect::<Result<_, _>>()
        .map_err(|e| e.message)?;
    let inputs: Vec<regorus::Value> = records
        .iter()
        .map(|r| {
            regorus::Value::from_json_str(&to_json(&r.root).to_string()).map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    println!(
        "{} records; generated rules `warn vendor \"V_i\" when amount > X_i`",
        records.len()
    );
    println!("| rules | caveat records/s | regorus records/s | caveat / regorus | findings |");
    println!("| --- | --- | --- | --- | --- |");
    for n in [1u64, 20, 1000] {
        let rules = generated_rules(n);
        let mut engine = regorus::Engine::new();
        engine
            .add_policy("generated.rego".to_string(), rego_policy(&rules))
            .map_err(|e| e.to_string())?;
        // Slow engines are timed on a slice of the records at 1,000 rules.
        let timed = if n >= 1000 {
            inputs.len().min(2_000)
        } else {
            inputs.len()
        };
        let program = caveat::check::check_sources(&[SourceFile::new(
            "generated.policy",
            rules_policy(&rules),
        )])
        .map_err(|e| format!("{} policy errors", e.len()))?;
        let ours = caveat_run(&program, &records)?;
        let theirs = rego_run(&mut engine, &inputs)?;
        if ours != theirs {
            let only_ours = ours.difference(&theirs).take(5).collect::<Vec<_>>();
            let only_theirs = theirs.difference(&ours).take(5).collect::<Vec<_>>();
            return Err(format!(
                "{n} rules: findings differ (caveat {} vs regorus {}); only caveat: {only_ours:?}; only regorus: {only_theirs:?}",
                ours.len(),
                theirs.len()
            ));
        }
        let caveat_s = best_of_three(|| caveat_run(&program, &records))?;
        let rego_s = best_of_three(|| rego_run(&mut engine, inputs.get(..timed).unwrap_or(&[])))?;
        let caveat_rate = records.len() as f64 / caveat_s;
        let rego_rate = timed as f64 / rego_s;
        println!(
            "| {n} | {caveat_rate:.0} | {rego_rate:.0}{} | {:.1}x | {} |",
            if timed < inputs.len() {
                format!(" (on {timed} records)")
            } else {
                String::new()
            },
            caveat_rate / rego_rate,
            ours.len()
        );
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("caveat-peers: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
