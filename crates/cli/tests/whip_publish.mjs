#!/usr/bin/env node
// Publishes headless Chromium's fake camera and microphone to `oxrtc serve` over WHIP
// (RFC 9725), driving Debian's /usr/bin/chromium (or $CHROMIUM) over the DevTools protocol
// on a pipe: loads the serve page (a secure origin on 127.0.0.1), makes a sendonly offer
// (VP8 first), POSTs it to /whip with the bearer token, applies the answer and prints
// `{"published":LOCATION}` once connected. When stdin closes (or after 60 s) it prints
// Chromium's outbound stats and the status of its DELETE of the session, then exits.
//
//   node whip_publish.mjs http://127.0.0.1:PORT/ TOKEN
//
// Used by the interop test `interop_chromium_whip_publish_oxrtc_whep_view`
// (crates/cli/tests/whip.rs).
import { launch, sleep } from './chromium.mjs';

const [url, token] = process.argv.slice(2);
const log = (...a) => process.stderr.write(`[whip_publish] ${a.join(' ')}\n`);
const { send, close, page } = launch('whip-publish', log);

const PUBLISH = (token) => `(async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  const pc = new RTCPeerConnection();
  window.whip = { pc, location: null };
  for (const track of stream.getTracks()) {
    const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    if (track.kind === 'video') {
      const caps = RTCRtpReceiver.getCapabilities('video').codecs;
      t.setCodecPreferences([...caps.filter((c) => c.mimeType === 'video/VP8'),
        ...caps.filter((c) => c.mimeType !== 'video/VP8')]);
    }
  }
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => {
    if (pc.iceGatheringState === 'complete') r();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r());
    setTimeout(r, 5000);
  });
  const resp = await fetch('/whip', { method: 'POST', body: pc.localDescription.sdp,
    headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ${token}' } });
  const body = await resp.text();
  if (resp.status !== 201) throw new Error('POST /whip: ' + resp.status + ' ' + body);
  window.whip.location = resp.headers.get('Location');
  await pc.setRemoteDescription({ type: 'answer', sdp: body });
  return window.whip.location;
})()`;

const FINISH = (token) => `(async () => {
  const out = { codecs: [] };
  const stats = await whip.pc.getStats();
  stats.forEach((s) => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') {
      out.framesEncoded = s.framesEncoded; out.width = s.frameWidth; out.height = s.frameHeight;
    }
    if (s.type === 'outbound-rtp' && s.kind === 'audio') out.audioPackets = s.packetsSent;
    if (s.type === 'codec') out.codecs.push(s.mimeType);
  });
  const del = await fetch(whip.location, { method: 'DELETE', headers: { Authorization: 'Bearer ${token}' } });
  out.deleteStatus = del.status;
  whip.pc.close();
  return JSON.stringify(out);
})()`;

async function main() {
  const { sessionId, evaluate, waitFor } = await page();
  await send('Page.navigate', { url }, sessionId);
  await waitFor('document.readyState === "complete"', 10000, 'the page to load');
  const location = await evaluate(PUBLISH(token));
  await waitFor('whip.pc.connectionState === "connected"', 20000, 'the WHIP connection');
  process.stdout.write(JSON.stringify({ published: location }) + '\n');
  await new Promise((r) => {
    process.stdin.on('end', r);
    process.stdin.on('error', r);
    process.stdin.resume();
    setTimeout(r, 60000);
  });
  const done = JSON.parse(await evaluate(FINISH(token)));
  process.stdout.write(JSON.stringify({ done }) + '\n');
}

main().then(close, async (e) => {
  process.stdout.write(JSON.stringify({ error: e.message }) + '\n');
  await close();
  process.exitCode = 1;
});
