//! The partial layer's hookup: what `Parser._step` does per chunk for the typed stream, and the
//! structural changes the core takes in itself (members that closed as scalars) so that the Python
//! engine settles only containers opening and closing.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use super::builder::Node;
use super::parser::State;
use super::records::{InnerFrame, Member};
use super::snapshot;

/// The engine's innermost open frame (see `records::InnerFrame`), for the structural changes the
/// core takes in itself: members that closed as scalars (as they are when the member's `as_is` types
/// allow, else validated through the engine's `closed`) and the next member starting. Containers
/// opening or closing go to the engine.
pub(super) struct Fast {
    pub(super) record: Py<InnerFrame>,
    /// Members of its `raw` taken in so far.
    pub(super) n: usize,
    /// The container count the engine last saw: any container opening or closing goes to it.
    pub(super) containers: u64,
}

/// Takes in the members of `rec.raw` from `n` to `total`, which have closed: each as it is where its
/// type is exactly one of its member's `as_is` types (unless `strict`), else validated through
/// `rec.closed(node, value)` (which records a failure as the engine does); then writes them into
/// `rec.done` (a field under its name, a dict's value under its key, a list's item at its end; a key
/// that is no field stays in `raw` for the model's own validation) and sets `rec.frame.n` to `total`.
/// A member that closed invalid (`closed` returned `HIDDEN`) is left out, and `rec.frame.failed` set;
/// one shown only when its object closes (`LATER`) is left out.
/// Everything is read and validated before anything changes. Returns the fields written, by name.
///
/// The one place closed members are taken in: by the engine when it settles a frame
/// (`InnerFrame.take_in`), and by the core in `settle_here` when only scalars closed.
pub(super) fn take_in<'py>(
    rec: &InnerFrame,
    py: Python<'py>,
    n: usize,
    total: usize,
    strict: bool,
) -> PyResult<Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
    if total <= n {
        return Ok(Vec::new());
    }
    let raw = rec.raw.bind(py);
    // Each: where it goes (a field's name or a dict's key; None for a list item), its value, and the
    // node that validates it when it is not already its validated value.
    type Taken<'py> = (
        Option<Bound<'py, PyAny>>,
        Bound<'py, PyAny>,
        Option<Bound<'py, PyAny>>,
    );
    let mut taken: Vec<Taken<'py>> = Vec::with_capacity(total - n);
    let node_for = |m: &Member, v: &Bound<'py, PyAny>| {
        (strict || !type_in(v, m.as_is.bind(py))).then(|| m.node.bind(py).clone())
    };
    if let Ok(dict) = raw.cast::<PyDict>() {
        for (k, v) in dict.iter().skip(n).take(total - n) {
            match (&rec.fields, &rec.item) {
                // A key that is no field is not taken: the model's own validation sees it in `raw`.
                (Some(fields), _) => {
                    if let Some(entry) = fields.bind(py).get_item(&k)? {
                        let m = entry.cast_into::<Member>()?;
                        let m = m.get();
                        let node = node_for(m, &v);
                        let name = m
                            .name
                            .as_ref()
                            .map_or_else(|| k.clone(), |n| n.bind(py).clone());
                        taken.push((Some(name), v, node));
                    }
                }
                (None, Some(item)) => {
                    let node = node_for(item.get(), &v);
                    taken.push((Some(k), v, node));
                }
                (None, None) => unreachable!("an InnerFrame has fields or an item"),
            }
        }
    } else {
        let list = raw.cast::<PyList>()?;
        let item = rec
            .item
            .as_ref()
            .expect("a list's InnerFrame has an item")
            .get();
        for i in n..total {
            let v = list.get_item(i)?;
            let node = node_for(item, &v);
            taken.push((None, v, node));
        }
    }
    let check = rec.closed.bind(py);
    for (_, value, node) in taken.iter_mut() {
        if let Some(node) = node.take() {
            *value = check.call1((node, &*value))?;
        }
    }
    let done = rec.done.bind(py);
    let hidden = super::records::hidden(py)?;
    let later = super::records::later(py)?;
    let mut named = Vec::with_capacity(taken.len());
    let mut failed = false;
    for (name, value, _) in taken {
        if value.is(hidden) {
            failed = true;
            continue;
        }
        if value.is(later) {
            continue;
        }
        match name {
            Some(name) => {
                done.set_item(&name, &value)?;
                named.push((name, value));
            }
            None => done.cast::<PyList>()?.append(value)?,
        }
    }
    let frame = rec.frame.bind(py);
    frame.setattr(intern!(py, "n"), total)?;
    if failed {
        frame.setattr(intern!(py, "failed"), true)?;
    }
    Ok(named)
}

/// True if the open text `child` has more characters than `limit`.
fn past_limit(child: Option<&Bound<'_, PyAny>>, limit: Option<usize>) -> PyResult<bool> {
    match (child, limit) {
        (Some(c), Some(limit)) => Ok(c.len()? > limit),
        _ => Ok(false),
    }
}

/// True if `value`'s type is one of `types` (exactly, as the engine's `type(value) in as_is`).
pub(super) fn type_in(value: &Bound<'_, PyAny>, types: &Bound<'_, PyTuple>) -> bool {
    let ty = value.get_type();
    types.iter().any(|t| t.is(&ty))
}

/// The partial layer's per-chunk state (see `PyParser::step`); empty for plain parsing.
#[derive(Default)]
pub(super) struct Follow {
    pub(super) fast: Option<Fast>,
    /// Whether the core took in a structural change since the engine last settled one.
    pub(super) touched: bool,
    /// The open path's levels (they hold classes and finished values only: no cycle back to Python
    /// objects that own this parser).
    pub(super) levels: Option<snapshot::Levels>,
    /// Earlier snapshots' objects, refilled once nothing else holds them.
    pub(super) spares: snapshot::Spares,
    pub(super) text: bool,
    /// The most characters the open text may show: past it, the engine hides it (see `step`).
    pub(super) limit: Option<usize>,
    pub(super) hold: bool,
    pub(super) partial: Option<Py<PyAny>>,
    pub(super) parts: Option<Py<PyList>>,
    pub(super) settle: Option<Py<PyAny>>,
    /// What `step` returns when nothing visible changed (None can be a partial value itself).
    pub(super) unchanged: Option<Py<PyAny>>,
}

impl State {
    /// Takes in a structural change the engine need not see (see `Fast`): the new partial, or
    /// `unchanged`; None if the engine must settle it. On the Catalog workload this takes in 9,178 of
    /// the 11,969 structural changes (scalars that need validating included: 1,400 of them, ~5% of a
    /// stream's instructions); the engine settles only containers opening and closing.
    pub(super) fn settle_here<'py>(
        &mut self,
        py: Python<'py>,
        unchanged: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(fast) = self.follow.fast.as_mut() else {
            return Ok(None);
        };
        // (A key that came again: the engine takes the dict's members in again.)
        if self.parser.is_complete()
            || self.builder.containers != fast.containers
            || !self.builder.repeated.is_empty()
        {
            return Ok(None);
        }
        let top = match self.builder.frames.last().map(|f| &f.obj) {
            Some(Node::Dict(d)) => d.as_ptr(),
            Some(Node::List(l)) => l.as_ptr(),
            None => return Ok(None),
        };
        let rec = fast.record.get();
        if top != rec.raw.as_ptr() {
            return Ok(None);
        }
        // The open string takes its slot in `raw` first, as reading `value` would.
        self.builder.sync_open_string(py, &self.parser)?;
        let open = self.builder.open.as_ref();
        let raw = rec.raw.bind(py);
        let total = raw.len()?.saturating_sub(usize::from(open.is_some()));
        let named = take_in(rec, py, fast.n, total, false)?;
        let fast = self.follow.fast.as_mut().expect("checked above");
        let rec = fast.record.get();
        let done = rec.done.bind(py);
        fast.n = fast.n.max(total);
        // The member now open, if a string is (anything else visible would have been a container).
        let (open_name, text, limit) = match (open, &rec.fields, &rec.item) {
            (Some(o), Some(fields), _) => match o.key.as_ref() {
                Some(key) => match fields.bind(py).get_item(key)? {
                    Some(entry) => {
                        let m = entry.cast_into::<Member>()?;
                        let m = m.get();
                        let name = m.name.as_ref().map(|n| n.bind(py).clone());
                        (name, m.streams_text, m.limit)
                    }
                    None => (None, false, None),
                },
                None => (None, false, None),
            },
            (Some(_), None, Some(item)) => (None, item.get().streams_text, item.get().limit),
            _ => (None, false, None),
        };
        let marker = if rec.fields.is_some() {
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
        self.follow.limit = limit;
        self.follow.touched = true;
        let child = if text { self.open_text(py)? } else { None };
        if past_limit(child.as_ref(), limit)? {
            return Ok(None);
        }
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
    pub(super) fn open_text<'py>(
        &mut self,
        py: Python<'py>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.builder.sync_open_string(py, &self.parser)?;
        Ok(self
            .builder
            .open
            .as_ref()
            .and_then(|o| o.shown_str.get())
            .map(|s| s.bind(py).clone().into_any()))
    }
}

impl State {
    /// The partial object of the open path the last `_follow` described, with the open string as the
    /// innermost value when `text` is true.
    pub(super) fn snapshot<'py>(
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
    pub(super) fn hook(&mut self, parts: Py<PyList>, settle: Py<PyAny>, unchanged: Py<PyAny>) {
        self.builder.grow = false;
        self.builder.track_repeats = true;
        self.follow.parts = Some(parts);
        self.follow.settle = Some(settle);
        self.follow.unchanged = Some(unchanged);
    }

    /// What `step` snapshots while only the open string grows: `specs` (see `snapshot::Levels`), with
    /// the string when `text`; `hold`: a NotNull object may keep the snapshot at the last one, so
    /// compare. `fast`: None, or the innermost frame (see `Fast`).
    pub(super) fn follow(
        &mut self,
        specs: &Bound<'_, PyList>,
        text: bool,
        hold: bool,
        fast: Option<&Bound<'_, InnerFrame>>,
        limit: Option<usize>,
    ) -> PyResult<()> {
        // Everything is read before anything changes, so a failure leaves the last state whole.
        let levels = snapshot::Levels::parse(specs)?;
        let fast = fast.map(|f| Fast {
            record: f.clone().unbind(),
            n: f.get().n,
            containers: self.builder.containers,
        });
        self.follow.levels = Some(levels);
        self.follow.fast = fast;
        self.follow.text = text;
        self.follow.limit = limit;
        self.follow.hold = hold;
        self.follow.touched = false;
        Ok(())
    }

    /// Whether the core took in a structural change itself since the last `_follow` (then the engine's
    /// record of its innermost frame's open member is out of date).
    pub(super) fn touched(&self) -> bool {
        self.follow.touched
    }

    /// The last partial `step` or `settle()` made (None before any).
    pub(super) fn partial(&self, py: Python<'_>) -> Py<PyAny> {
        self.follow
            .partial
            .as_ref()
            .map_or_else(|| py.None(), |p| p.clone_ref(py))
    }

    pub(super) fn set_partial(&mut self, value: Py<PyAny>) {
        self.follow.partial = Some(value);
    }

    /// The partial layer's per-chunk step: feeds `chunk`; returns the new partial, or the `unchanged`
    /// marker given to `_hook` if nothing visible changed. Doing the common case here (only the open string grew) spares a Python call
    /// per chunk.
    /// `Ok(partial)` when done here, `Err(settle)` when the engine must settle the change (called
    /// by the caller once this state is no longer borrowed: `settle` reads the parser).
    pub(super) fn step<'py>(
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
            // A chunk that only closes containers (a lone `}`) changes nothing visible in the raw
            // value, but its parts have closed: the engine must see that at once.
            if !this.feed(py, chunk)? && this.builder.events == before {
                return none();
            }
            if this.builder.events == before {
                if !this.follow.text || this.follow.levels.is_none() {
                    return none();
                }
                let child = this.open_text(py)?;
                if past_limit(child.as_ref(), this.follow.limit)? {
                    // Invalid from now on: the engine records the error and hides the text.
                    return Ok(Err(this.follow.settle.as_ref().map(|f| f.clone_ref(py))));
                }
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
