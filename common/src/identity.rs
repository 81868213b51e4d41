//! Who is calling. Arrowhead identities are certificate common names:
//! `<system>.<cloud>.<operator>.arrowhead.eu`. This module parses them, knows the core systems
//! (under both their Java 4.4+ names and the underscore forms older tooling put in certificates),
//! and turns a verified peer certificate into a [`Caller`]. The allow/deny decisions built on it
//! are pure functions, so they can be tested as tables.

use crate::error::ArrowheadError;

/// The Java `CoreSystem` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoreSystem {
    ServiceRegistry,
    SystemRegistry,
    DeviceRegistry,
    OnboardingController,
    Authorization,
    Orchestrator,
    Gatekeeper,
    Gateway,
    EventHandler,
    Choreographer,
    CertificateAuthority,
    QosMonitor,
    DataManager,
    TimeManager,
    Translator,
    Configuration,
    PlantDescriptionEngine,
    HawkbitConfigurationManager,
    Mscv,
    Gams,
}

impl CoreSystem {
    pub const ALL: [CoreSystem; 20] = [
        CoreSystem::ServiceRegistry,
        CoreSystem::SystemRegistry,
        CoreSystem::DeviceRegistry,
        CoreSystem::OnboardingController,
        CoreSystem::Authorization,
        CoreSystem::Orchestrator,
        CoreSystem::Gatekeeper,
        CoreSystem::Gateway,
        CoreSystem::EventHandler,
        CoreSystem::Choreographer,
        CoreSystem::CertificateAuthority,
        CoreSystem::QosMonitor,
        CoreSystem::DataManager,
        CoreSystem::TimeManager,
        CoreSystem::Translator,
        CoreSystem::Configuration,
        CoreSystem::PlantDescriptionEngine,
        CoreSystem::HawkbitConfigurationManager,
        CoreSystem::Mscv,
        CoreSystem::Gams,
    ];

    /// The system name used in certificates and the registry (enum name lowercased).
    pub fn name(self) -> &'static str {
        match self {
            CoreSystem::ServiceRegistry => "serviceregistry",
            CoreSystem::SystemRegistry => "systemregistry",
            CoreSystem::DeviceRegistry => "deviceregistry",
            CoreSystem::OnboardingController => "onboardingcontroller",
            CoreSystem::Authorization => "authorization",
            CoreSystem::Orchestrator => "orchestrator",
            CoreSystem::Gatekeeper => "gatekeeper",
            CoreSystem::Gateway => "gateway",
            CoreSystem::EventHandler => "eventhandler",
            CoreSystem::Choreographer => "choreographer",
            CoreSystem::CertificateAuthority => "certificateauthority",
            CoreSystem::QosMonitor => "qosmonitor",
            CoreSystem::DataManager => "datamanager",
            CoreSystem::TimeManager => "timemanager",
            CoreSystem::Translator => "translator",
            CoreSystem::Configuration => "configuration",
            CoreSystem::PlantDescriptionEngine => "plantdescriptionengine",
            CoreSystem::HawkbitConfigurationManager => "hawkbitconfigurationmanager",
            CoreSystem::Mscv => "mscv",
            CoreSystem::Gams => "gams",
        }
    }

    /// The pre-4.4 underscore name that certificates from older Arrowhead tooling carry.
    pub fn legacy_name(self) -> Option<&'static str> {
        Some(match self {
            CoreSystem::ServiceRegistry => "service_registry",
            CoreSystem::SystemRegistry => "system_registry",
            CoreSystem::DeviceRegistry => "device_registry",
            CoreSystem::OnboardingController => "onboarding_controller",
            CoreSystem::EventHandler => "event_handler",
            CoreSystem::CertificateAuthority => "certificate_authority",
            CoreSystem::QosMonitor => "qos_monitor",
            CoreSystem::DataManager => "data_manager",
            CoreSystem::TimeManager => "time_manager",
            CoreSystem::PlantDescriptionEngine => "plant_description_engine",
            CoreSystem::HawkbitConfigurationManager => "hawkbit_configuration_manager",
            _ => return None,
        })
    }

    /// The `core_system_name` property value (enum name, upper case).
    pub fn property_name(self) -> String {
        self.name().to_ascii_uppercase()
    }

    /// Parses `core_system_name` as Java does (`valueOf(trim().toUpperCase())`).
    pub fn from_property(value: &str) -> Option<Self> {
        let v = value.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|s| s.name() == v)
    }

    /// Recognizes a system name from a certificate, in either naming generation.
    pub fn from_system_name(name: &str) -> Option<Self> {
        let n = name.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|s| s.name() == n || s.legacy_name() == Some(n.as_str()))
    }

    pub fn default_port(self) -> u16 {
        match self {
            CoreSystem::ServiceRegistry => 8443,
            CoreSystem::Orchestrator => 8441,
            CoreSystem::Authorization => 8445,
            CoreSystem::CertificateAuthority => 8448,
            CoreSystem::Gatekeeper => 8449,
            CoreSystem::QosMonitor => 8451,
            CoreSystem::Gateway => 8453,
            CoreSystem::EventHandler => 8455,
            CoreSystem::Choreographer => 8457,
            CoreSystem::Configuration => 8459,
            CoreSystem::DataManager => 8461,
            CoreSystem::Translator => 8462,
            CoreSystem::TimeManager => 8463,
            CoreSystem::OnboardingController => 8435,
            CoreSystem::SystemRegistry => 8437,
            CoreSystem::DeviceRegistry => 8439,
            CoreSystem::PlantDescriptionEngine => 8432,
            CoreSystem::HawkbitConfigurationManager => 8447,
            CoreSystem::Mscv => 8501,
            CoreSystem::Gams => 8502,
        }
    }
}

/// A parsed Arrowhead system certificate name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemIdentity {
    pub system: String,
    pub cloud: String,
    pub operator: String,
}

impl SystemIdentity {
    /// Accepts exactly `<system>.<cloud>.<operator>.arrowhead.eu` (the Java 5-part check).
    pub fn from_cn(cn: &str) -> Option<Self> {
        let parts: Vec<&str> = cn.split('.').collect();
        match parts.as_slice() {
            [system, cloud, operator, "arrowhead", "eu"]
                if !system.is_empty() && !cloud.is_empty() && !operator.is_empty() =>
            {
                Some(Self {
                    system: (*system).to_owned(),
                    cloud: (*cloud).to_owned(),
                    operator: (*operator).to_owned(),
                })
            }
            _ => None,
        }
    }

    pub fn cn(&self) -> String {
        format!("{}.{}", self.system, self.cloud_cn())
    }

    /// `<cloud>.<operator>.arrowhead.eu`
    pub fn cloud_cn(&self) -> String {
        format!("{}.{}.arrowhead.eu", self.cloud, self.operator)
    }

    pub fn same_cloud(&self, cloud_cn: &str) -> bool {
        self.cloud_cn().eq_ignore_ascii_case(cloud_cn)
    }

    pub fn is_sysop(&self) -> bool {
        self.system.eq_ignore_ascii_case("sysop")
    }

    pub fn core_system(&self) -> Option<CoreSystem> {
        CoreSystem::from_system_name(&self.system)
    }

    /// Whether this identity is the given system name (case-insensitive, as the Java checks).
    pub fn is_named(&self, name: &str) -> bool {
        self.system.eq_ignore_ascii_case(name.trim())
    }
}

/// Whether two system names name the same system: the one rule every name comparison uses
/// (certificates, registry entries, requests, tokens). Core systems match under either
/// spelling (`serviceregistry` / `service_registry`); other names compare ignoring ASCII case,
/// as Arrowhead stores system names lowercased.
pub fn same_system(actual: &str, expected: &str) -> bool {
    match (
        CoreSystem::from_system_name(actual),
        CoreSystem::from_system_name(expected),
    ) {
        (Some(a), Some(e)) => a == e,
        (None, None) => actual.trim().eq_ignore_ascii_case(expected.trim()),
        _ => false,
    }
}

/// The caller of a request, established once per connection by the TLS layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The server runs with `server.ssl.enabled=false`: there is no identity and, as in Java, no
    /// access control.
    Insecure,
    Sysop(SystemIdentity),
    Core(CoreSystem, SystemIdentity),
    Application(SystemIdentity),
}

impl Caller {
    pub fn classify(id: SystemIdentity) -> Self {
        if id.is_sysop() {
            Caller::Sysop(id)
        } else if let Some(core) = id.core_system() {
            Caller::Core(core, id)
        } else {
            Caller::Application(id)
        }
    }

    pub fn identity(&self) -> Option<&SystemIdentity> {
        match self {
            Caller::Insecure => None,
            Caller::Sysop(id) | Caller::Core(_, id) | Caller::Application(id) => Some(id),
        }
    }

    pub fn is_core(&self, allowed: &[CoreSystem]) -> bool {
        matches!(self, Caller::Core(c, _) if allowed.contains(c))
    }

    /// The caller's own system name (first CN label), if it has one.
    pub fn system_name(&self) -> Option<&str> {
        self.identity().map(|id| id.system.as_str())
    }
}

/// The base check of every secured request: the verified peer (see [`crate::peer`]) is a system
/// of the server's own cloud. `peer` is the identity the TLS layer established, or the name to
/// show in the refusal. Denials use the Java message and carry the full request URL as origin.
pub fn authenticate(
    peer: Result<&SystemIdentity, &str>,
    own_cloud_cn: &str,
    url: &str,
) -> Result<Caller, ArrowheadError> {
    match peer {
        Ok(id) if id.same_cloud(own_cloud_cn) => Ok(Caller::classify(id.clone())),
        other => {
            let shown = match other {
                Ok(id) => id.cn(),
                Err(shown) => shown.to_owned(),
            };
            Err(
                ArrowheadError::auth(format!("{shown} is unauthorized to access {url}"))
                    .with_origin(url),
            )
        }
    }
}

/// Only the cloud's operator.
pub fn require_sysop(caller: &Caller, url: &str) -> Result<(), ArrowheadError> {
    match caller {
        Caller::Insecure | Caller::Sysop(_) => Ok(()),
        other => Err(unauthorized(other, url)),
    }
}

/// Only the named core systems.
pub fn require_core(
    caller: &Caller,
    allowed: &[CoreSystem],
    url: &str,
) -> Result<(), ArrowheadError> {
    match caller {
        Caller::Insecure => Ok(()),
        c if c.is_core(allowed) => Ok(()),
        other => Err(unauthorized(other, url)),
    }
}

/// A request made on a system's own behalf (orchestration for itself, subscribing, publishing):
/// the named system must be the caller's certificate name (Java
/// `checkIfRequesterSystemNameisEqualsWithClientNameFromCN`). Without a name the controller
/// answers the missing field with 400; insecure mode has no identity to compare.
pub fn require_named(
    caller: &Caller,
    requester: Option<&str>,
    url: &str,
) -> Result<(), ArrowheadError> {
    let (Some(own), Some(requester)) = (caller.system_name(), requester.map(str::trim)) else {
        return Ok(());
    };
    if requester.is_empty() || same_system(requester, own) {
        return Ok(());
    }
    Err(ArrowheadError::auth(format!(
        "Requester system name({requester}) and client name from certificate ({own}) do not match!"
    ))
    .with_origin(url))
}

pub fn unauthorized(caller: &Caller, url: &str) -> ArrowheadError {
    let cn = caller
        .identity()
        .map(SystemIdentity::cn)
        .unwrap_or_default();
    ArrowheadError::auth(format!("{cn} is unauthorized to access {url}")).with_origin(url)
}

/// The sysop and every core system may only be issued at the sysop's request, under any
/// spelling: letter case, `_`, `-` (`Orchestrator`, `SERVICE_REGISTRY`, `service-registry`,
/// `Sys-Op` are all protected; Java compares case-sensitively).
pub fn is_protected(system_label: &str) -> bool {
    let skeleton = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let label = skeleton(system_label);
    label == "sysop" || CoreSystem::ALL.iter().any(|c| skeleton(c.name()) == label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cn_parsing_table() {
        type Parsed<'a> = Option<(&'a str, &'a str, &'a str)>;
        let cases: &[(&str, Parsed)] = &[
            (
                "serviceregistry.testcloud2.aitia.arrowhead.eu",
                Some(("serviceregistry", "testcloud2", "aitia")),
            ),
            ("sysop.c.o.arrowhead.eu", Some(("sysop", "c", "o"))),
            ("testcloud2.aitia.arrowhead.eu", None),
            ("arrowhead.eu", None),
            ("a.b.c.d.arrowhead.eu", None),
            ("a.b.c.arrowhead.com", None),
            ("a.b.c.Arrowhead.eu", None),
            ("..c.arrowhead.eu", None),
            ("", None),
        ];
        for (cn, expected) in cases {
            let got = SystemIdentity::from_cn(cn);
            let got = got
                .as_ref()
                .map(|i| (i.system.as_str(), i.cloud.as_str(), i.operator.as_str()));
            assert_eq!(got, *expected, "{cn}");
        }
    }

    #[test]
    fn core_system_names_both_generations() {
        let cases = [
            ("serviceregistry", Some(CoreSystem::ServiceRegistry)),
            ("service_registry", Some(CoreSystem::ServiceRegistry)),
            ("EventHandler", Some(CoreSystem::EventHandler)),
            ("event_handler", Some(CoreSystem::EventHandler)),
            (
                "certificate_authority",
                Some(CoreSystem::CertificateAuthority),
            ),
            (
                "onboarding_controller",
                Some(CoreSystem::OnboardingController),
            ),
            (
                "onboardingcontroller",
                Some(CoreSystem::OnboardingController),
            ),
            ("orchestrator", Some(CoreSystem::Orchestrator)),
            ("sysop", None),
            ("my-provider", None),
        ];
        for (name, expected) in cases {
            assert_eq!(CoreSystem::from_system_name(name), expected, "{name}");
        }
        assert_eq!(
            CoreSystem::from_property(" SERVICEREGISTRY "),
            Some(CoreSystem::ServiceRegistry)
        );
        assert_eq!(CoreSystem::from_property("SERVICE_REGISTRY"), None);
    }

    #[test]
    fn authentication_table() {
        let own = "testcloud2.aitia.arrowhead.eu";
        let url = "https://localhost:8443/serviceregistry/echo";
        type Case<'a> = (Result<&'a str, &'a str>, Result<&'a str, &'a str>);
        let cases: &[Case] = &[
            (Ok("sysop.testcloud2.aitia.arrowhead.eu"), Ok("sysop")),
            (Ok("orchestrator.testcloud2.aitia.arrowhead.eu"), Ok("core")),
            (
                Ok("event_handler.testcloud2.aitia.arrowhead.eu"),
                Ok("core"),
            ),
            (Ok("client.TestCloud2.aitia.arrowhead.eu"), Ok("app")),
            (
                Ok("client.testcloud1.aitia.arrowhead.eu"),
                Err("client.testcloud1.aitia.arrowhead.eu is unauthorized"),
            ),
            (
                Err("testcloud2.aitia.arrowhead.eu"),
                Err("testcloud2.aitia.arrowhead.eu is unauthorized"),
            ),
            (
                Err("<no certificate>"),
                Err("<no certificate> is unauthorized"),
            ),
        ];
        for (peer, expected) in cases {
            let id = peer.map(|cn| SystemIdentity::from_cn(cn).unwrap());
            let got = authenticate(id.as_ref().map_err(|e| *e), own, url);
            match (got, expected) {
                (Ok(Caller::Sysop(_)), Ok("sysop"))
                | (Ok(Caller::Core(..)), Ok("core"))
                | (Ok(Caller::Application(_)), Ok("app")) => {}
                (Err(e), Err(prefix)) => {
                    assert!(e.message.starts_with(prefix), "{peer:?}: {}", e.message);
                    assert_eq!(e.status().as_u16(), 401);
                    assert_eq!(e.origin.as_deref(), Some(url));
                }
                (got, _) => panic!("{peer:?}: unexpected {got:?}"),
            }
        }
    }

    #[test]
    fn sysop_and_core_requirements() {
        let id = |n: &str| SystemIdentity::from_cn(&format!("{n}.c.o.arrowhead.eu")).unwrap();
        let sysop = Caller::classify(id("sysop"));
        let orch = Caller::classify(id("orchestrator"));
        let app = Caller::classify(id("app"));
        assert!(require_sysop(&sysop, "u").is_ok());
        assert!(require_sysop(&Caller::Insecure, "u").is_ok());
        assert!(require_sysop(&orch, "u").is_err());
        assert!(require_sysop(&app, "u").is_err());
        assert!(require_core(&orch, &[CoreSystem::Orchestrator], "u").is_ok());
        assert!(require_core(&orch, &[CoreSystem::Gatekeeper], "u").is_err());
        assert!(require_core(&sysop, &[CoreSystem::Orchestrator], "u").is_err());
        assert!(require_core(&app, &[CoreSystem::Orchestrator], "u").is_err());
    }

    #[test]
    fn expected_system_names() {
        assert!(same_system("service_registry", "serviceregistry"));
        assert!(same_system("serviceregistry", "service_registry"));
        assert!(same_system("EventHandler", "event_handler"));
        assert!(same_system("Subscriber", "subscriber"));
        assert!(!same_system("orchestrator", "authorization"));
        assert!(!same_system("service-registry", "serviceregistry"));
        assert!(!same_system("servicerégistry", "serviceregistry"));
        assert!(!same_system("authorization", "authorisation"));
    }
}
