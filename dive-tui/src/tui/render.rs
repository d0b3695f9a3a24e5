//! Drawing: a pure function of the [`App`]; only visible rows are laid out.

use dive_core::EntryChange;
use dive_core::report::human_bytes;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph, Wrap};

use crate::tui::app::{App, Phase};
use crate::tui::event::Progress;
use crate::tui::keymap::{BINDINGS, Pane, hints};
use crate::tui::layout::areas;
use crate::tui::view::outline::{Outline, safe};
use crate::tui::view::panes::Views;

/// Styles, plain when `NO_COLOR` is set (letters still carry every mark).
struct Theme {
    color: bool,
}

impl Theme {
    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    fn selected(&self, focused: bool) -> Style {
        if focused {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        }
    }

    fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        }
    }

    fn change(&self, change: Option<EntryChange>, hidden: bool) -> Style {
        let color = match change {
            Some(EntryChange::Added) => Color::Green,
            Some(EntryChange::Modified) => Color::Yellow,
            Some(EntryChange::Removed | EntryChange::RemovedNothing) => Color::Red,
            None if hidden => Color::Magenta,
            None => return Style::new(),
        };
        self.fg(color)
    }
}

fn bytes(n: u64) -> String {
    human_bytes(n, false)
}

/// Draws the whole screen.
pub fn render(app: &App, frame: &mut Frame) {
    let theme = Theme { color: app.color };
    let size = frame.area();
    let areas = areas(size, app.layer_count());
    match &app.phase {
        Phase::Loading(progress) => loading(app, progress, frame, size),
        Phase::Failed(message) => {
            let text = Paragraph::new(format!(
                "dive-rs could not read {}:\n\n{message}\n\nPress q to quit.",
                app.input
            ))
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" error "));
            frame.render_widget(text, size);
        }
        Phase::Ready(_)
            if app.viewer.is_some() || app.worker.as_ref().is_some_and(|w| w.screen.is_some()) =>
        {
            // The worker's last screen is drawn as it is; an in-place viewer makes one.
            let inline = app
                .viewer
                .as_ref()
                .map(crate::tui::viewer::file::Viewer::screen);
            let worker = app.worker.as_ref().and_then(|w| w.screen.as_ref());
            if let Some(screen) = inline.as_ref().or(worker) {
                file_viewer(app, screen, &theme, frame, size);
            }
            if app.help {
                help(app, &theme, frame, size);
            }
        }
        Phase::Ready(views) => {
            header(app, views, frame, areas.header);
            layers(app, views, &theme, frame, areas.layers);
            main_pane(app, views, &theme, frame, areas.main);
            details(app, &theme, frame, areas.details);
            footer(app, &theme, frame, areas.footer);
            if app.help {
                help(app, &theme, frame, size);
            }
        }
    }
}

/// The viewer over the whole screen: the file's rows with a gutter (line numbers, or byte
/// offsets), and its keys in the last line.
fn file_viewer(
    app: &App,
    viewer: &crate::tui::event::Screen,
    theme: &Theme,
    frame: &mut Frame,
    size: Rect,
) {
    let [body, keys] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(size);
    let block = Block::bordered()
        .title(format!(" {} ", viewer.title))
        .border_style(theme.border(true));
    let inner = block.inner(body);
    frame.render_widget(block, body);
    let lines: Vec<Line> = if let Some(error) = &viewer.error {
        vec![Line::raw(format!("cannot read the file: {error}"))]
    } else {
        let gutter = viewer.rows.iter().map(|(g, _)| g.len()).max().unwrap_or(1);
        viewer
            .rows
            .iter()
            .map(|(g, text)| {
                Line::from(vec![
                    Span::styled(
                        format!("{g:>gutter$} "),
                        Style::new().add_modifier(Modifier::DIM),
                    ),
                    Span::raw(text.clone()),
                ])
            })
            .collect()
    };
    frame.render_widget(Paragraph::new(lines), inner);
    // The prompt being typed, else a slow read's progress, else a message, else the keys.
    let line = match (&app.prompt, app.reading(), &app.status) {
        (Some((prompt, text)), _, _) => format!(
            " {}{}▏",
            prompt.question(),
            crate::tui::view::outline::safe(text.clone())
        ),
        (None, Some(reading), _) => format!(" {reading}"),
        (None, None, Some(status)) => format!(" {status}"),
        (None, None, None) => {
            " ↑↓ PgUp PgDn Home End move · / find · n next · x text/hex · Esc back · ? keys"
                .to_owned()
        }
    };
    frame.render_widget(Paragraph::new(line), keys);
}

fn loading(app: &App, progress: &Progress, frame: &mut Frame, size: Rect) {
    let [_, area, _] = Layout::vertical([
        Constraint::Percentage(40),
        Constraint::Length(3),
        Constraint::Min(0),
    ])
    .areas(size);
    let area = area.inner(ratatui::layout::Margin::new(size.width / 8, 0));
    let (ratio, label) = match progress.layers_total {
        _ if progress.merged => (1.0, "merging layers, attributing bytes…".to_owned()),
        // Bytes read tell more than layers done when one layer holds most of the image.
        Some(total) if progress.stored_total > 0 => (
            progress.stored_read as f64 / progress.stored_total as f64,
            format!(
                "{}/{} layers · {} of {} read",
                progress.layers_done,
                total,
                bytes(progress.stored_read),
                bytes(progress.stored_total)
            ),
        ),
        Some(total) if total > 0 => (
            progress.layers_done as f64 / total as f64,
            format!(
                "{}/{} layers · {} read",
                progress.layers_done,
                total,
                bytes(progress.bytes_done)
            ),
        ),
        _ => (0.0, format!("reading {}… (q quits)", app.input)),
    };
    let gauge = Gauge::default()
        .block(Block::bordered().title(format!(" dive-rs {} ", app.input)))
        .ratio(ratio.clamp(0.0, 1.0))
        .label(label);
    frame.render_widget(gauge, area);
}

fn header(app: &App, views: &Views, frame: &mut Frame, area: Rect) {
    let image = &views.analysis.image;
    let name = image
        .reference
        .as_deref()
        .map_or_else(|| app.input.clone(), safe);
    let mut text = format!(
        " dive-rs  {name}  │ {} final + {} hidden = {} shipped │ efficiency {:.1}% │ {} layers │ {} files",
        bytes(image.final_bytes),
        bytes(image.hidden_bytes),
        bytes(image.final_bytes + image.hidden_bytes),
        image.efficiency * 100.0,
        image.layer_count,
        image.final_files,
    );
    if !views.analysis.warnings.is_empty() {
        text.push_str(&format!(" │ {} warnings", views.analysis.warnings.len()));
    }
    frame.render_widget(
        Paragraph::new(text).style(Style::new().add_modifier(Modifier::BOLD)),
        area,
    );
}

/// A bar of `width` cells filled to `ratio`, in eighths.
fn bar(ratio: f64, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = (ratio.clamp(0.0, 1.0) * (width * 8) as f64).round() as usize;
    let mut out = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        out.push(PARTS[eighths % 8]);
    }
    let used = out.chars().count();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

fn layers(app: &App, views: &Views, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = app.focus == Pane::Layers;
    let base = views.analysis.base_layer_count();
    let title = match (base, views.hide_base) {
        (0, _) => " 1 Layers ".to_owned(),
        (n, true) => format!(" 1 Layers ({n} of the base hidden: B) "),
        (n, false) => format!(" 1 Layers (0–{} the base's: B hides) ", n - 1),
    };
    let block = Block::bordered()
        .title(title)
        .border_style(theme.border(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let total: u64 = views
        .analysis
        .layers
        .iter()
        .map(|l| l.file_bytes)
        .sum::<u64>()
        .max(1);
    let mut lines = vec![Line::styled(
        format!(
            "{:>3} {:<8} {:>9} {:>9} {:>9}  command",
            "#", "share", "files", "stored", "hidden"
        ),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    let rows = usize::from(inner.height.saturating_sub(1));
    for layer in views
        .analysis
        .layers
        .iter()
        .skip(views.layer_offset.max(views.first_layer()))
        .take(rows)
    {
        let command = safe(layer.command().unwrap_or_default());
        let command = if layer.from_base {
            format!("[base] {command}")
        } else {
            command
        };
        let text = format!(
            "{:>3} {} {:>9} {:>9} {:>9}  {command}",
            layer.index,
            bar(layer.file_bytes as f64 / total as f64, 8),
            bytes(layer.file_bytes),
            bytes(layer.size_compressed),
            bytes(layer.hidden_bytes),
        );
        let style = if layer.index == views.layer {
            theme.selected(focused)
        } else {
            Style::new()
        };
        lines.push(Line::styled(text, style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn main_pane(app: &App, views: &Views, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = app.focus == app.main;
    let mut tabs = vec![Span::raw(" ")];
    for (n, pane) in Pane::ALL.iter().enumerate().skip(1) {
        let label = format!("{} {}", n + 1, pane.title());
        let style = if *pane == app.main {
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        } else {
            Style::new()
        };
        tabs.push(Span::styled(label, style));
        tabs.push(Span::raw(" · "));
    }
    tabs.pop();
    tabs.push(Span::raw(" "));
    let outline = views.outline(app.main);
    let mut block = Block::bordered()
        .title(Line::from(tabs))
        .border_style(theme.border(focused));
    let describe = match app.main {
        Pane::Tree => views.tree.describe(views.layer),
        _ if outline.sort_by() == crate::tui::view::outline::SortBy::Name => "by name".to_owned(),
        _ if outline.sort_by() == crate::tui::view::outline::SortBy::Device => {
            "by GPU device code".to_owned()
        }
        _ => String::new(),
    };
    if !describe.is_empty() {
        block = block.title_top(Line::from(format!(" {describe} ")).right_aligned());
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = outline_lines(outline, theme, focused, inner, app.main == Pane::Tree);
    if lines.is_empty() {
        let empty = if views.attributing && matches!(app.main, Pane::Packages | Pane::Waste) {
            "finding the owner package of every file (reading the package databases)…"
        } else if outline.is_filtered() {
            "nothing matches the filters (C clears them)"
        } else {
            "nothing here"
        };
        frame.render_widget(Paragraph::new(empty), inner);
    } else {
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

/// The visible rows of an outline: marks, size, share, bar, then the indented label.
fn outline_lines(
    outline: &Outline,
    theme: &Theme,
    focused: bool,
    area: Rect,
    slash_dirs: bool,
) -> Vec<Line<'static>> {
    // Sorted by device code, the figures are device code too.
    let by_device = outline.sort_by() == crate::tui::view::outline::SortBy::Device;
    let total = if by_device {
        outline.total_device_bytes()
    } else {
        outline.total_bytes()
    }
    .max(1);
    let height = usize::from(area.height);
    let width = usize::from(area.width);
    outline
        .rows()
        .iter()
        .enumerate()
        .skip(outline.offset)
        .take(height)
        .map(|(at, row)| {
            let item = outline.item(row.item);
            let shown = if by_device {
                item.device
            } else {
                outline.shown_bytes(row.item)
            };
            let mark = format!(
                "{}{}",
                item.change.map_or(' ', dive_core::EntryChange::letter),
                if item.hidden { 'H' } else { ' ' }
            );
            let ratio = shown as f64 / total as f64;
            let glyph = if !item.is_parent {
                "  "
            } else if outline.is_expanded(row.item) {
                "▾ "
            } else {
                "▸ "
            };
            let indent = "  ".repeat(usize::from(row.depth));
            let mut name = item.label.clone();
            if slash_dirs && item.is_parent {
                name.push('/');
            }
            let fixed = format!(
                " {:>9} {:>5.1}% {} ",
                bytes(shown),
                ratio * 100.0,
                bar(ratio, 6)
            );
            let room = width
                .saturating_sub(2 + fixed.chars().count() + indent.len() + glyph.chars().count());
            let label = format!("{indent}{glyph}{}", fit(&name, room));
            let style = if at == outline.selected {
                theme.selected(focused)
            } else {
                Style::new()
            };
            Line::from(vec![
                Span::styled(mark, theme.change(item.change, item.hidden)),
                Span::raw(fixed),
                Span::raw(label),
            ])
            .style(style)
        })
        .collect()
}

/// Cuts a label to `room` characters; a full path keeps its end, where the file name is.
fn fit(label: &str, room: usize) -> String {
    let len = label.chars().count();
    if len <= room {
        label.to_owned()
    } else if label.starts_with('/') && room > 1 {
        let tail: String = label.chars().skip(len - (room - 1)).collect();
        format!("…{tail}")
    } else {
        label.chars().take(room).collect()
    }
}

fn details(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = Block::new()
        .borders(Borders::ALL)
        .title(" Details ")
        .border_style(theme.border(false));
    // Values wrap under themselves, not under the labels.
    const LABEL: usize = 13;
    let room = usize::from(area.width.saturating_sub(2))
        .saturating_sub(LABEL)
        .max(8);
    let mut lines: Vec<Line> = Vec::new();
    for (label, value) in &app.details {
        let chars: Vec<char> = value.chars().collect();
        for (i, chunk) in chars.chunks(room).enumerate() {
            let head = if i == 0 { label.as_str() } else { "" };
            lines.push(Line::from(vec![
                Span::styled(
                    format!("{head:>12} "),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::raw(chunk.iter().collect::<String>()),
            ]));
        }
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn footer(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let line = if let Some((prompt, text)) = &app.prompt {
        Line::from(vec![
            Span::styled(prompt.question(), Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(safe(text.as_str())),
            Span::styled("█", Style::new().add_modifier(Modifier::SLOW_BLINK)),
        ])
    } else if let Some(reading) = app.reading() {
        Line::styled(format!(" {reading}"), theme.fg(Color::Yellow))
    } else if let Some(status) = &app.status {
        Line::styled(format!(" {status}"), theme.fg(Color::Yellow))
    } else {
        let mut spans = Vec::new();
        for (keys, word) in hints(app.focus) {
            spans.push(Span::styled(
                format!(" {keys}"),
                Style::new().add_modifier(Modifier::BOLD),
            ));
            spans.push(Span::raw(format!(" {word} ")));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn help(app: &App, theme: &Theme, frame: &mut Frame, size: Rect) {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut lines: Vec<Line> = Vec::new();
    let mut heading = None;
    for b in BINDINGS {
        if b.scope.heading() != heading {
            heading = b.scope.heading();
            if let Some(text) = heading {
                lines.push(Line::raw(""));
                lines.push(Line::styled(format!(" {text}"), bold));
            }
        }
        lines.push(Line::from(vec![
            Span::styled(format!(" {:<8}", b.label), bold),
            Span::raw(b.help),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(
        " Marks: A added, M modified, D deleted (by the selected layer), H hidden",
    ));
    lines.push(Line::raw(
        " Mouse: wheel scrolls, click selects, click again opens",
    ));
    let height = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(size.height);
    let width = 78.min(size.width);
    let area = Rect::new(
        size.x + (size.width - width) / 2,
        size.y + (size.height - height) / 2,
        width,
        height,
    );
    let hidden_rows = (lines.len() as u16).saturating_sub(height.saturating_sub(2));
    let title = if hidden_rows > 0 {
        " keys (j/k scroll, ? or Esc closes) "
    } else {
        " keys (? or Esc closes) "
    };
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((app.help_scroll.min(hidden_rows), 0))
            .block(
                Block::bordered()
                    .title(title)
                    .border_style(theme.border(true)),
            ),
        area,
    );
}
