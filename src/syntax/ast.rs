//! The typed syntax tree of a policy file. Every node has a span; no pest types appear here.

use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::source::{Source, Span, Spanned};

/// A parsed policy file.
#[derive(Debug, Clone)]
pub(crate) struct PolicyFile {
    /// The file it was parsed from.
    pub source: Source,
    /// Its statements, in order.
    pub statements: Vec<Statement>,
    /// The ids of `rule ID { … }` blocks that did not parse: their syntax error is reported,
    /// and a waiver or test naming them says nothing more.
    pub unparsed_rules: Vec<String>,
}

/// One top-level statement.
#[derive(Debug, Clone)]
pub(crate) enum Statement {
    /// `let NAME = VALUE`
    Let(LetDecl),
    /// `alias SYMBOL = [SPELLING, …]`
    Alias(AliasDecl),
    /// `import "FILE"`
    Import(ImportDecl),
    /// A rule, with or without a block.
    Rule(Box<Rule>),
    /// `record { … }`: the schema of the records.
    Record(RecordDecl),
    /// `waive RULE for EXPR until DATE because "TEXT" [by "OWNER"]`
    Waive(Box<Waiver>),
    /// `test "NAME" { given … expect … }`
    Test(Box<TestBlock>),
}

/// `waive RULE for EXPR until DATE because "TEXT" [by "OWNER"]` (docs/language.md §8).
#[derive(Debug, Clone)]
pub(crate) struct Waiver {
    /// The rule waived, by id.
    pub rule: Spanned<String>,
    /// Which records: the waiver applies where this holds.
    pub condition: Expr,
    /// The last day the waiver applies: a date literal or a `let` bound to one.
    pub until: Expr,
    /// Why.
    pub reason: Spanned<String>,
    /// Who granted it.
    pub owner: Option<Spanned<String>>,
    /// The whole statement.
    pub span: Span,
}

/// `test "NAME" { given … expect … }` (docs/language.md §9).
#[derive(Debug, Clone)]
pub(crate) struct TestBlock {
    /// The test's name.
    pub name: Spanned<String>,
    /// The record it evaluates.
    pub given: Given,
    /// What the record's findings must be: empty for `expect pass`.
    pub expect: Vec<Expectation>,
    /// The `expect` clause.
    pub expect_span: Span,
    /// The whole block.
    pub span: Span,
}

/// The record of a test.
#[derive(Debug, Clone)]
pub enum Given {
    /// `given { … }`: the span of the YAML flow mapping in the policy file.
    Inline(Span),
    /// `given file "PATH"`: relative to the policy file.
    File(Spanned<String>),
    /// `given [ {…}, {…} ]`: the span of a YAML flow sequence of records.
    Records(Span),
}

/// One `EFFECT RULE` of an `expect` clause.
#[derive(Debug, Clone)]
pub(crate) struct Expectation {
    /// `deny`, `warn`, `note`, `error` or `waived`.
    pub effect: Spanned<Outcome>,
    /// The rule, by id.
    pub rule: Spanned<String>,
}

/// `record { FIELD* }`: (part of) the schema of the records.
#[derive(Debug, Clone)]
pub(crate) struct RecordDecl {
    /// The declared fields, in order.
    pub fields: Vec<FieldDecl>,
    /// `record closed { … }`: undeclared fields in the data are errors.
    pub closed: bool,
    /// The whole declaration.
    pub span: Span,
}

/// `name: TYPE` or `name?: TYPE` in a schema.
#[derive(Debug, Clone)]
pub(crate) struct FieldDecl {
    /// The field's name.
    pub name: Spanned<String>,
    /// Whether the field may be missing (`name?:`).
    pub optional: bool,
    /// Its type.
    pub ty: TypeExpr,
    /// The whole field declaration.
    pub span: Span,
}

/// A type written in a schema.
#[derive(Debug, Clone)]
pub(crate) struct TypeExpr {
    /// What type.
    pub kind: TypeExprKind,
    /// Where it was written.
    #[expect(
        dead_code,
        reason = "the span of the whole declaration, for tools that outline a policy"
    )]
    pub span: Span,
}

/// The kinds of type a schema can write.
#[derive(Debug, Clone)]
pub(crate) enum TypeExprKind {
    /// `string`, `integer`, `number`, `date` or `bool`.
    Name(String),
    /// `[T]`
    List(Box<TypeExpr>),
    /// `{ FIELD* }`
    Record(Vec<FieldDecl>),
    /// `a | b | "c d"`
    Enum(Vec<Spanned<String>>),
}

/// `let NAME = VALUE`
#[derive(Debug, Clone)]
pub(crate) struct LetDecl {
    /// The name bound.
    pub name: Spanned<String>,
    /// The constant expression.
    pub value: Expr,
    /// The whole declaration.
    pub span: Span,
}

/// `alias SYMBOL = [SPELLING, …]`
#[derive(Debug, Clone)]
pub(crate) struct AliasDecl {
    /// The symbol that gets other spellings.
    pub name: Spanned<String>,
    /// The other spellings: strings or symbols.
    pub spellings: Vec<Expr>,
    /// The whole declaration.
    pub span: Span,
}

/// `import "FILE"`
#[derive(Debug, Clone)]
pub(crate) struct ImportDecl {
    /// The path as written, relative to the importing file.
    pub path: Spanned<String>,
    /// The whole declaration.
    pub span: Span,
}

pub use crate::effect::{Effect, Outcome};

/// A rule: a body, and the metadata a block may give it.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The id of a rule block; `None` for a rule written outside a block.
    pub id: Option<Spanned<String>>,
    /// What the rule tests.
    pub body: RuleBody,
    /// `message "TEXT"`, with the span of the string.
    pub message: Option<Spanned<String>>,
    /// `cite "TEXT"`.
    pub cite: Option<Spanned<String>>,
    /// `tags [..]`.
    pub tags: Vec<Spanned<String>>,
    /// Rule-local `let NAME = EXPR` lines, in the order written.
    pub lets: Vec<LocalLet>,
    /// The message's `{…}` placeholders, each an expression with its span in the file.
    pub placeholders: Vec<Expr>,
    /// The rule body: from its effect keyword to the end of its last clause.
    pub body_span: Span,
    /// The whole statement (the block, if any).
    pub span: Span,
}

/// The testing part of a rule.
#[derive(Debug, Clone)]
pub(crate) enum RuleBody {
    /// `EFFECT FILTER* [when EXPR] [unless EXPR]`
    Effect {
        /// The effect keyword.
        effect: Spanned<Effect>,
        /// Filters, ANDed, in the order written.
        filters: Vec<Filter>,
        /// `per KEY [as NAME], …`: the keys of a group rule.
        per: Vec<GroupKey>,
        /// `where EXPR`: the records the rule considers.
        where_: Option<Expr>,
        /// `having EXPR`: the groups the rule considers.
        having: Option<Expr>,
        /// The `when` condition.
        when: Option<Expr>,
        /// The `unless` condition.
        unless: Option<Expr>,
    },
    /// `require EXPR [when EXPR]`: deny unless EXPR.
    Require {
        /// The `require` keyword's span.
        keyword: Span,
        /// What must hold.
        condition: Expr,
        /// `where EXPR`: the records the rule considers at all (§12).
        where_: Option<Expr>,
        /// The `when` condition.
        when: Option<Expr>,
    },
}

/// `let NAME = EXPR` inside a rule block.
#[derive(Debug, Clone)]
pub(crate) struct LocalLet {
    /// The name.
    pub name: Spanned<String>,
    /// The value, computed per record (or per group).
    pub value: Expr,
    /// `let each`: in a group rule, computed for each record before grouping.
    pub each: bool,
}

/// One key of `per`: an expression and the name it goes by inside the rule.
#[derive(Debug, Clone)]
pub(crate) struct GroupKey {
    /// The key's expression (a field path or a call).
    pub expr: Expr,
    /// `as NAME`.
    pub name: Option<Spanned<String>>,
    /// The key as written, whitespace collapsed: its name when it has no `as`.
    pub text: String,
}

/// A filter right after the effect.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    /// What it tests.
    pub kind: FilterKind,
    /// The whole filter.
    pub span: Span,
}

/// The kinds of filter.
#[derive(Debug, Clone)]
pub(crate) enum FilterKind {
    /// `vendor V`
    VendorIs(Expr),
    /// `vendor in LIST`
    VendorIn(Expr),
    /// `vendor not in LIST`
    VendorNotIn(Expr),
    /// `[PATH] after D`
    After(Option<Expr>, Expr),
    /// `[PATH] before D`
    Before(Option<Expr>, Expr),
    /// `[PATH] between D1 and D2`
    Between(Option<Expr>, Expr, Expr),
}

/// An expression with its span.
#[derive(Debug, Clone)]
pub struct Expr {
    /// What kind of expression.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// Where a bare identifier stands, which decides what it may mean (docs/language.md §4, Names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NamePlace {
    /// Anywhere else: a field of the record (or a `let`, or a quantifier variable).
    Plain,
    /// The whole right-hand operand of `== != contains starts with ends with`, a filter operand,
    /// or a list element: a symbol unless a `let` or `alias` declares it.
    SymbolSlot,
    /// After `in` / `not in`: must be a `let` or `alias` list.
    ListSlot,
}

/// The kinds of expression.
#[derive(Debug, Clone)]
pub enum ExprKind {
    /// A string, number, date or boolean literal.
    Literal(Literal),
    /// `[a, b, c]`
    List(Vec<Expr>),
    /// A bare identifier.
    Name(String, NamePlace),
    /// `record`: the whole record.
    RecordRoot,
    /// `BASE.NAME`
    Member(Box<Expr>, Spanned<String>),
    /// `BASE[INDEX]`
    Index(Box<Expr>, Box<Expr>),
    /// `NAME(ARGS)`
    Call(Spanned<String>, Vec<Expr>),
    /// `not X`.
    Not(Box<Expr>),
    /// `a and b and …`
    And(Vec<Expr>),
    /// `a or b or …`
    Or(Vec<Expr>),
    /// A comparison.
    Compare(
        CompareOp,
        #[expect(dead_code, reason = "the operator's span, for tools that point at it")] Spanned<()>,
        Box<Expr>,
        Box<Expr>,
    ),
    /// `X exists`
    Exists(Box<Expr>),
    /// `X is missing`
    Missing(Box<Expr>),
    /// A chain of `+ -` or of `* /`: the first operand, then each operator and operand.
    Arith(Box<Expr>, Vec<(Spanned<ArithOp>, Expr)>),
    /// Unary minus.
    Neg(Box<Expr>),
    /// `any|all VAR in LIST where BODY`
    Quantifier(Quantifier, Spanned<String>, Box<Expr>, Box<Expr>),
    /// `(EXPR)`: kept so that a parenthesised name is never a symbol.
    Paren(Box<Expr>),
    /// `if COND then A else B`
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `[BODY for VAR in LIST where FILTER]`
    Comprehension {
        /// The element computed for each item.
        body: Box<Expr>,
        /// The variable.
        var: Spanned<String>,
        /// The list.
        list: Box<Expr>,
        /// `where COND`.
        filter: Option<Box<Expr>>,
    },
    /// `all.NAME`
    AllOf(Spanned<String>),
    /// `group`
    Group,
}

impl Expr {
    /// Calls `f` with every bare name the expression holds (`let` and `alias` names, symbols,
    /// fields and quantifier variables alike), in no particular order.
    pub(crate) fn for_each_name<'e>(&'e self, f: &mut dyn FnMut(&'e str)) {
        self.walk_names(false, &mut |name, _| f(name));
    }

    /// As [`Expr::for_each_name`], with every name a rule-local `let` may be read by too: the
    /// NAME of each `all.NAME`, and of each `.NAME` (`group.share`, `r.share` of a `let each`).
    pub(crate) fn for_each_name_a_let_may_be<'e>(&'e self, f: &mut dyn FnMut(&'e str)) {
        self.walk_names(true, &mut |name, _| f(name));
    }

    /// Calls `f` with every name in a symbol's place ([`NamePlace::SymbolSlot`]) and its span.
    pub(crate) fn for_each_symbol<'e>(&'e self, f: &mut dyn FnMut(&'e str, Span)) {
        self.walk_names(false, &mut |name, e| {
            if matches!(e.kind, ExprKind::Name(_, NamePlace::SymbolSlot)) {
                f(name, e.span);
            }
        });
    }

    /// Calls `f` with each name and the expression that holds it.
    fn walk_names<'e>(&'e self, in_rule: bool, f: &mut dyn FnMut(&'e str, &'e Expr)) {
        self.walk(&mut |e| match &e.kind {
            ExprKind::Name(n, _) => f(n, e),
            ExprKind::AllOf(n) | ExprKind::Member(_, n) if in_rule => f(&n.node, e),
            _ => {}
        });
    }

    /// Calls `f` with this expression and every expression inside it, each before those inside
    /// it (siblings in no particular order).
    pub(crate) fn walk<'e>(&'e self, f: &mut dyn FnMut(&'e Expr)) {
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            f(e);
            match &e.kind {
                ExprKind::Name(..)
                | ExprKind::Literal(_)
                | ExprKind::RecordRoot
                | ExprKind::AllOf(_)
                | ExprKind::Group => {}
                ExprKind::If(a, b, c) => {
                    stack.push(a);
                    stack.push(b);
                    stack.push(c);
                }
                ExprKind::Comprehension {
                    body, list, filter, ..
                } => {
                    stack.push(body);
                    stack.push(list);
                    stack.extend(filter.as_deref());
                }
                ExprKind::List(items) | ExprKind::And(items) | ExprKind::Or(items) => {
                    stack.extend(items);
                }
                ExprKind::Call(_, args) => stack.extend(args),
                ExprKind::Member(inner, _)
                | ExprKind::Not(inner)
                | ExprKind::Exists(inner)
                | ExprKind::Missing(inner)
                | ExprKind::Neg(inner)
                | ExprKind::Paren(inner) => stack.push(inner),
                ExprKind::Index(a, b)
                | ExprKind::Compare(_, _, a, b)
                | ExprKind::Quantifier(_, _, a, b) => {
                    stack.push(a);
                    stack.push(b);
                }
                ExprKind::Arith(first, rest) => {
                    stack.push(first);
                    stack.extend(rest.iter().map(|(_, e)| e));
                }
            }
        }
    }
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    /// A string (escapes resolved) or raw string.
    String(String),
    /// An exact decimal.
    Number(Decimal),
    /// A valid date.
    Date(Date),
    /// A date-time (`2020-07-14T17:00:00Z`).
    DateTime(crate::time::Instant),
    /// A duration (`15 days`).
    Duration(crate::time::Duration),
    /// `true` or `false`.
    Bool(bool),
}

/// The comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`
    In,
    /// `not in`
    NotIn,
    /// `matches`
    Matches,
    /// `contains`
    Contains,
    /// `starts with`
    StartsWith,
    /// `ends with`
    EndsWith,
}

/// The arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

/// `any` or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    /// True when some element satisfies the body.
    Any,
    /// True when every element satisfies the body.
    All,
}
