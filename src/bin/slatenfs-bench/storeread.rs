//! store-read: the bandwidth the object store gives to parallel ranged GETs, the reference a
//! sequential read over NFS is measured against (a cold seqread should reach 80 % of it).
//!
//! It reads the storage a server serves directly, with no server running (run it while the
//! server is stopped): the same object store the server opens for `--storage`, behind the same
//! [`SimulatedObjectStore`] with the same `--simulate-object-store` timing. What it reads are
//! the largest table objects (SlateDB's SSTs under `<db>/compacted`) that together hold at least
//! `--file-mb` MiB (the size of seqread's file), taken in name order as one sequence of
//! `--get-kb` ranged GETs: `--conns` streams, each from its own evenly spaced starting point (as
//! seqread's connections start in the file) and wrapping at the end, with `--depth` GETs in
//! flight each, so the run keeps as many GETs in flight as seqread keeps READs.
//!
//! An op is one GET; it counts when it completes within the timed window and returns every
//! byte asked for. A stream stops at its first failed GET. Only GETs (and the LIST that finds
//! the tables): nothing is written.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::time::Instant;

use slatenfs::store::backend::{locate, locate_without_fsync, StorageLocation};
use slatenfs::store::simulated::{SimulatedObjectStore, StoreTiming};
use slatenfs::store::{S3Settings, StorageUrl};

use crate::report::Stats;
use crate::workloads::MIB;
use crate::Args;

/// The directory of SlateDB's tables (L0 and sorted runs) under the database path.
const TABLES_DIR: &str = "compacted";

/// One table object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub path: Path,
    pub size: u64,
}

/// The largest non-empty tables of `tables` that together hold at least `target` bytes (all of
/// them if they hold less), in name order.
pub fn select_tables(mut tables: Vec<Table>, target: u64) -> Vec<Table> {
    tables.retain(|t| t.size > 0);
    tables.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    let mut held = 0u64;
    let keep = tables
        .iter()
        .take_while(|t| {
            let before = held;
            held += t.size;
            before < target
        })
        .count();
    tables.truncate(keep.max(1).min(tables.len()));
    tables.sort_by(|a, b| a.path.cmp(&b.path));
    tables
}

/// One ranged GET: of table `table` (an index into the selected tables), bytes `range`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub table: usize,
    pub range: Range<u64>,
}

/// The GETs that read `tables` in order: each table cut into `get_size` ranges, its last one
/// shorter (a GET never spans two objects).
pub fn pieces(tables: &[Table], get_size: u64) -> Vec<Piece> {
    let get_size = get_size.max(1);
    let mut out = Vec::new();
    for (table, t) in tables.iter().enumerate() {
        let mut offset = 0;
        while offset < t.size {
            let end = (offset + get_size).min(t.size);
            out.push(Piece {
                table,
                range: offset..end,
            });
            offset = end;
        }
    }
    out
}

/// Where stream `index` of `streams` starts among `count` pieces: evenly spaced.
pub fn stream_start(count: usize, streams: usize, index: usize) -> usize {
    count * index / streams.max(1)
}

/// What the streams read: the store, the tables and their pieces in order.
struct Work {
    store: Arc<dyn ObjectStore>,
    tables: Arc<Vec<Table>>,
    pieces: Arc<Vec<Piece>>,
}

/// Reads `work.pieces` from `start` on, wrapping, with `depth` GETs in flight until `deadline`;
/// GETs still in flight then are dropped (they would not count).
async fn run_stream(work: Arc<Work>, start: usize, depth: usize, deadline: Instant) -> Stats {
    let mut stats = Stats::new();
    let count = work.pieces.len();
    let mut next = start;
    let mut inflight = FuturesUnordered::new();
    loop {
        while inflight.len() < depth.max(1) && Instant::now() < deadline {
            let piece = &work.pieces[next % count];
            next += 1;
            let store = Arc::clone(&work.store);
            let path = work.tables[piece.table].path.clone();
            let range = piece.range.clone();
            let sent = Instant::now();
            inflight.push(async move {
                let got = store.get_range(&path, range.clone()).await;
                (sent, path, range, got)
            });
        }
        let Ok(Some((sent, path, range, got))) =
            tokio::time::timeout_at(deadline, inflight.next()).await
        else {
            return stats;
        };
        let now = Instant::now();
        let want = range.end - range.start;
        match got {
            Ok(bytes) if bytes.len() as u64 == want => {
                if now <= deadline {
                    stats.ops += 1;
                    stats.bytes += want;
                    stats.hist.record(now.duration_since(sent));
                }
            }
            Ok(bytes) => {
                stats.errors += 1;
                stats.messages.push(format!(
                    "GET {path} {range:?}: {} bytes, expected {want}",
                    bytes.len()
                ));
                return stats;
            }
            Err(e) => {
                stats.errors += 1;
                stats.messages.push(format!("GET {path} {range:?}: {e}"));
                return stats;
            }
        }
    }
}

/// The object store and database path the server would open for `args.storage`, behind the
/// simulated timing of `args.simulate_object_store` as the server puts it.
fn open(args: &Args) -> Result<StorageLocation, String> {
    let url: StorageUrl = args
        .storage
        .as_deref()
        .ok_or("--workload store-read needs --storage (the server's storage URL)")?
        .parse()
        .map_err(|e| format!("--storage: {e}"))?;
    match &url {
        StorageUrl::Memory => return Err("--storage memory:// holds no tables to read".into()),
        // Opening a location makes its directory: refuse rather than read an empty one.
        StorageUrl::File(dir) if !dir.is_dir() => {
            return Err(format!(
                "--storage {url}: {} is not a directory",
                dir.display()
            ))
        }
        _ => {}
    }
    let timing = args
        .simulate_object_store
        .as_deref()
        .map(|s| s.parse::<StoreTiming>())
        .transpose()
        .map_err(|e| format!("--simulate-object-store: {e}"))?;
    let s3 = S3Settings::default();
    let err = |e: slatenfs::store::StoreError| format!("--storage {url}: {e}");
    Ok(match timing {
        None => locate(&url, &s3).map_err(err)?,
        // As `Store::open` does: the local store without fsync, behind the simulated timing.
        Some(timing) => {
            let local = match locate_without_fsync(&url).map_err(err)? {
                Some(l) => l,
                None => locate(&url, &s3).map_err(err)?,
            };
            StorageLocation {
                root: Arc::new(SimulatedObjectStore::new(local.root, timing)),
                db_path: local.db_path,
            }
        }
    })
}

/// Every table object of the database at `location`.
async fn list_tables(location: &StorageLocation) -> Result<Vec<Table>, String> {
    let dir = location.db_path.clone().join(TABLES_DIR);
    let mut listing = location.root.list(Some(&dir));
    let mut tables = Vec::new();
    while let Some(meta) = listing.next().await {
        let meta = meta.map_err(|e| format!("LIST {dir}: {e}"))?;
        if meta.location.extension() == Some("sst") {
            tables.push(Table {
                path: meta.location,
                size: meta.size,
            });
        }
    }
    Ok(tables)
}

/// The store-read workload: the merged stats of its streams.
pub fn run(args: &Args) -> Result<Stats, String> {
    let location = open(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    runtime.block_on(async {
        let all = list_tables(&location).await?;
        let listed = all.len();
        let tables = select_tables(all, args.file_mb.max(1) * MIB);
        if tables.is_empty() {
            return Err(format!(
                "no tables under {}/{TABLES_DIR}: set up a workload through a server first",
                location.db_path
            ));
        }
        let held: u64 = tables.iter().map(|t| t.size).sum();
        let pieces = pieces(&tables, args.get_kb.max(1) * 1024);
        eprintln!(
            "slatenfs-bench: store-read: {} of {listed} tables, {:.1} MB, {} GETs of {} KiB per pass",
            tables.len(),
            held as f64 / 1e6,
            pieces.len(),
            args.get_kb.max(1)
        );
        let conns = args.conns.max(1);
        let depth = args.depth.max(1);
        let count = pieces.len();
        let work = Arc::new(Work {
            store: location.root,
            tables: Arc::new(tables),
            pieces: Arc::new(pieces),
        });
        eprintln!(
            "slatenfs-bench: store-read timing {:.1} s on {conns} streams x {depth} GETs in flight",
            args.seconds
        );
        let deadline = Instant::now() + Duration::from_secs_f64(args.seconds.max(0.0));
        let handles: Vec<_> = (0..conns)
            .map(|i| {
                let start = stream_start(count, conns, i);
                tokio::spawn(run_stream(Arc::clone(&work), start, depth, deadline))
            })
            .collect();
        let mut total = Stats::new();
        for h in handles {
            match h.await {
                Ok(stats) => total.merge(&stats),
                Err(e) => {
                    total.errors += 1;
                    total.messages.push(format!("a stream failed: {e}"));
                }
            }
        }
        Ok(total)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use object_store::PutPayload;

    fn table(name: &str, size: u64) -> Table {
        Table {
            path: Path::from(format!("db/compacted/{name}.sst")),
            size,
        }
    }

    #[test]
    fn selects_the_largest_tables_that_hold_the_target_in_name_order() {
        let tables = vec![
            table("a", 60),
            table("b", 180),
            table("c", 70),
            table("d", 0),
            table("e", 180),
            table("f", 65),
        ];
        // 180 + 180 = 360 < 400; + 70 = 430.
        let names: Vec<_> = select_tables(tables.clone(), 400)
            .into_iter()
            .map(|t| t.path.to_string())
            .collect();
        assert_eq!(
            names,
            [
                "db/compacted/b.sst",
                "db/compacted/c.sst",
                "db/compacted/e.sst"
            ]
        );
        // Exactly reached: no more.
        assert_eq!(select_tables(tables.clone(), 360).len(), 2);
        // More than they hold: every non-empty table.
        assert_eq!(select_tables(tables.clone(), 10_000).len(), 5);
        // A target of nothing still reads something.
        assert_eq!(select_tables(tables, 0), vec![table("b", 180)]);
        assert!(select_tables(vec![table("z", 0)], 10).is_empty());
    }

    #[test]
    fn pieces_cut_each_table_and_never_span_two() {
        let tables = [table("a", 250), table("b", 100), table("c", 1)];
        let p = pieces(&tables, 100);
        let got: Vec<_> = p.iter().map(|p| (p.table, p.range.clone())).collect();
        assert_eq!(
            got,
            [
                (0, 0..100),
                (0, 100..200),
                (0, 200..250),
                (1, 0..100),
                (2, 0..1)
            ]
        );
        assert_eq!(stream_start(5, 1, 0), 0);
        let starts: Vec<_> = (0..4).map(|i| stream_start(1024, 4, i)).collect();
        assert_eq!(starts, [0, 256, 512, 768]);
    }

    /// With the runtime's clock paused, every GET takes exactly its simulated time: the run
    /// completes streams x depth GETs per GET time, reads the tables in order, and counts
    /// nothing that completes after the window.
    #[tokio::test(start_paused = true)]
    async fn keeps_streams_times_depth_gets_in_flight() {
        let inner = Arc::new(InMemory::new());
        let tables = vec![table("a", 3 * MIB), table("b", MIB + 5)];
        for t in &tables {
            inner
                .put(&t.path, PutPayload::from(vec![1u8; t.size as usize]))
                .await
                .unwrap();
        }
        // 10 ms to the first byte + 1 MiB at 104.8576 MB/s (10 ms): 20 ms per full GET.
        let timing: StoreTiming = "get=10ms,bandwidth=104.8576".parse().unwrap();
        let pieces = pieces(&tables, MIB);
        assert_eq!(pieces.len(), 5);
        let work = Arc::new(Work {
            store: Arc::new(SimulatedObjectStore::new(inner, timing)),
            tables: Arc::new(tables),
            pieces: Arc::new(pieces),
        });
        let (streams, depth) = (2, 3);
        // 1 s, less a little so that no GET ends on the deadline itself.
        let deadline = Instant::now() + Duration::from_millis(999);
        let handles: Vec<_> = (0..streams)
            .map(|i| {
                let start = stream_start(work.pieces.len(), streams, i);
                tokio::spawn(run_stream(Arc::clone(&work), start, depth, deadline))
            })
            .collect();
        let mut total = Stats::new();
        for h in handles {
            total.merge(&h.await.unwrap());
        }
        assert_eq!(total.errors, 0, "{:?}", total.messages);
        // 6 GETs in flight, each 20 ms (a short one, of 5 bytes, 10 ms): at least
        // 6 x 49 rounds in 999 ms, at most 6 x 99.
        assert!(
            (6 * 49..=6 * 99).contains(&total.ops),
            "{} GETs in the window",
            total.ops
        );
        assert!(total.bytes >= total.ops / 2 * MIB, "{}", total.bytes);
    }
}
