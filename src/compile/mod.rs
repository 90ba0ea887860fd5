//! AST to [`Program`]: names resolved (docs/language.md §4, Names), constants folded, regexes and
//! alias sets built once. Every error is collected, not only the first.

pub mod alias;
pub mod index;
pub mod program;
pub mod projection;
pub mod quick;
pub mod statements;

use std::collections::HashMap;
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::diagnostic::{Code, Diag};
use crate::source::{Source, Span};
use crate::suggest::closest;
use crate::syntax::ast::{self, CompareOp, ExprKind as A, Literal, NamePlace};
pub use program::*;

/// The largest compiled regex allowed, in bytes.
pub(crate) const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// What a `let` or `alias` name stands for in a file.
#[derive(Debug, Clone)]
pub(crate) enum Binding {
    /// `let NAME = VALUE`: the value, and the membership set when it is a list.
    Let(Const, Option<Arc<ConstSet>>),
    /// `alias NAME = [...]`: the symbol's spellings.
    Alias(Arc<AliasSet>),
    /// `let NAME = SYMBOL` where SYMBOL is an aliased symbol (`let v = DJI`): the symbol, which
    /// the name is wherever it is used, and its spellings, which it matches as the symbol does.
    Symbol(Arc<str>, Arc<AliasSet>),
    /// A `let` whose value could not be computed: its error is said, and what reads it is a
    /// placeholder, not another error.
    Failed,
}

/// The names visible in one policy file: its own `let`s and `alias`es and those of the files it
/// imports.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    /// Name to binding.
    pub names: HashMap<String, Binding>,
}

/// Compiles the expressions of one policy file in its scope.
pub(crate) struct Compiler<'a> {
    source: &'a Source,
    scope: &'a Scope,
    vars: Vec<String>,
    /// The slots of the variables that range over `group` itself (`r` in `any r in group …`),
    /// which read a `let each` as `r.NAME`.
    group_vars: Vec<usize>,
    /// The names of the rule block being compiled, if any.
    pub rule: Option<RuleNames>,
    /// Every error found so far.
    pub errors: Vec<Diag>,
    /// Where those errors point: an expression there is a placeholder ([`Compiler::failed`]),
    /// not an error of its own.
    failed_at: Vec<Span>,
}

/// What the names of a rule block mean while one of its expressions is compiled (§12–§13).
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleNames {
    /// The rule-local `let`s, by index.
    pub lets: Vec<String>,
    /// Which of them are `let each` of a group rule (computed per record before grouping).
    pub each: Vec<bool>,
    /// The date each is bound to, when it is a date literal: a date filter may name it.
    pub dates: Vec<Option<jiff::civil::Date>>,
    /// Whether a `let each` is being compiled: it reads no group-level let and no `all.`.
    pub in_each: bool,
    /// Group keys: their text as written and their `as` name.
    pub keys: Vec<(String, Option<String>)>,
    /// Whether the expression is evaluated per group (a group rule's `having`, `when`, `unless`,
    /// lets, message and waivers), where a field path that is not a key has no single value.
    pub per_group: bool,
    /// Whether rule-local lets may be read here (not in a group rule's `where` or keys).
    pub lets_allowed: bool,
    /// Whether `all.NAME` may be read here (not in `where` or `having`: that is a cycle).
    pub all_allowed: bool,
    /// In a waiver's condition, the lets whose values over the run its rule keeps (those the
    /// rule reads as `all.NAME`); `None` elsewhere.
    pub all_kept: Option<Vec<usize>>,
    /// The lets that `all.` reads, found while compiling.
    pub all_read: Vec<usize>,
    /// The lets an expression reads, found while compiling (for cycles between lets).
    pub lets_read: Vec<usize>,
}

/// What a boolean position is called in messages.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Position {
    /// `when EXPR`
    When,
    /// `unless EXPR`
    Unless,
    /// `require EXPR`
    Require,
    /// An operand of `and`, `or` or `not`, or a quantifier's `where`.
    Operand,
    /// A waiver's `for EXPR`.
    For,
    /// A group rule's `where EXPR`.
    Where,
    /// A group rule's `having EXPR`.
    Having,
}

impl<'a> Compiler<'a> {
    /// A compiler for the file `source` with the names of `scope`.
    pub fn new(source: &'a Source, scope: &'a Scope) -> Self {
        Compiler {
            source,
            scope,
            vars: Vec::new(),
            group_vars: Vec::new(),
            rule: None,
            errors: Vec::new(),
            failed_at: Vec::new(),
        }
    }

    /// The file being compiled.
    pub fn source(&self) -> &'a Source {
        self.source
    }

    /// Whether the file declares `name` with `let` or `alias` (or imports one).
    pub fn declares(&self, name: &str) -> bool {
        self.scope.names.contains_key(name)
    }

    fn error(
        &mut self,
        code: Code,
        message: String,
        span: Span,
        label: &str,
        help: Option<String>,
    ) {
        self.failed_at.push(span);
        self.errors.push(
            Diag::error(code, message)
                .label(self.source, span, label)
                .maybe_help(help),
        );
    }

    /// Whether an expression compiled so far read something whose error is said already (a
    /// `let` that could not be computed).
    pub(crate) fn read_a_failure(&self) -> bool {
        !self.failed_at.is_empty()
    }

    /// A placeholder for an expression that failed to compile; its error is already recorded.
    fn failed(span: Span) -> Expr {
        Expr {
            kind: ExprKind::Const(Const::Bool(false)),
            span,
        }
    }

    /// Compiles a rule clause that must be a condition.
    pub fn clause(&mut self, expr: &ast::Expr, position: Position) -> Clause {
        let compiled = self.condition(expr, position);
        Clause {
            expr: compiled,
            span: expr.span,
            text: collapse_whitespace(self.source.slice(expr.span)),
        }
    }

    /// Compiles an expression that must be true or false.
    pub fn condition(&mut self, expr: &ast::Expr, position: Position) -> Expr {
        let compiled = self.expr(expr);
        if let Some(found) = static_non_boolean(&compiled) {
            let place = match position {
                Position::When => "`when` takes",
                Position::Unless => "`unless` takes",
                Position::Require => "`require` takes",
                Position::Operand => "`and`, `or`, `not` and `where` take",
                Position::For => "a waiver's `for` takes",
                Position::Where => "`where` takes",
                Position::Having => "`having` takes",
            };
            self.error(
                Code::CheckNotBoolean,
                format!("{place} a condition, but this is {found}"),
                expr.span,
                "not true or false",
                Some("write a comparison, such as `amount > 1000` or `exemption exists`".into()),
            );
        }
        compiled
    }

    /// Compiles a filter into a clause.
    pub fn filter(&mut self, filter: &ast::Filter) -> Clause {
        use crate::syntax::ast::FilterKind as F;
        let span = filter.span;
        let vendor = || Expr {
            kind: ExprKind::Field(vec![Segment::Key("vendor".into())]),
            span,
        };
        let expr = match &filter.kind {
            F::VendorIs(value) => {
                let (right, aliases) = self.symbol_operand(value);
                if let ExprKind::Const(Const::List(_)) = right.kind {
                    let name = self.source.slice(value.span).to_string();
                    self.error(
                        Code::CheckVendorList,
                        format!("`vendor {name}` compares the vendor with a list"),
                        value.span,
                        "a list",
                        Some(format!("to test membership, write `vendor in {name}`")),
                    );
                }
                ExprKind::Equals {
                    left: Box::new(vendor()),
                    right: Box::new(right),
                    aliases,
                    negated: false,
                }
            }
            F::VendorIn(list) => self.membership(vendor(), list, false),
            F::VendorNotIn(list) => self.membership(vendor(), list, true),
            F::After(path, date) => self.date_filter(path.as_ref(), date, Order::Gt, span),
            F::Before(path, date) => self.date_filter(path.as_ref(), date, Order::Lt, span),
            F::Between(path, from, to) => {
                let low = self.date_filter(path.as_ref(), from, Order::Ge, span);
                let high = self.date_filter(path.as_ref(), to, Order::Le, span);
                ExprKind::And(vec![Expr { kind: low, span }, Expr { kind: high, span }])
            }
        };
        Clause {
            expr: Expr { kind: expr, span },
            span,
            text: collapse_whitespace(self.source.slice(span)),
        }
    }

    fn date_filter(
        &mut self,
        path: Option<&ast::Expr>,
        date: &ast::Expr,
        order: Order,
        span: Span,
    ) -> ExprKind {
        let field = match path {
            Some(path) => self.expr(path),
            None => Expr {
                kind: ExprKind::Field(vec![Segment::Key("date".into())]),
                span,
            },
        };
        let bound = Expr {
            kind: match self.date_constant(date, "a date filter needs a date") {
                Some(d) => ExprKind::Const(Const::Date(d)),
                None => ExprKind::Const(Const::Bool(false)),
            },
            span: date.span,
        };
        ExprKind::Order(order, Box::new(field), Box::new(bound))
    }

    /// The date `expr` stands for (a date literal or a `let` bound to one), or an error saying
    /// `what` ("a date filter needs a date").
    pub(crate) fn date_constant(
        &mut self,
        expr: &ast::Expr,
        what: &str,
    ) -> Option<jiff::civil::Date> {
        // A rule-local let bound to a date literal is that date, even where the rule's other
        // lets may not be read (a group rule's filters run before grouping).
        if let A::Name(name, _) = &expr.kind
            && let Some(rule) = &self.rule
            && let Some(l) = rule.lets.iter().position(|l| l == name)
            && let Some(Some(date)) = rule.dates.get(l)
        {
            return Some(*date);
        }
        let compiled = self.expr(expr);
        if self.failed_at.contains(&compiled.span) {
            // Its error is said already (a `let` that could not be computed).
            return None;
        }
        let found = match &compiled.kind {
            ExprKind::Const(Const::Date(d)) => return Some(*d),
            ExprKind::Const(c) => c.type_name(),
            _ => "not a constant",
        };
        // A misspelt name of a `let` bound to a date: the nearest such name.
        let near = match &expr.kind {
            A::Name(name, _) => {
                let dates = self.scope.names.iter().filter_map(|(n, b)| {
                    matches!(b, Binding::Let(Const::Date(_), _)).then_some(n.as_str())
                });
                closest(name, dates)
            }
            _ => None,
        };
        let help = match near {
            Some(near) => format!("did you mean `{near}`?"),
            None => "write a date literal, or the name of a `let` bound to one".into(),
        };
        self.error(
            Code::CheckNotADate,
            format!("{what}, but this is {found}"),
            expr.span,
            "expected a date like 2018-05-23",
            Some(help),
        );
        None
    }

    /// What `name` is bound to in the file's scope (a `let` or an `alias`), if anything.
    pub(crate) fn binding(&self, name: &str) -> Option<&'a Binding> {
        self.scope.names.get(name)
    }

    /// A symbol position: the compiled operand and, for an aliased symbol, its spellings.
    fn symbol_operand(&mut self, expr: &ast::Expr) -> (Expr, Option<Arc<AliasSet>>) {
        if let A::Name(name, NamePlace::SymbolSlot) = &expr.kind
            && !self.vars.contains(name)
        {
            let (symbol, set) = match self.scope.names.get(name) {
                Some(Binding::Alias(set)) => (name.as_str(), set),
                Some(Binding::Symbol(symbol, set)) => (&**symbol, set),
                _ => return (self.expr(expr), None),
            };
            let symbol = Expr {
                kind: ExprKind::Const(Const::String(symbol.into())),
                span: expr.span,
            };
            return (symbol, Some(set.clone()));
        }
        (self.expr(expr), None)
    }

    fn membership(&mut self, needle: Expr, list: &ast::Expr, negated: bool) -> ExprKind {
        let needle = Box::new(needle);
        let local = |name: &String| {
            self.rule.as_ref().is_some_and(|r| {
                r.lets.contains(name) || r.keys.iter().any(|(_, n)| n.as_ref() == Some(name))
            })
        };
        match &list.kind {
            // A rule-local let or a key computed per record or group: a list known at run time.
            A::Name(name, _) if !self.vars.contains(name) && local(name) => {
                let haystack = self.name(name, NamePlace::Plain, list.span);
                ExprKind::InList(needle, Box::new(haystack), negated)
            }
            A::Name(name, _) if !self.vars.contains(name) => match self.scope.names.get(name) {
                Some(Binding::Let(_, Some(set))) => ExprKind::InSet(needle, set.clone(), negated),
                Some(Binding::Alias(aliases)) => {
                    let set = ConstSet {
                        aliases: (**aliases).clone(),
                        ..ConstSet::default()
                    };
                    ExprKind::InSet(needle, Arc::new(set), negated)
                }
                Some(Binding::Failed) => {
                    self.failed_at.push(list.span);
                    ExprKind::Const(Const::Bool(false))
                }
                Some(binding @ (Binding::Let(_, None) | Binding::Symbol(..))) => {
                    let found = match binding {
                        Binding::Let(value, _) => value.type_name(),
                        _ => "a string",
                    };
                    self.error(
                        Code::CheckNotAList,
                        format!("`{name}` is {found}, not a list"),
                        list.span,
                        "expected a list",
                        Some(format!("`in` needs a list: declare `let {name} = [...]`")),
                    );
                    ExprKind::Const(Const::Bool(false))
                }
                None => {
                    let help = self.suggest_list(name);
                    self.error(
                        Code::CheckUnknownList,
                        format!("`{name}` is not a list declared with `let` or `alias`"),
                        list.span,
                        "no `let` or `alias` of this name is visible here",
                        Some(help),
                    );
                    ExprKind::Const(Const::Bool(false))
                }
            },
            A::List(items) => match self.const_set(items) {
                Ok(set) => ExprKind::InSet(needle, Arc::new(set), negated),
                // Elements computed per record: a list like any other, beside the set of the
                // constants (whose aliases keep their spellings). `not in` is in neither.
                Err((set, computed)) => {
                    let computed = ExprKind::InList(
                        needle.clone(),
                        Box::new(Expr {
                            kind: ExprKind::List(computed),
                            span: list.span,
                        }),
                        negated,
                    );
                    if set.is_empty() {
                        return computed;
                    }
                    let span = needle.span.join(list.span);
                    let both = vec![
                        Expr {
                            kind: ExprKind::InSet(needle, Arc::new(set), negated),
                            span,
                        },
                        Expr {
                            kind: computed,
                            span,
                        },
                    ];
                    if negated {
                        ExprKind::And(both)
                    } else {
                        ExprKind::Or(both)
                    }
                }
            },
            _ => {
                let haystack = self.expr(list);
                ExprKind::InList(needle, Box::new(haystack), negated)
            }
        }
    }

    fn suggest_list(&self, name: &str) -> String {
        let lists = self.scope.names.iter().filter_map(|(n, b)| match b {
            Binding::Let(_, Some(_)) | Binding::Alias(_) => Some(n.as_str()),
            Binding::Let(_, None) | Binding::Symbol(..) | Binding::Failed => None,
        });
        // The rule's own lets and keys too: a list known when the rule runs.
        let local = self.rule.iter().flat_map(|r| {
            r.lets
                .iter()
                .map(String::as_str)
                .chain(r.keys.iter().filter_map(|(_, n)| n.as_deref()))
        });
        let lists = lists.chain(local);
        match closest(name, lists) {
            Some(found) => format!("did you mean `{found}`?"),
            None => format!("declare it: `let {name} = [...]`, or import the file that does"),
        }
    }

    /// Builds the membership set of a list literal's elements; when some are computed per record
    /// (a rule's `let`, a field path), the set of the others and those compiled.
    pub(crate) fn const_set(
        &mut self,
        items: &[ast::Expr],
    ) -> Result<ConstSet, (ConstSet, Vec<Expr>)> {
        let mut set = ConstSet::default();
        let mut computed = Vec::new();
        for item in items {
            let expr = self.expr(item);
            if let A::Name(name, _) = &item.kind
                && let Some(Binding::Alias(aliases) | Binding::Symbol(_, aliases)) =
                    self.scope.names.get(name)
                && matches!(expr.kind, ExprKind::Const(_))
            {
                set.aliases.extend(aliases);
            } else if let ExprKind::Const(constant) = &expr.kind {
                set.insert(constant.clone());
            } else {
                computed.push(expr);
            }
        }
        if computed.is_empty() {
            Ok(set)
        } else {
            Err((set, computed))
        }
    }

    /// The text of `span` as written, a message placeholder's `\"` read as the quote it is.
    fn written(&self, span: Span) -> String {
        self.source.slice(span).replace("\\\"", "\"")
    }

    /// In a group rule, the key an expression is written as (`vendor`, `week(date)`), if any.
    fn group_key_of(&self, expr: &ast::Expr) -> Option<usize> {
        let names = self.rule.as_ref().filter(|r| r.per_group)?;
        if !matches!(
            expr.kind,
            A::Name(..) | A::Member(..) | A::Call(..) | A::Index(..)
        ) {
            return None;
        }
        // As the key's text was taken: on one line, spaced as `caveat fmt` spaces it (so that
        // `week( date )` is `week(date)`); `record.vendor` is the field `vendor`.
        let text = field_text(&crate::syntax::tokens::one_line(&self.written(expr.span)));
        names
            .keys
            .iter()
            .position(|(key, _)| field_text(key) == text)
    }

    /// In a group rule, a field path that is neither a key nor a name: an error that says what to
    /// write instead. Returns whether it reported one.
    fn field_in_group(&mut self, expr: &ast::Expr) -> bool {
        let Some(names) = self.rule.as_ref().filter(|r| r.per_group) else {
            return false;
        };
        let mut root = expr;
        while let A::Member(base, _) | A::Index(base, _) = &root.kind {
            root = base;
        }
        let first = match &root.kind {
            A::Name(first, NamePlace::Plain) => first.as_str(),
            // `record.amount` or `record["amount"]` in a group rule has no single value either.
            A::RecordRoot if !std::ptr::eq(root, expr) => "",
            A::RecordRoot => {
                self.error(
                    Code::CheckGroupField,
                    "`record` differs between the records of a group: use `group`".into(),
                    expr.span,
                    "not one record",
                    Some(
                        "inside a rule with `per`, the group's records are the list `group` \
                         (`count(group)`, `all r in group where …`)"
                            .into(),
                    ),
                );
                return true;
            }
            _ => return false,
        };
        let is_name = !first.is_empty()
            && (self.vars.iter().any(|v| v == first)
                || names.lets.iter().any(|l| l == first)
                || names.keys.iter().any(|(_, n)| n.as_deref() == Some(first))
                || self.scope.names.contains_key(first)
                || first == "id");
        if is_name {
            return false;
        }
        let written = collapse_whitespace(&self.written(expr.span));
        // What follows a record in the path (`.amount`, `["amount"]`, `[0].unit`).
        let tail = match written.strip_prefix("record") {
            Some(rest) if rest.starts_with(['.', '[']) => rest.to_string(),
            _ => format!(".{written}"),
        };
        let path = match tail.strip_prefix('.') {
            Some(path) => path.to_string(),
            None => written.clone(),
        };
        let keys: Vec<String> = names
            .keys
            .iter()
            .map(|(text, name)| name.clone().unwrap_or_else(|| text.clone()))
            .collect();
        // `group.amount` lists every record's amount; a position (`buyer[0]`) would pick from
        // that whole list instead, so each record's value is taken by a comprehension.
        let picks = tail
            .match_indices('[')
            .any(|(i, _)| !tail.get(i + 1..).is_some_and(|rest| rest.starts_with('"')));
        let values = if picks {
            format!("[r{tail} for r in group]")
        } else {
            format!("group{tail}")
        };
        self.error(
            Code::CheckGroupField,
            format!("`{path}` differs between the records of a group: use `{values}`"),
            expr.span,
            "not a key of the group",
            Some(format!(
                "inside a rule with `per`, a field is read through `group`, which lists each \
                 record's value (`max({values})`, `distinct({values})`, `all r in group where \
                 r{tail} …`); the group's keys are {}{}",
                keys.iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                // A key computed from fields is read by a name of its own.
                names
                    .keys
                    .iter()
                    .find(|(text, name)| {
                        name.is_none() && !text.split('.').all(crate::syntax::is_identifier)
                    })
                    .map_or_else(String::new, |(text, _)| format!(
                        ", and a computed key is read by the name `as` gives it: \
                         `per {text} as NAME`, then `NAME`"
                    ))
            )),
        );
        true
    }

    /// Declares a comprehension's or quantifier's variable, ranging over `list`: its slot.
    fn push_var(&mut self, name: &str, list: &Expr) -> usize {
        self.vars.push(name.to_string());
        let slot = self.vars.len() - 1;
        if matches!(list.kind, ExprKind::Group) {
            self.group_vars.push(slot);
        }
        slot
    }

    /// Ends the innermost variable's scope.
    fn pop_var(&mut self) {
        self.vars.pop();
        let len = self.vars.len();
        self.group_vars.retain(|&slot| slot < len);
    }

    /// The index of the `let each` named `name` of the rule being compiled, if there is one.
    fn each_let(&self, name: &str) -> Option<usize> {
        let rule = self.rule.as_ref()?;
        let index = rule.lets.iter().position(|l| l == name)?;
        rule.each
            .get(index)
            .copied()
            .unwrap_or(false)
            .then_some(index)
    }

    /// `group.NAME` or `r.NAME` for `r in group`, NAME a `let each`: its values per record.
    fn each_in_group(&mut self, expr: &ast::Expr) -> Option<ExprKind> {
        let A::Member(base, field) = &expr.kind else {
            return None;
        };
        let index = self.each_let(&field.node)?;
        match &base.kind {
            A::Group if self.rule.as_ref().is_some_and(|r| r.per_group) => {
                Some(ExprKind::GroupLet(index))
            }
            A::Name(name, NamePlace::Plain) => {
                let slot = self.vars.iter().rposition(|v| v == name)?;
                self.group_vars
                    .contains(&slot)
                    .then_some(ExprKind::MemberLet(slot, index))
            }
            _ => None,
        }
    }

    /// Compiles any expression.
    pub(crate) fn expr(&mut self, expr: &ast::Expr) -> Expr {
        let span = expr.span;
        if let Some(key) = self.group_key_of(expr) {
            return Expr {
                kind: ExprKind::GroupKey(key),
                span,
            };
        }
        if let Some(kind) = self.each_in_group(expr) {
            return Expr { kind, span };
        }
        if matches!(expr.kind, A::Member(..) | A::Index(..) | A::RecordRoot)
            && self.field_in_group(expr)
        {
            return Self::failed(span);
        }
        let kind = match &expr.kind {
            A::If(condition, then, otherwise) => ExprKind::If(
                Box::new(self.condition(condition, Position::Operand)),
                Box::new(self.expr(then)),
                Box::new(self.expr(otherwise)),
            ),
            A::Comprehension {
                body,
                var,
                list,
                filter,
            } => {
                let list = self.expr(list);
                let slot = self.push_var(&var.node, &list);
                let body = self.expr(body);
                let filter = filter
                    .as_ref()
                    .map(|f| Box::new(self.condition(f, Position::Operand)));
                self.pop_var();
                ExprKind::Comprehension(slot, Box::new(list), Box::new(body), filter)
            }
            A::AllOf(name) => return self.all_of(name, span),
            A::Group => {
                if self.rule.as_ref().is_some_and(|r| r.per_group) {
                    ExprKind::Group
                } else if self.rule.as_ref().is_some_and(|r| !r.keys.is_empty()) {
                    self.error(
                        Code::CheckGroupOutside,
                        "`group` is not known yet in `where` and the keys".into(),
                        span,
                        "read before the records are grouped",
                        Some(
                            "`where` and the keys run on each record to form the groups: test \
                             the group in `having` or `when`"
                                .into(),
                        ),
                    );
                    return Self::failed(span);
                } else {
                    self.error(
                        Code::CheckGroupOutside,
                        "`group` is only known inside a rule with `per`".into(),
                        span,
                        "no group here",
                        Some(
                            "group records with `per KEY` (`warn per vendor when count(group) > 2`); \
                             a group rule's `where` runs on each record before grouping"
                                .into(),
                        ),
                    );
                    return Self::failed(span);
                }
            }
            A::Literal(lit) => ExprKind::Const(literal(lit)),
            A::List(items) => {
                let compiled: Vec<Expr> = items.iter().map(|i| self.expr(i)).collect();
                match all_const(&compiled) {
                    Some(values) => ExprKind::Const(Const::List(values)),
                    // Names in it are lets or fields (LANGUAGE.md §4, names 2 and 5).
                    None => ExprKind::List(compiled),
                }
            }
            A::Name(name, place) => return self.name(name, *place, span),
            A::RecordRoot => ExprKind::Field(Vec::new()),
            A::Member(base, field) => {
                let errors = self.errors.len();
                let base = self.expr(base);
                if self.errors.len() > errors {
                    // One mistake, one diagnostic: the base's error says it already.
                    return Self::failed(span);
                }
                return self.member(base, Segment::Key(field.node.as_str().into()), span);
            }
            A::Index(base_ast, index) => {
                // `(items.v)[1]` indexes the whole projection, not each element's `v`.
                let grouped = matches!(base_ast.kind, A::Paren(_));
                let base = self.expr(base_ast);
                let index = self.expr(index);
                let segment = match &index.kind {
                    ExprKind::Const(Const::String(s)) => Some(Segment::Key(s.clone())),
                    ExprKind::Const(Const::Number(n)) => match i64::try_from(*n) {
                        Ok(i) if n.fract().is_zero() => Some(Segment::Index(i)),
                        _ => {
                            self.error(
                                Code::CheckBadIndex,
                                format!("`{n}` is not a list position"),
                                index.span,
                                "expected a whole number",
                                None,
                            );
                            return Self::failed(span);
                        }
                    },
                    _ => None,
                };
                match segment {
                    Some(Segment::Index(_)) if grouped => {
                        ExprKind::Index(Box::new(base), Box::new(index))
                    }
                    Some(segment) => return self.member(base, segment, span),
                    None => ExprKind::Index(Box::new(base), Box::new(index)),
                }
            }
            A::Call(name, args) => return self.call(name, args, span),
            A::Not(inner) => ExprKind::Not(Box::new(self.condition(inner, Position::Operand))),
            A::And(items) => ExprKind::And(
                items
                    .iter()
                    .map(|i| self.condition(i, Position::Operand))
                    .collect(),
            ),
            A::Or(items) => ExprKind::Or(
                items
                    .iter()
                    .map(|i| self.condition(i, Position::Operand))
                    .collect(),
            ),
            A::Compare(op, _, left, right) => return self.compare(*op, left, right, span),
            A::Exists(inner) => ExprKind::Exists(Box::new(self.expr(inner))),
            A::Missing(inner) => ExprKind::Missing(Box::new(self.expr(inner))),
            A::Arith(first, rest) => {
                let first = self.expr(first);
                let rest: Vec<(ast::ArithOp, Span, Expr)> = rest
                    .iter()
                    .map(|(op, e)| (op.node, op.span, self.expr(e)))
                    .collect();
                return self.fold_arith(first, rest, span);
            }
            A::Neg(inner) => {
                let inner = self.expr(inner);
                match inner.kind {
                    ExprKind::Const(Const::Number(n)) => {
                        ExprKind::Const(Const::Number(crate::value::negate(n)))
                    }
                    _ => ExprKind::Neg(Box::new(inner)),
                }
            }
            A::Quantifier(q, var, list, body) => {
                let list = self.expr(list);
                let slot = self.push_var(&var.node, &list);
                let body = self.condition(body, Position::Operand);
                self.pop_var();
                ExprKind::Quantifier(*q, slot, Box::new(list), Box::new(body))
            }
            A::Paren(inner) => return self.expr(inner),
        };
        Expr { kind, span }
    }

    /// `all.NAME`: a rule-local let over the whole run.
    /// `all.NAME`, written at `whole`: what reads it (a comparison's message) names it whole.
    fn all_of(&mut self, name: &crate::source::Spanned<String>, whole: Span) -> Expr {
        let span = name.span;
        let Some(rule) = self.rule.as_mut() else {
            self.error(
                Code::CheckUnknownAll,
                format!(
                    "`all.{}` reads a rule-local `let`, but this is not inside a rule block",
                    name.node
                ),
                span,
                "no rule-local `let` here",
                Some("declare `let NAME = …` inside the `rule ID { … }` block".into()),
            );
            return Self::failed(span);
        };
        let Some(index) = rule.lets.iter().position(|l| *l == name.node) else {
            let lets = rule.lets.clone();
            let help = match closest(&name.node, lets.iter().map(String::as_str)) {
                Some(found) => format!("did you mean `all.{found}`?"),
                None if lets.is_empty() => {
                    "`all.NAME` reads a `let` declared inside this rule block; this rule has none"
                        .into()
                }
                None => format!(
                    "this rule's lets are {}",
                    lets.iter()
                        .map(|l| format!("`{l}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.error(
                Code::CheckUnknownAll,
                format!("`all.{}` names no rule-local `let` of this rule", name.node),
                span,
                "not a `let` of this rule",
                Some(help),
            );
            return Self::failed(span);
        };
        if !rule.all_allowed {
            let (place, help) = if rule.in_each {
                (
                    "a `let each`",
                    format!(
                        "a `let each` is computed on each record as it is read, before `all.` is \
                         known: compare with `all.{0}` in a `let` of the group or in `when` \
                         (`any r in group where r.{0} > median(all.{0})`)",
                        name.node
                    ),
                )
            } else {
                (
                    "`where` or `having`",
                    "`all.NAME` is taken over the records (or groups) that pass `where` and \
                     `having`, so they cannot read it: compare in `when` instead"
                        .to_string(),
                )
            };
            self.error(
                Code::CheckAllCycle,
                format!("`all.{}` cannot be read in {place}", name.node),
                span,
                "this depends on which records or groups the rule considers",
                Some(help),
            );
            return Self::failed(span);
        }
        if let Some(kept) = &rule.all_kept
            && !kept.contains(&index)
        {
            self.error(
                Code::CheckAllInWaiver,
                format!(
                    "the rule does not read `all.{}`, so its values over the run are not kept for a waiver",
                    name.node
                ),
                span,
                "not read by the rule",
                Some(format!(
                    "compute what the waiver compares with in a let of the rule (say `let typical \
                     = median(all.{0})`) and read that let in the waiver (`… for {0} > typical`)",
                    name.node
                )),
            );
            return Self::failed(span);
        }
        if !rule.all_read.contains(&index) {
            rule.all_read.push(index);
        }
        Expr {
            kind: ExprKind::AllOf(index),
            span: whole,
        }
    }

    fn name(&mut self, name: &str, place: NamePlace, span: Span) -> Expr {
        // 1. A quantifier's variable shadows every other name.
        if let Some(slot) = self.vars.iter().rposition(|v| v == name) {
            return Expr {
                kind: ExprKind::Var(slot, Vec::new()),
                span,
            };
        }
        // A rule-local `let`, then a group key's `as` name.
        if let Some(rule) = self.rule.as_mut() {
            if let Some(index) = rule.lets.iter().position(|l| l == name) {
                let each = rule.each.get(index).copied().unwrap_or(false);
                if each && rule.per_group {
                    self.error(
                        Code::CheckGroupField,
                        format!(
                            "`{name}` differs between the records of a group: use `group.{name}`"
                        ),
                        span,
                        "a `let each`, computed for each record",
                        Some(format!(
                            "a `let each` has a value per record: read it through the group \
                             (`max(group.{name})`, `any r in group where r.{name} …`)"
                        )),
                    );
                    return Self::failed(span);
                }
                if !each && (rule.in_each || !rule.lets_allowed) {
                    let help = if rule.in_each {
                        "a `let each` is computed for each record before grouping: it may read \
                         the record, file-level names and other `let each`, not a group's `let`"
                    } else {
                        "a group rule's `where` and keys run on each record before grouping: \
                         write the expression itself here, or make it a `let each`, which is \
                         computed for each record"
                    };
                    self.error(
                        Code::CheckLocalInWhere,
                        format!("`{name}` is computed per group, after grouping"),
                        span,
                        "a rule-local `let` of a group rule",
                        Some(help.into()),
                    );
                    return Self::failed(span);
                }
                if !rule.lets_read.contains(&index) {
                    rule.lets_read.push(index);
                }
                return Expr {
                    kind: ExprKind::Local(index),
                    span,
                };
            }
            if rule.per_group
                && let Some(index) = rule
                    .keys
                    .iter()
                    .position(|(_, as_name)| as_name.as_deref() == Some(name))
            {
                return Expr {
                    kind: ExprKind::GroupKey(index),
                    span,
                };
            }
        }
        // 2. A `let` or `alias` name is that value.
        match self.scope.names.get(name) {
            Some(Binding::Let(value, _)) => {
                return Expr {
                    kind: ExprKind::Const(value.clone()),
                    span,
                };
            }
            Some(Binding::Alias(_)) => {
                return Expr {
                    kind: ExprKind::Const(Const::String(name.into())),
                    span,
                };
            }
            Some(Binding::Symbol(symbol, _)) => {
                return Expr {
                    kind: ExprKind::Const(Const::String((**symbol).into())),
                    span,
                };
            }
            Some(Binding::Failed) => {
                self.failed_at.push(span);
                return Self::failed(span);
            }
            None => {}
        }
        match place {
            // 3. A symbol: the string of the same text.
            NamePlace::SymbolSlot => Expr {
                kind: ExprKind::Const(Const::String(name.into())),
                span,
            },
            // 4. After `in`, a name must be a declared list.
            NamePlace::ListSlot => {
                let help = self.suggest_list(name);
                self.error(
                    Code::CheckUnknownList,
                    format!("`{name}` is not a list declared with `let` or `alias`"),
                    span,
                    "no `let` or `alias` of this name is visible here",
                    Some(help),
                );
                Self::failed(span)
            }
            // In a group rule, `id` is the group finding's name; another field has no value.
            NamePlace::Plain if self.rule.as_ref().is_some_and(|r| r.per_group) => {
                if name == "id" {
                    return Expr {
                        kind: ExprKind::GroupName,
                        span,
                    };
                }
                let as_expr = ast::Expr {
                    kind: A::Name(name.to_string(), NamePlace::Plain),
                    span,
                };
                self.field_in_group(&as_expr);
                Self::failed(span)
            }
            // 5. Elsewhere, a field of the record.
            NamePlace::Plain => Expr {
                kind: ExprKind::Field(vec![Segment::Key(name.into())]),
                span,
            },
        }
    }

    fn member(&mut self, base: Expr, segment: Segment, span: Span) -> Expr {
        let kind = match base.kind {
            ExprKind::Field(mut path) => {
                path.push(segment);
                ExprKind::Field(path)
            }
            ExprKind::Var(slot, mut path) => {
                path.push(segment);
                ExprKind::Var(slot, path)
            }
            // The placeholder of an expression that failed, whose error is told already.
            ExprKind::Const(_) if self.failed_at.contains(&base.span) => {
                return Self::failed(span);
            }
            // A position in a constant list (`[5, 6][1]`, `let l = […]` then `l[0]`).
            ExprKind::Const(Const::List(items)) if matches!(segment, Segment::Index(_)) => {
                let base = Box::new(Expr {
                    kind: ExprKind::Const(Const::List(items)),
                    span: base.span,
                });
                let Segment::Index(i) = segment else {
                    return Self::failed(span);
                };
                let index = Box::new(Expr {
                    kind: ExprKind::Const(Const::Number(Decimal::from(i))),
                    span,
                });
                ExprKind::Index(base, index)
            }
            ExprKind::Const(c) => {
                let name = self.source.slice(base.span).to_string();
                let declared = name
                    .chars()
                    .next()
                    .is_some_and(crate::syntax::starts_identifier);
                let (label, help) = if declared {
                    (
                        "declared with `let` or `alias`".to_string(),
                        format!("to read the record's field of that name, write `record.{name}`"),
                    )
                } else if matches!(c, Const::Number(_)) {
                    (
                        "a number".to_string(),
                        "in a number, `_` stands only between digits (`10_500`) and a decimal \
                         point is followed by a digit (`10.5`)"
                            .to_string(),
                    )
                } else {
                    (
                        "a literal".to_string(),
                        "a literal has no fields: to read a field of the record, write its path \
                         (`amount`, `buyer.unit`, `record[\"unit name\"]`)"
                            .to_string(),
                    )
                };
                self.error(
                    Code::CheckConstantHasNoFields,
                    format!(
                        "`{name}` is a constant ({}), which has no fields",
                        c.type_name()
                    ),
                    base.span,
                    &label,
                    Some(help),
                );
                return Self::failed(span);
            }
            other => {
                let base = Box::new(Expr {
                    kind: other,
                    span: base.span,
                });
                match segment {
                    Segment::Key(key) => ExprKind::Member(base, Segment::Key(key)),
                    Segment::Index(i) => ExprKind::Index(
                        base,
                        Box::new(Expr {
                            kind: ExprKind::Const(Const::Number(Decimal::from(i))),
                            span,
                        }),
                    ),
                }
            }
        };
        Expr { kind, span }
    }

    fn compare(&mut self, op: CompareOp, left: &ast::Expr, right: &ast::Expr, span: Span) -> Expr {
        let kind = match op {
            CompareOp::Eq | CompareOp::Ne => {
                let (l, left_aliases) = self.symbol_operand(left);
                let (r, right_aliases) = self.symbol_operand(right);
                ExprKind::Equals {
                    left: Box::new(l),
                    right: Box::new(r),
                    aliases: right_aliases.or(left_aliases),
                    negated: op == CompareOp::Ne,
                }
            }
            CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge => {
                let order = match op {
                    CompareOp::Lt => Order::Lt,
                    CompareOp::Le => Order::Le,
                    CompareOp::Gt => Order::Gt,
                    _ => Order::Ge,
                };
                ExprKind::Order(order, Box::new(self.expr(left)), Box::new(self.expr(right)))
            }
            CompareOp::In | CompareOp::NotIn => {
                let needle = self.expr(left);
                self.membership(needle, right, op == CompareOp::NotIn)
            }
            CompareOp::Matches => {
                let subject = self.expr(left);
                let pattern = self.expr(right);
                match &pattern.kind {
                    ExprKind::Const(Const::String(p)) => match build_regex(p) {
                        Ok(regex) => ExprKind::Matches(Box::new(subject), Arc::new(regex)),
                        Err(why) => {
                            self.error(
                                Code::CheckBadRegex,
                                format!("this regex cannot be used: {why}"),
                                right.span,
                                "invalid regex",
                                Some("caveat regexes follow the `regex` crate's syntax, with no look-around or backreferences; write them as raw strings '…'".into()),
                            );
                            return Self::failed(span);
                        }
                    },
                    _ => {
                        self.error(
                            Code::CheckRegexNotConstant,
                            "the pattern after `matches` must be a constant string".into(),
                            right.span,
                            "not a constant string",
                            Some(
                                "write the regex as a raw string: matches '^[A-Z]{2}-\\d+$'".into(),
                            ),
                        );
                        return Self::failed(span);
                    }
                }
            }
            CompareOp::Contains => {
                let l = self.expr(left);
                let (r, aliases) = self.symbol_operand(right);
                ExprKind::Contains(Box::new(l), Box::new(r), aliases)
            }
            CompareOp::StartsWith => {
                ExprKind::StartsWith(Box::new(self.expr(left)), Box::new(self.expr(right)))
            }
            CompareOp::EndsWith => {
                ExprKind::EndsWith(Box::new(self.expr(left)), Box::new(self.expr(right)))
            }
        };
        Expr { kind, span }
    }

    fn call(
        &mut self,
        name: &crate::source::Spanned<String>,
        args: &[ast::Expr],
        span: Span,
    ) -> Expr {
        let Some(function) = Function::ALL
            .iter()
            .find(|(n, _)| *n == name.node)
            .map(|(_, f)| *f)
        else {
            let help = match closest(&name.node, Function::ALL.iter().map(|(n, _)| *n)) {
                Some(f) => format!("did you mean `{f}`?"),
                None => format!(
                    "the functions are {}",
                    Function::ALL
                        .iter()
                        .map(|(n, _)| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.error(
                Code::CheckUnknownFunction,
                format!("unknown function `{}`", name.node),
                name.span,
                "no function of this name",
                Some(help),
            );
            return Self::failed(span);
        };
        let (least, most) = function.arity();
        if args.len() < least || args.len() > most {
            let wanted = match function {
                Function::Min | Function::Max => "one list, or several values".to_string(),
                Function::Today => "no argument".to_string(),
                Function::Round => "a number and, optionally, how many digits".to_string(),
                _ if least == 1 => "exactly one argument".to_string(),
                _ => format!("{least} arguments"),
            };
            self.error(
                Code::CheckArity,
                format!(
                    "`{}` takes {wanted}, but is given {}",
                    name.node,
                    args.len()
                ),
                span,
                "wrong number of arguments",
                Some({
                    let (call, what) = function
                        .signature()
                        .split_once(": ")
                        .unwrap_or((function.signature(), ""));
                    format!("write it as `{call}` ({what})")
                }),
            );
            return Self::failed(span);
        }
        let args: Vec<Expr> = args.iter().map(|a| self.expr(a)).collect();
        // A probability written as a constant is checked once, here, not on every record.
        if function == Function::Quantile
            && let Some(Expr {
                kind: ExprKind::Const(Const::Number(p)),
                span: p_span,
            }) = args.get(1)
            && (p.is_sign_negative() && !p.is_zero() || *p > rust_decimal::Decimal::ONE)
        {
            self.error(
                Code::CheckArithmetic,
                format!("`quantile` takes a probability from 0 to 1, not {p}"),
                *p_span,
                "not a probability",
                Some("write the quantile as a fraction: 0.75 for the third quartile".to_string()),
            );
            return Self::failed(span);
        }
        let call = Expr {
            kind: ExprKind::Call(function, args),
            span,
        };
        self.fold_numeric_call(call)
    }

    /// A call of a function on numbers whose arguments are numbers, or lists of numbers, written
    /// as constants (`sum([1, 2])`, `round(1.5, 0) * 2`'s `round`): computed now, so that one that
    /// overflows is found here, not blamed on every record.
    fn fold_numeric_call(&mut self, call: Expr) -> Expr {
        let ExprKind::Call(function, args) = &call.kind else {
            return call;
        };
        let numeric = |c: &Const| match c {
            Const::Number(_) => true,
            Const::List(items) => items.iter().all(|i| matches!(i, Const::Number(_))),
            _ => false,
        };
        let folds = matches!(
            function,
            Function::Sum
                | Function::Avg
                | Function::Round
                | Function::Abs
                | Function::Median
                | Function::Quantile
                | Function::LowerFence
                | Function::UpperFence
        ) && !args.is_empty()
            && args
                .iter()
                .all(|a| matches!(&a.kind, ExprKind::Const(c) if numeric(c)));
        if !folds {
            return call;
        }
        match crate::eval::constant_value(&call) {
            Some(Ok(constant)) => Expr {
                kind: ExprKind::Const(constant),
                span: call.span,
            },
            // `round`'s digits out of range are the type checker's to tell, with its help.
            Some(Err(_)) if *function == Function::Round => call,
            Some(Err(why)) => {
                self.constant_fails(Some(*function), &why, true, call.span);
                Self::failed(call.span)
            }
            None => call,
        }
    }

    /// Reports that `function` (or arithmetic, when `None`) of constants (numbers, when
    /// `numbers`; else dates and durations too) fails for `why`, at `span`, with what fits.
    fn constant_fails(&mut self, function: Option<Function>, why: &str, numbers: bool, span: Span) {
        let what = match function {
            Some(function) => format!("`{}` of these constants", function.name()),
            None => "this arithmetic on constants".to_string(),
        };
        // The evaluator's own words name the function again ("`sum` failed: WHY").
        let why = function
            .and_then(|f| why.strip_prefix(&format!("`{}` failed: ", f.name())))
            .unwrap_or(why);
        let help = if why.starts_with("division by zero") {
            "divide by a number that is not zero"
        } else if numbers {
            "a number has at most 28 significant digits (29 up to 79228162514264337593543950335)"
        } else {
            "dates and date-times go from 0000-01-01 to 9999-12-31"
        };
        self.error(
            Code::CheckArithmetic,
            format!("{what} has no value: {why}"),
            span,
            "this fails",
            Some(help.to_string()),
        );
    }

    fn fold_arith(
        &mut self,
        first: Expr,
        rest: Vec<(ast::ArithOp, Span, Expr)>,
        span: Span,
    ) -> Expr {
        use crate::eval::arith::{Fault, Term, combine};
        // Numbers, dates, date-times and durations of constants (`2018-05-23 + 1 day`) are
        // folded, so that one that overflows is found here, not blamed on every record. Other
        // constants (a string, a list) are the type checker's to refuse.
        let term = |e: &Expr| match &e.kind {
            ExprKind::Const(constant) => Term::of_constant(constant),
            _ => None,
        };
        // A chain of numbers is blamed at the operator that fails, one with time at the whole.
        let numbers = std::iter::once(&first)
            .chain(rest.iter().map(|(_, _, operand)| operand))
            .all(|e| matches!(e.kind, ExprKind::Const(Const::Number(_))));
        if let Some(mut acc) = term(&first) {
            let mut folded = true;
            for (op, op_span, operand) in &rest {
                let Some(next) = term(operand) else {
                    folded = false;
                    break;
                };
                match combine(*op, acc, next) {
                    Ok(value) => acc = value,
                    // Kinds that do not combine (`2018-01-01 + 5`): the type checker's, with
                    // its help.
                    Err(Fault::Kinds(_)) => {
                        folded = false;
                        break;
                    }
                    Err(Fault::Value(why)) => {
                        let at = if numbers { *op_span } else { span };
                        self.constant_fails(None, &why, numbers, at);
                        return Self::failed(span);
                    }
                }
            }
            if folded {
                return Expr {
                    kind: ExprKind::Const(acc.constant()),
                    span,
                };
            }
        }
        Expr {
            kind: ExprKind::Arith(Box::new(first), rest),
            span,
        }
    }
}

/// Builds a regex that must match the whole string, within the size limit.
pub(crate) fn build_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => {
                format!("it is too large (the limit is {limit} bytes compiled)")
            }
            other => other
                .to_string()
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_lowercase(),
        })
}

fn literal(lit: &Literal) -> Const {
    match lit {
        Literal::String(s) => Const::String(s.as_str().into()),
        Literal::Number(n) => Const::Number(*n),
        Literal::Date(d) => Const::Date(*d),
        Literal::DateTime(t) => Const::DateTime(*t),
        Literal::Duration(d) => Const::Duration(*d),
        Literal::Bool(b) => Const::Bool(*b),
    }
}

fn all_const(items: &[Expr]) -> Option<Vec<Const>> {
    items
        .iter()
        .map(|i| match &i.kind {
            ExprKind::Const(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

/// If an expression can never be true or false, what it is instead.
fn static_non_boolean(expr: &Expr) -> Option<&'static str> {
    match &expr.kind {
        ExprKind::Const(Const::Bool(_)) => None,
        ExprKind::Const(c) => Some(c.type_name()),
        ExprKind::Arith(..) | ExprKind::Neg(_) => Some("a number"),
        ExprKind::Call(f, _) => match f {
            Function::Count
            | Function::Sum
            | Function::Len
            | Function::Days
            | Function::Year
            | Function::FiscalYear
            | Function::Avg
            | Function::Median
            | Function::Quantile
            | Function::LowerFence
            | Function::UpperFence
            | Function::Abs
            | Function::Round => Some("a number"),
            Function::Lower
            | Function::Upper
            | Function::Month
            | Function::Quarter
            | Function::Week
            | Function::Substring => Some("a string"),
            Function::Today | Function::Day => Some("a date"),
            Function::Distinct | Function::Sort | Function::Flatten => Some("a list"),
            Function::Min | Function::Max => None,
        },
        ExprKind::Comprehension(..) | ExprKind::List(_) => Some("a list"),
        _ => None,
    }
}

/// The text on one line, spaced as `caveat fmt` spaces it, comments left out: a generated
/// message or an explanation reads the same however the policy is laid out (`amount>5` is
/// `amount > 5`).
pub(crate) fn collapse_whitespace(text: &str) -> String {
    crate::syntax::tokens::one_line(text)
}

/// Splits a message into text and its placeholders, `compiled` holding each placeholder's
/// expression in order; `{{` and `}}` are literal braces. A placeholder that is a field path is
/// rendered as the data wrote it.
pub(crate) fn template(text: &str, compiled: Vec<Expr>) -> Result<Template, String> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut exprs = compiled.into_iter();
    let mut i = 0;
    while let Some(c) = text.get(i..).and_then(|rest| rest.chars().next()) {
        let next = text.get(i + c.len_utf8()..).unwrap_or("");
        match c {
            '{' | '}' if next.starts_with(c) => {
                literal.push(c);
                i += 2;
            }
            '}' => return Err("a lone `}` (write `}}` for a literal brace)".into()),
            '{' => {
                let len =
                    crate::syntax::placeholder_len(next, crate::syntax::MessageText::Resolved)
                        .ok_or("a `{` is not closed (write `{{` for a literal brace)")?;
                // Past the placeholder and its closing brace.
                i += 1 + len + 1;
                let expr = exprs
                    .next()
                    .ok_or("a placeholder could not be read (an escape inside braces?)")?;
                if !literal.is_empty() {
                    parts.push(TemplatePart::Text(std::mem::take(&mut literal)));
                }
                parts.push(match expr.kind {
                    ExprKind::Field(path) => TemplatePart::Field(path),
                    _ => TemplatePart::Expr(expr),
                });
            }
            c => {
                literal.push(c);
                i += c.len_utf8();
            }
        }
    }
    if !literal.is_empty() {
        parts.push(TemplatePart::Text(literal));
    }
    Ok(Template { parts })
}

/// A group key's or a path's text as the field it reads: `record.vendor` and `record["vendor"]`
/// are `vendor`; any other text is itself.
fn field_text(text: &str) -> String {
    if let Some(field) = text.strip_prefix("record.") {
        return field.to_string();
    }
    match text
        .strip_prefix("record[\"")
        .and_then(|rest| rest.strip_suffix("\"]"))
    {
        // Not a key that reads as a path (`record["a.b"]` is the field `a.b`, not `a` then `b`).
        Some(key) if !key.contains(['"', '\\', '.', '[', ']']) => key.to_string(),
        _ => text.to_string(),
    }
}
