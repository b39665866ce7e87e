//! [`DirCache`]: whole directory listings in memory, so that LOOKUP (hits and misses), the
//! name checks of CREATE/REMOVE/RENAME and READDIR pages are answered without SlateDB.
//!
//! A listing is cached only complete: every entry of the directory, by name and by cookie. A
//! directory made by MKDIR starts as a complete empty listing; an older one becomes one when a
//! READDIR from the start reads it whole (a *fill*). Directories with more than
//! [`DirCache::max_dir_entries`] entries are never cached: they are served from the store,
//! whose costs do not depend on the directory size.
//!
//! Coherence follows the inode cache (see [`super::inode_cache`]):
//! - **Writers publish.** Entries only change under their directory's lock, in a batch that
//!   `Fs::commit_batch` applies and then publishes here before the lock is released. So under
//!   the directory's lock a cached listing is exactly what the store holds.
//! - **Fills never miss a change.** A fill registers before it scans the store; every publish
//!   to a directory that is not cached bumps its registration, and a fill whose registration
//!   moved is dropped (its scan may predate the change).
//!
//! Shared by all cores; a few shards by directory, each with its own entry budget and
//! generational eviction of whole listings (as the inode cache does with inodes).

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::Bytes;
use parking_lot::Mutex;

use super::inode::DirentValue;
use super::types::{FileType, InodeId};
use crate::sharded::Sharded;

const SHARDS: usize = 8;
/// Entries kept by default over all listings (a name, its entry and its cookie: about 170
/// bytes each, so about 85 MiB when full).
pub const DEFAULT_DIR_CACHE_ENTRIES: usize = 512 * 1024;
/// Directories known to be too big to cache, remembered per shard (then forgotten all at once).
const MAX_TOO_BIG: usize = 4096;

/// One directory, complete.
#[derive(Debug, Default, Clone)]
struct Listing {
    by_name: HashMap<Bytes, DirentValue>,
    by_cookie: BTreeMap<u64, Bytes>,
}

/// One part of the cache: two generations of listings, and the fills under way.
#[derive(Default)]
struct Listings {
    young: HashMap<u64, Listing>,
    old: HashMap<u64, Listing>,
    /// Entries in `young` (its listings' sizes).
    young_entries: usize,
    /// Fills in progress: directory → changes published to it since the fill registered.
    filling: HashMap<u64, u64>,
    /// Directories a fill found too big (not worth scanning again and again).
    too_big: HashSet<u64>,
    stats: DirCacheStats,
}

/// What the cache knows about a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameLookup {
    /// The directory is cached and has this entry.
    Found(DirentValue),
    /// The directory is cached and has no such entry.
    Absent,
    /// The directory is not cached: ask the store.
    Unknown,
}

/// One entry of a listing page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageEntry {
    /// The entry's cookie.
    pub cookie: u64,
    /// Its name.
    pub name: Bytes,
    /// The inode it names.
    pub ino: InodeId,
    /// That inode's type.
    pub ftype: FileType,
}

/// A fill in progress (see [`DirCache::begin_fill`]); dropping it unfinished abandons it.
#[derive(Debug)]
pub struct DirFill<'a> {
    cache: &'a DirCache,
    dir: u64,
    finished: bool,
}

impl DirFill<'_> {
    /// Ends the fill with every entry of the directory as the store held it (`None`: more
    /// than [`DirCache::max_dir_entries`]). Kept only if nothing was published to the
    /// directory since [`DirCache::begin_fill`].
    pub fn finish(mut self, entries: Option<Vec<PageEntry>>) {
        self.finished = true;
        self.cache.finish_fill(self.dir, entries);
    }
}

impl Drop for DirFill<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.cache.shard(self.dir).lock().filling.remove(&self.dir);
        }
    }
}

/// Counters (for tests and the shutdown log).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DirCacheStats {
    /// Name lookups and pages answered from memory.
    pub hits: u64,
    /// Lookups and pages that went to the store.
    pub misses: u64,
    /// Listings read whole from the store and kept.
    pub fills: u64,
    /// Fills dropped because the directory changed while it was read.
    pub stale_fills: u64,
}

/// Complete directory listings, shared by all cores.
pub struct DirCache {
    shards: Sharded<Mutex<Listings>>,
    /// Entries per shard generation.
    per_generation: usize,
    max_dir_entries: usize,
}

impl std::fmt::Debug for DirCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirCache")
            .field("per_generation", &self.per_generation)
            .field("max_dir_entries", &self.max_dir_entries)
            .finish_non_exhaustive()
    }
}

impl DirCache {
    /// A cache of about `entries` directory entries in all; 0 disables it.
    pub fn new(entries: usize) -> Self {
        let per_generation = entries / SHARDS / 2;
        DirCache {
            shards: Sharded::with_default(SHARDS),
            per_generation,
            max_dir_entries: per_generation,
        }
    }

    /// Directories with more entries than this are not cached.
    pub fn max_dir_entries(&self) -> usize {
        self.max_dir_entries
    }

    fn shard(&self, dir: u64) -> &Mutex<Listings> {
        self.shards.part(dir)
    }

    /// Looks `name` up in `dir`.
    pub fn lookup(&self, dir: u64, name: &[u8]) -> NameLookup {
        let mut s = self.shard(dir).lock();
        let found =
            Self::touch(&mut s, dir, self.per_generation).map(|l| l.by_name.get(name).copied());
        match found {
            Some(Some(v)) => {
                s.stats.hits += 1;
                NameLookup::Found(v)
            }
            Some(None) => {
                s.stats.hits += 1;
                NameLookup::Absent
            }
            None => {
                s.stats.misses += 1;
                NameLookup::Unknown
            }
        }
    }

    /// Whether `dir` is cached and empty (`None`: not cached).
    pub fn is_empty_dir(&self, dir: u64) -> Option<bool> {
        let mut s = self.shard(dir).lock();
        Self::touch(&mut s, dir, self.per_generation).map(|l| l.by_name.is_empty())
    }

    /// Up to `max` entries of `dir` with cookies at or above `from`, and whether they reach the
    /// end of the directory; `None` if `dir` is not cached.
    pub fn page(&self, dir: u64, from: u64, max: usize) -> Option<(Vec<PageEntry>, bool)> {
        let mut s = self.shard(dir).lock();
        let Some(l) = Self::touch(&mut s, dir, self.per_generation) else {
            s.stats.misses += 1;
            return None;
        };
        let mut out = Vec::with_capacity(max.min(l.by_cookie.len()));
        let mut eof = true;
        for (&cookie, name) in l.by_cookie.range(from..) {
            if out.len() == max {
                eof = false;
                break;
            }
            if let Some(v) = l.by_name.get(name) {
                out.push(PageEntry {
                    cookie,
                    name: name.clone(),
                    ino: v.ino,
                    ftype: v.ftype,
                });
            }
        }
        s.stats.hits += 1;
        Some((out, eof))
    }

    /// The listing of `dir` if cached, moving it to the young generation.
    fn touch(s: &mut Listings, dir: u64, per_generation: usize) -> Option<&Listing> {
        if !s.young.contains_key(&dir) {
            let l = s.old.remove(&dir)?;
            Self::insert_young(s, dir, l, per_generation);
        }
        s.young.get(&dir)
    }

    fn insert_young(s: &mut Listings, dir: u64, l: Listing, per_generation: usize) {
        let n = l.by_name.len().max(1);
        if s.young_entries + n > per_generation && !s.young.is_empty() {
            // `young` is full: it becomes `old`, and the previous `old` is evicted.
            s.old = std::mem::take(&mut s.young);
            s.young_entries = 0;
        }
        s.old.remove(&dir);
        s.young_entries += n;
        if let Some(prev) = s.young.insert(dir, l) {
            s.young_entries -= prev.by_name.len().max(1);
        }
    }

    /// Starts reading `dir` whole to cache it: `None` if it is cached already, known to be too
    /// big, or being read by someone else. The caller scans the store *after* this call and
    /// ends with [`DirFill::finish`] (or drops the fill, which abandons it).
    pub fn begin_fill(&self, dir: u64) -> Option<DirFill<'_>> {
        if self.per_generation == 0 {
            return None;
        }
        let mut s = self.shard(dir).lock();
        if s.young.contains_key(&dir) || s.old.contains_key(&dir) || s.too_big.contains(&dir) {
            return None;
        }
        if s.filling.contains_key(&dir) {
            return None;
        }
        s.filling.insert(dir, 0);
        Some(DirFill {
            cache: self,
            dir,
            finished: false,
        })
    }

    fn finish_fill(&self, dir: u64, entries: Option<Vec<PageEntry>>) {
        let mut s = self.shard(dir).lock();
        let changes = s.filling.remove(&dir);
        let Some(entries) = entries else {
            if s.too_big.len() >= MAX_TOO_BIG {
                s.too_big.clear();
            }
            s.too_big.insert(dir);
            return;
        };
        if changes != Some(0) {
            s.stats.stale_fills += 1;
            return;
        }
        if entries.len() > self.max_dir_entries {
            s.too_big.insert(dir);
            return;
        }
        let mut l = Listing::default();
        for e in entries {
            l.by_name.insert(
                e.name.clone(),
                DirentValue {
                    ino: e.ino,
                    ftype: e.ftype,
                    cookie: e.cookie,
                },
            );
            l.by_cookie.insert(e.cookie, e.name);
        }
        s.stats.fills += 1;
        Self::insert_young(&mut s, dir, l, self.per_generation);
    }

    /// Publishes a new directory, empty (the caller holds its lock and its parent's).
    pub fn publish_new_dir(&self, dir: u64) {
        if self.per_generation == 0 {
            return;
        }
        let mut s = self.shard(dir).lock();
        s.too_big.remove(&dir);
        Self::insert_young(&mut s, dir, Listing::default(), self.per_generation);
    }

    /// Publishes entry `name` → `v` in `dir`, replacing any entry of that name (the caller
    /// holds the directory's lock and the change is applied in the store).
    pub fn publish_put(&self, dir: u64, name: &Bytes, v: DirentValue) {
        let mut s = self.shard(dir).lock();
        if let Some(c) = s.filling.get_mut(&dir) {
            *c += 1;
        }
        let max = self.max_dir_entries;
        let (len, added) = {
            let l = match s.young.get_mut(&dir) {
                Some(l) => Some(l),
                None => s.old.get_mut(&dir),
            };
            match l {
                None => return,
                Some(l) => {
                    let prev = l.by_name.insert(name.clone(), v);
                    if let Some(prev) = prev {
                        l.by_cookie.remove(&prev.cookie);
                    }
                    l.by_cookie.insert(v.cookie, name.clone());
                    (l.by_name.len(), prev.is_none())
                }
            }
        };
        if len > max {
            // Past the size worth keeping: from now on the store serves this directory.
            Self::drop_listing(&mut s, dir);
            s.too_big.insert(dir);
        } else if added && len > 1 && s.young.contains_key(&dir) {
            // (An empty listing already counted as one entry.)
            s.young_entries += 1;
        }
    }

    /// Publishes the removal of entry `name` from `dir` (the caller holds its lock).
    pub fn publish_delete(&self, dir: u64, name: &[u8]) {
        let mut s = self.shard(dir).lock();
        if let Some(c) = s.filling.get_mut(&dir) {
            *c += 1;
        }
        // A directory that shrinks may become small enough to cache again.
        s.too_big.remove(&dir);
        let l = match s.young.get_mut(&dir) {
            Some(l) => Some(l),
            None => s.old.get_mut(&dir),
        };
        if let Some(l) = l {
            if let Some(prev) = l.by_name.remove(name) {
                l.by_cookie.remove(&prev.cookie);
            }
        }
    }

    /// Forgets `dir` (removed, or its state is unknown after a failed write).
    pub fn forget(&self, dir: u64) {
        let mut s = self.shard(dir).lock();
        if let Some(c) = s.filling.get_mut(&dir) {
            *c += 1;
        }
        Self::drop_listing(&mut s, dir);
    }

    fn drop_listing(s: &mut Listings, dir: u64) {
        if let Some(l) = s.young.remove(&dir) {
            s.young_entries = s.young_entries.saturating_sub(l.by_name.len().max(1));
        }
        s.old.remove(&dir);
    }

    /// Counters since creation.
    pub fn stats(&self) -> DirCacheStats {
        let mut t = DirCacheStats::default();
        for s in self.shards.iter() {
            let st = s.lock().stats;
            t.hits += st.hits;
            t.misses += st.misses;
            t.fills += st.fills;
            t.stale_fills += st.stale_fills;
        }
        t
    }

    /// Every cached listing, as (directory, entries in cookie order), for consistency checks.
    pub fn snapshot(&self) -> Vec<(u64, Vec<PageEntry>)> {
        let mut out = Vec::new();
        for s in self.shards.iter() {
            let s = s.lock();
            for (&dir, l) in s.young.iter().chain(s.old.iter()) {
                let entries = l
                    .by_cookie
                    .iter()
                    .filter_map(|(&cookie, name)| {
                        let v = l.by_name.get(name)?;
                        Some(PageEntry {
                            cookie,
                            name: name.clone(),
                            ino: v.ino,
                            ftype: v.ftype,
                        })
                    })
                    .collect();
                out.push((dir, entries));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(ino: u64, cookie: u64) -> DirentValue {
        DirentValue {
            ino: InodeId(ino),
            ftype: FileType::Regular,
            cookie,
        }
    }

    fn e(name: &str, ino: u64, cookie: u64) -> PageEntry {
        PageEntry {
            cookie,
            name: Bytes::copy_from_slice(name.as_bytes()),
            ino: InodeId(ino),
            ftype: FileType::Regular,
        }
    }

    fn name(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn a_new_directory_is_complete_and_follows_publishes() {
        let c = DirCache::new(1 << 16);
        assert_eq!(c.lookup(10, b"a"), NameLookup::Unknown);
        c.publish_new_dir(10);
        assert_eq!(c.lookup(10, b"a"), NameLookup::Absent);
        assert_eq!(c.is_empty_dir(10), Some(true));
        c.publish_put(10, &name("a"), v(11, 3));
        c.publish_put(10, &name("b"), v(12, 4));
        assert_eq!(c.lookup(10, b"a"), NameLookup::Found(v(11, 3)));
        // A rename over "a" replaces its entry and its cookie.
        c.publish_put(10, &name("a"), v(12, 5));
        c.publish_delete(10, b"b");
        let (page, eof) = c.page(10, 0, 10).unwrap();
        assert!(eof);
        assert_eq!(page, vec![e("a", 12, 5)]);
        assert_eq!(c.is_empty_dir(10), Some(false));
        c.forget(10);
        assert_eq!(c.lookup(10, b"a"), NameLookup::Unknown);
    }

    #[test]
    fn pages_resume_at_a_cookie_and_say_eof() {
        let c = DirCache::new(1 << 16);
        c.publish_new_dir(1);
        for i in 0..10u64 {
            c.publish_put(1, &name(&format!("n{i}")), v(100 + i, 3 + i));
        }
        let (p, eof) = c.page(1, 0, 4).unwrap();
        assert_eq!((p.len(), eof), (4, false));
        let (p2, eof) = c.page(1, p[3].cookie + 1, 100).unwrap();
        assert_eq!((p2.len(), eof), (6, true));
        assert_eq!(p2[0].cookie, 7);
        let (p3, eof) = c.page(1, 13, 4).unwrap();
        assert_eq!((p3.len(), eof), (0, true));
    }

    #[test]
    fn a_fill_is_dropped_when_the_directory_changed_meanwhile() {
        let c = DirCache::new(1 << 16);
        let f = c.begin_fill(5).unwrap();
        // A second reader does not start another fill of the same directory.
        assert!(c.begin_fill(5).is_none());
        // The scan read one entry; meanwhile a writer added another.
        c.publish_put(5, &name("late"), v(7, 4));
        f.finish(Some(vec![e("early", 6, 3)]));
        assert_eq!(c.lookup(5, b"early"), NameLookup::Unknown);
        assert_eq!(c.stats().stale_fills, 1);
        // A quiet fill is kept.
        let f = c.begin_fill(5).unwrap();
        f.finish(Some(vec![e("early", 6, 3), e("late", 7, 4)]));
        assert_eq!(c.lookup(5, b"late"), NameLookup::Found(v(7, 4)));
        assert_eq!(c.lookup(5, b"other"), NameLookup::Absent);
        assert!(c.begin_fill(5).is_none(), "already cached");
    }

    #[test]
    fn big_directories_are_not_cached() {
        let c = DirCache::new(SHARDS * 2 * 4); // 4 entries per directory at most
        assert_eq!(c.max_dir_entries(), 4);
        let f = c.begin_fill(9).unwrap();
        f.finish(None);
        // An abandoned fill lets the next reader try.
        drop(c.begin_fill(8).unwrap());
        assert!(c.begin_fill(8).is_some());
        assert!(c.begin_fill(9).is_none(), "known to be too big");
        c.publish_new_dir(3);
        for i in 0..5u64 {
            c.publish_put(3, &name(&format!("x{i}")), v(50 + i, 3 + i));
        }
        assert_eq!(c.lookup(3, b"x0"), NameLookup::Unknown);
        // Shrinking makes it a candidate again.
        c.publish_delete(3, b"x4");
        assert!(c.begin_fill(3).is_some());
    }

    #[test]
    fn eviction_keeps_the_budget() {
        let c = DirCache::new(SHARDS * 2 * 8);
        for d in 0..1000u64 {
            c.publish_new_dir(d);
            c.publish_put(d, &name("f"), v(d + 10_000, 3));
        }
        let held: usize = c.snapshot().iter().map(|(_, e)| e.len().max(1)).sum();
        assert!(held <= SHARDS * 2 * 8, "{held}");
        assert!(c.lookup(999, b"f") != NameLookup::Unknown);
    }

    #[test]
    fn a_disabled_cache_holds_nothing() {
        let c = DirCache::new(0);
        c.publish_new_dir(1);
        assert_eq!(c.lookup(1, b"x"), NameLookup::Unknown);
        assert!(c.begin_fill(1).is_none());
    }
}
