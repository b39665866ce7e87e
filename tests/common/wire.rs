//! [`Wire`]: the NFS service (and its lock manager) driven through the sans-IO client and
//! server engines, without sockets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use slatenfs::datapath::{DataPath, DataPathConfig};
use slatenfs::lockmgr::{LockManager, LockManagerConfig};
use slatenfs::nfs::NfsService;
use slatenfs::proto::auth::{AuthSys, Credential};
use slatenfs::proto::client::{ClientConfig, ClientConnection};
use slatenfs::proto::connection::ServerConnection;
use slatenfs::proto::mount::{MountCall, MountReply, Mountres3};
use slatenfs::proto::nfs3::*;
use slatenfs::proto::outbound::Outbox;
use slatenfs::proto::rpc::ReplyStatus;
use slatenfs::proto::xdr::{XdrEncode, XdrSink};
use slatenfs::server::{Peer, Service};
use smallvec::SmallVec;

use super::fs::new_fs;
use super::{client_output, server_output};

/// The NFS service over the wire, without sockets: the project's client engine encodes calls,
/// the server engine frames and classifies them, `nfs::NfsService` runs them on real SlateDB
/// (in-memory object store), and the replies are decoded back.
pub struct Wire {
    pub service: NfsService,
    pub data: DataPath,
    pub server: ServerConnection,
    pub client: ClientConnection,
    /// Where the calls come from (and to).
    pub peer: Peer,
}

/// The peer of [`Wire`]'s calls unless a test changes it.
pub fn peer(remote: &str) -> Peer {
    Peer::tcp(remote.parse().unwrap(), "127.0.0.1:2049".parse().unwrap())
}

pub fn sys(uid: u32, gid: u32) -> Credential {
    Credential::Sys(AuthSys {
        stamp: 1,
        machinename: SmallVec::from_slice(b"test"),
        uid,
        gid,
        gids: SmallVec::new(),
    })
}

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

impl Wire {
    /// The service without a lock manager.
    pub async fn new() -> Wire {
        Wire::over(new_fs().await).await
    }

    /// The service without a lock manager, over `fs`.
    pub async fn over(fs: slatenfs::fs::Fs) -> Wire {
        Wire::serving(NfsService::new(fs, 2049, DataPathConfig::uncached())).await
    }

    /// The service with a lock manager (in memory, no grace period) whose calls to clients go
    /// to `outbox`.
    pub async fn with_locks(outbox: Arc<dyn Outbox>) -> Wire {
        let config = LockManagerConfig {
            grace_period: Duration::ZERO,
            ..LockManagerConfig::default()
        };
        let locks = LockManager::open(None, config, outbox, Instant::now())
            .await
            .unwrap();
        let service = NfsService::new(new_fs().await, 2049, DataPathConfig::uncached())
            .with_lock_manager(locks, 2049);
        Wire::serving(service).await
    }

    async fn serving(service: NfsService) -> Wire {
        let server = ServerConnection::new(service.connection_config());
        let data = service.start_core(0).await;
        Wire {
            service,
            data,
            server,
            client: ClientConnection::new(ClientConfig::default()),
            peer: peer("127.0.0.1:700"),
        }
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

    pub async fn root_fh(&mut self) -> Vec<u8> {
        let st = self
            .rpc(MOUNT_PROGRAM, MOUNT_V3, 1, &root(), &MountCall::Mnt(b"/"))
            .await;
        let ReplyStatus::Success(b) = st else {
            panic!("{st:?}")
        };
        match MountReply::decode(1, &b).unwrap() {
            MountReply::Mnt(Mountres3::Ok(ok)) => ok.fhandle.to_vec(),
            other => panic!("{other:?}"),
        }
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

    pub async fn getattr(&mut self, fh: &[u8]) -> Result<Fattr3, Nfsstat3> {
        let b = self
            .nfs(
                &root(),
                Nfs3Call::Getattr(Getattr3Args { object: NfsFh3(fh) }),
            )
            .await;
        match Nfs3Reply::decode(proc3::GETATTR, &b).unwrap() {
            Nfs3Reply::Getattr(Nfs3Res::Ok(ok)) => Ok(ok.obj_attributes),
            Nfs3Reply::Getattr(Nfs3Res::Fail(s, _)) => Err(s),
            other => panic!("{other:?}"),
        }
    }
}
