//! Events a core system publishes to the Event Handler (Java's `EventHandlerDriver`): found
//! through the Service Registry when wanted, sent in the background so that a missing or slow
//! Event Handler never delays or fails the request that caused the event (Java publishes
//! synchronously and swallows the failure).

use crate::registration::Registrar;

/// The Event Handler's publishing service.
const PUBLISH: &str = "event-publish";

/// Publishes one event per payload, with this system as their `source` (as registered: domain
/// name and port, which the Event Handler can reach) and each payload as the Java driver sends
/// it (JSON text). The Event Handler is looked up once for all of them. `service` is
/// `event-publish`, or `event-publish-auth-update` for the Authorization's notices.
pub fn publish(
    registrar: &Registrar,
    service: &'static str,
    event_type: &str,
    payloads: Vec<String>,
) {
    let registrar = registrar.clone();
    let source = registrar.system();
    let now = crate::dto::format_instant(&chrono::Utc::now().naive_utc());
    let events: Vec<serde_json::Value> = payloads
        .into_iter()
        .map(|payload| {
            serde_json::json!({
                "eventType": event_type,
                "source": source,
                "metaData": null,
                "payload": payload,
                "timeStamp": now,
            })
        })
        .collect();
    let event_type = event_type.to_owned();
    actix_web::rt::spawn(async move {
        let at = match registrar.locate(service).await {
            Ok(at) => at,
            Err(e) => {
                tracing::info!(event_type, error = %e, "event not published: no Event Handler");
                return;
            }
        };
        for event in events {
            if let Err(e) = registrar
                .client()
                .send_raw(at.system, reqwest::Method::POST, &at.url, Some(&event))
                .await
            {
                tracing::warn!(event_type, error = %e, "the Event Handler rejected an event");
            }
        }
    });
}

/// [`publish`] on the general publishing service.
pub fn publish_event(registrar: &Registrar, event_type: &str, payloads: Vec<String>) {
    publish(registrar, PUBLISH, event_type, payloads);
}
