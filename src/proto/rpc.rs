//! ONC-RPC version 2 messages (RFC 5531 §9): call header decode and encode, reply header encode
//! and decode.
//!
//! ```text
//! call:  xid | msg_type=CALL(0) | rpcvers=2 | prog | vers | proc | cred | verf | args...
//! reply: xid | msg_type=REPLY(1) | MSG_ACCEPTED(0) | verf | accept_stat [| mismatch_info] | results...
//!        xid | msg_type=REPLY(1) | MSG_DENIED(1) | RPC_MISMATCH(0) | low | high
//!        xid | msg_type=REPLY(1) | MSG_DENIED(1) | AUTH_ERROR(1) | auth_stat
//! ```

use bytes::Bytes;

use super::auth::{AuthStat, Credential, OpaqueAuth};
use super::xdr::{self, XdrEncode, XdrSink, XdrWrite};

/// The only RPC protocol version (`rpcvers`).
pub const RPC_VERSION: u32 = 2;
/// `msg_type` CALL.
pub const CALL: u32 = 0;
/// `msg_type` REPLY.
pub const REPLY: u32 = 1;
/// `reply_stat` MSG_ACCEPTED.
pub const MSG_ACCEPTED: u32 = 0;
/// `reply_stat` MSG_DENIED.
pub const MSG_DENIED: u32 = 1;

/// `accept_stat` codes.
pub const SUCCESS: u32 = 0;
pub const PROG_UNAVAIL: u32 = 1;
pub const PROG_MISMATCH: u32 = 2;
pub const PROC_UNAVAIL: u32 = 3;
pub const GARBAGE_ARGS: u32 = 4;
pub const SYSTEM_ERR: u32 = 5;

/// `reject_stat` codes.
pub const RPC_MISMATCH: u32 = 0;
pub const AUTH_ERROR: u32 = 1;

/// An empty XDR body: the result of every NULL procedure.
#[derive(Debug, Clone, Copy, Default)]
pub struct Void;

impl XdrEncode for Void {
    fn encode(&self, _out: &mut XdrSink) {}
}

/// A raw byte body, written as is (already XDR-encoded results or arguments).
#[derive(Debug, Clone, Copy)]
pub struct RawBody<'a>(pub &'a [u8]);

impl XdrEncode for RawBody<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.head_mut().extend_from_slice(self.0);
    }
}

/// A decoded call header. `args` is the rest of the message, undecoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallHeader<'a> {
    pub xid: u32,
    pub prog: u32,
    pub vers: u32,
    pub procedure: u32,
    pub cred: OpaqueAuth<'a>,
    pub verf: OpaqueAuth<'a>,
    pub args: &'a [u8],
}

/// Why a message is not a usable call, in the order the checks are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallError {
    /// Fewer than eight bytes: there is no xid to answer. Drop it.
    Truncated,
    /// The message is a REPLY (or of an unknown type), not a call. Drop it.
    NotACall { xid: u32, msg_type: u32 },
    /// `rpcvers` is not 2 (or missing): answer MSG_DENIED / RPC_MISMATCH(2, 2).
    RpcVersion { xid: u32, rpcvers: Option<u32> },
    /// `prog`, `vers` or `proc` is missing: answer GARBAGE_ARGS.
    Garbage { xid: u32 },
    /// The credential is not a well-formed `opaque_auth` (truncated, or a body over 400 bytes):
    /// answer AUTH_ERROR / AUTH_BADCRED.
    BadCred { xid: u32 },
    /// The verifier is not a well-formed `opaque_auth`: answer AUTH_ERROR / AUTH_BADVERF.
    BadVerf { xid: u32 },
}

/// Decodes a call header from a whole record.
pub fn decode_call(record: &[u8]) -> Result<CallHeader<'_>, CallError> {
    let Ok((rest, (xid, msg_type))) = xdr_pair(record) else {
        return Err(CallError::Truncated);
    };
    if msg_type != CALL {
        return Err(CallError::NotACall { xid, msg_type });
    }
    let (rest, rpcvers) = match xdr::u32(rest) {
        Ok((rest, 2)) => (rest, 2),
        Ok((_, v)) => {
            return Err(CallError::RpcVersion {
                xid,
                rpcvers: Some(v),
            })
        }
        Err(_) => return Err(CallError::RpcVersion { xid, rpcvers: None }),
    };
    debug_assert_eq!(rpcvers, RPC_VERSION);
    let Ok((rest, (prog, vers, procedure))) = xdr_triple(rest) else {
        return Err(CallError::Garbage { xid });
    };
    let Ok((rest, cred)) = OpaqueAuth::decode(rest) else {
        return Err(CallError::BadCred { xid });
    };
    let Ok((args, verf)) = OpaqueAuth::decode(rest) else {
        return Err(CallError::BadVerf { xid });
    };
    Ok(CallHeader {
        xid,
        prog,
        vers,
        procedure,
        cred,
        verf,
        args,
    })
}

fn xdr_pair(input: &[u8]) -> xdr::XdrResult<'_, (u32, u32)> {
    let (rest, a) = xdr::u32(input)?;
    let (rest, b) = xdr::u32(rest)?;
    Ok((rest, (a, b)))
}

fn xdr_triple(input: &[u8]) -> xdr::XdrResult<'_, (u32, u32, u32)> {
    let (rest, (a, b)) = xdr_pair(input)?;
    let (rest, c) = xdr::u32(rest)?;
    Ok((rest, (a, b, c)))
}

/// Writes a call header (with an AUTH_NONE verifier); the arguments follow.
pub fn encode_call_header<W: XdrWrite + ?Sized>(
    out: &mut W,
    xid: u32,
    prog: u32,
    vers: u32,
    procedure: u32,
    cred: &Credential,
) {
    out.put_xdr_u32(xid);
    out.put_xdr_u32(CALL);
    out.put_xdr_u32(RPC_VERSION);
    out.put_xdr_u32(prog);
    out.put_xdr_u32(vers);
    out.put_xdr_u32(procedure);
    cred.encode(out);
    OpaqueAuth::NONE.encode(out);
}

/// What a server answers to a call.
#[derive(Clone, Copy)]
pub enum ReplyBody<'a> {
    /// MSG_ACCEPTED / SUCCESS, followed by the procedure's results.
    Success(&'a dyn XdrEncode),
    /// MSG_ACCEPTED / PROG_UNAVAIL: the program is not served here.
    ProgUnavail,
    /// MSG_ACCEPTED / PROG_MISMATCH: the versions of the program that are served.
    ProgMismatch { low: u32, high: u32 },
    /// MSG_ACCEPTED / PROC_UNAVAIL: no such procedure.
    ProcUnavail,
    /// MSG_ACCEPTED / GARBAGE_ARGS: the arguments could not be decoded.
    GarbageArgs,
    /// MSG_ACCEPTED / SYSTEM_ERR: e.g. out of memory.
    SystemErr,
    /// MSG_DENIED / RPC_MISMATCH: the RPC versions supported (2, 2).
    RpcMismatch { low: u32, high: u32 },
    /// MSG_DENIED / AUTH_ERROR.
    AuthError(AuthStat),
}

impl std::fmt::Debug for ReplyBody<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Success(_) => f.write_str("Success(..)"),
            Self::ProgUnavail => f.write_str("ProgUnavail"),
            Self::ProgMismatch { low, high } => write!(f, "ProgMismatch({low}, {high})"),
            Self::ProcUnavail => f.write_str("ProcUnavail"),
            Self::GarbageArgs => f.write_str("GarbageArgs"),
            Self::SystemErr => f.write_str("SystemErr"),
            Self::RpcMismatch { low, high } => write!(f, "RpcMismatch({low}, {high})"),
            Self::AuthError(stat) => write!(f, "AuthError({stat:?})"),
        }
    }
}

/// Writes a whole reply message (header, AUTH_NONE verifier for accepted replies, and the results
/// of a successful one).
pub fn encode_reply(out: &mut XdrSink, xid: u32, body: &ReplyBody<'_>) {
    out.put_xdr_u32(xid);
    out.put_xdr_u32(REPLY);
    let accepted = |out: &mut XdrSink, stat: u32| {
        out.put_xdr_u32(MSG_ACCEPTED);
        OpaqueAuth::NONE.encode(out);
        out.put_xdr_u32(stat);
    };
    match *body {
        ReplyBody::Success(results) => {
            accepted(out, SUCCESS);
            results.encode(out);
        }
        ReplyBody::ProgUnavail => accepted(out, PROG_UNAVAIL),
        ReplyBody::ProgMismatch { low, high } => {
            accepted(out, PROG_MISMATCH);
            out.put_xdr_u32(low);
            out.put_xdr_u32(high);
        }
        ReplyBody::ProcUnavail => accepted(out, PROC_UNAVAIL),
        ReplyBody::GarbageArgs => accepted(out, GARBAGE_ARGS),
        ReplyBody::SystemErr => accepted(out, SYSTEM_ERR),
        ReplyBody::RpcMismatch { low, high } => {
            out.put_xdr_u32(MSG_DENIED);
            out.put_xdr_u32(RPC_MISMATCH);
            out.put_xdr_u32(low);
            out.put_xdr_u32(high);
        }
        ReplyBody::AuthError(stat) => {
            out.put_xdr_u32(MSG_DENIED);
            out.put_xdr_u32(AUTH_ERROR);
            out.put_xdr_u32(stat as u32);
        }
    }
}

/// A decoded reply's status; a successful one carries its undecoded results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyStatus {
    /// SUCCESS: the results, a zero-copy slice of the received record.
    Success(Bytes),
    ProgUnavail,
    ProgMismatch {
        low: u32,
        high: u32,
    },
    ProcUnavail,
    GarbageArgs,
    SystemErr,
    RpcMismatch {
        low: u32,
        high: u32,
    },
    AuthError(AuthStat),
}

/// A decoded reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyMsg {
    pub xid: u32,
    pub status: ReplyStatus,
}

/// A message that is not a well-formed reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("message too short for an RPC header")]
    Truncated,
    #[error("message {xid:#x} is not a reply (msg_type {msg_type})")]
    NotAReply { xid: u32, msg_type: u32 },
    #[error("reply {xid:#x} is malformed")]
    Malformed { xid: u32 },
}

/// Decodes a whole reply record. The verifier of an accepted reply is skipped (any flavor, at
/// most 400 bytes); the results of a successful one are a slice of `record`.
pub fn decode_reply(record: &Bytes) -> Result<ReplyMsg, ReplyError> {
    let Ok((rest, (xid, msg_type))) = xdr_pair(record) else {
        return Err(ReplyError::Truncated);
    };
    if msg_type != REPLY {
        return Err(ReplyError::NotAReply { xid, msg_type });
    }
    let status = reply_status(rest, record).ok_or(ReplyError::Malformed { xid })?;
    Ok(ReplyMsg { xid, status })
}

fn reply_status(input: &[u8], record: &Bytes) -> Option<ReplyStatus> {
    let (rest, reply_stat) = xdr::u32(input).ok()?;
    match reply_stat {
        MSG_ACCEPTED => {
            let (rest, _verf) = OpaqueAuth::decode(rest).ok()?;
            let (rest, stat) = xdr::u32(rest).ok()?;
            Some(match stat {
                SUCCESS => {
                    let offset = record.len() - rest.len();
                    ReplyStatus::Success(record.slice(offset..))
                }
                PROG_UNAVAIL => ReplyStatus::ProgUnavail,
                PROG_MISMATCH => {
                    let (_, (low, high)) = xdr_pair(rest).ok()?;
                    ReplyStatus::ProgMismatch { low, high }
                }
                PROC_UNAVAIL => ReplyStatus::ProcUnavail,
                GARBAGE_ARGS => ReplyStatus::GarbageArgs,
                SYSTEM_ERR => ReplyStatus::SystemErr,
                _ => return None,
            })
        }
        MSG_DENIED => {
            let (rest, reject) = xdr::u32(rest).ok()?;
            match reject {
                RPC_MISMATCH => {
                    let (_, (low, high)) = xdr_pair(rest).ok()?;
                    Some(ReplyStatus::RpcMismatch { low, high })
                }
                AUTH_ERROR => {
                    let (_, stat) = xdr::u32(rest).ok()?;
                    AuthStat::from_u32(stat).map(ReplyStatus::AuthError)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::auth::{AuthSys, AUTH_SYS};
    use smallvec::smallvec;

    #[test]
    fn call_header_round_trip() {
        let cred = Credential::Sys(AuthSys {
            stamp: 7,
            machinename: smallvec![b'x'; 3],
            uid: 1,
            gid: 2,
            gids: smallvec![3, 4],
        });
        let mut sink = XdrSink::new();
        encode_call_header(&mut sink, 0x1234, 100003, 3, 1, &cred);
        sink.put_xdr_u32(0xdead_beef);
        let bytes = sink.to_vec();
        let h = decode_call(&bytes).unwrap();
        assert_eq!((h.xid, h.prog, h.vers, h.procedure), (0x1234, 100003, 3, 1));
        assert_eq!(h.cred.flavor, AUTH_SYS);
        assert_eq!(Credential::from_opaque(h.cred), Ok(cred));
        assert_eq!(h.verf, OpaqueAuth::NONE);
        assert_eq!(h.args, &[0xde, 0xad, 0xbe, 0xef]);
    }

    #[test]
    fn call_errors_in_order() {
        assert_eq!(decode_call(&[0, 0, 0, 1]), Err(CallError::Truncated));
        assert_eq!(
            decode_call(&[0, 0, 0, 1, 0, 0, 0, 1]),
            Err(CallError::NotACall {
                xid: 1,
                msg_type: 1
            })
        );
        assert_eq!(
            decode_call(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3]),
            Err(CallError::RpcVersion {
                xid: 1,
                rpcvers: Some(3)
            })
        );
        assert_eq!(
            decode_call(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 9]),
            Err(CallError::Garbage { xid: 1 })
        );
    }

    #[test]
    fn every_reply_round_trips() {
        let bodies = [
            (ReplyBody::ProgUnavail, ReplyStatus::ProgUnavail),
            (
                ReplyBody::ProgMismatch { low: 2, high: 3 },
                ReplyStatus::ProgMismatch { low: 2, high: 3 },
            ),
            (ReplyBody::ProcUnavail, ReplyStatus::ProcUnavail),
            (ReplyBody::GarbageArgs, ReplyStatus::GarbageArgs),
            (ReplyBody::SystemErr, ReplyStatus::SystemErr),
            (
                ReplyBody::RpcMismatch { low: 2, high: 2 },
                ReplyStatus::RpcMismatch { low: 2, high: 2 },
            ),
            (
                ReplyBody::AuthError(AuthStat::TooWeak),
                ReplyStatus::AuthError(AuthStat::TooWeak),
            ),
            (
                ReplyBody::Success(&RawBody(&[1, 2, 3, 4])),
                ReplyStatus::Success(Bytes::from_static(&[1, 2, 3, 4])),
            ),
        ];
        for (body, status) in bodies {
            let mut sink = XdrSink::new();
            encode_reply(&mut sink, 99, &body);
            let bytes = Bytes::from(sink.to_vec());
            assert_eq!(decode_reply(&bytes), Ok(ReplyMsg { xid: 99, status }));
        }
    }
}
