//! The entries of an `alias` as written, for matching by pattern and for saying which entry
//! matched. A raw-string entry (`'(?i)^huawei\b.*'`) is a regex matched against the whole value
//! as the data wrote it (not normalised; `(?i)` for case), with the engine and size limit of
//! `matches`; a quoted or bare entry matches after normalising.

use std::sync::Arc;

use super::program::{AliasSet, normalize};

/// One entry of an alias list.
#[derive(Debug, Clone)]
pub struct AliasEntry {
    /// The entry as written in the policy (`"Huawei Technologies Co., Ltd."`, `'(?i)^huawei.*'`).
    pub written: Arc<str>,
    /// For a raw-string entry: its regex, anchored at both ends.
    pub pattern: Option<regex::Regex>,
    /// For a spelling: its normalised text.
    pub normalized: String,
}

impl PartialEq for AliasEntry {
    fn eq(&self, other: &AliasEntry) -> bool {
        self.written == other.written
    }
}

impl AliasEntry {
    /// An entry written `written` that matches the spelling `text` after normalising.
    pub fn spelling(written: &str, text: &str) -> AliasEntry {
        AliasEntry {
            written: written.into(),
            pattern: None,
            normalized: normalize(text),
        }
    }
}

impl AliasSet {
    /// Whether any entry is a pattern: then the set cannot be looked up by spelling alone (the
    /// rule index leaves such a clause unindexed).
    pub fn has_patterns(&self) -> bool {
        self.entries.iter().any(|e| e.pattern.is_some())
    }

    /// Whether a pattern entry matches `text` as written.
    pub fn pattern_matches(&self, text: &str) -> bool {
        self.entries
            .iter()
            .filter_map(|e| e.pattern.as_ref())
            .any(|p| p.is_match(text))
    }

    /// The entry that matches `text`, as written: a spelling first, else a pattern.
    pub fn matching_entry(&self, text: &str) -> Option<&str> {
        let normal = normalize(text);
        self.entries
            .iter()
            .find(|e| e.pattern.is_none() && e.normalized == normal)
            .or_else(|| {
                self.entries
                    .iter()
                    .find(|e| e.pattern.as_ref().is_some_and(|p| p.is_match(text)))
            })
            .map(|e| &*e.written)
    }

    /// Adds the spellings and patterns of `other`.
    pub fn extend(&mut self, other: &AliasSet) {
        self.normalized.extend(other.normalized.iter().cloned());
        self.entries.extend(other.entries.iter().cloned());
    }
}
