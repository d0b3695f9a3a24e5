//! Write one layer's tar with the `tar` crate, the way image builders do.

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use tar::{EntryType, Header};

use crate::content::Content;
use crate::spec::{LayerSpec, Op, Stamp};

/// Modification time of every generated entry, so output is reproducible.
pub const MTIME: u64 = 1_700_000_000;

/// The layer's uncompressed tar.
pub fn layer_tar(spec: &LayerSpec) -> io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for op in &spec.ops {
        write_op(&mut builder, op, spec.style.dot_slash, Stamp::default())?;
    }
    let mut bytes = builder.into_inner()?;
    if spec.style.no_end_blocks {
        bytes.truncate(bytes.len() - 1024);
    }
    Ok(bytes)
}

/// Writes every op of a layer into any tar builder (used for large streamed layers too).
pub fn write_ops<W: Write>(builder: &mut tar::Builder<W>, spec: &LayerSpec) -> io::Result<()> {
    for op in &spec.ops {
        write_op(builder, op, spec.style.dot_slash, Stamp::default())?;
    }
    Ok(())
}

fn write_op<W: Write>(
    builder: &mut tar::Builder<W>,
    op: &Op,
    dot_slash: bool,
    stamp: Stamp,
) -> io::Result<()> {
    let name = |path: &[u8], suffix: &[u8]| {
        let mut n = if dot_slash {
            b"./".to_vec()
        } else {
            Vec::new()
        };
        n.extend_from_slice(path);
        n.extend_from_slice(suffix);
        n
    };
    match op {
        Op::Stamped { op, stamp } => write_op(builder, op, dot_slash, *stamp),
        Op::Dir { path, mode: own } => append(
            builder,
            EntryType::Directory,
            &name(path, b"/"),
            0,
            with_mode(stamp, *own),
            None,
            io::empty(),
        ),
        Op::File {
            path,
            size,
            seed,
            mode: own,
        } => append(
            builder,
            EntryType::Regular,
            &name(path, b""),
            *size,
            with_mode(stamp, *own),
            None,
            Content::new(*seed, *size),
        ),
        Op::Text { path, content } => append(
            builder,
            EntryType::Regular,
            &name(path, b""),
            content.len() as u64,
            with_mode(stamp, 0o644),
            None,
            &content[..],
        ),
        Op::Symlink { path, target } => append(
            builder,
            EntryType::Symlink,
            &name(path, b""),
            0,
            with_mode(stamp, 0o777),
            Some(target),
            io::empty(),
        ),
        Op::Hardlink { path, target } => append(
            builder,
            EntryType::Link,
            &name(path, b""),
            0,
            with_mode(stamp, 0o644),
            Some(&name(target, b"")),
            io::empty(),
        ),
        Op::Whiteout { path } => {
            let (dir, base) = split(path);
            marker(builder, &name(&[dir, b".wh.", base].concat(), b""), stamp)
        }
        Op::Opaque { dir } => marker(
            builder,
            &name(&[&dir[..], b"/.wh..wh..opq"].concat(), b""),
            stamp,
        ),
        Op::PaxFile { path, size, seed } => {
            let mut records = pax_record(b"path", &name(path, b""));
            records.extend(pax_record(b"size", size.to_string().as_bytes()));
            append(
                builder,
                EntryType::XHeader,
                b"PaxHeaders.0/file",
                records.len() as u64,
                with_mode(stamp, 0o644),
                None,
                &records[..],
            )?;
            // The ustar size field says 0: only a reader that honours PAX `size` finds the data.
            let mut header = header(EntryType::Regular, 0, with_mode(stamp, 0o644));
            set_raw(&mut header.as_old_mut().name, b"pax-truncated-name")?;
            header.set_cksum();
            builder.append(&header, Content::new(*seed, *size))
        }
    }
}

/// A whiteout marker: an empty regular file with a reserved name.
fn marker<W: Write>(builder: &mut tar::Builder<W>, name: &[u8], stamp: Stamp) -> io::Result<()> {
    append(
        builder,
        EntryType::Regular,
        name,
        0,
        Stamp {
            mode: Some(0o644),
            ..stamp
        },
        None,
        io::empty(),
    )
}

/// `dir/` and `name` of `dir/name` (dir keeps its slash).
fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => (&[], path),
    }
}

/// `stamp` with `own` as its mode unless it sets one.
fn with_mode(stamp: Stamp, own: u32) -> Stamp {
    Stamp {
        mode: Some(stamp.mode.unwrap_or(own)),
        ..stamp
    }
}

/// A header of `kind` for `size` bytes with `stamp`'s fields (mode 0644 unless it sets one).
fn header(kind: EntryType, size: u64, stamp: Stamp) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(stamp.mode.unwrap_or(0o644));
    header.set_uid(stamp.uid.into());
    header.set_gid(stamp.gid.into());
    header.set_mtime(stamp.mtime);
    header.set_size(size);
    header
}

fn append<W: Write, R: Read>(
    builder: &mut tar::Builder<W>,
    kind: EntryType,
    name: &[u8],
    size: u64,
    stamp: Stamp,
    link: Option<&[u8]>,
    data: R,
) -> io::Result<()> {
    let mut header = header(kind, size, stamp);
    if let Some(link) = link {
        set_raw(&mut header.as_old_mut().linkname, link)?;
    }
    if name.len() < 100 {
        // Raw bytes keep `./` prefixes and non-UTF-8 names exactly as given.
        set_raw(&mut header.as_old_mut().name, name)?;
        header.set_cksum();
        builder.append(&header, data)
    } else {
        // Long names go through the crate's GNU `././@LongLink` support.
        builder.append_data(&mut header, Path::new(OsStr::from_bytes(name)), data)
    }
}

fn set_raw(field: &mut [u8], value: &[u8]) -> io::Result<()> {
    if value.len() > field.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "name too long for a raw header field",
        ));
    }
    field.fill(0);
    field[..value.len()].copy_from_slice(value);
    Ok(())
}

/// One PAX record: `<len> key=value\n`, where `len` counts itself.
pub fn pax_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut out = format!("{len} ").into_bytes();
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}
