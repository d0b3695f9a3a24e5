//! Image history → Dockerfile instructions: which instruction wrote each layer.
//!
//! The config's history has one entry per instruction that a build ran (`created_by`, with
//! `empty_layer` for those that wrote no layer). Builders spell it differently, each form
//! read from the builder's own source:
//!
//! - **BuildKit** (`frontend/dockerfile/dockerfile2llb`): `commitToHistory` appends
//!   ` # buildkit` to the steps that ran on the build state (`RUN`, `COPY`, `ADD`);
//!   `dispatchRun` writes `RUN ` + `runCommandString`: the build arguments in use as
//!   `|N K=V …` then the shell (`withShell`: the image's `SHELL` or `/bin/sh -c`) and the
//!   command without its flags (`--mount` is not written); a lone heredoc `RUN <<EOF` is
//!   written as its body (or `/dev/pipes/EOF` when the body starts with `#!`), any other
//!   heredoc as the first line, then `\n` + body + delimiter for each. `dispatchCopy`
//!   (`convert_copy.go`) writes `COPY`/`ADD`, `--parents`, `--chown=`, `--chmod=`, the
//!   sources (a heredoc as `<<NAME`) and the destination. `dispatchWorkdir` writes
//!   `WORKDIR` + the absolute directory (a layer, no ` # buildkit`); `dispatchEnv` and the
//!   other metadata steps write their keyword and values as empty layers.
//! - **The legacy builder** (moby `daemon/builder/dockerfile`): `RUN` as the shell and
//!   command (`|N K=V …` first when build arguments are in use: `prependEnvOnCmd`); the other
//!   steps as `<shell> #(nop) ` + a comment (`withCmdComment`, `withCmdCommentString`), the
//!   copies as `COPY [--chown=X ]file:<hash> in <dst> ` (`performCopy`).
//! - **buildah / podman** (`imagebuildah/stage_executor.go`, `getCreatedBy`): `RUN` as
//!   `[|N K=V … ]/bin/sh -c ` + the instruction's text after `RUN ` (flags included) and each
//!   heredoc's trimmed body after a `\n`; `COPY`/`ADD` as `/bin/sh -c #(nop) COPY
//!   [--link ]file:<hash> in <dst> `; the rest as `/bin/sh -c #(nop) ` + the instruction.
//!
//! - **kaniko** (`pkg/commands`): the instruction as written (`RUN ` + the command, no
//!   shell; `COPY` and `ADD` as BuildKit writes them).
//!
//! The history ends with the Dockerfile's steps, so it is matched from its end backwards
//! against the target stage's instructions (after those of the stages its `FROM` chain goes
//! through); what precedes the first matched step is the base image's. Layers are paired
//! first with the steps that may write one (a mismatch looks at most [`WINDOW`] places away
//! for where the two agree again), then the metadata steps between them with the entries
//! without a layer, which a caller may have left out: linear in the history and the file.

use std::collections::HashMap;

use super::error::{DockerfileError, UnmatchedInstruction, UnmatchedLayer};
use super::model::{Form, Instruction, Keyword, Span};
use super::parse::{Dockerfile, Stage, join_continuations};

/// One entry of the image config's history, as the plan reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HistoryEntry<'a> {
    /// What the builder wrote (`created_by`), if anything.
    pub(crate) created_by: Option<&'a str>,
    /// The step wrote no layer.
    pub(crate) empty_layer: bool,
}

/// Where a history entry (and its layer, if it has one) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LayerOrigin {
    /// The base image's own history: another Dockerfile wrote it.
    BaseImage,
    /// An instruction of this Dockerfile.
    Instruction {
        /// Its index in [`Dockerfile::instructions`].
        instruction: usize,
        /// Its stage's index.
        stage: usize,
        /// Its first line, 1-based.
        line: usize,
        /// Its span.
        span: Span,
    },
}

/// The origin of every history entry and of every layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mapping {
    /// One per history entry, in history order.
    pub(crate) history: Vec<LayerOrigin>,
    /// One per layer (the entries without `empty_layer`), bottom layer first.
    pub(crate) layers: Vec<LayerOrigin>,
}

#[cfg(test)]
thread_local! {
    /// History entries compared with steps on this thread: the tests hold the matching to
    /// a constant number per entry and step, whatever the file holds.
    pub(super) static COMPARISONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How far the matching looks for the place where a stale file and the history agree again:
/// a constant, so that the matching stays linear whatever the file holds.
const WINDOW: usize = 64;

/// Matches `history` against the instructions of the stage `target` (the last stage when
/// `None`) and the stages its `FROM` chain goes through. Refuses a Dockerfile whose steps
/// do not all find their history entry, naming the layers and lines that found none.
pub(crate) fn map_history(
    dockerfile: &Dockerfile,
    target: Option<&str>,
    history: &[HistoryEntry<'_>],
) -> Result<Mapping, DockerfileError> {
    let steps = chain(dockerfile, target)?;
    let matchers: Vec<Step<'_>> = steps
        .iter()
        .map(|&(index, ref shell)| Step::new(dockerfile, index, shell))
        .collect();
    let matches = |entry: usize, step: usize| {
        #[cfg(test)]
        COMPARISONS.with(|c| c.set(c.get() + 1));
        history
            .get(entry)
            .and_then(|e| e.created_by)
            .is_some_and(|line| matchers[step].matches(line))
    };

    let keyword = |step: usize| matchers[step].instruction.keyword;
    let mut paired: Vec<(usize, usize)> = Vec::new();
    let mut unmatched_entries = Vec::new();
    let mut unmatched_steps = Vec::new();

    // First the layers, against the steps that may write one: the bytes hang on these.
    let layer_entries: Vec<usize> = (0..history.len())
        .filter(|&e| !history[e].empty_layer)
        .collect();
    let layer_steps: Vec<usize> = (0..matchers.len())
        .filter(|&t| may_write_layer(keyword(t)))
        .collect();
    let (mut e, mut t) = (layer_entries.len(), layer_steps.len());
    'layers: while e > 0 && t > 0 {
        let (entry, step) = (layer_entries[e - 1], layer_steps[t - 1]);
        if matches(entry, step) {
            paired.push((entry, step));
            e -= 1;
            t -= 1;
            continue;
        }
        // The nearest place where the two agree again, at most `WINDOW` away: steps added
        // to the file since the build, or layers whose steps were removed from it.
        for d in 1..=WINDOW {
            if d < t && matches(entry, layer_steps[t - 1 - d]) {
                unmatched_steps.extend(&layer_steps[t - d..t]);
                t -= d;
                continue 'layers;
            }
            if d < e && matches(layer_entries[e - 1 - d], step) {
                unmatched_entries.extend(&layer_entries[e - d..e]);
                e -= d;
                continue 'layers;
            }
        }
        if keyword(step) == Keyword::Workdir {
            // buildah writes no layer for a `WORKDIR`.
            t -= 1;
        } else {
            // A step changed since the build.
            unmatched_entries.push(entry);
            unmatched_steps.push(step);
            e -= 1;
            t -= 1;
        }
    }
    unmatched_steps.extend(&layer_steps[..t]);

    // Then the metadata steps, between the layers they sit between. The history may lack
    // them (a caller that kept only the layers' entries); none is held to a partner.
    paired.reverse();
    let mut bounds: Vec<(usize, usize)> = Vec::with_capacity(paired.len() + 2);
    bounds.push((0, 0));
    bounds.extend(paired.iter().map(|&(entry, step)| (entry + 1, step + 1)));
    let mut gaps: Vec<(Span, Span)> = bounds
        .iter()
        .zip(&paired)
        .map(|(&(e0, s0), &(e1, s1))| (e0..e1, s0..s1))
        .collect();
    if let Some(&(e0, s0)) = bounds.last() {
        gaps.push((e0..history.len(), s0..matchers.len()));
    }
    for (entries, steps) in gaps {
        let (mut h, mut s) = (entries.end, steps.end);
        while h > entries.start && s > steps.start {
            if !history[h - 1].empty_layer {
                h -= 1;
            } else if writes_layer(keyword(s - 1)) {
                s -= 1;
            } else if matches(h - 1, s - 1) {
                paired.push((h - 1, s - 1));
                h -= 1;
                s -= 1;
            } else if s - 1 > steps.start && matches(h - 1, s - 2) {
                s -= 1;
            } else {
                h -= 1;
            }
        }
    }

    let mut origins = vec![LayerOrigin::BaseImage; history.len()];
    for (entry, step) in paired {
        let index = matchers[step].index;
        let instruction = &dockerfile.instructions[index];
        origins[entry] = LayerOrigin::Instruction {
            instruction: index,
            stage: instruction.stage.unwrap_or(0),
            line: dockerfile.line(instruction.span.start),
            span: instruction.span.clone(),
        };
    }

    let layer_index = layer_indices(history);
    let mut layers: Vec<UnmatchedLayer> = unmatched_entries
        .into_iter()
        .filter_map(|entry| {
            let layer = layer_index[entry]?;
            Some(UnmatchedLayer {
                layer,
                created_by: shown(history[entry].created_by.unwrap_or("(none)")),
            })
        })
        .collect();
    layers.sort_by_key(|l| l.layer);
    let mut instructions: Vec<UnmatchedInstruction> = unmatched_steps
        .into_iter()
        .map(|step| &dockerfile.instructions[matchers[step].index])
        .filter(|i| writes_layer(i.keyword))
        .map(|i| UnmatchedInstruction {
            line: dockerfile.line(i.span.start),
            keyword: i.keyword.as_str(),
        })
        .collect();
    instructions.sort_by_key(|i| i.line);
    if !layers.is_empty() || !instructions.is_empty() {
        return Err(DockerfileError::Mismatch {
            file: dockerfile.file.clone(),
            layers,
            instructions,
        });
    }
    let layers = origins
        .iter()
        .zip(history)
        .filter(|(_, e)| !e.empty_layer)
        .map(|(o, _)| o.clone())
        .collect();
    Ok(Mapping {
        history: origins,
        layers,
    })
}

/// The origin of each layer from the first line of the step that wrote it, as BuildKit's
/// provenance gives it (`None`: a layer of the base image). `None` when a line is not the
/// first line of a step of the target's chain, or the lines do not ascend: the provenance
/// describes another file, and the history is matched instead.
pub(crate) fn map_lines(
    dockerfile: &Dockerfile,
    target: Option<&str>,
    lines: &[Option<usize>],
) -> Option<Mapping> {
    let steps: HashMap<usize, usize> = chain(dockerfile, target)
        .ok()?
        .into_iter()
        .map(|(index, _)| {
            let start = dockerfile.instructions[index].span.start;
            (dockerfile.line(start), index)
        })
        .collect();
    let mut last = 0;
    let mut layers = Vec::with_capacity(lines.len());
    for line in lines {
        let origin = match line {
            None => LayerOrigin::BaseImage,
            Some(line) => {
                let index = *steps.get(line)?;
                if index < last {
                    return None;
                }
                last = index;
                let instruction = &dockerfile.instructions[index];
                LayerOrigin::Instruction {
                    instruction: index,
                    stage: instruction.stage.unwrap_or(0),
                    line: *line,
                    span: instruction.span.clone(),
                }
            }
        };
        layers.push(origin);
    }
    Some(Mapping {
        history: layers.clone(),
        layers,
    })
}

/// The steps that write the target stage's history, oldest first: each instruction's index
/// and the shell its `RUN`s use (the last `SHELL` before it, or `/bin/sh -c`).
pub(crate) fn chain(
    dockerfile: &Dockerfile,
    target: Option<&str>,
) -> Result<Vec<(usize, Vec<String>)>, DockerfileError> {
    let mut stage = match target {
        Some(name) => {
            dockerfile
                .stage_named(name)
                .ok_or_else(|| DockerfileError::UnknownStage {
                    file: dockerfile.file.clone(),
                    name: crate::escape::escape(name).into_owned(),
                })?
        }
        None => match dockerfile.stages.last() {
            Some(stage) => stage,
            None => return Ok(Vec::new()),
        },
    };
    // Stage names as BuildKit compares them (case-insensitive), the first of a name winning;
    // a map, so that a chain through thousands of stages stays linear.
    let mut by_name: HashMap<String, &Stage> = HashMap::new();
    for s in &dockerfile.stages {
        if let Some(name) = &s.name {
            by_name.entry(name.to_ascii_lowercase()).or_insert(s);
        }
    }
    let mut stages = vec![stage];
    // A base naming an earlier stage continues that stage's image and history; only earlier
    // ones: BuildKit refuses a forward or circular reference, and this keeps the walk finite.
    while let Some(&parent) = by_name
        .get(&stage.base.to_ascii_lowercase())
        .filter(|p| p.index < stage.index)
    {
        stages.push(parent);
        stage = parent;
    }
    let mut shell = vec!["/bin/sh".to_owned(), "-c".to_owned()];
    let mut steps = Vec::new();
    for stage in stages.into_iter().rev() {
        for index in stage.body.clone() {
            let instruction = &dockerfile.instructions[index];
            if instruction.keyword == Keyword::Shell {
                shell.clone_from(&instruction.words);
            }
            steps.push((index, shell.clone()));
        }
    }
    Ok(steps)
}

/// Whether an instruction writes a layer for every builder: a missing entry for it means
/// the image was not built from this file; only these are held to a partner.
fn writes_layer(keyword: Keyword) -> bool {
    matches!(keyword, Keyword::Run | Keyword::Copy | Keyword::Add)
}

/// Whether an instruction may write a layer with some builder (BuildKit's `WORKDIR` writes
/// an empty directory as one, buildah's writes none).
fn may_write_layer(keyword: Keyword) -> bool {
    writes_layer(keyword) || keyword == Keyword::Workdir
}

/// Each entry's layer index, for the entries that have a layer.
fn layer_indices(history: &[HistoryEntry<'_>]) -> Vec<Option<usize>> {
    let mut next = 0;
    history
        .iter()
        .map(|e| {
            (!e.empty_layer).then(|| {
                next += 1;
                next - 1
            })
        })
        .collect()
}

/// A history line for an error message: escaped (it comes from the image), and cut short.
fn shown(created_by: &str) -> String {
    const MAX_CHARS: usize = 100;
    let mut cut: String = created_by.chars().take(MAX_CHARS).collect();
    if cut.len() < created_by.len() {
        cut.push('…');
    }
    crate::escape::escape_owned(cut)
}

/// One instruction and the texts each builder would have written for it.
struct Step<'d> {
    index: usize,
    instruction: &'d Instruction,
    /// The shell a `RUN` ran with, joined by spaces and followed by one.
    shell: String,
    /// Commands a `RUN`'s history line may end with, and whether a shell comes before it.
    commands: Vec<(String, bool)>,
    /// A `COPY`'s or `ADD`'s words as BuildKit records them, and that line redacted as the
    /// history is (built once: the matching compares each step many times).
    copied: (Vec<String>, String),
}

impl<'d> Step<'d> {
    fn new(dockerfile: &'d Dockerfile, index: usize, shell: &[String]) -> Step<'d> {
        let instruction = &dockerfile.instructions[index];
        let mut commands = Vec::new();
        if instruction.keyword == Keyword::Run {
            if instruction.form == Form::Json {
                // BuildKit and the legacy builder: the words, no shell.
                commands.push((instruction.words.join(" "), false));
            } else {
                // BuildKit and the legacy builder: the command without flags.
                let logical = dockerfile.logical_arguments(instruction);
                commands.push((buildkit_command(instruction, &logical), true));
            }
            commands.push((buildah_command(dockerfile, instruction), true));
        }
        // The history the image gives is redacted as it is read (`secrets`): so are the
        // commands it is compared with, the same way.
        let commands = commands
            .into_iter()
            .map(|(command, shell)| (crate::secrets::redact_history(&command, 0, None).0, shell))
            .collect();
        let copied = if matches!(instruction.keyword, Keyword::Copy | Keyword::Add) {
            let words = copied_words(instruction);
            // The history is redacted as it is read: a URL's password in an `ADD` too.
            let line = crate::secrets::redact_history(&words.join(" "), 0, None).0;
            (words, line)
        } else {
            (Vec::new(), String::new())
        };
        Step {
            index,
            instruction,
            shell: shell.join(" ") + " ",
            commands,
            copied,
        }
    }

    fn matches(&self, created_by: &str) -> bool {
        let line = created_by.strip_suffix(" # buildkit").unwrap_or(created_by);
        let keyword = self.instruction.keyword;
        if let Some(rest) = nop_comment(line) {
            // The legacy builder and buildah: `<shell> #(nop) KEYWORD …`.
            let (word, args) = rest.split_once(' ').unwrap_or((rest, ""));
            return Keyword::from_history(word) == Some(keyword)
                && self.arguments_match(args, true);
        }
        let (word, args) = line.split_once(' ').unwrap_or((line, ""));
        if let Some(recorded) = Keyword::from_history(word) {
            // BuildKit: `KEYWORD …`.
            return recorded == keyword
                && if keyword == Keyword::Run {
                    // kaniko: `RUN ` + the command as written, without a shell.
                    self.run_matches(args)
                        || self
                            .commands
                            .first()
                            .is_some_and(|(command, shell)| *shell && command == args)
                } else {
                    self.arguments_match(args, false)
                };
        }
        // The legacy builder and buildah: a `RUN` as its shell and command.
        keyword == Keyword::Run && self.run_matches(line)
    }

    /// A `RUN` line after its keyword (if any): `[|N K=V … ]<shell> <command>` or, in exec
    /// form, `[|N K=V … ]<words>`.
    fn run_matches(&self, line: &str) -> bool {
        self.commands.iter().any(|(command, with_shell)| {
            let Some(prefix) = line.strip_suffix(command.as_str()) else {
                return false;
            };
            let shells: &[&str] = if *with_shell {
                // buildah writes `/bin/sh -c` whatever the SHELL.
                &[self.shell.as_str(), "/bin/sh -c "]
            } else {
                &[""]
            };
            shells.iter().any(|shell| {
                prefix == *shell
                    || build_arguments(prefix).is_some_and(|after| {
                        (shell.is_empty() && after.is_empty())
                            || after.ends_with(&format!(" {shell}"))
                    })
            })
        })
    }

    /// The arguments of a `COPY`, `ADD` or `WORKDIR` line against the instruction's; other
    /// metadata steps match on their keyword (they write no layer, and builders rewrite
    /// their values: expanded, quoted, as Go maps).
    fn arguments_match(&self, args: &str, nop: bool) -> bool {
        let words = &self.instruction.words;
        match self.instruction.keyword {
            Keyword::Copy | Keyword::Add if nop => {
                // `[--chown=X ][--link ]<summary> in <dst> `
                let Some((_, dest)) = args.trim_end().rsplit_once(" in ") else {
                    return false;
                };
                words.last().is_some_and(|d| dest_matches(d, dest))
            }
            Keyword::Copy | Keyword::Add => {
                let (expected, line) = &self.copied;
                if line == args {
                    return true;
                }
                // Words with `$` were expanded by the build: each stands for one word.
                let recorded: Vec<&str> = args.split(' ').collect();
                recorded.len() == expected.len()
                    && recorded
                        .iter()
                        .zip(expected)
                        .all(|(r, e)| word_matches(e, r))
            }
            Keyword::Workdir => words.first().is_some_and(|w| dest_matches(w, args.trim())),
            _ => true,
        }
    }
}

/// A `COPY`'s or `ADD`'s words as BuildKit's history writes them: `dispatchCopy`'s three
/// flags in its order (and no other), the paths, heredocs as `<<NAME` (`SourcePaths`, then
/// `SourceContents`, whatever their order in the file), then the destination.
fn copied_words(instruction: &Instruction) -> Vec<String> {
    let mut expected: Vec<String> = Vec::new();
    for wanted in ["parents", "chown", "chmod"] {
        for (name, value) in &instruction.flags {
            if name == wanted {
                expected.push(match value {
                    Some(v) => format!("--{name}={v}"),
                    None => format!("--{name}"),
                });
            }
        }
    }
    if let Some((dest, sources)) = instruction.words.split_last() {
        let is_heredoc = |w: &&String| {
            instruction
                .heredocs
                .iter()
                .any(|h| w.strip_prefix("<<") == Some(h.name.as_str()))
        };
        expected.extend(sources.iter().filter(|w| !is_heredoc(w)).cloned());
        expected.extend(sources.iter().filter(is_heredoc).cloned());
        expected.push(dest.clone());
    }
    expected
}

/// The command buildah writes for a `RUN` (`getCreatedBy`): the instruction's text after
/// `RUN `, flags and JSON brackets kept, then each heredoc body as read, trimmed.
fn buildah_command(dockerfile: &Dockerfile, instruction: &Instruction) -> String {
    let end = instruction.arguments.start.max(
        instruction
            .heredocs
            .first()
            .map_or(instruction.span.end, |h| h.span.start),
    );
    let whole = join_continuations(
        dockerfile.slice(&(instruction.span.start..end)),
        dockerfile.escape,
    );
    let mut original = whole.trim().get(4..).unwrap_or_default().to_owned();
    for doc in &instruction.heredocs {
        original.push('\n');
        original.push_str(dockerfile.slice(&doc.span).trim());
    }
    original
}

/// The command BuildKit writes for a shell-form `RUN` (`dispatchRun`).
fn buildkit_command(instruction: &Instruction, logical: &str) -> String {
    let docs = &instruction.heredocs;
    if let [doc] = docs.as_slice()
        && is_lone_heredoc(logical)
    {
        return if doc.body.starts_with("#!") {
            format!("/dev/pipes/{}", doc.name)
        } else {
            doc.body.clone()
        };
    }
    let mut command = logical.to_owned();
    for doc in docs {
        command.push('\n');
        command.push_str(&doc.body);
        command.push_str(&doc.name);
    }
    command
}

/// Whether a `RUN`'s arguments are one heredoc word and nothing else (BuildKit's
/// `MustParseHeredoc` on the whole command: `^(\d*)<<(-?)\s*([^<]*)$` with one word).
fn is_lone_heredoc(logical: &str) -> bool {
    let rest = logical.trim_start_matches(|c: char| c.is_ascii_digit());
    rest.strip_prefix("<<").is_some_and(|word| {
        let word = word.strip_prefix('-').unwrap_or(word).trim_start();
        !word.is_empty() && !word.contains('<') && !word.contains(char::is_whitespace)
    })
}

/// The text after `#(nop) ` when a line is a builder's comment step.
fn nop_comment(line: &str) -> Option<&str> {
    let (shell, rest) = line.split_once("#(nop)")?;
    (shell.is_empty() || shell.ends_with("-c ")).then(|| rest.trim())
}

/// After a build-argument prefix `|N K=V …`, what follows its count (`None` when `prefix`
/// has none). Values may hold spaces, so the `K=V` words are not counted out.
fn build_arguments(prefix: &str) -> Option<&str> {
    let rest = prefix.strip_prefix('|')?;
    let digits = rest.find(|c: char| !c.is_ascii_digit())?;
    (digits > 0).then(|| &rest[digits..])
}

/// A destination or directory as written against the one recorded: BuildKit records
/// `WORKDIR` as the absolute directory, the legacy builder a copy's resolved destination.
fn dest_matches(written: &str, recorded: &str) -> bool {
    let recorded = recorded.trim_end_matches('/');
    let written = written.trim_end_matches('/');
    if written.contains('$') || written == recorded {
        return true;
    }
    // Relative to the working directory, which the history does not state.
    let relative = match written.trim_start_matches("./") {
        "." => "",
        relative => relative,
    };
    !written.starts_with('/')
        && (relative.is_empty()
            || recorded.ends_with(&format!("/{relative}"))
            || recorded == relative)
}

/// A word as written against the word a builder recorded: equal, or holding a variable the
/// build expanded.
fn word_matches(written: &str, recorded: &str) -> bool {
    written == recorded || written.contains('$')
}
