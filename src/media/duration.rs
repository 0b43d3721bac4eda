//! The playback duration of an audio or video file, read from its own headers by pure-Rust
//! crates: `mp4` for MP4 and M4A (the movie header), `symphonia` for MP3, WAV and Ogg
//! (frame counts, Xing/VBRI headers, or the packets themselves when no header says).
//!
//! Blocking (it reads the file): call it from `spawn_blocking`. A file these crates cannot
//! read gives `None`, and the uploader's `duration_s` is used instead.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use super::sniff::Sniffed;

/// Longest duration believed, in seconds (a day): anything longer is a corrupt header.
const MAX_SECONDS: f64 = 86_400.0;

/// The duration in seconds of the staged file at `path`, if it can be read.
pub fn of_file(path: &Path, sniffed: Sniffed) -> Option<f64> {
    if !sniffed.kind.is_timed() {
        return None;
    }
    let seconds = match sniffed.extension {
        "mp4" | "m4a" => of_mp4(path),
        _ => of_audio(path, sniffed.extension),
    };
    match seconds {
        Ok(s) if s.is_finite() && s > 0.0 && s <= MAX_SECONDS => Some(s),
        Ok(s) => {
            tracing::info!(
                seconds = s,
                "ignoring an implausible duration read from a file"
            );
            None
        }
        Err(e) => {
            tracing::info!(error = %e, kind = %sniffed.kind, "no duration in the file");
            None
        }
    }
}

/// Whole seconds for storage: rounded to the nearest second, at least 1.
pub fn whole_seconds(seconds: f64) -> i32 {
    let rounded = seconds.round().clamp(1.0, MAX_SECONDS);
    // In range by the clamp.
    rounded as i32
}

fn of_mp4(path: &Path) -> anyhow::Result<f64> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let reader = mp4::Mp4Reader::read_header(BufReader::new(file), size)?;
    Ok(reader.duration().as_secs_f64())
}

fn of_audio(path: &Path, extension: &str) -> anyhow::Result<f64> {
    let file = File::open(path)?;
    let mss = MediaSourceStream::new(Box::new(file), MediaSourceStreamOptions::default());
    let mut hint = Hint::new();
    hint.with_extension(extension);
    let mut format = symphonia::default::get_probe().probe(
        &hint,
        mss,
        FormatOptions::default(),
        MetadataOptions::default(),
    )?;
    let track = format
        .first_track(TrackType::Audio)
        .ok_or_else(|| anyhow::anyhow!("no audio track"))?
        .clone();
    let time_base = track
        .time_base
        .ok_or_else(|| anyhow::anyhow!("no time base"))?;
    if let Some(time) = track.duration.and_then(|d| time_base.calc_duration(d)) {
        return Ok(time.as_secs_f64());
    }
    if let Some(frames) = track.num_frames
        && let Some(time) = time_base.calc_duration(frames.into())
    {
        return Ok(time.as_secs_f64());
    }
    // No header says: add up the packets (demuxing only, no decoding).
    let mut total: u64 = 0;
    while let Some(packet) = format.next_packet()? {
        if packet.track_id == track.id {
            total = total.saturating_add(packet.dur.get());
        }
    }
    time_base
        .calc_duration(total.into())
        .map(|t| t.as_secs_f64())
        .ok_or_else(|| anyhow::anyhow!("duration out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_rounds_and_never_reaches_zero() {
        assert_eq!(whole_seconds(2.4), 2);
        assert_eq!(whole_seconds(2.6), 3);
        assert_eq!(whole_seconds(0.2), 1);
    }
}
