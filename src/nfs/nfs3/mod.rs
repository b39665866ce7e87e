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
mod snapshot_dir;

use bytes::Bytes;

use crate::datapath::DataPath;
use crate::fs::{FsError, FsResult};
use crate::proto::nfs3::*;
use crate::proto::xdr::{XdrEncode, XdrSink};
use crate::store::WriteTicket;

use super::admission::CallContext;
use super::convert::status;

pub(super) use listing::listing_reply_bound;

/// The write a changing call made and could not confirm durable in time, when that is why it
/// answered JUKEBOX: a retry of the call waits for that write instead of running again (see
/// [`crate::nfs::drc`]).
pub type Unconfirmed = Option<WriteTicket>;

/// Runs `call` and encodes its result into `out`. `body` is the call's undecoded argument
/// record, which WRITE's payload is a zero-copy slice of. Returns the write the call made and
/// could not confirm durable (only calls that are not idempotent report it).
pub(super) async fn dispatch(
    ctx: &CallContext<'_>,
    data: &DataPath,
    call: &Nfs3Call<'_>,
    body: &Bytes,
    out: &mut XdrSink,
) -> Unconfirmed {
    match call {
        Nfs3Call::Setattr(a) => return attrs::setattr(ctx, data, a, out).await,
        Nfs3Call::Create(a) => return namespace::create(ctx, a, out).await,
        Nfs3Call::Mkdir(a) => return namespace::mkdir(ctx, a, out).await,
        Nfs3Call::Symlink(a) => return namespace::symlink(ctx, a, out).await,
        Nfs3Call::Mknod(a) => return namespace::mknod(ctx, a, out).await,
        Nfs3Call::Remove(a) => return namespace::remove(ctx, a, out).await,
        Nfs3Call::Rmdir(a) => return namespace::rmdir(ctx, a, out).await,
        Nfs3Call::Rename(a) => return namespace::rename(ctx, a, out).await,
        Nfs3Call::Link(a) => return namespace::link(ctx, a, out).await,
        _ => {}
    }
    match call {
        Nfs3Call::Null => {}
        Nfs3Call::Getattr(a) => attrs::getattr(ctx, a, out).await,
        Nfs3Call::Access(a) => attrs::access(ctx, a, out).await,
        Nfs3Call::Readlink(a) => attrs::readlink(ctx, a, out).await,
        Nfs3Call::Fsstat(a) => attrs::fsstat(ctx, a, out).await,
        Nfs3Call::Fsinfo(a) => attrs::fsinfo(ctx, a, out).await,
        Nfs3Call::Pathconf(a) => attrs::pathconf(ctx, a, out).await,
        Nfs3Call::Lookup(a) => namespace::lookup(ctx, a, out).await,
        Nfs3Call::Read(a) => data::read(ctx, data, a, out).await,
        Nfs3Call::Write(a) => data::write(ctx, data, a, body, out).await,
        Nfs3Call::Commit(a) => data::commit(ctx, a, out).await,
        Nfs3Call::Readdir(a) => listing::readdir(ctx, a, out).await,
        Nfs3Call::Readdirplus(a) => listing::readdirplus(ctx, a, out).await,
        // Answered above.
        Nfs3Call::Setattr(_)
        | Nfs3Call::Create(_)
        | Nfs3Call::Mkdir(_)
        | Nfs3Call::Symlink(_)
        | Nfs3Call::Mknod(_)
        | Nfs3Call::Remove(_)
        | Nfs3Call::Rmdir(_)
        | Nfs3Call::Rename(_)
        | Nfs3Call::Link(_) => {}
    }
    None
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

/// The result of changing procedure `procedure` with `status` (`None`: success) and none of
/// the attributes or the file handle that RFC 1813 lets a server leave out (`post_op_attr`,
/// `post_op_fh3` and `wcc_data` are all optional; a client without the handle of a new file
/// looks it up). What a retry of a call whose change was made earlier is answered with (see
/// [`crate::nfs::drc`]). `false` for a procedure that is not one of those.
pub fn encode_without_attributes(
    procedure: u32,
    status: Option<Nfsstat3>,
    out: &mut XdrSink,
) -> bool {
    fn put<T: XdrEncode + Default>(status: Option<Nfsstat3>, out: &mut XdrSink) {
        match status {
            None => Nfs3Res::<T, T>::Ok(T::default()).encode(out),
            Some(s) => Nfs3Res::<T, T>::Fail(s, T::default()).encode(out),
        }
    }
    match procedure {
        proc3::SETATTR | proc3::REMOVE | proc3::RMDIR => put::<WccData>(status, out),
        proc3::RENAME => put::<Rename3Wcc>(status, out),
        proc3::LINK => put::<Link3Wcc>(status, out),
        proc3::CREATE | proc3::MKDIR | proc3::SYMLINK | proc3::MKNOD => match status {
            None => Nfs3Res::<Create3ResOk<'_>, WccData>::Ok(Create3ResOk {
                obj: None,
                obj_attributes: NO_ATTRIBUTES,
                dir_wcc: WccData::default(),
            })
            .encode(out),
            Some(s) => {
                Nfs3Res::<Create3ResOk<'_>, WccData>::Fail(s, WccData::default()).encode(out)
            }
        },
        _ => return false,
    }
    true
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
/// (the attributes a failure carries: none) otherwise. Returns the write the operation made
/// and could not confirm durable, if that is why it failed.
fn respond<'o, O, T: XdrEncode, F: XdrEncode>(
    result: &'o FsResult<O>,
    ok: impl FnOnce(&'o O) -> T,
    fail: F,
    out: &mut XdrSink,
) -> Unconfirmed {
    match result {
        Ok(v) => {
            Nfs3Res::<T, F>::Ok(ok(v)).encode(out);
            None
        }
        Err(e) => {
            Nfs3Res::<T, F>::Fail(nfs_status(e), fail).encode(out);
            e.not_yet_durable()
        }
    }
}
