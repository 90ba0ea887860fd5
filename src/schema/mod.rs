//! Record schemas (docs/language.md §7): the `record { … }` declarations of every policy file of a run,
//! merged into one [`Schema`], and how records are typed and checked against it ([`conform`]).
//!
//! A schema is open by default: a record may hold fields the schema does not declare. Writing
//! `record closed { … }` in any file closes the whole schema, so that undeclared fields in the
//! data are conformance errors.

mod conform;

pub use conform::{Violation, conform};

use std::sync::Arc;

use crate::diagnostic::{Code, Diag};
use crate::source::{Source, Span};
use crate::syntax::ast::{FieldDecl, RecordDecl, TypeExpr, TypeExprKind};

/// The merged schema of a run.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// The fields of a record.
    pub root: RecordType,
    /// `record closed { … }`, where written: undeclared fields in the data are errors.
    pub closed: Option<(Source, Span)>,
}

/// The fields of a record type, in the order declared.
#[derive(Debug, Clone, Default)]
pub struct RecordType {
    /// The declared fields.
    pub fields: Vec<Field>,
}

impl RecordType {
    /// The field declared under `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// One declared field.
#[derive(Debug, Clone)]
pub struct Field {
    /// Its name.
    pub name: String,
    /// Whether it may be missing.
    pub optional: bool,
    /// Its type.
    pub ty: Type,
    /// The policy file that declares it.
    pub source: Source,
    /// The declaration (`name: TYPE`) in that file.
    pub span: Span,
}

/// A type of the schema.
#[derive(Debug, Clone)]
pub enum Type {
    /// `string`
    String,
    /// `integer`: a whole number.
    Integer,
    /// `number`: an exact decimal.
    Number,
    /// `date`
    Date,
    /// `bool`
    Bool,
    /// `[T]`
    List(Box<Type>),
    /// `{ … }`
    Record(Arc<RecordType>),
    /// `a | b | "c d"`: one of these strings.
    Enum(Vec<String>),
}

impl Type {
    /// The type as a schema writes it, for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Type::String => "string".into(),
            Type::Integer => "integer".into(),
            Type::Number => "number".into(),
            Type::Date => "date".into(),
            Type::Bool => "bool".into(),
            Type::List(element) => format!("[{}]", element.describe()),
            Type::Record(_) => "a nested record".into(),
            Type::Enum(members) => {
                let shown: Vec<String> = members.iter().map(|m| symbol_text(m)).collect();
                shown.join(" | ")
            }
        }
    }

    /// Whether two types are the same, nested records field by field.
    pub(crate) fn same_as(&self, other: &Type) -> bool {
        match (self, other) {
            (Type::List(a), Type::List(b)) => a.same_as(b),
            (Type::Record(a), Type::Record(b)) => {
                a.fields.len() == b.fields.len()
                    && a.fields.iter().all(|f| {
                        b.get(&f.name)
                            .is_some_and(|g| g.optional == f.optional && g.ty.same_as(&f.ty))
                    })
            }
            (Type::Enum(a), Type::Enum(b)) => a.len() == b.len() && a.iter().all(|m| b.contains(m)),
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl PartialEq for Type {
    fn eq(&self, other: &Type) -> bool {
        self.same_as(other)
    }
}

/// An enum member as a policy writes it: bare when it is an identifier, else quoted.
pub(crate) fn symbol_text(member: &str) -> String {
    if crate::syntax::is_identifier(member) {
        member.to_string()
    } else {
        format!("{member:?}")
    }
}

/// Merges the `record` declarations of a run (each with its file) into one schema, reporting
/// fields declared twice with different types. `None` when no file declares a schema.
pub(crate) fn build<'a>(
    declarations: impl IntoIterator<Item = (&'a Source, &'a RecordDecl)>,
    errors: &mut Vec<Diag>,
) -> Option<Schema> {
    let mut schema: Option<Schema> = None;
    for (source, decl) in declarations {
        let schema = schema.get_or_insert_with(Schema::default);
        if decl.closed && schema.closed.is_none() {
            schema.closed = Some((source.clone(), decl.span));
        }
        let declared = record_type(source, &decl.fields, errors);
        merge(&mut schema.root, declared, &[], errors);
    }
    schema
}

/// The record type of a list of field declarations; a name declared twice in one block is an
/// error.
fn record_type(source: &Source, fields: &[FieldDecl], errors: &mut Vec<Diag>) -> RecordType {
    let mut record = RecordType::default();
    for decl in fields {
        if let Some(first) = record.get(&decl.name.node) {
            errors.push(
                Diag::error(
                    Code::SchemaDuplicateField,
                    format!("the field `{}` is declared twice", decl.name.node),
                )
                .label(source, decl.name.span, "declared again here")
                .label(&first.source, first.span, "first declared here")
                .help("remove one of the declarations"),
            );
            continue;
        }
        record.fields.push(Field {
            name: decl.name.node.clone(),
            optional: decl.optional,
            ty: type_of(source, &decl.ty, errors),
            source: source.clone(),
            span: decl.span,
        });
    }
    record
}

fn type_of(source: &Source, ty: &TypeExpr, errors: &mut Vec<Diag>) -> Type {
    match &ty.kind {
        TypeExprKind::Name(name) => match name.as_str() {
            "string" => Type::String,
            "integer" => Type::Integer,
            "number" => Type::Number,
            "date" => Type::Date,
            _ => Type::Bool,
        },
        TypeExprKind::List(element) => Type::List(Box::new(type_of(source, element, errors))),
        TypeExprKind::Record(fields) => Type::Record(Arc::new(record_type(source, fields, errors))),
        TypeExprKind::Enum(members) => {
            if let [only] = members.as_slice()
                && !source.slice(only.span).starts_with(['"', '\''])
            {
                // `amount: numbr` is a misspelt type far more often than an enum of one value.
                let types = ["string", "integer", "number", "date", "bool"];
                let help = match crate::suggest::closest(&only.node, types) {
                    Some(name) => format!(
                        "did you mean `{name}`? An enum of a single value is written quoted: `\"{}\"`",
                        only.node
                    ),
                    None => format!(
                        "the types are `string`, `integer`, `number`, `date`, `bool`, `[T]`, `{{ … }}` and enums `a | b`; an enum of a single value is written quoted: `\"{}\"`",
                        only.node
                    ),
                };
                errors.push(
                    Diag::error(
                        Code::SchemaUnknownType,
                        format!("`{}` is not a type", only.node),
                    )
                    .label(source, only.span, "not a type")
                    .help(help),
                );
            }
            let mut names: Vec<String> = Vec::new();
            for member in members {
                if names.contains(&member.node) {
                    errors.push(
                        Diag::error(
                            Code::SchemaDuplicateMember,
                            format!("`{}` is listed twice in this enum", member.node),
                        )
                        .label(source, member.span, "listed again here")
                        .help("remove one of them"),
                    );
                } else {
                    names.push(member.node.clone());
                }
            }
            Type::Enum(names)
        }
    }
}

/// Adds the fields of `other` to `into` (at the path `parent`, empty for the record): a field of
/// both must have the same type and be required in both or optional in both (nested records
/// are merged field by field).
fn merge(into: &mut RecordType, other: RecordType, parent: &[&str], errors: &mut Vec<Diag>) {
    for field in other.fields {
        let Some(existing) = into.fields.iter_mut().find(|f| f.name == field.name) else {
            into.fields.push(field);
            continue;
        };
        if let (Type::Record(a), Type::Record(b)) = (&mut existing.ty, &field.ty)
            && existing.optional == field.optional
        {
            let path: Vec<&str> = parent.iter().copied().chain([&*field.name]).collect();
            merge(Arc::make_mut(a), (**b).clone(), &path, errors);
            continue;
        }
        let same_type = existing.ty.same_as(&field.ty);
        if existing.optional != field.optional || !same_type {
            let mark = |f: &Field| if f.optional { "?" } else { "" };
            let path = crate::syntax::path_as_written(parent.iter().copied().chain([&*field.name]));
            let what = if same_type {
                "required in one declaration and optional (`?`) in the other"
            } else {
                "declared twice with different types"
            };
            errors.push(
                Diag::error(
                    Code::SchemaConflictingField,
                    format!("the field `{path}` is {what}"),
                )
                .label(
                    &field.source,
                    field.span,
                    format!(
                        "declared `{}{}: {}` here",
                        field.name,
                        mark(&field),
                        field.ty.describe()
                    ),
                )
                .label(
                    &existing.source,
                    existing.span,
                    format!(
                        "but `{}{}: {}` here",
                        existing.name,
                        mark(existing),
                        existing.ty.describe()
                    ),
                )
                .help("a run has one schema: make the declarations agree, or keep one"),
            );
        }
    }
}
