//! Server-sent events: votes opened, closed, announced; turnout and attendance, coalesced.
//! Never an interim count of a secret vote: turnout is ballots cast over deputies enabled.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use serde_json::json;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use super::{ApiError, AppState};
use crate::session::VoteState;
use piaojue_core::refusal::Refusal;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// `tablet`: only the votes' changes of state.
    #[serde(default)]
    scope: Option<String>,
}

/// An event stream; beyond the caps on open streams (per address, in all) a 429
/// `too_many_listeners` (the pages' `EventSource` tries again by itself).
pub async fn stream(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(scope): Query<Scope>,
) -> Result<Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let held = state
        .listeners
        .hold(peer.ip())
        .ok_or(ApiError(Refusal::TooManyListeners))?;
    let source = if scope.scope.as_deref() == Some("tablet") {
        state.vote_events.subscribe()
    } else {
        state.events.subscribe()
    };
    let hello = tokio_stream::once(Ok(Event::default()
        .event("hello")
        .data(json!({ "session": state.store.meta().name }).to_string())));
    // A listener that falls behind skips what it missed; it re-reads state on the next event.
    // The stream holds its place in the count until the listener goes away.
    let updates = BroadcastStream::new(source).filter_map(move |msg| {
        let _held = &held;
        msg.ok()
            .map(|text| Ok(Event::default().event("update").data(text.as_ref())))
    });
    Ok(Sse::new(hello.chain(updates))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Every half second: closes the votes whose period is over; turnout of open votes and
/// attendance, when they changed.
pub async fn ticker(state: AppState) {
    let mut last_turnout: HashMap<String, u64> = HashMap::new();
    // Encrypted votes change state without a request of the secretariat (the officer's
    // roll call opens one, k partials decide one): told to every listener here.
    let mut last_encrypted: HashMap<String, (VoteState, bool, bool)> = HashMap::new();
    let mut last_attendance = serde_json::Value::Null;
    let mut last_epoch = u64::MAX;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        if let Ok(votes) = state.store.votes() {
            // The appliance keeps the voting period, not a browser tab: a vote whose period
            // is over (also one that ended while the appliance was down) closes now.
            for vote in votes.iter().filter(|v| v.state == VoteState::Open) {
                // An encrypted vote whose close statement is signed (a crash before the vote
                // record changed) is finished now as well.
                let half_closed = vote.mode == crate::session::Mode::Encrypted
                    && state
                        .store
                        .e2e_get(vote.id.as_str(), b"close")
                        .is_ok_and(|c| c.is_some());
                if half_closed
                    || crate::session::votes::seconds_left(vote.closes_at.as_deref()) == 0
                {
                    match state.session.close_if_period_over(vote.id.clone()).await {
                        Ok(Some(closed)) => {
                            state.publish(
                                json!({ "type": "vote", "vote": closed.id, "state": closed.state }),
                            );
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::error!(vote = %vote.id, error = %e, "closing at the period's end failed")
                        }
                    }
                }
            }
            for vote in votes
                .iter()
                .filter(|v| v.mode == crate::session::Mode::Encrypted)
            {
                let now = (vote.state, vote.awaiting_roll_call, vote.result.is_some());
                if last_encrypted.insert(vote.id.to_string(), now) != Some(now) {
                    state.publish(json!({ "type": "vote", "vote": vote.id, "state": vote.state }));
                }
            }
            // An encrypted vote decrypted just before a crash is decided now.
            for vote in votes.iter().filter(|v| {
                v.state == VoteState::Closed
                    && v.result.is_none()
                    && v.mode == crate::session::Mode::Encrypted
            }) {
                match state.session.e2e_finish(&vote.id).await {
                    Ok(Some(v)) => state.publish(
                        json!({ "type": "vote", "vote": v.id, "state": v.state, "decided": true }),
                    ),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(vote = %vote.id, error = %e, "deciding an encrypted vote failed")
                    }
                }
            }
            for vote in votes.iter().filter(|v| v.state == VoteState::Open) {
                let cast = if vote.mode == crate::session::Mode::Encrypted {
                    state.session.e2e_turnout(vote.id.as_str())
                } else {
                    state.store.turnout(&vote.id)
                };
                let Ok(cast) = cast else {
                    continue;
                };
                if last_turnout.get(vote.id.as_str()) != Some(&cast) {
                    last_turnout.insert(vote.id.to_string(), cast);
                    let enabled = vote.roll.and_then(|r| r.enabled).unwrap_or(0);
                    state.publish(json!({ "type": "turnout", "vote": vote.id, "cast": cast, "enabled": enabled }));
                }
            }
        }
        // Reading every deputy is only worth it when one of them changed.
        let epoch = state.store.presence_epoch();
        if epoch != last_epoch
            && let Ok(attendance) = super::public::attendance(&state)
        {
            last_epoch = epoch;
            if attendance != last_attendance {
                last_attendance = attendance.clone();
                state.publish(json!({ "type": "attendance", "attendance": attendance }));
            }
        }
    }
}
