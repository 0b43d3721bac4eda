//! The console's pushes page (issue 21), in a real Chromium.
