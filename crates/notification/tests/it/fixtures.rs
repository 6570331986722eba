//! Deliveries for the channels' tests: a reminder about a task of the seed's appendix, rendered in Vietnamese for
//! a member of the lead unit, with a delivery id of its own so that tests never see each other's messages.

use notification::channel::{ChannelKind, Delivery, Language, Recipient, Reminder, ReminderKind, TaskRef};
use notification::message::render;
use time::macros::datetime;
use uuid::Uuid;

/// A first attempt of a three-days-before reminder, to `address` through `channel`.
pub fn delivery(channel: ChannelKind, address: &str) -> Delivery {
    let recipient =
        Recipient { id: "u-nguyen-van-an".to_owned(), name: "Nguyễn Văn An".to_owned(), language: Language::Vi };
    let reminder = Reminder {
        occurrence_key: format!("deadline-3-working-days/{}/2024-12-31", Uuid::now_v7()),
        rule: "deadline-3-working-days".to_owned(),
        kind: ReminderKind::DeadlineApproaching { working_days_left: 3 },
        tasks: vec![TaskRef {
            task_id: Uuid::now_v7(),
            plan_id: Uuid::now_v7(),
            plan_title: "Nhiệm vụ trọng tâm của Giám đốc Sở KH&CN năm 2024".to_owned(),
            number: "2.1".to_owned(),
            content: "Chỉ tiêu 1: Tổ chức chuyển giao sản phẩm của các nhiệm vụ KH&CN để ứng dụng, nhân rộng."
                .to_owned(),
            deadline_text: "Tháng 12/2024".to_owned(),
            due_at: Some(datetime!(2024-12-31 23:59:59 +07:00)),
            lead_unit: "PQLKH".to_owned(),
        }],
        due_at: datetime!(2024-12-26 08:00 +07:00),
        late: false,
        critical: false,
    };
    let message = render(&reminder, &recipient);
    Delivery {
        delivery_id: format!("dlv-{}", Uuid::now_v7()),
        attempt: 1,
        redelivery: false,
        channel,
        address: address.to_owned(),
        recipient,
        reminder,
        message,
    }
}

/// The same delivery, tried again.
pub fn next_attempt(delivery: &Delivery) -> Delivery {
    Delivery { attempt: delivery.attempt + 1, ..delivery.clone() }
}

/// A port on 127.0.0.1 where nothing listens (it was bound a moment ago and released).
pub async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.expect("bind a free port");
    listener.local_addr().expect("a bound address").port()
}
