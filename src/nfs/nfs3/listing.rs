//! Directory listings: READDIR and READDIRPLUS, fitted into the client's size limits.
use crate::fs::{Credentials, Fs, FsResult, ReadDirOk};
use crate::proto::nfs3::*;
use crate::proto::xdr::{XdrEncode, XdrSink};

use super::{inode_of, nfs_status};
use crate::nfs::convert::{fattr, post_op};

/// Smallest READDIR entry on the wire (empty name): bounds how many entries a page can hold.
const MIN_ENTRY3: usize = 4 + 8 + 4 + 8;
/// Smallest READDIRPLUS entry with attributes and a handle.
const MIN_ENTRYPLUS3: usize = MIN_ENTRY3 + 4 + Fattr3::WIRE_SIZE + 4 + 4 + crate::fs::HANDLE_LEN;

/// How many entries to ask the filesystem for: as many as could possibly fit, plus one so
/// that a page that ends exactly at the directory's end can say EOF.
fn entries_for(limit: u32, min_entry: usize) -> usize {
    (limit as usize / min_entry).saturating_add(1)
}

/// The listing page a READDIR(PLUS) asked for, from the filesystem.
async fn listing(
    fs: &Fs,
    cred: &Credentials,
    dir: NfsFh3<'_>,
    cookie: u64,
    cookieverf: Cookieverf3,
    max_entries: usize,
    with_attrs: bool,
) -> FsResult<ReadDirOk> {
    let dir = inode_of(fs, dir)?;
    fs.readdir(cred, dir, cookie, cookieverf, max_entries, with_attrs)
        .await
}

pub(super) async fn readdir(fs: &Fs, cred: &Credentials, a: &Readdir3Args<'_>, out: &mut XdrSink) {
    let want = entries_for(a.count, MIN_ENTRY3);
    let ok = match listing(fs, cred, a.dir, a.cookie, a.cookieverf, want, false).await {
        Ok(ok) => ok,
        Err(e) => return Readdir3Res::Fail(nfs_status(&e), None).encode(out),
    };
    let mut page = ReaddirBuilder::new(a.count, post_op(&ok.dir_attr));
    page.push_all(ok.entries.iter().map(|e| Entry3 {
        fileid: e.ino.0,
        name: &e.name,
        cookie: e.cookie,
    }));
    page.finish(ok.cookieverf, ok.eof).encode(out);
}

pub(super) async fn readdirplus(
    fs: &Fs,
    cred: &Credentials,
    a: &Readdirplus3Args<'_>,
    out: &mut XdrSink,
) {
    let want = entries_for(a.dircount, MIN_ENTRY3 - 4).min(entries_for(a.maxcount, MIN_ENTRYPLUS3));
    let ok = match listing(fs, cred, a.dir, a.cookie, a.cookieverf, want, true).await {
        Ok(ok) => ok,
        Err(e) => return Readdirplus3Res::Fail(nfs_status(&e), None).encode(out),
    };
    let mut page = ReaddirplusBuilder::new(a.dircount, a.maxcount, post_op(&ok.dir_attr));
    page.push_all(ok.entries.iter().map(|e| Entryplus3 {
        fileid: e.ino.0,
        name: &e.name,
        cookie: e.cookie,
        name_attributes: e.attr.as_ref().map(fattr),
        name_handle: e.handle.as_ref().map(|h| NfsFh3(h.as_bytes())),
    }));
    page.finish(ok.cookieverf, ok.eof).encode(out);
}
