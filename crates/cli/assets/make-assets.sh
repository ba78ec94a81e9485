#!/bin/sh
# Regenerates the interop media assets with Debian's ffmpeg (libvpx, libopus).
# 5 s of testsrc2 at 320x240/30 fps as VP8 (250 kbit/s, a key frame every 30 frames) in IVF,
# and 5 s of a beeping 440 Hz tone as 48 kHz stereo Opus (48 kbit/s, 20 ms frames) in Ogg.
set -eu
cd "$(dirname "$0")"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=320x240:rate=30:duration=5" \
  -c:v libvpx -b:v 250k -minrate 250k -maxrate 250k -g 30 -deadline good -cpu-used 4 \
  -pix_fmt yuv420p -fflags +bitexact -flags:v +bitexact -map_metadata -1 -f ivf video-vp8.ivf
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "sine=frequency=440:beep_factor=4:sample_rate=48000:duration=5" \
  -ac 2 -c:a libopus -b:a 48k -frame_duration 20 -application audio \
  -fflags +bitexact -flags:a +bitexact -map_metadata -1 audio-opus.ogg
