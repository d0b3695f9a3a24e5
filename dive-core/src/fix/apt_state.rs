//! Why each Debian package is installed, as dpkg and apt record it: dpkg's status paragraphs
//! (`Depends`, `Pre-Depends`, `Recommends`, `Provides`, `Essential`, `Priority`) and apt's
//! `extended_states` (`Auto-Installed: 1`). From them, the packages only a `Recommends`
//! pulled in: what `apt-get install --no-install-recommends` would not have installed.
//!
//! Budget: a status file is read at most [`MAX_STATUS_BYTES`] (a real one holds a few MB),
//! in one pass over borrowed slices: each name it mentions is interned once (a map entry and
//! a slice of the file), each dependency or `Provides` entry is a pair of `u32` ids, so the
//! memory is a small multiple of the file whatever names or lists it holds; the closures
//! visit each package and each edge once.

use std::collections::{HashMap, HashSet};

/// Largest status file the recommends rule reads.
pub(super) const MAX_STATUS_BYTES: usize = 8 << 20;

/// The names of the packages apt marked `Auto-Installed: 1` in an `extended_states` file.
pub(super) fn auto_installed(extended_states: &[u8]) -> HashSet<String> {
    #[cfg(test)]
    AUTO_PARSES.with(|c| c.set(c.get() + 1));
    let text = String::from_utf8_lossy(extended_states);
    let mut auto = HashSet::new();
    let mut fields = Paragraph::default();
    for line in text.split('\n').chain([""]) {
        if let Some(done) = fields.read(line)
            && let (Some(name), true) = (done.package, done.auto)
        {
            auto.insert(package_name(name).to_owned());
        }
    }
    auto
}

/// The names of the installed packages of a status file, borrowed from it.
pub(super) fn installed_names(status: &str) -> HashSet<&str> {
    let mut names = HashSet::new();
    let mut fields = Paragraph::default();
    for line in status.split('\n').chain([""]) {
        if let Some(done) = fields.read(line)
            && let Some(name) = done.package.filter(|_| done.installed())
        {
            names.insert(package_name(name));
        }
    }
    names
}

/// The installed packages of one status file and what each asks for, by interned id.
#[derive(Debug, Default)]
pub(super) struct AptState<'a> {
    /// Every name the file mentions (packages, dependencies, virtual names), by id.
    names: Vec<&'a str>,
    ids: HashMap<&'a str, u32>,
    /// Installed packages, by id.
    installed: HashSet<u32>,
    /// `Essential: yes` or `Priority: required`: installed whatever apt is asked.
    required: HashSet<u32>,
    /// (package, name it asks for, whether by `Recommends`), sorted by package.
    edges: Vec<(u32, u32, bool)>,
    /// (virtual name, providing package), sorted by virtual name.
    providers: Vec<(u32, u32)>,
}

impl<'a> AptState<'a> {
    /// The state `status` (dpkg's status file) describes.
    pub(super) fn parse(status: &'a str) -> Self {
        let mut state = Self::default();
        let mut fields = Paragraph::default();
        for line in status.split('\n').chain([""]) {
            let Some(done) = fields.read(line) else {
                continue;
            };
            let Some(name) = done.package.map(package_name).filter(|n| !n.is_empty()) else {
                continue;
            };
            if !done.installed() {
                continue;
            }
            let id = state.id(name);
            state.installed.insert(id);
            if done.required {
                state.required.insert(id);
            }
            for (values, recommends) in [(&done.depends, false), (&done.recommends, true)] {
                for wanted in values.iter().flat_map(|v| dependency_names(v)) {
                    let to = state.id(wanted);
                    state.edges.push((id, to, recommends));
                }
            }
            for provided in done.provides.iter().flat_map(|v| dependency_names(v)) {
                let virtual_name = state.id(provided);
                state.providers.push((virtual_name, id));
            }
        }
        state.edges.sort_unstable();
        state.providers.sort_unstable();
        state
    }

    /// What it holds: (names interned, dependency edges, `Provides` entries).
    #[cfg(test)]
    pub(super) fn sizes(&self) -> (usize, usize, usize) {
        (self.names.len(), self.edges.len(), self.providers.len())
    }

    fn id(&mut self, name: &'a str) -> u32 {
        let next = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        *self.ids.entry(name).or_insert_with(|| {
            self.names.push(name);
            next
        })
    }

    /// The id of installed package `name`.
    pub(super) fn installed_id(&self, name: &str) -> Option<u32> {
        self.ids
            .get(name)
            .copied()
            .filter(|id| self.installed.contains(id))
    }

    /// The names of the installed packages.
    pub(super) fn installed(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.installed.iter().map(|&id| self.names[id as usize])
    }

    /// The packages kept whatever apt's Recommends setting: those installed by request
    /// (not in `auto`), required or essential, the `extra` names, and all they depend on.
    pub(super) fn kept(&self, auto: &HashSet<String>, extra: &[&str]) -> HashSet<u32> {
        let roots: Vec<u32> = self
            .installed
            .iter()
            .copied()
            .filter(|id| {
                let name = self.names[*id as usize];
                self.required.contains(id) || !auto.contains(name) || extra.contains(&name)
            })
            .collect();
        self.closure(roots, false)
    }

    /// Every installed package reachable from `names` through dependencies and
    /// recommendations.
    pub(super) fn reached<'n>(&self, names: impl Iterator<Item = &'n str>) -> HashSet<u32> {
        let roots = names.filter_map(|n| self.installed_id(n)).collect();
        self.closure(roots, true)
    }

    /// The names of `ids`, sorted.
    pub(super) fn names_of(&self, ids: impl Iterator<Item = u32>) -> Vec<&'a str> {
        let mut names: Vec<&'a str> = ids.map(|id| self.names[id as usize]).collect();
        names.sort_unstable();
        names
    }

    /// Every installed package reachable from `roots` through dependencies (and
    /// recommendations when `recommends`). Every alternative and every provider counts: a
    /// kept set too large only ever claims less. Each package's edges and each virtual
    /// name's providers are visited once.
    fn closure(&self, roots: Vec<u32>, recommends: bool) -> HashSet<u32> {
        let mut seen: HashSet<u32> = HashSet::new();
        let mut resolved: HashSet<u32> = HashSet::new();
        let mut todo: Vec<u32> = Vec::new();
        for root in roots {
            if self.installed.contains(&root) && seen.insert(root) {
                todo.push(root);
            }
        }
        while let Some(id) = todo.pop() {
            let from = self.edges.partition_point(|e| e.0 < id);
            for &(_, wanted, by_recommends) in self.edges[from..].iter().take_while(|e| e.0 == id) {
                #[cfg(test)]
                CLOSURE_STEPS.with(|c| c.set(c.get() + 1));
                if (by_recommends && !recommends) || !resolved.insert(wanted) {
                    continue;
                }
                let first = self.providers.partition_point(|p| p.0 < wanted);
                let provided = self.providers[first..]
                    .iter()
                    .take_while(|p| p.0 == wanted)
                    .map(|p| p.1);
                for found in std::iter::once(wanted).chain(provided) {
                    #[cfg(test)]
                    CLOSURE_STEPS.with(|c| c.set(c.get() + 1));
                    if self.installed.contains(&found) && seen.insert(found) {
                        todo.push(found);
                    }
                }
            }
        }
        seen
    }
}

#[cfg(test)]
thread_local! {
    /// Edges and providers the closures visited on this thread: the tests hold it linear in
    /// the status file, whatever its graph.
    pub(super) static CLOSURE_STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// `extended_states` files parsed on this thread.
    pub(super) static AUTO_PARSES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The fields of one deb822 paragraph that the rule reads, borrowed from the file; a field's
/// continuation lines are kept as more slices of it.
#[derive(Debug, Default)]
struct Paragraph<'a> {
    package: Option<&'a str>,
    status: Option<&'a str>,
    required: bool,
    /// apt's `Auto-Installed: 1` (in `extended_states`).
    auto: bool,
    depends: Vec<&'a str>,
    recommends: Vec<&'a str>,
    provides: Vec<&'a str>,
    /// The multi-line field being read, if it is one of the three lists.
    current: Option<u8>,
    /// Whether the paragraph has any field yet.
    started: bool,
}

impl<'a> Paragraph<'a> {
    /// Reads `line`; at the blank line that ends a paragraph, returns the paragraph read.
    fn read(&mut self, line: &'a str) -> Option<Paragraph<'a>> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            let done = std::mem::take(self);
            return done.started.then_some(done);
        }
        self.started = true;
        if line.starts_with([' ', '\t']) {
            match self.current {
                Some(0) => self.depends.push(line),
                Some(1) => self.recommends.push(line),
                Some(2) => self.provides.push(line),
                _ => {}
            }
            return None;
        }
        self.current = None;
        let (key, value) = line.split_once(':')?;
        let key = key.trim();
        let is = |name: &str| key.eq_ignore_ascii_case(name);
        if is("package") {
            self.package.get_or_insert(value.trim());
        } else if is("status") {
            self.status.get_or_insert(value.trim());
        } else if is("essential") {
            self.required |= value.trim().eq_ignore_ascii_case("yes");
        } else if is("priority") {
            self.required |= value.trim().eq_ignore_ascii_case("required");
        } else if is("auto-installed") {
            self.auto = value.trim() == "1";
        } else if is("depends") || is("pre-depends") {
            self.depends.push(value);
            self.current = Some(0);
        } else if is("recommends") {
            self.recommends.push(value);
            self.current = Some(1);
        } else if is("provides") {
            self.provides.push(value);
            self.current = Some(2);
        }
        None
    }

    /// Whether its `Status` says its files are installed (not removed, not only config).
    fn installed(&self) -> bool {
        self.status.is_some_and(|s| {
            let state = s.split_whitespace().last().unwrap_or("");
            !matches!(state, "not-installed" | "config-files" | "")
        })
    }
}

/// A package name as the databases spell it, without an architecture qualifier.
fn package_name(value: &str) -> &str {
    let name = value.trim();
    name.split(':').next().unwrap_or(name)
}

/// The names a dependency field lists (`a (>= 1) | b:any, c [amd64]`), every alternative,
/// versions, architecture qualifiers and restrictions dropped.
fn dependency_names(value: &str) -> impl Iterator<Item = &str> {
    value.split([',', '|']).filter_map(|alternative| {
        let name = alternative
            .trim()
            .split([' ', '\t', '(', '[', '<'])
            .next()
            .unwrap_or("");
        let name = package_name(name);
        (!name.is_empty()).then_some(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "\
Package: base-files
Status: install ok installed
Essential: yes
Version: 12.4

Package: curl
Status: install ok installed
Depends: libc6 (>= 2.34), libcurl4 (= 7.88.1-10)
Recommends: ca-certificates | ssl-certs
Description: a tool
 that fetches: things
Version: 7.88.1-10

Package: libcurl4
Status: install ok installed
Depends: libc6, libssl3
Recommends: publicsuffix

Package: libc6
Status: install ok installed
Priority: required

Package: ca-certificates
Status: install ok installed
Depends: openssl (>= 1.1.1),
 debconf | debconf-2.0

Package: openssl
Status: install ok installed
Depends: libssl3

Package: libssl3
Status: install ok installed

Package: publicsuffix
Status: install ok installed

Package: mawk
Status: install ok installed
Provides: awk

Package: orphan
Status: install ok installed

Package: gone
Status: deinstall ok config-files
";

    const EXTENDED: &str = "\
Package: libcurl4
Architecture: amd64
Auto-Installed: 1

Package: ca-certificates
Architecture: amd64
Auto-Installed: 1

Package: openssl
Architecture: amd64
Auto-Installed: 1

Package: libssl3
Architecture: amd64
Auto-Installed: 1

Package: publicsuffix
Architecture: amd64
Auto-Installed: 1

Package: orphan
Architecture: amd64
Auto-Installed: 1

Package: mawk
Architecture: amd64
Auto-Installed: 0
";

    /// What only Recommends explain of what `requested` reached.
    fn recommends_only<'a>(
        state: &AptState<'a>,
        auto: &HashSet<String>,
        extra: &[&str],
        requested: &[&str],
    ) -> Vec<&'a str> {
        let kept = state.kept(auto, extra);
        let reached = state.reached(requested.iter().copied());
        state.names_of(
            reached
                .into_iter()
                .filter(|id| !kept.contains(id) && auto.contains(state.names[*id as usize])),
        )
    }

    #[test]
    fn recommends_only_are_auto_packages_outside_what_requests_depend_on() {
        let state = AptState::parse(STATUS);
        let auto = auto_installed(EXTENDED.as_bytes());
        assert!(!auto.contains("mawk"));
        assert!(!state.installed().any(|n| n == "gone"));
        let kept = state.kept(&auto, &[]);
        let kept = state.names_of(kept.into_iter());
        assert_eq!(
            kept,
            ["base-files", "curl", "libc6", "libcurl4", "libssl3", "mawk"]
        );
        // The orphan is auto-installed but nothing requested reaches it: not claimed.
        assert_eq!(
            recommends_only(&state, &auto, &[], &["curl"]),
            ["ca-certificates", "openssl", "publicsuffix"]
        );
        // Asked for by name, ca-certificates keeps openssl.
        assert_eq!(
            recommends_only(&state, &auto, &["ca-certificates"], &["curl"]),
            ["publicsuffix"]
        );
        // Only what the request reaches.
        assert!(recommends_only(&state, &auto, &[], &["mawk"]).is_empty());
    }

    #[test]
    fn without_extended_states_everything_was_asked_for() {
        let state = AptState::parse(STATUS);
        assert!(recommends_only(&state, &HashSet::new(), &[], &["curl"]).is_empty());
        assert_eq!(installed_names(STATUS).len(), 10);
    }

    #[test]
    fn dependency_fields_drop_versions_qualifiers_and_restrictions() {
        let names: Vec<&str> =
            dependency_names("a (>= 1) | b:any, c [amd64] <!nocheck>,, python3:native").collect();
        assert_eq!(names, ["a", "b", "c", "python3"]);
    }
}
