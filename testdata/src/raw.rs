//! Tar pieces put together by hand, for tests that need what `tar::Builder` will not write:
//! lying sizes, unknown kinds, names that do not fit, members streamed from a generator.

use tar::{EntryType, Header};

use crate::layer::MTIME;

/// A tar block.
pub const BLOCK: u64 = 512;

/// `len` rounded up to whole blocks.
pub fn padded_len(len: u64) -> u64 {
    len.div_ceil(BLOCK) * BLOCK
}

/// The zeros that pad `len` bytes of data to whole blocks.
pub fn padding(len: u64) -> Vec<u8> {
    vec![0; usize::try_from(padded_len(len) - len).unwrap_or(0)]
}

/// A ustar header of type `kind` (`b'0'` a file, `b'L'` a long name, `b'x'` PAX…), mode
/// 0644. The name goes byte for byte into the 100-byte field; a longer one leaves the field
/// empty, for a test that supplies the name another way. Sizes past the octal field's
/// 8 GiB take the GNU base-256 form.
pub fn header(name: &[u8], kind: u8, size: u64) -> Header {
    let mut header = Header::new_ustar();
    if name.len() <= 100 {
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
    }
    header.set_mode(0o644);
    header.set_mtime(MTIME);
    header.set_size(size);
    header.set_entry_type(EntryType::new(kind));
    header.set_cksum();
    header
}

/// A member: its header, then its data padded to whole blocks.
pub fn member(header: &Header, data: &[u8]) -> Vec<u8> {
    let mut out = header.as_bytes().to_vec();
    out.extend_from_slice(data);
    out.extend(padding(data.len() as u64));
    out
}

/// A regular file.
pub fn file(name: &str, data: &[u8]) -> Vec<u8> {
    member(&header(name.as_bytes(), b'0', data.len() as u64), data)
}

/// A link of type `kind` (`b'1'` hard, `b'2'` symbolic) to `target`.
pub fn link(name: &str, target: &str, kind: u8) -> Vec<u8> {
    let mut header = header(name.as_bytes(), kind, 0);
    let target = target.as_bytes();
    let field = &mut header.as_old_mut().linkname;
    let n = target.len().min(field.len());
    field[..n].copy_from_slice(&target[..n]);
    header.set_cksum();
    member(&header, b"")
}

/// An extension member (`b'L'` GNU long name, `b'x'` PAX) carrying `payload`.
pub fn extension(kind: u8, payload: &[u8]) -> Vec<u8> {
    member(
        &header(b"././@LongLink", kind, payload.len() as u64),
        payload,
    )
}

/// Members one after another, then the two zero blocks that end an archive.
pub fn archive(members: &[Vec<u8>]) -> Vec<u8> {
    let mut out = members.concat();
    out.extend([0u8; 2 * BLOCK as usize]);
    out
}

/// A legacy `docker save` (tagged `raw:1`) of an image whose layers are exactly these tars.
pub fn docker_save(layers: Vec<Vec<u8>>) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| crate::digest(l)).collect();
    let config = serde_json::json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": []});
    let image = crate::BuiltImage {
        spec: crate::ImageSpec::new("raw:1", Vec::new()),
        layers,
        diff_ids,
        config: config.to_string().into_bytes(),
    };
    crate::docker_legacy(&[&image], false).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// What is put together here reads back with the `tar` crate, names and data exact.
    #[test]
    fn pieces_read_back_with_the_tar_crate() {
        let bytes = archive(&[
            file("etc/a", b"hello"),
            link("etc/b", "etc/a", b'1'),
            extension(b'x', &crate::pax_record(b"path", b"opt/long")),
            file("ignored", b"xyz"),
        ]);
        assert_eq!(bytes.len() % BLOCK as usize, 0);
        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let link = entry
                .link_name()
                .unwrap()
                .map(|l| l.to_string_lossy().into_owned());
            seen.push((path, link, data));
        }
        assert_eq!(
            seen,
            [
                ("etc/a".to_owned(), None, b"hello".to_vec()),
                ("etc/b".to_owned(), Some("etc/a".to_owned()), Vec::new()),
                ("opt/long".to_owned(), None, b"xyz".to_vec()),
            ]
        );
    }
}
