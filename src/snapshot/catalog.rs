//! [`SnapshotCatalog`]: creating, listing and deleting snapshots, as checkpoints of the store.
use std::time::SystemTime;

use thiserror::Error;
use uuid::Uuid;

use super::name::SnapshotName;
use super::{LIVE_VIEW, SNAPSHOT_DIR_VIEW};
use crate::store::{CheckpointRecord, Store, StoreError};

/// Prefix of the checkpoint names of snapshots.
const CHECKPOINT_PREFIX: &str = "slatenfs/snapshot/";
/// Attempts at a checkpoint whose view number no other snapshot has.
const VIEW_ATTEMPTS: usize = 8;

/// Who made a snapshot: the scheduler deletes only its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotKind {
    Manual,
    Automatic,
}

impl SnapshotKind {
    fn tag(self) -> &'static str {
        match self {
            SnapshotKind::Manual => "manual",
            SnapshotKind::Automatic => "auto",
        }
    }
}

/// One snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub name: SnapshotName,
    /// The checkpoint holding it.
    pub id: Uuid,
    /// Its view number in file handles.
    pub view: u32,
    pub created: SystemTime,
    pub kind: SnapshotKind,
    /// The manifest version its checkpoint pins.
    pub manifest_id: u64,
}

/// Why a snapshot command failed.
#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("{0}")]
    BadName(String),
    #[error("a snapshot named {0} already exists (pick another name, or delete it first)")]
    Exists(SnapshotName),
    #[error("no snapshot named {0} (slatenfs snapshot list shows them)")]
    NotFound(String),
    #[error("snapshots can only be created by the server that writes the storage (this one serves it read-only)")]
    ReadOnly,
    #[error("storage: {0}")]
    Store(StoreError),
}

impl From<StoreError> for SnapshotError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ReadOnly => SnapshotError::ReadOnly,
            e => SnapshotError::Store(e),
        }
    }
}

/// The view number of checkpoint `id`: 32 bits of the id, never the live view or the
/// `.snapshot` directory's.
pub fn view_of(id: &Uuid) -> u32 {
    let b = id.as_bytes();
    let v = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    if v == LIVE_VIEW || v == SNAPSHOT_DIR_VIEW {
        // The trailing bits with the top one set, which are neither (and as random).
        u32::from_be_bytes([b[12], b[13], b[14], b[15]]) | 0x8000_0000
    } else {
        v
    }
}

/// The snapshot a checkpoint holds, if it is one of ours.
fn snapshot_of(record: &CheckpointRecord) -> Option<Snapshot> {
    let rest = record.name.as_deref()?.strip_prefix(CHECKPOINT_PREFIX)?;
    let (kind, name) = rest.split_once('/')?;
    let kind = match kind {
        "manual" => SnapshotKind::Manual,
        "auto" => SnapshotKind::Automatic,
        _ => return None,
    };
    Some(Snapshot {
        name: SnapshotName::parse(name).ok()?,
        id: record.id,
        view: view_of(&record.id),
        created: record.created,
        kind,
        manifest_id: record.manifest_id,
    })
}

/// The snapshots of one store.
pub struct SnapshotCatalog {
    store: Store,
    /// One change of the catalog at a time (names are checked for uniqueness, then taken).
    changing: tokio::sync::Mutex<()>,
}

impl SnapshotCatalog {
    pub fn new(store: Store) -> Self {
        SnapshotCatalog {
            store,
            changing: tokio::sync::Mutex::new(()),
        }
    }

    /// The store the snapshots are of.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Every snapshot, oldest first.
    pub async fn list(&self) -> Result<Vec<Snapshot>, SnapshotError> {
        let records = self.store.checkpoints().await?;
        Ok(records.iter().filter_map(snapshot_of).collect())
    }

    /// The snapshot named `name`.
    pub async fn find(&self, name: &str) -> Result<Snapshot, SnapshotError> {
        self.list()
            .await?
            .into_iter()
            .find(|s| s.name.as_str() == name)
            .ok_or_else(|| SnapshotError::NotFound(name.to_string()))
    }

    /// Takes a snapshot named `name` of everything applied so far.
    pub async fn create(
        &self,
        name: &SnapshotName,
        kind: SnapshotKind,
    ) -> Result<Snapshot, SnapshotError> {
        let _one = self.changing.lock().await;
        let existing = self.list().await?;
        if existing.iter().any(|s| &s.name == name) {
            return Err(SnapshotError::Exists(name.clone()));
        }
        let checkpoint_name = format!("{CHECKPOINT_PREFIX}{}/{name}", kind.tag());
        for _ in 0..VIEW_ATTEMPTS {
            let record = self.store.create_checkpoint(&checkpoint_name).await?;
            let snapshot = snapshot_of(&record).ok_or_else(|| {
                SnapshotError::Store(StoreError::Backend(format!(
                    "checkpoint {} does not read back as a snapshot",
                    record.id
                )))
            })?;
            if existing.iter().all(|s| s.view != snapshot.view) {
                return Ok(snapshot);
            }
            // Two snapshots' handles must never be alike: take another checkpoint.
            self.store.delete_checkpoint(record.id).await?;
        }
        Err(SnapshotError::Store(StoreError::Backend(
            "no checkpoint with a view number of its own after several attempts".into(),
        )))
    }

    /// Deletes the snapshot named `name`.
    pub async fn delete(&self, name: &str) -> Result<Snapshot, SnapshotError> {
        let _one = self.changing.lock().await;
        let snapshot = self.find(name).await?;
        self.store.delete_checkpoint(snapshot.id).await?;
        Ok(snapshot)
    }

    /// Bytes of table data each of `snapshots` alone keeps alive in the object store.
    pub async fn exclusive_bytes(&self, snapshots: &[Snapshot]) -> Result<Vec<u64>, SnapshotError> {
        let manifests: Vec<u64> = snapshots.iter().map(|s| s.manifest_id).collect();
        Ok(self.store.exclusive_bytes(&manifests).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: Option<&str>) -> CheckpointRecord {
        CheckpointRecord {
            id: Uuid::from_u128(0x0123_4567_89ab_cdef_0011_2233_4455_6677),
            name: name.map(str::to_string),
            created: SystemTime::UNIX_EPOCH,
            manifest_id: 3,
        }
    }

    #[test]
    fn checkpoint_names_map_to_snapshots() {
        let s = snapshot_of(&record(Some("slatenfs/snapshot/manual/nightly"))).unwrap();
        assert_eq!(
            (s.name.as_str(), s.kind, s.view),
            ("nightly", SnapshotKind::Manual, 0x0123_4567)
        );
        let a = snapshot_of(&record(Some("slatenfs/snapshot/auto/auto-20261203T0600Z"))).unwrap();
        assert_eq!(a.kind, SnapshotKind::Automatic);
        for other in [
            None,
            Some("reader"),
            Some("slatenfs/snapshot/other/x"),
            Some("slatenfs/snapshot/manual/a b"),
            Some("slatenfs/snapshot/manual"),
        ] {
            assert!(snapshot_of(&record(other)).is_none(), "{other:?}");
        }
    }

    #[test]
    fn view_numbers_avoid_the_reserved_ones() {
        for low in [0u128, 1] {
            let id = Uuid::from_u128((low << 96) | 0xffff);
            let v = view_of(&id);
            assert!(v != LIVE_VIEW && v != SNAPSHOT_DIR_VIEW, "{v}");
        }
    }
}
