//! The lock manager with a real (in-memory) store and an outbox that records the calls it is
//! asked to make: grace period and reclaims, monitor records across restarts, blocked locks
//! granted by callback, client restarts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use parking_lot::Mutex;

use super::*;
use crate::proto::nlm4::{Nlm4Call, Nlm4Res, Nlm4UnlockArgs};
use crate::proto::outbound::OutboundError;

/// Keeps the calls; the test answers them.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<OutboundCall>>,
}

impl Outbox for Recorder {
    fn send(&self, call: OutboundCall) {
        self.calls.lock().push(call);
    }
}

impl Recorder {
    fn take(&self) -> Vec<OutboundCall> {
        std::mem::take(&mut *self.calls.lock())
    }
}

fn deliver(call: OutboundCall) {
    (call.done)(Ok(ReplyStatus::Success(Bytes::new())))
}

fn fail(call: OutboundCall) {
    let host = call.to;
    (call.done)(Err(OutboundError::Transport {
        host,
        why: "test".into(),
    }))
}

const A: ClientAddr = ClientAddr {
    remote: IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 10)),
    local: IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)),
};
const B: ClientAddr = ClientAddr {
    remote: IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 20)),
    local: IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)),
};
const FH: &[u8] = &[1, 2, 3, 4];

fn lock_args<'a>(
    caller: &'a [u8],
    svid: i32,
    offset: u64,
    len: u64,
    exclusive: bool,
) -> Nlm4LockArgs<'a> {
    Nlm4LockArgs {
        cookie: b"c",
        block: false,
        exclusive,
        alock: Nlm4Lock {
            caller_name: caller,
            fh: FH,
            oh: b"oh",
            svid,
            l_offset: offset,
            l_len: len,
        },
        reclaim: false,
        state: 1,
    }
}

fn config(grace: u64) -> LockManagerConfig {
    LockManagerConfig {
        grace_period: Duration::from_secs(grace),
        host_idle: Duration::from_secs(300),
    }
}

async fn open(store: &Store, outbox: &Arc<Recorder>, grace: u64, now: Instant) -> Arc<LockManager> {
    LockManager::open(Some(store.clone()), config(grace), outbox.clone(), now)
        .await
        .unwrap()
}

#[test]
fn restart_notifies_clients_and_only_reclaims_pass_in_grace() {
    block_on(async {
        let store = Store::open_in_memory().await.unwrap();
        let outbox = Arc::new(Recorder::default());
        let t0 = Instant::now();
        // First run: nobody to notify, no grace period.
        let m = open(&store, &outbox, 30, t0).await;
        assert_eq!(m.state(), 1);
        assert!(!m.in_grace(t0));
        assert_eq!(
            m.lock(A, 7, &lock_args(b"a", 1, 0, 10, true), true, t0)
                .await,
            Nlm4Stats::Granted
        );
        drop(m);

        // Second run: client a is told (at the first tick), and may reclaim during the grace
        // period only.
        let m = open(&store, &outbox, 30, t0).await;
        assert_eq!(m.state(), 3);
        assert!(outbox.take().is_empty(), "nothing before the first tick");
        m.tick(t0).await;
        let calls = outbox.take();
        assert_eq!(calls.len(), 1);
        let call = &calls[0];
        assert_eq!((call.to, call.from), (A.remote, Some(A.local)));
        assert_eq!((call.prog, call.procedure), (nsm::PROGRAM, smproc::NOTIFY));
        let NsmCall::Notify(n) = NsmCall::decode(smproc::NOTIFY, &call.args).unwrap() else {
            panic!()
        };
        assert_eq!((n.mon_name, n.state), (&b"192.0.2.1"[..], 3));
        assert!(m.in_grace(t0));
        let b_lock = lock_args(b"b", 1, 5, 1, true);
        assert_eq!(
            m.lock(B, 7, &b_lock, true, t0).await,
            Nlm4Stats::DeniedGracePeriod
        );
        let t = Nlm4TestArgs {
            cookie: b"",
            exclusive: true,
            alock: b_lock.alock,
        };
        assert_eq!(m.test(B, 7, &t, t0), TestOutcome::Grace);
        let mut reclaim = lock_args(b"a", 1, 0, 10, true);
        reclaim.reclaim = true;
        assert_eq!(m.lock(A, 7, &reclaim, true, t0).await, Nlm4Stats::Granted);
        let after = t0 + Duration::from_secs(30);
        assert!(!m.in_grace(after));
        // Past the grace period: no more reclaims, and the reclaimed lock holds.
        assert_eq!(
            m.lock(B, 7, &reclaim, true, after).await,
            Nlm4Stats::DeniedGracePeriod
        );
        assert_eq!(m.lock(B, 7, &b_lock, true, after).await, Nlm4Stats::Denied);
        match m.test(B, 7, &t, after) {
            TestOutcome::Held(l) => assert_eq!(l.range.to_wire(), (0, 10)),
            other => panic!("{other:?}"),
        }
        // Notified; a relocked client keeps its record.
        for c in calls {
            deliver(c);
        }
        m.tick(after).await;
        assert_eq!(m.pending_notifies(), 0);
        drop(m);
        let m = open(&store, &outbox, 30, after).await;
        assert_eq!(m.state(), 5);
        m.tick(after).await;
        let notified: Vec<_> = outbox.take().into_iter().map(|c| c.to).collect();
        let mut want = vec![A.remote, B.remote];
        want.sort();
        let mut got = notified.clone();
        got.sort();
        assert_eq!(got, want, "a relocked and b locked: both monitored");
    });
}

#[test]
fn notified_client_that_did_not_return_is_forgotten() {
    block_on(async {
        let store = Store::open_in_memory().await.unwrap();
        let outbox = Arc::new(Recorder::default());
        let t0 = Instant::now();
        let m = open(&store, &outbox, 0, t0).await;
        m.lock(A, 1, &lock_args(b"a", 1, 0, 0, false), true, t0)
            .await;
        drop(m);
        let m = open(&store, &outbox, 0, t0).await;
        assert!(!m.in_grace(t0), "a zero grace period is none");
        // The first attempt fails; the retry is delivered.
        m.tick(t0).await;
        let first = outbox.take();
        assert_eq!(first.len(), 1);
        fail(first.into_iter().next().unwrap());
        m.tick(t0).await;
        assert!(outbox.take().is_empty(), "backs off");
        m.tick(t0 + callbacks::NOTIFY_RETRY_MAX).await;
        let again = outbox.take();
        assert_eq!(again.len(), 1);
        deliver(again.into_iter().next().unwrap());
        m.tick(t0 + callbacks::NOTIFY_RETRY_MAX).await;
        drop(m);
        let m = open(&store, &outbox, 30, t0).await;
        m.tick(t0).await;
        assert!(outbox.take().is_empty(), "record deleted");
        assert!(!m.in_grace(t0), "nobody to wait for");
    });
}

#[test]
fn blocked_lock_is_granted_by_callback() {
    block_on(async {
        let store = Store::open_in_memory().await.unwrap();
        let outbox = Arc::new(Recorder::default());
        let t0 = Instant::now();
        let m = open(&store, &outbox, 0, t0).await;
        let held = lock_args(b"a", 1, 0, 0, true);
        assert_eq!(m.lock(A, 9, &held, true, t0).await, Nlm4Stats::Granted);
        let mut wait = lock_args(b"b", 4, 100, 50, true);
        wait.block = true;
        assert_eq!(m.lock(B, 9, &wait, true, t0).await, Nlm4Stats::Blocked);
        // The client repeats its request while it waits: still one waiter.
        assert_eq!(m.lock(B, 9, &wait, true, t0).await, Nlm4Stats::Blocked);
        assert!(outbox.take().is_empty());
        let unlock = Nlm4UnlockArgs {
            cookie: b"",
            alock: held.alock,
        };
        assert_eq!(m.unlock(A, 9, &unlock.alock, t0), Nlm4Stats::Granted);
        let calls = outbox.take();
        assert_eq!(calls.len(), 1, "one GRANTED_MSG");
        let call = calls.into_iter().next().unwrap();
        assert_eq!((call.to, call.from), (B.remote, Some(B.local)));
        assert_eq!(
            (call.prog, call.vers, call.procedure),
            (nlm4::PROGRAM, 4, nlmproc4::GRANTED_MSG)
        );
        let Nlm4Call::GrantedMsg(g) = Nlm4Call::decode(nlmproc4::GRANTED_MSG, &call.args).unwrap()
        else {
            panic!()
        };
        // The lock exactly as asked for.
        assert_eq!(g.alock, wait.alock);
        assert!(g.exclusive);
        assert_eq!(parse_grant_cookie(g.cookie).map(|c| c.0), Some(9));
        let cookie = g.cookie.to_vec();
        let holders = m.locks_of(9);
        assert_eq!(holders.len(), 1);
        assert_eq!(holders[0].range.to_wire(), (100, 50));

        // Delivered; the answer does not come in time, so it is sent again; then answered.
        deliver(call);
        m.tick(t0 + callbacks::GRANT_RES_WAIT / 2).await;
        assert!(outbox.take().is_empty());
        m.tick(t0 + callbacks::GRANT_RES_WAIT + Duration::from_secs(5))
            .await;
        let again = outbox.take();
        assert_eq!(again.len(), 1);
        deliver(again.into_iter().next().unwrap());
        let res = Nlm4Res {
            cookie: &cookie,
            stat: Nlm4Stats::Granted,
        };
        m.granted_res(res.cookie, res.stat, t0);
        m.tick(t0 + callbacks::GRANT_RES_WAIT * 3).await;
        assert!(outbox.take().is_empty());
        assert_eq!(m.stats().grants_answered, 1);
        assert_eq!(m.stats().grants_delivered, 2);
    });
}

#[test]
fn cancel_withdraws_a_waiter() {
    block_on(async {
        let store = Store::open_in_memory().await.unwrap();
        let outbox = Arc::new(Recorder::default());
        let t0 = Instant::now();
        let m = open(&store, &outbox, 0, t0).await;
        let held = lock_args(b"a", 1, 0, 0, false);
        m.lock(A, 3, &held, true, t0).await;
        let mut wait = lock_args(b"b", 2, 0, 1, true);
        wait.block = true;
        assert_eq!(m.lock(B, 3, &wait, true, t0).await, Nlm4Stats::Blocked);
        let cancel = Nlm4CancArgs {
            cookie: b"",
            block: true,
            exclusive: true,
            alock: wait.alock,
        };
        assert_eq!(m.cancel(B, 3, &cancel), Nlm4Stats::Granted);
        assert_eq!(m.cancel(B, 3, &cancel), Nlm4Stats::Denied);
        m.unlock(A, 3, &held.alock, t0);
        assert!(outbox.take().is_empty(), "nobody waits any more");
        assert!(m.locks_of(3).is_empty());
    });
}

#[test]
fn client_restart_releases_its_locks_once() {
    block_on(async {
        let store = Store::open_in_memory().await.unwrap();
        let outbox = Arc::new(Recorder::default());
        let t0 = Instant::now();
        let m = open(&store, &outbox, 0, t0).await;
        for ino in [1u64, 2, 3] {
            assert_eq!(
                m.lock(A, ino, &lock_args(b"Alpha", 1, 0, 0, true), true, t0)
                    .await,
                Nlm4Stats::Granted
            );
        }
        let mut wait = lock_args(b"b", 1, 0, 0, true);
        wait.block = true;
        assert_eq!(m.lock(B, 2, &wait, true, t0).await, Nlm4Stats::Blocked);
        // Host names compare without case.
        m.client_restarted(b"alpha", 5);
        for ino in [1u64, 3] {
            assert!(m.locks_of(ino).is_empty());
        }
        assert_eq!(
            outbox.take().len(),
            1,
            "the waiter on file 2 is called back"
        );
        assert_eq!(m.stats().client_restarts, 1);
        // Alpha locks again; a repeated notification of the same restart changes nothing.
        m.lock(A, 1, &lock_args(b"Alpha", 1, 0, 0, true), true, t0)
            .await;
        m.client_restarted(b"ALPHA", 5);
        assert_eq!(m.locks_of(1).len(), 1);
        // FREE_ALL by address.
        m.free_all(b"192.0.2.10");
        assert!(m.locks_of(1).is_empty());
    });
}

#[test]
fn idle_hosts_are_forgotten() {
    block_on(async {
        let store = Store::open_in_memory().await.unwrap();
        let outbox = Arc::new(Recorder::default());
        let t0 = Instant::now();
        let m = open(&store, &outbox, 30, t0).await;
        let l = lock_args(b"a", 1, 0, 0, true);
        m.lock(A, 1, &l, true, t0).await;
        m.unlock(A, 1, &l.alock, t0);
        // Still holds nothing after the idle time: its record goes.
        m.tick(t0 + Duration::from_secs(301)).await;
        drop(m);
        let m = open(&store, &outbox, 30, t0).await;
        m.tick(t0).await;
        assert!(outbox.take().is_empty());
    });
}

#[test]
fn grant_cookie_round_trips() {
    assert_eq!(
        parse_grant_cookie(&grant_cookie(7, u64::MAX)),
        Some((7, u64::MAX))
    );
    assert_eq!(parse_grant_cookie(b"short"), None);
}
