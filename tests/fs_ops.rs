//! Filesystem operations on real SlateDB (in-memory object store): success and error paths.

mod common;

use bytes::Bytes;
use common::fs::{
    assert_clean, assert_namespace_changes_refused, mkdir, mkfile, new_fs, new_fs_with,
    open_file_fs, root,
};
use slatenfs::fs::*;
use slatenfs::store::keys::{ChunkKey, ChunkKeyLayout};
use slatenfs::store::{StorageUrl, Store, StoreConfig};

/// WRITE as root, which must succeed.
async fn write_at(fs: &Fs, ino: InodeId, off: u64, data: Bytes, how: StableHow) -> WriteOk {
    fs.write(&root(), ino, off, data, how).await.unwrap()
}

async fn names(fs: &Fs, dir: InodeId) -> Vec<String> {
    let r = fs
        .readdir(&root(), dir, 0, [0; 8], 100_000, false)
        .await
        .unwrap();
    assert!(r.eof);
    r.entries
        .iter()
        .map(|e| String::from_utf8_lossy(&e.name).into_owned())
        .collect()
}

#[tokio::test]
async fn root_directory_after_format() {
    let fs = new_fs().await;
    let a = fs.getattr(fs.root()).await.unwrap();
    assert_eq!(a.ftype, FileType::Directory);
    assert_eq!(a.mode, 0o755);
    assert_eq!(a.nlink, 2);
    assert_ne!(a.fileid, 0);
    assert_eq!((a.uid, a.gid), (0, 0));
    assert_eq!(a.fsid, fs.fsid());
    let root_object = fs.root_object().await.unwrap();
    assert_eq!(fs.resolve(root_object).await.unwrap(), fs.root());
    assert_eq!(names(&fs, fs.root()).await, vec![".", ".."]);
    assert_clean(&fs).await;
}

#[tokio::test]
async fn objects_of_other_generations_and_removed_inodes_are_stale() {
    let fs = new_fs().await;
    let c = fs
        .create(
            &root(),
            fs.root(),
            b"f",
            &CreateHow::Guarded(SetAttr::default()),
        )
        .await
        .unwrap();
    assert_eq!(fs.resolve(c.object()).await.unwrap(), c.ino);
    let other_life = ObjectId {
        generation: c.generation.wrapping_add(1),
        ..c.object()
    };
    assert!(matches!(fs.resolve(other_life).await, Err(FsError::Stale)));
    fs.remove(&root(), fs.root(), b"f").await.unwrap();
    assert!(matches!(fs.resolve(c.object()).await, Err(FsError::Stale)));
    // The name made again is another object: the old one stays stale.
    let again = fs
        .create(
            &root(),
            fs.root(),
            b"f",
            &CreateHow::Guarded(SetAttr::default()),
        )
        .await
        .unwrap();
    assert_ne!(again.object(), c.object());
    assert!(matches!(fs.resolve(c.object()).await, Err(FsError::Stale)));
    fs.remove(&root(), fs.root(), b"f").await.unwrap();
    assert!(matches!(fs.getattr(c.ino).await, Err(FsError::Stale)));
    // Writes to a removed inode are Stale and never resurrect chunks.
    let w = fs
        .write(
            &root(),
            c.ino,
            0,
            Bytes::from_static(b"x"),
            StableHow::Unstable,
        )
        .await;
    assert!(matches!(w, Err(FsError::Stale)));
    assert_clean(&fs).await;
}

#[tokio::test]
async fn create_lookup_write_read() {
    let fs = new_fs().await;
    let c = fs
        .create(
            &root(),
            fs.root(),
            b"hello.txt",
            &CreateHow::Guarded(SetAttr::default()),
        )
        .await
        .unwrap();
    assert_eq!(c.attr.ftype, FileType::Regular);
    assert_eq!(c.attr.nlink, 1);
    let dw = c.dir_wcc.clone();
    assert!(dw.after.unwrap().mtime >= dw.before.unwrap().mtime);
    let l = fs.lookup(&root(), fs.root(), b"hello.txt").await.unwrap();
    assert_eq!(l.ino, c.ino);
    assert_eq!(l.object(), c.object());
    let w = fs
        .write(
            &root(),
            c.ino,
            0,
            Bytes::from_static(b"hello world"),
            StableHow::FileSync,
        )
        .await
        .unwrap();
    assert_eq!(w.count, 11);
    assert_eq!(w.committed, StableHow::FileSync);
    assert_eq!(w.verifier, fs.verifier());
    assert_eq!(w.wcc.before.unwrap().size, 0);
    assert_eq!(w.wcc.after.as_ref().unwrap().size, 11);
    let r = fs.read(&root(), c.ino, 0, 100).await.unwrap();
    assert_eq!(&r.data[..], b"hello world");
    assert!(r.eof);
    let r = fs.read(&root(), c.ino, 6, 3).await.unwrap();
    assert_eq!(&r.data[..], b"wor");
    assert!(!r.eof);
    let r = fs.read(&root(), c.ino, 100, 3).await.unwrap();
    assert!(r.data.is_empty() && r.eof);
    // Unstable write is visible at once; commit returns the verifier.
    let w = fs
        .write(
            &root(),
            c.ino,
            0,
            Bytes::from_static(b"J"),
            StableHow::Unstable,
        )
        .await
        .unwrap();
    assert_eq!(w.committed, StableHow::Unstable);
    assert_eq!(
        &fs.read(&root(), c.ino, 0, 5).await.unwrap().data[..],
        b"Jello"
    );
    assert_eq!(
        fs.commit(&root(), c.ino, 0, 0).await.unwrap().verifier,
        fs.verifier()
    );
    // Lookup errors.
    assert!(matches!(
        fs.lookup(&root(), fs.root(), b"nope").await,
        Err(FsError::NoEnt)
    ));
    assert!(matches!(
        fs.lookup(&root(), c.ino, b"x").await,
        Err(FsError::NotDir)
    ));
    assert!(matches!(
        fs.lookup(&root(), fs.root(), &[b'a'; 256]).await,
        Err(FsError::NameTooLong)
    ));
    assert_eq!(
        fs.lookup(&root(), fs.root(), b".").await.unwrap().ino,
        fs.root()
    );
    assert_eq!(
        fs.lookup(&root(), fs.root(), b"..").await.unwrap().ino,
        fs.root()
    );
    // Create errors.
    let g = CreateHow::Guarded(SetAttr::default());
    assert!(matches!(
        fs.create(&root(), fs.root(), b"hello.txt", &g).await,
        Err(FsError::Exist)
    ));
    assert!(matches!(
        fs.create(&root(), fs.root(), b"a/b", &g).await,
        Err(FsError::Inval)
    ));
    assert!(matches!(
        fs.create(&root(), fs.root(), b"a\0b", &g).await,
        Err(FsError::Inval)
    ));
    assert!(matches!(
        fs.create(&root(), fs.root(), b"", &g).await,
        Err(FsError::Inval)
    ));
    assert!(matches!(
        fs.create(&root(), fs.root(), b".", &g).await,
        Err(FsError::Exist)
    ));
    assert!(matches!(
        fs.create(&root(), fs.root(), &[b'x'; 256], &g).await,
        Err(FsError::NameTooLong)
    ));
    assert!(fs
        .create(&root(), fs.root(), &[b'x'; 255], &g)
        .await
        .is_ok());
    assert!(matches!(
        fs.create(&root(), c.ino, b"x", &g).await,
        Err(FsError::NotDir)
    ));
    // Reading/writing a directory.
    assert!(matches!(
        fs.read(&root(), fs.root(), 0, 1).await,
        Err(FsError::IsDir)
    ));
    assert!(matches!(
        fs.write(
            &root(),
            fs.root(),
            0,
            Bytes::from_static(b"x"),
            StableHow::Unstable
        )
        .await,
        Err(FsError::IsDir)
    ));
    // Unchecked create of an existing file opens (and truncates with size 0).
    let u = fs
        .create(
            &root(),
            fs.root(),
            b"hello.txt",
            &CreateHow::Unchecked(SetAttr {
                size: Some(0),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(u.ino, c.ino);
    assert_eq!(u.attr.size, 0);
    assert_clean(&fs).await;
}

#[tokio::test]
async fn exclusive_create_retransmit() {
    let fs = new_fs().await;
    let v1 = *b"verf0001";
    let a = fs
        .create(&root(), fs.root(), b"x", &CreateHow::Exclusive(v1))
        .await
        .unwrap();
    let b = fs
        .create(&root(), fs.root(), b"x", &CreateHow::Exclusive(v1))
        .await
        .unwrap();
    assert_eq!(a.ino, b.ino);
    assert!(matches!(
        fs.create(
            &root(),
            fs.root(),
            b"x",
            &CreateHow::Exclusive(*b"verf0002")
        )
        .await,
        Err(FsError::Exist)
    ));
    // The follow-up SETATTR clears the verifier; a retransmit then gets Exist.
    fs.setattr(
        &root(),
        a.ino,
        &SetAttr {
            mode: Some(0o640),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    assert!(matches!(
        fs.create(&root(), fs.root(), b"x", &CreateHow::Exclusive(v1))
            .await,
        Err(FsError::Exist)
    ));
    assert_eq!(fs.getattr(a.ino).await.unwrap().mode, 0o640);
}

#[tokio::test]
async fn mkdir_rmdir_nlink() {
    let fs = new_fs().await;
    let r = fs.root();
    let a = mkdir(&fs, r, "a").await;
    assert_eq!(fs.getattr(r).await.unwrap().nlink, 3);
    assert_eq!(fs.getattr(a).await.unwrap().nlink, 2);
    let b = mkdir(&fs, a, "b").await;
    assert_eq!(fs.getattr(a).await.unwrap().nlink, 3);
    assert_eq!(fs.lookup(&root(), b, b"..").await.unwrap().ino, a);
    mkfile(&fs, a, "f").await;
    assert_eq!(fs.getattr(a).await.unwrap().nlink, 3);
    assert!(matches!(
        fs.rmdir(&root(), r, b"a").await,
        Err(FsError::NotEmpty)
    ));
    assert!(matches!(
        fs.rmdir(&root(), a, b"f").await,
        Err(FsError::NotDir)
    ));
    assert!(matches!(
        fs.remove(&root(), r, b"a").await,
        Err(FsError::IsDir)
    ));
    assert!(matches!(
        fs.rmdir(&root(), a, b"zz").await,
        Err(FsError::NoEnt)
    ));
    assert!(matches!(
        fs.rmdir(&root(), a, b".").await,
        Err(FsError::Inval)
    ));
    assert!(matches!(
        fs.rmdir(&root(), a, b"..").await,
        Err(FsError::NotEmpty)
    ));
    assert!(matches!(
        fs.mkdir(&root(), r, b"a", &SetAttr::default()).await,
        Err(FsError::Exist)
    ));
    fs.rmdir(&root(), a, b"b").await.unwrap();
    assert_eq!(fs.getattr(a).await.unwrap().nlink, 2);
    assert!(matches!(fs.getattr(b).await, Err(FsError::Stale)));
    fs.remove(&root(), a, b"f").await.unwrap();
    let w = fs.rmdir(&root(), r, b"a").await.unwrap();
    assert_eq!(w.after.unwrap().nlink, 2);
    assert_eq!(names(&fs, r).await, vec![".", ".."]);
    assert_clean(&fs).await;
}

#[tokio::test]
async fn symlink_mknod() {
    let fs = new_fs().await;
    let r = fs.root();
    let s = fs
        .symlink(&root(), r, b"l", b"/target/path", &SetAttr::default())
        .await
        .unwrap();
    assert_eq!(s.attr.ftype, FileType::Symlink);
    assert_eq!(s.attr.size, 12);
    let (t, _) = fs.readlink(&root(), s.ino).await.unwrap();
    assert_eq!(&t[..], b"/target/path");
    assert!(matches!(fs.readlink(&root(), r).await, Err(FsError::Inval)));
    assert!(matches!(
        fs.symlink(&root(), r, b"l2", &[b'a'; 4097], &SetAttr::default())
            .await,
        Err(FsError::NameTooLong)
    ));
    let d = fs
        .mknod(
            &root(),
            r,
            b"dev",
            SpecialKind::Char(1, 3),
            &SetAttr::default(),
        )
        .await
        .unwrap();
    assert_eq!(d.attr.ftype, FileType::CharDevice);
    assert_eq!(d.attr.rdev, (1, 3));
    let p = fs
        .mknod(&root(), r, b"pipe", SpecialKind::Fifo, &SetAttr::default())
        .await
        .unwrap();
    assert_eq!(p.attr.ftype, FileType::Fifo);
    let user = Credentials::new(1000, 1000);
    fs.setattr(
        &root(),
        r,
        &SetAttr {
            mode: Some(0o777),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    assert!(matches!(
        fs.mknod(
            &user,
            r,
            b"dev2",
            SpecialKind::Block(8, 0),
            &SetAttr::default()
        )
        .await,
        Err(FsError::Perm)
    ));
    assert!(fs
        .mknod(&user, r, b"sock", SpecialKind::Socket, &SetAttr::default())
        .await
        .is_ok());
    assert!(matches!(
        fs.read(&root(), p.ino, 0, 1).await,
        Err(FsError::Inval)
    ));
    assert_clean(&fs).await;
}

#[tokio::test]
async fn hard_links() {
    let fs = new_fs().await;
    let r = fs.root();
    let d = mkdir(&fs, r, "d").await;
    let f = mkfile(&fs, r, "f").await;
    fs.write(
        &root(),
        f,
        0,
        Bytes::from_static(b"data"),
        StableHow::Unstable,
    )
    .await
    .unwrap();
    let l = fs.link(&root(), f, d, b"g").await.unwrap();
    assert_eq!(l.attr.nlink, 2);
    fs.link(&root(), f, r, b"h").await.unwrap();
    assert_eq!(fs.getattr(f).await.unwrap().nlink, 3);
    assert!(matches!(
        fs.link(&root(), f, r, b"h").await,
        Err(FsError::Exist)
    ));
    assert!(matches!(
        fs.link(&root(), d, r, b"dd").await,
        Err(FsError::IsDir)
    ));
    assert!(matches!(
        fs.link(&root(), f, f, b"x").await,
        Err(FsError::NotDir)
    ));
    assert_clean(&fs).await;
    fs.remove(&root(), r, b"f").await.unwrap();
    assert_eq!(fs.getattr(f).await.unwrap().nlink, 2);
    assert_eq!(&fs.read(&root(), f, 0, 10).await.unwrap().data[..], b"data");
    // Rename over another link of the same file is a no-op.
    fs.rename(&root(), d, b"g", r, b"h").await.unwrap();
    assert_eq!(fs.getattr(f).await.unwrap().nlink, 2);
    assert!(fs.lookup(&root(), d, b"g").await.is_ok());
    fs.remove(&root(), d, b"g").await.unwrap();
    fs.remove(&root(), r, b"h").await.unwrap();
    assert!(matches!(fs.getattr(f).await, Err(FsError::Stale)));
    let rep = fs.fsck().await.unwrap();
    assert!(rep.is_clean(), "{:?}", rep.errors);
    assert_eq!(rep.chunks, 0);
}

#[tokio::test]
async fn rename_cases() {
    let fs = new_fs().await;
    let r = fs.root();
    let a = mkdir(&fs, r, "a").await;
    let b = mkdir(&fs, a, "b").await;
    let c = mkdir(&fs, r, "c").await;
    let f = mkfile(&fs, r, "f").await;
    let g = mkfile(&fs, r, "g").await;
    // Into own subtree.
    assert!(matches!(
        fs.rename(&root(), r, b"a", b, b"x").await,
        Err(FsError::Inval)
    ));
    assert!(matches!(
        fs.rename(&root(), r, b"a", a, b"x").await,
        Err(FsError::Inval)
    ));
    // Type conflicts.
    assert!(matches!(
        fs.rename(&root(), r, b"a", r, b"f").await,
        Err(FsError::NotDir)
    ));
    assert!(matches!(
        fs.rename(&root(), r, b"f", r, b"a").await,
        Err(FsError::IsDir)
    ));
    fs.rename(&root(), r, b"c", a, b"b").await.unwrap();
    // c replaced the empty b; a now holds c's inode under "b".
    assert_eq!(fs.lookup(&root(), a, b"b").await.unwrap().ino, c);
    assert!(matches!(fs.getattr(b).await, Err(FsError::Stale)));
    assert_eq!(fs.getattr(r).await.unwrap().nlink, 3);
    assert_eq!(fs.getattr(a).await.unwrap().nlink, 3);
    assert_eq!(fs.lookup(&root(), c, b"..").await.unwrap().ino, a);
    // Non-empty target.
    mkfile(&fs, c, "inner").await;
    let e = mkdir(&fs, r, "e").await;
    assert!(matches!(
        fs.rename(&root(), r, b"e", a, b"b").await,
        Err(FsError::NotEmpty)
    ));
    // File over file.
    fs.rename(&root(), r, b"f", r, b"g").await.unwrap();
    assert!(matches!(fs.getattr(g).await, Err(FsError::Stale)));
    assert_eq!(fs.lookup(&root(), r, b"g").await.unwrap().ino, f);
    assert!(matches!(
        fs.lookup(&root(), r, b"f").await,
        Err(FsError::NoEnt)
    ));
    // Missing source, bad names.
    assert!(matches!(
        fs.rename(&root(), r, b"zz", r, b"y").await,
        Err(FsError::NoEnt)
    ));
    assert!(matches!(
        fs.rename(&root(), r, b".", r, b"y").await,
        Err(FsError::Inval)
    ));
    assert!(matches!(
        fs.rename(&root(), r, b"g", r, b"..").await,
        Err(FsError::Inval)
    ));
    // Same name: no-op.
    fs.rename(&root(), r, b"g", r, b"g").await.unwrap();
    // Move a dir across.
    fs.rename(&root(), r, b"e", c, b"e2").await.unwrap();
    assert_eq!(fs.lookup(&root(), e, b"..").await.unwrap().ino, c);
    assert_eq!(fs.getattr(c).await.unwrap().nlink, 3);
    assert_clean(&fs).await;
}

#[tokio::test]
async fn readdir_paging_and_cookies() {
    let fs = new_fs().await;
    let r = fs.root();
    let d = mkdir(&fs, r, "d").await;
    for i in 0..50 {
        mkfile(&fs, d, &format!("f{i:03}")).await;
    }
    let p = fs.readdir(&root(), d, 0, [0; 8], 10, true).await.unwrap();
    assert_eq!(p.entries.len(), 10);
    assert!(!p.eof);
    assert_eq!(&p.entries[0].name[..], b".");
    assert_eq!(&p.entries[1].name[..], b"..");
    assert_eq!(p.entries[1].ino, r);
    assert!(p
        .entries
        .iter()
        .all(|e| e.attr.is_some() && e.generation.is_some()));
    // Continue with an old verifier after changes: cookies stay valid.
    let mut seen: Vec<Bytes> = p.entries.iter().skip(2).map(|e| e.name.clone()).collect();
    let mut cookie = p.entries.last().unwrap().cookie;
    fs.remove(&root(), d, b"f000").await.unwrap(); // already listed
    fs.remove(&root(), d, b"f049").await.unwrap(); // not yet listed
    mkfile(&fs, d, "new").await;
    loop {
        let p = fs
            .readdir(&root(), d, cookie, [9; 8], 7, false)
            .await
            .unwrap();
        assert!(!p.entries.is_empty() || p.eof);
        seen.extend(p.entries.iter().map(|e| e.name.clone()));
        if p.eof {
            break;
        }
        cookie = p.entries.last().unwrap().cookie;
    }
    let mut want: Vec<Bytes> = (0..49).map(|i| Bytes::from(format!("f{i:03}"))).collect();
    want.push(Bytes::from_static(b"new"));
    assert_eq!(seen, want);
    assert!(matches!(
        fs.readdir(&root(), d, 1 << 40, [0; 8], 10, false).await,
        Err(FsError::BadCookie)
    ));
    assert!(matches!(
        fs.readdir(&root(), d, 0, [0; 8], 0, false).await,
        Err(FsError::TooSmall)
    ));
    let f = fs.lookup(&root(), d, b"new").await.unwrap().ino;
    assert!(matches!(
        fs.readdir(&root(), f, 0, [0; 8], 10, false).await,
        Err(FsError::NotDir)
    ));
}

#[tokio::test]
async fn sparse_truncate_and_chunk_boundaries() {
    let fs = new_fs().await;
    let f = mkfile(&fs, fs.root(), "f").await;
    const C: u64 = 64 * 1024;
    let pattern = |n: usize, seed: u8| -> Bytes {
        Bytes::from(
            (0..n)
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
                .collect::<Vec<_>>(),
        )
    };
    let mut model = vec![0u8; 0];
    let apply = |model: &mut Vec<u8>, off: u64, d: &Bytes| {
        let end = off as usize + d.len();
        if model.len() < end {
            model.resize(end, 0);
        }
        model[off as usize..end].copy_from_slice(d);
    };
    for (off, len, seed) in [
        (C - 1, 2usize, 1u8),
        (C + 1, 10, 2),
        (2 * C - 1, 1, 3),
        (0, (C + 1) as usize, 4),
        (5 * C + 7, 100, 5), // hole in chunks 2..5
        (3 * C, C as usize, 6),
    ] {
        let d = pattern(len, seed);
        fs.write(&root(), f, off, d.clone(), StableHow::Unstable)
            .await
            .unwrap();
        apply(&mut model, off, &d);
        let r = fs.read(&root(), f, 0, 10 * C as u32).await.unwrap();
        assert_eq!(r.data.len(), model.len());
        assert!(r.data[..] == model[..], "after write at {off}+{len}");
        assert!(r.eof);
    }
    // Truncate into the middle of a chunk, then extend: the tail must read as zeros.
    let cut = 3 * C + 5;
    fs.setattr(
        &root(),
        f,
        &SetAttr {
            size: Some(cut),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    model.truncate(cut as usize);
    assert_clean(&fs).await;
    fs.setattr(
        &root(),
        f,
        &SetAttr {
            size: Some(6 * C),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    model.resize(6 * C as usize, 0);
    let r = fs.read(&root(), f, 0, 10 * C as u32).await.unwrap();
    assert!(r.data[..] == model[..]);
    // Partial read across a hole and a boundary.
    let r = fs.read(&root(), f, C - 3, 7).await.unwrap();
    assert_eq!(&r.data[..], &model[(C - 3) as usize..(C + 4) as usize]);
    // Truncate to a chunk boundary and to zero.
    fs.setattr(
        &root(),
        f,
        &SetAttr {
            size: Some(C),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    let rep = fs.fsck().await.unwrap();
    assert!(rep.is_clean(), "{:?}", rep.errors);
    assert_eq!(rep.chunks, 1);
    fs.setattr(
        &root(),
        f,
        &SetAttr {
            size: Some(0),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(fs.fsck().await.unwrap().chunks, 0);
    // Too big.
    let max = fs.options().max_file_size;
    assert!(matches!(
        fs.write(
            &root(),
            f,
            max,
            Bytes::from_static(b"x"),
            StableHow::Unstable
        )
        .await,
        Err(FsError::FBig)
    ));
    assert!(matches!(
        fs.setattr(
            &root(),
            f,
            &SetAttr {
                size: Some(max + 1),
                ..Default::default()
            },
            None
        )
        .await,
        Err(FsError::FBig)
    ));
    assert!(matches!(
        fs.setattr(
            &root(),
            fs.root(),
            &SetAttr {
                size: Some(0),
                ..Default::default()
            },
            None
        )
        .await,
        Err(FsError::IsDir)
    ));
}

#[tokio::test]
async fn setattr_guard_and_times() {
    let fs = new_fs().await;
    let f = mkfile(&fs, fs.root(), "f").await;
    let a = fs.getattr(f).await.unwrap();
    assert!(matches!(
        fs.setattr(
            &root(),
            f,
            &SetAttr {
                mode: Some(0o600),
                ..Default::default()
            },
            Some(Timestamp { secs: 1, nanos: 0 })
        )
        .await,
        Err(FsError::NotSync)
    ));
    let t = Timestamp {
        secs: 1_000_000,
        nanos: 5,
    };
    let w = fs
        .setattr(
            &root(),
            f,
            &SetAttr {
                mode: Some(0o600),
                atime: SetTime::ClientTime(t),
                mtime: SetTime::ClientTime(t),
                ..Default::default()
            },
            Some(a.ctime),
        )
        .await
        .unwrap();
    let after = w.after.unwrap();
    assert_eq!(after.mode, 0o600);
    assert_eq!(after.mtime, t);
    assert_eq!(after.atime, t);
    assert!(after.ctime >= a.ctime);
    assert_eq!(w.before.unwrap().ctime, a.ctime);
}

#[tokio::test]
async fn fsstat_fsinfo_pathconf() {
    let fs = new_fs().await;
    let f = mkfile(&fs, fs.root(), "f").await;
    fs.write(
        &root(),
        f,
        0,
        Bytes::from(vec![1u8; 5000]),
        StableHow::Unstable,
    )
    .await
    .unwrap();
    let s = fs.fsstat(fs.root()).await.unwrap();
    assert!(s.tbytes > s.fbytes);
    assert_eq!(s.tbytes - s.fbytes, 5000);
    assert!(s.tfiles - s.ffiles >= 2);
    let i = fs.fsinfo(fs.root()).await.unwrap();
    assert!(i.wtmax >= 1 << 20 && i.rtmax >= 1 << 20);
    assert!(i.dtpref > 0);
    let p = fs.pathconf(fs.root()).await.unwrap();
    assert_eq!(p.name_max, 255);
    assert!(p.no_trunc);
}

#[tokio::test]
async fn reclaim_leaves_no_chunks() {
    let fs = new_fs_with(FsOptions {
        inline_reclaim_chunks: 2,
        ..Default::default()
    })
    .await;
    let r = fs.root();
    for round in 0..5 {
        let f = mkfile(&fs, r, &format!("f{round}")).await;
        // 5 chunks > inline limit: goes through the reclaim queue.
        fs.write(
            &root(),
            f,
            0,
            Bytes::from(vec![7u8; 5 * 65536]),
            StableHow::Unstable,
        )
        .await
        .unwrap();
        // Sparse far chunk.
        fs.write(
            &root(),
            f,
            1 << 30,
            Bytes::from_static(b"end"),
            StableHow::Unstable,
        )
        .await
        .unwrap();
        fs.remove(&root(), r, format!("f{round}").as_bytes())
            .await
            .unwrap();
        let g = mkfile(&fs, r, &format!("g{round}")).await;
        fs.write(
            &root(),
            g,
            0,
            Bytes::from(vec![1u8; 10]),
            StableHow::Unstable,
        )
        .await
        .unwrap();
        fs.remove(&root(), r, format!("g{round}").as_bytes())
            .await
            .unwrap();
        // Truncate of a large file also reclaims.
        let h = mkfile(&fs, r, "h").await;
        fs.write(
            &root(),
            h,
            0,
            Bytes::from(vec![2u8; 4 * 65536]),
            StableHow::Unstable,
        )
        .await
        .unwrap();
        fs.setattr(
            &root(),
            h,
            &SetAttr {
                size: Some(100),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
        assert_eq!(fs.read(&root(), h, 0, 200).await.unwrap().data.len(), 100);
        fs.remove(&root(), r, b"h").await.unwrap();
    }
    fs.reclaim_pending().await.unwrap();
    let rep = fs.fsck().await.unwrap();
    assert!(rep.is_clean(), "{:?}", rep.errors);
    assert_eq!(rep.chunks, 0);
    assert_eq!(rep.pending_reclaim, 0);
    let left = fs.store().scan(ChunkKey::all(), 10).await.unwrap();
    assert!(left.is_empty());
}

#[tokio::test]
async fn reopen_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let (h, fid, verf, ino) = {
        let fs = open_file_fs(dir.path()).await;
        let d = mkdir(&fs, fs.root(), "dir").await;
        let c = fs
            .create(&root(), d, b"file", &CreateHow::Guarded(SetAttr::default()))
            .await
            .unwrap();
        fs.write(
            &root(),
            c.ino,
            0,
            Bytes::from_static(b"persisted"),
            StableHow::Unstable,
        )
        .await
        .unwrap();
        fs.commit(&root(), c.ino, 0, 0).await.unwrap();
        let out = (c.object(), fs.fsid(), fs.verifier(), c.ino);
        fs.close().await.unwrap();
        out
    };
    let fs = open_file_fs(dir.path()).await;
    assert_eq!(fs.fsid(), fid);
    assert_ne!(fs.verifier(), verf);
    assert_eq!(fs.resolve(h).await.unwrap(), ino);
    assert_eq!(
        &fs.read(&root(), ino, 0, 100).await.unwrap().data[..],
        b"persisted"
    );
    let d = fs.lookup(&root(), fs.root(), b"dir").await.unwrap().ino;
    assert_eq!(fs.lookup(&root(), d, b"file").await.unwrap().ino, ino);
    // New ids never collide with old ones.
    let n = mkfile(&fs, d, "new").await;
    assert!(n.0 > ino.0);
    assert_clean(&fs).await;
}

async fn listing(n: usize) {
    let fs = new_fs_with(FsOptions {
        async_metadata: true,
        ..Default::default()
    })
    .await;
    let d = mkdir(&fs, fs.root(), "big").await;
    for i in 0..n {
        mkfile(&fs, d, &format!("entry-{i}")).await;
    }
    let mut cookie = 0;
    let mut count = 0;
    loop {
        let p = fs
            .readdir(&root(), d, cookie, [0; 8], 1000, false)
            .await
            .unwrap();
        count += p.entries.len();
        if p.eof {
            break;
        }
        cookie = p.entries.last().unwrap().cookie;
    }
    assert_eq!(count, n + 2);
}

/// The 1,000,000-entry directory is tests/fs_large_dir.rs.
#[tokio::test]
async fn many_entries_listing() {
    listing(5_000).await;
}

/// An in-memory object store that outlives the filesystems opened on it. Dropping such a
/// filesystem without `close` shuts its storage runtime down, like a crash; with no periodic
/// flush, only explicit durability makes data reach the object store.
struct CrashableStore(std::sync::Arc<dyn object_store::ObjectStore>);

impl CrashableStore {
    fn new() -> Self {
        CrashableStore(
            slatenfs::store::object_store(&StorageUrl::Memory, &Default::default()).unwrap(),
        )
    }

    async fn open(&self, opts: FsOptions) -> Fs {
        let cfg = StoreConfig {
            flush_interval: std::time::Duration::from_secs(3600),
            ..StoreConfig::new(StorageUrl::Memory)
        };
        let store = Store::open_with_object_store(self.0.clone(), cfg)
            .await
            .unwrap();
        Fs::open(store, opts).await.unwrap()
    }
}

/// Durability contract without a clean shutdown: FILE_SYNC writes, committed UNSTABLE writes
/// and (default, durable) metadata survive dropping the filesystem without `close`.
#[tokio::test]
async fn durable_writes_survive_crash() {
    let disk = CrashableStore::new();
    let (a, b, verf) = {
        let fs = disk.open(FsOptions::default()).await;
        let a = mkfile(&fs, fs.root(), "sync").await;
        let sync = Bytes::from_static(b"file-sync");
        write_at(&fs, a, 0, sync, StableHow::FileSync).await;
        let b = mkfile(&fs, fs.root(), "committed").await;
        let unstable = Bytes::from_static(b"unstable");
        write_at(&fs, b, 0, unstable, StableHow::Unstable).await;
        fs.commit(&root(), b, 0, 0).await.unwrap();
        (a, b, fs.verifier())
        // Dropped without close: the storage runtime is shut down, like a crash.
    };
    let fs = disk.open(FsOptions::default()).await;
    assert_ne!(fs.verifier(), verf);
    assert_eq!(
        &fs.read(&root(), a, 0, 100).await.unwrap().data[..],
        b"file-sync"
    );
    assert_eq!(
        &fs.read(&root(), b, 0, 100).await.unwrap().data[..],
        b"unstable"
    );
    assert_eq!(fs.lookup(&root(), fs.root(), b"sync").await.unwrap().ino, a);
    assert_clean(&fs).await;
}

/// COMMIT flushes only what the file needs: a write that other operations' flushes already
/// carried costs no WAL PUT, a file without unstable writes costs none, and whatever COMMIT
/// answered survives a crash.
#[tokio::test]
async fn commit_flushes_only_what_the_file_needs() {
    let disk = CrashableStore::new();
    let (a, b) = {
        let fs = disk.open(FsOptions::default()).await;
        let a = mkfile(&fs, fs.root(), "a").await;
        let b = mkfile(&fs, fs.root(), "b").await;
        write_at(&fs, a, 0, Bytes::from_static(b"A1"), StableHow::Unstable).await;
        // A durable CREATE flushes the WAL, and with it a's earlier write.
        mkfile(&fs, fs.root(), "c").await;
        let puts = fs.store().io_stats().puts;
        fs.commit(&root(), a, 0, 0).await.unwrap();
        assert_eq!(
            fs.store().io_stats().puts,
            puts,
            "a's write was already durable"
        );

        // b's new write is not a's business.
        write_at(&fs, b, 0, Bytes::from_static(b"B1"), StableHow::Unstable).await;
        fs.commit(&root(), a, 0, 0).await.unwrap();
        assert_eq!(
            fs.store().io_stats().puts,
            puts,
            "a has nothing new to commit"
        );
        fs.commit(&root(), b, 0, 0).await.unwrap();
        let after_b = fs.store().io_stats().puts;
        assert!(after_b > puts, "b's write needed a flush");

        write_at(&fs, a, 2, Bytes::from_static(b"A2"), StableHow::Unstable).await;
        fs.commit(&root(), a, 0, 0).await.unwrap();
        assert!(
            fs.store().io_stats().puts > after_b,
            "a's new write needed a flush"
        );
        (a, b)
        // Dropped without close: the storage runtime is shut down, like a crash.
    };
    let fs = disk.open(FsOptions::default()).await;
    assert_eq!(
        &fs.read(&root(), a, 0, 100).await.unwrap().data[..],
        b"A1A2"
    );
    assert_eq!(&fs.read(&root(), b, 0, 100).await.unwrap().data[..], b"B1");
    assert_clean(&fs).await;
}

/// With `--async` metadata, COMMIT also makes the file's metadata changes durable, including
/// those after its last write.
#[tokio::test]
async fn commit_with_async_metadata_covers_its_metadata() {
    let disk = CrashableStore::new();
    let opts = || FsOptions {
        async_metadata: true,
        ..FsOptions::default()
    };
    let a = {
        let fs = disk.open(opts()).await;
        let a = mkfile(&fs, fs.root(), "a").await;
        write_at(&fs, a, 0, Bytes::from_static(b"data"), StableHow::Unstable).await;
        // A FILE_SYNC write elsewhere flushes the WAL, with a's write in it; then a metadata
        // change after a's last write, which no flush has carried yet.
        let other = mkfile(&fs, fs.root(), "other").await;
        write_at(
            &fs,
            other,
            0,
            Bytes::from_static(b"sync"),
            StableHow::FileSync,
        )
        .await;
        let sa = SetAttr {
            mode: Some(0o600),
            ..Default::default()
        };
        fs.setattr(&root(), a, &sa, None).await.unwrap();
        fs.commit(&root(), a, 0, 0).await.unwrap();
        a
    };
    let fs = disk.open(opts()).await;
    assert_eq!(fs.lookup(&root(), fs.root(), b"a").await.unwrap().ino, a);
    assert_eq!(
        &fs.read(&root(), a, 0, 100).await.unwrap().data[..],
        b"data"
    );
    assert_eq!(fs.getattr(a).await.unwrap().mode & 0o7777, 0o600);
}

/// Prints object-store bytes written per byte written by clients (not asserted).
#[tokio::test]
async fn write_amplification_report() {
    let fs = new_fs().await;
    let f = mkfile(&fs, fs.root(), "big").await;
    let before = fs.store().io_stats();
    let total = 8u64 << 20;
    let chunk = Bytes::from(vec![0x5au8; 1 << 20]);
    let mut off = 0;
    while off < total {
        fs.write(&root(), f, off, chunk.clone(), StableHow::Unstable)
            .await
            .unwrap();
        off += chunk.len() as u64;
    }
    fs.commit(&root(), f, 0, 0).await.unwrap();
    let after = fs.store().io_stats();
    let written = after.put_bytes - before.put_bytes;
    eprintln!(
        "write amplification: {} client bytes -> {} object store bytes in {} PUTs ({:.2}x)",
        total,
        written,
        after.puts - before.puts,
        written as f64 / total as f64
    );
}

/// What WRITE `i` of the pipeline tests writes: 4 KiB at a 12 KiB stride, so that pieces share
/// chunks (merges) and leave holes between them.
fn striped_piece(i: u64) -> (u64, Bytes) {
    (i * 12_288, Bytes::from(vec![(i % 251) as u8 + 1; 4096]))
}

async fn assert_striped(fs: &Fs, f: InodeId, n: u64) {
    let size = fs.getattr(f).await.unwrap().size;
    assert_eq!(size, striped_piece(n - 1).0 + 4096);
    for i in 0..n {
        let (off, data) = striped_piece(i);
        let got = fs.read(&root(), f, off, 12_288).await.unwrap().data;
        assert_eq!(&got[..4096], &data[..], "piece {i}");
        assert!(got[4096..].iter().all(|&b| b == 0), "hole after piece {i}");
    }
}

/// WRITEs in flight to one file do not wait for one another's storage round trip: each is
/// queued behind the one before and lets the file's lock go, so they share SlateDB writes
/// (held until applied, the lock made every WRITE a SlateDB write of its own). The data, the
/// size and the wcc chain are as if they had run one at a time.
#[tokio::test]
async fn concurrent_writes_to_one_file_share_storage_writes() {
    let fs = new_fs().await;
    let f = mkfile(&fs, fs.root(), "big").await;
    let n = 64u64;
    let (batches_before, writes_before) = fs.store().group_stats();
    let writes = (0..n).map(|i| {
        let fs = fs.clone();
        async move {
            let (off, data) = striped_piece(i);
            write_at(&fs, f, off, data, StableHow::Unstable).await
        }
    });
    let oks = futures::future::join_all(writes).await;
    let (batches, writes) = fs.store().group_stats();
    assert_eq!(batches - batches_before, n as usize);
    assert!(
        writes - writes_before < n as usize / 2,
        "{} SlateDB writes for {n} WRITEs of one file",
        writes - writes_before
    );
    // Each WRITE saw the one before it: pre-op sizes chain up to the final size.
    let mut sizes: Vec<(u64, u64)> = oks
        .iter()
        .map(|ok| {
            let before = ok.wcc.before.as_ref().unwrap().size;
            (before, ok.wcc.after.as_ref().unwrap().size)
        })
        .collect();
    sizes.sort_unstable();
    for pair in sizes.windows(2) {
        assert_eq!(pair[0].1, pair[1].0, "wcc chain broken: {pair:?}");
    }
    assert_eq!(sizes[0].0, 0);
    assert_striped(&fs, f, n).await;
    fs.commit(&root(), f, 0, 0).await.unwrap();
    assert_clean(&fs).await;
}

/// Changes of a file from another thread (another lane of the group writer) wait for its
/// queued WRITEs: none of them is lost, and none overtakes a WRITE (which would take the
/// file's size or times back). Checked on the store after a reopen, not only in the caches.
#[test]
fn changes_from_another_thread_wait_for_queued_writes() {
    let disk = CrashableStore::new();
    let rounds = 100u64;
    let per_round = 16u64;
    let fs = futures::executor::block_on(disk.open(FsOptions::default()));
    let f = futures::executor::block_on(mkfile(&fs, fs.root(), "shared"));
    let writer = {
        let fs = fs.clone();
        std::thread::spawn(move || {
            futures::executor::block_on(async {
                for r in 0..rounds {
                    let writes = (r * per_round..(r + 1) * per_round).map(|i| {
                        let fs = fs.clone();
                        async move {
                            let (off, data) = striped_piece(i);
                            write_at(&fs, f, off, data, StableHow::Unstable).await;
                        }
                    });
                    futures::future::join_all(writes).await;
                }
            })
        })
    };
    let linker = {
        let fs = fs.clone();
        std::thread::spawn(move || {
            futures::executor::block_on(async {
                for r in 0..rounds {
                    fs.link(&root(), f, fs.root(), format!("link{r}").as_bytes())
                        .await
                        .unwrap();
                    let sa = SetAttr {
                        mode: Some(0o600 + (r as u32 % 2) * 0o40),
                        ..SetAttr::default()
                    };
                    fs.setattr(&root(), f, &sa, None).await.unwrap();
                }
            })
        })
    };
    writer.join().unwrap();
    linker.join().unwrap();
    let n = rounds * per_round;
    let last_mode = 0o600 + ((rounds - 1) as u32 % 2) * 0o40;
    futures::executor::block_on(async {
        let a = fs.getattr(f).await.unwrap();
        assert_eq!((a.nlink, a.mode & 0o7777), (1 + rounds as u32, last_mode));
        assert_striped(&fs, f, n).await;
        fs.close().await.unwrap();
        let fs = disk.open(FsOptions::default()).await;
        let a = fs.getattr(f).await.unwrap();
        assert_eq!((a.nlink, a.mode & 0o7777), (1 + rounds as u32, last_mode));
        assert_striped(&fs, f, n).await;
        assert_clean(&fs).await;
    });
}

/// A store written before handles were authenticated (format 2: no handle secret in the
/// superblock) is upgraded when opened: the superblock gets a secret, in one write, and keeps
/// it from then on; nothing else changes.
#[tokio::test]
async fn format_2_superblock_gains_a_handle_secret() {
    use slatenfs::fs::inode::{Superblock, FORMAT_VERSION};
    use slatenfs::store::keys::SuperblockKey;
    use slatenfs::store::{Durability, StoreBatch};

    let dir = tempfile::tempdir().unwrap();
    let (fsid, ino) = {
        let fs = open_file_fs(dir.path()).await;
        let ino = mkfile(&fs, fs.root(), "kept").await;
        let sb = Superblock::decode(
            &fs.store()
                .get(SuperblockKey.encode())
                .await
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(sb.format, FORMAT_VERSION);
        assert!(sb.handle_secret.is_some());
        // What a format 2 server wrote.
        let old = Superblock {
            format: 2,
            handle_secret: None,
            ..sb
        };
        let mut b = StoreBatch::new();
        b.put(SuperblockKey.encode(), old.encode());
        fs.store().write(b, Durability::Durable).await.unwrap();
        fs.store().close().await.unwrap();
        (fs.fsid(), ino)
    };
    let secret = {
        let fs = open_file_fs(dir.path()).await;
        assert_eq!(fs.fsid(), fsid);
        let stored = fs
            .store()
            .get(SuperblockKey.encode())
            .await
            .unwrap()
            .unwrap();
        let sb = Superblock::decode(&stored).unwrap();
        // Format 3: the secret is added, the chunk keys stay bare.
        assert_eq!(sb.format, 3);
        assert_eq!(sb.chunk_key_layout(), ChunkKeyLayout::Bare);
        assert_eq!(sb.handle_secret.as_ref(), Some(fs.handle_secret()));
        assert_ne!(fs.handle_secret(), &[0u8; 32]);
        assert_eq!(
            fs.lookup(&root(), fs.root(), b"kept").await.unwrap().ino,
            ino
        );
        let secret = *fs.handle_secret();
        fs.close().await.unwrap();
        secret
    };
    let fs = open_file_fs(dir.path()).await;
    assert_eq!(fs.handle_secret(), &secret, "the secret survives restarts");
    assert_clean(&fs).await;
}

/// A read-only filesystem over the storage a writer serves: it sees what the writer committed
/// (durable metadata, FILE_SYNC data, committed UNSTABLE data) without fencing the writer, every
/// change fails with ROFS before doing anything, and a checkpoint view stays where it was taken.
#[tokio::test]
async fn read_only_fs_sees_the_writers_committed_data() {
    use slatenfs::store::ReadOnlyView;
    let dir = tempfile::tempdir().unwrap();
    let url = StorageUrl::File(dir.path().to_path_buf());
    let writer = open_file_fs(dir.path()).await;
    let d = mkdir(&writer, writer.root(), "d").await;
    let synced = mkfile(&writer, d, "synced").await;
    write_at(
        &writer,
        synced,
        0,
        Bytes::from_static(b"file-sync"),
        StableHow::FileSync,
    )
    .await;
    let committed = mkfile(&writer, d, "committed").await;
    let data = Bytes::from(vec![7u8; 200_000]);
    write_at(&writer, committed, 0, data.clone(), StableHow::Unstable).await;
    writer.commit(&root(), committed, 0, 0).await.unwrap();

    let store = Store::open_read_only(StoreConfig::new(url.clone()), ReadOnlyView::Latest)
        .await
        .unwrap();
    assert!(store.is_read_only());
    let ro = Fs::open(store, FsOptions::default()).await.unwrap();
    assert!(ro.is_read_only());
    assert_eq!(ro.fsid(), writer.fsid());
    assert_eq!(ro.lookup(&root(), ro.root(), b"d").await.unwrap().ino, d);
    assert_eq!(
        &ro.read(&root(), synced, 0, 100).await.unwrap().data[..],
        b"file-sync"
    );
    assert_eq!(
        ro.read(&root(), committed, 0, 300_000).await.unwrap().data,
        data
    );
    assert_clean(&ro).await;

    // Every change is refused up front.
    let cred = root();
    assert_namespace_changes_refused(&ro, d, b"synced").await;
    assert!(matches!(
        ro.link(&cred, synced, d, b"z").await,
        Err(FsError::RoFs)
    ));
    assert!(matches!(
        ro.write(
            &cred,
            synced,
            0,
            Bytes::from_static(b"q"),
            StableHow::FileSync
        )
        .await,
        Err(FsError::RoFs)
    ));
    let sa = SetAttr {
        size: Some(0),
        ..SetAttr::default()
    };
    assert!(matches!(
        ro.setattr(&cred, synced, &sa, None).await,
        Err(FsError::RoFs)
    ));
    assert!(matches!(
        ro.commit(&cred, synced, 0, 0).await,
        Err(FsError::RoFs)
    ));
    assert!(matches!(ro.reclaim_pending().await, Err(FsError::RoFs)));
    // ...and the writer was not fenced by the reader: it goes on writing.
    let after = mkfile(&writer, d, "after").await;
    write_at(
        &writer,
        after,
        0,
        Bytes::from_static(b"later"),
        StableHow::FileSync,
    )
    .await;
    assert_eq!(
        &ro.read(&root(), synced, 0, 100).await.unwrap().data[..],
        b"file-sync",
        "the reader still reads"
    );
    ro.close().await.unwrap();

    // A checkpoint view shows the state of its checkpoint, not what the writer did after.
    let db = writer.store().db().unwrap();
    let checkpoint = writer
        .store()
        .run(async move {
            db.create_checkpoint(
                slatedb::config::CheckpointScope::All,
                &slatedb::config::CheckpointOptions::default(),
            )
            .await
            .map_err(slatenfs::store::StoreError::from)
        })
        .await
        .unwrap();
    let late = mkfile(&writer, d, "after-checkpoint").await;
    let store = Store::open_read_only(
        StoreConfig::new(url.clone()),
        ReadOnlyView::Checkpoint(checkpoint.id),
    )
    .await
    .unwrap();
    let pinned = Fs::open(store, FsOptions::default()).await.unwrap();
    assert_eq!(
        pinned.lookup(&root(), d, b"after").await.unwrap().ino,
        after
    );
    assert!(matches!(
        pinned.lookup(&root(), d, b"after-checkpoint").await,
        Err(FsError::NoEnt)
    ));
    assert_eq!(
        writer
            .lookup(&root(), d, b"after-checkpoint")
            .await
            .unwrap()
            .ino,
        late
    );
    assert_clean(&pinned).await;
    pinned.close().await.unwrap();
    writer.close().await.unwrap();
}

/// A read-only store over storage that holds no filesystem does not format it.
#[tokio::test]
async fn read_only_open_of_an_empty_store_formats_nothing() {
    use slatenfs::store::ReadOnlyView;
    let dir = tempfile::tempdir().unwrap();
    let url = StorageUrl::File(dir.path().to_path_buf());
    // A database without a filesystem in it.
    let store = Store::open(StoreConfig::new(url.clone())).await.unwrap();
    store.close().await.unwrap();
    let ro = Store::open_read_only(StoreConfig::new(url), ReadOnlyView::Latest)
        .await
        .unwrap();
    let mut b = slatenfs::store::StoreBatch::new();
    b.put(Bytes::from_static(b"k"), Bytes::from_static(b"v"));
    assert!(matches!(
        ro.write(b, slatenfs::store::Durability::Durable).await,
        Err(slatenfs::store::StoreError::ReadOnly)
    ));
    assert!(matches!(
        Fs::open(ro.clone(), FsOptions::default()).await,
        Err(FsError::Io(_))
    ));
    assert_eq!(ro.get(Bytes::from_static(b"S")).await.unwrap(), None);
}
