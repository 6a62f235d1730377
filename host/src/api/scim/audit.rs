//! The middleware in front of every SCIM endpoint: refuses a `Host` or `X-Forwarded-Proto` it
//! would not write into a URL (see [`crate::api::origin`]), authenticates the client (see
//! [`super::auth`]) and, once the request is answered, appends `scim.request` to the tenant's
//! audit log with the method, path, status, the credential and the attributes the request
//! changed, or the reason it was refused.

use std::{collections::HashMap, sync::Arc};

use axum::{
    extract::{Path, Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::auth::{ScimCaller, authenticate};
use crate::{
    api::{error::retry_after_secs, extract::Peer, origin, refusals},
    service::{SharedState, access, now_millis, throttle::Limited},
};
use muster_scim::error::{ErrorDetail, ScimError};
use muster_store::{Audit, AuditNote, SCIM_REQUEST};

/// The authenticated client, as handlers receive it.
pub type Caller = Arc<ScimCaller>;

/// What a write changed, attached to its response for the audit entry.
#[derive(Debug, Clone)]
pub struct Changed {
    /// The resource written.
    pub target: String,
    /// The top-level attributes the request changed.
    pub attributes: Vec<String>,
}

/// Authenticates, runs the handler, audits the request.
pub async fn authenticate_and_audit(
    State(state): State<SharedState>,
    Path(params): Path<HashMap<String, String>>,
    Peer(address): Peer,
    mut request: Request,
    next: Next,
) -> Response {
    let (tenant, realm) =
        (params.get("tenant").cloned().unwrap_or_default(), params.get("realm").cloned().unwrap_or_default());
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    if let Err(limited) = state.throttle.admit(address) {
        return rate_limited(limited);
    }
    let origin = match origin::base_url(state.config.public_url.as_ref(), request.headers()) {
        Ok(origin) => origin,
        Err(detail) => {
            // Before authentication, like a refused credential: logged (at a bounded rate), not
            // audited.
            refusals::log(&tenant, &realm, &method, &path, "bad Host or X-Forwarded-Proto", &detail);
            return ScimError { status: StatusCode::BAD_REQUEST, scim_type: None, detail }.into_response();
        }
    };
    let caller = match authenticate(&state, request.headers(), &tenant, &realm, &origin).await {
        Ok(caller) => Arc::new(caller),
        Err(error) => {
            // Nobody to attribute it to, and possibly no such tenant: logged (at a bounded rate),
            // counted, not audited (an unauthenticated client must not be able to fill a tenant's
            // audit log); a burst of them is audited once.
            if error.status == StatusCode::UNAUTHORIZED
                && let Some(limited) = state.throttle.failed(address)
            {
                if limited.new_burst {
                    access::record_burst(&state, address, Some(&tenant), "failed authentications").await;
                }
                return rate_limited(limited);
            }
            refusals::log(&tenant, &realm, &method, &path, "not authenticated", &error.detail);
            return error.into_response();
        }
    };
    let actor = caller.actor();
    request.extensions_mut().insert(Arc::clone(&caller));
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let mut details = json!({ "realm_id": realm, "method": method, "path": path, "status": status });
    if let Some(changed) = response.extensions().get::<Changed>() {
        details["target"] = json!(changed.target);
        details["changed"] = json!(changed.attributes);
    }
    if let Some(ErrorDetail(reason)) = response.extensions().get::<ErrorDetail>() {
        details["error"] = json!(reason);
    }
    let target =
        response.extensions().get::<Changed>().map_or_else(|| format!("realm/{realm}/scim"), |c| c.target.clone());
    let note = AuditNote { action: SCIM_REQUEST.into(), target, details };
    let audit = Audit { actor, at: now_millis() };
    if let Err(error) = state.store.record_audit(&tenant, &audit, vec![note]).await {
        tracing::error!(%tenant, %error, "SCIM request not audited");
    }
    response
}

/// The SCIM `429` (with `Retry-After`) of an address past its failure budget.
fn rate_limited(limited: Limited) -> Response {
    let retry_after = retry_after_secs(limited.retry_after);
    let mut response = ScimError::from(access::too_many_failures(limited)).into_response();
    response.headers_mut().insert(axum::http::header::RETRY_AFTER, retry_after.into());
    response
}
