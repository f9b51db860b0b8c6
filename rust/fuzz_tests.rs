//! Property tests ("fuzzing" on stable Rust): the parser against itself cut every which way, against a
//! model of its documented semantics, and against serde_json.
//!
//! `cargo test fuzz_tests` runs 512 cases per property (a few seconds in debug). For a long run, set the case count:
//! `PROPTEST_CASES=200000 cargo test --release fuzz_tests`. Failing cases are shrunk and printed; they
//! are not written to a regressions file (keep a found case as a unit test in tests.rs instead).
//!
//! Properties:
//! - any bytes, any chunking, strict or lenient, any `max_depth`: no panic, ends in bounded time, and the
//!   outcome (value, or error kind and position) is the same as feeding the input whole; a failed parser
//!   keeps returning its error;
//! - valid JSON (a generated `serde_json::Value`, written compactly, pretty, or with random whitespace
//!   and escapes) cut in any chunks parses to that value, agrees with `serde_json::from_str`, and every
//!   partial value on the way is a prefix of the final one;
//! - objects with repeated keys keep each key's first place and last value;
//! - on near-JSON text, strict mode accepts exactly what serde_json accepts, but for the documented
//!   differences (lone surrogate escapes, serde_json's nesting limit of 128, numbers beyond f64), and
//!   reads the same value (`-0` is the integer 0 here, as in Python; serde_json's floats may be a few
//!   ulps off, as its default float parsing is not correctly rounded).

use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

use crate::{parse, ErrorKind, Mode, Options, ParseError, Parser, Position, TreeBuilder, Value};

/// `cases` unless `PROPTEST_CASES` is set; no regression files.
fn config(cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
    }
    c.failure_persistence = None;
    c
}

/// Runs `f` on another thread; a case that takes longer than this is a hang.
fn within_time_limit<T: Send + 'static>(what: String, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("no result within 10 s (hang?) for {what}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the parser panicked on {what}"),
    }
}

/// What a parse came to: the value, or the error's kind and position (excerpts depend on chunking).
type Outcome = Result<Value, (ErrorKind, Position)>;

/// Cuts `input` into chunks whose sizes cycle through `sizes` (0 = an empty chunk).
fn cut<'a>(input: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = input;
    let mut k = 0;
    let mut empties = 0;
    while !rest.is_empty() {
        let n = sizes
            .get(k % sizes.len().max(1))
            .copied()
            .unwrap_or(1)
            .min(rest.len());
        k += 1;
        if n == 0 {
            empties += 1;
            if empties > 4 {
                // Enough empty chunks; do not loop on an all-zero `sizes`.
                out.push(&rest[..1]);
                rest = &rest[1..];
                empties = 0;
            } else {
                out.push(&rest[..0]);
            }
            continue;
        }
        out.push(&rest[..n]);
        rest = &rest[n..];
    }
    out
}

/// Feeds chunk `i` one of four ways, by `ways[i % ways.len()]`: as bytes, as `&str` (if valid
/// UTF-8), or either of those after bytes that are not input (`feed_padded`, `feed_str_padded`):
/// quotes, backslashes, control and non-UTF-8 bytes, which would show if anything parsed them.
fn feed_one(
    p: &mut Parser,
    t: &mut TreeBuilder,
    c: &[u8],
    i: usize,
    ways: &[u8],
) -> Result<(), ParseError> {
    let way = ways.get(i % ways.len().max(1)).copied().unwrap_or(0);
    let junk = b"\"\\\x00\xff\x80{[1,";
    let mut padded = junk[..(i * 7 + usize::from(way)) % (junk.len() + 1)].to_vec();
    padded.extend_from_slice(c);
    match (way % 4, std::str::from_utf8(c)) {
        (1, Ok(s)) => p.feed_str(s, t),
        // SAFETY: the last `c.len()` bytes are `c`, valid UTF-8.
        (3, Ok(_)) => unsafe { p.feed_str_padded(&padded, c.len(), t) },
        (2, _) | (3, _) => p.feed_padded(&padded, c.len(), t),
        _ => p.feed(c, t),
    }
}

/// Feeds `chunks` (each one of the ways `feed_one` has, by `ways`), then finishes.
fn feed_chunks(chunks: &[&[u8]], ways: &[u8], options: Options) -> Outcome {
    feed_chunks_counted(chunks, ways, options).0
}

/// `feed_chunks`, and how many false starts the parser discarded (lenient mode).
fn feed_chunks_counted(chunks: &[&[u8]], ways: &[u8], options: Options) -> (Outcome, u64) {
    let mut p = Parser::new(options);
    let mut t = TreeBuilder::new();
    let mut failed = None;
    for (i, c) in chunks.iter().enumerate() {
        let r = feed_one(&mut p, &mut t, c, i, ways);
        if let Err(e) = r {
            failed = Some(e);
            break;
        }
    }
    let r = match failed {
        Some(e) => Err(e),
        None => p.finish(&mut t),
    };
    let restarts = p.restarts();
    let outcome = match r {
        Ok(()) => {
            let v = t.into_value();
            assert!(v.is_some(), "finish() succeeded without a value");
            Ok(v.unwrap())
        }
        Err(e) => {
            // A failed parser keeps failing with the same error.
            assert_eq!(
                p.feed(b"[1]", &mut t).unwrap_err(),
                e,
                "feed after an error"
            );
            assert_eq!(
                p.feed_str("{}", &mut t).unwrap_err(),
                e,
                "feed_str after an error"
            );
            assert_eq!(p.finish(&mut t).unwrap_err(), e, "finish after an error");
            Err((e.kind, e.position))
        }
    };
    (outcome, restarts)
}

fn whole(input: &[u8], options: Options) -> Outcome {
    parse(input, options).map_err(|e| (e.kind, e.position))
}

fn options(lenient: bool, max_depth: usize) -> Options {
    Options {
        mode: if lenient { Mode::Lenient } else { Mode::Strict },
        max_depth,
    }
}

// ---------------------------------------------------------------------------------------------------
// Generators

/// Leaf strings rich in what is hard: quotes, backslashes, control characters, non-ASCII, emoji.
fn text() -> impl Strategy<Value = String> {
    let tricky = prop::sample::select(vec![
        'a',
        'Z',
        ' ',
        '"',
        '\\',
        '/',
        '\n',
        '\r',
        '\t',
        '\u{0}',
        '\u{1f}',
        '\u{7f}',
        'é',
        'ß',
        '\u{2028}',
        '日',
        '\u{FFFD}',
        '\u{FEFF}',
        '🚀',
        '😀',
        '\u{10FFFF}',
    ]);
    prop::collection::vec(prop_oneof![3 => tricky, 1 => any::<char>()], 0..12)
        .prop_map(|v| v.into_iter().collect())
}

fn json_number() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        (-1000i64..1000).prop_map(serde_json::Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(serde_json::Value::Number)),
        (-1e6f64..1e6).prop_map(|f| serde_json::Value::from((f * 100.0).round() / 100.0)),
    ]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    json_value_sized(6, 96)
}

/// Values nested at most `depth` deep with about `size` nodes at most.
fn json_value_sized(depth: u32, size: u32) -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        json_number(),
        text().prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(depth, size, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
            prop::collection::vec((text(), inner), 0..8)
                .prop_map(|members| serde_json::Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Tiny deterministic generator for formatting choices (whitespace, escapes).
struct Choices(u64);

impl Choices {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
    fn ws(&mut self, out: &mut String) {
        while self.one_in(3) {
            out.push([' ', '\n', '\t', '\r'][(self.next() % 4) as usize]);
        }
    }
}

/// Writes a JSON string with randomly chosen escapes: `\uXXXX` (surrogate pairs above U+FFFF), `\/`.
fn write_str(out: &mut String, s: &str, ch: &mut Choices) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' if ch.one_in(2) => out.push_str("\\n"),
            '\r' if ch.one_in(2) => out.push_str("\\r"),
            '\t' if ch.one_in(2) => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '/' if ch.one_in(2) => out.push_str("\\/"),
            c if (c as u32) < 0x20 || ch.one_in(4) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    if ch.one_in(2) {
                        out.push_str(&format!("\\u{:04x}", u));
                    } else {
                        out.push_str(&format!("\\u{:04X}", u));
                    }
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes `v` as JSON with random whitespace between tokens and random escapes in strings.
fn write_messy(out: &mut String, v: &serde_json::Value, ch: &mut Choices) {
    match v {
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ch.ws(out);
                write_messy(out, item, ch);
                ch.ws(out);
            }
            ch.ws(out);
            out.push(']');
        }
        serde_json::Value::Object(members) => {
            out.push('{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ch.ws(out);
                write_str(out, k, ch);
                ch.ws(out);
                out.push(':');
                ch.ws(out);
                write_messy(out, item, ch);
                ch.ws(out);
            }
            ch.ws(out);
            out.push('}');
        }
        serde_json::Value::String(s) => write_str(out, s, ch),
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The JSON text of `v` in one of three styles.
fn serialize(v: &serde_json::Value, style: u8, seed: u64) -> String {
    match style % 3 {
        0 => serde_json::to_string(v).unwrap(),
        1 => serde_json::to_string_pretty(v).unwrap(),
        _ => {
            let mut ch = Choices(seed);
            let mut out = String::new();
            ch.ws(&mut out);
            write_messy(&mut out, v, &mut ch);
            ch.ws(&mut out);
            out
        }
    }
}

/// serde_json's value in unspool's terms: `u64` above `i64::MAX` is a [`Value::BigInt`].
fn from_serde(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::BigInt(u.to_string())
            } else {
                Value::Float(n.as_f64().unwrap())
            }
        }
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(items) => Value::Array(items.iter().map(from_serde).collect()),
        serde_json::Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), from_serde(v))).collect())
        }
    }
}

/// True if `a` and `b` are equal or a few ulps apart.
fn within_few_ulps(a: f64, b: f64) -> bool {
    a == b
        || (a.is_sign_negative() == b.is_sign_negative() && a.to_bits().abs_diff(b.to_bits()) <= 4)
}

/// Equality where serde_json's number model differs from unspool's: an integer beyond `u64` is an `f64`
/// in serde_json (no `arbitrary_precision`) but exact in unspool; serde_json's default float parsing is
/// not always correctly rounded (its `float_roundtrip` feature is off: `-9.887855410022631e-110` comes out
/// 2 ulps off), so its floats may be a few ulps off unspool's, which match the generated values exactly; objects are compared by key, since serde_json's
/// map is sorted; `-0` is the integer 0 in unspool (as in Python) but -0.0 in serde_json.
fn same_as_serde(ours: &Value, theirs: &serde_json::Value) -> bool {
    match (ours, theirs) {
        (Value::Float(a), serde_json::Value::Number(n)) => {
            n.as_f64().is_some_and(|b| within_few_ulps(*a, b))
        }
        // serde_json reads `-0` as the float -0.0; unspool, like Python's json, as the integer 0.
        (Value::Int(0), serde_json::Value::Number(n)) if n.is_f64() => n.as_f64() == Some(0.0),
        (Value::BigInt(s), serde_json::Value::Number(n)) => match n.as_u64() {
            Some(u) => *s == u.to_string(),
            None => match (n.as_f64(), s.parse::<f64>()) {
                (Some(a), Ok(b)) => within_few_ulps(a, b),
                _ => false,
            },
        },
        (Value::Array(a), serde_json::Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_as_serde(x, y))
        }
        (Value::Object(a), serde_json::Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, x)| b.get(k).is_some_and(|y| same_as_serde(x, y)))
        }
        (ours, theirs) => *ours == from_serde(theirs),
    }
}

/// True if `partial` (a value seen mid-stream) is a prefix of `full`: every closed value is equal, and
/// only the last element of each open container (an open string or container) may be shorter.
fn is_prefix(partial: &Value, full: &Value) -> bool {
    match (partial, full) {
        (Value::String(p), Value::String(f)) => f.starts_with(p.as_str()),
        (Value::Array(p), Value::Array(f)) => {
            p.len() <= f.len()
                && match p.split_last() {
                    None => true,
                    Some((last, init)) => {
                        init == &f[..init.len()] && is_prefix(last, &f[init.len()])
                    }
                }
        }
        (Value::Object(p), Value::Object(f)) => {
            p.len() <= f.len()
                && match p.split_last() {
                    None => true,
                    Some((last, init)) => {
                        init == &f[..init.len()]
                            && last.0 == f[init.len()].0
                            && is_prefix(&last.1, &f[init.len()].1)
                    }
                }
        }
        (p, f) => p == f,
    }
}

/// Near-JSON text: JSON tokens, fragments of them and stray bytes, in any order.
fn near_json() -> impl Strategy<Value = Vec<u8>> {
    let token = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        " ",
        "\n",
        "\"",
        "\"a\"",
        "\"k\":",
        "\\",
        "\\\"",
        "\\n",
        "\\u00e9",
        "\\ud83d",
        "\\ude00",
        "\\u12",
        "\\x",
        "0",
        "1",
        "9",
        "-",
        "+",
        ".",
        "e",
        "E",
        "00",
        "-0",
        "1.5",
        "2e10",
        "1e400",
        "123456789012345678901234567890",
        "true",
        "false",
        "null",
        "tru",
        "nul",
        "é",
        "🚀",
        "\u{1}",
        "\t",
        "x",
        "/",
    ]);
    let tokens = prop::collection::vec(token, 0..40).prop_map(|t| t.concat().into_bytes());
    let valid = || {
        (json_value(), any::<u8>(), any::<u64>())
            .prop_map(|(v, style, seed)| serialize(&v, style, seed).into_bytes())
    };
    let mutated = (
        valid(),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 1..4),
    )
        .prop_map(|(mut bytes, edits)| {
            for (at, op, b) in edits {
                if bytes.is_empty() {
                    bytes.push(b);
                    continue;
                }
                let i = at.index(bytes.len());
                match op {
                    0 => bytes[i] = b,
                    1 => bytes.insert(i, b),
                    _ => {
                        bytes.remove(i);
                    }
                }
            }
            bytes
        });
    let truncated = (valid(), any::<prop::sample::Index>()).prop_map(|(bytes, at)| {
        let n = at.index(bytes.len() + 1);
        bytes[..n].to_vec()
    });
    prop_oneof![
        2 => tokens,
        1 => valid(),
        2 => mutated,
        1 => truncated,
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

/// Any input the parser might meet: near-JSON, LLM-style prose around JSON, raw bytes, deep nesting.
fn any_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => near_json(),
        1 => (near_json(), near_json()).prop_map(|(a, b)| [b"Sure! Here: ".as_slice(), &a, b"\n```\nDone ", &b].concat()),
        1 => prop::collection::vec(any::<u8>(), 0..256),
        1 => (0usize..40, 0usize..40, any::<bool>()).prop_map(|(open, close, arr)| {
            let (o, c) = if arr { (b'[', b']') } else { (b'{', b'}') };
            [vec![o; open], vec![c; close]].concat()
        }),
    ]
}

/// LLM-style prose with brackets that start no JSON value (`see [2]`, `{Note: ...}`, a list that
/// turns into prose, a string with brackets in it, a value cut short), JSON values among it, and
/// tokens that make a candidate break at any point.
fn prose_with_false_starts() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop::sample::select(vec![
        "Sure! ",
        "see [section 2] ",
        "[1, 2, see above] ",
        "{Note: this is prose} ",
        "{\"a\": ",
        "{\"a\": \"[1, 2]\" oops} ",
        "[\"x[\", ",
        "[[",
        "]]",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        "\"",
        "\"k\":",
        "\\",
        "\\u12",
        "\n",
        " ",
        "1",
        "-",
        "tru",
        "null",
        "x",
        "é",
        "🚀",
        "```json\n",
        "\n```\n",
    ]);
    let piece = prop_oneof![
        4 => fragment.prop_map(|f| f.as_bytes().to_vec()),
        1 => (json_value_sized(3, 12), any::<u8>(), any::<u64>())
            .prop_map(|(v, style, seed)| serialize(&v, style, seed).into_bytes()),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|p| p.concat())
}

fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(
        prop_oneof![4 => 1usize..5, 2 => 5usize..70, 1 => Just(0usize)],
        1..12,
    )
}

/// True if `input` has a `\uD800`..`\uDFFF` escape (serde_json rejects the unpaired ones).
fn has_surrogate_escape(input: &[u8]) -> bool {
    input.windows(4).any(|w| {
        w[0] == b'\\'
            && w[1] == b'u'
            && (w[2] | 0x20) == b'd'
            && matches!(w[3] | 0x20, b'8'..=b'9' | b'a'..=b'f')
    })
}

// ---------------------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(config(512))]

    /// Any bytes, any chunking, either mode: no panic, bounded time, same outcome as whole.
    #[test]
    fn any_bytes_any_chunking_agree_with_whole(
        input in any_input(),
        sizes in chunk_sizes(),
        ways in prop::collection::vec(0u8..4, 1..4),
        lenient in any::<bool>(),
        max_depth in prop_oneof![4 => Just(1024usize), 1 => 0usize..4],
    ) {
        let opts = options(lenient, max_depth);
        let what = format!("{:?} cut by {sizes:?} ({opts:?})", String::from_utf8_lossy(&input));
        let (chunked, whole_r) = within_time_limit(what, move || {
            let chunks = cut(&input, &sizes);
            (feed_chunks(&chunks, &ways, opts), whole(&input, opts))
        });
        prop_assert_eq!(chunked, whole_r);
    }

    /// Valid JSON cut anywhere: equals the generated value, serde_json's parse, and the whole parse;
    /// every partial value on the way is a prefix of the final one.
    #[test]
    fn valid_json_any_chunking_equals_serde(
        v in json_value(),
        style in any::<u8>(),
        seed in any::<u64>(),
        sizes in chunk_sizes(),
        ways in prop::collection::vec(0u8..4, 1..4),
    ) {
        let text = serialize(&v, style, seed);
        let expected = from_serde(&v);
        let bytes = text.as_bytes();

        let whole_r = parse(bytes, Options::default());
        prop_assert_eq!(whole_r.as_ref().ok(), Some(&expected), "whole parse of {:?}", text);
        let theirs: serde_json::Value = serde_json::from_str(&text).unwrap();
        prop_assert!(same_as_serde(&expected, &theirs), "serde_json reads {:?} as {:?}", text, theirs);

        let chunks = cut(bytes, &sizes);
        let mut p = Parser::new(Options::default());
        let mut t = TreeBuilder::new();
        for (i, c) in chunks.iter().enumerate() {
            let r = feed_one(&mut p, &mut t, c, i, &ways);
            prop_assert!(r.is_ok(), "{:?} at chunk {} of {:?}", r, i, chunks);
            if let Some(partial) = t.partial(p.open_string()) {
                prop_assert!(is_prefix(&partial, &expected), "partial {:?} of {:?}", partial, expected);
            }
        }
        prop_assert!(p.finish(&mut t).is_ok());
        prop_assert_eq!(t.into_value(), Some(expected.clone()));

        // Lenient mode reads the same value out of prose, when the value is a container.
        if matches!(v, serde_json::Value::Array(_) | serde_json::Value::Object(_)) {
            let prose = format!("Sure, here it is:\n```json\n{text}\n```\nAnything else? {{\"no\": 1}}");
            let lenient = options(true, 1024);
            let chunked = feed_chunks(&cut(prose.as_bytes(), &sizes), &ways, lenient);
            prop_assert_eq!(chunked, Ok(expected));
        }
    }

    /// Lenient prose with false starts, any chunking: the same outcome and count of false starts as
    /// the whole input, and as the naive model of the documented semantics (`tests::reference`).
    #[test]
    fn lenient_false_starts_any_chunking_match_the_model(
        input in prose_with_false_starts(),
        sizes in chunk_sizes(),
        ways in prop::collection::vec(0u8..4, 1..4),
        max_depth in prop_oneof![4 => Just(1024usize), 1 => 1usize..4],
    ) {
        let opts = options(true, max_depth);
        let what = format!("{:?} cut by {sizes:?} ({opts:?})", String::from_utf8_lossy(&input));
        let (chunked, whole_r, model) = within_time_limit(what.clone(), move || {
            let chunks = cut(&input, &sizes);
            (
                feed_chunks_counted(&chunks, &ways, opts),
                feed_chunks_counted(&[&input], &[0], opts),
                crate::tests::reference(&input, opts),
            )
        });
        prop_assert_eq!(&chunked, &whole_r, "{}", what);
        prop_assert!(crate::tests::same_as_reference(&whole_r, &model), "{}: {:?}, model {:?}", what, whole_r, model);
    }

    /// A JSON container after prose whose brackets all start false starts is read whole.
    #[test]
    fn lenient_finds_the_value_after_false_starts(
        v in json_value(),
        style in any::<u8>(),
        seed in any::<u64>(),
        before in prop::collection::vec(prop::sample::select(vec![
            "see [x] ", "{Note: y} ", "[1, 2, z] ", "{\"a\": w} ", "[[\"s\", oops ", "prose ", "\n",
        ]), 0..6),
        sizes in chunk_sizes(),
        ways in prop::collection::vec(0u8..4, 1..4),
    ) {
        // (a scalar goes in an array: lenient mode reads containers only)
        let v = match v {
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => v,
            scalar => serde_json::Value::Array(vec![scalar]),
        };
        let text = format!("{}```json\n{}\n``` [not this]", before.concat(), serialize(&v, style, seed));
        let (outcome, restarts) = feed_chunks_counted(&cut(text.as_bytes(), &sizes), &ways, options(true, 1024));
        prop_assert_eq!(outcome, Ok(from_serde(&v)), "{:?}", text);
        let expected: usize = before.iter().map(|b| match *b { "[[\"s\", oops " => 2, "prose " | "\n" => 0, _ => 1 }).sum();
        prop_assert_eq!(restarts as usize, expected, "{:?}", text);
    }

    /// Repeated keys: each key keeps its first place and its last value, however the text is cut.
    #[test]
    fn repeated_keys_keep_first_place_last_value(
        members in prop::collection::vec((prop::sample::select(vec!["a", "b", "c", "é", ""]), json_value_sized(3, 16)), 0..24),
        sizes in chunk_sizes(),
    ) {
        let mut text = String::from("{");
        let mut model: Vec<(String, Value)> = Vec::new();
        for (i, (k, v)) in members.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&format!("{}:{}", serde_json::to_string(k).unwrap(), serde_json::to_string(v).unwrap()));
            match model.iter_mut().find(|(m, _)| m == k) {
                Some(slot) => slot.1 = from_serde(v),
                None => model.push((k.to_string(), from_serde(v))),
            }
        }
        text.push('}');
        let expected = Value::Object(model);
        let chunked = feed_chunks(&cut(text.as_bytes(), &sizes), &[0, 2], Options::default());
        prop_assert_eq!(&chunked, &Ok(expected.clone()));
        // serde_json keeps the last value too (its map is sorted, hence the order-free compare).
        let theirs: serde_json::Value = serde_json::from_str(&text).unwrap();
        prop_assert!(same_as_serde(&expected, &theirs));
    }

    /// Strict mode accepts what serde_json accepts, and reads the same value from it.
    #[test]
    fn strict_agrees_with_serde_json(input in near_json()) {
        let ours = parse(&input, Options::default());
        let theirs = serde_json::from_slice::<serde_json::Value>(&input);
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => prop_assert!(same_as_serde(a, b), "{:?}: {:?} vs {:?}", String::from_utf8_lossy(&input), a, b),
            (Err(_), Err(_)) => {}
            (Ok(a), Err(e)) => {
                // Documented differences: lone surrogates are kept (as Python's json does), nesting is
                // allowed to max_depth (serde_json stops at 128), and 1e400 is inf (as in Python).
                let msg = e.to_string();
                let surrogate = has_surrogate_escape(&input) && (msg.contains("surrogate") || msg.contains("hex escape"));
                let known = surrogate || msg.contains("recursion limit") || msg.contains("number out of range");
                prop_assert!(known, "{:?} accepted as {:?}; serde_json: {}", String::from_utf8_lossy(&input), a, msg);
            }
            (Err(e), Ok(b)) => {
                prop_assert!(false, "{:?} rejected ({}); serde_json reads {:?}", String::from_utf8_lossy(&input), e, b);
            }
        }
    }
}

#[test]
fn cut_covers_the_input() {
    let input = b"0123456789";
    for sizes in [vec![0], vec![1], vec![3, 0, 2], vec![100]] {
        let chunks = cut(input, &sizes);
        assert_eq!(chunks.concat(), input.to_vec(), "{sizes:?}");
    }
}
