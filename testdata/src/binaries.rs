//! Programs and archives that record their builds (`dive_testdata::binaries`): a Go program
//! built by the Go toolchain, a Rust program built by `cargo auditable`, Java archives
//! written with the `zip` crate, and what each records as the toolchains themselves report
//! it (`go version -m`, `cargo tree`), for the tests to compare with.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::tools::Tool;
use crate::{ImageSpec, LayerSpec, Op};

/// The Go toolchain (Debian's `golang-go`).
pub const GO_TOOLS: [Tool; 1] = [Tool::Program("go")];
/// `cargo auditable` (`cargo install --locked cargo-auditable@0.7.7`).
pub const CARGO_TOOLS: [Tool; 1] = [Tool::Program("cargo-auditable")];

/// What a program or archive records, as its toolchain tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The main module, root crate or `group:artifact`.
    pub name: String,
    /// Its version, when recorded.
    pub version: Option<String>,
    /// What built it (`go1.19.8`), when recorded.
    pub toolchain: Option<String>,
    /// Its dependencies: name and version.
    pub dependencies: BTreeSet<(String, Option<String>)>,
}

/// A program built in a scratch directory, and what it records.
#[derive(Debug)]
pub struct Program {
    /// The executable.
    pub path: PathBuf,
    /// What its toolchain says it records.
    pub expected: Expected,
}

/// Runs `command`, its output on success.
fn run(command: &mut Command) -> io::Result<Vec<u8>> {
    let output = command.output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(output.stdout)
}

/// Writes `files` (relative path, content) below `dir`.
fn write_tree(dir: &Path, files: &[(&str, &str)]) -> io::Result<()> {
    for (path, content) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, content)?;
    }
    Ok(())
}

/// A Go program built offline in `work`, twice: by Go's own linker (the section table
/// right after the program headers) and by the system's (`-linkmode=external`, the table at
/// the end). Module `example.com/divetool` with a vendored dependency at `v1.5.2` and one
/// replaced by a local directory, as `-mod=vendor` builds record them; the expectation is
/// `go version -m`'s.
pub fn go_programs(work: &Path) -> io::Result<[Program; 2]> {
    let root = work.join("go");
    write_tree(
        &root,
        &[
            ("greet/go.mod", "module example.com/greet\n\ngo 1.19\n"),
            (
                "greet/greet.go",
                "package greet\n\nfunc Hello() string { return \"hello\" }\n",
            ),
            (
                "divetool/go.mod",
                "module example.com/divetool\n\ngo 1.19\n\nrequire (\n\texample.com/greet \
                 v1.2.0\n\texample.com/quote v1.5.2\n)\n\nreplace example.com/greet => \
                 ../greet\n",
            ),
            (
                "divetool/vendor/modules.txt",
                "# example.com/greet v1.2.0 => ../greet\n## explicit; go 1.19\n\
                 example.com/greet\n# example.com/quote v1.5.2\n## explicit; go 1.19\n\
                 example.com/quote\n# example.com/greet => ../greet\n",
            ),
            (
                "divetool/vendor/example.com/greet/greet.go",
                "package greet\n\nfunc Hello() string { return \"hello\" }\n",
            ),
            (
                "divetool/vendor/example.com/quote/quote.go",
                "package quote\n\nfunc Go() string { return \"Don't communicate by sharing \
                 memory.\" }\n",
            ),
            (
                "divetool/main.go",
                "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/greet\"\n\t\
                 \"example.com/quote\"\n)\n\nfunc main() { fmt.Println(greet.Hello(), \
                 quote.Go()) }\n",
            ),
        ],
    )?;
    let build = |name: &str, flags: &[&str]| -> io::Result<Program> {
        let path = work.join(name);
        run(Command::new("go")
            .args(["build", "-buildvcs=false"])
            .args(flags)
            .arg("-o")
            .arg(&path)
            .arg(".")
            .current_dir(root.join("divetool"))
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-mod=vendor")
            .env("GOTOOLCHAIN", "local")
            .env("GOCACHE", work.join("gocache"))
            .env("GOPATH", work.join("gopath")))?;
        let listed = run(Command::new("go").arg("version").arg("-m").arg(&path))?;
        Ok(Program {
            expected: go_expected(&String::from_utf8_lossy(&listed)),
            path,
        })
    };
    Ok([
        build("divetool", &[])?,
        build("divetool-cgo", &["-ldflags=-linkmode=external"])?,
    ])
}

/// What `go version -m` lists: the Go version, the main module, each dependency with the
/// version of its replacement when it has one (none for a local directory).
fn go_expected(listed: &str) -> Expected {
    let mut lines = listed.lines();
    let toolchain = lines
        .next()
        .and_then(|l| l.rsplit(' ').next())
        .map(str::to_owned);
    let mut expected = Expected {
        name: String::new(),
        version: None,
        toolchain,
        dependencies: BTreeSet::new(),
    };
    let mut last: Option<(String, Option<String>)> = None;
    let version = |v: Option<&str>| {
        v.filter(|v| !v.is_empty() && *v != "(devel)")
            .map(str::to_owned)
    };
    for line in lines {
        let fields: Vec<&str> = line.trim_start().split('\t').collect();
        match fields.first().copied() {
            Some("mod") => {
                fields[1].clone_into(&mut expected.name);
                expected.version = version(fields.get(2).copied());
            }
            Some("dep") => {
                expected.dependencies.extend(last.take());
                last = Some((fields[1].to_owned(), version(fields.get(2).copied())));
            }
            Some("=>") => {
                if let Some(dep) = last.as_mut() {
                    dep.1 = version(fields.get(2).copied());
                }
            }
            _ => {}
        }
    }
    expected.dependencies.extend(last);
    expected
}

/// A Rust program built by `cargo auditable` in `work`: crate `divetool-rs` 0.2.0 with a
/// path dependency `helper` 0.3.1, which depends on `inner` 1.0.0, and a build-time-only
/// `buildonly`; the expectation is `cargo tree`'s normal dependencies.
pub fn rust_program(work: &Path) -> io::Result<Program> {
    let root = work.join("rust");
    let manifest = |name: &str, version: &str, deps: &str| {
        format!(
            "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n\
             [workspace]\n{deps}"
        )
    };
    write_tree(
        &root,
        &[
            (
                "divetool-rs/Cargo.toml",
                &manifest(
                    "divetool-rs",
                    "0.2.0",
                    "[dependencies]\nhelper = { path = \"../helper\" }\n\
                     [build-dependencies]\nbuildonly = { path = \"../buildonly\" }\n",
                ),
            ),
            (
                "divetool-rs/build.rs",
                "fn main() { let _ = buildonly::two(); }\n",
            ),
            (
                "divetool-rs/src/main.rs",
                "fn main() { println!(\"{}\", helper::greet()); }\n",
            ),
            (
                "helper/Cargo.toml",
                &manifest(
                    "helper",
                    "0.3.1",
                    "[dependencies]\ninner = { path = \"../inner\" }\n",
                ),
            ),
            (
                "helper/src/lib.rs",
                "pub fn greet() -> String { format!(\"hello {}\", inner::NAME) }\n",
            ),
            ("inner/Cargo.toml", &manifest("inner", "1.0.0", "")),
            ("inner/src/lib.rs", "pub const NAME: &str = \"inner\";\n"),
            ("buildonly/Cargo.toml", &manifest("buildonly", "0.1.0", "")),
            ("buildonly/src/lib.rs", "pub fn two() -> u32 { 2 }\n"),
        ],
    )?;
    let dir = root.join("divetool-rs");
    let target = work.join("rust-target");
    run(Command::new("cargo")
        .args(["auditable", "build", "--release", "--offline", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target))?;
    let tree = run(Command::new("cargo")
        .args([
            "tree",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
            "--format",
            "{p}",
        ])
        .current_dir(&dir))?;
    let tree = String::from_utf8_lossy(&tree);
    let mut crates = tree.lines().filter_map(|line| {
        // `name vX.Y.Z (path)`, a crate seen twice marked `(*)`.
        let mut fields = line.split(' ');
        let name = fields.next()?.to_owned();
        let version = fields.next()?.strip_prefix('v')?.to_owned();
        Some((name, Some(version)))
    });
    let (name, version) = crates
        .next()
        .ok_or_else(|| io::Error::other("cargo tree listed nothing"))?;
    let dependencies = crates.collect();
    Ok(Program {
        path: target.join("release/divetool-rs"),
        expected: Expected {
            name,
            version,
            toolchain: None,
            dependencies,
        },
    })
}

/// A Go 1.18+ build info section: its header (magic, pointer size, the inline flag), the Go
/// version and the module info between Go's 16-byte markers, each prefixed with its length
/// as a varint, as `cmd/link` writes them.
pub fn go_buildinfo(version: &str, modinfo: &str) -> Vec<u8> {
    let varint = |mut n: u64, out: &mut Vec<u8>| {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    };
    let mut out = b"\xff Go buildinf:".to_vec();
    out.extend([8, 2]);
    out.resize(32, 0);
    varint(version.len() as u64, &mut out);
    out.extend(version.as_bytes());
    let wrapped = format!("{}{modinfo}{}", "0".repeat(16), "1".repeat(16));
    varint(wrapped.len() as u64, &mut out);
    out.extend(wrapped.as_bytes());
    out
}

/// `bytes` compressed as zlib (cargo auditable's `.dep-v0` holds its JSON so).
pub fn zlib(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut out = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    out.write_all(bytes)
        .map_or_else(|_| Vec::new(), |()| out.finish().unwrap_or_default())
}

/// Writes a zip of `entries` (name, content, deflated or stored), as the `zip` crate
/// writes archives.
pub fn zip_of(entries: &[(&str, &[u8], bool)]) -> io::Result<Vec<u8>> {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let mut writer = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    for &(name, data, deflate) in entries {
        let method = if deflate {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        writer
            .start_file(
                name,
                SimpleFileOptions::default().compression_method(method),
            )
            .map_err(io::Error::other)?;
        writer.write_all(data)?;
    }
    Ok(writer.finish().map_err(io::Error::other)?.into_inner())
}

/// `pom.properties` as Maven writes it.
fn pom(group: &str, artifact: &str, version: &str) -> Vec<u8> {
    format!(
        "#Generated by Maven\n#Tue Dec 08 00:00:00 UTC 2026\nartifactId={artifact}\n\
         groupId={group}\nversion={version}\n"
    )
    .into_bytes()
}

/// A library jar of Maven's layout: its manifest, its `pom.properties` (none when `group`
/// is), a class.
fn library(group: Option<&str>, artifact: &str, version: &str) -> io::Result<Vec<u8>> {
    let manifest = b"Manifest-Version: 1.0\r\nCreated-By: Maven JAR Plugin 3.3.0\r\n\r\n".to_vec();
    let pom_path = group.map(|g| format!("META-INF/maven/{g}/{artifact}/pom.properties"));
    let pom_bytes = group.map(|g| pom(g, artifact, version));
    let class = vec![0xca; 3000];
    let mut entries: Vec<(&str, &[u8], bool)> = vec![("META-INF/MANIFEST.MF", &manifest, true)];
    if let (Some(path), Some(bytes)) = (&pom_path, &pom_bytes) {
        entries.push((path, bytes, true));
    }
    entries.push(("lib/Main.class", &class, true));
    zip_of(&entries)
}

/// A Spring Boot fat jar `shop-2.3.1.jar` (`com.example:shop`, built by JDK 17): three
/// libraries stored in `BOOT-INF/lib/` as Spring Boot requires (one without a
/// `pom.properties`, named by its file name) and a shaded artifact's `pom.properties`; and
/// what it records, from the generator's own list.
pub fn spring_boot_jar() -> io::Result<(Vec<u8>, Expected)> {
    spring_boot_jar_padded(0)
}

/// [`spring_boot_jar`] with `pad` stored bytes of classes before its libraries and as many
/// after them: past 8 MiB each, a streamed walk keeps neither whole, and the libraries lie
/// between its head and its tail.
pub fn spring_boot_jar_padded(pad: usize) -> io::Result<(Vec<u8>, Expected)> {
    let libs = [
        (Some("com.google.guava"), "guava", "32.1.2-jre"),
        (Some("org.slf4j"), "slf4j-api", "2.0.9"),
        (None, "plain-lib", "1.4"),
    ];
    let mut nested = Vec::new();
    for (group, artifact, version) in libs {
        nested.push((
            format!("BOOT-INF/lib/{artifact}-{version}.jar"),
            library(group, artifact, version)?,
        ));
    }
    let manifest = b"Manifest-Version: 1.0\r\nMain-Class: org.springframework.boot.loader.launch.JarLauncher\r\n\
        Start-Class: com.example.shop.App\r\nBuild-Jdk-Spec: 17\r\n\r\n"
        .to_vec();
    let own = pom("com.example", "shop", "2.3.1");
    let shaded = pom("org.shaded", "tiny", "0.9");
    let class = vec![0xbe; 5000];
    let mut entries: Vec<(&str, &[u8], bool)> = vec![
        ("META-INF/MANIFEST.MF", &manifest, true),
        ("META-INF/maven/com.example/shop/pom.properties", &own, true),
        (
            "META-INF/maven/org.shaded/tiny/pom.properties",
            &shaded,
            true,
        ),
        ("BOOT-INF/classes/com/example/shop/App.class", &class, true),
    ];
    let padding: Vec<u8> = (0..pad).map(|i| (i * 31 % 251) as u8).collect();
    if pad > 0 {
        entries.push(("BOOT-INF/classes/before.bin", &padding, false));
    }
    for (path, bytes) in &nested {
        entries.push((path, bytes, false));
    }
    if pad > 0 {
        entries.push(("BOOT-INF/classes/after.bin", &padding, false));
    }
    let mut dependencies: BTreeSet<(String, Option<String>)> = libs
        .iter()
        .map(|(group, artifact, version)| {
            let name = group.map_or((*artifact).to_owned(), |g| format!("{g}:{artifact}"));
            (name, Some((*version).to_owned()))
        })
        .collect();
    dependencies.insert(("org.shaded:tiny".to_owned(), Some("0.9".to_owned())));
    Ok((
        zip_of(&entries)?,
        Expected {
            name: "com.example:shop".to_owned(),
            version: Some("2.3.1".to_owned()),
            toolchain: Some("17".to_owned()),
            dependencies,
        },
    ))
}

/// A war `site-1.0.war` whose `WEB-INF/lib/` jars are deflated, as `jar` and Maven's war
/// plugin write them; and what it records.
pub fn war() -> io::Result<(Vec<u8>, Expected)> {
    let lib = library(Some("org.apache.commons"), "commons-lang3", "3.14.0")?;
    let own = pom("com.example", "site", "1.0");
    let war = zip_of(&[
        ("META-INF/maven/com.example/site/pom.properties", &own, true),
        ("WEB-INF/lib/commons-lang3-3.14.0.jar", &lib, true),
        ("index.html", b"<html></html>", true),
    ])?;
    Ok((
        war,
        Expected {
            name: "com.example:site".to_owned(),
            version: Some("1.0".to_owned()),
            toolchain: None,
            dependencies: [(
                "org.apache.commons:commons-lang3".to_owned(),
                Some("3.14.0".to_owned()),
            )]
            .into(),
        },
    ))
}

/// One layer that copies `content` to `path`, as `COPY` does.
pub fn copy_layer(path: &str, content: Vec<u8>) -> LayerSpec {
    LayerSpec::new(
        &format!(
            "COPY {} /{path} # buildkit",
            path.rsplit('/').next().unwrap_or(path)
        ),
        vec![Op::text(path, content)],
    )
}

/// An image of the programs, each in its own layer in `usr/local/bin` under its own name.
pub fn programs_image(programs: &[&Program]) -> io::Result<ImageSpec> {
    let mut layers = vec![LayerSpec::new(
        "ADD rootfs /",
        vec![
            Op::dir("usr"),
            Op::dir("usr/local"),
            Op::dir("usr/local/bin"),
        ],
    )];
    for program in programs {
        let name = program
            .path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        let path = format!("usr/local/bin/{name}");
        layers.push(copy_layer(&path, std::fs::read(&program.path)?));
    }
    Ok(ImageSpec::new("tools/programs:1.0", layers))
}
