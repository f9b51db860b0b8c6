//! `unspool._core.Parser`: a [`Parser`] whose sink builds Python objects (see `builder`), and
//! `parse_partial`.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple, PyType};
use pyo3::{PyTraverseError, PyVisit};

use super::builder::{Builder, PySink, RootSlot};
use super::cpython::live_str;
use super::follow::Follow;
use super::records::InnerFrame;
use crate::error::ParseError;
use crate::parser::{Mode, Options, Parser};

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

/// A parser's state: the core parser, the Python objects it built, and the partial layer's hookup.
pub(super) struct State {
    pub(super) parser: Parser,
    pub(super) builder: Builder,
    pub(super) follow: Follow,
    /// The UTF-8 form of the last non-ASCII `str` chunk (see `live_str::utf8_of`).
    utf8: Vec<u8>,
}

/// A `RefCell` shared between threads only under the GIL.
///
/// PyO3's own borrow flag for a mutable class is atomic: its `lock cmpxchg` alone was ~7 ns of a
/// ~125 ns `feed`. A plain flag is enough where there is a GIL: every access holds it (each is a call
/// from Python, or the garbage collector's traversal), and handing the GIL over orders memory. This is
/// not a claim about CPython's internals but about the GIL itself, so it needs no `cpython` gate; a
/// free-threaded build has no GIL, and the binding refuses to build for one (see `mod.rs`).
pub(super) struct GilCell<T>(std::cell::RefCell<T>);

// SAFETY: see above: only touched with the GIL held, on builds that have one.
#[cfg(not(Py_GIL_DISABLED))]
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
    pub(super) fn new(py: Python<'_>, lenient: bool, max_depth: usize) -> Self {
        let mode = if lenient { Mode::Lenient } else { Mode::Strict };
        State {
            parser: Parser::new(Options { mode, max_depth }),
            builder: Builder::new(py),
            follow: Follow::default(),
            utf8: Vec::new(),
        }
    }

    /// Feeds a chunk (`str`, or UTF-8 `bytes` cut anywhere); True if `value` visibly changed.
    pub(super) fn feed(&mut self, py: Python<'_>, chunk: &Bound<'_, PyAny>) -> PyResult<bool> {
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
    pub(super) fn finish(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let mut sink = PySink {
            py,
            b: &mut self.builder,
        };
        let r = self.parser.finish(&mut sink);
        self.check(py, r)?;
        Ok(self.builder.root(py))
    }

    /// `value` with the open string brought up to date (the partial layer's parser leaves it to this).
    pub(super) fn synced_value(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.builder.sync_open_string(py, &self.parser)?;
        Ok(self.builder.root(py))
    }

    /// How many containers have opened or closed; unchanged means the same containers are open.
    pub(super) fn containers(&self) -> u64 {
        self.builder.containers
    }

    #[inline(always)]
    pub(super) fn check(&mut self, py: Python<'_>, r: Result<(), ParseError>) -> PyResult<()> {
        if let Some(e) = &self.builder.error {
            return Err(e.clone_ref(py));
        }
        r.map_err(|e| decode_error(py, &e))
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

    /// Feeds a chunk (`str`, or UTF-8 `bytes` cut anywhere); True if `value` visibly changed.
    #[pyo3(signature = (chunk, /))]
    fn feed(&self, py: Python<'_>, chunk: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.state()?.feed(py, chunk)
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
    #[pyo3(signature = (specs, text, hold, fast=None, limit=None))]
    fn follow(
        &self,
        specs: &Bound<'_, PyList>,
        text: bool,
        hold: bool,
        fast: Option<&Bound<'_, InnerFrame>>,
        limit: Option<usize>,
    ) -> PyResult<()> {
        self.state()?.follow(specs, text, hold, fast, limit)
    }

    /// The open dicts in which a key came again since the last call (their earlier member was
    /// removed, and the later value added at the end): the partial layer takes their members in again.
    #[pyo3(name = "_take_repeated")]
    fn take_repeated(&self) -> PyResult<Vec<Py<PyDict>>> {
        Ok(std::mem::take(&mut self.state()?.builder.repeated))
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
        // The value and its open containers: a consumer may store the parser in them.
        state.builder.visit(&visit)?;
        // `settle` is a method of the engine that owns this parser: a cycle only the GC can break.
        let f = &state.follow;
        for obj in [&f.settle, &f.partial, &f.unchanged].into_iter().flatten() {
            visit.call(obj)?;
        }
        if let Some(fast) = &f.fast {
            // The engine's frame and its values (which the engine holds too), and a method of the
            // engine. Finished values can hold anything a validator put there, the stream included.
            visit.call(&fast.record)?;
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
            // Garbage now: what it built is let go of (and `value` reads None).
            Python::attach(|py| state.builder = Builder::new(py));
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

    /// Lenient mode: how many false starts (a `{`/`[` that did not start JSON) were discarded; a
    /// `feed` after which it grew dropped the partial value shown before. Always 0 when strict.
    #[getter]
    fn restarts(&self) -> PyResult<u64> {
        Ok(self.read()?.parser.restarts())
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
pub(super) fn parse_partial(
    py: Python<'_>,
    text: &Bound<'_, PyAny>,
    lenient: bool,
) -> PyResult<Py<PyAny>> {
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
pub(super) fn value_member(py: Python<'_>, cls: &Bound<'_, PyType>) -> PyResult<()> {
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
