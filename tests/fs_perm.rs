//! Permission semantics (AUTH_SYS) as non-root users.

mod common;

use bytes::Bytes;
use common::fs::{assert_clean, new_fs, root};
use slatenfs::fs::*;

const ALICE: u32 = 1000;
const BOB: u32 = 1001;
const STAFF: u32 = 50;

fn alice() -> Credentials {
    Credentials::with_groups(ALICE, ALICE, &[STAFF])
}
fn bob() -> Credentials {
    Credentials::new(BOB, BOB)
}

fn mode(m: u32) -> SetAttr {
    SetAttr {
        mode: Some(m),
        ..Default::default()
    }
}

/// A world-writable (optionally sticky) directory owned by root.
async fn shared_dir(fs: &Fs, name: &str, m: u32) -> InodeId {
    fs.mkdir(&root(), fs.root(), name.as_bytes(), &mode(m))
        .await
        .unwrap()
        .ino
}

async fn create_as(fs: &Fs, cred: &Credentials, dir: InodeId, name: &str, m: u32) -> InodeId {
    fs.create(cred, dir, name.as_bytes(), &CreateHow::Guarded(mode(m)))
        .await
        .unwrap()
        .ino
}

#[tokio::test]
async fn root_dir_is_not_writable_by_users() {
    let fs = new_fs().await;
    let g = CreateHow::Guarded(SetAttr::default());
    assert!(matches!(
        fs.create(&alice(), fs.root(), b"x", &g).await,
        Err(FsError::Access)
    ));
    assert!(matches!(
        fs.mkdir(&alice(), fs.root(), b"x", &SetAttr::default())
            .await,
        Err(FsError::Access)
    ));
    // Anonymous (AUTH_NONE) callers are mapped to 65534.
    let anon = fs.anonymous();
    assert_eq!((anon.uid, anon.gid), (65534, 65534));
    assert!(matches!(
        fs.create(&anon, fs.root(), b"x", &g).await,
        Err(FsError::Access)
    ));
    // But they may look around.
    assert!(fs
        .readdir(&anon, fs.root(), 0, [0; 8], 10, false)
        .await
        .is_ok());
}

#[tokio::test]
async fn ownership_and_modes_of_new_objects() {
    let fs = new_fs().await;
    let d = shared_dir(&fs, "pub", 0o777).await;
    let c = fs
        .create(&alice(), d, b"a", &CreateHow::Guarded(mode(0o640)))
        .await
        .unwrap();
    assert_eq!((c.attr.uid, c.attr.gid, c.attr.mode), (ALICE, ALICE, 0o640));
    // setgid directory: new entries inherit its group; new subdirectories inherit the bit.
    let sg = fs
        .mkdir(&root(), fs.root(), b"sg", &mode(0o2777))
        .await
        .unwrap()
        .ino;
    fs.setattr(
        &root(),
        sg,
        &SetAttr {
            gid: Some(STAFF),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    let f = fs
        .create(&bob(), sg, b"f", &CreateHow::Guarded(mode(0o644)))
        .await
        .unwrap();
    assert_eq!(f.attr.gid, STAFF);
    let sub = fs.mkdir(&bob(), sg, b"sub", &mode(0o755)).await.unwrap();
    assert_eq!(sub.attr.gid, STAFF);
    assert_eq!(sub.attr.mode & 0o2000, 0o2000);
}

#[tokio::test]
async fn read_write_bits_and_owner_override() {
    let fs = new_fs().await;
    let d = shared_dir(&fs, "pub", 0o777).await;
    let f = create_as(&fs, &alice(), d, "f", 0o644).await;
    let data = Bytes::from_static(b"abc");
    fs.write(&alice(), f, 0, data.clone(), StableHow::Unstable)
        .await
        .unwrap();
    // Others may read (r--), not write.
    assert!(fs.read(&bob(), f, 0, 3).await.is_ok());
    assert!(matches!(
        fs.write(&bob(), f, 0, data.clone(), StableHow::Unstable)
            .await,
        Err(FsError::Access)
    ));
    // Owner override: the owner may write a 0444 file and read a 0000 file (git does this).
    fs.setattr(&alice(), f, &mode(0o444), None).await.unwrap();
    fs.write(&alice(), f, 0, data.clone(), StableHow::Unstable)
        .await
        .unwrap();
    fs.setattr(
        &alice(),
        f,
        &SetAttr {
            size: Some(1),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    fs.setattr(&alice(), f, &mode(0o000), None).await.unwrap();
    assert!(fs.read(&alice(), f, 0, 3).await.is_ok());
    assert!(matches!(
        fs.read(&bob(), f, 0, 3).await,
        Err(FsError::Access)
    ));
    // Root reads and writes anything.
    assert!(fs.read(&root(), f, 0, 3).await.is_ok());
    assert!(fs
        .write(&root(), f, 0, data.clone(), StableHow::Unstable)
        .await
        .is_ok());
    // Group bits via supplementary groups.
    let g = create_as(&fs, &root(), d, "g", 0o060).await;
    fs.setattr(
        &root(),
        g,
        &SetAttr {
            gid: Some(STAFF),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    assert!(fs
        .write(&alice(), g, 0, data.clone(), StableHow::Unstable)
        .await
        .is_ok());
    assert!(matches!(
        fs.write(&bob(), g, 0, data, StableHow::Unstable).await,
        Err(FsError::Access)
    ));
}

#[tokio::test]
async fn search_permission_for_lookup() {
    let fs = new_fs().await;
    let d = shared_dir(&fs, "private", 0o700).await;
    create_as(&fs, &root(), d, "secret", 0o644).await;
    assert!(matches!(
        fs.lookup(&alice(), d, b"secret").await,
        Err(FsError::Access)
    ));
    assert!(matches!(
        fs.readdir(&alice(), d, 0, [0; 8], 10, false).await,
        Err(FsError::Access)
    ));
    fs.setattr(&root(), d, &mode(0o711), None).await.unwrap();
    assert!(fs.lookup(&alice(), d, b"secret").await.is_ok());
    assert!(matches!(
        fs.readdir(&alice(), d, 0, [0; 8], 10, false).await,
        Err(FsError::Access)
    ));
    // Writable but not searchable: no create.
    fs.setattr(&root(), d, &mode(0o766), None).await.unwrap();
    assert!(matches!(
        fs.create(&alice(), d, b"n", &CreateHow::Guarded(SetAttr::default()))
            .await,
        Err(FsError::Access)
    ));
}

#[tokio::test]
async fn sticky_directory() {
    let fs = new_fs().await;
    let tmp = shared_dir(&fs, "tmp", 0o1777).await;
    create_as(&fs, &alice(), tmp, "a", 0o666).await;
    create_as(&fs, &bob(), tmp, "b", 0o666).await;
    // Bob cannot remove or rename Alice's file, even though the dir is world-writable.
    assert!(matches!(
        fs.remove(&bob(), tmp, b"a").await,
        Err(FsError::Access)
    ));
    assert!(matches!(
        fs.rename(&bob(), tmp, b"a", tmp, b"c").await,
        Err(FsError::Access)
    ));
    // ...nor replace it by renaming over it.
    assert!(matches!(
        fs.rename(&bob(), tmp, b"b", tmp, b"a").await,
        Err(FsError::Access)
    ));
    fs.rename(&bob(), tmp, b"b", tmp, b"b2").await.unwrap();
    fs.remove(&bob(), tmp, b"b2").await.unwrap();
    fs.remove(&alice(), tmp, b"a").await.unwrap();
    // Root may remove anything; so may the directory owner.
    create_as(&fs, &alice(), tmp, "a", 0o666).await;
    fs.remove(&root(), tmp, b"a").await.unwrap();
    // Without the sticky bit anyone with write permission may.
    let open = shared_dir(&fs, "open", 0o777).await;
    create_as(&fs, &alice(), open, "a", 0o600).await;
    fs.remove(&bob(), open, b"a").await.unwrap();
    assert_clean(&fs).await;
}

#[tokio::test]
async fn chmod_chown_chgrp_rules() {
    let fs = new_fs().await;
    let d = shared_dir(&fs, "pub", 0o777).await;
    let f = create_as(&fs, &alice(), d, "f", 0o644).await;
    // Only owner or root may chmod.
    assert!(matches!(
        fs.setattr(&bob(), f, &mode(0o777), None).await,
        Err(FsError::Perm)
    ));
    fs.setattr(&alice(), f, &mode(0o600), None).await.unwrap();
    // Only root may give a file away.
    let to_bob = SetAttr {
        uid: Some(BOB),
        ..Default::default()
    };
    assert!(matches!(
        fs.setattr(&alice(), f, &to_bob, None).await,
        Err(FsError::Perm)
    ));
    // Setting the uid to the current owner is a no-op, allowed.
    fs.setattr(
        &alice(),
        f,
        &SetAttr {
            uid: Some(ALICE),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    // Owner may chgrp to a group they belong to, not to another one.
    fs.setattr(
        &alice(),
        f,
        &SetAttr {
            gid: Some(STAFF),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    assert!(matches!(
        fs.setattr(
            &alice(),
            f,
            &SetAttr {
                gid: Some(BOB),
                ..Default::default()
            },
            None
        )
        .await,
        Err(FsError::Perm)
    ));
    // Non-owner cannot chgrp even to their own group.
    assert!(matches!(
        fs.setattr(
            &bob(),
            f,
            &SetAttr {
                gid: Some(BOB),
                ..Default::default()
            },
            None
        )
        .await,
        Err(FsError::Perm)
    ));
    // chown by root clears setuid/setgid(+group exec).
    fs.setattr(&alice(), f, &mode(0o6755), None).await.unwrap();
    assert_eq!(fs.getattr(f).await.unwrap().mode, 0o6755);
    fs.setattr(&root(), f, &to_bob, None).await.unwrap();
    let a = fs.getattr(f).await.unwrap();
    assert_eq!(a.uid, BOB);
    assert_eq!(a.mode, 0o755);
    // chmod setgid by a non-member silently drops the bit.
    let g = create_as(&fs, &alice(), d, "g", 0o644).await;
    fs.setattr(
        &root(),
        g,
        &SetAttr {
            gid: Some(BOB),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    fs.setattr(&alice(), g, &mode(0o2755), None).await.unwrap();
    assert_eq!(fs.getattr(g).await.unwrap().mode, 0o755);
}

#[tokio::test]
async fn write_by_non_root_clears_setuid() {
    let fs = new_fs().await;
    let d = shared_dir(&fs, "pub", 0o777).await;
    let f = create_as(&fs, &alice(), d, "f", 0o6777).await;
    assert_eq!(fs.getattr(f).await.unwrap().mode & 0o6000, 0o6000);
    // Root writes keep the bits.
    fs.write(&root(), f, 0, Bytes::from_static(b"x"), StableHow::Unstable)
        .await
        .unwrap();
    assert_eq!(fs.getattr(f).await.unwrap().mode & 0o6000, 0o6000);
    let w = fs
        .write(&bob(), f, 0, Bytes::from_static(b"x"), StableHow::Unstable)
        .await
        .unwrap();
    assert_eq!(w.wcc.after.unwrap().mode, 0o777);
}

#[tokio::test]
async fn times_permissions() {
    let fs = new_fs().await;
    let d = shared_dir(&fs, "pub", 0o777).await;
    let f = create_as(&fs, &alice(), d, "f", 0o666).await;
    let t = Timestamp {
        secs: 12345,
        nanos: 0,
    };
    let explicit = SetAttr {
        mtime: SetTime::ClientTime(t),
        ..Default::default()
    };
    let server = SetAttr {
        mtime: SetTime::ServerTime,
        atime: SetTime::ServerTime,
        ..Default::default()
    };
    // Explicit times: owner or root only.
    assert!(matches!(
        fs.setattr(&bob(), f, &explicit, None).await,
        Err(FsError::Perm)
    ));
    fs.setattr(&alice(), f, &explicit, None).await.unwrap();
    // Server time: anyone with write permission (touch).
    fs.setattr(&bob(), f, &server, None).await.unwrap();
    fs.setattr(&alice(), f, &mode(0o644), None).await.unwrap();
    assert!(matches!(
        fs.setattr(&bob(), f, &server, None).await,
        Err(FsError::Access)
    ));
    // Truncate needs write permission.
    assert!(matches!(
        fs.setattr(
            &bob(),
            f,
            &SetAttr {
                size: Some(0),
                ..Default::default()
            },
            None
        )
        .await,
        Err(FsError::Access)
    ));
}

#[tokio::test]
async fn access_masks() {
    let fs = new_fs().await;
    let all = 0x3f;
    let d = shared_dir(&fs, "d", 0o750).await;
    let (g, _) = fs.access(&alice(), d, all).await.unwrap();
    assert_eq!(g, 0);
    let (g, _) = fs.access(&root(), d, all).await.unwrap();
    assert_eq!(
        g,
        access::READ | access::LOOKUP | access::MODIFY | access::EXTEND | access::DELETE
    );
    let f = create_as(&fs, &root(), d, "f", 0o754).await;
    let (g, _) = fs.access(&root(), f, all).await.unwrap();
    assert_eq!(
        g,
        access::READ | access::MODIFY | access::EXTEND | access::EXECUTE
    );
    let (g, _) = fs.access(&bob(), f, all).await.unwrap();
    assert_eq!(g, access::READ);
    let (g, _) = fs.access(&bob(), f, access::READ).await.unwrap();
    assert_eq!(g, access::READ);
    // Root needs some x bit to execute.
    let n = create_as(&fs, &root(), d, "n", 0o644).await;
    let (g, _) = fs.access(&root(), n, access::EXECUTE).await.unwrap();
    assert_eq!(g, 0);
}

#[tokio::test]
async fn rename_directory_needs_write_on_it() {
    let fs = new_fs().await;
    let a = shared_dir(&fs, "a", 0o777).await;
    let b = shared_dir(&fs, "b", 0o777).await;
    fs.mkdir(&root(), a, b"rootdir", &mode(0o755))
        .await
        .unwrap();
    // Moving a directory to another parent rewrites its "..": needs write on it.
    assert!(matches!(
        fs.rename(&alice(), a, b"rootdir", b, b"x").await,
        Err(FsError::Access)
    ));
    // Renaming within the same parent does not.
    fs.rename(&alice(), a, b"rootdir", a, b"renamed")
        .await
        .unwrap();
    assert_clean(&fs).await;
}

/// Regression (posix_suite over the kernel client): an existing name answers EEXIST even where
/// the caller may not write, as local filesystems and Linux's nfsd do; without search
/// permission it is still EACCES. Opening an existing file needs no directory write permission.
#[tokio::test]
async fn existing_name_wins_over_missing_write_permission() {
    let fs = new_fs().await;
    let ro = shared_dir(&fs, "ro", 0o755).await;
    fs.mkdir(&root(), ro, b"sub", &SetAttr::default())
        .await
        .unwrap();
    let f = create_as(&fs, &root(), ro, "f", 0o666).await;
    assert!(matches!(
        fs.mkdir(&alice(), ro, b"sub", &SetAttr::default()).await,
        Err(FsError::Exist)
    ));
    assert!(matches!(
        fs.symlink(&alice(), ro, b"f", b"t", &SetAttr::default())
            .await,
        Err(FsError::Exist)
    ));
    assert!(matches!(
        fs.create(&alice(), ro, b"f", &CreateHow::Guarded(SetAttr::default()))
            .await,
        Err(FsError::Exist)
    ));
    // UNCHECKED on an existing file opens it (no entry is added).
    let open = fs
        .create(
            &alice(),
            ro,
            b"f",
            &CreateHow::Unchecked(SetAttr::default()),
        )
        .await
        .unwrap();
    assert_eq!(open.ino, f);
    // A new name still needs write permission.
    assert!(matches!(
        fs.mkdir(&alice(), ro, b"new", &SetAttr::default()).await,
        Err(FsError::Access)
    ));
    // No search permission: EACCES even for an existing name.
    let closed = shared_dir(&fs, "closed", 0o700).await;
    fs.mkdir(&root(), closed, b"sub", &SetAttr::default())
        .await
        .unwrap();
    assert!(matches!(
        fs.mkdir(&alice(), closed, b"sub", &SetAttr::default())
            .await,
        Err(FsError::Access)
    ));
}

/// chown/chgrp as Linux's `chown_ok` / `chgrp_ok` (fs/attr.c) decide, for every caller
/// (root, the owner, a member of the file's group, anyone else), every target uid (none, the
/// file's, the caller's own, another) and every target gid (none, the file's, the caller's
/// primary group, another). The expected table is written out, not computed.
#[tokio::test]
async fn chown_follows_linux_for_every_caller_and_target() {
    const CAROL: u32 = 1002;
    const OTHER_UID: u32 = 4242;
    const OTHER_GID: u32 = 4343;
    let fs = new_fs().await;
    let d = shared_dir(&fs, "pub", 0o777).await;
    let f = create_as(&fs, &alice(), d, "f", 0o644).await;
    let reset = SetAttr {
        uid: Some(ALICE),
        gid: Some(STAFF),
        ..Default::default()
    };
    let carol = Credentials::with_groups(CAROL, CAROL, &[STAFF]);
    // Rows: target uid none, the file's (ALICE), the caller's own, another.
    // Columns: target gid none, the file's (STAFF), the caller's primary gid, another.
    // 'o': allowed, 'x': EPERM.
    let cases: [(&str, Credentials, [&str; 4]); 4] = [
        ("root", root(), ["oooo", "oooo", "oooo", "oooo"]),
        ("owner", alice(), ["ooox", "ooox", "ooox", "xxxx"]),
        ("group member", carol, ["oxxx", "xxxx", "xxxx", "xxxx"]),
        ("other", bob(), ["oxxx", "xxxx", "xxxx", "xxxx"]),
    ];
    let mut checked = 0;
    for (who, cred, grid) in cases {
        let uids = [None, Some(ALICE), Some(cred.uid), Some(OTHER_UID)];
        let gids = [None, Some(STAFF), Some(cred.gid), Some(OTHER_GID)];
        for (row, uid) in grid.iter().zip(uids) {
            for (want, gid) in row.chars().zip(gids) {
                fs.setattr(&root(), f, &reset, None).await.unwrap();
                let sa = SetAttr {
                    uid,
                    gid,
                    ..Default::default()
                };
                let got = fs.setattr(&cred, f, &sa, None).await;
                let a = fs.getattr(f).await.unwrap();
                let case = format!("{who} sets uid {uid:?} gid {gid:?}");
                match want {
                    'o' => {
                        assert!(got.is_ok(), "{case}: {got:?}");
                        assert_eq!(
                            (a.uid, a.gid),
                            (uid.unwrap_or(ALICE), gid.unwrap_or(STAFF)),
                            "{case}"
                        );
                    }
                    _ => {
                        assert!(matches!(got, Err(FsError::Perm)), "{case}: {got:?}");
                        assert_eq!((a.uid, a.gid), (ALICE, STAFF), "{case}: changed anyway");
                    }
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 64);
    assert_clean(&fs).await;
}

/// COMMIT opens the file for writing, as Linux's nfsd does: the caller must be allowed to
/// write it (the owner may, whatever the mode), and it must be a regular file.
#[tokio::test]
async fn commit_needs_write_permission() {
    let fs = new_fs().await;
    let d = shared_dir(&fs, "pub", 0o777).await;
    let f = create_as(&fs, &alice(), d, "f", 0o644).await;
    let ro = create_as(&fs, &alice(), d, "ro", 0o444).await;
    assert!(matches!(
        fs.commit(&bob(), f, 0, 0).await,
        Err(FsError::Access)
    ));
    fs.commit(&alice(), f, 0, 0).await.unwrap();
    fs.commit(&alice(), ro, 0, 0).await.unwrap();
    fs.commit(&root(), ro, 0, 0).await.unwrap();
    let writable = create_as(&fs, &alice(), d, "w", 0o666).await;
    fs.commit(&bob(), writable, 0, 0).await.unwrap();
    assert!(matches!(
        fs.commit(&root(), d, 0, 0).await,
        Err(FsError::IsDir)
    ));
}
