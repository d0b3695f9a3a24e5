//! What a Dockerfile is made of: instructions, their forms, keywords and heredocs, by span.
//! The parser builds them and the history matching reads them.

use std::ops::Range;

/// A byte range of the Dockerfile's text.
pub(crate) type Span = Range<usize>;

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
