//! The real binary in a real terminal: tmux runs `dive-rs`, sends keys and reads the
//! screen back. Without tmux the tests skip, except under `CI=true` (`dive_testdata::tools`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_dive-rs");
const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/demo/ml-service.tar"
);

struct Tmux {
    socket: String,
}

impl Tmux {
    /// A private tmux server, or `None` when tmux is not installed (outside CI).
    fn start(name: &str, command: &str) -> Option<Self> {
        if !dive_testdata::tools::available(&[dive_testdata::tools::Tool::Program("tmux")]) {
            return None;
        }
        let tmux = Self {
            socket: format!("dive-rs-{name}-{}", std::process::id()),
        };
        // The shell prints the exit status on the normal screen and keeps the pane open.
        // CI=true would make dive-rs run its gate instead of the view, as dive does.
        let wrapped = format!("unset CI; {command}; echo \"exit status $?\"; sleep 60");
        let out = tmux.run(&[
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "40",
            "-s",
            "t",
            "-e",
            "TERM=xterm-256color",
            &wrapped,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(tmux)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap()
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Waits until the screen shows every one of `texts`.
    fn wait_for(&self, texts: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if texts.iter().all(|t| screen.contains(t)) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "waited for {texts:?}; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the program to exit; returns its exit status.
    fn wait_exit(&self) -> String {
        let screen = self.wait_for(&["exit status "]);
        let at = screen.find("exit status ").unwrap() + "exit status ".len();
        screen[at..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

#[test]
fn the_real_binary_draws_takes_keys_and_restores_the_terminal() {
    let Some(tmux) = Tmux::start("file", &format!("{BIN} {DEMO}")) else {
        return;
    };
    tmux.wait_for(&["1 Layers", "2 Tree", "usr/", "RUN pip install torch"]);
    tmux.keys(&["3", "Enter"]);
    tmux.wait_for(&["▾ nvidia (family)", "nvidia_cublas_cu12"]);
    tmux.keys(&["?"]);
    tmux.wait_for(&["keys ("]);
    tmux.keys(&["?", "q"]);
    assert_eq!(tmux.wait_exit(), "0");
    let after = tmux.screen();
    assert!(
        !after.contains("1 Layers"),
        "the alternate screen was left:\n{after}"
    );
}

#[test]
fn keys_come_from_the_terminal_when_the_image_comes_on_stdin() {
    let Some(tmux) = Tmux::start("stdin", &format!("cat {DEMO} | {BIN} -")) else {
        return;
    };
    tmux.wait_for(&["1 Layers", "usr/"]);
    tmux.keys(&["5"]);
    tmux.wait_for(&["libcublasLt.so.12"]);
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_exit(), "0");
}

#[test]
fn a_saved_scan_opens_in_the_view_without_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("demo.dive");
    let scan = scan.to_str().unwrap();
    let saved = Command::new(BIN)
        .args([DEMO, "--summary", "--save", scan])
        .env_remove("CI")
        .output()
        .unwrap();
    assert!(saved.status.success());
    let Some(tmux) = Tmux::start("scan", &format!("{BIN} {scan}")) else {
        return;
    };
    tmux.wait_for(&["demo/ml-service:1.0", "1 Layers", "RUN pip install torch"]);
    tmux.keys(&["3", "Enter"]);
    tmux.wait_for(&["▾ nvidia (family)"]);
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_exit(), "0");
}

#[test]
fn names_with_terminal_controls_leave_the_title_and_screen_alone() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("hostile.tar");
    let built = dive_testdata::build(&dive_testdata::hostile_image()).unwrap();
    let bytes =
        dive_testdata::docker25(&[&built], dive_testdata::Compression::Gzip, false).unwrap();
    std::fs::write(&image, bytes).unwrap();
    let image = image.display();
    // A known title first; the summary (on the terminal) and the view must not change it.
    let command = format!(
        "printf '\\033]2;clean-title\\033\\\\'; {BIN} {image} --summary; echo summary done; \
         read -r _; {BIN} {image}"
    );
    let Some(tmux) = Tmux::start("hostile", &command) else {
        return;
    };
    let title = || {
        let out = tmux.run(&["display-message", "-p", "-t", "t", "#{pane_title}"]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let summary = tmux.wait_for(&["summary done"]);
    // The summary's last screenful (a clear would have emptied it): its hidden items.
    assert!(
        summary.contains(r"deleted                 /root/.cache/pip/\e]0;OWNED\x07"),
        "{summary}"
    );
    assert_eq!(title(), "clean-title");
    tmux.keys(&["Enter"]);
    tmux.wait_for(&["1 Layers", r"hostile/app\e]0;OWNED\x07"]);
    tmux.keys(&["3", "e"]);
    tmux.wait_for(&[r"evil\e]0;OWNED\x07"]);
    assert_eq!(title(), "clean-title");
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_exit(), "0");
    assert_eq!(title(), "clean-title");
}
