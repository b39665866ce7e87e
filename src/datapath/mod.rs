//! One core's path for file data: "read these bytes of this file", "write these bytes",
//! "change its size", through the core's chunk cache, kept coherent with the store.
//!
//! The runtime routes every READ, WRITE and SETATTR of a file to the file's owner core, so a
//! [`DataPath`] sees every change of the data it caches (see [`coherent_cache`] for the rules
//! that make that enough), and every READ of the files it reads ahead ([`readahead`]). The protocol adapters call it with decoded arguments and get the
//! filesystem's result types back; they do no chunk arithmetic and know no cache.
//!
//! It lives on its core (not `Send`): the cache is a file driven by the core's io_uring, and
//! write-through puts run as tasks of the core's executor.

pub mod coherent_cache;
pub mod readahead;
pub mod staged;

use std::cell::RefCell;
use std::path::PathBuf;

use bytes::Bytes;

pub use coherent_cache::CoherentCache;
pub use readahead::ReadAhead;

use crate::cache::ChunkCache;
use crate::fs::{
    chunk_span, Credentials, Fs, FsResult, InodeId, ReadOk, SetAttr, StableHow, Timestamp, Wcc,
    WriteOk,
};

/// Where each core's chunk cache lives and how big it may grow.
#[derive(Debug, Clone)]
pub struct DataPathConfig {
    /// Directory of the per-core cache files (`chunks-core<N>.dat`); `None`: no chunk cache.
    pub cache_dir: Option<PathBuf>,
    /// Bytes of chunk cache per core.
    pub cache_bytes_per_core: u64,
}

impl DataPathConfig {
    /// No chunk cache: every READ goes to the store.
    pub fn uncached() -> Self {
        DataPathConfig {
            cache_dir: None,
            cache_bytes_per_core: 0,
        }
    }
}

/// One core's reads and writes of file data.
pub struct DataPath {
    fs: Fs,
    cache: CoherentCache,
    readahead: RefCell<ReadAhead>,
}

/// ctime before and after a change, from its wcc data.
fn ctimes(w: &Wcc) -> Option<(Timestamp, Timestamp)> {
    Some((w.before?.ctime, w.after.as_ref()?.ctime))
}

impl DataPath {
    /// The data path of core `core` over `fs`. A chunk cache that cannot be opened is logged
    /// and left out: it only makes reads faster.
    pub async fn open(fs: Fs, core: usize, config: &DataPathConfig) -> DataPath {
        let cache = match &config.cache_dir {
            Some(dir) => match ChunkCache::open(dir, core, config.cache_bytes_per_core).await {
                Ok(c) => Some(c),
                Err(e) => {
                    log::warn!("core {core}: chunk cache disabled: {e}");
                    None
                }
            },
            None => None,
        };
        DataPath::new(fs, CoherentCache::new(cache))
    }

    /// A data path over an already opened cache.
    pub fn new(fs: Fs, cache: CoherentCache) -> DataPath {
        DataPath {
            fs,
            cache,
            readahead: RefCell::new(ReadAhead::default()),
        }
    }

    /// The filesystem it reads and writes.
    pub fn fs(&self) -> &Fs {
        &self.fs
    }

    /// The core's chunk cache, if it has one.
    pub fn chunk_cache(&self) -> Option<&ChunkCache> {
        self.cache.cache()
    }

    /// READ of up to `count` bytes at `offset`.
    pub async fn read(
        &self,
        cred: &Credentials,
        ino: InodeId,
        offset: u64,
        count: u32,
    ) -> FsResult<ReadOk> {
        let plan = self.fs.read_plan(cred, ino, offset, count).await?;
        let ahead =
            self.readahead
                .borrow_mut()
                .on_read(ino.0, plan.start, plan.end, plan.attr.size);
        if let Some(range) = ahead {
            self.cache
                .prefetch(&self.fs, ino, plan.attr.ctime, plan.attr.size, range);
        }
        let data = if plan.start < plan.end {
            self.cache
                .read_range(&self.fs, ino, plan.attr.ctime, plan.start, plan.end)
                .await?
        } else {
            Bytes::new()
        };
        Ok(ReadOk {
            data,
            eof: plan.eof,
            attr: plan.attr,
        })
    }

    /// WRITE of `data` at `offset`; whole chunks it writes are cached (write-through), the
    /// cached parts of others it touches are dropped.
    pub async fn write(
        &self,
        cred: &Credentials,
        ino: InodeId,
        offset: u64,
        data: Bytes,
        stable: StableHow,
    ) -> FsResult<WriteOk> {
        let r = self.fs.write(cred, ino, offset, data.clone(), stable).await;
        if !data.is_empty() {
            match r.as_ref().ok().and_then(|w| ctimes(&w.wcc)) {
                Some(changed) => self.cache.file_written(ino, offset, &data, changed),
                // Failed (or applied without known ctimes): whatever it touched may have changed.
                None => {
                    let end = offset.saturating_add(data.len() as u64);
                    self.cache
                        .file_data_changed(ino, Some(chunk_span(offset, end)), None);
                }
            }
        }
        r
    }

    /// SETATTR; a size change drops the file's cached chunks.
    pub async fn setattr(
        &self,
        cred: &Credentials,
        ino: InodeId,
        sa: &SetAttr,
        guard: Option<Timestamp>,
    ) -> FsResult<Wcc> {
        let r = self.fs.setattr(cred, ino, sa, guard).await;
        if sa.size.is_some() {
            self.readahead.borrow_mut().forget(ino.0);
            self.cache
                .file_data_changed(ino, None, r.as_ref().ok().and_then(ctimes));
        }
        r
    }
}
