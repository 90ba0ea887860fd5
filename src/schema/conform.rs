//! Records against the schema: values typed as declared (a string declared `number`, `date` or
//! `bool` becomes one), and every way a record does not conform reported as a [`Violation`].

use crate::data::Record;
use crate::diagnostic::Code;
use crate::source::{Source, Span};
use crate::value::{Map, Node, Value, parse_data_date, parse_data_number};

use super::{Field, RecordType, Schema, Type, symbol_text};

/// One way a record does not conform to the schema.
#[derive(Debug, Clone)]
pub struct Violation {
    /// The stable code (`caveat::schema::missing_field`, …).
    pub code: Code,
    /// What is wrong.
    pub message: String,
    /// The value (or record) at fault in the data.
    pub span: Span,
    /// How to fix it, when that is plain.
    pub help: Option<String>,
    /// The schema's file.
    pub schema_source: Source,
    /// The declaration the value breaks.
    pub schema_span: Span,
}

/// Types `record` by the schema in place and returns every way it does not conform.
pub fn conform(schema: &Schema, record: &mut Record) -> Vec<Violation> {
    let mut checker = Checker {
        text: record.source.clone(),
        closed: schema.closed.as_ref(),
        path: Vec::new(),
        violations: Vec::new(),
    };
    let span = record.root.span;
    if let Value::Map(map) = &mut record.root.value {
        let at = schema.closed.clone().or_else(|| {
            schema
                .root
                .fields
                .first()
                .map(|f| (f.source.clone(), f.span))
        });
        if let Some((source, decl)) = at {
            checker.record(map, span, &schema.root, &source, decl);
        }
    }
    checker.violations
}

/// A path of keys and list positions as a policy writes it.
fn written(path: &[Result<String, usize>]) -> String {
    crate::syntax::steps_as_written(path.iter().map(|step| step.as_deref().map_err(|i| *i)))
}

struct Checker<'s> {
    text: Source,
    closed: Option<&'s (Source, Span)>,
    /// Where the checker stands: keys (`Ok`) and list positions (`Err`).
    path: Vec<Result<String, usize>>,
    violations: Vec<Violation>,
}

impl Checker<'_> {
    /// The path as a policy writes it (`line_items[1].amount`).
    fn path(&self) -> String {
        written(&self.path)
    }

    fn violation(
        &mut self,
        code: Code,
        message: String,
        span: Span,
        help: Option<String>,
        at: (&Source, Span),
    ) {
        self.violations.push(Violation {
            code,
            message,
            span,
            help,
            schema_source: at.0.clone(),
            schema_span: at.1,
        });
    }

    /// The first line of a span: where a record's missing fields are reported.
    fn first_line(&self, span: Span) -> Span {
        let text = self.text.slice(span);
        let end = text.find(['\n', '\r']).unwrap_or(text.len());
        let trimmed = text.get(..end).unwrap_or("").trim_end().len();
        Span::new(span.start, span.start + trimmed.max(1))
    }

    /// The fields of a mapping against a record type; `decl` is where the record type is
    /// declared (for undeclared fields).
    fn record(
        &mut self,
        map: &mut Map,
        span: Span,
        ty: &RecordType,
        decl_source: &Source,
        decl: Span,
    ) {
        for field in &ty.fields {
            self.path.push(Ok(field.name.clone()));
            match map.entries.iter_mut().find(|e| *e.key == *field.name) {
                Some(entry) if entry.value.value != Value::Null => {
                    self.value(&mut entry.value, &field.ty, field);
                }
                _ if field.optional => {}
                _ => {
                    let message = format!("the required field `{}` is missing", self.path());
                    let at = self.first_line(span);
                    self.violation(
                        Code::SchemaMissingField,
                        message,
                        at,
                        Some(format!(
                            "add `{}` to the record, or declare it optional: `{}?:`",
                            field.name,
                            symbol_text(&field.name)
                        )),
                        (&field.source, field.span),
                    );
                }
            }
            self.path.pop();
        }
        if self.closed.is_some() {
            for entry in &map.entries {
                if ty.get(&entry.key).is_some() {
                    continue;
                }
                let names = ty.fields.iter().map(|f| f.name.as_str());
                let help = match crate::suggest::closest(&entry.key, names) {
                    Some(name) => format!("did you mean `{name}`?"),
                    None => "declare it in the schema, or remove `closed` from `record closed`"
                        .to_string(),
                };
                let mut path = self.path.clone();
                path.push(Ok(entry.key.to_string()));
                self.violation(
                    Code::SchemaUndeclaredField,
                    format!(
                        "the field `{}` is not declared in the closed schema",
                        written(&path)
                    ),
                    entry.key_span,
                    Some(help),
                    (decl_source, decl),
                );
            }
        }
    }

    fn wrong_type(&mut self, node: &Node, ty: &Type, field: &Field) {
        let found = match &node.value {
            Value::List(_) => "it is a list".to_string(),
            Value::Map(_) => "it is a mapping".to_string(),
            other => {
                let written: String = self.text.slice(node.span).chars().take(40).collect();
                format!("`{}` is {}", written.trim(), other.type_name())
            }
        };
        let wanted = match ty {
            Type::String => "a string".to_string(),
            Type::Integer => "a whole number".to_string(),
            Type::Number => "a number".to_string(),
            Type::Date => "a date like 2018-05-23".to_string(),
            Type::Bool => "`true` or `false`".to_string(),
            Type::List(element) => match **element {
                Type::Record(_) => "a list of records".to_string(),
                _ => format!("a list of {}", element.describe()),
            },
            Type::Record(_) => "a mapping of fields".to_string(),
            Type::Enum(_) => format!("one of {}", ty.describe()),
        };
        let message = format!("`{}` should be {wanted}, but {found}", self.path());
        self.violation(
            Code::SchemaWrongType,
            message,
            node.span,
            Some("fix the value in the record, or the field's type in the schema".to_string()),
            (&field.source, field.span),
        );
    }

    /// A value against its declared type, converted in place where the schema types it.
    fn value(&mut self, node: &mut Node, ty: &Type, field: &Field) {
        let converted = match (ty, &node.value) {
            (Type::String, Value::String(_)) => None,
            (Type::String, Value::Number(_) | Value::Bool(_)) => {
                Some(Value::String(self.text.slice(node.span).trim().into()))
            }
            (Type::Integer | Type::Number, Value::Number(n)) => {
                if *ty == Type::Integer && !n.fract().is_zero() {
                    self.wrong_type(node, ty, field);
                }
                None
            }
            (Type::Integer | Type::Number, Value::String(s)) => match parse_data_number(s) {
                Some(n) if *ty == Type::Number || n.fract().is_zero() => Some(Value::Number(n)),
                _ => {
                    self.wrong_type(node, ty, field);
                    None
                }
            },
            (Type::Date, Value::Date(_)) | (Type::Bool, Value::Bool(_)) => None,
            (Type::Date, Value::String(s)) => match parse_data_date(s) {
                Some(d) => Some(Value::Date(d)),
                None => {
                    self.wrong_type(node, ty, field);
                    None
                }
            },
            (Type::Bool, Value::String(s)) if matches!(s.as_str(), "true" | "false") => {
                Some(Value::Bool(s.as_str() == "true"))
            }
            (Type::Enum(members), Value::String(_) | Value::Number(_)) => {
                let text = match &node.value {
                    Value::String(s) => s.to_string(),
                    _ => self.text.slice(node.span).trim().to_string(),
                };
                if members.contains(&text) {
                    Some(Value::String(text.into()))
                } else {
                    let help =
                        match crate::suggest::closest(&text, members.iter().map(String::as_str)) {
                            Some(m) => format!("did you mean `{m}`?"),
                            None => "use one of the declared values, or add this one to the enum"
                                .to_string(),
                        };
                    let message = format!(
                        "`{}` is `{text}`, which is not one of {}",
                        self.path(),
                        ty.describe()
                    );
                    self.violation(
                        Code::SchemaNotInEnum,
                        message,
                        node.span,
                        Some(help),
                        (&field.source, field.span),
                    );
                    None
                }
            }
            (Type::List(element), Value::List(_)) => {
                if let Value::List(items) = &mut node.value {
                    for (i, item) in items.iter_mut().enumerate() {
                        self.path.push(Err(i));
                        if item.value == Value::Null {
                            self.wrong_type(item, element, field);
                        } else {
                            self.value(item, element, field);
                        }
                        self.path.pop();
                    }
                }
                None
            }
            (Type::Record(record), Value::Map(_)) => {
                let span = node.span;
                if let Value::Map(map) = &mut node.value {
                    self.record(map, span, record, &field.source, field.span);
                }
                None
            }
            _ => {
                self.wrong_type(node, ty, field);
                None
            }
        };
        if let Some(value) = converted {
            node.value = value;
        }
    }
}
