//! Ogg pages, WAV chunks, FLAC metadata blocks, and MP3 and AAC (ADTS) frames back to back.

use std::io::{Read, Seek};

use super::{Budget, Checked, Probed, Problem, Source, bad, riff_end};

/// Ogg pages from start to end: each `OggS`, version 0, with its segment
/// table; the first opens a stream of a codec we know (Vorbis, Opus, FLAC,
/// Speex), and at least one more page follows.
pub(super) fn ogg<R: Read + Seek>(src: &mut Source<R>) -> Checked<Probed> {
    let len = src.size();
    let mut budget = Budget::new();
    let mut at = 0u64;
    let mut pages = 0u64;
    while at < len {
        budget.spend()?;
        if !src.starts(at, b"OggS") || src.u8_at(at + 4)? != 0 {
            return bad("Ogg page");
        }
        let flags = src.u8_at(at + 5)?;
        if flags & !0x07 != 0 {
            return bad("Ogg page flags");
        }
        let segments = u64::from(src.u8_at(at + 26)?);
        let lacing = src.bytes(at + 27, segments as usize)?;
        let body: u64 = lacing.iter().map(|b| u64::from(*b)).sum();
        let data = at + 27 + segments;
        if pages == 0 {
            const CODECS: &[&[u8]] = &[b"\x01vorbis", b"OpusHead", b"\x7fFLAC", b"Speex   "];
            if flags & 0x02 == 0 || !CODECS.iter().any(|c| src.starts(data, c)) {
                return bad("Ogg stream start");
            }
        }
        at = data
            .checked_add(body)
            .ok_or(Problem::Malformed("Ogg page"))?;
        if at > len {
            return bad("truncated Ogg page");
        }
        pages += 1;
    }
    if pages < 2 {
        return bad("no Ogg data");
    }
    Ok(Probed::default())
}

/// A RIFF WAVE: its chunks fill the RIFF size, which fits the file; a
/// `fmt ` chunk describing real audio comes before a non-empty `data` chunk.
pub(super) fn wav<R: Read + Seek>(src: &mut Source<R>) -> Checked<Probed> {
    if !src.starts(0, b"RIFF") || !src.starts(8, b"WAVE") {
        return bad("RIFF WAVE header");
    }
    // A pad byte after an odd-sized last chunk may or may not be counted.
    riff_end(src)?;
    let riff_end = u64::from(src.le32(4)?) + 8;
    let mut budget = Budget::new();
    let (mut fmt, mut data) = (false, false);
    let mut at = 12;
    while at < riff_end {
        budget.spend()?;
        let id = src.tag(at)?;
        if !id.iter().all(|b| (0x20..=0x7e).contains(b)) {
            return bad("RIFF chunk id");
        }
        let size = u64::from(src.le32(at + 4)?);
        let end = at + 8 + size;
        if end > riff_end {
            return bad("RIFF chunk size");
        }
        match &id {
            b"fmt " => {
                if size < 16 || data {
                    return bad("fmt chunk");
                }
                let format = src.le16(at + 8)?;
                let channels = src.le16(at + 10)?;
                let rate = src.le32(at + 12)?;
                let block_align = src.le16(at + 20)?;
                if format == 0 || channels == 0 || rate == 0 || block_align == 0 {
                    return bad("fmt chunk");
                }
                fmt = true;
            }
            b"data" => {
                if !fmt || size == 0 {
                    return bad("data chunk");
                }
                data = true;
            }
            _ => {}
        }
        at = end + (size & 1);
    }
    if !data {
        return bad("no data chunk");
    }
    Ok(Probed::default())
}

/// FLAC: `fLaC`, metadata blocks starting with a real STREAMINFO and ending
/// with one marked last, each within the file, then a frame.
pub(super) fn flac<R: Read + Seek>(src: &mut Source<R>) -> Checked<Probed> {
    let len = src.size();
    if !src.starts(0, b"fLaC") {
        return bad("fLaC");
    }
    let mut budget = Budget::new();
    let mut at = 4u64;
    let mut first = true;
    loop {
        budget.spend()?;
        let header = src.u8_at(at)?;
        let kind = header & 0x7f;
        let size = u64::from(src.be24(at + 1)?);
        if kind == 127 || (first && (kind != 0 || size != 34)) || (!first && kind == 0) {
            return bad("FLAC metadata block");
        }
        if first {
            let min_block = src.be16(at + 4)?;
            let max_block = src.be16(at + 6)?;
            let rate = src.be24(at + 14)? >> 4;
            if min_block < 16 || max_block < min_block || rate == 0 {
                return bad("FLAC STREAMINFO");
            }
        }
        first = false;
        at = at + 4 + size;
        if at > len {
            return bad("truncated FLAC metadata");
        }
        if header & 0x80 != 0 {
            break;
        }
    }
    if src.be16(at)? & 0xFFFE != 0xFFF8 {
        return bad("no FLAC frame");
    }
    Ok(Probed::default())
}

// ---------------------------------------------------------------------------
// MP3 and AAC (ADTS): frames back to back.

/// Bytes after the last frame that end a stream: tags, or a cut-off frame.
fn stream_tail<R: Read + Seek>(src: &mut Source<R>, at: u64) -> Checked<()> {
    let len = src.size();
    if at >= len
        || src.starts(at, b"TAG")
        || src.starts(at, b"APETAGEX")
        || src.starts(at, b"LYRICSBEGIN")
        || src.starts(at, b"ID3")
        || len - at < 2048
    {
        Ok(())
    } else {
        bad("not audio frames")
    }
}

/// Skips ID3v2 tags at `at`; returns where the audio starts.
fn skip_id3<R: Read + Seek>(src: &mut Source<R>, mut at: u64, budget: &mut Budget) -> Checked<u64> {
    while src.starts(at, b"ID3") {
        budget.spend()?;
        let flags = src.u8_at(at + 5)?;
        let raw = src.bytes(at + 6, 4)?;
        if raw.iter().any(|b| b & 0x80 != 0) {
            return bad("ID3 size");
        }
        let size = raw.iter().fold(0u64, |acc, b| (acc << 7) | u64::from(*b));
        at += 10 + size + if flags & 0x10 != 0 { 10 } else { 0 };
        if at > src.size() {
            return bad("truncated ID3 tag");
        }
    }
    Ok(at)
}

/// The length of the MPEG audio frame whose header is `h`, if it is one.
fn mpeg_frame_len(h: u32) -> Option<u64> {
    if h >> 21 != 0x7FF {
        return None;
    }
    let version = (h >> 19) & 3; // 0: 2.5, 2: 2, 3: 1
    let layer = (h >> 17) & 3; // 1: III, 2: II, 3: I
    let bitrate_index = ((h >> 12) & 0xF) as usize;
    let rate_index = ((h >> 10) & 3) as usize;
    let padding = u64::from((h >> 9) & 1);
    if version == 1 || layer == 0 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
        return None;
    }
    const V1: [[u64; 15]; 3] = [
        [
            0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
        ],
        [
            0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
        ],
        [
            0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
        ],
    ];
    const V2: [[u64; 15]; 2] = [
        [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
        [
            0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
        ],
    ];
    let layer_row = (layer - 1) as usize; // 0: III, 1: II, 2: I
    let kbps = if version == 3 {
        V1[layer_row][bitrate_index]
    } else {
        V2[usize::from(layer == 3)][bitrate_index]
    };
    let rate: u64 = [44_100, 48_000, 32_000][rate_index]
        >> match version {
            3 => 0,
            2 => 1,
            _ => 2,
        };
    let bps = kbps * 1000;
    Some(match layer {
        3 => (12 * bps / rate + padding) * 4,
        1 if version != 3 => 72 * bps / rate + padding,
        _ => 144 * bps / rate + padding,
    })
}

/// MPEG audio (MP3): optional ID3v2 tags, then frames back to back to the
/// end (or to trailing tags), at least one of them whole.
pub(super) fn mpeg_audio<R: Read + Seek>(src: &mut Source<R>) -> Checked<Probed> {
    let mut budget = Budget::new();
    let mut at = skip_id3(src, 0, &mut budget)?;
    let mut frames = 0u64;
    while at + 4 <= src.size() {
        budget.spend()?;
        let Some(frame) = mpeg_frame_len(src.be32(at)?) else {
            break;
        };
        at += frame;
        // A last frame cut short is played as far as it goes.
        frames += u64::from(at <= src.size());
    }
    if frames == 0 {
        return bad("no MPEG audio frame");
    }
    stream_tail(src, at)?;
    Ok(Probed::default())
}

/// AAC in ADTS: frames back to back to the end (or to trailing tags).
pub(super) fn adts<R: Read + Seek>(src: &mut Source<R>) -> Checked<Probed> {
    let mut budget = Budget::new();
    let mut at = skip_id3(src, 0, &mut budget)?;
    let mut frames = 0u64;
    while at + 7 <= src.size() {
        budget.spend()?;
        let h = src.bytes(at, 7)?;
        let sync = (u16::from(h[0]) << 4) | u16::from(h[1] >> 4);
        let layer = (h[1] >> 1) & 3;
        let rate_index = (h[2] >> 2) & 0xF;
        let header_len = if h[1] & 1 == 0 { 9 } else { 7 };
        let frame = (u64::from(h[3] & 3) << 11) | (u64::from(h[4]) << 3) | u64::from(h[5] >> 5);
        if sync != 0xFFF || layer != 0 || rate_index > 12 || frame < header_len {
            break;
        }
        at += frame;
        frames += u64::from(at <= src.size());
    }
    if frames == 0 {
        return bad("no AAC frame");
    }
    stream_tail(src, at)?;
    Ok(Probed::default())
}
