//! Portmap v2 and rpcbind v3/v4 calls, answered from the server's own registrations: where
//! NFS, MOUNT and the lock manager are.
use std::time::{SystemTime, UNIX_EPOCH};

use crate::proto::connection::{Call, CallReply};
use crate::proto::portmap::{PortmapCall, PortmapTable, IPPROTO_TCP, IPPROTO_UDP, VERSION};
use crate::proto::rpcbind::RpcbindCall;
use crate::proto::xdr::{XdrEncode, XdrSink};
use crate::server::{Peer, Transport};

use super::decode_failure;

/// Runs one call of program 100000 (any served version).
pub(super) fn handle(table: &PortmapTable, call: &Call, peer: Peer) -> CallReply {
    let mut out = XdrSink::with_capacity(256);
    if call.vers == VERSION {
        match PortmapCall::decode(call.procedure, &call.args) {
            Ok(args) => table.answer(&args).encode(&mut out),
            Err(e) => return decode_failure(e),
        }
    } else {
        let args = match RpcbindCall::decode(call.vers, call.procedure, &call.args) {
            Ok(a) => a,
            Err(e) => return decode_failure(e),
        };
        let ipproto = match peer.transport {
            Transport::Tcp => IPPROTO_TCP,
            Transport::Udp => IPPROTO_UDP,
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
        table
            .answer_rpcbind(&args, peer.local.ip(), ipproto, now)
            .encode(&mut out);
    }
    CallReply::from_sink(out)
}
