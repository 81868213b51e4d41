//! Tells the Event Handler that a consumer's intra-cloud rules changed, so it re-checks which
//! publishers that subscriber may hear from (Java: only when `eventhandler_is_present`). The
//! Event Handler is found through the Service Registry; sending happens in the background, so a
//! missing or slow Event Handler never delays the operator's request.

use common::registration::Registrar;

const AUTH_UPDATE: &str = "event-publish-auth-update";

#[derive(Clone)]
pub struct AuthUpdateNotifier {
    registrar: Registrar,
}

impl AuthUpdateNotifier {
    pub fn new(registrar: Registrar) -> Self {
        Self { registrar }
    }

    /// Sends one `SUBSCRIBER_AUTH_UPDATE` event per consumer id, without waiting.
    pub fn notify(&self, consumer_ids: Vec<i64>) {
        let registrar = self.registrar.clone();
        actix_web::rt::spawn(async move {
            let at = match registrar.locate(AUTH_UPDATE).await {
                Ok(at) => at,
                Err(e) => {
                    tracing::warn!(error = %e, "Event Handler not notified of an authorization change");
                    return;
                }
            };
            for id in consumer_ids {
                // The source is this system as registered (domain name and port), which is
                // what the Event Handler can reach, unlike Java's `server.address`.
                let event = serde_json::json!({
                    "eventType": "SUBSCRIBER_AUTH_UPDATE",
                    "source": registrar.system(),
                    "metaData": null,
                    "payload": id.to_string(),
                    "timeStamp": common::dto::format_instant(&chrono::Utc::now().naive_utc()),
                });
                if let Err(e) = registrar
                    .client()
                    .send_raw(at.system, reqwest::Method::POST, &at.url, Some(&event))
                    .await
                {
                    tracing::warn!(consumer = id, error = %e, "Event Handler rejected an authorization update");
                }
            }
        });
    }
}
