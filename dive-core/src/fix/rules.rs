//! Which edits `fix` is sure of, layer by layer, and what is left to list: the state the
//! rules share, the order they run in, and the edits every rule writes (append to a `RUN`,
//! remove an instruction). The rules themselves are `fold`, `caches` and `recommends`.
//!
//! Three kinds of edit, each only where the ledger proves its bytes and the Dockerfile's text
//! proves the change keeps the image's behaviour:
//! - **fold**: a `RUN` that only deletes, `chmod`s or `chown`s literal absolute paths, right
//!   after the step that wrote them (nothing but metadata between), goes into that step: its
//!   commands at the end of that `RUN`, or `COPY --chmod/--chown` when that step copied the
//!   one file it changes. Saves the bytes the folded layer hid of that step's.
//! - **cache**: a cache a `RUN` left in its own layer is not written (`pip install
//!   --no-cache-dir`, or a cache mount where the file has a `# syntax=` directive) or removed
//!   at its end (`apt-get clean`, `rm -rf /var/lib/apt/lists/*`,
//!   `yarn cache clean`, `rm -rf` of the cache directory). Saves the cache contents of that
//!   layer that no path outside the cache shows (a hard link elsewhere keeps its bytes).
//! - **recommends**: `--no-install-recommends` for an `apt-get install` whose layer's dpkg
//!   and apt records show packages only a `Recommends` pulled in. Saves those packages'
//!   bytes.

use std::collections::{BTreeMap, HashMap};

use super::model::{ClassSplit, Fix, FixOptions, Listed};
use super::patch::{Edit, Taken};
use crate::analysis::Analysis;
use crate::attribution::{WasteClass, hidden_class};
use crate::dockerfile::{
    Dockerfile, DockerfileError, Form, Instruction, Keyword, LayerOrigin, chain,
};

/// What the rules found.
pub(super) struct Found {
    pub(super) fixes: Vec<Fix>,
    pub(super) edits: Vec<(usize, Edit)>,
    pub(super) listed: Vec<Listed>,
    pub(super) classes: Vec<ClassSplit>,
    pub(super) notes: Vec<String>,
}

/// The plan's state while the rules run.
pub(super) struct Rules<'a> {
    pub(super) analysis: &'a Analysis,
    pub(super) dockerfile: &'a Dockerfile,
    pub(super) origins: &'a [LayerOrigin],
    /// The target's steps in order (instruction indices).
    pub(super) steps: Vec<usize>,
    /// The same steps, as a set.
    pub(super) in_chain: std::collections::HashSet<usize>,
    /// Each stage's parent: the earlier stage its `FROM` names (BuildKit takes the first
    /// stage of a name, compared without case), if any.
    pub(super) parents: Vec<Option<usize>>,
    /// The steps whose `RUN` runs in a POSIX shell.
    pub(super) posix: std::collections::HashSet<usize>,
    pub(super) fixes: Vec<Fix>,
    pub(super) edits: Vec<(usize, Edit)>,
    /// The edits' spans, to refuse an overlapping one in O(log n).
    pub(super) taken: Taken,
    /// Instructions a fold removes: no other edit goes into them.
    pub(super) folded: std::collections::HashSet<usize>,
    /// Bytes patched by (class, layer, hidden-by layer).
    pub(super) patched: BTreeMap<(WasteClass, usize, Option<usize>), u64>,
    /// Why a (class, layer) was not patched, when a rule looked and refused.
    pub(super) refused: BTreeMap<(WasteClass, usize), String>,
    /// Hidden bytes by (adding layer, hiding layer) and class: one pass over the hidden
    /// items, so that each layer's fold looks up its own.
    pub(super) hidden: HashMap<(usize, usize), BTreeMap<WasteClass, u64>>,
    /// Cache directories given an edit so far (at most [`super::caches::MAX_CACHE_DIRS`]).
    pub(super) cache_dirs: usize,
    /// Where symlinks that may reach a cache lead (`None`: too many to tell).
    pub(super) links: Option<Vec<String>>,
    /// The image runs without a GPU (`--cpu-only`).
    pub(super) cpu_only: bool,
    /// What a rule outside the waste classes did not patch, and why.
    pub(super) notes: Vec<String>,
}

/// Runs every rule on the layers of `analysis` mapped to `origins`.
pub(super) fn find(
    analysis: &Analysis,
    dockerfile: &Dockerfile,
    origins: &[LayerOrigin],
    options: &FixOptions,
) -> Result<Found, DockerfileError> {
    let chain = chain(dockerfile, options.stage.as_deref())?;
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
        // Found by `cache_edits`, before any cache rule asks.
        links: None,
        cpu_only: options.cpu_only,
        notes: Vec::new(),
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
    rules.cache_edits();
    rules.recommends();
    rules.cpu_index();
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
        notes: rules.notes,
    })
}

impl<'a> Rules<'a> {
    /// The instruction that wrote `layer`, when this Dockerfile did.
    pub(super) fn instruction(&self, layer: usize) -> Option<(usize, &'a Instruction)> {
        let dockerfile: &'a Dockerfile = self.dockerfile;
        match self.origins.get(layer)? {
            LayerOrigin::Instruction { instruction, .. } => {
                Some((*instruction, &dockerfile.instructions[*instruction]))
            }
            LayerOrigin::BaseImage => None,
        }
    }

    pub(super) fn line(&self, instruction: &Instruction) -> usize {
        self.dockerfile.line(instruction.span.start)
    }

    /// A `RUN` in shell form without heredocs: its command, continuation lines joined.
    pub(super) fn shell_run(&self, index: usize) -> Option<String> {
        let instruction = &self.dockerfile.instructions[index];
        (instruction.keyword == Keyword::Run
            && instruction.form == Form::Shell
            && instruction.heredocs.is_empty()
            && self.posix.contains(&index))
        .then(|| self.dockerfile.logical_arguments(instruction))
    }

    /// Takes a fix if none of its edits overlaps one already taken.
    pub(super) fn take(&mut self, fix: Fix, edits: Vec<Edit>, hidden_by: Option<usize>) -> bool {
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

    /// An edit that appends ` && command` to a shell-form `RUN`, in its continuation style:
    /// on its line when it has one, else on a new line indented as its last one.
    /// `None` when its last line ends with the escape character (at the end of the file, or
    /// before a blank or comment line) or is a comment inside the continuation: text after
    /// it would join the command oddly or not at all.
    pub(super) fn append(&self, run: &Instruction, command: &str) -> Option<Edit> {
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
        Some(Edit {
            span: at..at,
            text,
            after: true,
        })
    }

    /// Edits that insert `text` (a flag) at each of `offsets` of `run`'s arguments: after the
    /// `install` words `shell` found.
    pub(super) fn flags_at(&self, run: &Instruction, offsets: &[usize], text: &str) -> Vec<Edit> {
        offsets
            .iter()
            .map(|&at| {
                let at = run.arguments.start + at;
                Edit {
                    span: at..at,
                    text: text.to_owned(),
                    after: false,
                }
            })
            .collect()
    }

    /// An edit that removes an instruction's lines, their line end included.
    pub(super) fn removal(&self, instruction: &Instruction) -> Edit {
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
            after: false,
        }
    }

    /// What the edits leave: each class split into base, patched and listed, and the listed
    /// bytes by layer (and hiding layer) with their line and why.
    pub(super) fn leftovers(&self) -> (Vec<Listed>, Vec<ClassSplit>) {
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
    pub(super) fn suggestion(&self, class: WasteClass) -> String {
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
pub(super) fn shape(instruction: &Instruction, line: usize, posix: bool) -> String {
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

/// Whether a `--mount` of `instruction` covers `path`, or lies below it: a command on the
/// path would act on the mount (a cache mount emptied, a bind mount refused), not on the
/// layer. A secret or ssh mount without a target has its default one; any other mount
/// without one counts as covering everything.
pub(super) fn mounts_over(instruction: &Instruction, path: &str) -> bool {
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
pub(super) fn overlap(a: &str, b: &str) -> bool {
    let below = |x: &str, y: &str| {
        let y = y.trim_end_matches('/');
        x == y || x.starts_with(&format!("{y}/")) || y.is_empty()
    };
    below(a, b) || below(b, a)
}
