//! Filesystem operation benchmarks on the in-memory object store.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use slatenfs::fs::*;
use slatenfs::store::keys::InodeKey;
use slatenfs::store::{Durability, StorageUrl, Store, StoreBatch, StoreConfig};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

fn bench(c: &mut Criterion) {
    let cred = Credentials::root();
    let fs = block_on(async {
        let store = Store::open_in_memory().await.unwrap();
        Fs::open(store, FsOptions::default()).await.unwrap()
    });
    let root = fs.root();
    let dir = block_on(fs.mkdir(&cred, root, b"bench", &SetAttr::default()))
        .unwrap()
        .ino;
    for i in 0..1000 {
        block_on(fs.create(
            &cred,
            dir,
            format!("file-{i}").as_bytes(),
            &CreateHow::Guarded(SetAttr::default()),
        ))
        .unwrap();
    }
    let file = block_on(fs.lookup(&cred, dir, b"file-0")).unwrap().ino;
    let chunk = Bytes::from(vec![0xabu8; 64 * 1024]);
    block_on(fs.write(&cred, file, 0, chunk.clone(), StableHow::Unstable)).unwrap();

    c.bench_function("store_get_bridge", |b| {
        let key = InodeKey(1).encode();
        b.iter(|| block_on(fs.store().get(key.clone())).unwrap())
    });
    c.bench_function("store_get_direct_on_runtime", |b| {
        b.iter_custom(|iters| {
            let db = fs.store().db().expect("a writable store");
            let key = InodeKey(1).encode();
            block_on(fs.store().run(async move {
                let t = std::time::Instant::now();
                for _ in 0..iters {
                    db.get(&key).await?;
                }
                Ok(t.elapsed())
            }))
            .unwrap()
        })
    });
    if let Ok(ex) = glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound).make() {
        let store = fs.store().clone();
        c.bench_function("store_get_bridge_from_glommio", |b| {
            b.iter_custom(|iters| {
                let key = InodeKey(1).encode();
                ex.run(async {
                    let t = std::time::Instant::now();
                    for _ in 0..iters {
                        store.get(key.clone()).await.unwrap();
                    }
                    t.elapsed()
                })
            })
        });
    }
    c.bench_function("getattr", |b| {
        b.iter(|| block_on(fs.getattr(file)).unwrap())
    });
    c.bench_function("lookup", |b| {
        b.iter(|| block_on(fs.lookup(&cred, dir, b"file-500")).unwrap())
    });
    let mut n = 0u64;
    c.bench_function("create_durable", |b| {
        b.iter(|| {
            n += 1;
            block_on(fs.create(
                &cred,
                root,
                format!("c-{n}").as_bytes(),
                &CreateHow::Guarded(SetAttr::default()),
            ))
            .unwrap()
        })
    });
    c.bench_function("durable_store_write", |b| {
        b.iter_batched(
            || {
                let mut batch = StoreBatch::new();
                batch.put(InodeKey(u64::MAX).encode(), Bytes::from_static(b"x"));
                batch
            },
            |batch| block_on(fs.store().write(batch, Durability::Durable)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    let tmp = tempfile::tempdir().unwrap();
    let file_store = block_on(Store::open(StoreConfig::new(StorageUrl::File(
        tmp.path().to_path_buf(),
    ))))
    .unwrap();
    c.bench_function("durable_store_write_file", |b| {
        b.iter_batched(
            || {
                let mut batch = StoreBatch::new();
                batch.put(InodeKey(7).encode(), Bytes::from_static(b"x"));
                batch
            },
            |batch| block_on(file_store.write(batch, Durability::Durable)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    let mut g = c.benchmark_group("data");
    g.throughput(Throughput::Bytes(chunk.len() as u64));
    g.bench_function("write_64k_unstable", |b| {
        b.iter(|| block_on(fs.write(&cred, file, 0, chunk.clone(), StableHow::Unstable)).unwrap())
    });
    g.bench_function("read_64k", |b| {
        b.iter(|| block_on(fs.read(&cred, file, 0, 64 * 1024)).unwrap())
    });
    g.finish();
    c.bench_function("readdir_page_100", |b| {
        b.iter(|| block_on(fs.readdir(&cred, dir, 0, [0; 8], 100, false)).unwrap())
    });
    c.bench_function("readdirplus_page_100", |b| {
        b.iter(|| block_on(fs.readdir(&cred, dir, 0, [0; 8], 100, true)).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
