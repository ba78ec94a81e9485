// The Chromium side of the oxrtc CLI signaling contract (see interop/README.md). Signaling
// (the HTTP POST) is done by the driver, chromium_peer.mjs, which calls these functions over
// the DevTools protocol; the page only does WebRTC.
'use strict';

const KIB = 1024;
const DEFAULT_SIZES = [1, KIB, 16 * KIB, 64 * KIB, 256 * KIB];
const STRINGS = ['hello, echo', 'grüße, 世界 ✓', 'Ωmega ∑ 🚀 end'];
const BULK_MESSAGE = 64 * KIB;
const BULK_HIGH = 1024 * KIB; // stop sending above this buffered amount
const BULK_LOW = 256 * KIB; // resume below this one
// At most this much sent and not yet echoed: the echoing side cannot slow us down, and its own
// send queue is bounded (Chromium fails sends beyond 16 MiB), so the offerer limits it.
const ECHO_WINDOW = 4096 * KIB;

function log(...args) {
  const line = `${(performance.now() / 1000).toFixed(3)} ${args.join(' ')}`;
  console.log(line);
  const el = document.getElementById('log');
  if (el) el.textContent += line + '\n';
}

function configuration(p) {
  const servers = (p.iceServers || []).map((urls) => ({
    urls, username: p.iceUser || undefined, credential: p.icePass || undefined,
  }));
  return { iceServers: servers, iceTransportPolicy: p.relay ? 'relay' : 'all' };
}

function gatheringComplete(pc, ms = 10000) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`ICE gathering not complete after ${ms} ms`)), ms);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
    });
  });
}

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s waiting for ${what}`)), ms); }),
  ]).finally(() => clearTimeout(t));
}

function randomBytes(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

function sameBytes(a, b) {
  if (a.byteLength !== b.byteLength) return false;
  const n4 = a.byteLength >>> 2;
  const a32 = new Uint32Array(a.buffer, a.byteOffset, n4);
  const b32 = new Uint32Array(b.buffer, b.byteOffset, n4);
  for (let i = 0; i < n4; i++) if (a32[i] !== b32[i]) return false;
  for (let i = n4 * 4; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function remoteMaxMessageSize(sdp) {
  const m = /^a=max-message-size:(\d+)/m.exec(sdp);
  return m ? Number(m[1]) : 65536; // RFC 8841: 64 KiB when absent; 0 means no limit
}

// ------------------------------------------------------------------------------------------
// answer
// ------------------------------------------------------------------------------------------

const sessions = new Set();
let sessionCount = 0;

async function answer(offerSdp, params = {}) {
  const n = ++sessionCount;
  const pc = new RTCPeerConnection(configuration(params));
  sessions.add(pc);
  pc.onconnectionstatechange = () => {
    log(`session ${n}: connection ${pc.connectionState}`);
    if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
      sessions.delete(pc);
      pc.close();
    }
  };
  pc.ondatachannel = ({ channel }) => {
    log(`session ${n}: data channel ${JSON.stringify(channel.label)}`);
    channel.binaryType = 'arraybuffer';
    let failures = 0;
    channel.onmessage = (e) => {
      try {
        channel.send(e.data); // text stays text, binary stays binary
      } catch (err) { // e.g. a full send queue once the other side is gone
        if (failures++ === 0) log(`session ${n}: echo failed: ${err.message}`);
      }
    };
  };
  pc.ontrack = (e) => {
    // Reflect on the transceiver the track arrived on (Chromium decodes and re-encodes it).
    // A remote audio track yields samples only while something plays it out: give it a sink.
    if (e.track.kind === 'audio') {
      const sink = new Audio();
      sink.srcObject = new MediaStream([e.track]);
      sink.play().catch((err) => log(`session ${n}: audio sink: ${err.message}`));
      pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState === 'closed' || pc.connectionState === 'failed') sink.srcObject = null;
      });
    }
    e.transceiver.sender.replaceTrack(e.track);
    e.transceiver.direction = 'sendrecv';
    log(`session ${n}: reflecting ${e.track.kind} on mid ${e.transceiver.mid}`);
  };
  await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
  await pc.setLocalDescription();
  await gatheringComplete(pc);
  return pc.localDescription.sdp;
}

// ------------------------------------------------------------------------------------------
// offer
// ------------------------------------------------------------------------------------------

let current = null; // the offering session: { pc, channel, params, start, opened }

async function offerStart(params) {
  const start = performance.now();
  const pc = new RTCPeerConnection(configuration(params));
  const channel = pc.createDataChannel('echo', { ordered: true });
  channel.binaryType = 'arraybuffer';
  const opened = new Promise((resolve, reject) => {
    channel.onopen = () => resolve(performance.now());
    channel.onclose = () => reject(new Error('data channel closed'));
  });
  opened.catch(() => {});
  current = { pc, channel, params, start, opened };
  if (params.scenario === 'media-echo') {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { width: 320, height: 240, frameRate: 30 }, audio: true,
    });
    document.getElementById('local').srcObject = stream;
    for (const track of stream.getTracks()) {
      const t = pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
      const codecs = RTCRtpReceiver.getCapabilities(track.kind).codecs;
      const want = track.kind === 'video' ? 'video/vp8' : 'audio/opus';
      const prefs = codecs.filter((c) => c.mimeType.toLowerCase() === want)
        .concat(codecs.filter((c) => c.mimeType.toLowerCase() === 'video/rtx' && track.kind === 'video'));
      t.setCodecPreferences(prefs);
    }
    const remote = new MediaStream();
    pc.ontrack = (e) => {
      remote.addTrack(e.track);
      document.getElementById('remote').srcObject = remote;
    };
  }
  await pc.setLocalDescription();
  await gatheringComplete(pc);
  return pc.localDescription.sdp;
}

async function offerRun(answerSdp) {
  const { pc, channel, params, start } = current;
  const timeout = (params.timeout || 60) * 1000;
  try {
    await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
    const openedAt = await withTimeout(current.opened, timeout, 'the data channel to open');
    const setupMs = openedAt - start;
    const maxSize = remoteMaxMessageSize(answerSdp);
    let out;
    if (params.scenario === 'dc-echo') out = await dcEcho(channel, params, maxSize);
    else if (params.scenario === 'dc-bulk') out = await dcBulk(channel, params, maxSize);
    else out = await mediaEcho(pc, params);
    out.setup_ms = Math.round(setupMs * 10) / 10;
    return out;
  } finally {
    pc.close();
    current = null;
  }
}

// Checks echoes in order: each expected message is a string or a Uint8Array.
function echoChecker(channel, textPrefix) {
  const c = {
    expected: [], head: 0, received: 0, bytes: 0, sent: 0, last: 0, error: null, allSent: false,
    progress: null, // resolves on the next echo (or error)
  };
  const progressed = () => { if (c.progress) { const p = c.progress; c.progress = null; p(); } };
  let resolveDone;
  c.done = new Promise((resolve) => { resolveDone = resolve; });
  c.finish = () => { c.allSent = true; if (c.head === c.expected.length) resolveDone(); };
  channel.onmessage = (e) => {
    if (c.error) return;
    if (c.head >= c.expected.length) { c.error = 'unexpected extra message'; resolveDone(); progressed(); return; }
    const want = c.expected[c.head];
    c.expected[c.head++] = null;
    let ok;
    if (typeof want === 'string') ok = typeof e.data === 'string' && e.data === textPrefix + want;
    else ok = e.data instanceof ArrayBuffer && sameBytes(new Uint8Array(e.data), want);
    if (!ok) {
      const got = typeof e.data === 'string' ? `text of ${e.data.length}` : `binary of ${e.data.byteLength}`;
      c.error = `echo ${c.received} differs: sent ${typeof want === 'string' ? 'text' : 'binary'} of ${want.length}, got ${got}`;
      resolveDone();
      progressed();
      return;
    }
    c.received++;
    c.bytes += payloadLength(want);
    c.last = performance.now();
    progressed();
    if (c.allSent && c.head === c.expected.length) resolveDone();
  };
  channel.onclose = () => { if (!c.error) c.error = 'data channel closed'; resolveDone(); progressed(); };
  return c;
}

function payloadLength(m) {
  return typeof m === 'string' ? new TextEncoder().encode(m).length : m.byteLength;
}

// Sends once the buffered amount is below BULK_HIGH and less than ECHO_WINDOW is waiting for
// its echo; records the message as expected back.
async function sendFlowControlled(channel, c, message, timeoutMs) {
  while (c.sent - c.bytes > ECHO_WINDOW && !c.error) {
    await withTimeout(new Promise((resolve) => { c.progress = resolve; }), timeoutMs, 'echoes to catch up');
  }
  while (channel.bufferedAmount > BULK_HIGH && !c.error) {
    await withTimeout(new Promise((resolve) => { channel.onbufferedamountlow = resolve; }), timeoutMs, 'the buffered amount to drain');
  }
  if (c.error) return;
  c.expected.push(message);
  c.sent += payloadLength(message);
  channel.send(message);
}

async function dcEcho(channel, params, maxSize) {
  const sizes = params.sizes != null ? params.sizes : DEFAULT_SIZES;
  const strings = params.strings != null
    ? Array.from({ length: params.strings }, (_, i) => `${STRINGS[i % STRINGS.length]} #${i}`)
    : STRINGS;
  const skipped = [...new Set(sizes.filter((s) => maxSize && s > maxSize))].sort((a, b) => a - b);
  const plan = sizes.filter((s) => !skipped.includes(s));
  const c = echoChecker(channel, params.expectTextPrefix || '');
  const timeoutMs = (params.timeout || 60) * 1000;
  channel.bufferedAmountLowThreshold = BULK_LOW;
  const t0 = performance.now();
  for (let round = 0; round < (params.count || 1); round++) {
    for (const size of plan) await sendFlowControlled(channel, c, randomBytes(size), timeoutMs);
    for (const s of strings) await sendFlowControlled(channel, c, s, timeoutMs);
  }
  c.finish();
  await withTimeout(c.done, (params.timeout || 60) * 1000, 'the echoes');
  if (c.error) throw new Error(c.error);
  return {
    messages: c.received, bytes: c.bytes, seconds: ((c.last || performance.now()) - t0) / 1000,
    skipped_sizes: skipped,
  };
}

async function dcBulk(channel, params, maxSize) {
  const size = params.size;
  if (maxSize && BULK_MESSAGE > maxSize) throw new Error(`remote max-message-size ${maxSize} is below ${BULK_MESSAGE}`);
  const block = randomBytes(BULK_MESSAGE);
  const c = echoChecker(channel, '');
  channel.bufferedAmountLowThreshold = BULK_LOW;
  const t0 = performance.now();
  let sent = 0;
  for (let i = 0; sent < size && !c.error; i++) {
    const n = Math.min(BULK_MESSAGE, size - sent);
    const m = block.slice(0, n);
    if (n >= 8) new DataView(m.buffer).setBigUint64(0, BigInt(i));
    await sendFlowControlled(channel, c, m, (params.timeout || 60) * 1000);
    sent += n;
  }
  c.finish();
  await withTimeout(c.done, (params.timeout || 60) * 1000, 'the bulk echo');
  if (c.error) throw new Error(c.error);
  return { messages: c.received, bytes: c.bytes, seconds: (c.last - t0) / 1000 };
}

async function inbound(pc) {
  const r = { video_frames: 0, audio_frames: 0, audio_samples: 0, bytes: 0, rtp_packets: 0 };
  (await pc.getStats()).forEach((s) => {
    if (s.type !== 'inbound-rtp') return;
    r.bytes += s.bytesReceived || 0;
    r.rtp_packets += s.packetsReceived || 0;
    if (s.kind === 'video') r.video_frames += s.framesDecoded || 0;
    if (s.kind === 'audio') {
      r.audio_frames += s.packetsReceived || 0; // one 20 ms Opus frame per packet
      r.audio_samples += s.totalSamplesReceived || 0;
    }
  });
  return r;
}

async function mediaEcho(pc, params) {
  const seconds = params.seconds || 4;
  const t0 = performance.now();
  const deadline = t0 + (seconds + (params.timeout || 60)) * 1000;
  let r;
  for (;;) {
    r = await inbound(pc);
    const now = performance.now();
    if (now - t0 >= seconds * 1000 && r.video_frames >= 10 && r.audio_frames >= 25) break;
    if (now > deadline) {
      throw new Error(`reflected frames: video ${r.video_frames} decoded, audio ${r.audio_frames} (need 10 and 25) after ${((now - t0) / 1000).toFixed(1)} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    messages: r.video_frames + r.audio_frames, bytes: r.bytes, seconds: (performance.now() - t0) / 1000,
    video_frames: r.video_frames, audio_frames: r.audio_frames, audio_samples: r.audio_samples,
    rtp_packets: r.rtp_packets,
  };
}

window.oxrtc = { answer, offerStart, offerRun, ready: true };
log('ready');
