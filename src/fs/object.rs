//! What names a filesystem object: its inode id.

/// An inode number (also the NFS fileid). Never 0, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InodeId(pub u64);

/// The root directory's inode id.
pub const ROOT_INODE: InodeId = InodeId(1);
