//! The state of every pane once the analysis is ready: the selected layer, the file tree
//! with its mode and filters, and the package, waste and largest-file outlines.

use dive_core::{Analysis, EntryContents};
use globset::{Glob, GlobMatcher};
use regex::bytes::Regex;

use crate::tui::keymap::Pane;
use crate::tui::view::build::{self, TreeMode};
use crate::tui::view::outline::{Item, Outline, SortBy, Target};

/// A path filter as typed after `/`.
#[derive(Debug, Clone)]
pub enum PathMatcher {
    /// `*.so`, `/usr/**`: a glob over the `/`-prefixed path (`*` crosses `/`).
    Glob(GlobMatcher),
    /// `re:…`: a regular expression searched in the path.
    Regex(Regex),
    /// Anything else: a substring of the path.
    Text(String),
}

impl PathMatcher {
    /// Reads what the user typed; an error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(re) = text.strip_prefix("re:") {
            return Regex::new(re)
                .map(Self::Regex)
                .map_err(|e| format!("bad regex: {e}"));
        }
        if text.contains(['*', '?', '[', '{']) {
            let pattern = if text.starts_with('/') || text.starts_with('*') {
                text.to_owned()
            } else {
                format!("**/{text}")
            };
            return Glob::new(&pattern)
                .map(|g| Self::Glob(g.compile_matcher()))
                .map_err(|e| format!("bad glob: {e}"));
        }
        Ok(Self::Text(text.to_owned()))
    }

    /// Whether a `/`-prefixed path matches.
    pub fn is_match(&self, path: &[u8]) -> bool {
        match self {
            Self::Glob(glob) => glob.is_match(String::from_utf8_lossy(path).as_ref()),
            Self::Regex(re) => re.is_match(path),
            Self::Text(text) => path
                .windows(text.len().max(1))
                .any(|w| w == text.as_bytes()),
        }
    }
}

/// Which outline the tree pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeSource {
    /// The final image.
    Image,
    /// Every hidden piece of content, by the path that last showed it.
    Hidden,
    /// The selected layer's entries.
    Layer,
}

/// The file tree pane.
#[derive(Debug, Clone)]
pub struct TreeView {
    /// Final image or layer only.
    pub mode: TreeMode,
    /// Only hidden content.
    pub hidden_only: bool,
    /// Only what the selected layer changed.
    pub changed_only: bool,
    /// The path filter as typed.
    pub pattern: Option<String>,
    matcher: Option<PathMatcher>,
    /// Only files of at least this many bytes.
    pub min_size: Option<u64>,
    image: Outline,
    image_item_of: Vec<u32>,
    hidden: Outline,
    layer: Outline,
    layer_built_for: Option<usize>,
}

impl TreeView {
    /// The outline on screen.
    pub fn outline(&self) -> &Outline {
        match self.source() {
            TreeSource::Image => &self.image,
            TreeSource::Hidden => &self.hidden,
            TreeSource::Layer => &self.layer,
        }
    }

    /// The outline on screen, to navigate.
    pub fn outline_mut(&mut self) -> &mut Outline {
        match self.source() {
            TreeSource::Image => &mut self.image,
            TreeSource::Hidden => &mut self.hidden,
            TreeSource::Layer => &mut self.layer,
        }
    }

    /// Which outline shows.
    pub fn source(&self) -> TreeSource {
        match (self.mode, self.hidden_only) {
            (TreeMode::Layer, _) => TreeSource::Layer,
            (TreeMode::Image, true) => TreeSource::Hidden,
            (TreeMode::Image, false) => TreeSource::Image,
        }
    }

    /// Whether any filter narrows the tree.
    pub fn is_filtered(&self) -> bool {
        self.matcher.is_some()
            || self.min_size.is_some()
            || self.changed_only
            || (self.hidden_only && self.mode == TreeMode::Layer)
    }

    /// A short description of the mode and filters, for the pane title.
    pub fn describe(&self, layer: usize) -> String {
        let mut parts = vec![match self.source() {
            TreeSource::Image => format!("image, L{layer} marked"),
            TreeSource::Hidden => "hidden content".to_owned(),
            TreeSource::Layer => format!("layer L{layer} only"),
        }];
        if self.hidden_only && self.mode == TreeMode::Layer {
            parts.push("hidden".to_owned());
        }
        if self.changed_only {
            parts.push("changed".to_owned());
        }
        if let Some(size) = self.min_size {
            parts.push(format!("≥ {}", dive_core::report::human_bytes(size, false)));
        }
        if let Some(pattern) = &self.pattern {
            parts.push(format!("/{pattern}"));
        }
        if self.outline().sort_by() == SortBy::Name {
            parts.push("by name".to_owned());
        }
        parts.join(" · ")
    }
}

/// Everything the panes show once the analysis is ready.
#[derive(Debug, Clone)]
pub struct Views {
    /// The analysis itself, shared with the viewer's thread.
    pub analysis: std::sync::Arc<Analysis>,
    /// Per layer, per entry: the content it brought.
    pub contents: EntryContents,
    /// The selected layer.
    pub layer: usize,
    /// First layer row on screen.
    pub layer_offset: usize,
    /// The base image's layers are left out of the Layers pane.
    pub hide_base: bool,
    /// The image opened again to read files (the viewer), or why it cannot be.
    pub files: Result<std::sync::Arc<dive_core::contents::Contents>, String>,
    /// The file tree.
    pub tree: TreeView,
    /// Families → packages → files.
    packages: Lazy,
    /// Waste classes → paths.
    waste: Lazy,
    /// Largest files.
    largest: Lazy,
    /// The owner packages, waste and duplicates are still being found (the analysis was
    /// shown as soon as its merge was done): the Packages and Waste panes wait for them.
    pub attributing: bool,
    /// What the Packages and Waste panes show meanwhile: nothing.
    waiting: Outline,
}

/// An outline built the first time its pane is shown: the Packages, Waste and Largest panes
/// are not on the first screen, and on an image of a million files building them costs
/// seconds that would otherwise stand before the first frame.
#[derive(Debug, Clone, Default)]
struct Lazy(std::sync::OnceLock<Outline>);

impl Lazy {
    fn get(&self, build: impl FnOnce() -> Outline) -> &Outline {
        self.0.get_or_init(build)
    }

    fn get_mut(&mut self, build: impl FnOnce() -> Outline) -> &mut Outline {
        if self.0.get().is_none() {
            self.0 = std::sync::OnceLock::from(build());
        }
        match self.0.get_mut() {
            Some(outline) => outline,
            None => unreachable!("the outline was built above"),
        }
    }
}

impl Views {
    /// The outline a pane shows (the tree for the Layers pane, which has none).
    pub fn outline(&self, pane: Pane) -> &Outline {
        let analysis = &self.analysis;
        match pane {
            Pane::Packages | Pane::Waste if self.attributing => &self.waiting,
            Pane::Packages => self.packages.get(|| build::packages(analysis)),
            Pane::Waste => self.waste.get(|| build::waste(analysis)),
            Pane::Largest => self.largest.get(|| build::largest(analysis)),
            Pane::Layers | Pane::Tree => self.tree.outline(),
        }
    }

    /// The same outline, to change.
    pub fn outline_mut(&mut self, pane: Pane) -> &mut Outline {
        let analysis = &self.analysis;
        match pane {
            Pane::Packages | Pane::Waste if self.attributing => &mut self.waiting,
            Pane::Packages => self.packages.get_mut(|| build::packages(analysis)),
            Pane::Waste => self.waste.get_mut(|| build::waste(analysis)),
            Pane::Largest => self.largest.get_mut(|| build::largest(analysis)),
            Pane::Layers | Pane::Tree => self.tree.outline_mut(),
        }
    }

    /// Builds every view model; the last layer is selected, as the image stands.
    pub fn new(analysis: Analysis) -> Self {
        let contents = analysis.entry_contents();
        let (image, image_item_of) = build::image_tree(&analysis);
        let layer = analysis.layers.len().saturating_sub(1);
        let tree = TreeView {
            mode: TreeMode::Image,
            hidden_only: false,
            changed_only: false,
            pattern: None,
            matcher: None,
            min_size: None,
            image,
            image_item_of,
            hidden: build::hidden_tree(&analysis),
            layer: Outline::default(),
            layer_built_for: None,
        };
        let mut views = Self {
            packages: Lazy::default(),
            waste: Lazy::default(),
            largest: Lazy::default(),
            attributing: false,
            waiting: Outline::default(),
            contents,
            layer,
            layer_offset: 0,
            hide_base: false,
            files: Err("files cannot be read from this input".to_owned()),
            tree,
            analysis: analysis.into(),
        };
        views.select_layer(layer);
        views
    }

    /// Takes the attribution found after the views were shown; the Packages and Waste
    /// panes are built from it when next shown.
    pub fn set_attribution(&mut self, attributed: dive_core::Attributed) {
        std::sync::Arc::make_mut(&mut self.analysis).set_attribution(attributed);
        self.packages = Lazy::default();
        self.waste = Lazy::default();
        self.attributing = false;
    }

    /// The first layer the Layers pane lists: past the base image's when they are hidden
    /// (never past the last layer).
    pub fn first_layer(&self) -> usize {
        if self.hide_base {
            self.analysis
                .base_layer_count()
                .min(self.analysis.layers.len().saturating_sub(1))
        } else {
            0
        }
    }

    /// Hides or shows the base image's layers; the selection stays on a listed layer.
    /// Whether a base is known at all (nothing to hide otherwise).
    pub fn toggle_base(&mut self) -> bool {
        if self.analysis.base_layer_count() == 0 {
            return false;
        }
        self.hide_base = !self.hide_base;
        let first = self.first_layer();
        // Shown again, the list starts from the bottom; the selection is scrolled to after.
        self.layer_offset = if self.hide_base {
            self.layer_offset.max(first)
        } else {
            0
        };
        if self.layer < first {
            self.select_layer(first);
        }
        true
    }

    /// Selects a layer: re-marks the image tree or rebuilds the layer tree.
    pub fn select_layer(&mut self, layer: usize) {
        self.layer = layer.min(self.analysis.layers.len().saturating_sub(1));
        build::mark_image_tree(&mut self.tree.image, &self.analysis, self.layer);
        self.sync_tree();
    }

    /// Makes the shown outline match the mode, layer and filters.
    pub fn sync_tree(&mut self) {
        if self.tree.mode == TreeMode::Layer && self.tree.layer_built_for != Some(self.layer) {
            // Carry the expanded directories over to the new layer by path.
            let old = &self.tree.layer;
            let expanded: std::collections::HashSet<String> =
                old.expanded_items().map(|id| old.path_of(id)).collect();
            let sort = old.sort_by();
            let mut outline = build::layer_tree(&self.analysis, &self.contents, self.layer);
            let again: Vec<u32> = (0..outline.items().len() as u32)
                .filter(|&id| expanded.contains(&outline.path_of(id)))
                .collect();
            outline.expand_items(again);
            outline.sort(sort);
            self.tree.layer = outline;
            self.tree.layer_built_for = Some(self.layer);
        }
        self.apply_filters();
    }

    /// Sets the path filter from what the user typed (empty clears it).
    pub fn set_pattern(&mut self, text: &str) -> Result<(), String> {
        if text.is_empty() {
            self.tree.pattern = None;
            self.tree.matcher = None;
        } else {
            self.tree.matcher = Some(PathMatcher::parse(text)?);
            self.tree.pattern = Some(text.to_owned());
        }
        self.apply_filters();
        Ok(())
    }

    /// Sets the minimum size from what the user typed (`10MB`, `1.5GiB`; empty clears it).
    pub fn set_min_size(&mut self, text: &str) -> Result<(), String> {
        self.tree.min_size = if text.trim().is_empty() {
            None
        } else {
            Some(
                text.trim()
                    .parse::<bytesize::ByteSize>()
                    .map_err(|e| format!("not a size ({e}); try 10MB or 1.5GiB"))?
                    .as_u64(),
            )
        };
        self.apply_filters();
        Ok(())
    }

    /// Drops every filter.
    pub fn clear_filters(&mut self) {
        self.tree.pattern = None;
        self.tree.matcher = None;
        self.tree.min_size = None;
        self.tree.changed_only = false;
        self.tree.hidden_only = false;
        self.apply_filters();
    }

    /// Re-filters the shown outline.
    pub fn apply_filters(&mut self) {
        let analysis = &self.analysis;
        let tree = &mut self.tree;
        let filtered = tree.is_filtered();
        let matcher = tree.matcher.clone();
        let (min_size, changed_only) = (tree.min_size, tree.changed_only);
        let hidden_only = tree.hidden_only && tree.mode == TreeMode::Layer;
        let keep = move |_: u32, item: &Item| {
            min_size.is_none_or(|m| item.bytes >= m)
                && (!changed_only || item.change.is_some())
                && (!hidden_only || item.hidden)
                && matcher.as_ref().is_none_or(|m| {
                    target_path(analysis, item.target).is_some_and(|p| m.is_match(&p))
                })
        };
        let outline = tree.outline_mut();
        if filtered {
            outline.filter(Some(&keep));
        } else if outline.is_filtered() {
            outline.filter(None);
        }
    }

    /// Shows a path of the final image (or, when hidden, of the hidden tree) in the tree.
    pub fn show_in_tree(&mut self, target: Target) -> bool {
        let node = match target {
            Target::Node(id) => Some(id),
            Target::WastePath { class, path } => self
                .analysis
                .attribution
                .waste
                .get(class)
                .and_then(|c| c.top_paths.get(path))
                .and_then(|p| {
                    let path = p.path.trim_start_matches('/');
                    self.analysis.tree.lookup(path.as_bytes())
                }),
            _ => None,
        };
        let hidden_path = match target {
            Target::WastePath { class, path } if node.is_none() => self
                .analysis
                .attribution
                .waste
                .get(class)
                .and_then(|c| c.top_paths.get(path))
                .map(|p| p.path.trim_start_matches('/').as_bytes().to_vec()),
            _ => None,
        };
        if let Some(node) = node {
            self.tree.mode = TreeMode::Image;
            self.tree.hidden_only = false;
            return self.reveal(|views| views.tree.image_item_of.get(node.0 as usize).copied());
        }
        if let Some(path) = hidden_path {
            self.tree.mode = TreeMode::Image;
            self.tree.hidden_only = true;
            return self.reveal(|views| {
                let analysis = &views.analysis;
                views
                    .tree
                    .hidden
                    .items()
                    .iter()
                    .position(|item| match item.target {
                        Target::Hidden(i) => analysis.hidden.get(i).is_some_and(|h| h.path == path),
                        _ => false,
                    })
                    .map(|i| i as u32)
            });
        }
        false
    }

    /// Selects an item of the shown tree, clearing filters that hide it.
    fn reveal(&mut self, find: impl Fn(&Self) -> Option<u32>) -> bool {
        self.sync_tree();
        let Some(item) = find(self).filter(|&i| i != u32::MAX) else {
            return false;
        };
        if self.tree.outline_mut().reveal(item) {
            return true;
        }
        let hidden_only = self.tree.hidden_only;
        self.clear_filters();
        self.tree.hidden_only = hidden_only;
        self.tree.outline_mut().reveal(item)
    }

    /// The selected item of a pane's outline, if any.
    pub fn selected_target(outline: &Outline) -> Target {
        outline
            .selected_item()
            .map_or(Target::None, |id| outline.item(id).target)
    }
}

/// The `/`-prefixed path an item stands for.
pub fn target_path(analysis: &Analysis, target: Target) -> Option<Vec<u8>> {
    let node_path;
    let path: &[u8] = match target {
        Target::Node(id) => {
            node_path = analysis.tree.path(id);
            &node_path
        }
        Target::Entry { layer, entry } => &analysis.entry(layer, entry as usize)?.path,
        Target::Hidden(i) => &analysis.hidden.get(i)?.path,
        _ => return None,
    };
    let mut out = Vec::with_capacity(path.len() + 1);
    out.push(b'/');
    out.extend_from_slice(path);
    Some(out)
}
