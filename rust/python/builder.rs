//! The sink that builds Python objects: closed values once, when they close; containers on the open
//! path as live `dict`/`list` objects that later feeds append to; the open string's `str`, grown in
//! place where the `grow_str` shortcut allows (see `cpython::live_str`).

use std::cell::Cell;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::cpython::live_str::{LiveStr, Spares};
use super::keys::Keys;
use crate::parser::{JsonStr, Parser, Sink};

pub(super) enum Node {
    Dict(Py<PyDict>),
    List(Py<PyList>),
}

/// A container on the open path.
pub(super) struct Frame {
    pub(super) obj: Node,
    /// The key whose value comes next (dicts only).
    pub(super) key: Option<Py<PyString>>,
    /// How many values this container holds.
    pub(super) len: usize,
    /// Where this container sits in its parent: its key or index (`None` for the root).
    pub(super) at: Option<Py<PyAny>>,
}

/// Where the open string will go in its parent.
pub(super) struct OpenString {
    pub(super) key: Option<Py<PyString>>,
    pub(super) index: usize,
    /// Whether a `str` for it is already in the parent (or is the root).
    pub(super) attached: bool,
    /// Byte length of the text last put in the parent, and that `str`.
    pub(super) shown: usize,
    pub(super) shown_str: Shown,
    /// Whether someone besides the parent held the last `str` made with room to grow: then the
    /// next ones are made exact (each would be copied anyway, and room would be wasted).
    pub(super) taken: bool,
    /// Byte length visible at the end of the last feed (for `feed`'s return value).
    pub(super) seen: usize,
}

/// The open string's `str` in its parent.
pub(super) enum Shown {
    None,
    Exact(Py<PyString>),
    /// Made with room to grow in place (see `live_str`).
    Live(LiveStr),
}

impl Shown {
    pub(super) fn get(&self) -> Option<&Py<PyString>> {
        match self {
            Shown::None => None,
            Shown::Exact(s) => Some(s),
            Shown::Live(l) => Some(l.get()),
        }
    }
}

/// The root value, where CPython reads it: `Parser.value` is a member descriptor at this field's offset
/// (see `value_member`), so reading it is one pointer load with no call into Rust. A getter call cost
/// ~40 ns a read, more than the whole budget a chunk has for building the value.
#[repr(transparent)]
pub(super) struct RootSlot(Cell<Option<Py<PyAny>>>);

// SAFETY: only read or written with the GIL held (every call into the binding holds it, and so does
// CPython when it reads the slot). That is what a GIL guarantees; a free-threaded build has none, and
// the binding does not build for one (see `mod.rs`).
#[cfg(not(Py_GIL_DISABLED))]
unsafe impl Send for RootSlot {}
#[cfg(not(Py_GIL_DISABLED))]
unsafe impl Sync for RootSlot {}

impl RootSlot {
    pub(super) fn none(py: Python<'_>) -> Self {
        RootSlot(Cell::new(Some(py.None())))
    }

    pub(super) fn get(&self, py: Python<'_>) -> Py<PyAny> {
        // SAFETY: no other reference to the cell's contents exists while this one lives (GIL held).
        match unsafe { &*self.0.as_ptr() } {
            Some(v) => v.clone_ref(py),
            None => py.None(),
        }
    }

    /// The value's address (null before anything is visible), to compare with.
    pub(super) fn ptr(&self) -> *mut pyo3::ffi::PyObject {
        // SAFETY: as in `get`.
        match unsafe { &*self.0.as_ptr() } {
            Some(v) => v.as_ptr(),
            None => std::ptr::null_mut(),
        }
    }

    /// Visits the value, for the garbage collector.
    pub(super) fn visit(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        // SAFETY: as in `get` (the collector holds the GIL).
        match unsafe { &*self.0.as_ptr() } {
            Some(v) => visit.call(v),
            None => Ok(()),
        }
    }

    /// Replaces the value; the old one is released only after the slot holds the new one, so code
    /// that runs while it is freed never reads a dangling pointer.
    pub(super) fn set(&self, v: Py<PyAny>) {
        drop(self.0.replace(Some(v)));
    }
}

pub(super) struct Builder {
    pub(super) root: RootSlot,
    pub(super) frames: Vec<Frame>,
    pub(super) open: Option<OpenString>,
    pub(super) changed: bool,
    /// Count of parser events (everything but string growth): unchanged means only the open string grew.
    pub(super) events: u64,
    /// Count of containers opened and closed: unchanged means the open containers are the same ones.
    pub(super) containers: u64,
    /// A Python error raised while building (e.g. an integer too long for `int()`).
    pub(super) error: Option<PyErr>,
    /// Whether the open string's `str` may be grown in place (see `live_str`): not for one-shot
    /// parsing, where it would only waste room, nor for the partial layer, whose snapshots share it.
    pub(super) grow: bool,
    /// Such `str`s that their containers let go of, for later open strings.
    pub(super) spares: Spares,
    /// Recent object keys' `str`s, for keys written again.
    pub(super) keys: Keys,
    /// Open dicts in which a key came again since the partial layer last looked (see `repeat`), kept
    /// only for it (`track_repeats`).
    pub(super) repeated: Vec<Py<PyDict>>,
    pub(super) track_repeats: bool,
}

pub(super) struct PySink<'a, 'py> {
    pub(super) py: Python<'py>,
    pub(super) b: &'a mut Builder,
}

pub(super) fn wtf8_to_py<'py>(py: Python<'py>, s: JsonStr<'_>) -> PyResult<Bound<'py, PyString>> {
    decode(py, s.wtf8(), s.has_lone_surrogates())
}

/// Makes a `str` from whole UTF-8 characters (WTF-8 when `lone_surrogates`).
pub(super) fn decode<'py>(
    py: Python<'py>,
    bytes: &[u8],
    lone_surrogates: bool,
) -> PyResult<Bound<'py, PyString>> {
    match lone_surrogates {
        // SAFETY: callers pass whole characters of text the parser validated.
        false => Ok(PyString::new(py, unsafe {
            std::str::from_utf8_unchecked(bytes)
        })),
        true => {
            // Lone surrogates: decode as `json.loads` keeps them.
            // SAFETY: pointer and length come from a live slice; the result is a new reference.
            unsafe {
                let ptr = pyo3::ffi::PyUnicode_DecodeUTF8(
                    bytes.as_ptr().cast(),
                    bytes.len() as pyo3::ffi::Py_ssize_t,
                    c"surrogatepass".as_ptr(),
                );
                Ok(Bound::from_owned_ptr_or_err(py, ptr)?.cast_into_unchecked())
            }
        }
    }
}

/// Whether the open string's slot in its parent (`key` or `index`; the root if none) holds `s`.
/// (Reading the dict's PEP 509 version tag instead of looking the key up saved 4% of `feed` + `value`
/// and nothing on a typed stream, measured against the lookup in interleaved processes: under the 5%
/// that pays for a CPython-internals shortcut, so it was dropped.)
#[inline(always)]
pub(super) fn holds(
    py: Python<'_>,
    frames: &[Frame],
    root: &RootSlot,
    (key, index): (Option<&Py<PyString>>, usize),
    s: &Py<PyString>,
) -> bool {
    let found = match frames.last().map(|f| &f.obj) {
        None => root.ptr(),
        Some(Node::Dict(d)) => match key {
            // SAFETY: live objects; the result is borrowed (or NULL), compared and not kept. The
            // lookup can run Python code (a key a consumer put in the dict, with a colliding hash and
            // its own `__eq__`), which could take the `str`: so the caller checks the reference count
            // after this, never before. (`PyDict_GetItem` would save and restore the error state
            // around it: 169 instructions a lookup against ~60.)
            Some(key) => unsafe { pyo3::ffi::PyDict_GetItemWithError(d.as_ptr(), key.as_ptr()) },
            None => return false,
        },
        // SAFETY: a live list; the result is borrowed (or NULL with an IndexError set if a consumer
        // shortened the list), compared and not kept. (No `len()` first: with the limited API that is
        // one more call into CPython, ~4% of a chunk in a list of strings.)
        Some(Node::List(l)) => unsafe { pyo3::ffi::PyList_GetItem(l.as_ptr(), index as _) },
    };
    if found.is_null() {
        // Not there (a consumer deleted it); drop any error a lookup could have left.
        drop(PyErr::take(py));
    }
    found == s.as_ptr()
}

/// Appends the text past `open.shown` in `text` to the open string's growing `str`, in place, if
/// its parent still holds it (a consumer may have taken it out) and it can grow; `open.shown` then
/// covers `text`. (`append` checks the reference count after `holds`, which can run Python code.)
#[inline(always)]
pub(super) fn grow_in_place(
    py: Python<'_>,
    frames: &[Frame],
    root: &RootSlot,
    open: &mut OpenString,
    text: JsonStr<'_>,
) -> bool {
    let bytes = text.wtf8();
    let Shown::Live(live) = &mut open.shown_str else {
        return false;
    };
    let slot = (open.key.as_ref(), open.index);
    let grew = open.attached
        && open.shown < bytes.len()
        && holds(py, frames, root, slot, live.get())
        && live.append(text.padded(), bytes.len() - open.shown);
    if grew {
        open.shown = bytes.len();
    }
    grew
}

impl Builder {
    pub(super) fn new(py: Python<'_>) -> Self {
        Builder {
            root: RootSlot::none(py),
            frames: Vec::new(),
            open: None,
            changed: false,
            events: 0,
            containers: 0,
            error: None,
            grow: true,
            spares: Spares::default(),
            keys: Keys::default(),
            repeated: Vec::new(),
            track_repeats: false,
        }
    }

    /// Every object this builder holds that can refer back to Python objects (the value and its open
    /// containers), for the garbage collector: a consumer may store the parser in its own value.
    pub(super) fn visit(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        self.root.visit(visit)?;
        for f in &self.frames {
            match &f.obj {
                Node::Dict(d) => visit.call(d)?,
                Node::List(l) => visit.call(l)?,
            }
            if let Some(at) = &f.at {
                visit.call(at)?;
            }
        }
        Ok(())
    }

    /// The root value, or None before anything is visible.
    pub(super) fn root(&self, py: Python<'_>) -> Py<PyAny> {
        self.root.get(py)
    }

    /// Puts a new value into the innermost open container (or makes it the root).
    pub(super) fn attach(&mut self, py: Python<'_>, obj: Bound<'_, PyAny>) -> PyResult<()> {
        self.changed = true;
        match self.frames.last_mut() {
            None => self.root.set(obj.unbind()),
            Some(f) => {
                f.len += 1;
                match &f.obj {
                    Node::Dict(d) => {
                        // (bound, so that it is let go of with no check that the GIL is held)
                        let key = f.key.take().expect("a value in an object follows its key");
                        d.bind(py).set_item(key.into_bound(py), obj)?;
                    }
                    Node::List(l) => l.bind(py).append(obj)?,
                }
            }
        }
        Ok(())
    }

    /// For the partial layer (`track_repeats`): a key that comes again in the innermost dict has its
    /// earlier member removed now, so that the later value (the one `json.loads` keeps) is added at
    /// the end, as a new member is. Replaced in place, it would change a member the layer took in
    /// already, behind its count of members taken; the dict is recorded in `repeated` for the layer
    /// to take its members in again. (A plain `Parser` replaces it in place, as `json.loads` does.)
    pub(super) fn repeat(&mut self, key: &Bound<'_, PyString>) -> PyResult<()> {
        if !self.track_repeats {
            return Ok(());
        }
        if let Some(Frame {
            obj: Node::Dict(d), ..
        }) = self.frames.last()
        {
            let d = d.bind(key.py());
            if d.contains(key)? {
                d.del_item(key)?;
                self.changed = true;
                if !self.repeated.iter().any(|r| r.is(d)) {
                    self.repeated.push(d.clone().unbind());
                }
            }
        }
        Ok(())
    }

    /// The key or index the next value will have in the innermost container.
    pub(super) fn next_at(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        let f = self.frames.last()?;
        Some(match &f.key {
            Some(k) => k.clone_ref(py).into_any(),
            _ => f.len.into_pyobject(py).expect("int").into_any().unbind(),
        })
    }

    pub(super) fn push(&mut self, py: Python<'_>, node: Node) -> PyResult<()> {
        let at = self.next_at(py);
        let obj = match &node {
            Node::Dict(d) => d.bind(py).clone().into_any(),
            Node::List(l) => l.bind(py).clone().into_any(),
        };
        self.attach(py, obj)?;
        self.frames.push(Frame {
            obj: node,
            key: None,
            len: 0,
            at,
        });
        Ok(())
    }

    /// Sets the open string's slot to `s` (first time: adds it; later: replaces it).
    pub(super) fn place_string(&mut self, py: Python<'_>, s: Bound<'_, PyString>) -> PyResult<()> {
        let open = self.open.as_mut().expect("an open string");
        let first = !open.attached;
        open.attached = true;
        match self.frames.last_mut() {
            None => self.root.set(s.into_any().unbind()),
            Some(f) => {
                match &f.obj {
                    Node::Dict(d) => {
                        // Later stores replace the `str` the first put there.
                        let key = open.key.as_ref().expect("a string in an object has a key");
                        d.bind(py).set_item(key, s)?;
                    }
                    Node::List(l) if first => l.bind(py).append(s)?,
                    // A consumer may have shortened the list: the string is put back at the end.
                    Node::List(l) if open.index < l.bind(py).len() => {
                        l.bind(py).set_item(open.index, s)?
                    }
                    Node::List(l) => l.bind(py).append(s)?,
                }
                if first {
                    f.len += 1;
                }
            }
        }
        Ok(())
    }

    /// The exact-size `str` of the string that just closed with `text`: copied from its growing
    /// `str` when that has the text (a copy of characters costs a fraction of decoding UTF-8 again),
    /// else decoded. (Leaving the growing `str` itself in place, with no copy and no second store,
    /// was ~4% slower on the catalog: the next string then needs a new `str` with room where it now
    /// reuses this one as a spare; and every string would keep its unused room for the value's life.)
    pub(super) fn closed_string<'py>(
        &mut self,
        py: Python<'py>,
        text: JsonStr<'_>,
    ) -> PyResult<Bound<'py, PyString>> {
        if let Some(open) = self.open.as_mut() {
            let bytes = text.wtf8();
            // The last chunk's text goes in first, if the `str` can still grow in place.
            if open.shown == bytes.len() || grow_in_place(py, &self.frames, &self.root, open, text)
            {
                if let Shown::Live(live) = &open.shown_str {
                    return live.exact(py);
                }
            }
        }
        wtf8_to_py(py, text)
    }

    /// Brings the open string's `str` in its parent up to date with the parser.
    #[inline(always)]
    pub(super) fn sync_open_string(&mut self, py: Python<'_>, parser: &Parser) -> PyResult<()> {
        let (Some(open), Some(text)) = (self.open.as_mut(), parser.open_string()) else {
            return Ok(());
        };
        let bytes = text.wtf8();
        if open.attached {
            if open.shown == bytes.len() {
                return Ok(());
            }
            if grow_in_place(py, &self.frames, &self.root, open, text) {
                return Ok(());
            }
            if let Shown::Live(live) = &open.shown_str {
                open.taken = live.shared();
            }
        }
        self.replace_open_string(py, parser)
    }

    /// `sync_open_string` when the `str` cannot grow in place: puts a new one in its parent.
    #[inline(never)]
    pub(super) fn replace_open_string(&mut self, py: Python<'_>, parser: &Parser) -> PyResult<()> {
        let (Some(open), Some(text)) = (self.open.as_mut(), parser.open_string()) else {
            return Ok(());
        };
        let bytes = text.wtf8();
        let len = bytes.len();
        let lone = text.has_lone_surrogates();
        let live = match (self.grow && !open.taken, &open.shown_str) {
            (false, _) => None,
            // Outgrown, or too narrow for the new characters: its text is copied as it is, into a
            // spare of the kind it needs now if one has room, else into a new `str`.
            (true, Shown::Live(old)) if open.attached && open.shown <= len => {
                let tail = &bytes[open.shown..];
                match self.spares.take_moved(old, tail) {
                    Some(live) => Some(live),
                    None => match old.grown(py, tail)? {
                        Some(live) => Some(live),
                        None => LiveStr::new(py, bytes, lone)?,
                    },
                }
            }
            // A string just begun may reuse a spare (a long one would need more room than a spare
            // has, and finding its kind would read all of it).
            (true, _) => match (!open.attached || len <= 64)
                .then(|| self.spares.take_for(bytes))
                .flatten()
            {
                Some(live) => Some(live),
                None => LiveStr::new(py, bytes, lone)?,
            },
        };
        let (s, shown) = match live {
            Some(live) => (live.get().bind(py).clone(), Shown::Live(live)),
            None => {
                let s = match open.shown_str.get() {
                    // Appending the new characters to the last `str` decodes only what arrived: for
                    // a 200-character non-ASCII string this took reading `value` per chunk from 150
                    // to 60 ns. An ASCII string is cheaper to remake whole (one allocation,
                    // word-at-a-time copy).
                    Some(prev) if open.shown < len && !bytes.is_ascii() => {
                        let tail = decode(py, &bytes[open.shown..], lone)?;
                        // SAFETY: both are valid `str` objects; the result is a new reference or NULL.
                        unsafe {
                            Bound::from_owned_ptr_or_err(
                                py,
                                pyo3::ffi::PyUnicode_Concat(prev.as_ptr(), tail.as_ptr()),
                            )?
                            .cast_into_unchecked::<PyString>()
                        }
                    }
                    _ => decode(py, bytes, lone)?,
                };
                (s.clone(), Shown::Exact(s.unbind()))
            }
        };
        self.place_string(py, s)?;
        let open = self.open.as_mut().expect("open");
        open.shown = len;
        if let Shown::Live(old) = std::mem::replace(&mut open.shown_str, shown) {
            self.spares.keep(old);
        }
        Ok(())
    }

    pub(super) fn open_path<'py>(
        &self,
        py: Python<'py>,
        parser: &Parser,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        if parser.is_complete() || (self.frames.is_empty() && self.open.is_none()) {
            return Ok(None);
        }
        let mut path: Vec<Py<PyAny>> = self
            .frames
            .iter()
            .filter_map(|f| f.at.as_ref().map(|a| a.clone_ref(py)))
            .collect();
        if let (Some(open), Some(_)) = (&self.open, self.frames.last()) {
            path.push(match &open.key {
                Some(k) => k.clone_ref(py).into_any(),
                _ => open.index.into_pyobject(py)?.into_any().unbind(),
            });
        }
        Ok(Some(PyTuple::new(py, path)?))
    }
}

impl PySink<'_, '_> {
    pub(super) fn record(&mut self, r: PyResult<()>) {
        if let Err(e) = r {
            self.b.error.get_or_insert(e);
        }
    }
}

impl Sink for PySink<'_, '_> {
    fn begin_object(&mut self) {
        self.b.events += 1;
        self.b.containers += 1;
        let node = Node::Dict(PyDict::new(self.py).unbind());
        let r = self.b.push(self.py, node);
        self.record(r);
    }
    fn begin_array(&mut self) {
        self.b.events += 1;
        self.b.containers += 1;
        let node = Node::List(PyList::empty(self.py).unbind());
        let r = self.b.push(self.py, node);
        self.record(r);
    }
    fn end_container(&mut self) {
        self.b.events += 1;
        self.b.containers += 1;
        self.b.frames.pop();
    }
    fn key(&mut self, key: JsonStr<'_>) {
        self.b.events += 1;
        let made = match key.as_str() {
            Some(text) => {
                let py = self.py;
                self.b.keys.get(py, text.as_bytes(), || wtf8_to_py(py, key))
            }
            None => wtf8_to_py(self.py, key),
        };
        match made {
            Ok(k) => {
                let r = self.b.repeat(&k);
                self.record(r);
                if let Some(f) = self.b.frames.last_mut() {
                    f.key = Some(k.unbind());
                }
            }
            Err(e) => self.record(Err(e)),
        }
    }
    fn begin_string(&mut self) {
        self.b.events += 1;
        let (key, index) = match self.b.frames.last_mut() {
            Some(f) => (f.key.take(), f.len),
            None => (None, 0),
        };
        self.b.open = Some(OpenString {
            key,
            index,
            attached: false,
            shown: 0,
            shown_str: Shown::None,
            taken: false,
            seen: 0,
        });
        self.b.changed = true;
    }
    fn end_string(&mut self, text: JsonStr<'_>) {
        self.b.events += 1;
        let len = text.wtf8().len();
        let r = self
            .b
            .closed_string(self.py, text)
            .and_then(|s| self.b.place_string(self.py, s));
        self.record(r);
        if let Some(open) = self.b.open.take() {
            self.b.changed |= open.seen != len;
            if let Shown::Live(old) = open.shown_str {
                self.b.spares.keep(old);
            }
        }
    }
    fn number(&mut self, raw: &str, is_float: bool) {
        self.b.events += 1;
        let py = self.py;
        let obj = if is_float {
            // Rust's parse is correctly rounded, so it equals Python's float() bit for bit.
            Ok(PyFloat::new(py, raw.parse::<f64>().unwrap_or(f64::NAN)).into_any())
        } else if let Ok(i) = raw.parse::<i64>() {
            Ok(i.into_pyobject(py).expect("infallible").into_any())
        } else {
            // Beyond i64: Python's own int() keeps it exact (and applies its digit limit, as json does).
            py.get_type::<PyInt>().call1((raw,))
        };
        let r = obj.and_then(|o| self.b.attach(py, o));
        self.record(r);
    }
    fn boolean(&mut self, value: bool) {
        self.b.events += 1;
        let obj = PyBool::new(self.py, value).to_owned().into_any();
        let r = self.b.attach(self.py, obj);
        self.record(r);
    }
    fn null(&mut self) {
        self.b.events += 1;
        let obj = self.py.None().into_bound(self.py);
        let r = self.b.attach(self.py, obj);
        self.record(r);
    }
    fn discard(&mut self) {
        // Counted as a structural change (containers too), so that the partial layer settles it
        // rather than taking it for a string that grew.
        self.b.events += 1;
        self.b.containers += 1;
        self.b.changed = true;
        self.b.frames.clear();
        // (Its growing `str` is not kept as a spare: the discarded value, which a consumer may still
        // hold, has it.)
        self.b.open = None;
        self.b.repeated.clear();
        // `value` reads None until a later candidate shows.
        self.b.root.set(self.py.None());
    }
}
