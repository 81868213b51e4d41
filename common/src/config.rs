//! Configuration read from a Java-style `application.properties` file, so an operator can reuse
//! the files of a Java deployment unchanged. Every key can be overridden by an environment
//! variable in Spring's relaxed form (`server.ssl.key-store` → `SERVER_SSL_KEYSTORE` or
//! `SERVER_SSL_KEY_STORE`). Values are trimmed, because trailing blanks in properties files are a
//! classic cause of failed Java deployments, and malformed values stop startup with a message
//! naming the key.

use crate::identity::CoreSystem;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// The longest duration any setting may name (ten years): far beyond any sensible interval or
/// lifetime, far below where `Instant`/`SystemTime` arithmetic overflows.
pub const MAX_SETTING_DURATION: Duration = Duration::from_secs(10 * 365 * 86_400);
/// Whole milliseconds of a bounded setting (never truncates: settings are at most ten years).
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Units for [`Properties::duration_or`].
pub const MILLIS: Duration = Duration::from_millis(1);
pub const SECONDS: Duration = Duration::from_secs(1);
pub const MINUTES: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("cannot read configuration file {0}: {1}")]
    Io(String, String),
    #[error("property '{key}': invalid value '{value}' ({reason})")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
    #[error("property '{0}' is required")]
    Missing(String),
}

impl ConfigError {
    pub fn invalid(key: &str, value: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Raw key/value pairs from a properties file plus environment overrides.
#[derive(Debug, Clone, Default)]
pub struct Properties {
    file: HashMap<String, String>,
    env: HashMap<String, String>,
    /// Directory relative paths in the file are resolved against.
    base_dir: PathBuf,
    /// Every key a setting asked for (shared by clones), to find the file's unknown keys.
    asked: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
}

/// The keys of the Java core systems' `application.properties` files (all systems, 4.6.2): a
/// Java file loads without warnings, whichever system it was written for.
const JAVA_KEYS: &[&str] = &[
    "acl.file",
    "cloud.ssl.key-alias",
    "cloud.ssl.key-password",
    "cloud.ssl.key-store",
    "cloud.ssl.key-store-password",
    "cloud.ssl.key-store-type",
    "cloud_ping_ttl_interval_minutes",
    "coap.server.address",
    "coap.server.enabled",
    "coap.server.port",
    "core_system_name",
    "default.jitter_with_timeout",
    "default.jitter_without_timeout",
    "default.lost_per_measurement_percent",
    "default.max_response_time",
    "default.mean_response_time_with_timeout",
    "default.mean_response_time_without_timeout",
    "default.min_response_time",
    "enable_qos",
    "enable_qos_relay_task",
    "event_handler_max_express_subscribers",
    "event_handler_max_retry_connect_auth",
    "event_handler_retry_connect_auth_interval_sec",
    "fetch_interval",
    "filter_proxy_addresses",
    "fiware.server.host",
    "fiware.server.port",
    "gateway_is_mandatory",
    "gateway_is_present",
    "hawkbit.host",
    "hawkbit.password",
    "hawkbit.port",
    "hawkbit.tenant",
    "hawkbit.username",
    "http.client.connection.manager.timeout",
    "inactive_gateway_bridge_timeout",
    "interping.available_from_success_percent",
    "interping.logMeasurementsDetailsToDB",
    "interping.logMeasurementsToDB",
    "interping.packet_size",
    "interping.rest",
    "interping.time_to_repeat",
    "interping.timeout",
    "log_all_request_and_response",
    "max_plan_iteration",
    "max_port",
    "min_port",
    "monitor_provider_address",
    "monitor_provider_name",
    "monitor_provider_path",
    "monitor_provider_port",
    "monitor_provider_secure",
    "monitor_provider_type",
    "mscv.list-name",
    "mscv.mip-weight",
    "mscv.os",
    "mscv.scripts-path",
    "mscv.ssh.auth-timeout",
    "mscv.ssh.connect-timeout",
    "mscv.ssh.port",
    "mscv.verification-interval",
    "ntp.server.list",
    "orchestration_rules",
    "ping.available_from_success_percent",
    "ping.logMeasurementsDetailsToDB",
    "ping.logMeasurementsToDB",
    "ping.packet_size",
    "ping.rest",
    "ping.time_to_repeat",
    "ping.timeout",
    "ping_ttl_interval_minutes",
    "plant_description_max_size",
    "plant_descriptions",
    "provider_side_max_request_per_socket",
    "qos_ping_measurement_cache_threshold",
    "qos_reservation_check_interval",
    "relay.test.bad_gateway_retry_min",
    "relay.test.log_measurements_to_db",
    "relay.test.message_size",
    "relay.test.time_to_repeat",
    "relay.test.timeout",
    "relay_echo_ttl_interval_minutes",
    "request_max_retry",
    "request_sleep_period",
    "server.hostname",
    "server.ssl.client-auth",
    "server.ssl.key-store-type",
    "server.ssl.trust-store-type",
    "sharedSecret",
    "spring.datasource.driver-class-name",
    "system.address",
    "system.name",
    "system.port",
    "system.providedServiceDefinition",
    "system.providedServiceInterface",
    "system.providedServiceUri",
    "system.providedServiceVersion",
    "system_poll_interval",
    "time.offset.threshold",
    "time.timezone",
    "timeout",
    "websockets.enabled",
    // Read by some of our systems; Java files carry them for the others too.
    "allow_non_routable_addressing",
    "allow_self_addressing",
    "disable.hostname.verifier",
    "domain.name",
    "domain.port",
    "event_handler_ttl_interval",
    "event_handler_ttl_scheduled",
    "eventhandler_is_present",
    "gatekeeper_is_present",
    "http.client.connection.timeout",
    "http.client.socket.timeout",
    "ping_interval",
    "ping_scheduled",
    "ping_timeout",
    "server.address",
    "server.port",
    "server.ssl.enabled",
    "server.ssl.key-alias",
    "server.ssl.key-password",
    "server.ssl.key-store",
    "server.ssl.key-store-password",
    "server.ssl.trust-store",
    "server.ssl.trust-store-password",
    "spring.datasource.password",
    "spring.datasource.url",
    "spring.datasource.username",
    "sr_address",
    "sr_port",
    "time_stamp_tolerance_seconds",
    "ttl_interval",
    "ttl_scheduled",
    "use_flexible_store",
    "use_network_address_detector",
    "use_strict_service_definition_verifier",
    "use_strict_service_intf_name_verifier",
    // Read by the logging set-up, from its own copy of the file.
    "logging.file.name",
    "logging.file.max-size",
];

/// Spring Boot's own settings (JPA, Quartz, servlet, logging levels, ...): a Java file may hold
/// any of them, and none of them means anything here. `spring.datasource.*` is checked.
const SPRING_PREFIXES: &[&str] = &[
    "spring.jpa.",
    "spring.quartz.",
    "spring.servlet.",
    "spring.main.",
    "spring.application.",
    "spring.datasource.hikari.",
    "logging.",
    "management.",
    "server.tomcat.",
    "server.servlet.",
    "server.error.",
    "springfox.",
    "springdoc.",
];

/// The unknown keys of a system's shipped `application.properties` (in `manifest_dir`), once
/// `finish` has read the system's own settings: the systems' tests want none. The keystores
/// the file names are not generated in a fresh checkout, so any existing file stands in.
pub fn unknown_shipped_keys(
    manifest_dir: &str,
    system: CoreSystem,
    finish: impl FnOnce(CoreSettings) -> Result<Properties, ConfigError>,
) -> Result<Vec<(String, Option<String>)>, String> {
    let path = Path::new(manifest_dir).join("application.properties");
    let stand_in = path.display().to_string();
    let props = Properties::load(Some(&path))
        .map_err(|e| e.to_string())?
        .with_env([
            ("SERVER_SSL_KEY_STORE".to_owned(), stand_in.clone()),
            ("SERVER_SSL_TRUST_STORE".to_owned(), stand_in.clone()),
            ("CLOUD_SSL_KEY_STORE".to_owned(), stand_in),
        ]);
    let core = CoreSettings::from_properties(system, props).map_err(|e| e.to_string())?;
    Ok(finish(core).map_err(|e| e.to_string())?.unknown_keys())
}

/// The number of single-character edits between `a` and `b` (Levenshtein).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

impl Properties {
    /// Reads `path` (if given) and takes overrides from the process environment.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let (text, base_dir) = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| ConfigError::Io(p.display().to_string(), e.to_string()))?;
                let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
                (text, dir)
            }
            None => (String::new(), PathBuf::from(".")),
        };
        let mut props = Self::parse(&text);
        props.base_dir = base_dir;
        props.env = std::env::vars().collect();
        Ok(props)
    }

    /// Parses the `java.util.Properties` text format: `key=value`, `key: value` or `key value`,
    /// `#`/`!` comments, backslash line continuations and escapes.
    pub fn parse(text: &str) -> Self {
        let mut file = HashMap::new();
        let mut logical = String::new();
        for raw in text.lines() {
            let line = raw.trim_start();
            if logical.is_empty()
                && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
            {
                continue;
            }
            // An odd number of trailing backslashes continues the line.
            let trailing = line.chars().rev().take_while(|c| *c == '\\').count();
            if trailing % 2 == 1 {
                logical.push_str(&line[..line.len() - 1]);
                continue;
            }
            logical.push_str(line);
            let (k, v) = split_property(&logical);
            file.insert(unescape(&k), unescape(&v));
            logical.clear();
        }
        if !logical.is_empty() {
            let (k, v) = split_property(&logical);
            file.insert(unescape(&k), unescape(&v));
        }
        Self {
            file,
            env: HashMap::new(),
            base_dir: PathBuf::from("."),
            asked: Default::default(),
        }
    }

    /// Keys of the file that no setting asked for and that are not Java keys without effect
    /// here, each with the closest known key when one is close (a likely typo).
    pub fn unknown_keys(&self) -> Vec<(String, Option<String>)> {
        let asked = self.asked.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let known = || {
            asked
                .iter()
                .map(String::as_str)
                .chain(JAVA_KEYS.iter().copied())
        };
        let mut unknown: Vec<(String, Option<String>)> = self
            .file
            .keys()
            .filter(|k| !asked.contains(*k) && !JAVA_KEYS.contains(&k.as_str()))
            .filter(|k| !SPRING_PREFIXES.iter().any(|p| k.starts_with(p)))
            .map(|k| {
                let closest = known()
                    .map(|c| (edit_distance(k, c), c))
                    .filter(|(d, c)| *d <= (c.len() / 4).max(2))
                    .min()
                    .map(|(_, c)| c.to_owned());
                (k.clone(), closest)
            })
            .collect();
        unknown.sort();
        unknown
    }

    /// Logs a warning for each of [`Self::unknown_keys`]: a misspelt key would otherwise be
    /// silently replaced by its default.
    pub fn warn_unknown_keys(&self) {
        for (key, closest) in self.unknown_keys() {
            match closest {
                Some(c) => {
                    tracing::warn!("unknown setting '{key}' is ignored; did you mean '{c}'?")
                }
                None => tracing::warn!("unknown setting '{key}' is ignored"),
            }
        }
    }

    /// Overrides used instead of the process environment (tests, embedding).
    pub fn with_env<I: IntoIterator<Item = (String, String)>>(mut self, env: I) -> Self {
        self.env = env.into_iter().collect();
        self
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.file.insert(key.to_owned(), value.into());
    }

    /// The trimmed value of `key`; environment beats file; blank counts as absent.
    pub fn get(&self, key: &str) -> Option<String> {
        self.asked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_owned());
        let upper = key.to_ascii_uppercase().replace('.', "_");
        let candidates = [upper.replace('-', ""), upper.replace('-', "_")];
        candidates
            .iter()
            .find_map(|k| self.env.get(k))
            .or_else(|| self.file.get(key))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn string(&self, key: &str, default: &str) -> String {
        self.get(key).unwrap_or_else(|| default.to_owned())
    }

    pub fn parse_or<T: FromStr>(&self, key: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<T>()
                .map_err(|e| ConfigError::invalid(key, &v, e.to_string())),
        }
    }

    /// A duration setting counted in `unit`s. Refused (naming the key) when it is not a whole
    /// number or longer than [`MAX_SETTING_DURATION`], so no arithmetic on it (times, sleeps,
    /// deadlines) can overflow or wrap.
    pub fn duration_or(
        &self,
        key: &str,
        default: u64,
        unit: Duration,
    ) -> Result<Duration, ConfigError> {
        let n: u64 = self.parse_or(key, default)?;
        u32::try_from(n)
            .ok()
            .and_then(|n| unit.checked_mul(n))
            .filter(|d| *d <= MAX_SETTING_DURATION)
            .ok_or_else(|| {
                ConfigError::invalid(
                    key,
                    &n.to_string(),
                    format!(
                        "longer than the largest accepted duration ({} days)",
                        MAX_SETTING_DURATION.as_secs() / 86_400
                    ),
                )
            })
    }

    /// A count setting within `min..=max` (each one starts threads or connections: a huge value
    /// would exhaust the machine rather than fail); outside it, an error naming the key.
    pub fn count_or(
        &self,
        key: &str,
        default: u32,
        min: u32,
        max: u32,
    ) -> Result<u32, ConfigError> {
        let n: u64 = self.parse_or(key, u64::from(default))?;
        u32::try_from(n)
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                ConfigError::invalid(
                    key,
                    &n.to_string(),
                    format!("must be between {min} and {max}"),
                )
            })
    }

    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ConfigError::invalid(key, &v, "expected true or false")),
        }
    }

    /// A file path: `classpath:` and `file:` prefixes are accepted (Java files use them) and
    /// relative paths are resolved against the properties file's directory.
    pub fn path(&self, key: &str) -> Option<PathBuf> {
        let v = self.get(key)?;
        let stripped = v
            .strip_prefix("classpath:")
            .or_else(|| v.strip_prefix("file:"))
            .unwrap_or(&v);
        let p = PathBuf::from(stripped.trim_start_matches("//"));
        Some(if p.is_absolute() {
            p
        } else {
            self.base_dir.join(p)
        })
    }
}

fn split_property(line: &str) -> (String, String) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => {
                return (
                    line[..i].trim_end().to_owned(),
                    line[i + 1..].trim_start().to_owned(),
                )
            }
            c if c.is_whitespace() => {
                let rest = line[i..].trim_start();
                let rest = rest.strip_prefix(['=', ':']).unwrap_or(rest);
                return (line[..i].to_owned(), rest.trim_start().to_owned());
            }
            _ => {}
        }
    }
    (line.to_owned(), String::new())
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => out.push_str(&hex),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Database connection taken from `spring.datasource.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSettings {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub username: String,
    pub password: String,
    /// The server's Unix socket (MariaDB Connector/J's `localSocket` URL parameter): on one
    /// machine it skips the TCP stack, loopback and packet filter on every statement, which on
    /// the registry's write path is a tenth of the database's CPU.
    pub socket: Option<String>,
}

impl DatabaseSettings {
    /// Parses `jdbc:mysql://host:port/db?params` (also `jdbc:mariadb://` and plain `mysql://`).
    pub fn from_jdbc(url: &str, username: &str, password: &str) -> Result<Self, ConfigError> {
        const KEY: &str = "spring.datasource.url";
        let rest = ["jdbc:mysql://", "jdbc:mariadb://", "mysql://"]
            .iter()
            .find_map(|p| url.strip_prefix(p))
            .ok_or_else(|| {
                ConfigError::invalid(KEY, url, "expected jdbc:mysql://host:port/database")
            })?;
        let (rest, params) = rest.split_once('?').unwrap_or((rest, ""));
        let socket = params
            .split('&')
            .find_map(|p| p.strip_prefix("localSocket="))
            .filter(|path| !path.is_empty())
            .map(str::to_owned);
        let (hostport, db) = rest
            .split_once('/')
            .ok_or_else(|| ConfigError::invalid(KEY, url, "database name missing"))?;
        if db.is_empty() || db.contains('/') {
            return Err(ConfigError::invalid(
                KEY,
                url,
                "database name missing or malformed",
            ));
        }
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| ConfigError::invalid(KEY, url, "bad port"))?,
            ),
            None => (hostport, 3306),
        };
        if host.is_empty() {
            return Err(ConfigError::invalid(KEY, url, "host missing"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            database: db.to_owned(),
            username: username.to_owned(),
            password: password.to_owned(),
            socket,
        })
    }

    /// The diesel connection URL, with credentials percent-encoded.
    pub fn diesel_url(&self) -> String {
        let user = percent_encode(&self.username);
        let password = percent_encode(&self.password);
        match &self.socket {
            // diesel connects through the socket when the host is `localhost`.
            Some(socket) => format!(
                "mysql://{user}:{password}@localhost/{}?unix_socket={}",
                self.database,
                percent_encode(socket)
            ),
            None => format!(
                "mysql://{user}:{password}@{}:{}/{}",
                self.host, self.port, self.database
            ),
        }
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where TLS material comes from: PKCS#12 keystore/truststore (the Java way) or PEM files
/// (Spring Boot's `server.ssl.certificate` keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    Pkcs12 {
        path: PathBuf,
        password: String,
        key_password: String,
        alias: Option<String>,
    },
    Pem {
        certificate: PathBuf,
        private_key: PathBuf,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustMaterial {
    Pkcs12 { path: PathBuf, password: String },
    Pem { path: PathBuf },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SslSettings {
    pub key: KeyMaterial,
    pub trust: TrustMaterial,
    /// `server.ssl.client-auth=want` (the Onboarding Controller's): clients without a
    /// certificate get through the handshake (and only to what needs no identity); `need`, the
    /// default, refuses them there.
    pub client_auth_optional: bool,
}

/// What one client may send a server; each limit is answered with Arrowhead error JSON where
/// HTTP allows (an oversized header block gets the HTTP layer's bare 431).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// `max_request_body_bytes`: larger bodies are answered 413.
    pub max_body_bytes: usize,
    /// `request_body_timeout_seconds`: a body not received in this time (a client trickling
    /// it, slowloris-style) is answered 408 and the connection closed.
    pub body_timeout: Duration,
    /// `server.tomcat.max-connections` (Tomcat's key and default): connections served at once;
    /// beyond it new ones wait in the kernel's backlog until one ends.
    pub max_connections: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            body_timeout: Duration::from_secs(30),
            max_connections: 8192,
        }
    }
}

/// The settings every core system shares, with the Java defaults.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    pub system: CoreSystem,
    pub server_address: String,
    pub server_port: u16,
    /// Address and port this system advertises (Java `domain.name`/`domain.port`).
    pub domain_name: String,
    pub domain_port: u16,
    /// `None` is the insecure HTTP mode (`server.ssl.enabled=false`).
    pub ssl: Option<SslSettings>,
    pub database: DatabaseSettings,
    pub sr_address: String,
    pub sr_port: u16,
    pub disable_hostname_verifier: bool,
    pub http_client_connection_timeout_ms: u64,
    pub http_client_socket_timeout_ms: u64,
    pub db_pool_size: u32,
    /// `server.workers`: HTTP worker threads (`None`: one per core).
    pub workers: Option<usize>,
    pub request_limits: RequestLimits,
    pub properties: Properties,
}

impl CoreSettings {
    /// Builds the shared settings for `system` from properties, checking every value.
    pub fn from_properties(system: CoreSystem, props: Properties) -> Result<Self, ConfigError> {
        if let Some(name) = props.get("core_system_name") {
            let configured = CoreSystem::from_property(&name).ok_or_else(|| {
                ConfigError::invalid(
                    "core_system_name",
                    &name,
                    "not a recognized core system name",
                )
            })?;
            if configured != system {
                return Err(ConfigError::invalid(
                    "core_system_name",
                    &name,
                    format!("this binary is the {}", system.property_name()),
                ));
            }
        }
        let server_address = props.string("server.address", "0.0.0.0");
        let server_port = props.parse_or("server.port", system.default_port())?;
        let domain_name = props.get("domain.name").unwrap_or_else(|| {
            if server_address == "0.0.0.0" || server_address == "::" {
                "localhost".to_owned()
            } else {
                server_address.clone()
            }
        });
        let domain_port = match props.parse_or::<i64>("domain.port", 0)? {
            p if p <= 0 => server_port,
            p => u16::try_from(p)
                .map_err(|_| ConfigError::invalid("domain.port", &p.to_string(), "out of range"))?,
        };
        let ssl = if props.bool_or("server.ssl.enabled", true)? {
            Some(ssl_settings(&props)?)
        } else {
            None
        };
        let url = props.string(
            "spring.datasource.url",
            "jdbc:mysql://127.0.0.1:3306/arrowhead",
        );
        let database = DatabaseSettings::from_jdbc(
            &url,
            &props.string("spring.datasource.username", "root"),
            &props.get("spring.datasource.password").unwrap_or_default(),
        )?;
        Ok(Self {
            system,
            server_address,
            server_port,
            domain_name,
            domain_port,
            ssl,
            database,
            sr_address: props.string("sr_address", "localhost"),
            sr_port: props.parse_or("sr_port", 8443)?,
            disable_hostname_verifier: props.bool_or("disable.hostname.verifier", false)?,
            http_client_connection_timeout_ms: millis(props.duration_or(
                "http.client.connection.timeout",
                30_000,
                MILLIS,
            )?),
            http_client_socket_timeout_ms: millis(props.duration_or(
                "http.client.socket.timeout",
                30_000,
                MILLIS,
            )?),
            db_pool_size: props.count_or(
                "spring.datasource.hikari.maximum-pool-size",
                10,
                1,
                1000,
            )?,
            workers: match props.count_or("server.workers", 0, 0, 1024)? {
                0 => None,
                n => Some(n as usize),
            },
            request_limits: RequestLimits {
                max_body_bytes: props.count_or(
                    "max_request_body_bytes",
                    1024 * 1024,
                    1024,
                    1 << 30,
                )? as usize,
                body_timeout: props
                    .duration_or("request_body_timeout_seconds", 30, SECONDS)?
                    .max(Duration::from_secs(1)),
                max_connections: props.count_or(
                    "server.tomcat.max-connections",
                    8192,
                    1,
                    1 << 20,
                )? as usize,
            },
            properties: props,
        })
    }

    /// Reads `--config <file>` (or `application.properties` in the working directory when it
    /// exists) plus environment overrides.
    pub fn load(system: CoreSystem, config: Option<&Path>) -> Result<Self, ConfigError> {
        let default = Path::new("application.properties");
        let path = config.or_else(|| default.exists().then_some(default));
        Self::from_properties(system, Properties::load(path)?)
    }
}

fn ssl_settings(props: &Properties) -> Result<SslSettings, ConfigError> {
    let key = key_material(props, "server.ssl")?;
    let trust = match props.path("server.ssl.trust-certificate") {
        Some(path) => TrustMaterial::Pem { path },
        None => TrustMaterial::Pkcs12 {
            path: props
                .path("server.ssl.trust-store")
                .ok_or_else(|| ConfigError::Missing("server.ssl.trust-store".into()))?,
            password: props
                .get("server.ssl.trust-store-password")
                .unwrap_or_default(),
        },
    };
    let (TrustMaterial::Pkcs12 { path, .. } | TrustMaterial::Pem { path }) = &trust;
    if !path.is_file() {
        return Err(ConfigError::invalid(
            "server.ssl.trust-store",
            &path.display().to_string(),
            "file not found",
        ));
    }
    let client_auth_optional = match props
        .string("server.ssl.client-auth", "need")
        .to_ascii_lowercase()
        .as_str()
    {
        "need" => false,
        "want" => true,
        other => {
            return Err(ConfigError::invalid(
                "server.ssl.client-auth",
                other,
                "must be need or want (mutual TLS cannot be turned off)",
            ))
        }
    };
    Ok(SslSettings {
        key,
        trust,
        client_auth_optional,
    })
}

/// A certificate with its private key under `prefix` (`server.ssl`, or the CA's `cloud.ssl`):
/// PEM files (`<prefix>.certificate`, `<prefix>.certificate-private-key`) or a PKCS#12 keystore
/// (`<prefix>.key-store`, `-password`, `<prefix>.key-password`, `<prefix>.key-alias`).
pub fn key_material(props: &Properties, prefix: &str) -> Result<KeyMaterial, ConfigError> {
    let key = |name: &str| format!("{prefix}.{name}");
    let material = match (
        props.path(&key("certificate")),
        props.path(&key("certificate-private-key")),
    ) {
        (Some(certificate), Some(private_key)) => KeyMaterial::Pem {
            certificate,
            private_key,
        },
        (Some(_), None) => return Err(ConfigError::Missing(key("certificate-private-key"))),
        _ => {
            let path = props
                .path(&key("key-store"))
                .ok_or_else(|| ConfigError::Missing(key("key-store")))?;
            let store_type = props.string(&key("key-store-type"), "PKCS12");
            if !store_type.eq_ignore_ascii_case("PKCS12") {
                return Err(ConfigError::invalid(
                    &key("key-store-type"),
                    &store_type,
                    "only PKCS12 is supported",
                ));
            }
            let password = props.get(&key("key-store-password")).unwrap_or_default();
            KeyMaterial::Pkcs12 {
                path,
                key_password: props
                    .get(&key("key-password"))
                    .unwrap_or_else(|| password.clone()),
                password,
                alias: props.get(&key("key-alias")),
            }
        }
    };
    let path = match &material {
        KeyMaterial::Pkcs12 { path, .. } => path,
        KeyMaterial::Pem { certificate, .. } => certificate,
    };
    if !path.is_file() {
        return Err(ConfigError::invalid(
            &key("key-store"),
            &path.display().to_string(),
            "file not found",
        ));
    }
    Ok(material)
}

/// The test every system has: each key of its shipped `application.properties` is read by some
/// setting (or is a Java key without effect here), so operators only get warnings for their
/// own mistakes. Expands to a `settings_tests` module using the crate's `Settings::from_core`.
#[macro_export]
macro_rules! shipped_properties_test {
    ($system:expr) => {
        #[cfg(test)]
        mod settings_tests {
            #[test]
            fn the_shipped_properties_are_all_known() {
                let unknown = $crate::config::unknown_shipped_keys(
                    env!("CARGO_MANIFEST_DIR"),
                    $system,
                    |core| super::Settings::from_core(core).map(|s| s.core.properties),
                );
                assert_eq!(unknown, Ok(Vec::new()));
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_java_properties_format() {
        let p = Properties::parse(
            "# comment\n! other\nserver.port=8443  \nserver.address : 127.0.0.1\nname value with  spaces\n\
             multi=a\\\n   b\nesc\\=key=v\\u0041\n  core_system_name = SERVICEREGISTRY \n",
        );
        assert_eq!(p.get("server.port").as_deref(), Some("8443"));
        assert_eq!(p.get("server.address").as_deref(), Some("127.0.0.1"));
        assert_eq!(p.get("name").as_deref(), Some("value with  spaces"));
        assert_eq!(p.get("multi").as_deref(), Some("ab"));
        assert_eq!(p.get("esc=key").as_deref(), Some("vA"));
        assert_eq!(
            p.get("core_system_name").as_deref(),
            Some("SERVICEREGISTRY")
        );
    }

    #[test]
    fn environment_overrides_in_relaxed_form() {
        let p =
            Properties::parse("server.port=1\nserver.ssl.key-store=a\nserver.ssl.trust-store=x\n")
                .with_env([
                    ("SERVER_PORT".to_owned(), "2".to_owned()),
                    ("SERVER_SSL_KEYSTORE".to_owned(), "b".to_owned()),
                    ("SERVER_SSL_TRUST_STORE".to_owned(), "y".to_owned()),
                ]);
        assert_eq!(p.get("server.port").as_deref(), Some("2"));
        assert_eq!(p.get("server.ssl.key-store").as_deref(), Some("b"));
        assert_eq!(p.get("server.ssl.trust-store").as_deref(), Some("y"));
    }

    #[test]
    fn defaults_are_the_java_defaults() {
        let props = Properties::parse("server.ssl.enabled=false\n");
        let s = CoreSettings::from_properties(CoreSystem::ServiceRegistry, props).unwrap();
        assert_eq!(s.server_port, 8443);
        assert_eq!(s.server_address, "0.0.0.0");
        assert_eq!(s.domain_name, "localhost");
        assert_eq!(s.domain_port, 8443);
        assert_eq!(s.database.port, 3306);
        assert_eq!(s.database.database, "arrowhead");
        assert!(s.ssl.is_none());
        let s = CoreSettings::from_properties(
            CoreSystem::Orchestrator,
            Properties::parse("server.ssl.enabled=false"),
        )
        .unwrap();
        assert_eq!(s.server_port, 8441);
    }

    #[test]
    fn malformed_values_name_the_key() {
        let cases = [
            ("server.ssl.enabled=false\nserver.port=80x", "server.port"),
            ("server.ssl.enabled=maybe", "server.ssl.enabled"),
            (
                "server.ssl.enabled=false\ncore_system_name=NOPE",
                "core_system_name",
            ),
            (
                "server.ssl.enabled=false\ncore_system_name=ORCHESTRATOR",
                "core_system_name",
            ),
            (
                "server.ssl.enabled=false\nspring.datasource.url=postgres://x/y",
                "spring.datasource.url",
            ),
            (
                "server.ssl.key-store=/nonexistent.p12\nserver.ssl.trust-store=/x.p12",
                "server.ssl.key-store",
            ),
            ("server.ssl.enabled=true", "server.ssl.key-store"),
        ];
        for (text, key) in cases {
            let err =
                CoreSettings::from_properties(CoreSystem::ServiceRegistry, Properties::parse(text))
                    .unwrap_err();
            assert!(err.to_string().contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn trailing_whitespace_in_core_system_name_is_accepted() {
        let s = CoreSettings::from_properties(
            CoreSystem::ServiceRegistry,
            Properties::parse("server.ssl.enabled=false\ncore_system_name=SERVICEREGISTRY   \n"),
        );
        assert!(s.is_ok());
    }

    #[test]
    fn jdbc_urls() {
        let d = DatabaseSettings::from_jdbc(
            "jdbc:mysql://db.local:3307/ah?serverTimezone=Europe/Budapest",
            "u",
            "p@ss",
        )
        .unwrap();
        assert_eq!(
            (d.host.as_str(), d.port, d.database.as_str()),
            ("db.local", 3307, "ah")
        );
        assert_eq!(d.diesel_url(), "mysql://u:p%40ss@db.local:3307/ah");
        let local = DatabaseSettings::from_jdbc(
            "jdbc:mariadb://localhost:3306/ah?useSSL=false&localSocket=/run/my sql/d.sock",
            "u",
            "p",
        )
        .unwrap();
        assert_eq!(local.socket.as_deref(), Some("/run/my sql/d.sock"));
        assert_eq!(
            local.diesel_url(),
            "mysql://u:p@localhost/ah?unix_socket=%2Frun%2Fmy%20sql%2Fd.sock"
        );
        assert!(DatabaseSettings::from_jdbc("jdbc:mysql://host:3306/", "u", "p").is_err());
        assert!(DatabaseSettings::from_jdbc("jdbc:mysql://host:99999/x", "u", "p").is_err());
    }

    #[test]
    fn overflowing_durations_are_refused_naming_the_key() {
        let p = Properties::parse(
            "a=18446744073709551615\nb=307445734561825861\nc=5\nd=-1\ne=5256000\n",
        )
        .with_env(std::iter::empty());
        for key in ["a", "b", "d"] {
            let e = p.duration_or(key, 1, MINUTES).unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
        }
        assert_eq!(
            p.duration_or("c", 1, MINUTES).unwrap(),
            Duration::from_secs(300)
        );
        assert_eq!(
            p.duration_or("e", 1, MINUTES).unwrap(),
            MAX_SETTING_DURATION
        );
        assert!(p.duration_or("e", 1, SECONDS).is_ok());
        assert_eq!(
            p.duration_or("missing", 7, MILLIS).unwrap(),
            Duration::from_millis(7)
        );
        let e = p.count_or("a", 10, 1, 1000).unwrap_err().to_string();
        assert!(e.contains("a") && e.contains("between 1 and 1000"), "{e}");
        assert_eq!(p.count_or("c", 10, 1, 1000).unwrap(), 5);
        assert_eq!(p.count_or("missing", 10, 1, 1000).unwrap(), 10);
    }

    #[test]
    fn unknown_keys_are_named_with_the_closest_known_key() {
        let p = Properties::parse(
            "server.port=1\nserver.prot=2\nspring.datasource.ulr=x\nspring.jpa.show-sql=false\n\
             server.ssl.key-store-type=PKCS12\nfoo.bar=1\nping_timout=5\n",
        )
        .with_env(Vec::new());
        p.get("server.port");
        p.get("spring.datasource.url");
        p.get("ping_timeout");
        assert_eq!(
            p.unknown_keys(),
            vec![
                ("foo.bar".to_owned(), None),
                ("ping_timout".to_owned(), Some("ping_timeout".to_owned())),
                ("server.prot".to_owned(), Some("server.port".to_owned())),
                (
                    "spring.datasource.ulr".to_owned(),
                    Some("spring.datasource.url".to_owned())
                ),
            ]
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
