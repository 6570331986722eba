//! Starting and stopping the real `taskledger` binary, and talking to it over HTTP.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const BINARY: &str = env!("CARGO_BIN_EXE_taskledger");

/// A running server process.
pub struct Server {
    pub child: Child,
    pub base_url: String,
    pub data_dir: PathBuf,
}

/// Where the server keeps its events.
#[derive(Clone)]
pub enum Backend {
    Sqlite,
    Postgres { url: String },
}

impl Server {
    pub async fn start(data_dir: &Path, backend: &Backend) -> Server {
        let port = free_port();
        let mut command = Command::new(BINARY);
        command
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data_dir)
            .env_remove("TASKLEDGER_TOKEN_KEY")
            .env_remove("TASKLEDGER_DATABASE_URL")
            .env("TASKLEDGER_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Backend::Postgres { url } = backend {
            command.arg("--database-url").arg(url);
        }
        let child = command.spawn().expect("start taskledger serve");
        let server = Server { child, base_url: format!("http://127.0.0.1:{port}"), data_dir: data_dir.to_owned() };
        server.wait_ready().await;
        server
    }

    pub async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(response) = client.get(format!("{}/readyz", self.base_url)).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("taskledger serve did not become ready at {}", self.base_url);
    }

    /// SIGKILL: no shutdown hook runs.
    pub fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
    }

    pub fn token(&self, user: &str, unit: &str, role: &str) -> String {
        let output = run_cli(
            &["token", "--user", user, "--name", "Người dùng thử", "--unit", unit, "--role", role, "--data-dir"],
            &self.data_dir,
        );
        assert!(output.status.success(), "token failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary with arguments, the last one followed by `dir`.
pub fn run_cli(args: &[&str], dir: &Path) -> Output {
    Command::new(BINARY)
        .args(args)
        .arg(dir)
        .env_remove("TASKLEDGER_TOKEN_KEY")
        .env_remove("TASKLEDGER_DATABASE_URL")
        .env("TASKLEDGER_LOG", "warn")
        .output()
        .expect("run taskledger")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A small HTTP client for the API.
#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base_url: String,
    pub token: String,
}

impl Api {
    pub fn new(server: &Server, token: String) -> Api {
        Api { client: reqwest::Client::new(), base_url: server.base_url.clone(), token }
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<(u16, Value), reqwest::Error> {
        let response =
            self.client.post(format!("{}{path}", self.base_url)).bearer_auth(&self.token).json(body).send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response =
            self.client.get(format!("{}{path}", self.base_url)).bearer_auth(&self.token).send().await.expect("GET");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn create_plan_with_tasks(&self, n_tasks: usize) -> Vec<String> {
        let plan = json!({
            "agency": "SO-KHCN", "year": 2024, "title": "Kế hoạch thử",
            "basis": ["QĐ số 184/QĐ-UBND ngày 24/01/2024"],
            "sections": [{"code": "I", "title": "NHIỆM VỤ TRỌNG TÂM"}]
        });
        let (status, body) = self.post("/v1/plans", &plan).await.unwrap();
        assert_eq!(status, 201, "{body}");
        let plan_id = body["id"].as_str().unwrap().to_owned();
        let mut task_ids = Vec::new();
        for number in 1..=n_tasks {
            let task = json!({
                "section": "I", "number": number.to_string(), "title": format!("Nhiệm vụ thử {number}"),
                "deadline": "2024-12", "lead_unit": "SO-KHCN"
            });
            let (status, body) = self.post(&format!("/v1/plans/{plan_id}/tasks"), &task).await.unwrap();
            assert_eq!(status, 201, "{body}");
            task_ids.push(body["id"].as_str().unwrap().to_owned());
        }
        task_ids
    }
}

/// Where the services of a cluster test keep things: a fresh PostgreSQL database for events and read models, a
/// JetStream stream and subject prefix of the test's own on the shared NATS server, and a data dir for the token
/// key. The stream is deleted when the cluster is dropped; the database by [`Cluster::teardown`].
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub database: event_store_postgres::testing::TestDatabase,
    pub nats_url: String,
    pub stream: String,
    pub subject_prefix: String,
}

impl Cluster {
    pub async fn create() -> Cluster {
        let nats_url = std::env::var("TASKLEDGER_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
        let address = nats_url.trim_start_matches("nats://").to_owned();
        let reachable = std::net::ToSocketAddrs::to_socket_addrs(&address)
            .ok()
            .and_then(|mut addresses| addresses.next())
            .is_some_and(|address| std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok());
        assert!(
            reachable,
            "NATS with JetStream is not reachable at {nats_url}; start it with: start-stop-daemon --start --oknodo \
             --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server"
        );
        let namespace = format!("t{}", uuid::Uuid::new_v4().simple());
        Cluster {
            dir: tempfile::tempdir().unwrap(),
            database: event_store_postgres::testing::TestDatabase::create().await,
            nats_url,
            stream: namespace.to_uppercase(),
            subject_prefix: format!("{namespace}.events"),
        }
    }

    /// The flags that put a service on this cluster.
    pub fn service_args(&self) -> Vec<String> {
        let mut args: Vec<String> = ["--data-dir"].iter().map(|arg| (*arg).to_owned()).collect();
        args.push(self.dir.path().display().to_string());
        for (flag, value) in [
            ("--database-url", &self.database.url),
            ("--nats-url", &self.nats_url),
            ("--nats-stream", &self.stream),
            ("--nats-subject-prefix", &self.subject_prefix),
        ] {
            args.push(flag.to_owned());
            args.push(value.clone());
        }
        args
    }

    /// The event store, as a process of the cluster opens it.
    pub async fn store(&self) -> event_store_postgres::PostgresEventStore {
        event_store_postgres::PostgresEventStore::connect(&self.database.url).await.expect("open the event store")
    }

    /// The read database the projection services share.
    pub async fn read_db(&self) -> projection::db::ReadDb {
        projection::db::ReadDb::connect(&self.database.url).await.expect("open the read database")
    }

    /// A bus on this cluster's stream, to look at what the relays published.
    pub async fn bus(&self) -> bus_nats::NatsBus {
        let config = bus_nats::NatsBusConfig {
            stream_name: self.stream.clone(),
            subject_prefix: self.subject_prefix.clone(),
            ..bus_nats::NatsBusConfig::default()
        };
        bus_nats::NatsBus::connect(&self.nats_url, config).await.expect("connect to the cluster's stream")
    }

    /// How many messages the stream holds.
    pub async fn n_stream_messages(&self) -> u64 {
        let client = async_nats::connect(self.nats_url.as_str()).await.expect("connect to NATS");
        let mut stream = async_nats::jetstream::new(client).get_stream(&self.stream).await.expect("the stream");
        stream.info().await.expect("stream info").state.messages
    }

    /// Runs `taskledger projections rebuild` on the cluster's databases; answers what it printed.
    pub fn rebuild_projections(&self) -> String {
        let output =
            run_cli(&["projections", "rebuild", "--database-url", &self.database.url, "--data-dir"], self.dir.path());
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "rebuild failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
        stdout
    }

    pub async fn teardown(self) {
        self.database.drop_database().await;
    }
}

impl Drop for Cluster {
    /// Deletes the stream, best effort, on a thread of its own so that it also runs when a test panics.
    fn drop(&mut self) {
        let url = self.nats_url.clone();
        let stream = self.stream.clone();
        let deleting = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let connecting = async_nats::ConnectOptions::new().connection_timeout(Duration::from_secs(1));
                if let Ok(client) = connecting.connect(url.as_str()).await {
                    let _ = async_nats::jetstream::new(client).delete_stream(&stream).await;
                }
            });
        });
        let _ = deleting.join();
    }
}

impl Server {
    /// Starts one service of a cluster (`command-service` or `projection-service`) and waits until it is ready.
    pub async fn start_service(service: &str, cluster: &Cluster) -> Server {
        let port = free_port();
        let child = Command::new(BINARY)
            .arg(service)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .args(cluster.service_args())
            .env_remove("TASKLEDGER_TOKEN_KEY")
            .env_remove("TASKLEDGER_DATABASE_URL")
            .env_remove("TASKLEDGER_READ_DATABASE_URL")
            .env("TASKLEDGER_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("start taskledger {service}: {error}"));
        let server =
            Server { child, base_url: format!("http://127.0.0.1:{port}"), data_dir: cluster.dir.path().to_owned() };
        server.wait_ready().await;
        server
    }
}

/// Polls `probe` until it holds; fails the test naming `what` after `limit`.
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !probe().await {
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Api {
    /// Each read model's checkpoint, from `GET /v1/projections` of a projection service.
    pub async fn checkpoints(&self) -> Vec<u64> {
        let (status, body) = self.get("/v1/projections").await;
        assert_eq!(status, 200, "{body}");
        body.as_array()
            .expect("a list of read models")
            .iter()
            .map(|model| model["checkpoint"].as_u64().unwrap())
            .collect()
    }
}

/// Reports acknowledged by the command service during a [`Burst`], per task, and the highest position answered.
#[derive(Debug, Default, Clone)]
pub struct Acknowledged {
    pub report_ids: std::collections::HashMap<String, std::collections::HashSet<String>>,
    pub last_position: u64,
}

impl Acknowledged {
    pub fn n_reports(&self) -> usize {
        self.report_ids.values().map(std::collections::HashSet::len).sum()
    }
}

/// Clients filing reports as fast as the command service answers, one task each, until stopped or until the
/// service stops answering.
pub struct Burst {
    acknowledged: std::sync::Arc<std::sync::Mutex<Acknowledged>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    clients: Vec<tokio::task::JoinHandle<()>>,
}

impl Burst {
    pub fn start(reporter: &Api, task_ids: &[String]) -> Burst {
        let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Acknowledged::default()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let clients = task_ids
            .iter()
            .map(|task_id| {
                let (reporter, task_id, acknowledged, stop) =
                    (reporter.clone(), task_id.clone(), acknowledged.clone(), stop.clone());
                tokio::spawn(async move {
                    for index in 0.. {
                        if stop.load(std::sync::atomic::Ordering::Relaxed) {
                            return;
                        }
                        let as_of = format!("2024-04-{:02}", 1 + index % 28);
                        let body =
                            json!({"as_of": as_of, "summary": format!("Báo cáo lần {index}: đã khảo sát {index}/25")});
                        match reporter.post(&format!("/v1/tasks/{task_id}/reports"), &body).await {
                            Ok((201, answer)) => {
                                let mut acknowledged = acknowledged.lock().unwrap();
                                let report_id = answer["id"].as_str().unwrap().to_owned();
                                acknowledged.report_ids.entry(task_id.clone()).or_default().insert(report_id);
                                acknowledged.last_position =
                                    acknowledged.last_position.max(answer["position"].as_u64().unwrap());
                            }
                            Ok((status, answer)) => panic!("unexpected {status}: {answer}"),
                            Err(_) => return,
                        }
                    }
                })
            })
            .collect();
        Burst { acknowledged, stop, clients }
    }

    pub fn n_acknowledged(&self) -> usize {
        self.acknowledged.lock().unwrap().n_reports()
    }

    /// Waits until at least `n_reports` more reports are acknowledged than now.
    pub async fn wait_for_more(&self, n_reports: usize) {
        let target = self.n_acknowledged() + n_reports;
        wait_until(&format!("{target} reports are acknowledged"), Duration::from_secs(30), || async {
            self.n_acknowledged() >= target
        })
        .await;
    }

    /// Stops the clients (or waits for them to find the service gone) and answers what was acknowledged.
    pub async fn finish(self) -> Acknowledged {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for client in self.clients {
            client.await.expect("a burst client");
        }
        let acknowledged = self.acknowledged.lock().unwrap().clone();
        acknowledged
    }
}
