//! File data procedures: READ, WRITE (through the core's data path) and COMMIT.
use bytes::Bytes;

use crate::datapath::DataPath;
use crate::fs::{Credentials, Fs};
use crate::proto::nfs3::*;
use crate::proto::xdr::XdrSink;

use super::{inode_of, respond, NO_ATTRIBUTES};
use crate::nfs::convert::{post_op, stable_how, wcc, wire_stable};

pub(super) async fn read(
    data: &DataPath,
    cred: &Credentials,
    a: &Read3Args<'_>,
    out: &mut XdrSink,
) {
    let r = async {
        let ino = inode_of(data.fs(), a.file)?;
        data.read(cred, ino, a.offset, a.count).await
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
    data: &DataPath,
    cred: &Credentials,
    a: &Write3Args<'_>,
    body: &Bytes,
    out: &mut XdrSink,
) {
    let r = async {
        let ino = inode_of(data.fs(), a.file)?;
        // Zero-copy: the payload stays a slice of the received record down to the store.
        let payload = a
            .data_bytes(body)
            .unwrap_or_else(|| Bytes::copy_from_slice(a.data));
        data.write(cred, ino, a.offset, payload, stable_how(a.stable))
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

pub(super) async fn commit(fs: &Fs, a: &Commit3Args<'_>, out: &mut XdrSink) {
    let r = async { fs.commit(inode_of(fs, a.file)?, a.offset, a.count).await }.await;
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
