//! The HTML report's treemap: every shipped byte under its owner, each group as the
//! attribution totals it, and a page of bounded size however many files the image holds.

use dive_core::report::html::{ITEM_BUDGET, Kind, Treemap, report_html, treemap_of};
use dive_testdata::{Compression, build, docker25};

use crate::common::analyze_stream;

fn analysis_of(spec: &dive_testdata::ImageSpec) -> dive_core::Analysis {
    let built = build(spec).unwrap();
    analyze_stream(docker25(&[&built], Compression::None, false).unwrap())
}

/// Each parent holds exactly its children's bytes and files.
fn assert_sums(map: &Treemap) {
    for item in &map.items {
        if item.children.is_empty() {
            continue;
        }
        let bytes: u64 = item
            .children
            .iter()
            .map(|&c| map.items[c as usize].bytes)
            .sum();
        let files: u64 = item
            .children
            .iter()
            .map(|&c| map.items[c as usize].files)
            .sum();
        assert_eq!((bytes, files), (item.bytes, item.files), "{}", item.name);
    }
}

#[test]
fn every_group_holds_the_bytes_the_attribution_gives_it() {
    for spec in [
        dive_testdata::owned_image(),
        dive_testdata::rich_image(),
        dive_testdata::twice_image(),
    ] {
        let analysis = analysis_of(&spec);
        let map = treemap_of(&analysis);
        assert_sums(&map);
        let image = &analysis.image;
        assert_eq!(map.items[0].bytes, image.final_bytes + image.hidden_bytes);
        let group = |name: &str| {
            map.items[0]
                .children
                .iter()
                .map(|&c| &map.items[c as usize])
                .find(|i| i.kind == Kind::Group && i.name == name)
        };
        let attribution = &analysis.attribution;
        for family in &attribution.families {
            let item = group(&family.name).unwrap_or_else(|| panic!("{}", family.name));
            assert_eq!(
                item.bytes,
                family.bytes + family.hidden_bytes,
                "{}",
                family.name
            );
        }
        let unowned: u64 = attribution
            .unowned
            .iter()
            .map(|u| u.bytes + u.hidden_bytes)
            .sum();
        assert_eq!(group("unowned").map_or(0, |g| g.bytes), unowned);
        // Hidden content is marked, and adds up to the image's hidden bytes.
        let hidden: u64 = map
            .items
            .iter()
            .filter(|i| i.kind == Kind::File && i.hidden)
            .map(|i| i.bytes)
            .sum();
        assert_eq!(hidden, image.hidden_bytes);
    }
}

#[test]
fn a_wide_image_folds_small_files_and_the_page_stays_small() {
    let analysis = analysis_of(&dive_testdata::wide_image(40_000));
    let map = treemap_of(&analysis);
    assert_sums(&map);
    let others = map.items.iter().filter(|i| i.kind == Kind::Other).count();
    assert!(others > 0);
    assert!(
        map.items.len() <= ITEM_BUDGET + others,
        "{}",
        map.items.len()
    );
    let kept: u64 = map
        .items
        .iter()
        .filter(|i| i.kind == Kind::File)
        .map(|i| i.files)
        .sum();
    assert_eq!(kept + map.folded_files, map.all_files);
    assert_eq!(map.all_files, analysis.image.final_files);
    let page = report_html(&analysis, false);
    assert!(page.len() < 5_000_000, "{} bytes", page.len());
    assert!(page.contains(&format!("{} smaller files are folded", map.folded_files)));
}
