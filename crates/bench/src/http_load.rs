//! End-to-end load over HTTP: the command service's router served by axum on `127.0.0.1:0` in this process,
//! exactly as `taskledger serve` builds it, and clients that each own one task and file progress reports on it
//! in a loop through a keep-alive connection of their own.
//!
//! Every command is what a careful client sends: a bearer token, an `Idempotency-Key`, a realistic Vietnamese
//! report. Only `201 Created` counts as success. Each client's task keeps the reports it was given, so its
//! stream grows during the run as a real task's does (filing a report decides on the task without its earlier
//! reports, kept folded by the command service).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use auth::TokenKey;
use axum::serve::ListenerExt;
use command_service::{AppState, ServiceConfig};
use domain::actor::{Actor, Role};
use domain::unit_code::UnitCode;
use event_store::{EventStore, RecordedEvent, StreamId};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::machine;
use crate::measure::{Figures, Tally, Window};

/// The command service listening on a loopback port of this process.
pub(crate) struct InProcessServer {
    pub(crate) address: SocketAddr,
    token_key: Arc<TokenKey>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

/// The plan the benchmark's tasks are assigned in, and the tokens of who assigns and who reports.
pub(crate) struct Fixture {
    base_url: String,
    address: SocketAddr,
    client: reqwest::Client,
    planner_token: String,
    reporter_token: String,
    plan_id: String,
    /// Task numbers are unique in a section; the next one to assign.
    next_task_number: u32,
}

/// What one HTTP load run measured.
pub(crate) struct LoadResult {
    pub(crate) figures: Figures,
    /// The longest task stream at the end (events), which the last commands had to fold.
    pub(crate) max_stream_length: u64,
}

impl InProcessServer {
    pub(crate) async fn start(store: Arc<dyn EventStore>) -> anyhow::Result<InProcessServer> {
        let state = AppState::new(store, TokenKey::generate(), ServiceConfig::default());
        let token_key = state.token_key.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("cannot bind a loopback port")?;
        let address = listener.local_addr()?;
        let (shutdown, signal) = oneshot::channel::<()>();
        let router = command_service::router(state);
        // Answers leave at once instead of waiting for the client's delayed ACK (Nagle's algorithm).
        let listener = listener.tap_io(|stream| {
            let _ = stream.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = signal.await;
                })
                .await
        });
        Ok(InProcessServer { address, token_key, shutdown, task })
    }

    /// Stops accepting connections and waits (a few seconds at most) for the server to finish.
    pub(crate) async fn stop(self) {
        let _ = self.shutdown.send(());
        match tokio::time::timeout(Duration::from_secs(5), self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => eprintln!("the in-process server failed: {error}"),
            Ok(Err(join_error)) => eprintln!("the in-process server panicked: {join_error}"),
            Err(_) => eprintln!("the in-process server did not stop within 5 s"),
        }
    }

    fn token(&self, role: Role, id: &str, name: &str, unit: &str) -> anyhow::Result<String> {
        let actor = Actor {
            id: id.to_owned(),
            name: name.to_owned(),
            unit: UnitCode::parse(unit).map_err(|error| anyhow::anyhow!("unit {unit}: {error}"))?,
            role,
        };
        auth::mint(&self.token_key, &actor, time::OffsetDateTime::now_utc(), time::Duration::hours(12))
            .context("cannot mint a token")
    }
}

impl Fixture {
    /// Creates the plan through the API.
    pub(crate) async fn create(server: &InProcessServer) -> anyhow::Result<Fixture> {
        let mut fixture = Fixture {
            base_url: format!("http://{}", server.address),
            address: server.address,
            client: client()?,
            planner_token: server.token(Role::Planner, "chuyenvien.vp", "Trần Thị Bình", "VP-UBND")?,
            reporter_token: server.token(Role::Reporter, "chuyenvien.khcn", "Nguyễn Văn An", "SO-KHCN")?,
            plan_id: String::new(),
            next_task_number: 1,
        };
        let plan = json!({
            "agency": "SO-KHCN",
            "year": 2024,
            "title": "Danh mục nhiệm vụ trọng tâm năm 2024 của Sở Khoa học và Công nghệ",
            "basis": ["QĐ số 184/QĐ-UBND ngày 24/01/2024"],
            "sections": [{"code": "I", "title": "NHIỆM VỤ TRỌNG TÂM"}, {"code": "II", "title": "NHIỆM VỤ CHẤP THUẬN"}]
        });
        fixture.plan_id = fixture.command("/v1/plans", &fixture.planner_token, &plan).await?;
        Ok(fixture)
    }

    /// Assigns the next task of section I to SO-KHCN through the API and answers its id.
    pub(crate) async fn assign_task(&mut self) -> anyhow::Result<Uuid> {
        let number = self.next_task_number;
        self.next_task_number += 1;
        let task = json!({
            "section": "I",
            "number": number.to_string(),
            "title": "Hỗ trợ 03 doanh nghiệp áp dụng chương trình đảm bảo đo lường",
            "target": {"quantity": 3, "unit": "doanh nghiệp", "text": "03 doanh nghiệp được hỗ trợ"},
            "deadline": "2024-11",
            "lead_unit": "SO-KHCN",
            "coordinating_units": ["SO-TC"],
            "basis": ["Kế hoạch số 409/KH-UBND ngày 30/8/2021"]
        });
        let path = format!("/v1/plans/{}/tasks", self.plan_id);
        let id = self.command(&path, &self.planner_token, &task).await?;
        Uuid::parse_str(&id).with_context(|| format!("task id {id:?}"))
    }

    /// Files one report on a fresh task and reads the stored event back: the row the raw limit inserts.
    pub(crate) async fn stored_report(&mut self, store: &dyn EventStore) -> anyhow::Result<RecordedEvent> {
        let task_id = self.assign_task().await?;
        let mut connection = Connection::open(self.address, &self.reporter_token).await?;
        connection.file_report(&reports_path(task_id), 0).await.map_err(anyhow::Error::msg)?;
        let stream = StreamId(domain::ids::TaskId(task_id).stream_name());
        let events = store.read_stream(&stream, 0).await?;
        events.into_iter().last().context("the report was not stored")
    }

    /// `clients` clients, each on a task of its own assigned now, filing reports until the window ends.
    pub(crate) async fn run(
        &mut self,
        clients: usize,
        window_of: impl FnOnce() -> Window,
    ) -> anyhow::Result<LoadResult> {
        let mut paths = Vec::with_capacity(clients);
        for _ in 0..clients {
            let task_id = self.assign_task().await?;
            paths.push(reports_path(task_id));
        }
        drive(self.address, paths, &self.reporter_token, window_of).await
    }

    /// POSTs a command and answers the id of its `201` answer.
    async fn command(&self, path: &str, token: &str, body: &Value) -> anyhow::Result<String> {
        let response = self
            .client
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(token)
            .header("idempotency-key", Uuid::now_v7().to_string())
            .json(body)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let status = response.status();
        let answer: Value = response.json().await.with_context(|| format!("POST {path}: answer is not JSON"))?;
        if status != StatusCode::CREATED {
            bail!("POST {path} answered {status}: {answer}");
        }
        answer["id"].as_str().map(str::to_owned).with_context(|| format!("POST {path}: no id in {answer}"))
    }
}

/// Where reports on a task are filed.
fn reports_path(task_id: Uuid) -> String {
    format!("/v1/tasks/{task_id}/reports")
}

/// One client per path, each filing reports on its path through a keep-alive connection of its own to `address`
/// until the window ends.
async fn drive(
    address: SocketAddr,
    paths: Vec<String>,
    token: &str,
    window_of: impl FnOnce() -> Window,
) -> anyhow::Result<LoadResult> {
    let clients = paths.len();
    let mut connections = Vec::with_capacity(clients);
    for _ in 0..clients {
        connections.push(Connection::open(address, token).await?);
    }
    let window = window_of();
    let machine_busy = tokio::spawn(machine::busy_during(window));
    let mut tasks = tokio::task::JoinSet::new();
    for (path, mut connection) in paths.into_iter().zip(connections) {
        tasks.spawn(async move {
            let mut tally = Tally::new();
            let mut stream_length = 1_u64;
            let mut sequence = 0_u64;
            while let Some(started) = window.next_start() {
                sequence += 1;
                let result = connection.file_report(&path, sequence).await;
                if let Ok(version) = result {
                    stream_length = version;
                }
                tally.finish(window, started, result.map(drop));
            }
            (tally, stream_length)
        });
    }
    let mut tally = Tally::new();
    let mut max_stream_length = 0;
    while let Some(joined) = tasks.join_next().await {
        let (client_tally, stream_length) = joined.context("an HTTP client panicked")?;
        tally.merge(&client_tally);
        max_stream_length = max_stream_length.max(stream_length);
    }
    Ok(LoadResult {
        figures: Figures { machine_busy: machine_busy.await.ok().flatten(), ..tally.figures(clients, window) },
        max_stream_length,
    })
}

/// The HTTP floor of this machine: the same clients sending the same requests to an axum server in this process
/// whose one route reads the body and answers `201` with a command's answer at once (no token check, no JSON
/// parsing, no store). Whatever the command service does per request comes on top of this.
pub(crate) async fn http_floor(clients: usize, window_of: impl FnOnce() -> Window) -> anyhow::Result<Figures> {
    let router = axum::Router::new().route(
        "/v1/tasks/{task_id}/reports",
        axum::routing::post(|body: axum::body::Bytes| async move {
            let answer = format!(r#"{{"id":"{}","version":{},"position":1}}"#, Uuid::nil(), body.len());
            (axum::http::StatusCode::CREATED, [(axum::http::header::CONTENT_TYPE, "application/json")], answer)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("cannot bind a loopback port")?;
    let address = listener.local_addr()?;
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    let (shutdown, signal) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = signal.await;
            })
            .await
    });
    let paths = (0..clients).map(|_| reports_path(Uuid::now_v7())).collect();
    let load = drive(address, paths, "not-checked", window_of).await;
    let _ = shutdown.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    Ok(load?.figures)
}

/// The HTTP client of the setup (plans, tasks): one keep-alive connection, never a proxy.
fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build an HTTP client")
}

/// A load client's HTTP/1.1 keep-alive connection, written and read directly: the load generator shares the
/// machine's cores with the server it measures, so it does as little per request as a client can (as `wrk` and
/// its kind do): one `write` of the whole request, `read`s until the answer is complete, its head parsed by
/// `httparse`. Every request is complete: host, bearer token, a fresh `Idempotency-Key`, content type and length,
/// the body; only a `201 Created` with a `Content-Length` body counts.
struct Connection {
    stream: tokio::net::TcpStream,
    /// What every request of this connection starts with: the headers that do not change.
    fixed_headers: String,
    request: Vec<u8>,
    answer: Vec<u8>,
}

/// How long one request may take before the run fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// At most this many bytes of an answer's head are read.
const MAX_ANSWER_HEAD: usize = 16 * 1024;

impl Connection {
    async fn open(address: SocketAddr, token: &str) -> anyhow::Result<Connection> {
        let stream = tokio::net::TcpStream::connect(address).await.with_context(|| format!("connect to {address}"))?;
        stream.set_nodelay(true)?;
        let fixed_headers =
            format!("host: {address}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\n");
        Ok(Connection { stream, fixed_headers, request: Vec::with_capacity(2048), answer: Vec::with_capacity(1024) })
    }

    /// Files report number `sequence` on `path` and answers the task's version (its stream length) after it.
    async fn file_report(&mut self, path: &str, sequence: u64) -> Result<u64, String> {
        let body = report_body(sequence);
        self.request.clear();
        let head = format!(
            "POST {path} HTTP/1.1\r\n{}idempotency-key: {}\r\ncontent-length: {}\r\n\r\n",
            self.fixed_headers,
            Uuid::now_v7(),
            body.len()
        );
        self.request.extend_from_slice(head.as_bytes());
        self.request.extend_from_slice(body.as_bytes());
        let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, self.exchange())
            .await
            .map_err(|_| format!("POST {path}: no answer in {REQUEST_TIMEOUT:?}"))?
            .map_err(|error| format!("POST {path}: {error}"))?;
        if status != 201 {
            return Err(format!("POST {path} answered {status}: {}", String::from_utf8_lossy(body)));
        }
        let answer: Accepted = serde_json::from_slice(body)
            .map_err(|error| format!("POST {path}: {error} in {}", String::from_utf8_lossy(body)))?;
        Ok(answer.version)
    }

    /// Sends the request and reads its whole answer: the status and the body.
    async fn exchange(&mut self) -> Result<(u16, &[u8]), String> {
        self.stream.write_all(&self.request).await.map_err(|error| format!("sending: {error}"))?;
        self.answer.clear();
        let (status, head_length, body_length) = loop {
            self.read_some().await?;
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.answer).map_err(|error| format!("answer head: {error}"))? {
                httparse::Status::Complete(head_length) => {
                    let status = response.code.ok_or("answer without a status")?;
                    let body_length = content_length(response.headers)?;
                    break (status, head_length, body_length);
                }
                httparse::Status::Partial if self.answer.len() > MAX_ANSWER_HEAD => {
                    return Err(format!("answer head longer than {MAX_ANSWER_HEAD} bytes"));
                }
                httparse::Status::Partial => {}
            }
        };
        let total = head_length + body_length;
        while self.answer.len() < total {
            self.read_some().await?;
        }
        if self.answer.len() > total {
            return Err("bytes after the answer, which no request asked for".to_owned());
        }
        Ok((status, &self.answer[head_length..total]))
    }

    async fn read_some(&mut self) -> Result<(), String> {
        let read = self.stream.read_buf(&mut self.answer).await.map_err(|error| format!("reading: {error}"))?;
        if read == 0 {
            return Err("the server closed the connection".to_owned());
        }
        Ok(())
    }
}

/// The `Content-Length` of an answer's head; an answer without one (chunked) is not what the service sends.
fn content_length(headers: &[httparse::Header<'_>]) -> Result<usize, String> {
    let header = headers
        .iter()
        .find(|header| header.name.eq_ignore_ascii_case("content-length"))
        .ok_or("answer without a Content-Length")?;
    std::str::from_utf8(header.value)
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .ok_or_else(|| format!("Content-Length {:?}", String::from_utf8_lossy(header.value)))
}

/// What the benchmark reads of a command's `201` answer.
#[derive(serde::Deserialize)]
struct Accepted {
    version: u64,
}

/// A progress report as a department's staff would type it, numbered so that no two are alike. Written as JSON
/// text directly, so that the load generator spends as little as it can of the CPU the server needs.
fn report_body(sequence: u64) -> String {
    format!(
        "{{\"as_of\":\"2024-04-15\",\"summary\":\"Đến ngày 15/4/2024, Sở đã phối hợp với Sở Tài chính khảo sát nhu cầu \
         của 25/25 doanh nghiệp, tổ chức 02 lớp tập huấn về chương trình đảm bảo đo lường cho 120 lượt cán bộ kỹ \
         thuật; đang hoàn thiện hồ sơ hỗ trợ 03 doanh nghiệp áp dụng (cập nhật lần {sequence}).\",\"measures\":[\
         {{\"label\":\"Doanh nghiệp đã khảo sát\",\"achieved\":25,\"target\":25,\"unit\":\"doanh nghiệp\"}},\
         {{\"label\":\"Lớp tập huấn đã tổ chức\",\"achieved\":2,\"target\":3,\"unit\":\"lớp\"}}],\
         \"progress\":\"in_progress\",\"evidence\":[\"Kế hoạch số 23/KH-KHCN ngày 24/01/2024\",\
         \"Báo cáo số 45/BC-KHCN ngày 10/4/2024\"]}}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server on a loopback port that reads one request and answers `answer` in pieces, a few bytes at a time.
    async fn answering_in_pieces(answer: &[u8]) -> SocketAddr {
        let answer = answer.to_vec();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut request = vec![0; 4096];
            let _ = stream.read(&mut request).await.expect("read the request");
            for piece in answer.chunks(7) {
                stream.write_all(piece).await.expect("write");
                stream.flush().await.expect("flush");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        address
    }

    #[tokio::test]
    async fn an_answer_read_in_pieces_is_parsed_whole() {
        let body = r#"{"id":"x","version":42,"position":7}"#;
        let answer = format!(
            "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let address = answering_in_pieces(answer.as_bytes()).await;
        let mut connection = Connection::open(address, "token").await.expect("connect");
        assert_eq!(connection.file_report("/v1/tasks/x/reports", 1).await, Ok(42));
    }

    #[tokio::test]
    async fn only_a_201_counts() {
        let address = answering_in_pieces(b"HTTP/1.1 409 Conflict\r\ncontent-length: 8\r\n\r\nconflict").await;
        let mut connection = Connection::open(address, "token").await.expect("connect");
        let error = connection.file_report("/v1/tasks/x/reports", 1).await.expect_err("a 409 is a failure");
        assert!(error.contains("answered 409: conflict"), "{error}");
    }

    #[tokio::test]
    async fn an_answer_without_a_length_is_an_error() {
        let address = answering_in_pieces(b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n").await;
        let mut connection = Connection::open(address, "token").await.expect("connect");
        let error = connection.file_report("/v1/tasks/x/reports", 1).await.expect_err("no length");
        assert!(error.contains("without a Content-Length"), "{error}");
    }

    #[test]
    fn the_report_body_is_a_valid_report_numbered_by_its_sequence() {
        let body = report_body(7);
        let report: command_service::dto::ReportBody =
            serde_json::from_str(&body).expect("the service accepts the body");
        let content = report.content().expect("the report is valid");
        assert!(content.summary.as_str().ends_with("(cập nhật lần 7)."), "{}", content.summary);
        assert!(content.summary.as_str().contains("nhu cầu của 25/25 doanh nghiệp"), "{}", content.summary);
        assert_eq!(content.measures.len(), 2);
        assert_eq!(content.evidence.len(), 2);
    }
}
