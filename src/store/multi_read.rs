//! Many reads in one hand-off to the storage runtime, with runs of nearby keys read as one scan.
//!
//! READDIRPLUS needs the inode of every entry of a page (hundreds). Point gets each walk the
//! memtables and every L0 table's filter; files created together have nearby inode ids, so a
//! page's inodes mostly fall into a few short id runs, and one range scan per run reads them
//! block by block instead.

use bytes::Bytes;
use slatedb::config::ReadOptions;

use super::{KeyRange, Store, StoreError};

/// Largest id gap inside one run: a scan then reads at most this many unwanted keys per
/// wanted one (inodes of other directories, or none where ids were freed).
const MAX_GAP: u64 = 8;

/// Keys given as `prefix ++ id:u64 big-endian`, as inode keys are.
#[derive(Debug, Clone, Copy)]
pub struct IdKeySpace {
    /// The tag byte in front of the id.
    pub tag: u8,
}

impl IdKeySpace {
    fn key(&self, id: u64) -> Bytes {
        let mut k = Vec::with_capacity(9);
        k.push(self.tag);
        k.extend_from_slice(&id.to_be_bytes());
        Bytes::from(k)
    }

    fn id_of(&self, key: &[u8]) -> Option<u64> {
        match key {
            [t, rest @ ..] if *t == self.tag && rest.len() == 8 => {
                let mut b = [0; 8];
                b.copy_from_slice(rest);
                Some(u64::from_be_bytes(b))
            }
            _ => None,
        }
    }
}

/// Sorted, deduplicated `ids` cut into runs `[lo, hi]` whose neighbours are at most
/// [`MAX_GAP`] apart.
fn runs(ids: &[u64]) -> Vec<(u64, u64)> {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for id in sorted {
        match out.last_mut() {
            Some((_, hi)) if id - *hi <= MAX_GAP => *hi = id,
            _ => out.push((id, id)),
        }
    }
    out
}

impl Store {
    /// The values of `space`'s keys for `ids` (in the order of `ids`; `None` where absent),
    /// read with one hand-off: single ids as point gets, runs of nearby ids as range scans,
    /// up to 16 of them in flight.
    pub async fn get_ids(
        &self,
        space: IdKeySpace,
        ids: &[u64],
    ) -> Result<Vec<Option<Bytes>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let runs = runs(ids);
        let singles = runs.iter().filter(|(lo, hi)| lo == hi).count() as u64;
        self.count_reads(singles, runs.len() as u64 - singles);
        let db = self.reads().clone();
        let found: Vec<(u64, Bytes)> = self
            .run(async move {
                use futures::StreamExt;
                let reads = futures::stream::iter(runs.into_iter().map(|(lo, hi)| {
                    let db = db.clone();
                    async move {
                        if lo == hi {
                            let v = db
                                .get_with_options(&space.key(lo), &ReadOptions::default())
                                .await?;
                            return Ok::<_, StoreError>(
                                v.map(|v| vec![(lo, v)]).unwrap_or_default(),
                            );
                        }
                        let range = KeyRange::new(space.key(lo), space.key(hi + 1));
                        let mut it = db.scan(range.start..range.end).await?;
                        let mut rows = Vec::new();
                        while let Some(kv) = it.next().await? {
                            if let Some(id) = space.id_of(&kv.key) {
                                rows.push((id, kv.value));
                            }
                        }
                        Ok(rows)
                    }
                }))
                .buffered(16)
                .collect::<Vec<_>>()
                .await;
                let mut all = Vec::new();
                for r in reads {
                    all.extend(r?);
                }
                Ok(all)
            })
            .await?;
        // `found` is sorted by id (runs are ascending and each scan is in key order).
        Ok(ids
            .iter()
            .map(|id| {
                found
                    .binary_search_by_key(id, |(k, _)| *k)
                    .ok()
                    .and_then(|i| found.get(i))
                    .map(|(_, v)| v.clone())
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Durability, StoreBatch};

    #[test]
    fn runs_split_on_gaps() {
        assert_eq!(runs(&[]), vec![]);
        assert_eq!(runs(&[5]), vec![(5, 5)]);
        assert_eq!(runs(&[3, 1, 2, 2]), vec![(1, 3)]);
        assert_eq!(runs(&[1, 9, 18, 100]), vec![(1, 9), (18, 18), (100, 100)]);
        assert_eq!(
            runs(&[u64::MAX, u64::MAX - 1]),
            vec![(u64::MAX - 1, u64::MAX)]
        );
    }

    #[test]
    fn get_ids_matches_point_gets() {
        futures::executor::block_on(async {
            let store = Store::open_in_memory().await.unwrap();
            let space = IdKeySpace { tag: b'I' };
            let mut b = StoreBatch::new();
            // Present: 10..20 except 15, 40, 1000; keys of another tag in between.
            for id in (10..20).filter(|i| *i != 15).chain([40, 1000]) {
                b.put(space.key(id), Bytes::from(format!("v{id}")));
            }
            b.put(
                IdKeySpace { tag: b'H' }.key(12),
                Bytes::from_static(b"other"),
            );
            b.put(Bytes::from_static(b"I\x00"), Bytes::from_static(b"short"));
            store.write(b, Durability::Memory).await.unwrap();

            let ids = [19, 15, 10, 40, 41, 1000, 10, 7, 999];
            let got = store.get_ids(space, &ids).await.unwrap();
            for (id, v) in ids.iter().zip(got) {
                let want = store.get(space.key(*id)).await.unwrap();
                assert_eq!(v, want, "id {id}");
            }
            store.close().await.unwrap();
        });
    }
}
