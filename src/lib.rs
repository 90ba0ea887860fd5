//! caveat checks purchase records against procurement policies.
//!
//! # The public API
//!
//! What a program that embeds caveat needs is re-exported here:
//!
//! - **compile policies**: [`check_sources`] (policies held in memory) or [`check()`] (files, with
//!   their imports, as [`PolicyInput`]s) give a [`Program`], or every [`Diag`] that stops it;
//! - **read records**: [`read_records`] over a [`SourceFile`] in a data [`Format`], with
//!   [`LoadOptions`] (limits, `--records`), gives [`Record`]s whose values keep their spans;
//! - **evaluate**: [`evaluate`] (or an [`Evaluator`] reused across records) gives the
//!   [`Finding`]s of a record, each with its [`Outcome`];
//! - **render**: [`reported_finding`] turns a finding into a [`Reported`] one that the renderers
//!   of [`report`] write; [`run::evaluate`] runs a whole check over files into a
//!   [`report::Sink`], on several threads.
//!
//! The modules hold the rest of each stage's public types. The command line ([`cli`]) is public
//! for the `caveat` binary only.
//!
//! The pipeline runs one way: policy text is parsed (`syntax`) into an AST, checked and
//! compiled ([`mod@check`], [`compile`]) into a [`compile::Program`]; record files are loaded
//! ([`data`]) into values that keep their spans; evaluation ([`eval`]) gives findings, which the
//! reports ([`report`]) render. A policy's `record { … }` schema ([`schema`]) types the records
//! and the expressions; `lint` finds the mistakes that would only show when the rules run.
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
pub(crate) mod config;
pub mod data;
pub mod diagnostic;
pub(crate) mod effect;
pub mod eval;
pub mod format;
pub(crate) mod lint;
pub(crate) mod lsp;
pub mod project;
pub mod report;
pub mod run;
pub mod schema;
pub mod source;
pub(crate) mod suggest;
pub(crate) mod syntax;
pub mod testing;
pub(crate) mod time;
pub(crate) mod unseen;
pub(crate) mod vacuous;
pub mod value;
pub(crate) mod walk;
pub(crate) mod workdir;

pub use check::{PolicyInput, check, check_sources};
pub use compile::Program;
pub use data::{Format, LoadOptions, Record, read_records};
pub use diagnostic::{Code, Diag, Severity};
pub use effect::{Effect, Outcome};
pub use eval::{Evaluator, Finding, evaluate};
pub use report::{Reported, reported_finding};
pub use source::{Source, SourceFile, Span};
pub use syntax::MAX_NESTING;
