//! Logging: JSON lines through `tracing`, filtered by `DANGKE_LOG`.

use tracing_subscriber::EnvFilter;

/// Installs the global JSON log subscriber. Safe to call more than once (later calls are
/// ignored), which tests rely on.
pub fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
