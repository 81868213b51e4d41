//! Event delivery, beyond the Java system (which tries once and forgets): accepted events wait in
//! the database ([`crate::queue`]) until their subscriber takes them, so an event answered 200
//! reaches every matching subscriber at least once even if the accepting process is killed the
//! next moment — a restarted instance, or any other instance of the cloud, finishes the work.
//!
//! Each subscriber system has one sender task in the instance that holds its lease: events reach
//! it in queue order, each retried (no answer, 5xx, 408, 429) with doubling backoff before the
//! next, and a slow or dead subscriber only ever delays itself. Retries go on until the event is
//! `max_age` old (or `max_attempts`, when set), so a subscriber down for minutes still gets
//! everything once it is back. A refusal (another 4xx, a peer that is not the subscriber) gives
//! the event up at once. Given-up and dropped events are logged and counted in the database.
//!
//! Bounded: a subscriber's queue holds at most `queue_size` events and `queue_bytes` bytes (new
//! events beyond either are dropped and counted), only [`MAX_ANSWER_BYTES`] of an answer are read,
//! and a sender with nothing to do for `idle_sender` gives up its lease and ends. A lease holder
//! looks for events other instances queued every `poll`; a sweep as often adopts queues whose
//! holder died (once its lease has expired).

use crate::queue::{self, Head};
use common::db::{self, DbPool};
use common::https::{CallError, Expect, HttpsClient, Limits};
use common::tls::TlsContext;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// What is read of a subscriber's answer: only its status matters.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The header carrying the delivery's id: the same on every attempt of one event to one
/// subscriber, so a subscriber can recognise a repeat.
pub const EVENT_ID_HEADER: &str = "X-Arrowhead-Event-Id";

/// Events fetched from a subscriber's queue at a time.
const BATCH: i64 = 32;

/// Retry, queue and lease settings.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// Attempts per event, the first included; 0: no limit but `max_age`.
    pub max_attempts: u32,
    /// Wait before the first retry; doubles up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// An event not delivered this long after it was accepted is given up.
    pub max_age: Duration,
    /// Events waiting per subscriber before new ones are dropped (and counted).
    pub queue_size: usize,
    /// Bytes of event bodies waiting per subscriber before new ones are dropped (and counted).
    pub queue_bytes: usize,
    /// A sender with nothing to do for this long gives up its lease and ends.
    pub idle_sender: Duration,
    /// How often a lease holder looks for events queued by other instances, and how often
    /// queues nobody works on are adopted.
    pub poll: Duration,
    /// How long a lease lasts unless renewed: how soon another instance takes over the queues
    /// of one that died.
    pub lease: Duration,
}

impl DeliveryPolicy {
    fn bounds(&self) -> queue::Bounds {
        queue::Bounds {
            max_events: self.queue_size.max(1),
            max_bytes: self.queue_bytes.max(1),
        }
    }
}

/// What happened to deliveries in this instance since startup.
#[derive(Debug, Default)]
pub struct Counters {
    pub delivered: AtomicU64,
    pub retried: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
}

/// The counters and queues as served at `/eventhandler/mgmt/deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DeliveryStats {
    /// Events this instance delivered since it started.
    pub delivered: u64,
    /// Failed attempts this instance repeated.
    pub retried: u64,
    /// Events this instance gave up.
    pub failed: u64,
    /// Events this instance refused to queue (queue full).
    pub dropped: u64,
    /// Events waiting in the database, all instances.
    #[serde(default)]
    pub pending: u64,
    /// Per subscriber with events waiting or lost: the whole cloud's figures.
    #[serde(default)]
    pub queues: Vec<queue::SubscriberQueue>,
}

impl Counters {
    pub fn snapshot(&self) -> DeliveryStats {
        DeliveryStats {
            delivered: self.delivered.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            pending: 0,
            queues: Vec::new(),
        }
    }
}

/// A subscriber's sender as the dispatcher sees it.
#[derive(Default)]
struct Slot {
    notify: Notify,
    /// Set by [`Dispatcher::wake`]; the sender leaves only when nobody woke it since it last
    /// looked at its queue.
    woken: AtomicBool,
    /// Another instance held the lease when this one last tried: until then, events queued here
    /// are left to it (it polls), instead of contending for the lease on every publish.
    elsewhere_until: Mutex<Option<Instant>>,
    running: AtomicBool,
}

struct Shared {
    pool: DbPool,
    tls: Option<TlsContext>,
    limits: Limits,
    policy: DeliveryPolicy,
    /// This instance's name on leases: host name and port, so that an instance restarted in its
    /// place resumes its own queues at once instead of waiting for its old leases to expire.
    owner: String,
    counters: Counters,
    slots: Mutex<HashMap<i64, Arc<Slot>>>,
}

#[derive(Clone)]
pub struct Dispatcher(Arc<Shared>);

impl Dispatcher {
    pub fn new(
        pool: DbPool,
        tls: Option<TlsContext>,
        limits: Limits,
        policy: DeliveryPolicy,
        owner: String,
    ) -> Self {
        let mut limits = limits;
        limits.max_response_bytes = MAX_ANSWER_BYTES;
        Self(Arc::new(Shared {
            pool,
            tls,
            limits,
            policy,
            owner,
            counters: Counters::default(),
            slots: Mutex::default(),
        }))
    }

    pub fn counters(&self) -> &Counters {
        &self.0.counters
    }

    pub fn owner(&self) -> &str {
        &self.0.owner
    }

    /// Sender tasks alive now in this instance.
    pub fn senders(&self) -> usize {
        self.slots()
            .values()
            .filter(|s| s.running.load(Ordering::SeqCst))
            .count()
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Slot>>> {
        self.0.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The per-subscriber bounds [`queue::enqueue`] applies.
    pub fn bounds(&self) -> queue::Bounds {
        self.0.policy.bounds()
    }

    /// After an accepted event's deliveries were committed ([`queue::enqueue`]): counts and
    /// logs what its subscribers' full queues refused, and wakes their senders.
    pub fn accepted(&self, done: queue::Enqueued, names: &HashMap<i64, String>) {
        for (id, n) in &done.dropped {
            self.0.counters.dropped.fetch_add(*n, Ordering::Relaxed);
            tracing::warn!(
                subscriber = id,
                system = names.get(id).map_or("", String::as_str),
                dropped = n,
                "event dropped: the subscriber's queue is full"
            );
        }
        for id in done.subscribers {
            self.wake(id);
        }
    }

    /// Tells the subscriber's sender there is work, starting one if this instance has none
    /// (unless another instance was found delivering to it a moment ago). Must be called on the
    /// server's runtime.
    pub fn wake(&self, subscriber_id: i64) {
        let mut slots = self.slots();
        let slot = slots.entry(subscriber_id).or_default().clone();
        slot.woken.store(true, Ordering::SeqCst);
        if slot.running.load(Ordering::SeqCst) {
            slot.notify.notify_one();
            return;
        }
        let elsewhere = slot
            .elsewhere_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|until| Instant::now() < until);
        if elsewhere {
            return;
        }
        slot.running.store(true, Ordering::SeqCst);
        drop(slots);
        actix_web::rt::spawn(
            Sender {
                dispatcher: self.clone(),
                subscriber_id,
                slot,
                client: None,
                delivered: Vec::new(),
            }
            .run(),
        );
    }

    /// Adopts, every `poll`, the queues no sender of this instance works on (events queued by an
    /// instance that died, or left to a holder that has stopped); runs for ever.
    pub async fn sweep(self) {
        let mut tick = tokio::time::interval(self.0.policy.poll.max(Duration::from_millis(50)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match db::run(&self.0.pool, |c| Ok(queue::waiting_subscribers(c)?)).await {
                Ok(ids) => {
                    for id in ids {
                        self.wake(id);
                    }
                }
                Err(e) => tracing::debug!(error = %e, "delivery sweep skipped"),
            }
        }
    }

    /// Counters of this instance and the queues of the cloud.
    pub async fn stats(&self) -> Result<DeliveryStats, common::ArrowheadError> {
        let mut stats = self.0.counters.snapshot();
        let queues = db::run(&self.0.pool, |c| Ok(queue::queues(c)?)).await?;
        stats.pending = queues
            .iter()
            .map(|q| u64::try_from(q.pending).unwrap_or(0))
            .sum();
        stats.queues = queues;
        Ok(stats)
    }
}

/// Whether a failed attempt is worth repeating.
fn retryable(status: hyper::StatusCode) -> bool {
    status.is_server_error()
        || status == hyper::StatusCode::REQUEST_TIMEOUT
        || status == hyper::StatusCode::TOO_MANY_REQUESTS
}

/// The URL a subscriber is notified at: HTTPS when it registered a key, as in Java.
pub fn notify_url(
    address: &str,
    port: i32,
    authentication_info: Option<&str>,
    notify_uri: &str,
) -> String {
    let scheme = if authentication_info.is_some_and(|a| !a.trim().is_empty()) {
        "https"
    } else {
        "http"
    };
    let slash = if notify_uri.starts_with('/') { "" } else { "/" };
    // Percent-encoded where a URI may not hold the character as is (non-ASCII text such as an
    // emoji, spaces): otherwise the request could not even be built and the event would be lost.
    let mut path = String::with_capacity(notify_uri.len());
    for b in notify_uri.bytes() {
        if b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b) {
            path.push(char::from(b));
        } else {
            path.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{scheme}://{address}:{port}{slash}{path}")
}

/// What one attempt came to.
enum Outcome {
    Delivered,
    Retry(String),
    GiveUp(String),
}

/// One subscriber's sender: while it holds the lease, the queue's events one after the other,
/// each retried before the next.
struct Sender {
    dispatcher: Dispatcher,
    subscriber_id: i64,
    slot: Arc<Slot>,
    /// The client for the subscriber name it was made for (a renamed system gets a new one).
    client: Option<(String, HttpsClient)>,
    /// Delivered events not yet removed from the queue: removed in one statement per batch.
    /// Should the process die first, they are delivered again (at least once).
    delivered: Vec<i64>,
}

impl Sender {
    /// Removes the delivered events from the queue (before the queue is read again, which
    /// would otherwise hand them out once more).
    async fn flush(&mut self) {
        if self.delivered.is_empty() {
            return;
        }
        let ids = std::mem::take(&mut self.delivered);
        let n = ids.len() as u64;
        let pool = self.shared().pool.clone();
        match db::run(&pool, move |c| Ok(queue::delivered(c, &ids)?)).await {
            // Counted once off the queue, so that the figures never show an event both
            // delivered and pending.
            Ok(()) => {
                self.shared()
                    .counters
                    .delivered
                    .fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => {
                // Delivered again later: at least once.
                self.shared()
                    .counters
                    .delivered
                    .fetch_add(n, Ordering::Relaxed);
                tracing::warn!(subscriber = self.subscriber_id, error = %e, events = n,
                    "delivered events not removed from the queue; they will be delivered again");
                tokio::time::sleep(self.shared().policy.poll).await;
            }
        }
    }

    fn shared(&self) -> &Shared {
        &self.dispatcher.0
    }

    async fn run(mut self) {
        let id = self.subscriber_id;
        let policy = self.shared().policy.clone();
        let pool = self.shared().pool.clone();
        let owner = self.shared().owner.clone();
        let lease_ms = i64::try_from(policy.lease.as_millis()).unwrap_or(i64::MAX);
        let renew_every = policy.lease / 3;
        let mut renewed: Option<Instant> = None;
        let mut idle_since = Instant::now();
        loop {
            if renewed.is_none_or(|t| t.elapsed() >= renew_every) {
                let o = owner.clone();
                match db::run(&pool, move |c| Ok(queue::claim(c, id, &o, lease_ms)?)).await {
                    Ok(true) => renewed = Some(Instant::now()),
                    Ok(false) => {
                        tracing::debug!(
                            subscriber = id,
                            "another instance delivers to this subscriber"
                        );
                        *self
                            .slot
                            .elsewhere_until
                            .lock()
                            .unwrap_or_else(|p| p.into_inner()) =
                            Some(Instant::now() + renew_every);
                        // The holder polls its queue: no wake-up here is lost.
                        self.stop();
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(subscriber = id, error = %e, "delivery lease not renewed; retrying");
                        tokio::time::sleep(policy.poll).await;
                        continue;
                    }
                }
            }
            self.slot.woken.store(false, Ordering::SeqCst);
            let heads = match db::run(&pool, move |c| Ok(queue::heads(c, id, BATCH)?)).await {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!(subscriber = id, error = %e, "delivery queue not read; retrying");
                    tokio::time::sleep(policy.poll).await;
                    continue;
                }
            };
            if heads.is_empty() {
                if idle_since.elapsed() >= policy.idle_sender {
                    let o = owner.clone();
                    // Released before the last look, so that an event queued by an instance
                    // that found the lease still held is seen here or adopted by its sweep.
                    let _ = db::run(&pool, move |c| Ok(queue::release(c, id, &o)?)).await;
                    renewed = None;
                    let left = db::run(&pool, move |c| Ok(queue::heads(c, id, 1)?)).await;
                    if left.is_ok_and(|h| h.is_empty()) && self.leave() {
                        tracing::debug!(subscriber = id, "idle sender ended");
                        return;
                    }
                    idle_since = Instant::now();
                    continue;
                }
                let _ = tokio::time::timeout(policy.poll, self.slot.notify.notified()).await;
                continue;
            }
            idle_since = Instant::now();
            for head in heads {
                let now = chrono::Utc::now().naive_utc();
                if head.next_attempt_at > now {
                    let wait = (head.next_attempt_at - now)
                        .to_std()
                        .unwrap_or_default()
                        .min(policy.poll);
                    tokio::time::sleep(wait).await;
                    break;
                }
                if !self.settle(head).await {
                    break;
                }
                if renewed.is_none_or(|t| t.elapsed() >= renew_every) {
                    break;
                }
            }
            self.flush().await;
        }
    }

    fn stop(&self) {
        let _slots = self.dispatcher.slots();
        self.slot.running.store(false, Ordering::SeqCst);
    }

    /// Ends the sender unless it was woken since it last looked; decided under the
    /// dispatcher's lock so that a wake-up is never lost.
    fn leave(&self) -> bool {
        let slots = self.dispatcher.slots();
        if self.slot.woken.swap(false, Ordering::SeqCst) {
            return false;
        }
        self.slot.running.store(false, Ordering::SeqCst);
        drop(slots);
        true
    }

    /// Attempts the head event and records the outcome; false when the queue must wait
    /// (a retry is due later, or the database did not take the outcome).
    async fn settle(&mut self, head: Head) -> bool {
        let id = self.subscriber_id;
        let policy = self.shared().policy.clone();
        let pool = self.shared().pool.clone();
        let outcome = self.attempt(&head).await;
        let counters = &self.shared().counters;
        let attempts = head.attempts.saturating_add(1);
        let age = (chrono::Utc::now().naive_utc() - head.created_at)
            .to_std()
            .unwrap_or_default();
        let outcome = match outcome {
            Outcome::Retry(why)
                if age >= policy.max_age
                    || (policy.max_attempts > 0 && attempts as u32 >= policy.max_attempts) =>
            {
                Outcome::GiveUp(format!(
                    "{why} (after {attempts} attempts over {}s)",
                    age.as_secs()
                ))
            }
            other => other,
        };
        let url = notify_url(
            &head.address,
            head.port,
            head.authentication_info.as_deref(),
            &head.notify_uri,
        );
        match outcome {
            Outcome::Delivered => {
                tracing::debug!(subscriber = id, url = %url, attempts, "event delivered");
                // Removed from the queue with the rest of the batch (see `flush`).
                self.delivered.push(head.id);
                true
            }
            Outcome::Retry(why) => {
                counters.retried.fetch_add(1, Ordering::Relaxed);
                let shift = u32::try_from(head.attempts.max(0)).unwrap_or(0).min(20);
                let wait = policy
                    .first_backoff
                    .saturating_mul(1 << shift)
                    .min(policy.max_backoff);
                tracing::info!(subscriber = id, url = %url, attempt = attempts, reason = %why,
                    retry_in_ms = wait.as_millis() as u64, "event delivery failed; retrying");
                let at = chrono::Utc::now().naive_utc()
                    + chrono::Duration::from_std(wait).unwrap_or_default();
                let row = head.id;
                let _ = db::run(&pool, move |c| Ok(queue::retry_at(c, row, attempts, at)?)).await;
                false
            }
            Outcome::GiveUp(why) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(subscriber = id, subscription = head.subscription_id, url = %url,
                    attempts, reason = %why, "event not delivered: given up");
                let ok = db::run(&pool, move |c| Ok(queue::give_up(c, &head, id, &why)?)).await;
                ok.is_ok()
            }
        }
    }

    fn client(&mut self, subscriber: &str) -> Result<HttpsClient, String> {
        if let Some((name, c)) = &self.client {
            if name == subscriber {
                return Ok(c.clone());
            }
        }
        let c = HttpsClient::new(
            self.shared().tls.as_ref(),
            Expect::System(subscriber.to_owned()),
            self.shared().limits.clone(),
        )?;
        self.client = Some((subscriber.to_owned(), c.clone()));
        Ok(c)
    }

    async fn attempt(&mut self, head: &Head) -> Outcome {
        let url = notify_url(
            &head.address,
            head.port,
            head.authentication_info.as_deref(),
            &head.notify_uri,
        );
        let client = match self.client(&head.system_name) {
            Ok(c) => c,
            Err(e) => return Outcome::GiveUp(e),
        };
        let event_id = head.id.to_string();
        let answer = client
            .call_with(
                hyper::Method::POST,
                &url,
                Some(bytes::Bytes::from(head.body.clone())),
                &[(EVENT_ID_HEADER, &event_id)],
            )
            .await
            .map(|a| a.status);
        match answer {
            Ok(status) if status.is_success() => Outcome::Delivered,
            // Only the status matters; the rest of an oversized answer is not read.
            Err(CallError::TooLarge { status, .. }) if status.is_success() => Outcome::Delivered,
            Err(CallError::TooLarge { status, .. }) | Ok(status) if retryable(status) => {
                Outcome::Retry(format!("answered {status}"))
            }
            Err(CallError::TooLarge { status, .. }) | Ok(status) => {
                Outcome::GiveUp(format!("answered {status}"))
            }
            Err(e @ (CallError::Refused(_) | CallError::Invalid(_))) => {
                Outcome::GiveUp(e.to_string())
            }
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_urls() {
        assert_eq!(
            notify_url("10.0.0.1", 9000, Some("a2V5"), "/events"),
            "https://10.0.0.1:9000/events"
        );
        assert_eq!(
            notify_url("10.0.0.1", 9000, Some(" "), "events"),
            "http://10.0.0.1:9000/events"
        );
        assert_eq!(
            notify_url("10.0.0.1", 9000, None, "events"),
            "http://10.0.0.1:9000/events"
        );
        assert_eq!(
            notify_url("h", 1, None, "/a b/🌡?x=1"),
            "http://h:1/a%20b/%F0%9F%8C%A1?x=1"
        );
    }
}
