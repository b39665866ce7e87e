//! [`FsOptions`]: how [`super::Fs::open`] sets up a filesystem.

use super::dir_cache::DEFAULT_DIR_CACHE_ENTRIES;
use super::inode_cache::DEFAULT_INODE_CACHE_ENTRIES;
use super::types::Credentials;

/// Options of [`super::Fs::open`].
#[derive(Debug, Clone)]
pub struct FsOptions {
    /// uid that AUTH_NONE callers are mapped to.
    pub anon_uid: u32,
    /// gid that AUTH_NONE callers are mapped to.
    pub anon_gid: u32,
    /// Owner of the root directory when it is created.
    pub root_uid: u32,
    /// Group of the root directory when it is created.
    pub root_gid: u32,
    /// Mode of the root directory when it is created.
    pub root_mode: u32,
    /// Do not wait for metadata operations to be durable (the `--async` flag).
    pub async_metadata: bool,
    /// Capacity reported by FSSTAT.
    pub capacity_bytes: u64,
    /// File slots reported by FSSTAT.
    pub capacity_files: u64,
    /// Largest file size.
    pub max_file_size: u64,
    /// Allocator slot (one per allocating shard).
    pub alloc_slot: u32,
    /// Inode ids reserved per allocator round trip.
    pub alloc_block: u64,
    /// Files with at most this many chunks are reclaimed in the removing batch itself.
    pub inline_reclaim_chunks: u64,
    /// Decoded inodes kept in memory (0 turns the inode cache off).
    pub inode_cache_entries: usize,
    /// Directory entries kept in memory over all cached listings (0 turns the directory cache
    /// off).
    pub dir_cache_entries: usize,
    /// Filesystem id to report instead of the superblock's: a snapshot is a filesystem of its
    /// own to clients (they must not take its files for the live ones).
    pub fsid: Option<u64>,
}

impl Default for FsOptions {
    fn default() -> Self {
        FsOptions {
            anon_uid: 65534,
            anon_gid: 65534,
            root_uid: 0,
            root_gid: 0,
            root_mode: 0o755,
            async_metadata: false,
            capacity_bytes: 1 << 50,
            capacity_files: 1 << 40,
            max_file_size: 1 << 44,
            alloc_slot: 0,
            alloc_block: 1024,
            inline_reclaim_chunks: 64,
            inode_cache_entries: DEFAULT_INODE_CACHE_ENTRIES,
            dir_cache_entries: DEFAULT_DIR_CACHE_ENTRIES,
            fsid: None,
        }
    }
}

impl FsOptions {
    /// Credentials of an AUTH_NONE caller.
    pub fn anonymous(&self) -> Credentials {
        Credentials::new(self.anon_uid, self.anon_gid)
    }
}
