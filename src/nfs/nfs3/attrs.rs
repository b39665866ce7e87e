//! Attribute procedures: GETATTR, SETATTR, ACCESS, READLINK, FSSTAT, FSINFO, PATHCONF.
use crate::datapath::DataPath;
use crate::fs::{Credentials, Fs};
use crate::proto::nfs3::*;
use crate::proto::xdr::XdrSink;

use super::{inode_of, respond, Unconfirmed, NO_ATTRIBUTES};
use crate::nfs::convert::{fattr, nfstime, post_op, set_attr, timestamp, wcc};

pub(super) async fn getattr(fs: &Fs, a: &Getattr3Args<'_>, out: &mut XdrSink) {
    let r = async { fs.getattr(inode_of(fs, a.object)?).await }.await;
    respond(
        &r,
        |attr| Getattr3ResOk {
            obj_attributes: fattr(attr),
        },
        (),
        out,
    );
}

/// SETATTR goes through the data path: a size change must drop the file's cached chunks.
pub(super) async fn setattr(
    data: &DataPath,
    cred: &Credentials,
    a: &Setattr3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let ino = inode_of(data.fs(), a.object)?;
        let sa = set_attr(&a.new_attributes);
        data.setattr(cred, ino, &sa, a.guard.map(timestamp)).await
    }
    .await;
    respond(&r, wcc, WccData::default(), out)
}

pub(super) async fn access(fs: &Fs, cred: &Credentials, a: &Access3Args<'_>, out: &mut XdrSink) {
    let r = async { fs.access(cred, inode_of(fs, a.object)?, a.access).await }.await;
    respond(
        &r,
        |(granted, attr)| Access3ResOk {
            obj_attributes: post_op(attr),
            access: *granted,
        },
        NO_ATTRIBUTES,
        out,
    );
}

pub(super) async fn readlink(
    fs: &Fs,
    cred: &Credentials,
    a: &Readlink3Args<'_>,
    out: &mut XdrSink,
) {
    let r = async { fs.readlink(cred, inode_of(fs, a.symlink)?).await }.await;
    respond(
        &r,
        |(target, attr)| Readlink3ResOk {
            symlink_attributes: post_op(attr),
            data: target,
        },
        NO_ATTRIBUTES,
        out,
    );
}

pub(super) async fn fsstat(fs: &Fs, a: &Fsstat3Args<'_>, out: &mut XdrSink) {
    let r = async { fs.fsstat(inode_of(fs, a.fsroot)?).await }.await;
    respond(
        &r,
        |s| Fsstat3ResOk {
            obj_attributes: post_op(&s.attr),
            tbytes: s.tbytes,
            fbytes: s.fbytes,
            abytes: s.abytes,
            tfiles: s.tfiles,
            ffiles: s.ffiles,
            afiles: s.afiles,
            invarsec: s.invarsec,
        },
        NO_ATTRIBUTES,
        out,
    );
}

pub(super) async fn fsinfo(fs: &Fs, a: &Fsinfo3Args<'_>, out: &mut XdrSink) {
    let r = async { fs.fsinfo(inode_of(fs, a.fsroot)?).await }.await;
    respond(
        &r,
        |i| Fsinfo3ResOk {
            obj_attributes: post_op(&i.attr),
            rtmax: i.rtmax,
            rtpref: i.rtpref,
            rtmult: i.rtmult,
            wtmax: i.wtmax,
            wtpref: i.wtpref,
            wtmult: i.wtmult,
            dtpref: i.dtpref,
            maxfilesize: i.maxfilesize,
            time_delta: nfstime(i.time_delta),
            properties: i.properties,
        },
        NO_ATTRIBUTES,
        out,
    );
}

pub(super) async fn pathconf(fs: &Fs, a: &Pathconf3Args<'_>, out: &mut XdrSink) {
    let r = async { fs.pathconf(inode_of(fs, a.object)?).await }.await;
    respond(
        &r,
        |p| Pathconf3ResOk {
            obj_attributes: post_op(&p.attr),
            linkmax: p.linkmax,
            name_max: p.name_max,
            no_trunc: p.no_trunc,
            chown_restricted: p.chown_restricted,
            case_insensitive: p.case_insensitive,
            case_preserving: p.case_preserving,
        },
        NO_ATTRIBUTES,
        out,
    );
}
