//! The interactive session: terminal guard, one channel for input and analysis news, the
//! analysis on its own thread, and the event loop.

use std::fs::OpenOptions;
use std::io::{self, IsTerminal};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use dive_core::{Attributing, Control, Event, Observer};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::layout::Rect;

use crate::tui::app::{App, Phase};
use crate::tui::event::{Msg, Progress};
use crate::tui::view::panes::Views;

/// Fails, with advice, when the interactive view cannot open here.
pub fn require_terminal() -> anyhow::Result<()> {
    if let Some(why) = why_no_terminal() {
        anyhow::bail!(
            "cannot open the interactive view: {why}; use --summary for a text summary or --json for the whole analysis"
        );
    }
    Ok(())
}

fn why_no_terminal() -> Option<&'static str> {
    if !io::stdout().is_terminal() {
        return Some("stdout is not a terminal");
    }
    // Keys come from stdin when it is a terminal, else from /dev/tty (`docker save | dive-rs -`).
    if !io::stdin().is_terminal() && OpenOptions::new().read(true).open("/dev/tty").is_err() {
        return Some("there is no terminal to read keys from");
    }
    None
}

/// Puts the terminal back: raw mode off, main screen, no mouse capture, cursor shown.
fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        LeaveAlternateScreen,
        DisableMouseCapture,
        ratatui::crossterm::cursor::Show
    );
}

/// Holds the terminal in raw mode on the alternate screen until dropped.
struct Guard;

impl Guard {
    fn new() -> anyhow::Result<Self> {
        // Restore before any panic message, from any thread (rayon workers included).
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        enable_raw_mode().context("cannot put the terminal in raw mode")?;
        let guard = Self;
        execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)
            .context("cannot switch to the alternate screen")?;
        Ok(guard)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Sends analysis progress to the UI without ever blocking the analysis.
struct ProgressSender {
    tx: SyncSender<Msg>,
    progress: Mutex<Progress>,
    cancel: Arc<AtomicBool>,
}

impl Observer for ProgressSender {
    fn event(&self, event: &Event<'_>) -> Control {
        if let Ok(mut p) = self.progress.lock() {
            match event {
                Event::Resolved {
                    layers,
                    stored_bytes,
                } => {
                    p.layers_total = Some(*layers);
                    p.stored_total = *stored_bytes;
                }
                Event::Read { stored_bytes } => p.stored_read = *stored_bytes,
                Event::LayerWalked { bytes, .. } => {
                    p.layers_done += 1;
                    p.bytes_done += bytes;
                }
                Event::Merged => p.merged = true,
                _ => {}
            }
            match self.tx.try_send(Msg::Progress(p.clone())) {
                Ok(()) | Err(TrySendError::Full(_)) => {}
                Err(TrySendError::Disconnected(_)) => return Control::Stop,
            }
        }
        if self.cancel.load(Ordering::Relaxed) {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

/// Runs the interactive view on `input`; `analyze` runs on a worker thread. When it returns
/// views whose attribution is still to be found, with what finds it, the views are shown at
/// once and the attribution follows from the same thread.
pub fn run<F>(input: &str, color: bool, analyze: F) -> anyhow::Result<()>
where
    F: FnOnce(&dyn Observer) -> anyhow::Result<(Views, Option<Attributing>)> + Send + 'static,
{
    require_terminal()?;
    let (tx, rx) = sync_channel::<Msg>(256);
    let cancel = Arc::new(AtomicBool::new(false));
    let observer = ProgressSender {
        tx: tx.clone(),
        progress: Mutex::new(Progress::default()),
        cancel: Arc::clone(&cancel),
    };
    let loaded = tx.clone();
    std::thread::Builder::new()
        .name("analysis".into())
        .spawn(move || {
            const PANICKED: &str = "the analysis panicked (a bug: please report it)";
            let result = catch_unwind(AssertUnwindSafe(|| analyze(&observer)))
                .unwrap_or_else(|_| Err(anyhow::anyhow!(PANICKED)));
            let (views, attributing) = match result {
                Ok((views, attributing)) => (Box::new(views), attributing),
                Err(e) => {
                    let message = dive_core::escape::escape(&format!("{e:#}")).into_owned();
                    let _ = loaded.send(Msg::Loaded(Err(message)));
                    return;
                }
            };
            let shown = Arc::clone(&views.analysis);
            if loaded.send(Msg::Loaded(Ok(views))).is_err() {
                return;
            }
            if let Some(attributing) = attributing {
                let attributed = catch_unwind(AssertUnwindSafe(|| attributing.run(&shown)))
                    .map(Box::new)
                    .map_err(|_| PANICKED.to_owned());
                // The views take the analysis over without a copy once this one is gone.
                drop(shown);
                let _ = loaded.send(Msg::Attributed(attributed));
            }
        })
        .context("cannot start the analysis thread")?;

    let guard = Guard::new()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;
    let size = terminal.size()?;
    let wake = tx.clone();
    // Only now: the input thread would otherwise eat the terminal's replies to queries.
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            while let Ok(event) = event::read() {
                if tx.send(Msg::Input(event)).is_err() {
                    break;
                }
            }
        })
        .context("cannot start the input thread")?;
    let mut app = App::new(input, Rect::new(0, 0, size.width, size.height), color);
    app.waker = Some(wake);
    let result = event_loop(&mut terminal, &mut app, &rx);
    cancel.store(true, Ordering::Relaxed);
    drop(guard);
    result?;
    match app.phase {
        Phase::Failed(message) => Err(anyhow::anyhow!(message)),
        _ => Ok(()),
    }
}

fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<io::Stdout>>,
    app: &mut App,
    rx: &Receiver<Msg>,
) -> anyhow::Result<()> {
    loop {
        terminal.draw(|frame| crate::tui::render::render(app, frame))?;
        if let Some(text) = app.clipboard.take() {
            // The terminal puts it on the clipboard; the text is escaped already.
            let mut out = io::stdout().lock();
            io::Write::write_all(&mut out, osc52(&text).as_bytes())?;
            io::Write::flush(&mut out)?;
        }
        // A slow read in the viewer redraws its progress more often.
        let tick = if app.worker.as_ref().is_some_and(|w| w.busy > 0) {
            100
        } else {
            500
        };
        let msg = match rx.recv_timeout(Duration::from_millis(tick)) {
            Ok(msg) => msg,
            Err(RecvTimeoutError::Timeout) => continue,
            // No input and no analysis can arrive any more.
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        app.handle(msg);
        // Take whatever else is waiting before drawing again, so bursts of keys or
        // progress cost one frame.
        while let Ok(msg) = rx.try_recv() {
            app.handle(msg);
            if app.quit {
                break;
            }
        }
        if app.quit {
            return Ok(());
        }
    }
}

/// The OSC 52 sequence that asks the terminal to put `text` on the clipboard (base64, so the
/// sequence holds no control character of its own making).
pub fn osc52(text: &str) -> String {
    use base64::Engine as _;
    format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}
