//! The open string's `str`, grown in place while nothing but its container refers to it.
//!
//! Reading `value` after every chunk needs the open string's `str` current after every chunk. A new
//! `str` each time costs an allocation, a copy of all the text so far, a dict store and a free: on the
//! Catalog workload (strings of ~200 characters, many with an emoji, so 4 bytes a character) that was
//! ~150 of the ~275 ns a chunk cost. CPython appends in place for `s += t` when `s` has no other
//! reference; a [`LiveStr`] does the same for the open string, into room it was made with: while its
//! container and this parser hold the only references, and nothing cached its hash or its UTF-8 form
//! or interned it, the new characters go after the old ones and the length grows. A `str` anyone else
//! holds is never touched: the next chunk puts a new one in its place.
//!
//! `str`'s layout is not part of the stable ABI. It is measured once, at import, on probe strings
//! and checked against what the public API reports, down to growing a probe of every kind and
//! comparing it with the same text made the usual way; any mismatch turns growing in place off.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyString;

use super::{on, Shortcut};
use crate::{utf8, word};

/// Where CPython keeps a compact `str`'s fields, as measured on this interpreter.
#[derive(Clone, Copy, Debug)]
struct Layout {
    /// Where the characters start in an ASCII string, and in any other compact string.
    ascii_data: usize,
    compact_data: usize,
    /// The cached UTF-8 form's pointer in a non-ASCII string.
    utf8: usize,
    /// The cached `wchar_t` form's pointer and (non-ASCII strings) its length: 3.10 and 3.11 only.
    /// Where `wchar_t` is 4 bytes, a 4-byte-kind string's `wchar_t` form is its characters.
    wstr: Option<(usize, usize)>,
    /// How many bytes just before an ASCII string's characters `ascii_text` passes with them: `PAD`
    /// where those are the `wchar_t` pointer (3.10 and 3.11), which CPython sets when it makes the
    /// `str`. From 3.12 on, the 4 bytes there are padding that CPython never writes: none.
    ascii_pad: usize,
}

impl Layout {
    /// Where `obj`'s characters start.
    fn data(&self, obj: *mut ffi::PyObject) -> *mut u8 {
        let ascii = state(obj).3;
        // SAFETY: inside the object: every compact `str` has its characters after its header.
        unsafe {
            obj.cast::<u8>().add(match ascii {
                true => self.ascii_data,
                false => self.compact_data,
            })
        }
    }

    /// Whether `obj`'s `wchar_t` form is unset, or is its characters.
    fn wstr_is_data(&self, obj: *mut ffi::PyObject) -> bool {
        match self.wstr {
            None => true,
            // SAFETY: `wstr` is inside every `str`'s header on the interpreters that have it.
            Some((wstr, _)) => unsafe {
                let w = read::<*mut u8>(obj, wstr);
                w.is_null() || (state(obj).1 == 4 && w == self.data(obj))
            },
        }
    }
}

/// The fields every CPython 3 `str` starts with after the object header: length, hash, state bits.
const LENGTH: usize = 16;
const HASH: usize = 24;
const STATE: usize = 32;

static LAYOUT: PyOnceLock<Option<Layout>> = PyOnceLock::new();

/// Whether `str`'s layout here is the one measured and checked by growing probes (at import, by
/// `cpython::init`, for both string shortcuts).
pub(super) fn layout_matches(py: Python<'_>) -> bool {
    layout(py).is_some()
}

fn layout(py: Python<'_>) -> Option<Layout> {
    *LAYOUT.get_or_init(py, || measure(py))
}

/// How many bytes before a chunk's text `ascii_text` and `utf8_of` pass with it, for the parser to
/// read a token's bytes as one load (see `Parser::feed_str_padded`).
const PAD: usize = 8;

/// The characters of `s` if it is a compact ASCII `str` (they are its UTF-8 form), read straight from
/// the object where the layout is known: `PyUnicode_AsUTF8AndSize` is a call into CPython that cost
/// more than scanning a token-sized chunk. They come as the last `n` bytes of a slice that starts
/// with the header's last `ascii_pad` bytes, which the parser reads with them and never parses.
pub(in crate::python) fn ascii_text<'a>(
    py: Python<'_>,
    s: &'a Bound<'_, PyString>,
) -> Option<(&'a [u8], usize)> {
    if !on(Shortcut::ReadStr) {
        return None;
    }
    let layout = layout(py)?;
    let obj = s.as_ptr();
    let (_, _, compact, ascii) = state(obj);
    if !(compact && ascii) {
        return None;
    }
    let pad = layout.ascii_pad;
    // SAFETY: a live compact ASCII `str` (a subclass's instance is never compact) has its `length`
    // characters, one byte each, from `ascii_data` on, and the `ascii_pad` bytes before them are a
    // field set when it was made (see `measure`); they live as long as `s` does, and nothing writes
    // to them while the GIL is held.
    unsafe {
        let len = read::<ffi::Py_ssize_t>(obj, LENGTH) as usize;
        let start = obj.cast::<u8>().add(layout.ascii_data - pad);
        Some((std::slice::from_raw_parts(start, pad + len), len))
    }
}

/// Longest chunk `utf8_of` encodes (4 bytes a character at most: 16 KiB of room kept).
const UTF8_OF_MAX: usize = 4096;

/// The UTF-8 form of `s`, written into `out` after `PAD` zero bytes and passed with them as its last
/// `n` bytes (as by `ascii_text`), if it is a compact non-ASCII `str` of at most `UTF8_OF_MAX`
/// characters with no surrogate (else the caller asks the public API, which raises for a surrogate).
/// `PyUnicode_AsUTF8AndSize` allocates that form and keeps it on the chunk: for a chunk fresh from
/// the network, as every chunk of a stream is, that cost ~110 ns a non-ASCII chunk on the catalog.
/// (`out` keeps its room for the parser's life, hence the limit.)
pub(in crate::python) fn utf8_of<'a>(
    py: Python<'_>,
    s: &Bound<'_, PyString>,
    out: &'a mut Vec<u8>,
) -> Option<(&'a [u8], usize)> {
    if !on(Shortcut::ReadStr) {
        return None;
    }
    let layout = layout(py)?;
    let obj = s.as_ptr();
    let (_, kind, compact, ascii) = state(obj);
    if !compact || ascii {
        return None;
    }
    // SAFETY: every `str` has its length at `LENGTH`.
    let len = unsafe { read::<ffi::Py_ssize_t>(obj, LENGTH) } as usize;
    if len > UTF8_OF_MAX {
        return None;
    }
    out.clear();
    out.resize(PAD, 0);
    out.reserve((4 * len).max(8));
    // SAFETY: a live compact `str` (a subclass's instance is never compact) has its `length`
    // characters, `kind` bytes each, from `compact_data` on; `out` has room for 4 bytes a character
    // past its `PAD` zeros, and its length is set only once they hold whole UTF-8 characters.
    unsafe {
        let base = obj.cast::<u8>().add(layout.compact_data);
        let dst = out.as_mut_ptr().add(PAD);
        // One loop per width, each writing bytes straight into room reserved once: `String::push` a
        // character at a time was ~8% of a non-ASCII chunk's instructions.
        let n = match kind {
            1 => encode(dst, len, |i| u32::from(*base.add(i))),
            2 => encode(dst, len, |i| {
                u32::from(base.cast::<u16>().add(i).read_unaligned())
            }),
            _ => encode(dst, len, |i| base.cast::<u32>().add(i).read_unaligned()),
        }?;
        out.set_len(PAD + n);
    }
    Some((out, out.len() - PAD))
}

/// Writes the UTF-8 form of the `len` code points `at` gives to `dst`; its length, or None at a
/// surrogate (no UTF-8 form). SAFETY: `dst` has room for `4 * len` bytes, and 8 at least, and the
/// 8 bytes before it are writable.
#[inline(always)]
unsafe fn encode(dst: *mut u8, len: usize, at: impl Fn(usize) -> u32) -> Option<usize> {
    let (mut n, mut surrogates, mut word) = (0, false, 0u64);
    for i in 0..len {
        let c = at(i);
        surrogates |= (0xd800..=0xdfff).contains(&c);
        let (bytes, width) = utf8::encode(c);
        // SAFETY: `n` is at most 4 bytes a character so far, so 4 more fit (the bytes past the
        // character's are overwritten by the next one, or past the length).
        unsafe { dst.add(n).cast::<[u8; 4]>().write_unaligned(bytes) };
        // (the bytes past the character's are zero; past 8 bytes, the word is not used)
        word |= u64::from(u32::from_le_bytes(bytes)) << (8 * n.min(7));
        n += width;
    }
    if n <= 8 {
        // The text again as one store, of the 8 bytes that end where it ends: the parser reads a
        // token-sized chunk as that word (see `word::last`), in a load that spans several of the
        // stores above, and such a load waits for them to reach the cache (no store forwarding):
        // ~8% of the samples of a stream of non-ASCII tokens. (The bytes before the text that it
        // also writes are zero, as they were.)
        // SAFETY: the 8 bytes ending `n` bytes past `dst` are writable.
        let drop = 4 * (8 - n) as u32;
        unsafe {
            dst.add(n)
                .sub(8)
                .cast::<u64>()
                .write_unaligned(word << drop << drop)
        };
    }
    (!surrogates).then_some(n)
}

/// SAFETY (for the readers below): `obj` is a live `str` and `at` lies inside its header.
unsafe fn read<T: Copy>(obj: *mut ffi::PyObject, at: usize) -> T {
    std::ptr::read_unaligned(obj.cast::<u8>().add(at).cast::<T>())
}

/// The state bits: interned (2 bits), kind (3), compact (1), ascii (1), as in every CPython 3.
fn state(obj: *mut ffi::PyObject) -> (u32, u32, bool, bool) {
    // SAFETY: every `str` has the state word at `STATE` (checked by `measure`).
    let s: u32 = unsafe { read(obj, STATE) };
    (s & 3, (s >> 2) & 7, (s >> 5) & 1 == 1, (s >> 6) & 1 == 1)
}

/// The four kinds of `str` by the largest code point each holds: ASCII, Latin-1, two bytes a
/// character, four. A `str` always has the narrowest kind its text fits (else `==` breaks).
const LIMITS: [u32; 4] = [0x7f, 0xff, 0xffff, 0x10ffff];

/// Which of `LIMITS` a `str` with these state bits is.
fn kind_of(kind: u32, ascii: bool) -> usize {
    match (kind, ascii) {
        (1, true) => 0,
        (1, false) => 1,
        (2, _) => 2,
        _ => 3,
    }
}

/// Decodes the whole WTF-8 character at the start of `b`: (code point, bytes), or None if cut.
/// (`write_each`'s decoder for text past a word. Built on `utf8`'s width-free decoding instead, it
/// took 910k instructions a catalog pass there, against 424k.)
fn next_char(b: &[u8]) -> Option<(u32, usize)> {
    let b0 = u32::from(*b.first()?);
    let cont = |i: usize| b.get(i).map(|&c| u32::from(c) & 0x3f);
    Some(match b0 {
        0..=0x7f => (b0, 1),
        0xc0..=0xdf => ((b0 & 0x1f) << 6 | cont(1)?, 2),
        0xe0..=0xef => ((b0 & 0x0f) << 12 | cont(1)? << 6 | cont(2)?, 3),
        _ => (
            (b0 & 0x07) << 18 | cont(1)? << 12 | cont(2)? << 6 | cont(3)?,
            4,
        ),
    })
}

/// How many characters `text` (whole WTF-8 characters) holds.
fn char_count(text: &[u8]) -> usize {
    text.iter().filter(|&&b| b & 0xc0 != 0x80).count()
}

/// The room a `str` for `len` characters is made with, beyond them. Most strings an LLM writes fit
/// in the first room: every time one outgrows it, its text is copied into a new `str`. (With 128,
/// the catalog's ~200-character descriptions each outgrew their first `str`, and a `str` that had
/// grown was too big to keep as a spare; 256 measured ~3% faster, paired, and 512 no faster.)
fn room_for(len: usize) -> usize {
    len.max(FIRST_ROOM)
}

/// The least room a growing `str` is made with (see `room_for`).
pub(in crate::python) const FIRST_ROOM: usize = 256;

/// `text` and then `room` NULs: the UTF-8 a `str` with room is made from (the NULs are ASCII, so
/// they leave its kind to the text, and end it).
fn padded(text: &[u8], room: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + room);
    out.extend_from_slice(text);
    out.resize(text.len() + room, 0);
    out
}

/// Which of `LIMITS` `text` (whole WTF-8 characters) needs, read off its largest byte with no
/// decoding: a lead byte's value orders the characters it can start (`C2`/`C3` start U+0080..U+00FF,
/// up to `EF` U+FFFF, from `F0` on the rest), and continuation bytes sort below every such lead.
fn kind_index(text: &[u8]) -> usize {
    match text.iter().copied().max().unwrap_or(0) {
        0..=0x7f => 0,
        0x80..=0xc3 => 1,
        0xc4..=0xef => 2,
        _ => 3,
    }
}

/// The last small `LiveStr` of each kind that its container let go of, to hold a later open
/// string if no one took it.
#[derive(Default)]
pub(in crate::python) struct Spares([Option<LiveStr>; 4]);

impl Spares {
    /// Keeps `s`, if small (at most twice the first room): a short string reusing a big one would
    /// pin all its room for as long as anyone keeps it.
    pub(in crate::python) fn keep(&mut self, s: LiveStr) {
        if s.cap <= 2 * FIRST_ROOM {
            let i = s.index;
            self.0[i] = Some(s);
        }
    }

    /// A spare refilled with `old`'s text and then `tail` (see `LiveStr::refill`), if one can be:
    /// for an open string that `old` has too little room or too narrow a kind for. (Widening `old`
    /// itself instead, its characters re-spaced inside memory made for four bytes a character and
    /// its header's kind changed, saved the dict store but measured no faster on the catalog, 0.997
    /// paired, and 3% faster with 5% of its non-ASCII words: not worth rewriting a live header.)
    pub(in crate::python) fn take_moved(&mut self, old: &LiveStr, tail: &[u8]) -> Option<LiveStr> {
        let index = old.index.max(kind_index(tail));
        let spare = &mut self.0[index];
        match spare.as_mut().is_some_and(|s| s.refill(index, old, tail)) {
            true => spare.take(),
            false => None,
        }
    }

    /// A spare refilled with `text` (see `LiveStr::restart`), if one can be.
    pub(in crate::python) fn take_for(&mut self, text: &[u8]) -> Option<LiveStr> {
        let index = kind_index(text);
        let spare = &mut self.0[index];
        match spare.as_mut().is_some_and(|s| s.restart(index, text)) {
            true => spare.take(),
            false => None,
        }
    }
}

/// Reads character `at` of characters `kind` bytes wide from `base`.
/// SAFETY: `at` is inside the characters of a live `str` of that kind.
#[inline(always)]
unsafe fn get(base: *const u8, kind: u32, at: usize) -> u32 {
    match kind {
        1 => u32::from(*base.add(at)),
        2 => u32::from(base.cast::<u16>().add(at).read_unaligned()),
        _ => base.cast::<u32>().add(at).read_unaligned(),
    }
}

/// Writes code point `c` as character `at` of characters `kind` bytes wide from `base`.
/// SAFETY: `at` is inside the room of a `str` no one else can see.
#[inline(always)]
unsafe fn put(base: *mut u8, kind: u32, at: usize, c: u32) {
    match kind {
        1 => *base.add(at) = c as u8,
        2 => base.cast::<u16>().add(at).write_unaligned(c as u16),
        _ => base.cast::<u32>().add(at).write_unaligned(c),
    }
}

/// Writes the 8 ASCII bytes of `w` as characters `at..at + 8` of characters `kind` bytes wide.
/// SAFETY: those 8 characters are inside the room of a `str` no one else can see.
#[inline(always)]
unsafe fn put_ascii_word(base: *mut u8, kind: u32, at: usize, w: u64) {
    #[cfg(target_arch = "x86_64")]
    {
        // SSE2 (in every x86-64) widens the bytes by interleaving them with zeros: for a 4-byte
        // kind, 6 instructions where the shifts and masks below took ~20 (callgrind).
        use std::arch::x86_64::*;
        let v = _mm_cvtsi64_si128(w as i64);
        let zero = _mm_setzero_si128();
        match kind {
            1 => base.add(at).cast::<u64>().write_unaligned(w),
            2 => _mm_storeu_si128(base.add(2 * at).cast(), _mm_unpacklo_epi8(v, zero)),
            _ => {
                let wide = _mm_unpacklo_epi8(v, zero);
                let out = base.add(4 * at).cast::<__m128i>();
                _mm_storeu_si128(out, _mm_unpacklo_epi16(wide, zero));
                _mm_storeu_si128(out.add(1), _mm_unpackhi_epi16(wide, zero));
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        // Spreads 4 bytes to 16-bit lanes, or 2 bytes to 32-bit lanes.
        let to16 = |x: u64| {
            let x = (x | x << 16) & 0x0000_ffff_0000_ffff;
            (x | x << 8) & 0x00ff_00ff_00ff_00ff
        };
        let to32 = |x: u64| (x & 0xff) | (x >> 8 & 0xff) << 32;
        let store = |at: usize, v: u64| base.add(at).cast::<u64>().write_unaligned(v);
        match kind {
            1 => store(at, w),
            2 => {
                store(2 * at, to16(w & 0xffff_ffff));
                store(2 * at + 8, to16(w >> 32));
            }
            _ => {
                for k in 0..4 {
                    store(4 * at + 8 * k, to32(w >> (16 * k)));
                }
            }
        }
    }
}

/// A `str` made with room to grow, and how much of it is in use.
pub(in crate::python) struct LiveStr {
    obj: Py<PyString>,
    /// Bytes a character (1, 2 or 4), which of `LIMITS` it is, and where the characters start:
    /// fixed for the object's life, so read once.
    kind: u32,
    index: usize,
    data: usize,
    /// Where the cached UTF-8 pointer is (None for ASCII: its characters are its UTF-8 form).
    utf8: Option<usize>,
    /// 3.10 and 3.11: where the `wchar_t` pointer and its length are, and the pointer's only
    /// allowed value (null, or the characters themselves).
    wstr: Option<(usize, usize, usize)>,
    /// Characters in use, and characters it has room for.
    len: usize,
    cap: usize,
}

impl LiveStr {
    /// A new `str` of `text` (whole WTF-8 characters; `lone`: it holds lone surrogates) with room
    /// for as many characters again (128 at least), or None where strings cannot grow in place.
    pub(in crate::python) fn new(
        py: Python<'_>,
        text: &[u8],
        lone: bool,
    ) -> PyResult<Option<LiveStr>> {
        match layout(py) {
            Some(layout) if on(Shortcut::GrowStr) => Self::make(py, layout, text, lone),
            _ => Ok(None),
        }
    }

    /// `self`'s text and then `tail` (whole WTF-8 characters) in a new `str` with room, for when
    /// `self` is full or too narrow for `tail`.
    ///
    /// Only `tail` and the room are decoded; `PyUnicode_Concat` copies `self`'s characters at the new
    /// width in C. Decoding all the text again took ~500 ns for a 100-character string widening to 4
    /// bytes a character, and the catalog's strings widen ~2,000 times; copying it a character at a
    /// time into `wchar_t`s for `PyUnicode_FromWideChar`, which checks each again, took ~2,500
    /// instructions a string.
    pub(in crate::python) fn grown(
        &self,
        py: Python<'_>,
        tail: &[u8],
    ) -> PyResult<Option<LiveStr>> {
        let Some(layout) = layout(py).filter(|_| on(Shortcut::GrowStr)) else {
            return Ok(None);
        };
        let len = self.len + char_count(tail);
        let room = room_for(len);
        // The room's NULs end the text as in `make`, and the result has the narrowest kind for its
        // characters, as every `str` must. (`surrogatepass` keeps lone surrogates from `\uD8xx`
        // escapes; it costs nothing on other text.)
        let padded = padded(tail, room);
        // SAFETY: pointer and length come from a live buffer, `self` is a live `str`; each result is
        // a new reference or NULL.
        let obj = unsafe {
            let rest = Bound::from_owned_ptr_or_err(
                py,
                ffi::PyUnicode_DecodeUTF8(
                    padded.as_ptr().cast(),
                    padded.len() as ffi::Py_ssize_t,
                    c"surrogatepass".as_ptr(),
                ),
            )?;
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyUnicode_Concat(self.obj.as_ptr(), rest.as_ptr()),
            )?
            .cast_into_unchecked::<PyString>()
        };
        Ok(Self::adopt(layout, obj, len, len + room))
    }

    fn make(py: Python<'_>, layout: Layout, text: &[u8], lone: bool) -> PyResult<Option<LiveStr>> {
        let len = char_count(text);
        let room = room_for(len);
        // NULs are ASCII: CPython picks the kind the text needs, and the room already ends the text
        // with the NUL every `str` ends with.
        let padded = padded(text, room);
        // SAFETY: pointer and length come from a live buffer; the result is a new reference or NULL.
        let obj = unsafe {
            let ptr = if lone {
                ffi::PyUnicode_DecodeUTF8(
                    padded.as_ptr().cast(),
                    padded.len() as ffi::Py_ssize_t,
                    c"surrogatepass".as_ptr(),
                )
            } else {
                ffi::PyUnicode_FromStringAndSize(padded.as_ptr().cast(), padded.len() as _)
            };
            Bound::from_owned_ptr_or_err(py, ptr)?.cast_into_unchecked::<PyString>()
        };
        Ok(Self::adopt(layout, obj, len, len + room))
    }

    /// A record of `obj`, a new `str` of `cap` characters: its text's `len` and then NULs. None if
    /// it is not laid out as measured.
    fn adopt(layout: Layout, obj: Bound<'_, PyString>, len: usize, cap: usize) -> Option<LiveStr> {
        let ptr = obj.as_ptr();
        let (_, kind, compact, ascii) = state(ptr);
        if !compact || !layout.wstr_is_data(ptr) {
            return None;
        }
        let data = layout.data(ptr) as usize - ptr as usize;
        let mut live = LiveStr {
            obj: obj.unbind(),
            kind,
            index: kind_of(kind, ascii),
            data,
            utf8: (!ascii).then_some(layout.utf8),
            // SAFETY: `w` is inside the header (checked by `measure`).
            wstr: layout
                .wstr
                .map(|(w, w_len)| (w, w_len, unsafe { read::<usize>(ptr, w) })),
            len,
            cap,
        };
        // SAFETY: a fresh, private `str` with `cap` characters: shortening it is what CPython's own
        // resize does before it reallocates (the room's NULs end it already).
        unsafe { live.set_len(len) };
        Some(live)
    }

    /// The `str` itself.
    pub(in crate::python) fn get(&self) -> &Py<PyString> {
        &self.obj
    }

    /// Whether only `refs` references exist (its container's and this record's, or this record's
    /// alone), and nothing is cached on it: then no one can see it change but through the container.
    #[inline(always)]
    fn private(&self, refs: ffi::Py_ssize_t) -> bool {
        let obj = self.obj.as_ptr();
        // SAFETY: `obj` is a live `str`; the offsets were checked by `measure`.
        unsafe {
            ffi::Py_REFCNT(obj) == refs
                // (interning hashes a string, so the hash check covers it too)
                && state(obj).0 == 0
                && read::<ffi::Py_hash_t>(obj, HASH) == -1
                && self.utf8.is_none_or(|u| read::<usize>(obj, u) == 0)
                && self.wstr.is_none_or(|(w, _, allowed)| read::<usize>(obj, w) == allowed)
        }
    }

    /// Sets the length to `len` characters (and the `wchar_t` form's, where that is the
    /// characters). SAFETY: the `str` is private and has room for `len` characters.
    unsafe fn set_len(&mut self, len: usize) {
        let obj = self.obj.as_ptr().cast::<u8>();
        obj.add(LENGTH)
            .cast::<ffi::Py_ssize_t>()
            .write_unaligned(len as ffi::Py_ssize_t);
        if let Some((_, w_len, allowed)) = self.wstr {
            if allowed != 0 {
                obj.add(w_len)
                    .cast::<ffi::Py_ssize_t>()
                    .write_unaligned(len as ffi::Py_ssize_t);
            }
        }
        self.len = len;
    }

    /// A new `str` of exactly its text: `PyUnicode_Substring` of its first `len` characters, which
    /// copies them at their own width (it finds the kind by scanning only until the widest character
    /// it can meet). The limited API's decoders it replaces went a character at a time: a 200-character
    /// string with an emoji took ~400 ns in `PyUnicode_FromWideChar`, ~8% of such a stream.
    pub(in crate::python) fn exact<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        let obj = self.obj.as_ptr();
        let len = self.len as ffi::Py_ssize_t;
        let length = |n: ffi::Py_ssize_t| {
            // SAFETY: every `str` has its length at `LENGTH`.
            unsafe {
                obj.cast::<u8>()
                    .add(LENGTH)
                    .cast::<ffi::Py_ssize_t>()
                    .write_unaligned(n)
            }
        };
        // A substring as long as the whole `str` would be the `str` itself, so for the call its length
        // takes in the NUL after the text (every `str` has room for it). No Python code runs inside
        // the call (a `str` is not tracked by the garbage collector, so allocating one starts no
        // collection), so nothing can see that length.
        length(len + 1);
        // SAFETY: a live `str` of `len + 1` characters; the result is a new reference or NULL.
        let ptr = unsafe { ffi::PyUnicode_Substring(obj, 0, len) };
        length(len);
        // SAFETY: as above.
        unsafe { Ok(Bound::from_owned_ptr_or_err(py, ptr)?.cast_into_unchecked()) }
    }

    /// Whether someone besides its container and this record holds it.
    pub(in crate::python) fn shared(&self) -> bool {
        // SAFETY: a live object.
        unsafe { ffi::Py_REFCNT(self.obj.as_ptr()) > 2 }
    }

    /// Appends the last `n` bytes of `text` (whole WTF-8 characters) in place; false (and nothing
    /// changed) if the `str` is not private (see `private`), lacks room, or is of a kind too narrow
    /// for the new characters. The caller has checked that its container still holds it. (The bytes
    /// before them are only read with them: see `write`.)
    #[inline(always)]
    pub(in crate::python) fn append(&mut self, text: &[u8], n: usize) -> bool {
        self.private(2) && self.write(self.len, text, n)
    }

    /// Makes this `str`, which its last container has let go of, hold `text` (which needs the kind
    /// `index` of `LIMITS`) instead, to be put in the next one: false (and nothing changed) unless
    /// it is this record's alone, has room, and its kind is exactly that one (a `str` always has the
    /// narrowest kind for its text). Reusing one spares the allocation, and the first touch of new
    /// memory, per string an LLM writes.
    fn restart(&mut self, index: usize, text: &[u8]) -> bool {
        self.index == index && self.private(1) && self.write(0, text, text.len())
    }

    /// `restart` with `old`'s text and then `tail`: `old`'s characters are copied at this one's
    /// width, and only `tail` is decoded. No allocation: on the catalog, a chunk moving a string
    /// from 2 to 4 bytes a character took ~1,230 ns (its whole text decoded into a new `str`), and
    /// takes ~490 ns this way.
    fn refill(&mut self, index: usize, old: &LiveStr, tail: &[u8]) -> bool {
        if !(self.index == index && old.index <= index && old.len < self.cap && self.private(1)) {
            return false;
        }
        // SAFETY: `old` has `len` characters of its kind; this `str` has room for `cap` (more) of
        // its own kind, as wide or wider, and no one else can see it.
        unsafe {
            let (from, to) = (old.base(), self.base());
            for i in 0..old.len {
                put(to, self.kind, i, get(from, old.kind, i));
            }
        }
        // (if `tail` does not fit, the text ends after `old`'s: nothing anyone can see)
        self.write(old.len, tail, tail.len())
    }

    /// Writes the last `n` bytes of `text` at character `at` and ends the text after it; false (and
    /// nothing changed) if they do not fit. A token's few bytes are read with the text before them,
    /// as one word (see `word::last`). The caller has checked that no one else can see the `str`.
    #[inline]
    fn write(&mut self, at: usize, text: &[u8], n: usize) -> bool {
        let tail = &text[text.len() - n..];
        // SAFETY: the `str` has room for `cap` characters plus its NUL, each `kind` bytes wide, from
        // its data on; no one else can see it (checked by the caller); its length is raised last.
        if tail.len() <= 8 && at + 8 <= self.cap {
            // The common case: a token's few characters, with room for a whole word of them and the
            // NUL after the text (all 8 characters, as a full word can end at `at + 8`). ASCII goes in
            // as one word, widened to the kind, with no loop (its unpredictable end was two branch
            // misses a chunk).
            let w = word::last(text, n);
            if w & word::HIGH == 0 {
                unsafe {
                    put_ascii_word(self.base(), self.kind, at, w);
                    self.finish(at + tail.len());
                }
                return true;
            }
            return self.write_small(at, w, tail.len());
        }
        self.write_each(at, tail)
    }

    /// `write` for a token of `n` bytes (8 at most, in `w`) with a non-ASCII character, where there
    /// is room for 8 characters: each character is decoded with no branch on its width (in mixed
    /// text such as ` мир j` the width changes unpredictably, a branch miss a character), and the
    /// kind is checked once, on the widest. (Copying a `str` chunk's characters straight from it
    /// instead, with no UTF-8 to decode, made a stream of 4-character Cyrillic tokens 17% faster
    /// but the catalog 3% slower, paired: its chunks' kinds vary, and the copy's dispatch on the
    /// pair of kinds missed where this decode has no branch on the text.)
    #[inline(never)]
    fn write_small(&mut self, at: usize, w: u64, n: usize) -> bool {
        let base = self.base();
        // SAFETY: at most 8 characters from `at`, inside the room (checked by `write`); past the
        // length, so no one sees them until `finish` counts them.
        let (end, max) = unsafe {
            match self.kind {
                1 => utf8::decode_small(w, n, |i, c| *base.add(at + i) = c as u8),
                2 => utf8::decode_small(w, n, |i, c| {
                    base.cast::<u16>().add(at + i).write_unaligned(c as u16)
                }),
                _ => utf8::decode_small(w, n, |i, c| {
                    base.cast::<u32>().add(at + i).write_unaligned(c)
                }),
            }
        };
        // Too wide for the kind: the text ends where it was.
        let fits = max <= LIMITS[self.index];
        // SAFETY: as above.
        unsafe { self.finish(if fits { at + end } else { at }) };
        fits
    }

    /// `write` a character at a time, decoding as it goes: a character too wide for the kind, or no
    /// room left, ends the text where it was (past the length, nothing is visible) and refuses.
    #[inline(never)]
    fn write_each(&mut self, at: usize, tail: &[u8]) -> bool {
        let (kind, limit) = (self.kind, LIMITS[self.index]);
        // SAFETY: as in `write`.
        unsafe {
            let base = self.base();
            if tail.is_ascii() {
                // A byte a character, each fits any kind. (A loop: a call to `memcpy` cost more than
                // the copy for the few bytes a chunk brings.)
                if at + tail.len() > self.cap {
                    return false;
                }
                for (i, &b) in tail.iter().enumerate() {
                    put(base, kind, at + i, u32::from(b));
                }
                self.finish(at + tail.len());
                return true;
            }
            let mut end = at;
            let mut rest = tail;
            while let Some((c, w)) = next_char(rest) {
                if c > limit || end >= self.cap {
                    self.finish(at);
                    return false;
                }
                put(base, kind, end, c);
                end += 1;
                rest = &rest[w..];
            }
            if !rest.is_empty() {
                // A cut character (never passed in): refuse it as well.
                self.finish(at);
                return false;
            }
            self.finish(end);
        }
        true
    }

    /// Ends the text at `len` characters (its NUL, its length). SAFETY: as for `append`'s writers.
    unsafe fn finish(&mut self, len: usize) {
        put(self.base(), self.kind, len, 0);
        self.set_len(len);
    }

    /// Where the characters start.
    fn base(&self) -> *mut u8 {
        // SAFETY: `data` is inside the object (measured on it when it was made).
        unsafe { self.obj.as_ptr().cast::<u8>().add(self.data) }
    }
}

/// Measures and checks the layout of `str` on this interpreter; None if anything is unexpected.
fn measure(py: Python<'_>) -> Option<Layout> {
    // (Only called on the interpreters `cpython::init` accepts: the checks below see the layout,
    // not every way a later CPython might use a `str`, a new cache say.)
    let check = || -> PyResult<Option<Layout>> {
        // An ASCII string's characters are its UTF-8 form: the public API hands out their address.
        let probe = PyString::new(py, "unspool layout probe");
        let obj = probe.as_ptr();
        let mut size: ffi::Py_ssize_t = 0;
        // SAFETY: a live `str`; the result points into it (or is NULL on error).
        let data = unsafe { ffi::PyUnicode_AsUTF8AndSize(obj, &mut size) };
        if data.is_null() {
            return Err(PyErr::fetch(py));
        }
        let ascii_data = data as usize - obj as usize;
        // 3.10 and 3.11 have a `wchar_t` pointer after the state, and a length for it after the
        // UTF-8 pointer; 3.12 removed both.
        let (wstr, extra) = match ascii_data {
            48 => (Some((40, ascii_data + 16)), 24),
            40 => (None, 16),
            _ => return Ok(None),
        };
        let layout = Layout {
            ascii_data,
            compact_data: ascii_data + extra,
            utf8: ascii_data + 8,
            wstr,
            ascii_pad: match wstr {
                Some((at, _)) if at + PAD == ascii_data => PAD,
                _ => 0,
            },
        };
        // SAFETY: reads inside the header of live `str` objects, at offsets every CPython 3 has.
        let fields_ok = unsafe {
            read::<ffi::Py_ssize_t>(obj, LENGTH) == size
                && read::<ffi::Py_hash_t>(obj, HASH) == -1
                && ffi::PyObject_Hash(obj) == read::<ffi::Py_hash_t>(obj, HASH)
                && state(obj) == (0, 1, true, true)
                && wstr.is_none_or(|(w, _)| read::<*const u8>(obj, w).is_null())
        };
        if !fields_ok {
            return Ok(None);
        }
        // Interning sets the state's low bits.
        let unique = format!("unspool layout probe {:p}", obj);
        // SAFETY: `s` is a new reference that `PyUnicode_InternInPlace` may replace.
        let interned_ok = unsafe {
            let mut s = ffi::PyUnicode_FromStringAndSize(unique.as_ptr().cast(), unique.len() as _);
            if s.is_null() {
                return Err(PyErr::fetch(py));
            }
            let fresh = state(s).0 == 0;
            ffi::PyUnicode_InternInPlace(&mut s);
            let marked = state(s).0 != 0;
            ffi::Py_DECREF(s);
            fresh && marked
        };
        if !interned_ok {
            return Ok(None);
        }
        // Every kind: the characters where the layout says, the UTF-8 pointer unset until asked for.
        for (text, kind, ascii) in [
            ("abc", 1, true),
            ("\u{e9}t\u{e9}", 1, false),
            ("\u{3a9}x\u{3a9}", 2, false),
            ("\u{1f600}y\u{1f600}", 4, false),
        ] {
            let s = PyString::new(py, text);
            let obj = s.as_ptr();
            if state(obj) != (0, kind, true, ascii) || !layout.wstr_is_data(obj) {
                return Ok(None);
            }
            if let Some((w, w_len)) = layout.wstr {
                // SAFETY: header fields of a live `str` on 3.10 and 3.11.
                let (w, w_len) = unsafe { (read::<*const u8>(obj, w), read::<isize>(obj, w_len)) };
                if !w.is_null() && w_len != text.chars().count() as isize {
                    return Ok(None);
                }
            }
            let base = layout.data(obj) as usize - obj as usize;
            for (i, c) in text.chars().enumerate() {
                // SAFETY: `i` is inside the string's characters, each `kind` bytes wide.
                let raw = unsafe {
                    match kind {
                        1 => u32::from(read::<u8>(obj, base + i)),
                        2 => u32::from(read::<u16>(obj, base + 2 * i)),
                        _ => read::<u32>(obj, base + 4 * i),
                    }
                };
                if raw != u32::from(c) {
                    return Ok(None);
                }
            }
            if !ascii {
                // SAFETY: as above; `PyUnicode_AsUTF8AndSize` caches the UTF-8 form in the string.
                let cached = unsafe {
                    let before = read::<*const u8>(obj, layout.utf8).is_null();
                    let utf8 = ffi::PyUnicode_AsUTF8AndSize(obj, &mut size);
                    before && !utf8.is_null() && read::<*const u8>(obj, layout.utf8) == utf8.cast()
                };
                if !cached {
                    return Ok(None);
                }
            }
        }
        // End to end: grow a probe of every kind in place and compare it with the same text made
        // the usual way (equality, hash, length, UTF-8 form).
        for (head, tail) in [
            ("head ", "and tail"),
            ("t\u{ea}te ", "\u{e0} queue"),
            ("\u{3a9} ", "\u{3a9}\u{3a9} end"),
            ("\u{1f600} ", "smile \u{1f600}"),
        ] {
            let Some(mut live) = LiveStr::make(py, layout, head.as_bytes(), false)? else {
                return Ok(None);
            };
            // A bare `LiveStr` has one reference; `private` expects its container's too.
            let container = live.get().clone_ref(py);
            let grew = live.append(tail.as_bytes(), tail.len());
            drop(container);
            let whole = format!("{head}{tail}");
            let made = PyString::new(py, &whole);
            let grown = live.get().bind(py);
            if !grew
                || !grown.as_any().eq(&made)?
                || grown.hash()? != made.hash()?
                || grown.len()? != whole.chars().count()
                || grown.to_str()? != whole
            {
                return Ok(None);
            }
        }
        Ok(Some(layout))
    };
    check().ok().flatten()
}
