//! [`StoreBatch`]: puts, merges and deletes that SlateDB applies atomically.

use bytes::Bytes;
use slatedb::WriteBatch;

enum Op {
    Put(Bytes),
    Delete,
    Merge(Bytes),
}

/// A batch of puts, merges and deletes committed atomically. In order: a later put or delete
/// of a key replaces what came before it.
#[derive(Default)]
pub struct StoreBatch {
    ops: Vec<(Bytes, Op)>,
    bytes: usize,
}

impl std::fmt::Debug for StoreBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreBatch")
            .field("ops", &self.ops.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl StoreBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a put.
    pub fn put(&mut self, key: Bytes, value: Bytes) {
        self.bytes += key.len() + value.len();
        self.ops.push((key, Op::Put(value)));
    }
    /// Adds a merge operand (see [`super::chunk_value`]: chunk keys only).
    pub fn merge(&mut self, key: Bytes, operand: Bytes) {
        self.bytes += key.len() + operand.len();
        self.ops.push((key, Op::Merge(operand)));
    }
    /// Adds a delete.
    pub fn delete(&mut self, key: Bytes) {
        self.bytes += key.len();
        self.ops.push((key, Op::Delete));
    }
    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
    /// Approximate payload size in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn append_to(self, batch: &mut WriteBatch) {
        for (k, v) in self.ops {
            match v {
                Op::Put(v) => batch.put_bytes(k, v),
                Op::Delete => batch.delete(k),
                Op::Merge(v) => batch.merge(k, v),
            }
        }
    }
}
