//! NFSv3 protocol engine benchmarks: argument decoding (GETATTR, LOOKUP, READ, WRITE 64 KiB),
//! reply encoding (GETATTR, READ 64 KiB, READDIRPLUS with 100 entries) and a whole GETATTR round
//! through the server connection state machine (record in, call decoded, reply encoded and
//! framed, segments out).
//!
//! Zero-copy claims are checked once, before measuring: the decoded WRITE data is a slice of the
//! input buffer (pointer range check, both for a plain decode and for a record handed to a
//! `ServerConnection` as `Bytes`), and the encoded READ reply carries the data `Bytes` itself as
//! one of its output segments.

use std::sync::Arc;

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use slatenfs::proto::auth::{AuthSys, Credential};
use slatenfs::proto::client::{ClientConfig, ClientConnection};
use slatenfs::proto::connection::{ServerConfig, ServerConnection};
use slatenfs::proto::nfs3::{
    proc3, Diropargs3, Entryplus3, Fattr3, Ftype3, Getattr3Args, Getattr3ResOk, Lookup3Args,
    Nfs3Call, Nfs3Reply, Nfs3Res, NfsFh3, Nfstime3, Read3Args, Read3ResOk, ReaddirplusBuilder,
    Specdata3, StableHow, Write3Args,
};
use slatenfs::proto::rpc::{RawBody, ReplyBody};
use slatenfs::proto::xdr::{encode_to_vec, XdrEncode, XdrSink};

const NFS: u32 = 100_003;
const KIB64: usize = 64 * 1024;

/// A handle the size slatenfs hands out (`fs::HANDLE_LEN`).
const FH: [u8; 28] = [0x42; 28];

fn fh() -> NfsFh3<'static> {
    NfsFh3(&FH)
}

fn attrs(fileid: u64) -> Fattr3 {
    let t = Nfstime3 {
        seconds: 1_700_000_000,
        nseconds: 123_456_789,
    };
    Fattr3 {
        ftype: Ftype3::Reg,
        mode: 0o644,
        nlink: 1,
        uid: 1000,
        gid: 1000,
        size: 1 << 20,
        used: 1 << 20,
        rdev: Specdata3 {
            specdata1: 0,
            specdata2: 0,
        },
        fsid: 1,
        fileid,
        atime: t,
        mtime: t,
        ctime: t,
    }
}

fn body(call: &Nfs3Call<'_>) -> Bytes {
    Bytes::from(encode_to_vec(call))
}

/// Whether `part` lies inside `buf` (same allocation): the zero-copy check.
fn points_into(part: &[u8], buf: &[u8]) -> bool {
    let (b, p) = (buf.as_ptr() as usize, part.as_ptr() as usize);
    !part.is_empty() && p >= b && p + part.len() <= b + buf.len()
}

fn decode_write(body: &[u8]) -> Write3Args<'_> {
    match Nfs3Call::decode(proc3::WRITE, body) {
        Ok(Nfs3Call::Write(w)) => w,
        other => panic!("WRITE did not decode: {other:?}"),
    }
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("nfs3_decode");
    g.throughput(Throughput::Elements(1));

    let getattr = body(&Nfs3Call::Getattr(Getattr3Args { object: fh() }));
    g.bench_function("getattr_args", |b| {
        b.iter(|| black_box(Nfs3Call::decode(proc3::GETATTR, black_box(&getattr))).unwrap())
    });

    let lookup = body(&Nfs3Call::Lookup(Lookup3Args {
        what: Diropargs3 {
            dir: fh(),
            name: b"report-2026-11.pdf",
        },
    }));
    g.bench_function("lookup_args", |b| {
        b.iter(|| black_box(Nfs3Call::decode(proc3::LOOKUP, black_box(&lookup))).unwrap())
    });

    let read = body(&Nfs3Call::Read(Read3Args {
        file: fh(),
        offset: 1 << 30,
        count: KIB64 as u32,
    }));
    g.bench_function("read_args", |b| {
        b.iter(|| black_box(Nfs3Call::decode(proc3::READ, black_box(&read))).unwrap())
    });

    // WRITE of 64 KiB. Zero copy, checked once: the decoded `data` is a range of the argument
    // body, and `data_bytes` shares the body's allocation.
    let payload: Vec<u8> = (0..KIB64).map(|i| i as u8).collect();
    let write = body(&Nfs3Call::Write(Write3Args {
        file: fh(),
        offset: 1 << 20,
        count: KIB64 as u32,
        stable: StableHow::Unstable,
        data: &payload,
    }));
    {
        let w = decode_write(&write);
        assert_eq!(w.data, &payload[..]);
        assert!(
            points_into(w.data, &write),
            "WRITE data was copied out of the argument body"
        );
        let shared = w.data_bytes(&write).expect("data lies in the body");
        assert_eq!(shared.as_ptr(), w.data.as_ptr());
        eprintln!(
            "zero-copy: WRITE 64 KiB data at body offset {} ({} bytes), inside the {}-byte body",
            w.data.as_ptr() as usize - write.as_ptr() as usize,
            w.data.len(),
            write.len()
        );
    }
    // The same through the connection: a single-fragment record given as `Bytes` becomes a call
    // whose `args` (and so the WRITE data) are a slice of the bytes read from the socket.
    {
        let wire = Bytes::from(calls(1, proc3::WRITE, &write));
        let mut conn = ServerConnection::new(config());
        conn.handle_input_bytes(wire.clone()).unwrap();
        let call = conn.poll_call().unwrap();
        let w = decode_write(&call.args);
        assert!(
            points_into(w.data, &wire),
            "WRITE data was copied between the socket buffer and the decoded arguments"
        );
        assert_eq!(w.data, &payload[..]);
        eprintln!("zero-copy: WRITE 64 KiB data decoded from a connection points into the input");
    }
    g.bench_function("write_64KiB_args", |b| {
        b.iter(|| {
            let w = decode_write(black_box(&write));
            black_box(w.data_bytes(&write))
        })
    });
    g.finish();
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("nfs3_encode");
    g.throughput(Throughput::Elements(1));
    let mut sink = XdrSink::with_capacity(16 * 1024);
    let mut segs: Vec<Bytes> = Vec::with_capacity(8);

    let getattr = Nfs3Reply::Getattr(Nfs3Res::Ok(Getattr3ResOk {
        obj_attributes: attrs(7),
    }));
    g.bench_function("getattr_reply", |b| {
        b.iter(|| {
            black_box(&getattr).encode(&mut sink);
            sink.take_segments(&mut segs);
            black_box(&segs);
            segs.clear();
        })
    });

    // READ of 64 KiB: the data is appended as a segment, not copied.
    let data = Bytes::from(vec![0x5au8; KIB64]);
    let read = Nfs3Reply::Read(Nfs3Res::Ok(Read3ResOk {
        file_attributes: Some(attrs(7)),
        count: KIB64 as u32,
        eof: false,
        data: data.clone(),
    }));
    {
        read.encode(&mut sink);
        sink.take_segments(&mut segs);
        assert!(
            segs.iter()
                .any(|s| s.as_ptr() == data.as_ptr() && s.len() == data.len()),
            "READ data was copied into the reply"
        );
        segs.clear();
    }
    g.bench_function("read_64KiB_reply", |b| {
        b.iter(|| {
            black_box(&read).encode(&mut sink);
            sink.take_segments(&mut segs);
            black_box(&segs);
            segs.clear();
        })
    });

    // READDIRPLUS with 100 entries, each with attributes and a handle (what the Linux client
    // asks for), page limits large enough for all of them.
    let names: Vec<String> = (0..100).map(|i| format!("file-{i:05}.dat")).collect();
    let handles: Vec<[u8; 28]> = (0..100u8).map(|i| [i; 28]).collect();
    let entries: Vec<Entryplus3<'_>> = (0..100)
        .map(|i| Entryplus3 {
            fileid: 1000 + i as u64,
            name: names[i].as_bytes(),
            cookie: i as u64 + 1,
            name_attributes: Some(attrs(1000 + i as u64)),
            name_handle: Some(NfsFh3(&handles[i])),
        })
        .collect();
    let build = || {
        let mut page = ReaddirplusBuilder::new(64 * 1024, 64 * 1024, Some(attrs(2)));
        for e in &entries {
            page.push(*e);
        }
        assert_eq!(page.len(), 100);
        page.finish([9; 8], true)
    };
    let readdirplus = Nfs3Reply::Readdirplus(build());
    eprintln!(
        "READDIRPLUS reply with 100 entries: {} bytes",
        encode_to_vec(&readdirplus).len()
    );
    g.bench_function("readdirplus_100_entries_reply", |b| {
        b.iter(|| {
            black_box(&readdirplus).encode(&mut sink);
            sink.take_segments(&mut segs);
            black_box(&segs);
            segs.clear();
        })
    });
    g.bench_function("readdirplus_100_entries_build_and_encode", |b| {
        b.iter(|| {
            Nfs3Reply::Readdirplus(build()).encode(&mut sink);
            sink.take_segments(&mut segs);
            black_box(&segs);
            segs.clear();
        })
    });
    g.finish();
}

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

/// `n` record-marked NFSv3 calls of `procedure` with argument body `args`, as a client sends
/// them.
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

/// One GETATTR: the connection reassembles the record and decodes the RPC header and AUTH_SYS
/// credential, the call's arguments are decoded, a GETATTR3res is encoded as the reply and the
/// framed reply is taken as segments for `writev`. Everything but the file system lookup.
fn getattr_round(c: &mut Criterion) {
    let mut g = c.benchmark_group("nfs3_round");
    g.throughput(Throughput::Elements(1));
    let args = encode_to_vec(&Nfs3Call::Getattr(Getattr3Args { object: fh() }));
    let record = calls(1, proc3::GETATTR, &args);
    let fattr = attrs(7);
    let mut segs: Vec<Bytes> = Vec::with_capacity(8);

    let round = |conn: &mut ServerConnection, segs: &mut Vec<Bytes>| {
        let call = conn.poll_call().unwrap();
        let reply = match Nfs3Call::decode(call.procedure, &call.args).unwrap() {
            Nfs3Call::Getattr(a) => {
                assert_eq!(a.object.as_bytes().len(), FH.len());
                Nfs3Reply::Getattr(Nfs3Res::Ok(Getattr3ResOk {
                    obj_attributes: fattr,
                }))
            }
            other => panic!("not a GETATTR: {other:?}"),
        };
        conn.send_reply(call.xid, ReplyBody::Success(&reply));
        conn.poll_transmit_vectored(segs, usize::MAX);
    };

    let mut conn = ServerConnection::new(config());
    // The reply is one well-formed record: mark + xid + accepted header + status + fattr3.
    conn.handle_input(&record).unwrap();
    round(&mut conn, &mut segs);
    let out: usize = segs.iter().map(Bytes::len).sum();
    assert_eq!(out, 4 + 24 + 4 + Fattr3::WIRE_SIZE);
    segs.clear();

    g.bench_function("getattr_decode_call_encode_reply", |b| {
        b.iter(|| {
            conn.handle_input(black_box(&record)).unwrap();
            round(&mut conn, &mut segs);
            black_box(&segs);
            segs.clear();
        })
    });

    // The same with the input given as `Bytes` (the record is sliced, not copied in).
    let record_bytes = Bytes::from(record.clone());
    let mut conn = ServerConnection::new(config());
    g.bench_function("getattr_decode_call_encode_reply_bytes_input", |b| {
        b.iter(|| {
            conn.handle_input_bytes(record_bytes.clone()).unwrap();
            round(&mut conn, &mut segs);
            black_box(&segs);
            segs.clear();
        })
    });
    g.finish();
}

criterion_group!(benches, decode, encode, getattr_round);
criterion_main!(benches);
