//! Owned NFSv3 requests (handles and names held as `Bytes`), so a caller can keep a request
//! while its call is in flight, and decoding helpers for the results.

use bytes::Bytes;

use crate::proto::nfs3::*;
use crate::proto::rpc::ReplyStatus;
use crate::proto::xdr::{XdrEncode, XdrSink};

use super::error::ClientError;

/// One NFSv3 call with owned arguments. WRITE data is sent without a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Null,
    Getattr {
        fh: Bytes,
    },
    Lookup {
        dir: Bytes,
        name: Bytes,
    },
    /// CREATE: `GUARDED` when `guarded` (EXIST if the name exists), else `UNCHECKED`.
    Create {
        dir: Bytes,
        name: Bytes,
        mode: u32,
        guarded: bool,
    },
    Mkdir {
        dir: Bytes,
        name: Bytes,
        mode: u32,
    },
    Write {
        fh: Bytes,
        offset: u64,
        stable: StableHow,
        data: Bytes,
    },
    Read {
        fh: Bytes,
        offset: u64,
        count: u32,
    },
    /// COMMIT of `count` bytes from `offset` (`count == 0`: to the end of the file).
    Commit {
        fh: Bytes,
        offset: u64,
        count: u32,
    },
    Remove {
        dir: Bytes,
        name: Bytes,
    },
    Rmdir {
        dir: Bytes,
        name: Bytes,
    },
    Rename {
        from_dir: Bytes,
        from: Bytes,
        to_dir: Bytes,
        to: Bytes,
    },
    /// LINK: a new name `name` in `dir` for `fh`.
    Link {
        fh: Bytes,
        dir: Bytes,
        name: Bytes,
    },
    Readdirplus {
        dir: Bytes,
        cookie: u64,
        cookieverf: Cookieverf3,
        dircount: u32,
        maxcount: u32,
    },
    Fsinfo {
        fh: Bytes,
    },
}

impl Request {
    /// The NFSv3 procedure number.
    pub fn proc_num(&self) -> u32 {
        match self {
            Request::Null => proc3::NULL,
            Request::Getattr { .. } => proc3::GETATTR,
            Request::Lookup { .. } => proc3::LOOKUP,
            Request::Create { .. } => proc3::CREATE,
            Request::Mkdir { .. } => proc3::MKDIR,
            Request::Write { .. } => proc3::WRITE,
            Request::Read { .. } => proc3::READ,
            Request::Commit { .. } => proc3::COMMIT,
            Request::Remove { .. } => proc3::REMOVE,
            Request::Rmdir { .. } => proc3::RMDIR,
            Request::Rename { .. } => proc3::RENAME,
            Request::Link { .. } => proc3::LINK,
            Request::Readdirplus { .. } => proc3::READDIRPLUS,
            Request::Fsinfo { .. } => proc3::FSINFO,
        }
    }

    /// The procedure's name, for messages.
    pub fn name(&self) -> &'static str {
        proc_name(self.proc_num())
    }
}

/// The name of NFSv3 procedure `proc`.
pub fn proc_name(proc: u32) -> &'static str {
    match proc {
        proc3::NULL => "NULL",
        proc3::GETATTR => "GETATTR",
        proc3::SETATTR => "SETATTR",
        proc3::LOOKUP => "LOOKUP",
        proc3::ACCESS => "ACCESS",
        proc3::READLINK => "READLINK",
        proc3::READ => "READ",
        proc3::WRITE => "WRITE",
        proc3::CREATE => "CREATE",
        proc3::MKDIR => "MKDIR",
        proc3::SYMLINK => "SYMLINK",
        proc3::MKNOD => "MKNOD",
        proc3::REMOVE => "REMOVE",
        proc3::RMDIR => "RMDIR",
        proc3::RENAME => "RENAME",
        proc3::LINK => "LINK",
        proc3::READDIR => "READDIR",
        proc3::READDIRPLUS => "READDIRPLUS",
        proc3::FSSTAT => "FSSTAT",
        proc3::FSINFO => "FSINFO",
        proc3::PATHCONF => "PATHCONF",
        proc3::COMMIT => "COMMIT",
        _ => "UNKNOWN",
    }
}

fn sattr_mode(mode: u32) -> Sattr3 {
    Sattr3 {
        mode: Some(mode),
        ..Default::default()
    }
}

impl XdrEncode for Request {
    fn encode(&self, out: &mut XdrSink) {
        let call = match self {
            Request::Write {
                fh,
                offset,
                stable,
                data,
            } => {
                Write3Args::encode_with_payload(NfsFh3(fh), *offset, *stable, data.clone(), out);
                return;
            }
            Request::Null => Nfs3Call::Null,
            Request::Getattr { fh } => Nfs3Call::Getattr(Getattr3Args { object: NfsFh3(fh) }),
            Request::Lookup { dir, name } => Nfs3Call::Lookup(Lookup3Args {
                what: Diropargs3 {
                    dir: NfsFh3(dir),
                    name,
                },
            }),
            Request::Create {
                dir,
                name,
                mode,
                guarded,
            } => Nfs3Call::Create(Create3Args {
                where_: Diropargs3 {
                    dir: NfsFh3(dir),
                    name,
                },
                how: if *guarded {
                    Createhow3::Guarded(sattr_mode(*mode))
                } else {
                    Createhow3::Unchecked(sattr_mode(*mode))
                },
            }),
            Request::Mkdir { dir, name, mode } => Nfs3Call::Mkdir(Mkdir3Args {
                where_: Diropargs3 {
                    dir: NfsFh3(dir),
                    name,
                },
                attributes: sattr_mode(*mode),
            }),
            Request::Read { fh, offset, count } => Nfs3Call::Read(Read3Args {
                file: NfsFh3(fh),
                offset: *offset,
                count: *count,
            }),
            Request::Commit { fh, offset, count } => Nfs3Call::Commit(Commit3Args {
                file: NfsFh3(fh),
                offset: *offset,
                count: *count,
            }),
            Request::Remove { dir, name } => Nfs3Call::Remove(Remove3Args {
                object: Diropargs3 {
                    dir: NfsFh3(dir),
                    name,
                },
            }),
            Request::Rmdir { dir, name } => Nfs3Call::Rmdir(Rmdir3Args {
                object: Diropargs3 {
                    dir: NfsFh3(dir),
                    name,
                },
            }),
            Request::Rename {
                from_dir,
                from,
                to_dir,
                to,
            } => Nfs3Call::Rename(Rename3Args {
                from: Diropargs3 {
                    dir: NfsFh3(from_dir),
                    name: from,
                },
                to: Diropargs3 {
                    dir: NfsFh3(to_dir),
                    name: to,
                },
            }),
            Request::Link { fh, dir, name } => Nfs3Call::Link(Link3Args {
                file: NfsFh3(fh),
                link: Diropargs3 {
                    dir: NfsFh3(dir),
                    name,
                },
            }),
            Request::Readdirplus {
                dir,
                cookie,
                cookieverf,
                dircount,
                maxcount,
            } => Nfs3Call::Readdirplus(Readdirplus3Args {
                dir: NfsFh3(dir),
                cookie: *cookie,
                cookieverf: *cookieverf,
                dircount: *dircount,
                maxcount: *maxcount,
            }),
            Request::Fsinfo { fh } => Nfs3Call::Fsinfo(Fsinfo3Args { fsroot: NfsFh3(fh) }),
        };
        call.encode(out);
    }
}

/// The results of an accepted call, or the RPC-level rejection as an error.
pub fn accepted(status: ReplyStatus) -> Result<Bytes, ClientError> {
    match status {
        ReplyStatus::Success(body) => Ok(body),
        other => Err(ClientError::Rpc(other)),
    }
}

/// Decodes the results of NFSv3 procedure `proc`.
pub fn decode_nfs(proc: u32, body: &Bytes) -> Result<Nfs3Reply<'_>, ClientError> {
    Nfs3Reply::decode(proc, body).map_err(|source| ClientError::Decode {
        procedure: proc_name(proc),
        source,
    })
}

/// The `resok` arm of a result, or its status as an error.
pub fn ok_arm<T, F>(procedure: &'static str, res: Nfs3Res<T, F>) -> Result<T, ClientError> {
    match res {
        Nfs3Res::Ok(v) => Ok(v),
        fail => Err(ClientError::Nfs {
            procedure,
            status: fail.status(),
        }),
    }
}

/// A reply that decoded as another procedure's result: cannot happen with [`decode_nfs`], but
/// reported as an error rather than a panic.
pub fn wrong_reply(expected: &'static str) -> ClientError {
    ClientError::Protocol(format!("reply does not match a {expected} call"))
}
