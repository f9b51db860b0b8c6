//! Unit tests of the core: every input is also fed cut at every byte.

use crate::{parse, ErrorKind, Mode, Options, Parser, Position, TreeBuilder, Value};

fn strict() -> Options {
    Options::default()
}

fn lenient() -> Options {
    Options {
        mode: Mode::Lenient,
        ..Options::default()
    }
}

/// Parses `input` fed whole, byte by byte, and cut in two at every byte; all must agree.
fn parse_all_ways(input: &str, options: Options) -> Result<Value, ErrorKind> {
    let whole = parse(input.as_bytes(), options).map_err(|e| e.kind);
    let bytes = input.as_bytes();
    let mut ways: Vec<Vec<&[u8]>> = vec![bytes.chunks(1).collect()];
    for cut in 0..=bytes.len() {
        ways.push(vec![&bytes[..cut], &bytes[cut..]]);
    }
    for chunks in ways {
        let mut p = Parser::new(options);
        let mut t = TreeBuilder::new();
        let mut r = Ok(());
        for c in &chunks {
            r = p.feed(c, &mut t);
            if r.is_err() {
                break;
            }
        }
        let r = r
            .and_then(|_| p.finish(&mut t))
            .map(|_| t.into_value().unwrap())
            .map_err(|e| e.kind);
        assert_eq!(r, whole, "{input:?} cut as {chunks:?}");
    }
    whole
}

fn obj(members: &[(&str, Value)]) -> Value {
    Value::Object(
        members
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

#[test]
fn scalars() {
    assert_eq!(parse_all_ways("12", strict()), Ok(Value::Int(12)));
    assert_eq!(
        parse_all_ways(" -0.5e+2 ", strict()),
        Ok(Value::Float(-50.0))
    );
    assert_eq!(parse_all_ways("true", strict()), Ok(Value::Bool(true)));
    assert_eq!(parse_all_ways("null", strict()), Ok(Value::Null));
    assert_eq!(
        parse_all_ways("123456789012345678901234567890", strict()),
        Ok(Value::BigInt("123456789012345678901234567890".into()))
    );
}

#[test]
fn strings_and_escapes() {
    assert_eq!(
        parse_all_ways(r#""a\"b\\c\n\u00e9\ud83d\ude00é🚀""#, strict()),
        Ok(Value::String("a\"b\\c\né😀é🚀".into()))
    );
    let lone = parse(br#""\ud83d""#, strict()).unwrap();
    assert_eq!(lone, Value::String("\u{FFFD}".into()));
}

#[test]
fn containers() {
    let v = parse_all_ways(r#"{"a": [1, {"b": "he"}], "a": 2, "c": {}}"#, strict()).unwrap();
    assert_eq!(v, obj(&[("a", Value::Int(2)), ("c", obj(&[]))]));
}

#[test]
fn strict_rejects() {
    for bad in [
        "[1,]",
        r#"{"a":1,}"#,
        "NaN",
        "[1] x",
        "01",
        "1.",
        "-",
        "[1 2]",
        "\"\t\"",
        "tru",
        "{'a':1}",
        "[",
        "",
    ] {
        assert!(parse_all_ways(bad, strict()).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn lenient_accepts_llm_output() {
    let text = "Sure! Here it is:\n```json\n{\"a\": [1, 2,], \"b\": \"x\",}\n```\nHope that helps [really].";
    assert_eq!(
        parse_all_ways(text, lenient()),
        Ok(obj(&[
            ("a", Value::Array(vec![Value::Int(1), Value::Int(2)])),
            ("b", Value::String("x".into()))
        ]))
    );
}

#[test]
fn errors_carry_positions() {
    let mut p = Parser::default();
    let mut t = TreeBuilder::new();
    p.feed(b"{\n  \"a\": ", &mut t).unwrap();
    let e = p.feed(b"x}", &mut t).unwrap_err();
    assert_eq!(
        (
            e.position.byte,
            e.position.char,
            e.position.line,
            e.position.column
        ),
        (9, 9, 2, 8)
    );
    assert!(e.excerpt.contains("\"a\": x"), "{}", e.excerpt);
    // The parser stays failed, with the same error.
    assert_eq!(p.feed(b"1", &mut t).unwrap_err(), e);
}

#[test]
fn invalid_utf8_has_byte_offset() {
    let e = parse(b"[\"\xc3\xa9\xff\"]", strict()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidUtf8);
    assert_eq!((e.position.byte, e.position.char), (4, 3));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = "[".repeat(100_000);
    let e = parse(deep.as_bytes(), strict()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooDeep(1024));
    let ok = format!("{}{}", "[".repeat(1024), "]".repeat(1024));
    assert!(parse(ok.as_bytes(), strict()).is_ok());
}

#[test]
fn open_string_holds_back_partial_escapes() {
    let mut p = Parser::default();
    let mut t = TreeBuilder::new();
    let mut seen = Vec::new();
    for b in br#"{"a": "x\u00e9\ud83d\ude00y"}"#.chunks(1) {
        p.feed(b, &mut t).unwrap();
        if let Some(s) = p.open_string() {
            seen.push(s.as_str().unwrap().to_string());
        }
    }
    assert!(
        seen.iter()
            .all(|s| ["", "x", "xé", "xé😀", "xé😀y"].contains(&s.as_str())),
        "{seen:?}"
    );
    assert!(seen.windows(2).all(|w| w[1].starts_with(&w[0])));
}

#[test]
fn partial_tree_grows() {
    let mut p = Parser::default();
    let mut t = TreeBuilder::new();
    p.feed(br#"{"a": [1, {"b": "he"#, &mut t).unwrap();
    let v = t.partial(p.open_string()).unwrap();
    assert_eq!(
        v,
        obj(&[(
            "a",
            Value::Array(vec![
                Value::Int(1),
                obj(&[("b", Value::String("he".into()))])
            ])
        )])
    );
}

// ------------------------------------------------------------------------------- lenient false starts

/// What a lenient parse came to, and how many false starts it discarded.
pub(crate) type Lenient = (Result<Value, (ErrorKind, Position)>, u64);

/// Feeds `chunks` to a lenient parser (each by `feed`, or by `feed_str` where `as_str` and the piece is
/// text), then finishes; checks that no candidate's text is held once the value is complete.
fn feed_lenient(chunks: &[&[u8]], options: Options, as_str: bool) -> Lenient {
    let mut p = Parser::new(options);
    let mut t = TreeBuilder::new();
    let mut r = Ok(());
    for c in chunks {
        r = match (as_str, std::str::from_utf8(c)) {
            (true, Ok(s)) => p.feed_str(s, &mut t),
            _ => p.feed(c, &mut t),
        };
        if p.is_complete() {
            assert_eq!(p.held_len(), 0, "held text kept after the value completed");
        }
        if r.is_err() {
            break;
        }
    }
    let r = r
        .and_then(|_| p.finish(&mut t))
        .map(|_| t.into_value().expect("a complete parse has a value"))
        .map_err(|e| (e.kind, e.position));
    (r, p.restarts())
}

/// Every way to cut `input` that this tests: whole, byte by byte, in two at every byte, and (for
/// inputs up to 80 bytes) in three at every pair of bytes.
fn chunkings(bytes: &[u8]) -> Vec<Vec<&[u8]>> {
    let n = bytes.len();
    let mut ways: Vec<Vec<&[u8]>> = vec![vec![bytes], bytes.chunks(1).collect()];
    for a in 0..=n {
        ways.push(vec![&bytes[..a], &bytes[a..]]);
        if n <= 80 {
            for b in a..=n {
                ways.push(vec![&bytes[..a], &bytes[a..b], &bytes[b..]]);
            }
        }
    }
    ways
}

/// The documented semantics, naively: a fresh single-candidate parse at each `{`/`[` in turn, one
/// byte at a time, with nothing held or read again by the parser itself. A candidate is a false
/// start where its parser first counts a restart (the byte then read is where it broke). The
/// outcome's error, if every candidate is a false start, is at the break of the longest (the
/// earliest of equals); only its position is compared, as this model does not see its kind.
pub(crate) fn reference(
    input: &[u8],
    options: Options,
) -> (Result<Value, (ErrorKind, usize)>, u64) {
    let (mut from, mut restarts) = (0, 0);
    let mut longest: Option<(usize, usize)> = None; // (length, byte where it broke)
    loop {
        let Some(start) = input[from..]
            .iter()
            .position(|&b| b == b'{' || b == b'[')
            .map(|k| from + k)
        else {
            return match longest {
                // (the kind is not modelled: see `same_as_reference`)
                Some((_, at)) => (Err((ErrorKind::ExtraData, at)), restarts),
                None => (
                    Err((ErrorKind::UnexpectedEnd("no '{' or '[' found"), input.len())),
                    restarts,
                ),
            };
        };
        let mut p = Parser::new(options);
        let mut t = TreeBuilder::new();
        let mut broke = None;
        for j in start..input.len() {
            let r = p.feed(&input[j..=j], &mut t);
            if p.restarts() > 0 {
                // Read when the character it ends is whole: the break is at that character's start.
                let mut at = j;
                while input[at] & 0xC0 == 0x80 {
                    at -= 1;
                }
                broke = Some(at);
                break;
            }
            if let Err(e) = r {
                return (Err((e.kind, start + e.position.byte)), restarts);
            }
            if p.is_complete() {
                return (Ok(t.into_value().expect("complete")), restarts);
            }
        }
        let Some(at) = broke else {
            let e = p.finish(&mut t).unwrap_err();
            return (Err((e.kind, start + e.position.byte)), restarts);
        };
        restarts += 1;
        if longest.is_none_or(|(len, _)| at - start > len) {
            longest = Some((at - start, at));
        }
        from = start + 1;
    }
}

/// Whether a lenient outcome is the reference model's (see `reference`).
pub(crate) fn same_as_reference(
    ours: &Lenient,
    model: &(Result<Value, (ErrorKind, usize)>, u64),
) -> bool {
    ours.1 == model.1
        && match (&ours.0, &model.0) {
            (Ok(a), Ok(b)) => a == b,
            (Err((kind, pos)), Err((ErrorKind::ExtraData, at))) => {
                // A false start's own error: a syntax error, where the longest one broke.
                !matches!(kind, ErrorKind::UnexpectedEnd(_) | ErrorKind::TooDeep(_))
                    && pos.byte == *at
            }
            (Err((kind, pos)), Err((k, at))) => kind == k && pos.byte == *at,
            _ => false,
        }
}

/// Parses `input` leniently cut every way `chunkings` has, by `feed` and `feed_str`: all must agree
/// with the whole parse and with the reference model; returns the outcome.
fn lenient_all_ways_with(input: &str, options: Options) -> Lenient {
    let bytes = input.as_bytes();
    let whole = feed_lenient(&[bytes], options, false);
    for chunks in chunkings(bytes) {
        for as_str in [false, true] {
            let r = feed_lenient(&chunks, options, as_str);
            assert_eq!(r, whole, "{input:?} cut as {chunks:?} (feed_str: {as_str})");
        }
    }
    let model = reference(bytes, options);
    assert!(
        same_as_reference(&whole, &model),
        "{input:?}: {whole:?}, the model says {model:?}"
    );
    whole
}

fn lenient_all_ways(input: &str) -> Lenient {
    lenient_all_ways_with(input, lenient())
}

fn int_array(items: &[i64]) -> Value {
    Value::Array(items.iter().map(|&i| Value::Int(i)).collect())
}

#[test]
fn lenient_skips_false_starts() {
    let cases: Vec<(&str, Value, u64)> = vec![
        // The bracket opens prose, not JSON.
        (
            "See [section 2] for details. {\"a\": 1}",
            obj(&[("a", Value::Int(1))]),
            1,
        ),
        ("{Note: this is prose} [1, 2]", int_array(&[1, 2]), 1),
        (
            "[1, 2, see above] then {\"x\": 1}",
            obj(&[("x", Value::Int(1))]),
            1,
        ),
        // Several false starts, non-ASCII prose between them.
        (
            "Use [x] or {y}, e.g. [1, z] — so: {\"ok\": true}",
            obj(&[("ok", Value::Bool(true))]),
            3,
        ),
        // A bracket the false start read as its own structure can be the real start...
        ("[1, {\"a\": 2}, oops]", obj(&[("a", Value::Int(2))]), 1),
        // ... and so can one it read inside a string.
        ("{\"a\": \"[1, 2]\" oops}", int_array(&[1, 2]), 1),
        // A false start that breaks only at its very end, the real value nested inside it.
        (
            "{\"data\": {\"k\": [1, 2]}, \"n\": 1 oops",
            obj(&[("k", int_array(&[1, 2]))]),
            1,
        ),
        // Nested false starts, each one level in: the outer breaks, then the next, then a value.
        ("[[x [y {\"a\": [3]}", obj(&[("a", int_array(&[3]))]), 3),
        // Broken tokens inside a false start: numbers, literals, escapes, \u escapes.
        (
            "[01] [-] [tru] [\"\\q\"] [\"\\u12x\"] [7]",
            int_array(&[7]),
            5,
        ),
        // A false start that is a complete JSON value is the value.
        ("See [1] and {\"a\": 2}", int_array(&[1]), 0),
        // Nothing false: as before.
        (
            "Sure:\n```json\n{\"a\": [1, 2,],}\n```",
            obj(&[("a", int_array(&[1, 2]))]),
            0,
        ),
    ];
    for (input, value, restarts) in cases {
        assert_eq!(lenient_all_ways(input), (Ok(value), restarts), "{input:?}");
    }
}

#[test]
fn lenient_long_false_start_across_chunks() {
    // A false start hundreds of bytes long, held across chunks and read again; each `[` in its
    // strings is a false start too (`[", "x` breaks at the `x`).
    let input = format!("[{}oops] then {{\"a\": [1]}}", "\"x[\", ".repeat(120));
    assert_eq!(
        lenient_all_ways(&input),
        (Ok(obj(&[("a", int_array(&[1]))])), 121)
    );
    // In 7-byte chunks, as a stream would cut it.
    let bytes = input.as_bytes();
    let chunks: Vec<&[u8]> = bytes.chunks(7).collect();
    assert_eq!(
        feed_lenient(&chunks, lenient(), true),
        (Ok(obj(&[("a", int_array(&[1]))])), 121)
    );
}

#[test]
fn lenient_errors_when_every_candidate_is_false() {
    // The longest false start's error: a document broken once reads as it did before false starts
    // were skipped (here, where the value was expected).
    let (r, restarts) = lenient_all_ways("Answer:\n{\"a\": x}");
    let (kind, pos) = r.unwrap_err();
    assert_eq!(
        kind,
        ErrorKind::Unexpected {
            found: 'x',
            expected: "value"
        }
    );
    assert_eq!((pos.byte, pos.line, pos.column), (14, 2, 7));
    assert_eq!(restarts, 1);
    // The longest of several, and the earliest of equals.
    let (r, restarts) = lenient_all_ways("[a] {\"k\": [1, 2 x} [b]");
    assert_eq!(r.unwrap_err().1.byte, 16);
    assert_eq!(restarts, 4);
    let (r, _) = lenient_all_ways("{N} [x]");
    assert_eq!(r.unwrap_err().1.byte, 1);
    // A candidate still open when the input ends is unfinished, as before.
    let (r, _) = lenient_all_ways("[x] then {\"a\": [1]");
    assert_eq!(
        r.unwrap_err().0,
        ErrorKind::UnexpectedEnd("unclosed object")
    );
    // No bracket at all.
    let (r, restarts) = lenient_all_ways("no json here");
    assert_eq!(
        r.unwrap_err().0,
        ErrorKind::UnexpectedEnd("no '{' or '[' found")
    );
    assert_eq!(restarts, 0);
}

#[test]
fn lenient_too_deep_is_still_an_error_where_it_is() {
    let depth2 = Options {
        mode: Mode::Lenient,
        max_depth: 2,
    };
    // Read again from held text (when the chunks cut inside the string): the position is the same.
    let input = "Hi\n[\"\n[[[1]]]\" x";
    let (r, restarts) = lenient_all_ways_with(input, depth2);
    let (kind, pos) = r.unwrap_err();
    assert_eq!(kind, ErrorKind::TooDeep(2));
    assert_eq!(
        (pos.byte, pos.char, pos.line, pos.column),
        (8, 8, 3, 3),
        "{pos:?}"
    );
    assert_eq!(restarts, 1);
    // Non-ASCII before it: characters and bytes differ.
    let (r, _) = lenient_all_ways_with("é[\"é[[[1]]]\" x", depth2);
    let pos = r.unwrap_err().1;
    assert_eq!((pos.byte, pos.char, pos.line, pos.column), (8, 6, 1, 7));
}

#[test]
fn lenient_partial_value_is_dropped_with_its_false_start() {
    let mut p = Parser::new(lenient());
    let mut t = TreeBuilder::new();
    p.feed(b"Look: [1, 2, ", &mut t).unwrap();
    // While a candidate is open, its partial value shows.
    assert_eq!(t.partial(p.open_string()), Some(int_array(&[1, 2])));
    assert_eq!((p.restarts(), p.held_len()), (0, 7));
    p.feed(b"see", &mut t).unwrap();
    // Discarded: nothing shows, nothing is held, and the count says so.
    assert_eq!(t.partial(p.open_string()), None);
    assert_eq!((p.restarts(), p.held_len(), p.depth()), (1, 0, 0));
    p.feed(b" {\"a\": \"h", &mut t).unwrap();
    assert_eq!(
        t.partial(p.open_string()),
        Some(obj(&[("a", Value::String("h".into()))]))
    );
    p.feed(b"i\"}", &mut t).unwrap();
    assert!(p.is_complete());
    assert_eq!(p.held_len(), 0);
    p.finish(&mut t).unwrap();
    assert_eq!(
        t.into_value(),
        Some(obj(&[("a", Value::String("hi".into()))]))
    );
    assert_eq!(p.restarts(), 1);
}

#[test]
fn strict_mode_has_no_false_starts() {
    let mut p = Parser::default();
    let mut t = TreeBuilder::new();
    let e = p.feed(b"[1, 2, see above]", &mut t).unwrap_err();
    assert_eq!(
        (e.kind, e.position.byte),
        (
            ErrorKind::Unexpected {
                found: 's',
                expected: "value"
            },
            7
        )
    );
    assert_eq!(p.restarts(), 0);
}

#[test]
fn lenient_nested_false_starts_stay_bounded() {
    // The worst case the docs name: a false start that breaks at its end with many brackets still
    // open in it; each is a candidate read to the end once more (n²/2 bytes here, n = 1,000).
    let input = format!("{}x", "[".repeat(1000));
    let mut p = Parser::new(lenient());
    let mut t = TreeBuilder::new();
    p.feed(input.as_bytes(), &mut t).unwrap();
    assert_eq!(p.restarts(), 1000);
    // The outermost breaks first, so it is the longest: its error is the one reported.
    let e = p.finish(&mut t).unwrap_err();
    assert_eq!((e.kind, e.position.byte), (unexpected_x(), 1000));
    // The same, 300 bytes at a time (the held text read again).
    let mut p = Parser::new(lenient());
    let mut t = TreeBuilder::new();
    for c in input.as_bytes().chunks(300) {
        p.feed(c, &mut t).unwrap();
    }
    assert_eq!(p.restarts(), 1000);
    assert_eq!(p.finish(&mut t).unwrap_err().position.byte, 1000);
}

fn unexpected_x() -> ErrorKind {
    ErrorKind::Unexpected {
        found: 'x',
        expected: "value",
    }
}
