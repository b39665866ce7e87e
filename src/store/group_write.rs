//! Group writes: the batches that operations on one core commit while a SlateDB write from that
//! core is under way are merged into the next single SlateDB `WriteBatch`.
//!
//! Why: a SlateDB write is a message to its batch-writer task and a reply, and from a glommio
//! core each store call is also a hand-off to the storage runtime and back. Under load those
//! hand-offs, not the memtable insert, are the cost of a write. Merging keeps each operation
//! atomic (a merged batch is applied atomically, so each member is too) and ordered (members
//! are applied in arrival order; a later put or delete of a key replaces an earlier one, as in
//! SlateDB's own batch). At low load a write goes out at once, alone: no added latency.
//!
//! Durability: a member that asked for [`Durability::Durable`] is answered once the merged
//! write is durable; members that asked for memory only are answered when it is applied.
//! Waiting for durability happens beside the writer, so the next group is written while the
//! previous one is being flushed (the flusher then persists both with one WAL PUT).
//!
//! Lanes: every thread (one per glommio core) gets its own lane, so cores never wait on one
//! another's groups; the lane's mutex is only ever contended by that core and its drainer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use slatedb::config::WriteOptions;
use slatedb::{Db, WriteBatch};
use tokio::runtime::Handle;
use tokio::sync::{oneshot, Notify};

use super::{Durability, StoreError};

/// Lanes per store; threads beyond this share lanes (still correct, only less parallel).
pub(crate) const LANES: usize = 64;
/// A group stops growing past this many bytes (the rest goes into the next group), so one
/// write never holds much more than a memtable's worth of a burst.
const MAX_GROUP_BYTES: usize = 16 << 20;

/// A batch of puts and deletes committed atomically.
enum Op {
    Put(Bytes),
    Delete,
    Merge(Bytes),
}

#[derive(Default)]
pub struct StoreBatch {
    /// In order; a later put or delete of a key replaces what came before it.
    ops: Vec<(Bytes, Op)>,
    bytes: usize,
}

impl std::fmt::Debug for StoreBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreBatch")
            .field("ops", &self.ops.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl StoreBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a put.
    pub fn put(&mut self, key: Bytes, value: Bytes) {
        self.bytes += key.len() + value.len();
        self.ops.push((key, Op::Put(value)));
    }
    /// Adds a merge operand (see [`super::chunk_value`]: chunk keys only).
    pub fn merge(&mut self, key: Bytes, operand: Bytes) {
        self.bytes += key.len() + operand.len();
        self.ops.push((key, Op::Merge(operand)));
    }
    /// Adds a delete.
    pub fn delete(&mut self, key: Bytes) {
        self.bytes += key.len();
        self.ops.push((key, Op::Delete));
    }
    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
    /// Approximate payload size in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn append_to(self, batch: &mut WriteBatch) {
        for (k, v) in self.ops {
            match v {
                Op::Put(v) => batch.put_bytes(k, v),
                Op::Delete => batch.delete(k),
                Op::Merge(v) => batch.merge(k, v),
            }
        }
    }
}

struct Member {
    batch: StoreBatch,
    /// Answered once the write is applied (visible to readers).
    applied: oneshot::Sender<Result<(), StoreError>>,
    /// Answered once it is durable, for members that want to know.
    durable: Option<oneshot::Sender<Result<(), StoreError>>>,
    /// Run by the writer right after the write is applied (or failed), before `applied` is
    /// answered: in the lane's order, whatever becomes of the caller's future.
    on_applied: Option<AppliedHook>,
}

/// Called with `true` once a submitted batch is applied, or `false` if its write failed. Hooks
/// of one thread's batches run in submission order, on the storage runtime: they must be short.
pub type AppliedHook = Box<dyn FnOnce(bool) + Send>;

/// A batch queued on its lane by [`GroupWriter::submit`]: its place in the order of this
/// thread's writes is fixed; [`Submitted::applied`] waits until SlateDB applied it.
#[must_use = "a submitted write is only known to be applied once `applied` returns Ok"]
pub(crate) struct Submitted {
    applied: Result<oneshot::Receiver<Result<(), StoreError>>, StoreError>,
    pending: PendingDurability,
}

impl Submitted {
    /// Waits until the batch is applied (visible to readers); its durability, for a durable
    /// write, is returned to be awaited separately.
    pub(crate) async fn applied(self) -> Result<PendingDurability, StoreError> {
        self.applied?.await.map_err(|_| StoreError::RuntimeGone)??;
        Ok(self.pending)
    }
}

/// The durability of a write that is already applied: await [`PendingDurability::wait`] after
/// releasing whatever the write needed held (locks), so the flush wait is not serialised.
#[must_use = "a durable write is only durable once `wait` returns Ok"]
pub struct PendingDurability {
    durable: Option<oneshot::Receiver<Result<(), StoreError>>>,
    ticket: WriteTicket,
}

/// The place of an applied write in the order of the store's write tickets: a flush that
/// starts after a ticket was handed out makes that write durable (see
/// [`super::Store::flush_covering`]). `WriteTicket::NONE` stands for "nothing written".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct WriteTicket(pub(crate) u64);

impl WriteTicket {
    /// No write: covered by every flush, and already durable.
    pub const NONE: WriteTicket = WriteTicket(0);
}

impl PendingDurability {
    /// Nothing to wait for (a memory-only write).
    pub fn none() -> Self {
        PendingDurability {
            durable: None,
            ticket: WriteTicket::NONE,
        }
    }
    /// The write's ticket ([`WriteTicket::NONE`] if nothing was written).
    pub fn ticket(&self) -> WriteTicket {
        self.ticket
    }
    pub(crate) fn with_ticket(mut self, ticket: WriteTicket) -> Self {
        self.ticket = ticket;
        self
    }
    /// Waits until the write is durable in object storage.
    pub async fn wait(self) -> Result<(), StoreError> {
        match self.durable {
            None => Ok(()),
            Some(rx) => rx.await.map_err(|_| StoreError::RuntimeGone)?,
        }
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
pub struct GroupStats {
    /// Batches submitted by callers.
    pub batches: AtomicUsize,
    /// SlateDB writes they became.
    pub writes: AtomicUsize,
}

pub(crate) struct GroupWriter {
    lanes: Box<[Mutex<Lane>]>,
    stats: GroupStats,
}

/// This thread's lane index, assigned round robin at first use.
fn lane_of_thread() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static LANE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % LANES;
    }
    LANE.with(|l| *l)
}

/// An error for every member of a failed group (SlateDB errors are not `Clone`).
pub(crate) fn share_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Fenced => StoreError::Fenced,
        StoreError::Closed => StoreError::Closed,
        StoreError::RuntimeGone => StoreError::RuntimeGone,
        other => StoreError::Backend(format!("group write failed: {other}")),
    }
}

impl GroupWriter {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(GroupWriter {
            lanes: (0..LANES).map(|_| Mutex::new(Lane::default())).collect(),
            stats: GroupStats::default(),
        })
    }

    pub(crate) fn stats(&self) -> (usize, usize) {
        (
            self.stats.batches.load(Ordering::Relaxed),
            self.stats.writes.load(Ordering::Relaxed),
        )
    }

    /// Queues `batch` on this thread's lane at once (starting a drainer if none runs), so that
    /// it is applied after every batch this thread submitted before and before every later one;
    /// `on_applied` runs when it is applied or fails.
    pub(crate) fn submit(
        self: &Arc<Self>,
        handle: &Handle,
        db: &Arc<Db>,
        flush_wanted: &Arc<Notify>,
        batch: StoreBatch,
        durability: Durability,
        on_applied: Option<AppliedHook>,
    ) -> Submitted {
        let (applied, rx) = oneshot::channel();
        let (durable, pending) = match durability {
            Durability::Memory => (None, PendingDurability::none()),
            Durability::Durable => {
                let (tx, rx) = oneshot::channel();
                (
                    Some(tx),
                    PendingDurability {
                        durable: Some(rx),
                        ticket: WriteTicket::NONE,
                    },
                )
            }
        };
        let lane = lane_of_thread();
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        let start = {
            let Some(l) = self.lanes.get(lane) else {
                if let Some(hook) = on_applied {
                    hook(false);
                }
                return Submitted {
                    applied: Err(StoreError::RuntimeGone),
                    pending,
                };
            };
            let mut l = l.lock();
            l.pending.push(Member {
                batch,
                applied,
                durable,
                on_applied,
            });
            !std::mem::replace(&mut l.draining, true)
        };
        if start {
            let (this, db, flush_wanted) = (self.clone(), db.clone(), flush_wanted.clone());
            let h = handle.clone();
            handle.spawn(async move { this.drain(lane, &h, &db, &flush_wanted).await });
        }
        Submitted {
            applied: Ok(rx),
            pending,
        }
    }

    /// Writes the lane's pending members, a group at a time, until none is left.
    async fn drain(&self, lane: usize, handle: &Handle, db: &Arc<Db>, flush_wanted: &Arc<Notify>) {
        let Some(lane) = self.lanes.get(lane) else {
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
            let mut durable = Vec::new();
            let mut hooks = Vec::new();
            for m in group {
                m.batch.append_to(&mut batch);
                applied.push(m.applied);
                durable.extend(m.durable);
                hooks.extend(m.on_applied);
            }
            let result = db.write_with_options(batch, &WriteOptions::default()).await;
            for hook in hooks {
                hook(result.is_ok());
            }
            match result {
                Ok(h) => {
                    for a in applied {
                        let _ = a.send(Ok(()));
                    }
                    if !durable.is_empty() {
                        flush_wanted.notify_one();
                        handle.spawn(async move {
                            let r = h.await_durable().await.map_err(StoreError::from);
                            for d in durable {
                                let _ = d.send(r.as_ref().map(|_| ()).map_err(share_error));
                            }
                        });
                    }
                }
                Err(e) => {
                    let e = StoreError::from(e);
                    for a in applied.into_iter().chain(durable) {
                        let _ = a.send(Err(share_error(&e)));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

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
