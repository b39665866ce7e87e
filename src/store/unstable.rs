//! Per file, the ticket of its latest UNSTABLE write: what a COMMIT of that file must see
//! durable (see [`super::durability`]).
//!
//! Bounded: when a part of the table fills up it drops the entries a flush already covered, and
//! if that is not enough it forgets them all and remembers the highest ticket it forgot as the
//! part's floor, which every file of that part then needs. That only ever asks for more than
//! necessary, never less.

use std::collections::HashMap;

use parking_lot::Mutex;

use super::durability::WriteTicket;
use crate::sharded::Sharded;

const SHARDS: usize = 64;
/// Files tracked per part before covered entries are dropped (64 × 1,024 in all).
const SHARD_CAPACITY: usize = 1024;

/// One part of the table.
#[derive(Default)]
struct LatestTickets {
    latest: HashMap<u64, WriteTicket>,
    /// Needed by every file of the part: the highest ticket forgotten while not yet durable.
    floor: WriteTicket,
}

/// Per file (inode number), the ticket of its latest unstable write.
pub(crate) struct UnstableWrites {
    shards: Sharded<Mutex<LatestTickets>>,
}

impl Default for UnstableWrites {
    fn default() -> Self {
        UnstableWrites {
            shards: Sharded::with_default(SHARDS),
        }
    }
}

impl UnstableWrites {
    fn shard(&self, ino: u64) -> &Mutex<LatestTickets> {
        self.shards.part(ino)
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

    /// `n` files that fall in the same part of `u` as file 0.
    fn files_of_one_part(u: &UnstableWrites, n: usize) -> Vec<u64> {
        let part = u.shards.index_of(0);
        (0u64..)
            .filter(|&f| u.shards.index_of(f) == part)
            .take(n)
            .collect()
    }

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
        // Tickets 1..=CAP+1 for files of one part, of which the first CAP are durable.
        let cap = SHARD_CAPACITY as u64;
        let files = files_of_one_part(&u, SHARD_CAPACITY + 1);
        for (i, &f) in files.iter().enumerate() {
            u.record(f, WriteTicket(i as u64 + 1), |t| t.0 <= cap);
        }
        assert_eq!(u.len(), 1, "only the one not yet durable is kept");
        assert_eq!(u.needed(files[SHARD_CAPACITY]), WriteTicket(cap + 1));
        assert_eq!(
            u.needed(files[0]),
            WriteTicket::NONE,
            "its write is durable"
        );
    }

    #[test]
    fn a_shard_full_of_pending_writes_falls_back_to_its_floor() {
        let u = UnstableWrites::default();
        let cap = SHARD_CAPACITY as u64;
        let files = files_of_one_part(&u, SHARD_CAPACITY + 1);
        for (i, &f) in files.iter().enumerate() {
            u.record(f, WriteTicket(i as u64 + 1), |_| false);
        }
        assert_eq!(u.len(), 0);
        // Every file of the part now needs the highest forgotten ticket: more than it needs,
        // never less.
        assert_eq!(u.needed(files[0]), WriteTicket(cap + 1));
        assert_eq!(u.needed(files[5]), WriteTicket(cap + 1));
        // Files of other parts are unaffected.
        let elsewhere = (1u64..)
            .find(|&f| u.shards.index_of(f) != u.shards.index_of(0))
            .unwrap();
        assert_eq!(u.needed(elsewhere), WriteTicket::NONE);
    }
}
