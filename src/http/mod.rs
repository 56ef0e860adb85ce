//! The HTTP plumbing both ports share (metrics and logs browser): the server with its limits, and
//! basic auth. What each port answers lives with its side: [`crate::metrics`] and [`crate::web`].

pub mod auth;
pub mod server;
