//! The engine side: talking to the Docker Engine, which containers to visit, and their stats, from
//! the engine or from the kernel's cgroup files.
//!
//! Read-only: only GET requests to `/version`, `/containers/json`, `/containers/{id}/json`,
//! `/containers/{id}/stats` and `/containers/{id}/logs`.

pub mod cgroup;
mod containers;
pub mod filter;
pub mod stats;

pub(crate) use containers::{error_kind, with_causes};
pub use containers::{ContainerRef, Containers, EngineError};
