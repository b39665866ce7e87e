//! [`Wire`]: the NFS service (and its lock manager) driven through the sans-IO client and
//! server engines, without sockets: the project's client engine encodes calls, the server
//! engine frames and classifies them, `nfs::NfsService` runs them on real SlateDB (in-memory
//! object store), and the replies are decoded back. One call at a time unless a test pipelines
//! on purpose.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use slatenfs::datapath::{DataPath, DataPathConfig};
use slatenfs::exports::{parse_rule, ExportOptions, ExportTable};
use slatenfs::fs::Fs;
use slatenfs::lockmgr::{LockManager, LockManagerConfig};
use slatenfs::nfs::NfsService;
use slatenfs::proto::auth::{AuthSys, Credential};
use slatenfs::proto::client::{ClientConfig, ClientConnection};
use slatenfs::proto::connection::ServerConnection;
use slatenfs::proto::mount::{MountCall, MountReply, Mountres3, Mountstat3};
use slatenfs::proto::nfs3::*;
use slatenfs::proto::outbound::Outbox;
use slatenfs::proto::rpc::ReplyStatus;
use slatenfs::proto::xdr::{XdrEncode, XdrSink};
use slatenfs::server::{Peer, Service};
use smallvec::SmallVec;

use super::fs::new_fs;
use super::{client_output, server_output};

/// The peer of a [`Wire`] unless a test changes it: loopback, an unprivileged port.
pub const PEER: &str = "127.0.0.1:700";

/// A TCP peer at `remote` ("address:port"), calling the server at 127.0.0.1:2049.
pub fn peer(remote: &str) -> Peer {
    Peer::tcp(remote.parse().unwrap(), "127.0.0.1:2049".parse().unwrap())
}

/// One client connection to the NFS service, through the real protocol engines.
pub struct Wire {
    pub service: NfsService,
    pub data: DataPath,
    pub server: ServerConnection,
    pub client: ClientConnection,
    /// Where the calls come from (address and source port), and to.
    pub peer: Peer,
}

/// An AUTH_SYS credential.
pub fn sys(uid: u32, gid: u32) -> Credential {
    sys_groups(uid, gid, &[])
}

/// An AUTH_SYS credential with supplementary groups.
pub fn sys_groups(uid: u32, gid: u32, gids: &[u32]) -> Credential {
    Credential::Sys(AuthSys {
        stamp: 1,
        machinename: SmallVec::from_slice(b"test"),
        uid,
        gid,
        gids: SmallVec::from_slice(gids),
    })
}

/// AUTH_SYS uid 0, gid 0.
pub fn root() -> Credential {
    sys(0, 0)
}

/// Raw argument bytes, for calls a test wants to encode by hand.
pub struct Raw(pub Vec<u8>);
impl XdrEncode for Raw {
    fn encode(&self, out: &mut XdrSink) {
        out.head_mut().extend_from_slice(&self.0);
    }
}

/// The export table of `rules` (`--export` syntax, anonymous ids 65534).
pub fn export_table(rules: &[&str]) -> ExportTable {
    let defaults = ExportOptions::defaults(65534, 65534);
    let rules = rules
        .iter()
        .map(|r| {
            parse_rule(r, "--export", defaults)
                .unwrap()
                .expect("a rule")
        })
        .collect();
    ExportTable::from_rules(rules).unwrap()
}

impl Wire {
    /// A fresh filesystem served without rules (loopback clients only).
    pub async fn new() -> Wire {
        Wire::serving(new_fs().await).await
    }

    /// `fs` served without rules.
    pub async fn serving(fs: Fs) -> Wire {
        Wire::serving_service(NfsService::new(fs, 2049, DataPathConfig::uncached())).await
    }

    /// The service with a lock manager (in memory, no grace period) whose calls to clients go
    /// to `outbox`, exporting `/` to every host (`*(rw,no_root_squash,insecure)`): lock tests
    /// call from several addresses.
    pub async fn with_locks(outbox: Arc<dyn Outbox>) -> Wire {
        let config = LockManagerConfig {
            grace_period: Duration::ZERO,
            ..LockManagerConfig::default()
        };
        let locks = LockManager::open(None, config, outbox, Instant::now())
            .await
            .unwrap();
        let service = NfsService::new(new_fs().await, 2049, DataPathConfig::uncached())
            .with_lock_manager(locks, 2049)
            .with_exports(Arc::new(ArcSwap::from_pointee(export_table(&[
                "/ *(rw,no_root_squash,insecure)",
            ]))));
        Wire::serving_service(service).await
    }

    async fn serving_service(service: NfsService) -> Wire {
        let server = ServerConnection::new(service.connection_config());
        let data = service.start_core(0).await;
        Wire {
            service,
            data,
            server,
            client: ClientConnection::new(ClientConfig::default()),
            peer: peer(PEER),
        }
    }

    /// `fs` served with the export rules `rules`, which the test may swap (a reload).
    pub async fn with_rules(fs: Fs, rules: &[&str]) -> Wire {
        let mut w = Wire::serving(fs).await;
        let table = Arc::new(ArcSwap::from_pointee(export_table(rules)));
        w.service = w.service.with_exports(table);
        w
    }

    /// Replaces the export rules, as SIGHUP does.
    pub fn reload(&self, rules: &[&str]) {
        self.service.exports().store(Arc::new(export_table(rules)));
    }

    /// Feeds `bytes` to the server, runs every call it yields, returns the server's output.
    pub async fn serve(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.server.handle_input(bytes).unwrap();
        while let Some(call) = self.server.poll_call() {
            let xid = call.xid;
            let reply = self.service.handle(&self.data, call, self.peer).await;
            self.server.answer(xid, reply);
        }
        server_output(&mut self.server)
    }

    pub async fn rpc(
        &mut self,
        prog: u32,
        vers: u32,
        procedure: u32,
        cred: &Credential,
        args: &dyn XdrEncode,
    ) -> ReplyStatus {
        self.client
            .send_call(prog, vers, procedure, cred, args)
            .unwrap();
        let bytes = client_output(&mut self.client);
        let out = self.serve(&bytes).await;
        self.client.handle_input(&out).unwrap();
        self.client.poll_reply().expect("one reply").status
    }

    /// An NFSv3 call; returns the undecoded results of a SUCCESS reply.
    pub async fn nfs(&mut self, cred: &Credential, call: Nfs3Call<'_>) -> Bytes {
        match self
            .rpc(NFS_PROGRAM, NFS_V3, call.proc_num(), cred, &call)
            .await
        {
            ReplyStatus::Success(b) => b,
            other => panic!("{} got {other:?}", call.name()),
        }
    }

    /// An NFSv3 call, decoded; the reply's status.
    pub async fn nfs_status(&mut self, cred: &Credential, call: Nfs3Call<'_>) -> Nfsstat3 {
        let proc = call.proc_num();
        let b = self.nfs(cred, call).await;
        Nfs3Reply::decode(proc, &b).unwrap().status()
    }

    /// MNT of `path` as root.
    pub async fn mount(&mut self, path: &[u8]) -> Result<Vec<u8>, Mountstat3> {
        let st = self
            .rpc(MOUNT_PROGRAM, MOUNT_V3, 1, &root(), &MountCall::Mnt(path))
            .await;
        let ReplyStatus::Success(b) = st else {
            panic!("{st:?}")
        };
        match MountReply::decode(1, &b).unwrap() {
            MountReply::Mnt(Mountres3::Ok(ok)) => Ok(ok.fhandle.to_vec()),
            MountReply::Mnt(Mountres3::Err(e)) => Err(e),
            other => panic!("{other:?}"),
        }
    }

    pub async fn root_fh(&mut self) -> Vec<u8> {
        self.mount(b"/").await.expect("MNT /")
    }

    pub async fn create(
        &mut self,
        cred: &Credential,
        dir: &[u8],
        name: &[u8],
    ) -> Result<Vec<u8>, Nfsstat3> {
        let b = self
            .nfs(
                cred,
                Nfs3Call::Create(Create3Args {
                    where_: Diropargs3 {
                        dir: NfsFh3(dir),
                        name,
                    },
                    how: Createhow3::Guarded(Sattr3 {
                        mode: Some(0o644),
                        ..Default::default()
                    }),
                }),
            )
            .await;
        match Nfs3Reply::decode(proc3::CREATE, &b).unwrap() {
            Nfs3Reply::Create(Nfs3Res::Ok(ok)) => Ok(ok.obj.expect("handle").0.to_vec()),
            Nfs3Reply::Create(Nfs3Res::Fail(s, _)) => Err(s),
            other => panic!("{other:?}"),
        }
    }

    pub async fn mkdir(
        &mut self,
        cred: &Credential,
        dir: &[u8],
        name: &[u8],
        mode: u32,
    ) -> Result<Vec<u8>, Nfsstat3> {
        let b = self
            .nfs(
                cred,
                Nfs3Call::Mkdir(Mkdir3Args {
                    where_: Diropargs3 {
                        dir: NfsFh3(dir),
                        name,
                    },
                    attributes: Sattr3 {
                        mode: Some(mode),
                        ..Default::default()
                    },
                }),
            )
            .await;
        match Nfs3Reply::decode(proc3::MKDIR, &b).unwrap() {
            Nfs3Reply::Mkdir(Nfs3Res::Ok(ok)) => Ok(ok.obj.expect("handle").0.to_vec()),
            Nfs3Reply::Mkdir(Nfs3Res::Fail(s, _)) => Err(s),
            other => panic!("{other:?}"),
        }
    }

    pub async fn lookup(
        &mut self,
        cred: &Credential,
        dir: &[u8],
        name: &[u8],
    ) -> Result<Vec<u8>, Nfsstat3> {
        let b = self
            .nfs(
                cred,
                Nfs3Call::Lookup(Lookup3Args {
                    what: Diropargs3 {
                        dir: NfsFh3(dir),
                        name,
                    },
                }),
            )
            .await;
        match Nfs3Reply::decode(proc3::LOOKUP, &b).unwrap() {
            Nfs3Reply::Lookup(Nfs3Res::Ok(ok)) => Ok(ok.object.0.to_vec()),
            Nfs3Reply::Lookup(Nfs3Res::Fail(s, _)) => Err(s),
            other => panic!("{other:?}"),
        }
    }

    pub async fn getattr(&mut self, fh: &[u8]) -> Result<Fattr3, Nfsstat3> {
        self.getattr_as(&root(), fh).await
    }

    pub async fn getattr_as(&mut self, cred: &Credential, fh: &[u8]) -> Result<Fattr3, Nfsstat3> {
        let b = self
            .nfs(cred, Nfs3Call::Getattr(Getattr3Args { object: NfsFh3(fh) }))
            .await;
        match Nfs3Reply::decode(proc3::GETATTR, &b).unwrap() {
            Nfs3Reply::Getattr(Nfs3Res::Ok(ok)) => Ok(ok.obj_attributes),
            Nfs3Reply::Getattr(Nfs3Res::Fail(s, _)) => Err(s),
            other => panic!("{other:?}"),
        }
    }
}
