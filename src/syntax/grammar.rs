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
