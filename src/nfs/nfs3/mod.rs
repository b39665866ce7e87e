//! The NFSv3 procedures: decoded arguments in, a filesystem or data-path call, typed result
//! out. One module per kind of procedure: attributes, the namespace, file data, listings.
//!
//! Every failure is an `nfsstat3` in the procedure's result (RPC-level SUCCESS); the failure
//! arms carry no attributes, which RFC 1813 allows (`post_op_attr` / `wcc_data` are optional)
//! and which is always safe: pre-op attributes we did not capture atomically must not be sent.
mod attrs;
mod data;
mod listing;
mod namespace;

use bytes::Bytes;

use crate::datapath::DataPath;
use crate::fs::{Credentials, Fs, FsError, FsResult, InodeId};
use crate::proto::nfs3::{Nfs3Call, Nfs3Res, NfsFh3, Nfsstat3, PostOpAttr};
use crate::proto::xdr::{XdrEncode, XdrSink};

use super::convert::status;

/// Runs `call` and encodes its result into `out`. `body` is the call's undecoded argument
/// record, which WRITE's payload is a zero-copy slice of.
pub async fn dispatch(
    fs: &Fs,
    data: &DataPath,
    cred: &Credentials,
    call: &Nfs3Call<'_>,
    body: &Bytes,
    out: &mut XdrSink,
) {
    match call {
        Nfs3Call::Null => {}
        Nfs3Call::Getattr(a) => attrs::getattr(fs, a, out).await,
        Nfs3Call::Setattr(a) => attrs::setattr(data, cred, a, out).await,
        Nfs3Call::Access(a) => attrs::access(fs, cred, a, out).await,
        Nfs3Call::Readlink(a) => attrs::readlink(fs, cred, a, out).await,
        Nfs3Call::Fsstat(a) => attrs::fsstat(fs, a, out).await,
        Nfs3Call::Fsinfo(a) => attrs::fsinfo(fs, a, out).await,
        Nfs3Call::Pathconf(a) => attrs::pathconf(fs, a, out).await,
        Nfs3Call::Lookup(a) => namespace::lookup(fs, cred, a, out).await,
        Nfs3Call::Create(a) => namespace::create(fs, cred, a, out).await,
        Nfs3Call::Mkdir(a) => namespace::mkdir(fs, cred, a, out).await,
        Nfs3Call::Symlink(a) => namespace::symlink(fs, cred, a, out).await,
        Nfs3Call::Mknod(a) => namespace::mknod(fs, cred, a, out).await,
        Nfs3Call::Remove(a) => namespace::remove(fs, cred, a, out).await,
        Nfs3Call::Rmdir(a) => namespace::rmdir(fs, cred, a, out).await,
        Nfs3Call::Rename(a) => namespace::rename(fs, cred, a, out).await,
        Nfs3Call::Link(a) => namespace::link(fs, cred, a, out).await,
        Nfs3Call::Read(a) => data::read(data, cred, a, out).await,
        Nfs3Call::Write(a) => data::write(data, cred, a, body, out).await,
        Nfs3Call::Commit(a) => data::commit(fs, a, out).await,
        Nfs3Call::Readdir(a) => listing::readdir(fs, cred, a, out).await,
        Nfs3Call::Readdirplus(a) => listing::readdirplus(fs, cred, a, out).await,
    }
}

/// The attributes a failure carries: none (see the module docs).
const NO_ATTRIBUTES: PostOpAttr = None;

/// The inode a file handle names (no I/O: whether it still exists is the operation's check).
fn inode_of(fs: &Fs, fh: NfsFh3<'_>) -> FsResult<InodeId> {
    fs.decode_handle(fh.as_bytes())
}

/// The wire status of a failure; I/O errors and server faults also reach the log, as they
/// mean something is wrong on our side.
fn nfs_status(e: &FsError) -> Nfsstat3 {
    if e.is_io() || matches!(e, FsError::ServerFault(_)) {
        log::error!("NFS operation failed: {e}");
    }
    status(e)
}

/// Encodes a procedure's result: `ok` of the value on success, the failure status and `fail`
/// (the attributes a failure carries: none) otherwise.
fn respond<'o, O, T: XdrEncode, F: XdrEncode>(
    result: &'o FsResult<O>,
    ok: impl FnOnce(&'o O) -> T,
    fail: F,
    out: &mut XdrSink,
) {
    match result {
        Ok(v) => Nfs3Res::<T, F>::Ok(ok(v)).encode(out),
        Err(e) => Nfs3Res::<T, F>::Fail(nfs_status(e), fail).encode(out),
    }
}
