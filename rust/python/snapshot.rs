//! Building partial-object snapshots in one call: the partial-model layer's per-chunk hot path.
//!
//! The Python engine describes the open path as a list of level specs (root first); this walks it from
//! the innermost level out, making fresh objects along the path and sharing every closed value. Doing
//! it here rather than in Python took a Catalog snapshot (list → model → string) from ~5 µs to ~1 µs.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};
use pyo3::{ffi, intern};

/// Level kinds, the first item of each spec tuple.
const MODEL: u8 = 0;
const LIST: u8 = 1;
const DICT: u8 = 2;
const ROOT_MODEL: u8 = 3;

/// Sets slot `value` on `obj` through the slot's descriptor, as `object.__setattr__` would but without
/// looking the name up in the type's MRO each time: a model level went from ~580 to ~490 ns.
fn set_slot(
    obj: &Bound<'_, PyAny>,
    descr: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
) -> PyResult<()> {
    // SAFETY: `descr` is a live descriptor object; its type's `tp_descr_set` takes (descr, obj, value)
    // and does not steal references. A NULL slot means the descriptor cannot be set.
    let rc = unsafe {
        let slot = ffi::PyType_GetSlot(ffi::Py_TYPE(descr.as_ptr()), ffi::Py_tp_descr_set);
        if slot.is_null() {
            return Err(PyValueError::new_err("not a settable descriptor"));
        }
        let set: ffi::descrsetfunc = std::mem::transmute(slot);
        set(descr.as_ptr(), obj.as_ptr(), value.as_ptr())
    };
    if rc < 0 {
        return Err(PyErr::fetch(obj.py()));
    }
    Ok(())
}

/// A pydantic model instance made without validation: `values` become its `__dict__`. `setters` are
/// the descriptors of `__dict__`, `__pydantic_fields_set__`, `__pydantic_extra__`,
/// `__pydantic_private__` and `_unspool_done`, in that order.
fn make_model<'py>(
    py: Python<'py>,
    cls: &Bound<'py, PyAny>,
    values: &Bound<'py, PyDict>,
    fields_set: &Bound<'py, PyAny>,
    done: &Bound<'py, PyAny>,
    setters: &Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyAny>> {
    let ty = cls.cast::<PyType>()?;
    // SAFETY: `ty` is a live type object; GenericAlloc returns a new (GC-tracked) reference or NULL.
    // It skips `object.__new__`'s call machinery: ~60 ns of the ~450 ns a model level costs.
    let obj =
        unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyType_GenericAlloc(ty.as_type_ptr(), 0))? };
    let none = py.None().into_bound(py);
    let slots = [values.as_any(), fields_set, &none, &none, done];
    for (i, value) in slots.into_iter().enumerate() {
        let descr = setters.get_item(i)?;
        // None: the class holds a plain value there (RootModel's `__pydantic_extra__ = None`).
        if !descr.is_none() {
            set_slot(&obj, &descr, value)?;
        }
    }
    Ok(obj)
}

/// Builds the partial value of the open path described by `specs`; `child` is the innermost open
/// value (an open string), or None when nothing inside the innermost level is visible.
///
/// Spec tuples: `(0, cls, shown, done, open_name, not_null, fields_set, setters, marker)` a model
/// (`shown`: every field's value but the open one's; `marker`: its `_unspool_done`);
/// `(1, done)` a list; `(2, done, open_key)` a dict; `(3, cls, fields_set, setters)` a RootModel
/// around the next level. `setters`: see `make_model`. Returns None if the root is held back.
pub fn build<'py>(
    py: Python<'py>,
    specs: &Bound<'py, PyList>,
    mut child: Option<Bound<'py, PyAny>>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    for spec in specs.iter().rev() {
        let spec = spec.cast_into::<PyTuple>()?;
        let kind: u8 = spec.get_item(0)?.extract()?;
        child = match kind {
            MODEL => {
                let cls = spec.get_item(1)?;
                let done = spec.get_item(3)?.cast_into::<PyDict>()?;
                let open_name = spec.get_item(4)?;
                let values = spec.get_item(2)?.cast_into::<PyDict>()?.copy()?;
                if let Some(c) = &child {
                    if !open_name.is_none() {
                        values.set_item(&open_name, c)?;
                    }
                }
                let mut held = false;
                for name in spec.get_item(5)?.cast_into::<PyTuple>()?.iter() {
                    let arriving = child.is_some() && name.eq(&open_name)?;
                    if !arriving && !done.contains(&name)? {
                        held = true;
                        break;
                    }
                }
                if held {
                    None
                } else {
                    Some(make_model(
                        py,
                        &cls,
                        &values,
                        &spec.get_item(6)?,
                        &spec.get_item(8)?,
                        &spec.get_item(7)?.cast_into::<PyTuple>()?,
                    )?)
                }
            }
            LIST => {
                let done = spec.get_item(1)?.cast_into::<PyList>()?;
                let out = done.get_slice(0, done.len());
                if let Some(c) = &child {
                    out.append(c)?;
                }
                Some(out.into_any())
            }
            DICT => {
                let done = spec.get_item(1)?.cast_into::<PyDict>()?;
                let out = done.copy()?;
                if let Some(c) = &child {
                    out.set_item(spec.get_item(2)?, c)?;
                }
                Some(out.into_any())
            }
            ROOT_MODEL => match child {
                Some(c) => {
                    let values = PyDict::new(py);
                    values.set_item(intern!(py, "root"), c)?;
                    let empty = PyTuple::new(
                        py,
                        [
                            PyDict::new(py).into_any(),
                            0usize.into_pyobject(py)?.into_any(),
                        ],
                    )?;
                    Some(make_model(
                        py,
                        &spec.get_item(1)?,
                        &values,
                        &spec.get_item(2)?,
                        empty.as_any(),
                        &spec.get_item(3)?.cast_into::<PyTuple>()?,
                    )?)
                }
                None => None,
            },
            other => return Err(PyValueError::new_err(format!("unknown level kind {other}"))),
        };
    }
    Ok(child)
}

/// Python entry point: `build_partial(specs, child)` (child None: nothing open inside the innermost level).
#[pyfunction]
pub fn build_partial<'py>(
    py: Python<'py>,
    specs: &Bound<'py, PyList>,
    child: Option<Bound<'py, PyAny>>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    build(py, specs, child)
}

static PARTIAL_MIXIN: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Nesting deeper than this is left to `==` itself, which guards its own recursion.
const SAME_DEPTH: u32 = 64;

/// True if two values inside snapshots are equal, as `==` on their containers would say (which takes
/// the same object as equal to itself).
///
/// Consecutive snapshots share every closed value, so most of this is identity checks; partial objects
/// are compared by their fields here instead of through their Python `__eq__`, which took ~10% of a
/// Catalog stream's instructions when the engine checked each new snapshot against the last.
fn same(
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    mixin: &Bound<'_, PyType>,
    depth: u32,
) -> PyResult<bool> {
    if a.is(b) {
        return Ok(true);
    }
    let ty = a.get_type();
    if depth > SAME_DEPTH || !ty.is(b.get_type()) {
        return a.eq(b);
    }
    // Exact types only: a subclass may define equality its own way.
    if a.is_exact_instance_of::<PyList>() {
        // SAFETY: both were just checked to be exactly `list`.
        let (x, y) = unsafe { (a.cast_unchecked::<PyList>(), b.cast_unchecked::<PyList>()) };
        return same_lists(x, y, mixin, depth);
    }
    if a.is_exact_instance_of::<PyDict>() {
        // SAFETY: both were just checked to be exactly `dict`.
        let (x, y) = unsafe { (a.cast_unchecked::<PyDict>(), b.cast_unchecked::<PyDict>()) };
        return same_dicts(x, y, mixin, depth);
    }
    // SAFETY: both are live type objects. (`PyType_IsSubtype` reads the MRO; `issubclass` would go
    // through the models' ABC metaclass.)
    if unsafe { ffi::PyType_IsSubtype(ty.as_type_ptr(), mixin.as_type_ptr()) } != 0 {
        let name = intern!(a.py(), "__dict__");
        let (x, y) = (a.getattr(name)?, b.getattr(name)?);
        return same_dicts(x.cast::<PyDict>()?, y.cast::<PyDict>()?, mixin, depth);
    }
    a.eq(b)
}

fn same_lists(
    x: &Bound<'_, PyList>,
    y: &Bound<'_, PyList>,
    mixin: &Bound<'_, PyType>,
    depth: u32,
) -> PyResult<bool> {
    if x.len() != y.len() {
        return Ok(false);
    }
    let py = x.py();
    // From the end: what changed between two snapshots is nearly always the last item (the open one),
    // so a changed 200-item list is told apart at once. The rest are the very same closed values, so a
    // check of the borrowed pointers decides without reference counting.
    for i in (0..x.len()).rev() {
        // SAFETY: both lists are alive; out of range (a comparison's Python code shrank one) gives NULL
        // with IndexError set, raised below.
        let (u, v) = unsafe {
            (
                ffi::PyList_GetItem(x.as_ptr(), i as ffi::Py_ssize_t),
                ffi::PyList_GetItem(y.as_ptr(), i as ffi::Py_ssize_t),
            )
        };
        if u.is_null() || v.is_null() {
            return Err(PyErr::fetch(py));
        }
        if u != v {
            // SAFETY: both are live items; `from_borrowed_ptr` owns a reference before anything runs.
            let (u, v) = unsafe {
                (
                    Bound::from_borrowed_ptr(py, u),
                    Bound::from_borrowed_ptr(py, v),
                )
            };
            if !same(&u, &v, mixin, depth + 1)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

fn same_dicts(
    x: &Bound<'_, PyDict>,
    y: &Bound<'_, PyDict>,
    mixin: &Bound<'_, PyType>,
    depth: u32,
) -> PyResult<bool> {
    if x.len() != y.len() {
        return Ok(false);
    }
    let py = x.py();
    // Snapshot dicts are copies of one dict of shown values, so their keys come in the same order:
    // walk both at once, and look keys up only where the orders part.
    let (mut i, mut j) = (0 as ffi::Py_ssize_t, 0 as ffi::Py_ssize_t);
    let (mut k1, mut v1, mut k2, mut v2) = (
        std::ptr::null_mut(),
        std::ptr::null_mut(),
        std::ptr::null_mut(),
        std::ptr::null_mut(),
    );
    // SAFETY: both dicts are alive; each entry is owned (`from_borrowed_ptr`) before any call that
    // could run Python code (a lookup hashes, a comparison calls `__eq__`). `PyDict_Next` stays
    // memory-safe even if such code changed a dict.
    while unsafe { ffi::PyDict_Next(x.as_ptr(), &mut i, &mut k1, &mut v1) } != 0 {
        let (key, u) = unsafe {
            (
                Bound::from_borrowed_ptr(py, k1),
                Bound::from_borrowed_ptr(py, v1),
            )
        };
        let v =
            if unsafe { ffi::PyDict_Next(y.as_ptr(), &mut j, &mut k2, &mut v2) } != 0 && k1 == k2 {
                unsafe { Bound::from_borrowed_ptr(py, v2) }
            } else {
                match y.get_item(&key)? {
                    Some(v) => v,
                    None => return Ok(false),
                }
            };
        if !same(&u, &v, mixin, depth + 1)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The stream's "did the visible partial change?" test: `a == b`, faster on snapshots.
pub fn same_value(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<bool> {
    if a.is(b) {
        return a.eq(b); // `==` on one object is its own business (NaN is not equal to itself)
    }
    let mixin = PARTIAL_MIXIN.import(a.py(), "unspool.partial", "_PartialMixin")?;
    same(a, b, mixin, 0)
}

/// Python entry point: `same_partial(a, b)`.
#[pyfunction]
pub fn same_partial(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<bool> {
    same_value(a, b)
}
