//! caveat checks purchase records against procurement policies.
//!
//! The pipeline runs one way: policy text is parsed ([`syntax`]) into an AST, checked and
//! compiled ([`check`], [`compile`]) into a [`compile::Program`]; record files are loaded
//! ([`data`]) into values that keep their spans; evaluation ([`eval`]) gives findings, which the
//! reports ([`report`]) render. A policy's `record { … }` schema ([`schema`]) types the records
//! and the expressions; [`lint`] finds the mistakes that would only show when the rules run.
//!
//! ```
//! use caveat::check::check_sources;
//! use caveat::data::{read_records, Format, LoadOptions};
//! use caveat::eval::{evaluate, Outcome};
//! use caveat::source::SourceFile;
//!
//! let policy = SourceFile::new(
//!     "dod.policy",
//!     "deny vendor DJI after 2018-05-23 unless exemption.kind == urgent",
//! );
//! let program = check_sources(&[policy]).expect("the policy checks");
//!
//! let data = SourceFile::new("purchases.yaml", "- {id: AF-2018-1114, vendor: DJI, date: 2018-11-14}\n");
//! let record = read_records(&data, Format::Yaml, &LoadOptions::default())
//!     .next()
//!     .expect("one record")
//!     .expect("it reads");
//!
//! let mut findings = Vec::new();
//! evaluate(&program, &record, &mut findings);
//! assert_eq!(findings.len(), 1);
//! assert_eq!(findings[0].outcome, Outcome::Deny);
//! // The finding points at `DJI` in the record.
//! assert_eq!(data.line_col(findings[0].span.unwrap().start), (1, 30));
//! ```
#![warn(missing_docs)]

pub mod check;
pub mod cli;
pub mod compile;
pub mod config;
pub mod data;
pub mod diagnostic;
pub mod eval;
pub mod format;
pub mod lint;
pub mod report;
pub mod run;
pub mod schema;
pub mod source;
pub mod suggest;
pub mod syntax;
pub mod testing;
pub mod unseen;
pub mod vacuous;
pub mod value;
pub mod workdir;
