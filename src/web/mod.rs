//! The logs browser (WEB_PORT): every container the collector knows, its whole kept history with
//! levels, search and time ranges, and a live tail, as pages and as JSON.

pub mod history;
pub mod board;
pub mod when;
