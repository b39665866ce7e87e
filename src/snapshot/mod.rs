//! Snapshots: named, read-only, point-in-time states of the filesystem, each a SlateDB
//! checkpoint.
//!
//! The catalog is the checkpoint list in SlateDB's manifest itself, so there is nothing of our
//! own to keep consistent with it: a snapshot exists exactly while its checkpoint does, it
//! survives restarts with the manifest, and every process that reads the storage (the server,
//! a replica, the command line with no server) sees the same list. A checkpoint is one of
//! ours when its name is `slatenfs/snapshot/<kind>/<NAME>`; others (a SlateDB reader's own,
//! say) are left alone.
//!
//! Each snapshot has a view number, carried in the file handles of its files: derived from
//! the checkpoint id, so it is the same after a restart and on every gateway, and a handle
//! into a deleted snapshot names no view and answers STALE.
mod catalog;
pub mod command;
mod name;
pub mod schedule;

pub use catalog::{Snapshot, SnapshotCatalog, SnapshotError, SnapshotKind};
pub use command::SnapshotCommand;
pub use name::SnapshotName;

/// View number of the live filesystem in file handles.
pub const LIVE_VIEW: u32 = 0;
/// View number of the `.snapshot` directory that lists the snapshots.
pub const SNAPSHOT_DIR_VIEW: u32 = 1;
/// The name under which the snapshots are reached from the root.
pub const SNAPSHOT_DIR_NAME: &[u8] = b".snapshot";
