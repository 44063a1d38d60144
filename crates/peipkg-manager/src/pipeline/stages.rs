//! Stage timings of one build or one publish, logged at debug level as one
//! `stage timings` line (`<stage>_ms=<milliseconds>`), so an operator can see
//! where a farm pass spends its time (docs/BENCHMARKS.md sums them).

use std::time::{Duration, Instant};

use crate::log::{s, Logger, Val};

#[derive(Debug, Clone)]
pub(crate) struct Stages {
    last: Instant,
    done: Vec<(&'static str, Duration)>,
}

impl Default for Stages {
    fn default() -> Self {
        Stages::start()
    }
}

impl Stages {
    pub(crate) fn start() -> Stages {
        Stages {
            last: Instant::now(),
            done: Vec::new(),
        }
    }

    /// Ends the stage running since the last mark, naming it.
    pub(crate) fn mark(&mut self, stage: &'static str) {
        let now = Instant::now();
        self.done.push((stage, now - self.last));
        self.last = now;
    }

    /// One debug line: `what`, the context attributes, then every stage.
    pub(crate) fn log(&self, log: &Logger, what: &str, context: Vec<(&'static str, Val<'static>)>) {
        if !log.enabled(crate::log::Level::Debug) {
            return;
        }
        let keys: Vec<String> = self.done.iter().map(|(n, _)| format!("{n}_ms")).collect();
        let mut attrs: Vec<(&str, Val<'_>)> = vec![("what", s(what))];
        attrs.extend(context);
        for ((_, d), k) in self.done.iter().zip(&keys) {
            attrs.push((k.as_str(), s(format!("{:.1}", d.as_secs_f64() * 1000.0))));
        }
        log.debug("stage timings", &attrs);
    }
}
