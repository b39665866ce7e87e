//! The calls the lock manager still owes its clients, and when to (re)try them: GRANTED_MSG
//! for a blocked lock it granted (until the client answers GRANTED_RES), and SM_NOTIFY after a
//! restart (until the client's status monitor answers). Pure bookkeeping: the caller passes the
//! time and sends what [`Callbacks::due`] hands out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::monitor::MonitoredClient;
use super::range::ByteRange;
use super::table::LockOwner;

/// After a GRANTED_MSG could not be delivered, try again this much later (as Linux does).
pub const GRANT_RETRY: Duration = Duration::from_secs(10);
/// After a GRANTED_MSG was delivered, wait this long for the client's GRANTED_RES before
/// sending it again.
pub const GRANT_RES_WAIT: Duration = Duration::from_secs(60);
/// GRANTED_MSG attempts before the manager stops calling (the lock stays granted; the
/// client's own periodic retry of its blocked LOCK then finds it held).
pub const MAX_GRANT_ATTEMPTS: u32 = 6;
/// First delay before a failed SM_NOTIFY is sent again; it doubles up to [`NOTIFY_RETRY_MAX`].
pub const NOTIFY_RETRY_MIN: Duration = Duration::from_secs(2);
pub const NOTIFY_RETRY_MAX: Duration = Duration::from_secs(60);
/// How long a restart notification is retried (sm-notify's default).
pub const NOTIFY_GIVE_UP: Duration = Duration::from_secs(15 * 60);

/// What the lock manager must tell a client when its blocked lock is granted: the lock exactly
/// as the client asked for it (clients match the callback by handle, owner and range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantTo {
    pub caller_name: Bytes,
    pub fh: Bytes,
    pub l_offset: u64,
    pub l_len: u64,
}

/// Where a pending call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    /// Sent; no outcome yet.
    InFlight,
    /// To be sent at this time.
    Due(Instant),
    /// Delivered; waiting for the client's answer (GRANTED_RES) until this time.
    Answered(Instant),
}

/// A granted blocked lock the client has not acknowledged yet.
#[derive(Debug, Clone)]
pub struct PendingGrant {
    pub ino: u64,
    pub owner: LockOwner,
    pub range: ByteRange,
    pub exclusive: bool,
    pub to: GrantTo,
    pub attempts: u32,
    pub state: Pending,
}

/// A restart notification not yet delivered.
#[derive(Debug, Clone)]
pub struct PendingNotify {
    pub client: MonitoredClient,
    pub attempts: u32,
    pub state: Pending,
    pub give_up_at: Instant,
}

/// A call that is due now.
#[derive(Debug, Clone)]
pub enum DueCall {
    Grant(u64, PendingGrant),
    Notify(u64, PendingNotify),
}

/// The pending calls, by id (a grant's id is also in its cookie).
#[derive(Debug, Default)]
pub struct Callbacks {
    grants: HashMap<u64, PendingGrant>,
    notifies: HashMap<u64, PendingNotify>,
}

impl Callbacks {
    /// Records a grant to be sent now (`id` from the manager's counter).
    pub fn add_grant(&mut self, id: u64, grant: PendingGrant) {
        self.grants.insert(id, grant);
    }

    pub fn add_notify(&mut self, id: u64, notify: PendingNotify) {
        self.notifies.insert(id, notify);
    }

    /// The outcome of sending grant `id`: delivered or not. Returns false when the grant is
    /// given up (too many attempts) or no longer pending.
    pub fn grant_sent(&mut self, id: u64, delivered: bool, now: Instant) -> bool {
        let Some(g) = self.grants.get_mut(&id) else {
            return false;
        };
        g.attempts += 1;
        if delivered {
            g.state = Pending::Answered(now + GRANT_RES_WAIT);
            return true;
        }
        if g.attempts >= MAX_GRANT_ATTEMPTS {
            self.grants.remove(&id);
            return false;
        }
        g.state = Pending::Due(now + GRANT_RETRY);
        true
    }

    /// The client answered grant `id`; `retry_later` when it asked to be called again (it was
    /// in its own grace period).
    pub fn grant_answered(
        &mut self,
        id: u64,
        retry_later: bool,
        now: Instant,
    ) -> Option<PendingGrant> {
        if retry_later {
            if let Some(g) = self.grants.get_mut(&id) {
                g.state = Pending::Due(now + GRANT_RETRY);
            }
            return None;
        }
        self.grants.remove(&id)
    }

    /// Forgets the grants of `owner` on `ino` within `range` (the lock was released or the
    /// client took it by itself).
    pub fn drop_grants(&mut self, ino: u64, owner: &LockOwner, range: &ByteRange) -> usize {
        let before = self.grants.len();
        self.grants
            .retain(|_, g| !(g.ino == ino && g.owner == *owner && g.range.overlaps(range)));
        before - self.grants.len()
    }

    /// Forgets the grants of the hosts `gone` selects.
    pub fn drop_hosts(&mut self, gone: impl Fn(u32) -> bool) {
        self.grants.retain(|_, g| !gone(g.owner.host));
    }

    /// Whether `host` is owed a grant.
    pub fn has_host(&self, host: u32) -> bool {
        self.grants.values().any(|g| g.owner.host == host)
    }

    /// The outcome of sending notification `id`. Returns the notification when it is finished
    /// (delivered, or given up: `delivered` tells which).
    pub fn notify_sent(&mut self, id: u64, delivered: bool, now: Instant) -> Option<PendingNotify> {
        let n = self.notifies.get_mut(&id)?;
        n.attempts += 1;
        if delivered || now >= n.give_up_at {
            return self.notifies.remove(&id);
        }
        let backoff = NOTIFY_RETRY_MIN
            .saturating_mul(1 << n.attempts.min(8))
            .min(NOTIFY_RETRY_MAX);
        n.state = Pending::Due(now + backoff);
        None
    }

    /// Everything due at `now`, marked in flight. A grant whose answer did not come in time is
    /// due again.
    pub fn due(&mut self, now: Instant) -> Vec<DueCall> {
        let due = |p: &Pending| match *p {
            Pending::Due(t) | Pending::Answered(t) => t <= now,
            Pending::InFlight => false,
        };
        let mut out = Vec::new();
        for (id, g) in self.grants.iter_mut().filter(|(_, g)| due(&g.state)) {
            g.state = Pending::InFlight;
            out.push(DueCall::Grant(*id, g.clone()));
        }
        for (id, n) in self.notifies.iter_mut().filter(|(_, n)| due(&n.state)) {
            n.state = Pending::InFlight;
            out.push(DueCall::Notify(*id, n.clone()));
        }
        out
    }

    pub fn pending_notifies(&self) -> usize {
        self.notifies.len()
    }

    pub fn pending_grants(&self) -> usize {
        self.grants.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(host: u32) -> PendingGrant {
        PendingGrant {
            ino: 9,
            owner: LockOwner {
                host,
                svid: 1,
                oh: Bytes::new(),
            },
            range: ByteRange::to_eof(0),
            exclusive: true,
            to: GrantTo {
                caller_name: Bytes::new(),
                fh: Bytes::new(),
                l_offset: 0,
                l_len: 0,
            },
            attempts: 0,
            state: Pending::InFlight,
        }
    }

    #[test]
    fn grants_retry_then_wait_for_the_answer() {
        let t0 = Instant::now();
        let mut c = Callbacks::default();
        c.add_grant(1, grant(5));
        assert!(c.due(t0).is_empty(), "in flight");
        assert!(c.grant_sent(1, false, t0));
        assert!(c.due(t0 + GRANT_RETRY / 2).is_empty());
        assert_eq!(c.due(t0 + GRANT_RETRY).len(), 1);
        assert!(c.grant_sent(1, true, t0 + GRANT_RETRY));
        let later = t0 + GRANT_RETRY + GRANT_RES_WAIT;
        assert!(c.due(later - Duration::from_secs(1)).is_empty());
        // No answer in time: sent again.
        assert_eq!(c.due(later).len(), 1);
        assert!(c.grant_answered(1, false, later).is_some());
        assert_eq!(c.pending_grants(), 0);
    }

    #[test]
    fn grants_are_given_up_and_dropped() {
        let t0 = Instant::now();
        let mut c = Callbacks::default();
        c.add_grant(1, grant(5));
        for i in 1..MAX_GRANT_ATTEMPTS {
            assert!(c.grant_sent(1, false, t0), "attempt {i}");
            c.due(t0 + GRANT_RETRY * i);
        }
        assert!(!c.grant_sent(1, false, t0));
        assert_eq!(c.pending_grants(), 0);
        c.add_grant(2, grant(5));
        c.add_grant(3, grant(6));
        assert!(c.has_host(5));
        c.drop_hosts(|h| h == 5);
        assert!(!c.has_host(5) && c.has_host(6));
        let g = grant(6);
        assert_eq!(c.drop_grants(9, &g.owner, &ByteRange::to_eof(100)), 1);
    }

    #[test]
    fn notifies_back_off_and_give_up() {
        let t0 = Instant::now();
        let mut c = Callbacks::default();
        let client = MonitoredClient {
            addr: "192.0.2.1".parse().unwrap(),
            caller_name: Bytes::from_static(b"c"),
            server: "192.0.2.2".parse().unwrap(),
        };
        c.add_notify(
            1,
            PendingNotify {
                client,
                attempts: 0,
                state: Pending::Due(t0),
                give_up_at: t0 + NOTIFY_GIVE_UP,
            },
        );
        assert_eq!(c.due(t0).len(), 1);
        assert!(c.notify_sent(1, false, t0).is_none());
        assert!(c.due(t0 + NOTIFY_RETRY_MIN).is_empty(), "backed off");
        assert_eq!(c.due(t0 + NOTIFY_RETRY_MAX).len(), 1);
        assert!(c.notify_sent(1, false, t0 + NOTIFY_GIVE_UP).is_some());
        assert_eq!(c.pending_notifies(), 0);
    }
}
