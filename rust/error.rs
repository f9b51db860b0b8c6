//! Parse errors: what went wrong and exactly where.

use std::fmt;

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// A byte that cannot start or continue a value here; `expected` says what could.
    Unexpected { found: char, expected: &'static str },
    /// A control character (U+0000..U+001F) inside a string.
    ControlCharacter(char),
    /// A backslash followed by something that is not a JSON escape.
    InvalidEscape(char),
    /// `\u` not followed by four hex digits.
    InvalidUnicodeEscape,
    /// A number that breaks the JSON grammar (`1.`, `-`, `01`, `1e`).
    InvalidNumber,
    /// A literal that is not `true`, `false` or `null`.
    InvalidLiteral,
    /// Non-whitespace after the complete top-level value (strict mode).
    ExtraData,
    /// Nesting deeper than the configured `max_depth`.
    TooDeep(usize),
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// The input ended inside a value; the payload says which.
    UnexpectedEnd(&'static str),
}

/// A position in the input: byte offset, character offset, 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    pub byte: usize,
    pub char: usize,
    pub line: usize,
    pub column: usize,
}

/// An error with its position and a short excerpt of the input around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ErrorKind,
    pub position: Position,
    /// Up to ~32 characters of input before the error and a few after it.
    pub excerpt: String,
}

impl ErrorKind {
    /// The message, worded like Python's `json` module where it has an equivalent.
    pub fn message(&self) -> String {
        match self {
            ErrorKind::Unexpected { found, expected } => {
                format!("Expecting {expected}, found {found:?}")
            }
            ErrorKind::ControlCharacter(c) => {
                format!("Invalid control character {c:?} in string")
            }
            ErrorKind::InvalidEscape(c) => format!("Invalid \\escape: {c:?}"),
            ErrorKind::InvalidUnicodeEscape => "Invalid \\uXXXX escape".to_string(),
            ErrorKind::InvalidNumber => "Invalid number".to_string(),
            ErrorKind::InvalidLiteral => {
                "Invalid literal (expected true, false or null)".to_string()
            }
            ErrorKind::ExtraData => "Extra data after the JSON value".to_string(),
            ErrorKind::TooDeep(max) => format!("Nesting deeper than max_depth={max}"),
            ErrorKind::InvalidUtf8 => "Invalid UTF-8".to_string(),
            ErrorKind::UnexpectedEnd(what) => format!("Unexpected end of input: {what}"),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.position;
        write!(
            f,
            "{}: line {} column {} (char {}, byte {}) near {:?}",
            self.kind.message(),
            p.line,
            p.column,
            p.char,
            p.byte,
            self.excerpt
        )
    }
}

impl std::error::Error for ParseError {}
