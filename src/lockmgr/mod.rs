//! The network lock manager (NLM v4) and its status monitor (NSM): POSIX byte-range locks and
//! DOS share reservations that NFSv3 clients hold on files, blocked lock requests granted by
//! callback, and the recovery protocol around restarts.
//!
//! Locks are not filesystem data: they live in memory and are lost when the server stops.
//! What survives is the status monitor's list of clients that held locks
//! ([`monitor::MonitorStore`]): after a restart the manager tells each of them
//! (SM_NOTIFY), and for a grace period only their reclaims are granted, so that no other client
//! takes a lock the restart freed before its holder got it back. A client that restarts tells
//! the server the same way, and its locks are dropped.
//!
//! The per-file tables are shared by all cores (a sharded map), but the NFS service routes every
//! NLM call by its file handle to the file's owner core, so the calls about one file (and its
//! READs and WRITEs) meet on one core; only host-wide operations (FREE_ALL, a client's restart,
//! idle-host collection) visit every file's table.
//!
//! Time is passed in (`now`) and calls to clients go out through an [`Outbox`], so the manager
//! does no IO of its own besides its store records.

pub mod callbacks;
pub mod hosts;
pub mod monitor;
pub mod range;
pub mod table;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::proto::nlm4::{
    self, nlmproc4, Nlm4CancArgs, Nlm4Holder, Nlm4Lock, Nlm4LockArgs, Nlm4ShareArgs, Nlm4Stats,
    Nlm4TestArgs,
};
use crate::proto::nsm::{self, smproc, NsmCall, StatChge};
use crate::proto::outbound::{OutboundCall, Outbox};
use crate::proto::rpc::ReplyStatus;
use crate::proto::xdr::encode_to_vec;
use crate::sharded::Sharded;
use crate::store::{Store, StoreError};

use callbacks::{Callbacks, DueCall, GrantTo, Pending, PendingGrant, PendingNotify};
use hosts::Hosts;
use monitor::{MonitorStore, MonitoredClient};
use range::ByteRange;
use table::{FileLocks, HostId, Lock, LockOwner, Share, Waiter};

/// Parts of the per-file lock tables.
const FILE_SHARDS: usize = 64;
/// Length of a GRANTED cookie: the file's inode and the grant's id.
const GRANT_COOKIE_LEN: usize = 16;

/// Settings of the lock manager.
#[derive(Debug, Clone)]
pub struct LockManagerConfig {
    /// After a restart, only reclaims are granted for this long (if any client was monitored).
    pub grace_period: Duration,
    /// A host that holds nothing and has not called for this long is forgotten (and, if it was
    /// monitored, its record deleted).
    pub host_idle: Duration,
}

impl Default for LockManagerConfig {
    fn default() -> Self {
        LockManagerConfig {
            grace_period: Duration::from_secs(45),
            host_idle: Duration::from_secs(300),
        }
    }
}

/// The client a call comes from: its address, and the server address it called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    pub remote: IpAddr,
    pub local: IpAddr,
}

/// The outcome of TEST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestOutcome {
    /// No conflicting lock.
    Free,
    /// This lock is in the way.
    Held(Lock),
    /// Refused: the grace period is on.
    Grace,
}

impl TestOutcome {
    /// The `nlm4_testrply` of this outcome (the holder's handle borrows from `self`).
    pub fn reply(&self) -> nlm4::Nlm4TestRply<'_> {
        match self {
            TestOutcome::Free => nlm4::Nlm4TestRply::Other(Nlm4Stats::Granted),
            TestOutcome::Grace => nlm4::Nlm4TestRply::Other(Nlm4Stats::DeniedGracePeriod),
            TestOutcome::Held(l) => {
                let (l_offset, l_len) = l.range.to_wire();
                nlm4::Nlm4TestRply::Denied(Nlm4Holder {
                    exclusive: l.exclusive,
                    svid: l.owner.svid,
                    oh: &l.owner.oh,
                    l_offset,
                    l_len,
                })
            }
        }
    }
}

/// Counters, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockStats {
    /// GRANTED_MSG calls delivered to clients.
    pub grants_delivered: u64,
    /// GRANTED_RES answers received.
    pub grants_answered: u64,
    /// SM_NOTIFY calls delivered after a restart.
    pub notifies_delivered: u64,
    /// Restarts of clients (SM_NOTIFY or FREE_ALL) that released something.
    pub client_restarts: u64,
}

/// The lock manager of one server.
pub struct LockManager {
    config: LockManagerConfig,
    files: Sharded<Mutex<HashMap<u64, FileLocks<GrantTo>>>>,
    hosts: Mutex<Hosts>,
    /// Records in the store; `None` keeps everything in memory (tests).
    monitor: Option<MonitorStore>,
    /// Serialises the decisions about monitor records with their writes.
    monitor_writes: futures::lock::Mutex<()>,
    grace_until: Mutex<Option<Instant>>,
    /// This run's NSM state number (odd).
    state: i32,
    callbacks: Mutex<Callbacks>,
    /// The last restart state each host name announced, so a repeated SM_NOTIFY does not
    /// release what the client has locked since.
    announced: Mutex<HashMap<Bytes, i32>>,
    /// Clients whose restart notification is finished, for the next tick to forget.
    notified: Mutex<Vec<MonitoredClient>>,
    next_id: AtomicU64,
    outbox: Arc<dyn Outbox>,
    stats: Mutex<LockStats>,
    me: Weak<LockManager>,
}

impl LockManager {
    /// Starts the lock manager: reads the previous run's state and monitored clients from
    /// `store` (if any), takes the next state number, queues the restart notifications (sent
    /// by the first [`LockManager::tick`]) and starts the grace period if anyone may reclaim.
    pub async fn open(
        store: Option<Store>,
        config: LockManagerConfig,
        outbox: Arc<dyn Outbox>,
        now: Instant,
    ) -> Result<Arc<LockManager>, StoreError> {
        let monitor = store.map(MonitorStore::new);
        let (previous, clients) = match &monitor {
            Some(m) => m.load().await?,
            None => (0, Vec::new()),
        };
        // Odd while up, and different from every earlier run's.
        let state = if previous % 2 == 0 {
            previous.wrapping_add(1)
        } else {
            previous.wrapping_add(2)
        };
        if let Some(m) = &monitor {
            m.save_state(state).await?;
        }
        let grace = (!clients.is_empty() && !config.grace_period.is_zero())
            .then(|| now + config.grace_period);
        let mut callbacks = Callbacks::default();
        let mut id = 0;
        for client in clients {
            id += 1;
            callbacks.add_notify(
                id,
                PendingNotify {
                    client,
                    attempts: 0,
                    state: Pending::Due(now),
                    give_up_at: now + callbacks::NOTIFY_GIVE_UP,
                },
            );
        }
        let notifies = callbacks.pending_notifies();
        log::info!(
            "lock manager: NSM state {state}; {notifies} clients to notify; {}",
            match grace {
                Some(_) => format!("grace period of {:?}", config.grace_period),
                None => "no grace period".into(),
            }
        );
        let manager = Arc::new_cyclic(|me| LockManager {
            config,
            files: Sharded::new(FILE_SHARDS, || Mutex::new(HashMap::new())),
            hosts: Mutex::new(Hosts::default()),
            monitor,
            monitor_writes: futures::lock::Mutex::new(()),
            grace_until: Mutex::new(grace),
            state,
            callbacks: Mutex::new(callbacks),
            announced: Mutex::new(HashMap::new()),
            notified: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(id + 1),
            outbox,
            stats: Mutex::new(LockStats::default()),
            me: me.clone(),
        });
        // The notifications go out with the first tick, once the server listens: a notified
        // client reclaims at once.
        Ok(manager)
    }

    /// This run's NSM state number.
    pub fn state(&self) -> i32 {
        self.state
    }

    pub fn stats(&self) -> LockStats {
        *self.stats.lock()
    }

    /// Whether only reclaims are granted at `now`.
    pub fn in_grace(&self, now: Instant) -> bool {
        let mut g = self.grace_until.lock();
        match *g {
            Some(until) if now < until => true,
            Some(_) => {
                *g = None;
                log::info!("lock manager: grace period over");
                false
            }
            None => false,
        }
    }

    /// The clients still to be told about this server's restart.
    pub fn pending_notifies(&self) -> usize {
        self.callbacks.lock().pending_notifies()
    }

    fn host(&self, from: ClientAddr, caller_name: &[u8], now: Instant) -> HostId {
        self.hosts
            .lock()
            .get_or_insert(from.remote, caller_name, from.local, now)
    }

    fn owner(host: HostId, lock: &Nlm4Lock<'_>) -> LockOwner {
        LockOwner {
            host,
            svid: lock.svid,
            oh: Bytes::copy_from_slice(lock.oh),
        }
    }

    /// Runs `f` on `ino`'s table, dropping the table if it is left empty.
    fn with_table<R>(&self, ino: u64, f: impl FnOnce(&mut FileLocks<GrantTo>) -> R) -> R {
        let mut files = self.files.part(ino).lock();
        let table = files.entry(ino).or_default();
        let r = f(table);
        if table.is_empty() {
            files.remove(&ino);
        }
        r
    }

    /// Makes sure `host` is in the store's list of clients to notify after a restart.
    async fn monitor(&self, host: HostId) -> Result<(), StoreError> {
        let record = |h: &hosts::Host| MonitoredClient {
            addr: h.addr,
            caller_name: h.caller_name.clone(),
            server: h.server,
        };
        match self.hosts.lock().get(host) {
            Some(h) if !h.monitored => {}
            _ => return Ok(()),
        }
        let _serial = self.monitor_writes.lock().await;
        let client = match self.hosts.lock().get(host) {
            Some(h) if !h.monitored => record(h),
            _ => return Ok(()),
        };
        if let Some(m) = &self.monitor {
            m.add(&client).await?;
        }
        if let Some(h) = self.hosts.lock().get_mut(host) {
            h.monitored = true;
        }
        log::info!(
            "lock manager: monitoring {} ({})",
            String::from_utf8_lossy(&client.caller_name),
            client.addr
        );
        Ok(())
    }

    /// TEST (and TEST_MSG).
    pub fn test(
        &self,
        from: ClientAddr,
        ino: u64,
        args: &Nlm4TestArgs<'_>,
        now: Instant,
    ) -> TestOutcome {
        if self.in_grace(now) {
            return TestOutcome::Grace;
        }
        let host = self.host(from, args.alock.caller_name, now);
        let owner = Self::owner(host, &args.alock);
        let range = ByteRange::from_wire(args.alock.l_offset, args.alock.l_len);
        self.with_table(ino, |t| match t.test(&owner, &range, args.exclusive) {
            Some(l) => TestOutcome::Held(l.clone()),
            None => TestOutcome::Free,
        })
    }

    /// LOCK, LOCK_MSG and (with `monitor` false) NM_LOCK.
    pub async fn lock(
        &self,
        from: ClientAddr,
        ino: u64,
        args: &Nlm4LockArgs<'_>,
        monitor: bool,
        now: Instant,
    ) -> Nlm4Stats {
        // During the grace period only reclaims; after it, no reclaims: another client may
        // have held the lock in between.
        if self.in_grace(now) != args.reclaim {
            return Nlm4Stats::DeniedGracePeriod;
        }
        let host = self.host(from, args.alock.caller_name, now);
        if monitor {
            if let Err(e) = self.monitor(host).await {
                log::warn!("lock manager: cannot record a monitored client: {e}");
                return Nlm4Stats::DeniedNolocks;
            }
        }
        let owner = Self::owner(host, &args.alock);
        let range = ByteRange::from_wire(args.alock.l_offset, args.alock.l_len);
        let block = args.block && !args.reclaim;
        let (status, granted) =
            self.with_table(ino, |t| match t.lock(&owner, range, args.exclusive) {
                // A downgrade may let waiters in.
                Ok(()) => (Nlm4Stats::Granted, t.grant_waiters()),
                Err(_) if block => {
                    log::debug!(
                        "lock manager: a lock of {} (svid {}) on inode {ino} waits",
                        String::from_utf8_lossy(args.alock.caller_name),
                        owner.svid
                    );
                    t.enqueue(Waiter {
                        owner: owner.clone(),
                        range,
                        exclusive: args.exclusive,
                        data: GrantTo {
                            caller_name: Bytes::copy_from_slice(args.alock.caller_name),
                            fh: Bytes::copy_from_slice(args.alock.fh),
                            l_offset: args.alock.l_offset,
                            l_len: args.alock.l_len,
                        },
                    });
                    (Nlm4Stats::Blocked, Vec::new())
                }
                Err(_) => (Nlm4Stats::Denied, Vec::new()),
            });
        if status == Nlm4Stats::Granted {
            // Granted while a callback for it may be on its way: the callback is moot.
            self.callbacks.lock().drop_grants(ino, &owner, &range);
            if args.reclaim {
                log::info!(
                    "lock manager: {} (svid {}) reclaimed its lock on inode {ino}",
                    String::from_utf8_lossy(args.alock.caller_name),
                    owner.svid
                );
            }
        }
        self.send_grants(ino, granted, now);
        status
    }

    /// CANCEL (and CANCEL_MSG): withdraws a blocked request.
    pub fn cancel(&self, from: ClientAddr, ino: u64, args: &Nlm4CancArgs<'_>) -> Nlm4Stats {
        let Some(host) = self.hosts.lock().find(from.remote, args.alock.caller_name) else {
            return Nlm4Stats::Denied;
        };
        let owner = Self::owner(host, &args.alock);
        let range = ByteRange::from_wire(args.alock.l_offset, args.alock.l_len);
        if self
            .with_table(ino, |t| t.cancel(&owner, &range, args.exclusive))
            .is_some()
        {
            return Nlm4Stats::Granted;
        }
        // Granted already, and the callback not yet acknowledged: like Linux, the lock stays
        // (the client unlocks what it no longer wants) and the callback stops.
        if self.callbacks.lock().drop_grants(ino, &owner, &range) > 0 {
            return Nlm4Stats::Granted;
        }
        Nlm4Stats::Denied
    }

    /// UNLOCK (and UNLOCK_MSG). Accepted during the grace period: it only releases.
    pub fn unlock(
        &self,
        from: ClientAddr,
        ino: u64,
        lock: &Nlm4Lock<'_>,
        now: Instant,
    ) -> Nlm4Stats {
        let Some(host) = self.hosts.lock().find(from.remote, lock.caller_name) else {
            return Nlm4Stats::Granted;
        };
        let owner = Self::owner(host, lock);
        let range = ByteRange::from_wire(lock.l_offset, lock.l_len);
        let granted = self.with_table(ino, |t| {
            t.unlock(&owner, &range);
            t.grant_waiters()
        });
        self.callbacks.lock().drop_grants(ino, &owner, &range);
        self.send_grants(ino, granted, now);
        Nlm4Stats::Granted
    }

    /// SHARE.
    pub async fn share(
        &self,
        from: ClientAddr,
        ino: u64,
        args: &Nlm4ShareArgs<'_>,
        now: Instant,
    ) -> Nlm4Stats {
        if self.in_grace(now) && !args.reclaim {
            return Nlm4Stats::DeniedGracePeriod;
        }
        let host = self.host(from, args.share.caller_name, now);
        if let Err(e) = self.monitor(host).await {
            log::warn!("lock manager: cannot record a monitored client: {e}");
            return Nlm4Stats::DeniedNolocks;
        }
        let share = Share {
            host,
            oh: Bytes::copy_from_slice(args.share.oh),
            deny: args.share.mode.as_u32(),
            access: args.share.access.as_u32(),
        };
        match self.with_table(ino, |t| t.share(share)) {
            Ok(()) => Nlm4Stats::Granted,
            Err(_) => Nlm4Stats::Denied,
        }
    }

    /// UNSHARE. Accepted during the grace period: it only releases.
    pub fn unshare(&self, from: ClientAddr, ino: u64, args: &Nlm4ShareArgs<'_>) -> Nlm4Stats {
        if let Some(host) = self.hosts.lock().find(from.remote, args.share.caller_name) {
            self.with_table(ino, |t| t.unshare(host, args.share.oh));
        }
        Nlm4Stats::Granted
    }

    /// GRANTED_RES: the client's answer to a GRANTED_MSG. Whatever it says, the lock stays
    /// (a client that refuses it unlocks; one that re-sent its LOCK meanwhile holds it), except
    /// that a client in its own grace period is called again later.
    pub fn granted_res(&self, cookie: &[u8], stat: Nlm4Stats, now: Instant) {
        let Some((_, id)) = parse_grant_cookie(cookie) else {
            return;
        };
        let answered =
            self.callbacks
                .lock()
                .grant_answered(id, stat == Nlm4Stats::DeniedGracePeriod, now);
        if answered.is_some() {
            self.stats.lock().grants_answered += 1;
            log::debug!("lock manager: GRANTED_RES {stat:?} for grant {id}");
        }
    }

    /// FREE_ALL from a client that restarted: drops everything hosts of that name hold.
    pub fn free_all(&self, name: &[u8]) {
        let hosts = self.hosts.lock().named(name);
        self.release_hosts(&hosts, name);
    }

    /// SM_NOTIFY: `mon_name` restarted with NSM state `state`. Drops everything its hosts hold,
    /// unless the same restart was announced before.
    pub fn client_restarted(&self, mon_name: &[u8], state: i32) {
        let key = Bytes::copy_from_slice(&mon_name.to_ascii_lowercase());
        if self.announced.lock().insert(key, state) == Some(state) {
            log::debug!(
                "lock manager: repeated SM_NOTIFY from {} (state {state})",
                String::from_utf8_lossy(mon_name)
            );
            return;
        }
        let hosts = self.hosts.lock().named(mon_name);
        self.release_hosts(&hosts, mon_name);
    }

    fn release_hosts(&self, hosts: &[HostId], name: &[u8]) {
        if hosts.is_empty() {
            log::info!(
                "lock manager: restart of {}, which holds no locks here",
                String::from_utf8_lossy(name)
            );
            return;
        }
        let gone = |h: HostId| hosts.contains(&h);
        self.callbacks.lock().drop_hosts(gone);
        let now = Instant::now();
        let mut released = 0usize;
        for part in self.files.iter() {
            let mut granted = Vec::new();
            {
                let mut files = part.lock();
                files.retain(|ino, t| {
                    let before = t.locks().len() + t.shares().len() + t.waiters().count();
                    t.release_hosts(gone);
                    released += before - (t.locks().len() + t.shares().len() + t.waiters().count());
                    let g = t.grant_waiters();
                    if !g.is_empty() {
                        granted.push((*ino, g));
                    }
                    !t.is_empty()
                });
            }
            for (ino, g) in granted {
                self.send_grants(ino, g, now);
            }
        }
        self.stats.lock().client_restarts += 1;
        log::info!(
            "lock manager: {} restarted: released {released} locks, shares and requests",
            String::from_utf8_lossy(name)
        );
    }

    /// Records the grants and calls the clients back.
    fn send_grants(&self, ino: u64, granted: Vec<Waiter<GrantTo>>, now: Instant) {
        if granted.is_empty() {
            return;
        }
        {
            let mut cb = self.callbacks.lock();
            for w in granted {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                log::info!(
                    "lock manager: granted a blocked lock of {} (svid {}) on inode {ino}",
                    String::from_utf8_lossy(&w.data.caller_name),
                    w.owner.svid
                );
                cb.add_grant(
                    id,
                    PendingGrant {
                        ino,
                        owner: w.owner,
                        range: w.range,
                        exclusive: w.exclusive,
                        to: w.data,
                        attempts: 0,
                        state: Pending::Due(now),
                    },
                );
            }
        }
        self.send_due(now);
    }

    /// Sends every callback that is due.
    fn send_due(&self, now: Instant) {
        let due = self.callbacks.lock().due(now);
        for call in due {
            match call {
                DueCall::Grant(id, g) => self.send_grant(id, &g),
                DueCall::Notify(id, n) => self.send_notify(id, &n),
            }
        }
    }

    fn send_grant(&self, id: u64, g: &PendingGrant) {
        let Some(host) = self.hosts.lock().get(g.owner.host).cloned() else {
            self.callbacks.lock().drop_hosts(|h| h == g.owner.host);
            return;
        };
        let cookie = grant_cookie(g.ino, id);
        let args = Nlm4TestArgs {
            cookie: &cookie,
            exclusive: g.exclusive,
            alock: Nlm4Lock {
                caller_name: &g.to.caller_name,
                fh: &g.to.fh,
                oh: &g.owner.oh,
                svid: g.owner.svid,
                l_offset: g.to.l_offset,
                l_len: g.to.l_len,
            },
        };
        let me = self.me.clone();
        self.outbox.send(OutboundCall {
            to: host.addr,
            from: Some(host.server),
            prog: nlm4::PROGRAM,
            vers: nlm4::VERSION,
            procedure: nlmproc4::GRANTED_MSG,
            args: encode_to_vec(&args),
            done: Box::new(move |result| {
                let Some(me) = me.upgrade() else { return };
                let delivered = matches!(result, Ok(ReplyStatus::Success(_)));
                if !delivered {
                    log::info!("lock manager: GRANTED_MSG to {}: {result:?}", host.addr);
                }
                let now = Instant::now();
                if !me.callbacks.lock().grant_sent(id, delivered, now) && !delivered {
                    log::warn!(
                        "lock manager: gave up calling {} back; its lock stays granted",
                        host.addr
                    );
                }
                if delivered {
                    me.stats.lock().grants_delivered += 1;
                }
            }),
        });
    }

    fn send_notify(&self, id: u64, n: &PendingNotify) {
        let server = n.client.server.to_string();
        let args = NsmCall::Notify(StatChge {
            mon_name: server.as_bytes(),
            state: self.state,
        });
        let me = self.me.clone();
        let client = n.client.clone();
        self.outbox.send(OutboundCall {
            to: n.client.addr,
            from: Some(n.client.server),
            prog: nsm::PROGRAM,
            vers: nsm::VERSION,
            procedure: smproc::NOTIFY,
            args: encode_to_vec(&args),
            done: Box::new(move |result| {
                let Some(me) = me.upgrade() else { return };
                let delivered = matches!(result, Ok(ReplyStatus::Success(_)));
                let finished = me
                    .callbacks
                    .lock()
                    .notify_sent(id, delivered, Instant::now());
                let name = String::from_utf8_lossy(&client.caller_name).into_owned();
                if delivered {
                    me.stats.lock().notifies_delivered += 1;
                    log::info!(
                        "lock manager: told {name} ({}) about the restart",
                        client.addr
                    );
                } else {
                    log::info!(
                        "lock manager: SM_NOTIFY to {name} ({}): {result:?}",
                        client.addr
                    );
                }
                if finished.is_some() {
                    if !delivered {
                        log::warn!("lock manager: gave up telling {name} about the restart");
                    }
                    me.notified.lock().push(client);
                }
            }),
        });
    }

    /// Deletes the records of notified clients, unless a client locked again since the
    /// restart (then its record is this run's).
    async fn forget_notified(&self) {
        let done = std::mem::take(&mut *self.notified.lock());
        if done.is_empty() {
            return;
        }
        let _serial = self.monitor_writes.lock().await;
        for client in done {
            if self
                .hosts
                .lock()
                .is_monitored(client.addr, &client.caller_name)
            {
                continue;
            }
            if let Some(m) = &self.monitor {
                if let Err(e) = m.remove(&client).await {
                    log::warn!("lock manager: cannot delete a monitor record: {e}");
                }
            }
        }
    }

    /// Timers: the end of the grace period, callbacks to retry, idle hosts to forget. Call it
    /// every second or so.
    pub async fn tick(&self, now: Instant) {
        self.in_grace(now);
        self.send_due(now);
        self.forget_notified().await;
        self.forget_idle_hosts(now).await;
    }

    /// Forgets hosts that hold nothing and have not called for `host_idle`, deleting their
    /// monitor records.
    async fn forget_idle_hosts(&self, now: Instant) {
        let idle =
            |h: &hosts::Host| now.saturating_duration_since(h.last_seen) >= self.config.host_idle;
        if !self.hosts.lock().iter().any(idle) {
            return;
        }
        let _serial = self.monitor_writes.lock().await;
        let mut busy: HashSet<HostId> = HashSet::new();
        for part in self.files.iter() {
            for t in part.lock().values() {
                busy.extend(t.hosts());
            }
        }
        let gone: Vec<hosts::Host> = {
            let mut hosts = self.hosts.lock();
            let cb = self.callbacks.lock();
            let ids: Vec<HostId> = hosts
                .iter()
                .filter(|h| idle(h) && !busy.contains(&h.id) && !cb.has_host(h.id))
                .map(|h| h.id)
                .collect();
            ids.into_iter().filter_map(|id| hosts.remove(id)).collect()
        };
        for h in gone.into_iter().filter(|h| h.monitored) {
            let client = MonitoredClient {
                addr: h.addr,
                caller_name: h.caller_name,
                server: h.server,
            };
            if let Some(m) = &self.monitor {
                if let Err(e) = m.remove(&client).await {
                    log::warn!("lock manager: cannot delete a monitor record: {e}");
                }
            }
        }
    }

    /// The locks held on `ino` (tests, diagnostics).
    pub fn locks_of(&self, ino: u64) -> Vec<Lock> {
        self.files
            .part(ino)
            .lock()
            .get(&ino)
            .map(|t| t.locks().to_vec())
            .unwrap_or_default()
    }

    /// Sends the result of a `*_MSG` call back to the client's lock manager as the matching
    /// `*_RES` call (no retries: the client repeats its request if it hears nothing).
    pub fn send_result(&self, from: ClientAddr, procedure: u32, args: Vec<u8>) {
        self.outbox.send(OutboundCall {
            to: from.remote,
            from: Some(from.local),
            prog: nlm4::PROGRAM,
            vers: nlm4::VERSION,
            procedure,
            args,
            done: Box::new(move |result| {
                if let Err(e) = result {
                    log::info!("lock manager: result callback {procedure}: {e}");
                }
            }),
        });
    }
}

/// The cookie of a GRANTED callback: the inode (so that the client's GRANTED_RES can be routed
/// to the file's core) and the grant's id.
pub fn grant_cookie(ino: u64, id: u64) -> [u8; GRANT_COOKIE_LEN] {
    let mut c = [0u8; GRANT_COOKIE_LEN];
    c[..8].copy_from_slice(&ino.to_be_bytes());
    c[8..].copy_from_slice(&id.to_be_bytes());
    c
}

/// The inode and grant id of a GRANTED cookie.
pub fn parse_grant_cookie(cookie: &[u8]) -> Option<(u64, u64)> {
    let c: &[u8; GRANT_COOKIE_LEN] = cookie.try_into().ok()?;
    let (ino, id) = c.split_at(8);
    Some((
        u64::from_be_bytes(ino.try_into().ok()?),
        u64::from_be_bytes(id.try_into().ok()?),
    ))
}

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
