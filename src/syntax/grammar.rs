//! The pest parser generated from `grammar/caveat.pest`. Only this module and `lower` see pest.

#![allow(
    missing_docs,
    reason = "pest_derive generates the undocumented `Rule` enum"
)]

use pest_derive::Parser;

/// The generated parser; its `Rule` enum names the grammar's rules.
#[derive(Parser)]
#[grammar = "grammar/caveat.pest"]
pub(crate) struct PolicyParser;

impl PolicyParser {
    /// Parses a message placeholder's text as one expression.
    pub(crate) fn parse_placeholder(
        text: &str,
    ) -> Result<pest::iterators::Pair<'_, Rule>, Box<pest::error::Error<Rule>>> {
        use pest::Parser as _;
        let mut pairs = PolicyParser::parse(Rule::placeholder_expr, text).map_err(Box::new)?;
        pairs.next().ok_or_else(|| {
            Box::new(pest::error::Error::new_from_pos(
                pest::error::ErrorVariant::CustomError {
                    message: "an empty placeholder".to_string(),
                },
                pest::Position::from_start(text),
            ))
        })
    }
}
