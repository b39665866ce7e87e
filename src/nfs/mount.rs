//! MOUNT v3 and portmap v2, served on the NFS port.
//!
//! There is one export, `/`. MNT of a deeper path (`server:/a/b`) is resolved as root would
//! resolve it and returns that directory's handle, as Linux's nfsd does for a path inside an
//! export. The mount list (for DUMP, `showmount -a`) is informational and kept in memory.
use std::net::IpAddr;

use parking_lot::Mutex;

use crate::fs::{Credentials, FileType, Fs, FsError};
use crate::proto::mount::{
    auth_flavor, Exportnode, MountCall, MountReply, Mountbody, Mountres3, Mountres3Ok, Mountstat3,
};
use crate::proto::xdr::{XdrEncode, XdrSink};

/// Entries kept for DUMP; beyond this the oldest are forgotten.
const MAX_MOUNT_LIST: usize = 1024;

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
    pub async fn handle(&self, fs: &Fs, peer: IpAddr, call: &MountCall<'_>, out: &mut XdrSink) {
        match call {
            MountCall::Null => MountReply::Null.encode(out),
            MountCall::Mnt(path) => match resolve_export_path(fs, path)
                .await
                .inspect(|_| log::debug!("MNT {:?} from {peer}", String::from_utf8_lossy(path)))
            {
                Ok(handle) => {
                    let entry = (peer.to_string(), path.to_vec());
                    let mut list = self.mounts.lock();
                    if !list.contains(&entry) {
                        if list.len() >= MAX_MOUNT_LIST {
                            list.remove(0);
                        }
                        list.push(entry);
                    }
                    drop(list);
                    MountReply::Mnt(Mountres3::Ok(Mountres3Ok {
                        fhandle: handle.as_bytes(),
                        auth_flavors: vec![auth_flavor::AUTH_SYS, auth_flavor::AUTH_NONE],
                    }))
                    .encode(out)
                }
                Err(e) => {
                    log::info!(
                        "MNT {:?} from {peer} refused: {e}",
                        String::from_utf8_lossy(path)
                    );
                    MountReply::Mnt(Mountres3::Err(mount_status(&e))).encode(out)
                }
            },
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
                let host = peer.to_string();
                self.mounts
                    .lock()
                    .retain(|(h, d)| !(h == &host && d.as_slice() == *path));
                MountReply::Umnt.encode(out)
            }
            MountCall::Umntall => {
                let host = peer.to_string();
                self.mounts.lock().retain(|(h, _)| h != &host);
                MountReply::Umntall.encode(out)
            }
            MountCall::Export => MountReply::Export(vec![Exportnode {
                dir: b"/",
                groups: Vec::new(),
            }])
            .encode(out),
        }
    }
}

/// The handle of the directory at `path` (absolute, `/` the root of the filesystem).
async fn resolve_export_path(fs: &Fs, path: &[u8]) -> Result<crate::fs::FileHandle, FsError> {
    let root = Credentials::root();
    if path.first() != Some(&b'/') {
        return Err(FsError::NoEnt);
    }
    let mut dir = fs.root();
    let mut handle = fs.root_handle().await?;
    for name in path
        .split(|b| *b == b'/')
        .filter(|n| !n.is_empty() && *n != b".")
    {
        let found = fs.lookup(&root, dir, name).await?;
        if found.attr.ftype != FileType::Directory {
            return Err(FsError::NotDir);
        }
        dir = found.ino;
        handle = found.handle;
    }
    Ok(handle)
}
