//! In-process figures for each stage: compiling rules, reading records, evaluating them.
//! Run with `cargo bench -p caveat-bench`.

use std::hint::black_box;

use caveat::check::check_sources;
use caveat::data::{Format, LoadOptions, read_records};
use caveat::eval::Evaluator;
use caveat::source::SourceFile;
use caveat_bench::{generated_rules, rules_policy, write_records};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const RECORDS: u64 = 2_000;

fn records_text() -> String {
    let mut text = Vec::new();
    let _ = write_records(&mut text, RECORDS, 42);
    String::from_utf8(text).unwrap_or_default()
}

fn policy(name: &str) -> String {
    let path = format!("{}/rules/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_default()
}

fn benches(c: &mut Criterion) {
    let data = SourceFile::new("bench.yaml", records_text());
    let records: Vec<_> = read_records(&data, Format::Yaml, &LoadOptions::default())
        .filter_map(Result::ok)
        .collect();

    let mut read = c.benchmark_group("read");
    read.throughput(Throughput::Elements(RECORDS));
    read.bench_function("yaml", |b| {
        b.iter(|| read_records(black_box(&data), Format::Yaml, &LoadOptions::default()).count());
    });
    read.finish();

    let mut eval = c.benchmark_group("evaluate");
    eval.throughput(Throughput::Elements(RECORDS));
    let sets = [
        ("headline", policy("headline.policy")),
        ("realistic-20", policy("realistic-20.policy")),
        ("generated-1000", rules_policy(&generated_rules(1000))),
    ];
    for (name, text) in &sets {
        let Ok(program) = check_sources(&[SourceFile::new(*name, text.as_str())]) else {
            continue;
        };
        eval.bench_function(*name, |b| {
            let mut evaluator = Evaluator::new(&program);
            let mut findings = Vec::new();
            b.iter(|| {
                for record in &records {
                    findings.clear();
                    evaluator.evaluate(black_box(record), &mut findings);
                }
                findings.len()
            });
        });
    }
    eval.finish();

    let rules = rules_policy(&generated_rules(10_000));
    c.bench_function("compile/10000-rules", |b| {
        // The program is freed outside the timing: that is not part of compiling it.
        b.iter_with_large_drop(|| {
            check_sources(&[SourceFile::new("rules.policy", black_box(rules.as_str()))])
        });
    });
}

criterion_group!(pipeline, benches);
criterion_main!(pipeline);
