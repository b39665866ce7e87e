//! File data procedures: READ, WRITE (through the core's data path) and COMMIT.
use bytes::Bytes;

use crate::datapath::DataPath;
use crate::proto::nfs3::*;
use crate::proto::xdr::XdrSink;

use super::{respond, CallContext, NO_ATTRIBUTES};
use crate::nfs::convert::{post_op, stable_how, wcc, wire_stable};

pub(super) async fn read(
    ctx: &CallContext<'_>,
    data: &DataPath,
    a: &Read3Args<'_>,
    out: &mut XdrSink,
) {
    let r = async {
        let ino = ctx.inode(a.file).await?;
        if ctx.is_live() {
            data.read(&ctx.cred, ino, a.offset, a.count).await
        } else {
            // The core's chunk cache holds live data only.
            ctx.fs.read(&ctx.cred, ino, a.offset, a.count).await
        }
    }
    .await;
    respond(
        &r,
        |ok| Read3ResOk {
            file_attributes: post_op(&ok.attr),
            count: ok.data.len() as u32,
            eof: ok.eof,
            data: ok.data.clone(),
        },
        NO_ATTRIBUTES,
        out,
    );
}

pub(super) async fn write(
    ctx: &CallContext<'_>,
    data: &DataPath,
    a: &Write3Args<'_>,
    body: &Bytes,
    out: &mut XdrSink,
) {
    let r = async {
        let ino = ctx.inode(a.file).await?;
        // Zero-copy: the payload stays a slice of the received record down to the store.
        let payload = a
            .data_bytes(body)
            .unwrap_or_else(|| Bytes::copy_from_slice(a.data));
        data.write(&ctx.cred, ino, a.offset, payload, stable_how(a.stable))
            .await
    }
    .await;
    respond(
        &r,
        |ok| Write3ResOk {
            file_wcc: wcc(&ok.wcc),
            count: ok.count,
            committed: wire_stable(ok.committed),
            verf: ok.verifier,
        },
        WccData::default(),
        out,
    );
}

pub(super) async fn commit(ctx: &CallContext<'_>, a: &Commit3Args<'_>, out: &mut XdrSink) {
    let r = async {
        let ino = ctx.inode(a.file).await?;
        ctx.fs.commit(&ctx.cred, ino, a.offset, a.count).await
    }
    .await;
    respond(
        &r,
        |ok| Commit3ResOk {
            file_wcc: wcc(&ok.wcc),
            verf: ok.verifier,
        },
        WccData::default(),
        out,
    );
}
