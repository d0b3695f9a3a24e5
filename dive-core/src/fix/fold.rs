//! The fold rule: a `RUN` that only deletes, `chmod`s or `chown`s literal absolute paths,
//! right after the step that wrote them (nothing but metadata between), goes into that step:
//! its commands at the end of that `RUN`, or `COPY --chmod/--chown` when that step copied
//! the one file it changes. Saves the bytes the folded layer hid of that step's.

use super::model::{ClassBytes, new_fix};
use super::patch::Edit;
use super::rules::{Rules, mounts_over};
use super::shell::{self, Movable};
use crate::dockerfile::{Instruction, Keyword};
use crate::layer::EntryKind;

impl Rules<'_> {
    /// Folds `layer` into the layer before it, when its `RUN` only deletes or changes modes
    /// and owners of what that step wrote.
    pub(super) fn fold(&mut self, later: usize) {
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
            let change = format!(
                "fold line {} ({}) into the RUN at line {}",
                self.line(b),
                texts.join(" && "),
                self.line(a)
            );
            let folded = Folded {
                earlier,
                later,
                a,
                b_index,
                b,
            };
            self.take_fold(change, classes, folded, vec![append, removal]);
            return;
        }
        if a.keyword == Keyword::Copy {
            match self.copy_flags(earlier, later, a, &commands) {
                Ok(flags) => {
                    let change = format!(
                        "COPY {} at line {} instead of line {} ({})",
                        flags.trim_end(),
                        self.line(a),
                        self.line(b),
                        texts.join(" && ")
                    );
                    let at = a.arguments.start;
                    let insert = Edit {
                        span: at..at,
                        text: flags,
                        after: false,
                    };
                    let folded = Folded {
                        earlier,
                        later,
                        a,
                        b_index,
                        b,
                    };
                    self.take_fold(change, classes, folded, vec![insert, removal]);
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

    /// Takes a fold's fix (its edits: the change to the earlier step, then the later step's
    /// removal) and marks the later step folded, so that no other edit goes into it.
    fn take_fold(
        &mut self,
        change: String,
        classes: Vec<ClassBytes>,
        folded: Folded<'_>,
        edits: Vec<Edit>,
    ) {
        let Folded {
            earlier,
            later,
            a,
            b_index,
            b,
        } = folded;
        let fix = new_fix(
            change,
            classes,
            earlier,
            self.line(a),
            a.keyword.as_str(),
            None,
        )
        .folding(later, self.line(b));
        if self.take(fix, edits, Some(later)) {
            self.folded.insert(b_index);
        }
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
}

/// Empty files buildah leaves in every `RUN` layer where the runtime mounts its own (podman
/// mounts them again in every container): not something the `RUN` made.
const RUN_MOUNT_POINTS: [&[u8]; 3] = [b"etc/hosts", b"etc/hostname", b"etc/resolv.conf"];

/// The two steps of a fold: the earlier one (layer and instruction) that takes the later
/// one's commands, and the later one (layer, index and instruction) that goes.
struct Folded<'d> {
    earlier: usize,
    later: usize,
    a: &'d Instruction,
    b_index: usize,
    b: &'d Instruction,
}
