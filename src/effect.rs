//! What rules do and what findings say: [`Effect`] is written in a policy, [`Outcome`] is
//! reported for a record. Parsing, compilation, evaluation and the reports all name these, so
//! they live in this leaf module that depends on nothing.

/// What a rule does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Effect {
    /// An error: fails the check.
    Deny,
    /// A warning: fails with `--fail-on warn`.
    Warn,
    /// Information.
    Note,
}

/// What a finding says about a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// A `deny` rule fired (or a `require` did not hold).
    Deny,
    /// A `warn` rule fired.
    Warn,
    /// A `note` rule fired.
    Note,
    /// The rule could not be evaluated on this record's data.
    Error,
    /// A `deny`, `warn` or `note` finding that a waiver in force covers: it fails nothing.
    Waived,
}

impl Outcome {
    /// The outcome's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Deny => "deny",
            Outcome::Warn => "warn",
            Outcome::Note => "note",
            Outcome::Error => "error",
            Outcome::Waived => "waived",
        }
    }
}

impl From<Effect> for Outcome {
    fn from(effect: Effect) -> Outcome {
        match effect {
            Effect::Deny => Outcome::Deny,
            Effect::Warn => Outcome::Warn,
            Effect::Note => Outcome::Note,
        }
    }
}

impl Outcome {
    /// The outcome an `expect` clause names with `word` (`deny`, `warn`, `note`, `error`,
    /// `waived`), if it names one.
    pub fn from_name(word: &str) -> Option<Outcome> {
        [
            Outcome::Deny,
            Outcome::Warn,
            Outcome::Note,
            Outcome::Error,
            Outcome::Waived,
        ]
        .into_iter()
        .find(|o| o.name() == word)
    }
}
