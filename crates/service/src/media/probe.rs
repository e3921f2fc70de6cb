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
        "image/avif" => avif(&mut Source::new(file)?),
        "video/mp4" | "video/quicktime" => movie(&mut Source::new(file)?, false),
        "audio/mp4" => movie(&mut Source::new(file)?, true),
        "video/webm" => webm(&mut Source::new(file)?),
        "audio/ogg" => ogg(&mut Source::new(file)?),
        "audio/wave" => wav(&mut Source::new(file)?),
        "audio/flac" => flac(&mut Source::new(file)?),
        "audio/mpeg" => mpeg_audio(&mut Source::new(file)?),
        "audio/aac" => adts(&mut Source::new(file)?),
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

// ---------------------------------------------------------------------------
// ISO base media files: MP4, MOV, M4A and AVIF.

/// One box: its type, where its payload starts and where it ends.
#[derive(Debug, Clone, Copy)]
struct Mp4Box {
    kind: [u8; 4],
    body: u64,
    end: u64,
}

/// The box starting at `at`, which must end by `limit`.
fn mp4_box<R: Read + Seek>(src: &mut Source<R>, at: u64, limit: u64) -> Checked<Mp4Box> {
    let size = src.be32(at)?;
    let kind = src.tag(at + 4)?;
    if !kind.iter().all(|b| (0x20..=0x7e).contains(b) || *b == 0xa9) {
        return bad("box type");
    }
    let (header, total) = match size {
        0 => (8, limit - at),
        1 => (16, src.be64(at + 8)?),
        n => (8, u64::from(n)),
    };
    let end = at
        .checked_add(total)
        .ok_or(Problem::Malformed("box size"))?;
    if total < header || end > limit {
        return bad("box size");
    }
    Ok(Mp4Box {
        kind,
        body: at + header,
        end,
    })
}

/// The boxes between `from` and `to`, in order.
fn mp4_children<R: Read + Seek>(
    src: &mut Source<R>,
    from: u64,
    to: u64,
    budget: &mut Budget,
) -> Checked<Vec<Mp4Box>> {
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        budget.spend()?;
        // Some writers end a container with four zero bytes.
        if to - at == 4 && src.be32(at)? == 0 {
            break;
        }
        let b = mp4_box(src, at, to)?;
        at = b.end;
        out.push(b);
    }
    Ok(out)
}

fn find(boxes: &[Mp4Box], kind: &[u8; 4]) -> Option<Mp4Box> {
    boxes.iter().find(|b| &b.kind == kind).copied()
}

/// The top-level boxes: `ftyp` first, then anything, each within the file.
fn mp4_top<R: Read + Seek>(src: &mut Source<R>, budget: &mut Budget) -> Checked<Vec<Mp4Box>> {
    let len = src.size();
    let top = mp4_children(src, 0, len, budget)?;
    match top.first() {
        Some(b) if &b.kind == b"ftyp" && b.end - b.body >= 8 => Ok(top),
        _ => bad("no ftyp"),
    }
}

/// An MP4, MOV or M4A: a `moov` whose tracks carry the tables a player
/// needs, and chunk offsets that point into `mdat` (or movie fragments).
fn movie<R: Read + Seek>(src: &mut Source<R>, audio_only: bool) -> Checked<Probed> {
    let mut budget = Budget::new();
    let top = mp4_top(src, &mut budget)?;
    let moovs: Vec<&Mp4Box> = top.iter().filter(|b| &b.kind == b"moov").collect();
    let [moov] = moovs.as_slice() else {
        return bad("not one moov");
    };
    let mdats: Vec<(u64, u64)> = top
        .iter()
        .filter(|b| &b.kind == b"mdat")
        .map(|b| (b.body, b.end))
        .collect();
    let media_bytes: u64 = mdats.iter().map(|(s, e)| e - s).sum();
    let moov_children = mp4_children(src, moov.body, moov.end, &mut budget)?;
    if find(&moov_children, b"mvhd").is_none() {
        return bad("no mvhd");
    }
    let fragmented = find(&moov_children, b"mvex").is_some();
    if fragmented && !top.iter().any(|b| &b.kind == b"moof") {
        return bad("no movie fragments");
    }
    let mut tracks = 0;
    let mut sound = false;
    let mut size = None;
    for trak in moov_children.iter().filter(|b| &b.kind == b"trak") {
        tracks += 1;
        let trak_children = mp4_children(src, trak.body, trak.end, &mut budget)?;
        let (Some(tkhd), Some(mdia)) =
            (find(&trak_children, b"tkhd"), find(&trak_children, b"mdia"))
        else {
            return bad("track without tkhd or mdia");
        };
        let mdia_children = mp4_children(src, mdia.body, mdia.end, &mut budget)?;
        let (Some(_), Some(hdlr), Some(minf)) = (
            find(&mdia_children, b"mdhd"),
            find(&mdia_children, b"hdlr"),
            find(&mdia_children, b"minf"),
        ) else {
            return bad("media without mdhd, hdlr or minf");
        };
        let handler = src.tag(hdlr.body + 8)?;
        sound |= &handler == b"soun";
        if &handler == b"vide" {
            // tkhd ends with width and height, 16.16 fixed point.
            let w = src.be32(tkhd.end.checked_sub(8).ok_or(Problem::Malformed("tkhd"))?)? >> 16;
            let h = src.be32(tkhd.end - 4)? >> 16;
            if w > 0 && h > 0 {
                size = Some(pixels_ok(u64::from(w), u64::from(h))?);
            }
        }
        let minf_children = mp4_children(src, minf.body, minf.end, &mut budget)?;
        let Some(stbl) = find(&minf_children, b"stbl") else {
            return bad("no stbl");
        };
        let stbl_children = mp4_children(src, stbl.body, stbl.end, &mut budget)?;
        if find(&stbl_children, b"stsd").is_none() {
            return bad("no stsd");
        }
        sample_tables(
            src,
            &stbl_children,
            &mdats,
            media_bytes,
            fragmented,
            &mut budget,
        )?;
    }
    if tracks == 0 {
        return bad("no track");
    }
    if audio_only && !sound {
        return bad("no sound track");
    }
    if mdats.is_empty() {
        return bad("no mdat");
    }
    Ok(Probed { size })
}

/// Sample sizes fit in the media data and chunk offsets point into it.
fn sample_tables<R: Read + Seek>(
    src: &mut Source<R>,
    stbl: &[Mp4Box],
    mdats: &[(u64, u64)],
    media_bytes: u64,
    fragmented: bool,
    budget: &mut Budget,
) -> Checked<()> {
    if let Some(stsz) = find(stbl, b"stsz") {
        let sample_size = u64::from(src.be32(stsz.body + 4)?);
        let count = u64::from(src.be32(stsz.body + 8)?);
        let total = if sample_size != 0 {
            sample_size
                .checked_mul(count)
                .ok_or(Problem::Malformed("stsz"))?
        } else {
            if stsz.body + 12 + count * 4 > stsz.end {
                return bad("stsz entries");
            }
            let mut sum = 0u64;
            for i in 0..count {
                budget.spend()?;
                sum += u64::from(src.be32(stsz.body + 12 + i * 4)?);
            }
            sum
        };
        if total > media_bytes {
            return bad("samples larger than the media data");
        }
    } else if !fragmented && find(stbl, b"stz2").is_none() {
        return bad("no sample sizes");
    }
    let (offsets, width) = match (find(stbl, b"stco"), find(stbl, b"co64")) {
        (Some(b), _) => (b, 4),
        (None, Some(b)) => (b, 8),
        (None, None) if fragmented => return Ok(()),
        (None, None) => return bad("no chunk offsets"),
    };
    let count = u64::from(src.be32(offsets.body + 4)?);
    if offsets.body + 8 + count * width > offsets.end {
        return bad("chunk offset entries");
    }
    for i in 0..count {
        budget.spend()?;
        let at = offsets.body + 8 + i * width;
        let offset = if width == 4 {
            u64::from(src.be32(at)?)
        } else {
            src.be64(at)?
        };
        // `mdats` are in file order: the last one starting at or before `offset`.
        let inside = mdats
            .partition_point(|(s, _)| *s <= offset)
            .checked_sub(1)
            .and_then(|i| mdats.get(i))
            .is_some_and(|(_, e)| offset < *e);
        if !inside {
            return bad("chunk offset outside the media data");
        }
    }
    Ok(())
}

/// An AVIF still: a `meta` for a picture (`hdlr` `pict`) with item
/// locations and at least one `ispe` size within the pixel limit, and the
/// data (`mdat`, or `idat` inside `meta`).
fn avif<R: Read + Seek>(src: &mut Source<R>) -> Checked<Probed> {
    let mut budget = Budget::new();
    let top = mp4_top(src, &mut budget)?;
    let Some(meta) = find(&top, b"meta") else {
        return bad("no meta");
    };
    // `meta` is a full box: version and flags first.
    let meta_children = mp4_children(src, meta.body + 4, meta.end, &mut budget)?;
    let Some(hdlr) = find(&meta_children, b"hdlr") else {
        return bad("no hdlr");
    };
    if &src.tag(hdlr.body + 8)? != b"pict" {
        return bad("not a picture");
    }
    if find(&meta_children, b"iloc").is_none() {
        return bad("no iloc");
    }
    if find(&top, b"mdat").is_none() && find(&meta_children, b"idat").is_none() {
        return bad("no image data");
    }
    let Some(iprp) = find(&meta_children, b"iprp") else {
        return bad("no iprp");
    };
    let iprp_children = mp4_children(src, iprp.body, iprp.end, &mut budget)?;
    let Some(ipco) = find(&iprp_children, b"ipco") else {
        return bad("no ipco");
    };
    let mut largest: Option<(u32, u32)> = None;
    for ispe in mp4_children(src, ipco.body, ipco.end, &mut budget)?
        .iter()
        .filter(|b| &b.kind == b"ispe")
    {
        let w = src.be32(ispe.body + 4)?;
        let h = src.be32(ispe.body + 8)?;
        let size = pixels_ok(u64::from(w), u64::from(h))?;
        if largest
            .is_none_or(|(lw, lh)| u64::from(lw) * u64::from(lh) < u64::from(w) * u64::from(h))
        {
            largest = Some(size);
        }
    }
    match largest {
        Some(size) => Ok(Probed { size: Some(size) }),
        None => bad("no ispe"),
    }
}

// ---------------------------------------------------------------------------
// WebM (Matroska's EBML).

const EBML_HEADER: u32 = 0x1A45_DFA3;
const EBML_DOCTYPE: u32 = 0x4282;
const SEGMENT: u32 = 0x1853_8067;
const SEEK_HEAD: u32 = 0x114D_9B74;
const INFO: u32 = 0x1549_A966;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const CLUSTER: u32 = 0x1F43_B675;
const CUES: u32 = 0x1C53_BB6B;
const CHAPTERS: u32 = 0x1043_A770;
const TAGS: u32 = 0x1254_C367;
const ATTACHMENTS: u32 = 0x1941_A469;
const VOID: u32 = 0xEC;
const CRC32: u32 = 0xBF;
const SEGMENT_CHILDREN: &[u32] = &[
    SEEK_HEAD,
    INFO,
    TRACKS,
    CLUSTER,
    CUES,
    CHAPTERS,
    TAGS,
    ATTACHMENTS,
    VOID,
    CRC32,
];
/// What a cluster holds: Timestamp, SilentTracks, Position, PrevSize,
/// SimpleBlock, BlockGroup, EncryptedBlock, Void, CRC-32.
const CLUSTER_CHILDREN: &[u32] = &[0xE7, 0x5854, 0xA7, 0xAB, 0xA3, 0xA0, 0xAF, VOID, CRC32];

/// An EBML element header: id, payload start, payload size (`None`: unknown).
struct Element {
    id: u32,
    body: u64,
    size: Option<u64>,
}

/// A variable-length integer: (length, value without the marker bit).
fn vint<R: Read + Seek>(src: &mut Source<R>, at: u64, max_len: u32) -> Checked<(u32, u64)> {
    let first = src.u8_at(at)?;
    let len = first.leading_zeros() + 1;
    if len > max_len {
        return bad("EBML number");
    }
    let b = src.bytes(at, len as usize)?;
    let mut value = u64::from(first) & (0xFF >> len);
    for x in &b[1..] {
        value = (value << 8) | u64::from(*x);
    }
    Ok((len, value))
}

fn element<R: Read + Seek>(src: &mut Source<R>, at: u64, limit: u64) -> Checked<Element> {
    let (id_len, _) = vint(src, at, 4)?;
    let id = src
        .bytes(at, id_len as usize)?
        .iter()
        .fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
    let (size_len, size) = vint(src, at + u64::from(id_len), 8)?;
    let body = at + u64::from(id_len) + u64::from(size_len);
    let unknown = size == (1u64 << (7 * size_len)) - 1;
    let size = if unknown { None } else { Some(size) };
    if let Some(s) = size
        && body.checked_add(s).is_none_or(|end| end > limit)
    {
        return bad("element size");
    }
    Ok(Element { id, body, size })
}

/// A WebM: the EBML header naming `webm` (or `matroska`), then a segment
/// with info, tracks (at least one entry) and clusters, all sizes within
/// their parents; an unknown-size cluster (live recordings) is walked block
/// by block.
fn webm<R: Read + Seek>(src: &mut Source<R>) -> Checked<Probed> {
    let len = src.size();
    let mut budget = Budget::new();
    let header = element(src, 0, len)?;
    let Some(header_size) = header
        .size
        .filter(|s| header.id == EBML_HEADER && *s <= 4096)
    else {
        return bad("EBML header");
    };
    let mut doctype_ok = false;
    let mut at = header.body;
    let header_end = header.body + header_size;
    while at < header_end {
        budget.spend()?;
        let e = element(src, at, header_end)?;
        let size = e.size.ok_or(Problem::Malformed("EBML header"))?;
        if e.id == EBML_DOCTYPE && size <= 16 {
            let name = src.bytes(e.body, size as usize)?;
            let name: Vec<u8> = name.iter().copied().take_while(|b| *b != 0).collect();
            doctype_ok = name == b"webm" || name == b"matroska";
        }
        at = e.body + size;
    }
    if !doctype_ok {
        return bad("not a WebM document");
    }
    let (mut info, mut tracks, mut clusters) = (false, false, false);
    at = header_end;
    let mut segments = 0;
    while at < len {
        budget.spend()?;
        let e = element(src, at, len)?;
        match (e.id, e.size) {
            (VOID, Some(size)) => at = e.body + size,
            (SEGMENT, size) => {
                segments += 1;
                let end = size.map_or(len, |s| e.body + s);
                let mut child_at = e.body;
                while child_at < end {
                    budget.spend()?;
                    let c = element(src, child_at, end)?;
                    if !SEGMENT_CHILDREN.contains(&c.id) {
                        return bad("unknown segment element");
                    }
                    info |= c.id == INFO;
                    clusters |= c.id == CLUSTER;
                    child_at = match (c.id, c.size) {
                        (TRACKS, Some(s)) => {
                            tracks |= has_track_entry(src, c.body, c.body + s, &mut budget)?;
                            c.body + s
                        }
                        (_, Some(s)) => c.body + s,
                        (CLUSTER, None) => open_cluster(src, c.body, end, &mut budget)?,
                        _ => return bad("unknown size"),
                    };
                }
                at = end;
            }
            _ => return bad("unknown top-level element"),
        }
    }
    if segments != 1 || !info || !tracks || !clusters {
        return bad("segment without info, tracks or clusters");
    }
    Ok(Probed::default())
}

fn has_track_entry<R: Read + Seek>(
    src: &mut Source<R>,
    from: u64,
    to: u64,
    budget: &mut Budget,
) -> Checked<bool> {
    let mut at = from;
    let mut found = false;
    while at < to {
        budget.spend()?;
        let e = element(src, at, to)?;
        let size = e.size.ok_or(Problem::Malformed("unknown size"))?;
        found |= e.id == TRACK_ENTRY;
        at = e.body + size;
    }
    Ok(found)
}

/// Walks an unknown-size cluster's children; returns where it ends (the
/// next segment-level element, or the end of the segment).
fn open_cluster<R: Read + Seek>(
    src: &mut Source<R>,
    from: u64,
    end: u64,
    budget: &mut Budget,
) -> Checked<u64> {
    let mut at = from;
    while at < end {
        budget.spend()?;
        let e = element(src, at, end)?;
        if SEGMENT_CHILDREN.contains(&e.id) && e.id != VOID && e.id != CRC32 {
            return Ok(at);
        }
        if !CLUSTER_CHILDREN.contains(&e.id) {
            return bad("unknown cluster element");
        }
        at = e.body + e.size.ok_or(Problem::Malformed("unknown size"))?;
    }
    Ok(end)
}

// ---------------------------------------------------------------------------
// Ogg, WAV, FLAC.

/// Ogg pages from start to end: each `OggS`, version 0, with its segment
/// table; the first opens a stream of a codec we know (Vorbis, Opus, FLAC,
/// Speex), and at least one more page follows.
fn ogg<R: Read + Seek>(src: &mut Source<R>) -> Checked<Probed> {
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
fn wav<R: Read + Seek>(src: &mut Source<R>) -> Checked<Probed> {
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
fn flac<R: Read + Seek>(src: &mut Source<R>) -> Checked<Probed> {
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
fn mpeg_audio<R: Read + Seek>(src: &mut Source<R>) -> Checked<Probed> {
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
fn adts<R: Read + Seek>(src: &mut Source<R>) -> Checked<Probed> {
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

#[cfg(test)]
mod tests;
