//! ONC-RPC engine tests: golden bytes from RFC 5531's wire layout, every rejection the
//! connection makes on its own, AUTH_SYS limits, record reassembly, input split at every offset,
//! pipelining, out-of-order replies and a client/server pair driven in memory.

mod common;

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use common::{client_output, server_output, ReadRes};
use slatenfs::proto::auth::{AuthStat, AuthSys, Credential, AUTH_DH, AUTH_SHORT, RPCSEC_GSS};
use slatenfs::proto::client::{ClientConfig, ClientConnection};
use slatenfs::proto::connection::{Call, ConnectionError, ServerConfig, ServerConnection};
use slatenfs::proto::record::{encode_record, RecordError};
use slatenfs::proto::rpc::{RawBody, ReplyBody, ReplyStatus};
use slatenfs::proto::xdr::{XdrEncode, XdrSink, XdrWrite};
use smallvec::smallvec;

const NFS: u32 = 100_003;
const MOUNT: u32 = 100_005;
const PORTMAP: u32 = 100_000;
const NFSACL: u32 = 100_227;

fn config() -> Arc<ServerConfig> {
    Arc::new(
        ServerConfig::new(1 << 20)
            .program(NFS, 3, 3, 21)
            .program(MOUNT, 1, 3, 5)
            .program(PORTMAP, 2, 2, 5),
    )
}

fn server() -> ServerConnection {
    ServerConnection::new(config())
}

fn calls(conn: &mut ServerConnection) -> Vec<Call> {
    std::iter::from_fn(|| conn.poll_call()).collect()
}

/// A NULL call to NFSv3 with AUTH_SYS, written out by hand from RFC 5531 §9 and appendix A.
#[rustfmt::skip]
const NULL_CALL_AUTH_SYS: [u8; 80] = [
    0x80, 0x00, 0x00, 0x4c,     // record mark: last fragment, 76 bytes
    0x12, 0x34, 0x56, 0x78,     // xid
    0x00, 0x00, 0x00, 0x00,     // msg_type CALL
    0x00, 0x00, 0x00, 0x02,     // rpcvers 2
    0x00, 0x01, 0x86, 0xa3,     // prog 100003 (NFS)
    0x00, 0x00, 0x00, 0x03,     // vers 3
    0x00, 0x00, 0x00, 0x00,     // proc 0 (NULL)
    0x00, 0x00, 0x00, 0x01,     // cred flavor AUTH_SYS
    0x00, 0x00, 0x00, 0x24,     // cred body length 36
    0x00, 0x00, 0x00, 0x2a,     //   stamp 42
    0x00, 0x00, 0x00, 0x08,     //   machinename length 8
    b'c', b'l', b'i', b'e',     //   "client01" (no padding needed)
    b'n', b't', b'0', b'1',
    0x00, 0x00, 0x03, 0xe8,     //   uid 1000
    0x00, 0x00, 0x00, 0x64,     //   gid 100
    0x00, 0x00, 0x00, 0x02,     //   2 gids
    0x00, 0x00, 0x00, 0x0a,     //   10
    0x00, 0x00, 0x00, 0x14,     //   20
    0x00, 0x00, 0x00, 0x00,     // verf flavor AUTH_NONE
    0x00, 0x00, 0x00, 0x00,     // verf length 0
];

/// The reply to it: accepted, AUTH_NONE verifier, SUCCESS, no results.
#[rustfmt::skip]
const NULL_REPLY: [u8; 28] = [
    0x80, 0x00, 0x00, 0x18,     // record mark: last fragment, 24 bytes
    0x12, 0x34, 0x56, 0x78,     // xid
    0x00, 0x00, 0x00, 0x01,     // msg_type REPLY
    0x00, 0x00, 0x00, 0x00,     // MSG_ACCEPTED
    0x00, 0x00, 0x00, 0x00,     // verf flavor AUTH_NONE
    0x00, 0x00, 0x00, 0x00,     // verf length 0
    0x00, 0x00, 0x00, 0x00,     // SUCCESS
];

/// GETATTR (proc 1) with AUTH_NONE and an 8-byte file handle.
#[rustfmt::skip]
const GETATTR_CALL: [u8; 56] = [
    0x80, 0x00, 0x00, 0x34,     // record mark: last fragment, 52 bytes
    0x00, 0x00, 0x00, 0x07,     // xid 7
    0x00, 0x00, 0x00, 0x00,     // CALL
    0x00, 0x00, 0x00, 0x02,     // rpcvers 2
    0x00, 0x01, 0x86, 0xa3,     // NFS
    0x00, 0x00, 0x00, 0x03,     // v3
    0x00, 0x00, 0x00, 0x01,     // GETATTR
    0x00, 0x00, 0x00, 0x00,     // cred AUTH_NONE
    0x00, 0x00, 0x00, 0x00,     //   length 0
    0x00, 0x00, 0x00, 0x00,     // verf AUTH_NONE
    0x00, 0x00, 0x00, 0x00,     //   length 0
    0x00, 0x00, 0x00, 0x08,     // args: fhandle3 length 8
    1, 2, 3, 4, 5, 6, 7, 8,     //   handle bytes
];

fn client01() -> Credential {
    Credential::Sys(AuthSys {
        stamp: 42,
        machinename: smallvec::SmallVec::from_slice(b"client01"),
        uid: 1000,
        gid: 100,
        gids: smallvec![10, 20],
    })
}

#[test]
fn golden_null_call_with_auth_sys() {
    let mut s = server();
    s.handle_input(&NULL_CALL_AUTH_SYS).unwrap();
    assert!(
        s.poll_call().is_none(),
        "NULL is answered by the connection"
    );
    assert_eq!(s.calls_in_flight(), 0);
    assert!(s.wants_write());
    assert_eq!(s.pending_output_bytes(), NULL_REPLY.len());
    assert_eq!(server_output(&mut s), NULL_REPLY);
    assert!(!s.wants_write());
    assert_eq!(s.stats().null_calls, 1);
}

#[test]
fn golden_client_encoding_of_null_call() {
    let mut c = ClientConnection::new(ClientConfig {
        first_xid: 0x1234_5678,
        ..ClientConfig::default()
    });
    let xid = c.send_call(NFS, 3, 0, &client01(), &RawBody(&[])).unwrap();
    assert_eq!(xid, 0x1234_5678);
    assert_eq!(client_output(&mut c), NULL_CALL_AUTH_SYS);
    c.handle_input(&NULL_REPLY).unwrap();
    let reply = c.poll_reply().unwrap();
    assert_eq!(reply.xid, 0x1234_5678);
    assert_eq!(reply.status, ReplyStatus::Success(Bytes::new()));
    assert_eq!(c.calls_in_flight(), 0);
}

struct Attr(u32);
impl XdrEncode for Attr {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_u32(0); // NFS3_OK
        out.put_xdr_u32(self.0);
    }
}

#[test]
fn golden_getattr_call_and_reply() {
    let mut s = server();
    let input = Bytes::from_static(&GETATTR_CALL);
    s.handle_input_bytes(input.clone()).unwrap();
    let call = s.poll_call().unwrap();
    assert_eq!(
        (call.xid, call.prog, call.vers, call.procedure),
        (7, NFS, 3, 1)
    );
    assert_eq!(call.cred, Credential::None);
    assert_eq!(&call.args[..], &GETATTR_CALL[44..]);
    // Zero copy: the arguments are a slice of the input.
    assert_eq!(call.args.as_ptr(), input[44..].as_ptr());
    assert_eq!(s.calls_in_flight(), 1);
    assert!(s.poll_call().is_none());

    s.send_reply(7, ReplyBody::Success(&Attr(0xabcd)));
    assert_eq!(s.calls_in_flight(), 0);
    #[rustfmt::skip]
    let expected = [
        0x80, 0, 0, 0x20,           // last fragment, 32 bytes
        0, 0, 0, 7,                 // xid
        0, 0, 0, 1,                 // REPLY
        0, 0, 0, 0,                 // MSG_ACCEPTED
        0, 0, 0, 0, 0, 0, 0, 0,     // verf AUTH_NONE
        0, 0, 0, 0,                 // SUCCESS
        0, 0, 0, 0,                 // results: NFS3_OK
        0, 0, 0xab, 0xcd,           //   attribute
    ];
    assert_eq!(server_output(&mut s), expected);
}

/// Builds a call record by hand: the header words, cred and verf as raw `opaque_auth`s, args.
fn raw_call(xid: u32, words: &[u32], cred: (u32, &[u8]), verf: (u32, &[u8])) -> BytesMut {
    let mut msg = BytesMut::new();
    msg.put_xdr_u32(xid);
    for w in words {
        msg.put_xdr_u32(*w);
    }
    msg.put_xdr_u32(cred.0);
    msg.put_xdr_opaque_var(cred.1);
    msg.put_xdr_u32(verf.0);
    msg.put_xdr_opaque_var(verf.1);
    let mut rec = BytesMut::new();
    encode_record(&msg, usize::MAX, &mut rec);
    rec
}

fn call_words(prog: u32, vers: u32, procedure: u32) -> [u32; 5] {
    [0, 2, prog, vers, procedure]
}

fn sys_body(name_len: usize, ngids: usize) -> Vec<u8> {
    let sys = AuthSys {
        stamp: 1,
        machinename: smallvec::SmallVec::from_elem(b'm', name_len),
        uid: 0,
        gid: 0,
        gids: (0..ngids as u32).collect(),
    };
    let mut b = BytesMut::new();
    sys.encode_body(&mut b);
    b.to_vec()
}

/// Feeds one record and returns the decoded auto-reply (no call must be yielded).
fn auto_reply(record: &[u8]) -> ReplyStatus {
    let mut s = server();
    s.handle_input(record).unwrap();
    assert!(
        s.poll_call().is_none(),
        "must be answered by the connection"
    );
    let out = server_output(&mut s);
    let mut c = ClientConnection::new(ClientConfig {
        first_xid: 5,
        ..ClientConfig::default()
    });
    c.send_call(0, 0, 0, &Credential::None, &RawBody(&[]))
        .unwrap();
    c.handle_input(&out).unwrap();
    let reply = c.poll_reply().expect("one reply");
    assert_eq!(reply.xid, 5);
    reply.status
}

#[test]
fn rejections() {
    let none: (u32, &[u8]) = (0, &[]);
    // rpcvers 3: MSG_DENIED RPC_MISMATCH(2, 2).
    let rec = raw_call(5, &[0, 3, NFS, 3, 1], none, none);
    assert_eq!(
        auto_reply(&rec),
        ReplyStatus::RpcMismatch { low: 2, high: 2 }
    );
    // NFSACL probed on the NFS port: PROG_UNAVAIL, connection stays open.
    let rec = raw_call(5, &call_words(NFSACL, 3, 0), none, none);
    assert_eq!(auto_reply(&rec), ReplyStatus::ProgUnavail);
    // NFSv4 on a v3 server: PROG_MISMATCH(3, 3).
    let rec = raw_call(5, &call_words(NFS, 4, 0), none, none);
    assert_eq!(
        auto_reply(&rec),
        ReplyStatus::ProgMismatch { low: 3, high: 3 }
    );
    let rec = raw_call(5, &call_words(MOUNT, 4, 1), none, none);
    assert_eq!(
        auto_reply(&rec),
        ReplyStatus::ProgMismatch { low: 1, high: 3 }
    );
    // Procedure past the table.
    let rec = raw_call(5, &call_words(NFS, 3, 22), none, none);
    assert_eq!(auto_reply(&rec), ReplyStatus::ProcUnavail);
    // NULL of MOUNT and portmap answered too.
    for (prog, vers) in [(MOUNT, 3), (MOUNT, 1), (PORTMAP, 2)] {
        let rec = raw_call(5, &call_words(prog, vers, 0), none, none);
        assert_eq!(auto_reply(&rec), ReplyStatus::Success(Bytes::new()));
    }
    // Header cut after rpcvers (prog/vers/proc missing): GARBAGE_ARGS.
    let mut rec = BytesMut::new();
    encode_record(
        &[0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0x86],
        64,
        &mut rec,
    );
    assert_eq!(auto_reply(&rec), ReplyStatus::GarbageArgs);
    // Cred cut short: AUTH_BADCRED.
    let mut rec = BytesMut::new();
    #[rustfmt::skip]
    let short = [0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0x86, 0xa3, 0, 0, 0, 3, 0, 0, 0, 1,
                 0, 0, 0, 1, 0, 0, 0, 20, 0, 0];
    encode_record(&short, 64, &mut rec);
    assert_eq!(auto_reply(&rec), ReplyStatus::AuthError(AuthStat::BadCred));
    // Unsupported flavors.
    for (flavor, stat) in [
        (RPCSEC_GSS, AuthStat::TooWeak),
        (AUTH_DH, AuthStat::TooWeak),
        (AUTH_SHORT, AuthStat::RejectedCred),
        (77, AuthStat::TooWeak),
    ] {
        let rec = raw_call(5, &call_words(NFS, 3, 1), (flavor, &[0; 12]), none);
        assert_eq!(
            auto_reply(&rec),
            ReplyStatus::AuthError(stat),
            "flavor {flavor}"
        );
    }
    // Verifier of a flavor we do not accept with AUTH_SYS / AUTH_NONE.
    let rec = raw_call(5, &call_words(NFS, 3, 1), none, (1, &[0; 8]));
    assert_eq!(auto_reply(&rec), ReplyStatus::AuthError(AuthStat::BadVerf));
    // Verifier body over 400 bytes.
    let rec = raw_call(5, &call_words(NFS, 3, 1), none, (0, &[0; 404]));
    assert_eq!(auto_reply(&rec), ReplyStatus::AuthError(AuthStat::BadVerf));
    // Auth is checked before the program (as Linux does): bad cred to an unknown program.
    let rec = raw_call(5, &call_words(NFSACL, 3, 0), (RPCSEC_GSS, &[]), none);
    assert_eq!(auto_reply(&rec), ReplyStatus::AuthError(AuthStat::TooWeak));
}

#[test]
fn auth_sys_limits() {
    let none: (u32, &[u8]) = (0, &[]);
    // At the limits: accepted.
    let body = sys_body(255, 16);
    assert!(body.len() <= 400);
    let rec = raw_call(5, &call_words(NFS, 3, 1), (1, &body), none);
    let mut s = server();
    s.handle_input(&rec).unwrap();
    let call = s.poll_call().unwrap();
    let Credential::Sys(sys) = call.cred else {
        panic!("expected AUTH_SYS")
    };
    assert_eq!(sys.machinename.len(), 255);
    assert_eq!(sys.gids.len(), 16);

    // 256-byte machine name, 17 gids: AUTH_BADCRED.
    for body in [sys_body(256, 0), sys_body(8, 17)] {
        let rec = raw_call(5, &call_words(NFS, 3, 1), (1, &body), none);
        assert_eq!(auto_reply(&rec), ReplyStatus::AuthError(AuthStat::BadCred));
    }
    // A 401-byte credential body (well-formed otherwise: trailing bytes after a valid body).
    let mut body = sys_body(8, 2);
    body.resize(401, 0);
    let rec = raw_call(5, &call_words(NFS, 3, 1), (1, &body), none);
    assert_eq!(auto_reply(&rec), ReplyStatus::AuthError(AuthStat::BadCred));
    // 400 bytes of which only part is the body: trailing garbage is also BADCRED.
    body.truncate(400);
    let rec = raw_call(5, &call_words(NFS, 3, 1), (1, &body), none);
    assert_eq!(auto_reply(&rec), ReplyStatus::AuthError(AuthStat::BadCred));
}

#[test]
fn reply_messages_and_runts_are_dropped_not_fatal() {
    let mut s = server();
    // A REPLY arriving on the server connection.
    let mut rec = BytesMut::new();
    encode_record(&[0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0], 64, &mut rec);
    // A runt record of 3 bytes.
    encode_record(&[1, 2, 3], 64, &mut rec);
    rec.extend_from_slice(&GETATTR_CALL);
    s.handle_input(&rec).unwrap();
    let got = calls(&mut s);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].xid, 7);
    assert_eq!(s.stats().dropped, 2);
    assert!(!s.wants_write());
}

#[test]
fn multi_fragment_record_reassembly() {
    // The GETATTR call's message split into fragments of 1, 5 and 7 bytes, with empty
    // fragments in between.
    let msg = &GETATTR_CALL[4..];
    for frag in [1, 5, 7, 13, 52] {
        let mut wire = BytesMut::new();
        let mut chunks = msg.chunks(frag).peekable();
        while let Some(c) = chunks.next() {
            wire.put_u32(c.len() as u32);
            wire.put_slice(c);
            wire.put_u32(0); // empty non-last fragment
            if chunks.peek().is_none() {
                wire.put_u32(0x8000_0000); // empty last fragment ends the record
            }
        }
        let mut s = server();
        s.handle_input(&wire).unwrap();
        let got = calls(&mut s);
        assert_eq!(got.len(), 1, "fragment size {frag}");
        assert_eq!(&got[0].args[..], &GETATTR_CALL[44..]);
        // Same through the Bytes path.
        let mut s = server();
        s.handle_input_bytes(wire.freeze()).unwrap();
        assert_eq!(calls(&mut s).len(), 1);
    }
}

/// A stream mixing calls for the application and calls the connection answers itself, with some
/// records in several fragments.
fn mixed_stream() -> (Vec<u8>, usize) {
    let none: (u32, &[u8]) = (0, &[]);
    let mut wire = BytesMut::new();
    wire.extend_from_slice(&NULL_CALL_AUTH_SYS);
    wire.extend_from_slice(&GETATTR_CALL);
    wire.extend_from_slice(&raw_call(20, &call_words(NFSACL, 3, 0), none, none));
    let body = sys_body(17, 3);
    let mut msg = raw_call(21, &call_words(NFS, 3, 6), (1, &body), none);
    // Re-frame call 21 in 9-byte fragments.
    let inner = msg.split_off(4);
    encode_record(&inner, 9, &mut wire);
    wire.extend_from_slice(&raw_call(22, &call_words(NFS, 3, 22), none, none));
    wire.extend_from_slice(&raw_call(23, &call_words(MOUNT, 3, 1), none, none));
    (wire.to_vec(), 3)
}

#[test]
fn input_split_at_every_offset_gives_same_calls_and_replies() {
    let (wire, ncalls) = mixed_stream();
    let mut reference = server();
    reference.handle_input(&wire).unwrap();
    let expected = calls(&mut reference);
    assert_eq!(expected.len(), ncalls);
    let expected_out = server_output(&mut reference);
    for cut in 0..=wire.len() {
        for bytes_path in [false, true] {
            let mut s = server();
            let (a, b) = wire.split_at(cut);
            let mut got = Vec::new();
            for part in [a, b] {
                if bytes_path {
                    s.handle_input_bytes(Bytes::copy_from_slice(part)).unwrap();
                } else {
                    s.handle_input(part).unwrap();
                }
                got.extend(calls(&mut s));
            }
            assert_eq!(got, expected, "cut at {cut}, bytes path {bytes_path}");
            assert_eq!(server_output(&mut s), expected_out, "cut at {cut}");
        }
    }
    // And one byte at a time.
    let mut s = server();
    let mut got = Vec::new();
    for byte in &wire {
        s.handle_input(std::slice::from_ref(byte)).unwrap();
        got.extend(calls(&mut s));
    }
    assert_eq!(got, expected);
    assert_eq!(server_output(&mut s), expected_out);
}

#[test]
fn hundreds_of_pipelined_calls_answered_out_of_order() {
    let mut client = ClientConnection::new(ClientConfig::default());
    let mut s = server();
    let n = 500u32;
    let mut xids = Vec::new();
    for i in 0..n {
        let args = i.to_be_bytes();
        let procedure = if i.is_multiple_of(10) { 0 } else { 1 + i % 21 };
        xids.push(
            client
                .send_call(NFS, 3, procedure, &client01(), &RawBody(&args))
                .unwrap(),
        );
    }
    assert_eq!(client.calls_in_flight(), n as usize);
    // Everything in one buffer.
    let wire = client_output(&mut client);
    s.handle_input(&wire).unwrap();
    let got = calls(&mut s);
    assert_eq!(got.len(), 450); // every tenth was NULL
    for (call, i) in got.iter().zip((0..n).filter(|i| !i.is_multiple_of(10))) {
        assert_eq!(call.xid, xids[i as usize]);
        assert_eq!(&call.args[..], &i.to_be_bytes());
        assert_eq!(call.cred, client01());
    }
    assert_eq!(s.calls_in_flight(), 450);
    // Answer in reverse order, each with its own argument echoed.
    for call in got.iter().rev() {
        s.send_reply(call.xid, ReplyBody::Success(&RawBody(&call.args)));
    }
    assert_eq!(s.calls_in_flight(), 0);
    let mut segs = Vec::new();
    let total = s.poll_transmit_vectored(&mut segs, usize::MAX);
    assert!(
        segs.len() < 10,
        "small replies share buffers: {} segments",
        segs.len()
    );
    let flat: Vec<u8> = segs.iter().flat_map(|b| b.iter().copied()).collect();
    assert_eq!(flat.len(), total);
    client.handle_input(&flat).unwrap();
    let replies: Vec<_> = std::iter::from_fn(|| client.poll_reply()).collect();
    assert_eq!(replies.len(), n as usize);
    assert_eq!(client.calls_in_flight(), 0);
    // NULL replies come first (answered while polling), then the reversed ones.
    for r in &replies {
        let i = xids.iter().position(|x| *x == r.xid).unwrap() as u32;
        let expected = if i.is_multiple_of(10) {
            Bytes::new()
        } else {
            Bytes::copy_from_slice(&i.to_be_bytes())
        };
        assert_eq!(r.status, ReplyStatus::Success(expected));
    }
}

#[test]
fn large_payload_is_not_copied() {
    let data = Bytes::from(vec![0x5a; 65536]);
    let mut s = server();
    s.handle_input(&GETATTR_CALL).unwrap();
    let call = s.poll_call().unwrap();
    s.send_reply(
        call.xid,
        ReplyBody::Success(&ReadRes {
            eof: true,
            data: data.clone(),
        }),
    );
    assert_eq!(s.pending_output_bytes(), 4 + 24 + 12 + 4 + 65536);
    let mut segs = Vec::new();
    while let Some(b) = s.poll_transmit() {
        segs.push(b);
    }
    assert!(segs
        .iter()
        .any(|b| b.as_ptr() == data.as_ptr() && b.len() == data.len()));
    let flat: Vec<u8> = segs.iter().flat_map(|b| b.iter().copied()).collect();
    // The record mark covers the payload.
    assert_eq!(
        &flat[..4],
        &(0x8000_0000u32 | (24 + 12 + 4 + 65536)).to_be_bytes()
    );
    let mut c = ClientConnection::new(ClientConfig {
        first_xid: 7,
        ..ClientConfig::default()
    });
    c.send_call(NFS, 3, 6, &Credential::None, &RawBody(&[]))
        .unwrap();
    c.handle_input(&flat).unwrap();
    let ReplyStatus::Success(body) = c.poll_reply().unwrap().status else {
        panic!("expected success")
    };
    assert_eq!(body.len(), 12 + 4 + 65536);
    assert!(body[16..].iter().all(|b| *b == 0x5a));
}

#[test]
fn forged_oversized_fragment_closes_without_allocating() {
    let mut s = server();
    // 2 GiB - 1 announced, last fragment; a little data behind it.
    let mut wire = vec![0xff, 0xff, 0xff, 0xff];
    wire.extend_from_slice(&[0u8; 4096]);
    let err = s.handle_input(&wire).unwrap_err();
    assert_eq!(
        err,
        ConnectionError::Record(RecordError::TooLarge {
            size: 0x7fff_ffff,
            max: 1 << 20
        })
    );
    assert_eq!(s.buffered_input_capacity(), 0);
    assert!(s.poll_call().is_none());
    // Closed for good.
    assert!(s.handle_input(&GETATTR_CALL).is_err());
    assert_eq!(s.error(), Some(err));

    // Same for a non-last fragment that pushes an assembled record past the limit.
    let mut s = server();
    let mut wire = BytesMut::new();
    wire.put_u32(1000);
    wire.put_slice(&[0; 1000]);
    wire.put_u32(0x7fff_0000);
    assert!(s.handle_input(&wire).is_err());
    assert!(s.buffered_input_capacity() < 1 << 20);
    // And through the Bytes path.
    let mut s = server();
    assert!(s
        .handle_input_bytes(Bytes::from_static(&[0x80, 0x20, 0, 0, 1, 2, 3]))
        .is_err());
    assert_eq!(s.buffered_input_capacity(), 0);
}

#[test]
fn calls_complete_before_an_error_stay_available() {
    let mut s = server();
    let mut wire = GETATTR_CALL.to_vec();
    wire.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    assert!(s.handle_input(&wire).is_err());
    assert_eq!(s.poll_call().unwrap().xid, 7);
}

#[test]
fn simulated_pair_with_partial_delivery() {
    // Client and server exchange bytes in small, uneven pieces, with calls in flight both ways.
    let mut client = ClientConnection::new(ClientConfig::default());
    let mut s = server();
    let mut pending_calls: Vec<Call> = Vec::new();
    let mut answered = 0;
    let mut sent = Vec::new();
    let mut to_server: Vec<u8> = Vec::new();
    let mut to_client: Vec<u8> = Vec::new();
    for round in 0..200u32 {
        if round < 120 {
            let procedure = round % 4; // some NULLs
            sent.push(
                client
                    .send_call(
                        NFS,
                        3,
                        procedure,
                        &client01(),
                        &RawBody(&round.to_be_bytes()),
                    )
                    .unwrap(),
            );
        }
        while let Some(b) = client.poll_transmit() {
            to_server.extend_from_slice(&b);
        }
        let take = to_server.len().min(1 + (round as usize * 7) % 61);
        s.handle_input(&to_server[..take]).unwrap();
        to_server.drain(..take);
        pending_calls.extend(std::iter::from_fn(|| s.poll_call()));
        // Answer every other round, newest first.
        if round % 2 == 1 {
            while let Some(call) = pending_calls.pop() {
                s.send_reply(call.xid, ReplyBody::Success(&RawBody(&call.args)));
            }
        }
        while let Some(b) = s.poll_transmit() {
            to_client.extend_from_slice(&b);
        }
        let take = to_client.len().min(1 + (round as usize * 13) % 47);
        client.handle_input(&to_client[..take]).unwrap();
        to_client.drain(..take);
        while let Some(r) = client.poll_reply() {
            assert!(matches!(r.status, ReplyStatus::Success(_)));
            answered += 1;
        }
    }
    // Flush the rest.
    s.handle_input(&to_server).unwrap();
    pending_calls.extend(std::iter::from_fn(|| s.poll_call()));
    for call in pending_calls.drain(..) {
        s.send_reply(call.xid, ReplyBody::Success(&RawBody(&call.args)));
    }
    while let Some(b) = s.poll_transmit() {
        to_client.extend_from_slice(&b);
    }
    client.handle_input(&to_client).unwrap();
    answered += std::iter::from_fn(|| client.poll_reply()).count();
    assert_eq!(answered, sent.len());
    assert_eq!(client.calls_in_flight(), 0);
    assert_eq!(s.calls_in_flight(), 0);
    assert_eq!(client.stats().unexpected_replies, 0);
}

#[test]
fn client_drops_unknown_xids_and_fails_on_garbage() {
    let mut c = ClientConnection::new(ClientConfig::default());
    // A reply to an xid never sent.
    c.handle_input(&NULL_REPLY).unwrap();
    assert!(c.poll_reply().is_none());
    assert_eq!(c.stats().unexpected_replies, 1);
    // A CALL sent to the client is not a reply.
    assert!(matches!(
        c.handle_input(&GETATTR_CALL),
        Err(ConnectionError::MalformedReply(_))
    ));
    assert!(c.handle_input(&NULL_REPLY).is_err());
}

#[test]
fn discard_call_releases_in_flight() {
    let mut s = server();
    s.handle_input(&GETATTR_CALL).unwrap();
    let call = s.poll_call().unwrap();
    assert_eq!(s.calls_in_flight(), 1);
    s.discard_call(call.xid);
    assert_eq!(s.calls_in_flight(), 0);
    assert!(!s.wants_write());
}

#[test]
fn every_accepted_error_status_from_the_application() {
    let bodies = [
        (ReplyBody::GarbageArgs, ReplyStatus::GarbageArgs),
        (ReplyBody::ProcUnavail, ReplyStatus::ProcUnavail),
        (ReplyBody::SystemErr, ReplyStatus::SystemErr),
        (ReplyBody::ProgUnavail, ReplyStatus::ProgUnavail),
        (
            ReplyBody::ProgMismatch { low: 1, high: 3 },
            ReplyStatus::ProgMismatch { low: 1, high: 3 },
        ),
        (
            ReplyBody::AuthError(AuthStat::RejectedVerf),
            ReplyStatus::AuthError(AuthStat::RejectedVerf),
        ),
        (
            ReplyBody::AuthError(AuthStat::TooWeak),
            ReplyStatus::AuthError(AuthStat::TooWeak),
        ),
    ];
    for (body, status) in bodies {
        let mut c = ClientConnection::new(ClientConfig::default());
        let mut s = server();
        c.send_call(NFS, 3, 1, &client01(), &RawBody(&[])).unwrap();
        while let Some(b) = c.poll_transmit() {
            s.handle_input(&b).unwrap();
        }
        let call = s.poll_call().unwrap();
        s.send_reply(call.xid, body);
        while let Some(b) = s.poll_transmit() {
            c.handle_input(&b).unwrap();
        }
        assert_eq!(c.poll_reply().unwrap().status, status);
    }
}

#[test]
fn golden_denied_replies() {
    let none: (u32, &[u8]) = (0, &[]);
    let mut s = server();
    s.handle_input(&raw_call(0x0a0b0c0d, &[0, 3, NFS, 3, 1], none, none))
        .unwrap();
    s.handle_input(&raw_call(
        0x0a0b0c0e,
        &call_words(NFS, 3, 1),
        (RPCSEC_GSS, &[]),
        none,
    ))
    .unwrap();
    s.handle_input(&raw_call(0x0a0b0c0f, &call_words(NFS, 4, 1), none, none))
        .unwrap();
    assert!(s.poll_call().is_none());
    #[rustfmt::skip]
    let expected = [
        0x80, 0, 0, 0x18,            // 24 bytes
        0x0a, 0x0b, 0x0c, 0x0d,      // xid
        0, 0, 0, 1,                  // REPLY
        0, 0, 0, 1,                  // MSG_DENIED
        0, 0, 0, 0,                  // RPC_MISMATCH
        0, 0, 0, 2,                  //   low 2
        0, 0, 0, 2,                  //   high 2
        0x80, 0, 0, 0x14,            // 20 bytes
        0x0a, 0x0b, 0x0c, 0x0e,      // xid
        0, 0, 0, 1,                  // REPLY
        0, 0, 0, 1,                  // MSG_DENIED
        0, 0, 0, 1,                  // AUTH_ERROR
        0, 0, 0, 5,                  //   AUTH_TOOWEAK
        0x80, 0, 0, 0x20,            // 32 bytes
        0x0a, 0x0b, 0x0c, 0x0f,      // xid
        0, 0, 0, 1,                  // REPLY
        0, 0, 0, 0,                  // MSG_ACCEPTED
        0, 0, 0, 0, 0, 0, 0, 0,      // verf AUTH_NONE
        0, 0, 0, 2,                  // PROG_MISMATCH
        0, 0, 0, 3,                  //   low 3
        0, 0, 0, 3,                  //   high 3
    ];
    assert_eq!(server_output(&mut s), expected);
}
