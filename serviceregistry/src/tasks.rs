//! The optional clean-up tasks (Java Quartz jobs): the TTL task removes entries whose end of
//! validity has passed, the ping task removes entries whose provider does not accept a TCP
//! connection. Both work only through the database, so running them on several instances is
//! harmless.

use crate::registry::{self, Scope};
use common::db::{self, DbPool};
use std::time::Duration;

pub use common::net::reachable;

/// The TTL task: after `first`, and then every `every`, removes entries past their end of
/// validity.
pub async fn ttl_task(pool: DbPool, first: Duration, every: Duration) {
    tokio::time::sleep(first).await;
    loop {
        let now = chrono::Utc::now().naive_utc();
        match db::run(&pool, move |c| Ok(registry::delete_expired(c, now)?)).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "TTL task removed expired services"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "TTL task failed"),
        }
        tokio::time::sleep(every).await;
    }
}

/// One pass of the ping task: removes the entries whose provider is unreachable; returns how
/// many were removed.
pub async fn remove_unreachable(
    pool: &DbPool,
    timeout: Duration,
) -> Result<usize, common::ArrowheadError> {
    let entries = db::run(pool, |c| Ok(registry::load(c, Scope::All, None)?)).await?;
    let alive = futures_util::future::join_all(
        entries
            .iter()
            .map(|e| reachable(e.provider.address.clone(), e.provider.port, timeout)),
    )
    .await;
    let dead: Vec<i64> = entries
        .iter()
        .zip(alive)
        .filter(|(_, ok)| !ok)
        .map(|(e, _)| e.id)
        .collect();
    let n = dead.len();
    if n > 0 {
        db::run(pool, move |c| {
            for id in dead {
                // Already gone (another instance's task, an unregister) is fine.
                let _ = registry::delete_entry(c, id);
            }
            Ok(())
        })
        .await?;
    }
    Ok(n)
}

/// The ping task: after `first`, and then every `every`, removes entries whose provider does
/// not accept a connection within `timeout`.
pub async fn ping_task(pool: DbPool, first: Duration, every: Duration, timeout: Duration) {
    tokio::time::sleep(first).await;
    loop {
        match remove_unreachable(&pool, timeout).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "ping task removed unreachable services"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "ping task failed"),
        }
        tokio::time::sleep(every).await;
    }
}
