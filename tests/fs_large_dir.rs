//! A directory of 1,000,000 entries lists fully and lookup stays a point read.
//!
//! The directory is built with one `Fs::create` per entry (the keys, batches and locks of an
//! NFS CREATE), on real SlateDB over an in-memory object store, with asynchronous metadata (the
//! `--async` flag) so the build does not wait for a WAL PUT per create. The creates run one
//! after another: creates in one directory serialise on the directory's inode lock anyway, and
//! running them concurrently (8 or 32 in flight, one or two threads) measured slower.
//!
//! About 65-75 s and 1.3 GB peak RSS in a release build on 2 cores, almost all of it the build.

mod common;

use std::time::Instant;

use common::fs::{mkdir, mkfile, new_fs_with, root};
use slatenfs::fs::*;

const ENTRIES: usize = 1_000_000;

/// Entries the NFS layer asks the filesystem for on a READDIR with a 32 KiB `count`
/// (`count / MIN_ENTRY3 + 1`, MIN_ENTRY3 = 24 bytes).
const READDIR_PAGE: usize = 32 * 1024 / 24 + 1;

/// Entries asked for on a READDIRPLUS with a 32 KiB `maxcount`.
const READDIRPLUS_PAGE: usize = 32 * 1024 / 148 + 1;

fn name_of(i: usize) -> String {
    format!("entry-{i}")
}

/// Index `i` of a name `entry-{i}` (`None` for anything else, e.g. `entry-01`).
fn index_of(name: &[u8]) -> Option<usize> {
    let i: usize = std::str::from_utf8(name.strip_prefix(b"entry-")?)
        .ok()?
        .parse()
        .ok()?;
    (name_of(i).as_bytes() == name).then_some(i)
}

async fn lookup_cost(fs: &Fs, dir: InodeId, name: &str) -> (FsResult<LookupOk>, u64, u64) {
    let before = fs.store().op_stats();
    let r = fs.lookup(&root(), dir, name.as_bytes()).await;
    let after = fs.store().op_stats();
    (r, after.gets - before.gets, after.scans - before.scans)
}

#[tokio::test]
async fn directory_of_1m_entries_lists_fully_and_lookup_is_a_point_read() {
    let fs = new_fs_with(FsOptions {
        async_metadata: true,
        // The costs below count store reads, so every inode and entry read must reach the
        // store (with the caches on, which 1M creates fill and evict, they would depend on
        // what they happen to hold; a directory this big is never cached anyway).
        inode_cache_entries: 0,
        dir_cache_entries: 0,
        ..Default::default()
    })
    .await;
    let d = mkdir(&fs, fs.root(), "big").await;
    // A small directory to compare lookup costs with.
    let small = mkdir(&fs, fs.root(), "small").await;
    let small_file = mkfile(&fs, small, "only").await;

    // Build: every entry is an NFS CREATE through the filesystem.
    let t = Instant::now();
    for i in 0..ENTRIES {
        mkfile(&fs, d, &name_of(i)).await;
    }
    eprintln!("created {ENTRIES} entries in {:?}", t.elapsed());

    // READDIR over the whole directory: every name exactly once, and each page costs one
    // range scan and one point read (the directory inode), wherever it starts.
    let t = Instant::now();
    let ops_before = fs.store().op_stats();
    let mut seen = vec![false; ENTRIES];
    let (mut dot, mut dotdot) = (0, 0);
    let mut probes: Vec<(usize, InodeId)> = Vec::new();
    let probe_at = [0, ENTRIES / 2, ENTRIES - 1];
    let mut cookie = 0;
    let mut last_cookie = 0;
    let mut pages = 0usize;
    let mut mid_cookie = None;
    loop {
        let p = fs
            .readdir(&root(), d, cookie, [0; 8], READDIR_PAGE, false)
            .await
            .unwrap();
        pages += 1;
        assert!(p.entries.len() <= READDIR_PAGE);
        assert!(p.eof || !p.entries.is_empty(), "empty page before EOF");
        // Every 7th page, consume only part of it and resume from the last entry used, as a
        // client does when the reply ran out of bytes.
        let used = if pages.is_multiple_of(7) && p.entries.len() > 10 {
            p.entries.len() - 10
        } else {
            p.entries.len()
        };
        for e in &p.entries[..used] {
            assert!(e.cookie > last_cookie, "cookies go backwards");
            last_cookie = e.cookie;
            match &e.name[..] {
                b"." => {
                    dot += 1;
                    assert_eq!(e.ino, d);
                }
                b".." => {
                    dotdot += 1;
                    assert_eq!(e.ino, fs.root());
                }
                name => {
                    let i = index_of(name).unwrap_or_else(|| {
                        panic!("unexpected name {:?}", String::from_utf8_lossy(name))
                    });
                    assert!(!seen[i], "{} listed twice", name_of(i));
                    seen[i] = true;
                    if probe_at.contains(&i) {
                        probes.push((i, e.ino));
                    }
                }
            }
        }
        if mid_cookie.is_none() && last_cookie >= (ENTRIES / 2) as u64 {
            mid_cookie = Some(last_cookie);
        }
        if p.eof && used == p.entries.len() {
            break;
        }
        cookie = p.entries[used - 1].cookie;
    }
    let ops = fs.store().op_stats();
    assert_eq!(
        (ops.scans - ops_before.scans, ops.gets - ops_before.gets),
        (pages as u64, pages as u64),
        "READDIR store reads over {pages} pages"
    );
    let missing: Vec<usize> = (0..ENTRIES).filter(|&i| !seen[i]).take(5).collect();
    assert!(missing.is_empty(), "never listed: {missing:?}...");
    assert_eq!((dot, dotdot), (1, 1));
    eprintln!(
        "READDIR: {} entries in {pages} pages of <= {READDIR_PAGE} in {:?}",
        ENTRIES + 2,
        t.elapsed()
    );

    // READDIRPLUS: first, middle and last pages carry attributes and handles that match.
    let t = Instant::now();
    let mut plus_pages = 0;
    for start in [0, mid_cookie.unwrap(), last_cookie - 100] {
        let plain = fs
            .readdir(&root(), d, start, [0; 8], READDIRPLUS_PAGE, false)
            .await
            .unwrap();
        let plus = fs
            .readdir(&root(), d, start, [0; 8], READDIRPLUS_PAGE, true)
            .await
            .unwrap();
        plus_pages += 1;
        assert_eq!(plus.eof, plain.eof);
        assert_eq!(plus.entries.len(), plain.entries.len());
        assert!(!plus.entries.is_empty());
        for (e, q) in plus.entries.iter().zip(&plain.entries) {
            assert_eq!((&e.name, e.cookie, e.ino), (&q.name, q.cookie, q.ino));
            let a = e
                .attr
                .as_ref()
                .expect("READDIRPLUS entry without attributes");
            assert_eq!(a.fileid, e.ino.0);
            let o = e.object().expect("READDIRPLUS entry without generation");
            assert_eq!(fs.resolve(o).await.unwrap(), e.ino);
            if index_of(&e.name).is_some() {
                assert_eq!(a.ftype, FileType::Regular);
                assert_eq!(a.nlink, 1);
            }
        }
        if start == 0 {
            assert_eq!(&plus.entries[0].name[..], b".");
            assert_eq!(
                plus.entries[0].attr.as_ref().unwrap().ftype,
                FileType::Directory
            );
        } else {
            assert!(plus.entries.iter().all(|e| e.cookie > start));
        }
        if start == last_cookie - 100 {
            assert!(plus.eof);
            assert_eq!(plus.entries.last().unwrap().cookie, last_cookie);
        }
    }
    eprintln!(
        "READDIRPLUS: {plus_pages} pages of <= {READDIRPLUS_PAGE} in {:?}",
        t.elapsed()
    );

    // LOOKUP: a constant number of point reads and no scan, whatever the directory size.
    let (r, small_gets, small_scans) = lookup_cost(&fs, small, "only").await;
    assert_eq!(r.unwrap().ino, small_file);
    assert_eq!(small_scans, 0);
    assert_eq!(probes.len(), probe_at.len());
    let t = Instant::now();
    for &(i, ino) in &probes {
        let (r, gets, scans) = lookup_cost(&fs, d, &name_of(i)).await;
        let l = r.unwrap();
        assert_eq!(l.ino, ino);
        assert_eq!(l.attr.ftype, FileType::Regular);
        assert_eq!(
            (gets, scans),
            (small_gets, 0),
            "lookup of {} in the 1M directory",
            name_of(i)
        );
    }
    let (_, miss_small_gets, _) = lookup_cost(&fs, small, "entry-0").await;
    for missing in [name_of(ENTRIES), "entry-".to_string(), "zzz".to_string()] {
        let (r, gets, scans) = lookup_cost(&fs, d, &missing).await;
        assert!(matches!(r, Err(FsError::NoEnt)), "{missing}: {r:?}");
        assert_eq!((gets, scans), (miss_small_gets, 0), "lookup of {missing}");
    }
    eprintln!(
        "LOOKUP: {small_gets} point gets, 0 scans for a hit ({miss_small_gets} for a miss), \
         in the 1M and the 1-entry directory; {} lookups in {:?}",
        probes.len() + 3,
        t.elapsed()
    );
    let a = fs.getattr(d).await.unwrap();
    assert_eq!(a.nlink, 2);
}
