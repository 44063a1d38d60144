//! Receiving signals, through `signal-hook` for every program: the build
//! records SIGINT/SIGTERM in a flag it polls ([`record`]); the manager reads
//! them from an iterator on a thread of its own ([`Signals`]). A handler may
//! only make async-signal-safe calls, and `signal-hook` is the one
//! well-kept place that gets that right.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub use signal_hook::consts::signal::*;
pub use signal_hook::iterator::{Handle, Signals};

/// The last of a set of signals received (see [`record`]).
#[derive(Debug, Clone)]
pub struct Received(Arc<AtomicUsize>);

impl Received {
    /// The signal received since [`record`], if any (the last one, when
    /// several arrived).
    pub fn pending(&self) -> Option<i32> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            signal => i32::try_from(signal).ok(),
        }
    }
}

/// Replaces the default action of `signals` (for SIGINT and SIGTERM: dying
/// on the spot) by recording which arrived, for the program to act on at a
/// point where its cleanup can run.
pub fn record(signals: &[i32]) -> io::Result<Received> {
    let flag = Arc::new(AtomicUsize::new(0));
    for &signal in signals {
        let value = usize::try_from(signal)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "negative signal number"))?;
        signal_hook::flag::register_usize(signal, Arc::clone(&flag), value)?;
    }
    Ok(Received(flag))
}

/// A signal's conventional name (`SIGTERM`), for messages.
pub fn name(signal: i32) -> String {
    match signal {
        SIGINT => "SIGINT".into(),
        SIGTERM => "SIGTERM".into(),
        SIGKILL => "SIGKILL".into(),
        SIGHUP => "SIGHUP".into(),
        SIGQUIT => "SIGQUIT".into(),
        SIGSEGV => "SIGSEGV".into(),
        SIGABRT => "SIGABRT".into(),
        SIGPIPE => "SIGPIPE".into(),
        SIGBUS => "SIGBUS".into(),
        other => format!("signal {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_signal_is_pending_instead_of_fatal() {
        let received = record(&[SIGUSR2]).unwrap();
        assert_eq!(received.pending(), None);
        signal_hook::low_level::raise(SIGUSR2).unwrap();
        assert_eq!(received.pending(), Some(SIGUSR2));
        assert_eq!(name(SIGTERM), "SIGTERM");
        assert_eq!(name(64), "signal 64");
    }
}
