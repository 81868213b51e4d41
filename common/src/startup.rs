//! What every core system other than the Service Registry does before it serves: load its TLS
//! material, connect to the database (running migrations), build the client it calls peers with,
//! and prepare its registration in the Service Registry; then serve its endpoints with its
//! state. One place, so the systems cannot drift apart in how they start.

use crate::client::CoreClient;
use crate::config::CoreSettings;
use crate::db::DbPool;
use crate::identity::CoreSystem;
use crate::registration::Registrar;
use crate::tls::TlsContext;
use crate::web::{Running, ServerSpec};
use std::time::Duration;

/// A started system: the server, and the registrar that removes its services at shutdown.
pub struct Started {
    pub running: Running,
    pub registrar: Registrar,
}

/// The parts a system builds its state from.
pub struct Foundation {
    /// `None` in insecure mode.
    pub tls: Option<TlsContext>,
    pub pool: DbPool,
    /// Base64 DER of this system's public key (secure mode): its `authenticationInfo`.
    pub public_key: Option<String>,
    /// Registers this system's services; its client calls the peers.
    pub registrar: Registrar,
    /// The server's port, bound before anything shared (database, registry) is touched.
    listener: std::net::TcpListener,
    /// Certificates the Certificate Authority revoked (refused on every request).
    pub revocations: std::sync::Arc<crate::revocation::Revocations>,
}

impl Foundation {
    /// Loads TLS, connects to the database (waiting up to `db_wait`) and prepares the registrar.
    pub async fn prepare(
        core: &CoreSettings,
        system: CoreSystem,
        required_tables: &'static [&'static str],
        db_wait: Duration,
    ) -> Result<Self, String> {
        let tls = match &core.ssl {
            Some(ssl) => Some(TlsContext::load(ssl).map_err(|e| e.to_string())?),
            None => None,
        };
        if let Some(t) = &tls {
            t.require_system(system)?;
        }
        let listener = crate::web::bind(&core.server_address, core.server_port).map_err(|e| {
            format!(
                "cannot listen on {}:{}: {e}",
                core.server_address, core.server_port
            )
        })?;
        let db_settings = core.database.clone();
        let pool_size = core.db_pool_size;
        let pool = tokio::task::spawn_blocking(move || {
            crate::db::connect(&db_settings, pool_size, db_wait, required_tables)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        // Warnings and errors from here on (and those queued since startup) reach `logs`.
        crate::dblog::start_writer(pool.clone(), system);
        let public_key = match &tls {
            Some(t) => Some(t.keystore.public_key_base64().map_err(|e| e.to_string())?),
            None => None,
        };
        let client = CoreClient::new(
            tls.as_ref(),
            Duration::from_millis(core.http_client_connection_timeout_ms),
            Duration::from_millis(core.http_client_socket_timeout_ms),
            core.disable_hostname_verifier,
        )?;
        let registrar = Registrar::new(
            client,
            &core.sr_address,
            core.sr_port,
            system,
            &core.domain_name,
            core.domain_port,
            public_key.clone(),
        );
        Ok(Self {
            tls,
            pool,
            public_key,
            registrar,
            listener,
            revocations: crate::revocation::Revocations::new(),
        })
    }

    /// Serves the endpoints `configure` adds, with `state`, and starts registering in the
    /// Service Registry in the background (retrying until it accepts).
    pub fn serve<S: Send + Sync + 'static>(
        self,
        core: &CoreSettings,
        openapi: utoipa::openapi::OpenApi,
        state: actix_web::web::Data<S>,
        configure: fn(&mut actix_web::web::ServiceConfig),
    ) -> Result<Running, String> {
        if self.tls.is_some() {
            self.revocations.start_refreshing(self.pool.clone());
        }
        let running = crate::web::start_on(
            self.listener,
            ServerSpec {
                address: core.server_address.clone(),
                port: core.server_port,
                tls: self.tls,
                workers: core.workers,
                openapi,
                revocations: Some(self.revocations),
                limits: core.request_limits,
                configure: move |cfg: &mut actix_web::web::ServiceConfig| {
                    cfg.app_data(state.clone());
                    configure(cfg);
                },
            },
        )
        .map_err(|e| {
            format!(
                "cannot listen on {}:{}: {e}",
                core.server_address, core.server_port
            )
        })?;
        actix_web::rt::spawn(self.registrar.register_until_done());
        Ok(running)
    }
}
