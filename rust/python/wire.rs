//! `unspool._core.WireReader`: the core's [`WireReader`] for Python, one call per network read.
//!
//! A read's items come back as small tuples whose first element is a kind code (the class's `TEXT`,
//! `ARGS`, ... attributes), so a read costs one call and a few objects per item, however many events
//! it held.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::wire::{Api, WireError, WireItem, WireReader};

pyo3::create_exception!(
    unspool._core,
    WireStreamError,
    PyValueError,
    "The event stream is not what the OpenAI API sends: invalid UTF-8, or a needed event whose JSON is bad. `byte_pos` is the stream offset of the bad byte, `event` the event's type (None for invalid UTF-8)."
);

/// A read past this many bytes is read with the GIL released (a smaller one is done before that
/// would pay off).
const DETACH_AT: usize = 8 * 1024;

/// The Python exception for a core error: its message, the byte and the event type as attributes.
fn stream_error(py: Python<'_>, e: &WireError) -> PyErr {
    let err = WireStreamError::new_err(e.to_string());
    let (byte, event) = match e {
        WireError::InvalidUtf8 { byte } => (*byte, None),
        WireError::BadEvent { event, byte, .. } => (*byte, Some(event.as_str())),
    };
    let value = err.value(py);
    match value
        .setattr("byte_pos", byte)
        .and_then(|()| value.setattr("event", event))
    {
        Ok(()) => err,
        Err(other) => other,
    }
}

/// Reads an OpenAI event stream (Chat Completions or Responses) fed as the bytes of each network read.
#[pyclass(module = "unspool._core", name = "WireReader")]
pub struct PyWireReader {
    reader: WireReader,
    /// Reused for each read's items.
    items: Vec<WireItem>,
}

#[pymethods]
impl PyWireReader {
    #[classattr]
    const TEXT: u8 = 0;
    #[classattr]
    const ARGS: u8 = 1;
    #[classattr]
    const ITEM: u8 = 2;
    #[classattr]
    const REFUSAL: u8 = 3;
    #[classattr]
    const FINISH: u8 = 4;
    #[classattr]
    const ID: u8 = 5;
    #[classattr]
    const USAGE: u8 = 6;
    #[classattr]
    const ERROR: u8 = 7;
    #[classattr]
    const DONE: u8 = 8;

    #[new]
    #[pyo3(signature = (api, /))]
    fn new(api: &str) -> PyResult<Self> {
        let api = match api {
            "chat" => Api::Chat,
            "responses" => Api::Responses,
            other => {
                return Err(PyValueError::new_err(format!(
                    "WireReader reads the \"chat\" or the \"responses\" stream, not {other:?}"
                )))
            }
        };
        Ok(PyWireReader {
            reader: WireReader::new(api),
            items: Vec::new(),
        })
    }

    /// The items of the events this read completes, merged (see the stub for the tuples). Bad input
    /// raises `WireStreamError`, unless items came before it in this read: then they are returned, and
    /// the next call raises it.
    #[pyo3(signature = (data, /))]
    fn feed<'py>(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyList>> {
        let (reader, items) = (&mut self.reader, &mut self.items);
        items.clear();
        let r = match data.len() >= DETACH_AT {
            true => py.detach(|| reader.feed(data, items)),
            false => reader.feed(data, items),
        };
        if let Err(e) = r {
            if items.is_empty() {
                return Err(stream_error(py, &e));
            }
        }
        let list = PyList::empty(py);
        for item in items.drain(..) {
            list.append(item_tuple(py, item)?)?;
        }
        Ok(list)
    }

    /// The end of the body: an event cut short is dropped, as the SDK drops it (`cut` tells whether
    /// one was). Raises `WireStreamError` for bad input not raised yet. What is fed after it is
    /// not read.
    fn finish(&mut self, py: Python<'_>) -> PyResult<()> {
        self.reader.finish().map_err(|e| stream_error(py, &e))
    }

    /// `"chat"` or `"responses"`.
    #[getter]
    fn api(&self) -> &'static str {
        match self.reader.api() {
            Api::Chat => "chat",
            Api::Responses => "responses",
        }
    }

    /// How many bytes were fed.
    #[getter]
    fn bytes_read(&self) -> usize {
        self.reader.bytes_read()
    }

    /// `DONE` or `ERROR` was read: the bytes after it are not.
    #[getter]
    fn ended(&self) -> bool {
        self.reader.ended()
    }

    /// `finish()` found the body cut inside an event (which it dropped).
    #[getter]
    fn cut(&self) -> bool {
        self.reader.cut()
    }

    fn __repr__(&self) -> String {
        format!(
            "WireReader({:?}, bytes_read={}, ended={})",
            self.api(),
            self.bytes_read(),
            if self.ended() { "True" } else { "False" }
        )
    }
}

fn item_tuple(py: Python<'_>, item: WireItem) -> PyResult<Bound<'_, PyTuple>> {
    use PyWireReader as K;
    let t = match item {
        WireItem::Text(s) => (K::TEXT, s).into_pyobject(py)?,
        WireItem::Args { key, text } => (K::ARGS, key, text).into_pyobject(py)?,
        WireItem::Item { key, is_call } => (K::ITEM, key, is_call).into_pyobject(py)?,
        WireItem::Refusal(s) => (K::REFUSAL, s).into_pyobject(py)?,
        WireItem::Finish(s) => (K::FINISH, s).into_pyobject(py)?,
        WireItem::Id(s) => (K::ID, s).into_pyobject(py)?,
        WireItem::Usage(s) => (K::USAGE, s).into_pyobject(py)?,
        WireItem::Error { message, body } => (K::ERROR, message, body).into_pyobject(py)?,
        WireItem::Done => (K::DONE,).into_pyobject(py)?,
    };
    Ok(t)
}
