//! One instruction of `parse-dockerfile`'s tree turned into ours: the spans of its parts
//! joined into whole lines, its flags and words unescaped, its heredocs named.

use parse_dockerfile::{Command, HealthcheckArguments, JsonOrStringArray, Source};

use super::model::{Form, Heredoc, Instruction, Keyword, Span};

/// What an instruction's parts add up to while it is read: the spans that bound it, its
/// words, its heredocs (and where in `words` each heredoc source goes).
#[derive(Default)]
struct Parts<'p, 'a> {
    spans: Vec<Span>,
    words: Vec<String>,
    heredocs: Vec<&'p parse_dockerfile::HereDoc<'a>>,
    heredoc_words: Vec<usize>,
}

impl<'p, 'a> Parts<'p, 'a> {
    fn value(&mut self, value: &parse_dockerfile::UnescapedString<'_>) {
        self.spans.push(value.span.clone());
        self.words.push(value.value.to_string());
    }

    fn values(&mut self, list: &[parse_dockerfile::UnescapedString<'_>]) {
        for value in list {
            self.value(value);
        }
    }

    /// A `RUN`, `CMD`, `ENTRYPOINT` or `HEALTHCHECK CMD` command; its form.
    fn command(&mut self, command: &Command<'_>) -> Form {
        match command {
            Command::Exec(array) => {
                self.spans.push(array.span.clone());
                self.words
                    .extend(array.value.iter().map(|w| w.value.to_string()));
                Form::Json
            }
            Command::Shell(shell) => {
                self.spans.push(shell.span.clone());
                self.words.push(shell.value.to_owned());
                Form::Shell
            }
            // Non-exhaustive upstream; the pinned version has these two.
            _ => Form::Shell,
        }
    }

    /// A `COPY`'s or `ADD`'s sources and destination.
    fn copy(&mut self, sources: &'p [Source<'a>], dest: &parse_dockerfile::UnescapedString<'_>) {
        for source in sources {
            match source {
                Source::Path(path) => self.value(path),
                Source::HereDoc(doc) => {
                    // Named once the markers are read (see `heredoc_markers`).
                    self.heredoc_words.push(self.words.len());
                    self.words.push(String::new());
                    self.heredocs.push(doc);
                }
                _ => {}
            }
        }
        self.value(dest);
    }
}

/// Our model of one parsed instruction (its stage is set by the caller).
pub(super) fn build(
    text: &str,
    escape: char,
    instruction: &parse_dockerfile::Instruction<'_>,
) -> Option<Instruction> {
    use parse_dockerfile::Instruction as I;
    let mut parts = Parts::default();
    let mut form = Form::Shell;
    let mut flags_raw: &[parse_dockerfile::Flag<'_>] = &[];
    let (keyword, keyword_span) = match instruction {
        I::Add(add) => {
            flags_raw = &add.options;
            parts.copy(&add.src, &add.dest);
            (Keyword::Add, &add.add)
        }
        I::Copy(copy) => {
            flags_raw = &copy.options;
            parts.copy(&copy.src, &copy.dest);
            (Keyword::Copy, &copy.copy)
        }
        I::Run(run) => {
            flags_raw = &run.options;
            form = parts.command(&run.arguments);
            parts.heredocs.extend(run.here_docs.iter());
            (Keyword::Run, &run.run)
        }
        I::Cmd(cmd) => {
            form = parts.command(&cmd.arguments);
            (Keyword::Cmd, &cmd.cmd)
        }
        I::Entrypoint(e) => {
            form = parts.command(&e.arguments);
            (Keyword::Entrypoint, &e.entrypoint)
        }
        I::Healthcheck(h) => {
            flags_raw = &h.options;
            match &h.arguments {
                HealthcheckArguments::Cmd { cmd, arguments, .. } => {
                    parts.spans.push(cmd.span.clone());
                    form = parts.command(arguments);
                }
                HealthcheckArguments::None { none, .. } => parts.spans.push(none.span.clone()),
                _ => {}
            }
            (Keyword::Healthcheck, &h.healthcheck)
        }
        I::From(from) => {
            flags_raw = &from.options;
            parts.value(&from.image);
            if let Some((_, name)) = &from.as_ {
                parts.value(name);
            }
            (Keyword::From, &from.from)
        }
        I::Onbuild(onbuild) => {
            // The trigger's own keyword and arguments are this instruction's arguments.
            let inner = build(text, escape, &onbuild.instruction)?;
            parts.spans.push(inner.span.clone());
            parts
                .words
                .push(text.get(inner.span).unwrap_or_default().to_owned());
            (Keyword::Onbuild, &onbuild.onbuild)
        }
        I::Shell(shell) => {
            form = Form::Json;
            parts.values(&shell.arguments);
            (Keyword::Shell, &shell.shell)
        }
        I::Expose(expose) => {
            parts.values(&expose.arguments);
            (Keyword::Expose, &expose.expose)
        }
        I::Volume(volume) => {
            match &volume.arguments {
                JsonOrStringArray::Json(array) => {
                    form = Form::Json;
                    parts.spans.push(array.span.clone());
                    parts.values(&array.value);
                }
                JsonOrStringArray::String(list) => parts.values(list),
            }
            (Keyword::Volume, &volume.volume)
        }
        I::Maintainer(m) => {
            parts.value(&m.name);
            (Keyword::Maintainer, &m.maintainer)
        }
        I::Arg(a) => {
            parts.value(&a.arguments);
            (Keyword::Arg, &a.arg)
        }
        I::Env(e) => {
            parts.value(&e.arguments);
            (Keyword::Env, &e.env)
        }
        I::Label(l) => {
            parts.value(&l.arguments);
            (Keyword::Label, &l.label)
        }
        I::Stopsignal(s) => {
            parts.value(&s.arguments);
            (Keyword::Stopsignal, &s.stopsignal)
        }
        I::User(u) => {
            parts.value(&u.arguments);
            (Keyword::User, &u.user)
        }
        I::Workdir(w) => {
            parts.value(&w.arguments);
            (Keyword::Workdir, &w.workdir)
        }
        // The parser's enum is non-exhaustive; the pinned version has no other variant.
        _ => return None,
    };
    let keyword_span = keyword_span.span.clone();
    let Parts {
        mut spans,
        mut words,
        heredocs: heredocs_raw,
        heredoc_words,
    } = parts;
    let flags: Vec<(String, Option<String>)> = flags_raw
        .iter()
        .map(|f| {
            spans.push(f.span());
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
    // The parser found the heredocs; a `<<` that is no marker (`echo "1<<2" && cat <<EOF`) can
    // only come before the real ones on the line, so the last markers name them.
    let markers = heredoc_markers(text.get(keyword_span.start..).unwrap_or_default());
    let false_markers = markers.len().saturating_sub(heredocs_raw.len());
    let heredocs: Vec<Heredoc> = heredocs_raw
        .iter()
        .zip(markers.into_iter().skip(false_markers))
        .map(|(doc, marker)| {
            spans.push(doc.span.clone());
            Heredoc {
                name: marker.name,
                strip_tabs: marker.strip_tabs,
                expand: doc.expand,
                span: doc.span.clone(),
                body: doc.value.to_string(),
            }
        })
        .collect();
    for (index, doc) in heredoc_words.into_iter().zip(&heredocs) {
        if let Some(word) = words.get_mut(index) {
            *word = format!("<<{}", doc.name);
        }
    }
    let last = spans
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
