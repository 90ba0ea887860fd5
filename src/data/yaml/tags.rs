//! Node properties: skipping anchors and tags in the text, and resolving the tags the parser
//! reports (the core schema's are accepted, others refused).

use saphyr_parser::Tag;

use crate::source::Span;

/// Skips the node properties (`&anchor`, `!tag`), blanks and comments from `at`, to where the
/// content starts; never past `end`.
pub(super) fn skip_properties(text: &str, mut at: usize, end: usize) -> usize {
    let bytes = text.as_bytes();
    let end = end.min(bytes.len());
    loop {
        while at < end {
            match bytes.get(at) {
                Some(b' ' | b'\t' | b'\r' | b'\n') => at += 1,
                Some(b'#') => {
                    while at < end && !matches!(bytes.get(at), Some(b'\n' | b'\r')) {
                        at += 1;
                    }
                }
                _ => break,
            }
        }
        if at < end && matches!(bytes.get(at), Some(b'&' | b'!')) {
            at = skip_properties_token(bytes, at, end);
        } else {
            return at;
        }
    }
}

/// Where the tag is written among the node properties between `from` and `to`.
pub(super) fn find_tag(text: &str, from: usize, to: usize) -> Option<Span> {
    let bytes = text.as_bytes();
    let mut at = from;
    while at < to {
        match bytes.get(at) {
            Some(b'!') => {
                let end = skip_properties_token(bytes, at, to);
                return Some(Span::new(at, end));
            }
            Some(b'&') => at = skip_properties_token(bytes, at, to),
            Some(b'#') => {
                while at < to && !matches!(bytes.get(at), Some(b'\n' | b'\r')) {
                    at += 1;
                }
            }
            _ => at += 1,
        }
    }
    None
}

/// The end of the property token (`&anchor` or `!tag`) at `at`.
pub(super) fn skip_properties_token(bytes: &[u8], mut at: usize, end: usize) -> usize {
    while at < end
        && !matches!(
            bytes.get(at),
            Some(b' ' | b'\t' | b'\r' | b'\n' | b',' | b']' | b'}')
        )
    {
        at += 1;
    }
    at
}

pub(super) const CORE: &str = "tag:yaml.org,2002:";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum TagKind {
    NonSpecific,
    Str,
    Int,
    Float,
    Bool,
    Null,
    Map,
    Seq,
    Other,
}

pub(super) fn classify_tag(tag: &Tag) -> TagKind {
    if tag.handle.is_empty() && tag.suffix == "!" {
        return TagKind::NonSpecific;
    }
    let core = if tag.handle == CORE {
        Some(tag.suffix.as_str())
    } else if tag.handle.is_empty() {
        tag.suffix.strip_prefix(CORE)
    } else {
        None
    };
    match core {
        Some("str") => TagKind::Str,
        Some("int") => TagKind::Int,
        Some("float") => TagKind::Float,
        Some("bool") => TagKind::Bool,
        Some("null") => TagKind::Null,
        Some("map") => TagKind::Map,
        Some("seq") => TagKind::Seq,
        _ => TagKind::Other,
    }
}

pub(super) fn display_tag(tag: &Tag) -> String {
    if let Some(name) = (tag.handle == CORE).then_some(tag.suffix.as_str()) {
        format!("!!{name}")
    } else if tag.handle == "!" {
        format!("!{}", tag.suffix)
    } else {
        format!("!<{}{}>", tag.handle, tag.suffix)
    }
}
