//! What a name in a policy means, from its syntax tree: every occurrence of a `let`, `alias`,
//! rule id, schema field, import and function, for definitions, references, hover, completion
//! and the outline.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::compile::Function;
use crate::source::Span;
use crate::syntax::ast::{
    Expr, ExprKind, FieldDecl, FilterKind, NamePlace, PolicyFile, Rule, RuleBody, Statement,
    TypeExprKind,
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
    /// A name of one rule: a rule-local `let` or a group key's `as NAME`, with the start of the
    /// rule's span (names of two rules never meet).
    Local(usize, String),
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

/// A built-in function's call form and its line of doc, from [`Function::signature`]:
/// `("count(LIST)", "how many elements")`.
pub(crate) fn function_doc(function: Function) -> (&'static str, &'static str) {
    let signature = function.signature();
    signature
        .split_once("): ")
        .map_or((signature, ""), |(call, doc)| {
            (signature.get(..=call.len()).unwrap_or(call), doc)
        })
}

/// The names a rule block declares for itself: its `let`s and its keys' `as` names, each with
/// the span of its name, of its whole declaration, and what it is (`let` or `key`); `text` is
/// the file's.
pub(crate) fn rule_locals<'r>(
    rule: &'r Rule,
    text: &str,
) -> Vec<(&'r str, Span, Span, &'static str)> {
    let mut locals: Vec<(&str, Span, Span, &'static str)> = rule
        .lets
        .iter()
        .map(|l| {
            // The declaration starts at its `let` (and `each`), right before the name.
            let before = text.get(..l.name.span.start).unwrap_or("").trim_end();
            let before = match l.each {
                true => before.strip_suffix("each").unwrap_or(before).trim_end(),
                false => before,
            };
            let start = before
                .strip_suffix("let")
                .map_or(l.name.span.start, str::len);
            let whole = Span::new(start, l.value.span.end.max(l.name.span.end));
            (l.name.node.as_str(), l.name.span, whole, "let")
        })
        .collect();
    if let RuleBody::Effect { per, .. } = &rule.body {
        for key in per {
            if let Some(name) = &key.name {
                let whole = Span::new(key.expr.span.start.min(name.span.start), name.span.end);
                locals.push((name.node.as_str(), name.span, whole, "key"));
            }
        }
    }
    locals
}

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
        text: file.source.text(),
        names,
        bound: Vec::new(),
        locals: Vec::new(),
        each: Vec::new(),
        rule: 0,
        out: Vec::new(),
    };
    for statement in &file.statements {
        walker.statement(statement, path);
    }
    walker.out
}

struct Walker<'a> {
    /// The file's text.
    text: &'a str,
    names: &'a HashSet<String>,
    /// Quantifier and comprehension variables in scope.
    bound: Vec<String>,
    /// The names of the rule being walked ([`rule_locals`]).
    locals: Vec<String>,
    /// Its `let each`, which `group.NAME` and `r.NAME` read.
    each: Vec<String>,
    /// The start of the rule being walked, which keys its [`Target::Local`]s.
    rule: usize,
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
            Statement::Rule(rule) => self.rule(rule),
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

    fn rule(&mut self, rule: &Rule) {
        if let Some(id) = &rule.id {
            self.push(id.span, Target::Rule(id.node.clone()), Some(rule.span));
        }
        self.rule = rule.span.start;
        let locals = rule_locals(rule, self.text);
        self.locals = locals.iter().map(|(name, ..)| name.to_string()).collect();
        self.each = rule
            .lets
            .iter()
            .filter(|l| l.each)
            .map(|l| l.name.node.clone())
            .collect();
        for (name, span, whole, _) in locals {
            self.push(
                span,
                Target::Local(self.rule, name.to_string()),
                Some(whole),
            );
        }
        for local in &rule.lets {
            self.expr(&local.value);
        }
        match &rule.body {
            RuleBody::Effect {
                filters,
                per,
                where_,
                having,
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
                per.iter().for_each(|key| self.expr(&key.expr));
                where_
                    .iter()
                    .chain(having)
                    .chain(when)
                    .chain(unless)
                    .for_each(|e| self.expr(e));
            }
            RuleBody::Require {
                condition,
                where_,
                when,
                ..
            } => {
                self.expr(condition);
                where_.iter().chain(when).for_each(|e| self.expr(e));
            }
        }
        rule.placeholders.iter().for_each(|e| self.expr(e));
        self.locals.clear();
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
                if !self.names.contains(name)
                    && !self.bound.contains(name)
                    && !self.locals.contains(name) =>
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
                } else if self.locals.contains(name) {
                    self.push(expr.span, Target::Local(self.rule, name.clone()), None);
                } else if self.names.contains(name) {
                    self.push(expr.span, Target::Name(name.clone()), None);
                } else if *place == NamePlace::Plain {
                    self.push(expr.span, Target::Field(vec![name.clone()]), None);
                }
            }
            ExprKind::Literal(_) | ExprKind::RecordRoot | ExprKind::Group => {}
            ExprKind::AllOf(name) => {
                if self.locals.contains(&name.node) {
                    self.push(name.span, Target::Local(self.rule, name.node.clone()), None);
                }
            }
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
                let through_group = match &base.kind {
                    ExprKind::Group => true,
                    ExprKind::Name(name, NamePlace::Plain) => self.bound.contains(name),
                    _ => false,
                };
                if through_group && self.each.contains(&member.node) {
                    // `group.NAME`, `r.NAME`: the rule's `let each`.
                    self.push(
                        member.span,
                        Target::Local(self.rule, member.node.clone()),
                        None,
                    );
                } else if let Some(mut path) = self.field_path(base) {
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

/// The block the cursor is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Block {
    /// Outside any block.
    File,
    /// Inside `rule ID { … }`.
    Rule,
    /// Inside `test "NAME" { … }`.
    Test,
    /// Inside another brace: a `record` schema, a `given` mapping.
    Other,
}

/// The innermost block open at the end of `before` (the text up to the cursor), by its braces,
/// leaving out strings and comments; it reads text that does not parse too.
pub(crate) fn block_at(before: &str) -> Block {
    let mut stack = Vec::new();
    let mut line_start = 0;
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut escaped = false;
    // The end of a test's `given` data: YAML, whose quotes follow YAML's rules.
    let mut data_end = 0;
    for (i, c) in before.char_indices() {
        if c == '\n' {
            line_start = i + 1;
            quote = None;
            comment = false;
            continue;
        }
        if comment || i < data_end {
            continue;
        }
        if quote.is_none()
            && matches!(c, '{' | '[')
            && before
                .get(..i)
                .is_some_and(|b| b.trim_end().ends_with("given"))
        {
            match before
                .get(i..)
                .and_then(crate::syntax::closed_flow_data_len)
            {
                Some(len) => {
                    data_end = i + len;
                    continue;
                }
                // The cursor is inside the data (or the data never closes).
                None => return Block::Other,
            }
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q == '"' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '#' => comment = true,
            '{' => {
                let head = before.get(line_start..i).unwrap_or("");
                stack.push(match head.split_whitespace().next() {
                    Some("rule") => Block::Rule,
                    Some("test") => Block::Test,
                    _ => Block::Other,
                });
            }
            '}' => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.last().copied().unwrap_or(Block::File)
}

/// What to complete at the cursor, from the text before it on its line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CompletionPlace {
    /// A rule id: after `waive`, or after an effect in an `expect` clause.
    RuleId,
    /// A field under this path, after a `.`.
    Member(Vec<String>),
    /// After `group.` (or `r.` for `r` in `group`): a field of the group's records, or a
    /// `let each` of the rule.
    GroupMember,
    /// After `all.`: a rule-local `let`.
    AllOf,
    /// The start of a statement, of a rule block's clause or of a test's.
    StatementStart,
    /// Right after a rule's effect (`deny `, `warn `, `note `): a filter or a clause.
    AfterEffect,
    /// Inside a group rule's keys, after `per`: another key's `as`, or the next clause.
    Keys,
    /// Inside an expression.
    Expression,
    /// Inside a comment or a string (a message's `{…}` placeholders aside): nothing.
    Nothing,
}

/// Where the cursor is, judging by `earlier`, the file's text up to it: mostly by its line, and
/// by the variables the statement binds before it (`b` in `for b in bids.details`).
pub(crate) fn completion_place(earlier: &str) -> CompletionPlace {
    let before = earlier.rsplit('\n').next().unwrap_or(earlier);
    if in_comment_or_string_before(earlier) {
        return CompletionPlace::Nothing;
    }
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
        let path = path_written_before(base);
        if path == ["all"] {
            return CompletionPlace::AllOf;
        }
        return member_place(path, earlier, 0);
    }
    if head.trim().is_empty() {
        return CompletionPlace::StatementStart;
    }
    if words.len() == 1 && ["deny", "warn", "note"].contains(&last) {
        return CompletionPlace::AfterEffect;
    }
    let clauses = ["where", "having", "when", "unless"];
    if let Some(per) = words.iter().rposition(|w| *w == "per")
        && !words.iter().skip(per).any(|w| clauses.contains(w))
        && (last == "per" || last.ends_with(',') || !words.iter().skip(per).any(|w| *w == "as"))
    {
        return if last == "per" || last.ends_with(',') {
            CompletionPlace::Expression
        } else {
            CompletionPlace::Keys
        };
    }
    CompletionPlace::Expression
}

/// Whether the end of `earlier` (a file's text up to the cursor) is inside a comment or a
/// string, not in a message's placeholder: a string begun on an earlier line too, and neither
/// a quote nor a `#` of a test's `given` data.
pub(crate) fn in_comment_or_string_before(earlier: &str) -> bool {
    use crate::syntax::tokens::{Kind, tokens};
    let all = tokens(earlier);
    let Some(last) = all.last() else {
        return false;
    };
    let start = (last.text.as_ptr() as usize).wrapping_sub(earlier.as_ptr() as usize);
    if start + last.text.len() < earlier.len() {
        return false; // the cursor is past it
    }
    match last.kind {
        Kind::Comment => true,
        Kind::Text => in_comment_or_string(last.text),
        Kind::Word | Kind::Punct => false,
    }
}

/// Whether the end of `line` is inside a comment or a string, not in a message's placeholder.
fn in_comment_or_string(line: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut placeholder = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('"'), '\\') if !placeholder => {
                chars.next();
            }
            (Some('"'), '{') if !placeholder => {
                if chars.peek() == Some(&'{') {
                    chars.next();
                } else {
                    placeholder = true;
                }
            }
            (Some('"'), '}') if placeholder => placeholder = false,
            (Some(q), c) if c == q && !placeholder => quote = None,
            (Some(_), _) => {}
            (None, '#') => return true,
            (None, '"' | '\'') => quote = Some(c),
            (None, _) => {}
        }
    }
    quote.is_some() && !placeholder
}

/// What a keyword of the language does, in a line, for hover: the words a reader meets in a
/// rule (clauses, filters, `group`, `all`, `each`, the operators spelt as words).
pub(crate) fn keyword_doc(word: &str) -> Option<&'static str> {
    Some(match word {
        "deny" => "`deny`: the rule's finding fails the check (`--fail-on deny`, the default)",
        "warn" => {
            "`warn`: the rule's finding is a warning; it fails the check with `--fail-on warn`"
        }
        "note" => "`note`: the rule's finding is for information; it never fails the check",
        "require" => "`require COND`: a `deny` finding on every record where COND does not hold",
        "vendor" => {
            "`vendor V` (a filter): the record's `vendor` is V, or one of its alias spellings"
        }
        "after" => "`after D` (a filter): the record's `date` is after D (the day itself excluded)",
        "before" => {
            "`before D` (a filter): the record's `date` is before D (the day itself excluded)"
        }
        "between" => {
            "`between D1 and D2` (a filter): the record's `date` is from D1 to D2, both included"
        }
        "when" => "`when COND`: the rule fires only where COND holds",
        "unless" => "`unless COND`: the rule does not fire where COND holds",
        "where" => {
            "`where COND`: which records the rule considers at all; in a group rule it runs on each record before grouping"
        }
        "per" => {
            "`per KEY [as NAME], …`: one group per distinct key value; the rule is judged per group"
        }
        "having" => {
            "`having COND`: which groups the rule considers (as SQL's `having`), before `when`"
        }
        "group" => {
            "`group`: the records of the group being judged, in input order (`count(group)`, `sum(group.amount)`)"
        }
        "all" => {
            "`all.NAME`: the values of the rule-local let NAME over every record (or group) the rule considers; `all X in LIST where COND`: COND holds for every element"
        }
        "let" => {
            "`let NAME = EXPR`: a named value; in a rule block, computed per record (or per group)"
        }
        "each" => {
            "`let each NAME = EXPR`: in a group rule, computed on each record before grouping (`group.NAME`)"
        }
        "as" => "`KEY as NAME`: the name a group key goes by inside the rule",
        "in" => {
            "`X in LIST`: X is one of LIST's elements (aliases match their spellings); in `any X in LIST` and `[… for X in LIST]`, the list X ranges over"
        }
        "and" => "`A and B`: both hold",
        "or" => "`A or B`: at least one holds",
        "not" => "`not A`: A does not hold (a missing field makes `not (x == y)` hold)",
        "is" => "`PATH is missing`: the field is absent or null",
        "for" => {
            "`[EXPR for X in LIST where COND]`: a list of EXPR for each element X (where COND holds); in a waiver, `for COND` says which findings it waives"
        }
        "exists" => "`PATH exists`: the field is there and not null",
        "missing" => "`PATH is missing`: the field is absent or null",
        "matches" => "`X matches 'REGEX'`: the text X has a match of the regular expression",
        "contains" => "`X contains Y`: the text X holds Y, or the list X has the element Y",
        "any" => "`any X in LIST where COND`: COND holds for at least one element",
        "if" | "then" | "else" => "`if COND then A else B`: A where COND holds, else B",
        "message" => "`message \"…\"`: the finding's text; `{EXPR}` placeholders are filled in",
        "cite" => "`cite \"…\"`: the source the rule enforces, shown with its findings",
        "tags" => "`tags [...]`: labels for the rule, in reports",
        "waive" => {
            "`waive RULE for COND until DATE because \"WHY\"`: the rule's findings where COND holds are waived until DATE"
        }
        _ => return None,
    })
}

/// The field path written right before a `.` (`record.buyer`, `line_items[0]`,
/// `record["unit name"]`, `b.tenderers`): its names, a list's index left out (an element
/// stands where its list does).
fn path_written_before(base: &str) -> Vec<String> {
    // The path's text: back over names, dots and brackets (with what they hold).
    let mut start = base.len();
    let mut depth = 0usize;
    for (i, c) in base.char_indices().rev() {
        match c {
            ']' => depth += 1,
            '[' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            c if c.is_alphanumeric() || c == '_' || c == '.' => {}
            _ => break,
        }
        start = i;
    }
    let written = base.get(start..).unwrap_or("");
    let mut path = Vec::new();
    let mut rest = written;
    while !rest.is_empty() {
        if let Some(inside) = rest.strip_prefix('[') {
            let end = inside.find(']').unwrap_or(inside.len());
            let index = inside.get(..end).unwrap_or("").trim();
            if let Some(key) = index
                .strip_prefix(['"', '\''])
                .and_then(|k| k.strip_suffix(['"', '\'']))
            {
                path.push(key.to_string());
            }
            rest = inside.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let name = rest.get(..end).unwrap_or("");
            let record = path.is_empty() && name == "record";
            if !name.is_empty() && !record {
                path.push(name.to_string());
            }
            rest = rest.get(end..).unwrap_or("");
            rest = rest.strip_prefix('.').unwrap_or(rest);
        }
    }
    path
}

/// What follows `path.`: `group` and a variable over it stand for the group's records; a
/// comprehension's or quantifier's variable for an element of its list, the nearest binding
/// written before the cursor.
fn member_place(path: Vec<String>, earlier: &str, depth: usize) -> CompletionPlace {
    let Some(first) = path.first() else {
        return CompletionPlace::Member(path);
    };
    if first == "group" {
        return match path.get(1..) {
            Some([]) | None => CompletionPlace::GroupMember,
            Some(rest) => CompletionPlace::Member(rest.to_vec()),
        };
    }
    if depth < 4
        && let Some(list) = variable_list(earlier, first)
    {
        let mut resolved = path_written_before(&list);
        resolved.extend(path.into_iter().skip(1));
        return member_place(resolved, earlier, depth + 1);
    }
    CompletionPlace::Member(path)
}

/// The list a variable named `name` ranges over in the last `for NAME in LIST`, `any NAME in
/// LIST` or `all NAME in LIST` of `earlier`, as written.
fn variable_list(earlier: &str, name: &str) -> Option<String> {
    // Only the statement the cursor is in binds it: from the last line that starts a statement
    // at the file's top level (a rule block's lines are indented, or inside its braces).
    const STARTS: [&str; 11] = [
        "rule ", "deny ", "warn ", "note ", "require ", "let ", "alias ", "waive ", "test ",
        "import ", "record ",
    ];
    let statement = earlier
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .rfind(|&i| {
            earlier
                .get(i..)
                .is_some_and(|rest| STARTS.iter().any(|s| rest.starts_with(s)))
        })
        .and_then(|i| earlier.get(i..))
        .unwrap_or(earlier);
    let words: Vec<&str> = statement.split_whitespace().collect();
    let at = words.windows(3).rposition(|w| {
        matches!(w, [binder, var, "in"] if *var == name
            && (binder.ends_with("for") || binder.ends_with("any") || binder.ends_with("all")))
    })?;
    let list = words.get(at + 3)?;
    // `in bids.details where …`, `in group]`: the path up to what ends it.
    let end = list
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '[' || c == ']'))
        .unwrap_or(list.len());
    let list = list.get(..end)?.trim_end_matches(']');
    Some(list.to_string())
}

/// The names of the `let`s written in the rule block that `before` (the text up to the cursor)
/// ends in, read from the text alone: for completion while the block does not parse yet
/// (`deny when a > all.` with the name still to write).
pub(crate) fn lets_written_before(before: &str, only_each: bool) -> Vec<String> {
    let lines: Vec<&str> = before.lines().collect();
    let Some(start) = lines
        .iter()
        .rposition(|line| line.trim_start().starts_with("rule ") && line.contains('{'))
    else {
        return Vec::new();
    };
    lines
        .iter()
        .skip(start)
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix("let ")?;
            let rest = rest.trim_start();
            let each = rest.strip_prefix("each ");
            if only_each && each.is_none() {
                return None;
            }
            let rest = each.unwrap_or(rest).trim_start();
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty() && rest[name.len()..].trim_start().starts_with('=')).then_some(name)
        })
        .collect()
}

/// Keywords that start a statement of a file.
pub(crate) const STATEMENT_KEYWORDS: &[&str] = &[
    "rule", "deny", "warn", "note", "require", "let", "alias", "import", "record", "waive", "test",
];

/// Keywords that start a line inside a rule block: its `let`s, its statement, the statement's
/// clauses and the metadata.
pub(crate) const RULE_KEYWORDS: &[&str] = &[
    "let", "let each", "deny", "warn", "note", "require", "per", "where", "having", "when",
    "unless", "message", "cite", "tags",
];

/// Keywords that start a line inside a test block.
pub(crate) const TEST_KEYWORDS: &[&str] = &["given", "given file", "expect", "expect pass"];

/// What may follow a rule's effect: the filters and the clauses.
pub(crate) const EFFECT_KEYWORDS: &[&str] = &[
    "vendor", "after", "before", "between", "per", "where", "having", "when", "unless",
];

/// What may follow a key of `per`.
pub(crate) const KEY_KEYWORDS: &[&str] = &["as", "where", "having", "when", "unless"];

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
    "if",
    "then",
    "else",
];

/// Keywords of expressions that only a rule block reads: `group` and `all.` (§13) and the
/// clauses that may follow an expression there.
pub(crate) const RULE_EXPRESSION_KEYWORDS: &[&str] = &["group", "all.", "having"];

#[cfg(test)]
mod tests {
    use super::{
        Block, CompletionPlace, block_at, completion_place, function_doc, lets_written_before,
    };
    use crate::compile::Function;

    #[test]
    fn the_block_is_found_by_its_braces() {
        assert_eq!(block_at("let a = 1\n"), Block::File);
        assert_eq!(block_at("rule r {\n  let x = 1\n  "), Block::Rule);
        assert_eq!(
            block_at("rule r {\n  note when a\n  message \"{a} } # {\"\n  "),
            Block::Rule
        );
        assert_eq!(block_at("rule r { note when a }\n# {\n"), Block::File);
        assert_eq!(block_at("test \"t\" {\n  given {a: 1}\n  "), Block::Test);
        assert_eq!(block_at("test \"t\" {\n  given {a: "), Block::Other);
        // YAML's quotes in `given`: an apostrophe inside a plain scalar opens nothing.
        assert_eq!(
            block_at("test \"t\" {\n  given {by: O'Brien}\n  expect pass\n}\n"),
            Block::File
        );
        assert_eq!(
            block_at("test \"t\" {\n  given {by: O'Brien}\n  "),
            Block::Test
        );
    }

    #[test]
    fn every_function_has_a_call_form_and_a_doc() {
        for (name, function) in Function::ALL {
            let (call, doc) = function_doc(function);
            assert!(call.starts_with(&format!("{name}(")), "{call}");
            assert!(call.ends_with(')'), "{call}");
            assert!(!doc.is_empty(), "{name}");
        }
    }

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
        assert_eq!(completion_place("  warn p"), CompletionPlace::AfterEffect);
        assert_eq!(completion_place("  warn per "), CompletionPlace::Expression);
        assert_eq!(
            completion_place("  warn per vendor "),
            CompletionPlace::Keys
        );
        assert_eq!(
            completion_place("  warn per vendor, week(date) "),
            CompletionPlace::Keys
        );
        assert_eq!(
            completion_place("  warn per vendor as v "),
            CompletionPlace::Expression
        );
        assert_eq!(
            completion_place("  warn per vendor having count(group) > "),
            CompletionPlace::Expression
        );
        assert_eq!(
            completion_place("  note when a > upper_fence(all.a"),
            CompletionPlace::AllOf
        );
        assert_eq!(
            completion_place("  deny when ven"),
            CompletionPlace::Expression
        );
    }

    #[test]
    fn members_follow_indexes_variables_and_the_group() {
        let member =
            |path: &[&str]| CompletionPlace::Member(path.iter().map(|p| p.to_string()).collect());
        assert_eq!(
            completion_place("  deny when line_items[0]."),
            member(&["line_items"])
        );
        assert_eq!(
            completion_place("  deny when record[\"unit name\"].bo"),
            member(&["unit name"])
        );
        assert_eq!(
            completion_place("  let n = count([b for b in bids.details where b.st"),
            member(&["bids", "details"])
        );
        assert_eq!(
            completion_place(
                "rule r {\n  note when any a in awards\n    where any s in a.suppliers where s."
            ),
            member(&["awards", "suppliers"])
        );
        assert_eq!(
            completion_place("  note per vendor when sum(group."),
            CompletionPlace::GroupMember
        );
        assert_eq!(
            completion_place("  note per vendor when any r in group where r."),
            CompletionPlace::GroupMember
        );
        assert_eq!(
            completion_place("  note per vendor when max(group.buyer."),
            member(&["buyer"])
        );
        // A variable of an earlier rule is not this one's: `b` here is a field.
        assert_eq!(
            completion_place("note when any b in bids where b.x\ndeny when b."),
            member(&["b"])
        );
        assert_eq!(
            completion_place(
                "rule r {\n  let v = [b for b in bids]\n  deny when any b in awards where b."
            ),
            member(&["awards"])
        );
    }

    #[test]
    fn nothing_completes_in_comments_and_strings() {
        assert_eq!(
            completion_place("  deny vendor DJI # see memo."),
            CompletionPlace::Nothing
        );
        assert_eq!(
            completion_place("  message \"bought from ven"),
            CompletionPlace::Nothing
        );
        assert_eq!(completion_place("  let p = 'a.b"), CompletionPlace::Nothing);
        assert_eq!(
            completion_place("  message \"{{literal}} {buyer."),
            CompletionPlace::Member(vec!["buyer".into()])
        );
        assert_eq!(
            completion_place("  message \"a \\\" quote\" when ven"),
            CompletionPlace::Expression
        );
        // A string begun on an earlier line: its second line is no expression.
        assert_eq!(
            completion_place("rule r {\n  deny when a\n  message \"bought\n  from ven"),
            CompletionPlace::Nothing
        );
        assert_eq!(
            completion_place("rule r {\n  deny when a\n  message \"bought\n  from {buyer."),
            CompletionPlace::Member(vec!["buyer".into()])
        );
        // A quote of `given` data opens no string, and a closed string ends before the cursor.
        assert_eq!(
            completion_place(
                "test \"t\" {\n  given {by: O'Brien}\n  expect deny r\n}\nrule r { deny when ven"
            ),
            CompletionPlace::Expression
        );
        assert_eq!(
            completion_place("note when x == \"a\" and ven"),
            CompletionPlace::Expression
        );
    }

    /// After `all.` the block does not parse yet: its lets are read from the text.
    #[test]
    fn lets_are_read_from_the_text_of_an_unfinished_rule() {
        let before = "let x = 1\nrule a {\n  let y = 2\n}\nrule b {\n  let t = amount\n  let each u = v\n  let w=3\n  deny when amount > all.";
        assert_eq!(lets_written_before(before, false), ["t", "u", "w"]);
        assert_eq!(lets_written_before(before, true), ["u"]);
        assert!(lets_written_before("deny when x > all.", false).is_empty());
    }
}
