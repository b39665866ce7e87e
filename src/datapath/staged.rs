//! [`StagedChunks`]: chunks that read-ahead fetched and no READ has taken yet, held in memory.
//!
//! A sequential reader asks for the chunks read-ahead fetched a moment earlier. Serving them
//! from memory saves the chunk cache's io_uring read, checksum pass and copy per chunk on the
//! owner core, which a cold stream keeps busy; and a stream through a file larger than the
//! chunk cache need not pass through the cache at all (see `CoherentCache::prefetch`).
//!
//! Bounded: past its byte budget the oldest chunks go first (a stream's reader abandoned, or
//! ran far behind its read-ahead). Each chunk carries the file's ctime it was fetched for; the
//! owner core drops a file's chunks whenever its data changes there, and a READ that found
//! another ctime takes nothing.
//!
//! Plain data, no I/O: the owner core's [`super::CoherentCache`] drives it.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;

use crate::fs::Timestamp;

/// Bytes a staged chunk costs beyond its data (a hole has none), so that holes count too.
const ENTRY_OVERHEAD: u64 = 64;

#[derive(Debug)]
struct Staged {
    ctime: Timestamp,
    data: Bytes,
    /// Insertion number, matched against the eviction queue's entry for it.
    seq: u64,
}

/// Fetched-ahead chunks of the files of one core, oldest evicted first.
#[derive(Debug)]
pub struct StagedChunks {
    /// File → chunk index → chunk.
    files: HashMap<u64, HashMap<u64, Staged>>,
    /// (file, chunk index, insertion number), oldest first; entries of chunks already taken or
    /// replaced are skipped when reached.
    order: VecDeque<(u64, u64, u64)>,
    entries: usize,
    bytes: u64,
    budget: u64,
    next_seq: u64,
}

fn cost(data: &Bytes) -> u64 {
    data.len() as u64 + ENTRY_OVERHEAD
}

impl StagedChunks {
    /// An empty set that holds at most `budget` bytes.
    pub fn new(budget: u64) -> Self {
        StagedChunks {
            files: HashMap::new(),
            order: VecDeque::new(),
            entries: 0,
            bytes: 0,
            budget,
            next_seq: 0,
        }
    }

    /// Holds `data`, chunk `index` of `ino` as of `ctime` (empty: a hole), evicting the oldest
    /// chunks past the budget.
    pub fn insert(&mut self, ino: u64, index: u64, ctime: Timestamp, data: Bytes) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += cost(&data);
        let old = self
            .files
            .entry(ino)
            .or_default()
            .insert(index, Staged { ctime, data, seq });
        match old {
            Some(old) => self.bytes -= cost(&old.data),
            None => self.entries += 1,
        }
        self.order.push_back((ino, index, seq));
        while self.bytes > self.budget {
            let Some((ino, index, seq)) = self.order.pop_front() else {
                break;
            };
            if self.get_seq(ino, index) == Some(seq) {
                self.take(ino, index);
            }
        }
        // Taken chunks leave their queue entries behind: drop them before they outnumber the
        // chunks held.
        if self.order.len() > 2 * self.entries + 64 {
            let files = &self.files;
            self.order.retain(|&(ino, index, seq)| {
                files
                    .get(&ino)
                    .and_then(|f| f.get(&index))
                    .is_some_and(|s| s.seq == seq)
            });
        }
    }

    fn get_seq(&self, ino: u64, index: u64) -> Option<u64> {
        Some(self.files.get(&ino)?.get(&index)?.seq)
    }

    /// Chunk `index` of `ino`, if held for `ctime`.
    pub fn get(&self, ino: u64, index: u64, ctime: Timestamp) -> Option<Bytes> {
        let s = self.files.get(&ino)?.get(&index)?;
        (s.ctime == ctime).then(|| s.data.clone())
    }

    /// Whether chunk `index` of `ino` is held (for any ctime).
    pub fn contains(&self, ino: u64, index: u64) -> bool {
        self.files.get(&ino).is_some_and(|f| f.contains_key(&index))
    }

    /// Lets go of chunk `index` of `ino`.
    pub fn take(&mut self, ino: u64, index: u64) {
        let Some(file) = self.files.get_mut(&ino) else {
            return;
        };
        if let Some(s) = file.remove(&index) {
            self.bytes -= cost(&s.data);
            self.entries -= 1;
        }
        if file.is_empty() {
            self.files.remove(&ino);
        }
    }

    /// Lets go of every chunk of `ino` (its data changed).
    pub fn drop_file(&mut self, ino: u64) {
        if let Some(file) = self.files.remove(&ino) {
            self.entries -= file.len();
            self.bytes -= file.values().map(|s| cost(&s.data)).sum::<u64>();
        }
    }

    /// Bytes held, overhead included.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Chunks held.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether no chunk is held.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(n: u32) -> Timestamp {
        Timestamp { secs: 1, nanos: n }
    }

    fn chunk(byte: u8) -> Bytes {
        Bytes::from(vec![byte; 1000])
    }

    #[test]
    fn a_chunk_is_served_only_for_its_ctime() {
        let mut s = StagedChunks::new(1 << 20);
        s.insert(7, 3, t(1), chunk(1));
        assert_eq!(s.get(7, 3, t(1)), Some(chunk(1)));
        assert_eq!(s.get(7, 3, t(2)), None);
        assert_eq!(s.get(7, 4, t(1)), None);
        assert_eq!(s.get(8, 3, t(1)), None);
        s.insert(7, 3, t(2), chunk(2));
        assert_eq!(s.get(7, 3, t(2)), Some(chunk(2)));
        assert_eq!((s.len(), s.bytes()), (1, 1000 + ENTRY_OVERHEAD));
    }

    #[test]
    fn the_oldest_chunks_go_first_past_the_budget() {
        let mut s = StagedChunks::new(3 * (1000 + ENTRY_OVERHEAD));
        for i in 0..3 {
            s.insert(1, i, t(1), chunk(i as u8));
        }
        // Re-staging chunk 0 makes it the newest: chunk 1 is now the oldest.
        s.insert(1, 0, t(1), chunk(9));
        s.insert(2, 0, t(1), chunk(5));
        assert!(!s.contains(1, 1), "the oldest went");
        assert!(s.contains(1, 0) && s.contains(1, 2) && s.contains(2, 0));
        assert_eq!(s.len(), 3);
        assert!(s.bytes() <= 3 * (1000 + ENTRY_OVERHEAD));
    }

    #[test]
    fn taking_and_dropping_keep_the_accounts() {
        let mut s = StagedChunks::new(1 << 30);
        for i in 0..10_000 {
            s.insert(i % 3, i, t(1), chunk(0));
            s.take(i % 3, i);
        }
        assert!(s.is_empty());
        assert_eq!(s.bytes(), 0);
        assert!(
            s.order.len() <= 64 + 1,
            "queue entries of taken chunks are dropped"
        );
        for i in 0..5 {
            s.insert(4, i, t(1), Bytes::new());
            s.insert(5, i, t(1), chunk(1));
        }
        s.drop_file(5);
        assert_eq!((s.len(), s.bytes()), (5, 5 * ENTRY_OVERHEAD));
        assert!(!s.contains(5, 0));
        assert_eq!(s.get(4, 2, t(1)), Some(Bytes::new()));
    }
}
