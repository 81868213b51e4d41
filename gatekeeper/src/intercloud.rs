//! Global service discovery (GSD) and inter-cloud negotiation (ICN), both sides, as Java's
//! `GatekeeperService` does them (reference §1.6): the requesting cloud's Gatekeeper asks other
//! clouds' Gatekeepers over their relays; the provider cloud's Gatekeeper answers from its
//! Service Registry, its Authorization system (inter-cloud rules) and its Orchestrator.
//!
//! Differences from Java, wire format kept: the provider side takes the requesting cloud from the
//! authenticated advertisement, not from what the payload says; a cloud that fails (unreachable
//! relay, silent peer, missing key) only counts as an unsuccessful request of a GSD.

use crate::hub::{self, Answer, Hub, Peer, RelayAddress, Responder};
use crate::store::{self, CloudWithRelays, RelayRow};
use common::db::models::Cloud;
use common::db::{self, DbPool};
use common::dto::gatekeeper::{
    message_type as mt, AccessTypeRelayResponse, CloudAccessResponse, ConnectionInfo,
    GsdMultiPollRequest, GsdMultiPollResponse, GsdMultiQueryResult, GsdPollRequest,
    GsdPollResponse, GsdQueryResult, IcnProposalRequest, IcnProposalResponse, IcnResult,
    RelayRequest, RelayResponse, SystemAddressSet,
};
use common::dto::gateway::{ConsumerConnectionRequest, ProviderConnectionRequest};
use common::dto::orchestrator::{OrchestrationForm, OrchestrationResponse, PreferredProvider};
use common::dto::{
    CloudRequest, CloudResponse, IdIdList, InterCloudCheckRequest, InterCloudCheckResponse,
    ServiceQueryForm, SystemRequest,
};
use common::registration::{Locator, Registrar};
use common::{ArrowheadError, ExceptionType};
use std::collections::BTreeMap;
use std::sync::Arc;

const AUTH_INTER: &str = "authorization-control-inter";
const ORCHESTRATION: &str = "orchestration-service";
const GW_CONNECT_PROVIDER: &str = "gw-connect-provider";
const GW_CONNECT_CONSUMER: &str = "gw-connect-consumer";
const GW_PUBLIC_KEY: &str = "gw-public-key";
/// The warning of results reached through the Gateways (Java's name).
pub const VIA_GATEWAY: &str = "VIA_GATEWAY";

/// Settings both sides read.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub gateway_is_present: bool,
    pub gateway_is_mandatory: bool,
}

/// The provider side: answers other clouds' requests from this cloud's core systems.
pub struct Provider {
    pub pool: DbPool,
    pub registrar: Registrar,
    pub locator: Locator,
    pub policy: Policy,
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, ArrowheadError> {
    serde_json::to_string(v).map_err(|e| ArrowheadError::internal(e.to_string()))
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, ArrowheadError> {
    serde_json::from_str(text)
        .map_err(|e| ArrowheadError::bad_payload(format!("Unreadable {what}: {e}")))
}

async fn own_cloud(pool: &DbPool) -> Result<Cloud, ArrowheadError> {
    db::run(pool, |c| Ok(store::own_cloud(c)?))
        .await?
        .ok_or_else(|| {
            ArrowheadError::not_found("Could not find own cloud information in the database")
        })
}

fn cloud_request(c: &Cloud) -> CloudRequest {
    CloudRequest {
        operator: Some(c.operator.clone()),
        name: Some(c.name.clone()),
        authentication_info: c.authentication_info.clone(),
        ..Default::default()
    }
}

fn peer_cloud(peer: &Peer) -> CloudRequest {
    CloudRequest {
        operator: Some(peer.operator.clone()),
        name: Some(peer.name.clone()),
        ..Default::default()
    }
}

impl Responder for Provider {
    fn recorded_key(
        &self,
        operator: String,
        name: String,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Option<String>, ArrowheadError>> + Send>,
    > {
        let pool = self.pool.clone();
        Box::pin(async move {
            let found = db::run(&pool, move |c| {
                Ok(store::cloud_by_name(c, &operator, &name)?)
            })
            .await?;
            Ok(found
                .filter(|(c, _, _)| c.own_cloud == 0)
                .and_then(|(c, _, _)| c.authentication_info))
        })
    }

    fn answer(&self, peer: Peer, message_type: String, payload: String) -> Answer {
        let this = Provider {
            pool: self.pool.clone(),
            registrar: self.registrar.clone(),
            locator: self.locator.clone(),
            policy: self.policy,
        };
        Box::pin(async move {
            match message_type.as_str() {
                mt::GSD_POLL => json(&this.gsd_poll(&peer, parse(&payload, "GSD poll")?).await?),
                mt::MULTI_GSD_POLL => json(
                    &this
                        .multi_gsd_poll(&peer, parse(&payload, "multi GSD poll")?)
                        .await?,
                ),
                mt::ICN_PROPOSAL => json(
                    &this
                        .icn_proposal(&peer, parse(&payload, "ICN proposal")?)
                        .await?,
                ),
                mt::ACCESS_TYPE => json(&AccessTypeRelayResponse {
                    direct_access: !this.policy.gateway_is_mandatory,
                }),
                mt::SYSTEM_ADDRESS_LIST => json(&this.system_addresses().await?),
                other => Err(ArrowheadError::bad_payload(format!(
                    "Unsupported relay message type: {other}"
                ))),
            }
        })
    }
}

impl Provider {
    /// The providers (and their interfaces) of `form` that the requesting cloud may use.
    async fn authorized(
        &self,
        peer: &Peer,
        form: &ServiceQueryForm,
    ) -> Result<Vec<common::dto::ServiceRegistryResponse>, ArrowheadError> {
        let found = self.registrar.query_form(form).await?.service_query_data;
        let Some(first) = found.first() else {
            return Ok(found);
        };
        let offered = IdIdList::offered(
            found
                .iter()
                .map(|e| (e.provider.id, e.interfaces.iter().map(|i| i.id).collect())),
        );
        let check = InterCloudCheckRequest {
            cloud: Some(peer_cloud(peer)),
            service_definition: Some(first.service_definition.service_definition.clone()),
            provider_ids_with_interface_ids: Some(offered),
        };
        let answer: InterCloudCheckResponse = self.locator.post(AUTH_INTER, &check).await?;
        let allowed = IdIdList::allowed(answer.authorized_provider_ids_with_interface_ids);
        Ok(common::dto::keep_allowed(found, &allowed))
    }

    /// Java `doGSDPoll`.
    async fn gsd_poll(
        &self,
        peer: &Peer,
        request: GsdPollRequest,
    ) -> Result<GsdPollResponse, ArrowheadError> {
        if self.policy.gateway_is_mandatory && !request.gateway_is_present {
            return Err(ArrowheadError::invalid_parameter(
                "Requester cloud must have gateway available",
            ));
        }
        let form = request
            .requested_service
            .ok_or_else(|| ArrowheadError::bad_payload("RequestedService is null"))?;
        if request.need_qo_s_measurements {
            return Ok(GsdPollResponse::default()); // no QoS Monitor here: nothing qualifies
        }
        let allowed = self.authorized(peer, &form).await?;
        if allowed.is_empty() {
            return Ok(GsdPollResponse::default());
        }
        let mut interfaces: Vec<String> = Vec::new();
        let mut providers: Vec<i64> = Vec::new();
        for e in &allowed {
            for i in &e.interfaces {
                if !interfaces.contains(&i.interface_name) {
                    interfaces.push(i.interface_name.clone());
                }
            }
            if !providers.contains(&e.provider.id) {
                providers.push(e.provider.id);
            }
        }
        let own = own_cloud(&self.pool).await?;
        Ok(GsdPollResponse {
            provider_cloud: Some(CloudResponse::from(&own)),
            required_service_definition: form.service_definition_requirement.clone(),
            available_interfaces: Some(interfaces),
            num_of_providers: Some(providers.len() as i64),
            qos_measurements: Some(Vec::new()),
            service_metadata: form.metadata_requirements.clone(),
            gateway_is_mandatory: self.policy.gateway_is_mandatory,
            verified_relays: Some(Vec::new()),
        })
    }

    /// Java `doMultiGSDPoll`: which of the services the requesting cloud may use here.
    async fn multi_gsd_poll(
        &self,
        peer: &Peer,
        request: GsdMultiPollRequest,
    ) -> Result<GsdMultiPollResponse, ArrowheadError> {
        if self.policy.gateway_is_mandatory && !request.gateway_is_present {
            return Err(ArrowheadError::invalid_parameter(
                "Requester cloud must have gateway available",
            ));
        }
        let mut provided = Vec::new();
        for form in request.requested_services.unwrap_or_default() {
            let definition = form
                .service_definition_requirement
                .clone()
                .unwrap_or_default();
            if !self.authorized(peer, &form).await?.is_empty() && !provided.contains(&definition) {
                provided.push(definition);
            }
        }
        if provided.is_empty() {
            return Ok(GsdMultiPollResponse::default());
        }
        let own = own_cloud(&self.pool).await?;
        Ok(GsdMultiPollResponse {
            provider_cloud: Some(CloudResponse::from(&own)),
            provided_service_definitions: Some(provided),
        })
    }

    /// Java `doICN` without a mandatory gateway: this cloud's Orchestrator serves the foreign
    /// consumer as an external request (tokens minted for it), then the inter-cloud rules of the
    /// requesting cloud filter the results.
    async fn icn_proposal(
        &self,
        peer: &Peer,
        request: IcnProposalRequest,
    ) -> Result<IcnProposalResponse, ArrowheadError> {
        if self.policy.gateway_is_mandatory {
            if !request.gateway_is_present {
                return Err(ArrowheadError::auth(
                    "Services are only available via gateway.",
                ));
            }
            if request
                .known_gateway_relays
                .as_deref()
                .unwrap_or_default()
                .is_empty()
                && request
                    .preferred_gateway_relays
                    .as_deref()
                    .unwrap_or_default()
                    .is_empty()
            {
                return Err(ArrowheadError::auth(
                    "Services are only available via relay.",
                ));
            }
            if request
                .consumer_gateway_public_key
                .as_deref()
                .is_none_or(|k| k.trim().is_empty())
            {
                return Err(ArrowheadError::bad_payload(
                    "Consumer gateway public key is null or blank.",
                ));
            }
        }
        let service = request
            .requested_service
            .clone()
            .ok_or_else(|| ArrowheadError::bad_payload("Requested service is null"))?;
        let mut flags = request.negotiation_flags.clone().unwrap_or_default();
        flags.insert("externalServiceRequest".into(), Some(true));
        let via_gateway = self.policy.gateway_is_mandatory;
        // Through the Gateway, this cloud's Gateway is the consumer the providers see: the
        // tokens are minted for it (Java's rule).
        let requester_system = if via_gateway {
            request.requester_system.clone().map(|mut s| {
                s.system_name = Some("gateway".into());
                s
            })
        } else {
            request.requester_system.clone()
        };
        let form = OrchestrationForm {
            requester_system,
            requester_cloud: (!via_gateway).then(|| peer_cloud(peer)),
            requested_service: Some(service.clone()),
            orchestration_flags: Some(flags),
            preferred_providers: Some(
                request
                    .preferred_systems
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| PreferredProvider {
                        provider_system: Some(s),
                        provider_cloud: None,
                    })
                    .collect(),
            ),
            commands: request.commands.clone(),
            qos_requirements: None,
        };
        let orchestrated: OrchestrationResponse = self.locator.post(ORCHESTRATION, &form).await?;
        let mut results = orchestrated.response;
        if results.is_empty() {
            return Ok(IcnProposalResponse::default());
        }
        // The inter-cloud rules of the requesting cloud decide, provider by provider.
        let offered = IdIdList::offered(
            results
                .iter()
                .map(|r| (r.provider.id, r.interfaces.iter().map(|i| i.id).collect())),
        );
        let check = InterCloudCheckRequest {
            cloud: Some(peer_cloud(peer)),
            service_definition: Some(results[0].service.service_definition.clone()),
            provider_ids_with_interface_ids: Some(offered),
        };
        let answer: InterCloudCheckResponse = self.locator.post(AUTH_INTER, &check).await?;
        let allowed = IdIdList::allowed(answer.authorized_provider_ids_with_interface_ids);
        results.retain_mut(|r| {
            let Some(interfaces) = allowed.get(&r.provider.id) else {
                return false;
            };
            r.interfaces.retain(|i| interfaces.contains(&i.id));
            !r.interfaces.is_empty()
        });
        if results.is_empty() || !via_gateway {
            return Ok(IcnProposalResponse {
                response: results,
                use_gateway: false,
                relay: None,
                connection_info: None,
            });
        }
        self.through_gateway(peer, &request, results, &service)
            .await
    }

    /// The mandatory-gateway answer: a relay both clouds know, one provider, and this cloud's
    /// Gateway connected to it (Java's matchmakers and `connect_provider`).
    async fn through_gateway(
        &self,
        peer: &Peer,
        request: &IcnProposalRequest,
        mut results: Vec<common::dto::orchestrator::OrchestrationResult>,
        service: &ServiceQueryForm,
    ) -> Result<IcnProposalResponse, ArrowheadError> {
        let (operator, name) = (peer.operator.clone(), peer.name.clone());
        let (peer_row, public, own) = db::run(&self.pool, move |c| {
            Ok((
                store::cloud_by_name(c, &operator, &name)?,
                store::public_gateway_relays(c)?,
                store::own_cloud(c)?,
            ))
        })
        .await?;
        let dedicated: Vec<RelayRow> = peer_row.map(|(_, _, gw)| gw).unwrap_or_default();
        let preferred = request.preferred_gateway_relays.clone().unwrap_or_default();
        let known = request.known_gateway_relays.clone().unwrap_or_default();
        let common_of = |ours: &[RelayRow], theirs: &[RelayRequest]| -> Vec<RelayRow> {
            ours.iter()
                .filter(|r| theirs.iter().any(|t| same_relay(r, t)))
                .cloned()
                .collect()
        };
        let mut candidates = common_of(&dedicated, &preferred);
        if candidates.is_empty() {
            let shared = common_of(&public, &known);
            let gateway: Vec<RelayRow> = shared
                .iter()
                .filter(|r| r.relay_type == "GATEWAY_RELAY")
                .cloned()
                .collect();
            candidates = if gateway.is_empty() { shared } else { gateway };
        }
        let relay = random_of(&candidates)
            .cloned()
            .ok_or_else(|| ArrowheadError::auth("No common communication relay was found."))?;
        let preferred_systems = request.preferred_systems.clone().unwrap_or_default();
        let chosen = results
            .iter()
            .position(|r| preferred_systems.iter().any(|s| s.names(&r.provider)))
            .unwrap_or_else(|| random_index(results.len()));
        let selected = results.swap_remove(chosen);
        let own = own.ok_or_else(|| {
            ArrowheadError::not_found("Could not find own cloud information in the database")
        })?;
        let connect = ProviderConnectionRequest {
            relay: Some(relay_request(&relay)),
            consumer: request.requester_system.clone(),
            provider: Some(SystemRequest {
                system_name: Some(selected.provider.system_name.clone()),
                address: Some(selected.provider.address.clone()),
                port: Some(i64::from(selected.provider.port)),
                authentication_info: selected.provider.authentication_info.clone(),
                metadata: None,
            }),
            consumer_cloud: Some(peer_cloud(peer)),
            provider_cloud: Some(cloud_request(&own)),
            service_definition: service.service_definition_requirement.clone(),
            consumer_gw_public_key: request.consumer_gateway_public_key.clone(),
        };
        let info: ConnectionInfo = self.locator.post(GW_CONNECT_PROVIDER, &connect).await?;
        Ok(IcnProposalResponse {
            response: vec![selected],
            use_gateway: true,
            relay: Some(RelayResponse::from(&relay)),
            connection_info: Some(info),
        })
    }

    /// Every provider address in this cloud's Service Registry.
    async fn system_addresses(&self) -> Result<SystemAddressSet, ArrowheadError> {
        let all = self.registrar.query_all().await?;
        let mut addresses: Vec<String> = all.data.into_iter().map(|e| e.provider.address).collect();
        addresses.sort();
        addresses.dedup();
        Ok(SystemAddressSet { addresses })
    }
}

/// The requesting side: what this cloud's Orchestrator (and QoS Monitor, Choreographer) ask.
pub struct Requester {
    pub pool: DbPool,
    pub hub: Arc<Hub>,
    pub policy: Policy,
    pub registrar: Registrar,
    pub locator: Locator,
}

/// A relay the Gatekeepers of a cloud talk through: a random `GATEKEEPER_RELAY`, else a random
/// `GENERAL_RELAY` (Java's choice).
fn pick_gatekeeper_relay(relays: &[RelayRow]) -> Option<&RelayRow> {
    let of = |t: &str| {
        relays
            .iter()
            .filter(|r| r.relay_type == t)
            .collect::<Vec<_>>()
    };
    let mut candidates = of("GATEKEEPER_RELAY");
    if candidates.is_empty() {
        candidates = of("GENERAL_RELAY");
    }
    if candidates.is_empty() {
        return None;
    }
    random_of(&candidates).copied()
}

/// Java's relay matching: by key when both have one, else by address (any case) and port.
fn same_relay(ours: &RelayRow, theirs: &RelayRequest) -> bool {
    match (
        ours.authentication_info.as_deref(),
        theirs.authentication_info.as_deref(),
    ) {
        (Some(a), Some(b)) if !a.trim().is_empty() && !b.trim().is_empty() => a.trim() == b.trim(),
        _ => {
            theirs
                .address
                .as_deref()
                .is_some_and(|a| a.trim().eq_ignore_ascii_case(&ours.address))
                && theirs.port == Some(i64::from(ours.port))
        }
    }
}

fn random_index(len: usize) -> usize {
    let mut b = [0u8; 4];
    let _ = openssl::rand::rand_bytes(&mut b);
    u32::from_le_bytes(b) as usize % len.max(1)
}

fn random_of<T>(items: &[T]) -> Option<&T> {
    (!items.is_empty()).then(|| &items[random_index(items.len())])
}

fn address_of(r: &RelayRow) -> Result<RelayAddress, ArrowheadError> {
    Ok(RelayAddress {
        host: r.address.clone(),
        port: u16::try_from(r.port).map_err(|_| {
            ArrowheadError::invalid_parameter(format!("Invalid relay port: {}", r.port))
        })?,
        secure: r.secure != 0,
    })
}

fn relay_request(r: &RelayRow) -> RelayRequest {
    let r = RelayResponse::from(r);
    RelayRequest {
        address: Some(r.address),
        port: Some(i64::from(r.port)),
        authentication_info: r.authentication_info,
        secure: r.secure,
        exclusive: r.exclusive,
        relay_type: Some(r.relay_type),
    }
}

impl Requester {
    /// One conversation with the Gatekeeper of `cloud`, over one of its Gatekeeper relays.
    async fn ask(
        &self,
        cloud: &CloudWithRelays,
        message_type: &str,
        payload: &str,
    ) -> Result<String, ArrowheadError> {
        let (c, gatekeeper_relays, _) = cloud;
        let recipient = hub::gatekeeper_cn(&c.name, &c.operator);
        let key = c
            .authentication_info
            .as_deref()
            .and_then(hub::public_key)
            .ok_or_else(|| {
                ArrowheadError::invalid_parameter(format!(
                    "Cloud {}/{} has no usable authenticationInfo (its Gatekeeper's public key).",
                    c.operator, c.name
                ))
            })?;
        let relay = pick_gatekeeper_relay(gatekeeper_relays).ok_or_else(|| {
            ArrowheadError::invalid_parameter(format!(
                "Cloud {}/{} has no Gatekeeper relay.",
                c.operator, c.name
            ))
        })?;
        self.hub
            .ask(&address_of(relay)?, &recipient, &key, message_type, payload)
            .await
    }

    /// The clouds a discovery goes to: the preferred ones this cloud knows, else every
    /// neighbour (Java's messages when there are none).
    async fn targets(
        &self,
        preferred: &[CloudRequest],
    ) -> Result<Vec<CloudWithRelays>, ArrowheadError> {
        let preferred: Vec<(String, String)> = preferred
            .iter()
            .map(|c| {
                (
                    c.operator
                        .as_deref()
                        .unwrap_or_default()
                        .trim()
                        .to_lowercase(),
                    c.name.as_deref().unwrap_or_default().trim().to_lowercase(),
                )
            })
            .collect();
        let given = !preferred.is_empty();
        let clouds = db::run(&self.pool, move |c| {
            if given {
                let mut out: Vec<CloudWithRelays> = Vec::new();
                for (operator, name) in &preferred {
                    if let Some(found) = store::cloud_by_name(c, operator, name)? {
                        if !out.iter().any(|(o, _, _)| o.id == found.0.id) {
                            out.push(found);
                        }
                    }
                }
                Ok(out)
            } else {
                Ok(store::all_clouds(c)?
                    .into_iter()
                    .filter(|(c, _, _)| c.neighbor != 0 && c.own_cloud == 0)
                    .collect())
            }
        })
        .await?;
        if clouds.is_empty() {
            return Err(ArrowheadError::invalid_parameter(if given {
                "initGSDPoll failed: Given preferred clouds are not exists"
            } else {
                "initGSDPoll failed: Neither preferred clouds were given, nor neighbor clouds registered"
            }));
        }
        Ok(clouds)
    }

    /// Java `initGSDPoll`.
    pub async fn init_gsd(
        &self,
        service: ServiceQueryForm,
        preferred: &[CloudRequest],
        need_qos: bool,
    ) -> Result<GsdQueryResult, ArrowheadError> {
        let targets = self.targets(preferred).await?;
        let own = own_cloud(&self.pool).await?;
        let payload = json(&GsdPollRequest {
            requested_service: Some(service),
            requester_cloud: Some(cloud_request(&own)),
            gateway_is_present: self.policy.gateway_is_present,
            need_qo_s_measurements: need_qos,
        })?;
        let answers = futures_util::future::join_all(
            targets.iter().map(|t| self.ask(t, mt::GSD_POLL, &payload)),
        )
        .await;
        let mut results = Vec::new();
        let mut unsuccessful = 0;
        let mut errors = Vec::new();
        for ((cloud, _, _), answer) in targets.iter().zip(answers) {
            let answer = answer.and_then(|text| parse::<GsdPollResponse>(&text, "GSD answer"));
            match answer {
                Ok(r) if !r.is_empty() => {
                    let mut r = r;
                    // The provider cloud as this cloud records it (its id is what the
                    // Orchestrator sends back in init_icn).
                    r.provider_cloud = Some(CloudResponse::from(cloud));
                    results.push(r);
                }
                Ok(_) => unsuccessful += 1,
                Err(e) => {
                    tracing::info!(cloud = %format!("{}/{}", cloud.operator, cloud.name), error = %e.message, "GSD poll unsuccessful");
                    unsuccessful += 1;
                    if matches!(
                        e.kind,
                        ExceptionType::InvalidParameter | ExceptionType::BadPayload
                    ) {
                        errors.push(e);
                    }
                }
            }
        }
        if results.is_empty() {
            if let Some(e) = errors.into_iter().next() {
                return Err(e);
            }
        }
        Ok(GsdQueryResult {
            results,
            unsuccessful_requests: unsuccessful,
        })
    }

    /// Java `initMultiGSDPoll`.
    pub async fn init_multi_gsd(
        &self,
        services: Vec<ServiceQueryForm>,
        preferred: &[CloudRequest],
    ) -> Result<GsdMultiQueryResult, ArrowheadError> {
        let targets = self.targets(preferred).await?;
        let own = own_cloud(&self.pool).await?;
        let payload = json(&GsdMultiPollRequest {
            requested_services: Some(services),
            requester_cloud: Some(cloud_request(&own)),
            gateway_is_present: self.policy.gateway_is_present,
        })?;
        let answers = futures_util::future::join_all(
            targets
                .iter()
                .map(|t| self.ask(t, mt::MULTI_GSD_POLL, &payload)),
        )
        .await;
        let mut results = Vec::new();
        let mut unsuccessful = 0;
        for ((cloud, _, _), answer) in targets.iter().zip(answers) {
            match answer.and_then(|t| parse::<GsdMultiPollResponse>(&t, "multi GSD answer")) {
                Ok(mut r) if r.provider_cloud.is_some() => {
                    r.provider_cloud = Some(CloudResponse::from(cloud));
                    results.push(r);
                }
                _ => unsuccessful += 1,
            }
        }
        Ok(GsdMultiQueryResult {
            results,
            unsuccessful_requests: unsuccessful,
        })
    }

    /// Java `initICN`, for the direct case (the provider cloud's results come back as they are;
    /// the tokens in them were minted there for our consumer).
    #[allow(clippy::too_many_arguments)]
    pub async fn init_icn(
        &self,
        target_cloud_id: i64,
        service: ServiceQueryForm,
        requester: SystemRequest,
        preferred_systems: Vec<SystemRequest>,
        preferred_gateway_relays: Vec<RelayRequest>,
        negotiation_flags: BTreeMap<String, Option<bool>>,
        commands: BTreeMap<String, Option<String>>,
    ) -> Result<IcnResult, ArrowheadError> {
        let (target, own, public) = db::run(&self.pool, move |c| {
            Ok((
                store::cloud_with_relays(c, target_cloud_id)?,
                store::own_cloud(c)?,
                store::public_gateway_relays(c)?,
            ))
        })
        .await?;
        let target = target.ok_or_else(|| {
            ArrowheadError::invalid_parameter(format!(
                "Cloud with id '{target_cloud_id}' not exists"
            ))
        })?;
        let own = own.ok_or_else(|| {
            ArrowheadError::not_found("Could not find own cloud information in the database")
        })?;
        let preferred_relays: Vec<RelayRequest> = if preferred_gateway_relays.is_empty() {
            target.2.iter().map(relay_request).collect()
        } else {
            preferred_gateway_relays
        };
        let requester_copy = requester.clone();
        // Our Gateway's key and host, looked up once: the proposal carries the key, and a gateway
        // answer names the Gateway at that host.
        let gateway = match self.policy.gateway_is_present {
            true => Some(self.gateway_key().await?),
            false => None,
        };
        let proposal = IcnProposalRequest {
            requested_service: Some(service),
            requester_cloud: Some(cloud_request(&own)),
            requester_system: Some(requester),
            preferred_systems: Some(preferred_systems),
            known_gateway_relays: Some(public.iter().map(relay_request).collect()),
            preferred_gateway_relays: Some(preferred_relays),
            negotiation_flags: Some(negotiation_flags),
            commands: Some(commands),
            gateway_is_present: self.policy.gateway_is_present,
            consumer_gateway_public_key: gateway.as_ref().map(|(key, _)| key.clone()),
        };
        let recipient = hub::gatekeeper_cn(&target.0.name, &target.0.operator);
        let text = self
            .ask(&target, mt::ICN_PROPOSAL, &json(&proposal)?)
            .await
            .map_err(|e| e.or_origin(&format!("ICN Proposal to {recipient}")))?;
        let answer: IcnProposalResponse = parse(&text, "ICN answer")?;
        if answer.response.is_empty() || !answer.use_gateway {
            return Ok(IcnResult {
                response: answer.response,
            });
        }
        let Some(gateway) = gateway else {
            return Err(ArrowheadError::unavailable(format!(
                "{recipient} offers its providers only through a Gateway, and this cloud has none."
            ))
            .with_code(503));
        };
        self.connect_consumer(answer, requester_copy, &own, &target.0, gateway)
            .await
    }

    /// This cloud's Gateway: its public key and the host consumers reach it at (Java takes the
    /// host of the `gw-public-key` URI).
    async fn gateway_key(&self) -> Result<(String, String), ArrowheadError> {
        let at = self.registrar.locate(GW_PUBLIC_KEY).await?;
        let key: String = self
            .registrar
            .client()
            .send::<(), String>(at.system, reqwest::Method::GET, &at.url, None)
            .await?;
        let host = at
            .url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .map(|authority| match authority.rsplit_once(':') {
                Some((h, _)) => h.trim_matches(['[', ']']).to_owned(),
                None => authority.to_owned(),
            })
            .unwrap_or_default();
        Ok((key, host))
    }

    /// The consumer side of a gateway answer: this cloud's Gateway opens a port for the consumer,
    /// and the result names the Gateway instead of the provider (Java's rewrite).
    async fn connect_consumer(
        &self,
        answer: IcnProposalResponse,
        consumer: SystemRequest,
        own: &Cloud,
        target: &Cloud,
        (gateway_key, host): (String, String),
    ) -> Result<IcnResult, ArrowheadError> {
        let their = answer
            .relay
            .clone()
            .ok_or_else(|| ArrowheadError::bad_payload("The gateway answer names no relay."))?;
        let info = answer.connection_info.clone().ok_or_else(|| {
            ArrowheadError::bad_payload("The gateway answer has no connection information.")
        })?;
        let (key, address, port) = (
            their.authentication_info.clone(),
            their.address.clone(),
            their.port,
        );
        let relay = db::run(&self.pool, move |c| {
            Ok(store::find_relay(c, key.as_deref(), &address, port)?)
        })
        .await?
        .ok_or_else(|| {
            ArrowheadError::invalid_parameter(format!(
                "Relay with the following address and port not exists: {}, {}",
                their.address, their.port
            ))
        })?;
        let mut result =
            answer.response.into_iter().next().ok_or_else(|| {
                ArrowheadError::bad_payload("The gateway answer has no provider.")
            })?;
        let request = ConsumerConnectionRequest {
            relay: Some(relay_request(&relay)),
            queue_id: info.queue_id.clone(),
            peer_name: info.peer_name.clone(),
            provider_gw_public_key: info.provider_gw_public_key.clone(),
            consumer: Some(consumer),
            provider: Some(SystemRequest {
                system_name: Some(result.provider.system_name.clone()),
                address: Some(result.provider.address.clone()),
                port: Some(i64::from(result.provider.port)),
                authentication_info: result.provider.authentication_info.clone(),
                metadata: None,
            }),
            consumer_cloud: Some(cloud_request(own)),
            provider_cloud: Some(cloud_request(target)),
            service_definition: Some(result.service.service_definition.clone()),
        };
        let port: i64 = match self.locator.post(GW_CONNECT_CONSUMER, &request).await {
            Ok(p) => p,
            Err(e) if e.kind == ExceptionType::Unavailable => {
                tracing::warn!(error = %e.message, "the Gateway cannot take another session");
                return Ok(IcnResult::default());
            }
            Err(e) => return Err(e),
        };
        result.provider.system_name = "gateway".into();
        result.provider.address = host;
        result.provider.port = i32::try_from(port)
            .map_err(|_| ArrowheadError::internal(format!("Gateway port {port} is invalid")))?;
        result.provider.authentication_info = Some(gateway_key);
        result.warnings.push(VIA_GATEWAY.into());
        Ok(IcnResult {
            response: vec![result],
        })
    }

    /// Java `collectAccessTypes`: for each given neighbour cloud (not our own), whether its
    /// providers are reachable without a gateway. A cloud that does not answer is left out.
    pub async fn access_types(
        &self,
        clouds: &[CloudRequest],
    ) -> Result<Vec<CloudAccessResponse>, ArrowheadError> {
        let mut out = Vec::new();
        for c in clouds {
            let operator = c
                .operator
                .as_deref()
                .unwrap_or_default()
                .trim()
                .to_lowercase();
            let name = c.name.as_deref().unwrap_or_default().trim().to_lowercase();
            let found = db::run(&self.pool, move |conn| {
                Ok(store::cloud_by_name(conn, &operator, &name)?)
            })
            .await?;
            let Some(cloud) = found.filter(|(c, _, _)| c.own_cloud == 0 && c.neighbor != 0) else {
                continue;
            };
            let payload = json(&common::dto::gatekeeper::GeneralRelayRequest {
                message_type: Some(mt::ACCESS_TYPE.into()),
            })?;
            match self
                .ask(&cloud, mt::ACCESS_TYPE, &payload)
                .await
                .and_then(|t| parse::<AccessTypeRelayResponse>(&t, "access type"))
            {
                Ok(a) => out.push(CloudAccessResponse {
                    cloud_name: cloud.0.name.clone(),
                    cloud_operator: cloud.0.operator.clone(),
                    direct_access: a.direct_access,
                }),
                Err(e) => {
                    tracing::info!(cloud = %format!("{}/{}", cloud.0.operator, cloud.0.name), error = %e.message, "access type not collected")
                }
            }
        }
        Ok(out)
    }

    /// Java `collectSystemAddresses`: every provider address in the given cloud's registry.
    pub async fn system_addresses(
        &self,
        operator: String,
        name: String,
    ) -> Result<SystemAddressSet, ArrowheadError> {
        let (o, n) = (operator.clone(), name.clone());
        let cloud = db::run(&self.pool, move |c| Ok(store::cloud_by_name(c, &o, &n)?))
            .await?
            .ok_or_else(|| {
                ArrowheadError::invalid_parameter(format!(
                    "Cloud with the following operator and name not exists: {operator}, {name}"
                ))
            })?;
        let payload = json(&common::dto::gatekeeper::GeneralRelayRequest {
            message_type: Some(mt::SYSTEM_ADDRESS_LIST.into()),
        })?;
        let text = self.ask(&cloud, mt::SYSTEM_ADDRESS_LIST, &payload).await?;
        parse(&text, "system address list")
    }
}

/// Keeps this Gatekeeper listening on every relay other clouds may call it through (Java's
/// `RelaySubscriberTask`): checked every `interval`, and at once when this instance's
/// management changed clouds or relays.
pub async fn keep_listening(pool: DbPool, hub: Arc<Hub>, interval: std::time::Duration) {
    loop {
        match db::run(&pool, |c| Ok(store::listened_relays(c)?)).await {
            Ok(relays) => {
                for r in relays {
                    if let Ok(address) = address_of(&r) {
                        if let Err(e) = hub.listen(&address).await {
                            tracing::warn!(relay = %format!("{}:{}", r.address, r.port), error = %e.message, "cannot listen on relay yet");
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e.message, "cannot read the relays to listen on"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = hub.relays_changed.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(id: i64, t: &str) -> RelayRow {
        let now = chrono::Utc::now().naive_utc();
        RelayRow {
            id,
            address: "r".into(),
            port: 1,
            authentication_info: None,
            secure: 1,
            exclusive: 0,
            relay_type: t.into(),
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn gatekeeper_relays_come_before_general_ones() {
        let relays = [relay(1, "GENERAL_RELAY"), relay(2, "GATEKEEPER_RELAY")];
        for _ in 0..20 {
            assert_eq!(pick_gatekeeper_relay(&relays).unwrap().id, 2);
        }
        assert_eq!(pick_gatekeeper_relay(&relays[..1]).unwrap().id, 1);
        assert!(pick_gatekeeper_relay(&[relay(3, "GATEWAY_RELAY")]).is_none());
    }
}
