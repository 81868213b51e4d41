//! Which publishers a subscriber may hear from, as the Authorization system says
//! (`authorization-control-subscription`, found through the Service Registry): asked when a
//! subscription is made, when Authorization announces a rule change (`publish/authupdate`), and
//! for every subscriber at startup — retried with backoff until the Authorization system
//! answers, so no startup order is needed.

use crate::subscriptions;
use common::db::models::System;
use common::db::{self, DbPool};
use common::dto::{SubscriptionCheckRequest, SubscriptionCheckResponse, SystemRequest};
use common::registration::Locator;
use common::ArrowheadError;
use std::collections::HashSet;
use std::time::Duration;

const SUBSCRIPTION_CHECK: &str = "authorization-control-subscription";

#[derive(Clone)]
pub struct AuthSync {
    pub pool: DbPool,
    pub locator: Locator,
}

pub fn system_request(s: &System) -> SystemRequest {
    SystemRequest {
        system_name: Some(s.system_name.clone()),
        address: Some(s.address.clone()),
        port: Some(i64::from(s.port)),
        authentication_info: s.authentication_info.clone(),
        metadata: None,
    }
}

impl AuthSync {
    /// Ids of every publisher the subscriber may hear from.
    pub async fn authorized_publishers(
        &self,
        subscriber: SystemRequest,
    ) -> Result<HashSet<i64>, ArrowheadError> {
        let answer: SubscriptionCheckResponse = self
            .locator
            .post(
                SUBSCRIPTION_CHECK,
                &SubscriptionCheckRequest {
                    consumer: Some(subscriber),
                    publishers: None,
                },
            )
            .await?;
        Ok(answer.publishers.iter().map(|p| p.id).collect())
    }

    /// Re-checks one subscriber and rewrites its publisher connections.
    pub async fn resync(&self, subscriber: System) -> Result<usize, ArrowheadError> {
        let allowed = self
            .authorized_publishers(system_request(&subscriber))
            .await?;
        let id = subscriber.id;
        db::run(&self.pool, move |c| {
            subscriptions::reauthorize(c, id, &allowed)
        })
        .await
    }

    /// Re-checks the subscriber with this id (after an auth update).
    pub async fn resync_id(&self, subscriber_id: i64) -> Result<usize, ArrowheadError> {
        let subscriber = db::run(&self.pool, move |c| {
            common::db::models::system_by_id(c, subscriber_id)?.ok_or_else(|| {
                ArrowheadError::invalid_parameter(format!(
                    "Subscriber system with id {subscriber_id} not found."
                ))
            })
        })
        .await?;
        self.resync(subscriber).await
    }

    /// Every subscriber at startup, retried (1 s doubling to 30 s) until it succeeds.
    pub async fn resync_all_until_done(self) {
        let mut wait = Duration::from_secs(1);
        loop {
            match self.resync_all().await {
                Ok(n) => {
                    tracing::info!(
                        subscribers = n,
                        "subscriptions re-checked with Authorization"
                    );
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_s = wait.as_secs(), "cannot re-check subscriptions with Authorization yet");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    async fn resync_all(&self) -> Result<usize, ArrowheadError> {
        let all = db::run(&self.pool, |c| Ok(subscriptions::subscribers(c)?)).await?;
        let n = all.len();
        for s in all {
            self.resync(s).await?;
        }
        Ok(n)
    }
}
