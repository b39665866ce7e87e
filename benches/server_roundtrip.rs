//! End-to-end round trips of calls through a running server over loopback.
//!
//! Starts the real `slatenfs serve --cores 1` on a free 127.0.0.1 port with a local-disk store
//! (`file://` in a temporary directory, see `support/mod.rs`) and drives it with the blocking
//! client `slatenfs::netclient` on one TCP connection. So each figure includes the client's
//! encoding and decoding, two loopback socket hops and the server's whole path (record
//! reassembly, dispatch to the core, the filesystem, SlateDB, the reply).
//!
//! `roundtrip/*`: one call in flight, the latency of one round trip:
//! - `null`: NFS NULL, the RPC layer only;
//! - `getattr`: GETATTR of a file;
//! - `lookup`: LOOKUP of an existing name;
//! - `read_4k`: READ of 4 KiB at offset 0 of a 1 MiB file written and committed in setup (a hit
//!   of the server's local chunk cache, which reads the whole 64 KiB chunk from disk);
//! - `write_4k_unstable`: WRITE of 4 KiB UNSTABLE (in memory until COMMIT), cycling over 256
//!   aligned offsets of a 1 MiB file;
//! - `create_guarded`: CREATE GUARDED of a new name each iteration, replied to once durable
//!   (the server's default synchronous metadata: a flush of SlateDB's WAL to the store). The
//!   names go to a scratch directory, discarded with the store.
//!
//! `pipelined/getattr_x64`: 64 GETATTRs queued and written at once on one connection, then their
//! 64 replies; throughput in calls per second.
//!
//! Run with `cargo bench --bench server_roundtrip` (about a minute; it builds the `slatenfs`
//! binary first). Criterion filters work as usual, e.g.
//! `cargo bench --bench server_roundtrip -- roundtrip/getattr`.

mod support;

use std::time::Duration;

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use slatenfs::netclient::{accepted, decode_nfs, ok_arm, Request};
use slatenfs::proto::nfs3::{proc3, Nfs3Reply, StableHow};

const KIB4: usize = 4096;
/// Size of the file READ and WRITE go to.
const FILE_SIZE: usize = 1 << 20;
/// Calls in flight in the pipelined bench.
const PIPELINE: usize = 64;

fn bench(c: &mut Criterion) {
    let server = support::Server::start(1);
    let mut conn = server.connect();
    let root = conn.mount(b"/").expect("MNT /");
    let dir = conn.mkdir(&root, b"bench", 0o755).expect("MKDIR bench");
    let scratch = conn.mkdir(&root, b"scratch", 0o755).expect("MKDIR scratch");
    let file = conn
        .create(&dir, b"data", 0o644, true)
        .expect("CREATE data");
    let content: Vec<u8> = (0..FILE_SIZE).map(|i| (i % 251) as u8).collect();
    for (i, piece) in content.chunks(64 << 10).enumerate() {
        conn.write(
            &file,
            (i * (64 << 10)) as u64,
            StableHow::Unstable,
            Bytes::copy_from_slice(piece),
        )
        .expect("WRITE setup");
    }
    conn.commit(&file).expect("COMMIT setup");
    let read = conn.read(&file, 0, KIB4 as u32).expect("READ setup");
    assert_eq!(
        &read.data[..],
        &content[..KIB4],
        "READ returns what was written"
    );
    let (looked_up, _) = conn.lookup(&dir, b"data").expect("LOOKUP setup");
    assert_eq!(looked_up, file);

    let mut g = c.benchmark_group("roundtrip");
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("null", |b| b.iter(|| conn.null().expect("NULL")));
    g.bench_function("getattr", |b| {
        b.iter(|| black_box(conn.getattr(&file).expect("GETATTR")))
    });
    g.bench_function("lookup", |b| {
        b.iter(|| black_box(conn.lookup(&dir, b"data").expect("LOOKUP")))
    });
    g.bench_function("read_4k", |b| {
        b.iter(|| {
            let r = conn.read(&file, 0, KIB4 as u32).expect("READ");
            assert_eq!(r.data.len(), KIB4);
            r
        })
    });
    let block = Bytes::from(vec![0x5a; KIB4]);
    let mut slot = 0u64;
    g.bench_function("write_4k_unstable", |b| {
        b.iter(|| {
            let offset = (slot % (FILE_SIZE / KIB4) as u64) * KIB4 as u64;
            slot += 1;
            conn.write(&file, offset, StableHow::Unstable, block.clone())
                .expect("WRITE")
        })
    });
    let mut created = 0u64;
    g.bench_function("create_guarded", |b| {
        b.iter(|| {
            created += 1;
            let name = format!("f{created}");
            conn.create(&scratch, name.as_bytes(), 0o644, true)
                .expect("CREATE")
        })
    });
    g.finish();
    conn.commit(&file).expect("COMMIT after the WRITE bench");

    let mut g = c.benchmark_group("pipelined");
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(PIPELINE as u64));
    let getattr = Request::Getattr {
        fh: Bytes::copy_from_slice(&file),
    };
    g.bench_function("getattr_x64", |b| {
        b.iter(|| {
            for _ in 0..PIPELINE {
                conn.queue(&getattr).expect("queue GETATTR");
            }
            conn.flush().expect("send GETATTRs");
            for _ in 0..PIPELINE {
                let reply = conn.recv().expect("GETATTR reply");
                let body = accepted(reply.status).expect("GETATTR accepted");
                match decode_nfs(proc3::GETATTR, &body).expect("GETATTR decodes") {
                    Nfs3Reply::Getattr(r) => {
                        black_box(ok_arm("GETATTR", r).expect("GETATTR ok"));
                    }
                    _ => unreachable!("decode_nfs(GETATTR) decodes GETATTR results"),
                }
            }
        })
    });
    g.finish();

    drop(conn);
    server.stop();
}

criterion_group!(benches, bench);
criterion_main!(benches);
