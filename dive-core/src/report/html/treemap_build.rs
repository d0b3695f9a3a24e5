//! The treemap built from an analysis: the largest items within the budget, the rest of
//! each directory folded into one "other" item.

use std::collections::BinaryHeap;

use hashbrown::{HashMap, HashSet};

use super::treemap::{GREY, ITEM_BUDGET, Item, Kind, PALETTE, Treemap};
use crate::analysis::Analysis;
use crate::attribution::{Ecosystem, WasteClass, classify};
use crate::escape::{escape, escape_bytes, escape_owned, escape_path};
use crate::tree::{FileTree, NodeId};

/// An item of the full hierarchy, before the budget: names borrowed from the analysis.
struct Full<'a> {
    name: Name<'a>,
    bytes: u64,
    files: u64,
    /// Files below the size any kept item has, counted here without items of their own.
    small_bytes: u64,
    small_files: u64,
    kind: Kind,
    hidden: bool,
    file: Option<FileFacts>,
    children: Vec<u32>,
}

impl<'a> Full<'a> {
    /// An item that holds nothing yet.
    fn empty(name: Name<'a>, kind: Kind) -> Self {
        Self {
            name,
            bytes: 0,
            files: 0,
            small_bytes: 0,
            small_files: 0,
            kind,
            hidden: false,
            file: None,
            children: Vec::new(),
        }
    }
}

#[derive(Clone, Copy)]
enum Name<'a> {
    Bytes(&'a [u8]),
    Text(&'a str),
    Package(usize),
    Joined(u32),
}

#[derive(Clone, Copy)]
struct FileFacts {
    waste: Option<WasteClass>,
    layer: u32,
    hidden_by: Option<u32>,
    owner: Option<u32>,
    /// The path: a node of the tree, or a hidden item.
    at: At,
}

#[derive(Clone, Copy)]
enum At {
    Node(NodeId),
    Hidden(usize),
}

struct Builder<'a> {
    analysis: &'a Analysis,
    items: Vec<Full<'a>>,
    parents: Vec<u32>,
    lookup: HashMap<(u32, &'a [u8]), u32>,
    groups: Vec<(String, u32)>,
    packages: HashMap<u32, u32>,
    /// Directory names joined by [`Builder::join_chains`].
    joined: Vec<Vec<u8>>,
    /// Files smaller than this never become items (see [`Threshold`]).
    threshold: Threshold,
}

/// The size below which a file cannot be among the [`ITEM_BUDGET`] largest items: every
/// item is at least as large as the files below it, so the budget's worth of files at least
/// this large would fill it first. Such files are counted in their directory without an item
/// each: a million small files cost no memory here. Of the files exactly this large, only
/// `equal` more become items.
#[derive(Debug, Clone, Copy)]
struct Threshold {
    size: u64,
    equal: usize,
}

impl Threshold {
    fn of(mut sizes: Vec<u64>) -> Self {
        if sizes.len() <= ITEM_BUDGET {
            return Self {
                size: 0,
                equal: usize::MAX,
            };
        }
        let at = sizes.len() - ITEM_BUDGET;
        let (_, &mut size, larger) = sizes.select_nth_unstable(at);
        let above = larger.iter().filter(|&&s| s > size).count();
        Self {
            size,
            equal: ITEM_BUDGET - above,
        }
    }

    /// Whether a file of `bytes` gets an item (counting the one asked about).
    fn admits(&mut self, bytes: u64) -> bool {
        if bytes > self.size {
            return true;
        }
        if bytes == self.size && self.equal > 0 {
            self.equal -= 1;
            return true;
        }
        false
    }
}

const ECOSYSTEM_GROUPS: [(Ecosystem, &str); 9] = [
    (Ecosystem::Pip, "pip packages"),
    (Ecosystem::Conda, "conda packages"),
    (Ecosystem::Npm, "npm packages"),
    (Ecosystem::Dpkg, "dpkg packages"),
    (Ecosystem::Apk, "apk packages"),
    (Ecosystem::Rpm, "rpm packages"),
    (Ecosystem::Go, "Go programs"),
    (Ecosystem::Cargo, "Rust programs"),
    (Ecosystem::Maven, "Java archives"),
];

/// The group label of a package: its family, else its ecosystem's packages.
fn group_label(analysis: &Analysis, owner: Option<u32>) -> &str {
    let package = owner.and_then(|p| analysis.attribution.packages.get(p as usize));
    match package {
        Some(p) => p.family.as_deref().unwrap_or_else(|| {
            ECOSYSTEM_GROUPS
                .iter()
                .find(|(e, _)| *e == p.ecosystem)
                .map_or("packages", |(_, label)| label)
        }),
        None => "unowned",
    }
}

impl<'a> Builder<'a> {
    fn new(analysis: &'a Analysis, threshold: Threshold) -> Self {
        let root = Full::empty(Name::Text("image"), Kind::Image);
        Self {
            analysis,
            items: vec![root],
            parents: vec![0],
            lookup: HashMap::new(),
            groups: Vec::new(),
            packages: HashMap::new(),
            joined: Vec::new(),
            threshold,
        }
    }

    fn push(&mut self, parent: u32, item: Full<'a>) -> u32 {
        let id = self.items.len() as u32;
        self.items.push(item);
        self.parents.push(parent);
        self.items[parent as usize].children.push(id);
        id
    }

    fn group(&mut self, label: &str) -> u32 {
        if let Some((_, id)) = self.groups.iter().find(|(l, _)| l == label) {
            return *id;
        }
        let item = Full::empty(Name::Text(""), Kind::Group);
        let id = self.push(0, item);
        self.groups.push((label.to_owned(), id));
        id
    }

    /// The item under which an owner's files go: its package, or for unowned files the
    /// top directory (as the unowned list of the summary).
    fn package(&mut self, owner: Option<u32>) -> u32 {
        let group = self.group(group_label(self.analysis, owner));
        let Some(p) = owner else {
            return group;
        };
        if let Some(&id) = self.packages.get(&p) {
            return id;
        }
        let item = Full::empty(Name::Package(p as usize), Kind::Package);
        let id = self.push(group, item);
        self.packages.insert(p, id);
        id
    }

    fn dir(&mut self, parent: u32, name: &'a [u8]) -> u32 {
        if let Some(&id) = self.lookup.get(&(parent, name)) {
            return id;
        }
        let item = Full::empty(Name::Bytes(name), Kind::Dir);
        let id = self.push(parent, item);
        self.lookup.insert((parent, name), id);
        id
    }

    /// Adds a file below `under` at `dirs`/`name`, counting its bytes up to the root; a file
    /// too small for an item of its own is counted in its directory only, and `facts` (a
    /// path lookup and a waste classification) is not asked for.
    fn file(
        &mut self,
        under: u32,
        dirs: &[&'a [u8]],
        name: &'a [u8],
        bytes: u64,
        facts: impl FnOnce() -> FileFacts,
    ) {
        let mut parent = under;
        for dir in dirs {
            parent = self.dir(parent, dir);
        }
        if self.threshold.admits(bytes) {
            let facts = facts();
            let item = Full {
                name: Name::Bytes(name),
                bytes,
                files: 1,
                small_bytes: 0,
                small_files: 0,
                kind: Kind::File,
                hidden: facts.hidden_by.is_some(),
                file: Some(facts),
                children: Vec::new(),
            };
            // Files are never looked up: a second content at one path (a hidden version) is
            // a second item, and a directory of the same name (a later layer's) stays apart.
            self.push(parent, item);
        } else {
            let item = &mut self.items[parent as usize];
            item.small_bytes += bytes;
            item.small_files += 1;
        }
        let mut up = parent;
        loop {
            let item = &mut self.items[up as usize];
            item.bytes += bytes;
            item.files += 1;
            if up == 0 {
                break;
            }
            up = self.parents[up as usize];
        }
    }

    /// `a` → `b` → `c`, each a directory holding only the next, become one `a/b/c`.
    fn join_chains(&mut self) {
        for id in 0..self.items.len() {
            if self.items[id].kind != Kind::Dir {
                continue;
            }
            let mut name: Option<Vec<u8>> = None;
            while let [only] = self.items[id].children[..]
                && self.items[only as usize].kind == Kind::Dir
                && self.items[id].small_files == 0
            {
                let joined = name.get_or_insert_with(|| self.bytes_of(id as u32).to_vec());
                joined.push(b'/');
                joined.extend_from_slice(&self.bytes_of(only));
                // The absorbed directory is no one's child any more.
                self.items[id].children = std::mem::take(&mut self.items[only as usize].children);
            }
            if let Some(name) = name {
                self.items[id].name = Name::Joined(self.joined.len() as u32);
                self.joined.push(name);
            }
        }
    }

    fn bytes_of(&self, id: u32) -> std::borrow::Cow<'_, [u8]> {
        match self.items[id as usize].name {
            Name::Bytes(b) => b.into(),
            Name::Text(t) => t.as_bytes().into(),
            Name::Joined(j) => self.joined[j as usize].as_slice().into(),
            Name::Package(_) => (&[][..]).into(),
        }
    }
}

/// The components of a visible file's path below `base` (a node), or from the root when the
/// file is not below it; the last one is the file's name.
fn components(tree: &FileTree, id: NodeId, base: Option<NodeId>) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut at = Some(id);
    while let Some(node) = at.filter(|&n| n != NodeId::ROOT) {
        if Some(node) == base {
            return parts.into_iter().rev().collect();
        }
        parts.push(tree.name(node));
        at = tree.node(node).parent;
    }
    parts.reverse();
    parts
}

/// Builds the full hierarchy of an analysis and keeps the largest [`ITEM_BUDGET`] items.
pub fn build(analysis: &Analysis) -> Treemap {
    let tree = &analysis.tree;
    let attribution = &analysis.attribution;
    let visible = || {
        tree.walk().filter_map(|id| {
            let node = tree.node(id);
            node.inode
                .filter(|_| node.files == 1)
                .map(|inode| (id, inode))
        })
    };
    let sizes: Vec<u64> = visible()
        .map(|(id, _)| tree.node(id).bytes)
        .chain(analysis.hidden.iter().map(|h| h.bytes))
        .collect();
    let mut builder = Builder::new(analysis, Threshold::of(sizes));
    // Where each package lives, as a node: files below it are shown relative to it.
    let bases: Vec<Option<NodeId>> = attribution
        .packages
        .iter()
        .map(|p| {
            let location = p.location.trim_start_matches('/');
            let system = matches!(p.ecosystem, Ecosystem::Dpkg | Ecosystem::Apk | Ecosystem::Rpm);
            (!system)
                .then(|| tree.lookup(location.as_bytes()))
                .flatten()
        })
        .collect();
    let extra_copies: HashSet<NodeId> = attribution
        .duplicates
        .iter()
        .flat_map(|g| g.copies.iter().skip(1).copied())
        .collect();
    let owner_of = |inode: crate::tree::InodeId| {
        attribution
            .inode_owner
            .get(inode.0 as usize)
            .copied()
            .flatten()
    };
    let family_of = |owner: Option<u32>| {
        owner
            .and_then(|p| attribution.packages.get(p as usize))
            .and_then(|p| p.family.as_deref())
    };
    for (id, inode) in visible() {
        let owner = owner_of(inode);
        let base = owner.and_then(|p| bases.get(p as usize).copied().flatten());
        let mut parts = components(tree, id, base);
        if owner.is_none() && parts.len() == 1 {
            // Files at the root are the unowned directory "/".
            parts.insert(0, b"");
        }
        let Some((name, dirs)) = parts.split_last() else {
            continue;
        };
        let facts = || {
            let waste = classify(&tree.path(id), family_of(owner)).or_else(|| {
                if analysis.debug_bytes(inode) > 0 {
                    Some(WasteClass::DebugInfo)
                } else {
                    extra_copies.contains(&id).then_some(WasteClass::Duplicate)
                }
            });
            FileFacts {
                waste,
                layer: tree.inode(inode).layer,
                hidden_by: None,
                owner,
                at: At::Node(id),
            }
        };
        let under = builder.package(owner);
        builder.file(under, dirs, name, tree.node(id).bytes, facts);
    }
    for (i, hidden) in analysis.hidden.iter().enumerate() {
        let owner = owner_of(hidden.inode);
        let mut path: &[u8] = &hidden.path;
        if let Some(p) = owner.and_then(|p| attribution.packages.get(p as usize)) {
            let location = p.location.trim_start_matches('/').as_bytes();
            if !location.is_empty()
                && path.starts_with(location)
                && path.get(location.len()) == Some(&b'/')
                && bases[owner.unwrap_or_default() as usize].is_some()
            {
                path = &path[location.len() + 1..];
            }
        }
        let mut parts: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
        if owner.is_none() && parts.len() == 1 {
            parts.insert(0, b"");
        }
        let Some((name, dirs)) = parts.split_last() else {
            continue;
        };
        let facts = || FileFacts {
            waste: Some(crate::attribution::hidden_class(hidden.reason)),
            layer: hidden.added_in_layer as u32,
            hidden_by: Some(hidden.hidden_by_layer as u32),
            owner,
            at: At::Hidden(i),
        };
        let under = builder.package(owner);
        builder.file(under, dirs, name, hidden.bytes, facts);
    }
    builder.join_chains();
    keep_largest(&builder, ITEM_BUDGET)
}

/// The largest items, parents before children, within `budget`; each item's children that
/// did not fit become one "other" item.
fn keep_largest(builder: &Builder<'_>, budget: usize) -> Treemap {
    let full = &builder.items;
    // Expand the largest item first: an item never outweighs its parent.
    let mut kept = vec![false; full.len()];
    kept[0] = true;
    let mut count = 1;
    let mut heap: BinaryHeap<(u64, std::cmp::Reverse<u32>)> = full[0]
        .children
        .iter()
        .map(|&c| (full[c as usize].bytes, std::cmp::Reverse(c)))
        .collect();
    while let Some((_, std::cmp::Reverse(id))) = heap.pop() {
        if count >= budget {
            break;
        }
        kept[id as usize] = true;
        count += 1;
        heap.extend(
            full[id as usize]
                .children
                .iter()
                .map(|&c| (full[c as usize].bytes, std::cmp::Reverse(c))),
        );
    }
    let groups: Vec<String> = builder.groups.iter().map(|(l, _)| l.clone()).collect();
    let group_of: HashMap<u32, u32> = builder
        .groups
        .iter()
        .enumerate()
        .map(|(g, &(_, id))| (id, g as u32))
        .collect();
    // Colours by size, so that the largest groups get the most distinct ones; unowned bytes
    // are always the palette's grey.
    let mut by_size: Vec<usize> = (0..builder.groups.len()).collect();
    by_size.sort_by_key(|&g| std::cmp::Reverse(full[builder.groups[g].1 as usize].bytes));
    let mut colours = vec![0u32; builder.groups.len()];
    let mut next = 0;
    for g in by_size {
        if builder.groups[g].0 == "unowned" {
            colours[g] = GREY;
        } else {
            if next % PALETTE == GREY {
                next += 1;
            }
            colours[g] = next % PALETTE;
            next += 1;
        }
    }
    let mut out = Treemap {
        items: Vec::new(),
        groups,
        all_files: full[0].files,
        folded_files: 0,
    };
    // Depth first from the root; children are ordered at the end.
    let mut stack: Vec<(u32, Option<u32>, u32)> = vec![(0, None, 0)];
    while let Some((id, parent, group)) = stack.pop() {
        let item = &full[id as usize];
        let group = group_of.get(&id).copied().unwrap_or(group);
        let index = out.items.len() as u32;
        out.items
            .push(shown_item(builder, id, group, colours[group as usize]));
        if let Some(parent) = parent {
            out.items[parent as usize].children.push(index);
        }
        let (shown, folded): (Vec<u32>, Vec<u32>) =
            item.children.iter().partition(|&&c| kept[c as usize]);
        if !folded.is_empty() || item.small_files > 0 {
            let files =
                folded.iter().map(|&c| full[c as usize].files).sum::<u64>() + item.small_files;
            out.folded_files += files;
            let count = folded.len() as u64 + item.small_files;
            let other = Item {
                name: format!("other ({count} items)"),
                bytes: folded.iter().map(|&c| full[c as usize].bytes).sum::<u64>()
                    + item.small_bytes,
                files,
                kind: Kind::Other,
                group,
                colour: colours[group as usize],
                hidden: item.small_files == 0 && folded.iter().all(|&c| full[c as usize].hidden),
                waste: None,
                layer: None,
                hidden_by: None,
                owner: None,
                path: None,
                children: Vec::new(),
            };
            let other_index = out.items.len() as u32;
            out.items.push(other);
            out.items[index as usize].children.push(other_index);
        }
        for &child in shown.iter().rev() {
            stack.push((child, Some(index), group));
        }
    }
    sort_children(&mut out.items);
    out
}

/// Children largest first; "other" last whatever its size.
fn sort_children(items: &mut [Item]) {
    for i in 0..items.len() {
        let mut children = std::mem::take(&mut items[i].children);
        children.sort_by(|&a, &b| {
            let (a_item, b_item) = (&items[a as usize], &items[b as usize]);
            (a_item.kind == Kind::Other)
                .cmp(&(b_item.kind == Kind::Other))
                .then(b_item.bytes.cmp(&a_item.bytes))
                .then(a.cmp(&b))
        });
        items[i].children = children;
    }
}

fn shown_item(builder: &Builder<'_>, id: u32, group: u32, colour: u32) -> Item {
    let analysis = builder.analysis;
    let full = &builder.items[id as usize];
    let package_label = |p: usize| {
        analysis
            .attribution
            .packages
            .get(p)
            .map(|p| match &p.version {
                Some(v) => format!("{} {v}", p.name),
                None => p.name.clone(),
            })
            .unwrap_or_default()
    };
    let name = match full.name {
        Name::Package(p) => escape_owned(package_label(p)),
        Name::Text(_) if full.kind == Kind::Group => builder
            .groups
            .get(group as usize)
            .map(|(l, _)| escape(l).into_owned())
            .unwrap_or_default(),
        Name::Bytes([]) if full.kind == Kind::Dir => "/".to_owned(),
        _ => escape_bytes(&builder.bytes_of(id)).into_owned(),
    };
    let facts = full.file;
    let path = facts.map(|f| match f.at {
        At::Node(node) => escape_path(&analysis.tree.path(node)),
        At::Hidden(h) => escape_path(analysis.hidden.get(h).map_or(&[][..], |h| &h.path)),
    });
    Item {
        name,
        bytes: full.bytes,
        files: full.files,
        kind: full.kind,
        group,
        colour,
        hidden: full.hidden,
        waste: facts.and_then(|f| f.waste).map(WasteClass::name),
        layer: facts.map(|f| f.layer),
        hidden_by: facts.and_then(|f| f.hidden_by),
        owner: facts
            .and_then(|f| f.owner)
            .map(|p| escape_owned(package_label(p as usize))),
        path,
        children: Vec::new(),
    }
}
