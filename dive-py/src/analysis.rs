//! `dive_rs.Analysis`: one analysed image, its JSON document and its reports.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use dive_core::escape::escape;
use dive_core::report::gate::{self, DiveOverrides, Rules};
use dive_core::report::{self, ReportFormat, SummaryOptions};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors::{RulesError, to_py, with_input};
use crate::gate::GateResult;
use crate::json;
use crate::request::interruptible;

/// An analysed image: every byte attributed to a layer, a path, a package and a waste class.
///
/// Its reports are built on a thread of their own ([`interruptible`]), so that Ctrl-C is
/// raised at once however large the image.
#[pyclass(frozen, module = "dive_rs", name = "Analysis")]
pub(crate) struct PyAnalysis {
    pub(crate) inner: Arc<dive_core::Analysis>,
    /// The `--json` document, made once (by a thread that may outlive an interrupted call).
    document: Arc<OnceLock<serde_json::Value>>,
}

impl PyAnalysis {
    pub(crate) fn new(analysis: dive_core::Analysis) -> Self {
        Self {
            inner: Arc::new(analysis),
            document: Arc::default(),
        }
    }

    fn document(&self, py: Python<'_>) -> PyResult<&serde_json::Value> {
        if let Some(document) = self.document.get() {
            return Ok(document);
        }
        let (analysis, document) = (Arc::clone(&self.inner), Arc::clone(&self.document));
        interruptible(py, "document", move || {
            document.get_or_init(|| report::to_json(&analysis));
        })?;
        self.document
            .get()
            .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("no document was made"))
    }

    /// One top-level part of the document as a new Python object.
    fn part<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        json::to_python(py, &self.document(py)?[key])
    }
}

#[pymethods]
impl PyAnalysis {
    /// The `dive-rs --json` document of this image (schema v3) as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json::to_python(py, self.document(py)?)
    }

    /// The input as it was named.
    #[getter]
    fn input(&self) -> String {
        self.inner.input.clone()
    }

    /// The image's totals: sizes, efficiency, dive's figures, reference, platform, layout.
    #[getter]
    fn image<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.part(py, "image")
    }

    /// Every layer in manifest order, with its command and bytes.
    #[getter]
    fn layers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.part(py, "layers")
    }

    /// Installed packages (pip, dpkg, apk, conda, npm), largest first.
    #[getter]
    fn packages<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.part(py, "packages")
    }

    /// Package families (`nvidia`, `torch`, …), largest first.
    #[getter]
    fn families<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.part(py, "families")
    }

    /// Bytes no package owns, by directory.
    #[getter]
    fn unowned<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.part(py, "unowned")
    }

    /// Waste classes (caches, tests, debug info, toolchains …), each with its fix.
    #[getter]
    fn waste<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.part(py, "waste")
    }

    /// Content a later layer hid (deleted, overwritten, metadata-only rewrites).
    #[getter]
    fn hidden<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.part(py, "hidden")
    }

    /// The largest files of the final image.
    #[getter]
    fn largest_files<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.part(py, "largest_files")
    }

    /// The same bytes shipped more than once.
    #[getter]
    fn duplicates<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.part(py, "duplicates")
    }

    /// GPU device code by architecture, package and file.
    #[getter]
    fn cuda<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.part(py, "cuda")
    }

    /// What could not be read exactly, each with its place in the input.
    #[getter]
    fn warnings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.part(py, "warnings")
    }

    /// The optimisation report: "text", "markdown", "json" or "html" (`dive-rs report`).
    #[pyo3(signature = (format = "text", *, exact_bytes = false))]
    fn report(&self, py: Python<'_>, format: &str, exact_bytes: bool) -> PyResult<String> {
        let format = match format {
            "text" => Some(ReportFormat::Text),
            "markdown" => Some(ReportFormat::Markdown),
            "json" => None,
            "html" => {
                let analysis = Arc::clone(&self.inner);
                return interruptible(py, "report", move || {
                    report::report_html(&analysis, exact_bytes)
                });
            }
            other => {
                return Err(PyValueError::new_err(format!(
                    "format {other:?}: one of text, markdown, json, html"
                )));
            }
        };
        let analysis = Arc::clone(&self.inner);
        interruptible(py, "report", move || match format {
            Some(format) => Ok(report::optimisation_report(&analysis, format, exact_bytes)),
            None => pretty(&report::report_json(&analysis)),
        })?
    }

    /// The text summary `dive-rs IMAGE --summary` prints.
    #[pyo3(signature = (*, top = 20, exact_bytes = false))]
    fn summary(&self, py: Python<'_>, top: usize, exact_bytes: bool) -> PyResult<String> {
        let options = SummaryOptions {
            exact_bytes,
            top,
            ..SummaryOptions::default()
        };
        let analysis = Arc::clone(&self.inner);
        interruptible(py, "summary", move || report::summary(&analysis, options))
    }

    /// Evaluates CI rules (a `.dive-ci` file by path, or its text), else dive's defaults.
    #[pyo3(signature = (rules_path = None, *, rules_text = None))]
    fn check(
        &self,
        py: Python<'_>,
        rules_path: Option<PathBuf>,
        rules_text: Option<String>,
    ) -> PyResult<GateResult> {
        let (origin, text) = match (rules_path, rules_text) {
            (Some(_), Some(_)) => {
                return Err(PyValueError::new_err(
                    "give rules_path or rules_text, not both",
                ));
            }
            (Some(path), None) => {
                let origin = path.display().to_string();
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    with_input(
                        RulesError::new_err(format!(
                            "{}: cannot read the rules file: {e}",
                            escape(&origin)
                        )),
                        &origin,
                    )
                })?;
                (origin, text)
            }
            (None, Some(text)) => ("<rules_text>".to_owned(), text),
            (None, None) => ("dive's defaults".to_owned(), String::new()),
        };
        let rules =
            Rules::parse(&origin, &text, &DiveOverrides::default()).map_err(|e| to_py(&e))?;
        let analysis = Arc::clone(&self.inner);
        let gate = interruptible(py, "gate", move || {
            if analysis.gpus.is_empty() && !rules.cuda_archs.is_empty() {
                // The rules' `cuda-archs` names the GPUs when the analysis named none.
                let mut analysis = dive_core::Analysis::clone(&analysis);
                analysis.gpus.clone_from(&rules.cuda_archs);
                gate::evaluate(&analysis, &rules)
            } else {
                gate::evaluate(&analysis, &rules)
            }
        })?;
        Ok(GateResult { gate })
    }

    /// Saves the analysis as a scan that `dive_rs.load` and `dive-rs SCAN` open.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let analysis = Arc::clone(&self.inner);
        interruptible(py, "save", move || dive_core::scan::save(&analysis, &path))?
            .map_err(|e| to_py(&e))
    }

    fn __repr__(&self) -> String {
        let image = &self.inner.image;
        let name = image.reference.as_deref().unwrap_or(&self.inner.input);
        format!(
            "<dive_rs.Analysis {}: {} layers, {} bytes in {} files>",
            escape(name),
            image.layer_count,
            image.final_bytes,
            image.final_files
        )
    }
}

/// A JSON document, pretty, with a final newline, as the command line prints it.
fn pretty(document: &serde_json::Value) -> PyResult<String> {
    serde_json::to_string_pretty(document)
        .map(|text| text + "\n")
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))
}
