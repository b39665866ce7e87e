//! [`Fs`]: opening, shared helpers, and attribute operations.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use super::batch::{DirChange, FsBatch};
use super::dir_cache::{DirCache, NameLookup};
use super::error::{FsError, FsResult};
use super::inode::{decode_u64, DirentValue, Inode, Superblock, FORMAT_VERSION, HANDLE_SECRET_LEN};
use super::inode_cache::InodeCache;
use super::locks::{LockSet, LockTable};
use super::options::FsOptions;
use super::perm::{self, S_ISGID, S_ISUID};
use super::types::*;
use super::write_pipeline::WritePipeline;
use crate::store::keys::{
    AllocKey, ChunkKey, ChunkKeyLayout, DirEntryKey, InodeKey, KeyRange, SuperblockKey,
};
use crate::store::{Applied, Durability, LaneId, Store, StoreBatch, StoreError, Submitted};

pub(crate) struct FsInner {
    pub(crate) store: Store,
    pub(crate) opts: FsOptions,
    pub(crate) fsid: u64,
    pub(crate) locks: LockTable,
    /// Decoded inodes, kept coherent by [`Fs::commit_batch`] (see [`InodeCache`]).
    pub(crate) inodes: InodeCache,
    /// Complete directory listings, kept coherent the same way (see [`DirCache`]).
    pub(crate) dirs: DirCache,
    /// Files whose WRITEs are queued but not yet applied (see [`WritePipeline`]).
    pub(crate) pipeline: WritePipeline,
    /// Serialises directory renames across directories (like Linux's s_vfs_rename_mutex), so
    /// the "not into its own subtree" walk sees stable parent pointers.
    pub(crate) rename_lock: tokio::sync::Mutex<()>,
    /// (next id, end of reserved block).
    alloc: tokio::sync::Mutex<(u64, u64)>,
    pub(crate) files_used: AtomicI64,
    pub(crate) bytes_used: AtomicI64,
    pub(crate) reclaim_running: AtomicBool,
    created: Timestamp,
    handle_secret: [u8; HANDLE_SECRET_LEN],
    /// How this filesystem spells its chunk keys (from its format).
    chunk_keys: ChunkKeyLayout,
}

/// The filesystem. Cheap to clone; `Send + Sync`; operations may run concurrently.
#[derive(Clone)]
pub struct Fs {
    pub(crate) inner: Arc<FsInner>,
}

impl std::fmt::Debug for Fs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fs")
            .field("fsid", &self.inner.fsid)
            .finish_non_exhaustive()
    }
}

/// A fresh handle secret from the operating system's random source.
fn new_handle_secret() -> FsResult<[u8; HANDLE_SECRET_LEN]> {
    let mut secret = [0u8; HANDLE_SECRET_LEN];
    getrandom::fill(&mut secret)
        .map_err(|e| FsError::ServerFault(format!("no random bytes for the handle secret: {e}")))?;
    Ok(secret)
}

pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let now = Timestamp::now();
    h.write_i64(now.secs);
    h.write_u32(now.nanos);
    h.write_u32(std::process::id());
    h.finish()
}

/// How a name in a directory operation is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameKind {
    Dot,
    DotDot,
    Normal,
}

/// Validates a name: 1..=255 bytes, no `/` or NUL.
pub(crate) fn check_name(name: &[u8]) -> FsResult<NameKind> {
    if name.is_empty() {
        return Err(FsError::Inval);
    }
    if name.len() > NAME_MAX {
        return Err(FsError::NameTooLong);
    }
    if name.contains(&b'/') || name.contains(&0) {
        return Err(FsError::Inval);
    }
    Ok(match name {
        b"." => NameKind::Dot,
        b".." => NameKind::DotDot,
        _ => NameKind::Normal,
    })
}

impl Fs {
    /// Opens the filesystem in `store`, formatting it (superblock and root directory) on first
    /// use. Pending reclaim work is processed before returning.
    ///
    /// On a read-only store ([`Store::open_read_only`]) nothing is formatted or reclaimed: the
    /// storage must hold a filesystem, and every operation that would change it fails with
    /// [`FsError::RoFs`] before doing anything.
    pub async fn open(store: Store, opts: FsOptions) -> FsResult<Fs> {
        let read_only = store.is_read_only();
        let sb = match store.get(SuperblockKey.encode()).await? {
            Some(v) => Superblock::decode(&v)?,
            None if read_only => {
                return Err(FsError::Io(
                    "the storage holds no slatenfs filesystem (no superblock)".into(),
                ))
            }
            None => Self::format(&store, &opts).await?,
        };
        let (sb, handle_secret) = match sb.handle_secret {
            Some(secret) => (sb, secret),
            // A read-only view of a format 2 store cannot be upgraded: it gets a secret of its
            // own for as long as it is open (it serves no handles that must outlive it).
            None if read_only => (sb, new_handle_secret()?),
            None => Self::add_handle_secret(&store, sb).await?,
        };
        let fsid = opts.fsid.unwrap_or(sb.fsid);
        let fs = Fs {
            inner: Arc::new(FsInner {
                store,
                inodes: InodeCache::new(opts.inode_cache_entries),
                dirs: DirCache::new(opts.dir_cache_entries),
                pipeline: WritePipeline::default(),
                opts,
                fsid,
                locks: LockTable::new(),
                rename_lock: tokio::sync::Mutex::new(()),
                alloc: tokio::sync::Mutex::new((0, 0)),
                files_used: AtomicI64::new(sb.files_used as i64),
                bytes_used: AtomicI64::new(sb.bytes_used as i64),
                reclaim_running: AtomicBool::new(false),
                created: sb.created,
                handle_secret,
                chunk_keys: sb.chunk_key_layout(),
            }),
        };
        if !read_only {
            fs.reclaim_pending().await?;
        }
        Ok(fs)
    }

    /// Whether this filesystem is served from a read-only store.
    pub fn is_read_only(&self) -> bool {
        self.inner.store.is_read_only()
    }

    /// The first thing every changing operation checks: `RoFs` on a read-only filesystem;
    /// while the object store stalls, `Unavailable` (JUKEBOX: nothing is started that could not
    /// be made durable); once the store is lost (fenced), why.
    pub(crate) fn check_writable(&self) -> FsResult<()> {
        match self.inner.store.check_available() {
            Ok(()) => Ok(()),
            Err(StoreError::ReadOnly) => Err(FsError::RoFs),
            Err(e) => Err(FsError::Store(e)),
        }
    }

    async fn format(store: &Store, opts: &FsOptions) -> FsResult<Superblock> {
        let now = Timestamp::now();
        let mut fsid = random_u64();
        if fsid == 0 {
            fsid = 1;
        }
        let sb = Superblock {
            format: FORMAT_VERSION,
            fsid,
            created: now,
            files_used: 1,
            bytes_used: 0,
            handle_secret: Some(new_handle_secret()?),
        };
        let mut root = Inode::new(
            ROOT_INODE.0,
            FileType::Directory,
            opts.root_mode,
            opts.root_uid,
            opts.root_gid,
            now,
        );
        root.parent = ROOT_INODE.0;
        let mut b = StoreBatch::new();
        b.put(SuperblockKey.encode(), sb.encode());
        b.put(InodeKey(ROOT_INODE.0).encode(), root.encode());
        b.put(
            AllocKey(opts.alloc_slot).encode(),
            Bytes::copy_from_slice(&(ROOT_INODE.0 + 1).to_be_bytes()),
        );
        store.write(b, Durability::Durable).await?;
        Ok(sb)
    }

    /// Upgrades a superblock of format 2 to format 3 by giving it a handle secret, in one
    /// durable write of the superblock alone.
    async fn add_handle_secret(
        store: &Store,
        sb: Superblock,
    ) -> FsResult<(Superblock, [u8; HANDLE_SECRET_LEN])> {
        let secret = new_handle_secret()?;
        let sb = sb.with_handle_secret(secret);
        let mut b = StoreBatch::new();
        b.put(SuperblockKey.encode(), sb.encode());
        store.write(b, Durability::Durable).await?;
        log::info!(
            "filesystem {:#x}: upgraded to format {} (file handles are now authenticated; \
             clients must remount)",
            sb.fsid,
            sb.format
        );
        Ok((sb, secret))
    }

    /// Gives the filesystem a new fsid and handle secret, in one durable write of the
    /// superblock: a clone is another filesystem, and a handle of its parent must not name
    /// one of its files (their inode numbers part ways at once). Takes effect at the next
    /// open. Returns the new fsid.
    pub async fn assign_new_identity(&self) -> FsResult<u64> {
        self.check_writable()?;
        let sb = match self.inner.store.get(SuperblockKey.encode()).await? {
            Some(v) => Superblock::decode(&v)?,
            None => return Err(FsError::Io("the filesystem has no superblock".into())),
        };
        let mut fsid = random_u64();
        while fsid == 0 || fsid == sb.fsid {
            fsid = random_u64();
        }
        let sb = Superblock { fsid, ..sb }.with_handle_secret(new_handle_secret()?);
        let mut b = StoreBatch::new();
        b.put(SuperblockKey.encode(), sb.encode());
        self.inner.store.write(b, Durability::Durable).await?;
        Ok(fsid)
    }

    /// The key of chunk `index` of `ino`, in this filesystem's layout.
    pub(crate) fn chunk_key(&self, ino: u64, index: u64) -> Bytes {
        ChunkKey(ino, index).encode(self.inner.chunk_keys)
    }

    /// The keys of chunks `first..=last` of `ino`, in this filesystem's layout.
    pub(crate) fn chunk_span(&self, ino: u64, first: u64, last: u64) -> KeyRange {
        ChunkKey::span(self.inner.chunk_keys, ino, first, last)
    }

    /// How this filesystem spells its chunk keys.
    pub fn chunk_key_layout(&self) -> ChunkKeyLayout {
        self.inner.chunk_keys
    }

    /// The underlying store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The options in force.
    pub fn options(&self) -> &FsOptions {
        &self.inner.opts
    }

    /// The filesystem id (in handles and attributes).
    pub fn fsid(&self) -> u64 {
        self.inner.fsid
    }

    /// The root directory.
    pub fn root(&self) -> InodeId {
        ROOT_INODE
    }

    /// Credentials of an AUTH_NONE caller.
    pub fn anonymous(&self) -> Credentials {
        self.inner.opts.anonymous()
    }

    /// The current write verifier (see [`crate::store::durability`] for when it changes).
    pub fn verifier(&self) -> [u8; 8] {
        self.inner.store.durability().verifier()
    }

    /// The key that authenticates this filesystem's file handles (kept in the superblock, so
    /// handles stay valid across restarts).
    pub fn handle_secret(&self) -> &[u8; HANDLE_SECRET_LEN] {
        &self.inner.handle_secret
    }

    /// The root directory as an object.
    pub async fn root_object(&self) -> FsResult<ObjectId> {
        let root = self.load(ROOT_INODE).await?;
        Ok(ObjectId {
            ino: ROOT_INODE,
            generation: root.generation,
        })
    }

    /// Checks that `id` still names a live object: the inode exists with that generation
    /// (from the inode cache when it is there). `Stale` otherwise.
    pub async fn resolve(&self, id: ObjectId) -> FsResult<InodeId> {
        let node = self.load(id.ino).await?;
        if node.generation != id.generation {
            return Err(FsError::Stale);
        }
        Ok(id.ino)
    }

    pub(crate) fn attr_of(&self, node: &Inode) -> Attr {
        node.attr(self.inner.fsid)
    }

    /// Reads an inode; a missing one is `Stale`.
    pub(crate) async fn load(&self, ino: InodeId) -> FsResult<Inode> {
        match self.try_load(ino.0).await? {
            Some(n) => Ok(n),
            None => Err(FsError::Stale),
        }
    }

    pub(crate) async fn try_load(&self, ino: u64) -> FsResult<Option<Inode>> {
        let cache = &self.inner.inodes;
        if let Some(n) = cache.get(ino) {
            return Ok(Some(n));
        }
        let ticket = cache.ticket(ino);
        match self.inner.store.get(InodeKey(ino).encode()).await? {
            Some(v) => {
                let n = Inode::decode(ino, &v)?;
                cache.fill(ticket, &n);
                Ok(Some(n))
            }
            None => Ok(None),
        }
    }

    /// Inodes `inos` (in that order; `None` for missing ones): from the inode cache where
    /// present, the rest from the store in as few range reads as their ids allow.
    pub(crate) async fn load_many(&self, inos: &[u64]) -> FsResult<Vec<Option<Inode>>> {
        let cache = &self.inner.inodes;
        let mut out: Vec<Option<Inode>> = inos.iter().map(|&i| cache.get(i)).collect();
        let missing: Vec<(usize, u64)> = out
            .iter()
            .zip(inos)
            .enumerate()
            .filter(|(_, (n, _))| n.is_none())
            .map(|(at, (_, &ino))| (at, ino))
            .collect();
        if missing.is_empty() {
            return Ok(out);
        }
        let ids: Vec<u64> = missing.iter().map(|&(_, ino)| ino).collect();
        let tickets: Vec<_> = ids.iter().map(|&ino| cache.ticket(ino)).collect();
        let values = self
            .inner
            .store
            .get_ids(
                crate::store::IdKeySpace {
                    tag: crate::store::keys::TAG_INODE,
                },
                &ids,
            )
            .await?;
        for ((&(at, ino), ticket), v) in missing.iter().zip(tickets).zip(values) {
            if let Some(v) = v {
                let n = Inode::decode(ino, &v)?;
                cache.fill(ticket, &n);
                if let Some(slot) = out.get_mut(at) {
                    *slot = Some(n);
                }
            }
        }
        Ok(out)
    }

    /// The inode cache's counters.
    pub fn inode_cache_stats(&self) -> super::inode_cache::InodeCacheStats {
        self.inner.inodes.stats()
    }

    /// The directory cache's counters.
    pub fn dir_cache_stats(&self) -> super::dir_cache::DirCacheStats {
        self.inner.dirs.stats()
    }

    pub(crate) async fn dirent(&self, dir: u64, name: &Bytes) -> FsResult<Option<DirentValue>> {
        match self.inner.dirs.lookup(dir, name) {
            NameLookup::Found(v) => return Ok(Some(v)),
            NameLookup::Absent => return Ok(None),
            NameLookup::Unknown => {}
        }
        match self
            .inner
            .store
            .get(DirEntryKey(dir, name.clone()).encode())
            .await?
        {
            Some(v) => Ok(Some(DirentValue::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Locks `inos` for a change of their inodes, and waits until none of them has a queued
    /// WRITE still to apply (see [`WritePipeline`]): whatever the caller then reads of them
    /// is their latest version, and its batch cannot overtake theirs.
    pub(crate) async fn lock_inodes(&self, inos: &[u64]) -> LockSet<'_> {
        let guard = self.inner.locks.lock(inos).await;
        self.wait_writes_applied(inos).await;
        guard
    }

    /// Waits until none of `inos` (locked by the caller) has a queued WRITE still to apply.
    async fn wait_writes_applied(&self, inos: &[u64]) {
        for &ino in inos {
            self.inner.pipeline.wait_idle(ino).await;
        }
    }

    /// Locks `fixed` plus the current targets of `names`, re-checking after locking that the
    /// names still point where they did (retrying otherwise). Returns the entries found.
    pub(crate) async fn lock_entries(
        &self,
        fixed: &[u64],
        names: &[(u64, &Bytes)],
    ) -> FsResult<(LockSet<'_>, Vec<Option<DirentValue>>)> {
        // Fast path: when every name lives in a directory of `fixed`, no entry can change once
        // `fixed` is locked (changing an entry needs its directory's lock), so the names are
        // read once and their targets added without waiting. If a target is busy, fall back.
        if names.iter().all(|(dir, _)| fixed.contains(dir)) {
            let mut guard = self.lock_inodes(fixed).await;
            let mut now = Vec::with_capacity(names.len());
            for (dir, name) in names {
                now.push(self.dirent(*dir, name).await?);
            }
            let targets: Vec<u64> = now.iter().flatten().map(|d| d.ino.0).collect();
            if self.inner.locks.try_lock_more(&mut guard, &targets) {
                self.wait_writes_applied(&targets).await;
                return Ok((guard, now));
            }
        }
        loop {
            let mut pre = Vec::with_capacity(names.len());
            for (dir, name) in names {
                pre.push(self.dirent(*dir, name).await?);
            }
            let mut inos: Vec<u64> = fixed.to_vec();
            inos.extend(pre.iter().flatten().map(|d| d.ino.0));
            let guard = self.lock_inodes(&inos).await;
            let mut now = Vec::with_capacity(names.len());
            for (dir, name) in names {
                now.push(self.dirent(*dir, name).await?);
            }
            let same = pre
                .iter()
                .zip(now.iter())
                .all(|(a, b)| a.map(|d| d.ino) == b.map(|d| d.ino));
            if same {
                return Ok((guard, now));
            }
        }
    }

    pub(crate) fn meta_durability(&self) -> Durability {
        if self.inner.opts.async_metadata {
            Durability::Memory
        } else {
            Durability::Durable
        }
    }

    /// The one way a filesystem operation writes: queues `batch` on `lane` and, once SlateDB
    /// applied it, publishes the inode records and directory entries it wrote to the inode and
    /// directory caches, in the lane's order (see [`FsBatch`]). The caller holds the locks of
    /// those inodes and directories until the batch is applied (or, for a WRITE, queued: see
    /// [`WritePipeline`]). A failed write forgets what it touched (its latest version is not
    /// known); the store changes the write verifier.
    pub(crate) fn submit(&self, lane: LaneId, batch: FsBatch, durability: Durability) -> Submitted {
        let FsBatch {
            store,
            inodes,
            dirs,
            queued_write,
        } = batch;
        if let Some(node) = &queued_write {
            self.inner.pipeline.queued(node, lane);
        }
        let inner = self.inner.clone();
        let publish = Box::new(move |applied: bool| {
            let (cache, dir_cache) = (&inner.inodes, &inner.dirs);
            if applied {
                for (ino, node) in inodes {
                    match node {
                        Some(n) => cache.publish(&n),
                        None => cache.remove(ino),
                    }
                }
                for change in dirs {
                    match change {
                        DirChange::Put(dir, name, v) => dir_cache.publish_put(dir, &name, v),
                        DirChange::Delete(dir, name) => dir_cache.publish_delete(dir, &name),
                        DirChange::NewDir(dir) => dir_cache.publish_new_dir(dir),
                        DirChange::Gone(dir) => dir_cache.forget(dir),
                    }
                }
            } else {
                for (ino, _) in inodes {
                    cache.remove(ino);
                }
                for change in dirs {
                    dir_cache.forget(change.dir());
                }
            }
            if let Some(node) = queued_write {
                inner.pipeline.applied(node.ino);
            }
        });
        self.inner
            .store
            .submit(lane, store, durability, Some(publish))
    }

    /// Commits `batch` on this thread's lane and returns once it is applied and published (see
    /// [`Fs::submit`]), with its durability still to be awaited: callers release their locks
    /// first, so that operations queued behind them share the next WAL flush.
    pub(crate) async fn commit_batch(
        &self,
        batch: FsBatch,
        durability: Durability,
    ) -> FsResult<Applied> {
        let lane = self.inner.store.lane();
        Ok(self.submit(lane, batch, durability).applied().await?)
    }

    /// Allocates a fresh inode id (never reused). Ids come from blocks reserved in the store.
    pub(crate) async fn alloc_ino(&self) -> FsResult<u64> {
        let mut a = self.inner.alloc.lock().await;
        if a.0 >= a.1 {
            let key = AllocKey(self.inner.opts.alloc_slot).encode();
            let next = match self.inner.store.get(key.clone()).await? {
                Some(v) => decode_u64(&v)?,
                None => ROOT_INODE.0 + 1,
            };
            let block = self.inner.opts.alloc_block.max(1);
            let end = next
                .checked_add(block)
                .ok_or_else(|| FsError::ServerFault("inode ids exhausted".into()))?;
            let mut b = StoreBatch::new();
            b.put(key, Bytes::copy_from_slice(&end.to_be_bytes()));
            // Ordered before any use of the ids in the WAL, so durability of later writes
            // implies durability of the reservation; wait anyway (rare). If the wait gives up,
            // the operation that needed an id has changed nothing yet: it is unavailable, not
            // "applied but not yet durable".
            self.inner
                .store
                .write(b, Durability::Durable)
                .await
                .map_err(|e| match e {
                    StoreError::NotYetDurable(_) => StoreError::Unavailable(e.to_string()),
                    e => e,
                })?;
            *a = (next, end);
        }
        let id = a.0;
        a.0 += 1;
        Ok(id)
    }

    /// GETATTR.
    pub async fn getattr(&self, ino: InodeId) -> FsResult<Attr> {
        Ok(self.attr_of(&self.load(ino).await?))
    }

    /// SETATTR, with an optional ctime guard (`NotSync` if it does not match).
    pub async fn setattr(
        &self,
        cred: &Credentials,
        ino: InodeId,
        sa: &SetAttr,
        guard: Option<Timestamp>,
    ) -> FsResult<Wcc> {
        self.check_writable()?;
        let _l = self.lock_inodes(&[ino.0]).await;
        let mut node = self.load(ino).await?;
        let before = self.attr_of(&node).wcc();
        if let Some(g) = guard {
            if g != node.ctime {
                return Err(FsError::NotSync);
            }
        }
        let mut batch = FsBatch::new();
        let deferred = self
            .apply_setattr(cred, &mut node, sa, &mut batch, Timestamp::now())
            .await?;
        batch.put_inode(&node);
        let committed = self.commit_batch(batch, self.meta_durability()).await?;
        if deferred {
            // Reclaim runs under the inode lock, so it waits for durability here.
            committed.durable().await?;
            self.reclaim_inode_locked(node.ino).await?;
        } else {
            drop(_l);
            committed.durable().await?;
        }
        Ok(Wcc {
            before: Some(before),
            after: Some(self.attr_of(&node)),
        })
    }

    /// Checks and applies `sa` to `node` (adding chunk trims/deletes to `batch`).
    /// Returns whether a truncate left chunks for [`Fs::reclaim_inode_locked`].
    pub(crate) async fn apply_setattr(
        &self,
        cred: &Credentials,
        node: &mut Inode,
        sa: &SetAttr,
        batch: &mut FsBatch,
        now: Timestamp,
    ) -> FsResult<bool> {
        let root = cred.uid == 0;
        let owner = root || cred.uid == node.uid;
        // Checks first: nothing changes unless everything is allowed.
        if sa.uid.is_some_and(|uid| !perm::chown_ok(cred, node, uid)) {
            return Err(FsError::Perm);
        }
        if sa.gid.is_some_and(|gid| !perm::chgrp_ok(cred, node, gid)) {
            return Err(FsError::Perm);
        }
        if sa.mode.is_some() && !owner {
            return Err(FsError::Perm);
        }
        for t in [sa.atime, sa.mtime] {
            match t {
                SetTime::ClientTime(_) if !owner => return Err(FsError::Perm),
                SetTime::ServerTime if !owner && !perm::may(cred, node, perm::W) => {
                    return Err(FsError::Access)
                }
                _ => {}
            }
        }
        if let Some(size) = sa.size {
            match node.ftype {
                FileType::Regular => {}
                FileType::Directory => return Err(FsError::IsDir),
                _ => return Err(FsError::Inval),
            }
            if !perm::may_data(cred, node, perm::W) {
                return Err(FsError::Access);
            }
            if size > self.inner.opts.max_file_size {
                return Err(FsError::FBig);
            }
        }

        let mut deferred = false;
        let chown = sa.uid.is_some_and(|u| u != node.uid) || sa.gid.is_some_and(|g| g != node.gid);
        if let Some(uid) = sa.uid {
            node.uid = uid;
        }
        if let Some(gid) = sa.gid {
            node.gid = gid;
        }
        if chown && node.ftype != FileType::Directory {
            node.mode &= !S_ISUID;
            if node.mode & 0o010 != 0 {
                node.mode &= !S_ISGID;
            }
        }
        if let Some(mode) = sa.mode {
            let mut mode = mode & 0o7777;
            if !root && !cred.in_group(node.gid) {
                mode &= !S_ISGID;
            }
            node.mode = mode;
        }
        if let Some(size) = sa.size {
            if size != node.size {
                deferred = self.truncate_into(node, size, batch).await?;
                node.mtime = now;
            }
        }
        match sa.atime {
            SetTime::DontChange => {}
            SetTime::ServerTime => node.atime = now,
            SetTime::ClientTime(t) => node.atime = t,
        }
        match sa.mtime {
            SetTime::DontChange => {}
            SetTime::ServerTime => node.mtime = now,
            SetTime::ClientTime(t) => node.mtime = t,
        }
        node.ctime = now;
        node.verifier = None;
        Ok(deferred)
    }

    /// ACCESS: the granted subset of `mask` (ACCESS3 bits), and the attributes.
    pub async fn access(
        &self,
        cred: &Credentials,
        ino: InodeId,
        mask: u32,
    ) -> FsResult<(u32, Attr)> {
        let node = self.load(ino).await?;
        let mut granted = perm::access_mask(cred, &node, mask);
        if self.is_read_only() {
            // Nothing here can change, whatever the mode bits say.
            granted &= !(access::MODIFY | access::EXTEND | access::DELETE);
        }
        Ok((granted, self.attr_of(&node)))
    }

    /// READLINK.
    pub async fn readlink(&self, cred: &Credentials, ino: InodeId) -> FsResult<(Bytes, Attr)> {
        let _ = cred;
        let node = self.load(ino).await?;
        if node.ftype != FileType::Symlink {
            return Err(FsError::Inval);
        }
        Ok((node.target.clone(), self.attr_of(&node)))
    }

    /// FSSTAT.
    pub async fn fsstat(&self, ino: InodeId) -> FsResult<FsStat> {
        let attr = self.getattr(ino).await?;
        let o = &self.inner.opts;
        let used = self.inner.bytes_used.load(Ordering::Relaxed).max(0) as u64;
        let files = self.inner.files_used.load(Ordering::Relaxed).max(0) as u64;
        let fbytes = o.capacity_bytes.saturating_sub(used);
        let ffiles = o.capacity_files.saturating_sub(files);
        Ok(FsStat {
            attr,
            tbytes: o.capacity_bytes,
            fbytes,
            abytes: fbytes,
            tfiles: o.capacity_files,
            ffiles,
            afiles: ffiles,
            invarsec: 0,
        })
    }

    /// FSINFO.
    pub async fn fsinfo(&self, ino: InodeId) -> FsResult<FsInfo> {
        let attr = self.getattr(ino).await?;
        Ok(FsInfo {
            attr,
            rtmax: 1 << 20,
            rtpref: 1 << 20,
            rtmult: CHUNK_SIZE as u32,
            wtmax: 1 << 20,
            wtpref: 1 << 20,
            wtmult: CHUNK_SIZE as u32,
            dtpref: 64 * 1024,
            maxfilesize: self.inner.opts.max_file_size,
            time_delta: Timestamp { secs: 0, nanos: 1 },
            properties: fsf::LINK | fsf::SYMLINK | fsf::HOMOGENEOUS | fsf::CANSETTIME,
        })
    }

    /// PATHCONF.
    pub async fn pathconf(&self, ino: InodeId) -> FsResult<PathConf> {
        let attr = self.getattr(ino).await?;
        Ok(PathConf {
            attr,
            linkmax: LINK_MAX,
            name_max: NAME_MAX as u32,
            no_trunc: true,
            chown_restricted: true,
            case_insensitive: false,
            case_preserving: true,
        })
    }

    /// When the filesystem was created.
    pub fn created(&self) -> Timestamp {
        self.inner.created
    }

    /// Persists the approximate usage counters into the superblock.
    pub async fn persist_usage(&self) -> FsResult<()> {
        self.check_writable()?;
        // Only the usage is this filesystem's to write: the identity is the stored one, which
        // `assign_new_identity` may have changed since the open.
        let stored = match self.inner.store.get(SuperblockKey.encode()).await? {
            Some(v) => Superblock::decode(&v)?,
            None => return Err(FsError::Io("the filesystem has no superblock".into())),
        };
        let secret = stored.handle_secret.unwrap_or(self.inner.handle_secret);
        let sb = Superblock {
            files_used: self.inner.files_used.load(Ordering::Relaxed).max(0) as u64,
            bytes_used: self.inner.bytes_used.load(Ordering::Relaxed).max(0) as u64,
            ..stored
        }
        .with_handle_secret(secret);
        let mut b = FsBatch::new();
        b.put(SuperblockKey.encode(), sb.encode());
        let applied = self.commit_batch(b, Durability::Memory).await?;
        Ok(applied.durable().await?)
    }

    /// Waits for background reclaim to finish (it is durable and resumable, but closing the
    /// store under it makes it fail noisily), persists usage, flushes and closes the store.
    pub async fn close(&self) -> FsResult<()> {
        if self.is_read_only() {
            self.inner.store.close().await?;
            return Ok(());
        }
        // Bounded: a reclaim that takes longer resumes from its `R` keys at the next open.
        for _ in 0..3000 {
            if !self.inner.reclaim_running.load(Ordering::Acquire) {
                break;
            }
            self.inner
                .store
                .run(async {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    Ok(())
                })
                .await?;
        }
        self.persist_usage().await?;
        // A clean stop leaves nothing in the WAL to replay: the next start is quicker, and on
        // object storage it reads no WAL objects back.
        if let Err(e) = self.inner.store.flush_memtable().await {
            log::warn!(
                "memtable flush at close failed (the WAL is replayed at the next open): {e}"
            );
        }
        self.inner.store.close().await?;
        Ok(())
    }
}
