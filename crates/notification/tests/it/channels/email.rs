//! The email channel against a real SMTP server (`notification::testing::smtp`): what arrives, parsed back by an
//! independent MIME parser, and how each kind of refusal is classified.

use std::time::Duration;

use mailparse::MailHeaderMap;
use notification::channel::{Channel, ChannelKind, DeliveryError};
use notification::channels::email::{message_id_for, EmailChannel, EmailConfig, SmtpCredentials, OCCURRENCE_HEADER};
use notification::channels::SecretText;
use notification::testing::smtp::{SmtpFault, SmtpReceiver, SmtpStep};

use crate::fixtures::{closed_port, delivery, next_attempt};

const FROM: &str = "Nhắc việc Sở KH&CN <nhacviec@skhcn.bacgiang.gov.vn>";
const FROM_DOMAIN: &str = "skhcn.bacgiang.gov.vn";
const TO: &str = "an.nv@skhcn.bacgiang.gov.vn";
const WAIT: Duration = Duration::from_secs(10);

async fn receiver_and_channel() -> (SmtpReceiver, EmailChannel) {
    let receiver = SmtpReceiver::start().await.expect("the test smtp server starts");
    let config = EmailConfig::plaintext("127.0.0.1", receiver.local_addr().port(), FROM);
    let channel = EmailChannel::new(config).expect("a valid email configuration");
    (receiver, channel)
}

fn normalised_line_endings(text: &str) -> String {
    text.replace("\r\n", "\n").trim_end().to_owned()
}

#[tokio::test]
async fn an_email_arrives_with_its_message_id_and_its_vietnamese_text_intact() {
    let (receiver, channel) = receiver_and_channel().await;
    let delivery = delivery(ChannelKind::Email, TO);

    let receipt = channel.deliver(&delivery).await.expect("the email is taken");
    assert!(receipt.detail.starts_with("SMTP 250"), "{receipt:?}");

    let messages = receiver.wait_for_messages(1, WAIT).await.expect("one email arrives");
    let email = &messages[0];
    assert_eq!(email.mail_from, "nhacviec@skhcn.bacgiang.gov.vn");
    assert_eq!(email.rcpt_to, [TO]);
    let expected_message_id = message_id_for(&delivery.delivery_id, FROM_DOMAIN);
    assert_eq!(email.message_id.as_deref(), Some(expected_message_id.as_str()));

    let parsed = mailparse::parse_mail(&email.data).expect("the email is valid MIME");
    let headers = parsed.get_headers();
    assert_eq!(headers.get_first_value("Subject").as_deref(), Some(delivery.message.subject.as_str()));
    assert_eq!(headers.get_first_value("Message-ID").as_deref(), Some(expected_message_id.as_str()));
    assert_eq!(headers.get_first_value("Auto-Submitted").as_deref(), Some("auto-generated"));
    assert_eq!(headers.get_first_value(OCCURRENCE_HEADER).as_deref(), Some(delivery.reminder.occurrence_key.as_str()));
    let from = headers.get_first_value("From").expect("a From header");
    assert!(from.contains("Nhắc việc Sở KH&CN") && from.contains("<nhacviec@skhcn.bacgiang.gov.vn>"), "{from}");
    let to = headers.get_first_value("To").expect("a To header");
    assert!(to.contains("Nguyễn Văn An") && to.contains(TO), "{to}");
    assert_eq!(parsed.ctype.mimetype, "text/plain");
    assert_eq!(parsed.ctype.charset.to_ascii_lowercase(), "utf-8");
    let body = parsed.get_body().expect("a decodable body");
    assert_eq!(normalised_line_endings(&body), normalised_line_endings(&delivery.message.body));
    assert!(body.contains("còn 3 ngày làm việc"), "{body}");
}

#[tokio::test]
async fn every_attempt_of_a_delivery_carries_the_same_message_id() {
    let (receiver, channel) = receiver_and_channel().await;
    let first = delivery(ChannelKind::Email, TO);
    let other = delivery(ChannelKind::Email, TO);

    channel.deliver(&first).await.expect("the first attempt is taken");
    channel.deliver(&next_attempt(&first)).await.expect("the second attempt is taken");
    channel.deliver(&other).await.expect("another delivery is taken");

    let messages = receiver.wait_for_messages(3, WAIT).await.expect("three emails arrive");
    assert_eq!(messages[0].message_id, messages[1].message_id);
    assert_ne!(messages[0].message_id, messages[2].message_id);
    assert_eq!(receiver.n_duplicates(), 1);
}

#[tokio::test]
async fn smtp_4xx_replies_are_transient_and_5xx_replies_permanent() {
    let (receiver, channel) = receiver_and_channel().await;
    let cases = [
        (SmtpFault::reply(SmtpStep::Greeting, 421, "4.3.2 service not available"), true),
        (SmtpFault::reply(SmtpStep::MailFrom, 451, "4.3.0 try again later"), true),
        (SmtpFault::reply(SmtpStep::RcptTo, 450, "4.2.1 mailbox busy"), true),
        (SmtpFault::reply(SmtpStep::EndOfData, 452, "4.3.1 insufficient storage"), true),
        (SmtpFault::reply(SmtpStep::MailFrom, 553, "5.7.1 sender not allowed"), false),
        (SmtpFault::reply(SmtpStep::RcptTo, 550, "5.1.1 no such user"), false),
        (SmtpFault::reply(SmtpStep::Data, 554, "5.3.0 transaction failed"), false),
        (SmtpFault::reply(SmtpStep::EndOfData, 552, "5.3.4 message too big"), false),
    ];
    for (fault, transient) in cases {
        receiver.fail_next(1, fault.clone());
        let outcome = channel.deliver(&delivery(ChannelKind::Email, TO)).await;
        match (&outcome, transient) {
            (Err(DeliveryError::Transient(detail)), true) | (Err(DeliveryError::Permanent(detail)), false) => {
                let code = match &fault.action {
                    notification::testing::smtp::SmtpFaultAction::Reply { code, .. } => code.to_string(),
                    notification::testing::smtp::SmtpFaultAction::DropConnection => String::new(),
                };
                assert!(detail.contains(&code), "{fault:?}: {detail}");
            }
            _ => panic!("{fault:?} gave {outcome:?}, expected transient: {transient}"),
        }
    }
    assert!(receiver.messages().is_empty(), "{:?}", receiver.messages());

    channel.deliver(&delivery(ChannelKind::Email, TO)).await.expect("the server takes mail again");
    receiver.wait_for_messages(1, WAIT).await.expect("the email arrives");
}

#[tokio::test]
async fn a_connection_dropped_at_any_step_is_transient() {
    let (receiver, channel) = receiver_and_channel().await;
    for step in [SmtpStep::Greeting, SmtpStep::MailFrom, SmtpStep::RcptTo, SmtpStep::Data, SmtpStep::EndOfData] {
        receiver.fail_next(1, SmtpFault::drop_connection(step));
        let outcome = channel.deliver(&delivery(ChannelKind::Email, TO)).await;
        assert!(matches!(outcome, Err(DeliveryError::Transient(_))), "dropped at {step:?}: {outcome:?}");
    }
    assert!(receiver.messages().is_empty());
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let config = EmailConfig::plaintext("127.0.0.1", closed_port().await, FROM);
    let channel = EmailChannel::new(config).expect("a valid email configuration");
    let outcome = channel.deliver(&delivery(ChannelKind::Email, TO)).await;
    assert!(matches!(outcome, Err(DeliveryError::Transient(_))), "{outcome:?}");
}

#[tokio::test]
async fn a_silent_server_is_transient_after_the_timeout() {
    let silent = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let port = silent.local_addr().expect("an address").port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let config = EmailConfig { timeout: Duration::from_millis(300), ..EmailConfig::plaintext("127.0.0.1", port, FROM) };
    let channel = EmailChannel::new(config).expect("a valid email configuration");

    let started = std::time::Instant::now();
    let outcome = channel.deliver(&delivery(ChannelKind::Email, TO)).await;
    assert!(matches!(outcome, Err(DeliveryError::Transient(_))), "{outcome:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "gave up after {:?}", started.elapsed());
    holder.abort();
}

#[tokio::test]
async fn an_address_that_is_not_one_is_permanent_and_nothing_is_sent() {
    let (receiver, channel) = receiver_and_channel().await;
    let outcome = channel.deliver(&delivery(ChannelKind::Email, "không phải địa chỉ")).await;
    assert!(matches!(outcome, Err(DeliveryError::Permanent(_))), "{outcome:?}");
    assert!(receiver.messages().is_empty());
}

#[tokio::test]
async fn an_address_with_its_own_display_name_keeps_it() {
    let (receiver, channel) = receiver_and_channel().await;
    let delivery = delivery(ChannelKind::Email, "Phòng Quản lý khoa học <pqlkh@skhcn.bacgiang.gov.vn>");
    channel.deliver(&delivery).await.expect("the email is taken");
    let messages = receiver.wait_for_messages(1, WAIT).await.expect("one email arrives");
    assert_eq!(messages[0].rcpt_to, ["pqlkh@skhcn.bacgiang.gov.vn"]);
    let parsed = mailparse::parse_mail(&messages[0].data).expect("valid MIME");
    let to = parsed.get_headers().get_first_value("To").expect("a To header");
    assert!(to.contains("Phòng Quản lý khoa học"), "{to}");
}

#[tokio::test]
async fn configured_credentials_are_used() {
    let receiver = SmtpReceiver::start().await.expect("the test smtp server starts");
    let config = EmailConfig {
        credentials: Some(SmtpCredentials {
            username: "nhacviec".to_owned(),
            password: SecretText::new("mật khẩu thử"),
        }),
        ..EmailConfig::plaintext("127.0.0.1", receiver.local_addr().port(), FROM)
    };
    let channel = EmailChannel::new(config).expect("a valid email configuration");
    channel.deliver(&delivery(ChannelKind::Email, TO)).await.expect("the email is taken");
    let messages = receiver.wait_for_messages(1, WAIT).await.expect("one email arrives");
    assert_eq!(messages[0].authenticated_as.as_deref(), Some("nhacviec"));
}
