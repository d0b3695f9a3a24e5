//! The treemap of the HTML report: every shipped byte as family → package → directory → file,
//! hidden content beside the visible files of its owner. The largest items are kept (a fixed
//! budget, so a million files make a page of a few megabytes) and the rest of each directory
//! is folded into one "other" item with its count and bytes (`treemap_build.rs`). The
//! layout is squarified here, so that the page shows the picture without scripts
//! (`treemap_svg.rs`). This file holds what the treemap is made of.

use serde::Serialize;

/// Items drawn at most; the rest is folded into "other" items.
pub const ITEM_BUDGET: usize = 6000;
/// The SVG's own coordinate space (it scales to the page's width).
pub const WIDTH: f64 = 1200.0;
/// See [`WIDTH`].
pub const HEIGHT: f64 = 660.0;
/// Height of the name strip at the top of a group, package or directory large enough.
pub(super) const HEADER: f64 = 15.0;

/// What an item of the treemap stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The whole image.
    Image,
    /// A family, the packages of no family of one ecosystem, or the unowned bytes.
    Group,
    /// A package.
    Package,
    /// A directory (chains of single directories joined: `usr/lib/x86_64-linux-gnu`).
    Dir,
    /// A file.
    File,
    /// Small items of one directory folded together.
    Other,
}

/// One item as the page holds it: names already escaped for people (never for HTML: the
/// page escapes them where it writes them).
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// Its name in its parent.
    pub name: String,
    /// Bytes below it, hidden ones included.
    pub bytes: u64,
    /// Files below it (for "other": the files folded).
    pub files: u64,
    /// What it is.
    pub kind: Kind,
    /// Its top-level group (index into [`Treemap::groups`]).
    pub group: u32,
    /// Its colour in the palette: the groups' by size, unowned bytes grey.
    pub colour: u32,
    /// Content a later layer hid (shipped, not visible).
    pub hidden: bool,
    /// Waste class of a file, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waste: Option<&'static str>,
    /// The layer that added a file's content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<u32>,
    /// The layer that hid it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_by: Option<u32>,
    /// Owner package of a file (`name version`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Image path of a file or directory, `/`-prefixed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Children, largest first (indices into [`Treemap::items`]).
    pub children: Vec<u32>,
}

/// The items kept, root first.
#[derive(Debug, Clone, Serialize)]
pub struct Treemap {
    /// Items; 0 is the image.
    pub items: Vec<Item>,
    /// Names of the top-level groups, by colour index.
    pub groups: Vec<String>,
    /// Files of the image (visible and hidden contents) in all.
    pub all_files: u64,
    /// Items folded into "other" items.
    pub folded_files: u64,
}

/// Colours of the palette the stylesheet defines (`.c0` … `.c11`).
pub const PALETTE: u32 = 12;
/// The palette's grey (`.c9`), for bytes no package owns.
pub(super) const GREY: u32 = 9;

/// The kind as the page's classes and data name it.
pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Image => "image",
        Kind::Group => "group",
        Kind::Package => "package",
        Kind::Dir => "dir",
        Kind::File => "file",
        Kind::Other => "other",
    }
}
