//! The parts of a record the rules read (LANGUAGE.md §13, "Reading"): a tree of field names from
//! the record's root. Readers build what the tree names and only check the rest (it must still be
//! well formed, without duplicate keys), so a record costs what the rules read of it, and rules
//! across records keep no more than that.
//!
//! The tree comes from following each expression's value back to the record paths it may be
//! (its *origins*): `bids.details` is one; a comprehension's variable is each element of its
//! list, so `b.status` for `b in bids.details` is `bids.details.status`; a rule-local `let` is
//! its expression's origins; `group` is the record's root. Where a value is used as a whole
//! (compared, rendered, given to a function), everything under its origins is kept; where only
//! its presence counts (`exists`, `count`, the list a quantifier ranges over), the path is kept
//! without the rest.

use super::program::{
    CompiledRule, Const, Expr, ExprKind, Function, Program, Segment, TemplatePart,
};
use crate::value::{Entry, Map, Node, Value, key_print};

/// The fields a program reads, as a tree from the record's root. The default keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    /// The tree's nodes; the root is the first.
    nodes: Vec<ProjectionNode>,
}

/// One field of the tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ProjectionNode {
    /// Everything under it is read.
    whole: bool,
    /// The fields under it that are read, each with its node.
    children: Vec<(Box<str>, usize)>,
    /// The prints of their names ([`key_print`]), in the same order: searched first.
    prints: Vec<u64>,
}

/// Where a reader stands in a [`Projection`]: everything is read from here on, or only what a
/// node of the tree names. A list's elements stand where the list does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// Every field from here on.
    Everything,
    /// The fields this node of the tree names.
    Fields(usize),
}

impl Projection {
    fn new() -> Projection {
        Projection {
            nodes: vec![ProjectionNode::default()],
        }
    }

    /// What is read of a record: where the tree starts.
    pub fn root(&self) -> Wanted {
        self.wanted(0)
    }

    fn wanted(&self, node: usize) -> Wanted {
        match self.nodes.get(node) {
            Some(n) if !n.whole => Wanted::Fields(node),
            _ => Wanted::Everything,
        }
    }

    /// What is read of the value of `key` in a mapping that stands at `at`; `None` when nothing
    /// is (the value is only checked).
    pub fn child(&self, at: Wanted, key: &str) -> Option<Wanted> {
        match at {
            Wanted::Everything => Some(Wanted::Everything),
            Wanted::Fields(_) => self.child_printed(at, key, key_print(key.as_bytes())),
        }
    }

    /// [`Projection::child`] for a reader that has the key's [`key_print`] already.
    pub fn child_printed(&self, at: Wanted, key: &str, print: u64) -> Option<Wanted> {
        let Wanted::Fields(node) = at else {
            return Some(Wanted::Everything);
        };
        let node = self.nodes.get(node)?;
        let position = node.prints.iter().position(|&p| p == print)?;
        // Keys of up to seven bytes with the same print are the same; a longer one may share its
        // print with another name.
        let child = match node.children.get(position)? {
            (name, child) if key.len() < 8 || **name == *key => *child,
            _ => node.children.iter().find(|(name, _)| **name == *key)?.1,
        };
        Some(self.wanted(child))
    }

    /// Adds `path`, and everything under it when `whole`.
    fn add(&mut self, path: &[Box<str>], whole: bool) {
        let mut at = 0;
        for key in path {
            if self.nodes.get(at).is_some_and(|n| n.whole) {
                return;
            }
            let existing = self
                .nodes
                .get(at)
                .and_then(|n| n.children.iter().find(|(name, _)| name == key))
                .map(|&(_, child)| child);
            at = match existing {
                Some(child) => child,
                None => {
                    let child = self.nodes.len();
                    self.nodes.push(ProjectionNode::default());
                    if let Some(node) = self.nodes.get_mut(at) {
                        node.children.push((key.clone(), child));
                        node.prints.push(key_print(key.as_bytes()));
                    }
                    child
                }
            };
        }
        if whole && let Some(node) = self.nodes.get_mut(at) {
            node.whole = true;
            node.children.clear();
            node.prints.clear();
        }
    }

    /// Whether the whole record is read.
    pub fn is_everything(&self) -> bool {
        self.root() == Wanted::Everything
    }

    /// The top-level fields read; `None` when every field is.
    pub fn top_level(&self) -> Option<Vec<&str>> {
        let root = self.nodes.first().filter(|root| !root.whole)?;
        Some(root.children.iter().map(|(name, _)| &**name).collect())
    }

    /// Whether no field is read.
    pub fn is_nothing(&self) -> bool {
        self.nodes
            .first()
            .is_some_and(|root| !root.whole && root.children.is_empty())
    }
}

impl Program {
    /// What the rules, their waivers and messages read of a record, and the field paths in
    /// `also` (the record's name, a report's vendor); `None` when a schema checks every field,
    /// so records are read whole.
    pub fn projection(&self, also: &[&[Segment]]) -> Option<Projection> {
        if self.schema.is_some() {
            return None;
        }
        let mut projection = Projection::new();
        for path in also.iter().filter(|p| !p.is_empty()) {
            projection.add(&keys(&[], path), true);
        }
        self.add_reads(&mut projection, |_| true, true);
        (!projection.is_everything()).then_some(projection)
    }

    /// What the rules across records (`per`, `all.`) and their waivers read of a record once
    /// every record is read (their keys, filters and `where` are read as it streams past): all
    /// they keep of it.
    pub(crate) fn across_projection(&self) -> Projection {
        let mut projection = Projection::new();
        self.add_reads(&mut projection, |rule| rule.across.is_some(), false);
        projection
    }

    /// What the rules across records and their waivers read of a record at any stage: as it
    /// streams past (keys, filters, `where`) and once every record is read. A run split into
    /// parts (a Spark job) sends this much of each record to its group.
    pub fn across_reads(&self) -> Projection {
        let mut projection = Projection::new();
        self.add_reads(&mut projection, |rule| rule.across.is_some(), true);
        projection
    }

    /// Adds what the rules `chosen` picks, with their waivers, read; with `streamed`, also the
    /// keys, filters and `where` of rules across records.
    fn add_reads(
        &self,
        projection: &mut Projection,
        chosen: impl Fn(&CompiledRule) -> bool,
        streamed: bool,
    ) {
        let mut root_names = vec![Box::<str>::default(); self.root_fields.len()];
        for (name, &slot) in &self.root_fields {
            if let Some(at) = root_names.get_mut(slot) {
                *at = name.clone();
            }
        }
        for (index, rule) in self.rules.iter().enumerate().filter(|(_, r)| chosen(r)) {
            let mut reads = RuleReads {
                rule,
                root_names: &root_names,
                vars: Vec::new(),
                lets: vec![None; rule.lets.len()],
                projection,
                streamed,
                late: if streamed {
                    Vec::new()
                } else {
                    rule.late_lets()
                },
            };
            reads.rule();
            for waiver in self.waivers.iter().filter(|w| w.rule == index) {
                reads.value(&waiver.condition.expr);
            }
        }
    }
}

/// What `projection` keeps of `node` standing at `at`: the fields it names (a value nothing
/// reads is left out), everything where it keeps everything.
pub(crate) fn project(node: &Node, projection: &Projection, at: Wanted) -> Node {
    let value = match (&node.value, at) {
        (_, Wanted::Everything) => return node.clone(),
        (Value::Map(map), at) => Value::Map(Map {
            entries: map
                .entries
                .iter()
                .filter_map(|e| {
                    let below = projection.child(at, &e.key)?;
                    Some(Entry {
                        key: e.key.clone(),
                        key_span: e.key_span,
                        value: project(&e.value, projection, below),
                    })
                })
                .collect(),
        }),
        (Value::List(items), at) => Value::List(
            items
                .iter()
                .map(|item| project(item, projection, at))
                .collect(),
        ),
        (other, _) => other.clone(),
    };
    Node {
        value,
        span: node.span,
    }
}

/// The record paths a value may be (empty for a computed value).
type Origins = Vec<Vec<Box<str>>>;

/// Follows one rule's expressions, adding what they read to the projection.
struct RuleReads<'a> {
    rule: &'a CompiledRule,
    /// Top-level field names by slot.
    root_names: &'a [Box<str>],
    /// The origins of each quantifier and comprehension variable, by slot.
    vars: Vec<Origins>,
    /// The origins of each rule-local let, once followed.
    lets: Vec<Option<Origins>>,
    projection: &'a mut Projection,
    /// Also what is read as records stream past: keys, filters, `where`, values per member.
    streamed: bool,
    /// Unless `streamed`: which lets are computed once every record is read
    /// ([`CompiledRule::late_lets`]); the others are computed as the record streams past, and
    /// only their values are kept.
    late: Vec<bool>,
}

impl RuleReads<'_> {
    /// Follows the rule's expressions; the keys, filters and `where` of a rule across records
    /// only when `streamed`.
    fn rule(&mut self) {
        let rule = self.rule;
        let streamed = self.streamed;
        for (_, clause) in rule.clauses() {
            self.value(&clause.expr);
        }
        // A let reads what its expression reads; its value, what reads the let reads of it.
        for index in 0..rule.lets.len() {
            if self.is_late(index) {
                self.local(index);
            }
        }
        if let Some(across) = &rule.across {
            if streamed {
                for key in &across.keys {
                    self.value(&key.expr);
                }
                for clause in across.filters.iter().chain(&across.where_) {
                    self.value(&clause.expr);
                }
            }
            if let Some(having) = &across.having {
                self.value(&having.expr);
            }
        }
        if let Some(message) = &rule.message {
            for part in &message.parts {
                match part {
                    TemplatePart::Field(path) => self.projection.add(&keys(&[], path), true),
                    TemplatePart::Expr(expr) => self.value(expr),
                    TemplatePart::Text(_) => {}
                }
            }
        }
    }

    /// `expr`'s value is used whole.
    fn value(&mut self, expr: &Expr) {
        let origins = self.origins(expr);
        self.mark(&origins, true);
    }

    /// Only whether `expr`'s value is there (or how many elements it has) counts.
    fn presence(&mut self, expr: &Expr) -> Origins {
        let origins = self.origins(expr);
        self.mark(&origins, false);
        origins
    }

    fn mark(&mut self, origins: &Origins, whole: bool) {
        for path in origins {
            self.projection.add(path, whole);
        }
    }

    /// Whether the let at `index` is computed from what is read (not kept as a value).
    fn is_late(&self, index: usize) -> bool {
        self.streamed || self.late.get(index).copied().unwrap_or(true)
    }

    fn local(&mut self, index: usize) -> Origins {
        if !self.is_late(index) {
            // Its value is kept: none of the fields it reads is.
            return Vec::new();
        }
        if let Some(Some(origins)) = self.lets.get(index) {
            return origins.clone();
        }
        let Some(local) = self.rule.lets.get(index) else {
            return Vec::new();
        };
        // Guards a cycle the compiler would have refused.
        if let Some(slot) = self.lets.get_mut(index) {
            *slot = Some(Vec::new());
        }
        // A let does not see the variables of the expression that reads it.
        let vars = std::mem::take(&mut self.vars);
        let origins = self.origins(&local.expr);
        self.vars = vars;
        if let Some(slot) = self.lets.get_mut(index) {
            *slot = Some(origins.clone());
        }
        origins
    }

    /// Binds variable `slot` to the elements of `list` while `body` runs.
    fn with_var<T>(&mut self, slot: usize, list: &Expr, body: impl FnOnce(&mut Self) -> T) -> T {
        let elements = self.presence(list);
        self.vars.truncate(slot);
        self.vars.resize(slot, Vec::new());
        self.vars.push(elements);
        let result = body(self);
        self.vars.truncate(slot);
        result
    }

    fn origins(&mut self, expr: &Expr) -> Origins {
        // Values per member of a group are computed as the records stream past.
        if !self.streamed && expr.is_per_member() {
            return if expr.member_itself() {
                vec![Vec::new()]
            } else {
                Vec::new()
            };
        }
        match &expr.kind {
            // A `let each` is computed while its record is read (its reads are the let's).
            ExprKind::Const(_)
            | ExprKind::GroupName
            | ExprKind::GroupKey(_)
            | ExprKind::GroupLet(_)
            | ExprKind::MemberLet(..) => Vec::new(),
            ExprKind::Field(path) => vec![keys(&[], path)],
            ExprKind::RootField(slot, rest) => {
                let root = self.root_names.get(*slot).cloned().unwrap_or_default();
                vec![keys(&[root], rest)]
            }
            ExprKind::Var(slot, path) => self
                .vars
                .get(*slot)
                .map(|origins| origins.iter().map(|o| keys(o, path)).collect())
                .unwrap_or_default(),
            ExprKind::Member(base, segment) => self
                .origins(base)
                .iter()
                .map(|o| keys(o, std::slice::from_ref(segment)))
                .collect(),
            ExprKind::Index(base, index) => {
                let base = self.origins(base);
                match &index.kind {
                    ExprKind::Const(Const::String(key)) => base
                        .iter()
                        .map(|o| {
                            let mut path = o.clone();
                            path.push(key.as_ref().into());
                            path
                        })
                        .collect(),
                    ExprKind::Const(Const::Number(_)) => base,
                    _ => {
                        // A computed index may name any field.
                        self.value(index);
                        self.mark(&base, true);
                        Vec::new()
                    }
                }
            }
            ExprKind::Exists(inner) | ExprKind::Missing(inner) => {
                self.presence(inner);
                Vec::new()
            }
            ExprKind::Call(Function::Count, args) => {
                for arg in args {
                    self.presence(arg);
                }
                Vec::new()
            }
            ExprKind::Quantifier(_, slot, list, body) => {
                self.with_var(*slot, list, |reads| reads.value(body));
                Vec::new()
            }
            ExprKind::Comprehension(slot, list, body, filter) => {
                self.with_var(*slot, list, |reads| {
                    if let Some(filter) = filter {
                        reads.value(filter);
                    }
                    reads.origins(body)
                })
            }
            ExprKind::If(condition, then, otherwise) => {
                self.value(condition);
                let mut origins = self.origins(then);
                origins.extend(self.origins(otherwise));
                origins
            }
            ExprKind::List(items) => items.iter().flat_map(|item| self.origins(item)).collect(),
            ExprKind::Local(index) | ExprKind::AllOf(index) => self.local(*index),
            ExprKind::Group => vec![Vec::new()],
            _ => {
                let mut children = Vec::new();
                expr.for_each_child(&mut |child| children.push(child));
                for child in children {
                    self.value(child);
                }
                Vec::new()
            }
        }
    }
}

/// `prefix` followed by the keys of `path` (an index keeps the path where it is: a list's
/// elements stand where the list does).
fn keys(prefix: &[Box<str>], path: &[Segment]) -> Vec<Box<str>> {
    let mut keys = prefix.to_vec();
    keys.extend(path.iter().filter_map(|segment| match segment {
        Segment::Key(key) => Some(key.clone()),
        Segment::Index(_) => None,
    }));
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn projection_of(policy: &str) -> Option<Projection> {
        let source = crate::source::SourceFile::new("p.policy", policy);
        let program = crate::check::check_sources(&[source]).expect("the policy compiles");
        program.projection(&[&[Segment::Key("id".into())]])
    }

    fn reads(projection: &Projection, path: &[&str]) -> Option<Wanted> {
        let mut at = projection.root();
        for key in path {
            at = projection.child(at, key)?;
        }
        Some(at)
    }

    #[test]
    fn a_comprehension_reads_the_fields_of_its_elements() {
        let p = projection_of(
            "rule r {\n  let amounts = [b.value.amount for b in bids.details where b.status == valid]\n  deny when sum(amounts) > 2\n}\n",
        )
        .expect("a projection");
        assert_eq!(
            reads(&p, &["bids", "details", "value", "amount"]),
            Some(Wanted::Everything)
        );
        assert_eq!(
            reads(&p, &["bids", "details", "status"]),
            Some(Wanted::Everything)
        );
        assert!(matches!(
            reads(&p, &["bids", "details"]),
            Some(Wanted::Fields(_))
        ));
        assert_eq!(reads(&p, &["bids", "details", "id"]), None);
        assert_eq!(reads(&p, &["parties"]), None);
        assert_eq!(reads(&p, &["id"]), Some(Wanted::Everything));
    }

    #[test]
    fn a_group_rule_reads_through_group_and_its_keys() {
        let p = projection_of(
            "rule r {\n  warn per vendor\n  when sum(group.amount) > 10 and any x in group where x.note.text exists\n  message \"{vendor}: {count(group)}\"\n}\n",
        )
        .expect("a projection");
        assert_eq!(reads(&p, &["vendor"]), Some(Wanted::Everything));
        assert_eq!(reads(&p, &["amount"]), Some(Wanted::Everything));
        assert!(matches!(
            reads(&p, &["note", "text"]),
            Some(Wanted::Fields(_))
        ));
        assert_eq!(reads(&p, &["note", "other"]), None);
        assert_eq!(reads(&p, &["date"]), None);
    }

    #[test]
    fn a_let_passes_on_the_elements_it_chose() {
        let p = projection_of(
            "rule r {\n  let chosen = [b for b in bids where b.status == valid]\n  deny when max([b.amount for b in chosen]) > 10\n}\n",
        )
        .expect("a projection");
        assert_eq!(reads(&p, &["bids", "amount"]), Some(Wanted::Everything));
        assert_eq!(reads(&p, &["bids", "status"]), Some(Wanted::Everything));
        assert_eq!(reads(&p, &["bids", "date"]), None);
    }

    #[test]
    fn a_message_field_and_a_schema() {
        let p = projection_of("rule r {\n  deny when amount > 1\n  message \"{buyer}\"\n}\n")
            .expect("a projection");
        assert_eq!(reads(&p, &["buyer", "unit"]), Some(Wanted::Everything));
        assert_eq!(reads(&p, &["vendor"]), None);
        // A rendered group reads every field.
        assert!(projection_of("rule r {\n  warn per vendor\n  message \"{group}\"\n}\n").is_none());
    }

    #[test]
    fn rules_across_records_keep_only_what_they_read_after_the_records() {
        let source = crate::source::SourceFile::new(
            "p.policy",
            "rule r {\n  warn per vendor, month(date)\n  where status == open\n  when sum(group.amount) > 10\n}\nrule s {\n  note per id\n  when count(group) > 1\n}\ndeny when flagged == true\n",
        );
        let program = crate::check::check_sources(&[source]).expect("the policy compiles");
        let kept = program.across_projection();
        // Keys and `where` are read as records stream past; only `amount` is read later.
        assert_eq!(reads(&kept, &["amount"]), Some(Wanted::Everything));
        for field in ["vendor", "date", "status", "id", "flagged"] {
            assert_eq!(reads(&kept, &[field]), None, "{field}");
        }
        // A run split into parts sends the group everything, keys and `where` included.
        let sent_fields = program.across_reads();
        let mut sent = sent_fields.top_level().expect("some fields");
        sent.sort_unstable();
        assert_eq!(sent, ["amount", "date", "id", "status", "vendor"]);
        let read = program.projection(&[]).expect("a projection");
        for field in ["vendor", "date", "status", "id", "flagged", "amount"] {
            assert_eq!(reads(&read, &[field]), Some(Wanted::Everything), "{field}");
        }
        let source = crate::source::SourceFile::new(
            "p.policy",
            "rule s {\n  note per id\n  when count(group) > 1\n}\n",
        );
        let program = crate::check::check_sources(&[source]).expect("the policy compiles");
        assert!(program.across_projection().is_nothing());
    }

    #[test]
    fn a_let_computed_as_the_record_streams_past_keeps_its_value_not_its_fields() {
        let source = crate::source::SourceFile::new(
            "p.policy",
            "rule r {\n  let share = amount / total\n  let fence = upper_fence(all.share)\n  \
             warn when share > fence and flagged == true\n  message \"{share}\"\n}\n\
             rule g {\n  let each half = amount / 2\n  let big = [r.id for r in group where r.half > 3]\n  \
             note per vendor when count(big) > 0\n}\n",
        );
        let program = crate::check::check_sources(&[source]).expect("the policy compiles");
        let kept = program.across_projection();
        // `share` and `half` are kept as values; `flagged` and `id` are read once every
        // record is read.
        for field in ["amount", "total", "vendor"] {
            assert_eq!(reads(&kept, &[field]), None, "{field}");
        }
        assert_eq!(reads(&kept, &["flagged"]), Some(Wanted::Everything));
        // (Only whether there is an `id`: `count` reads no more of it.)
        assert!(reads(&kept, &["id"]).is_some());
        assert_eq!(program.stored_lets(0), [true, false]);
        assert_eq!(program.stored_lets(1), [true, false]);
        // Everything is still read as the records stream past.
        let read = program.projection(&[]).expect("a projection");
        for field in ["amount", "total", "flagged", "vendor"] {
            assert_eq!(reads(&read, &[field]), Some(Wanted::Everything), "{field}");
        }
    }

    #[test]
    fn a_value_used_whole_keeps_everything_under_it() {
        let p = projection_of("deny when tender == \"x\" and buyer.name exists\n")
            .expect("a projection");
        assert_eq!(
            reads(&p, &["tender", "anything", "deep"]),
            Some(Wanted::Everything)
        );
        assert!(matches!(
            reads(&p, &["buyer", "name"]),
            Some(Wanted::Fields(_))
        ));
        assert_eq!(reads(&p, &["buyer", "id"]), None);
    }

    #[test]
    fn a_computed_index_reads_the_whole_value() {
        let p =
            projection_of("rule r {\n  let key = lower(name)\n  deny when prices[key] == 1\n}\n")
                .expect("a projection");
        assert_eq!(reads(&p, &["prices", "a"]), Some(Wanted::Everything));
        assert_eq!(reads(&p, &["name"]), Some(Wanted::Everything));
        assert_eq!(reads(&p, &["other"]), None);
    }
}
