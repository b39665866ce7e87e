//! The NFS service: decoded RPC calls in, encoded procedure results out.
//!
//! [`NfsService`] is shared by all cores (it holds the filesystem, the duplicate-request cache,
//! the mount table and the lock manager, all `Sync`); each core's state is its [`DataPath`]
//! (its chunk cache). The runtime asks [`Service::route`] which inode a call is about (an NFS
//! call's first handle, an NLM call's file), runs [`Service::handle`] on that inode's owner
//! core, and writes the reply it gets back to the connection. Nothing here knows about sockets
//! or executors.
mod admission;
pub mod convert;
pub mod drc;
pub mod handle;
mod mount;
mod nfs3;
mod nlm;
mod portmap;
mod status_monitor;
pub mod views;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;

use crate::datapath::{DataPath, DataPathConfig};
use crate::exports::{ExportTable, SharedExports};
use crate::fs::{Fs, MAX_IO};
use crate::lockmgr::{parse_grant_cookie, LockManager};
use crate::metrics::metrics;
use crate::proto::connection::{Call, CallReply, ServerConfig};
use crate::proto::mount::MountCall;
use crate::proto::nfs3::{
    Nfs3Call, NfsFh3, Nfsstat3, MOUNT3_MAX_PROC, MOUNT_PROGRAM, MOUNT_V3, NFS3_MAX_PROC,
    NFS_PROGRAM, NFS_V3, PORTMAP2_MAX_PROC, PORTMAP_PORT, PORTMAP_PROGRAM, PORTMAP_V2,
};
use crate::proto::nlm4::{self, Nlm4Call};
use crate::proto::nsm;
use crate::proto::portmap::{Mapping, PortmapTable, IPPROTO_TCP, IPPROTO_UDP};
use crate::proto::rpcbind::{RPCB3_MAX_PROC, RPCB4_MAX_PROC, VERSION3, VERSION4};
use crate::proto::xdr::{DecodeError, XdrDecode, XdrSink};
use crate::server::{Peer, Service};
use crate::snapshot::SnapshotCatalog;
use crate::store::{StoreError, WriteTicket};

use admission::Refusal;
use drc::{DrcKey, DrcLookup, DuplicateRequestCache};
use handle::HandleCodec;
use views::Views;

/// Largest RPC record accepted: a 1 MiB WRITE (wtmax) plus generous room for its headers.
pub const MAX_RECORD_SIZE: usize = (1 << 20) + (64 << 10);
/// Replies of non-idempotent calls remembered for retransmissions (a few KiB each at most).
pub const DRC_CAPACITY: usize = 16_384;
/// What the runtime reserves for the reply of a call that is not a READ or a listing.
const SMALL_REPLY: usize = 4 << 10;

/// Largest datagram record accepted (the UDP payload limit).
pub const MAX_DATAGRAM_RECORD: usize = 64 << 10;

/// The NFS, MOUNT, portmap/rpcbind, NLM and NSM services of one server.
pub struct NfsService {
    fs: Fs,
    /// The live filesystem and its snapshots.
    views: Arc<Views>,
    codec: HandleCodec,
    exports: SharedExports,
    drc: DuplicateRequestCache,
    mounts: mount::MountTable,
    portmap: PortmapTable,
    /// Programs of the NFS port (TCP).
    config: Arc<ServerConfig>,
    data_paths: DataPathConfig,
    /// `None`: no lock manager (`--no-lock-manager`); NLM and NSM are not served.
    locks: Option<Arc<LockManager>>,
    /// Test hook: a LOOKUP, CREATE, MKDIR or REMOVE of this name panics (see
    /// [`NfsService::panic_on_name`]).
    panic_on_name: Option<Vec<u8>>,
}

/// Portmap v2 and rpcbind v3 and v4.
fn with_rpcbind(config: ServerConfig) -> ServerConfig {
    config
        .program(PORTMAP_PROGRAM, PORTMAP_V2, PORTMAP_V2, PORTMAP2_MAX_PROC)
        .program(PORTMAP_PROGRAM, VERSION3, VERSION3, RPCB3_MAX_PROC)
        .program(PORTMAP_PROGRAM, VERSION4, VERSION4, RPCB4_MAX_PROC)
}

/// NLM v4 and NSM v1.
fn with_lock_programs(config: ServerConfig) -> ServerConfig {
    config
        .program(nlm4::PROGRAM, nlm4::VERSION, nlm4::VERSION, nlm4::MAX_PROC)
        .program(nsm::PROGRAM, nsm::VERSION, nsm::VERSION, nsm::MAX_PROC)
}

impl NfsService {
    /// Serves `fs` without a lock manager, to loopback clients only
    /// ([`ExportTable::without_rules`]) until [`NfsService::with_exports`] gives it rules;
    /// `port` is the TCP port NFS and MOUNT are both on (for portmap GETPORT); each core's data
    /// path is opened with `data_paths`.
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
        let catalog = Arc::new(SnapshotCatalog::new(fs.store().clone()));
        Self {
            codec: HandleCodec::new(fs.fsid(), fs.handle_secret()),
            views: Arc::new(Views::new(fs.clone(), catalog)),
            fs,
            exports,
            drc: DuplicateRequestCache::new(DRC_CAPACITY),
            mounts: mount::MountTable::default(),
            portmap: PortmapTable::for_gateway(port, port),
            config: Arc::new(config),
            data_paths,
            locks: None,
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

    /// Serves `locks` too: NLM and NSM on the NFS port (TCP) and on `udp_port` (UDP), and
    /// rpcbind v3/v4 besides portmap v2, with the registrations to match.
    pub fn with_lock_manager(mut self, locks: Arc<LockManager>, udp_port: u16) -> Self {
        let tcp_port = self.portmap.getport(&Mapping {
            prog: NFS_PROGRAM,
            vers: NFS_V3,
            prot: IPPROTO_TCP,
            port: 0,
        });
        let config = ServerConfig::new(MAX_RECORD_SIZE)
            .program(NFS_PROGRAM, NFS_V3, NFS_V3, NFS3_MAX_PROC)
            .program(MOUNT_PROGRAM, MOUNT_V3, MOUNT_V3, MOUNT3_MAX_PROC);
        self.config = Arc::new(with_lock_programs(with_rpcbind(config)));
        for (prog, vers, prot, port) in [
            (PORTMAP_PROGRAM, VERSION3, IPPROTO_TCP, PORTMAP_PORT),
            (PORTMAP_PROGRAM, VERSION4, IPPROTO_TCP, PORTMAP_PORT),
            (PORTMAP_PROGRAM, PORTMAP_V2, IPPROTO_UDP, PORTMAP_PORT),
            (PORTMAP_PROGRAM, VERSION3, IPPROTO_UDP, PORTMAP_PORT),
            (PORTMAP_PROGRAM, VERSION4, IPPROTO_UDP, PORTMAP_PORT),
            (nlm4::PROGRAM, nlm4::VERSION, IPPROTO_TCP, tcp_port),
            (
                nlm4::PROGRAM,
                nlm4::VERSION,
                IPPROTO_UDP,
                u32::from(udp_port),
            ),
            (nsm::PROGRAM, nsm::VERSION, IPPROTO_TCP, tcp_port),
            (nsm::PROGRAM, nsm::VERSION, IPPROTO_UDP, u32::from(udp_port)),
        ] {
            self.portmap.set(Mapping {
                prog,
                vers,
                prot,
                port,
            });
        }
        self.locks = Some(locks);
        self
    }

    /// The filesystem served.
    pub fn fs(&self) -> &Fs {
        &self.fs
    }

    /// The live filesystem and its snapshots.
    pub fn views(&self) -> &Arc<Views> {
        &self.views
    }

    /// The export rules in force.
    pub fn exports(&self) -> &SharedExports {
        &self.exports
    }

    /// The lock manager, if locks are served.
    pub fn lock_manager(&self) -> Option<&Arc<LockManager>> {
        self.locks.as_ref()
    }

    /// The programs of the NFS port over TCP: everything served.
    pub fn connection_config(&self) -> Arc<ServerConfig> {
        self.config.clone()
    }

    /// The programs served over UDP: the ones clients reach by datagram (portmap/rpcbind, and
    /// the lock manager's NLM and NSM), not NFS or MOUNT.
    pub fn datagram_config(&self) -> Arc<ServerConfig> {
        let config = with_rpcbind(ServerConfig::new(MAX_DATAGRAM_RECORD));
        Arc::new(match self.locks {
            Some(_) => with_lock_programs(config),
            None => config,
        })
    }

    /// The programs of port 111 (TCP and UDP), when the server owns it: portmap and rpcbind.
    pub fn portmapper_config(&self) -> Arc<ServerConfig> {
        Arc::new(with_rpcbind(ServerConfig::new(MAX_DATAGRAM_RECORD)))
    }

    async fn handle_mount(&self, call: &Call, peer: SocketAddr) -> CallReply {
        let args = match MountCall::decode(call.procedure, &call.args) {
            Ok(a) => a,
            Err(e) => return decode_failure(e),
        };
        let mut out = XdrSink::with_capacity(256);
        let table = self.exports.load_full();
        self.mounts
            .handle(&self.views, &self.codec, &table, peer, &args, &mut out)
            .await;
        CallReply::from_sink(out)
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
            &self.views,
            &self.codec,
            table,
            &args,
            &call.args,
            &call.cred,
            peer,
        )
        .await
        {
            Ok(ctx) => ctx,
            Err(Refusal::Auth(stat)) => return CallReply::AuthError(stat),
            Err(Refusal::Status(e)) => {
                let mut out = XdrSink::with_capacity(64);
                nfs3::refuse(&args, &e, &mut out);
                return CallReply::from_sink(out);
            }
        };
        let drc_key = args
            .is_non_idempotent()
            .then(|| DrcKey::new(peer, call.xid, call.procedure, &call.args));
        let drc_guard = if let Some(key) = drc_key {
            if let Some(write) = self.drc.unconfirmed(&key.retry_key()) {
                return self.answer_retry(key, write, call.procedure).await;
            }
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
        let started = Instant::now();
        let mut out = XdrSink::with_capacity(512);
        let unconfirmed = nfs3::dispatch(&ctx, data, &args, &call.args, &mut out).await;
        // Every NFSv3 result but NULL's starts with its nfsstat3: 0 is NFS3_OK.
        let failed = out.head_mut().get(..4).is_some_and(|s| s != [0, 0, 0, 0]);
        metrics()
            .nfs
            .call(call.procedure, started.elapsed(), failed);
        let reply = CallReply::from_sink(out);
        if let (Some(guard), CallReply::Results(segments)) = (drc_guard, &reply) {
            guard.complete(segments.clone());
            if let (Some(key), Some(write)) = (drc_key, unconfirmed) {
                self.drc.note_unconfirmed(key.retry_key(), write);
            }
        }
        reply
    }

    /// A retry (new xid) of a changing call that was answered JUKEBOX because its write was
    /// not confirmed durable in time: not run again; success once that write is durable
    /// (waiting for it up to the wait limit), JUKEBOX again otherwise (see [`drc`]).
    async fn answer_retry(&self, key: DrcKey, write: WriteTicket, procedure: u32) -> CallReply {
        let status = match self.fs.store().durability().wait_durable(write).await {
            Ok(()) => None,
            Err(StoreError::NotYetDurable(_) | StoreError::Unavailable(_)) => {
                Some(Nfsstat3::Jukebox)
            }
            Err(e) => {
                log::error!("a change answered JUKEBOX before is lost: {e}");
                Some(Nfsstat3::Io)
            }
        };
        let mut out = XdrSink::with_capacity(64);
        nfs3::encode_without_attributes(procedure, status, &mut out);
        let reply = CallReply::from_sink(out);
        if status != Some(Nfsstat3::Jukebox) {
            self.drc.forget_unconfirmed(&key.retry_key());
            if let (DrcLookup::New, CallReply::Results(segments)) = (self.drc.begin(key), &reply) {
                self.drc.complete(key, segments.clone());
            }
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

    async fn start_core(&self, core: usize) -> DataPath {
        DataPath::open(self.fs.clone(), core, &self.data_paths).await
    }

    /// The inode of the first file handle of an NFS call (every NFSv3 argument list starts
    /// with one), read without verifying the handle: the owner core verifies it before doing
    /// anything; of an NLM call's file (GRANTED_RES: the file its cookie names), so that the
    /// locks and the I/O of a file meet on its core. `None` (run anywhere) for MOUNT, portmap,
    /// NSM, host-wide NLM calls, and handles that are not ours (they fail the same way on any
    /// core).
    fn route(&self, call: &Call) -> Option<u64> {
        match call.prog {
            NFS_PROGRAM => {
                let (_, fh) = NfsFh3::decode(&call.args).ok()?;
                HandleCodec::route_key(fh.as_bytes())
            }
            nlm4::PROGRAM => match Nlm4Call::decode(call.procedure, &call.args).ok()? {
                Nlm4Call::GrantedRes(r) => parse_grant_cookie(r.cookie).map(|(ino, _)| ino),
                args => HandleCodec::route_key(args.file_handle()?),
            },
            _ => None,
        }
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

    async fn handle(&self, data: &DataPath, call: Call, peer: Peer) -> CallReply {
        if self.fs.store().is_lost() {
            // Fenced by another server (or the store failed): whatever this server still has
            // cached may be out of date, so nothing is answered from it; the server is
            // stopping, and clients retry against whoever serves the storage now.
            return CallReply::Drop;
        }
        match (call.prog, &self.locks) {
            (NFS_PROGRAM, _) => self.handle_nfs(&call, peer.remote, data).await,
            (MOUNT_PROGRAM, _) => self.handle_mount(&call, peer.remote).await,
            (PORTMAP_PROGRAM, _) => portmap::handle(&self.portmap, &call, peer),
            (nlm4::PROGRAM, Some(locks)) => {
                let table = self.exports.load();
                let files = nlm::Files {
                    fs: &self.fs,
                    codec: &self.codec,
                    exports: &table,
                };
                nlm::handle(locks, files, &call, peer).await
            }
            (nsm::PROGRAM, Some(locks)) => status_monitor::handle(locks, &call, peer),
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
