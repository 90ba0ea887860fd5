//! The differential test against Rego: random rules from a subset of the language that Rego can
//! say the same way, and random records, evaluated by caveat and by regorus; every finding must
//! agree.
//!
//! The subset: `==` and `in` on strings, `< <= > >=` on numbers and on dates (which in Rego are
//! `YYYY-MM-DD` strings, whose order is the dates' order), `exists`, `not`, `and`, `or` (as
//! several Rego bodies). Fields are missing at random, but never of the wrong type: a type
//! mismatch is an error finding in caveat and silently false (or, across types, ordered) in Rego,
//! a known difference, not a bug.

use std::collections::BTreeSet;

use caveat::data::{Format, LoadOptions, read_records};
use caveat::eval::{Evaluator, Outcome};
use caveat::source::SourceFile;
use caveat_bench::Rng;

/// What a case found: (record, rule) pairs.
type Findings = BTreeSet<(usize, usize)>;

const VENDORS: &[&str] = &["DJI", "Autel", "Parrot", "Skydio", "Da Jiang"];
const BRANCHES: &[&str] = &["Army", "Navy", "Air Force"];

/// One comparison, written in both languages.
struct Atom {
    caveat: String,
    rego: String,
}

fn atom(rng: &mut Rng) -> Atom {
    let order = ["<", "<=", ">", ">="];
    match rng.below(6) {
        0 => {
            let v = rng.pick(VENDORS);
            Atom {
                caveat: format!("vendor == \"{v}\""),
                rego: format!("input.vendor == \"{v}\""),
            }
        }
        1 => {
            let (a, b) = (rng.pick(VENDORS), rng.pick(VENDORS));
            Atom {
                caveat: format!("vendor in [\"{a}\", \"{b}\"]"),
                rego: format!("input.vendor in {{\"{a}\", \"{b}\"}}"),
            }
        }
        2 => {
            let op = rng.pick(&order);
            let n = rng.below(2000);
            let half = if rng.below(2) == 0 { "" } else { ".5" };
            Atom {
                caveat: format!("amount {op} {n}{half}"),
                rego: format!("input.amount {op} {n}{half}"),
            }
        }
        3 => {
            let op = rng.pick(&order);
            let date = format!("2019-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28));
            Atom {
                caveat: format!("date {op} {date}"),
                rego: format!("input.date {op} \"{date}\""),
            }
        }
        4 => {
            let b = rng.pick(BRANCHES);
            Atom {
                caveat: format!("buyer.branch == \"{b}\""),
                rego: format!("input.buyer.branch == \"{b}\""),
            }
        }
        _ => {
            let field = rng.pick(&["amount", "vendor", "buyer"]);
            Atom {
                caveat: format!("{field} exists"),
                rego: format!("input.{field}"),
            }
        }
    }
}

/// A rule: an `or` of one or two `and`s of one to three atoms, each maybe negated.
fn rule(rng: &mut Rng, i: usize) -> (String, String) {
    let mut caveat_terms = Vec::new();
    let mut rego = String::new();
    for _ in 0..=rng.below(2) {
        let mut caveat_atoms = Vec::new();
        let mut body = Vec::new();
        for _ in 0..=rng.below(3) {
            let a = atom(rng);
            if rng.below(4) == 0 {
                caveat_atoms.push(format!("not ({})", a.caveat));
                body.push(format!("  not {}", a.rego));
            } else {
                caveat_atoms.push(a.caveat);
                body.push(format!("  {}", a.rego));
            }
        }
        caveat_terms.push(format!("({})", caveat_atoms.join(" and ")));
        rego.push_str(&format!(
            "fired contains {i} if {{\n{}\n}}\n\n",
            body.join("\n")
        ));
    }
    (
        format!("rule r{i} {{ deny when {} }}\n", caveat_terms.join(" or ")),
        rego,
    )
}

/// A record: each field present or not, of its right type.
fn record(rng: &mut Rng, i: usize) -> (String, serde_json::Value) {
    let mut yaml = vec![format!("id: x{i}")];
    let mut json = serde_json::Map::new();
    json.insert("id".into(), format!("x{i}").into());
    if rng.below(5) != 0 {
        let v = rng.pick(VENDORS);
        yaml.push(format!("vendor: \"{v}\""));
        json.insert("vendor".into(), v.into());
    }
    if rng.below(5) != 0 {
        let n = rng.below(2000);
        let text = if rng.below(3) == 0 {
            format!("{n}.5")
        } else {
            n.to_string()
        };
        yaml.push(format!("amount: {text}"));
        json.insert(
            "amount".into(),
            serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default(),
        );
    }
    if rng.below(5) != 0 {
        let date = format!("2019-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28));
        yaml.push(format!("date: {date}"));
        json.insert("date".into(), date.into());
    }
    if rng.below(3) != 0 {
        let b = rng.pick(BRANCHES);
        yaml.push(format!("buyer: {{branch: \"{b}\"}}"));
        json.insert("buyer".into(), serde_json::json!({ "branch": b }));
    }
    (
        format!("- {{{}}}\n", yaml.join(", ")),
        serde_json::Value::Object(json),
    )
}

/// Runs `cases` cases of 20 rules and 50 records each; returns how many findings were compared
/// and the disagreements, described.
pub fn run(cases: u64) -> Result<(usize, Vec<String>), String> {
    let mut rng = Rng(2026);
    let mut compared = 0;
    let mut disagreements = Vec::new();
    for case in 0..cases {
        let mut policy = String::new();
        let mut rego = String::from("package caveat\n\n");
        for i in 0..20 {
            let (c, r) = rule(&mut rng, i);
            policy.push_str(&c);
            rego.push_str(&r);
        }
        let (mut yaml, mut inputs) = (String::new(), Vec::new());
        for i in 0..50 {
            let (y, j) = record(&mut rng, i);
            yaml.push_str(&y);
            inputs.push(j);
        }
        let program =
            caveat::check::check_sources(&[SourceFile::new("case.policy", policy.clone())])
                .map_err(|e| format!("case {case}: the policy does not check: {e:?}\n{policy}"))?;
        let source = SourceFile::new("case.yaml", yaml);
        let records: Vec<_> = read_records(&source, Format::Yaml, &LoadOptions::default())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("case {case}: {}", e.message))?;
        let mut ours = Findings::new();
        let mut evaluator = Evaluator::new(&program);
        for (r, record) in records.iter().enumerate() {
            let mut findings = Vec::new();
            evaluator.evaluate(record, &mut findings);
            for f in findings {
                if f.outcome == Outcome::Error {
                    return Err(format!("case {case}: an error finding: {}", f.message));
                }
                ours.insert((r, f.rule));
            }
        }
        let mut engine = regorus::Engine::new();
        engine
            .add_policy("case.rego".into(), rego.clone())
            .map_err(|e| format!("case {case}: Rego does not parse: {e}\n{rego}"))?;
        let mut theirs = Findings::new();
        for (r, input) in inputs.iter().enumerate() {
            let value =
                regorus::Value::from_json_str(&input.to_string()).map_err(|e| e.to_string())?;
            engine.set_input(value);
            let fired = engine
                .eval_rule("data.caveat.fired".into())
                .map_err(|e| e.to_string())?;
            // An empty partial set may come back undefined.
            if let Ok(set) = fired.as_set() {
                for v in set.iter() {
                    let i = v.as_u64().map_err(|e| e.to_string())?;
                    theirs.insert((r, usize::try_from(i).map_err(|e| e.to_string())?));
                }
            }
        }
        compared += ours.len().max(theirs.len());
        for (r, i) in ours.symmetric_difference(&theirs) {
            let by = if ours.contains(&(*r, *i)) {
                "caveat"
            } else {
                "Rego"
            };
            disagreements.push(format!(
                "case {case}: rule r{i} fires only in {by} on {}\n  {}",
                inputs.get(*r).map(ToString::to_string).unwrap_or_default(),
                policy.lines().nth(*i).unwrap_or("")
            ));
        }
    }
    Ok((compared, disagreements))
}
