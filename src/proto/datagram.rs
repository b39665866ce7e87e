//! ONC-RPC over UDP (RFC 5531 section 10: one message per datagram, no record marking), for the
//! programs clients reach by datagram: portmap and rpcbind (rpc.statd and sm-notify ask them
//! by UDP) and the status monitor (sm-notify sends SM_NOTIFY by UDP).
//!
//! Admission is the same as on a TCP connection ([`ServerConfig::classify`]); a datagram's
//! answer is one datagram. There is no connection state, so nothing to poll: the driver hands
//! each datagram to [`DatagramServer::receive`] and sends back what it yields.

use std::sync::Arc;

use bytes::Bytes;

use super::auth::Credential;
use super::connection::{Call, CallReply, Disposition, ServerConfig};
use super::rpc::{self, ReplyBody};
use super::xdr::{XdrEncode, XdrSink};

/// Largest UDP payload over IPv4; a reply that does not fit is replaced by SYSTEM_ERR.
pub const MAX_DATAGRAM: usize = 65_507;

/// What became of one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A call for the application; answer it with [`DatagramServer::reply`].
    Call(Call),
    /// Answered by the engine (NULL, or a rejection): send these bytes back.
    Reply(Bytes),
    /// Not answerable (too short, or not a call): nothing to send.
    Drop,
}

/// The server side of ONC-RPC over UDP.
#[derive(Debug, Clone)]
pub struct DatagramServer {
    config: Arc<ServerConfig>,
}

impl DatagramServer {
    pub fn new(config: Arc<ServerConfig>) -> Self {
        DatagramServer { config }
    }

    /// Classifies one received datagram. `args` of a call is a zero-copy slice of it.
    pub fn receive(&self, datagram: Bytes) -> Received {
        match self.config.classify(&datagram) {
            Disposition::Call {
                xid,
                prog,
                vers,
                procedure,
                cred,
                args,
            } => {
                let offset = datagram.len() - args.len();
                Received::Call(Call {
                    xid,
                    prog,
                    vers,
                    procedure,
                    cred,
                    args: datagram.slice(offset..),
                })
            }
            Disposition::Reply(xid, auto) => Received::Reply(encode(xid, auto.body())),
            Disposition::Drop(_) => Received::Drop,
        }
    }

    /// The datagram answering call `xid`; `None` for [`CallReply::Drop`].
    pub fn reply(&self, xid: u32, reply: &CallReply) -> Option<Bytes> {
        reply.with_body(|body| encode(xid, body))
    }
}

fn encode(xid: u32, body: ReplyBody<'_>) -> Bytes {
    let mut sink = XdrSink::with_capacity(128);
    rpc::encode_reply(&mut sink, xid, &body);
    if sink.len() > MAX_DATAGRAM {
        sink = XdrSink::with_capacity(32);
        rpc::encode_reply(&mut sink, xid, &ReplyBody::SystemErr);
    }
    Bytes::from(sink.to_vec())
}

/// One call as a datagram (client mode): header, AUTH_NONE verifier, arguments.
pub fn encode_call(
    xid: u32,
    prog: u32,
    vers: u32,
    procedure: u32,
    cred: &Credential,
    args: &dyn XdrEncode,
) -> Vec<u8> {
    let mut sink = XdrSink::with_capacity(256);
    rpc::encode_call_header(&mut sink, xid, prog, vers, procedure, cred);
    args.encode(&mut sink);
    sink.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::rpc::{decode_reply, RawBody, ReplyMsg, ReplyStatus};

    fn config() -> Arc<ServerConfig> {
        Arc::new(ServerConfig::new(1 << 16).program(100_024, 1, 1, 6))
    }

    #[test]
    fn calls_and_engine_replies() {
        let server = DatagramServer::new(config());
        let call = encode_call(
            7,
            100_024,
            1,
            6,
            &Credential::None,
            &RawBody(&[0, 0, 0, 0, 0, 0, 0, 1]),
        );
        let Received::Call(c) = server.receive(Bytes::from(call)) else {
            panic!()
        };
        assert_eq!((c.xid, c.prog, c.procedure), (7, 100_024, 6));
        assert_eq!(&c.args[..], &[0, 0, 0, 0, 0, 0, 0, 1]);
        let reply = server
            .reply(
                7,
                &CallReply::Results(vec![Bytes::from_static(&[0, 0, 0, 9])]),
            )
            .unwrap();
        assert_eq!(
            decode_reply(&reply).unwrap(),
            ReplyMsg {
                xid: 7,
                status: ReplyStatus::Success(Bytes::from_static(&[0, 0, 0, 9]))
            }
        );
        assert_eq!(server.reply(7, &CallReply::Drop), None);

        // NULL is answered by the engine; an unknown program gets PROG_UNAVAIL.
        let null = encode_call(8, 100_024, 1, 0, &Credential::None, &RawBody(&[]));
        let Received::Reply(r) = server.receive(Bytes::from(null)) else {
            panic!()
        };
        assert_eq!(
            decode_reply(&r).unwrap().status,
            ReplyStatus::Success(Bytes::new())
        );
        let other = encode_call(9, 100_021, 4, 1, &Credential::None, &RawBody(&[]));
        let Received::Reply(r) = server.receive(Bytes::from(other)) else {
            panic!()
        };
        assert_eq!(decode_reply(&r).unwrap().status, ReplyStatus::ProgUnavail);
        // Garbage is dropped.
        assert_eq!(
            server.receive(Bytes::from_static(&[1, 2, 3])),
            Received::Drop
        );
    }

    #[test]
    fn oversized_reply_becomes_system_err() {
        let server = DatagramServer::new(config());
        let big = CallReply::Results(vec![Bytes::from(vec![0u8; MAX_DATAGRAM])]);
        let r = server.reply(1, &big).unwrap();
        assert_eq!(decode_reply(&r).unwrap().status, ReplyStatus::SystemErr);
    }
}
