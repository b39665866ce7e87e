//! [`Sharded`]: a fixed number of independently locked parts of one table, picked by a `u64` key.
//!
//! Every table that all cores share (inode and directory caches, inode locks, queued writes,
//! unstable writes, the duplicate-request cache) is cut into parts so that cores rarely wait on
//! one another, and the runtime assigns inodes to cores the same way. Inode ids are handed out in
//! sequence, so the part is chosen by Fibonacci hashing (multiplying by 2^64/φ mixes the low bits
//! into the high ones), which spreads consecutive ids evenly over any number of parts.

/// `key` with its bits mixed, so that consecutive keys land far apart.
pub const fn spread(key: u64) -> u64 {
    key.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Which of `parts` parts `key` belongs to (0 when `parts` is 0 or 1).
pub fn part_of(key: u64, parts: usize) -> usize {
    if parts <= 1 {
        return 0;
    }
    // The high bits of the product are the well-mixed ones: scale the hash onto `0..parts`
    // (Lemire's multiply-shift), which for a power of two is exactly its top bits.
    ((u128::from(spread(key)) * parts as u128) >> 64) as usize
}

/// A table cut into parts; each part is typically a `Mutex` around a map.
pub struct Sharded<T> {
    parts: Box<[T]>,
}

impl<T> Sharded<T> {
    /// `parts` parts (at least one), each made by `make`.
    pub fn new(parts: usize, make: impl FnMut() -> T) -> Self {
        let mut make = make;
        Sharded {
            parts: (0..parts.max(1)).map(|_| make()).collect(),
        }
    }

    /// Number of parts.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// Always false: there is at least one part.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The index of the part `key` belongs to (below [`Sharded::len`]).
    pub fn index_of(&self, key: u64) -> usize {
        part_of(key, self.parts.len())
    }

    /// The part `key` belongs to.
    pub fn part(&self, key: u64) -> &T {
        // `index_of` is always below the number of parts, which is at least one.
        &self.parts[self.index_of(key)]
    }

    /// The part at `index`, if there is one.
    pub fn at(&self, index: usize) -> Option<&T> {
        self.parts.get(index)
    }

    /// Every part, in index order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.parts.iter()
    }
}

impl<T: Default> Sharded<T> {
    /// `parts` parts, each `T::default()`.
    pub fn with_default(parts: usize) -> Self {
        Self::new(parts, T::default)
    }
}

impl<T> std::fmt::Debug for Sharded<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sharded")
            .field("parts", &self.parts.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_keys_spread_evenly() {
        for parts in [2usize, 3, 4, 8, 64, 4096] {
            let mut counts = vec![0usize; parts];
            let n = parts as u64 * 1000;
            for key in 1..=n {
                counts[part_of(key, parts)] += 1;
            }
            for c in &counts {
                assert!((900..=1100).contains(c), "{parts} parts: {counts:?}");
            }
        }
        assert_eq!(part_of(12345, 1), 0);
        assert_eq!(part_of(12345, 0), 0);
    }

    #[test]
    fn a_key_always_finds_the_same_part() {
        let t: Sharded<std::sync::atomic::AtomicU64> = Sharded::with_default(16);
        for key in [0u64, 1, 7, u64::MAX] {
            t.part(key)
                .fetch_add(key.max(1), std::sync::atomic::Ordering::Relaxed);
            let i = t.index_of(key);
            assert!(i < t.len());
            assert!(std::ptr::eq(t.part(key), t.at(i).unwrap()));
        }
        assert_eq!(Sharded::<u8>::new(0, || 0).len(), 1);
    }
}
