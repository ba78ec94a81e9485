//! The AV1 dependency descriptor RTP header extension (AV1 RTP payload format, appendix A):
//! mandatory fields, extended flags, the template dependency structure, active decode targets
//! and custom per-frame dependencies.

use super::extension::{ExtensionKind, ExtensionValue};
use crate::bits::{BitReader, BitWriter};
use crate::error::{Error, Result};

/// Most templates a structure may hold (the template id is 6 bits).
pub const MAX_TEMPLATES: usize = 64;
/// Most decode targets (dt_cnt_minus_one is 5 bits).
pub const MAX_DECODE_TARGETS: usize = 32;
/// Most spatial layers this crate accepts in a structure.
pub const MAX_SPATIAL_LAYERS: usize = 4;
/// Most temporal layers this crate accepts in a structure.
pub const MAX_TEMPORAL_LAYERS: usize = 8;

/// Decode target indication (appendix A.8.3 table A.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dti {
    /// 0: the frame is not associated with the decode target.
    NotPresent,
    /// 1: the frame is discardable for the decode target.
    Discardable,
    /// 2: a switch indication.
    Switch,
    /// 3: the frame is required by the decode target.
    Required,
}

impl Dti {
    fn from_bits(v: u32) -> Dti {
        match v & 3 {
            0 => Dti::NotPresent,
            1 => Dti::Discardable,
            2 => Dti::Switch,
            _ => Dti::Required,
        }
    }

    fn bits(self) -> u32 {
        self as u32
    }
}

/// One frame dependency template.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FrameDependencyTemplate {
    /// The template's spatial layer.
    pub spatial_id: u8,
    /// The template's temporal layer.
    pub temporal_id: u8,
    /// One indication per decode target.
    pub dtis: Vec<Dti>,
    /// Frame number differences to referenced frames, each 1..=16.
    pub fdiffs: Vec<u8>,
    /// Per chain, the frame number difference to the previous frame in the chain, 0..=15.
    pub chain_fdiffs: Vec<u8>,
}

/// Render resolution of one spatial layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RenderResolution {
    /// Width in pixels, 1..=65536.
    pub width: u32,
    /// Height in pixels, 1..=65536.
    pub height: u32,
}

/// The template dependency structure (appendix A.8.2 `template_dependency_structure`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FrameDependencyStructure {
    /// The template id of the first template (0..=63).
    pub template_id_offset: u8,
    /// Number of decode targets, 1..=32.
    pub decode_target_count: u8,
    /// Number of chains, 0..=decode_target_count.
    pub chain_count: u8,
    /// Per decode target, the chain protecting it (empty when there are no chains).
    pub decode_target_protected_by: Vec<u8>,
    /// The templates, ordered by spatial then temporal id; the first is layer (0, 0).
    pub templates: Vec<FrameDependencyTemplate>,
    /// Render resolutions, one per spatial layer, when present.
    pub resolutions: Option<Vec<RenderResolution>>,
}

/// A parsed dependency descriptor.
///
/// ```text
/// mandatory: start_of_frame(1) end_of_frame(1) frame_dependency_template_id(6) frame_number(16)
/// extended:  template_dependency_structure_present_flag(1) active_decode_targets_present_flag(1)
///            custom_dtis_flag(1) custom_fdiffs_flag(1) custom_chains_flag(1) ...
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DependencyDescriptor {
    /// First packet of the frame.
    pub start_of_frame: bool,
    /// Last packet of the frame.
    pub end_of_frame: bool,
    /// The template describing this frame (0..=63).
    pub frame_dependency_template_id: u8,
    /// Frame counter, wrapping.
    pub frame_number: u16,
    /// The structure attached to this packet (usually on key frames).
    pub structure: Option<FrameDependencyStructure>,
    /// Explicit active decode targets bitmask (bit i = decode target i).
    pub active_decode_targets_bitmask: Option<u32>,
    /// Per-frame decode target indications replacing the template's.
    pub custom_dtis: Option<Vec<Dti>>,
    /// Per-frame frame diffs replacing the template's, each 1..=4096.
    pub custom_fdiffs: Option<Vec<u16>>,
    /// Per-frame chain diffs replacing the template's.
    pub custom_chains: Option<Vec<u8>>,
}

impl DependencyDescriptor {
    /// Parses a descriptor. `known` is the structure from an earlier packet, needed when this
    /// one has custom DTIs or chains and carries no structure of its own.
    ///
    /// # Errors
    /// [`Error::Truncated`] when bits run out, [`Error::Malformed`] for a template id outside
    /// the structure, inconsistent layer layout, or custom fields without a structure.
    pub fn parse_with(data: &[u8], known: Option<&FrameDependencyStructure>) -> Result<Self> {
        if data.len() < 3 {
            return Err(Error::Truncated("dependency descriptor"));
        }
        let mut r = BitReader::new(data);
        let mut dd = DependencyDescriptor {
            start_of_frame: r.bit()?,
            end_of_frame: r.bit()?,
            frame_dependency_template_id: r.bits(6)? as u8,
            frame_number: r.bits(16)? as u16,
            ..Default::default()
        };
        if data.len() == 3 {
            return Ok(dd);
        }
        let structure_present = r.bit()?;
        let active_present = r.bit()?;
        let custom_dtis = r.bit()?;
        let custom_fdiffs = r.bit()?;
        let custom_chains = r.bit()?;
        if structure_present {
            dd.structure = Some(read_structure(&mut r)?);
        }
        let structure = dd.structure.as_ref().or(known);
        if active_present {
            let s = structure.ok_or(Error::Malformed("active decode targets without structure"))?;
            dd.active_decode_targets_bitmask = Some(r.bits(u32::from(s.decode_target_count))?);
        }
        if let Some(s) = structure {
            let index = (usize::from(dd.frame_dependency_template_id) + MAX_TEMPLATES
                - usize::from(s.template_id_offset))
                % MAX_TEMPLATES;
            if index >= s.templates.len() {
                return Err(Error::Malformed("dependency descriptor template id"));
            }
        }
        if custom_dtis {
            let s = structure.ok_or(Error::Malformed("custom dtis without structure"))?;
            let mut v = Vec::with_capacity(usize::from(s.decode_target_count));
            for _ in 0..s.decode_target_count {
                v.push(Dti::from_bits(r.bits(2)?));
            }
            dd.custom_dtis = Some(v);
        }
        if custom_fdiffs {
            let mut v = Vec::new();
            loop {
                let size = r.bits(2)?;
                if size == 0 {
                    break;
                }
                v.push(r.bits(4 * size)? as u16 + 1);
            }
            dd.custom_fdiffs = Some(v);
        }
        if custom_chains {
            let s = structure.ok_or(Error::Malformed("custom chains without structure"))?;
            let mut v = Vec::with_capacity(usize::from(s.chain_count));
            for _ in 0..s.chain_count {
                v.push(r.bits(8)? as u8);
            }
            dd.custom_chains = Some(v);
        }
        debug_assert!(r.position() <= data.len() * 8);
        Ok(dd)
    }

    /// The structure that applies: the attached one, else `known`.
    #[must_use]
    pub fn structure_or<'a>(
        &'a self,
        known: Option<&'a FrameDependencyStructure>,
    ) -> Option<&'a FrameDependencyStructure> {
        self.structure.as_ref().or(known)
    }

    /// Appends the descriptor to `buf`, padded with zero bits to a whole octet.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] when a field does not fit, the template layers are not in
    /// the order the format can express, or custom fields do not match the structure.
    pub fn write_with(
        &self,
        known: Option<&FrameDependencyStructure>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if self.frame_dependency_template_id >= 64 {
            return Err(Error::ValueOutOfRange("frame_dependency_template_id"));
        }
        let mut w = BitWriter::default();
        w.bit(self.start_of_frame);
        w.bit(self.end_of_frame);
        w.bits(u32::from(self.frame_dependency_template_id), 6);
        w.bits(u32::from(self.frame_number), 16);
        let extended = self.structure.is_some()
            || self.active_decode_targets_bitmask.is_some()
            || self.custom_dtis.is_some()
            || self.custom_fdiffs.is_some()
            || self.custom_chains.is_some();
        if extended {
            w.bit(self.structure.is_some());
            w.bit(self.active_decode_targets_bitmask.is_some());
            w.bit(self.custom_dtis.is_some());
            w.bit(self.custom_fdiffs.is_some());
            w.bit(self.custom_chains.is_some());
            if let Some(s) = &self.structure {
                write_structure(s, &mut w)?;
            }
            let structure = self.structure.as_ref().or(known);
            if let Some(s) = structure {
                let index = (usize::from(self.frame_dependency_template_id) + MAX_TEMPLATES
                    - usize::from(s.template_id_offset))
                    % MAX_TEMPLATES;
                if index >= s.templates.len() {
                    return Err(Error::ValueOutOfRange("frame_dependency_template_id"));
                }
            }
            let need = |what| structure.ok_or(Error::ValueOutOfRange(what));
            if let Some(mask) = self.active_decode_targets_bitmask {
                let s = need("active decode targets without structure")?;
                let n = u32::from(s.decode_target_count);
                if n < 32 && mask >> n != 0 {
                    return Err(Error::ValueOutOfRange("active decode targets bitmask"));
                }
                w.bits(mask, n);
            }
            if let Some(dtis) = &self.custom_dtis {
                let s = need("custom dtis without structure")?;
                if dtis.len() != usize::from(s.decode_target_count) {
                    return Err(Error::ValueOutOfRange("custom dtis"));
                }
                for d in dtis {
                    w.bits(d.bits(), 2);
                }
            }
            if let Some(fdiffs) = &self.custom_fdiffs {
                for &f in fdiffs {
                    let v = u32::from(f)
                        .checked_sub(1)
                        .ok_or(Error::ValueOutOfRange("custom fdiff"))?;
                    let size = match v {
                        0..=0xF => 1,
                        0x10..=0xFF => 2,
                        0x100..=0xFFF => 3,
                        _ => return Err(Error::ValueOutOfRange("custom fdiff")),
                    };
                    w.bits(size, 2);
                    w.bits(v, 4 * size);
                }
                w.bits(0, 2);
            }
            if let Some(chains) = &self.custom_chains {
                let s = need("custom chains without structure")?;
                if chains.len() != usize::from(s.chain_count) {
                    return Err(Error::ValueOutOfRange("custom chains"));
                }
                for &c in chains {
                    w.bits(u32::from(c), 8);
                }
            }
        }
        if w.data.len() > 255 {
            return Err(Error::ValueOutOfRange("dependency descriptor length"));
        }
        buf.extend_from_slice(&w.data);
        Ok(())
    }
}

impl ExtensionValue for DependencyDescriptor {
    const KIND: ExtensionKind = ExtensionKind::DependencyDescriptor;

    /// Parses with no earlier structure: see [`DependencyDescriptor::parse_with`].
    fn parse(data: &[u8]) -> Result<Self> {
        Self::parse_with(data, None)
    }

    fn write(&self, buf: &mut Vec<u8>) -> Result<()> {
        self.write_with(None, buf)
    }
}

fn read_structure(r: &mut BitReader<'_>) -> Result<FrameDependencyStructure> {
    let template_id_offset = r.bits(6)? as u8;
    let dt_cnt = r.bits(5)? + 1;
    // template_layers()
    let mut layers: Vec<(u8, u8)> = Vec::new();
    let (mut sid, mut tid) = (0u8, 0u8);
    loop {
        if layers.len() >= MAX_TEMPLATES {
            return Err(Error::LimitExceeded("dependency descriptor templates"));
        }
        layers.push((sid, tid));
        match r.bits(2)? {
            0 => {}
            1 => tid += 1,
            2 => {
                tid = 0;
                sid += 1;
            }
            _ => break,
        }
        if usize::from(sid) >= MAX_SPATIAL_LAYERS || usize::from(tid) >= MAX_TEMPORAL_LAYERS {
            return Err(Error::LimitExceeded("dependency descriptor layers"));
        }
    }
    let mut templates: Vec<FrameDependencyTemplate> = layers
        .iter()
        .map(|&(spatial_id, temporal_id)| FrameDependencyTemplate {
            spatial_id,
            temporal_id,
            ..Default::default()
        })
        .collect();
    // template_dtis()
    for t in &mut templates {
        for _ in 0..dt_cnt {
            t.dtis.push(Dti::from_bits(r.bits(2)?));
        }
    }
    // template_fdiffs()
    for t in &mut templates {
        while r.bit()? {
            if t.fdiffs.len() >= 16 {
                return Err(Error::LimitExceeded("dependency descriptor fdiffs"));
            }
            t.fdiffs.push(r.bits(4)? as u8 + 1);
        }
    }
    // template_chains()
    let chain_count = r.ns(dt_cnt + 1)?;
    let mut protected_by = Vec::new();
    if chain_count > 0 {
        for _ in 0..dt_cnt {
            protected_by.push(r.ns(chain_count)? as u8);
        }
        for t in &mut templates {
            for _ in 0..chain_count {
                t.chain_fdiffs.push(r.bits(4)? as u8);
            }
        }
    }
    let resolutions = if r.bit()? {
        let max_sid = layers.last().map_or(0, |l| l.0);
        let mut v = Vec::new();
        for _ in 0..=max_sid {
            v.push(RenderResolution {
                width: r.bits(16)? + 1,
                height: r.bits(16)? + 1,
            });
        }
        Some(v)
    } else {
        None
    };
    Ok(FrameDependencyStructure {
        template_id_offset,
        decode_target_count: dt_cnt as u8,
        chain_count: chain_count as u8,
        decode_target_protected_by: protected_by,
        templates,
        resolutions,
    })
}

fn write_structure(s: &FrameDependencyStructure, w: &mut BitWriter) -> Result<()> {
    let bad = |what| Err(Error::ValueOutOfRange(what));
    let dt_cnt = usize::from(s.decode_target_count);
    if s.template_id_offset >= 64 {
        return bad("template_id_offset");
    }
    if !(1..=MAX_DECODE_TARGETS).contains(&dt_cnt) {
        return bad("decode target count");
    }
    if s.templates.is_empty() || s.templates.len() > MAX_TEMPLATES {
        return bad("template count");
    }
    if usize::from(s.chain_count) > dt_cnt {
        return bad("chain count");
    }
    w.bits(u32::from(s.template_id_offset), 6);
    w.bits(dt_cnt as u32 - 1, 5);
    let first = &s.templates[0];
    if first.spatial_id != 0 || first.temporal_id != 0 {
        return bad("first template layer");
    }
    if s.templates.iter().any(|t| {
        usize::from(t.spatial_id) >= MAX_SPATIAL_LAYERS
            || usize::from(t.temporal_id) >= MAX_TEMPORAL_LAYERS
    }) {
        return bad("template layer");
    }
    for pair in s.templates.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let idc = if b.spatial_id == a.spatial_id && b.temporal_id == a.temporal_id {
            0
        } else if b.spatial_id == a.spatial_id && b.temporal_id == a.temporal_id + 1 {
            1
        } else if b.spatial_id == a.spatial_id + 1 && b.temporal_id == 0 {
            2
        } else {
            return bad("template layer order");
        };
        w.bits(idc, 2);
    }
    w.bits(3, 2);
    for t in &s.templates {
        if t.dtis.len() != dt_cnt {
            return bad("template dtis");
        }
        for d in &t.dtis {
            w.bits(d.bits(), 2);
        }
    }
    for t in &s.templates {
        for &f in &t.fdiffs {
            if !(1..=16).contains(&f) {
                return bad("template fdiff");
            }
            w.bit(true);
            w.bits(u32::from(f - 1), 4);
        }
        w.bit(false);
    }
    let chains = u32::from(s.chain_count);
    w.ns(chains, dt_cnt as u32 + 1);
    if chains > 0 {
        if s.decode_target_protected_by.len() != dt_cnt {
            return bad("decode_target_protected_by");
        }
        for &p in &s.decode_target_protected_by {
            if u32::from(p) >= chains {
                return bad("decode_target_protected_by");
            }
            w.ns(u32::from(p), chains);
        }
        for t in &s.templates {
            if t.chain_fdiffs.len() != usize::from(s.chain_count) {
                return bad("template chain fdiffs");
            }
            for &c in &t.chain_fdiffs {
                if c > 15 {
                    return bad("template chain fdiff");
                }
                w.bits(u32::from(c), 4);
            }
        }
    } else if !s.decode_target_protected_by.is_empty()
        || s.templates.iter().any(|t| !t.chain_fdiffs.is_empty())
    {
        return bad("chains without chain count");
    }
    match &s.resolutions {
        None => w.bit(false),
        Some(res) => {
            let max_sid = s.templates.last().map_or(0, |t| t.spatial_id);
            if res.len() != usize::from(max_sid) + 1 {
                return bad("render resolutions");
            }
            w.bit(true);
            for r in res {
                if !(1..=65536).contains(&r.width) || !(1..=65536).contains(&r.height) {
                    return bad("render resolution");
                }
                w.bits(r.width - 1, 16);
                w.bits(r.height - 1, 16);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Chromium AV1 key frame with an L2T2_KEY structure (2 spatial, 2 temporal layers, 4
    // decode targets, 2 chains, 160x120 and 320x240), from the capture in
    // github.com/olivermichel/webrtc-analysis test/include/data.h (rtp_pkt3, extension id 13).
    const CHROME_DD: &str =
        "c00001800318 7aaaf130a0a014d1 4138230460086422 222650 09f0077013f00ef0";

    #[test]
    fn chrome_structure() {
        use Dti::{Discardable as D, NotPresent as N, Required as R, Switch as S};
        let b = hex::decode(CHROME_DD.replace(' ', "")).unwrap();
        let dd = DependencyDescriptor::parse(&b).unwrap();
        assert!(dd.start_of_frame && dd.end_of_frame);
        assert_eq!(dd.frame_dependency_template_id, 0);
        assert_eq!(dd.frame_number, 1);
        assert_eq!(dd.active_decode_targets_bitmask, None);
        let s = dd.structure.as_ref().unwrap();
        assert_eq!(s.template_id_offset, 0);
        assert_eq!(s.decode_target_count, 4);
        assert_eq!(s.chain_count, 2);
        assert_eq!(s.decode_target_protected_by, vec![0, 0, 1, 1]);
        let t: Vec<_> = s
            .templates
            .iter()
            .map(|t| {
                (
                    t.spatial_id,
                    t.temporal_id,
                    t.dtis.clone(),
                    t.fdiffs.clone(),
                )
            })
            .collect();
        assert_eq!(
            t,
            vec![
                (0, 0, vec![S, S, S, S], vec![]),
                (0, 0, vec![S, S, R, R], vec![4]),
                (0, 1, vec![N, D, N, R], vec![2]),
                (1, 0, vec![N, N, S, S], vec![1]),
                (1, 0, vec![N, N, S, S], vec![4, 1]),
                (1, 1, vec![N, N, N, D], vec![2, 1]),
            ]
        );
        assert_eq!(s.templates[1].chain_fdiffs, vec![4, 3]);
        assert_eq!(
            s.resolutions,
            Some(vec![
                RenderResolution {
                    width: 160,
                    height: 120
                },
                RenderResolution {
                    width: 320,
                    height: 240
                }
            ])
        );
        let mut out = Vec::new();
        dd.write(&mut out).unwrap();
        assert_eq!(out, b);
    }

    #[test]
    fn chrome_mandatory_only() {
        // Same capture, rtp_pkt1 id 13: start of frame, template 1, frame 0x45.
        let dd = DependencyDescriptor::parse(&[0x81, 0x00, 0x45]).unwrap();
        assert!(dd.start_of_frame && !dd.end_of_frame);
        assert_eq!(dd.frame_dependency_template_id, 1);
        assert_eq!(dd.frame_number, 0x45);
        assert_eq!(dd.to_vec().unwrap(), vec![0x81, 0x00, 0x45]);
        assert!(DependencyDescriptor::parse(&[0x81, 0x00]).is_err());
    }

    #[test]
    fn custom_fields_need_structure() {
        let b = hex::decode(CHROME_DD.replace(' ', "")).unwrap();
        let key = DependencyDescriptor::parse(&b).unwrap();
        let s = key.structure.clone().unwrap();
        let delta = DependencyDescriptor {
            start_of_frame: true,
            end_of_frame: true,
            frame_dependency_template_id: 2,
            frame_number: 2,
            active_decode_targets_bitmask: Some(0b0011),
            custom_dtis: Some(vec![
                Dti::Required,
                Dti::Discardable,
                Dti::NotPresent,
                Dti::Switch,
            ]),
            custom_fdiffs: Some(vec![1, 17, 300]),
            custom_chains: Some(vec![7, 200]),
            ..Default::default()
        };
        assert!(delta.to_vec().is_err());
        let mut buf = Vec::new();
        delta.write_with(Some(&s), &mut buf).unwrap();
        assert!(DependencyDescriptor::parse(&buf).is_err());
        assert_eq!(
            DependencyDescriptor::parse_with(&buf, Some(&s)).unwrap(),
            delta
        );
        // A template id outside the structure is rejected.
        let mut bad = buf.clone();
        bad[0] = (bad[0] & 0xC0) | 40;
        assert!(DependencyDescriptor::parse_with(&bad, Some(&s)).is_err());
    }

    fn arb_structure() -> impl Strategy<Value = FrameDependencyStructure> {
        (
            0u8..64,
            1u8..=8,
            proptest::collection::vec(0u32..3, 0..10),
            any::<bool>(),
        )
            .prop_flat_map(|(offset, dt, steps, res)| {
                let mut layers = vec![(0u8, 0u8)];
                for s in steps {
                    let (sid, tid) = *layers.last().unwrap_or(&(0, 0));
                    let next = match s {
                        0 => (sid, tid),
                        1 if tid + 1 < MAX_TEMPORAL_LAYERS as u8 => (sid, tid + 1),
                        2 if sid + 1 < MAX_SPATIAL_LAYERS as u8 => (sid + 1, 0),
                        _ => (sid, tid),
                    };
                    layers.push(next);
                }
                let n = layers.len();
                let max_sid = layers.last().map_or(0, |l| l.0);
                (
                    Just((offset, dt, layers, res, max_sid)),
                    0..=dt,
                    proptest::collection::vec(
                        (
                            proptest::collection::vec(0u32..4, dt as usize),
                            proptest::collection::vec(1u8..=16, 0..4),
                            proptest::collection::vec(0u8..16, dt as usize),
                        ),
                        n,
                    ),
                    proptest::collection::vec(0u8..8, dt as usize),
                    proptest::collection::vec((1u32..=65536, 1u32..=65536), max_sid as usize + 1),
                )
            })
            .prop_map(|((offset, dt, layers, res, _), chains, per, prot, sizes)| {
                FrameDependencyStructure {
                    template_id_offset: offset,
                    decode_target_count: dt,
                    chain_count: chains,
                    decode_target_protected_by: if chains == 0 {
                        vec![]
                    } else {
                        prot.iter().map(|p| p % chains).collect()
                    },
                    templates: layers
                        .iter()
                        .zip(per)
                        .map(|(&(s, t), (dtis, fdiffs, cf))| FrameDependencyTemplate {
                            spatial_id: s,
                            temporal_id: t,
                            dtis: dtis.into_iter().map(Dti::from_bits).collect(),
                            fdiffs,
                            chain_fdiffs: cf.into_iter().take(chains as usize).collect(),
                        })
                        .collect(),
                    resolutions: res.then(|| {
                        sizes
                            .into_iter()
                            .map(|(width, height)| RenderResolution { width, height })
                            .collect()
                    }),
                }
            })
    }

    proptest! {
        #[test]
        fn structure_round_trip(
            s in arb_structure(), sof in any::<bool>(), eof in any::<bool>(), fnum in any::<u16>(),
            tsel in any::<u8>(), active in proptest::option::of(any::<u32>()),
            custom_dtis in proptest::option::of(proptest::collection::vec(0u32..4, 32)),
            custom_fdiffs in proptest::option::of(proptest::collection::vec(1u16..=4096, 0..4)),
            custom_chains in proptest::option::of(proptest::collection::vec(any::<u8>(), 32)),
        ) {
            let dt = usize::from(s.decode_target_count);
            let index = usize::from(tsel) % s.templates.len();
            let dd = DependencyDescriptor {
                start_of_frame: sof,
                end_of_frame: eof,
                frame_dependency_template_id: ((index + usize::from(s.template_id_offset)) % 64) as u8,
                frame_number: fnum,
                active_decode_targets_bitmask: active.map(|a| if dt == 32 { a } else { a & ((1 << dt) - 1) }),
                custom_dtis: custom_dtis.map(|v| v.into_iter().take(dt).map(Dti::from_bits).collect()),
                custom_fdiffs,
                custom_chains: custom_chains.map(|v| v.into_iter().take(usize::from(s.chain_count)).collect()),
                structure: Some(s),
            };
            let b = dd.to_vec().unwrap();
            prop_assert_eq!(DependencyDescriptor::parse(&b).unwrap(), dd);
        }

        #[test]
        fn parse_any_is_stable(d in proptest::collection::vec(any::<u8>(), 3..40)) {
            if let Ok(dd) = DependencyDescriptor::parse(&d) {
                let w = dd.to_vec().unwrap();
                prop_assert_eq!(DependencyDescriptor::parse(&w).unwrap(), dd);
            }
        }
    }
}
