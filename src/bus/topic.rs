//! The topic composed publishes state changes under.

use crate::config::Settings;
use crate::db::composes as q;

/// The fedmsg topic of a state change: `<prefix>.<environment>.odcs.compose.state-changed`.
pub fn fedmsg_topic(settings: &Settings) -> String {
    format!(
        "{}.{}.{}",
        settings.messaging.topic_prefix,
        settings.messaging.environment,
        q::STATE_CHANGED_TOPIC
    )
}
