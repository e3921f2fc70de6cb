//! ISO base media files (MP4, MOV, M4A, AVIF): boxes walked to a bounded depth, the
//! movie's tracks and sample tables checked against the file.

use std::io::{Read, Seek};

use super::{Budget, Checked, Probed, Problem, Source, bad, pixels_ok};

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
pub(super) fn movie<R: Read + Seek>(src: &mut Source<R>, audio_only: bool) -> Checked<Probed> {
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
pub(super) fn avif<R: Read + Seek>(src: &mut Source<R>) -> Checked<Probed> {
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
