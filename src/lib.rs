//! slatenfs: an NFSv3 gateway that stores a POSIX filesystem in SlateDB.
//!
//! Layers, each knowing nothing of the ones above it:
//! - [`proto`]: sans-IO ONC-RPC / XDR / MOUNT / NFSv3 / portmap engine (bytes in, calls out).
//! - [`store`]: SlateDB, its object stores, key encoding, the tokio bridge, and when writes are
//!   durable.
//! - [`fs`]: POSIX filesystem semantics on the store (no sockets, no executor).
//! - [`snapshot`]: named point-in-time snapshots as SlateDB checkpoints: names, catalog,
//!   schedule, the snapshot commands.
//! - [`cache`]: the per-core local chunk cache (io_uring, O_DIRECT files).
//! - [`datapath`]: one core's reads and writes of file data through its chunk cache.
//! - [`exports`]: export rules (exports(5)): who may mount what, with which options.
//! - [`lockmgr`]: the network lock manager (NLM) and status monitor (NSM): byte-range locks
//!   in memory, the clients to notify after a restart in the store.
//! - [`nfs`]: maps decoded NFSv3, MOUNT, portmap/rpcbind, NLM and NSM calls to filesystem,
//!   data-path and lock-manager calls.
//! - [`server`]: the thread-per-core runtime that moves bytes and messages for a service.
//! - [`app`]: the composition root of `slatenfs serve`, wiring the parts above together, and
//!   of `slatenfs snapshot`.
//! - [`admin`]: the local admin channel (a Unix socket) the snapshot commands reach a server by.
//! - [`check`]: `slatenfs fsck`, the consistency check (and repair) for operators.
//! - [`instance_lock`]: one process per cache directory; how `fsck` knows a server runs.
//! - [`config`]: `slatenfs serve` settings from flags and the environment, validated.
//! - [`metrics`]: process-wide counters and histograms, and the Prometheus endpoint.
//! - [`sharded`]: tables cut into independently locked parts, shared by all cores.
//! - [`rate_limited_log`]: log lines that a flood of refusals cannot turn into a flood.
//! - [`netclient`]: a blocking NFSv3/MOUNT client over TCP (load generator, tools, tests).
pub mod admin;
pub mod app;
pub mod cache;
pub mod check;
pub mod config;
pub mod datapath;
pub mod exports;
pub mod fs;
pub mod instance_lock;
pub mod lockmgr;
pub mod metrics;
pub mod netclient;
pub mod nfs;
pub mod proto;
pub mod rate_limited_log;
pub mod server;
pub mod sharded;
pub mod snapshot;
pub mod store;
