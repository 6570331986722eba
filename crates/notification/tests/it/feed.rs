//! The in-app feed over HTTP: `GET /v1/notifications` for the token's user (their unit's items, their own, and for
//! approvers the unit's escalations), newest first, `unread`, paging; `POST /v1/notifications/{id}/read`; 401 and
//! 422 as everywhere else.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request};
use domain::actor::{Actor, Role};
use domain::unit_code::UnitCode;
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;

use crate::support::{at, date, Receivers, APPROVER_ID};
use crate::world::{Backend, World};

async fn call(router: &axum::Router, method: Method, uri: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn token(key: &auth::TokenKey, id: &str, unit: &str, role: Role) -> String {
    let actor =
        Actor { id: id.to_owned(), name: "Người dùng".to_owned(), unit: UnitCode::parse(unit).unwrap(), role };
    auth::mint(key, &actor, OffsetDateTime::now_utc(), Duration::hours(1)).unwrap()
}

#[tokio::test]
async fn the_feed_shows_a_user_their_units_reminders_newest_first_with_read_marks() {
    let receivers = Receivers::start().await;
    let config = receivers.config("[rules.reports]\nenabled = false");
    let world = World::start(Backend::Sqlite, config, at(date("2024-06-01"), 7, 0), 1).await;
    world.plan_with_tasks(&["2024-06-28"]).await;
    world.step_to(at(date("2024-06-01"), 7, 30)).await;
    for day in ["2024-06-10", "2024-06-19", "2024-06-25", "2024-06-27", "2024-06-28", "2024-07-01", "2024-07-08"] {
        world.step_to(at(date(day), 8, 1)).await;
    }
    let key = auth::TokenKey::generate();
    let router = world.service().routes(Arc::new(key.clone()));
    let staff = token(&key, "khcn.tranthibich", "SO-KHCN", Role::Reporter);

    let (status, _) = call(&router, Method::GET, "/v1/notifications", None).await;
    assert_eq!(status, 401);
    let (status, body) = call(&router, Method::GET, "/v1/notifications?limit=0", Some(&staff)).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("limit")));

    let (status, body) = call(&router, Method::GET, "/v1/notifications", Some(&staff)).await;
    assert_eq!(status, 200, "{body}");
    let items = body["notifications"].as_array().unwrap().clone();
    // 14, 7, 3, 1 working days before, on the day, and two overdue reminders.
    assert_eq!(items.len(), 7, "{body}");
    let created: Vec<&str> = items.iter().map(|item| item["created_at"].as_str().unwrap()).collect();
    assert!(created.windows(2).all(|pair| pair[0] >= pair[1]), "newest first: {created:?}");
    assert!(items[0]["occurrence_key"].as_str().unwrap().starts_with("overdue:"));
    assert!(items[0]["subject"].as_str().unwrap().contains("Nhiệm vụ"), "{}", items[0]["subject"]);

    // Another unit sees none of them; the approver sees the escalation addressed to them.
    let other = token(&key, "vp.someone", "VP-UBND", Role::Reporter);
    let (_, body) = call(&router, Method::GET, "/v1/notifications", Some(&other)).await;
    assert_eq!(body["notifications"].as_array().unwrap().len(), 0);
    let approver = token(&key, APPROVER_ID, "SO-KHCN", Role::Approver);
    let (_, body) = call(&router, Method::GET, "/v1/notifications", Some(&approver)).await;
    let escalations = body["notifications"].as_array().unwrap().len();
    assert_eq!(escalations, 7 + 1, "the unit's items and the escalated 2nd overdue reminder: {body}");

    // Paging.
    let (_, page) = call(&router, Method::GET, "/v1/notifications?limit=4", Some(&staff)).await;
    let next = page["next_before"].as_str().unwrap().to_owned();
    let (_, rest) = call(&router, Method::GET, &format!("/v1/notifications?limit=4&before={next}"), Some(&staff)).await;
    assert_eq!(rest["notifications"].as_array().unwrap().len(), 3);

    // Read marks are per user.
    let first = items[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = call(&router, Method::POST, &format!("/v1/notifications/{first}/read"), Some(&staff)).await;
    assert_eq!(status, 204);
    let (_, unread) = call(&router, Method::GET, "/v1/notifications?unread=true", Some(&staff)).await;
    assert_eq!(unread["notifications"].as_array().unwrap().len(), 6);
    let colleague = token(&key, "khcn.other", "SO-KHCN", Role::Reporter);
    let (_, unread) = call(&router, Method::GET, "/v1/notifications?unread=true", Some(&colleague)).await;
    assert_eq!(unread["notifications"].as_array().unwrap().len(), 7);
    let (status, _) = call(&router, Method::POST, &format!("/v1/notifications/{first}/read"), Some(&other)).await;
    assert_eq!(status, 404, "not in that user's feed");

    // Operators' routes are for admins.
    let (status, _) = call(&router, Method::GET, "/v1/notifications/dead-letters", Some(&staff)).await;
    assert_eq!(status, 403);
    let admin = token(&key, "admin", "VP-UBND", Role::Admin);
    let (status, body) = call(&router, Method::GET, "/v1/notifications/endpoints", Some(&admin)).await;
    assert_eq!(status, 200, "{body}");
    world.teardown().await;
}
