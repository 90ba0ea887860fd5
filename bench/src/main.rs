//! caveat-bench: generates the benchmark workload with a fixed seed, and times the baselines.
//!
//! - `caveat-bench gen RECORDS SEED > FILE`: purchase records of the PERFORMANCE.md shape.
//! - `caveat-bench rules N > FILE`: a policy of N generated rules (`vendor == V_i and amount > X_i`).
//! - `caveat-bench read FILE...`: only read the records with caveat's reader (the floor).

use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use caveat::data::{Format, LoadOptions, read_records};

/// SplitMix64: a small, fixed, well-known generator, so that the workload is the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let i = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        items.get(i).copied().unwrap_or("")
    }
}

const VENDORS: &[&str] = &[
    "DJI",
    "Autel",
    "Yuneec",
    "Parrot",
    "Skydio",
    "AeroVironment",
    "Teal Drones",
    "Insitu",
    "SZ DJI Technology Co., Ltd.",
    "Da-Jiang Innovations",
    "Red Cat",
    "BRINC",
    "Shield AI",
    "PRI/DJI",
    "Vendor 15",
    "Vendor 16",
    "Vendor 17",
    "Vendor 18",
    "Vendor 19",
    "Vendor 20",
];
const PRODUCTS: &[&str] = &[
    "Mavic Pro",
    "Inspire 2",
    "Matrice 300",
    "Anafi",
    "X2D",
    "Puma",
    "EVO II",
    "Typhoon H",
];
const BRANCHES: &[&str] = &["Army", "Navy", "Air Force", "Marines", "SOCOM"];
const KINDS: &[&str] = &["urgent", "training", "research"];

fn generate(records: u64, seed: u64) -> std::io::Result<()> {
    let mut rng = Rng(seed);
    let mut out = BufWriter::new(std::io::stdout().lock());
    for i in 0..records {
        let year = 2016 + rng.below(6);
        let month = 1 + rng.below(12);
        let day = 1 + rng.below(28);
        writeln!(out, "- id: P-{year}-{i:07}")?;
        writeln!(out, "  vendor: {}", rng.pick(VENDORS))?;
        writeln!(out, "  product: {}", rng.pick(PRODUCTS))?;
        writeln!(out, "  date: {year}-{month:02}-{day:02}")?;
        let quantity = 1 + rng.below(50);
        writeln!(out, "  quantity: {quantity}")?;
        writeln!(
            out,
            "  amount: {}.{:02}",
            500 + rng.below(250_000),
            rng.below(100)
        )?;
        writeln!(out, "  currency: USD")?;
        writeln!(out, "  buyer:")?;
        writeln!(out, "    branch: {}", rng.pick(BRANCHES))?;
        writeln!(out, "    unit: Unit {}", rng.below(400))?;
        if rng.below(4) == 0 {
            writeln!(out, "  exemption:")?;
            writeln!(out, "    kind: {}", rng.pick(KINDS))?;
            writeln!(out, "    approved_by: OSD A&S")?;
            writeln!(
                out,
                "    expires: {}-{:02}-28",
                year + rng.below(2),
                1 + rng.below(12)
            )?;
        }
    }
    out.flush()
}

fn rules(count: u64) -> std::io::Result<()> {
    let mut rng = Rng(count);
    let mut out = BufWriter::new(std::io::stdout().lock());
    for i in 0..count {
        let vendor = rng.pick(VENDORS);
        writeln!(
            out,
            "rule generated-{i} {{\n  warn vendor \"{vendor}\" when amount > {}\n}}",
            1000 + rng.below(249_000)
        )?;
    }
    out.flush()
}

fn read(paths: &[String]) -> ExitCode {
    let start = Instant::now();
    let mut records = 0u64;
    let mut bytes = 0usize;
    for path in paths {
        let source = match caveat::run::read_text(std::path::Path::new(path)) {
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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number =
        |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let result = match args.first().map(String::as_str) {
        Some("gen") => generate(number(1, 100_000), number(2, 42)),
        Some("rules") => rules(number(1, 20)),
        Some("read") => return read(args.get(1..).unwrap_or(&[])),
        _ => {
            eprintln!("usage: caveat-bench gen RECORDS SEED | rules N | read FILE...");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("caveat-bench: {e}");
            ExitCode::from(2)
        }
    }
}
