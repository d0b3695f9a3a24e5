//! A sized, expandable outline: the shape shared by the file tree, packages, waste and
//! largest-files views. Items are built once; rows (what is on screen, in order) are
//! rebuilt only when expansion, sorting or filtering changes.

use dive_core::{EntryChange, NodeId};

/// What an outline item stands for in the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A heading with nothing behind it (an ecosystem group, a directory implied by paths).
    None,
    /// A path of the final image.
    Node(NodeId),
    /// One tar entry of one layer.
    Entry {
        /// Layer index.
        layer: usize,
        /// Entry index in that layer.
        entry: u32,
    },
    /// An item of [`dive_core::Analysis::hidden`].
    Hidden(usize),
    /// A family of [`dive_core::Attribution::families`].
    Family(usize),
    /// A package of [`dive_core::Attribution::packages`].
    Package(usize),
    /// An unowned directory of [`dive_core::Attribution::unowned`].
    Unowned(usize),
    /// A waste class of [`dive_core::Attribution::waste`].
    WasteClass(usize),
    /// The secrets the image ships ([`dive_core::Analysis::secrets`]).
    Secrets,
    /// One of them.
    Secret(usize),
    /// One of a waste class's top paths.
    WastePath {
        /// The class.
        class: usize,
        /// The path's index in its top paths.
        path: usize,
    },
}

/// One line of an outline before it is laid out.
#[derive(Debug, Clone)]
pub struct Item {
    /// What the line says (a path component, a package name).
    pub label: String,
    /// Bytes under this item (its own for a leaf, the total for a parent).
    pub bytes: u64,
    /// Whether it holds children (a directory is a parent even when empty).
    pub is_parent: bool,
    /// The parent item.
    pub parent: Option<u32>,
    /// Children, in the current sort order.
    pub children: Vec<u32>,
    /// What the selected layer did to this path.
    pub change: Option<EntryChange>,
    /// Its content ships but is not visible in the final image.
    pub hidden: bool,
    /// What it stands for.
    pub target: Target,
    /// Bytes of CUDA device code under this item.
    pub device: u64,
}

/// Text from an image as the screen may show it ([`dive_core::escape::escape_owned`]):
/// ratatui drops control characters from cells, so unescaped a name would lose them silently.
pub fn safe(text: impl Into<String>) -> String {
    dive_core::escape::escape_owned(text.into())
}

impl Item {
    /// A childless item; its label is made [`safe`].
    pub fn leaf(label: impl Into<String>, bytes: u64, target: Target) -> Self {
        Self {
            label: safe(label),
            bytes,
            is_parent: false,
            parent: None,
            children: Vec::new(),
            change: None,
            hidden: false,
            target,
            device: 0,
        }
    }

    /// An item that holds others.
    pub fn parent(label: impl Into<String>, bytes: u64, target: Target) -> Self {
        Self {
            is_parent: true,
            ..Self::leaf(label, bytes, target)
        }
    }
}

/// Decides whether a leaf stays under a filter.
pub type KeepLeaf<'a> = dyn Fn(u32, &Item) -> bool + 'a;

/// Order of siblings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Largest first, then by name.
    #[default]
    Size,
    /// By name.
    Name,
    /// Most CUDA device code first, then by size.
    Device,
}

/// A visible line: an item at a depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// The item.
    pub item: u32,
    /// Nesting depth, 0 for top-level items.
    pub depth: u16,
}

/// Items kept by a filter, with the bytes they add up to once filtered.
#[derive(Debug, Clone)]
struct Kept {
    keep: Vec<bool>,
    bytes: Vec<u64>,
}

/// Items plus the state of their view: expansion, order, filter, selection and scroll.
#[derive(Debug, Clone, Default)]
pub struct Outline {
    items: Vec<Item>,
    roots: Vec<u32>,
    expanded: Vec<bool>,
    rows: Vec<Row>,
    /// Per item: its children are in the current order ([`Outline::sort`]).
    sorted: Vec<bool>,
    kept: Option<Kept>,
    sort: SortBy,
    /// The top level keeps the order it was built in.
    pinned: bool,
    /// Index of the selected row.
    pub selected: usize,
    /// First row on screen.
    pub offset: usize,
}

impl Outline {
    /// An outline of `items`, whose `children`/`parent` links are already set; roots are the
    /// items without a parent. Sorted by size, top level shown.
    pub fn new(items: Vec<Item>) -> Self {
        let roots = (0..items.len() as u32)
            .filter(|&i| items[i as usize].parent.is_none())
            .collect();
        let mut outline = Self {
            expanded: vec![false; items.len()],
            items,
            roots,
            ..Self::default()
        };
        outline.sort(SortBy::Size);
        outline
    }

    /// Builds items from `(parent, item)` pairs in order; a parent always comes first.
    pub fn from_pairs(pairs: Vec<(Option<u32>, Item)>) -> Self {
        let mut items: Vec<Item> = Vec::with_capacity(pairs.len());
        for (parent, mut item) in pairs {
            let id = items.len() as u32;
            item.parent = parent;
            if let Some(p) = parent.and_then(|p| items.get_mut(p as usize)) {
                p.children.push(id);
            }
            items.push(item);
        }
        Self::new(items)
    }

    /// Keeps the top level in the order it was built, whatever the sort.
    pub fn pin_roots(&mut self) {
        self.pinned = true;
        self.roots.sort_unstable();
        self.refresh();
    }

    /// Every item, by id.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// Mutable items, for re-marking; call [`Outline::refresh`] if sizes change.
    pub fn items_mut(&mut self) -> &mut [Item] {
        &mut self.items
    }

    /// The item with this id.
    pub fn item(&self, id: u32) -> &Item {
        &self.items[id as usize]
    }

    /// Lines on screen, top to bottom.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The selected item, if there are rows.
    pub fn selected_item(&self) -> Option<u32> {
        self.rows.get(self.selected).map(|r| r.item)
    }

    /// Bytes an item shows under the current filter.
    pub fn shown_bytes(&self, id: u32) -> u64 {
        match &self.kept {
            Some(kept) => kept.bytes[id as usize],
            None => self.items[id as usize].bytes,
        }
    }

    /// Bytes of all top-level items under the current filter.
    pub fn total_bytes(&self) -> u64 {
        self.roots.iter().map(|&r| self.shown_bytes(r)).sum()
    }

    /// Whether a filter is narrowing the items.
    pub fn is_filtered(&self) -> bool {
        self.kept.is_some()
    }

    /// Whether an item is expanded.
    pub fn is_expanded(&self, id: u32) -> bool {
        self.expanded[id as usize]
    }

    /// The current sibling order.
    pub fn sort_by(&self) -> SortBy {
        self.sort
    }

    /// The item's path from the top, labels joined by `/`.
    pub fn path_of(&self, id: u32) -> String {
        let mut parts = vec![self.items[id as usize].label.as_str()];
        let mut at = self.items[id as usize].parent;
        while let Some(p) = at {
            parts.push(&self.items[p as usize].label);
            at = self.items[p as usize].parent;
        }
        parts.reverse();
        parts.join("/")
    }

    /// Orders siblings everywhere and rebuilds the rows, keeping the selected item. Children
    /// are put in order when their parent is next shown expanded: a million files are not
    /// sorted for a first screen that shows the top level.
    pub fn sort(&mut self, sort: SortBy) {
        self.sort = sort;
        if !self.pinned {
            let mut roots = std::mem::take(&mut self.roots);
            self.sort_list(&mut roots);
            self.roots = roots;
        }
        self.sorted.clear();
        self.sorted.resize(self.items.len(), false);
        self.refresh();
    }

    /// Puts an item's children in the current order, unless they are already.
    fn sort_children(&mut self, id: u32) {
        let i = id as usize;
        if self.sorted.get(i).copied().unwrap_or(true) {
            return;
        }
        let mut children = std::mem::take(&mut self.items[i].children);
        self.sort_list(&mut children);
        self.items[i].children = children;
        self.sorted[i] = true;
    }

    fn sort_list(&self, list: &mut [u32]) {
        match self.sort {
            SortBy::Size => list.sort_by(|&a, &b| {
                self.shown_bytes(b).cmp(&self.shown_bytes(a)).then_with(|| {
                    self.items[a as usize]
                        .label
                        .cmp(&self.items[b as usize].label)
                })
            }),
            SortBy::Name => {
                list.sort_by(|&a, &b| {
                    self.items[a as usize]
                        .label
                        .cmp(&self.items[b as usize].label)
                });
            }
            SortBy::Device => list.sort_by(|&a, &b| {
                let (x, y) = (&self.items[a as usize], &self.items[b as usize]);
                y.device
                    .cmp(&x.device)
                    .then(self.shown_bytes(b).cmp(&self.shown_bytes(a)))
                    .then_with(|| x.label.cmp(&y.label))
            }),
        }
    }

    /// Device code of all top-level items.
    pub fn total_device_bytes(&self) -> u64 {
        self.roots
            .iter()
            .map(|&r| self.items[r as usize].device)
            .sum()
    }

    /// Whether any item holds CUDA device code (then it may be sorted by it).
    pub fn has_device_code(&self) -> bool {
        self.items.iter().any(|i| i.device > 0)
    }

    /// The next order of the sort key: size, name, then device code where there is some.
    pub fn next_sort(&self) -> SortBy {
        match self.sort {
            SortBy::Size => SortBy::Name,
            SortBy::Name if self.has_device_code() => SortBy::Device,
            SortBy::Name | SortBy::Device => SortBy::Size,
        }
    }

    /// Keeps the leaves `keep_leaf` accepts and the parents above them; `None` clears.
    /// Parents with kept items are expanded so that the matches show.
    pub fn filter(&mut self, keep_leaf: Option<&KeepLeaf<'_>>) {
        let Some(keep_leaf) = keep_leaf else {
            self.kept = None;
            self.sort(self.sort);
            return;
        };
        let n = self.items.len();
        let mut keep = vec![false; n];
        let mut bytes = vec![0; n];
        // Children always have larger ids than their parents in every builder here, but
        // do not rely on it: visit in post-order.
        let mut order = Vec::with_capacity(n);
        let mut stack: Vec<(u32, bool)> = self.roots.iter().map(|&r| (r, false)).collect();
        while let Some((id, done)) = stack.pop() {
            if done {
                order.push(id);
                continue;
            }
            stack.push((id, true));
            stack.extend(self.items[id as usize].children.iter().map(|&c| (c, false)));
        }
        for id in order {
            let item = &self.items[id as usize];
            if item.children.is_empty() {
                if keep_leaf(id, item) {
                    keep[id as usize] = true;
                    bytes[id as usize] = item.bytes;
                }
            } else {
                let mut sum = 0;
                let mut any = false;
                for &c in &item.children {
                    any |= keep[c as usize];
                    sum += bytes[c as usize];
                }
                keep[id as usize] = any;
                bytes[id as usize] = sum;
                self.expanded[id as usize] |= any;
            }
        }
        self.kept = Some(Kept { keep, bytes });
        self.sort(self.sort);
    }

    /// Rebuilds the visible rows and keeps the same item selected when it still shows.
    pub fn refresh(&mut self) {
        let selected = self.selected_item();
        self.rows.clear();
        let mut stack: Vec<Row> = self
            .roots
            .iter()
            .rev()
            .map(|&item| Row { item, depth: 0 })
            .collect();
        while let Some(row) = stack.pop() {
            if !self.is_kept(row.item) {
                continue;
            }
            self.rows.push(row);
            if self.expanded[row.item as usize] {
                self.sort_children(row.item);
                let depth = row.depth.saturating_add(1);
                stack.extend(
                    self.items[row.item as usize]
                        .children
                        .iter()
                        .rev()
                        .map(|&item| Row { item, depth }),
                );
            }
        }
        match selected.and_then(|s| self.rows.iter().position(|r| r.item == s)) {
            Some(at) => self.selected = at,
            None => self.selected = self.selected.min(self.rows.len().saturating_sub(1)),
        }
    }

    fn is_kept(&self, id: u32) -> bool {
        self.kept.as_ref().is_none_or(|k| k.keep[id as usize])
    }

    /// Moves the selection by `delta` rows, clamped.
    pub fn move_by(&mut self, delta: isize) {
        let last = self.rows.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
    }

    /// Selects a row by index, clamped.
    pub fn select_row(&mut self, row: usize) {
        self.selected = row.min(self.rows.len().saturating_sub(1));
    }

    /// Expands or collapses the selected item; returns false for a leaf.
    pub fn toggle(&mut self) -> bool {
        let Some(id) = self.selected_item() else {
            return false;
        };
        if !self.items[id as usize].is_parent {
            return false;
        }
        self.expanded[id as usize] = !self.expanded[id as usize];
        self.refresh();
        true
    }

    /// Expands the selected item, or steps into its first child when already expanded.
    pub fn expand(&mut self) {
        let Some(id) = self.selected_item() else {
            return;
        };
        if !self.items[id as usize].is_parent {
            return;
        }
        if self.expanded[id as usize] {
            self.move_by(1);
        } else {
            self.expanded[id as usize] = true;
            self.refresh();
        }
    }

    /// Collapses the selected item, or selects its parent when it is collapsed or a leaf.
    pub fn collapse(&mut self) {
        let Some(id) = self.selected_item() else {
            return;
        };
        if self.expanded[id as usize] {
            self.expanded[id as usize] = false;
            self.refresh();
        } else {
            self.select_parent();
        }
    }

    /// Selects the parent of the selected item.
    pub fn select_parent(&mut self) {
        if let Some(parent) = self
            .selected_item()
            .and_then(|id| self.items[id as usize].parent)
            && let Some(at) = self.rows.iter().position(|r| r.item == parent)
        {
            self.selected = at;
        }
    }

    /// Expands every parent (all of them, or those under the selected item).
    pub fn expand_all(&mut self) {
        self.expanded.iter_mut().for_each(|e| *e = true);
        self.refresh();
    }

    /// Collapses everything back to the top level.
    pub fn collapse_all(&mut self) {
        let top = self.selected_item().map(|mut id| {
            while let Some(p) = self.items[id as usize].parent {
                id = p;
            }
            id
        });
        self.expanded.iter_mut().for_each(|e| *e = false);
        self.refresh();
        if let Some(top) = top.and_then(|t| self.rows.iter().position(|r| r.item == t)) {
            self.selected = top;
        }
    }

    /// Expands the ancestors of `id` and selects it; false when a filter hides it.
    pub fn reveal(&mut self, id: u32) -> bool {
        let mut at = self.items[id as usize].parent;
        while let Some(p) = at {
            self.expanded[p as usize] = true;
            at = self.items[p as usize].parent;
        }
        self.refresh();
        match self.rows.iter().position(|r| r.item == id) {
            Some(row) => {
                self.selected = row;
                true
            }
            None => false,
        }
    }

    /// Expands the items whose ids are given (used to carry expansion over a rebuild).
    pub fn expand_items(&mut self, ids: impl IntoIterator<Item = u32>) {
        for id in ids {
            if let Some(e) = self.expanded.get_mut(id as usize) {
                *e = true;
            }
        }
        self.refresh();
    }

    /// Ids of expanded items.
    pub fn expanded_items(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.items.len() as u32).filter(|&i| self.expanded[i as usize])
    }

    /// Scrolls so that the selected row is within a window of `height` rows.
    pub fn scroll_into_view(&mut self, height: usize) {
        let height = height.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        let max_offset = self.rows.len().saturating_sub(height);
        self.offset = self.offset.min(max_offset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Outline {
        Outline::from_pairs(vec![
            (None, Item::parent("usr", 300, Target::None)),
            (Some(0), Item::leaf("small", 100, Target::None)),
            (Some(0), Item::leaf("big", 200, Target::None)),
            (None, Item::leaf("etc", 50, Target::None)),
        ])
    }

    #[test]
    fn top_level_shows_largest_first_and_expands_in_place() {
        let mut outline = sample();
        let labels = |o: &Outline| -> Vec<String> {
            o.rows()
                .iter()
                .map(|r| o.item(r.item).label.clone())
                .collect()
        };
        assert_eq!(labels(&outline), ["usr", "etc"]);
        assert!(outline.toggle());
        assert_eq!(labels(&outline), ["usr", "big", "small", "etc"]);
        outline.sort(SortBy::Name);
        assert_eq!(labels(&outline), ["etc", "usr", "big", "small"]);
    }

    #[test]
    fn a_filter_keeps_matching_leaves_their_parents_and_resums() {
        let mut outline = sample();
        outline.filter(Some(&|_, item: &Item| item.label == "small"));
        let rows: Vec<(String, u64)> = outline
            .rows()
            .iter()
            .map(|r| {
                (
                    outline.item(r.item).label.clone(),
                    outline.shown_bytes(r.item),
                )
            })
            .collect();
        assert_eq!(rows, [("usr".into(), 100), ("small".into(), 100)]);
        assert_eq!(outline.total_bytes(), 100);
        outline.filter(None);
        assert_eq!(outline.total_bytes(), 350);
    }

    #[test]
    fn collapse_on_a_leaf_goes_to_its_parent_and_reveal_opens_the_way() {
        let mut outline = sample();
        assert!(outline.reveal(1));
        assert_eq!(outline.selected_item(), Some(1));
        outline.collapse();
        assert_eq!(outline.selected_item(), Some(0));
        outline.collapse();
        assert_eq!(outline.rows().len(), 2);
    }

    #[test]
    fn scrolling_keeps_the_selection_on_screen() {
        let mut outline = sample();
        outline.expand_all();
        outline.move_by(3);
        outline.scroll_into_view(2);
        assert_eq!((outline.selected, outline.offset), (3, 2));
        outline.move_by(-10);
        outline.scroll_into_view(2);
        assert_eq!((outline.selected, outline.offset), (0, 0));
    }
}
