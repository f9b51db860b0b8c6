//! The reads behind the `reuse_snapshots` shortcut: reference counts, an instance's weak reference
//! list, and a list's item array.
//!
//! A snapshot object may be refilled for the next yield only if nothing outside the stream can reach
//! it. On 3.10 to 3.13 a reference count that equals the stream's own references says so (3.14's
//! interpreter may hold borrowed references that no count shows, hence the gate), and a weak
//! reference would not show in the count, so its list head is read too. Measured gain: see README
//! ("CPython internals").

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::{on, Shortcut};

/// Whether `obj` has exactly `n` references. Only meaningful while the shortcut is on (see above).
#[inline(always)]
pub(in crate::python) fn held_only_by(obj: *mut ffi::PyObject, n: ffi::Py_ssize_t) -> bool {
    // SAFETY: callers pass live objects; the count is read as `sys.getrefcount` reads it.
    on(Shortcut::ReuseSnapshots) && unsafe { ffi::Py_REFCNT(obj) } == n
}

/// True if `obj` has weak references (`weaklist`: its class's `__weakrefoffset__`): a weak reference
/// could reach it later without counting as a reference now.
pub(in crate::python) fn has_weakrefs(obj: *mut ffi::PyObject, weaklist: isize) -> bool {
    // SAFETY: a nonzero `__weakrefoffset__` is where every instance keeps the head of its weak
    // reference list, a `PyObject *` that is NULL while it has none (before the object, at a negative
    // offset, for classes whose weak references CPython 3.12 and 3.13 manage); CPython finds it the
    // same way.
    weaklist != 0
        && unsafe {
            !(*(obj
                .cast::<u8>()
                .offset(weaklist)
                .cast::<*mut ffi::PyObject>()))
            .is_null()
        }
}

/// The item pointers of a list, read straight from CPython's list object (the `ob_item` array just
/// after the variable-size header, a layout unchanged since Python 2), or None where the shortcut is
/// off. Comparing two such arrays is a `memcmp`: the rich comparison of two 200-item lists took
/// ~2,400 instructions, more than copying them.
pub(in crate::python) fn list_items<'a>(
    list: &'a Bound<'_, PyList>,
) -> Option<&'a [*mut ffi::PyObject]> {
    // SAFETY: the layout was checked at import (`layout_matches`); the slice lives as long as
    // `list` is not changed.
    on(Shortcut::ReuseSnapshots).then(|| unsafe { raw_items(list) })
}

/// Whether two item arrays hold the same pointers, as one `memcmp` (a loop over raw pointers is not).
pub(in crate::python) fn same_items(a: &[*mut ffi::PyObject], b: &[*mut ffi::PyObject]) -> bool {
    let bytes = |items: &[*mut ffi::PyObject]| {
        // SAFETY: any initialized memory can be read as bytes; the length is the same memory's.
        unsafe {
            std::slice::from_raw_parts(items.as_ptr().cast::<u8>(), std::mem::size_of_val(items))
        }
    };
    bytes(a) == bytes(b)
}

/// SAFETY: `list` must be a live list with CPython's `PyListObject` layout.
unsafe fn raw_items<'a>(list: &'a Bound<'_, PyList>) -> &'a [*mut ffi::PyObject] {
    let obj = list.as_ptr();
    let len = ffi::Py_SIZE(obj) as usize;
    if len == 0 {
        return &[];
    }
    let ob_item = *(obj
        .cast::<u8>()
        .add(std::mem::size_of::<ffi::PyVarObject>())
        as *const *mut *mut ffi::PyObject);
    std::slice::from_raw_parts(ob_item, len)
}

/// Whether lists keep their items where `raw_items` reads them, and counts and weak reference
/// lists read as expected, on probes (at import, by `cpython::init`).
pub(super) fn layout_matches(py: Python<'_>) -> bool {
    let check = || -> PyResult<bool> {
        let probe = PyList::new(py, [py.None(), PyDict::new(py).into_any().unbind()])?;
        // SAFETY: reads the probe as the layout says; checked against the API's own answers.
        let got = unsafe { raw_items(&probe) };
        let items_ok =
            got.len() == 2 && (0..2).all(|i| probe.get_item(i).is_ok_and(|v| v.as_ptr() == got[i]));
        // A new object held here alone counts one reference (what `sys.getrefcount` reports, less
        // its argument's).
        let fresh = PyDict::new(py);
        // SAFETY: a live object.
        let count_ok = unsafe { ffi::Py_REFCNT(fresh.as_ptr()) } == 1;
        // A weak reference shows in the list head of a class that takes them.
        let weakref = py.import("weakref")?;
        let probe_cls = py.eval(c"type('UnspoolProbe', (), {})", None, None)?;
        let obj = probe_cls.call0()?;
        let offset: isize = probe_cls.getattr("__weakrefoffset__")?.extract()?;
        let before = has_weakrefs(obj.as_ptr(), offset);
        let r = weakref.getattr("ref")?.call1((&obj,))?;
        let during = has_weakrefs(obj.as_ptr(), offset);
        drop(r);
        let after = has_weakrefs(obj.as_ptr(), offset);
        Ok(items_ok && count_ok && offset != 0 && !before && during && !after)
    };
    check().unwrap_or(false)
}
