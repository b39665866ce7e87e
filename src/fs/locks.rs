//! Per-inode async locks, runtime-agnostic (tokio::sync::Mutex needs no tokio runtime).
//!
//! Inodes hash onto a fixed table of stripes. Multi-inode operations lock the stripes of all
//! their inodes in ascending stripe order (deduplicated), so they are deadlock-free; two inodes
//! sharing a stripe only costs some concurrency.

use tokio::sync::{Mutex, MutexGuard};

const STRIPES: usize = 4096;

/// The lock table.
pub struct LockTable {
    stripes: Vec<Mutex<()>>,
}

impl std::fmt::Debug for LockTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockTable").finish_non_exhaustive()
    }
}

/// Guards held by one operation; dropping releases them.
pub struct LockSet<'a> {
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
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    fn stripe(ino: u64) -> usize {
        // Fibonacci hashing spreads sequential ids.
        (ino.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 52) as usize % STRIPES
    }

    /// Locks all of `inos` (any order, duplicates allowed).
    pub async fn lock(&self, inos: &[u64]) -> LockSet<'_> {
        let mut idx: Vec<usize> = inos.iter().map(|&i| Self::stripe(i)).collect();
        idx.sort_unstable();
        idx.dedup();
        let mut guards = Vec::with_capacity(idx.len());
        for i in idx {
            if let Some(m) = self.stripes.get(i) {
                guards.push(m.lock().await);
            }
        }
        LockSet { _guards: guards }
    }
}
