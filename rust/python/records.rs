//! The typed records the Python engine hands the core: the open path's levels (how to build each
//! level of a snapshot) and the innermost frame (what the core may take in by itself). Each is checked
//! when it is made, so a wrong type is a `TypeError` at the boundary, never a crash inside the core.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};
use pyo3::{PyTraverseError, PyVisit};

static BASE_MODEL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static HIDDEN: PyOnceLock<Py<Hidden>> = PyOnceLock::new();
static LATER: PyOnceLock<Py<Later>> = PyOnceLock::new();

/// What the engine's `closed` returns for a member shown only once its object closes (a field with a
/// validator of its model's, which may change it then): `take_in` leaves it out of `done`.
#[pyclass(module = "unspool._core", frozen)]
pub struct Later;

#[pymethods]
impl Later {
    fn __repr__(&self) -> &'static str {
        "LATER"
    }
}

/// The one `Later` instance.
pub fn later(py: Python<'_>) -> PyResult<&Bound<'_, Later>> {
    LATER
        .get_or_try_init(py, || Py::new(py, Later))
        .map(|h| h.bind(py))
}

/// What the engine's `closed` returns for a member that closed invalid: `take_in` leaves it out of
/// `done` (a field then reads as its placeholder, a list or dict loses the element) and sets the
/// frame's `failed`.
#[pyclass(module = "unspool._core", frozen)]
pub struct Hidden;

#[pymethods]
impl Hidden {
    fn __repr__(&self) -> &'static str {
        "HIDDEN"
    }
}

/// The one `Hidden` instance.
pub fn hidden(py: Python<'_>) -> PyResult<&Bound<'_, Hidden>> {
    HIDDEN
        .get_or_try_init(py, || Py::new(py, Hidden))
        .map(|h| h.bind(py))
}

/// `cls` if it is a pydantic model class: snapshot objects are made with `PyType_GenericAlloc` and
/// filled through slot setters, which is sound for a model's layout only (a `dict` made that way,
/// say, is never initialised).
fn model_class(cls: Bound<'_, PyType>) -> PyResult<Py<PyType>> {
    let base = BASE_MODEL.import(cls.py(), "pydantic", "BaseModel")?;
    if !cls.is_subclass(base)? {
        return Err(PyTypeError::new_err(format!(
            "a level's class must be a pydantic model class, not {}",
            cls.name()?
        )));
    }
    Ok(cls.unbind())
}

/// Visits each object, for the garbage collector.
fn visit_all<'a>(
    visit: &PyVisit<'_>,
    objs: impl IntoIterator<Item = &'a Py<PyAny>>,
) -> Result<(), PyTraverseError> {
    for obj in objs {
        visit.call(obj)?;
    }
    Ok(())
}

/// A model level: `shown` holds every field's value but the open one's, `done` the fields that closed,
/// `open_name` the field now open, `not_null` the fields that hold the object back until they have a
/// value, `setters` the slot descriptors (see `snapshot::make_model`), `marker` its `_unspool_done`.
#[pyclass(module = "unspool._core", frozen, get_all)]
pub struct ModelLevel {
    pub cls: Py<PyType>,
    pub shown: Py<PyDict>,
    pub done: Py<PyDict>,
    pub open_name: Option<Py<PyAny>>,
    pub not_null: Py<PyTuple>,
    pub fields_set: Py<PyAny>,
    pub setters: Py<PyTuple>,
    pub marker: Py<PyAny>,
}

#[pymethods]
impl ModelLevel {
    #[new]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (model, shown, done, open_name, not_null, fields_set, setters, marker, /))]
    fn new(
        model: Bound<'_, PyType>,
        shown: Py<PyDict>,
        done: Py<PyDict>,
        open_name: Option<Py<PyAny>>,
        not_null: Py<PyTuple>,
        fields_set: Py<PyAny>,
        setters: Bound<'_, PyTuple>,
        marker: Py<PyAny>,
    ) -> PyResult<Self> {
        super::snapshot::check_setters(&setters)?;
        Ok(ModelLevel {
            cls: model_class(model)?,
            shown,
            done,
            open_name,
            not_null,
            fields_set,
            setters: setters.unbind(),
            marker,
        })
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit_all(
            &visit,
            [
                self.cls.as_any(),
                self.shown.as_any(),
                self.done.as_any(),
                self.not_null.as_any(),
                &self.fields_set,
                self.setters.as_any(),
                &self.marker,
            ]
            .into_iter()
            .chain(&self.open_name),
        )
    }
}

/// A list level: its finished items.
#[pyclass(module = "unspool._core", frozen, get_all)]
pub struct ListLevel {
    pub done: Py<PyList>,
}

#[pymethods]
impl ListLevel {
    #[new]
    #[pyo3(signature = (done, /))]
    fn new(done: Py<PyList>) -> Self {
        ListLevel { done }
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.done)
    }
}

/// A dict level: its finished values, and the key of the one now open.
#[pyclass(module = "unspool._core", frozen, get_all)]
pub struct DictLevel {
    pub done: Py<PyDict>,
    pub open_key: Py<PyAny>,
}

#[pymethods]
impl DictLevel {
    #[new]
    #[pyo3(signature = (done, open_key, /))]
    fn new(done: Py<PyDict>, open_key: Py<PyAny>) -> Self {
        DictLevel { done, open_key }
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit_all(&visit, [self.done.as_any(), &self.open_key])
    }
}

/// A RootModel around the next level.
#[pyclass(module = "unspool._core", frozen, get_all)]
pub struct RootModelLevel {
    pub cls: Py<PyType>,
    pub fields_set: Py<PyAny>,
    pub setters: Py<PyTuple>,
}

#[pymethods]
impl RootModelLevel {
    #[new]
    #[pyo3(signature = (model, fields_set, setters, /))]
    fn new(
        model: Bound<'_, PyType>,
        fields_set: Py<PyAny>,
        setters: Bound<'_, PyTuple>,
    ) -> PyResult<Self> {
        super::snapshot::check_setters(&setters)?;
        Ok(RootModelLevel {
            cls: model_class(model)?,
            fields_set,
            setters: setters.unbind(),
        })
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit_all(
            &visit,
            [self.cls.as_any(), &self.fields_set, self.setters.as_any()],
        )
    }
}

/// How the core takes in one member (an object's field, or a list's items) that closed as a scalar:
/// as it is when its type is exactly one of `as_is`, else validated through the engine with `node`;
/// `name` is the field's name (None for list items); `streams_text`: the member shows its text while
/// it is open; `limit`: the most characters its open text may show (its `max_length`).
#[pyclass(module = "unspool._core", frozen, get_all)]
pub struct Member {
    pub name: Option<Py<PyAny>>,
    pub as_is: Py<PyTuple>,
    pub streams_text: bool,
    pub node: Py<PyAny>,
    pub limit: Option<usize>,
}

#[pymethods]
impl Member {
    #[new]
    #[pyo3(signature = (name, as_is, streams_text, node, /, limit=None))]
    fn new(
        name: Option<Py<PyAny>>,
        as_is: Py<PyTuple>,
        streams_text: bool,
        node: Py<PyAny>,
        limit: Option<usize>,
    ) -> Self {
        Member {
            name,
            as_is,
            streams_text,
            node,
            limit,
        }
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit_all(
            &visit,
            [self.as_is.as_any(), &self.node]
                .into_iter()
                .chain(&self.name),
        )
    }
}

/// An engine frame (`frame`, whose `n` is kept current), following `raw` with its finished values in
/// `done`: a model's `fields` (JSON key -> `Member`), or the `item` of a dict or list.
/// `closed(node, raw)` validates a member that is not already its validated value.
#[pyclass(module = "unspool._core", frozen, get_all)]
pub struct InnerFrame {
    pub frame: Py<PyAny>,
    pub raw: Py<PyAny>,
    pub done: Py<PyAny>,
    pub n: usize,
    pub fields: Option<Py<PyDict>>,
    pub item: Option<Py<Member>>,
    pub closed: Py<PyAny>,
}

#[pymethods]
impl InnerFrame {
    #[new]
    #[pyo3(signature = (frame, raw, done, n, closed, /, *, fields=None, item=None))]
    fn new(
        frame: Py<PyAny>,
        raw: Bound<'_, PyAny>,
        done: Bound<'_, PyAny>,
        n: usize,
        closed: Py<PyAny>,
        fields: Option<Py<PyDict>>,
        item: Option<Py<Member>>,
    ) -> PyResult<Self> {
        // A model's frame follows a dict into a dict of fields; a dict's, a dict into a dict of its
        // values; a list's, a list into a list.
        let object = raw.is_exact_instance_of::<PyDict>() && done.is_exact_instance_of::<PyDict>();
        let list = raw.is_exact_instance_of::<PyList>() && done.is_exact_instance_of::<PyList>();
        let shape_ok = match (&fields, &item) {
            (Some(_), None) => object,
            (None, Some(_)) => object || list,
            _ => false,
        };
        if !shape_ok {
            return Err(PyTypeError::new_err(
                "InnerFrame takes raw and done as two dicts with fields= or item=, or two lists with item=",
            ));
        }
        Ok(InnerFrame {
            frame,
            raw: raw.unbind(),
            done: done.unbind(),
            n,
            fields,
            item,
            closed,
        })
    }

    /// Takes in the members of `raw` from `n` to `total`, which have closed (see `follow::take_in`).
    fn take_in(&self, py: Python<'_>, total: usize, strict: bool) -> PyResult<()> {
        super::follow::take_in(self, py, self.n, total, strict).map(drop)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit_all(
            &visit,
            [&self.frame, &self.raw, &self.done, &self.closed]
                .into_iter()
                .chain(self.fields.as_ref().map(|f| f.as_any()))
                .chain(self.item.as_ref().map(|i| i.as_any())),
        )
    }
}
