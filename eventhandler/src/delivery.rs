//! Event delivery, beyond the Java system (which tries once and forgets): every subscriber
//! system has its own queue and its own sender task, so events reach a subscriber in publish
//! order and a slow or dead subscriber only ever delays itself. A failed delivery (no answer,
//! 5xx, 408, 429) is retried with doubling backoff up to `max_attempts`; then the event is given
//! up, logged and counted. The queues live in this process: an event is delivered by the
//! instance that accepted it.
//!
//! Memory is bounded: a subscriber's queue holds at most `queue_size` events and `queue_bytes`
//! bytes (new events beyond either are dropped and counted), a subscriber's answer is read up to
//! [`MAX_ANSWER_BYTES`] only, and a sender that has had nothing to do for `idle_sender` ends and
//! leaves the map. Each sender talks only to its subscriber: the handshake refuses a peer whose
//! verified certificate is not that system of this cloud.

use common::https::{CallError, Expect, HttpsClient, Limits};
use common::tls::TlsContext;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// What is read of a subscriber's answer: only its status matters.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Retry and queue settings.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// Attempts per event, the first included (at least 1).
    pub max_attempts: u32,
    /// Wait before the first retry; doubles up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// Events waiting per subscriber before new ones are dropped (and counted).
    pub queue_size: usize,
    /// Bytes of event bodies waiting per subscriber before new ones are dropped (and counted).
    pub queue_bytes: usize,
    /// A sender with nothing to do for this long ends (a new event starts a new one).
    pub idle_sender: Duration,
}

/// What happened to deliveries since startup.
#[derive(Debug, Default)]
pub struct Counters {
    pub delivered: AtomicU64,
    pub retried: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
}

/// The counters as served at `/eventhandler/mgmt/deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DeliveryStats {
    pub delivered: u64,
    pub retried: u64,
    pub failed: u64,
    pub dropped: u64,
}

impl Counters {
    pub fn snapshot(&self) -> DeliveryStats {
        DeliveryStats {
            delivered: self.delivered.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// One event for one subscriber.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub url: String,
    /// The subscriber's system name: the only peer this delivery may reach.
    pub subscriber: String,
    /// The serialized `EventDTO`, shared by all subscribers of the event.
    pub body: bytes::Bytes,
    pub subscription_id: i64,
}

/// A subscriber's queue as the dispatcher sees it.
struct Queue {
    tx: mpsc::Sender<Delivery>,
    /// Bytes of the bodies waiting in `tx` (shared with the sender, which subtracts).
    bytes: Arc<AtomicUsize>,
}

pub struct Dispatcher {
    tls: Option<TlsContext>,
    limits: Limits,
    policy: DeliveryPolicy,
    counters: Arc<Counters>,
    queues: Arc<Mutex<HashMap<i64, Queue>>>,
}

impl Dispatcher {
    pub fn new(tls: Option<TlsContext>, limits: Limits, policy: DeliveryPolicy) -> Self {
        let mut limits = limits;
        limits.max_response_bytes = MAX_ANSWER_BYTES;
        Self {
            tls,
            limits,
            policy,
            counters: Arc::default(),
            queues: Arc::default(),
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Sender tasks alive now (one per subscriber system with recent events).
    pub fn senders(&self) -> usize {
        self.queues.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Queues an event for a subscriber system without waiting; must be called on the server's
    /// runtime (the subscriber's sender task is started there when it has none).
    pub fn enqueue(&self, subscriber_id: i64, delivery: Delivery) {
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        if queues.get(&subscriber_id).is_some_and(|q| q.tx.is_closed()) {
            // The sender task ended (its runtime stopped); start a new one.
            queues.remove(&subscriber_id);
        }
        let queue = queues
            .entry(subscriber_id)
            .or_insert_with(|| self.start_sender(subscriber_id));
        let size = delivery.body.len();
        let waiting = queue.bytes.load(Ordering::Relaxed);
        if waiting.saturating_add(size) > self.policy.queue_bytes.max(1) {
            self.drop_one(subscriber_id, &delivery, "bytes");
            return;
        }
        match queue.tx.try_send(delivery) {
            Ok(()) => {
                queue.bytes.fetch_add(size, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Full(d) | mpsc::error::TrySendError::Closed(d)) => {
                self.drop_one(subscriber_id, &d, "events");
            }
        }
    }

    fn drop_one(&self, subscriber_id: i64, d: &Delivery, limit: &str) {
        self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(subscriber = subscriber_id, subscription = d.subscription_id, url = %d.url, limit,
            "event dropped: the subscriber's queue is full");
    }

    fn start_sender(&self, subscriber_id: i64) -> Queue {
        let (tx, rx) = mpsc::channel(self.policy.queue_size.max(1));
        let bytes = Arc::new(AtomicUsize::new(0));
        actix_web::rt::spawn(
            Sender {
                subscriber_id,
                tls: self.tls.clone(),
                limits: self.limits.clone(),
                policy: self.policy.clone(),
                counters: self.counters.clone(),
                queues: self.queues.clone(),
                bytes: bytes.clone(),
                client: None,
            }
            .run(rx),
        );
        Queue { tx, bytes }
    }
}

/// Whether a failed attempt is worth repeating.
fn retryable(status: hyper::StatusCode) -> bool {
    status.is_server_error()
        || status == hyper::StatusCode::REQUEST_TIMEOUT
        || status == hyper::StatusCode::TOO_MANY_REQUESTS
}

/// One subscriber's sender: its events one after the other, each retried before the next.
struct Sender {
    subscriber_id: i64,
    tls: Option<TlsContext>,
    limits: Limits,
    policy: DeliveryPolicy,
    counters: Arc<Counters>,
    queues: Arc<Mutex<HashMap<i64, Queue>>>,
    bytes: Arc<AtomicUsize>,
    /// The client for the subscriber name it was made for (a renamed system gets a new one).
    client: Option<(String, HttpsClient)>,
}

impl Sender {
    async fn run(mut self, mut rx: mpsc::Receiver<Delivery>) {
        loop {
            let next = match tokio::time::timeout(self.policy.idle_sender, rx.recv()).await {
                Ok(Some(d)) => d,
                Ok(None) => return,
                Err(_idle) => {
                    // Leave only with an empty queue, decided under the dispatcher's lock so
                    // that no event can be queued for a sender that is gone.
                    let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
                    match rx.try_recv() {
                        Ok(d) => d,
                        Err(_) => {
                            queues.remove(&self.subscriber_id);
                            tracing::debug!(subscriber = self.subscriber_id, "idle sender ended");
                            return;
                        }
                    }
                }
            };
            self.bytes.fetch_sub(next.body.len(), Ordering::Relaxed);
            self.deliver(next).await;
        }
    }

    fn client(&mut self, subscriber: &str) -> Result<HttpsClient, String> {
        if let Some((name, c)) = &self.client {
            if name == subscriber {
                return Ok(c.clone());
            }
        }
        let c = HttpsClient::new(
            self.tls.as_ref(),
            Expect::System(subscriber.to_owned()),
            self.limits.clone(),
        )?;
        self.client = Some((subscriber.to_owned(), c.clone()));
        Ok(c)
    }

    async fn deliver(&mut self, d: Delivery) {
        let subscriber_id = self.subscriber_id;
        let policy = self.policy.clone();
        let mut wait = policy.first_backoff;
        let mut attempt = 1;
        loop {
            let outcome = match self.client(&d.subscriber) {
                Ok(c) => c
                    .call(hyper::Method::POST, &d.url, Some(d.body.clone()))
                    .await
                    .map(|a| a.status),
                Err(e) => Err(CallError::Invalid(e)),
            };
            let outcome = match outcome {
                // Only the status matters; the rest of an oversized answer is not read.
                Err(CallError::TooLarge { status, .. }) => Ok(status),
                other => other,
            };
            let (again, why) = match outcome {
                Ok(status) if status.is_success() => {
                    self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(subscriber = subscriber_id, url = %d.url, attempt, "event delivered");
                    return;
                }
                Ok(status) => (retryable(status), format!("answered {status}")),
                Err(e @ (CallError::Refused(_) | CallError::Invalid(_))) => (false, e.to_string()),
                Err(e) => (true, e.to_string()),
            };
            if !again || attempt >= policy.max_attempts.max(1) {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(subscriber = subscriber_id, subscription = d.subscription_id, url = %d.url,
                    attempts = attempt, reason = %why, "event not delivered");
                return;
            }
            self.counters.retried.fetch_add(1, Ordering::Relaxed);
            tracing::info!(subscriber = subscriber_id, url = %d.url, attempt, reason = %why,
                retry_in_ms = wait.as_millis() as u64, "event delivery failed; retrying");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(policy.max_backoff);
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn policy(queue_bytes: usize, idle: Duration) -> DeliveryPolicy {
        DeliveryPolicy {
            max_attempts: 1,
            first_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(10),
            queue_size: 1000,
            queue_bytes,
            idle_sender: idle,
        }
    }

    fn delivery(port: u16, size: usize) -> Delivery {
        Delivery {
            url: format!("http://127.0.0.1:{port}/notify"),
            subscriber: "subscriber".into(),
            body: bytes::Bytes::from(vec![b'x'; size]),
            subscription_id: 1,
        }
    }

    /// The length of the first complete HTTP request in `data`, if it is all there.
    fn request_length(data: &[u8]) -> Option<usize> {
        let head = data.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let headers = String::from_utf8_lossy(&data[..head]).to_ascii_lowercase();
        let body: usize = headers
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        (data.len() >= head + body).then_some(head + body)
    }

    /// A plain-HTTP subscriber answering 200 to each request once `open` lets it; `seen` counts
    /// the requests it has read.
    async fn subscriber(open: Arc<tokio::sync::Notify>, seen: Arc<AtomicUsize>) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        actix_web::rt::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (open, seen) = (open.clone(), seen.clone());
                actix_web::rt::spawn(async move {
                    let mut pending: Vec<u8> = Vec::new();
                    let mut buf = vec![0u8; 1 << 16];
                    loop {
                        // One whole request: headers, then Content-Length bytes of body.
                        let Some(len) = request_length(&pending) else {
                            match conn.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => pending.extend_from_slice(&buf[..n]),
                            }
                            continue;
                        };
                        pending.drain(..len);
                        seen.fetch_add(1, Ordering::SeqCst);
                        open.notified().await;
                        open.notify_one();
                        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                        if conn.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        port
    }

    /// Waiting bytes, not only waiting events, bound a subscriber's queue.
    #[test]
    fn queues_are_bounded_by_bytes() {
        actix_web::rt::System::new().block_on(async {
            let open = Arc::new(tokio::sync::Notify::new());
            let seen = Arc::new(AtomicUsize::new(0));
            let port = subscriber(open.clone(), seen.clone()).await;
            let d = Dispatcher::new(
                None,
                Limits::new(Duration::from_secs(1), Duration::from_secs(5)),
                policy(10_000, Duration::from_secs(60)),
            );
            // The first event is taken by the sender (and waits on the closed subscriber);
            // then 10 kB fit in the queue: four events of 2.5 kB, the fifth and sixth are dropped.
            d.enqueue(1, delivery(port, 2500));
            while seen.load(Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            for _ in 0..6 {
                d.enqueue(1, delivery(port, 2500));
            }
            assert_eq!(d.counters().snapshot().dropped, 2);
            open.notify_one();
            for _ in 0..100 {
                if d.counters().snapshot().delivered == 5 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(d.counters().snapshot().delivered, 5);
            // Delivered bytes are given back: the queue takes events again.
            d.enqueue(1, delivery(port, 9000));
            assert_eq!(d.counters().snapshot().dropped, 2);
        });
    }

    /// A sender with nothing to do ends and leaves the map; the next event starts a new one.
    #[test]
    fn idle_senders_end() {
        actix_web::rt::System::new().block_on(async {
            let open = Arc::new(tokio::sync::Notify::new());
            open.notify_one();
            let port = subscriber(open, Arc::default()).await;
            let d = Dispatcher::new(
                None,
                Limits::new(Duration::from_secs(1), Duration::from_secs(5)),
                policy(1 << 20, Duration::from_millis(300)),
            );
            for id in 1..=3 {
                d.enqueue(id, delivery(port, 10));
            }
            assert_eq!(d.senders(), 3);
            for _ in 0..100 {
                if d.senders() == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(d.senders(), 0);
            assert_eq!(d.counters().snapshot().delivered, 3);
            d.enqueue(1, delivery(port, 10));
            assert_eq!(d.senders(), 1);
            for _ in 0..100 {
                if d.counters().snapshot().delivered == 4 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(d.counters().snapshot().delivered, 4);
        });
    }
}
