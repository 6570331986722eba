//! `taskledger notification-service` as real processes: a rule file or holiday calendar with a bad line stops
//! start-up naming the line; and two replicas on PostgreSQL and NATS, one of them SIGKILLed in the middle of
//! delivering a burst of reminders to a real webhook receiver, after which the survivor delivers the rest. The
//! business clock of the replicas is a file the test writes (`TASKLEDGER_CLOCK=file:…`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use notification::channels::webhook::WebhookSecret;
use notification::testing::webhook::WebhookReceiver;
use sqlx::Row;

use crate::support::{free_port, wait_until, Api, Cluster, Server, BINARY};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const N_TASKS: usize = 40;

/// Runs the binary with a rule file and answers its exit status and what it printed on stderr.
fn start_with_config(config: &Path, data_dir: &Path) -> (bool, String) {
    let output = Command::new(BINARY)
        .arg("notification-service")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--config")
        .arg(config)
        .env_remove("TASKLEDGER_DATABASE_URL")
        .env("TASKLEDGER_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run taskledger notification-service");
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_rule_file_or_holiday_calendar_with_a_bad_line_stops_start_up_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("notification.toml");
    std::fs::write(&rules, "[rules]\nlease = \"60s\"\n\n[rules.deadline]\nsend_at = \"25:00\"\n").unwrap();
    let (started, stderr) = start_with_config(&rules, dir.path());
    assert!(!started);
    assert!(stderr.contains("notification.toml:5"), "{stderr}");
    assert!(stderr.contains("rules.deadline.send_at"), "{stderr}");

    let holidays = dir.path().join("holidays.txt");
    std::fs::write(&holidays, "# ngày nghỉ của tỉnh\n2024-13-01 Ngày sai\n").unwrap();
    std::fs::write(&rules, "holidays = [\"holidays.txt\"]\n").unwrap();
    let (started, stderr) = start_with_config(&rules, dir.path());
    assert!(!started);
    assert!(stderr.contains("holidays.txt:2"), "{stderr}");
}

/// Starts a notification service of the cluster on a rule file and a clock file.
async fn start_notifier(cluster: &Cluster, rules: &Path, clock: &Path) -> Server {
    let port = free_port();
    let child = Command::new(BINARY)
        .arg("notification-service")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .args(cluster.service_args())
        .arg("--config")
        .arg(rules)
        .env("TASKLEDGER_CLOCK", format!("file:{}", clock.display()))
        .env_remove("TASKLEDGER_TOKEN_KEY")
        .env_remove("TASKLEDGER_DATABASE_URL")
        .env_remove("TASKLEDGER_READ_DATABASE_URL")
        .env("TASKLEDGER_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start taskledger notification-service");
    let server =
        Server { child, base_url: format!("http://127.0.0.1:{port}"), data_dir: cluster.dir.path().to_owned() };
    server.wait_ready().await;
    server
}

#[tokio::test]
async fn two_replicas_deliver_every_reminder_though_one_is_killed_mid_delivery() {
    let cluster = Cluster::create().await;
    let receiver = WebhookReceiver::start(WebhookSecret::parse(SECRET).unwrap()).await.unwrap();
    receiver.set_delay(Duration::from_millis(300));
    let rules = cluster.dir.path().join("notification.toml");
    std::fs::write(
        &rules,
        format!(
            "[rules]\nlease = \"3s\"\n[rules.reports]\nenabled = false\n[rules.overdue]\nenabled = false\n\
             [rules.deadline]\nbefore_working_days = [14]\non_the_day = false\nchannels = [\"webhook\"]\n\
             [[webhooks]]\nname = \"receiver\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n",
            receiver.url("/hooks/taskledger")
        ),
    )
    .unwrap();
    let clock = cluster.dir.path().join("clock");
    std::fs::write(&clock, "2024-12-01T07:00:00+07:00").unwrap();

    let commands = Server::start_service("command-service", &cluster).await;
    let planner = Api::new(&commands, commands.token("vp.an", "VP-UBND", "planner"));
    planner.create_plan_with_tasks(N_TASKS).await;
    let first = start_notifier(&cluster, &rules, &clock).await;
    let second = start_notifier(&cluster, &rules, &clock).await;

    let read_db = cluster.read_db().await;
    let count = |sql: &'static str| {
        let pool = read_db.pool().clone();
        async move { sqlx::query(sql).fetch_one(&pool).await.map(|row| row.get::<i64, _>(0)).unwrap_or(0) }
    };
    wait_until("the reminders are derived", Duration::from_secs(30), || async {
        count("SELECT COUNT(*) FROM notify_deliveries").await == N_TASKS as i64
    })
    .await;

    // 14 working days before 31/12/2024: 11/12 at 08:00. Every reminder falls due at once.
    std::fs::write(&clock, "2024-12-11T08:00:30+07:00").unwrap();
    wait_until("some reminders arrived", Duration::from_secs(30), || async { receiver.deliveries().len() >= 5 }).await;
    // Kill the replica holding claims, while its deliveries are in flight.
    let owners = sqlx::query(
        "SELECT lease_owner, COUNT(*) FROM notify_deliveries WHERE status = 'pending' AND lease_owner IS NOT NULL
         GROUP BY lease_owner ORDER BY 2 DESC",
    )
    .fetch_all(read_db.pool())
    .await
    .unwrap();
    let busiest: String = owners.first().map(|row| row.get(0)).expect("a replica holds claims");
    let first_pid = first.child.id().to_string();
    let (victim, survivor) =
        if busiest.contains(&format!("-{first_pid}-")) { (first, second) } else { (second, first) };
    victim.kill_9();
    // The sends started and not recorded at the kill (the durable mark precedes every send, a window at a time;
    // the outcomes are recorded a few at a time as the sends return). Read at once, before the lease (3 s) lets the
    // survivor take them over; a mark is written before its send, so none written after this read was sent.
    let in_flight: i64 = sqlx::query(
        "SELECT COUNT(*) FROM notify_deliveries
         WHERE lease_owner = $1 AND status = 'pending' AND attempt_started = attempts + 1",
    )
    .bind(busiest.clone())
    .fetch_one(read_db.pool())
    .await
    .unwrap()
    .get(0);
    let n_claimed_by_victim: i64 =
        owners.first().map(|row| row.get(1)).expect("the victim's claims were counted before the kill");

    wait_until("every reminder arrived", Duration::from_secs(60), || async {
        count("SELECT COUNT(*) FROM notify_deliveries WHERE status = 'sent'").await == N_TASKS as i64
    })
    .await;
    let delivery_ids: std::collections::BTreeSet<String> = sqlx::query("SELECT delivery_id FROM notify_deliveries")
        .fetch_all(read_db.pool())
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(delivery_ids.len(), N_TASKS);
    // Every expected delivery arrived; a copy (an id that had arrived before) is marked a redelivery.
    let mut arrived: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut n_copies = 0_i64;
    for webhook in receiver.deliveries() {
        assert!(delivery_ids.contains(&webhook.webhook_id), "{} is a delivery of the plan", webhook.webhook_id);
        if !arrived.insert(webhook.webhook_id.clone()) {
            n_copies += 1;
            assert!(webhook.redelivery, "the copy of {} says it is a redelivery", webhook.webhook_id);
        }
    }
    assert_eq!(arrived, delivery_ids, "every delivery arrived");
    eprintln!(
        "killed a replica holding {n_claimed_by_victim} claims, {in_flight} of them sends started and unrecorded; \
         {n_copies} cop(ies) arrived"
    );
    // At-least-once transport with a stable id: copies only of the sends started and unrecorded at the kill, never
    // more than twice the dispatcher's concurrency (32 being sent, up to 32 returned and waiting to be recorded).
    assert!(n_copies <= in_flight, "{n_copies} copies, {in_flight} sends started and unrecorded");
    assert!(
        in_flight <= 2 * 32,
        "{in_flight} sends started and unrecorded, more than twice the dispatcher's concurrency"
    );
    // Each delivery is recorded sent exactly once in the ledger.
    let store = cluster.store().await;
    let sent_events = event_store::EventStore::read_by_type(&store, &["ReminderSent"], 0, 10_000).await.unwrap();
    let mut n_sent_by_delivery: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for event in &sent_events {
        let field = |name: &str| event.payload[name].as_str().unwrap_or_default().to_owned();
        let delivery_id = notification::store::delivery_id(
            &field("occurrence_key"),
            &field("recipient"),
            notification::channel::ChannelKind::Webhook,
            &field("address"),
        );
        *n_sent_by_delivery.entry(delivery_id).or_default() += 1;
    }
    assert_eq!(n_sent_by_delivery.keys().cloned().collect::<std::collections::BTreeSet<_>>(), delivery_ids);
    assert!(n_sent_by_delivery.values().all(|n_sent| *n_sent == 1), "{n_sent_by_delivery:?}");
    drop(survivor);
    drop(commands);
    cluster.teardown().await;
}

#[tokio::test]
async fn serve_runs_the_notification_service_in_process_and_its_feed_needs_no_channel_configured() {
    let dir = tempfile::tempdir().unwrap();
    let clock = dir.path().join("clock");
    std::fs::write(&clock, "2024-11-01T07:00:00+07:00").unwrap();
    let port = free_port();
    let child = Command::new(BINARY)
        .arg("serve")
        .arg("--demo")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir.path())
        .env("TASKLEDGER_CLOCK", format!("file:{}", clock.display()))
        .env_remove("TASKLEDGER_TOKEN_KEY")
        .env_remove("TASKLEDGER_DATABASE_URL")
        .env_remove("TASKLEDGER_NOTIFICATION_CONFIG")
        .env("TASKLEDGER_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start taskledger serve");
    let server = Server { child, base_url: format!("http://127.0.0.1:{port}"), data_dir: dir.path().to_owned() };
    server.wait_ready().await;
    let staff = Api::new(&server, server.token("khcn.tranthibich", "SO-KHCN", "reporter"));

    // Task 1 of the seed is due in November 2024 (30/11, a Saturday, so counted from Friday 29/11): 7 working days
    // before is 20/11.
    let read_db = projection::db::ReadDb::open_sqlite(&dir.path().join("projections.db")).await.unwrap();
    wait_until("the demo plan's reminders are derived", Duration::from_secs(30), || async {
        sqlx::query("SELECT COUNT(*) FROM notify_occurrences")
            .fetch_one(read_db.pool())
            .await
            .is_ok_and(|row| row.get::<i64, _>(0) > 0)
    })
    .await;
    std::fs::write(&clock, "2024-11-20T08:00:30+07:00").unwrap();
    wait_until("the unit's feed has the reminder", Duration::from_secs(30), || async {
        let (status, body) = staff.get("/v1/notifications").await;
        status == 200 && body["notifications"].as_array().is_some_and(|items| !items.is_empty())
    })
    .await;
    let (_, body) = staff.get("/v1/notifications").await;
    let item = &body["notifications"][0];
    assert!(item["occurrence_key"].as_str().unwrap().ends_with(":2024-11-30:before-7"), "{item}");
    assert!(item["body"].as_str().unwrap().contains("Tháng 11/2024"), "{item}");
    assert_eq!(item["late"], false, "{item}");
    let (status, document) = staff.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(document["paths"]["/v1/notifications"].is_object());
    let (status, _) = Api::new(&server, String::new()).get("/v1/notifications").await;
    assert_eq!(status, 401);
}
