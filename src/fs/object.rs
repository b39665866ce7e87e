//! What names a filesystem object: its inode id, and the generation that tells one life of an
//! inode id from another.

/// An inode number (also the NFS fileid). Never 0, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InodeId(pub u64);

/// The root directory's inode id.
pub const ROOT_INODE: InodeId = InodeId(1);

/// One object as a protocol layer names it over time: its inode id and the generation it had
/// when the name was handed out. [`crate::fs::Fs::resolve`] accepts it only while the inode
/// exists with that generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectId {
    /// Inode id.
    pub ino: InodeId,
    /// Inode generation.
    pub generation: u64,
}
