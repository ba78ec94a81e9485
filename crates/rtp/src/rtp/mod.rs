//! RTP packets (RFC 3550 section 5) and header extensions (RFC 8285).

pub mod dependency_descriptor;
pub mod extension;
pub mod packet;

pub use dependency_descriptor::{
    DependencyDescriptor, Dti, FrameDependencyStructure, FrameDependencyTemplate, RenderResolution,
};
pub use extension::{
    AbsCaptureTime, AbsSendTime, AudioLevel, ExtensionElements, ExtensionKind, ExtensionMap,
    ExtensionValue, Mid, PlayoutDelay, RepairedRtpStreamId, RtpStreamId, TransportSequenceNumber,
    VideoOrientation,
};
pub use packet::{ExtensionElement, HeaderExtension, RtpHeader, RtpPacket};
