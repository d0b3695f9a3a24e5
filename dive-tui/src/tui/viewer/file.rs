//! The file viewer: one version of a file (the final image's, or what a layer wrote, hidden
//! or not) as text with line numbers or as a hex dump with an ASCII column. Only a window
//! around what is shown is read, so a 2 GB file opens at once and memory stays bounded.
//! Everything shown is escaped: a file from the image never talks to the terminal.

use std::io::Read;
use std::sync::Arc;

use dive_core::Analysis;
use dive_core::contents::Contents;
use dive_core::escape::{escape_owned, escape_path};

use crate::tui::event::Screen;
use crate::tui::viewer::read::{ReadState, STOPPED, Stoppable};
use crate::tui::viewer::rows::{HEX_ROW, hex_row, summary_rows, text_row};

/// Bytes read at a time around what is shown; also the longest line shown whole.
const WINDOW: u64 = 256 * 1024;
/// Bytes kept behind the window as it slides forward through a decoded file, so that
/// scrolling back a while needs no decoding from the layer's start again.
const BACKLOG: u64 = 4 << 20;

/// An open file.
pub struct Viewer {
    /// The path (escaped), the version and the size.
    pub title: String,
    /// Bytes of the file.
    pub size: u64,
    /// A hex dump rather than text.
    pub hex: bool,
    /// First byte shown: a line start in text, a multiple of 16 in hex.
    pub top: u64,
    /// Line number of `top`, from 1, when it is known (not after a jump to the end).
    pub top_line: Option<u64>,
    /// What the screen shows, gutter and text per row ([`Viewer::refresh`]).
    pub rows: Vec<(String, String)>,
    /// A read that failed, shown instead of the rows.
    pub error: Option<String>,
    /// The text found last (`/`), for the next match (`n`).
    pub needle: Vec<u8>,
    /// An ELF file's summary, label and value per row; shown first, `x` for the hex dump.
    pub summary: Option<Vec<(String, String)>>,
    /// The summary is on screen (else the text or hex view).
    pub show_summary: bool,
    /// First summary row on screen.
    summary_top: usize,
    /// The file is gzip'd (`changelog.gz`): shown decompressed, `size` is the decompressed
    /// size its trailer gives.
    pub gunzip: bool,
    /// Reads go through a decoder (a compressed layer, or gunzip): skipping forward beats
    /// decoding again from the start.
    decoded: bool,
    /// The reader the last window came from, and the offset it stands at.
    cursor: Option<(u64, Box<dyn Read>)>,
    /// How many times the file was opened for reading (from the layer's start, when it is
    /// compressed): paging forward must not add to it.
    pub opens: u64,
    layer: usize,
    entry: usize,
    contents: Arc<Contents>,
    /// The read under way, told to the UI thread.
    state: Arc<ReadState>,
    /// The bytes read last: from `window_start`.
    window: Vec<u8>,
    window_start: u64,
}

impl std::fmt::Debug for Viewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Viewer")
            .field("title", &self.title)
            .field("top", &self.top)
            .finish_non_exhaustive()
    }
}

impl Viewer {
    /// Opens entry `entry` of layer `layer` (a regular file), as text unless its first
    /// bytes hold a NUL or it is an ELF file.
    pub fn open(
        analysis: &Analysis,
        contents: Arc<Contents>,
        state: Arc<ReadState>,
        (layer, entry): (usize, usize),
        hidden: bool,
    ) -> Self {
        let record = analysis.entry(layer, entry);
        let size = record.map_or(0, |e| e.size);
        let path = record.map(|e| escape_path(&e.path)).unwrap_or_default();
        let version = if hidden {
            format!("as layer {layer} wrote it, hidden in the final image")
        } else {
            format!("from layer {layer}")
        };
        let mut viewer = Self {
            title: format!(
                "{path} · {version} · {}",
                dive_core::report::human_bytes(size, false)
            ),
            size,
            hex: false,
            top: 0,
            top_line: Some(1),
            rows: Vec::new(),
            error: None,
            needle: Vec::new(),
            summary: None,
            show_summary: false,
            summary_top: 0,
            gunzip: false,
            decoded: analysis
                .layers
                .get(layer)
                .is_some_and(|l| l.compression != dive_core::Compression::None),
            cursor: None,
            opens: 0,
            layer,
            entry,
            contents,
            state,
            window: Vec::new(),
            window_start: 0,
        };
        viewer.load(analysis, 0);
        if viewer.window.starts_with(&[0x1f, 0x8b]) && size >= 18 {
            // The trailer's ISIZE: the decompressed size (mod 4 GiB, as gzip keeps it).
            let isize = viewer
                .contents
                .open_watched(analysis, layer, entry, size - 4, &viewer.state.watch())
                .ok()
                .and_then(|mut r| {
                    let mut tail = [0u8; 4];
                    r.read_exact(&mut tail)
                        .ok()
                        .map(|()| u32::from_le_bytes(tail))
                });
            if let Some(decompressed) = isize {
                viewer.gunzip = true;
                viewer.decoded = true;
                viewer.cursor = None;
                viewer.size = u64::from(decompressed);
                viewer.title = viewer.title.replacen(" · ", " · gunzipped · ", 1);
                viewer.load(analysis, 0);
            }
        }
        let head = &viewer.window[..viewer.window.len().min(8192)];
        viewer.hex = head.contains(&0) || head.starts_with(b"\x7fELF");
        if head.starts_with(b"\x7fELF") {
            // Bounded and stoppable: Esc, or closing the viewer, ends the read.
            let read =
                viewer
                    .contents
                    .elf_summary_watched(analysis, layer, entry, &viewer.state.watch());
            viewer.summary = Some(match read {
                Ok(Ok(summary)) => summary_rows(&summary),
                Ok(Err(why)) => vec![(
                    "ELF".into(),
                    format!("unreadable headers: {}", escape_owned(why)),
                )],
                Err(e) => vec![("ELF".into(), escape_owned(viewer.failure(&e.to_string())))],
            });
            viewer.show_summary = true;
        }
        viewer
    }

    /// The file's bytes from `start` on: read there, or for a gzip'd file decompressed from
    /// its start and skipped up to it. The read stops when the user asks.
    fn stream_from(&mut self, analysis: &Analysis, start: u64) -> Result<Box<dyn Read>, String> {
        self.opens += 1;
        let at = if self.gunzip { 0 } else { start };
        let reader = self
            .contents
            .open_watched(analysis, self.layer, self.entry, at, &self.state.watch())
            .map_err(|e| self.failure(&e.to_string()))?;
        let reader = Stoppable {
            inner: Box::new(reader),
            state: Arc::clone(&self.state),
        };
        if !self.gunzip {
            return Ok(Box::new(reader));
        }
        let mut decoded = flate2::read::MultiGzDecoder::new(reader);
        self.state.report(0, start);
        std::io::copy(&mut (&mut decoded).take(start), &mut std::io::sink())
            .map_err(|e| self.failure(&e.to_string()))?;
        Ok(Box::new(decoded))
    }

    /// What a failed read says: that the user stopped it, or what went wrong.
    fn failure(&self, message: &str) -> String {
        if self.state.stopped() {
            STOPPED.to_owned()
        } else {
            message.to_owned()
        }
    }

    /// What the screen shows now.
    pub fn screen(&self) -> Screen {
        let mode = if self.show_summary {
            "ELF summary"
        } else if self.hex {
            "hex"
        } else {
            "text"
        };
        Screen {
            title: format!("{} · {mode}", self.title),
            rows: self.rows.clone(),
            error: self.error.clone(),
        }
    }

    fn load(&mut self, analysis: &Analysis, start: u64) {
        let start = start.min(self.size);
        // Sliding forward inside the window: keep what is held from `start` (from the top row
        // when it is near: scrolling on must not need bytes the window let go), read the rest
        // from where the reader stands.
        let held_end = self.window_start + self.window.len() as u64;
        let start =
            if (self.window_start..=start).contains(&self.top) && start - self.top <= WINDOW / 2 {
                self.top
            } else {
                start
            };
        if (self.window_start..=held_end).contains(&start)
            && let Some((at, mut reader)) = self.cursor.take_if(|(at, _)| *at == held_end)
        {
            // A decoded file keeps a backlog behind `start`; a plain one reads it again.
            let back = if self.decoded { BACKLOG } else { 0 };
            let keep_from = start.saturating_sub(back).max(self.window_start);
            let mut window = self
                .window
                .split_off(usize::try_from(keep_from - self.window_start).unwrap_or(0));
            let ahead = held_end - start;
            let want = WINDOW.saturating_sub(ahead);
            match (&mut reader).take(want).read_to_end(&mut window) {
                Ok(n) => {
                    self.cursor = Some((at + n as u64, reader));
                    self.window = window;
                    self.window_start = keep_from;
                    self.error = None;
                }
                Err(e) => self.error = Some(escape_owned(self.failure(&e.to_string()))),
            }
            return;
        }
        // Decoding goes on from where the last read stopped rather than from the start of
        // the layer again; a plain layer reads at the offset instead of skipping far.
        let reuse = self.cursor.take().and_then(|(at, mut reader)| {
            let gap = start.checked_sub(at)?;
            if !self.decoded && gap > WINDOW {
                return None;
            }
            let skipped = std::io::copy(&mut (&mut reader).take(gap), &mut std::io::sink()).ok()?;
            (skipped == gap).then_some(reader)
        });
        let reader = match reuse {
            Some(reader) => Ok(reader),
            None => self.stream_from(analysis, start),
        };
        let read = reader.and_then(|mut reader| {
            let mut bytes = Vec::new();
            (&mut reader)
                .take(WINDOW)
                .read_to_end(&mut bytes)
                .map_err(|e| self.failure(&e.to_string()))?;
            Ok((bytes, reader))
        });
        match read {
            Ok((bytes, reader)) => {
                self.cursor = Some((start + bytes.len() as u64, reader));
                self.window = bytes;
                self.window_start = start;
                self.error = None;
            }
            Err(message) => self.error = Some(escape_owned(message)),
        }
    }

    /// The window holds `at..at + len` (as far as the file goes), reading it if not.
    fn ensure(&mut self, analysis: &Analysis, at: u64, len: u64) {
        let end = (at + len).min(self.size);
        let held = self.window_start..self.window_start + self.window.len() as u64;
        if !(held.contains(&at) || at == end) || end > held.end {
            self.load(analysis, at);
        }
    }

    /// The byte at `at`, from the window (which must hold it).
    fn byte(&self, at: u64) -> Option<u8> {
        let i = usize::try_from(at.checked_sub(self.window_start)?).ok()?;
        self.window.get(i).copied()
    }

    /// Where the line after the one starting at `at` starts, or `None` at the last line.
    /// The window is read again only when the line runs past it.
    fn next_line(&mut self, analysis: &Analysis, at: u64) -> Option<u64> {
        self.ensure(analysis, at, 1);
        let mut reloaded = false;
        loop {
            let held_end = (self.window_start + self.window.len() as u64).min(self.size);
            let mut pos = at;
            while pos < held_end {
                if self.byte(pos)? == b'\n' {
                    return (pos + 1 < self.size).then_some(pos + 1);
                }
                pos += 1;
            }
            if held_end >= self.size {
                return None;
            }
            if reloaded {
                // A line longer than the window is shown in pieces.
                return Some(held_end);
            }
            self.load(analysis, at);
            reloaded = true;
        }
    }

    /// Where the line before the one starting at `at` starts. The window is read again
    /// (half of it before `at`) only when the line starts before it.
    fn previous_line(&mut self, analysis: &Analysis, at: u64) -> Option<u64> {
        if at == 0 {
            return None;
        }
        let held_end = self.window_start + self.window.len() as u64;
        if !(self.window_start < at && at <= held_end) {
            self.load(analysis, at.saturating_sub(WINDOW / 2));
        }
        let mut reloaded = false;
        loop {
            let low = self.window_start;
            // A line longer than half a window is shown in pieces.
            let floor = low.max(at.saturating_sub(WINDOW / 2));
            // `at - 1` is the newline that ends the previous line (or a piece's end).
            let mut pos = at - 1;
            while pos > floor {
                if self.byte(pos - 1)? == b'\n' {
                    return Some(pos);
                }
                pos -= 1;
            }
            if floor > low || low == 0 || reloaded || at - low >= WINDOW / 2 {
                return Some(floor);
            }
            self.load(analysis, at.saturating_sub(WINDOW / 2));
            reloaded = true;
        }
    }

    /// Moves by `rows` (down when positive); `height` rows are on screen.
    pub fn scroll(&mut self, analysis: &Analysis, rows: i64, height: usize) {
        if self.show_summary {
            let last = self
                .summary
                .as_ref()
                .map_or(0, Vec::len)
                .saturating_sub(height);
            self.summary_top = self
                .summary_top
                .saturating_add_signed(rows as isize)
                .min(last);
        } else if self.hex {
            let last = self.size.saturating_sub(1) / HEX_ROW * HEX_ROW;
            let delta = rows.unsigned_abs() * HEX_ROW;
            self.top = if rows < 0 {
                self.top.saturating_sub(delta)
            } else {
                (self.top + delta).min(last)
            };
        } else {
            for _ in 0..rows.unsigned_abs() {
                let moved = if rows < 0 {
                    self.previous_line(analysis, self.top)
                } else {
                    self.next_line(analysis, self.top)
                };
                let Some(to) = moved else { break };
                self.top = to;
                self.top_line = self.top_line.map(|l| {
                    if rows < 0 {
                        l.saturating_sub(1).max(1)
                    } else {
                        l + 1
                    }
                });
            }
            if self.top == 0 {
                self.top_line = Some(1);
            }
        }
        self.refresh(analysis, height);
    }

    /// Finds `needle` (or the last one) after the top row, reading the file on from there
    /// once; the row holding the match becomes the top. Whether there was one.
    pub fn find(
        &mut self,
        analysis: &Analysis,
        needle: Option<&[u8]>,
        height: usize,
    ) -> Result<bool, String> {
        if let Some(needle) = needle {
            needle.clone_into(&mut self.needle);
        }
        // Bytes are searched: an ELF file's summary gives way to its hex dump.
        self.show_summary = false;
        if self.needle.is_empty() {
            return Ok(false);
        }
        // From the second row on: the top row is where the last match was.
        let from = if self.hex {
            (self.top + HEX_ROW).min(self.size)
        } else {
            self.next_line(analysis, self.top).unwrap_or(self.size)
        };
        let mut reader = self.stream_from(analysis, from).map_err(escape_owned)?;
        let finder = memchr::memmem::Finder::new(&self.needle);
        let keep = self.needle.len() - 1;
        // A chunk, after the last `keep` bytes of the one before (a match may straddle them).
        let mut chunk: Vec<u8> = Vec::with_capacity(WINDOW as usize + keep);
        let mut chunk_start = from;
        let mut newlines = 0u64;
        loop {
            let carried = chunk.len();
            chunk.resize(carried + WINDOW as usize, 0);
            self.state.report(chunk_start - from, self.size - from);
            let n = reader
                .read(&mut chunk[carried..])
                .map_err(|e| escape_owned(self.failure(&e.to_string())))?;
            chunk.truncate(carried + n);
            if let Some(at) = finder.find(&chunk) {
                let hit = chunk_start + at as u64;
                let line_start = chunk[..at].iter().rposition(|&b| b == b'\n');
                newlines += memchr::memchr_iter(b'\n', &chunk[..at]).count() as u64;
                self.top = if self.hex {
                    hit / HEX_ROW * HEX_ROW
                } else {
                    match line_start {
                        Some(i) => chunk_start + i as u64 + 1,
                        // The line began in an earlier chunk (a line longer than a chunk).
                        None => self.previous_line(analysis, hit + 1).unwrap_or(from),
                    }
                };
                if !self.hex {
                    // Lines from the top row's to the match's.
                    self.top_line = self.top_line.map(|l| l + 1 + newlines);
                }
                self.refresh(analysis, height);
                return Ok(true);
            }
            if n == 0 {
                return Ok(false);
            }
            let drop = chunk.len().saturating_sub(keep);
            newlines += memchr::memchr_iter(b'\n', &chunk[..drop]).count() as u64;
            chunk.drain(..drop);
            chunk_start += drop as u64;
        }
    }

    /// To the first row.
    pub fn home(&mut self, analysis: &Analysis, height: usize) {
        self.summary_top = 0;
        self.top = 0;
        self.top_line = Some(1);
        self.refresh(analysis, height);
    }

    /// To the last screen.
    pub fn end(&mut self, analysis: &Analysis, height: usize) {
        if self.show_summary {
            self.summary_top = self
                .summary
                .as_ref()
                .map_or(0, Vec::len)
                .saturating_sub(height);
        } else if self.hex {
            let rows = (height as u64).max(1);
            let last = self.size.saturating_sub(1) / HEX_ROW;
            self.top = last.saturating_sub(rows - 1) * HEX_ROW;
        } else {
            let mut top = self.size;
            // The last line, then `height - 1` lines above it.
            if let Some(start) = self.previous_line(analysis, self.size) {
                top = start;
            }
            for _ in 1..height {
                match self.previous_line(analysis, top) {
                    Some(start) => top = start,
                    None => break,
                }
            }
            self.top = top.min(self.size);
            // Counted only when the whole file is in the window: the pieces between
            // newlines before the top are the lines above it, plus one.
            let whole = self.window_start == 0 && self.window.len() as u64 == self.size;
            self.top_line = whole.then(|| {
                let above = &self.window[..usize::try_from(self.top).unwrap_or(0)];
                above.split(|&b| b == b'\n').count() as u64
            });
        }
        self.refresh(analysis, height);
    }

    /// Text or hex (an ELF file: its summary or hex); the same bytes stay on top.
    pub fn toggle_hex(&mut self, analysis: &Analysis, height: usize) {
        if self.summary.is_some() {
            self.show_summary = !self.show_summary;
            self.hex = true;
            return self.refresh(analysis, height);
        }
        self.hex = !self.hex;
        if self.hex {
            self.top = self.top / HEX_ROW * HEX_ROW;
        } else {
            // Back to the start of the line that holds the top byte.
            let at = self.top;
            self.top = match self.previous_line(analysis, at + 1) {
                Some(start) if start <= at => start,
                _ => 0,
            };
            self.top_line = (self.top == 0).then_some(1);
        }
        self.refresh(analysis, height);
    }

    /// Computes the rows `height` lines of the screen show (the screen cuts them).
    pub fn refresh(&mut self, analysis: &Analysis, height: usize) {
        self.rows.clear();
        if self.show_summary {
            let summary = self.summary.as_deref().unwrap_or_default();
            self.rows = summary
                .iter()
                .skip(self.summary_top)
                .take(height)
                .cloned()
                .collect();
            return;
        }
        if self.hex {
            let len = height as u64 * HEX_ROW;
            self.ensure(analysis, self.top, len);
            for row in 0..height as u64 {
                let at = self.top + row * HEX_ROW;
                if at >= self.size {
                    break;
                }
                let bytes: Vec<u8> = (at..(at + HEX_ROW).min(self.size))
                    .filter_map(|i| self.byte(i))
                    .collect();
                self.rows.push((format!("{at:08x}"), hex_row(&bytes)));
            }
            return;
        }
        let mut at = self.top;
        let mut line = self.top_line;
        for _ in 0..height {
            if at >= self.size && !(at == 0 && self.size == 0) {
                break;
            }
            let next = self.next_line(analysis, at);
            let end = next.unwrap_or(self.size);
            self.ensure(analysis, at, end - at);
            let bytes: Vec<u8> = (at..end).filter_map(|i| self.byte(i)).collect();
            let text = text_row(&bytes);
            let gutter = line.map_or_else(|| format!("@{at}"), |l| l.to_string());
            self.rows.push((gutter, text));
            match next {
                Some(next) => {
                    at = next;
                    line = line.map(|l| l + 1);
                }
                None => break,
            }
        }
    }
}
