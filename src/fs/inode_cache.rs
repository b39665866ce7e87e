//! [`InodeCache`]: decoded inodes in memory, so that GETATTR, ACCESS, the checks of READ and
//! WRITE, LOOKUP and READDIRPLUS do not go to SlateDB (and through the tokio hand-off) for
//! inodes they have seen recently.
//!
//! Coherence rests on two rules:
//! - **Writers publish.** Every batch that puts or deletes an inode record is committed while
//!   the writer holds that inode's lock, and once SlateDB has applied it the writer stores the
//!   new record here (or removes a deleted one) before it lets the lock go. So a locked writer
//!   that finds an inode here finds the latest committed version.
//! - **Fills never overwrite newer news.** A reader that misses reads the store without locks;
//!   a writer may commit and publish in between, and the reader's copy is then older than what
//!   was published. So a fill takes a ticket (the shard's change counter) *before* it reads
//!   the store and is dropped if anything in the shard was published, removed or evicted since.
//!
//! Shared by all cores (inodes are not only touched by their owner core: a REMOVE runs on the
//! directory's core and changes the file's link count), split into shards with a short
//! uncontended mutex each. Eviction is generational: each shard keeps a `young` and an `old`
//! map; a hit in `old` moves the entry to `young`, and when `young` is full `old` is dropped and
//! `young` becomes `old`. That approximates LRU at the cost of two hash lookups on a miss.

use std::collections::HashMap;

use parking_lot::Mutex;

use super::inode::Inode;
use crate::sharded::Sharded;

const SHARDS: usize = 64;

/// Inodes kept by default (about 250 bytes each with the map's overhead: 64 MiB).
pub const DEFAULT_INODE_CACHE_ENTRIES: usize = 256 * 1024;

/// One part of the cache: two generations of inodes.
#[derive(Default)]
struct Generations {
    young: HashMap<u64, Inode>,
    old: HashMap<u64, Inode>,
    /// Bumped by every publish, removal and eviction: a fill ticket from before is void.
    changes: u64,
    /// Counted under the shard's lock, so the hot path touches no shared counter.
    stats: InodeCacheStats,
}

/// A reader's permission to insert what it is about to read from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillTicket {
    shard: usize,
    changes: u64,
}

/// Hit and miss counters (for tests and the shutdown log).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct InodeCacheStats {
    /// Lookups answered from memory.
    pub hits: u64,
    /// Lookups that went to the store.
    pub misses: u64,
    /// Fills dropped because the shard changed while the store was read.
    pub stale_fills: u64,
}

/// Decoded inodes, shared by all cores.
pub struct InodeCache {
    shards: Sharded<Mutex<Generations>>,
    /// Entries per shard generation (`young` never exceeds it).
    per_generation: usize,
}

impl std::fmt::Debug for InodeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InodeCache")
            .field("per_generation", &self.per_generation)
            .finish_non_exhaustive()
    }
}

impl InodeCache {
    /// A cache of about `entries` inodes; 0 disables it (every lookup misses).
    pub fn new(entries: usize) -> Self {
        InodeCache {
            shards: Sharded::with_default(SHARDS),
            // Two generations per shard, so each holds half.
            per_generation: entries / SHARDS / 2,
        }
    }

    fn shard(&self, ino: u64) -> (usize, &Mutex<Generations>) {
        (self.shards.index_of(ino), self.shards.part(ino))
    }

    /// The cached inode `ino`, if any.
    pub fn get(&self, ino: u64) -> Option<Inode> {
        if self.per_generation == 0 {
            return None;
        }
        let (_, shard) = self.shard(ino);
        let mut s = shard.lock();
        let got = if let Some(n) = s.young.get(&ino) {
            Some(n.clone())
        } else if let Some(n) = s.old.remove(&ino) {
            let copy = n.clone();
            Self::insert_young(&mut s, ino, n, self.per_generation);
            Some(copy)
        } else {
            None
        };
        if got.is_some() {
            s.stats.hits += 1;
        } else {
            s.stats.misses += 1;
        }
        got
    }

    /// Takes a ticket for filling `ino` after a store read that starts after this call.
    pub fn ticket(&self, ino: u64) -> FillTicket {
        let (i, shard) = self.shard(ino);
        FillTicket {
            shard: i,
            changes: shard.lock().changes,
        }
    }

    /// Inserts `node`, read from the store after `ticket` was taken, unless anything in its
    /// shard changed since (then the copy may be older than one that was published).
    pub fn fill(&self, ticket: FillTicket, node: &Inode) {
        if self.per_generation == 0 {
            return;
        }
        let (i, shard) = self.shard(node.ino);
        debug_assert_eq!(i, ticket.shard);
        let mut s = shard.lock();
        if s.changes != ticket.changes || i != ticket.shard {
            s.stats.stale_fills += 1;
            return;
        }
        if s.young.contains_key(&node.ino) || s.old.contains_key(&node.ino) {
            return;
        }
        Self::insert_young(&mut s, node.ino, node.clone(), self.per_generation);
    }

    /// Publishes `node` as the latest committed version (the caller holds its lock).
    pub fn publish(&self, node: &Inode) {
        let (_, shard) = self.shard(node.ino);
        let mut s = shard.lock();
        s.changes += 1;
        if self.per_generation == 0 {
            return;
        }
        s.old.remove(&node.ino);
        Self::insert_young(&mut s, node.ino, node.clone(), self.per_generation);
    }

    /// Forgets `ino` (deleted, or its latest version is unknown after a failed write).
    pub fn remove(&self, ino: u64) {
        let (_, shard) = self.shard(ino);
        let mut s = shard.lock();
        s.changes += 1;
        s.young.remove(&ino);
        s.old.remove(&ino);
    }

    fn insert_young(s: &mut Generations, ino: u64, node: Inode, per_generation: usize) {
        if s.young.len() >= per_generation && !s.young.contains_key(&ino) {
            // `young` is full: it becomes `old`, and the previous `old` is evicted.
            s.old = std::mem::take(&mut s.young);
            s.old.remove(&ino);
            s.changes += 1;
        }
        s.young.insert(ino, node);
    }

    /// Counters since creation.
    pub fn stats(&self) -> InodeCacheStats {
        let mut total = InodeCacheStats::default();
        for s in self.shards.iter() {
            let st = s.lock().stats;
            total.hits += st.hits;
            total.misses += st.misses;
            total.stale_fills += st.stale_fills;
        }
        total
    }

    /// A copy of every inode held (for consistency checks).
    pub fn snapshot(&self) -> Vec<Inode> {
        let mut out = Vec::new();
        for s in self.shards.iter() {
            let s = s.lock();
            out.extend(s.young.values().cloned());
            out.extend(s.old.values().cloned());
        }
        out
    }

    /// Inodes held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock();
                s.young.len() + s.old.len()
            })
            .sum()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::types::{FileType, Timestamp};

    fn node(ino: u64, size: u64) -> Inode {
        let mut n = Inode::new(ino, FileType::Regular, 0o644, 1, 1, Timestamp::now());
        n.size = size;
        n
    }

    #[test]
    fn publish_then_get_returns_the_published_version() {
        let c = InodeCache::new(1024);
        assert_eq!(c.get(7), None);
        c.publish(&node(7, 10));
        assert_eq!(c.get(7).map(|n| n.size), Some(10));
        c.publish(&node(7, 20));
        assert_eq!(c.get(7).map(|n| n.size), Some(20));
        c.remove(7);
        assert_eq!(c.get(7), None);
        let st = c.stats();
        assert_eq!((st.hits, st.misses), (2, 2));
    }

    #[test]
    fn a_fill_that_raced_a_publish_is_dropped() {
        let c = InodeCache::new(1024);
        // A reader takes its ticket and reads version 1 from the store...
        let t = c.ticket(5);
        let read_from_store = node(5, 1);
        // ...meanwhile a writer commits version 2 and publishes it, and it is evicted again.
        c.publish(&node(5, 2));
        c.remove(5);
        // The reader's late fill must not bring version 1 back.
        c.fill(t, &read_from_store);
        assert_eq!(c.get(5), None);
        assert_eq!(c.stats().stale_fills, 1);
        // A fill with a fresh ticket goes in.
        let t = c.ticket(5);
        c.fill(t, &node(5, 2));
        assert_eq!(c.get(5).map(|n| n.size), Some(2));
    }

    #[test]
    fn a_fill_never_replaces_a_published_entry() {
        let c = InodeCache::new(1024);
        let t = c.ticket(9);
        c.publish(&node(9, 3));
        // Even with a ticket that still matched, a present entry wins over a fill.
        let t2 = c.ticket(9);
        c.fill(t2, &node(9, 1));
        c.fill(t, &node(9, 1));
        assert_eq!(c.get(9).map(|n| n.size), Some(3));
    }

    #[test]
    fn eviction_is_bounded_and_keeps_recently_used_entries() {
        let entries = SHARDS * 2 * 4; // 4 per generation per shard
        let c = InodeCache::new(entries);
        for ino in 0..10_000u64 {
            c.publish(&node(ino, ino));
            // Keep touching inode 0 so that it stays young.
            assert_eq!(c.get(0).map(|n| n.size), Some(0), "after {ino}");
        }
        assert!(c.len() <= entries, "{} > {entries}", c.len());
        // Recent ones are there.
        assert_eq!(c.get(9_999).map(|n| n.size), Some(9_999));
    }

    #[test]
    fn a_disabled_cache_holds_nothing() {
        let c = InodeCache::new(0);
        c.publish(&node(1, 1));
        let t = c.ticket(1);
        c.fill(t, &node(1, 1));
        assert_eq!(c.get(1), None);
        assert!(c.is_empty());
    }
}
