//! `fix` on crafted images: however many caches and steps an image holds, the rules read
//! the later steps' text a bounded number of times, and what they do not patch is listed.

use dive_testdata::fix_cases::{Deb, apt_layer};
use dive_testdata::{Compression, ImageSpec, LayerSpec, Op, build, docker25};

use super::caches::{LATER_SCANS, MAX_CACHE_DIRS};
use crate::{Analysis, AnalyzerBuilder, Source, WasteClass};

/// `fix`'s plan of `dockerfile` for `analysis`, default options.
fn planned(analysis: &Analysis, dockerfile: &str) -> super::FixPlan {
    super::plan(
        analysis,
        "Dockerfile",
        dockerfile.as_bytes(),
        &Default::default(),
    )
    .unwrap()
}

/// The analysis of the image `layers` make, tagged `tag`, read as a stream.
fn analysed(tag: &str, layers: Vec<LayerSpec>) -> Analysis {
    let image = build(&ImageSpec::new(tag, layers)).unwrap();
    let bytes = docker25(&[&image], Compression::None, false).unwrap();
    AnalyzerBuilder::new()
        .build()
        .analyze(Source::reader("-", std::io::Cursor::new(bytes)), &())
        .unwrap()
}

/// 400 `RUN`s, each leaving a uv cache under a home of its own, and a Dockerfile of them.
#[test]
fn many_caches_cost_a_bounded_number_of_scans() {
    const STEPS: usize = 400;
    let mut layers = vec![LayerSpec::new(
        "/bin/sh -c #(nop) ADD file:0 in / ",
        vec![Op::file("bin/sh", 1_000, 1)],
    )];
    let mut dockerfile = String::from("FROM debian:12-slim\n");
    for i in 0..STEPS {
        let command = format!("uv pip install --system pkg{i}");
        dockerfile.push_str(&format!("RUN {command}\n"));
        layers.push(LayerSpec::new(
            &format!("RUN /bin/sh -c {command} # buildkit"),
            vec![Op::file(
                &format!("home/u{i}/.cache/uv/wheels/w"),
                100,
                10 + i as u64,
            )],
        ));
    }
    let analysis = analysed("crafted/uv:1", layers);
    LATER_SCANS.with(|c| c.set(0));
    let plan = planned(&analysis, &dockerfile);
    let scans = LATER_SCANS.with(std::cell::Cell::get);
    assert!(scans <= MAX_CACHE_DIRS as u64, "{scans} scans");
    assert_eq!(plan.fixes.len(), MAX_CACHE_DIRS);
    let capped = plan
        .listed
        .iter()
        .filter(|l| l.class == WasteClass::UvCache && l.why.contains("cache directories"))
        .count();
    assert_eq!(capped, STEPS - MAX_CACHE_DIRS);
    let split = plan
        .classes
        .iter()
        .find(|c| c.class == WasteClass::UvCache)
        .unwrap();
    assert_eq!(split.patched + split.listed, split.bytes);
    assert_eq!(split.bytes, 100 * STEPS as u64);
}

/// `&&`, `rm` and globs mean what `fix` writes only in a POSIX shell without `noglob`.
#[test]
fn shells_that_take_the_commands() {
    let shell = |words: &[&str]| {
        super::rules::posix_shell(&words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>())
    };
    assert!(shell(&["/bin/sh", "-c"]));
    assert!(shell(&["/bin/bash", "-o", "pipefail", "-c"]));
    assert!(shell(&["bash", "-eux", "-c"]));
    assert!(shell(&["/bin/ash", "-ec"]));
    assert!(!shell(&["/bin/bash", "-o", "noglob", "-c"]));
    assert!(!shell(&["/bin/sh", "-f", "-c"]));
    assert!(!shell(&["pwsh", "-Command"]));
    assert!(!shell(&["cmd", "/S", "/C"]));
    assert!(!shell(&["/bin/sh"]));
}

/// More symlinks that may lead into a cache than are resolved (4,096): no `rm -rf` of a
/// cache is written, and the cache is listed saying so.
#[test]
fn too_many_links_into_caches_write_no_removal() {
    let links = super::caches::MAX_LINKS_INTO_CACHES + 1;
    let mut ops = vec![Op::file("root/.cache/uv/wheels/w", 5_000, 2)];
    for i in 0..links {
        ops.push(Op::symlink(&format!("opt/l{i}"), "/opt/uv/x"));
    }
    let layers = vec![
        LayerSpec::new(
            "/bin/sh -c #(nop) ADD file:0 in / ",
            vec![Op::file("bin/sh", 1_000, 1)],
        ),
        LayerSpec::new("RUN /bin/sh -c uv pip install --system x # buildkit", ops),
    ];
    let analysis = analysed("crafted/links:1", layers);
    let dockerfile = "FROM debian:12-slim\nRUN uv pip install --system x\n";
    let plan = planned(&analysis, dockerfile);
    assert!(plan.fixes.is_empty(), "{:#?}", plan.fixes);
    let listed = plan
        .listed
        .iter()
        .find(|l| l.class == WasteClass::UvCache)
        .unwrap();
    assert!(listed.why.contains("too many to tell"), "{}", listed.why);
}

/// A status file of 20,000 packages that each provide, depend on and recommend one virtual
/// name, all auto-installed but one, under a `RUN apt-get install`: the recommends rule
/// resolves that name once per closure, so its steps stay linear in the packages (resolved
/// per package it would take 400 million).
#[test]
fn a_virtual_name_everyone_provides_costs_its_providers_once() {
    use super::apt_state::CLOSURE_STEPS;
    const PACKAGES: u64 = 20_000;
    let mut status = String::new();
    let mut extended = String::new();
    for i in 0..PACKAGES {
        status.push_str(&format!(
            "Package: p{i}\nStatus: install ok installed\nProvides: v\nDepends: v\nRecommends: v\n\n"
        ));
        if i > 0 {
            extended.push_str(&format!("Package: p{i}\nAuto-Installed: 1\n\n"));
        }
    }
    let layers = vec![
        LayerSpec::new(
            "/bin/sh -c #(nop) ADD file:0 in / ",
            vec![Op::file("bin/sh", 1_000, 1)],
        ),
        LayerSpec::new(
            "RUN /bin/sh -c apt-get install -y p0 # buildkit",
            vec![
                Op::text("var/lib/dpkg/status", status),
                Op::text("var/lib/apt/extended_states", extended),
            ],
        ),
    ];
    let analysis = analysed("crafted/apt:1", layers);
    CLOSURE_STEPS.with(|c| c.set(0));
    let dockerfile = "FROM debian:12-slim\nRUN apt-get install -y p0\n";
    let plan = planned(&analysis, dockerfile);
    let steps = CLOSURE_STEPS.with(std::cell::Cell::get);
    // Five closures at most (the layer's two, the final one), each a few steps a package.
    assert!(steps <= 5 * 4 * PACKAGES, "{steps} steps");
    assert!(plan.fixes.is_empty(), "{:?}", plan.fixes);
}

/// An image of `runs` over a base: each `RUN` command with the packages installed before it
/// and the ones it installs (dpkg's status and apt's `extended_states` written as apt does),
/// its plan and its notes.
fn apt_plan(runs: &[(&str, &[&Deb], &[&Deb])]) -> super::FixPlan {
    let mut layers = vec![LayerSpec::new(
        "/bin/sh -c #(nop) ADD file:0 in / ",
        vec![Op::file("bin/sh", 1_000, 1)],
    )];
    let mut dockerfile = String::from("FROM debian:12-slim\n");
    for (i, (command, before, new)) in runs.iter().enumerate() {
        dockerfile.push_str(&format!("RUN {command}\n"));
        layers.push(apt_layer(
            &format!("RUN /bin/sh -c {command} # buildkit"),
            before,
            new,
            100 * (i as u64 + 1),
        ));
    }
    planned(&analysed("crafted/apt-runs:1", layers), &dockerfile)
}

fn deb(
    name: &'static str,
    extra: &'static str,
    auto: bool,
    file: &'static [(&'static str, u64)],
) -> Deb {
    Deb {
        name,
        extra,
        auto,
        files: file,
    }
}

/// The flag goes in only where it is the whole effect: not when a later step installs or
/// recommends the package again (its bytes would move), not when the `RUN` runs something
/// after the install that may use it, not when the user chose already (any spelling), not
/// when the install's packages are not plain words; each refusal is a note.
#[test]
fn recommends_are_patched_only_where_the_flag_is_the_whole_effect() {
    let a = deb("a", "Recommends: p\n", false, &[("usr/bin/a", 1_000)]);
    let b = deb("b", "Recommends: p\n", false, &[("usr/bin/b", 1_000)]);
    let p = deb("p", "", true, &[("usr/share/p/data", 500_000)]);

    let alone = apt_plan(&[("apt-get install -y a", &[], &[&a, &p])]);
    assert_eq!(alone.fixes.len(), 1, "{:?}", alone.notes);
    assert_eq!(alone.fixes[0].packages[0].name, "p");
    assert_eq!(alone.fixes[0].saving, p.bytes());

    let again = apt_plan(&[
        ("apt-get install -y a", &[], &[&a, &p]),
        (
            "apt-get install -y --no-install-recommends b",
            &[&a, &p],
            &[&b],
        ),
    ]);
    assert!(again.fixes.is_empty(), "{:?}", again.fixes);
    assert!(
        again
            .notes
            .iter()
            .any(|n| n.contains("installs or recommends again")),
        "{:?}",
        again.notes
    );

    let used = apt_plan(&[("apt-get install -y a && a --build /src", &[], &[&a, &p])]);
    assert!(used.fixes.is_empty());
    assert!(
        used.notes
            .iter()
            .any(|n| n.contains("runs `a --build /src` after")),
        "{:?}",
        used.notes
    );

    for chosen in [
        "apt-get install -y --Install-Recommends a",
        "apt-get install -y -o apt::install-recommends=1 a",
        "APT_CONFIG=/etc/x apt-get install -y a",
    ] {
        let plan = apt_plan(&[(chosen, &[], &[&a, &p])]);
        assert!(plan.fixes.is_empty() && plan.notes.is_empty(), "{chosen}");
    }

    let unknown = apt_plan(&[("xargs -a /tmp/pkgs apt-get -y install", &[], &[&a, &p])]);
    assert!(unknown.fixes.is_empty());
    assert!(
        unknown
            .notes
            .iter()
            .any(|n| n.contains("do not name their packages")),
        "{:?}",
        unknown.notes
    );
}

/// A long package name that provides 20,000 virtual names, and a base layer with a large
/// `extended_states` under 40 layers that each rewrite the status: the names are interned
/// once (each `Provides` entry is two ids, not a copy of the name) and `extended_states` is
/// parsed once, not once per layer.
#[test]
fn long_names_and_many_layers_cost_their_bytes_once() {
    use super::apt_state::{AUTO_PARSES, AptState};
    let name = "x".repeat(20_000);
    let provides: String = (0..20_000).map(|i| format!("v{i}, ")).collect();
    let status = format!("Package: {name}\nStatus: install ok installed\nProvides: {provides}\n");
    let state = AptState::parse(&status);
    assert_eq!(state.sizes(), (20_001, 0, 20_000));

    let extended: String = (0..50_000)
        .map(|i| format!("Package: auto{i}\nAuto-Installed: 1\n\n"))
        .collect();
    let mut layers = vec![LayerSpec::new(
        "/bin/sh -c #(nop) ADD file:0 in / ",
        vec![
            Op::file("bin/sh", 1_000, 1),
            Op::text("var/lib/apt/extended_states", extended),
        ],
    )];
    let mut dockerfile = String::from("FROM debian:12-slim\n");
    for i in 0..40 {
        dockerfile.push_str(&format!("RUN apt-get install -y a{i}\n"));
        layers.push(LayerSpec::new(
            &format!("RUN /bin/sh -c apt-get install -y a{i} # buildkit"),
            vec![Op::text(
                "var/lib/dpkg/status",
                format!("Package: a{i}\nStatus: install ok installed\n\n"),
            )],
        ));
    }
    let analysis = analysed("crafted/apt-layers:1", layers);
    AUTO_PARSES.with(|c| c.set(0));
    let plan = planned(&analysis, &dockerfile);
    assert!(plan.fixes.is_empty());
    assert_eq!(AUTO_PARSES.with(std::cell::Cell::get), 1);
}
