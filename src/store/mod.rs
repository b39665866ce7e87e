//! Storage layer: SlateDB on an object store, typed keys, and the runtime bridge.
//!
//! [`Store`] owns the SlateDB handle and a dedicated tokio runtime; its async methods can be
//! awaited from any executor (glommio, tokio, `futures::executor`).

pub mod backend;
pub mod bridge;
pub mod chunk_value;
pub mod group_write;
pub mod keys;
pub mod multi_read;

pub use backend::{
    object_store, CountingObjectStore, IoCounters, IoSnapshot, S3Settings, StorageUrl,
};
pub use bridge::{Durability, OpStats, Store, StoreConfig, SubmittedWrite};
pub use group_write::{AppliedHook, PendingDurability, StoreBatch, WriteTicket};
pub use keys::KeyRange;
pub use multi_read::IdKeySpace;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage URL could not be parsed.
    #[error("bad storage url: {0}")]
    BadUrl(String),
    /// The object store could not be set up.
    #[error("object store: {0}")]
    Backend(String),
    /// Another writer opened the same storage and fenced this one out.
    #[error(
        "fenced: another slatenfs instance opened this storage; this instance can no longer write"
    )]
    Fenced,
    /// The database was closed.
    #[error("store is closed")]
    Closed,
    /// The storage runtime is gone (shut down or panicked).
    #[error("storage runtime is unavailable")]
    RuntimeGone,
    /// An error from SlateDB.
    #[error("slatedb: {0}")]
    Db(slatedb::Error),
}

impl From<slatedb::Error> for StoreError {
    fn from(e: slatedb::Error) -> Self {
        match e.kind() {
            slatedb::ErrorKind::Closed(slatedb::CloseReason::Fenced) => StoreError::Fenced,
            slatedb::ErrorKind::Closed(slatedb::CloseReason::Clean) => StoreError::Closed,
            _ => StoreError::Db(e),
        }
    }
}
