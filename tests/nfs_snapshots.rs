//! Snapshots: `.snapshot` browsing over the wire (the NFS service on real SlateDB, calls
//! through the real protocol engines), read-only everywhere in it, handles that survive a
//! restart and go STALE with their snapshot; and a snapshot's data kept whole while the live
//! filesystem is overwritten, deleted and compacted under it.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::fs::{assert_clean, mkfile};
use common::wire::{root, Wire};
use common::XorShift;
use futures::executor::block_on;
use slatenfs::fs::{Credentials, Fs, FsOptions, StableHow};
use slatenfs::nfs::views::SNAPSHOT_DIR_FILEID;
use slatenfs::proto::mount::Mountstat3;
use slatenfs::proto::nfs3::*;
use slatenfs::snapshot::{SnapshotCatalog, SnapshotKind, SnapshotName};
use slatenfs::store::{StorageUrl, Store, StoreConfig};

fn name(n: &str) -> SnapshotName {
    SnapshotName::parse(n).unwrap()
}

fn dirop<'a>(dir: &'a [u8], name: &'a [u8]) -> Diropargs3<'a> {
    Diropargs3 {
        dir: NfsFh3(dir),
        name,
    }
}

async fn write(w: &mut Wire, fh: &[u8], offset: u64, data: &[u8]) -> Nfsstat3 {
    w.nfs_status(
        &root(),
        Nfs3Call::Write(Write3Args {
            file: NfsFh3(fh),
            offset,
            count: data.len() as u32,
            stable: slatenfs::proto::nfs3::StableHow::Unstable,
            data,
        }),
    )
    .await
}

async fn read_all(w: &mut Wire, fh: &[u8]) -> Result<Vec<u8>, Nfsstat3> {
    let b = w
        .nfs(
            &root(),
            Nfs3Call::Read(Read3Args {
                file: NfsFh3(fh),
                offset: 0,
                count: 1 << 20,
            }),
        )
        .await;
    match Nfs3Reply::decode(proc3::READ, &b).unwrap() {
        Nfs3Reply::Read(Nfs3Res::Ok(ok)) => {
            assert!(ok.eof, "a test file fits one READ");
            Ok(ok.data.to_vec())
        }
        Nfs3Reply::Read(Nfs3Res::Fail(s, _)) => Err(s),
        other => panic!("{other:?}"),
    }
}

async fn names(w: &mut Wire, dir: &[u8]) -> Vec<String> {
    let b = w
        .nfs(
            &root(),
            Nfs3Call::Readdir(Readdir3Args {
                dir: NfsFh3(dir),
                cookie: 0,
                cookieverf: [0; 8],
                count: 8192,
            }),
        )
        .await;
    match Nfs3Reply::decode(proc3::READDIR, &b).unwrap() {
        Nfs3Reply::Readdir(Nfs3Res::Ok(ok)) => {
            assert!(ok.reply.eof);
            let mut v: Vec<String> = ok
                .reply
                .entries
                .iter()
                .map(|e| String::from_utf8_lossy(e.name).into_owned())
                .collect();
            v.sort();
            v
        }
        other => panic!("{other:?}"),
    }
}

/// Every changing procedure on `fh` (a directory) and `file` (a file in it).
async fn every_change_is_refused(w: &mut Wire, dir: &[u8], file: &[u8], want: Nfsstat3) {
    let sattr = Sattr3 {
        mode: Some(0o600),
        ..Default::default()
    };
    let calls: Vec<(&str, Nfs3Call<'_>)> = vec![
        (
            "SETATTR",
            Nfs3Call::Setattr(Setattr3Args {
                object: NfsFh3(file),
                new_attributes: sattr,
                guard: None,
            }),
        ),
        (
            "WRITE",
            Nfs3Call::Write(Write3Args {
                file: NfsFh3(file),
                offset: 0,
                count: 1,
                stable: slatenfs::proto::nfs3::StableHow::FileSync,
                data: b"x",
            }),
        ),
        (
            "CREATE",
            Nfs3Call::Create(Create3Args {
                where_: dirop(dir, b"new"),
                how: Createhow3::Unchecked(Sattr3::default()),
            }),
        ),
        (
            "MKDIR",
            Nfs3Call::Mkdir(Mkdir3Args {
                where_: dirop(dir, b"newdir"),
                attributes: Sattr3::default(),
            }),
        ),
        (
            "SYMLINK",
            Nfs3Call::Symlink(Symlink3Args {
                where_: dirop(dir, b"ln"),
                symlink: Symlinkdata3 {
                    symlink_attributes: Sattr3::default(),
                    symlink_data: b"target",
                },
            }),
        ),
        (
            "MKNOD",
            Nfs3Call::Mknod(Mknod3Args {
                where_: dirop(dir, b"fifo"),
                what: Mknoddata3::Fifo(Sattr3::default()),
            }),
        ),
        (
            "REMOVE",
            Nfs3Call::Remove(Remove3Args {
                object: dirop(dir, b"a"),
            }),
        ),
        (
            "RMDIR",
            Nfs3Call::Rmdir(Rmdir3Args {
                object: dirop(dir, b"d"),
            }),
        ),
        (
            "RENAME",
            Nfs3Call::Rename(Rename3Args {
                from: dirop(dir, b"a"),
                to: dirop(dir, b"z"),
            }),
        ),
        (
            "LINK",
            Nfs3Call::Link(Link3Args {
                file: NfsFh3(file),
                link: dirop(dir, b"hard"),
            }),
        ),
        (
            "COMMIT",
            Nfs3Call::Commit(Commit3Args {
                file: NfsFh3(file),
                offset: 0,
                count: 0,
            }),
        ),
    ];
    for (what, call) in calls {
        assert_eq!(w.nfs_status(&root(), call).await, want, "{what}");
    }
}

#[test]
fn snapshot_directory_browsing_and_read_only_views() {
    block_on(async {
        let mut w = Wire::new().await;
        let root_fh = w.root_fh().await;
        let a = w.create(&root(), &root_fh, b"a").await.unwrap();
        assert_eq!(write(&mut w, &a, 0, b"old contents").await, Nfsstat3::Ok);
        let d = w.mkdir(&root(), &root_fh, b"d", 0o755).await.unwrap();
        let b = w.create(&root(), &d, b"b").await.unwrap();
        assert_eq!(write(&mut w, &b, 0, b"bee").await, Nfsstat3::Ok);

        // Taken with the UNSTABLE writes above not committed: they are in it.
        let views = w.service.views().clone();
        let s1 = views
            .catalog()
            .create(&name("s1"), SnapshotKind::Manual)
            .await
            .unwrap();
        views.refresh().await.unwrap();

        // The live filesystem moves on.
        assert_eq!(write(&mut w, &a, 0, b"NEW").await, Nfsstat3::Ok);
        assert_eq!(
            w.nfs_status(
                &root(),
                Nfs3Call::Remove(Remove3Args {
                    object: dirop(&d, b"b")
                })
            )
            .await,
            Nfsstat3::Ok
        );
        w.create(&root(), &root_fh, b"c").await.unwrap();

        // `.snapshot`: found by name, not listed, read-only, root's filesystem.
        assert_eq!(names(&mut w, &root_fh).await, [".", "..", "a", "c", "d"]);
        let snapdir = w.lookup(&root(), &root_fh, b".snapshot").await.unwrap();
        let live_fsid = w.getattr(&root_fh).await.unwrap().fsid;
        let sd = w.getattr(&snapdir).await.unwrap();
        assert_eq!(
            (sd.ftype, sd.mode, sd.fileid, sd.fsid),
            (Ftype3::Dir, 0o555, SNAPSHOT_DIR_FILEID, live_fsid)
        );
        assert_eq!(names(&mut w, &snapdir).await, [".", "..", "s1"]);

        // The snapshot: its own filesystem, the old contents.
        let s1_root = w.lookup(&root(), &snapdir, b"s1").await.unwrap();
        let s1_attr = w.getattr(&s1_root).await.unwrap();
        assert_ne!(s1_attr.fsid, live_fsid);
        assert_eq!(names(&mut w, &s1_root).await, [".", "..", "a", "d"]);
        let old_a = w.lookup(&root(), &s1_root, b"a").await.unwrap();
        assert_eq!(read_all(&mut w, &old_a).await.unwrap(), b"old contents");
        assert_eq!(read_all(&mut w, &a).await.unwrap(), b"NEW contents");
        let old_d = w.lookup(&root(), &s1_root, b"d").await.unwrap();
        let old_b = w.lookup(&root(), &old_d, b"b").await.unwrap();
        assert_eq!(read_all(&mut w, &old_b).await.unwrap(), b"bee");
        assert_eq!(
            w.lookup(&root(), &s1_root, b"c").await,
            Err(Nfsstat3::Noent)
        );
        assert_eq!(w.getattr(&old_a).await.unwrap().fsid, s1_attr.fsid);

        // Up and out again.
        assert_eq!(w.lookup(&root(), &s1_root, b"..").await.unwrap(), snapdir);
        assert_eq!(w.lookup(&root(), &snapdir, b"..").await.unwrap(), root_fh);
        assert_eq!(w.lookup(&root(), &snapdir, b".").await.unwrap(), snapdir);

        // Nothing changes in a snapshot or in `.snapshot`.
        every_change_is_refused(&mut w, &s1_root, &old_a, Nfsstat3::Rofs).await;
        every_change_is_refused(&mut w, &snapdir, &snapdir, Nfsstat3::Rofs).await;
        let b = w
            .nfs(
                &root(),
                Nfs3Call::Access(Access3Args {
                    object: NfsFh3(&old_a),
                    access: 0x3f,
                }),
            )
            .await;
        match Nfs3Reply::decode(proc3::ACCESS, &b).unwrap() {
            Nfs3Reply::Access(Nfs3Res::Ok(ok)) => assert_eq!(ok.access & 0x1c, 0),
            other => panic!("{other:?}"),
        }
        // A live handle and a snapshot handle in one call: different filesystems.
        assert_eq!(
            w.nfs_status(
                &root(),
                Nfs3Call::Link(Link3Args {
                    file: NfsFh3(&a),
                    link: dirop(&s1_root, b"x"),
                })
            )
            .await,
            Nfsstat3::Xdev
        );
        // The name is taken in the live root.
        assert_eq!(
            w.create(&root(), &root_fh, b".snapshot").await,
            Err(Nfsstat3::Exist)
        );
        assert_eq!(
            w.mkdir(&root(), &root_fh, b".snapshot", 0o755).await,
            Err(Nfsstat3::Exist)
        );
        // ... but only there.
        w.mkdir(&root(), &d, b".snapshot", 0o755).await.unwrap();

        // Mounted directly.
        assert_eq!(w.mount(b"/.snapshot/s1").await.unwrap(), s1_root);
        assert_eq!(w.mount(b"/.snapshot/s1/d").await.unwrap(), old_d);
        assert_eq!(w.mount(b"/.snapshot").await.unwrap(), snapdir);
        assert_eq!(w.mount(b"/.snapshot/nope").await, Err(Mountstat3::Noent));

        // Deleted: its handles are stale, its name is gone.
        let deleted = views.catalog().delete("s1").await.unwrap();
        assert_eq!(deleted.id, s1.id);
        views.refresh().await.unwrap();
        assert_eq!(w.getattr(&old_a).await, Err(Nfsstat3::Stale));
        assert_eq!(read_all(&mut w, &old_b).await, Err(Nfsstat3::Stale));
        assert_eq!(
            w.lookup(&root(), &snapdir, b"s1").await,
            Err(Nfsstat3::Noent)
        );
        assert_eq!(names(&mut w, &snapdir).await, [".", ".."]);
        assert_clean(w.service.fs()).await;
    });
}

#[test]
fn names_are_unique_and_checked() {
    block_on(async {
        let w = Wire::new().await;
        let catalog = w.service.views().catalog();
        catalog
            .create(&name("x"), SnapshotKind::Manual)
            .await
            .unwrap();
        let dup = catalog
            .create(&name("x"), SnapshotKind::Automatic)
            .await
            .unwrap_err();
        assert!(dup.to_string().contains("already exists"), "{dup}");
        let missing = catalog.delete("nope").await.unwrap_err();
        assert!(
            missing.to_string().contains("no snapshot named nope"),
            "{missing}"
        );
        let list = catalog.list().await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].kind, SnapshotKind::Manual);
    });
}

const FILES: usize = 12;
const FILE_BYTES: usize = 200 * 1024;

fn contents(seed: u64) -> Bytes {
    let mut rng = XorShift(seed | 1);
    (0..FILE_BYTES).map(|_| rng.next() as u8).collect()
}

fn store_config(dir: &std::path::Path) -> StoreConfig {
    StoreConfig {
        // Small tables, so that a few MiB of writes make many of them and compaction runs.
        l0_sst_size_bytes: 256 * 1024,
        ..StoreConfig::new(StorageUrl::File(dir.to_path_buf()))
    }
}

async fn open(dir: &std::path::Path) -> Fs {
    let store = Store::open(store_config(dir)).await.unwrap();
    Fs::open(store, FsOptions::default()).await.unwrap()
}

async fn read_file(fs: &Fs, name: &str) -> Vec<u8> {
    let cred = Credentials::root();
    let found = fs.lookup(&cred, fs.root(), name.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    while out.len() < found.attr.size as usize {
        let r = fs
            .read(&cred, found.ino, out.len() as u64, 1 << 20)
            .await
            .unwrap();
        out.extend_from_slice(&r.data);
        if r.eof {
            break;
        }
    }
    out
}

/// A snapshot keeps what it shows while the live files are overwritten and deleted, the
/// tables that held them are compacted away from the live state, and the server restarts.
#[test]
fn a_snapshot_survives_overwrites_deletes_compaction_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let fs = open(dir.path()).await;
        let cred = Credentials::root();
        for i in 0..FILES {
            let ino = mkfile(&fs, fs.root(), &format!("f{i}")).await;
            fs.write(&cred, ino, 0, contents(i as u64), StableHow::Unstable)
                .await
                .unwrap();
        }
        let catalog = SnapshotCatalog::new(fs.store().clone());
        let snap = catalog
            .create(&name("before"), SnapshotKind::Manual)
            .await
            .unwrap();

        // Overwrite half, delete the rest, then keep writing until compaction has moved the
        // live state off the tables the snapshot holds.
        for i in 0..FILES {
            let n = format!("f{i}");
            if i % 2 == 0 {
                let ino = fs.lookup(&cred, fs.root(), n.as_bytes()).await.unwrap().ino;
                fs.write(
                    &cred,
                    ino,
                    0,
                    contents(1000 + i as u64),
                    StableHow::FileSync,
                )
                .await
                .unwrap();
            } else {
                fs.remove(&cred, fs.root(), n.as_bytes()).await.unwrap();
            }
        }
        // Enough for several small tables (see `store_config`), which the compactor merges.
        for round in 0..4u64 {
            let ino = mkfile(&fs, fs.root(), &format!("filler{round}")).await;
            for part in 0..8u64 {
                fs.write(
                    &cred,
                    ino,
                    part * FILE_BYTES as u64,
                    contents(round * 8 + part + 5000),
                    StableHow::Unstable,
                )
                .await
                .unwrap();
            }
            fs.remove(&cred, fs.root(), format!("filler{round}").as_bytes())
                .await
                .unwrap();
        }
        let started = Instant::now();
        loop {
            let exclusive = catalog
                .exclusive_bytes(std::slice::from_ref(&snap))
                .await
                .unwrap()[0];
            if exclusive > 0 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "no table became the snapshot's alone within 2 minutes (no compaction?)"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        fs.close().await.unwrap();

        // Restarted: the snapshot is listed and reads back byte for byte.
        let fs = open(dir.path()).await;
        let catalog = SnapshotCatalog::new(fs.store().clone());
        let listed = catalog.find("before").await.unwrap();
        assert_eq!((listed.id, listed.view), (snap.id, snap.view));
        let old = Fs::open(
            fs.store().open_checkpoint(snap.id).await.unwrap(),
            FsOptions::default(),
        )
        .await
        .unwrap();
        for i in 0..FILES {
            assert_eq!(
                read_file(&old, &format!("f{i}")).await,
                contents(i as u64).to_vec(),
                "f{i} in the snapshot"
            );
        }
        for i in (0..FILES).step_by(2) {
            assert_eq!(
                read_file(&fs, &format!("f{i}")).await,
                contents(1000 + i as u64).to_vec(),
                "f{i} live"
            );
        }
        assert_clean(&old).await;
        assert_clean(&fs).await;
        old.close().await.unwrap();
        fs.close().await.unwrap();
    });
}

/// Handles into a snapshot are the same after a restart of the server.
#[test]
fn snapshot_handles_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (s1_root, file, snapdir) = block_on(async {
        let mut w = Wire::serving(open(dir.path()).await).await;
        let root_fh = w.root_fh().await;
        let f = w.create(&root(), &root_fh, b"f").await.unwrap();
        assert_eq!(write(&mut w, &f, 0, b"kept").await, Nfsstat3::Ok);
        w.service
            .views()
            .catalog()
            .create(&name("s1"), SnapshotKind::Manual)
            .await
            .unwrap();
        let snapdir = w.lookup(&root(), &root_fh, b".snapshot").await.unwrap();
        let s1_root = w.lookup(&root(), &snapdir, b"s1").await.unwrap();
        let file = w.lookup(&root(), &s1_root, b"f").await.unwrap();
        w.service.views().close().await;
        w.service.fs().close().await.unwrap();
        (s1_root, file, snapdir)
    });
    block_on(async {
        let mut w = Wire::serving(open(dir.path()).await).await;
        assert_eq!(read_all(&mut w, &file).await.unwrap(), b"kept");
        assert_eq!(names(&mut w, &s1_root).await, [".", "..", "f"]);
        assert_eq!(names(&mut w, &snapdir).await, [".", "..", "s1"]);
        w.service.views().close().await;
        w.service.fs().close().await.unwrap();
    });
}

async fn open_url(url: &StorageUrl) -> Fs {
    let store = Store::open(StoreConfig::new(url.clone())).await.unwrap();
    Fs::open(store, FsOptions::default()).await.unwrap()
}

async fn put_file(fs: &Fs, name: &str, data: Bytes) {
    let cred = Credentials::root();
    let ino = match fs.lookup(&cred, fs.root(), name.as_bytes()).await {
        Ok(found) => found.ino,
        Err(_) => mkfile(fs, fs.root(), name).await,
    };
    fs.write(&cred, ino, 0, data, StableHow::FileSync)
        .await
        .unwrap();
}

/// A clone starts as the snapshot, then goes its own way; the parent's snapshot can go.
#[test]
fn a_clone_is_a_filesystem_of_its_own_that_outlives_the_parent_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let parent_url = StorageUrl::File(dir.path().join("parent"));
    let clone_url = StorageUrl::File(dir.path().join("clone"));
    block_on(async {
        let parent = open_url(&parent_url).await;
        for i in 0..4u64 {
            put_file(&parent, &format!("f{i}"), contents(i)).await;
        }
        let catalog = SnapshotCatalog::new(parent.store().clone());
        let snap = catalog
            .create(&name("base"), SnapshotKind::Manual)
            .await
            .unwrap();
        parent
            .store()
            .clone_checkpoint(snap.id, &parent_url, &clone_url)
            .await
            .unwrap();
        // Not twice into one place, not across back ends.
        let again = parent
            .store()
            .clone_checkpoint(snap.id, &parent_url, &clone_url)
            .await
            .unwrap_err();
        assert!(again.to_string().contains("already holds"), "{again}");
        assert!(parent
            .store()
            .clone_checkpoint(snap.id, &parent_url, &StorageUrl::Memory)
            .await
            .is_err());

        let clone = open_url(&clone_url).await;
        let fsid = clone.assign_new_identity().await.unwrap();
        clone.close().await.unwrap();
        let clone = open_url(&clone_url).await;
        assert_eq!(clone.fsid(), fsid);
        assert_ne!(clone.fsid(), parent.fsid());
        assert_ne!(clone.handle_secret(), parent.handle_secret());

        // Each side changes, and sees only its own changes.
        put_file(&parent, "f0", contents(100)).await;
        put_file(&parent, "parent-only", contents(101)).await;
        put_file(&clone, "f1", contents(200)).await;
        put_file(&clone, "clone-only", contents(201)).await;
        let cred = Credentials::root();
        assert!(clone
            .lookup(&cred, clone.root(), b"parent-only")
            .await
            .is_err());
        assert!(parent
            .lookup(&cred, parent.root(), b"clone-only")
            .await
            .is_err());
        assert_eq!(read_file(&parent, "f1").await, contents(1).to_vec());
        assert_eq!(read_file(&clone, "f0").await, contents(0).to_vec());

        // The snapshot goes; the parent moves on; the clone reads all it had, after a restart.
        catalog.delete("base").await.unwrap();
        for i in 0..4u64 {
            put_file(&parent, &format!("f{i}"), contents(300 + i)).await;
        }
        parent.close().await.unwrap();
        clone.close().await.unwrap();
        let clone = open_url(&clone_url).await;
        assert_eq!(read_file(&clone, "f0").await, contents(0).to_vec());
        assert_eq!(read_file(&clone, "f1").await, contents(200).to_vec());
        for i in 2..4u64 {
            assert_eq!(
                read_file(&clone, &format!("f{i}")).await,
                contents(i).to_vec()
            );
        }
        assert_eq!(
            read_file(&clone, "clone-only").await,
            contents(201).to_vec()
        );
        assert_clean(&clone).await;
        clone.close().await.unwrap();
    });
}
