//! Invariant checker over the whole key space: the tests, and `slatenfs fsck` (on a read-only
//! view of the storage; `--repair`, on a writer, is [`super::repair`]).
//!
//! A [`Census`] reads every key once; each invariant is one function over it, and every
//! violation is a [`Problem`] that says what is wrong precisely enough to repair it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use bytes::Bytes;

use super::core::Fs;
use super::error::FsResult;
use super::inode::{CookieValue, DirentValue, Inode};
use super::types::{FileType, CHUNK_SIZE, ROOT_INODE};
use crate::store::keys::{ChunkKey, DirCookieKey, DirEntryKey, InodeKey, KeyRange, ReclaimKey};

/// One violated invariant.
#[derive(Clone, PartialEq, Eq)]
pub enum Problem {
    /// A key of a kind (`inode`, `entry`, `cookie`, `chunk`) that does not decode.
    BadKey { kind: &'static str, key: Bytes },
    /// An inode record that does not decode.
    BadInode { ino: u64, error: String },
    /// The root directory is missing (or not a directory).
    RootMissing,
    /// An entry value that does not decode.
    BadEntry {
        dir: u64,
        name: Bytes,
        error: String,
    },
    /// An entry in an inode that is missing or not a directory.
    EntryOutsideDirectory { dir: u64, name: Bytes, cookie: u64 },
    /// An entry whose cookie is not below its directory's cookie counter.
    CookieBeyondCounter { dir: u64, name: Bytes, cookie: u64 },
    /// An entry naming an inode that does not exist.
    DanglingEntry {
        dir: u64,
        name: Bytes,
        entry: DirentValue,
    },
    /// An entry whose type is not its inode's.
    EntryTypeMismatch {
        dir: u64,
        name: Bytes,
        entry: DirentValue,
        actual: FileType,
    },
    /// A directory named by more than one entry.
    DirectoryNamedTwice { ino: u64 },
    /// The root named by an entry.
    RootNamed,
    /// An entry without its cookie record (the `C` key READDIR lists by).
    CookieRecordMissing {
        dir: u64,
        name: Bytes,
        entry: DirentValue,
    },
    /// An entry whose cookie record names something else.
    CookieRecordMismatch {
        dir: u64,
        name: Bytes,
        entry: DirentValue,
    },
    /// A cookie record without an entry.
    StrayCookieRecord { key: Bytes },
    /// An inode (not the root) that no entry names.
    OrphanInode { ino: u64, ftype: FileType },
    /// A link count that is not the number of names (directories: 2 + subdirectories).
    LinkCount { ino: u64, nlink: u32, want: u32 },
    /// A directory whose `..` is not the directory that names it.
    ParentMismatch { ino: u64, parent: u64, want: u64 },
    /// A chunk that does not decode.
    BadChunk { ino: u64, index: u64, error: String },
    /// A chunk past its file's size (or longer than a chunk).
    ChunkBeyondSize { ino: u64, index: u64, size: u64 },
    /// A chunk of an inode that is missing or not a regular file, and not queued for reclaim.
    OrphanChunk { ino: u64, index: u64 },
    /// A cached inode that differs from (or is missing in) the store.
    CachedInode { ino: u64 },
    /// A cached directory listing that differs from the store.
    CachedListing {
        dir: u64,
        cached: usize,
        stored: usize,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = |name: &Bytes| String::from_utf8_lossy(name).into_owned();
        match self {
            Problem::BadKey { kind, key } => write!(f, "bad {kind} key {key:?}"),
            Problem::BadInode { ino, error } => write!(f, "inode {ino}: {error}"),
            Problem::RootMissing => write!(f, "root directory missing"),
            Problem::BadEntry { dir, name, error } => {
                write!(f, "entry {dir}/{:?}: {error}", n(name))
            }
            Problem::EntryOutsideDirectory { dir, name, .. } => {
                write!(f, "entry {dir}/{:?} in a missing or non-directory", n(name))
            }
            Problem::CookieBeyondCounter { dir, name, cookie } => write!(
                f,
                "entry {dir}/{:?}: cookie {cookie} beyond the directory's counter",
                n(name)
            ),
            Problem::DanglingEntry { dir, name, entry } => write!(
                f,
                "entry {dir}/{:?} -> missing inode {}",
                n(name),
                entry.ino.0
            ),
            Problem::EntryTypeMismatch { dir, name, .. } => {
                write!(f, "entry {dir}/{:?}: type mismatch", n(name))
            }
            Problem::DirectoryNamedTwice { ino } => write!(f, "directory {ino} has several names"),
            Problem::RootNamed => write!(f, "root is named by an entry"),
            Problem::CookieRecordMissing { dir, name, .. } => {
                write!(f, "entry {dir}/{:?}: cookie record missing", n(name))
            }
            Problem::CookieRecordMismatch { dir, name, .. } => {
                write!(f, "entry {dir}/{:?}: cookie record mismatch", n(name))
            }
            Problem::StrayCookieRecord { key } => write!(f, "stray cookie record {key:?}"),
            Problem::OrphanInode { ino, .. } => write!(f, "orphan inode {ino}"),
            Problem::LinkCount { ino, nlink, want } => {
                write!(f, "inode {ino}: nlink {nlink} != {want}")
            }
            Problem::ParentMismatch { ino, parent, want } => {
                write!(f, "dir {ino}: parent {parent} != {want}")
            }
            Problem::BadChunk { ino, index, error } => write!(f, "chunk {ino}/{index}: {error}"),
            Problem::ChunkBeyondSize { ino, index, size } => {
                write!(f, "chunk {ino}/{index} beyond size {size}")
            }
            Problem::OrphanChunk { ino, index } => write!(f, "orphan chunk {ino}/{index}"),
            Problem::CachedInode { ino } => {
                write!(f, "inode {ino}: cached record differs from the store")
            }
            Problem::CachedListing {
                dir,
                cached,
                stored,
            } => write!(
                f,
                "directory {dir}: cached listing ({cached} entries) differs from the store ({stored})"
            ),
        }
    }
}

impl fmt::Debug for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What [`Fs::fsck`] found.
#[derive(Debug, Default, Clone)]
pub struct FsckReport {
    /// Live inodes.
    pub inodes: usize,
    /// Of them, directories.
    pub directories: usize,
    /// Of them, regular files.
    pub files: usize,
    /// Directory entries.
    pub entries: usize,
    /// Data chunks.
    pub chunks: usize,
    /// Pending reclaim records (chunks of removed or truncated files still to delete).
    pub pending_reclaim: usize,
    /// Violated invariants (empty when consistent).
    pub errors: Vec<Problem>,
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
    /// Every entry: (directory, name) → value.
    entries: BTreeMap<(u64, Bytes), DirentValue>,
    /// Every cookie record: (directory, cookie) → value.
    cookie_records: BTreeMap<(u64, u64), CookieValue>,
    /// Inode → entries naming it.
    names: BTreeMap<u64, u32>,
    /// Directory → subdirectories named in it.
    subdirs: BTreeMap<u64, u32>,
    /// Directory → the directory that names it.
    parent_of: BTreeMap<u64, u64>,
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

    /// Checks every invariant: each entry lies in a live directory, below its cookie counter,
    /// names a live inode of the right type, and has a matching cookie record (and every
    /// cookie record an entry); link counts equal the entries naming the inode (directories:
    /// 2 + their subdirectories); every inode but the root is named, directories once; `..`
    /// pointers match; chunks decode, belong to live regular files (or ones queued for
    /// reclaim) and lie within their size; every inode in the inode cache equals its stored
    /// record, and every cached listing the stored entries.
    pub async fn fsck(&self) -> FsResult<FsckReport> {
        let mut rep = FsckReport::default();
        let census = self.take_census(&mut rep).await?;
        check_root(&census, &mut rep);
        check_entries(&census, &mut rep);
        check_cookie_records(&census, &mut rep);
        check_link_counts(&census, &mut rep);
        check_parents(&census, &mut rep);
        self.check_chunks(&census, &mut rep).await?;
        self.check_caches(&census, &mut rep);
        rep.inodes = census.inodes.len();
        rep.directories = count_type(&census, FileType::Directory);
        rep.files = count_type(&census, FileType::Regular);
        rep.entries = census.entries.len();
        rep.pending_reclaim = census.pending_reclaim.len();
        Ok(rep)
    }

    /// Reads every inode, entry, cookie record and reclaim record (chunks are streamed by
    /// [`Fs::check_chunks`]); keys and values that do not decode are problems.
    async fn take_census(&self, rep: &mut FsckReport) -> FsResult<Census> {
        let mut census = Census::default();
        for (k, v) in self.scan_all(InodeKey::all()).await? {
            match InodeKey::decode(&k) {
                Some(InodeKey(ino)) => match Inode::decode(ino, &v) {
                    Ok(n) => {
                        census.inodes.insert(ino, n);
                    }
                    Err(e) => rep.errors.push(Problem::BadInode {
                        ino,
                        error: e.to_string(),
                    }),
                },
                None => rep.errors.push(Problem::BadKey {
                    kind: "inode",
                    key: k,
                }),
            }
        }
        census.pending_reclaim = self
            .scan_all(ReclaimKey::all())
            .await?
            .iter()
            .filter_map(|(k, _)| ReclaimKey::decode(k).map(|r| r.0))
            .collect();
        for (k, v) in self.scan_all(DirEntryKey::all()).await? {
            let Some(DirEntryKey(dir, name)) = DirEntryKey::decode(&k) else {
                rep.errors.push(Problem::BadKey {
                    kind: "entry",
                    key: k,
                });
                continue;
            };
            match DirentValue::decode(&v) {
                Ok(dv) => {
                    census.entries.insert((dir, name), dv);
                }
                Err(e) => rep.errors.push(Problem::BadEntry {
                    dir,
                    name,
                    error: e.to_string(),
                }),
            }
        }
        for (k, v) in self.scan_all(DirCookieKey::all()).await? {
            match (DirCookieKey::decode(&k), CookieValue::decode(&v)) {
                (Some(DirCookieKey(dir, cookie)), Ok(cv)) => {
                    census.cookie_records.insert((dir, cookie), cv);
                }
                _ => rep.errors.push(Problem::StrayCookieRecord { key: k }),
            }
        }
        for ((dir, _), dv) in &census.entries {
            *census.names.entry(dv.ino.0).or_default() += 1;
            if census
                .inodes
                .get(&dv.ino.0)
                .is_some_and(|c| c.ftype == FileType::Directory)
            {
                *census.subdirs.entry(*dir).or_default() += 1;
                census.parent_of.insert(dv.ino.0, *dir);
            }
        }
        Ok(census)
    }

    /// Every chunk decodes, belongs to a live regular file (or one queued for reclaim) and
    /// lies within its size.
    async fn check_chunks(&self, census: &Census, rep: &mut FsckReport) -> FsResult<()> {
        for (k, v) in self.scan_all(ChunkKey::all()).await? {
            rep.chunks += 1;
            // A key in the other layout decodes, but reads never look for it.
            let Some(ChunkKey(ino, index)) =
                ChunkKey::decode(&k).filter(|c| k == self.chunk_key(c.0, c.1))
            else {
                rep.errors.push(Problem::BadKey {
                    kind: "chunk",
                    key: k,
                });
                continue;
            };
            if census.pending_reclaim.contains(&ino) {
                continue;
            }
            let problem = match census.inodes.get(&ino) {
                Some(n) if n.ftype == FileType::Regular => match super::data::decode_chunk(&v) {
                    Err(e) => Some(Problem::BadChunk {
                        ino,
                        index,
                        error: e.to_string(),
                    }),
                    Ok(v) => {
                        let start = index.saturating_mul(CHUNK_SIZE);
                        let beyond = start >= n.size
                            || start + v.len() as u64 > n.size
                            || v.len() as u64 > CHUNK_SIZE;
                        beyond.then_some(Problem::ChunkBeyondSize {
                            ino,
                            index,
                            size: n.size,
                        })
                    }
                },
                _ => Some(Problem::OrphanChunk { ino, index }),
            };
            rep.errors.extend(problem);
        }
        Ok(())
    }

    /// The inode and directory caches agree with the store (in a quiescent filesystem: an
    /// operation running during fsck may be between its commit and its publish).
    fn check_caches(&self, census: &Census, rep: &mut FsckReport) {
        for cached in self.inner.inodes.snapshot() {
            if census.inodes.get(&cached.ino) != Some(&cached) {
                rep.errors.push(Problem::CachedInode { ino: cached.ino });
            }
        }
        for (dir, cached) in self.inner.dirs.snapshot() {
            let cached: BTreeMap<u64, (Bytes, u64)> = cached
                .into_iter()
                .map(|e| (e.cookie, (e.name, e.ino.0)))
                .collect();
            let stored: BTreeMap<u64, (Bytes, u64)> = census
                .entries
                .range((dir, Bytes::new())..)
                .take_while(|((d, _), _)| *d == dir)
                .map(|((_, name), dv)| (dv.cookie, (name.clone(), dv.ino.0)))
                .collect();
            if cached != stored {
                rep.errors.push(Problem::CachedListing {
                    dir,
                    cached: cached.len(),
                    stored: stored.len(),
                });
            }
        }
    }
}

fn count_type(census: &Census, ftype: FileType) -> usize {
    census.inodes.values().filter(|n| n.ftype == ftype).count()
}

/// The root exists, is a directory, and no entry names it.
fn check_root(census: &Census, rep: &mut FsckReport) {
    match census.inodes.get(&ROOT_INODE.0) {
        Some(r) if r.ftype == FileType::Directory => {}
        _ => rep.errors.push(Problem::RootMissing),
    }
    if census.names.contains_key(&ROOT_INODE.0) {
        rep.errors.push(Problem::RootNamed);
    }
}

/// Every entry: in a live directory, below its cookie counter, naming a live inode of the
/// entry's type, with a matching cookie record.
fn check_entries(census: &Census, rep: &mut FsckReport) {
    for ((dir, name), dv) in &census.entries {
        let (dir, name) = (*dir, name.clone());
        match census.inodes.get(&dir) {
            Some(d) if d.ftype == FileType::Directory => {
                if dv.cookie >= d.next_cookie {
                    rep.errors.push(Problem::CookieBeyondCounter {
                        dir,
                        name: name.clone(),
                        cookie: dv.cookie,
                    });
                }
            }
            _ => rep.errors.push(Problem::EntryOutsideDirectory {
                dir,
                name: name.clone(),
                cookie: dv.cookie,
            }),
        }
        match census.inodes.get(&dv.ino.0) {
            Some(c) if c.ftype != dv.ftype => rep.errors.push(Problem::EntryTypeMismatch {
                dir,
                name: name.clone(),
                entry: *dv,
                actual: c.ftype,
            }),
            Some(_) => {}
            None => rep.errors.push(Problem::DanglingEntry {
                dir,
                name: name.clone(),
                entry: *dv,
            }),
        }
        match census.cookie_records.get(&(dir, dv.cookie)) {
            Some(cv) if cv.ino == dv.ino && cv.name == name => {}
            Some(_) => rep.errors.push(Problem::CookieRecordMismatch {
                dir,
                name,
                entry: *dv,
            }),
            None => rep.errors.push(Problem::CookieRecordMissing {
                dir,
                name,
                entry: *dv,
            }),
        }
    }
}

/// Every cookie record belongs to an entry: the one named in it, with that cookie.
fn check_cookie_records(census: &Census, rep: &mut FsckReport) {
    for ((dir, cookie), cv) in &census.cookie_records {
        let owned = census
            .entries
            .get(&(*dir, cv.name.clone()))
            .is_some_and(|dv| dv.cookie == *cookie);
        if !owned {
            rep.errors.push(Problem::StrayCookieRecord {
                key: DirCookieKey(*dir, *cookie).encode(),
            });
        }
    }
}

/// Link counts equal the names of each inode (directories: 2 + subdirectories), every inode
/// but the root is named, and directories once.
fn check_link_counts(census: &Census, rep: &mut FsckReport) {
    for (ino, n) in &census.inodes {
        let named = census.names.get(ino).copied().unwrap_or(0);
        if *ino != ROOT_INODE.0 && named == 0 {
            rep.errors.push(Problem::OrphanInode {
                ino: *ino,
                ftype: n.ftype,
            });
        }
        let want = if n.ftype == FileType::Directory {
            if named > 1 {
                rep.errors.push(Problem::DirectoryNamedTwice { ino: *ino });
            }
            2 + census.subdirs.get(ino).copied().unwrap_or(0)
        } else {
            named
        };
        if n.nlink != want {
            rep.errors.push(Problem::LinkCount {
                ino: *ino,
                nlink: n.nlink,
                want,
            });
        }
    }
}

/// Every directory's `..` is the directory that names it (the root's is itself).
fn check_parents(census: &Census, rep: &mut FsckReport) {
    for (ino, n) in &census.inodes {
        if n.ftype != FileType::Directory {
            continue;
        }
        let want = if *ino == ROOT_INODE.0 {
            ROOT_INODE.0
        } else {
            match census.parent_of.get(ino) {
                Some(p) => *p,
                // An orphan: reported as such.
                None => continue,
            }
        };
        if n.parent != want {
            rep.errors.push(Problem::ParentMismatch {
                ino: *ino,
                parent: n.parent,
                want,
            });
        }
    }
}
