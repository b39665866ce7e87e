//! Concurrency across shards, end to end: the real `slatenfs serve` with two cores (so inodes
//! are owned by different cores and multi-inode operations cross them), eight client
//! connections renaming, linking, creating and removing in a shared set of directories at
//! once. Afterwards the server is stopped, the store is opened in this process and:
//! - `Fs::fsck` finds every invariant intact (each entry names a live inode, each nlink equals
//!   the names of its inode, directories' link counts and parents, no orphan chunks);
//! - what the server lists over NFS is exactly what is stored (no entry lost or duplicated);
//! - every surviving file still holds the content it was created with (its own name), so no
//!   rename crossed two files' identities.
//!
//! The operation mix and count are fixed; only the interleaving varies from run to run, and
//! every interleaving must satisfy the same checks.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use common::fs::{assert_clean, open_file_fs};
use common::server::{ServeOptions, Server};
use common::XorShift;
use slatenfs::fs::{Credentials, FileType, InodeId};
use slatenfs::netclient::{decode_nfs, Connection};
use slatenfs::proto::nfs3::{
    proc3, Diropargs3, Link3Args, Nfs3Call, Nfs3Reply, Nfs3Res, NfsFh3, Nfsstat3, StableHow,
    NFS_PROGRAM, NFS_V3,
};
use slatenfs::proto::rpc::ReplyStatus;

const DIRS: usize = 6;
const NAMES: usize = 12;
const CLIENTS: usize = 8;
const OPS_PER_CLIENT: usize = 300;

/// The server's log: `$STRESS_LOG` if set, else inherited stderr.
fn log_file() -> Stdio {
    match std::env::var("STRESS_LOG") {
        Ok(path) => std::fs::File::create(path).map_or(Stdio::inherit(), Stdio::from),
        Err(_) => Stdio::inherit(),
    }
}

fn name(i: usize) -> Vec<u8> {
    format!("n{i:02}").into_bytes()
}

/// Errors a racing operation may legitimately get; anything else fails the test.
fn expected_race(status: Option<Nfsstat3>) -> bool {
    matches!(
        status,
        Some(
            Nfsstat3::Noent
                | Nfsstat3::Exist
                | Nfsstat3::Isdir
                | Nfsstat3::Notdir
                | Nfsstat3::Notempty
                | Nfsstat3::Stale
                | Nfsstat3::Inval
        )
    )
}

/// The NFS status of a failed call; a transport or protocol failure fails the test at once.
fn status_or_panic(what: &str, e: slatenfs::netclient::ClientError) -> Option<Nfsstat3> {
    match e.nfs_status() {
        Some(s) => Some(s),
        None => panic!("{what}: {e}"),
    }
}

fn link(c: &mut Connection, file: &[u8], dir: &[u8], to: &[u8]) -> Result<(), Option<Nfsstat3>> {
    let call = Nfs3Call::Link(Link3Args {
        file: NfsFh3(file),
        link: Diropargs3 {
            dir: NfsFh3(dir),
            name: to,
        },
    });
    match c.call_raw(NFS_PROGRAM, NFS_V3, proc3::LINK, &call) {
        Ok(ReplyStatus::Success(body)) => match decode_nfs(proc3::LINK, &body) {
            Ok(Nfs3Reply::Link(Nfs3Res::Ok(_))) => Ok(()),
            Ok(Nfs3Reply::Link(Nfs3Res::Fail(s, _))) => Err(Some(s)),
            other => panic!("LINK: {other:?}"),
        },
        other => panic!("LINK: {other:?}"),
    }
}

fn client_run(server: &Server, dirs: &[Vec<u8>], seed: u64) -> usize {
    let mut c = server.connect(b"stress", Duration::from_secs(60));
    let mut rng = XorShift(seed | 1);
    let mut done = 0;
    for _ in 0..OPS_PER_CLIENT {
        let (d1, d2) = (&dirs[rng.index(DIRS)], &dirs[rng.index(DIRS)]);
        let (n1, n2) = (name(rng.index(NAMES)), name(rng.index(NAMES)));
        let op = rng.index(10);
        let r: Result<(), Option<Nfsstat3>> = match op {
            // Create a file whose content is its own name (checked at the end).
            0..=2 => match c.create(d1, &n1, 0o644, true) {
                Ok(fh) => c
                    .write(&fh, 0, StableHow::Unstable, Bytes::from(n1.clone()))
                    .map(|_| ())
                    .map_err(|e| status_or_panic("WRITE", e)),
                Err(e) => Err(status_or_panic("CREATE", e)),
            },
            3..=5 => c
                .rename(d1, &n1, d2, &n2)
                .map_err(|e| status_or_panic("RENAME", e)),
            6 | 7 => match c.lookup(d1, &n1) {
                Ok((fh, _)) => link(&mut c, &fh, d2, &n2),
                Err(e) => Err(status_or_panic("LOOKUP", e)),
            },
            _ => c.remove(d1, &n1).map_err(|e| status_or_panic("REMOVE", e)),
        };
        match r {
            Ok(()) => done += 1,
            Err(s) if expected_race(s) => {}
            Err(s) => panic!("op {op}: unexpected failure {s:?} (after {done} successes)"),
        }
    }
    done
}

#[test]
fn renames_links_and_removes_across_shards_keep_every_invariant() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(&ServeOptions {
        storage: format!("file://{}", data.display()),
        cores: std::env::var("STRESS_CORES").unwrap_or_else(|_| "2".into()),
        cache_size_gb: "0.25",
        rust_log: std::env::var("STRESS_RUST_LOG").unwrap_or_else(|_| "warn".into()),
        stderr: log_file,
        ..ServeOptions::default()
    });
    let mut c = server.connect(b"stress", Duration::from_secs(60));
    let root = c.mount(b"/").unwrap();
    let top = c.mkdir_or_lookup(&root, b"stress", 0o755).unwrap();
    let dirs: Vec<Vec<u8>> = (0..DIRS)
        .map(|i| c.mkdir(&top, format!("d{i}").as_bytes(), 0o755).unwrap())
        .collect();

    let successes: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let (server, dirs) = (&server, &dirs);
                s.spawn(move || client_run(server, dirs, 0x9E37_79B9 * (i as u64 + 1)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert!(
        successes > CLIENTS * OPS_PER_CLIENT / 10,
        "too few operations succeeded ({successes}): the test would prove little"
    );

    // What the server lists over NFS, per directory: name → fileid.
    let mut listed: BTreeMap<usize, BTreeMap<Vec<u8>, u64>> = BTreeMap::new();
    for (i, d) in dirs.iter().enumerate() {
        let mut names = BTreeMap::new();
        for e in c.readdirplus_all(d, 100_000).unwrap() {
            if e.name == b"." || e.name == b".." {
                continue;
            }
            assert!(
                names.insert(e.name.clone(), e.fileid).is_none(),
                "d{i}: {:?} listed twice",
                String::from_utf8_lossy(&e.name)
            );
            // A hard link keeps the identity (and so the content) of the file it names.
            let (fh, _) = c.lookup(d, &e.name).unwrap();
            let got = c.read(&fh, 0, 64).unwrap().data;
            assert!(
                got.len() == 3 && got.starts_with(b"n"),
                "d{i}/{:?} holds {got:?}",
                String::from_utf8_lossy(&e.name)
            );
            let attr = c.getattr(&fh).unwrap();
            assert_eq!(attr.fileid, e.fileid);
        }
        listed.insert(i, names);
    }
    drop(c);
    let status = server
        .stop(Duration::from_secs(60))
        .expect("slatenfs did not stop on SIGTERM");
    assert!(status.success(), "slatenfs exited with {status}");

    // The stored state, read directly.
    futures::executor::block_on(async {
        let fs = open_file_fs(&data).await;
        assert_clean(&fs).await;
        let root_cred = Credentials::root();
        let top = fs
            .lookup(&root_cred, fs.root(), b"stress")
            .await
            .unwrap()
            .ino;
        let mut links: BTreeMap<u64, u32> = BTreeMap::new();
        for (i, names) in &listed {
            let d = fs
                .lookup(&root_cred, top, format!("d{i}").as_bytes())
                .await
                .unwrap()
                .ino;
            let page = fs
                .readdir(&root_cred, d, 0, [0; 8], 100_000, true)
                .await
                .unwrap();
            assert!(page.eof);
            let stored: BTreeMap<Vec<u8>, u64> = page
                .entries
                .iter()
                .filter(|e| &e.name[..] != b"." && &e.name[..] != b"..")
                .map(|e| (e.name.to_vec(), e.ino.0))
                .collect();
            assert_eq!(&stored, names, "d{i}: NFS listing and store disagree");
            for e in page.entries.iter().filter(|e| e.name.len() == 3) {
                let a = e.attr.as_ref().unwrap();
                assert_eq!(a.ftype, FileType::Regular);
                *links.entry(e.ino.0).or_default() += 1;
            }
        }
        // Each surviving file's nlink equals the names found for it.
        for (ino, n) in &links {
            assert_eq!(
                fs.getattr(InodeId(*ino)).await.unwrap().nlink,
                *n,
                "inode {ino}"
            );
        }
        let files: BTreeSet<u64> = links.keys().copied().collect();
        assert!(!files.is_empty());
        fs.close().await.unwrap();
    });
}
