//! Harnesses for the ONC-RPC layer: record marking, call/reply headers, auth, connections.
//!
//! Besides "never panics", they check properties:
//! - splitting the input anywhere (and either input path) yields the same calls, the same output
//!   and the same verdict as feeding it whole;
//! - everything a server emits decodes as well-formed replies, one per answered record;
//! - `pending_output_bytes` is exactly what `poll_transmit` hands out, and every call handed out
//!   is accounted in `calls_in_flight`;
//! - decoded headers, credentials and replies re-encode to values that decode the same.

use std::sync::Arc;

use bytes::Bytes;
use slatenfs::proto::auth::{check_verifier, AuthSys, Credential, OpaqueAuth};
use slatenfs::proto::client::{ClientConfig, ClientConnection};
use slatenfs::proto::connection::{Call, Disposition, ServerConfig, ServerConnection};
use slatenfs::proto::record::RecordDecoder;
use slatenfs::proto::rpc::{self, RawBody, ReplyBody, ReplyStatus};
use slatenfs::proto::xdr::{XdrEncode, XdrSink};

const MAX_RECORD: usize = 64 * 1024;

fn config() -> Arc<ServerConfig> {
    Arc::new(
        ServerConfig::new(MAX_RECORD)
            .program(100_003, 3, 3, 21)
            .program(100_005, 1, 3, 5)
            .program(100_000, 2, 2, 5),
    )
}

/// A results body carrying the call's arguments as a zero-copy payload.
struct Echo(Bytes);

impl XdrEncode for Echo {
    fn encode(&self, out: &mut XdrSink) {
        out.put_payload(self.0.clone());
    }
}

/// Answers a call with a reply chosen by its xid.
fn answer(conn: &mut ServerConnection, call: &Call) {
    match call.xid % 7 {
        0 => conn.send_reply(call.xid, ReplyBody::Success(&RawBody(&call.args))),
        1 => conn.send_reply(call.xid, ReplyBody::Success(&Echo(call.args.clone()))),
        2 => conn.send_reply(call.xid, ReplyBody::GarbageArgs),
        3 => conn.send_reply(call.xid, ReplyBody::ProcUnavail),
        4 => conn.send_reply(call.xid, ReplyBody::SystemErr),
        5 => conn.send_reply(
            call.xid,
            ReplyBody::AuthError(slatenfs::proto::auth::AuthStat::TooWeak),
        ),
        _ => conn.discard_call(call.xid),
    }
}

/// Polls every call, answers it at once (so the output order is the record order whatever the
/// input split), and drains the output, checking the byte accounting.
fn pump(conn: &mut ServerConnection, calls: &mut Vec<Call>, out: &mut Vec<u8>) {
    while let Some(call) = conn.poll_call() {
        answer(conn, &call);
        calls.push(call);
    }
    assert_eq!(conn.calls_in_flight(), 0);
    let pending = conn.pending_output_bytes();
    let before = out.len();
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    assert_eq!(out.len() - before, pending);
    assert!(!conn.wants_write());
}

/// Deterministic chunk sizes from the mode byte.
struct Splitter(u32);

impl Splitter {
    fn next(&mut self, max: usize) -> usize {
        // xorshift32
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        let n = match x % 4 {
            0 => 1,
            1 => (x >> 8) as usize % 8 + 1,
            2 => (x >> 8) as usize % 128 + 1,
            _ => (x >> 8) as usize % 4096 + 1,
        };
        n.min(max)
    }
}

/// The `connection` target: `data[0]` picks the split pattern and input path, the rest is the
/// byte stream, fed to a server connection (whole and split) and to a client connection.
pub fn connection(data: &[u8]) {
    let Some((&mode, stream)) = data.split_first() else {
        return;
    };
    let config = config();

    let mut whole = ServerConnection::new(config.clone());
    let whole_result = whole.handle_input(stream);
    let (mut whole_calls, mut whole_out) = (Vec::new(), Vec::new());
    pump(&mut whole, &mut whole_calls, &mut whole_out);

    let mut split = ServerConnection::new(config);
    let mut splitter = Splitter(u32::from(mode).wrapping_mul(0x9e37_79b9) | 1);
    let (mut calls, mut out) = (Vec::new(), Vec::new());
    let mut rest = stream;
    let mut split_result = Ok(());
    while !rest.is_empty() && split_result.is_ok() {
        let (chunk, tail) = rest.split_at(splitter.next(rest.len()));
        split_result = if mode & 0x80 != 0 {
            split.handle_input_bytes(Bytes::copy_from_slice(chunk))
        } else {
            split.handle_input(chunk)
        };
        pump(&mut split, &mut calls, &mut out);
        rest = tail;
    }
    assert_eq!(whole_result, split_result);
    assert_eq!(whole_calls, calls);
    assert_eq!(whole_out, out);
    for call in &calls {
        assert!(call.procedure != 0);
        assert!(call.args.len() <= MAX_RECORD);
    }

    // Everything the server wrote is well-formed replies, one per answered record.
    let stats = *split.stats();
    let mut decoder = RecordDecoder::new(usize::MAX);
    let mut replies = 0u64;
    decoder
        .decode(&out, |record| {
            assert!(rpc::decode_reply(&record).is_ok());
            replies += 1;
        })
        .expect("server output is well framed");
    assert!(decoder.at_record_boundary());
    assert_eq!(replies, stats.replies + stats.null_calls + stats.rejected);
    assert_eq!(
        stats.records,
        stats.calls + stats.null_calls + stats.rejected + stats.dropped
    );

    // The same stream as a server's replies to a client with calls outstanding.
    let mut client = ClientConnection::new(ClientConfig {
        max_record_size: MAX_RECORD,
        first_xid: 1,
    });
    for procedure in 0..8 {
        let _ = client.send_call(100_003, 3, procedure, &Credential::None, &RawBody(&[]));
    }
    while client.poll_transmit().is_some() {}
    let mut rest = stream;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(splitter.next(rest.len()));
        let result = if mode & 0x40 != 0 {
            client.handle_input_bytes(Bytes::copy_from_slice(chunk))
        } else {
            client.handle_input(chunk)
        };
        while let Some(reply) = client.poll_reply() {
            assert!(reply.xid >= 1 && reply.xid <= 8);
            assert!(!client.is_outstanding(reply.xid));
        }
        if result.is_err() {
            break;
        }
        rest = tail;
    }
}

/// The reply body that encodes an error status (`None` for SUCCESS, whose results are bytes).
fn error_body(status: &ReplyStatus) -> Option<ReplyBody<'static>> {
    Some(match *status {
        ReplyStatus::Success(_) => return None,
        ReplyStatus::ProgUnavail => ReplyBody::ProgUnavail,
        ReplyStatus::ProgMismatch { low, high } => ReplyBody::ProgMismatch { low, high },
        ReplyStatus::ProcUnavail => ReplyBody::ProcUnavail,
        ReplyStatus::GarbageArgs => ReplyBody::GarbageArgs,
        ReplyStatus::SystemErr => ReplyBody::SystemErr,
        ReplyStatus::RpcMismatch { low, high } => ReplyBody::RpcMismatch { low, high },
        ReplyStatus::AuthError(stat) => ReplyBody::AuthError(stat),
    })
}

/// The `rpc_header` target: `data` is one record (no record mark).
pub fn rpc_header(data: &[u8]) {
    let config = config();
    let disposition = config.classify(data);
    match rpc::decode_call(data) {
        Ok(h) => {
            let cred = Credential::from_opaque(h.cred);
            let verf = check_verifier(h.verf);
            if let Disposition::Call {
                xid,
                procedure,
                cred: c,
                args,
                ..
            } = &disposition
            {
                assert_eq!((*xid, *procedure), (h.xid, h.procedure));
                assert_eq!(Ok(c), cred.as_ref());
                assert!(verf.is_ok());
                assert_eq!(*args, h.args);
            }
            if let Ok(cred) = cred {
                let mut sink = XdrSink::new();
                rpc::encode_call_header(&mut sink, h.xid, h.prog, h.vers, h.procedure, &cred);
                let bytes = sink.to_vec();
                let again = rpc::decode_call(&bytes).expect("re-encoded header decodes");
                assert_eq!(
                    (again.xid, again.prog, again.vers, again.procedure),
                    (h.xid, h.prog, h.vers, h.procedure)
                );
                assert_eq!(again.verf, OpaqueAuth::NONE);
                assert!(again.args.is_empty());
                assert_eq!(Credential::from_opaque(again.cred), Ok(cred));
            }
        }
        Err(_) => assert!(!matches!(disposition, Disposition::Call { .. })),
    }

    if let Ok(sys) = AuthSys::decode_body(data) {
        let mut sink = XdrSink::new();
        Credential::Sys(sys.clone()).encode(&mut sink);
        let bytes = sink.to_vec();
        assert_eq!(bytes.len(), 8 + data.len());
        let (_, auth) = OpaqueAuth::decode(&bytes).expect("re-encoded credential decodes");
        assert_eq!(Credential::from_opaque(auth), Ok(Credential::Sys(sys)));
    }

    let record = Bytes::copy_from_slice(data);
    if let Ok(reply) = rpc::decode_reply(&record) {
        let raw;
        let status = match (&reply.status, error_body(&reply.status)) {
            (_, Some(body)) => body,
            (ReplyStatus::Success(results), None) => {
                raw = RawBody(results);
                ReplyBody::Success(&raw)
            }
            (_, None) => return,
        };
        let mut sink = XdrSink::new();
        rpc::encode_reply(&mut sink, reply.xid, &status);
        let again = rpc::decode_reply(&Bytes::from(sink.to_vec())).expect("re-encoded reply");
        assert_eq!(again, reply);
    }
}
