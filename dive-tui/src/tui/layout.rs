//! The screen's geometry: one function splits the screen, and drawing and mouse hit-testing
//! both call it, so a click lands where the eye sees.

use ratatui::layout::{Constraint, Layout, Rect};

/// Where each part of the screen goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// Image totals.
    pub header: Rect,
    /// The layer list.
    pub layers: Rect,
    /// Tree, Packages, Waste or Largest.
    pub main: Rect,
    /// Details of the selection.
    pub details: Rect,
    /// Key hints, a prompt or a message.
    pub footer: Rect,
}

/// Terminals at least this wide show details beside the main pane, not below it.
const WIDE: u16 = 110;

/// Splits the screen for an image of `layers` layers; the same function serves drawing
/// and mouse hit-testing.
pub fn areas(size: Rect, layers: usize) -> Areas {
    // Borders and the column header take three rows; a long list gets a third of the screen.
    let wanted = u16::try_from(layers).unwrap_or(u16::MAX).saturating_add(3);
    let layers_height = wanted.min((size.height / 3).max(5));
    let [header, layers, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(layers_height),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(size);
    let (main, details) = if size.width >= WIDE {
        let [main, details] =
            Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)])
                .areas(body);
        (main, details)
    } else {
        let [main, details] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(7)]).areas(body);
        (main, details)
    };
    Areas {
        header,
        layers,
        main,
        details,
        footer,
    }
}
