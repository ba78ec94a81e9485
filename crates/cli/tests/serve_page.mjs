#!/usr/bin/env node
// Drives the `oxrtc serve` page in headless Chromium (Debian's /usr/bin/chromium, or
// $CHROMIUM) over the DevTools protocol on a pipe: loads it, connects with the fake camera,
// sends a chat message, waits for its echo and for the reflected video to play (size known,
// frames decoded), takes a screenshot and prints the page's state (window.oxrtc) as JSON.
//
//   node serve_page.mjs http://127.0.0.1:PORT/ SCREENSHOT.png
//
// Used by the interop test `interop_chromium_serve_page` (crates/cli/tests/interop.rs).
import fs from 'node:fs';
import path from 'node:path';
import { launch, sleep } from './chromium.mjs';

const [url, screenshot] = process.argv.slice(2);
const log = (...a) => process.stderr.write(`[serve_page] ${a.join(' ')}\n`);
const { send, close, page } = launch('serve-page', log);

async function main() {
  const { sessionId, evaluate, waitFor } = await page();
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
