//! DTMF sending (W3C `RTCDTMFSender`, RFC 4733 telephone events): a tone buffer played one
//! tone at a time, each as a series of event packets every 50 ms with three final packets,
//! separated by the inter-tone gap; a comma pauses two seconds; tone-change events mark
//! each tone's start and the end of the buffer.

use crate::error::Error;
use crate::event::Event;
use crate::peer_connection::PeerConnection;
use crate::transceiver::{MediaKind, TransceiverId};
use oxrtc_rtp::codec::telephone_event::{dtmf_event, TelephoneEvent};
use oxrtc_rtp::rtp::RtpHeader;
use std::time::{Duration, Instant};

/// Interval between the packets of one event (RFC 4733 §2.5.1.2: 50 ms is typical).
const PACKET_INTERVAL: Duration = Duration::from_millis(50);
/// The pause a comma in the tone buffer stands for (W3C `insertDTMF`).
const COMMA_PAUSE: Duration = Duration::from_secs(2);
/// Volume of our events, -dBm0.
const VOLUME: u8 = 10;

#[derive(Debug, Clone, Copy, Default)]
enum State {
    #[default]
    Idle,
    /// A comma.
    Pause {
        until: Instant,
    },
    Tone {
        event: u8,
        timestamp: u32,
        start: Instant,
        end: Instant,
        next: Instant,
        ends_sent: u8,
    },
    Gap {
        until: Instant,
    },
}

/// What a step of the DTMF sender produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DtmfOut {
    /// `tonechange` with this tone ("" when the buffer is done).
    ToneChange(String),
    /// An event packet.
    Packet {
        event: TelephoneEvent,
        marker: bool,
        timestamp: u32,
    },
}

/// The DTMF state of one audio sender.
#[derive(Debug, Clone, Default)]
pub(crate) struct DtmfSender {
    buffer: String,
    duration: Duration,
    gap: Duration,
    state: State,
}

impl DtmfSender {
    /// The tones still to play (W3C `toneBuffer`).
    pub(crate) fn tone_buffer(&self) -> &str {
        &self.buffer
    }

    /// Replaces the tone buffer (W3C `insertDTMF`): tones are upper-cased, the duration
    /// clamped to 40–6000 ms and the gap raised to at least 30 ms.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a character other than `0-9 A-D # * ,`.
    pub(crate) fn insert(
        &mut self,
        tones: &str,
        duration: Duration,
        gap: Duration,
    ) -> Result<(), Error> {
        let tones = tones.to_ascii_uppercase();
        if !tones.chars().all(|c| c == ',' || dtmf_event(c).is_some()) {
            return Err(Error::InvalidArgument(
                "a DTMF tone is one of 0-9, A-D, #, * and ,",
            ));
        }
        self.buffer = tones;
        self.duration = duration.clamp(Duration::from_millis(40), Duration::from_millis(6000));
        self.gap = gap.max(Duration::from_millis(30));
        Ok(())
    }

    /// Forgets everything (the sender stopped).
    pub(crate) fn clear(&mut self) {
        self.buffer.clear();
        self.state = State::Idle;
    }

    /// When [`step`](Self::step) has something to do.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Idle => None,
            State::Pause { until } | State::Gap { until } => Some(until),
            State::Tone { next, .. } => Some(next),
        }
    }

    /// Whether a step is due now (a buffer waiting while idle counts).
    pub(crate) fn due(&self, now: Instant) -> bool {
        match self.state {
            State::Idle => !self.buffer.is_empty(),
            _ => self.poll_timeout().is_some_and(|t| now >= t),
        }
    }

    /// Advances to `now`. `timestamp` is the audio RTP timestamp at `now` (a tone starts
    /// there), `clock_rate` that of the telephone-event payload type.
    pub(crate) fn step(&mut self, now: Instant, timestamp: u32, clock_rate: u32) -> Vec<DtmfOut> {
        let mut out = Vec::new();
        let ticks = |d: Duration| {
            (d.as_nanos() * u128::from(clock_rate) / 1_000_000_000).min(0xFFFF) as u16
        };
        for _ in 0..8 {
            match self.state {
                State::Idle => {
                    if self.buffer.is_empty() {
                        break;
                    }
                    let tone = self.buffer.remove(0);
                    out.push(DtmfOut::ToneChange(tone.to_string()));
                    match dtmf_event(tone) {
                        None => {
                            self.state = State::Pause {
                                until: now + COMMA_PAUSE,
                            }
                        }
                        Some(event) => {
                            out.push(DtmfOut::Packet {
                                event: TelephoneEvent {
                                    event,
                                    end: false,
                                    volume: VOLUME,
                                    duration: ticks(PACKET_INTERVAL.min(self.duration)),
                                },
                                marker: true,
                                timestamp,
                            });
                            self.state = State::Tone {
                                event,
                                timestamp,
                                start: now,
                                end: now + self.duration,
                                next: (now + PACKET_INTERVAL).min(now + self.duration),
                                ends_sent: 0,
                            };
                        }
                    }
                }
                State::Pause { until } | State::Gap { until } => {
                    if now < until {
                        break;
                    }
                    self.state = State::Idle;
                    if self.buffer.is_empty() {
                        out.push(DtmfOut::ToneChange(String::new()));
                        break;
                    }
                }
                State::Tone {
                    event,
                    timestamp: ts,
                    start,
                    end,
                    next,
                    ends_sent,
                } => {
                    if now < next {
                        break;
                    }
                    if now < end {
                        out.push(DtmfOut::Packet {
                            event: TelephoneEvent {
                                event,
                                end: false,
                                volume: VOLUME,
                                duration: ticks(now.saturating_duration_since(start)),
                            },
                            marker: false,
                            timestamp: ts,
                        });
                        self.state = State::Tone {
                            event,
                            timestamp: ts,
                            start,
                            end,
                            next: (next + PACKET_INTERVAL).min(end),
                            ends_sent,
                        };
                        break;
                    }
                    // The final packet, three times (RFC 4733 §2.5.1.4).
                    out.push(DtmfOut::Packet {
                        event: TelephoneEvent {
                            event,
                            end: true,
                            volume: VOLUME,
                            duration: ticks(end.saturating_duration_since(start)),
                        },
                        marker: false,
                        timestamp: ts,
                    });
                    if ends_sent + 1 < 3 {
                        self.state = State::Tone {
                            event,
                            timestamp: ts,
                            start,
                            end,
                            next: now + Duration::from_millis(20),
                            ends_sent: ends_sent + 1,
                        };
                        break;
                    }
                    self.state = State::Gap {
                        until: end + self.gap,
                    };
                }
            }
        }
        out
    }
}

impl PeerConnection {
    /// W3C `insertDTMF` on the sender of audio transceiver `id`.
    pub(crate) fn media_insert_dtmf(
        &mut self,
        id: TransceiverId,
        tones: &str,
        duration: Duration,
        gap: Duration,
    ) -> Result<(), Error> {
        if !self.media_can_insert_dtmf(id) {
            return Err(Error::InvalidState(
                "DTMF needs an audio sender that sends with telephone-event negotiated",
            ));
        }
        let s = self
            .media
            .senders
            .get_mut(&id)
            .ok_or(Error::UnknownHandle)?;
        s.dtmf.insert(tones, duration, gap)?;
        let now = self.now;
        self.media_dtmf_timeout(now);
        Ok(())
    }

    /// W3C `canInsertDTMF`.
    pub(crate) fn media_can_insert_dtmf(&self, id: TransceiverId) -> bool {
        self.transceiver(id)
            .is_some_and(|t| t.kind == MediaKind::Audio)
            && self.media_can_send(id)
            && self
                .media
                .senders
                .get(&id)
                .and_then(|s| s.setup.as_ref())
                .is_some_and(|s| s.dtmf_pt.is_some())
    }

    /// Plays what the DTMF senders have due.
    pub(crate) fn media_dtmf_timeout(&mut self, now: Instant) {
        let ids: Vec<TransceiverId> = self
            .media
            .senders
            .iter()
            .filter(|(_, s)| s.dtmf.due(now))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let can = self.media_can_insert_dtmf(id) && self.transport.srtp.is_some();
            let Some(s) = self.media.senders.get_mut(&id) else {
                continue;
            };
            if !can {
                s.dtmf.clear();
                continue;
            }
            let (Some(setup), Some(e)) = (s.setup.clone(), s.encodings.first()) else {
                continue;
            };
            let Some(pt) = setup.dtmf_pt else {
                continue;
            };
            let ts = e.timestamp_at(now);
            let outs = s.dtmf.step(now, ts, setup.codec.clock_rate);
            for o in outs {
                match o {
                    DtmfOut::ToneChange(tone) => self.events.push_back(Event::DtmfToneChange {
                        transceiver: id,
                        tone,
                    }),
                    DtmfOut::Packet {
                        event,
                        marker,
                        timestamp,
                    } => {
                        let mut payload = Vec::with_capacity(TelephoneEvent::LEN);
                        if event.write(&mut payload).is_err() {
                            continue;
                        }
                        let header = RtpHeader {
                            payload_type: pt,
                            timestamp,
                            marker,
                            ..RtpHeader::default()
                        };
                        let (el, _) = self.media_extensions(
                            id,
                            0,
                            now,
                            &super::send::Extras::default(),
                            false,
                        );
                        self.media_send(id, 0, now, header, &payload, el, false);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_tones_with_gaps_and_pauses() {
        let t0 = Instant::now();
        let mut d = DtmfSender::default();
        assert!(d
            .insert("1x", Duration::from_millis(100), Duration::from_millis(70))
            .is_err());
        d.insert("1,a", Duration::from_millis(100), Duration::from_millis(70))
            .unwrap();
        assert_eq!(d.tone_buffer(), "1,A");
        let mut now = t0;
        let mut log = Vec::new();
        for _ in 0..200 {
            if d.due(now) {
                for o in d.step(now, 1000, 8000) {
                    log.push((now.duration_since(t0).as_millis(), o));
                }
            }
            match d.poll_timeout() {
                Some(t) => now = t.max(now),
                None if d.tone_buffer().is_empty() => break,
                None => {}
            }
        }
        let changes: Vec<(u128, String)> = log
            .iter()
            .filter_map(|(t, o)| match o {
                DtmfOut::ToneChange(s) => Some((*t, s.clone())),
                _ => None,
            })
            .collect();
        // "1" at 0, "," after 100 ms + 70 ms gap, "A" 2 s later, "" after A and its gap.
        assert_eq!(
            changes,
            [
                (0, "1".into()),
                (170, ",".into()),
                (2170, "A".into()),
                (2340, String::new())
            ]
        );
        let packets: Vec<(u128, TelephoneEvent, bool)> = log
            .iter()
            .filter_map(|(t, o)| match o {
                DtmfOut::Packet { event, marker, .. } => Some((*t, *event, *marker)),
                _ => None,
            })
            .collect();
        // Tone 1: start (marker), 50 ms, then three end packets at 100 ms.
        let one: Vec<_> = packets.iter().filter(|p| p.1.event == 1).collect();
        assert!(one[0].2 && !one[1].2);
        assert_eq!(one[1].1.duration, 400); // 50 ms at 8 kHz
        let ends: Vec<_> = one.iter().filter(|p| p.1.end).collect();
        assert_eq!(ends.len(), 3);
        assert!(ends.iter().all(|p| p.1.duration == 800));
        assert!(packets.iter().any(|p| p.1.event == 12));
    }
}
