//! `slatenfs serve --read-only`: a replica of the filesystem that another server writes on the
//! same storage.
//!
//! The replica reads the storage through a SlateDB `DbReader` that follows the latest durable
//! state ([`ReadOnlyView::Latest`]): every `--replica-poll` it reads the writer's new manifest
//! and WAL objects. It writes nothing to the storage, so it never fences the writer, and any
//! number of replicas can run beside it. Its file handles are the writer's, since they are made
//! from the superblock's fsid and handle secret, which the replica reads; a client can move
//! between gateways. Every change fails with ROFS in [`Fs`] before it does anything.
//!
//! What a replica caches, given that the data changes behind its back:
//! - The inode and directory caches: off. They are kept coherent by the writes of their own
//!   [`Fs`] (writers publish what they commit), and a replica makes none, so a cached inode or
//!   listing would be served stale for as long as it stayed cached. Without them every lookup
//!   is a SlateDB read, which the reader's memtable (the replayed WAL) and block cache mostly
//!   answer from memory.
//! - The per-core chunk cache: kept. With no inode cache every READ loads the file's inode from
//!   the store, and the chunk cache drops a file's chunks whenever the ctime so read differs
//!   from the one they were cached for (`CoherentCache::validate`). Every change of a file's
//!   data sets its ctime, so once the replica has seen a change, no chunk from before it is
//!   served. (A READ that races the replica's move to a newer state can pair the older
//!   attributes with the newer bytes, as an uncached READ can.)
//! - SlateDB's block cache holds blocks of immutable tables: always valid.
//!
//! No lock manager: NLM/NSM keep their records in the store, which a replica cannot write, and
//! locks granted by one gateway would mean nothing to the clients of another.

use futures::executor::block_on;
use log::info;

use crate::config::ServeConfig;
use crate::fs::inode::Superblock;
use crate::fs::{Fs, FsOptions};
use crate::store::keys::SuperblockKey;
use crate::store::{ReadOnlyView, StorageUrl, Store, StoreConfig};

use super::AppError;

/// Logged instead of starting the lock manager.
pub(super) const NO_LOCK_MANAGER: &str =
    "no lock manager on a read-only replica: clients must mount with nolock";

/// Opens the storage of `store_config` as a follower of its writer, and the filesystem in it
/// with the caches a replica can keep correct (see the module docs). The storage must hold a
/// filesystem already: a replica formats nothing.
pub(super) fn open(
    store_config: StoreConfig,
    fs_options: FsOptions,
    config: &ServeConfig,
) -> Result<(Store, Fs), AppError> {
    let storage = &config.storage;
    let no_filesystem = |e: String| {
        AppError::Storage(format!(
            "--read-only: cannot follow {storage}: {e} (a replica serves the filesystem another \
             server writes: start `slatenfs serve` without --read-only on this storage first, \
             or check --storage)"
        ))
    };
    let store_config = StoreConfig {
        reader_poll: config.replica_poll,
        ..store_config
    };
    let store = block_on(Store::open_read_only(store_config, ReadOnlyView::Latest))
        .map_err(|e| no_filesystem(e.to_string()))?;
    let fs = block_on(Fs::open(store.clone(), replica_fs_options(fs_options)))
        .map_err(|e| no_filesystem(e.to_string()))?;
    check_handles_are_the_writers(&store, storage)?;
    info!(
        "read-only replica of filesystem {:#x} on {storage}: follows its writer, looking for \
         new writes every {:?}; changes are answered NFS3ERR_ROFS",
        fs.fsid(),
        config.replica_poll
    );
    Ok((store, fs))
}

/// Fails unless the superblock holds the handle secret. One of format 2 has none (a writer of an
/// older version serves it; the current one adds it when it opens the filesystem): a read-only
/// [`Fs`] then makes one up for as long as it runs, and its handles would be valid on no other
/// gateway.
pub fn check_handles_are_the_writers(store: &Store, storage: &StorageUrl) -> Result<(), AppError> {
    let superblock = block_on(store.get(SuperblockKey.encode()))
        .map_err(|e| AppError::Storage(e.to_string()))?
        .map(|v| Superblock::decode(&v))
        .transpose()
        .map_err(|e| AppError::Storage(e.to_string()))?;
    match superblock {
        Some(sb) if sb.handle_secret.is_some() => Ok(()),
        _ => Err(AppError::Storage(format!(
            "--read-only: the filesystem on {storage} has no handle secret yet (format 2), so a \
             replica's file handles would differ from its writer's: start the writer with this \
             version of slatenfs once, then the replica"
        ))),
    }
}

/// `base` with the caches that only the filesystem's own writes keep coherent turned off.
pub fn replica_fs_options(base: FsOptions) -> FsOptions {
    FsOptions {
        inode_cache_entries: 0,
        dir_cache_entries: 0,
        ..base
    }
}
