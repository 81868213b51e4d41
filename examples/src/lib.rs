//! The seed of a Rust SDK for Arrowhead *application* systems, and the helpers of the two
//! example programs (`example-provider`, `example-consumer`) the README walk-through runs.
//!
//! An application system needs three things from its cloud, and this crate gives exactly those,
//! on the same foundation the core systems use (`common`), so an application gets the same
//! identity rules for free:
//! - its identity: its own keystore and the cloud's truststore ([`Application::load`]);
//! - calls to core systems and providers over mutual TLS that accept only the expected peer
//!   ([`Application::call`], [`Application::orchestrate`]);
//! - a server that accepts only systems of its cloud and tells handlers who called
//!   ([`Application::serve`]; handlers take a `common::identity::Caller`).

pub mod onboard;

use common::https::{CallError, Expect, HttpsClient, Limits};
use common::tls::{load_trust, Keystore, TlsContext};
use common::web::{Running, ServerSpec};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

/// An application system of a local cloud: its certificate and the cloud's trust anchors.
pub struct Application {
    pub tls: TlsContext,
}

/// Where a provider serves a service, as the Orchestrator answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub system_name: String,
    pub address: String,
    pub port: u16,
    pub service_uri: String,
}

impl Provider {
    /// The provider's HTTPS URL of the service.
    pub fn url(&self) -> String {
        let host = if self.address.contains(':') {
            format!("[{}]", self.address)
        } else {
            self.address.clone()
        };
        format!("https://{host}:{}{}", self.port, self.service_uri)
    }

    /// The provider of one orchestration result (`response[i]`).
    pub fn from_result(result: &Value) -> Result<Self, String> {
        let p = &result["provider"];
        let text = |v: &Value, what: &str| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("the orchestration result has no {what}: {result}"))
        };
        Ok(Self {
            system_name: text(&p["systemName"], "provider.systemName")?,
            address: text(&p["address"], "provider.address")?,
            port: p["port"]
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| {
                    format!("the orchestration result has no provider.port: {result}")
                })?,
            service_uri: result["serviceUri"].as_str().unwrap_or_default().to_owned(),
        })
    }
}

impl Application {
    /// Loads `<dir>/<system>.p12` and `<dir>/truststore.p12` (as `arrowhead-certgen` writes
    /// them), both protected by `password`.
    pub fn load(dir: &Path, system: &str, password: &str) -> Result<Self, String> {
        let keystore = Keystore::from_pkcs12_file(&dir.join(format!("{system}.p12")), password)
            .map_err(|e| e.to_string())?;
        let trust = load_trust(&common::config::TrustMaterial::Pkcs12 {
            path: dir.join("truststore.p12"),
            password: password.to_owned(),
        })
        .map_err(|e| e.to_string())?;
        let tls = TlsContext::new(keystore, trust).map_err(|e| e.to_string())?;
        Ok(Self { tls })
    }

    /// The system's name (the first label of its certificate name).
    pub fn name(&self) -> &str {
        &self.tls.identity.system
    }

    /// This system as the core systems want it in requests (`requesterSystem`, `source`, ...).
    pub fn system(&self, address: &str, port: u16) -> Value {
        json!({ "systemName": self.name(), "address": address, "port": port })
    }

    /// A JSON call to `url`, accepting only `peer` (a system name of this cloud) in the
    /// handshake. Returns the status and the answer (JSON, or the text as a JSON string).
    pub async fn call(
        &self,
        peer: &str,
        method: hyper::Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), String> {
        let client = HttpsClient::new(
            Some(&self.tls),
            Expect::System(peer.to_owned()),
            Limits::new(Duration::from_secs(5), Duration::from_secs(30)),
        )?;
        let body = body.map(|b| bytes::Bytes::from(b.to_string()));
        let answer = client
            .call(method, url, body)
            .await
            .map_err(|e: CallError| format!("{url}: {e}"))?;
        let value = serde_json::from_slice(&answer.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&answer.body).into_owned()));
        Ok((answer.status.as_u16(), value))
    }

    /// Asks the Orchestrator at `orchestrator` (e.g. `https://localhost:8441`) for providers of
    /// `service` over `interface`, as the system at `address`:`port`, with the given flags
    /// (`{"overrideStore": true}` for dynamic orchestration, `{}` for the Orchestrator Store).
    pub async fn orchestrate(
        &self,
        orchestrator: &str,
        (address, port): (&str, u16),
        service: &str,
        interface: &str,
        flags: Value,
    ) -> Result<Vec<Value>, String> {
        let form = json!({
            "requesterSystem": self.system(address, port),
            "requestedService": {
                "serviceDefinitionRequirement": service,
                "interfaceRequirements": [interface],
            },
            "orchestrationFlags": flags,
        });
        let url = format!(
            "{}/orchestrator/orchestration",
            orchestrator.trim_end_matches('/')
        );
        match self
            .call("orchestrator", hyper::Method::POST, &url, Some(&form))
            .await?
        {
            (200, answer) => Ok(answer["response"].as_array().cloned().unwrap_or_default()),
            (status, answer) => Err(format!("the Orchestrator answered {status}: {answer}")),
        }
    }

    /// Serves the endpoints `configure` adds on `port`, over mutual TLS: only systems of this
    /// cloud get in, and a handler learns who called by taking a `common::identity::Caller`.
    pub fn serve<F>(self, port: u16, configure: F) -> Result<Running, String>
    where
        F: Fn(&mut actix_web::web::ServiceConfig) + Send + Clone + 'static,
    {
        common::web::start(ServerSpec {
            address: "0.0.0.0".into(),
            port,
            tls: Some(self.tls),
            workers: Some(1),
            openapi: utoipa::openapi::OpenApiBuilder::new().build(),
            revocations: None,
            limits: Default::default(),
            configure,
        })
        .map_err(|e| format!("cannot listen on port {port}: {e}"))
    }
}

/// The command line of the examples: `--name value` options and positional words.
pub struct Args {
    options: Vec<(String, String)>,
    pub words: Vec<String>,
}

impl Args {
    /// Reads `args` (without the program name); `--help` anywhere prints `usage` and exits.
    pub fn parse(args: impl IntoIterator<Item = String>, usage: &str) -> Result<Self, String> {
        let mut options = Vec::new();
        let mut words = Vec::new();
        let mut args = args.into_iter();
        while let Some(a) = args.next() {
            if a == "--help" || a == "-h" {
                println!("{usage}");
                std::process::exit(0);
            }
            match a.strip_prefix("--") {
                Some(name) => {
                    let value = args
                        .next()
                        .ok_or_else(|| format!("--{name} needs a value\n{usage}"))?;
                    options.push((name.to_owned(), value));
                }
                None => words.push(a),
            }
        }
        Ok(Self { options, words })
    }

    /// The value of `--name`, else `default`.
    pub fn get(&self, name: &str, default: &str) -> String {
        self.options
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| default.to_owned())
    }

    /// `--name` as a port number.
    pub fn port(&self, name: &str, default: u16) -> Result<u16, String> {
        let v = self.get(name, &default.to_string());
        v.parse()
            .map_err(|_| format!("--{name}: '{v}' is not a port number"))
    }

    /// The identity the options name: `--certificates` (folder), `--system`, `--password`.
    pub fn application(&self, default_system: &str) -> Result<Application, String> {
        Application::load(
            Path::new(&self.get("certificates", "certificates")),
            &self.get("system", default_system),
            &self.get("password", "123456"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_options_and_words() {
        let args = Args::parse(
            ["listen", "--port", "9002", "--events", "1"].map(String::from),
            "usage",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(args.words, ["listen"]);
        assert_eq!(args.port("port", 1), Ok(9002));
        assert_eq!(args.get("events", "0"), "1");
        assert_eq!(args.get("system", "dashboard"), "dashboard");
        assert!(args.port("events", 1).is_ok());
        assert!(Args::parse(["--port".to_owned()], "usage").is_err());
    }

    #[test]
    fn provider_of_a_result() {
        let result = json!({"provider": {"systemName": "thermometer", "address": "::1", "port": 9001},
                            "serviceUri": "/temperature"});
        let p = Provider::from_result(&result).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.url(), "https://[::1]:9001/temperature");
        assert!(Provider::from_result(&json!({"provider": {}})).is_err());
    }
}
