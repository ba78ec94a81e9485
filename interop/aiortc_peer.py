#!/usr/bin/env python3
"""aiortc as a peer of the oxrtc CLI signaling contract (docs/../shared DESIGN, "Signaling used
by the CLI"; summary in interop/README.md).

    aiortc_peer.py answer --listen HOST:PORT
    aiortc_peer.py offer --url URL --scenario dc-echo|dc-bulk|media-echo [options]

Runs in the interop virtualenv (target/interop/venv, aiortc 1.16). Loopback only: aioice's host
address enumeration skips 127.0.0.1, so it is replaced below by one that returns loopback.
"""

import argparse
import asyncio
import json
import os
import re
import signal
import sys
import time
import urllib.error
import urllib.request

import aioice.ice

# Tests use loopback only; stock aioice leaves 127.0.0.1 out of its host candidates.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []

from aiortc import (  # noqa: E402  (after the aioice patch on purpose)
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCIceTransportPolicy  # noqa: E402
from aiortc.rtcrtpsender import RTCRtpSender  # noqa: E402

PEER = "aiortc"
ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets")
KIB = 1024
DEFAULT_SIZES = [1, KIB, 16 * KIB, 64 * KIB, 256 * KIB]
STRINGS = ["hello, echo", "grüße, 世界 ✓", "Ωmega ∑ 🚀 end"]
BULK_MESSAGE = 64 * KIB
BULK_HIGH = 1024 * KIB  # stop sending above this buffered amount
BULK_LOW = 256 * KIB  # resume below this one
# At most this much sent and not yet echoed: the echoing side cannot slow us down, and its own
# send queue is bounded (Chromium's fails sends beyond 16 MiB), so the offerer limits it.
ECHO_WINDOW = 4096 * KIB


def log(*args):
    print(f"[aiortc {time.strftime('%H:%M:%S')}]", *args, file=sys.stderr, flush=True)


def configuration(args) -> RTCConfiguration:
    """ICE servers from --ice-server/--ice-user/--ice-pass; none by default (aiortc would
    otherwise use a public STUN server)."""
    servers = [
        RTCIceServer(urls=url, username=args.ice_user, credential=args.ice_pass)
        for url in (args.ice_server or [])
    ]
    policy = RTCIceTransportPolicy.RELAY if args.relay else RTCIceTransportPolicy.ALL
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


# ---------------------------------------------------------------------------------------------
# answer: a tiny HTTP/1.1 server (GET /health, POST /offer)
# ---------------------------------------------------------------------------------------------


class Answerer:
    def __init__(self, args):
        self.args = args
        self.pcs = set()
        self.sessions = 0

    async def new_session(self, offer_sdp: str) -> str:
        pc = RTCPeerConnection(configuration(self.args))
        self.pcs.add(pc)
        self.sessions += 1
        n = self.sessions

        @pc.on("connectionstatechange")
        async def on_state():
            log(f"session {n}: connection {pc.connectionState}")
            if pc.connectionState in ("failed", "closed"):
                self.pcs.discard(pc)
                await pc.close()

        @pc.on("datachannel")
        def on_datachannel(channel):
            log(f"session {n}: data channel {channel.label!r}")

            @channel.on("message")
            def on_message(message):
                channel.send(message)  # unchanged: str stays text, bytes stay binary

        @pc.on("track")
        def on_track(track):
            # Reflect on the transceiver the track arrived on.
            for t in pc.getTransceivers():
                if t.receiver.track is track:
                    t.sender.replaceTrack(track)
                    t.direction = "sendrecv"
                    log(f"session {n}: reflecting {track.kind} on mid {t.mid}")
                    break

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())  # gathers completely
        return pc.localDescription.sdp

    async def handle(self, reader, writer):
        try:
            status, ctype, body = await self.route(reader, writer)
        except Exception as e:  # a bad request must not stop the server
            status, ctype, body = 400, "text/plain", f"{type(e).__name__}: {e}\n"
        data = body.encode()
        reason = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found",
                  405: "Method Not Allowed", 415: "Unsupported Media Type"}.get(status, "")
        head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n")
        if status == 201:
            head += f"Location: /session/{self.sessions}\r\n"
        writer.write(head.encode() + b"\r\n" + data)
        try:
            await writer.drain()
        finally:
            writer.close()

    async def route(self, reader, writer):
        line = (await reader.readline()).decode("latin-1").strip()
        parts = line.split()
        if len(parts) < 2:
            return 400, "text/plain", "bad request line\n"
        method, path = parts[0], parts[1].split("?")[0]
        headers = {}
        while True:
            h = (await reader.readline()).decode("latin-1")
            if h in ("\r\n", "\n", ""):
                break
            k, _, v = h.partition(":")
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0"))
        if length > 1 << 20:
            return 400, "text/plain", "offer too large\n"
        if headers.get("expect", "").lower() == "100-continue":  # curl, for bodies over 1 KiB
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
        body = (await reader.readexactly(length)).decode() if length else ""
        if path == "/health":
            return (200, "text/plain", "ok\n") if method == "GET" else (405, "text/plain", "")
        if path == "/offer":
            if method != "POST":
                return 405, "text/plain", "POST an application/sdp offer\n"
            if not headers.get("content-type", "").startswith("application/sdp"):
                return 415, "text/plain", "expected application/sdp\n"
            answer = await self.new_session(body)
            return 201, "application/sdp", answer
        return 404, "text/plain", "not found\n"


async def answer_main(args) -> int:
    host, _, port = args.listen.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    answerer = Answerer(args)
    server = await asyncio.start_server(answerer.handle, host, int(port))
    log(f"answering on http://{args.listen}/offer")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await asyncio.gather(*(pc.close() for pc in list(answerer.pcs)), return_exceptions=True)
    log("stopped")
    return 0


# ---------------------------------------------------------------------------------------------
# offer: the scenarios
# ---------------------------------------------------------------------------------------------


class Failure(Exception):
    pass


def post_offer(url: str, sdp: str) -> str:
    req = urllib.request.Request(url, data=sdp.encode(), method="POST",
                                 headers={"Content-Type": "application/sdp"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            if resp.status != 201:
                raise Failure(f"POST {url}: status {resp.status}, expected 201")
            return resp.read().decode()
    except urllib.error.HTTPError as e:
        raise Failure(f"POST {url}: status {e.code}: {e.read()[:200]!r}") from None
    except urllib.error.URLError as e:
        raise Failure(f"POST {url}: {e.reason}") from None


def remote_max_message_size(sdp: str) -> int:
    """RFC 8841: 64 KiB when absent; 0 means no limit."""
    m = re.search(r"^a=max-message-size:(\d+)", sdp, re.M)
    return int(m.group(1)) if m else 65536


async def wait_for(fut_or_event, seconds, what):
    try:
        if isinstance(fut_or_event, asyncio.Event):
            await asyncio.wait_for(fut_or_event.wait(), seconds)
        else:
            await asyncio.wait_for(fut_or_event, seconds)
    except asyncio.TimeoutError:
        raise Failure(f"timed out after {seconds} s waiting for {what}") from None


class Echoes:
    """Checks that echoes arrive intact, in order, with the right type."""

    def __init__(self, text_prefix: str):
        self.expected = []  # (str|bytes)
        self.text_prefix = text_prefix
        self.error = None
        self.received = 0
        self.bytes = 0
        self.done = asyncio.Event()
        self.last = None
        self.all_sent = False
        self.sent = 0  # bytes sent so far
        self.progress = asyncio.Event()

    def finish(self):
        """Everything is sent: done once the queue of expected echoes drains."""
        self.all_sent = True
        if not self.expected:
            self.done.set()

    def on_message(self, message):
        if self.error:
            return
        if not self.expected:
            self.error = f"unexpected extra message of {len(message)} bytes"
            self.done.set()
            self.progress.set()
            return
        want = self.expected.pop(0)
        if isinstance(want, str):
            ok = isinstance(message, str) and message == self.text_prefix + want
        else:
            ok = isinstance(message, bytes) and message == want
        if not ok:
            kind = "text" if isinstance(message, str) else "binary"
            self.error = (f"echo {self.received} differs: sent {type(want).__name__} of "
                          f"{len(want)}, got {kind} of {len(message)}")
            self.done.set()
            self.progress.set()
            return
        self.received += 1
        self.bytes += payload_len(want)
        self.last = time.monotonic()
        self.progress.set()
        if not self.expected and self.all_sent:
            self.done.set()


def payload_len(message) -> int:
    return len(message.encode()) if isinstance(message, str) else len(message)


async def send_flow_controlled(channel, echoes, message, timeout):
    """Sends once the buffered amount is below BULK_HIGH and less than ECHO_WINDOW is
    waiting for its echo."""
    while echoes.sent - echoes.bytes > ECHO_WINDOW and not echoes.error:
        echoes.progress.clear()
        await wait_for(echoes.progress, timeout, "echoes to catch up")
    while channel.bufferedAmount > BULK_HIGH:
        low = asyncio.Event()
        channel.once("bufferedamountlow", low.set)
        await wait_for(low, timeout, "the buffered amount to drain")
    echoes.expected.append(message)
    echoes.sent += payload_len(message)
    channel.send(message)


async def dc_echo(args, channel, echoes, max_size):
    sizes = DEFAULT_SIZES if args.sizes is None else [int(s) for s in args.sizes.split(",") if s]
    strings = STRINGS if args.strings is None else [
        STRINGS[i % len(STRINGS)] + f" #{i}" for i in range(args.strings)]
    skipped = sorted({s for s in sizes if max_size and s > max_size})
    plan = [s for s in sizes if s not in skipped]
    channel.bufferedAmountLowThreshold = BULK_LOW
    t0 = time.monotonic()
    for _ in range(args.count):
        for size in plan:
            await send_flow_controlled(channel, echoes, os.urandom(size), args.timeout)
        for s in strings:
            await send_flow_controlled(channel, echoes, s, args.timeout)
    echoes.finish()
    await wait_for(echoes.done, args.timeout, "the echoes")
    if echoes.error:
        raise Failure(echoes.error)
    seconds = max((echoes.last or time.monotonic()) - t0, 1e-6)
    return {"messages": echoes.received, "bytes": echoes.bytes, "seconds": seconds,
            "skipped_sizes": skipped}


async def dc_bulk(args, channel, echoes, max_size):
    size = args.size
    if max_size and BULK_MESSAGE > max_size:
        raise Failure(f"remote max-message-size {max_size} is below {BULK_MESSAGE}")
    block = os.urandom(BULK_MESSAGE)
    channel.bufferedAmountLowThreshold = BULK_LOW
    t0 = time.monotonic()
    sent, i = 0, 0
    while sent < size:
        n = min(BULK_MESSAGE, size - sent)
        msg = i.to_bytes(8, "big") + block[8:n] if n >= 8 else block[:n]
        await send_flow_controlled(channel, echoes, msg, args.timeout)
        sent += n
        i += 1
        if echoes.error:
            break
    echoes.finish()
    await wait_for(echoes.done, args.timeout, "the bulk echo")
    if echoes.error:
        raise Failure(echoes.error)
    seconds = max(echoes.last - t0, 1e-6)
    return {"messages": echoes.received, "bytes": echoes.bytes, "seconds": seconds}


async def media_echo(args, pc, received):
    """Received frames are decoded by aiortc, so counting them proves they decode."""
    t0 = time.monotonic()
    deadline = t0 + args.seconds + args.timeout
    while True:
        now = time.monotonic()
        if now - t0 >= args.seconds and received["video"] >= 10 and received["audio"] >= 25:
            break
        if now > deadline:
            raise Failure(f"reflected frames: video {received['video']}, audio "
                          f"{received['audio']} (need 10 and 25) after {now - t0:.1f} s")
        await asyncio.sleep(0.1)
    seconds = time.monotonic() - t0
    # aiortc's inbound-rtp stats carry no byte count: use the transport's (the data channel
    # is idle meanwhile) and the RTP packet count.
    nbytes, packets = 0, 0
    for report in (await pc.getStats()).values():
        if getattr(report, "type", "") == "inbound-rtp":
            packets += getattr(report, "packetsReceived", 0) or 0
        elif getattr(report, "type", "") == "transport":
            nbytes += getattr(report, "bytesReceived", 0) or 0
    return {"messages": received["video"] + received["audio"], "bytes": nbytes,
            "seconds": seconds, "video_frames": received["video"],
            "audio_frames": received["audio"], "rtp_packets": packets}


async def offer_main(args) -> dict:
    start = time.monotonic()
    pc = RTCPeerConnection(configuration(args))
    players = []
    try:
        channel = pc.createDataChannel("echo", ordered=True)
        opened = asyncio.Event()
        channel.on("open", opened.set)
        echoes = Echoes(args.expect_text_prefix)
        channel.on("message", echoes.on_message)
        received = {"video": 0, "audio": 0}

        if args.scenario == "media-echo":
            from aiortc.contrib.media import MediaPlayer

            video = MediaPlayer(os.path.join(ASSETS, "video-vp8.ivf"), loop=True)
            audio = MediaPlayer(os.path.join(ASSETS, "audio-opus.ogg"), loop=True)
            players += [video, audio]
            for kind, track, codec in (("video", video.video, "video/VP8"),
                                       ("audio", audio.audio, "audio/opus")):
                t = pc.addTransceiver(track, direction="sendrecv")
                caps = RTCRtpSender.getCapabilities(kind).codecs
                prefs = [c for c in caps if c.mimeType.lower() == codec.lower()]
                prefs += [c for c in caps if c.mimeType.lower().endswith("/rtx")]
                t.setCodecPreferences(prefs)

            @pc.on("track")
            def on_track(track):
                async def consume():
                    while True:
                        try:
                            await track.recv()
                        except Exception:
                            return
                        received[track.kind] += 1

                asyncio.ensure_future(consume())

        await pc.setLocalDescription(await pc.createOffer())  # gathers completely
        answer_sdp = await asyncio.to_thread(post_offer, args.url, pc.localDescription.sdp)
        max_size = remote_max_message_size(answer_sdp)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))
        await wait_for(opened, args.timeout, "the data channel to open")
        setup_ms = (time.monotonic() - start) * 1000

        if args.scenario == "dc-echo":
            out = await dc_echo(args, channel, echoes, max_size)
        elif args.scenario == "dc-bulk":
            out = await dc_bulk(args, channel, echoes, max_size)
        else:
            out = await media_echo(args, pc, received)
        out["setup_ms"] = round(setup_ms, 1)
        return out
    finally:
        for p in players:
            for t in (p.audio, p.video):
                if t:
                    t.stop()
        await pc.close()


def result_line(args, out=None, error=None) -> dict:
    out = dict(out or {})
    seconds = out.get("seconds", 0.0)
    nbytes = out.get("bytes", 0)
    line = {"peer": PEER, "scenario": args.scenario, "ok": error is None,
            "messages": out.pop("messages", 0), "bytes": nbytes,
            "seconds": round(seconds, 3),
            "mbps": round(nbytes * 8 / seconds / 1e6, 3) if seconds > 0 else 0.0,
            "setup_ms": out.pop("setup_ms", None)}
    out.pop("seconds", None)
    out.pop("bytes", None)
    line.update(out)
    if error is not None:
        line["error"] = error
    return line


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("answer", "offer"):
        s = sub.add_parser(name)
        s.add_argument("--ice-server", action="append", help="stun:/turn:/turns: URL")
        s.add_argument("--ice-user")
        s.add_argument("--ice-pass")
        s.add_argument("--relay", action="store_true", help="relayed candidates only")
        s.add_argument("-v", "--verbose", action="store_true")
        if name == "answer":
            s.add_argument("--listen", required=True, help="HOST:PORT")
        else:
            s.add_argument("--url", required=True)
            s.add_argument("--scenario", required=True,
                           choices=["dc-echo", "dc-bulk", "media-echo"])
            s.add_argument("--size", type=int, default=64 * 1024 * 1024)
            s.add_argument("--count", type=int, default=1)
            s.add_argument("--sizes")
            s.add_argument("--strings", type=int)
            s.add_argument("--expect-text-prefix", default="")
            s.add_argument("--seconds", type=float, default=4.0,
                           help="media-echo: how long to send")
            s.add_argument("--timeout", type=float, default=60.0,
                           help="per wait (open, echoes), seconds")
    args = p.parse_args()
    if args.verbose:
        import logging

        logging.basicConfig(level=logging.DEBUG)
    if args.command == "answer":
        return asyncio.run(answer_main(args))
    try:
        out = asyncio.run(offer_main(args))
    except Failure as e:
        print(json.dumps(result_line(args, error=str(e))), flush=True)
        return 1
    except Exception as e:
        print(json.dumps(result_line(args, error=f"{type(e).__name__}: {e}")), flush=True)
        return 1
    print(json.dumps(result_line(args, out)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
