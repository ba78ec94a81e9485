// Headless Chromium (Debian's /usr/bin/chromium, or $CHROMIUM) driven over the DevTools
// protocol on a pipe, for the page tests (serve_page.mjs, whip_publish.mjs): fake camera and
// microphone, loopback candidates allowed, no mDNS.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts Chromium: { send(method, params, sessionId), close(), page() }; `log` prints the
// page's console.
export function launch(name, log) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), `oxrtc-${name}-`));
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

  // A new tab: { sessionId, evaluate(expression), waitFor(expression, ms, what) }.
  async function page() {
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
    return { sessionId, evaluate, waitFor };
  }

  return { send, close, page };
}
