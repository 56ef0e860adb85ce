//! The host's own files, read without asking the engine: a container's cgroup files ([`cgroup`]:
//! CPU time, memory, pids) and its network counters from `/proc` ([`netdev`]). The engine side
//! reads them when the host's trees are mounted, so the engine is only asked to list and inspect.
//!
//! Nothing here talks to the engine or knows its client library: these are pure readers of text
//! files, which is also why benchmarks and tests can feed them recorded trees.

pub mod cgroup;
pub mod netdev;
