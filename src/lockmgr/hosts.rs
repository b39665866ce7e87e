//! [`Hosts`]: the client hosts the lock manager knows, numbered so that locks can name their
//! owner's host cheaply.
//!
//! A host is its address together with the name it calls itself in lock requests: clients
//! behind one NAT address stay apart by name, and two names never share locks (Linux's lock
//! manager keys hosts the same way).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use bytes::Bytes;

use super::table::HostId;

/// One client host.
#[derive(Debug, Clone)]
pub struct Host {
    pub id: HostId,
    pub addr: IpAddr,
    pub caller_name: Bytes,
    /// The server address the client talks to (callbacks come from it).
    pub server: IpAddr,
    /// Whether its record is in the store (it will be notified after a restart).
    pub monitored: bool,
    /// When it last called.
    pub last_seen: Instant,
}

/// The known hosts.
#[derive(Debug, Default)]
pub struct Hosts {
    ids: HashMap<(IpAddr, Bytes), HostId>,
    hosts: HashMap<HostId, Host>,
    next: HostId,
}

/// Host names compare without regard to ASCII case (DNS names do).
fn same_name(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl Hosts {
    /// The host calling from `addr` as `caller_name` (to `server`), made known if it is new;
    /// its last-seen time becomes `now`.
    pub fn get_or_insert(
        &mut self,
        addr: IpAddr,
        caller_name: &[u8],
        server: IpAddr,
        now: Instant,
    ) -> HostId {
        let key = (addr, Bytes::copy_from_slice(caller_name));
        if let Some(id) = self.ids.get(&key) {
            if let Some(h) = self.hosts.get_mut(id) {
                h.last_seen = now;
                h.server = server;
            }
            return *id;
        }
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        self.hosts.insert(
            id,
            Host {
                id,
                addr,
                caller_name: key.1.clone(),
                server,
                monitored: false,
                last_seen: now,
            },
        );
        self.ids.insert(key, id);
        id
    }

    /// The host calling from `addr` as `caller_name`, if known.
    pub fn find(&self, addr: IpAddr, caller_name: &[u8]) -> Option<HostId> {
        self.ids
            .get(&(addr, Bytes::copy_from_slice(caller_name)))
            .copied()
    }

    pub fn get(&self, id: HostId) -> Option<&Host> {
        self.hosts.get(&id)
    }

    pub fn get_mut(&mut self, id: HostId) -> Option<&mut Host> {
        self.hosts.get_mut(&id)
    }

    /// The hosts a restart notification or FREE_ALL names: by host name, or, when the name is
    /// an address, by address.
    pub fn named(&self, name: &[u8]) -> Vec<HostId> {
        let as_addr = std::str::from_utf8(name)
            .ok()
            .and_then(|s| s.parse::<IpAddr>().ok());
        self.hosts
            .values()
            .filter(|h| same_name(&h.caller_name, name) || Some(h.addr) == as_addr)
            .map(|h| h.id)
            .collect()
    }

    /// Whether a monitored host calls from `addr` as `caller_name`.
    pub fn is_monitored(&self, addr: IpAddr, caller_name: &[u8]) -> bool {
        self.find(addr, caller_name)
            .and_then(|id| self.get(id))
            .is_some_and(|h| h.monitored)
    }

    pub fn remove(&mut self, id: HostId) -> Option<Host> {
        let host = self.hosts.remove(&id)?;
        self.ids.remove(&(host.addr, host.caller_name.clone()));
        Some(host)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Host> {
        self.hosts.values()
    }

    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_address_and_name() {
        let now = Instant::now();
        let mut h = Hosts::default();
        let nat: IpAddr = "10.0.0.1".parse().unwrap();
        let srv: IpAddr = "10.0.0.9".parse().unwrap();
        let a = h.get_or_insert(nat, b"alpha", srv, now);
        let b = h.get_or_insert(nat, b"beta", srv, now);
        assert_ne!(a, b);
        assert_eq!(h.get_or_insert(nat, b"alpha", srv, now), a);
        assert_eq!(h.find(nat, b"beta"), Some(b));
        assert_eq!(h.find("10.0.0.2".parse().unwrap(), b"beta"), None);
        assert_eq!(h.named(b"ALPHA"), vec![a]);
        let mut both = h.named(b"10.0.0.1");
        both.sort();
        assert_eq!(both, vec![a, b]);
        assert!(!h.is_monitored(nat, b"alpha"));
        h.get_mut(a).unwrap().monitored = true;
        assert!(h.is_monitored(nat, b"alpha"));
        assert_eq!(h.remove(a).map(|x| x.id), Some(a));
        assert_eq!(h.find(nat, b"alpha"), None);
        assert_eq!(h.len(), 1);
    }
}
