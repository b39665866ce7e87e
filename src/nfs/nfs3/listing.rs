//! Directory listings: READDIR and READDIRPLUS, fitted into the client's size limits and into
//! the server's own: whatever `count` a client asks for, one reply holds at most
//! [`MAX_LISTING_REPLY`] bytes.
use crate::fs::{FsResult, ReadDirOk};
use crate::proto::nfs3::*;
use crate::proto::xdr::{XdrEncode, XdrSink};

use super::{nfs_status, snapshot_dir, CallContext};
use crate::nfs::convert::{fattr, post_op};
use crate::nfs::handle::HANDLE_LEN;
use crate::nfs::views::ViewFs;

/// Largest READDIR / READDIRPLUS reply, whatever the client asks (Linux's nfsd caps at its
/// largest payload, 1 MiB, too; the Linux client asks for `dtpref`, 64 KiB).
pub const MAX_LISTING_REPLY: u32 = 1 << 20;
/// Smallest READDIR entry on the wire (empty name): bounds how many entries a page can hold.
const MIN_ENTRY3: usize = 4 + 8 + 4 + 8;
/// Smallest READDIRPLUS entry with attributes and a handle.
const MIN_ENTRYPLUS3: usize = MIN_ENTRY3 + 4 + Fattr3::WIRE_SIZE + 4 + 4 + HANDLE_LEN;

/// The most a listing reply asking for `count` bytes takes.
pub fn listing_reply_bound(count: u32) -> usize {
    count.min(MAX_LISTING_REPLY) as usize + 512
}

/// How many entries to ask the filesystem for: as many as could possibly fit, plus one so
/// that a page that ends exactly at the directory's end can say EOF.
fn entries_for(limit: u32, min_entry: usize) -> usize {
    (limit as usize / min_entry).saturating_add(1)
}

/// The listing page a READDIR(PLUS) asked for, from the filesystem.
async fn listing(
    ctx: &CallContext<'_>,
    dir: NfsFh3<'_>,
    cookie: u64,
    cookieverf: Cookieverf3,
    max_entries: usize,
    with_attrs: bool,
) -> FsResult<ReadDirOk> {
    let dir = ctx.inode(dir).await?;
    if let ViewFs::SnapshotDir = ctx.view {
        return snapshot_dir::listing(ctx, cookie, max_entries).await;
    }
    ctx.fs
        .readdir(&ctx.cred, dir, cookie, cookieverf, max_entries, with_attrs)
        .await
}

pub(super) async fn readdir(ctx: &CallContext<'_>, a: &Readdir3Args<'_>, out: &mut XdrSink) {
    let count = a.count.min(MAX_LISTING_REPLY);
    let want = entries_for(count, MIN_ENTRY3);
    let ok = match listing(ctx, a.dir, a.cookie, a.cookieverf, want, false).await {
        Ok(ok) => ok,
        Err(e) => return Readdir3Res::Fail(nfs_status(&e), None).encode(out),
    };
    let mut page = ReaddirBuilder::new(count, post_op(&ok.dir_attr));
    page.push_all(ok.entries.iter().map(|e| Entry3 {
        fileid: e.ino.0,
        name: &e.name,
        cookie: e.cookie,
    }));
    page.finish(ok.cookieverf, ok.eof).encode(out);
}

/// READDIRPLUS. The `..` entry carries neither attributes nor a handle (as in knfsd at an
/// export's root; clients look `..` up when they need it, and LOOKUP keeps them inside the
/// export).
pub(super) async fn readdirplus(
    ctx: &CallContext<'_>,
    a: &Readdirplus3Args<'_>,
    out: &mut XdrSink,
) {
    let (dircount, maxcount) = (
        a.dircount.min(MAX_LISTING_REPLY),
        a.maxcount.min(MAX_LISTING_REPLY),
    );
    let want = entries_for(dircount, MIN_ENTRY3 - 4).min(entries_for(maxcount, MIN_ENTRYPLUS3));
    let ok = match listing(ctx, a.dir, a.cookie, a.cookieverf, want, true).await {
        Ok(ok) => ok,
        Err(e) => return Readdirplus3Res::Fail(nfs_status(&e), None).encode(out),
    };
    let handles: Vec<_> = ok
        .entries
        .iter()
        .map(|e| {
            e.object()
                .filter(|_| &e.name[..] != b"..")
                .map(|o| ctx.handle(o))
        })
        .collect();
    let mut page = ReaddirplusBuilder::new(dircount, maxcount, post_op(&ok.dir_attr));
    page.push_all(ok.entries.iter().zip(&handles).map(|(e, h)| Entryplus3 {
        fileid: e.ino.0,
        name: &e.name,
        cookie: e.cookie,
        name_attributes: h.as_ref().and(e.attr.as_ref()).map(fattr),
        name_handle: h.as_ref().map(|h| NfsFh3(h.as_bytes())),
    }));
    page.finish(ok.cookieverf, ok.eof).encode(out);
}
