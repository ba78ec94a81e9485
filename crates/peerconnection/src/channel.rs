//! The borrowing data channel handle of the sans-IO core.

use crate::datachannel::{ChannelId, DataChannelInit, DataChannelState};
use crate::error::Error;
use crate::peer_connection::PeerConnection;
use bytes::Bytes;

/// A data channel, borrowed from its [`PeerConnection`] (W3C `RTCDataChannel`).
///
/// Get one with [`PeerConnection::channel`]; sending queues SCTP packets that the next
/// [`poll_transmit`](PeerConnection::poll_transmit) calls return.
pub struct Channel<'a> {
    pub(crate) pc: &'a mut PeerConnection,
    pub(crate) id: ChannelId,
}

impl Channel<'_> {
    /// The handle.
    pub fn id(&self) -> ChannelId {
        self.id
    }

    /// The label (W3C `label`).
    pub fn label(&self) -> &str {
        self.pc
            .channels
            .get(&self.id)
            .map_or("", |c| c.label.as_str())
    }

    /// The sub-protocol (W3C `protocol`).
    pub fn protocol(&self) -> &str {
        self.pc
            .channels
            .get(&self.id)
            .map_or("", |c| c.init.protocol.as_str())
    }

    /// The options it was created with (for a remote channel: what its DCEP open said).
    pub fn init(&self) -> Option<&DataChannelInit> {
        self.pc.channels.get(&self.id).map(|c| &c.init)
    }

    /// The SCTP stream id (W3C `id`), once known: at once for negotiated channels, when
    /// the DTLS role is known for the others (even for the DTLS client, RFC 8832 §6).
    pub fn stream_id(&self) -> Option<u16> {
        self.pc.channels.get(&self.id).and_then(|c| c.stream_id)
    }

    /// The state (W3C `readyState`).
    pub fn ready_state(&self) -> DataChannelState {
        self.pc
            .channels
            .get(&self.id)
            .map_or(DataChannelState::Closed, |c| c.state)
    }

    /// Bytes queued and not yet handed to the network (W3C `bufferedAmount`).
    pub fn buffered_amount(&self) -> usize {
        match (self.stream_id(), &self.pc.transport.sctp) {
            (Some(sid), Some(s)) => s.buffered_amount(sid),
            _ => 0,
        }
    }

    /// The threshold of the buffered-amount-low event in bytes (W3C
    /// `bufferedAmountLowThreshold`).
    pub fn buffered_amount_low_threshold(&self) -> usize {
        self.pc
            .channels
            .get(&self.id)
            .map_or(0, |c| c.low_threshold)
    }

    /// Sets the threshold: [`Event::ChannelBufferedAmountLow`](crate::Event) fires when
    /// the buffered amount falls from above it to at or below it.
    pub fn set_buffered_amount_low_threshold(&mut self, bytes: usize) {
        let sid = self.stream_id();
        if let Some(c) = self.pc.channels.get_mut(&self.id) {
            c.low_threshold = bytes;
        }
        if let (Some(sid), Some(s)) = (sid, &mut self.pc.transport.sctp) {
            let _ = s.set_buffered_amount_low_threshold(sid, bytes);
        }
    }

    /// The largest message [`send`](Self::send) takes: the remote's max-message-size
    /// (RFC 8841 §6).
    pub fn max_message_size(&self) -> usize {
        self.pc.transport.remote_max_message_size
    }

    /// Sends a binary message (W3C `send(ArrayBuffer)`).
    ///
    /// # Errors
    /// [`Error::Closed`]; [`Error::InvalidState`] unless the channel is open;
    /// [`Error::MessageTooLarge`] above the remote's `a=max-message-size`.
    pub fn send(&mut self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.send_message(data.into(), false)
    }

    /// Sends a text message (W3C `send(string)`).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send_message(Bytes::copy_from_slice(text.as_bytes()), true)
    }

    fn send_message(&mut self, data: Bytes, is_text: bool) -> Result<(), Error> {
        if self.pc.is_closed() {
            return Err(Error::Closed);
        }
        let entry = self.pc.channels.get(&self.id).ok_or(Error::UnknownHandle)?;
        if entry.state != DataChannelState::Open {
            return Err(Error::InvalidState("data channel is not open"));
        }
        let max = self.pc.transport.remote_max_message_size;
        if data.len() > max {
            return Err(Error::MessageTooLarge {
                size: data.len(),
                max,
            });
        }
        let sid = entry.stream_id.ok_or(Error::InvalidState("no stream id"))?;
        let len = data.len() as u64;
        let sctp = self
            .pc
            .transport
            .sctp
            .as_mut()
            .ok_or(Error::InvalidState("no sctp association"))?;
        sctp.send(sid, data, is_text)?;
        if let Some(c) = self.pc.channels.get_mut(&self.id) {
            c.messages_sent += 1;
            c.bytes_sent += len;
        }
        self.pc.drive();
        Ok(())
    }

    /// Closes the channel (W3C `close()`): queued messages go out, then the stream is
    /// reset (RFC 8831 §6.7); [`Event::ChannelClosed`](crate::Event) follows.
    pub fn close(&mut self) {
        let Some(entry) = self.pc.channels.get_mut(&self.id) else {
            return;
        };
        match entry.state {
            DataChannelState::Closing | DataChannelState::Closed => return,
            DataChannelState::Connecting if entry.stream_id.is_none() => {
                entry.state = DataChannelState::Closed;
                self.pc
                    .events
                    .push_back(crate::Event::ChannelClosed(self.id));
                return;
            }
            _ => entry.state = DataChannelState::Closing,
        }
        if let (Some(sid), Some(s)) = (entry.stream_id, &mut self.pc.transport.sctp) {
            let _ = s.close_channel(sid);
        } else {
            entry.state = DataChannelState::Closed;
            self.pc
                .events
                .push_back(crate::Event::ChannelClosed(self.id));
        }
        self.pc.drive();
    }
}
