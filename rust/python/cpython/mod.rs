//! Every assumption the binding makes about CPython beyond its stable ABI, and the switch for them.
//!
//! Each [`Shortcut`] reads an object's layout, a reference count or a field that is not part of the
//! limited API, to save work a token-sized chunk would otherwise pay. None is needed for a correct
//! result: each has a portable twin built on the public (limited) API only, which runs wherever the
//! shortcut is off. Nothing outside this module touches such internals.
//!
//! The shortcuts are on only where they were tested: release builds of CPython 3.10 to 3.13 with a
//! GIL. Anywhere else (3.14 on, whose interpreter borrows references on its stack so that a count of
//! one no longer means "nobody else holds this"; PyPy, GraalPy; debug builds, whose objects carry
//! more fields) every one is off. `UNSPOOL_PORTABLE=1` in the environment at import turns them all
//! off; `UNSPOOL_PORTABLE=name,name` turns off those named (for measuring one against its twin).
//! `unspool.shortcuts()` returns the names of those in effect. A shortcut stays only while it pays at
//! least 5% on `feed` + `value` or on a typed stream (the dict version tag shortcut saved 4% and was
//! dropped).

use std::sync::atomic::{AtomicU8, Ordering};

use pyo3::prelude::*;

pub(super) mod live_str;
pub(super) mod refs;

/// A CPython-internals shortcut; the comment on each gives what it assumes and what it saves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Shortcut {
    /// The open string's `str` grows in place while its container holds the only other reference
    /// (assumes `str`'s compact layout, checked at import by growing probes; a reference count of
    /// two meaning "the container and us"). Twin: a new `str` for every chunk that grows it.
    /// Measured (benches/shortcuts.py, twin ÷ tuned): `feed` + `value` 1.85–1.96×.
    GrowStr = 1,
    /// A `str` chunk's characters are read straight from the object (assumes the compact layout).
    /// Twin: `PyUnicode_AsUTF8AndSize`, which allocates and caches the UTF-8 form on every chunk.
    /// Measured: `feed` + `value` 1.075–1.094×, typed stream 1.02–1.05×.
    ReadStr = 2,
    /// Snapshot objects that only the stream still holds (reference counts of exactly 1 and 3, no
    /// weak reference, a list's `ob_item` array) are refilled for the next yield instead of made
    /// anew. Twin: new objects, and a copy of the open list's finished items, every yield.
    /// Measured: typed stream 1.73–1.83× at 326 KB, 2.2× at 1 MB (the twin grows with the document).
    ReuseSnapshots = 8,
}

impl Shortcut {
    const ALL: [Shortcut; 3] = [
        Shortcut::GrowStr,
        Shortcut::ReadStr,
        Shortcut::ReuseSnapshots,
    ];

    /// The name `unspool.shortcuts()` and `UNSPOOL_PORTABLE` use.
    pub(super) fn name(self) -> &'static str {
        match self {
            Shortcut::GrowStr => "grow_str",
            Shortcut::ReadStr => "read_str",
            Shortcut::ReuseSnapshots => "reuse_snapshots",
        }
    }
}

/// The shortcuts in effect, one bit each; set once by [`init`] (before it, none).
static ON: AtomicU8 = AtomicU8::new(0);

/// Whether `s` is in effect. One relaxed load: a flag in every chunk's path.
#[inline(always)]
pub(super) fn on(s: Shortcut) -> bool {
    ON.load(Ordering::Relaxed) & s as u8 != 0
}

/// Decides which shortcuts are in effect, at import: those this interpreter was tested for, less
/// those `UNSPOOL_PORTABLE` turns off, less those whose layout check fails here.
pub(super) fn init(py: Python<'_>) -> PyResult<()> {
    let mut bits = 0u8;
    if tested_interpreter(py)? {
        let off = portable_setting(py)?;
        for s in Shortcut::ALL {
            if !off
                .iter()
                .any(|name| name == "1" || name == "all" || name == s.name())
            {
                bits |= s as u8;
            }
        }
    }
    ON.store(bits, Ordering::Relaxed);
    // The layout checks run with the bits set, as the code they check runs.
    let layout_ok = |s: Shortcut| match s {
        Shortcut::GrowStr | Shortcut::ReadStr => live_str::layout_matches(py),
        Shortcut::ReuseSnapshots => refs::layout_matches(py),
    };
    for s in Shortcut::ALL {
        if bits & s as u8 != 0 && !layout_ok(s) {
            bits &= !(s as u8);
        }
    }
    ON.store(bits, Ordering::Relaxed);
    Ok(())
}

/// The names of the shortcuts in effect.
pub(super) fn names() -> Vec<&'static str> {
    Shortcut::ALL
        .into_iter()
        .filter(|&s| on(s))
        .map(Shortcut::name)
        .collect()
}

/// A release build of CPython 3.10 to 3.13 with a GIL: what the shortcuts were tested on.
fn tested_interpreter(py: Python<'_>) -> PyResult<bool> {
    let v = py.version_info();
    if !((3, 10)..(3, 14)).contains(&(v.major, v.minor)) {
        return Ok(false);
    }
    let sys = py.import("sys")?;
    let cpython = sys
        .getattr("implementation")?
        .getattr("name")?
        .extract::<String>()?
        == "cpython";
    // Debug builds count every reference (`sys.gettotalrefcount`) and lay objects out differently.
    let debug = sys.hasattr("gettotalrefcount")?;
    // (None where the build has no such setting, as before 3.13: falsy too.)
    let free_threaded = py
        .import("sysconfig")?
        .call_method1("get_config_var", ("Py_GIL_DISABLED",))?
        .is_truthy()?;
    Ok(cpython && !debug && !free_threaded)
}

/// The comma-separated names in `UNSPOOL_PORTABLE` (read through `os.environ`, as Python sees it).
fn portable_setting(py: Python<'_>) -> PyResult<Vec<String>> {
    let value: Option<String> = py
        .import("os")?
        .getattr("environ")?
        .call_method1("get", ("UNSPOOL_PORTABLE",))?
        .extract()?;
    let value = value.unwrap_or_default();
    let names: Vec<String> = value
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty() && s != "0" && s != "false")
        .collect();
    for name in &names {
        let known = name == "1"
            || name == "all"
            || name == "true"
            || Shortcut::ALL.iter().any(|s| s.name() == name);
        if !known {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "UNSPOOL_PORTABLE={value:?}: {name:?} is no shortcut (use 1, or names from: {})",
                Shortcut::ALL.map(Shortcut::name).join(", ")
            )));
        }
    }
    Ok(names
        .into_iter()
        .map(|n| if n == "true" { "1".to_string() } else { n })
        .collect())
}
