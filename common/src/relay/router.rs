//! Relay connections shared by many conversations: one supervised [`Link`] per broker, whose
//! incoming messages are handed to whoever opened a route for their destination (a Gatekeeper
//! session's `RESP-…` queue, a Gateway session's data queue). Messages of destinations nobody
//! routes (the Gatekeepers' general topic) go to one catch-all channel.

use super::link::{Endpoint, Link};
use super::stomp::{Frame, StompError};
use crate::tls::Keystore;
use openssl::x509::X509;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::mpsc;

/// Where a broker is (a relay record).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelayAddress {
    pub host: String,
    pub port: u16,
    pub secure: bool,
}

impl std::fmt::Display for RelayAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// A frame nobody routed, with the relay it came from.
pub type Unrouted = (RelayAddress, Arc<Routed>, Frame);

/// One broker connection and its routes.
pub struct Routed {
    link: Link,
    routes: Mutex<HashMap<String, mpsc::Sender<Frame>>>,
}

impl Routed {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<Frame>>> {
        self.routes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Routes `destination`'s messages to the returned receiver and subscribes to it (the
    /// subscription is confirmed by the broker, so what is sent afterwards arrives).
    pub async fn open_route(&self, destination: &str) -> Result<mpsc::Receiver<Frame>, StompError> {
        let (tx, rx) = mpsc::channel(256);
        self.lock().insert(destination.to_owned(), tx);
        if let Err(e) = self.link.subscribe(destination).await {
            self.lock().remove(destination);
            return Err(e);
        }
        Ok(rx)
    }

    /// Ends the route and the subscription.
    pub async fn close_route(&self, destination: &str) {
        self.lock().remove(destination);
        self.link.unsubscribe(destination).await;
    }

    /// Subscribes without a route: the messages go to the catch-all channel.
    pub async fn subscribe(&self, destination: &str) -> Result<(), StompError> {
        self.link.subscribe(destination).await
    }

    /// Sends a persistent text message, confirmed by the broker.
    pub async fn send(&self, destination: &str, text: &str) -> Result<(), StompError> {
        self.link.send(destination, text).await
    }
}

/// The relay connections of one system.
pub struct Relays {
    identity: Arc<Keystore>,
    anchors: Vec<X509>,
    unrouted: Option<mpsc::Sender<Unrouted>>,
    conns: Mutex<HashMap<RelayAddress, Arc<Routed>>>,
}

impl Relays {
    /// `anchors`: what a broker's chain may end at; `unrouted`: where messages of destinations
    /// nobody routes go (dropped when `None`).
    pub fn new(
        identity: Arc<Keystore>,
        anchors: Vec<X509>,
        unrouted: Option<mpsc::Sender<Unrouted>>,
    ) -> Self {
        Self {
            identity,
            anchors,
            unrouted,
            conns: Mutex::default(),
        }
    }

    /// The connection to `relay`, started on first use (it connects, and reconnects, in the
    /// background; sends wait for it).
    pub fn get(&self, relay: &RelayAddress) -> Arc<Routed> {
        let mut conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = conns.get(relay) {
            return c.clone();
        }
        let mut link = Link::start(Endpoint {
            host: relay.host.clone(),
            port: relay.port,
            identity: self.identity.clone(),
            anchors: self.anchors.clone(),
            heart_beat: (10_000, 10_000),
            secure: relay.secure,
        });
        let (_, empty) = mpsc::channel(1);
        let incoming = std::mem::replace(&mut link.messages, empty);
        let routed = Arc::new(Routed {
            link,
            routes: Mutex::default(),
        });
        tokio::spawn(route(
            relay.clone(),
            Arc::downgrade(&routed),
            incoming,
            self.unrouted.clone(),
        ));
        conns.insert(relay.clone(), routed.clone());
        routed
    }
}

/// Hands each incoming frame to its route, waiting when the route is full (a slow reader slows
/// its relay down instead of losing data).
async fn route(
    relay: RelayAddress,
    routed: Weak<Routed>,
    mut incoming: mpsc::Receiver<Frame>,
    unrouted: Option<mpsc::Sender<Unrouted>>,
) {
    while let Some(frame) = incoming.recv().await {
        let Some(routed) = routed.upgrade() else {
            return;
        };
        let destination = frame.get("destination").unwrap_or_default().to_owned();
        let target = routed.lock().get(&destination).cloned();
        match (target, &unrouted) {
            (Some(t), _) => {
                let _ = t.send(frame).await;
            }
            (None, Some(u)) => {
                let _ = u.send((relay.clone(), routed.clone(), frame)).await;
            }
            (None, None) => {
                tracing::debug!(%destination, "relay message for no route dropped")
            }
        }
    }
}
