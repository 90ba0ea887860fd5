//! Purchase records for the U.S. group rules (issue 13): government purchase-card and small
//! purchases of the `examples/purchases.yaml` shape, in which some buying units split one need
//! into several purchases under the micro-purchase threshold, a few days apart, and a few vendors
//! accumulate spend over a fiscal year. YAML, one list, from a fixed seed.
//!
//! Planted, per record drawn: ~3 % start a split series (two to four purchases from one vendor by
//! one unit, each at most $10,000, one to three days apart, together over $10,000), ~1 % a near
//! miss (the same, but eight days or more apart, or at another unit), ~2 % are sole-source buys
//! of $200,000–$250,000. The rest are ordinary purchases, mostly small, spread over FY2023–FY2025.

use std::io::Write;

use crate::Rng;

/// Office, IT and facilities suppliers, and a few drone makers.
pub const SUPPLIERS: &[&str] = &[
    "CDW Government",
    "Dell Federal Systems",
    "Staples Business Advantage",
    "Office Depot",
    "W.B. Mason",
    "Insight Public Sector",
    "SHI International",
    "Carahsoft Technology",
    "GovConnection",
    "Iron Bow Technologies",
    "W.W. Grainger",
    "Fastenal",
    "Amazon Business",
    "UNICOR",
    "Skydio",
    "Parrot",
    "Teal Drones",
    "Red Cat",
    "BRINC",
    "AeroVironment",
];
const PRODUCTS: &[&str] = &[
    "laptops",
    "docking stations",
    "toner cartridges",
    "office chairs",
    "network switches",
    "monitors",
    "software licenses",
    "rugged tablets",
    "copier paper",
    "shelving",
    "power tools",
    "batteries",
    "spare rotors",
    "training drones",
];
const UNITS: &[(&str, &str)] = &[
    ("Army", "101st Airborne Division"),
    ("Army", "3rd Infantry Division"),
    ("Army", "U.S. Army Research Laboratory"),
    ("Army", "Fort Liberty Directorate of Public Works"),
    ("Navy", "Naval Surface Warfare Center Dahlgren Division"),
    ("Navy", "Naval Air Station Patuxent River"),
    ("Navy", "Naval Construction Group 1"),
    ("Air Force", "1st Special Operations Wing"),
    ("Air Force", "Air Force Research Laboratory"),
    ("Air Force", "56th Fighter Wing"),
    ("Marines", "2nd Marine Logistics Group"),
    ("Marines", "Marine Corps Base Quantico"),
    ("SOCOM", "Naval Special Warfare Group 2"),
    ("SOCOM", "75th Ranger Regiment"),
];

/// Days since 1970-01-01 of 2022-10-01, the first day of FY2023.
const FY2023: u64 = 19_266;
/// Three fiscal years of days.
const SPAN: u64 = 1096;

/// `YYYY-MM-DD` of a day count since 1970-01-01.
fn date(days: u64) -> String {
    let seconds = i64::try_from(days).unwrap_or(0) * 86_400;
    crate::ocds::rfc3339(seconds)
        .get(..10)
        .unwrap_or_default()
        .to_string()
}

struct Purchase<'a> {
    vendor: &'a str,
    product: &'a str,
    day: u64,
    cents: u64,
    unit: (&'a str, &'a str),
    sole_source: bool,
}

fn write_one(out: &mut impl Write, n: u64, p: &Purchase<'_>) -> std::io::Result<()> {
    let d = date(p.day);
    let prefix = match p.unit.0 {
        "Army" => "A",
        "Navy" => "N",
        "Air Force" => "AF",
        "Marines" => "M",
        _ => "S",
    };
    writeln!(
        out,
        "- id: {prefix}-{}-{n:07}",
        d.get(..4).unwrap_or("0000")
    )?;
    writeln!(out, "  vendor: \"{}\"", p.vendor)?;
    writeln!(out, "  product: {}", p.product)?;
    writeln!(out, "  date: {d}")?;
    writeln!(out, "  amount: {}.{:02}", p.cents / 100, p.cents % 100)?;
    writeln!(out, "  currency: USD")?;
    if p.sole_source {
        writeln!(out, "  competition: sole source")?;
    }
    writeln!(
        out,
        "  buyer: {{branch: \"{}\", unit: \"{}\"}}",
        p.unit.0, p.unit.1
    )
}

/// Writes `count` purchase records as a YAML list, from `seed`; records are in date order
/// within each series, and series overlap as real card statements do.
pub fn write_purchases(out: &mut impl Write, count: u64, seed: u64) -> std::io::Result<()> {
    let mut rng = Rng(seed ^ 0x5917_5917);
    let unit_index = |rng: &mut Rng| usize::try_from(rng.below(UNITS.len() as u64)).unwrap_or(0);
    let mut n = 0;
    while n < count {
        let unit = UNITS
            .get(unit_index(&mut rng))
            .copied()
            .unwrap_or(("Army", ""));
        let vendor = rng.pick(SUPPLIERS);
        let product = rng.pick(PRODUCTS);
        let day = FY2023 + rng.below(SPAN);
        let roll = rng.unit();
        let mut series = Vec::new();
        if roll < 0.03 {
            // A split: two to four purchases, each under the threshold, together over it.
            let parts = rng.range(2, 4);
            let mut d = day;
            for _ in 0..parts {
                series.push((d, rng.range(520_000, 990_000), unit));
                d += rng.range(1, 3);
            }
        } else if roll < 0.04 {
            // A near miss: the second purchase eight to twenty days later, or at another unit.
            let first = rng.range(520_000, 990_000);
            let second = rng.range(520_000, 990_000);
            series.push((day, first, unit));
            if rng.chance(0.5) {
                series.push((day + rng.range(8, 20), second, unit));
            } else {
                let other = UNITS.get(unit_index(&mut rng)).copied().unwrap_or(unit);
                series.push((day + rng.range(0, 3), second, other));
            }
        } else if roll < 0.06 {
            let cents = rng.range(20_000_000, 24_990_000);
            let p = Purchase {
                vendor,
                product,
                day,
                cents,
                unit,
                sole_source: true,
            };
            write_one(out, n, &p)?;
            n += 1;
            continue;
        } else {
            // Mostly card purchases; one in ten above the micro-purchase threshold.
            let cents = if rng.chance(0.9) {
                rng.range(4_000, 990_000)
            } else {
                rng.range(1_000_001, 15_000_000)
            };
            series.push((day, cents, unit));
        }
        for (d, cents, unit) in series {
            if n >= count {
                break;
            }
            let p = Purchase {
                vendor,
                product,
                day: d,
                cents,
                unit,
                sole_source: false,
            };
            write_one(out, n, &p)?;
            n += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fiscal_year_2023_starts_on_october_1() {
        assert_eq!(date(FY2023), "2022-10-01");
        assert_eq!(date(FY2023 + SPAN - 1), "2025-09-30");
    }

    #[test]
    fn writes_exactly_count_records() {
        let mut out = Vec::new();
        write_purchases(&mut out, 500, 3).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("\n- id: ").count() + 1, 500);
        assert!(text.contains("competition: sole source"));
    }
}
