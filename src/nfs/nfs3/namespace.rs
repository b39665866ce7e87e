//! Namespace procedures: LOOKUP, CREATE, MKDIR, SYMLINK, MKNOD, REMOVE, RMDIR, RENAME, LINK.
use crate::fs::{CreateOk, FsError, FsResult, SpecialKind};
use crate::nfs::mount::resolve_directory;
use crate::proto::nfs3::*;
use crate::proto::xdr::XdrSink;

use super::snapshot_dir::{check_new_name, lookup_crossing};
use super::{respond, CallContext, Unconfirmed, NO_ATTRIBUTES};
use crate::nfs::convert::{create_how, post_op, set_attr, wcc};

/// LOOKUP. `..` of the export's directory is that directory itself, as in knfsd: a client does
/// not walk out of the export it mounted.
pub(super) async fn lookup(ctx: &CallContext<'_>, a: &Lookup3Args<'_>, out: &mut XdrSink) {
    let r = async {
        let dir = ctx.inode(a.what.dir).await?;
        if let Some(found) = lookup_crossing(ctx, dir, a.what.name).await? {
            return Ok(found);
        }
        let mut name = a.what.name;
        if name == b".." && ctx.export_path() != "/" {
            let root = resolve_directory(&ctx.fs, ctx.export_path()).await?;
            if root.ino == dir {
                name = b".";
            }
        }
        let ok = ctx.fs.lookup(&ctx.cred, dir, name).await?;
        Ok((ctx.handle(ok.object()), ok.attr, ok.dir_attr))
    }
    .await;
    respond(
        &r,
        |(handle, attr, dir_attr)| Lookup3ResOk {
            object: NfsFh3(handle.as_bytes()),
            obj_attributes: post_op(attr),
            dir_attributes: post_op(dir_attr),
        },
        NO_ATTRIBUTES,
        out,
    );
}

/// The result of CREATE, MKDIR, SYMLINK and MKNOD.
fn respond_created(ctx: &CallContext<'_>, r: FsResult<CreateOk>, out: &mut XdrSink) -> Unconfirmed {
    let r = r.map(|ok| (ctx.handle(ok.object()), ok));
    respond(
        &r,
        |(handle, ok)| Create3ResOk {
            obj: Some(NfsFh3(handle.as_bytes())),
            obj_attributes: post_op(&ok.attr),
            dir_wcc: wcc(&ok.dir_wcc),
        },
        WccData::default(),
        out,
    )
}

pub(super) async fn create(
    ctx: &CallContext<'_>,
    a: &Create3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let dir = ctx.inode(a.where_.dir).await?;
        check_new_name(ctx, dir, a.where_.name)?;
        ctx.fs
            .create(&ctx.cred, dir, a.where_.name, &create_how(&a.how))
            .await
    }
    .await;
    respond_created(ctx, r, out)
}

pub(super) async fn mkdir(
    ctx: &CallContext<'_>,
    a: &Mkdir3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let dir = ctx.inode(a.where_.dir).await?;
        check_new_name(ctx, dir, a.where_.name)?;
        ctx.fs
            .mkdir(&ctx.cred, dir, a.where_.name, &set_attr(&a.attributes))
            .await
    }
    .await;
    respond_created(ctx, r, out)
}

pub(super) async fn symlink(
    ctx: &CallContext<'_>,
    a: &Symlink3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let dir = ctx.inode(a.where_.dir).await?;
        check_new_name(ctx, dir, a.where_.name)?;
        let sa = set_attr(&a.symlink.symlink_attributes);
        ctx.fs
            .symlink(&ctx.cred, dir, a.where_.name, a.symlink.symlink_data, &sa)
            .await
    }
    .await;
    respond_created(ctx, r, out)
}

pub(super) async fn mknod(
    ctx: &CallContext<'_>,
    a: &Mknod3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let dir = ctx.inode(a.where_.dir).await?;
        check_new_name(ctx, dir, a.where_.name)?;
        let (kind, sa) = match &a.what {
            Mknoddata3::Chr(d) => (
                SpecialKind::Char(d.spec.specdata1, d.spec.specdata2),
                d.dev_attributes,
            ),
            Mknoddata3::Blk(d) => (
                SpecialKind::Block(d.spec.specdata1, d.spec.specdata2),
                d.dev_attributes,
            ),
            Mknoddata3::Sock(s) => (SpecialKind::Socket, *s),
            Mknoddata3::Fifo(s) => (SpecialKind::Fifo, *s),
            // RFC 1813: MKNOD of a regular file, directory or symlink is BADTYPE.
            Mknoddata3::Reg | Mknoddata3::Dir | Mknoddata3::Lnk => return Err(FsError::BadType),
        };
        ctx.fs
            .mknod(&ctx.cred, dir, a.where_.name, kind, &set_attr(&sa))
            .await
    }
    .await;
    respond_created(ctx, r, out)
}

pub(super) async fn remove(
    ctx: &CallContext<'_>,
    a: &Remove3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let dir = ctx.inode(a.object.dir).await?;
        ctx.fs.remove(&ctx.cred, dir, a.object.name).await
    }
    .await;
    respond(&r, wcc, WccData::default(), out)
}

pub(super) async fn rmdir(
    ctx: &CallContext<'_>,
    a: &Rmdir3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let dir = ctx.inode(a.object.dir).await?;
        ctx.fs.rmdir(&ctx.cred, dir, a.object.name).await
    }
    .await;
    respond(&r, wcc, WccData::default(), out)
}

pub(super) async fn rename(
    ctx: &CallContext<'_>,
    a: &Rename3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let from = ctx.inode(a.from.dir).await?;
        let to = ctx.inode(a.to.dir).await?;
        check_new_name(ctx, to, a.to.name)?;
        ctx.fs
            .rename(&ctx.cred, from, a.from.name, to, a.to.name)
            .await
    }
    .await;
    respond(
        &r,
        |ok| Rename3Wcc {
            fromdir_wcc: wcc(&ok.from_dir_wcc),
            todir_wcc: wcc(&ok.to_dir_wcc),
        },
        Rename3Wcc::default(),
        out,
    )
}

pub(super) async fn link(
    ctx: &CallContext<'_>,
    a: &Link3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let file = ctx.inode(a.file).await?;
        let dir = ctx.inode(a.link.dir).await?;
        check_new_name(ctx, dir, a.link.name)?;
        ctx.fs.link(&ctx.cred, file, dir, a.link.name).await
    }
    .await;
    respond(
        &r,
        |ok| Link3Wcc {
            file_attributes: post_op(&ok.attr),
            linkdir_wcc: wcc(&ok.dir_wcc),
        },
        Link3Wcc::default(),
        out,
    )
}
