//! Pest pairs into the typed AST, one `lower_*` function per grammar rule. An unexpected pair is
//! an internal error diagnostic, never a panic.

use pest::iterators::{Pair, Pairs};
use rust_decimal::Decimal;

use super::MAX_NESTING;
use super::ast::*;
use super::grammar::Rule;
use crate::diagnostic::{Code, Diag};
use crate::source::{Source, Span, Spanned};

type Lowered<T> = Result<T, Vec<Diag>>;

/// Lowering state: the file, and the offset of the statement's text in it.
struct Lower<'s> {
    source: &'s Source,
    offset: usize,
}

/// Lowers one parsed statement that starts at byte `offset` of the file.
pub fn statement(source: &Source, offset: usize, pair: Pair<'_, Rule>) -> Lowered<Statement> {
    let lower = Lower { source, offset };
    lower.statement(pair)
}

impl Lower<'_> {
    /// The span of a pair, from its first to the end of its last token: pest's span of a rule
    /// also covers the whitespace and comments skipped after its last token.
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let mut last = pair.clone();
        // A string's inner pair is its content, without the closing quote: stop at the string.
        while !matches!(last.as_rule(), Rule::string | Rule::raw_string)
            && let Some(child) = last.clone().into_inner().next_back()
        {
            last = child;
        }
        let end = last.as_span().end().max(pair.as_span().start());
        Span::new(pair.as_span().start(), end).shift(self.offset)
    }

    fn spanned_str(&self, pair: &Pair<'_, Rule>) -> Spanned<String> {
        Spanned::new(pair.as_str().to_string(), self.span(pair))
    }

    fn internal(&self, pair: &Pair<'_, Rule>) -> Vec<Diag> {
        vec![
            Diag::error(
                Code::ParseInternal,
                format!(
                    "internal error: unexpected `{:?}` in the syntax tree",
                    pair.as_rule()
                ),
            )
            .label(self.source, self.span(pair), "while reading this")
            .help("please report this policy to the caveat developers"),
        ]
    }

    fn error(&self, code: Code, message: String, span: Span, label: &str) -> Vec<Diag> {
        vec![Diag::error(code, message).label(self.source, span, label)]
    }

    fn next<'i>(
        &self,
        pairs: &mut Pairs<'i, Rule>,
        parent: &Pair<'i, Rule>,
    ) -> Lowered<Pair<'i, Rule>> {
        pairs.next().ok_or_else(|| self.internal(parent))
    }

    fn statement(&self, pair: Pair<'_, Rule>) -> Lowered<Statement> {
        match pair.as_rule() {
            Rule::let_decl => self.let_decl(pair).map(Statement::Let),
            Rule::alias_decl => self.alias_decl(pair).map(Statement::Alias),
            Rule::import_decl => self.import_decl(pair).map(Statement::Import),
            Rule::rule_block => self.rule_block(pair).map(|r| Statement::Rule(Box::new(r))),
            Rule::waive_decl => self.waive_decl(pair).map(|w| Statement::Waive(Box::new(w))),
            Rule::test_block => self.test_block(pair).map(|t| Statement::Test(Box::new(t))),
            Rule::record_decl => self.record_decl(pair).map(Statement::Record),
            Rule::effect_rule | Rule::require_rule => {
                let span = self.span(&pair);
                let body = self.rule_body(pair)?;
                Ok(Statement::Rule(Box::new(Rule_ {
                    id: None,
                    body,
                    message: None,
                    cite: None,
                    tags: Vec::new(),
                    lets: Vec::new(),
                    placeholders: Vec::new(),
                    body_span: span,
                    span,
                })))
            }
            _ => Err(self.internal(&pair)),
        }
    }

    fn let_decl(&self, pair: Pair<'_, Rule>) -> Lowered<LetDecl> {
        let span = self.span(&pair);
        let mut inner = pair.clone().into_inner();
        let _kw = self.next(&mut inner, &pair)?;
        let name = self.spanned_str(&self.next(&mut inner, &pair)?);
        let value = self.expr(self.next(&mut inner, &pair)?, 0)?;
        Ok(LetDecl { name, value, span })
    }

    fn alias_decl(&self, pair: Pair<'_, Rule>) -> Lowered<AliasDecl> {
        let span = self.span(&pair);
        let mut inner = pair.clone().into_inner();
        let _kw = self.next(&mut inner, &pair)?;
        let name = self.spanned_str(&self.next(&mut inner, &pair)?);
        let list = self.next(&mut inner, &pair)?;
        let spellings = self.written_list(
            list,
            "an alias lists its spellings",
            "write the spellings out, as in `alias DJI = [\"Da-Jiang Innovations\", Dajiang]`",
        )?;
        Ok(AliasDecl {
            name,
            spellings,
            span,
        })
    }

    fn import_decl(&self, pair: Pair<'_, Rule>) -> Lowered<ImportDecl> {
        let span = self.span(&pair);
        let mut inner = pair.clone().into_inner();
        let _kw = self.next(&mut inner, &pair)?;
        let path = self.string(self.next(&mut inner, &pair)?)?;
        Ok(ImportDecl { path, span })
    }

    fn waive_decl(&self, pair: Pair<'_, Rule>) -> Lowered<Waiver> {
        let span = self.span(&pair);
        let mut inner = pair.clone().into_inner();
        let _kw = self.next(&mut inner, &pair)?;
        let rule = self.spanned_str(&self.next(&mut inner, &pair)?);
        let _for = self.next(&mut inner, &pair)?;
        let condition = self.expr(self.next(&mut inner, &pair)?, 0)?;
        let _until = self.next(&mut inner, &pair)?;
        let until = self.date_operand(self.next(&mut inner, &pair)?)?;
        let _because = self.next(&mut inner, &pair)?;
        let reason = self.string(self.next(&mut inner, &pair)?)?;
        let owner = match inner.next() {
            Some(owner) => {
                let mut parts = owner.clone().into_inner();
                let _by = self.next(&mut parts, &owner)?;
                Some(self.string(self.next(&mut parts, &owner)?)?)
            }
            None => None,
        };
        Ok(Waiver {
            rule,
            condition,
            until,
            reason,
            owner,
            span,
        })
    }

    fn test_block(&self, pair: Pair<'_, Rule>) -> Lowered<TestBlock> {
        let span = self.span(&pair);
        let mut inner = pair.clone().into_inner();
        let _kw = self.next(&mut inner, &pair)?;
        let name = self.string(self.next(&mut inner, &pair)?)?;
        let _open = self.next(&mut inner, &pair)?;
        let given_pair = self.next(&mut inner, &pair)?;
        let mut given_parts = given_pair.clone().into_inner();
        let _given = self.next(&mut given_parts, &given_pair)?;
        let what = self.next(&mut given_parts, &given_pair)?;
        let given = match what.as_rule() {
            Rule::flow_mapping => Given::Inline(self.span(&what)),
            Rule::flow_sequence => Given::Records(self.span(&what)),
            Rule::flow_unbalanced if what.as_str().starts_with('{') => {
                Given::Inline(self.span(&what))
            }
            Rule::flow_unbalanced => Given::Records(self.span(&what)),
            Rule::given_file => {
                let mut parts = what.clone().into_inner();
                let _file = self.next(&mut parts, &what)?;
                Given::File(self.string(self.next(&mut parts, &what)?)?)
            }
            _ => return Err(self.internal(&what)),
        };
        let expect_pair = self.next(&mut inner, &pair)?;
        let expect_span = self.span(&expect_pair);
        let mut expect = Vec::new();
        for part in expect_pair.clone().into_inner() {
            if part.as_rule() != Rule::expectation {
                continue;
            }
            let mut parts = part.clone().into_inner();
            let effect_pair = self.next(&mut parts, &part)?;
            let Some(outcome) = Outcome::from_name(effect_pair.as_str()) else {
                return Err(self.internal(&effect_pair));
            };
            let effect = Spanned::new(outcome, self.span(&effect_pair));
            let rule = self.spanned_str(&self.next(&mut parts, &part)?);
            expect.push(Expectation { effect, rule });
        }
        Ok(TestBlock {
            name,
            given,
            expect,
            expect_span,
            span,
        })
    }

    fn record_decl(&self, pair: Pair<'_, Rule>) -> Lowered<RecordDecl> {
        let span = self.span(&pair);
        let mut inner = pair.clone().into_inner();
        let _kw = self.next(&mut inner, &pair)?;
        let mut body = self.next(&mut inner, &pair)?;
        let closed = body.as_rule() == Rule::closed_mark;
        if closed {
            body = self.next(&mut inner, &pair)?;
        }
        let fields = self.record_body(body)?;
        Ok(RecordDecl {
            fields,
            closed,
            span,
        })
    }

    fn record_body(&self, pair: Pair<'_, Rule>) -> Lowered<Vec<FieldDecl>> {
        pair.into_inner()
            .filter(|p| p.as_rule() == Rule::schema_field)
            .map(|p| self.schema_field(p))
            .collect()
    }

    fn schema_field(&self, pair: Pair<'_, Rule>) -> Lowered<FieldDecl> {
        let span = self.span(&pair);
        let mut inner = pair.clone().into_inner();
        let name_pair = self.next(&mut inner, &pair)?;
        let name = match name_pair.clone().into_inner().next() {
            Some(p) if p.as_rule() == Rule::string => self.string(p)?,
            Some(p) => self.spanned_str(&p),
            None => return Err(self.internal(&name_pair)),
        };
        let mut next = self.next(&mut inner, &pair)?;
        let optional = next.as_rule() == Rule::optional_mark;
        if optional {
            next = self.next(&mut inner, &pair)?;
        }
        if next.as_rule() == Rule::colon {
            next = self.next(&mut inner, &pair)?;
        }
        let ty = self.schema_type(next)?;
        Ok(FieldDecl {
            name,
            optional,
            ty,
            span,
        })
    }

    fn schema_type(&self, pair: Pair<'_, Rule>) -> Lowered<TypeExpr> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::type_name => TypeExprKind::Name(pair.as_str().to_string()),
            Rule::list_type => {
                let mut inner = pair.clone().into_inner();
                let element = self.schema_type(self.next(&mut inner, &pair)?)?;
                TypeExprKind::List(Box::new(element))
            }
            Rule::record_body => TypeExprKind::Record(self.record_body(pair)?),
            Rule::enum_type => {
                let mut members = Vec::new();
                for member in pair.clone().into_inner() {
                    match member.clone().into_inner().next() {
                        Some(p) if p.as_rule() == Rule::string => members.push(self.string(p)?),
                        Some(p) => members.push(self.spanned_str(&p)),
                        None => return Err(self.internal(&member)),
                    }
                }
                TypeExprKind::Enum(members)
            }
            _ => return Err(self.internal(&pair)),
        };
        Ok(TypeExpr { kind, span })
    }

    fn rule_block(&self, pair: Pair<'_, Rule>) -> Lowered<Rule_> {
        let span = self.span(&pair);
        let mut inner = pair.clone().into_inner();
        let _kw = self.next(&mut inner, &pair)?;
        let id_pair = self.next(&mut inner, &pair)?;
        let id = self.spanned_str(&id_pair);
        let _open = self.next(&mut inner, &pair)?;
        if id.node.ends_with(['-', '.']) {
            return Err(self.error(
                Code::ParseRuleId,
                format!(
                    "rule id `{}` ends in `{}`",
                    id.node,
                    id.node.chars().last().unwrap_or('-')
                ),
                id.span,
                "a rule id may not end in `-` or `.`",
            ));
        }
        let mut lets = Vec::new();
        let mut body_pair = self.next(&mut inner, &pair)?;
        while body_pair.as_rule() == Rule::local_let {
            lets.push(self.local_let(body_pair)?);
            body_pair = self.next(&mut inner, &pair)?;
        }
        let body_span = self.span(&body_pair);
        let body = self.rule_body(body_pair)?;
        let mut rule = Rule_ {
            id: Some(id),
            body,
            message: None,
            cite: None,
            tags: Vec::new(),
            lets,
            placeholders: Vec::new(),
            body_span,
            span,
        };
        let mut errors = Vec::new();
        for meta in inner.filter(|p| p.as_rule() != Rule::close_brace) {
            if meta.as_rule() == Rule::local_let {
                rule.lets.push(self.local_let(meta)?);
                continue;
            }
            let meta_span = self.span(&meta);
            let rule_kind = meta.as_rule();
            let mut parts = meta.clone().into_inner();
            let _kw = self.next(&mut parts, &meta)?;
            let slot = match rule_kind {
                Rule::message_meta => &mut rule.message,
                Rule::cite_meta => &mut rule.cite,
                Rule::tags_meta => {
                    if !rule.tags.is_empty() {
                        errors.extend(self.duplicate_metadata("tags", meta_span));
                    }
                    rule.tags = parts
                        .filter(|p| p.as_rule() == Rule::tag)
                        .map(|t| self.tag(t))
                        .collect::<Result<Vec<_>, _>>()?;
                    continue;
                }
                _ => return Err(self.internal(&meta)),
            };
            if slot.is_some() {
                let word = if rule_kind == Rule::message_meta {
                    "message"
                } else {
                    "cite"
                };
                errors.extend(self.duplicate_metadata(word, meta_span));
            }
            *slot = Some(self.string(self.next(&mut parts, &meta)?)?);
        }
        if let Some(message) = &rule.message {
            // `{group}` is the group in a rule with `per`; elsewhere a word like any other.
            let grouped = matches!(&rule.body, RuleBody::Effect { per, .. } if !per.is_empty());
            match self.placeholders(message.span, grouped) {
                Ok(found) => rule.placeholders = found,
                Err(mut e) => errors.append(&mut e),
            }
        }
        if errors.is_empty() {
            Ok(rule)
        } else {
            Err(errors)
        }
    }

    /// `let NAME = EXPR` (or `let each NAME = EXPR`) in a rule block.
    fn local_let(&self, pair: Pair<'_, Rule>) -> Lowered<LocalLet> {
        let mut inner = pair.clone().into_inner();
        let _kw = self.next(&mut inner, &pair)?;
        let mut name = self.next(&mut inner, &pair)?;
        let each = name.as_rule() == Rule::kw_each;
        if each {
            name = self.next(&mut inner, &pair)?;
        }
        let name = self.spanned_str(&name);
        let value = self.expr(self.next(&mut inner, &pair)?, 0)?;
        Ok(LocalLet { name, value, each })
    }

    /// The `{…}` placeholders of the message string at `span`, each parsed as an expression
    /// where it stands in the file (`{{` and `}}` are literal braces).
    fn placeholders(&self, span: Span, grouped: bool) -> Lowered<Vec<Expr>> {
        let raw = self.source.slice(span);
        let mut found = Vec::new();
        let bytes = raw.as_bytes();
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                // An escape is text, and `\u{HEX}`'s braces are no placeholder.
                b'\\' if raw.get(i + 1..).is_some_and(|rest| rest.starts_with("u{")) => {
                    let len = raw
                        .get(i..)
                        .and_then(|rest| rest.find('}'))
                        .map_or(2, |close| close + 1);
                    // A brace written as an escape would be read as a placeholder's brace
                    // once the escape is undone.
                    let hex = raw.get(i + 3..i + len - 1).unwrap_or("");
                    if matches!(u32::from_str_radix(hex, 16), Ok(0x7b | 0x7d)) {
                        let at = Span::new(span.start + i, span.start + i + len);
                        return Err(vec![
                            Diag::error(
                                Code::CheckBadMessage,
                                "this message cannot be used: a brace written as an escape",
                            )
                            .label(self.source, at, "a `{` or `}`")
                            .help("write `{{` or `}}` for a literal brace in a message"),
                        ]);
                    }
                    i += len;
                }
                b'\\' => i += 2,
                b'{' if bytes.get(i + 1) == Some(&b'{') => i += 2,
                b'}' if bytes.get(i + 1) == Some(&b'}') => i += 2,
                b'{' => {
                    let Some(len) = raw
                        .get(i + 1..)
                        .and_then(|rest| super::placeholder_len(rest, super::MessageText::Written))
                    else {
                        // An unclosed `{` is reported with the message's other faults.
                        return Ok(found);
                    };
                    let start = span.start + i + 1;
                    found.push(self.placeholder(Span::new(start, start + len), grouped)?);
                    i += len + 2;
                }
                _ => i += 1,
            }
        }
        Ok(found)
    }

    /// One placeholder's text, parsed and lowered as an expression.
    fn placeholder(&self, at: Span, grouped: bool) -> Lowered<Expr> {
        let written = self.source.slice(at);
        if let Some(path) = self.placeholder_path(written, at, grouped) {
            return Ok(path);
        }
        let source = super::placeholder_source(written);
        let text = source.as_str();
        let parsed = super::grammar::PolicyParser::parse_placeholder(text).map_err(|error| {
            if super::hit_parser_limit(&error) {
                return vec![super::too_deep(self.source, at)];
            }
            vec![
                Diag::error(
                    Code::CheckBadMessage,
                    format!("this message cannot be used: `{{{written}}}` is not an expression"),
                )
                .label(self.source, at, "in this placeholder")
                .help(
                    "a placeholder is an expression in braces, like `{vendor}` or \
                     `{sum(group.amount)}`; write `{{` and `}}` for literal braces",
                ),
            ]
        })?;
        let lower = Lower {
            source: self.source,
            offset: at.start,
        };
        let expr = parsed.into_inner().next();
        match expr {
            Some(expr) => lower.expr(expr, 0),
            None => Err(self.error(
                Code::CheckBadMessage,
                "this message cannot be used: an empty placeholder".to_string(),
                at,
                "in this placeholder",
            )),
        }
    }

    /// A placeholder that is a dotted path of words (`{vendor}`, `{contract.ends}`): inside
    /// braces any word is a name, keywords too (`{tags}`); `group` is the group in a rule with
    /// `per` (`grouped`), and a field elsewhere.
    fn placeholder_path(&self, text: &str, at: Span, grouped: bool) -> Option<Expr> {
        let lead = text.len() - text.trim_start().len();
        let words: Vec<&str> = text.trim().split('.').collect();
        if text.trim().is_empty() || !words.iter().all(|w| super::is_identifier(w)) {
            return None;
        }
        let mut offset = at.start + lead;
        let mut expr: Option<Expr> = None;
        let mut words = words.into_iter().peekable();
        // `all.NAME` of a rule-local let.
        if words.peek() == Some(&"all") && words.len() == 2 {
            let name = words.nth(1)?;
            let start = offset + "all.".len();
            return Some(Expr {
                kind: ExprKind::AllOf(Spanned::new(
                    name.to_string(),
                    Span::new(start, start + name.len()),
                )),
                span: Span::new(offset, start + name.len()),
            });
        }
        for word in words {
            let span = Span::new(offset, offset + word.len());
            expr = Some(match expr {
                None if word == "record" => Expr {
                    kind: ExprKind::RecordRoot,
                    span,
                },
                None if word == "group" && grouped => Expr {
                    kind: ExprKind::Group,
                    span,
                },
                None => Expr {
                    kind: ExprKind::Name(word.to_string(), NamePlace::Plain),
                    span,
                },
                Some(base) => {
                    let whole = Span::new(base.span.start, span.end);
                    Expr {
                        kind: ExprKind::Member(
                            Box::new(base),
                            Spanned::new(word.to_string(), span),
                        ),
                        span: whole,
                    }
                }
            });
            offset = span.end + 1;
        }
        expr
    }

    fn duplicate_metadata(&self, word: &str, span: Span) -> Vec<Diag> {
        vec![
            Diag::error(
                Code::ParseDuplicateMetadata,
                format!("a rule may have only one `{word}`"),
            )
            .label(self.source, span, "second one here")
            .help(format!("merge the two `{word}` lines into one")),
        ]
    }

    fn tag(&self, pair: Pair<'_, Rule>) -> Lowered<Spanned<String>> {
        let inner = pair
            .clone()
            .into_inner()
            .next()
            .ok_or_else(|| self.internal(&pair))?;
        match inner.as_rule() {
            Rule::string => self.string(inner),
            _ => Ok(self.spanned_str(&inner)),
        }
    }

    fn rule_body(&self, pair: Pair<'_, Rule>) -> Lowered<RuleBody> {
        match pair.as_rule() {
            Rule::effect_rule => self.effect_rule(pair),
            Rule::require_rule => {
                let mut inner = pair.clone().into_inner();
                let kw = self.next(&mut inner, &pair)?;
                let condition = self.expr(self.next(&mut inner, &pair)?, 0)?;
                let (mut where_, mut when) = (None, None);
                for clause in inner {
                    match clause.as_rule() {
                        Rule::where_clause => where_ = Some(self.clause(clause)?),
                        _ => when = Some(self.clause(clause)?),
                    }
                }
                Ok(RuleBody::Require {
                    keyword: self.span(&kw),
                    condition,
                    where_,
                    when,
                })
            }
            _ => Err(self.internal(&pair)),
        }
    }

    fn effect_rule(&self, pair: Pair<'_, Rule>) -> Lowered<RuleBody> {
        let mut inner = pair.clone().into_inner();
        let effect_pair = self.next(&mut inner, &pair)?;
        let effect_span = self.span(&effect_pair);
        let effect = match effect_pair.as_str() {
            "deny" => Effect::Deny,
            "warn" => Effect::Warn,
            "note" => Effect::Note,
            _ => return Err(self.internal(&effect_pair)),
        };
        let mut filters = Vec::new();
        let mut per = Vec::new();
        let mut where_ = None;
        let mut having = None;
        let mut when = None;
        let mut unless = None;
        let mut errors = Vec::new();
        for part in inner {
            match part.as_rule() {
                Rule::vendor_filter | Rule::date_filter => match self.filter(part) {
                    Ok(f) => filters.push(f),
                    Err(mut e) => errors.append(&mut e),
                },
                Rule::per_clause => {
                    for key in part.into_inner().filter(|p| p.as_rule() == Rule::group_key) {
                        per.push(self.group_key(key)?);
                    }
                }
                Rule::where_clause => where_ = Some(self.clause(part)?),
                Rule::having_clause => having = Some(self.clause(part)?),
                Rule::when_clause => when = Some(self.clause(part)?),
                Rule::unless_clause => unless = Some(self.clause(part)?),
                _ => return Err(self.internal(&part)),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(RuleBody::Effect {
            effect: Spanned::new(effect, effect_span),
            filters,
            per,
            where_,
            having,
            when,
            unless,
        })
    }

    /// `KEY [as NAME]` of `per`.
    fn group_key(&self, pair: Pair<'_, Rule>) -> Lowered<GroupKey> {
        let mut inner = pair.clone().into_inner();
        let key_pair = self.next(&mut inner, &pair)?;
        let text = super::tokens::one_line(key_pair.as_str());
        let expr = self.expr(key_pair, 0)?;
        let name = match (inner.next(), inner.next()) {
            (Some(_as), Some(name)) => Some(self.spanned_str(&name)),
            _ => None,
        };
        Ok(GroupKey { expr, name, text })
    }

    /// `when EXPR` or `unless EXPR`: the expression.
    fn clause(&self, pair: Pair<'_, Rule>) -> Lowered<Expr> {
        let mut inner = pair.clone().into_inner();
        let _kw = self.next(&mut inner, &pair)?;
        self.expr(self.next(&mut inner, &pair)?, 0)
    }

    fn filter(&self, pair: Pair<'_, Rule>) -> Lowered<Filter> {
        let span = self.span(&pair);
        let mut inner = pair.clone().into_inner();
        let kind = match pair.as_rule() {
            Rule::vendor_filter => {
                let _kw = self.next(&mut inner, &pair)?;
                let op = self.next(&mut inner, &pair)?;
                let mut parts = op.clone().into_inner();
                match op.as_rule() {
                    Rule::vendor_not_in => {
                        let _not = self.next(&mut parts, &op)?;
                        let _in = self.next(&mut parts, &op)?;
                        FilterKind::VendorNotIn(self.list_operand(self.next(&mut parts, &op)?)?)
                    }
                    Rule::vendor_in => {
                        let _in = self.next(&mut parts, &op)?;
                        FilterKind::VendorIn(self.list_operand(self.next(&mut parts, &op)?)?)
                    }
                    Rule::filter_value => {
                        let value = self.next(&mut parts, &op)?;
                        FilterKind::VendorIs(self.operand(value, NamePlace::SymbolSlot)?)
                    }
                    _ => return Err(self.internal(&op)),
                }
            }
            Rule::date_filter => {
                let mut first = self.next(&mut inner, &pair)?;
                let path = if first.as_rule() == Rule::filter_path {
                    let path = self.filter_path(first.clone())?;
                    first = self.next(&mut inner, &pair)?;
                    Some(path)
                } else {
                    None
                };
                let mut parts = first.clone().into_inner();
                let _kw = self.next(&mut parts, &first)?;
                let d1 = self.date_operand(self.next(&mut parts, &first)?)?;
                match first.as_rule() {
                    Rule::after_filter => FilterKind::After(path, d1),
                    Rule::before_filter => FilterKind::Before(path, d1),
                    Rule::between_filter => {
                        let _and = self.next(&mut parts, &first)?;
                        let d2 = self.date_operand(self.next(&mut parts, &first)?)?;
                        FilterKind::Between(path, d1, d2)
                    }
                    _ => return Err(self.internal(&first)),
                }
            }
            _ => return Err(self.internal(&pair)),
        };
        Ok(Filter { kind, span })
    }

    fn filter_path(&self, pair: Pair<'_, Rule>) -> Lowered<Expr> {
        let mut inner = pair.clone().into_inner();
        let head = self.next(&mut inner, &pair)?;
        let mut expr = self.path_head(head, NamePlace::Plain)?;
        for part in inner {
            let span = expr.span.join(self.span(&part));
            expr = match part.as_rule() {
                Rule::name => Expr {
                    kind: ExprKind::Member(Box::new(expr), self.spanned_str(&part)),
                    span,
                },
                Rule::string => {
                    let key = self.string(part)?;
                    let key_span = key.span;
                    Expr {
                        kind: ExprKind::Index(
                            Box::new(expr),
                            Box::new(Expr {
                                kind: ExprKind::Literal(Literal::String(key.node)),
                                span: key_span,
                            }),
                        ),
                        span,
                    }
                }
                _ => return Err(self.internal(&part)),
            };
        }
        Ok(expr)
    }

    fn date_operand(&self, pair: Pair<'_, Rule>) -> Lowered<Expr> {
        let inner = pair
            .clone()
            .into_inner()
            .next()
            .ok_or_else(|| self.internal(&pair))?;
        self.operand(inner, NamePlace::Plain)
    }

    fn list_operand(&self, pair: Pair<'_, Rule>) -> Lowered<Expr> {
        let inner = pair
            .clone()
            .into_inner()
            .next()
            .ok_or_else(|| self.internal(&pair))?;
        self.operand(inner, NamePlace::ListSlot)
    }

    /// A single-token operand: a name in the given place, a literal or a list.
    fn operand(&self, pair: Pair<'_, Rule>, place: NamePlace) -> Lowered<Expr> {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::ident => Ok(Expr {
                kind: ExprKind::Name(pair.as_str().to_string(), place),
                span,
            }),
            Rule::list_lit => {
                let items = self.written_list(
                    pair,
                    "a vendor filter takes a list of names",
                    "test a computed list in a condition instead: `when vendor in [...]`",
                )?;
                Ok(Expr {
                    kind: ExprKind::List(items),
                    span,
                })
            }
            _ => self.primary(pair, 0),
        }
    }

    /// The items of a list literal written out where one must be (`what` says where); a
    /// comprehension there is an error, with `help`.
    fn written_list(&self, pair: Pair<'_, Rule>, what: &str, help: &str) -> Lowered<Vec<Expr>> {
        if is_comprehension(&pair) {
            return Err(vec![
                Diag::error(
                    Code::ParseSyntax,
                    format!("a comprehension cannot stand here: {what}"),
                )
                .label(self.source, self.span(&pair), "a computed list")
                .help(help),
            ]);
        }
        self.list_items(pair, 0)
    }

    /// The items of a list literal that is not a comprehension.
    fn list_items(&self, pair: Pair<'_, Rule>, depth: usize) -> Lowered<Vec<Expr>> {
        pair.into_inner()
            .filter(|p| p.as_rule() != Rule::close_bracket)
            .map(|item| self.symbol_slot(item, depth + 1))
            .collect()
    }

    /// An expression where a lone bare identifier is a symbol (rule 3 of docs/language.md §4, Names).
    fn symbol_slot(&self, pair: Pair<'_, Rule>, depth: usize) -> Lowered<Expr> {
        let expr = self.expr(pair, depth)?;
        Ok(match expr.kind {
            ExprKind::Name(name, NamePlace::Plain) => Expr {
                kind: ExprKind::Name(name, NamePlace::SymbolSlot),
                span: expr.span,
            },
            kind => Expr {
                kind,
                span: expr.span,
            },
        })
    }

    fn too_deep(&self, span: Span) -> Vec<Diag> {
        vec![super::too_deep(self.source, span)]
    }

    /// Any expression rule. `depth` counts nesting, so that hostile input cannot overflow the stack.
    fn expr(&self, pair: Pair<'_, Rule>, depth: usize) -> Lowered<Expr> {
        let pair = pass_through(pair);
        let span = self.span(&pair);
        if depth > MAX_NESTING {
            return Err(self.too_deep(span));
        }
        match pair.as_rule() {
            Rule::expr => {
                let inner = pair
                    .clone()
                    .into_inner()
                    .next()
                    .ok_or_else(|| self.internal(&pair))?;
                self.expr(inner, depth)
            }
            Rule::if_expr => {
                let mut inner = pair.clone().into_inner();
                let _if = self.next(&mut inner, &pair)?;
                let condition = self.expr(self.next(&mut inner, &pair)?, depth + 1)?;
                let _then = self.next(&mut inner, &pair)?;
                let then = self.expr(self.next(&mut inner, &pair)?, depth + 1)?;
                let _else = self.next(&mut inner, &pair)?;
                let otherwise = self.expr(self.next(&mut inner, &pair)?, depth + 1)?;
                Ok(Expr {
                    kind: ExprKind::If(Box::new(condition), Box::new(then), Box::new(otherwise)),
                    span,
                })
            }
            Rule::or_expr | Rule::and_expr => {
                let is_or = pair.as_rule() == Rule::or_expr;
                let operands: Vec<Expr> = pair
                    .into_inner()
                    .filter(|p| !matches!(p.as_rule(), Rule::kw_or | Rule::kw_and))
                    .map(|p| self.expr(p, depth))
                    .collect::<Result<_, _>>()?;
                Ok(single_or(operands, span, |ops| {
                    if is_or {
                        ExprKind::Or(ops)
                    } else {
                        ExprKind::And(ops)
                    }
                }))
            }
            Rule::not_expr => {
                self.prefixed(pair, depth, Rule::kw_not, |e| ExprKind::Not(Box::new(e)))
            }
            Rule::compare => self.compare(pair, depth),
            Rule::sum | Rule::product => self.arith(pair, depth),
            Rule::unary => self.prefixed(pair, depth, Rule::neg, |e| ExprKind::Neg(Box::new(e))),
            Rule::postfix => self.postfix(pair, depth),
            _ => self.primary(pair, depth),
        }
    }

    /// An operand under a run of prefix operators (`not not x`, `- - x`): each `prefix` pair
    /// wraps the operand once with `wrap`; more than [`MAX_NESTING`] in a row is refused.
    fn prefixed(
        &self,
        pair: Pair<'_, Rule>,
        depth: usize,
        prefix: Rule,
        wrap: fn(Expr) -> ExprKind,
    ) -> Lowered<Expr> {
        let span = self.span(&pair);
        let mut count = 0;
        let mut operand = None;
        for p in pair.clone().into_inner() {
            if p.as_rule() == prefix {
                count += 1;
            } else {
                operand = Some(p);
            }
        }
        if count > MAX_NESTING {
            return Err(self.too_deep(span));
        }
        let operand = operand.ok_or_else(|| self.internal(&pair))?;
        let mut expr = self.expr(operand, depth + count)?;
        for _ in 0..count {
            expr = Expr {
                kind: wrap(expr),
                span,
            };
        }
        Ok(expr)
    }

    fn compare(&self, pair: Pair<'_, Rule>, depth: usize) -> Lowered<Expr> {
        let span = self.span(&pair);
        let mut inner = pair.clone().into_inner();
        let left_pair = self.next(&mut inner, &pair)?;
        let Some(op_pair) = inner.next() else {
            return self.expr(left_pair, depth);
        };
        let left = Box::new(self.expr(left_pair, depth)?);
        let op_span = self.span(&op_pair);
        let op = match op_pair.as_rule() {
            Rule::exists_op => {
                return Ok(Expr {
                    kind: ExprKind::Exists(left),
                    span,
                });
            }
            Rule::missing_op => {
                return Ok(Expr {
                    kind: ExprKind::Missing(left),
                    span,
                });
            }
            Rule::order_op => match op_pair.as_str() {
                "==" => CompareOp::Eq,
                "!=" => CompareOp::Ne,
                "<" => CompareOp::Lt,
                "<=" => CompareOp::Le,
                ">" => CompareOp::Gt,
                ">=" => CompareOp::Ge,
                _ => return Err(self.internal(&op_pair)),
            },
            Rule::in_op => CompareOp::In,
            Rule::not_in_op => CompareOp::NotIn,
            Rule::matches_op => CompareOp::Matches,
            Rule::contains_op => CompareOp::Contains,
            Rule::starts_op => CompareOp::StartsWith,
            Rule::ends_op => CompareOp::EndsWith,
            _ => return Err(self.internal(&op_pair)),
        };
        let right_pair = self.next(&mut inner, &pair)?;
        let mut right = self.expr(right_pair, depth)?;
        let place = match op {
            CompareOp::Eq
            | CompareOp::Ne
            | CompareOp::Contains
            | CompareOp::StartsWith
            | CompareOp::EndsWith => Some(NamePlace::SymbolSlot),
            CompareOp::In | CompareOp::NotIn => Some(NamePlace::ListSlot),
            _ => None,
        };
        if let (Some(place), ExprKind::Name(_, p)) = (place, &mut right.kind) {
            *p = place;
        }
        Ok(Expr {
            kind: ExprKind::Compare(op, Spanned::new((), op_span), left, Box::new(right)),
            span,
        })
    }

    fn arith(&self, pair: Pair<'_, Rule>, depth: usize) -> Lowered<Expr> {
        let span = self.span(&pair);
        let mut inner = pair.clone().into_inner();
        let first = self.expr(self.next(&mut inner, &pair)?, depth)?;
        let mut rest = Vec::new();
        while let Some(op_pair) = inner.next() {
            let op = match op_pair.as_str() {
                "+" => ArithOp::Add,
                "-" => ArithOp::Sub,
                "*" => ArithOp::Mul,
                "/" => ArithOp::Div,
                _ => return Err(self.internal(&op_pair)),
            };
            let operand = self.expr(self.next(&mut inner, &pair)?, depth)?;
            rest.push((Spanned::new(op, self.span(&op_pair)), operand));
        }
        if rest.is_empty() {
            return Ok(first);
        }
        Ok(Expr {
            kind: ExprKind::Arith(Box::new(first), rest),
            span,
        })
    }

    fn postfix(&self, pair: Pair<'_, Rule>, depth: usize) -> Lowered<Expr> {
        let mut inner = pair.clone().into_inner();
        let mut expr = self.primary(self.next(&mut inner, &pair)?, depth)?;
        // Each `.name` or `[index]` nests the expression one level deeper.
        if depth + inner.len() > MAX_NESTING {
            return Err(self.too_deep(self.span(&pair)));
        }
        for part in inner {
            let span = expr.span.join(self.span(&part));
            let mut parts = part.clone().into_inner();
            let arg = self.next(&mut parts, &part)?;
            expr = match part.as_rule() {
                Rule::member => Expr {
                    kind: ExprKind::Member(Box::new(expr), self.spanned_str(&arg)),
                    span,
                },
                Rule::index => Expr {
                    kind: ExprKind::Index(Box::new(expr), Box::new(self.expr(arg, depth + 1)?)),
                    span,
                },
                _ => return Err(self.internal(&part)),
            };
        }
        Ok(expr)
    }

    fn path_head(&self, pair: Pair<'_, Rule>, place: NamePlace) -> Lowered<Expr> {
        let span = self.span(&pair);
        let word = pair
            .clone()
            .into_inner()
            .next()
            .ok_or_else(|| self.internal(&pair))?;
        Ok(Expr {
            kind: match word.as_rule() {
                Rule::kw_record => ExprKind::RecordRoot,
                _ => ExprKind::Name(word.as_str().to_string(), place),
            },
            span,
        })
    }

    fn primary(&self, pair: Pair<'_, Rule>, depth: usize) -> Lowered<Expr> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::paren => {
                let inner = pair
                    .clone()
                    .into_inner()
                    .next()
                    .ok_or_else(|| self.internal(&pair))?;
                ExprKind::Paren(Box::new(self.expr(inner, depth + 1)?))
            }
            Rule::quantifier => {
                let mut inner = pair.clone().into_inner();
                let kw = self.next(&mut inner, &pair)?;
                let quantifier = if kw.as_rule() == Rule::kw_any {
                    Quantifier::Any
                } else {
                    Quantifier::All
                };
                let var = self.spanned_str(&self.next(&mut inner, &pair)?);
                let _in = self.next(&mut inner, &pair)?;
                let list = self.expr(self.next(&mut inner, &pair)?, depth + 1)?;
                let _where = self.next(&mut inner, &pair)?;
                let body = self.expr(self.next(&mut inner, &pair)?, depth + 1)?;
                ExprKind::Quantifier(quantifier, var, Box::new(list), Box::new(body))
            }
            Rule::call => {
                let mut inner = pair.clone().into_inner();
                let name = self.spanned_str(&self.next(&mut inner, &pair)?);
                let args = inner
                    .filter(|p| p.as_rule() != Rule::close_paren)
                    .map(|a| self.expr(a, depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                ExprKind::Call(name, args)
            }
            Rule::list_lit if is_comprehension(&pair) => {
                let mut inner = pair.clone().into_inner();
                let body = self.expr(self.next(&mut inner, &pair)?, depth + 1)?;
                let _for = self.next(&mut inner, &pair)?;
                let var = self.spanned_str(&self.next(&mut inner, &pair)?);
                let _in = self.next(&mut inner, &pair)?;
                let list = self.expr(self.next(&mut inner, &pair)?, depth + 1)?;
                let filter = match inner.next() {
                    Some(p) if p.as_rule() == Rule::kw_where => Some(Box::new(
                        self.expr(self.next(&mut inner, &pair)?, depth + 1)?,
                    )),
                    _ => None,
                };
                ExprKind::Comprehension {
                    body: Box::new(body),
                    var,
                    list: Box::new(list),
                    filter,
                }
            }
            Rule::all_ref => {
                let mut inner = pair.clone().into_inner();
                let _all = self.next(&mut inner, &pair)?;
                ExprKind::AllOf(self.spanned_str(&self.next(&mut inner, &pair)?))
            }
            Rule::group_ref => ExprKind::Group,
            Rule::datetime => {
                let text = pair.as_str();
                let date_part = text.split('T').next().unwrap_or(text);
                crate::value::parse_date_literal(date_part).map_err(|why| {
                    self.error(
                        Code::ParseInvalidDate,
                        format!("invalid date-time `{text}`: {why}"),
                        span,
                        "not a valid date-time",
                    )
                })?;
                let instant = crate::time::parse_instant(text).ok_or_else(|| {
                    // The time of day is right and the offset is not (`+24:00`), or the other way.
                    let time_start = text.find('T').map_or(text.len(), |t| t + 1);
                    let offset_at = text
                        .get(time_start..)
                        .and_then(|time| time.find(['+', '-', 'Z']))
                        .map(|i| time_start + i);
                    let offset_wrong = offset_at
                        .and_then(|at| text.get(..at))
                        .is_some_and(|local| crate::time::parse_instant(local).is_some());
                    let why = if offset_wrong {
                        "the offset is out of range (`Z`, or `+HH:MM` / `-HH:MM` up to 23:59)"
                    } else {
                        "the time is not a time of day"
                    };
                    self.error(
                        Code::ParseInvalidDate,
                        format!("invalid date-time `{text}`: {why}"),
                        span,
                        "a date-time like 2020-07-14T17:00:00Z",
                    )
                })?;
                ExprKind::Literal(Literal::DateTime(instant))
            }
            Rule::duration => {
                let mut inner = pair.clone().into_inner();
                let count = self.next(&mut inner, &pair)?;
                let unit = self.next(&mut inner, &pair)?;
                let duration = count
                    .as_str()
                    .replace('_', "")
                    .parse::<i128>()
                    .ok()
                    .and_then(|n| crate::time::Duration::of(n, unit.as_str()))
                    .ok_or_else(|| {
                        self.error(
                            Code::ParseNumber,
                            format!("`{}` is too long a duration", pair.as_str()),
                            span,
                            "too long",
                        )
                    })?;
                ExprKind::Literal(Literal::Duration(duration))
            }
            Rule::path_head => return self.path_head(pair, NamePlace::Plain),
            Rule::ident => ExprKind::Name(pair.as_str().to_string(), NamePlace::Plain),
            Rule::list_lit => ExprKind::List(self.list_items(pair, depth)?),
            Rule::boolean => ExprKind::Literal(Literal::Bool(pair.as_str() == "true")),
            Rule::number => ExprKind::Literal(Literal::Number(self.number(&pair)?)),
            Rule::date => ExprKind::Literal(Literal::Date(self.date(&pair)?)),
            Rule::string | Rule::raw_string => {
                ExprKind::Literal(Literal::String(self.string(pair)?.node))
            }
            // The levels of an expression above a primary go back to `expr`; anything else here
            // is a tree this lowering does not know (not an endless round between the two).
            level if level == Rule::if_expr || super::PRECEDENCE_LEVELS.contains(&level) => {
                return self.expr(pair, depth);
            }
            _ => return Err(self.internal(&pair)),
        };
        Ok(Expr { kind, span })
    }

    fn number(&self, pair: &Pair<'_, Rule>) -> Lowered<Decimal> {
        let text: String = pair
            .as_str()
            .chars()
            .filter(|c| *c != '_' && *c != '$')
            .collect();
        Decimal::from_str_exact(&text).map_err(|_| {
            let whole_digits = text
                .split('.')
                .next()
                .unwrap_or("")
                .trim_start_matches(['-', '0'])
                .len();
            let what = if whole_digits > 28 {
                "is too large"
            } else {
                "has too many digits to hold exactly"
            };
            self.error(
                Code::ParseNumber,
                format!("the number `{}` {what}", pair.as_str()),
                self.span(pair),
                "caveat numbers have 28 significant digits (29 below 2^96) and 28 decimal places",
            )
        })
    }

    fn date(&self, pair: &Pair<'_, Rule>) -> Lowered<jiff::civil::Date> {
        let text = pair.as_str();
        crate::value::parse_date_literal(text).map_err(|why| {
            vec![
                Diag::error(
                    Code::ParseInvalidDate,
                    format!("invalid date `{text}`: {why}"),
                )
                .label(self.source, self.span(pair), "not a valid YYYY-MM-DD date")
                .help(
                    "a token DIGITS-DIGITS-DIGITS is always a date: write it as YYYY-MM-DD \
                         (for subtraction, put spaces around `-`)",
                ),
            ]
        })
    }

    /// A string or raw string literal with its escapes resolved.
    fn string(&self, pair: Pair<'_, Rule>) -> Lowered<Spanned<String>> {
        let span = self.span(&pair);
        let raw = pair.as_rule() == Rule::raw_string;
        let inner = pair
            .clone()
            .into_inner()
            .next()
            .ok_or_else(|| self.internal(&pair))?;
        let text = inner.as_str();
        if raw {
            return Ok(Spanned::new(text.to_string(), span));
        }
        let inner_start = self.span(&inner).start;
        let mut out = String::with_capacity(text.len());
        let mut chars = text.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let escape_err = |len: usize, why: &str| {
                let at = Span::new(inner_start + i, inner_start + i + len);
                vec![
                    Diag::error(Code::ParseEscape, why.to_string())
                        .label(self.source, at, "here")
                        .help(
                            "the escapes are `\\\"`, `\\\\`, `\\n`, `\\t` and `\\u{HEX}`; for a \
                             regex, use a raw string '…'",
                        ),
                ]
            };
            match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'u')) => {
                    let rest = text.get(i + 2..).unwrap_or("");
                    let close = rest.find('}');
                    let hex = match (rest.starts_with('{'), close) {
                        (true, Some(end)) => rest.get(1..end).unwrap_or(""),
                        _ => return Err(escape_err(2, "a `\\u` escape is written `\\u{HEX}`")),
                    };
                    let len = 2 + hex.len() + 2;
                    let ch = u32::from_str_radix(hex, 16)
                        .ok()
                        .filter(|_| !hex.is_empty() && hex.len() <= 6)
                        .and_then(char::from_u32)
                        .ok_or_else(|| {
                            escape_err(len, &format!("`\\u{{{hex}}}` is not a unicode character"))
                        })?;
                    out.push(ch);
                    for _ in 0..hex.len() + 2 {
                        chars.next();
                    }
                }
                Some((_, other)) => {
                    return Err(escape_err(
                        1 + other.len_utf8(),
                        &format!("unknown escape `\\{other}` in a string"),
                    ));
                }
                None => return Err(escape_err(1, "a string may not end in a lone `\\`")),
            }
        }
        Ok(Spanned::new(out, span))
    }
}

/// Skips the precedence levels that wrap a single operand (`or_expr` of one `and_expr`, and so on),
/// in a loop rather than by recursion: fewer stack frames per nesting level.
fn pass_through(mut pair: Pair<'_, Rule>) -> Pair<'_, Rule> {
    loop {
        if !super::PRECEDENCE_LEVELS.contains(&pair.as_rule()) {
            return pair;
        }
        let mut inner = pair.clone().into_inner();
        match (inner.next(), inner.next()) {
            (Some(only), None) => pair = only,
            _ => return pair,
        }
    }
}

/// One operand stays itself; several are combined.
fn single_or(
    mut operands: Vec<Expr>,
    span: Span,
    combine: impl FnOnce(Vec<Expr>) -> ExprKind,
) -> Expr {
    if operands.len() == 1
        && let Some(only) = operands.pop()
    {
        return only;
    }
    Expr {
        kind: combine(operands),
        span,
    }
}

/// The AST's `Rule`, renamed here because pest's generated enum is also called `Rule`.
use super::ast::Rule as Rule_;

/// Whether a `list_lit` is a comprehension: its first expression is followed by `for`.
fn is_comprehension(pair: &Pair<'_, Rule>) -> bool {
    pair.clone()
        .into_inner()
        .nth(1)
        .is_some_and(|p| p.as_rule() == Rule::kw_for)
}
