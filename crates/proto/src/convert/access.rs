//! Access events (`domain::access::AccessEvent`) to their payload cases (`access.proto`) and back.

use domain::access::{AccessEvent, RecordsRead};
use domain::ids::PlanId;

use super::values::{optional_uuid_from_proto, uuid_to_proto};
use super::ConvertError;
use crate::pb;
use crate::pb::event_envelope::Payload;

pub(super) fn to_proto(event: &AccessEvent) -> Payload {
    match event {
        AccessEvent::RecordsRead(read) => Payload::RecordsRead(pb::RecordsRead {
            resource: read.resource.clone(),
            query: read.query.clone(),
            plan_id: read.plan_id.map(|plan_id| uuid_to_proto(plan_id.0)),
            n_records: read.n_records,
        }),
    }
}

/// `None` when the payload is not the case of an access event.
pub(super) fn from_proto(payload: &Payload) -> Option<Result<AccessEvent, ConvertError>> {
    match payload {
        Payload::RecordsRead(message) => Some(records_read(message).map(AccessEvent::RecordsRead)),
        _ => None,
    }
}

fn records_read(message: &pb::RecordsRead) -> Result<RecordsRead, ConvertError> {
    const FIELD: &str = "records_read";
    if message.resource.is_empty() {
        return Err(ConvertError::missing(format!("{FIELD}.resource")));
    }
    Ok(RecordsRead {
        resource: message.resource.clone(),
        query: message.query.clone(),
        plan_id: optional_uuid_from_proto(message.plan_id.as_deref(), &format!("{FIELD}.plan_id"))?.map(PlanId),
        n_records: message.n_records,
    })
}
