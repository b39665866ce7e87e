//! slatenfs: an NFSv3 gateway that stores a POSIX filesystem in SlateDB.
//!
//! Layers, each knowing nothing of the ones above it:
//! - [`config`]: `slatenfs serve` settings from flags and the environment, validated.
//! - [`cache`]: the per-core local chunk cache (io_uring, O_DIRECT files).
//! - [`proto`]: sans-IO ONC-RPC / XDR / MOUNT / NFSv3 / portmap engine (bytes in, calls out).
//! - [`store`]: SlateDB, its object stores, key encoding and the tokio bridge.
//! - [`fs`]: POSIX filesystem semantics on the store (no sockets).
//! - [`nfs`]: maps decoded NFSv3 calls to filesystem operations and back.
//! - [`server`]: the thread-per-core runtime that moves bytes and messages.
//! - [`sharded`]: tables cut into independently locked parts, shared by all cores.
//! - [`netclient`]: a blocking NFSv3/MOUNT client over TCP (load generator, tools, tests).
pub mod cache;
pub mod config;
pub mod fs;
pub mod netclient;
pub mod nfs;
pub mod proto;
pub mod server;
pub mod sharded;
pub mod store;
