//! Space reclaim: deleting the chunks of removed or truncated files.
//!
//! Small files are reclaimed in the removing batch itself. For larger ones the batch records a
//! durable `R ino -> from_index` key; the chunks at `from_index` and beyond are then deleted
//! page by page (truncate: at once, still under the inode lock; removal: in the background and
//! on every open), and the `R` key is deleted last. Chunk pages are found by scanning, so
//! sparse files cost only their real chunks.
//!
//! A removed inode can never get chunks back: WRITE locks the inode and fails with `Stale` when
//! its record is gone. For a live (truncated) inode only chunks at or beyond its current size
//! are deleted, so a crash between truncate and reclaim cannot destroy later data.

use std::sync::atomic::Ordering;

use super::core::Fs;
use super::error::{FsError, FsResult};
use super::inode::decode_u64;
use super::types::CHUNK_SIZE;
use crate::store::keys::{ChunkKey, ReclaimKey};
use crate::store::{Durability, StoreBatch};

const PAGE: usize = 64;

impl Fs {
    /// Processes the whole reclaim queue. Safe to call at any time, from any executor, and
    /// concurrently with other operations. Also persists the approximate usage counters.
    pub async fn reclaim_pending(&self) -> FsResult<usize> {
        self.check_writable()?;
        let mut done = 0;
        loop {
            let rows = self.inner.store.scan(ReclaimKey::all(), PAGE).await?;
            if rows.is_empty() {
                break;
            }
            for (k, _) in rows {
                if let Some(ReclaimKey(ino)) = ReclaimKey::decode(&k) {
                    let _l = self.lock_inodes(&[ino]).await;
                    self.reclaim_inode_locked(ino).await?;
                    done += 1;
                }
            }
        }
        if done > 0 {
            self.persist_usage().await?;
        }
        Ok(done)
    }

    /// Runs the reclaim queue in the background on the storage runtime (at most one runner).
    pub(crate) fn kick_reclaim(&self) {
        if self.inner.reclaim_running.swap(true, Ordering::AcqRel) {
            return;
        }
        let fs = self.clone();
        self.inner.store.spawn(async move {
            if let Err(e) = fs.reclaim_pending().await {
                log::warn!("background reclaim failed: {e}");
            }
            fs.inner.reclaim_running.store(false, Ordering::Release);
        });
    }

    /// Deletes the chunks recorded by `R ino`, then the `R` key. The caller holds the inode
    /// lock of `ino`.
    pub(crate) async fn reclaim_inode_locked(&self, ino: u64) -> FsResult<()> {
        let rkey = ReclaimKey(ino).encode();
        let Some(v) = self.inner.store.get(rkey.clone()).await? else {
            return Ok(());
        };
        let mut from = decode_u64(&v)?;
        if let Some(node) = self.try_load(ino).await? {
            from = from.max(node.size.div_ceil(CHUNK_SIZE));
        }
        loop {
            let rows = self
                .inner
                .store
                .scan(ChunkKey::file_range_from(ino, from), PAGE)
                .await?;
            if rows.is_empty() {
                break;
            }
            let mut b = StoreBatch::new();
            for (k, _) in &rows {
                b.delete(k.clone());
            }
            if let Some((k, _)) = rows.last() {
                from = ChunkKey::decode(k)
                    .map(|c| c.1.saturating_add(1))
                    .ok_or_else(|| FsError::ServerFault("bad chunk key".into()))?;
            }
            self.inner.store.write(b, Durability::Memory).await?;
        }
        let mut b = StoreBatch::new();
        b.delete(rkey);
        // Ordered after the chunk deletes in the WAL.
        self.inner.store.write(b, Durability::Memory).await?;
        Ok(())
    }
}
