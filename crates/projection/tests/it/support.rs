//! What the tests share: a real event store (a SQLite file or a fresh PostgreSQL database) written through the
//! domain's own decisions, read databases, snapshots of read models, and a small seeded random number generator.
//!
//! Events reach the store as the command service writes them: a command is decided by `domain` on the state folded
//! from the stream, turned into a stored event by `command_service::ledger::new_event`, and appended with the
//! stream's version as the expected version.

use std::sync::Arc;

use command_service::ledger::{Ledger, ViewFilter};
use domain::actor::{Actor, Role};
use domain::deadline::Deadline;
use domain::document_ref::DocumentRef;
use domain::error::DomainError;
use domain::ids::{PlanId, ReportId, TaskId};
use domain::numbering::{SectionCode, TaskNumber};
use domain::plan::{CreatePlan, PlanEvent, Section};
use domain::task::{AssignTask, ReportContent, Task, TaskCommand, TaskEvent};
use domain::text::NonEmptyText;
use domain::unit_code::UnitCode;
use event_store::{AppendOutcome, AppendRequest, EventStore, ExpectedVersion, NewEvent, StreamAppend, StreamId};
use projection::db::ReadDb;
use projection::queries::BoardTask;
use projection::rebuild::{rebuild, snapshot, RebuildReport};
use projection::runtime::ProjectorConfig;
use projection::ProjectionService;
use time::Date;
use uuid::Uuid;

/// Every table of every read model, as text: `(model, [(table, rows)])`.
pub type Snapshot = Vec<(String, Vec<(String, Vec<String>)>)>;

/// Where a test keeps its events and read models; dropping it removes the SQLite files. A PostgreSQL database is
/// dropped by [`TestStores::teardown`].
pub struct TestStores {
    pub store: Arc<dyn EventStore>,
    /// The URL of the PostgreSQL database holding the events (read models may live there too).
    pub postgres_url: Option<String>,
    dir: tempfile::TempDir,
    database: Option<event_store_postgres::testing::TestDatabase>,
}

impl TestStores {
    /// Events in a SQLite file of a fresh temporary directory.
    pub async fn sqlite() -> TestStores {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = event_store_sqlite::SqliteEventStore::open(&dir.path().join("events.db"))
            .await
            .expect("open the SQLite event store");
        TestStores { store: Arc::new(store), postgres_url: None, dir, database: None }
    }

    /// Events in a fresh PostgreSQL database (see `event_store_postgres::testing` for the server it needs).
    pub async fn postgres() -> TestStores {
        let (store, database) = event_store_postgres::testing::fresh_store().await;
        TestStores {
            store: Arc::new(store),
            postgres_url: Some(database.url.clone()),
            dir: tempfile::tempdir().expect("temp dir"),
            database: Some(database),
        }
    }

    /// A read database of its own: a new SQLite file named `name`.
    pub async fn sqlite_read_db(&self, name: &str) -> ReadDb {
        ReadDb::open_sqlite(&self.dir.path().join(format!("{name}.db"))).await.expect("open a SQLite read database")
    }

    /// A new pool on the PostgreSQL database of the events: the read database of a cluster deployment.
    pub async fn postgres_read_db(&self) -> ReadDb {
        let url = self.postgres_url.as_deref().expect("a PostgreSQL test store");
        ReadDb::connect(url).await.expect("connect the PostgreSQL read database")
    }

    pub fn ledger(&self) -> TestLedger {
        TestLedger::new(self.store.clone())
    }

    pub async fn teardown(self) {
        if let Some(database) = self.database {
            database.drop_database().await;
        }
    }
}

/// The projection service over a read database, with a batch size of the test's choosing.
pub async fn service(db: &ReadDb, store: &Arc<dyn EventStore>, batch_size: usize) -> ProjectionService {
    let config = ProjectorConfig { batch_size, ..ProjectorConfig::default() };
    ProjectionService::new(db.clone(), store.clone(), config).await.expect("prepare the read models")
}

/// The active generation of every read model, as text.
pub async fn snapshot_active(db: &ReadDb) -> Snapshot {
    let mut models = Vec::new();
    for model in projection::read_models() {
        let generation = db.generation(model.name()).await.expect("active generation");
        models.push((model.name().to_owned(), snapshot(db, model.as_ref(), generation).await.expect("snapshot")));
    }
    models
}

/// Rebuilds every read model into its next generation (which becomes active).
pub async fn rebuild_all(db: &ReadDb, store: &dyn EventStore, batch_size: usize) -> Vec<RebuildReport> {
    let mut reports = Vec::new();
    for model in projection::read_models() {
        reports.push(rebuild(db, store, model, batch_size).await.expect("rebuild"));
    }
    reports
}

/// Asserts two snapshots are equal, naming the first table and row that differ.
pub fn assert_same_models(actual: &Snapshot, expected: &Snapshot, context: &str) {
    assert_eq!(actual.len(), expected.len(), "{context}: models differ");
    for ((model, tables), (expected_model, expected_tables)) in actual.iter().zip(expected) {
        assert_eq!(model, expected_model, "{context}");
        for ((table, rows), (_, expected_rows)) in tables.iter().zip(expected_tables) {
            if rows != expected_rows {
                let first_difference = rows
                    .iter()
                    .zip(expected_rows)
                    .find(|(row, expected_row)| row != expected_row)
                    .map(|(row, expected_row)| format!("\n  actual:   {row:?}\n  expected: {expected_row:?}"))
                    .unwrap_or_default();
                panic!(
                    "{context}: table {table} of model {model} differs ({} rows, expected {}){first_difference}",
                    rows.len(),
                    expected_rows.len()
                );
            }
        }
    }
}

/// Who acts in the tests: the provincial office plans and approves; departments report on their own tasks.
pub fn planner() -> Actor {
    actor(Role::Planner, "VP-UBND")
}

pub fn approver() -> Actor {
    actor(Role::Approver, "VP-UBND")
}

pub fn reporter(unit: &str) -> Actor {
    actor(Role::Reporter, unit)
}

pub fn actor(role: Role, unit: &str) -> Actor {
    Actor {
        id: format!("{role}.{}", unit.to_lowercase()),
        name: format!("Cán bộ {unit}"),
        unit: UnitCode::parse(unit).expect("unit code"),
        role,
    }
}

pub fn text(value: &str) -> NonEmptyText {
    NonEmptyText::parse(value, 10_000).expect("non-empty text")
}

pub fn document() -> DocumentRef {
    DocumentRef::parse("QĐ số 184/QĐ-UBND ngày 24/01/2024").expect("document reference")
}

pub fn deadline(code: &str) -> Deadline {
    Deadline::parse_code(code).expect("deadline code")
}

pub fn report_content(as_of: Date, summary: &str) -> ReportContent {
    ReportContent { as_of, summary: text(summary), measures: Vec::new(), progress: None, evidence: Vec::new() }
}

/// A node to assign in a plan.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub section: &'static str,
    pub number: String,
    pub parent_id: Option<TaskId>,
    pub title: String,
    pub deadline: Option<Deadline>,
    pub lead_unit: &'static str,
}

impl NodeSpec {
    pub fn task(section: &'static str, number: u16, deadline: Option<&str>, lead_unit: &'static str) -> NodeSpec {
        NodeSpec {
            section,
            number: number.to_string(),
            parent_id: None,
            title: format!("Nhiệm vụ thử số {number} của mục {section}"),
            deadline: deadline.map(self::deadline),
            lead_unit,
        }
    }

    pub fn indicator(parent: &NodeSpec, parent_id: TaskId, index: u16, deadline: Option<&str>) -> NodeSpec {
        NodeSpec {
            section: parent.section,
            number: format!("{}.{index}", parent.number),
            parent_id: Some(parent_id),
            title: format!("Chỉ tiêu {index} của nhiệm vụ {}", parent.number),
            deadline: deadline.map(self::deadline),
            lead_unit: parent.lead_unit,
        }
    }
}

/// Writes plans and tasks through the domain and reads them back folded, like the command service.
#[derive(Clone)]
pub struct TestLedger {
    pub store: Arc<dyn EventStore>,
    reader: Ledger,
}

impl TestLedger {
    pub fn new(store: Arc<dyn EventStore>) -> TestLedger {
        TestLedger { reader: Ledger::new(store.clone()), store }
    }

    /// Creates a plan with sections I and II.
    pub async fn create_plan(&self, title: &str) -> PlanId {
        let plan_id = PlanId(Uuid::now_v7());
        let command = CreatePlan {
            plan_id,
            agency: UnitCode::parse("SO-KHCN").unwrap(),
            year: 2024,
            title: text(title),
            basis: vec![document()],
            sections: vec![
                Section { code: SectionCode::parse("I").unwrap(), title: text("NHIỆM VỤ TRỌNG TÂM") },
                Section { code: SectionCode::parse("II").unwrap(), title: text("NHIỆM VỤ CHẤP THUẬN") },
            ],
        };
        let events = domain::plan::create_plan(None, command, &planner()).expect("the plan is valid");
        let stream_id = StreamId(plan_id.stream_name());
        let write = StreamAppend {
            stream_id: stream_id.clone(),
            expected_version: ExpectedVersion::NoStream,
            events: events.iter().map(|event| stored(event, None)).collect(),
        };
        self.append(&planner(), plan_id.to_string(), stream_id, vec![write]).await;
        plan_id
    }

    /// Assigns a task or an indicator: the plan's registration and the task's first event in one append.
    pub async fn assign(&self, plan_id: PlanId, node: &NodeSpec) -> Result<TaskId, DomainError> {
        let (plan, plan_version) =
            self.reader.load_plan(plan_id, ViewFilter::default()).await.expect("read the plan").expect("the plan");
        let parent = match node.parent_id {
            Some(parent_id) => self.task(parent_id).await,
            None => None,
        };
        let command = AssignTask {
            task_id: TaskId(Uuid::now_v7()),
            section: SectionCode::parse(node.section).unwrap(),
            number: TaskNumber::parse(&node.number).unwrap(),
            parent_id: node.parent_id,
            title: node.title.clone(),
            target: None,
            deadline: node.deadline,
            lead_unit: UnitCode::parse(node.lead_unit).unwrap(),
            coordinating_units: Vec::new(),
            basis: vec![document()],
        };
        let (registered, assigned) = domain::plan::assign_task(&plan, parent.as_ref(), command, &planner())?;
        let task_id = assigned.task_id;
        let task_stream = StreamId(task_id.stream_name());
        let writes = vec![
            StreamAppend {
                stream_id: StreamId(plan_id.stream_name()),
                expected_version: ExpectedVersion::Exact(plan_version),
                events: vec![stored::<PlanEvent>(&registered, None)],
            },
            StreamAppend {
                stream_id: task_stream.clone(),
                expected_version: ExpectedVersion::NoStream,
                events: vec![stored(&TaskEvent::TaskAssigned(assigned), None)],
            },
        ];
        self.append(&planner(), task_id.to_string(), task_stream, writes).await;
        Ok(task_id)
    }

    /// Decides a command on the task as its stream leaves it and appends the events with the version it read.
    pub async fn decide(
        &self,
        task_id: TaskId,
        command: TaskCommand,
        actor: &Actor,
    ) -> Result<AppendOutcome, DomainError> {
        let task = self.task(task_id).await.expect("the task exists");
        let events = domain::task::decide(&task, command, actor)?;
        let stream_id = StreamId(task_id.stream_name());
        let write = StreamAppend {
            stream_id: stream_id.clone(),
            expected_version: ExpectedVersion::Exact(task.version),
            events: events.iter().map(|event| stored(event, event.effective_date())).collect(),
        };
        Ok(self.append(actor, task_id.to_string(), stream_id, vec![write]).await)
    }

    /// Files a report; answers its id and where it landed.
    pub async fn report(&self, task_id: TaskId, unit: &str, as_of: Date, summary: &str) -> (ReportId, AppendOutcome) {
        let report_id = ReportId(Uuid::now_v7());
        let command = TaskCommand::FileReport { report_id, content: report_content(as_of, summary) };
        let outcome = self.decide(task_id, command, &reporter(unit)).await.expect("the report is accepted");
        (report_id, outcome)
    }

    /// Appends one event as given, without any decision: how a poisoned event gets into a stream.
    pub async fn append_raw(
        &self,
        stream_id: StreamId,
        event_type: &str,
        payload: serde_json::Value,
        actor: &Actor,
    ) -> AppendOutcome {
        let event = NewEvent {
            event_id: Uuid::now_v7(),
            event_type: event_type.to_owned(),
            schema_version: domain::task::SCHEMA_VERSION,
            effective_date: None,
            payload,
        };
        let write =
            StreamAppend { stream_id: stream_id.clone(), expected_version: ExpectedVersion::Any, events: vec![event] };
        self.append(actor, stream_id.0.clone(), stream_id, vec![write]).await
    }

    /// Appends a domain event as it is, without a decision (for streams the domain can no longer fold).
    pub async fn append_event(&self, task_id: TaskId, event: &TaskEvent, actor: &Actor) -> AppendOutcome {
        let stream_id = StreamId(task_id.stream_name());
        let write = StreamAppend {
            stream_id: stream_id.clone(),
            expected_version: ExpectedVersion::Any,
            events: vec![stored(event, event.effective_date())],
        };
        self.append(actor, task_id.to_string(), stream_id, vec![write]).await
    }

    /// The task as its whole stream leaves it.
    pub async fn task(&self, task_id: TaskId) -> Option<Task> {
        self.reader.load_task(task_id, ViewFilter::default()).await.expect("fold the task")
    }

    pub fn reader(&self) -> &Ledger {
        &self.reader
    }

    async fn append(
        &self,
        actor: &Actor,
        subject_id: String,
        subject_stream: StreamId,
        streams: Vec<StreamAppend>,
    ) -> AppendOutcome {
        let request = AppendRequest {
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            actor: event_store::Actor {
                id: actor.id.clone(),
                name: actor.name.clone(),
                unit: actor.unit.to_string(),
                role: actor.role.to_string(),
            },
            idempotency: None,
            subject_id,
            subject_stream,
            streams,
        };
        self.store.append(request).await.expect("the store appends")
    }
}

/// A domain event as the command service stores it.
fn stored<E: serde::Serialize>(event: &E, effective_date: Option<Date>) -> NewEvent {
    command_service::ledger::new_event(event, effective_date).expect("a domain event serialises")
}

/// SplitMix64: a seeded generator, so that a failing interleaving can be told by its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn seeded(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The projector of the read model `name`.
pub fn projector(service: &ProjectionService, name: &str) -> Arc<projection::runtime::Projector> {
    service.projectors.iter().find(|projector| projector.name() == name).expect("a read model of that name").clone()
}

/// The task board of a plan on a date, by task id.
pub async fn board(db: &ReadDb, plan_id: PlanId, on: Date) -> std::collections::HashMap<String, BoardTask> {
    let filter = projection::queries::BoardFilter::default();
    let board =
        projection::queries::board(db, &plan_id.to_string(), &filter, on, domain::status::DEFAULT_DUE_SOON_DAYS)
            .await
            .expect("the board");
    board.into_iter().map(|task| (task.task_id.clone(), task)).collect()
}

/// A plan whose tasks see every kind of event the tasks model applies: assignments of tasks and indicators,
/// reports, a correction, an extension requested and approved, another rejected, a completion reported and
/// confirmed, a suspension and a reopening, a transfer.
pub async fn varied_history(ledger: &TestLedger) -> PlanId {
    use time::macros::date;
    let plan_id = ledger.create_plan("Kế hoạch năm 2024").await;
    let task_1_spec = NodeSpec::task("I", 1, Some("2024-06"), "SO-KHCN");
    let task_1 = ledger.assign(plan_id, &task_1_spec).await.unwrap();
    let task_2_spec = NodeSpec::task("I", 2, None, "SO-KHCN");
    let task_2 = ledger.assign(plan_id, &task_2_spec).await.unwrap();
    let indicator_1 =
        ledger.assign(plan_id, &NodeSpec::indicator(&task_2_spec, task_2, 1, Some("2024-Q3"))).await.unwrap();
    let indicator_2 =
        ledger.assign(plan_id, &NodeSpec::indicator(&task_2_spec, task_2, 2, Some("2024-09-30"))).await.unwrap();
    let task_3 = ledger.assign(plan_id, &NodeSpec::task("II", 1, Some("2024"), "SO-TC")).await.unwrap();

    let (report_1, _) = ledger.report(task_1, "SO-KHCN", date!(2024 - 04 - 15), "Đã khảo sát 10/25 doanh nghiệp").await;
    ledger.report(indicator_1, "SO-KHCN", date!(2024 - 04 - 15), "Đã chuyển giao 1/3 sản phẩm").await;
    ledger.report(task_3, "SO-TC", date!(2024 - 03 - 14), "Đang thẩm định").await;
    let correction = TaskCommand::CorrectReport {
        report_id: report_1,
        reason: text("Nhầm số liệu"),
        content: report_content(date!(2024 - 04 - 15), "Đã khảo sát 12/25 doanh nghiệp"),
    };
    ledger.decide(task_1, correction, &reporter("SO-KHCN")).await.unwrap();
    let extension_id = domain::ids::ExtensionId(Uuid::now_v7());
    let request = TaskCommand::RequestExtension {
        extension_id,
        proposed_deadline: deadline("2024-09"),
        reason: text("Chờ kinh phí"),
        basis: Vec::new(),
        effective_on: date!(2024 - 05 - 02),
    };
    ledger.decide(task_1, request, &reporter("SO-KHCN")).await.unwrap();
    let approval = TaskCommand::ApproveExtension {
        extension_id,
        new_deadline: None,
        basis: vec![document()],
        note: None,
        effective_on: date!(2024 - 05 - 10),
    };
    ledger.decide(task_1, approval, &approver()).await.unwrap();
    let rejected_extension = domain::ids::ExtensionId(Uuid::now_v7());
    let request = TaskCommand::RequestExtension {
        extension_id: rejected_extension,
        proposed_deadline: deadline("2024-12"),
        reason: text("Thêm thời gian"),
        basis: Vec::new(),
        effective_on: date!(2024 - 05 - 20),
    };
    ledger.decide(indicator_2, request, &reporter("SO-KHCN")).await.unwrap();
    let rejection = TaskCommand::RejectExtension {
        extension_id: rejected_extension,
        reason: text("Không có căn cứ"),
        basis: vec![document()],
        effective_on: date!(2024 - 05 - 25),
    };
    ledger.decide(indicator_2, rejection, &approver()).await.unwrap();
    let completion = TaskCommand::ReportCompletion {
        as_of: date!(2024 - 06 - 14),
        summary: text("Đã chuyển giao 3/3 sản phẩm"),
        evidence: Vec::new(),
    };
    ledger.decide(indicator_1, completion, &reporter("SO-KHCN")).await.unwrap();
    let confirmation =
        TaskCommand::ConfirmCompletion { basis: vec![document()], note: None, effective_on: date!(2024 - 06 - 20) };
    ledger.decide(indicator_1, confirmation, &approver()).await.unwrap();
    let suspension =
        TaskCommand::Suspend {
            reason: text("Chờ chủ trương"), basis: Vec::new(), effective_on: date!(2024 - 04 - 01)
        };
    ledger.decide(task_3, suspension, &planner()).await.unwrap();
    let reopening =
        TaskCommand::Reopen {
            reason: text("Có chủ trương"), basis: Vec::new(), effective_on: date!(2024 - 07 - 01)
        };
    ledger.decide(task_3, reopening, &planner()).await.unwrap();
    ledger.report(task_3, "SO-TC", date!(2024 - 07 - 15), "Đã trình phương án").await;
    let transfer = TaskCommand::Transfer {
        to_unit: UnitCode::parse("SO-TC").unwrap(),
        reason: text("Đúng chức năng"),
        basis: vec![document()],
        effective_on: date!(2024 - 08 - 01),
    };
    ledger.decide(indicator_2, transfer, &planner()).await.unwrap();
    ledger.report(task_1, "SO-KHCN", date!(2024 - 07 - 15), "Đã khảo sát 25/25 doanh nghiệp").await;
    plan_id
}
