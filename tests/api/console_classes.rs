//! The console's classes page (issue 21), in a real Chromium.
