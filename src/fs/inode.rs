//! Stored records: inode, superblock, directory entry and cookie values (each with a version).

use bytes::{BufMut, Bytes, BytesMut};

use super::error::FsError;
use super::types::{Attr, FileType, InodeId, Timestamp, CHUNK_SIZE};
use crate::store::keys::ChunkKeyLayout;

const INODE_VERSION: u8 = 1;
const SUPERBLOCK_VERSION: u8 = 2;
/// On-disk format of a filesystem formatted now, stored in the superblock. 2: the first; 3: the
/// superblock holds the handle secret; 4: chunk keys end with a 0 byte
/// ([`ChunkKeyLayout::Terminated`]). A filesystem keeps the chunk key layout it was formatted
/// with: moving it to another would mean rewriting every chunk.
pub const FORMAT_VERSION: u32 = 4;

/// An inode as stored under `I ino`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inode {
    /// Inode id (not stored in the value; it is the key).
    pub ino: u64,
    /// Kind.
    pub ftype: FileType,
    /// Permission bits (0o7777).
    pub mode: u32,
    /// Link count.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Device numbers.
    pub rdev: (u32, u32),
    /// Access time.
    pub atime: Timestamp,
    /// Modification time.
    pub mtime: Timestamp,
    /// Change time.
    pub ctime: Timestamp,
    /// Generation (in handles).
    pub generation: u64,
    /// Parent directory (directories only).
    pub parent: u64,
    /// Next readdir cookie to hand out (directories only).
    pub next_cookie: u64,
    /// EXCLUSIVE create verifier, until the first SETATTR.
    pub verifier: Option<[u8; 8]>,
    /// Symlink target.
    pub target: Bytes,
}

/// First cookie handed to a real entry (1 and 2 are "." and "..").
pub const FIRST_COOKIE: u64 = 3;

impl Inode {
    /// A fresh inode.
    pub fn new(ino: u64, ftype: FileType, mode: u32, uid: u32, gid: u32, now: Timestamp) -> Self {
        Inode {
            ino,
            ftype,
            mode: mode & 0o7777,
            nlink: if ftype == FileType::Directory { 2 } else { 1 },
            uid,
            gid,
            size: 0,
            rdev: (0, 0),
            atime: now,
            mtime: now,
            ctime: now,
            generation: generation_for(ino, now),
            parent: 0,
            next_cookie: FIRST_COOKIE,
            verifier: None,
            target: Bytes::new(),
        }
    }

    /// Attributes for replies.
    pub fn attr(&self, fsid: u64) -> Attr {
        let used = match self.ftype {
            FileType::Regular => self.size.div_ceil(4096) * 4096,
            FileType::Directory => 4096,
            _ => self.size,
        };
        Attr {
            ftype: self.ftype,
            mode: self.mode,
            nlink: self.nlink,
            uid: self.uid,
            gid: self.gid,
            // Directories report a nominal block, like local filesystems.
            size: if self.ftype == FileType::Directory {
                4096
            } else {
                self.size
            },
            used,
            rdev: self.rdev,
            fsid,
            fileid: self.ino,
            atime: self.atime,
            mtime: self.mtime,
            ctime: self.ctime,
        }
    }

    /// Number of chunks that may hold data for the current size.
    pub fn chunk_count(&self) -> u64 {
        self.size.div_ceil(CHUNK_SIZE)
    }

    /// Encodes the value.
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(96 + self.target.len());
        b.put_u8(INODE_VERSION);
        b.put_u8(self.ftype.to_u8());
        b.put_u32(self.mode);
        b.put_u32(self.nlink);
        b.put_u32(self.uid);
        b.put_u32(self.gid);
        b.put_u64(self.size);
        b.put_u32(self.rdev.0);
        b.put_u32(self.rdev.1);
        for t in [self.atime, self.mtime, self.ctime] {
            b.put_i64(t.secs);
            b.put_u32(t.nanos);
        }
        b.put_u64(self.generation);
        b.put_u64(self.parent);
        b.put_u64(self.next_cookie);
        match self.verifier {
            Some(v) => {
                b.put_u8(1);
                b.put_slice(&v);
            }
            None => b.put_u8(0),
        }
        b.put_u32(self.target.len() as u32);
        b.put_slice(&self.target);
        b.freeze()
    }

    /// Decodes the value of `I ino`.
    pub fn decode(ino: u64, v: &[u8]) -> Result<Self, FsError> {
        let corrupt = || FsError::ServerFault(format!("corrupt inode record {ino}"));
        let mut r = Reader(v);
        if r.u8().ok_or_else(corrupt)? != INODE_VERSION {
            return Err(corrupt());
        }
        let ftype = FileType::from_u8(r.u8().ok_or_else(corrupt)?).ok_or_else(corrupt)?;
        let mut inner = || -> Option<Inode> {
            let mode = r.u32()?;
            let nlink = r.u32()?;
            let uid = r.u32()?;
            let gid = r.u32()?;
            let size = r.u64()?;
            let rdev = (r.u32()?, r.u32()?);
            let mut ts = [Timestamp::default(); 3];
            for t in ts.iter_mut() {
                *t = Timestamp {
                    secs: r.u64()? as i64,
                    nanos: r.u32()?,
                };
            }
            let generation = r.u64()?;
            let parent = r.u64()?;
            let next_cookie = r.u64()?;
            let verifier = match r.u8()? {
                0 => None,
                _ => {
                    let s = r.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(s);
                    Some(a)
                }
            };
            let tlen = r.u32()? as usize;
            let target = Bytes::copy_from_slice(r.take(tlen)?);
            Some(Inode {
                ino,
                ftype,
                mode,
                nlink,
                uid,
                gid,
                size,
                rdev,
                atime: ts[0],
                mtime: ts[1],
                ctime: ts[2],
                generation,
                parent,
                next_cookie,
                verifier,
                target,
            })
        };
        inner().ok_or_else(corrupt)
    }
}

fn generation_for(ino: u64, now: Timestamp) -> u64 {
    // Ids are never reused, so the generation is belt and braces; mix in the creation time.
    (now.secs as u64).rotate_left(32) ^ u64::from(now.nanos) ^ ino.rotate_left(17)
}

/// The superblock under `S`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superblock {
    /// On-disk format.
    pub format: u32,
    /// Filesystem id (in handles and attributes).
    pub fsid: u64,
    /// Creation time.
    pub created: Timestamp,
    /// Approximate files in use (persisted now and then).
    pub files_used: u64,
    /// Approximate bytes in use (persisted now and then).
    pub bytes_used: u64,
    /// The key that authenticates file handles. `None` only in a superblock of format 2,
    /// written before handles were authenticated; [`crate::fs::Fs::open`] adds one.
    pub handle_secret: Option<[u8; HANDLE_SECRET_LEN]>,
}

/// Length of the handle secret.
pub const HANDLE_SECRET_LEN: usize = 32;
/// The last format without a handle secret (superblock record version 1).
const FORMAT_WITHOUT_SECRET: u32 = 2;
/// The last format with bare chunk keys ([`ChunkKeyLayout::Bare`]).
pub const FORMAT_BARE_CHUNK_KEYS: u32 = 3;

impl Superblock {
    /// Encodes the value: record version 2 with the secret, or version 1 (format 2) without.
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(48 + HANDLE_SECRET_LEN);
        b.put_u8(if self.handle_secret.is_some() {
            SUPERBLOCK_VERSION
        } else {
            1
        });
        b.put_u32(self.format);
        b.put_u64(self.fsid);
        b.put_i64(self.created.secs);
        b.put_u32(self.created.nanos);
        b.put_u64(self.files_used);
        b.put_u64(self.bytes_used);
        if let Some(secret) = &self.handle_secret {
            b.put_slice(secret);
        }
        b.freeze()
    }

    /// Decodes the value: the current format, or format 2 (no secret yet).
    pub fn decode(v: &[u8]) -> Result<Self, FsError> {
        let mut r = Reader(v);
        let mut parse = || -> Option<Superblock> {
            let record = r.u8()?;
            if record != 1 && record != SUPERBLOCK_VERSION {
                return None;
            }
            let mut sb = Superblock {
                format: r.u32()?,
                fsid: r.u64()?,
                created: Timestamp {
                    secs: r.u64()? as i64,
                    nanos: r.u32()?,
                },
                files_used: r.u64()?,
                bytes_used: r.u64()?,
                handle_secret: None,
            };
            if record == SUPERBLOCK_VERSION {
                let mut secret = [0u8; HANDLE_SECRET_LEN];
                secret.copy_from_slice(r.take(HANDLE_SECRET_LEN)?);
                sb.handle_secret = Some(secret);
            }
            Some(sb)
        };
        let sb = parse().ok_or_else(|| FsError::ServerFault("corrupt superblock".into()))?;
        let known = if sb.handle_secret.is_some() {
            (FORMAT_BARE_CHUNK_KEYS..=FORMAT_VERSION).contains(&sb.format)
        } else {
            sb.format == FORMAT_WITHOUT_SECRET
        };
        if !known {
            return Err(FsError::ServerFault(format!(
                "filesystem format {} was written by another slatenfs version; this one reads \
                 formats {FORMAT_WITHOUT_SECRET} to {FORMAT_VERSION}",
                sb.format
            )));
        }
        Ok(sb)
    }

    /// How this filesystem's chunk keys are spelt.
    pub fn chunk_key_layout(&self) -> ChunkKeyLayout {
        if self.format > FORMAT_BARE_CHUNK_KEYS {
            ChunkKeyLayout::Terminated
        } else {
            ChunkKeyLayout::Bare
        }
    }

    /// This superblock with the handle secret `secret`, which a format 2 superblock gains on its
    /// way to format 3 (its chunk keys stay as they are).
    pub fn with_handle_secret(self, secret: [u8; HANDLE_SECRET_LEN]) -> Superblock {
        Superblock {
            format: self.format.max(FORMAT_BARE_CHUNK_KEYS),
            handle_secret: Some(secret),
            ..self
        }
    }
}

/// Value of `D dir name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirentValue {
    /// Child inode.
    pub ino: InodeId,
    /// Child kind.
    pub ftype: FileType,
    /// Readdir cookie (key `C dir cookie`).
    pub cookie: u64,
}

impl DirentValue {
    /// Encodes the value.
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(17);
        b.put_u64(self.ino.0);
        b.put_u8(self.ftype.to_u8());
        b.put_u64(self.cookie);
        b.freeze()
    }
    /// Decodes the value.
    pub fn decode(v: &[u8]) -> Result<Self, FsError> {
        let mut r = Reader(v);
        let mut parse = || -> Option<DirentValue> {
            Some(DirentValue {
                ino: InodeId(r.u64()?),
                ftype: FileType::from_u8(r.u8()?)?,
                cookie: r.u64()?,
            })
        };
        parse().ok_or_else(|| FsError::ServerFault("corrupt directory entry".into()))
    }
}

/// Value of `C dir cookie`: the entry's inode and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieValue {
    /// Child inode.
    pub ino: InodeId,
    /// Child kind.
    pub ftype: FileType,
    /// Entry name.
    pub name: Bytes,
}

impl CookieValue {
    /// Encodes the value.
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(9 + self.name.len());
        b.put_u64(self.ino.0);
        b.put_u8(self.ftype.to_u8());
        b.put_slice(&self.name);
        b.freeze()
    }
    /// Decodes the value.
    pub fn decode(v: &Bytes) -> Result<Self, FsError> {
        let mut r = Reader(v);
        let mut parse =
            || -> Option<(u64, FileType)> { Some((r.u64()?, FileType::from_u8(r.u8()?)?)) };
        let (ino, ftype) =
            parse().ok_or_else(|| FsError::ServerFault("corrupt cookie entry".into()))?;
        Ok(CookieValue {
            ino: InodeId(ino),
            ftype,
            name: v.slice(9..),
        })
    }
}

/// Value of `A slot`: the first inode id not yet reserved.
pub fn decode_u64(v: &[u8]) -> Result<u64, FsError> {
    Reader(v)
        .u64()
        .ok_or_else(|| FsError::ServerFault("corrupt counter".into()))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn u32(&mut self) -> Option<u32> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Some(u32::from_be_bytes(a))
    }
    fn u64(&mut self) -> Option<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Some(u64::from_be_bytes(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inode_roundtrip() {
        let mut i = Inode::new(9, FileType::Symlink, 0o4777, 1, 2, Timestamp::now());
        i.target = Bytes::from_static(b"/some/where");
        i.verifier = Some(*b"abcdefgh");
        i.rdev = (3, 4);
        let d = Inode::decode(9, &i.encode()).unwrap();
        assert_eq!(d, i);
        assert!(Inode::decode(9, &i.encode()[..10]).is_err());
        assert!(Inode::decode(9, b"").is_err());
        let sb = Superblock {
            format: FORMAT_VERSION,
            fsid: 5,
            created: Timestamp::now(),
            files_used: 1,
            bytes_used: 2,
            handle_secret: Some([7; HANDLE_SECRET_LEN]),
        };
        assert_eq!(Superblock::decode(&sb.encode()).unwrap(), sb);
        assert_eq!(sb.chunk_key_layout(), ChunkKeyLayout::Terminated);
        // Formats 2 and 3 (bare chunk keys) still read; a format 3 record without its secret
        // does not, nor does a format from a later version.
        let old = Superblock {
            format: 2,
            handle_secret: None,
            ..sb.clone()
        };
        assert_eq!(Superblock::decode(&old.encode()).unwrap(), old);
        assert_eq!(old.chunk_key_layout(), ChunkKeyLayout::Bare);
        let upgraded = old.clone().with_handle_secret([1; HANDLE_SECRET_LEN]);
        assert_eq!(upgraded.format, FORMAT_BARE_CHUNK_KEYS);
        assert_eq!(Superblock::decode(&upgraded.encode()).unwrap(), upgraded);
        assert_eq!(upgraded.chunk_key_layout(), ChunkKeyLayout::Bare);
        let later = Superblock {
            format: FORMAT_VERSION + 1,
            ..sb.clone()
        };
        assert!(Superblock::decode(&later.encode()).is_err());
        assert!(Superblock::decode(&sb.encode()[..40]).is_err());
        let mislabelled = Superblock {
            format: FORMAT_VERSION,
            handle_secret: None,
            ..sb
        };
        assert!(Superblock::decode(&mislabelled.encode()).is_err());
        let dv = DirentValue {
            ino: InodeId(3),
            ftype: FileType::Fifo,
            cookie: 77,
        };
        assert_eq!(DirentValue::decode(&dv.encode()).unwrap(), dv);
        let cv = CookieValue {
            ino: InodeId(3),
            ftype: FileType::Directory,
            name: Bytes::from_static(b"n"),
        };
        assert_eq!(CookieValue::decode(&cv.encode()).unwrap(), cv);
    }
}
