//! Guards on how dependencies are built: a wrong feature silently costs speed.

use std::process::Command;

/// The features cargo resolves for `package`'s normal build, as `cargo tree` prints them.
fn features_reaching(package: &str, of: &str) -> String {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--locked",
            "--prefix",
            "none",
            "-e",
            "normal,features",
        ])
        .args(["-p", package, "-i", of])
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
        let tree = features_reaching(package, "zlib-rs");
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
        let fallback = features_reaching(package, "miniz_oxide");
        assert!(
            fallback.contains("did not match any packages"),
            "{package} builds miniz_oxide:\n{fallback}"
        );
    }
}
