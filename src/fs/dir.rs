//! Namespace operations: LOOKUP, CREATE, MKDIR, SYMLINK, MKNOD, REMOVE, RMDIR, RENAME, LINK,
//! READDIR.
//!
//! Every mutation locks the inodes it touches (directory, entry targets) through
//! [`Fs::lock_entries`] and commits ONE batch.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::batch::FsBatch;
use super::core::{check_name, Fs, NameKind};
use super::dir_cache::PageEntry;
use super::error::{FsError, FsResult};
use super::inode::{CookieValue, DirentValue, Inode};
use super::locks::LockSet;
use super::perm::{self, S_ISGID};
use super::types::*;
use crate::store::keys::{DirCookieKey, DirEntryKey, ReclaimKey};
use crate::store::Applied;

/// What CREATE, MKDIR, SYMLINK and MKNOD make.
struct NewObject<'a> {
    ftype: FileType,
    mode: u32,
    sa: &'a SetAttr,
    rdev: (u32, u32),
    target: Bytes,
    if_exists: IfExists,
}

/// What to do when the name is taken already.
#[derive(Clone, Copy)]
enum IfExists {
    /// Fail with `Exist`.
    Fail,
    /// CREATE UNCHECKED: open the existing regular file (applying a size).
    OpenRegularFile,
    /// CREATE EXCLUSIVE: succeed if it was made by a CREATE with this verifier.
    MatchVerifier([u8; 8]),
}

/// A directory locked for a change of one of its entries (and of what that entry names), with
/// the directory's inode and the entry as they are under the lock.
struct LockedEntry<'a> {
    guard: LockSet<'a>,
    dir: Inode,
    name: Bytes,
    entry: Option<DirentValue>,
}

fn dir_wcc(before: WccAttr, after: Attr) -> Wcc {
    Wcc {
        before: Some(before),
        after: Some(after),
    }
}

/// Most entries one READDIR call returns.
pub const MAX_READDIR_ENTRIES: usize = 65_536;

const NO_SETATTR: SetAttr = SetAttr {
    mode: None,
    uid: None,
    gid: None,
    size: None,
    atime: SetTime::DontChange,
    mtime: SetTime::DontChange,
};

impl Fs {
    /// Locks directory `dir`, the inodes `also`, and whatever `name` names in `dir`, for a change
    /// of that entry; `NotDir` if `dir` is not a directory.
    async fn lock_entry(
        &self,
        dir: InodeId,
        name: &[u8],
        also: &[u64],
    ) -> FsResult<LockedEntry<'_>> {
        let name = Bytes::copy_from_slice(name);
        let mut fixed = vec![dir.0];
        fixed.extend_from_slice(also);
        let (guard, found) = self.lock_entries(&fixed, &[(dir.0, &name)]).await?;
        let d = self.load(dir).await?;
        if d.ftype != FileType::Directory {
            return Err(FsError::NotDir);
        }
        Ok(LockedEntry {
            guard,
            dir: d,
            name,
            entry: found.first().copied().flatten(),
        })
    }

    /// LOOKUP of `name` in `dir` (`.` and `..` included).
    pub async fn lookup(
        &self,
        cred: &Credentials,
        dir: InodeId,
        name: &[u8],
    ) -> FsResult<LookupOk> {
        let kind = match check_name(name) {
            Ok(k) => k,
            Err(FsError::Inval) if name.is_empty() => return Err(FsError::NoEnt),
            Err(e) => return Err(e),
        };
        // Inodes usually come from the inode cache: the entry is then the only store read.
        let d = self.load(dir).await?;
        if d.ftype != FileType::Directory {
            return Err(FsError::NotDir);
        }
        perm::check_search(cred, &d)?;
        let child = match kind {
            NameKind::Dot => d.clone(),
            NameKind::DotDot => self.load(InodeId(d.parent)).await?,
            NameKind::Normal => {
                let e = self
                    .dirent(dir.0, &Bytes::copy_from_slice(name))
                    .await?
                    .ok_or(FsError::NoEnt)?;
                self.try_load(e.ino.0).await?.ok_or(FsError::NoEnt)?
            }
        };
        Ok(LookupOk {
            generation: child.generation,
            ino: InodeId(child.ino),
            attr: self.attr_of(&child),
            dir_attr: self.attr_of(&d),
        })
    }

    /// CREATE of a regular file.
    pub async fn create(
        &self,
        cred: &Credentials,
        dir: InodeId,
        name: &[u8],
        how: &CreateHow,
    ) -> FsResult<CreateOk> {
        self.check_writable()?;
        let (sa, if_exists) = match how {
            CreateHow::Unchecked(sa) => (sa, IfExists::OpenRegularFile),
            CreateHow::Guarded(sa) => (sa, IfExists::Fail),
            CreateHow::Exclusive(v) => (&NO_SETATTR, IfExists::MatchVerifier(*v)),
        };
        let mode = match how {
            CreateHow::Exclusive(_) => 0o600,
            _ => 0o644,
        };
        self.create_object(
            cred,
            dir,
            name,
            NewObject {
                ftype: FileType::Regular,
                mode,
                sa,
                rdev: (0, 0),
                target: Bytes::new(),
                if_exists,
            },
        )
        .await
    }

    /// MKDIR.
    pub async fn mkdir(
        &self,
        cred: &Credentials,
        dir: InodeId,
        name: &[u8],
        sa: &SetAttr,
    ) -> FsResult<CreateOk> {
        self.check_writable()?;
        self.create_object(
            cred,
            dir,
            name,
            NewObject {
                ftype: FileType::Directory,
                mode: 0o755,
                sa,
                rdev: (0, 0),
                target: Bytes::new(),
                if_exists: IfExists::Fail,
            },
        )
        .await
    }

    /// SYMLINK.
    pub async fn symlink(
        &self,
        cred: &Credentials,
        dir: InodeId,
        name: &[u8],
        target: &[u8],
        sa: &SetAttr,
    ) -> FsResult<CreateOk> {
        self.check_writable()?;
        if target.is_empty() {
            return Err(FsError::Inval);
        }
        if target.len() > SYMLINK_MAX {
            return Err(FsError::NameTooLong);
        }
        // Symlink modes are meaningless; only times/owners of the sattr apply.
        let sa = SetAttr {
            mode: None,
            size: None,
            ..sa.clone()
        };
        self.create_object(
            cred,
            dir,
            name,
            NewObject {
                ftype: FileType::Symlink,
                mode: 0o777,
                sa: &sa,
                rdev: (0, 0),
                target: Bytes::copy_from_slice(target),
                if_exists: IfExists::Fail,
            },
        )
        .await
    }

    /// MKNOD (devices need root).
    pub async fn mknod(
        &self,
        cred: &Credentials,
        dir: InodeId,
        name: &[u8],
        kind: SpecialKind,
        sa: &SetAttr,
    ) -> FsResult<CreateOk> {
        self.check_writable()?;
        let (ftype, rdev) = match kind {
            SpecialKind::Char(a, b) => (FileType::CharDevice, (a, b)),
            SpecialKind::Block(a, b) => (FileType::BlockDevice, (a, b)),
            SpecialKind::Socket => (FileType::Socket, (0, 0)),
            SpecialKind::Fifo => (FileType::Fifo, (0, 0)),
        };
        if matches!(ftype, FileType::CharDevice | FileType::BlockDevice) && cred.uid != 0 {
            return Err(FsError::Perm);
        }
        let sa = SetAttr {
            size: None,
            ..sa.clone()
        };
        self.create_object(
            cred,
            dir,
            name,
            NewObject {
                ftype,
                mode: 0o644,
                sa: &sa,
                rdev,
                target: Bytes::new(),
                if_exists: IfExists::Fail,
            },
        )
        .await
    }

    /// CREATE, MKDIR, SYMLINK and MKNOD: a new object `obj` named `name` in `dir`.
    async fn create_object(
        &self,
        cred: &Credentials,
        dir: InodeId,
        name: &[u8],
        obj: NewObject<'_>,
    ) -> FsResult<CreateOk> {
        if check_name(name)? != NameKind::Normal {
            return Err(FsError::Exist);
        }
        let LockedEntry {
            guard,
            dir: mut d,
            name,
            entry,
        } = self.lock_entry(dir, name, &[]).await?;
        // An existing name wins over a missing write permission (EEXIST, as Linux's nfsd and
        // local filesystems answer), but looking it up needs search permission.
        perm::check_search(cred, &d)?;
        let before = self.attr_of(&d).wcc();

        if let Some(e) = entry {
            let mut existing = self.try_load(e.ino.0).await?.ok_or(FsError::Exist)?;
            match obj.if_exists {
                IfExists::Fail => return Err(FsError::Exist),
                IfExists::MatchVerifier(v) => {
                    if existing.ftype == FileType::Regular && existing.verifier == Some(v) {
                        return Ok(CreateOk {
                            generation: existing.generation,
                            ino: InodeId(existing.ino),
                            attr: self.attr_of(&existing),
                            dir_wcc: dir_wcc(before, self.attr_of(&d)),
                        });
                    }
                    return Err(FsError::Exist);
                }
                IfExists::OpenRegularFile => {
                    if existing.ftype != FileType::Regular {
                        return Err(FsError::Exist);
                    }
                    let mut deferred = false;
                    if let Some(size) = obj.sa.size {
                        let sa = SetAttr {
                            size: Some(size),
                            ..SetAttr::default()
                        };
                        let mut batch = FsBatch::new();
                        deferred = self
                            .apply_setattr(cred, &mut existing, &sa, &mut batch, Timestamp::now())
                            .await?;
                        batch.put_inode(&existing);
                        self.commit_batch(batch, self.meta_durability())
                            .await?
                            .durable()
                            .await?;
                    }
                    if deferred {
                        self.reclaim_inode_locked(existing.ino).await?;
                    }
                    return Ok(CreateOk {
                        generation: existing.generation,
                        ino: InodeId(existing.ino),
                        attr: self.attr_of(&existing),
                        dir_wcc: dir_wcc(before, self.attr_of(&d)),
                    });
                }
            }
        }

        perm::check_dir_write(cred, &d)?;
        if obj.ftype == FileType::Directory && d.nlink >= LINK_MAX {
            return Err(FsError::MLink);
        }
        let ino = self.alloc_ino().await?;
        let now = Timestamp::now();
        let inherit_gid = d.mode & S_ISGID != 0;
        let gid = if inherit_gid { d.gid } else { cred.gid };
        let mut child = Inode::new(ino, obj.ftype, obj.mode, cred.uid, gid, now);
        child.rdev = obj.rdev;
        child.size = obj.target.len() as u64;
        child.target = obj.target;
        if obj.ftype == FileType::Directory {
            child.parent = dir.0;
        }
        let mut batch = FsBatch::new();
        if *obj.sa != NO_SETATTR {
            self.apply_setattr(cred, &mut child, obj.sa, &mut batch, now)
                .await?;
        }
        if obj.ftype == FileType::Directory && inherit_gid {
            child.mode |= S_ISGID;
        }
        if let IfExists::MatchVerifier(v) = obj.if_exists {
            child.verifier = Some(v);
        }

        let cookie = d.next_cookie;
        d.next_cookie += 1;
        batch.put_dirent(
            dir.0,
            name,
            DirentValue {
                ino: InodeId(ino),
                ftype: child.ftype,
                cookie,
            },
        );
        if child.ftype == FileType::Directory {
            d.nlink += 1;
            batch.new_dir(ino);
        }
        d.mtime = now;
        d.ctime = now;
        batch.put_inode(&child);
        batch.put_inode(&d);
        let committed = self.commit_batch(batch, self.meta_durability()).await?;
        drop(guard);
        committed.durable().await?;
        self.inner.files_used.fetch_add(1, Ordering::Relaxed);
        Ok(CreateOk {
            generation: child.generation,
            ino: InodeId(ino),
            attr: self.attr_of(&child),
            dir_wcc: dir_wcc(before, self.attr_of(&d)),
        })
    }

    /// Whether directory `dir` has no entries.
    pub(crate) async fn dir_is_empty(&self, dir: u64) -> FsResult<bool> {
        if let Some(empty) = self.inner.dirs.is_empty_dir(dir) {
            return Ok(empty);
        }
        Ok(self
            .inner
            .store
            .scan(DirEntryKey::dir_range(dir), 1)
            .await?
            .is_empty())
    }

    /// Drops one link of `node` (already locked); on the last one deletes the inode and its
    /// data (inline when small, else through the reclaim queue). Returns whether background
    /// reclaim was queued.
    fn unlink_node(&self, node: &mut Inode, batch: &mut FsBatch, now: Timestamp) -> bool {
        node.ctime = now;
        if node.ftype == FileType::Directory {
            node.nlink = 0;
        } else {
            node.nlink = node.nlink.saturating_sub(1);
        }
        if node.nlink > 0 {
            batch.put_inode(node);
            return false;
        }
        batch.delete_inode(node.ino);
        self.inner.files_used.fetch_sub(1, Ordering::Relaxed);
        self.inner
            .bytes_used
            .fetch_sub(node.size as i64, Ordering::Relaxed);
        let chunks = node.chunk_count();
        if chunks <= self.inner.opts.inline_reclaim_chunks {
            for i in 0..chunks {
                batch.delete(self.chunk_key(node.ino, i));
            }
            false
        } else {
            batch.put(
                ReclaimKey(node.ino).encode(),
                Bytes::copy_from_slice(&0u64.to_be_bytes()),
            );
            true
        }
    }

    /// REMOVE of a non-directory.
    pub async fn remove(&self, cred: &Credentials, dir: InodeId, name: &[u8]) -> FsResult<Wcc> {
        self.check_writable()?;
        if check_name(name)? != NameKind::Normal {
            return Err(FsError::Inval);
        }
        let LockedEntry {
            guard,
            dir: mut d,
            name,
            entry,
        } = self.lock_entry(dir, name, &[]).await?;
        perm::check_dir_write(cred, &d)?;
        let e = entry.ok_or(FsError::NoEnt)?;
        let mut child = self.try_load(e.ino.0).await?.ok_or(FsError::NoEnt)?;
        if child.ftype == FileType::Directory {
            return Err(FsError::IsDir);
        }
        perm::check_sticky(cred, &d, &child)?;
        let before = self.attr_of(&d).wcc();
        let now = Timestamp::now();
        let mut batch = FsBatch::new();
        batch.delete_dirent(dir.0, name, e.cookie);
        let queued = self.unlink_node(&mut child, &mut batch, now);
        d.mtime = now;
        d.ctime = now;
        batch.put_inode(&d);
        let committed = self.commit_batch(batch, self.meta_durability()).await?;
        drop(guard);
        committed.durable().await?;
        if queued {
            self.kick_reclaim();
        }
        Ok(dir_wcc(before, self.attr_of(&d)))
    }

    /// RMDIR of an empty directory.
    pub async fn rmdir(&self, cred: &Credentials, dir: InodeId, name: &[u8]) -> FsResult<Wcc> {
        self.check_writable()?;
        match check_name(name)? {
            NameKind::Dot => return Err(FsError::Inval),
            NameKind::DotDot => return Err(FsError::NotEmpty),
            NameKind::Normal => {}
        }
        let LockedEntry {
            guard,
            dir: mut d,
            name,
            entry,
        } = self.lock_entry(dir, name, &[]).await?;
        perm::check_dir_write(cred, &d)?;
        let e = entry.ok_or(FsError::NoEnt)?;
        let mut child = self.try_load(e.ino.0).await?.ok_or(FsError::NoEnt)?;
        if child.ftype != FileType::Directory {
            return Err(FsError::NotDir);
        }
        perm::check_sticky(cred, &d, &child)?;
        if !self.dir_is_empty(child.ino).await? {
            return Err(FsError::NotEmpty);
        }
        let before = self.attr_of(&d).wcc();
        let now = Timestamp::now();
        let mut batch = FsBatch::new();
        batch.delete_dirent(dir.0, name, e.cookie);
        self.unlink_node(&mut child, &mut batch, now);
        d.nlink = d.nlink.saturating_sub(1);
        d.mtime = now;
        d.ctime = now;
        batch.put_inode(&d);
        let committed = self.commit_batch(batch, self.meta_durability()).await?;
        drop(guard);
        committed.durable().await?;
        Ok(dir_wcc(before, self.attr_of(&d)))
    }

    /// LINK: a new name `name` in `dir` for `ino`.
    pub async fn link(
        &self,
        cred: &Credentials,
        ino: InodeId,
        dir: InodeId,
        name: &[u8],
    ) -> FsResult<LinkOk> {
        self.check_writable()?;
        if check_name(name)? != NameKind::Normal {
            return Err(FsError::Exist);
        }
        let LockedEntry {
            guard,
            dir: mut d,
            name,
            entry,
        } = self.lock_entry(dir, name, &[ino.0]).await?;
        let mut f = self.load(ino).await?;
        if f.ftype == FileType::Directory {
            return Err(FsError::IsDir);
        }
        perm::check_dir_write(cred, &d)?;
        if entry.is_some() {
            return Err(FsError::Exist);
        }
        if f.nlink >= LINK_MAX {
            return Err(FsError::MLink);
        }
        let before = self.attr_of(&d).wcc();
        let now = Timestamp::now();
        let cookie = d.next_cookie;
        d.next_cookie += 1;
        let mut batch = FsBatch::new();
        batch.put_dirent(
            dir.0,
            name,
            DirentValue {
                ino,
                ftype: f.ftype,
                cookie,
            },
        );
        f.nlink += 1;
        f.ctime = now;
        d.mtime = now;
        d.ctime = now;
        batch.put_inode(&f);
        batch.put_inode(&d);
        let committed = self.commit_batch(batch, self.meta_durability()).await?;
        drop(guard);
        committed.durable().await?;
        Ok(LinkOk {
            attr: self.attr_of(&f),
            dir_wcc: dir_wcc(before, self.attr_of(&d)),
        })
    }

    /// RENAME `from_dir/from_name` to `to_dir/to_name`, replacing a file or an empty directory.
    pub async fn rename(
        &self,
        cred: &Credentials,
        from_dir: InodeId,
        from_name: &[u8],
        to_dir: InodeId,
        to_name: &[u8],
    ) -> FsResult<RenameOk> {
        self.check_writable()?;
        if check_name(from_name)? != NameKind::Normal || check_name(to_name)? != NameKind::Normal {
            return Err(FsError::Inval);
        }
        let from_name = Bytes::copy_from_slice(from_name);
        let to_name = Bytes::copy_from_slice(to_name);
        let mut global = None;
        loop {
            let (guard, found) = self
                .lock_entries(
                    &[from_dir.0, to_dir.0],
                    &[(from_dir.0, &from_name), (to_dir.0, &to_name)],
                )
                .await?;
            let src = found.first().copied().flatten();
            let dst = found.get(1).copied().flatten();
            let moves_dir =
                from_dir != to_dir && src.is_some_and(|s| s.ftype == FileType::Directory);
            if moves_dir && global.is_none() {
                // Take the global rename lock first (lock order: rename lock, then inodes).
                drop(guard);
                global = Some(self.inner.rename_lock.lock().await);
                continue;
            }
            let (ok, committed) = self
                .rename_locked(
                    cred, from_dir, &from_name, to_dir, &to_name, src, dst, moves_dir,
                )
                .await?;
            drop(guard);
            drop(global);
            committed.durable().await?;
            return Ok(ok);
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn rename_locked(
        &self,
        cred: &Credentials,
        from_dir: InodeId,
        from_name: &Bytes,
        to_dir: InodeId,
        to_name: &Bytes,
        src: Option<DirentValue>,
        dst: Option<DirentValue>,
        moves_dir: bool,
    ) -> FsResult<(RenameOk, Applied)> {
        let same_dir = from_dir == to_dir;
        let mut fd = self.load(from_dir).await?;
        let mut td = if same_dir {
            None
        } else {
            Some(self.load(to_dir).await?)
        };
        if fd.ftype != FileType::Directory
            || td.as_ref().is_some_and(|t| t.ftype != FileType::Directory)
        {
            return Err(FsError::NotDir);
        }
        perm::check_dir_write(cred, &fd)?;
        if let Some(t) = &td {
            perm::check_dir_write(cred, t)?;
        }
        let src = src.ok_or(FsError::NoEnt)?;
        let mut s = self.try_load(src.ino.0).await?.ok_or(FsError::NoEnt)?;
        perm::check_sticky(cred, &fd, &s)?;
        if moves_dir && !perm::may(cred, &s, perm::W) {
            // Moving a directory rewrites its "..".
            return Err(FsError::Access);
        }
        let f_before = self.attr_of(&fd).wcc();
        let t_before = td
            .as_ref()
            .map(|t| self.attr_of(t).wcc())
            .unwrap_or(f_before);
        if dst.is_some_and(|d| d.ino == src.ino) {
            // Both names are links to the same object: nothing to do.
            let fa = self.attr_of(&fd);
            let ta = td.as_ref().map(|t| self.attr_of(t)).unwrap_or(fa.clone());
            return Ok((
                RenameOk {
                    from_dir_wcc: dir_wcc(f_before, fa),
                    to_dir_wcc: dir_wcc(t_before, ta),
                },
                Applied::nothing(),
            ));
        }
        if moves_dir {
            // Refuse to move a directory into its own subtree.
            let mut p = to_dir.0;
            let mut steps = 0u32;
            loop {
                if p == s.ino {
                    return Err(FsError::Inval);
                }
                if p == ROOT_INODE.0 {
                    break;
                }
                steps += 1;
                if steps > 1_000_000 {
                    return Err(FsError::ServerFault("directory loop".into()));
                }
                p = self.load(InodeId(p)).await?.parent;
            }
        }
        let mut victim = None;
        if let Some(dv) = dst {
            let v = self.try_load(dv.ino.0).await?.ok_or(FsError::NoEnt)?;
            perm::check_sticky(cred, td.as_ref().unwrap_or(&fd), &v)?;
            let s_dir = s.ftype == FileType::Directory;
            let v_dir = v.ftype == FileType::Directory;
            if s_dir && !v_dir {
                return Err(FsError::NotDir);
            }
            if !s_dir && v_dir {
                return Err(FsError::IsDir);
            }
            if v_dir && !self.dir_is_empty(v.ino).await? {
                return Err(FsError::NotEmpty);
            }
            victim = Some((dv, v));
        }

        let now = Timestamp::now();
        let mut batch = FsBatch::new();
        batch.delete_dirent(from_dir.0, from_name.clone(), src.cookie);
        let mut queued = false;
        {
            let tdir: &mut Inode = match td.as_mut() {
                Some(t) => t,
                None => &mut fd,
            };
            let cookie = tdir.next_cookie;
            tdir.next_cookie += 1;
            batch.put_dirent(
                to_dir.0,
                to_name.clone(),
                DirentValue {
                    ino: src.ino,
                    ftype: s.ftype,
                    cookie,
                },
            );
            if let Some((dv, mut v)) = victim {
                // The victim's entry key is overwritten above; only its cookie record goes.
                batch.delete_cookie(to_dir.0, dv.cookie);
                if v.ftype == FileType::Directory {
                    tdir.nlink = tdir.nlink.saturating_sub(1);
                }
                queued = self.unlink_node(&mut v, &mut batch, now);
            }
            if moves_dir {
                tdir.nlink += 1;
            }
            tdir.mtime = now;
            tdir.ctime = now;
        }
        if moves_dir {
            fd.nlink = fd.nlink.saturating_sub(1);
            s.parent = to_dir.0;
        }
        fd.mtime = now;
        fd.ctime = now;
        s.ctime = now;
        batch.put_inode(&s);
        batch.put_inode(&fd);
        if let Some(t) = &td {
            batch.put_inode(t);
        }
        let committed = self.commit_batch(batch, self.meta_durability()).await?;
        if queued {
            self.kick_reclaim();
        }
        let fa = self.attr_of(&fd);
        let ta = td.as_ref().map(|t| self.attr_of(t)).unwrap_or(fa.clone());
        Ok((
            RenameOk {
                from_dir_wcc: dir_wcc(f_before, fa),
                to_dir_wcc: dir_wcc(t_before, ta),
            },
            committed,
        ))
    }

    /// Reads directory `dir` whole into the directory cache, unless it is cached already, known
    /// to be too big, or being read by another call (see [`super::dir_cache`]).
    async fn fill_dir_cache(&self, dir: u64) -> FsResult<()> {
        let cache = &self.inner.dirs;
        let Some(fill) = cache.begin_fill(dir) else {
            return Ok(());
        };
        let max = cache.max_dir_entries();
        let rows = self
            .inner
            .store
            .scan(
                DirCookieKey::dir_range_from(dir, super::inode::FIRST_COOKIE),
                max.saturating_add(1),
            )
            .await?;
        if rows.len() > max {
            fill.finish(None);
            return Ok(());
        }
        let mut entries = Vec::with_capacity(rows.len());
        for (k, v) in rows {
            let key = DirCookieKey::decode(&k)
                .ok_or_else(|| FsError::ServerFault("bad cookie key".into()))?;
            let cv = CookieValue::decode(&v)?;
            entries.push(PageEntry {
                cookie: key.1,
                name: cv.name,
                ino: cv.ino,
                ftype: cv.ftype,
            });
        }
        fill.finish(Some(entries));
        Ok(())
    }

    /// The cookie verifier. Cookies stay valid while the directory changes, so any verifier
    /// (including an old one, as macOS sends) is accepted; this value is only informative.
    pub fn cookieverf(&self) -> [u8; 8] {
        self.inner.fsid.to_be_bytes()
    }

    /// READDIR / READDIRPLUS: up to `max_entries` entries after `cookie`, in cookie order.
    pub async fn readdir(
        &self,
        cred: &Credentials,
        dir: InodeId,
        cookie: u64,
        cookieverf: [u8; 8],
        max_entries: usize,
        with_attrs: bool,
    ) -> FsResult<ReadDirOk> {
        let _ = cookieverf;
        let d = self.load(dir).await?;
        if d.ftype != FileType::Directory {
            return Err(FsError::NotDir);
        }
        perm::check(cred, &d, perm::R)?;
        if max_entries == 0 {
            return Err(FsError::TooSmall);
        }
        if cookie > 2 && cookie >= d.next_cookie {
            return Err(FsError::BadCookie);
        }
        let mut entries = Vec::with_capacity(max_entries.min(4096));
        if cookie == 0 {
            entries.push(DirEntry {
                cookie: 1,
                name: Bytes::from_static(b"."),
                ino: dir,
                attr: None,
                generation: None,
            });
        }
        if cookie <= 1 && entries.len() < max_entries {
            entries.push(DirEntry {
                cookie: 2,
                name: Bytes::from_static(b".."),
                ino: InodeId(d.parent),
                attr: None,
                generation: None,
            });
        }
        let mut eof = false;
        // Bound the work of one call whatever the caller asks (its reply size bounds it anyway).
        let room = max_entries
            .min(MAX_READDIR_ENTRIES)
            .saturating_sub(entries.len());
        if room > 0 {
            let from = cookie.saturating_add(1).max(super::inode::FIRST_COOKIE);
            // A listing from the start is worth reading whole into the directory cache, after
            // which this page and the next ones come from memory.
            if cookie <= 2 {
                self.fill_dir_cache(dir.0).await?;
            }
            let cached = self.inner.dirs.page(dir.0, from, room);
            if let Some((page, at_end)) = cached {
                eof = at_end;
                entries.extend(page.into_iter().map(|e| DirEntry {
                    cookie: e.cookie,
                    name: e.name,
                    ino: e.ino,
                    attr: None,
                    generation: None,
                }));
                return self.finish_readdir(d, entries, eof, with_attrs).await;
            }
            let rows = self
                .inner
                .store
                .scan(
                    DirCookieKey::dir_range_from(dir.0, from),
                    room.saturating_add(1),
                )
                .await?;
            eof = rows.len() <= room;
            for (k, v) in rows.into_iter().take(room) {
                let key = DirCookieKey::decode(&k)
                    .ok_or_else(|| FsError::ServerFault("bad cookie key".into()))?;
                let cv = CookieValue::decode(&v)?;
                entries.push(DirEntry {
                    cookie: key.1,
                    name: cv.name,
                    ino: cv.ino,
                    attr: None,
                    generation: None,
                });
            }
        }
        self.finish_readdir(d, entries, eof, with_attrs).await
    }

    /// Adds attributes and generations (READDIRPLUS) to a page of `d`'s entries.
    async fn finish_readdir(
        &self,
        d: Inode,
        mut entries: Vec<DirEntry>,
        eof: bool,
        with_attrs: bool,
    ) -> FsResult<ReadDirOk> {
        if with_attrs {
            let inos: Vec<u64> = entries.iter().map(|e| e.ino.0).collect();
            let nodes = self.load_many(&inos).await?;
            for (e, n) in entries.iter_mut().zip(nodes) {
                if let Some(n) = n {
                    e.attr = Some(self.attr_of(&n));
                    e.generation = Some(n.generation);
                }
            }
        }
        Ok(ReadDirOk {
            entries,
            eof,
            cookieverf: self.cookieverf(),
            dir_attr: self.attr_of(&d),
        })
    }
}
