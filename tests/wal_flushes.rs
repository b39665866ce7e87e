//! When the WAL is flushed: when someone waits for durability, and otherwise once written data
//! has been in memory only for the flush interval; never with nothing new to write. On object
//! storage each flush is a PUT and a round trip, so a serial client's every extra flush is time
//! it waits.

use std::time::{Duration, Instant};

use bytes::Bytes;
use slatenfs::store::{Durability, StorageUrl, Store, StoreBatch, StoreConfig};

fn one_put(i: u64) -> StoreBatch {
    let mut b = StoreBatch::new();
    b.put(Bytes::from(format!("x{i}")), Bytes::from_static(b"value"));
    b
}

async fn open(dir: &std::path::Path, flush_interval: Duration) -> Store {
    let mut config = StoreConfig::new(StorageUrl::File(dir.to_path_buf()));
    config.flush_interval = flush_interval;
    Store::open(config).await.unwrap()
}

/// Each durable write of a serial writer costs its own WAL PUT and no more; asking again for
/// what is durable costs none.
#[tokio::test]
async fn a_serial_durable_writer_pays_one_wal_put_per_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Duration::from_millis(100)).await;
    let before = store.io_stats().wal_puts;
    for i in 0..20 {
        store.write(one_put(i), Durability::Durable).await.unwrap();
    }
    assert_eq!(store.io_stats().wal_puts - before, 20);
    for _ in 0..5 {
        store.flush().await.unwrap();
    }
    // Time for a timed flush, were one (wrongly) due.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.io_stats().wal_puts - before, 20);
    store.close().await.unwrap();
}

/// A write nobody waits for is made durable by the flusher within the flush interval, and the
/// flush counts: a later wait for it returns without another PUT.
#[tokio::test]
async fn a_write_nobody_waits_for_is_durable_within_the_flush_interval() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Duration::from_millis(100)).await;
    let before = store.io_stats().wal_puts;
    store.write(one_put(1), Durability::Memory).await.unwrap();
    let ticket = store.durability().applied_ticket();
    let start = Instant::now();
    while !store.durability().is_durable(ticket) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not durable after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(store.io_stats().wal_puts - before, 1);
    store.flush().await.unwrap();
    assert_eq!(store.io_stats().wal_puts - before, 1);
    store.close().await.unwrap();
}

/// Before the interval has passed, nothing is flushed that nobody asked for.
#[tokio::test]
async fn nothing_is_flushed_before_the_interval_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Duration::from_secs(60)).await;
    let before = store.io_stats().wal_puts;
    for i in 0..10 {
        store.write(one_put(i), Durability::Memory).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(store.io_stats().wal_puts, before);
    assert!(!store
        .durability()
        .is_durable(store.durability().applied_ticket()));
    store.flush().await.unwrap();
    assert_eq!(store.io_stats().wal_puts - before, 1);
    store.close().await.unwrap();
}
