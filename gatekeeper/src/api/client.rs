//! The endpoints core systems of the cloud call: a cloud's record for the Orchestrator and the
//! QoS Monitor, and every cloud for the QoS Monitor.

use super::clouds::{response, CloudWithRelaysResponse};
use super::relays::RelayResponse;
use super::{allow, bad, AppState};
use crate::access::Endpoint;
use crate::store;
use actix_web::{web, HttpRequest};
use common::db;
use common::dto::ListResponse;
use common::error::ErrorMessage;
use common::identity::Caller;
use common::ArrowheadError;
use serde::{Deserialize, Serialize};

/// A cloud by operator and name, with its relays and, among its gateway relays, every public
/// one (Java's answer).
#[utoipa::path(get, path = "/gatekeeper/cloud/{operator}/{name}", tag = "Client", params(("operator" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = CloudWithRelaysResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn cloud_by_name(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<web::Json<CloudWithRelaysResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Cloud, &req)?;
    const ORIGIN: &str = "/gatekeeper/cloud/{operator}/{name}";
    let (operator, name) = path.into_inner();
    let (operator, name) = (operator.trim().to_lowercase(), name.trim().to_lowercase());
    if operator.is_empty() {
        return Err(bad("Operator is empty", ORIGIN));
    }
    if name.is_empty() {
        return Err(bad("Name is empty", ORIGIN));
    }
    let (o, n) = (operator.clone(), name.clone());
    let found = db::run(&state.pool, move |c| {
        let cloud = store::cloud_by_name(c, &o, &n)?;
        let public = store::public_gateway_relays(c)?;
        Ok(cloud.map(|(cloud, gk, mut gw)| {
            for p in public {
                if !gw.iter().any(|r| r.id == p.id) {
                    gw.push(p);
                }
            }
            (cloud, gk, gw)
        }))
    })
    .await?;
    found.map(|c| web::Json(response(&c))).ok_or_else(|| {
        bad(
            format!("Cloud with the following operator and name not exists: {operator}, {name}"),
            ORIGIN,
        )
    })
}

/// Java `CloudWithRelaysAndPublicRelaysResponseDTO`.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudWithPublicRelays {
    #[serde(flatten)]
    pub cloud: CloudWithRelaysResponse,
    pub public_relays: Vec<RelayResponse>,
}

/// Every cloud with its relays and the public gateway relays (for the QoS Monitor).
#[utoipa::path(get, path = "/gatekeeper/pull_clouds", tag = "Client",
    responses((status = 200, body = ListResponse<CloudWithPublicRelays>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn pull_clouds(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<web::Json<ListResponse<CloudWithPublicRelays>>, ArrowheadError> {
    allow(&caller, Endpoint::PullClouds, &req)?;
    let (clouds, public) = db::run(&state.pool, |c| {
        Ok((store::all_clouds(c)?, store::public_gateway_relays(c)?))
    })
    .await?;
    let public: Vec<RelayResponse> = public.iter().map(RelayResponse::from).collect();
    let data: Vec<CloudWithPublicRelays> = clouds
        .iter()
        .map(|c| CloudWithPublicRelays {
            cloud: response(c),
            public_relays: public.clone(),
        })
        .collect();
    Ok(web::Json(ListResponse {
        count: data.len() as i64,
        data,
    }))
}
