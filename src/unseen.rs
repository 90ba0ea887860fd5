//! Field paths that the rules read and that no record of a run had: without a schema nothing
//! else would tell that `deny when vendr == DJI` can never be true. Each path costs a bit per
//! chunk of records (set once a record has it), merged across worker threads; while a path is
//! unseen, the keys found where it stopped are sampled for a "did you mean".

use std::collections::BTreeSet;

use crate::compile::{Expr, ExprKind, Program, Segment};
use crate::diagnostic::{Code, Diag};
use crate::source::Span;
use crate::value::{Node, Value};

/// How many records missing a path each chunk samples keys from, for the suggestion.
const SAMPLED_MISSES: usize = 64;

/// A field path some rule reads, and where.
#[derive(Debug, Clone)]
pub struct ReadPath {
    /// The keys from the record's root (projected over lists).
    pub keys: Vec<Box<str>>,
    /// The rule that reads it first (index in [`Program::rules`]).
    pub rule: usize,
    /// The expression that reads it, in that rule's policy file.
    pub span: Span,
}

/// The field paths the rules of `program` read from the record's root, each once, in rule
/// order; none when the policies declare a schema (then lint checks every field).
pub fn read_paths(program: &Program) -> Vec<ReadPath> {
    if program.schema.is_some() {
        return Vec::new();
    }
    let mut slots: Vec<&str> = vec![""; program.root_fields.len()];
    for (name, slot) in &program.root_fields {
        if let Some(at) = slots.get_mut(*slot) {
            *at = name;
        }
    }
    let mut paths: Vec<ReadPath> = Vec::new();
    for (rule_index, rule) in program.rules.iter().enumerate() {
        // Clauses, lets, group keys, filters, `where`, `having` and message expressions: a
        // misspelt field anywhere in them makes the rule silently pass.
        for expr in rule.exprs() {
            let mut vars: VarPaths = Vec::new();
            collect(expr, &slots, &mut vars, &mut |keys, span| {
                if !keys.is_empty() && !paths.iter().any(|p| p.keys == keys) {
                    paths.push(ReadPath {
                        keys,
                        rule: rule_index,
                        span,
                    });
                }
            });
        }
    }
    paths
}

/// The keys of a path of keys only (an index makes it untracked).
fn keys_of(prefix: &[Box<str>], path: &[Segment]) -> Option<Vec<Box<str>>> {
    let mut keys = prefix.to_vec();
    for segment in path {
        match segment {
            Segment::Key(key) => keys.push(key.clone()),
            Segment::Index(_) => return None,
        }
    }
    Some(keys)
}

/// The path of the list each quantifier or comprehension variable ranges over, by slot (when
/// that is a field path).
type VarPaths = Vec<Option<Vec<Box<str>>>>;

/// Where a path read is handed: its keys and the expression that reads it.
type Found<'a> = dyn FnMut(Vec<Box<str>>, Span) + 'a;

/// Calls `found` with each root path `expr` reads; `vars` holds, per quantifier variable slot,
/// the path of the list it ranges over (when that is a field path).
fn collect(expr: &Expr, slots: &[&str], vars: &mut VarPaths, found: &mut Found<'_>) {
    let path = match &expr.kind {
        ExprKind::Field(path) => keys_of(&[], path),
        ExprKind::RootField(slot, rest) => slots
            .get(*slot)
            .and_then(|name| keys_of(&[(*name).into()], rest)),
        ExprKind::Var(slot, rest) => vars
            .get(*slot)
            .cloned()
            .flatten()
            .and_then(|prefix| keys_of(&prefix, rest)),
        // `group.amount`, `group.bids.details`: the field of each member record.
        ExprKind::Member(..) => group_path(expr),
        ExprKind::Quantifier(_, slot, list, body) => {
            with_variable(*slot, list, slots, vars, found, &mut |vars, found| {
                collect(body, slots, vars, found);
            });
            return;
        }
        ExprKind::Comprehension(slot, list, body, filter) => {
            with_variable(*slot, list, slots, vars, found, &mut |vars, found| {
                if let Some(filter) = filter {
                    collect(filter, slots, vars, found);
                }
                collect(body, slots, vars, found);
            });
            return;
        }
        _ => None,
    };
    if let Some(keys) = path {
        found(keys, expr.span);
        return;
    }
    expr.for_each_child(&mut |child| collect(child, slots, vars, found));
}

/// The keys of `group.KEY.KEY…` (the path read from each member record); `None` for anything
/// else, or a path with an index.
fn group_path(expr: &Expr) -> Option<Vec<Box<str>>> {
    let ExprKind::Member(base, Segment::Key(key)) = &expr.kind else {
        return None;
    };
    let mut keys = match base.kind {
        ExprKind::Group => Vec::new(),
        _ => group_path(base)?,
    };
    keys.push(key.clone());
    Some(keys)
}

/// Collects the paths `list` reads, then runs `inner` with the variable in `slot` standing for
/// the list's elements: a path from it continues the list's path (`b.status` for `b in
/// bids.details` is `bids.details.status`), or starts at a record's root for `r in group`.
fn with_variable(
    slot: usize,
    list: &Expr,
    slots: &[&str],
    vars: &mut VarPaths,
    found: &mut Found<'_>,
    inner: &mut dyn FnMut(&mut VarPaths, &mut Found<'_>),
) {
    // The list's own paths are read paths; the last one is where its elements stand.
    let mut list_path = matches!(list.kind, ExprKind::Group).then(Vec::new);
    collect(list, slots, vars, &mut |keys, span| {
        list_path = Some(keys.clone());
        found(keys, span);
    });
    if vars.len() <= slot {
        vars.resize(slot + 1, None);
    }
    let earlier = vars.get_mut(slot).map(|v| std::mem::replace(v, list_path));
    inner(vars, found);
    if let (Some(v), Some(earlier)) = (vars.get_mut(slot), earlier) {
        *v = earlier;
    }
}

/// What the records of a chunk (or a run) showed of the read paths.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Per path: some record had it.
    pub had: Vec<bool>,
    /// Per path: keys found where it stopped, in records that lacked it, each with the position
    /// in the path of the key that was missing there.
    pub keys: Vec<BTreeSet<(usize, Box<str>)>>,
    /// Per path: how many records lacking it were sampled.
    misses: Vec<usize>,
    /// How many records were looked at (records that could not be read are not).
    records: usize,
}

impl Seen {
    /// Nothing seen yet, for `paths`.
    pub fn new(paths: &[ReadPath]) -> Seen {
        Seen {
            had: vec![false; paths.len()],
            keys: vec![BTreeSet::new(); paths.len()],
            misses: vec![0; paths.len()],
            records: 0,
        }
    }

    /// Looks for the paths not seen yet in one record.
    pub fn record(&mut self, paths: &[ReadPath], root: &Node) {
        self.records += 1;
        for (index, path) in paths.iter().enumerate() {
            if self.had.get(index).copied().unwrap_or(true) {
                continue;
            }
            let sample = self.misses.get(index).is_some_and(|n| *n < SAMPLED_MISSES);
            let mut keys = BTreeSet::new();
            if has(root, &path.keys, 0, sample.then_some(&mut keys)) {
                if let Some(flag) = self.had.get_mut(index) {
                    *flag = true;
                }
            } else if sample {
                if let Some(n) = self.misses.get_mut(index) {
                    *n += 1;
                }
                if let Some(set) = self.keys.get_mut(index) {
                    set.extend(keys);
                }
            }
        }
    }

    /// Adds what another chunk saw.
    pub fn merge(&mut self, other: Seen) {
        self.records += other.records;
        for (mine, theirs) in self.had.iter_mut().zip(other.had) {
            *mine |= theirs;
        }
        for (mine, theirs) in self.keys.iter_mut().zip(other.keys) {
            mine.extend(theirs);
        }
    }
}

/// Whether `node` has the path `keys` (through lists, in any element), `depth` keys down the
/// path; if not, and `stopped` is given, the keys of the mappings where the path stopped go
/// there, with the position of the key that was missing.
fn has(
    node: &Node,
    keys: &[Box<str>],
    depth: usize,
    mut stopped: Option<&mut BTreeSet<(usize, Box<str>)>>,
) -> bool {
    let Some((first, rest)) = keys.split_first() else {
        return true;
    };
    match &node.value {
        Value::Map(map) => match map.get(first) {
            Some(child) => has(child, rest, depth + 1, stopped),
            None => {
                if let Some(out) = stopped {
                    out.extend(
                        map.entries
                            .iter()
                            .map(|e| (depth, Box::from(e.key.as_str()))),
                    );
                }
                false
            }
        },
        Value::List(items) => items
            .iter()
            .any(|item| has(item, keys, depth, stopped.as_deref_mut())),
        _ => false,
    }
}

/// The path a misspelt `keys` most likely meant: the key missing at the deepest place the path
/// reached in some record, replaced by the nearest key found there (`byer.unit` → `buyer.unit`);
/// `None` when no key there is near, or the result is the path itself.
fn suggested(keys: &[Box<str>], found: &BTreeSet<(usize, Box<str>)>) -> Option<String> {
    let deepest = found.iter().map(|(depth, _)| *depth).max()?;
    let missing = keys.get(deepest)?;
    let there = found
        .iter()
        .filter(|(depth, _)| *depth == deepest)
        .map(|(_, key)| &**key);
    let near = crate::suggest::closest(missing, there)?;
    let path: Vec<&str> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| if i == deepest { near } else { &**key })
        .collect();
    (near != &**missing).then(|| crate::syntax::path_as_written(path))
}

/// A warning for each read path that no record of the run had, at the rule that reads it, with
/// the nearest key seen where the path stopped; none when no record could be read (the data
/// errors say why).
pub fn warnings(program: &Program, paths: &[ReadPath], seen: &Seen) -> Vec<Diag> {
    if seen.records == 0 {
        return Vec::new();
    }
    paths
        .iter()
        .zip(&seen.had)
        .zip(&seen.keys)
        .filter(|((_, had), _)| !**had)
        .filter_map(|((path, _), keys)| {
            let rule = program.rules.get(path.rule)?;
            let written = crate::syntax::path_as_written(path.keys.iter().map(|k| &**k));
            let help = match suggested(&path.keys, keys) {
                Some(near) => format!("did you mean `{near}`?"),
                None => {
                    "check the spelling, or declare the records' fields in a `record { … }` schema"
                        .to_string()
                }
            };
            Some(
                Diag::warning(
                    Code::RunUnseenField,
                    format!(
                        "no record of this run has `{written}`, which rule `{}` reads",
                        rule.id
                    ),
                )
                .label(&rule.source, path.span, "never found in the records")
                .help(help),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(entries: &[(usize, &str)]) -> BTreeSet<(usize, Box<str>)> {
        entries.iter().map(|(d, k)| (*d, Box::from(*k))).collect()
    }

    fn path(text: &str) -> Vec<Box<str>> {
        text.split('.').map(Box::from).collect()
    }

    /// The key replaced is the one missing where the path stopped, not the last one; a
    /// suggestion that is the path itself, or that no record has either, is none.
    #[test]
    fn the_suggestion_replaces_the_key_that_was_missing() {
        let root = found(&[(0, "id"), (0, "amount"), (0, "date"), (0, "buyer")]);
        assert_eq!(
            suggested(&path("byer.unit"), &root).as_deref(),
            Some("buyer.unit")
        );
        assert_eq!(suggested(&path("x.y.amount"), &root), None);
        assert_eq!(suggested(&path("t.endDate"), &root), None);
        let below = found(&[(0, "id"), (0, "buyer"), (1, "unit")]);
        assert_eq!(
            suggested(&path("buyer.unti"), &below).as_deref(),
            Some("buyer.unit")
        );
    }
}
