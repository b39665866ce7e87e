//! [`StagedChunks`]: chunks that read-ahead fetched, held in memory for the READs that follow.
//!
//! A sequential reader asks for the chunks read-ahead fetched a moment earlier. Serving them
//! from memory saves the chunk cache's io_uring read, checksum pass and copy per chunk on the
//! owner core, which a cold stream keeps busy; and a stream through a file larger than the
//! chunk cache need not pass through the cache at all (see `CoherentCache::prefetch`).
//!
//! A chunk is *fresh* until a READ has read it to its end, then *used*. Used chunks stay a
//! little (a second reader a few MiB behind the first, or a READ of a chunk's head that came
//! after the READ of its tail, still finds them) but go first when room is needed, and after
//! [`USED_LIFETIME`] in any case. Fresh chunks are what streams are about to read: read-ahead
//! makes room for more only by dropping used chunks and fresh ones older than
//! [`ABANDONED_AFTER`] (a stream whose reader went away), and otherwise waits: evicting the
//! oldest fresh chunks would throw away what the streams read next.
//!
//! Each chunk carries the file's ctime it was fetched for; the owner core drops a file's
//! chunks whenever its data changes there, and a READ that found another ctime takes nothing.
//!
//! Plain data, no I/O: the owner core's [`super::CoherentCache`] drives it, and passes the time.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::fs::{Timestamp, CHUNK_SIZE};

/// Bytes a staged chunk costs beyond its data: a hole has none, and a 64 KiB chunk keeps a
/// buffer of its own.
const ENTRY_OVERHEAD: u64 = 4096;

/// How long a used chunk stays.
pub const USED_LIFETIME: Duration = Duration::from_secs(1);

/// Age past which a fresh chunk may be dropped to make room: its reader is gone, crawls, or
/// overtook read-ahead and fetched the chunk itself. A stream reading at 100 MB/s reads 16 MiB
/// of read-ahead (the largest window) in about 170 ms.
pub const ABANDONED_AFTER: Duration = Duration::from_millis(250);

#[derive(Debug)]
struct Staged {
    ctime: Timestamp,
    data: Bytes,
    /// Insertion number, matched against the queues' entries for it.
    seq: u64,
    /// When it was staged, or when a READ finished with it.
    since: Instant,
    used: bool,
}

/// (file, chunk index, insertion number) in a queue.
type QueueEntry = (u64, u64, u64);

/// Fetched-ahead chunks of the files of one core.
#[derive(Debug)]
pub struct StagedChunks {
    /// File → chunk index → chunk.
    files: HashMap<u64, HashMap<u64, Staged>>,
    /// Fresh chunks, oldest first; entries of chunks since used, replaced or dropped are
    /// skipped when reached.
    fresh: VecDeque<QueueEntry>,
    /// Used chunks, in the order READs finished with them; stale entries as in `fresh`.
    used: VecDeque<QueueEntry>,
    entries: usize,
    bytes: u64,
    budget: u64,
    next_seq: u64,
}

/// The chunk a queue entry stands for, if it is still the one queued, fresh or used as asked.
fn current_in(
    files: &HashMap<u64, HashMap<u64, Staged>>,
    (ino, index, seq): QueueEntry,
    used: bool,
) -> Option<&Staged> {
    let s = files.get(&ino)?.get(&index)?;
    (s.seq == seq && s.used == used).then_some(s)
}

fn cost(data: &Bytes) -> u64 {
    data.len() as u64 + ENTRY_OVERHEAD
}

impl StagedChunks {
    /// An empty set whose chunks and reservations stay within `budget` bytes.
    pub fn new(budget: u64) -> Self {
        StagedChunks {
            files: HashMap::new(),
            fresh: VecDeque::new(),
            used: VecDeque::new(),
            entries: 0,
            bytes: 0,
            budget,
            next_seq: 0,
        }
    }

    fn current(&self, entry: QueueEntry, used: bool) -> Option<&Staged> {
        current_in(&self.files, entry, used)
    }

    fn remove(&mut self, ino: u64, index: u64) {
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

    /// Drops used chunks older than [`USED_LIFETIME`].
    pub fn expire(&mut self, now: Instant) {
        while let Some(&e) = self.used.front() {
            match self.current(e, true) {
                Some(s) if now.saturating_duration_since(s.since) < USED_LIFETIME => return,
                Some(_) => self.remove(e.0, e.1),
                None => {}
            }
            self.used.pop_front();
        }
    }

    /// Whether `more` bytes beyond those held fit the budget, after dropping what may go:
    /// used chunks, then fresh ones older than [`ABANDONED_AFTER`].
    pub fn make_room(&mut self, more: u64, now: Instant) -> bool {
        self.evict_for(more, now, ABANDONED_AFTER)
    }

    /// Bytes that `chunks` staged chunks may take: what read-ahead reserves for a fetch.
    pub fn room_for(chunks: usize) -> u64 {
        chunks as u64 * (CHUNK_SIZE + ENTRY_OVERHEAD)
    }

    /// Drops used chunks, then fresh ones staged more than `fresh_age` ago, oldest first,
    /// until `more` bytes fit; whether they do.
    fn evict_for(&mut self, more: u64, now: Instant, fresh_age: Duration) -> bool {
        self.expire(now);
        while self.bytes + more > self.budget {
            if let Some(e) = self.used.pop_front() {
                if self.current(e, true).is_some() {
                    self.remove(e.0, e.1);
                }
                continue;
            }
            let Some(&e) = self.fresh.front() else {
                return false;
            };
            match self.current(e, false) {
                Some(s) if now.saturating_duration_since(s.since) < fresh_age => {
                    return false;
                }
                Some(_) => self.remove(e.0, e.1),
                None => {}
            }
            self.fresh.pop_front();
        }
        true
    }

    /// Holds `data`, chunk `index` of `ino` as of `ctime` (empty: a hole), fresh. Room should
    /// have been made for it ([`StagedChunks::make_room`]); should it not fit anyway, the
    /// oldest chunks go, fresh or not.
    pub fn insert(&mut self, ino: u64, index: u64, ctime: Timestamp, data: Bytes, now: Instant) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += cost(&data);
        let staged = Staged {
            ctime,
            data,
            seq,
            since: now,
            used: false,
        };
        match self.files.entry(ino).or_default().insert(index, staged) {
            Some(old) => self.bytes -= cost(&old.data),
            None => self.entries += 1,
        }
        self.fresh.push_back((ino, index, seq));
        self.evict_for(0, now, Duration::ZERO);
        self.compact_queues();
    }

    /// Queue entries of chunks used, replaced or dropped stay behind until reached: drop them
    /// before they outnumber the chunks held.
    fn compact_queues(&mut self) {
        if self.fresh.len() + self.used.len() <= 2 * self.entries + 64 {
            return;
        }
        let files = &self.files;
        self.fresh
            .retain(|&e| current_in(files, e, false).is_some());
        self.used.retain(|&e| current_in(files, e, true).is_some());
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

    /// Records that a READ finished with chunk `index` of `ino`; true if it was fresh.
    pub fn finish(&mut self, ino: u64, index: u64, now: Instant) -> bool {
        let Some(s) = self.files.get_mut(&ino).and_then(|f| f.get_mut(&index)) else {
            return false;
        };
        if s.used {
            return false;
        }
        s.used = true;
        s.since = now;
        self.used.push_back((ino, index, s.seq));
        true
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

    /// Fresh chunks held (not yet read to their end); counts them all, for tests.
    pub fn fresh_len(&self) -> usize {
        self.files
            .values()
            .flat_map(|f| f.values())
            .filter(|s| !s.used)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: u64 = 1000 + ENTRY_OVERHEAD;

    fn t(n: u32) -> Timestamp {
        Timestamp { secs: 1, nanos: n }
    }

    fn chunk(byte: u8) -> Bytes {
        Bytes::from(vec![byte; 1000])
    }

    #[test]
    fn a_chunk_is_served_only_for_its_ctime() {
        let now = Instant::now();
        let mut s = StagedChunks::new(1 << 20);
        s.insert(7, 3, t(1), chunk(1), now);
        assert_eq!(s.get(7, 3, t(1)), Some(chunk(1)));
        assert_eq!(s.get(7, 3, t(2)), None);
        assert_eq!(s.get(7, 4, t(1)), None);
        assert_eq!(s.get(8, 3, t(1)), None);
        s.insert(7, 3, t(2), chunk(2), now);
        assert_eq!(s.get(7, 3, t(2)), Some(chunk(2)));
        assert_eq!((s.len(), s.bytes()), (1, UNIT));
    }

    #[test]
    fn used_chunks_make_room_first_and_expire() {
        let now = Instant::now();
        let mut s = StagedChunks::new(4 * UNIT);
        for i in 0..4 {
            s.insert(1, i, t(1), chunk(i as u8), now);
        }
        assert!(
            !s.make_room(UNIT, now),
            "fresh chunks are not thrown out for more"
        );
        assert!(s.finish(1, 2, now));
        assert!(!s.finish(1, 2, now), "once");
        assert_eq!(
            s.get(1, 2, t(1)),
            Some(chunk(2)),
            "a used chunk is still served"
        );
        assert!(s.make_room(UNIT, now));
        assert!(!s.contains(1, 2) && s.contains(1, 0) && s.contains(1, 3));
        assert!(s.finish(1, 0, now));
        s.expire(now + USED_LIFETIME / 2);
        assert!(s.contains(1, 0));
        s.expire(now + USED_LIFETIME);
        assert!(!s.contains(1, 0));
        assert_eq!((s.len(), s.fresh_len()), (2, 2));
    }

    #[test]
    fn abandoned_fresh_chunks_make_room_oldest_first() {
        let start = Instant::now();
        let mut s = StagedChunks::new(3 * UNIT);
        s.insert(1, 0, t(1), chunk(0), start);
        s.insert(1, 1, t(1), chunk(1), start + ABANDONED_AFTER);
        s.insert(2, 0, t(1), chunk(2), start + ABANDONED_AFTER);
        let later = start + ABANDONED_AFTER + ABANDONED_AFTER / 2;
        assert!(s.make_room(UNIT, later));
        assert!(!s.contains(1, 0), "the oldest went");
        assert!(s.contains(1, 1) && s.contains(2, 0));
        assert!(
            !s.make_room(2 * UNIT, later),
            "the others are not old enough"
        );
        // Past the budget anyway (no room was made): the oldest go, fresh or not.
        s.insert(3, 0, t(1), chunk(3), later);
        s.insert(3, 1, t(1), chunk(3), later);
        assert!(s.bytes() <= 3 * UNIT);
        assert!(!s.contains(1, 1) && s.contains(2, 0) && s.contains(3, 1));
    }

    #[test]
    fn dropping_and_stale_queue_entries_keep_the_accounts() {
        let now = Instant::now();
        let mut s = StagedChunks::new(1 << 30);
        for i in 0..10_000 {
            s.insert(i % 3, i, t(1), chunk(0), now);
            s.finish(i % 3, i, now);
            s.drop_file(i % 3);
        }
        assert!(s.is_empty());
        assert_eq!(s.bytes(), 0);
        assert!(
            s.fresh.len() + s.used.len() <= 64 + 2,
            "stale queue entries are dropped"
        );
        for i in 0..5 {
            s.insert(4, i, t(1), Bytes::new(), now);
            s.insert(5, i, t(1), chunk(1), now);
        }
        s.drop_file(5);
        assert_eq!((s.len(), s.bytes()), (5, 5 * ENTRY_OVERHEAD));
        assert!(!s.contains(5, 0));
        assert_eq!(s.get(4, 2, t(1)), Some(Bytes::new()));
    }
}
