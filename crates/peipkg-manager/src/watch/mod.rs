//! Watching upstreams: listing tags, judging them, scheduling polls, and
//! receiving webhooks that ask for a poll now.

pub mod candidates;
pub mod git;
pub mod ls_remote;
pub mod webhook;
