//! The owner core's chunk cache in front of the filesystem, as the NFS handlers drive it:
//! WRITE through `CoreContext::file_written` (write-through of whole chunks), truncation
//! through `file_data_changed`, READ through `CoreContext::read_range`. A random sequence of
//! writes (partial, whole-chunk, overlapping, concurrent), truncations and reads on real SlateDB
//! and a real io_uring cache file must read back exactly what a byte model holds, and what the
//! store holds without the cache.

use bytes::Bytes;
use glommio::LocalExecutorBuilder;
use slatenfs::cache::ChunkCache;
use slatenfs::fs::*;
use slatenfs::nfs::CoreContext;
use slatenfs::store::Store;

const CHUNK: usize = 64 * 1024;

/// Deterministic xorshift, so a failure replays.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn ctimes(w: &Wcc) -> (Timestamp, Timestamp) {
    (w.before.unwrap().ctime, w.after.as_ref().unwrap().ctime)
}

async fn write(fs: &Fs, ctx: &CoreContext, ino: InodeId, off: u64, data: Bytes) {
    let w = fs
        .write(
            &Credentials::root(),
            ino,
            off,
            data.clone(),
            StableHow::Unstable,
        )
        .await
        .unwrap();
    ctx.file_written(ino, off, &data, ctimes(&w.wcc));
}

async fn read_cached(fs: &Fs, ctx: &CoreContext, ino: InodeId, off: u64, len: u32) -> Vec<u8> {
    let plan = fs
        .read_plan(&Credentials::root(), ino, off, len)
        .await
        .unwrap();
    if plan.start == plan.end {
        return Vec::new();
    }
    ctx.read_range(fs, ino, plan.attr.ctime, plan.start, plan.end)
        .await
        .unwrap()
        .to_vec()
}

fn patch(model: &mut Vec<u8>, off: usize, data: &[u8]) {
    if model.len() < off + data.len() {
        model.resize(off + data.len(), 0);
    }
    model[off..off + data.len()].copy_from_slice(data);
}

/// A filesystem on in-memory SlateDB, a 4 MiB cache in a temporary directory (kept alive by
/// the returned guard), the core context over it, and one empty file.
async fn setup() -> (tempfile::TempDir, Fs, CoreContext, InodeId) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_memory().await.unwrap();
    let fs = Fs::open(store, FsOptions::default()).await.unwrap();
    let cache = ChunkCache::open(&dir.path().join("cache"), 0, 4 << 20)
        .await
        .unwrap();
    let ctx = CoreContext::new(0, Some(cache));
    let ino = fs
        .create(
            &Credentials::root(),
            fs.root(),
            b"f",
            &CreateHow::Guarded(SetAttr::default()),
        )
        .await
        .unwrap()
        .ino;
    (dir, fs, ctx, ino)
}

fn run(seed: u64) {
    LocalExecutorBuilder::default()
        .spawn(move || async move {
            let (_dir, fs, ctx, ino) = setup().await;
            let mut model: Vec<u8> = Vec::new();
            let mut rng = Rng(seed);
            let max = 6 * CHUNK as u64;
            for step in 0..300 {
                let fill = (step % 251) as u8 + 1;
                match rng.below(10) {
                    // Whole chunks (write-through).
                    0..=2 => {
                        let off = rng.below(5) * CHUNK as u64;
                        let n = 1 + rng.below(2) as usize;
                        let data = vec![fill; n * CHUNK];
                        write(&fs, &ctx, ino, off, Bytes::from(data.clone())).await;
                        patch(&mut model, off as usize, &data);
                    }
                    // Partial writes (merge operands), anywhere.
                    3..=4 => {
                        let off = rng.below(max);
                        let len = 1 + rng.below(20_000) as usize;
                        let data = vec![fill; len];
                        write(&fs, &ctx, ino, off, Bytes::from(data.clone())).await;
                        patch(&mut model, off as usize, &data);
                    }
                    // Two writes to the same chunks at once; the second wins (it takes the
                    // inode lock after the first).
                    5 => {
                        let off = rng.below(4) * CHUNK as u64;
                        let a = Bytes::from(vec![fill; CHUNK]);
                        let b = Bytes::from(vec![fill.wrapping_add(100); CHUNK + 17]);
                        futures::join!(
                            write(&fs, &ctx, ino, off, a.clone()),
                            write(&fs, &ctx, ino, off, b.clone())
                        );
                        patch(&mut model, off as usize, &a);
                        patch(&mut model, off as usize, &b);
                    }
                    // Truncate (down or up), as SETATTR does.
                    6 => {
                        let size = rng.below(max);
                        let sa = SetAttr {
                            size: Some(size),
                            ..SetAttr::default()
                        };
                        let w = fs
                            .setattr(&Credentials::root(), ino, &sa, None)
                            .await
                            .unwrap();
                        ctx.file_data_changed(ino, None, Some(ctimes(&w)));
                        model.resize(size as usize, 0);
                    }
                    // Reads, some racing a write.
                    _ => {
                        let off = rng.below(max);
                        let len = 1 + rng.below(3 * CHUNK as u64) as u32;
                        let got = read_cached(&fs, &ctx, ino, off, len).await;
                        let lo = (off as usize).min(model.len());
                        let hi = (off as usize + len as usize).min(model.len());
                        assert_eq!(got.len(), hi - lo, "seed {seed} step {step}: length");
                        assert!(got == model[lo..hi], "seed {seed} step {step}: content");
                    }
                }
                // Let background cache fills and write-through puts run now and then.
                if rng.below(3) == 0 {
                    glommio::yield_if_needed().await;
                    glommio::timer::sleep(std::time::Duration::from_micros(200)).await;
                }
            }
            // Everything, through the cache and without it.
            glommio::timer::sleep(std::time::Duration::from_millis(20)).await;
            let size = model.len() as u32;
            let cached = read_cached(&fs, &ctx, ino, 0, size + 10).await;
            let direct = fs
                .read(&Credentials::root(), ino, 0, size + 10)
                .await
                .unwrap();
            assert!(cached == model, "seed {seed}: final read through the cache");
            assert!(
                direct.data == model,
                "seed {seed}: final read from the store"
            );
            let stats = ctx.cache().unwrap().stats();
            assert!(stats.hits > 0, "seed {seed}: the cache never served a read");
            assert_eq!(stats.checksum_failures, 0);
            fs.close().await.unwrap();
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn cached_reads_match_the_model() {
    for seed in [0x9E37_79B9_7F4A_7C15, 7, 1234567, 0xDEAD_BEEF] {
        run(seed);
    }
}

/// A file written in whole chunks reads back from the cache without touching the store.
#[test]
fn whole_chunk_writes_are_cached() {
    LocalExecutorBuilder::default()
        .spawn(|| async {
            let (_dir, fs, ctx, ino) = setup().await;
            let data: Vec<u8> = (0..4 * CHUNK).map(|i| (i % 253) as u8).collect();
            write(&fs, &ctx, ino, 0, Bytes::from(data.clone())).await;
            glommio::timer::sleep(std::time::Duration::from_millis(20)).await;
            let before = ctx.cache().unwrap().stats();
            assert_eq!(before.entries, 4, "{before:?}");
            let got = read_cached(&fs, &ctx, ino, 0, (4 * CHUNK) as u32).await;
            assert!(got == data);
            let after = ctx.cache().unwrap().stats();
            assert_eq!(after.hits - before.hits, 4, "{after:?}");
            assert_eq!(after.misses, before.misses);
            fs.close().await.unwrap();
        })
        .unwrap()
        .join()
        .unwrap();
}
