//! Why each Debian package is installed, as dpkg and apt record it: dpkg's status paragraphs
//! (`Depends`, `Pre-Depends`, `Recommends`, `Provides`, `Essential`, `Priority`) and apt's
//! `extended_states` (`Auto-Installed: 1`). From them, the packages only a `Recommends`
//! pulled in: what `apt-get install --no-install-recommends` would not have installed.
//!
//! Budget: each file is parsed once, in one pass (a map entry per package and a `String`
//! per name it names); the closures visit each package and each name once.

use std::collections::{HashMap, HashSet};

/// Names a dependency field lists: each group is one requirement, its names alternatives.
type Groups = Vec<Vec<String>>;

/// One installed package as the status file describes it.
#[derive(Debug, Default)]
struct Node {
    /// `Essential: yes` or `Priority: required`: installed whatever apt is asked.
    required: bool,
    /// `Depends` and `Pre-Depends`.
    depends: Groups,
    /// `Recommends`.
    recommends: Groups,
}

/// The installed packages of one status file, with apt's auto-installed marks.
#[derive(Debug, Default)]
pub(super) struct AptState {
    packages: HashMap<String, Node>,
    /// Virtual name → the installed packages that provide it.
    providers: HashMap<String, Vec<String>>,
    auto: HashSet<String>,
}

impl AptState {
    /// The state that `status` (dpkg's status file) and `extended_states` (apt's, when the
    /// image has one) describe.
    pub(super) fn parse(status: &[u8], extended_states: Option<&[u8]>) -> Self {
        let mut state = Self::default();
        for fields in paragraphs(status) {
            let Some(name) = fields.get("package").map(|v| package_name(v)) else {
                continue;
            };
            let installed = fields.get("status").is_some_and(|s| {
                let state = s.split_whitespace().last().unwrap_or("");
                !matches!(state, "not-installed" | "config-files" | "")
            });
            if name.is_empty() || !installed {
                continue;
            }
            let node = state.packages.entry(name.clone()).or_default();
            node.required |= fields
                .get("essential")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("yes"))
                || fields
                    .get("priority")
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("required"));
            for key in ["depends", "pre-depends"] {
                node.depends
                    .extend(fields.get(key).map(|v| groups(v)).unwrap_or_default());
            }
            node.recommends.extend(
                fields
                    .get("recommends")
                    .map(|v| groups(v))
                    .unwrap_or_default(),
            );
            for provided in fields
                .get("provides")
                .map(|v| groups(v))
                .unwrap_or_default()
            {
                for virtual_name in provided {
                    state
                        .providers
                        .entry(virtual_name)
                        .or_default()
                        .push(name.clone());
                }
            }
        }
        for fields in extended_states.map(paragraphs).unwrap_or_default() {
            let auto = fields
                .get("auto-installed")
                .is_some_and(|v| v.trim() == "1");
            if let (true, Some(name)) = (auto, fields.get("package")) {
                state.auto.insert(package_name(name));
            }
        }
        state
    }

    /// The names of the installed packages.
    pub(super) fn installed(&self) -> HashSet<String> {
        self.packages.keys().cloned().collect()
    }

    /// The packages kept whatever apt's Recommends setting: those installed by request (not
    /// auto-installed), required or essential, the `extra` names, and all they depend on.
    pub(super) fn kept(&self, extra: &[&str]) -> HashSet<&str> {
        let roots = self
            .packages
            .iter()
            .filter(|(name, node)| {
                node.required || !self.auto.contains(*name) || extra.contains(&name.as_str())
            })
            .map(|(name, _)| name.as_str());
        self.closure(roots, false)
    }

    /// The auto-installed packages of `among` that only a `Recommends` explains: outside
    /// `kept`, reached from it through `Recommends` (and what those depend on or recommend).
    /// An auto-installed package nothing explains (left behind by a removal) is not one.
    pub(super) fn recommends_only(
        &self,
        kept: &HashSet<&str>,
        among: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let reached = self.closure(kept.iter().copied(), true);
        let mut only: Vec<String> = reached
            .into_iter()
            .filter(|name| !kept.contains(name) && self.auto.contains(*name) && among(name))
            .map(str::to_owned)
            .collect();
        only.sort();
        only
    }

    /// Every installed package reachable from `roots` through dependencies (and
    /// recommendations when `recommends`). Every alternative and every provider counts: a
    /// kept set too large only ever claims less.
    fn closure<'a>(
        &'a self,
        roots: impl Iterator<Item = &'a str>,
        recommends: bool,
    ) -> HashSet<&'a str> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut todo: Vec<&str> = Vec::new();
        for root in roots {
            if let Some((name, _)) = self.packages.get_key_value(root)
                && seen.insert(name.as_str())
            {
                todo.push(name.as_str());
            }
        }
        // Each name is resolved once: a virtual name that every package provides and
        // depends on costs its providers once, not once per package.
        let mut resolved: HashSet<&str> = HashSet::new();
        while let Some(name) = todo.pop() {
            let Some(node) = self.packages.get(name) else {
                continue;
            };
            let extra = if recommends {
                &node.recommends[..]
            } else {
                &[]
            };
            for wanted in node.depends.iter().chain(extra).flatten() {
                #[cfg(test)]
                CLOSURE_STEPS.with(|c| c.set(c.get() + 1));
                if !resolved.insert(wanted.as_str()) {
                    continue;
                }
                let direct = self.packages.get_key_value(wanted.as_str()).map(|(k, _)| k);
                let provided = self.providers.get(wanted).into_iter().flatten();
                for found in direct.into_iter().chain(provided) {
                    #[cfg(test)]
                    CLOSURE_STEPS.with(|c| c.set(c.get() + 1));
                    if seen.insert(found.as_str()) {
                        todo.push(found.as_str());
                    }
                }
            }
        }
        seen
    }
}

#[cfg(test)]
thread_local! {
    /// Names and providers the closures visited on this thread: the tests hold it linear in
    /// the status file, whatever its graph.
    pub(super) static CLOSURE_STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A package name as the databases spell it, without an architecture qualifier.
fn package_name(value: &str) -> String {
    let name = value.trim();
    name.split(':').next().unwrap_or(name).to_ascii_lowercase()
}

/// A dependency field's groups (`a (>= 1) | b:any, c [amd64]`): each group's names, versions,
/// architecture qualifiers and restrictions dropped.
fn groups(value: &str) -> Groups {
    value
        .split(',')
        .map(|group| {
            group
                .split('|')
                .filter_map(|alternative| {
                    let name = alternative
                        .trim()
                        .split([' ', '\t', '(', '[', '<'])
                        .next()
                        .unwrap_or("");
                    let name = package_name(name);
                    (!name.is_empty()).then_some(name)
                })
                .collect::<Vec<_>>()
        })
        .filter(|alternatives| !alternatives.is_empty())
        .collect()
}

/// The `Key: value` paragraphs of a deb822 file (blank lines between), each as its fields
/// (keys lowercased; continuation lines joined to their field; the first of a key counts).
fn paragraphs(text: &[u8]) -> Vec<HashMap<String, String>> {
    let text = String::from_utf8_lossy(text);
    let mut out = Vec::new();
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut last: Option<String> = None;
    for line in text.split('\n').chain([""]) {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            if !fields.is_empty() {
                out.push(std::mem::take(&mut fields));
            }
            last = None;
            continue;
        }
        if line.starts_with([' ', '\t']) {
            // Only the dependency fields are read: a long Description is not copied.
            if let Some(value) = last.as_ref().and_then(|key| fields.get_mut(key)) {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            last = None;
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let wanted = matches!(
            key.as_str(),
            "package"
                | "status"
                | "essential"
                | "priority"
                | "depends"
                | "pre-depends"
                | "recommends"
                | "provides"
                | "auto-installed"
        );
        if wanted && !fields.contains_key(&key) {
            fields.insert(key.clone(), value.trim().to_owned());
            last = Some(key);
        } else {
            last = None;
        }
    }
    out
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
";

    #[test]
    fn recommends_only_are_auto_packages_outside_what_requests_depend_on() {
        let state = AptState::parse(STATUS.as_bytes(), Some(EXTENDED.as_bytes()));
        assert!(!state.installed().contains("gone"));
        let kept = state.kept(&[]);
        for name in ["base-files", "curl", "libcurl4", "libc6", "libssl3", "mawk"] {
            assert!(kept.contains(name), "{name}");
        }
        let only = state.recommends_only(&kept, |_| true);
        // The orphan is auto-installed but nothing recommends it: not claimed.
        assert_eq!(only, ["ca-certificates", "openssl", "publicsuffix"]);
        // Asked for by name, ca-certificates keeps openssl.
        let kept = state.kept(&["ca-certificates"]);
        assert_eq!(state.recommends_only(&kept, |_| true), ["publicsuffix"]);
        assert_eq!(
            state.recommends_only(&state.kept(&[]), |n| n != "openssl"),
            ["ca-certificates", "publicsuffix"]
        );
    }

    #[test]
    fn without_extended_states_everything_was_asked_for() {
        let state = AptState::parse(STATUS.as_bytes(), None);
        let kept = state.kept(&[]);
        assert!(state.recommends_only(&kept, |_| true).is_empty());
    }

    #[test]
    fn dependency_fields_drop_versions_qualifiers_and_restrictions() {
        assert_eq!(
            groups("a (>= 1) | b:any, c [amd64] <!nocheck>,, python3:native"),
            vec![
                vec!["a".to_owned(), "b".to_owned()],
                vec!["c".to_owned()],
                vec!["python3".to_owned()]
            ]
        );
    }
}
