//! Reinstalls told from look-alikes (`dive_testdata::reinstall`): an apt step that rewrites
//! dpkg's `status` and deletes docs installs nothing again, nor does `chown -R` or `chmod -R`
//! over installed packages (their records written again as they were), while `apt-get
//! install --reinstall`, `pip install --force-reinstall`, a pip upgrade and `apk upgrade` do.
//! Expected bytes come from the generator's package tables and its ledger, never from the
//! analysis.

use dive_core::Analysis;
use dive_core::attribution::{Ecosystem, Reinstall, WasteClass};
use dive_core::report::{self, ReportFormat};
use dive_testdata::reinstall::{
    ALPINE_BASE, BASE_DEBS, OsPackage, PIP_INSTALLED, SED_EDITED, SITE, SOURCE_DATE_EPOCH,
    URLLIB3_OLD, bytes_of, deb_ops, rewrite_timestamp, wheel_ops,
};
use dive_testdata::{Compression, ImageSpec, Ledger};

use crate::common;

/// The analysis of `spec` in each of two forms (a plain layer is read in place, a gzip one
/// hashed as it streams), each checked against the ledger first.
fn analyses(spec: &ImageSpec) -> Vec<(Analysis, Ledger)> {
    let ledger = dive_testdata::ledger(spec);
    [Compression::None, Compression::Gzip]
        .into_iter()
        .map(|compression| {
            let built = dive_testdata::build(spec).unwrap();
            let dir = common::oci_dir(&built, compression);
            let analysis = common::analyze_path(dir.path());
            common::assert_matches_ledger(&spec.tag, &analysis, &ledger);
            common::assert_attribution_adds_up(&spec.tag, &analysis);
            (analysis, ledger.clone())
        })
        .collect()
}

/// Hidden bytes the ledger has for paths among `paths`, added by `added`, hidden by `by`.
fn ledger_hidden(ledger: &Ledger, paths: &[String], added: usize, by: usize) -> u64 {
    ledger
        .hidden
        .iter()
        .filter(|h| h.added_in_layer == added && h.hidden_by_layer == by)
        .filter(|h| paths.iter().any(|p| p.as_bytes() == h.path.as_slice()))
        .map(|h| h.bytes)
        .sum()
}

fn op_paths(ops: &[dive_testdata::Op]) -> Vec<String> {
    ops.iter()
        .map(|op| String::from_utf8_lossy(op.path()).into_owned())
        .collect()
}

fn summary(
    r: &Reinstall,
) -> (
    Ecosystem,
    &str,
    &str,
    Option<&str>,
    Option<&str>,
    usize,
    usize,
) {
    (
        r.ecosystem,
        r.name.as_str(),
        r.location.as_str(),
        r.old_version.as_deref(),
        r.new_version.as_deref(),
        r.added_in_layer,
        r.replaced_in_layer,
    )
}

fn class_bytes(r: &Reinstall, class: WasteClass) -> u64 {
    r.by_class
        .iter()
        .filter(|(c, _)| *c == class)
        .map(|(_, b)| b)
        .sum()
}

/// The reinstall finding in the text report, in `report --format json` and in the findings:
/// its saving is `bytes`, its first line is `line`, and it states the rule.
fn assert_reported(analysis: &Analysis, line: &str, bytes: u64) {
    let findings = report::findings(analysis);
    let finding = findings
        .iter()
        .find(|f| f.title.contains("installed again"))
        .unwrap_or_else(|| panic!("no reinstall finding: {findings:#?}"));
    assert_eq!(finding.saving, bytes);
    assert!(finding.evidence[0].contains(line), "{:?}", finding.evidence);
    assert!(
        finding
            .evidence
            .iter()
            .any(|e| e.contains("own files") && e.contains("dpkg status")),
        "the rule is stated: {:?}",
        finding.evidence
    );
    let text = report::optimisation_report(analysis, ReportFormat::Text, true);
    assert!(text.contains(line), "{text}");
    let json = report::report_json(analysis);
    let reported = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["title"].as_str().unwrap().contains("installed again"))
        .unwrap();
    assert_eq!(reported["saving"], bytes);
    // Savings stay disjoint: never more than what ships hidden or wasted.
    let waste: u64 = analysis.attribution.waste.iter().map(|w| w.bytes).sum();
    assert!(report::total_saving(&findings) <= waste);
}

/// `apt-get install -y curl && sed -i … /etc/beta.conf && rm -rf /usr/share/doc/*` over a
/// dpkg base: the new `status` lists every package and beta's conffile is written again,
/// but no package's own record is, so nothing is installed again. The base's docs ship as
/// deleted hidden bytes, told by their own finding in the text and JSON reports.
#[test]
fn an_apt_layer_that_deletes_docs_installs_nothing_again() {
    let spec = dive_testdata::reinstall::apt_install_deleting_docs();
    let docs: Vec<(&str, u64)> = BASE_DEBS
        .iter()
        .flat_map(|d| d.files)
        .filter(|f| f.0.starts_with("usr/share/doc/"))
        .map(|f| (f.0, f.1))
        .collect();
    let doc_bytes: u64 = docs.iter().map(|d| d.1).sum();
    assert_eq!(docs.len(), 7);
    for (analysis, ledger) in analyses(&spec) {
        assert!(
            analysis.attribution.reinstalls.is_empty(),
            "{:#?}",
            analysis.attribution.reinstalls
        );
        let json = report::to_json(&analysis);
        common::assert_valid(&json, "analysis.v4.schema.json");
        assert_eq!(json["reinstalls"], serde_json::json!([]));

        // The ledger's naive model deletes the same docs, added by layer 0, hidden by 1.
        let doc_paths: Vec<String> = docs.iter().map(|d| d.0.to_owned()).collect();
        assert_eq!(ledger_hidden(&ledger, &doc_paths, 0, 1), doc_bytes);
        let deleted = analysis
            .attribution
            .waste
            .iter()
            .find(|w| w.class == WasteClass::HiddenDeleted)
            .unwrap();
        assert_eq!(deleted.bytes, doc_bytes);
        // Each base package still owns its hidden docs (beta its old conffile too).
        let beta = analysis
            .attribution
            .packages
            .iter()
            .find(|p| p.name == "beta")
            .unwrap();
        let beta_docs: u64 = BASE_DEBS[1]
            .files
            .iter()
            .filter(|f| f.0.starts_with("usr/share/doc/") || f.0 == "etc/beta.conf")
            .map(|f| f.1)
            .sum();
        assert_eq!(beta.hidden_bytes, beta_docs);

        let findings = report::findings(&analysis);
        assert!(
            !findings.iter().any(|f| f.title.contains("installed again")),
            "{findings:#?}"
        );
        let finding = findings
            .iter()
            .find(|f| f.class == Some(WasteClass::HiddenDeleted))
            .unwrap_or_else(|| panic!("no finding for the deleted docs: {findings:#?}"));
        assert_eq!(finding.saving, doc_bytes);
        let text = report::optimisation_report(&analysis, ReportFormat::Text, true);
        assert!(
            text.contains("Files deleted by later layers still ship")
                && text.contains(&format!("save {doc_bytes}\n")),
            "{text}"
        );
        assert!(!text.contains("installed again"), "{text}");
        let json = report::report_json(&analysis);
        let reported = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["class"] == "hidden-deleted")
            .unwrap_or_else(|| panic!("{json:#}"));
        assert_eq!(reported["saving"], doc_bytes);
    }
}

/// `apt-get install --reinstall alpha`: dpkg writes alpha's files, `.list` and `.md5sums`
/// again; every byte of alpha's layer-0 copy ships twice. beta and gamma, listed by the same
/// new `status`, are not installed again.
#[test]
fn apt_get_install_reinstall_installs_that_package_again() {
    let spec = dive_testdata::reinstall::apt_reinstall();
    let alpha = deb_ops(&BASE_DEBS[0]);
    let expected = bytes_of(&alpha);
    for (analysis, ledger) in analyses(&spec) {
        assert_eq!(ledger_hidden(&ledger, &op_paths(&alpha), 0, 1), expected);
        let reinstalls = &analysis.attribution.reinstalls;
        assert_eq!(reinstalls.len(), 1, "{reinstalls:#?}");
        let r = &reinstalls[0];
        assert_eq!(
            summary(r),
            (
                Ecosystem::Dpkg,
                "alpha",
                "/var/lib/dpkg/status",
                Some("1.0-1"),
                Some("1.0-1"),
                0,
                1
            )
        );
        assert_eq!(r.hidden_bytes, expected);
        // Its files come back with the same bytes: a metadata-only rewrite.
        let files: u64 = BASE_DEBS[0].files.iter().map(|f| f.1).sum();
        assert_eq!(class_bytes(r, WasteClass::HiddenMetadataOnly), expected);
        assert!(files < expected);
        let json = report::to_json(&analysis);
        common::assert_valid(&json, "analysis.v4.schema.json");
        assert_eq!(json["reinstalls"][0]["hidden_bytes"], expected);
        assert_reported(
            &analysis,
            "alpha 1.0-1 from layer 0 is installed again at 1.0-1 in layer 1",
            expected,
        );
    }
}

/// `pip install --force-reinstall --no-deps requests==2.31.0`: pip deletes requests' dirs
/// and writes them again (opaque dirs under overlayfs). The old copy is hidden as deleted,
/// yet the same paths were written again with requests' own dist-info: a reinstall of
/// requests alone.
#[test]
fn pip_force_reinstall_installs_that_dist_again() {
    let spec = dive_testdata::reinstall::pip_force_reinstall();
    let requests = wheel_ops(&PIP_INSTALLED[0]);
    let expected = bytes_of(&requests);
    for (analysis, ledger) in analyses(&spec) {
        assert_eq!(ledger_hidden(&ledger, &op_paths(&requests), 1, 2), expected);
        let reinstalls = &analysis.attribution.reinstalls;
        assert_eq!(reinstalls.len(), 1, "{reinstalls:#?}");
        let r = &reinstalls[0];
        assert_eq!(
            summary(r),
            (
                Ecosystem::Pip,
                "requests",
                format!("/{SITE}").as_str(),
                Some("2.31.0"),
                Some("2.31.0"),
                1,
                2
            )
        );
        assert_eq!(r.hidden_bytes, expected);
        assert_eq!(class_bytes(r, WasteClass::HiddenDeleted), expected);
        assert_reported(
            &analysis,
            "requests 2.31.0 from layer 1 is installed again at 2.31.0 in layer 2",
            expected,
        );
    }
}

/// `pip install --upgrade urllib3==2.2.1`: the modules both versions have are overwritten,
/// `packages/six.py` and the old dist-info are deleted. Every byte of 1.26.18 counts, the
/// deleted ones included.
#[test]
fn a_pip_upgrade_counts_the_old_dist_info_it_deleted() {
    let spec = dive_testdata::reinstall::pip_upgrade();
    let old = wheel_ops(&URLLIB3_OLD);
    let expected = bytes_of(&old);
    // Overwritten: the modules 2.2.1 ships at the same paths; deleted: the rest.
    let overwritten: u64 = URLLIB3_OLD
        .files
        .iter()
        .filter(|f| f.0 != "urllib3/packages/six.py")
        .map(|f| f.1)
        .sum();
    for (analysis, ledger) in analyses(&spec) {
        assert_eq!(ledger_hidden(&ledger, &op_paths(&old), 1, 2), expected);
        let reinstalls = &analysis.attribution.reinstalls;
        assert_eq!(reinstalls.len(), 1, "{reinstalls:#?}");
        let r = &reinstalls[0];
        assert_eq!(
            summary(r),
            (
                Ecosystem::Pip,
                "urllib3",
                format!("/{SITE}").as_str(),
                Some("1.26.18"),
                Some("2.2.1"),
                1,
                2
            )
        );
        assert_eq!(r.hidden_bytes, expected);
        assert_eq!(class_bytes(r, WasteClass::HiddenOverwritten), overwritten);
        assert_eq!(
            class_bytes(r, WasteClass::HiddenDeleted),
            expected - overwritten
        );
        assert_reported(
            &analysis,
            "urllib3 1.26.18 from layer 1 is replaced by 2.2.1 in layer 2",
            expected,
        );
    }
}

/// apk keeps every package in one database, rewritten by every apk step: `apk add
/// ca-certificates` (whose trigger writes ca-certificates-bundle's one file again, same
/// bytes) plus a `sed -i` on a file of alpine-baselayout-data installs neither again;
/// `apk upgrade busybox`, giving it a new version, does.
#[test]
fn apk_reinstalls_are_upgrades_not_rewrites() {
    let spec = dive_testdata::reinstall::apk_add_then_upgrade();
    let busybox: &OsPackage = &ALPINE_BASE[1];
    let expected: u64 = busybox.files.iter().map(|f| f.1).sum();
    for (analysis, ledger) in analyses(&spec) {
        let paths: Vec<String> = busybox.files.iter().map(|f| f.0.to_owned()).collect();
        assert_eq!(ledger_hidden(&ledger, &paths, 0, 2), expected);
        let reinstalls = &analysis.attribution.reinstalls;
        assert_eq!(reinstalls.len(), 1, "{reinstalls:#?}");
        let r = &reinstalls[0];
        assert_eq!(
            summary(r),
            (
                Ecosystem::Apk,
                "busybox",
                "/lib/apk/db/installed",
                Some("1.36.1-r15"),
                Some("1.36.1-r19"),
                0,
                2
            )
        );
        assert_eq!(r.hidden_bytes, expected);
        // The rewritten bundle and the edited profile still ship hidden, each counted with
        // its package.
        let hidden = |name: &str| {
            analysis
                .attribution
                .packages
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.hidden_bytes)
        };
        let size = |package: &OsPackage, path: &str| {
            package.files.iter().find(|f| f.0 == path).map(|f| f.1)
        };
        assert_eq!(
            hidden("alpine-baselayout-data"),
            size(&ALPINE_BASE[2], "etc/profile")
        );
        assert_eq!(
            hidden("ca-certificates-bundle"),
            size(&ALPINE_BASE[3], "etc/ssl/certs/ca-certificates.crt")
        );
        assert_reported(
            &analysis,
            "busybox 1.36.1-r15 from layer 0 is replaced by 1.36.1-r19 in layer 2",
            expected,
        );
    }
}

/// Two wheels of one layer that both list `nvidia/__init__.py` (`owned_image`): the second
/// entry hides the first within the layer, which installs nothing again.
#[test]
fn a_path_two_wheels_share_in_one_layer_is_no_reinstall() {
    let spec = dive_testdata::owned_image();
    let shared = "usr/local/lib/python3.11/site-packages/nvidia/__init__.py";
    for (analysis, ledger) in analyses(&spec) {
        // The ledger hides the first copy within layer 1, as dive-core does.
        assert!(
            ledger.hidden.iter().any(|h| h.path == shared.as_bytes()
                && h.added_in_layer == 1
                && h.hidden_by_layer == 1),
            "{:?}",
            ledger.hidden
        );
        assert!(
            analysis.attribution.reinstalls.is_empty(),
            "{:#?}",
            analysis.attribution.reinstalls
        );
    }
}

/// Asserts that nothing in `analysis` counts as installed again: no reinstall in the
/// analysis, its JSON, the findings or the text report.
fn assert_no_reinstall(analysis: &Analysis) {
    assert!(
        analysis.attribution.reinstalls.is_empty(),
        "{:#?}",
        analysis.attribution.reinstalls
    );
    let json = report::to_json(analysis);
    common::assert_valid(&json, "analysis.v4.schema.json");
    assert_eq!(json["reinstalls"], serde_json::json!([]));
    let findings = report::findings(analysis);
    assert!(
        !findings.iter().any(|f| f.title.contains("installed again")),
        "{findings:#?}"
    );
    let text = report::optimisation_report(analysis, ReportFormat::Text, true);
    assert!(!text.contains("installed again"), "{text}");
}

/// Bytes of hidden class `class` in the analysis's waste.
fn waste_bytes(analysis: &Analysis, class: WasteClass) -> u64 {
    analysis
        .attribution
        .waste
        .iter()
        .filter(|w| w.class == class)
        .map(|w| w.bytes)
        .sum()
}

/// `chown -R app:app /usr /var/lib/dpkg && sed -i …` over dpkg packages and pip dists: every
/// file and record there written again with the same bytes and times, another owner; one
/// module edited. Every package's files and own record (`.list`, dist-info) are in the
/// layer, as on a reinstall, yet none is installed again: its old copy ships hidden as a
/// metadata-only rewrite, the edited module as overwritten, still owned by its packages.
#[test]
fn chown_r_over_installed_packages_installs_nothing_again() {
    let spec = dive_testdata::reinstall::chown_recursive();
    let rewritten = &spec.layers[2].ops;
    let (module, edited, _) = SED_EDITED;
    // Records of every package are among the rewrites, so the rule is put to the test.
    for record in [
        "var/lib/dpkg/info/alpha.list".to_owned(),
        format!("{SITE}/requests-2.31.0.dist-info/RECORD"),
    ] {
        assert!(rewritten.iter().any(|op| op.path() == record.as_bytes()));
    }
    let requests = bytes_of(&wheel_ops(&PIP_INSTALLED[0]));
    for (analysis, ledger) in analyses(&spec) {
        assert_no_reinstall(&analysis);
        let paths = op_paths(rewritten);
        let hidden = ledger_hidden(&ledger, &paths, 0, 2) + ledger_hidden(&ledger, &paths, 1, 2);
        assert_eq!(hidden, bytes_of(rewritten));
        assert_eq!(
            waste_bytes(&analysis, WasteClass::HiddenMetadataOnly),
            hidden - edited,
            "every rewrite but the sed's kept the bytes"
        );
        assert_eq!(
            waste_bytes(&analysis, WasteClass::HiddenOverwritten),
            edited,
            "{module}"
        );
        let package = |name: &str| {
            analysis
                .attribution
                .packages
                .iter()
                .find(|p| p.name == name)
                .unwrap_or_else(|| panic!("no package {name}"))
        };
        assert_eq!(package("requests").hidden_bytes, requests);
        // alpha's files are all under /usr, its `.list` and `.md5sums` in /var/lib/dpkg.
        assert_eq!(
            package("alpha").hidden_bytes,
            bytes_of(&deb_ops(&BASE_DEBS[0]))
        );
        let findings = report::findings(&analysis);
        let finding = findings
            .iter()
            .find(|f| f.class == Some(WasteClass::HiddenMetadataOnly))
            .unwrap_or_else(|| panic!("no metadata-only finding: {findings:#?}"));
        assert_eq!(finding.saving, hidden - edited);
    }
}

/// `chmod -R g=u /usr /var/lib/dpkg` over dpkg packages and pip dists: every file and
/// record there written again with the same bytes, owner and time, group bits set. No
/// package is installed again; the old copies ship hidden as metadata-only rewrites, and the
/// final files have the new modes.
#[test]
fn chmod_r_over_installed_packages_installs_nothing_again() {
    let spec = dive_testdata::reinstall::chmod_recursive();
    let rewritten = &spec.layers[2].ops;
    for (analysis, ledger) in analyses(&spec) {
        assert_no_reinstall(&analysis);
        let paths = op_paths(rewritten);
        let hidden = ledger_hidden(&ledger, &paths, 0, 2) + ledger_hidden(&ledger, &paths, 1, 2);
        assert_eq!(hidden, bytes_of(rewritten));
        assert_eq!(
            waste_bytes(&analysis, WasteClass::HiddenMetadataOnly),
            hidden
        );
        let tree = common::final_tree(&analysis);
        let record = format!("{SITE}/requests-2.31.0.dist-info/RECORD");
        assert_eq!(tree[record.as_bytes()].2 & 0o777, 0o664);
        assert_eq!(tree[&b"var/lib/dpkg/info/alpha.list"[..]].2 & 0o777, 0o664);
    }
}

/// BuildKit's `rewrite-timestamp` with `SOURCE_DATE_EPOCH` gives every file its layers write
/// one time. `pip install --force-reinstall` then writes requests' dist-info again with the
/// same bytes and the same time as the pip layer below, as a chown would: no reinstall is
/// told (none rather than a chown told as one), and the old copy stays in its hidden class.
/// `apt-get install --reinstall` over a base built before the epoch still is: the new
/// `.list` has the epoch's time, the base's its own.
#[test]
fn under_source_date_epoch_a_same_version_reinstall_is_told_only_over_an_older_layer() {
    let spec = rewrite_timestamp(
        dive_testdata::reinstall::pip_force_reinstall(),
        SOURCE_DATE_EPOCH,
    );
    let requests = bytes_of(&wheel_ops(&PIP_INSTALLED[0]));
    for (analysis, _) in analyses(&spec) {
        assert_no_reinstall(&analysis);
        assert_eq!(waste_bytes(&analysis, WasteClass::HiddenDeleted), requests);
    }

    let spec = rewrite_timestamp(dive_testdata::reinstall::apt_reinstall(), SOURCE_DATE_EPOCH);
    let alpha = bytes_of(&deb_ops(&BASE_DEBS[0]));
    for (analysis, _) in analyses(&spec) {
        let reinstalls = &analysis.attribution.reinstalls;
        assert_eq!(reinstalls.len(), 1, "{reinstalls:#?}");
        assert_eq!(
            (reinstalls[0].name.as_str(), reinstalls[0].hidden_bytes),
            ("alpha", alpha)
        );
    }
}
