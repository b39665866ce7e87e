//! [`ReadAhead`]: which bytes of a file to fetch before they are asked for.
//!
//! On object storage a READ that misses the chunk cache waits for a GET (10–30 ms); a client
//! reading a file from start to end keeps a few READs in flight, far fewer than it takes to
//! fill the bandwidth of the store at that latency. So the owner core watches the READs of each
//! file and, for a sequential stream, fetches the chunks that follow into its chunk cache
//! ahead of time, with a window that doubles with every READ that continues the stream (up to
//! [`MAX_WINDOW`]).
//!
//! Streams: a file may be read by several sequential readers at once (several clients, or one
//! client's parallel readers), and a client's READs arrive slightly out of order, so each file
//! has a few streams; a READ continues the stream whose furthest byte read is near its offset
//! (within the stream's window or two READs behind it, or two READs ahead). A READ near no stream starts a
//! new one, which prefetches nothing yet: random READs never trigger read-ahead, and a
//! stream's first prefetch comes with its second READ.
//!
//! This is policy only (no I/O): [`ReadAhead::on_read`] says which byte range to fetch.

use std::collections::HashMap;
use std::ops::Range;

use crate::fs::CHUNK_SIZE;

/// The window of a new stream: 4 chunks.
pub const INITIAL_WINDOW: u64 = 4 * CHUNK_SIZE;
/// The largest window: at 20 ms per GET, 16 MiB ahead of each stream keeps 800 MB/s in flight.
pub const MAX_WINDOW: u64 = 16 << 20;
/// Streams followed per file.
const STREAMS_PER_FILE: usize = 8;
/// Files followed per core; past this the table is cleared (streams rebuild themselves).
const MAX_FILES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Stream {
    /// One past the furthest byte read.
    high: u64,
    /// One past the last byte fetched (or being fetched) ahead.
    ahead: u64,
    /// How far ahead of `high` to fetch.
    window: u64,
    /// When it was last continued (a READ counter), to replace the stalest stream.
    used: u64,
}

/// The streams of every file read on one core.
#[derive(Debug, Default)]
pub struct ReadAhead {
    files: HashMap<u64, Vec<Stream>>,
    reads: u64,
}

impl ReadAhead {
    /// Records a READ of bytes `[offset, end)` of file `ino`, whose size is `size`; returns the
    /// bytes to fetch ahead now, if any (chunk-aligned, within the file).
    pub fn on_read(&mut self, ino: u64, offset: u64, end: u64, size: u64) -> Option<Range<u64>> {
        self.reads += 1;
        let now = self.reads;
        if self.files.len() >= MAX_FILES && !self.files.contains_key(&ino) {
            self.files.clear();
        }
        let streams = self.files.entry(ino).or_default();
        let len = end.saturating_sub(offset).max(1);
        let continues = |s: &Stream| {
            offset + s.window.max(2 * len) >= s.high && offset <= s.high.saturating_add(2 * len)
        };
        let Some(s) = streams.iter_mut().find(|s| continues(s)) else {
            if streams.len() >= STREAMS_PER_FILE {
                if let Some(stalest) = streams.iter().enumerate().min_by_key(|(_, s)| s.used) {
                    let i = stalest.0;
                    streams.swap_remove(i);
                }
            }
            streams.push(Stream {
                high: end,
                ahead: end,
                window: INITIAL_WINDOW,
                used: now,
            });
            return None;
        };
        s.used = now;
        s.high = s.high.max(end);
        s.window = (s.window * 2).min(MAX_WINDOW);
        let target = (s.high + s.window).min(size);
        let from = s.ahead.max(s.high);
        if target <= from {
            return None;
        }
        // Whole chunks: the chunk holding `from` may be partly read already, but it is the
        // unit of a fetch.
        let start = from / CHUNK_SIZE * CHUNK_SIZE;
        let stop = target.div_ceil(CHUNK_SIZE) * CHUNK_SIZE;
        s.ahead = stop;
        Some(start..stop.min(size.div_ceil(CHUNK_SIZE) * CHUNK_SIZE))
    }

    /// Forgets the streams of `ino` (its data changed size).
    pub fn forget(&mut self, ino: u64) {
        self.files.remove(&ino);
    }

    /// Files followed.
    pub fn files(&self) -> usize {
        self.files.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;

    #[test]
    fn random_reads_fetch_nothing_ahead() {
        let mut ra = ReadAhead::default();
        for i in 0..1000u64 {
            // Offsets far apart (a large odd stride over a 1 GiB file).
            let offset = (i * 104_729 * 4096) % GIB;
            assert_eq!(ra.on_read(7, offset, offset + 4096, GIB), None, "{i}");
        }
    }

    #[test]
    fn a_sequential_reader_is_followed_with_a_growing_window() {
        let mut ra = ReadAhead::default();
        assert_eq!(ra.on_read(1, 0, MIB, GIB), None, "first READ: a new stream");
        let mut windows = Vec::new();
        let mut fetched_to = MIB;
        for i in 1..40u64 {
            if let Some(r) = ra.on_read(1, i * MIB, (i + 1) * MIB, GIB) {
                assert!(r.start <= fetched_to.max((i + 1) * MIB), "no gap: {r:?}");
                assert_eq!(r.start % CHUNK_SIZE, 0);
                assert_eq!(r.end % CHUNK_SIZE, 0);
                windows.push(r.end - (i + 1) * MIB);
                fetched_to = r.end;
            }
        }
        assert!(windows.windows(2).all(|w| w[0] <= w[1]), "{windows:?}");
        assert_eq!(windows.last(), Some(&MAX_WINDOW));
        // Everything up to the window past the last READ is fetched, nothing twice.
        assert_eq!(fetched_to, 40 * MIB + MAX_WINDOW);
    }

    #[test]
    fn read_ahead_stops_at_the_end_of_the_file() {
        let mut ra = ReadAhead::default();
        let size = 3 * MIB + 100;
        let mut last = 0;
        for i in 0..4u64 {
            if let Some(r) = ra.on_read(2, i * MIB, ((i + 1) * MIB).min(size), size) {
                last = r.end;
            }
        }
        assert_eq!(last, size.div_ceil(CHUNK_SIZE) * CHUNK_SIZE);
        assert_eq!(ra.on_read(2, 3 * MIB, size, size), None);
    }

    #[test]
    fn interleaved_readers_and_reordered_reads_each_keep_their_stream() {
        let mut ra = ReadAhead::default();
        // Four readers of one file from four starting points, their READs a little reordered.
        let starts = [0, 256 * MIB, 512 * MIB, 768 * MIB];
        let mut prefetched = [0u64; 4];
        for step in 0..20u64 {
            for (r, start) in starts.iter().enumerate() {
                let i = if step % 2 == 0 { step + 1 } else { step - 1 };
                let offset = start + i * MIB;
                if let Some(range) = ra.on_read(3, offset, offset + MIB, GIB) {
                    assert!(range.start >= *start, "reader {r} fetched {range:?}");
                    prefetched[r] += range.end - range.start;
                }
            }
        }
        for (r, bytes) in prefetched.iter().enumerate() {
            assert!(*bytes >= 16 * MIB, "reader {r} prefetched only {bytes}");
        }
    }

    #[test]
    fn a_jump_starts_a_new_stream_and_the_tables_stay_bounded() {
        let mut ra = ReadAhead::default();
        ra.on_read(4, 0, MIB, GIB);
        assert!(ra.on_read(4, MIB, 2 * MIB, GIB).is_some());
        // A jump far ahead is not the same stream.
        assert_eq!(ra.on_read(4, 900 * MIB, 901 * MIB, GIB), None);
        for ino in 0..(MAX_FILES as u64 + 10) {
            ra.on_read(100 + ino, 0, 4096, GIB);
        }
        assert!(ra.files() <= MAX_FILES);
        ra.forget(4);
    }
}
