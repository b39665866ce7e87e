//! Behaviour of the per-core chunk cache through real io_uring IO.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{run_in_glommio, XorShift};
use slatenfs::cache::{cache_file_path, CacheError, CacheKey, ChunkCache, SLOT_SIZE};

fn key(ino: u64, index: u64) -> CacheKey {
    CacheKey { ino, index }
}

/// Distinct, non-trivial content for (key, version).
fn chunk(k: CacheKey, version: u64, len: usize) -> Vec<u8> {
    let mut rng =
        XorShift(k.ino.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ k.index.wrapping_mul(31) ^ version);
    (0..len).map(|_| rng.next() as u8).collect()
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).expect("stat cache file").len()
}

#[test]
fn round_trip_sizes() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, 16 * SLOT_SIZE)
            .await
            .unwrap();
        let sizes = [0usize, 1, 4095, 4096, 65535, 65536];
        for (i, &len) in sizes.iter().enumerate() {
            let k = key(7, i as u64);
            let data = chunk(k, 1, len);
            cache.put(k, &data).await;
            let got = cache
                .get(k)
                .await
                .unwrap_or_else(|| panic!("miss for size {len}"));
            assert_eq!(got.len(), len);
            assert_eq!(&got[..], &data[..], "size {len}");
        }
        // Read them all again, after the others were written.
        for (i, &len) in sizes.iter().enumerate() {
            let k = key(7, i as u64);
            assert_eq!(&cache.get(k).await.unwrap()[..], &chunk(k, 1, len)[..]);
        }
        let s = cache.stats();
        assert_eq!(s.hits, 12);
        assert_eq!(s.insertions, 6);
        assert_eq!(s.bytes, sizes.iter().sum::<usize>() as u64);
        assert_eq!(s.entries, 6);
        assert_eq!((s.checksum_failures, s.io_errors), (0, 0));
    });
}

#[test]
fn oversized_put_is_rejected_and_drops_old_version() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, 4 * SLOT_SIZE)
            .await
            .unwrap();
        let k = key(1, 0);
        cache.put(k, &chunk(k, 1, 100)).await;
        cache.put(k, &vec![1u8; SLOT_SIZE as usize + 1]).await;
        assert!(
            cache.get(k).await.is_none(),
            "the older version must not survive"
        );
        assert_eq!(cache.stats().rejected_puts, 1);
    });
}

#[test]
fn miss() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, 4 * SLOT_SIZE)
            .await
            .unwrap();
        assert!(cache.get(key(1, 0)).await.is_none());
        cache.put(key(1, 0), b"x").await;
        assert!(cache.get(key(1, 1)).await.is_none());
        assert!(cache.get(key(2, 0)).await.is_none());
        let s = cache.stats();
        assert_eq!((s.hits, s.misses), (0, 3));
    });
}

#[test]
fn eviction_keeps_file_bounded() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        // Not a multiple of the slot size: rounds down to 4 slots.
        let budget = 4 * SLOT_SIZE + 1000;
        let cache = ChunkCache::open(dir.path(), 3, budget).await.unwrap();
        let path = cache_file_path(dir.path(), 3);
        assert_eq!(cache.path(), Some(path.as_path()));
        assert_eq!(file_len(&path), 4 * SLOT_SIZE);
        for i in 0..40 {
            let k = key(9, i);
            cache.put(k, &chunk(k, 0, SLOT_SIZE as usize)).await;
            assert!(file_len(&path) <= budget);
            // The chunk just written is readable.
            assert_eq!(
                &cache.get(k).await.unwrap()[..],
                &chunk(k, 0, SLOT_SIZE as usize)[..]
            );
        }
        let s = cache.stats();
        assert_eq!(s.capacity_bytes, 4 * SLOT_SIZE);
        assert_eq!(s.entries, 4);
        assert_eq!(s.bytes, 4 * SLOT_SIZE);
        assert_eq!(s.evictions, 36);
        assert_eq!(file_len(&path), 4 * SLOT_SIZE);
        let mut resident = 0;
        for i in 0..40 {
            let k = key(9, i);
            if let Some(got) = cache.get(k).await {
                assert_eq!(&got[..], &chunk(k, 0, SLOT_SIZE as usize)[..]);
                resident += 1;
            }
        }
        assert_eq!(resident, 4);
    });
}

#[test]
fn clock_keeps_hot_chunk() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, 4 * SLOT_SIZE)
            .await
            .unwrap();
        let hot = key(1, 0);
        cache.put(hot, &chunk(hot, 0, 4096)).await;
        for i in 0..32 {
            let k = key(2, i);
            cache.put(k, &chunk(k, 0, 4096)).await;
            assert!(
                cache.get(hot).await.is_some(),
                "hot chunk evicted after {i} puts"
            );
        }
    });
}

#[test]
fn zero_capacity_is_disabled() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, SLOT_SIZE - 1)
            .await
            .unwrap();
        cache.put(key(1, 0), b"abc").await;
        assert!(cache.get(key(1, 0)).await.is_none());
        assert!(!cache_file_path(dir.path(), 0).exists());
        assert_eq!(cache.path(), None);
        assert_eq!(cache.stats().capacity_bytes, 0);
    });
}

#[test]
fn invalidate_key_and_inode() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, 16 * SLOT_SIZE)
            .await
            .unwrap();
        for ino in [1, 2] {
            for i in 0..4 {
                let k = key(ino, i);
                cache.put(k, &chunk(k, 0, 5000)).await;
            }
        }
        cache.invalidate(key(1, 2));
        cache.invalidate(key(1, 99)); // absent: no-op
        assert!(cache.get(key(1, 2)).await.is_none());
        assert!(cache.get(key(1, 3)).await.is_some());
        cache.invalidate_inode(2);
        for i in 0..4 {
            assert!(cache.get(key(2, i)).await.is_none());
        }
        for i in [0, 1, 3] {
            let k = key(1, i);
            assert_eq!(&cache.get(k).await.unwrap()[..], &chunk(k, 0, 5000)[..]);
        }
        let s = cache.stats();
        assert_eq!(s.entries, 3);
        assert_eq!(s.bytes, 3 * 5000);
        // Freed slots are reused: 13 more chunks fit without eviction.
        for i in 0..13 {
            let k = key(3, i);
            cache.put(k, &chunk(k, 0, 10)).await;
        }
        assert_eq!(cache.stats().evictions, 0);
        // A new version after invalidation is served.
        let k = key(2, 0);
        cache.put(k, &chunk(k, 5, 77)).await;
        assert_eq!(&cache.get(k).await.unwrap()[..], &chunk(k, 5, 77)[..]);
    });
}

/// Overwrites byte `at` of every slot of the file with its complement.
fn corrupt_every_slot(path: &Path, at: u64) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let slots = f.metadata().unwrap().len() / SLOT_SIZE;
    for s in 0..slots {
        let mut b = [0u8; 1];
        f.read_exact_at(&mut b, s * SLOT_SIZE + at).unwrap();
        b[0] = !b[0];
        f.write_all_at(&b, s * SLOT_SIZE + at).unwrap();
    }
    f.sync_all().unwrap();
}

#[test]
fn corruption_is_detected_and_never_served() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, 4 * SLOT_SIZE)
            .await
            .unwrap();
        let path = cache_file_path(dir.path(), 0);
        let (a, b) = (key(1, 0), key(1, 1));
        cache.put(a, &chunk(a, 0, 65536)).await;
        cache.put(b, &chunk(b, 0, 3000)).await;
        assert!(cache.get(a).await.is_some());

        corrupt_every_slot(&path, 1234);
        assert!(cache.get(a).await.is_none(), "corrupt chunk served");
        assert!(cache.get(b).await.is_none(), "corrupt chunk served");
        let s = cache.stats();
        assert_eq!(s.checksum_failures, 2);
        // The slots were freed: a later get is a plain miss, not a re-check.
        assert!(cache.get(a).await.is_none());
        let s = cache.stats();
        assert_eq!(s.checksum_failures, 2);
        assert_eq!((s.entries, s.bytes), (0, 0));

        // Corruption of the padding past the chunk's end does not matter;
        // corruption of its last byte does.
        cache.put(b, &chunk(b, 1, 3000)).await;
        corrupt_every_slot(&path, 3000);
        assert_eq!(&cache.get(b).await.unwrap()[..], &chunk(b, 1, 3000)[..]);
        corrupt_every_slot(&path, 2999);
        assert!(cache.get(b).await.is_none());
        assert_eq!(cache.stats().checksum_failures, 3);

        // The cache keeps working after corruption.
        cache.put(a, &chunk(a, 2, 100)).await;
        assert_eq!(&cache.get(a).await.unwrap()[..], &chunk(a, 2, 100)[..]);
    });
}

#[test]
fn file_replaced_under_the_cache_is_not_served() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, 2 * SLOT_SIZE)
            .await
            .unwrap();
        let path = cache_file_path(dir.path(), 0);
        let k = key(4, 4);
        cache.put(k, &chunk(k, 0, 8192)).await;
        // Truncate to nothing: reads come back short or empty.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        assert!(cache.get(k).await.is_none());
        assert_eq!(cache.stats().io_errors + cache.stats().checksum_failures, 1);
    });
}

#[test]
fn invalidate_racing_a_put_wins() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, 4 * SLOT_SIZE)
            .await
            .unwrap();
        let k = key(5, 0);
        // `join` polls the put first: it claims a slot and submits its write,
        // then the second branch runs while the write is in flight.
        let data = chunk(k, 0, 65536);
        let ((), during) = futures::join!(cache.put(k, &data), async {
            let during = cache.get(k).await;
            cache.invalidate(k);
            during
        });
        assert!(during.is_none(), "a get during the write must miss");
        assert_eq!(cache.stats().insertions, 0, "the race did not happen");
        assert!(
            cache.get(k).await.is_none(),
            "stale chunk served after invalidate"
        );
        assert_eq!(cache.stats().entries, 0);

        // Same with invalidate_inode.
        let ((), ()) = futures::join!(cache.put(k, &data[..4096]), async {
            cache.invalidate_inode(5)
        });
        assert!(cache.get(k).await.is_none());

        // The abandoned slot is reusable once its write ended: fill the cache.
        for i in 0..4 {
            let k = key(6, i);
            cache.put(k, &chunk(k, 0, 100)).await;
        }
        for i in 0..4 {
            assert!(cache.get(key(6, i)).await.is_some());
        }
        assert_eq!(cache.stats().evictions, 0);
    });
}

#[test]
fn racing_puts_of_one_key_newest_wins() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, 4 * SLOT_SIZE)
            .await
            .unwrap();
        let k = key(8, 1);
        let (v1, v2) = (chunk(k, 1, 65536), chunk(k, 2, 65536));
        futures::join!(cache.put(k, &v1), cache.put(k, &v2));
        assert_eq!(&cache.get(k).await.unwrap()[..], &v2[..]);
        assert_eq!(cache.stats().entries, 1);
        // Concurrent gets of one key all hit.
        let gets = futures::future::join_all((0..8).map(|_| cache.get(k))).await;
        assert!(gets.iter().all(|g| g.as_deref() == Some(&v2[..])));
    });
}

#[test]
fn put_racing_a_get_makes_the_get_miss() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, 4 * SLOT_SIZE)
            .await
            .unwrap();
        let k = key(8, 2);
        cache.put(k, &chunk(k, 1, 65536)).await;
        // The get's read is in flight when the new version is put: it must
        // not return the old version as if current, nor a mix.
        let v2 = chunk(k, 2, 65536);
        let (old, ()) = futures::join!(cache.get(k), cache.put(k, &v2));
        assert!(old.is_none());
        assert_eq!(&cache.get(k).await.unwrap()[..], &chunk(k, 2, 65536)[..]);
    });
}

/// `start_put` claims the slot (and copies the data) when called, before its write is awaited:
/// an invalidate in between wins, the caller's buffer may change at once, and a write dropped
/// unawaited gives its slot back.
#[test]
fn start_put_claims_the_slot_when_called() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, SLOT_SIZE).await.unwrap();
        let k = key(3, 0);
        let mut data = chunk(k, 1, 65536);
        let write = cache.start_put(k, &data);
        cache.invalidate(k);
        write.await;
        assert!(
            cache.get(k).await.is_none(),
            "invalidated before the write ran"
        );
        assert_eq!(cache.stats().insertions, 0);

        let write = cache.start_put(k, &data);
        data.fill(0xEE);
        assert_eq!(cache.stats().writes_in_flight, 1);
        write.await;
        assert_eq!(cache.stats().writes_in_flight, 0);
        assert_eq!(&cache.get(k).await.unwrap()[..], &chunk(k, 1, 65536)[..]);

        // The only slot, claimed and abandoned: free again for another key.
        drop(cache.start_put(key(3, 1), &data));
        assert!(cache.get(key(3, 1)).await.is_none());
        let k2 = key(3, 2);
        cache.put(k2, &chunk(k2, 0, 500)).await;
        assert_eq!(&cache.get(k2).await.unwrap()[..], &chunk(k2, 0, 500)[..]);
        assert_eq!(cache.stats().entries, 1);
    });
}

#[test]
fn cancelled_put_frees_its_slot() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, SLOT_SIZE).await.unwrap();
        let k = key(1, 1);
        {
            let data = chunk(k, 0, 65536);
            let put = std::pin::pin!(cache.put(k, &data));
            // Poll once (the write is submitted), then drop it.
            let polled = futures::poll!(put);
            assert!(polled.is_pending());
        }
        assert!(cache.get(k).await.is_none());
        assert_eq!(cache.stats().entries, 0);
        assert_eq!(cache.stats().writes_in_flight, 0);
        // The orphaned write may still land over the next put in the only slot: its checksum
        // catches that (a miss, never those bytes), and once it has landed the slot serves.
        let k2 = key(1, 2);
        let want = chunk(k2, 0, 1000);
        for attempt in 0.. {
            cache.put(k2, &want).await;
            if let Some(got) = cache.get(k2).await {
                assert_eq!(&got[..], &want[..]);
                break;
            }
            assert!(cache.stats().checksum_failures > 0, "{:?}", cache.stats());
            assert!(attempt < 200, "the slot never served again");
            glommio::timer::sleep(Duration::from_millis(50)).await;
        }
    });
}

#[test]
fn reopen_discards_old_content() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let k = key(3, 3);
        {
            let cache = ChunkCache::open(dir.path(), 1, 8 * SLOT_SIZE)
                .await
                .unwrap();
            cache.put(k, &chunk(k, 0, 4096)).await;
            assert!(cache.get(k).await.is_some());
        }
        let cache = ChunkCache::open(dir.path(), 1, 2 * SLOT_SIZE)
            .await
            .unwrap();
        assert!(cache.get(k).await.is_none());
        // Re-sized to the new budget, old bytes gone.
        let path = cache_file_path(dir.path(), 1);
        assert_eq!(file_len(&path), 2 * SLOT_SIZE);
        let raw = std::fs::read(&path).unwrap();
        let old = chunk(k, 0, 4096);
        assert!(!raw.windows(64).any(|w| w == &old[..64]));
        cache.put(k, &chunk(k, 1, 10)).await;
        assert_eq!(&cache.get(k).await.unwrap()[..], &chunk(k, 1, 10)[..]);
    });
}

#[test]
fn second_open_of_same_file_is_refused() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let first = ChunkCache::open(dir.path(), 0, 2 * SLOT_SIZE)
            .await
            .unwrap();
        first.put(key(1, 0), b"keep me").await;
        match ChunkCache::open(dir.path(), 0, 2 * SLOT_SIZE).await {
            Err(CacheError::Locked { .. }) => {}
            other => panic!("expected Locked, got {other:?}"),
        }
        // The first cache was not clobbered, and another core's file is fine.
        assert_eq!(&first.get(key(1, 0)).await.unwrap()[..], b"keep me");
        let other = ChunkCache::open(dir.path(), 1, 2 * SLOT_SIZE)
            .await
            .unwrap();
        other.put(key(1, 0), b"x").await;
        assert!(other.get(key(1, 0)).await.is_some());
    });
}

/// Sequential random operations against a model: a get returns the latest
/// put of its key or None, never anything else.
#[test]
fn random_ops_never_serve_stale_data() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, 6 * SLOT_SIZE)
            .await
            .unwrap();
        let mut model: std::collections::HashMap<CacheKey, Vec<u8>> = Default::default();
        let mut rng = XorShift(0x1234_5678);
        for version in 0..600u64 {
            let r = rng.next();
            let k = key(r % 3, (r >> 8) % 5);
            match (r >> 16) % 10 {
                0..=3 => {
                    let len = [0, 1, 4096, 30_000, 65536][((r >> 24) % 5) as usize];
                    let data = chunk(k, version, len);
                    cache.put(k, &data).await;
                    model.insert(k, data);
                }
                4 => {
                    cache.invalidate(k);
                    model.remove(&k);
                }
                5 => {
                    cache.invalidate_inode(k.ino);
                    model.retain(|m, _| m.ino != k.ino);
                }
                _ => {
                    if let Some(got) = cache.get(k).await {
                        assert_eq!(Some(&got[..]), model.get(&k).map(|v| &v[..]), "{k:?}");
                    }
                }
            }
            assert!(cache.stats().entries <= 6);
        }
        let s = cache.stats();
        assert!(s.hits > 0 && s.evictions > 0, "{s:?}");
        assert_eq!((s.checksum_failures, s.io_errors), (0, 0));
    });
}

/// `get_range` gives exactly the model's bytes for every range between
/// interesting points (page and alignment edges, around the chunk's end,
/// beyond it), for chunks of many lengths, including a short last page.
#[test]
fn get_range_matches_the_chunk_everywhere() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, 16 * SLOT_SIZE)
            .await
            .unwrap();
        let lens = [0usize, 1, 511, 4095, 4096, 4097, 10_000, 65_535, 65_536];
        for (i, &len) in lens.iter().enumerate() {
            let k = key(11, i as u64);
            cache.put(k, &chunk(k, 0, len)).await;
        }
        let mut hits = 0;
        for (i, &len) in lens.iter().enumerate() {
            let k = key(11, i as u64);
            let data = chunk(k, 0, len);
            let mut points = vec![0, 1, 511, 512, 513, 4095, 4096, 4097, 8191, 8192, 12_288];
            points.extend([32_768 + 7, 61_440, 65_535, 65_536]);
            points.extend([len.saturating_sub(1), len, len + 1, len + 4096]);
            for &start in &points {
                for &end in &points {
                    if start > end {
                        continue;
                    }
                    let got = cache
                        .get_range(k, start, end)
                        .await
                        .unwrap_or_else(|| panic!("len {len}: [{start}, {end}) missed"));
                    hits += 1;
                    // `end` is clamped to the chunk; past it there is nothing.
                    let want = &data[start.min(len)..end.min(len)];
                    assert!(got[..] == *want, "len {len}: [{start}, {end})");
                }
            }
        }
        let s = cache.stats();
        assert_eq!((s.hits, s.misses), (hits, 0));
        assert_eq!((s.checksum_failures, s.io_errors), (0, 0));
    });
}

#[test]
fn get_range_page_boundaries_and_short_last_page() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, 4 * SLOT_SIZE)
            .await
            .unwrap();
        let (full, short) = (key(12, 0), key(12, 1));
        let (f, s) = (chunk(full, 0, 65_536), chunk(short, 0, 10_000));
        cache.put(full, &f).await;
        cache.put(short, &s).await;
        let get = |k, a, b| cache.get_range(k, a, b);
        // Exactly one page, each of the 16.
        for p in 0..16 {
            let (a, b) = (p * 4096, (p + 1) * 4096);
            assert_eq!(&get(full, a, b).await.unwrap()[..], &f[a..b], "page {p}");
        }
        // Crossing one page boundary, several, unaligned at both ends.
        assert_eq!(&get(full, 4000, 4200).await.unwrap()[..], &f[4000..4200]);
        assert_eq!(&get(full, 4095, 4097).await.unwrap()[..], &f[4095..4097]);
        assert_eq!(&get(full, 777, 50_001).await.unwrap()[..], &f[777..50_001]);
        assert_eq!(&get(full, 1, 65_535).await.unwrap()[..], &f[1..65_535]);
        // The short last page (8192..10000) alone, from inside it, and with its neighbour.
        assert_eq!(&get(short, 8192, 10_000).await.unwrap()[..], &s[8192..]);
        assert_eq!(&get(short, 9999, 10_000).await.unwrap()[..], &s[9999..]);
        assert_eq!(&get(short, 5000, 9000).await.unwrap()[..], &s[5000..9000]);
        // Past the end: clamped, or empty (the caller reads zeros there).
        assert_eq!(&get(short, 9000, 12_000).await.unwrap()[..], &s[9000..]);
        assert_eq!(&get(short, 9000, 65_536).await.unwrap()[..], &s[9000..]);
        assert!(get(short, 10_000, 12_000).await.unwrap().is_empty());
        assert!(get(short, 20_000, 30_000).await.unwrap().is_empty());
        assert!(get(short, 65_536, 65_536).await.unwrap().is_empty());
        // A whole-chunk get is the same as the whole range.
        assert_eq!(&cache.get(short).await.unwrap()[..], &s[..]);
        assert_eq!(&get(short, 0, usize::MAX).await.unwrap()[..], &s[..]);
        // Absent keys miss, whatever the range.
        assert!(get(key(12, 2), 0, 4096).await.is_none());
        assert!(get(key(12, 2), 5000, 5000).await.is_none());
        let st = cache.stats();
        assert_eq!(st.misses, 2);
        assert_eq!((st.checksum_failures, st.io_errors), (0, 0));
    });
}

/// Overwrites `len` bytes at `at` in every slot of the file with garbage.
fn scribble_every_slot(path: &Path, at: u64, len: usize) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let slots = f.metadata().unwrap().len() / SLOT_SIZE;
    for s in 0..slots {
        let mut b = vec![0u8; len];
        f.read_exact_at(&mut b, s * SLOT_SIZE + at).unwrap();
        b.iter_mut().for_each(|x| *x = !*x);
        f.write_all_at(&b, s * SLOT_SIZE + at).unwrap();
    }
    f.sync_all().unwrap();
}

/// A corrupt page is only noticed by reads that cover it: reads of other
/// pages still hit (they verified what they serve), the first read covering
/// it misses, counts a checksum failure and drops the slot.
#[test]
fn corrupt_page_fails_only_the_ranges_that_cover_it() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, 4 * SLOT_SIZE)
            .await
            .unwrap();
        let path = cache_file_path(dir.path(), 0);
        let k = key(13, 0);
        let data = chunk(k, 0, 65_536);
        cache.put(k, &data).await;
        // Page 5 is bytes 20480..24576: garbage in its middle.
        scribble_every_slot(&path, 5 * 4096 + 1000, 300);
        let ok_ranges = [
            (0, 4096),
            (0, 20_480),      // ends right where page 5 starts
            (24_576, 24_577), // starts right where it ends
            (20_479, 20_480),
            (30_000, 65_536),
            (100, 200),
        ];
        for (a, b) in ok_ranges {
            let got = cache.get_range(k, a, b).await;
            assert_eq!(got.as_deref(), Some(&data[a..b]), "[{a}, {b})");
        }
        assert_eq!(cache.stats().checksum_failures, 0);
        // One byte of page 5 that the garbage did not touch: the page is
        // still verified whole.
        assert!(cache.get_range(k, 20_480, 20_481).await.is_none());
        let s = cache.stats();
        assert_eq!((s.checksum_failures, s.entries, s.bytes), (1, 0, 0));
        // The slot is gone: every range is now a plain miss.
        assert!(cache.get_range(k, 0, 4096).await.is_none());
        assert!(cache.get(k).await.is_none());
        assert_eq!(cache.stats().checksum_failures, 1);

        // Each way of covering the page fails, on a fresh copy each time (the
        // put rewrites the slot, so the garbage goes in again after it).
        for (a, b) in [
            (20_000, 21_000),
            (24_575, 24_576),
            (0, 65_536),
            (21_000, 21_100),
        ] {
            cache.put(k, &data).await;
            scribble_every_slot(&path, 5 * 4096 + 1000, 300);
            let before = cache.stats().checksum_failures;
            assert!(cache.get_range(k, a, b).await.is_none(), "[{a}, {b})");
            assert_eq!(cache.stats().checksum_failures, before + 1);
        }
        // A chunk that ends before the garbage does not care about it.
        let short = chunk(k, 1, 20_000);
        cache.put(k, &short).await;
        scribble_every_slot(&path, 5 * 4096 + 1000, 300);
        assert_eq!(
            &cache.get_range(k, 16_000, 30_000).await.unwrap()[..],
            &short[16_000..]
        );
        assert_eq!(cache.stats().io_errors, 0);
    });
}

/// A get_range whose read is in flight when its chunk is invalidated,
/// replaced or evicted misses, and leaves the new owner of the slot alone.
#[test]
fn get_range_racing_a_change_misses() {
    run_in_glommio(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0, 2 * SLOT_SIZE)
            .await
            .unwrap();
        let k = key(14, 0);
        let v1 = chunk(k, 1, 65_536);
        cache.put(k, &v1).await;
        // `join` polls the get first: it looks the slot up and submits its
        // read, then the invalidate runs while the read is in flight.
        let (during, ()) = futures::join!(cache.get_range(k, 5000, 9000), async {
            cache.invalidate(k)
        });
        assert!(during.is_none(), "a read racing an invalidate must miss");
        assert!(cache.get_range(k, 5000, 9000).await.is_none());

        // Same with invalidate_inode.
        cache.put(k, &v1).await;
        let (during, ()) = futures::join!(cache.get_range(k, 0, 100), async {
            cache.invalidate_inode(14)
        });
        assert!(during.is_none());

        // A newer version put during the read: the old bytes are not served as
        // current, and the new version is intact afterwards.
        cache.put(k, &v1).await;
        let v2 = chunk(k, 2, 65_536);
        let (during, ()) = futures::join!(cache.get_range(k, 4096, 8192), cache.put(k, &v2));
        assert!(during.is_none());
        assert_eq!(
            &cache.get_range(k, 4096, 8192).await.unwrap()[..],
            &v2[4096..8192]
        );

        let s = cache.stats();
        assert_eq!((s.checksum_failures, s.io_errors), (0, 0));

        // The slot read is evicted and rewritten by another key during the
        // read: with one slot, the put must take it at once.
        let one = ChunkCache::open(dir.path(), 1, SLOT_SIZE).await.unwrap();
        let other = key(15, 0);
        let o = chunk(other, 0, 65_536);
        one.put(k, &v1).await;
        let (during, ()) = futures::join!(one.get_range(k, 100, 200), one.put(other, &o));
        assert!(during.is_none());
        assert_eq!(one.stats().evictions, 1);
        assert_eq!(&one.get(other).await.unwrap()[..], &o[..]);
        let cache = one;
        let s = cache.stats();
        // Races are misses, not failures.
        assert_eq!((s.checksum_failures, s.io_errors), (0, 0));
    });
}
