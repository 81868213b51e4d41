//! The core services of the Java `CoreSystemService` enum: definition, URI and owning system.
//! The Service Registry uses it to reserve these definitions and to let application systems
//! look up only the public ones; the other systems register their own entries from it.

use crate::identity::CoreSystem;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreService {
    pub definition: &'static str,
    pub uri: &'static str,
    pub system: Option<CoreSystem>,
}

const fn s(definition: &'static str, uri: &'static str, system: CoreSystem) -> CoreService {
    CoreService {
        definition,
        uri,
        system: Some(system),
    }
}

use CoreSystem::*;

pub const CORE_SERVICES: &[CoreService] = &[
    s(
        "service-register",
        "/serviceregistry/register",
        ServiceRegistry,
    ),
    s(
        "service-unregister",
        "/serviceregistry/unregister",
        ServiceRegistry,
    ),
    s(
        "register-system",
        "/serviceregistry/register-system",
        ServiceRegistry,
    ),
    s(
        "unregister-system",
        "/serviceregistry/unregister-system",
        ServiceRegistry,
    ),
    s(
        "pull-systems",
        "/serviceregistry/pull-systems",
        ServiceRegistry,
    ),
    s(
        "authorization-control-intra",
        "/authorization/intracloud/check",
        Authorization,
    ),
    s(
        "authorization-control-inter",
        "/authorization/intercloud/check",
        Authorization,
    ),
    s("token-generation", "/authorization/token", Authorization),
    s(
        "token-generation-multi-service",
        "/authorization/token/multi",
        Authorization,
    ),
    s("auth-public-key", "/authorization/publickey", Authorization),
    s(
        "authorization-control-subscription",
        "/authorization/subscription/check",
        Authorization,
    ),
    s(
        "orchestration-service",
        "/orchestrator/orchestration",
        Orchestrator,
    ),
    s(
        "orchestration-service-by-proxy",
        "/orchestrator/orchestration-by-proxy",
        Orchestrator,
    ),
    s(
        "orchestration-create-flexible-store-rules",
        "/orchestrator/store/flexible",
        Orchestrator,
    ),
    s(
        "orchestration-remove-flexible-store-rule",
        "/orchestrator/store/flexible/{id}",
        Orchestrator,
    ),
    s(
        "orchestration-clean-flexible-store",
        "/orchestrator/store/flexible/all",
        Orchestrator,
    ),
    s(
        "orchestration-qos-enabled",
        "/orchestrator/qos_enabled",
        Orchestrator,
    ),
    s(
        "orchestration-qos-reservations",
        "/orchestrator/qos_reservations",
        Orchestrator,
    ),
    s(
        "orchestration-qos-temporary-lock",
        "/orchestrator/qos_temporary_lock",
        Orchestrator,
    ),
    s(
        "orchestration-qos-confirm-reservation",
        "/orchestrator/qos_reservations",
        Orchestrator,
    ),
    s(
        "global-service-discovery",
        "/gatekeeper/init_gsd",
        Gatekeeper,
    ),
    s(
        "multi-global-service-discovery",
        "/gatekeeper/init_multi_gsd",
        Gatekeeper,
    ),
    s(
        "inter-cloud-negotiations",
        "/gatekeeper/init_icn",
        Gatekeeper,
    ),
    s("pull-clouds", "/gatekeeper/pull_clouds", Gatekeeper),
    s(
        "collect-system-addresses",
        "/gatekeeper/collect_system_addresses",
        Gatekeeper,
    ),
    s(
        "collect-access-types",
        "/gatekeeper/collect_access_types",
        Gatekeeper,
    ),
    s(
        "gatekeeper-relay-test",
        "/gatekeeper/init_relay_test",
        Gatekeeper,
    ),
    s(
        "gatekeeper-get-cloud",
        "/gatekeeper/cloud/{operator}/{name}",
        Gatekeeper,
    ),
    s("gw-public-key", "/gateway/publickey", Gateway),
    s("gw-connect-provider", "/gateway/connect_provider", Gateway),
    s("gw-connect-consumer", "/gateway/connect_consumer", Gateway),
    s("gw-close-sessions", "/gateway/close_sessions", Gateway),
    s("event-publish", "/eventhandler/publish", EventHandler),
    s("event-subscribe", "/eventhandler/subscribe", EventHandler),
    s(
        "event-unsubscribe",
        "/eventhandler/unsubscribe",
        EventHandler,
    ),
    s(
        "event-publish-auth-update",
        "/eventhandler/publish/authupdate",
        EventHandler,
    ),
    s(
        "ca-sign",
        "/certificate-authority/sign",
        CertificateAuthority,
    ),
    s(
        "ca-list-certificates",
        "/certificate-authority/mgmt/certificates",
        CertificateAuthority,
    ),
    s(
        "ca-check-certificate",
        "/certificate-authority/checkCertificate",
        CertificateAuthority,
    ),
    s(
        "ca-revoke-certificate",
        "/certificate-authority/mgmt/certificates/{id}",
        CertificateAuthority,
    ),
    s(
        "ca-list-trusted-keys",
        "/certificate-authority/mgmt/keys",
        CertificateAuthority,
    ),
    s(
        "ca-check-trusted-key",
        "/certificate-authority/checkTrustedKey",
        CertificateAuthority,
    ),
    s(
        "ca-add-trusted-key",
        "/certificate-authority/mgmt/keys",
        CertificateAuthority,
    ),
    s(
        "ca-delete-trusted-key",
        "/certificate-authority/mgmt/keys/{id}",
        CertificateAuthority,
    ),
    s(
        "onboarding-with-certificate-and-name",
        "/onboarding/certificate/name",
        OnboardingController,
    ),
    s(
        "onboarding-with-certificate-and-csr",
        "/onboarding/certificate/csr",
        OnboardingController,
    ),
    s(
        "onboarding-with-shared-secret-and-name",
        "/onboarding/sharedsecret/name",
        OnboardingController,
    ),
    s(
        "onboarding-with-shared-secret-and-csr",
        "/onboarding/sharedsecret/csr",
        OnboardingController,
    ),
    s(
        "device-register",
        "/deviceregistry/register",
        DeviceRegistry,
    ),
    s(
        "device-unregister",
        "/deviceregistry/unregister",
        DeviceRegistry,
    ),
    s(
        "device-onboarding-with-name",
        "/deviceregistry/onboarding/name",
        DeviceRegistry,
    ),
    s(
        "device-onboarding-with-csr",
        "/deviceregistry/onboarding/csr",
        DeviceRegistry,
    ),
    s(
        "system-register",
        "/systemregistry/register",
        SystemRegistry,
    ),
    s(
        "system-unregister",
        "/systemregistry/unregister",
        SystemRegistry,
    ),
    s(
        "system-onboarding-with-name",
        "/systemregistry/onboarding/name",
        SystemRegistry,
    ),
    s(
        "system-onboarding-with-csr",
        "/systemregistry/onboarding/csr",
        SystemRegistry,
    ),
    s("proxy", "/datamanager/proxy", DataManager),
    s("historian", "/datamanager/historian", DataManager),
    s("time", "/timemanager/time", TimeManager),
    s("conf", "/configuration/config", Configuration),
    s("confraw", "/configuration/config/raw", Configuration),
    s(
        "choreographer-service",
        "/choreographer/executor/notify-step-done",
        Choreographer,
    ),
    s(
        "executor-register",
        "/choreographer/executor/register",
        Choreographer,
    ),
    s(
        "executor-unregister",
        "/choreographer/executor/unregister",
        Choreographer,
    ),
    s("translation-service", "/translator", Translator),
];

/// Definitions application systems may look up directly in the Service Registry.
pub const PUBLIC_CORE_SERVICES: &[&str] = &[
    "orchestration-service",
    "auth-public-key",
    "event-publish",
    "event-subscribe",
    "event-unsubscribe",
    "proxy",
    "historian",
    "choreographer-service",
    "executor-register",
    "executor-unregister",
    "translation-service",
    "conf",
    "confraw",
    "time",
];

/// The core service with exactly this definition (after trimming and lowercasing).
pub fn find(definition: &str) -> Option<&'static CoreService> {
    let d = definition.trim().to_lowercase();
    CORE_SERVICES.iter().find(|s| s.definition == d)
}

/// The form two definitions share when a reader would take one for the other: lowercased,
/// accents and other combining marks dropped (after compatibility decomposition, so `ﬁ` is `fi`),
/// `_` and spaces read as `-`.
pub fn skeleton(definition: &str) -> String {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    definition
        .trim()
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c == '_' || c.is_whitespace() {
                '-'
            } else {
                c
            }
        })
        .collect()
}

/// The core service a definition is or imitates (same [`skeleton`]), if any: only its owner may
/// register it, and only under its exact name.
pub fn imitated(definition: &str) -> Option<&'static CoreService> {
    let s = skeleton(definition);
    CORE_SERVICES.iter().find(|c| c.definition == s)
}

pub fn is_public(definition: &str) -> bool {
    let d = definition.trim().to_lowercase();
    PUBLIC_CORE_SERVICES.contains(&d.as_str())
}

/// The services a core system provides (and registers at startup).
pub fn of(system: CoreSystem) -> impl Iterator<Item = &'static CoreService> {
    CORE_SERVICES
        .iter()
        .filter(move |s| s.system == Some(system))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_of_core_definitions() {
        let cases = [
            ("authorization-control-intra", Some(Authorization)),
            ("Authorization-Control-Intra", Some(Authorization)),
            ("authorizatión-control-intra", Some(Authorization)),
            ("authorization_control_intra", Some(Authorization)),
            (" AUTHORIZATİON-control-intra ", Some(Authorization)),
            ("authorisation-control-intra", None),
            ("service-register", Some(ServiceRegistry)),
            ("servíce_régister", Some(ServiceRegistry)),
            ("temperature", None),
        ];
        for (def, owner) in cases {
            assert_eq!(imitated(def).and_then(|s| s.system), owner, "{def}");
        }
    }
}
