//! What the status monitor keeps in the store so that it survives a restart: the lock manager's
//! NSM state number, and the clients that held locks (to be told, after a restart, that their
//! locks are gone and may be reclaimed). Each change is one atomic batch, durable before the
//! call returns.

use std::net::{IpAddr, Ipv6Addr};

use bytes::{Bytes, BytesMut};

use crate::store::keys::{MonitoredClientKey, NsmStateKey};
use crate::store::{Durability, Store, StoreBatch, StoreError};

/// Version byte of a monitored-client record.
const RECORD_V1: u8 = 1;

/// A client to notify after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MonitoredClient {
    /// The client's address (where its status monitor listens).
    pub addr: IpAddr,
    /// The host name the client gave in its lock requests.
    pub caller_name: Bytes,
    /// The server address the client talked to: notifications come from it, so that the
    /// client's status monitor recognises the sender.
    pub server: IpAddr,
}

fn ip_bytes(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    }
}

fn ip_from(bytes: [u8; 16]) -> IpAddr {
    Ipv6Addr::from(bytes).to_canonical()
}

impl MonitoredClient {
    fn key(&self) -> Bytes {
        MonitoredClientKey {
            addr: ip_bytes(self.addr),
            caller_name: self.caller_name.clone(),
        }
        .encode()
    }

    fn value(&self) -> Bytes {
        let mut v = BytesMut::with_capacity(17);
        v.extend_from_slice(&[RECORD_V1]);
        v.extend_from_slice(&ip_bytes(self.server));
        v.freeze()
    }

    fn decode(key: &[u8], value: &[u8]) -> Option<MonitoredClient> {
        let k = MonitoredClientKey::decode(key)?;
        if value.len() != 17 || value[0] != RECORD_V1 {
            return None;
        }
        let mut server = [0u8; 16];
        server.copy_from_slice(&value[1..]);
        Some(MonitoredClient {
            addr: ip_from(k.addr),
            caller_name: k.caller_name,
            server: ip_from(server),
        })
    }
}

/// The monitor's records in the store.
#[derive(Clone)]
pub struct MonitorStore {
    store: Store,
}

impl MonitorStore {
    pub fn new(store: Store) -> Self {
        MonitorStore { store }
    }

    /// The state number of the previous run (0 if there was none) and the clients it
    /// monitored. Records this version cannot read are skipped with a warning.
    pub async fn load(&self) -> Result<(i32, Vec<MonitoredClient>), StoreError> {
        let state = match self.store.get(NsmStateKey.encode()).await? {
            Some(v) if v.len() == 4 => i32::from_be_bytes([v[0], v[1], v[2], v[3]]),
            _ => 0,
        };
        let mut clients = Vec::new();
        let mut range = MonitoredClientKey::all();
        loop {
            let page = self.store.scan(range.clone(), 1024).await?;
            let Some((last, _)) = page.last() else { break };
            range = range.after(last);
            for (k, v) in &page {
                match MonitoredClient::decode(k, v) {
                    Some(c) => clients.push(c),
                    None => log::warn!("lock manager: skipping an unreadable monitor record"),
                }
            }
        }
        Ok((state, clients))
    }

    /// Records this run's state number.
    pub async fn save_state(&self, state: i32) -> Result<(), StoreError> {
        let mut b = StoreBatch::new();
        b.put(
            NsmStateKey.encode(),
            Bytes::copy_from_slice(&state.to_be_bytes()),
        );
        self.store.write(b, Durability::Durable).await
    }

    /// Remembers `client` (idempotent).
    pub async fn add(&self, client: &MonitoredClient) -> Result<(), StoreError> {
        let mut b = StoreBatch::new();
        b.put(client.key(), client.value());
        self.store.write(b, Durability::Durable).await
    }

    /// Forgets `client` (idempotent).
    pub async fn remove(&self, client: &MonitoredClient) -> Result<(), StoreError> {
        let mut b = StoreBatch::new();
        b.delete(client.key());
        self.store.write(b, Durability::Durable).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn records_survive_in_the_store() {
        block_on(async {
            let store = Store::open_in_memory().await.unwrap();
            let m = MonitorStore::new(store.clone());
            assert_eq!(m.load().await.unwrap(), (0, vec![]));
            let a = MonitoredClient {
                addr: "192.0.2.7".parse().unwrap(),
                caller_name: Bytes::from_static(b"client-a"),
                server: "192.0.2.1".parse().unwrap(),
            };
            let b = MonitoredClient {
                addr: "2001:db8::5".parse().unwrap(),
                caller_name: Bytes::from_static(b"b"),
                server: "2001:db8::1".parse().unwrap(),
            };
            m.save_state(5).await.unwrap();
            m.add(&a).await.unwrap();
            m.add(&b).await.unwrap();
            m.add(&a).await.unwrap();
            let (state, mut clients) = MonitorStore::new(store.clone()).load().await.unwrap();
            clients.sort_by_key(|c| c.caller_name.clone());
            assert_eq!((state, clients), (5, vec![b.clone(), a.clone()]));
            m.remove(&b).await.unwrap();
            assert_eq!(m.load().await.unwrap().1, vec![a]);
        });
    }
}
