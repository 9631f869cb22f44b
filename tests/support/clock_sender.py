"""A DAW's MIDI clock in a process of its own: ``python -m tests.support.clock_sender PORT [options]``.

Connects a JACK MIDI output (rtmidi) to the input ``PORT``, sends start (0xFA), then ``--ticks`` clocks
(0xF8) at ``--bpm`` (24 per beat; ``--ticks -1``: until killed), then stop (0xFC) unless ``--no-stop``. Its
own process has its own GIL, so a test may hold the GIL of the test process without delaying the ticks.
``--times PATH`` writes the ``time.monotonic()`` of every clock sent, as JSON, when it ends: on a loaded
machine a tick can leave late, and a test of the receiver compares with what was really sent.
``clock_sender`` starts it from a test (the JACK server is the one in ``JACK_DEFAULT_SERVER``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPIN_S = 0.002  # the last stretch before a tick is waited out by spinning: sleep wakes up late under load


def clock_sender(
    port: str, bpm: float, ticks: int, stop: bool = True, times: Path | None = None
) -> subprocess.Popen:
    """Start the sender process (the caller ends it: ``wait``, or ``terminate`` for ``ticks=-1``)."""
    command = [
        sys.executable,
        "-m",
        "tests.support.clock_sender",
        port,
        "--bpm",
        str(bpm),
        "--ticks",
        str(ticks),
    ]
    command += [] if stop else ["--no-stop"]
    command += [] if times is None else ["--times", str(times)]
    return subprocess.Popen(command, cwd=ROOT)


def wait_until(deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining > SPIN_S:
        time.sleep(remaining - SPIN_S)
    while time.monotonic() < deadline:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("port")
    parser.add_argument("--bpm", type=float, default=120.0)
    parser.add_argument("--ticks", type=int, default=96)
    parser.add_argument("--no-stop", dest="stop", action="store_false")
    parser.add_argument("--times", type=Path, help="write the send time of every clock here (JSON)")
    args = parser.parse_args(argv)
    import rtmidi

    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="ClockSender")
    try:
        out.open_port(out.get_ports().index(args.port))
        spacing = 60.0 / args.bpm / 24
        out.send_message([0xFA])
        t0 = time.monotonic() + 0.01
        sent: list[float] = []  # send times, kept only for --times
        count = 0
        while args.ticks < 0 or count < args.ticks:
            wait_until(t0 + count * spacing)
            out.send_message([0xF8])
            count += 1
            if args.times is not None:
                sent.append(time.monotonic())
        if args.stop:
            out.send_message([0xFC])
    finally:
        out.delete()
    if args.times is not None:
        args.times.write_text(json.dumps(sent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
