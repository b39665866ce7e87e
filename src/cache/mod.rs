//! Per-core local chunk cache on io_uring (glommio `DmaFile`, O_DIRECT).
//!
//! Each core owns one [`ChunkCache`] and one file, `<dir>/chunks-core<N>.dat`,
//! cut into fixed slots of [`SLOT_SIZE`] (64 KiB, one file chunk). The cache
//! holds copies of chunks that live in SlateDB; it is never a source of errors
//! or of wrong data: any IO failure, checksum mismatch or race turns a `get`
//! (or a `get_range`) into a miss.
//!
//! # Layout: metadata in memory, data alone on disk
//! A slot on disk is nothing but the chunk's bytes (padded to the O_DIRECT
//! alignment). The "header" — key, length, a CRC32 per 4 KiB page of the data
//! and a generation — lives in the in-memory index (module `table`). Why:
//! - The index has to be in memory anyway (see *Restarts*), so an on-disk
//!   header would only duplicate it, and would make slots 64 KiB + 4 KiB
//!   (6% of the budget, and reads/writes of 17 pages instead of 16).
//! - A checksum kept in memory is computed from the bytes the put was *given*,
//!   so it catches everything between the put and the get: bit rot, a torn or
//!   lost write (the slot still holding an older, self-consistent chunk —
//!   which an on-disk CRC would happily validate), a misdirected write, and
//!   anyone scribbling on the file. A mismatch is counted, the slot is freed
//!   and the get is a miss.
//!
//! # Partial reads: a checksum per page
//! [`ChunkCache::get_range`] serves part of a chunk (an NFS READ of 4 KiB
//! needs one page of a 64 KiB chunk) by reading only the 4 KiB pages the range
//! touches (O_DIRECT allows no less than the device's alignment, and a page is
//! a multiple of any alignment up to 4 KiB), so each page read is verified
//! whole against its own CRC32 before any of its bytes is served. Page `i` is
//! bytes `[4096 i, min(4096 (i + 1), len))`: the last page of a short chunk is
//! short and is checksummed as such, so the padding after it never matters.
//! The first read that covers a corrupt page misses and frees the slot; reads
//! of other pages before that are still served, as what they serve was
//! verified. With an O_DIRECT alignment above 4 KiB, reads widen to it.
//!
//! # Restarts
//! The cache is discarded at open: the file is truncated and re-initialised.
//! A chunk in SlateDB can change while the server is down, and nothing would
//! tell us which cached chunks went stale, so keeping them would risk serving
//! wrong data. The file is locked (`flock`) so two caches never share it.
//!
//! # Capacity
//! `capacity_bytes / SLOT_SIZE` slots, rounded down; the file is exactly that
//! big (pre-allocated with `fallocate` when the filesystem allows) and never
//! grows. A capacity under one slot gives a disabled cache that opens no file.
//! Eviction is CLOCK (second chance), skipping slots with a write in flight.
//! Memory: about 160 bytes of index per slot, 64 of which are the 16 page
//! CRCs — per GiB of cache (16,384 slots), 1 MiB of checksums and about
//! 2.5 MiB of index in all.
//!
//! # Concurrency on a core
//! Every change of a slot's owner bumps its generation. A put claims a slot
//! (state *Writing*: gets miss) and publishes it only if the generation is
//! unchanged when its write completes, so an `invalidate` during the put wins.
//! A slot whose key was invalidated mid-write is not reused until that write
//! completes, so two writes never overlap on a slot. A get records the
//! generation before reading and checks it after, so a get racing an eviction,
//! an invalidate or a newer put of the same key is a miss. The page checksums
//! a get verifies against are those it found with the generation, so they
//! always belong to the version whose pages it read.
//!
//! What the cache cannot see is SlateDB: a caller that fills the cache after
//! a miss must not `put` a chunk it read from the store *before* a write of
//! that chunk that invalidated it while the read was in flight. All IO of an
//! inode runs on its owner core, so the filesystem layer can order fills after
//! writes per inode (e.g. an inode write epoch checked before the `put`).
//!
//! # glommio's IOPOLL probe
//! The first `dma_open` on a block device in a process makes glommio probe
//! IOPOLL support by reading the file's first block; on an empty file that
//! read "succeeds" at EOF, glommio decides the device supports IOPOLL and every
//! later read on that device fails with EOPNOTSUPP. So [`ChunkCache::open`]
//! writes a real slot of data with `std::fs` before the first `dma_open`
//! (the *prepare* step), then does a write-then-read self test through
//! io_uring and fails with [`CacheError::IoPollMisprobe`] if something else
//! poisoned the probe earlier, rather than opening a cache that always misses.

mod error;
mod table;

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use bytes::Bytes;
use glommio::io::{DmaFile, OpenOptions};
use glommio::GlommioError;

pub use error::CacheError;
use table::{PageCrcs, Reservation, SlotTable, PAGE_SIZE};

/// Size of a slot: one file chunk.
pub const SLOT_SIZE: u64 = 64 * 1024;

/// Largest chunk a slot can hold.
pub const MAX_CHUNK: usize = SLOT_SIZE as usize;

/// One chunk of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey {
    /// Inode number.
    pub ino: u64,
    /// Chunk index within the file (byte offset / 64 KiB).
    pub index: u64,
}

/// Counters of one core's cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Gets that returned data.
    pub hits: u64,
    /// Gets that returned None (absent, being written, raced, or failed).
    pub misses: u64,
    /// Puts whose chunk became readable.
    pub insertions: u64,
    /// Resident chunks dropped to make room.
    pub evictions: u64,
    /// Reads whose data did not match the checksum (the slot was dropped).
    pub checksum_failures: u64,
    /// Reads or writes that failed or came back short.
    pub io_errors: u64,
    /// Puts dropped: too large, or no slot free of in-flight IO.
    pub rejected_puts: u64,
    /// Bytes of data in readable slots.
    pub bytes: u64,
    /// Chunks indexed (readable or being written).
    pub entries: u64,
    /// Bytes of slots in the file (the on-disk footprint).
    pub capacity_bytes: u64,
    /// Puts whose write has not finished (nor been dropped) yet.
    pub writes_in_flight: u64,
}

#[derive(Debug, Default)]
struct Counters {
    hits: Cell<u64>,
    misses: Cell<u64>,
    insertions: Cell<u64>,
    evictions: Cell<u64>,
    checksum_failures: Cell<u64>,
    io_errors: Cell<u64>,
    rejected_puts: Cell<u64>,
    writes_in_flight: Cell<u64>,
}

fn bump(c: &Cell<u64>) {
    c.set(c.get() + 1);
}

#[derive(Debug)]
struct Storage {
    file: DmaFile,
    alignment: u64,
    /// Holds the flock for as long as the cache lives.
    _lock: File,
}

#[derive(Debug)]
struct Inner {
    storage: Option<Storage>,
    table: RefCell<SlotTable>,
    counters: Counters,
    capacity_bytes: u64,
    path: Option<PathBuf>,
}

/// A per-core cache of 64 KiB file chunks. `!Send`: create it on the core
/// that uses it, inside its glommio executor. Cloning is cheap and shares the
/// cache (for tasks spawned on the same core).
#[derive(Debug, Clone)]
pub struct ChunkCache {
    inner: Rc<Inner>,
}

/// Gives a put's slot back if the put is dropped before its write completes.
struct WriteGuard {
    inner: Rc<Inner>,
    reservation: Option<Reservation>,
}

impl Drop for WriteGuard {
    fn drop(&mut self) {
        let in_flight = &self.inner.counters.writes_in_flight;
        in_flight.set(in_flight.get() - 1);
        if let Some(r) = self.reservation.take() {
            // A cancelled write may still land later; the in-memory CRC of
            // whatever is put next in this slot catches that.
            self.inner.table.borrow_mut().abort(r);
        }
    }
}

/// The OS error number inside a glommio error, if any.
fn raw_os_error(e: &GlommioError<()>) -> Option<i32> {
    match e {
        GlommioError::IoError(io) => io.raw_os_error(),
        GlommioError::EnhancedIoError { source, .. } => source.raw_os_error(),
        _ => None,
    }
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CacheError + 'a {
    move |source| CacheError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn glommio_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(GlommioError<()>) -> CacheError + 'a {
    move |e| CacheError::Io {
        op,
        path: path.to_path_buf(),
        source: e.into(),
    }
}

fn align_up(v: u64, alignment: u64) -> u64 {
    v.div_ceil(alignment) * alignment
}

/// The part `[lo, hi)` of a slot holding a chunk of `len` bytes to read for
/// bytes `[start, end)` of it (`start < end <= len`): whole 4 KiB pages, so
/// each can be verified against its checksum, widened to the O_DIRECT
/// `alignment` (a power of two dividing the slot size) when that is larger,
/// and never past the aligned end of the chunk, which is where the put's
/// write stopped. `lo` is a multiple of the page size and of `alignment`,
/// `hi - lo` a multiple of `alignment`.
fn read_span(start: usize, end: usize, len: usize, alignment: usize) -> (usize, usize) {
    let granule = alignment.max(PAGE_SIZE);
    let lo = start / granule * granule;
    let hi = end.div_ceil(granule) * granule;
    (lo, hi.min(len.div_ceil(alignment) * alignment))
}

/// The cache file of core `core_id` in `dir`.
pub fn cache_file_path(dir: &Path, core_id: usize) -> PathBuf {
    dir.join(format!("chunks-core{core_id}.dat"))
}

/// Makes the file safe to `dma_open` and empty of old content: locks it,
/// truncates it, writes one real slot of data at offset 0 (so that glommio's
/// IOPOLL probe, if this is the first `dma_open` on the device in the
/// process, reads real data rather than EOF), syncs, and sizes it.
///
/// Blocking std IO, run once per core at startup.
fn prepare_file(path: &Path, file_size: u64) -> Result<File, CacheError> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false) // not before we hold the lock
        .open(path)
        .map_err(io_err("open", path))?;
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(CacheError::Locked {
                path: path.to_path_buf(),
            })
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io_err("lock", path)(e)),
    }
    f.set_len(0).map_err(io_err("truncate", path))?;
    f.write_all(&[0u8; SLOT_SIZE as usize])
        .map_err(io_err("write", path))?;
    f.sync_data().map_err(io_err("sync", path))?;
    f.set_len(file_size.max(SLOT_SIZE))
        .map_err(io_err("size", path))?;
    Ok(f)
}

impl ChunkCache {
    /// A cache that holds nothing: every get misses, every put is dropped.
    /// For running without a local cache (or after [`CacheError`] at open).
    pub fn disabled() -> Self {
        Self {
            inner: Rc::new(Inner {
                storage: None,
                table: RefCell::new(SlotTable::new(0)),
                counters: Counters::default(),
                capacity_bytes: 0,
                path: None,
            }),
        }
    }

    /// Opens core `core_id`'s cache in `dir` with room for
    /// `capacity_bytes / 64 KiB` chunks, discarding any previous content.
    /// Must run inside a glommio executor.
    pub async fn open(dir: &Path, core_id: usize, capacity_bytes: u64) -> Result<Self, CacheError> {
        let nslots = u32::try_from(capacity_bytes / SLOT_SIZE).unwrap_or(u32::MAX);
        if nslots == 0 {
            return Ok(Self::disabled());
        }
        let file_size = u64::from(nslots) * SLOT_SIZE;
        std::fs::create_dir_all(dir).map_err(io_err("create dir", dir))?;
        let path = cache_file_path(dir, core_id);
        let lock = prepare_file(&path, file_size)?;

        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .dma_open(&path)
            .await
            .map_err(glommio_err("dma_open", &path))?;
        let alignment = file.alignment();
        if alignment == 0 || !SLOT_SIZE.is_multiple_of(alignment) {
            return Err(CacheError::UnsupportedAlignment { path, alignment });
        }
        if let Err(e) = file.pre_allocate(file_size, false).await {
            log::warn!(
                "chunk cache {}: fallocate failed, file stays sparse: {e}",
                path.display()
            );
        }
        self_test(&file, alignment, &path).await?;
        log::info!(
            "chunk cache core {core_id}: {} slots ({} MiB) in {}",
            nslots,
            file_size >> 20,
            path.display()
        );
        Ok(Self {
            inner: Rc::new(Inner {
                storage: Some(Storage {
                    file,
                    alignment,
                    _lock: lock,
                }),
                table: RefCell::new(SlotTable::new(nslots)),
                counters: Counters::default(),
                capacity_bytes: file_size,
                path: Some(path),
            }),
        })
    }

    /// Bytes of slots in the file (0 for a disabled cache).
    pub fn capacity_bytes(&self) -> u64 {
        self.inner.capacity_bytes
    }

    /// The cache file, or None for a disabled cache.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Whether `key` is readable now (without reading it; marks it used, as a read would).
    pub fn holds(&self, key: CacheKey) -> bool {
        self.inner.table.borrow_mut().lookup(key).is_some()
    }

    /// The chunk stored under `key`, or None on a miss or any failure.
    pub async fn get(&self, key: CacheKey) -> Option<Bytes> {
        self.get_range(key, 0, MAX_CHUNK).await
    }

    /// Bytes `[start, end)` of the chunk stored under `key` (`end` clamped to
    /// the chunk's length), or None on a miss or any failure, as for
    /// [`get`](Self::get). Reads only the 4 KiB pages the range touches and
    /// verifies each of them whole, so a corrupt page elsewhere in the slot
    /// does not make this range miss.
    ///
    /// A range that starts at or past the chunk's length (or is empty) is a
    /// hit with no bytes and no IO: a chunk shorter than 64 KiB ends where the
    /// file's data ends, and callers read the rest of the chunk as zeros.
    pub async fn get_range(&self, key: CacheKey, start: usize, end: usize) -> Option<Bytes> {
        let got = self.try_get_range(key, start, end).await;
        let c = &self.inner.counters;
        let m = &crate::metrics::metrics().chunk_cache;
        if got.is_some() {
            bump(&c.hits);
            m.hits.inc();
        } else {
            bump(&c.misses);
            m.misses.inc();
        }
        got
    }

    async fn try_get_range(&self, key: CacheKey, start: usize, end: usize) -> Option<Bytes> {
        let storage = self.inner.storage.as_ref()?;
        let table = &self.inner.table;
        let ticket = table.borrow_mut().lookup(key)?;
        let len = ticket.len as usize;
        let end = end.min(len);
        if start >= end {
            return Some(Bytes::new());
        }
        let (lo, hi) = read_span(start, end, len, storage.alignment as usize);
        let offset = u64::from(ticket.slot) * SLOT_SIZE + lo as u64;
        let read = storage.file.read_at_aligned(offset, hi - lo).await;
        // Anything may have happened to the slot while we waited.
        if !table.borrow().still_valid(&ticket) {
            return None;
        }
        // The chunk's bytes among those read: the rest is alignment padding.
        let valid = hi.min(len) - lo;
        let data = match read {
            Ok(r) if r.len() >= valid => r,
            Ok(_) | Err(_) => {
                if let Err(e) = &read {
                    log::debug!("chunk cache read of {key:?} failed: {e}");
                }
                bump(&self.inner.counters.io_errors);
                table.borrow_mut().discard(&ticket);
                return None;
            }
        };
        if !ticket.crcs.verify(lo / PAGE_SIZE, &data[..valid]) {
            log::warn!(
                "chunk cache: checksum mismatch for {key:?} in slot {} (bytes {lo}..{})",
                ticket.slot,
                lo + valid
            );
            bump(&self.inner.counters.checksum_failures);
            table.borrow_mut().discard(&ticket);
            return None;
        }
        Some(Bytes::copy_from_slice(&data[start - lo..end - lo]))
    }

    /// Stores `data` (at most 64 KiB) as the chunk `key`, replacing any
    /// previous version at once (gets miss until the write completes).
    /// Failures are absorbed: the chunk is then simply not cached.
    pub async fn put(&self, key: CacheKey, data: &[u8]) {
        self.start_put(key, data).await
    }

    /// [`ChunkCache::put`] in two steps: claims the slot of `key` (and copies `data`) now,
    /// and returns the write that makes the chunk readable. An `invalidate` of the chunk
    /// after this call wins over the write, so a caller that checks, without awaiting in
    /// between, that `data` is still current and then calls this cannot leave a superseded
    /// chunk in the cache however long the write takes. Dropping the returned future gives
    /// the slot back.
    pub fn start_put(&self, key: CacheKey, data: &[u8]) -> impl Future<Output = ()> + 'static {
        let inner = self.inner.clone();
        let c = &inner.counters;
        // `PageCrcs::of` refuses more than a chunk.
        let (Some(storage), Ok(len), Some(crcs)) = (
            inner.storage.as_ref(),
            u32::try_from(data.len()),
            PageCrcs::of(data),
        ) else {
            inner.table.borrow_mut().invalidate(key);
            bump(&c.rejected_puts);
            return futures::future::Either::Left(std::future::ready(()));
        };
        let reserved = inner.table.borrow_mut().reserve(key);
        let Some((reservation, evicted)) = reserved else {
            bump(&c.rejected_puts);
            return futures::future::Either::Left(std::future::ready(()));
        };
        if evicted {
            bump(&c.evictions);
        }
        let write = (!data.is_empty()).then(|| {
            let size = align_up(u64::from(len), storage.alignment) as usize;
            let mut buf = storage.file.alloc_dma_buffer(size);
            let bytes = buf.as_bytes_mut();
            bytes[..data.len()].copy_from_slice(data);
            bytes[data.len()..].fill(0);
            (buf, size, u64::from(reservation.slot) * SLOT_SIZE)
        });
        bump(&c.writes_in_flight);
        let mut guard = WriteGuard {
            inner,
            reservation: Some(reservation),
        };
        futures::future::Either::Right(async move {
            let inner = guard.inner.clone();
            let c = &inner.counters;
            if let (Some((buf, size, offset)), Some(storage)) = (write, inner.storage.as_ref()) {
                match storage.file.write_at(buf, offset).await {
                    Ok(n) if n >= size => {}
                    Ok(n) => {
                        log::debug!("chunk cache: short write of {key:?}: {n} of {size}");
                        bump(&c.io_errors);
                        return; // the guard aborts
                    }
                    Err(e) => {
                        log::debug!("chunk cache: write of {key:?} failed: {e}");
                        bump(&c.io_errors);
                        return;
                    }
                }
            }
            guard.reservation.take();
            if inner.table.borrow_mut().commit(reservation, len, crcs) {
                bump(&c.insertions);
            }
        })
    }

    /// Drops the chunk `key`, including one whose put is in flight.
    pub fn invalidate(&self, key: CacheKey) {
        self.inner.table.borrow_mut().invalidate(key);
    }

    /// Drops every chunk of inode `ino` (cost proportional to its chunks).
    pub fn invalidate_inode(&self, ino: u64) {
        self.inner.table.borrow_mut().invalidate_inode(ino);
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> CacheStats {
        let c = &self.inner.counters;
        let t = self.inner.table.borrow();
        CacheStats {
            hits: c.hits.get(),
            misses: c.misses.get(),
            insertions: c.insertions.get(),
            evictions: c.evictions.get(),
            checksum_failures: c.checksum_failures.get(),
            io_errors: c.io_errors.get(),
            rejected_puts: c.rejected_puts.get(),
            bytes: t.resident_bytes(),
            entries: t.entries() as u64,
            capacity_bytes: self.inner.capacity_bytes,
            writes_in_flight: c.writes_in_flight.get(),
        }
    }
}

/// Writes a pattern to slot 0 through io_uring and reads it back, so a cache
/// that cannot read (glommio's IOPOLL mis-probe) fails at open, not silently.
async fn self_test(file: &DmaFile, alignment: u64, path: &Path) -> Result<(), CacheError> {
    let size = alignment as usize;
    let mut buf = file.alloc_dma_buffer(size);
    for (i, b) in buf.as_bytes_mut().iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    let written = file
        .write_at(buf, 0)
        .await
        .map_err(|e| classify(e, "self-test write", path))?;
    if written != size {
        return Err(CacheError::SelfTest {
            path: path.to_path_buf(),
            reason: format!("short write: {written} of {size}"),
        });
    }
    let read = file
        .read_at_aligned(0, size)
        .await
        .map_err(|e| classify(e, "self-test read", path))?;
    let ok = read.len() == size && read.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8);
    if !ok {
        return Err(CacheError::SelfTest {
            path: path.to_path_buf(),
            reason: "read back differs from what was written".into(),
        });
    }
    Ok(())
}

fn classify(e: GlommioError<()>, op: &'static str, path: &Path) -> CacheError {
    if raw_os_error(&e) == Some(libc_enotsup()) {
        CacheError::IoPollMisprobe {
            path: path.to_path_buf(),
        }
    } else {
        glommio_err(op, path)(e)
    }
}

/// EOPNOTSUPP / ENOTSUP (the same number on Linux).
const fn libc_enotsup() -> i32 {
    95
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_span_reads_whole_pages_within_the_written_part() {
        const P: usize = PAGE_SIZE;
        for a in [512, 4096] {
            // Inside one page, at its edges, across two.
            assert_eq!(read_span(100, 200, MAX_CHUNK, a), (0, P));
            assert_eq!(read_span(P, 2 * P, MAX_CHUNK, a), (P, 2 * P));
            assert_eq!(read_span(P - 1, P + 1, MAX_CHUNK, a), (0, 2 * P));
            assert_eq!(
                read_span(5 * P + 3, 9 * P - 3, MAX_CHUNK, a),
                (5 * P, 9 * P)
            );
            assert_eq!(read_span(0, MAX_CHUNK, MAX_CHUNK, a), (0, MAX_CHUNK));
            assert_eq!(
                read_span(MAX_CHUNK - 1, MAX_CHUNK, MAX_CHUNK, a),
                (15 * P, 16 * P)
            );
        }
        // A short chunk: stop at its aligned end, where the put's write ended.
        assert_eq!(read_span(0, 100, 3000, 512), (0, 3072));
        assert_eq!(read_span(0, 100, 3000, 4096), (0, P));
        assert_eq!(read_span(9000, 10_000, 10_000, 512), (2 * P, 10_240));
        assert_eq!(read_span(100, 200, 10_000, 512), (0, P));
        // Larger alignments widen the read to them; 64 KiB reads the slot.
        assert_eq!(read_span(9000, 9001, MAX_CHUNK, 8192), (8192, 16_384));
        assert_eq!(read_span(100, 200, 3000, 8192), (0, 8192));
        assert_eq!(read_span(P, P + 1, MAX_CHUNK, MAX_CHUNK), (0, MAX_CHUNK));
        assert_eq!(read_span(100, 200, 3000, MAX_CHUNK), (0, MAX_CHUNK));
    }

    /// Every span is what O_DIRECT accepts, covers the range and the whole
    /// pages it touches inside the chunk, and stays in the written part.
    #[test]
    fn read_span_invariants() {
        for a in [512usize, 1024, 4096, 8192, MAX_CHUNK] {
            for len in [1usize, 511, 512, 4095, 4096, 4097, 10_000, 65_535, 65_536] {
                let points = [0, 1, 511, 512, 4095, 4096, 4097, 8191, 8192, len - 1, len];
                for &start in &points {
                    for &end in &points {
                        if start >= end || end > len {
                            continue;
                        }
                        let (lo, hi) = read_span(start, end, len, a);
                        let what = format!("a {a} len {len} [{start}, {end}) -> [{lo}, {hi})");
                        assert!(lo % a == 0 && (hi - lo) % a == 0, "{what}");
                        assert!(lo % PAGE_SIZE == 0, "{what}");
                        assert!(lo <= start && end <= hi, "{what}");
                        let page_end = end.div_ceil(PAGE_SIZE) * PAGE_SIZE;
                        assert!(hi >= page_end.min(len), "{what}");
                        assert!(hi <= len.div_ceil(a) * a && hi <= MAX_CHUNK, "{what}");
                    }
                }
            }
        }
    }
}
