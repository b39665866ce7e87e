//! Crash points below the server: a seeded workload of durable creates and writes, UNSTABLE
//! writes with COMMIT, renames, links and removes runs on real SlateDB over an in-memory object
//! store that lets the first N changing calls (PUTs, DELETEs) through and no more: the process
//! "dies" at that boundary, the store keeps a prefix of what was written. Then the storage is
//! reopened, as after a crash, and checked: `fsck` is clean, every change that was
//! acknowledged is there, and every name no unacknowledged change touched is as acknowledged.
//! This is where ordering bugs between the WAL, L0 flushes, the manifest and the reclaim queue
//! show up. `make test` cuts at up to CRASH_POINTS_MAX (24) boundaries spread over the
//! workload; `CRASH_POINTS_MAX=0` (make soak) cuts at every one.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::fs::{assert_clean, mkdir, root};
use common::XorShift;
use futures::future::BoxFuture;
use futures::FutureExt;
use object_store::memory::InMemory;
use object_store::ObjectStore;
use slatenfs::fs::*;
use slatenfs::store::intercept::{Call, CallPolicy, Intercepted};
use slatenfs::store::{StorageUrl, Store, StoreConfig};

/// Lets `budget` changing calls through once armed; every later one never answers (the process
/// is gone). Reads go on, as they would until the crash.
struct CutAfter {
    armed: AtomicBool,
    budget: AtomicI64,
    /// Changing calls let through since armed.
    passed: AtomicU64,
}

impl CutAfter {
    fn new(budget: i64) -> Arc<Self> {
        Arc::new(CutAfter {
            armed: AtomicBool::new(false),
            budget: AtomicI64::new(budget),
            passed: AtomicU64::new(0),
        })
    }
}

impl CallPolicy for CutAfter {
    fn around<'a, T: Send + 'a>(
        &'a self,
        call: Call<'a>,
        run: BoxFuture<'a, object_store::Result<T>>,
    ) -> BoxFuture<'a, object_store::Result<T>> {
        if call.kind.is_mutation() && self.armed.load(Ordering::Acquire) {
            if self.budget.fetch_sub(1, Ordering::AcqRel) <= 0 {
                return futures::future::pending().boxed();
            }
            self.passed.fetch_add(1, Ordering::Relaxed);
        }
        run
    }

    fn describe(&self) -> String {
        "CutAfter".into()
    }
}

/// The store's configuration: with `cut`, a change the dead store cannot confirm fails soon
/// instead of after 15 s; without, a slow machine is given the usual limits (a change that
/// timed out would end the workload early, as if the store had died).
fn config(cut: bool) -> StoreConfig {
    let healthy = StoreConfig::new(StorageUrl::Memory);
    if !cut {
        return healthy;
    }
    StoreConfig {
        wait_limit: Duration::from_millis(300),
        object_store_timeout: Duration::from_millis(300),
        ..healthy
    }
}

/// A name: (directory index, name).
type Name = (usize, String);

/// What the clients were told: names to file ids, file ids to contents.
#[derive(Default, Clone)]
struct Model {
    names: BTreeMap<Name, u32>,
    contents: BTreeMap<u32, Vec<u8>>,
    next_id: u32,
}

/// What the change in flight at the crash touched: neither state is promised for these.
#[derive(Default)]
struct Uncertain {
    names: BTreeSet<Name>,
    files: BTreeSet<u32>,
}

const DIRS: usize = 2;
const NAMES: usize = 8;
const OPS: usize = 48;

fn random_name(rng: &mut XorShift) -> Name {
    (
        rng.below(DIRS as u64) as usize,
        format!("f{}", rng.below(NAMES as u64)),
    )
}

fn random_data(rng: &mut XorShift, max: u64) -> Vec<u8> {
    let len = 1 + rng.below(max) as usize;
    let seed = rng.next() as u8;
    (0..len)
        .map(|i| seed.wrapping_add((i % 251) as u8))
        .collect()
}

async fn file_of(fs: &Fs, dirs: &[InodeId], name: &Name) -> FsResult<InodeId> {
    Ok(fs
        .lookup(&root(), dirs[name.0], name.1.as_bytes())
        .await?
        .ino)
}

/// Runs the seeded workload until its first failure (the crash) or its end; returns what was
/// acknowledged and what the failed change touched.
async fn run_workload(fs: &Fs, dirs: &[InodeId], seed: u64) -> (Model, Uncertain) {
    let mut rng = XorShift(seed);
    let mut model = Model::default();
    for _ in 0..OPS {
        let mut uncertain = Uncertain::default();
        let taken: Vec<Name> = model.names.keys().cloned().collect();
        let pick = |rng: &mut XorShift| taken[rng.below(taken.len() as u64) as usize].clone();
        let choice = if taken.is_empty() { 0 } else { rng.below(5) };
        let outcome: FsResult<()> = async {
            match choice {
                // Create and write durably (FILE_SYNC).
                0 => {
                    let name = random_name(&mut rng);
                    if model.names.contains_key(&name) {
                        return Ok(());
                    }
                    let data = random_data(&mut rng, 150_000);
                    uncertain.names.insert(name.clone());
                    let ino = fs
                        .create(
                            &root(),
                            dirs[name.0],
                            name.1.as_bytes(),
                            &CreateHow::Guarded(SetAttr::default()),
                        )
                        .await?
                        .ino;
                    fs.write(
                        &root(),
                        ino,
                        0,
                        Bytes::from(data.clone()),
                        StableHow::FileSync,
                    )
                    .await?;
                    let id = model.next_id;
                    model.next_id += 1;
                    model.names.insert(name, id);
                    model.contents.insert(id, data);
                }
                // Patch UNSTABLE, then COMMIT.
                1 => {
                    let name = pick(&mut rng);
                    let id = model.names[&name];
                    let patch = random_data(&mut rng, 20_000);
                    let size = model.contents[&id].len() as u64;
                    let offset = rng.below(size + 1);
                    uncertain.files.insert(id);
                    let ino = file_of(fs, dirs, &name).await?;
                    fs.write(
                        &root(),
                        ino,
                        offset,
                        Bytes::from(patch.clone()),
                        StableHow::Unstable,
                    )
                    .await?;
                    fs.commit(&root(), ino, 0, 0).await?;
                    let content = model.contents.get_mut(&id).expect("modelled file");
                    let end = offset as usize + patch.len();
                    if content.len() < end {
                        content.resize(end, 0);
                    }
                    content[offset as usize..end].copy_from_slice(&patch);
                }
                // Rename to a free name (maybe in the other directory).
                2 => {
                    let from = pick(&mut rng);
                    let to = random_name(&mut rng);
                    if model.names.contains_key(&to) {
                        return Ok(());
                    }
                    uncertain.names.extend([from.clone(), to.clone()]);
                    fs.rename(
                        &root(),
                        dirs[from.0],
                        from.1.as_bytes(),
                        dirs[to.0],
                        to.1.as_bytes(),
                    )
                    .await?;
                    let id = model.names.remove(&from).expect("modelled name");
                    model.names.insert(to, id);
                }
                // A second name for a file.
                3 => {
                    let from = pick(&mut rng);
                    let to = random_name(&mut rng);
                    if model.names.contains_key(&to) {
                        return Ok(());
                    }
                    uncertain.names.insert(to.clone());
                    let ino = file_of(fs, dirs, &from).await?;
                    fs.link(&root(), ino, dirs[to.0], to.1.as_bytes()).await?;
                    let id = model.names[&from];
                    model.names.insert(to, id);
                }
                // Remove a name.
                _ => {
                    let name = pick(&mut rng);
                    uncertain.names.insert(name.clone());
                    fs.remove(&root(), dirs[name.0], name.1.as_bytes()).await?;
                    let id = model.names.remove(&name).expect("modelled name");
                    if !model.names.values().any(|&other| other == id) {
                        model.contents.remove(&id);
                    }
                }
            }
            Ok(())
        }
        .await;
        if outcome.is_err() {
            return (model, uncertain);
        }
    }
    (model, Uncertain::default())
}

/// Opens the filesystem on `os` and makes the two directories the workload uses.
async fn open_with_dirs(os: Arc<dyn ObjectStore>, cut: bool) -> (Fs, Vec<InodeId>) {
    let store = Store::open_with_object_store(os, config(cut))
        .await
        .unwrap();
    let fs = Fs::open(store, FsOptions::default()).await.unwrap();
    let mut dirs = Vec::new();
    for d in 0..DIRS {
        dirs.push(mkdir(&fs, fs.root(), &format!("d{d}")).await);
    }
    (fs, dirs)
}

/// The workload with a cut after `budget` changing calls (`None`: no cut), checked after
/// reopening: the calls it let through and the changes acknowledged before the crash.
async fn crash_at(seed: u64, budget: Option<i64>) -> (u64, usize) {
    let memory: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let cut = CutAfter::new(budget.unwrap_or(i64::MAX));
    let intercepted = Arc::new(Intercepted::new(memory.clone(), cut.clone()));
    let (fs, dirs) = open_with_dirs(intercepted, budget.is_some()).await;
    cut.armed.store(true, Ordering::Release);
    let (model, uncertain) = run_workload(&fs, &dirs, seed).await;
    let passed = cut.passed.load(Ordering::Relaxed);
    let acknowledged = model.names.len();
    drop(fs); // the crash: nothing more reaches the store

    let store = Store::open_with_object_store(memory, config(false))
        .await
        .unwrap();
    let fs = Fs::open(store, FsOptions::default()).await.unwrap();
    assert_clean(&fs).await;
    let mut dirs = Vec::new();
    for d in 0..DIRS {
        dirs.push(
            fs.lookup(&root(), fs.root(), format!("d{d}").as_bytes())
                .await
                .unwrap_or_else(|e| panic!("budget {budget:?}: directory d{d} lost: {e:?}"))
                .ino,
        );
    }
    for d in 0..DIRS {
        for n in 0..NAMES {
            let name: Name = (d, format!("f{n}"));
            if uncertain.names.contains(&name) {
                continue;
            }
            let found = file_of(&fs, &dirs, &name).await;
            match (model.names.get(&name), found) {
                (None, Err(FsError::NoEnt)) => {}
                (None, other) => {
                    panic!("seed {seed} budget {budget:?}: {name:?} should be absent: {other:?}")
                }
                (Some(id), Ok(ino)) => {
                    if uncertain.files.contains(id) {
                        continue;
                    }
                    let want = &model.contents[id];
                    let got = fs
                        .read(&root(), ino, 0, want.len() as u32 + 1)
                        .await
                        .unwrap();
                    assert!(
                        got.data[..] == want[..],
                        "seed {seed} budget {budget:?}: {name:?}: {} bytes read, {} acknowledged",
                        got.data.len(),
                        want.len()
                    );
                }
                (Some(_), Err(e)) => {
                    panic!("seed {seed} budget {budget:?}: acknowledged {name:?} lost: {e:?}")
                }
            }
        }
    }
    fs.close().await.unwrap();
    (passed, acknowledged)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_change_survives_a_crash_at_any_put_boundary() {
    let seed = 0x5EED_C0DE;
    let (total, names) = crash_at(seed, None).await;
    assert!(names > 0, "the workload left no names");
    assert!(total > 20, "the workload made only {total} changing calls");
    let max: u64 = std::env::var("CRASH_POINTS_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let step = if max == 0 {
        1
    } else {
        total.div_ceil(max).max(1)
    };
    let mut cuts = 0;
    for budget in (0..total).step_by(step as usize) {
        let (_, acknowledged) = crash_at(seed, Some(budget as i64)).await;
        if budget == 0 {
            assert_eq!(
                acknowledged, 0,
                "a change was acknowledged with no PUT let through"
            );
        }
        cuts += 1;
    }
    eprintln!("crash points: {cuts} cuts over {total} changing calls, all clean");
}
