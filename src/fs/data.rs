//! File data: READ, WRITE, COMMIT and truncation, on 64 KiB chunks (`K ino index`).
//!
//! Invariant: a chunk never holds bytes at or beyond the file size (truncation trims the
//! boundary chunk), so a missing chunk or the tail after a short chunk reads as zeros.

use std::sync::atomic::Ordering;

use bytes::{Bytes, BytesMut};
use smallvec::SmallVec;

use super::batch::FsBatch;
use super::core::Fs;
use super::error::{FsError, FsResult};
use super::inode::Inode;
use super::perm::{self, S_ISGID, S_ISUID};
use super::types::*;
use crate::store::keys::{ChunkKey, ChunkKeyLayout, ReclaimKey};
use crate::store::{chunk_value, CommitScope, Durability};

/// The size of a stored chunk with its key and framing, about (the size of its table block).
const STORED_CHUNK_BYTES: usize = CHUNK_SIZE as usize + 128;

/// Largest READ answered at once (also advertised as rtmax).
pub const MAX_IO: u32 = 1 << 20;

/// A checked READ: the attributes to return and the byte range `[start, end)` to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadPlan {
    /// File attributes (post-op).
    pub attr: Attr,
    /// First byte.
    pub start: u64,
    /// One past the last byte (`start` when nothing is to be read).
    pub end: u64,
    /// Whether the read reaches end of file.
    pub eof: bool,
}

/// The chunks of a file that are `[first, last]` in index order; each chunk may be shorter
/// than 64 KiB (a file's tail) or absent (a hole).
pub type ChunkList = [(u64, Bytes)];

/// Bytes `[start, end)` of a file from its chunks (sorted by index): holes and the tail past
/// a short chunk read as zeros. A range inside one stored chunk is returned without copying.
pub fn assemble_range(start: u64, end: u64, chunks: &ChunkList) -> Bytes {
    assemble(
        start,
        end,
        chunks.iter().map(|(idx, chunk)| (idx * CHUNK_SIZE, chunk)),
    )
}

/// Bytes `[start, end)` of a file from pieces `(at, bytes)`, each holding the file's bytes
/// from offset `at` on: whole chunks (`at` = index × 64 KiB), or parts of chunks that start
/// inside them, as a chunk cache serves them. Pieces must not overlap and may come in any
/// order; bytes no piece holds (holes, the tail past a short chunk) read as zeros. A range
/// inside one piece is returned without copying.
pub fn assemble_pieces(start: u64, end: u64, pieces: &[(u64, Bytes)]) -> Bytes {
    assemble(start, end, pieces.iter().map(|(at, piece)| (*at, piece)))
}

fn assemble<'a, I>(start: u64, end: u64, pieces: I) -> Bytes
where
    I: Iterator<Item = (u64, &'a Bytes)> + Clone,
{
    let len = (end - start) as usize;
    let mut only = pieces.clone();
    if let (Some((at, piece)), None) = (only.next(), only.next()) {
        if at <= start && at + piece.len() as u64 >= end {
            let off = (start - at) as usize;
            return piece.slice(off..off + len);
        }
    }
    if let Some(out) = concat_if_tiled(start, end, pieces.clone()) {
        return out;
    }
    let mut out = BytesMut::zeroed(len);
    for (at, v) in pieces {
        // Overlap of [at, at + v.len()) with [start, end).
        let lo = at.max(start);
        let hi = (at + v.len() as u64).min(end);
        if lo >= hi {
            continue;
        }
        let src = v.get((lo - at) as usize..(hi - at) as usize);
        let dst = out.get_mut((lo - start) as usize..(hi - start) as usize);
        if let (Some(src), Some(dst)) = (src, dst) {
            dst.copy_from_slice(src);
        }
    }
    out.freeze()
}

/// Bytes `[start, end)` when the pieces cover it without gaps (any order): copied once, with
/// no zero-filling first, as a streaming READ of whole chunks needs. `None` otherwise.
fn concat_if_tiled<'a, I>(start: u64, end: u64, pieces: I) -> Option<Bytes>
where
    I: Iterator<Item = (u64, &'a Bytes)>,
{
    let mut sorted: SmallVec<[(u64, &Bytes); 32]> = pieces
        .filter(|(at, v)| *at < end && at + v.len() as u64 > start)
        .collect();
    sorted.sort_unstable_by_key(|(at, _)| *at);
    let mut out = BytesMut::with_capacity((end - start) as usize);
    let mut next = start;
    for (at, v) in sorted {
        if at > next {
            return None;
        }
        let hi = (at + v.len() as u64).min(end);
        if hi <= next {
            continue;
        }
        out.extend_from_slice(v.get((next - at) as usize..(hi - at) as usize)?);
        next = hi;
    }
    (next == end).then(|| out.freeze())
}

/// A stored chunk value as the chunk's bytes.
pub(crate) fn decode_chunk(v: &Bytes) -> FsResult<Bytes> {
    chunk_value::decode(v).map_err(|e| FsError::ServerFault(e.to_string()))
}

impl Fs {
    /// READ up to `count` bytes at `offset`.
    pub async fn read(
        &self,
        cred: &Credentials,
        ino: InodeId,
        offset: u64,
        count: u32,
    ) -> FsResult<ReadOk> {
        let plan = self.read_plan(cred, ino, offset, count).await?;
        let data = if plan.start < plan.end {
            self.read_range(ino.0, plan.start, plan.end).await?
        } else {
            Bytes::new()
        };
        Ok(ReadOk {
            data,
            eof: plan.eof,
            attr: plan.attr,
        })
    }

    /// The checks and sizing of a READ, without fetching data: a caller with its own chunk
    /// cache fetches `[start, end)` itself ([`Fs::read_chunks`] for what it misses, then
    /// [`assemble_range`]).
    pub async fn read_plan(
        &self,
        cred: &Credentials,
        ino: InodeId,
        offset: u64,
        count: u32,
    ) -> FsResult<ReadPlan> {
        let node = self.load(ino).await?;
        match node.ftype {
            FileType::Regular => {}
            FileType::Directory => return Err(FsError::IsDir),
            _ => return Err(FsError::Inval),
        }
        if !perm::may_data(cred, &node, perm::R) {
            return Err(FsError::Access);
        }
        let attr = self.attr_of(&node);
        let count = count.min(MAX_IO);
        if offset >= node.size || count == 0 {
            return Ok(ReadPlan {
                attr,
                start: offset,
                end: offset,
                eof: offset >= node.size,
            });
        }
        let end = node.size.min(offset.saturating_add(u64::from(count)));
        Ok(ReadPlan {
            attr,
            start: offset,
            end,
            eof: end >= node.size,
        })
    }

    /// The stored chunks `first..=last` of `ino`, as `(index, data)` in index order; holes are
    /// absent from the result.
    ///
    /// On object storage every request is a round trip, so each read is shaped to cost one
    /// ranged GET per table that holds what it needs:
    /// - One chunk in the terminated layout is a point get. The tables' bloom filters rule out
    ///   those that do not hold the key, and in a table flushed from the memtable the chunk's
    ///   block is fetched alone (see [`ChunkKeyLayout`]). In a sorted run SlateDB's compactor
    ///   wrote it was measured to fetch a second 64 KiB block, in a second GET after the first,
    ///   although those tables' index separators are below the keys as intended (dumped with
    ///   `slatedb::SstReader`): where in SlateDB's point-get path is not found yet. A scan costs more even there: it uses no filters and
    ///   reads from every table whose key range covers the chunk (1 GiB file after compaction,
    ///   50 ms per request: 5.4 GETs and 354 KB per cold read by scan, 1.6 GETs and 108 KB by
    ///   point get, in the same time).
    /// - Several chunks are one range scan, told to fetch them all in one request per table.
    ///   A point get per chunk would cost a request each.
    /// - One chunk in the bare layout (formats 2 and 3) is a scan too: a read of a bare chunk
    ///   key also fetches the block before it, which a point get does in a request of its own
    ///   and a scan told to fetch one block more does in the same one.
    pub async fn read_chunks(
        &self,
        ino: InodeId,
        first: u64,
        last: u64,
    ) -> FsResult<Vec<(u64, Bytes)>> {
        let layout = self.chunk_key_layout();
        if first == last && layout == ChunkKeyLayout::Terminated {
            let stored = self
                .inner
                .store
                .get_data(self.chunk_key(ino.0, first))
                .await?;
            return match stored {
                Some(v) => Ok(vec![(first, decode_chunk(&v)?)]),
                None => Ok(Vec::new()),
            };
        }
        let chunks = (last - first + 1) as usize;
        let blocks = match layout {
            ChunkKeyLayout::Terminated => chunks,
            ChunkKeyLayout::Bare => chunks + 1,
        };
        let rows = self
            .inner
            .store
            .scan_data(
                self.chunk_span(ino.0, first, last),
                chunks,
                blocks * STORED_CHUNK_BYTES,
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (k, v) in rows {
            if let Some(ChunkKey(_, idx)) = ChunkKey::decode(&k) {
                out.push((idx, decode_chunk(&v)?));
            }
        }
        Ok(out)
    }

    /// Reads bytes `[start, end)` (within the file size), filling holes with zeros.
    async fn read_range(&self, ino: u64, start: u64, end: u64) -> FsResult<Bytes> {
        let (first, last) = chunk_span(start, end);
        let chunks = self.read_chunks(InodeId(ino), first, last).await?;
        Ok(assemble_range(start, end, &chunks))
    }

    /// WRITE `data` at `offset`. UNSTABLE writes are visible at once and durable after COMMIT;
    /// DATA_SYNC / FILE_SYNC writes are durable before returning.
    pub async fn write(
        &self,
        cred: &Credentials,
        ino: InodeId,
        offset: u64,
        data: Bytes,
        stable: StableHow,
    ) -> FsResult<WriteOk> {
        self.check_writable()?;
        let lane = self.inner.store.lane();
        let _l = self.inner.locks.lock(&[ino.0]).await;
        // WRITEs queued on this lane and not yet applied: build on the newest (and queue behind
        // it); other lanes' are waited for (see `super::write_pipeline`).
        let mut node = match self.inner.pipeline.newest_or_idle(ino.0, lane).await {
            Some(queued) => queued,
            None => self.load(ino).await?,
        };
        match node.ftype {
            FileType::Regular => {}
            FileType::Directory => return Err(FsError::IsDir),
            _ => return Err(FsError::Inval),
        }
        if !perm::may_data(cred, &node, perm::W) {
            return Err(FsError::Access);
        }
        let end = offset.checked_add(data.len() as u64).ok_or(FsError::FBig)?;
        if end > self.inner.opts.max_file_size {
            return Err(FsError::FBig);
        }
        let before = self.attr_of(&node).wcc();
        let mut batch = FsBatch::new();
        if !data.is_empty() {
            let old_size = node.size;
            let (first, last) = chunk_span(offset, end);
            for idx in first..=last {
                let cstart = idx * CHUNK_SIZE;
                let lo = offset.max(cstart);
                let hi = end.min(cstart + CHUNK_SIZE);
                let piece = data.slice((lo - offset) as usize..(hi - offset) as usize);
                let in_off = (lo - cstart) as usize;
                // Existing content of this chunk ends at min(old_size, chunk end).
                let existing_end = old_size.saturating_sub(cstart).min(CHUNK_SIZE);
                let key = self.chunk_key(node.ino, idx);
                if in_off == 0 && piece.len() as u64 >= existing_end {
                    // Covers everything the chunk held: it becomes this piece.
                    batch.put(key, chunk_value::encode_data(&piece));
                } else {
                    // Merges with what is there when SlateDB reads or compacts the chunk:
                    // no read here, and only the piece goes to the WAL.
                    batch.merge(key, chunk_value::encode_patch(in_off, &piece));
                }
            }
            if end > node.size {
                self.inner
                    .bytes_used
                    .fetch_add((end - node.size) as i64, Ordering::Relaxed);
                node.size = end;
            }
            let now = Timestamp::now();
            node.mtime = now;
            node.ctime = now;
            if cred.uid != 0 && node.mode & (S_ISUID | S_ISGID) != 0 {
                node.mode &= !S_ISUID;
                if node.mode & 0o010 != 0 {
                    node.mode &= !S_ISGID;
                }
            }
            batch.put_written_inode(&node);
        }
        let durability = if stable == StableHow::Unstable {
            Durability::Memory
        } else {
            Durability::Durable
        };
        if data.is_empty() {
            if durability == Durability::Durable {
                // Nothing to write, but FILE_SYNC promises the file's earlier writes.
                self.inner.pipeline.wait_idle(ino.0).await;
                drop(_l);
                self.inner.store.flush().await?;
            }
        } else {
            let submitted = self.submit(lane, batch, durability);
            // Queued in order: the next WRITE of this file need not wait for SlateDB.
            drop(_l);
            let applied = submitted.applied().await?;
            if durability == Durability::Memory {
                self.inner.store.durability().record_unstable(
                    ino.0,
                    applied.ticket(),
                    data.len() as u64,
                );
            }
            applied.durable().await?;
        }
        Ok(WriteOk {
            count: data.len() as u32,
            committed: if stable == StableHow::Unstable {
                StableHow::Unstable
            } else {
                StableHow::FileSync
            },
            verifier: self.verifier(),
            wcc: Wcc {
                before: Some(before),
                after: Some(self.attr_of(&node)),
            },
        })
    }

    /// COMMIT: makes the file's unstable writes durable. The WAL is shared, so the whole file
    /// is committed (`offset` and `count` only matter to the client), and a flush that other
    /// operations already made may have done it (see [`super::unstable`]).
    pub async fn commit(
        &self,
        cred: &Credentials,
        ino: InodeId,
        offset: u64,
        count: u32,
    ) -> FsResult<CommitOk> {
        self.check_writable()?;
        let _ = (offset, count);
        let node = self.load(ino).await?;
        // As Linux's nfsd: COMMIT opens the file for writing (with the owner override of WRITE).
        match node.ftype {
            FileType::Regular => {}
            FileType::Directory => return Err(FsError::IsDir),
            _ => return Err(FsError::Inval),
        }
        if !perm::may_data(cred, &node, perm::W) {
            return Err(FsError::Access);
        }
        let scope = if self.inner.opts.async_metadata {
            // Metadata replies did not wait for durability: cover everything applied so far.
            CommitScope::Everything
        } else {
            CommitScope::File
        };
        self.inner
            .store
            .durability()
            .commit_file(ino.0, scope)
            .await?;
        let attr = self.attr_of(&node);
        Ok(CommitOk {
            verifier: self.verifier(),
            wcc: Wcc {
                before: Some(attr.wcc()),
                after: Some(attr),
            },
        })
    }

    /// Changes the size of `node` (locked), adding chunk trims and deletes to `batch`.
    /// Returns true if many chunks must still be deleted by [`Fs::reclaim_inode_locked`]
    /// after the batch commits (a `R ino` key in the batch records that durably).
    pub(crate) async fn truncate_into(
        &self,
        node: &mut Inode,
        new_size: u64,
        batch: &mut FsBatch,
    ) -> FsResult<bool> {
        let old = node.size;
        let mut deferred = false;
        if new_size < old {
            let keep = new_size.div_ceil(CHUNK_SIZE);
            let in_chunk = (new_size % CHUNK_SIZE) as usize;
            if in_chunk != 0 {
                let idx = new_size / CHUNK_SIZE;
                let key = self.chunk_key(node.ino, idx);
                if let Some(c) = self.inner.store.get_data(key.clone()).await? {
                    let c = decode_chunk(&c)?;
                    if c.len() > in_chunk {
                        batch.put(key, chunk_value::encode_data(&c[..in_chunk]));
                    }
                }
            }
            let old_chunks = old.div_ceil(CHUNK_SIZE);
            let n = old_chunks.saturating_sub(keep);
            if n <= self.inner.opts.inline_reclaim_chunks {
                for i in keep..old_chunks {
                    batch.delete(self.chunk_key(node.ino, i));
                }
            } else {
                batch.put(
                    ReclaimKey(node.ino).encode(),
                    Bytes::copy_from_slice(&keep.to_be_bytes()),
                );
                deferred = true;
            }
            self.inner
                .bytes_used
                .fetch_sub((old - new_size) as i64, Ordering::Relaxed);
        } else {
            self.inner
                .bytes_used
                .fetch_add((new_size - old) as i64, Ordering::Relaxed);
        }
        node.size = new_size;
        Ok(deferred)
    }
}
