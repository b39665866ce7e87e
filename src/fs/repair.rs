//! `slatenfs fsck --repair`: fixes what [`Fs::fsck`] finds, where a fix loses nothing that
//! is still reachable, each fix one atomic (durable) batch, in an order where each step's
//! checks see the previous steps' fixes:
//!
//! 1. leftover reclaim work runs (the chunks of removed or truncated files);
//! 2. entries: dangling ones and ones outside a directory are deleted, entry types and cookie
//!    records are rewritten from the inode and the entry, stray cookie records deleted,
//!    cookie counters raised above their entries;
//! 3. orphan inodes are given a name in `/lost+found` (`#<inode>`), as other fscks do:
//!    nothing is thrown away that someone may want back;
//! 4. link counts and `..` pointers are set to what the names say;
//! 5. chunks of no live file, and chunks past their file's size (which reads never return),
//!    are deleted.
//!
//! Everything else (records that do not decode, a missing root, a directory with several
//! names) needs a person, and is reported as not repaired. The filesystem must be open on a
//! writer (opening one fences any server that had the storage), and nothing else may use it.

use bytes::Bytes;

use super::batch::FsBatch;
use super::core::Fs;
use super::error::{FsError, FsResult};
use super::fsck::{FsckReport, Problem};
use super::inode::DirentValue;
use super::types::{Credentials, FileType, InodeId, SetAttr, ROOT_INODE};
use crate::store::Durability;

/// The directory orphans are given names in.
pub const LOST_AND_FOUND: &[u8] = b"lost+found";

/// What [`Fs::repair`] did.
#[derive(Debug, Default, Clone)]
pub struct RepairReport {
    /// One line per kind of fix, with how many.
    pub done: Vec<String>,
    /// What fsck finds after the repair (problems that need a person).
    pub after: FsckReport,
}

/// Counts fixes of one kind.
struct Tally<'a> {
    what: &'static str,
    n: usize,
    done: &'a mut Vec<String>,
}

impl<'a> Tally<'a> {
    fn new(what: &'static str, done: &'a mut Vec<String>) -> Self {
        Tally { what, n: 0, done }
    }
}

impl Drop for Tally<'_> {
    fn drop(&mut self) {
        if self.n > 0 {
            self.done.push(format!("{} {}", self.what, self.n));
        }
    }
}

impl Fs {
    /// Repairs what can be repaired safely (see the module docs).
    pub async fn repair(&self) -> FsResult<RepairReport> {
        self.check_writable()?;
        let mut done = Vec::new();
        let reclaimed = self.reclaim_pending().await?;
        if reclaimed > 0 {
            done.push(format!("ran leftover reclaim of files: {reclaimed}"));
        }
        self.repair_entries(&self.fsck().await?, &mut done).await?;
        self.repair_orphans(&self.fsck().await?, &mut done).await?;
        self.repair_counts(&self.fsck().await?, &mut done).await?;
        self.repair_chunks(&self.fsck().await?, &mut done).await?;
        Ok(RepairReport {
            done,
            after: self.fsck().await?,
        })
    }

    async fn commit_durable(&self, batch: FsBatch) -> FsResult<()> {
        Ok(self
            .commit_batch(batch, Durability::Durable)
            .await?
            .durable()
            .await?)
    }

    async fn repair_entries(&self, rep: &FsckReport, done: &mut Vec<String>) -> FsResult<()> {
        let mut deleted = Tally::new(
            "deleted entries naming no inode or outside a directory:",
            done,
        );
        for p in &rep.errors {
            let mut batch = FsBatch::new();
            match p {
                Problem::DanglingEntry { dir, name, entry } => {
                    batch.delete_dirent(*dir, name.clone(), entry.cookie)
                }
                Problem::EntryOutsideDirectory { dir, name, cookie } => {
                    batch.delete_dirent(*dir, name.clone(), *cookie)
                }
                _ => continue,
            }
            self.commit_durable(batch).await?;
            deleted.n += 1;
        }
        drop(deleted);
        let mut rewritten = Tally::new("rewrote entries and their cookie records:", done);
        for p in &rep.errors {
            let (dir, name, entry) = match p {
                Problem::EntryTypeMismatch {
                    dir,
                    name,
                    entry,
                    actual,
                } => (
                    *dir,
                    name,
                    DirentValue {
                        ftype: *actual,
                        ..*entry
                    },
                ),
                Problem::CookieRecordMissing { dir, name, entry }
                | Problem::CookieRecordMismatch { dir, name, entry } => (*dir, name, *entry),
                _ => continue,
            };
            let mut batch = FsBatch::new();
            batch.put_dirent(dir, name.clone(), entry);
            self.commit_durable(batch).await?;
            rewritten.n += 1;
        }
        drop(rewritten);
        let mut strays = Tally::new("deleted stray cookie records:", done);
        for p in &rep.errors {
            if let Problem::StrayCookieRecord { key } = p {
                let mut batch = FsBatch::new();
                batch.delete(key.clone());
                self.commit_durable(batch).await?;
                strays.n += 1;
            }
        }
        drop(strays);
        let mut counters = Tally::new("raised directory cookie counters:", done);
        for p in &rep.errors {
            if let Problem::CookieBeyondCounter { dir, cookie, .. } = p {
                let mut d = self.load(InodeId(*dir)).await?;
                if d.next_cookie <= *cookie {
                    d.next_cookie = cookie + 1;
                    let mut batch = FsBatch::new();
                    batch.put_inode(&d);
                    self.commit_durable(batch).await?;
                    counters.n += 1;
                }
            }
        }
        Ok(())
    }

    /// The `/lost+found` directory, made if missing.
    async fn lost_and_found(&self) -> FsResult<InodeId> {
        let root = Credentials::root();
        match self.lookup(&root, ROOT_INODE, LOST_AND_FOUND).await {
            Ok(found) => Ok(found.ino),
            Err(FsError::NoEnt) => {
                let sa = SetAttr {
                    mode: Some(0o700),
                    ..SetAttr::default()
                };
                Ok(self
                    .mkdir(&root, ROOT_INODE, LOST_AND_FOUND, &sa)
                    .await?
                    .ino)
            }
            Err(e) => Err(e),
        }
    }

    async fn repair_orphans(&self, rep: &FsckReport, done: &mut Vec<String>) -> FsResult<()> {
        let orphans: Vec<(u64, FileType)> = rep
            .errors
            .iter()
            .filter_map(|p| match p {
                Problem::OrphanInode { ino, ftype } => Some((*ino, *ftype)),
                _ => None,
            })
            .collect();
        if orphans.is_empty() {
            return Ok(());
        }
        let mut named = Tally::new("gave orphan inodes a name in /lost+found:", done);
        let lf = self.lost_and_found().await?;
        for (ino, ftype) in orphans {
            let name = Bytes::from(format!("#{ino}"));
            let mut dir = self.load(lf).await?;
            let mut node = self.load(InodeId(ino)).await?;
            let cookie = dir.next_cookie;
            dir.next_cookie += 1;
            let mut batch = FsBatch::new();
            batch.put_dirent(
                lf.0,
                name,
                DirentValue {
                    ino: InodeId(ino),
                    ftype,
                    cookie,
                },
            );
            if ftype == FileType::Directory {
                node.parent = lf.0;
                dir.nlink += 1;
            } else {
                node.nlink = 1;
            }
            batch.put_inode(&node);
            batch.put_inode(&dir);
            self.commit_durable(batch).await?;
            named.n += 1;
        }
        Ok(())
    }

    async fn repair_counts(&self, rep: &FsckReport, done: &mut Vec<String>) -> FsResult<()> {
        let mut links = Tally::new("set link counts to the names:", done);
        for p in &rep.errors {
            if let Problem::LinkCount { ino, want, .. } = p {
                let mut node = self.load(InodeId(*ino)).await?;
                node.nlink = *want;
                let mut batch = FsBatch::new();
                batch.put_inode(&node);
                self.commit_durable(batch).await?;
                links.n += 1;
            }
        }
        drop(links);
        let mut parents = Tally::new(
            "set '..' of directories to the directory naming them:",
            done,
        );
        for p in &rep.errors {
            if let Problem::ParentMismatch { ino, want, .. } = p {
                let mut node = self.load(InodeId(*ino)).await?;
                node.parent = *want;
                let mut batch = FsBatch::new();
                batch.put_inode(&node);
                self.commit_durable(batch).await?;
                parents.n += 1;
            }
        }
        Ok(())
    }

    async fn repair_chunks(&self, rep: &FsckReport, done: &mut Vec<String>) -> FsResult<()> {
        let mut deleted = Tally::new("deleted chunks of no live file or past its size:", done);
        let doomed: Vec<(u64, u64)> = rep
            .errors
            .iter()
            .filter_map(|p| match p {
                Problem::OrphanChunk { ino, index }
                | Problem::ChunkBeyondSize { ino, index, .. } => Some((*ino, *index)),
                _ => None,
            })
            .collect();
        for page in doomed.chunks(256) {
            let mut batch = FsBatch::new();
            for (ino, index) in page {
                batch.delete(self.chunk_key(*ino, *index));
            }
            self.commit_durable(batch).await?;
            deleted.n += page.len();
        }
        Ok(())
    }
}
