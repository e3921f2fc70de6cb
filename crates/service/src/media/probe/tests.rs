#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Cursor;

use proptest::prelude::*;

use super::*;
use crate::media::sniff;

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../../../../tests/fixtures/media/", $name)).as_slice(),
        )
    };
}

/// Tiny real files (made with ffmpeg), with their content types.
const FIXTURES: &[(&str, &[u8])] = &[
    fixture!("image.jpg"),
    fixture!("image.gif"),
    fixture!("image.webp"),
    fixture!("video.mp4"),
    fixture!("video.mov"),
    fixture!("video.webm"),
    fixture!("audio.m4a"),
    fixture!("audio.mp3"),
    fixture!("audio.aac"),
    fixture!("audio.ogg"),
    fixture!("audio-opus.ogg"),
    fixture!("audio.wav"),
    fixture!("audio.flac"),
];

fn probe(bytes: &[u8]) -> Checked<Probed> {
    let Some(found) = sniff(bytes) else {
        return bad("not sniffed");
    };
    check(found.content_type, Cursor::new(bytes))
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A PNG (valid chunks) of `w`×`h` whose image data is one empty block.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn mp4box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

fn full(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 0, 0, 0];
    body.extend_from_slice(payload);
    mp4box(kind, &body)
}

/// A minimal AVIF's structure: ftyp, meta (hdlr pict, pitm, iloc, iinf,
/// iprp/ipco/ispe of `w`×`h`), mdat.
fn avif(w: u32, h: u32) -> Vec<u8> {
    let mut out = mp4box(b"ftyp", b"avif\0\0\0\0avifmif1");
    let mut hdlr = vec![0, 0, 0, 0];
    hdlr.extend_from_slice(b"pict");
    hdlr.extend_from_slice(&[0; 13]);
    let mut ispe = w.to_be_bytes().to_vec();
    ispe.extend_from_slice(&h.to_be_bytes());
    let ipco = mp4box(b"ipco", &full(b"ispe", &ispe));
    let mut meta = Vec::new();
    meta.extend(full(b"hdlr", &hdlr));
    meta.extend(full(b"pitm", &[0, 1]));
    meta.extend(full(b"iloc", &[0x44, 0, 0, 0]));
    meta.extend(full(b"iinf", &[0, 0]));
    meta.extend(mp4box(b"iprp", &ipco));
    out.extend(full(b"meta", &meta));
    out.extend(mp4box(b"mdat", &[0x12, 0, 0, 0, 0]));
    out
}

#[test]
fn real_files_pass() {
    for (name, bytes) in FIXTURES {
        let probed = probe(bytes).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        match *name {
            "image.jpg" => assert_eq!(probed.size, Some((5, 4)), "{name}"),
            "image.webp" => assert_eq!(probed.size, Some((3, 2)), "{name}"),
            "image.gif" => assert_eq!(probed.size, Some((2, 3)), "{name}"),
            "video.mp4" | "video.mov" => assert_eq!(probed.size, Some((16, 16)), "{name}"),
            _ => {}
        }
    }
    assert_eq!(probe(&avif(3, 2)), Ok(Probed { size: Some((3, 2)) }));
}

#[test]
fn containers_that_do_not_parse_are_refused() {
    // The review's files: an MP4 header followed by zeros…
    let mut mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec();
    mp4.resize(20_000, 0);
    assert!(matches!(probe(&mp4), Err(Problem::Malformed(_))));
    // …and a GIF header followed by text, claiming 29,500×29,283.
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&29_500u16.to_le_bytes());
    gif.extend_from_slice(&29_283u16.to_le_bytes());
    gif.extend_from_slice(b"\x00\x00\x00 and then some text, not an image at all");
    assert!(probe(&gif).is_err());
    // Declared sizes are not trusted either way.
    assert_eq!(
        probe(&png_claiming(29_500, 29_283)),
        Err(Problem::TooManyPixels(29_500, 29_283))
    );
    assert!(matches!(
        probe(&png_claiming(3, 2)),
        Err(Problem::Malformed(_))
    ));
    assert_eq!(
        probe(&avif(8000, 8000)),
        Err(Problem::TooManyPixels(8000, 8000))
    );
    assert!(probe(&avif(7680, 4320)).is_ok(), "Mastodon's limit itself");
    // Each real file, cut short or with its end replaced by zeros.
    for (name, bytes) in FIXTURES {
        // (A stream of MP3 or AAC frames cut short still plays: accepted.)
        if !name.ends_with(".mp3") && !name.ends_with(".aac") {
            let half = &bytes[..bytes.len() / 2];
            assert!(probe(half).is_err(), "{name} cut in half");
        }
        let mut zeroed = bytes.to_vec();
        let n = zeroed.len();
        zeroed[n / 2..].fill(0);
        zeroed.resize(n + 4096, 0);
        assert!(probe(&zeroed).is_err(), "{name} ending in zeros");
    }
    // Sniffed formats with nothing behind the magic.
    for magic in [
        &b"\xff\xd8\xff"[..],
        b"\x89PNG\r\n\x1a\n",
        b"GIF89a",
        b"RIFF\x04\0\0\0WEBP",
        b"RIFF\x04\0\0\0WAVE",
        b"\0\0\0\x10ftypavif",
        b"\0\0\0\x10ftypqt  ",
        b"\0\0\0\x10ftypM4A ",
        b"\x1a\x45\xdf\xa3",
        b"OggS",
        b"fLaC",
        b"ID3",
        b"\xff\xfb\x90\x00",
        b"\xff\xf1\x50\x80",
    ] {
        assert!(probe(magic).is_err(), "{magic:?}");
    }
}

#[test]
fn hostile_sizes_do_not_allocate_or_loop() {
    // A box claiming 2^64 - 1 bytes, an EBML element of 2^56, a WAV of 4 GB.
    let mut mp4 = mp4box(b"ftyp", b"mp42\0\0\0\0");
    mp4.extend_from_slice(&[
        0, 0, 0, 1, b'm', b'o', b'o', b'v', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    assert!(probe(&mp4).is_err());
    let webm = b"\x1a\x45\xdf\xa3\x01\xff\xff\xff\xff\xff\xff\xfe".to_vec();
    assert!(probe(&webm).is_err());
    let wav = b"RIFF\xff\xff\xff\xffWAVEfmt \xff\xff\xff\xff".to_vec();
    assert!(probe(&wav).is_err());
    // A million empty boxes is a lot of work but bounded, and refused.
    let mut many = mp4box(b"ftyp", b"mp42\0\0\0\0");
    for _ in 0..100_000 {
        many.extend_from_slice(&[0, 0, 0, 8, b'f', b'r', b'e', b'e']);
    }
    assert!(probe(&many).is_err());
    // A sample table whose entries point nowhere.
    let (_, real) = FIXTURES[3];
    let at = real
        .windows(4)
        .position(|w| w == b"stco")
        .expect("the fixture has chunk offsets");
    let mut moved = real.to_vec();
    moved[at + 12..at + 16].copy_from_slice(&[0x7f, 0xff, 0xff, 0xff]);
    assert!(probe(&moved).is_err(), "a chunk offset past the file");
}

fn mutate(bytes: &[u8], edits: &[(usize, u8)], cut: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if !out.is_empty() {
        for (at, value) in edits {
            let i = at % out.len();
            out[i] = *value;
        }
    }
    out.truncate(cut.max(1));
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random bytes behind every magic number the sniffer knows: no panic.
    #[test]
    fn random_bodies_never_panic(
        magic in 0usize..14,
        body in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        const MAGICS: [&[u8]; 14] = [
            b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\0\0\0\0WEBP",
            b"RIFF\0\0\0\0WAVE", b"\0\0\0\x14ftypavif", b"\0\0\0\x14ftypisom",
            b"\0\0\0\x14ftypM4A ", b"\x1a\x45\xdf\xa3", b"OggS", b"fLaC", b"ID3",
            b"\xff\xfb", b"\xff\xf1",
        ];
        let mut bytes = MAGICS[magic].to_vec();
        bytes.extend_from_slice(&body);
        let _ = probe(&bytes);
        let _ = sniff(&bytes);
    }

    /// Real files with bytes changed and cut anywhere: no panic, and what
    /// passes still has sane dimensions.
    #[test]
    fn damaged_real_files_never_panic(
        which in 0usize..13,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        cut in any::<usize>(),
    ) {
        let (_, real) = FIXTURES[which];
        let bytes = mutate(real, &edits, cut % (real.len() + 1));
        if let Ok(Probed { size: Some((w, h)) }) = probe(&bytes) {
            prop_assert!(u64::from(w) * u64::from(h) <= MAX_PIXELS);
        }
    }
}
