//! [`WritePipeline`]: WRITEs to one file queued behind each other without waiting for SlateDB.
//!
//! A WRITE changes the file's inode (size, times), so WRITEs to one file take its lock. Held
//! until SlateDB applied the write, that lock would let one WRITE per file reach SlateDB at a
//! time, at the pace of one storage round trip each, and the WRITEs a client keeps in flight to
//! one file would never share a group write.
//!
//! Instead a WRITE lets the lock go as soon as its batch is queued on a lane of the group writer
//! ([`crate::store::Store::submit`]: a lane applies its batches in submission order). Until it
//! is applied the file is *busy*, and this table knows on which lane:
//! - the next WRITE submitting on the same lane builds on the newest queued inode (kept here,
//!   as the inode cache only ever shows applied versions) and queues behind it;
//! - every other change of the inode, and a WRITE for another lane, whose batch could overtake
//!   the queued ones, waits with the lock held until the file is idle (`Fs::lock_inodes`), so
//!   the whole of its read-modify-write sees the applied state.
//!
//! When a queued batch is applied its hook publishes the inode it wrote, in lane order, and
//! reports here; at the last one the file is idle and its waiters go on. The hook runs even if
//! the WRITE's caller went away, so a file never stays busy.

use std::collections::HashMap;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::inode::Inode;
use crate::sharded::Sharded;
use crate::store::LaneId;

const SHARDS: usize = 64;

struct Busy {
    /// The inode as the newest queued batch wrote it.
    newest: Inode,
    /// Batches queued and not yet applied.
    queued: u32,
    /// The lane they were queued on.
    lane: LaneId,
    /// Waiting for the file to be idle.
    idle_waiters: Vec<oneshot::Sender<()>>,
}

/// Files with queued, not yet applied WRITEs.
pub(crate) struct WritePipeline {
    shards: Sharded<Mutex<HashMap<u64, Busy>>>,
}

impl Default for WritePipeline {
    fn default() -> Self {
        WritePipeline {
            shards: Sharded::with_default(SHARDS),
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
        self.shards.part(ino)
    }

    /// For a WRITE holding `ino`'s lock that will submit on `lane`: the newest queued version
    /// of the inode if it was queued on that lane (build on it and queue behind it); otherwise
    /// waits until the file is idle and returns `None` (load the applied version).
    pub(crate) async fn newest_or_idle(&self, ino: u64, lane: LaneId) -> Option<Inode> {
        if let Some(busy) = self.shard(ino).lock().get(&ino) {
            if busy.lane == lane {
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

    /// Records a batch writing `node` about to be submitted on `lane` (the caller holds the
    /// lock, and found the file idle or busy on that same lane).
    pub(crate) fn queued(&self, node: &Inode, lane: LaneId) {
        let mut shard = self.shard(node.ino).lock();
        let busy = shard.entry(node.ino).or_insert_with(|| Busy {
            newest: node.clone(),
            queued: 0,
            lane,
            idle_waiters: Vec::new(),
        });
        busy.newest = node.clone();
        busy.queued += 1;
        busy.lane = lane;
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
    use futures::FutureExt;

    fn node(ino: u64, size: u64) -> Inode {
        let mut n = Inode::new(ino, FileType::Regular, 0o644, 0, 0, Timestamp::now());
        n.size = size;
        n
    }

    fn lanes() -> (LaneId, LaneId) {
        let mine = LaneId::of_this_thread();
        let other = std::thread::spawn(LaneId::of_this_thread).join().unwrap();
        assert_ne!(mine, other);
        (mine, other)
    }

    #[test]
    fn the_same_lane_builds_on_the_newest_queued_version() {
        let (lane, _) = lanes();
        futures::executor::block_on(async {
            let p = WritePipeline::default();
            assert!(
                p.newest_or_idle(7, lane).await.is_none(),
                "idle file: load it"
            );
            p.queued(&node(7, 10), lane);
            p.queued(&node(7, 20), lane);
            assert_eq!(p.newest_or_idle(7, lane).await.map(|n| n.size), Some(20));
            p.applied(7);
            assert!(p.is_busy(7), "one batch still queued");
            p.applied(7);
            assert!(!p.is_busy(7));
            assert!(p.newest_or_idle(7, lane).await.is_none());
        });
    }

    #[test]
    fn other_lanes_wait_until_every_queued_batch_is_applied() {
        let (lane, other) = lanes();
        let p = WritePipeline::default();
        p.queued(&node(9, 1), lane);
        p.queued(&node(9, 2), lane);
        // A WRITE for another lane may not queue behind (its batch could overtake), and other
        // changes never do: both wait while a batch is still queued.
        let mut write_elsewhere = Box::pin(p.newest_or_idle(9, other));
        let mut change = Box::pin(p.wait_idle(9));
        assert!(write_elsewhere.as_mut().now_or_never().is_none());
        assert!(change.as_mut().now_or_never().is_none());
        p.applied(9);
        assert!(
            change.as_mut().now_or_never().is_none(),
            "went on with one batch still queued"
        );
        p.applied(9);
        assert_eq!(write_elsewhere.now_or_never(), Some(None));
        assert_eq!(change.now_or_never(), Some(()));
        // Idle now: no wait at all.
        assert_eq!(p.wait_idle(9).now_or_never(), Some(()));
    }
}
