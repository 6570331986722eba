//! Failures on the NATS side that a subscription and a publisher survive. A NATS restart: a private server (its own port and store directory) is killed with SIGKILL and started again on
//! the same port and directory. The bus reconnects, the subscription opened before the kill keeps delivering, the
//! publisher retries as the relay would, and nothing is lost; the stream and its configuration survive on disk.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use async_nats::jetstream::stream::StorageType;
use bus::{BusError, EventBus};
use tokio::process::{Child, Command};

use crate::fixtures::recorded_events;
use crate::{publish_until_held, receive_deduplicated, unique_config, TestStream};

const NATS_SERVER: &str = "/usr/sbin/nats-server";

#[tokio::test]
async fn nothing_is_lost_when_nats_is_killed_and_restarted() {
    let mut server = PrivateNats::start();
    let stream = TestStream { url: server.url(), config: unique_config() };
    let bus = stream.connect().await;
    let mut subscription = bus.subscribe("projections").await.unwrap();
    let events = recorded_events(40);

    bus.publish(&events[..20]).await.unwrap();
    let mut applied = BTreeMap::new();
    receive_deduplicated(subscription.as_mut(), &mut applied, 20).await;

    server.kill().await;
    let while_down = bus.publish(&events[20..30]).await;
    assert!(matches!(while_down, Err(BusError::Unavailable(_))), "{while_down:?}");
    server.restart();
    publish_until_held(&bus, &events, Duration::from_secs(20)).await;
    receive_deduplicated(subscription.as_mut(), &mut applied, 40).await;

    assert_eq!(applied.into_values().collect::<Vec<_>>(), events);
    let info = stream.stream_info().await;
    assert_eq!(info.config.subjects, vec![stream.config.all_events_filter()]);
    assert_eq!(info.config.storage, StorageType::File);
    assert_eq!(info.config.duplicate_window, stream.config.duplicate_window);
    assert_eq!(info.state.messages, 40);
}

#[tokio::test]
async fn a_deleted_consumer_is_created_again_and_the_subscription_goes_on() {
    let stream = TestStream::on_shared_server();
    let bus = stream.connect().await;
    let mut subscription = bus.subscribe("projections").await.unwrap();
    let events = recorded_events(10);
    bus.publish(&events[..5]).await.unwrap();
    let mut applied = BTreeMap::new();
    receive_deduplicated(subscription.as_mut(), &mut applied, 5).await;

    let consumer_name = stream.config.consumer_name("projections");
    let jetstream = stream.jetstream().await;
    jetstream.delete_consumer_from_stream(&consumer_name, &stream.config.stream_name).await.unwrap();
    bus.publish(&events[5..]).await.unwrap();
    // The new consumer starts from the first event again: the consumer skips what it applied.
    receive_deduplicated(subscription.as_mut(), &mut applied, 10).await;

    assert_eq!(applied.into_values().collect::<Vec<_>>(), events);
}

/// A `nats-server -js` of the test's own, on a free port, with its store in a temporary directory.
struct PrivateNats {
    port: u16,
    store_directory: tempfile::TempDir,
    process: Child,
}

impl PrivateNats {
    fn start() -> PrivateNats {
        assert!(
            std::path::Path::new(NATS_SERVER).exists(),
            "{NATS_SERVER} is missing: install it with `apt-get install nats-server`"
        );
        let port = free_port();
        let store_directory = tempfile::tempdir().unwrap();
        let process = spawn_server(port, store_directory.path().to_path_buf());
        PrivateNats { port, store_directory, process }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    async fn kill(&mut self) {
        self.process.start_kill().unwrap(); // SIGKILL: no shutdown, no flush
        self.process.wait().await.unwrap();
    }

    fn restart(&mut self) {
        self.process = spawn_server(self.port, self.store_directory.path().to_path_buf());
    }
}

/// Starts the server and waits until it accepts connections.
fn spawn_server(port: u16, store_directory: PathBuf) -> Child {
    let process = Command::new(NATS_SERVER)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(&store_directory)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start nats-server");
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        assert!(std::time::Instant::now() < deadline, "nats-server did not listen on port {port} in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    process
}

/// A port nothing listens on now (the operating system's choice).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port()
}
