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

/// What the store holds, gathered for the checks.
#[derive(Default)]
struct Census {
    inodes: BTreeMap<u64, Inode>,
    /// Inodes whose chunks are queued for reclaim (`R` keys).
    pending_reclaim: BTreeSet<u64>,
    /// Inode → entries naming it.
    names: BTreeMap<u64, u32>,
    /// Directory → subdirectories named in it.
    subdirs: BTreeMap<u64, u32>,
    /// Directory → the directory that names it.
    parent_of: BTreeMap<u64, u64>,
    /// (directory, cookie) of every entry.
    cookies: BTreeSet<(u64, u64)>,
    /// Directory → cookie → (name, inode): what the directory cache must agree with.
    listings: BTreeMap<u64, BTreeMap<u64, (Bytes, u64)>>,
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
        let mut census = Census::default();
        self.census_inodes(&mut census, &mut rep).await?;
        self.check_entries(&mut census, &mut rep).await?;
        self.check_cookie_records(&census, &mut rep).await?;
        check_link_counts(&census, &mut rep);
        self.check_chunks(&census, &mut rep).await?;
        self.check_caches(&mut census, &mut rep);
        rep.inodes = census.inodes.len();
        rep.pending_reclaim = census.pending_reclaim.len();
        Ok(rep)
    }

    /// Reads every inode and reclaim record; the root must be a directory.
    async fn census_inodes(&self, census: &mut Census, rep: &mut FsckReport) -> FsResult<()> {
        for (k, v) in self.scan_all(InodeKey::all()).await? {
            match InodeKey::decode(&k) {
                Some(InodeKey(ino)) => match Inode::decode(ino, &v) {
                    Ok(n) => {
                        census.inodes.insert(ino, n);
                    }
                    Err(e) => rep.errors.push(format!("inode {ino}: {e}")),
                },
                None => rep.errors.push(format!("bad inode key {k:?}")),
            }
        }
        census.pending_reclaim = self
            .scan_all(ReclaimKey::all())
            .await?
            .iter()
            .filter_map(|(k, _)| ReclaimKey::decode(k).map(|r| r.0))
            .collect();
        match census.inodes.get(&ROOT_INODE.0) {
            Some(r) if r.ftype == FileType::Directory => {}
            _ => rep.errors.push("root directory missing".into()),
        }
        Ok(())
    }

    /// Every entry: in a live directory, below its cookie counter, naming a live inode of the
    /// entry's type, with a matching cookie record; counts names and subdirectories.
    async fn check_entries(&self, census: &mut Census, rep: &mut FsckReport) -> FsResult<()> {
        for (k, v) in self.scan_all(DirEntryKey::all()).await? {
            rep.entries += 1;
            let mut err = |s: String| rep.errors.push(s);
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
            match census.inodes.get(&dir) {
                Some(d) if d.ftype == FileType::Directory => {
                    if dv.cookie >= d.next_cookie {
                        err(format!("entry {dir}/{name:?}: cookie beyond next_cookie"));
                    }
                }
                _ => err(format!(
                    "entry {dir}/{name:?} in a missing or non-directory"
                )),
            }
            match census.inodes.get(&dv.ino.0) {
                Some(c) => {
                    if c.ftype != dv.ftype {
                        err(format!("entry {dir}/{name:?}: type mismatch"));
                    }
                    if c.ftype == FileType::Directory {
                        *census.subdirs.entry(dir).or_default() += 1;
                        if census.parent_of.insert(c.ino, dir).is_some() {
                            err(format!("directory {} has several names", c.ino));
                        }
                    }
                }
                None => err(format!(
                    "entry {dir}/{name:?} -> missing inode {}",
                    dv.ino.0
                )),
            }
            *census.names.entry(dv.ino.0).or_default() += 1;
            census.cookies.insert((dir, dv.cookie));
            census
                .listings
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
        Ok(())
    }

    /// Every cookie record belongs to an entry.
    async fn check_cookie_records(&self, census: &Census, rep: &mut FsckReport) -> FsResult<()> {
        for (k, _) in self.scan_all(DirCookieKey::all()).await? {
            match DirCookieKey::decode(&k) {
                Some(DirCookieKey(d, c)) if census.cookies.contains(&(d, c)) => {}
                _ => rep.errors.push(format!("stray cookie record {k:?}")),
            }
        }
        Ok(())
    }

    /// Every chunk belongs to a live regular file (or one queued for reclaim) and lies within
    /// its size.
    async fn check_chunks(&self, census: &Census, rep: &mut FsckReport) -> FsResult<()> {
        for (k, v) in self.scan_all(ChunkKey::all()).await? {
            rep.chunks += 1;
            let mut err = |s: String| rep.errors.push(s);
            let Some(ChunkKey(ino, idx)) = ChunkKey::decode(&k) else {
                err(format!("bad chunk key {k:?}"));
                continue;
            };
            if census.pending_reclaim.contains(&ino) {
                continue;
            }
            match census.inodes.get(&ino) {
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
        Ok(())
    }

    /// The inode and directory caches agree with the store (in a quiescent filesystem: an
    /// operation running during fsck may be between its commit and its publish).
    fn check_caches(&self, census: &mut Census, rep: &mut FsckReport) {
        for cached in self.inner.inodes.snapshot() {
            match census.inodes.get(&cached.ino) {
                Some(stored) if *stored == cached => {}
                Some(_) => rep.errors.push(format!(
                    "inode {}: cached record differs from the store",
                    cached.ino
                )),
                None => rep
                    .errors
                    .push(format!("inode {}: cached but not in the store", cached.ino)),
            }
        }
        for (dir, cached) in self.inner.dirs.snapshot() {
            let cached: BTreeMap<u64, (Bytes, u64)> = cached
                .into_iter()
                .map(|e| (e.cookie, (e.name, e.ino.0)))
                .collect();
            let stored = census.listings.remove(&dir).unwrap_or_default();
            if cached != stored {
                rep.errors.push(format!(
                    "directory {dir}: cached listing ({} entries) differs from the store ({})",
                    cached.len(),
                    stored.len()
                ));
            }
        }
    }
}

/// Link counts equal the names of each inode (directories: 2 + subdirectories), every inode but
/// the root is named, and `..` pointers match.
fn check_link_counts(census: &Census, rep: &mut FsckReport) {
    let mut err = |s: String| rep.errors.push(s);
    for (ino, n) in &census.inodes {
        let named = census.names.get(ino).copied().unwrap_or(0);
        if *ino == ROOT_INODE.0 {
            if named != 0 {
                err("root is named by an entry".into());
            }
        } else if named == 0 {
            err(format!("orphan inode {ino}"));
        }
        if n.ftype == FileType::Directory {
            let want = 2 + census.subdirs.get(ino).copied().unwrap_or(0);
            if n.nlink != want {
                err(format!("dir {ino}: nlink {} != {want}", n.nlink));
            }
            let want_parent = if *ino == ROOT_INODE.0 {
                ROOT_INODE.0
            } else {
                census.parent_of.get(ino).copied().unwrap_or(0)
            };
            if n.parent != want_parent {
                err(format!("dir {ino}: parent {} != {want_parent}", n.parent));
            }
        } else if n.nlink != named {
            err(format!("inode {ino}: nlink {} != {named} names", n.nlink));
        }
    }
}
