//! [`Store`]: SlateDB behind a dedicated tokio runtime, usable from any executor.
//!
//! SlateDB (and object_store's HTTP client) need a tokio context. The callers of [`Store`] are
//! glommio executors without one, so every public async method spawns the SlateDB future onto
//! the store's own runtime and awaits the result through a `tokio::sync::oneshot`, which works
//! under any executor.
//!
//! Group commit: a durable write is appended to the WAL buffer, then a dedicated flusher task is
//! woken; it calls `Db::flush()` back to back while wake-ups keep arriving. At low load a durable
//! write costs one WAL PUT right away (no `flush_interval` wait); under load, all writes that
//! arrive while a flush is in flight share the next one. Each writer then waits on its own
//! `WriteHandle::await_durable()`, which is the actual guarantee. The periodic `flush_interval`
//! only bounds how long UNSTABLE data stays in memory.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::ObjectStore;
use parking_lot::Mutex;
use slatedb::config::{ReadOptions, Settings};
use slatedb::{BlockCachePolicy, CacheTarget, Db};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::{oneshot, Notify};

use super::backend::{object_store, CountingObjectStore, IoCounters, IoSnapshot, S3Settings};
use super::chunk_value::ChunkMergeOperator;
use super::group_write::{
    share_error, AppliedHook, GroupWriter, PendingDurability, StoreBatch, Submitted, WriteTicket,
};
use super::keys::TAG_CHUNK;
use super::{KeyRange, StorageUrl, StoreError};

/// Path of the database inside the object store root.
const DB_PATH: &str = "slatenfs";

/// How a write must be acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Return once the write is applied in memory (visible to readers at once).
    Memory,
    /// Return once the write is durable in object storage (group-committed).
    Durable,
}

/// Configuration of [`Store::open`].
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Where the data lives.
    pub url: StorageUrl,
    /// S3 settings (used for `s3://`).
    pub s3: S3Settings,
    /// Local directory for SlateDB's object store cache (disabled when `None`).
    pub cache_dir: Option<PathBuf>,
    /// Max size of the object store cache in bytes.
    pub cache_max_bytes: Option<usize>,
    /// Periodic WAL flush; bounds how long unstable (uncommitted) writes stay in memory only.
    /// Durable writes do not wait for it (see the module docs).
    pub flush_interval: Duration,
    /// Unflushed bytes before writers are throttled (SlateDB's default of 1 GiB means GiBs of RSS).
    pub max_unflushed_bytes: usize,
    /// Memtable size at which it is flushed to an L0 SST.
    pub l0_sst_size_bytes: usize,
    /// Max L0 SSTs before writes stall.
    pub l0_max_ssts: usize,
    /// Worker threads of the storage runtime.
    pub worker_threads: usize,
    /// Poll store futures once on the caller's thread before handing them off (see
    /// [`Store::run`]).
    pub inline_poll: bool,
}

impl StoreConfig {
    /// Defaults for `url`.
    pub fn new(url: StorageUrl) -> Self {
        StoreConfig {
            url,
            s3: S3Settings::default(),
            cache_dir: None,
            cache_max_bytes: None,
            flush_interval: Duration::from_millis(100),
            // 384 MiB: peak RSS stays ≤ 2 GiB while 10 GiB are written (scripts/rss-under-writes.sh);
            // 512 MiB wrote ~5% faster but peaked near 1.7 GiB with less headroom.
            max_unflushed_bytes: 384 * 1024 * 1024,
            l0_sst_size_bytes: 64 * 1024 * 1024,
            l0_max_ssts: 16,
            worker_threads: 2,
            inline_poll: true,
        }
    }
}

/// What SlateDB's in-memory block cache takes in when a memtable is flushed to L0: the index,
/// the filters and the data blocks of metadata keys, but not the blocks of file chunks
/// (`K ...`). File data has its own cache upstream (the per-core chunk cache); SlateDB's
/// default copies every flushed data block into the block cache, which under a stream of
/// writes means hundreds of MiB of chunk blocks nobody reads evicting the metadata blocks
/// that inode and directory reads need.
fn block_cache_policy() -> BlockCachePolicy {
    let chunk_start: &[u8] = &[TAG_CHUNK];
    let chunk_end: &[u8] = &[TAG_CHUNK + 1];
    BlockCachePolicy::default().with_flush_targets(&[
        CacheTarget::data(..chunk_start),
        CacheTarget::data(chunk_end..),
        CacheTarget::Index,
        CacheTarget::Filters,
    ])
}

/// Size-tiered compaction merges at least 8 (and at most 16) similar runs at a time instead of
/// SlateDB's 4 and 8. Every merge rewrites its sources, so wider merges mean fewer rewrites per
/// byte: while 10 GiB of 1 MiB writes stream in (scripts/rss-under-writes.sh), object-store
/// bytes written per client byte fell from 4.26x to 3.49x, and with fewer compactions in flight
/// the server also wrote faster. The price is more sorted runs for a point read to consult, which
/// the runs' bloom filters keep cheap.
fn compaction_scheduler_options() -> [(String, String); 2] {
    [
        ("min_compaction_sources".to_owned(), "8".to_owned()),
        ("max_compaction_sources".to_owned(), "16".to_owned()),
    ]
}

/// A caller of [`Store::flush_covering`]: the ticket it needs durable, and where to answer.
type FlushWaiter = (WriteTicket, oneshot::Sender<Result<(), StoreError>>);

/// Callers of [`Store::flush_covering`] waiting for a flush that covers their ticket.
#[derive(Default)]
struct FlushWaiters {
    waiting: Mutex<Vec<FlushWaiter>>,
    /// The flusher stopped (store fenced or closed): flush directly.
    gone: std::sync::atomic::AtomicBool,
}

/// Write tickets: every applied write takes the next number once SlateDB has applied it; a
/// flush that starts when the counter reads `n` makes every write with ticket ≤ n durable
/// (they were in the WAL buffer before the flush began, and WAL flushes complete in order).
/// `durable` is the highest counter value a completed flush started at.
#[derive(Default)]
struct Tickets {
    applied: AtomicU64,
    durable: AtomicU64,
}

/// A batch queued by [`Store::submit`].
#[must_use = "a submitted write is only known to be applied once `applied` returns Ok"]
pub struct SubmittedWrite {
    store: Store,
    /// `None`: the batch was empty.
    submitted: Option<Submitted>,
}

impl SubmittedWrite {
    /// Waits until the batch is applied (visible to readers), as [`Store::write_applied`].
    pub async fn applied(self) -> Result<PendingDurability, StoreError> {
        let Some(submitted) = self.submitted else {
            return Ok(PendingDurability::none());
        };
        let pending = submitted.applied().await?;
        Ok(self.store.ticket_for(pending))
    }
}

/// Point reads and range scans issued through a [`Store`] since it was opened.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OpStats {
    /// Point reads (each key of a multi-key read counts as one).
    pub gets: u64,
    /// Range scans.
    pub scans: u64,
}

#[derive(Default)]
struct OpCounters {
    gets: AtomicU64,
    scans: AtomicU64,
}

struct Inner {
    db: Arc<Db>,
    handle: Handle,
    runtime: Mutex<Option<Runtime>>,
    flush_wanted: Arc<Notify>,
    flush_waiters: Arc<FlushWaiters>,
    tickets: Arc<Tickets>,
    counters: Arc<IoCounters>,
    ops: OpCounters,
    inline_poll: bool,
    group: Arc<GroupWriter>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Dropping a runtime from inside an async context panics; shut it down in the background.
        if let Some(rt) = self.runtime.lock().take() {
            rt.shutdown_background();
        }
    }
}

/// The SlateDB store. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

fn build_runtime(threads: usize) -> Result<Runtime, StoreError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name("slatedb-io")
        .enable_all()
        .build()
        .map_err(|e| StoreError::Backend(format!("cannot start storage runtime: {e}")))
}

impl Store {
    /// Opens (or creates) the store described by `config`.
    pub async fn open(config: StoreConfig) -> Result<Store, StoreError> {
        let os = object_store(&config.url, &config.s3)?;
        Self::open_with_object_store(os, config).await
    }

    /// Opens a fresh store on an in-memory object store (tests).
    pub async fn open_in_memory() -> Result<Store, StoreError> {
        Self::open(StoreConfig::new(StorageUrl::Memory)).await
    }

    /// Opens the store on an existing object store (e.g. a shared `InMemory` to test reopening).
    /// `config.url` is only consulted for back-end capabilities.
    pub async fn open_with_object_store(
        os: Arc<dyn ObjectStore>,
        config: StoreConfig,
    ) -> Result<Store, StoreError> {
        let runtime = build_runtime(config.worker_threads)?;
        let handle = runtime.handle().clone();
        let counting = CountingObjectStore::new(os);
        let counters = counting.counters();
        let os: Arc<dyn ObjectStore> = Arc::new(counting);

        let mut settings = Settings {
            flush_interval: Some(config.flush_interval),
            max_unflushed_bytes: config.max_unflushed_bytes,
            l0_sst_size_bytes: config.l0_sst_size_bytes,
            l0_max_ssts: config.l0_max_ssts,
            l0_max_ssts_per_key: config.l0_max_ssts,
            ..Settings::default()
        };
        if let Some(compactor) = settings.compactor_options.as_mut() {
            compactor
                .scheduler_options
                .extend(compaction_scheduler_options());
        }
        if !config.url.supports_conditional_update() {
            // LocalFileSystem lacks PutMode::Update (If-Match), which GC boundary files need.
            if let Some(gc) = settings.garbage_collector_options.as_mut() {
                gc.boundary_files_enabled = false;
            }
        }
        if let Some(dir) = &config.cache_dir {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Backend(format!("cannot create cache dir {}: {e}", dir.display()))
            })?;
            settings.object_store_cache_options.root_folder = Some(dir.clone());
            settings.object_store_cache_options.max_cache_size_bytes = config.cache_max_bytes;
        }

        let (tx, rx) = oneshot::channel();
        handle.spawn(async move {
            let r = Db::builder(DB_PATH, os)
                .with_settings(settings)
                .with_block_cache_policy(block_cache_policy())
                .with_merge_operator(Arc::new(ChunkMergeOperator))
                .build()
                .await;
            let _ = tx.send(r);
        });
        let db = match rx.await {
            Ok(Ok(db)) => Arc::new(db),
            Ok(Err(e)) => {
                runtime.shutdown_background();
                return Err(e.into());
            }
            Err(_) => {
                runtime.shutdown_background();
                return Err(StoreError::RuntimeGone);
            }
        };

        let flush_wanted = Arc::new(Notify::new());
        let flush_waiters: Arc<FlushWaiters> = Arc::default();
        let tickets: Arc<Tickets> = Arc::default();
        {
            let db = db.clone();
            let (flush_wanted, waiters, tickets) =
                (flush_wanted.clone(), flush_waiters.clone(), tickets.clone());
            handle.spawn(async move {
                loop {
                    flush_wanted.notified().await;
                    // Every write with a ticket up to here is in the WAL buffer: this flush
                    // covers it, and so every waiter whose ticket is not above `start`,
                    // including those that register while the flush is under way.
                    let start = tickets.applied.load(Ordering::Acquire);
                    let r = db.flush().await.map_err(StoreError::from);
                    if r.is_ok() {
                        tickets.durable.fetch_max(start, Ordering::AcqRel);
                    }
                    let fatal = matches!(r, Err(StoreError::Fenced | StoreError::Closed));
                    if let Err(e) = &r {
                        log::warn!("WAL flush failed: {e}");
                    }
                    let (covered, more) = {
                        let mut waiting = waiters.waiting.lock();
                        let (covered, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut *waiting)
                            .into_iter()
                            .partition(|(t, _)| t.0 <= start);
                        *waiting = rest;
                        (covered, !waiting.is_empty())
                    };
                    for (_, w) in covered {
                        let _ = w.send(r.as_ref().map(|_| ()).map_err(share_error));
                    }
                    if fatal {
                        waiters
                            .gone
                            .store(true, std::sync::atomic::Ordering::Release);
                        for (_, w) in std::mem::take(&mut *waiters.waiting.lock()) {
                            let _ = w.send(Err(StoreError::Closed));
                        }
                        break;
                    }
                    if more {
                        // Waiters for later writes: they need the next flush.
                        flush_wanted.notify_one();
                    }
                }
            });
        }

        Ok(Store {
            inner: Arc::new(Inner {
                db,
                handle,
                runtime: Mutex::new(Some(runtime)),
                flush_wanted,
                flush_waiters,
                tickets,
                counters,
                ops: OpCounters::default(),
                inline_poll: config.inline_poll,
                group: GroupWriter::new(),
            }),
        })
    }

    /// Runs `fut` for the storage runtime and awaits its result from any executor.
    ///
    /// With `inline_poll` (the default) the future is first polled once on the calling thread
    /// inside the storage runtime's context: reads served from memory (memtable, caches) and
    /// non-durable writes usually finish right there, without a cross-thread hand-off. If it
    /// is still pending, the partly run future is spawned onto the runtime (a future must
    /// accept a new waker on every poll, so this is sound) and awaited through a oneshot.
    pub async fn run<F, T>(&self, fut: F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        let mut fut = Box::pin(fut);
        if self.inner.inline_poll {
            let _ctx = self.inner.handle.enter();
            let waker = futures::task::noop_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            if let std::task::Poll::Ready(r) = fut.as_mut().poll(&mut cx) {
                return r;
            }
        }
        let (tx, rx) = oneshot::channel();
        self.inner.handle.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.await.map_err(|_| StoreError::RuntimeGone)?
    }

    /// Runs `fut` in the background on the storage runtime.
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.inner.handle.spawn(fut);
    }

    /// Point read.
    pub async fn get(&self, key: Bytes) -> Result<Option<Bytes>, StoreError> {
        self.count_reads(1, 0);
        let db = self.inner.db.clone();
        self.run(async move { Ok(db.get(key).await?) }).await
    }

    /// Point read of file data (a chunk) that does not fill SlateDB's block cache: the caller
    /// caches file data itself, so the blocks would only push metadata out.
    pub async fn get_data(&self, key: Bytes) -> Result<Option<Bytes>, StoreError> {
        self.count_reads(1, 0);
        let db = self.inner.db.clone();
        self.run(async move {
            let opts = ReadOptions {
                cache_blocks: false,
                ..ReadOptions::default()
            };
            Ok(db.get_with_options(key, &opts).await?)
        })
        .await
    }

    /// Point reads of several keys with one hand-off (run concurrently on the storage runtime).
    pub async fn get_many(&self, keys: Vec<Bytes>) -> Result<Vec<Option<Bytes>>, StoreError> {
        self.count_reads(keys.len() as u64, 0);
        let db = self.inner.db.clone();
        self.run(async move {
            // Up to 16 reads in flight: cheap when served from memory, overlapped when they
            // go to the object store.
            use futures::StreamExt;
            let gets = futures::stream::iter(keys.into_iter().map(|k| {
                let db = db.clone();
                async move { db.get(k).await }
            }))
            .buffered(16)
            .collect::<Vec<_>>()
            .await;
            gets.into_iter()
                .map(|r| r.map_err(StoreError::from))
                .collect()
        })
        .await
    }

    /// Reads up to `limit` key/value pairs of `range`, in key order.
    pub async fn scan(
        &self,
        range: KeyRange,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>, StoreError> {
        self.count_reads(0, 1);
        let db = self.inner.db.clone();
        self.run(async move {
            let mut out = Vec::with_capacity(limit.min(1024));
            if limit == 0 || range.start >= range.end {
                return Ok(out);
            }
            let mut it = db.scan(range.start..range.end).await?;
            while out.len() < limit {
                match it.next().await? {
                    Some(kv) => out.push((kv.key, kv.value)),
                    None => break,
                }
            }
            Ok(out)
        })
        .await
    }

    /// Commits `batch` atomically. Concurrent writes from one thread (core) are merged into
    /// one SlateDB write (see [`super::group_write`]).
    pub async fn write(&self, batch: StoreBatch, durability: Durability) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.write_applied(batch, durability).await?.wait().await
    }

    /// Commits `batch` atomically and returns once it is applied (visible to readers), with
    /// its durability (for [`Durability::Durable`]) still to be awaited: a caller holding locks
    /// releases them first, so that operations queued behind it share the next flush instead
    /// of each waiting for its own.
    pub async fn write_applied(
        &self,
        batch: StoreBatch,
        durability: Durability,
    ) -> Result<PendingDurability, StoreError> {
        self.queue(batch, durability, None).applied().await
    }

    /// Gives an applied write its ticket. Taken after SlateDB applied the write, so any flush
    /// that starts once this ticket is counted finds the write in the WAL buffer.
    fn ticket_for(&self, pending: PendingDurability) -> PendingDurability {
        let tickets = &self.inner.tickets;
        let ticket = WriteTicket(tickets.applied.fetch_add(1, Ordering::AcqRel) + 1);
        pending.with_ticket(ticket)
    }

    /// Queues `batch` behind every batch this thread submitted before, without waiting: a
    /// caller that holds a lock only for the order of its writes can let it go once this
    /// returns, and await [`SubmittedWrite::applied`] after. `on_applied` runs as soon as the
    /// batch is applied (`true`) or its write failed (`false`), in submission order, even if
    /// the caller stops waiting (see [`AppliedHook`]).
    pub fn submit(
        &self,
        batch: StoreBatch,
        durability: Durability,
        on_applied: AppliedHook,
    ) -> SubmittedWrite {
        self.queue(batch, durability, Some(on_applied))
    }

    /// Queues `batch` on this thread's lane of the group writer (see [`Store::submit`]).
    fn queue(
        &self,
        batch: StoreBatch,
        durability: Durability,
        on_applied: Option<AppliedHook>,
    ) -> SubmittedWrite {
        if batch.is_empty() {
            if let Some(hook) = on_applied {
                hook(true);
            }
            return SubmittedWrite {
                store: self.clone(),
                submitted: None,
            };
        }
        let i = &self.inner;
        let submitted = i.group.submit(
            &i.handle,
            &i.db,
            &i.flush_wanted,
            batch,
            durability,
            on_applied,
        );
        SubmittedWrite {
            store: self.clone(),
            submitted: Some(submitted),
        }
    }

    /// The ticket of the latest applied write: a flush covering it covers every write that
    /// returned from [`Store::write_applied`] before this call.
    pub fn applied_ticket(&self) -> WriteTicket {
        WriteTicket(self.inner.tickets.applied.load(Ordering::Acquire))
    }

    /// Whether the write with `ticket` is known to be durable (a completed flush covered it).
    pub fn is_durable(&self, ticket: WriteTicket) -> bool {
        ticket.0 <= self.inner.tickets.durable.load(Ordering::Acquire)
    }

    /// Batches written through [`Store::write`] and the SlateDB writes they became.
    pub fn group_stats(&self) -> (usize, usize) {
        self.inner.group.stats()
    }

    /// Forces every earlier write to object storage. Concurrent callers share one WAL flush
    /// (the flusher task's next one), as durable writes do.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.flush_covering(self.applied_ticket()).await
    }

    /// Makes the write with `ticket`, and every write before it, durable. Returns at once if a
    /// completed flush already covered it, and waits for the flush under way if that one
    /// covers it; only otherwise does it ask for another flush. So a COMMIT whose writes went
    /// out with other operations' flushes costs no WAL PUT of its own.
    pub async fn flush_covering(&self, ticket: WriteTicket) -> Result<(), StoreError> {
        if self.is_durable(ticket) {
            return Ok(());
        }
        let w = &self.inner.flush_waiters;
        if w.gone.load(std::sync::atomic::Ordering::Acquire) {
            let db = self.inner.db.clone();
            return self.run(async move { Ok(db.flush().await?) }).await;
        }
        let (tx, rx) = oneshot::channel();
        w.waiting.lock().push((ticket, tx));
        self.inner.flush_wanted.notify_one();
        if w.gone.load(std::sync::atomic::Ordering::Acquire) {
            // The flusher stopped after the check above: it may not see this waiter.
            for (_, w) in std::mem::take(&mut *w.waiting.lock()) {
                let _ = w.send(Err(StoreError::Closed));
            }
        }
        rx.await.map_err(|_| StoreError::RuntimeGone)?
    }

    /// Flushes and closes the database. Further calls fail with [`StoreError::Closed`].
    pub async fn close(&self) -> Result<(), StoreError> {
        let db = self.inner.db.clone();
        self.run(async move { Ok(db.close().await?) }).await
    }

    /// The SlateDB handle, for callers that run their own futures on the storage runtime
    /// through [`Store::run`] (benchmarks, tools).
    pub fn db(&self) -> Arc<Db> {
        self.inner.db.clone()
    }

    /// Object store request and byte counters since open.
    pub fn io_stats(&self) -> IoSnapshot {
        self.inner.counters.snapshot()
    }

    /// Point reads and range scans issued through this store's read methods since open
    /// (not reads that callers run on [`Store::db`] themselves).
    pub fn op_stats(&self) -> OpStats {
        OpStats {
            gets: self.inner.ops.gets.load(Ordering::Relaxed),
            scans: self.inner.ops.scans.load(Ordering::Relaxed),
        }
    }

    /// Adds to the [`Store::op_stats`] counters.
    pub(crate) fn count_reads(&self, gets: u64, scans: u64) {
        let ops = &self.inner.ops;
        if gets > 0 {
            ops.gets.fetch_add(gets, Ordering::Relaxed);
        }
        if scans > 0 {
            ops.scans.fetch_add(scans, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys::{ChunkKey, InodeKey};
    use std::time::Instant;

    fn block_on<F: Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    #[test]
    fn basic_ops_without_tokio_context() {
        // futures' executor has no tokio context: the bridge must still work.
        block_on(async {
            let s = Store::open_in_memory().await.unwrap();
            assert_eq!(s.get(InodeKey(1).encode()).await.unwrap(), None);
            let mut b = StoreBatch::new();
            for i in 0..10 {
                b.put(ChunkKey(1, i).encode(), Bytes::from(vec![i as u8; 3]));
            }
            b.put(InodeKey(1).encode(), Bytes::from_static(b"x"));
            s.write(b, Durability::Memory).await.unwrap();
            assert_eq!(
                s.get(InodeKey(1).encode()).await.unwrap(),
                Some(Bytes::from_static(b"x"))
            );
            let all = s.scan(ChunkKey::file_range(1), 100).await.unwrap();
            assert_eq!(all.len(), 10);
            let many = s
                .get_many(vec![ChunkKey(1, 2).encode(), ChunkKey(9, 9).encode()])
                .await
                .unwrap();
            assert_eq!(many, vec![Some(Bytes::from(vec![2u8; 3])), None]);
            let some = s.scan(ChunkKey::file_range_from(1, 4), 3).await.unwrap();
            assert_eq!(
                some.iter()
                    .map(|(k, _)| ChunkKey::decode(k).unwrap().1)
                    .collect::<Vec<_>>(),
                vec![4, 5, 6]
            );
            let mut b = StoreBatch::new();
            b.delete(ChunkKey(1, 5).encode());
            s.write(b, Durability::Durable).await.unwrap();
            assert_eq!(s.scan(ChunkKey::file_range(1), 100).await.unwrap().len(), 9);
            s.flush().await.unwrap();
            s.close().await.unwrap();
        });
    }

    #[test]
    fn reopen_sees_data_and_second_writer_fences_first() {
        let dir = tempfile::tempdir().unwrap();
        let url = StorageUrl::File(dir.path().to_path_buf());
        block_on(async {
            let s1 = Store::open(StoreConfig::new(url.clone())).await.unwrap();
            let mut b = StoreBatch::new();
            b.put(InodeKey(7).encode(), Bytes::from_static(b"seven"));
            s1.write(b, Durability::Durable).await.unwrap();

            // A second writer on the same storage fences the first one.
            let s2 = Store::open(StoreConfig::new(url.clone())).await.unwrap();
            assert_eq!(
                s2.get(InodeKey(7).encode()).await.unwrap(),
                Some(Bytes::from_static(b"seven"))
            );
            let mut b = StoreBatch::new();
            b.put(InodeKey(8).encode(), Bytes::from_static(b"eight"));
            let r = s1.write(b, Durability::Durable).await;
            eprintln!("write by fenced writer: {r:?}");
            assert!(
                matches!(r, Err(StoreError::Fenced)),
                "expected Fenced, got {r:?}"
            );
            s2.close().await.unwrap();
        });
    }

    #[test]
    fn works_from_a_glommio_executor() {
        // The real callers are glommio (io_uring) executors without a tokio context.
        let ex = match glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound).make() {
            Ok(ex) => ex,
            Err(e) => {
                eprintln!("glommio unavailable here ({e}); skipping");
                return;
            }
        };
        ex.run(async {
            let s = Store::open_in_memory().await.unwrap();
            let mut b = StoreBatch::new();
            b.put(InodeKey(3).encode(), Bytes::from_static(b"g"));
            s.write(b, Durability::Durable).await.unwrap();
            assert_eq!(
                s.get(InodeKey(3).encode()).await.unwrap(),
                Some(Bytes::from_static(b"g"))
            );
            let n = 2000u32;
            let t = Instant::now();
            for _ in 0..n {
                s.get(InodeKey(3).encode()).await.unwrap();
            }
            eprintln!("bridge from glommio: {:?}/get", t.elapsed() / n);
        });
    }

    #[test]
    fn object_store_cache_dir() {
        let dir = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        block_on(async {
            let mut cfg = StoreConfig::new(StorageUrl::File(dir.path().to_path_buf()));
            cfg.cache_dir = Some(cache.path().join("cache"));
            let s = Store::open(cfg).await.unwrap();
            let mut b = StoreBatch::new();
            b.put(InodeKey(1).encode(), Bytes::from_static(b"v"));
            s.write(b, Durability::Durable).await.unwrap();
            assert!(s.get(InodeKey(1).encode()).await.unwrap().is_some());
            s.close().await.unwrap();
            assert!(cache.path().join("cache").is_dir());
        });
    }

    #[test]
    fn measure_bridge_and_durable_latency() {
        let dir = tempfile::tempdir().unwrap();
        block_on(async {
            let s = Store::open_in_memory().await.unwrap();
            let key = InodeKey(1).encode();
            let n = 2000u32;
            // Through the bridge.
            let t = Instant::now();
            for _ in 0..n {
                s.get(key.clone()).await.unwrap();
            }
            let bridged = t.elapsed() / n;
            // Directly on the storage runtime (no hand-off per call).
            let db = s.inner.db.clone();
            let k2 = key.clone();
            let direct = s
                .run(async move {
                    let t = Instant::now();
                    for _ in 0..n {
                        db.get(&k2).await?;
                    }
                    Ok(t.elapsed() / n)
                })
                .await
                .unwrap();
            let mut cfg = StoreConfig::new(StorageUrl::Memory);
            cfg.inline_poll = false;
            let h = Store::open(cfg).await.unwrap();
            let t = Instant::now();
            for _ in 0..n {
                h.get(key.clone()).await.unwrap();
            }
            let handed = t.elapsed() / n;
            eprintln!(
                "bridge: get with inline first poll {bridged:?}/call, always handed off {handed:?}/call, \
                 direct on the runtime {direct:?}/call; hand-off cost ~{:?}",
                handed.saturating_sub(direct)
            );

            for (name, store) in [
                ("memory", s.clone()),
                (
                    "file",
                    Store::open(StoreConfig::new(StorageUrl::File(dir.path().into())))
                        .await
                        .unwrap(),
                ),
            ] {
                let t = Instant::now();
                let m = 50u32;
                for i in 0..m {
                    let mut b = StoreBatch::new();
                    b.put(InodeKey(i.into()).encode(), Bytes::from_static(b"v"));
                    store.write(b, Durability::Durable).await.unwrap();
                }
                let serial = t.elapsed() / m;
                // 32 concurrent durable writers share flushes.
                let t = Instant::now();
                let futs = (0..32u64).map(|i| {
                    let store = store.clone();
                    async move {
                        for j in 0..10u64 {
                            let mut b = StoreBatch::new();
                            b.put(
                                InodeKey(1000 + i * 100 + j).encode(),
                                Bytes::from_static(b"v"),
                            );
                            store.write(b, Durability::Durable).await.unwrap();
                        }
                    }
                });
                futures::future::join_all(futs).await;
                let conc = t.elapsed();
                eprintln!(
                    "{name}: durable write serial {serial:?}/op; 320 writes by 32 concurrent writers in {conc:?} ({:?}/op)",
                    conc / 320
                );
            }
        });
    }
}
