//! [`Views`]: the filesystems one server answers for — the live one, the `.snapshot`
//! directory, and each snapshot, opened read-only on first use.
//!
//! A file handle names its view (see [`super::handle`]); every call runs against the view its
//! first handle names. A snapshot's filesystem is a [`Fs`] of its own over a reader of the
//! snapshot's checkpoint, so its inode and directory caches hold only that snapshot's data;
//! its READs skip the core's chunk cache, which holds live data.
//!
//! The list of snapshots is the store's checkpoint list, read again when it is older than
//! [`LIST_TTL`] and a call needs it: a snapshot created or deleted by another process (the
//! command line without a server, a writer seen from a replica) shows within that time, and a
//! handle into a deleted snapshot then answers STALE.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::fs::{Attr, FileType, Fs, FsError, FsOptions, FsResult, InodeId, Timestamp};
use crate::snapshot::{Snapshot, SnapshotCatalog, SnapshotError};

/// How long a listing of the snapshots is trusted.
const LIST_TTL: Duration = Duration::from_secs(2);
/// The fileid of the `.snapshot` directory: out of the range inode numbers are taken from.
pub const SNAPSHOT_DIR_FILEID: u64 = u64::MAX - 1;

/// What a view number names.
#[derive(Clone)]
pub(crate) enum ViewFs {
    Live,
    SnapshotDir,
    Snapshot(Fs),
}

/// The snapshots as last listed, and the ones open.
struct Known {
    listed_at: Option<Instant>,
    snapshots: Vec<Snapshot>,
    /// When the list last changed, as this server saw it: the `.snapshot` directory's mtime,
    /// so that clients drop what they cached of it.
    changed: Timestamp,
    open: HashMap<u32, Fs>,
}

/// The views of one server.
pub struct Views {
    live: Fs,
    catalog: Arc<SnapshotCatalog>,
    known: Mutex<Known>,
    /// One snapshot opened at a time (two calls for the same one open it once).
    opening: tokio::sync::Mutex<()>,
}

/// The filesystem id of snapshot view `view` of the filesystem `live_fsid`: distinct from the
/// live one and from every other view's.
pub fn snapshot_fsid(live_fsid: u64, view: u32) -> u64 {
    live_fsid ^ ((u64::from(view) << 32) | u64::from(view))
}

fn store_failure(e: SnapshotError) -> FsError {
    match e {
        SnapshotError::Store(e) => FsError::Store(e),
        other => FsError::Io(other.to_string()),
    }
}

impl Views {
    /// The views over `live`, whose snapshots `catalog` lists.
    pub fn new(live: Fs, catalog: Arc<SnapshotCatalog>) -> Self {
        let changed = live.created();
        Views {
            live,
            catalog,
            known: Mutex::new(Known {
                listed_at: None,
                snapshots: Vec::new(),
                changed,
                open: HashMap::new(),
            }),
            opening: tokio::sync::Mutex::new(()),
        }
    }

    /// The live filesystem.
    pub fn live(&self) -> &Fs {
        &self.live
    }

    /// The snapshot catalog.
    pub fn catalog(&self) -> &Arc<SnapshotCatalog> {
        &self.catalog
    }

    /// The snapshots, listed again if the last listing is older than [`LIST_TTL`].
    pub async fn snapshots(&self) -> FsResult<Vec<Snapshot>> {
        {
            let k = self.known.lock();
            if k.listed_at.is_some_and(|t| t.elapsed() < LIST_TTL) {
                return Ok(k.snapshots.clone());
            }
        }
        self.refresh().await
    }

    /// Lists the snapshots now (after this server created or deleted one, say); snapshots
    /// that are gone are closed.
    pub async fn refresh(&self) -> FsResult<Vec<Snapshot>> {
        let listed = self.catalog.list().await.map_err(store_failure)?;
        let closed: Vec<Fs> = {
            let mut k = self.known.lock();
            let ids = |v: &[Snapshot]| v.iter().map(|s| s.id).collect::<Vec<_>>();
            if k.listed_at.is_none() {
                k.changed = listed
                    .iter()
                    .map(|s| Timestamp::from(s.created))
                    .max()
                    .unwrap_or(k.changed)
                    .max(k.changed);
            } else if ids(&k.snapshots) != ids(&listed) {
                k.changed = Timestamp::now();
            }
            k.listed_at = Some(Instant::now());
            k.snapshots = listed.clone();
            let gone: Vec<u32> = k
                .open
                .keys()
                .filter(|v| !listed.iter().any(|s| s.view == **v))
                .copied()
                .collect();
            gone.iter().filter_map(|v| k.open.remove(v)).collect()
        };
        for fs in closed {
            if let Err(e) = fs.close().await {
                log::warn!("closing the view of a deleted snapshot: {e}");
            }
        }
        Ok(listed)
    }

    /// What view number `view` names: `Stale` for a snapshot that does not exist (any more).
    pub(crate) async fn resolve(&self, view: u32) -> FsResult<ViewFs> {
        match view {
            crate::snapshot::LIVE_VIEW => Ok(ViewFs::Live),
            crate::snapshot::SNAPSHOT_DIR_VIEW => Ok(ViewFs::SnapshotDir),
            _ => {
                let snapshot = self
                    .snapshots()
                    .await?
                    .into_iter()
                    .find(|s| s.view == view)
                    .ok_or(FsError::Stale)?;
                Ok(ViewFs::Snapshot(self.open(&snapshot).await?))
            }
        }
    }

    /// The snapshot called `name` and its filesystem: `NoEnt` if there is none.
    pub async fn by_name(&self, name: &[u8]) -> FsResult<(Snapshot, Fs)> {
        let snapshot = self
            .snapshots()
            .await?
            .into_iter()
            .find(|s| s.name.as_str().as_bytes() == name)
            .ok_or(FsError::NoEnt)?;
        let fs = self.open(&snapshot).await?;
        Ok((snapshot, fs))
    }

    /// The filesystem of `snapshot`, opened if it is not yet.
    async fn open(&self, snapshot: &Snapshot) -> FsResult<Fs> {
        if let Some(fs) = self.known.lock().open.get(&snapshot.view) {
            return Ok(fs.clone());
        }
        let _one = self.opening.lock().await;
        if let Some(fs) = self.known.lock().open.get(&snapshot.view) {
            return Ok(fs.clone());
        }
        let store = self.live.store().open_checkpoint(snapshot.id).await?;
        let defaults = FsOptions::default();
        let options = FsOptions {
            fsid: Some(snapshot_fsid(self.live.fsid(), snapshot.view)),
            // A snapshot never changes, so its caches never go stale (a replica's live
            // filesystem runs without them).
            inode_cache_entries: defaults.inode_cache_entries,
            dir_cache_entries: defaults.dir_cache_entries,
            ..self.live.options().clone()
        };
        let fs = Fs::open(store, options).await?;
        log::info!(
            "snapshot {} opened (view {:#x}, checkpoint {})",
            snapshot.name,
            snapshot.view,
            snapshot.id
        );
        self.known.lock().open.insert(snapshot.view, fs.clone());
        Ok(fs)
    }

    /// Attributes of the `.snapshot` directory: read-only for everyone, owned by root, changed
    /// when the list of snapshots last changed.
    pub fn snapshot_dir_attr(&self) -> Attr {
        let changed = self.known.lock().changed;
        Attr {
            ftype: FileType::Directory,
            mode: 0o555,
            nlink: 2,
            uid: 0,
            gid: 0,
            size: 4096,
            used: 0,
            rdev: (0, 0),
            fsid: self.live.fsid(),
            fileid: SNAPSHOT_DIR_FILEID,
            atime: changed,
            mtime: changed,
            ctime: changed,
        }
    }

    /// The root directory of the live filesystem.
    pub fn live_root(&self) -> InodeId {
        self.live.root()
    }

    /// Closes every open snapshot.
    pub async fn close(&self) {
        let open: Vec<Fs> = self.known.lock().open.drain().map(|(_, fs)| fs).collect();
        for fs in open {
            if let Err(e) = fs.close().await {
                log::warn!("closing a snapshot: {e}");
            }
        }
    }
}
