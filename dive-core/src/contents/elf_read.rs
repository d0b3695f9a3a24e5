//! The bytes an ELF summary reads: a few regions of the file, held in memory up to a fixed
//! cap ([`SUMMARY_CAP`]) and read in rounds, each round's regions in ascending order through
//! one forward-only reader. A compressed layer is therefore decoded from its start at most
//! once per round that has to go back (two at most for a summary), never once per read as
//! a seeking reader would; a plain one is read at each region's offset. Every
//! [`STEP`] bytes read or passed the watcher is asked whether to go on.

use std::collections::BTreeMap;
use std::io::Read;
use std::ops::Range;

use super::read::EntryReader;
use super::reread::Contents;
use crate::analysis::Analysis;
use crate::error::{Error, Location, Result};
use crate::layer::Compression;
use crate::source::Watch;

/// Bytes of the file a summary holds at most, all regions told: the head, the section
/// table, the section names, the dynamic section with its strings and the notes.
pub const SUMMARY_CAP: u64 = 4 << 20;
/// Bytes read or passed between two looks at the watcher (the cancel flag).
pub const STEP: u64 = 64 << 10;
/// The longest string (a section or library name) looked for: its NUL must come within
/// this many bytes, so that a crafted table without NULs costs no more than this per name.
const STRING_SEARCH: u64 = 4096;

/// What a summary read: bytes held, bytes passed over, and how often the file was opened
/// (in a compressed layer, each opening decodes the layer from its start up to the file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ElfReadCount {
    /// Bytes of the file read and held (at most [`SUMMARY_CAP`]).
    pub held: u64,
    /// Bytes of the file read and dropped to get from one region to the next.
    pub passed: u64,
    /// Times the file was opened.
    pub opens: u32,
}

/// The regions of the file held so far: disjoint, none touching another, by start.
#[derive(Debug)]
pub(crate) struct Regions {
    size: u64,
    spans: BTreeMap<u64, Vec<u8>>,
    held: u64,
}

impl Regions {
    pub(crate) fn new(size: u64) -> Self {
        Self {
            size,
            spans: BTreeMap::new(),
            held: 0,
        }
    }

    /// Takes in new regions (disjoint from those held), merging what touches.
    fn insert(&mut self, new: Vec<(u64, Vec<u8>)>) {
        let mut all: Vec<(u64, Vec<u8>)> = std::mem::take(&mut self.spans).into_iter().collect();
        all.extend(new);
        all.sort_by_key(|(start, _)| *start);
        let mut merged: Vec<(u64, Vec<u8>)> = Vec::with_capacity(all.len());
        for (start, bytes) in all {
            match merged.last_mut() {
                Some((last, held)) if *last + held.len() as u64 >= start => {
                    let overlap = usize::try_from(*last + held.len() as u64 - start).unwrap_or(0);
                    held.extend_from_slice(bytes.get(overlap..).unwrap_or_default());
                }
                _ => merged.push((start, bytes)),
            }
        }
        self.held = merged.iter().map(|(_, b)| b.len() as u64).sum();
        self.spans = merged.into_iter().collect();
    }
}

/// The parts of `range` that none of `held` (sorted by start) covers.
fn missing(
    held: impl DoubleEndedIterator<Item = Range<u64>>,
    range: &Range<u64>,
) -> Vec<Range<u64>> {
    let mut out = Vec::new();
    let mut at = range.start;
    let mut covering: Vec<Range<u64>> = held.rev().take_while(|r| r.end > range.start).collect();
    covering.reverse();
    for span in covering {
        if span.start >= range.end {
            break;
        }
        if span.start > at {
            out.push(at..span.start);
        }
        at = at.max(span.end);
    }
    if at < range.end {
        out.push(at..range.end);
    }
    out
}

/// The file as the `object` crate reads it: only bytes held answer, anything else is an
/// error (a section over the cap reads as unreadable, not as a read of the file).
impl<'a> object::ReadRef<'a> for &'a Regions {
    fn len(self) -> std::result::Result<u64, ()> {
        Ok(self.size)
    }

    fn read_bytes_at(self, offset: u64, size: u64) -> std::result::Result<&'a [u8], ()> {
        if size == 0 {
            return Ok(&[]);
        }
        let end = offset.checked_add(size).ok_or(())?;
        let (&start, bytes) = self.spans.range(..=offset).next_back().ok_or(())?;
        let from = usize::try_from(offset - start).map_err(drop)?;
        let to = usize::try_from(end - start).map_err(drop)?;
        bytes.get(from..to).ok_or(())
    }

    fn read_bytes_at_until(
        self,
        range: Range<u64>,
        delimiter: u8,
    ) -> std::result::Result<&'a [u8], ()> {
        let (&start, bytes) = self.spans.range(..=range.start).next_back().ok_or(())?;
        let from = usize::try_from(range.start - start).map_err(drop)?;
        let held = bytes.get(from..).ok_or(())?;
        let limit = range
            .end
            .saturating_sub(range.start)
            .min(STRING_SEARCH)
            .min(held.len() as u64);
        let window = &held[..usize::try_from(limit).map_err(drop)?];
        let n = memchr::memchr(delimiter, window).ok_or(())?;
        Ok(&window[..n])
    }
}

/// Reads regions of one file forward, opening it again only to go back.
pub(crate) struct Forward<'a> {
    contents: &'a Contents,
    analysis: &'a Analysis,
    layer: usize,
    entry: usize,
    size: u64,
    watch: &'a Watch,
    /// Opening at an offset costs a positioned read, not a decode from the layer's start.
    cheap_open: bool,
    reader: Option<(u64, EntryReader<'static>)>,
    pub(crate) count: ElfReadCount,
}

impl<'a> Forward<'a> {
    pub(crate) fn new(
        contents: &'a Contents,
        analysis: &'a Analysis,
        (layer, entry): (usize, usize),
        watch: &'a Watch,
    ) -> Self {
        let cheap_open = contents.positioned()
            && analysis
                .layers
                .get(layer)
                .is_some_and(|l| l.compression == Compression::None);
        Self {
            contents,
            analysis,
            layer,
            entry,
            size: analysis.entry(layer, entry).map_or(0, |e| e.size),
            watch,
            cheap_open,
            reader: None,
            count: ElfReadCount::default(),
        }
    }

    /// The file's size.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Reads into `regions` what `wants` ask (clipped to the file), in the order given
    /// while the cap allows, each whole or not at all; returns the indices of the wants
    /// left out.
    pub(crate) fn fetch(
        &mut self,
        regions: &mut Regions,
        wants: &[Range<u64>],
    ) -> Result<Vec<usize>> {
        // What will be held once this round is read: what is held and the pieces planned.
        let mut planned: BTreeMap<u64, u64> = regions
            .spans
            .iter()
            .map(|(&start, bytes)| (start, start + bytes.len() as u64))
            .collect();
        let mut pieces: BTreeMap<u64, u64> = BTreeMap::new();
        let mut held = regions.held;
        let mut left_out = Vec::new();
        for (i, want) in wants.iter().enumerate() {
            let want = want.start.min(self.size)..want.end.min(self.size);
            if want.is_empty() {
                continue;
            }
            let new = missing(planned.range(..want.end).map(|(&s, &e)| s..e), &want);
            let cost: u64 = new.iter().map(|r| r.end - r.start).sum();
            if held + cost > SUMMARY_CAP {
                left_out.push(i);
                continue;
            }
            held += cost;
            for piece in new {
                insert_range(&mut planned, piece.clone());
                insert_range(&mut pieces, piece);
            }
        }
        let mut read = Vec::with_capacity(pieces.len());
        for (start, end) in pieces {
            let mut bytes = Vec::new();
            self.read_range(start..end, &mut bytes)?;
            read.push((start, bytes));
        }
        regions.insert(read);
        Ok(left_out)
    }

    /// Reads `range` of the file into `out`, from where the reader stands when it is
    /// before the range (and, in a plain layer, near it), else from an opening there.
    fn read_range(&mut self, range: Range<u64>, out: &mut Vec<u8>) -> Result<()> {
        let behind = |at: u64| at <= range.start && (!self.cheap_open || range.start - at <= STEP);
        let reader = match self.reader.take() {
            Some((at, reader)) if behind(at) => (at, reader),
            _ => {
                self.count.opens += 1;
                let reader = self.contents.open_watched(
                    self.analysis,
                    self.layer,
                    self.entry,
                    range.start,
                    self.watch,
                )?;
                (range.start, reader)
            }
        };
        let (mut at, mut reader) = reader;
        let location = reader.location().clone();
        let mut chunk = Vec::new();
        while at < range.end {
            if !(self.watch)(at, self.size) {
                return Err(Error::Cancelled { location });
            }
            let passing = at < range.start;
            let step = if passing {
                (range.start - at).min(STEP)
            } else {
                (range.end - at).min(STEP)
            };
            chunk.clear();
            let n = (&mut reader)
                .take(step)
                .read_to_end(&mut chunk)
                .map_err(|e| Error::io(location.clone(), e))?;
            if n == 0 {
                return Err(ended(&location, at));
            }
            if passing {
                self.count.passed += n as u64;
            } else {
                self.count.held += n as u64;
                out.extend_from_slice(&chunk);
            }
            at += n as u64;
        }
        self.reader = Some((at, reader));
        Ok(())
    }
}

fn ended(location: &Location, at: u64) -> Error {
    Error::format(
        location.clone(),
        format!("the file ends at {at}, before its size"),
    )
}

/// Adds `range` to disjoint ranges (start → end), merging what overlaps or touches.
fn insert_range(ranges: &mut BTreeMap<u64, u64>, range: Range<u64>) {
    let (mut start, mut end) = (range.start, range.end);
    let touching: Vec<u64> = ranges
        .range(..=end)
        .rev()
        .take_while(|(_, e)| **e >= start)
        .map(|(s, _)| *s)
        .collect();
    for s in touching {
        if let Some(e) = ranges.remove(&s) {
            start = start.min(s);
            end = end.max(e);
        }
    }
    ranges.insert(start, end);
}

#[cfg(test)]
mod tests {
    use object::ReadRef as _;

    use super::*;

    #[test]
    fn missing_parts_are_the_gaps_between_held_ranges() {
        let held = [10..20, 30..40];
        assert_eq!(
            missing(held.iter().cloned(), &(0..50)),
            [0..10, 20..30, 40..50]
        );
        assert_eq!(
            missing(held.iter().cloned(), &(12..35)),
            [Range { start: 20, end: 30 }]
        );
        assert_eq!(
            missing(held.iter().cloned(), &(12..18)),
            Vec::<Range<u64>>::new()
        );
        assert_eq!(
            missing(std::iter::empty(), &(5..6)),
            [Range { start: 5, end: 6 }]
        );
    }

    #[test]
    fn ranges_merge_when_they_overlap_or_touch() {
        let mut ranges = BTreeMap::new();
        insert_range(&mut ranges, 10..20);
        insert_range(&mut ranges, 30..40);
        insert_range(&mut ranges, 20..25);
        assert_eq!(ranges, BTreeMap::from([(10, 25), (30, 40)]));
        insert_range(&mut ranges, 5..35);
        assert_eq!(ranges, BTreeMap::from([(5, 40)]));
    }

    #[test]
    fn only_held_bytes_answer_and_strings_end_within_the_search() {
        let mut regions = Regions::new(10_000);
        regions.insert(vec![(100, b"abc\0def".to_vec()), (107, vec![b'x'; 5000])]);
        assert_eq!(regions.held, 5007);
        assert_eq!((&regions).read_bytes_at(101, 2), Ok(&b"bc"[..]));
        // Across the two pieces taken in: one region now.
        assert_eq!((&regions).read_bytes_at(105, 4), Ok(&b"efxx"[..]));
        assert_eq!((&regions).read_bytes_at(99, 2), Err(()));
        assert_eq!((&regions).read_bytes_at(5100, 10), Err(()));
        assert_eq!((&regions).read_bytes_at_until(100..200, 0), Ok(&b"abc"[..]));
        // A string whose NUL lies past the search (or is not there) is unreadable.
        assert_eq!((&regions).read_bytes_at_until(104..10_000, 0), Err(()));
    }
}
