#!/usr/bin/env node
// Headless Chromium as a peer of the oxrtc CLI signaling contract (see interop/README.md):
//
//   node chromium_peer.mjs answer --listen HOST:PORT
//   node chromium_peer.mjs offer --url URL --scenario dc-echo|dc-bulk|media-echo [options]
//
// --mdns keeps Chromium's default of hiding host addresses behind `<uuid>.local` names
// (answered by its own mDNS responder, which listens only on non-loopback multicast
// interfaces): run it in a network namespace with a veth, never on the host's interfaces.
// Without the auto-granted camera permission it is for the data channel scenarios.
//
// Drives Debian's Chromium (/usr/bin/chromium, or $CHROMIUM) over the DevTools protocol on a
// pipe (--remote-debugging-pipe): no npm package, no browser download. The WebRTC logic is in
// chromium/peer.js, served from 127.0.0.1; this script does the HTTP signaling.
//
// Loopback only: run it inside a network namespace that has only `lo` (cargo xtask interop
// does), since Chromium also probes every other interface it finds.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PAGE_DIR = path.join(HERE, 'chromium');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PEER = 'chromium';

function log(...args) {
  process.stderr.write(`[chromium ${new Date().toISOString().slice(11, 19)}] ${args.join(' ')}\n`);
}

// ---------------------------------------------------------------------------------------------
// arguments
// ---------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const [command, ...rest] = argv;
  if (command !== 'answer' && command !== 'offer') {
    throw new Error('usage: chromium_peer.mjs answer --listen HOST:PORT | offer --url URL --scenario S [options]');
  }
  const a = {
    command, iceServers: [], iceUser: null, icePass: null, relay: false, verbose: false,
    size: 64 * 1024 * 1024, count: 1, sizes: null, strings: null, expectTextPrefix: '',
    seconds: 4, timeout: 60, mdns: false,
  };
  const need = (i, name) => {
    if (i >= rest.length) throw new Error(`${name} needs a value`);
    return rest[i];
  };
  const number = (v, name) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name} takes a number, not ${v}`);
    return n;
  };
  for (let i = 0; i < rest.length; i++) {
    const f = rest[i];
    switch (f) {
      case '--listen': a.listen = need(++i, f); break;
      case '--url': a.url = need(++i, f); break;
      case '--scenario': a.scenario = need(++i, f); break;
      case '--size': a.size = number(need(++i, f), f); break;
      case '--count': a.count = number(need(++i, f), f); break;
      case '--sizes': a.sizes = need(++i, f).split(',').filter((s) => s !== '').map((s) => number(s, f)); break;
      case '--strings': a.strings = number(need(++i, f), f); break;
      case '--expect-text-prefix': a.expectTextPrefix = need(++i, f); break;
      case '--seconds': a.seconds = number(need(++i, f), f); break;
      case '--timeout': a.timeout = number(need(++i, f), f); break;
      case '--ice-server': a.iceServers.push(need(++i, f)); break;
      case '--ice-user': a.iceUser = need(++i, f); break;
      case '--ice-pass': a.icePass = need(++i, f); break;
      case '--relay': a.relay = true; break;
      case '--mdns': a.mdns = true; break;
      case '-v': case '--verbose': a.verbose = true; break;
      default: throw new Error(`unknown option ${f}`);
    }
  }
  if (command === 'answer' && !a.listen) throw new Error('answer needs --listen HOST:PORT');
  if (command === 'offer') {
    if (!a.url) throw new Error('offer needs --url URL');
    if (!['dc-echo', 'dc-bulk', 'media-echo'].includes(a.scenario)) {
      throw new Error('offer needs --scenario dc-echo|dc-bulk|media-echo');
    }
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// the browser: launch, DevTools protocol over the pipe, cleanup
// ---------------------------------------------------------------------------------------------

// Only the last --disable-features counts: one complete list.
const DISABLED_FEATURES = [
  'WebRtcHideLocalIpsWithMdns', // never mDNS candidates: real loopback addresses
  'Translate', 'MediaRouter', 'DialMediaRouteProvider', 'OptimizationHints',
  'CertificateTransparencyComponentUpdater', 'AutofillServerCommunication', 'InterestFeedContentSuggestions',
];

class Browser {
  static async launch(verbose, mdns = false) {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'oxrtc-chromium-'));
    const args = [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-default-apps', '--disable-extensions', '--disable-dev-shm-usage', '--mute-audio',
      '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows', '--autoplay-policy=no-user-gesture-required',
      '--allow-loopback-in-peer-connection',
      '--use-fake-device-for-media-stream',
      // Auto-granted camera/microphone permission also reveals host addresses: not with --mdns.
      ...(mdns ? [] : ['--use-fake-ui-for-media-stream']),
      `--disable-features=${DISABLED_FEATURES.filter((f) => !mdns || f !== 'WebRtcHideLocalIpsWithMdns').join(',')}`,
      `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank',
    ];
    const proc = spawn(CHROMIUM, args, {
      stdio: ['ignore', verbose ? 'inherit' : 'ignore', verbose ? 'inherit' : 'ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so every renderer/utility process goes with it
    });
    const b = new Browser(proc, profile);
    await new Promise((resolve, reject) => {
      proc.once('spawn', resolve);
      proc.once('error', (e) => reject(new Error(`cannot start ${CHROMIUM}: ${e.message}`)));
    });
    return b;
  }

  constructor(proc, profile) {
    this.proc = proc;
    this.profile = profile;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = [];
    this.buffer = '';
    this.exited = false;
    proc.stdio[4].on('data', (chunk) => this.onData(chunk));
    // A browser that dies closes the pipe: its 'exit' event reports it.
    proc.stdio[3].on('error', () => {});
    proc.stdio[4].on('error', () => {});
    proc.on('exit', (code, signal) => {
      this.exited = true;
      for (const { reject } of this.pending.values()) reject(new Error(`Chromium exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  onData(chunk) {
    this.buffer += chunk.toString('utf8');
    let end;
    while ((end = this.buffer.indexOf('\0')) >= 0) {
      const text = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 1);
      let msg;
      try { msg = JSON.parse(text); } catch { continue; }
      if (msg.id !== undefined && this.pending.has(msg.id)) {
        const { resolve, reject, method } = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) reject(new Error(`${method}: ${msg.error.message}`));
        else resolve(msg.result);
      } else if (msg.method) {
        for (const l of this.listeners) l(msg);
      }
    }
  }

  send(method, params = {}, sessionId = undefined) {
    if (this.exited) return Promise.reject(new Error('Chromium has exited'));
    const id = this.nextId++;
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.proc.stdio[3].write(JSON.stringify(msg) + '\0');
    });
  }

  // Opens the page and returns a function evaluating an expression (awaiting promises).
  async open(url) {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    this.listeners.push((msg) => {
      if (msg.sessionId !== sessionId) return;
      if (msg.method === 'Runtime.consoleAPICalled') {
        log('page:', msg.params.args.map((x) => x.value ?? x.description ?? '').join(' '));
      } else if (msg.method === 'Runtime.exceptionThrown') {
        log('page exception:', msg.params.exceptionDetails?.exception?.description ?? msg.params.exceptionDetails?.text);
      } else if (msg.method === 'Inspector.targetCrashed') {
        log('page crashed');
      }
    });
    await this.send('Runtime.enable', {}, sessionId);
    await this.send('Page.enable', {}, sessionId);
    const evaluate = async (expression) => {
      const r = await this.send('Runtime.evaluate', {
        expression, awaitPromise: true, returnByValue: true, userGesture: true,
      }, sessionId);
      if (r.exceptionDetails) {
        const d = r.exceptionDetails;
        throw new Error((d.exception?.description?.split('\n')[0] ?? d.text).replace(/^Error: /, ''));
      }
      return r.result.value;
    };
    await this.send('Page.navigate', { url }, sessionId);
    for (let i = 0; i < 200; i++) {
      if (await evaluate('!!(window.oxrtc && window.oxrtc.ready)').catch(() => false)) return evaluate;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the page ${url} did not load`);
  }

  // Kills the browser's process group, waits for it, then removes its profile.
  async close() {
    this.closing = true;
    if (!this.exited) {
      const gone = new Promise((resolve) => this.proc.once('exit', resolve));
      try { process.kill(-this.proc.pid, 'SIGKILL'); } catch { /* already gone */ }
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 3000))]);
    }
    // Its children may still be finishing writes: retry a few times.
    try {
      fs.rmSync(this.profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch (e) {
      log(`cannot remove ${this.profile}: ${e.message}`);
    }
  }
}

// Serves chromium/peer.html and chromium/peer.js on 127.0.0.1 (an ephemeral port).
function servePage() {
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };
  const server = http.createServer((req, res) => {
    const name = new URL(req.url, 'http://x').pathname.replace(/^\/+/, '') || 'peer.html';
    const file = path.join(PAGE_DIR, path.basename(name));
    if (!types[path.extname(file)] || !fs.existsSync(file)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'Content-Type': types[path.extname(file)], 'Cache-Control': 'no-store' });
    res.end(fs.readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

// Everything to undo on exit, signals included.
const cleanups = new Set();
async function cleanupAll() {
  const all = [...cleanups];
  cleanups.clear();
  await Promise.all(all.map((c) => c()));
}

async function startPeer(args) {
  const page = await servePage();
  cleanups.add(() => page.close());
  const browser = await Browser.launch(args.verbose, args.mdns);
  cleanups.add(() => browser.close());
  const evaluate = await browser.open(`http://127.0.0.1:${page.address().port}/peer.html`);
  return { evaluate, browser };
}

function pageParams(args) {
  return {
    scenario: args.scenario, size: args.size, count: args.count, sizes: args.sizes,
    strings: args.strings, expectTextPrefix: args.expectTextPrefix, seconds: args.seconds,
    timeout: args.timeout, iceServers: args.iceServers, iceUser: args.iceUser,
    icePass: args.icePass, relay: args.relay,
  };
}

// ---------------------------------------------------------------------------------------------
// answer
// ---------------------------------------------------------------------------------------------

async function answerMain(args) {
  const stop = () => cleanupAll().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const { evaluate, browser } = await startPeer(args);
  browser.proc.on('exit', () => {
    if (browser.closing) return; // our own cleanup
    log('Chromium exited');
    cleanupAll().then(() => process.exit(1));
  });
  const params = JSON.stringify(pageParams(args));
  let sessions = 0;
  const server = http.createServer((req, res) => {
    const reply = (status, type, body) => {
      const headers = { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) };
      if (status === 201) headers.Location = `/session/${sessions}`;
      res.writeHead(status, headers).end(body);
    };
    const url = new URL(req.url, 'http://x').pathname;
    if (url === '/health') { reply(req.method === 'GET' ? 200 : 405, 'text/plain', 'ok\n'); return; }
    if (url !== '/offer') { reply(404, 'text/plain', 'not found\n'); return; }
    if (req.method !== 'POST') { reply(405, 'text/plain', 'POST an application/sdp offer\n'); return; }
    if (!(req.headers['content-type'] || '').startsWith('application/sdp')) {
      reply(415, 'text/plain', 'expected application/sdp\n');
      return;
    }
    const chunks = [];
    let length = 0;
    req.on('data', (c) => {
      length += c.length;
      if (length > 1 << 20) { reply(400, 'text/plain', 'offer too large\n'); req.destroy(); } else chunks.push(c);
    });
    req.on('end', async () => {
      if (res.headersSent) return;
      const offer = Buffer.concat(chunks).toString('utf8');
      try {
        sessions++;
        const answer = await evaluate(`oxrtc.answer(${JSON.stringify(offer)}, ${params})`);
        reply(201, 'application/sdp', answer);
      } catch (e) {
        reply(400, 'text/plain', `${e.message}\n`);
      }
    });
  });
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(args.listen);
  if (!m) throw new Error(`--listen takes HOST:PORT, not ${args.listen}`);
  await new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`cannot listen on ${args.listen}: ${e.message}`)));
    server.listen(Number(m[2]), m[1] || '127.0.0.1', resolve);
  });
  log(`answering on http://${args.listen}/offer`);
}

// ---------------------------------------------------------------------------------------------
// offer
// ---------------------------------------------------------------------------------------------

async function postOffer(url, sdp, timeoutMs) {
  let res;
  try {
    res = await fetch(url, {
      method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: sdp,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new Error(`POST ${url}: ${e.cause?.message ?? e.message}`);
  }
  const body = await res.text();
  if (res.status !== 201) throw new Error(`POST ${url}: status ${res.status}, expected 201: ${body.slice(0, 200)}`);
  return body;
}

function resultLine(args, out, error) {
  const o = { ...(out || {}) };
  const seconds = o.seconds || 0;
  const bytes = o.bytes || 0;
  const line = {
    peer: PEER, scenario: args.scenario, ok: error == null, messages: o.messages || 0, bytes,
    seconds: Math.round(seconds * 1000) / 1000,
    mbps: seconds > 0 ? Math.round((bytes * 8) / seconds / 1e3) / 1e3 : 0,
    setup_ms: o.setup_ms ?? null,
  };
  for (const k of ['messages', 'bytes', 'seconds', 'setup_ms']) delete o[k];
  Object.assign(line, o);
  if (error != null) line.error = error;
  return line;
}

async function offerMain(args) {
  let peer = null;
  let timer;
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      console.log(JSON.stringify(resultLine(args, null, `stopped by ${sig}`)));
      cleanupAll().then(() => process.exit(1));
    });
  }
  try {
    const overall = (args.timeout * 3 + args.seconds + 30) * 1000;
    const run = (async () => {
      peer = await startPeer(args);
      const params = pageParams(args);
      const offer = await peer.evaluate(`oxrtc.offerStart(${JSON.stringify(params)})`);
      const answer = await postOffer(args.url, offer, 30000);
      return peer.evaluate(`oxrtc.offerRun(${JSON.stringify(answer)})`);
    })();
    const out = await Promise.race([run, new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result after ${overall / 1000} s`)), overall);
    })]);
    console.log(JSON.stringify(resultLine(args, out, null)));
    return 0;
  } catch (e) {
    console.log(JSON.stringify(resultLine(args, null, e.message)));
    return 1;
  } finally {
    clearTimeout(timer);
    await cleanupAll();
  }
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (e) {
  log(e.message);
  process.exit(2);
}
if (args.command === 'answer') {
  answerMain(args).catch((e) => {
    log(`error: ${e.message}`);
    cleanupAll().then(() => process.exit(1));
  });
} else {
  offerMain(args).then((code) => process.exit(code));
}
