//! Building partial-object snapshots in one call: the partial-model layer's per-chunk hot path.
//!
//! The Python engine describes the open path as a list of level specs (root first); this walks it from
//! the innermost level out, making fresh objects along the path and sharing every closed value. Doing
//! it here rather than in Python took a Catalog snapshot (list → model → string) from ~5 µs to ~1 µs.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};
use pyo3::{ffi, intern};

use super::cpython::{on, refs, Shortcut};
use super::records;

/// A slot's descriptor with its type's `tp_descr_set`, looked up once per spec rather than per object.
struct Setter {
    descr: Py<PyAny>,
    set: ffi::descrsetfunc,
}

/// Checks that every item of `setters` is a settable descriptor (or None), as `Setter::all` needs.
pub(super) fn check_setters(setters: &Bound<'_, PyTuple>) -> PyResult<()> {
    Setter::all(setters).map(drop)
}

impl Setter {
    /// The setters of a spec's `setters` tuple; None where the class holds a plain value instead
    /// (RootModel's `__pydantic_extra__ = None`).
    fn all(setters: &Bound<'_, PyTuple>) -> PyResult<Vec<Option<Setter>>> {
        let mut out = Vec::with_capacity(setters.len());
        for descr in setters.iter() {
            if descr.is_none() {
                out.push(None);
                continue;
            }
            // SAFETY: `descr` is a live object; `PyType_GetSlot` reads its type's slot (NULL: none).
            let slot =
                unsafe { ffi::PyType_GetSlot(ffi::Py_TYPE(descr.as_ptr()), ffi::Py_tp_descr_set) };
            if slot.is_null() {
                return Err(PyValueError::new_err("not a settable descriptor"));
            }
            // SAFETY: a non-NULL `Py_tp_descr_set` slot is a `descrsetfunc`.
            let set: ffi::descrsetfunc = unsafe { std::mem::transmute(slot) };
            out.push(Some(Setter {
                descr: descr.unbind(),
                set,
            }));
        }
        Ok(out)
    }
}

/// A pydantic model instance made without validation: `values` become its `__dict__`. `setters` are
/// those of `__dict__`, `__pydantic_fields_set__`, `__pydantic_extra__`, `__pydantic_private__` and
/// `_unspool_done`, in that order.
fn make_model<'py>(
    py: Python<'py>,
    cls: &Bound<'py, PyType>,
    values: &Bound<'py, PyDict>,
    fields_set: &Bound<'py, PyAny>,
    done: &Bound<'py, PyAny>,
    setters: &[Option<Setter>],
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: `cls` is a live type object; GenericAlloc returns a new (GC-tracked) reference or NULL.
    // It skips `object.__new__`'s call machinery: ~60 ns of the ~450 ns a model level costs.
    let obj = unsafe {
        Bound::from_owned_ptr_or_err(py, ffi::PyType_GenericAlloc(cls.as_type_ptr(), 0))?
    };
    let none = py.None().into_bound(py);
    set_slots(
        &obj,
        setters,
        &[values.as_any(), fields_set, &none, &none, done],
    )?;
    Ok(obj)
}

/// One level of the open path, read from its spec tuple once.
enum Level {
    Model(ModelLevel),
    List {
        done: Py<PyList>,
    },
    Dict {
        done: Py<PyDict>,
        open_key: Py<PyAny>,
    },
    RootModel {
        cls: Py<PyType>,
        fields_set: Py<PyAny>,
        setters: Vec<Option<Setter>>,
    },
}

/// A partial object on the open path: what it shows and how it is made.
struct ModelLevel {
    cls: Py<PyType>,
    shown: Py<PyDict>,
    done: Py<PyDict>,
    open_name: Option<Py<PyAny>>,
    not_null: Vec<Py<PyAny>>,
    fields_set: Py<PyAny>,
    setters: Vec<Option<Setter>>,
    marker: Py<PyAny>,
    /// Where an instance keeps its weak references, from its start (0: it cannot have any; negative
    /// since Python 3.12, where CPython keeps them before the object).
    weaklist: isize,
}

impl ModelLevel {
    /// This level's object around `child` (None if a NotNull field holds it back): `rec`'s refilled
    /// when `refill`, else a new one that `rec` then records.
    fn build<'py>(
        &self,
        py: Python<'py>,
        child: Option<&Bound<'py, PyAny>>,
        rec: &mut Made,
        refill: bool,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let arriving = match (child, &self.open_name) {
            (Some(_), Some(name)) => Some(name.bind(py)),
            _ => None,
        };
        // What goes into the open field (nothing if there is no field to put it in).
        let placing = arriving.and(child);
        let done = self.done.bind(py);
        for name in &self.not_null {
            let name = name.bind(py);
            let comes = match arriving {
                Some(a) => name.eq(a)?,
                None => false,
            };
            if !comes && !done.contains(name)? {
                *rec = Made::Other;
                return Ok(None);
            }
        }
        let marker = self.marker.bind(py);
        if let (Made::Model(r), true) = (&mut *rec, refill) {
            refill_model(r, self.shown.bind(py), arriving, placing)?;
            let obj = r.obj.bind(py).clone();
            // Of its other slots only `_unspool_done` changes between snapshots; pydantic's own three
            // hold the same shared values in every partial object, and only `object.__setattr__` on a
            // dunder name could change them. Setting all four cost ~300 instructions a level.
            if !r.marker.is(marker) {
                set_slots(&obj, self.setters.get(4..).unwrap_or_default(), &[marker])?;
                r.marker = marker.clone().unbind();
            }
            return Ok(Some(obj));
        }
        let values = self.shown.bind(py).copy()?;
        if let (Some(c), Some(name)) = (placing, arriving) {
            values.set_item(name, c)?;
        }
        let obj = make_model(
            py,
            self.cls.bind(py),
            &values,
            self.fields_set.bind(py),
            marker,
            &self.setters,
        )?;
        *rec = Made::Model(ModelMade {
            obj: obj.clone().unbind(),
            values: values.unbind(),
            shown: self.shown.clone_ref(py),
            placed: arriving.map(|n| n.clone().unbind()),
            child: placing.map(|c| c.clone().unbind()),
            marker: marker.clone().unbind(),
        });
        Ok(Some(obj))
    }
}

/// The open path's levels, root first, as the Python engine's records describe them (see
/// `records`). Reading the records once per structural change, not once per chunk, saves ~2% of a
/// Catalog stream's instructions.
pub struct Levels(Vec<Level>);

impl Levels {
    pub fn parse(specs: &Bound<'_, PyList>) -> PyResult<Levels> {
        let py = specs.py();
        let mut levels = Vec::with_capacity(specs.len());
        for spec in specs.iter() {
            levels.push(if let Ok(m) = spec.cast::<records::ModelLevel>() {
                let m = m.get();
                let cls = m.cls.bind(py);
                let weaklist: isize = cls.getattr(intern!(py, "__weakrefoffset__"))?.extract()?;
                Level::Model(ModelLevel {
                    weaklist,
                    cls: m.cls.clone_ref(py),
                    shown: m.shown.clone_ref(py),
                    done: m.done.clone_ref(py),
                    open_name: m.open_name.as_ref().map(|n| n.clone_ref(py)),
                    not_null: m.not_null.bind(py).iter().map(Bound::unbind).collect(),
                    fields_set: m.fields_set.clone_ref(py),
                    setters: Setter::all(m.setters.bind(py))?,
                    marker: m.marker.clone_ref(py),
                })
            } else if let Ok(l) = spec.cast::<records::ListLevel>() {
                Level::List {
                    done: l.get().done.clone_ref(py),
                }
            } else if let Ok(d) = spec.cast::<records::DictLevel>() {
                let d = d.get();
                Level::Dict {
                    done: d.done.clone_ref(py),
                    open_key: d.open_key.clone_ref(py),
                }
            } else if let Ok(r) = spec.cast::<records::RootModelLevel>() {
                let r = r.get();
                Level::RootModel {
                    cls: r.cls.clone_ref(py),
                    fields_set: r.fields_set.clone_ref(py),
                    setters: Setter::all(r.setters.bind(py))?,
                }
            } else {
                return Err(PyTypeError::new_err(format!(
                    "a level is a ModelLevel, ListLevel, DictLevel or RootModelLevel, not {}",
                    spec.get_type().name()?
                )));
            });
        }
        Ok(Levels(levels))
    }

    /// Every object the levels hold, for the garbage collector (finished values among them, and a
    /// validator may keep a reference back to the stream).
    pub fn objects(&self) -> impl Iterator<Item = &Py<PyAny>> {
        self.0.iter().flat_map(|level| {
            let objs: Vec<&Py<PyAny>> = match level {
                Level::Model(m) => [
                    m.cls.as_any(),
                    m.shown.as_any(),
                    m.done.as_any(),
                    &m.fields_set,
                    &m.marker,
                ]
                .into_iter()
                .chain(&m.open_name)
                .chain(&m.not_null)
                .chain(m.setters.iter().flatten().map(|s| &s.descr))
                .collect(),
                Level::List { done } => vec![done.as_any()],
                Level::Dict { done, open_key } => vec![done.as_any(), open_key],
                Level::RootModel {
                    cls,
                    fields_set,
                    setters,
                } => [cls.as_any(), fields_set]
                    .into_iter()
                    .chain(setters.iter().flatten().map(|s| &s.descr))
                    .collect(),
            };
            objs
        })
    }

    /// Moves the innermost level on after the core took in plain members itself: a model's `closed`
    /// fields (name, value) join its shown values, `marker` is its new `_unspool_done` and `open_name`
    /// the field now open. A list's finished items are the list itself, so it has nothing to change.
    pub fn moved_on(
        &mut self,
        py: Python<'_>,
        closed: &[(Bound<'_, PyAny>, Bound<'_, PyAny>)],
        marker: Bound<'_, PyAny>,
        open: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        if let Some(Level::Model(m)) = self.0.last_mut() {
            if !closed.is_empty() {
                let values = m.shown.bind(py).copy()?;
                for (name, value) in closed {
                    values.set_item(name, value)?;
                }
                m.shown = values.unbind();
            }
            m.marker = marker.unbind();
            m.open_name = open.map(Bound::unbind);
        }
        Ok(())
    }

    /// `new == old` for two snapshots of these levels when only the innermost level's inputs differ
    /// (the core moved the innermost frame on by itself): the levels above hold the same finished
    /// values around the same child, so only the innermost objects are compared. That skips checking
    /// every finished item of each open list by pointer, a cost that grew with the document. Anything
    /// not of the expected shape gets the full comparison.
    pub fn same_snapshots(&self, new: &Bound<'_, PyAny>, old: &Bound<'_, PyAny>) -> PyResult<bool> {
        let py = new.py();
        let (mut a, mut b) = (new.clone(), old.clone());
        let outer = self.0.len().saturating_sub(1);
        for level in &self.0[..outer] {
            let next = match level {
                Level::List { .. } => match (a.cast::<PyList>(), b.cast::<PyList>()) {
                    (Ok(x), Ok(y)) if x.len() != y.len() => return Ok(false),
                    (Ok(x), Ok(y)) if !x.is_empty() => {
                        Some((x.get_item(x.len() - 1)?, y.get_item(y.len() - 1)?))
                    }
                    _ => None,
                },
                Level::Model(ModelLevel {
                    open_name: Some(name),
                    ..
                }) => child_pair(&a, &b, Some(name.bind(py)))?,
                Level::RootModel { .. } => child_pair(&a, &b, None)?,
                _ => None,
            };
            match next {
                // One object in both (a default, or an item both lists hold): the rest is the same.
                Some((x, y)) if x.is(&y) => return Ok(true),
                Some((x, y)) => (a, b) = (x, y),
                None => return same_value(new, old),
            }
        }
        // Inside two snapshots, one object counts as equal to itself, as `==` on their containers says.
        Ok(a.is(&b) || same_value(&a, &b)?)
    }

    /// The partial value of the open path: new objects along it (or refilled `spares`), sharing every
    /// closed value. `child` is the innermost open value (an open string), or None when nothing inside
    /// the innermost level is visible. Returns None if the root is held back (a NotNull field has no
    /// value yet).
    pub fn build<'py>(
        &self,
        py: Python<'py>,
        mut child: Option<Bound<'py, PyAny>>,
        mut spares: Option<&mut Spares>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        // Without the shortcut, every build makes new objects (the portable twin).
        if !on(Shortcut::ReuseSnapshots) {
            spares = None;
        }
        let (slot, mut chain) = match spares.as_deref_mut() {
            Some(sp) => sp.take_free(),
            None => (0, Vec::new()),
        };
        let reuse = self.reusable(py, &chain);
        // The chain's records are rewritten in place, one per level: refilled objects keep theirs.
        chain.truncate(self.0.len());
        chain.resize_with(self.0.len(), || Made::Other);
        for (i, level) in self.0.iter().enumerate().rev() {
            let refill = i < reuse;
            child = match level {
                Level::Model(m) => m.build(py, child.as_ref(), &mut chain[i], refill)?,
                Level::List { done } => {
                    let done = done.bind(py);
                    match &mut chain[i] {
                        Made::List(rec) if refill => {
                            refill_list(rec, done, child.as_ref())?;
                            Some(rec.obj.bind(py).clone().into_any())
                        }
                        _ => {
                            let out = done.get_slice(0, done.len());
                            if let Some(c) = &child {
                                out.append(c)?;
                            }
                            chain[i] = Made::List(ListMade {
                                obj: out.clone().unbind(),
                                n: done.len(),
                                child: child.as_ref().map(|c| c.clone().unbind()),
                            });
                            Some(out.into_any())
                        }
                    }
                }
                Level::Dict { done, open_key } => {
                    chain[i] = Made::Other;
                    let out = done.bind(py).copy()?;
                    if let Some(c) = &child {
                        out.set_item(open_key, c)?;
                    }
                    Some(out.into_any())
                }
                Level::RootModel {
                    cls,
                    fields_set,
                    setters,
                } => {
                    chain[i] = Made::Other;
                    match child {
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
                                cls.bind(py),
                                &values,
                                fields_set.bind(py),
                                empty.as_any(),
                                setters,
                            )?)
                        }
                        None => None,
                    }
                }
            };
        }
        if let Some(sp) = spares {
            sp.keep(slot, chain);
        }
        Ok(child)
    }

    /// How many levels of an earlier snapshot's chain (root first) this build may refill: those whose
    /// objects only the stream still holds, from the root down. A level's object qualifies if its
    /// class and kind match and its references are exactly the stream's own: its record's, and below
    /// the root also its parent's slot and the parent's record of what it placed there (a list parent
    /// is checked to still hold it). Nothing outside can ever reach it again, so changing it cannot be
    /// told from making a new one (CPython reuses the result tuples of `zip` and `dict.items()`
    /// iterators on the same grounds). The first level that fails ends the reuse: everything below it
    /// is reachable through it.
    fn reusable(&self, py: Python<'_>, chain: &[Made]) -> usize {
        let mut k = 0;
        for (i, (level, made)) in self.0.iter().zip(chain).enumerate() {
            let own: ffi::Py_ssize_t = if i == 0 { 1 } else { 3 };
            let obj = match made {
                Made::Model(m) => m.obj.as_ptr(),
                Made::List(l) => l.obj.as_ptr(),
                Made::Other => break,
            };
            // SAFETY: `obj` is alive (its record holds it).
            if !refs::held_only_by(obj, own) || (i > 0 && !holds(py, &chain[i - 1], obj)) {
                break;
            }
            let fits = match (level, made) {
                (Level::Model(ModelLevel { cls, weaklist, .. }), Made::Model(m)) => {
                    // SAFETY: `obj` is alive; its type pointer is read as `type(obj)` would.
                    let same_type = unsafe { ffi::Py_TYPE(obj) } == cls.as_ptr().cast();
                    // Its `__dict__` must still be the one the build filled (assigning an attribute
                    // gives a partial object a copy first: see `partial.py`), and be its alone: the
                    // object's reference, the record's and the one taken here.
                    same_type
                        && !refs::has_weakrefs(obj, *weaklist)
                        && instance_dict(m.obj.bind(py)).is_ok_and(|d| {
                            d.is(m.values.bind(py)) && refs::held_only_by(d.as_ptr(), 3)
                        })
                }
                (Level::List { .. }, Made::List(_)) => true,
                _ => false,
            };
            if !fits {
                break;
            }
            k += 1;
        }
        k
    }
}

/// True if `parent`, an earlier snapshot's object one level up, still holds `child` where the build
/// put it: then one of `child`'s references is its parent's.
fn holds(py: Python<'_>, parent: &Made, child: *mut ffi::PyObject) -> bool {
    match parent {
        Made::Model(m) => match (&m.placed, &m.child) {
            (Some(name), Some(c)) if c.as_ptr() == child => {
                // SAFETY: live objects; a borrowed reference (or NULL), compared, not kept.
                unsafe { ffi::PyDict_GetItem(m.values.as_ptr(), name.as_ptr()) == child }
            }
            _ => false,
        },
        Made::List(l) => {
            l.child.as_ref().is_some_and(|c| c.as_ptr() == child)
                && refs::list_items(l.obj.bind(py))
                    .is_some_and(|a| a.last().copied() == Some(child))
        }
        Made::Other => false,
    }
}

/// Brings `list`, which the last build filled with the first `rec.n` items of `done` and then its
/// child, to hold all of `done` and then `child` (and the record with it): the old child goes, the items that finished since
/// come. That its first items are still `done`'s own is checked by comparing the two item arrays as
/// pointers; if not (its holder changed it while it was shown) it is refilled whole. In the common
/// case, nothing finished and the child is the same refilled object, nothing changes.
fn refill_list<'py>(
    rec: &mut ListMade,
    done: &Bound<'py, PyList>,
    child: Option<&Bound<'py, PyAny>>,
) -> PyResult<()> {
    let list = rec.obj.bind(done.py());
    let (n, now) = (rec.n, done.len());
    let same_start = match (refs::list_items(list), refs::list_items(done)) {
        (Some(a), Some(b)) => n <= now && a.len() >= n && refs::same_items(&a[..n], &b[..n]),
        _ => false,
    };
    if same_start && n == now {
        let held = refs::list_items(list).map(|a| &a[n..]);
        let wanted = child.map(|c| c.as_ptr());
        if held.is_some_and(|h| {
            h.len() == usize::from(wanted.is_some()) && h.first().copied() == wanted
        }) {
            return Ok(());
        }
    }
    let from = if same_start { n } else { 0 };
    // SAFETY: a live list; `PyList_SetSlice` releases what it removes.
    unsafe {
        if ffi::PyList_SetSlice(
            list.as_ptr(),
            from as ffi::Py_ssize_t,
            ffi::PY_SSIZE_T_MAX,
            std::ptr::null_mut(),
        ) < 0
        {
            return Err(PyErr::fetch(list.py()));
        }
    }
    for i in from..now {
        list.append(done.get_item(i)?)?;
    }
    if let Some(c) = child {
        list.append(c)?;
    }
    rec.n = now;
    rec.child = child.map(|c| c.clone().unbind());
    Ok(())
}

/// Brings a refilled partial object's `__dict__` (`values`, which the last build filled as `rec`
/// records) to `shown` plus `child` under `placed`, and the record with it. While the object's level stays as it was (the same
/// shown values, the child in the same field: every chunk that only grows a string) that is one
/// item set, or none; otherwise the dict is refilled whole.
///
/// This trusts that nothing wrote into the dict in place while it was shown: assigning or deleting
/// an attribute gives a partial object a copy of its dict first (see `partial.py`), which `reusable`
/// notices, and adding or removing keys changes its size, which is checked here. Only writing an
/// existing key straight into `vars(obj)` would go unnoticed; the README says not to.
fn refill_model(
    rec: &mut ModelMade,
    shown: &Bound<'_, PyDict>,
    placed: Option<&Bound<'_, PyAny>>,
    child: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let py = shown.py();
    let values = rec.values.bind(py);
    let same_place = match (&rec.placed, placed) {
        (None, _) => true,
        (Some(a), Some(b)) => a.is(b),
        (Some(_), None) => false,
    };
    let same_child = rec.child.as_ref().map(|w| w.as_ptr()) == child.map(|c| c.as_ptr());
    if rec.shown.is(shown) && same_place && values.len() == shown.len() {
        if let (Some(name), Some(c), false) = (placed, child, same_child) {
            // SAFETY: live objects; `PyDict_SetItem` takes its own references.
            if unsafe { ffi::PyDict_SetItem(values.as_ptr(), name.as_ptr(), c.as_ptr()) } < 0 {
                return Err(PyErr::fetch(py));
            }
        }
    } else {
        values.clear();
        values.update(shown.as_mapping())?;
        if let (Some(name), Some(c)) = (placed, child) {
            values.set_item(name, c)?;
        }
        rec.shown = shown.clone().unbind();
    }
    if !same_child {
        rec.child = child.map(|c| c.clone().unbind());
    }
    if rec.placed.as_ref().map(|w| w.as_ptr()) != placed.map(|c| c.as_ptr()) {
        rec.placed = placed.map(|c| c.clone().unbind());
    }
    Ok(())
}

/// Sets a partial object's slots through `setters` (see `make_model`), each to its value in `values`.
fn set_slots(
    obj: &Bound<'_, PyAny>,
    setters: &[Option<Setter>],
    values: &[&Bound<'_, PyAny>],
) -> PyResult<()> {
    for (setter, value) in setters.iter().zip(values) {
        if let Some(s) = setter {
            // SAFETY: `set` is the descriptor's own `tp_descr_set`; it takes (descr, obj, value) and
            // does not steal references.
            if unsafe { (s.set)(s.descr.as_ptr(), obj.as_ptr(), value.as_ptr()) } < 0 {
                return Err(PyErr::fetch(obj.py()));
            }
        }
    }
    Ok(())
}

/// What a build made for one level, kept so that a later build can refill it (see `Levels::reusable`).
pub enum Made {
    Model(ModelMade),
    List(ListMade),
    /// Not refilled: dicts, RootModels, a level held back.
    Other,
}

/// A partial object, with what the build put in it: its `__dict__` (`values`), filled from `shown`,
/// with `child` under field `placed`; `marker` is its `_unspool_done`.
pub struct ModelMade {
    obj: Py<PyAny>,
    values: Py<PyDict>,
    shown: Py<PyDict>,
    placed: Option<Py<PyAny>>,
    child: Option<Py<PyAny>>,
    marker: Py<PyAny>,
}

/// A list of the first `n` finished items, then `child`.
pub struct ListMade {
    obj: Py<PyList>,
    n: usize,
    child: Option<Py<PyAny>>,
}

/// The objects of the last two snapshots built, root first. While a consumer holds the newest, the
/// other is usually free again: refilling it instead of making new objects saves a new object per open
/// level and, above all, a copy of every open list's finished items, a cost that grew with the
/// document.
#[derive(Default)]
pub struct Spares {
    chains: [Vec<Made>; 2],
    last: usize,
}

impl Spares {
    /// A chain whose root only this holds (or, if none, the older one, to be replaced), and its slot.
    fn take_free(&mut self) -> (usize, Vec<Made>) {
        let free = (0..2).find(|&k| {
            let root = match self.chains[k].first() {
                Some(Made::Model(m)) => m.obj.as_ptr(),
                Some(Made::List(l)) => l.obj.as_ptr(),
                _ => return false,
            };
            refs::held_only_by(root, 1)
        });
        let slot = free.unwrap_or(1 - self.last);
        (slot, std::mem::take(&mut self.chains[slot]))
    }

    fn keep(&mut self, slot: usize, chain: Vec<Made>) {
        self.chains[slot] = chain;
        self.last = slot;
    }

    /// Every object held, for the garbage collector.
    pub fn objects(&self) -> impl Iterator<Item = &Py<PyAny>> {
        self.chains.iter().flatten().flat_map(|m| {
            let objs: [Option<&Py<PyAny>>; 6] = match m {
                Made::Model(m) => [
                    Some(&m.obj),
                    Some(m.values.as_any()),
                    Some(m.shown.as_any()),
                    m.placed.as_ref(),
                    m.child.as_ref(),
                    Some(&m.marker),
                ],
                Made::List(l) => [
                    Some(l.obj.as_any()),
                    l.child.as_ref(),
                    None,
                    None,
                    None,
                    None,
                ],
                Made::Other => [None; 6],
            };
            objs.into_iter().flatten()
        })
    }
}

/// The values of field `name` (a RootModel's `root` when None) in two partial objects, if both have it.
fn child_pair<'py>(
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    name: Option<&Bound<'py, PyAny>>,
) -> PyResult<Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
    let py = a.py();
    let root = intern!(py, "root").clone().into_any();
    let name = name.unwrap_or(&root);
    let (Ok(x), Ok(y)) = (instance_dict(a), instance_dict(b)) else {
        return Ok(None);
    };
    Ok(match (x.get_item(name)?, y.get_item(name)?) {
        (Some(u), Some(v)) => Some((u, v)),
        _ => None,
    })
}

/// A partial object's `__dict__`, read without the attribute lookup (pydantic models have a
/// `__getattr__` hook that every `getattr` passes through first).
fn instance_dict<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    // SAFETY: `obj` is alive; the result is a new reference or NULL with an exception set.
    let d = unsafe {
        Bound::from_owned_ptr_or_err(
            obj.py(),
            ffi::PyObject_GenericGetDict(obj.as_ptr(), std::ptr::null_mut()),
        )?
    };
    Ok(d.cast_into::<PyDict>()?)
}

/// Builds the partial value of the open path described by `specs` (see [`Levels`]).
pub fn build<'py>(
    py: Python<'py>,
    specs: &Bound<'py, PyList>,
    child: Option<Bound<'py, PyAny>>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    Levels::parse(specs)?.build(py, child, None)
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
    exact: bool,
) -> PyResult<bool> {
    if a.is(b) {
        return Ok(true);
    }
    let ty = a.get_type();
    if depth > SAME_DEPTH {
        return a.eq(b);
    }
    if !ty.is(b.get_type()) {
        // A partial object and its model's instance compare by their fields (a part that closed as it
        // was shown), unless `exact`; other values of two types are two values (`1` is not `True`).
        let partial = |t: &Bound<'_, PyType>| {
            // SAFETY: both are live type objects.
            unsafe { ffi::PyType_IsSubtype(t.as_type_ptr(), mixin.as_type_ptr()) != 0 }
        };
        return if !exact && (partial(&ty) || partial(&b.get_type())) {
            a.eq(b)
        } else {
            Ok(false)
        };
    }
    // Exact types only: a subclass may define equality its own way.
    if a.is_exact_instance_of::<PyList>() {
        // SAFETY: both were just checked to be exactly `list`.
        let (x, y) = unsafe { (a.cast_unchecked::<PyList>(), b.cast_unchecked::<PyList>()) };
        return same_lists(x, y, mixin, depth, exact);
    }
    if a.is_exact_instance_of::<PyDict>() {
        // SAFETY: both were just checked to be exactly `dict`.
        let (x, y) = unsafe { (a.cast_unchecked::<PyDict>(), b.cast_unchecked::<PyDict>()) };
        return same_dicts(x, y, mixin, depth, exact);
    }
    // SAFETY: both are live type objects. (`PyType_IsSubtype` reads the MRO; `issubclass` would go
    // through the models' ABC metaclass.)
    if unsafe { ffi::PyType_IsSubtype(ty.as_type_ptr(), mixin.as_type_ptr()) } != 0 {
        let (x, y) = (instance_dict(a)?, instance_dict(b)?);
        return same_dicts(&x, &y, mixin, depth, exact);
    }
    a.eq(b)
}

fn same_lists(
    x: &Bound<'_, PyList>,
    y: &Bound<'_, PyList>,
    mixin: &Bound<'_, PyType>,
    depth: u32,
    exact: bool,
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
            if !same(&u, &v, mixin, depth + 1, exact)? {
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
    exact: bool,
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
        if !same(&u, &v, mixin, depth + 1, exact)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The stream's "did the visible partial change?" test: `a == b`, faster on snapshots.
pub fn same_value(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<bool> {
    same_shown(a, b, false)
}

/// `same_value`; with `exact`, a partial object also differs from its model's finished instance.
fn same_shown(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>, exact: bool) -> PyResult<bool> {
    if a.is(b) {
        return a.eq(b); // `==` on one object is its own business (NaN is not equal to itself)
    }
    let mixin = PARTIAL_MIXIN.import(a.py(), "unspool.partial", "_PartialMixin")?;
    same(a, b, mixin, 0, exact)
}

/// Python entry point: `same_partial(a, b, /, exact=False)`: `exact` tells a finished object from a
/// partial one showing the same values (the stream's final yield).
#[pyfunction]
#[pyo3(signature = (a, b, /, exact=false))]
pub fn same_partial(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>, exact: bool) -> PyResult<bool> {
    same_shown(a, b, exact)
}
