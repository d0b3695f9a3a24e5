//! Entry points and oracles for the `cargo fuzz` targets in `fuzz/` and their regression
//! tests: the parsers an image feeds, callable on arbitrary bytes. Not a stable API: public
//! with the `unstable` feature only.
#![cfg_attr(not(feature = "unstable"), allow(dead_code))]

use crate::layer::{
    EntryKind, LayerIndex, WalkOptions, walk_bytes, walk_reader, walk_reader_threaded,
};

/// Package paths the database parsers recognise, one per parser and database kind.
pub const DATABASE_PATHS: [&str; 8] = [
    "usr/lib/python3/site-packages/pkg-1.0.dist-info/RECORD",
    "usr/lib/python3/site-packages/pkg-1.0.egg-info/installed-files.txt",
    "var/lib/dpkg/status",
    "var/lib/dpkg/info/pkg.list",
    "lib/apk/db/installed",
    "opt/conda/conda-meta/pkg-1.0-0.json",
    "app/node_modules/pkg/package.json",
    "var/lib/rpm/Packages",
];

/// Reads `data` as rpm's sqlite database followed by its write-ahead log, whose length the
/// last two bytes give (big-endian); any of rpm's three forms is read by its magic. Returns
/// how many packages it named.
pub fn rpm_database(data: &[u8]) -> usize {
    let (wal_len, data) = match data.split_last_chunk::<2>() {
        Some((data, len)) => (usize::from(u16::from_be_bytes(*len)), data),
        None => (0, data),
    };
    let (db, wal) = data.split_at(data.len().saturating_sub(wal_len));
    let path = "var/lib/rpm/rpmdb.sqlite";
    let mut room = crate::attribution::Room::new(1, path.len(), path.len());
    crate::attribution::parse_database(path.as_bytes(), db, Some(wal), &mut room)
        .packages
        .len()
}

/// Parses `content` as the package database at `path`, with the room of an image of one
/// entry; returns how many packages it named.
pub fn parse_database(path: &str, content: &[u8]) -> usize {
    let mut room = crate::attribution::Room::new(1, path.len(), path.len());
    crate::attribution::parse_database(path.as_bytes(), content, None, &mut room)
        .packages
        .len()
}

/// Reads `data` as a program or archive that records its build (a Java archive, an ELF
/// file's Go build info or cargo auditable section, in place and streamed in pieces of the
/// length its first byte gives); returns how many dependencies it named.
pub fn recorded(data: &[u8]) -> usize {
    let (chunk, data) = data.split_first().map_or((1, data), |(c, d)| (*c, d));
    crate::layer::recorded_of(data, usize::from(chunk).max(1) * 64)
}

/// Reads the debug and symbol section bytes of an ELF file held in `bytes`.
pub fn elf_debug_bytes(bytes: &[u8]) -> Option<u64> {
    crate::layer::elf_debug_bytes_of(bytes)
}

/// Reads the CUDA device code of an ELF file held in `bytes` by its sections and by a deep
/// scan fed in small and in large pieces, and says how they disagree, if they do: every
/// way of cutting a stream finds the same, and no way counts more bytes than the file has.
pub fn device_code_agrees(bytes: &[u8]) -> Result<(), String> {
    let Some([sections, small]) = crate::layer::device_code_of(bytes, 7) else {
        return Ok(());
    };
    let Some([_, large]) = crate::layer::device_code_of(bytes, 1 << 16) else {
        return Err("the second reading found no ELF file".into());
    };
    // Where a fat binary fails within the last bytes of a piece, the pieces may tell its
    // neighbours apart differently: only well-formed files must agree exactly.
    if small != large && small.1.is_empty() && large.1.is_empty() {
        return Err(format!(
            "cut in 7-byte pieces: {small:?}; in 64 KiB: {large:?}"
        ));
    }
    for code in [&sections.0, &small.0].into_iter().flatten() {
        let total = code.device_bytes() + code.container_bytes;
        if total > bytes.len() as u64 || code.embedded_bytes > total {
            return Err(format!(
                "{code:?} counts more than the file's {} bytes",
                bytes.len()
            ));
        }
    }
    Ok(())
}

/// Expands `data` as a GNU sparse member (header blocks, then data fragments) as `cat`
/// does; an error or a file exactly as long as the header says, never a panic.
pub fn sparse_member(data: &[u8]) -> Result<usize, String> {
    crate::contents::sparse::expand_member(data, 1 << 24).map(|file| file.len())
}

/// Walks a layer blob by seeking, streaming and on two threads, and says how the walks
/// disagree, if they do.
pub fn walks_agree(data: &[u8]) -> Result<(), String> {
    let options = WalkOptions {
        verify: true,
        ..WalkOptions::default()
    };
    let seeking = walk_bytes(data, &options);
    let streamed = walk_reader(data, &options);
    let threaded = walk_reader_threaded(data, &options);
    // Seeking skips file data, so only streams carry content hashes.
    if shape(&seeking) != shape(&streamed) {
        return Err("seeking and streaming walks found different entries".into());
    }
    if streamed.warnings.is_empty() {
        if streamed.entries != threaded.entries {
            return Err("one and two threads found different entries".into());
        }
    } else {
        // A decoder error loses the bytes of the read that failed, and the two walks read
        // in different steps: the damage must be reported and the walks agree up to it.
        let agreed = threaded.entries.len().saturating_sub(1);
        if threaded.warnings.is_empty() {
            return Err("two threads did not report the damage one thread found".into());
        }
        if !streamed.entries.starts_with(&threaded.entries[..agreed]) {
            return Err("two threads disagree with one before the damage".into());
        }
    }
    let files: u64 = streamed
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .fold(0u64, |sum, e| sum.saturating_add(e.size));
    if files != streamed.file_bytes {
        return Err(format!(
            "file bytes {} are not the sum of file sizes {files}",
            streamed.file_bytes
        ));
    }
    Ok(())
}

/// `fix` on a Dockerfile made of any bytes, against an image built here whose history is
/// the file's own `RUN`s as BuildKit writes them (so that most files match), each layer
/// holding a pip cache, apt's lists and a file the next layer deletes: the plan, when
/// there is one, must edit only inside the text, give the text its diff describes, and
/// leave a file that still parses. Returns how many edits the plan made.
pub fn fix_agrees(dockerfile: &[u8]) -> Result<usize, String> {
    let Ok(parsed) = crate::dockerfile::parse("Dockerfile", dockerfile) else {
        return Ok(0);
    };
    let Ok(steps) = crate::dockerfile::chain(&parsed, None) else {
        return Ok(0);
    };
    let mut history = vec!["/bin/sh -c #(nop) ADD file:0 in / ".to_owned()];
    for (index, shell) in steps.iter().take(16) {
        let instruction = &parsed.instructions[*index];
        if instruction.keyword == crate::dockerfile::Keyword::Run
            && instruction.form == crate::dockerfile::Form::Shell
            && instruction.heredocs.is_empty()
        {
            let command = parsed.logical_arguments(instruction);
            history.push(format!("RUN {} {command} # buildkit", shell.join(" ")));
        }
    }
    let image = fix_image(&history).map_err(|e| format!("building the image: {e}"))?;
    let analysis = crate::AnalyzerBuilder::new()
        .threads(1)
        .build()
        .analyze(crate::Source::reader("-", std::io::Cursor::new(image)), &())
        .map_err(|e| format!("the built image: {e}"))?;
    // With --cpu-only too: the rule must refuse an image without torch, saying so.
    let cpu = crate::fix::FixOptions::default().cpu_only(true);
    if let Ok(plan) = crate::fix::plan(&analysis, "Dockerfile", dockerfile, &cpu)
        && plan.notes.is_empty()
    {
        return Err("--cpu-only on an image without torch gave no note".into());
    }
    let Ok(plan) = crate::fix::plan(
        &analysis,
        "Dockerfile",
        dockerfile,
        &crate::fix::FixOptions::default(),
    ) else {
        return Ok(0);
    };
    let patched = plan.patched();
    let diff = plan.diff("Dockerfile");
    if plan.fixes.is_empty() != diff.is_empty() {
        return Err(format!("{} fixes, diff {diff:?}", plan.fixes.len()));
    }
    if crate::dockerfile::parse("Dockerfile", patched.as_bytes()).is_err() {
        return Err(format!("the patched file does not parse:\n{patched}"));
    }
    Ok(plan.fixes.len())
}

/// A `docker save` tar with one layer per history line: a base file, then in each layer
/// pip's cache, apt's lists and archives, and a file the next layer deletes.
fn fix_image(history: &[String]) -> std::io::Result<Vec<u8>> {
    let mut layers = Vec::new();
    for i in 0..history.len() {
        let mut tar = tar::Builder::new(Vec::new());
        let mut file = |path: String, size: usize| {
            let mut header = tar::Header::new_gnu();
            header.set_size(size as u64);
            header.set_mode(0o644);
            tar.append_data(&mut header, path, &vec![i as u8; size][..])
        };
        file(format!("root/.cache/pip/http/{i}"), 1000 + i)?;
        file(format!("var/lib/apt/lists/list{i}"), 500 + i)?;
        file("var/cache/apt/archives/x.deb".to_owned(), 300 + i)?;
        file(format!("tmp/drop{i}"), 200 + i)?;
        // apt installs: `a<i>` asked for, `r<i>` pulled in by its Recommends; each layer's
        // status lists all so far, as dpkg writes it, and apt marks the `r`s auto-installed.
        file(format!("usr/share/a{i}/data"), 400 + i)?;
        file(format!("usr/share/r{i}/data"), 600 + i)?;
        let mut text = |path: String, body: String| {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            tar.append_data(&mut header, path, body.as_bytes())
        };
        text(format!("var/lib/dpkg/info/a{i}.list"), format!("/usr/share/a{i}/data\n"))?;
        text(format!("var/lib/dpkg/info/r{i}.list"), format!("/usr/share/r{i}/data\n"))?;
        let status: String = (0..=i)
            .map(|j| {
                format!(
                    "Package: a{j}\nStatus: install ok installed\nRecommends: r{j}\n\n\
                     Package: r{j}\nStatus: install ok installed\n\n"
                )
            })
            .collect();
        text("var/lib/dpkg/status".to_owned(), status)?;
        let auto: String = (0..=i)
            .map(|j| format!("Package: r{j}\nAuto-Installed: 1\n\n"))
            .collect();
        text("var/lib/apt/extended_states".to_owned(), auto)?;
        if i > 0 {
            let mut header = tar::Header::new_gnu();
            header.set_size(0);
            header.set_mode(0o644);
            tar.append_data(&mut header, format!("tmp/.wh.drop{}", i - 1), std::io::empty())?;
        }
        layers.push(tar.into_inner()?);
    }
    let diff_ids: Vec<String> = layers.iter().map(|l| crate::digest::sha256(l)).collect();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history.iter().map(|h| serde_json::json!({"created_by": h})).collect::<Vec<_>>(),
    });
    let config = serde_json::to_vec(&config)?;
    let names: Vec<String> = (0..layers.len()).map(|i| format!("{i}/layer.tar")).collect();
    let manifest = serde_json::to_vec(&serde_json::json!([
        {"Config": "config.json", "RepoTags": ["fuzz/fix:1"], "Layers": names}
    ]))?;
    let mut out = tar::Builder::new(Vec::new());
    let mut add = |path: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        out.append_data(&mut header, path, bytes)
    };
    add("config.json", &config)?;
    for (name, layer) in names.iter().zip(&layers) {
        add(name, layer)?;
    }
    add("manifest.json", &manifest)?;
    out.into_inner()
}

/// What every walk of the same bytes must agree on.
fn shape(index: &LayerIndex) -> Vec<(&[u8], EntryKind, u64)> {
    index
        .entries
        .iter()
        .map(|e| (&*e.path, e.kind, e.size))
        .collect()
}

#[cfg(test)]
mod tests {
    /// Every Dockerfile of the fix cases passes the oracle the fuzz target runs.
    #[test]
    fn the_fix_cases_pass_the_fix_oracle() {
        for case in dive_testdata::fix_cases::fix_cases() {
            super::fix_agrees(case.dockerfile.as_bytes()).unwrap();
        }
        let edits = super::fix_agrees(b"FROM a\nRUN pip install x\nRUN rm -rf /tmp/drop1\n");
        // The pip flag, apt's lists (no apt-get ran: its archives stay listed), the fold of
        // the delete; the folded RUN's own caches go with it.
        assert_eq!(edits, Ok(3));
        // The second RUN (layer 2) installs `a2`, which brought `r2` by its Recommends: the flag
        // too, unless the user chose already.
        let edits = super::fix_agrees(b"FROM a\nRUN pip install x\nRUN apt-get install -y a2\n");
        assert_eq!(edits, Ok(5));
        let chosen = b"FROM a\nRUN pip install x\nRUN apt-get install -y --no-install-recommends a2\n";
        assert_eq!(super::fix_agrees(chosen), Ok(4));
    }

    #[test]
    fn every_fuzzed_path_reaches_a_parser() {
        for path in super::DATABASE_PATHS {
            assert!(crate::attribution::is_database(path.as_bytes()), "{path}");
        }
    }
}
