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
        common::events::publish(
            &self.registrar,
            AUTH_UPDATE,
            "SUBSCRIBER_AUTH_UPDATE",
            consumer_ids.iter().map(i64::to_string).collect(),
        );
    }
}
