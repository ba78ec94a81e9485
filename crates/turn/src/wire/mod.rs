//! TURN's own framing on the wire: ChannelData messages (RFC 8656 §12.4) and the stream
//! framer for TCP and TLS connections (RFC 8656 §12.5). STUN messages and the TURN
//! attributes are `oxrtc_stun`'s.

mod channel_data;
mod framer;

pub use channel_data::{
    is_channel_data, is_rfc5766_channel_number, is_valid_channel_number, write_channel_data,
    ChannelData, ChannelDataRepr, CHANNEL_DATA_HEADER_LEN, CHANNEL_NUMBER_MAX,
    CHANNEL_NUMBER_MAX_RFC5766, CHANNEL_NUMBER_MIN, MAX_CHANNEL_DATA_LEN,
};
pub use framer::{Frame, StreamFramer, MAX_FRAME_LEN};
