//! The scheduler's shared board: polls asked for by webhooks, the
//! deliveries already seen, and the plan of next polls. The HTTP server
//! writes requests and reads the plan; only the scheduler takes requests
//! and writes the plan.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;

/// How many webhook delivery ids are remembered.
const KEEP_DELIVERIES: usize = 1000;

#[derive(Default)]
pub(crate) struct Schedule {
    /// When each watched recipe is next polled (unix seconds), as the
    /// scheduler last planned it.
    next_polls: Mutex<BTreeMap<String, i64>>,
    /// Recipes a webhook asked to poll now.
    poll_now: Mutex<BTreeSet<String>>,
    /// Recent `X-GitHub-Delivery` ids: GitHub redelivers, and one event
    /// should cause one poll.
    deliveries: Mutex<VecDeque<String>>,
}

impl Schedule {
    /// Asks for polls of `ids` as soon as the scheduler looks.
    pub(crate) fn ask(&self, ids: impl IntoIterator<Item = String>) {
        if let Ok(mut p) = self.poll_now.lock() {
            p.extend(ids);
        }
    }

    /// The polls asked for since the last call.
    pub(super) fn take_asked(&self) -> BTreeSet<String> {
        self.poll_now
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    pub(super) fn set_plan(&self, plan: BTreeMap<String, i64>) {
        if let Ok(mut p) = self.next_polls.lock() {
            *p = plan;
        }
    }

    /// When each scheduled recipe is next polled (unix seconds).
    pub(crate) fn plan(&self) -> BTreeMap<String, i64> {
        self.next_polls
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }

    /// Remembers a delivery id; false if it was seen already.
    pub(crate) fn first_delivery(&self, id: &str) -> bool {
        let Ok(mut seen) = self.deliveries.lock() else {
            return true;
        };
        if seen.iter().any(|d| d == id) {
            return false;
        }
        if seen.len() >= KEEP_DELIVERIES {
            seen.pop_front();
        }
        seen.push_back(id.to_string());
        true
    }
}
