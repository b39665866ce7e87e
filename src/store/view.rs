//! What a [`super::Store`] reads through: the writable SlateDB `Db`, or a read-only `DbReader`
//! over the same storage.
//!
//! A read-only store is how the filesystem is looked at without owning it: `slatenfs fsck`
//! beside (or instead of) a server, and snapshots and replicas, which serve a filesystem over a
//! pinned checkpoint. Opening a `Db` would fence the server that writes the storage; a
//! `DbReader` never writes to it (in the modes used here), so it can look while the writer
//! goes on. The store only ever reads with a point get and a range scan, and both types answer
//! those (SlateDB's `DbReadOps`); the enum keeps that seam to those two calls.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use slatedb::config::ReadOptions;
use slatedb::{Db, DbIterator, DbReader, DbReaderMode};
use uuid::Uuid;

/// The state a read-only store shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOnlyView {
    /// The latest durable state (what the writer's WAL and manifest hold when the store is
    /// opened, and later states as the reader polls). Writes nothing to the storage, and so
    /// takes no checkpoint: a live writer's garbage collection may remove tables it still
    /// reads, which then fail with an I/O error.
    Latest,
    /// The state captured by the checkpoint with this id, pinned: it does not move, and the
    /// writer keeps what it references.
    Checkpoint(Uuid),
}

impl ReadOnlyView {
    pub(crate) fn reader_mode(self) -> DbReaderMode {
        match self {
            ReadOnlyView::Latest => DbReaderMode::FollowLatest,
            ReadOnlyView::Checkpoint(id) => DbReaderMode::Checkpoint(id),
        }
    }
}

/// The SlateDB handle a store reads through.
#[derive(Clone)]
pub(crate) enum DbHandle {
    /// The one writer of the storage.
    Writer(Arc<Db>),
    /// A reader of its durable state.
    Reader(Arc<DbReader>),
}

impl DbHandle {
    /// The writer, if this store may write.
    pub(crate) fn writer(&self) -> Option<&Arc<Db>> {
        match self {
            DbHandle::Writer(db) => Some(db),
            DbHandle::Reader(_) => None,
        }
    }

    /// Point read.
    pub(crate) async fn get_with_options(
        &self,
        key: &[u8],
        options: &ReadOptions,
    ) -> Result<Option<Bytes>, slatedb::Error> {
        match self {
            DbHandle::Writer(db) => db.get_with_options(key, options).await,
            DbHandle::Reader(r) => r.get_with_options(key, options).await,
        }
    }

    /// Range scan in key order.
    pub(crate) async fn scan(&self, range: Range<Bytes>) -> Result<DbIterator, slatedb::Error> {
        match self {
            DbHandle::Writer(db) => db.scan(range).await,
            DbHandle::Reader(r) => r.scan(range).await,
        }
    }

    /// Closes the writer (flushing what it holds) or stops the reader's polling.
    pub(crate) async fn close(&self) -> Result<(), slatedb::Error> {
        match self {
            DbHandle::Writer(db) => db.close().await,
            DbHandle::Reader(r) => r.close().await,
        }
    }
}
