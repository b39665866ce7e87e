//! Latency of the per-core chunk cache through io_uring (O_DIRECT, glommio).
//! `get_hit/65536` and `get_range_4KiB` read the same resident chunks, whole
//! and one page at a time.
//!
//! The cache is `!Send` and its IO needs the glommio reactor, so it lives on a
//! glommio executor thread; criterion runs on the main thread and asks that
//! thread to run `iters` operations, which it times itself (`iter_custom`).
//! Files go to the system temp dir (set TMPDIR to bench another device).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use glommio::LocalExecutorBuilder;
use slatenfs::cache::{CacheKey, ChunkCache, SLOT_SIZE};

/// Keys pre-loaded for the hit benchmarks (all resident).
const RESIDENT: u64 = 256;
/// Slots in the cache: puts cycle over twice as many keys, so steady-state
/// puts evict.
const SLOTS: u64 = 512;

#[derive(Clone, Copy)]
enum Op {
    /// Sequential gets of resident chunks of this size.
    GetHit(usize),
    /// Sequential `get_range`s of one 4 KiB page (a different page each time)
    /// of resident 64 KiB chunks: what a 4 KiB NFS READ asks of the cache.
    GetRangeHit4K,
    /// `depth` gets in flight at once (one batch counted as `depth` ops).
    GetHitDepth(usize),
    /// Gets of absent keys (index lookup only).
    GetMiss,
    /// Puts of this size over 2× the slots (with eviction).
    Put(usize),
}

struct Job {
    op: Op,
    iters: u64,
}

fn key(index: u64) -> CacheKey {
    CacheKey { ino: 1, index }
}

async fn run_job(caches: &[(usize, ChunkCache)], job: Job, cursor: &mut u64) -> Duration {
    let data = vec![0xA5u8; SLOT_SIZE as usize];
    match job.op {
        Op::GetHit(size) => {
            let cache = lookup(caches, size);
            let start = Instant::now();
            for _ in 0..job.iters {
                *cursor += 1;
                let got = cache.get(key(*cursor % RESIDENT)).await;
                assert!(got.is_some_and(|b| b.len() == size), "bench get missed");
            }
            start.elapsed()
        }
        Op::GetRangeHit4K => {
            let cache = lookup(caches, SLOT_SIZE as usize);
            let start = Instant::now();
            for _ in 0..job.iters {
                *cursor += 1;
                // Key and page both move, so no two gets in a row share a page.
                let page = (*cursor as usize * 7) % (SLOT_SIZE as usize / 4096) * 4096;
                let got = cache
                    .get_range(key(*cursor % RESIDENT), page, page + 4096)
                    .await;
                assert!(got.is_some_and(|b| b.len() == 4096), "bench get missed");
            }
            start.elapsed()
        }
        Op::GetHitDepth(depth) => {
            let cache = lookup(caches, SLOT_SIZE as usize);
            let batches = job.iters.div_ceil(depth as u64);
            let start = Instant::now();
            for _ in 0..batches {
                let gets = (0..depth).map(|_| {
                    *cursor += 1;
                    cache.get(key(*cursor % RESIDENT))
                });
                let got = futures::future::join_all(gets).await;
                assert!(got.iter().all(Option::is_some), "bench get missed");
            }
            // Report per operation.
            start
                .elapsed()
                .mul_f64(job.iters as f64 / (batches * depth as u64) as f64)
        }
        Op::GetMiss => {
            let cache = lookup(caches, SLOT_SIZE as usize);
            let start = Instant::now();
            for i in 0..job.iters {
                assert!(cache.get(CacheKey { ino: 2, index: i }).await.is_none());
            }
            start.elapsed()
        }
        Op::Put(size) => {
            let cache = lookup(caches, size);
            let start = Instant::now();
            for _ in 0..job.iters {
                *cursor += 1;
                cache
                    .put(key(RESIDENT + *cursor % (2 * SLOTS)), &data[..size])
                    .await;
            }
            let elapsed = start.elapsed();
            // Put back the resident set the put cycle may have evicted.
            for i in 0..RESIDENT {
                if cache.get(key(i)).await.is_none() {
                    cache.put(key(i), &data[..size]).await;
                }
            }
            elapsed
        }
    }
}

fn lookup(caches: &[(usize, ChunkCache)], size: usize) -> &ChunkCache {
    &caches
        .iter()
        .find(|(s, _)| *s == size)
        .expect("a cache per benchmarked size")
        .1
}

fn bench(c: &mut Criterion) {
    let sizes = [4096usize, SLOT_SIZE as usize];
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let (done_tx, done_rx) = mpsc::channel::<Duration>();
    let executor = LocalExecutorBuilder::default()
        .name("chunk-cache-bench")
        .spawn(move || async move {
            let dir = tempfile::tempdir().expect("temp dir");
            let mut caches = Vec::new();
            for (core, &size) in sizes.iter().enumerate() {
                let cache = ChunkCache::open(dir.path(), core, SLOTS * SLOT_SIZE)
                    .await
                    .expect("open cache");
                let data = vec![0x5Au8; size];
                for i in 0..RESIDENT {
                    cache.put(key(i), &data).await;
                }
                caches.push((size, cache));
            }
            let mut cursor = 0;
            // Blocking on the channel is fine: no IO is in flight between jobs.
            while let Ok(job) = job_rx.recv() {
                let took = run_job(&caches, job, &mut cursor).await;
                if done_tx.send(took).is_err() {
                    break;
                }
            }
            for (size, cache) in &caches {
                eprintln!("cache for {size} B chunks: {:?}", cache.stats());
            }
        })
        .expect("spawn executor");

    let run = |op: Op, iters: u64| {
        job_tx.send(Job { op, iters }).expect("executor alive");
        done_rx.recv().expect("executor alive")
    };

    let mut g = c.benchmark_group("chunk_cache");
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for size in sizes {
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("get_hit", size), &size, |b, &s| {
            b.iter_custom(|iters| run(Op::GetHit(s), iters))
        });
        if size == SLOT_SIZE as usize {
            // Next to the whole-chunk get of the same chunks, to compare in one run.
            g.throughput(Throughput::Bytes(4096));
            g.bench_function("get_range_4KiB", |b| {
                b.iter_custom(|iters| run(Op::GetRangeHit4K, iters))
            });
            g.throughput(Throughput::Bytes(size as u64));
        }
        g.bench_with_input(BenchmarkId::new("put", size), &size, |b, &s| {
            b.iter_custom(|iters| run(Op::Put(s), iters))
        });
    }
    g.throughput(Throughput::Bytes(SLOT_SIZE));
    for depth in [4usize, 16] {
        g.bench_with_input(
            BenchmarkId::new("get_hit_65536_depth", depth),
            &depth,
            |b, &d| b.iter_custom(|iters| run(Op::GetHitDepth(d), iters)),
        );
    }
    g.throughput(Throughput::Elements(1));
    g.bench_function("get_miss", |b| {
        b.iter_custom(|iters| run(Op::GetMiss, iters))
    });
    g.finish();

    drop(job_tx);
    let _ = executor.join();
}

criterion_group!(benches, bench);
criterion_main!(benches);
