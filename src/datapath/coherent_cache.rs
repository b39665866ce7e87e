//! [`CoherentCache`]: one core's chunk cache, and the bookkeeping that keeps it coherent with
//! the store without locks.
//!
//! Coherence rests on two rules:
//! - Ownership: every READ, WRITE and truncating SETATTR of a file runs on the file's owner core
//!   (the runtime routes by the file handle), so the owner sees those changes. A change
//!   invalidates the affected chunks once the store has applied it and bumps `data_epoch`; a
//!   cache fill after a miss only happens if no change completed on this core while the chunk
//!   was read from the store (a read that raced a write may have seen the old bytes).
//! - ctime: the one change that can happen elsewhere is a CREATE (UNCHECKED) that truncates an
//!   existing file through its directory, on the directory's core. Every data change sets the
//!   file's ctime, so the core remembers the ctime its cached chunks of a file are valid for;
//!   a READ that finds another ctime drops the file's chunks first.
//!
//! Writes to one file are applied in ctime order (under its inode lock) but report back here in
//! any order (they wait for the store after unlocking), so a write whose ctime change does not
//! start where the cache's does is kept aside until the earlier ones have reported: then the
//! cache is valid for the last ctime of the chain, and concurrent WRITEs do not drop a file's
//! cached chunks.
//!
//! Removed files need nothing: inode ids are never reused, so their chunks are unreachable.
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::ops::Range;
use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;
use futures::channel::oneshot;
use futures::future::{join_all, Shared};
use futures::FutureExt;

use super::staged::StagedChunks;
use crate::cache::{CacheKey, ChunkCache};
use crate::fs::data::assemble_pieces;
use crate::fs::{assemble_range, chunk_span, Fs, FsResult, InodeId, Timestamp, CHUNK_SIZE};
use crate::metrics::metrics;

/// Files whose cache validity is remembered; past this the table (and the chunks it vouches
/// for) is dropped and rebuilt.
const MAX_TRACKED_FILES: usize = 1 << 16;

/// Out-of-order changes kept per file; past this the file's chunks are dropped.
const MAX_CHANGES_AHEAD: usize = 64;

/// What this core knows about the cached chunks of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileValidity {
    /// The ctime the cached chunks are valid for.
    ctime: Timestamp,
    /// `data_epoch` of the last change of the file made on this core (a write-through put
    /// checks it is still its own).
    epoch: u64,
    /// Changes that reported before an earlier one: (ctime before, ctime after). Their chunks
    /// are dropped already; they only wait for the chain from `ctime` to reach them.
    ahead: Vec<(Timestamp, Timestamp)>,
}

impl FileValidity {
    fn new(ctime: Timestamp, epoch: u64) -> Self {
        FileValidity {
            ctime,
            epoch,
            ahead: Vec::new(),
        }
    }

    /// Whether a write-through put made for the change to `ctime` at `epoch` is still current.
    fn is_current_for(&self, (ctime, epoch): (Timestamp, u64)) -> bool {
        self.ctime == ctime && self.epoch == epoch
    }

    /// Records a change from `before` to `after` whose chunks were dropped already. Returns
    /// false if the cache can no longer vouch for the file.
    fn changed(&mut self, before: Timestamp, after: Timestamp, epoch: u64) -> bool {
        self.epoch = epoch;
        if before != self.ctime {
            if self.ahead.len() >= MAX_CHANGES_AHEAD {
                return false;
            }
            self.ahead.push((before, after));
            return true;
        }
        self.ctime = after;
        while let Some(i) = self.ahead.iter().position(|&(b, _)| b == self.ctime) {
            self.ctime = self.ahead.swap_remove(i).1;
        }
        // A change that ended at or before the cache's ctime can no longer link up (a READ
        // re-validated the file meanwhile): ctimes of one file only grow.
        let now = self.ctime;
        self.ahead.retain(|&(_, a)| a > now);
        true
    }
}

/// Caches `chunks` (index, bytes) of `ino`: claims their slots now, so a change that completes
/// later invalidates them however long the writes take, and returns the writes to run. Callers
/// check, without awaiting since, that the bytes are current.
fn put_chunks<'a>(
    cache: &ChunkCache,
    ino: InodeId,
    chunks: impl Iterator<Item = (u64, &'a [u8])>,
) -> impl Future<Output = ()> + 'static {
    let puts: Vec<_> = chunks
        .map(|(index, data)| cache.start_put(CacheKey { ino: ino.0, index }, data))
        .collect();
    async move {
        join_all(puts).await;
    }
}

/// Runs the cache writes of a fill in the background.
fn put_chunks_in_background<'a>(
    cache: &ChunkCache,
    ino: InodeId,
    chunks: impl Iterator<Item = (u64, &'a [u8])>,
) {
    glommio::spawn_local(put_chunks(cache, ino, chunks)).detach();
}

/// The chunks `indexes` (ascending) of `ino` from the store, one `(index, bytes)` per index: a
/// hole is empty bytes, which the cache serves as zeros. One range read covers them all.
async fn fetch_chunks(fs: &Fs, ino: InodeId, indexes: &[u64]) -> FsResult<Vec<(u64, Bytes)>> {
    let (Some(&lo), Some(&hi)) = (indexes.first(), indexes.last()) else {
        return Ok(Vec::new());
    };
    let mut fetched = fs.read_chunks(ino, lo, hi).await?.into_iter().peekable();
    let mut out = Vec::with_capacity(indexes.len());
    for &index in indexes {
        while fetched.peek().is_some_and(|(i, _)| *i < index) {
            fetched.next();
        }
        let data = match fetched.peek() {
            Some((i, _)) if *i == index => fetched.next().map(|(_, d)| d).unwrap_or_default(),
            _ => Bytes::new(),
        };
        out.push((index, data));
    }
    Ok(out)
}

/// Chunks read-ahead fetches per store read (one ranged GET when they are stored together).
const PREFETCH_UNIT: u64 = 16;
/// Bytes of read-ahead one core has in flight or staged at most.
const READ_AHEAD_BUDGET: u64 = 192 << 20;

/// Completes when a read-ahead fetch has staged its chunks, as soon as the store returned
/// them (`Err` if the fetch failed or was stale): a READ that waited then takes them from
/// memory.
type FetchDone = Shared<oneshot::Receiver<()>>;

/// Whether read-ahead of a file of `size` bytes should also fill the chunk cache. A stream
/// through a file larger than half the core's cache would only push out what the cache holds
/// (and cost the core a write per chunk) before a second pass could use it; its READs are
/// served from the staged chunks.
fn read_ahead_fills_cache(cache: &ChunkCache, size: u64) -> bool {
    size <= cache.capacity_bytes() / 2
}

/// One core's chunk cache (if it has one) and what it knows of the validity of its chunks.
/// Lives on its core (not `Send`); cheap to clone (read-ahead tasks hold a clone).
#[derive(Clone)]
pub struct CoherentCache(Rc<CacheState>);

pub struct CacheState {
    cache: Option<ChunkCache>,
    /// Bumped by every change of file data on this core; a fill after a miss claims its slots
    /// only if no change completed while the chunks were read from the store.
    data_epoch: Cell<u64>,
    /// File → what its cached chunks are valid for.
    valid_at: RefCell<HashMap<u64, FileValidity>>,
    /// Chunks read-ahead is fetching: a READ that needs one waits for that fetch.
    fetching: RefCell<HashMap<CacheKey, FetchDone>>,
    /// Chunks read-ahead fetched that no READ has taken yet.
    staged: RefCell<StagedChunks>,
    /// Bytes of read-ahead in flight.
    prefetching: Cell<u64>,
}

impl std::ops::Deref for CoherentCache {
    type Target = CacheState;
    fn deref(&self) -> &CacheState {
        &self.0
    }
}

impl CoherentCache {
    /// Bookkeeping around `cache`; with `None` every read goes to the store.
    pub fn new(cache: Option<ChunkCache>) -> Self {
        CoherentCache(Rc::new(CacheState {
            cache,
            data_epoch: Cell::new(0),
            valid_at: RefCell::new(HashMap::new()),
            fetching: RefCell::new(HashMap::new()),
            staged: RefCell::new(StagedChunks::new(READ_AHEAD_BUDGET)),
            prefetching: Cell::new(0),
        }))
    }

    /// The chunk cache, if this core has one.
    pub fn cache(&self) -> Option<&ChunkCache> {
        self.cache.as_ref()
    }

    /// Records that the data of `ino` changed on this core: chunks `first..=last`, or all of
    /// them. `ctimes` are the file's ctime before and after the change, when known: if the
    /// cache was valid just before, the chunks it still holds are valid after.
    pub fn file_data_changed(
        &self,
        ino: InodeId,
        chunks: Option<(u64, u64)>,
        ctimes: Option<(Timestamp, Timestamp)>,
    ) {
        self.data_epoch.set(self.data_epoch.get() + 1);
        self.staged.borrow_mut().drop_file(ino.0);
        let Some(cache) = &self.cache else { return };
        match chunks {
            Some((first, last)) if last - first < 64 => {
                for index in first..=last {
                    cache.invalidate(CacheKey { ino: ino.0, index });
                }
            }
            _ => cache.invalidate_inode(ino.0),
        }
        let epoch = self.data_epoch.get();
        let mut valid = self.valid_at.borrow_mut();
        match (chunks, ctimes) {
            // Everything was dropped: valid for the new ctime whatever came before.
            (None, Some((_, after))) => {
                valid.insert(ino.0, FileValidity::new(after, epoch));
            }
            (Some(_), Some((before, after))) => {
                let linked = valid
                    .get_mut(&ino.0)
                    .is_some_and(|v| v.changed(before, after, epoch));
                if !linked {
                    // Chunks other than this change's may be stale: the next write or read
                    // drops them all.
                    valid.remove(&ino.0);
                }
            }
            _ => {
                valid.remove(&ino.0);
            }
        }
    }

    /// Records a successful WRITE of `data` at `offset` that moved the file's ctime from
    /// `ctimes.0` to `ctimes.1`, and caches the whole 64 KiB chunks it wrote (write-through,
    /// in the background), so that reading back what was just written is served locally, as
    /// a page cache would serve it.
    pub fn file_written(
        &self,
        ino: InodeId,
        offset: u64,
        data: &Bytes,
        ctimes: (Timestamp, Timestamp),
    ) {
        let end = offset + data.len() as u64;
        let (first, last) = chunk_span(offset, end);
        let Some(cache) = &self.cache else {
            self.file_data_changed(ino, Some((first, last)), Some(ctimes));
            return;
        };
        if !self.valid_at.borrow().contains_key(&ino.0) {
            // Nothing vouches for this file's cached chunks: drop them all, after which the
            // cache is valid for the new ctime.
            self.file_data_changed(ino, None, Some(ctimes));
        } else {
            self.file_data_changed(ino, Some((first, last)), Some(ctimes));
        }
        let mine = (ctimes.1, self.data_epoch.get());
        if !self
            .valid_at
            .borrow()
            .get(&ino.0)
            .is_some_and(|v| v.is_current_for(mine))
        {
            return;
        }
        // Right after the check that this write is the file's latest change.
        let whole = (first..=last).filter_map(|index| {
            let cstart = index * CHUNK_SIZE;
            (cstart >= offset && cstart + CHUNK_SIZE <= end).then(|| {
                let at = (cstart - offset) as usize;
                (index, &data[at..at + CHUNK_SIZE as usize])
            })
        });
        put_chunks_in_background(cache, ino, whole);
    }

    /// Staged chunks: (fresh, held), where fresh ones are those no READ has read to their end
    /// yet. Counts them all: for tests.
    pub fn staged_chunk_counts(&self) -> (usize, usize) {
        let staged = self.staged.borrow();
        (staged.fresh_len(), staged.len())
    }

    /// Chunks read-ahead is fetching (and, if it fills the cache, writing to it): for tests.
    pub fn chunks_being_fetched(&self) -> usize {
        self.fetching.borrow().len()
    }

    /// Whether the cached chunks of `ino` are (still) valid for `ctime`.
    fn valid_for(&self, ino: InodeId, ctime: Timestamp) -> bool {
        self.valid_at
            .borrow()
            .get(&ino.0)
            .is_some_and(|v| v.ctime == ctime)
    }

    /// Makes sure the cached chunks of `ino` are valid for `ctime` (dropping them if not).
    fn validate(&self, cache: &ChunkCache, ino: InodeId, ctime: Timestamp) {
        let mut valid = self.valid_at.borrow_mut();
        if valid.get(&ino.0).is_some_and(|v| v.ctime == ctime) {
            return;
        }
        if valid.len() >= MAX_TRACKED_FILES {
            for (old, _) in valid.drain() {
                cache.invalidate_inode(old);
            }
        }
        cache.invalidate_inode(ino.0);
        self.staged.borrow_mut().drop_file(ino.0);
        valid.insert(ino.0, FileValidity::new(ctime, self.data_epoch.get()));
    }

    /// Takes from the staged chunks those of `indexes` held for `ctime`, as pieces (file
    /// offset of the chunk, bytes); returns the indexes left. A chunk the READ reads to its
    /// end (`end`; a short chunk, the file's last, ends where its bytes do) becomes used: a
    /// sequential reader has moved past it, and it is the first to go.
    fn take_staged(
        &self,
        ino: InodeId,
        ctime: Timestamp,
        indexes: Vec<u64>,
        end: u64,
        pieces: &mut Vec<(u64, Bytes)>,
    ) -> Vec<u64> {
        let mut staged = self.staged.borrow_mut();
        if staged.is_empty() {
            return indexes;
        }
        let now = Instant::now();
        staged.expire(now);
        let mut left = Vec::new();
        for index in indexes {
            match staged.get(ino.0, index, ctime) {
                Some(data) => {
                    let chunk_end = match data.len() as u64 {
                        0 => (index + 1) * CHUNK_SIZE,
                        len => index * CHUNK_SIZE + len,
                    };
                    if end >= chunk_end && staged.finish(ino.0, index, now) {
                        metrics().chunk_cache.read_ahead_used.inc();
                    }
                    pieces.push((index * CHUNK_SIZE, data));
                }
                None => left.push(index),
            }
        }
        left
    }

    /// Bytes `[start, end)` of `ino` (inside its size), whose ctime was just read as `ctime`:
    /// chunks read-ahead staged, else from the cache where present, the rest from the store in
    /// one range read, then cached in the background. Of the first and last chunk only the
    /// part the range needs is read from the cache (a 4 KiB READ reads a 4 KiB page, not its
    /// 64 KiB chunk); a miss still fetches and caches the whole chunk.
    pub async fn read_range(
        &self,
        fs: &Fs,
        ino: InodeId,
        ctime: Timestamp,
        start: u64,
        end: u64,
    ) -> FsResult<Bytes> {
        let (first, last) = chunk_span(start, end);
        let Some(cache) = &self.cache else {
            let chunks = fs.read_chunks(ino, first, last).await?;
            return Ok(assemble_range(start, end, &chunks));
        };
        self.validate(cache, ino, ctime);
        // (file offset of the piece's first byte, bytes): a cached piece starts where the
        // range needs it to (it may be shorter, if its chunk is); a staged or fetched one is
        // the whole chunk.
        let mut pieces: Vec<(u64, Bytes)> = Vec::with_capacity((last - first + 1) as usize);
        let wanted = self.take_staged(ino, ctime, (first..=last).collect(), end, &mut pieces);
        // The part of chunk `index` that `[start, end)` needs, as offsets inside the chunk.
        let needed = |index: u64| {
            let cstart = index * CHUNK_SIZE;
            (
                start.max(cstart) - cstart,
                end.min(cstart + CHUNK_SIZE) - cstart,
            )
        };
        // Looks `indexes` up in the cache: (pieces found, indexes missing).
        let from_cache = |indexes: Vec<u64>| {
            let lookups = indexes.iter().map(|&index| {
                let (lo, hi) = needed(index);
                // Both are at most CHUNK_SIZE, so the casts are exact.
                cache.get_range(CacheKey { ino: ino.0, index }, lo as usize, hi as usize)
            });
            let lookups = join_all(lookups);
            async move {
                let mut found = Vec::with_capacity(indexes.len());
                let mut missing = Vec::new();
                for (index, got) in indexes.into_iter().zip(lookups.await) {
                    match got {
                        Some(data) => found.push((index * CHUNK_SIZE + needed(index).0, data)),
                        None => missing.push(index),
                    }
                }
                (found, missing)
            }
        };
        let (found, mut missing) = from_cache(wanted).await;
        pieces.extend(found);
        // Chunks that read-ahead is fetching: wait for the fetch, then take them from the
        // staged chunks (unless a change dropped them meanwhile), else from the cache.
        let waits: Vec<FetchDone> = {
            let fetching = self.fetching.borrow();
            missing
                .iter()
                .filter_map(|&index| fetching.get(&CacheKey { ino: ino.0, index }).cloned())
                .collect()
        };
        if !waits.is_empty() {
            join_all(waits).await;
            let left = self.take_staged(ino, ctime, missing, end, &mut pieces);
            let found;
            (found, missing) = from_cache(left).await;
            pieces.extend(found);
        }
        if !missing.is_empty() {
            let epoch = self.data_epoch.get();
            let fills = fetch_chunks(fs, ino, &missing).await?;
            // No change completed on this core while the chunks were read: claim their slots
            // now (a change that completes later invalidates them, and wins).
            if self.data_epoch.get() == epoch {
                put_chunks_in_background(cache, ino, fills.iter().map(|(i, d)| (*i, &d[..])));
            }
            pieces.extend(fills.into_iter().map(|(i, d)| (i * CHUNK_SIZE, d)));
        }
        Ok(assemble_pieces(start, end, &pieces))
    }

    /// Fetches bytes `range` (chunk-aligned) of `ino`, whose ctime was just read as `ctime`
    /// and whose size as `size`, ahead of the READs that will want them: in units of
    /// [`PREFETCH_UNIT`] chunks, one store read each, in the background, skipping chunks that
    /// are cached, staged or being fetched, and no more than the core's read-ahead budget
    /// allows at once. What a fetch gets is staged in memory for those READs and, unless the
    /// file is too large for it to pay, written to the cache.
    pub fn prefetch(&self, fs: &Fs, ino: InodeId, ctime: Timestamp, size: u64, range: Range<u64>) {
        let Some(cache) = &self.cache else { return };
        if range.is_empty() {
            return;
        }
        self.validate(cache, ino, ctime);
        let fill_cache = read_ahead_fills_cache(cache, size);
        let (first, last) = chunk_span(range.start, range.end);
        let mut unit_start = first;
        while unit_start <= last {
            let unit_end = (unit_start + PREFETCH_UNIT - 1).min(last);
            let wanted: Vec<u64> = {
                let fetching = self.fetching.borrow();
                let staged = self.staged.borrow();
                (unit_start..=unit_end)
                    .filter(|&index| {
                        let key = CacheKey { ino: ino.0, index };
                        !fetching.contains_key(&key)
                            && !staged.contains(ino.0, index)
                            && !cache.holds(key)
                    })
                    .collect()
            };
            unit_start = unit_end + 1;
            if wanted.is_empty() {
                continue;
            }
            // Room for what is in flight and this fetch, next to what is staged: never by
            // evicting chunks streams are about to read.
            let bytes = StagedChunks::room_for(wanted.len());
            let now = Instant::now();
            if !(self.staged.borrow_mut()).make_room(self.prefetching.get() + bytes, now) {
                return;
            }
            self.prefetching.set(self.prefetching.get() + bytes);
            let (done_tx, done_rx) = oneshot::channel();
            let done = done_rx.shared();
            {
                let mut fetching = self.fetching.borrow_mut();
                for &index in &wanted {
                    fetching.insert(CacheKey { ino: ino.0, index }, done.clone());
                }
            }
            let (this, fs, cache) = (self.clone(), fs.clone(), cache.clone());
            glommio::spawn_local(async move {
                let epoch = this.data_epoch.get();
                match fetch_chunks(&fs, ino, &wanted).await {
                    // Still current: no change on this core, and no READ since found the file
                    // changed elsewhere (which re-validated the cache for another ctime).
                    Ok(chunks) if this.data_epoch.get() == epoch && this.valid_for(ino, ctime) => {
                        let writes = fill_cache.then(|| {
                            put_chunks(&cache, ino, chunks.iter().map(|(i, d)| (*i, &d[..])))
                        });
                        metrics()
                            .chunk_cache
                            .read_ahead_fetched
                            .inc_by(chunks.len() as u64);
                        {
                            let mut staged = this.staged.borrow_mut();
                            let now = Instant::now();
                            for (index, data) in chunks {
                                staged.insert(ino.0, index, ctime, data, now);
                            }
                        }
                        // The waiting READs need not wait for the cache writes; READs that
                        // come while they run find the chunks staged.
                        let _ = done_tx.send(());
                        if let Some(writes) = writes {
                            writes.await;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => log::debug!("read-ahead of inode {} failed: {e}", ino.0),
                }
                let mut fetching = this.fetching.borrow_mut();
                for &index in &wanted {
                    fetching.remove(&CacheKey { ino: ino.0, index });
                }
                drop(fetching);
                this.prefetching
                    .set(this.prefetching.get().saturating_sub(bytes));
            })
            .detach();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FileValidity;
    use crate::fs::Timestamp;

    fn t(n: u32) -> Timestamp {
        Timestamp { secs: 1, nanos: n }
    }

    #[test]
    fn changes_reported_in_any_order_link_up() {
        let mut v = FileValidity::new(t(0), 0);
        // Applied t0→t1→t2→t3, reported t2→t3, t1→t2, t0→t1.
        assert!(v.changed(t(2), t(3), 1));
        assert!(v.changed(t(1), t(2), 2));
        assert_eq!(v.ctime, t(0));
        assert!(v.changed(t(0), t(1), 3));
        assert_eq!((v.ctime, v.epoch), (t(3), 3));
        assert!(v.ahead.is_empty());
    }

    #[test]
    fn a_change_behind_the_cache_is_forgotten_once_passed() {
        // A READ re-validated the file at t2 before the change t0→t1 reported.
        let mut v = FileValidity::new(t(2), 0);
        assert!(v.changed(t(0), t(1), 1));
        assert_eq!(v.ahead.len(), 1);
        assert!(v.changed(t(2), t(3), 2));
        assert_eq!(v.ctime, t(3));
        assert!(v.ahead.is_empty(), "{v:?}");
    }

    #[test]
    fn too_many_changes_ahead_give_up_the_file() {
        let mut v = FileValidity::new(t(0), 0);
        for i in 0..super::MAX_CHANGES_AHEAD as u32 {
            assert!(v.changed(t(10 + i), t(11 + i), 1));
        }
        assert!(!v.changed(t(500), t(501), 2));
    }
}
