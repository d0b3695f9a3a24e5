//! What the interactive view draws, as text snapshots of ratatui's test backend, and
//! journeys that a user takes through it, fed as keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dive_core::{AnalyzerBuilder, Source};
use dive_tui::tui::app::App;
use dive_tui::tui::event::Msg;
use dive_tui::tui::keymap::Pane;
use dive_tui::tui::render;
use dive_tui::tui::view::outline::Target;
use dive_tui::tui::view::panes::{Views, target_path};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/demo/ml-service.tar"
);

fn demo(width: u16, height: u16) -> App {
    let analysis = AnalyzerBuilder::new()
        .build()
        .analyze(Source::parse(DEMO).unwrap(), &())
        .unwrap();
    App::ready(
        "ml-service.tar",
        Views::new(analysis),
        Rect::new(0, 0, width, height),
    )
}

fn screen(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(app.size.width, app.size.height)).unwrap();
    terminal.draw(|frame| render::render(app, frame)).unwrap();
    terminal.backend().to_string()
}

fn labels(app: &App) -> Vec<String> {
    let views = app.views().unwrap();
    let outline = views.outline(app.main);
    outline
        .rows()
        .iter()
        .map(|r| outline.item(r.item).label.clone())
        .collect()
}

fn selected(app: &App) -> (String, Target) {
    let outline = app.views().unwrap().outline(app.main);
    let item = outline.item(outline.selected_item().unwrap());
    (item.label.clone(), item.target)
}

fn detail(app: &App, label: &str) -> Vec<String> {
    app.details
        .iter()
        .filter(|(l, _)| l == label)
        .map(|(_, v)| v.clone())
        .collect()
}

/// Leaves shown in the tree (expanded everywhere), as `/`-prefixed paths.
fn shown_leaves(app: &App) -> Vec<String> {
    let views = app.views().unwrap();
    let outline = views.tree.outline();
    outline
        .rows()
        .iter()
        .filter(|r| !outline.item(r.item).is_parent)
        .map(|r| {
            let path = target_path(&views.analysis, outline.item(r.item).target).unwrap();
            String::from_utf8(path).unwrap()
        })
        .collect()
}

#[test]
fn screens_of_every_view_wide() {
    let mut app = demo(140, 40);
    insta::assert_snapshot!("tree", screen(&app));
    app.type_keys("<Down><Enter>");
    insta::assert_snapshot!("tree_expanded", screen(&app));
    app.type_keys("3<Enter>j<Enter>j");
    insta::assert_snapshot!("packages", screen(&app));
    app.type_keys("4<Enter>j");
    insta::assert_snapshot!("waste", screen(&app));
    app.type_keys("5");
    insta::assert_snapshot!("largest", screen(&app));
    app.type_keys("2xe");
    insta::assert_snapshot!("hidden", screen(&app));
    app.type_keys("x1kkk2me");
    insta::assert_snapshot!("layer_only", screen(&app));
    app.type_keys("1");
    insta::assert_snapshot!("layers_focused", screen(&app));
    app.type_keys("?");
    insta::assert_snapshot!("help", screen(&app));
}

#[test]
fn screens_on_a_narrow_80x24_terminal() {
    let mut app = demo(80, 24);
    insta::assert_snapshot!("narrow_tree", screen(&app));
    app.type_keys("3<Enter>j<Enter>j");
    insta::assert_snapshot!("narrow_packages", screen(&app));
    app.type_keys("?");
    insta::assert_snapshot!("narrow_help", screen(&app));
    app.type_keys("jjjjjjjjjjjj");
    insta::assert_snapshot!("narrow_help_scrolled", screen(&app));
}

#[test]
fn the_biggest_family_opens_to_its_files_and_the_layer_that_added_them() {
    let mut app = demo(120, 40);
    let analysis = &app.views().unwrap().analysis;
    let biggest = analysis
        .attribution
        .families
        .iter()
        .max_by_key(|f| f.bytes)
        .unwrap()
        .name
        .clone();
    app.type_keys("3");
    assert_eq!(app.focus, Pane::Packages);
    assert_eq!(selected(&app).0, format!("{biggest} (family)"));
    app.type_keys("<Enter>j<Enter>j");
    let (file, target) = selected(&app);
    assert!(
        file.starts_with("/usr/local/lib/python3.11/dist-packages/nvidia/"),
        "{file}"
    );
    let added_by = detail(&app, "added by");
    assert!(
        added_by[0].starts_with("L2 RUN pip install"),
        "{added_by:?}"
    );
    assert!(detail(&app, "owner")[0].contains("family nvidia"));
    // Enter on a file shows it in the tree.
    app.type_keys("<Enter>");
    assert_eq!(app.focus, Pane::Tree);
    assert_eq!(selected(&app).1, target);
    assert_eq!(
        format!("/{}", {
            let outline = app.views().unwrap().tree.outline();
            outline.path_of(outline.selected_item().unwrap())
        }),
        file
    );
}

#[test]
fn hidden_bytes_show_with_the_layer_that_hid_them() {
    let mut app = demo(120, 40);
    app.type_keys("2xe");
    let views = app.views().unwrap();
    let hidden_total: u64 = views.analysis.hidden.iter().map(|h| h.bytes).sum();
    assert_eq!(views.tree.outline().total_bytes(), hidden_total);
    assert_eq!(shown_leaves(&app).len(), views.analysis.hidden.len());
    // The largest piece of hidden content is the first leaf in size order.
    while app.details.iter().all(|(l, _)| l != "hidden") {
        app.type_keys("j");
    }
    let biggest = &app.views().unwrap().analysis.hidden[0];
    let evidence = detail(&app, "hidden").join(" ");
    assert!(
        evidence.contains(&format!("added by L{}", biggest.added_in_layer))
            && evidence.contains(&format!("by L{}", biggest.hidden_by_layer)),
        "{evidence}"
    );
}

#[test]
fn a_glob_filter_keeps_matching_files_and_resums_directories() {
    let mut app = demo(120, 40);
    app.type_keys("2/*.so*<Enter>");
    let analysis = &app.views().unwrap().analysis;
    let mut expected: Vec<String> = Vec::new();
    let mut expected_bytes = 0;
    for id in analysis.tree.walk() {
        let node = analysis.tree.node(id);
        let path = String::from_utf8_lossy(&analysis.tree.path(id)).into_owned();
        if node.kind != dive_core::EntryKind::Dir && path.contains(".so") {
            expected.push(format!("/{path}"));
            expected_bytes += node.bytes;
        }
    }
    let mut shown = shown_leaves(&app);
    shown.sort();
    expected.sort();
    assert_eq!(shown, expected);
    assert_eq!(
        app.views().unwrap().tree.outline().total_bytes(),
        expected_bytes
    );
    // A bad regex is reported, not applied.
    app.type_keys("/re:([<Enter>");
    assert!(app.status.as_deref().unwrap().starts_with("bad regex"));
    app.type_keys("C");
    assert!(!app.views().unwrap().tree.is_filtered());
}

#[test]
fn minimum_size_and_changed_only_filters_agree_with_the_analysis() {
    let mut app = demo(120, 40);
    app.type_keys("2>10MB<Enter>");
    let analysis = &app.views().unwrap().analysis;
    let big = analysis
        .tree
        .walk()
        .filter(|&id| {
            let n = analysis.tree.node(id);
            n.kind != dive_core::EntryKind::Dir && n.bytes >= 10_000_000
        })
        .count();
    assert_eq!(shown_leaves(&app).len(), big);
    app.type_keys("C");
    // The last layer is selected: changed-only shows what it set.
    app.type_keys("c");
    assert_eq!(shown_leaves(&app), ["/app/model.onnx"]);
    // Select layer 4: the marks and the filter follow.
    app.type_keys("1k2");
    let views = app.views().unwrap();
    let analysis = &views.analysis;
    let mut expected: Vec<String> = analysis
        .tree
        .walk()
        .filter(|&id| {
            let n = analysis.tree.node(id);
            n.layer == 4 && n.children().is_empty() && id.0 != 0
        })
        .map(|id| format!("/{}", String::from_utf8_lossy(&analysis.tree.path(id))))
        .collect();
    expected.sort();
    let mut shown = shown_leaves(&app);
    shown.sort();
    assert_eq!(shown, expected);
}

#[test]
fn layer_mode_marks_added_modified_deleted_and_hidden_entries() {
    let mut app = demo(120, 40);
    // Layer 3 deletes the pip cache and rewrites libtorch_cpu.so with a new mode.
    app.type_keys("1kk2me");
    let views = app.views().unwrap();
    let outline = views.tree.outline();
    let mark = |suffix: &str| {
        let id = outline
            .rows()
            .iter()
            .map(|r| r.item)
            .find(|&id| outline.path_of(id).ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix} not in layer 3"));
        let item = outline.item(id);
        (item.change.map(dive_core::EntryChange::letter), item.hidden)
    };
    assert_eq!(mark("torch/lib/libtorch_cpu.so"), (Some('M'), false));
    assert_eq!(mark("root/.cache/.wh.pip"), (Some('D'), false));
    // Layer 2 added it; the rewrite hid that copy.
    app.type_keys("1k2");
    let outline = app.views().unwrap().tree.outline();
    let id = outline
        .items()
        .iter()
        .position(|i| i.label == "libtorch_cpu.so")
        .unwrap();
    let item = outline.item(id as u32);
    assert_eq!(
        (item.change.map(dive_core::EntryChange::letter), item.hidden),
        (Some('A'), true)
    );
}

#[test]
fn sorting_by_name_and_back() {
    let mut app = demo(120, 40);
    assert_eq!(labels(&app), ["usr", "var", "app", "etc", "root"]);
    app.type_keys("2s");
    assert_eq!(labels(&app), ["app", "etc", "root", "usr", "var"]);
    app.type_keys("s");
    assert_eq!(labels(&app)[0], "usr");
}

#[test]
fn mouse_clicks_select_and_open_and_the_wheel_scrolls() {
    let mut app = demo(120, 40);
    let areas = dive_tui::tui::layout::areas(app.size, app.layer_count());
    let click = |row: u16, col: u16| {
        Msg::Input(Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: col,
            row,
            modifiers: KeyModifiers::NONE,
        }))
    };
    // The third row of the tree: `app`.
    app.handle(click(areas.main.y + 3, areas.main.x + 20));
    assert_eq!(selected(&app).0, "app");
    app.handle(click(areas.main.y + 3, areas.main.x + 20));
    assert!(
        labels(&app).contains(&"model.onnx".to_owned()),
        "a second click opens"
    );
    // A click on layer 1 selects it and focuses the layer list.
    app.handle(click(areas.layers.y + 3, areas.layers.x + 10));
    assert_eq!(app.focus, Pane::Layers);
    assert_eq!(app.views().unwrap().layer, 1);
    app.handle(Msg::Input(Event::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: areas.main.x + 5,
        row: areas.main.y + 5,
        modifiers: KeyModifiers::NONE,
    })));
    assert_eq!(app.focus, Pane::Tree);
    assert_eq!(app.views().unwrap().outline(Pane::Tree).selected, 2 + 3);
}

#[test]
fn resizing_keeps_the_selection_on_screen() {
    let mut app = demo(120, 40);
    app.type_keys("2eG");
    let last = app.views().unwrap().outline(Pane::Tree).rows().len() - 1;
    app.handle(Msg::Input(Event::Resize(80, 20)));
    let outline = app.views().unwrap().outline(Pane::Tree);
    assert_eq!(outline.selected, last);
    let height = app.page_height(Pane::Tree);
    assert!(outline.offset + height > last && outline.offset <= last);
    assert!(screen(&app).contains("model.onnx") || !screen(&app).is_empty());
}

#[test]
fn esc_closes_help_and_prompts_before_it_quits() {
    let mut app = demo(100, 30);
    app.type_keys("?");
    assert!(app.help);
    app.type_keys("<Esc>");
    assert!(!app.help && !app.quit);
    app.type_keys("2/abc<Esc>");
    assert!(app.prompt.is_none() && !app.views().unwrap().tree.is_filtered());
    app.type_keys("<Esc>");
    assert!(app.quit);
}

#[test]
fn no_color_keeps_the_letters_of_every_mark() {
    let mut app = demo(120, 40);
    app.color = false;
    app.type_keys("1kk2me");
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal.draw(|frame| render::render(&app, frame)).unwrap();
    let buffer = terminal.backend().buffer();
    assert!(
        buffer
            .content()
            .iter()
            .all(|cell| cell.fg == ratatui::style::Color::Reset),
        "no colour is drawn"
    );
    let text = screen(&app);
    assert!(text.contains("│D "), "{text}");
}

#[test]
fn names_with_terminal_controls_show_as_escapes() {
    let built = dive_testdata::build(&dive_testdata::hostile_image()).unwrap();
    let bytes =
        dive_testdata::docker25(&[&built], dive_testdata::Compression::Gzip, false).unwrap();
    let analysis = AnalyzerBuilder::new()
        .build()
        .analyze(Source::reader("-", std::io::Cursor::new(bytes)), &())
        .unwrap();
    let mut app = App::ready("-", Views::new(analysis), Rect::new(0, 0, 200, 50));
    app.type_keys("2e");
    let tree = screen(&app);
    for shown in [
        // the tag in the header, the step in the layers pane, names in the tree.
        r"hostile/app\e]0;OWNED\x07",
        r"RUN echo \e]0;OWNED\x07",
        r"\e]0;OWNED\x07\e]52;c;cm0gLXJmIH4K\x07\e[2J\u{9b}31m\u{202e}\r\ttitle",
        r"bad\xff\xfe\nname.bin",
    ] {
        assert!(tree.contains(shown), "the tree lacks {shown}:\n{tree}");
    }
    // Details of the file whose name holds the controls.
    while !detail(&app, "path").iter().any(|p| p.ends_with("title")) {
        app.type_keys("j");
    }
    assert_eq!(
        detail(&app, "path"),
        [r"/app/\e]0;OWNED\x07\e]52;c;cm0gLXJmIH4K\x07\e[2J\u{9b}31m\u{202e}\r\ttitle"]
    );
    app.type_keys("3e");
    let packages = screen(&app);
    assert!(
        packages.contains(r"evil\e]0;OWNED\x07"),
        "packages:\n{packages}"
    );
}

/// The hostile-names image as a gzip'd Docker 25 tar in `dir`, opened with its files
/// readable.
fn hostile_app(dir: &std::path::Path, width: u16, height: u16) -> App {
    let built = dive_testdata::build(&dive_testdata::hostile_image()).unwrap();
    let image = dir.join("hostile.tar");
    std::fs::write(
        &image,
        dive_testdata::docker25(&[&built], dive_testdata::Compression::Gzip, false).unwrap(),
    )
    .unwrap();
    app_with_files(&image, width, height)
}

/// Filters the tree to `pattern` and selects the first item whose label ends with `suffix`
/// (labels of hostile names are escaped, and cannot be typed).
fn select_ending(app: &mut App, pattern: &str, suffix: &str) {
    app.type_keys(&format!("2C/{pattern}<Enter>eg"));
    for _ in 0..200 {
        if selected(app).0.ends_with(suffix) {
            return;
        }
        app.type_keys("j");
    }
    panic!("no …{suffix} in {:?}", labels(app));
}

/// Whether a terminal would act on `c`: the escaping function changes it.
fn needs_escape(c: char) -> bool {
    let text = c.to_string();
    dive_core::escape::escape(&text) != text.as_str()
}

/// Text as a terminal would get it holds no code point it acts on (but line ends).
fn assert_inert(what: &str, text: &str) {
    if let Some(c) = text.chars().find(|&c| c != '\n' && needs_escape(c)) {
        panic!("{what}: {c:?} reaches the terminal:\n{text}");
    }
}

/// The viewer on the hostile image: a text file whose lines carry terminal controls, and
/// an ELF file whose section names do, show them escaped, title and rows alike.
#[test]
fn the_viewer_shows_hostile_contents_and_names_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = hostile_app(dir.path(), 200, 30);
    select_ending(&mut app, "notes.txt", "notes.txt");
    app.type_keys("v");
    let viewer = app.viewer.as_ref().unwrap();
    assert!(!viewer.hex, "a text file");
    assert_eq!(
        viewer.rows[0],
        (
            "1".to_owned(),
            r"first line \e]0;OWNED\x07\e]52;c;cm0gLXJmIH4K\x07\e[2J\u{9b}31m\u{202e}\r    "
                .to_owned()
        )
    );
    assert_eq!(viewer.rows[1], ("2".to_owned(), "second line".to_owned()));
    assert!(
        viewer.title.starts_with(r"/app/\e]0;OWNED\x07"),
        "{}",
        viewer.title
    );
    let text = screen(&app);
    assert!(text.contains("second line"), "{text}");
    assert_inert("the text viewer", &text);
    app.type_keys("<Esc>");
    select_ending(&mut app, "evil.so", "evil.so");
    app.type_keys("v");
    let viewer = app.viewer.as_ref().unwrap();
    assert!(viewer.show_summary, "an ELF file opens on its summary");
    let rows = viewer.rows.clone();
    assert!(
        rows.iter().any(|(_, v)| v
            .ends_with(r".text\e]0;OWNED\x07\e]52;c;cm0gLXJmIH4K\x07\e[2J\u{9b}31m\u{202e}\r\t")),
        "{rows:?}"
    );
    for (label, value) in &rows {
        assert_inert("the ELF summary", &format!("{label} {value}"));
    }
    assert_inert("the ELF summary's screen", &screen(&app));
}

/// `X` on the hostile image's `app` directory: every file lands below the directory typed,
/// byte for byte under its raw name, links pointing out are written as links (never
/// followed), nothing lands beside it, and the status line is escaped.
#[test]
fn x_upper_extracts_hostile_names_only_below_the_directory() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let mut app = hostile_app(dir.path(), 200, 30);
    let out = dir.path().join("out");
    let sentinel = dir.path().join("sentinel");
    std::fs::create_dir(&sentinel).unwrap();
    select(&mut app, "app", "app");
    app.type_keys(&format!("X{}<Enter>", out.display()));
    let status = app.status.clone().unwrap_or_default();
    assert!(status.starts_with("wrote "), "{status}");
    assert!(
        status.ends_with("; skipped 2 (dive-rs extract lists why)"),
        "the hard link climbing out, and the one whose target is gone: {status}"
    );
    assert_inert("the status line", &status);
    assert_inert("the screen", &screen(&app));
    let hostile = dive_testdata::HOSTILE;
    let at = |name: &[u8]| out.join(std::ffi::OsStr::from_bytes(name));
    assert_eq!(
        std::fs::read(at(format!("app/{hostile}title").as_bytes())).unwrap(),
        dive_testdata::Content::to_vec(2, 70_000)
    );
    assert_eq!(
        std::fs::read(at(b"app/bad\xff\xfe\nname.bin")).unwrap(),
        dive_testdata::Content::to_vec(3, 60_000)
    );
    assert_eq!(
        std::fs::read(at(format!("app/{hostile}notes.txt").as_bytes())).unwrap(),
        dive_testdata::hostile_notes().into_bytes()
    );
    for (link, target) in [
        (format!("app/link{hostile}"), format!("/{hostile}")),
        ("app/hostpasswd".to_owned(), "/etc/passwd".to_owned()),
    ] {
        let written = std::fs::read_link(at(link.as_bytes())).unwrap();
        assert_eq!(written.as_os_str().as_bytes(), target.as_bytes());
    }
    assert!(std::fs::read_dir(&sentinel).unwrap().next().is_none());
    let mut beside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    beside.sort();
    assert_eq!(beside, ["hostile.tar", "out", "sentinel"]);
}

/// Closing the viewer (dropping its worker) raises the stop flag its reads look at, so a
/// summary or a decode under way ends instead of reading on for nobody.
#[test]
fn closing_the_viewer_stops_its_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = hostile_app(dir.path(), 200, 30);
    let (wake, _rx) = std::sync::mpsc::sync_channel(64);
    app.waker = Some(wake);
    select_ending(&mut app, "evil.so", "evil.so");
    app.type_keys("v");
    let state = std::sync::Arc::clone(&app.worker.as_ref().unwrap().state);
    assert!(!state.stopped());
    app.worker = None;
    assert!(state.stopped(), "the read under way was not told to stop");
}

/// With a base image known, its layers are marked, and B hides them: the list, Home, Up and
/// a click all stay on the image's own layers.
#[test]
fn the_base_images_layers_are_marked_and_b_hides_them() {
    let dir = tempfile::tempdir().unwrap();
    let base_tar = dir.path().join("base.tar");
    dive_testdata::save_docker_archive(&dive_testdata::demo_base_image(), &base_tar).unwrap();
    let analyzer = AnalyzerBuilder::new().build();
    let mut analysis = analyzer.analyze(Source::parse(DEMO).unwrap(), &()).unwrap();
    assert_eq!(
        analysis.set_base(&analyzer.base_layers(Source::path(&base_tar)).unwrap()),
        2
    );
    let mut app = App::ready(
        "ml-service.tar",
        Views::new(analysis),
        Rect::new(0, 0, 120, 40),
    );
    let shown = screen(&app);
    assert!(
        shown.contains("Layers (0–1 the base's: B hides)"),
        "{shown}"
    );
    assert!(shown.contains("[base] RUN apt-get update"), "{shown}");
    app.type_keys("1B");
    let shown = screen(&app);
    assert!(
        shown.contains("Layers (2 of the base hidden: B)"),
        "{shown}"
    );
    assert!(!shown.contains("[base]"), "{shown}");
    app.type_keys("g");
    assert_eq!(
        app.views().unwrap().layer,
        2,
        "Home goes to the first own layer"
    );
    app.type_keys("k");
    assert_eq!(app.views().unwrap().layer, 2, "nothing above it");
    let areas = dive_tui::tui::layout::areas(app.size, app.layer_count());
    app.handle(Msg::Input(Event::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: areas.layers.x + 10,
        row: areas.layers.y + 3,
        modifiers: KeyModifiers::NONE,
    })));
    assert_eq!(
        app.views().unwrap().layer,
        3,
        "the second row listed is layer 3"
    );
    app.type_keys("B");
    assert!(screen(&app).contains("[base]"));
    // Without a base, B says how to name one.
    let mut plain = demo(120, 40);
    plain.type_keys("B");
    assert!(
        plain
            .status
            .as_deref()
            .is_some_and(|s| s.contains("--base IMAGE"))
    );
}

/// The image at `path`, with the image opened again for the viewer, as the binary does.
fn app_with_files(path: &std::path::Path, width: u16, height: u16) -> App {
    let analyzer = AnalyzerBuilder::new().build();
    let analysis = analyzer.analyze(Source::path(path), &()).unwrap();
    let files = analyzer.contents(Source::path(path), &analysis).unwrap();
    let mut views = Views::new(analysis);
    views.files = Ok(std::sync::Arc::new(files));
    App::ready("image", views, Rect::new(0, 0, width, height))
}

/// `spec` built as an OCI layout (gzip) in a directory kept as long as the guard, opened
/// with its files readable.
fn layout_app(
    spec: &dive_testdata::ImageSpec,
    width: u16,
    height: u16,
) -> (tempfile::TempDir, App) {
    let built = dive_testdata::build(spec).unwrap();
    let dir = tempfile::tempdir().unwrap();
    dive_testdata::oci_layout(&[&built], dive_testdata::LayoutOptions::default())
        .unwrap()
        .0
        .write_dir(dir.path())
        .unwrap();
    let app = app_with_files(dir.path(), width, height);
    (dir, app)
}

/// The demo, with its files readable.
fn demo_with_files(width: u16, height: u16) -> App {
    app_with_files(std::path::Path::new(DEMO), width, height)
}

/// Filters the tree to `pattern` and selects the item labelled `label`.
fn select(app: &mut App, pattern: &str, label: &str) {
    app.type_keys(&format!("2C/{pattern}<Enter>eg"));
    for _ in 0..200 {
        if selected(app).0 == label {
            return;
        }
        app.type_keys("j");
    }
    panic!("no {label} in {:?}", labels(app));
}

/// The bytes of a file as the image holds them (read with dive-core, as `cat` does).
fn bytes_of(app: &App, path: &str) -> Vec<u8> {
    let views = app.views().unwrap();
    let found = views
        .analysis
        .find(path.as_bytes(), dive_core::contents::Version::Final)
        .unwrap();
    let mut out = Vec::new();
    let files = views.files.as_ref().unwrap();
    files
        .copy(&views.analysis, found.layer, found.entry, &mut out)
        .unwrap();
    out
}

#[test]
fn the_viewer_shows_text_with_line_numbers_and_hex_and_esc_returns() {
    let mut app = demo_with_files(100, 20);
    select(&mut app, "os-release", "os-release");
    app.type_keys("v");
    let viewer = app.viewer.as_ref().expect("v opens the viewer");
    assert!(!viewer.hex);
    let rows: Vec<(&str, &str)> = viewer
        .rows
        .iter()
        .map(|(g, t)| (g.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("1", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\""),
            ("2", "ID=debian"),
            ("3", "VERSION_ID=\"12\""),
        ]
    );
    insta::assert_snapshot!("viewer_text", screen(&app));
    app.type_keys("x");
    let viewer = app.viewer.as_ref().unwrap();
    assert!(viewer.hex);
    assert_eq!(viewer.rows[0].0, "00000000");
    assert!(
        viewer.rows[0].1.ends_with("|PRETTY_NAME=\"Deb|"),
        "{}",
        viewer.rows[0].1
    );
    insta::assert_snapshot!("viewer_hex", screen(&app));
    app.type_keys("<Esc>");
    assert!(app.viewer.is_none());
    assert_eq!(selected(&app).0, "os-release", "back where the user was");
}

#[test]
fn a_binary_file_opens_as_hex_and_pages_to_its_end() {
    let mut app = demo_with_files(100, 20);
    select(&mut app, "bash", "bash");
    app.type_keys("v");
    let expected = bytes_of(&app, "usr/bin/bash");
    let height = app.viewer_height();
    let viewer = app.viewer.as_ref().unwrap();
    assert!(viewer.hex, "NUL bytes make it hex");
    assert_eq!(viewer.rows.len(), height);
    let first: String = expected[..16].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(viewer.rows[0].1.replace(' ', "")[..32], first);
    app.type_keys("G");
    let viewer = app.viewer.as_ref().unwrap();
    let last_row = (expected.len() as u64 - 1) / 16 * 16;
    assert_eq!(viewer.rows.last().unwrap().0, format!("{last_row:08x}"));
    app.type_keys("g<PageDown>");
    assert_eq!(app.viewer.as_ref().unwrap().top, (height as u64 - 1) * 16);
}

#[test]
fn text_scrolls_line_by_line_and_to_the_end() {
    let mut app = demo_with_files(100, 8);
    select(&mut app, "dpkg/status", "status");
    app.type_keys("v");
    let text = String::from_utf8(bytes_of(&app, "var/lib/dpkg/status")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() > app.viewer_height(),
        "the file is longer than the screen"
    );
    app.type_keys("jj");
    let viewer = app.viewer.as_ref().unwrap();
    assert_eq!(viewer.rows[0], ("3".to_owned(), lines[2].to_owned()));
    app.type_keys("G");
    let viewer = app.viewer.as_ref().unwrap();
    let n = lines.len();
    assert_eq!(
        viewer.rows.last().unwrap(),
        &(n.to_string(), lines[n - 1].to_owned())
    );
    app.type_keys("k");
    let viewer = app.viewer.as_ref().unwrap();
    assert_eq!(viewer.rows.last().unwrap().1, lines[n - 2]);
}

/// In layer mode the viewer shows what that layer wrote, even what a later layer deleted:
/// here the pip cache file layer 2 added and layer 3 removed.
#[test]
fn the_viewer_opens_a_version_a_later_layer_deleted() {
    let mut app = demo_with_files(100, 20);
    app.type_keys("1ggjj2m");
    select(&mut app, "9f8e7d6c", "9f8e7d6c5b4a39281706f5e4d3c2b1a0");
    app.type_keys("v");
    let viewer = app.viewer.as_ref().unwrap();
    assert!(
        viewer
            .title
            .contains("as layer 2 wrote it, hidden in the final image"),
        "{}",
        viewer.title
    );
    let expected = dive_testdata::Content::to_vec(120, 21_470_113);
    let first: String = expected[..16].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(viewer.rows[0].1.replace(' ', "")[..32], first);
    assert_eq!(viewer.size, 21_470_113);
}

#[test]
fn without_a_second_reading_of_the_input_v_says_why() {
    let mut app = demo(100, 20);
    select(&mut app, "os-release", "os-release");
    app.type_keys("v");
    assert!(app.viewer.is_none());
    assert!(
        app.status
            .as_deref()
            .is_some_and(|s| s.contains("cannot be read")),
        "{:?}",
        app.status
    );
    select(&mut app, "etc", "etc");
    let mut with_files = demo_with_files(100, 20);
    select(&mut with_files, "etc", "etc");
    with_files.type_keys("v");
    assert!(with_files.viewer.is_none());
    assert_eq!(
        with_files.status.as_deref(),
        Some("only a file holds bytes to view")
    );
}

/// `/` finds text from the line after the top and makes its line the top, with its line
/// number; `n` goes on to the next match; past the last one the status says so.
#[test]
fn the_viewer_finds_text_and_the_next_match() {
    let mut app = demo_with_files(100, 8);
    select(&mut app, "dpkg/status", "status");
    app.type_keys("v");
    let text = String::from_utf8(bytes_of(&app, "var/lib/dpkg/status")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let packages: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("Package:"))
        .collect();
    assert!(packages.len() >= 3);
    app.type_keys("/Package:<Enter>");
    // The first line is a Package: line, so the first match after the top is the second.
    let top = |app: &App| app.viewer.as_ref().unwrap().rows[0].clone();
    assert_eq!(
        top(&app),
        ((packages[1] + 1).to_string(), lines[packages[1]].to_owned())
    );
    app.type_keys("n");
    assert_eq!(
        top(&app),
        ((packages[2] + 1).to_string(), lines[packages[2]].to_owned())
    );
    app.type_keys("/libstdc<Enter>");
    let hit = lines.iter().position(|l| l.contains("libstdc")).unwrap();
    assert!(hit > packages[2], "the fixture puts libstdc++ last");
    assert_eq!(top(&app).1, lines[hit]);
    app.type_keys("/no such text<Enter>");
    assert!(
        app.status
            .as_deref()
            .is_some_and(|s| s.contains("is not in the rest")),
        "{:?}",
        app.status
    );
    assert!(screen(&app).contains("no such text is not in the rest of the file"));
    app.type_keys("x/perl<Enter>");
    let viewer = app.viewer.as_ref().unwrap();
    assert!(viewer.hex && viewer.rows[0].1.contains('|'));
}

/// An ELF file opens on its summary (class, type, sections, debug bytes); x shows the hex
/// dump and back.
#[test]
fn an_elf_file_opens_on_its_summary_and_x_shows_its_bytes() {
    use dive_testdata::{ImageSpec, LayerSpec, Op};
    let dir = tempfile::tempdir().unwrap();
    let spec = ImageSpec::new(
        "elf/app:1",
        vec![LayerSpec::new(
            "COPY lib /usr/lib",
            vec![Op::text(
                "usr/lib/libdebug.so",
                dive_testdata::elf_with_debug(50_000, 300_000, 40_000),
            )],
        )],
    );
    let image = dir.path().join("elf.tar");
    dive_testdata::save_docker_archive(&spec, &image).unwrap();
    let mut app = app_with_files(&image, 100, 24);
    select(&mut app, "libdebug", "libdebug.so");
    app.type_keys("v");
    let viewer = app.viewer.as_ref().unwrap();
    assert!(viewer.show_summary);
    let row = |label: &str| {
        viewer
            .rows
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        row("class").as_deref(),
        Some("ELF64 little-endian"),
        "{:?}",
        viewer.rows
    );
    assert!(
        row("debug info").is_some_and(|v| v != "0 B"),
        "{:?}",
        viewer.rows
    );
    assert!(
        viewer.rows.iter().any(|(_, v)| v.ends_with(".debug_info")),
        "{:?}",
        viewer.rows
    );
    insta::assert_snapshot!("viewer_elf", screen(&app));
    app.type_keys("x");
    let viewer = app.viewer.as_ref().unwrap();
    assert!(!viewer.show_summary && viewer.hex);
    assert!(
        viewer.rows[0].1.starts_with("7f 45 4c 46"),
        "{}",
        viewer.rows[0].1
    );
    app.type_keys("x");
    assert!(app.viewer.as_ref().unwrap().show_summary);
}

/// `y` copies the selected path, escaped: a hostile name's newline or control sequence never
/// reaches the clipboard (a paste would run it); the OSC 52 sequence carries it in base64.
#[test]
fn y_copies_the_escaped_path_and_never_a_control_character() {
    use base64::Engine as _;
    let built = dive_testdata::build(&dive_testdata::hostile_image()).unwrap();
    let bytes = dive_testdata::docker_legacy(&[&built], false).unwrap();
    let analysis = AnalyzerBuilder::new()
        .build()
        .analyze(Source::reader("-", std::io::Cursor::new(bytes)), &())
        .unwrap();
    let mut app = App::ready("-", Views::new(analysis), Rect::new(0, 0, 200, 50));
    app.type_keys("2e");
    while !detail(&app, "path").iter().any(|p| p.ends_with("title")) {
        app.type_keys("j");
    }
    app.type_keys("y");
    let copied = app.clipboard.clone().unwrap();
    assert!(copied.ends_with(r"\r\ttitle"), "{copied}");
    assert!(!copied.chars().any(char::is_control), "{copied:?}");
    let sequence = dive_tui::tui::terminal::osc52(&copied);
    let encoded = sequence
        .strip_prefix("\x1b]52;c;")
        .unwrap()
        .strip_suffix('\x07')
        .unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    assert_eq!(decoded, copied.as_bytes());
    assert!(
        app.status
            .as_deref()
            .is_some_and(|s| s.starts_with("copied /"))
    );
}

/// `X` extracts the selection below the directory typed, as `dive-rs extract` would.
#[test]
fn x_upper_extracts_the_selection_to_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut app = demo_with_files(100, 20);
    select(&mut app, "etc", "etc");
    app.type_keys(&format!("X{}<Enter>", out.display()));
    let status = app.status.clone().unwrap_or_default();
    assert!(
        status.starts_with("wrote ") && status.contains("below"),
        "{status}"
    );
    assert_eq!(
        std::fs::read(out.join("etc/os-release")).unwrap(),
        bytes_of(&app, "etc/os-release")
    );
    // Again: refused, nothing replaced without --force.
    app.type_keys(&format!("X{}<Enter>", out.display()));
    assert!(
        app.status.as_deref().is_some_and(|s| s.contains("--force")),
        "{:?}",
        app.status
    );
}

/// A gzip'd text file (`changelog.gz`) is shown decompressed, its lines numbered; `/` finds
/// in the decompressed text.
#[test]
fn a_gzipped_changelog_is_shown_decompressed() {
    use dive_testdata::{ImageSpec, LayerSpec, Op};
    use std::io::Write as _;
    let text: String = (1..=300)
        .map(|i| format!("dive-rs ({i}.0) unstable; urgency=low\n"))
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(text.as_bytes()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = ImageSpec::new(
        "docs/app:1",
        vec![LayerSpec::new(
            "COPY docs /usr/share/doc",
            vec![Op::text(
                "usr/share/doc/dive-rs/changelog.gz",
                gz.finish().unwrap(),
            )],
        )],
    );
    let image = dir.path().join("docs.tar");
    dive_testdata::save_docker_archive(&spec, &image).unwrap();
    let mut app = app_with_files(&image, 100, 12);
    select(&mut app, "changelog", "changelog.gz");
    app.type_keys("v");
    let viewer = app.viewer.as_ref().unwrap();
    assert!(viewer.gunzip && !viewer.hex);
    assert_eq!(viewer.size, text.len() as u64);
    assert!(viewer.title.contains("gunzipped"), "{}", viewer.title);
    assert_eq!(
        viewer.rows[0],
        (
            "1".to_owned(),
            "dive-rs (1.0) unstable; urgency=low".to_owned()
        )
    );
    app.type_keys("G");
    let last = app.viewer.as_ref().unwrap().rows.last().cloned().unwrap();
    assert_eq!(
        last,
        (
            "300".to_owned(),
            "dive-rs (300.0) unstable; urgency=low".to_owned()
        )
    );
    app.type_keys("g/(250.0)<Enter>");
    assert_eq!(app.viewer.as_ref().unwrap().rows[0].0, "250");
}

/// A long text file in a gzip layer pages forward on one decoding of the layer, across
/// window edges, with the right line numbers; back up and to the end it stays exact.
#[test]
fn paging_through_a_long_file_in_a_gzip_layer_decodes_it_once() {
    use dive_testdata::{ImageSpec, LayerSpec, Op};
    let text: String = (1..=20_000)
        .map(|i| format!("line {i:05} of a long log\n"))
        .collect();
    let lines: Vec<&str> = text.lines().collect();
    let spec = ImageSpec::new(
        "log/app:1",
        vec![LayerSpec::new(
            "COPY log /var/log",
            vec![Op::text("var/log/app.log", text.clone())],
        )],
    );
    let (_dir, mut app) = layout_app(&spec, 100, 40);
    assert_ne!(
        app.views().unwrap().analysis.layers[0].compression,
        dive_core::Compression::None
    );
    select(&mut app, "app.log", "app.log");
    app.type_keys("v");
    let height = app.viewer_height();
    // 400 screens: 14,400 lines, 417 kB, past the 256 KiB window.
    for page in 0..400 {
        app.type_keys("<PageDown>");
        let viewer = app.viewer.as_ref().unwrap();
        assert_eq!(viewer.opens, 1, "page {page}: decoded again from the start");
    }
    let viewer = app.viewer.as_ref().unwrap();
    let top: usize = viewer.rows[0].0.parse().unwrap();
    assert_eq!(top, 1 + 400 * (height - 1));
    assert_eq!(viewer.rows[0].1, lines[top - 1]);
    assert_eq!(
        viewer.opens, 1,
        "paging forward went on decoding where it stood"
    );
    app.type_keys("kkk");
    let viewer = app.viewer.as_ref().unwrap();
    assert_eq!(
        viewer.rows[0],
        ((top - 3).to_string(), lines[top - 4].to_owned())
    );
    // 300 screens back (past the window, inside the backlog kept behind it): no decoding
    // from the layer's start again.
    for _ in 0..300 {
        app.type_keys("<PageUp>");
    }
    let viewer = app.viewer.as_ref().unwrap();
    let back = top - 3 - 300 * (height - 1);
    assert_eq!(
        viewer.rows[0],
        (back.to_string(), lines[back - 1].to_owned())
    );
    assert_eq!(viewer.opens, 1, "scrolling back decoded the layer again");
    app.type_keys("G");
    let viewer = app.viewer.as_ref().unwrap();
    assert_eq!(viewer.rows.last().unwrap().1, lines[lines.len() - 1]);
}

/// On a terminal the viewer reads on its own thread: opening a file that lies after 1 GB
/// of a gzip layer shows the decoding's progress in the footer instead of freezing, Esc
/// stops it (and closes the half-open viewer), and opened again it shows the file.
#[test]
fn a_slow_read_shows_progress_and_esc_stops_it() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    const BIG: u64 = 1 << 30;
    let note = b"the note after a gigabyte\n";
    let tar = std::io::Cursor::new(
        dive_testdata::raw::header(b"opt/zeros.bin", b'0', BIG)
            .as_bytes()
            .to_vec(),
    )
    .chain(std::io::repeat(0).take(BIG))
    .chain(std::io::Cursor::new(dive_testdata::raw::archive(&[
        dive_testdata::raw::file("opt/note.txt", note),
    ])));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::copy(&mut { tar }, &mut gz).unwrap();
    // The diff_id is the blob's digest (not the tar's): only --verify would mind.
    let archive = dive_testdata::raw::docker_save(vec![gz.finish().unwrap()]);
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(&archive).unwrap();
    let mut app = app_with_files(file.path(), 100, 30);
    let (wake, rx) = std::sync::mpsc::sync_channel(64);
    app.waker = Some(wake);
    select(&mut app, "note.txt", "note.txt");
    // Waits for the viewer's thread, feeding its updates to the app as the event loop does;
    // whether `until` held before `limit`.
    let pump = |app: &mut App, until: &dyn Fn(&App) -> bool, limit: Duration| {
        let start = Instant::now();
        while start.elapsed() < limit {
            if until(app) {
                return true;
            }
            if let Ok(msg) = rx.recv_timeout(Duration::from_millis(10)) {
                app.handle(msg);
            }
        }
        until(app)
    };
    app.type_keys("v");
    assert!(app.worker.is_some() && app.viewer.is_none());
    let shown = pump(
        &mut app,
        &|app| app.reading().is_some_and(|r| r.contains(" of ")),
        Duration::from_secs(20),
    );
    let line = app.reading().unwrap_or_default();
    assert!(shown, "no progress shown: {line:?}, {:?}", app.status);
    assert!(
        line.starts_with("reading /opt/note.txt: ") && line.ends_with("· Esc stops"),
        "{line}"
    );
    assert!(screen(&app).contains("Esc stops"), "{}", screen(&app));
    app.type_keys("<Esc>");
    assert!(
        pump(
            &mut app,
            &|app| app.worker.is_none(),
            Duration::from_secs(20)
        ),
        "Esc did not stop the read"
    );
    assert_eq!(app.status.as_deref(), Some("stopped opening /opt/note.txt"));
    // Opened again and left to finish, it shows the file.
    app.type_keys("v");
    let opened = |app: &App| {
        app.worker
            .as_ref()
            .is_some_and(|w| w.busy == 0 && w.screen.is_some())
    };
    assert!(pump(&mut app, &opened, Duration::from_secs(60)));
    let text = screen(&app);
    assert!(text.contains("1 the note after a gigabyte"), "{text}");
    assert!(app.reading().is_none());
    app.type_keys("<Esc>");
    assert!(app.worker.is_none(), "Esc closes an idle viewer");
}

/// One dist in a venv and in `~/.local` is two packages: the Packages pane groups pip's
/// packages by where they live, and Details says the location.
#[test]
fn packages_are_grouped_by_location_when_an_ecosystem_has_several() {
    let (_dir, mut app) = layout_app(&dive_testdata::twice_image(), 140, 60);
    app.type_keys("3e");
    let text = screen(&app);
    let venv = text
        .find("/opt/venv/lib/python3.11/site-packages")
        .unwrap_or_else(|| panic!("{text}"));
    let local = text
        .find("/root/.local/lib/python3.11/site-packages")
        .unwrap_or_else(|| panic!("{text}"));
    // Each location holds its own idna.
    let idna: Vec<usize> = text.match_indices("idna 3.20").map(|(i, _)| i).collect();
    assert_eq!(idna.len(), 2, "{text}");
    let (first, second) = if venv < local {
        (venv, local)
    } else {
        (local, venv)
    };
    assert!(
        idna[0] > first && idna[0] < second && idna[1] > second,
        "{text}"
    );
    for _ in 0..40 {
        if selected(&app).0 == "idna 3.20" {
            break;
        }
        app.type_keys("j");
    }
    assert_eq!(selected(&app).0, "idna 3.20");
    let location = detail(&app, "location");
    assert!(
        location.iter().any(|l| l.contains("site-packages")),
        "{location:?}"
    );
}

/// The Waste pane lists the duplicate groups with every path; a file's Details names the
/// files with the same bytes.
#[test]
fn duplicate_groups_show_in_the_waste_pane_and_details() {
    let (_dir, mut app) = layout_app(&dive_testdata::twice_image(), 160, 60);
    app.type_keys("4e");
    let text = screen(&app);
    assert!(text.contains("duplicate"), "{text}");
    assert!(text.contains("libcudart.so.12 × 2"), "{text}");
    let shown = labels(&app);
    assert!(
        shown.iter().any(|l| l
            == "/opt/venv/lib/python3.11/site-packages/triton/backends/nvidia/lib/libcudart.so.12"),
        "{shown:?}"
    );
    for _ in 0..80 {
        if selected(&app)
            .0
            .ends_with("triton/backends/nvidia/lib/libcudart.so.12")
        {
            break;
        }
        app.type_keys("j");
    }
    let duplicates = detail(&app, "duplicates");
    assert_eq!(
        duplicates,
        [
            "same bytes as 1 other file: /opt/venv/lib/python3.11/site-packages/nvidia/cuda_runtime/lib/libcudart.so.12"
        ],
        "{}",
        screen(&app)
    );
}

/// The Packages pane sorts by CUDA device code (`s` after by name), showing device bytes;
/// a library's Details list its device code by architecture, a package's its total.
#[test]
fn device_code_sorts_the_packages_pane_and_shows_in_details() {
    let files = dive_testdata::cuda_files();
    let (_dir, mut app) = layout_app(&dive_testdata::cuda_image(), 160, 60);
    app.type_keys("3ss");
    let text = screen(&app);
    assert!(text.contains("by GPU device code"), "{text}");
    app.type_keys("e");
    let shown = labels(&app);
    let cublas = shown
        .iter()
        .position(|l| l.ends_with("/libcublas.so.12"))
        .unwrap_or_else(|| panic!("{shown:?}"));
    let cublas_lt = shown
        .iter()
        .position(|l| l.ends_with("/libcublasLt.so.12"))
        .unwrap_or_else(|| panic!("{shown:?}"));
    assert!(cublas < cublas_lt, "more device code first: {shown:?}");
    for _ in 0..80 {
        if selected(&app).0.ends_with("/libcublas.so.12") {
            break;
        }
        app.type_keys("j");
    }
    let (path, expected) = files
        .iter()
        .find(|(p, _)| p.ends_with("/libcublas.so.12"))
        .unwrap();
    assert!(selected(&app).0.ends_with(path.as_str()));
    let gpu = detail(&app, "GPU code");
    assert_eq!(gpu.len(), 1, "{gpu:?}");
    assert!(gpu[0].contains("deep scan"), "{gpu:?}");
    for (arch, bytes) in expected.by_arch() {
        let shown = detail(&app, &format!("  {arch}"));
        assert_eq!(shown.len(), 1, "{arch}: {:?}", app.details);
        assert!(
            shown[0].starts_with(&dive_core::report::human_bytes(bytes, false)),
            "{arch}: {shown:?}"
        );
    }
}

/// The view opens on the merged image before the owner packages are known: its first screen
/// is the one of the whole analysis, a file's owner says it is being found, the Packages pane
/// waits; when the attribution comes, every pane and detail is the whole analysis's.
#[test]
fn the_first_screen_shows_before_the_owner_packages_which_follow() {
    let mut full = demo(200, 50);
    let (analysis, attributing) = AnalyzerBuilder::new()
        .build()
        .analyze_in_steps(Source::parse(DEMO).unwrap(), &())
        .unwrap();
    assert!(analysis.attribution.packages.is_empty());
    let mut views = Views::new(analysis);
    views.attributing = true;
    let attributed = attributing.run(&views.analysis);
    let mut app = App::ready("ml-service.tar", views, Rect::new(0, 0, 200, 50));
    assert_eq!(
        screen(&app),
        screen(&full),
        "the first screen needs no package"
    );

    app.type_keys("5");
    full.type_keys("5");
    assert_eq!(selected(&app), selected(&full));
    assert_eq!(
        detail(&app, "owner"),
        ["being found (the package databases are still being read)"]
    );
    assert!(
        detail(&full, "owner")[0].contains("family"),
        "{:?}",
        full.details
    );
    app.type_keys("3");
    full.type_keys("3");
    assert!(labels(&app).is_empty());
    assert!(screen(&app).contains("finding the owner package of every file"));

    app.handle(Msg::Attributed(Ok(Box::new(attributed))));
    assert_eq!(labels(&app), labels(&full));
    assert_eq!(screen(&app), screen(&full));
    app.type_keys("5");
    full.type_keys("5");
    assert_eq!(app.details, full.details);
}
