//! The in-memory side of the cache: slot states, the key index, the per-inode
//! index and CLOCK eviction. No IO here, so every state transition is unit
//! tested synchronously.
//!
//! Every slot carries a generation that is bumped on *every* change of
//! ownership (free, evict, invalidate, new reservation). An IO started under
//! generation `g` only takes effect if the slot is still at `g` when the IO
//! completes: this is what makes invalidate win over an in-flight put and what
//! turns a read racing an eviction into a miss.
//!
//! A readable slot keeps one CRC32 per 4 KiB page of its chunk ([`PageCrcs`]),
//! so that a get of a few bytes reads and verifies only the pages around them.

use std::collections::{HashMap, HashSet};

use super::{CacheKey, MAX_CHUNK};

/// Granularity of the checksums: a get verifies whole pages of this size.
pub(crate) const PAGE_SIZE: usize = 4096;

/// Pages in the largest chunk.
const PAGES: usize = MAX_CHUNK / PAGE_SIZE;

/// CRC32 of each 4 KiB page of a chunk: page `i` is bytes
/// `[i * 4096, min((i + 1) * 4096, len))`, so the last page may be short and a
/// chunk of length 0 has none. Entries past the chunk's last page are 0 and
/// never looked at. 64 bytes per slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageCrcs([u32; PAGES]);

impl PageCrcs {
    /// The page checksums of `data`, or None if it is longer than a chunk.
    pub(crate) fn of(data: &[u8]) -> Option<Self> {
        if data.len() > MAX_CHUNK {
            return None;
        }
        let mut crcs = [0u32; PAGES];
        for (crc, page) in crcs.iter_mut().zip(data.chunks(PAGE_SIZE)) {
            *crc = crc32fast::hash(page);
        }
        Some(Self(crcs))
    }

    /// Whether `data`, the chunk's bytes from the start of page `first_page`
    /// on, matches: every page in it is checked whole, so `data` must end on a
    /// page boundary or at the chunk's end (where the last page is short).
    /// False if `data` reaches past the last page a chunk can have.
    pub(crate) fn verify(&self, first_page: usize, data: &[u8]) -> bool {
        data.chunks(PAGE_SIZE).enumerate().all(|(i, page)| {
            first_page
                .checked_add(i)
                .and_then(|p| self.0.get(p))
                .is_some_and(|&crc| crc32fast::hash(page) == crc)
        })
    }
}

/// What a slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// On the free list.
    Free,
    /// A put owns the slot and its write is in flight; gets miss.
    Writing { key: CacheKey },
    /// The put's write is still in flight but its key was invalidated,
    /// replaced or the put was cancelled. The slot is not reusable until
    /// that write completes (so two writes never overlap on one slot); the
    /// put that owns it (`writer_gen`) frees it when its IO ends.
    Abandoned { writer_gen: u64 },
    /// Holds `len` bytes of `key`, whose pages have the CRC32s `crcs`.
    Ready {
        key: CacheKey,
        len: u32,
        crcs: PageCrcs,
    },
}

#[derive(Debug)]
struct Slot {
    gen: u64,
    state: State,
    /// CLOCK reference bit.
    referenced: bool,
}

/// A put's claim on a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reservation {
    pub(crate) slot: u32,
    pub(crate) gen: u64,
}

/// What a get needs to read and verify a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadTicket {
    pub(crate) slot: u32,
    pub(crate) gen: u64,
    pub(crate) len: u32,
    pub(crate) crcs: PageCrcs,
}

/// Slot states plus indexes. Owned by one core.
#[derive(Debug)]
pub(crate) struct SlotTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
    index: HashMap<CacheKey, u32>,
    by_inode: HashMap<u64, HashSet<u64>>,
    hand: usize,
    resident_bytes: u64,
}

impl SlotTable {
    pub(crate) fn new(nslots: u32) -> Self {
        let slots = (0..nslots)
            .map(|_| Slot {
                gen: 0,
                state: State::Free,
                referenced: false,
            })
            .collect();
        // Pop from the end: hand out low slots first.
        let free = (0..nslots).rev().collect();
        Self {
            slots,
            free,
            index: HashMap::new(),
            by_inode: HashMap::new(),
            hand: 0,
            resident_bytes: 0,
        }
    }

    /// Number of keys that are readable or being written.
    pub(crate) fn entries(&self) -> usize {
        self.index.len()
    }

    /// Bytes of data held by readable slots.
    pub(crate) fn resident_bytes(&self) -> u64 {
        self.resident_bytes
    }

    fn slot_mut(&mut self, slot: u32) -> Option<&mut Slot> {
        self.slots.get_mut(slot as usize)
    }

    fn link(&mut self, key: CacheKey, slot: u32) {
        self.index.insert(key, slot);
        self.by_inode.entry(key.ino).or_default().insert(key.index);
    }

    fn unlink_inode(&mut self, key: CacheKey) {
        if let Some(set) = self.by_inode.get_mut(&key.ino) {
            set.remove(&key.index);
            if set.is_empty() {
                self.by_inode.remove(&key.ino);
            }
        }
    }

    /// Takes `slot` away from whatever it holds (the caller has already
    /// unlinked its key). Ready slots become free at once; a slot with a write
    /// in flight becomes Abandoned and is freed by its writer.
    fn release(&mut self, slot: u32) {
        let Some(s) = self.slots.get_mut(slot as usize) else {
            return;
        };
        let old_gen = s.gen;
        s.gen = s.gen.wrapping_add(1);
        s.referenced = false;
        match s.state {
            State::Ready { len, .. } => {
                self.resident_bytes -= u64::from(len);
                s.state = State::Free;
                self.free.push(slot);
            }
            State::Writing { .. } => {
                s.state = State::Abandoned {
                    writer_gen: old_gen,
                }
            }
            State::Free | State::Abandoned { .. } => {}
        }
    }

    /// Drops `key` if present. Returns whether it was.
    pub(crate) fn invalidate(&mut self, key: CacheKey) -> bool {
        match self.index.remove(&key) {
            Some(slot) => {
                self.unlink_inode(key);
                self.release(slot);
                true
            }
            None => false,
        }
    }

    /// Drops every chunk of `ino`. Returns how many were dropped.
    pub(crate) fn invalidate_inode(&mut self, ino: u64) -> usize {
        let Some(indices) = self.by_inode.remove(&ino) else {
            return 0;
        };
        let n = indices.len();
        for index in indices {
            if let Some(slot) = self.index.remove(&CacheKey { ino, index }) {
                self.release(slot);
            }
        }
        n
    }

    /// CLOCK: finds a Ready slot whose reference bit is clear, clearing bits
    /// on the way; slots with IO in flight are skipped. Two sweeps suffice.
    fn evict_one(&mut self) -> Option<u32> {
        let n = self.slots.len();
        for _ in 0..n.saturating_mul(2) {
            let i = self.hand;
            self.hand = (self.hand + 1) % n;
            let s = &mut self.slots[i];
            if let State::Ready { key, .. } = s.state {
                if s.referenced {
                    s.referenced = false;
                } else {
                    self.index.remove(&key);
                    self.unlink_inode(key);
                    let slot = i as u32;
                    self.release(slot);
                    // `release` pushed it on the free list: take it back.
                    if self.free.last() == Some(&slot) {
                        self.free.pop();
                    }
                    return Some(slot);
                }
            }
        }
        None
    }

    /// Claims a slot for writing `key`, dropping any previous entry of `key`
    /// (including one still being written: the newer put wins). Returns the
    /// claim and whether a resident chunk was evicted to make room, or None
    /// if every slot has IO in flight.
    pub(crate) fn reserve(&mut self, key: CacheKey) -> Option<(Reservation, bool)> {
        self.invalidate(key);
        let (slot, evicted) = match self.free.pop() {
            Some(slot) => (slot, false),
            None => (self.evict_one()?, true),
        };
        let s = self.slot_mut(slot)?;
        s.gen = s.gen.wrapping_add(1);
        s.state = State::Writing { key };
        s.referenced = false;
        let gen = s.gen;
        self.link(key, slot);
        Some((Reservation { slot, gen }, evicted))
    }

    /// The write of `r` completed: the slot becomes readable if nothing
    /// invalidated it meanwhile. Returns whether it did.
    pub(crate) fn commit(&mut self, r: Reservation, len: u32, crcs: PageCrcs) -> bool {
        let Some(s) = self.slot_mut(r.slot) else {
            return false;
        };
        match s.state {
            State::Writing { key } if s.gen == r.gen => {
                s.state = State::Ready { key, len, crcs };
                // No reference bit until it is read: a chunk that is written
                // and never read goes first, a read one gets a second chance.
                // The hand has just passed a freshly evicted slot, so a new
                // chunk still survives a full sweep.
                s.referenced = false;
                self.resident_bytes += u64::from(len);
                true
            }
            State::Abandoned { writer_gen } if writer_gen == r.gen => {
                s.state = State::Free;
                self.free.push(r.slot);
                false
            }
            _ => false,
        }
    }

    /// The write of `r` failed or was cancelled: give the slot back.
    pub(crate) fn abort(&mut self, r: Reservation) {
        let Some(s) = self.slot_mut(r.slot) else {
            return;
        };
        match s.state {
            State::Writing { key } if s.gen == r.gen => {
                s.gen = s.gen.wrapping_add(1);
                s.state = State::Free;
                self.index.remove(&key);
                self.unlink_inode(key);
                self.free.push(r.slot);
            }
            State::Abandoned { writer_gen } if writer_gen == r.gen => {
                s.state = State::Free;
                self.free.push(r.slot);
            }
            _ => {}
        }
    }

    /// Where `key` can be read from, if it is readable now. Marks it used.
    pub(crate) fn lookup(&mut self, key: CacheKey) -> Option<ReadTicket> {
        let slot = *self.index.get(&key)?;
        let s = self.slot_mut(slot)?;
        match s.state {
            State::Ready { len, crcs, .. } => {
                s.referenced = true;
                Some(ReadTicket {
                    slot,
                    gen: s.gen,
                    len,
                    crcs,
                })
            }
            _ => None,
        }
    }

    /// Whether the slot read under `t` still holds the same chunk.
    pub(crate) fn still_valid(&self, t: &ReadTicket) -> bool {
        self.slots
            .get(t.slot as usize)
            .is_some_and(|s| s.gen == t.gen && matches!(s.state, State::Ready { .. }))
    }

    /// Drops the chunk read under `t` (it failed its checksum or its read),
    /// unless the slot changed hands meanwhile.
    pub(crate) fn discard(&mut self, t: &ReadTicket) {
        if !self.still_valid(t) {
            return;
        }
        if let Some(State::Ready { key, .. }) = self.slots.get(t.slot as usize).map(|s| s.state) {
            self.index.remove(&key);
            self.unlink_inode(key);
            self.release(t.slot);
        }
    }

    /// Internal consistency, for tests.
    #[cfg(test)]
    fn check(&self) {
        let mut resident = 0u64;
        let mut linked = 0usize;
        for (i, s) in self.slots.iter().enumerate() {
            let on_free = self.free.contains(&(i as u32));
            assert_eq!(on_free, s.state == State::Free, "slot {i} {:?}", s.state);
            match s.state {
                State::Ready { key, len, .. } => {
                    resident += u64::from(len);
                    linked += 1;
                    assert_eq!(self.index.get(&key), Some(&(i as u32)));
                    assert!(self.by_inode[&key.ino].contains(&key.index));
                }
                State::Writing { key } => {
                    linked += 1;
                    assert_eq!(self.index.get(&key), Some(&(i as u32)));
                }
                _ => {}
            }
        }
        assert_eq!(resident, self.resident_bytes);
        assert_eq!(linked, self.index.len());
        let by_inode: usize = self.by_inode.values().map(HashSet::len).sum();
        assert_eq!(by_inode, self.index.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(ino: u64, index: u64) -> CacheKey {
        CacheKey { ino, index }
    }

    /// The page checksums of `len` bytes of `b`.
    fn crcs(b: u8, len: usize) -> PageCrcs {
        PageCrcs::of(&vec![b; len]).unwrap()
    }

    #[test]
    fn reserve_commit_lookup() {
        let mut t = SlotTable::new(2);
        let (r, evicted) = t.reserve(k(1, 0)).unwrap();
        assert!(!evicted);
        assert_eq!(t.lookup(k(1, 0)), None, "a chunk being written is a miss");
        assert!(t.commit(r, 10, crcs(7, 10)));
        let tk = t.lookup(k(1, 0)).unwrap();
        assert_eq!((tk.len, tk.crcs), (10, crcs(7, 10)));
        assert!(t.still_valid(&tk));
        assert_eq!(t.resident_bytes(), 10);
        t.check();
    }

    #[test]
    fn invalidate_during_write_wins() {
        let mut t = SlotTable::new(1);
        let (r, _) = t.reserve(k(1, 0)).unwrap();
        assert!(t.invalidate(k(1, 0)));
        // The slot is not reusable while the write is in flight.
        assert!(t.reserve(k(2, 0)).is_none());
        assert!(!t.commit(r, 10, crcs(7, 10)));
        assert_eq!(t.lookup(k(1, 0)), None);
        t.check();
        // Freed by the commit.
        assert!(t.reserve(k(2, 0)).is_some());
        t.check();
    }

    #[test]
    fn newer_put_replaces_in_flight_one() {
        let mut t = SlotTable::new(2);
        let (r1, _) = t.reserve(k(1, 0)).unwrap();
        let (r2, _) = t.reserve(k(1, 0)).unwrap();
        assert_ne!(r1.slot, r2.slot);
        assert!(t.commit(r2, 2, crcs(2, 2)));
        assert!(!t.commit(r1, 1, crcs(1, 1)));
        assert_eq!(t.lookup(k(1, 0)).unwrap().crcs, crcs(2, 2));
        t.check();
    }

    #[test]
    fn abort_frees_and_unlinks() {
        let mut t = SlotTable::new(1);
        let (r, _) = t.reserve(k(1, 0)).unwrap();
        t.abort(r);
        t.check();
        assert_eq!(t.entries(), 0);
        let (r2, _) = t.reserve(k(1, 1)).unwrap();
        // A stale abort or commit of the old claim changes nothing.
        t.abort(r);
        assert!(!t.commit(r, 1, crcs(1, 1)));
        assert!(t.commit(r2, 1, crcs(1, 1)));
        t.check();
    }

    #[test]
    fn clock_gives_second_chance() {
        let mut t = SlotTable::new(3);
        for i in 0..3 {
            let (r, _) = t.reserve(k(1, i)).unwrap();
            t.commit(r, 1, crcs(0, 1));
        }
        // 0 is read: it survives the next eviction, 1 (never read) goes.
        t.lookup(k(1, 0)).unwrap();
        let (r, evicted) = t.reserve(k(1, 3)).unwrap();
        assert!(evicted);
        t.commit(r, 1, crcs(0, 1));
        assert!(t.lookup(k(1, 1)).is_none());
        // The hand is at 2 (never read): it goes.
        let (r, _) = t.reserve(k(1, 4)).unwrap();
        t.commit(r, 1, crcs(0, 1));
        assert!(t.lookup(k(1, 2)).is_none());
        // 0's bit was cleared by the first sweep and it was not read since.
        let (r, _) = t.reserve(k(1, 5)).unwrap();
        t.commit(r, 1, crcs(0, 1));
        assert!(t.lookup(k(1, 0)).is_none());
        assert!(t.lookup(k(1, 3)).is_some());
        assert!(t.lookup(k(1, 4)).is_some());
        t.check();
    }

    #[test]
    fn all_referenced_degrades_to_fifo() {
        let mut t = SlotTable::new(2);
        for i in 0..2 {
            let (r, _) = t.reserve(k(1, i)).unwrap();
            t.commit(r, 1, crcs(0, 1));
            t.lookup(k(1, i)).unwrap();
        }
        let (_, evicted) = t.reserve(k(1, 2)).unwrap();
        assert!(evicted);
        assert!(t.lookup(k(1, 0)).is_none());
        t.check();
    }

    #[test]
    fn read_racing_eviction_is_detected() {
        let mut t = SlotTable::new(1);
        let (r, _) = t.reserve(k(1, 0)).unwrap();
        t.commit(r, 1, crcs(0, 1));
        let tk = t.lookup(k(1, 0)).unwrap();
        let (r, _) = t.reserve(k(2, 0)).unwrap();
        assert!(!t.still_valid(&tk));
        t.discard(&tk); // must not touch the new owner
        assert!(t.commit(r, 1, crcs(0, 1)));
        assert!(t.lookup(k(2, 0)).is_some());
        t.check();
    }

    #[test]
    fn invalidate_inode_drops_only_that_inode() {
        let mut t = SlotTable::new(8);
        for ino in 1..=2 {
            for i in 0..3 {
                let (r, _) = t.reserve(k(ino, i)).unwrap();
                t.commit(r, 1, crcs(0, 1));
            }
        }
        let (_in_flight, _) = t.reserve(k(1, 9)).unwrap();
        assert_eq!(t.invalidate_inode(1), 4);
        assert_eq!(t.invalidate_inode(1), 0);
        assert!((0..3).all(|i| t.lookup(k(1, i)).is_none()));
        assert!((0..3).all(|i| t.lookup(k(2, i)).is_some()));
        t.check();
    }

    #[test]
    fn zero_slots_never_reserves() {
        let mut t = SlotTable::new(0);
        assert!(t.reserve(k(1, 0)).is_none());
        t.check();
    }

    #[test]
    fn all_busy_gives_up() {
        let mut t = SlotTable::new(2);
        let _a = t.reserve(k(1, 0)).unwrap();
        let _b = t.reserve(k(1, 1)).unwrap();
        assert!(t.reserve(k(1, 2)).is_none());
        // The failed reserve must not have dropped anything.
        assert_eq!(t.entries(), 2);
        t.check();
    }

    /// Content that differs from page to page and byte to byte.
    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 4096) as u8).collect()
    }

    #[test]
    fn page_crcs_cover_each_page_and_a_short_last_one() {
        assert_eq!(PageCrcs::of(&[]), Some(PageCrcs([0; PAGES])), "no pages");
        for len in [1, 4095, 4096, 4097, 10_000, MAX_CHUNK - 1, MAX_CHUNK] {
            let data = pattern(len);
            let c = PageCrcs::of(&data).unwrap();
            let pages = len.div_ceil(PAGE_SIZE);
            for p in 0..PAGES {
                let want = if p < pages {
                    let end = ((p + 1) * PAGE_SIZE).min(len);
                    crc32fast::hash(&data[p * PAGE_SIZE..end])
                } else {
                    0
                };
                assert_eq!(c.0[p], want, "len {len} page {p}");
            }
        }
        assert_eq!(PageCrcs::of(&pattern(MAX_CHUNK + 1)), None);
    }

    #[test]
    fn verify_checks_the_pages_given_and_only_those() {
        let data = pattern(10_000); // pages 0 and 1 whole, page 2 of 1808 bytes
        let c = PageCrcs::of(&data).unwrap();
        assert!(c.verify(0, &data));
        assert!(c.verify(0, &data[..4096]));
        assert!(c.verify(1, &data[4096..8192]));
        assert!(c.verify(1, &data[4096..]));
        assert!(c.verify(2, &data[8192..]), "short last page");
        assert!(c.verify(2, &[]), "nothing to check");
        // A part of a page is not the page.
        assert!(!c.verify(0, &data[..4000]));
        assert!(!c.verify(2, &data[8192..9000]));
        // Wrong place, wrong bytes.
        assert!(!c.verify(0, &data[4096..8192]));
        let mut bad = data.clone();
        bad[5000] ^= 1;
        assert!(!c.verify(0, &bad));
        assert!(!c.verify(1, &bad[4096..8192]));
        // Pages 0 and 2 do not contain the bad byte.
        assert!(c.verify(0, &bad[..4096]));
        assert!(c.verify(2, &bad[8192..]));
        // Past the last page a chunk can have: never valid, never a panic.
        let full = PageCrcs::of(&pattern(MAX_CHUNK)).unwrap();
        assert!(full.verify(15, &pattern(MAX_CHUNK)[15 * PAGE_SIZE..]));
        assert!(!full.verify(15, &[0; PAGE_SIZE + 1]));
        assert!(!full.verify(PAGES, &[0]));
        assert!(!full.verify(usize::MAX, &[0]));
    }

    #[test]
    fn lookup_hands_out_the_committed_page_crcs() {
        let mut t = SlotTable::new(2);
        let data = pattern(9000);
        let want = PageCrcs::of(&data).unwrap();
        let (r, _) = t.reserve(k(1, 0)).unwrap();
        assert!(t.commit(r, 9000, want));
        let tk = t.lookup(k(1, 0)).unwrap();
        assert_eq!((tk.len, tk.crcs), (9000, want));
        assert!(tk.crcs.verify(1, &data[4096..]));
        // A newer version of the key brings its own checksums.
        let data2 = vec![0xEE; 100];
        let (r, _) = t.reserve(k(1, 0)).unwrap();
        assert!(!t.still_valid(&tk));
        assert!(t.commit(r, 100, PageCrcs::of(&data2).unwrap()));
        let tk2 = t.lookup(k(1, 0)).unwrap();
        assert!(tk2.crcs.verify(0, &data2));
        assert!(!tk2.crcs.verify(0, &data[..100]));
        t.check();
    }

    /// The per-slot memory the module docs quote (64-bit targets).
    #[test]
    fn slot_stays_small() {
        assert_eq!(std::mem::size_of::<PageCrcs>(), 64);
        assert!(
            std::mem::size_of::<Slot>() <= 112,
            "{}",
            std::mem::size_of::<Slot>()
        );
    }
}
