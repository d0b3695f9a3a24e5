//! The cache rule: a cache a `RUN` left in its own layer is not written (`pip install
//! --no-cache-dir`, or a cache mount in a BuildKit file) or removed at the end of that `RUN`
//! (`apt-get clean`, the apt lists, `yarn cache clean`, `dnf clean all`, `rm -rf` of the
//! cache directory), where nothing later reads it. Saves the cache contents of that layer that no path outside
//! the cache shows (a hard link elsewhere keeps its bytes).

use std::collections::BTreeMap;

use super::model::{ClassBytes, new_fix};
use super::patch::Edit;
use super::rules::{Rules, mounts_over, overlap, shape};
use super::shell;
use crate::analysis::Analysis;
use crate::attribution::WasteClass;
use crate::dockerfile::Keyword;
use crate::layer::EntryKind;
use crate::stage::Checkpoint;
use crate::tree::InodeId;

impl Rules<'_> {
    /// Every layer's cache edits, in layer order.
    pub(super) fn cache_edits(&mut self) {
        self.links = links_into_caches(self.analysis);
        let mut by_layer: BTreeMap<usize, Vec<(Cache, String, u64)>> = BTreeMap::new();
        for ((layer, cache, root), bytes) in caches(self.analysis) {
            by_layer
                .entry(layer)
                .or_default()
                .push((cache, root, bytes));
        }
        for (layer, found) in by_layer {
            self.caches(layer, &found);
        }
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
                        after: false,
                    };
                    self.take(fix, vec![edit], None);
                }
                Cache::Pip => {
                    let raw = self.dockerfile.slice(&run.arguments);
                    let installs = shell::pip_installs(raw, self.dockerfile.escape);
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
                        let edits = self.flags_at(run, &installs, " --no-cache-dir");
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
                Cache::Dnf | Cache::Apk | Cache::Zypper => {
                    let path = format!("/{root}");
                    let later = later.get_or_insert_with(|| self.later_runs(index));
                    match os_clean(*cache, &command, root) {
                        None => refuse(
                            self,
                            class,
                            format!(
                                "the RUN at line {line} runs no package manager that writes it"
                            ),
                        ),
                        Some(_) if self.linked(&path) => refuse(self, class, linked_into(&path)),
                        Some(_) if later.iter().any(|c| reads_os_cache(*cache, c, &path)) => {
                            refuse(
                                self,
                                class,
                                format!("a later RUN may read {}", crate::escape::escape(&path)),
                            );
                        }
                        Some((text, hadolint)) => appended.push((text, parts, hadolint)),
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
}

/// What removes an operating system's package cache at the end of a `RUN` that wrote it,
/// and the hadolint rule it clears: the manager that writes that directory cleans it, then
/// the directory goes (a clean keeps a few files: dnf's `expired_repos.json`, zypper's
/// `solv`); where the `RUN` runs no manager that writes this directory, the directory alone
/// (the same saving; no binary that may be missing). `None` when it runs no manager at all.
fn os_clean(cache: Cache, command: &str, root: &str) -> Option<(String, Option<&'static str>)> {
    const INSTALLS: [&str; 6] = [
        "install",
        "upgrade",
        "update",
        "reinstall",
        "makecache",
        "add",
    ];
    let runs = |tool: &str| shell::runs(command, &[tool], &INSTALLS);
    let path = format!("/{root}");
    let (clean, rule) = match (cache, root) {
        // apk's `--no-cache` writes none; removing it after is the same saving (dot names
        // directly in it are left to the glob, and not counted: `Cache::of`).
        (Cache::Apk, _) if runs("apk") => return Some((format!("rm -rf {path}/*"), None)),
        (Cache::Dnf, "var/cache/dnf" | "var/cache/libdnf5") if runs("dnf") || runs("dnf5") => {
            (Some("dnf clean all"), Some("DL3040"))
        }
        // yum's, and microdnf's (UBI minimal's) on RHEL 8 and 9.
        (Cache::Dnf, "var/cache/yum") if runs("yum") => (Some("yum clean all"), Some("DL3032")),
        (Cache::Dnf, "var/cache/yum") if runs("microdnf") => {
            (Some("microdnf clean all"), Some("DL3040"))
        }
        (Cache::Dnf, _) if ["dnf", "dnf5", "yum", "microdnf"].iter().any(|t| runs(t)) => {
            (None, None)
        }
        (Cache::Zypper, _) if runs("zypper") => (Some("zypper clean --all"), Some("DL3036")),
        _ => return None,
    };
    Some(match clean {
        Some(clean) => (format!("{clean} && rm -rf {path}"), rule),
        None => (format!("rm -rf {path}"), None),
    })
}

/// Whether a later command may read an operating system's package cache at `path`: it names
/// the directory, installs from the cache alone (`--cacheonly`, `-C`, `--offline`), or runs
/// apk or zypper, which need the index the cache holds, without refreshing it.
fn reads_os_cache(cache: Cache, command: &str, path: &str) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    let cache_only = words
        .iter()
        .any(|w| *w == "-C" || w.contains("cacheonly") || *w == "--offline");
    let refreshes = match cache {
        Cache::Apk => {
            shell::runs(command, &["apk"], &["update"])
                || words
                    .iter()
                    .any(|w| matches!(*w, "-U" | "--update-cache" | "--no-cache" | "--update"))
        }
        Cache::Zypper => {
            shell::runs(command, &["zypper"], &["refresh", "ref"])
                || words.iter().any(|w| matches!(*w, "--refresh" | "-f"))
        }
        _ => true,
    };
    let uses = match cache {
        Cache::Apk => shell::runs(
            command,
            &["apk"],
            &["add", "upgrade", "fix", "search", "info"],
        ),
        Cache::Zypper => shell::runs(
            command,
            &["zypper"],
            &["install", "in", "update", "up", "dup"],
        ),
        _ => false,
    };
    command.contains(path) || cache_only || uses && !refreshes
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
    /// dnf's (`/var/cache/dnf`, dnf5's `/var/cache/libdnf5`), yum's or microdnf's
    /// (`/var/cache/yum`) cache: metadata and packages.
    Dnf,
    Apk,
    Zypper,
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
            Cache::Dnf => WasteClass::DnfCache,
            Cache::Apk => WasteClass::ApkCache,
            Cache::Zypper => WasteClass::ZypperCache,
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
        for (root, cache) in [
            ("var/cache/dnf", Cache::Dnf),
            ("var/cache/yum", Cache::Dnf),
            ("var/cache/libdnf5", Cache::Dnf),
            ("var/cache/apk", Cache::Apk),
            ("var/cache/zypp", Cache::Zypper),
        ] {
            let Some(rest) = path.strip_prefix(root).and_then(|r| r.strip_prefix('/')) else {
                continue;
            };
            // What its class holds (not a `.npm` below it), and for apk what `rm -rf
            // /var/cache/apk/*` removes: not a dot name right in it.
            let dot = cache == Cache::Apk && rest.starts_with('.');
            if dot || WasteClass::of(path.as_bytes(), None) != Some(cache.class()) {
                return None;
            }
            return Some((cache, root));
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
pub(super) const MAX_LINKS_INTO_CACHES: usize = 4096;

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

#[cfg(test)]
mod os_tests {
    use super::*;

    #[test]
    fn each_cache_is_cleaned_by_the_manager_that_writes_it() {
        let clean = |cache, command, root| os_clean(cache, command, root).map(|(text, _)| text);
        assert_eq!(
            clean(Cache::Dnf, "dnf install -y gcc", "var/cache/dnf").as_deref(),
            Some("dnf clean all && rm -rf /var/cache/dnf")
        );
        assert_eq!(
            clean(Cache::Dnf, "microdnf install -y tar", "var/cache/yum").as_deref(),
            Some("microdnf clean all && rm -rf /var/cache/yum")
        );
        // RHEL 8's yum is dnf: it writes dnf's directory, and no yum-only clean runs there.
        assert_eq!(
            clean(Cache::Dnf, "yum install -y make", "var/cache/dnf").as_deref(),
            Some("rm -rf /var/cache/dnf")
        );
        assert_eq!(clean(Cache::Dnf, "ls /var/cache", "var/cache/dnf"), None);
        assert_eq!(
            clean(Cache::Apk, "apk add curl", "var/cache/apk").as_deref(),
            Some("rm -rf /var/cache/apk/*")
        );
    }

    #[test]
    fn a_later_run_that_needs_the_cache_keeps_it() {
        let apk = "/var/cache/apk";
        assert!(reads_os_cache(Cache::Apk, "apk add jq", apk));
        assert!(!reads_os_cache(Cache::Apk, "apk add --no-cache jq", apk));
        assert!(!reads_os_cache(Cache::Apk, "apk update && apk add jq", apk));
        let dnf = "/var/cache/dnf";
        assert!(reads_os_cache(Cache::Dnf, "dnf -C install -y x", dnf));
        assert!(reads_os_cache(Cache::Dnf, "dnf install --cacheonly x", dnf));
        assert!(!reads_os_cache(Cache::Dnf, "dnf install -y x", dnf));
        assert!(reads_os_cache(
            Cache::Zypper,
            "zypper in -y x",
            "/var/cache/zypp"
        ));
        assert!(!reads_os_cache(
            Cache::Zypper,
            "zypper ref && zypper in -y x",
            "/var/cache/zypp"
        ));
    }
}
