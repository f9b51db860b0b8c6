//! Eight bytes at a time: a token-sized chunk fits in one `u64`, so it is scanned and counted
//! without a loop whose unpredictable end (a chunk is 1 to 6 bytes) costs a branch miss each time.
//!
//! Each "lanes" result has the top bit of every matching byte set, and nothing else.

pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const ONES: u64 = 0x0101_0101_0101_0101;

/// Up to 8 bytes of `b` as a little-endian word, the rest zero, without a loop: two overlapping loads.
pub(crate) fn small(b: &[u8]) -> u64 {
    let n = b.len();
    debug_assert!(n <= 8);
    if n >= 4 {
        let lo = u64::from(u32::from_le_bytes(b[..4].try_into().expect("4 bytes")));
        let hi = u64::from(u32::from_le_bytes(b[n - 4..].try_into().expect("4 bytes")));
        lo | hi << (8 * (n - 4))
    } else if n > 0 {
        let at = |i: usize| u64::from(b[i]) << (8 * i);
        at(0) | at(n / 2) | at(n - 1)
    } else {
        0
    }
}

/// The last `n` bytes of `b` (n ≤ 8) as a word, like `small`: where `b` has 8 bytes, one load of
/// its last 8 and a shift, with no branch on `n`. A token's length is unpredictable (1 to 6 bytes),
/// and `small`'s branch on it missed about once a chunk: reading each chunk's word this way, from
/// text with bytes before it, made a catalog stream ~7% faster (paired, profile-guided builds).
pub(crate) fn last(b: &[u8], n: usize) -> u64 {
    debug_assert!(n <= 8 && n <= b.len());
    match b.len().checked_sub(8) {
        Some(at) => {
            let w = u64::from_le_bytes(b[at..].try_into().expect("8 bytes"));
            // (two shifts: one of 64 bits would overflow when `n` is 0)
            let drop = 4 * (8 - n) as u32;
            w >> drop >> drop
        }
        None => small(&b[b.len() - n..]),
    }
}

/// The lanes of the first `n` bytes (n ≤ 8).
pub(crate) fn first(n: usize) -> u64 {
    match n {
        8 => HIGH,
        _ => HIGH & ((1u64 << (8 * n)) - 1),
    }
}

/// `b` in every lane.
pub(crate) const fn splat(b: u8) -> u64 {
    b as u64 * ONES
}

/// The lanes that are zero bytes (`below` 1), and perhaps lanes above one: exact up to the lowest, in
/// three operations where `zero` takes five.
pub(crate) fn zero_low(w: u64) -> u64 {
    below(w, 1)
}

/// The lanes below `b` (which is at most 0x80), and perhaps lanes above one (a borrow runs upward).
pub(crate) fn below(w: u64, b: u8) -> u64 {
    w.wrapping_sub(splat(b)) & !w & HIGH
}

/// The lanes that are zero bytes, exactly (no false hits from borrows).
pub(crate) fn zero(w: u64) -> u64 {
    !(((w & LOW7) + LOW7) | w | LOW7)
}

/// The lanes equal to `b`.
pub(crate) fn equal(w: u64, b: u8) -> u64 {
    zero(w ^ splat(b))
}

/// The lanes that are UTF-8 continuation bytes (0b10xxxxxx).
pub(crate) fn continuation(w: u64) -> u64 {
    w & !(w << 1) & HIGH
}

/// How many lanes are set in `lanes`: one multiply adds up the eight lanes' bits in the top byte
/// (x86-64's baseline has no `popcnt`, and `count_ones` without it is a dozen instructions).
pub(crate) fn count(lanes: u64) -> usize {
    ((lanes >> 7).wrapping_mul(ONES) >> 56) as usize
}

/// The index of the lowest lane set in `lanes`, or 8 if none is.
pub(crate) fn lowest(lanes: u64) -> usize {
    (lanes.trailing_zeros() / 8) as usize
}

/// The index of the highest lane set in `lanes` (which is not 0).
pub(crate) fn highest(lanes: u64) -> usize {
    (63 - lanes.leading_zeros() as usize) / 8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_match_a_byte_loop() {
        let samples: &[&[u8]] = &[
            b"",
            b"a",
            b"\"",
            b"ab\\",
            b"\x00\x1f \x7f",
            b"\xc3\xa9\n\"x",
            b"\x80\x80\x80\x80\x80\x80\x80\x80",
            b"ab\n\ncd\x01\xff",
            b"\x1f\x20\x21\x22\x5c\x0a\xbf\xc0",
        ];
        for &b in samples {
            let w = small(b);
            let mut want = [0u8; 8];
            want[..b.len()].copy_from_slice(b);
            assert_eq!(w, u64::from_le_bytes(want));
            let lanes = |f: &dyn Fn(u8) -> bool| {
                (0..8)
                    .filter(|&i| f(want[i]))
                    .fold(0u64, |m, i| m | 0x80 << (8 * i))
            };
            assert_eq!(equal(w, b'"'), lanes(&|c| c == b'"'), "{b:?}");
            assert_eq!(equal(w, b'\n'), lanes(&|c| c == b'\n'), "{b:?}");
            assert_eq!(continuation(w), lanes(&|c| c & 0xc0 == 0x80), "{b:?}");
            let conts = want.iter().filter(|&&c| c & 0xc0 == 0x80).count();
            assert_eq!(count(continuation(w)), conts, "{b:?}");
            assert_eq!(
                first(b.len()),
                lanes(&|_| true) & (0..b.len()).fold(0, |m, i| m | 0x80 << (8 * i))
            );
        }
        assert_eq!((count(0), count(HIGH)), (0, 8));
        // `zero_low` and `below` are exact up to their lowest lane: every word of bytes from an
        // alphabet of borrow edges, 6 lanes (the top two vary with the rest).
        let alphabet = [
            0x00, 0x01, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5c, 0x7f, 0x80, 0xa2, 0xff,
        ];
        let k = alphabet.len();
        for mut i in 0..k.pow(6) {
            let mut bytes = [0u8; 8];
            for (j, b) in bytes.iter_mut().enumerate() {
                *b = alphabet[i % k];
                i = if j < 5 { i / k } else { i * 7 + 3 };
            }
            let w = u64::from_le_bytes(bytes);
            let first = |f: &dyn Fn(u8) -> bool| bytes.iter().position(|&c| f(c)).unwrap_or(8);
            assert_eq!(
                lowest(zero_low(w ^ splat(b'"'))),
                first(&|c| c == b'"'),
                "{bytes:?}"
            );
            assert_eq!(lowest(zero_low(w)), first(&|c| c == 0), "{bytes:?}");
            assert_eq!(lowest(below(w, 0x20)), first(&|c| c < 0x20), "{bytes:?}");
        }
        // `last` equals `small` of the same bytes, with and without bytes before them.
        let text = b"0123456789abcdef";
        for len in 0..=text.len() {
            for n in 0..=len.min(8) {
                let b = &text[..len];
                assert_eq!(last(b, n), small(&b[len - n..]), "{len} {n}");
            }
        }
        assert_eq!(
            (
                lowest(0x80 << 16 | 0x80 << 40),
                highest(0x80 << 16 | 0x80 << 40)
            ),
            (2, 5)
        );
    }
}
