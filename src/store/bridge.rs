//! [`Store`]: SlateDB behind a dedicated tokio runtime, usable from any executor.
//!
//! SlateDB (and object_store's HTTP client) need a tokio context. The callers of [`Store`] are
//! glommio executors without one, so every public async method runs the SlateDB future for the
//! store's own runtime and awaits the result through a `tokio::sync::oneshot`, which works
//! under any executor (see [`Store::run`]). Writes go through the group writer
//! ([`super::group_write`]); when they are durable is [`super::durability`]'s business.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::path::Path;
use object_store::ObjectStore;
use parking_lot::Mutex;
use slatedb::config::{
    DbReaderOptions, FlushOptions, FlushType, ReadOptions, ScanOptions, Settings,
};
use slatedb::{BlockCachePolicy, CacheTarget, CloseReason, Db, DbReader};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::oneshot;

use super::backend::{
    locate, locate_without_fsync, CountingObjectStore, IoCounters, IoSnapshot, S3Settings,
    StorageLocation,
};
use super::batch::StoreBatch;
use super::chunk_value::ChunkMergeOperator;
use super::deadline::Deadline;
use super::durability::{Durability, DurabilityTracker};
use super::fault::FaultInjector;
use super::filters;
use super::group_write::{AppliedHook, GroupWriter, LaneId, Submitted};
use super::intercept::Intercepted;
use super::keys::TAG_CHUNK;
use super::simulated::{SimulatedObjectStore, StoreTiming};
use super::view::{DbHandle, ReadOnlyView};
use super::{KeyRange, StorageUrl, StoreError};

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
    /// Longest one object-store call may take, on every back end; a call that takes longer
    /// fails and SlateDB retries it (see [`super::deadline`]).
    pub object_store_timeout: Duration,
    /// Longest a caller waits for the object store: a read not served within it fails with
    /// [`StoreError::Unavailable`], a durable write not durable within it with
    /// [`StoreError::NotYetDurable`] (see [`super::durability`]).
    pub wait_limit: Duration,
    /// Faults to inject into every object-store call (tests; see [`super::fault`]).
    pub faults: Option<Arc<FaultInjector>>,
    /// Benchmarks only: delay every object-store request (see [`super::simulated`]).
    pub simulated_timing: Option<StoreTiming>,
    /// Expose SlateDB's own metrics with the process's (see [`crate::metrics`]).
    pub slatedb_metrics: bool,
    /// How often a reader of [`ReadOnlyView::Latest`] looks for the writer's new manifest and
    /// WAL: how far a replica lags behind its writer (see [`DEFAULT_READER_POLL`]).
    pub reader_poll: Duration,
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
            // Bounds the RSS while a stream of writes outpaces the object store: peak RSS stays
            // under 2 GiB with this (scripts/rss-under-writes.sh).
            max_unflushed_bytes: 384 * 1024 * 1024,
            l0_sst_size_bytes: 64 * 1024 * 1024,
            l0_max_ssts: 16,
            worker_threads: 2,
            inline_poll: true,
            object_store_timeout: DEFAULT_OBJECT_STORE_TIMEOUT,
            wait_limit: DEFAULT_WAIT_LIMIT,
            faults: None,
            simulated_timing: None,
            slatedb_metrics: false,
            reader_poll: DEFAULT_READER_POLL,
        }
    }
}

/// Default of [`StoreConfig::object_store_timeout`]: S3 answers a GET or a small PUT in tens of
/// milliseconds and writes a 64 MiB table in a second or two, so 30 s only cuts calls that
/// are stuck.
pub const DEFAULT_OBJECT_STORE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default of [`StoreConfig::wait_limit`]: well inside the Linux client's 60 s RPC timeout
/// (`timeo=600`), so a client gets JUKEBOX ("try again later") before it would retransmit.
pub const DEFAULT_WAIT_LIMIT: Duration = Duration::from_secs(15);
/// Default of [`StoreConfig::reader_poll`]. SlateDB's own default (10 s) would leave a replica
/// up to 10 s behind. Each poll lists the manifest and WAL objects and reads what is new: about
/// six requests a second per replica at this default (tests/system/replica.sh), which S3
/// charges for but does not notice.
pub const DEFAULT_READER_POLL: Duration = Duration::from_secs(1);

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
/// byte written (object-store bytes per client byte, which scripts/rss-under-writes.sh reports),
/// and fewer compactions compete with writers. The price is more sorted runs for a point read to
/// consult, which the runs' bloom filters keep cheap.
fn compaction_scheduler_options() -> [(String, String); 2] {
    [
        ("min_compaction_sources".to_owned(), "8".to_owned()),
        ("max_compaction_sources".to_owned(), "16".to_owned()),
    ]
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
    db: DbHandle,
    handle: Handle,
    runtime: Mutex<Option<Runtime>>,
    durability: Arc<DurabilityTracker>,
    counters: Arc<IoCounters>,
    ops: OpCounters,
    inline_poll: bool,
    group: Arc<GroupWriter>,
    /// The object store SlateDB reads and writes (with the request counters), for checkpoint
    /// readers and SlateDB's `Admin`.
    os: Arc<dyn ObjectStore>,
    /// The database's path in `os`.
    db_path: Path,
    /// How readers of this storage are opened.
    reader_options: DbReaderOptions,
    /// The store whose runtime this one runs on (a checkpoint reader), kept open for as long
    /// as this one is.
    _runtime_owner: Option<Store>,
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
        f.debug_struct("Store")
            .field("read_only", &self.is_read_only())
            .finish_non_exhaustive()
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

/// Every table, however small, gets its filters ([`filters`]; SlateDB writes none below 1,000
/// keys). Tables of a few keys (inodes, entries, the superblock, a file's last chunks) are what
/// a small change leaves when flushed or compacted on its own, and their key range spans the
/// whole chunk keyspace (`I`/`D` below `K`, `S` above). Without a filter such a table is a
/// candidate for every chunk read: SlateDB fetches its data block to look (uncached, as file
/// data skips the block cache), which doubled the GETs of a cold read once one existed in a
/// newer run than the file.
const MIN_FILTER_KEYS: u32 = 1;

/// SlateDB's settings for the writer described by `config`.
fn writer_settings(config: &StoreConfig) -> Result<Settings, StoreError> {
    let mut settings = Settings {
        // The flusher keeps the interval (`DurabilityTracker::run_flusher`).
        flush_interval: None,
        max_unflushed_bytes: config.max_unflushed_bytes,
        l0_sst_size_bytes: config.l0_sst_size_bytes,
        l0_max_ssts: config.l0_max_ssts,
        l0_max_ssts_per_key: config.l0_max_ssts,
        min_filter_keys: MIN_FILTER_KEYS,
        ..Settings::default()
    };
    if let Some(compactor) = settings.compactor_options.as_mut() {
        compactor
            .scheduler_options
            .extend(compaction_scheduler_options());
        // The in-process compactor writes its tables with the worker's format.
        if let Some(worker) = compactor.worker.as_mut() {
            worker.min_filter_keys = MIN_FILTER_KEYS;
        }
    }
    if !config.url.supports_conditional_update() {
        // LocalFileSystem lacks PutMode::Update (If-Match), which GC boundary files need.
        if let Some(gc) = settings.garbage_collector_options.as_mut() {
            gc.boundary_files_enabled = false;
        }
    }
    if let Some(dir) = object_store_cache_dir(config)? {
        settings.object_store_cache_options.root_folder = Some(dir);
        settings.object_store_cache_options.max_cache_size_bytes = config.cache_max_bytes;
    }
    Ok(settings)
}

/// SlateDB's options for a reader described by `config`.
fn reader_options(config: &StoreConfig) -> Result<DbReaderOptions, StoreError> {
    let mut options = DbReaderOptions {
        manifest_poll_interval: config.reader_poll,
        ..DbReaderOptions::default()
    };
    if let Some(dir) = object_store_cache_dir(config)? {
        options.object_store_cache_options.root_folder = Some(dir);
        options.object_store_cache_options.max_cache_size_bytes = config.cache_max_bytes;
    }
    Ok(options)
}

/// The object-store cache directory of `config`, created.
fn object_store_cache_dir(config: &StoreConfig) -> Result<Option<PathBuf>, StoreError> {
    let Some(dir) = &config.cache_dir else {
        return Ok(None);
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        StoreError::Backend(format!("cannot create cache dir {}: {e}", dir.display()))
    })?;
    Ok(Some(dir.clone()))
}

/// Watches the writer for the end of its ownership of the storage: fenced by another writer
/// (SlateDB learns it at its next write or manifest poll, which reads and never writes) or
/// closed by a failed background task. The tracker then fails every wait and every change
/// (see [`Store::lost`]). A clean close is not a loss.
fn watch_for_loss(
    db: &Arc<Db>,
    durability: Arc<DurabilityTracker>,
) -> impl Future<Output = ()> + Send + 'static {
    let mut status = db.subscribe();
    async move {
        loop {
            let reason = status.borrow_and_update().close_reason;
            match reason {
                Some(CloseReason::Fenced) => {
                    durability.stop(StoreError::Fenced);
                    return;
                }
                Some(CloseReason::Panic) => {
                    durability.stop(StoreError::Backend(
                        "a SlateDB background task failed; the database is closed".into(),
                    ));
                    return;
                }
                Some(_) => return,
                None => {}
            }
            if status.changed().await.is_err() {
                return;
            }
        }
    }
}

impl Store {
    /// Opens (or creates) the store described by `config`, as its one writer: a writer that
    /// had it open before is fenced.
    pub async fn open(config: StoreConfig) -> Result<Store, StoreError> {
        let location = match &config.simulated_timing {
            None => locate(&config.url, &config.s3)?,
            Some(timing) => {
                log::warn!(
                    "the object store SIMULATES S3 request times ({timing}) and does not fsync: \
                     for benchmarks only"
                );
                // The simulated PUT time is what a durable write waits for; a local fsync
                // would add the disk's latency to S3's.
                let local = match locate_without_fsync(&config.url)? {
                    Some(l) => l,
                    None => locate(&config.url, &config.s3)?,
                };
                StorageLocation {
                    root: Arc::new(SimulatedObjectStore::new(local.root, timing.clone())),
                    db_path: local.db_path,
                }
            }
        };
        Self::open_at(location, config).await
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
        Self::open_at(StorageLocation::at_top(os), config).await
    }

    /// Opens the database at `location` as its writer.
    async fn open_at(location: StorageLocation, config: StoreConfig) -> Result<Store, StoreError> {
        let settings = writer_settings(&config)?;
        let slatedb_metrics = config.slatedb_metrics;
        let store = Self::start(location, &config, move |os, path| async move {
            let mut builder = Db::builder(path, os)
                .with_settings(settings)
                .with_filter_policies(filters::policies())
                .with_block_cache_policy(block_cache_policy())
                .with_merge_operator(Arc::new(ChunkMergeOperator));
            if slatedb_metrics {
                builder =
                    builder.with_metrics_recorder(crate::metrics::metrics().slatedb_recorder());
            }
            let db = builder.build().await?;
            Ok(DbHandle::Writer(Arc::new(db)))
        })
        .await?;
        if let Some(db) = store.inner.db.writer() {
            let flusher = store
                .inner
                .durability
                .clone()
                .run_flusher(db.clone(), config.flush_interval);
            store.inner.handle.spawn(flusher);
            let watch = watch_for_loss(db, store.inner.durability.clone());
            store.inner.handle.spawn(watch);
        }
        Ok(store)
    }

    /// Opens the storage of `config` read-only, showing `view`: nothing is written to it, so a
    /// server writing it goes on undisturbed. The storage must hold a database. Every write
    /// fails with [`StoreError::ReadOnly`].
    pub async fn open_read_only(
        config: StoreConfig,
        view: ReadOnlyView,
    ) -> Result<Store, StoreError> {
        let location = locate(&config.url, &config.s3)?;
        Self::open_read_only_at(location, config, view).await
    }

    /// [`Store::open_read_only`] on an existing object store.
    pub async fn open_read_only_with_object_store(
        os: Arc<dyn ObjectStore>,
        config: StoreConfig,
        view: ReadOnlyView,
    ) -> Result<Store, StoreError> {
        Self::open_read_only_at(StorageLocation::at_top(os), config, view).await
    }

    async fn open_read_only_at(
        location: StorageLocation,
        config: StoreConfig,
        view: ReadOnlyView,
    ) -> Result<Store, StoreError> {
        let options = reader_options(&config)?;
        Self::start(location, &config, move |os, path| async move {
            let reader = DbReader::builder(path, os)
                .with_options(options)
                .with_filter_policies(filters::policies())
                .with_reader_mode(view.reader_mode())
                .with_merge_operator(Arc::new(ChunkMergeOperator))
                .build()
                .await?;
            Ok(DbHandle::Reader(Arc::new(reader)))
        })
        .await
    }

    /// Starts the storage runtime and opens SlateDB on it with `open`, over `os` wrapped in the
    /// request counters.
    async fn start<F, Fut>(
        location: StorageLocation,
        config: &StoreConfig,
        open: F,
    ) -> Result<Store, StoreError>
    where
        F: FnOnce(Arc<dyn ObjectStore>, Path) -> Fut,
        Fut: Future<Output = Result<DbHandle, slatedb::Error>> + Send + 'static,
    {
        let runtime = build_runtime(config.worker_threads)?;
        let handle = runtime.handle().clone();
        let StorageLocation { root: os, db_path } = location;
        let os = match &config.faults {
            Some(faults) => faults.wrap(os),
            None => os,
        };
        let deadline = Deadline {
            limit: config.object_store_timeout,
        };
        let os: Arc<dyn ObjectStore> = Arc::new(Intercepted::new(os, Arc::new(deadline)));
        let counting = CountingObjectStore::new(os);
        let counters = counting.counters();
        let os: Arc<dyn ObjectStore> = Arc::new(counting);
        let reader_options = reader_options(config)?;
        let opening = open(os.clone(), db_path.clone());
        let (tx, rx) = oneshot::channel();
        handle.spawn(async move {
            let _ = tx.send(opening.await);
        });
        let db = match rx.await {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => {
                runtime.shutdown_background();
                return Err(e.into());
            }
            Err(_) => {
                runtime.shutdown_background();
                return Err(StoreError::RuntimeGone);
            }
        };
        let durability = DurabilityTracker::new(config.wait_limit);
        Ok(Store {
            inner: Arc::new(Inner {
                db,
                handle,
                runtime: Mutex::new(Some(runtime)),
                group: GroupWriter::new(durability.clone()),
                durability,
                counters,
                ops: OpCounters::default(),
                inline_poll: config.inline_poll,
                os,
                db_path,
                reader_options,
                _runtime_owner: None,
            }),
        })
    }

    /// A store over `db`, another view of this store's storage, on this store's runtime.
    pub(super) fn sibling(&self, db: DbHandle) -> Store {
        let durability = DurabilityTracker::new(self.inner.durability.wait_limit());
        Store {
            inner: Arc::new(Inner {
                db,
                handle: self.inner.handle.clone(),
                runtime: Mutex::new(None),
                group: GroupWriter::new(durability.clone()),
                durability,
                counters: self.inner.counters.clone(),
                ops: OpCounters::default(),
                inline_poll: self.inner.inline_poll,
                os: self.inner.os.clone(),
                db_path: self.inner.db_path.clone(),
                reader_options: self.inner.reader_options.clone(),
                _runtime_owner: Some(self.clone()),
            }),
        }
    }

    /// The object store under SlateDB.
    pub(super) fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.inner.os.clone()
    }

    /// The database's path in [`Store::object_store`].
    pub(super) fn db_path(&self) -> Path {
        self.inner.db_path.clone()
    }

    /// How readers of this storage are opened.
    pub(super) fn reader_options(&self) -> DbReaderOptions {
        self.inner.reader_options.clone()
    }

    /// Whether this store was opened read-only ([`Store::open_read_only`]).
    pub fn is_read_only(&self) -> bool {
        self.inner.db.writer().is_none()
    }

    /// Whether a change may start now: `ReadOnly` on a read-only store, `Unavailable` while
    /// the object store stalls, the reason once the store is lost (fenced, failed, closed).
    pub fn check_available(&self) -> Result<(), StoreError> {
        if self.is_read_only() {
            return Err(StoreError::ReadOnly);
        }
        self.inner.durability.check_available()
    }

    /// Why this store can no longer be used, once it cannot: another writer fenced it, a
    /// SlateDB task failed, or it was closed.
    pub fn lost(&self) -> Option<StoreError> {
        self.inner.durability.stopped()
    }

    /// Whether [`Store::lost`] has a reason (cheap).
    pub fn is_lost(&self) -> bool {
        self.inner.durability.has_stopped()
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

    /// [`Store::run`] for a read, which gives up after the wait limit with
    /// [`StoreError::Unavailable`] (dropping a read part way is harmless).
    async fn run_read<F, T>(&self, fut: F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        let limit = self.inner.durability.wait_limit();
        self.run(async move {
            match tokio::time::timeout(limit, fut).await {
                Ok(r) => r,
                Err(_) => Err(StoreError::Unavailable(format!(
                    "a read got no answer from the object store within {limit:?}"
                ))),
            }
        })
        .await
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
        self.run_read(async move { Ok(db.get_with_options(&key, &ReadOptions::default()).await?) })
            .await
    }

    /// Point read of file data (a chunk) that does not fill SlateDB's block cache: the caller
    /// caches file data itself, so the blocks would only push metadata out.
    pub async fn get_data(&self, key: Bytes) -> Result<Option<Bytes>, StoreError> {
        self.count_reads(1, 0);
        let db = self.inner.db.clone();
        self.run_read(async move {
            let opts = ReadOptions {
                cache_blocks: false,
                ..ReadOptions::default()
            };
            Ok(db.get_with_options(&key, &opts).await?)
        })
        .await
    }

    /// Point reads of several keys with one hand-off (run concurrently on the storage runtime).
    pub async fn get_many(&self, keys: Vec<Bytes>) -> Result<Vec<Option<Bytes>>, StoreError> {
        self.count_reads(keys.len() as u64, 0);
        let db = self.inner.db.clone();
        self.run_read(async move {
            // Up to 16 reads in flight: cheap when served from memory, overlapped when they
            // go to the object store.
            use futures::StreamExt;
            let gets = futures::stream::iter(keys.into_iter().map(|k| {
                let db = db.clone();
                async move { db.get_with_options(&k, &ReadOptions::default()).await }
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
        self.scan_with(range, limit, ScanOptions::default()).await
    }

    /// Reads up to `limit` key/value pairs of file data in `range` (consecutive chunks of one
    /// file, about `bytes` in all) without filling SlateDB's block cache: the blocks of the
    /// range are fetched with as few object-store requests as they allow (one ranged GET per
    /// table that holds them), where a plain scan would fetch them one block at a time, one
    /// round trip each. Tables that hold no chunk in the range are skipped by their chunk-range
    /// filter ([`super::filters`]) without a fetch.
    pub async fn scan_data(
        &self,
        range: KeyRange,
        limit: usize,
        bytes: usize,
    ) -> Result<Vec<(Bytes, Bytes)>, StoreError> {
        let options = ScanOptions {
            read_ahead_bytes: bytes.max(1),
            cache_blocks: false,
            ..ScanOptions::default()
        };
        self.scan_with(range, limit, options).await
    }

    async fn scan_with(
        &self,
        range: KeyRange,
        limit: usize,
        options: ScanOptions,
    ) -> Result<Vec<(Bytes, Bytes)>, StoreError> {
        self.count_reads(0, 1);
        let db = self.inner.db.clone();
        self.run_read(async move {
            let mut out = Vec::with_capacity(limit.min(1024));
            if limit == 0 || range.start >= range.end {
                return Ok(out);
            }
            let mut it = db
                .scan_with_options(range.start..range.end, &options)
                .await?;
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

    /// The lane of the calling thread (see [`super::group_write`] for what a lane orders).
    pub fn lane(&self) -> LaneId {
        LaneId::of_this_thread()
    }

    /// Queues `batch` on `lane` without waiting: it is applied after every batch submitted on
    /// that lane before, and `on_applied` runs as soon as it is applied (`true`) or its write
    /// failed (`false`), in that order, even if the caller stops waiting. A caller that holds a
    /// lock only for the order of its writes can let it go once this returns and await
    /// [`Submitted::applied`] after.
    pub fn submit(
        &self,
        lane: LaneId,
        batch: StoreBatch,
        durability: Durability,
        on_applied: Option<AppliedHook>,
    ) -> Submitted {
        let i = &self.inner;
        match i.db.writer() {
            Some(db) => i
                .group
                .submit(&i.handle, db, lane, batch, durability, on_applied),
            None => Submitted::failed(StoreError::ReadOnly, on_applied, i.durability.clone()),
        }
    }

    /// Commits `batch` atomically on this thread's lane and returns once it is as durable as
    /// `durability` asks.
    pub async fn write(&self, batch: StoreBatch, durability: Durability) -> Result<(), StoreError> {
        self.submit(self.lane(), batch, durability, None)
            .applied()
            .await?
            .durable()
            .await
    }

    /// When writes are durable: tickets, flushes, the write verifier, COMMIT.
    pub fn durability(&self) -> &DurabilityTracker {
        &self.inner.durability
    }

    /// Makes every write applied so far durable (concurrent callers share one WAL flush).
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.inner.durability.flush().await
    }

    /// Batches submitted and the SlateDB writes they became (see [`super::group_write`]).
    pub fn group_stats(&self) -> (usize, usize) {
        self.inner.group.stats()
    }

    /// Writes the memtable to an L0 table, so that the next open has no WAL to replay.
    pub async fn flush_memtable(&self) -> Result<(), StoreError> {
        let Some(db) = self.inner.db.writer().cloned() else {
            return Ok(());
        };
        self.run(async move {
            let options = FlushOptions {
                flush_type: FlushType::MemTable,
            };
            Ok(db.flush_with_options(options).await?)
        })
        .await
    }

    /// Flushes and closes the database. Further calls fail with [`StoreError::Closed`].
    pub async fn close(&self) -> Result<(), StoreError> {
        let db = self.inner.db.clone();
        self.run(async move { Ok(db.close().await?) }).await
    }

    /// The writer's SlateDB handle (`None` on a read-only store), for callers that run their
    /// own futures on the storage runtime through [`Store::run`] (benchmarks, tools).
    pub fn db(&self) -> Option<Arc<Db>> {
        self.inner.db.writer().cloned()
    }

    /// The handle reads go through (the writer or the reader).
    pub(crate) fn reads(&self) -> &DbHandle {
        &self.inner.db
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
    use crate::store::keys::{ChunkKey, ChunkKeyLayout, InodeKey};
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
                b.put(
                    ChunkKey(1, i).encode(ChunkKeyLayout::Terminated),
                    Bytes::from(vec![i as u8; 3]),
                );
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
                .get_many(vec![
                    ChunkKey(1, 2).encode(ChunkKeyLayout::Terminated),
                    ChunkKey(9, 9).encode(ChunkKeyLayout::Terminated),
                ])
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
            b.delete(ChunkKey(1, 5).encode(ChunkKeyLayout::Terminated));
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
            let db = s.db().unwrap();
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
