//! What a run measured: the latency histogram, the counters of one connection and of the whole
//! run, and the JSON line printed on stdout.

use std::time::Duration;

use crate::workloads::Workload;

/// Log-linear latency histogram in microseconds: exact below 64 µs, then 32 buckets per power
/// of two (about 3 % resolution). Fixed size.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
}

const LINEAR: usize = 64;
const SUB: usize = 32;
const BUCKETS: usize = LINEAR + SUB * 40;

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS],
        }
    }

    fn bucket(us: u64) -> usize {
        if us < LINEAR as u64 {
            return us as usize;
        }
        let e = 63 - us.leading_zeros() as usize; // >= 6
        let sub = ((us >> (e - 5)) as usize) - SUB;
        (LINEAR + (e - 6) * SUB + sub).min(BUCKETS - 1)
    }

    /// A representative value of bucket `b`, in microseconds.
    fn value(b: usize) -> f64 {
        if b < LINEAR {
            return b as f64 + 0.5;
        }
        let e = 6 + (b - LINEAR) / SUB;
        let sub = (b - LINEAR) % SUB;
        let width = 1u64 << (e - 5);
        let low = (SUB as u64 + sub as u64) * width;
        low as f64 + width as f64 / 2.0
    }

    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.counts[Self::bucket(us)] += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// The `q` quantile in milliseconds (0 when empty).
    fn quantile_ms(&self, q: f64) -> f64 {
        let total: u64 = self.counts.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let target = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= target {
                return Self::value(b) / 1000.0;
            }
        }
        Self::value(BUCKETS - 1) / 1000.0
    }
}

/// Error messages a connection keeps for stderr.
pub const MESSAGES_PER_CONNECTION: usize = 10;
/// Error messages the whole run keeps for stderr.
const MESSAGES_PER_RUN: usize = 20;

pub struct Stats {
    pub hist: Histogram,
    /// Ops completed in the timed window.
    pub ops: u64,
    /// READ/WRITE data bytes of those ops.
    pub bytes: u64,
    pub errors: u64,
    /// Every WRITE byte acknowledged.
    pub written: u64,
    /// The first few error messages, for stderr.
    pub messages: Vec<String>,
}

impl Stats {
    pub fn new() -> Stats {
        Stats {
            hist: Histogram::new(),
            ops: 0,
            bytes: 0,
            errors: 0,
            written: 0,
            messages: Vec::new(),
        }
    }

    pub fn merge(&mut self, o: &Stats) {
        self.hist.merge(&o.hist);
        self.ops += o.ops;
        self.bytes += o.bytes;
        self.errors += o.errors;
        self.written += o.written;
        for m in &o.messages {
            if self.messages.len() < MESSAGES_PER_RUN {
                self.messages.push(m.clone());
            }
        }
    }
}

/// The one line of results on stdout; rates are per `seconds` of the timed window.
pub fn json_line(workload: Workload, seconds: f64, stats: &Stats, written: u64) -> String {
    let secs = seconds.max(1e-9);
    format!(
        "{{\"workload\":\"{}\",\"ops\":{},\"seconds\":{:.3},\"ops_per_sec\":{:.1},\"mb_per_sec\":{:.3},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"p999_ms\":{:.3},\"errors\":{},\"client_bytes_written\":{}}}",
        workload.name(),
        stats.ops,
        seconds,
        stats.ops as f64 / secs,
        stats.bytes as f64 / secs / 1e6,
        stats.hist.quantile_ms(0.50),
        stats.hist.quantile_ms(0.99),
        stats.hist.quantile_ms(0.999),
        stats.errors,
        written,
    )
}
