//! The benchmark workload, shared by `caveat-bench` and the peer comparison: purchase records of
//! the PERFORMANCE.md shape and generated rule sets, all from fixed seeds.

use std::io::Write;

pub mod ocds;
pub mod splits;

/// SplitMix64: a small, fixed, well-known generator, so that the workload is the same everywhere.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// One of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let i = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        items.get(i).copied().unwrap_or("")
    }
}

/// The vendors records are drawn from.
pub const VENDORS: &[&str] = &[
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

/// Writes `count` purchase records as a YAML list, from `seed`.
pub fn write_records(out: &mut impl Write, count: u64, seed: u64) -> std::io::Result<()> {
    let mut rng = Rng(seed);
    for i in 0..count {
        let year = 2016 + rng.below(6);
        let month = 1 + rng.below(12);
        let day = 1 + rng.below(28);
        writeln!(out, "- id: P-{year}-{i:07}")?;
        writeln!(out, "  vendor: {}", rng.pick(VENDORS))?;
        writeln!(out, "  product: {}", rng.pick(PRODUCTS))?;
        writeln!(out, "  date: {year}-{month:02}-{day:02}")?;
        writeln!(out, "  quantity: {}", 1 + rng.below(50))?;
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
    Ok(())
}

/// One generated rule: `warn vendor V when amount > X`.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedRule {
    /// The vendor it names.
    pub vendor: String,
    /// The amount it must exceed.
    pub threshold: u64,
}

/// `count` generated rules, from a seed of their own. Vendors come from a pool of 200 names, of
/// which the records use 20: a record meets about one rule in ten.
pub fn generated_rules(count: u64) -> Vec<GeneratedRule> {
    let mut rng = Rng(count ^ 0x5EED);
    (0..count)
        .map(|_| {
            let v = rng.below(200);
            let vendor = match VENDORS.get(usize::try_from(v).unwrap_or(usize::MAX)) {
                Some(name) => (*name).to_string(),
                None => format!("Vendor {v}"),
            };
            GeneratedRule {
                vendor,
                threshold: 1000 + rng.below(249_000),
            }
        })
        .collect()
}

/// The generated rules as a caveat policy; rule `i` is `generated-i`.
pub fn rules_policy(rules: &[GeneratedRule]) -> String {
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let vendor = r.vendor.replace('\\', "\\\\").replace('"', "\\\"");
            format!(
                "rule generated-{i} {{\n  warn vendor \"{vendor}\" when amount > {}\n}}\n",
                r.threshold
            )
        })
        .collect()
}
