//! Object keys seen recently, so a key an LLM writes again (every item of a list of objects repeats
//! the same few) reuses one `str` instead of decoding a new one.
//!
//! `json.loads` memoizes keys for the same reason. A reused key also has its hash cached, so the dict
//! it goes into does not hash it again.

use pyo3::prelude::*;
use pyo3::types::PyString;

/// Slots in the cache: a schema's keys are a few dozen at most.
const SLOTS: usize = 64;
/// Longer keys are rare and cost more to compare than to decode.
const MAX_LEN: usize = 32;

/// A key's UTF-8 bytes and its `str`.
type Entry = (Box<[u8]>, Py<PyString>);

/// A direct-mapped cache from a key's UTF-8 bytes to its `str`.
#[derive(Default)]
pub(super) struct Keys {
    slots: Vec<Option<Entry>>,
}

/// Which slot `key` lives in: its length and first and last two bytes mixed.
fn slot(key: &[u8]) -> usize {
    let n = key.len();
    let edge = |i: usize| u64::from(key[i]);
    let h = (n as u64)
        ^ edge(0) << 8
        ^ edge(n / 2) << 16
        ^ edge(n - 1) << 24
        ^ edge(n.saturating_sub(2)) << 32;
    (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % SLOTS
}

impl Keys {
    /// The `str` for `key` (whole UTF-8 characters), from the cache or made by `make` and kept.
    pub(super) fn get<'py>(
        &mut self,
        py: Python<'py>,
        key: &[u8],
        make: impl FnOnce() -> PyResult<Bound<'py, PyString>>,
    ) -> PyResult<Bound<'py, PyString>> {
        if key.is_empty() || key.len() > MAX_LEN {
            return make();
        }
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        let entry = &mut self.slots[slot(key)];
        if let Some((bytes, s)) = entry {
            if **bytes == *key {
                return Ok(s.bind(py).clone());
            }
        }
        let s = make()?;
        *entry = Some((key.into(), s.clone().unbind()));
        Ok(s)
    }
}
