//! Hostile and broken images, one row each: every case must end in a clear error naming the
//! input (the binary exits 2 on any error) or in an analysis whose warnings say what was
//! skipped, by path and by stream alike, never in a panic, a hang or unbounded memory.
//! The table and the peak RSS over the whole set are printed (`--nocapture`).
//!
//! Truncation at every boundary (header, data, gzip and zstd frames, between layers, inside
//! `manifest.json`) has its own sweep in `truncated.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Cursor, Write};
use std::path::Path;

use dive_core::{Analysis, AnalyzerBuilder, Limits, Source};
use dive_testdata::raw::{archive as tar, extension, file, header, link, member};
use dive_testdata::{BuiltImage, ImageSpec};
use serde_json::json;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------- raw tar pieces

fn pax(key: &str, value: &[u8]) -> Vec<u8> {
    dive_testdata::pax_record(key.as_bytes(), value)
}

// ---------------------------------------------------------------- images around layers

fn sha(bytes: &[u8]) -> String {
    dive_testdata::digest(bytes)
}

fn spec() -> ImageSpec {
    dive_testdata::rich_image()
}

/// An image whose layers are exactly these tars.
fn image(layers: Vec<Vec<u8>>) -> BuiltImage {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha(l)).collect();
    let config = json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": []});
    BuiltImage {
        spec: spec(),
        layers,
        diff_ids,
        config: serde_json::to_vec(&config).unwrap(),
    }
}

fn docker(layers: Vec<Vec<u8>>) -> Vec<u8> {
    dive_testdata::docker_legacy(&[&image(layers)], false).unwrap()
}

/// A tar of named files (the outer archive of an image), by the tar crate.
fn outer(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        builder.append_data(&mut h, name, &bytes[..]).unwrap();
    }
    builder.into_inner().unwrap()
}

/// An OCI layout tar whose index.json and blobs are given as they are.
fn oci(index: serde_json::Value, blobs: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            "oci-layout".into(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        ("index.json".into(), serde_json::to_vec(&index).unwrap()),
    ];
    for (digest, bytes) in blobs {
        let hex = digest.trim_start_matches("sha256:");
        files.push((format!("blobs/sha256/{hex}"), bytes.clone()));
    }
    let named: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    outer(&named)
}

fn descriptor(media: &str, bytes: &[u8]) -> serde_json::Value {
    json!({"mediaType": media, "digest": sha(bytes), "size": bytes.len()})
}

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A small valid OCI image: (manifest bytes, blobs).
fn small_oci_image() -> (Vec<u8>, Vec<(String, Vec<u8>)>) {
    let layer = tar(&[file("etc/hello", b"hello")]);
    let built = image(vec![layer.clone()]);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": MANIFEST,
        "config": descriptor("application/vnd.oci.image.config.v1+json", &built.config),
        "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", &layer)],
    }))
    .unwrap();
    let blobs = vec![
        (sha(&manifest), manifest.clone()),
        (sha(&built.config), built.config.clone()),
        (sha(&layer), layer),
    ];
    (manifest, blobs)
}

// ---------------------------------------------------------------- running a case

enum Expect {
    /// An error whose message contains this.
    Error(&'static str),
    /// An analysis with a warning containing this (and a consistent ledger).
    Warning(&'static str),
    /// A clean analysis that passes this check.
    Clean(fn(&Analysis)),
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    limits: Limits,
    verify: bool,
    expect: Expect,
}

impl Case {
    fn new(name: &'static str, bytes: Vec<u8>, expect: Expect) -> Self {
        Self {
            name,
            bytes,
            limits: Limits::default(),
            verify: false,
            expect,
        }
    }

    fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    fn verify(mut self) -> Self {
        self.verify = true;
        self
    }
}

/// Runs a case by path and by stream; returns the outcome line for the table, or a failure.
fn run(case: &Case, dir: &Path) -> Result<String, String> {
    let path = dir.join(format!("{}.tar", case.name.replace(' ', "-")));
    std::fs::write(&path, &case.bytes).unwrap();
    let analyzer = AnalyzerBuilder::new()
        .threads(2)
        .limits(case.limits)
        .verify(case.verify)
        .build();
    let mut outcome = String::new();
    for source in [
        Source::path(&path),
        Source::reader("-", Cursor::new(case.bytes.clone())),
    ] {
        let input = source.name();
        let result = analyzer.analyze(source, &());
        let line = match (&case.expect, result) {
            (Expect::Error(want), Err(err)) => {
                let text = err.to_string();
                if !text.starts_with(&input) || !text.contains(want) {
                    return Err(format!("{input}: error {text:?} should contain {want:?}"));
                }
                format!("error: {text}")
            }
            (Expect::Warning(want), Ok(analysis)) => {
                let image = &analysis.image;
                if image.total_file_bytes != image.final_bytes + image.hidden_bytes {
                    return Err(format!("{input}: ledger does not add up"));
                }
                let Some(warning) = analysis
                    .warnings
                    .iter()
                    .find(|w| w.to_string().contains(want))
                else {
                    let all: Vec<String> = analysis
                        .warnings
                        .iter()
                        .map(std::string::ToString::to_string)
                        .collect();
                    return Err(format!(
                        "{input}: no warning containing {want:?} in {all:?}"
                    ));
                };
                if !warning.to_string().starts_with(&input) {
                    return Err(format!(
                        "{input}: warning does not name the input: {warning}"
                    ));
                }
                format!("warning: {warning}")
            }
            (Expect::Clean(check), Ok(analysis)) => {
                check(&analysis);
                format!(
                    "analysed: {} entries, {} warnings",
                    analysis.layers.iter().map(|l| l.entries).sum::<usize>(),
                    analysis.warnings.len()
                )
            }
            (_, Err(err)) => return Err(format!("{input}: unexpected error: {err}")),
            (_, Ok(analysis)) => {
                let all: Vec<String> = analysis
                    .warnings
                    .iter()
                    .map(std::string::ToString::to_string)
                    .collect();
                return Err(format!(
                    "{input}: expected an error, got an analysis {all:?}"
                ));
            }
        };
        if outcome.is_empty() {
            outcome = line;
        }
    }
    std::fs::remove_file(&path).unwrap();
    Ok(outcome)
}

fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(width - 1).collect();
    short.push('…');
    short
}

// ---------------------------------------------------------------- the cases

fn layer_cases() -> Vec<Case> {
    let ok = file("etc/ok", b"fine");
    let mut cases = Vec::new();

    cases.push(Case::new(
        "layer is not a tar",
        docker(vec![vec![0x5a; 4096]]),
        Expect::Warning("layer is not a tar"),
    ));
    let mut lying = file("etc/a", b"aaaa");
    lying[150] ^= 0x01; // inside the checksum field
    cases.push(Case::new(
        "header checksum lies",
        docker(vec![tar(&[ok.clone(), lying])]),
        Expect::Warning("checksum"),
    ));
    let mut long_size = header(b"etc/big", b'0', 1 << 20);
    long_size.set_cksum();
    cases.push(Case::new(
        "header size larger than the layer",
        docker(vec![[ok.clone(), member(&long_size, b"short")].concat()]),
        Expect::Warning("truncated"),
    ));
    let mut bad_size = header(b"etc/x", b'0', 0);
    bad_size.as_old_mut().size = *b"zzzzzzzzzzz\0";
    bad_size.set_cksum();
    cases.push(Case::new(
        "size field is not a number",
        docker(vec![tar(&[ok.clone(), member(&bad_size, b"")])]),
        Expect::Warning("size field is not a number"),
    ));
    cases.push(Case::new(
        "PAX record with an absurd length",
        docker(vec![tar(&[
            extension(b'x', b"99999999999999 path=etc/evil\n"),
            file("etc/after", b"x"),
        ])]),
        Expect::Warning("malformed PAX record"),
    ));
    cases.push(Case::new(
        "PAX negative size",
        docker(vec![tar(&[
            extension(b'x', &pax("size", b"-5")),
            file("etc/neg", b"abc"),
        ])]),
        Expect::Warning("not a number dive-rs can use"),
    ));
    cases.push(Case::new(
        "PAX size near 2^64",
        docker(vec![tar(&[
            ok.clone(),
            extension(b'x', &pax("size", b"18446744073709551000")),
            file("etc/huge", b"abc"),
        ])]),
        Expect::Warning("runs past any possible end"),
    ));
    cases.push(Case::new(
        "PAX key not UTF-8",
        docker(vec![tar(&[
            extension(
                b'x',
                &pax("\u{7f}", b"x")
                    .iter()
                    .map(|&b| if b == 0x7f { 0xff } else { b })
                    .collect::<Vec<u8>>(),
            ),
            file("etc/k", b"k"),
        ])]),
        Expect::Warning("key that is not UTF-8"),
    ));
    cases.push(Case::new(
        "PAX path not UTF-8",
        docker(vec![tar(&[
            extension(b'x', &pax("path", b"etc/caf\xe9")),
            file("etc/ignored", b"k"),
        ])]),
        Expect::Clean(|a| {
            assert!(
                a.layer_index(0)
                    .unwrap()
                    .entries
                    .iter()
                    .any(|e| &*e.path == b"etc/caf\xe9")
            );
        }),
    ));
    let long_name = vec![b'n'; 4 << 20];
    cases.push(Case::new(
        "GNU long name of 4 MiB",
        docker(vec![tar(&[
            extension(b'L', &long_name),
            file("etc/x", b"x"),
            ok.clone(),
        ])]),
        Expect::Warning("GNU long name of 4194304 bytes is over the 4096-byte cap"),
    ));
    cases.push(
        Case::new(
            "GNU long name of 4 MiB, cap raised",
            docker(vec![tar(&[
                extension(b'L', &long_name),
                file("etc/x", b"x"),
            ])]),
            Expect::Clean(|a| {
                assert!(
                    a.layer_index(0)
                        .unwrap()
                        .entries
                        .iter()
                        .any(|e| e.path.len() == 4 << 20)
                );
            }),
        )
        .limits(Limits::default().path_bytes(4 << 20)),
    );
    let bomb_name = {
        // 512 MiB of one name, a few hundred KiB once compressed.
        let mut layer = Vec::new();
        let mut gz = flate2::write::GzEncoder::new(&mut layer, flate2::Compression::fast());
        let size: u64 = 512 << 20;
        gz.write_all(header(b"././@LongLink", b'L', size).as_bytes())
            .unwrap();
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..512 {
            gz.write_all(&chunk).unwrap();
        }
        gz.write_all(&file("etc/x", b"x")).unwrap();
        gz.write_all(&[0u8; 1024]).unwrap();
        gz.finish().unwrap();
        layer
    };
    cases.push(Case::new(
        "gzip layer inflating to a 512 MiB name",
        docker(vec![bomb_name]),
        Expect::Warning("over the 4096-byte cap"),
    ));
    cases.push(Case::new(
        "path climbing with ..",
        docker(vec![tar(&[file("../../etc/passwd", b"x"), ok.clone()])]),
        Expect::Warning("climbs above /"),
    ));
    cases.push(Case::new(
        "absolute path",
        docker(vec![tar(&[file("/etc/abs", b"x")])]),
        Expect::Clean(|a| {
            assert!(
                a.layer_index(0)
                    .unwrap()
                    .entries
                    .iter()
                    .any(|e| &*e.path == b"etc/abs")
            );
        }),
    ));
    cases.push(Case::new(
        "hardlink to a missing entry",
        docker(vec![tar(&[link("etc/l", "etc/missing", b'1'), ok.clone()])]),
        Expect::Clean(|a| assert_eq!(a.image.total_file_bytes, 4)),
    ));
    cases.push(Case::new(
        "hardlink to a later entry",
        docker(vec![tar(&[link("etc/l", "etc/ok", b'1'), ok.clone()])]),
        Expect::Clean(|a| assert_eq!(a.image.total_file_bytes, 4)),
    ));
    cases.push(Case::new(
        "hardlink to itself",
        docker(vec![tar(&[link("etc/self", "etc/self", b'1')])]),
        Expect::Clean(|a| assert_eq!(a.image.total_file_bytes, 0)),
    ));
    cases.push(Case::new(
        "hardlink chain",
        docker(vec![tar(&[
            ok.clone(),
            link("etc/l1", "etc/ok", b'1'),
            link("etc/l2", "etc/l1", b'1'),
            link("etc/l3", "etc/l2", b'1'),
        ])]),
        Expect::Clean(|a| {
            assert_eq!(a.image.total_file_bytes, 4);
            assert_eq!(a.image.final_bytes, 4);
        }),
    ));
    cases.push(Case::new(
        "symlink loop",
        docker(vec![tar(&[
            link("a", "b", b'2'),
            link("b", "a", b'2'),
            ok.clone(),
        ])]),
        Expect::Clean(|a| assert_eq!(a.image.final_bytes, 4)),
    ));
    cases.push(Case::new(
        "whiteouts of paths that never existed",
        docker(vec![
            tar(std::slice::from_ref(&ok)),
            tar(&[
                file("etc/.wh.never", b""),
                file("nowhere/.wh..wh..opq", b""),
            ]),
        ]),
        Expect::Clean(|a| assert_eq!(a.image.final_bytes, 4)),
    ));
    cases.push(Case::new(
        "entry type unknown",
        docker(vec![tar(&[
            member(&header(b"etc/q", b'Q', 0), b""),
            ok.clone(),
        ])]),
        Expect::Warning("is not a file; skipped"),
    ));
    cases.push(Case::new(
        "extension header with no member after it",
        docker(vec![tar(&[ok.clone(), extension(b'L', b"etc/orphan")])]),
        Expect::Warning("never comes"),
    ));
    cases.push(Case::new(
        "zstd layer of 1 GiB of zeros (a bomb)",
        zstd_zero_bomb(1 << 30),
        Expect::Warning("a likely decompression bomb"),
    ));
    cases
}

/// A docker-archive whose one layer is a zstd tar of a file of `size` zero bytes, built
/// without ever holding the zeros.
fn zstd_zero_bomb(size: u64) -> Vec<u8> {
    let mut blob = Vec::new();
    let mut diff = Sha256::new();
    let mut zst = zstd::stream::write::Encoder::new(&mut blob, 19).unwrap();
    let mut put = |bytes: &[u8]| {
        diff.update(bytes);
        zst.write_all(bytes).unwrap();
    };
    put(header(b"zeros", b'0', size).as_bytes());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..size >> 20 {
        put(&chunk);
    }
    put(&[0u8; 1024]);
    zst.finish().unwrap();
    let diff_id: String = diff.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let diff_id = format!("sha256:{diff_id}");
    let config = json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]}, "history": []});
    outer(&[
        ("manifest.json", legacy_manifest()),
        ("config.json", serde_json::to_vec(&config).unwrap()),
        ("layer.tar", blob),
    ])
}

/// A `docker save` manifest naming `config.json` and one `layer.tar`.
fn legacy_manifest() -> Vec<u8> {
    serde_json::to_vec(&json!([{
        "Config": "config.json", "RepoTags": ["x:1"], "Layers": ["layer.tar"]}]))
    .unwrap()
}

fn image_cases() -> Vec<Case> {
    let layer = tar(&[file("etc/hello", b"hello")]);
    let good = docker(vec![layer.clone()]);
    let mut cases = Vec::new();

    cases.push(Case::new(
        "input is not an archive",
        vec![0xa5; 10_000],
        Expect::Error("not a container image"),
    ));
    cases.push(Case::new(
        "empty input",
        Vec::new(),
        Expect::Error("not a container image"),
    ));
    let (manifest, blobs) = small_oci_image();
    let manifest_text = String::from_utf8(legacy_manifest()).unwrap();
    cases.push(Case::new(
        "manifest.json cut in the middle",
        outer(&[
            ("manifest.json", manifest_text.as_bytes()[..20].to_vec()),
            ("layer.tar", layer.clone()),
        ]),
        Expect::Error("manifest.json"),
    ));
    cases.push(Case::new(
        "manifest points at a missing layer",
        outer(&[
            ("manifest.json", manifest_text.clone().into_bytes()),
            ("config.json", image(vec![layer.clone()]).config),
        ]),
        Expect::Error("layer.tar"),
    ));
    cases.push(Case::new(
        "manifest points at a missing config",
        outer(&[
            ("manifest.json", manifest_text.clone().into_bytes()),
            ("layer.tar", layer.clone()),
        ]),
        Expect::Error("config.json"),
    ));
    let mut wrong = layer.clone();
    wrong[600] ^= 1; // file data: the tar is still valid, its digest is not
    cases.push(
        Case::new(
            "layer digest does not match (--verify)",
            outer(&[
                ("manifest.json", manifest_text.clone().into_bytes()),
                ("config.json", image(vec![layer.clone()]).config),
                ("layer.tar", wrong),
            ]),
            Expect::Error("diff_id"),
        )
        .verify(),
    );
    cases.push(Case::new(
        "the same layer twice",
        docker(vec![layer.clone(), layer.clone()]),
        Expect::Clean(|a| {
            assert_eq!(a.image.total_file_bytes, 10);
            assert_eq!(a.image.final_bytes, 5);
        }),
    ));
    // Indexes nested 20 deep, each a real blob pointing at the next.
    let (deep_index, deep_blobs) = nested_indexes(20, &manifest, &blobs);
    cases.push(Case::new(
        "index nesting 20 deep",
        oci(deep_index.clone(), &deep_blobs),
        Expect::Error("nests deeper than 8 levels"),
    ));
    cases.push(
        Case::new(
            "index nesting 20 deep, cap raised",
            oci(deep_index, &deep_blobs),
            Expect::Clean(|a| assert_eq!(a.image.final_bytes, 5)),
        )
        .limits(Limits::default().index_depth(32)),
    );
    // An index stored under a digest that is not its own, pointing at itself.
    let loop_digest = format!("sha256:{}", "ab".repeat(32));
    let looping = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": INDEX,
        "manifests": [{"mediaType": INDEX, "digest": loop_digest, "size": 10}]}))
    .unwrap();
    cases.push(Case::new(
        "index that contains itself",
        oci(
            json!({"schemaVersion": 2, "mediaType": INDEX,
                "manifests": [{"mediaType": INDEX, "digest": loop_digest, "size": 10}]}),
            &[(loop_digest.clone(), looping)],
        ),
        Expect::Error("does not match its digest"),
    ));
    let mut huge = manifest_text.clone().into_bytes();
    huge.extend(std::iter::repeat_n(b' ', 70 << 20));
    cases.push(Case::new(
        "manifest.json of 70 MiB",
        outer(&[
            ("manifest.json", huge.clone()),
            ("config.json", image(vec![layer.clone()]).config),
            ("layer.tar", layer.clone()),
        ]),
        Expect::Error("cap"),
    ));
    cases.push(
        Case::new(
            "manifest.json of 70 MiB, cap raised",
            outer(&[
                ("manifest.json", huge),
                ("config.json", image(vec![layer.clone()]).config),
                ("layer.tar", layer.clone()),
            ]),
            Expect::Clean(|a| assert_eq!(a.image.final_bytes, 5)),
        )
        .limits(Limits::default().metadata_bytes(128 << 20)),
    );
    let mut long_member = vec![0u8; 0];
    long_member.extend(extension(b'L', &vec![b'm'; 1 << 20]));
    long_member.extend(file("whatever", b"x"));
    let mut with_long = long_member;
    with_long.extend(&good[..good.len() - 1024]);
    with_long.extend([0u8; 1024]);
    cases.push(Case::new(
        "outer archive member with a 1 MiB name",
        with_long,
        Expect::Warning("GNU long name of 1048576 bytes"),
    ));
    cases
}

/// `depth` indexes, each pointing at the next, the last at the image manifest.
fn nested_indexes(
    depth: usize,
    manifest: &[u8],
    blobs: &[(String, Vec<u8>)],
) -> (serde_json::Value, Vec<(String, Vec<u8>)>) {
    let mut blobs = blobs.to_vec();
    let mut inner = descriptor(MANIFEST, manifest);
    inner["platform"] = json!({"os": "linux", "architecture": "amd64"});
    for _ in 0..depth {
        let index = serde_json::to_vec(
            &json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [inner]}),
        )
        .unwrap();
        inner = descriptor(INDEX, &index);
        blobs.push((sha(&index), index));
    }
    (
        json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [inner]}),
        blobs,
    )
}

fn scale_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    // A million empty files, gzip-compressed as a real layer would be.
    let million = {
        let mut layer = Vec::new();
        let mut gz = flate2::write::GzEncoder::new(&mut layer, flate2::Compression::fast());
        for i in 0..1_000_000u32 {
            let name = format!("d{}/f{i}", i % 1000);
            gz.write_all(header(name.as_bytes(), b'0', 0).as_bytes())
                .unwrap();
        }
        gz.write_all(&[0u8; 1024]).unwrap();
        gz.finish().unwrap();
        layer
    };
    cases.push(Case::new(
        "a million empty files",
        docker(vec![million.clone()]),
        Expect::Clean(|a| {
            assert_eq!(a.layers[0].entries, 1_000_000);
            assert_eq!(a.image.final_files, 1_000_000);
        }),
    ));
    cases.push(
        Case::new(
            "a million empty files over --max-entries 999999",
            docker(vec![million]),
            Expect::Error("more than 999999 tar entries"),
        )
        .limits(Limits::default().entries(999_999)),
    );
    // A file 100,000 directories deep: 200 KB of path, over the default cap...
    let deep: String = "a/".repeat(100_000) + "leaf";
    let deep_layer = {
        let mut h = header(b"x", b'0', 4);
        h.set_cksum();
        tar(&[
            extension(b'L', deep.as_bytes()),
            member(&h, b"deep"),
            file("etc/ok", b"fine"),
        ])
    };
    cases.push(Case::new(
        "a path 100,000 directories deep",
        docker(vec![deep_layer]),
        Expect::Warning("is over the 4096-byte cap"),
    ));
    // A path 2,000 directories deep fits the default cap: the tree, the JSON and the summary
    // must not recurse that deep.
    // One 4-byte file under `levels` directories, its path in a GNU long name.
    let deep_image = |levels: usize| {
        let deep: String = "a/".repeat(levels) + "leaf";
        docker(vec![tar(&[
            extension(b'L', deep.as_bytes()),
            member(&header(b"x", b'0', 4), b"deep"),
        ])])
    };
    cases.push(Case::new(
        "a path 2,000 directories deep",
        deep_image(2_000),
        Expect::Clean(|a| {
            assert_eq!(a.image.final_bytes, 4);
            assert_eq!(a.tree.node_count(), 2_002);
            let json = dive_core::report::to_json(a);
            assert!(json.to_string().contains("/leaf"));
            let text = dive_core::report::summary(a, Default::default());
            assert!(text.contains("leaf"));
        }),
    ));
    // With the cap raised, depth costs memory linearly: a node keeps its name, not its path
    // (with full paths, 20,000 levels held ~800 MB of path bytes).
    cases.push(
        Case::new(
            "a path 20,000 directories deep, cap raised",
            deep_image(20_000),
            Expect::Clean(|a| {
                assert_eq!(a.image.final_bytes, 4);
                assert_eq!(a.tree.node_count(), 20_002);
            }),
        )
        .limits(Limits::default().path_bytes(64 * 1024)),
    );
    // A package database over the metadata cap: not read, said so.
    let status = {
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(&format!(
                "Package: pkg{i}\nStatus: install ok installed\nVersion: 1.0\nInstalled-Size: 1\n\n"
            ));
        }
        text
    };
    cases.push(
        Case::new(
            "dpkg status over --max-metadata 1MiB",
            docker(vec![tar(&[file("var/lib/dpkg/status", status.as_bytes())])]),
            Expect::Warning("package database of"),
        )
        .limits(Limits::default().metadata_bytes(1 << 20)),
    );
    cases
}

#[test]
fn every_hostile_input_gets_an_error_or_a_warning_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut table = vec!["| case | peak RSS | outcome (by path; the stream agrees) |".to_owned()];
    table.push("|---|---:|---|".to_owned());
    let groups: [fn() -> Vec<Case>; 3] = [layer_cases, image_cases, scale_cases];
    let (mut count, mut worst) = (0, 0);
    for group in groups {
        // HOSTILE_CASE=text runs only the cases whose name contains it (by hand).
        let only = std::env::var("HOSTILE_CASE").unwrap_or_default();
        for case in group().into_iter().filter(|c| c.name.contains(&only)) {
            count += 1;
            dive_testdata::rss::reset_peak_kib().unwrap();
            let result = run(&case, dir.path());
            let peak = dive_testdata::rss::peak_kib().unwrap() / 1024;
            worst = worst.max(peak);
            match result {
                Ok(outcome) => table.push(format!(
                    "| {} | {peak} MiB | {} |",
                    case.name,
                    cut(&outcome, 150)
                )),
                Err(failure) => failures.push(format!("{}: {failure}", case.name)),
            }
        }
    }
    eprintln!("{}", table.join("\n"));
    eprintln!("{count} cases; highest peak RSS of one case: {worst} MiB");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Each peak includes the test's own inputs (all of a group, built up front, and the
    // case's bytes twice); the analysis adds a bounded amount, most for a million entries
    // (~540 bytes each). A 512 MiB name or a 1 GiB file read into memory would break this.
    assert!(worst < 1024, "peak RSS {worst} MiB");
}
