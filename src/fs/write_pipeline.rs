//! [`WritePipeline`]: WRITEs to one file queued behind each other without waiting for SlateDB.
//!
//! A WRITE changes the file's inode (size, times), so WRITEs to one file take its lock. Held
//! until SlateDB has applied the write, that lock let one WRITE per file reach SlateDB at a
//! time: the Linux client's writeback of one large file (many WRITEs in flight) then went at
//! the pace of one storage round trip per WRITE, and never filled a group write.
//!
//! Instead a WRITE lets the lock go as soon as its batch is queued on its thread's lane of the
//! group writer ([`crate::store::Store::submit`]), which applies a thread's batches in the
//! order they were queued. Until it is applied the file is *busy*:
//! - the next WRITE on the same thread builds on the newest queued inode (kept here, as the
//!   inode cache only ever shows applied versions) and queues behind it;
//! - every other change of the inode, and a WRITE from another thread, whose batch could
//!   overtake the queued ones on another lane, waits with the lock held until the file is idle
//!   (`Fs::lock_inodes`), so the whole of its read-modify-write sees the applied state.
//!
//! When a queued batch is applied the group writer runs its hook: the inode that batch wrote
//! is published to the inode cache, in queue order, and the file's count of queued batches
//! drops; at zero the file is idle and its waiters go on. The hook runs even if the WRITE's
//! caller went away, so a file never stays busy.

use std::collections::HashMap;
use std::thread::ThreadId;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::inode::Inode;

const SHARDS: usize = 64;

struct Busy {
    /// The inode as the newest queued batch wrote it.
    newest: Inode,
    /// Batches queued and not yet applied.
    queued: u32,
    /// The thread (lane) that queued them.
    thread: ThreadId,
    /// Waiting for the file to be idle.
    idle_waiters: Vec<oneshot::Sender<()>>,
}

/// Files with queued, not yet applied WRITEs.
pub(crate) struct WritePipeline {
    shards: Box<[Mutex<HashMap<u64, Busy>>]>,
}

impl Default for WritePipeline {
    fn default() -> Self {
        WritePipeline {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

impl std::fmt::Debug for WritePipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WritePipeline").finish_non_exhaustive()
    }
}

impl WritePipeline {
    fn shard(&self, ino: u64) -> &Mutex<HashMap<u64, Busy>> {
        // Fibonacci hashing spreads sequential ids; the index is always below SHARDS.
        &self.shards[(ino.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % SHARDS]
    }

    /// For a WRITE holding `ino`'s lock: the newest queued version of the inode if this thread
    /// queued it (build on it and queue behind it); otherwise waits until the file is idle and
    /// returns `None` (load the applied version).
    pub(crate) async fn newest_or_idle(&self, ino: u64) -> Option<Inode> {
        let me = std::thread::current().id();
        if let Some(busy) = self.shard(ino).lock().get(&ino) {
            if busy.thread == me {
                return Some(busy.newest.clone());
            }
        }
        self.wait_idle(ino).await;
        None
    }

    /// Waits until no queued WRITE of `ino` is left unapplied. The caller holds `ino`'s lock,
    /// so none can be queued meanwhile.
    pub(crate) async fn wait_idle(&self, ino: u64) {
        let rx = {
            let mut shard = self.shard(ino).lock();
            let Some(busy) = shard.get_mut(&ino) else {
                return;
            };
            let (tx, rx) = oneshot::channel();
            busy.idle_waiters.push(tx);
            rx
        };
        // An error means the sender was dropped, which only happens once the file is idle.
        let _ = rx.await;
    }

    /// Records a batch writing `node` queued by this thread (the caller holds the lock).
    pub(crate) fn queued(&self, node: &Inode) {
        let me = std::thread::current().id();
        let mut shard = self.shard(node.ino).lock();
        let busy = shard.entry(node.ino).or_insert_with(|| Busy {
            newest: node.clone(),
            queued: 0,
            thread: me,
            idle_waiters: Vec::new(),
        });
        busy.newest = node.clone();
        busy.queued += 1;
        busy.thread = me;
    }

    /// One queued batch of `ino` was applied (or failed): at the last one the file is idle.
    pub(crate) fn applied(&self, ino: u64) {
        let waiters = {
            let mut shard = self.shard(ino).lock();
            let Some(busy) = shard.get_mut(&ino) else {
                return;
            };
            busy.queued = busy.queued.saturating_sub(1);
            if busy.queued > 0 {
                return;
            }
            shard
                .remove(&ino)
                .map(|b| b.idle_waiters)
                .unwrap_or_default()
        };
        for w in waiters {
            let _ = w.send(());
        }
    }

    /// Whether `ino` has queued batches not yet applied (tests).
    #[cfg(test)]
    pub(crate) fn is_busy(&self, ino: u64) -> bool {
        self.shard(ino).lock().contains_key(&ino)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::types::{FileType, Timestamp};

    fn node(ino: u64, size: u64) -> Inode {
        let mut n = Inode::new(ino, FileType::Regular, 0o644, 0, 0, Timestamp::now());
        n.size = size;
        n
    }

    #[test]
    fn same_thread_builds_on_the_newest_queued_version() {
        futures::executor::block_on(async {
            let p = WritePipeline::default();
            assert!(p.newest_or_idle(7).await.is_none(), "idle file: load it");
            p.queued(&node(7, 10));
            p.queued(&node(7, 20));
            assert_eq!(p.newest_or_idle(7).await.map(|n| n.size), Some(20));
            p.applied(7);
            assert!(p.is_busy(7), "one batch still queued");
            p.applied(7);
            assert!(!p.is_busy(7));
            assert!(p.newest_or_idle(7).await.is_none());
        });
    }

    #[test]
    fn other_threads_wait_until_every_queued_batch_is_applied() {
        let p = std::sync::Arc::new(WritePipeline::default());
        p.queued(&node(9, 1));
        p.queued(&node(9, 2));
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let waiter = {
            let p = p.clone();
            std::thread::spawn(move || {
                futures::executor::block_on(async {
                    // From another thread a WRITE may not queue behind (another lane could
                    // overtake), and other changes never do.
                    let newest = p.newest_or_idle(9).await;
                    p.wait_idle(9).await;
                    done_tx.send(newest.is_none()).unwrap();
                })
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(
            done_rx.try_recv().is_err(),
            "went on while batches were queued"
        );
        p.applied(9);
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(
            done_rx.try_recv().is_err(),
            "went on with one batch still queued"
        );
        p.applied(9);
        assert!(done_rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .unwrap());
        waiter.join().unwrap();
        // Idle now: no wait at all.
        futures::executor::block_on(p.wait_idle(9));
    }
}
