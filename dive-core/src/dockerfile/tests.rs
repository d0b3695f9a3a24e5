//! The Dockerfile model and the history mapping on the generator's real Dockerfiles
//! (`dive_testdata::dockerfiles`), stale files, hostile input, and BuildKit's own parser as a
//! second opinion.

use dive_testdata::dockerfiles::{self, DockerfileCase, Entry};
use dive_testdata::tools::{Tool, available};

use super::*;

fn parsed(case: &DockerfileCase) -> Dockerfile {
    parse(case.name, case.text.as_bytes()).unwrap()
}

fn entries(history: &[Entry]) -> Vec<HistoryEntry<'_>> {
    history
        .iter()
        .map(|e| HistoryEntry {
            created_by: Some(&e.created_by),
            empty_layer: e.empty_layer,
        })
        .collect()
}

/// The first line each history entry maps to (`None`: the base image).
fn mapped_lines(dockerfile: &Dockerfile, mapping: &Mapping) -> Vec<Option<usize>> {
    mapping
        .history
        .iter()
        .map(|origin| match origin {
            LayerOrigin::BaseImage => None,
            LayerOrigin::Instruction {
                instruction,
                line,
                span,
                ..
            } => {
                assert_eq!(dockerfile.instructions[*instruction].span, *span);
                Some(*line)
            }
        })
        .collect()
}

#[test]
fn instructions_have_the_lines_and_keywords_the_generator_wrote() {
    for case in dockerfiles::all() {
        let dockerfile = parsed(&case);
        let found: Vec<(usize, usize, &str)> = dockerfile
            .instructions
            .iter()
            .map(|i| {
                let (first, last) = dockerfile.lines(&i.span);
                (first, last, i.keyword.as_str())
            })
            .collect();
        assert_eq!(found, case.instructions, "{}", case.name);
    }
}

#[test]
fn spans_slice_back_to_each_instruction_and_nothing_else() {
    for case in dockerfiles::all() {
        let dockerfile = parsed(&case);
        let text = &dockerfile.text;
        let mut previous_end = 0;
        for instruction in &dockerfile.instructions {
            let span: &Span = &instruction.span;
            let slice = dockerfile.slice(span);
            assert!(
                slice
                    .to_ascii_uppercase()
                    .starts_with(instruction.keyword.as_str()),
                "{}: {slice:?}",
                case.name
            );
            // Whole lines: the span ends where its last line ends, before `\r\n` or `\n`.
            assert!(!slice.ends_with(['\r', '\n']), "{}: {slice:?}", case.name);
            assert!(
                text[span.end..].is_empty()
                    || text[span.end..].starts_with('\n')
                    || text[span.end..].starts_with("\r\n"),
                "{}: {slice:?}",
                case.name
            );
            // The arguments are the instruction's tail.
            assert!(span.start < instruction.arguments.start);
            assert_eq!(span.end, instruction.arguments.end);
            // Between instructions: only blank lines, comments and parser directives.
            assert!(previous_end <= span.start, "{}: spans overlap", case.name);
            for line in text[previous_end..span.start].lines() {
                let line = line.trim();
                assert!(
                    line.is_empty() || line.starts_with('#'),
                    "{}: {line:?} outside every span",
                    case.name
                );
            }
            for doc in &instruction.heredocs {
                assert!(span.start < doc.span.start && doc.span.end <= span.end);
            }
            previous_end = span.end;
        }
        assert!(text[previous_end..].trim().is_empty(), "{}", case.name);
    }
}

#[test]
fn replacing_one_span_leaves_every_other_byte_as_it_was() {
    for case in dockerfiles::all() {
        let dockerfile = parsed(&case);
        let Some(run) = dockerfile
            .instructions
            .iter()
            .position(|i| i.keyword == Keyword::Run)
        else {
            continue;
        };
        let span = dockerfile.instructions[run].span.clone();
        let edited = format!(
            "{}RUN true{}",
            &dockerfile.text[..span.start],
            &dockerfile.text[span.end..]
        );
        let again = parse(case.name, edited.as_bytes()).unwrap();
        assert_eq!(again.instructions.len(), dockerfile.instructions.len());
        for (i, (old, new)) in dockerfile
            .instructions
            .iter()
            .zip(&again.instructions)
            .enumerate()
        {
            if i == run {
                assert_eq!(again.slice(&new.span), "RUN true");
            } else {
                assert_eq!(dockerfile.slice(&old.span), again.slice(&new.span));
            }
        }
        assert_eq!(&edited[..span.start], &dockerfile.text[..span.start]);
        assert_eq!(
            &edited[span.start + "RUN true".len()..],
            &dockerfile.text[span.end..]
        );
    }
}

#[test]
fn the_model_keeps_stages_directives_heredocs_and_forms() {
    let dockerfile = parsed(&dockerfiles::python_stages());
    assert_eq!(dockerfile.escape, '\\');
    assert_eq!(
        dockerfile.syntax.as_ref().map(|s| dockerfile.slice(s)),
        Some("docker/dockerfile:1.7")
    );
    let globals: Vec<&str> = dockerfile
        .global_args()
        .map(|i| dockerfile.slice(&i.arguments))
        .collect();
    assert_eq!(globals, ["PYTHON=3.12"]);
    let stages: &[Stage] = &dockerfile.stages;
    let stages: Vec<(Option<&str>, &str)> = stages
        .iter()
        .map(|s| (s.name.as_deref(), s.base.as_str()))
        .collect();
    assert_eq!(
        stages,
        [
            (Some("base"), "python:${PYTHON}-slim"),
            (Some("build"), "base"),
            (Some("runtime"), "base")
        ]
    );
    assert_eq!(dockerfile.stage_named("RUNTIME").map(|s| s.index), Some(2));
    let spans: Vec<(usize, usize)> = dockerfile
        .stages
        .iter()
        .map(|s| dockerfile.lines(&dockerfile.stage_span(s)))
        .collect();
    assert_eq!(spans, [(3, 5), (7, 17), (19, 25)]);
    let run = &dockerfile.instructions[6];
    assert_eq!(
        run.flags,
        [(
            "mount".to_owned(),
            Some("type=cache,target=/root/.cache/pip".to_owned())
        )]
    );
    assert_eq!(
        dockerfile.logical_arguments(run),
        "pip install --index-url ${TORCH_INDEX} torch &&     pip install numpy"
    );
    let conf: &Instruction = &dockerfile.instructions[11];
    assert_eq!(conf.words, ["<<CONF", "/etc/app.conf"]);
    let doc: &Heredoc = &conf.heredocs[0];
    assert_eq!(
        (doc.name.as_str(), doc.strip_tabs, doc.expand),
        ("CONF", true, false)
    );
    assert_eq!(doc.body, "mode=$MODE\n");
    let json = &dockerfile.instructions[12];
    assert_eq!(
        (json.form, json.words.as_slice()),
        (
            Form::Json,
            &[
                "python".to_owned(),
                "-c".to_owned(),
                "import numpy".to_owned()
            ][..]
        )
    );
    assert_eq!(dockerfile.instructions[13].form, Form::Json);
    assert_eq!(dockerfile.instructions[6].form, Form::Shell);

    let crlf = parsed(&dockerfiles::crlf_escape());
    assert_eq!(crlf.escape, '`');
    assert_eq!(
        crlf.logical_arguments(&crlf.instructions[2]),
        "apt-get update &&     apt-get install -y curl"
    );
    let heredocs = parsed(&dockerfiles::heredoc_shells());
    let plain = &heredocs.instructions[2].heredocs[0];
    assert_eq!((plain.name.as_str(), plain.expand), ("EOF", true));
    assert_eq!(heredocs.slice(&plain.span), "apk add --no-cache jq\n");
}

#[test]
fn every_builders_history_maps_to_the_lines_that_wrote_it() {
    for case in dockerfiles::all() {
        let dockerfile = parsed(&case);
        let builders = [
            ("buildkit", Some(&case.buildkit)),
            ("legacy", case.legacy.as_ref()),
            ("buildah", Some(&case.buildah)),
        ];
        for (builder, history) in builders {
            let Some(history) = history else { continue };
            // Every entry, and only the layers' (what an analysis keeps: `LayerFacts::created_by`).
            let only_layers: Vec<Entry> =
                history.iter().filter(|e| !e.empty_layer).cloned().collect();
            for (given, history) in [("all entries", history), ("layers only", &only_layers)] {
                let what = format!("{} by {builder}, {given}", case.name);
                let mapping = map_history(&dockerfile, case.target, &entries(history))
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                let expected: Vec<Option<usize>> = history.iter().map(|e| e.line).collect();
                assert_eq!(mapped_lines(&dockerfile, &mapping), expected, "{what}");
                let layers = history.iter().filter(|e| !e.empty_layer).count();
                assert_eq!(mapping.layers.len(), layers, "{what}");
            }
        }
    }
}

/// The refusal of `text` against `history`: the unmatched layers, the unmatched
/// instructions and the message.
fn refusal(text: &str, history: &[Entry]) -> (Vec<usize>, Vec<UnmatchedInstruction>, String) {
    let dockerfile = parse("Dockerfile", text.as_bytes()).unwrap();
    let err = map_history(&dockerfile, None, &entries(history)).unwrap_err();
    let message = err.to_string();
    let DockerfileError::Mismatch {
        layers,
        instructions,
        ..
    } = err
    else {
        panic!("{message}")
    };
    let layers: Vec<UnmatchedLayer> = layers;
    (
        layers.iter().map(|l| l.layer).collect(),
        instructions,
        message,
    )
}

#[test]
fn a_changed_instruction_is_refused_naming_its_layer() {
    let case = dockerfiles::crlf_escape();
    let changed = case.text.replace("install -y curl", "install -y curl wget");
    let full = [&case.buildkit, case.legacy.as_ref().unwrap(), &case.buildah];
    let layers_only: Vec<Vec<Entry>> = full
        .iter()
        .map(|h| h.iter().filter(|e| !e.empty_layer).cloned().collect())
        .collect();
    for history in full.into_iter().chain(&layers_only) {
        let (layers, instructions, message) = refusal(&changed, history);
        // Layer 0 is debian's; the RUN wrote layer 1.
        assert_eq!(layers, [1], "{message}");
        let line_4 = UnmatchedInstruction {
            line: 4,
            keyword: "RUN",
        };
        assert_eq!(instructions, [line_4]);
        assert!(
            message
                .starts_with("Dockerfile: the image was not built from this Dockerfile: layer 1 ("),
            "{message}"
        );
    }
}

#[test]
fn a_removed_or_added_instruction_is_refused() {
    let case = dockerfiles::crlf_escape();
    let removed = case.text.replace("COPY app.py settings.toml ./\r\n", "");
    let layers_only: Vec<Entry> = case
        .buildah
        .iter()
        .filter(|e| !e.empty_layer)
        .cloned()
        .collect();
    // debian's layer, the RUN, (BuildKit's WORKDIR,) then the COPY.
    for (history, copy) in [(&case.buildkit, 3), (&case.buildah, 2), (&layers_only, 2)] {
        let (layers, instructions, message) = refusal(&removed, history);
        assert_eq!(layers, [copy], "{message}");
        assert!(instructions.is_empty(), "{message}");
    }

    let added = case
        .text
        .replace("USER nobody\r\n", "RUN rm -rf /tmp/*\r\nUSER nobody\r\n");
    let (layers, instructions, message) = refusal(&added, &case.buildkit);
    assert!(layers.is_empty(), "{message}");
    let line_11 = UnmatchedInstruction {
        line: 11,
        keyword: "RUN",
    };
    assert_eq!(instructions, [line_11]);
}

#[test]
fn exec_form_runs_build_arguments_and_unlabelled_base_entries_map() {
    let dockerfile = parse(
        "Dockerfile",
        b"FROM a\nARG V=1\nRUN [\"make\", \"all\"]\nSHELL [\"/bin/bash\", \"-c\"]\nRUN make  install\n",
    )
    .unwrap();
    let histories: [&[(Option<&str>, bool)]; 3] = [
        // BuildKit: exec form without a shell; the SHELL in use before the command.
        &[
            (None, false),
            (Some("ARG V=1"), true),
            (Some("RUN |1 V=1 make all # buildkit"), false),
            (Some("SHELL [/bin/bash -c]"), true),
            (
                Some("RUN |1 V=1 /bin/bash -c make  install # buildkit"),
                false,
            ),
        ],
        // The legacy builder.
        &[
            (None, false),
            (Some("/bin/sh -c #(nop)  ARG V=1"), true),
            (Some("|1 V=1 make all"), false),
            (Some("/bin/sh -c #(nop)  SHELL [/bin/bash -c]"), true),
            (Some("|1 V=1 /bin/bash -c make  install"), false),
        ],
        // buildah: `/bin/sh -c` and the text as written, whatever the form and the SHELL.
        &[
            (None, false),
            (Some("/bin/sh -c #(nop) ARG V=1"), true),
            (Some("|1 V=1 /bin/sh -c [\"make\", \"all\"]"), false),
            (
                Some("/bin/sh -c #(nop) SHELL [\"/bin/bash\", \"-c\"]"),
                true,
            ),
            (Some("|1 V=1 /bin/sh -c make  install"), false),
        ],
    ];
    for history in histories {
        let history: Vec<HistoryEntry<'_>> = history
            .iter()
            .map(|&(created_by, empty_layer)| HistoryEntry {
                created_by,
                empty_layer,
            })
            .collect();
        let mapping = map_history(&dockerfile, None, &history).unwrap();
        assert_eq!(
            mapped_lines(&dockerfile, &mapping),
            [None, Some(2), Some(3), Some(4), Some(5)]
        );
        assert_eq!(mapping.layers.len(), 3);
        assert_eq!(mapping.layers[0], LayerOrigin::BaseImage);
    }
}

#[test]
fn a_crlf_heredoc_keeps_its_carriage_returns_as_buildkit_does() {
    // BuildKit's parser keeps `\r\n` inside a heredoc body (its Python wrapper shows
    // `content='echo hi\r\n'`), and `dispatchRun` writes the body as it is.
    let dockerfile = parse("Dockerfile", b"FROM a\r\nRUN <<EOF\r\necho hi\r\nEOF\r\n").unwrap();
    let run = &dockerfile.instructions[1];
    assert_eq!(dockerfile.slice(&run.span), "RUN <<EOF\r\necho hi\r\nEOF");
    assert_eq!(dockerfile.lines(&run.span), (2, 4));
    let history = [HistoryEntry {
        created_by: Some("RUN /bin/sh -c echo hi\r\n # buildkit"),
        empty_layer: false,
    }];
    let mapping = map_history(&dockerfile, None, &history).unwrap();
    assert_eq!(mapped_lines(&dockerfile, &mapping), [Some(2)]);
}

#[test]
fn buildkit_writes_a_copys_paths_before_its_heredocs() {
    // `dispatchCopy` writes `SourcePaths`, then each of `SourceContents` as `<<NAME`.
    let dockerfile = parse(
        "Dockerfile",
        b"FROM a\nCOPY <<A b.txt <<B /dst/\nx\nA\ny\nB\n",
    )
    .unwrap();
    let history = [HistoryEntry {
        created_by: Some("COPY b.txt <<A <<B /dst/ # buildkit"),
        empty_layer: false,
    }];
    let mapping = map_history(&dockerfile, None, &history).unwrap();
    assert_eq!(mapped_lines(&dockerfile, &mapping), [Some(2)]);
    assert_eq!(dockerfile.lines(&dockerfile.instructions[1].span), (2, 6));
}

#[test]
fn another_dockerfiles_history_is_refused_and_an_unknown_stage_named() {
    let python = dockerfiles::python_stages();
    let dockerfile = parsed(&dockerfiles::crlf_escape());
    let err = map_history(&dockerfile, None, &entries(&python.buildkit)).unwrap_err();
    assert!(matches!(err, DockerfileError::Mismatch { .. }), "{err}");
    let err = map_history(&dockerfile, Some("nope\x1b[2J"), &[]).unwrap_err();
    assert_eq!(err.to_string(), "crlf_escape: no stage is named nope\\e[2J");
}

#[test]
fn history_text_in_errors_is_escaped() {
    let dockerfile = parse("Dockerfile", b"FROM a\nRUN make\n").unwrap();
    let history = [HistoryEntry {
        created_by: Some("RUN /bin/sh -c make\x1b]0;owned\x07 # buildkit"),
        empty_layer: false,
    }];
    let err = map_history(&dockerfile, None, &history)
        .unwrap_err()
        .to_string();
    assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err}");
}

#[test]
fn bad_input_errors_name_the_file_line_and_offset() {
    let err = parse("Dockerfile", b"FROM a\nRUN <<EOF\necho hi\n").unwrap_err();
    let DockerfileError::Syntax { line, offset, .. } = &err else {
        panic!("{err}")
    };
    assert!(*line >= 2 && *offset >= 7, "{err}");
    assert!(err.to_string().starts_with("Dockerfile: line "), "{err}");

    let err = parse("Dockerfile", b"FROM a\nRUN echo \xff\n").unwrap_err();
    assert_eq!(err.to_string(), "Dockerfile: line 2 @16: not UTF-8 text");

    let err = parse("Dockerfile", b"RUN echo\n").unwrap_err();
    assert!(
        matches!(
            err,
            DockerfileError::Syntax {
                line: 1,
                offset: 0,
                ..
            }
        ),
        "{err}"
    );
    let err = parse("Dockerfile", b"# just a comment\n").unwrap_err();
    assert!(matches!(err, DockerfileError::Syntax { .. }), "{err}");
    let err = parse("Dockerfile", b"FROM a\n\0RUN x\n").unwrap_err();
    assert!(
        matches!(
            err,
            DockerfileError::Syntax {
                line: 2,
                offset: 7,
                ..
            }
        ),
        "{err}"
    );
}

/// Runs `f` (which maps a history against `steps` steps of a file), and holds it to a
/// constant number of comparisons per history entry and step: two per place looked at, over
/// the window, and the metadata steps' pass.
fn within_budget<T>(what: &str, entries: usize, steps: usize, f: impl FnOnce() -> T) -> T {
    use super::history::COMPARISONS;
    COMPARISONS.with(|c| c.set(0));
    let out = f();
    let made = COMPARISONS.with(std::cell::Cell::get);
    let budget = (2 * 64 + 4) * (entries + steps) as u64;
    assert!(made <= budget, "{what}: {made} comparisons, over {budget}");
    out
}

#[test]
fn hostile_files_error_or_parse_within_budget() {
    // Over the cap: refused before parsing.
    let big = vec![b'#'; MAX_DOCKERFILE_BYTES + 1];
    let err = parse("Dockerfile", &big).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Dockerfile: {} bytes; a Dockerfile may have at most 1048576",
            MAX_DOCKERFILE_BYTES + 1
        )
    );

    // One 1 MiB line.
    let mut line = b"FROM a\nRUN ".to_vec();
    line.resize(MAX_DOCKERFILE_BYTES, b'x');
    let dockerfile = parse("Dockerfile", &line).unwrap();
    let run = &dockerfile.instructions[1];
    assert_eq!(run.span, 7..MAX_DOCKERFILE_BYTES);
    within_budget("matching a 1 MiB line", 1, 1, || {
        let created_by = format!(
            "RUN /bin/sh -c {} # buildkit",
            dockerfile.logical_arguments(run)
        );
        let history = [HistoryEntry {
            created_by: Some(&created_by),
            empty_layer: false,
        }];
        assert!(map_history(&dockerfile, None, &history).is_ok());
    });

    // 100,000 continuation lines, with comments among them.
    let mut text = String::from("FROM a\nRUN echo \\\n");
    for i in 0..100_000 {
        text.push_str(if i % 10 == 0 { "# c\n" } else { " a \\\n" });
    }
    text.push_str(" end\n");
    assert!(text.len() <= MAX_DOCKERFILE_BYTES);
    let dockerfile = parse("Dockerfile", text.as_bytes()).unwrap();
    assert_eq!(
        dockerfile.lines(&dockerfile.instructions[1].span),
        (2, 100_003)
    );
    let joined = dockerfile.logical_arguments(&dockerfile.instructions[1]);
    assert!(
        joined.len() < text.len(),
        "joining keeps no more than the text"
    );

    // 30,000 stages, each built on the one before: the chain is walked through a map.
    let mut text = String::from("FROM scratch AS s0\n");
    for i in 1..30_000 {
        text.push_str(&format!("FROM s{} AS s{i}\nRUN x\n", i - 1));
    }
    let dockerfile = parse("Dockerfile", text.as_bytes()).unwrap();
    let err = within_budget("a 30k-stage chain", 0, 60_000, || {
        map_history(&dockerfile, None, &[]).unwrap_err()
    });
    let DockerfileError::Mismatch { instructions, .. } = err else {
        panic!()
    };
    assert_eq!(instructions.len(), 29_999);

    // 5,000 steps against 5,000 layers, none alike: each looks a constant distance away
    // (comparing each to each would take 25 million comparisons).
    let text: String = std::iter::once("FROM a\n".to_owned())
        .chain((0..5_000).map(|i| format!("RUN a{i}\n")))
        .collect();
    let dockerfile = parse("Dockerfile", text.as_bytes()).unwrap();
    let created: Vec<String> = (0..5_000)
        .map(|i| format!("RUN /bin/sh -c b{i} # buildkit"))
        .collect();
    let history: Vec<HistoryEntry<'_>> = created
        .iter()
        .map(|c| HistoryEntry {
            created_by: Some(c),
            empty_layer: false,
        })
        .collect();
    let err = within_budget("5k stale steps", 5_000, 5_000, || {
        map_history(&dockerfile, None, &history).unwrap_err()
    });
    let DockerfileError::Mismatch { layers, .. } = err else {
        panic!()
    };
    assert_eq!(layers.len(), 5_000);

    // NUL bytes inside an argument are text; an unterminated heredoc at 1 MiB errors.
    let dockerfile = parse("Dockerfile", b"FROM a\nRUN echo \0\0\n").unwrap();
    assert_eq!(
        dockerfile.slice(&dockerfile.instructions[1].span),
        "RUN echo \0\0"
    );
    let mut heredoc = b"FROM a\nRUN <<EOF\n".to_vec();
    heredoc.resize(MAX_DOCKERFILE_BYTES, b'\n');
    let err = parse("Dockerfile", &heredoc).unwrap_err();
    assert!(matches!(err, DockerfileError::Syntax { .. }), "{err}");
    // Nested triggers are refused, not recursed into.
    let onbuild = format!("FROM a\n{}RUN x\n", "ONBUILD ".repeat(50_000));
    let err = parse("Dockerfile", onbuild.as_bytes()).unwrap_err();
    assert!(
        matches!(err, DockerfileError::Syntax { line: 2, .. }),
        "{err}"
    );
}

/// BuildKit's own parser (the Python package `dockerfile` wraps it) reads each test
/// Dockerfile to the same instructions on the same lines.
#[test]
fn buildkits_parser_agrees_on_instructions_and_lines() {
    const PYTHON: &str = dockerfiles::BUILDKIT_PARSER_PYTHON;
    if !available(&[Tool::PythonModule {
        python: PYTHON,
        module: "dockerfile",
    }]) {
        return;
    }
    for case in dockerfiles::all() {
        let theirs: String = dockerfiles::buildkit_parse(PYTHON, &case.text)
            .unwrap()
            .iter()
            .map(|p| format!("{} {} {}\n", p.keyword, p.start_line, p.end_line))
            .collect();
        let dockerfile = parsed(&case);
        let ours: String = dockerfile
            .instructions
            .iter()
            .map(|i| {
                let (first, last) = dockerfile.lines(&i.span);
                format!("{} {first} {last}\n", i.keyword.as_str())
            })
            .collect();
        assert_eq!(ours, theirs, "{}", case.name);
    }
}

/// Pieces Dockerfiles are made of, hostile ones included, for the property below.
const PIECES: &[&str] = &[
    "FROM a",
    "FROM a AS b",
    "FROM b",
    "RUN ",
    "COPY ",
    "ONBUILD ",
    "ARG x=1",
    "SHELL [\"sh\"]",
    "<<EOF",
    "<<-'X'",
    "EOF",
    "\tX",
    "\n",
    "\r\n",
    "\\",
    "`",
    "# escape=`",
    "# syntax=x",
    "#",
    " ",
    "\t",
    "[\"a\", \"b\"]",
    "--mount=type=cache",
    "\0",
    "é",
    "$V",
    "\"",
];

proptest::proptest! {
    /// Whatever the pieces, reading never panics; what it reads has spans in order, inside
    /// the text, on whole characters, and any history maps or is refused without a panic.
    #[test]
    fn any_text_reads_to_ordered_spans_or_an_error(
        picks in proptest::collection::vec(0..PIECES.len(), 0..60),
        history in proptest::collection::vec((0..PIECES.len(), proptest::bool::ANY), 0..6),
    ) {
        // Most texts must get past the first `FROM` to reach the instruction parsers.
        let text: String = std::iter::once("FROM a\n").chain(picks.iter().map(|&i| PIECES[i])).collect();
        let Ok(dockerfile) = parse("Dockerfile", text.as_bytes()) else { return Ok(()) };
        let mut previous_end = 0;
        for instruction in &dockerfile.instructions {
            let span = &instruction.span;
            proptest::prop_assert!(previous_end <= span.start && span.start < span.end);
            proptest::prop_assert!(span.end <= text.len() && text.is_char_boundary(span.end));
            proptest::prop_assert!(instruction.arguments.start <= instruction.arguments.end);
            proptest::prop_assert!(text.get(instruction.arguments.clone()).is_some());
            previous_end = span.end;
            let _ = dockerfile.logical_arguments(instruction);
        }
        let created: Vec<String> = history.iter().map(|&(i, _)| format!("RUN {} # buildkit", PIECES[i])).collect();
        let history: Vec<HistoryEntry<'_>> = created
            .iter()
            .zip(&history)
            .map(|(c, &(_, empty_layer))| HistoryEntry { created_by: Some(c), empty_layer })
            .collect();
        let _ = map_history(&dockerfile, None, &history);
    }
}
