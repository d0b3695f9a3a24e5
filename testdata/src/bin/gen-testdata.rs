//! Writes the bundled demo image and the fixture images in every form.
//!
//! `gen-testdata demo [OUT]`      the demo (`testdata/demo/ml-service.tar`)
//! `gen-testdata demo-v2 DIR`     the demo after a change, as an OCI layout (zstd), to diff
//! `gen-testdata forms DIR`       the rich fixture in every form, plus its ledger
//! `gen-testdata large DIR GB`    a large torch+CUDA-shaped image as docker-archive, Docker 25
//!                              tar and OCI gzip and zstd
//! `gen-testdata torch-cuda DIR`  the 12.2 GB torch+CUDA-shaped docker-archive of the 100× bench
//! `gen-testdata wide OUT FILES` a `docker save` tar of one layer of FILES small files, for
//!                              memory per entry
//! `gen-testdata fuzz-seeds DIR`  seed corpora for the `cargo fuzz` targets in `fuzz/`
//! `gen-testdata hostile OUT`     a `docker save` tar whose names carry terminal controls
//! `gen-testdata cuda OUT`        a `docker save` tar (gzip layers) of CUDA libraries
//! `gen-testdata crafted NAME OUT [SCALE]`  an image written to make one stage costly (the
//!                              budgets of docs/limits.md); `crafted list` names them all

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use dive_testdata::{
    Compression, LayoutOptions, MediaTypes, build, demo_image, demo_image_v2, docker_legacy,
    docker25, hostile_image, ledger, oci_layout, owned_image, rich_image, wide_image,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(args.get(1).map_or_else(
            || PathBuf::from("testdata/demo/ml-service.tar"),
            PathBuf::from,
        )),
        Some("demo-v2") if args.len() == 2 => demo_v2(Path::new(&args[1])),
        Some("forms") if args.len() == 2 => forms(Path::new(&args[1])),
        Some("fuzz-seeds") if args.len() == 2 => fuzz_seeds(Path::new(&args[1])),
        Some("hostile") if args.len() == 2 => hostile(Path::new(&args[1])),
        Some("cuda") if args.len() == 2 => cuda(Path::new(&args[1])),
        Some("large") if args.len() == 3 => match args[2].parse::<f64>() {
            Ok(gb) => dive_testdata::large::write_large(Path::new(&args[1]), gb),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "GB must be a number",
            )),
        },
        Some("torch-cuda") if args.len() == 2 => {
            dive_testdata::large::write_torch_cuda(Path::new(&args[1]))
        }
        Some("wide") if args.len() == 3 => match args[2].parse::<u64>() {
            Ok(files) => wide(Path::new(&args[1]), files),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "FILES must be a whole number",
            )),
        },
        Some("crafted") if args.get(1).map(String::as_str) == Some("list") => {
            for case in dive_testdata::crafted::CRAFTED {
                println!(
                    "{:16} {} {}: {}",
                    case.name, case.full, case.unit, case.attacks
                );
            }
            Ok(())
        }
        Some("crafted") if args.len() == 3 || args.len() == 4 => {
            let scale = args.get(3).map_or(Ok(1.0), |s| s.parse::<f64>());
            match scale {
                Ok(scale) => crafted(&args[1], Path::new(&args[2]), scale),
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "SCALE must be a number",
                )),
            }
        }
        _ => {
            eprintln!(
                "usage: gen-testdata demo [OUT] | demo-v2 DIR | forms DIR | large DIR GB | \
                 torch-cuda DIR | wide OUT FILES | fuzz-seeds DIR | hostile OUT | cuda OUT | \
                 crafted list | crafted NAME OUT [SCALE]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gen-testdata: {err}");
            ExitCode::from(1)
        }
    }
}

fn wide(out: &Path, files: u64) -> io::Result<()> {
    let built = build(&wide_image(files))?;
    std::fs::write(out, docker_legacy(&[&built], false)?)?;
    println!("wrote {} ({files} files)", out.display());
    Ok(())
}

fn crafted(name: &str, out: &Path, scale: f64) -> io::Result<()> {
    let written = dive_testdata::crafted::write_crafted(name, out, scale)?;
    println!(
        "wrote {} ({} {name}: {} entries in {} layers, {} bytes of paths, {} bytes of tar, \
         {} bytes of package databases)",
        out.display(),
        written.count,
        written.entries,
        written.layers,
        written.path_bytes,
        written.tar_bytes,
        written.database_bytes
    );
    Ok(())
}

fn cuda(out: &Path) -> io::Result<()> {
    let built = build(&dive_testdata::cuda_image())?;
    std::fs::write(out, docker25(&[&built], Compression::Gzip, false)?)?;
    println!("wrote {}", out.display());
    Ok(())
}

fn hostile(out: &Path) -> io::Result<()> {
    let built = build(&hostile_image())?;
    std::fs::write(out, docker25(&[&built], Compression::Gzip, false)?)?;
    println!("wrote {}", out.display());
    Ok(())
}

fn demo(out: PathBuf) -> io::Result<()> {
    let built = build(&demo_image())?;
    let bytes = docker25(&[&built], Compression::Gzip, false)?;
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&out, &bytes)?;
    println!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}

fn demo_v2(dir: &Path) -> io::Result<()> {
    let built = build(&demo_image_v2())?;
    let options = LayoutOptions {
        compression: Compression::Zstd,
        media: MediaTypes::Oci,
        nested_index: false,
    };
    oci_layout(&[&built], options)?.0.write_dir(dir)?;
    println!("wrote {}", dir.display());
    Ok(())
}

fn forms(dir: &Path) -> io::Result<()> {
    let spec = rich_image();
    let built = build(&spec)?;
    let images = [&built];
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("docker-legacy.tar"),
        docker_legacy(&images, false)?,
    )?;
    std::fs::write(
        dir.join("docker-legacy-symlinks.tar"),
        docker_legacy(&images, true)?,
    )?;
    std::fs::write(
        dir.join("docker25-gzip.tar"),
        docker25(&images, Compression::Gzip, true)?,
    )?;
    for (name, compression) in [
        ("oci-gzip", Compression::Gzip),
        ("oci-zstd", Compression::Zstd),
        ("oci-plain", Compression::None),
    ] {
        let options = LayoutOptions {
            compression,
            media: MediaTypes::Oci,
            nested_index: false,
        };
        oci_layout(&images, options)?.0.write_dir(&dir.join(name))?;
    }
    let options = LayoutOptions {
        compression: Compression::Gzip,
        media: MediaTypes::Oci,
        nested_index: false,
    };
    std::fs::write(
        dir.join("oci-archive.tar"),
        oci_layout(&images, options)?.0.to_tar()?,
    )?;
    let facts = ledger(&spec);
    let mut summary = std::fs::File::create(dir.join("ledger.txt"))?;
    writeln!(
        summary,
        "total_file_bytes {}\nfinal_bytes {}\nfinal_files {}\nhidden_bytes {}",
        facts.total_file_bytes, facts.final_bytes, facts.final_files, facts.hidden_bytes
    )?;
    println!("wrote the rich fixture in every form to {}", dir.display());
    Ok(())
}

/// Seeds for each fuzz target, from the fixtures: layers in each compression, whole images,
/// the image JSON files, package databases and an ELF file with debug sections.
fn fuzz_seeds(dir: &Path) -> io::Result<()> {
    const SMALL: usize = 256 * 1024;
    let images = [build(&rich_image())?, build(&owned_image())?];
    let mut count = 0;
    let mut put = |target: &str, name: String, bytes: &[u8]| -> io::Result<()> {
        let folder = dir.join(target);
        std::fs::create_dir_all(&folder)?;
        std::fs::write(folder.join(name), bytes)?;
        count += 1;
        Ok(())
    };
    for (i, image) in images.iter().enumerate() {
        for (j, layer) in image
            .layers
            .iter()
            .enumerate()
            .filter(|(_, l)| l.len() <= SMALL)
        {
            for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
                let blob = dive_testdata::compress(layer, compression)?;
                put("tar_walk", format!("{i}-{j}-{compression:?}"), &blob)?;
            }
            // Package databases, with the selector byte of `fuzzing::DATABASE_PATHS`.
            let mut archive = tar::Archive::new(&layer[..]);
            for entry in archive.entries()? {
                let mut entry = entry?;
                let path = entry.path_bytes().into_owned();
                let Some(pick) = database_kind(&path) else {
                    continue;
                };
                let mut content = vec![pick];
                io::Read::read_to_end(&mut entry, &mut content)?;
                put("package_db", format!("{i}-{j}-{}", content.len()), &content)?;
            }
        }
        let archive = docker25(&[image], Compression::Gzip, false)?;
        if archive.len() <= 4 * SMALL {
            put("image", format!("{i}-docker25"), &archive)?;
        }
        let (files, _) = oci_layout(&[image], LayoutOptions::default())?;
        for (name, bytes) in &files.files {
            let pick = if name == "index.json" {
                0
            } else if bytes.starts_with(b"{") && bytes.windows(8).any(|w| w == b"\"rootfs\"") {
                2
            } else if bytes.starts_with(b"{") && bytes.windows(8).any(|w| w == b"\"layers\"") {
                1
            } else {
                continue;
            };
            put(
                "metadata",
                format!("{i}-{pick}"),
                &[&[pick][..], bytes].concat(),
            )?;
        }
    }
    let legacy = docker_legacy(&[&images[0]], false)?;
    let mut archive = tar::Archive::new(&legacy[..]);
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.path_bytes().as_ref() == b"manifest.json" {
            let mut content = vec![3];
            io::Read::read_to_end(&mut entry, &mut content)?;
            put("metadata", "docker-manifest".to_owned(), &content)?;
        }
    }
    // Dockerfiles with the quirks (heredocs, CRLF, directives, stages) and the fix cases'.
    for case in dive_testdata::dockerfiles::all() {
        put("dockerfile_fix", case.name.to_owned(), case.text.as_bytes())?;
    }
    for case in dive_testdata::fix_cases::fix_cases() {
        put(
            "dockerfile_fix",
            format!("fix-{}", case.name),
            case.dockerfile.as_bytes(),
        )?;
    }
    put(
        "elf",
        "debug".to_owned(),
        &dive_testdata::elf_with_debug(4096, 8192, 1024),
    )?;
    // Fat binaries in `.nv_fatbin` and `.rodata`, and the damaged ones, small enough to mutate.
    let small = |sms: &[u32]| dive_testdata::arch_sweep(sms, 200);
    let cuda = dive_testdata::cuda_library(
        3,
        256,
        &[small(&[80, 90]), small(&[70])],
        &[small(&[86])],
        9,
    );
    put("elf", "cuda".to_owned(), &cuda.bytes)?;
    for (name, section) in dive_testdata::damaged_fatbins() {
        let elf = dive_testdata::elf_of(
            3,
            16,
            &[dive_testdata::ElfSection::new(".nv_fatbin", section)],
        );
        put("elf", format!("cuda-{name}"), &elf)?;
    }
    // What programs and archives record: the first byte sets the streamed pieces' length.
    {
        use dive_testdata::binaries::{go_buildinfo, spring_boot_jar, war, zlib};
        let modinfo = "path\texample.com/cmd\nmod\texample.com/cmd\tv1.0.0\th1:a=\n\
                       dep\texample.com/dep\tv0.1.0\th1:b=\n=>\t../dep\t\n";
        let go = dive_testdata::elf_of(
            2,
            16,
            &[dive_testdata::ElfSection::new(
                ".go.buildinfo",
                go_buildinfo("go1.22.1", modinfo),
            )],
        );
        let json = br#"{"packages":[{"name":"tool","version":"0.2.0","source":"local","dependencies":[1],"root":true},{"name":"serde","version":"1.0.210","source":"crates.io"}],"format":1}"#;
        let cargo = dive_testdata::elf_of(
            3,
            8,
            &[dive_testdata::ElfSection::new(".dep-v0", zlib(json))],
        );
        for (name, bytes) in [
            ("go", go),
            ("cargo", cargo),
            ("jar", spring_boot_jar()?.0),
            ("war", war()?.0),
        ] {
            put("recorded", name.to_owned(), &[&[1u8][..], &bytes].concat())?;
        }
    }
    let work = dir.join(".rpm-work");
    std::fs::create_dir_all(&work)?;
    for (name, seed) in rpm_seeds(&work)? {
        put("rpm_db", name, &seed)?;
    }
    std::fs::remove_dir_all(&work)?;
    println!("wrote {count} seeds under {}", dir.display());
    Ok(())
}

/// Seeds for `rpm_db` (a database, then its write-ahead log, then the log's length as two
/// big-endian bytes): an ndb file; a sqlite one with a live log and a Berkeley DB one when
/// python3 and `db5.3_load` are here (CI has them).
fn rpm_seeds(work: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    use dive_testdata::rpm::{bdb_file, ndb_file, package_header};
    let seed = |db: &[u8], wal: &[u8]| {
        let mut bytes = [db, wal].concat();
        bytes.extend_from_slice(&u16::try_from(wal.len()).unwrap_or(u16::MAX).to_be_bytes());
        bytes
    };
    let blobs: Vec<Vec<u8>> = (0..3)
        .map(|i| package_header("p", "1", &[(format!("/usr/lib/f{i}"), 10 * i)]))
        .collect();
    let mut seeds = vec![("ndb".to_owned(), seed(&ndb_file(&blobs), b""))];
    if let Ok(db) = bdb_file(work, &blobs, 512, false) {
        seeds.push(("bdb".to_owned(), seed(&db, b"")));
    }
    std::fs::write(work.join("blob"), &blobs[0])?;
    let script = [
        "import os, sqlite3, sys",
        "d = sys.argv[1]",
        "c = sqlite3.connect(os.path.join(d, 'db'))",
        "c.execute('PRAGMA page_size=512')",
        "c.execute('PRAGMA journal_mode=WAL')",
        "c.execute('PRAGMA wal_autocheckpoint=0')",
        "c.execute(\"CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)\")",
        "b = open(os.path.join(d, 'blob'), 'rb').read()",
        "c.execute('INSERT INTO Packages (blob) VALUES (?)', (b,))",
        "c.commit()",
        "c.execute('PRAGMA wal_checkpoint(TRUNCATE)')",
        "c.execute('INSERT INTO Packages (blob) VALUES (?)', (b * 3,))",
        "c.commit()",
        "os.system('cp %s/db %s/db-copy; cp %s/db-wal %s/wal-copy' % (d, d, d, d))",
        "os._exit(0)",
    ]
    .join("\n");
    let wrote = std::process::Command::new("python3")
        .args(["-c", &script])
        .arg(work)
        .status()
        .is_ok_and(|s| s.success());
    if wrote {
        let db = std::fs::read(work.join("db-copy"))?;
        let wal = std::fs::read(work.join("wal-copy"))?;
        if u16::try_from(wal.len()).is_ok() {
            seeds.push(("sqlite-wal".to_owned(), seed(&db, &wal)));
        }
    }
    Ok(seeds)
}

/// The index in `dive_core::fuzzing::DATABASE_PATHS` of the parser for this path.
fn database_kind(path: &[u8]) -> Option<u8> {
    let text = String::from_utf8_lossy(path);
    let name = text.rsplit('/').next().unwrap_or_default();
    Some(match name {
        "RECORD" => 0,
        "installed-files.txt" => 1,
        "status" => 2,
        _ if name.ends_with(".list") => 3,
        "installed" => 4,
        _ if text.contains("conda-meta/") && name.ends_with(".json") => 5,
        "package.json" => 6,
        "Packages" => 7,
        _ => return None,
    })
}
