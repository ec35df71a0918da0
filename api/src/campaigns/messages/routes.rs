//! `/api/v1/campaigns/{campaign_id}/messages…`: who a campaign's messages went to and
//! what became of each.

use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, OpenApi, ResponseContent};

use waplify_shared::ids::{CampaignId, MessageId};

use super::errors::{MessageListErrors, MessageReadErrors};
use super::list::Filter;
use super::views::{GetMessageResponse, ListMessagesResponse, MessageState};
use super::{csv, cursor, detail, list};
use crate::campaigns::lookup;
use crate::http::auth::ApiKeyAuth;
use crate::http::envelope::Success;
use crate::http::errors::Failure;
use crate::http::paging::Bounded;
use crate::http::tags::Tag;
use crate::http::time::Timestamp;
use crate::state::AppState;

/// Rows per page, 1 to 1000.
pub type MessageLimit = Bounded<100, 1, 1000>;

pub struct CampaignMessagesApi;

/// A page as JSON, or every matching row as CSV.
#[derive(ResponseContent)]
pub enum MessagesBody {
    Json(Json<ListMessagesResponse>),
    /// Every row the filters match (`after` and `limit` do not apply), streamed.
    #[oai(content_type = "text/csv; charset=utf-8")]
    Csv(Binary<poem::Body>),
}

#[derive(ApiResponse)]
pub enum MessagesAnswer {
    /// `application/json`: one page. `text/csv` (asked for with `Accept: text/csv`):
    /// every matching row, a header line first.
    #[oai(status = 200)]
    Ok(MessagesBody),
}

#[OpenApi(prefix_path = "/api/v1", tag = "Tag::Campaigns")]
impl CampaignMessagesApi {
    /// List a campaign's recipients
    ///
    /// One row per recipient, in message id order, `limit` at a time: pass the page's
    /// `next_cursor` as `after` for the next one (`null` on the last page). Rows that
    /// existed when the walk began are each seen exactly once, even while recipients
    /// are added. With `Accept: text/csv` the answer is every matching row as CSV.
    #[oai(
        path = "/campaigns/:campaign_id/messages",
        method = "get",
        operation_id = "list_campaign_messages"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list_campaign_messages(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        req: &Request,
        /// 24 lowercase hex characters.
        campaign_id: Path<CampaignId>,
        /// Only messages in these statuses (repeat the parameter for several).
        status: Query<Option<Vec<MessageState>>>,
        /// Only messages whose last error has this WhatsApp code.
        error_code: Query<Option<i32>>,
        /// The `next_cursor` of the previous page; absent for the first page.
        after: Query<Option<String>>,
        /// Rows per page, 1 to 1000.
        limit: Query<MessageLimit>,
    ) -> Result<MessagesAnswer, Failure<MessageListErrors>> {
        let state = state.0;
        let after = after.0.as_deref().map(cursor::decode).transpose()?;
        let found = lookup::campaign(&state.db, &auth.0.account_id, &campaign_id.0).await?;
        let filter = Filter {
            statuses: status.0.into_iter().flatten().map(Into::into).collect(),
            error_code: error_code.0,
        };
        if wants_csv(req) {
            let body = csv::body(state.db.clone(), found.id, filter);
            return Ok(MessagesAnswer::Ok(MessagesBody::Csv(Binary(body))));
        }
        let limit = limit.0.0;
        let (items, more) =
            list::page(&state.db, &found.id, &filter, after.as_ref(), limit).await?;
        let next_cursor = match (more, items.last()) {
            (true, Some(last)) => MessageId::parse(&last.message_id)
                .ok()
                .map(|id| cursor::encode(&id)),
            _ => None,
        };
        Ok(MessagesAnswer::Ok(MessagesBody::Json(Json(
            ListMessagesResponse {
                status: Success::Success,
                items,
                next_cursor,
                limit,
                timestamp: Timestamp::now(),
            },
        ))))
    }

    /// Get one recipient's message
    ///
    /// The row `list_campaign_messages` shows, with every status step (`history`: who
    /// made it: `worker`, `callback`, `reconciler` or `operator`) and every call to
    /// WhatsApp (`provider_calls`).
    #[oai(
        path = "/campaigns/:campaign_id/messages/:message_id",
        method = "get",
        operation_id = "get_campaign_message"
    )]
    async fn get_campaign_message(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// 24 lowercase hex characters.
        campaign_id: Path<CampaignId>,
        /// 24 lowercase hex characters.
        message_id: Path<MessageId>,
    ) -> Result<Json<GetMessageResponse>, Failure<MessageReadErrors>> {
        let message = detail::detail(
            &state.0.db,
            &auth.0.account_id,
            &campaign_id.0,
            &message_id.0,
        )
        .await?;
        Ok(Json(GetMessageResponse {
            status: Success::Success,
            message,
            timestamp: Timestamp::now(),
        }))
    }
}

/// Whether the `Accept` header prefers `text/csv` to JSON: named with a weight above
/// JSON's (an absent type weighs 0, a tie goes to the one named first).
pub fn wants_csv(req: &Request) -> bool {
    let Some(accept) = req.headers().get(poem::http::header::ACCEPT) else {
        return false;
    };
    let accept = accept.to_str().unwrap_or_default();
    let (mut csv, mut json) = (None, None);
    for (i, item) in accept.split(',').enumerate() {
        let mut parts = item.split(';');
        let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q: f32 = parts
            .filter_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse().ok()))
            .next()
            .unwrap_or(1.0);
        match essence.as_str() {
            "text/csv" if csv.is_none() => csv = Some((q, i)),
            "application/json" if json.is_none() => json = Some((q, i)),
            _ => {}
        }
    }
    match (csv, json) {
        (Some((q, _)), None) => q > 0.0,
        (Some((qc, ic)), Some((qj, ij))) => qc > 0.0 && (qc > qj || (qc == qj && ic < ij)),
        _ => false,
    }
}
