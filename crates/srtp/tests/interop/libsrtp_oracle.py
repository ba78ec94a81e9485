"""libsrtp (through pylibsrtp) as an oracle for the oxrtc-srtp interop tests.

usage: libsrtp_oracle.py PROFILE_ID KEY_HEX protect|unprotect rtp|rtcp
Reads one hex packet per line on stdin; writes "OK <hex>" or "ERR <reason>" per line.
KEY_HEX is the master key followed by the master salt.
"""

import sys

import pylibsrtp
from pylibsrtp import Policy, Session


def main() -> None:
    profile, key_hex, mode, kind = sys.argv[1:5]
    ssrc_type = Policy.SSRC_ANY_OUTBOUND if mode == "protect" else Policy.SSRC_ANY_INBOUND
    policy = Policy(
        key=bytes.fromhex(key_hex), ssrc_type=ssrc_type, srtp_profile=int(profile, 0)
    )
    session = Session(policy)
    op = {
        ("protect", "rtp"): session.protect,
        ("protect", "rtcp"): session.protect_rtcp,
        ("unprotect", "rtp"): session.unprotect,
        ("unprotect", "rtcp"): session.unprotect_rtcp,
    }[(mode, kind)]
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            out.write("OK " + op(bytes.fromhex(line)).hex() + "\n")
        except pylibsrtp.Error as e:
            out.write("ERR " + str(e).replace(" ", "_") + "\n")
    out.flush()


if __name__ == "__main__":
    main()
