//! Structure checks of uploaded files, before anything is stored: an upload
//! whose container does not parse is refused on the upload request itself.
//!
//! Images (JPEG, PNG, GIF, WebP) are decoded (their first frame) by the
//! `image` crate under [`image::Limits`], after their real dimensions are
//! checked against [`MAX_PIXELS`]. AVIF, video and audio containers are
//! walked by small hand-written readers that check what the container says
//! about itself — box, element, chunk, page and frame sizes consistent with
//! each other and with the file, and the parts a player needs present —
//! without decoding anything (that, and transcoding, come with the media
//! processing work). No crate does this without either decoding (ffmpeg
//! bindings, C libraries) or pulling a whole demuxer per format (mp4,
//! matroska, symphonia…) for a few hundred lines of bounds checks.
//!
//! Every reader is iterative, every loop is bounded by the file's size and by
//! [`MAX_ELEMENTS`], the one nested walk (ISO-BMFF boxes) stops at
//! [`MAX_DEPTH`], and nothing allocates more than a read window
//! ([`WINDOW`]) plus a list of at most [`MAX_ELEMENTS`] ranges, whatever
//! the file claims.

use std::io::{BufRead, Read, Seek, SeekFrom};

/// The most pixels an image may have (Mastodon's `MAX_MATRIX_LIMIT`, 7680×4320).
pub const MAX_PIXELS: u64 = 33_177_600;
/// The most boxes, elements, chunks, pages or frames a reader looks at.
pub const MAX_ELEMENTS: u64 = 4_000_000;
/// The deepest ISO-BMFF box nesting walked.
pub const MAX_DEPTH: usize = 12;
/// Bytes read from the file at a time.
pub const WINDOW: usize = 64 * 1024;
/// Most memory an image decoder may take (the decoded first frame of the
/// largest image at 16 bits per channel, plus its working buffers).
const MAX_DECODE_ALLOC: u64 = MAX_PIXELS * 8 + 32 * 1024 * 1024;

/// Why a file is refused, or could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Its structure does not parse.
    Malformed(&'static str),
    /// An image with more than [`MAX_PIXELS`] pixels (width, height).
    TooManyPixels(u64, u64),
    /// Reading the file failed (not the client's fault).
    Io(String),
}

pub type Checked<T> = Result<T, Problem>;

fn bad<T>(why: &'static str) -> Checked<T> {
    Err(Problem::Malformed(why))
}

/// What a check learnt: an image's (or a video's) width and height.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Probed {
    pub size: Option<(u32, u32)>,
}

/// A file read at arbitrary offsets through one window of [`WINDOW`] bytes.
pub struct Source<R> {
    inner: R,
    len: u64,
    buf: Vec<u8>,
    at: u64,
}

impl<R: Read + Seek> Source<R> {
    pub fn new(mut inner: R) -> Checked<Source<R>> {
        let len = inner
            .seek(SeekFrom::End(0))
            .map_err(|e| Problem::Io(e.to_string()))?;
        Ok(Source {
            inner,
            len,
            buf: Vec::new(),
            at: 0,
        })
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.len
    }

    /// Exactly `n` (at most [`WINDOW`]) bytes at `at`, or `Malformed` when the
    /// file ends before.
    pub fn bytes(&mut self, at: u64, n: usize) -> Checked<&[u8]> {
        if n > WINDOW {
            return bad("read too large");
        }
        let end = at
            .checked_add(n as u64)
            .ok_or(Problem::Malformed("offset"))?;
        if end > self.len {
            return bad("truncated");
        }
        let have = self.at..self.at + self.buf.len() as u64;
        if at < have.start || end > have.end {
            let want = usize::try_from((self.len - at).min(WINDOW as u64)).unwrap_or(WINDOW);
            self.buf.resize(want, 0);
            self.inner
                .seek(SeekFrom::Start(at))
                .and_then(|_| self.inner.read_exact(&mut self.buf))
                .map_err(|e| Problem::Io(e.to_string()))?;
            self.at = at;
        }
        let from = usize::try_from(at - self.at).map_err(|_| Problem::Malformed("offset"))?;
        self.buf
            .get(from..from + n)
            .ok_or(Problem::Malformed("truncated"))
    }

    fn u8_at(&mut self, at: u64) -> Checked<u8> {
        Ok(self.bytes(at, 1)?[0])
    }

    fn be16(&mut self, at: u64) -> Checked<u16> {
        let b = self.bytes(at, 2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn be24(&mut self, at: u64) -> Checked<u32> {
        let b = self.bytes(at, 3)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    fn be32(&mut self, at: u64) -> Checked<u32> {
        let b = self.bytes(at, 4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn be64(&mut self, at: u64) -> Checked<u64> {
        let b = self.bytes(at, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    fn le16(&mut self, at: u64) -> Checked<u16> {
        let b = self.bytes(at, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn le32(&mut self, at: u64) -> Checked<u32> {
        let b = self.bytes(at, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn tag(&mut self, at: u64) -> Checked<[u8; 4]> {
        let b = self.bytes(at, 4)?;
        Ok([b[0], b[1], b[2], b[3]])
    }

    fn starts(&mut self, at: u64, magic: &[u8]) -> bool {
        self.bytes(at, magic.len()).is_ok_and(|b| b == magic)
    }
}

/// Counts elements against [`MAX_ELEMENTS`].
struct Budget(u64);

impl Budget {
    fn new() -> Budget {
        Budget(MAX_ELEMENTS)
    }

    fn spend(&mut self) -> Checked<()> {
        self.0 = self
            .0
            .checked_sub(1)
            .ok_or(Problem::Malformed("too many elements"))?;
        Ok(())
    }
}

/// Checks a file of (sniffed) `content_type`.
pub fn check<R: BufRead + Seek>(content_type: &str, file: R) -> Checked<Probed> {
    match content_type {
        "image/jpeg" => image(file, image::ImageFormat::Jpeg),
        "image/png" => image(file, image::ImageFormat::Png),
        "image/gif" => image(file, image::ImageFormat::Gif),
        "image/webp" => image(file, image::ImageFormat::WebP),
        "image/avif" => isobmff::avif(&mut Source::new(file)?),
        "video/mp4" | "video/quicktime" => isobmff::movie(&mut Source::new(file)?, false),
        "audio/mp4" => isobmff::movie(&mut Source::new(file)?, true),
        "video/webm" => ebml::webm(&mut Source::new(file)?),
        "audio/ogg" => audio::ogg(&mut Source::new(file)?),
        "audio/wave" => audio::wav(&mut Source::new(file)?),
        "audio/flac" => audio::flac(&mut Source::new(file)?),
        "audio/mpeg" => audio::mpeg_audio(&mut Source::new(file)?),
        "audio/aac" => audio::adts(&mut Source::new(file)?),
        _ => bad("unsupported type"),
    }
}

fn pixels_ok(w: u64, h: u64) -> Checked<(u32, u32)> {
    if w == 0 || h == 0 {
        return bad("no pixels");
    }
    if w.saturating_mul(h) > MAX_PIXELS {
        return Err(Problem::TooManyPixels(w, h));
    }
    Ok((
        u32::try_from(w).map_err(|_| Problem::TooManyPixels(w, h))?,
        u32::try_from(h).map_err(|_| Problem::TooManyPixels(w, h))?,
    ))
}

/// A raster image: PNG chunks and the WebP RIFF end where the file ends;
/// then its real dimensions from the decoder, and its first frame decoded
/// under limits. (JPEG and GIF decoders stop at their end marker; data after
/// a JPEG's is common, e.g. the video of a phone's motion photo.)
fn image<R: BufRead + Seek>(mut file: R, format: image::ImageFormat) -> Checked<Probed> {
    use image::ImageDecoder;
    match format {
        image::ImageFormat::Png => png_chunks(&mut Source::new(&mut file)?)?,
        image::ImageFormat::WebP => riff_end(&mut Source::new(&mut file)?)?,
        _ => {}
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Problem::Io(e.to_string()))?;
    let mut reader = image::ImageReader::with_format(file, format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(u32::try_from(MAX_PIXELS).unwrap_or(u32::MAX));
    limits.max_image_height = Some(u32::try_from(MAX_PIXELS).unwrap_or(u32::MAX));
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let refuse = |e: image::ImageError| match e {
        image::ImageError::IoError(e) if e.kind() != std::io::ErrorKind::UnexpectedEof => {
            Problem::Io(e.to_string())
        }
        image::ImageError::Limits(_) => Problem::Malformed("over the decoding limits"),
        _ => Problem::Malformed("does not decode"),
    };
    let decoder = reader.into_decoder().map_err(refuse)?;
    let (w, h) = decoder.dimensions();
    let size = pixels_ok(u64::from(w), u64::from(h))?;
    image::DynamicImage::from_decoder(decoder).map_err(refuse)?;
    Ok(Probed { size: Some(size) })
}

/// PNG chunks from the signature to `IEND`, which ends the file.
fn png_chunks<R: Read + Seek>(src: &mut Source<R>) -> Checked<()> {
    let mut budget = Budget::new();
    let mut at = 8u64;
    loop {
        budget.spend()?;
        let size = u64::from(src.be32(at)?);
        let kind = src.tag(at + 4)?;
        if size > 0x7FFF_FFFF || !kind.iter().all(u8::is_ascii_alphabetic) {
            return bad("PNG chunk");
        }
        at = at + 12 + size;
        if at > src.size() {
            return bad("truncated PNG chunk");
        }
        if &kind == b"IEND" {
            return if at == src.size() {
                Ok(())
            } else {
                bad("data after IEND")
            };
        }
    }
}

/// A RIFF file's declared size is the file's (a pad byte aside).
fn riff_end<R: Read + Seek>(src: &mut Source<R>) -> Checked<()> {
    let end = u64::from(src.le32(4)?) + 8;
    if end > src.size() || src.size() - end > 1 {
        return bad("RIFF size");
    }
    Ok(())
}

mod audio;
mod ebml;
mod isobmff;

#[cfg(test)]
mod tests;
