//! Debug bytes of ELF files, read from their section tables, in seeking and streaming walks.

use std::process::Command;

use dive_core::Analysis;
use dive_core::attribution::WasteClass;
use dive_testdata::tools::{Tool, available};
use dive_testdata::{Compression, ImageSpec, LayerSpec, Op, elf_with_debug};

use crate::common;

fn debug_bytes_of(analysis: &Analysis, path: &str) -> u64 {
    let node = analysis
        .tree
        .node(analysis.tree.lookup(path.as_bytes()).unwrap());
    analysis
        .content_entry(node.inode.unwrap())
        .unwrap()
        .debug_bytes
}

fn image(files: Vec<Op>) -> Vec<(String, Analysis)> {
    let spec = ImageSpec::new("elf/app:1", vec![LayerSpec::new("COPY lib /", files)]);
    let built = dive_testdata::build(&spec).unwrap();
    let legacy = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        legacy.path(),
        dive_testdata::docker_legacy(&[&built], false).unwrap(),
    )
    .unwrap();
    vec![
        ("seeking".to_owned(), common::analyze_path(legacy.path())),
        (
            "streaming gzip".to_owned(),
            common::analyze_stream(
                dive_testdata::docker25(&[&built], Compression::Gzip, false).unwrap(),
            ),
        ),
    ]
}

#[test]
fn debug_sections_are_counted_and_stripped_files_have_none() {
    let files = vec![
        // 200 KB of text puts the section table beyond what a streamed head would hold.
        Op::text(
            "usr/lib/libunstripped.so",
            elf_with_debug(200_000, 300_000, 40_000),
        ),
        Op::text("usr/lib/libstripped.so", elf_with_debug(50_000, 0, 0)),
        Op::text("usr/bin/notelf", vec![b'x'; 5_000]),
        Op::text("usr/lib/tiny.so", b"\x7fELF".to_vec()),
    ];
    for (mode, analysis) in image(files) {
        assert_eq!(
            debug_bytes_of(&analysis, "usr/lib/libunstripped.so"),
            300_000 + 40_000 + 16,
            "{mode}"
        );
        assert_eq!(
            debug_bytes_of(&analysis, "usr/lib/libstripped.so"),
            0,
            "{mode}"
        );
        assert_eq!(debug_bytes_of(&analysis, "usr/bin/notelf"), 0, "{mode}");
        assert_eq!(
            debug_bytes_of(&analysis, "usr/lib/tiny.so"),
            0,
            "{mode}: truncated ELF"
        );
        let waste = analysis
            .attribution
            .waste
            .iter()
            .find(|w| w.class == WasteClass::DebugInfo)
            .unwrap();
        assert_eq!((waste.bytes, waste.files), (340_016, 1), "{mode}");
    }
}

/// A real binary from the C compiler, checked against binutils' own reading of it.
#[test]
fn a_compiled_binary_agrees_with_readelf() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("hello.c");
    std::fs::write(
        &source,
        "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
    )
    .unwrap();
    let binary = dir.path().join("hello");
    if !available(&[Tool::Program("cc"), Tool::Program("readelf")]) {
        return;
    }
    let compiled = Command::new("cc")
        .args(["-g", "-O0", "-o"])
        .arg(&binary)
        .arg(&source)
        .status();
    let readelf = Command::new("readelf")
        .args(["-S", "-W"])
        .arg(&binary)
        .output();
    let (status, readelf) = (compiled.unwrap(), readelf.unwrap());
    assert!(status.success());
    // `[Nr] Name Type Address Off Size …`: sum the sections strip --strip-unneeded removes.
    let text = String::from_utf8(readelf.stdout).unwrap();
    let expected: u64 = text
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(']').nth(1)?.split_whitespace().collect();
            let (name, kind, size) = (fields.first()?, fields.get(1)?, fields.get(4)?);
            let counted = name.starts_with(".debug_")
                || name.starts_with(".zdebug_")
                || *name == ".symtab"
                || *name == ".strtab";
            (counted && *kind != "NOBITS").then(|| u64::from_str_radix(size, 16).unwrap())
        })
        .sum();
    assert!(expected > 0, "cc -g wrote no debug sections:\n{text}");
    for (mode, analysis) in image(vec![Op::text(
        "usr/bin/hello",
        std::fs::read(&binary).unwrap(),
    )]) {
        assert_eq!(
            debug_bytes_of(&analysis, "usr/bin/hello"),
            expected,
            "{mode}"
        );
    }
}
