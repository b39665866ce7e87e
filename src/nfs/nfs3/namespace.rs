//! Namespace procedures: LOOKUP, CREATE, MKDIR, SYMLINK, MKNOD, REMOVE, RMDIR, RENAME, LINK.
use crate::fs::{CreateOk, Credentials, Fs, FsError, FsResult, SpecialKind};
use crate::proto::nfs3::*;
use crate::proto::xdr::XdrSink;

use super::{inode_of, respond, Unconfirmed, NO_ATTRIBUTES};
use crate::nfs::convert::{create_how, post_op, set_attr, wcc};

pub(super) async fn lookup(fs: &Fs, cred: &Credentials, a: &Lookup3Args<'_>, out: &mut XdrSink) {
    let r = async {
        let dir = inode_of(fs, a.what.dir)?;
        fs.lookup(cred, dir, a.what.name).await
    }
    .await;
    respond(
        &r,
        |ok| Lookup3ResOk {
            object: NfsFh3(ok.handle.as_bytes()),
            obj_attributes: post_op(&ok.attr),
            dir_attributes: post_op(&ok.dir_attr),
        },
        NO_ATTRIBUTES,
        out,
    );
}

/// The result of CREATE, MKDIR, SYMLINK and MKNOD.
fn respond_created(r: &FsResult<CreateOk>, out: &mut XdrSink) -> Unconfirmed {
    respond(
        r,
        |ok| Create3ResOk {
            obj: Some(NfsFh3(ok.handle.as_bytes())),
            obj_attributes: post_op(&ok.attr),
            dir_wcc: wcc(&ok.dir_wcc),
        },
        WccData::default(),
        out,
    )
}

pub(super) async fn create(
    fs: &Fs,
    cred: &Credentials,
    a: &Create3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let dir = inode_of(fs, a.where_.dir)?;
        fs.create(cred, dir, a.where_.name, &create_how(&a.how))
            .await
    }
    .await;
    respond_created(&r, out)
}

pub(super) async fn mkdir(
    fs: &Fs,
    cred: &Credentials,
    a: &Mkdir3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let dir = inode_of(fs, a.where_.dir)?;
        fs.mkdir(cred, dir, a.where_.name, &set_attr(&a.attributes))
            .await
    }
    .await;
    respond_created(&r, out)
}

pub(super) async fn symlink(
    fs: &Fs,
    cred: &Credentials,
    a: &Symlink3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let dir = inode_of(fs, a.where_.dir)?;
        let sa = set_attr(&a.symlink.symlink_attributes);
        fs.symlink(cred, dir, a.where_.name, a.symlink.symlink_data, &sa)
            .await
    }
    .await;
    respond_created(&r, out)
}

pub(super) async fn mknod(
    fs: &Fs,
    cred: &Credentials,
    a: &Mknod3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let dir = inode_of(fs, a.where_.dir)?;
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
        fs.mknod(cred, dir, a.where_.name, kind, &set_attr(&sa))
            .await
    }
    .await;
    respond_created(&r, out)
}

pub(super) async fn remove(
    fs: &Fs,
    cred: &Credentials,
    a: &Remove3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let dir = inode_of(fs, a.object.dir)?;
        fs.remove(cred, dir, a.object.name).await
    }
    .await;
    respond(&r, wcc, WccData::default(), out)
}

pub(super) async fn rmdir(
    fs: &Fs,
    cred: &Credentials,
    a: &Rmdir3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let dir = inode_of(fs, a.object.dir)?;
        fs.rmdir(cred, dir, a.object.name).await
    }
    .await;
    respond(&r, wcc, WccData::default(), out)
}

pub(super) async fn rename(
    fs: &Fs,
    cred: &Credentials,
    a: &Rename3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let from = inode_of(fs, a.from.dir)?;
        let to = inode_of(fs, a.to.dir)?;
        fs.rename(cred, from, a.from.name, to, a.to.name).await
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
    fs: &Fs,
    cred: &Credentials,
    a: &Link3Args<'_>,
    out: &mut XdrSink,
) -> Unconfirmed {
    let r = async {
        let file = inode_of(fs, a.file)?;
        let dir = inode_of(fs, a.link.dir)?;
        fs.link(cred, file, dir, a.link.name).await
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
