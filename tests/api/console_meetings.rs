//! The console's meetings page (issue 21), in a real Chromium.
