//! [`FsBatch`]: the one store batch of a filesystem operation, plus the inode records it writes,
//! which [`Fs::commit_batch`](super::Fs) publishes to the inode cache once SlateDB applied it.

use bytes::Bytes;
use smallvec::SmallVec;

use super::inode::Inode;
use crate::store::keys::InodeKey;
use crate::store::StoreBatch;

/// A batch of puts, merges and deletes, committed atomically by `Fs::commit_batch`.
#[derive(Debug, Default)]
pub(crate) struct FsBatch {
    pub(crate) store: StoreBatch,
    /// Inode records written, in order: `Some` for a put, `None` for a delete.
    pub(crate) inodes: SmallVec<[(u64, Option<Inode>); 3]>,
}

impl FsBatch {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Writes the record of `node`.
    pub(crate) fn put_inode(&mut self, node: &Inode) {
        self.store.put(InodeKey(node.ino).encode(), node.encode());
        self.inodes.push((node.ino, Some(node.clone())));
    }

    /// Deletes the record of inode `ino`.
    pub(crate) fn delete_inode(&mut self, ino: u64) {
        self.store.delete(InodeKey(ino).encode());
        self.inodes.push((ino, None));
    }

    /// Puts a key that is not an inode record.
    pub(crate) fn put(&mut self, key: Bytes, value: Bytes) {
        self.store.put(key, value);
    }

    /// Deletes a key that is not an inode record.
    pub(crate) fn delete(&mut self, key: Bytes) {
        self.store.delete(key);
    }

    /// Adds a merge operand (chunk keys only).
    pub(crate) fn merge(&mut self, key: Bytes, operand: Bytes) {
        self.store.merge(key, operand);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.store.is_empty()
    }
}
