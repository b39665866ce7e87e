//! Which write a COMMIT of a file has to make durable: per file, the ticket of its latest
//! UNSTABLE write.
//!
//! COMMIT used to flush the whole WAL every time. With the tickets it only needs a flush that
//! covers the file's own last unstable write ([`crate::store::Store::flush_covering`]): if
//! other operations' flushes already carried it, COMMIT returns without a WAL PUT, and if the
//! flush under way carries it, COMMIT waits for that one instead of the next.
//!
//! Everything else a COMMIT must cover is already durable or ordered before that write: in
//! the default mode metadata operations are durable before they reply, and a write can only
//! follow the operations that created the file (WAL flushes complete in order). With
//! `--async` metadata the caller asks for everything applied instead (see [`Fs::commit`]).
//!
//! The table is bounded: when a shard fills up it drops the entries a flush already covered,
//! and if that is not enough it forgets them all and remembers the highest ticket it forgot
//! as the shard's floor, which every file of the shard then needs. That only ever asks for
//! more than necessary, never less.
//!
//! [`Fs::commit`]: crate::fs::Fs::commit

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::store::WriteTicket;

const SHARDS: usize = 64;
/// Files tracked per shard before covered entries are dropped (64 × 1,024 in all).
const SHARD_CAPACITY: usize = 1024;

#[derive(Default)]
struct Shard {
    latest: HashMap<u64, WriteTicket>,
    /// Needed by every file of the shard: the highest ticket forgotten while not yet durable.
    floor: WriteTicket,
}

/// Per file (inode number), the ticket of its latest unstable write.
pub(crate) struct UnstableWrites {
    shards: Box<[Mutex<Shard>]>,
}

impl Default for UnstableWrites {
    fn default() -> Self {
        UnstableWrites {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

impl UnstableWrites {
    fn shard(&self, ino: u64) -> &Mutex<Shard> {
        // Inode numbers are allocated in sequence: the low bits spread them evenly.
        &self.shards[(ino % SHARDS as u64) as usize]
    }

    /// Records an unstable write of `ino`. `is_durable` tells which tickets a completed flush
    /// already covered (only consulted when the shard is full).
    pub(crate) fn record(
        &self,
        ino: u64,
        ticket: WriteTicket,
        is_durable: impl Fn(WriteTicket) -> bool,
    ) {
        let mut s = self.shard(ino).lock();
        let e = s.latest.entry(ino).or_default();
        *e = (*e).max(ticket);
        if s.latest.len() > SHARD_CAPACITY {
            s.latest.retain(|_, t| !is_durable(*t));
            if s.latest.len() > SHARD_CAPACITY / 2 {
                let highest = s.latest.values().copied().max().unwrap_or_default();
                s.floor = s.floor.max(highest);
                s.latest.clear();
            }
        }
    }

    /// The ticket a COMMIT of `ino` must see durable ([`WriteTicket::NONE`]: nothing).
    pub(crate) fn needed(&self, ino: u64) -> WriteTicket {
        let s = self.shard(ino).lock();
        s.latest.get(&ino).copied().unwrap_or_default().max(s.floor)
    }

    /// Forgets `ino`'s entry if a flush covered it (after a successful COMMIT).
    pub(crate) fn covered(&self, ino: u64, durable: WriteTicket) {
        let mut s = self.shard(ino).lock();
        if s.latest.get(&ino).is_some_and(|t| *t <= durable) {
            s.latest.remove(&ino);
        }
    }

    /// Files tracked (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().latest.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_needs_its_latest_unstable_write() {
        let u = UnstableWrites::default();
        assert_eq!(u.needed(7), WriteTicket::NONE);
        u.record(7, WriteTicket(3), |_| false);
        u.record(7, WriteTicket(9), |_| false);
        // A report that arrives late does not lower it.
        u.record(7, WriteTicket(5), |_| false);
        assert_eq!(u.needed(7), WriteTicket(9));
        assert_eq!(u.needed(8), WriteTicket::NONE);
        u.covered(7, WriteTicket(8));
        assert_eq!(u.needed(7), WriteTicket(9), "not covered yet");
        u.covered(7, WriteTicket(9));
        assert_eq!(u.needed(7), WriteTicket::NONE);
    }

    #[test]
    fn a_full_shard_drops_durable_entries_first() {
        let u = UnstableWrites::default();
        // Files of shard 0 only; tickets 1..=CAP+1, of which the first CAP are durable.
        let cap = SHARD_CAPACITY as u64;
        for i in 0..=cap {
            u.record(i * SHARDS as u64, WriteTicket(i + 1), |t| t.0 <= cap);
        }
        assert_eq!(u.len(), 1, "only the one not yet durable is kept");
        assert_eq!(u.needed(cap * SHARDS as u64), WriteTicket(cap + 1));
        assert_eq!(u.needed(0), WriteTicket::NONE, "its write is durable");
    }

    #[test]
    fn a_shard_full_of_pending_writes_falls_back_to_its_floor() {
        let u = UnstableWrites::default();
        let cap = SHARD_CAPACITY as u64;
        for i in 0..=cap {
            u.record(i * SHARDS as u64, WriteTicket(i + 1), |_| false);
        }
        assert_eq!(u.len(), 0);
        // Every file of the shard now needs the highest forgotten ticket: more than it
        // needs, never less.
        assert_eq!(u.needed(0), WriteTicket(cap + 1));
        assert_eq!(u.needed(5 * SHARDS as u64), WriteTicket(cap + 1));
        // Other shards are unaffected.
        assert_eq!(u.needed(1), WriteTicket::NONE);
    }
}
