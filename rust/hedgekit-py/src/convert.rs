//! The one place that reads numbers from Python and makes `Decimal`s for it.
//!
//! Accepted as exact input: `int`, `str` and `decimal.Decimal`. A `float` is refused with a
//! `TypeError` unless the caller uses an API that says it takes floats.

use hedgekit_core::Fixed;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString, PyType};

use crate::errors::IntoPyResult;

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The `decimal.Decimal` class.
pub fn decimal_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    DECIMAL.import(py, "decimal", "Decimal")
}

/// Reads an exact number: `Decimal`, `str` or `int`.
///
/// # Errors
/// `TypeError` for floats and other types; `hedgekit.errors.ConversionError` (and subclasses)
/// for values that are not finite decimals, need more than 9 decimals, or overflow.
pub fn fixed_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Fixed> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Fixed::parse(s.to_str()?).py();
    }
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        return match obj.extract::<i64>() {
            Ok(v) => Fixed::from_int(v).py(),
            Err(_) => Err(hedgekit_core::CoreError::Overflow(obj.str()?.to_string())).py(),
        };
    }
    let py = obj.py();
    if obj.is_instance(decimal_type(py)?)? {
        let text = obj.str()?;
        return Fixed::parse(text.to_str()?).py();
    }
    if obj.is_instance_of::<PyFloat>() {
        return Err(PyTypeError::new_err(
            "a float is not exact: pass a Decimal, str or int (or use the *_float API explicitly)",
        ));
    }
    Err(PyTypeError::new_err(format!(
        "expected Decimal, str or int, got {}",
        obj.get_type().name()?
    )))
}

/// A `Decimal` holding exactly `value`.
pub fn to_decimal(py: Python<'_>, value: Fixed) -> PyResult<Bound<'_, PyAny>> {
    decimal_type(py)?.call1((value.to_string(),))
}

/// A `Decimal` or `None`.
pub fn opt_to_decimal(py: Python<'_>, value: Option<Fixed>) -> PyResult<Option<Bound<'_, PyAny>>> {
    value.map(|v| to_decimal(py, v)).transpose()
}

/// A wrapper that converts from Python through [`fixed_from_py`], for use as an argument type.
#[derive(Clone, Copy, Debug)]
pub struct Num(pub Fixed);

impl<'a, 'py> FromPyObject<'a, 'py> for Num {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        fixed_from_py(&obj).map(Num)
    }
}

/// Reads an order side: `"buy"` or `"sell"` (a `str` enum with those values works too).
pub fn side_from_str(s: &str) -> PyResult<hedgekit_core::instrument::Side> {
    hedgekit_core::instrument::Side::parse(s).py()
}

/// Reads a fixed-point value from a float, explicitly (rounded to 9 decimals, half away from
/// zero); NaN and infinities are refused.
pub fn fixed_from_float(v: f64) -> PyResult<Fixed> {
    Fixed::from_f64(v).py()
}
