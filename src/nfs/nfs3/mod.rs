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
use crate::fs::FsError;
use crate::fs::FsResult;
use crate::proto::nfs3::*;
use crate::proto::xdr::{XdrEncode, XdrSink};

use super::admission::CallContext;
use super::convert::status;

pub(super) use listing::listing_reply_bound;

/// Runs `call` and encodes its result into `out`. `body` is the call's undecoded argument
/// record, which WRITE's payload is a zero-copy slice of.
pub(super) async fn dispatch(
    ctx: &CallContext<'_>,
    data: &DataPath,
    call: &Nfs3Call<'_>,
    body: &Bytes,
    out: &mut XdrSink,
) {
    match call {
        Nfs3Call::Null => {}
        Nfs3Call::Getattr(a) => attrs::getattr(ctx, a, out).await,
        Nfs3Call::Setattr(a) => attrs::setattr(ctx, data, a, out).await,
        Nfs3Call::Access(a) => attrs::access(ctx, a, out).await,
        Nfs3Call::Readlink(a) => attrs::readlink(ctx, a, out).await,
        Nfs3Call::Fsstat(a) => attrs::fsstat(ctx, a, out).await,
        Nfs3Call::Fsinfo(a) => attrs::fsinfo(ctx, a, out).await,
        Nfs3Call::Pathconf(a) => attrs::pathconf(ctx, a, out).await,
        Nfs3Call::Lookup(a) => namespace::lookup(ctx, a, out).await,
        Nfs3Call::Create(a) => namespace::create(ctx, a, out).await,
        Nfs3Call::Mkdir(a) => namespace::mkdir(ctx, a, out).await,
        Nfs3Call::Symlink(a) => namespace::symlink(ctx, a, out).await,
        Nfs3Call::Mknod(a) => namespace::mknod(ctx, a, out).await,
        Nfs3Call::Remove(a) => namespace::remove(ctx, a, out).await,
        Nfs3Call::Rmdir(a) => namespace::rmdir(ctx, a, out).await,
        Nfs3Call::Rename(a) => namespace::rename(ctx, a, out).await,
        Nfs3Call::Link(a) => namespace::link(ctx, a, out).await,
        Nfs3Call::Read(a) => data::read(ctx, data, a, out).await,
        Nfs3Call::Write(a) => data::write(ctx, data, a, body, out).await,
        Nfs3Call::Commit(a) => data::commit(ctx, a, out).await,
        Nfs3Call::Readdir(a) => listing::readdir(ctx, a, out).await,
        Nfs3Call::Readdirplus(a) => listing::readdirplus(ctx, a, out).await,
    }
}

/// Encodes the failure `e` of `call` without running it (a refused call): the status and the
/// procedure's failure arm with no attributes.
pub(super) fn refuse(call: &Nfs3Call<'_>, e: &FsError, out: &mut XdrSink) {
    fn fail<F: XdrEncode>(status: Nfsstat3, arm: F, out: &mut XdrSink) {
        Nfs3Res::<(), F>::Fail(status, arm).encode(out)
    }
    let st = nfs_status(e);
    match call {
        Nfs3Call::Null => {}
        Nfs3Call::Getattr(_) => fail(st, (), out),
        Nfs3Call::Setattr(_)
        | Nfs3Call::Write(_)
        | Nfs3Call::Create(_)
        | Nfs3Call::Mkdir(_)
        | Nfs3Call::Symlink(_)
        | Nfs3Call::Mknod(_)
        | Nfs3Call::Remove(_)
        | Nfs3Call::Rmdir(_)
        | Nfs3Call::Commit(_) => fail(st, WccData::default(), out),
        Nfs3Call::Rename(_) => fail(st, Rename3Wcc::default(), out),
        Nfs3Call::Link(_) => fail(st, Link3Wcc::default(), out),
        Nfs3Call::Lookup(_)
        | Nfs3Call::Access(_)
        | Nfs3Call::Readlink(_)
        | Nfs3Call::Read(_)
        | Nfs3Call::Readdir(_)
        | Nfs3Call::Readdirplus(_)
        | Nfs3Call::Fsstat(_)
        | Nfs3Call::Fsinfo(_)
        | Nfs3Call::Pathconf(_) => fail(st, NO_ATTRIBUTES, out),
    }
}

/// The attributes a failure carries: none (see the module docs).
const NO_ATTRIBUTES: PostOpAttr = None;

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
