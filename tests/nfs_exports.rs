//! Export rules and file handles over the wire, without sockets (the NFS service on real
//! SlateDB, calls through the real protocol engines, the peer address set per call): who may
//! mount, who may use a handle, as whom, with which options; forged, stale and old handles.

mod common;

use std::panic::AssertUnwindSafe;

use common::fs::{new_fs, open_file_fs};
use common::wire::{peer, root, sys, sys_groups, Wire};
use futures::executor::block_on;
use futures::FutureExt;
use slatenfs::nfs::handle::HANDLE_LEN;
use slatenfs::proto::auth::AuthStat;
use slatenfs::proto::connection::CallReply;
use slatenfs::proto::mount::{MountCall, MountReply, Mountstat3};
use slatenfs::proto::nfs3::*;
use slatenfs::proto::rpc::ReplyStatus;
use slatenfs::server::Service;

const ANON: u32 = 65534;

fn dirop<'a>(dir: &'a [u8], name: &'a [u8]) -> Diropargs3<'a> {
    Diropargs3 {
        dir: NfsFh3(dir),
        name,
    }
}

async fn setattr_ids(
    w: &mut Wire,
    cred: &slatenfs::proto::auth::Credential,
    fh: &[u8],
    uid: Option<u32>,
    gid: Option<u32>,
) -> Nfsstat3 {
    w.nfs_status(
        cred,
        Nfs3Call::Setattr(Setattr3Args {
            object: NfsFh3(fh),
            new_attributes: Sattr3 {
                uid,
                gid,
                ..Default::default()
            },
            guard: None,
        }),
    )
    .await
}

#[test]
fn each_client_kind_admits_exactly_its_peers() {
    block_on(async {
        let mut w = Wire::with_rules(
            new_fs().await,
            &[
                "/ 192.168.7.9(rw,no_root_squash,insecure) 10.1.0.0/16(rw,insecure) fd00:1::/32(ro,insecure)",
                "/open *(ro,insecure)",
            ],
        )
        .await;
        w.peer = peer("192.168.7.9:700");
        let root_fh = w.root_fh().await;
        w.mkdir(&root(), &root_fh, b"open", 0o755).await.unwrap();
        for (client, mount_root, mount_open) in [
            ("192.168.7.9:40000", true, true),
            ("192.168.7.10:40000", false, true),
            ("10.1.200.3:40000", true, true),
            ("10.2.0.1:40000", false, true),
            ("[fd00:1:ffff::7]:40000", true, true),
            ("[fd00:2::7]:40000", false, true),
            ("[::ffff:10.1.0.9]:40000", true, true),
            ("127.0.0.1:40000", false, true),
        ] {
            w.peer = peer(client);
            let got_root = w.mount(b"/").await;
            assert_eq!(
                got_root.is_ok(),
                mount_root,
                "MNT / from {client}: {got_root:?}"
            );
            if !mount_root {
                assert_eq!(got_root, Err(Mountstat3::Acces), "{client}");
            }
            // A path below an export: the deepest export that admits the peer.
            assert_eq!(w.mount(b"/open").await.is_ok(), mount_open, "{client}");
            assert!(
                w.mount(b"/open/../").await.is_err(),
                "{client}: '..' in a path"
            );
        }
    });
}

#[test]
fn without_rules_only_loopback_clients_are_served() {
    block_on(async {
        let mut w = Wire::new().await;
        let fh = w.root_fh().await;
        w.peer = peer("[::1]:900");
        assert!(w.getattr(&fh).await.is_ok());
        w.peer = peer("10.0.0.1:700");
        assert_eq!(w.mount(b"/").await, Err(Mountstat3::Acces));
        // The handle of a loopback client is useless elsewhere.
        assert_eq!(w.getattr(&fh).await, Err(Nfsstat3::Acces));
    });
}

#[test]
fn a_handle_from_an_admitted_client_is_refused_to_others_on_every_call() {
    block_on(async {
        let mut w =
            Wire::with_rules(new_fs().await, &["/ 10.0.0.1(rw,no_root_squash,insecure)"]).await;
        w.peer = peer("10.0.0.1:700");
        let fh = w.root_fh().await;
        let file = w.create(&root(), &fh, b"f").await.unwrap();
        w.peer = peer("10.0.0.2:700");
        assert_eq!(w.getattr(&file).await, Err(Nfsstat3::Acces));
        for call in [
            Nfs3Call::Lookup(Lookup3Args {
                what: dirop(&fh, b"f"),
            }),
            Nfs3Call::Remove(Remove3Args {
                object: dirop(&fh, b"f"),
            }),
            Nfs3Call::Read(Read3Args {
                file: NfsFh3(&file),
                offset: 0,
                count: 10,
            }),
            Nfs3Call::Readdirplus(Readdirplus3Args {
                dir: NfsFh3(&fh),
                cookie: 0,
                cookieverf: [0; 8],
                dircount: 4096,
                maxcount: 8192,
            }),
            Nfs3Call::Commit(Commit3Args {
                file: NfsFh3(&file),
                offset: 0,
                count: 0,
            }),
        ] {
            let name = call.name();
            assert_eq!(w.nfs_status(&root(), call).await, Nfsstat3::Acces, "{name}");
        }
        // Nothing happened: the admitted client still sees the file.
        w.peer = peer("10.0.0.1:700");
        assert!(w.lookup(&root(), &fh, b"f").await.is_ok());
    });
}

#[test]
fn secure_exports_need_a_privileged_source_port() {
    block_on(async {
        let mut w = Wire::with_rules(
            new_fs().await,
            &[
                "/ 10.0.0.0/8(rw,no_root_squash)",
                "/lax 10.0.0.0/8(rw,insecure)",
            ],
        )
        .await;
        w.peer = peer("10.0.0.1:1023");
        let fh = w.root_fh().await;
        w.mkdir(&root(), &fh, b"lax", 0o777).await.unwrap();
        w.peer = peer("10.0.0.1:1024");
        assert_eq!(w.mount(b"/").await, Err(Mountstat3::Acces));
        let st = w
            .rpc(
                NFS_PROGRAM,
                NFS_V3,
                proc3::GETATTR,
                &root(),
                &Getattr3Args {
                    object: NfsFh3(&fh),
                },
            )
            .await;
        assert_eq!(st, ReplyStatus::AuthError(AuthStat::TooWeak));
        // An insecure export below is mountable from any port.
        let lax = w.mount(b"/lax").await.unwrap();
        assert!(w.getattr(&lax).await.is_ok());
    });
}

#[test]
fn root_squash_maps_root_and_its_groups_to_the_anonymous_ids() {
    block_on(async {
        let mut w = Wire::with_rules(
            new_fs().await,
            &["/ 10.0.0.1(rw,no_root_squash,insecure) 10.0.0.2(rw,insecure)"],
        )
        .await;
        w.peer = peer("10.0.0.1:700");
        let fh = w.root_fh().await;
        let shared = w.mkdir(&root(), &fh, b"shared", 0o777).await.unwrap();
        let mine = w.create(&root(), &shared, b"by-root").await.unwrap();
        assert_eq!(w.getattr(&mine).await.unwrap().uid, 0);

        w.peer = peer("10.0.0.2:700");
        let squashed = w
            .create(&root(), &shared, b"by-squashed-root")
            .await
            .unwrap();
        let a = w.getattr(&squashed).await.unwrap();
        assert_eq!((a.uid, a.gid), (ANON, ANON));
        // Squashed root is nobody: no chown, no writing root's 0644 file, no chmod of it.
        assert_eq!(
            setattr_ids(&mut w, &root(), &squashed, Some(0), None).await,
            Nfsstat3::Perm
        );
        assert_eq!(
            setattr_ids(&mut w, &root(), &mine, Some(0), None).await,
            Nfsstat3::Perm
        );
        let write = Nfs3Call::Write(Write3Args {
            file: NfsFh3(&mine),
            offset: 0,
            count: 1,
            stable: StableHow::FileSync,
            data: b"x",
        });
        assert_eq!(w.nfs_status(&root(), write).await, Nfsstat3::Acces);
        // Other users keep their ids; a gid 0 they claim does not count.
        let u = w
            .create(&sys_groups(1000, 0, &[0, 7]), &shared, b"by-1000")
            .await
            .unwrap();
        let a = w.getattr(&u).await.unwrap();
        assert_eq!((a.uid, a.gid), (1000, ANON));
    });
}

#[test]
fn all_squash_and_anonymous_ids() {
    block_on(async {
        let mut w = Wire::with_rules(
            new_fs().await,
            &["/ 10.0.0.1(rw,no_root_squash,insecure) 10.0.0.3(rw,all_squash,anonuid=2000,anongid=3000,insecure)"],
        )
        .await;
        w.peer = peer("10.0.0.1:700");
        let fh = w.root_fh().await;
        let shared = w.mkdir(&root(), &fh, b"shared", 0o777).await.unwrap();
        w.peer = peer("10.0.0.3:700");
        for (cred, name) in [(sys(1000, 1000), &b"a"[..]), (root(), b"b")] {
            let f = w.create(&cred, &shared, name).await.unwrap();
            let a = w.getattr(&f).await.unwrap();
            assert_eq!((a.uid, a.gid), (2000, 3000));
        }
        // AUTH_NONE is the export's anonymous user too.
        let f = w
            .create(&slatenfs::proto::auth::Credential::None, &shared, b"c")
            .await
            .unwrap();
        assert_eq!(w.getattr(&f).await.unwrap().uid, 2000);
    });
}

#[test]
fn read_only_exports_refuse_every_change_and_grant_no_write_access() {
    block_on(async {
        let mut w = Wire::with_rules(
            new_fs().await,
            &["/ 10.0.0.1(rw,no_root_squash,insecure) 10.0.0.2(ro,no_root_squash,insecure)"],
        )
        .await;
        w.peer = peer("10.0.0.1:700");
        let fh = w.root_fh().await;
        let file = w.create(&root(), &fh, b"f").await.unwrap();
        let dir = w.mkdir(&root(), &fh, b"d", 0o777).await.unwrap();

        w.peer = peer("10.0.0.2:700");
        let ro = w.mount(b"/").await.unwrap();
        let calls = [
            Nfs3Call::Setattr(Setattr3Args {
                object: NfsFh3(&file),
                new_attributes: Sattr3 {
                    mode: Some(0o600),
                    ..Default::default()
                },
                guard: None,
            }),
            Nfs3Call::Write(Write3Args {
                file: NfsFh3(&file),
                offset: 0,
                count: 1,
                stable: StableHow::Unstable,
                data: b"x",
            }),
            Nfs3Call::Create(Create3Args {
                where_: dirop(&ro, b"new"),
                how: Createhow3::Unchecked(Sattr3::default()),
            }),
            Nfs3Call::Mkdir(Mkdir3Args {
                where_: dirop(&ro, b"newdir"),
                attributes: Sattr3::default(),
            }),
            Nfs3Call::Symlink(Symlink3Args {
                where_: dirop(&ro, b"ln"),
                symlink: Symlinkdata3 {
                    symlink_attributes: Sattr3::default(),
                    symlink_data: b"f",
                },
            }),
            Nfs3Call::Mknod(Mknod3Args {
                where_: dirop(&ro, b"fifo"),
                what: Mknoddata3::Fifo(Sattr3::default()),
            }),
            Nfs3Call::Remove(Remove3Args {
                object: dirop(&ro, b"f"),
            }),
            Nfs3Call::Rmdir(Rmdir3Args {
                object: dirop(&ro, b"d"),
            }),
            Nfs3Call::Rename(Rename3Args {
                from: dirop(&ro, b"f"),
                to: dirop(&ro, b"g"),
            }),
            Nfs3Call::Link(Link3Args {
                file: NfsFh3(&file),
                link: dirop(&ro, b"hard"),
            }),
            Nfs3Call::Commit(Commit3Args {
                file: NfsFh3(&file),
                offset: 0,
                count: 0,
            }),
        ];
        assert_eq!(calls.len(), 11, "every modifying procedure");
        for call in calls {
            let name = call.name();
            assert_eq!(w.nfs_status(&root(), call).await, Nfsstat3::Rofs, "{name}");
        }
        // Reading works; ACCESS grants no MODIFY/EXTEND/DELETE, even to root on a 0777 dir.
        assert!(w.lookup(&root(), &ro, b"f").await.is_ok());
        for obj in [&dir, &file] {
            let b = w
                .nfs(
                    &root(),
                    Nfs3Call::Access(Access3Args {
                        object: NfsFh3(obj),
                        access: 0x3f,
                    }),
                )
                .await;
            let Nfs3Reply::Access(Nfs3Res::Ok(ok)) = Nfs3Reply::decode(proc3::ACCESS, &b).unwrap()
            else {
                panic!()
            };
            assert_eq!(ok.access & (0x04 | 0x08 | 0x10), 0, "{:#x}", ok.access);
            assert_ne!(ok.access & 0x01, 0, "READ is granted");
        }
        // The read-write client is unaffected.
        w.peer = peer("10.0.0.1:700");
        assert!(w.create(&root(), &fh, b"still-writable").await.is_ok());
    });
}

#[test]
fn options_come_from_the_export_a_handle_was_issued_under() {
    block_on(async {
        let mut w = Wire::with_rules(
            new_fs().await,
            &[
                "/ 10.0.0.1(ro,no_root_squash,insecure) 10.0.0.9(rw,no_root_squash,insecure)",
                "/scratch 10.0.0.1(rw,no_root_squash,insecure)",
            ],
        )
        .await;
        w.peer = peer("10.0.0.9:700");
        let admin_root = w.root_fh().await;
        let scratch_dir = w
            .mkdir(&root(), &admin_root, b"scratch", 0o755)
            .await
            .unwrap();
        w.create(&root(), &admin_root, b"top").await.unwrap();

        w.peer = peer("10.0.0.1:700");
        let ro_root = w.mount(b"/").await.unwrap();
        let scratch = w.mount(b"/scratch").await.unwrap();
        assert_ne!(scratch, scratch_dir, "the same directory, another export");
        // Through /scratch: read-write, and so is what LOOKUP/CREATE there return.
        let made = w.create(&root(), &scratch, b"a").await.unwrap();
        let sub = w.mkdir(&root(), &scratch, b"sub", 0o755).await.unwrap();
        assert!(w.create(&root(), &sub, b"b").await.is_ok());
        let looked = w.lookup(&root(), &scratch, b"a").await.unwrap();
        assert_eq!(looked, made);
        // Through /: read-only, even inside scratch.
        let scratch_via_root = w.lookup(&root(), &ro_root, b"scratch").await.unwrap();
        assert_eq!(
            w.create(&root(), &scratch_via_root, b"c").await,
            Err(Nfsstat3::Rofs)
        );
        // `..` of the export's directory is itself: the client stays in /scratch.
        assert_eq!(w.lookup(&root(), &scratch, b"..").await.unwrap(), scratch);
        assert_eq!(w.lookup(&root(), &sub, b"..").await.unwrap(), scratch);
        assert_eq!(
            w.lookup(&root(), &scratch, b"top").await,
            Err(Nfsstat3::Noent)
        );
        // READDIRPLUS gives no handle for `..`.
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Readdirplus(Readdirplus3Args {
                    dir: NfsFh3(&scratch),
                    cookie: 0,
                    cookieverf: [0; 8],
                    dircount: 4096,
                    maxcount: 32768,
                }),
            )
            .await;
        let Nfs3Reply::Readdirplus(Nfs3Res::Ok(page)) =
            Nfs3Reply::decode(proc3::READDIRPLUS, &b).unwrap()
        else {
            panic!()
        };
        for e in &page.reply.entries {
            assert_eq!(e.name_handle.is_some(), e.name != b"..", "{:?}", e.name);
            if e.name == b"a" {
                assert_eq!(e.name_handle.unwrap().0, &made[..]);
            }
        }
        // Moving between exports is a cross-device move.
        let st = w
            .nfs_status(
                &root(),
                Nfs3Call::Rename(Rename3Args {
                    from: dirop(&scratch, b"a"),
                    to: dirop(&scratch_via_root, b"a2"),
                }),
            )
            .await;
        assert_eq!(st, Nfsstat3::Xdev);
    });
}

#[test]
fn a_reload_applies_to_the_next_call() {
    block_on(async {
        let rw = [
            "/ 10.0.0.1(rw,no_root_squash,insecure)",
            "/gone 10.0.0.1(rw,insecure)",
        ];
        let mut w = Wire::with_rules(new_fs().await, &rw).await;
        w.peer = peer("10.0.0.1:700");
        let fh = w.root_fh().await;
        w.mkdir(&root(), &fh, b"gone", 0o777).await.unwrap();
        let gone = w.mount(b"/gone").await.unwrap();
        assert!(w.create(&root(), &fh, b"before").await.is_ok());

        w.reload(&["/ 10.0.0.1(ro,no_root_squash,insecure)"]);
        assert_eq!(w.create(&root(), &fh, b"after").await, Err(Nfsstat3::Rofs));
        assert!(w.getattr(&fh).await.is_ok());
        // An export no longer exported: its handles are stale.
        assert_eq!(w.getattr(&gone).await, Err(Nfsstat3::Stale));
        assert_eq!(
            w.mount(b"/gone").await.map(|h| h == fh),
            Ok(false),
            "falls under /"
        );

        w.reload(&["/ 10.0.0.2(rw,insecure)"]);
        assert_eq!(w.getattr(&fh).await, Err(Nfsstat3::Acces));
        assert_eq!(w.mount(b"/").await, Err(Mountstat3::Acces));

        w.reload(&rw);
        assert!(w.create(&root(), &fh, b"again").await.is_ok());
        assert!(w.getattr(&gone).await.is_ok(), "same path, same export id");
    });
}

#[test]
fn export_and_dump_report_the_rules() {
    block_on(async {
        let mut w = Wire::with_rules(
            new_fs().await,
            &[
                "/ 10.0.0.0/8(rw,no_root_squash,insecure) 192.168.1.7(ro)",
                "/pub *(ro)",
            ],
        )
        .await;
        w.peer = peer("10.0.0.1:700");
        let fh = w.root_fh().await;
        w.mkdir(&root(), &fh, b"pub", 0o755).await.unwrap();
        w.mount(b"/pub").await.unwrap();
        let st = w
            .rpc(MOUNT_PROGRAM, MOUNT_V3, 5, &root(), &MountCall::Export)
            .await;
        let ReplyStatus::Success(b) = st else {
            panic!("{st:?}")
        };
        let MountReply::Export(list) = MountReply::decode(5, &b).unwrap() else {
            panic!()
        };
        let got: Vec<(String, Vec<String>)> = list
            .iter()
            .map(|e| {
                (
                    String::from_utf8_lossy(e.dir).into_owned(),
                    e.groups
                        .iter()
                        .map(|g| String::from_utf8_lossy(g).into_owned())
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "/".to_string(),
                    vec!["10.0.0.0/8".to_string(), "192.168.1.7".into()]
                ),
                ("/pub".to_string(), vec!["*".to_string()]),
            ]
        );
        let st = w
            .rpc(MOUNT_PROGRAM, MOUNT_V3, 2, &root(), &MountCall::Dump)
            .await;
        let ReplyStatus::Success(b) = st else {
            panic!("{st:?}")
        };
        let MountReply::Dump(list) = MountReply::decode(2, &b).unwrap() else {
            panic!()
        };
        let dirs: Vec<&[u8]> = list.iter().map(|m| m.directory).collect();
        assert_eq!(dirs, [&b"/"[..], b"/pub"]);
        assert!(list.iter().all(|m| m.hostname == b"10.0.0.1"));
    });
}

/// The probe: 64 files in a 0700 directory of root's; uid 1000 holding one file's
/// handle alters it one byte at a time, every value of every byte, and asks GETATTR: it gets
/// BADHANDLE or STALE and nothing else.
#[test]
fn every_one_byte_change_of_a_handle_is_rejected() {
    block_on(async {
        let mut w = Wire::new().await;
        let fh = w.root_fh().await;
        let private = w.mkdir(&root(), &fh, b"private", 0o700).await.unwrap();
        let mut files = Vec::new();
        for i in 0..64 {
            files.push(
                w.create(&root(), &private, format!("f{i}").as_bytes())
                    .await
                    .unwrap(),
            );
        }
        let user = sys(1000, 1000);
        // The user cannot look inside, but a handle it holds works for GETATTR (as on Linux).
        assert_eq!(w.lookup(&user, &private, b"f1").await, Err(Nfsstat3::Acces));
        let held = files[7].clone();
        assert_eq!(held.len(), HANDLE_LEN);
        assert!(w.getattr_as(&user, &held).await.is_ok());
        let mut tried = 0;
        for at in 0..held.len() {
            for delta in 1..=255u8 {
                let mut forged = held.clone();
                forged[at] = forged[at].wrapping_add(delta);
                match w.getattr_as(&user, &forged).await {
                    Err(Nfsstat3::Badhandle | Nfsstat3::Stale) => {}
                    other => panic!("byte {at} + {delta}: {other:?}"),
                }
                tried += 1;
            }
        }
        assert_eq!(tried, HANDLE_LEN * 255);
        // Shorter, longer and empty handles too.
        for len in [0, 4, 28, HANDLE_LEN - 4, HANDLE_LEN + 4, 64] {
            let mut b = held.clone();
            b.resize(len, 0);
            assert_eq!(
                w.getattr_as(&user, &b).await,
                Err(Nfsstat3::Badhandle),
                "{len}"
            );
        }
    });
}

/// Handles of the unauthenticated 28-byte layout (before format 3) are STALE: a client that
/// held them remounts.
#[test]
fn old_unauthenticated_handles_are_stale() {
    block_on(async {
        let fs = new_fs().await;
        let mut old = vec![1u8, 0, 0, 0];
        old.extend_from_slice(&fs.fsid().to_be_bytes());
        old.extend_from_slice(&1u64.to_be_bytes());
        old.extend_from_slice(&fs.root_object().await.unwrap().generation.to_be_bytes());
        assert_eq!(old.len(), 28);
        let mut w = Wire::serving(fs).await;
        assert_eq!(w.getattr(&old).await, Err(Nfsstat3::Stale));
    });
}

#[test]
fn handles_survive_a_restart_and_never_revive_a_removed_file() {
    let dir = tempfile::tempdir().unwrap();
    let (root_fh, file, gone) = block_on(async {
        let fs = open_file_fs(dir.path()).await;
        let mut w = Wire::serving(fs.clone()).await;
        let fh = w.root_fh().await;
        let file = w.create(&root(), &fh, b"kept").await.unwrap();
        let gone = w.create(&root(), &fh, b"f").await.unwrap();
        let st = w
            .nfs_status(
                &root(),
                Nfs3Call::Remove(Remove3Args {
                    object: dirop(&fh, b"f"),
                }),
            )
            .await;
        assert_eq!(st, Nfsstat3::Ok);
        fs.close().await.unwrap();
        (fh, file, gone)
    });
    block_on(async {
        let fs = open_file_fs(dir.path()).await;
        let mut w = Wire::serving(fs.clone()).await;
        assert_eq!(w.root_fh().await, root_fh, "the same bytes after a restart");
        assert_eq!(w.getattr(&file).await.unwrap().ftype, Ftype3::Reg);
        assert_eq!(w.getattr(&gone).await, Err(Nfsstat3::Stale));
        // The name made again is a new object; the old handle stays stale.
        let again = w.create(&root(), &root_fh, b"f").await.unwrap();
        assert_ne!(again, gone);
        assert_eq!(w.getattr(&gone).await, Err(Nfsstat3::Stale));
        assert!(w.getattr(&again).await.is_ok());
        fs.close().await.unwrap();
    });
}

/// A call that panics leaves no duplicate-request cache entry behind: its retransmission runs
/// again (and is not dropped as "in progress" forever). The runtime catches the panic (see
/// tests/server_limits.rs); here the test catches it.
#[test]
fn a_panicking_call_releases_its_duplicate_request_cache_entry() {
    block_on(async {
        let mut w = Wire::new().await;
        w.service = w.service.panic_on_name(Some(b"boom".to_vec()));
        let fh = w.root_fh().await;
        let create = Nfs3Call::Create(Create3Args {
            where_: dirop(&fh, b"boom"),
            how: Createhow3::Guarded(Sattr3::default()),
        });
        w.client
            .send_call(NFS_PROGRAM, NFS_V3, proc3::CREATE, &root(), &create)
            .unwrap();
        let request = common::client_output(&mut w.client);
        for attempt in 0..2 {
            w.server.handle_input(&request).unwrap();
            let call = w.server.poll_call().expect("the CREATE");
            let outcome = AssertUnwindSafe(w.service.handle(&w.data, call, w.peer))
                .catch_unwind()
                .await;
            assert!(
                outcome.is_err(),
                "attempt {attempt}: ran (and panicked) instead of {:?}",
                outcome.as_ref().ok()
            );
        }
        // A call whose entry was left in progress would come back as Drop.
        w.server.handle_input(&request).unwrap();
        let call = w.server.poll_call().unwrap();
        w.service = w.service.panic_on_name(None);
        let reply = w.service.handle(&w.data, call, w.peer).await;
        assert!(matches!(reply, CallReply::Results(_)), "{reply:?}");
    });
}
