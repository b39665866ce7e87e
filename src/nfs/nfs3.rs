//! The NFSv3 procedures: decoded arguments in, filesystem operation, typed result out.
//!
//! Every failure is an `nfsstat3` in the procedure's result (RPC-level SUCCESS); the failure
//! arms carry no attributes, which RFC 1813 allows (`post_op_attr` / `wcc_data` are optional)
//! and which is always safe: pre-op attributes we did not capture atomically must not be sent.
use bytes::Bytes;

use crate::fs::{Credentials, DirEntry, Fs, FsError, FsResult, InodeId, SpecialKind, CHUNK_SIZE};
use crate::proto::nfs3::*;
use crate::proto::xdr::{XdrEncode, XdrSink};

use super::context::CoreContext;
use super::convert::{
    create_how, fattr, post_op, set_attr, stable_how, status, timestamp, wcc, wire_stable,
};

/// Smallest READDIR entry on the wire (empty name): bounds how many entries a page can hold.
const MIN_ENTRY3: usize = 4 + 8 + 4 + 8;
/// Smallest READDIRPLUS entry with attributes and a handle.
const MIN_ENTRYPLUS3: usize = MIN_ENTRY3 + 4 + Fattr3::WIRE_SIZE + 4 + 4 + crate::fs::HANDLE_LEN;

fn ino(fs: &Fs, fh: NfsFh3<'_>) -> FsResult<InodeId> {
    fs.decode_handle(fh.as_bytes())
}

fn fail_wcc(e: &FsError) -> Nfsstat3 {
    log_fault(e);
    status(e)
}

/// I/O errors and server faults reach the log: they mean something is wrong on our side.
fn log_fault(e: &FsError) {
    if e.is_io() || matches!(e, FsError::ServerFault(_)) {
        log::error!("NFS operation failed: {e}");
    }
}

/// Runs `call` and encodes its result into `out`.
pub async fn dispatch(
    fs: &Fs,
    ctx: &CoreContext,
    cred: &Credentials,
    call: &Nfs3Call<'_>,
    body: &Bytes,
    out: &mut XdrSink,
) {
    match call {
        Nfs3Call::Null => {}
        Nfs3Call::Getattr(a) => getattr(fs, a).await.encode(out),
        Nfs3Call::Setattr(a) => setattr(fs, ctx, cred, a).await.encode(out),
        Nfs3Call::Lookup(a) => {
            let r = lookup(fs, cred, a).await;
            match &r {
                Ok(ok) => Lookup3Res::Ok(Lookup3ResOk {
                    object: NfsFh3(ok.handle.as_bytes()),
                    obj_attributes: post_op(&ok.attr),
                    dir_attributes: post_op(&ok.dir_attr),
                })
                .encode(out),
                Err(e) => Lookup3Res::Fail(fail_wcc(e), None).encode(out),
            }
        }
        Nfs3Call::Access(a) => access(fs, cred, a).await.encode(out),
        Nfs3Call::Readlink(a) => {
            let r = readlink(fs, cred, a).await;
            match &r {
                Ok((target, attr)) => Readlink3Res::Ok(Readlink3ResOk {
                    symlink_attributes: post_op(attr),
                    data: target,
                })
                .encode(out),
                Err(e) => Readlink3Res::Fail(fail_wcc(e), None).encode(out),
            }
        }
        Nfs3Call::Read(a) => read(fs, ctx, cred, a).await.encode(out),
        Nfs3Call::Write(a) => write(fs, ctx, cred, a, body).await.encode(out),
        Nfs3Call::Create(a) => {
            let r = async {
                let dir = ino(fs, a.where_.dir)?;
                fs.create(cred, dir, a.where_.name, &create_how(&a.how))
                    .await
            }
            .await;
            encode_create(r, out);
        }
        Nfs3Call::Mkdir(a) => {
            let r = async {
                let dir = ino(fs, a.where_.dir)?;
                fs.mkdir(cred, dir, a.where_.name, &set_attr(&a.attributes))
                    .await
            }
            .await;
            encode_create(r, out);
        }
        Nfs3Call::Symlink(a) => {
            let r = async {
                let dir = ino(fs, a.where_.dir)?;
                fs.symlink(
                    cred,
                    dir,
                    a.where_.name,
                    a.symlink.symlink_data,
                    &set_attr(&a.symlink.symlink_attributes),
                )
                .await
            }
            .await;
            encode_create(r, out);
        }
        Nfs3Call::Mknod(a) => {
            let r = async {
                let dir = ino(fs, a.where_.dir)?;
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
                    Mknoddata3::Reg | Mknoddata3::Dir | Mknoddata3::Lnk => {
                        return Err(FsError::BadType)
                    }
                };
                fs.mknod(cred, dir, a.where_.name, kind, &set_attr(&sa))
                    .await
            }
            .await;
            encode_create(r, out);
        }
        Nfs3Call::Remove(a) => {
            let r = async {
                let dir = ino(fs, a.object.dir)?;
                fs.remove(cred, dir, a.object.name).await
            }
            .await;
            match r {
                Ok(w) => Remove3Res::Ok(wcc(&w)).encode(out),
                Err(e) => Remove3Res::Fail(fail_wcc(&e), WccData::default()).encode(out),
            }
        }
        Nfs3Call::Rmdir(a) => {
            let r = async {
                let dir = ino(fs, a.object.dir)?;
                fs.rmdir(cred, dir, a.object.name).await
            }
            .await;
            match r {
                Ok(w) => Rmdir3Res::Ok(wcc(&w)).encode(out),
                Err(e) => Rmdir3Res::Fail(fail_wcc(&e), WccData::default()).encode(out),
            }
        }
        Nfs3Call::Rename(a) => {
            let r = async {
                let from = ino(fs, a.from.dir)?;
                let to = ino(fs, a.to.dir)?;
                fs.rename(cred, from, a.from.name, to, a.to.name).await
            }
            .await;
            match r {
                Ok(ok) => Rename3Res::Ok(Rename3Wcc {
                    fromdir_wcc: wcc(&ok.from_dir_wcc),
                    todir_wcc: wcc(&ok.to_dir_wcc),
                })
                .encode(out),
                Err(e) => Rename3Res::Fail(fail_wcc(&e), Rename3Wcc::default()).encode(out),
            }
        }
        Nfs3Call::Link(a) => {
            let r = async {
                let file = ino(fs, a.file)?;
                let dir = ino(fs, a.link.dir)?;
                fs.link(cred, file, dir, a.link.name).await
            }
            .await;
            match r {
                Ok(ok) => Link3Res::Ok(Link3Wcc {
                    file_attributes: post_op(&ok.attr),
                    linkdir_wcc: wcc(&ok.dir_wcc),
                })
                .encode(out),
                Err(e) => Link3Res::Fail(fail_wcc(&e), Link3Wcc::default()).encode(out),
            }
        }
        Nfs3Call::Readdir(a) => readdir(fs, cred, a, out).await,
        Nfs3Call::Readdirplus(a) => readdirplus(fs, cred, a, out).await,
        Nfs3Call::Fsstat(a) => fsstat(fs, a).await.encode(out),
        Nfs3Call::Fsinfo(a) => fsinfo(fs, a).await.encode(out),
        Nfs3Call::Pathconf(a) => pathconf(fs, a).await.encode(out),
        Nfs3Call::Commit(a) => commit(fs, a).await.encode(out),
    }
}

/// ctime before and after a change, from its wcc data.
fn ctimes(w: &crate::fs::Wcc) -> Option<(crate::fs::Timestamp, crate::fs::Timestamp)> {
    Some((w.before?.ctime, w.after.as_ref()?.ctime))
}

fn encode_create(r: FsResult<crate::fs::CreateOk>, out: &mut XdrSink) {
    match r {
        Ok(ok) => Create3Res::Ok(Create3ResOk {
            obj: Some(NfsFh3(ok.handle.as_bytes())),
            obj_attributes: post_op(&ok.attr),
            dir_wcc: wcc(&ok.dir_wcc),
        })
        .encode(out),
        Err(e) => Create3Res::Fail(fail_wcc(&e), WccData::default()).encode(out),
    }
}

async fn getattr(fs: &Fs, a: &Getattr3Args<'_>) -> Getattr3Res {
    let r = async { fs.getattr(ino(fs, a.object)?).await }.await;
    match r {
        Ok(attr) => Getattr3Res::Ok(Getattr3ResOk {
            obj_attributes: fattr(&attr),
        }),
        Err(e) => Getattr3Res::Fail(fail_wcc(&e), ()),
    }
}

async fn setattr(
    fs: &Fs,
    ctx: &CoreContext,
    cred: &Credentials,
    a: &Setattr3Args<'_>,
) -> Setattr3Res {
    let r = async {
        let id = ino(fs, a.object)?;
        let sa = set_attr(&a.new_attributes);
        let truncates = sa.size.is_some();
        let r = fs.setattr(cred, id, &sa, a.guard.map(timestamp)).await;
        if truncates {
            ctx.file_data_changed(id, None, r.as_ref().ok().and_then(ctimes));
        }
        r
    }
    .await;
    match r {
        Ok(w) => Setattr3Res::Ok(wcc(&w)),
        Err(e) => Setattr3Res::Fail(fail_wcc(&e), WccData::default()),
    }
}

async fn lookup(fs: &Fs, cred: &Credentials, a: &Lookup3Args<'_>) -> FsResult<crate::fs::LookupOk> {
    let dir = ino(fs, a.what.dir)?;
    fs.lookup(cred, dir, a.what.name).await
}

async fn access(fs: &Fs, cred: &Credentials, a: &Access3Args<'_>) -> Access3Res {
    let r = async { fs.access(cred, ino(fs, a.object)?, a.access).await }.await;
    match r {
        Ok((granted, attr)) => Access3Res::Ok(Access3ResOk {
            obj_attributes: post_op(&attr),
            access: granted,
        }),
        Err(e) => Access3Res::Fail(fail_wcc(&e), None),
    }
}

async fn readlink(
    fs: &Fs,
    cred: &Credentials,
    a: &Readlink3Args<'_>,
) -> FsResult<(Bytes, crate::fs::Attr)> {
    fs.readlink(cred, ino(fs, a.symlink)?).await
}

async fn read(fs: &Fs, ctx: &CoreContext, cred: &Credentials, a: &Read3Args<'_>) -> Read3Res {
    let r = async {
        let id = ino(fs, a.file)?;
        let plan = fs.read_plan(cred, id, a.offset, a.count).await?;
        let data = if plan.start < plan.end {
            ctx.read_range(fs, id, plan.attr.ctime, plan.start, plan.end)
                .await?
        } else {
            Bytes::new()
        };
        Ok::<_, FsError>((plan, data))
    }
    .await;
    match r {
        Ok((plan, data)) => Read3Res::Ok(Read3ResOk {
            file_attributes: post_op(&plan.attr),
            count: data.len() as u32,
            eof: plan.eof,
            data,
        }),
        Err(e) => Read3Res::Fail(fail_wcc(&e), None),
    }
}

async fn write(
    fs: &Fs,
    ctx: &CoreContext,
    cred: &Credentials,
    a: &Write3Args<'_>,
    body: &Bytes,
) -> Write3Res {
    let r = async {
        let id = ino(fs, a.file)?;
        // Zero-copy: the payload stays a slice of the received record down to the store.
        let data = a
            .data_bytes(body)
            .unwrap_or_else(|| Bytes::copy_from_slice(a.data));
        let len = data.len() as u64;
        let r = fs
            .write(cred, id, a.offset, data.clone(), stable_how(a.stable))
            .await;
        if len > 0 {
            match r.as_ref().ok().and_then(|w| ctimes(&w.wcc)) {
                Some(changed) => ctx.file_written(id, a.offset, &data, changed),
                None => {
                    let first = a.offset / CHUNK_SIZE;
                    let last = (a.offset.saturating_add(len) - 1) / CHUNK_SIZE;
                    ctx.file_data_changed(id, Some((first, last)), None);
                }
            }
        }
        r
    }
    .await;
    match r {
        Ok(ok) => Write3Res::Ok(Write3ResOk {
            file_wcc: wcc(&ok.wcc),
            count: ok.count,
            committed: wire_stable(ok.committed),
            verf: ok.verifier,
        }),
        Err(e) => Write3Res::Fail(fail_wcc(&e), WccData::default()),
    }
}

async fn commit(fs: &Fs, a: &Commit3Args<'_>) -> Commit3Res {
    let r = async { fs.commit(ino(fs, a.file)?, a.offset, a.count).await }.await;
    match r {
        Ok(ok) => Commit3Res::Ok(Commit3ResOk {
            file_wcc: wcc(&ok.wcc),
            verf: ok.verifier,
        }),
        Err(e) => Commit3Res::Fail(fail_wcc(&e), WccData::default()),
    }
}

/// How many entries to ask the filesystem for: as many as could possibly fit, plus one so
/// that a page that ends exactly at the directory's end can say EOF.
fn entries_for(limit: u32, min_entry: usize) -> usize {
    (limit as usize / min_entry).saturating_add(1)
}

async fn readdir(fs: &Fs, cred: &Credentials, a: &Readdir3Args<'_>, out: &mut XdrSink) {
    let r = async {
        let dir = ino(fs, a.dir)?;
        fs.readdir(
            cred,
            dir,
            a.cookie,
            a.cookieverf,
            entries_for(a.count, MIN_ENTRY3),
            false,
        )
        .await
    }
    .await;
    let ok = match r {
        Ok(ok) => ok,
        Err(e) => return Readdir3Res::Fail(fail_wcc(&e), None).encode(out),
    };
    let mut page = ReaddirBuilder::new(a.count, post_op(&ok.dir_attr));
    let mut all = true;
    for e in &ok.entries {
        if page.push(entry3(e)) == Push::Refused {
            all = false;
            break;
        }
    }
    page.finish(ok.cookieverf, ok.eof && all).encode(out);
}

fn entry3(e: &DirEntry) -> Entry3<'_> {
    Entry3 {
        fileid: e.ino.0,
        name: &e.name,
        cookie: e.cookie,
    }
}

async fn readdirplus(fs: &Fs, cred: &Credentials, a: &Readdirplus3Args<'_>, out: &mut XdrSink) {
    let r = async {
        let dir = ino(fs, a.dir)?;
        let want =
            entries_for(a.dircount, MIN_ENTRY3 - 4).min(entries_for(a.maxcount, MIN_ENTRYPLUS3));
        fs.readdir(cred, dir, a.cookie, a.cookieverf, want, true)
            .await
    }
    .await;
    let ok = match r {
        Ok(ok) => ok,
        Err(e) => return Readdirplus3Res::Fail(fail_wcc(&e), None).encode(out),
    };
    let attrs: Vec<PostOpAttr> = ok
        .entries
        .iter()
        .map(|e| e.attr.as_ref().map(fattr))
        .collect();
    let mut page = ReaddirplusBuilder::new(a.dircount, a.maxcount, post_op(&ok.dir_attr));
    let mut all = true;
    for (e, attr) in ok.entries.iter().zip(attrs) {
        let entry = Entryplus3 {
            fileid: e.ino.0,
            name: &e.name,
            cookie: e.cookie,
            name_attributes: attr,
            name_handle: e.handle.as_ref().map(|h| NfsFh3(h.as_bytes())),
        };
        if page.push(entry) == Push::Refused {
            all = false;
            break;
        }
    }
    page.finish(ok.cookieverf, ok.eof && all).encode(out);
}

async fn fsstat(fs: &Fs, a: &Fsstat3Args<'_>) -> Fsstat3Res {
    let r = async { fs.fsstat(ino(fs, a.fsroot)?).await }.await;
    match r {
        Ok(s) => Fsstat3Res::Ok(Fsstat3ResOk {
            obj_attributes: post_op(&s.attr),
            tbytes: s.tbytes,
            fbytes: s.fbytes,
            abytes: s.abytes,
            tfiles: s.tfiles,
            ffiles: s.ffiles,
            afiles: s.afiles,
            invarsec: s.invarsec,
        }),
        Err(e) => Fsstat3Res::Fail(fail_wcc(&e), None),
    }
}

async fn fsinfo(fs: &Fs, a: &Fsinfo3Args<'_>) -> Fsinfo3Res {
    let r = async { fs.fsinfo(ino(fs, a.fsroot)?).await }.await;
    match r {
        Ok(i) => Fsinfo3Res::Ok(Fsinfo3ResOk {
            obj_attributes: post_op(&i.attr),
            rtmax: i.rtmax,
            rtpref: i.rtpref,
            rtmult: i.rtmult,
            wtmax: i.wtmax,
            wtpref: i.wtpref,
            wtmult: i.wtmult,
            dtpref: i.dtpref,
            maxfilesize: i.maxfilesize,
            time_delta: super::convert::nfstime(i.time_delta),
            properties: i.properties,
        }),
        Err(e) => Fsinfo3Res::Fail(fail_wcc(&e), None),
    }
}

async fn pathconf(fs: &Fs, a: &Pathconf3Args<'_>) -> Pathconf3Res {
    let r = async { fs.pathconf(ino(fs, a.object)?).await }.await;
    match r {
        Ok(p) => Pathconf3Res::Ok(Pathconf3ResOk {
            obj_attributes: post_op(&p.attr),
            linkmax: p.linkmax,
            name_max: p.name_max,
            no_trunc: p.no_trunc,
            chown_restricted: p.chown_restricted,
            case_insensitive: p.case_insensitive,
            case_preserving: p.case_preserving,
        }),
        Err(e) => Pathconf3Res::Fail(fail_wcc(&e), None),
    }
}
