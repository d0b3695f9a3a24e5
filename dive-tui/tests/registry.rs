//! `registry:REF`, `docker:REF` and `podman:REF` against real peers: Debian's
//! `docker-registry` (the reference registry) started on loopback with images pushed by
//! `skopeo copy` from the generated fixtures, and stand-in engine executables on `PATH`
//! that write a real archive.
//!
//! Without `docker-registry`/`skopeo`/`htpasswd` the registry tests skip, except under
//! `CI=true`, where their absence fails (`dive_testdata::tools`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};

use base64::Engine as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use dive_testdata::tools::Tool;
use dive_testdata::{BuiltImage, Compression, LayoutOptions, MediaTypes};

const BIN: &str = env!("CARGO_BIN_EXE_dive-rs");
const USER: &str = "dive";
const PASSWORD: &str = "s3cret-pw";

/// A reference registry on a free loopback port, stopped on drop.
struct Registry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    auth: bool,
}

impl Registry {
    /// Starts one (with htpasswd basic auth when `auth`); `None` when the tools are missing
    /// outside CI.
    fn start(auth: bool) -> Option<Registry> {
        let tools = ["docker-registry", "skopeo", "htpasswd"].map(Tool::Program);
        if !dive_testdata::tools::available(&tools) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\n  formatter: text\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if auth {
            let hash = Command::new("htpasswd")
                .args(["-Bbn", USER, PASSWORD])
                .output()
                .unwrap();
            assert!(hash.status.success());
            std::fs::write(dir.path().join("htpasswd"), &hash.stdout).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: dive-test\n    path: {}\n",
                dir.path().join("htpasswd").display()
            ));
        }
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let registry = Registry {
            child,
            port,
            dir,
            auth,
        };
        registry.wait_ready();
        Some(registry)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n");
                let mut line = String::new();
                if BufReader::new(stream).read_line(&mut line).is_ok() && line.starts_with("HTTP/")
                {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the registry did not start:\n{}", self.log());
    }

    fn host(&self) -> String {
        format!("localhost:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// `skopeo copy` of an OCI layout into `repo:tag` (`--all` keeps a multi-platform index).
    fn push(&self, layout: &Path, target: &str) {
        let mut command = Command::new("skopeo");
        command.args(["copy", "--all", "--dest-tls-verify=false"]);
        if self.auth {
            command.args(["--dest-creds", &format!("{USER}:{PASSWORD}")]);
        }
        let output = command
            .arg(format!("oci:{}", layout.display()))
            .arg(format!("docker://{}/{target}", self.host()))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "skopeo copy failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Where the registry keeps a blob's bytes.
    fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// Manifest requests (GET and HEAD) answered so far for `repo`, from the registry's log.
    fn manifests_served(&self, repo: &str) -> usize {
        let marker = format!("/v2/{repo}/manifests/");
        self.log()
            .lines()
            .filter(|l| l.contains("response completed") && l.contains(&marker))
            .count()
    }

    /// Digests of the blobs served so far from `repo`, in order, from the registry's log.
    fn blobs_served(&self, repo: &str) -> Vec<String> {
        let marker = format!("/v2/{repo}/blobs/");
        self.log()
            .lines()
            .filter(|l| l.contains("response completed") && l.contains("GET"))
            .filter_map(|l| {
                let at = l.find(&marker)? + marker.len();
                Some(l[at..].split(['"', ' ']).next()?.to_owned())
            })
            .collect()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn layout(
    images: &[&BuiltImage],
    compression: Compression,
    nested_index: bool,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let options = LayoutOptions {
        compression,
        media: MediaTypes::Oci,
        nested_index,
    };
    dive_testdata::oci_layout(images, options)
        .unwrap()
        .0
        .write_dir(dir.path())
        .unwrap();
    dir
}

fn dive_rs(args: &[&str]) -> Output {
    dive_rs_env(args, &[])
}

fn dive_rs_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("CI")
        // Credentials from the developer's own Docker login must not leak into a test.
        .env("DOCKER_CONFIG", "/nonexistent/dive-rs-test");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "dive-rs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The analysis without the fields that name where it came from.
fn facts(mut analysis: serde_json::Value) -> serde_json::Value {
    analysis["input"] = serde_json::Value::Null;
    analysis["image"]["layout"] = serde_json::Value::Null;
    analysis["image"]["reference"] = serde_json::Value::Null;
    if let Some(warnings) = analysis["warnings"].as_array_mut() {
        for warning in warnings {
            warning["location"]["input"] = serde_json::Value::Null;
        }
    }
    analysis
}

/// The digest of an analysis's largest layer blob.
fn largest_layer(analysis: &serde_json::Value) -> String {
    analysis["layers"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|l| l["size_compressed"].as_u64().unwrap())
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs dive-rs and expects exit status 2 with one message holding every word of `expected`.
fn refused(args: &[&str], env: &[(&str, &str)], expected: &[&str]) -> String {
    let output = dive_rs_env(args, env);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    for word in expected {
        assert!(stderr.contains(word), "{args:?}: no {word:?} in: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn a_registry_image_gives_the_same_analysis_as_its_oci_layout() {
    let Some(registry) = Registry::start(false) else {
        return;
    };
    let spec = dive_testdata::demo_image();
    let ledger = dive_testdata::ledger(&spec);
    let demo = dive_testdata::build(&spec).unwrap();
    for (compression, tag) in [(Compression::Gzip, "gzip"), (Compression::Zstd, "zstd")] {
        let dir = layout(&[&demo], compression, false);
        registry.push(dir.path(), &format!("app:{tag}"));
        let reference = format!("registry:{}/app:{tag}", registry.host());
        let remote = json(&dive_rs(&[&reference, "--insecure", "--json", "--verify"]));
        let local = json(&dive_rs(&[
            dir.path().to_str().unwrap(),
            "--json",
            "--verify",
        ]));
        assert_eq!(remote["image"]["layout"], "registry");
        assert_eq!(remote["input"], reference);
        assert_eq!(
            remote["image"]["reference"],
            format!("{}/app:{tag}", registry.host())
        );
        assert_eq!(facts(remote.clone()), facts(local), "{tag}");
        // And both equal the generator's own ledger.
        assert_eq!(remote["image"]["final_bytes"], ledger.final_bytes);
        assert_eq!(remote["image"]["hidden_bytes"], ledger.hidden_bytes);
        let compressions: Vec<&str> = remote["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["compression"].as_str().unwrap())
            .collect();
        assert!(compressions.iter().all(|c| *c == tag), "{compressions:?}");
    }
    // A bare reference that names no file is a registry reference too.
    let bare = format!("{}/app:gzip", registry.host());
    let output = dive_rs(&[&bare, "--insecure", "--summary"]);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("layout registry"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn platforms_are_chosen_from_a_registry_index_as_from_a_layout() {
    let Some(registry) = Registry::start(false) else {
        return;
    };
    let built: Vec<BuiltImage> = dive_testdata::two_platforms()
        .iter()
        .map(|s| dive_testdata::build(s).unwrap())
        .collect();
    let refs: Vec<&BuiltImage> = built.iter().collect();
    let dir = layout(&refs, Compression::Zstd, true);
    registry.push(dir.path(), "multi:1");
    let reference = format!("registry:{}/multi:1", registry.host());
    for (platform, server) in [(None, 40_000), (Some("linux/arm64"), 50_000)] {
        let mut args = vec![reference.as_str(), "--insecure", "--json"];
        let mut local_args = vec![dir.path().to_str().unwrap(), "--json"];
        if let Some(platform) = platform {
            args.extend(["--platform", platform]);
            local_args.extend(["--platform", platform]);
        }
        let remote = json(&dive_rs(&args));
        assert_eq!(facts(remote.clone()), facts(json(&dive_rs(&local_args))));
        let expected = platform.map_or("linux/amd64", |_| "linux/arm64/v8");
        assert_eq!(remote["image"]["platform"], expected);
        let sizes = remote["largest_files"].as_array().is_some_and(|files| {
            files
                .iter()
                .any(|f| f["path"] == "/app/server" && f["bytes"] == server)
        });
        assert!(sizes, "{platform:?}: /app/server should be {server} bytes");
    }
    refused(
        &[
            &reference,
            "--insecure",
            "--platform",
            "linux/s390x",
            "--summary",
        ],
        &[],
        &["linux/s390x", "linux/amd64", "linux/arm64/v8"],
    );
}

#[test]
fn basic_auth_comes_from_flags_or_the_docker_config_and_is_refused_without() {
    let Some(registry) = Registry::start(true) else {
        return;
    };
    let rich = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    let dir = layout(&[&rich], Compression::Gzip, false);
    registry.push(dir.path(), "private:1");
    let reference = format!("registry:{}/private:1", registry.host());
    let local = facts(json(&dive_rs(&[dir.path().to_str().unwrap(), "--json"])));

    let creds = format!("{USER}:{PASSWORD}");
    let with_flag = json(&dive_rs(&[
        &reference,
        "--insecure",
        "--creds",
        &creds,
        "--json",
    ]));
    assert_eq!(facts(with_flag), local);

    // As `docker login` leaves it.
    let config = tempfile::tempdir().unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(&creds);
    std::fs::write(
        config.path().join("config.json"),
        format!(
            r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
            registry.host()
        ),
    )
    .unwrap();
    let config_dir = config.path().to_str().unwrap();
    let with_config = json(&dive_rs_env(
        &[&reference, "--insecure", "--json"],
        &[("DOCKER_CONFIG", config_dir)],
    ));
    assert_eq!(facts(with_config), local);

    refused(
        &[&reference, "--insecure", "--no-creds", "--summary"],
        &[("DOCKER_CONFIG", config_dir)],
        &["registry:", "401", "credentials"],
    );
    refused(
        &[
            &reference,
            "--insecure",
            "--creds",
            "dive:wrong",
            "--summary",
        ],
        &[],
        &["401"],
    );
    refused(
        &[&reference, "--insecure", "--creds", "no-colon", "--summary"],
        &[],
        &["--creds takes USER:PASSWORD"],
    );
}

#[test]
fn the_cache_fetches_only_the_layers_a_second_image_does_not_share() {
    let Some(registry) = Registry::start(false) else {
        return;
    };
    let v1 = dive_testdata::build(&dive_testdata::demo_image()).unwrap();
    let v2 = dive_testdata::build(&dive_testdata::demo_image_v2()).unwrap();
    let (dir1, dir2) = (
        layout(&[&v1], Compression::Gzip, false),
        layout(&[&v2], Compression::Gzip, false),
    );
    registry.push(dir1.path(), "app:1");
    registry.push(dir2.path(), "app2:2");
    let layer_digests = |dir: &Path| -> Vec<String> {
        let analysis = json(&dive_rs(&[dir.to_str().unwrap(), "--json"]));
        analysis["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap().to_owned())
            .collect()
    };
    let (d1, d2) = (layer_digests(dir1.path()), layer_digests(dir2.path()));
    let own: Vec<&String> = d2.iter().filter(|d| !d1.contains(d)).collect();
    assert!(
        !own.is_empty() && own.len() < d2.len(),
        "the fixtures share some layers"
    );

    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let (ref1, ref2) = (
        format!("registry:{}/app:1", registry.host()),
        format!("registry:{}/app2:2", registry.host()),
    );
    let uncached = facts(json(&dive_rs(&[&ref2, "--insecure", "--json"])));
    let first = json(&dive_rs(&[
        &ref1,
        "--insecure",
        "--cache",
        cache_dir,
        "--json",
    ]));
    assert_eq!(
        facts(first),
        facts(json(&dive_rs(&[dir1.path().to_str().unwrap(), "--json"])))
    );
    let served_before = registry.blobs_served("app2").len();
    let second = json(&dive_rs(&[
        &ref2,
        "--insecure",
        "--cache",
        cache_dir,
        "--json",
    ]));
    assert_eq!(facts(second), uncached, "a cached layer analyses alike");
    let served: Vec<String> = registry.blobs_served("app2")[served_before..].to_vec();
    let layers_fetched: Vec<&String> = served.iter().filter(|d| d2.contains(d)).collect();
    let mut expected = own.clone();
    expected.sort();
    let mut fetched = layers_fetched.clone();
    fetched.sort();
    assert_eq!(fetched, expected, "only app2's own layers are fetched");

    // A third run fetches no layer at all.
    let before = registry.blobs_served("app2").len();
    json(&dive_rs(&[
        &ref2,
        "--insecure",
        "--cache",
        cache_dir,
        "--json",
    ]));
    let again: Vec<String> = registry.blobs_served("app2")[before..].to_vec();
    assert!(again.iter().all(|d| !d2.contains(d)), "{again:?}");

    // A damaged cache file is a miss, never an error.
    for entry in std::fs::read_dir(cache.path()).unwrap() {
        std::fs::write(entry.unwrap().path(), b"dive-rs layer\0garbage").unwrap();
    }
    let rebuilt = json(&dive_rs(&[
        &ref2,
        "--insecure",
        "--cache",
        cache_dir,
        "--json",
    ]));
    assert_eq!(facts(rebuilt), uncached);
}

#[test]
fn registry_failures_exit_2_with_a_clear_message() {
    let Some(registry) = Registry::start(false) else {
        return;
    };
    let demo = dive_testdata::build(&dive_testdata::demo_image()).unwrap();
    let dir = layout(&[&demo], Compression::Gzip, false);
    registry.push(dir.path(), "app:1");
    registry.push(dir.path(), "cut:1");
    let host = registry.host();

    // Nobody listening.
    let closed = format!("registry:127.0.0.1:{}/app:1", free_port());
    refused(
        &[&closed, "--insecure", "--summary"],
        &[],
        &["cannot reach", "127.0.0.1"],
    );
    // HTTPS asked of a plain HTTP registry.
    refused(
        &[&format!("registry:{host}/app:1"), "--summary"],
        &[],
        &["cannot reach", "--insecure"],
    );
    // Unknown tag and repository.
    refused(
        &[
            &format!("registry:{host}/app:nope"),
            "--insecure",
            "--summary",
        ],
        &[],
        &["manifest unknown", "no image"],
    );
    refused(
        &[
            &format!("registry:{host}/nothing:1"),
            "--insecure",
            "--summary",
        ],
        &[],
        &["registry:", "nothing"],
    );
    // A manifest over --max-metadata.
    refused(
        &[
            &format!("registry:{host}/app:1"),
            "--insecure",
            "--max-metadata",
            "100",
            "--summary",
        ],
        &[],
        &["over the 100-byte cap", "--max-metadata"],
    );

    // The largest layer, damaged on the registry's disk: bytes changed, then cut short.
    let analysis = json(&dive_rs(&[dir.path().to_str().unwrap(), "--json"]));
    let largest = largest_layer(&analysis);
    let file = registry.blob_file(&largest);
    let original = std::fs::read(&file).unwrap();
    let mut changed = original.clone();
    let middle = changed.len() / 2;
    changed[middle] ^= 0xff;
    std::fs::write(&file, &changed).unwrap();
    let stderr = refused(
        &[&format!("registry:{host}/app:1"), "--insecure", "--summary"],
        &[],
        &["registry:", &largest],
    );
    assert!(stderr.contains("digest"), "{stderr}");
    std::fs::write(&file, &original[..middle]).unwrap();
    refused(
        &[&format!("registry:{host}/cut:1"), "--insecure", "--summary"],
        &[],
        &["registry:", &largest],
    );
    std::fs::write(&file, &original).unwrap();
    json(&dive_rs(&[
        &format!("registry:{host}/app:1"),
        "--insecure",
        "--json",
    ]));
}

/// What the stand-in registry does.
enum Behaviour {
    /// 403 DENIED to every request, as registries with per-repository permissions answer.
    Forbid,
    /// Serves the layout; for the blob `cut` names, sends the headers in full, half of the
    /// body, then closes the connection. With `ranges`, a `Range: bytes=A-B` request gets
    /// `206 Partial Content`; without, the whole blob, as registries that ignore ranges do.
    Serve { cut: Option<String>, ranges: bool },
}

/// A registry stand-in on loopback serving an OCI layout's files over HTTP/1.1, for the
/// failures the reference registry cannot be made to show (403, a connection cut mid-blob).
fn stand_in_registry(layout: PathBuf, behaviour: Behaviour) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            let mut line = String::new();
            let mut range: Option<(usize, usize)> = None;
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                let lower = line.to_ascii_lowercase();
                if let Some(spec) = lower.trim().strip_prefix("range: bytes=") {
                    let (a, b) = spec.split_once('-').unwrap();
                    range = Some((a.parse().unwrap(), b.parse().unwrap()));
                }
                line.clear();
            }
            let path = request.split(' ').nth(1).unwrap_or("/").to_owned();
            let out = reader.get_mut();
            let (cut, ranges) = match &behaviour {
                Behaviour::Serve { cut, ranges } => (cut.as_deref(), *ranges),
                Behaviour::Forbid => {
                    let body = r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#;
                    let _ = write!(
                        out,
                        "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    continue;
                }
            };
            let index: serde_json::Value =
                serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
            let top = &index["manifests"][0];
            let (digest, media_type) = if path == "/v2/" {
                let _ = write!(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
                );
                continue;
            } else if path.ends_with("/manifests/1") {
                (
                    top["digest"].as_str().unwrap().to_owned(),
                    top["mediaType"].as_str().unwrap().to_owned(),
                )
            } else {
                let digest = path.rsplit('/').next().unwrap().to_owned();
                (digest, top["mediaType"].as_str().unwrap().to_owned())
            };
            let file = layout
                .join("blobs/sha256")
                .join(digest.trim_start_matches("sha256:"));
            let Ok(bytes) = std::fs::read(&file) else {
                let _ = write!(
                    out,
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                continue;
            };
            if let Some((first, last)) = range.filter(|_| ranges) {
                let last = last.min(bytes.len() - 1);
                let _ = write!(
                    out,
                    "HTTP/1.1 206 Partial Content\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes {first}-{last}/{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    bytes.len(),
                    last + 1 - first
                );
                let _ = out.write_all(&bytes[first..=last]);
                continue;
            }
            let _ = write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: {media_type}\r\nDocker-Content-Digest: {digest}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            );
            let send = if cut == Some(digest.as_str()) {
                &bytes[..bytes.len() / 2]
            } else {
                &bytes[..]
            };
            let _ = out.write_all(send);
        }
    });
    port
}

#[test]
fn a_registry_that_forbids_the_pull_or_cuts_a_blob_exits_2() {
    let demo = dive_testdata::build(&dive_testdata::demo_image()).unwrap();
    let dir = layout(&[&demo], Compression::Gzip, false);
    let port = stand_in_registry(dir.path().to_owned(), Behaviour::Forbid);
    refused(
        &[
            &format!("registry:localhost:{port}/app:1"),
            "--insecure",
            "--summary",
        ],
        &[],
        &["registry:", "denied"],
    );
    // The stand-in serves the image faithfully when nothing is cut...
    let local = facts(json(&dive_rs(&[dir.path().to_str().unwrap(), "--json"])));
    let port = stand_in_registry(
        dir.path().to_owned(),
        Behaviour::Serve {
            cut: None,
            ranges: false,
        },
    );
    let served = json(&dive_rs(&[
        &format!("registry:localhost:{port}/app:1"),
        "--insecure",
        "--json",
    ]));
    assert_eq!(facts(served), local);
    // ...and a connection that drops inside the largest layer is an error naming it.
    let largest = largest_layer(&local);
    let port = stand_in_registry(
        dir.path().to_owned(),
        Behaviour::Serve {
            cut: Some(largest.clone()),
            ranges: false,
        },
    );
    refused(
        &[
            &format!("registry:localhost:{port}/app:1"),
            "--insecure",
            "--summary",
        ],
        &[],
        &["registry:", &largest],
    );
}

#[test]
fn insecure_is_for_loopback_unless_any_host_is_asked_for() {
    // 192.0.2.1 (TEST-NET-1) never answers; what matters is the scheme tried.
    let output = dive_rs(&["registry:192.0.2.1:5000/app:1", "--insecure", "--summary"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("https://192.0.2.1"), "{stderr}");
    let output = dive_rs(&["--insecure-any-host", "registry:x/app:1", "--summary"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "--insecure-any-host needs --insecure"
    );
}

/// A stand-in engine: `save REF` writes `$DIVE_TEST_ARCHIVE` for the one image it knows,
/// otherwise fails as docker does. `DIVE_TEST_CUT` makes it stop half-way and fail;
/// `DIVE_TEST_ONCE` (a file it creates) makes every save after the first fail.
fn stand_in_engine(dir: &Path, name: &str) {
    let script = format!(
        r#"#!/bin/sh
[ "$1" = save ] || {{ echo "{name}: only save is stood in" >&2; exit 64; }}
shift
if [ "{name}" = podman ]; then
    [ "$1 $2" = "--format docker-archive" ] || {{ echo "podman: expected --format docker-archive, got $*" >&2; exit 64; }}
    shift 2
fi
if [ -n "$DIVE_TEST_ONCE" ] && [ -e "$DIVE_TEST_ONCE" ]; then
    echo "Error response from daemon: No such image: $1" >&2
    exit 1
fi
[ -n "$DIVE_TEST_ONCE" ] && : > "$DIVE_TEST_ONCE"
if [ "$1" != demo/ml-service:1.0 ]; then
    echo "Error response from daemon: No such image: $1" >&2
    exit 1
fi
if [ -n "$DIVE_TEST_CUT" ]; then
    head -c "$DIVE_TEST_CUT" "$DIVE_TEST_ARCHIVE"
    echo "write /dev/stdout: broken pipe" >&2
    exit 1
fi
exec cat "$DIVE_TEST_ARCHIVE"
"#
    );
    let path = dir.join(name);
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn docker_and_podman_sources_stream_the_engines_save() {
    let demo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/demo/ml-service.tar"
    );
    let bin = tempfile::tempdir().unwrap();
    stand_in_engine(bin.path(), "docker");
    stand_in_engine(bin.path(), "podman");
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = [("PATH", path.as_str()), ("DIVE_TEST_ARCHIVE", demo)];
    let from_file = json(&dive_rs(&[demo, "--json"]));
    for engine in ["docker", "podman"] {
        let spec = format!("{engine}:demo/ml-service:1.0");
        let streamed = json(&dive_rs_env(&[&spec, "--json"], &env));
        assert_eq!(streamed["input"], spec);
        assert_eq!(facts(streamed), facts(from_file.clone()), "{engine}");
        refused(
            &[&format!("{engine}:nope:1"), "--summary"],
            &env,
            &[
                &spec[..engine.len()],
                "save nope:1",
                "No such image: nope:1",
            ],
        );
    }
    // Files are read by running the save again, up to the layer's blob.
    let cases: [&[&str]; 3] = [
        &["app/main.py"],
        &["/usr/local/lib/python3.11/dist-packages/nvidia/cudnn/lib/libcudnn.so.8"],
        &[
            "root/.cache/pip/http-v2/a/1/b/c/d/9f8e7d6c5b4a39281706f5e4d3c2b1a0",
            "--layer",
            "2",
        ],
    ];
    for (i, args) in cases.iter().enumerate() {
        let from_tar = dive_rs(&[&["cat", demo][..], args].concat());
        assert!(
            from_tar.status.success() && !from_tar.stdout.is_empty(),
            "{args:?}"
        );
        let spec = if i == 0 {
            "podman:demo/ml-service:1.0"
        } else {
            "docker:demo/ml-service:1.0"
        };
        let from_engine = dive_rs_env(&[&["cat", spec][..], args].concat(), &env);
        assert!(
            from_engine.status.success() && from_engine.stdout == from_tar.stdout,
            "{spec} {args:?}: {}",
            String::from_utf8_lossy(&from_engine.stderr)
        );
    }
    let out = tempfile::tempdir().unwrap();
    let extracted = dive_rs_env(
        &[
            "extract",
            "docker:demo/ml-service:1.0",
            "/app",
            "-o",
            out.path().to_str().unwrap(),
        ],
        &env,
    );
    assert!(extracted.status.success(), "{extracted:?}");
    assert_eq!(
        std::fs::read(out.path().join("app/main.py")).unwrap(),
        dive_rs(&["cat", demo, "/app/main.py"]).stdout
    );
    // An image gone from the engine after the analysis: the engine's words, when a file is
    // read.
    let marker = bin.path().join("saved-once");
    let mut once_env = env.to_vec();
    once_env.push(("DIVE_TEST_ONCE", marker.to_str().unwrap()));
    refused(
        &["cat", "docker:demo/ml-service:1.0", "/app/main.py"],
        &once_env,
        &["docker save demo/ml-service:1.0", "No such image"],
    );
    // The engine dies half-way: its own words, not a damaged-archive guess.
    let size = std::fs::metadata(demo).unwrap().len() / 2;
    let cut = size.to_string();
    let mut cut_env = env.to_vec();
    cut_env.push(("DIVE_TEST_CUT", &cut));
    refused(
        &["docker:demo/ml-service:1.0", "--summary"],
        &cut_env,
        &["docker save demo/ml-service:1.0", "failed", "broken pipe"],
    );
    // No engine at all.
    let empty = tempfile::tempdir().unwrap();
    refused(
        &["podman:demo/ml-service:1.0", "--summary"],
        &[("PATH", empty.path().to_str().unwrap())],
        &["`podman` is not installed", "registry:REF"],
    );
}

/// A stand-in for a registry an image names: it counts the connections it is asked for and
/// closes each one.
fn counting_host() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (host, count)
}

/// A registry image whose manifest names its base (BuildKit's annotations): without
/// `--base auto` the base is shown, no request reaches the registry it names, and the
/// summary says how to have it read; with it, the base's manifest and config are read from
/// that registry and its layers marked. A base on another registry is not asked with this
/// one's options; one that cannot be read is a warning.
#[test]
fn the_base_a_registry_images_manifest_names_is_read_only_with_base_auto() {
    use std::sync::atomic::Ordering;
    let Some(registry) = Registry::start(false) else {
        return;
    };
    let mut base_spec = dive_testdata::demo_base_image();
    base_spec.tag = "base:12".into();
    let base_layout = layout(
        &[&dive_testdata::build(&base_spec).unwrap()],
        Compression::Gzip,
        false,
    );
    registry.push(base_layout.path(), "base:12");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(base_layout.path().join("index.json")).unwrap())
            .unwrap();
    let base_digest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let (elsewhere, asked_elsewhere) = counting_host();
    let push_app = |repo: &str, base_name: &str| -> String {
        let mut spec = dive_testdata::demo_image();
        spec.annotations = vec![
            (
                "org.opencontainers.image.base.name".into(),
                base_name.to_owned(),
            ),
            (
                "org.opencontainers.image.base.digest".into(),
                base_digest.clone(),
            ),
        ];
        let app = layout(
            &[&dive_testdata::build(&spec).unwrap()],
            Compression::Gzip,
            false,
        );
        registry.push(app.path(), &format!("{repo}:1"));
        format!("registry:{}/{repo}:1", registry.host())
    };
    let base_manifests = |registry: &Registry| {
        registry
            .log()
            .lines()
            .filter(|l| l.contains("/v2/base/manifests/"))
            .count()
    };
    let app = push_app("app", &format!("{}/base:12", registry.host()));
    let other = push_app("elsewhere", &format!("{elsewhere}/library/base:12"));
    let asked_before = base_manifests(&registry);

    // Not asked for: shown, not fetched, from this registry or another.
    for source in [&app, &other] {
        let analysis = json(&dive_rs(&[source, "--insecure", "--json"]));
        let base = &analysis["image"]["base"];
        assert_eq!(base["digest"], base_digest.as_str(), "{source}");
        assert_eq!(base["source"], "annotation", "{source}: {base}");
        assert_eq!(base["layers"], serde_json::Value::Null, "{source}: {base}");
        assert_eq!(analysis["layers"][1]["from_base"], false, "{source}");
        let summary = dive_rs(&[source, "--insecure", "--summary"]);
        let summary = String::from_utf8_lossy(&summary.stdout);
        assert!(
            summary.contains("named by the manifest; not read (--base auto reads it"),
            "{summary}"
        );
    }
    assert_eq!(
        base_manifests(&registry),
        asked_before,
        "{}",
        registry.log()
    );
    assert_eq!(asked_elsewhere.load(Ordering::SeqCst), 0);

    // Asked for: read from the registry the annotation names, and marked.
    let analysis = json(&dive_rs(&[&app, "--insecure", "--base", "auto", "--json"]));
    let base = &analysis["image"]["base"];
    assert_eq!(base["layers"], 2, "{base}");
    assert_eq!(base["source"], "given", "{base}");
    assert_eq!(analysis["layers"][1]["from_base"], true);
    assert!(base_manifests(&registry) > asked_before);
    let summary = dive_rs(&[&app, "--insecure", "--base", "auto", "--summary"]);
    let summary = String::from_utf8_lossy(&summary.stdout);
    assert!(summary.contains("layers 0–1"), "{summary}");

    // Another registry is asked too (anonymously, so over HTTPS, which the stand-in
    // refuses): a warning, and this proves the count above could be more than zero.
    let analysis = json(&dive_rs(&[
        &other,
        "--insecure",
        "--base",
        "auto",
        "--json",
    ]));
    assert!(asked_elsewhere.load(Ordering::SeqCst) > 0);
    assert_eq!(analysis["image"]["base"]["layers"], serde_json::Value::Null);
    let warned = analysis["warnings"].as_array().unwrap().iter().any(|w| {
        w["message"]
            .as_str()
            .unwrap_or_default()
            .contains("could not be read")
    });
    assert!(warned, "{}", analysis["warnings"]);
}

/// `cat` and `extract` open the image once: they ask the registry for its manifest as often
/// as an analysis alone does (they asked twice as often when the contents were read through
/// an input opened again), and read the one layer holding the file.
#[test]
fn cat_and_extract_open_a_registry_image_once() {
    let Some(registry) = Registry::start(false) else {
        return;
    };
    let demo = dive_testdata::build(&dive_testdata::demo_image()).unwrap();
    let gzip = layout(&[&demo], Compression::Gzip, false);
    registry.push(gzip.path(), "once:gzip");
    let reference = format!("registry:{}/once:gzip", registry.host());
    let asked = |args: &[&str]| {
        let before = registry.manifests_served("once");
        let out = dive_rs(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        registry.manifests_served("once") - before
    };
    let analysis = asked(&[&reference, "--insecure", "--json"]);
    assert!(analysis > 0);
    assert_eq!(
        asked(&["cat", &reference, "--insecure", "/app/main.py"]),
        analysis
    );
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("x");
    let extract = [
        "extract",
        &reference,
        "--insecure",
        "/app",
        "-o",
        dir.to_str().unwrap(),
    ];
    assert_eq!(asked(&extract), analysis);
}

/// `cat` of a registry image: a compressed blob read from its start (the reference
/// registry), a plain one by a range request answered `206` (said to be unchecked) or, by a
/// registry that ignores ranges, whole and read up to the file. (`skopeo copy` compresses
/// plain layers on the way to a registry, so plain blobs come from the stand-in.) The bytes
/// equal the layout's every time.
#[test]
fn files_are_read_from_a_registry_by_range_or_from_the_blobs_start() {
    let Some(registry) = Registry::start(false) else {
        return;
    };
    let demo = dive_testdata::build(&dive_testdata::demo_image()).unwrap();
    let file = "/usr/local/lib/python3.11/dist-packages/nvidia/cudnn/lib/libcudnn.so.8";
    let cat = |dir: &Path, reference: &str, note: &str| {
        let local = dive_rs(&["cat", dir.to_str().unwrap(), file]);
        assert!(local.status.success() && local.stdout.len() > 1 << 20);
        let remote = dive_rs(&["cat", reference, "--insecure", file]);
        let stderr = String::from_utf8_lossy(&remote.stderr);
        assert!(remote.status.success(), "{reference}: {stderr}");
        assert!(remote.stdout == local.stdout, "{reference}: bytes differ");
        assert!(stderr.contains(note), "{reference}: {stderr}");
    };
    let gzip = layout(&[&demo], Compression::Gzip, false);
    registry.push(gzip.path(), "app:gzip");
    cat(
        gzip.path(),
        &format!("registry:{}/app:gzip", registry.host()),
        "from the start of the registry's blob",
    );
    let plain = layout(&[&demo], Compression::None, false);
    for (ranges, note) in [
        (true, "range request (206)"),
        (false, "ignored the range request"),
    ] {
        let port = stand_in_registry(
            plain.path().to_owned(),
            Behaviour::Serve { cut: None, ranges },
        );
        cat(
            plain.path(),
            &format!("registry:localhost:{port}/app:1"),
            note,
        );
    }
}

/// `podman:REF` against the real engine where it is installed: the demo loaded into podman's
/// store reads to the same facts as its file, a file read back through it is the same bytes,
/// and an image podman lacks is refused in podman's own words.
#[test]
fn the_podman_source_reads_the_real_engine() {
    if !dive_testdata::tools::available(&[dive_testdata::tools::Tool::Program("podman")]) {
        return;
    }
    let demo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/demo/ml-service.tar"
    );
    let podman = |args: &[&str]| {
        let out = Command::new("podman").args(args).output().unwrap();
        assert!(out.status.success(), "podman {args:?}: {out:?}");
    };
    // A tag of our own, so that the test neither meets nor removes a user's image.
    let tag = "localhost/dive-rs-test/ml-service:podman-source";
    podman(&["load", "--quiet", "--input", demo]);
    podman(&["tag", "demo/ml-service:1.0", tag]);
    let spec = format!("podman:{tag}");
    let streamed = json(&dive_rs(&[&spec, "--json"]));
    let from_file = json(&dive_rs(&[demo, "--json"]));
    let cat = dive_rs(&["cat", &spec, "/app/main.py"]);
    let missing = dive_rs(&["podman:localhost/dive-rs-test/nope:1", "--summary"]);
    podman(&["rmi", "--force", tag, "demo/ml-service:1.0"]);
    // podman saves the layers it stores uncompressed: the blobs differ, every fact of the
    // contents (diff_ids, bytes, entries, attribution) is the same.
    let contents = |mut analysis: serde_json::Value| {
        analysis = facts(analysis);
        for field in ["size_compressed", "manifest_digest"] {
            analysis["image"][field] = serde_json::Value::Null;
        }
        for layer in analysis["layers"].as_array_mut().unwrap() {
            for field in [
                "digest",
                "blob",
                "media_type",
                "compression",
                "size_compressed",
            ] {
                layer[field] = serde_json::Value::Null;
            }
        }
        analysis
    };
    assert_eq!(contents(streamed), contents(from_file));
    assert_eq!(cat.stdout, dive_rs(&["cat", demo, "/app/main.py"]).stdout);
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("podman save") && stderr.contains("nope"),
        "{stderr}"
    );
}
