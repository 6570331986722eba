//! The in-app feed: a channel that writes a delivery into `notify_feed` (idempotent on the delivery id, like every
//! far side), and the HTTP routes that read it — `GET /v1/notifications` for the token's user, newest first, and
//! `POST /v1/notifications/{id}/read`.
//!
//! A feed delivery's address says whose feed it goes to: `user:<user id>`, `unit:<unit code>` (every user of the
//! unit sees it) or `approvers:<unit code>` (escalations: the unit's approvers and admins see them). Read marks
//! are per user, in `notify_feed_reads`.

use std::sync::Arc;

use async_trait::async_trait;
use auth::TokenKey;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::actor::Role;
use http_api::error::{ApiError, Problem};
use http_api::extract::{Authenticated, StrictQuery};
use http_api::{ApiState, Clock};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::channel::{Channel, ChannelKind, Delivery, DeliveryError, Receipt};
use crate::store::{Audience, DeadLetter, EndpointHealth, FeedItem, FeedPage, FeedReader, NewFeedItem, NotifyStore};

/// The most items one page of the feed holds.
pub const MAX_FEED_PAGE: u32 = 200;

/// The feed address of an audience: `user:<id>`, `unit:<code>`, `approvers:<code>`.
pub fn feed_address(audience: Audience, owner: &str) -> String {
    let prefix = match audience {
        Audience::User => "user",
        Audience::Unit => "unit",
        Audience::UnitApprovers => "approvers",
    };
    format!("{prefix}:{owner}")
}

/// The audience and owner of a feed address.
pub fn parse_feed_address(address: &str) -> Option<(Audience, &str)> {
    let (prefix, owner) = address.split_once(':')?;
    let audience = match prefix {
        "user" => Audience::User,
        "unit" => Audience::Unit,
        "approvers" => Audience::UnitApprovers,
        _ => return None,
    };
    (!owner.is_empty()).then_some((audience, owner))
}

/// Writes deliveries into the feed table.
pub struct FeedChannel {
    store: NotifyStore,
    clock: Arc<dyn Clock>,
}

impl FeedChannel {
    pub fn new(store: NotifyStore, clock: Arc<dyn Clock>) -> FeedChannel {
        FeedChannel { store, clock }
    }
}

#[async_trait]
impl Channel for FeedChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Feed
    }

    async fn deliver(&self, delivery: &Delivery) -> Result<Receipt, DeliveryError> {
        let (audience, owner) = parse_feed_address(&delivery.address)
            .ok_or_else(|| DeliveryError::Permanent(format!("{:?} is not a feed address", delivery.address)))?;
        let task = delivery.reminder.tasks.first();
        let item = NewFeedItem {
            delivery_id: delivery.delivery_id.clone(),
            audience,
            owner: owner.to_owned(),
            occurrence_key: delivery.reminder.occurrence_key.clone(),
            task_id: (delivery.reminder.tasks.len() == 1).then(|| task.map(|task| task.task_id)).flatten(),
            plan_id: task.map(|task| task.plan_id).unwrap_or_default(),
            subject: delivery.message.subject.clone(),
            body: delivery.message.body.clone(),
            due_at: delivery.reminder.due_at,
            created_at: self.clock.now(),
            late: delivery.reminder.late,
        };
        match self.store.insert_feed_item(&item).await {
            Ok(true) => Ok(Receipt { detail: format!("in the feed of {}", delivery.address) }),
            Ok(false) => Ok(Receipt { detail: format!("already in the feed of {}", delivery.address) }),
            Err(error) => Err(DeliveryError::Transient(format!("the feed table cannot be written: {error}"))),
        }
    }
}

/// What the feed routes share.
#[derive(Clone)]
pub struct FeedState {
    pub store: NotifyStore,
    pub token_key: Arc<TokenKey>,
    /// The business clock: when an item is marked read.
    pub clock: Arc<dyn Clock>,
    /// The clock tokens are checked against: the system's, even when the business clock is a test's.
    pub token_clock: Arc<dyn Clock>,
}

impl ApiState for FeedState {
    fn token_key(&self) -> &TokenKey {
        &self.token_key
    }

    fn now(&self) -> OffsetDateTime {
        self.token_clock.now()
    }

    fn body_limit_bytes(&self) -> usize {
        1024
    }
}

/// `GET /v1/notifications` and `POST /v1/notifications/{id}/read`.
pub fn router(state: FeedState) -> Router {
    Router::new()
        .route("/v1/notifications", get(list_notifications))
        .route("/v1/notifications/{id}/read", post(mark_read))
        .route("/v1/notifications/endpoints", get(list_endpoints))
        .route("/v1/notifications/endpoints/{name}/enable", post(enable_endpoint))
        .route("/v1/notifications/dead-letters", get(list_dead_letters))
        .with_state(state)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// Only items the caller has not marked read.
    pub unread: Option<bool>,
    /// Items per page, 1 to 200; 50 by default.
    pub limit: Option<u32>,
    /// Items older than this item (its `id`): the next page.
    pub before: Option<String>,
}

/// A page of the feed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FeedAnswer {
    pub notifications: Vec<FeedItem>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<String>,
}

/// The feed of the token's user: deliveries addressed to the user, to the user's unit, and (for approvers and
/// admins) the escalations to the unit's approvers, newest first.
#[utoipa::path(
    get, path = "/v1/notifications", tag = "notifications", params(FeedQuery),
    responses(
        (status = 200, body = FeedAnswer),
        (status = 401, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_notifications(
    State(state): State<FeedState>,
    Authenticated(actor): Authenticated,
    StrictQuery(query): StrictQuery<FeedQuery>,
) -> Result<Json<FeedAnswer>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_FEED_PAGE).contains(&limit) {
        return Err(ApiError::invalid("limit", format!("must be 1 to {MAX_FEED_PAGE}")));
    }
    let page = FeedPage { unread_only: query.unread.unwrap_or(false), limit, before: query.before.as_deref() };
    let notifications = state.store.feed(&reader_of(&actor), page).await.map_err(ApiError::internal)?;
    let next_before =
        (notifications.len() == limit as usize).then(|| notifications.last().map(|item| item.id.clone())).flatten();
    Ok(Json(FeedAnswer { notifications, next_before }))
}

/// Marks an item of the caller's feed read (for the caller only); 404 when the caller's feed has no such item.
#[utoipa::path(
    post, path = "/v1/notifications/{id}/read", tag = "notifications",
    params(("id" = String, Path, description = "the item's id")),
    responses(
        (status = 204), (status = 401, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn mark_read(
    State(state): State<FeedState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let marked = state.store.mark_read(&reader_of(&actor), &id, state.clock.now()).await.map_err(ApiError::internal)?;
    if marked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no notification {id} in your feed")))
    }
}

/// Webhook endpoints' health: consecutive failures, disabled or not and why (admins).
#[utoipa::path(
    get, path = "/v1/notifications/endpoints", tag = "notifications",
    responses((status = 200, body = [EndpointHealth]), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
pub async fn list_endpoints(
    State(state): State<FeedState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<Vec<EndpointHealth>>, ApiError> {
    require_admin(&actor)?;
    Ok(Json(state.store.endpoints().await.map_err(ApiError::internal)?))
}

/// Enables a webhook endpoint that was disabled after failing repeatedly (admins); its failures start over.
#[utoipa::path(
    post, path = "/v1/notifications/endpoints/{name}/enable", tag = "notifications",
    params(("name" = String, Path, description = "the endpoint's name in the rule file")),
    responses(
        (status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn enable_endpoint(
    State(state): State<FeedState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    require_admin(&actor)?;
    if state.store.enable_endpoint(&name).await.map_err(ApiError::internal)? {
        tracing::info!(endpoint = %name, actor_id = %actor.id, "webhook endpoint enabled");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no disabled webhook endpoint is named {name}")))
    }
}

/// The deliveries given up on, with their last error (admins).
#[utoipa::path(
    get, path = "/v1/notifications/dead-letters", tag = "notifications",
    responses((status = 200, body = [DeadLetter]), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
pub async fn list_dead_letters(
    State(state): State<FeedState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<Vec<DeadLetter>>, ApiError> {
    require_admin(&actor)?;
    Ok(Json(state.store.dead_letters().await.map_err(ApiError::internal)?))
}

fn require_admin(actor: &domain::actor::Actor) -> Result<(), ApiError> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!("role {} may not manage notification endpoints", actor.role)))
    }
}

fn reader_of(actor: &domain::actor::Actor) -> FeedReader {
    FeedReader {
        user_id: actor.id.clone(),
        unit: actor.unit.to_string(),
        sees_approver_items: matches!(actor.role, Role::Approver | Role::Admin),
    }
}

/// The feed's part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list_notifications, mark_read, list_endpoints, enable_endpoint, list_dead_letters),
    components(schemas(FeedAnswer, FeedItem, EndpointHealth, DeadLetter, Problem)),
    tags((name = "notifications", description = "the in-app feed of deadline and reporting reminders"))
)]
pub struct FeedApiDoc;
