//! The type checker: one pass over each compiled rule, giving every expression a static type.
//! Field types come from the schema (without one they are unknown); constants, functions and
//! operators give the rest. A type that cannot be known is [`Ty::Unknown`], which fits anywhere:
//! once a subexpression is wrong, its parents are unknown and nothing cascades.

use crate::compile::{
    CompiledRule, Const, Expr, ExprKind, Function, Program, Segment, TemplatePart,
};
use crate::diagnostic::{Code, Diag, Severity};
use crate::schema::{RecordType, Schema, Type, symbol_text};
use crate::source::{Source, Span};
use crate::syntax::ast::{PolicyFile, Statement};
use crate::value::{parse_data_date, parse_data_number};

/// A static type.
#[derive(Debug, Clone)]
enum Ty<'s> {
    /// Nothing is known: fits anywhere.
    Unknown,
    Bool,
    Num,
    Str,
    /// A string constant that reads as a number or a date, and compares as one with one.
    Loose {
        number: bool,
        date: bool,
    },
    Date,
    /// A date-time: orders with dates by its calendar date.
    DateTime,
    Duration,
    List(Box<Ty<'s>>),
    Record(&'s RecordType),
    /// A string that must be one of these.
    Enum(&'s [String]),
}

impl Ty<'_> {
    fn name(&self) -> &'static str {
        match self {
            Ty::Unknown => "a value",
            Ty::Bool => "a boolean",
            Ty::Num => "a number",
            Ty::Str | Ty::Enum(_) | Ty::Loose { .. } => "a string",
            Ty::Date => "a date",
            Ty::DateTime => "a date-time",
            Ty::Duration => "a duration",
            Ty::List(_) => "a list",
            Ty::Record(_) => "a record",
        }
    }

    /// The type for messages, with a list's elements: "a list of strings".
    fn describe(&self) -> String {
        match self {
            Ty::List(element) if element.known() => {
                let inner = element.describe();
                let plural = match inner.strip_prefix("a ") {
                    Some(rest) => format!("{rest}s"),
                    None => inner,
                };
                format!("a list of {plural}")
            }
            other => other.name().to_string(),
        }
    }

    fn known(&self) -> bool {
        !matches!(self, Ty::Unknown)
    }

    fn is_string(&self) -> bool {
        matches!(self, Ty::Str | Ty::Enum(_) | Ty::Loose { .. })
    }

    /// Whether arithmetic takes it: a number, or a string constant that reads as one.
    fn is_number(&self) -> bool {
        matches!(self, Ty::Num | Ty::Loose { number: true, .. })
    }

    fn of(ty: &Type) -> Ty<'_> {
        match ty {
            Type::String => Ty::Str,
            Type::Integer | Type::Number => Ty::Num,
            Type::Date => Ty::Date,
            Type::Bool => Ty::Bool,
            Type::List(element) => Ty::List(Box::new(Ty::of(element))),
            Type::Record(record) => Ty::Record(record),
            Type::Enum(members) => Ty::Enum(members),
        }
    }

    /// A constant's type; a string that reads as a number or a date compares as one, so its type
    /// is not known.
    fn of_const(c: &Const) -> Ty<'static> {
        match c {
            Const::String(s) => {
                let (number, date) = (parse_data_number(s).is_some(), parse_data_date(s).is_some());
                if number || date {
                    Ty::Loose { number, date }
                } else {
                    Ty::Str
                }
            }
            Const::Number(_) => Ty::Num,
            Const::Date(_) => Ty::Date,
            Const::DateTime(_) => Ty::DateTime,
            Const::Duration(_) => Ty::Duration,
            Const::Bool(_) => Ty::Bool,
            Const::List(items) => {
                let element = common(items.iter().map(Ty::of_const)).unwrap_or(Ty::Unknown);
                Ty::List(Box::new(element))
            }
        }
    }
}

/// The type of every element, if they agree (strings of any kind agree as strings); `None` for
/// a list of mixed types.
fn common<'s>(types: impl Iterator<Item = Ty<'s>>) -> Option<Ty<'s>> {
    let mut out: Option<Ty<'s>> = None;
    for ty in types {
        out = Some(match (out, ty) {
            (None, ty) => ty,
            (Some(Ty::Loose { number, date }), Ty::Loose { number: n, date: d }) => Ty::Loose {
                number: number && n,
                date: date && d,
            },
            (Some(t), ty) if t.is_string() && ty.is_string() => Ty::Str,
            (Some(t), ty) if std::mem::discriminant(&t) == std::mem::discriminant(&ty) => t,
            _ => return None,
        });
    }
    Some(out.unwrap_or(Ty::Unknown))
}

/// Whether `expr` is a field of the record read as it is (no arithmetic, no function): data,
/// which holds strings, numbers, booleans, dates, lists and mappings, never a duration.
fn read_as_is(expr: &Expr) -> bool {
    matches!(expr.kind, ExprKind::Field(_) | ExprKind::RootField(..))
}

/// Whether `<`, `>` and the like can order values of these types without a run-time error.
fn orderable(a: &Ty<'_>, b: &Ty<'_>) -> bool {
    match (a, b) {
        (Ty::Unknown, _) | (_, Ty::Unknown) => true,
        (Ty::Num, Ty::Num) | (Ty::Duration, Ty::Duration) => true,
        (Ty::Date | Ty::DateTime, Ty::Date | Ty::DateTime) => true,
        (Ty::Loose { date, .. }, Ty::DateTime) | (Ty::DateTime, Ty::Loose { date, .. }) => *date,
        (Ty::Loose { number, .. }, Ty::Num) | (Ty::Num, Ty::Loose { number, .. }) => *number,
        (Ty::Loose { date, .. }, Ty::Date) | (Ty::Date, Ty::Loose { date, .. }) => *date,
        _ => a.is_string() && b.is_string(),
    }
}

/// The type of `record` without a schema: a mapping of fields not known.
static WHOLE_RECORD: RecordType = RecordType { fields: Vec::new() };

/// Whether `==` can compare values of these types without a run-time error.
fn equatable(a: &Ty<'_>, b: &Ty<'_>) -> bool {
    match (a, b) {
        (Ty::Unknown, _) | (_, Ty::Unknown) | (Ty::Bool, Ty::Bool) => true,
        (Ty::List(x), Ty::List(y)) => equatable(x, y),
        _ => orderable(a, b),
    }
}

/// Type-checks every rule of `program`.
///
/// Returns, for each rule, whether it has a type error (the other lints leave such rules alone,
/// so that one mistake gives one diagnostic).
pub fn check(program: &Program, diags: &mut Vec<Diag>) -> Vec<bool> {
    let slots = program.root_field_names();
    // Each rule on its own, on all cores; the diagnostics in rule order.
    let found: Vec<Vec<Diag>> = super::map_rules(&program.rules, |_, rule| {
        let mut found = Vec::new();
        let mut checker = Checker {
            source: &rule.source,
            schema: program.schema.as_deref(),
            slots: &slots,
            vars: Vec::new(),
            diags: &mut found,
            locals: Vec::new(),
        };
        checker.rule(rule);
        found
    });
    let wrong = found
        .iter()
        .map(|f| f.iter().any(|d| d.severity == Severity::Error))
        .collect();
    diags.extend(found.into_iter().flatten());
    // A waiver's condition is an expression like any other.
    for waiver in &program.waivers {
        let mut checker = Checker {
            source: &waiver.source,
            schema: program.schema.as_deref(),
            slots: &slots,
            vars: Vec::new(),
            diags: &mut *diags,
            locals: Vec::new(),
        };
        checker.condition(&waiver.condition.expr);
    }
    wrong
}

/// Type-checks the expression of a file-level `let` (constants only: any field in it is refused
/// apart), as a rule's expressions are: the diagnostics of `"5" + 1` and the like.
pub(crate) fn check_constant(expr: &Expr, source: &Source) -> Vec<Diag> {
    let mut found = Vec::new();
    let mut checker = Checker {
        source,
        schema: None,
        slots: &[],
        vars: Vec::new(),
        diags: &mut found,
        locals: Vec::new(),
    };
    checker.ty(expr);
    found
}

/// Checks the field paths of message placeholders (`{vendr}`) against the schema.
pub(crate) fn check_messages(files: &[&PolicyFile], program: &Program, diags: &mut Vec<Diag>) {
    let Some(schema) = program.schema.as_deref() else {
        return;
    };
    for file in files {
        for statement in &file.statements {
            let Statement::Rule(rule) = statement else {
                continue;
            };
            let Some(message) = &rule.message else {
                continue;
            };
            let Some(template) = program
                .rules
                .iter()
                .find(|r| {
                    r.span == rule.body_span && std::sync::Arc::ptr_eq(&r.source, &file.source)
                })
                .and_then(|r| r.message.as_ref())
            else {
                continue;
            };
            let mut checker = Checker {
                source: &file.source,
                schema: Some(schema),
                slots: &[],
                vars: Vec::new(),
                diags,
                locals: Vec::new(),
            };
            for part in &template.parts {
                let TemplatePart::Field(path) = part else {
                    continue;
                };
                let written: Vec<&str> = path
                    .iter()
                    .filter_map(|s| match s {
                        Segment::Key(k) => Some(&**k),
                        Segment::Index(_) => None,
                    })
                    .collect();
                let span = find_in(&file.source, message.span, &written.join("."));
                checker.walk(Ty::Record(&schema.root), path, String::new(), span);
            }
        }
    }
}

struct Checker<'a, 's> {
    source: &'a Source,
    schema: Option<&'s Schema>,
    slots: &'a [&'a str],
    vars: Vec<Ty<'s>>,
    diags: &'a mut Vec<Diag>,
    /// The types of the rule's lets, as far as they are known.
    locals: Vec<Ty<'s>>,
}

impl<'s> Checker<'_, 's> {
    fn rule(&mut self, rule: &CompiledRule) {
        if let Some(across) = &rule.across {
            for key in &across.keys {
                self.ty(&key.expr);
            }
            for clause in across.where_.iter().chain(&across.having) {
                self.condition(&clause.expr);
            }
        }
        // In order: a let that reads a later one sees it as unknown.
        self.locals.clear();
        for local in &rule.lets {
            let ty = self.ty(&local.expr);
            self.locals.push(ty);
        }
        for (_, clause) in rule.clauses() {
            self.condition(&clause.expr);
        }
        if let Some(message) = &rule.message {
            for part in &message.parts {
                if let TemplatePart::Expr(e) = part {
                    self.ty(e);
                }
            }
        }
    }

    fn text(&self, span: Span) -> String {
        let text = crate::compile::collapse_whitespace(self.source.slice(span));
        if text.chars().count() > 40 {
            format!("{}…", text.chars().take(40).collect::<String>())
        } else {
            text
        }
    }

    fn mismatch(&mut self, message: String, span: Span, label: &str, help: Option<String>) {
        self.diags.push(
            Diag::error(Code::LintTypeMismatch, message)
                .label(self.source, span, label)
                .maybe_help(help),
        );
    }

    /// An expression that must be true or false.
    fn condition(&mut self, expr: &Expr) {
        if let ExprKind::If(condition, then, otherwise) = &expr.kind {
            // Each branch is the condition in its case: each must be true or false.
            for branch in [condition, then, otherwise] {
                self.condition(branch);
            }
            return;
        }
        let ty = self.ty(expr);
        if ty.known() && !matches!(ty, Ty::Bool) {
            let text = self.text(expr.span);
            self.mismatch(
                format!("expected a condition, but `{text}` is {}", ty.name()),
                expr.span,
                "not true or false",
                Some("write a comparison, such as `amount > 1000` or `exemption exists`".into()),
            );
        }
    }

    /// Reports `what` applied to an operand of the wrong type; the result is unknown.
    fn wrong_operand(&mut self, what: &str, wanted: &str, operand: &Expr, ty: &Ty<'_>) -> Ty<'s> {
        let text = self.text(operand.span);
        self.mismatch(
            format!("{what} needs {wanted}, but `{text}` is {}", ty.describe()),
            operand.span,
            &format!("{}, not {wanted}", ty.describe()),
            None,
        );
        Ty::Unknown
    }

    fn incomparable(&mut self, expr: &Expr, left: (&Expr, &Ty<'_>), right: (&Expr, &Ty<'_>)) {
        let (l, r) = (self.text(left.0.span), self.text(right.0.span));
        let duration_and_number = matches!(
            (left.1, right.1),
            (Ty::Duration, t) | (t, Ty::Duration) if t.is_number()
        );
        // `date + 5 > 2018-01-01`: arithmetic with a number is a number.
        let sum_and_date = [(left, right), (right, left)]
            .into_iter()
            .find_map(|(a, b)| {
                (matches!(a.0.kind, ExprKind::Arith(..))
                    && matches!(a.1, Ty::Num)
                    && matches!(b.1, Ty::Date | Ty::DateTime))
                .then(|| self.text(a.0.span))
            });
        let all_list = [left.0, right.0]
            .into_iter()
            .find(|e| matches!(e.kind, ExprKind::AllOf(_)))
            .map(|e| self.text(e.span));
        let help = match (all_list, self.field_named_like(right.0)) {
            (Some(all), _) => format!(
                "`{all}` is the list of the values over the run: compare with one value made \
                 from it, such as `max({all})` or `quantile({all}, 0.75)`"
            ),
            _ if let Some(sum) = sum_and_date => format!(
                "arithmetic with a number gives a number: if `{sum}` adds days to a date, write \
                 them as a duration, such as `5 days`"
            ),
            _ if duration_and_number => {
                "a duration compares with a duration: write the number with its unit, such as \
                 `15 days`, or take `days(…)` of the duration"
                    .to_string()
            }
            (None, Some(name)) => format!(
                "`{name}` here is the symbol \"{name}\", not the field: did you mean the field \
                 `record.{name}`?"
            ),
            (None, None) => {
                "compare values of the same type: a date with a date, a number with a number".into()
            }
        };
        self.mismatch(
            format!(
                "cannot compare `{l}` ({}) with `{r}` ({})",
                left.1.describe(),
                right.1.describe()
            ),
            expr.span,
            "these types never compare",
            Some(help),
        );
    }

    /// `sum(line_items.amount) != amount`: a sum of values of unknown type (a number or a
    /// duration) compared with a string, which never compare. Reports it and says so.
    fn sum_with_text(
        &mut self,
        expr: &Expr,
        left: (&Expr, &Ty<'_>),
        right: (&Expr, &Ty<'_>),
    ) -> bool {
        let is_sum =
            |e: &Expr, t: &Ty<'_>| matches!(e.kind, ExprKind::Call(Function::Sum, _)) && !t.known();
        let Some((sum, text)) = [(left, right), (right, left)]
            .into_iter()
            .find(|(a, b)| is_sum(a.0, a.1) && b.1.is_string() && !b.1.is_number())
        else {
            return false;
        };
        let (sum_text, text_text) = (self.text(sum.0.span), self.text(text.0.span));
        let help = match &text.0.kind {
            ExprKind::Const(Const::String(s)) if text_text == **s => format!(
                "a bare name on the right of `==` or `!=` is the text \"{s}\": write `record.{s}` for the field"
            ),
            _ => "compare a sum with a number, or a sum of durations with a duration".to_string(),
        };
        self.mismatch(
            format!(
                "cannot compare `{sum_text}` (a number or a duration) with `{text_text}` ({})",
                text.1.describe()
            ),
            expr.span,
            "these types never compare",
            Some(help),
        );
        true
    }

    /// The name of a bare symbol that is also a declared top-level field, if `operand` is one.
    fn field_named_like<'e>(&self, operand: &'e Expr) -> Option<&'e str> {
        let (Some(schema), ExprKind::Const(Const::String(s))) = (self.schema, &operand.kind) else {
            return None;
        };
        (self.source.slice(operand.span) == &**s && schema.root.get(s).is_some()).then_some(&**s)
    }

    fn ty(&mut self, expr: &Expr) -> Ty<'s> {
        match &expr.kind {
            ExprKind::Const(c) => Ty::of_const(c),
            ExprKind::Field(path) => self.field(None, path, expr.span),
            ExprKind::RootField(slot, rest) => {
                let first = self.slots.get(*slot).copied().unwrap_or("");
                self.field(Some(first), rest, expr.span)
            }
            ExprKind::Var(slot, path) => {
                let base = self.vars.get(*slot).cloned().unwrap_or(Ty::Unknown);
                // Shown from the variable, as written (`i.vendr`), so that a misspelt field of
                // an element is not taken for a top-level one of the same name.
                let written = self.source.slice(expr.span);
                let name = written
                    .split(['.', '[', ' ', '\t', '\n', '\r'])
                    .next()
                    .unwrap_or_default();
                self.walk(base, path, name.to_string(), expr.span)
            }
            ExprKind::Member(base, segment) => {
                let base = self.ty(base);
                self.walk(
                    base,
                    std::slice::from_ref(segment),
                    String::new(),
                    expr.span,
                )
            }
            ExprKind::Index(base, index) => {
                let base_ty = self.ty(base);
                let index_ty = self.ty(index);
                if !matches!(index_ty, Ty::Unknown | Ty::Num) && !index_ty.is_string() {
                    self.wrong_operand("an index", "a number or a string", index, &index_ty);
                }
                // An element of a computed list of single values (`sort(xs)[0]`) has their type
                // (or is missing); anything else is known only when it is read.
                match base_ty {
                    Ty::List(element)
                        if matches!(index_ty, Ty::Num)
                            && (element.is_string()
                                || matches!(
                                    *element,
                                    Ty::Num | Ty::Bool | Ty::Date | Ty::DateTime | Ty::Duration
                                )) =>
                    {
                        *element
                    }
                    _ => Ty::Unknown,
                }
            }
            ExprKind::Not(inner) => {
                self.condition(inner);
                Ty::Bool
            }
            ExprKind::And(items) | ExprKind::Or(items) => {
                for item in items {
                    self.condition(item);
                }
                Ty::Bool
            }
            ExprKind::Equals {
                left,
                right,
                aliases,
                ..
            } => {
                let l = self.ty(left);
                let r = self.ty(right);
                if aliases.is_none()
                    && (!self.enum_member(&l, right) || !self.enum_member(&r, left))
                {
                    return Ty::Bool;
                }
                if !equatable(&l, &r) {
                    self.incomparable(expr, (left, &l), (right, &r));
                } else if !self.sum_with_text(expr, (left, &l), (right, &r))
                    && aliases.is_none()
                    && !matches!(l, Ty::Enum(_))
                {
                    self.symbol_is_field(right);
                }
                Ty::Bool
            }
            ExprKind::Order(_, left, right) => {
                let l = self.ty(left);
                let r = self.ty(right);
                if !orderable(&l, &r) {
                    self.incomparable(expr, (left, &l), (right, &r));
                } else if let Some(field) = [(left, &r), (right, &l)]
                    .into_iter()
                    .find(|(side, other)| read_as_is(side) && matches!(other, Ty::Duration))
                    .map(|(side, _)| side)
                {
                    // Without a schema a field's type is unknown, but data never holds a
                    // duration: the comparison fails on every record.
                    let text = self.text(field.span);
                    self.mismatch(
                        format!("`{text}` is a value of the records, which is never a duration"),
                        field.span,
                        "read from the record",
                        Some(
                            "compare a difference of dates or date-times with a duration \
                             (`end - start > 3 days`), or the field with a number or a date"
                                .into(),
                        ),
                    );
                }
                Ty::Bool
            }
            ExprKind::InSet(needle, set, _) => {
                let n = self.ty(needle);
                if let Ty::Enum(members) = n {
                    for s in &set.strings {
                        if !members.contains(&s.to_string()) {
                            let span = find_in(self.source, expr.span, s);
                            self.not_in_enum(s, members, needle, span);
                            return Ty::Bool;
                        }
                    }
                }
                let elements = set
                    .strings
                    .iter()
                    .map(|s| Const::String(s.clone()))
                    .chain(set.others.iter().cloned());
                for element in elements {
                    let e = Ty::of_const(&element);
                    if !equatable(&n, &e) {
                        let text = self.text(needle.span);
                        self.mismatch(
                            format!("`{text}` is {}, but the list holds {}", n.name(), e.name()),
                            expr.span,
                            "these types never compare",
                            Some("list values of the same type as the field".into()),
                        );
                        break;
                    }
                }
                Ty::Bool
            }
            ExprKind::InList(needle, list, _) if let ExprKind::List(items) = &list.kind => {
                // `b.status in [valid, pending]`: each element is compared with the needle.
                let n = self.ty(needle);
                for item in items {
                    let t = self.ty(item);
                    if !equatable(&n, &t) {
                        self.incomparable(expr, (needle, &n), (item, &t));
                        break;
                    }
                }
                Ty::Bool
            }
            ExprKind::InList(needle, list, _) => {
                let n = self.ty(needle);
                match self.ty(list) {
                    // `"c" in record.kinds`: the list holds only its enum's values.
                    Ty::List(element) if !self.enum_member(&element, needle) => {}
                    Ty::List(element) if !equatable(&n, &element) => {
                        self.incomparable(expr, (needle, &n), (list, &Ty::List(element)));
                    }
                    Ty::List(_) | Ty::Unknown => {}
                    other => {
                        self.wrong_operand("`in`", "a list", list, &other);
                    }
                }
                Ty::Bool
            }
            ExprKind::Matches(subject, _) => {
                let s = self.ty(subject);
                if s.known() && !s.is_string() {
                    self.wrong_operand("`matches`", "a string", subject, &s);
                }
                Ty::Bool
            }
            ExprKind::Contains(haystack, needle, aliases) => {
                let h = self.ty(haystack);
                let n = self.ty(needle);
                match &h {
                    Ty::Unknown => {}
                    Ty::Str | Ty::Enum(_) => {
                        if n.known() && !n.is_string() {
                            self.wrong_operand("`contains` on a string", "a string", needle, &n);
                        }
                    }
                    Ty::List(element) => {
                        if aliases.is_none() && !self.enum_member(element, needle) {
                            return Ty::Bool;
                        }
                        if !equatable(element, &n) {
                            self.incomparable(expr, (haystack, &h), (needle, &n));
                        }
                    }
                    other => {
                        self.wrong_operand("`contains`", "a string or a list", haystack, other);
                    }
                }
                Ty::Bool
            }
            ExprKind::StartsWith(left, right) | ExprKind::EndsWith(left, right) => {
                let what = if matches!(expr.kind, ExprKind::StartsWith(..)) {
                    "`starts with`"
                } else {
                    "`ends with`"
                };
                for operand in [left, right] {
                    let t = self.ty(operand);
                    if t.known() && !t.is_string() {
                        self.wrong_operand(what, "a string", operand, &t);
                        break;
                    }
                }
                Ty::Bool
            }
            ExprKind::Exists(inner) | ExprKind::Missing(inner) => {
                self.ty(inner);
                Ty::Bool
            }
            ExprKind::Arith(first, rest) => self.arith(first, rest),
            ExprKind::If(condition, then, otherwise) => {
                self.condition(condition);
                let (a, b) = (self.ty(then), self.ty(otherwise));
                common([a, b].into_iter()).unwrap_or(Ty::Unknown)
            }
            ExprKind::List(items) => {
                let types: Vec<Ty<'s>> = items.iter().map(|item| self.ty(item)).collect();
                Ty::List(Box::new(common(types.into_iter()).unwrap_or(Ty::Unknown)))
            }
            ExprKind::Comprehension(slot, list, body, filter) => {
                let element = match self.ty(list) {
                    Ty::List(element) => *element,
                    Ty::Unknown => Ty::Unknown,
                    other => self.wrong_operand("a comprehension", "a list", list, &other),
                };
                self.vars.truncate(*slot);
                self.vars.push(element);
                if let Some(filter) = filter {
                    self.condition(filter);
                }
                let body = self.ty(body);
                self.vars.truncate(*slot);
                match body {
                    Ty::Unknown => Ty::List(Box::new(Ty::Unknown)),
                    Ty::List(nested) => Ty::List(nested),
                    other => Ty::List(Box::new(other)),
                }
            }
            ExprKind::Local(index) => self.locals.get(*index).cloned().unwrap_or(Ty::Unknown),
            ExprKind::GroupKey(_) => Ty::Unknown,
            // The let's values over the run: a list of its type.
            ExprKind::AllOf(index) => Ty::List(Box::new(
                self.locals.get(*index).cloned().unwrap_or(Ty::Unknown),
            )),
            ExprKind::GroupName => Ty::Str,
            ExprKind::GroupLet(index) => Ty::List(Box::new(
                self.locals.get(*index).cloned().unwrap_or(Ty::Unknown),
            )),
            ExprKind::MemberLet(_, index) => {
                self.locals.get(*index).cloned().unwrap_or(Ty::Unknown)
            }
            ExprKind::Group => match self.schema {
                Some(schema) => Ty::List(Box::new(Ty::Record(&schema.root))),
                None => Ty::List(Box::new(Ty::Unknown)),
            },
            ExprKind::Neg(inner) => {
                let t = self.ty(inner);
                if t.known() && !t.is_number() {
                    return self.wrong_operand("`-`", "a number", inner, &t);
                }
                Ty::Num
            }
            ExprKind::Call(function, args) => self.call(*function, args),
            ExprKind::Quantifier(q, slot, list, body) => {
                self.mixed_constant_list(list, "give a quantifier a list of one type", false);
                let l = self.ty(list);
                let element = match l {
                    Ty::List(element) => *element,
                    Ty::Unknown => Ty::Unknown,
                    other => {
                        let what = match q {
                            crate::syntax::ast::Quantifier::Any => "`any`",
                            crate::syntax::ast::Quantifier::All => "`all`",
                        };
                        self.wrong_operand(what, "a list", list, &other)
                    }
                };
                self.vars.truncate(*slot);
                self.vars.push(element);
                self.condition(body);
                self.vars.truncate(*slot);
                Ty::Bool
            }
        }
    }

    /// `+ - * /`: numbers with numbers; dates and date-times with durations (`date + 5 days`),
    /// or with each other for a duration (`end - start`); durations with durations.
    fn arith(
        &mut self,
        first: &Expr,
        rest: &[(crate::syntax::ast::ArithOp, Span, Expr)],
    ) -> Ty<'s> {
        use crate::syntax::ast::ArithOp;
        let operands: Vec<&Expr> = std::iter::once(first)
            .chain(rest.iter().map(|(_, _, e)| e))
            .collect();
        let types: Vec<Ty<'s>> = operands.iter().map(|e| self.ty(e)).collect();
        let timely = |t: &Ty<'_>| matches!(t, Ty::Date | Ty::DateTime | Ty::Duration);
        if !types.iter().any(timely) {
            // Plain arithmetic: every operand a number.
            for (operand, t) in operands.iter().zip(&types) {
                if t.known() && !t.is_number() {
                    self.wrong_operand("arithmetic", "a number", operand, t);
                    return Ty::Unknown;
                }
            }
            // An operand of unknown type may be a date or a duration in the data; beside a
            // number it can only be a number (a date or a duration does not combine with one).
            return if types.iter().all(Ty::known) || types.iter().any(|t| matches!(t, Ty::Num)) {
                Ty::Num
            } else {
                Ty::Unknown
            };
        }
        let mut types = types.into_iter();
        let mut acc = types.next().unwrap_or(Ty::Unknown);
        for ((op, _, operand), t) in rest.iter().zip(types) {
            let time = |t: &Ty<'_>| matches!(t, Ty::Date | Ty::DateTime);
            acc = match (&acc, &t, op) {
                // What a value of unknown type can only give: `X - DATE` a duration, `DATE + X`
                // a date, `DURATION - X` a duration, `X + NUMBER` a number (anything else fails).
                (Ty::Unknown, b, ArithOp::Sub) if time(b) => Ty::Duration,
                (a, Ty::Unknown, ArithOp::Add) if time(a) => a.clone(),
                (Ty::Duration, Ty::Unknown, ArithOp::Sub) => Ty::Duration,
                (Ty::Unknown, Ty::Num, _) | (Ty::Num, Ty::Unknown, _) => Ty::Num,
                (Ty::Unknown, _, _) | (_, Ty::Unknown, _) => Ty::Unknown,
                (a, b, _) if a.is_number() && b.is_number() => Ty::Num,
                (a, b, ArithOp::Sub)
                    if time(a) && (time(b) || matches!(b, Ty::Loose { date: true, .. })) =>
                {
                    Ty::Duration
                }
                (a, Ty::Duration, ArithOp::Add | ArithOp::Sub) if time(a) => a.clone(),
                (Ty::Duration, b, ArithOp::Add) if time(b) => b.clone(),
                (Ty::Duration, Ty::Duration, ArithOp::Add | ArithOp::Sub) => Ty::Duration,
                (a, b, ArithOp::Add | ArithOp::Sub) if time(a) && b.is_number() => {
                    let text = self.text(operand.span);
                    let verb = if *op == ArithOp::Add {
                        "add a number to"
                    } else {
                        "subtract a number from"
                    };
                    self.mismatch(
                        format!("cannot {verb} {}: `{text}` is {}", a.name(), b.name()),
                        operand.span,
                        "a number, not a duration",
                        Some(format!("write a duration, such as `{text} days`")),
                    );
                    return Ty::Unknown;
                }
                (a, b, _) => {
                    let text = self.text(operand.span);
                    let wanted = if time(a) || matches!(a, Ty::Duration) {
                        "a duration".to_string()
                    } else {
                        a.name().to_string()
                    };
                    let shown = self.text(first.span);
                    self.mismatch(
                        format!(
                            "arithmetic cannot combine `{shown}` ({}) with `{text}` ({})",
                            a.describe(),
                            b.describe()
                        ),
                        operand.span,
                        &format!("{}, not {wanted}", b.describe()),
                        Some(
                            "numbers combine with numbers; a date or date-time with a duration \
                             (`date + 15 days`), or with another for a duration (`end - start`); \
                             durations with durations"
                                .into(),
                        ),
                    );
                    return Ty::Unknown;
                }
            };
        }
        acc
    }

    /// A mismatch when `list` is a constant list whose elements are not all of one type (or,
    /// when it is to be `ordered`, do not all order with its first: dates with date-times).
    /// Returns whether it was.
    fn mixed_constant_list(&mut self, list: &Expr, help: &str, ordered: bool) -> bool {
        let ExprKind::Const(Const::List(items)) = &list.kind else {
            return false;
        };
        let types: Vec<Ty<'s>> = items.iter().map(Ty::of_const).collect();
        let orders = |first: &Ty<'s>| types.iter().all(|t| orderable(first, t));
        if common(types.iter().cloned()).is_some() || (ordered && types.first().is_none_or(orders))
        {
            return false;
        }
        let text = self.text(list.span);
        self.mismatch(
            format!("`{text}` mixes values of different types"),
            list.span,
            "the elements cannot all be compared alike",
            Some(help.into()),
        );
        true
    }

    fn call(&mut self, function: Function, args: &[Expr]) -> Ty<'s> {
        // `min`, `max` and `sort` of one list order its elements, `sum` adds them.
        let ordered = matches!(function, Function::Min | Function::Max | Function::Sort);
        if (ordered || function == Function::Sum)
            && let [list] = args
            && self.mixed_constant_list(
                list,
                "give `min`, `max`, `sort` and `sum` a list of one type",
                ordered,
            )
        {
            return Ty::Unknown;
        }
        if function == Function::Today {
            // The one function without an argument.
            return Ty::Date;
        }
        let types: Vec<Ty<'s>> = args.iter().map(|a| self.ty(a)).collect();
        let (Some(first), Some(first_ty)) = (args.first(), types.first()) else {
            return Ty::Unknown;
        };
        let name = Function::ALL
            .iter()
            .find(|(_, f)| *f == function)
            .map_or("", |(n, _)| *n);
        let what = format!("`{name}`");
        let list_of_numbers = |t: &Ty<'_>| match t {
            Ty::List(element) => element.is_number() || !element.known(),
            t => !t.known(),
        };
        let date_like = |t: &Ty<'_>| {
            matches!(
                t,
                Ty::Date | Ty::DateTime | Ty::Unknown | Ty::Loose { date: true, .. }
            )
        };
        match function {
            Function::Today => Ty::Date,
            Function::Days => match first_ty {
                Ty::Duration | Ty::Unknown => Ty::Num,
                other => self.wrong_operand(&what, "a duration", first, other),
            },
            Function::Year | Function::FiscalYear => match first_ty {
                t if date_like(t) => Ty::Num,
                other => self.wrong_operand(&what, "a date", first, other),
            },
            Function::Month | Function::Quarter | Function::Week => match first_ty {
                t if date_like(t) => Ty::Str,
                other => self.wrong_operand(&what, "a date", first, other),
            },
            Function::Day => match first_ty {
                t if date_like(t) => Ty::Date,
                other => self.wrong_operand(&what, "a date or date-time", first, other),
            },
            Function::Distinct | Function::Sort => match first_ty {
                Ty::List(_) | Ty::Unknown => first_ty.clone(),
                other => self.wrong_operand(&what, "a list", first, other),
            },
            Function::Flatten => match first_ty {
                Ty::List(element) => match &**element {
                    Ty::List(inner) => Ty::List(inner.clone()),
                    _ => Ty::List(Box::new(Ty::Unknown)),
                },
                Ty::Unknown => Ty::Unknown,
                other => self.wrong_operand(&what, "a list", first, other),
            },
            Function::Avg
            | Function::Median
            | Function::Quantile
            | Function::LowerFence
            | Function::UpperFence => {
                if !list_of_numbers(first_ty) {
                    return self.wrong_operand(&what, "a list of numbers", first, first_ty);
                }
                if let (Some(p), Some(p_ty)) = (args.get(1), types.get(1))
                    && p_ty.known()
                    && !p_ty.is_number()
                {
                    return self.wrong_operand(&what, "a number from 0 to 1", p, p_ty);
                }
                Ty::Num
            }
            Function::Substring => match first_ty {
                t if t.is_string() || !t.known() => Ty::Str,
                other => self.wrong_operand(&what, "a string", first, other),
            },
            Function::Abs | Function::Round => match first_ty {
                t if t.is_number() || !t.known() => Ty::Num,
                other => self.wrong_operand(&what, "a number", first, other),
            },
            Function::Count => match first_ty {
                Ty::List(_) | Ty::Unknown => Ty::Num,
                other => self.wrong_operand(&what, "a list", first, other),
            },
            Function::Len => match first_ty {
                Ty::List(_) | Ty::Unknown => Ty::Num,
                t if t.is_string() => Ty::Num,
                other => self.wrong_operand(&what, "a string or a list", first, other),
            },
            Function::Sum => match first_ty {
                Ty::List(element) if element.is_number() => Ty::Num,
                // Durations add to each other (§11).
                Ty::List(element) if matches!(**element, Ty::Duration) => Ty::Duration,
                // Numbers or durations: not known until run time.
                Ty::List(element) if !element.known() => Ty::Unknown,
                Ty::Unknown => Ty::Unknown,
                other => self.wrong_operand(&what, "a list of numbers or durations", first, other),
            },
            Function::Lower | Function::Upper => match first_ty {
                t if t.is_string() || !t.known() => Ty::Str,
                other => self.wrong_operand(&what, "a string", first, other),
            },
            Function::Min | Function::Max => {
                let (candidates, operands): (Vec<&Ty<'s>>, Vec<&Expr>) = if args.len() == 1 {
                    match first_ty {
                        Ty::List(element) => (vec![&**element], vec![first]),
                        Ty::Unknown => return Ty::Unknown,
                        other => return self.wrong_operand(&what, "a list", first, other),
                    }
                } else {
                    (types.iter().collect(), args.iter().collect())
                };
                // The result is one of the values: they must all have one orderable type.
                let mut result: Option<Ty<'s>> = None;
                let mut unknown = false;
                for (t, operand) in candidates.into_iter().zip(operands.iter().cycle()) {
                    if !t.known() {
                        unknown = true;
                        continue;
                    }
                    let orderable_alone = t.is_string()
                        || matches!(t, Ty::Num | Ty::Date | Ty::DateTime | Ty::Duration);
                    // Dates and date-times order together (by calendar date, §11): the result
                    // is one or the other.
                    if matches!(
                        (&result, t),
                        (Some(Ty::Date), Ty::DateTime) | (Some(Ty::DateTime), Ty::Date)
                    ) {
                        unknown = true;
                        continue;
                    }
                    let joined = match &result {
                        None => Some(t.clone()),
                        Some(r) => common([r.clone(), t.clone()].into_iter()),
                    };
                    match joined {
                        Some(j) if orderable_alone => result = Some(j),
                        _ => {
                            let wanted = match &result {
                                Some(r) => format!("values of one type ({})", r.name()),
                                None => {
                                    "numbers, dates, date-times, durations or strings".to_string()
                                }
                            };
                            return self.wrong_operand(&what, &wanted, operand, t);
                        }
                    }
                }
                match result {
                    _ if unknown => Ty::Unknown,
                    Some(Ty::Enum(_)) => Ty::Str,
                    Some(t) => t,
                    None => Ty::Unknown,
                }
            }
        }
    }

    /// The type of a field path from the record's root (`first` a top-level field, when the path
    /// was given a slot).
    fn field(&mut self, first: Option<&str>, rest: &[Segment], span: Span) -> Ty<'s> {
        let Some(schema) = self.schema else {
            // `record` itself is a mapping also without a schema (its fields are unknown).
            return if first.is_none() && rest.is_empty() {
                Ty::Record(&WHOLE_RECORD)
            } else {
                Ty::Unknown
            };
        };
        let root = Ty::Record(&schema.root);
        match first {
            Some(name) => {
                let head = [Segment::Key(name.into())];
                let ty = self.walk(root, &head, String::new(), span);
                self.walk(ty, rest, crate::syntax::path_as_written([name]), span)
            }
            None => self.walk(root, rest, String::new(), span),
        }
    }

    /// Follows a path from a value of type `ty`; `shown` is the path so far, for messages.
    fn walk(&mut self, mut ty: Ty<'s>, path: &[Segment], mut shown: String, span: Span) -> Ty<'s> {
        for (i, segment) in path.iter().enumerate() {
            ty = match (ty, segment) {
                (Ty::Unknown, _) => return Ty::Unknown,
                (Ty::Record(record), Segment::Key(key)) => match record.get(key) {
                    Some(field) => Ty::of(&field.ty),
                    None => {
                        self.unknown_field(record, &shown, key, span);
                        return Ty::Unknown;
                    }
                },
                (Ty::List(element), Segment::Key(_)) => {
                    // A key on a list projects the rest of the path over the elements.
                    let rest = path.get(i..).unwrap_or(&[]);
                    let inner = self.walk(*element, rest, shown, span);
                    return match inner {
                        Ty::Unknown => Ty::Unknown,
                        Ty::List(nested) => Ty::List(nested),
                        other => Ty::List(Box::new(other)),
                    };
                }
                (Ty::List(element), Segment::Index(_)) => *element,
                (Ty::Record(_), Segment::Index(_)) => return Ty::Unknown,
                (other, Segment::Key(key)) => {
                    let text = if shown.is_empty() {
                        self.text(span)
                    } else {
                        shown.clone()
                    };
                    self.mismatch(
                        format!("`{text}` is {}, which has no field `{key}`", other.name()),
                        span,
                        "no fields here",
                        None,
                    );
                    return Ty::Unknown;
                }
                (other, Segment::Index(_)) => {
                    let text = if shown.is_empty() {
                        self.text(span)
                    } else {
                        shown.clone()
                    };
                    self.mismatch(
                        format!("`{text}` is {}, which has no positions", other.name()),
                        span,
                        "not a list",
                        None,
                    );
                    return Ty::Unknown;
                }
            };
            if let Segment::Key(key) = segment {
                // As a policy writes it: `record.tags.kind`, `buyer["unit name"]`.
                shown = crate::syntax::path_extended(&shown, key);
            }
        }
        ty
    }

    fn unknown_field(&mut self, record: &RecordType, parent: &str, key: &str, span: Span) {
        // A path as a policy writes it (`parent` is already so written).
        let path = |name: &str| crate::syntax::path_extended(parent, name);
        let full = path(key);
        let names = record.fields.iter().map(|f| f.name.as_str());
        let help = match crate::suggest::closest(key, names) {
            Some(name) => format!("did you mean `{}`?", path(name)),
            None if record.fields.is_empty() => {
                "declare it in the schema's `record { … }`, which declares no fields yet"
                    .to_string()
            }
            None => {
                let declared: Vec<String> = record
                    .fields
                    .iter()
                    .map(|f| format!("`{}`", f.name))
                    .collect();
                format!(
                    "declare it in the schema's `record {{ … }}`; the declared fields are {}",
                    declared.join(", ")
                )
            }
        };
        let label = if parent.is_empty() {
            "not declared in the schema".to_string()
        } else {
            format!("`{parent}` has no field `{key}`")
        };
        self.diags.push(
            Diag::error(
                Code::LintUnknownField,
                format!("the field `{full}` is not declared in the schema"),
            )
            .label(self.source, span, label)
            .help(help),
        );
    }

    /// When `ty` is an enum and `operand` a string constant outside it, reports it. Returns
    /// whether the comparison is still worth checking (false once reported).
    fn enum_member(&mut self, ty: &Ty<'_>, operand: &Expr) -> bool {
        let (Ty::Enum(members), ExprKind::Const(Const::String(s))) = (ty, &operand.kind) else {
            return true;
        };
        if members.iter().any(|m| **m == **s) {
            return true;
        }
        self.not_in_enum(s, members, operand, operand.span);
        false
    }

    fn not_in_enum(&mut self, value: &str, members: &[String], _field: &Expr, span: Span) {
        let shown: Vec<String> = members.iter().map(|m| symbol_text(m)).collect();
        let help = match crate::suggest::closest(value, members.iter().map(String::as_str)) {
            Some(m) => format!("did you mean `{}`?", symbol_text(m)),
            None => format!("the schema allows {}", shown.join(", ")),
        };
        self.diags.push(
            Diag::error(
                Code::LintNotInEnum,
                format!(
                    "`{}` is not one of the values the schema allows ({})",
                    symbol_text(value),
                    shown.join(" | ")
                ),
            )
            .label(self.source, span, "no record can have this value")
            .help(help),
        );
    }

    /// A bare symbol on the right of a comparison that is also a declared top-level field.
    fn symbol_is_field(&mut self, operand: &Expr) {
        let Some(s) = self.field_named_like(operand) else {
            return;
        };
        self.diags.push(
            Diag::warning(
                Code::LintSymbolIsField,
                format!("`{s}` here is the symbol \"{s}\", not the field `{s}`"),
            )
            .label(self.source, operand.span, "compared as a string")
            .help(format!(
                "did you mean the field `record.{s}`? To compare with the text, write \"{s}\""
            )),
        );
    }
}

/// The span of the first whole-word `word` inside `span`, else `span`.
fn find_in(source: &Source, span: Span, word: &str) -> Span {
    let text = source.slice(span);
    let mut from = 0;
    while let Some(at) = text.get(from..).and_then(|t| t.find(word)) {
        let start = from + at;
        let end = start + word.len();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        let before = text.get(..start).and_then(|t| t.chars().next_back());
        let after = text.get(end..).and_then(|t| t.chars().next());
        if boundary(before) && boundary(after) {
            return Span::new(span.start + start, span.start + end);
        }
        from = end;
    }
    span
}
