//! The lock table against a model that is obviously right: one entry per byte of a small file
//! (plus one standing for every byte past it), holding which owners lock that byte and how.
//! Random sequences of TEST, LOCK (blocking or not), UNLOCK, CANCEL and host releases from
//! several owners on two hosts must give the same answers, hold the same bytes, and grant the
//! same waiters in the same order; the table must also keep its own invariants (an owner's
//! locks never overlap, its same-type locks never touch, owners never conflict).

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use proptest::prelude::*;

use super::range::ByteRange;
use super::table::{FileLocks, LockOwner, Waiter};

/// Bytes `0..N` of the model file; index `N` stands for every offset from `N` on.
const N: u64 = 40;

fn owners() -> Vec<LockOwner> {
    [(0u32, 1i32), (0, 2), (1, 1), (2, 7)]
        .into_iter()
        .map(|(host, svid)| LockOwner {
            host,
            svid,
            oh: Bytes::from(format!("{svid}@{host}")),
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Op {
    Test {
        o: usize,
        start: u64,
        len: u64,
        x: bool,
    },
    Lock {
        o: usize,
        start: u64,
        len: u64,
        x: bool,
        block: bool,
    },
    Unlock {
        o: usize,
        start: u64,
        len: u64,
    },
    Cancel {
        o: usize,
        start: u64,
        len: u64,
        x: bool,
    },
    ReleaseHost {
        host: u32,
    },
}

/// A start and a length: 0 (to the end) or one that stays inside the model file.
fn span() -> impl Strategy<Value = (u64, u64)> {
    (0..N).prop_flat_map(|start| {
        prop_oneof![1 => Just(0u64), 4 => 1..=(N - start).min(12)].prop_map(move |len| (start, len))
    })
}

fn op() -> impl Strategy<Value = Op> {
    let o = 0..4usize;
    prop_oneof![
        2 => (o.clone(), span(), any::<bool>())
            .prop_map(|(o, (start, len), x)| Op::Test { o, start, len, x }),
        6 => (o.clone(), span(), any::<bool>(), prop::bool::weighted(0.4))
            .prop_map(|(o, (start, len), x, block)| Op::Lock { o, start, len, x, block }),
        4 => (o.clone(), span()).prop_map(|(o, (start, len))| Op::Unlock { o, start, len }),
        1 => (o, span(), any::<bool>())
            .prop_map(|(o, (start, len), x)| Op::Cancel { o, start, len, x }),
        1 => (0..3u32).prop_map(|host| Op::ReleaseHost { host }),
    ]
}

/// Model bytes covered by a range of the table or a request.
fn bytes_of(r: &ByteRange) -> std::ops::RangeInclusive<u64> {
    r.start.min(N)..=r.end.min(N)
}

#[derive(Default)]
struct Model {
    /// Per byte: owner index -> exclusive.
    held: BTreeMap<u64, BTreeMap<usize, bool>>,
    /// Waiting requests: owner, range, exclusive, tag.
    waiters: VecDeque<(usize, ByteRange, bool, u32)>,
}

impl Model {
    fn conflict(&self, o: usize, r: &ByteRange, x: bool) -> bool {
        bytes_of(r).any(|b| {
            self.held
                .get(&b)
                .is_some_and(|m| m.iter().any(|(&other, &ox)| other != o && (x || ox)))
        })
    }

    fn set(&mut self, o: usize, r: &ByteRange, x: bool) {
        for b in bytes_of(r) {
            self.held.entry(b).or_default().insert(o, x);
        }
    }

    fn clear(&mut self, o: usize, r: &ByteRange) {
        for b in bytes_of(r) {
            if let Some(m) = self.held.get_mut(&b) {
                m.remove(&o);
            }
        }
    }

    fn grant(&mut self) -> Vec<u32> {
        let mut granted = Vec::new();
        let mut i = 0;
        while i < self.waiters.len() {
            let (o, r, x, tag) = self.waiters[i];
            if self.conflict(o, &r, x) {
                i += 1;
            } else {
                self.waiters.remove(i);
                self.set(o, &r, x);
                granted.push(tag);
            }
        }
        granted
    }

    fn snapshot(&self) -> BTreeMap<u64, BTreeMap<usize, bool>> {
        self.held
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(b, m)| (*b, m.clone()))
            .collect()
    }
}

fn table_snapshot(
    t: &FileLocks<u32>,
    owners: &[LockOwner],
) -> BTreeMap<u64, BTreeMap<usize, bool>> {
    let mut held: BTreeMap<u64, BTreeMap<usize, bool>> = BTreeMap::new();
    for l in t.locks() {
        let o = owners
            .iter()
            .position(|x| *x == l.owner)
            .expect("known owner");
        for b in bytes_of(&l.range) {
            let prev = held.entry(b).or_default().insert(o, l.exclusive);
            assert!(
                prev.is_none(),
                "owner {o} holds byte {b} twice: {:?}",
                t.locks()
            );
        }
    }
    held
}

fn check_invariants(t: &FileLocks<u32>) {
    let locks = t.locks();
    for (i, a) in locks.iter().enumerate() {
        assert!(a.range.start <= a.range.end);
        for b in &locks[i + 1..] {
            if a.owner == b.owner {
                assert!(!a.range.overlaps(&b.range), "overlap: {a:?} {b:?}");
                assert!(
                    a.exclusive != b.exclusive || !a.range.touches(&b.range),
                    "not merged: {a:?} {b:?}"
                );
            } else {
                assert!(
                    !(a.range.overlaps(&b.range) && (a.exclusive || b.exclusive)),
                    "conflict held: {a:?} {b:?}"
                );
            }
        }
    }
}

fn run(ops: Vec<Op>) {
    let owners = owners();
    let mut table = FileLocks::<u32>::new();
    let mut model = Model::default();
    let mut next_tag = 0u32;
    for op in ops {
        let mut granted_t = Vec::new();
        let mut granted_m = Vec::new();
        match op {
            Op::Test { o, start, len, x } => {
                let r = ByteRange::from_wire(start, len);
                assert_eq!(
                    table.test(&owners[o], &r, x).is_some(),
                    model.conflict(o, &r, x)
                );
            }
            Op::Lock {
                o,
                start,
                len,
                x,
                block,
            } => {
                let r = ByteRange::from_wire(start, len);
                let conflict = model.conflict(o, &r, x);
                let got = table.lock(&owners[o], r, x);
                assert_eq!(got.is_err(), conflict, "lock {o} {r:?} {x}");
                if let Err(holder) = &got {
                    assert!(holder.conflicts(&owners[o], &r, x));
                }
                if !conflict {
                    model.set(o, &r, x);
                    model
                        .waiters
                        .retain(|w| !(w.0 == o && w.1 == r && w.2 == x));
                } else if block {
                    let tag = next_tag;
                    next_tag += 1;
                    let new = table.enqueue(Waiter {
                        owner: owners[o].clone(),
                        range: r,
                        exclusive: x,
                        data: tag,
                    });
                    let dup = model
                        .waiters
                        .iter()
                        .any(|w| w.0 == o && w.1 == r && w.2 == x);
                    assert_eq!(new, !dup);
                    if !dup {
                        model.waiters.push_back((o, r, x, tag));
                    }
                }
            }
            Op::Unlock { o, start, len } => {
                let r = ByteRange::from_wire(start, len);
                table.unlock(&owners[o], &r);
                model.clear(o, &r);
            }
            Op::Cancel { o, start, len, x } => {
                let r = ByteRange::from_wire(start, len);
                let t = table.cancel(&owners[o], &r, x).map(|w| w.data);
                let i = model
                    .waiters
                    .iter()
                    .position(|w| w.0 == o && w.1 == r && w.2 == x);
                let m = i.and_then(|i| model.waiters.remove(i)).map(|w| w.3);
                assert_eq!(t, m);
            }
            Op::ReleaseHost { host } => {
                table.release_hosts(|h| h == host);
                for (i, ow) in owners.iter().enumerate() {
                    if ow.host == host {
                        model.clear(i, &ByteRange::to_eof(0));
                    }
                }
                model.waiters.retain(|w| owners[w.0].host != host);
            }
        }
        granted_t.extend(table.grant_waiters().into_iter().map(|w| w.data));
        granted_m.extend(model.grant());
        assert_eq!(granted_t, granted_m, "granted in a different order");
        check_invariants(&table);
        assert_eq!(table_snapshot(&table, &owners), model.snapshot());
        let tw: Vec<u32> = table.waiters().map(|w| w.data).collect();
        let mw: Vec<u32> = model.waiters.iter().map(|w| w.3).collect();
        assert_eq!(tw, mw);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn table_matches_the_byte_model(ops in prop::collection::vec(op(), 1..120)) {
        run(ops);
    }
}
