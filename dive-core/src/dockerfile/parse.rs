//! A Dockerfile as stages and instructions with byte spans, read by `parse-dockerfile` (the
//! BuildKit grammar: heredocs, parser directives, continuation lines with comments inside).

use std::ops::Range;

use super::error::DockerfileError;
use super::instruction::build;
use super::model::{Instruction, Span};

/// The largest Dockerfile read: 1 MiB. Real ones are a few KiB; a 1 MiB file parses in
/// milliseconds, and the cap bounds what a file handed to an unattended `fix` may cost.
pub const MAX_DOCKERFILE_BYTES: usize = 1 << 20;

/// A parsed Dockerfile: its text and everything found in it, by span.
#[derive(Debug)]
pub(crate) struct Dockerfile {
    /// The file as the user named it, for errors.
    pub(crate) file: String,
    /// The whole file as read; every span indexes it.
    pub(crate) text: String,
    /// The escape character (`\` unless a `# escape=` directive says otherwise).
    pub(crate) escape: char,
    /// The value of a `# syntax=` directive.
    pub(crate) syntax: Option<Span>,
    /// Every instruction in file order, `FROM`s and the `ARG`s before the first `FROM` included.
    pub(crate) instructions: Vec<Instruction>,
    /// The stages in file order.
    pub(crate) stages: Vec<Stage>,
    /// The byte offset at which each line starts; `line_starts[0] == 0`.
    line_starts: Vec<usize>,
}

/// One `FROM` and the instructions after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stage {
    /// Its position among the stages, from 0.
    pub(crate) index: usize,
    /// The name after `AS`, as written.
    pub(crate) name: Option<String>,
    /// The base as written (an image reference, a stage name, `scratch`, maybe with `${ARG}`).
    pub(crate) base: String,
    /// The index of its `FROM` in [`Dockerfile::instructions`].
    pub(crate) from: usize,
    /// The indices of the instructions after its `FROM`, up to the next `FROM`.
    pub(crate) body: Range<usize>,
}

/// Reads `bytes` as a Dockerfile; `file` names it in errors.
pub(crate) fn parse(file: &str, bytes: &[u8]) -> Result<Dockerfile, DockerfileError> {
    if bytes.len() > MAX_DOCKERFILE_BYTES {
        return Err(DockerfileError::TooLarge {
            file: file.to_owned(),
            size: bytes.len(),
            limit: MAX_DOCKERFILE_BYTES,
        });
    }
    let line_starts = line_starts(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let offset = e.valid_up_to();
            return Err(DockerfileError::NotUtf8 {
                file: file.to_owned(),
                line: line_at(&line_starts, offset),
                offset,
            });
        }
    };
    let parsed = parse_dockerfile::parse(text).map_err(|e| {
        // The parser reports a line (0 when the file has no stage at all) and no usable
        // byte offset: the error names the start of that line.
        let (line, offset) = match line_starts.get(e.line().wrapping_sub(1)) {
            Some(&start) => (e.line(), start),
            None => (line_starts.len(), text.len()),
        };
        DockerfileError::Syntax {
            file: file.to_owned(),
            line,
            offset,
            message: format!("{e:#}"),
        }
    })?;

    let escape = parsed
        .parser_directives
        .escape
        .as_ref()
        .map_or('\\', |d| d.value.value);
    let syntax = parsed
        .parser_directives
        .syntax
        .as_ref()
        .map(|d| d.value.span.clone());
    let mut instructions = Vec::with_capacity(parsed.instructions.len());
    let mut stages: Vec<Stage> = Vec::new();
    for instruction in &parsed.instructions {
        let Some(mut built) = build(text, escape, instruction) else {
            // The parser's instruction enum is non-exhaustive; the pinned version has no
            // variant left unmodelled, so this names the place as well as it can: after the
            // last instruction read.
            let offset = instructions.last().map_or(0, |i: &Instruction| i.span.end);
            return Err(DockerfileError::Syntax {
                file: file.to_owned(),
                line: line_at(&line_starts, offset),
                offset,
                message: "an instruction this parser version does not model".to_owned(),
            });
        };
        if let parse_dockerfile::Instruction::From(from) = instruction {
            if let Some(last) = stages.last_mut() {
                last.body.end = instructions.len();
            }
            stages.push(Stage {
                index: stages.len(),
                name: from.as_.as_ref().map(|(_, name)| name.value.to_string()),
                base: from.image.value.to_string(),
                from: instructions.len(),
                body: instructions.len() + 1..instructions.len() + 1,
            });
        }
        built.stage = stages.last().map(|s| s.index);
        instructions.push(built);
    }
    if let Some(last) = stages.last_mut() {
        last.body.end = instructions.len();
    }
    Ok(Dockerfile {
        file: file.to_owned(),
        text: text.to_owned(),
        escape,
        syntax,
        instructions,
        stages,
        line_starts,
    })
}

impl Dockerfile {
    /// The 1-based line holding byte `offset`.
    pub(crate) fn line(&self, offset: usize) -> usize {
        line_at(&self.line_starts, offset)
    }

    /// The first and last line a span covers (an empty span: its one line).
    #[cfg(test)]
    pub(crate) fn lines(&self, span: &Span) -> (usize, usize) {
        let last = span.end.max(span.start + 1) - 1;
        (self.line(span.start), self.line(last))
    }

    /// The text of a span.
    pub(crate) fn slice(&self, span: &Span) -> &str {
        self.text.get(span.clone()).unwrap_or_default()
    }

    /// A stage's span: from its `FROM` to the end of its last instruction.
    #[cfg(test)]
    pub(crate) fn stage_span(&self, stage: &Stage) -> Span {
        let start = self
            .instructions
            .get(stage.from)
            .map_or(0, |i| i.span.start);
        let last = stage.body.end.max(stage.from + 1) - 1;
        let end = self.instructions.get(last).map_or(start, |i| i.span.end);
        start..end
    }

    /// The `ARG`s before the first `FROM`.
    #[cfg(test)]
    pub(crate) fn global_args(&self) -> impl Iterator<Item = &Instruction> {
        self.instructions.iter().take_while(|i| i.stage.is_none())
    }

    /// The stage called `name` (case-insensitive, as BuildKit compares stage names).
    pub(crate) fn stage_named(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    }

    /// The command of a `RUN` in shell form as BuildKit's parser hands it on: continuation
    /// lines joined (the escape and the line end removed, comment and empty lines inside
    /// dropped), flags removed, surrounding whitespace trimmed. Heredoc bodies not included.
    pub(crate) fn logical_arguments(&self, instruction: &Instruction) -> String {
        let heredoc_start = instruction
            .heredocs
            .first()
            .map_or(instruction.arguments.end, |h| {
                // The body starts on the line after the heredoc marker.
                self.text[..h.span.start]
                    .trim_end_matches('\n')
                    .trim_end_matches('\r')
                    .len()
                    .max(instruction.arguments.start)
            });
        let raw = self.slice(&(instruction.arguments.start..heredoc_start));
        join_continuations(raw, self.escape).trim().to_owned()
    }
}

/// Joins continuation lines as BuildKit's parser does (`trimContinuationCharacter` and the
/// comment and empty-line rules of `Parse` in `frontend/dockerfile/parser/parser.go`).
pub(crate) fn join_continuations(raw: &str, escape: char) -> String {
    let mut out = String::with_capacity(raw.len());
    for (i, line) in raw.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if i > 0 {
            let trimmed = line.trim_start();
            if trimmed.starts_with('#') || trimmed.is_empty() {
                continue;
            }
        }
        let without_blanks = line.trim_end_matches([' ', '\t']);
        match without_blanks.strip_suffix(escape) {
            // An escaped escape (`\\`) at the end is text, not a continuation.
            Some(rest) if !rest.ends_with(escape) => out.push_str(rest),
            _ => out.push_str(line),
        }
    }
    out
}

/// The offset of each line's first byte.
fn line_starts(bytes: &[u8]) -> Vec<usize> {
    std::iter::once(0)
        .chain(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1))
        .collect()
}

/// The 1-based line holding `offset`.
fn line_at(line_starts: &[usize], offset: usize) -> usize {
    line_starts.partition_point(|&start| start <= offset)
}
