//! Live runs: the fan-out of run events to subscribers in this process, whatever process runs
//! them ([`hub`]). The websocket and SSE endpoints (next) sit on top of it.

pub mod hub;
