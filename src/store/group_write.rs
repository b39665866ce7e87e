//! Group writes: the batches that operations queue on one lane while a SlateDB write of that
//! lane is under way are merged into the next single SlateDB `WriteBatch`.
//!
//! Why: a SlateDB write is a message to its batch-writer task and a reply, and from a glommio
//! core each store call is also a hand-off to the storage runtime and back. Under load those
//! hand-offs, not the memtable insert, are the cost of a write. Merging keeps each operation
//! atomic (a merged batch is applied atomically, so each member is too) and ordered (members
//! are applied in arrival order; a later put or delete of a key replaces an earlier one, as in
//! SlateDB's own batch). At low load a write goes out at once, alone: no added latency.
//!
//! **Lanes.** The contract callers build on: *batches submitted on one [`LaneId`] are applied in
//! the order they were submitted, and each one's [`AppliedHook`] runs in that order.* Batches of
//! different lanes are not ordered with respect to each other. Each thread (one per glommio
//! core) has a lane of its own ([`LaneId::of_this_thread`]), so cores never wait on one
//! another's groups; a lane's mutex is only contended by its core and its drainer.
//!
//! Every applied group takes the next write ticket, and a group that holds a durable member
//! wakes the flusher at once (see [`super::durability`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use slatedb::config::WriteOptions;
use slatedb::{Db, WriteBatch};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::batch::StoreBatch;
use super::durability::{Applied, Durability, DurabilityTracker, WriteTicket};
use super::StoreError;

/// Lanes per store; threads beyond this share lanes (still ordered, only less parallel).
pub(crate) const LANES: usize = 64;
/// A group stops growing past this many bytes (the rest goes into the next group), so one
/// write never holds much more than a memtable's worth of a burst.
const MAX_GROUP_BYTES: usize = 16 << 20;

/// An ordered queue of batches (see the module docs for the ordering contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LaneId(usize);

impl LaneId {
    /// The lane of the calling thread, assigned round robin at its first use.
    pub fn of_this_thread() -> LaneId {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static LANE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % LANES;
        }
        LaneId(LANE.with(|l| *l))
    }
}

/// Called with `true` once a submitted batch is applied, or `false` if its write failed. Hooks
/// of one lane's batches run in submission order, on the storage runtime, whatever becomes of
/// the submitter's future: they must be short.
pub type AppliedHook = Box<dyn FnOnce(bool) + Send>;

struct Member {
    batch: StoreBatch,
    durability: Durability,
    /// Answered with the group's ticket once it is applied (visible to readers).
    applied: oneshot::Sender<Result<WriteTicket, StoreError>>,
    /// Run right after the write is applied (or failed), before `applied` is answered.
    on_applied: Option<AppliedHook>,
}

/// A batch queued on its lane by [`GroupWriter::submit`]: its place in the lane's order is
/// fixed; [`Submitted::applied`] waits until SlateDB applied it.
#[must_use = "a submitted write is only known to be applied once `applied` returns Ok"]
pub struct Submitted {
    applied: Result<oneshot::Receiver<Result<WriteTicket, StoreError>>, StoreError>,
    durability: Durability,
    tracker: Arc<DurabilityTracker>,
}

impl Submitted {
    /// A batch with nothing in it: applied already.
    pub(crate) fn empty(tracker: Arc<DurabilityTracker>) -> Self {
        let (tx, rx) = oneshot::channel();
        let _ = tx.send(Ok(WriteTicket::NONE));
        Submitted {
            applied: Ok(rx),
            durability: Durability::Memory,
            tracker,
        }
    }

    /// A batch that cannot be queued (`error` says why); its hook has been told.
    pub(crate) fn failed(
        error: StoreError,
        on_applied: Option<AppliedHook>,
        tracker: Arc<DurabilityTracker>,
    ) -> Self {
        if let Some(hook) = on_applied {
            hook(false);
        }
        Submitted {
            applied: Err(error),
            durability: Durability::Memory,
            tracker,
        }
    }

    /// Waits until the batch is applied (visible to readers); its durability, for a durable
    /// write, is then awaited with [`Applied::durable`].
    pub async fn applied(self) -> Result<Applied, StoreError> {
        let ticket = self.applied?.await.map_err(|_| StoreError::RuntimeGone)??;
        if ticket == WriteTicket::NONE {
            return Ok(Applied::nothing());
        }
        Ok(Applied::new(ticket, self.durability, self.tracker))
    }
}

#[derive(Default)]
struct Lane {
    pending: Vec<Member>,
    /// A drainer task is running for this lane (it empties `pending` before it stops).
    draining: bool,
}

/// Counters of the group writer (for benchmarks and the shutdown log).
#[derive(Debug, Default)]
struct GroupStats {
    /// Batches submitted by callers.
    batches: AtomicUsize,
    /// SlateDB writes they became.
    writes: AtomicUsize,
}

pub(crate) struct GroupWriter {
    lanes: Box<[Mutex<Lane>]>,
    stats: GroupStats,
    tracker: Arc<DurabilityTracker>,
}

impl GroupWriter {
    pub(crate) fn new(tracker: Arc<DurabilityTracker>) -> Arc<Self> {
        Arc::new(GroupWriter {
            lanes: (0..LANES).map(|_| Mutex::new(Lane::default())).collect(),
            stats: GroupStats::default(),
            tracker,
        })
    }

    /// (batches submitted, SlateDB writes they became).
    pub(crate) fn stats(&self) -> (usize, usize) {
        (
            self.stats.batches.load(Ordering::Relaxed),
            self.stats.writes.load(Ordering::Relaxed),
        )
    }

    /// Queues `batch` on `lane` at once (starting a drainer if none runs), so that it is
    /// applied after every batch submitted on `lane` before and before every later one;
    /// `on_applied` runs when it is applied or fails.
    pub(crate) fn submit(
        self: &Arc<Self>,
        handle: &Handle,
        db: &Arc<Db>,
        lane: LaneId,
        batch: StoreBatch,
        durability: Durability,
        on_applied: Option<AppliedHook>,
    ) -> Submitted {
        if batch.is_empty() {
            if let Some(hook) = on_applied {
                hook(true);
            }
            return Submitted::empty(self.tracker.clone());
        }
        let (applied, rx) = oneshot::channel();
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        let start = {
            let Some(l) = self.lanes.get(lane.0) else {
                return Submitted::failed(
                    StoreError::RuntimeGone,
                    on_applied,
                    self.tracker.clone(),
                );
            };
            let mut l = l.lock();
            l.pending.push(Member {
                batch,
                durability,
                applied,
                on_applied,
            });
            !std::mem::replace(&mut l.draining, true)
        };
        if start {
            let (this, db) = (self.clone(), db.clone());
            handle.spawn(async move { this.drain(lane, &db).await });
        }
        Submitted {
            applied: Ok(rx),
            durability,
            tracker: self.tracker.clone(),
        }
    }

    /// Writes the lane's pending members, a group at a time, until none is left.
    async fn drain(&self, lane: LaneId, db: &Arc<Db>) {
        let lane_index = lane.0;
        let Some(lane) = self.lanes.get(lane.0) else {
            return;
        };
        loop {
            let group: Vec<Member> = {
                let mut l = lane.lock();
                if l.pending.is_empty() {
                    l.draining = false;
                    return;
                }
                let mut bytes = 0;
                let take = l
                    .pending
                    .iter()
                    .position(|m| {
                        bytes += m.batch.bytes();
                        bytes > MAX_GROUP_BYTES
                    })
                    .map_or(l.pending.len(), |i| i.max(1));
                l.pending.drain(..take).collect()
            };
            self.stats.writes.fetch_add(1, Ordering::Relaxed);
            let mut batch = WriteBatch::new();
            let mut applied = Vec::with_capacity(group.len());
            let mut hooks = Vec::new();
            let mut wants_durable = false;
            for m in group {
                m.batch.append_to(&mut batch);
                applied.push(m.applied);
                hooks.extend(m.on_applied);
                wants_durable |= m.durability == Durability::Durable;
            }
            self.tracker.write_under_way(lane_index, true);
            let result = db.write_with_options(batch, &WriteOptions::default()).await;
            self.tracker.write_under_way(lane_index, false);
            let result = match result {
                Ok(_) => Ok(self.tracker.next_ticket()),
                Err(e) => {
                    self.tracker.write_failed();
                    Err(StoreError::from(e))
                }
            };
            for hook in hooks {
                hook(result.is_ok());
            }
            if result.is_ok() && wants_durable {
                self.tracker.want_flush();
            }
            for a in applied {
                let _ = a.send(result.as_ref().copied().map_err(StoreError::shared));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use bytes::Bytes;

    #[test]
    fn later_ops_in_a_batch_replace_earlier_ones() {
        futures::executor::block_on(async {
            let store = Store::open_in_memory().await.unwrap();
            let mut b = StoreBatch::new();
            b.put(Bytes::from_static(b"a"), Bytes::from_static(b"1"));
            b.put(Bytes::from_static(b"a"), Bytes::from_static(b"2"));
            b.put(Bytes::from_static(b"b"), Bytes::from_static(b"1"));
            b.delete(Bytes::from_static(b"b"));
            b.delete(Bytes::from_static(b"c"));
            b.put(Bytes::from_static(b"c"), Bytes::from_static(b"3"));
            assert_eq!(b.len(), 6);
            store.write(b, Durability::Memory).await.unwrap();
            let get = |k: &'static [u8]| store.get(Bytes::from_static(k));
            assert_eq!(get(b"a").await.unwrap().as_deref(), Some(&b"2"[..]));
            assert_eq!(get(b"b").await.unwrap(), None);
            assert_eq!(get(b"c").await.unwrap().as_deref(), Some(&b"3"[..]));
            store.close().await.unwrap();
        });
    }

    /// Many concurrent writers from one thread: every write lands, in order per key, and they
    /// take fewer SlateDB writes than batches.
    #[test]
    fn concurrent_writes_from_one_thread_are_grouped() {
        futures::executor::block_on(async {
            let store = Store::open_in_memory().await.unwrap();
            let writes = (0..200u32).map(|i| {
                let store = store.clone();
                async move {
                    let mut b = StoreBatch::new();
                    b.put(
                        Bytes::from(format!("k{:03}", i % 50)),
                        Bytes::from(i.to_string()),
                    );
                    b.put(Bytes::from(format!("n{i:03}")), Bytes::from_static(b"x"));
                    let d = if i % 7 == 0 {
                        Durability::Durable
                    } else {
                        Durability::Memory
                    };
                    store.write(b, d).await
                }
            });
            for r in futures::future::join_all(writes).await {
                r.unwrap();
            }
            for i in 0..200u32 {
                let v = store.get(Bytes::from(format!("n{i:03}"))).await.unwrap();
                assert_eq!(v.as_deref(), Some(&b"x"[..]));
            }
            // join_all polls in order, so for each key the last writer (i + 150) wins.
            for k in 0..50u32 {
                let v = store.get(Bytes::from(format!("k{k:03}"))).await.unwrap();
                assert_eq!(v, Some(Bytes::from((k + 150).to_string())), "k{k:03}");
            }
            let (batches, writes) = store.group_stats();
            assert!(batches >= 200, "{batches}");
            assert!(writes < batches, "{writes} writes for {batches} batches");
            store.close().await.unwrap();
        });
    }
}
