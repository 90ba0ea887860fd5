//! caveat against regorus (Rego), CEL (cel-interpreter) and Cedar (cedar-policy) on the same
//! records and equivalent rules: evaluation alone, the records already in memory in each engine's
//! own form. First every engine's findings are compared with caveat's; only if they all agree is
//! each timed.
//!
//! `cargo run --release -p caveat-peers -- [RECORDS]` (default 20,000 records).

mod differential;

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use caveat::data::{Format, LoadOptions, Record, read_records};
use caveat::eval::Evaluator;
use caveat::source::SourceFile;
use caveat::value::{Node, Value};
use caveat_bench::{GeneratedRule, generated_rules, rules_policy, write_records};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// The (record index, rule index) pairs that fire.
type Findings = BTreeSet<(usize, usize)>;

/// The number of records the peers are timed on at 1,000 rules, where they are slow.
const SLOW_SLICE: usize = 2_000;

/// One engine under comparison: the rules compiled, the records prebuilt in its own input form.
trait Engine {
    /// The findings over the first `count` records.
    fn findings(&mut self, count: usize) -> Result<Findings, String>;
}

/// caveat itself, on its own records.
struct Caveat<'a> {
    program: caveat::compile::Program,
    records: &'a [Record],
}

impl<'a> Caveat<'a> {
    fn new(rules: &[GeneratedRule], records: &'a [Record]) -> Result<Self, String> {
        let source = SourceFile::new("generated.policy", rules_policy(rules));
        let program = caveat::check::check_sources(&[source])
            .map_err(|e| format!("{} policy errors", e.len()))?;
        Ok(Self { program, records })
    }
}

impl Engine for Caveat<'_> {
    fn findings(&mut self, count: usize) -> Result<Findings, String> {
        let mut evaluator = Evaluator::new(&self.program);
        let mut out = Findings::new();
        let mut findings = Vec::new();
        for (r, record) in self.records.iter().take(count).enumerate() {
            findings.clear();
            evaluator.evaluate(record, &mut findings);
            out.extend(findings.iter().map(|f| (r, f.rule)));
        }
        Ok(out)
    }
}

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

/// A string as a quoted literal with JSON escapes, which Rego and CEL both read.
fn json_quoted(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The rules in Rego: a set of the indexes of the rules that fire for `input`.
fn rego_policy(rules: &[GeneratedRule]) -> String {
    let mut text = String::from("package caveat\n\n");
    for (i, rule) in rules.iter().enumerate() {
        text.push_str(&format!(
            "fired contains {i} if {{\n  input.vendor == {}\n  input.amount > {}\n}}\n\n",
            json_quoted(&rule.vendor),
            rule.threshold
        ));
    }
    text
}

/// regorus, with the whole record as `input`.
struct Rego<'a> {
    engine: regorus::Engine,
    inputs: &'a [regorus::Value],
}

impl<'a> Rego<'a> {
    fn new(rules: &[GeneratedRule], inputs: &'a [regorus::Value]) -> Result<Self, String> {
        let mut engine = regorus::Engine::new();
        engine
            .add_policy("generated.rego".to_string(), rego_policy(rules))
            .map_err(|e| e.to_string())?;
        Ok(Self { engine, inputs })
    }
}

impl Engine for Rego<'_> {
    fn findings(&mut self, count: usize) -> Result<Findings, String> {
        let mut out = Findings::new();
        for (r, input) in self.inputs.iter().take(count).enumerate() {
            self.engine.set_input(input.clone());
            let fired = self
                .engine
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
}

/// A record value as a CEL value, every number a double (CEL does not mix ints and doubles).
fn to_cel(node: &Node) -> Result<cel_interpreter::Value, String> {
    use cel_interpreter::Value as Cel;
    use cel_interpreter::objects::{Key, Map};
    Ok(match &node.value {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => Cel::Float(n.to_string().parse().map_err(|e| format!("{e}"))?),
        Value::String(s) => Cel::String(Arc::new(s.to_string())),
        Value::Date(d) => Cel::String(Arc::new(d.to_string())),
        Value::List(items) => Cel::List(Arc::new(
            items.iter().map(to_cel).collect::<Result<_, _>>()?,
        )),
        Value::Map(map) => {
            let entries = map
                .entries
                .iter()
                .map(|e| Ok((Key::from(e.key.to_string()), to_cel(&e.value)?)))
                .collect::<Result<HashMap<_, _>, String>>()?;
            Cel::Map(Map {
                map: Arc::new(entries),
            })
        }
    })
}

/// Rule `i` in CEL: true when it fires for `input`. The threshold is written as a double.
fn cel_rule(rule: &GeneratedRule) -> String {
    format!(
        "input.vendor == {} && input.amount > {}.0",
        json_quoted(&rule.vendor),
        rule.threshold
    )
}

/// CEL, one compiled program per rule, each record prebuilt as a context with the variable
/// `input`.
struct Cel<'a> {
    programs: Vec<cel_interpreter::Program>,
    contexts: &'a [cel_interpreter::Context<'a>],
}

impl<'a> Cel<'a> {
    fn new(
        rules: &[GeneratedRule],
        contexts: &'a [cel_interpreter::Context<'a>],
    ) -> Result<Self, String> {
        let programs = rules
            .iter()
            .map(|rule| {
                cel_interpreter::Program::compile(&cel_rule(rule)).map_err(|e| e.to_string())
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { programs, contexts })
    }
}

impl Engine for Cel<'_> {
    fn findings(&mut self, count: usize) -> Result<Findings, String> {
        let mut out = Findings::new();
        for (r, context) in self.contexts.iter().take(count).enumerate() {
            for (i, program) in self.programs.iter().enumerate() {
                match program.execute(context).map_err(|e| e.to_string())? {
                    cel_interpreter::Value::Bool(true) => {
                        out.insert((r, i));
                    }
                    cel_interpreter::Value::Bool(false) => {}
                    other => return Err(format!("CEL rule {i} gave {other:?}, not a bool")),
                }
            }
        }
        Ok(out)
    }
}

/// A number in hundredths, as a Cedar Long: Cedar has no fractions, and the records' numbers have
/// at most two decimals (an amount in cents). An error if the number has more, or is too large.
fn hundredths(n: &Decimal) -> Result<i64, String> {
    n.checked_mul(Decimal::ONE_HUNDRED)
        .filter(|h| h.fract().is_zero())
        .and_then(|h| h.to_i64())
        .ok_or_else(|| format!("{n} is not a whole number of hundredths for Cedar"))
}

/// A record value as a Cedar value: numbers in hundredths, dates as strings, lists as sets.
fn to_cedar(node: &Node) -> Result<cedar_policy::RestrictedExpression, String> {
    use cedar_policy::RestrictedExpression as Cedar;
    Ok(match &node.value {
        Value::Null => return Err("Cedar has no null".to_string()),
        Value::Bool(b) => Cedar::new_bool(*b),
        Value::Number(n) => Cedar::new_long(hundredths(n)?),
        Value::String(s) => Cedar::new_string(s.to_string()),
        Value::Date(d) => Cedar::new_string(d.to_string()),
        Value::List(items) => {
            Cedar::new_set(items.iter().map(to_cedar).collect::<Result<Vec<_>, _>>()?)
        }
        Value::Map(map) => Cedar::new_record(cedar_fields(map)?).map_err(|e| e.to_string())?,
    })
}

/// A mapping's entries as Cedar record fields.
fn cedar_fields(
    map: &caveat::value::Map,
) -> Result<Vec<(String, cedar_policy::RestrictedExpression)>, String> {
    map.entries
        .iter()
        .map(|e| Ok((e.key.to_string(), to_cedar(&e.value)?)))
        .collect()
}

/// A record as a Cedar request: a fixed principal, action and resource, the record as `context`.
fn cedar_request(record: &Record) -> Result<cedar_policy::Request, String> {
    let uid = |text: &str| cedar_policy::EntityUid::from_str(text).map_err(|e| e.to_string());
    let Value::Map(map) = &record.root.value else {
        return Err("a record is not a mapping".to_string());
    };
    let context =
        cedar_policy::Context::from_pairs(cedar_fields(map)?).map_err(|e| e.to_string())?;
    cedar_policy::Request::new(
        uid(r#"User::"checker""#)?,
        uid(r#"Action::"check""#)?,
        uid(r#"Purchase::"record""#)?,
        context,
        None,
    )
    .map_err(|e| e.to_string())
}

/// Rule `i` in Cedar: a `forbid` policy (its id, `i`, is given when it is parsed), the amount and
/// the threshold in hundredths.
fn cedar_rule(rule: &GeneratedRule) -> Result<String, String> {
    let threshold = rule
        .threshold
        .checked_mul(100)
        .ok_or("a threshold too large for Cedar")?;
    Ok(format!(
        "forbid(principal, action, resource) when {{ context.vendor == {:?} && context.amount > {threshold} }};",
        rule.vendor
    ))
}

/// Cedar, one policy per rule, against prebuilt requests and (empty) entities; the rules that
/// fire are the policies the authorizer gives as the reason for its decision.
struct Cedar<'a> {
    policies: cedar_policy::PolicySet,
    authorizer: cedar_policy::Authorizer,
    entities: cedar_policy::Entities,
    requests: &'a [cedar_policy::Request],
}

impl<'a> Cedar<'a> {
    fn new(rules: &[GeneratedRule], requests: &'a [cedar_policy::Request]) -> Result<Self, String> {
        let mut policies = cedar_policy::PolicySet::new();
        for (i, rule) in rules.iter().enumerate() {
            let id = cedar_policy::PolicyId::new(i.to_string());
            let policy = cedar_policy::Policy::parse(Some(id), cedar_rule(rule)?)
                .map_err(|e| e.to_string())?;
            policies.add(policy).map_err(|e| e.to_string())?;
        }
        Ok(Self {
            policies,
            authorizer: cedar_policy::Authorizer::new(),
            entities: cedar_policy::Entities::empty(),
            requests,
        })
    }
}

impl Engine for Cedar<'_> {
    fn findings(&mut self, count: usize) -> Result<Findings, String> {
        let mut out = Findings::new();
        for (r, request) in self.requests.iter().take(count).enumerate() {
            let response = self
                .authorizer
                .is_authorized(request, &self.policies, &self.entities);
            if let Some(error) = response.diagnostics().errors().next() {
                return Err(format!("Cedar: {error}"));
            }
            for id in response.diagnostics().reason() {
                let id: &str = id.as_ref();
                out.insert((r, id.parse().map_err(|_| format!("policy id {id}"))?));
            }
        }
        Ok(out)
    }
}

/// An error unless `theirs` equals caveat's findings, `ours`; it shows the first differences.
fn same_findings(name: &str, ours: &Findings, theirs: &Findings) -> Result<(), String> {
    if ours == theirs {
        return Ok(());
    }
    let only_ours = ours.difference(theirs).take(5).collect::<Vec<_>>();
    let only_theirs = theirs.difference(ours).take(5).collect::<Vec<_>>();
    Err(format!(
        "findings differ (caveat {} vs {name} {}); only caveat: {only_ours:?}; only {name}: {only_theirs:?}",
        ours.len(),
        theirs.len()
    ))
}

/// The records per second of `engine` on the first `count` records, best of three.
fn rate(engine: &mut dyn Engine, count: usize) -> Result<f64, String> {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        engine.findings(count)?;
        best = best.min(start.elapsed().as_secs_f64());
    }
    Ok(count as f64 / best)
}

/// `x` rounded, its thousands separated by commas.
fn grouped(x: f64) -> String {
    let digits = format!("{x:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A ratio such as `34.0×`, or `579×` from 100 up.
fn times(ratio: f64) -> String {
    if ratio >= 100.0 {
        format!("{}×", grouped(ratio))
    } else {
        format!("{ratio:.1}×")
    }
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
    let records: Vec<Record> = read_records(&source, Format::Yaml, &LoadOptions::default())
        .collect::<Result<_, _>>()
        .map_err(|e| e.message)?;

    // Each peer's input form, built once: the rules do not change it.
    let rego_inputs: Vec<regorus::Value> = records
        .iter()
        .map(|r| {
            regorus::Value::from_json_str(&to_json(&r.root).to_string()).map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let cel_root = cel_interpreter::Context::default();
    let cel_contexts: Vec<cel_interpreter::Context> = records
        .iter()
        .map(|r| {
            let mut context = cel_root.new_inner_scope();
            context.add_variable_from_value("input", to_cel(&r.root)?);
            Ok(context)
        })
        .collect::<Result<_, String>>()?;
    let cedar_requests: Vec<cedar_policy::Request> = records
        .iter()
        .map(cedar_request)
        .collect::<Result<_, _>>()?;

    println!(
        "{} records; generated rules `warn vendor \"V_i\" when amount > X_i`",
        records.len()
    );
    println!(
        "| rules | caveat records/s | regorus | CEL | Cedar | caveat/regorus | caveat/CEL | caveat/Cedar | findings |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut sliced = false;
    for n in [1u64, 20, 1000] {
        let rules = generated_rules(n);
        let mut caveat = Caveat::new(&rules, &records)?;
        let mut peers: [(&str, Box<dyn Engine + '_>); 3] = [
            ("regorus", Box::new(Rego::new(&rules, &rego_inputs)?)),
            ("CEL", Box::new(Cel::new(&rules, &cel_contexts)?)),
            ("Cedar", Box::new(Cedar::new(&rules, &cedar_requests)?)),
        ];
        let ours = caveat.findings(records.len())?;
        for (name, engine) in &mut peers {
            let theirs = engine.findings(records.len())?;
            same_findings(name, &ours, &theirs).map_err(|e| format!("{n} rules: {e}"))?;
        }

        let caveat_rate = rate(&mut caveat, records.len())?;
        let timed = if n >= 1000 {
            records.len().min(SLOW_SLICE)
        } else {
            records.len()
        };
        sliced |= timed < records.len();
        let peer_rates = peers
            .iter_mut()
            .map(|(_, engine)| rate(engine.as_mut(), timed))
            .collect::<Result<Vec<_>, _>>()?;
        let rates = peer_rates.iter().map(|&r| grouped(r));
        let ratios = peer_rates.iter().map(|&r| times(caveat_rate / r));
        let cells: Vec<String> = rates.chain(ratios).collect();
        println!(
            "| {} | {} | {} | {} |",
            grouped(n as f64),
            grouped(caveat_rate),
            cells.join(" | "),
            grouped(ours.len() as f64)
        );
    }
    if sliced {
        println!("At 1,000 rules the peers are timed on the first {SLOW_SLICE} records.");
    }
    Ok(())
}

/// `differential [CASES]`: the differential test against Rego.
fn differential(cases: u64) -> Result<(), String> {
    let (compared, disagreements) = differential::run(cases)?;
    println!(
        "{cases} cases (20 rules x 50 records each): {compared} findings compared, {} disagreements",
        disagreements.len()
    );
    for d in &disagreements {
        println!("{d}");
    }
    if disagreements.is_empty() {
        Ok(())
    } else {
        Err("caveat and Rego disagree".into())
    }
}

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let result = if args.next().as_deref() == Some("differential") {
        differential(args.next().and_then(|a| a.parse().ok()).unwrap_or(200))
    } else {
        run()
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("caveat-peers: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
