//! `latchkey audit`: the trail, as columns or JSON lines.

use std::io::Write;

use super::open_store;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::flows::admin::{self, AuditQuery};

pub(super) async fn print(
    config: &Config,
    query: &AuditQuery,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let events = admin::audit_trail(&*store, SystemClock.now(), query)
        .await
        .map_err(super::explain)?;
    if json {
        for event in &events {
            writeln!(out, "{}", serde_json::to_string(event)?)?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{:<20}  {:<25}  {:<7}  {:<32}  {:<15}  {:<52}  USER AGENT",
        "TIME", "EVENT", "OUTCOME", "USER", "IP", "DETAIL"
    )?;
    for event in &events {
        let user = event
            .email
            .clone()
            .or_else(|| event.user_id.map(|id| id.to_string()));
        writeln!(
            out,
            "{:<20}  {:<25}  {:<7}  {:<32}  {:<15}  {:<52}  {}",
            event.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            event.event,
            event.outcome,
            user.as_deref().unwrap_or("-"),
            event.ip.as_deref().unwrap_or("-"),
            printable(event.detail.as_deref()),
            printable(event.user_agent.as_deref()),
        )?;
    }
    Ok(())
}

/// Text a client chose (a user agent) may not move the cursor or recolour
/// the terminal of whoever reads the trail.
fn printable(text: Option<&str>) -> String {
    match text {
        Some(text) if !text.is_empty() => text
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect(),
        _ => "-".to_owned(),
    }
}
