//! The console's members page (issue 21), in a real Chromium.
