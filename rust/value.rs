//! A plain Rust value tree built from parser events, for Rust users and benches.

use std::collections::HashMap;

use crate::error::ParseError;
use crate::parser::{JsonStr, Options, Parser, Sink};

/// A JSON value. Objects keep document order; a repeated key keeps its first place and last value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer outside `i64`, as written.
    BigInt(String),
    Float(f64),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

/// Objects with more members than this get a key index, so repeated keys stay O(1) to find.
const INDEX_AFTER: usize = 16;

/// An open container: where its members start on the builder's shared stacks.
#[derive(Debug)]
enum Frame {
    Array {
        start: usize,
    },
    Object {
        start: usize,
        index: Option<HashMap<String, usize>>,
        key: Option<String>,
    },
}

/// A [`Sink`] that builds a [`Value`] tree.
///
/// Open containers' members wait on two shared stacks and move into an exactly sized `Vec` when the
/// container closes: one allocation per container instead of a `Vec` regrown as it fills (that took
/// the 64-byte-chunk bench from ~205 to ~225 MiB/s).
#[derive(Debug, Default)]
pub struct TreeBuilder {
    stack: Vec<Frame>,
    items: Vec<Value>,
    members: Vec<(String, Value)>,
    root: Option<Value>,
}

impl TreeBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The finished value, once the parser is complete.
    pub fn into_value(self) -> Option<Value> {
        self.root
    }

    /// A copy of the partial value so far; `open_string` is the parser's [`Parser::open_string`].
    ///
    /// This clones the open containers, so it is for inspection, not for a per-chunk loop.
    pub fn partial(&self, open_string: Option<JsonStr<'_>>) -> Option<Value> {
        if let Some(root) = &self.root {
            return Some(root.clone());
        }
        // Each frame's members run from its start to the next frame's start on the same stack.
        let (mut items_end, mut members_end) = (self.items.len(), self.members.len());
        let mut child: Option<Value> = open_string.map(|s| Value::String(s.to_string_lossy()));
        for frame in self.stack.iter().rev() {
            let v = match frame {
                Frame::Array { start } => {
                    let mut items = self.items[*start..items_end].to_vec();
                    items_end = *start;
                    items.extend(child.take());
                    Value::Array(items)
                }
                Frame::Object { start, key, .. } => {
                    let mut members = self.members[*start..members_end].to_vec();
                    members_end = *start;
                    if let (Some(c), Some(k)) = (child.take(), key) {
                        put(&mut members, 0, None, k.clone(), c);
                    }
                    Value::Object(members)
                }
            };
            child = Some(v);
        }
        child
    }

    fn attach(&mut self, v: Value) {
        match self.stack.last_mut() {
            None => self.root = Some(v),
            Some(Frame::Array { .. }) => self.items.push(v),
            Some(Frame::Object { start, index, key }) => {
                let k = key.take().expect("a value in an object follows its key");
                put(&mut self.members, *start, index.as_mut(), k, v);
                let len = self.members.len() - *start;
                if index.is_none() && len > INDEX_AFTER {
                    let ix = self.members[*start..]
                        .iter()
                        .enumerate()
                        .map(|(i, (k, _))| (k.clone(), i))
                        .collect();
                    *index = Some(ix);
                }
            }
        }
    }
}

/// Adds member `k: v` to the object whose members are `members[start..]`; a repeated key keeps its
/// first place and takes the new value, as Python's `json` does.
fn put(
    members: &mut Vec<(String, Value)>,
    start: usize,
    index: Option<&mut HashMap<String, usize>>,
    k: String,
    v: Value,
) {
    let found = match &index {
        Some(ix) => ix.get(&k).copied(),
        None => members[start..].iter().position(|(m, _)| *m == k),
    };
    match found {
        Some(i) => members[start + i].1 = v,
        None => {
            if let Some(ix) = index {
                ix.insert(k.clone(), members.len() - start);
            }
            members.push((k, v));
        }
    }
}

impl Sink for TreeBuilder {
    fn begin_object(&mut self) {
        let start = self.members.len();
        self.stack.push(Frame::Object {
            start,
            index: None,
            key: None,
        });
    }
    fn begin_array(&mut self) {
        self.stack.push(Frame::Array {
            start: self.items.len(),
        });
    }
    fn end_container(&mut self) {
        let v = match self.stack.pop() {
            Some(Frame::Array { start }) => Value::Array(self.items.drain(start..).collect()),
            Some(Frame::Object { start, .. }) => {
                Value::Object(self.members.drain(start..).collect())
            }
            None => return,
        };
        self.attach(v);
    }
    fn key(&mut self, key: JsonStr<'_>) {
        if let Some(Frame::Object { key: k, .. }) = self.stack.last_mut() {
            *k = Some(owned(key));
        }
    }
    fn begin_string(&mut self) {}
    fn end_string(&mut self, text: JsonStr<'_>) {
        self.attach(Value::String(owned(text)));
    }
    fn number(&mut self, raw: &str, is_float: bool) {
        let v = if is_float {
            // Rust's float parse is correctly rounded, like Python's float().
            Value::Float(raw.parse().unwrap_or(f64::NAN))
        } else {
            raw.parse()
                .map(Value::Int)
                .unwrap_or_else(|_| Value::BigInt(raw.to_string()))
        };
        self.attach(v);
    }
    fn boolean(&mut self, value: bool) {
        self.attach(Value::Bool(value));
    }
    fn null(&mut self) {
        self.attach(Value::Null);
    }
    fn discard(&mut self) {
        // The discarded value was the only one begun: nothing of it is kept.
        self.stack.clear();
        self.items.clear();
        self.members.clear();
        self.root = None;
    }
}

/// The text as an owned `String`, without validating it again (lone surrogates become U+FFFD).
fn owned(s: JsonStr<'_>) -> String {
    match s.as_str() {
        Some(text) => text.to_owned(),
        None => s.to_string_lossy(),
    }
}

/// Parses one complete JSON document.
pub fn parse(input: &[u8], options: Options) -> Result<Value, ParseError> {
    let mut parser = Parser::new(options);
    let mut tree = TreeBuilder::new();
    parser.feed(input, &mut tree)?;
    parser.finish(&mut tree)?;
    Ok(tree.into_value().expect("a complete parse has a value"))
}
