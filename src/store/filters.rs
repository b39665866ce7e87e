//! The filters SlateDB writes into every table, and so which tables a read skips without
//! fetching anything from them.
//!
//! - **Whole keys** (SlateDB's bloom filter): a point get skips the tables without its key.
//! - **Chunk ranges** ([`ChunkRangePolicy`]): which chunks of which files a table holds, as a
//!   short list of `(ino, index)` intervals. A scan of chunks skips the tables that hold none
//!   in its range. Key ranges cannot tell: every table a file's writes leave starts with
//!   metadata keys (its inode, `I`, below `K`), so it spans the chunks of that file written
//!   before and after it, and a read-ahead scan used to fetch one 64 KiB block from each such
//!   table to find nothing in it.
//!
//! Every key goes into the intervals, tombstones included: a table whose tombstone shadows an
//! older chunk must not be skipped. Tables written before this filter existed lack it, which
//! SlateDB reads as "may match".

use std::ops::Bound;
use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes};
use slatedb::{
    BloomFilterPolicy, Filter, FilterBuilder, FilterPolicy, FilterQuery, FilterTarget, RowEntry,
};

use super::keys::{ChunkKey, TAG_CHUNK};

/// Bits per key of the whole-key bloom filter (SlateDB's default: about 1% false positives).
const BLOOM_BITS_PER_KEY: u32 = 10;

/// Intervals kept per table at most; past this the closest neighbours merge (a coarser filter,
/// never a wrong one). 128 intervals are 4 KiB, cached with the table's other filters.
const MAX_INTERVALS: usize = 128;

/// The filter policies of every table: writer, compactor and readers must agree, as a reader
/// ignores filters of policies it does not know.
pub fn policies() -> Vec<Arc<dyn FilterPolicy>> {
    vec![
        Arc::new(BloomFilterPolicy::new(BLOOM_BITS_PER_KEY)),
        Arc::new(ChunkRangePolicy),
    ]
}

/// A chunk key's place in chunk order: `ino` then `index`, as one number.
fn position(ino: u64, index: u64) -> u128 {
    (u128::from(ino) << 64) | u128::from(index)
}

/// The chunk position spelt by `key[1..17]`, missing bytes taken as `pad`, for a key that
/// starts with `K`. Conservative on either side: a chunk key at or after `key` has a position
/// at or after this one with `pad` 0; a chunk key before `key`, or one that starts with it,
/// has a position at or before it with `pad` 0 or 0xff respectively (chunk keys are 17 or 18
/// bytes, so none is a proper prefix of another key in the comparison).
fn padded_position(key: &[u8], pad: u8) -> u128 {
    let mut bytes = [pad; 16];
    let tail = key.get(1..).unwrap_or_default();
    let n = tail.len().min(16);
    bytes[..n].copy_from_slice(&tail[..n]);
    u128::from_be_bytes(bytes)
}

/// Which chunk positions a table holds, as sorted disjoint inclusive intervals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkRanges {
    intervals: Vec<(u128, u128)>,
}

impl ChunkRanges {
    /// Whether any held position lies in `[lo, hi]`.
    pub fn overlaps(&self, lo: u128, hi: u128) -> bool {
        if lo > hi {
            return false;
        }
        // The first interval that ends at or after `lo`.
        let i = self.intervals.partition_point(|&(_, end)| end < lo);
        self.intervals.get(i).is_some_and(|&(start, _)| start <= hi)
    }

    /// Adds `p`; positions arrive in ascending order (a table's keys, sorted).
    fn push(&mut self, p: u128) {
        match self.intervals.last_mut() {
            Some((_, end)) if p <= end.saturating_add(1) => *end = (*end).max(p),
            _ => self.intervals.push((p, p)),
        }
    }

    /// Merges the neighbours with the smallest gaps until at most `max` intervals remain.
    fn coarsen(&mut self, max: usize) {
        if self.intervals.len() <= max || max == 0 {
            return;
        }
        let mut gaps: Vec<u128> = self.intervals.windows(2).map(|w| w[1].0 - w[0].1).collect();
        gaps.sort_unstable();
        // Merging every gap up to this one leaves at most `max` intervals.
        let limit = gaps[self.intervals.len() - max - 1];
        let mut merged: Vec<(u128, u128)> = Vec::with_capacity(max);
        for &(start, end) in &self.intervals {
            match merged.last_mut() {
                Some(last) if start - last.1 <= limit => last.1 = end,
                _ => merged.push((start, end)),
            }
        }
        self.intervals = merged;
    }

    /// Whether the query can match a chunk here; `true` for anything the intervals cannot
    /// answer (keys and ranges outside the chunk keyspace).
    fn might_match(&self, target: &FilterTarget) -> bool {
        match target {
            FilterTarget::Point(key) => match ChunkKey::decode(key) {
                Some(ChunkKey(ino, index)) => {
                    let p = position(ino, index);
                    self.overlaps(p, p)
                }
                None => true,
            },
            FilterTarget::Prefix(prefix) => {
                if prefix.first() != Some(&TAG_CHUNK) {
                    return true;
                }
                self.overlaps(padded_position(prefix, 0), padded_position(prefix, 0xff))
            }
            FilterTarget::Range { lower, upper } => match chunk_bounds(lower, upper) {
                Some((lo, hi)) => self.overlaps(lo, hi),
                None => true,
            },
        }
    }

    fn encode(&self, w: &mut dyn BufMut) {
        w.put_u32(self.intervals.len() as u32);
        for &(start, end) in &self.intervals {
            w.put_u128(start);
            w.put_u128(end);
        }
    }

    /// Decodes what [`ChunkRanges::encode`] wrote; `None` if it is not that.
    fn decode(mut data: &[u8]) -> Option<ChunkRanges> {
        if data.remaining() < 4 {
            return None;
        }
        let n = data.get_u32() as usize;
        if data.remaining() != n.checked_mul(32)? {
            return None;
        }
        let intervals = (0..n)
            .map(|_| (data.get_u128(), data.get_u128()))
            .collect::<Vec<_>>();
        let sorted =
            intervals.iter().all(|&(s, e)| s <= e) && intervals.windows(2).all(|w| w[0].1 < w[1].0);
        sorted.then_some(ChunkRanges { intervals })
    }
}

/// The chunk positions `[lo, hi]` that a key range can hold, when every key in it is a chunk
/// key (it starts at or after some `K...` key and ends at or before some `K...` key, or at the
/// end of the chunk keyspace); `None` otherwise. An empty `[lo, hi]` (`lo > hi`) holds none.
fn chunk_bounds(lower: &Bound<Bytes>, upper: &Bound<Bytes>) -> Option<(u128, u128)> {
    let lo = match lower {
        Bound::Included(k) | Bound::Excluded(k) if k.first() == Some(&TAG_CHUNK) => {
            padded_position(k, 0)
        }
        _ => return None,
    };
    let hi = match upper {
        // A chunk key below a key of at most 17 bytes differs from it within those bytes, so
        // its position is below the key's (a bare chunk key bound excludes that chunk).
        Bound::Excluded(k) if k.first() == Some(&TAG_CHUNK) && k.len() <= 17 => {
            match padded_position(k, 0).checked_sub(1) {
                Some(p) => p,
                None => return Some((1, 0)),
            }
        }
        Bound::Included(k) | Bound::Excluded(k) if k.first() == Some(&TAG_CHUNK) => {
            padded_position(k, 0)
        }
        // Up to (not including) the first key after every chunk key.
        Bound::Excluded(k) if k.as_ref() == [TAG_CHUNK + 1] => u128::MAX,
        _ => return None,
    };
    Some((lo, hi))
}

/// The chunk-range filter: [`ChunkRanges`] per table.
#[derive(Debug)]
pub struct ChunkRangePolicy;

impl FilterPolicy for ChunkRangePolicy {
    /// Stored in each table's filter block: a change of what it records needs a new name.
    fn name(&self) -> &str {
        "slatenfs-chunk-ranges-v1"
    }

    fn builder(&self) -> Box<dyn FilterBuilder> {
        Box::new(ChunkRangeBuilder::default())
    }

    fn decode(&self, data: &[u8]) -> Arc<dyn Filter> {
        match ChunkRanges::decode(data) {
            Some(ranges) => Arc::new(ChunkRangeFilter(ranges)),
            // Unreadable: a filter that rules nothing out.
            None => Arc::new(ChunkRangeFilter(ChunkRanges {
                intervals: vec![(0, u128::MAX)],
            })),
        }
    }

    fn estimate_size(&self, num_keys: usize) -> usize {
        4 + 32 * num_keys.min(MAX_INTERVALS)
    }

    fn supports_range_queries(&self) -> bool {
        true
    }
}

#[derive(Default)]
struct ChunkRangeBuilder {
    ranges: ChunkRanges,
}

impl FilterBuilder for ChunkRangeBuilder {
    fn add_entry(&mut self, entry: &RowEntry) {
        if let Some(ChunkKey(ino, index)) = ChunkKey::decode(&entry.key) {
            self.ranges.push(position(ino, index));
        }
    }

    fn build(&mut self) -> Arc<dyn Filter> {
        let mut ranges = std::mem::take(&mut self.ranges);
        ranges.coarsen(MAX_INTERVALS);
        Arc::new(ChunkRangeFilter(ranges))
    }
}

struct ChunkRangeFilter(ChunkRanges);

impl Filter for ChunkRangeFilter {
    fn might_match(&self, query: &FilterQuery) -> bool {
        self.0.might_match(&query.target)
    }

    fn encode(&self, writer: &mut dyn BufMut) {
        self.0.encode(writer)
    }

    fn size(&self) -> usize {
        4 + 32 * self.0.intervals.len()
    }

    fn clamp_allocated_size(&self) -> Arc<dyn Filter> {
        Arc::new(ChunkRangeFilter(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys::{ChunkKeyLayout, InodeKey, KeyRange};

    fn ranges_of(chunks: &[(u64, u64)]) -> ChunkRanges {
        let mut r = ChunkRanges::default();
        let mut sorted = chunks.to_vec();
        sorted.sort();
        for (ino, index) in sorted {
            r.push(position(ino, index));
        }
        r
    }

    fn range_target(range: &KeyRange) -> FilterTarget {
        FilterTarget::Range {
            lower: Bound::Included(range.start.clone()),
            upper: Bound::Excluded(range.end.clone()),
        }
    }

    #[test]
    fn a_scan_of_chunks_a_table_does_not_hold_is_ruled_out() {
        // A table with chunks 0..=9 and 100 of file 3, and chunk 5 of file 4.
        let mut chunks: Vec<(u64, u64)> = (0..10).map(|i| (3, i)).collect();
        chunks.extend([(3, 100), (4, 5)]);
        let r = ranges_of(&chunks);
        assert_eq!(r.intervals.len(), 3);
        for layout in [ChunkKeyLayout::Bare, ChunkKeyLayout::Terminated] {
            let span = |ino, a, b| range_target(&ChunkKey::span(layout, ino, a, b));
            assert!(r.might_match(&span(3, 5, 20)));
            assert!(r.might_match(&span(3, 9, 9)));
            assert!(!r.might_match(&span(3, 10, 99)));
            assert!(r.might_match(&span(3, 99, 100)));
            assert!(!r.might_match(&span(3, 101, u64::MAX)));
            assert!(!r.might_match(&span(4, 0, 4)));
            assert!(r.might_match(&span(4, 5, 5)));
            assert!(!r.might_match(&span(5, 0, u64::MAX)));
            let point = |ino, i| FilterTarget::Point(ChunkKey(ino, i).encode(layout));
            assert!(r.might_match(&point(3, 100)));
            assert!(!r.might_match(&point(3, 50)));
        }
        assert!(r.might_match(&range_target(&ChunkKey::file_range(4))));
        assert!(!r.might_match(&range_target(&ChunkKey::file_range(7))));
        let prefix = |p: &[u8]| FilterTarget::Prefix(Bytes::copy_from_slice(p));
        assert!(!r.might_match(&prefix(&ChunkKey::file_range(7).start)));
        assert!(r.might_match(&prefix(&ChunkKey::file_range(3).start)));
    }

    #[test]
    fn what_is_not_only_chunks_is_never_ruled_out() {
        let r = ranges_of(&[(3, 1)]);
        let inode = InodeKey(9).encode();
        assert!(r.might_match(&FilterTarget::Point(inode.clone())));
        assert!(r.might_match(&FilterTarget::Range {
            lower: Bound::Included(inode),
            upper: Bound::Excluded(ChunkKey(3, 0).encode(ChunkKeyLayout::Terminated)),
        }));
        assert!(r.might_match(&FilterTarget::Range {
            lower: Bound::Included(ChunkKey(5, 0).encode(ChunkKeyLayout::Terminated)),
            upper: Bound::Unbounded,
        }));
        assert!(r.might_match(&FilterTarget::Prefix(Bytes::from_static(b"I"))));
        // An empty table of chunks rules out every chunk scan, nothing else.
        let empty = ChunkRanges::default();
        assert!(!empty.might_match(&range_target(&ChunkKey::file_range(3))));
        assert!(empty.might_match(&FilterTarget::Point(InodeKey(3).encode())));
    }

    /// Against a plain search of the chunks, for random tables and random key ranges (both
    /// layouts, bounds in and out of the chunk keyspace): the filter never rules out a range
    /// that holds a chunk, coarsened or not.
    #[test]
    fn never_a_false_negative() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..300 {
            let count = 1 + next(400) as usize;
            let chunks: Vec<(u64, u64)> = (0..count).map(|_| (next(6), next(300))).collect();
            let mut r = ranges_of(&chunks);
            if round % 2 == 1 {
                r.coarsen(1 + next(8) as usize);
            }
            let encoded = {
                let mut b = Vec::new();
                r.encode(&mut b);
                b
            };
            let r = ChunkRanges::decode(&encoded).unwrap();
            for _ in 0..200 {
                let layout = if next(2) == 0 {
                    ChunkKeyLayout::Bare
                } else {
                    ChunkKeyLayout::Terminated
                };
                let ino = next(7);
                let a = next(320);
                let b = a + next(40);
                let key = |ino, i| ChunkKey(ino, i).encode(layout);
                let lower = Bound::Included(key(ino, a));
                let upper = match next(3) {
                    0 => Bound::Excluded(key(ino, b)),
                    1 => Bound::Included(key(ino, b)),
                    _ => Bound::Excluded(ChunkKey::file_range(ino).end),
                };
                let held = chunks.iter().any(|&(ci, cx)| {
                    let k = key(ci, cx);
                    let above = match &lower {
                        Bound::Included(l) => k >= *l,
                        _ => unreachable!(),
                    };
                    let below = match &upper {
                        Bound::Included(u) => k <= *u,
                        Bound::Excluded(u) => k < *u,
                        Bound::Unbounded => true,
                    };
                    above && below
                });
                let target = FilterTarget::Range { lower, upper };
                if held {
                    assert!(r.might_match(&target), "{target:?} in {chunks:?}");
                }
            }
        }
    }

    #[test]
    fn coarsening_keeps_every_chunk_and_the_size_bound() {
        let chunks: Vec<(u64, u64)> = (0..1000).map(|i| (i % 7, i * 3)).collect();
        let mut r = ranges_of(&chunks);
        assert!(r.intervals.len() > MAX_INTERVALS);
        r.coarsen(MAX_INTERVALS);
        assert!(r.intervals.len() <= MAX_INTERVALS);
        for &(ino, index) in &chunks {
            let p = position(ino, index);
            assert!(r.overlaps(p, p));
        }
        assert!(ChunkRanges::decode(&[0, 0, 0, 1, 9]).is_none());
    }
}
