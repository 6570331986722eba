//! A node started for a test, with an HTTP client and tokens.

use std::time::Duration;

use app::{Node, NodeConfig, Services};
use serde_json::{json, Value};

pub struct TestNode {
    pub node: Option<Node>,
    pub base_url: String,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    database: Option<event_store_postgres::testing::TestDatabase>,
}

/// Where the node keeps things.
pub enum Setup {
    /// SQLite and the in-process bus: embedded mode.
    Embedded,
    /// PostgreSQL for events and read models, NATS JetStream for the bus (a stream of the test's own).
    Cluster,
}

pub const NATS_URL: &str = "nats://127.0.0.1:4222";

impl TestNode {
    pub async fn start(setup: Setup) -> TestNode {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(std::env::var("TASKLEDGER_TEST_LOG").unwrap_or_else(|_| "warn".to_owned()))
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let mut config = NodeConfig::embedded(([127, 0, 0, 1], 0).into(), dir.path().to_owned());
        let mut database = None;
        if let Setup::Cluster = setup {
            let created = event_store_postgres::testing::TestDatabase::create().await;
            config.database_url = Some(created.url.clone());
            let namespace = format!("t{}", uuid::Uuid::new_v4().simple());
            config.nats_url = Some(std::env::var("TASKLEDGER_TEST_NATS_URL").unwrap_or_else(|_| NATS_URL.to_owned()));
            config.nats_stream = namespace.to_uppercase();
            config.nats_subject_prefix = format!("{namespace}.events");
            database = Some(created);
        }
        let node = app::start(&config, Services::ALL).await.unwrap_or_else(|error| {
            panic!(
                "the node did not start: {error:#}\nThese tests need PostgreSQL on 127.0.0.1:5432 and NATS with JetStream on \
                 127.0.0.1:4222 (see .ci/run for how to start them)."
            )
        });
        let base_url = format!("http://{}", node.address);
        TestNode { node: Some(node), base_url, client: reqwest::Client::new(), _dir: dir, database }
    }

    pub fn state(&self) -> &command_service::AppState {
        self.node.as_ref().unwrap().command.as_ref().unwrap()
    }

    pub fn token(&self, role: &str, unit: &str) -> String {
        let actor = domain_actor(role, unit);
        auth::mint(&self.state().token_key, &actor, time::OffsetDateTime::now_utc(), time::Duration::hours(1)).unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self.client.get(format!("{}{path}", self.base_url)).bearer_auth(token).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let response =
            self.client.post(format!("{}{path}", self.base_url)).bearer_auth(token).json(body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Creates a plan with two sections and answers its id and the command's position.
    pub async fn create_plan(&self) -> String {
        let body = json!({
            "agency": "SO-KHCN", "year": 2024, "title": format!("Kế hoạch thử {}", uuid::Uuid::new_v4()),
            "basis": ["QĐ số 184/QĐ-UBND ngày 24/01/2024"],
            "sections": [{"code": "I", "title": "NHIỆM VỤ TRỌNG TÂM"}, {"code": "II", "title": "NHIỆM VỤ CHẤP THUẬN"}]
        });
        let (status, answer) = self.post("/v1/plans", &self.token("planner", "VP-UBND"), &body).await;
        assert_eq!(status, 201, "{answer}");
        answer["id"].as_str().unwrap().to_owned()
    }

    pub async fn assign(&self, plan_id: &str, body: Value) -> (String, u64) {
        let (status, answer) =
            self.post(&format!("/v1/plans/{plan_id}/tasks"), &self.token("planner", "VP-UBND"), &body).await;
        assert_eq!(status, 201, "{answer}");
        (answer["id"].as_str().unwrap().to_owned(), answer["position"].as_u64().unwrap())
    }

    pub async fn report(&self, task_id: &str, unit: &str, as_of: &str, summary: &str) -> (u16, Value) {
        let body = json!({"as_of": as_of, "summary": summary, "progress": "in_progress"});
        self.post(&format!("/v1/tasks/{task_id}/reports"), &self.token("reporter", unit), &body).await
    }

    pub async fn stop(mut self) {
        if let Some(node) = self.node.take() {
            node.shutdown().await;
        }
        if let Some(database) = self.database.take() {
            database.drop_database().await;
        }
    }
}

pub fn domain_actor(role: &str, unit: &str) -> domain_types::Actor {
    domain_types::Actor {
        id: format!("{role}.{}", unit.to_lowercase()),
        name: format!("Cán bộ {unit}"),
        unit: domain_types::UnitCode::parse(unit).unwrap(),
        role: domain_types::Role::parse(role).unwrap(),
    }
}

pub mod domain_types {
    pub use domain::actor::{Actor, Role};
    pub use domain::unit_code::UnitCode;
}

pub fn task_body(section: &str, number: &str, title: &str, deadline: Option<&str>, lead_unit: &str) -> Value {
    let mut body = json!({"section": section, "number": number, "title": title, "lead_unit": lead_unit});
    if let Some(deadline) = deadline {
        body["deadline"] = json!(deadline);
    }
    body
}

/// Waits until `probe` holds, polling, for at most `limit`.
pub async fn eventually<F, Fut>(limit: Duration, mut probe: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if probe().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}
