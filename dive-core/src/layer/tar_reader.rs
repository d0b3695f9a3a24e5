//! A tar reader that never holds more than it was allowed to: headers are read a block at a
//! time, GNU long names and PAX records only up to a cap, and file data is skipped (by
//! seeking when the input allows) or handed out as a bounded reader.
//!
//! The `tar` crate decodes the header fields (octal and base-256 numbers, ustar prefixes,
//! PAX records); this module only walks the blocks, because the crate's own iterator reads
//! a long name or a PAX header of any length into memory, and a hostile layer (or a tiny
//! gzip that inflates to gigabytes of one name) would take the machine's memory with it.

use std::io::{self, Read};

use tar::{EntryType, Header, PaxExtensions};

use super::tar_input::Input;
use crate::error::{Location, Warning};

/// Tar's block size: headers start, and data is padded, on these boundaries.
pub(crate) const BLOCK: u64 = 512;

/// One member of the archive with its GNU and PAX extensions applied.
#[derive(Debug)]
pub(crate) struct Member {
    /// Offset of the member's own header (after any extension headers).
    pub header_offset: u64,
    /// Offset of its data.
    pub data_offset: u64,
    /// Its type flag.
    pub entry_type: EntryType,
    /// Its path as stored (long name, PAX `path`, or the header's name with its prefix).
    pub path: Vec<u8>,
    /// Its link target as stored.
    pub link: Option<Vec<u8>>,
    /// Bytes of data stored after the header.
    pub stored: u64,
    /// Size of the file it describes (for GNU sparse files, the size it unpacks to).
    pub size: u64,
    /// Mode bits.
    pub mode: u32,
    /// Owner.
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// Modification time, whole seconds.
    pub mtime: u64,
    /// Problems with this member's headers that did not stop the walk.
    pub notes: Vec<String>,
    /// Why the member cannot be used (a name over the cap), when it cannot.
    pub unusable: Option<String>,
}

impl Member {
    /// Where the member's padded data ends and the next header may start.
    pub(crate) fn end(&self) -> u64 {
        self.data_offset
            .saturating_add(self.stored.div_ceil(BLOCK) * BLOCK)
    }

    /// The warning for a member that cannot be used, at `base` (the input) with its offset
    /// and the start of its name.
    pub(crate) fn unusable_warning(&self, base: Location) -> Option<Warning> {
        let reason = self.unusable.as_ref()?;
        let shown = &self.path[..self.path.len().min(256)];
        Some(Warning::new(
            base.offset(self.header_offset).entry(shown),
            reason.clone(),
        ))
    }
}

/// Why a walk cannot go on: where, and what.
#[derive(Debug)]
pub(crate) struct TarError {
    /// Offset in the tar where the problem is.
    pub offset: u64,
    /// What is wrong, in words.
    pub message: String,
    /// The input ended early (rather than holding something that is not tar).
    pub truncated: bool,
    /// The input ended inside the data of the member last returned.
    pub in_data: bool,
}

/// Walks the members of one tar.
pub(crate) struct TarReader<I> {
    input: I,
    pos: u64,
    /// End of the data of the member last returned.
    data_end: u64,
    /// Where the next header starts.
    next: u64,
    /// Largest extension header (long name, long link, PAX records) that is read.
    extension_cap: u64,
}

/// Extensions met before the member they describe.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<Vec<u8>>,
    notes: Vec<String>,
    unusable: Option<String>,
}

impl<I: Input> TarReader<I> {
    /// A reader at the start of `input`; extension headers above `extension_cap` bytes are
    /// passed over and make their member unusable.
    pub(crate) fn new(input: I, extension_cap: u64) -> Self {
        Self {
            input,
            pos: 0,
            data_end: 0,
            next: 0,
            extension_cap,
        }
    }

    /// The input, positioned after the last block read.
    pub(crate) fn into_inner(self) -> I {
        self.input
    }

    /// The next member, or `None` at the end blocks or at a clean end of the input.
    pub(crate) fn next_member(&mut self) -> Result<Option<Member>, TarError> {
        self.advance_to_next()?;
        let mut pending = Pending::default();
        loop {
            let header_offset = self.pos;
            let Some(block) =
                self.read_block(pending.long_name.is_some() || pending.pax.is_some())?
            else {
                return Ok(None);
            };
            if block.iter().all(|&b| b == 0) {
                if pending.long_name.is_some()
                    || pending.long_link.is_some()
                    || pending.pax.is_some()
                {
                    return Err(self.error(
                        header_offset,
                        "extension headers describe a member that never comes",
                    ));
                }
                return Ok(None);
            }
            let header = Header::from_byte_slice(&block);
            check_sum(&block, header).map_err(|m| self.error(header_offset, m))?;
            let header_size = header
                .entry_size()
                .map_err(|_| self.error(header_offset, "the size field is not a number"))?;
            let entry_type = header.entry_type();
            let is_extension = matches!(
                entry_type,
                EntryType::GNULongName
                    | EntryType::GNULongLink
                    | EntryType::XHeader
                    | EntryType::XGlobalHeader
            );
            if is_extension {
                self.read_extension(header_offset, header_size, entry_type, &mut pending)?;
                continue;
            }
            return self
                .member(header_offset, header, header_size, pending)
                .map(Some);
        }
    }

    /// A reader over the data of the member last returned.
    pub(crate) fn data(&mut self) -> Data<'_, I> {
        Data { tar: self }
    }

    fn read_extension(
        &mut self,
        header_offset: u64,
        size: u64,
        entry_type: EntryType,
        pending: &mut Pending,
    ) -> Result<(), TarError> {
        self.set_next(header_offset, header_offset + BLOCK, size)?;
        let what = match entry_type {
            EntryType::GNULongName => "GNU long name",
            EntryType::GNULongLink => "GNU long link name",
            EntryType::XHeader => "PAX header",
            // Global PAX records describe the archive, not a file: never read.
            _ => return self.advance_to_next(),
        };
        if size > self.extension_cap {
            pending.unusable = Some(format!(
                "{what} of {size} bytes is over the {}-byte cap; entry skipped",
                self.extension_cap
            ));
            return self.advance_to_next();
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        self.data()
            .read_to_end(&mut bytes)
            .map_err(|err| self.read_failure(&err, &format!("inside a {what}")))?;
        let slot = match entry_type {
            EntryType::GNULongName => &mut pending.long_name,
            EntryType::GNULongLink => &mut pending.long_link,
            _ => &mut pending.pax,
        };
        if slot.is_some() {
            pending.notes.push(format!(
                "two {what}s describe one entry; the later one is used"
            ));
        }
        *slot = Some(bytes);
        self.advance_to_next()
    }

    fn member(
        &mut self,
        header_offset: u64,
        header: &Header,
        header_size: u64,
        pending: Pending,
    ) -> Result<Member, TarError> {
        let Pending {
            long_name,
            long_link,
            pax,
            mut notes,
            mut unusable,
        } = pending;
        let mut fields = PaxFields::default();
        if let Some(pax) = &pax {
            fields = PaxFields::parse(pax, &mut notes);
        }
        let entry_type = header.entry_type();
        let stored = fields.size.unwrap_or(header_size);
        let mut data_offset = header_offset + BLOCK;
        let mut size = stored;
        if entry_type == EntryType::GNUSparse
            && let Some(gnu) = header.as_gnu()
        {
            size = gnu.real_size().unwrap_or(stored);
            let mut extended = gnu.is_extended();
            // Each extension block lists more holes; only their count of blocks matters.
            while extended {
                let Some(block) = self.read_block(true)? else {
                    return Err(self.truncated(self.pos, "inside a sparse map"));
                };
                data_offset += BLOCK;
                extended = block[504] != 0;
            }
        }
        self.set_next(header_offset, data_offset, stored)?;
        let path = long_name
            .map(trim_nul)
            .or(fields.path)
            .unwrap_or_else(|| header.path_bytes().into_owned());
        let link = long_link
            .map(trim_nul)
            .or(fields.link)
            .or_else(|| header.link_name_bytes().map(std::borrow::Cow::into_owned));
        // A PAX path or an old header's name may still be longer than the cap allows.
        let longest = path.len().max(link.as_ref().map_or(0, Vec::len));
        if unusable.is_none() && longest as u64 > self.extension_cap {
            unusable = Some(format!(
                "path or link target of {longest} bytes is over the {}-byte cap; entry skipped",
                self.extension_cap
            ));
        }
        Ok(Member {
            header_offset,
            data_offset,
            entry_type,
            path,
            link,
            stored,
            size,
            mode: header.mode().unwrap_or(0),
            uid: fields.uid.or_else(|| header.uid().ok()).unwrap_or(0),
            gid: fields.gid.or_else(|| header.gid().ok()).unwrap_or(0),
            mtime: fields.mtime.or_else(|| header.mtime().ok()).unwrap_or(0),
            notes,
            unusable,
        })
    }

    /// Records where the data of a member starts and ends, refusing sizes past any end.
    fn set_next(
        &mut self,
        header_offset: u64,
        data_offset: u64,
        size: u64,
    ) -> Result<(), TarError> {
        let end = data_offset.checked_add(size);
        let next = end.and_then(|end| end.checked_add(size.wrapping_neg() % BLOCK));
        match (end, next) {
            (Some(end), Some(next)) => {
                self.data_end = end;
                self.next = next;
                Ok(())
            }
            _ => Err(self.error(
                header_offset,
                format!("entry size of {size} bytes runs past any possible end"),
            )),
        }
    }

    /// Passes over what is left of the last member's data and padding.
    fn advance_to_next(&mut self) -> Result<(), TarError> {
        if self.pos < self.data_end {
            let left = self.data_end - self.pos;
            self.input
                .skip(left)
                .map_err(|err| self.skip_failure(&err, true))?;
            self.pos = self.data_end;
        }
        if self.next > self.pos {
            match self.input.skip(self.next - self.pos) {
                Ok(()) => self.pos = self.next,
                // The input ends inside the padding after a member's data: the member is
                // whole (some writers, umoci 0.4 among them, stop there without end blocks),
                // so this is the end of the entries, not a truncation.
                Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => self.next = self.pos,
                Err(err) => return Err(self.skip_failure(&err, false)),
            }
        }
        Ok(())
    }

    fn skip_failure(&self, err: &io::Error, in_data: bool) -> TarError {
        TarError {
            offset: self.pos,
            message: if err.kind() == io::ErrorKind::UnexpectedEof {
                "layer tar is truncated".to_owned()
            } else {
                format!("cannot read the layer: {err}")
            },
            truncated: true,
            in_data,
        }
    }

    /// One block, or `None` at a clean end of the input (when `expected` is false).
    fn read_block(&mut self, expected: bool) -> Result<Option<[u8; 512]>, TarError> {
        let mut block = [0u8; 512];
        let mut filled = 0;
        while filled < block.len() {
            match self.input.read(&mut block[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    let offset = self.pos + filled as u64;
                    return Err(TarError {
                        offset,
                        message: format!("cannot read the layer: {err}"),
                        truncated: true,
                        in_data: false,
                    });
                }
            }
        }
        let start = self.pos;
        self.pos += filled as u64;
        self.next = self.next.max(self.pos);
        match filled {
            512 => Ok(Some(block)),
            0 if !expected => Ok(None),
            _ => Err(self.truncated(start, "inside a header")),
        }
    }

    fn read_failure(&self, err: &io::Error, place: &str) -> TarError {
        if err.kind() == io::ErrorKind::UnexpectedEof {
            return self.truncated(self.pos, place);
        }
        TarError {
            offset: self.pos,
            message: format!("cannot read the layer {place}: {err}"),
            truncated: true,
            in_data: false,
        }
    }

    fn truncated(&self, offset: u64, place: &str) -> TarError {
        TarError {
            offset,
            message: format!("layer tar is truncated {place}"),
            truncated: true,
            in_data: false,
        }
    }

    fn error(&self, offset: u64, message: impl Into<String>) -> TarError {
        TarError {
            offset,
            message: message.into(),
            truncated: false,
            in_data: false,
        }
    }
}

/// The data of the member last returned; reading past it gives end of file.
pub(crate) struct Data<'a, I> {
    tar: &'a mut TarReader<I>,
}

impl<I: Input> Read for Data<'_, I> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.tar.data_end.saturating_sub(self.tar.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.tar.input.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.tar.pos += n as u64;
        Ok(n)
    }
}

impl<I: Input> Data<'_, I> {
    /// Hands the next bytes of the member's data to `sink`, from the input's buffer where it
    /// has one; says how many (0 at the end of the data).
    pub(crate) fn read_with(&mut self, sink: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let left =
            usize::try_from(self.tar.data_end.saturating_sub(self.tar.pos)).unwrap_or(usize::MAX);
        if left == 0 {
            return Ok(0);
        }
        let n = self.tar.input.read_with(left, sink)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.tar.pos += n as u64;
        Ok(n)
    }
}

/// Checks a header's checksum as tar does: unsigned, or the signed sum of old tars.
fn check_sum(block: &[u8; 512], header: &Header) -> Result<(), String> {
    let stored = header
        .cksum()
        .map_err(|_| "not a tar header: the checksum field is not a number".to_owned())?;
    // The checksum field counts as eight spaces. Whole-block sums vectorise; the signed sum
    // is only needed when the unsigned one fails.
    let field = &block[148..156];
    let spaces = 8 * u32::from(b' ');
    let unsigned = block.iter().map(|&b| u32::from(b)).sum::<u32>()
        - field.iter().map(|&b| u32::from(b)).sum::<u32>()
        + spaces;
    if stored == unsigned {
        return Ok(());
    }
    let signed = block.iter().map(|&b| i64::from(b as i8)).sum::<i64>()
        - field.iter().map(|&b| i64::from(b as i8)).sum::<i64>()
        + i64::from(spaces);
    if i64::from(stored) == signed {
        Ok(())
    } else {
        Err(format!(
            "not a tar header: checksum {stored} does not match the header's bytes ({unsigned})"
        ))
    }
}

fn trim_nul(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    bytes
}

/// The PAX records dive-rs uses.
#[derive(Default)]
struct PaxFields {
    path: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    size: Option<u64>,
    uid: Option<u64>,
    gid: Option<u64>,
    mtime: Option<u64>,
}

impl PaxFields {
    fn parse(records: &[u8], notes: &mut Vec<String>) -> Self {
        let mut fields = Self::default();
        for record in PaxExtensions::new(records) {
            let Ok(record) = record else {
                notes.push("malformed PAX record; the rest of its header is ignored".to_owned());
                break;
            };
            let Ok(key) = record.key() else {
                notes.push("PAX record with a key that is not UTF-8; ignored".to_owned());
                continue;
            };
            let value = record.value_bytes();
            let number = |notes: &mut Vec<String>| -> Option<u64> {
                let text = std::str::from_utf8(value).ok()?;
                // mtime may carry a fraction; whole seconds are kept.
                let whole = if key == "mtime" {
                    text.split('.').next().unwrap_or(text)
                } else {
                    text
                };
                let parsed = whole.parse::<u64>().ok();
                if parsed.is_none() {
                    notes.push(format!(
                        "PAX {key} {:?} is not a number dive-rs can use; the header's value is kept",
                        String::from_utf8_lossy(&value[..value.len().min(40)])
                    ));
                }
                parsed
            };
            match key {
                "path" => fields.path = Some(value.to_vec()),
                "linkpath" => fields.link = Some(value.to_vec()),
                "size" => fields.size = number(notes),
                "uid" => fields.uid = number(notes),
                "gid" => fields.gid = number(notes),
                "mtime" => fields.mtime = number(notes),
                _ => {}
            }
        }
        fields
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Cursor;

    use proptest::prelude::*;

    use super::*;
    use crate::layer::tar_input::Seeking;

    proptest! {
        /// Whatever mix of jumps and reads a walk makes, the window hands out the bytes at
        /// the position, and reads past the end give nothing.
        #[test]
        fn the_read_ahead_window_returns_the_bytes_at_the_position(
            len in 0usize..300_000,
            steps in prop::collection::vec((any::<bool>(), 0usize..100_000), 1..60),
        ) {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let mut input = Seeking::new(Cursor::new(data.clone()), len as u64).unwrap();
            let mut pos = 0usize;
            for (jump, n) in steps {
                if jump {
                    let ok = input.skip(n as u64).is_ok();
                    prop_assert_eq!(ok, pos + n <= len);
                    pos = (pos + n).min(len);
                } else {
                    // Mostly header-sized reads, some longer than the largest window.
                    let n = if n % 5 == 0 { n } else { n % 3000 };
                    let mut buf = vec![0u8; n];
                    let got = input.read(&mut buf).unwrap();
                    prop_assert!(got <= n && (got > 0 || n == 0 || pos == len));
                    prop_assert_eq!(&buf[..got], &data[pos..pos + got]);
                    pos += got;
                }
            }
        }
    }
}
