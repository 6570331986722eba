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

    async fn wait_ready(&self) {
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

fn free_port() -> u16 {
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
