//! With the binding (feature `python`), sets PyO3's cfgs for the target interpreter: the binding
//! refuses to build for a free-threaded one (`Py_GIL_DISABLED`), whose threads share its state
//! without a GIL.

fn main() {
    #[cfg(feature = "python")]
    pyo3_build_config::use_pyo3_cfgs();
}
