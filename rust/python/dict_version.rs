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

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

/// Where the entry count and the version tag are, after the object header, in 3.10 to 3.13.
const USED: usize = 16;
const TAG: usize = 24;

static READABLE: PyOnceLock<bool> = PyOnceLock::new();

/// Whether dicts' tags can be read here (measures the layout on first use).
#[inline(always)]
pub(super) fn readable(py: Python<'_>) -> bool {
    *READABLE.get_or_init(py, || measure(py))
}

/// The version tag of `d`, or None where it cannot be read here.
#[inline(always)]
pub(super) fn of(py: Python<'_>, d: &Py<PyDict>) -> Option<u64> {
    // SAFETY: `d` is a live dict, which has its tag at `TAG` where `measure` found it there.
    readable(py).then(|| unsafe { tag(d.as_ptr()) })
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
    let v = py.version_info();
    if !((3, 10)..(3, 14)).contains(&(v.major, v.minor)) {
        return false;
    }
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
