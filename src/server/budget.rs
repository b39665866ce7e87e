//! Reply bytes held for clients, bounded per connection and per core, so that clients that
//! send calls faster than they read the replies (or never read them) cannot make the server
//! hold unbounded memory.
//!
//! A call's reply is charged from the moment the call is dispatched (by the service's estimate
//! of its size) until its bytes are written to the socket (by their real size, once encoded).
//! A connection that holds more than its share, or whose core holds more than the core's, reads
//! no further calls until writes release some; a connection that holds nothing may always run
//! one call, so no connection starves behind the others.
use std::cell::Cell;
use std::rc::Rc;

/// What one core's connections hold.
#[derive(Debug)]
pub(super) struct CoreReplyBudget {
    used: Cell<usize>,
    limit: usize,
}

impl CoreReplyBudget {
    pub(super) fn new(limit: usize) -> Rc<Self> {
        Rc::new(CoreReplyBudget {
            used: Cell::new(0),
            limit,
        })
    }

    /// Bytes held over all the core's connections.
    #[cfg(test)]
    pub(super) fn used(&self) -> usize {
        self.used.get()
    }
}

/// What one connection holds (returned to its core when dropped).
#[derive(Debug)]
pub(super) struct ConnReplyBudget {
    core: Rc<CoreReplyBudget>,
    used: Cell<usize>,
    limit: usize,
}

impl ConnReplyBudget {
    pub(super) fn new(core: Rc<CoreReplyBudget>, limit: usize) -> Self {
        ConnReplyBudget {
            core,
            used: Cell::new(0),
            limit,
        }
    }

    pub(super) fn charge(&self, bytes: usize) {
        self.used.set(self.used.get() + bytes);
        self.core.used.set(self.core.used.get() + bytes);
    }

    pub(super) fn release(&self, bytes: usize) {
        let bytes = bytes.min(self.used.get());
        self.used.set(self.used.get() - bytes);
        self.core
            .used
            .set(self.core.used.get().saturating_sub(bytes));
    }

    /// Whether the connection holds any reply bytes.
    pub(super) fn holds_bytes(&self) -> bool {
        self.used.get() > 0
    }

    /// Whether the next call must wait until writes release bytes.
    pub(super) fn must_wait(&self) -> bool {
        self.holds_bytes()
            && (self.used.get() >= self.limit || self.core.used.get() >= self.core.limit)
    }
}

impl Drop for ConnReplyBudget {
    fn drop(&mut self) {
        let held = self.used.get();
        self.core
            .used
            .set(self.core.used.get().saturating_sub(held));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_wait_for_their_share_and_the_core_s() {
        let core = CoreReplyBudget::new(100);
        let a = ConnReplyBudget::new(core.clone(), 60);
        let b = ConnReplyBudget::new(core.clone(), 60);
        assert!(!a.must_wait());
        a.charge(70);
        assert!(a.must_wait(), "over its own share");
        assert!(
            !b.must_wait(),
            "b holds nothing: it may always run one call"
        );
        b.charge(40);
        assert!(b.must_wait(), "the core is full");
        a.release(50);
        assert!(!a.must_wait() && !b.must_wait());
        assert_eq!(core.used(), 60);
        drop(a);
        assert_eq!(core.used(), 40);
        b.release(1000);
        assert_eq!(core.used(), 0);
    }
}
