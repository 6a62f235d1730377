//! Reports per realm: organizations with their active users, and groups (SCIM and rule-based)
//! with their active members; JSON, or CSV with `?format=csv`. Deactivated users appear in
//! neither, from the moment they are deactivated.

use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::{caller::RealmCaller, error::ApiError, extract::ApiQuery};
use crate::service::SharedState;
use muster_store::model::GroupMember;

/// `?format=json|csv`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Format {
    format: Option<String>,
}

impl Format {
    fn csv(&self) -> Result<bool, ApiError> {
        match self.format.as_deref() {
            None | Some("json") => Ok(false),
            Some("csv") => Ok(true),
            Some(other) => Err(ApiError::BadRequest(format!("format {other:?}: use json or csv"))),
        }
    }
}

/// `GET …/reports/organizations`: each organization (and No organization) with its active users.
pub async fn organizations(
    State(state): State<SharedState>,
    RealmCaller { realm, .. }: RealmCaller,
    ApiQuery(format): ApiQuery<Format>,
) -> Result<Response, ApiError> {
    let report = state.store.organization_members(&realm.tenant_id, &realm.id).await?;
    if !format.csv()? {
        return Ok(Json(serde_json::json!({ "realm_id": realm.id, "organizations": report })).into_response());
    }
    let rows =
        report.iter().flat_map(|org| org.members.iter().map(move |m| (org.organization.as_deref().unwrap_or(""), m)));
    csv_response(["organization", "user_id", "user_name", "display_name"], rows)
}

/// `GET …/reports/groups`: each SCIM group and rule-based group with its active members.
pub async fn groups(
    State(state): State<SharedState>,
    RealmCaller { realm, .. }: RealmCaller,
    ApiQuery(format): ApiQuery<Format>,
) -> Result<Response, ApiError> {
    let report = state.store.group_memberships_report(&realm.tenant_id, &realm.id).await?;
    if !format.csv()? {
        return Ok(Json(serde_json::json!({ "realm_id": realm.id, "groups": report })).into_response());
    }
    let scim = report
        .scim_groups
        .iter()
        .flat_map(|g| g.members.iter().map(move |m| (("scim", g.group.display_name.as_str()), m)));
    let rules = report.rule_groups.iter().flat_map(|g| g.members.iter().map(move |m| (("rule", g.name.as_str()), m)));
    let mut writer = csv::Writer::from_writer(Vec::new());
    let write =
        |writer: &mut csv::Writer<Vec<u8>>, record: &[&str]| writer.write_record(record).map_err(ApiError::internal);
    write(&mut writer, &["kind", "group", "user_id", "user_name", "display_name"])?;
    for ((kind, group), member) in scim.chain(rules) {
        write(
            &mut writer,
            &[kind, group, &member.user_id, &member.user_name, member.display_name.as_deref().unwrap_or("")],
        )?;
    }
    finish(writer)
}

fn csv_response<'a>(
    header_row: [&str; 4],
    rows: impl Iterator<Item = (&'a str, &'a GroupMember)>,
) -> Result<Response, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header_row).map_err(ApiError::internal)?;
    for (organization, member) in rows {
        writer
            .write_record([
                organization,
                &member.user_id,
                &member.user_name,
                member.display_name.as_deref().unwrap_or(""),
            ])
            .map_err(ApiError::internal)?;
    }
    finish(writer)
}

fn finish(writer: csv::Writer<Vec<u8>>) -> Result<Response, ApiError> {
    let bytes = writer.into_inner().map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], bytes).into_response())
}
