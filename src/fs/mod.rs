//! POSIX filesystem semantics on the store. Knows nothing of sockets or XDR.
//!
//! The entry point is [`Fs`]; every operation returns what an NFSv3 reply needs
//! (post-op attributes, wcc data) or an [`FsError`] that the adapter maps to `nfsstat3`.

mod core;
pub mod data;
pub mod dir;
pub mod error;
pub mod fsck;
pub mod handle;
pub mod inode;
pub mod locks;
pub mod perm;
pub mod reclaim;
pub mod types;

pub use self::core::Fs;
pub use error::{FsError, FsResult};
pub use fsck::FsckReport;
pub use handle::{FileHandle, HandleParts, HANDLE_LEN};
pub use types::*;
