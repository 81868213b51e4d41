//! A relay connection that stays up: it connects (mutual TLS, STOMP), re-subscribes what was
//! subscribed, and when the broker goes away (closed, silent past the heart-beats) connects
//! again with doubling waits (0.5 s up to 30 s). Java's relay clients do not reconnect: a
//! Gatekeeper there needs a restart after a broker restart. Sends wait while the link is down;
//! callers bound them with their own time limit and answer 503 when it passes.

use super::stomp::{Frame, Session, StompError};
use crate::tls::Keystore;
use openssl::x509::X509;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// Where the broker is and who we are to it.
#[derive(Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub identity: Arc<Keystore>,
    /// What the broker's chain must end at (the relay master).
    pub anchors: Vec<X509>,
    /// Heart-beats offered, in ms (send, expect).
    pub heart_beat: (u32, u32),
    /// Mutual TLS (the relay record's `secure`); plain TCP otherwise.
    pub secure: bool,
}

enum Request {
    Subscribe(String, oneshot::Sender<Result<(), StompError>>),
    Unsubscribe(String),
    Send(String, String, oneshot::Sender<Result<(), StompError>>),
}

/// The handle to a supervised relay connection; the connection ends when it is dropped.
pub struct Link {
    requests: mpsc::Sender<Request>,
    /// MESSAGE frames of every subscription, in arrival order.
    pub messages: mpsc::Receiver<Frame>,
    connected: watch::Receiver<bool>,
}

impl Link {
    pub fn start(endpoint: Endpoint) -> Self {
        let (requests, queue) = mpsc::channel(1024);
        let (deliver, messages) = mpsc::channel(4096);
        let (up, connected) = watch::channel(false);
        tokio::spawn(supervise(endpoint, queue, deliver, up));
        Self {
            requests,
            messages,
            connected,
        }
    }

    /// Waits until the link is connected, at most `limit`.
    pub async fn wait_connected(&mut self, limit: Duration) -> bool {
        tokio::time::timeout(limit, self.connected.wait_for(|c| *c))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    pub fn is_connected(&self) -> bool {
        *self.connected.borrow()
    }

    async fn request(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<(), StompError>>) -> Request,
    ) -> Result<(), StompError> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(make(tx))
            .await
            .map_err(|_| StompError::Closed("the relay link stopped".into()))?;
        rx.await
            .map_err(|_| StompError::Closed("the relay link stopped".into()))?
    }

    /// Subscribes to `destination` now and after every reconnection.
    pub async fn subscribe(&self, destination: &str) -> Result<(), StompError> {
        self.request(|tx| Request::Subscribe(destination.to_owned(), tx))
            .await
    }

    /// Ends the subscription to `destination` (also for later reconnections).
    pub async fn unsubscribe(&self, destination: &str) {
        let _ = self
            .requests
            .send(Request::Unsubscribe(destination.to_owned()))
            .await;
    }

    /// Sends a persistent text message, confirmed by the broker.
    pub async fn send(&self, destination: &str, text: &str) -> Result<(), StompError> {
        self.request(|tx| Request::Send(destination.to_owned(), text.to_owned(), tx))
            .await
    }
}

async fn connect(e: &Endpoint) -> Result<Session, StompError> {
    let limit = Duration::from_secs(10);
    if !e.secure {
        let tcp = tokio::time::timeout(limit, tokio::net::TcpStream::connect((&*e.host, e.port)))
            .await
            .map_err(|_| StompError::Closed(format!("{}:{}: no connection", e.host, e.port)))?
            .map_err(|err| StompError::Closed(format!("{}:{}: {err}", e.host, e.port)))?;
        return Session::connect(tcp, &e.host, e.heart_beat, limit).await;
    }
    let tls = super::connect_tls(&e.host, e.port, &e.identity, &e.anchors, limit)
        .await
        .map_err(StompError::Closed)?;
    Session::connect(tls, &e.host, e.heart_beat, limit).await
}

async fn supervise(
    endpoint: Endpoint,
    mut queue: mpsc::Receiver<Request>,
    deliver: mpsc::Sender<Frame>,
    up: watch::Sender<bool>,
) {
    // (subscription id, destination); ids stay the same across reconnections.
    let mut subscriptions: Vec<(String, String)> = Vec::new();
    let mut next_id = 0u64;
    let mut wait = Duration::from_millis(500);
    loop {
        let mut session = match connect(&endpoint).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(relay = %format!("{}:{}", endpoint.host, endpoint.port), error = %e, "relay not reachable; retrying");
                if deliver.is_closed() {
                    return;
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        let mut resubscribed = Ok(());
        for (id, d) in &subscriptions {
            resubscribed = session.subscribe(d, id).await;
            if resubscribed.is_err() {
                break;
            }
        }
        if resubscribed.is_err() {
            continue;
        }
        let Some(mut incoming) = session.take_messages() else {
            continue;
        };
        wait = Duration::from_millis(500);
        let _ = up.send(true);
        tracing::info!(relay = %format!("{}:{}", endpoint.host, endpoint.port), "relay connected");
        let reason = loop {
            tokio::select! {
                message = incoming.recv() => match message {
                    Some(m) => {
                        if deliver.send(m).await.is_err() {
                            return;
                        }
                    }
                    None => break session.ended().unwrap_or_else(|| StompError::Closed("session ended".into())),
                },
                request = queue.recv() => match request {
                    Some(Request::Subscribe(destination, reply)) => {
                        next_id += 1;
                        let id = format!("sub-{next_id}");
                        let result = session.subscribe(&destination, &id).await;
                        if result.is_ok() {
                            subscriptions.push((id, destination));
                        }
                        let _ = reply.send(result);
                    }
                    Some(Request::Unsubscribe(destination)) => {
                        let (gone, kept) = std::mem::take(&mut subscriptions)
                            .into_iter()
                            .partition(|(_, d)| *d == destination);
                        subscriptions = kept;
                        let gone: Vec<(String, String)> = gone;
                        for (id, _) in gone {
                            let _ = session.unsubscribe(&id).await;
                        }
                    }
                    Some(Request::Send(destination, text, reply)) => {
                        // Queued in order here; the broker's receipt is awaited on the side, so
                        // neither later sends nor incoming messages wait for it.
                        match session.enqueue_send(&destination, &text, true).await {
                            Ok(Some(receipt)) => {
                                tokio::spawn(async move {
                                    let r = receipt.await.unwrap_or_else(|_| {
                                        Err(StompError::Closed("session ended".into()))
                                    });
                                    let _ = reply.send(r);
                                });
                            }
                            Ok(None) => {
                                let _ = reply.send(Ok(()));
                            }
                            Err(e) => {
                                let _ = reply.send(Err(e));
                            }
                        }
                    }
                    None => return,
                },
            }
        };
        let _ = up.send(false);
        tracing::warn!(relay = %format!("{}:{}", endpoint.host, endpoint.port), error = %reason, "relay connection lost; reconnecting");
    }
}
