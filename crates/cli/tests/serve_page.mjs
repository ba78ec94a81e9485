#!/usr/bin/env node
// Drives the `oxrtc serve` page in headless Chromium (Debian's /usr/bin/chromium, or
// $CHROMIUM) over the DevTools protocol on a pipe: loads it, connects with the fake camera,
// sends a chat message, waits for its echo and for the reflected video to play (size known,
// frames decoded), takes a screenshot and prints the page's state (window.oxrtc) as JSON.
//
//   node serve_page.mjs http://127.0.0.1:PORT/ SCREENSHOT.png
//
// Used by the interop test `interop_chromium_serve_page` (crates/cli/tests/interop.rs).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const [url, screenshot] = process.argv.slice(2);
const log = (...a) => process.stderr.write(`[serve_page] ${a.join(' ')}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'oxrtc-serve-page-'));
const proc = spawn(CHROMIUM, [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions', '--disable-dev-shm-usage', '--mute-audio',
  '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  // Only the last --disable-features counts: one complete list.
  '--disable-features=WebRtcHideLocalIpsWithMdns,Translate,MediaRouter,OptimizationHints',
  '--window-size=1280,1300', `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank',
], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'], detached: true });

let nextId = 1;
const pending = new Map();
let buffer = '';
proc.stdio[4].on('data', (chunk) => {
  buffer += chunk.toString('utf8');
  let end;
  while ((end = buffer.indexOf('\0')) >= 0) {
    const msg = JSON.parse(buffer.slice(0, end));
    buffer = buffer.slice(end + 1);
    if (msg.id !== undefined && pending.has(msg.id)) {
      const { resolve, reject, method } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(`${method}: ${msg.error.message}`));
      else resolve(msg.result);
    } else if (msg.method === 'Runtime.consoleAPICalled') {
      log('page:', msg.params.args.map((x) => x.value ?? x.description ?? '').join(' '));
    }
  }
});
proc.stdio[3].on('error', () => {});
proc.stdio[4].on('error', () => {});
proc.on('exit', () => { for (const { reject } of pending.values()) reject(new Error('Chromium exited')); });

function send(method, params = {}, sessionId = undefined) {
  const id = nextId++;
  const msg = { id, method, params };
  if (sessionId) msg.sessionId = sessionId;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, method });
    proc.stdio[3].write(JSON.stringify(msg) + '\0');
  });
}

async function close() {
  try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ }
  await sleep(300);
  fs.rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}

async function main() {
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  await send('Runtime.enable', {}, sessionId);
  await send('Page.enable', {}, sessionId);
  const evaluate = async (expression) => {
    const r = await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true, userGesture: true }, sessionId);
    if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
    return r.result.value;
  };
  const waitFor = async (expression, ms, what) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await evaluate(expression).catch(() => false)) return true;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  await send('Page.navigate', { url }, sessionId);
  await waitFor('!!(window.oxrtc && window.oxrtc.ready)', 10000, 'the page to load');
  await evaluate('document.getElementById("camera").checked = true; document.getElementById("connect").click(); true');
  await waitFor('oxrtc.state === "connected" && !document.getElementById("text").disabled', 20000, 'the data channel to open');
  await evaluate(`document.getElementById("text").value = "hello from Chromium";
    document.getElementById("chat").requestSubmit(); true`);
  await waitFor('oxrtc.echoes.includes("hello from Chromium")', 10000, 'the chat echo');
  if (await evaluate('oxrtc.videoAnswered')) {
    // The reflected video plays: it has a size, and the page's getStats counts frames
    // decoded on the inbound video (refreshed every second).
    await waitFor('oxrtc.videoReflected', 15000, 'the reflected video to load').catch((e) => log(e.message));
    await waitFor('oxrtc.reflectedWidth > 0 && oxrtc.framesDecoded > 30', 20000, 'reflected frames to decode').catch((e) => log(e.message));
  }
  await sleep(2500); // stats refreshes from both ends, for the screenshot
  const shot = await send('Page.captureScreenshot', { format: 'png' }, sessionId);
  fs.mkdirSync(path.dirname(screenshot), { recursive: true });
  fs.writeFileSync(screenshot, Buffer.from(shot.data, 'base64'));
  const state = await evaluate('JSON.stringify(oxrtc)');
  const stats = await evaluate('document.getElementById("localstats").innerText + "\\n" + document.getElementById("serverstats").innerText');
  process.stdout.write(JSON.stringify({ state: JSON.parse(state), stats }) + '\n');
}

main().then(close, async (e) => {
  process.stdout.write(JSON.stringify({ error: e.message }) + '\n');
  await close();
  process.exitCode = 1;
});
