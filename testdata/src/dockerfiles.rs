//! Real Dockerfiles with the quirks users write (heredocs, parser directives, `ARG` before
//! `FROM`, named stages, JSON and shell form, continuation lines with comments inside, CRLF
//! line ends) and, for each, the image history exactly as each builder writes it, with the
//! line every history entry comes from (`None`: the base image's own entries).
//!
//! Where each form comes from (read in the builders' sources):
//! - BuildKit, `frontend/dockerfile/dockerfile2llb/convert.go`: `commitToHistory` adds
//!   ` # buildkit` to `RUN`/`COPY`/`ADD`; `dispatchRun` + `runCommandString` write
//!   `RUN |N K=V … <shell> <command>` (no flags; a lone heredoc as its body, a `#!` body as
//!   `/dev/pipes/NAME`, any other heredoc as `\n` + body + name after the first line);
//!   `convert_copy.go` `dispatchCopy` writes `COPY [--chown=…] [--chmod=…] SRC… DST`;
//!   `dispatchWorkdir` writes `WORKDIR <absolute dir>` as a layer; `dispatchEnv`, `dispatchArg`,
//!   `dispatchCmd` (`CMD %q`), `dispatchExpose` (`EXPOSE %v` of a map), `dispatchShell`
//!   (`SHELL %v`) write empty layers.
//! - The legacy builder, moby `daemon/builder/dockerfile`: `dispatchRun` + `prependEnvOnCmd`
//!   write `|N K=V … /bin/sh -c CMD` (sorted build arguments); `withCmdComment` writes
//!   `<shell> #(nop)  KEYWORD …` (two spaces), `withCmdCommentString` and `performCopy`
//!   `<shell> #(nop) COPY <hash> in <dst> ` (one space, a trailing one).
//! - buildah, `imagebuildah/stage_executor.go` `getCreatedBy`: `RUN` as
//!   `|N K=V … /bin/sh -c ` + the text after `RUN ` (flags kept) + `\n` + each trimmed heredoc
//!   body; `COPY`/`ADD` as `/bin/sh -c #(nop) COPY [--link ]file:<hash> in <dst> `; every
//!   other step as `/bin/sh -c #(nop) ` + the instruction as written.

/// One history entry and the Dockerfile line it comes from.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `created_by`, as the builder writes it.
    pub created_by: String,
    /// The step wrote no layer.
    pub empty_layer: bool,
    /// The first line of the instruction that wrote it; `None` for the base image's entries.
    pub line: Option<usize>,
}

/// A Dockerfile and the histories its builds have.
#[derive(Debug, Clone)]
pub struct DockerfileCase {
    /// A short name for test messages.
    pub name: &'static str,
    /// The file's bytes.
    pub text: String,
    /// The stage built (`--target`); `None`: the last.
    pub target: Option<&'static str>,
    /// Every instruction as (first line, last line, keyword), in file order.
    pub instructions: Vec<(usize, usize, &'static str)>,
    /// The history a BuildKit build writes.
    pub buildkit: Vec<Entry>,
    /// The history the legacy builder writes; `None` when it cannot build the file
    /// (heredocs and `RUN --mount` need BuildKit).
    pub legacy: Option<Vec<Entry>>,
    /// The history `buildah bud` / `podman build` writes.
    pub buildah: Vec<Entry>,
}

fn entry(created_by: &str, empty_layer: bool, line: Option<usize>) -> Entry {
    Entry {
        created_by: created_by.to_owned(),
        empty_layer,
        line,
    }
}

/// `python:3.12-slim`'s own history as BuildKit wrote it (the base of the first case).
fn python_base() -> Vec<Entry> {
    vec![
        entry(
            "# debian.sh --arch 'amd64' out/ 'bookworm' '@1733097600'",
            false,
            None,
        ),
        entry(
            "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            true,
            None,
        ),
        entry(
            "RUN /bin/sh -c set -eux; apt-get update; apt-get install -y --no-install-recommends ca-certificates; rm -rf /var/lib/apt/lists/* # buildkit",
            false,
            None,
        ),
        entry("CMD [\"python3\"]", true, None),
    ]
}

/// `debian:bookworm-slim`'s history as the legacy builder wrote it.
fn debian_base() -> Vec<Entry> {
    vec![
        entry(
            "/bin/sh -c #(nop) ADD file:9a4f77dfaba7fd2aa78186e4ef0e7486ad55101cefc1fabbc1b385601bb38920 in / ",
            false,
            None,
        ),
        entry("/bin/sh -c #(nop)  CMD [\"bash\"]", true, None),
    ]
}

/// `alpine:3.20`'s history.
fn alpine_base() -> Vec<Entry> {
    vec![
        entry(
            "/bin/sh -c #(nop) ADD file:5758b97d8301c84a204a6e516241275d785a7cb2e9e5a7a3a2d9b1c4e8f0a4a1 in / ",
            false,
            None,
        ),
        entry("/bin/sh -c #(nop)  CMD [\"/bin/sh\"]", true, None),
    ]
}

fn with_base(base: Vec<Entry>, own: Vec<Entry>) -> Vec<Entry> {
    base.into_iter().chain(own).collect()
}

/// A Python service in three named stages: `# syntax=`, `ARG` before `FROM`, `RUN --mount`
/// with a comment inside its continuation lines, a build argument in use, heredocs (plain and
/// `<<-"…"` quoted), `COPY --from`, JSON-form `RUN` and `CMD`. Built with `--target runtime`
/// its history runs through `base` then `runtime`; built with `--target build`, through
/// `base` then `build`.
pub fn python_stages() -> DockerfileCase {
    let text = "\
# syntax=docker/dockerfile:1.7
ARG PYTHON=3.12
FROM python:${PYTHON}-slim AS base
ENV PIP_NO_CACHE_DIR=1
WORKDIR /app

FROM base AS build
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN --mount=type=cache,target=/root/.cache/pip \\
    # the CPU wheels only
    pip install --index-url ${TORCH_INDEX} torch && \\
    pip install numpy
COPY --chown=app:app requirements.txt ./
RUN <<EOF
set -e
pip install -r requirements.txt
EOF

FROM base AS runtime
COPY --from=build /usr/local/lib/python3.12/site-packages /usr/local/lib/python3.12/site-packages
COPY <<-\"CONF\" /etc/app.conf
\tmode=$MODE
\tCONF
RUN [\"python\", \"-c\", \"import numpy\"]
CMD [\"python\", \"-m\", \"app\"]
"
    .to_owned();
    let base_stage_buildkit = vec![
        entry("ENV PIP_NO_CACHE_DIR=1", true, Some(4)),
        entry("WORKDIR /app", false, Some(5)),
    ];
    let buildkit = with_base(
        python_base(),
        base_stage_buildkit
            .into_iter()
            .chain([
                entry("COPY /usr/local/lib/python3.12/site-packages /usr/local/lib/python3.12/site-packages # buildkit", false, Some(20)),
                entry("COPY <<CONF /etc/app.conf # buildkit", false, Some(21)),
                entry("RUN python -c import numpy # buildkit", false, Some(24)),
                entry("CMD [\"python\" \"-m\" \"app\"]", true, Some(25)),
            ])
            .collect(),
    );
    let buildah = with_base(
        python_base(),
        vec![
            entry("/bin/sh -c #(nop) ENV PIP_NO_CACHE_DIR=1", true, Some(4)),
            entry("/bin/sh -c #(nop) WORKDIR /app", true, Some(5)),
            entry(
                "/bin/sh -c #(nop) COPY dir:0d4c5b6e0f2a8b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c in /usr/local/lib/python3.12/site-packages ",
                false,
                Some(20),
            ),
            entry(
                "/bin/sh -c #(nop) COPY file:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae in /etc/app.conf ",
                false,
                Some(21),
            ),
            entry(
                "/bin/sh -c [\"python\", \"-c\", \"import numpy\"]",
                false,
                Some(24),
            ),
            entry(
                "/bin/sh -c #(nop) CMD [\"python\", \"-m\", \"app\"]",
                true,
                Some(25),
            ),
        ],
    );
    DockerfileCase {
        name: "python_stages",
        text,
        target: Some("runtime"),
        instructions: vec![
            (2, 2, "ARG"),
            (3, 3, "FROM"),
            (4, 4, "ENV"),
            (5, 5, "WORKDIR"),
            (7, 7, "FROM"),
            (8, 8, "ARG"),
            (9, 12, "RUN"),
            (13, 13, "COPY"),
            (14, 17, "RUN"),
            (19, 19, "FROM"),
            (20, 20, "COPY"),
            (21, 23, "COPY"),
            (24, 24, "RUN"),
            (25, 25, "CMD"),
        ],
        buildkit,
        legacy: None,
        buildah,
    }
}

/// [`python_stages`] built with `--target build`: the `build` stage's steps after `base`'s,
/// a build argument in every `RUN` line.
pub fn python_build_stage() -> DockerfileCase {
    let mut case = python_stages();
    case.name = "python_build_stage";
    case.target = Some("build");
    let arg = "|1 TORCH_INDEX=https://download.pytorch.org/whl/cpu";
    case.buildkit = with_base(
        python_base(),
        vec![
            entry("ENV PIP_NO_CACHE_DIR=1", true, Some(4)),
            entry("WORKDIR /app", false, Some(5)),
            entry(
                "ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu",
                true,
                Some(8),
            ),
            entry(
                &format!(
                    "RUN {arg} /bin/sh -c pip install --index-url ${{TORCH_INDEX}} torch &&     pip install numpy # buildkit"
                ),
                false,
                Some(9),
            ),
            entry(
                "COPY --chown=app:app requirements.txt ./ # buildkit",
                false,
                Some(13),
            ),
            entry(
                &format!(
                    "RUN {arg} /bin/sh -c set -e\npip install -r requirements.txt\n # buildkit"
                ),
                false,
                Some(14),
            ),
        ],
    );
    case.buildah = with_base(
        python_base(),
        vec![
            entry("/bin/sh -c #(nop) ENV PIP_NO_CACHE_DIR=1", true, Some(4)),
            entry("/bin/sh -c #(nop) WORKDIR /app", true, Some(5)),
            entry(
                "/bin/sh -c #(nop) ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu",
                true,
                Some(8),
            ),
            entry(
                &format!(
                    "{arg} /bin/sh -c --mount=type=cache,target=/root/.cache/pip     pip install --index-url ${{TORCH_INDEX}} torch &&     pip install numpy"
                ),
                false,
                Some(9),
            ),
            entry(
                "/bin/sh -c #(nop) COPY file:3e5f1c2d4b6a8c0e2f4a6b8c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8e in ./ ",
                false,
                Some(13),
            ),
            entry(
                &format!("{arg} /bin/sh -c <<EOF\nset -e\npip install -r requirements.txt"),
                false,
                Some(14),
            ),
        ],
    );
    case
}

/// A Windows-edited file: CRLF line ends, an escape directive (a backtick), a build argument, a comment inside
/// a `RUN`'s continuation lines, `ENV` then `WORKDIR ${…}`, `COPY` to a relative directory,
/// `ADD` of a URL, `USER`, JSON `ENTRYPOINT`. The legacy builder builds it too.
pub fn crlf_escape() -> DockerfileCase {
    let lines = [
        "# escape=`",
        "FROM debian:bookworm-slim",
        "ARG DEBIAN_FRONTEND=noninteractive",
        "RUN apt-get update && `",
        "    # keep the lists for now",
        "    apt-get install -y curl",
        "ENV APP_HOME=/srv/app",
        "WORKDIR ${APP_HOME}",
        "COPY app.py settings.toml ./",
        "ADD https://example.com/data.tgz /data/",
        "USER nobody",
        "ENTRYPOINT [\"python3\", \"app.py\"]",
    ];
    let text = lines.iter().map(|l| format!("{l}\r\n")).collect();
    let arg = "|1 DEBIAN_FRONTEND=noninteractive";
    let run = "apt-get update &&     apt-get install -y curl";
    DockerfileCase {
        name: "crlf_escape",
        text,
        target: None,
        instructions: vec![
            (2, 2, "FROM"),
            (3, 3, "ARG"),
            (4, 6, "RUN"),
            (7, 7, "ENV"),
            (8, 8, "WORKDIR"),
            (9, 9, "COPY"),
            (10, 10, "ADD"),
            (11, 11, "USER"),
            (12, 12, "ENTRYPOINT"),
        ],
        buildkit: with_base(
            debian_base(),
            vec![
                entry("ARG DEBIAN_FRONTEND=noninteractive", true, Some(3)),
                entry(
                    &format!("RUN {arg} /bin/sh -c {run} # buildkit"),
                    false,
                    Some(4),
                ),
                entry("ENV APP_HOME=/srv/app", true, Some(7)),
                entry("WORKDIR /srv/app", false, Some(8)),
                entry("COPY app.py settings.toml ./ # buildkit", false, Some(9)),
                entry(
                    "ADD https://example.com/data.tgz /data/ # buildkit",
                    false,
                    Some(10),
                ),
                entry("USER nobody", true, Some(11)),
                entry("ENTRYPOINT [\"python3\" \"app.py\"]", true, Some(12)),
            ],
        ),
        legacy: Some(with_base(
            debian_base(),
            vec![
                entry(
                    "/bin/sh -c #(nop)  ARG DEBIAN_FRONTEND=noninteractive",
                    true,
                    Some(3),
                ),
                entry(&format!("{arg} /bin/sh -c {run}"), false, Some(4)),
                entry("/bin/sh -c #(nop)  ENV APP_HOME=/srv/app", true, Some(7)),
                entry("/bin/sh -c #(nop) WORKDIR /srv/app", false, Some(8)),
                entry(
                    "/bin/sh -c #(nop) COPY multi:4f0c1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7 in /srv/app/ ",
                    false,
                    Some(9),
                ),
                entry(
                    "/bin/sh -c #(nop) ADD 8a3c5e7f9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a in /data/ ",
                    false,
                    Some(10),
                ),
                entry("/bin/sh -c #(nop)  USER nobody", true, Some(11)),
                entry(
                    "/bin/sh -c #(nop)  ENTRYPOINT [\"python3\" \"app.py\"]",
                    true,
                    Some(12),
                ),
            ],
        )),
        buildah: with_base(
            debian_base(),
            vec![
                entry(
                    "/bin/sh -c #(nop) ARG DEBIAN_FRONTEND=noninteractive",
                    true,
                    Some(3),
                ),
                entry(&format!("{arg} /bin/sh -c {run}"), false, Some(4)),
                entry("/bin/sh -c #(nop) ENV APP_HOME=/srv/app", true, Some(7)),
                entry("/bin/sh -c #(nop) WORKDIR ${APP_HOME}", true, Some(8)),
                entry(
                    "/bin/sh -c #(nop) COPY multi:4f0c1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7 in ./ ",
                    false,
                    Some(9),
                ),
                entry(
                    "/bin/sh -c #(nop) ADD file:8a3c5e7f9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a in /data/ ",
                    false,
                    Some(10),
                ),
                entry("/bin/sh -c #(nop) USER nobody", true, Some(11)),
                entry(
                    "/bin/sh -c #(nop) ENTRYPOINT [\"python3\", \"app.py\"]",
                    true,
                    Some(12),
                ),
            ],
        ),
    }
}

/// Heredocs of every kind and a `SHELL` carried through a stage chain: `# check=`, `RUN <<EOF
/// ash` (a heredoc with more on its line), `<<-EOT` with tabs, a quoted `#!` heredoc, a
/// `LABEL` continued over two lines, `EXPOSE`, `HEALTHCHECK`, `COPY --chmod --link`.
pub fn heredoc_shells() -> DockerfileCase {
    let text = "\
# syntax=docker/dockerfile:1
# check=skip=JSONArgsRecommended
FROM alpine:3.20 AS tools
SHELL [\"/bin/ash\", \"-eo\", \"pipefail\", \"-c\"]
RUN <<EOF ash
apk add --no-cache jq
EOF

FROM tools AS app
RUN <<-EOT
\techo \"tabs go\" > /etc/motd
\tEOT
RUN <<'PY'
#!/usr/bin/env python3
print(\"hello $USER\")
PY
LABEL org.opencontainers.image.title=\"demo\" \\
      org.opencontainers.image.version=\"1.0\"
EXPOSE 8080/tcp
HEALTHCHECK --interval=30s CMD wget -q -O- http://localhost:8080/ || exit 1
COPY --chmod=0755 --link entry.sh /usr/local/bin/
"
    .to_owned();
    let sh = "/bin/ash -eo pipefail -c";
    DockerfileCase {
        name: "heredoc_shells",
        text,
        target: None,
        instructions: vec![
            (3, 3, "FROM"),
            (4, 4, "SHELL"),
            (5, 7, "RUN"),
            (9, 9, "FROM"),
            (10, 12, "RUN"),
            (13, 16, "RUN"),
            (17, 18, "LABEL"),
            (19, 19, "EXPOSE"),
            (20, 20, "HEALTHCHECK"),
            (21, 21, "COPY"),
        ],
        buildkit: with_base(
            alpine_base(),
            vec![
                entry(&format!("SHELL [{sh}]"), true, Some(4)),
                entry(
                    &format!("RUN {sh} <<EOF ash\napk add --no-cache jq\nEOF # buildkit"),
                    false,
                    Some(5),
                ),
                entry(
                    &format!("RUN {sh} echo \"tabs go\" > /etc/motd\n # buildkit"),
                    false,
                    Some(10),
                ),
                entry(
                    &format!("RUN {sh} /dev/pipes/PY # buildkit"),
                    false,
                    Some(13),
                ),
                entry(
                    "LABEL org.opencontainers.image.title=demo org.opencontainers.image.version=1.0",
                    true,
                    Some(17),
                ),
                entry("EXPOSE map[8080/tcp:{}]", true, Some(19)),
                entry(
                    "HEALTHCHECK &{[\"CMD-SHELL\" \"wget -q -O- http://localhost:8080/ || exit 1\"] \"30s\" \"0s\" \"0s\" \"0s\" '\\x00'}",
                    true,
                    Some(20),
                ),
                entry(
                    "COPY --chmod=0755 entry.sh /usr/local/bin/ # buildkit",
                    false,
                    Some(21),
                ),
            ],
        ),
        legacy: None,
        buildah: with_base(
            alpine_base(),
            vec![
                entry(
                    "/bin/sh -c #(nop) SHELL [\"/bin/ash\", \"-eo\", \"pipefail\", \"-c\"]",
                    true,
                    Some(4),
                ),
                entry(
                    "/bin/sh -c <<EOF ash\napk add --no-cache jq",
                    false,
                    Some(5),
                ),
                entry(
                    "/bin/sh -c <<-EOT\necho \"tabs go\" > /etc/motd",
                    false,
                    Some(10),
                ),
                entry(
                    "/bin/sh -c <<'PY'\n#!/usr/bin/env python3\nprint(\"hello $USER\")",
                    false,
                    Some(13),
                ),
                entry(
                    "/bin/sh -c #(nop) LABEL org.opencontainers.image.title=\"demo\"       org.opencontainers.image.version=\"1.0\"",
                    true,
                    Some(17),
                ),
                entry("/bin/sh -c #(nop) EXPOSE 8080/tcp", true, Some(19)),
                entry(
                    "/bin/sh -c #(nop) HEALTHCHECK --interval=30s CMD wget -q -O- http://localhost:8080/ || exit 1",
                    true,
                    Some(20),
                ),
                entry(
                    "/bin/sh -c #(nop) COPY --link file:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 in /usr/local/bin/ ",
                    false,
                    Some(21),
                ),
            ],
        ),
    }
}

/// Every case.
pub fn all() -> Vec<DockerfileCase> {
    vec![
        python_stages(),
        python_build_stage(),
        crlf_escape(),
        heredoc_shells(),
    ]
}

/// The interpreter of the venv that `scripts/test --install` puts BuildKit's parser in (the
/// `dockerfile` package from `PyPI`, an abi3 wheel wrapping it).
pub const BUILDKIT_PARSER_PYTHON: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../target/tools/py-dockerfile/bin/python"
);

/// One instruction as BuildKit's parser reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The keyword in capitals.
    pub keyword: String,
    /// Its first line, 1-based.
    pub start_line: usize,
    /// Its last line.
    pub end_line: usize,
    /// Its text as BuildKit hands it on (continuation lines joined).
    pub original: String,
}

/// `text` read by BuildKit's own parser (run by `python`); an error holds its message
/// when it refuses the text.
pub fn buildkit_parse(python: &str, text: &str) -> std::io::Result<Vec<Parsed>> {
    const SCRIPT: &str = "import sys, json, dockerfile\n\
        print(json.dumps([[c.cmd.upper(), c.start_line, c.end_line, c.original]\n\
        \x20   for c in dockerfile.parse_string(sys.stdin.read())]))\n";
    let mut child = std::process::Command::new(python)
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        std::io::Write::write_all(&mut stdin, text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "BuildKit's parser refused the text: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let rows: Vec<(String, usize, usize, String)> = serde_json::from_slice(&out.stdout)?;
    Ok(rows
        .into_iter()
        .map(|(keyword, start_line, end_line, original)| Parsed {
            keyword,
            start_line,
            end_line,
            original,
        })
        .collect())
}
