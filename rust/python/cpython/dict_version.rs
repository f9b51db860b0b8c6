//! The version tag CPython 3.10 to 3.13 keeps in every `dict` (PEP 509), which changes whenever the
//! dict does.
//!
//! Before the open string grows in place, the parser checks that its dict still holds it: a consumer
//! may have taken it out or put something else there. A lookup for that cost ~115 instructions a
//! chunk, a tenth of all a token-sized chunk costs on the catalog. If the tag is the one the dict had
//! when the string was last known to be there, nothing changed the dict since, and no lookup is needed.
//!
//! The tag is not part of the stable ABI (3.12 deprecated it; 3.14 changed what it counts). Its place
//! is checked once, at first use, by changing a probe dict every way the C API can and watching the
//! tag change each time; on any other interpreter, or if a check fails, every check is a lookup.

use super::{on, Shortcut};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Where the entry count and the version tag are, after the object header, in 3.10 to 3.13.
const USED: usize = 16;
const TAG: usize = 24;

/// Whether dicts here have their entry count and tag where 3.10 to 3.13 have them (checked at
/// import, by `cpython::init`).
pub(super) fn layout_matches(py: Python<'_>) -> bool {
    measure(py)
}

/// The version tag of `d`, or None where the shortcut is off.
#[inline(always)]
pub(in crate::python) fn of(d: &Py<PyDict>) -> Option<u64> {
    // SAFETY: `d` is a live dict, which has its tag at `TAG` where `measure` found it at import.
    on(Shortcut::DictTag).then(|| unsafe { tag(d.as_ptr()) })
}

/// `d[key] = value` by a builder that keeps `mine`: the dict's tag right after its last store into
/// `d`, while every change to `d` has been one of its stores that `store` calls clean (None once one
/// was not, or where tags cannot be read). `replaces_str`: the caller knows that, if `d` is as its
/// last store left it, `value` replaces an exact `str` it put there.
///
/// A store is clean if the dict is as the builder's last store left it (its tag is `mine`), and the
/// store added the key, or replaced such a `str`. Then all the dict's keys are the builder's exact
/// `str`s, whose comparisons run no Python code, and no value whose finalizer could have changed the
/// dict again was let go of: the tag after it is one at which `d` holds `value`, and a check against
/// it needs no lookup (~120 instructions, ~5,000 times a catalog pass).
pub(in crate::python) fn store(
    mine: &mut Option<u64>,
    d: &Bound<'_, PyDict>,
    key: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
    replaces_str: bool,
) -> PyResult<()> {
    let p = d.as_ptr();
    // SAFETY: (all three) `d` is a live dict, with its count and tag where `measure` found them
    // (`mine` is only ever Some where it did).
    let before = mine
        .filter(|&t| unsafe { tag(p) } == t)
        .map(|_| unsafe { used(p) });
    *mine = None;
    d.set_item(key, value)?;
    if let Some(n) = before {
        let now = unsafe { used(p) };
        if now == n + 1 || (replaces_str && now == n) {
            *mine = Some(unsafe { tag(p) });
        }
    }
    Ok(())
}

/// SAFETY: `d` is a live dict on an interpreter whose layout `measure` accepted (or is measuring).
unsafe fn tag(d: *mut ffi::PyObject) -> u64 {
    unsafe { d.cast::<u8>().add(TAG).cast::<u64>().read_unaligned() }
}

/// SAFETY: as for `tag`.
unsafe fn used(d: *mut ffi::PyObject) -> isize {
    unsafe { d.cast::<u8>().add(USED).cast::<isize>().read_unaligned() }
}

/// Whether this interpreter's dicts have an entry count and a version tag where 3.10 to 3.13 have
/// them, the tag changing on every change to a probe dict.
fn measure(py: Python<'_>) -> bool {
    let check = || -> PyResult<bool> {
        let d = PyDict::new(py);
        let other = PyDict::new(py);
        // SAFETY: reads inside the header of a live dict (every dict is at least this large).
        let now = || unsafe { (tag(d.as_ptr()), used(d.as_ptr())) };
        // Each step must change the tag and leave the entry count it names.
        let mut last = now();
        let mut ok = last.1 == 0;
        let mut step = |expect_used: isize| {
            let (was, next) = (last.0, now());
            last = next;
            next.0 != was && next.1 == expect_used
        };
        d.set_item("a", 1)?;
        ok &= step(1);
        // A new value for a key already there.
        d.set_item("a", 2)?;
        ok &= step(1);
        d.set_item("b", 4)?;
        ok &= step(2);
        // Growth past the first table moves every entry.
        for i in 0..64 {
            d.set_item(i, i)?;
        }
        ok &= step(66);
        d.del_item("a")?;
        ok &= step(65);
        other.set_item("a", 3)?;
        d.update(other.as_mapping())?;
        ok &= step(66);
        d.clear();
        ok &= step(0);
        // A change to another dict leaves this one's tag.
        let before = now().0;
        other.set_item("c", 5)?;
        ok &= now().0 == before;
        Ok(ok)
    };
    check().unwrap_or(false)
}
