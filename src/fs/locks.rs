//! Per-inode async locks, runtime-agnostic (tokio::sync::Mutex needs no tokio runtime).
//!
//! Inodes hash onto a fixed table of stripes. Multi-inode operations lock the stripes of all
//! their inodes in ascending stripe order (deduplicated), so they are deadlock-free; two inodes
//! sharing a stripe only costs some concurrency.

use tokio::sync::{Mutex, MutexGuard};

use crate::sharded::Sharded;

const STRIPES: usize = 4096;

/// The lock table.
pub struct LockTable {
    stripes: Sharded<Mutex<()>>,
}

impl std::fmt::Debug for LockTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockTable").finish_non_exhaustive()
    }
}

/// Guards held by one operation; dropping releases them.
pub struct LockSet<'a> {
    /// Stripe indexes held, ascending.
    held: Vec<usize>,
    _guards: Vec<MutexGuard<'a, ()>>,
}

impl Default for LockTable {
    fn default() -> Self {
        Self::new()
    }
}

impl LockTable {
    /// A table of 4096 stripes.
    pub fn new() -> Self {
        LockTable {
            stripes: Sharded::with_default(STRIPES),
        }
    }

    fn stripe(&self, ino: u64) -> usize {
        self.stripes.index_of(ino)
    }

    /// Locks all of `inos` (any order, duplicates allowed).
    pub async fn lock(&self, inos: &[u64]) -> LockSet<'_> {
        let mut idx: Vec<usize> = inos.iter().map(|&i| self.stripe(i)).collect();
        idx.sort_unstable();
        idx.dedup();
        let mut guards = Vec::with_capacity(idx.len());
        for &i in &idx {
            if let Some(m) = self.stripes.at(i) {
                guards.push(m.lock().await);
            }
        }
        LockSet {
            held: idx,
            _guards: guards,
        }
    }

    /// Adds `inos` to `set` without waiting: true if all of them are now held, false if one
    /// is busy (then `set` holds some of them; drop it and lock everything in order). Never
    /// waiting while holding locks out of stripe order keeps this deadlock-free.
    pub fn try_lock_more<'a>(&'a self, set: &mut LockSet<'a>, inos: &[u64]) -> bool {
        for &ino in inos {
            let i = self.stripe(ino);
            if set.held.contains(&i) {
                continue;
            }
            let Some(m) = self.stripes.at(i) else {
                continue;
            };
            match m.try_lock() {
                Ok(g) => {
                    set.held.push(i);
                    set._guards.push(g);
                }
                Err(_) => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_lock_more_adds_free_stripes_and_refuses_busy_ones() {
        futures::executor::block_on(async {
            let t = LockTable::new();
            let mut a = t.lock(&[1]).await;
            // Already held, or free: taken at once.
            assert!(t.try_lock_more(&mut a, &[1, 2]));
            // Inode 2 is now held by `a`: another set cannot add it without waiting.
            let mut b = t.lock(&[3]).await;
            assert!(!t.try_lock_more(&mut b, &[2]));
            drop(a);
            assert!(t.try_lock_more(&mut b, &[2]));
        });
    }
}
