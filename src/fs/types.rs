//! Domain types of the filesystem layer (no XDR).

use bytes::Bytes;
use smallvec::SmallVec;

pub use super::object::{InodeId, ObjectId, ROOT_INODE};

/// Size of a data chunk (one key per chunk).
pub const CHUNK_SIZE: u64 = 64 * 1024;

/// The first and last index of the chunks that bytes `[start, end)` of a file touch (for an
/// empty range, the chunk holding `start`).
pub fn chunk_span(start: u64, end: u64) -> (u64, u64) {
    (
        start / CHUNK_SIZE,
        end.max(start + 1).saturating_sub(1) / CHUNK_SIZE,
    )
}
/// Longest file name in bytes.
pub const NAME_MAX: usize = 255;
/// Longest symlink target in bytes.
pub const SYMLINK_MAX: usize = 4096;
/// Highest link count.
pub const LINK_MAX: u32 = 65_000;

/// ACCESS3 bits.
pub mod access {
    /// Read data / list directory.
    pub const READ: u32 = 0x01;
    /// Look up names in a directory.
    pub const LOOKUP: u32 = 0x02;
    /// Rewrite data / modify directory.
    pub const MODIFY: u32 = 0x04;
    /// Extend file / add entries.
    pub const EXTEND: u32 = 0x08;
    /// Delete directory entries.
    pub const DELETE: u32 = 0x10;
    /// Execute file.
    pub const EXECUTE: u32 = 0x20;
}

/// Kind of filesystem object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    /// Regular file.
    Regular,
    /// Directory.
    Directory,
    /// Symbolic link.
    Symlink,
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
    /// Unix socket.
    Socket,
    /// Named pipe.
    Fifo,
}

impl FileType {
    pub(crate) fn to_u8(self) -> u8 {
        match self {
            FileType::Regular => 1,
            FileType::Directory => 2,
            FileType::BlockDevice => 3,
            FileType::CharDevice => 4,
            FileType::Symlink => 5,
            FileType::Socket => 6,
            FileType::Fifo => 7,
        }
    }
    pub(crate) fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => FileType::Regular,
            2 => FileType::Directory,
            3 => FileType::BlockDevice,
            4 => FileType::CharDevice,
            5 => FileType::Symlink,
            6 => FileType::Socket,
            7 => FileType::Fifo,
            _ => return None,
        })
    }
}

/// A point in time (seconds and nanoseconds since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    /// Seconds since the epoch (NFSv3 carries the low 32 bits, unsigned).
    pub secs: i64,
    /// Nanoseconds (0..1e9).
    pub nanos: u32,
}

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        Timestamp::from(std::time::SystemTime::now())
    }
}

impl From<std::time::SystemTime> for Timestamp {
    /// The epoch for a time before it.
    fn from(t: std::time::SystemTime) -> Self {
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Timestamp {
                secs: d.as_secs() as i64,
                nanos: d.subsec_nanos(),
            },
            Err(_) => Timestamp::default(),
        }
    }
}

/// Attributes of an object (fattr3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// Object kind.
    pub ftype: FileType,
    /// Permission bits including setuid/setgid/sticky (`0o7777`).
    pub mode: u32,
    /// Link count.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Bytes of storage used (approximate).
    pub used: u64,
    /// Device numbers (major, minor) for devices.
    pub rdev: (u32, u32),
    /// Filesystem id.
    pub fsid: u64,
    /// File id (the inode number).
    pub fileid: u64,
    /// Last access.
    pub atime: Timestamp,
    /// Last data modification.
    pub mtime: Timestamp,
    /// Last status change.
    pub ctime: Timestamp,
}

impl Attr {
    /// The subset used for weak cache consistency.
    pub fn wcc(&self) -> WccAttr {
        WccAttr {
            size: self.size,
            mtime: self.mtime,
            ctime: self.ctime,
        }
    }
}

/// How SETATTR sets a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetTime {
    /// Leave unchanged.
    #[default]
    DontChange,
    /// Set to the server's clock.
    ServerTime,
    /// Set to the given time.
    ClientTime(Timestamp),
}

/// Attributes to change (sattr3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetAttr {
    /// New permission bits.
    pub mode: Option<u32>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New size (truncate / extend).
    pub size: Option<u64>,
    /// New access time.
    pub atime: SetTime,
    /// New modification time.
    pub mtime: SetTime,
}

/// Pre-operation attributes (wcc_attr).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WccAttr {
    /// Size.
    pub size: u64,
    /// Modification time.
    pub mtime: Timestamp,
    /// Change time.
    pub ctime: Timestamp,
}

/// Weak cache consistency data (wcc_data).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Wcc {
    /// Attributes before the change, captured under the same lock as the change.
    pub before: Option<WccAttr>,
    /// Attributes after the change.
    pub after: Option<Attr>,
}

/// Caller identity (AUTH_SYS, or AUTH_NONE mapped to the anonymous ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups.
    pub gids: SmallVec<[u32; 16]>,
}

impl Credentials {
    /// Credentials with no supplementary groups.
    pub fn new(uid: u32, gid: u32) -> Self {
        Credentials {
            uid,
            gid,
            gids: SmallVec::new(),
        }
    }
    /// Credentials with supplementary groups.
    pub fn with_groups(uid: u32, gid: u32, gids: &[u32]) -> Self {
        Credentials {
            uid,
            gid,
            gids: SmallVec::from_slice(gids),
        }
    }
    /// The superuser.
    pub fn root() -> Self {
        Credentials::new(0, 0)
    }
    /// Whether the caller belongs to `gid`.
    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.gids.contains(&gid)
    }
}

/// How CREATE handles an existing name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateHow {
    /// Create, or open the existing regular file (applying the attributes).
    Unchecked(SetAttr),
    /// Fail with `Exist` if the name exists.
    Guarded(SetAttr),
    /// Exclusive create with a client verifier (retransmits with the same one succeed).
    Exclusive([u8; 8]),
}

/// Stability of a WRITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StableHow {
    /// May be acknowledged before durable.
    Unstable,
    /// Data durable before reply.
    DataSync,
    /// Data and metadata durable before reply.
    FileSync,
}

/// Kind of special file for MKNOD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecialKind {
    /// Character device (major, minor).
    Char(u32, u32),
    /// Block device (major, minor).
    Block(u32, u32),
    /// Socket.
    Socket,
    /// FIFO.
    Fifo,
}

/// One READDIR / READDIRPLUS entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// Cookie to resume after this entry.
    pub cookie: u64,
    /// Name.
    pub name: Bytes,
    /// Inode (fileid).
    pub ino: InodeId,
    /// Attributes (READDIRPLUS only; `None` if not requested or the object vanished).
    pub attr: Option<Attr>,
    /// The entry's generation, for its file handle (READDIRPLUS only, like `attr`).
    pub generation: Option<u64>,
}

impl DirEntry {
    /// The object the entry names, when its generation was read (READDIRPLUS).
    pub fn object(&self) -> Option<ObjectId> {
        self.generation.map(|generation| ObjectId {
            ino: self.ino,
            generation,
        })
    }
}

/// FSSTAT figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsStat {
    /// Attributes of the object asked about.
    pub attr: Attr,
    /// Total bytes.
    pub tbytes: u64,
    /// Free bytes.
    pub fbytes: u64,
    /// Bytes available to the caller.
    pub abytes: u64,
    /// Total file slots.
    pub tfiles: u64,
    /// Free file slots.
    pub ffiles: u64,
    /// File slots available to the caller.
    pub afiles: u64,
    /// Seconds the figures are valid for.
    pub invarsec: u32,
}

/// FSINFO figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsInfo {
    /// Attributes of the object asked about.
    pub attr: Attr,
    /// Max READ size.
    pub rtmax: u32,
    /// Preferred READ size.
    pub rtpref: u32,
    /// Suggested READ multiple.
    pub rtmult: u32,
    /// Max WRITE size.
    pub wtmax: u32,
    /// Preferred WRITE size.
    pub wtpref: u32,
    /// Suggested WRITE multiple.
    pub wtmult: u32,
    /// Preferred READDIR size.
    pub dtpref: u32,
    /// Max file size.
    pub maxfilesize: u64,
    /// Time granularity.
    pub time_delta: Timestamp,
    /// FSF3_* property bits.
    pub properties: u32,
}

/// FSINFO property bits.
pub mod fsf {
    /// Hard links supported.
    pub const LINK: u32 = 0x0001;
    /// Symlinks supported.
    pub const SYMLINK: u32 = 0x0002;
    /// PATHCONF is the same for all objects.
    pub const HOMOGENEOUS: u32 = 0x0008;
    /// Server can set times.
    pub const CANSETTIME: u32 = 0x0010;
}

/// PATHCONF figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathConf {
    /// Attributes of the object asked about.
    pub attr: Attr,
    /// Max link count.
    pub linkmax: u32,
    /// Max name length.
    pub name_max: u32,
    /// Long names are rejected rather than truncated.
    pub no_trunc: bool,
    /// Only root may chown.
    pub chown_restricted: bool,
    /// Names are case-insensitive.
    pub case_insensitive: bool,
    /// Names preserve case.
    pub case_preserving: bool,
}

/// Result of LOOKUP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupOk {
    /// Inode id of the object found.
    pub ino: InodeId,
    /// Its generation (for its file handle).
    pub generation: u64,
    /// Its attributes.
    pub attr: Attr,
    /// Attributes of the directory.
    pub dir_attr: Attr,
}

impl LookupOk {
    /// The object found.
    pub fn object(&self) -> ObjectId {
        ObjectId {
            ino: self.ino,
            generation: self.generation,
        }
    }
}

impl CreateOk {
    /// The object created (or, for UNCHECKED and EXCLUSIVE retries, found).
    pub fn object(&self) -> ObjectId {
        ObjectId {
            ino: self.ino,
            generation: self.generation,
        }
    }
}

/// Result of READ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOk {
    /// Data (shorter than asked at end of file).
    pub data: Bytes,
    /// Whether the read reached end of file.
    pub eof: bool,
    /// File attributes.
    pub attr: Attr,
}

/// Result of WRITE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOk {
    /// Bytes written.
    pub count: u32,
    /// Stability actually achieved.
    pub committed: StableHow,
    /// The write verifier.
    pub verifier: [u8; 8],
    /// File wcc data.
    pub wcc: Wcc,
}

/// Result of CREATE, MKDIR, SYMLINK and MKNOD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOk {
    /// Inode id of the new object.
    pub ino: InodeId,
    /// Its generation (for its file handle).
    pub generation: u64,
    /// Its attributes.
    pub attr: Attr,
    /// Directory wcc data.
    pub dir_wcc: Wcc,
}

/// Result of RENAME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenameOk {
    /// Source directory wcc data.
    pub from_dir_wcc: Wcc,
    /// Target directory wcc data.
    pub to_dir_wcc: Wcc,
}

/// Result of LINK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkOk {
    /// File attributes after the link.
    pub attr: Attr,
    /// Directory wcc data.
    pub dir_wcc: Wcc,
}

/// Result of READDIR / READDIRPLUS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadDirOk {
    /// Entries in cookie order.
    pub entries: Vec<DirEntry>,
    /// Whether the listing is complete.
    pub eof: bool,
    /// Cookie verifier to send back.
    pub cookieverf: [u8; 8],
    /// Directory attributes.
    pub dir_attr: Attr,
}

/// Result of COMMIT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOk {
    /// The write verifier.
    pub verifier: [u8; 8],
    /// File wcc data.
    pub wcc: Wcc,
}
