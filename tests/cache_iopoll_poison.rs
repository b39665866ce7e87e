//! If something else in the process poisons glommio's IOPOLL probe first
//! (by `dma_open`ing an empty file on the same device), the cache must refuse
//! to open with a typed error rather than open and silently miss or fail.
//! Own test binary: the probe verdict is cached for the whole process.

mod common;

use common::run_in_glommio;
use glommio::io::OpenOptions;
use slatenfs::cache::{CacheError, CacheKey, ChunkCache};

#[test]
fn poisoned_probe_is_reported_not_hidden() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        // The wrong way: a new, empty file opened for DMA first.
        let empty = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .dma_open(dir.path().join("empty"))
            .await
            .unwrap();
        let mut buf = empty.alloc_dma_buffer(4096);
        buf.as_bytes_mut().fill(1);
        let poisoned =
            empty.write_at(buf, 0).await.is_ok() && empty.read_at_aligned(0, 4096).await.is_err();

        match ChunkCache::open(&dir.path().join("cache"), 0, 1 << 20).await {
            Ok(cache) => {
                // Only acceptable if the device really works.
                assert!(!poisoned, "cache opened on a poisoned device");
                let k = CacheKey { ino: 1, index: 0 };
                cache.put(k, b"hello").await;
                assert_eq!(cache.get(k).await.as_deref(), Some(&b"hello"[..]));
            }
            Err(CacheError::IoPollMisprobe { .. }) => {
                assert!(poisoned, "misprobe reported on a healthy device");
                // The server then runs without a cache.
                let cache = ChunkCache::disabled();
                cache.put(CacheKey { ino: 1, index: 0 }, b"x").await;
                assert!(cache.get(CacheKey { ino: 1, index: 0 }).await.is_none());
            }
            Err(e) => panic!("unexpected error: {e}"),
        }
    });
}
