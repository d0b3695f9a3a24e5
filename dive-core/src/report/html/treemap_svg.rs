//! The treemap laid out (squarified) and drawn as SVG, with each item's tooltip.

use std::fmt::Write as _;

use super::page::text;
use super::treemap::{HEADER, HEIGHT, Item, Kind, PALETTE, Treemap, WIDTH, kind_name};
use crate::escape::escape;
use crate::report::text::{cut, human_bytes};

/// A rectangle of the layout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

/// Rectangles for `sizes` (largest first) that fill `area` in proportion, each as close to
/// a square as the squarified algorithm (Bruls, Huizing, van Wijk) makes them.
pub fn squarify(sizes: &[u64], area: Rect) -> Vec<Rect> {
    let total: f64 = sizes.iter().map(|&s| s as f64).sum();
    let mut out = Vec::with_capacity(sizes.len());
    if total <= 0.0 || area.w <= 0.0 || area.h <= 0.0 {
        out.resize(
            sizes.len(),
            Rect {
                w: 0.0,
                h: 0.0,
                ..area
            },
        );
        return out;
    }
    let scale = area.w * area.h / total;
    let scaled: Vec<f64> = sizes.iter().map(|&s| s as f64 * scale).collect();
    let mut rest = area;
    let mut start = 0;
    while start < scaled.len() {
        let side = rest.w.min(rest.h);
        let mut end = start + 1;
        let mut worst_now = worst(&scaled[start..end], side);
        while end < scaled.len() {
            let next = worst(&scaled[start..=end], side);
            if next > worst_now {
                break;
            }
            worst_now = next;
            end += 1;
        }
        let row = &scaled[start..end];
        let sum: f64 = row.iter().sum();
        // A column at the left of a wide area, a row at the top of a tall one.
        let column = rest.w >= rest.h;
        let length = if column { rest.h } else { rest.w };
        let thickness = if length > 0.0 { sum / length } else { 0.0 };
        let mut along = 0.0;
        for &s in row {
            let extent = if thickness > 0.0 { s / thickness } else { 0.0 };
            out.push(if column {
                Rect {
                    x: rest.x,
                    y: rest.y + along,
                    w: thickness,
                    h: extent,
                }
            } else {
                Rect {
                    x: rest.x + along,
                    y: rest.y,
                    w: extent,
                    h: thickness,
                }
            });
            along += extent;
        }
        if column {
            rest.x += thickness;
            rest.w = (rest.w - thickness).max(0.0);
        } else {
            rest.y += thickness;
            rest.h = (rest.h - thickness).max(0.0);
        }
        start = end;
    }
    out
}

/// The worst aspect ratio of a row of areas laid along a side of length `side`.
fn worst(row: &[f64], side: f64) -> f64 {
    let sum: f64 = row.iter().sum();
    let (min, max) = row
        .iter()
        .fold((f64::MAX, 0.0_f64), |(lo, hi), &s| (lo.min(s), hi.max(s)));
    if sum <= 0.0 || min <= 0.0 {
        return f64::MAX;
    }
    let side2 = side * side;
    let sum2 = sum * sum;
    (side2 * max / sum2).max(sum2 / (side2 * min))
}

/// The area left for an item's children: a strip for its name at the top when it is large
/// enough to carry one.
fn inner(item: &Item, rect: Rect) -> Rect {
    let header = if item.kind == Kind::Image || rect.h < 3.0 * HEADER || rect.w < 60.0 {
        0.0
    } else {
        HEADER
    };
    let pad = if item.kind == Kind::Image { 0.0 } else { 1.0 };
    Rect {
        x: rect.x + pad,
        y: rect.y + header + pad,
        w: (rect.w - 2.0 * pad).max(0.0),
        h: (rect.h - header - 2.0 * pad).max(0.0),
    }
}

/// The treemap as SVG elements (inside an `<svg>` the page writes), the layout computed
/// here: every item large enough to see is a `<rect>` with a `<title>` people read on
/// hover, and a label where it fits.
pub fn svg(map: &Treemap, exact: bool) -> String {
    let mut out = String::new();
    if map.items.is_empty() {
        return out;
    }
    let root = Rect {
        x: 0.0,
        y: 0.0,
        w: WIDTH,
        h: HEIGHT,
    };
    let mut stack = vec![(0u32, root)];
    while let Some((id, rect)) = stack.pop() {
        let item = &map.items[id as usize];
        // Smaller than this, a tile is noise: its parent's colour shows there instead.
        if rect.w < 2.0 || rect.h < 2.0 {
            continue;
        }
        if item.kind != Kind::Image {
            write_rect(&mut out, map, id, rect, exact);
        }
        if item.children.is_empty() {
            continue;
        }
        let area = inner(item, rect);
        let sizes: Vec<u64> = item
            .children
            .iter()
            .map(|&c| map.items[c as usize].bytes)
            .collect();
        let rects = squarify(&sizes, area);
        for (&child, &r) in item.children.iter().zip(&rects).rev() {
            stack.push((child, r));
        }
    }
    out
}

/// What hovering an item says: path or name, bytes, owner, layers.
pub fn tooltip(map: &Treemap, item: &Item, exact: bool) -> String {
    let mut tip = item.path.clone().unwrap_or_else(|| item.name.clone());
    let _ = write!(tip, "\n{}", human_bytes(item.bytes, exact));
    if item.kind != Kind::File {
        let _ = write!(tip, " in {} files", item.files);
    }
    if let Some(owner) = &item.owner {
        let _ = write!(tip, "\nowner: {owner}");
    } else if item.kind == Kind::File {
        tip.push_str("\nowner: none");
    }
    if let Some(layer) = item.layer {
        let _ = write!(tip, "\nadded by layer {layer}");
    }
    if let Some(layer) = item.hidden_by {
        let _ = write!(tip, ", hidden by layer {layer} (shipped, not visible)");
    }
    if let Some(waste) = item.waste {
        let _ = write!(tip, "\nwaste: {waste}");
    }
    if let Some(group) = map.groups.get(item.group as usize)
        && item.kind != Kind::Group
    {
        let _ = write!(tip, "\ngroup: {}", escape(group));
    }
    tip
}

fn write_rect(out: &mut String, map: &Treemap, id: u32, rect: Rect, exact: bool) {
    let item = &map.items[id as usize];
    let mut class = format!("c{} k-{}", item.colour % PALETTE, kind_name(item.kind));
    if item.hidden {
        class.push_str(" hid");
    }
    // A dashed outline needs room to be seen as one.
    if item.waste.is_some() && !item.hidden && rect.w >= 8.0 && rect.h >= 8.0 {
        class.push_str(" waste");
    }
    let _ = write!(
        out,
        "<g class=\"{class}\" data-i=\"{id}\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"/>",
        rect.x, rect.y, rect.w, rect.h
    );
    if item.hidden {
        let _ = write!(
            out,
            "<rect class=\"hatch\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"/>",
            rect.x, rect.y, rect.w, rect.h
        );
    }
    let _ = write!(out, "<title>{}</title>", text(&tooltip(map, item, exact)));
    let leaf = item.children.is_empty();
    let fits = if leaf {
        rect.w >= 40.0 && rect.h >= 14.0
    } else {
        rect.w >= 60.0 && rect.h >= 3.0 * HEADER
    };
    if fits {
        let chars = ((rect.w - 6.0) / 6.6).max(1.0) as usize;
        let label = cut(&item.name, chars);
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            rect.x + 3.0,
            rect.y + 11.5,
            text(&label)
        );
        if leaf && rect.h >= 28.0 {
            let size = cut(&human_bytes(item.bytes, exact), chars);
            let _ = write!(
                out,
                "<text class=\"sz\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                rect.x + 3.0,
                rect.y + 24.0,
                text(&size)
            );
        }
    }
    out.push_str("</g>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn squarified_rectangles_tile_the_area_in_proportion(
            mut sizes in proptest::collection::vec(1u64..1_000_000, 1..60),
            w in 10.0f64..2000.0,
            h in 10.0f64..2000.0,
        ) {
            sizes.sort_unstable_by(|a, b| b.cmp(a));
            let area = Rect { x: 5.0, y: 7.0, w, h };
            let rects = squarify(&sizes, area);
            prop_assert_eq!(rects.len(), sizes.len());
            let total: f64 = sizes.iter().map(|&s| s as f64).sum();
            for (r, &s) in rects.iter().zip(&sizes) {
                let want = s as f64 / total * w * h;
                prop_assert!((r.w * r.h - want).abs() <= 1e-6 * w * h, "{r:?} {want}");
                prop_assert!(r.x >= area.x - 1e-6 && r.y >= area.y - 1e-6);
                prop_assert!(r.x + r.w <= area.x + w + 1e-6 && r.y + r.h <= area.y + h + 1e-6);
            }
            for (i, a) in rects.iter().enumerate() {
                for b in &rects[i + 1..] {
                    let overlap_w = (a.x + a.w).min(b.x + b.w) - a.x.max(b.x);
                    let overlap_h = (a.y + a.h).min(b.y + b.h) - a.y.max(b.y);
                    prop_assert!(overlap_w <= 1e-6 || overlap_h <= 1e-6, "{a:?} {b:?}");
                }
            }
        }
    }

    #[test]
    fn equal_sizes_in_a_square_are_squares() {
        let rects = squarify(
            &[1, 1, 1, 1],
            Rect {
                x: 0.0,
                y: 0.0,
                w: 2.0,
                h: 2.0,
            },
        );
        for r in rects {
            assert!(
                (r.w - 1.0).abs() < 1e-9 && (r.h - 1.0).abs() < 1e-9,
                "{r:?}"
            );
        }
    }
}
