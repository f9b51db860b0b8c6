//! UTF-8 a character at a time with no branch on a character's width.
//!
//! In mixed text such as ` мир j` the width changes unpredictably from one character to the next, and
//! a branch on it missed about once a character: on the catalog, encoding and decoding the non-ASCII
//! chunks this way took ~110,000 of the stream's ~660,000 simulated conditional branch misses away.
//! Surrogates (U+D800..U+DFFF, from `\uD8xx` escapes) go both ways in their WTF-8 form.

use crate::word;

/// The UTF-8 form of code point `c` in the first bytes of 4 (WTF-8 for a surrogate), and how many
/// bytes it takes.
#[inline(always)]
pub(crate) fn encode(c: u32) -> ([u8; 4], usize) {
    let width = 1 + usize::from(c >= 0x80) + usize::from(c >= 0x800) + usize::from(c >= 0x1_0000);
    // Every 6-bit group behind a continuation byte's `10`, as if 4 bytes long (big-endian); the
    // lead then gets its prefix (`110`, `1110`, `11110`) and the bytes the character lacks go.
    let four =
        0x8080_8080 | (c >> 18) << 24 | (c >> 12 & 0x3f) << 16 | (c >> 6 & 0x3f) << 8 | (c & 0x3f);
    const LEAD: [u32; 5] = [0, 0, 0x40, 0x60, 0x70];
    let shift = 8 * (4 - width as u32);
    let multi = (four ^ LEAD[width] << (24 - shift)) << shift;
    let be = if width == 1 { c << 24 } else { multi };
    (be.to_be_bytes(), width)
}

/// Decodes the `n` bytes (8 at most, whole characters) in `w` (see `word::small`), passing each
/// character to `put` with its index: how many there are, and the largest.
#[inline(always)]
#[cfg_attr(not(feature = "python"), allow(dead_code))]
pub(crate) fn decode_small(w: u64, n: usize, mut put: impl FnMut(usize, u32)) -> (usize, u32) {
    let mut starts = word::first(n) & !word::continuation(w);
    let (mut i, mut max) = (0, 0);
    while starts != 0 {
        // The 4 bytes from the character's lead on, big-endian, straight from the word (the bytes
        // past the word are zero, as past `n`): from a buffer, a load across the bytes of two
        // stores waits for them to reach the cache (no store forwarding), and perf showed it.
        let at = 8 * (starts.trailing_zeros() / 8);
        let c = decode_lead(((w >> at) as u32).swap_bytes());
        starts &= starts - 1;
        max = max.max(c);
        put(i, c);
        i += 1;
    }
    (i, max)
}

/// Decodes the character whose lead is the top byte of `x` (big-endian, its continuations after
/// it): the lead's bits and three continuations' are put together as for a 4-byte character, then
/// shifted down 6 bits for each byte it lacks (which drops the bytes after it).
#[inline(always)]
#[cfg_attr(not(feature = "python"), allow(dead_code))]
fn decode_lead(x: u32) -> u32 {
    // The lead's leading 1s: 0 for ASCII, else the width.
    let ones = (!x).leading_zeros();
    let width = ones.max(1);
    let c =
        (x >> 24 & 0x7f >> ones) << 18 | (x >> 16 & 0x3f) << 12 | (x >> 8 & 0x3f) << 6 | (x & 0x3f);
    c >> (6 * (4 - width))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The form `char::encode_utf8` gives, and for a surrogate (no `char`) the same 3-byte pattern.
    fn reference(c: u32) -> Vec<u8> {
        match char::from_u32(c) {
            Some(ch) => ch.to_string().into_bytes(),
            None => vec![
                0xe0 | (c >> 12) as u8,
                0x80 | (c >> 6 & 0x3f) as u8,
                0x80 | (c & 0x3f) as u8,
            ],
        }
    }

    #[test]
    fn encode_matches_std_for_every_code_point() {
        for c in 0..=0x10_ffff {
            let (got, width) = encode(c);
            assert_eq!(&got[..width], reference(c), "U+{c:04X}");
        }
    }

    #[test]
    fn decode_small_reads_every_code_point_at_every_offset() {
        let mut text = Vec::with_capacity(8);
        for c in 0..=0x10_ffff {
            let one = reference(c);
            let width = one.len();
            for before in 0..=8 - width {
                // ASCII before it, and a 2-byte character after it where one fits.
                text.clear();
                text.extend(std::iter::repeat_n(b'a', before));
                text.extend_from_slice(&one[..width]);
                let after = text.len() + 2 <= 8;
                if after {
                    text.extend_from_slice("é".as_bytes());
                }
                let mut got = Vec::new();
                let (count, max) = decode_small(word::small(&text), text.len(), |i, d| {
                    assert_eq!(i, got.len());
                    got.push(d)
                });
                let mut want = vec![u32::from(b'a'); before];
                want.push(c);
                if after {
                    want.push(0xe9);
                }
                assert_eq!(got, want, "U+{c:04X} after {before}");
                assert_eq!((count, max), (want.len(), *want.iter().max().unwrap()));
            }
        }
    }
}
