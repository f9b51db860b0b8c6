//! The PyO3 binding: `unspool._core.Parser`, a [`Parser`] whose sink builds Python objects.
//!
//! Closed values become Python objects once, when they close, and are never touched again. Containers
//! on the open path are live `dict`/`list` objects that later feeds append to. The open string's `str`
//! is brought up to date by every `feed` (`value` is a slot CPython reads directly); while nothing but
//! its container holds that `str`, it grows in place (see `live_str`). The partial layer's parser
//! leaves the open string to the layer, which brings it up to date only when it shows it.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use pyo3::{intern, Borrowed, PyTraverseError, PyVisit};

mod dict_version;
mod keys;
mod live_str;
mod snapshot;

use keys::Keys;
use live_str::{LiveStr, Spares};

use crate::error::ParseError;
use crate::parser::{JsonStr, Mode, Options, Parser, Sink};

enum Node {
    Dict(Py<PyDict>),
    List(Py<PyList>),
}

/// A container on the open path.
struct Frame {
    obj: Node,
    /// The key whose value comes next (dicts only).
    key: Option<Py<PyString>>,
    /// How many values this container holds.
    len: usize,
    /// Where this container sits in its parent: its key or index (`None` for the root).
    at: Option<Py<PyAny>>,
    /// A dict's tag after this builder's last store into it, while all its changes were clean ones
    /// (see `dict_version::store`); None for a list.
    tag: Option<u64>,
}

/// Where the open string will go in its parent.
struct OpenString {
    key: Option<Py<PyString>>,
    index: usize,
    /// Whether a `str` for it is already in the parent (or is the root).
    attached: bool,
    /// Byte length of the text last put in the parent, and that `str`.
    shown: usize,
    shown_str: Shown,
    /// Whether someone besides the parent held the last `str` made with room to grow: then the
    /// next ones are made exact (each would be copied anyway, and room would be wasted).
    taken: bool,
    /// Byte length visible at the end of the last feed (for `feed`'s return value).
    seen: usize,
    /// The parent dict's version tag when it was last known to hold `shown_str` (see
    /// `dict_version`); None if unknown, or the parent is no dict.
    version: Option<u64>,
}

/// The open string's `str` in its parent.
enum Shown {
    None,
    Exact(Py<PyString>),
    /// Made with room to grow in place (see `live_str`).
    Live(LiveStr),
}

impl Shown {
    fn get(&self) -> Option<&Py<PyString>> {
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
struct RootSlot(Cell<Option<Py<PyAny>>>);

// SAFETY: only read or written with the GIL held: this is an abi3 module, which no free-threaded
// interpreter loads.
unsafe impl Send for RootSlot {}
unsafe impl Sync for RootSlot {}

impl RootSlot {
    fn none(py: Python<'_>) -> Self {
        RootSlot(Cell::new(Some(py.None())))
    }

    fn get(&self, py: Python<'_>) -> Py<PyAny> {
        // SAFETY: no other reference to the cell's contents exists while this one lives (GIL held).
        match unsafe { &*self.0.as_ptr() } {
            Some(v) => v.clone_ref(py),
            None => py.None(),
        }
    }

    /// The value's address (null before anything is visible), to compare with.
    fn ptr(&self) -> *mut pyo3::ffi::PyObject {
        // SAFETY: as in `get`.
        match unsafe { &*self.0.as_ptr() } {
            Some(v) => v.as_ptr(),
            None => std::ptr::null_mut(),
        }
    }

    /// Replaces the value; the old one is released only after the slot holds the new one, so code
    /// that runs while it is freed never reads a dangling pointer.
    fn set(&self, v: Py<PyAny>) {
        drop(self.0.replace(Some(v)));
    }
}

struct Builder {
    root: RootSlot,
    frames: Vec<Frame>,
    open: Option<OpenString>,
    changed: bool,
    /// Count of parser events (everything but string growth): unchanged means only the open string grew.
    events: u64,
    /// Count of containers opened and closed: unchanged means the open containers are the same ones.
    containers: u64,
    /// A Python error raised while building (e.g. an integer too long for `int()`).
    error: Option<PyErr>,
    /// Whether the open string's `str` may be grown in place (see `live_str`): not for one-shot
    /// parsing, where it would only waste room, nor for the partial layer, whose snapshots share it.
    grow: bool,
    /// Such `str`s that their containers let go of, for later open strings.
    spares: Spares,
    /// Recent object keys' `str`s, for keys written again.
    keys: Keys,
}

struct PySink<'a, 'py> {
    py: Python<'py>,
    b: &'a mut Builder,
}

fn wtf8_to_py<'py>(py: Python<'py>, s: JsonStr<'_>) -> PyResult<Bound<'py, PyString>> {
    decode(py, s.wtf8(), s.has_lone_surrogates())
}

/// Makes a `str` from whole UTF-8 characters (WTF-8 when `lone_surrogates`).
fn decode<'py>(
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
/// `version`: the parent dict's tag when it was last known to (see `dict_version`); a lookup that
/// finds `s` there records the tag now.
#[inline(always)]
fn holds(
    py: Python<'_>,
    frames: &[Frame],
    root: &RootSlot,
    (key, index): (Option<&Py<PyString>>, usize),
    version: &mut Option<u64>,
    s: &Py<PyString>,
) -> bool {
    let found = match frames.last().map(|f| &f.obj) {
        None => root.ptr(),
        // Unchanged since it was known to hold `s`: it still does.
        Some(Node::Dict(d)) if version.is_some() && dict_version::of(py, d) == *version => {
            return true
        }
        Some(Node::Dict(d)) => match key {
            // SAFETY: live objects; the result is borrowed (or NULL), compared and not kept. The
            // lookup can run Python code (a key a consumer put in the dict, with a colliding hash and
            // its own `__eq__`), which could take the `str`: so the caller checks the reference count
            // after this, never before. (`PyDict_GetItem` would save and restore the error state
            // around it: 169 instructions a lookup against ~60.)
            Some(key) => {
                let found = unsafe { pyo3::ffi::PyDict_GetItemWithError(d.as_ptr(), key.as_ptr()) };
                if found == s.as_ptr() {
                    // No Python code runs between the lookup's answer and this read, so the tag
                    // now is one at which the dict held `s`.
                    *version = dict_version::of(py, d);
                }
                found
            }
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
fn grow_in_place(
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
        && holds(py, frames, root, slot, &mut open.version, live.get())
        && live.append(text.padded(), bytes.len() - open.shown);
    if grew {
        open.shown = bytes.len();
    }
    grew
}

impl Builder {
    fn new(py: Python<'_>) -> Self {
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
        }
    }

    /// The root value, or None before anything is visible.
    fn root(&self, py: Python<'_>) -> Py<PyAny> {
        self.root.get(py)
    }

    /// Puts a new value into the innermost open container (or makes it the root).
    fn attach(&mut self, py: Python<'_>, obj: Bound<'_, PyAny>) -> PyResult<()> {
        self.changed = true;
        match self.frames.last_mut() {
            None => self.root.set(obj.unbind()),
            Some(f) => {
                f.len += 1;
                match &f.obj {
                    Node::Dict(d) => {
                        // (bound, so that it is let go of with no check that the GIL is held)
                        let key = f.key.take().expect("a value in an object follows its key");
                        let key = key.into_bound(py);
                        dict_version::store(&mut f.tag, d.bind(py), &key, &obj, false)?;
                    }
                    Node::List(l) => l.bind(py).append(obj)?,
                }
            }
        }
        Ok(())
    }

    /// The key or index the next value will have in the innermost container.
    fn next_at(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        let f = self.frames.last()?;
        Some(match &f.key {
            Some(k) => k.clone_ref(py).into_any(),
            _ => f.len.into_pyobject(py).expect("int").into_any().unbind(),
        })
    }

    fn push(&mut self, py: Python<'_>, node: Node) -> PyResult<()> {
        let at = self.next_at(py);
        let obj = match &node {
            Node::Dict(d) => d.bind(py).clone().into_any(),
            Node::List(l) => l.bind(py).clone().into_any(),
        };
        self.attach(py, obj)?;
        let tag = match &node {
            // New and empty: all of it is this builder's.
            Node::Dict(d) => dict_version::of(py, d),
            Node::List(_) => None,
        };
        self.frames.push(Frame {
            obj: node,
            key: None,
            len: 0,
            at,
            tag,
        });
        Ok(())
    }

    /// Sets the open string's slot to `s` (first time: adds it; later: replaces it).
    fn place_string(&mut self, py: Python<'_>, s: Bound<'_, PyString>) -> PyResult<()> {
        let open = self.open.as_mut().expect("an open string");
        let first = !open.attached;
        open.attached = true;
        match self.frames.last_mut() {
            None => self.root.set(s.into_any().unbind()),
            Some(f) => {
                match &f.obj {
                    Node::Dict(d) => {
                        let key = open.key.as_ref().expect("a string in an object has a key");
                        // Later stores replace the `str` the first put there.
                        dict_version::store(&mut f.tag, d.bind(py), key.bind(py), &s, !first)?;
                        // The next check needs no lookup if this store was clean.
                        open.version = f.tag;
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
    fn closed_string<'py>(
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
    fn sync_open_string(&mut self, py: Python<'_>, parser: &Parser) -> PyResult<()> {
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
    fn replace_open_string(&mut self, py: Python<'_>, parser: &Parser) -> PyResult<()> {
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

    fn open_path<'py>(
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
    fn record(&mut self, r: PyResult<()>) {
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
            version: None,
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
}

static DECODE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Converts a core error into `unspool.JSONDecodeError`.
fn decode_error(py: Python<'_>, e: &ParseError) -> PyErr {
    let cls = match DECODE_ERROR.import(py, "unspool.errors", "JSONDecodeError") {
        Ok(cls) => cls,
        Err(err) => return err,
    };
    let p = e.position;
    let kwargs = PyDict::new(py);
    let made = kwargs
        .set_item("excerpt", &e.excerpt)
        .and_then(|_| kwargs.set_item("byte_pos", p.byte))
        .and_then(|_| cls.call((e.kind.message(), p.char, p.line, p.column), Some(&kwargs)));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(err) => err,
    }
}

/// The engine's innermost open frame, for the structural changes the core takes in itself: members
/// that closed as scalars (as they are when the field's `as_is` types allow, else validated through the
/// engine's `closed`) and the next member starting. Containers opening or closing go to the engine.
struct Fast {
    /// The engine's frame object: its `n` is kept current.
    frame: Py<PyAny>,
    /// The container it follows, and its finished values (a dict for objects, a list for lists).
    raw: Py<PyAny>,
    done: Py<PyAny>,
    /// Members of `raw` taken in so far.
    n: usize,
    /// Objects: JSON key -> `(field name, as_is types, streams text, node)`. Lists: None.
    fields: Option<Py<PyDict>>,
    /// Lists: the items' `(as_is types, streams text, node)`.
    item: Option<(Py<PyTuple>, bool, Py<PyAny>)>,
    /// The engine's `closed(node, raw)`: a scalar that is not already its validated value (a datetime,
    /// a Literal, a constrained number) is validated through it, errors recorded as the engine does.
    closed: Py<PyAny>,
    /// The container count the engine last saw: any container opening or closing goes to it.
    containers: u64,
}

/// True if `value`'s type is one of `types` (exactly, as the engine's `type(value) in as_is`).
fn type_in(value: &Bound<'_, PyAny>, types: &Bound<'_, PyTuple>) -> bool {
    let ty = value.get_type();
    types.iter().any(|t| t.is(&ty))
}

/// The partial layer's per-chunk state (see `PyParser::step`); empty for plain parsing.
#[derive(Default)]
struct Follow {
    fast: Option<Fast>,
    /// Whether the core took in a structural change since the engine last settled one.
    touched: bool,
    /// The open path's levels (they hold classes and finished values only: no cycle back to Python
    /// objects that own this parser).
    levels: Option<snapshot::Levels>,
    /// Earlier snapshots' objects, refilled once nothing else holds them.
    spares: snapshot::Spares,
    text: bool,
    hold: bool,
    partial: Option<Py<PyAny>>,
    parts: Option<Py<PyList>>,
    settle: Option<Py<PyAny>>,
    /// What `step` returns when nothing visible changed (None can be a partial value itself).
    unchanged: Option<Py<PyAny>>,
}

/// A parser's state: the core parser, the Python objects it built, and the partial layer's hookup.
struct State {
    parser: Parser,
    builder: Builder,
    follow: Follow,
    /// The UTF-8 form of the last non-ASCII `str` chunk (see `live_str::utf8_of`).
    utf8: Vec<u8>,
}

/// A `RefCell` shared between threads only under the GIL.
///
/// PyO3's own borrow flag for a mutable class is atomic: its `lock cmpxchg` alone was ~7 ns of a
/// ~125 ns `feed`. A plain flag is enough here: this is an abi3 module, which no free-threaded
/// interpreter loads, so every access holds the GIL, and handing the GIL over orders memory.
struct GilCell<T>(std::cell::RefCell<T>);

// SAFETY: see above: only touched with the GIL held.
unsafe impl<T: Send> Sync for GilCell<T> {}

/// A resumable JSON parser that keeps the partial value as Python objects.
#[pyclass(module = "unspool._core", name = "Parser", frozen)]
pub struct PyParser {
    state: GilCell<State>,
}

impl PyParser {
    /// The state, for a call that changes it; raises if a call on this parser is already running
    /// (a finalizer or another thread re-entering it while it waits on Python code).
    fn state(&self) -> PyResult<std::cell::RefMut<'_, State>> {
        self.state.0.try_borrow_mut().map_err(|_| {
            pyo3::exceptions::PyRuntimeError::new_err("Parser is already in use (re-entered)")
        })
    }

    /// The state, for a call that only reads it.
    fn read(&self) -> PyResult<std::cell::Ref<'_, State>> {
        self.state.0.try_borrow().map_err(|_| {
            pyo3::exceptions::PyRuntimeError::new_err("Parser is already in use (re-entered)")
        })
    }
}

impl State {
    /// Takes in a structural change the engine need not see (see `Fast`): the new partial, or
    /// `unchanged`; None if the engine must settle it. On the Catalog workload this takes in 9,178 of
    /// the 11,969 structural changes (scalars that need validating included: 1,400 of them, ~5% of a
    /// stream's instructions); the engine settles only containers opening and closing.
    fn settle_here<'py>(
        &mut self,
        py: Python<'py>,
        unchanged: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(fast) = self.follow.fast.as_mut() else {
            return Ok(None);
        };
        if self.parser.is_complete() || self.builder.containers != fast.containers {
            return Ok(None);
        }
        let top = match self.builder.frames.last().map(|f| &f.obj) {
            Some(Node::Dict(d)) => d.as_ptr(),
            Some(Node::List(l)) => l.as_ptr(),
            None => return Ok(None),
        };
        if top != fast.raw.as_ptr() {
            return Ok(None);
        }
        // The open string takes its slot in `raw` first, as reading `value` would.
        self.builder.sync_open_string(py, &self.parser)?;
        let open = self.builder.open.as_ref();
        let raw = fast.raw.bind(py);
        let total = raw.len()?.saturating_sub(usize::from(open.is_some()));
        // First see what every member that closed needs, then validate those that need it, then change
        // anything. Each entry: field name (None for a list item or a key that is no field), value, and
        // the node to validate it with when it is not already its validated value.
        type Member<'py> = (
            Option<Bound<'py, PyAny>>,
            Bound<'py, PyAny>,
            Option<Bound<'py, PyAny>>,
        );
        let mut closed: Vec<Member<'py>> = Vec::new();
        let scalar =
            |v: &Bound<'py, PyAny>| !v.is_instance_of::<PyDict>() && !v.is_instance_of::<PyList>();
        if let Some(fields) = &fast.fields {
            let fields = fields.bind(py);
            for (k, v) in raw
                .cast::<PyDict>()?
                .iter()
                .skip(fast.n)
                .take(total.saturating_sub(fast.n))
            {
                match fields.get_item(&k)? {
                    // Not a field: the model's own validation sees it in `raw`.
                    None => closed.push((None, v, None)),
                    Some(entry) => {
                        let entry = entry.cast_into::<PyTuple>()?;
                        let node = if type_in(&v, entry.get_item(1)?.cast::<PyTuple>()?) {
                            None
                        } else if scalar(&v) {
                            Some(entry.get_item(3)?)
                        } else {
                            return Ok(None);
                        };
                        closed.push((Some(entry.get_item(0)?), v, node));
                    }
                }
            }
        } else if let Some((as_is, _, item)) = &fast.item {
            let list = raw.cast::<PyList>()?;
            for i in fast.n..total {
                let v = list.get_item(i)?;
                let node = if type_in(&v, as_is.bind(py)) {
                    None
                } else if scalar(&v) {
                    Some(item.bind(py).clone())
                } else {
                    return Ok(None);
                };
                closed.push((None, v, node));
            }
        } else {
            return Ok(None);
        }
        let check = fast.closed.clone_ref(py);
        for (_, value, node) in closed.iter_mut() {
            if let Some(node) = node.take() {
                *value = check.call1(py, (node, &*value))?.into_bound(py);
            }
        }
        let fast = self.follow.fast.as_mut().expect("checked above");
        let done = fast.done.bind(py);
        let mut named = Vec::with_capacity(closed.len());
        for (name, value, _) in closed {
            match (name, &fast.fields) {
                (Some(name), _) => {
                    done.set_item(&name, &value)?;
                    named.push((name, value));
                }
                (None, None) => done.cast::<PyList>()?.append(value)?,
                (None, Some(_)) => {}
            }
        }
        if total > fast.n {
            fast.n = total;
            fast.frame.bind(py).setattr(intern!(py, "n"), total)?;
        }
        // The member now open, if a string is (anything else visible would have been a container).
        let (open_name, text) = match (open, &fast.fields, &fast.item) {
            (Some(o), Some(fields), _) => match o.key.as_ref() {
                Some(key) => match fields.bind(py).get_item(key)? {
                    Some(entry) => {
                        let entry = entry.cast_into::<PyTuple>()?;
                        (Some(entry.get_item(0)?), entry.get_item(2)?.is_truthy()?)
                    }
                    None => (None, false),
                },
                None => (None, false),
            },
            (Some(_), None, Some((_, streams, _))) => (None, *streams),
            _ => (None, false),
        };
        let marker = if fast.fields.is_some() {
            PyTuple::new(
                py,
                [done.clone(), done.len()?.into_pyobject(py)?.into_any()],
            )?
            .into_any()
        } else {
            py.None().into_bound(py)
        };
        let levels = self.follow.levels.as_mut().expect("set with `fast`");
        levels.moved_on(py, &named, marker, open_name)?;
        self.follow.text = text;
        self.follow.touched = true;
        let child = if text { self.open_text(py)? } else { None };
        // Before any partial, the last one shown is None (a root held back shows None too).
        let last = self.partial(py);
        let follow = &mut self.follow;
        let levels = follow.levels.as_ref().expect("set with `fast`");
        let snap = levels
            .build(py, child, Some(&mut follow.spares))?
            .unwrap_or_else(|| py.None().into_bound(py));
        if levels.same_snapshots(&snap, last.bind(py))? {
            return Ok(Some(unchanged.clone()));
        }
        self.follow.partial = Some(snap.clone().unbind());
        Ok(Some(snap))
    }

    /// The open string as it stands (its `str` in the parent brought up to date), if one is open.
    fn open_text<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.builder.sync_open_string(py, &self.parser)?;
        Ok(self
            .builder
            .open
            .as_ref()
            .and_then(|o| o.shown_str.get())
            .map(|s| s.bind(py).clone().into_any()))
    }

    #[inline(always)]
    fn check(&mut self, py: Python<'_>, r: Result<(), ParseError>) -> PyResult<()> {
        if let Some(e) = &self.builder.error {
            return Err(e.clone_ref(py));
        }
        r.map_err(|e| decode_error(py, &e))
    }
}

impl State {
    fn new(py: Python<'_>, lenient: bool, max_depth: usize) -> Self {
        let mode = if lenient { Mode::Lenient } else { Mode::Strict };
        State {
            parser: Parser::new(Options { mode, max_depth }),
            builder: Builder::new(py),
            follow: Follow::default(),
            utf8: Vec::new(),
        }
    }

    /// Feeds a chunk (`str`, or UTF-8 `bytes` cut anywhere); True if `value` visibly changed.
    fn feed(&mut self, py: Python<'_>, chunk: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.builder.changed = false;
        let mut sink = PySink {
            py,
            b: &mut self.builder,
        };
        // An exact `str` is one pointer comparison; `cast` asks CPython for the type's flags (a call,
        // with the limited API) to let subclasses in too.
        let string = match chunk.is_exact_instance_of::<PyString>() {
            // SAFETY: just checked.
            true => Some(unsafe { chunk.cast_unchecked::<PyString>() }),
            false => chunk.cast::<PyString>().ok(),
        };
        let r = if let Some(s) = string {
            // The text, as the last `n` bytes of `padded` (see `Parser::feed_str_padded`).
            let (padded, n) = match live_str::ascii_text(py, s) {
                Some(text) => text,
                None => match live_str::utf8_of(py, s, &mut self.utf8) {
                    Some(text) => text,
                    None => {
                        let text = s.to_str()?;
                        (text.as_bytes(), text.len())
                    }
                },
            };
            // SAFETY: the last `n` bytes are the `str`'s UTF-8 form.
            unsafe { self.parser.feed_str_padded(padded, n, &mut sink) }
        } else if let Ok(b) = chunk.cast::<PyBytes>() {
            self.parser.feed(b.as_bytes(), &mut sink)
        } else {
            return Err(PyTypeError::new_err(format!(
                "feed() takes str or bytes, not {}",
                chunk.get_type().name()?
            )));
        };
        let checked = self.check(py, r);
        if let (Some(open), Some(text)) = (self.builder.open.as_mut(), self.parser.open_string()) {
            let len = text.wtf8().len();
            if len != open.seen {
                open.seen = len;
                self.builder.changed = true;
            }
        }
        // `value` is read straight from the slot, so the open string is brought up to date now, even
        // when this chunk ended in an error: the text before the error was received, and is kept.
        // The partial layer (hooked) brings it up to date itself, only when it shows it.
        let synced = match self.follow.settle {
            None => self.builder.sync_open_string(py, &self.parser),
            Some(_) => Ok(()),
        };
        checked.and(synced).map(|_| self.builder.changed)
    }

    /// Ends the input and returns the complete value, or raises `JSONDecodeError`.
    fn finish(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let mut sink = PySink {
            py,
            b: &mut self.builder,
        };
        let r = self.parser.finish(&mut sink);
        self.check(py, r)?;
        Ok(self.builder.root(py))
    }

    /// `value` with the open string brought up to date (the partial layer's parser leaves it to this).
    fn synced_value(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.builder.sync_open_string(py, &self.parser)?;
        Ok(self.builder.root(py))
    }

    /// How many containers have opened or closed; unchanged means the same containers are open.
    fn containers(&self) -> u64 {
        self.builder.containers
    }

    /// The partial object of the open path the last `_follow` described, with the open string as the
    /// innermost value when `text` is true.
    fn snapshot<'py>(
        &mut self,
        py: Python<'py>,
        text: bool,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let child = if text { self.open_text(py)? } else { None };
        let follow = &mut self.follow;
        match &follow.levels {
            Some(levels) => levels.build(py, child, Some(&mut follow.spares)),
            None => Ok(None),
        }
    }

    /// The partial layer's hookup: `step` appends every chunk to `parts`, and calls `settle()` when the
    /// structure moved on (a key, value or container), which returns the new partial or `unchanged`.
    fn hook(&mut self, parts: Py<PyList>, settle: Py<PyAny>, unchanged: Py<PyAny>) {
        self.builder.grow = false;
        self.follow.parts = Some(parts);
        self.follow.settle = Some(settle);
        self.follow.unchanged = Some(unchanged);
    }

    /// What `step` snapshots while only the open string grows: `specs` (see `snapshot`), with the string
    /// when `text`; `hold`: a NotNull object may keep the snapshot at the last one, so compare.
    /// `fast`: None, or the innermost frame as `(frame, raw, done, n, fields, item)` (see `Fast`).
    fn follow(
        &mut self,
        specs: &Bound<'_, PyList>,
        text: bool,
        hold: bool,
        fast: Option<&Bound<'_, PyTuple>>,
    ) -> PyResult<()> {
        // Everything is read before anything changes, so a failure leaves the last state whole.
        let levels = snapshot::Levels::parse(specs)?;
        let fast = match fast {
            None => None,
            Some(t) => {
                let fields = t.get_item(4)?;
                let item = t.get_item(5)?;
                Some(Fast {
                    frame: t.get_item(0)?.unbind(),
                    raw: t.get_item(1)?.unbind(),
                    done: t.get_item(2)?.unbind(),
                    n: t.get_item(3)?.extract()?,
                    fields: if fields.is_none() {
                        None
                    } else {
                        Some(fields.cast_into::<PyDict>()?.unbind())
                    },
                    item: if item.is_none() {
                        None
                    } else {
                        let item = item.cast_into::<PyTuple>()?;
                        Some((
                            item.get_item(0)?.cast_into::<PyTuple>()?.unbind(),
                            item.get_item(1)?.is_truthy()?,
                            item.get_item(2)?.unbind(),
                        ))
                    },
                    closed: t.get_item(6)?.unbind(),
                    containers: self.builder.containers,
                })
            }
        };
        self.follow.levels = Some(levels);
        self.follow.fast = fast;
        self.follow.text = text;
        self.follow.hold = hold;
        self.follow.touched = false;
        Ok(())
    }

    /// Whether the core took in a structural change itself since the last `_follow` (then the engine's
    /// record of its innermost frame's open member is out of date).
    fn touched(&self) -> bool {
        self.follow.touched
    }

    /// The last partial `step` or `settle()` made (None before any).
    fn partial(&self, py: Python<'_>) -> Py<PyAny> {
        self.follow
            .partial
            .as_ref()
            .map_or_else(|| py.None(), |p| p.clone_ref(py))
    }

    fn set_partial(&mut self, value: Py<PyAny>) {
        self.follow.partial = Some(value);
    }

    /// The partial layer's per-chunk step: feeds `chunk`; returns the new partial, or the `unchanged`
    /// marker given to `_hook` if nothing visible changed. Doing the common case here (only the open string grew) spares a Python call
    /// per chunk.
    /// `Ok(partial)` when done here, `Err(settle)` when the engine must settle the change (called
    /// by the caller once this state is no longer borrowed: `settle` reads the parser).
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        chunk: &Bound<'py, PyAny>,
    ) -> PyResult<Result<Bound<'py, PyAny>, Option<Py<PyAny>>>> {
        let this = self;
        {
            let unchanged = this
                .follow
                .unchanged
                .as_ref()
                .map_or_else(|| py.None(), |u| u.clone_ref(py))
                .into_bound(py);
            let none = || Ok(Ok(unchanged.clone()));
            if let Some(parts) = &this.follow.parts {
                parts.bind(py).append(chunk)?;
            }
            let before = this.builder.events;
            if !this.feed(py, chunk)? {
                return none();
            }
            if this.builder.events == before {
                if !this.follow.text || this.follow.levels.is_none() {
                    return none();
                }
                let child = this.open_text(py)?;
                let follow = &mut this.follow;
                let levels = follow.levels.as_ref().expect("checked above");
                let Some(snap) = levels.build(py, child, Some(&mut follow.spares))? else {
                    return none();
                };
                if this.follow.hold {
                    if let Some(last) = &this.follow.partial {
                        if snapshot::same_value(&snap, last.bind(py))? {
                            return none();
                        }
                    }
                }
                this.follow.partial = Some(snap.clone().unbind());
                return Ok(Ok(snap));
            }
            if let Some(result) = this.settle_here(py, &unchanged)? {
                return Ok(Ok(result));
            }
            Ok(Err(this.follow.settle.as_ref().map(|f| f.clone_ref(py))))
        }
    }
}

#[pymethods]
impl PyParser {
    #[new]
    #[pyo3(signature = (*, lenient = false, max_depth = 1024))]
    fn new(py: Python<'_>, lenient: bool, max_depth: usize) -> Self {
        PyParser {
            state: GilCell(std::cell::RefCell::new(State::new(py, lenient, max_depth))),
        }
    }

    /// Ends the input and returns the complete value, or raises `JSONDecodeError`.
    fn finish(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.state()?.finish(py)
    }

    /// `value` with the open string brought up to date (the partial layer's parser leaves it to this).
    #[getter(_value)]
    fn synced_value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.state()?.synced_value(py)
    }

    /// How many containers have opened or closed; unchanged means the same containers are open.
    #[getter(_containers)]
    fn containers(&self) -> PyResult<u64> {
        Ok(self.read()?.containers())
    }

    /// The partial object of the open path the last `_follow` described, with the open string as the
    /// innermost value when `text` is true.
    #[pyo3(name = "_snapshot")]
    fn snapshot<'py>(&self, py: Python<'py>, text: bool) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.state()?.snapshot(py, text)
    }

    /// The partial layer's hookup: `step` appends every chunk to `parts`, and calls `settle()` when the
    /// structure moved on (a key, value or container), which returns the new partial or `unchanged`.
    #[pyo3(name = "_hook")]
    fn hook(&self, parts: Py<PyList>, settle: Py<PyAny>, unchanged: Py<PyAny>) -> PyResult<()> {
        self.state()?.hook(parts, settle, unchanged);
        Ok(())
    }

    /// What `step` snapshots while only the open string grows: `specs` (see `snapshot`), with the string
    /// when `text`; `hold`: a NotNull object may keep the snapshot at the last one, so compare.
    /// `fast`: None, or the innermost frame as `(frame, raw, done, n, fields, item)` (see `Fast`).
    #[pyo3(name = "_follow")]
    #[pyo3(signature = (specs, text, hold, fast=None))]
    fn follow(
        &self,
        specs: &Bound<'_, PyList>,
        text: bool,
        hold: bool,
        fast: Option<&Bound<'_, PyTuple>>,
    ) -> PyResult<()> {
        self.state()?.follow(specs, text, hold, fast)
    }

    /// Whether the core took in a structural change itself since the last `_follow` (then the engine's
    /// record of its innermost frame's open member is out of date).
    #[getter(_touched)]
    fn touched(&self) -> PyResult<bool> {
        Ok(self.read()?.touched())
    }

    /// The last partial `step` or `settle()` made (None before any).
    #[getter(_partial)]
    fn partial(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.read()?.partial(py))
    }

    #[setter(_partial)]
    fn set_partial(&self, value: Py<PyAny>) -> PyResult<()> {
        self.state()?.set_partial(value);
        Ok(())
    }

    /// The partial layer's per-chunk step: feeds `chunk`; returns the new partial, or the `unchanged`
    /// marker given to `_hook` if nothing visible changed. Doing the common case here (only the open
    /// string grew) spares a Python call per chunk.
    #[pyo3(name = "_step")]
    fn step<'py>(&self, py: Python<'py>, chunk: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let settle = self.state()?.step(py, chunk)?;
        // The borrow has ended: `settle` reads this parser.
        match settle {
            Ok(partial) => Ok(partial),
            Err(Some(f)) => f.bind(py).call0(),
            Err(None) => Ok(py.None().into_bound(py)),
        }
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // A collection that starts inside a call on this parser finds it borrowed: its references
        // then count as held from outside, which keeps them alive (PyO3 does the same for its cells).
        let Ok(state) = self.state.0.try_borrow() else {
            return Ok(());
        };
        // `settle` is a method of the engine that owns this parser: a cycle only the GC can break.
        let f = &state.follow;
        for obj in [&f.settle, &f.partial, &f.unchanged].into_iter().flatten() {
            visit.call(obj)?;
        }
        if let Some(fast) = &f.fast {
            // The engine's frame and its values (which the engine holds too), and a method of the
            // engine. Finished values can hold anything a validator put there, the stream included.
            for obj in [&fast.frame, &fast.raw, &fast.done, &fast.closed] {
                visit.call(obj)?;
            }
            if let Some(fields) = &fast.fields {
                visit.call(fields)?;
            }
            if let Some((as_is, _, node)) = &fast.item {
                visit.call(as_is)?;
                visit.call(node)?;
            }
        }
        if let Some(parts) = &f.parts {
            visit.call(parts)?;
        }
        for obj in f.spares.objects() {
            visit.call(obj)?;
        }
        for obj in f.levels.iter().flat_map(|l| l.objects()) {
            visit.call(obj)?;
        }
        Ok(())
    }

    fn __clear__(&self) {
        if let Ok(mut state) = self.state.0.try_borrow_mut() {
            state.follow = Follow::default();
        }
    }

    /// Keys and indices of the innermost visible value still open; `()` is the root, `None` nothing.
    #[getter]
    fn open_path<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let state = self.read()?;
        state.builder.open_path(py, &state.parser)
    }

    /// True once one whole top-level value has been read.
    #[getter]
    fn complete(&self) -> PyResult<bool> {
        Ok(self.read()?.parser.is_complete())
    }

    /// Number of containers now open.
    #[getter]
    fn depth(&self) -> PyResult<usize> {
        Ok(self.read()?.parser.depth())
    }

    fn __repr__(&self) -> PyResult<String> {
        let state = self.read()?;
        let p = &state.parser;
        let o = p.options();
        let py_bool = |b: bool| if b { "True" } else { "False" };
        Ok(format!(
            "Parser(lenient={}, max_depth={}, depth={}, complete={})",
            py_bool(o.mode == Mode::Lenient),
            o.max_depth,
            p.depth(),
            py_bool(p.is_complete()),
        ))
    }
}

/// The partial value of a prefix of a JSON document.
#[pyfunction]
#[pyo3(signature = (text, *, lenient = false))]
fn parse_partial(py: Python<'_>, text: &Bound<'_, PyAny>, lenient: bool) -> PyResult<Py<PyAny>> {
    let mut p = State::new(py, lenient, Options::default().max_depth);
    p.builder.grow = false;
    p.feed(py, text)?;
    Ok(p.builder.root(py))
}

/// Makes `Parser.value` a read-only member descriptor on the builder's root slot.
///
/// CPython reads a member with one pointer load (3.11 specializes the attribute access), where a
/// PyO3 getter is a full call into Rust: ~40 ns a read, against ~30 ns for the whole trivial call the
/// core's bar compares with. The field's offset in the object is measured on one instance: PyO3
/// lays every instance of the class out the same way.
fn value_member(py: Python<'_>, cls: &Bound<'_, PyType>) -> PyResult<()> {
    let probe = Bound::new(py, PyParser::new(py, false, 1))?;
    let offset = {
        let state = probe.get().read()?;
        let field = &state.builder.root as *const RootSlot as usize;
        field - probe.as_ptr() as usize
    };
    let size: usize = cls.getattr("__basicsize__")?.extract()?;
    if offset + std::mem::size_of::<RootSlot>() > size {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(
            "unspool: Parser's value slot is not inside the object",
        ));
    }
    let def = Box::leak(Box::new(pyo3::ffi::PyMemberDef {
        name: c"value".as_ptr(),
        type_code: pyo3::ffi::Py_T_OBJECT_EX,
        offset: offset as pyo3::ffi::Py_ssize_t,
        flags: pyo3::ffi::Py_READONLY,
        doc: c"The partial value so far (None before anything is visible).".as_ptr(),
    }));
    // SAFETY: `def` lives forever (leaked once per interpreter); the result is a new reference or NULL.
    let descr = unsafe {
        Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyDescr_NewMember(cls.as_type_ptr(), def))?
    };
    cls.setattr("value", descr)
}

/// `Parser.feed` as a one-argument C method (`METH_O`), installed by `feed_method`: PyO3's method
/// glue (a fast-call argument parser, and a type check of `self` that the method descriptor has
/// already made) was ~8% of a token-sized chunk's time.
unsafe extern "C" fn feed(
    slf: *mut pyo3::ffi::PyObject,
    chunk: *mut pyo3::ffi::PyObject,
) -> *mut pyo3::ffi::PyObject {
    // PyO3's own trampoline for its two-argument slots (such as `__getitem__`): it marks the GIL as
    // held for PyO3, turns a panic into `PanicException` and an error into a raised exception. It is
    // public but outside PyO3's semver promise, hence the exact version in Cargo.lock.
    // SAFETY: called by CPython with the GIL held, `slf` and `chunk` live for the call.
    unsafe { pyo3::impl_::trampoline::binaryfunc(slf, chunk, feed_body) }
}

/// Feeds a chunk (`str`, or UTF-8 `bytes` cut anywhere); True if `value` visibly changed.
unsafe fn feed_body(
    py: Python<'_>,
    slf: *mut pyo3::ffi::PyObject,
    chunk: *mut pyo3::ffi::PyObject,
) -> PyResult<*mut pyo3::ffi::PyObject> {
    // SAFETY: the method descriptor calls this only with a `Parser` as `self` (it checks), and both
    // pointers are borrowed for the call. Borrowed, not owned: with the limited API each reference
    // count change is a call into the interpreter, and these four were ~3% of a token-sized chunk.
    let (parser, chunk) = unsafe {
        (
            Borrowed::from_ptr(py, slf).cast_unchecked::<PyParser>(),
            Borrowed::from_ptr(py, chunk),
        )
    };
    let changed = parser.get().state()?.feed(py, &chunk)?;
    // Picked with no branch: whether a chunk changed `value` is as unpredictable as the text (a branch
    // on it missed ~13,000 times a catalog pass, in callgrind's model).
    let obj = [pyo3::ffi::Py_False(), pyo3::ffi::Py_True()][usize::from(changed)];
    if !IMMORTAL_BOOLS.load(Ordering::Relaxed) {
        // The new reference the result is, taken as CPython 3.10 and 3.11's own `Py_INCREF` does,
        // with no call (`Py_IncRef` is one with the limited API).
        // SAFETY: a live object's count is its first field, a `Py_ssize_t` (as in every build an
        // abi3 extension loads into); the GIL is held.
        unsafe { *obj.cast::<pyo3::ffi::Py_ssize_t>() += 1 };
    }
    Ok(obj)
}

/// Whether this interpreter's `True` and `False` are immortal (3.12 on): then the one `feed` returns
/// takes no new reference. (A flag, not a second `feed` for each case: two copies of the function
/// left PyO3's trampoline out of line, ~24 instructions a chunk more.)
static IMMORTAL_BOOLS: AtomicBool = AtomicBool::new(false);

/// Installs `feed` on `Parser`.
fn feed_method(py: Python<'_>, cls: &Bound<'_, PyType>) -> PyResult<()> {
    IMMORTAL_BOOLS.store(py.version_info() >= (3, 12), Ordering::Relaxed);
    let def = Box::leak(Box::new(pyo3::ffi::PyMethodDef {
        ml_name: c"feed".as_ptr(),
        ml_meth: pyo3::ffi::PyMethodDefPointer { PyCFunction: feed },
        ml_flags: pyo3::ffi::METH_O,
        ml_doc:
            c"feed($self, chunk, /)\n--\n\nFeeds a chunk (`str`, or UTF-8 `bytes` cut anywhere); \
True if `value` visibly changed."
                .as_ptr(),
    }));
    // SAFETY: `def` lives forever (leaked once per interpreter); the result is a new reference or NULL.
    let descr = unsafe {
        Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyDescr_NewMethod(cls.as_type_ptr(), def))?
    };
    cls.setattr("feed", descr)
}

/// Whether this interpreter's `str` layout passed the check that lets open strings grow in place.
#[pyfunction]
fn _grows_strings_in_place(py: Python<'_>) -> bool {
    live_str::supported(py)
}

/// Whether this interpreter's `dict` version tag passed the check that lets the open string's dict
/// be known unchanged without a lookup.
#[pyfunction]
fn _reads_dict_versions(py: Python<'_>) -> bool {
    dict_version::readable(py)
}

/// The room, in characters, that a new growing `str` has past its text (tests fill around its end).
#[pyfunction]
fn _first_room() -> usize {
    live_str::FIRST_ROOM
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyParser>()?;
    value_member(m.py(), &m.py().get_type::<PyParser>())?;
    feed_method(m.py(), &m.py().get_type::<PyParser>())?;
    m.add_function(wrap_pyfunction!(parse_partial, m)?)?;
    // Private (not in `__all__`): for tests.
    m.setattr(
        "_grows_strings_in_place",
        wrap_pyfunction!(_grows_strings_in_place, m)?,
    )?;
    m.setattr(
        "_reads_dict_versions",
        wrap_pyfunction!(_reads_dict_versions, m)?,
    )?;
    m.setattr("_first_room", wrap_pyfunction!(_first_room, m)?)?;
    m.add_function(wrap_pyfunction!(snapshot::build_partial, m)?)?;
    m.add_function(wrap_pyfunction!(snapshot::same_partial, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
