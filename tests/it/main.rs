//! Every integration test of the crate, in one test binary (one link per build instead of eight).
//!
//! `cargo test` runs what needs nothing but this machine's Rust toolchain: the binary against the
//! fake Docker Engine in [`support`], the command line, the fake engine's own tests, parity with the
//! Python tool, the rotation properties, and the documents made from code. Tests that need a real
//! Docker Engine, Prometheus's tools or root are marked `#[ignore = "needs ..."]`, so a run without
//! them says they were not run; CI runs them all with `cargo test -- --include-ignored`, where a
//! missing tool fails the test.

mod alerts;
mod backpressure;
mod browser;
mod budget;
mod cli;
mod docs;
mod embed;
mod engine_files;
mod engine_mock;
mod fake_engine;
mod faults;
mod parity;
mod prometheus;
mod real_engine;
mod rotation_props;
mod support;
mod web;
