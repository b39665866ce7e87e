//! [`FsBatch`]: the one store batch of a filesystem operation, plus the inode records and
//! directory entries it writes, which [`Fs::submit`](super::Fs) publishes to the inode and
//! directory caches once SlateDB applied it.

use bytes::Bytes;
use smallvec::SmallVec;

use super::inode::{CookieValue, DirentValue, Inode};
use crate::store::keys::{DirCookieKey, DirEntryKey, InodeKey};
use crate::store::StoreBatch;

/// A change to a directory, for the directory cache.
#[derive(Debug)]
pub(crate) enum DirChange {
    /// Entry `name` of `dir` now names this.
    Put(u64, Bytes, DirentValue),
    /// Entry `name` of `dir` is gone.
    Delete(u64, Bytes),
    /// A new, empty directory.
    NewDir(u64),
    /// A removed directory.
    Gone(u64),
}

impl DirChange {
    /// The directory it changes.
    pub(crate) fn dir(&self) -> u64 {
        match self {
            DirChange::Put(d, ..) | DirChange::Delete(d, _) => *d,
            DirChange::NewDir(d) | DirChange::Gone(d) => *d,
        }
    }
}

/// A batch of puts, merges and deletes, committed atomically by `Fs::submit`.
#[derive(Debug, Default)]
pub(crate) struct FsBatch {
    pub(crate) store: StoreBatch,
    /// Inode records written, in order: `Some` for a put, `None` for a delete.
    pub(crate) inodes: SmallVec<[(u64, Option<Inode>); 3]>,
    /// Directory changes, in order.
    pub(crate) dirs: SmallVec<[DirChange; 2]>,
    /// For a WRITE: the file's new inode, queued in the write pipeline until applied.
    pub(crate) queued_write: Option<Inode>,
}

impl FsBatch {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Writes the record of `node`, the file of a WRITE that releases the file's lock as soon
    /// as the batch is queued (see [`super::write_pipeline`]).
    pub(crate) fn put_written_inode(&mut self, node: &Inode) {
        self.put_inode(node);
        self.queued_write = Some(node.clone());
    }

    /// Writes the record of `node`.
    pub(crate) fn put_inode(&mut self, node: &Inode) {
        self.store.put(InodeKey(node.ino).encode(), node.encode());
        self.inodes.push((node.ino, Some(node.clone())));
    }

    /// Deletes the record of inode `ino` (and, if it was a directory, its cached listing).
    pub(crate) fn delete_inode(&mut self, ino: u64) {
        self.store.delete(InodeKey(ino).encode());
        self.inodes.push((ino, None));
        self.dirs.push(DirChange::Gone(ino));
    }

    /// Records that `ino` is a new directory: empty, so its listing is known complete.
    pub(crate) fn new_dir(&mut self, ino: u64) {
        self.dirs.push(DirChange::NewDir(ino));
    }

    /// Writes entry `name` of `dir` (its `D` key and its `C` cookie record).
    pub(crate) fn put_dirent(&mut self, dir: u64, name: Bytes, v: DirentValue) {
        self.store
            .put(DirEntryKey(dir, name.clone()).encode(), v.encode());
        self.store.put(
            DirCookieKey(dir, v.cookie).encode(),
            CookieValue {
                ino: v.ino,
                ftype: v.ftype,
                name: name.clone(),
            }
            .encode(),
        );
        self.dirs.push(DirChange::Put(dir, name, v));
    }

    /// Deletes entry `name` of `dir`, whose cookie is `cookie`.
    pub(crate) fn delete_dirent(&mut self, dir: u64, name: Bytes, cookie: u64) {
        self.store.delete(DirEntryKey(dir, name.clone()).encode());
        self.store.delete(DirCookieKey(dir, cookie).encode());
        self.dirs.push(DirChange::Delete(dir, name));
    }

    /// Deletes only the cookie record `cookie` of `dir` (the entry's key is being replaced
    /// in the same batch by [`FsBatch::put_dirent`]).
    pub(crate) fn delete_cookie(&mut self, dir: u64, cookie: u64) {
        self.store.delete(DirCookieKey(dir, cookie).encode());
    }

    /// Puts a key that is neither an inode record nor a directory entry.
    pub(crate) fn put(&mut self, key: Bytes, value: Bytes) {
        self.store.put(key, value);
    }

    /// Deletes a key that is neither an inode record nor a directory entry.
    pub(crate) fn delete(&mut self, key: Bytes) {
        self.store.delete(key);
    }

    /// Adds a merge operand (chunk keys only).
    pub(crate) fn merge(&mut self, key: Bytes, operand: Bytes) {
        self.store.merge(key, operand);
    }
}
