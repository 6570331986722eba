//! The ledger the projections benchmark replays, written fast but exactly as the command service would write it:
//! every event is decided by the domain (`domain::plan`, `domain::task::decide`) on the state folded so far, turned
//! into a stored event by `command_service::ledger::new_event`, and appended with the stream's version as the
//! expected version. Only HTTP is skipped: one `AppendRequest` carries a whole round of a plan (hundreds of events
//! across hundreds of streams), and several plans are written at once so that the store's group commit batches them.
//!
//! A plan is one department's list for a year: 100 tasks (60 in section I, 40 in section II), each with 4
//! indicators, so 500 nodes, all led by the department. Each node gets 20 progress reports at cut-offs through 2024
//! (one round of reports across the plan per cut-off, as departments report); about 5 % are corrected; about one
//! indicator in ten asks for a deadline extension, approved or rejected by the provincial office; about one node
//! in five reports completion at the last cut-off, confirmed by the office. What is random is decided by a hash of
//! (plan, node, round), so the ledger is the same on every run.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, Context};
use domain::actor::{Actor, Role};
use domain::deadline::Deadline;
use domain::document_ref::DocumentRef;
use domain::ids::{ExtensionId, PlanId, ReportId, TaskId};
use domain::measure::{Measure, Target};
use domain::numbering::{SectionCode, TaskNumber};
use domain::plan::{CreatePlan, Plan, Section};
use domain::status::ReportedProgress;
use domain::task::{AssignTask, Recorded, ReportContent, Task, TaskCommand, TaskEvent};
use domain::text::NonEmptyText;
use domain::unit_code::UnitCode;
use event_store::{AppendRequest, EventStore, ExpectedVersion, NewEvent, StreamAppend, StreamId};
use time::{Date, Duration as DateDuration};
use uuid::Uuid;

/// Tasks of a plan, and indicators of each task: 100 × (1 + 4) = 500 nodes.
const TASKS_PER_PLAN: u16 = 100;
const INDICATORS_PER_TASK: u16 = 4;
/// Tasks numbered in section I; the rest are numbered from 1 again in section II.
const TASKS_IN_SECTION_I: u16 = 60;
/// Progress reports per node, one per round.
pub(crate) const REPORTS_PER_NODE: u32 = 20;
/// The round in which extensions are requested; they are decided in the next one.
const EXTENSION_ROUND: u32 = 10;
/// Plans written at once after the first (group commit batches their appends).
const CONCURRENT_PLANS: usize = 4;

/// The departments that own the plans, in turn.
const AGENCIES: [&str; 8] = ["SO-KHCN", "SO-TC", "SO-KHDT", "SO-GDDT", "SO-YT", "SO-CT", "SO-XD", "SO-NNPTNT"];

/// What was written, for the later phases and for checking the rebuilt read models.
#[derive(Debug, Clone)]
pub(crate) struct History {
    pub(crate) plans: Vec<WrittenPlan>,
    pub(crate) n_events: u64,
    pub(crate) seconds: f64,
}

/// One plan as written.
#[derive(Debug, Clone)]
pub(crate) struct WrittenPlan {
    pub(crate) plan_id: PlanId,
    pub(crate) agency: UnitCode,
    pub(crate) n_nodes: u64,
    /// Report versions (filings and corrections): the rows this plan has in the reports table.
    pub(crate) n_report_versions: u64,
    /// Nodes that still take reports at the end (not completed), for the live load.
    pub(crate) open_nodes: Vec<TaskId>,
    pub(crate) n_events: u64,
}

impl History {
    pub(crate) fn n_nodes(&self) -> u64 {
        self.plans.iter().map(|plan| plan.n_nodes).sum()
    }

    pub(crate) fn n_report_versions(&self) -> u64 {
        self.plans.iter().map(|plan| plan.n_report_versions).sum()
    }
}

/// Writes plans until the store holds at least `target_events` events: the first plan alone (it tells how many
/// events a plan makes), then the others `CONCURRENT_PLANS` at a time.
pub(crate) async fn write(store: Arc<dyn EventStore>, target_events: u64) -> anyhow::Result<History> {
    let started = Instant::now();
    let first = write_plan(store.as_ref(), 0).await.context("cannot write the first plan")?;
    let n_plans = target_events.div_ceil(first.n_events).max(1) as usize;
    eprintln!("  {n_plans} plans of {} nodes, about {} events each…", first.n_nodes, first.n_events);
    let next_plan = Arc::new(AtomicUsize::new(1));
    let n_written = Arc::new(AtomicU64::new(first.n_events));
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENT_PLANS.min(n_plans.saturating_sub(1)) {
        let store = store.clone();
        let next_plan = next_plan.clone();
        let n_written = n_written.clone();
        writers.spawn(async move {
            let mut written = Vec::new();
            loop {
                let index = next_plan.fetch_add(1, Ordering::Relaxed);
                if index >= n_plans {
                    return anyhow::Ok(written);
                }
                let plan = write_plan(store.as_ref(), index).await.with_context(|| format!("plan {index}"))?;
                let total = n_written.fetch_add(plan.n_events, Ordering::Relaxed) + plan.n_events;
                if index.is_multiple_of(10) {
                    eprintln!("  … {total} events");
                }
                written.push((index, plan));
            }
        });
    }
    let mut plans = vec![(0, first)];
    while let Some(joined) = writers.join_next().await {
        plans.extend(joined.context("a plan writer panicked")??);
    }
    plans.sort_by_key(|(index, _)| *index);
    let plans: Vec<WrittenPlan> = plans.into_iter().map(|(_, plan)| plan).collect();
    let n_events = plans.iter().map(|plan| plan.n_events).sum();
    Ok(History { plans, n_events, seconds: started.elapsed().as_secs_f64() })
}

/// A plan's streams as the domain leaves them, and the appends that put them in the store.
struct PlanWriter<'a> {
    store: &'a dyn EventStore,
    index: usize,
    /// Always `Some` between calls; taken only while an event is folded in.
    plan: Option<Plan>,
    plan_version: u64,
    /// The nodes in assignment order, each always `Some` between calls (see `plan`).
    nodes: Vec<Option<Task>>,
    agency: UnitCode,
    n_events: u64,
    n_report_versions: u64,
}

/// The events of one request, per stream, in the order they were decided.
#[derive(Default)]
struct Round {
    streams: Vec<StreamAppend>,
}

async fn write_plan(store: &dyn EventStore, index: usize) -> anyhow::Result<WrittenPlan> {
    let agency = unit(AGENCIES[index % AGENCIES.len()])?;
    let mut writer = PlanWriter::create(store, index, agency).await?;
    writer.assign_nodes().await?;
    for round in 0..REPORTS_PER_NODE {
        writer.report_round(round).await?;
    }
    let open_nodes = writer
        .nodes
        .iter()
        .flatten()
        .filter(|task| task.lifecycle == domain::task::Lifecycle::Open)
        .map(|task| task.task_id)
        .collect();
    Ok(WrittenPlan {
        plan_id: plan_id_of(&writer.plan)?,
        agency: writer.agency,
        n_nodes: writer.nodes.len() as u64,
        n_report_versions: writer.n_report_versions,
        open_nodes,
        n_events: writer.n_events,
    })
}

impl<'a> PlanWriter<'a> {
    async fn create(store: &'a dyn EventStore, index: usize, agency: UnitCode) -> anyhow::Result<PlanWriter<'a>> {
        let plan_id = PlanId(Uuid::now_v7());
        let command = CreatePlan {
            plan_id,
            agency: agency.clone(),
            year: 2024,
            title: text(&format!(
                "Danh mục nhiệm vụ trọng tâm năm 2024 của {} (kế hoạch số {})",
                agency.as_str(),
                index + 1
            ))?,
            basis: vec![document("QĐ số 184/QĐ-UBND ngày 24/01/2024")?],
            sections: vec![
                Section { code: section("I")?, title: text("NHIỆM VỤ TRỌNG TÂM")? },
                Section { code: section("II")?, title: text("NHIỆM VỤ CHẤP THUẬN")? },
            ],
        };
        let events = domain::plan::create_plan(None, command, &planner()).map_err(|error| anyhow!("{error}"))?;
        let plan = Some(Plan::fold(&events).context("a created plan folds")?);
        let stream_id = StreamId(plan_id.stream_name());
        let stored = events.iter().map(|event| stored(event, None)).collect::<anyhow::Result<Vec<_>>>()?;
        let mut writer = PlanWriter {
            store,
            index,
            plan,
            plan_version: 0,
            nodes: Vec::new(),
            agency,
            n_events: 0,
            n_report_versions: 0,
        };
        let round = Round {
            streams: vec![StreamAppend {
                stream_id: stream_id.clone(),
                expected_version: ExpectedVersion::NoStream,
                events: stored,
            }],
        };
        writer.append(&planner(), plan_id.to_string(), stream_id, round).await?;
        writer.plan_version = 1;
        Ok(writer)
    }

    /// Every task and indicator in one append: the plan's registrations and each node's first event.
    async fn assign_nodes(&mut self) -> anyhow::Result<()> {
        let planner = planner();
        let mut registrations = Vec::new();
        let mut round = Round::default();
        for task_number in 1..=TASKS_PER_PLAN {
            let (section_code, number) = if task_number <= TASKS_IN_SECTION_I {
                ("I", task_number)
            } else {
                ("II", task_number - TASKS_IN_SECTION_I)
            };
            let task_id =
                self.assign(&planner, section_code, &number.to_string(), None, &mut registrations, &mut round)?;
            for indicator in 1..=INDICATORS_PER_TASK {
                let number = format!("{number}.{indicator}");
                self.assign(&planner, section_code, &number, Some(task_id), &mut registrations, &mut round)?;
            }
        }
        let plan_id = plan_id_of(&self.plan)?;
        let plan_stream = StreamId(plan_id.stream_name());
        let n_registrations = registrations.len() as u64;
        round.streams.insert(
            0,
            StreamAppend {
                stream_id: plan_stream.clone(),
                expected_version: ExpectedVersion::Exact(self.plan_version),
                events: registrations,
            },
        );
        self.append(&planner, plan_id.to_string(), plan_stream, round).await?;
        self.plan_version += n_registrations;
        Ok(())
    }

    fn assign(
        &mut self,
        planner: &Actor,
        section_code: &str,
        number: &str,
        parent_id: Option<TaskId>,
        registrations: &mut Vec<NewEvent>,
        round: &mut Round,
    ) -> anyhow::Result<TaskId> {
        let node_index = self.nodes.len() as u64;
        let number = TaskNumber::parse(number).map_err(|error| anyhow!("number {number}: {error}"))?;
        let indicator = number.is_indicator();
        let coordinating = AGENCIES[(self.index + 1 + node_index as usize) % AGENCIES.len()];
        let coordinating_units =
            if coordinating == self.agency.as_str() { Vec::new() } else { vec![unit(coordinating)?] };
        let command = AssignTask {
            task_id: TaskId(Uuid::now_v7()),
            section: section(section_code)?,
            number: number.clone(),
            parent_id,
            title: if indicator {
                format!("Chỉ tiêu {number}: hoàn thành hạng mục {} của chương trình đổi mới công nghệ", number.last())
            } else {
                format!(
                    "Triển khai nhiệm vụ số {number} về ứng dụng khoa học, công nghệ và chuyển đổi số trong \
                     lĩnh vực được giao năm 2024"
                )
            },
            target: Some(Target::from_text(&format!("{:02} doanh nghiệp được hỗ trợ", 1 + node_index % 25))?),
            // Tasks with indicators carry no deadline of their own, as in the seed's appendix.
            deadline: if indicator { Some(deadline_of(node_index)?) } else { None },
            lead_unit: self.agency.clone(),
            coordinating_units,
            basis: vec![document("Kế hoạch số 409/KH-UBND ngày 30/8/2021")?],
        };
        let parent = parent_id.and_then(|parent_id| self.nodes.iter().flatten().find(|task| task.task_id == parent_id));
        let plan = self.plan.as_ref().context("the plan is folded")?;
        let (registered, assigned) = domain::plan::assign_task(plan, parent, command, planner)
            .map_err(|error| anyhow!("assigning {number}: {error}"))?;
        registrations.push(stored(&registered, None)?);
        self.plan = Some(Plan::evolve(self.plan.take(), &registered).context("a registration folds")?);
        let task_id = assigned.task_id;
        let event = TaskEvent::TaskAssigned(assigned);
        round.streams.push(StreamAppend {
            stream_id: StreamId(task_id.stream_name()),
            expected_version: ExpectedVersion::NoStream,
            events: vec![stored(&event, None)?],
        });
        self.nodes.push(Some(Task::evolve(None, &event, &recorded()).context("an assignment folds")?));
        Ok(task_id)
    }

    /// One cut-off: the department's reports (with corrections, extension requests and completion reports) in one
    /// append, then the provincial office's decisions in another.
    async fn report_round(&mut self, round: u32) -> anyhow::Result<()> {
        let reporter = actor(Role::Reporter, "chuyenvien", "Nguyễn Văn An", self.agency.as_str())?;
        let approver = actor(Role::Approver, "giamdoc.vp", "Trần Thị Bình", "VP-UBND")?;
        let cut_off = cut_off(round);
        let mut department = Round::default();
        let mut office = Round::default();
        for node_index in 0..self.nodes.len() {
            let mut commands = Vec::new();
            let report_id = ReportId(Uuid::now_v7());
            commands.push(TaskCommand::FileReport {
                report_id,
                content: report_content(self.index, node_index, round, cut_off, "")?,
            });
            if chance(self.index, node_index, round, 1, 5) {
                commands.push(TaskCommand::CorrectReport {
                    report_id,
                    reason: text("Cập nhật số liệu theo báo cáo của đơn vị phối hợp")?,
                    content: report_content(self.index, node_index, round, cut_off, " (đã cập nhật số liệu)")?,
                });
            }
            let task = self.nodes[node_index].as_ref().context("the node is folded")?;
            let wants_extension = round == EXTENSION_ROUND
                && task.deadline.is_some()
                && task.lifecycle == domain::task::Lifecycle::Open
                && chance(self.index, node_index, round, 2, 10);
            if wants_extension {
                let current = task.deadline.expect("checked above");
                commands.push(TaskCommand::RequestExtension {
                    extension_id: ExtensionId(Uuid::now_v7()),
                    proposed_deadline: Deadline::try_day(current.due_date() + DateDuration::days(90))?,
                    reason: text("Chờ bố trí kinh phí và hoàn thiện hồ sơ thủ tục")?,
                    basis: vec![document("Công văn số 1941/UBND-TH ngày 12/5/2024")?],
                    effective_on: cut_off,
                })
            }
            let completes = round == REPORTS_PER_NODE - 1 && chance(self.index, node_index, round, 3, 20);
            if completes && task.lifecycle == domain::task::Lifecycle::Open {
                commands.push(TaskCommand::ReportCompletion {
                    as_of: cut_off,
                    summary: text("Đã hoàn thành toàn bộ nội dung nhiệm vụ, đạt chỉ tiêu được giao")?,
                    evidence: vec![document("Báo cáo số 45/BC-KHCN ngày 10/4/2024")?],
                });
            }
            self.decide(node_index, commands, &reporter, &mut department)?;
        }
        self.append_round(&reporter, department).await?;
        for node_index in 0..self.nodes.len() {
            let task = self.nodes[node_index].as_ref().context("the node is folded")?;
            let mut commands = Vec::new();
            let pending =
                task.extensions.iter().find(|extension| extension.status == domain::task::ExtensionStatus::Pending);
            if let (Some(extension), true) = (pending, round == EXTENSION_ROUND + 1) {
                let effective_on = cut_off;
                commands.push(if chance(self.index, node_index, round, 4, 80) {
                    TaskCommand::ApproveExtension {
                        extension_id: extension.extension_id,
                        new_deadline: None,
                        basis: vec![document("QĐ số 512/QĐ-UBND ngày 20/6/2024")?],
                        note: None,
                        effective_on,
                    }
                } else {
                    TaskCommand::RejectExtension {
                        extension_id: extension.extension_id,
                        reason: text("Không đủ căn cứ để gia hạn")?,
                        basis: vec![document("Công văn số 2010/UBND-TH ngày 25/6/2024")?],
                        effective_on,
                    }
                });
            }
            if task.lifecycle == domain::task::Lifecycle::AwaitingConfirmation {
                commands.push(TaskCommand::ConfirmCompletion {
                    basis: vec![document("Thông báo số 88/TB-UBND ngày 20/12/2024")?],
                    note: None,
                    effective_on: cut_off + DateDuration::days(5),
                });
            }
            self.decide(node_index, commands, &approver, &mut office)?;
        }
        self.append_round(&approver, office).await
    }

    /// Decides commands on one node in turn, folding each event in, and adds the events to the round.
    fn decide(
        &mut self,
        node_index: usize,
        commands: Vec<TaskCommand>,
        actor: &Actor,
        round: &mut Round,
    ) -> anyhow::Result<()> {
        if commands.is_empty() {
            return Ok(());
        }
        let slot = &mut self.nodes[node_index];
        let (task_id, version) =
            slot.as_ref().map(|task| (task.task_id, task.version)).context("the node is folded")?;
        let mut events = Vec::with_capacity(commands.len());
        for command in commands {
            let task = slot.as_ref().context("the node is folded")?;
            let decided =
                domain::task::decide(task, command, actor).map_err(|error| anyhow!("task {}: {error}", task.number))?;
            for event in decided {
                if matches!(event, TaskEvent::ProgressReported(_) | TaskEvent::ReportCorrected(_)) {
                    self.n_report_versions += 1;
                }
                events.push(stored(&event, event.effective_date())?);
                *slot = Some(Task::evolve(slot.take(), &event, &recorded()).context("a decided event folds")?);
            }
        }
        round.streams.push(StreamAppend {
            stream_id: StreamId(task_id.stream_name()),
            expected_version: ExpectedVersion::Exact(version),
            events,
        });
        Ok(())
    }

    async fn append_round(&mut self, actor: &Actor, round: Round) -> anyhow::Result<()> {
        let Some(first) = round.streams.first() else { return Ok(()) };
        let subject_stream = first.stream_id.clone();
        let subject_id = subject_stream.as_str().trim_start_matches("task-").to_owned();
        self.append(actor, subject_id, subject_stream, round).await
    }

    async fn append(
        &mut self,
        actor: &Actor,
        subject_id: String,
        subject_stream: StreamId,
        round: Round,
    ) -> anyhow::Result<()> {
        let n_events: u64 = round.streams.iter().map(|stream| stream.events.len() as u64).sum();
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
            streams: round.streams,
        };
        self.store.append(request).await.context("the store refused a round")?;
        self.n_events += n_events;
        Ok(())
    }
}

/// A report as a department writes it, different for every node and round.
fn report_content(plan: usize, node: usize, round: u32, as_of: Date, suffix: &str) -> anyhow::Result<ReportContent> {
    let target = 25 + (node % 10) as u32;
    let achieved = (target * (round + 1) / REPORTS_PER_NODE).min(target);
    let summary = format!(
        "Đến ngày {}, đơn vị đã phối hợp với các sở, ngành khảo sát nhu cầu của {achieved}/{target} doanh nghiệp, \
         tổ chức {:02} lớp tập huấn cho {} lượt cán bộ kỹ thuật; đang hoàn thiện hồ sơ hỗ trợ theo kế hoạch \
         (kế hoạch {}, nút {}, kỳ {}){suffix}.",
        domain::deadline::format_date_vn(as_of),
        1 + round / 4,
        40 + 10 * round,
        plan + 1,
        node + 1,
        round + 1
    );
    Ok(ReportContent {
        as_of,
        summary: text(&summary)?,
        measures: vec![
            Measure::new(
                "Doanh nghiệp đã khảo sát",
                f64::from(achieved),
                Some(f64::from(target)),
                Some("doanh nghiệp"),
            )?,
            Measure::new("Lớp tập huấn đã tổ chức", f64::from(1 + round / 4), Some(6.0), Some("lớp"))?,
        ],
        progress: Some(if round == 0 && node.is_multiple_of(3) {
            ReportedProgress::NotStarted
        } else {
            ReportedProgress::InProgress
        }),
        evidence: vec![document(&format!("Báo cáo số {}/BC-KHCN ngày 10/4/2024", 10 + round))?],
    })
}

/// The cut-off of a round: every 18 days from 15/01/2024 (the 20th is 21/12/2024).
pub(crate) fn cut_off(round: u32) -> Date {
    time::macros::date!(2024 - 01 - 15) + DateDuration::days(18 * i64::from(round))
}

/// An indicator's deadline: months, quarters and days through 2024.
fn deadline_of(node_index: u64) -> anyhow::Result<Deadline> {
    Ok(match node_index % 3 {
        0 => Deadline::try_month(2024, 1 + (node_index % 12) as u32)?,
        1 => Deadline::try_quarter(2024, 1 + (node_index % 4) as u32)?,
        _ => Deadline::try_day(time::macros::date!(2024 - 03 - 31) + DateDuration::days((node_index % 200) as i64))?,
    })
}

/// True for about `percent` % of (plan, node, round), differently for each `salt`.
fn chance(plan: usize, node: usize, round: u32, salt: u64, percent: u64) -> bool {
    let mut z = (plan as u64) << 40 ^ (node as u64) << 16 ^ u64::from(round) << 4 ^ salt;
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) % 100 < percent
}

/// A domain event as the command service stores it.
fn stored<E: serde::Serialize>(event: &E, effective_date: Option<Date>) -> anyhow::Result<NewEvent> {
    command_service::ledger::new_event(event, effective_date)
        .map_err(|error| anyhow!("cannot store an event: {error:?}"))
}

/// The provenance folded beside an event; the generator never reads it back.
fn recorded() -> Recorded {
    Recorded {
        position: 0,
        recorded_at: time::OffsetDateTime::UNIX_EPOCH,
        actor_id: String::new(),
        actor_name: String::new(),
        actor_unit: String::new(),
        actor_role: String::new(),
    }
}

fn plan_id_of(plan: &Option<Plan>) -> anyhow::Result<PlanId> {
    plan.as_ref().map(|plan| plan.plan_id).context("the plan is folded")
}

pub(crate) fn planner() -> Actor {
    actor(Role::Planner, "chuyenvien.vp", "Lê Văn Cường", "VP-UBND").expect("a valid actor")
}

pub(crate) fn actor(role: Role, id: &str, name: &str, unit_code: &str) -> anyhow::Result<Actor> {
    Ok(Actor { id: format!("{id}.{}", unit_code.to_lowercase()), name: name.to_owned(), unit: unit(unit_code)?, role })
}

pub(crate) fn unit(code: &str) -> anyhow::Result<UnitCode> {
    UnitCode::parse(code).map_err(|error| anyhow!("unit {code}: {error}"))
}

pub(crate) fn text(value: &str) -> anyhow::Result<NonEmptyText> {
    NonEmptyText::parse(value, domain::text::DEFAULT_MAX_CHARS).map_err(|error| anyhow!("text {value:?}: {error}"))
}

fn document(reference: &str) -> anyhow::Result<DocumentRef> {
    DocumentRef::parse(reference).map_err(|error| anyhow!("document {reference:?}: {error}"))
}

pub(crate) fn section(code: &str) -> anyhow::Result<SectionCode> {
    SectionCode::parse(code).map_err(|error| anyhow!("section {code}: {error}"))
}
