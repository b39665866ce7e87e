//! NLM v4 calls mapped to the lock manager: the file handle resolved to an inode (a handle
//! that no longer names a file is NLM4_STALE_FH), the lock manager's answer encoded back.
//!
//! The asynchronous `*_MSG` procedures are answered at once with an empty reply; their result,
//! the same as their synchronous twin's, goes back to the caller's lock manager as the matching
//! `*_RES` call.
use std::time::Instant;

use bytes::Bytes;

use crate::exports::ExportTable;
use crate::fs::Fs;
use crate::lockmgr::{ClientAddr, LockManager};
use crate::proto::connection::{Call, CallReply};
use crate::proto::nlm4::{
    nlmproc4, Nlm4Call, Nlm4Reply, Nlm4Res, Nlm4ShareRes, Nlm4Stats, Nlm4TestRes, Nlm4TestRply,
};
use crate::proto::xdr::{encode_to_vec, XdrEncode, XdrSink};
use crate::server::Peer;

use super::decode_failure;
use super::handle::HandleCodec;

/// What NLM needs to turn a file handle into a file: the handle's MAC and generation are
/// checked as for NFS calls, and so is the export: a handle of an export that does not admit
/// the caller names no file here (NLM4_STALE_FH), so a host the rules refuse cannot take or
/// test locks either.
pub(super) struct Files<'a> {
    pub fs: &'a Fs,
    pub codec: &'a HandleCodec,
    pub exports: &'a ExportTable,
}

impl Files<'_> {
    /// The inode `fh` names for a caller at `peer`, if any.
    async fn inode(&self, fh: &[u8], peer: std::net::IpAddr) -> Option<u64> {
        let content = self.codec.decode(fh).ok()?;
        if content.view != crate::snapshot::LIVE_VIEW {
            // Snapshots are read-only and locks are the live files' (a snapshot's inode
            // numbers are the live ones): none are taken there.
            return None;
        }
        self.exports.by_id(content.export)?.admit(peer)?;
        self.fs.resolve(content.object).await.ok().map(|i| i.0)
    }
}

fn reply(r: &Nlm4Reply<'_>) -> CallReply {
    let mut out = XdrSink::with_capacity(128);
    r.encode(&mut out);
    CallReply::from_sink(out)
}

/// Runs one NLM call.
pub(super) async fn handle(
    locks: &LockManager,
    files: Files<'_>,
    call: &Call,
    peer: Peer,
) -> CallReply {
    let args = match Nlm4Call::decode(call.procedure, &call.args) {
        Ok(a) => a,
        Err(e) => {
            log::debug!("NLM proc {} from {}: {e}", call.procedure, peer.remote);
            return decode_failure(e);
        }
    };
    log::debug!(
        "NLM {} from {}",
        nlmproc4::name(call.procedure),
        peer.remote
    );
    let from = ClientAddr {
        remote: peer.remote.ip(),
        local: peer.local.ip(),
    };
    let now = Instant::now();
    let ino = match args.file_handle() {
        Some(fh) => files.inode(fh, peer.remote.ip()).await,
        None => None,
    };
    let res_proc = match args {
        Nlm4Call::Null => return reply(&Nlm4Reply::Void),
        Nlm4Call::FreeAll(n) => {
            locks.free_all(n.name);
            return reply(&Nlm4Reply::Void);
        }
        Nlm4Call::GrantedRes(r) => {
            locks.granted_res(r.cookie, r.stat, now);
            return reply(&Nlm4Reply::Void);
        }
        Nlm4Call::TestMsg(_) => Some(nlmproc4::TEST_RES),
        Nlm4Call::LockMsg(_) => Some(nlmproc4::LOCK_RES),
        Nlm4Call::CancelMsg(_) => Some(nlmproc4::CANCEL_RES),
        Nlm4Call::UnlockMsg(_) => Some(nlmproc4::UNLOCK_RES),
        // Results of requests a server does not make, and grants it does not wait for.
        Nlm4Call::GrantedMsg(_)
        | Nlm4Call::TestRes(_)
        | Nlm4Call::LockRes(_)
        | Nlm4Call::CancelRes(_)
        | Nlm4Call::UnlockRes(_) => return reply(&Nlm4Reply::Void),
        _ => None,
    };
    let result = outcome(locks, from, ino, &args, now).await;
    match res_proc {
        None => CallReply::Results(vec![Bytes::from(result)]),
        Some(procedure) => {
            // `*_RES` takes the synchronous procedure's result as its argument.
            locks.send_result(from, procedure, result);
            reply(&Nlm4Reply::Void)
        }
    }
}

/// The encoded result of a lock or share procedure (of the synchronous twin of a `*_MSG`) on
/// file `ino` (`None`: the handle names no file).
async fn outcome(
    locks: &LockManager,
    from: ClientAddr,
    ino: Option<u64>,
    args: &Nlm4Call<'_>,
    now: Instant,
) -> Vec<u8> {
    let res = |cookie, stat| encode_to_vec(&Nlm4Res { cookie, stat });
    let share = |cookie, stat| {
        encode_to_vec(&Nlm4ShareRes {
            cookie,
            stat,
            sequence: 0,
        })
    };
    let Some(ino) = ino else {
        let stat = Nlm4Stats::StaleFh;
        return match args {
            Nlm4Call::Test(a) | Nlm4Call::TestMsg(a) => encode_to_vec(&Nlm4TestRes {
                cookie: a.cookie,
                stat: Nlm4TestRply::Other(stat),
            }),
            Nlm4Call::Lock(a) | Nlm4Call::LockMsg(a) | Nlm4Call::NmLock(a) => res(a.cookie, stat),
            Nlm4Call::Cancel(a) | Nlm4Call::CancelMsg(a) => res(a.cookie, stat),
            Nlm4Call::Unlock(a) | Nlm4Call::UnlockMsg(a) => res(a.cookie, stat),
            Nlm4Call::Granted(a) => res(a.cookie, stat),
            Nlm4Call::Share(a) | Nlm4Call::Unshare(a) => share(a.cookie, stat),
            _ => Vec::new(),
        };
    };
    match args {
        Nlm4Call::Test(a) | Nlm4Call::TestMsg(a) => {
            let outcome = locks.test(from, ino, a, now);
            encode_to_vec(&Nlm4TestRes {
                cookie: a.cookie,
                stat: outcome.reply(),
            })
        }
        Nlm4Call::Lock(a) | Nlm4Call::LockMsg(a) => {
            res(a.cookie, locks.lock(from, ino, a, true, now).await)
        }
        Nlm4Call::NmLock(a) => res(a.cookie, locks.lock(from, ino, a, false, now).await),
        Nlm4Call::Cancel(a) | Nlm4Call::CancelMsg(a) => res(a.cookie, locks.cancel(from, ino, a)),
        Nlm4Call::Unlock(a) | Nlm4Call::UnlockMsg(a) => {
            res(a.cookie, locks.unlock(from, ino, &a.alock, now))
        }
        // A server waits for no grants.
        Nlm4Call::Granted(a) => res(a.cookie, Nlm4Stats::Denied),
        Nlm4Call::Share(a) => share(a.cookie, locks.share(from, ino, a, now).await),
        Nlm4Call::Unshare(a) => share(a.cookie, locks.unshare(from, ino, a)),
        _ => Vec::new(),
    }
}
