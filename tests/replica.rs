//! Read-only replicas (`slatenfs serve --read-only`): a writer and a replica on one object
//! store, each with its own SlateDB handle (a `Db` and a following `DbReader`), as two servers
//! on two machines would have. What the writer commits appears on the replica within the poll
//! interval, byte for byte and with the same attributes and file handles; later changes (an
//! overwrite, a remove, a rename) appear too, so the replica's caches do not go stale; every
//! change on the replica fails with ROFS; the writer is never fenced.
//!
//! The replica's filesystem is opened with the options `serve --read-only` uses
//! ([`replica_fs_options`]) and READs go through a data path with a real chunk cache, as on
//! the server.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::fs::{assert_namespace_changes_refused, mkdir, mkfile, root};
use common::{run_in_glommio, XorShift};
use object_store::memory::InMemory;
use object_store::ObjectStore;
use slatenfs::app::replica::{check_handles_are_the_writers, replica_fs_options};
use slatenfs::datapath::{DataPath, DataPathConfig};
use slatenfs::exports::ExportId;
use slatenfs::fs::*;
use slatenfs::nfs::handle::HandleCodec;
use slatenfs::snapshot::LIVE_VIEW;
use slatenfs::store::{ReadOnlyView, StorageUrl, Store, StoreConfig};

/// Longest a committed change may take to appear on the replica before the test fails: far
/// above the 1 s poll, for a loaded machine.
const VISIBLE_WITHIN: Duration = Duration::from_secs(30);

async fn open_writer(os: &Arc<dyn ObjectStore>) -> Fs {
    let store = Store::open_with_object_store(os.clone(), StoreConfig::new(StorageUrl::Memory))
        .await
        .unwrap();
    Fs::open(store, FsOptions::default()).await.unwrap()
}

/// The replica's store: the default configuration, so the default poll interval is the one
/// whose lag is measured.
async fn open_replica_store(
    os: &Arc<dyn ObjectStore>,
) -> Result<Store, slatenfs::store::StoreError> {
    Store::open_read_only_with_object_store(
        os.clone(),
        StoreConfig::new(StorageUrl::Memory),
        ReadOnlyView::Latest,
    )
    .await
}

/// Polls `probe` until it answers `Some`; fails the test after [`VISIBLE_WITHIN`]. Returns
/// the answer and how long it took to come.
async fn on_replica<T, F, Fut>(what: &str, mut probe: F) -> (T, Duration)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            let lag = start.elapsed();
            eprintln!("replica: {what} after {lag:?}");
            return (v, lag);
        }
        assert!(
            start.elapsed() < VISIBLE_WITHIN,
            "{what}: not on the replica within {VISIBLE_WITHIN:?}"
        );
        glommio::timer::sleep(Duration::from_millis(10)).await;
    }
}

fn random_bytes(seed: u64, len: usize) -> Bytes {
    let mut rng = XorShift(seed);
    Bytes::from((0..len).map(|_| rng.next() as u8).collect::<Vec<u8>>())
}

async fn read_all(path: &DataPath, ino: InodeId, len: usize) -> FsResult<Bytes> {
    Ok(path.read(&root(), ino, 0, len as u32 + 1).await?.data)
}

async fn names(fs: &Fs, dir: InodeId) -> Vec<Bytes> {
    let mut names: Vec<Bytes> = fs
        .readdir(&root(), dir, 0, [0; 8], 1000, true)
        .await
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.name)
        .filter(|n| n.as_ref() != b"." && n.as_ref() != b"..")
        .collect();
    names.sort();
    names
}

#[test]
fn replica_follows_the_writer_with_its_handles_and_refuses_changes() {
    run_in_glommio(|| async {
        let os: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let writer = open_writer(&os).await;
        let replica = Fs::open(
            open_replica_store(&os).await.unwrap(),
            replica_fs_options(FsOptions::default()),
        )
        .await
        .unwrap();
        assert!(replica.is_read_only());
        let cache_dir = tempfile::tempdir().unwrap();
        let data_path = DataPath::open(
            replica.clone(),
            0,
            &DataPathConfig {
                cache_dir: Some(cache_dir.path().to_path_buf()),
                cache_bytes_per_core: 64 << 20,
            },
        )
        .await;
        assert!(
            data_path.chunk_cache().is_some(),
            "READs go through a chunk cache"
        );

        // Same handles: the same fsid and secret, so a handle issued by the writer is one the
        // replica accepts, naming the same object.
        assert_eq!(replica.fsid(), writer.fsid());
        assert_eq!(replica.handle_secret(), writer.handle_secret());

        // Written UNSTABLE and committed on the writer.
        let d = mkdir(&writer, writer.root(), "d").await;
        let f = mkfile(&writer, d, "f").await;
        let first = random_bytes(1, 300_000);
        writer
            .write(&root(), f, 0, first.clone(), StableHow::Unstable)
            .await
            .unwrap();
        writer.commit(&root(), f, 0, 0).await.unwrap();
        let (attr, lag) = on_replica("a committed file", || async {
            let dir = replica.lookup(&root(), replica.root(), b"d").await.ok()?;
            let found = replica.lookup(&root(), dir.ino, b"f").await.ok()?;
            (found.attr.size == first.len() as u64).then_some(found.attr)
        })
        .await;
        assert!(lag < VISIBLE_WITHIN);
        assert_eq!(attr, writer.getattr(f).await.unwrap(), "same attributes");
        assert_eq!(read_all(&data_path, f, first.len()).await.unwrap(), first);
        // Read twice: the second READ is served from the chunk cache.
        assert_eq!(read_all(&data_path, f, first.len()).await.unwrap(), first);

        let export = ExportId::of_path("/");
        let generation = writer.lookup(&root(), d, b"f").await.unwrap().generation;
        let object = ObjectId { ino: f, generation };
        let issued = HandleCodec::new(writer.fsid(), writer.handle_secret())
            .encode(LIVE_VIEW, object, export);
        let on_replica_codec = HandleCodec::new(replica.fsid(), replica.handle_secret());
        assert_eq!(on_replica_codec.encode(LIVE_VIEW, object, export), issued);
        let decoded = on_replica_codec.decode(issued.as_bytes()).unwrap();
        assert_eq!(replica.resolve(decoded.object).await.unwrap(), f);

        // An overwrite of the same length (only the ctime and the bytes change) replaces what
        // the replica's chunk cache holds.
        let second = random_bytes(2, first.len());
        writer
            .write(&root(), f, 0, second.clone(), StableHow::FileSync)
            .await
            .unwrap();
        on_replica("an overwrite", || async {
            let now = read_all(&data_path, f, second.len()).await.ok()?;
            (now == second).then_some(())
        })
        .await;
        assert_eq!(
            replica.getattr(f).await.unwrap(),
            writer.getattr(f).await.unwrap()
        );

        // Removes and renames replace what the replica listed and looked up before.
        let g = mkfile(&writer, d, "g").await;
        on_replica("a new file", || async {
            replica.lookup(&root(), d, b"g").await.ok().map(|_| ())
        })
        .await;
        assert_eq!(names(&replica, d).await, names(&writer, d).await);
        writer.remove(&root(), d, b"g").await.unwrap();
        writer.rename(&root(), d, b"f", d, b"h").await.unwrap();
        on_replica("a remove and a rename", || async {
            let gone = matches!(replica.lookup(&root(), d, b"g").await, Err(FsError::NoEnt))
                && matches!(replica.lookup(&root(), d, b"f").await, Err(FsError::NoEnt));
            let moved = replica.lookup(&root(), d, b"h").await.ok()?;
            (gone && moved.ino == f).then_some(())
        })
        .await;
        assert_eq!(names(&replica, d).await, vec![Bytes::from_static(b"h")]);
        assert!(matches!(replica.getattr(g).await, Err(FsError::Stale)));

        // Every change on the replica: ROFS, through the data path too.
        let cred = root();
        assert_namespace_changes_refused(&replica, d, b"h").await;
        assert!(matches!(
            data_path
                .write(&cred, f, 0, Bytes::from_static(b"q"), StableHow::FileSync)
                .await,
            Err(FsError::RoFs)
        ));
        let truncate = SetAttr {
            size: Some(0),
            ..SetAttr::default()
        };
        assert!(matches!(
            data_path.setattr(&cred, f, &truncate, None).await,
            Err(FsError::RoFs)
        ));
        assert!(matches!(
            replica.commit(&cred, f, 0, 0).await,
            Err(FsError::RoFs)
        ));
        assert_eq!(
            read_all(&data_path, f, second.len()).await.unwrap(),
            second,
            "a refused write changed nothing"
        );

        // The writer was never fenced: it writes on, while the replica is open and after it
        // has closed.
        let late = mkfile(&writer, d, "late").await;
        writer
            .write(
                &root(),
                late,
                0,
                Bytes::from_static(b"late"),
                StableHow::FileSync,
            )
            .await
            .unwrap();
        on_replica("a file written after all that", || async {
            replica.lookup(&root(), d, b"late").await.ok().map(|_| ())
        })
        .await;
        drop(data_path);
        replica.close().await.unwrap();
        assert!(writer.store().lost().is_none(), "the writer is not fenced");
        writer
            .mkdir(&root(), d, b"after-replica", &SetAttr::default())
            .await
            .unwrap();
        writer.close().await.unwrap();
    });
}

/// A replica serves a filesystem: on storage that holds no database, or a database but no
/// filesystem yet, it does not open (and formats nothing).
#[test]
fn a_replica_needs_a_filesystem_to_follow() {
    run_in_glommio(|| async {
        let os: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let e = open_replica_store(&os).await.unwrap_err();
        eprintln!("replica of empty storage: {e}");

        // A database the writer opened but no filesystem in it.
        let bare = Store::open_with_object_store(os.clone(), StoreConfig::new(StorageUrl::Memory))
            .await
            .unwrap();
        bare.flush().await.unwrap();
        let store = open_replica_store(&os).await.unwrap();
        let e = Fs::open(store, replica_fs_options(FsOptions::default()))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("no slatenfs filesystem"), "{e}");
        bare.close().await.unwrap();
    });
}

/// A superblock of format 2 (no handle secret; a writer of an older version serves it) would
/// give the replica handles of its own: the replica refuses it.
#[test]
fn a_replica_refuses_a_filesystem_without_a_handle_secret() {
    use slatenfs::fs::inode::Superblock;
    use slatenfs::store::keys::SuperblockKey;
    use slatenfs::store::{Durability, StoreBatch};
    run_in_glommio(|| async {
        let os: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let writer = open_writer(&os).await;
        let current = open_replica_store(&os).await.unwrap();
        check_handles_are_the_writers(&current, &StorageUrl::Memory).unwrap();
        current.close().await.unwrap();

        let store = writer.store();
        let sb =
            Superblock::decode(&store.get(SuperblockKey.encode()).await.unwrap().unwrap()).unwrap();
        let old = Superblock {
            format: 2,
            handle_secret: None,
            ..sb
        };
        let mut b = StoreBatch::new();
        b.put(SuperblockKey.encode(), old.encode());
        store.write(b, Durability::Durable).await.unwrap();
        let replica = open_replica_store(&os).await.unwrap();
        let e = check_handles_are_the_writers(&replica, &StorageUrl::Memory)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--read-only") && e.contains("format 2"), "{e}");
        replica.close().await.unwrap();
        writer.close().await.unwrap();
    });
}
