//! Duplicate-request cache for non-idempotent NFSv3 calls.
//!
//! Soft mounts and reconnects retransmit calls whose reply was lost. Running a CREATE, REMOVE or
//! RENAME twice turns success into EEXIST/ENOENT, so the reply of each such call is kept, keyed by
//! client address and port, xid, procedure and a digest of the arguments, and a retransmit is
//! answered from it. The port belongs in the key: xids are only unique per client transport
//! (several connections from one host, e.g. two mounts or a load generator, start their xids
//! alike and do send identical calls), and the Linux client reconnects from the same source port
//! precisely so that servers can match retransmits this way (as Linux's nfsd does). A retransmit that arrives while the original still runs is dropped: the
//! client will retransmit again and find the finished reply.
//!
//! Bounded: at most `capacity` entries, evicted oldest first. Shared by all cores; the lock is
//! taken only for non-idempotent calls, and held for a hash-map operation, never across an await.
//!
//! **Changes not yet confirmed durable.** A changing call whose write was applied but not
//! confirmed durable in time is answered JUKEBOX ("try again later"; see
//! `store::durability`). The client then sends the call again *with a new xid*, which the
//! table above cannot match, and running it again would turn a REMOVE that happened into
//! NOENT, a MKDIR into EXIST. So such calls are also remembered by client, procedure and
//! arguments ([`RetryKey`]) with the write they made: a call that matches is not run again but
//! waits for that write, and is answered success (without attributes) once it is durable, or
//! JUKEBOX again. Only the client's own retry sends the same arguments from the same address
//! while it waits for an answer.
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::sharded::Sharded;
use crate::store::WriteTicket;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DrcKey {
    client: SocketAddr,
    xid: u32,
    procedure: u32,
    args_digest: u64,
}

impl DrcKey {
    pub fn new(client: SocketAddr, xid: u32, procedure: u32, args: &[u8]) -> Self {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        args.hash(&mut h);
        Self {
            client,
            xid,
            procedure,
            args_digest: h.finish(),
        }
    }
}

impl DrcKey {
    /// What a retry of this call with a new xid has in common with it.
    pub fn retry_key(&self) -> RetryKey {
        RetryKey {
            client: self.client,
            procedure: self.procedure,
            args_digest: self.args_digest,
        }
    }
}

/// A changing call, without its xid (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RetryKey {
    client: SocketAddr,
    procedure: u32,
    args_digest: u64,
}

/// Calls answered JUKEBOX whose write was not yet confirmed durable, oldest first.
#[derive(Default)]
struct Unconfirmed {
    writes: HashMap<RetryKey, WriteTicket>,
    order: VecDeque<RetryKey>,
}

#[derive(Debug, Clone)]
enum Slot {
    InProgress,
    Done(Vec<Bytes>),
}

/// What to do with a call that may be a retransmission.
#[derive(Debug, PartialEq)]
pub enum DrcLookup {
    /// First time seen: run it, then `complete` with the reply.
    New,
    /// Seen and still running: send nothing.
    InProgress,
    /// Seen and answered: send this encoded reply body again.
    Replay(Vec<Bytes>),
}

const SHARDS: usize = 16;

pub struct DuplicateRequestCache {
    shards: Sharded<Mutex<Replies>>,
    capacity_per_shard: usize,
    /// Only used while the object store does not confirm writes: one lock is enough.
    unconfirmed: Mutex<Unconfirmed>,
    capacity: usize,
}

/// One part of the cache: its calls, and their order for eviction.
#[derive(Default)]
struct Replies {
    entries: HashMap<DrcKey, Slot>,
    order: VecDeque<DrcKey>,
}

impl DuplicateRequestCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            shards: Sharded::with_default(SHARDS),
            capacity_per_shard: capacity.div_ceil(SHARDS).max(1),
            unconfirmed: Mutex::new(Unconfirmed::default()),
            capacity: capacity.max(1),
        }
    }

    /// Remembers that the call `key` made `write`, not yet confirmed durable.
    pub fn note_unconfirmed(&self, key: RetryKey, write: WriteTicket) {
        let mut u = self.unconfirmed.lock();
        while u.order.len() >= self.capacity {
            match u.order.pop_front() {
                Some(old) => {
                    u.writes.remove(&old);
                }
                None => break,
            }
        }
        if u.writes.insert(key, write).is_none() {
            u.order.push_back(key);
        }
    }

    /// The write a call like `key` made and is waiting for, if any.
    pub fn unconfirmed(&self, key: &RetryKey) -> Option<WriteTicket> {
        self.unconfirmed.lock().writes.get(key).copied()
    }

    /// Forgets the call `key` (its write is durable and its retry answered).
    pub fn forget_unconfirmed(&self, key: &RetryKey) {
        let mut u = self.unconfirmed.lock();
        if u.writes.remove(key).is_some() {
            u.order.retain(|k| k != key);
        }
    }

    fn shard(&self, key: &DrcKey) -> &Mutex<Replies> {
        self.shards.part(u64::from(key.xid) ^ key.args_digest)
    }

    /// Looks the call up, marking it in progress if it is new.
    pub fn begin(&self, key: DrcKey) -> DrcLookup {
        let mut shard = self.shard(&key).lock();
        match shard.entries.get(&key) {
            Some(Slot::InProgress) => return DrcLookup::InProgress,
            Some(Slot::Done(reply)) => return DrcLookup::Replay(reply.clone()),
            None => {}
        }
        while shard.order.len() >= self.capacity_per_shard {
            match shard.order.pop_front() {
                Some(old) => {
                    shard.entries.remove(&old);
                }
                None => break,
            }
        }
        shard.entries.insert(key, Slot::InProgress);
        shard.order.push_back(key);
        DrcLookup::New
    }

    /// Records the reply of a call that `begin` reported as new.
    pub fn complete(&self, key: DrcKey, reply: Vec<Bytes>) {
        let mut shard = self.shard(&key).lock();
        if let Some(slot) = shard.entries.get_mut(&key) {
            *slot = Slot::Done(reply);
        }
    }

    /// Forgets a call that could not produce a reply (e.g. a server fault), so a retransmit runs.
    pub fn abandon(&self, key: DrcKey) {
        let mut shard = self.shard(&key).lock();
        shard.entries.remove(&key);
    }

    /// Like [`DuplicateRequestCache::begin`]; a new call comes back with a guard that
    /// abandons the entry unless the call completes it, so a call that panics or is cancelled
    /// leaves no entry that would drop every retransmission as "in progress".
    pub fn begin_guarded(&self, key: DrcKey) -> Result<DrcGuard<'_>, DrcLookup> {
        match self.begin(key) {
            DrcLookup::New => Ok(DrcGuard {
                drc: self,
                key: Some(key),
            }),
            seen => Err(seen),
        }
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().entries.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A call in progress in the cache: completed with its reply, or abandoned when dropped.
pub struct DrcGuard<'a> {
    drc: &'a DuplicateRequestCache,
    key: Option<DrcKey>,
}

impl DrcGuard<'_> {
    /// Records the reply for retransmissions.
    pub fn complete(mut self, reply: Vec<Bytes>) {
        if let Some(key) = self.key.take() {
            self.drc.complete(key, reply);
        }
    }
}

impl Drop for DrcGuard<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.drc.abandon(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(xid: u32, args: &[u8]) -> DrcKey {
        DrcKey::new("10.0.0.1:700".parse().unwrap(), xid, 8, args)
    }

    #[test]
    fn replays_completed_and_drops_in_progress() {
        let drc = DuplicateRequestCache::new(64);
        assert_eq!(drc.begin(key(1, b"a")), DrcLookup::New);
        assert_eq!(drc.begin(key(1, b"a")), DrcLookup::InProgress);
        drc.complete(key(1, b"a"), vec![Bytes::from_static(b"reply")]);
        assert_eq!(
            drc.begin(key(1, b"a")),
            DrcLookup::Replay(vec![Bytes::from_static(b"reply")])
        );
        // Same xid, different arguments: another call.
        assert_eq!(drc.begin(key(1, b"b")), DrcLookup::New);
        // Another client with the same xid is another call too.
        let other = DrcKey::new("10.0.0.2:700".parse().unwrap(), 1, 8, b"a");
        assert_eq!(drc.begin(other), DrcLookup::New);
        // So is another connection of the same host: two connections from one address may send
        // the same CREATE with the same xid, and the second must run.
        let same_host = DrcKey::new("10.0.0.1:701".parse().unwrap(), 1, 8, b"a");
        assert_eq!(drc.begin(same_host), DrcLookup::New);
    }

    #[test]
    fn abandon_lets_a_retransmit_run() {
        let drc = DuplicateRequestCache::new(64);
        assert_eq!(drc.begin(key(7, b"x")), DrcLookup::New);
        drc.abandon(key(7, b"x"));
        assert_eq!(drc.begin(key(7, b"x")), DrcLookup::New);
    }

    #[test]
    fn an_unfinished_guard_abandons_its_entry() {
        let drc = DuplicateRequestCache::new(64);
        let guard = drc.begin_guarded(key(9, b"x")).unwrap();
        assert_eq!(
            drc.begin_guarded(key(9, b"x")).err(),
            Some(DrcLookup::InProgress)
        );
        drop(guard);
        let guard = drc.begin_guarded(key(9, b"x")).unwrap();
        guard.complete(vec![Bytes::from_static(b"r")]);
        assert_eq!(
            drc.begin_guarded(key(9, b"x")).err(),
            Some(DrcLookup::Replay(vec![Bytes::from_static(b"r")]))
        );
    }

    #[test]
    fn unconfirmed_calls_are_found_by_a_retry_with_another_xid() {
        let drc = DuplicateRequestCache::new(4);
        let first = key(1, b"mkdir a");
        drc.note_unconfirmed(first.retry_key(), WriteTicket(9));
        assert_eq!(
            drc.unconfirmed(&key(2, b"mkdir a").retry_key()),
            Some(WriteTicket(9))
        );
        assert_eq!(drc.unconfirmed(&key(2, b"mkdir b").retry_key()), None);
        let other_client = DrcKey::new("10.0.0.2:700".parse().unwrap(), 2, 8, b"mkdir a");
        assert_eq!(drc.unconfirmed(&other_client.retry_key()), None);
        drc.forget_unconfirmed(&first.retry_key());
        assert_eq!(drc.unconfirmed(&first.retry_key()), None);
        for i in 0..100u32 {
            drc.note_unconfirmed(
                key(i, &i.to_be_bytes()).retry_key(),
                WriteTicket(u64::from(i)),
            );
        }
        assert!(drc.unconfirmed.lock().writes.len() <= 4);
    }

    #[test]
    fn stays_bounded() {
        let drc = DuplicateRequestCache::new(160);
        for xid in 0..10_000 {
            drc.begin(key(xid, b"a"));
            drc.complete(key(xid, b"a"), vec![Bytes::new()]);
        }
        assert!(drc.len() <= 160, "{}", drc.len());
        // The newest are kept.
        assert!(matches!(drc.begin(key(9_999, b"a")), DrcLookup::Replay(_)));
    }
}
