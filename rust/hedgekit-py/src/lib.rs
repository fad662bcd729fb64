//! `hedgekit._core`: a thin PyO3 skin over `hedgekit-core`.
//!
//! Each `#[pymethods]` body converts its arguments (`convert`), calls the core and maps the
//! error (`errors`); logic belongs in the core. Every class is registered as `hedgekit._core.X`.

mod book;
mod convert;
mod errors;
mod instrument;
mod ledger;
mod pricing;
mod signing;

use pyo3::prelude::*;

/// Raw fixed-point scale: a raw integer `r` means `r / 10**SCALE`.
const SCALE: u32 = hedgekit_core::fixed::SCALE;

#[pyfunction]
fn _panic_for_tests() {
    panic!("deliberate panic to test that a Rust panic surfaces as a Python exception");
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("SCALE", SCALE)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add(
        "PanicException",
        m.py().get_type::<pyo3::panic::PanicException>(),
    )?;
    instrument::register(m)?;
    book::register(m)?;
    ledger::register(m)?;
    pricing::register(m)?;
    signing::register(m)?;
    Ok(())
}
