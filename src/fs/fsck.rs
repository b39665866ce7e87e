//! Invariant checker over the whole key space (tests, and an offline `fsck`).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use super::core::Fs;
use super::error::FsResult;
use super::inode::{CookieValue, DirentValue, Inode};
use super::types::{FileType, CHUNK_SIZE, ROOT_INODE};
use crate::store::keys::{ChunkKey, DirCookieKey, DirEntryKey, InodeKey, KeyRange, ReclaimKey};

/// What [`Fs::fsck`] found.
#[derive(Debug, Default, Clone)]
pub struct FsckReport {
    /// Live inodes.
    pub inodes: usize,
    /// Directory entries.
    pub entries: usize,
    /// Data chunks.
    pub chunks: usize,
    /// Pending reclaim records.
    pub pending_reclaim: usize,
    /// Violated invariants (empty when consistent).
    pub errors: Vec<String>,
}

impl FsckReport {
    /// Whether no invariant is violated.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }
}

impl Fs {
    async fn scan_all(&self, range: KeyRange) -> FsResult<Vec<(Bytes, Bytes)>> {
        let mut out = Vec::new();
        let mut r = range;
        loop {
            let page = self.inner.store.scan(r.clone(), 1024).await?;
            let n = page.len();
            if let Some((k, _)) = page.last() {
                r = r.after(k);
            }
            out.extend(page);
            if n < 1024 {
                return Ok(out);
            }
        }
    }

    /// Checks every invariant: each entry names a live inode of the right type with a matching
    /// cookie record; link counts equal the entries naming the inode (directories: 2 + their
    /// subdirectories); every inode but the root is named; `..` pointers match; chunks belong to
    /// live regular files and lie within their size (unless queued for reclaim); every inode in
    /// the inode cache equals its stored record, and every cached listing the stored entries.
    pub async fn fsck(&self) -> FsResult<FsckReport> {
        let mut rep = FsckReport::default();
        let mut err = |s: String| rep.errors.push(s);
        let mut inodes: BTreeMap<u64, Inode> = BTreeMap::new();
        for (k, v) in self.scan_all(InodeKey::all()).await? {
            match InodeKey::decode(&k) {
                Some(InodeKey(ino)) => match Inode::decode(ino, &v) {
                    Ok(n) => {
                        inodes.insert(ino, n);
                    }
                    Err(e) => err(format!("inode {ino}: {e}")),
                },
                None => err(format!("bad inode key {k:?}")),
            }
        }
        let pending: BTreeSet<u64> = self
            .scan_all(ReclaimKey::all())
            .await?
            .iter()
            .filter_map(|(k, _)| ReclaimKey::decode(k).map(|r| r.0))
            .collect();
        match inodes.get(&ROOT_INODE.0) {
            Some(r) if r.ftype == FileType::Directory => {}
            _ => err("root directory missing".into()),
        }
        let mut names: BTreeMap<u64, u32> = BTreeMap::new();
        let mut subdirs: BTreeMap<u64, u32> = BTreeMap::new();
        let mut parent_of: BTreeMap<u64, u64> = BTreeMap::new();
        let mut cookies: BTreeSet<(u64, u64)> = BTreeSet::new();
        // dir -> cookie -> (name, inode): what the directory cache must agree with.
        let mut listings: BTreeMap<u64, BTreeMap<u64, (Bytes, u64)>> = BTreeMap::new();
        for (k, v) in self.scan_all(DirEntryKey::all()).await? {
            rep.entries += 1;
            let Some(DirEntryKey(dir, name)) = DirEntryKey::decode(&k) else {
                err(format!("bad entry key {k:?}"));
                continue;
            };
            let dv = match DirentValue::decode(&v) {
                Ok(d) => d,
                Err(e) => {
                    err(format!("entry {dir}/{name:?}: {e}"));
                    continue;
                }
            };
            match inodes.get(&dir) {
                Some(d) if d.ftype == FileType::Directory => {
                    if dv.cookie >= d.next_cookie {
                        err(format!("entry {dir}/{name:?}: cookie beyond next_cookie"));
                    }
                }
                _ => err(format!(
                    "entry {dir}/{name:?} in a missing or non-directory"
                )),
            }
            match inodes.get(&dv.ino.0) {
                Some(c) => {
                    if c.ftype != dv.ftype {
                        err(format!("entry {dir}/{name:?}: type mismatch"));
                    }
                    if c.ftype == FileType::Directory {
                        *subdirs.entry(dir).or_default() += 1;
                        if parent_of.insert(c.ino, dir).is_some() {
                            err(format!("directory {} has several names", c.ino));
                        }
                    }
                }
                None => err(format!(
                    "entry {dir}/{name:?} -> missing inode {}",
                    dv.ino.0
                )),
            }
            *names.entry(dv.ino.0).or_default() += 1;
            cookies.insert((dir, dv.cookie));
            listings
                .entry(dir)
                .or_default()
                .insert(dv.cookie, (name.clone(), dv.ino.0));
            match self
                .inner
                .store
                .get(DirCookieKey(dir, dv.cookie).encode())
                .await?
            {
                Some(cv) => match CookieValue::decode(&cv) {
                    Ok(cv) if cv.ino == dv.ino && cv.name == name => {}
                    _ => err(format!("entry {dir}/{name:?}: cookie record mismatch")),
                },
                None => err(format!("entry {dir}/{name:?}: cookie record missing")),
            }
        }
        for (k, _) in self.scan_all(DirCookieKey::all()).await? {
            match DirCookieKey::decode(&k) {
                Some(DirCookieKey(d, c)) if cookies.contains(&(d, c)) => {}
                _ => err(format!("stray cookie record {k:?}")),
            }
        }
        for (ino, n) in &inodes {
            let named = names.get(ino).copied().unwrap_or(0);
            if *ino == ROOT_INODE.0 {
                if named != 0 {
                    err("root is named by an entry".into());
                }
            } else if named == 0 {
                err(format!("orphan inode {ino}"));
            }
            if n.ftype == FileType::Directory {
                let want = 2 + subdirs.get(ino).copied().unwrap_or(0);
                if n.nlink != want {
                    err(format!("dir {ino}: nlink {} != {want}", n.nlink));
                }
                let want_parent = if *ino == ROOT_INODE.0 {
                    ROOT_INODE.0
                } else {
                    parent_of.get(ino).copied().unwrap_or(0)
                };
                if n.parent != want_parent {
                    err(format!("dir {ino}: parent {} != {want_parent}", n.parent));
                }
            } else if n.nlink != named {
                err(format!("inode {ino}: nlink {} != {named} names", n.nlink));
            }
        }
        for (k, v) in self.scan_all(ChunkKey::all()).await? {
            rep.chunks += 1;
            let Some(ChunkKey(ino, idx)) = ChunkKey::decode(&k) else {
                err(format!("bad chunk key {k:?}"));
                continue;
            };
            if pending.contains(&ino) {
                continue;
            }
            match inodes.get(&ino) {
                Some(n) if n.ftype == FileType::Regular => {
                    let v = match super::data::decode_chunk(&v) {
                        Ok(v) => v,
                        Err(e) => {
                            err(format!("chunk {ino}/{idx}: {e}"));
                            continue;
                        }
                    };
                    let start = idx.saturating_mul(CHUNK_SIZE);
                    if start >= n.size || start + v.len() as u64 > n.size {
                        err(format!("chunk {ino}/{idx} beyond size {}", n.size));
                    }
                    if v.len() as u64 > CHUNK_SIZE {
                        err(format!("chunk {ino}/{idx} too long"));
                    }
                }
                _ => err(format!("orphan chunk {ino}/{idx}")),
            }
        }
        // The inode cache must agree with the store (in a quiescent filesystem: an operation
        // running during fsck may legitimately be between its commit and its publish).
        for cached in self.inner.inodes.snapshot() {
            match inodes.get(&cached.ino) {
                Some(stored) if *stored == cached => {}
                Some(_) => err(format!(
                    "inode {}: cached record differs from the store",
                    cached.ino
                )),
                None => err(format!("inode {}: cached but not in the store", cached.ino)),
            }
        }
        for (dir, cached) in self.inner.dirs.snapshot() {
            let cached: BTreeMap<u64, (Bytes, u64)> = cached
                .into_iter()
                .map(|e| (e.cookie, (e.name, e.ino.0)))
                .collect();
            let stored = listings.remove(&dir).unwrap_or_default();
            if cached != stored {
                err(format!(
                    "directory {dir}: cached listing ({} entries) differs from the store ({})",
                    cached.len(),
                    stored.len()
                ));
            }
        }
        rep.inodes = inodes.len();
        rep.pending_reclaim = pending.len();
        Ok(rep)
    }
}
