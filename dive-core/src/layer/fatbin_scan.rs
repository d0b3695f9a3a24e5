//! Finding fat binaries in an ELF file: by its fat binary sections read at their offsets
//! ([`scan_sections`]), or by every magic number in a file that passes whole (`Scanner`),
//! then told apart by the section table ([`classify`]).

use std::collections::BTreeMap;

use memchr::memmem;

use super::elf_sections::Section;
use super::fatbin::{
    ARCH_CAP, Arch, CHAIN_CAP, DeviceCode, ENTRY_CAP, FAILED_KEPT, FAT_HEADER, FATBIN_CAP,
    FATBIN_SECTIONS, FIRST_WINDOW, Failures, Fault, Found, HEADERS_CAP, MAGIC, Reading, Scan,
    WARNING_CAP, WINDOW, lossy,
};
use super::fatbin_chain::{Chain, Step};

/// A stretch of a file that holds fat binaries: one section, or sections that overlap read
/// as one (real files never overlap them; a crafted one would otherwise be read, and its
/// device code counted, once per section).
#[derive(Debug)]
pub(super) struct Span<'a> {
    name: &'a [u8],
    start: u64,
    end: u64,
    /// A fat binary section, or overlaps one.
    dedicated: bool,
}

/// The stretches to read among `sections`, in file order: the fat binary sections, and with
/// `all` every other section with bytes too. Whether any overlapped.
pub(super) fn spans(sections: &[Section], all: bool) -> (Vec<Span<'_>>, bool) {
    let mut wanted: Vec<&Section> = sections
        .iter()
        .filter(|s| s.size > 0 && (all || is_fatbin_section(s)))
        .collect();
    wanted.sort_by_key(|s| (s.offset, std::cmp::Reverse(s.end())));
    let mut spans: Vec<Span<'_>> = Vec::with_capacity(wanted.len());
    let mut overlapped = false;
    for section in wanted {
        let dedicated = is_fatbin_section(section);
        match spans.last_mut() {
            Some(last) if section.offset < last.end => {
                overlapped = true;
                last.end = last.end.max(section.end());
                if dedicated && !last.dedicated {
                    last.dedicated = true;
                    last.name = &section.name;
                }
            }
            _ => spans.push(Span {
                name: &section.name,
                start: section.offset,
                end: section.end(),
                dedicated,
            }),
        }
    }
    (spans, overlapped)
}

/// Device code of an ELF file in a plain layer: the fat binary sections among `sections`,
/// read by `read_at(offset, len)`. Returns the code (when there is any) and warnings.
///
/// The sections are searched for magic numbers a window at a time (sections that overlap
/// are read as one), and at most [`HEADERS_CAP`] headers are read: time linear in the
/// sections' bytes plus that cap, memory one window of at most [`WINDOW`] bytes, at most
/// [`FATBIN_CAP`] fat binaries and [`FAILED_KEPT`] failures.
pub(crate) fn scan_sections(
    sections: &[Section],
    read_at: &mut dyn FnMut(u64, usize) -> Option<Vec<u8>>,
) -> Reading {
    let mut window = Window::new(read_at);
    let mut found: Vec<Found> = Vec::new();
    let mut failed = Failures::default();
    let mut capped = false;
    let mut entries = 0usize;
    let mut headers = 0usize;
    let (spans, _) = spans(sections, false);
    'spans: for span in &spans {
        let mut from = span.start;
        let mut strict = false;
        while let Some(start) = find_magic(&mut window, from, span.end) {
            if found.len() >= FATBIN_CAP {
                capped = true;
                break 'spans;
            }
            let mut chain = Chain::new(start, span.end);
            chain.room = ENTRY_CAP.saturating_sub(entries);
            let step = loop {
                let (at, len) = chain.want();
                headers += 1;
                if headers > HEADERS_CAP {
                    capped = true;
                    break 'spans;
                }
                let Some(bytes) = window.get(at, len) else {
                    break chain.fail(Fault::Unreadable { at });
                };
                match chain.give(bytes) {
                    Step::More => {}
                    done => break done,
                }
            };
            match step {
                Step::Done(fatbin) if fatbin.strict || !strict => {
                    from = fatbin.end;
                    entries += fatbin.entries.len();
                    found.push(fatbin);
                }
                Step::Done(_) | Step::More => from = start + 1,
                Step::Failed(at, fault) => {
                    // As cuobjdump-like readers do: after one bad fat binary, only
                    // well-formed ones are believed.
                    failed.push(at, fault);
                    strict = true;
                    from = start + 1;
                }
            }
        }
    }
    failed.trim();
    let (code, mut warnings) = classify(&found, &failed, sections, Scan::Sections);
    if capped {
        warnings.push(format!(
            "more than {FATBIN_CAP} fat binaries or {HEADERS_CAP} headers; the rest were not \
             read and device code may be missing"
        ));
    }
    (code, warnings)
}

/// Positioned reads through one buffer that the next read replaces: a read that goes on
/// from the last one reads twice as much (up to [`WINDOW`]), so that a run of magic numbers
/// is read a window at a time rather than once per number; a read elsewhere (an entry
/// header after a payload) reads [`FIRST_WINDOW`] bytes, since a fat binary's header and
/// first entry header come together and the next fat binary follows a few bytes after.
pub(super) struct Window<'a> {
    read_at: &'a mut dyn FnMut(u64, usize) -> Option<Vec<u8>>,
    start: u64,
    bytes: Vec<u8>,
}

impl<'a> Window<'a> {
    fn new(read_at: &'a mut dyn FnMut(u64, usize) -> Option<Vec<u8>>) -> Self {
        Self {
            read_at,
            start: 0,
            bytes: Vec::new(),
        }
    }

    /// How many bytes the window holds from `offset`.
    fn held(&self, offset: u64) -> u64 {
        let end = self.start + self.bytes.len() as u64;
        if offset >= self.start {
            end.saturating_sub(offset)
        } else {
            0
        }
    }

    /// Reads the window anew at `offset`: `want` bytes, or only `len` where the file ends
    /// before `want`.
    fn fill(&mut self, offset: u64, len: usize, want: usize) -> Option<()> {
        let bytes = (self.read_at)(offset, want.max(len))
            .or_else(|| (self.read_at)(offset, len))
            .filter(|b| b.len() >= len)?;
        self.start = offset;
        self.bytes = bytes;
        Some(())
    }

    /// How much a read at `offset` takes: twice the last when it goes on from it.
    fn next_size(&self, offset: u64) -> usize {
        let going_on = offset >= self.start && offset <= self.start + self.bytes.len() as u64;
        if going_on && !self.bytes.is_empty() {
            (self.bytes.len() * 2).clamp(FIRST_WINDOW, WINDOW)
        } else {
            FIRST_WINDOW
        }
    }

    /// The `len` bytes at `offset`.
    fn get(&mut self, offset: u64, len: usize) -> Option<&[u8]> {
        if self.held(offset) < len as u64 {
            self.fill(offset, len, self.next_size(offset))?;
        }
        let at = usize::try_from(offset - self.start).ok()?;
        self.bytes.get(at..at.checked_add(len)?)
    }

    /// Up to `max` bytes from `offset`, at least a magic number's length (when `max` is).
    fn from(&mut self, offset: u64, max: usize) -> Option<&[u8]> {
        let least = max.min(MAGIC.len());
        if self.held(offset) < least as u64 {
            let want = self.next_size(offset).min(max);
            self.fill(offset, least, want)?;
        }
        let at = usize::try_from(offset - self.start).ok()?;
        let end = self.bytes.len().min(at.saturating_add(max));
        self.bytes.get(at..end)
    }
}

/// The first fat binary magic in `[from, end)`, searched in the window's bytes.
pub(super) fn find_magic(window: &mut Window<'_>, mut from: u64, end: u64) -> Option<u64> {
    while from + MAGIC.len() as u64 <= end {
        let max = usize::try_from(end - from).unwrap_or(usize::MAX);
        let bytes = window.from(from, max)?;
        if let Some(i) = memmem::find(bytes, &MAGIC) {
            return Some(from + i as u64);
        }
        if bytes.len() < MAGIC.len() {
            return None;
        }
        from += (bytes.len() - (MAGIC.len() - 1)) as u64;
    }
    None
}

pub(super) fn is_fatbin_section(section: &Section) -> bool {
    FATBIN_SECTIONS.contains(&section.name.as_slice())
}

/// Follows fat binaries in a file while its bytes pass, holding headers only.
///
/// Time is linear in the file's bytes: a magic number costs a comparison with the end of the
/// fat binaries followed and, when it starts one, its header; the [`CHAIN_CAP`] chains
/// followed at once are looked at only when one of them wants the bytes that pass (each
/// reads each of its headers once). Memory is at most [`CHAIN_CAP`] chains, [`FATBIN_CAP`]
/// fat binaries with [`ENTRY_CAP`] entries in all, and [`FAILED_KEPT`] failures, whatever
/// the file holds.
#[derive(Debug)]
pub(crate) struct Scanner {
    size: u64,
    pos: u64,
    /// The last bytes seen, for a magic number cut by a chunk's end.
    carry: Vec<u8>,
    chains: Vec<Chain>,
    found: Vec<Found>,
    failed: Failures,
    /// Magic numbers not followed: too many chains at once, or fat binaries in all.
    dropped: u64,
    entries: usize,
    /// The first offset any chain needs (`u64::MAX` when none does): bytes before it pass
    /// without a look at the chains.
    wanted: u64,
    /// The end of the furthest fat binary being followed whose first entry held: a magic
    /// number before it lies inside (every chain started before it).
    covered_end: u64,
    /// Times a chain was offered bytes: the work of following, which tests hold.
    looks: u64,
}

impl Scanner {
    /// A scanner for a file of `size` bytes, fed from its first byte.
    pub(crate) fn new(size: u64) -> Self {
        Self {
            size,
            pos: 0,
            carry: Vec::new(),
            chains: Vec::new(),
            found: Vec::new(),
            failed: Failures::default(),
            dropped: 0,
            entries: 0,
            wanted: u64::MAX,
            covered_end: 0,
            looks: 0,
        }
    }

    /// Takes the file's next bytes. Chains read the stream up to each magic number before
    /// it is judged, and the last bytes of a chunk (where a magic number may begin) wait for
    /// the next one, so that however the stream is cut the same fat binaries are followed.
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        let at = self.pos;
        let held = std::mem::take(&mut self.carry);
        let held_at = at - held.len() as u64;
        if !held.is_empty() {
            let mut seam = held.clone();
            seam.extend_from_slice(&chunk[..chunk.len().min(MAGIC.len() - 1)]);
            for i in memmem::find_iter(&seam, &MAGIC).filter(|&i| i < held.len()) {
                self.advance(held_at, &held[..i]);
                self.consider(held_at + i as u64, &[]);
            }
            self.advance(held_at, &held);
        }
        for i in memmem::find_iter(chunk, &MAGIC) {
            self.advance(at, &chunk[..i]);
            self.consider(at + i as u64, &chunk[i..]);
        }
        let keep = chunk.len().min(MAGIC.len() - 1);
        self.advance(at, &chunk[..chunk.len() - keep]);
        self.pos = at + chunk.len() as u64;
        // The last bytes of the stream, even across chunks shorter than a magic number.
        let mut tail = if keep == MAGIC.len() - 1 {
            Vec::new()
        } else {
            held
        };
        tail.extend_from_slice(&chunk[chunk.len() - keep..]);
        let cut = tail.len().saturating_sub(MAGIC.len() - 1);
        self.carry = tail.split_off(cut);
    }

    /// A magic number at `start`, with the bytes of the chunk from it: followed, unless it
    /// lies inside a fat binary followed. A fat binary header at hand is read at once, so
    /// that a run of magic numbers whose headers fail (a crafted file) costs no chain each.
    fn consider(&mut self, start: u64, ahead: &[u8]) {
        if start < self.covered_end {
            return;
        }
        if !self.has_room() {
            self.dropped += 1;
            return;
        }
        let mut chain = Chain::new(start, self.size);
        if let Some(header) = ahead.get(..FAT_HEADER) {
            match chain.give(header) {
                Step::More => {}
                done => return self.settle(done),
            }
        }
        self.wanted = self.wanted.min(chain.wanted_at());
        self.chains.push(chain);
    }

    /// Whether another chain may be followed.
    fn has_room(&self) -> bool {
        self.chains.len() < CHAIN_CAP
            && self.entries < ENTRY_CAP
            && self.found.len() + self.chains.len() < FATBIN_CAP
    }

    /// Gives every chain the bytes of `data` (the file's from `at`) it needs. The entries
    /// of the chains still being read count against [`ENTRY_CAP`] with those found: chains
    /// that overlap could otherwise each hold as many. Bytes no chain wants pass at once,
    /// so that a magic number costs no look at the chains waiting further on.
    fn advance(&mut self, at: u64, data: &[u8]) {
        if at + (data.len() as u64) <= self.wanted {
            return;
        }
        let mut in_flight = self.in_flight();
        let mut i = 0;
        while i < self.chains.len() {
            let before = self.chains[i].entries.len();
            self.looks += 1;
            match self.chains[i].offer(at, data) {
                None => {
                    in_flight += self.chains[i].entries.len() - before;
                    if self.entries + in_flight <= ENTRY_CAP {
                        i += 1;
                    } else {
                        let chain = self.chains.swap_remove(i);
                        in_flight -= chain.entries.len();
                        self.settle(chain.fail(Fault::TooManyEntries));
                    }
                }
                Some(step) => {
                    in_flight -= before;
                    self.chains.swap_remove(i);
                    self.settle(step);
                }
            }
        }
        self.wanted = self
            .chains
            .iter()
            .map(Chain::wanted_at)
            .min()
            .unwrap_or(u64::MAX);
        self.covered_end = self
            .chains
            .iter()
            .filter(|c| !c.entries.is_empty())
            .map(|c| c.end)
            .max()
            .unwrap_or(0);
    }

    /// Entries of the chains being read.
    fn in_flight(&self) -> usize {
        self.chains.iter().map(|c| c.entries.len()).sum()
    }

    fn settle(&mut self, step: Step) {
        match step {
            Step::Done(found) => {
                self.entries += found.entries.len();
                self.found.push(found);
            }
            Step::Failed(at, fault) => self.failed.push(at, fault),
            Step::More => {}
        }
    }

    /// The device code among `sections`, once the whole file has passed.
    pub(crate) fn finish(mut self, sections: &[Section]) -> Reading {
        let held = std::mem::take(&mut self.carry);
        self.advance(self.pos - held.len() as u64, &held);
        for chain in std::mem::take(&mut self.chains) {
            self.failed.push(chain.start, Fault::Unfinished);
        }
        self.found.sort_by_key(|f| f.start);
        self.failed.trim();
        let (code, mut warnings) = classify(&self.found, &self.failed, sections, Scan::Deep);
        if self.dropped > 0 && code.is_some() {
            warnings.push(format!(
                "{} fat binary magic numbers were not followed (more than {CHAIN_CAP} at \
                 once, or {FATBIN_CAP} fat binaries in all); device code may be missing",
                self.dropped
            ));
        }
        (code, warnings)
    }
}

/// Which fat binaries count: in a fat binary section, those read one after another from its
/// start (after a bad one, only well-formed ones); in other sections (deep scans only),
/// well-formed ones at 8-byte offsets. Bad ones in fat binary sections are warnings.
///
/// `found` and `failed.kept` are in file order: each span finds its own by binary search,
/// so the time is `O((spans + found) log found)` however many sections the file claims.
pub(super) fn classify(
    found: &[Found],
    failed: &Failures,
    sections: &[Section],
    scan: Scan,
) -> Reading {
    let mut by_arch: BTreeMap<Arch, u64> = BTreeMap::new();
    let (mut container, mut embedded, mut any) = (0u64, 0u64, false);
    let mut warnings = Vec::new();
    let mut unsaid = 0u64;
    let mut say = |span: &Span<'_>, message: String| {
        if warnings.len() < WARNING_CAP {
            warnings.push(format!("{}: {message}", lossy(span.name)));
        } else {
            unsaid += 1;
        }
    };
    let (spans, overlapped) = spans(sections, scan == Scan::Deep);
    let mut unknown_failures = false;
    let mut too_many_archs = false;
    'spans: for span in &spans {
        let dedicated = span.dedicated;
        let lo = found.partition_point(|f| f.start < span.start);
        let hi = found.partition_point(|f| f.start < span.end);
        let bad_lo = failed.kept.partition_point(|f| f.0 < span.start);
        let bad_hi = failed.kept.partition_point(|f| f.0 < span.end);
        let mut cursor = span.start;
        let mut strict = !dedicated;
        let mut bad = failed.kept[bad_lo..bad_hi].iter().peekable();
        let mut entry_bytes = 0u64;
        // Failures past `beyond` were counted, not kept: a fat binary section reaching past
        // it believes only well-formed fat binaries from there.
        let beyond = failed.beyond.max(span.start);
        for fatbin in &found[lo..hi] {
            while let Some(&(at, fault)) = bad.next_if(|(at, _)| *at < fatbin.start) {
                if dedicated && at >= cursor {
                    strict = true;
                    say(span, fault.message(at));
                }
            }
            if dedicated && beyond < fatbin.start {
                strict = true;
                unknown_failures = true;
            }
            let aligned = dedicated || fatbin.start % 8 == 0;
            if fatbin.start < cursor
                || fatbin.end > span.end
                || (strict && !fatbin.strict)
                || !aligned
            {
                continue;
            }
            cursor = fatbin.end;
            any = true;
            for &(arch, bytes) in &fatbin.entries {
                entry_bytes += bytes;
                *by_arch.entry(arch).or_default() += bytes;
                if by_arch.len() > ARCH_CAP {
                    too_many_archs = true;
                    break 'spans;
                }
            }
            if !dedicated {
                container += fatbin.header_size;
                embedded += fatbin.end - fatbin.start;
            }
        }
        for &(at, fault) in bad {
            if dedicated && at >= cursor {
                say(span, fault.message(at));
            }
        }
        if dedicated {
            container += (span.end - span.start).saturating_sub(entry_bytes);
        }
    }
    let dropped = failed.count - failed.kept.len() as u64;
    let unsaid = unsaid + if unknown_failures { dropped } else { 0 };
    if unsaid > 0 {
        warnings.push(format!("and {unsaid} more bad fat binaries"));
    }
    if unknown_failures {
        warnings.push(format!(
            "past offset {} only well-formed fat binaries were believed: more than \
             {FAILED_KEPT} bad ones before it",
            failed.beyond
        ));
    }
    if overlapped {
        warnings.push("sections overlap; their bytes were read once".to_owned());
    }
    if !any {
        return (None, warnings);
    }
    if too_many_archs {
        warnings.push(format!(
            "more than {ARCH_CAP} GPU architectures in one file (a real library has a few \
             dozen); not believed as device code"
        ));
        return (None, warnings);
    }
    let code = DeviceCode {
        scan,
        by_arch: by_arch.into_iter().collect(),
        container_bytes: container,
        embedded_bytes: embedded,
    };
    (Some(code), warnings)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::cell::Cell;

    use dive_testdata::crafted::{
        elf_over, empty_fatbins, magic_run, many_archs, nested_fatbins, waiting_chains,
    };
    use dive_testdata::{arch_sweep, fatbin};

    use super::*;
    use crate::layer::elf_sections;

    /// Reads of `bytes` that count how many bytes and calls they cost.
    fn counting<'a>(
        bytes: &'a [u8],
        read: &'a Cell<u64>,
        calls: &'a Cell<u64>,
    ) -> impl FnMut(u64, usize) -> Option<Vec<u8>> + 'a {
        move |offset, len| {
            let start = usize::try_from(offset).ok()?;
            let piece = bytes.get(start..start.checked_add(len)?)?.to_vec();
            read.set(read.get() + len as u64);
            calls.set(calls.get() + 1);
            Some(piece)
        }
    }

    fn sections_of(file: &[u8]) -> Vec<Section> {
        elf_sections::sections(file.len() as u64, &mut |o, l| {
            let o = usize::try_from(o).ok()?;
            file.get(o..o + l).map(<[u8]>::to_vec)
        })
        .unwrap()
    }

    /// Both readings of `file`, and what they cost.
    struct Both {
        by_sections: Reading,
        /// Bytes and calls the positioned reads took.
        read: u64,
        calls: u64,
        deep: Reading,
        /// Most failures and fat binaries the scanner held at once.
        held_failures: usize,
        held_found: usize,
    }

    /// Reads `file` by positioned reads of its sections, and by a scanner fed 64 KiB at a
    /// time.
    fn read_both(file: &[u8]) -> Both {
        let sections = sections_of(file);
        let (read, calls) = (Cell::new(0), Cell::new(0));
        let by_sections = scan_sections(&sections, &mut counting(file, &read, &calls));
        let mut scanner = Scanner::new(file.len() as u64);
        let (mut held_failures, mut held_found) = (0, 0);
        for chunk in file.chunks(64 << 10) {
            scanner.feed(chunk);
            held_failures = held_failures.max(scanner.failed.kept.len());
            held_found = held_found.max(scanner.found.len());
        }
        Both {
            by_sections,
            read: read.get(),
            calls: calls.get(),
            deep: scanner.finish(&sections),
            held_failures,
            held_found,
        }
    }

    #[test]
    fn a_section_of_magic_numbers_is_read_once_and_keeps_a_bounded_record() {
        let data = magic_run(8 << 20);
        let file = elf_over(&data, &[(".nv_fatbin", 0, data.len() as u64)]);
        let both = read_both(&file);
        // Every magic number starts a chain that fails at its first header: two million of
        // them, counted; a thousand or two kept at a time, a few said.
        assert!(both.by_sections.0.is_none() && both.deep.0.is_none());
        assert!(
            both.held_failures < 2 * FAILED_KEPT,
            "{}",
            both.held_failures
        );
        for warnings in [&both.by_sections.1, &both.deep.1] {
            assert!(warnings.len() <= WARNING_CAP + 3, "{warnings:?}");
            assert!(
                warnings.iter().any(|w| w.contains("more bad fat binaries")),
                "{warnings:?}"
            );
        }
        // Windows grow to 64 KiB while the search goes on: the section is read about once,
        // in a few hundred reads, not one read per magic number.
        assert!(
            both.read < 2 * file.len() as u64,
            "{} bytes read",
            both.read
        );
        assert!(both.calls < 2_000, "{} reads", both.calls);
    }

    #[test]
    fn empty_fat_binaries_stop_at_the_cap_with_a_warning() {
        let data = empty_fatbins(4 << 20);
        let file = elf_over(&data, &[(".nv_fatbin", 0, data.len() as u64)]);
        let both = read_both(&file);
        assert!(both.held_found <= FATBIN_CAP, "{}", both.held_found);
        assert!(both.calls < 4_000, "{} reads", both.calls);
        let said = |warnings: &[String], what: &str| warnings.iter().any(|w| w.contains(what));
        assert!(
            said(&both.by_sections.1, "more than 65536 fat binaries"),
            "{:?}",
            both.by_sections.1
        );
        assert!(said(&both.deep.1, "were not followed"), "{:?}", both.deep.1);
    }

    #[test]
    fn overlapping_sections_are_read_once_and_counted_once() {
        let mut data = fatbin(&arch_sweep(&[80, 90], 64 << 10), 3);
        let fatbin_len = data.len() as u64;
        data.resize(data.len() + (256 << 10), 0);
        let len = data.len() as u64;
        let one = elf_over(&data, &[(".nv_fatbin", 0, len)]);
        // Sections starting 8 bytes apart, all running to the end: each but the first
        // starts inside the fat binary and would search the rest for a magic number.
        let many: Vec<(&str, u64, u64)> = (0..5_000u64)
            .map(|i| (".nv_fatbin", (i * 8) % len, len - (i * 8) % len))
            .collect();
        let crowded = elf_over(&data, &many);
        let alone = read_both(&one).by_sections.0.unwrap();
        let both = read_both(&crowded);
        assert!(
            both.by_sections.1.iter().any(|w| w.contains("overlap")),
            "{:?}",
            both.by_sections.1
        );
        for code in [both.by_sections.0.unwrap(), both.deep.0.unwrap()] {
            assert_eq!(code.by_arch, alone.by_arch);
            assert_eq!(code.device_bytes() + code.container_bytes, len);
        }
        assert!(alone.device_bytes() < fatbin_len);
        assert!(
            both.read < 2 * crowded.len() as u64,
            "{} bytes read",
            both.read
        );
    }

    #[test]
    fn more_architectures_than_any_library_holds_are_not_device_code() {
        for (n, believed) in [(ARCH_CAP as u64, true), (ARCH_CAP as u64 + 1, false)] {
            let data = many_archs(n);
            let file = elf_over(&data, &[(".nv_fatbin", 0, data.len() as u64)]);
            let both = read_both(&file);
            for (code, warnings) in [both.by_sections, both.deep] {
                assert_eq!(code.is_some(), believed, "{n} architectures: {warnings:?}");
                if let Some(code) = code {
                    assert_eq!(code.by_arch.len() as u64, n);
                } else {
                    assert!(warnings.iter().any(|w| w.contains("GPU architectures")));
                }
            }
        }
    }

    #[test]
    fn chains_being_read_share_the_entry_cap() {
        // A fat binary of more entries than the cap: it fails, and nothing holds more
        // than the cap's records while it is read.
        let data = many_archs(ENTRY_CAP as u64 + 8);
        let file = elf_over(&data, &[(".nv_fatbin", 0, data.len() as u64)]);
        let mut scanner = Scanner::new(file.len() as u64);
        for chunk in file.chunks(1 << 20) {
            scanner.feed(chunk);
            assert!(scanner.in_flight() + scanner.entries <= ENTRY_CAP);
        }
        let (code, warnings) = scanner.finish(&sections_of(&file));
        assert!(code.is_none());
        assert!(
            warnings.iter().any(|w| w.contains("entries in the file")),
            "{warnings:?}"
        );
    }

    #[test]
    fn nested_fat_binaries_stop_at_the_header_cap() {
        // 8,192 fat binaries nested in each other, each failing at its last entry: read
        // again from each magic number they would cost 33 million headers.
        let data = nested_fatbins(8_192);
        let file = elf_over(&data, &[(".nv_fatbin", 0, data.len() as u64)]);
        let both = read_both(&file);
        assert!(
            both.by_sections.1.iter().any(|w| w.contains("headers")),
            "{:?}",
            both.by_sections.1
        );
        // The headers read stop at the cap: their bytes, read a window at a time (each
        // chain from its own start), stay within twice the cap's.
        assert!(
            both.read <= 2 * 64 * HEADERS_CAP as u64,
            "{} bytes read",
            both.read
        );
    }

    #[test]
    fn chains_waiting_further_on_are_not_looked_at_per_magic_number() {
        // 64 fat binaries followed at once, each waiting 60 KB on, over a million magic
        // numbers: a look at every chain per magic number was 67 million looks.
        let data = waiting_chains(4 << 20);
        let file = elf_over(&data, &[(".nv_fatbin", 0, data.len() as u64)]);
        let mut scanner = Scanner::new(file.len() as u64);
        for chunk in file.chunks(64 << 10) {
            scanner.feed(chunk);
        }
        assert!(scanner.looks < 20_000, "{} looks", scanner.looks);
        let (code, _) = scanner.finish(&sections_of(&file));
        assert!(code.is_some());
    }
}
