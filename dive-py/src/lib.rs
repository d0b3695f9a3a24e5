//! `dive_rs` for Python: the dive-core library (`dive_rs.analyze`, `Analysis`, `diff`,
//! `load`) and the `dive-rs` command (`dive_rs.main`, the wheel's console script), built
//! into one abi3 wheel by maturin (`dive-py/pyproject.toml`).
//!
//! Built by cargo alone (`cargo test --workspace`), the library links libpython like any
//! embedding; maturin sets `PYO3_BUILD_EXTENSION_MODULE`, which leaves Python's symbols to
//! the interpreter that imports the module.

mod analysis;
mod errors;
mod gate;
mod json;
mod request;

use std::ffi::OsString;
use std::path::PathBuf;

use dive_core::report::diff::{self as image_diff, DiffFormat};
use dive_core::{AnalyzerBuilder, Source};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::analysis::PyAnalysis;
use crate::errors::{AnalysisStopped, DiveError, ImageError, RulesError, with_input};
use crate::request::Request;

/// Analyses an image: a `docker save` tar, an OCI layout (directory or tar), a saved scan,
/// `oci:DIR:REF`, `docker:REF`, `registry:REF` or `-` (stdin).
#[pyfunction]
#[pyo3(signature = (
    source, *, platform = None, image = None, verify = false, families = None, limits = None,
    progress = None, gpu_arch = None, cuda_deep = false, threads = None
))]
#[allow(clippy::too_many_arguments)]
fn analyze(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    platform: Option<String>,
    image: Option<String>,
    verify: bool,
    families: Option<PathBuf>,
    limits: Option<&Bound<'_, PyDict>>,
    progress: Option<Py<PyAny>>,
    gpu_arch: Option<&Bound<'_, PyAny>>,
    cuda_deep: bool,
    threads: Option<usize>,
) -> PyResult<PyAnalysis> {
    let source = request::source(source)?;
    let mut builder = AnalyzerBuilder::new().verify(verify).cuda_deep(cuda_deep);
    if let Some(platform) = platform {
        builder = builder.platform(platform);
    }
    if let Some(image) = image {
        builder = builder.image(image);
    }
    if let Some(limits) = limits {
        builder = builder.limits(request::limits(limits)?);
    }
    if let Some(gpus) = gpu_arch {
        builder = builder.gpu_archs(request::gpu_archs(gpus)?);
    }
    if let Some(threads) = threads {
        builder = builder.threads(threads);
    }
    // Bad families are said before the image is read, as on the command line.
    if let Some(path) = families {
        builder = builder.families(request::families(&path)?);
    }
    let asked = Request {
        source,
        builder,
        progress,
    };
    request::run(py, asked).map(PyAnalysis::new)
}

/// Opens a scan saved by `Analysis.save` or `dive-rs --save`, without the image.
#[pyfunction]
fn load(py: Python<'_>, path: PathBuf) -> PyResult<PyAnalysis> {
    let name = path.display().to_string();
    if !dive_core::scan::is_scan(&path) {
        return Err(with_input(
            ImageError::new_err(format!(
                "{}: not a scan saved by dive-rs",
                dive_core::escape::escape(&name)
            )),
            &name,
        ));
    }
    request::run(py, Request::plain(Source::path(path))).map(PyAnalysis::new)
}

/// Compares two images (sources or `Analysis` objects): the `dive-rs diff --format json`
/// document as a dict.
#[pyfunction]
#[pyo3(signature = (old, new, *, top = 20))]
fn diff<'py>(
    py: Python<'py>,
    old: &Bound<'py, PyAny>,
    new: &Bound<'py, PyAny>,
    top: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let side = |given: &Bound<'py, PyAny>| -> PyResult<std::sync::Arc<dive_core::Analysis>> {
        if let Ok(analysis) = given.cast::<PyAnalysis>() {
            return Ok(std::sync::Arc::clone(&analysis.get().inner));
        }
        let asked = Request::plain(request::source(given)?);
        request::run(py, asked).map(std::sync::Arc::new)
    };
    let (old, new) = (side(old)?, side(new)?);
    let text = request::interruptible(py, "diff", move || {
        image_diff::render(&image_diff::diff(&old, &new, top), DiffFormat::Json, true)
    })?;
    json::loads(py, &text)
}

/// Runs the `dive-rs` command line with `sys.argv` (the interactive view included) and
/// returns its exit status: the wheel's `dive-rs` console script.
#[pyfunction]
fn main(py: Python<'_>) -> PyResult<u8> {
    let argv: Vec<OsString> = py.import("sys")?.getattr("argv")?.extract()?;
    // Ctrl-C ends the command as it ends the Rust binary, not with a KeyboardInterrupt
    // that Python could only raise once the command returns.
    // Python lets only its main thread set handlers; elsewhere its own stays in place.
    let threading = py.import("threading")?;
    let on_main = threading
        .call_method0("current_thread")?
        .is(&threading.call_method0("main_thread")?);
    let signal = py.import("signal")?;
    let sigint = signal.getattr("SIGINT")?;
    let previous = if on_main {
        Some(signal.call_method1("signal", (&sigint, signal.getattr("SIG_DFL")?))?)
    } else {
        None
    };
    let code = py.detach(|| dive_tui::cmd::run(argv));
    if let Some(previous) = previous {
        signal.call_method1("signal", (&sigint, previous))?;
    }
    Ok(code)
}

#[pymodule]
fn dive_rs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(analyze, m)?)?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(diff, m)?)?;
    m.add_function(wrap_pyfunction!(main, m)?)?;
    m.add_class::<PyAnalysis>()?;
    m.add_class::<gate::GateResult>()?;
    m.add_class::<gate::Rule>()?;
    m.add("DiveError", py.get_type::<DiveError>())?;
    m.add("ImageError", py.get_type::<ImageError>())?;
    m.add("RulesError", py.get_type::<RulesError>())?;
    m.add("AnalysisStopped", py.get_type::<AnalysisStopped>())?;
    Ok(())
}
