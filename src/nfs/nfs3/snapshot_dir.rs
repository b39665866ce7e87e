//! The calls that cross between views: LOOKUP of `.snapshot` in the live root, of a snapshot
//! in `.snapshot`, of `..` back out; the listing of `.snapshot`; and the one name that cannot
//! be created in the live root.
//!
//! `.snapshot` is reached by name only: the root's READDIR does not list it (as on NetApp and
//! ZFS), so `find`, `du`, `rsync` and backups of the root do not descend into every snapshot.
//! It lists the snapshots, each the root of a filesystem of its own (its own fsid: the Linux
//! client mounts it as a submount when it crosses into it).
use bytes::Bytes;

use crate::fs::{Attr, DirEntry, FsError, FsResult, InodeId, ReadDirOk};
use crate::nfs::handle::FileHandle;
use crate::nfs::views::{ViewFs, SNAPSHOT_DIR_FILEID};
use crate::snapshot::{LIVE_VIEW, SNAPSHOT_DIR_NAME, SNAPSHOT_DIR_VIEW};

use super::CallContext;

/// The result of a LOOKUP: the object's handle and attributes, and the directory's.
pub(super) type Found = (FileHandle, Attr, Attr);

/// Cookies of `.` and `..` in the `.snapshot` listing; a snapshot's is above them.
const DOT_COOKIE: u64 = 1;
const DOTDOT_COOKIE: u64 = 2;

/// LOOKUP of `name` in `dir` when it leads into another view; `None` when it is an ordinary
/// lookup in the call's own view.
pub(super) async fn lookup_crossing(
    ctx: &CallContext<'_>,
    dir: InodeId,
    name: &[u8],
) -> FsResult<Option<Found>> {
    let views = ctx.views;
    let live = views.live();
    match &ctx.view {
        ViewFs::Live if dir == live.root() && name == SNAPSHOT_DIR_NAME => {
            let root = live.root_object().await?;
            let root_attr = live.getattr(root.ino).await?;
            let handle = ctx.handle_in(SNAPSHOT_DIR_VIEW, root);
            Ok(Some((handle, views.snapshot_dir_attr(), root_attr)))
        }
        ViewFs::Live => Ok(None),
        ViewFs::SnapshotDir => {
            let here = views.snapshot_dir_attr();
            let root = live.root_object().await?;
            let found = match name {
                b"." => (ctx.handle_in(SNAPSHOT_DIR_VIEW, root), here.clone(), here),
                b".." => {
                    let attr = live.getattr(root.ino).await?;
                    (ctx.handle_in(LIVE_VIEW, root), attr, here)
                }
                _ => {
                    let (snapshot, fs) = views.by_name(name).await?;
                    let top = fs.root_object().await?;
                    let attr = fs.getattr(top.ino).await?;
                    (ctx.handle_in(snapshot.view, top), attr, here)
                }
            };
            Ok(Some(found))
        }
        ViewFs::Snapshot(fs) if dir == fs.root() && name == b".." => {
            let root = live.root_object().await?;
            let handle = ctx.handle_in(SNAPSHOT_DIR_VIEW, root);
            Ok(Some((
                handle,
                views.snapshot_dir_attr(),
                fs.getattr(dir).await?,
            )))
        }
        ViewFs::Snapshot(_) => Ok(None),
    }
}

/// The `.snapshot` listing from `cookie` on, at most `max` entries: `.`, `..`, then the
/// snapshots in view-number order (a snapshot's cookie is its view number plus 2, so a
/// listing resumes in the right place whatever was created or deleted meanwhile). Entries
/// carry no attributes or handles: a client looks a snapshot up when it goes into it, and only
/// then is the snapshot opened.
pub(super) async fn listing(ctx: &CallContext<'_>, cookie: u64, max: usize) -> FsResult<ReadDirOk> {
    let views = ctx.views;
    let mut snapshots = views.snapshots().await?;
    snapshots.sort_by_key(|s| s.view);
    let root = views.live_root();
    let all = [
        (DOT_COOKIE, Bytes::from_static(b"."), SNAPSHOT_DIR_FILEID),
        (DOTDOT_COOKIE, Bytes::from_static(b".."), root.0),
    ]
    .into_iter()
    .chain(snapshots.iter().map(|s| {
        (
            u64::from(s.view) + DOTDOT_COOKIE,
            Bytes::copy_from_slice(s.name.as_str().as_bytes()),
            root.0,
        )
    }));
    let mut entries: Vec<DirEntry> = all
        .filter(|(c, _, _)| *c > cookie)
        .map(|(cookie, name, ino)| DirEntry {
            cookie,
            name,
            ino: InodeId(ino),
            attr: None,
            generation: None,
        })
        .collect();
    let eof = entries.len() <= max;
    entries.truncate(max);
    Ok(ReadDirOk {
        entries,
        eof,
        cookieverf: [0; 8],
        dir_attr: views.snapshot_dir_attr(),
    })
}

/// Refuses a new name `.snapshot` in the live root (EEXIST: the name is taken, by the
/// snapshots).
pub(super) fn check_new_name(ctx: &CallContext<'_>, dir: InodeId, name: &[u8]) -> FsResult<()> {
    if matches!(ctx.view, ViewFs::Live) && dir == ctx.views.live_root() && name == SNAPSHOT_DIR_NAME
    {
        return Err(FsError::Exist);
    }
    Ok(())
}
