//! POSIX filesystem semantics on the store. Knows nothing of sockets or XDR.
//!
//! The entry point is [`Fs`]; every operation returns what an NFSv3 reply needs
//! (post-op attributes, wcc data) or an [`FsError`] that the adapter maps to `nfsstat3`.
//!
//! Design choices:
//! - Operations take [`InodeId`]s. Results name objects by [`ObjectId`] (inode id and
//!   generation); [`Fs::resolve`] checks that an `ObjectId` still names a live object (`Stale`
//!   otherwise). File handles are the NFS layer's business (`crate::nfs::handle`); the secret
//!   that authenticates them is kept in the superblock ([`Fs::handle_secret`]). Inode ids are
//!   never reused, and generations tell objects apart even so.
//! - Every mutation locks the inodes it touches (striped async locks, taken in stripe order)
//!   and commits ONE batch. Cross-directory directory renames also take a global rename lock
//!   so the "not into its own subtree" walk is stable. Reads take no inode locks.
//! - Decoded inodes are kept in an [`inode_cache::InodeCache`] shared by all cores: writers
//!   publish the records they commit (under the inode lock, once applied), readers fill it
//!   after a miss unless a publish raced them. GETATTR, ACCESS, the checks of READ and WRITE,
//!   and the attributes of LOOKUP and READDIRPLUS then cost no store read.
//! - Complete directory listings are kept in a [`dir_cache::DirCache`] the same way (entries
//!   change under their directory's lock and are published once applied), so LOOKUP, the name
//!   checks of namespace operations and READDIR pages cost no store read either.
//! - Metadata operations wait for durability unless `FsOptions::async_metadata`; the store
//!   group-commits concurrent durable writes (see [`crate::store::bridge`]). UNSTABLE writes
//!   are visible at once and made durable by COMMIT (a WAL flush); DATA/FILE_SYNC writes
//!   wait. A failed durable write or flush changes the write verifier.
//! - READDIR lists by a per-directory monotonic cookie (`C dir cookie`), so cookies stay valid
//!   while the directory changes and any cookie verifier is accepted. A renamed entry gets a
//!   new cookie in its target directory.
//! - Data lives in 64 KiB chunks (`K ino index`); holes read as zeros; chunks never extend
//!   past the file size. Chunks of removed/truncated files are deleted in the same batch when
//!   few, otherwise through the durable `R ino` queue ([`Fs::reclaim_pending`]).
//! - atime is not updated by READ (like `noatime`); FSSTAT usage figures are approximate.

mod batch;
mod core;
pub mod data;
pub mod dir;
pub mod dir_cache;
pub mod error;
pub mod fsck;
pub mod inode;
pub mod inode_cache;
pub mod locks;
mod object;
mod options;
pub mod perm;
pub mod reclaim;
pub mod repair;
pub mod types;
mod write_pipeline;

pub use self::core::Fs;
pub use data::{assemble_range, ReadPlan, MAX_IO};
pub use dir_cache::DirCacheStats;
pub use error::{FsError, FsResult};
pub use fsck::{FsckReport, Problem};
pub use inode_cache::InodeCacheStats;
pub use options::FsOptions;
pub use repair::RepairReport;
pub use types::*;
