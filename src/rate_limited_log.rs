//! Log lines that a flood cannot turn into a flood of log lines: a refused client retrying in
//! a loop must not fill the disk or drown the other messages.
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Allows up to `per_second` lines in each wall-clock second, and counts the rest so that the
/// next line allowed can say how many were left out.
#[derive(Debug)]
pub struct RateLimitedLog {
    per_second: u64,
    /// The second being counted, and the lines logged in it (high and low 32 bits).
    window: AtomicU64,
    suppressed: AtomicU64,
}

impl RateLimitedLog {
    pub const fn new(per_second: u32) -> Self {
        RateLimitedLog {
            per_second: per_second as u64,
            window: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Whether a line may be logged at second `now`; `Some(n)`: yes, and `n` lines were left
    /// out since the last one logged.
    pub fn admit_at(&self, now: u64) -> Option<u64> {
        let second = now & 0xffff_ffff;
        let mut cur = self.window.load(Ordering::Relaxed);
        loop {
            let (at, count) = (cur >> 32, cur & 0xffff_ffff);
            let next = if at == second {
                if count >= self.per_second {
                    self.suppressed.fetch_add(1, Ordering::Relaxed);
                    return None;
                }
                (second << 32) | (count + 1)
            } else {
                (second << 32) | 1
            };
            match self
                .window
                .compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Some(self.suppressed.swap(0, Ordering::Relaxed)),
                Err(seen) => cur = seen,
            }
        }
    }

    /// [`RateLimitedLog::admit_at`] now.
    pub fn admit(&self) -> Option<u64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.admit_at(now)
    }

    /// Logs `line()` at warn level if the budget allows, noting lines left out before it.
    pub fn warn(&self, line: impl FnOnce() -> String) {
        if let Some(left_out) = self.admit() {
            if left_out > 0 {
                log::warn!("{} ({left_out} similar lines left out)", line());
            } else {
                log::warn!("{}", line());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_few_per_second_and_counts_the_rest() {
        let log = RateLimitedLog::new(3);
        assert_eq!(log.admit_at(100), Some(0));
        assert_eq!(log.admit_at(100), Some(0));
        assert_eq!(log.admit_at(100), Some(0));
        for _ in 0..10 {
            assert_eq!(log.admit_at(100), None);
        }
        assert_eq!(log.admit_at(101), Some(10));
        assert_eq!(log.admit_at(101), Some(0));
    }
}
