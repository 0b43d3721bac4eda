//! The console's dashboard page (issue 21), in a real Chromium.
