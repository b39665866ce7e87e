//! The filesystem on real SlateDB over an object store that fails: outages, fencing.
//! (Crash points at every PUT boundary are in `tests/crash_points.rs`.)

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::fs::{assert_clean, mkdir, mkfile, root};
use object_store::memory::InMemory;
use object_store::ObjectStore;
use slatenfs::fs::*;
use slatenfs::store::fault::{FaultInjector, FaultSchedule};
use slatenfs::store::{StorageUrl, Store, StoreConfig, StoreError};

/// Store settings with short limits, so an outage shows within a second.
fn short_limits() -> StoreConfig {
    StoreConfig {
        wait_limit: Duration::from_secs(1),
        object_store_timeout: Duration::from_secs(1),
        ..StoreConfig::new(StorageUrl::Memory)
    }
}

async fn open_fs(os: Arc<dyn ObjectStore>, config: StoreConfig) -> Fs {
    let store = Store::open_with_object_store(os, config).await.unwrap();
    Fs::open(store, FsOptions::default()).await.unwrap()
}

/// Polls `ready` every 50 ms for up to a minute (the store recovers on its own, on SlateDB's
/// retry schedule); fails the test if it never holds.
async fn eventually(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what}: not within a minute"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A durable change during an outage: the caller gets NotYetDurable (JUKEBOX) after the wait
/// limit, never success; the change is visible; the verifier changes; further changes are
/// refused at once while the store stalls, and nothing of them happens. When the store
/// answers again everything goes on by itself, and after a crash the change that was applied
/// is there (it became durable once the store answered).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_change_during_an_outage_is_not_acknowledged_and_survives_once_the_store_answers()
{
    let memory: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let faults = FaultInjector::new(FaultSchedule::new(1));
    let fs = open_fs(faults.wrap(memory.clone()), short_limits()).await;
    let before = mkdir(&fs, fs.root(), "before").await;
    let verifier = fs.verifier();

    faults.set_outage(true);
    let r = fs
        .mkdir(&root(), fs.root(), b"during", &SetAttr::default())
        .await;
    let Err(e) = r else {
        panic!("a change the store cannot confirm was acknowledged")
    };
    assert!(e.not_yet_durable().is_some(), "{e:?}");
    assert_ne!(
        fs.verifier(),
        verifier,
        "clients must resend what they did not commit"
    );
    let during = fs.lookup(&root(), fs.root(), b"during").await.unwrap().ino;
    // Stalled: the next change is refused before it starts.
    let refused = fs
        .create(
            &root(),
            before,
            b"refused",
            &CreateHow::Unchecked(SetAttr::default()),
        )
        .await
        .unwrap_err();
    assert!(
        refused.is_retry_later() && refused.not_yet_durable().is_none(),
        "{refused:?}"
    );
    assert!(matches!(
        fs.lookup(&root(), before, b"refused").await,
        Err(FsError::NoEnt)
    ));

    faults.set_outage(false);
    eventually("the store accepts changes again", || {
        fs.store().check_available().is_ok()
    })
    .await;
    let after = mkfile(&fs, before, "after").await;
    fs.write(
        &root(),
        after,
        0,
        Bytes::from_static(b"after the outage"),
        StableHow::FileSync,
    )
    .await
    .unwrap();
    assert_clean(&fs).await;
    assert!(faults.stats().errors > 0);
    drop(fs); // a crash: no close

    let fs = open_fs(memory, short_limits()).await;
    assert_eq!(
        fs.lookup(&root(), fs.root(), b"during").await.unwrap().ino,
        during
    );
    assert_eq!(
        &fs.read(&root(), after, 0, 100).await.unwrap().data[..],
        b"after the outage"
    );
    assert_clean(&fs).await;
}

/// A read that needs the object store during an outage fails with Unavailable (JUKEBOX) after
/// the wait limit instead of hanging, and succeeds once the store answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_that_needs_the_store_gives_up_during_an_outage() {
    let memory: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let file = {
        let fs = open_fs(memory.clone(), short_limits()).await;
        let f = mkfile(&fs, fs.root(), "f").await;
        let data = Bytes::from(vec![5u8; 100_000]);
        fs.write(&root(), f, 0, data, StableHow::FileSync)
            .await
            .unwrap();
        // Into a table in the object store, so a fresh store must GET it.
        let db = fs.store().db().unwrap();
        fs.store()
            .run(async move {
                db.flush_with_options(slatedb::config::FlushOptions {
                    flush_type: slatedb::config::FlushType::MemTable,
                })
                .await
                .map_err(StoreError::from)
            })
            .await
            .unwrap();
        fs.close().await.unwrap();
        f
    };
    let faults = FaultInjector::new(FaultSchedule::new(2));
    let fs = open_fs(faults.wrap(memory), short_limits()).await;
    faults.set_outage(true);
    let e = fs.read(&root(), file, 0, 100_000).await.unwrap_err();
    assert!(e.is_retry_later() && e.not_yet_durable().is_none(), "{e:?}");
    faults.set_outage(false);
    // As a client does with JUKEBOX: retry while SlateDB's own retry of the failed GET is
    // still waiting out its backoff (on a loaded machine that can outlast the wait limit).
    let start = Instant::now();
    let ok = loop {
        match fs.read(&root(), file, 0, 100_000).await {
            Ok(ok) => break ok,
            Err(e) if e.is_retry_later() && start.elapsed() < Duration::from_secs(60) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("the read after the outage: {e:?}"),
        }
    };
    assert_eq!(ok.data, Bytes::from(vec![5u8; 100_000]));
}

/// A writer fenced by a second writer on the same storage learns it from its manifest poll
/// (reads only: it PUTs nothing to find out), and then refuses every change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_writer_learns_it_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let url = StorageUrl::File(dir.path().to_path_buf());
    let first = Fs::open(
        Store::open(StoreConfig::new(url.clone())).await.unwrap(),
        FsOptions::default(),
    )
    .await
    .unwrap();
    mkdir(&first, first.root(), "d").await;
    let puts = first.store().io_stats().puts;
    assert!(first.store().lost().is_none());

    let second = Store::open(StoreConfig::new(url)).await.unwrap();
    eventually("the first writer learns it is fenced", || {
        first.store().is_lost()
    })
    .await;
    assert!(matches!(first.store().lost(), Some(StoreError::Fenced)));
    assert_eq!(
        first.store().io_stats().puts,
        puts,
        "the fenced writer wrote to find out"
    );
    let e = first
        .mkdir(&root(), first.root(), b"e", &SetAttr::default())
        .await
        .unwrap_err();
    assert!(matches!(e, FsError::Store(StoreError::Fenced)), "{e:?}");
    second.close().await.unwrap();
}
