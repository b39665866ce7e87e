//! Random operation sequences checked against an in-memory model, plus a concurrent stress
//! test; the invariant checker (`Fs::fsck`) runs after each.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use common::fs::{new_fs_with, root};
use common::XorShift;
use proptest::prelude::*;
use slatenfs::fs::*;

const NAMES: [&str; 4] = ["a", "b", "c", "d"];

#[derive(Debug, Clone)]
enum Op {
    Create(usize, usize),
    Mkdir(usize, usize),
    Write(usize, u64, usize, u8),
    Truncate(usize, u64),
    Rename(usize, usize, usize, usize),
    Link(usize, usize, usize),
    Remove(usize, usize),
    Rmdir(usize, usize),
    Read(usize, u64, u32),
    Readdir(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let n = 0..NAMES.len();
    let i = 0usize..16;
    prop_oneof![
        3 => (i.clone(), n.clone()).prop_map(|(d, n)| Op::Create(d, n)),
        2 => (i.clone(), n.clone()).prop_map(|(d, n)| Op::Mkdir(d, n)),
        3 => (i.clone(), 0u64..200_000, 0usize..70_000, any::<u8>())
            .prop_map(|(f, o, l, s)| Op::Write(f, o, l, s)),
        1 => (i.clone(), 0u64..200_000).prop_map(|(f, s)| Op::Truncate(f, s)),
        3 => (i.clone(), n.clone(), i.clone(), n.clone())
            .prop_map(|(a, b, c, d)| Op::Rename(a, b, c, d)),
        1 => (i.clone(), i.clone(), n.clone()).prop_map(|(f, d, n)| Op::Link(f, d, n)),
        2 => (i.clone(), n.clone()).prop_map(|(d, n)| Op::Remove(d, n)),
        1 => (i.clone(), n.clone()).prop_map(|(d, n)| Op::Rmdir(d, n)),
        2 => (i.clone(), 0u64..200_000, 0u32..100_000).prop_map(|(f, o, l)| Op::Read(f, o, l)),
        1 => i.prop_map(Op::Readdir),
    ]
}

#[derive(Debug, Clone)]
enum Node {
    File(Vec<u8>),
    Dir,
}

/// The model: inodes by real id, entries by (dir, name).
#[derive(Debug, Default)]
struct Model {
    nodes: BTreeMap<u64, Node>,
    entries: BTreeMap<(u64, String), u64>,
}

impl Model {
    fn dirs(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .filter(|(_, n)| matches!(n, Node::Dir))
            .map(|(i, _)| *i)
            .collect()
    }
    fn files(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .filter(|(_, n)| matches!(n, Node::File(_)))
            .map(|(i, _)| *i)
            .collect()
    }
    fn pick(v: &[u64], i: usize) -> Option<u64> {
        if v.is_empty() {
            None
        } else {
            Some(v[i % v.len()])
        }
    }
    fn is_dir(&self, i: u64) -> bool {
        matches!(self.nodes.get(&i), Some(Node::Dir))
    }
    fn children(&self, d: u64) -> Vec<(String, u64)> {
        self.entries
            .iter()
            .filter(|((dd, _), _)| *dd == d)
            .map(|((_, n), i)| (n.clone(), *i))
            .collect()
    }
    fn parent(&self, d: u64) -> Option<u64> {
        self.entries
            .iter()
            .find(|(_, i)| **i == d)
            .map(|((p, _), _)| *p)
    }
    /// Whether `d` is `anc` or lies below it.
    fn within(&self, mut d: u64, anc: u64, root: u64) -> bool {
        loop {
            if d == anc {
                return true;
            }
            if d == root {
                return false;
            }
            match self.parent(d) {
                Some(p) => d = p,
                None => return false,
            }
        }
    }
    fn links(&self, i: u64) -> usize {
        self.entries.values().filter(|v| **v == i).count()
    }
    fn drop_if_unlinked(&mut self, i: u64) {
        if self.links(i) == 0 {
            self.nodes.remove(&i);
        }
    }
}

async fn list(fs: &Fs, d: InodeId, page: usize) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut cookie = 0;
    loop {
        let p = fs
            .readdir(&root(), d, cookie, [0; 8], page, false)
            .await
            .unwrap();
        assert!(!p.entries.is_empty() || p.eof, "empty page without eof");
        for e in &p.entries {
            let n = String::from_utf8_lossy(&e.name).into_owned();
            if n != "." && n != ".." {
                out.push((n, e.ino.0));
            }
        }
        if p.eof {
            break;
        }
        cookie = p.entries.last().unwrap().cookie;
    }
    out.sort();
    out
}

async fn run_sequence(ops: Vec<Op>) {
    let fs = new_fs_with(FsOptions {
        async_metadata: true,
        inline_reclaim_chunks: 1,
        ..Default::default()
    })
    .await;
    let r = fs.root().0;
    let mut m = Model::default();
    m.nodes.insert(r, Node::Dir);
    let cred = root();
    for op in ops {
        let dirs = m.dirs();
        let files = m.files();
        match op {
            Op::Create(d, n) | Op::Mkdir(d, n) => {
                let d = Model::pick(&dirs, d).unwrap();
                let name = NAMES[n];
                let exists = m.entries.contains_key(&(d, name.to_string()));
                let res = if matches!(op, Op::Create(..)) {
                    fs.create(
                        &cred,
                        InodeId(d),
                        name.as_bytes(),
                        &CreateHow::Guarded(SetAttr::default()),
                    )
                    .await
                } else {
                    fs.mkdir(&cred, InodeId(d), name.as_bytes(), &SetAttr::default())
                        .await
                };
                match res {
                    Ok(c) => {
                        assert!(!exists, "{op:?} succeeded over an existing name");
                        let node = if matches!(op, Op::Create(..)) {
                            Node::File(Vec::new())
                        } else {
                            Node::Dir
                        };
                        m.nodes.insert(c.ino.0, node);
                        m.entries.insert((d, name.to_string()), c.ino.0);
                    }
                    Err(FsError::Exist) => assert!(exists),
                    Err(e) => panic!("{op:?}: {e}"),
                }
            }
            Op::Write(f, off, len, seed) => {
                let Some(f) = Model::pick(&files, f) else {
                    continue;
                };
                let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_add(seed) | 1).collect();
                fs.write(
                    &cred,
                    InodeId(f),
                    off,
                    Bytes::from(data.clone()),
                    StableHow::Unstable,
                )
                .await
                .unwrap();
                if let Some(Node::File(c)) = m.nodes.get_mut(&f) {
                    let end = off as usize + len;
                    if len > 0 && c.len() < end {
                        c.resize(end, 0);
                    }
                    if len > 0 {
                        c[off as usize..end].copy_from_slice(&data);
                    }
                }
            }
            Op::Truncate(f, size) => {
                let Some(f) = Model::pick(&files, f) else {
                    continue;
                };
                fs.setattr(
                    &cred,
                    InodeId(f),
                    &SetAttr {
                        size: Some(size),
                        ..Default::default()
                    },
                    None,
                )
                .await
                .unwrap();
                if let Some(Node::File(c)) = m.nodes.get_mut(&f) {
                    c.resize(size as usize, 0);
                }
            }
            Op::Read(f, off, len) => {
                let Some(f) = Model::pick(&files, f) else {
                    continue;
                };
                let got = fs.read(&cred, InodeId(f), off, len).await.unwrap();
                if let Some(Node::File(c)) = m.nodes.get(&f) {
                    let s = (off as usize).min(c.len());
                    let e = (off as usize + len as usize).min(c.len());
                    assert!(got.data[..] == c[s..e], "read {f} at {off}+{len}");
                    assert_eq!(got.eof, off as usize + len as usize >= c.len());
                }
            }
            Op::Readdir(d) => {
                let d = Model::pick(&dirs, d).unwrap();
                let mut want = m.children(d);
                want.sort();
                assert_eq!(list(&fs, InodeId(d), 3).await, want);
            }
            Op::Link(f, d, n) => {
                let Some(f) = Model::pick(&files, f) else {
                    continue;
                };
                let d = Model::pick(&dirs, d).unwrap();
                let name = NAMES[n];
                let exists = m.entries.contains_key(&(d, name.to_string()));
                match fs
                    .link(&cred, InodeId(f), InodeId(d), name.as_bytes())
                    .await
                {
                    Ok(_) => {
                        assert!(!exists);
                        m.entries.insert((d, name.to_string()), f);
                    }
                    Err(FsError::Exist) => assert!(exists),
                    Err(e) => panic!("{op:?}: {e}"),
                }
            }
            Op::Remove(d, n) | Op::Rmdir(d, n) => {
                let d = Model::pick(&dirs, d).unwrap();
                let name = NAMES[n].to_string();
                let target = m.entries.get(&(d, name.clone())).copied();
                let is_rmdir = matches!(op, Op::Rmdir(..));
                let valid = match target {
                    None => false,
                    Some(t) if is_rmdir => m.is_dir(t) && m.children(t).is_empty(),
                    Some(t) => !m.is_dir(t),
                };
                let res = if is_rmdir {
                    fs.rmdir(&cred, InodeId(d), name.as_bytes()).await
                } else {
                    fs.remove(&cred, InodeId(d), name.as_bytes()).await
                };
                assert_eq!(res.is_ok(), valid, "{op:?}: {res:?}");
                if let (Ok(_), Some(t)) = (res, target) {
                    m.entries.remove(&(d, name));
                    m.drop_if_unlinked(t);
                }
            }
            Op::Rename(sd, sn, td, tn) => {
                let sd = Model::pick(&dirs, sd).unwrap();
                let td = Model::pick(&dirs, td).unwrap();
                let (sn, tn) = (NAMES[sn].to_string(), NAMES[tn].to_string());
                let src = m.entries.get(&(sd, sn.clone())).copied();
                let dst = m.entries.get(&(td, tn.clone())).copied();
                let valid = match src {
                    None => false,
                    Some(s) => {
                        if m.is_dir(s) && m.within(td, s, r) {
                            false
                        } else {
                            match dst {
                                None => true,
                                Some(t) if t == s => true,
                                Some(t) => match (m.is_dir(s), m.is_dir(t)) {
                                    (true, true) => m.children(t).is_empty(),
                                    (false, false) => true,
                                    _ => false,
                                },
                            }
                        }
                    }
                };
                let res = fs
                    .rename(
                        &cred,
                        InodeId(sd),
                        sn.as_bytes(),
                        InodeId(td),
                        tn.as_bytes(),
                    )
                    .await;
                assert_eq!(res.is_ok(), valid, "{op:?}: {res:?}");
                if let (Ok(_), Some(s)) = (res, src) {
                    if dst != Some(s) {
                        m.entries.remove(&(sd, sn));
                        if let Some(t) = m.entries.insert((td, tn), s) {
                            m.drop_if_unlinked(t);
                        }
                    }
                }
            }
        }
    }
    // Whole-tree comparison.
    for d in m.dirs() {
        let mut want = m.children(d);
        want.sort();
        assert_eq!(list(&fs, InodeId(d), 1000).await, want);
        let a = fs.getattr(InodeId(d)).await.unwrap();
        let subdirs = want.iter().filter(|(_, i)| m.is_dir(*i)).count();
        assert_eq!(a.nlink as usize, 2 + subdirs);
    }
    for f in m.files() {
        let Some(Node::File(c)) = m.nodes.get(&f) else {
            continue;
        };
        let a = fs.getattr(InodeId(f)).await.unwrap();
        assert_eq!(a.size as usize, c.len());
        assert_eq!(a.nlink as usize, m.links(f));
        let got = fs
            .read(&cred, InodeId(f), 0, c.len() as u32 + 1)
            .await
            .unwrap();
        assert!(got.data[..] == c[..]);
    }
    fs.reclaim_pending().await.unwrap();
    let rep = fs.fsck().await.unwrap();
    assert!(rep.is_clean(), "fsck: {:?}", rep.errors);
    assert_eq!(rep.inodes, m.nodes.len());
    assert_eq!(rep.pending_reclaim, 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn random_sequences_match_model(ops in proptest::collection::vec(op(), 1..80)) {
        futures::executor::block_on(run_sequence(ops));
    }
}

/// Several tasks rename, link, create and remove across shared directories at once; afterwards
/// every invariant must hold (and nothing deadlocks).
#[test]
fn concurrent_stress_keeps_invariants() {
    concurrent_stress(FsOptions::default());
}

/// The same with inode and directory caches so small that they evict all the time, so that
/// fills from readers race publishes and evictions (fsck then compares every cached inode and
/// listing with the store).
#[test]
fn concurrent_stress_with_tiny_caches() {
    concurrent_stress(FsOptions {
        inode_cache_entries: 64 * 2 * 2,
        // 2 entries per directory listing at most: directories drop in and out of the cache.
        dir_cache_entries: 8 * 2 * 2,
        ..FsOptions::default()
    });
}

fn concurrent_stress(opts: FsOptions) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let fs = new_fs_with(opts).await;
        let cred = root();
        let mut dirs = vec![fs.root()];
        for i in 0..4 {
            let d = fs
                .mkdir(
                    &cred,
                    fs.root(),
                    format!("d{i}").as_bytes(),
                    &SetAttr::default(),
                )
                .await
                .unwrap();
            dirs.push(d.ino);
        }
        let dirs = Arc::new(parking_lot::Mutex::new(dirs));
        let files = Arc::new(parking_lot::Mutex::new(Vec::<InodeId>::new()));
        let ok = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for t in 0..8u64 {
            let fs = fs.clone();
            let dirs = dirs.clone();
            let files = files.clone();
            let ok = ok.clone();
            tasks.push(tokio::spawn(async move {
                let cred = root();
                let mut rng = XorShift(t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
                for _ in 0..150 {
                    let ds = dirs.lock().clone();
                    let a = ds[rng.index(ds.len())];
                    let b = ds[rng.index(ds.len())];
                    let n1 = NAMES[rng.index(NAMES.len())].as_bytes();
                    let n2 = NAMES[rng.index(NAMES.len())].as_bytes();
                    let res = match rng.index(8) {
                        0 => fs
                            .create(&cred, a, n1, &CreateHow::Guarded(SetAttr::default()))
                            .await
                            .map(|c| files.lock().push(c.ino)),
                        1 => fs
                            .mkdir(&cred, a, n1, &SetAttr::default())
                            .await
                            .map(|c| dirs.lock().push(c.ino)),
                        2 | 3 => fs.rename(&cred, a, n1, b, n2).await.map(|_| ()),
                        4 => {
                            let f = files.lock().get(rng.index(64)).copied();
                            match f {
                                Some(f) => fs.link(&cred, f, b, n2).await.map(|_| ()),
                                None => Ok(()),
                            }
                        }
                        5 => fs.remove(&cred, a, n1).await.map(|_| ()),
                        6 => fs.rmdir(&cred, a, n1).await.map(|_| ()),
                        _ => {
                            let f = files.lock().get(rng.index(64)).copied();
                            match f {
                                Some(f) => fs
                                    .write(
                                        &cred,
                                        f,
                                        rng.below(200_000),
                                        Bytes::from(vec![1u8; 1000]),
                                        StableHow::Unstable,
                                    )
                                    .await
                                    .map(|_| ()),
                                None => Ok(()),
                            }
                        }
                    };
                    if res.is_ok() {
                        ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    match res {
                        Ok(())
                        | Err(FsError::NoEnt)
                        | Err(FsError::Exist)
                        | Err(FsError::NotEmpty)
                        | Err(FsError::Inval)
                        | Err(FsError::NotDir)
                        | Err(FsError::IsDir)
                        | Err(FsError::Stale) => {}
                        Err(e) => panic!("unexpected error: {e}"),
                    }
                }
            }));
        }
        // Readers fill the inode cache while the writers change the same inodes.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut readers = Vec::new();
        for t in 0..4u64 {
            let (fs, dirs, files, stop) = (fs.clone(), dirs.clone(), files.clone(), stop.clone());
            readers.push(tokio::spawn(async move {
                let cred = root();
                let mut i = t as usize;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i = i.wrapping_mul(31).wrapping_add(7);
                    let d = {
                        let ds = dirs.lock();
                        ds[i % ds.len()]
                    };
                    let f = {
                        let fs = files.lock();
                        (!fs.is_empty()).then(|| fs[i % fs.len()])
                    };
                    let _ = fs.getattr(d).await;
                    if let Some(f) = f {
                        let _ = fs.getattr(f).await;
                    }
                    let _ = fs.readdir(&cred, d, 0, [0; 8], 64, true).await;
                    let _ = fs.lookup(&cred, d, NAMES[i % NAMES.len()].as_bytes()).await;
                    tokio::task::yield_now().await;
                }
            }));
        }
        let all = futures::future::join_all(tasks);
        tokio::time::timeout(std::time::Duration::from_secs(120), all)
            .await
            .expect("stress test deadlocked")
            .into_iter()
            .for_each(|r| r.unwrap());
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for r in futures::future::join_all(readers).await {
            r.unwrap();
        }
        fs.reclaim_pending().await.unwrap();
        let rep = fs.fsck().await.unwrap();
        assert!(rep.is_clean(), "fsck: {:?}", rep.errors);
        let st = fs.inode_cache_stats();
        let dst = fs.dir_cache_stats();
        eprintln!("inode cache: {st:?}; directory cache: {dst:?}");
        assert!(st.hits > 0, "the inode cache was never used: {st:?}");
        assert!(dst.hits > 0, "the directory cache was never used: {dst:?}");
        let ok = ok.load(std::sync::atomic::Ordering::Relaxed);
        eprintln!(
            "stress: {ok} of 1200 operations succeeded; {} inodes, {} entries",
            rep.inodes, rep.entries
        );
        assert!(ok > 200);
    });
}
