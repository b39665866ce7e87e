//! [`FileLocks`]: the locks, blocked lock requests and share reservations of one file, with
//! POSIX byte-range semantics. Pure data: no clock, no IO, no knowledge of the wire.
//!
//! - Locks of one owner never overlap, and two of its locks of the same type never touch: a new
//!   lock replaces what the owner held in its range (changing the type there) and merges with
//!   touching locks of the same type; an unlock may split a lock in two.
//! - Locks of different owners may overlap only if all of them are shared.
//! - Blocked requests wait in arrival order. Whenever something is released, they are tried in
//!   that order against the locks then held, so of two waiters that conflict with each other
//!   the earlier one is granted first; a waiter that conflicts with nobody is not held back by
//!   an earlier one that still waits.

use std::collections::VecDeque;

use bytes::Bytes;

use super::range::ByteRange;

/// A client host, as the lock manager numbers them.
pub type HostId = u32;

/// Who holds a lock: a process (`svid`, with its owner handle `oh`) on a client host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LockOwner {
    pub host: HostId,
    pub svid: i32,
    pub oh: Bytes,
}

/// One held lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub owner: LockOwner,
    pub range: ByteRange,
    pub exclusive: bool,
}

impl Lock {
    /// Whether this lock stands in the way of `owner` locking `range` (exclusively or not).
    pub fn conflicts(&self, owner: &LockOwner, range: &ByteRange, exclusive: bool) -> bool {
        self.owner != *owner && self.range.overlaps(range) && (exclusive || self.exclusive)
    }
}

/// A blocked lock request; `data` is what the lock manager needs to tell the client once it is
/// granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiter<T> {
    pub owner: LockOwner,
    pub range: ByteRange,
    pub exclusive: bool,
    pub data: T,
}

impl<T> Waiter<T> {
    fn is_request(&self, owner: &LockOwner, range: &ByteRange, exclusive: bool) -> bool {
        self.owner == *owner && self.range == *range && self.exclusive == exclusive
    }
}

/// A DOS-style share reservation: whole-file access modes that others must not contradict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub host: HostId,
    pub oh: Bytes,
    /// `fsh4_mode` bits: 1 denies reading to others, 2 denies writing.
    pub deny: u32,
    /// `fsh4_access` bits: 1 reads, 2 writes.
    pub access: u32,
}

/// The lock state of one file.
#[derive(Debug, Clone)]
pub struct FileLocks<T> {
    locks: Vec<Lock>,
    waiters: VecDeque<Waiter<T>>,
    shares: Vec<Share>,
}

impl<T> Default for FileLocks<T> {
    fn default() -> Self {
        FileLocks {
            locks: Vec::new(),
            waiters: VecDeque::new(),
            shares: Vec::new(),
        }
    }
}

impl<T> FileLocks<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Nothing held, nobody waiting: the table may be forgotten.
    pub fn is_empty(&self) -> bool {
        self.locks.is_empty() && self.waiters.is_empty() && self.shares.is_empty()
    }

    /// The locks held, in no particular order.
    pub fn locks(&self) -> &[Lock] {
        &self.locks
    }

    /// The blocked requests, oldest first.
    pub fn waiters(&self) -> impl Iterator<Item = &Waiter<T>> {
        self.waiters.iter()
    }

    pub fn shares(&self) -> &[Share] {
        &self.shares
    }

    /// The first lock of another owner that `owner` locking `range` would conflict with.
    pub fn test(&self, owner: &LockOwner, range: &ByteRange, exclusive: bool) -> Option<&Lock> {
        self.locks
            .iter()
            .find(|l| l.conflicts(owner, range, exclusive))
    }

    /// Locks `range` for `owner`, or returns the lock in the way. A request of the owner that
    /// was waiting for exactly this lock stops waiting.
    pub fn lock(
        &mut self,
        owner: &LockOwner,
        range: ByteRange,
        exclusive: bool,
    ) -> Result<(), Lock> {
        if let Some(conflict) = self.test(owner, &range, exclusive) {
            return Err(conflict.clone());
        }
        self.apply(owner, range, exclusive);
        self.waiters
            .retain(|w| !w.is_request(owner, &range, exclusive));
        Ok(())
    }

    /// Puts `owner`'s lock on `range`, replacing what it held there (no conflict check).
    fn apply(&mut self, owner: &LockOwner, range: ByteRange, exclusive: bool) {
        let mut merged = range;
        let mut kept = Vec::with_capacity(self.locks.len() + 1);
        for lock in self.locks.drain(..) {
            if lock.owner != *owner || !lock.range.touches(&range) {
                kept.push(lock);
            } else if lock.exclusive == exclusive {
                merged = merged.union(&lock.range);
            } else {
                for piece in lock.range.minus(&range).into_iter().flatten() {
                    kept.push(Lock {
                        range: piece,
                        ..lock.clone()
                    });
                }
            }
        }
        kept.push(Lock {
            owner: owner.clone(),
            range: merged,
            exclusive,
        });
        self.locks = kept;
    }

    /// Releases whatever `owner` holds in `range` (nothing held there is not an error).
    pub fn unlock(&mut self, owner: &LockOwner, range: &ByteRange) {
        let mut kept = Vec::with_capacity(self.locks.len() + 1);
        for lock in self.locks.drain(..) {
            if lock.owner != *owner || !lock.range.overlaps(range) {
                kept.push(lock);
                continue;
            }
            for piece in lock.range.minus(range).into_iter().flatten() {
                kept.push(Lock {
                    range: piece,
                    ..lock.clone()
                });
            }
        }
        self.locks = kept;
    }

    /// Queues a blocked request (after the others). A request already waiting is not queued
    /// twice (clients repeat a blocked LOCK while they wait); returns whether it was new.
    pub fn enqueue(&mut self, waiter: Waiter<T>) -> bool {
        if self
            .waiters
            .iter()
            .any(|w| w.is_request(&waiter.owner, &waiter.range, waiter.exclusive))
        {
            return false;
        }
        self.waiters.push_back(waiter);
        true
    }

    /// Withdraws a waiting request; `None` if it was not waiting.
    pub fn cancel(
        &mut self,
        owner: &LockOwner,
        range: &ByteRange,
        exclusive: bool,
    ) -> Option<Waiter<T>> {
        let i = self
            .waiters
            .iter()
            .position(|w| w.is_request(owner, range, exclusive))?;
        self.waiters.remove(i)
    }

    /// Grants every waiting request that no held lock stands in the way of, oldest first, and
    /// returns them (their locks are now held).
    pub fn grant_waiters(&mut self) -> Vec<Waiter<T>> {
        let mut granted = Vec::new();
        let mut i = 0;
        while i < self.waiters.len() {
            let w = &self.waiters[i];
            if self.test(&w.owner, &w.range, w.exclusive).is_some() {
                i += 1;
                continue;
            }
            if let Some(w) = self.waiters.remove(i) {
                self.apply(&w.owner, w.range, w.exclusive);
                granted.push(w);
            }
        }
        granted
    }

    /// Drops every lock, waiting request and share of the hosts `gone` selects (a client that
    /// restarted, or said FREE_ALL).
    pub fn release_hosts(&mut self, gone: impl Fn(HostId) -> bool) {
        self.locks.retain(|l| !gone(l.owner.host));
        self.waiters.retain(|w| !gone(w.owner.host));
        self.shares.retain(|s| !gone(s.host));
    }

    /// Every host with a lock, a waiting request or a share here.
    pub fn hosts(&self) -> impl Iterator<Item = HostId> + '_ {
        self.locks
            .iter()
            .map(|l| l.owner.host)
            .chain(self.waiters.iter().map(|w| w.owner.host))
            .chain(self.shares.iter().map(|s| s.host))
    }

    /// Takes a share reservation for `(host, oh)`, or changes the one it holds; returns the
    /// reservation of another owner that contradicts it.
    pub fn share(&mut self, share: Share) -> Result<(), Share> {
        let same = |s: &Share| s.host == share.host && s.oh == share.oh;
        if let Some(other) = self
            .shares
            .iter()
            .find(|s| !same(s) && (share.access & s.deny != 0 || share.deny & s.access != 0))
        {
            return Err(other.clone());
        }
        match self.shares.iter_mut().find(|s| same(s)) {
            Some(s) => *s = share,
            None => self.shares.push(share),
        }
        Ok(())
    }

    /// Drops the share reservation of `(host, oh)`, if any.
    pub fn unshare(&mut self, host: HostId, oh: &[u8]) {
        self.shares.retain(|s| !(s.host == host && s.oh == oh));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(host: HostId, svid: i32) -> LockOwner {
        LockOwner {
            host,
            svid,
            oh: Bytes::from(format!("{svid}@{host}")),
        }
    }

    fn r(start: u64, end: u64) -> ByteRange {
        ByteRange { start, end }
    }

    fn held(t: &FileLocks<()>, o: &LockOwner) -> Vec<(u64, u64, bool)> {
        let mut v: Vec<_> = t
            .locks()
            .iter()
            .filter(|l| l.owner == *o)
            .map(|l| (l.range.start, l.range.end, l.exclusive))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn split_merge_and_convert() {
        let a = owner(1, 1);
        let mut t = FileLocks::<()>::new();
        t.lock(&a, r(0, 99), false).unwrap();
        // An exclusive lock in the middle splits the shared one.
        t.lock(&a, r(40, 49), true).unwrap();
        assert_eq!(
            held(&t, &a),
            [(0, 39, false), (40, 49, true), (50, 99, false)]
        );
        // Back to shared: one lock again.
        t.lock(&a, r(40, 49), false).unwrap();
        assert_eq!(held(&t, &a), [(0, 99, false)]);
        // Unlock a hole, then lock what touches both sides.
        t.unlock(&a, &r(10, 19));
        assert_eq!(held(&t, &a), [(0, 9, false), (20, 99, false)]);
        t.lock(&a, r(10, 19), false).unwrap();
        assert_eq!(held(&t, &a), [(0, 99, false)]);
        // To the end of the file, then unlock to the end.
        t.lock(&a, ByteRange::to_eof(100), false).unwrap();
        assert_eq!(held(&t, &a), [(0, u64::MAX, false)]);
        t.unlock(&a, &ByteRange::to_eof(1));
        assert_eq!(held(&t, &a), [(0, 0, false)]);
    }

    #[test]
    fn owners_conflict_unless_both_shared() {
        let (a, b) = (owner(1, 1), owner(2, 1));
        let mut t = FileLocks::<()>::new();
        t.lock(&a, r(0, 9), false).unwrap();
        t.lock(&b, r(5, 14), false).unwrap();
        assert_eq!(t.lock(&b, r(0, 0), true).unwrap_err().owner, a);
        assert_eq!(t.test(&b, &r(10, 20), true), None);
        assert!(t.test(&a, &r(10, 20), true).is_some());
        // Same host, another process: a different owner.
        let a2 = owner(1, 2);
        assert!(t.lock(&a2, r(9, 9), true).is_err());
        // The extreme offsets are 64-bit.
        t.lock(&a2, r(u64::MAX - 1, u64::MAX), true).unwrap();
        assert!(t.test(&b, &ByteRange::to_eof(u64::MAX), false).is_some());
    }

    #[test]
    fn waiters_are_granted_in_order() {
        let (a, b, c, d) = (owner(1, 1), owner(2, 1), owner(3, 1), owner(4, 1));
        let mut t = FileLocks::<&str>::new();
        t.lock(&a, r(0, 99), true).unwrap();
        for (o, name) in [(&b, "b"), (&c, "c")] {
            assert!(t.enqueue(Waiter {
                owner: o.clone(),
                range: r(0, 9),
                exclusive: true,
                data: name,
            }));
        }
        // d waits for a range nobody else waits for.
        t.enqueue(Waiter {
            owner: d.clone(),
            range: r(50, 59),
            exclusive: false,
            data: "d",
        });
        // A repeated request does not queue twice.
        assert!(!t.enqueue(Waiter {
            owner: b.clone(),
            range: r(0, 9),
            exclusive: true,
            data: "b again",
        }));
        assert!(t.grant_waiters().is_empty());
        t.unlock(&a, &r(0, 49));
        let granted: Vec<_> = t.grant_waiters().into_iter().map(|w| w.data).collect();
        assert_eq!(granted, ["b"]);
        t.unlock(&b, &r(0, 9));
        t.unlock(&a, &ByteRange::to_eof(0));
        let granted: Vec<_> = t.grant_waiters().into_iter().map(|w| w.data).collect();
        assert_eq!(granted, ["c", "d"]);
        assert_eq!(t.waiters().count(), 0);
        assert!(t.cancel(&c, &r(0, 9), true).is_none());
    }

    #[test]
    fn cancel_and_release_hosts() {
        let (a, b) = (owner(1, 1), owner(2, 1));
        let mut t = FileLocks::<u8>::new();
        t.lock(&a, r(0, 9), true).unwrap();
        t.enqueue(Waiter {
            owner: b.clone(),
            range: r(0, 9),
            exclusive: true,
            data: 7,
        });
        assert!(t.cancel(&b, &r(0, 9), false).is_none());
        assert_eq!(t.cancel(&b, &r(0, 9), true).map(|w| w.data), Some(7));
        t.enqueue(Waiter {
            owner: b.clone(),
            range: r(0, 9),
            exclusive: true,
            data: 8,
        });
        t.share(Share {
            host: 1,
            oh: Bytes::from_static(b"x"),
            deny: 0,
            access: 1,
        })
        .unwrap();
        assert_eq!(t.hosts().filter(|h| *h == 1).count(), 2);
        t.release_hosts(|h| h == 1);
        assert!(t.shares().is_empty());
        assert_eq!(t.grant_waiters().len(), 1);
        t.release_hosts(|h| h == 2);
        assert!(t.is_empty());
    }

    #[test]
    fn share_reservations() {
        let s = |host, oh: &'static [u8], deny, access| Share {
            host,
            oh: Bytes::from_static(oh),
            deny,
            access,
        };
        let mut t = FileLocks::<()>::new();
        // Host 1 reads and denies writing.
        t.share(s(1, b"o", 2, 1)).unwrap();
        // Host 2 may read, not write.
        t.share(s(2, b"o", 0, 1)).unwrap();
        assert_eq!(t.share(s(3, b"o", 0, 2)).unwrap_err().host, 1);
        // Host 3 cannot deny reading to the readers.
        assert!(t.share(s(3, b"o", 1, 0)).is_err());
        // The same owner changes its own reservation.
        t.share(s(1, b"o", 0, 1)).unwrap();
        assert_eq!(t.shares().len(), 2);
        t.unshare(1, b"o");
        t.unshare(2, b"o");
        t.share(s(3, b"o", 3, 3)).unwrap();
        assert!(
            t.share(s(4, b"p", 0, 0)).is_ok(),
            "no access contradicts nothing"
        );
    }
}
