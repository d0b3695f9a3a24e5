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
    analysis.debug_bytes(node.inode.unwrap())
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

/// The viewer's ELF summary of a real shared library from the C compiler, read from a plain
/// and a gzip layer, against binutils' `readelf` (-d, -n, -S).
#[test]
fn the_elf_summary_of_a_compiled_library_agrees_with_readelf() {
    use dive_core::contents::Version;
    use dive_core::{AnalyzerBuilder, Source};
    if !available(&[Tool::Program("cc"), Tool::Program("readelf")]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("lib.c");
    std::fs::write(
        &source,
        "#include <math.h>\ndouble dive(double x) { return sqrt(x) + 1; }\n",
    )
    .unwrap();
    let library = dir.path().join("libdive.so");
    let compiled = Command::new("cc")
        .args([
            "-shared",
            "-fPIC",
            "-g",
            "-Wl,-soname,libdive.so.1",
            "-Wl,--build-id=sha1",
            "-o",
        ])
        .arg(&library)
        .arg(&source)
        .arg("-lm")
        .status()
        .unwrap();
    assert!(compiled.success());
    let readelf = |flag: &str| {
        let out = Command::new("readelf")
            .args([flag, "-W"])
            .arg(&library)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let bracketed = |line: &str| {
        line.rsplit_once('[')
            .map(|(_, r)| r.trim_end_matches(']').to_owned())
    };
    let dynamic = readelf("-d");
    let needed: Vec<String> = dynamic
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(bracketed)
        .collect();
    let soname = dynamic
        .lines()
        .find(|l| l.contains("(SONAME)"))
        .and_then(bracketed);
    let build_id = readelf("-n")
        .lines()
        .find_map(|l| l.split("Build ID: ").nth(1).map(|id| id.trim().to_owned()));
    let sections: Vec<(String, u64)> = readelf("-S")
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(']').nth(1)?.split_whitespace().collect();
            let (name, kind, size) = (fields.first()?, fields.get(1)?, fields.get(4)?);
            let size = u64::from_str_radix(size, 16).ok()?;
            Some((name.to_string(), if *kind == "NOBITS" { 0 } else { size }))
        })
        .filter(|(name, _)| name != "NULL" && !name.is_empty())
        .collect();
    assert!(needed.contains(&"libm.so.6".to_owned()) && soname.is_some() && build_id.is_some());

    let spec = ImageSpec::new(
        "elf/lib:1",
        vec![LayerSpec::new(
            "COPY lib /",
            vec![
                Op::text("usr/lib/libdive.so.1", std::fs::read(&library).unwrap()),
                Op::text("etc/notes.txt", "not an ELF file\n"),
            ],
        )],
    );
    let built = dive_testdata::build(&spec).unwrap();
    let archive = dir.path().join("image.tar");
    std::fs::write(
        &archive,
        dive_testdata::docker_legacy(&[&built], false).unwrap(),
    )
    .unwrap();
    let oci = common::oci_dir(&built, Compression::Gzip);
    for path in [archive.clone(), oci.path().to_path_buf()] {
        let analyzer = AnalyzerBuilder::new().build();
        let analysis = analyzer.analyze(Source::path(&path), &()).unwrap();
        let contents = analyzer.contents(Source::path(&path), &analysis).unwrap();
        let found = analysis
            .find(b"usr/lib/libdive.so.1", Version::Final)
            .unwrap();
        let summary = contents
            .elf_summary(&analysis, found.layer, found.entry)
            .unwrap()
            .unwrap();
        let at = path.display();
        assert_eq!(summary.needed, needed, "{at}");
        assert_eq!(summary.soname, soname, "{at}");
        assert_eq!(summary.build_id, build_id, "{at}");
        assert_eq!(summary.sections, sections, "{at}");
        assert_eq!(
            (summary.class.as_str(), summary.kind.as_str()),
            ("ELF64 little-endian", "shared object")
        );
        assert!(
            summary.debug_bytes > 0 && summary.symbol_bytes > 0,
            "{summary:?}"
        );
        // Not an ELF file: said, not an error.
        let notes = analysis.find(b"etc/notes.txt", Version::Final).unwrap();
        let not_elf = contents
            .elf_summary(&analysis, notes.layer, notes.entry)
            .unwrap();
        assert!(not_elf.is_err(), "{not_elf:?}");
    }
}
