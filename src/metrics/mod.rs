//! What an operator watches: counters, gauges and latency histograms of the whole process, in
//! the Prometheus format (`prometheus-client`, the Prometheus project's Rust client), served by
//! [`http`] when `--metrics-listen` is given.
//!
//! The figures are process-wide, so they live in one static ([`metrics`]); every handle is a
//! cheap atomic (histograms take a short mutex), resolved once, so the hot paths index arrays
//! instead of looking labels up. Figures that another part already counts in its own way
//! (inode and directory cache hits, SlateDB's internals) are read at scrape time.

pub mod http;
mod sampled;
mod slatedb;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use slatedb_common::metrics::DefaultMetricsRecorder;

pub use sampled::SampledValue;

/// NFSv3 procedures by number (RFC 1813), for the `procedure` label.
pub const NFS3_PROCEDURES: [&str; 22] = [
    "null",
    "getattr",
    "setattr",
    "lookup",
    "access",
    "readlink",
    "read",
    "write",
    "create",
    "mkdir",
    "symlink",
    "mknod",
    "remove",
    "rmdir",
    "rename",
    "link",
    "readdir",
    "readdirplus",
    "fsstat",
    "fsinfo",
    "pathconf",
    "commit",
];

/// Kinds of object-store request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreRequest {
    /// A GET (or one range of a ranged GET).
    Get,
    /// A PUT of a write-ahead-log object.
    PutWal,
    /// Any other PUT (tables, manifests), or a part of a multipart upload.
    Put,
    /// A LIST.
    List,
    /// A delete request.
    Delete,
    /// HEAD, copy, rename, multipart completion.
    Other,
}

impl StoreRequest {
    const ALL: [StoreRequest; 6] = [
        StoreRequest::Get,
        StoreRequest::PutWal,
        StoreRequest::Put,
        StoreRequest::List,
        StoreRequest::Delete,
        StoreRequest::Other,
    ];

    fn label(self) -> &'static str {
        match self {
            StoreRequest::Get => "get",
            StoreRequest::PutWal => "put_wal",
            StoreRequest::Put => "put",
            StoreRequest::List => "list",
            StoreRequest::Delete => "delete",
            StoreRequest::Other => "other",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProcedureLabel {
    procedure: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

/// Latency buckets from 50 µs to about 27 s (doubling).
fn latency_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(50e-6, 2.0, 20)
}

/// The NFS service's figures.
pub struct NfsMetrics {
    calls: [Counter; 22],
    failures: [Counter; 22],
    latency: [Histogram; 22],
}

impl NfsMetrics {
    /// A call of NFSv3 procedure `procedure` took `elapsed`; `failed` if it answered an error.
    pub fn call(&self, procedure: u32, elapsed: Duration, failed: bool) {
        let i = procedure as usize;
        if let (Some(c), Some(h)) = (self.calls.get(i), self.latency.get(i)) {
            c.inc();
            h.observe(elapsed.as_secs_f64());
            if failed {
                if let Some(f) = self.failures.get(i) {
                    f.inc();
                }
            }
        }
    }
}

/// The object store's figures.
pub struct StoreMetrics {
    requests: [Counter; 6],
    latency: [Histogram; 6],
    failures: [Counter; 6],
    /// Bytes received by GETs.
    pub read_bytes: Counter,
    /// Bytes sent by PUTs.
    pub written_bytes: Counter,
    /// WAL flushes (each a WAL PUT when anything was buffered) and how long they took.
    pub wal_flushes: Counter,
    /// Of them, flushes nobody waited for: written data had been in memory only for the flush
    /// interval.
    pub wal_timed_flushes: Counter,
    pub wal_flush_latency: Histogram,
    pub wal_flush_failures: Counter,
    /// Operation batches submitted, and the SlateDB writes they became.
    pub group_batches: Counter,
    pub group_writes: Counter,
    /// Bytes written UNSTABLE that no flush has covered yet.
    pub unstable_bytes: Gauge,
}

impl StoreMetrics {
    /// A request of `kind` finished after `elapsed`.
    pub fn request(&self, kind: StoreRequest, elapsed: Duration, ok: bool) {
        let i = kind as usize;
        self.requests[i].inc();
        self.latency[i].observe(elapsed.as_secs_f64());
        if !ok {
            self.failures[i].inc();
        }
    }
}

/// The chunk caches' figures (every core's together).
pub struct ChunkCacheMetrics {
    pub hits: Counter,
    pub misses: Counter,
    /// Chunks read-ahead fetched from the store.
    pub read_ahead_fetched: Counter,
    /// Chunks READs read to their end from what read-ahead fetched (the rest was evicted
    /// unread, dropped by a change, or is still ahead of its reader).
    pub read_ahead_used: Counter,
}

/// The runtime's figures.
pub struct ServerMetrics {
    /// Open connections.
    pub connections: Gauge,
    /// Connections accepted since start.
    pub accepted: Counter,
}

/// Every figure of the process.
pub struct Metrics {
    registry: Mutex<Registry>,
    pub nfs: NfsMetrics,
    pub store: StoreMetrics,
    pub chunk_cache: ChunkCacheMetrics,
    pub server: ServerMetrics,
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

fn counter(registry: &mut Registry, name: &str, help: &str) -> Counter {
    let c = Counter::default();
    registry.register(name, help, c.clone());
    c
}

fn counters<const N: usize>(
    registry: &mut Registry,
    name: &str,
    help: &str,
    kinds: [&'static str; N],
) -> [Counter; N] {
    let family = Family::<KindLabel, Counter>::default();
    registry.register(name, help, family.clone());
    kinds.map(|kind| family.get_or_create(&KindLabel { kind }).clone())
}

fn latency_histograms<const N: usize>(
    registry: &mut Registry,
    name: &str,
    help: &str,
    kinds: [&'static str; N],
) -> [Histogram; N] {
    let family = Family::<KindLabel, Histogram>::new_with_constructor(
        (|| Histogram::new(latency_buckets())) as fn() -> Histogram,
    );
    registry.register(name, help, family.clone());
    kinds.map(|kind| family.get_or_create(&KindLabel { kind }).clone())
}

fn per_procedure<M>(registry: &mut Registry, name: &str, help: &str) -> [M; 22]
where
    M: Clone
        + Default
        + prometheus_client::metrics::TypedMetric
        + prometheus_client::encoding::EncodeMetric
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let family = Family::<ProcedureLabel, M>::default();
    registry.register(name, help, family.clone());
    NFS3_PROCEDURES.map(|procedure| family.get_or_create(&ProcedureLabel { procedure }).clone())
}

impl Metrics {
    fn new() -> Metrics {
        let mut root = Registry::default();
        let r = root.sub_registry_with_prefix("slatenfs");
        let nfs = NfsMetrics {
            calls: per_procedure(r, "nfs_calls", "NFSv3 calls answered"),
            failures: per_procedure(r, "nfs_failures", "NFSv3 calls answered with an error"),
            latency: {
                let family = Family::<ProcedureLabel, Histogram>::new_with_constructor(
                    (|| Histogram::new(latency_buckets())) as fn() -> Histogram,
                );
                r.register(
                    "nfs_call_duration_seconds",
                    "Time from a decoded NFSv3 call to its encoded reply",
                    family.clone(),
                );
                NFS3_PROCEDURES
                    .map(|procedure| family.get_or_create(&ProcedureLabel { procedure }).clone())
            },
        };
        let kinds = StoreRequest::ALL.map(StoreRequest::label);
        let store = StoreMetrics {
            requests: counters(r, "object_store_requests", "Object-store requests", kinds),
            latency: latency_histograms(
                r,
                "object_store_request_duration_seconds",
                "Object-store request time (a GET until its data was received)",
                kinds,
            ),
            failures: counters(
                r,
                "object_store_failures",
                "Object-store requests that failed",
                kinds,
            ),
            read_bytes: counter(
                r,
                "object_store_read_bytes",
                "Bytes received from the object store",
            ),
            written_bytes: counter(
                r,
                "object_store_written_bytes",
                "Bytes sent to the object store",
            ),
            wal_flushes: counter(
                r,
                "wal_flushes",
                "WAL flushes, for durable waits and at the flush interval",
            ),
            wal_timed_flushes: counter(
                r,
                "wal_timed_flushes",
                "WAL flushes nobody waited for: written data had been in memory only for the \
                 flush interval",
            ),
            wal_flush_latency: {
                let h = Histogram::new(latency_buckets());
                r.register(
                    "wal_flush_duration_seconds",
                    "Time of a WAL flush asked for by durable waits",
                    h.clone(),
                );
                h
            },
            wal_flush_failures: counter(r, "wal_flush_failures", "WAL flushes that failed"),
            group_batches: counter(r, "group_write_batches", "Operation batches submitted"),
            group_writes: counter(
                r,
                "group_writes",
                "SlateDB writes the operation batches became (one per group)",
            ),
            unstable_bytes: {
                let g = Gauge::default();
                r.register(
                    "unstable_bytes",
                    "Bytes written UNSTABLE that no completed flush covers yet",
                    g.clone(),
                );
                g
            },
        };
        let chunk_cache = {
            let family = Family::<ResultLabel, Counter>::default();
            r.register(
                "chunk_cache_lookups",
                "Chunk-cache lookups by result (every core)",
                family.clone(),
            );
            let hits = family.get_or_create(&ResultLabel { result: "hit" }).clone();
            let misses = family
                .get_or_create(&ResultLabel { result: "miss" })
                .clone();
            ChunkCacheMetrics {
                hits,
                misses,
                read_ahead_fetched: counter(
                    r,
                    "read_ahead_fetched_chunks",
                    "Chunks read-ahead fetched from the store (every core)",
                ),
                read_ahead_used: counter(
                    r,
                    "read_ahead_used_chunks",
                    "Chunks READs read to their end from what read-ahead fetched (every core)",
                ),
            }
        };
        let server = ServerMetrics {
            connections: {
                let g = Gauge::default();
                r.register("connections", "Open client connections", g.clone());
                g
            },
            accepted: counter(r, "connections_accepted", "Client connections accepted"),
        };
        Metrics {
            registry: Mutex::new(root),
            nfs,
            store,
            chunk_cache,
            server,
        }
    }

    /// Adds figures read at scrape time (e.g. counters another part keeps itself).
    pub fn register_sampled(&self, values: Vec<SampledValue>) {
        self.registry
            .lock()
            .register_collector(Box::new(sampled::Sampled::new(values)));
    }

    /// A recorder to open SlateDB with: its own metrics are then exposed too (`slatedb_*`).
    pub fn slatedb_recorder(&self) -> Arc<DefaultMetricsRecorder> {
        let recorder = Arc::new(DefaultMetricsRecorder::new());
        self.registry
            .lock()
            .register_collector(Box::new(slatedb::SlateDbMetrics::new(recorder.clone())));
        recorder
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock();
        if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}
