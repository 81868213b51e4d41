//! The Gatekeeper's conversations over relays (Java `ActiveMQGatekeeperRelayClient` and
//! `GatekeeperTask`), one supervised [`Link`] per broker shared by both roles:
//!
//! - asking: subscribe to `RESP-<recipient>-<sid>`, publish the advertisement on the general
//!   topic, wait for the `ack`, send the request to `REQ-<recipient>-<sid>`, wait for the answer;
//! - answering: advertisements on the general topic naming this Gatekeeper start a session whose
//!   request is handed to a [`Responder`], and whose answer (or error) goes back.
//!
//! Better than Java, same messages: the advertiser must be a Gatekeeper of a cloud we know whose
//! recorded key (`cloud.authentication_info`) is the key it signs with, or it is refused with an
//! error; a request that cannot be read or handled is answered with the error, never left to
//! time out; every wait shares one deadline (`timeout`), so callers can outlast it.

use common::dto::gatekeeper::{message_type, GeneralAdvertisement};
use common::error::ErrorMessage;
use common::relay::envelope::{Cryptographer, Message};
pub use common::relay::router::RelayAddress;
use common::relay::router::{Relays, Routed, Unrouted};
use common::relay::stomp::Frame;
use common::tls::Keystore;
use common::{ArrowheadError, ExceptionType};
use openssl::pkey::{PKey, Public};
use openssl::x509::X509;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The topic every Gatekeeper listens on (Java's constant).
pub const GENERAL_TOPIC: &str = "/topic/General-M5QTZXM9G9AnpPHWT6WennWu";

/// The requesting cloud, as authenticated from its advertisement.
#[derive(Debug, Clone)]
pub struct Peer {
    pub operator: String,
    pub name: String,
    pub public_key: PKey<Public>,
}

pub type Answer = Pin<Box<dyn Future<Output = Result<String, ArrowheadError>> + Send>>;

/// What answers other clouds' requests (the provider side of GSD and ICN).
pub trait Responder: Send + Sync + 'static {
    /// The cloud whose Gatekeeper is `cn` (`gatekeeper.<name>.<operator>.arrowhead.eu`) and the
    /// key recorded for it, when the cloud is known.
    fn recorded_key(
        &self,
        operator: String,
        name: String,
    ) -> Pin<Box<dyn Future<Output = Result<Option<String>, ArrowheadError>> + Send>>;
    /// The answer (JSON) to a request of type `message_type` from `peer`.
    fn answer(&self, peer: Peer, message_type: String, payload: String) -> Answer;
}

pub struct Hub {
    relays: Relays,
    /// Relays whose general topic this Gatekeeper listens on.
    listening: Mutex<std::collections::HashSet<RelayAddress>>,
    own_cn: String,
    public_key: String,
    crypto: Cryptographer,
    timeout: Duration,
    responder: Arc<dyn Responder>,
    /// Session ids answered lately: one broker reached under two relay records (two
    /// connections, both on the general topic) delivers an advertisement twice, and it must be
    /// answered once.
    seen: Mutex<std::collections::HashMap<String, std::time::Instant>>,
    /// Told when the sysop changed clouds or relays, so new relays are listened on at once
    /// (other instances find them at their next periodic check).
    pub relays_changed: tokio::sync::Notify,
}

fn relay_error(message: impl Into<String>) -> ArrowheadError {
    ArrowheadError::unavailable(message).with_code(503)
}

/// A base64 DER public key (whitespace and PEM armour ignored).
pub fn public_key(base64: &str) -> Option<PKey<Public>> {
    let body: String = base64
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = openssl::base64::decode_block(&body).ok()?;
    PKey::public_key_from_der(&der).ok()
}

/// `(name, operator)` of a Gatekeeper's common name, lowercased.
pub fn cloud_of_gatekeeper(cn: &str) -> Option<(String, String)> {
    let cn = cn.trim().to_lowercase();
    let rest = cn.strip_prefix("gatekeeper.")?;
    let rest = rest.strip_suffix(".arrowhead.eu")?;
    let (name, operator) = rest.split_once('.')?;
    (!name.is_empty() && !operator.is_empty() && !operator.contains('.'))
        .then(|| (name.to_owned(), operator.to_owned()))
}

/// The Gatekeeper of a cloud, as Java names the recipient.
pub fn gatekeeper_cn(name: &str, operator: &str) -> String {
    format!("gatekeeper.{}.{}.arrowhead.eu", name, operator).to_lowercase()
}

/// An error carried as a relay payload (Java: any payload containing `"errorCode"`); one
/// without an exception type is Java's "unknown error".
fn error_of_payload(payload: &str) -> Option<ArrowheadError> {
    if !payload.contains("\"errorCode\"") {
        return None;
    }
    Some(match serde_json::from_str::<ErrorMessage>(payload) {
        Ok(m) => ArrowheadError::from_message(m),
        Err(_) => ArrowheadError::new(
            ExceptionType::Arrowhead,
            "Unknown error occurred at ActiveMQGatekeeperRelayClient. Check log for possibly more information.",
        ),
    })
}

impl Hub {
    pub fn new(
        identity: Arc<Keystore>,
        anchors: Vec<X509>,
        timeout: Duration,
        responder: Arc<dyn Responder>,
    ) -> Result<Arc<Self>, String> {
        let own_cn = identity
            .common_name()
            .ok_or("the keystore's certificate has no common name")?
            .to_lowercase();
        let public_key = identity.public_key_base64().map_err(|e| e.to_string())?;
        let crypto = Cryptographer::new(&identity.key).map_err(|e| e.to_string())?;
        let (tx, rx) = mpsc::channel(256);
        let hub = Arc::new(Self {
            relays: Relays::new(identity, anchors, Some(tx)),
            listening: Mutex::default(),
            own_cn,
            public_key,
            crypto,
            timeout,
            responder,
            seen: Mutex::default(),
            relays_changed: tokio::sync::Notify::new(),
        });
        tokio::spawn(advertisements(Arc::downgrade(&hub), rx));
        Ok(hub)
    }

    /// Listens for advertisements on `relay` (once per relay; kept across reconnections).
    pub async fn listen(self: &Arc<Self>, relay: &RelayAddress) -> Result<(), ArrowheadError> {
        if !self
            .listening
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(relay.clone())
        {
            return Ok(());
        }
        let conn = self.relays.get(relay);
        let subscribed = tokio::time::timeout(self.timeout, conn.subscribe(GENERAL_TOPIC))
            .await
            .map_err(|_| relay_error(format!("Relay {relay} is not reachable.")))
            .and_then(|r| r.map_err(|e| relay_error(e.to_string())));
        if subscribed.is_err() {
            self.listening
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(relay);
        }
        subscribed
    }

    /// Asks the Gatekeeper `recipient_cn` (whose key is `recipient_key`) over `relay`: the whole
    /// conversation within the timeout. A silent peer is a 504 TIMEOUT naming it.
    pub async fn ask(
        self: &Arc<Self>,
        relay: &RelayAddress,
        recipient_cn: &str,
        recipient_key: &PKey<Public>,
        message_type: &str,
        payload: &str,
    ) -> Result<String, ArrowheadError> {
        let deadline = Instant::now() + self.timeout;
        let conn = self.relays.get(relay);
        let sid = common::relay::session_id();
        let response_queue = format!("/queue/RESP-{recipient_cn}-{sid}");
        let unreachable = || relay_error(format!("Relay {relay} is not reachable."));
        let mut rx = match tokio::time::timeout_at(deadline, conn.open_route(&response_queue)).await
        {
            Ok(Ok(rx)) => rx,
            failed => {
                // A subscription still queued for the link is withdrawn right behind it.
                conn.close_route(&response_queue).await;
                return Err(match failed {
                    Ok(Err(e)) => relay_error(e.to_string()),
                    _ => unreachable(),
                });
            }
        };
        let result = async {
            let advertisement = GeneralAdvertisement {
                sender_cn: Some(self.own_cn.clone()),
                sender_public_key: Some(self.public_key.clone()),
                recipient_cn: Some(recipient_cn.to_owned()),
                session_id: Some(
                    self.crypto
                        .seal_session_id(&sid, recipient_key)
                        .map_err(|e| ArrowheadError::internal(e.to_string()))?,
                ),
            };
            let text = serde_json::to_string(&advertisement)
                .map_err(|e| ArrowheadError::internal(e.to_string()))?;
            tokio::time::timeout_at(deadline, conn.send(GENERAL_TOPIC, &text))
                .await
                .map_err(|_| unreachable())?
                .map_err(|e| relay_error(e.to_string()))?;
            let ack = self
                .receive(
                    &mut rx,
                    deadline,
                    recipient_key,
                    recipient_cn,
                    "acknowledge",
                )
                .await?;
            if ack.message_type.as_deref() != Some(message_type::ACK)
                || ack.session_id.as_deref() != Some(sid.as_str())
            {
                if let Some(e) = ack.payload.as_deref().and_then(error_of_payload) {
                    return Err(e);
                }
                return Err(ArrowheadError::auth("Unauthorized message on queue."));
            }
            let request = self
                .crypto
                .seal(
                    &Message {
                        message_type: Some(message_type.to_owned()),
                        session_id: Some(sid.clone()),
                        payload: Some(payload.to_owned()),
                    },
                    recipient_key,
                )
                .map_err(|e| ArrowheadError::internal(e.to_string()))?;
            let request_queue = format!("/queue/REQ-{recipient_cn}-{sid}");
            tokio::time::timeout_at(deadline, conn.send(&request_queue, &request))
                .await
                .map_err(|_| unreachable())?
                .map_err(|e| relay_error(e.to_string()))?;
            let answer = loop {
                let m = self
                    .receive(&mut rx, deadline, recipient_key, recipient_cn, "respond")
                    .await?;
                // A repeated acknowledgement (the advertisement reached the peer twice) is not
                // the answer.
                if m.message_type.as_deref() != Some(message_type::ACK) {
                    break m;
                }
            };
            let text = answer.payload.unwrap_or_default();
            if let Some(e) = error_of_payload(&text) {
                return Err(e);
            }
            if answer.message_type.as_deref() != Some(message_type)
                || answer.session_id.as_deref() != Some(sid.as_str())
            {
                return Err(ArrowheadError::auth("Unauthorized message on queue."));
            }
            Ok(text)
        }
        .await;
        conn.close_route(&response_queue).await;
        result
    }

    async fn receive(
        &self,
        rx: &mut mpsc::Receiver<Frame>,
        deadline: Instant,
        sender: &PKey<Public>,
        sender_cn: &str,
        what: &str,
    ) -> Result<Message, ArrowheadError> {
        let frame = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .ok()
            .flatten()
            .ok_or_else(|| {
                let verb = if what == "acknowledge" {
                    "does not acknowledge request in time"
                } else {
                    "does not respond in time"
                };
                ArrowheadError::new(ExceptionType::Timeout, format!("{sender_cn} {verb}"))
            })?;
        let text = frame
            .text()
            .map_err(|_| ArrowheadError::auth("Unauthorized message on queue."))?;
        self.crypto
            .open(text, sender)
            .map_err(|e| ArrowheadError::auth(e.to_string()))
    }

    /// An advertisement arrived on `relay`: answer it when it names this Gatekeeper.
    async fn serve(self: Arc<Self>, relay: RelayAddress, conn: Arc<Routed>, text: String) {
        let Ok(ad) = serde_json::from_str::<GeneralAdvertisement>(&text) else {
            tracing::warn!(relay = %relay.host, "unreadable advertisement on the general topic ignored");
            return;
        };
        if !ad
            .recipient_cn
            .as_deref()
            .is_some_and(|r| r.trim().eq_ignore_ascii_case(&self.own_cn))
        {
            return;
        }
        let sender_cn = ad.sender_cn.clone().unwrap_or_default().to_lowercase();
        let Some(claimed_key) = ad.sender_public_key.as_deref().and_then(public_key) else {
            tracing::warn!(sender = %sender_cn, "advertisement without a usable sender key ignored");
            return;
        };
        let Some(sid) = ad
            .session_id
            .as_deref()
            .and_then(|s| self.crypto.open(s, &claimed_key).ok())
            .and_then(|m| m.session_id)
            .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()))
        else {
            tracing::warn!(sender = %sender_cn, "advertisement whose session id cannot be opened ignored");
            return;
        };
        if !self.first_time(&sid) {
            return;
        }
        let reply_queue = format!("/queue/RESP-{}-{sid}", self.own_cn);
        let reply = |m: Message| {
            let sealed = self.crypto.seal(&m, &claimed_key);
            let conn = conn.clone();
            let queue = reply_queue.clone();
            async move {
                match sealed {
                    Ok(text) => {
                        if let Err(e) = conn.send(&queue, &text).await {
                            tracing::warn!(error = %e, "cannot answer over the relay");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot seal a relay answer"),
                }
            }
        };
        let error_message = |message_type: &str, e: &ArrowheadError| Message {
            message_type: Some(message_type.to_owned()),
            session_id: Some(sid.clone()),
            payload: serde_json::to_string(&e.to_message()).ok(),
        };
        let peer = match self
            .authenticate(&sender_cn, &ad, claimed_key.clone())
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(sender = %sender_cn, error = %e.message, "advertisement refused");
                reply(error_message("error", &e)).await;
                return;
            }
        };
        let request_queue = format!("/queue/REQ-{}-{sid}", self.own_cn);
        let deadline = Instant::now() + self.timeout;
        let subscribed = tokio::time::timeout_at(deadline, conn.open_route(&request_queue)).await;
        if let Ok(Ok(mut rx)) = subscribed {
            reply(Message {
                message_type: Some(message_type::ACK.into()),
                session_id: Some(sid.clone()),
                payload: None,
            })
            .await;
            match self
                .receive(&mut rx, deadline, &peer.public_key, &sender_cn, "respond")
                .await
            {
                Ok(request) => {
                    let kind = request.message_type.clone().unwrap_or_default();
                    let answer = if request.session_id.as_deref() != Some(sid.as_str()) {
                        Err(ArrowheadError::auth("Unauthorized message on queue."))
                    } else {
                        self.responder
                            .answer(peer, kind.clone(), request.payload.unwrap_or_default())
                            .await
                    };
                    match answer {
                        Ok(json) => {
                            reply(Message {
                                message_type: Some(kind),
                                session_id: Some(sid.clone()),
                                payload: Some(json),
                            })
                            .await
                        }
                        Err(e) => {
                            tracing::info!(sender = %sender_cn, request = %kind, error = %e.message, "relay request answered with an error");
                            reply(error_message(&kind, &e)).await
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(sender = %sender_cn, error = %e.message, "no readable request after the acknowledgement")
                }
            }
        }
        conn.close_route(&request_queue).await;
    }

    /// Whether `sid` is new (and remembers it for a while).
    fn first_time(&self, sid: &str) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        let keep = self.timeout * 4;
        seen.retain(|_, at| now.duration_since(*at) < keep);
        seen.insert(sid.to_owned(), now).is_none()
    }

    /// Java trusts whatever key an advertisement carries; here the sender must be the
    /// Gatekeeper of a known cloud, signing with the key recorded for that cloud.
    async fn authenticate(
        &self,
        sender_cn: &str,
        ad: &GeneralAdvertisement,
        key: PKey<Public>,
    ) -> Result<Peer, ArrowheadError> {
        let (name, operator) = cloud_of_gatekeeper(sender_cn).ok_or_else(|| {
            ArrowheadError::auth(format!("{sender_cn} is not the Gatekeeper of a cloud."))
        })?;
        let recorded = self
            .responder
            .recorded_key(operator.clone(), name.clone())
            .await?
            .ok_or_else(|| {
                ArrowheadError::auth(format!(
                    "Cloud {operator}/{name} is unknown to {}.",
                    self.own_cn
                ))
            })?;
        let same = public_key(&recorded).is_some_and(|r| r.public_eq(&key));
        let claimed = ad.sender_public_key.as_deref().unwrap_or_default();
        if !same {
            tracing::warn!(cloud = %format!("{operator}/{name}"), claimed = %claimed.chars().take(24).collect::<String>(), "advertisement signed with a key other than the recorded one");
            return Err(ArrowheadError::auth(format!(
                "The key of {sender_cn} is not the one recorded for cloud {operator}/{name}."
            )));
        }
        Ok(Peer {
            operator,
            name,
            public_key: key,
        })
    }
}

/// Advertisements (frames nobody routed) each get a task of their own: a slow answer never
/// holds up others.
async fn advertisements(hub: std::sync::Weak<Hub>, mut frames: mpsc::Receiver<Unrouted>) {
    while let Some((relay, conn, frame)) = frames.recv().await {
        let Some(hub) = hub.upgrade() else {
            return;
        };
        if frame.get("destination") != Some(GENERAL_TOPIC) {
            continue;
        }
        if let Ok(text) = frame.text() {
            tokio::spawn(hub.serve(relay, conn, text.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            cloud_of_gatekeeper("Gatekeeper.CloudB.Aitia.arrowhead.eu"),
            Some(("cloudb".into(), "aitia".into()))
        );
        assert_eq!(
            cloud_of_gatekeeper("orchestrator.cloudb.aitia.arrowhead.eu"),
            None
        );
        assert_eq!(cloud_of_gatekeeper("gatekeeper.x.y.z.arrowhead.eu"), None);
        assert_eq!(cloud_of_gatekeeper("gatekeeper.cloudb.arrowhead.eu"), None);
        assert_eq!(
            gatekeeper_cn("CloudB", "Aitia"),
            "gatekeeper.cloudb.aitia.arrowhead.eu"
        );
        let sid = common::relay::session_id();
        assert_eq!(sid.len(), 48);
        assert!(sid.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(error_of_payload("{\"response\":[]}").is_none());
        let e = error_of_payload(
            r#"{"errorMessage":"m","errorCode":400,"exceptionType":"INVALID_PARAMETER","origin":"o"}"#,
        )
        .unwrap();
        assert_eq!((e.message.as_str(), e.status().as_u16()), ("m", 400));
        let e = error_of_payload(r#"{"errorCode":0}"#).unwrap();
        assert_eq!(e.status().as_u16(), 500);
    }
}
