//! Attribute procedures: GETATTR, SETATTR, ACCESS, READLINK, FSSTAT, FSINFO, PATHCONF.
use crate::datapath::DataPath;
use crate::fs::access::{DELETE, EXTEND, LOOKUP, MODIFY, READ};
use crate::nfs::views::ViewFs;
use crate::proto::nfs3::*;
use crate::proto::xdr::XdrSink;

use super::{respond, CallContext, Unconfirmed, NO_ATTRIBUTES};
use crate::nfs::convert::{fattr, nfstime, post_op, set_attr, timestamp, wcc};

pub(super) async fn getattr(ctx: &CallContext<'_>, a: &Getattr3Args<'_>, out: &mut XdrSink) {
    let r = async { Ok(ctx.shown(ctx.fs.getattr(ctx.inode(a.object).await?).await?)) }.await;
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
    ctx: &CallContext<'_>,
    data: &DataPath,
    a: &Setattr3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let ino = ctx.inode(a.object).await?;
        let sa = set_attr(&a.new_attributes);
        data.setattr(&ctx.cred, ino, &sa, a.guard.map(timestamp))
            .await
    }
    .await;
    respond(&r, wcc, WccData::default(), out)
}

/// ACCESS: on a read-only export nothing that changes the object is granted.
pub(super) async fn access(ctx: &CallContext<'_>, a: &Access3Args<'_>, out: &mut XdrSink) {
    let r = async {
        let (granted, attr) = ctx
            .fs
            .access(&ctx.cred, ctx.inode(a.object).await?, a.access)
            .await?;
        let granted = match ctx.view {
            // Mode 0555: anyone may list it and look names up in it.
            ViewFs::SnapshotDir => a.access & (READ | LOOKUP),
            _ if ctx.options.read_only => granted & !(MODIFY | EXTEND | DELETE),
            _ => granted,
        };
        Ok((granted, ctx.shown(attr)))
    }
    .await;
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

pub(super) async fn readlink(ctx: &CallContext<'_>, a: &Readlink3Args<'_>, out: &mut XdrSink) {
    let r = async {
        ctx.fs
            .readlink(&ctx.cred, ctx.inode(a.symlink).await?)
            .await
    }
    .await;
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

pub(super) async fn fsstat(ctx: &CallContext<'_>, a: &Fsstat3Args<'_>, out: &mut XdrSink) {
    let r = async {
        let mut r = ctx.fs.fsstat(ctx.inode(a.fsroot).await?).await?;
        r.attr = ctx.shown(r.attr);
        Ok(r)
    }
    .await;
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

pub(super) async fn fsinfo(ctx: &CallContext<'_>, a: &Fsinfo3Args<'_>, out: &mut XdrSink) {
    let r = async {
        let mut r = ctx.fs.fsinfo(ctx.inode(a.fsroot).await?).await?;
        r.attr = ctx.shown(r.attr);
        Ok(r)
    }
    .await;
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

pub(super) async fn pathconf(ctx: &CallContext<'_>, a: &Pathconf3Args<'_>, out: &mut XdrSink) {
    let r = async {
        let mut r = ctx.fs.pathconf(ctx.inode(a.object).await?).await?;
        r.attr = ctx.shown(r.attr);
        Ok(r)
    }
    .await;
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
