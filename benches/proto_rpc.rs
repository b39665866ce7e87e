//! ONC-RPC engine benchmarks: record reassembly and calls through a ServerConnection.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use slatenfs::proto::auth::{AuthSys, Credential};
use slatenfs::proto::client::{ClientConfig, ClientConnection};
use slatenfs::proto::connection::{ServerConfig, ServerConnection};
use slatenfs::proto::record::{encode_record, RecordDecoder};
use slatenfs::proto::rpc::{RawBody, ReplyBody};
use slatenfs::proto::xdr::{XdrEncode, XdrSink, XdrWrite};

const NFS: u32 = 100_003;

fn config() -> Arc<ServerConfig> {
    Arc::new(ServerConfig::new(4 << 20).program(NFS, 3, 3, 21))
}

fn cred() -> Credential {
    Credential::Sys(AuthSys {
        stamp: 0x5f3a_1c2b,
        machinename: smallvec::SmallVec::from_slice(b"client01.example"),
        uid: 1000,
        gid: 1000,
        gids: (0..4).collect(),
    })
}

/// Record-marked calls encoded by the client.
fn calls(n: usize, procedure: u32, args: &[u8]) -> Vec<u8> {
    let mut c = ClientConnection::new(ClientConfig::default());
    for _ in 0..n {
        c.send_call(NFS, 3, procedure, &cred(), &RawBody(args))
            .unwrap();
    }
    let mut out = Vec::new();
    while let Some(b) = c.poll_transmit() {
        out.extend_from_slice(&b);
    }
    out
}

fn reassembly(c: &mut Criterion) {
    let mut g = c.benchmark_group("record_reassembly");
    for (size, frags) in [(64 * 1024, 16), (1024 * 1024, 8)] {
        let record = vec![0xa5u8; size];
        let mut wire = BytesMut::new();
        encode_record(&record, size / frags, &mut wire);
        let wire = wire.freeze();
        g.throughput(Throughput::Bytes(size as u64));
        let mut dec = RecordDecoder::new(4 << 20);
        g.bench_function(format!("{}KiB_{frags}_fragments", size / 1024), |b| {
            b.iter(|| {
                let mut n = 0;
                dec.decode(&wire, |r| n += r.len()).unwrap();
                black_box(n)
            })
        });
        // Single fragment given as Bytes: sliced, not copied.
        let mut single = BytesMut::new();
        encode_record(&record, usize::MAX, &mut single);
        let single = single.freeze();
        g.bench_function(format!("{}KiB_single_fragment_bytes", size / 1024), |b| {
            b.iter(|| {
                let mut n = 0;
                dec.decode_bytes(single.clone(), |r| n += r.len()).unwrap();
                black_box(n)
            })
        });
    }
    g.finish();
}

/// GETATTR3resok-sized results: status + fattr3 (84 bytes).
struct Attrs;
impl XdrEncode for Attrs {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_u32(0);
        out.put_xdr_opaque_fixed(&[0u8; 84]);
    }
}

struct ReadRes(Bytes);
impl XdrEncode for ReadRes {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_u32(0);
        out.put_xdr_u32(0); // no post-op attributes
        out.put_xdr_u32(self.0.len() as u32);
        out.put_xdr_bool(false);
        out.put_payload(self.0.clone());
    }
}

fn server_calls(c: &mut Criterion) {
    let mut g = c.benchmark_group("server_connection");
    let fh = {
        let mut b = BytesMut::new();
        b.put_xdr_opaque_var(&[7u8; 32]);
        b.to_vec()
    };

    let null = calls(1, 0, &[]);
    let mut conn = ServerConnection::new(config());
    g.throughput(Throughput::Elements(1));
    g.bench_function("null_call", |b| {
        b.iter(|| {
            conn.handle_input(&null).unwrap();
            assert!(conn.poll_call().is_none());
            while let Some(out) = conn.poll_transmit() {
                black_box(out);
            }
        })
    });

    let getattr = calls(1, 1, &fh);
    let mut conn = ServerConnection::new(config());
    g.bench_function("getattr_call", |b| {
        b.iter(|| {
            conn.handle_input(&getattr).unwrap();
            let call = conn.poll_call().unwrap();
            black_box(&call.args);
            conn.send_reply(call.xid, ReplyBody::Success(&Attrs));
            while let Some(out) = conn.poll_transmit() {
                black_box(out);
            }
        })
    });

    let batch = calls(64, 1, &fh);
    let mut conn = ServerConnection::new(config());
    let mut segs = Vec::with_capacity(64);
    g.throughput(Throughput::Elements(64));
    g.bench_function("getattr_pipelined_x64", |b| {
        b.iter(|| {
            conn.handle_input(&batch).unwrap();
            while let Some(call) = conn.poll_call() {
                conn.send_reply(call.xid, ReplyBody::Success(&Attrs));
            }
            conn.poll_transmit_vectored(&mut segs, usize::MAX);
            black_box(&segs);
            segs.clear();
        })
    });

    // READ of 64 KiB: the payload is not copied into the output.
    let read = calls(1, 6, &[&fh[..], &[0u8; 12][..]].concat());
    let data = Bytes::from(vec![0x5au8; 64 * 1024]);
    let mut conn = ServerConnection::new(config());
    g.throughput(Throughput::Elements(1));
    g.bench_function("read_64KiB_zero_copy_reply", |b| {
        b.iter(|| {
            conn.handle_input(&read).unwrap();
            let call = conn.poll_call().unwrap();
            conn.send_reply(call.xid, ReplyBody::Success(&ReadRes(data.clone())));
            conn.poll_transmit_vectored(&mut segs, usize::MAX);
            black_box(&segs);
            segs.clear();
        })
    });

    // Decode-only cost: a 64-call batch given as Bytes (no copy), calls polled and dropped.
    let batch_bytes = Bytes::from(batch.clone());
    g.throughput(Throughput::Elements(64));
    g.bench_function("getattr_x64_bytes_input_poll_only", |b| {
        b.iter_batched(
            || ServerConnection::new(config()),
            |mut conn| {
                conn.handle_input_bytes(batch_bytes.clone()).unwrap();
                while let Some(call) = conn.poll_call() {
                    black_box(call);
                }
                conn
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, reassembly, server_calls);
criterion_main!(benches);
