//! Study progress: offline-first batch sync of study events, coverage by unique seconds,
//! completion (with quizzes as gates), the yearly credit ledger, and "my year".

pub mod coverage;
pub mod demo;
pub mod ledger;
pub mod model;
pub mod routes;
pub mod state;
pub mod study;
pub mod sync;
pub mod validate;
pub mod wall_clock;

pub use state::lesson_states;
