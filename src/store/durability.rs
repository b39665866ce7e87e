//! When a write is durable: write tickets, the group flusher, the write verifier, and what a
//! COMMIT of one file has to wait for. Everything in slatenfs that waits for durability waits
//! here, through [`Applied::durable`] or [`DurabilityTracker::commit_file`].
//!
//! The contract, in the order things happen:
//! - **Tickets.** Every SlateDB write the group writer applies takes the next [`WriteTicket`]
//!   right after SlateDB applied it (one per group write; every batch of the group shares it).
//!   An [`Applied`] write carries its ticket.
//! - **Covering flushes.** One flusher task runs WAL flushes while anyone waits. A flush that
//!   starts when the ticket counter reads `n` makes every write with a ticket up to `n`
//!   durable: those writes were in the WAL buffer when it began, and WAL flushes complete in
//!   order. When it completes it answers every waiter it covers, including those that started
//!   waiting while it ran, and `n` becomes the durable mark. So concurrent durable operations
//!   share one WAL PUT (group commit), and a wait for a ticket that is already durable costs
//!   nothing.
//! - **The flush interval.** Nobody may wait for a write at all (UNSTABLE data, everything
//!   under `--async`); the flusher then flushes once the oldest write no flush covers is one
//!   flush interval old, so an acknowledged write is in memory only for that long. SlateDB's
//!   own flush timer is off: it fires whether or not anything is due, and on object storage
//!   its PUTs stand in the way of the flushes clients wait for. A flush with nothing new to
//!   write is not started: its waiters are answered at once.
//! - **Gathering.** SlateDB uploads WAL objects one at a time, so a write that arrives while a
//!   flush is under way waits for the rest of it and then for the next. Clients whose calls a
//!   flush answered usually send their next durable call within a network round trip; were the
//!   next flush to start at once, it would leave them all for the one after, and every durable
//!   call would cost two flushes. So before the next flush the flusher waits until as many
//!   waiters as the last flush answered are back, or a quarter of the last flush's duration
//!   (at most [`MAX_GATHER`]) has passed. A lone client is not delayed: it is all the waiters
//!   there were.
//! - **The write verifier** changes whenever data that was acknowledged as UNSTABLE may have been
//!   lost, or may not be made durable in time: at every open (a restart), after any failed
//!   write or flush, and when a durable wait gives up. Clients compare it and resend what they
//!   had not committed.
//! - **Bounded waits.** Nobody waits for durability longer than the wait limit. SlateDB retries
//!   a WAL PUT that fails until the object store answers (each object-store call is bounded,
//!   see `deadline`; the retries are not, on purpose: a bounded number would close the
//!   database for good after an outage longer than the bound, where this way everything goes
//!   on by itself once the store answers). So a flush may take as long as an outage; the
//!   flusher answers every waiter that has waited longer than the limit with
//!   [`StoreError::NotYetDurable`]: the write is applied and visible, and becomes durable when
//!   the store answers again, unless the server stops first. Nobody was told it is durable.
//! - **Stalls.** While a flush has been under way for longer than the limit, or waiters were
//!   given up since the last flush that succeeded, the store is stalled: operations that would
//!   change something are refused before they start ([`DurabilityTracker::check_available`],
//!   [`StoreError::Unavailable`]), so that an outage does not pile up work that cannot be made
//!   durable. A SlateDB write that has been under way for longer than the limit stalls the store
//!   too: SlateDB holds writers back once its unflushed data reaches `max_unflushed_bytes`, so
//!   that is how an outage shows when only UNSTABLE writes come in and nobody waits for a
//!   flush.
//! - **COMMIT** of a file needs only the ticket of the file's latest UNSTABLE write
//!   ([`UnstableWrites`]): everything else a COMMIT covers is already durable or ordered before
//!   it (metadata operations are durable before they reply, and a file's writes follow the
//!   operations that created it). With asynchronous metadata, COMMIT covers everything applied.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use slatedb::Db;
use tokio::sync::{oneshot, Notify};

use super::group_write::LANES;
use super::unstable::UnstableWrites;
use super::StoreError;
use crate::metrics::metrics;

/// How a write must be acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Once the write is applied in memory (visible to readers at once).
    Memory,
    /// Once the write is durable in object storage (group-committed).
    Durable,
}

/// The place of an applied write in the order of the store's writes (see the module docs).
/// `WriteTicket::NONE` stands for "nothing written": covered by every flush, always durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct WriteTicket(pub(crate) u64);

impl WriteTicket {
    /// No write: already durable.
    pub const NONE: WriteTicket = WriteTicket(0);
}

/// What a COMMIT of one file must make durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitScope {
    /// The file's own unstable writes (metadata operations were durable before they replied).
    File,
    /// Everything applied so far (metadata operations replied before they were durable).
    Everything,
}

/// The 8-byte write verifier of RFC 1813 (see the module docs for when it changes).
#[derive(Debug)]
pub struct WriteVerifier(AtomicU64);

impl WriteVerifier {
    fn new() -> Self {
        WriteVerifier(AtomicU64::new(fresh_verifier(0)))
    }

    /// The current value, as sent in WRITE and COMMIT replies.
    pub fn current(&self) -> [u8; 8] {
        self.0.load(Ordering::Acquire).to_be_bytes()
    }

    fn change(&self) {
        let old = self.0.load(Ordering::Acquire);
        self.0.store(fresh_verifier(old), Ordering::Release);
    }
}

/// A verifier value that differs from `old` and, being taken from the clock in nanoseconds,
/// from the values of earlier runs.
fn fresh_verifier(old: u64) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let v = now ^ u64::from(std::process::id()).rotate_left(48);
    if v == old {
        v.wrapping_add(1)
    } else {
        v
    }
}

/// How often the flusher looks for waiters to give up on while a flush is under way.
const EXPIRY_TICK: Duration = Duration::from_millis(100);

/// A caller waiting for a flush that covers its ticket, since when.
struct FlushWaiter {
    ticket: WriteTicket,
    since: Instant,
    answer: oneshot::Sender<Result<(), StoreError>>,
}

/// The longest the flusher waits for the waiters of the last flush to come back.
pub const MAX_GATHER: Duration = Duration::from_millis(5);

/// The store's durability state: tickets, waiters, the flusher's wake-up, the verifier and the
/// per-file unstable writes. Shared by the store's writers, its flusher task and its callers.
pub struct DurabilityTracker {
    /// Tickets handed out (the latest applied write's ticket).
    applied: AtomicU64,
    /// The highest ticket a completed flush covered.
    durable: AtomicU64,
    waiting: Mutex<Vec<FlushWaiter>>,
    flush_wanted: Notify,
    /// When the oldest write no flush has started to cover yet got its ticket, in nanoseconds
    /// after `epoch` plus one (0: none). The flusher flushes by the time it is one flush
    /// interval old (see `run_flusher`).
    oldest_unflushed: AtomicU64,
    /// Wakes the flusher when a write is the first since the last flush began.
    unflushed_wanted: Notify,
    /// Set when the flusher stopped for good (store fenced or closed), with the reason.
    stopped: Mutex<Option<StoreError>>,
    has_stopped: AtomicBool,
    verifier: WriteVerifier,
    unstable: UnstableWrites,
    /// Longest wait for durability (see the module docs).
    wait_limit: Duration,
    /// When the flush under way started (`None`: no flush under way).
    flush_started: Mutex<Option<Instant>>,
    /// Per lane of the group writer, when its SlateDB write under way started, in nanoseconds
    /// after `epoch` plus one (0: none under way).
    writes_started: Box<[AtomicU64]>,
    epoch: Instant,
    /// Waiters were given up since the last flush that succeeded.
    gave_up: AtomicBool,
    unstable_bytes: UnstableBytes,
}

/// Bytes written UNSTABLE that no completed flush covers yet, by ticket (for the
/// `slatenfs_unstable_bytes` gauge).
#[derive(Default)]
struct UnstableBytes(Mutex<VecDeque<(WriteTicket, u64)>>);

impl UnstableBytes {
    fn written(&self, ticket: WriteTicket, bytes: u64) {
        self.0.lock().push_back((ticket, bytes));
        metrics().store.unstable_bytes.inc_by(bytes as i64);
    }

    /// A flush made every write up to `durable` durable.
    fn covered(&self, durable: WriteTicket) {
        let mut pending = self.0.lock();
        let mut freed = 0;
        while pending.front().is_some_and(|(t, _)| *t <= durable) {
            freed += pending.pop_front().map_or(0, |(_, b)| b);
        }
        if freed > 0 {
            metrics().store.unstable_bytes.dec_by(freed as i64);
        }
    }
}

impl std::fmt::Debug for DurabilityTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurabilityTracker")
            .field("applied", &self.applied)
            .field("durable", &self.durable)
            .finish_non_exhaustive()
    }
}

impl DurabilityTracker {
    /// A tracker whose durable waits give up after `wait_limit`.
    pub(crate) fn new(wait_limit: Duration) -> Arc<Self> {
        Arc::new(DurabilityTracker {
            applied: AtomicU64::new(0),
            durable: AtomicU64::new(0),
            waiting: Mutex::new(Vec::new()),
            flush_wanted: Notify::new(),
            oldest_unflushed: AtomicU64::new(0),
            unflushed_wanted: Notify::new(),
            stopped: Mutex::new(None),
            has_stopped: AtomicBool::new(false),
            verifier: WriteVerifier::new(),
            unstable: UnstableWrites::default(),
            wait_limit,
            flush_started: Mutex::new(None),
            gave_up: AtomicBool::new(false),
            writes_started: (0..LANES).map(|_| AtomicU64::new(0)).collect(),
            epoch: Instant::now(),
            unstable_bytes: UnstableBytes::default(),
        })
    }

    /// A SlateDB write of `lane` starts (`true`) or ends (`false`).
    pub(crate) fn write_under_way(&self, lane: usize, under_way: bool) {
        if let Some(slot) = self.writes_started.get(lane) {
            let mark = if under_way { self.now_mark() } else { 0 };
            slot.store(mark, Ordering::Release);
        }
    }

    /// The longest wait for durability.
    pub fn wait_limit(&self) -> Duration {
        self.wait_limit
    }

    /// Whether the store is stalled (see the module docs): a flush has been under way for
    /// longer than the wait limit, or durable waits were given up since the last flush that
    /// succeeded.
    pub fn is_stalled(&self) -> bool {
        let limit = self.wait_limit;
        if self.gave_up.load(Ordering::Acquire)
            || self
                .flush_started
                .lock()
                .is_some_and(|t| t.elapsed() > limit)
        {
            return true;
        }
        let now = self.now_mark();
        let limit = limit.as_nanos() as u64;
        self.writes_started.iter().any(|slot| {
            let started = slot.load(Ordering::Acquire);
            started != 0 && now.saturating_sub(started) > limit
        })
    }

    /// `Err(Unavailable)` while the store is stalled: what an operation that would change
    /// something checks before it starts. `Err` with the reason once the store stopped for
    /// good (fenced or closed).
    pub fn check_available(&self) -> Result<(), StoreError> {
        if let Some(e) = self.stop_reason() {
            return Err(e);
        }
        if self.is_stalled() {
            return Err(StoreError::Unavailable(format!(
                "the object store has not confirmed a write for over {:?}",
                self.wait_limit
            )));
        }
        Ok(())
    }

    /// The ticket of a write SlateDB has just applied. Taken after the apply, so any flush that
    /// starts once the ticket is counted finds the write in the WAL buffer.
    pub(crate) fn next_ticket(&self) -> WriteTicket {
        let ticket = WriteTicket(self.applied.fetch_add(1, Ordering::AcqRel) + 1);
        // The first write since a flush began starts the clock of the next one.
        if self.oldest_unflushed.load(Ordering::Acquire) == 0 && self.start_unflushed_clock() {
            self.unflushed_wanted.notify_one();
        }
        ticket
    }

    /// Marks now as when the oldest write no flush covers was applied, unless a mark is set;
    /// whether this call set it.
    fn start_unflushed_clock(&self) -> bool {
        self.oldest_unflushed
            .compare_exchange(0, self.now_mark(), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Now, in nanoseconds after `epoch` plus one.
    fn now_mark(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64 + 1
    }

    /// Until a flush is asked for, or the oldest write no flush covers is `interval` old.
    async fn flush_due(&self, interval: Duration) {
        loop {
            let oldest = self.oldest_unflushed.load(Ordering::Acquire);
            if oldest == 0 {
                tokio::select! {
                    _ = self.flush_wanted.notified() => return,
                    _ = self.unflushed_wanted.notified() => continue,
                }
            }
            let due = self.epoch + Duration::from_nanos(oldest - 1) + interval;
            tokio::select! {
                _ = self.flush_wanted.notified() => return,
                _ = tokio::time::sleep_until(due.into()) => {
                    metrics().store.wal_timed_flushes.inc();
                    return;
                }
            }
        }
    }

    /// A write failed: what it carried, and what was buffered with it, may be lost.
    pub(crate) fn write_failed(&self) {
        self.verifier.change();
    }

    /// Asks the flusher for a flush soon (a durable write was just applied).
    pub(crate) fn want_flush(&self) {
        self.flush_wanted.notify_one();
    }

    /// The ticket of the latest applied write: a flush covering it covers every write applied
    /// before this call.
    pub fn applied_ticket(&self) -> WriteTicket {
        WriteTicket(self.applied.load(Ordering::Acquire))
    }

    /// Whether the write with `ticket` is known to be durable.
    pub fn is_durable(&self, ticket: WriteTicket) -> bool {
        ticket.0 <= self.durable.load(Ordering::Acquire)
    }

    /// The write verifier.
    pub fn verifier(&self) -> [u8; 8] {
        self.verifier.current()
    }

    /// Waits until the write with `ticket`, and every write before it, is durable: at once if a
    /// completed flush covered it, with the flush under way if that one covers it, otherwise
    /// with the next one. Gives up with [`StoreError::NotYetDurable`] after the wait limit.
    pub async fn wait_durable(&self, ticket: WriteTicket) -> Result<(), StoreError> {
        if self.is_durable(ticket) {
            return Ok(());
        }
        if let Some(e) = self.stop_reason() {
            return Err(e);
        }
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().push(FlushWaiter {
            ticket,
            since: Instant::now(),
            answer: tx,
        });
        self.flush_wanted.notify_one();
        if self.has_stopped.load(Ordering::Acquire) {
            // The flusher stopped after the check above and may not have seen this waiter.
            self.answer_all_stopped();
        }
        rx.await.map_err(|_| StoreError::RuntimeGone)?
    }

    /// Makes every write applied so far durable.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.wait_durable(self.applied_ticket()).await
    }

    /// Records an UNSTABLE write of `bytes` to `file` applied with `ticket`: its COMMIT will
    /// need it.
    pub fn record_unstable(&self, file: u64, ticket: WriteTicket, bytes: u64) {
        self.unstable.record(file, ticket, |t| self.is_durable(t));
        if !self.is_durable(ticket) {
            self.unstable_bytes.written(ticket, bytes);
        }
    }

    /// COMMIT of `file`: waits until what `scope` names is durable.
    pub async fn commit_file(&self, file: u64, scope: CommitScope) -> Result<(), StoreError> {
        let needed = match scope {
            CommitScope::File => self.unstable.needed(file),
            CommitScope::Everything => self.applied_ticket(),
        };
        self.wait_durable(needed).await?;
        self.unstable.covered(file, needed);
        Ok(())
    }

    fn stop_reason(&self) -> Option<StoreError> {
        self.stopped.lock().as_ref().map(StoreError::shared)
    }

    fn answer_all_stopped(&self) {
        let reason = self.stop_reason().unwrap_or(StoreError::Closed);
        for w in std::mem::take(&mut *self.waiting.lock()) {
            let _ = w.answer.send(Err(reason.shared()));
        }
    }

    /// Why the store stopped for good (fenced, failed or closed), once it has.
    pub fn stopped(&self) -> Option<StoreError> {
        self.stop_reason()
    }

    /// Whether the store stopped for good (one atomic load: checked on every call served).
    pub fn has_stopped(&self) -> bool {
        self.has_stopped.load(Ordering::Acquire)
    }

    /// Records that the store stopped for good (the first reason stays) and answers every
    /// waiter.
    pub(crate) fn stop(&self, reason: StoreError) {
        self.stopped.lock().get_or_insert(reason);
        self.has_stopped.store(true, Ordering::Release);
        self.answer_all_stopped();
    }

    /// Answers the waiters that have waited longer than the limit with `NotYetDurable`.
    fn give_up_overdue(&self) {
        let limit = self.wait_limit;
        let overdue: Vec<FlushWaiter> = {
            let mut waiting = self.waiting.lock();
            let (overdue, rest) = std::mem::take(&mut *waiting)
                .into_iter()
                .partition(|w| w.since.elapsed() >= limit);
            *waiting = rest;
            overdue
        };
        if overdue.is_empty() {
            return;
        }
        if !self.gave_up.swap(true, Ordering::AcqRel) {
            log::warn!(
                "the object store has not confirmed a WAL flush for over {limit:?}: answering \
                 durable operations with JUKEBOX (retry later) until it does"
            );
        }
        // Acknowledged UNSTABLE data is not lost (SlateDB keeps retrying), but it may not be
        // made durable before a restart: clients are to resend what they have not committed.
        self.verifier.change();
        for w in overdue {
            let _ = w.answer.send(Err(StoreError::NotYetDurable(w.ticket)));
        }
    }

    /// Waits until `expected` callers wait for durability, or `gather` has passed.
    async fn gather_waiters(&self, expected: usize, gather: Duration) {
        let deadline = tokio::time::Instant::now() + gather;
        while self.waiting.lock().len() < expected {
            let woken = tokio::time::timeout_at(deadline, self.flush_wanted.notified()).await;
            if woken.is_err() {
                return;
            }
        }
    }

    /// Removes and returns the waiters a flush that began at ticket `upto` covers.
    fn take_covered(&self, upto: u64) -> Vec<FlushWaiter> {
        let mut waiting = self.waiting.lock();
        let (covered, rest) = std::mem::take(&mut *waiting)
            .into_iter()
            .partition(|w| w.ticket.0 <= upto);
        *waiting = rest;
        covered
    }

    /// Answers, without a flush, the waiters whose writes a completed flush already covered;
    /// how many.
    fn answer_already_durable(&self) -> usize {
        let covered = self.take_covered(self.durable.load(Ordering::Acquire));
        let n = covered.len();
        for w in covered {
            let _ = w.answer.send(Ok(()));
        }
        n
    }

    /// The flusher task: runs on the storage runtime until the store is fenced or closed.
    ///
    /// It flushes when someone waits for durability, and otherwise once the oldest write no
    /// flush covers is `interval` old: that bounds how long an acknowledged write stays in
    /// memory only (UNSTABLE data, and everything under `--async`). SlateDB's own flush timer
    /// is off, because it fires whether or not a flush is due: a serial client whose every
    /// durable call flushes anyway would pay for extra WAL PUTs, and a durable call arriving
    /// during one waits for it to finish before its own can start.
    pub(crate) async fn run_flusher(self: Arc<Self>, db: Arc<Db>, interval: Duration) {
        // Waiters the last flush answered, and how long to give them to come back.
        let (mut answered, mut gather) = (0usize, Duration::ZERO);
        loop {
            self.flush_due(interval).await;
            if answered > 1 && !gather.is_zero() {
                self.gather_waiters(answered, gather).await;
            }
            // Nothing applied since the last flush that succeeded began: the waiters (woken
            // late, or asking again for what is durable) need no flush of their own.
            if self.applied.load(Ordering::Acquire) <= self.durable.load(Ordering::Acquire) {
                answered = self.answer_already_durable();
                if !self.waiting.lock().is_empty() {
                    self.flush_wanted.notify_one();
                }
                continue;
            }
            // A write that takes its ticket from here on starts the clock of the next flush.
            self.oldest_unflushed.store(0, Ordering::Release);
            // Every write with a ticket up to here is in the WAL buffer: this flush covers it,
            // and so every waiter whose ticket is not above `start`, including those that
            // register while the flush is under way.
            let start = self.applied.load(Ordering::Acquire);
            let began = Instant::now();
            *self.flush_started.lock() = Some(began);
            let flush = db.flush();
            tokio::pin!(flush);
            let result = loop {
                tokio::select! {
                    r = &mut flush => break r.map_err(StoreError::from),
                    _ = tokio::time::sleep(EXPIRY_TICK) => self.give_up_overdue(),
                }
            };
            *self.flush_started.lock() = None;
            let took = began.elapsed();
            gather = (took / 4).min(MAX_GATHER);
            let m = &metrics().store;
            m.wal_flushes.inc();
            m.wal_flush_latency.observe(took.as_secs_f64());
            match &result {
                Ok(()) => {
                    self.durable.fetch_max(start, Ordering::AcqRel);
                    self.unstable_bytes.covered(WriteTicket(start));
                    if self.gave_up.swap(false, Ordering::AcqRel) {
                        log::warn!("the object store confirms WAL flushes again");
                    }
                }
                Err(e) => {
                    m.wal_flush_failures.inc();
                    log::warn!("WAL flush failed: {e}");
                    self.verifier.change();
                    // What it was to cover is still to flush, by the interval at the latest.
                    self.start_unflushed_clock();
                }
            }
            let covered = self.take_covered(start);
            let more = !self.waiting.lock().is_empty();
            answered = covered.len();
            for w in covered {
                let _ = w
                    .answer
                    .send(result.as_ref().map(|_| ()).map_err(StoreError::shared));
            }
            if let Err(e @ (StoreError::Fenced | StoreError::Closed)) = &result {
                self.stop(e.shared());
                return;
            }
            if more {
                // Waiters for later writes: they need the next flush.
                self.flush_wanted.notify_one();
            }
        }
    }
}

/// A write SlateDB has applied (visible to readers), with its durability still to be awaited.
/// Callers release their locks before [`Applied::durable`], so that operations queued behind
/// them apply theirs and share the next WAL flush instead of each waiting for its own.
#[must_use = "a durable write is only durable once `durable` returns Ok"]
pub struct Applied {
    ticket: WriteTicket,
    durability: Durability,
    tracker: Option<Arc<DurabilityTracker>>,
}

impl Applied {
    pub(crate) fn new(
        ticket: WriteTicket,
        durability: Durability,
        tracker: Arc<DurabilityTracker>,
    ) -> Self {
        Applied {
            ticket,
            durability,
            tracker: Some(tracker),
        }
    }

    /// Nothing was written: durable already.
    pub fn nothing() -> Self {
        Applied {
            ticket: WriteTicket::NONE,
            durability: Durability::Memory,
            tracker: None,
        }
    }

    /// The write's ticket.
    pub fn ticket(&self) -> WriteTicket {
        self.ticket
    }

    /// Returns once the write is as durable as it asked to be: at once for
    /// [`Durability::Memory`], after a covering flush for [`Durability::Durable`].
    pub async fn durable(self) -> Result<(), StoreError> {
        match (&self.tracker, self.durability) {
            (Some(tracker), Durability::Durable) => tracker.wait_durable(self.ticket).await,
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_grow_and_durability_follows_the_mark() {
        let t = DurabilityTracker::new(Duration::from_secs(1));
        assert!(t.is_durable(WriteTicket::NONE));
        let a = t.next_ticket();
        let b = t.next_ticket();
        assert!(a < b);
        assert_eq!(t.applied_ticket(), b);
        assert!(!t.is_durable(a));
        t.durable.store(a.0, Ordering::Release);
        assert!(t.is_durable(a) && !t.is_durable(b));
    }

    #[test]
    fn a_failed_write_changes_the_verifier() {
        let t = DurabilityTracker::new(Duration::from_secs(1));
        let before = t.verifier();
        t.write_failed();
        assert_ne!(t.verifier(), before);
    }

    #[test]
    fn a_memory_write_is_durable_enough_at_once() {
        let t = DurabilityTracker::new(Duration::from_secs(1));
        let ticket = t.next_ticket();
        let applied = Applied::new(ticket, Durability::Memory, t.clone());
        futures::executor::block_on(applied.durable()).unwrap();
        futures::executor::block_on(Applied::nothing().durable()).unwrap();
    }
}
