//! JSON documents into Python objects, through the standard library's `json` module so
//! that a dict from here is the one `json.loads` makes of `dive-rs --json`.

use pyo3::prelude::*;

/// `json.loads` of `value`'s text.
pub(crate) fn to_python<'py>(
    py: Python<'py>,
    value: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    loads(py, &text)
}

/// `json.loads(text)`.
pub(crate) fn loads<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (text,))
}
