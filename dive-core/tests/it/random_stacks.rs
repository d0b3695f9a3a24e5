//! Random layer stacks (adds, overwrites, deletes, opaque directories, file ↔ directory
//! changes, symlinks, hardlinks) against the generator's ledger, a naive model that replays
//! the operations on a map of paths: the merged tree, the byte ledger and the hidden bytes
//! must agree, read by path (seeking) and by stream (hashing).

use std::collections::BTreeSet;

use dive_testdata::{ImageSpec, LayerSpec, Op};
use proptest::prelude::*;

use crate::common;

const DIRS: [&str; 4] = ["", "a", "b", "a/c"];
/// `c` is both a name and a directory, so paths change type between layers.
const NAMES: [&str; 4] = ["x", "y", "z", "c"];

#[derive(Debug, Clone)]
enum Pick {
    File { at: usize, size: u64, seed: u64 },
    Dir { at: usize },
    Symlink { at: usize },
    Hardlink { at: usize },
    Whiteout { at: usize },
    Opaque { dir: usize },
}

fn path(at: usize) -> String {
    let (dir, name) = (DIRS[at / NAMES.len() % DIRS.len()], NAMES[at % NAMES.len()]);
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn pick() -> impl Strategy<Value = Pick> {
    let at = 0..DIRS.len() * NAMES.len();
    prop_oneof![
        4 => (at.clone(), 0u64..3000, 0u64..3).prop_map(|(at, size, seed)| Pick::File { at, size, seed }),
        1 => at.clone().prop_map(|at| Pick::Dir { at }),
        1 => at.clone().prop_map(|at| Pick::Symlink { at }),
        1 => at.clone().prop_map(|at| Pick::Hardlink { at }),
        2 => at.prop_map(|at| Pick::Whiteout { at }),
        1 => (1..DIRS.len()).prop_map(|dir| Pick::Opaque { dir }),
    ]
}

/// Turns picks into a layer a real builder could write: each path added once, no path
/// added under another added in the same layer, hardlinks to a file added before them.
fn layer(picks: &[Pick], n: usize) -> LayerSpec {
    let mut added: Vec<String> = Vec::new();
    let mut files: Vec<String> = Vec::new();
    let mut ops = Vec::new();
    let clashes = |added: &[String], p: &str| {
        added
            .iter()
            .any(|a| a == p || a.starts_with(&format!("{p}/")) || p.starts_with(&format!("{a}/")))
    };
    for pick in picks {
        match *pick {
            Pick::Whiteout { at } => ops.push(Op::Whiteout {
                path: path(at).into_bytes(),
            }),
            Pick::Opaque { dir } => ops.push(Op::Opaque {
                dir: DIRS[dir].as_bytes().to_vec(),
            }),
            Pick::File { at, size, seed } if !clashes(&added, &path(at)) => {
                added.push(path(at));
                files.push(path(at));
                ops.push(Op::file(&path(at), size, seed));
            }
            Pick::Dir { at } if !clashes(&added, &path(at)) => {
                added.push(path(at));
                ops.push(Op::dir(&path(at)));
            }
            Pick::Symlink { at } if !clashes(&added, &path(at)) => {
                added.push(path(at));
                ops.push(Op::symlink(&path(at), "x"));
            }
            Pick::Hardlink { at } if !clashes(&added, &path(at)) => {
                if let Some(target) = files.first() {
                    added.push(path(at));
                    ops.push(Op::Hardlink {
                        path: path(at).into_bytes(),
                        target: target.clone().into_bytes(),
                    });
                }
            }
            _ => {}
        }
    }
    // A whiteout and an add of one path in one layer are legal; two whiteouts are not.
    let mut seen = BTreeSet::new();
    ops.retain(|op| match op {
        Op::Whiteout { path } | Op::Opaque { dir: path } => seen.insert(path.clone()),
        _ => true,
    });
    LayerSpec::new(&format!("RUN step {n}"), ops)
}

fn stack() -> impl Strategy<Value = ImageSpec> {
    prop::collection::vec(prop::collection::vec(pick(), 1..8), 1..6).prop_map(|layers| {
        let layers = layers
            .iter()
            .enumerate()
            .map(|(n, picks)| layer(picks, n))
            .collect();
        ImageSpec::new("random/stack:1", layers)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_stacks_match_the_naive_model(spec in stack()) {
        let built = dive_testdata::build(&spec).unwrap();
        let ledger = dive_testdata::ledger(&spec);
        let archive = dive_testdata::docker_legacy(&[&built], false).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("image.tar");
        std::fs::write(&file, &archive).unwrap();
        common::assert_matches_ledger("by path", &common::analyze_path(&file), &ledger);
        common::assert_matches_ledger("by stream", &common::analyze_stream(archive), &ledger);
    }
}
