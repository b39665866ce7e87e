//! The NFS calls more than one workload sends, and the checks of their replies: a reply that
//! is not a success with the expected results becomes an error, never a panic.

use bytes::Bytes;

use slatenfs::netclient::{decode_nfs, ok_arm, parse_read, proc_name, ClientError, Request};
use slatenfs::proto::nfs3::{proc3, Nfs3Reply, Nfsstat3, StableHow};

use crate::content::{content, verify};

/// Mode of the files the bench makes.
pub const FILE_MODE: u32 = 0o644;
/// Mode of the directories the bench makes.
pub const DIR_MODE: u32 = 0o755;

/// CREATE of a regular file: GUARDED when `guarded` (the name must be new), else UNCHECKED.
pub fn create_file(dir: &Bytes, name: Bytes, guarded: bool) -> Request {
    Request::Create {
        dir: dir.clone(),
        name,
        mode: FILE_MODE,
        guarded,
    }
}

/// WRITE UNSTABLE of the `len` bytes at `offset` of the file with contents `key`.
pub fn unstable_write(fh: &Bytes, key: u64, offset: u64, len: u64) -> Request {
    Request::Write {
        fh: fh.clone(),
        offset,
        stable: StableHow::Unstable,
        data: content(key, offset, len as usize),
    }
}

/// COMMIT of the whole file.
pub fn commit_file(fh: &Bytes) -> Request {
    Request::Commit {
        fh: fh.clone(),
        offset: 0,
        count: 0,
    }
}

/// Checks a WRITE reply; the bytes written.
pub fn write_ok(result: Result<Bytes, ClientError>, len: usize) -> Result<u64, ClientError> {
    let body = result?;
    match decode_nfs(proc3::WRITE, &body)? {
        Nfs3Reply::Write(r) => {
            let ok = ok_arm("WRITE", r)?;
            if ok.count as usize != len {
                return Err(ClientError::Protocol(format!(
                    "short WRITE: {} of {len}",
                    ok.count
                )));
            }
            Ok(len as u64)
        }
        _ => Err(ClientError::Protocol("not a WRITE reply".into())),
    }
}

/// Checks a reply whose results only carry a status.
pub fn status_ok(proc: u32, result: Result<Bytes, ClientError>) -> Result<(), ClientError> {
    let body = result?;
    let reply = decode_nfs(proc, &body)?;
    match reply.status() {
        Nfsstat3::Ok => Ok(()),
        status => Err(ClientError::Nfs {
            procedure: proc_name(proc),
            status,
        }),
    }
}

/// The handle of a CREATE / MKDIR reply.
pub fn made_ok(proc: u32, result: Result<Bytes, ClientError>) -> Result<Bytes, ClientError> {
    let body = result?;
    let res = match decode_nfs(proc, &body)? {
        Nfs3Reply::Create(r) | Nfs3Reply::Mkdir(r) => r,
        _ => return Err(ClientError::Protocol("not a CREATE/MKDIR reply".into())),
    };
    match ok_arm(proc_name(proc), res)?.obj {
        Some(fh) => Ok(Bytes::copy_from_slice(fh.0)),
        None => Err(ClientError::Protocol(
            "no handle in CREATE/MKDIR reply".into(),
        )),
    }
}

/// Checks a READ reply against the expected contents; the bytes read.
pub fn read_ok(
    result: Result<Bytes, ClientError>,
    key: u64,
    offset: u64,
    expect_len: usize,
) -> Result<u64, ClientError> {
    let r = parse_read(&result?)?;
    if r.data.len() != expect_len {
        return Err(ClientError::Protocol(format!(
            "READ at {offset}: {} bytes, expected {expect_len}",
            r.data.len()
        )));
    }
    if !verify(key, offset, &r.data) {
        return Err(ClientError::Protocol(format!(
            "READ at {offset}: data mismatch"
        )));
    }
    Ok(r.data.len() as u64)
}
