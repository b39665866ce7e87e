//! SlateDB checkpoints of the store: the pinned states that snapshots are made of.
//!
//! A checkpoint is an entry in SlateDB's manifest naming one manifest version; while it exists
//! SlateDB's garbage collector keeps every table that version references, whatever compaction
//! does afterwards. Creating one on the writer (`CheckpointScope::All`) first flushes the WAL,
//! so it holds every write applied before the call, durable or not. Listing and deleting go
//! through SlateDB's `Admin`, which edits the manifest with a conditional write: they work on
//! a writer, a reader or storage nobody has open, and never fence a writer.
//!
//! A reader of one checkpoint ([`Store::open_checkpoint`]) runs on the storage runtime of the
//! store that opened it and reads through the same object store (and its request counters),
//! so a server with many snapshots open still has one runtime.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use slatedb::admin::Admin;
use slatedb::config::{CheckpointOptions, CheckpointScope};
use slatedb::CloneSourceSpec;
use slatedb::{DbReader, DbReaderMode, VersionedManifest};
use uuid::Uuid;

use super::backend::{clone_path, StorageUrl};
use super::bridge::Store;
use super::chunk_value::ChunkMergeOperator;
use super::view::DbHandle;
use super::StoreError;

/// One checkpoint of the store, as its manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRecord {
    pub id: Uuid,
    /// The name it was created with (slatenfs always names its own).
    pub name: Option<String>,
    pub created: SystemTime,
    /// The manifest version it pins.
    pub manifest_id: u64,
}

fn system_time(secs: i64, nanos: u32) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nanos)
    } else {
        UNIX_EPOCH
    }
}

impl Store {
    fn admin(&self) -> Admin {
        Admin::builder(self.db_path(), self.object_store()).build()
    }

    /// Creates a checkpoint named `name` of everything applied so far (the WAL is flushed
    /// first), and returns it. Only the writer can: a reader gets [`StoreError::ReadOnly`].
    pub async fn create_checkpoint(&self, name: &str) -> Result<CheckpointRecord, StoreError> {
        let db = self.db().ok_or(StoreError::ReadOnly)?;
        let options = CheckpointOptions {
            name: Some(name.to_string()),
            ..CheckpointOptions::default()
        };
        let id = self
            .run(async move {
                let created = db.create_checkpoint(CheckpointScope::All, &options).await?;
                Ok(created.id)
            })
            .await?;
        self.checkpoints()
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| {
                StoreError::Backend(format!("checkpoint {id} was created but is not listed"))
            })
    }

    /// The checkpoints the latest manifest lists, oldest first.
    pub async fn checkpoints(&self) -> Result<Vec<CheckpointRecord>, StoreError> {
        let admin = self.admin();
        let mut list = self
            .run(async move {
                let list = admin.list_checkpoints(None).await?;
                Ok(list
                    .into_iter()
                    .map(|c| CheckpointRecord {
                        id: c.id,
                        name: c.name,
                        created: system_time(
                            c.create_time.timestamp(),
                            c.create_time.timestamp_subsec_nanos(),
                        ),
                        manifest_id: c.manifest_id,
                    })
                    .collect::<Vec<_>>())
            })
            .await?;
        list.sort_by_key(|c| c.created);
        Ok(list)
    }

    /// Deletes checkpoint `id`: the tables only it kept become garbage for the writer's
    /// collector. Deleting one that does not exist is not an error.
    pub async fn delete_checkpoint(&self, id: Uuid) -> Result<(), StoreError> {
        let admin = self.admin();
        self.run(async move { Ok(admin.delete_checkpoint(id).await?) })
            .await
    }

    /// Bytes of tables each of the checkpoints pinning manifest versions `manifests` alone
    /// keeps alive: referenced by its version and by neither the latest manifest nor any other
    /// of them. Estimated from the tables' sizes as the manifests record them; WAL objects are
    /// not counted.
    pub async fn exclusive_bytes(&self, manifests: &[u64]) -> Result<Vec<u64>, StoreError> {
        let admin = self.admin();
        let manifests = manifests.to_vec();
        self.run(async move {
            // Tables by id (the ULID of the table file) with their sizes.
            let tables = |m: &VersionedManifest| {
                let mut t: Vec<(u128, u64)> = m
                    .l0()
                    .iter()
                    .map(|v| (v.sst.id.value().0, v.estimate_size()))
                    .collect();
                for run in m.compacted() {
                    t.extend(
                        run.sst_views()
                            .iter()
                            .map(|v| (v.sst.id.value().0, v.estimate_size())),
                    );
                }
                t
            };
            let latest = admin
                .read_manifest(None)
                .await?
                .map(|m| tables(&m))
                .unwrap_or_default();
            let mut each = Vec::with_capacity(manifests.len());
            for id in &manifests {
                each.push(
                    admin
                        .read_manifest(Some(*id))
                        .await?
                        .map(|m| tables(&m))
                        .unwrap_or_default(),
                );
            }
            let mut sizes = Vec::with_capacity(each.len());
            for (i, mine) in each.iter().enumerate() {
                let mut shared: HashSet<u128> = latest.iter().map(|(id, _)| *id).collect();
                for (j, other) in each.iter().enumerate() {
                    if i != j {
                        shared.extend(other.iter().map(|(id, _)| *id));
                    }
                }
                let alone: HashSet<&u128> = mine
                    .iter()
                    .filter(|(id, _)| !shared.contains(id))
                    .map(|(id, _)| id)
                    .collect();
                let bytes = mine
                    .iter()
                    .filter(|(id, _)| alone.contains(id))
                    .map(|(_, size)| size)
                    .sum();
                sizes.push(bytes);
            }
            Ok(sizes)
        })
        .await
    }

    /// Creates at `destination` (this store's location being `source`) a new database that
    /// starts as checkpoint `id` of this one, without copying its tables: SlateDB records them
    /// as the parent's and pins them with a checkpoint of its own in this database, so the
    /// clone keeps working whatever happens to checkpoint `id` later. The destination must
    /// hold no database yet.
    pub async fn clone_checkpoint(
        &self,
        id: Uuid,
        source: &StorageUrl,
        destination: &StorageUrl,
    ) -> Result<(), StoreError> {
        let path = clone_path(source, destination)?;
        let os = self.object_store();
        let admin = Admin::builder(path.clone(), os.clone()).build();
        let parent = CloneSourceSpec::with_checkpoint(self.db_path(), id);
        let shown = destination.to_string();
        self.run(async move {
            use futures::StreamExt;
            let manifests = path.clone().join("manifest");
            if os.list(Some(&manifests)).next().await.is_some() {
                return Err(StoreError::BadUrl(format!(
                    "{shown} already holds a database: a clone needs an empty location"
                )));
            }
            admin
                .create_clone_builder_from_source(parent)
                .build()
                .await?;
            Ok(())
        })
        .await
    }

    /// A read-only store showing checkpoint `id`, on this store's runtime and object store.
    pub async fn open_checkpoint(&self, id: Uuid) -> Result<Store, StoreError> {
        let (os, path) = (self.object_store(), self.db_path());
        let options = self.reader_options();
        let opening = async move {
            let reader = DbReader::builder(path, os)
                .with_options(options)
                .with_filter_policies(super::filters::policies())
                .with_reader_mode(DbReaderMode::Checkpoint(id))
                .with_merge_operator(Arc::new(ChunkMergeOperator))
                .build()
                .await?;
            Ok(DbHandle::Reader(Arc::new(reader)))
        };
        let db = self.run(opening).await?;
        Ok(self.sibling(db))
    }
}
