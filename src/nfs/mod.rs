//! The NFS service: decoded RPC calls in, encoded procedure results out.
//!
//! [`Handler`] is shared by all cores (it holds the filesystem, the duplicate-request cache and
//! the mount table, all `Sync`); [`CoreContext`] is one core's own state (its chunk cache).
//! The runtime asks [`Handler::routing_inode`] which inode a call is about, runs
//! [`Handler::handle`] on that inode's owner core, and writes the [`Reply`] it gets back to the
//! connection. Nothing here knows about sockets or executors' cores beyond that context.
mod context;
pub mod convert;
pub mod drc;
mod mount;
mod nfs3;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;

use crate::fs::Fs;
use crate::proto::connection::{Call, ServerConfig, ServerConnection};
use crate::proto::mount::MountCall;
use crate::proto::nfs3::{
    Nfs3Call, NfsFh3, MOUNT3_MAX_PROC, MOUNT_PROGRAM, MOUNT_V3, NFS3_MAX_PROC, NFS_PROGRAM, NFS_V3,
    PORTMAP2_MAX_PROC, PORTMAP_PROGRAM, PORTMAP_V2,
};
use crate::proto::portmap::{PortmapCall, PortmapTable};
use crate::proto::rpc::ReplyBody;
use crate::proto::xdr::{DecodeError, XdrDecode, XdrEncode, XdrSink};

pub use context::CoreContext;
use drc::{DrcKey, DrcLookup, DuplicateRequestCache};

/// Largest RPC record accepted: a 1 MiB WRITE (wtmax) plus generous room for its headers.
pub const MAX_RECORD_SIZE: usize = (1 << 20) + (64 << 10);
/// Replies of non-idempotent calls remembered for retransmissions (a few KiB each at most).
pub const DRC_CAPACITY: usize = 16_384;

/// The answer to one call, ready to cross cores (`Send`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// SUCCESS with these encoded results (zero-copy segments, e.g. READ data).
    Results(Vec<Bytes>),
    /// The arguments could not be decoded.
    GarbageArgs,
    /// No such procedure.
    ProcUnavail,
    /// The server could not produce a reply.
    SystemErr,
    /// Send nothing: a retransmission of a call that is still running (the client will
    /// retransmit again and get the finished reply from the duplicate-request cache).
    Drop,
}

/// Pre-encoded results, appended as zero-copy segments.
struct Encoded<'a>(&'a [Bytes]);

impl XdrEncode for Encoded<'_> {
    fn encode(&self, out: &mut XdrSink) {
        for seg in self.0 {
            out.put_segment(seg.clone());
        }
    }
}

impl Reply {
    /// Answers call `xid` on `conn`.
    pub fn send_to(self, xid: u32, conn: &mut ServerConnection) {
        match self {
            Reply::Results(segments) => {
                conn.send_reply(xid, ReplyBody::Success(&Encoded(&segments)))
            }
            Reply::GarbageArgs => conn.send_reply(xid, ReplyBody::GarbageArgs),
            Reply::ProcUnavail => conn.send_reply(xid, ReplyBody::ProcUnavail),
            Reply::SystemErr => conn.send_reply(xid, ReplyBody::SystemErr),
            Reply::Drop => conn.discard_call(xid),
        }
    }

    fn from_sink(mut out: XdrSink) -> Reply {
        let mut segments = Vec::with_capacity(2);
        out.take_segments(&mut segments);
        Reply::Results(segments)
    }
}

/// The NFS, MOUNT and portmap services of one server.
pub struct Handler {
    fs: Fs,
    drc: DuplicateRequestCache,
    mounts: mount::MountTable,
    portmap: PortmapTable,
    config: Arc<ServerConfig>,
}

impl Handler {
    /// Serves `fs`; `port` is the TCP port NFS and MOUNT are both on (for portmap GETPORT).
    pub fn new(fs: Fs, port: u16) -> Self {
        let config = ServerConfig::new(MAX_RECORD_SIZE)
            .program(NFS_PROGRAM, NFS_V3, NFS_V3, NFS3_MAX_PROC)
            .program(MOUNT_PROGRAM, MOUNT_V3, MOUNT_V3, MOUNT3_MAX_PROC)
            .program(PORTMAP_PROGRAM, PORTMAP_V2, PORTMAP_V2, PORTMAP2_MAX_PROC);
        Self {
            fs,
            drc: DuplicateRequestCache::new(DRC_CAPACITY),
            mounts: mount::MountTable::default(),
            portmap: PortmapTable::for_gateway(port, port),
            config: Arc::new(config),
        }
    }

    pub fn fs(&self) -> &Fs {
        &self.fs
    }

    /// The programs and limits every connection applies.
    pub fn connection_config(&self) -> Arc<ServerConfig> {
        self.config.clone()
    }

    /// The inode whose owner core must run `call`: the first file handle of an NFS call
    /// (every NFSv3 argument list starts with one). `None` (run anywhere) for MOUNT, portmap,
    /// and handles that are not ours (they fail the same way on any core).
    pub fn routing_inode(&self, call: &Call) -> Option<u64> {
        if call.prog != NFS_PROGRAM {
            return None;
        }
        let (_, fh) = NfsFh3::decode(&call.args).ok()?;
        self.fs.decode_handle(fh.as_bytes()).ok().map(|i| i.0)
    }

    /// Runs `call` (on the core that owns its inode) and produces its reply.
    pub async fn handle(&self, call: Call, peer: SocketAddr, ctx: &CoreContext) -> Reply {
        let _running = ctx.enter();
        match call.prog {
            NFS_PROGRAM => self.handle_nfs(&call, peer, ctx).await,
            MOUNT_PROGRAM => {
                let args = match MountCall::decode(call.procedure, &call.args) {
                    Ok(a) => a,
                    Err(e) => return decode_failure(e),
                };
                let mut out = XdrSink::with_capacity(256);
                self.mounts
                    .handle(&self.fs, peer.ip(), &args, &mut out)
                    .await;
                Reply::from_sink(out)
            }
            PORTMAP_PROGRAM => match PortmapCall::decode(call.procedure, &call.args) {
                Ok(args) => {
                    let mut out = XdrSink::with_capacity(256);
                    self.portmap.answer(&args).encode(&mut out);
                    Reply::from_sink(out)
                }
                Err(e) => decode_failure(e),
            },
            // The connection only hands out calls of the programs it was configured with.
            _ => Reply::SystemErr,
        }
    }

    async fn handle_nfs(&self, call: &Call, peer: SocketAddr, ctx: &CoreContext) -> Reply {
        let args = match Nfs3Call::decode(call.procedure, &call.args) {
            Ok(a) => a,
            Err(e) => {
                log::debug!(
                    "GARBAGE_ARGS for NFS proc {} from {peer}: {e}",
                    call.procedure
                );
                return decode_failure(e);
            }
        };
        log::trace!("{} xid {:#x} from {peer}", args.name(), call.xid);
        let cred = convert::credentials(&call.cred, &self.fs.anonymous());
        let drc_key = args
            .is_non_idempotent()
            .then(|| DrcKey::new(peer, call.xid, call.procedure, &call.args));
        if let Some(key) = drc_key {
            match self.drc.begin(key) {
                DrcLookup::New => {}
                DrcLookup::InProgress => return Reply::Drop,
                DrcLookup::Replay(segments) => {
                    log::debug!("replaying {} xid {:#x} for {peer}", args.name(), call.xid);
                    return Reply::Results(segments);
                }
            }
        }
        let mut out = XdrSink::with_capacity(512);
        nfs3::dispatch(&self.fs, ctx, &cred, &args, &call.args, &mut out).await;
        let reply = Reply::from_sink(out);
        if let (Some(key), Reply::Results(segments)) = (drc_key, &reply) {
            self.drc.complete(key, segments.clone());
        }
        reply
    }
}

fn decode_failure(e: DecodeError) -> Reply {
    match e {
        DecodeError::UnknownProcedure(_) => Reply::ProcUnavail,
        _ => Reply::GarbageArgs,
    }
}
