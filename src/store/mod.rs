//! Storage layer: SlateDB on an object store, typed keys, and the runtime bridge.
//!
//! [`Store`] owns the SlateDB handle and a dedicated tokio runtime; its async methods can be
//! awaited from any executor (glommio, tokio, `futures::executor`).

pub mod backend;
mod batch;
pub mod bridge;
mod checkpoints;
pub mod chunk_value;
pub mod deadline;
pub mod durability;
pub mod fault;
pub mod filters;
pub mod group_write;
pub mod intercept;
pub mod keys;
pub mod multi_read;
pub mod preflight;
pub mod simulated;
mod unstable;
mod view;

pub use backend::{
    object_store, CountingObjectStore, IoCounters, IoSnapshot, S3Settings, StorageUrl,
};
pub use batch::StoreBatch;
pub use bridge::{OpStats, Store, StoreConfig};
pub use checkpoints::CheckpointRecord;
pub use durability::{Applied, CommitScope, Durability, DurabilityTracker, WriteTicket};
pub use group_write::{AppliedHook, LaneId, Submitted};
pub use keys::KeyRange;
pub use multi_read::IdKeySpace;
pub use view::ReadOnlyView;

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
    /// The store was opened read-only and cannot take writes.
    #[error("store is open read-only")]
    ReadOnly,
    /// The object store did not answer in time (a read that was not served within the wait
    /// limit, or a change refused while writes stall): nothing was done; try again later.
    #[error("object store unavailable: {0}")]
    Unavailable(String),
    /// A write was applied (and is visible) but not confirmed durable within the wait limit:
    /// it becomes durable once the object store answers again, unless the server stops first.
    #[error("write {0:?} not yet confirmed durable by the object store")]
    NotYetDurable(WriteTicket),
    /// The storage runtime is gone (shut down or panicked).
    #[error("storage runtime is unavailable")]
    RuntimeGone,
    /// An error from SlateDB.
    #[error("slatedb: {0}")]
    Db(slatedb::Error),
}

impl StoreError {
    /// The same error for one more recipient (SlateDB's errors are not `Clone`): every member
    /// of a failed group write, every waiter of a failed flush.
    pub fn shared(&self) -> StoreError {
        match self {
            StoreError::BadUrl(s) => StoreError::BadUrl(s.clone()),
            StoreError::Backend(s) => StoreError::Backend(s.clone()),
            StoreError::Fenced => StoreError::Fenced,
            StoreError::Closed => StoreError::Closed,
            StoreError::ReadOnly => StoreError::ReadOnly,
            StoreError::Unavailable(s) => StoreError::Unavailable(s.clone()),
            StoreError::NotYetDurable(t) => StoreError::NotYetDurable(*t),
            StoreError::RuntimeGone => StoreError::RuntimeGone,
            StoreError::Db(e) => StoreError::Backend(e.to_string()),
        }
    }
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
