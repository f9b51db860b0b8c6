//! unspool's core: a resumable, tolerant JSON parser for text that arrives in pieces.
//!
//! [`Parser`] is fed chunks cut at any byte and reports what it reads to a [`Sink`]; it never reads a
//! byte twice, so streaming a document costs O(document), not O(document²). (Lenient mode reads the
//! bytes of a false start, a `[` or `{` of prose, once more: see [`Mode::Lenient`].) [`TreeBuilder`] is a sink
//! that builds a plain [`Value`]; the Python binding (feature `python`) is another.
//!
//! [`WireReader`] reads the OpenAI streaming wire (Server-Sent Events of Chat Completions chunks or
//! Responses events), fed bytes cut anywhere, into the few items a structured-output stream needs.

pub mod error;
pub mod parser;
mod position;
mod utf8;
pub mod value;
pub mod wire;
mod word;

#[cfg(feature = "python")]
mod python;

pub use error::{ErrorKind, ParseError, Position};
pub use parser::{JsonStr, Mode, Options, Parser, Sink};
pub use value::{parse, TreeBuilder, Value};
pub use wire::{Api, WireError, WireItem, WireReader};

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;
