//! Regression test for glommio's IOPOLL probe (own test binary, so the cache's
//! `dma_open` is the first on the device in this process, as in the server).
//!
//! glommio 0.9 probes IOPOLL support by reading the first block of the first
//! file `dma_open`ed on a device and caches the verdict for the process. On an
//! empty file that read succeeds at EOF, glommio wrongly enables IOPOLL, and
//! every later read fails with EOPNOTSUPP. The cache pre-sizes its file with
//! real data before opening it; if it stopped doing so, this test would fail.

mod common;

use common::run_in_glommio;
use slatenfs::cache::{CacheKey, ChunkCache};

#[test]
fn fresh_cache_dir_put_then_get() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        // A directory that does not exist yet, as on a first start.
        let cache_dir = dir.path().join("new").join("cache");
        let cache = ChunkCache::open(&cache_dir, 0, 1 << 20).await.unwrap();
        let k = CacheKey { ino: 42, index: 0 };
        let data: Vec<u8> = (0..65536u32).map(|i| (i * 7) as u8).collect();
        cache.put(k, &data).await;
        let got = cache.get(k).await;
        let s = cache.stats();
        assert_eq!(got.as_deref(), Some(&data[..]), "stats: {s:?}");
        assert_eq!(s.io_errors, 0);
    });
}
