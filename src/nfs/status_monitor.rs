//! NSM calls: the status monitor of the lock manager. Peers tell it that they restarted
//! (SM_NOTIFY), which releases their locks; it monitors no hosts on behalf of other local
//! services (SM_MON fails), as it only serves the lock manager beside it.
use crate::lockmgr::LockManager;
use crate::proto::connection::{Call, CallReply};
use crate::proto::nsm::{NsmCall, NsmReply, SmRes, SmStatRes};
use crate::proto::xdr::{XdrEncode, XdrSink};
use crate::server::Peer;

use super::decode_failure;

/// Runs one NSM call.
pub(super) fn handle(locks: &LockManager, call: &Call, peer: Peer) -> CallReply {
    let args = match NsmCall::decode(call.procedure, &call.args) {
        Ok(a) => a,
        Err(e) => return decode_failure(e),
    };
    let state = locks.state();
    let reply = match args {
        NsmCall::Null | NsmCall::SimuCrash => NsmReply::Void,
        NsmCall::Stat(_) => NsmReply::StatRes(SmStatRes {
            res_stat: SmRes::Succ,
            state,
        }),
        NsmCall::Mon(_) => NsmReply::StatRes(SmStatRes {
            res_stat: SmRes::Fail,
            state,
        }),
        NsmCall::Unmon(_) | NsmCall::UnmonAll(_) => NsmReply::Stat(state),
        NsmCall::Notify(n) => {
            log::info!(
                "SM_NOTIFY from {} ({}): state {}",
                String::from_utf8_lossy(n.mon_name),
                peer.remote,
                n.state
            );
            locks.client_restarted(n.mon_name, n.state);
            NsmReply::Void
        }
    };
    let mut out = XdrSink::with_capacity(16);
    reply.encode(&mut out);
    CallReply::from_sink(out)
}
