//! Renderers: one per output format. The library returns diagnostics; these turn them into text.

pub mod human;
pub mod json;

pub use crate::run::Summary;
