//! Event delivery, beyond the Java system (which tries once and forgets): every subscriber
//! system has its own queue and its own sender task, so events reach a subscriber in publish
//! order and a slow or dead subscriber only ever delays itself. A failed delivery (no answer,
//! 5xx, 408, 429) is retried with doubling backoff up to `max_attempts`; then the event is given
//! up, logged and counted. Connections are pooled and kept alive. The queues live in this
//! process: an event is delivered by the instance that accepted it. A sender task, once started
//! for a subscriber system, stays for the life of the process (one idle task per subscriber).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

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
    /// The serialized `EventDTO`, shared by all subscribers of the event.
    pub body: bytes::Bytes,
    pub subscription_id: i64,
}

pub struct Dispatcher {
    client: reqwest::Client,
    policy: DeliveryPolicy,
    counters: Arc<Counters>,
    queues: Mutex<HashMap<i64, mpsc::Sender<Delivery>>>,
}

impl Dispatcher {
    pub fn new(client: reqwest::Client, policy: DeliveryPolicy) -> Self {
        Self {
            client,
            policy,
            counters: Arc::default(),
            queues: Mutex::default(),
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Queues an event for a subscriber system without waiting; must be called on the server's
    /// runtime (the subscriber's sender task is started there on first use).
    pub fn enqueue(&self, subscriber_id: i64, delivery: Delivery) {
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        let sender = queues
            .entry(subscriber_id)
            .or_insert_with(|| self.start_sender(subscriber_id));
        match sender.try_send(delivery) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(d)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(subscriber = subscriber_id, subscription = d.subscription_id, url = %d.url,
                    "event dropped: the subscriber's queue is full");
            }
            Err(mpsc::error::TrySendError::Closed(d)) => {
                // The sender task ended (its runtime stopped); start a new one.
                let fresh = self.start_sender(subscriber_id);
                let _ = fresh.try_send(d);
                queues.insert(subscriber_id, fresh);
            }
        }
    }

    fn start_sender(&self, subscriber_id: i64) -> mpsc::Sender<Delivery> {
        let (tx, rx) = mpsc::channel(self.policy.queue_size.max(1));
        actix_web::rt::spawn(send_in_order(
            subscriber_id,
            rx,
            self.client.clone(),
            self.policy.clone(),
            self.counters.clone(),
        ));
        tx
    }
}

/// Whether a failed attempt is worth repeating.
fn retryable(status: reqwest::StatusCode) -> bool {
    status.is_server_error()
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
}

/// One subscriber's sender: its events one after the other, each retried before the next.
async fn send_in_order(
    subscriber_id: i64,
    mut rx: mpsc::Receiver<Delivery>,
    client: reqwest::Client,
    policy: DeliveryPolicy,
    counters: Arc<Counters>,
) {
    while let Some(d) = rx.recv().await {
        let mut wait = policy.first_backoff;
        let mut attempt = 1;
        loop {
            let outcome = client
                .post(&d.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(d.body.clone())
                .send()
                .await;
            let (again, why) = match outcome {
                Ok(r) if r.status().is_success() => {
                    // Drain the body so the connection goes back to the pool.
                    let _ = r.bytes().await;
                    counters.delivered.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(subscriber = subscriber_id, url = %d.url, attempt, "event delivered");
                    break;
                }
                Ok(r) => (retryable(r.status()), format!("answered {}", r.status())),
                Err(e) => (true, format!("not reachable: {e}")),
            };
            if !again || attempt >= policy.max_attempts.max(1) {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(subscriber = subscriber_id, subscription = d.subscription_id, url = %d.url,
                    attempts = attempt, reason = %why, "event not delivered");
                break;
            }
            counters.retried.fetch_add(1, Ordering::Relaxed);
            tracing::info!(subscriber = subscriber_id, url = %d.url, attempt, reason = %why,
                retry_in_ms = wait.as_millis() as u64, "event delivery failed; retrying");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(policy.max_backoff);
            attempt += 1;
        }
    }
}
