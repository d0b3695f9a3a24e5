//! `Analysis.check`: CI rules evaluated on an analysis, as Python objects.

use dive_core::report::gate::{self, Gate, GateFormat, Measured, Status};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::json;

/// The outcome of every rule on one image.
#[pyclass(frozen, module = "dive_rs", name = "GateResult")]
pub(crate) struct GateResult {
    pub(crate) gate: Gate,
}

#[pymethods]
impl GateResult {
    /// Whether no rule failed.
    #[getter]
    fn passed(&self) -> bool {
        self.gate.passed()
    }

    /// The exit status `dive-rs ci` gives: 0 when no rule failed, else 1.
    #[getter]
    fn exit_code(&self) -> u8 {
        self.gate.exit_code()
    }

    /// Every rule, in the order of the rules file (dive's three first).
    #[getter]
    fn rules(&self) -> Vec<Rule> {
        self.gate
            .results
            .iter()
            .map(|r| Rule {
                name: r.rule.clone(),
                section: match r.section {
                    gate::Section::Dive => "dive",
                    gate::Section::DiveRs => "dive-rs",
                },
                status: r.status.word(),
                measured: r.measured.clone(),
                limit: r.limit.clone(),
                detail: r.detail.clone(),
            })
            .collect()
    }

    /// The analysis's warnings: figures near them may be incomplete.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.gate.warnings.clone()
    }

    /// Where the rules came from (a path, `<rules_text>` or `dive's defaults`).
    #[getter]
    fn rules_origin(&self) -> String {
        self.gate.rules_origin.clone()
    }

    /// The gate as `dive-rs ci --format` prints it: "text", "markdown", "json" or "junit".
    #[pyo3(signature = (format = "text", *, exact_bytes = false))]
    fn render(&self, format: &str, exact_bytes: bool) -> PyResult<String> {
        let format = match format {
            "text" => GateFormat::Text,
            "markdown" => GateFormat::Markdown,
            "json" => GateFormat::Json,
            "junit" => GateFormat::Junit,
            other => {
                return Err(PyValueError::new_err(format!(
                    "format {other:?}: one of text, markdown, json, junit"
                )));
            }
        };
        Ok(gate::render(&self.gate, format, exact_bytes))
    }

    /// The gate's JSON document (`dive-rs ci --format json`) as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json::loads(py, &gate::render(&self.gate, GateFormat::Json, true))
    }

    fn __bool__(&self) -> bool {
        self.gate.passed()
    }

    fn __repr__(&self) -> String {
        format!(
            "<dive_rs.GateResult {}: {} passed, {} failed, {} skipped>",
            if self.gate.passed() { "PASS" } else { "FAIL" },
            self.gate.count(Status::Pass),
            self.gate.count(Status::Fail),
            self.gate.count(Status::Skip),
        )
    }
}

/// One rule's outcome.
#[pyclass(frozen, module = "dive_rs", name = "Rule")]
pub(crate) struct Rule {
    /// The rule's name as written in the file (`lowestEfficiency`, `packages.torch`).
    #[pyo3(get)]
    name: String,
    /// `dive` or `dive-rs`: the section of the rules file.
    #[pyo3(get)]
    section: &'static str,
    /// `PASS`, `FAIL` or `SKIP`.
    #[pyo3(get)]
    status: &'static str,
    measured: Measured,
    /// The limit, for people (`>= 0.9`, `<= 2.0 GB`).
    #[pyo3(get)]
    limit: String,
    /// What was measured and where it comes from.
    #[pyo3(get)]
    detail: String,
}

#[pymethods]
impl Rule {
    /// The value measured: bytes or a count (int), a ratio (float), or names (list of str).
    #[getter]
    fn measured<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.measured {
            Measured::Bytes(n) | Measured::Count(n) => Ok(n.into_pyobject(py)?.into_any()),
            Measured::Ratio(x) => Ok(x.into_pyobject(py)?.into_any()),
            Measured::Names(names) => names.clone().into_pyobject(py),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "<dive_rs.Rule {} {}: {}>",
            dive_core::escape::escape(&self.name),
            self.status,
            dive_core::escape::escape(&self.limit)
        )
    }
}
