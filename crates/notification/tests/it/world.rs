//! A whole notification service on real stores, driven by a test clock: an event store (a SQLite file or a fresh
//! PostgreSQL database from `event_store_postgres::testing`, which says how to start the server when it does not
//! answer), the read database beside it, the command service's router for writing commands as clients do, and
//! one or more replicas of the service (consumer and dispatcher) that the test steps by hand.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request};
use command_service::{AppState, ServiceConfig};
use domain::actor::{Actor, Role};
use domain::unit_code::UnitCode;
use event_store::EventStore;
use notification::clock::TestClock;
use notification::dispatcher::RoundReport;
use notification::rules::NotificationConfig;
use notification::service::{NotificationService, ServiceParts};
use projection::db::ReadDb;
use projection::runtime::ProjectorConfig;
use serde_json::Value;
use time::OffsetDateTime;
use tower::ServiceExt;
use uuid::Uuid;

pub struct World {
    pub events: Arc<dyn EventStore>,
    pub clock: TestClock,
    pub commands: AppState,
    pub replicas: Vec<NotificationService>,
    pub database_url: Option<String>,
    /// The NATS connection replicas get, for a rule file with `[nats]`.
    pub nats: Option<async_nats::Client>,
    dir: tempfile::TempDir,
    database: Option<event_store_postgres::testing::TestDatabase>,
}

/// Where the events and the notification tables are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl World {
    /// A world at `now` with `n_replicas` notification services sharing one read database.
    pub async fn start(backend: Backend, config: NotificationConfig, now: OffsetDateTime, n_replicas: usize) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let (events, database): (Arc<dyn EventStore>, _) = match backend {
            Backend::Sqlite => {
                let store = event_store_sqlite::SqliteEventStore::open(&dir.path().join("events.db"))
                    .await
                    .expect("open the SQLite event store");
                (Arc::new(store), None)
            }
            Backend::Postgres => {
                let (store, database) = event_store_postgres::testing::fresh_store().await;
                (Arc::new(store), Some(database))
            }
        };
        let database_url = database.as_ref().map(|database| database.url.clone());
        let clock = TestClock::at(now);
        let commands = AppState::new(events.clone(), auth::TokenKey::generate(), ServiceConfig::default());
        let mut world =
            World { events, clock, commands, replicas: Vec::new(), database_url, nats: None, dir, database };
        for index in 0..n_replicas {
            let service = world.replica(config.clone(), &format!("replica-{index}")).await;
            world.replicas.push(service);
        }
        world
    }

    /// A world on SQLite at `now` with one notification service connected to NATS.
    pub async fn start_on_nats(config: NotificationConfig, now: OffsetDateTime, nats: async_nats::Client) -> World {
        let mut world = World::start(Backend::Sqlite, config.clone(), now, 0).await;
        world.nats = Some(nats);
        let service = world.replica(config, "replica-0").await;
        world.replicas.push(service);
        world
    }

    /// A connection to the world's read database.
    pub async fn read_db(&self) -> ReadDb {
        match &self.database_url {
            Some(url) => ReadDb::connect(url).await.expect("connect the PostgreSQL read database"),
            None => ReadDb::open_sqlite(&self.dir.path().join("read.db")).await.expect("open the SQLite read database"),
        }
    }

    /// A new replica over the world's read database.
    pub async fn replica(&self, config: NotificationConfig, owner: &str) -> NotificationService {
        let read_db = self.read_db().await;
        let calendar = config.calendar().expect("the calendar loads");
        NotificationService::new(ServiceParts {
            read_db,
            events: self.events.clone(),
            config,
            calendar,
            clock: Arc::new(self.clock.clone()),
            nats: self.nats.clone(),
            owner: owner.to_owned(),
            projector: ProjectorConfig::default(),
        })
        .await
        .expect("the notification service starts")
    }

    pub fn service(&self) -> &NotificationService {
        &self.replicas[0]
    }

    /// Moves the clock to `instant`, derives from every new event, and dispatches until nothing is due, every
    /// replica at once.
    pub async fn step_to(&self, instant: OffsetDateTime) -> RoundReport {
        self.clock.set(instant);
        let mut total = RoundReport::default();
        for replica in &self.replicas {
            replica.catch_up().await.expect("the consumer catches up");
        }
        loop {
            let rounds = futures_util::future::join_all(
                self.replicas.iter().map(|replica| async move { replica.dispatcher.dispatch_once().await }),
            )
            .await;
            let mut n_claimed = 0;
            for round in rounds {
                let round = round.expect("a dispatch round");
                n_claimed += round.n_claimed;
                total.n_claimed += round.n_claimed;
                total.n_sent += round.n_sent;
                total.n_failed += round.n_failed;
                total.n_skipped += round.n_skipped;
                total.n_dead += round.n_dead;
                total.n_deferred += round.n_deferred;
            }
            if n_claimed == 0 {
                return total;
            }
            for replica in &self.replicas {
                replica.catch_up().await.expect("the consumer catches up");
            }
        }
    }

    /// Moves the clock to `instant` and runs one dispatch round of the first replica without letting the consumer
    /// catch up first: the service's own tables lag behind the ledger, as they may in a running service.
    pub async fn dispatch_before_catching_up(&self, instant: OffsetDateTime) -> RoundReport {
        self.clock.set(instant);
        self.replicas[0].dispatcher.dispatch_once().await.expect("a dispatch round")
    }

    /// Files a progress report on a task as of `as_of` (`YYYY-MM-DD`), as the unit's staff does.
    pub async fn report_progress(&self, task_id: Uuid, as_of: &str) {
        let (status, body) = self
            .command(
                &reporter(),
                Method::POST,
                &format!("/v1/tasks/{task_id}/reports"),
                serde_json::json!({"as_of": as_of, "summary": "Đang triển khai", "progress": "in_progress"}),
            )
            .await;
        assert_eq!(status, 201, "report: {body}");
    }

    /// Loads the seed's plan (Sở KH&CN Bắc Giang, 2024) through the command service.
    pub async fn load_demo(&self) -> command_service::demo::DemoPlan {
        command_service::demo::load(&self.commands).await.expect("the demo plan loads")
    }

    /// A command as a client sends it: answers the status and the JSON body.
    pub async fn command(&self, actor: &Actor, method: Method, uri: &str, body: Value) -> (u16, Value) {
        let token = auth::mint(&self.commands.token_key, actor, OffsetDateTime::now_utc(), time::Duration::hours(1))
            .expect("mint a token");
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", Uuid::now_v7().to_string())
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap();
        let response = command_service::router(self.commands.clone()).oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// A plan of 2024 with one task of SO-KHCN per deadline (API codes), numbered 1, 2, …: its id and theirs.
    pub async fn plan_with_tasks(&self, deadlines: &[&str]) -> (Uuid, Vec<Uuid>) {
        let planner = Actor {
            id: "vp.nguyenvanan".to_owned(),
            name: "Nguyễn Văn An".to_owned(),
            unit: UnitCode::parse("VP-UBND").unwrap(),
            role: Role::Planner,
        };
        let plan = serde_json::json!({
            "agency": "SO-KHCN", "year": 2024, "title": "Kế hoạch thử",
            "basis": ["QĐ số 184/QĐ-UBND ngày 24/01/2024"],
            "sections": [{"code": "I", "title": "NHIỆM VỤ TRỌNG TÂM"}]
        });
        let (status, body) = self.command(&planner, Method::POST, "/v1/plans", plan).await;
        assert_eq!(status, 201, "plan: {body}");
        let plan_id = Uuid::parse_str(body["id"].as_str().unwrap()).unwrap();
        let mut task_ids = Vec::new();
        for (index, deadline) in deadlines.iter().enumerate() {
            let task = serde_json::json!({
                "section": "I", "number": (index + 1).to_string(), "title": format!("Nhiệm vụ thử {}", index + 1),
                "deadline": deadline, "lead_unit": "SO-KHCN"
            });
            let (status, body) =
                self.command(&planner, Method::POST, &format!("/v1/plans/{plan_id}/tasks"), task).await;
            assert_eq!(status, 201, "task: {body}");
            task_ids.push(Uuid::parse_str(body["id"].as_str().unwrap()).unwrap());
        }
        (plan_id, task_ids)
    }

    /// Reports completion (the lead unit) and confirms it (the assigner), effective on `on`.
    pub async fn complete_task(&self, task_id: Uuid, on: &str) {
        let (status, body) = self
            .command(
                &reporter(),
                Method::POST,
                &format!("/v1/tasks/{task_id}/completion"),
                serde_json::json!({"as_of": on, "summary": "Đã hoàn thành", "evidence": []}),
            )
            .await;
        assert_eq!(status, 201, "completion: {body}");
        let (status, body) = self
            .command(
                &approver(),
                Method::POST,
                &format!("/v1/tasks/{task_id}/completion/confirmation"),
                serde_json::json!({"basis": ["QĐ số 184/QĐ-UBND ngày 24/01/2024"], "effective_on": on}),
            )
            .await;
        assert_eq!(status, 201, "confirmation: {body}");
    }

    /// Requests and approves a deadline extension to `new_deadline` (an API code), effective on `on`.
    pub async fn extend_deadline(&self, task_id: Uuid, new_deadline: &str, on: &str) {
        let (status, body) = self
            .command(
                &reporter(),
                Method::POST,
                &format!("/v1/tasks/{task_id}/deadline-extensions"),
                serde_json::json!({
                    "proposed_deadline": new_deadline, "reason": "Chờ kinh phí", "basis": [], "effective_on": on
                }),
            )
            .await;
        assert_eq!(status, 201, "extension request: {body}");
        let extension_id = body["id"].as_str().unwrap().to_owned();
        let (status, body) = self
            .command(
                &approver(),
                Method::POST,
                &format!("/v1/tasks/{task_id}/deadline-extensions/{extension_id}/approval"),
                serde_json::json!({"basis": ["Công văn số 1941/UBND-TH ngày 10/12/2024"], "effective_on": on}),
            )
            .await;
        assert_eq!(status, 201, "extension approval: {body}");
    }

    pub async fn teardown(self) {
        drop(self.replicas);
        if let Some(database) = self.database {
            database.drop_database().await;
        }
    }
}

pub fn reporter() -> Actor {
    Actor {
        id: "khcn.tranthibich".to_owned(),
        name: "Trần Thị Bích".to_owned(),
        unit: UnitCode::parse("SO-KHCN").unwrap(),
        role: Role::Reporter,
    }
}

pub fn approver() -> Actor {
    Actor {
        id: "vp.lanhdao".to_owned(),
        name: "Lãnh đạo Văn phòng".to_owned(),
        unit: UnitCode::parse("VP-UBND").unwrap(),
        role: Role::Approver,
    }
}
