//! The organizer console (`/console/`): a browser app for branch secretaries and township
//! organizers, served by the same binary and calling the same `/v1` API as the phone
//! client (same origin, so no CORS).
//!
//! - `web/` holds the app: plain ES modules, no build step, no Node.js. `web/vendor/`
//!   holds the pinned browser libraries with their licences (`web/vendor/README.md`).
//! - [`assets`] embeds `web/` in the binary at build time and names it by its content
//!   hash: `/console/` is the page (never cached), `/console/assets/<hash>/…` are its files
//!   (cached for a year, immutable). A new build has a new hash, so a browser never mixes
//!   files of two builds.
//! - [`routes`] mounts those two routes. They are not in the OpenAPI document: they are
//!   not API, and the console itself only calls routes the document describes.
//!
//! `DANGKE_CONSOLE_DIR` (development only) serves `web/` from a directory on disk instead,
//! read on every request, so an edit shows on reload without rebuilding.

pub mod assets;
pub mod routes;

pub use assets::Assets;
pub use routes::routes;
