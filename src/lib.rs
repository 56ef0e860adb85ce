//! container-metrics: CPU, memory and log-level metrics of every container on a Docker host for
//! Prometheus, and each container's logs in size-rotated files.

pub mod config;
pub mod cursor;
pub mod stats;
