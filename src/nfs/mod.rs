//! The NFS service: decoded RPC calls in, encoded procedure results out.
//!
//! [`NfsService`] is shared by all cores (it holds the filesystem, the duplicate-request cache
//! and the mount table, all `Sync`); each core's state is its [`DataPath`] (its chunk cache).
//! The runtime asks [`Service::route`] which inode a call is about, runs [`Service::handle`]
//! on that inode's owner core, and writes the reply it gets back to the connection. Nothing
//! here knows about sockets or executors.
mod admission;
pub mod convert;
pub mod drc;
pub mod handle;
mod mount;
mod nfs3;

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::datapath::{DataPath, DataPathConfig};
use crate::exports::{ExportTable, SharedExports};
use crate::fs::{Fs, MAX_IO};
use crate::proto::connection::{Call, CallReply, ServerConfig};
use crate::proto::mount::MountCall;
use crate::proto::nfs3::{
    Nfs3Call, NfsFh3, MOUNT3_MAX_PROC, MOUNT_PROGRAM, MOUNT_V3, NFS3_MAX_PROC, NFS_PROGRAM, NFS_V3,
    PORTMAP2_MAX_PROC, PORTMAP_PROGRAM, PORTMAP_V2,
};
use crate::proto::portmap::{PortmapCall, PortmapTable};
use crate::proto::xdr::{DecodeError, XdrDecode, XdrEncode, XdrSink};
use crate::server::Service;

use admission::Refusal;
use drc::{DrcKey, DrcLookup, DuplicateRequestCache};
use handle::HandleCodec;

/// Largest RPC record accepted: a 1 MiB WRITE (wtmax) plus generous room for its headers.
pub const MAX_RECORD_SIZE: usize = (1 << 20) + (64 << 10);
/// Replies of non-idempotent calls remembered for retransmissions (a few KiB each at most).
pub const DRC_CAPACITY: usize = 16_384;
/// What the runtime reserves for the reply of a call that is not a READ or a listing.
const SMALL_REPLY: usize = 4 << 10;

/// The NFS, MOUNT and portmap services of one server.
pub struct NfsService {
    fs: Fs,
    codec: HandleCodec,
    exports: SharedExports,
    drc: DuplicateRequestCache,
    mounts: mount::MountTable,
    portmap: PortmapTable,
    config: Arc<ServerConfig>,
    data_paths: DataPathConfig,
    /// Test hook: a LOOKUP, CREATE, MKDIR or REMOVE of this name panics (see
    /// [`NfsService::panic_on_name`]).
    panic_on_name: Option<Vec<u8>>,
}

impl NfsService {
    /// Serves `fs` to loopback clients only ([`ExportTable::without_rules`]) until
    /// [`NfsService::with_exports`] gives it rules; `port` is the TCP port NFS and MOUNT are
    /// both on (for portmap GETPORT); each core's data path is opened with `data_paths`.
    pub fn new(fs: Fs, port: u16, data_paths: DataPathConfig) -> Self {
        let config = ServerConfig::new(MAX_RECORD_SIZE)
            .program(NFS_PROGRAM, NFS_V3, NFS_V3, NFS3_MAX_PROC)
            .program(MOUNT_PROGRAM, MOUNT_V3, MOUNT_V3, MOUNT3_MAX_PROC)
            .program(PORTMAP_PROGRAM, PORTMAP_V2, PORTMAP_V2, PORTMAP2_MAX_PROC);
        let anonymous = fs.anonymous();
        let exports = Arc::new(ArcSwap::from_pointee(ExportTable::without_rules(
            anonymous.uid,
            anonymous.gid,
        )));
        Self {
            codec: HandleCodec::new(fs.fsid(), fs.handle_secret()),
            fs,
            exports,
            drc: DuplicateRequestCache::new(DRC_CAPACITY),
            mounts: mount::MountTable::default(),
            portmap: PortmapTable::for_gateway(port, port),
            config: Arc::new(config),
            data_paths,
            panic_on_name: None,
        }
    }

    /// Enforces the rules of `exports` (a table the caller may swap at any time: the next call
    /// sees the new rules).
    pub fn with_exports(mut self, exports: SharedExports) -> Self {
        self.exports = exports;
        self
    }

    /// Test hook: makes every LOOKUP, CREATE, MKDIR or REMOVE of `name` panic inside the call,
    /// to prove that the runtime survives a panicking call (`--test-panic-on-name`).
    pub fn panic_on_name(mut self, name: Option<Vec<u8>>) -> Self {
        self.panic_on_name = name;
        self
    }

    /// The filesystem served.
    pub fn fs(&self) -> &Fs {
        &self.fs
    }

    /// The export rules in force.
    pub fn exports(&self) -> &SharedExports {
        &self.exports
    }

    async fn handle_mount(&self, call: &Call, peer: SocketAddr) -> CallReply {
        let args = match MountCall::decode(call.procedure, &call.args) {
            Ok(a) => a,
            Err(e) => return decode_failure(e),
        };
        let mut out = XdrSink::with_capacity(256);
        let table = self.exports.load_full();
        self.mounts
            .handle(&self.fs, &self.codec, &table, peer, &args, &mut out)
            .await;
        CallReply::from_sink(out)
    }

    fn handle_portmap(&self, call: &Call) -> CallReply {
        match PortmapCall::decode(call.procedure, &call.args) {
            Ok(args) => {
                let mut out = XdrSink::with_capacity(256);
                self.portmap.answer(&args).encode(&mut out);
                CallReply::from_sink(out)
            }
            Err(e) => decode_failure(e),
        }
    }

    async fn handle_nfs(&self, call: &Call, peer: SocketAddr, data: &DataPath) -> CallReply {
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
        let table = self.exports.load_full();
        let ctx = match admission::admit(
            &self.fs,
            &self.codec,
            table,
            &args,
            &call.args,
            &call.cred,
            peer,
        ) {
            Ok(ctx) => ctx,
            Err(Refusal::Auth(stat)) => return CallReply::AuthError(stat),
            Err(Refusal::Status(e)) => {
                let mut out = XdrSink::with_capacity(64);
                nfs3::refuse(&args, &e, &mut out);
                return CallReply::from_sink(out);
            }
        };
        let drc_guard = if args.is_non_idempotent() {
            let key = DrcKey::new(peer, call.xid, call.procedure, &call.args);
            match self.drc.begin_guarded(key) {
                Ok(guard) => Some(guard),
                Err(DrcLookup::Replay(segments)) => {
                    log::debug!("replaying {} xid {:#x} for {peer}", args.name(), call.xid);
                    return CallReply::Results(segments);
                }
                Err(_) => return CallReply::Drop,
            }
        } else {
            None
        };
        if let Some(name) = &self.panic_on_name {
            if call_name(&args) == Some(name.as_slice()) {
                panic!("test hook: {} of {name:?}", args.name());
            }
        }
        let mut out = XdrSink::with_capacity(512);
        nfs3::dispatch(&ctx, data, &args, &call.args, &mut out).await;
        let reply = CallReply::from_sink(out);
        if let (Some(guard), CallReply::Results(segments)) = (drc_guard, &reply) {
            guard.complete(segments.clone());
        }
        reply
    }
}

/// The name a LOOKUP, CREATE, MKDIR or REMOVE is about (for the test hook).
fn call_name<'a>(args: &Nfs3Call<'a>) -> Option<&'a [u8]> {
    match args {
        Nfs3Call::Lookup(a) => Some(a.what.name),
        Nfs3Call::Create(a) => Some(a.where_.name),
        Nfs3Call::Mkdir(a) => Some(a.where_.name),
        Nfs3Call::Remove(a) => Some(a.object.name),
        _ => None,
    }
}

impl Service for NfsService {
    type Core = DataPath;

    fn connection_config(&self) -> Arc<ServerConfig> {
        self.config.clone()
    }

    async fn start_core(&self, core: usize) -> DataPath {
        DataPath::open(self.fs.clone(), core, &self.data_paths).await
    }

    /// The inode of the first file handle of an NFS call (every NFSv3 argument list starts
    /// with one), read without verifying the handle: the owner core verifies it before doing
    /// anything. `None` (run anywhere) for MOUNT, portmap, and handles that are not ours (they
    /// fail the same way on any core).
    fn route(&self, call: &Call) -> Option<u64> {
        if call.prog != NFS_PROGRAM {
            return None;
        }
        let (_, fh) = NfsFh3::decode(&call.args).ok()?;
        HandleCodec::route_key(fh.as_bytes())
    }

    /// READs and listings reply with up to what they ask for (as capped by the procedures);
    /// everything else with a few KiB at most.
    fn reply_size_hint(&self, call: &Call) -> usize {
        if call.prog != NFS_PROGRAM {
            return SMALL_REPLY;
        }
        match Nfs3Call::decode(call.procedure, &call.args) {
            Ok(Nfs3Call::Read(a)) => a.count.min(MAX_IO) as usize + SMALL_REPLY,
            Ok(Nfs3Call::Readdir(a)) => nfs3::listing_reply_bound(a.count),
            Ok(Nfs3Call::Readdirplus(a)) => nfs3::listing_reply_bound(a.maxcount),
            _ => SMALL_REPLY,
        }
    }

    async fn handle(&self, data: &DataPath, call: Call, peer: SocketAddr) -> CallReply {
        match call.prog {
            NFS_PROGRAM => self.handle_nfs(&call, peer, data).await,
            MOUNT_PROGRAM => self.handle_mount(&call, peer).await,
            PORTMAP_PROGRAM => self.handle_portmap(&call),
            // The connection only hands out calls of the programs it was configured with.
            _ => CallReply::SystemErr,
        }
    }

    fn stop_core(&self, data: &DataPath, core: usize) {
        if let Some(cache) = data.chunk_cache() {
            let s = cache.stats();
            log::info!(
                "core {core}: chunk cache: {} hits, {} misses, {} insertions, {} evictions, {} \
                 rejected puts, {} checksum failures, {} IO errors, {} MiB resident",
                s.hits,
                s.misses,
                s.insertions,
                s.evictions,
                s.rejected_puts,
                s.checksum_failures,
                s.io_errors,
                s.bytes >> 20
            );
        }
    }
}

fn decode_failure(e: DecodeError) -> CallReply {
    match e {
        DecodeError::UnknownProcedure(_) => CallReply::ProcUnavail,
        _ => CallReply::GarbageArgs,
    }
}
