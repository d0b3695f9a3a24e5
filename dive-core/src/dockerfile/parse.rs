//! A Dockerfile as stages and instructions with byte spans, read by `parse-dockerfile` (the
//! BuildKit grammar: heredocs, parser directives, continuation lines with comments inside).

use std::ops::Range;

use parse_dockerfile::{Command, HealthcheckArguments, JsonOrStringArray, Source};

use super::error::DockerfileError;

/// A byte range of the Dockerfile's text.
pub(crate) type Span = Range<usize>;

/// The largest Dockerfile read: 1 MiB. Real ones are a few KiB; a 1 MiB file parses in
/// milliseconds, and the cap bounds what a file handed to an unattended `fix` may cost.
pub(crate) const MAX_DOCKERFILE_BYTES: usize = 1 << 20;

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

/// One instruction, continuation lines and heredoc bodies included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Instruction {
    /// What it is.
    pub(crate) keyword: Keyword,
    /// From its keyword to the end of its last line (a heredoc's terminator line included),
    /// that line's `\n` or `\r\n` excluded.
    pub(crate) span: Span,
    /// Its arguments: from the first byte after the keyword and flags to the end of `span`.
    pub(crate) arguments: Span,
    /// Shell or JSON (exec) form.
    pub(crate) form: Form,
    /// Flags (`--mount=…`, `--from=…`, `--chown=…`) as name and value, unescaped.
    pub(crate) flags: Vec<(String, Option<String>)>,
    /// The words of the arguments, unescaped: a `COPY`'s sources then its destination (a
    /// heredoc source as `<<NAME`), an exec form's elements, a `FROM`'s image and name;
    /// otherwise the arguments' one value.
    pub(crate) words: Vec<String>,
    /// Heredoc bodies, in order.
    pub(crate) heredocs: Vec<Heredoc>,
    /// The stage it belongs to; `None` for the `ARG`s before the first `FROM`.
    pub(crate) stage: Option<usize>,
}

/// A heredoc of a `RUN`, `COPY` or `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Heredoc {
    /// Its delimiter word, quotes removed.
    pub(crate) name: String,
    /// `<<-`: leading tabs are removed from the body and the terminator.
    pub(crate) strip_tabs: bool,
    /// Unquoted delimiter: variables in the body are expanded by the build.
    pub(crate) expand: bool,
    /// The body's bytes in the file (up to the terminator line).
    pub(crate) span: Span,
    /// The body as the build sees it (tabs stripped for `<<-`).
    pub(crate) body: String,
}

/// Shell or exec (JSON array) form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// Text handed to the shell, or plain words.
    Shell,
    /// A JSON array of strings.
    Json,
}

/// The instruction keywords BuildKit knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub(crate) enum Keyword {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
}

impl Keyword {
    const ALL: [Keyword; 18] = [
        Keyword::Add,
        Keyword::Arg,
        Keyword::Cmd,
        Keyword::Copy,
        Keyword::Entrypoint,
        Keyword::Env,
        Keyword::Expose,
        Keyword::From,
        Keyword::Healthcheck,
        Keyword::Label,
        Keyword::Maintainer,
        Keyword::Onbuild,
        Keyword::Run,
        Keyword::Shell,
        Keyword::Stopsignal,
        Keyword::User,
        Keyword::Volume,
        Keyword::Workdir,
    ];

    /// The keyword in capitals, as builders write it in the history.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Keyword::Add => "ADD",
            Keyword::Arg => "ARG",
            Keyword::Cmd => "CMD",
            Keyword::Copy => "COPY",
            Keyword::Entrypoint => "ENTRYPOINT",
            Keyword::Env => "ENV",
            Keyword::Expose => "EXPOSE",
            Keyword::From => "FROM",
            Keyword::Healthcheck => "HEALTHCHECK",
            Keyword::Label => "LABEL",
            Keyword::Maintainer => "MAINTAINER",
            Keyword::Onbuild => "ONBUILD",
            Keyword::Run => "RUN",
            Keyword::Shell => "SHELL",
            Keyword::Stopsignal => "STOPSIGNAL",
            Keyword::User => "USER",
            Keyword::Volume => "VOLUME",
            Keyword::Workdir => "WORKDIR",
        }
    }

    /// The keyword a history line starts with (builders write them in capitals).
    pub(crate) fn from_history(word: &str) -> Option<Keyword> {
        Keyword::ALL.into_iter().find(|k| k.as_str() == word)
    }
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
    pub(crate) fn lines(&self, span: &Span) -> (usize, usize) {
        let last = span.end.max(span.start + 1) - 1;
        (self.line(span.start), self.line(last))
    }

    /// The text of a span.
    pub(crate) fn slice(&self, span: &Span) -> &str {
        self.text.get(span.clone()).unwrap_or_default()
    }

    /// A stage's span: from its `FROM` to the end of its last instruction.
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

/// Our model of one parsed instruction (its stage is set by the caller).
fn build(
    text: &str,
    escape: char,
    instruction: &parse_dockerfile::Instruction<'_>,
) -> Option<Instruction> {
    use parse_dockerfile::Instruction as I;
    let mut sub_spans: Vec<Span> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut heredocs_raw: Vec<&parse_dockerfile::HereDoc<'_>> = Vec::new();
    let mut form = Form::Shell;
    let mut flags_raw: &[parse_dockerfile::Flag<'_>] = &[];
    let mut placeholders: Vec<usize> = Vec::new();
    let (keyword, keyword_span) = match instruction {
        I::Add(add) => {
            flags_raw = &add.options;
            sources(
                &add.src,
                &mut sub_spans,
                &mut words,
                &mut heredocs_raw,
                &mut placeholders,
            );
            sub_spans.push(add.dest.span.clone());
            words.push(add.dest.value.to_string());
            (Keyword::Add, add.add.span.clone())
        }
        I::Copy(copy) => {
            flags_raw = &copy.options;
            sources(
                &copy.src,
                &mut sub_spans,
                &mut words,
                &mut heredocs_raw,
                &mut placeholders,
            );
            sub_spans.push(copy.dest.span.clone());
            words.push(copy.dest.value.to_string());
            (Keyword::Copy, copy.copy.span.clone())
        }
        I::Run(run) => {
            flags_raw = &run.options;
            form = command(&run.arguments, &mut sub_spans, &mut words);
            heredocs_raw.extend(run.here_docs.iter());
            (Keyword::Run, run.run.span.clone())
        }
        I::Cmd(cmd) => {
            form = command(&cmd.arguments, &mut sub_spans, &mut words);
            (Keyword::Cmd, cmd.cmd.span.clone())
        }
        I::Entrypoint(e) => {
            form = command(&e.arguments, &mut sub_spans, &mut words);
            (Keyword::Entrypoint, e.entrypoint.span.clone())
        }
        I::Healthcheck(h) => {
            flags_raw = &h.options;
            match &h.arguments {
                HealthcheckArguments::Cmd { cmd, arguments, .. } => {
                    sub_spans.push(cmd.span.clone());
                    form = command(arguments, &mut sub_spans, &mut words);
                }
                HealthcheckArguments::None { none, .. } => sub_spans.push(none.span.clone()),
                _ => {}
            }
            (Keyword::Healthcheck, h.healthcheck.span.clone())
        }
        I::From(from) => {
            flags_raw = &from.options;
            sub_spans.push(from.image.span.clone());
            words.push(from.image.value.to_string());
            if let Some((_, name)) = &from.as_ {
                sub_spans.push(name.span.clone());
                words.push(name.value.to_string());
            }
            (Keyword::From, from.from.span.clone())
        }
        I::Onbuild(onbuild) => {
            // The trigger's own keyword and arguments are this instruction's arguments.
            let inner = build(text, escape, &onbuild.instruction)?;
            sub_spans.push(inner.span.clone());
            words.push(text.get(inner.span).unwrap_or_default().to_owned());
            (Keyword::Onbuild, onbuild.onbuild.span.clone())
        }
        I::Shell(shell) => {
            form = Form::Json;
            spans_of(&shell.arguments, &mut sub_spans, &mut words);
            (Keyword::Shell, shell.shell.span.clone())
        }
        I::Expose(expose) => {
            spans_of(&expose.arguments, &mut sub_spans, &mut words);
            (Keyword::Expose, expose.expose.span.clone())
        }
        I::Volume(volume) => {
            match &volume.arguments {
                JsonOrStringArray::Json(array) => {
                    form = Form::Json;
                    sub_spans.push(array.span.clone());
                    words.extend(array.value.iter().map(|w| w.value.to_string()));
                }
                JsonOrStringArray::String(list) => spans_of(list, &mut sub_spans, &mut words),
            }
            (Keyword::Volume, volume.volume.span.clone())
        }
        I::Maintainer(m) => one(
            Keyword::Maintainer,
            &m.maintainer,
            &m.name,
            &mut sub_spans,
            &mut words,
        ),
        I::Arg(a) => one(
            Keyword::Arg,
            &a.arg,
            &a.arguments,
            &mut sub_spans,
            &mut words,
        ),
        I::Env(e) => one(
            Keyword::Env,
            &e.env,
            &e.arguments,
            &mut sub_spans,
            &mut words,
        ),
        I::Label(l) => one(
            Keyword::Label,
            &l.label,
            &l.arguments,
            &mut sub_spans,
            &mut words,
        ),
        I::Stopsignal(s) => one(
            Keyword::Stopsignal,
            &s.stopsignal,
            &s.arguments,
            &mut sub_spans,
            &mut words,
        ),
        I::User(u) => one(
            Keyword::User,
            &u.user,
            &u.arguments,
            &mut sub_spans,
            &mut words,
        ),
        I::Workdir(w) => one(
            Keyword::Workdir,
            &w.workdir,
            &w.arguments,
            &mut sub_spans,
            &mut words,
        ),
        // The parser's enum is non-exhaustive; the pinned version has no other variant.
        _ => return None,
    };
    let flags: Vec<(String, Option<String>)> = flags_raw
        .iter()
        .map(|f| {
            sub_spans.push(f.span());
            (
                f.name.value.to_string(),
                f.value.as_ref().map(|v| v.value.to_string()),
            )
        })
        .collect();
    let flags_end = flags_raw
        .iter()
        .map(|f| f.span().end)
        .fold(keyword_span.end, usize::max);
    let heredocs: Vec<Heredoc> = heredocs_raw
        .iter()
        .zip(heredoc_markers(
            text.get(keyword_span.start..).unwrap_or_default(),
        ))
        .map(|(doc, marker)| {
            sub_spans.push(doc.span.clone());
            Heredoc {
                name: marker.name,
                strip_tabs: marker.strip_tabs,
                expand: doc.expand,
                span: doc.span.clone(),
                body: doc.value.to_string(),
            }
        })
        .collect();
    for (index, doc) in placeholders.into_iter().zip(&heredocs) {
        if let Some(word) = words.get_mut(index) {
            *word = format!("<<{}", doc.name);
        }
    }
    let last = sub_spans
        .iter()
        .map(|s| s.end)
        .fold(keyword_span.end, usize::max);
    let end = line_end(text, last).max(keyword_span.end);
    let start = skip_blanks(text, flags_end, end, escape);
    Some(Instruction {
        keyword,
        span: keyword_span.start..end,
        arguments: start..end,
        form,
        flags,
        words,
        heredocs,
        stage: None,
    })
}

/// A `RUN`, `CMD`, `ENTRYPOINT` or `HEALTHCHECK CMD` command: its span and words; its form.
fn command(c: &Command<'_>, sub_spans: &mut Vec<Span>, words: &mut Vec<String>) -> Form {
    match c {
        Command::Exec(array) => {
            sub_spans.push(array.span.clone());
            words.extend(array.value.iter().map(|w| w.value.to_string()));
            Form::Json
        }
        Command::Shell(shell) => {
            sub_spans.push(shell.span.clone());
            words.push(shell.value.to_owned());
            Form::Shell
        }
        // Non-exhaustive upstream; the pinned version has these two.
        _ => Form::Shell,
    }
}

fn one(
    keyword: Keyword,
    word: &parse_dockerfile::Keyword,
    value: &parse_dockerfile::UnescapedString<'_>,
    sub_spans: &mut Vec<Span>,
    words: &mut Vec<String>,
) -> (Keyword, Span) {
    sub_spans.push(value.span.clone());
    words.push(value.value.to_string());
    (keyword, word.span.clone())
}

fn spans_of(
    list: &[parse_dockerfile::UnescapedString<'_>],
    sub_spans: &mut Vec<Span>,
    words: &mut Vec<String>,
) {
    for w in list {
        sub_spans.push(w.span.clone());
        words.push(w.value.to_string());
    }
}

fn sources<'p, 'a>(
    list: &'p [Source<'a>],
    sub_spans: &mut Vec<Span>,
    words: &mut Vec<String>,
    heredocs: &mut Vec<&'p parse_dockerfile::HereDoc<'a>>,
    placeholders: &mut Vec<usize>,
) {
    for source in list {
        match source {
            Source::Path(path) => {
                sub_spans.push(path.span.clone());
                words.push(path.value.to_string());
            }
            Source::HereDoc(doc) => {
                // Named once the markers are read (see `heredoc_markers`).
                placeholders.push(words.len());
                words.push(String::new());
                heredocs.push(doc);
            }
            _ => {}
        }
    }
}

/// A heredoc marker on an instruction's first line: `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`.
struct Marker {
    name: String,
    strip_tabs: bool,
}

/// The heredoc markers of the instruction starting at `text`'s first byte, read from its
/// first line (BuildKit only looks for them there), in order.
fn heredoc_markers(text: &str) -> Vec<Marker> {
    let line = text.split('\n').next().unwrap_or_default();
    let mut markers = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("<<") {
        rest = &rest[at + 2..];
        let strip_tabs = rest.starts_with('-');
        if strip_tabs {
            rest = &rest[1..];
        }
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'');
        let (name, after) = if let Some(q) = quote {
            let inner = &rest[1..];
            let close = inner.find(q).unwrap_or(inner.len());
            (&inner[..close], inner.get(close + 1..).unwrap_or_default())
        } else {
            let stop = rest
                .find(|c: char| c.is_whitespace() || c == '<')
                .unwrap_or(rest.len());
            (&rest[..stop], &rest[stop..])
        };
        if !name.is_empty() {
            markers.push(Marker {
                name: name.to_owned(),
                strip_tabs,
            });
        }
        rest = after;
    }
    markers
}

/// The end of the line holding `offset`, its `\n` or `\r\n` excluded. An offset just past a
/// heredoc body is the start of the terminator line, which belongs to the instruction.
fn line_end(text: &str, offset: usize) -> usize {
    let bytes = text.as_bytes();
    let newline = memchr::memchr(b'\n', bytes.get(offset..).unwrap_or_default())
        .map_or(bytes.len(), |i| offset + i);
    if newline > 0 && bytes.get(newline - 1) == Some(&b'\r') && newline != bytes.len() {
        newline - 1
    } else {
        newline
    }
}

/// The first byte from `from` that is not blank, a line end, an escaped line end or a
/// comment line inside the continuation (BuildKit drops those).
fn skip_blanks(text: &str, from: usize, end: usize, escape: char) -> usize {
    let mut at = from;
    let mut line_start = false;
    while at < end {
        let rest = &text[at..end];
        let Some(c) = rest.chars().next() else { break };
        if c == '\n' {
            at += 1;
            line_start = true;
        } else if c == ' ' || c == '\t' || c == '\r' {
            at += 1;
        } else if line_start && c == '#' {
            at += rest.find('\n').unwrap_or(rest.len());
        } else if c == escape
            && rest[c.len_utf8()..]
                .trim_start_matches([' ', '\t', '\r'])
                .starts_with('\n')
        {
            at += c.len_utf8();
        } else {
            break;
        }
    }
    at
}
