//! WebM (Matroska's EBML): the header naming `webm`, one segment with its info, tracks and
//! clusters, every element's size within its parent.

use std::io::{Read, Seek};

use super::{Budget, Checked, Probed, Problem, Source, bad};

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
pub(super) fn webm<R: Read + Seek>(src: &mut Source<R>) -> Checked<Probed> {
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
