//! Writes the bundled demo image and the fixture images in every form.
//!
//! `gen-testdata demo [OUT]`      the demo (`testdata/demo/ml-service.tar`)
//! `gen-testdata demo-v2 DIR`     the demo after a change, as an OCI layout (zstd), to diff
//! `gen-testdata forms DIR`       the rich fixture in every form, plus its ledger
//! `gen-testdata large DIR GB`    a large torch+CUDA-shaped image as docker-archive and OCI gzip

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use dive_testdata::{
    Compression, LayoutOptions, MediaTypes, build, demo_image, demo_image_v2, docker_legacy,
    docker25, ledger, oci_layout, rich_image,
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
        Some("large") if args.len() == 3 => match args[2].parse::<f64>() {
            Ok(gb) => dive_testdata::large::write_large(Path::new(&args[1]), gb),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "GB must be a number",
            )),
        },
        _ => {
            eprintln!("usage: gen-testdata demo [OUT] | demo-v2 DIR | forms DIR | large DIR GB");
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
