//! Library errors as Python exceptions, with the place in the input as attributes.

use dive_core::{Error, Location};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    dive_rs,
    DiveError,
    PyException,
    "Every error dive_rs raises on purpose."
);
create_exception!(
    dive_rs,
    ImageError,
    DiveError,
    "The image could not be read: attributes input, layer, layer_digest, offset, entry."
);
create_exception!(
    dive_rs,
    RulesError,
    DiveError,
    "A rules or families file is malformed: attribute input names it."
);
create_exception!(
    dive_rs,
    AnalysisStopped,
    ImageError,
    "The progress callback returned False: the analysis ended early."
);

/// The exception for a library error, its message escaped as the command line prints it.
pub(crate) fn to_py(err: &Error) -> PyErr {
    let message = err.to_string();
    let (exception, location) = match err {
        Error::Config { location, .. } => (RulesError::new_err(message), Some(location)),
        Error::Cancelled { location } => (AnalysisStopped::new_err(message), Some(location)),
        Error::Io { location, .. }
        | Error::Format { location, .. }
        | Error::Selection { location, .. }
        | Error::Source { location, .. }
        | Error::Remote { location, .. } => (ImageError::new_err(message), Some(location)),
        _ => (ImageError::new_err(message), None),
    };
    Python::attach(|py| {
        // Attributes are best effort: the exception itself is what the caller needs.
        let _ = set_location(py, &exception, location);
    });
    exception
}

/// An error about a file the caller named (rules, families, a saved scan) outside the library.
pub(crate) fn with_input(exception: PyErr, input: &str) -> PyErr {
    Python::attach(|py| {
        let _ = set_location(py, &exception, Some(&Location::input(input)));
    });
    exception
}

fn set_location(py: Python<'_>, exception: &PyErr, location: Option<&Location>) -> PyResult<()> {
    let value = exception.value(py);
    let layer = location.and_then(|l| l.layer.as_deref());
    value.setattr("input", location.map(|l| l.input.clone()))?;
    value.setattr("layer", layer.map(|l| l.index))?;
    value.setattr("layer_digest", layer.and_then(|l| l.digest.clone()))?;
    value.setattr("offset", location.and_then(|l| l.offset))?;
    value.setattr("entry", location.and_then(|l| l.entry.clone()))?;
    Ok(())
}
