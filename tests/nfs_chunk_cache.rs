//! The owner core's chunk cache in front of the filesystem, as the data path drives it:
//! WRITE through `CoherentCache::file_written` (write-through of whole chunks), truncation
//! through `file_data_changed`, READ through `CoherentCache::read_range`. A random sequence of
//! writes (partial, whole-chunk, overlapping, concurrent), truncations and reads on real SlateDB
//! and a real io_uring cache file must read back exactly what a byte model holds, and what the
//! store holds without the cache.

mod common;

use bytes::Bytes;
use common::fs::{mkfile, new_fs};
use common::{run_in_glommio, XorShift};
use slatenfs::cache::ChunkCache;
use slatenfs::datapath::CoherentCache;
use slatenfs::fs::*;

const CHUNK: usize = 64 * 1024;

fn ctimes(w: &Wcc) -> (Timestamp, Timestamp) {
    (w.before.unwrap().ctime, w.after.as_ref().unwrap().ctime)
}

async fn write(fs: &Fs, ctx: &CoherentCache, ino: InodeId, off: u64, data: Bytes) {
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

/// SETATTR of the size, reported to the cache as the data path does.
async fn truncate(fs: &Fs, ctx: &CoherentCache, ino: InodeId, size: u64) {
    let sa = SetAttr {
        size: Some(size),
        ..SetAttr::default()
    };
    let w = fs
        .setattr(&Credentials::root(), ino, &sa, None)
        .await
        .unwrap();
    ctx.file_data_changed(ino, None, Some(ctimes(&w)));
}

/// WRITEs of `a` then `b`, applied to the store in that order, reported to the cache in the
/// opposite order (as writes that wait for the store after unlocking the inode may).
async fn write_two_report_reversed(
    fs: &Fs,
    ctx: &CoherentCache,
    ino: InodeId,
    a: (u64, Bytes),
    b: (u64, Bytes),
) {
    let root = Credentials::root();
    let wa = fs
        .write(&root, ino, a.0, a.1.clone(), StableHow::Unstable)
        .await
        .unwrap();
    let wb = fs
        .write(&root, ino, b.0, b.1.clone(), StableHow::Unstable)
        .await
        .unwrap();
    ctx.file_written(ino, b.0, &b.1, ctimes(&wb.wcc));
    ctx.file_written(ino, a.0, &a.1, ctimes(&wa.wcc));
}

async fn read_cached(fs: &Fs, ctx: &CoherentCache, ino: InodeId, off: u64, len: u32) -> Vec<u8> {
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

/// Whether `done` holds within `within`, looking every 5 ms (background work of the core runs
/// between the looks).
async fn holds_within(within: std::time::Duration, done: impl Fn() -> bool) -> bool {
    let until = std::time::Instant::now() + within;
    while !done() {
        if std::time::Instant::now() > until {
            return false;
        }
        glommio::timer::sleep(std::time::Duration::from_millis(5)).await;
    }
    true
}

/// Waits until read-ahead fetches and the cache's puts in flight have landed (cache writes are
/// io_uring writes the core issues in the background; on a loaded machine they can take longer
/// than any fixed pause).
async fn settle(ctx: &CoherentCache) {
    let Some(cache) = ctx.cache() else { return };
    let landed = || cache.stats().writes_in_flight == 0 && ctx.chunks_being_fetched() == 0;
    if !holds_within(std::time::Duration::from_secs(30), landed).await {
        panic!(
            "cache writes still in flight after 30 s: {:?}",
            cache.stats()
        );
    }
}

/// Checks a READ of `len` bytes at `off` against the model (clamped to its size).
fn check_read(got: &[u8], model: &[u8], off: u64, len: u32, what: &str) {
    let lo = (off as usize).min(model.len());
    let hi = (off as usize + len as usize).min(model.len());
    assert_eq!(got.len(), hi - lo, "{what}: length");
    assert!(got == &model[lo..hi], "{what}: content");
}

/// A READ of a few KiB whose offset and length are not multiples of 4 KiB: inside a chunk,
/// across a chunk boundary, or running into the end of a file of `size` bytes. `max` bounds
/// the offsets.
fn small_read(rng: &mut XorShift, size: u64, max: u64) -> (u64, u32) {
    let (off, len) = match rng.below(3) {
        0 => (rng.below(max), 1 + rng.below(10_000)),
        1 => {
            let boundary = (1 + rng.below(max / CHUNK as u64)) * CHUNK as u64;
            (
                boundary.saturating_sub(1 + rng.below(6000)),
                2 + rng.below(12_000),
            )
        }
        _ => (
            size.saturating_sub(1 + rng.below(9000)),
            1 + rng.below(12_000),
        ),
    };
    let unaligned = |v: u64| if v.is_multiple_of(4096) { v + 1 } else { v };
    (unaligned(off), unaligned(len) as u32)
}

fn patch(model: &mut Vec<u8>, off: usize, data: &[u8]) {
    if model.len() < off + data.len() {
        model.resize(off + data.len(), 0);
    }
    model[off..off + data.len()].copy_from_slice(data);
}

/// A filesystem on in-memory SlateDB, a 4 MiB cache in a temporary directory (kept alive by
/// the returned guard), the core context over it, and one empty file.
async fn setup() -> (tempfile::TempDir, Fs, CoherentCache, InodeId) {
    let dir = tempfile::tempdir().unwrap();
    let fs = new_fs().await;
    let cache = ChunkCache::open(&dir.path().join("cache"), 0, 4 << 20)
        .await
        .unwrap();
    let ctx = CoherentCache::new(Some(cache));
    let ino = mkfile(&fs, fs.root(), "f").await;
    (dir, fs, ctx, ino)
}

fn run(seed: u64) {
    run_in_glommio(move || async move {
        let (_dir, fs, ctx, ino) = setup().await;
        let mut model: Vec<u8> = Vec::new();
        let mut rng = XorShift(seed);
        let max = 6 * CHUNK as u64;
        for step in 0..300 {
            let fill = (step % 251) as u8 + 1;
            match rng.below(12) {
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
                // Two writes reported out of order, overlapping or not; sometimes a read
                // comes between the reports.
                6 if rng.below(2) == 0 => {
                    let a_off = rng.below(5) * CHUNK as u64 + rng.below(2) * 1000;
                    let b_off = rng.below(5) * CHUNK as u64;
                    let a = Bytes::from(vec![fill; CHUNK]);
                    let b = Bytes::from(vec![
                        fill.wrapping_add(50);
                        1 + rng.below(CHUNK as u64) as usize
                    ]);
                    if rng.below(3) == 0 {
                        let root = Credentials::root();
                        let wa = fs
                            .write(&root, ino, a_off, a.clone(), StableHow::Unstable)
                            .await
                            .unwrap();
                        let wb = fs
                            .write(&root, ino, b_off, b.clone(), StableHow::Unstable)
                            .await
                            .unwrap();
                        ctx.file_written(ino, b_off, &b, ctimes(&wb.wcc));
                        patch(&mut model, a_off as usize, &a);
                        patch(&mut model, b_off as usize, &b);
                        let (off, len) = (rng.below(max), 1 + rng.below(2 * CHUNK as u64) as u32);
                        let got = read_cached(&fs, &ctx, ino, off, len).await;
                        check_read(
                            &got,
                            &model,
                            off,
                            len,
                            &format!("seed {seed} step {step}: read between reports"),
                        );
                        ctx.file_written(ino, a_off, &a, ctimes(&wa.wcc));
                    } else {
                        write_two_report_reversed(
                            &fs,
                            &ctx,
                            ino,
                            (a_off, a.clone()),
                            (b_off, b.clone()),
                        )
                        .await;
                        patch(&mut model, a_off as usize, &a);
                        patch(&mut model, b_off as usize, &b);
                    }
                }
                // Truncate (down or up), as SETATTR does.
                6 => {
                    let size = rng.below(max);
                    truncate(&fs, &ctx, ino, size).await;
                    model.resize(size as usize, 0);
                }
                // Reads, some racing a write.
                7..=8 => {
                    let off = rng.below(max);
                    let len = 1 + rng.below(3 * CHUNK as u64) as u32;
                    let got = read_cached(&fs, &ctx, ino, off, len).await;
                    check_read(&got, &model, off, len, &format!("seed {seed} step {step}"));
                }
                // Small unaligned reads: the part-of-a-chunk path of the cache.
                _ => {
                    let (off, len) = small_read(&mut rng, model.len() as u64, max);
                    let got = read_cached(&fs, &ctx, ino, off, len).await;
                    let what = format!("seed {seed} step {step}: small read {off}+{len}");
                    check_read(&got, &model, off, len, &what);
                }
            }
            // Let background cache fills and write-through puts run now and then.
            if rng.below(3) == 0 {
                glommio::yield_if_needed().await;
                glommio::timer::sleep(std::time::Duration::from_micros(200)).await;
            }
        }
        // Everything, through the cache and without it.
        settle(&ctx).await;
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
    });
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
    run_in_glommio(|| async {
        let (_dir, fs, ctx, ino) = setup().await;
        let data: Vec<u8> = (0..4 * CHUNK).map(|i| (i % 253) as u8).collect();
        write(&fs, &ctx, ino, 0, Bytes::from(data.clone())).await;
        settle(&ctx).await;
        let before = ctx.cache().unwrap().stats();
        assert_eq!(before.entries, 4, "{before:?}");
        let got = read_cached(&fs, &ctx, ino, 0, (4 * CHUNK) as u32).await;
        assert!(got == data);
        let after = ctx.cache().unwrap().stats();
        assert_eq!(after.hits - before.hits, 4, "{after:?}");
        assert_eq!(after.misses, before.misses);
        fs.close().await.unwrap();
    });
}

/// Two WRITEs that report out of order (the later one first) drop only the chunks they wrote:
/// the file's other cached chunks keep serving reads, and everything reads back as written.
/// (Before, the early report made the core forget the file and the late one drop all of it,
/// so a file written by many concurrent WRITEs was never cached.)
#[test]
fn writes_reported_out_of_order_keep_the_other_cached_chunks() {
    run_in_glommio(|| async {
        let (_dir, fs, ctx, ino) = setup().await;
        let c = CHUNK as u64;
        let mut model: Vec<u8> = (0..4 * CHUNK).map(|i| (i % 251) as u8).collect();
        write(&fs, &ctx, ino, 0, Bytes::from(model.clone())).await;
        settle(&ctx).await;
        assert_eq!(ctx.cache().unwrap().stats().entries, 4);

        let a = Bytes::from(vec![0xAA; 300]);
        let b = Bytes::from(vec![0xBB; 500]);
        write_two_report_reversed(&fs, &ctx, ino, (100, a.clone()), (c + 7, b.clone())).await;
        patch(&mut model, 100, &a);
        patch(&mut model, CHUNK + 7, &b);
        settle(&ctx).await;

        let before = ctx.cache().unwrap().stats();
        let got = read_cached(&fs, &ctx, ino, 2 * c, (2 * CHUNK) as u32).await;
        assert!(got == model[2 * CHUNK..], "chunks 2 and 3");
        let after = ctx.cache().unwrap().stats();
        assert_eq!(after.hits - before.hits, 2, "{after:?}");
        assert_eq!(after.misses, before.misses, "{after:?}");

        // The written chunks come from the store, and then from the cache.
        let all = read_cached(&fs, &ctx, ino, 0, (4 * CHUNK) as u32).await;
        assert!(all == model, "whole file");
        settle(&ctx).await;
        let again = read_cached(&fs, &ctx, ino, 0, (4 * CHUNK) as u32).await;
        assert!(again == model, "whole file, again");
        let last = ctx.cache().unwrap().stats();
        assert_eq!(last.misses - after.misses, 2, "{last:?}");
        assert_eq!(last.hits - after.hits, 2 + 4, "{last:?}");
        fs.close().await.unwrap();
    });
}

/// After one full read has filled the cache, small unaligned reads of a file with whole
/// chunks, a short chunk in the middle, a hole, a chunk that starts with zeros and an EOF
/// inside a hole are all served from the cache (part of a chunk each) and match the model.
#[test]
fn small_unaligned_reads_are_served_from_the_cache() {
    run_in_glommio(|| async {
        let (_dir, fs, ctx, ino) = setup().await;
        let c = CHUNK as u64;
        let mut model = Vec::new();
        let whole: Vec<u8> = (0..2 * CHUNK).map(|i| (i % 251) as u8 ^ 0x5A).collect();
        write(&fs, &ctx, ino, 0, Bytes::from(whole.clone())).await;
        patch(&mut model, 0, &whole);
        // Chunk 2 holds 100 bytes, chunk 3 is a hole, chunk 4 starts with 10 zeros.
        let short = vec![0xC3; 100];
        write(&fs, &ctx, ino, 2 * c, Bytes::from(short.clone())).await;
        patch(&mut model, 2 * CHUNK, &short);
        let late: Vec<u8> = (0..5000).map(|i| (i % 7) as u8 + 1).collect();
        write(&fs, &ctx, ino, 4 * c + 10, Bytes::from(late.clone())).await;
        patch(&mut model, 4 * CHUNK + 10, &late);
        // Grown past its data: the rest of chunk 4 and chunk 5 read as zeros up to EOF.
        let size = 5 * c + 3000;
        truncate(&fs, &ctx, ino, size).await;
        model.resize(size as usize, 0);

        let all = read_cached(&fs, &ctx, ino, 0, size as u32).await;
        assert!(all == model);
        // Let the fills of that read land.
        settle(&ctx).await;
        let before = ctx.cache().unwrap().stats();
        assert_eq!(before.entries, 6, "{before:?}");

        let mut rng = XorShift(0x5EED);
        // Cache lookups the reads make: one per chunk each touches.
        let mut gets = 0;
        for i in 0..400 {
            let (off, len) = small_read(&mut rng, size, size);
            let got = read_cached(&fs, &ctx, ino, off, len).await;
            check_read(&got, &model, off, len, &format!("read {i}: {off}+{len}"));
            let end = (off + u64::from(len)).min(size);
            if off < end {
                gets += (end - 1) / c - off / c + 1;
            }
        }
        let after = ctx.cache().unwrap().stats();
        assert_eq!(after.misses, before.misses, "{after:?}");
        assert_eq!(after.hits - before.hits, gets, "{after:?}");
        assert_eq!((after.checksum_failures, after.io_errors), (0, 0));
        fs.close().await.unwrap();
    });
}

/// Writes `data` at offset 0 without telling the cache (so that only read-ahead can fill it);
/// returns the file's new ctime.
async fn write_past_the_cache(fs: &Fs, ino: InodeId, data: &[u8]) -> Timestamp {
    let w = fs
        .write(
            &Credentials::root(),
            ino,
            0,
            Bytes::copy_from_slice(data),
            StableHow::Unstable,
        )
        .await
        .unwrap();
    ctimes(&w.wcc).1
}

/// A READ of chunks that read-ahead is fetching waits for the fetch and takes the bytes it
/// got, without reading them back from the cache (whose writes run meanwhile); a write that
/// completes while the fetch is under way is what a later READ returns.
#[test]
fn reads_waiting_for_read_ahead_take_the_fetched_bytes() {
    run_in_glommio(|| async {
        let (_dir, fs, ctx, ino) = setup().await;
        let c = CHUNK as u64;
        let model: Vec<u8> = (0..8 * CHUNK).map(|i| (i / 7 % 251) as u8).collect();
        let ctime = write_past_the_cache(&fs, ino, &model).await;
        ctx.prefetch(&fs, ino, ctime, 8 * c, 0..8 * c);
        let before = ctx.cache().unwrap().stats();
        let got = read_cached(&fs, &ctx, ino, 2 * c + 5, 3 * CHUNK as u32).await;
        check_read(&got, &model, 2 * c + 5, 3 * CHUNK as u32, "waited read");
        let after = ctx.cache().unwrap().stats();
        // One lookup per chunk if the READ came before the fetch ended (misses), none if
        // after (the chunks were staged), and none after waiting.
        assert_eq!(after.hits, before.hits, "{after:?}");
        assert!(
            [0, 4].contains(&(after.misses - before.misses)),
            "{after:?}"
        );
        settle(&ctx).await;
        assert_eq!(ctx.cache().unwrap().stats().entries, 8);

        // A write while the fetch of its chunk is under way: the fetch's bytes are stale.
        truncate(&fs, &ctx, ino, 0).await;
        let mut model = model;
        let ctime = write_past_the_cache(&fs, ino, &model).await;
        ctx.prefetch(&fs, ino, ctime, 8 * c, 0..8 * c);
        let fresh = vec![0xEE; CHUNK];
        write(&fs, &ctx, ino, 3 * c, Bytes::from(fresh.clone())).await;
        patch(&mut model, 3 * CHUNK, &fresh);
        let got = read_cached(&fs, &ctx, ino, 0, 8 * CHUNK as u32).await;
        check_read(&got, &model, 0, 8 * CHUNK as u32, "read after the write");
        settle(&ctx).await;
        let got = read_cached(&fs, &ctx, ino, 0, 8 * CHUNK as u32).await;
        check_read(&got, &model, 0, 8 * CHUNK as u32, "read from the cache");
        fs.close().await.unwrap();
    });
}

/// Waits (up to 10 s) until read-ahead has staged `n` chunks.
async fn staged(ctx: &CoherentCache, n: usize) {
    let staged_n = || ctx.staged_chunk_counts().0 >= n;
    if !holds_within(std::time::Duration::from_secs(10), staged_n).await {
        panic!(
            "read-ahead staged {:?} chunks, not {n}",
            ctx.staged_chunk_counts()
        );
    }
}

/// Read-ahead of a file larger than half the cache keeps what it fetched in memory and does
/// not write it to the cache (a stream would only push out what the cache holds); READs take
/// it from there without a cache lookup and mark what they read to its end as used; a second
/// reader right behind still finds it. A write drops the file's staged chunks.
#[test]
fn read_ahead_of_a_file_too_large_for_the_cache_is_served_from_memory() {
    run_in_glommio(|| async {
        let (_dir, fs, ctx, ino) = setup().await;
        // 3 MiB but 1,000 bytes (the last chunk is short), the cache 4 MiB.
        let chunks = 48;
        let span = chunks as u64 * CHUNK as u64;
        let size = span - 1000;
        let mib = 1u64 << 20;
        let mut model: Vec<u8> = (0..size).map(|i| (i / 5 % 253) as u8).collect();
        let ctime = write_past_the_cache(&fs, ino, &model).await;
        ctx.prefetch(&fs, ino, ctime, size, 0..span);
        staged(&ctx, chunks).await;
        let before = ctx.cache().unwrap().stats();
        for reader in ["first reader", "second reader"] {
            for i in 0..3 {
                let got = read_cached(&fs, &ctx, ino, i * mib, mib as u32).await;
                check_read(&got, &model, i * mib, mib as u32, reader);
            }
            assert_eq!(ctx.staged_chunk_counts(), (0, chunks), "{reader}: all used");
        }
        let after = ctx.cache().unwrap().stats();
        assert_eq!((after.hits, after.misses), (before.hits, before.misses));
        settle(&ctx).await;
        assert_eq!(ctx.cache().unwrap().stats().entries, 0, "nothing written");

        let fresh = vec![0xAB; 100];
        let at = 5 * CHUNK as u64 + 7;
        write(&fs, &ctx, ino, at, Bytes::from(fresh.clone())).await;
        patch(&mut model, 5 * CHUNK + 7, &fresh);
        assert_eq!(ctx.staged_chunk_counts(), (0, 0), "a write drops them");
        for i in 0..3 {
            let got = read_cached(&fs, &ctx, ino, i * mib, mib as u32).await;
            check_read(&got, &model, i * mib, mib as u32, "read after the write");
        }
        fs.close().await.unwrap();
    });
}

/// Pieces that start inside their chunk, in any order; zeros where no piece has bytes; one
/// piece covering the range is returned without a copy.
#[test]
fn assemble_pieces_places_pieces_at_their_offsets() {
    use slatenfs::fs::data::assemble_pieces;
    let c = CHUNK as u64;
    let a = Bytes::from(vec![1u8; 100]); // file bytes [c + 50, c + 150)
    let b = Bytes::from(vec![2u8; CHUNK]); // the whole chunk 2
    let out = assemble_pieces(c, 2 * c + 10, &[(2 * c, b.clone()), (c + 50, a.clone())]);
    let mut want = vec![0u8; CHUNK + 10];
    want[50..150].fill(1);
    want[CHUNK..].fill(2);
    assert!(out == want);
    // Inside one piece: a slice of it.
    let out = assemble_pieces(c + 60, c + 70, &[(c + 50, a.clone())]);
    assert_eq!(&out[..], &[1u8; 10]);
    assert_eq!(out.as_ptr(), a[10..].as_ptr());
    // One piece that ends early (a short chunk): the rest is zeros.
    let out = assemble_pieces(c + 100, c + 200, &[(c + 50, a)]);
    assert_eq!(&out[..50], &[1u8; 50]);
    assert_eq!(&out[50..], &[0u8; 50]);
    // No pieces: a hole.
    assert_eq!(&assemble_pieces(5, 9, &[])[..], &[0u8; 4]);
    // Pieces that tile the range, in any order: each one's bytes in place.
    let d = Bytes::from((0..CHUNK).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let e = Bytes::from(vec![3u8; CHUNK]);
    let out = assemble_pieces(c + 10, 3 * c - 5, &[(2 * c, e.clone()), (c, d.clone())]);
    assert_eq!(out.len(), 2 * CHUNK - 15);
    assert_eq!(&out[..CHUNK - 10], &d[10..]);
    assert_eq!(&out[CHUNK - 10..], &e[..CHUNK - 5]);
    // A gap between them reads as zeros.
    let out = assemble_pieces(c, 4 * c, &[(3 * c, e.clone()), (c, d.clone())]);
    assert_eq!(&out[..CHUNK], &d[..]);
    assert!(out[CHUNK..2 * CHUNK].iter().all(|&b| b == 0));
    assert_eq!(&out[2 * CHUNK..], &e[..]);
}
