//! MOUNT v3 and portmap v2, served on the NFS port.
//!
//! MNT of a path grants it when an export rule admits the peer for that directory or one above
//! it ([`ExportTable::for_mount`]); the handle it returns is issued under that export, and its
//! options apply to every call made with it and with the handles derived from it. The path is
//! resolved as root would resolve it (as Linux's mountd does). A refused MNT is MNT3ERR_ACCES
//! and logged with the peer, as is a MNT from a non-privileged port to a `secure` export.
//! EXPORT lists the rules in force; the mount list (DUMP) is informational and kept in memory.
//!
//! `/.snapshot` and `/.snapshot/NAME[/DIR]` mount the snapshot directory and a snapshot (or a
//! directory in it), under the export rule that covers `/`.
use std::net::SocketAddr;

use parking_lot::Mutex;

use crate::exports::{normalise_mount_path, ExportTable};
use crate::fs::{Credentials, FileType, Fs, FsError, ObjectId};
use crate::proto::mount::{
    auth_flavor, Exportnode, MountCall, MountReply, Mountbody, Mountres3, Mountres3Ok, Mountstat3,
};
use crate::proto::xdr::{XdrEncode, XdrSink};
use crate::rate_limited_log::RateLimitedLog;
use crate::snapshot::{LIVE_VIEW, SNAPSHOT_DIR_VIEW};

use super::handle::{FileHandle, HandleCodec};
use super::views::Views;

/// Entries kept for DUMP; beyond this the oldest are forgotten.
const MAX_MOUNT_LIST: usize = 1024;
/// Refused MNTs logged per second, at most.
static REFUSED_MOUNTS: RateLimitedLog = RateLimitedLog::new(10);

#[derive(Default)]
pub struct MountTable {
    mounts: Mutex<Vec<(String, Vec<u8>)>>,
}

fn mount_status(e: &FsError) -> Mountstat3 {
    match e {
        FsError::NoEnt | FsError::Stale => Mountstat3::Noent,
        FsError::NotDir => Mountstat3::Notdir,
        FsError::Access | FsError::Perm => Mountstat3::Acces,
        FsError::NameTooLong => Mountstat3::Nametoolong,
        FsError::Inval => Mountstat3::Inval,
        FsError::Io(_) | FsError::Store(_) => Mountstat3::Io,
        _ => Mountstat3::Serverfault,
    }
}

impl MountTable {
    pub async fn handle(
        &self,
        views: &Views,
        codec: &HandleCodec,
        exports: &ExportTable,
        peer: SocketAddr,
        call: &MountCall<'_>,
        out: &mut XdrSink,
    ) {
        match call {
            MountCall::Null => MountReply::Null.encode(out),
            MountCall::Mnt(path) => {
                let shown = String::from_utf8_lossy(path);
                match mount(views, codec, exports, peer, path).await {
                    Ok(handle) => {
                        log::debug!("MNT {shown:?} from {peer}");
                        self.remember(peer, path);
                        MountReply::Mnt(Mountres3::Ok(Mountres3Ok {
                            fhandle: handle.as_bytes(),
                            auth_flavors: vec![auth_flavor::AUTH_SYS, auth_flavor::AUTH_NONE],
                        }))
                        .encode(out)
                    }
                    Err(Refused::Rules(why)) => {
                        REFUSED_MOUNTS.warn(|| format!("refused MNT {shown:?} from {peer}: {why}"));
                        MountReply::Mnt(Mountres3::Err(Mountstat3::Acces)).encode(out)
                    }
                    Err(Refused::Fs(e)) => {
                        log::info!("MNT {shown:?} from {peer} failed: {e}");
                        MountReply::Mnt(Mountres3::Err(mount_status(&e))).encode(out)
                    }
                }
            }
            MountCall::Dump => {
                let list = self.mounts.lock().clone();
                let bodies: Vec<Mountbody<'_>> = list
                    .iter()
                    .map(|(host, dir)| Mountbody {
                        hostname: host.as_bytes(),
                        directory: dir,
                    })
                    .collect();
                MountReply::Dump(bodies).encode(out)
            }
            MountCall::Umnt(path) => {
                let host = peer.ip().to_string();
                self.mounts
                    .lock()
                    .retain(|(h, d)| !(h == &host && d.as_slice() == *path));
                MountReply::Umnt.encode(out)
            }
            MountCall::Umntall => {
                let host = peer.ip().to_string();
                self.mounts.lock().retain(|(h, _)| h != &host);
                MountReply::Umntall.encode(out)
            }
            MountCall::Export => {
                let groups: Vec<Vec<String>> = exports
                    .exports()
                    .iter()
                    .map(|e| e.clients.iter().map(|(c, _)| c.to_string()).collect())
                    .collect();
                let nodes = exports
                    .exports()
                    .iter()
                    .zip(&groups)
                    .map(|(e, g)| Exportnode {
                        dir: e.path.as_bytes(),
                        groups: g.iter().map(|s| s.as_bytes()).collect(),
                    })
                    .collect();
                MountReply::Export(nodes).encode(out)
            }
        }
    }

    fn remember(&self, peer: SocketAddr, path: &[u8]) {
        let entry = (peer.ip().to_string(), path.to_vec());
        let mut list = self.mounts.lock();
        if !list.contains(&entry) {
            if list.len() >= MAX_MOUNT_LIST {
                list.remove(0);
            }
            list.push(entry);
        }
    }
}

/// Why a MNT is refused.
enum Refused {
    /// No rule grants it (MNT3ERR_ACCES, logged with the reason).
    Rules(String),
    /// The path does not lead to a directory.
    Fs(FsError),
}

/// The handle of the directory at `path` for `peer`, if a rule grants it.
async fn mount(
    views: &Views,
    codec: &HandleCodec,
    exports: &ExportTable,
    peer: SocketAddr,
    path: &[u8],
) -> Result<FileHandle, Refused> {
    let path = std::str::from_utf8(path)
        .ok()
        .and_then(normalise_mount_path)
        .ok_or_else(|| Refused::Rules("not an absolute path without '..'".into()))?;
    let Some((export, options)) = exports.for_mount(&path, peer.ip()) else {
        return Err(Refused::Rules(
            "no export rule grants it to this client".into(),
        ));
    };
    if !options.port_allowed(peer.port()) {
        return Err(Refused::Rules(format!(
            "export {} is secure and port {} is not privileged",
            export.path,
            peer.port()
        )));
    }
    let (view, dir) = resolve_in_views(views, &path).await.map_err(Refused::Fs)?;
    Ok(codec.encode(view, dir, export.id))
}

/// The view and directory at `path`: in the live filesystem, or under `/.snapshot`.
async fn resolve_in_views(views: &Views, path: &str) -> Result<(u32, ObjectId), FsError> {
    let mut parts = path.split('/').filter(|n| !n.is_empty() && *n != ".");
    if parts.next() != Some(".snapshot") {
        return Ok((LIVE_VIEW, resolve_directory(views.live(), path).await?));
    }
    let Some(name) = parts.next() else {
        return Ok((SNAPSHOT_DIR_VIEW, views.live().root_object().await?));
    };
    let (snapshot, fs) = views.by_name(name.as_bytes()).await?;
    let rest: Vec<&str> = parts.collect();
    let dir = resolve_directory(&fs, &format!("/{}", rest.join("/"))).await?;
    Ok((snapshot.view, dir))
}

/// The directory at `path` (absolute, `/` the root of the filesystem), walked as root.
pub(crate) async fn resolve_directory(fs: &Fs, path: &str) -> Result<ObjectId, FsError> {
    let root = Credentials::root();
    if !path.starts_with('/') {
        return Err(FsError::NoEnt);
    }
    let mut dir = fs.root_object().await?;
    for name in path.split('/').filter(|n| !n.is_empty() && *n != ".") {
        let found = fs.lookup(&root, dir.ino, name.as_bytes()).await?;
        if found.attr.ftype != FileType::Directory {
            return Err(FsError::NotDir);
        }
        dir = found.object();
    }
    Ok(dir)
}
