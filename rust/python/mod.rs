//! The PyO3 binding, `unspool._core`: the parser (`parser`, building Python objects through
//! `builder`), the typed stream's per-chunk hookup (`follow`, `snapshot`), the OpenAI wire reader
//! (`wire`), and the one module that owns every assumption about CPython's internals (`cpython`).

use pyo3::prelude::*;

// The parser's state is shared under the GIL (see `parser::GilCell`, `builder::RootSlot`). A
// free-threaded CPython has no GIL to share it under; the abi3 wheel never loads there, and a build
// from source stops here rather than race.
#[cfg(Py_GIL_DISABLED)]
compile_error!(
    "unspool does not support free-threaded CPython builds yet (use a build with the GIL)"
);

mod builder;
mod cpython;
mod follow;
mod keys;
mod parser;
mod records;
mod snapshot;
mod wire;

/// The names of the CPython-internals shortcuts in effect (see `cpython`); empty when portable.
#[pyfunction]
fn shortcuts(py: Python<'_>) -> PyResult<Bound<'_, pyo3::types::PyTuple>> {
    pyo3::types::PyTuple::new(py, cpython::names())
}

/// The room, in characters, that a new growing `str` has past its text (tests fill around its end).
#[pyfunction]
fn _first_room() -> usize {
    cpython::live_str::FIRST_ROOM
}

// `gil_used`: every call takes the GIL, and the parser's state is shared on that ground (see
// `parser::GilCell`); a free-threaded interpreter turns its GIL on to import this module.
#[pymodule(gil_used = true)]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    cpython::init(m.py())?;
    m.add_class::<parser::PyParser>()?;
    parser::value_member(m.py(), &m.py().get_type::<parser::PyParser>())?;
    m.add_function(wrap_pyfunction!(parser::parse_partial, m)?)?;
    m.add_function(wrap_pyfunction!(shortcuts, m)?)?;
    m.add_class::<wire::PyWireReader>()?;
    m.add(
        "WireStreamError",
        m.py().get_type::<wire::WireStreamError>(),
    )?;
    // The engine's records (see `records`).
    m.add_class::<records::ModelLevel>()?;
    m.add_class::<records::ListLevel>()?;
    m.add_class::<records::DictLevel>()?;
    m.add_class::<records::RootModelLevel>()?;
    m.add_class::<records::Member>()?;
    m.add_class::<records::InnerFrame>()?;
    m.add("HIDDEN", records::hidden(m.py())?)?;
    m.add("LATER", records::later(m.py())?)?;
    // Private (not in `__all__`): for tests.
    m.setattr("_first_room", wrap_pyfunction!(_first_room, m)?)?;
    m.add_function(wrap_pyfunction!(snapshot::build_partial, m)?)?;
    m.add_function(wrap_pyfunction!(snapshot::same_partial, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
