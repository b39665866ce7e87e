//! The NFS service over the wire, without sockets: the project's client engine encodes calls,
//! the server engine frames and classifies them, `nfs::NfsService` runs them on real SlateDB
//! (in-memory object store), and the replies are decoded back. Deterministic: one call at a time
//! unless a test pipelines on purpose.

mod common;

use bytes::Bytes;
use common::client_output;
use common::wire::{root, sys, Raw, Wire};
use futures::executor::block_on;
use slatenfs::proto::auth::Credential;
use slatenfs::proto::mount::{MountCall, MountReply, Mountres3, Mountstat3};
use slatenfs::proto::nfs3::*;
use slatenfs::proto::portmap::{Mapping, PortmapCall, PortmapReply, IPPROTO_TCP};
use slatenfs::proto::rpc::ReplyStatus;
use slatenfs::proto::xdr::{XdrEncode, XdrSink};

#[test]
fn mount_gives_the_root_handle_and_rejects_missing_paths() {
    block_on(async {
        let mut w = Wire::new().await;
        let fh = w.root_fh().await;
        assert_eq!(w.root_fh().await, fh, "handles are stable");
        assert!(fh.len() <= 64 && fh.len() % 4 == 0, "{}", fh.len());
        let attr = w.getattr(&fh).await.unwrap();
        assert_eq!(attr.ftype, Ftype3::Dir);
        assert_ne!(attr.fileid, 0, "the root must not be fileid 0");

        let st = w
            .rpc(
                MOUNT_PROGRAM,
                MOUNT_V3,
                1,
                &root(),
                &MountCall::Mnt(b"/no/such"),
            )
            .await;
        let ReplyStatus::Success(b) = st else {
            panic!("{st:?}")
        };
        assert_eq!(
            MountReply::decode(1, &b).unwrap(),
            MountReply::Mnt(Mountres3::Err(Mountstat3::Noent))
        );

        // A directory below the root can be mounted; its handle is the directory's.
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Mkdir(Mkdir3Args {
                    where_: Diropargs3 {
                        dir: NfsFh3(&fh),
                        name: b"sub",
                    },
                    attributes: Sattr3::default(),
                }),
            )
            .await;
        let Nfs3Reply::Mkdir(Nfs3Res::Ok(made)) = Nfs3Reply::decode(proc3::MKDIR, &b).unwrap()
        else {
            panic!()
        };
        let sub = made.obj.unwrap().0.to_vec();
        let st = w
            .rpc(
                MOUNT_PROGRAM,
                MOUNT_V3,
                1,
                &root(),
                &MountCall::Mnt(b"/sub/"),
            )
            .await;
        let ReplyStatus::Success(b) = st else {
            panic!("{st:?}")
        };
        match MountReply::decode(1, &b).unwrap() {
            MountReply::Mnt(Mountres3::Ok(ok)) => assert_eq!(ok.fhandle, &sub[..]),
            other => panic!("{other:?}"),
        }

        let st = w
            .rpc(MOUNT_PROGRAM, MOUNT_V3, 5, &root(), &MountCall::Export)
            .await;
        let ReplyStatus::Success(b) = st else {
            panic!("{st:?}")
        };
        match MountReply::decode(5, &b).unwrap() {
            MountReply::Export(list) => {
                assert_eq!(list.len(), 1);
                assert_eq!(list[0].dir, b"/");
            }
            other => panic!("{other:?}"),
        }
        let st = w
            .rpc(MOUNT_PROGRAM, MOUNT_V3, 2, &root(), &MountCall::Dump)
            .await;
        let ReplyStatus::Success(b) = st else {
            panic!("{st:?}")
        };
        match MountReply::decode(2, &b).unwrap() {
            // "/" and "/sub/" (the refused "/no/such" is not listed; a repeat is listed once).
            MountReply::Dump(list) => assert_eq!(list.len(), 2, "{list:?}"),
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn nfsacl_probe_gets_prog_unavail_and_portmap_answers() {
    block_on(async {
        let mut w = Wire::new().await;
        // The Linux client's GETACL probe on the NFS port.
        let st = w.rpc(NFSACL_PROGRAM, 3, 1, &root(), &Raw(vec![0; 8])).await;
        assert_eq!(st, ReplyStatus::ProgUnavail);
        // NFS v2 and v4 are not served: PROG_MISMATCH with the range we do serve.
        let st = w.rpc(NFS_PROGRAM, 4, 0, &root(), &Raw(vec![])).await;
        assert_eq!(st, ReplyStatus::ProgMismatch { low: 3, high: 3 });

        let query = PortmapCall::Getport(Mapping {
            prog: NFS_PROGRAM,
            vers: 3,
            prot: IPPROTO_TCP,
            port: 0,
        });
        let st = w.rpc(PORTMAP_PROGRAM, PORTMAP_V2, 3, &root(), &query).await;
        let ReplyStatus::Success(b) = st else {
            panic!("{st:?}")
        };
        assert_eq!(
            PortmapReply::decode(3, &b).unwrap(),
            PortmapReply::Getport(2049)
        );
        let query = PortmapCall::Getport(Mapping {
            prog: NFSACL_PROGRAM,
            vers: 3,
            prot: IPPROTO_TCP,
            port: 0,
        });
        let st = w.rpc(PORTMAP_PROGRAM, PORTMAP_V2, 3, &root(), &query).await;
        let ReplyStatus::Success(b) = st else {
            panic!("{st:?}")
        };
        assert_eq!(
            PortmapReply::decode(3, &b).unwrap(),
            PortmapReply::Getport(0)
        );
    });
}

#[test]
fn garbage_arguments_get_garbage_args_and_the_connection_lives_on() {
    block_on(async {
        let mut w = Wire::new().await;
        // GETATTR whose handle length says 2^31.
        let st = w
            .rpc(
                NFS_PROGRAM,
                NFS_V3,
                proc3::GETATTR,
                &root(),
                &Raw(vec![0x80, 0, 0, 0]),
            )
            .await;
        assert_eq!(st, ReplyStatus::GarbageArgs);
        // WRITE whose count disagrees with its data.
        let fh = w.root_fh().await;
        let mut args = XdrSink::new();
        NfsFh3(&fh).encode(&mut args);
        args.head_mut().extend_from_slice(&[0; 8]); // offset
        args.head_mut().extend_from_slice(&9u32.to_be_bytes()); // count 9
        args.head_mut().extend_from_slice(&0u32.to_be_bytes()); // UNSTABLE
        args.head_mut().extend_from_slice(&4u32.to_be_bytes()); // 4 data bytes
        args.head_mut().extend_from_slice(b"abcd");
        let st = w
            .rpc(
                NFS_PROGRAM,
                NFS_V3,
                proc3::WRITE,
                &root(),
                &Raw(args.to_vec()),
            )
            .await;
        assert_eq!(st, ReplyStatus::GarbageArgs);
        // Still serving.
        assert!(w.getattr(&fh).await.is_ok());
    });
}

#[test]
fn handles_bad_garbage_and_stale() {
    block_on(async {
        let mut w = Wire::new().await;
        let fh = w.root_fh().await;
        assert_eq!(w.getattr(b"not-a-handle").await, Err(Nfsstat3::Badhandle));
        let file = w.create(&root(), &fh, b"f").await.unwrap();
        assert!(w.getattr(&file).await.is_ok());
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Remove(Remove3Args {
                    object: Diropargs3 {
                        dir: NfsFh3(&fh),
                        name: b"f",
                    },
                }),
            )
            .await;
        assert_eq!(
            Nfs3Reply::decode(proc3::REMOVE, &b).unwrap().status(),
            Nfsstat3::Ok
        );
        assert_eq!(w.getattr(&file).await, Err(Nfsstat3::Stale));
        // A handle of another filesystem (different fsid) is stale too.
        let mut other = fh.clone();
        other[4] ^= 0xff;
        assert_eq!(w.getattr(&other).await, Err(Nfsstat3::Stale));
    });
}

#[test]
fn write_read_commit_keep_one_verifier_and_zero_fill_holes() {
    block_on(async {
        let mut w = Wire::new().await;
        let fh = w.root_fh().await;
        let file = w.create(&root(), &fh, b"data").await.unwrap();
        let payload: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        // Leave a hole of 70,000 bytes at the start (crosses a chunk boundary).
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Write(Write3Args {
                    file: NfsFh3(&file),
                    offset: 70_000,
                    count: payload.len() as u32,
                    stable: StableHow::Unstable,
                    data: &payload,
                }),
            )
            .await;
        let Nfs3Reply::Write(Nfs3Res::Ok(wr)) = Nfs3Reply::decode(proc3::WRITE, &b).unwrap() else {
            panic!()
        };
        assert_eq!(wr.count, payload.len() as u32);
        assert_eq!(wr.committed, StableHow::Unstable);
        assert_eq!(wr.file_wcc.after.unwrap().size, 170_000);
        assert_eq!(wr.file_wcc.before.unwrap().size, 0);

        let b = w
            .nfs(
                &root(),
                Nfs3Call::Read(Read3Args {
                    file: NfsFh3(&file),
                    offset: 0,
                    count: 1 << 20,
                }),
            )
            .await;
        let Nfs3Reply::Read(Nfs3Res::Ok(rd)) = Nfs3Reply::decode(proc3::READ, &b).unwrap() else {
            panic!()
        };
        assert!(rd.eof);
        assert_eq!(rd.count, 170_000);
        assert!(rd.data[..70_000].iter().all(|&x| x == 0));
        assert_eq!(&rd.data[70_000..], &payload[..]);

        // A read past EOF: no data, eof.
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Read(Read3Args {
                    file: NfsFh3(&file),
                    offset: 1 << 30,
                    count: 10,
                }),
            )
            .await;
        let Nfs3Reply::Read(Nfs3Res::Ok(rd)) = Nfs3Reply::decode(proc3::READ, &b).unwrap() else {
            panic!()
        };
        assert!(rd.eof && rd.data.is_empty());

        let b = w
            .nfs(
                &root(),
                Nfs3Call::Commit(Commit3Args {
                    file: NfsFh3(&file),
                    offset: 0,
                    count: 0,
                }),
            )
            .await;
        let Nfs3Reply::Commit(Nfs3Res::Ok(c)) = Nfs3Reply::decode(proc3::COMMIT, &b).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            c.verf, wr.verf,
            "the verifier changes only on restart or lost writes"
        );

        // READ of a directory: ISDIR.
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Read(Read3Args {
                    file: NfsFh3(&fh),
                    offset: 0,
                    count: 10,
                }),
            )
            .await;
        assert_eq!(
            Nfs3Reply::decode(proc3::READ, &b).unwrap().status(),
            Nfsstat3::Isdir
        );
    });
}

#[test]
fn retransmitted_create_is_answered_from_the_duplicate_request_cache() {
    block_on(async {
        let mut w = Wire::new().await;
        let fh = w.root_fh().await;
        let call = Nfs3Call::Create(Create3Args {
            where_: Diropargs3 {
                dir: NfsFh3(&fh),
                name: b"once",
            },
            how: Createhow3::Guarded(Sattr3::default()),
        });
        w.client
            .send_call(NFS_PROGRAM, NFS_V3, proc3::CREATE, &root(), &call)
            .unwrap();
        let bytes = client_output(&mut w.client);
        let first = w.serve(&bytes).await;
        // The same record again (same xid, same arguments), as a soft mount retransmits it.
        let again = w.serve(&bytes).await;
        assert_eq!(first, again, "the retransmit must get the original reply");
        w.client.handle_input(&first).unwrap();
        let ReplyStatus::Success(b) = w.client.poll_reply().unwrap().status else {
            panic!()
        };
        assert_eq!(
            Nfs3Reply::decode(proc3::CREATE, &b).unwrap().status(),
            Nfsstat3::Ok
        );
        // A new call (new xid) for the same name is a real second CREATE: EXIST.
        assert_eq!(w.create(&root(), &fh, b"once").await, Err(Nfsstat3::Exist));
    });
}

#[test]
fn auth_sys_identity_is_enforced_and_auth_none_is_anonymous() {
    block_on(async {
        let mut w = Wire::new().await;
        let fh = w.root_fh().await;
        // The root directory is root's and 0755: others cannot create in it.
        assert_eq!(
            w.create(&sys(1000, 1000), &fh, b"x").await,
            Err(Nfsstat3::Acces)
        );
        assert_eq!(
            w.create(&Credential::None, &fh, b"x").await,
            Err(Nfsstat3::Acces)
        );
        // Root makes a world-writable directory; the file a user creates there is theirs.
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Mkdir(Mkdir3Args {
                    where_: Diropargs3 {
                        dir: NfsFh3(&fh),
                        name: b"tmp",
                    },
                    attributes: Sattr3 {
                        mode: Some(0o1777),
                        ..Default::default()
                    },
                }),
            )
            .await;
        let Nfs3Reply::Mkdir(Nfs3Res::Ok(made)) = Nfs3Reply::decode(proc3::MKDIR, &b).unwrap()
        else {
            panic!()
        };
        let tmp = made.obj.unwrap().0.to_vec();
        let f = w.create(&sys(1000, 100), &tmp, b"mine").await.unwrap();
        let a = w.getattr(&f).await.unwrap();
        assert_eq!((a.uid, a.gid), (1000, 100));
        let f = w.create(&Credential::None, &tmp, b"anon").await.unwrap();
        let a = w.getattr(&f).await.unwrap();
        assert_eq!((a.uid, a.gid), (65534, 65534));
        // Sticky directory: another user cannot remove it.
        let b = w
            .nfs(
                &sys(2000, 2000),
                Nfs3Call::Remove(Remove3Args {
                    object: Diropargs3 {
                        dir: NfsFh3(&tmp),
                        name: b"mine",
                    },
                }),
            )
            .await;
        assert_eq!(
            Nfs3Reply::decode(proc3::REMOVE, &b).unwrap().status(),
            Nfsstat3::Acces
        );
        // ACCESS reports what uid 2000 may do with uid 1000's 0644 file: read only.
        let mine = w.create(&sys(1000, 100), &tmp, b"mine2").await.unwrap();
        let b = w
            .nfs(
                &sys(2000, 2000),
                Nfs3Call::Access(Access3Args {
                    object: NfsFh3(&mine),
                    access: 0x3f,
                }),
            )
            .await;
        let Nfs3Reply::Access(Nfs3Res::Ok(acc)) = Nfs3Reply::decode(proc3::ACCESS, &b).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            acc.access & (access3::READ | access3::MODIFY),
            access3::READ
        );
    });
}

async fn readdir_all(w: &mut Wire, dir: &[u8], count: u32) -> (Vec<Vec<u8>>, usize) {
    let mut cookie = 0;
    let mut verf = [0u8; 8];
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Readdir(Readdir3Args {
                    dir: NfsFh3(dir),
                    cookie,
                    cookieverf: verf,
                    count,
                }),
            )
            .await;
        let Nfs3Reply::Readdir(Nfs3Res::Ok(page)) = Nfs3Reply::decode(proc3::READDIR, &b).unwrap()
        else {
            panic!("readdir failed")
        };
        assert!(
            b.len() <= count as usize + 4,
            "reply of {} bytes for count {count}",
            b.len()
        );
        pages += 1;
        assert!(
            page.reply.eof || !page.reply.entries.is_empty(),
            "an empty page must say EOF"
        );
        for e in &page.reply.entries {
            names.push(e.name.to_vec());
            cookie = e.cookie;
        }
        verf = page.cookieverf;
        if page.reply.eof {
            return (names, pages);
        }
        assert!(pages < 10_000);
    }
}

#[test]
fn readdir_pages_respect_count_and_list_every_entry_once() {
    block_on(async {
        let mut w = Wire::new().await;
        let fh = w.root_fh().await;
        for i in 0..150 {
            w.create(
                &root(),
                &fh,
                format!("file-{i:04}-{}", "x".repeat(i % 40)).as_bytes(),
            )
            .await
            .unwrap();
        }
        let (names, pages) = readdir_all(&mut w, &fh, 1024).await;
        assert!(pages > 5, "{pages} pages");
        assert_eq!(names.len(), 152);
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 152, "no name twice");
        assert!(names.contains(&b".".to_vec()) && names.contains(&b"..".to_vec()));

        // A count too small for any entry: TOOSMALL, not an empty page without EOF.
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Readdir(Readdir3Args {
                    dir: NfsFh3(&fh),
                    cookie: 0,
                    cookieverf: [0; 8],
                    count: 100,
                }),
            )
            .await;
        assert_eq!(
            Nfs3Reply::decode(proc3::READDIR, &b).unwrap().status(),
            Nfsstat3::Toosmall
        );
    });
}

#[test]
fn readdirplus_returns_handles_and_attributes_within_maxcount() {
    block_on(async {
        let mut w = Wire::new().await;
        let fh = w.root_fh().await;
        for i in 0..40 {
            w.create(&root(), &fh, format!("e{i}").as_bytes())
                .await
                .unwrap();
        }
        let mut cookie = 0;
        let mut seen = 0;
        loop {
            let b = w
                .nfs(
                    &root(),
                    Nfs3Call::Readdirplus(Readdirplus3Args {
                        dir: NfsFh3(&fh),
                        cookie,
                        cookieverf: [0; 8],
                        dircount: 512,
                        maxcount: 2048,
                    }),
                )
                .await;
            assert!(b.len() <= 2048 + 4);
            let Nfs3Reply::Readdirplus(Nfs3Res::Ok(page)) =
                Nfs3Reply::decode(proc3::READDIRPLUS, &b).unwrap()
            else {
                panic!()
            };
            for e in &page.reply.entries {
                seen += 1;
                cookie = e.cookie;
                if e.name == b".." {
                    // No handle for `..` (it may lead out of the export): LOOKUP it.
                    assert_eq!((e.name_attributes, e.name_handle), (None, None));
                    continue;
                }
                let attr = e.name_attributes.expect("attributes");
                assert_eq!(attr.fileid, e.fileid);
                let h = e.name_handle.expect("handle");
                assert_eq!(w.getattr(h.0).await.unwrap().fileid, e.fileid);
            }
            if page.reply.eof {
                break;
            }
        }
        assert_eq!(seen, 42);
    });
}

#[test]
fn rename_link_symlink_and_special_files_over_the_wire() {
    block_on(async {
        let mut w = Wire::new().await;
        let fh = w.root_fh().await;
        let a = w.create(&root(), &fh, b"a").await.unwrap();
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Link(Link3Args {
                    file: NfsFh3(&a),
                    link: Diropargs3 {
                        dir: NfsFh3(&fh),
                        name: b"a2",
                    },
                }),
            )
            .await;
        let Nfs3Reply::Link(Nfs3Res::Ok(l)) = Nfs3Reply::decode(proc3::LINK, &b).unwrap() else {
            panic!()
        };
        assert_eq!(l.file_attributes.unwrap().nlink, 2);
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Rename(Rename3Args {
                    from: Diropargs3 {
                        dir: NfsFh3(&fh),
                        name: b"a2",
                    },
                    to: Diropargs3 {
                        dir: NfsFh3(&fh),
                        name: b"b",
                    },
                }),
            )
            .await;
        assert_eq!(
            Nfs3Reply::decode(proc3::RENAME, &b).unwrap().status(),
            Nfsstat3::Ok
        );
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Symlink(Symlink3Args {
                    where_: Diropargs3 {
                        dir: NfsFh3(&fh),
                        name: b"s",
                    },
                    symlink: Symlinkdata3 {
                        symlink_attributes: Sattr3::default(),
                        symlink_data: b"../target",
                    },
                }),
            )
            .await;
        let Nfs3Reply::Symlink(Nfs3Res::Ok(s)) = Nfs3Reply::decode(proc3::SYMLINK, &b).unwrap()
        else {
            panic!()
        };
        let s = s.obj.unwrap().0.to_vec();
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Readlink(Readlink3Args {
                    symlink: NfsFh3(&s),
                }),
            )
            .await;
        let Nfs3Reply::Readlink(Nfs3Res::Ok(r)) = Nfs3Reply::decode(proc3::READLINK, &b).unwrap()
        else {
            panic!()
        };
        assert_eq!(r.data, b"../target");
        // MKNOD of a regular file is BADTYPE; a FIFO works.
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Mknod(Mknod3Args {
                    where_: Diropargs3 {
                        dir: NfsFh3(&fh),
                        name: b"r",
                    },
                    what: Mknoddata3::Reg,
                }),
            )
            .await;
        assert_eq!(
            Nfs3Reply::decode(proc3::MKNOD, &b).unwrap().status(),
            Nfsstat3::Badtype
        );
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Mknod(Mknod3Args {
                    where_: Diropargs3 {
                        dir: NfsFh3(&fh),
                        name: b"p",
                    },
                    what: Mknoddata3::Fifo(Sattr3::default()),
                }),
            )
            .await;
        let Nfs3Reply::Mknod(Nfs3Res::Ok(p)) = Nfs3Reply::decode(proc3::MKNOD, &b).unwrap() else {
            panic!()
        };
        assert_eq!(p.obj_attributes.unwrap().ftype, Ftype3::Fifo);
        // A name of 256 bytes: NAMETOOLONG.
        assert_eq!(
            w.create(&root(), &fh, &[b'n'; 256]).await,
            Err(Nfsstat3::Nametoolong)
        );
    });
}

#[test]
fn setattr_guard_and_fsinfo_advertise_large_transfers() {
    block_on(async {
        let mut w = Wire::new().await;
        let fh = w.root_fh().await;
        let f = w.create(&root(), &fh, b"g").await.unwrap();
        let attr = w.getattr(&f).await.unwrap();
        let wrong = Nfstime3 {
            seconds: attr.ctime.seconds.wrapping_sub(10),
            nseconds: 0,
        };
        for (guard, want) in [
            (Some(wrong), Nfsstat3::NotSync),
            (Some(attr.ctime), Nfsstat3::Ok),
        ] {
            let b = w
                .nfs(
                    &root(),
                    Nfs3Call::Setattr(Setattr3Args {
                        object: NfsFh3(&f),
                        new_attributes: Sattr3 {
                            mode: Some(0o600),
                            ..Default::default()
                        },
                        guard,
                    }),
                )
                .await;
            assert_eq!(
                Nfs3Reply::decode(proc3::SETATTR, &b).unwrap().status(),
                want
            );
        }
        assert_eq!(w.getattr(&f).await.unwrap().mode, 0o600);

        let b = w
            .nfs(
                &root(),
                Nfs3Call::Fsinfo(Fsinfo3Args {
                    fsroot: NfsFh3(&fh),
                }),
            )
            .await;
        let Nfs3Reply::Fsinfo(Nfs3Res::Ok(i)) = Nfs3Reply::decode(proc3::FSINFO, &b).unwrap()
        else {
            panic!()
        };
        assert_eq!(i.rtmax, 1 << 20);
        assert_eq!(i.wtmax, 1 << 20);
        assert!(i.dtpref >= 8192);
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Pathconf(Pathconf3Args {
                    object: NfsFh3(&fh),
                }),
            )
            .await;
        let Nfs3Reply::Pathconf(Nfs3Res::Ok(p)) = Nfs3Reply::decode(proc3::PATHCONF, &b).unwrap()
        else {
            panic!()
        };
        assert_eq!(p.name_max, 255);
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Fsstat(Fsstat3Args {
                    fsroot: NfsFh3(&fh),
                }),
            )
            .await;
        let Nfs3Reply::Fsstat(Nfs3Res::Ok(s)) = Nfs3Reply::decode(proc3::FSSTAT, &b).unwrap()
        else {
            panic!()
        };
        assert!(s.tbytes >= s.fbytes && s.fbytes >= s.abytes);
    });
}

/// A change the object store does not confirm durable in time is answered JUKEBOX, never
/// success. The client's retry (a new xid, the same arguments) is not run again: JUKEBOX while
/// the store is still out, then success without attributes once the change is durable. So a
/// REMOVE retried after a JUKEBOX succeeds instead of finding its name gone (NOENT), and a
/// MKDIR instead of finding its directory there (EXIST).
#[test]
fn a_change_not_confirmed_durable_is_answered_jukebox_and_its_retry_is_not_run_again() {
    use slatenfs::store::fault::{FaultInjector, FaultSchedule};
    use slatenfs::store::{StorageUrl, Store, StoreConfig};
    use std::sync::Arc;
    use std::time::Duration;
    block_on(async {
        let memory: Arc<dyn object_store::ObjectStore> =
            Arc::new(object_store::memory::InMemory::new());
        let faults = FaultInjector::new(FaultSchedule::new(1));
        let config = StoreConfig {
            wait_limit: Duration::from_secs(1),
            object_store_timeout: Duration::from_secs(1),
            ..StoreConfig::new(StorageUrl::Memory)
        };
        let store = Store::open_with_object_store(faults.wrap(memory), config)
            .await
            .unwrap();
        let fs = slatenfs::fs::Fs::open(store, Default::default())
            .await
            .unwrap();
        let mut w = Wire::serving(fs).await;
        let top = w.root_fh().await;
        w.create(&root(), &top, b"gone").await.unwrap();

        let remove = Nfs3Call::Remove(Remove3Args {
            object: Diropargs3 {
                dir: NfsFh3(&top),
                name: b"gone",
            },
        });
        let mkdir = Nfs3Call::Mkdir(Mkdir3Args {
            where_: Diropargs3 {
                dir: NfsFh3(&top),
                name: b"made",
            },
            attributes: Sattr3::default(),
        });
        for call in [remove, mkdir] {
            faults.set_outage(true);
            let b = w.nfs(&root(), call).await;
            let status = Nfs3Reply::decode(call.proc_num(), &b).unwrap().status();
            assert_eq!(
                status,
                Nfsstat3::Jukebox,
                "{} during the outage",
                call.name()
            );
            // Retried while the store is still out: not run again (which would say NOENT or
            // EXIST now that the change is in memory), JUKEBOX again.
            let b = w.nfs(&root(), call).await;
            let status = Nfs3Reply::decode(call.proc_num(), &b).unwrap().status();
            assert_eq!(
                status,
                Nfsstat3::Jukebox,
                "{} retried during the outage",
                call.name()
            );
            faults.set_outage(false);
            // Each retry waits up to the wait limit for the change to become durable.
            let mut reply = Bytes::new();
            for _ in 0..60 {
                reply = w.nfs(&root(), call).await;
                let status = Nfs3Reply::decode(call.proc_num(), &reply).unwrap().status();
                if status != Nfsstat3::Jukebox {
                    break;
                }
            }
            match Nfs3Reply::decode(call.proc_num(), &reply).unwrap() {
                Nfs3Reply::Remove(Nfs3Res::Ok(_)) => {}
                // Success without the new directory's handle: the client looks it up.
                Nfs3Reply::Mkdir(Nfs3Res::Ok(ok)) => assert!(ok.obj.is_none()),
                other => panic!("{} retried after the outage: {other:?}", call.name()),
            }
        }
        // The changes happened once: the name is gone, the directory is there.
        let lookup = |name: &'static [u8]| {
            Nfs3Call::Lookup(Lookup3Args {
                what: Diropargs3 {
                    dir: NfsFh3(&top),
                    name,
                },
            })
        };
        let b = w.nfs(&root(), lookup(b"gone")).await;
        let st = Nfs3Reply::decode(proc3::LOOKUP, &b).unwrap().status();
        assert_eq!(st, Nfsstat3::Noent);
        let b = w.nfs(&root(), lookup(b"made")).await;
        let st = Nfs3Reply::decode(proc3::LOOKUP, &b).unwrap().status();
        assert_eq!(st, Nfsstat3::Ok);
        // A new call with the same arguments, once the retry was answered, runs as usual.
        let b = w.nfs(&root(), remove).await;
        let st = Nfs3Reply::decode(proc3::REMOVE, &b).unwrap().status();
        assert_eq!(st, Nfsstat3::Noent);
        assert!(w.service.fs().fsck().await.unwrap().is_clean());
    });
}

/// Once another server opened the storage (fencing this one), nothing is answered, not even
/// what the caches hold: the storage has a new owner, and they may be out of date.
#[test]
fn a_fenced_server_answers_nothing_not_even_from_its_caches() {
    use slatenfs::store::{StorageUrl, Store, StoreConfig};
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = StorageUrl::File(dir.path().to_path_buf());
        let store = Store::open(StoreConfig::new(url.clone())).await.unwrap();
        let fs = slatenfs::fs::Fs::open(store, Default::default())
            .await
            .unwrap();
        let mut w = Wire::serving(fs).await;
        let top = w.root_fh().await;
        let fh = w.create(&root(), &top, b"f").await.unwrap();
        assert!(w.getattr(&fh).await.is_ok());

        let second = Store::open(StoreConfig::new(url)).await.unwrap();
        let start = std::time::Instant::now();
        while !w.service.fs().store().is_lost() {
            assert!(start.elapsed().as_secs() < 60, "not fenced within a minute");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // GETATTR of a cached inode: no reply at all.
        let args = Getattr3Args {
            object: NfsFh3(&fh),
        };
        w.client
            .send_call(NFS_PROGRAM, NFS_V3, proc3::GETATTR, &root(), &args)
            .unwrap();
        let bytes = client_output(&mut w.client);
        assert!(w.serve(&bytes).await.is_empty(), "a fenced server answered");
        second.close().await.unwrap();
    });
}

/// READDIR and READDIRPLUS replies stay within 1 MiB whatever `count` (and `dircount`) the
/// client asks for: a directory of 6,000 long names (over 1.2 MiB of READDIR entries) listed
/// with u32::MAX counts comes back in pages of at most 1 MiB, none empty, the last with EOF, and
/// every name exactly once.
#[test]
fn listing_replies_are_capped_whatever_count_the_client_asks() {
    const FILES: usize = 6000;
    const CAP: usize = 1 << 20;
    block_on(async {
        let mut w = Wire::new().await;
        let root_fh = w.root_fh().await;
        let dir = w
            .nfs(
                &root(),
                Nfs3Call::Mkdir(Mkdir3Args {
                    where_: Diropargs3 {
                        dir: NfsFh3(&root_fh),
                        name: b"big",
                    },
                    attributes: Sattr3::default(),
                }),
            )
            .await;
        let dir = match Nfs3Reply::decode(proc3::MKDIR, &dir).unwrap() {
            Nfs3Reply::Mkdir(Nfs3Res::Ok(ok)) => ok.obj.unwrap().0.to_vec(),
            other => panic!("{other:?}"),
        };
        let name = |i: usize| format!("{i:05}-{}", "n".repeat(194)).into_bytes();
        for i in 0..FILES {
            w.create(&root(), &dir, &name(i)).await.unwrap();
        }
        for plus in [false, true] {
            let (mut cookie, mut verf, mut seen, mut pages) = (0u64, [0u8; 8], 0usize, 0);
            loop {
                let call = if plus {
                    Nfs3Call::Readdirplus(Readdirplus3Args {
                        dir: NfsFh3(&dir),
                        cookie,
                        cookieverf: verf,
                        dircount: u32::MAX,
                        maxcount: u32::MAX,
                    })
                } else {
                    Nfs3Call::Readdir(Readdir3Args {
                        dir: NfsFh3(&dir),
                        cookie,
                        cookieverf: verf,
                        count: u32::MAX,
                    })
                };
                let proc = call.proc_num();
                let body = w.nfs(&root(), call).await;
                assert!(body.len() <= CAP, "a reply of {} bytes", body.len());
                pages += 1;
                let (names, last, eof, v) = match Nfs3Reply::decode(proc, &body).unwrap() {
                    Nfs3Reply::Readdir(Nfs3Res::Ok(ok)) => (
                        ok.reply
                            .entries
                            .iter()
                            .map(|e| e.name.to_vec())
                            .collect::<Vec<_>>(),
                        ok.reply.entries.last().map(|e| e.cookie),
                        ok.reply.eof,
                        ok.cookieverf,
                    ),
                    Nfs3Reply::Readdirplus(Nfs3Res::Ok(ok)) => (
                        ok.reply
                            .entries
                            .iter()
                            .map(|e| e.name.to_vec())
                            .collect::<Vec<_>>(),
                        ok.reply.entries.last().map(|e| e.cookie),
                        ok.reply.eof,
                        ok.cookieverf,
                    ),
                    other => panic!("{other:?}"),
                };
                assert!(!names.is_empty() || eof, "an empty page without EOF");
                seen += names.iter().filter(|n| n.len() > 2).count();
                verf = v;
                if eof {
                    break;
                }
                cookie = last.unwrap();
            }
            assert_eq!(seen, FILES, "plus={plus}");
            assert!(
                pages >= 2,
                "plus={plus}: the listing fit in one page of 1 MiB"
            );
        }
    });
}
