//! The one mapping point from `CoreError` to the exceptions of `hedgekit.errors`.
//!
//! The exception classes are defined in Python (so they carry attributes and inherit from both
//! `HedgekitError` and the matching builtin); they are looked up once and cached.

use hedgekit_core::CoreError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn error_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    let module =
        ERRORS_MODULE.get_or_try_init(py, || py.import("hedgekit.errors").map(Bound::unbind))?;
    Ok(module.bind(py).getattr(name)?.cast_into::<PyType>()?)
}

fn build(
    py: Python<'_>,
    class: &str,
    args: impl for<'a> FnOnce(Python<'a>) -> PyResult<Bound<'a, pyo3::types::PyTuple>>,
) -> PyErr {
    match error_class(py, class).and_then(|cls| cls.call1(args(py)?)) {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

/// Converts a core error into the documented Python exception.
pub fn to_py(err: CoreError) -> PyErr {
    Python::attach(|py| {
        let message = err.to_string();
        match err {
            CoreError::InvalidNumber { input, reason } => build(py, "ConversionError", |py| {
                (message, input, reason).into_pyobject(py)
            }),
            CoreError::Inexact { input, .. } => build(py, "InexactError", |py| {
                (message, input, "inexact").into_pyobject(py)
            }),
            CoreError::Overflow(input) => build(py, "NumberRangeError", |py| {
                (message, input, "out_of_range").into_pyobject(py)
            }),
            CoreError::InvalidOrder { reason, detail } => build(py, "InvalidOrderError", |py| {
                (message, reason.as_str(), detail).into_pyobject(py)
            }),
            CoreError::BookIntegrity { kind, detail } => build(py, "BookIntegrityError", |py| {
                (message, kind.as_str(), detail).into_pyobject(py)
            }),
            CoreError::Parse {
                position,
                message: m,
            } => build(py, "ParseError", |py| {
                (message, position, m).into_pyobject(py)
            }),
            CoreError::InvalidArgument(_) => build(py, "InvalidArgumentError", |py| {
                (message,).into_pyobject(py)
            }),
        }
    })
}

/// `Result<T, CoreError>` → `PyResult<T>`.
pub trait IntoPyResult<T> {
    /// Maps the error through [`to_py`].
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, CoreError> {
    #[inline]
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
