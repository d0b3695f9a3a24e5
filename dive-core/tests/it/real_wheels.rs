//! Attribution on real wheels from `PyPI`, built outside the repository by
//! `testdata/scripts/real-wheels-image.sh DIR`, then:
//! `DIVE_RS_REAL_WHEELS=DIR cargo test -p dive-core --test it real_wheels -- --ignored --nocapture`

use std::path::PathBuf;

use dive_core::{Source, analyze};

use crate::common;

#[test]
#[ignore = "needs an image built from PyPI wheels by testdata/scripts/real-wheels-image.sh"]
fn real_records_agree_byte_for_byte() {
    let Some(dir) = std::env::var_os("DIVE_RS_REAL_WHEELS").map(PathBuf::from) else {
        panic!("set DIVE_RS_REAL_WHEELS to the directory real-wheels-image.sh wrote");
    };
    let analysis =
        analyze(Source::parse(&format!("oci:{}:real", dir.join("oci").display())).unwrap())
            .unwrap();
    common::assert_pip_matches_python(&analysis, &dir.join("rootfs"), "real wheels");
    common::assert_attribution_adds_up("real wheels", &analysis);
    eprintln!("unowned: {:?}", analysis.attribution.unowned);
}
