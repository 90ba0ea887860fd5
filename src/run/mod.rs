//! A whole `check` run: find the policy and data files ([`inputs`]), check the policies, then read
//! every record and evaluate it ([`pipeline`]). What the run gives goes to a
//! [`Sink`](crate::report::Sink) of [`report`](crate::report).

pub mod inputs;
pub mod pipeline;
pub mod records;

pub(crate) use inputs::compile_linted;
pub use inputs::{Inputs, compile, discover};
pub(crate) use pipeline::message_changed;
pub use pipeline::{RunOptions, data_error, evaluate};
