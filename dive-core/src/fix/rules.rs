//! Which edits `fix` is sure of, layer by layer, and what is left to list.
//!
//! Two kinds of edit, each only where the ledger proves its bytes and the Dockerfile's text
//! proves the change keeps the image's behaviour:
//! - **fold**: a `RUN` that only deletes, `chmod`s or `chown`s literal absolute paths, right
//!   after the step that wrote them (nothing but metadata between), goes into that step: its
//!   commands at the end of that `RUN`, or `COPY --chmod/--chown` when that step copied the
//!   one file it changes. Saves the bytes the folded layer hid of that step's.
//! - **cache**: a cache a `RUN` left in its own layer is not written (`pip install
//!   --no-cache-dir`, or a cache mount where the file has a `# syntax=` directive) or removed at its end (`apt-get clean`, `rm -rf /var/lib/apt/lists/*`,
//!   `yarn cache clean`, `rm -rf` of the cache directory). Saves the cache contents of that
//!   layer that no path outside the cache shows (a hard link elsewhere keeps its bytes).

use std::collections::{BTreeMap, HashMap};

use super::patch::{Edit, Taken};
use super::shell::{self, Movable};
use super::{ClassBytes, ClassSplit, Fix, Listed};
use crate::analysis::Analysis;
use crate::attribution::{WasteClass, hidden_class};
use crate::dockerfile::{
    Dockerfile, DockerfileError, Form, Instruction, Keyword, LayerOrigin, chain,
};
use crate::layer::EntryKind;
use crate::stage::Checkpoint;
use crate::tree::InodeId;

/// What the rules found.
pub(super) struct Found {
    pub(super) fixes: Vec<Fix>,
    pub(super) edits: Vec<(usize, Edit)>,
    pub(super) listed: Vec<Listed>,
    pub(super) classes: Vec<ClassSplit>,
}

/// A cache a `RUN` can leave out of its layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cache {
    Pip,
    Uv,
    Poetry,
    Npm,
    Yarn,
    AptLists,
    AptArchives,
}

impl Cache {
    fn class(self) -> WasteClass {
        match self {
            Cache::Pip => WasteClass::PipCache,
            Cache::Uv => WasteClass::UvCache,
            Cache::Poetry => WasteClass::PoetryCache,
            Cache::Npm | Cache::Yarn => WasteClass::NpmCache,
            Cache::AptLists => WasteClass::AptLists,
            Cache::AptArchives => WasteClass::AptArchives,
        }
    }

    /// The cache a path lies in and the cache's directory (normalised, no leading `/`), for
    /// the paths the waste classes put in these classes and a command removes whole.
    fn of(path: &str) -> Option<(Cache, &str)> {
        let under = |marker: &str| {
            path.find(marker)
                .filter(|&at| at == 0 || path.as_bytes()[at - 1] == b'/')
                .map(|at| &path[..at + marker.len() - 1])
        };
        if let Some(root) = path
            .strip_prefix("var/lib/apt/lists/")
            .filter(|rest| *rest != "lock")
            .map(|_| "var/lib/apt/lists")
        {
            return Some((Cache::AptLists, root));
        }
        if let Some(rest) = path.strip_prefix("var/cache/apt/") {
            // What `apt-get clean` removes: the archives (not their lock) and the two caches.
            let archive = rest
                .strip_prefix("archives/")
                .is_some_and(|f| f != "lock" && f != "partial");
            if archive || rest == "pkgcache.bin" || rest == "srcpkgcache.bin" {
                return Some((Cache::AptArchives, "var/cache/apt"));
            }
            return None;
        }
        for (marker, cache) in [
            (".cache/pip/", Cache::Pip),
            (".cache/uv/", Cache::Uv),
            (".cache/pypoetry/", Cache::Poetry),
            (".cache/yarn/", Cache::Yarn),
            (".npm/", Cache::Npm),
        ] {
            if let Some(mut root) = under(marker) {
                if cache == Cache::Poetry {
                    // Poetry's cache directory also holds its virtualenvs: only the part the
                    // path is in (`cache/`, `artifacts/`) goes.
                    let rest = &path[root.len() + 1..];
                    let part = rest.split('/').next().unwrap_or(rest);
                    if part.len() == rest.len() {
                        return None;
                    }
                    root = &path[..root.len() + 1 + part.len()];
                }
                // Only where the waste classes put the path too.
                return (WasteClass::of(path.as_bytes(), None) == Some(cache.class()))
                    .then_some((cache, root));
            }
        }
        None
    }
}

/// Cache contents of one layer, by cache and directory: the bytes no path outside the
/// directory shows.
type Caches = BTreeMap<CacheKey, u64>;

/// A cache directory of one layer: (layer, cache, directory).
type CacheKey = (usize, Cache, String);

/// One pass over the merged tree's files (paths built a directory at a time, as the waste
/// classes are found): each cache content's bytes, when no other path shows the content. A
/// content with hard links elsewhere keeps its bytes when the cache goes, so it is not
/// counted (it stays listed); a path that is not UTF-8 is no cache `fix` writes a command for.
fn caches(analysis: &Analysis) -> Caches {
    let tree = &analysis.tree;
    let mut out = Caches::new();
    let found = |_, inode: InodeId, path: &[u8]| {
        let content = tree.inode(inode);
        if content.refs != 1 {
            return None;
        }
        let (cache, root) = Cache::of(std::str::from_utf8(path).ok()?)?;
        Some((
            (content.layer as usize, cache, root.to_owned()),
            content.size,
        ))
    };
    tree.map_files(&Checkpoint::never(), found, |_, _, found| {
        if let Some((key, size)) = found {
            *out.entry(key).or_default() += size;
        }
    });
    out
}

/// Symlinks whose targets are looked at for the caches `rm -rf` would remove: at most this
/// many (past it, no such edit is made), each resolved once.
const MAX_LINKS_INTO_CACHES: usize = 4096;

/// Where the image's symlinks that may point into a cache directory lead, resolved to
/// normalised absolute paths: a cache that one of them reaches is still read (uv's
/// `symlink` link mode puts a venv's files there). `None` when there are more than
/// [`MAX_LINKS_INTO_CACHES`] such links.
fn links_into_caches(analysis: &Analysis) -> Option<Vec<String>> {
    const NAMES: [&str; 5] = ["pip", "uv", "pypoetry", ".npm", "yarn"];
    let tree = &analysis.tree;
    let mut out = Vec::new();
    for id in tree.walk() {
        let node = tree.node(id);
        if !node.alive || node.kind != EntryKind::Symlink {
            continue;
        }
        let Some(link) = node
            .entry
            .and_then(|e| analysis.entry(node.layer as usize, e as usize))
            .and_then(|e| e.link.as_deref())
        else {
            continue;
        };
        let target = String::from_utf8_lossy(link);
        if !target.split('/').any(|part| NAMES.contains(&part)) {
            continue;
        }
        if out.len() == MAX_LINKS_INTO_CACHES {
            return None;
        }
        let base = if target.starts_with('/') {
            Vec::new()
        } else {
            node.parent.map_or_else(Vec::new, |p| tree.path(p))
        };
        let mut parts: Vec<&str> = Vec::new();
        let base = String::from_utf8_lossy(&base);
        for part in base.split('/').chain(target.split('/')) {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                _ => parts.push(part),
            }
        }
        out.push(format!("/{}", parts.join("/")));
    }
    Some(out)
}

/// The plan's state while the rules run.
struct Rules<'a> {
    analysis: &'a Analysis,
    dockerfile: &'a Dockerfile,
    origins: &'a [LayerOrigin],
    /// The target's steps in order (instruction indices).
    steps: Vec<usize>,
    /// The same steps, as a set.
    in_chain: std::collections::HashSet<usize>,
    /// Each stage's parent: the earlier stage its `FROM` names (BuildKit takes the first
    /// stage of a name, compared without case), if any.
    parents: Vec<Option<usize>>,
    /// The steps whose `RUN` runs in a POSIX shell.
    posix: std::collections::HashSet<usize>,
    fixes: Vec<Fix>,
    edits: Vec<(usize, Edit)>,
    /// The edits' spans, to refuse an overlapping one in O(log n).
    taken: Taken,
    /// Instructions a fold removes: no other edit goes into them.
    folded: std::collections::HashSet<usize>,
    /// Bytes patched by (class, layer, hidden-by layer).
    patched: BTreeMap<(WasteClass, usize, Option<usize>), u64>,
    /// Why a (class, layer) was not patched, when a rule looked and refused.
    refused: BTreeMap<(WasteClass, usize), String>,
    /// Hidden bytes by (adding layer, hiding layer) and class: one pass over the hidden
    /// items, so that each layer's fold looks up its own.
    hidden: HashMap<(usize, usize), BTreeMap<WasteClass, u64>>,
    /// Cache directories given an edit so far (at most [`MAX_CACHE_DIRS`]).
    cache_dirs: usize,
    /// Where symlinks that may reach a cache lead (`None`: too many to tell).
    links: Option<Vec<String>>,
}

/// Empty files buildah leaves in every `RUN` layer where the runtime mounts its own (podman
/// mounts them again in every container): not something the `RUN` made.
const RUN_MOUNT_POINTS: [&[u8]; 3] = [b"etc/hosts", b"etc/hostname", b"etc/resolv.conf"];

#[cfg(test)]
thread_local! {
    /// Reads of the later `RUN`s' text on this thread: the tests hold it to
    /// [`MAX_CACHE_DIRS`] per plan, whatever the image holds.
    pub(super) static LATER_SCANS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Cache directories `fix` writes edits for; past them, caches are listed. Each is checked
/// against the later `RUN`s' text (at most 1 MiB): this bounds that work whatever an image
/// holds (a real one has a few).
pub(super) const MAX_CACHE_DIRS: usize = 256;

/// Runs every rule on the layers of `analysis` mapped to `origins`.
pub(super) fn find(
    analysis: &Analysis,
    dockerfile: &Dockerfile,
    origins: &[LayerOrigin],
    stage: Option<&str>,
) -> Result<Found, DockerfileError> {
    let chain = chain(dockerfile, stage)?;
    // `&&` and the commands `fix` writes mean what they say in a POSIX shell only (`SHELL
    // ["powershell", …]` or `["cmd", "/S", "/C"]` would read them otherwise).
    let posix = chain
        .iter()
        .filter(|(_, shell)| posix_shell(shell))
        .map(|(i, _)| *i)
        .collect();
    let steps: Vec<usize> = chain.into_iter().map(|(i, _)| i).collect();
    let in_chain = steps.iter().copied().collect();
    let mut first: HashMap<String, usize> = HashMap::new();
    let mut parents = Vec::with_capacity(dockerfile.stages.len());
    for stage in &dockerfile.stages {
        parents.push(first.get(&stage.base.to_ascii_lowercase()).copied());
        if let Some(name) = &stage.name {
            first
                .entry(name.to_ascii_lowercase())
                .or_insert(stage.index);
        }
    }
    let mut rules = Rules {
        analysis,
        dockerfile,
        origins,
        steps,
        in_chain,
        parents,
        posix,
        fixes: Vec::new(),
        edits: Vec::new(),
        taken: Taken::default(),
        folded: std::collections::HashSet::new(),
        patched: BTreeMap::new(),
        refused: BTreeMap::new(),
        hidden: HashMap::new(),
        cache_dirs: 0,
        links: links_into_caches(analysis),
    };
    for h in &analysis.hidden {
        *rules
            .hidden
            .entry((h.added_in_layer, h.hidden_by_layer))
            .or_default()
            .entry(hidden_class(h.reason))
            .or_default() += h.bytes;
    }
    for layer in 1..origins.len() {
        rules.fold(layer);
    }
    let caches = caches(analysis);
    let mut by_layer: BTreeMap<usize, Vec<(Cache, String, u64)>> = BTreeMap::new();
    for ((layer, cache, root), bytes) in caches {
        by_layer
            .entry(layer)
            .or_default()
            .push((cache, root, bytes));
    }
    for (layer, found) in by_layer {
        rules.caches(layer, &found);
    }
    let mut order: Vec<usize> = (0..rules.fixes.len()).collect();
    order.sort_by_key(|&f| (rules.fixes[f].line, f));
    let renumber: HashMap<usize, usize> = order
        .iter()
        .enumerate()
        .map(|(new, &old)| (old, new))
        .collect();
    let mut fixes: Vec<Option<Fix>> = rules.fixes.drain(..).map(Some).collect();
    let fixes_sorted = order.iter().filter_map(|&f| fixes[f].take()).collect();
    let edits = rules
        .edits
        .drain(..)
        .map(|(f, e)| (renumber[&f], e))
        .collect();
    let (listed, classes) = rules.leftovers();
    Ok(Found {
        fixes: fixes_sorted,
        edits,
        listed,
        classes,
    })
}

impl<'a> Rules<'a> {
    /// The instruction that wrote `layer`, when this Dockerfile did.
    fn instruction(&self, layer: usize) -> Option<(usize, &'a Instruction)> {
        let dockerfile: &'a Dockerfile = self.dockerfile;
        match self.origins.get(layer)? {
            LayerOrigin::Instruction { instruction, .. } => {
                Some((*instruction, &dockerfile.instructions[*instruction]))
            }
            LayerOrigin::BaseImage => None,
        }
    }

    fn line(&self, instruction: &Instruction) -> usize {
        self.dockerfile.line(instruction.span.start)
    }

    /// A `RUN` in shell form without heredocs: its command, continuation lines joined.
    fn shell_run(&self, index: usize) -> Option<String> {
        let instruction = &self.dockerfile.instructions[index];
        (instruction.keyword == Keyword::Run
            && instruction.form == Form::Shell
            && instruction.heredocs.is_empty()
            && self.posix.contains(&index))
        .then(|| self.dockerfile.logical_arguments(instruction))
    }

    /// Takes a fix if none of its edits overlaps one already taken.
    fn take(&mut self, fix: Fix, edits: Vec<Edit>, hidden_by: Option<usize>) -> bool {
        if edits.iter().any(|e| self.taken.overlaps(&e.span)) {
            return false;
        }
        for edit in &edits {
            self.taken.take(&edit.span);
        }
        let index = self.fixes.len();
        for part in &fix.classes {
            *self
                .patched
                .entry((part.class, fix.layer, hidden_by))
                .or_default() += part.bytes;
        }
        self.edits.extend(edits.into_iter().map(|e| (index, e)));
        self.fixes.push(fix);
        true
    }

    /// Folds `layer` into the layer before it, when its `RUN` only deletes or changes modes
    /// and owners of what that step wrote.
    fn fold(&mut self, later: usize) {
        let earlier = later - 1;
        let (Some((b_index, b)), Some((a_index, a))) =
            (self.instruction(later), self.instruction(earlier))
        else {
            return;
        };
        let Some(parts) = self.hidden.get(&(earlier, later)).cloned() else {
            return;
        };
        let saving: u64 = parts.values().sum();
        if saving == 0 || !b.flags.is_empty() {
            return;
        }
        let Some((commands, texts)) = self.shell_run(b_index).and_then(|c| shell::movable(&c))
        else {
            return;
        };
        let refuse = |rules: &mut Self, why: String| {
            for class in parts.keys() {
                rules.refused.insert((*class, earlier), why.clone());
            }
        };
        // Nothing but metadata between the two: no step that reads files or changes who or
        // where the commands run.
        let between_ok = a.stage == b.stage
            && a_index < b_index
            && self.dockerfile.instructions[a_index + 1..b_index]
                .iter()
                .all(|i| {
                    matches!(
                        i.keyword,
                        Keyword::Env
                            | Keyword::Label
                            | Keyword::Expose
                            | Keyword::Arg
                            | Keyword::Cmd
                            | Keyword::Entrypoint
                            | Keyword::Stopsignal
                            | Keyword::Healthcheck
                            | Keyword::Maintainer
                    )
                });
        if !between_ok {
            let why = format!(
                "line {} cannot take the commands of line {}: other steps run between them",
                self.line(a),
                self.line(b)
            );
            refuse(self, why);
            return;
        }
        let classes: Vec<ClassBytes> = parts
            .iter()
            .map(|(&class, &bytes)| ClassBytes { class, bytes })
            .collect();
        let removal = self.removal(b);
        if let Some(command) = self.shell_run(a_index) {
            let mounted = commands
                .iter()
                .any(|c| c.paths().iter().any(|p| mounts_over(a, p)));
            if mounted || !shell::appendable(&command) {
                refuse(
                    self,
                    format!(
                        "the RUN at line {} does not end where commands can follow it",
                        self.line(a)
                    ),
                );
                return;
            }
            let Some(append) = self.append(a, &texts.join(" && ")) else {
                refuse(
                    self,
                    format!(
                        "the RUN at line {} ends with a line continuation that leads nowhere",
                        self.line(a)
                    ),
                );
                return;
            };
            let fix = new_fix(
                format!(
                    "fold line {} ({}) into the RUN at line {}",
                    self.line(b),
                    texts.join(" && "),
                    self.line(a)
                ),
                classes,
                earlier,
                self.line(a),
                a.keyword.as_str(),
                None,
            )
            .folding(later, self.line(b));
            if self.take(fix, vec![append, removal], Some(later)) {
                self.folded.insert(b_index);
            }
            return;
        }
        if a.keyword == Keyword::Copy {
            match self.copy_flags(earlier, later, a, &commands) {
                Ok(flags) => {
                    let fix = new_fix(
                        format!(
                            "COPY {} at line {} instead of line {} ({})",
                            flags.trim_end(),
                            self.line(a),
                            self.line(b),
                            texts.join(" && ")
                        ),
                        classes,
                        earlier,
                        self.line(a),
                        a.keyword.as_str(),
                        None,
                    )
                    .folding(later, self.line(b));
                    let at = a.arguments.start;
                    let insert = Edit {
                        span: at..at,
                        text: flags,
                    };
                    if self.take(fix, vec![insert, removal], Some(later)) {
                        self.folded.insert(b_index);
                    }
                }
                Err(why) => refuse(self, why),
            }
            return;
        }
        refuse(
            self,
            format!(
                "the {} at line {} cannot take the commands of line {}",
                a.keyword.as_str(),
                self.line(a),
                self.line(b)
            ),
        );
    }

    /// `--chmod=…`/`--chown=…` for a `COPY` whose one file a later `RUN` only changed the
    /// mode or owner of: the values are the later layer's entry's, so the file ends the same.
    fn copy_flags(
        &self,
        earlier: usize,
        later: usize,
        copy: &Instruction,
        commands: &[Movable],
    ) -> Result<String, String> {
        let line = self.line(copy);
        let not = |why: &str| Err(format!("the COPY at line {line} {why}"));
        if commands.iter().any(|c| matches!(c, Movable::Remove(_))) {
            return not(
                "cannot take a delete: copy only what the image keeps (.dockerignore, COPY \
                 --exclude), or bind-mount it where a RUN uses it (RUN --mount=type=bind)",
            );
        }
        if copy.words.len() != 2 || !copy.heredocs.is_empty() {
            return not("copies more than one source");
        }
        let files = |layer: usize| -> Vec<(usize, &crate::layer::LayerEntry)> {
            self.analysis
                .layer_entries(layer)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .filter(|(_, e)| e.kind == EntryKind::File)
                .filter(|(_, e)| !(e.size == 0 && RUN_MOUNT_POINTS.contains(&&*e.path)))
                .collect()
        };
        let (copied, changed) = (files(earlier), files(later));
        let ([(_, copied)], [(_, changed)]) = (copied.as_slice(), changed.as_slice()) else {
            return not("does not copy exactly the one file the later step changes");
        };
        if copied.path != changed.path {
            return not("copies another file than the one the later step changes");
        }
        let path = format!("/{}", String::from_utf8_lossy(&copied.path));
        let all_paths_are_it = commands
            .iter()
            .all(|c| !matches!(c, Movable::Remove(_)) && c.paths().iter().all(|p| *p == path));
        if !all_paths_are_it {
            return not("is followed by commands other than chmod/chown of the copied file");
        }
        // The source must be one file whatever the next build's context holds: no directory
        // (a trailing `/`), no glob; and it must land at that path.
        let (source, dest) = (&copy.words[0], &copy.words[1]);
        let name = source.rsplit('/').next().unwrap_or(source);
        let lands = *dest == path || (dest.ends_with('/') && format!("{dest}{name}") == path);
        if source.ends_with('/') || source.contains(['*', '?', '[']) || !lands {
            return not("may copy more than the one file (a directory or a glob)");
        }
        let has = |flag: &str| copy.flags.iter().any(|(n, _)| n == flag);
        let mut flags = String::new();
        let mut mode = copied.mode & 0o7777;
        for command in commands {
            match command {
                Movable::Chown(owner, _) => {
                    if has("chown") {
                        return not("already has --chown");
                    }
                    // The owner as the user wrote it: the build resolves a name the same way
                    // for COPY --chown as for chown. Numbers are checked against the image.
                    let (user, group) = owner.split_once(':').unwrap_or((owner, ""));
                    let numeric_differs =
                        |text: &str, id: u32| text.parse::<u32>().is_ok_and(|n| n != id);
                    if numeric_differs(user, changed.uid) || numeric_differs(group, changed.gid) {
                        return not("is chowned to another owner than the image shows");
                    }
                    flags = format!("--chown={owner} {flags}");
                }
                Movable::Chmod(text, _) => {
                    if has("chmod") {
                        return not("already has --chmod");
                    }
                    let Some(next) = shell::chmod(text, mode) else {
                        return not("is chmodded with a mode fix does not read");
                    };
                    mode = next;
                }
                Movable::Remove(_) => {}
            }
        }
        if commands.iter().any(|c| matches!(c, Movable::Chmod(..))) {
            // The mode the command makes of the copied file must be the one the image
            // shows, and nothing an image could slip in: no setuid, setgid, sticky or
            // world-writable bit that the user did not write in octal.
            if mode != changed.mode & 0o7777 {
                return not("is chmodded to another mode than the image shows");
            }
            let octal_by_user = commands.iter().all(
                |c| !matches!(c, Movable::Chmod(t, _) if !t.bytes().all(|b| b.is_ascii_digit())),
            );
            if mode & 0o7002 != 0 && !octal_by_user {
                return not("would get a setuid, setgid, sticky or world-writable mode");
            }
            flags.push_str(&format!("--chmod={mode:o} "));
        }
        Ok(flags)
    }

    /// The cache edits of one layer's `RUN`.
    fn caches(&mut self, layer: usize, found: &[(Cache, String, u64)]) {
        let Some((index, run)) = self.instruction(layer) else {
            return;
        };
        let line = self.line(run);
        let refuse = |rules: &mut Self, class: WasteClass, why: String| {
            rules.refused.insert((class, layer), why);
        };
        if self.folded.contains(&index) {
            for (cache, ..) in found {
                let why = format!("the RUN at line {line} is folded into the step before it");
                refuse(self, cache.class(), why);
            }
            return;
        }
        let Some(command) = self.shell_run(index).filter(|c| !c.trim().is_empty()) else {
            for (cache, ..) in found {
                refuse(
                    self,
                    cache.class(),
                    shape(run, line, self.posix.contains(&index)),
                );
            }
            return;
        };
        // Read only for the caches given an edit: at most `MAX_CACHE_DIRS` times per plan.
        let mut later: Option<Vec<String>> = None;
        let mut appended: Vec<(String, Vec<ClassBytes>, Option<&'static str>)> = Vec::new();
        for (cache, root, bytes) in found {
            let class = cache.class();
            if mounts_over(run, &format!("/{root}")) {
                let why = format!(
                    "the RUN at line {line} mounts over the cache now: the image comes from a \
                     build before the mount"
                );
                refuse(self, class, why);
                continue;
            }
            if self.cache_dirs >= MAX_CACHE_DIRS {
                refuse(
                    self,
                    class,
                    format!("more than {MAX_CACHE_DIRS} cache directories: the rest are listed"),
                );
                continue;
            }
            self.cache_dirs += 1;
            let bytes = *bytes;
            let parts = vec![ClassBytes { class, bytes }];
            match cache {
                Cache::Pip if root == "root/.cache/pip" && self.cache_mounts() => {
                    // A BuildKit Dockerfile: the cache goes to a cache mount, which keeps it
                    // for the next build and out of the layer, whoever writes it.
                    let fix = new_fix(
                        format!("RUN --mount=type=cache,target=/root/.cache/pip at line {line}"),
                        parts,
                        layer,
                        line,
                        "RUN",
                        Some("DL3042"),
                    );
                    let at = run.arguments.start;
                    let edit = Edit {
                        span: at..at,
                        text: "--mount=type=cache,target=/root/.cache/pip ".into(),
                    };
                    self.take(fix, vec![edit], None);
                }
                Cache::Pip => {
                    let raw = self.dockerfile.slice(&run.arguments);
                    let installs = shell::pip_installs(raw);
                    if !installs.is_empty()
                        && installs.len() == shell::pip_runs(&command)
                        && pip_only_installer(&command)
                    {
                        let fix = new_fix(
                            format!("pip install --no-cache-dir at line {line}"),
                            parts,
                            layer,
                            line,
                            "RUN",
                            Some("DL3042"),
                        );
                        let edits = installs
                            .iter()
                            .map(|&at| Edit {
                                span: run.arguments.start + at..run.arguments.start + at,
                                text: " --no-cache-dir".into(),
                            })
                            .collect();
                        self.take(fix, edits, None);
                        continue;
                    }
                    let path = format!("/{root}");
                    if !shell::safe_path(&path) {
                        refuse(self, class, unsafe_path(&path));
                    } else if self.linked(&path) {
                        refuse(self, class, linked_into(&path));
                    } else {
                        appended.push((format!("rm -rf {path}"), parts, None));
                    }
                }
                Cache::AptLists => {
                    let later = later.get_or_insert_with(|| self.later_runs(index));
                    if let Some(user) = later.iter().find(|c| needs_apt_lists(c)) {
                        let why = format!(
                            "a later RUN installs with apt without updating the lists ({})",
                            crate::report::cut(user, 60)
                        );
                        refuse(self, class, why);
                        continue;
                    }
                    appended.push(("rm -rf /var/lib/apt/lists/*".into(), parts, Some("DL3009")));
                }
                Cache::AptArchives => {
                    if shell::runs(&command, &["apt-get", "apt"], &["install", "upgrade"]) {
                        appended.push(("apt-get clean".into(), parts, None));
                    } else {
                        refuse(
                            self,
                            class,
                            format!("the RUN at line {line} runs no apt-get"),
                        );
                    }
                }
                Cache::Yarn if shell::runs(&command, &["yarn"], &["install", "add"]) => {
                    appended.push(("yarn cache clean".into(), parts, Some("DL3060")));
                }
                Cache::Uv | Cache::Poetry | Cache::Npm | Cache::Yarn => {
                    let path = format!("/{root}");
                    let later = later.get_or_insert_with(|| self.later_runs(index));
                    if !shell::safe_path(&path) {
                        refuse(self, class, unsafe_path(&path));
                    } else if self.linked(&path) {
                        refuse(self, class, linked_into(&path));
                    } else if later
                        .iter()
                        .any(|c| c.contains(&path) || c.contains("offline"))
                    {
                        refuse(
                            self,
                            class,
                            format!("a later RUN may read {}", crate::escape::escape(&path)),
                        );
                    } else {
                        appended.push((format!("rm -rf {path}"), parts, None));
                    }
                }
            }
        }
        if appended.is_empty() {
            return;
        }
        if !shell::appendable(&command) {
            for (_, parts, _) in &appended {
                refuse(
                    self,
                    parts[0].class,
                    format!("the RUN at line {line} does not end where commands can follow it"),
                );
            }
            return;
        }
        // apt's two caches in one command, in the order people write them.
        appended.sort_by_key(|(text, ..)| text.starts_with("rm -rf /var/lib/apt"));
        for (text, classes, hadolint) in appended {
            let saving: u64 = classes.iter().map(|c| c.bytes).sum();
            if saving == 0 {
                continue;
            }
            let Some(edit) = self.append(run, &text) else {
                for part in &classes {
                    refuse(
                        self,
                        part.class,
                        format!(
                            "the RUN at line {line} ends with a line continuation that leads \
                             nowhere"
                        ),
                    );
                }
                continue;
            };
            let fix = new_fix(
                format!("{text} at the end of the RUN at line {line}"),
                classes,
                layer,
                line,
                "RUN",
                hadolint,
            );
            self.take(fix, vec![edit], None);
        }
    }

    /// Whether a symlink of the image leads into `path` or above it (or whether there were
    /// too many to tell).
    fn linked(&self, path: &str) -> bool {
        self.links
            .as_ref()
            .is_none_or(|links| links.iter().any(|l| overlap(l, path)))
    }

    /// Whether the file asks for a Dockerfile syntax that has `RUN --mount=type=cache`: a
    /// `# syntax=` directive naming `docker/dockerfile` 1 (any 1.x from 1.2, the labs and
    /// experimental channels) or its latest. No directive, an older one or another frontend:
    /// no cache mount is written.
    fn cache_mounts(&self) -> bool {
        let Some(span) = &self.dockerfile.syntax else {
            return false;
        };
        let image = self.dockerfile.slice(span).trim();
        let image = image.split('@').next().unwrap_or(image);
        let (name, tag) = match image.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name, tag),
            _ => (image, "latest"),
        };
        if !(name.ends_with("docker/dockerfile") || name.ends_with("docker/dockerfile-upstream")) {
            return false;
        }
        let (version, channel) = tag.split_once('-').unwrap_or((tag, ""));
        match version.split_once('.') {
            _ if version == "latest" || version == "master" || version == "1" => true,
            Some(("1", minor)) => {
                minor.parse::<u32>().is_ok_and(|m| m >= 2) || channel.contains("experimental")
            }
            _ => false,
        }
    }

    /// The commands of the `RUN`s after instruction `index` in the target's steps.
    /// The other stages that build on instruction `index`'s stage (their `FROM` names it, or
    /// a stage that does) read what it leaves too: all their `RUN`s count.
    fn later_runs(&self, index: usize) -> Vec<String> {
        #[cfg(test)]
        LATER_SCANS.with(|c| c.set(c.get() + 1));
        let dockerfile = self.dockerfile;
        let mut later: Vec<usize> = self
            .steps
            .iter()
            .skip_while(|&&i| i != index)
            .skip(1)
            .copied()
            .collect();
        if let Some(stage) = dockerfile.instructions[index].stage {
            let mut built_on = vec![false; dockerfile.stages.len()];
            built_on[stage] = true;
            for s in &dockerfile.stages[stage + 1..] {
                if self.parents[s.index].is_some_and(|p| built_on[p]) {
                    built_on[s.index] = true;
                    later.extend(s.body.clone().filter(|i| !self.in_chain.contains(i)));
                }
            }
        }
        later
            .into_iter()
            .map(|i| &dockerfile.instructions[i])
            .filter(|i| i.keyword == Keyword::Run)
            .map(|i| {
                let mut text = dockerfile.logical_arguments(i);
                for h in &i.heredocs {
                    text.push('\n');
                    text.push_str(&h.body);
                }
                text
            })
            .collect()
    }

    /// An edit that appends ` && command` to a shell-form `RUN`, in its continuation style:
    /// on its line when it has one, else on a new line indented as its last one.
    /// `None` when its last line ends with the escape character (at the end of the file, or
    /// before a blank or comment line) or is a comment inside the continuation: text after
    /// it would join the command oddly or not at all.
    fn append(&self, run: &Instruction, command: &str) -> Option<Edit> {
        let raw = self.dockerfile.slice(&run.arguments);
        let kept = raw.trim_end_matches([' ', '\t', '\r']);
        let last = kept.rsplit('\n').next().unwrap_or(kept);
        if kept.ends_with(self.dockerfile.escape) || last.trim_start().starts_with('#') {
            return None;
        }
        let at = run.arguments.start + kept.len();
        let text = match kept.rfind('\n') {
            None => format!(" && {command}"),
            Some(nl) => {
                let last = &kept[nl + 1..];
                let indent: String = last
                    .chars()
                    .take_while(|c| *c == ' ' || *c == '\t')
                    .collect();
                let eol = if kept[..nl].ends_with('\r') {
                    "\r\n"
                } else {
                    "\n"
                };
                let escape = self.dockerfile.escape;
                let before = kept[..nl].trim_end_matches('\r');
                let trailing = before
                    .strip_suffix(escape)
                    .is_some_and(|b| b.trim_end().ends_with("&&"));
                if trailing {
                    format!(" && {escape}{eol}{indent}{command}")
                } else {
                    format!(" {escape}{eol}{indent}&& {command}")
                }
            }
        };
        Some(Edit { span: at..at, text })
    }

    /// An edit that removes an instruction's lines, their line end included.
    fn removal(&self, instruction: &Instruction) -> Edit {
        let text = &self.dockerfile.text;
        let start = text[..instruction.span.start]
            .rfind('\n')
            .map_or(0, |nl| nl + 1);
        let start = if text[start..instruction.span.start].trim().is_empty() {
            start
        } else {
            instruction.span.start
        };
        let rest = &text[instruction.span.end..];
        let end = instruction.span.end
            + if rest.starts_with("\r\n") {
                2
            } else {
                usize::from(rest.starts_with('\n'))
            };
        Edit {
            span: start..end,
            text: String::new(),
        }
    }

    /// What the edits leave: each class split into base, patched and listed, and the listed
    /// bytes by layer (and hiding layer) with their line and why.
    fn leftovers(&self) -> (Vec<Listed>, Vec<ClassSplit>) {
        let analysis = self.analysis;
        // Ledger bytes by (class, layer, hidden-by).
        let mut ledger: BTreeMap<(WasteClass, usize, Option<usize>), u64> = BTreeMap::new();
        for waste in &analysis.attribution.waste {
            if is_hidden(waste.class) {
                continue;
            }
            for l in &waste.by_layer {
                *ledger.entry((waste.class, l.layer, None)).or_default() += l.bytes;
            }
        }
        for h in &analysis.hidden {
            *ledger
                .entry((
                    hidden_class(h.reason),
                    h.added_in_layer,
                    Some(h.hidden_by_layer),
                ))
                .or_default() += h.bytes;
        }
        let mut listed = Vec::new();
        let mut split: BTreeMap<WasteClass, ClassSplit> = BTreeMap::new();
        for (&(class, layer, hidden_by), &bytes) in &ledger {
            let entry = split.entry(class).or_insert(ClassSplit {
                class,
                bytes: 0,
                base: 0,
                patched: 0,
                listed: 0,
            });
            entry.bytes += bytes;
            let Some((_, instruction)) = self.instruction(layer) else {
                entry.base += bytes;
                continue;
            };
            let patched = self
                .patched
                .get(&(class, layer, hidden_by))
                .copied()
                .unwrap_or(0)
                .min(bytes);
            entry.patched += patched;
            let rest = bytes - patched;
            if rest == 0 {
                continue;
            }
            entry.listed += rest;
            let line = self.line(instruction);
            let why = self
                .refused
                .get(&(class, layer))
                .cloned()
                .unwrap_or_else(|| {
                    if patched > 0 {
                        "shared by hard links with paths outside the cache, or not written by the \
                     command fixed"
                            .to_owned()
                    } else {
                        not_patched(class, hidden_by, self)
                    }
                });
            listed.push(Listed {
                class,
                bytes: rest,
                layer,
                hidden_by_layer: hidden_by,
                line,
                hidden_by_line: hidden_by
                    .and_then(|l| self.instruction(l))
                    .map(|(_, i)| self.line(i)),
                why,
                suggestion: self.suggestion(class),
            });
        }
        listed.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.layer.cmp(&b.layer)));
        let mut classes: Vec<ClassSplit> = split.into_values().collect();
        classes.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.class.cmp(&b.class)));
        (listed, classes)
    }

    /// The change to make by hand: the class's fix, and for a toolchain the packages.
    fn suggestion(&self, class: WasteClass) -> String {
        if class != WasteClass::Toolchain {
            return class.fix().to_owned();
        }
        let packages: Vec<String> = self
            .analysis
            .attribution
            .packages
            .iter()
            .filter(|p| p.family.as_deref() == Some("toolchain") && p.bytes > 0)
            .take(8)
            .map(|p| {
                format!(
                    "{} ({})",
                    crate::escape::escape(&p.name),
                    crate::report::human_bytes(p.bytes, false)
                )
            })
            .collect();
        let builder = self
            .dockerfile
            .stages
            .iter()
            .rev()
            .skip(1)
            .find_map(|stage| stage.name.as_deref())
            .map(|name| format!(" (stage {} can be it)", crate::escape::escape(name)))
            .unwrap_or_default();
        format!(
            "install {} in a builder stage{builder} and COPY --from it only what the build made",
            packages.join(", ")
        )
    }
}

/// Why a class is left to the user when no rule looked at it.
fn not_patched(class: WasteClass, hidden_by: Option<usize>, rules: &Rules<'_>) -> String {
    match class {
        WasteClass::HiddenDeleted | WasteClass::HiddenMetadataOnly => {
            let by = hidden_by.and_then(|l| rules.instruction(l)).map_or_else(
                || "a later layer".to_owned(),
                |(_, i)| format!("line {}", rules.line(i)),
            );
            format!(
                "{by} does more than delete or change modes of what the step right before it wrote"
            )
        }
        WasteClass::HiddenOverwritten => {
            "a later step writes new contents at these paths: which copy the image needs is \
             the build's to decide"
                .to_owned()
        }
        WasteClass::Toolchain => {
            "moving a toolchain to a builder stage changes what the build copies: a decision \
             fix leaves to you"
                .to_owned()
        }
        WasteClass::Pycache
        | WasteClass::Tests
        | WasteClass::Headers
        | WasteClass::StaticLibs
        | WasteClass::DebugInfo
        | WasteClass::Duplicate
        | WasteClass::ModelWeights => {
            "removing these files can change what the image runs (imports, builds, debugging): \
             not an edit fix makes without you"
                .to_owned()
        }
        _ => "no edit for this command is sure to remove these bytes".to_owned(),
    }
}

/// Whether a `--mount` of `instruction` covers `path`, or lies below it: a command on the
/// path would act on the mount (a cache mount emptied, a bind mount refused), not on the
/// layer. A secret or ssh mount without a target has its default one; any other mount
/// without one counts as covering everything.
fn mounts_over(instruction: &Instruction, path: &str) -> bool {
    instruction.flags.iter().any(|(name, value)| {
        name == "mount"
            && value.as_deref().is_none_or(|v| {
                let field = |names: &[&str]| {
                    v.split(',').find_map(|kv| {
                        let (k, value) = kv.split_once('=')?;
                        names.contains(&k).then_some(value)
                    })
                };
                let target = field(&["target", "dst", "destination"]);
                match (target, field(&["type"])) {
                    (Some(t), _) => overlap(path, t),
                    // Their default targets.
                    (None, Some("secret")) => overlap(path, "/run/secrets"),
                    (None, Some("ssh")) => overlap(path, "/run/buildkit"),
                    _ => true,
                }
            })
    })
}

/// Whether one path is the other or lies below it.
fn overlap(a: &str, b: &str) -> bool {
    let below = |x: &str, y: &str| {
        let y = y.trim_end_matches('/');
        x == y || x.starts_with(&format!("{y}/")) || y.is_empty()
    };
    below(a, b) || below(b, a)
}

/// Whether a `SHELL` (or the default) is a POSIX shell taking the command after `-c`.
pub(super) fn posix_shell(shell: &[String]) -> bool {
    let name = shell
        .first()
        .map_or("", |s| s.rsplit('/').next().unwrap_or(s));
    // Options that leave `&&`, `rm` and globs as they are (`-f`/`noglob` would not).
    let plain_flags = |word: &str| {
        word.strip_prefix('-')
            .is_some_and(|f| !f.is_empty() && f.bytes().all(|b| b"euxvlo".contains(&b)))
    };
    let options = shell
        .get(1..shell.len().saturating_sub(1))
        .unwrap_or_default();
    matches!(name, "sh" | "bash" | "ash" | "dash" | "ksh" | "zsh")
        && shell.len() >= 2
        && shell.last().is_some_and(|flag| {
            flag.strip_suffix('c')
                .is_some_and(|f| f == "-" || plain_flags(f))
        })
        && options.iter().all(|w| {
            plain_flags(w) || matches!(w.as_str(), "pipefail" | "errexit" | "nounset" | "xtrace")
        })
}

/// Why an instruction takes no edit of its command.
fn shape(instruction: &Instruction, line: usize, posix: bool) -> String {
    let keyword = instruction.keyword.as_str();
    if instruction.keyword != Keyword::Run {
        format!("line {line} is a {keyword}, not a RUN")
    } else if !posix {
        format!("the RUN at line {line} runs in a SHELL that is not a POSIX shell")
    } else if instruction.form == Form::Json {
        format!(
            "the RUN at line {line} is in exec (JSON) form: no shell runs a command added to it"
        )
    } else if !instruction.heredocs.is_empty() {
        format!("the RUN at line {line} runs a heredoc: fix does not edit heredoc bodies")
    } else {
        format!("the RUN at line {line} has no command")
    }
}

fn is_hidden(class: WasteClass) -> bool {
    matches!(
        class,
        WasteClass::HiddenDeleted | WasteClass::HiddenMetadataOnly | WasteClass::HiddenOverwritten
    )
}

fn linked_into(path: &str) -> String {
    format!(
        "a symlink of the image leads into {path} (or there are too many to tell): removing \
         it would break what links there"
    )
}

fn unsafe_path(path: &str) -> String {
    format!(
        "the cache's path {} holds characters a command must not take from an image",
        crate::escape::escape(path)
    )
}

/// Whether pip is the only installer a `RUN` runs that may write pip's cache: every command
/// of it is a `pip install` or a tool known not to run pip.
fn pip_only_installer(command: &str) -> bool {
    const QUIET: &[&str] = &[
        "apt-get", "apt", "apk", "rm", "mkdir", "cd", "echo", "ln", "chmod", "chown", "cp", "mv",
        "touch", "true", "test", "useradd", "adduser", "groupadd", "addgroup", "export", "set",
        "curl", "wget", "tar", "unzip", "pip", "pip3", "python", "python3",
    ];
    command
        .split([';', '|', '&', '\n'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .all(|c| {
            let first = c.split_whitespace().next().unwrap_or_default();
            let name = first.rsplit('/').next().unwrap_or(first);
            let base = name.trim_end_matches(|ch: char| ch.is_ascii_digit() || ch == '.');
            QUIET.contains(&name)
                || QUIET.contains(&base)
                || (base == "python" && c.contains("-m pip"))
        })
        // `python setup.py` and `python -m <other>` may run pip.
        && !command.split(['&', ';', '|']).any(|c| {
            let mut w = c.split_whitespace();
            w.next().is_some_and(|f| f.starts_with("python"))
                && !c.split_whitespace().collect::<Vec<_>>().windows(2).any(|p| p == ["-m", "pip"])
        })
}

/// Whether a later `RUN` installs with apt without updating the lists first.
fn needs_apt_lists(command: &str) -> bool {
    shell::runs(
        command,
        &["apt-get", "apt", "aptitude"],
        &[
            "install",
            "upgrade",
            "dist-upgrade",
            "build-dep",
            "source",
            "full-upgrade",
        ],
    ) && !shell::runs(command, &["apt-get", "apt", "aptitude"], &["update"])
}

/// A fix; its saving is the sum of its classes' bytes.
fn new_fix(
    change: String,
    classes: Vec<ClassBytes>,
    layer: usize,
    line: usize,
    instruction: &'static str,
    hadolint: Option<&'static str>,
) -> Fix {
    Fix {
        change,
        saving: classes.iter().map(|c| c.bytes).sum(),
        classes,
        layer,
        folds_layer: None,
        folded_line: None,
        line,
        instruction,
        hadolint,
    }
}

impl Fix {
    /// The same fix, folding away layer `layer`'s instruction at `line`.
    fn folding(mut self, layer: usize, line: usize) -> Fix {
        self.folds_layer = Some(layer);
        self.folded_line = Some(line);
        self
    }
}
