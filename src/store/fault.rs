//! A fault-injecting object store, for tests: seeded schedules of errors, delays, hangs and
//! lost replies per kind of call, and outages (every call fails or hangs for a while).
//!
//! Used in-process (wrap an object store in [`FaultInjector::wrap`] and switch outages with
//! [`FaultInjector::set_outage`]) and from the real binary through the hidden
//! `--inject-faults SPEC` flag of `slatenfs serve`, which logs a loud warning: nothing turns it
//! on by default, and no setting a production deployment uses does.
//!
//! Whether the `n`-th call of a kind is hit depends only on the seed, the kind and `n`, not on
//! how calls of different kinds interleave (SlateDB runs flushes, compactions and reads
//! concurrently), so a schedule hits the same calls of each kind from run to run.
//!
//! What each fault looks like to SlateDB:
//! - `error`: the call fails at once with a transient error (retried by SlateDB);
//! - `delay=D`: the call is made after `D`;
//! - `hang`: the call never answers (until the per-call deadline of the store gives up);
//! - `lost`: the call is made, then fails as if the reply was lost (a PUT landed but the
//!   caller does not know). Conditional PUTs retried after a lost reply need the back end to
//!   keep SlateDB's put-id attribute (S3, memory); the local-disk store does not, so schedules
//!   for `file://` should not lose replies of conditional PUTs.
//!
//! Spec syntax (comma-separated): `seed=N`, `KIND:FAULT@PROBABILITY` with KIND one of
//! `put_wal put_sst put_cond get list delete other any` and FAULT one of `error hang lost
//! delay=DUR`, and `outage=error:DUR/DUR` or `outage=hang:DUR/DUR` (out for the first
//! duration at the end of every period of the second). DUR is `N ms` or `N s` without space,
//! e.g. `seed=7,put_wal:error@0.05,get:delay=20ms@0.2,outage=error:3s/20s`.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use object_store::ObjectStore;

use super::intercept::{Call, CallPolicy, Intercepted, OpKind};

/// What happens to a call that is hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fails at once with a transient error.
    Error,
    /// Made after this delay.
    Delay(Duration),
    /// Never answers.
    Hang,
    /// Made, then reported as failed.
    LostReply,
}

/// One rule of a schedule: calls of `kind` (all kinds if `None`) are hit by `fault` with
/// `probability`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultRule {
    pub kind: Option<OpKind>,
    pub fault: Fault,
    pub probability: f64,
}

/// Periodic outages: the store fails (or hangs) every call for `length` at the end of every
/// `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    pub hang: bool,
    pub length: Duration,
    pub period: Duration,
}

/// A seeded schedule of faults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaultSchedule {
    pub seed: u64,
    pub rules: Vec<FaultRule>,
    pub outage: Option<Outage>,
}

impl FaultSchedule {
    /// No faults, with `seed`.
    pub fn new(seed: u64) -> Self {
        FaultSchedule {
            seed,
            ..FaultSchedule::default()
        }
    }

    /// Adds a rule.
    pub fn rule(mut self, kind: Option<OpKind>, fault: Fault, probability: f64) -> Self {
        self.rules.push(FaultRule {
            kind,
            fault,
            probability,
        });
        self
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("bad duration {text:?} (e.g. 250ms or 3s)");
    if let Some(ms) = text.strip_suffix("ms") {
        return ms.parse().map(Duration::from_millis).map_err(|_| bad());
    }
    if let Some(s) = text.strip_suffix('s') {
        return s
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(bad);
    }
    Err(bad())
}

fn parse_kind(text: &str) -> Result<Option<OpKind>, String> {
    if text == "any" {
        return Ok(None);
    }
    OpKind::ALL
        .into_iter()
        .find(|k| k.name() == text)
        .map(Some)
        .ok_or_else(|| format!("unknown call kind {text:?}"))
}

fn parse_fault(text: &str) -> Result<Fault, String> {
    match text {
        "error" => Ok(Fault::Error),
        "hang" => Ok(Fault::Hang),
        "lost" => Ok(Fault::LostReply),
        _ => match text.strip_prefix("delay=") {
            Some(d) => Ok(Fault::Delay(parse_duration(d)?)),
            None => Err(format!("unknown fault {text:?}")),
        },
    }
}

impl FromStr for FaultSchedule {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        let mut schedule = FaultSchedule::default();
        for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if let Some(seed) = item.strip_prefix("seed=") {
                schedule.seed = seed.parse().map_err(|_| format!("bad seed {seed:?}"))?;
            } else if let Some(outage) = item.strip_prefix("outage=") {
                let (how, times) = outage.split_once(':').ok_or_else(|| {
                    format!("outage needs error:DUR/DUR or hang:DUR/DUR, got {outage:?}")
                })?;
                let (length, period) = times
                    .split_once('/')
                    .ok_or_else(|| format!("outage needs LENGTH/PERIOD, got {times:?}"))?;
                let (length, period) = (parse_duration(length)?, parse_duration(period)?);
                if length >= period || period.is_zero() {
                    return Err(format!(
                        "outage {times:?}: the length must be below the period"
                    ));
                }
                schedule.outage = Some(Outage {
                    hang: match how {
                        "error" => false,
                        "hang" => true,
                        _ => return Err(format!("outage is error or hang, got {how:?}")),
                    },
                    length,
                    period,
                });
            } else {
                let (rule, probability) = item
                    .split_once('@')
                    .ok_or_else(|| format!("{item:?}: expected KIND:FAULT@PROBABILITY"))?;
                let (kind, fault) = rule
                    .split_once(':')
                    .ok_or_else(|| format!("{item:?}: expected KIND:FAULT@PROBABILITY"))?;
                let probability: f64 = probability
                    .parse()
                    .ok()
                    .filter(|p| (0.0..=1.0).contains(p))
                    .ok_or_else(|| format!("{item:?}: the probability must be in 0..=1"))?;
                schedule.rules.push(FaultRule {
                    kind: parse_kind(kind)?,
                    fault: parse_fault(fault)?,
                    probability,
                });
            }
        }
        Ok(schedule)
    }
}

/// Faults injected so far, by fault.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FaultStats {
    /// Calls made to fail at once (rules and outages).
    pub errors: u64,
    /// Calls delayed.
    pub delays: u64,
    /// Calls that never answered.
    pub hangs: u64,
    /// Calls made whose reply was reported lost.
    pub lost_replies: u64,
    /// Calls that passed untouched.
    pub passed: u64,
}

impl FaultStats {
    /// Every fault injected.
    pub fn injected(&self) -> u64 {
        self.errors + self.delays + self.hangs + self.lost_replies
    }
}

impl fmt::Display for FaultStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} faults injected ({} errors, {} delays, {} hangs, {} lost replies), {} calls passed",
            self.injected(),
            self.errors,
            self.delays,
            self.hangs,
            self.lost_replies,
            self.passed
        )
    }
}

#[derive(Debug, Default)]
struct Counters {
    errors: AtomicU64,
    delays: AtomicU64,
    hangs: AtomicU64,
    lost_replies: AtomicU64,
    passed: AtomicU64,
}

/// The fault-injecting policy (see the module docs).
#[derive(Debug)]
pub struct FaultInjector {
    schedule: FaultSchedule,
    started: Instant,
    /// Calls seen per kind (indexed like [`OpKind::ALL`]): the `n` of the schedule.
    calls: [AtomicU64; OpKind::ALL.len()],
    /// An outage switched on by hand (tests): every call fails.
    outage: AtomicBool,
    counters: Counters,
}

/// splitmix64: a well-mixed 64-bit value of `x`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn kind_index(kind: OpKind) -> usize {
    OpKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

/// The transient error a failed call returns (SlateDB retries it).
fn injected_error(what: &str, call: Call<'_>) -> object_store::Error {
    let location = call.location.map(|l| l.to_string()).unwrap_or_default();
    object_store::Error::Generic {
        store: "fault-injection",
        source: format!("injected {what} on {} {location}", call.kind.name()).into(),
    }
}

impl FaultInjector {
    /// An injector following `schedule`, its clock starting now.
    pub fn new(schedule: FaultSchedule) -> Arc<Self> {
        Arc::new(FaultInjector {
            schedule,
            started: Instant::now(),
            calls: Default::default(),
            outage: AtomicBool::new(false),
            counters: Counters::default(),
        })
    }

    /// `inner` with this injector's faults.
    pub fn wrap(self: &Arc<Self>, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
        Arc::new(Intercepted::new(inner, self.clone()))
    }

    /// The schedule.
    pub fn schedule(&self) -> &FaultSchedule {
        &self.schedule
    }

    /// Switches an outage on (every call fails at once) or off.
    pub fn set_outage(&self, on: bool) {
        self.outage.store(on, Ordering::SeqCst);
    }

    /// Faults injected so far.
    pub fn stats(&self) -> FaultStats {
        let c = &self.counters;
        FaultStats {
            errors: c.errors.load(Ordering::Relaxed),
            delays: c.delays.load(Ordering::Relaxed),
            hangs: c.hangs.load(Ordering::Relaxed),
            lost_replies: c.lost_replies.load(Ordering::Relaxed),
            passed: c.passed.load(Ordering::Relaxed),
        }
    }

    /// The fault for the next call of `kind`, if any.
    fn decide(&self, kind: OpKind) -> Option<Fault> {
        if self.outage.load(Ordering::SeqCst) {
            return Some(Fault::Error);
        }
        if let Some(o) = self.schedule.outage {
            let period = o.period.as_nanos().max(1);
            let at = self.started.elapsed().as_nanos() % period;
            if at >= period - o.length.as_nanos() {
                return Some(if o.hang { Fault::Hang } else { Fault::Error });
            }
        }
        let index = kind_index(kind);
        let n = self.calls.get(index)?.fetch_add(1, Ordering::Relaxed);
        for (r, rule) in self.schedule.rules.iter().enumerate() {
            if rule.kind.is_some_and(|k| k != kind) {
                continue;
            }
            let draw = mix(self.schedule.seed ^ mix((index as u64) << 56 ^ (r as u64) << 48 ^ n));
            // The top 53 bits as a uniform value in [0, 1).
            let u = (draw >> 11) as f64 / (1u64 << 53) as f64;
            if u < rule.probability {
                return Some(rule.fault);
            }
        }
        None
    }
}

impl CallPolicy for FaultInjector {
    fn around<'a, T: Send + 'a>(
        &'a self,
        call: Call<'a>,
        run: BoxFuture<'a, object_store::Result<T>>,
    ) -> BoxFuture<'a, object_store::Result<T>> {
        let c = &self.counters;
        match self.decide(call.kind) {
            None => {
                c.passed.fetch_add(1, Ordering::Relaxed);
                run
            }
            Some(Fault::Error) => {
                c.errors.fetch_add(1, Ordering::Relaxed);
                futures::future::ready(Err(injected_error("error", call))).boxed()
            }
            Some(Fault::Delay(d)) => {
                c.delays.fetch_add(1, Ordering::Relaxed);
                async move {
                    tokio::time::sleep(d).await;
                    run.await
                }
                .boxed()
            }
            Some(Fault::Hang) => {
                c.hangs.fetch_add(1, Ordering::Relaxed);
                futures::future::pending().boxed()
            }
            Some(Fault::LostReply) => {
                c.lost_replies.fetch_add(1, Ordering::Relaxed);
                async move {
                    run.await?;
                    Err(injected_error("lost reply", call))
                }
                .boxed()
            }
        }
    }

    fn describe(&self) -> String {
        "Faults".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_spec() {
        let s: FaultSchedule =
            "seed=7, put_wal:error@0.05,get:delay=20ms@0.2,any:hang@0.001,put_cond:lost@1,outage=hang:3s/20s"
                .parse()
                .unwrap();
        assert_eq!(s.seed, 7);
        assert_eq!(
            s.rules,
            vec![
                FaultRule {
                    kind: Some(OpKind::PutWal),
                    fault: Fault::Error,
                    probability: 0.05
                },
                FaultRule {
                    kind: Some(OpKind::Get),
                    fault: Fault::Delay(Duration::from_millis(20)),
                    probability: 0.2
                },
                FaultRule {
                    kind: None,
                    fault: Fault::Hang,
                    probability: 0.001
                },
                FaultRule {
                    kind: Some(OpKind::PutConditional),
                    fault: Fault::LostReply,
                    probability: 1.0
                },
            ]
        );
        assert_eq!(
            s.outage,
            Some(Outage {
                hang: true,
                length: Duration::from_secs(3),
                period: Duration::from_secs(20)
            })
        );
        for bad in [
            "put_wal:error",
            "nope:error@0.1",
            "get:melt@0.1",
            "get:error@2",
            "outage=error:5s/3s",
            "seed=x",
        ] {
            assert!(bad.parse::<FaultSchedule>().is_err(), "{bad}");
        }
    }

    /// The same seed hits the same calls of a kind whatever the other kinds do; another seed
    /// hits others; the rate follows the probability.
    #[test]
    fn decisions_depend_on_seed_kind_and_index_only() {
        let hits = |seed: u64, interleave: bool| {
            let f = FaultInjector::new(FaultSchedule::new(seed).rule(None, Fault::Error, 0.1));
            (0..2000)
                .map(|_| {
                    if interleave {
                        f.decide(OpKind::Get);
                    }
                    f.decide(OpKind::PutWal).is_some()
                })
                .collect::<Vec<_>>()
        };
        let a = hits(1, false);
        assert_eq!(a, hits(1, true));
        assert_ne!(a, hits(2, false));
        let n = a.iter().filter(|h| **h).count();
        assert!((120..=280).contains(&n), "{n} of 2000 at p=0.1");
    }

    #[test]
    fn a_manual_outage_fails_every_call() {
        let f = FaultInjector::new(FaultSchedule::new(3));
        assert_eq!(f.decide(OpKind::Get), None);
        f.set_outage(true);
        assert_eq!(f.decide(OpKind::List), Some(Fault::Error));
        f.set_outage(false);
        assert_eq!(f.decide(OpKind::Get), None);
    }
}
