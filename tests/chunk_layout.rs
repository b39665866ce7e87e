//! How chunk keys are spelt, and what a cold read of one chunk costs on the object store.
//!
//! A filesystem formatted now (format 4) ends its chunk keys with a 0 byte so that a read of
//! one chunk fetches that chunk's table block alone, in one GET; formats 2 and 3 keep the bare
//! keys they were written with (see `ChunkKeyLayout`).

mod common;

use bytes::Bytes;
use common::fs::{assert_clean, mkfile, root};
use slatenfs::fs::inode::Superblock;
use slatenfs::fs::*;
use slatenfs::store::keys::{ChunkKey, ChunkKeyLayout, SuperblockKey};
use slatenfs::store::{Durability, StorageUrl, Store, StoreBatch, StoreConfig};

const CHUNK: usize = 64 * 1024;

/// Chunk `i` of the test file: every chunk distinct, so a read of the wrong one shows.
fn chunk_data(i: usize) -> Vec<u8> {
    (0..CHUNK).map(|b| (b * 7 + i * 13) as u8).collect()
}

async fn open(dir: &std::path::Path) -> (Store, Fs) {
    let url = StorageUrl::File(dir.to_path_buf());
    let store = Store::open(StoreConfig::new(url)).await.unwrap();
    let fs = Fs::open(store.clone(), FsOptions::default()).await.unwrap();
    (store, fs)
}

/// Writes a file of `chunks` chunks into `fs` and returns it.
async fn write_chunks(fs: &Fs, chunks: usize) -> InodeId {
    let f = mkfile(fs, fs.root(), "f").await;
    for i in 0..chunks {
        fs.write(
            &root(),
            f,
            (i * CHUNK) as u64,
            Bytes::from(chunk_data(i)),
            StableHow::Unstable,
        )
        .await
        .unwrap();
    }
    fs.commit(&root(), f, 0, 0).await.unwrap();
    f
}

async fn read_chunk(fs: &Fs, f: InodeId, i: usize) {
    let got = fs
        .read(&root(), f, (i * CHUNK + 100) as u64, 4096)
        .await
        .unwrap();
    assert_eq!(&got.data[..], &chunk_data(i)[100..4196], "chunk {i}");
}

/// After a restart (nothing cached), once the table's index and filters are loaded, each read
/// of 4 KiB in a chunk not read before costs one GET of that chunk's block and nothing more.
#[tokio::test]
async fn a_cold_chunk_read_is_one_get_of_one_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = open(dir.path()).await;
    assert_eq!(fs.chunk_key_layout(), ChunkKeyLayout::Terminated);
    let f = write_chunks(&fs, 64).await;
    store.flush_memtable().await.unwrap();
    fs.close().await.unwrap();

    let (store, fs) = open(dir.path()).await;
    // Loads the inode, and the table's index and filters.
    read_chunk(&fs, f, 1).await;
    for i in [10, 33, 34, 63] {
        let before = store.io_stats();
        read_chunk(&fs, f, i).await;
        let after = store.io_stats();
        assert_eq!(after.gets - before.gets, 1, "GETs to read chunk {i}");
        let bytes = after.get_bytes - before.get_bytes;
        assert!(
            (CHUNK as u64..CHUNK as u64 + 1024).contains(&bytes),
            "chunk {i}: {bytes} bytes fetched for one chunk"
        );
    }
    // Several chunks in one READ: one GET for all of them.
    let before = store.io_stats();
    let got = fs
        .read(&root(), f, (40 * CHUNK) as u64, 4 * CHUNK as u32)
        .await
        .unwrap();
    assert_eq!(&got.data[..CHUNK], &chunk_data(40)[..]);
    assert_eq!(&got.data[3 * CHUNK..], &chunk_data(43)[..]);
    let after = store.io_stats();
    assert_eq!(after.gets - before.gets, 1);
    assert!(after.get_bytes - before.get_bytes < 4 * CHUNK as u64 + 4096);
    fs.close().await.unwrap();
}

/// A small table newer than the file's data costs a chunk read nothing. Here it holds another
/// file's inode, one chunk and the superblock (`I`, `K`, `S`): its key range spans every chunk
/// key of the first file, so only a bloom filter can rule it out: the whole-key filter for a
/// point get (SlateDB writes none for small tables unless told to), the file filter for a scan
/// of several chunks. Without them, each read also fetched the small table's block, which
/// holds a chunk and so is not kept in SlateDB's block cache.
#[tokio::test]
async fn a_small_newer_table_does_not_cost_chunk_reads_a_get() {
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = open(dir.path()).await;
    let f = write_chunks(&fs, 16).await;
    let g = mkfile(&fs, fs.root(), "g").await;
    store.flush_memtable().await.unwrap();
    // The small table: g's inode and one chunk of g, and the superblock.
    fs.write(
        &root(),
        g,
        0,
        Bytes::from(chunk_data(99)),
        StableHow::FileSync,
    )
    .await
    .unwrap();
    fs.persist_usage().await.unwrap();
    store.flush_memtable().await.unwrap();
    fs.close().await.unwrap();

    let (store, fs) = open(dir.path()).await;
    read_chunk(&fs, f, 1).await;
    for i in [3, 8, 15] {
        let before = store.io_stats();
        read_chunk(&fs, f, i).await;
        let after = store.io_stats();
        assert_eq!(after.gets - before.gets, 1, "GETs to read chunk {i}");
        assert!(
            after.get_bytes - before.get_bytes < CHUNK as u64 + 1024,
            "chunk {i}: {} bytes fetched",
            after.get_bytes - before.get_bytes
        );
    }
    // A READ of several chunks is a scan: the small table is skipped by its file filter.
    let before = store.io_stats();
    let got = fs
        .read(&root(), f, (4 * CHUNK) as u64, 4 * CHUNK as u32)
        .await
        .unwrap();
    assert_eq!(&got.data[..CHUNK], &chunk_data(4)[..]);
    assert_eq!(&got.data[3 * CHUNK..], &chunk_data(7)[..]);
    let after = store.io_stats();
    assert_eq!(after.gets - before.gets, 1, "GETs of a 4-chunk READ");
    assert!(after.get_bytes - before.get_bytes < 4 * CHUNK as u64 + 4096);
    fs.close().await.unwrap();
}

/// A filesystem formatted before format 4 keeps its bare chunk keys: files written before and
/// after the upgrade read back, and fsck finds every key where it belongs.
#[tokio::test]
async fn a_format_3_filesystem_keeps_bare_chunk_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = open(dir.path()).await;
    // Turn the fresh filesystem into one of format 3, as an older slatenfs formatted it.
    let sb =
        Superblock::decode(&store.get(SuperblockKey.encode()).await.unwrap().unwrap()).unwrap();
    let old = Superblock { format: 3, ..sb };
    let mut b = StoreBatch::new();
    b.put(SuperblockKey.encode(), old.encode());
    store.write(b, Durability::Durable).await.unwrap();
    fs.close().await.unwrap();

    let (store, fs) = open(dir.path()).await;
    assert_eq!(fs.chunk_key_layout(), ChunkKeyLayout::Bare);
    let f = write_chunks(&fs, 3).await;
    let keys: Vec<Bytes> = store
        .scan(ChunkKey::file_range(f.0), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        keys,
        (0..3)
            .map(|i| ChunkKey(f.0, i).encode(ChunkKeyLayout::Bare))
            .collect::<Vec<_>>()
    );
    for i in 0..3 {
        read_chunk(&fs, f, i).await;
    }
    assert_clean(&fs).await;
    // Usage persisted at close keeps the format (and with it the layout).
    fs.close().await.unwrap();
    let (store, fs) = open(dir.path()).await;
    let sb =
        Superblock::decode(&store.get(SuperblockKey.encode()).await.unwrap().unwrap()).unwrap();
    assert_eq!(sb.format, 3);
    assert_eq!(fs.chunk_key_layout(), ChunkKeyLayout::Bare);
    read_chunk(&fs, f, 2).await;
    fs.close().await.unwrap();
}

/// A chunk key spelt in the layout the filesystem does not use is never read: fsck names it.
#[tokio::test]
async fn fsck_reports_a_chunk_key_in_the_other_layout() {
    let store = Store::open_in_memory().await.unwrap();
    let fs = Fs::open(store.clone(), FsOptions::default()).await.unwrap();
    let f = write_chunks(&fs, 1).await;
    assert_clean(&fs).await;
    let mut b = StoreBatch::new();
    b.put(
        ChunkKey(f.0, 0).encode(ChunkKeyLayout::Bare),
        Bytes::from_static(b"\0x"),
    );
    store.write(b, Durability::Durable).await.unwrap();
    let rep = fs.fsck().await.unwrap();
    assert_eq!(rep.errors.len(), 1, "{:?}", rep.errors);
    assert!(
        format!("{:?}", rep.errors[0]).starts_with("bad chunk key"),
        "{:?}",
        rep.errors
    );
}
