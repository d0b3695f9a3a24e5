//! View models built once from an [`Analysis`]: the outlines each pane shows. Sorting and
//! summing happen here, never while drawing.

use std::collections::HashMap;

use dive_core::Ecosystem;
use dive_core::EntryKind;
use dive_core::NodeId;
use dive_core::{Analysis, EntryContents};

use crate::tui::view::outline::{Item, Outline, Target};

/// What the file tree shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TreeMode {
    /// The final merged image, the selected layer's changes marked.
    #[default]
    Image,
    /// The selected layer's own entries.
    Layer,
}

/// Path bytes as the screen shows them: invalid UTF-8 and terminal controls as escapes.
pub fn display(bytes: &[u8]) -> String {
    dive_core::escape::escape_bytes(bytes).into_owned()
}

/// The final image as an outline of paths, and the item of each node (`u32::MAX`: none).
pub fn image_tree(analysis: &Analysis) -> (Outline, Vec<u32>) {
    let tree = &analysis.tree;
    let mut item_of: Vec<u32> = vec![u32::MAX; tree.node_count()];
    let mut pairs: Vec<(Option<u32>, Item)> = Vec::new();
    for id in tree.walk().skip(1) {
        let node = tree.node(id);
        let parent = node
            .parent
            .filter(|&p| p != NodeId::ROOT)
            .map(|p| item_of[p.0 as usize]);
        let mut label = display(tree.name(id));
        if node.kind == EntryKind::Symlink {
            let link = node
                .entry
                .and_then(|e| analysis.entry(node.layer as usize, e as usize))
                .and_then(|e| e.link.as_deref());
            if let Some(link) = link {
                label = format!("{label} → {}", display(link));
            }
        }
        let item = if node.kind == EntryKind::Dir {
            Item::parent(label, node.bytes, Target::Node(id))
        } else {
            Item::leaf(label, node.bytes, Target::Node(id))
        };
        item_of[id.0 as usize] = pairs.len() as u32;
        pairs.push((parent, item));
    }
    (Outline::from_pairs(pairs), item_of)
}

/// Marks, in an image tree, the paths the layer set last and what it did to them.
pub fn mark_image_tree(outline: &mut Outline, analysis: &Analysis, layer: usize) {
    for item in outline.items_mut() {
        let Target::Node(id) = item.target else {
            continue;
        };
        let node = analysis.tree.node(id);
        item.change = (node.layer as usize == layer).then(|| {
            node.entry
                .and_then(|e| analysis.entry_change(layer, e as usize))
                .unwrap_or(dive_core::EntryChange::Added)
        });
    }
}

/// Builds an outline from full paths, making the directories they imply.
struct PathOutline {
    pairs: Vec<(Option<u32>, Item)>,
    dirs: HashMap<Vec<u8>, u32>,
}

impl PathOutline {
    fn new() -> Self {
        Self {
            pairs: Vec::new(),
            dirs: HashMap::new(),
        }
    }

    fn dir(&mut self, path: &[u8]) -> Option<u32> {
        if path.is_empty() {
            return None;
        }
        if let Some(&id) = self.dirs.get(path) {
            return Some(id);
        }
        let (parent, name) = split(path);
        let parent = self.dir(parent);
        let id = self.pairs.len() as u32;
        self.pairs
            .push((parent, Item::parent(display(name), 0, Target::None)));
        self.dirs.insert(path.to_vec(), id);
        Some(id)
    }

    /// Adds a path; a directory path already implied takes over the implied item.
    fn add(&mut self, path: &[u8], mut item: Item) -> u32 {
        if item.is_parent
            && let Some(&id) = self.dirs.get(path)
        {
            let slot = &mut self.pairs[id as usize].1;
            slot.target = item.target;
            slot.change = item.change;
            return id;
        }
        let (parent, name) = split(path);
        let parent = self.dir(parent);
        if item.label.is_empty() {
            item.label = display(name);
        }
        let id = self.pairs.len() as u32;
        self.pairs.push((parent, item));
        if self.pairs[id as usize].1.is_parent {
            self.dirs.insert(path.to_vec(), id);
        }
        id
    }

    /// Sums bytes into parents (parents always have smaller ids) and builds the outline.
    fn finish(mut self) -> Outline {
        for i in (0..self.pairs.len()).rev() {
            if let Some(p) = self.pairs[i].0 {
                let bytes = self.pairs[i].1.bytes;
                self.pairs[p as usize].1.bytes += bytes;
            }
        }
        Outline::from_pairs(self.pairs)
    }
}

fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(at) => (&path[..at], &path[at + 1..]),
        None => (&[], path),
    }
}

/// One layer's own entries as a tree, each marked with what it did.
pub fn layer_tree(analysis: &Analysis, contents_of: &EntryContents, layer: usize) -> Outline {
    let mut out = PathOutline::new();
    let Some(entries) = analysis.layer_entries(layer) else {
        return out.finish();
    };
    let contents = analysis.tree.inodes();
    for (e, entry) in entries.iter().enumerate() {
        let target = Target::Entry {
            layer,
            entry: e as u32,
        };
        let bytes = if entry.kind == EntryKind::File {
            entry.size
        } else {
            0
        };
        let mut item = if entry.kind == EntryKind::Dir {
            Item::parent(String::new(), 0, target)
        } else {
            Item::leaf(String::new(), bytes, target)
        };
        if entry.kind == EntryKind::Whiteout {
            let (_, name) = split(&entry.path);
            item.label = format!(".wh.{}", display(name));
        }
        item.change = analysis.entry_change(layer, e);
        item.hidden = entry.kind == EntryKind::File
            && contents_of
                .get(layer, e)
                .and_then(|i| contents.get(i.0 as usize))
                .is_some_and(|c| c.refs == 0);
        if entry.kind == EntryKind::Opaque {
            // The marker sits inside the directory it makes opaque.
            let mut path = entry.path.to_vec();
            path.extend_from_slice(b"/.wh..wh..opq");
            out.add(&path, item);
        } else {
            out.add(&entry.path, item);
        }
    }
    out.finish()
}

/// Every piece of hidden content, as a tree of the paths that last showed it.
pub fn hidden_tree(analysis: &Analysis) -> Outline {
    let mut out = PathOutline::new();
    for (i, hidden) in analysis.hidden.iter().enumerate() {
        let mut item = Item::leaf(String::new(), hidden.bytes, Target::Hidden(i));
        item.hidden = true;
        out.add(&hidden.path, item);
    }
    out.finish()
}

/// Families → packages → files, then packages of no family by ecosystem (pip first), then
/// unowned directories → files. The top level keeps that order; sizes order the rest.
pub fn packages(analysis: &Analysis) -> Outline {
    let attribution = &analysis.attribution;
    let tree = &analysis.tree;
    let mut files: Vec<Vec<NodeId>> = vec![Vec::new(); attribution.packages.len()];
    let mut unowned_files: HashMap<String, Vec<NodeId>> = HashMap::new();
    for id in tree.walk() {
        let node = tree.node(id);
        let Some(inode) = node.inode.filter(|_| node.files == 1) else {
            continue;
        };
        if let Some(p) = attribution.owner_of(inode) {
            if let Some(list) = files.get_mut(p as usize) {
                list.push(id);
            }
        } else {
            let path = tree.path(id);
            let top = split_first(&path);
            unowned_files
                .entry(format!("/{}", display(top)))
                .or_default()
                .push(id);
        }
    }
    let device: HashMap<NodeId, u64> = attribution
        .cuda
        .files
        .iter()
        .map(|f| (f.node, f.code.device_bytes()))
        .collect();
    let file_item = |id: NodeId| Item {
        device: device.get(&id).copied().unwrap_or(0),
        ..Item::leaf(
            format!("/{}", display(&tree.path(id))),
            tree.node(id).bytes,
            Target::Node(id),
        )
    };
    let mut pairs: Vec<(Option<u32>, Item)> = Vec::new();
    let add_package = |pairs: &mut Vec<(Option<u32>, Item)>, group: u32, p: usize, place: bool| {
        let package = &attribution.packages[p];
        let mut label = match &package.version {
            Some(v) => format!("{} {v}", package.name),
            None => package.name.clone(),
        };
        if place {
            label.push_str(&format!(" · {}", package.location));
        }
        let id = pairs.len() as u32;
        pairs.push((
            Some(group),
            Item::parent(label, package.bytes, Target::Package(p)),
        ));
        for &node in &files[p] {
            pairs.push((Some(id), file_item(node)));
        }
    };
    for (f, family) in attribution.families.iter().enumerate() {
        let group = pairs.len() as u32;
        pairs.push((
            None,
            Item::parent(
                format!("{} (family)", family.name),
                family.bytes,
                Target::Family(f),
            ),
        ));
        for (p, package) in attribution.packages.iter().enumerate() {
            if package.family.as_deref() == Some(family.name.as_str()) {
                // A family mixes ecosystems: each package says where it lives when its
                // ecosystem has several places.
                let place = attribution.several_locations(package.ecosystem);
                add_package(&mut pairs, group, p, place);
            }
        }
    }
    let ecosystems = [
        (Ecosystem::Pip, "pip packages (site-packages)"),
        (Ecosystem::Conda, "conda packages"),
        (Ecosystem::Npm, "npm packages"),
        (Ecosystem::Dpkg, "dpkg packages"),
        (Ecosystem::Apk, "apk packages"),
        (Ecosystem::Rpm, "rpm packages"),
        (Ecosystem::Go, "Go programs"),
        (Ecosystem::Cargo, "Rust programs (cargo auditable)"),
        (Ecosystem::Maven, "Java archives"),
    ];
    for (ecosystem, title) in ecosystems {
        let members: Vec<usize> = attribution
            .packages
            .iter()
            .enumerate()
            .filter(|(_, p)| p.family.is_none() && p.ecosystem == ecosystem)
            .map(|(i, _)| i)
            .collect();
        if members.is_empty() {
            continue;
        }
        let bytes = members.iter().map(|&p| attribution.packages[p].bytes).sum();
        let group = pairs.len() as u32;
        pairs.push((None, Item::parent(title, bytes, Target::None)));
        if !attribution.several_locations(ecosystem) {
            for p in members {
                add_package(&mut pairs, group, p, false);
            }
            continue;
        }
        // Grouped by where they live (a venv, ~/.local, system site-packages…).
        let mut places: Vec<&str> = members
            .iter()
            .map(|&p| attribution.packages[p].location.as_str())
            .collect();
        places.sort_unstable();
        places.dedup();
        let mut places: Vec<(&str, u64)> = places
            .into_iter()
            .map(|place| {
                let bytes = members
                    .iter()
                    .map(|&p| &attribution.packages[p])
                    .filter(|p| p.location == place)
                    .map(|p| p.bytes)
                    .sum();
                (place, bytes)
            })
            .collect();
        places.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        for (place, bytes) in places {
            let sub = pairs.len() as u32;
            pairs.push((Some(group), Item::parent(place, bytes, Target::None)));
            for &p in members
                .iter()
                .filter(|&&p| attribution.packages[p].location == place)
            {
                add_package(&mut pairs, sub, p, false);
            }
        }
    }
    if !attribution.unowned.is_empty() {
        let bytes = attribution.unowned.iter().map(|u| u.bytes).sum();
        let group = pairs.len() as u32;
        pairs.push((None, Item::parent("unowned", bytes, Target::None)));
        for (u, dir) in attribution.unowned.iter().enumerate() {
            let id = pairs.len() as u32;
            pairs.push((
                Some(group),
                Item::parent(dir.dir.clone(), dir.bytes, Target::Unowned(u)),
            ));
            for &node in unowned_files.get(&dir.dir).into_iter().flatten() {
                pairs.push((Some(id), file_item(node)));
            }
        }
    }
    // Device code adds up from files to packages and groups: parents come first.
    if !device.is_empty() {
        for i in (0..pairs.len()).rev() {
            if let (Some(parent), bytes) = (pairs[i].0, pairs[i].1.device) {
                pairs[parent as usize].1.device += bytes;
            }
        }
    }
    let mut outline = Outline::from_pairs(pairs);
    outline.pin_roots();
    outline
}

fn split_first(path: &[u8]) -> &[u8] {
    match path.iter().position(|&b| b == b'/') {
        Some(at) => &path[..at],
        None => &[],
    }
}

/// The secrets the image ships (hidden files first), then waste classes → their largest
/// paths.
pub fn waste(analysis: &Analysis) -> Outline {
    let mut pairs: Vec<(Option<u32>, Item)> = Vec::new();
    if !analysis.secrets.is_empty() {
        pairs.push((
            None,
            Item::parent(
                format!("secrets ({})", analysis.secrets.len()),
                0,
                Target::Secrets,
            ),
        ));
        let mut order: Vec<usize> = (0..analysis.secrets.len()).collect();
        order.sort_by_key(|&i| {
            let s = &analysis.secrets[i];
            (
                s.hidden_by_layer.is_none(),
                std::cmp::Reverse(s.confidence),
                i,
            )
        });
        for i in order {
            let secret = &analysis.secrets[i];
            let place = secret
                .path
                .as_deref()
                .map(|p| format!("/{p}"))
                .or_else(|| secret.name.clone())
                .unwrap_or_else(|| secret.source.name().to_owned());
            let mut item = Item::leaf(format!("{place}  {}", secret.rule), 0, Target::Secret(i));
            item.hidden = secret.hidden_by_layer.is_some();
            pairs.push((Some(0), item));
        }
    }
    for (c, class) in analysis.attribution.waste.iter().enumerate() {
        let group = pairs.len() as u32;
        pairs.push((
            None,
            Item::parent(class.class.name(), class.bytes, Target::WasteClass(c)),
        ));
        if class.class == dive_core::WasteClass::Duplicate {
            // The groups, each with every path that holds a copy.
            for dup in &analysis.attribution.duplicates {
                let name = dup
                    .paths
                    .first()
                    .and_then(|p| p.rsplit('/').next())
                    .unwrap_or_default();
                let id = pairs.len() as u32;
                pairs.push((
                    Some(group),
                    Item::parent(
                        format!("{name} × {}", dup.count),
                        dup.reclaimable_bytes,
                        Target::None,
                    ),
                ));
                for (path, &node) in dup.paths.iter().zip(&dup.nodes) {
                    pairs.push((
                        Some(id),
                        Item::leaf(path.clone(), dup.size, Target::Node(node)),
                    ));
                }
            }
            continue;
        }
        for (p, path) in class.top_paths.iter().enumerate() {
            let mut item = Item::leaf(
                path.path.clone(),
                path.bytes,
                Target::WastePath { class: c, path: p },
            );
            item.hidden = path.hidden_by_layer.is_some();
            pairs.push((Some(group), item));
        }
    }
    let mut outline = Outline::from_pairs(pairs);
    if !analysis.secrets.is_empty() {
        // Secrets hold no bytes worth sorting by: they stay on top, the classes (already
        // largest first) below.
        outline.pin_roots();
    }
    outline
}

/// Every visible file, largest first, as one flat list.
pub fn largest(analysis: &Analysis) -> Outline {
    let items = analysis
        .largest_files(usize::MAX)
        .into_iter()
        .map(|f| {
            Item::leaf(
                format!("/{}", display(&analysis.tree.path(f.node))),
                f.bytes,
                Target::Node(f.node),
            )
        })
        .collect();
    Outline::new(items)
}
