//! `dive_rs.analyze`: options from Python, the analysis on a thread of its own, progress
//! told to a Python callable, and Ctrl-C or the callable stopping it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dive_core::FamilyRules;
use dive_core::Strategy;
use dive_core::{Analysis, AnalyzerBuilder, Control, Event, Limits, Observer, Source, Stage};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict};

use crate::errors::{RulesError, to_py, with_input};

/// How often the waiting thread looks for Ctrl-C while the analysis runs.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// Everything `analyze` was asked, read from Python before the analysis starts.
pub(crate) struct Request {
    pub(crate) source: Source,
    pub(crate) builder: AnalyzerBuilder,
    pub(crate) progress: Option<Py<PyAny>>,
}

impl Request {
    /// `source` with the library's defaults and no progress callable (`load`, `diff`).
    pub(crate) fn plain(source: Source) -> Self {
        Self {
            source,
            builder: AnalyzerBuilder::new(),
            progress: None,
        }
    }
}

/// An image argument: a path-like, or a string (`-`, `oci:DIR:REF`, `registry:REF`).
pub(crate) fn source(spec: &Bound<'_, PyAny>) -> PyResult<Source> {
    let path: PathBuf = spec.extract().map_err(|_| {
        PyTypeError::new_err("an image is a str or os.PathLike (a path, '-', or 'oci:DIR:REF')")
    })?;
    match path.to_str() {
        Some(text) => Source::parse(text).map_err(|e| to_py(&e)),
        // Not UTF-8: only a path on disk can be named so.
        None => Ok(Source::path(path)),
    }
}

/// The `--max-…` caps from a dict keyed by their names (`entries`, `max_entries` or
/// `max-entries`); sizes are numbers or strings such as `"64MiB"`.
pub(crate) fn limits(given: &Bound<'_, PyDict>) -> PyResult<Limits> {
    let mut limits = Limits::default();
    for (key, value) in given.iter() {
        let key: String = key
            .extract()
            .map_err(|_| PyTypeError::new_err("limits: keys are the caps' names (str)"))?;
        let name = key.replace('-', "_");
        let name = name.strip_prefix("max_").unwrap_or(&name);
        let number = || -> PyResult<u64> {
            if let Ok(n) = value.extract::<u64>() {
                return Ok(n);
            }
            let text: String = value.extract().map_err(|_| {
                PyTypeError::new_err(format!("limits[{key:?}]: a non-negative int or a size"))
            })?;
            Limits::parse_size(&text).ok_or_else(|| {
                PyValueError::new_err(format!("limits[{key:?}]: {text:?} is not a size"))
            })
        };
        limits = match name {
            "metadata" => limits.metadata_bytes(number()?),
            "entries" => limits.entries(number()?),
            "path" => limits.path_bytes(number()?),
            "index_depth" => limits.index_depth(usize::try_from(number()?).unwrap_or(usize::MAX)),
            "ratio" => limits.ratio(number()?),
            _ => {
                return Err(PyValueError::new_err(format!(
                    "limits: unknown cap {key:?}; the caps are metadata, entries, path, \
                     index_depth, ratio"
                )));
            }
        };
    }
    Ok(limits)
}

/// GPU architectures as `"sm_80,sm_90"` or a sequence of such names.
pub(crate) fn gpu_archs(given: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
    let names: Vec<String> = match given.extract::<String>() {
        Ok(text) => text.split(',').map(str::to_owned).collect(),
        Err(_) => given.extract().map_err(|_| {
            PyTypeError::new_err("gpu_arch: a str such as 'sm_80,sm_90' or a list of them")
        })?,
    };
    names
        .iter()
        .map(|name| {
            AnalyzerBuilder::parse_gpu_arch(name.trim()).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "gpu_arch: {name:?} is not a GPU architecture such as sm_90"
                ))
            })
        })
        .collect()
}

/// The families file, read and checked before the image is.
pub(crate) fn families(path: &Path) -> PyResult<FamilyRules> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        with_input(
            RulesError::new_err(format!("{origin}: cannot read the families file: {e}")),
            &origin,
        )
    })?;
    FamilyRules::from_toml(&origin, &text).map_err(|e| to_py(&e))
}

/// Runs the analysis on its own thread with the GIL released; this thread waits, looking
/// for signals, so Ctrl-C stops the analysis promptly and raises `KeyboardInterrupt`: the
/// stop flag it sets is read between events and, every few thousand files, inside the
/// stages after the reading (`Observer::stop_requested`).
pub(crate) fn run(py: Python<'_>, request: Request) -> PyResult<Analysis> {
    let observer = Arc::new(PyObserver {
        callback: request.progress,
        stop: AtomicBool::new(false),
        refused: AtomicBool::new(false),
        raised: Mutex::new(None),
        stage: Mutex::new(None),
    });
    let (done, result) = mpsc::channel();
    // Shared with the detached closure, which needs it Sync.
    let result = Mutex::new(result);
    let worker = {
        let observer = Arc::clone(&observer);
        let (source, builder) = (request.source, request.builder);
        std::thread::Builder::new()
            .name("dive-rs analysis".to_owned())
            .spawn(move || {
                let outcome = builder.build().analyze(source, observer.as_ref());
                let _ = done.send(outcome);
            })
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the analysis: {e}")))?
    };
    let outcome = match wait(py, &result) {
        Waited::Done(outcome) => outcome,
        Waited::Interrupted(interrupt) => {
            observer.stop.store(true, Ordering::Relaxed);
            let stopped = py.detach(|| {
                let _ = worker.join();
                result.lock().ok().and_then(|r| r.try_recv().ok())
            });
            note_where_it_stopped(py, &interrupt, &observer, stopped.as_ref());
            return Err(interrupt);
        }
        Waited::Lost => {
            return Err(PyRuntimeError::new_err(
                "the analysis thread ended without a result",
            ));
        }
    };
    py.detach(|| {
        let _ = worker.join();
    });
    match outcome {
        Ok(analysis) => Ok(analysis),
        Err(err) => {
            let raised = observer.raised.lock().ok().and_then(|mut r| r.take());
            if let Some(raised) = raised {
                return Err(raised);
            }
            let exception = to_py(&err);
            if observer.refused.load(Ordering::Relaxed) {
                let note = format!("{err} (the progress callback returned False)");
                return Err(Python::attach(|py| {
                    let _ = exception.value(py).setattr("args", (note,));
                    exception
                }));
            }
            Err(exception)
        }
    }
}

/// How waiting for a thread's result ended.
enum Waited<T> {
    Done(T),
    /// A signal handler raised this (Ctrl-C: `KeyboardInterrupt`).
    Interrupted(PyErr),
    /// The thread ended without sending (it panicked).
    Lost,
}

/// Waits for `result` with the GIL released, running Python's signal handlers every
/// [`SIGNAL_POLL`] (only this, the main thread, can).
fn wait<T: Send>(py: Python<'_>, result: &Mutex<mpsc::Receiver<T>>) -> Waited<T> {
    loop {
        let waited = py.detach(|| match result.lock() {
            Ok(result) => result.recv_timeout(SIGNAL_POLL),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        });
        match waited {
            Ok(value) => return Waited::Done(value),
            Err(RecvTimeoutError::Timeout) => {
                if let Err(interrupt) = py.check_signals() {
                    return Waited::Interrupted(interrupt);
                }
            }
            Err(RecvTimeoutError::Disconnected) => return Waited::Lost,
        }
    }
}

/// Runs `work` (building a report, a document, a diff, writing a scan) on a thread of its
/// own while this one waits with the GIL released, looking for signals, so that Ctrl-C
/// raises `KeyboardInterrupt` at once whatever the size of the image. The reports do not
/// ask whether to stop: interrupted, `work` ends on its own thread and its result is
/// dropped.
pub(crate) fn interruptible<T: Send + 'static>(
    py: Python<'_>,
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> PyResult<T> {
    let (done, result) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("dive-rs {what}"))
        .spawn(move || {
            let _ = done.send(work());
        })
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the {what}: {e}")))?;
    match wait(py, &Mutex::new(result)) {
        Waited::Done(value) => Ok(value),
        Waited::Interrupted(interrupt) => Err(interrupt),
        Waited::Lost => Err(PyRuntimeError::new_err(format!(
            "the {what} thread ended without a result"
        ))),
    }
}

/// Adds a note to the `KeyboardInterrupt` saying where the analysis stopped: the stage it
/// was in (`read` before the first), or that it had finished.
fn note_where_it_stopped(
    py: Python<'_>,
    interrupt: &PyErr,
    observer: &PyObserver,
    outcome: Option<&dive_core::Result<Analysis>>,
) {
    let stage = observer
        .stage
        .lock()
        .ok()
        .and_then(|s| *s)
        .map_or("read", Stage::name);
    let note = match outcome {
        Some(Ok(_)) => "dive_rs.analyze had finished when it saw the interrupt".to_owned(),
        _ => format!("dive_rs.analyze stopped in its {stage} stage"),
    };
    let value = interrupt.value(py);
    // `add_note` is Python 3.11's; before it, notes are an attribute no one prints.
    let _ = if value.hasattr("add_note").unwrap_or(false) {
        value.call_method1("add_note", (note,)).map(drop)
    } else {
        value.setattr("__notes__", vec![note])
    };
}

/// Tells the core's events to a Python callable, from the core's worker threads.
struct PyObserver {
    callback: Option<Py<PyAny>>,
    /// Ctrl-C was pressed on the waiting thread.
    stop: AtomicBool,
    /// The callable returned False.
    refused: AtomicBool,
    /// The callable raised this: `analyze` raises it again.
    raised: Mutex<Option<PyErr>>,
    /// The last stage begun, for the note on a `KeyboardInterrupt`.
    stage: Mutex<Option<Stage>>,
}

impl Observer for PyObserver {
    fn event(&self, event: &Event<'_>) -> Control {
        if let Event::Stage(stage) = event
            && let Ok(mut last) = self.stage.lock()
        {
            *last = Some(*stage);
        }
        if self.stop.load(Ordering::Relaxed) {
            return Control::Stop;
        }
        let Some(callback) = &self.callback else {
            return Control::Continue;
        };
        Python::attach(|py| {
            let answer = event_dict(py, event).and_then(|dict| callback.call1(py, (dict,)));
            match answer {
                Ok(answer) => {
                    let answer = answer.bind(py);
                    if answer.is_instance_of::<PyBool>() && !answer.is_truthy().unwrap_or(true) {
                        self.refused.store(true, Ordering::Relaxed);
                        self.stop.store(true, Ordering::Relaxed);
                        Control::Stop
                    } else {
                        Control::Continue
                    }
                }
                Err(err) => {
                    if let Ok(mut raised) = self.raised.lock() {
                        raised.get_or_insert(err);
                    }
                    self.stop.store(true, Ordering::Relaxed);
                    Control::Stop
                }
            }
        })
    }

    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// An event as a dict: `{"event": "resolved" | "layer_walked" | "read" | "stage" | "merged"
/// | "attributed", …}`.
fn event_dict<'py>(py: Python<'py>, event: &Event<'_>) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    match event {
        Event::Resolved {
            layers,
            stored_bytes,
        } => {
            dict.set_item("event", "resolved")?;
            dict.set_item("layers", layers)?;
            dict.set_item("stored_bytes", stored_bytes)?;
        }
        Event::LayerWalked {
            index,
            blob,
            entries,
            bytes,
            strategy,
        } => {
            dict.set_item("event", "layer_walked")?;
            dict.set_item("index", index)?;
            dict.set_item("blob", blob)?;
            dict.set_item("entries", entries)?;
            dict.set_item("bytes", bytes)?;
            dict.set_item("strategy", strategy.map(strategy_name))?;
        }
        Event::Read { stored_bytes } => {
            dict.set_item("event", "read")?;
            dict.set_item("stored_bytes", stored_bytes)?;
        }
        Event::Merged => dict.set_item("event", "merged")?,
        Event::Stage(stage) => {
            dict.set_item("event", "stage")?;
            dict.set_item("stage", stage.name())?;
        }
        Event::Attributed => dict.set_item("event", "attributed")?,
        _ => dict.set_item("event", "other")?,
    }
    Ok(dict)
}

fn strategy_name(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::Seek => "seek",
        Strategy::Stream => "stream",
        Strategy::Pipeline => "pipeline",
        _ => "other",
    }
}
