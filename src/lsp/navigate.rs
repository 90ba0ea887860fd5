//! What a name in a policy means, from its syntax tree: every occurrence of a `let`, `alias`,
//! rule id, schema field, import and function, for definitions, references, hover, completion
//! and the outline.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::source::Span;
use crate::syntax::ast::{
    Expr, ExprKind, FieldDecl, FilterKind, NamePlace, PolicyFile, RuleBody, Statement, TypeExprKind,
};

/// What an occurrence names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    /// A `let` or `alias` name.
    Name(String),
    /// A rule, by id.
    Rule(String),
    /// A record field, by path from the record.
    Field(Vec<String>),
    /// An imported file.
    Import(PathBuf),
    /// A built-in function.
    Function(String),
}

/// A place where a policy names something.
#[derive(Debug, Clone)]
pub(crate) struct Occurrence {
    /// The name's span.
    pub span: Span,
    /// What it names.
    pub target: Target,
    /// For a declaration: the whole declaration's span; `None` for a use.
    pub declaration: Option<Span>,
}

/// The built-in functions: name, signature and what they give (docs/language.md §4).
pub(crate) const FUNCTIONS: [(&str, &str, &str); 7] = [
    ("count", "count(LIST)", "the number of elements of a list"),
    (
        "sum",
        "sum(LIST)",
        "the exact sum of the numbers of a list (missing elements skipped; 0 for an empty list)",
    ),
    (
        "min",
        "min(LIST) or min(A, B, …)",
        "the least element of a list, or the least of several values",
    ),
    (
        "max",
        "max(LIST) or max(A, B, …)",
        "the greatest element of a list, or the greatest of several values",
    ),
    (
        "len",
        "len(X)",
        "the number of characters of a string, or of elements of a list",
    ),
    ("lower", "lower(S)", "the string in lower case"),
    ("upper", "upper(S)", "the string in upper case"),
];

/// The `let` and `alias` names the files declare.
pub(crate) fn declared_names<'a>(
    files: impl IntoIterator<Item = &'a PolicyFile>,
) -> HashSet<String> {
    let mut names = HashSet::new();
    for file in files {
        for statement in &file.statements {
            match statement {
                Statement::Let(decl) => {
                    names.insert(decl.name.node.clone());
                }
                Statement::Alias(decl) => {
                    names.insert(decl.name.node.clone());
                }
                _ => {}
            }
        }
    }
    names
}

/// Every occurrence in `file` (at `path`); `names` are the `let` and `alias` names in scope.
pub(crate) fn occurrences(
    file: &PolicyFile,
    path: &Path,
    names: &HashSet<String>,
) -> Vec<Occurrence> {
    let mut walker = Walker {
        names,
        bound: Vec::new(),
        out: Vec::new(),
    };
    for statement in &file.statements {
        walker.statement(statement, path);
    }
    walker.out
}

struct Walker<'a> {
    names: &'a HashSet<String>,
    bound: Vec<String>,
    out: Vec<Occurrence>,
}

impl Walker<'_> {
    fn push(&mut self, span: Span, target: Target, declaration: Option<Span>) {
        self.out.push(Occurrence {
            span,
            target,
            declaration,
        });
    }

    fn statement(&mut self, statement: &Statement, path: &Path) {
        match statement {
            Statement::Let(decl) => {
                self.push(
                    decl.name.span,
                    Target::Name(decl.name.node.clone()),
                    Some(decl.span),
                );
                self.expr(&decl.value);
            }
            Statement::Alias(decl) => {
                self.push(
                    decl.name.span,
                    Target::Name(decl.name.node.clone()),
                    Some(decl.span),
                );
            }
            Statement::Import(decl) => {
                let joined = path.parent().unwrap_or(Path::new("")).join(&decl.path.node);
                let target = joined.canonicalize().unwrap_or(joined);
                self.push(decl.path.span, Target::Import(target), None);
            }
            Statement::Rule(rule) => {
                if let Some(id) = &rule.id {
                    self.push(id.span, Target::Rule(id.node.clone()), Some(rule.span));
                }
                match &rule.body {
                    RuleBody::Effect {
                        filters,
                        when,
                        unless,
                        ..
                    } => {
                        for filter in filters {
                            match &filter.kind {
                                FilterKind::VendorIs(e)
                                | FilterKind::VendorIn(e)
                                | FilterKind::VendorNotIn(e) => self.expr(e),
                                FilterKind::After(p, d) | FilterKind::Before(p, d) => {
                                    p.iter().for_each(|p| self.expr(p));
                                    self.expr(d);
                                }
                                FilterKind::Between(p, a, b) => {
                                    p.iter().for_each(|p| self.expr(p));
                                    self.expr(a);
                                    self.expr(b);
                                }
                            }
                        }
                        when.iter().chain(unless.iter()).for_each(|e| self.expr(e));
                    }
                    RuleBody::Require {
                        condition, when, ..
                    } => {
                        self.expr(condition);
                        when.iter().for_each(|e| self.expr(e));
                    }
                }
            }
            Statement::Record(decl) => self.fields(&decl.fields, &[]),
            Statement::Waive(waiver) => {
                self.push(
                    waiver.rule.span,
                    Target::Rule(waiver.rule.node.clone()),
                    None,
                );
                self.expr(&waiver.condition);
                self.expr(&waiver.until);
            }
            Statement::Test(test) => {
                for expectation in &test.expect {
                    self.push(
                        expectation.rule.span,
                        Target::Rule(expectation.rule.node.clone()),
                        None,
                    );
                }
            }
        }
    }

    fn fields(&mut self, fields: &[FieldDecl], parent: &[String]) {
        for field in fields {
            let mut path = parent.to_vec();
            path.push(field.name.node.clone());
            self.push(
                field.name.span,
                Target::Field(path.clone()),
                Some(field.span),
            );
            let mut ty = &field.ty;
            while let TypeExprKind::List(element) = &ty.kind {
                ty = element;
            }
            if let TypeExprKind::Record(nested) = &ty.kind {
                self.fields(nested, &path);
            }
        }
    }

    /// The field path an expression reads, if it is one (`vendor`, `buyer.branch`).
    fn field_path(&self, expr: &Expr) -> Option<Vec<String>> {
        match &expr.kind {
            ExprKind::Name(name, NamePlace::Plain)
                if !self.names.contains(name) && !self.bound.contains(name) =>
            {
                Some(vec![name.clone()])
            }
            ExprKind::RecordRoot => Some(Vec::new()),
            ExprKind::Member(base, member) => {
                let mut path = self.field_path(base)?;
                path.push(member.node.clone());
                Some(path)
            }
            ExprKind::Paren(inner) => self.field_path(inner),
            _ => None,
        }
    }

    fn expr(&mut self, expr: &Expr) {
        match &expr.kind {
            ExprKind::Name(name, place) => {
                if self.bound.contains(name) {
                } else if self.names.contains(name) {
                    self.push(expr.span, Target::Name(name.clone()), None);
                } else if *place == NamePlace::Plain {
                    self.push(expr.span, Target::Field(vec![name.clone()]), None);
                }
            }
            ExprKind::Literal(_) | ExprKind::RecordRoot | ExprKind::Group | ExprKind::AllOf(_) => {}
            ExprKind::If(condition, then, otherwise) => {
                self.expr(condition);
                self.expr(then);
                self.expr(otherwise);
            }
            ExprKind::Comprehension {
                body,
                var,
                list,
                filter,
            } => {
                self.expr(list);
                self.bound.push(var.node.clone());
                self.expr(body);
                filter.iter().for_each(|f| self.expr(f));
                self.bound.pop();
            }
            ExprKind::Member(base, member) => {
                if let Some(mut path) = self.field_path(base) {
                    path.push(member.node.clone());
                    self.push(member.span, Target::Field(path), None);
                }
                self.expr(base);
            }
            ExprKind::Call(name, args) => {
                self.push(name.span, Target::Function(name.node.clone()), None);
                args.iter().for_each(|a| self.expr(a));
            }
            ExprKind::Quantifier(_, var, list, body) => {
                self.expr(list);
                self.bound.push(var.node.clone());
                self.expr(body);
                self.bound.pop();
            }
            ExprKind::List(items) | ExprKind::And(items) | ExprKind::Or(items) => {
                items.iter().for_each(|e| self.expr(e));
            }
            ExprKind::Not(inner)
            | ExprKind::Exists(inner)
            | ExprKind::Missing(inner)
            | ExprKind::Neg(inner)
            | ExprKind::Paren(inner) => self.expr(inner),
            ExprKind::Index(a, b) | ExprKind::Compare(_, _, a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Arith(first, rest) => {
                self.expr(first);
                rest.iter().for_each(|(_, e)| self.expr(e));
            }
        }
    }
}

/// The innermost occurrence at byte `offset`.
pub(crate) fn at(occurrences: &[Occurrence], offset: usize) -> Option<&Occurrence> {
    occurrences
        .iter()
        .filter(|o| o.span.start <= offset && offset <= o.span.end)
        .min_by_key(|o| o.span.end - o.span.start)
}

/// What to complete at the cursor, from the text before it on its line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CompletionPlace {
    /// A rule id: after `waive`, or after an effect in an `expect` clause.
    RuleId,
    /// A field under this path, after a `.`.
    Member(Vec<String>),
    /// The start of a statement or of a rule block's clause.
    StatementStart,
    /// Inside an expression.
    Expression,
}

/// Where the cursor is, judging by `before`, the text of its line up to it.
pub(crate) fn completion_place(before: &str) -> CompletionPlace {
    let word_start = before
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .map_or(0, |i| i + 1);
    let head = before.get(..word_start).unwrap_or("");
    let words: Vec<&str> = head.split_whitespace().collect();
    let last = words.last().copied().unwrap_or("");
    let outcome = ["deny", "warn", "note", "error", "waived"];
    if last == "waive"
        || (head.contains("expect") && (outcome.contains(&last) || last.ends_with(',')))
    {
        return CompletionPlace::RuleId;
    }
    if let Some(base) = head.strip_suffix('.') {
        let start = base
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .map_or(0, |i| i + 1);
        let path: Vec<String> = base
            .get(start..)
            .unwrap_or("")
            .split('.')
            .filter(|s| !s.is_empty() && *s != "record")
            .map(str::to_string)
            .collect();
        return CompletionPlace::Member(path);
    }
    if head.trim().is_empty() {
        CompletionPlace::StatementStart
    } else {
        CompletionPlace::Expression
    }
}

/// Keywords that start a statement or a clause of a rule block.
pub(crate) const STATEMENT_KEYWORDS: &[&str] = &[
    "rule", "deny", "warn", "note", "require", "let", "alias", "import", "record", "waive", "test",
    "message", "cite", "tags", "when", "unless", "given", "expect",
];

/// Keywords inside expressions and filters.
pub(crate) const EXPRESSION_KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "exists",
    "is missing",
    "when",
    "unless",
    "vendor",
    "after",
    "before",
    "between",
    "any",
    "all",
    "where",
    "matches",
    "contains",
    "starts with",
    "ends with",
    "true",
    "false",
    "record",
    "for",
    "until",
    "because",
    "by",
];

#[cfg(test)]
mod tests {
    use super::{CompletionPlace, completion_place};

    #[test]
    fn the_place_decides_what_completes() {
        assert_eq!(completion_place("waive dod"), CompletionPlace::RuleId);
        assert_eq!(
            completion_place("  expect deny a, warn "),
            CompletionPlace::RuleId
        );
        assert_eq!(
            completion_place("  deny when exemption.ki"),
            CompletionPlace::Member(vec!["exemption".into()])
        );
        assert_eq!(
            completion_place("  deny when record.buyer."),
            CompletionPlace::Member(vec!["buyer".into()])
        );
        assert_eq!(completion_place("  de"), CompletionPlace::StatementStart);
        assert_eq!(
            completion_place("  deny when ven"),
            CompletionPlace::Expression
        );
    }
}
