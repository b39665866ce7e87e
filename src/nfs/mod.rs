//! The NFS service: decoded RPC calls in, encoded procedure results out.
//!
//! [`NfsService`] is shared by all cores (it holds the filesystem, the duplicate-request cache
//! and the mount table, all `Sync`); each core's state is its [`DataPath`] (its chunk cache).
//! The runtime asks [`Service::route`] which inode a call is about, runs [`Service::handle`]
//! on that inode's owner core, and writes the reply it gets back to the connection. Nothing
//! here knows about sockets or executors.
pub mod convert;
pub mod drc;
mod mount;
mod nfs3;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::datapath::{DataPath, DataPathConfig};
use crate::fs::Fs;
use crate::metrics::metrics;
use crate::proto::connection::{Call, CallReply, ServerConfig};
use crate::proto::mount::MountCall;
use crate::proto::nfs3::{
    Nfs3Call, NfsFh3, MOUNT3_MAX_PROC, MOUNT_PROGRAM, MOUNT_V3, NFS3_MAX_PROC, NFS_PROGRAM, NFS_V3,
    PORTMAP2_MAX_PROC, PORTMAP_PROGRAM, PORTMAP_V2,
};
use crate::proto::portmap::{PortmapCall, PortmapTable};
use crate::proto::xdr::{DecodeError, XdrDecode, XdrEncode, XdrSink};
use crate::server::Service;

use drc::{DrcKey, DrcLookup, DuplicateRequestCache};

/// Largest RPC record accepted: a 1 MiB WRITE (wtmax) plus generous room for its headers.
pub const MAX_RECORD_SIZE: usize = (1 << 20) + (64 << 10);
/// Replies of non-idempotent calls remembered for retransmissions (a few KiB each at most).
pub const DRC_CAPACITY: usize = 16_384;

/// The NFS, MOUNT and portmap services of one server.
pub struct NfsService {
    fs: Fs,
    drc: DuplicateRequestCache,
    mounts: mount::MountTable,
    portmap: PortmapTable,
    config: Arc<ServerConfig>,
    data_paths: DataPathConfig,
}

impl NfsService {
    /// Serves `fs`; `port` is the TCP port NFS and MOUNT are both on (for portmap GETPORT);
    /// each core's data path is opened with `data_paths`.
    pub fn new(fs: Fs, port: u16, data_paths: DataPathConfig) -> Self {
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
            data_paths,
        }
    }

    /// The filesystem served.
    pub fn fs(&self) -> &Fs {
        &self.fs
    }

    async fn handle_mount(&self, call: &Call, peer: SocketAddr) -> CallReply {
        let args = match MountCall::decode(call.procedure, &call.args) {
            Ok(a) => a,
            Err(e) => return decode_failure(e),
        };
        let mut out = XdrSink::with_capacity(256);
        self.mounts
            .handle(&self.fs, peer.ip(), &args, &mut out)
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
        let cred = convert::credentials(&call.cred, &self.fs.anonymous());
        let drc_key = args
            .is_non_idempotent()
            .then(|| DrcKey::new(peer, call.xid, call.procedure, &call.args));
        if let Some(key) = drc_key {
            match self.drc.begin(key) {
                DrcLookup::New => {}
                DrcLookup::InProgress => return CallReply::Drop,
                DrcLookup::Replay(segments) => {
                    log::debug!("replaying {} xid {:#x} for {peer}", args.name(), call.xid);
                    return CallReply::Results(segments);
                }
            }
        }
        let started = Instant::now();
        let mut out = XdrSink::with_capacity(512);
        nfs3::dispatch(&self.fs, data, &cred, &args, &call.args, &mut out).await;
        // Every NFSv3 result but NULL's starts with its nfsstat3: 0 is NFS3_OK.
        let failed = out.head_mut().get(..4).is_some_and(|s| s != [0, 0, 0, 0]);
        metrics()
            .nfs
            .call(call.procedure, started.elapsed(), failed);
        let reply = CallReply::from_sink(out);
        if let (Some(key), CallReply::Results(segments)) = (drc_key, &reply) {
            self.drc.complete(key, segments.clone());
        }
        reply
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
    /// with one). `None` (run anywhere) for MOUNT, portmap, and handles that are not ours
    /// (they fail the same way on any core).
    fn route(&self, call: &Call) -> Option<u64> {
        if call.prog != NFS_PROGRAM {
            return None;
        }
        let (_, fh) = NfsFh3::decode(&call.args).ok()?;
        self.fs.decode_handle(fh.as_bytes()).ok().map(|i| i.0)
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
