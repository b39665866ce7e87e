//! Errors of the chunk cache.
//!
//! Only [`ChunkCache::open`](super::ChunkCache::open) can fail: once a cache is
//! open, every IO or checksum problem is absorbed (a `get` becomes a miss, a
//! `put` is dropped) and counted in [`CacheStats`](super::CacheStats).

use std::path::PathBuf;

/// Why a per-core chunk cache could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// A filesystem operation on the cache directory or file failed.
    #[error("chunk cache: {op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Another process (or another cache in this one) holds the file.
    #[error("chunk cache: {path} is locked by another cache instance")]
    Locked {
        /// The cache file.
        path: PathBuf,
    },
    /// The device needs an O_DIRECT alignment that does not divide the slot size.
    #[error("chunk cache: {path}: O_DIRECT alignment {alignment} does not divide the slot size")]
    UnsupportedAlignment {
        /// The cache file.
        path: PathBuf,
        /// The alignment glommio reported.
        alignment: u64,
    },
    /// glommio decided, for this process, that the device supports IOPOLL when
    /// it does not, so every read fails with EOPNOTSUPP. This happens when the
    /// first `dma_open` on the device in this process was of an empty file
    /// (the probe reads at EOF and "succeeds"); glommio caches the verdict per
    /// device for the life of the process, so the cache cannot recover. Run
    /// without a cache ([`ChunkCache::disabled`](super::ChunkCache::disabled))
    /// and make sure nothing `dma_open`s empty files before the cache opens.
    #[error(
        "chunk cache: {path}: glommio mis-probed IOPOLL support for this device \
         (reads fail with EOPNOTSUPP); an empty file was dma_open'ed first in this process"
    )]
    IoPollMisprobe {
        /// The cache file.
        path: PathBuf,
    },
    /// The write-then-read self test at open did not give back what it wrote.
    #[error("chunk cache: {path}: self test failed: {reason}")]
    SelfTest {
        /// The cache file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}
