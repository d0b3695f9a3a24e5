//! Guards on how dependencies are built: a wrong feature silently costs speed.

use std::process::Command;

/// What `cargo tree` prints of `package`'s normal build (no dev-dependencies: a test's own
/// dependencies may unify other features, which the shipped binary never sees).
fn tree(package: &str, more: &[&str]) -> String {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--locked",
            "--prefix",
            "none",
            "-e",
            "no-dev,features",
        ])
        .args(["-p", package])
        .args(more)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let errors = String::from_utf8_lossy(&output.stderr).into_owned();
    format!("{text}{errors}")
}

#[test]
fn gzip_is_inflated_by_zlib_rs_with_runtime_cpu_detection() {
    // Without `runtime_detection` zlib-rs is built without `std` and never takes its AVX2
    // paths (about 25 % slower here); without `zlib-rs` flate2 falls back to miniz_oxide.
    for package in ["dive-core", "dive-tui"] {
        let tree = tree(package, &["-i", "zlib-rs"]);
        for needed in [
            "flate2 feature \"zlib-rs\"",
            "flate2 feature \"runtime_detection\"",
            "zlib-rs feature \"std\"",
        ] {
            assert!(
                tree.contains(needed),
                "{package}: missing {needed}:\n{tree}"
            );
        }
        let all = self::tree(package, &[]);
        assert!(
            !all.lines().any(|l| l.starts_with("miniz_oxide ")),
            "{package} builds miniz_oxide:\n{all}"
        );
    }
}
