//! A whole `check` run: find the policy and data files ([`inputs`]), check the policies, then read
//! every record and evaluate it ([`pipeline`]). What the run gives goes to a
//! [`Sink`](crate::report::Sink) of [`report`](crate::report).

pub mod inputs;
pub mod pipeline;

pub use inputs::{Inputs, compile, compile_linted, discover};
pub use pipeline::{RunOptions, data_error, evaluate, message_changed};
