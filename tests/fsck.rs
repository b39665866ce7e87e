//! `Fs::fsck` finds each kind of damage, and `Fs::repair` fixes what can be fixed safely
//! without losing anything reachable (orphans go to /lost+found).

mod common;

use bytes::Bytes;
use common::fs::{assert_clean, mkdir, mkfile, root};
use slatenfs::fs::inode::{CookieValue, DirentValue, Inode};
use slatenfs::fs::*;
use slatenfs::store::keys::{ChunkKey, DirCookieKey, DirEntryKey, InodeKey, ReclaimKey};
use slatenfs::store::{Durability, Store, StoreBatch};

async fn write_file(fs: &Fs, ino: InodeId, data: &[u8]) {
    fs.write(
        &root(),
        ino,
        0,
        Bytes::copy_from_slice(data),
        StableHow::FileSync,
    )
    .await
    .unwrap();
}

async fn inode(store: &Store, ino: InodeId) -> Inode {
    Inode::decode(
        ino.0,
        &store.get(InodeKey(ino.0).encode()).await.unwrap().unwrap(),
    )
    .unwrap()
}

/// Writes `batch` behind the filesystem's back (as a bug or a bad disk would).
async fn damage(store: &Store, batch: StoreBatch) {
    store.write(batch, Durability::Durable).await.unwrap();
}

fn kinds(report: &FsckReport) -> Vec<String> {
    let mut k: Vec<String> = report
        .errors
        .iter()
        .map(|p| format!("{p:?}").split(' ').next().unwrap_or("").to_string())
        .collect();
    k.sort();
    k
}

#[tokio::test]
async fn fsck_finds_each_kind_of_damage_and_repair_fixes_it() {
    let store = Store::open_in_memory().await.unwrap();
    let fs = Fs::open(store.clone(), FsOptions::default()).await.unwrap();
    let d = mkdir(&fs, fs.root(), "d").await;
    let kept = mkfile(&fs, d, "kept").await;
    write_file(&fs, kept, b"kept data").await;
    let orphan = mkfile(&fs, d, "orphan").await;
    write_file(&fs, orphan, b"orphan data").await;
    let sub = mkdir(&fs, d, "sub").await;
    let removed = mkfile(&fs, d, "removed").await;
    write_file(&fs, removed, &vec![1u8; 3 * 65536]).await;
    assert_clean(&fs).await;
    let chunk = store
        .get(ChunkKey(kept.0, 0).encode(fs.chunk_key_layout()))
        .await
        .unwrap()
        .unwrap();
    let d_node = inode(&store, d).await;

    let mut b = StoreBatch::new();
    // An orphan file: its entry and cookie record gone.
    let orphan_entry = DirentValue::decode(
        &store
            .get(DirEntryKey(d.0, Bytes::from_static(b"orphan")).encode())
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    b.delete(DirEntryKey(d.0, Bytes::from_static(b"orphan")).encode());
    b.delete(DirCookieKey(d.0, orphan_entry.cookie).encode());
    // An orphan directory: the same, plus its parent's link count now one too high.
    let sub_entry = DirentValue::decode(
        &store
            .get(DirEntryKey(d.0, Bytes::from_static(b"sub")).encode())
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    b.delete(DirEntryKey(d.0, Bytes::from_static(b"sub")).encode());
    b.delete(DirCookieKey(d.0, sub_entry.cookie).encode());
    // An entry naming no inode, with its cookie record, and a cookie beyond the counter.
    let ghost = DirentValue {
        ino: InodeId(987_654),
        ftype: FileType::Regular,
        cookie: d_node.next_cookie + 10,
    };
    b.put(
        DirEntryKey(d.0, Bytes::from_static(b"ghost")).encode(),
        ghost.encode(),
    );
    b.put(
        DirCookieKey(d.0, ghost.cookie).encode(),
        CookieValue {
            ino: ghost.ino,
            ftype: ghost.ftype,
            name: Bytes::from_static(b"ghost"),
        }
        .encode(),
    );
    // A stray cookie record.
    b.put(
        DirCookieKey(fs.root().0, 5000).encode(),
        CookieValue {
            ino: kept,
            ftype: FileType::Regular,
            name: Bytes::from_static(b"nobody"),
        }
        .encode(),
    );
    // A wrong link count.
    let mut k = inode(&store, kept).await;
    k.nlink = 5;
    b.put(InodeKey(kept.0).encode(), k.encode());
    // A chunk of no file, and one past the end of a file.
    b.put(
        ChunkKey(555_555, 0).encode(fs.chunk_key_layout()),
        chunk.clone(),
    );
    b.put(
        ChunkKey(kept.0, 7).encode(fs.chunk_key_layout()),
        chunk.clone(),
    );
    // A removed file whose chunks were left to reclaim (a crash between the removal and the
    // reclaim): pending work, not damage.
    b.delete(DirEntryKey(d.0, Bytes::from_static(b"removed")).encode());
    let removed_entry = DirentValue::decode(
        &store
            .get(DirEntryKey(d.0, Bytes::from_static(b"removed")).encode())
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    b.delete(DirCookieKey(d.0, removed_entry.cookie).encode());
    b.delete(InodeKey(removed.0).encode());
    b.put(
        ReclaimKey(removed.0).encode(),
        Bytes::copy_from_slice(&0u64.to_be_bytes()),
    );
    damage(&store, b).await;
    drop(fs);

    // A fresh view of the damaged store (no caches that knew better).
    let fs = Fs::open(store.clone(), FsOptions::default()).await.unwrap();
    let before = fs.fsck().await.unwrap();
    assert_eq!(
        kinds(&before),
        vec![
            "chunk", "entry", "entry", "inode", "inode", "inode", "orphan", "orphan", "orphan",
            "stray"
        ],
        "{:?}",
        before.errors
    );
    let text = format!("{:?}", before.errors);
    for want in [
        "orphan inode",
        "orphan chunk 555555/0",
        &format!("chunk {}/7 beyond size", kept.0),
        "-> missing inode 987654",
        "beyond the directory's counter",
        "stray cookie record",
        &format!("inode {}: nlink 5 != 1", kept.0),
        &format!("inode {}: nlink", d.0),
    ] {
        assert!(text.contains(want), "{want:?} not in {text}");
    }
    assert_eq!(
        before.pending_reclaim, 0,
        "Fs::open ran the leftover reclaim"
    );

    let repaired = fs.repair().await.unwrap();
    assert!(repaired.after.is_clean(), "{:?}", repaired.after.errors);
    assert!(!repaired.done.is_empty());
    assert_clean(&fs).await;
    // Nothing reachable was lost; the orphans are in /lost+found.
    let lf = fs
        .lookup(&root(), fs.root(), b"lost+found")
        .await
        .unwrap()
        .ino;
    let found = fs
        .lookup(&root(), lf, format!("#{}", orphan.0).as_bytes())
        .await
        .unwrap()
        .ino;
    assert_eq!(found, orphan);
    assert_eq!(
        &fs.read(&root(), orphan, 0, 100).await.unwrap().data[..],
        b"orphan data"
    );
    assert_eq!(
        fs.lookup(&root(), lf, format!("#{}", sub.0).as_bytes())
            .await
            .unwrap()
            .ino,
        sub
    );
    assert_eq!(
        &fs.read(&root(), kept, 0, 100).await.unwrap().data[..],
        b"kept data"
    );
    assert!(matches!(
        fs.lookup(&root(), d, b"ghost").await,
        Err(FsError::NoEnt)
    ));
    assert!(store
        .scan(ChunkKey::file_range(removed.0), 10)
        .await
        .unwrap()
        .is_empty());
    // A second repair has nothing to do.
    assert!(fs.repair().await.unwrap().done.is_empty());
}

/// fsck on a read-only view changes nothing, even with damage; repair there is refused.
#[tokio::test]
async fn fsck_on_a_read_only_view_writes_nothing() {
    use slatenfs::store::{ReadOnlyView, StorageUrl, StoreConfig};
    let dir = tempfile::tempdir().unwrap();
    let url = StorageUrl::File(dir.path().to_path_buf());
    let store = Store::open(StoreConfig::new(url.clone())).await.unwrap();
    let fs = Fs::open(store.clone(), FsOptions::default()).await.unwrap();
    mkfile(&fs, fs.root(), "f").await;
    let mut b = StoreBatch::new();
    b.put(
        ChunkKey(424_242, 0).encode(fs.chunk_key_layout()),
        Bytes::from_static(b"\0x"),
    );
    damage(&store, b).await;
    fs.close().await.unwrap();

    let ro = Store::open_read_only(StoreConfig::new(url), ReadOnlyView::Latest)
        .await
        .unwrap();
    let fs = Fs::open(ro, FsOptions::default()).await.unwrap();
    let rep = fs.fsck().await.unwrap();
    assert_eq!(rep.errors.len(), 1, "{:?}", rep.errors);
    assert_eq!(fs.store().io_stats().puts, 0);
    assert!(matches!(fs.repair().await, Err(FsError::RoFs)));
    assert_eq!(fs.store().io_stats().puts, 0);
}
