"""Render ``docs/osc-api.md`` from the registry in ``companion.osc.api`` (nothing here is hand-kept data
about the API: every table row comes from the registry; the prose explains it)."""

from __future__ import annotations

import sys

from companion.osc import api

HEADER = """\
# OSC API of `nudge serve`

<!-- GENERATED from companion/osc/api.py by `python scripts/gen_osc_docs.py`; do not edit by hand.
     tests/osc/test_api_doc.py fails when this file and the registry differ. -->

The daemon listens for OSC 1.0 over UDP on `127.0.0.1:9000` (`--host`, `--port`, `--host ::1` for IPv6;
beyond loopback only
with `--allow-remote` and an `--allow CLIENT_ADDR` list). Replies go to the sender's address and port, or to
the port it asked for with `/nudge/ping id reply_port` (see *Where replies go*), or to `--reply-port`. API
version: `{version}` (sent in `/nudge/pong`).

Type tags: `i` int32, `f` float32, `s` string. Max sends whole numbers as `i` and decimals as `f`: where an
int is expected, a whole float (`4.0`) is accepted too, never a lossy one (`4.5`); where a float is
expected, an int is accepted. Every request except `/nudge/transport` starts with an int `id`
(0..{max_id}) chosen by the client, and every reply carries it back.
"""

LIMIT_NOTE = """\
## Datagram size: why {max_bytes} bytes

Max's `udpreceive` reference pages (Max 5, 7, 8 and the current one,
<https://docs.cycling74.com/reference/udpreceive>) document no size limit for incoming packets, only that
they must be OSC (it drops a packet whose size is not a multiple of 4, with "OSC packet size(n) not a
multiple of 4 bytes: dropping", see <https://github.com/tschiemer/max-net/issues/2>). So the daemon stays
under every limit known on the way from its socket into a Max list:

- the largest UDP payload that fits one Ethernet frame, 1500 - 20 (IPv4) - 8 (UDP) = **{max_bytes}
  bytes**, so that a reply is never IP-fragmented, also with `--allow-remote` over a network (a lost
  fragment loses the whole datagram);
- far below the receive buffers of common OSC stacks (oscpack's 4098 bytes,
  <https://github.com/RossBencina/oscpack/issues/30>; JUCE lost blobs above 4076 bytes on Windows,
  <https://github.com/juce-framework/JUCE/issues/141>) and macOS's default `net.inet.udp.maxdgram` of
  9216 bytes (<https://github.com/ExistentialAudio/SwiftOSC/issues/16>);
- at most {max_atoms} atoms per message, the default list length of Max's list objects (`zl` and friends), so
  the device can route a part without resizing anything.

A `/nudge/notes` part holds at most **{per_part} notes**: 2 + 4 x {per_part} = {atoms} atoms and
{part_bytes} bytes. Every reply datagram the daemon sends is checked against {max_bytes} bytes. Requests may
be larger (a long clip in `/nudge/vary`): up to {max_request} bytes and {max_clip} notes. A datagram may be
an OSC bundle of at most {max_messages} messages (answered in order); a larger one is refused whole.

## Work and fairness

One datagram buys at most **{max_work:g} maximal search**: each generate, vary and tool request is priced by
the work it runs, `candidates` x the generator's runs / 1024 (a plain generate or a vary runs the generator
once, a voice lock with `keep` three times per model-length part of the clip, each run weighing 1.5, a vary of
amount 0 not at all; a tool its tools graph once per model-length window of the clip, weighed as *Tools*
says), and the requests of a datagram together may cost 1 (a plain generate with 1024 candidates); the
requests past that answer `/nudge/error` and do nothing (one that alone costs more says how many candidates it
may ask). Generate, vary and the tools run in search processes of their own (`nudge serve --search-processes`,
one per core by default), never on the thread that answers pings. They are fed from one queue that takes turns
between senders by work: the sender served the least work so far goes next, so a client that floods the daemon
delays another client by at most one search per process; a sender may have {per_sender} requests waiting (all
senders together {total}), more answer `/nudge/error id "...busy..."`. A client that sends a newer request in
place of the ones still waiting (a producer clicking again) sends `/nudge/cancel id` first: the worker drops
that sender's waiting generate, vary and tool requests (those it has not started) and `/nudge/cancelled id
dropped_id...` says which; the running one finishes. The sender is its host and source port, so each device
instance cancels only its own requests. Pings, `/nudge/model/info`, `/nudge/model/list`, live MIDI and every
error are answered at once, whatever waits. `/nudge/model/load` loads and checks the new model (every style
and every slider end, see docs/gan.md) on a thread of its own while the old model serves; its reply comes when
it is ready, and a second load while one runs is refused."""

NOTE_REPLY = """\
## Note reply (to `/nudge/generate`, `/nudge/vary` and the tools)

Always three kinds of message, in this order (UDP may reorder them: the part index lets the client
reassemble):

1. `/nudge/notes/begin id n_parts n_notes length_beats clip_name`
2. `n_parts` x `/nudge/notes id part` followed by flat note groups `pitch start_beats duration_beats
   velocity` (`part` counts from 0)
3. `/nudge/notes/end id n_parts`

Notes are sorted by start. `length_beats` is the clip length; `clip_name` names the model, the style or
the amount, and the seed (`default funk s1234`), so a result can be reproduced with `seed`.
"""

VARY_NOTE = """\
## `/nudge/vary`: the clip

After the key/value pairs comes the marker `notes`, the clip length `length_beats:f` and the clip's notes as
flat groups `pitch:i start_beats:f duration_beats:f velocity:i`. `amount` 0 returns the clip exactly as
sent. Otherwise the notes are read onto the model's grid (the model's output pitches, then General MIDI,
then the Roland map of the Groove MIDI Dataset); each voice keeps the clip's own pitch; notes that cannot be
read (unknown pitch, start after the clip's end) come back unchanged (with `bars`, they are cropped or looped
with the clip). Velocities round half up (0.5 -> 1). Conditions that are not sent keep the
clip's own measured value, so a nudge stays in character. The change is measured as
`|hits(a) XOR hits(b)| / (|hits(a)| + |hits(b)|)` (0 same, 1 no hit shared); small amounts flip few hits,
on weak metrical positions first, and hits that stay keep their velocity and micro-timing.
"""

LOCK_NOTE = """\
## Voice lock (`keep`)

`keep kick,snare` (voice names, comma-separated; `hats`, `toms` and `cymbals` name groups) in
`/nudge/generate` or `/nudge/vary`, with the clip at the end (`notes length_beats` and the note groups, as in
`/nudge/vary`): the clip's notes of the kept voices come back **exactly as sent** (pitch, start, duration,
velocity; with `bars`, cropped or looped with the clip), and the other voices are generated to fit them: a
latent search looks for generator samples that themselves play the kept voices like the clip, and the
other voices of the best one (kept-voice fit plus the sliders) fill the pattern
([docs/voice-lock.md](voice-lock.md), with its measurement). The clip's notes of other voices are replaced
(generate) or nudged by `amount` (vary); notes of unknown pitches pass through as in `/nudge/vary`. The
clip name says what was kept (`default any keep kick+snare s1234`). `keep none` is the same as no `keep`.
"""

TOOLS_NOTE = """\
## Tools: Groove, Drumify, Continue, Interpolate, Fill

Each takes a clip as `/nudge/vary` does (key/value pairs, then `notes length_beats` and the note groups;
`parts` for long clips) and answers with a note reply. A clip must hold notes and span one to eight bars
(else `/nudge/error`, nothing changes). Sliders left out are the model's to choose from the clip, a style
left out too. How they work and how well: [tools.md](tools.md).

- `/nudge/groove id amount`: every note of the clip comes back: same pitch, same 16th step, same length;
  drum notes get a drummer's velocity and micro-timing (`amount` 0 = the clip's own, 1 = the model's).
  Notes of pitches that are not drums come back as sent.
- `/nudge/drumify id`: the clip's notes (any pitch: a bassline, a melody, taps) are a rhythm; the reply is
  drums on the model's pitches whose onsets follow it.
- `/nudge/continue id bars`: the clip's notes exactly as sent, then `bars` new bars; the reply's
  `length_beats` is the longer clip's.
- `/nudge/interpolate id count step split_beats`: the clip holds A (notes before `split_beats`, which is
  A's length) and B (the notes from `split_beats` on, shifted to start at 0; B's length is `length_beats -
  split_beats`, and must equal A's). The reply is pattern `step` of the `count` that lead from A (step 1,
  A's notes as sent) to B (step `count`, B's notes as sent); with the same `seed`, every step belongs to one
  path, so a client asks `count` times.
- `/nudge/fill id`: the clip's notes before its last bar exactly as sent (a note belongs to the bar of its
  nearest 16th), then a fill in the last bar. Needs a model with a tools graph (`NAME.tools.onnx`).
"""

ROUTES_NOTE = """\
## Where replies go

Every reply goes to the sender's own host (the address the request came from), at:

1. `--reply-port`, when `nudge serve` was started with it (for every client);
2. else the `reply_port` the sender gave in its last valid `/nudge/ping id reply_port` ({low}..{high}):
   the daemon remembers it per sender, i.e. per (host, source port), and sends the pong and every later
   reply to that sender there. This is for clients that send from a port they cannot receive on, such as
   Max's `udpsend` next to a `udpreceive` on another port (the Max for Live device pings with its
   `udpreceive` port once a second, so the first ping sets it up);
3. else the sender's source port.

A ping without `reply_port` leaves a remembered port as it is; one with a malformed `reply_port` (wrong
type, out of range, NaN) gets `/nudge/error` and nothing is remembered. The daemon remembers at most
{max_routes} senders and forgets the least recently used first. A remembered port never lets a request in:
with `--allow`, a sender outside the list is dropped before anything else, and a reply never goes to any
host but the sender's.
"""

ERRORS = """\
## Errors

`/nudge/error id reason` answers anything malformed: unknown address, wrong types or count, NaN or inf,
out-of-range values, unknown style or condition, oversized input, and failures such as a model that does
not load. `id` is -1 when the request's id itself could not be read (a message that breaks after a readable
id gets that id; a bundle's well-formed messages are answered as usual). Nothing changes, and the daemon keeps
serving. Live MIDI addresses answer `/nudge/error id "{live_off}"` when the daemon runs without a player.

The reason names the argument and what is allowed: only a `NudgeError` (`companion/core/errors.py`) is
answered as the request's mistake. Anything else is a bug in Nudge: its reason is just
`"<address>: internal error (<exception type>)"`, the daemon logs the traceback and counts it (`internal` in
the summary it logs when it stops), and serves on. Please report such an error with the daemon's log.
"""


def _args(args: tuple) -> str:
    return " ".join(f"`{a.spec()}`" for a in args) or "—"


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _range(low: float | None, high: float | None) -> str:
    return "" if low is None and high is None else f"{_number(low)}..{_number(high)}"


def render() -> str:
    out = [HEADER.format(version=api.VERSION, max_id=api.MAX_ID), "## Requests\n"]
    out.append("| address | arguments | reply | handler | what it does |")
    out.append("|---|---|---|---|---|")
    for e in api.ENDPOINTS:
        args = _args(e.args) + (" then key/value pairs" if e.options else "")
        clip_text = " then `notes:s length_beats:f` and note groups"
        args += (f"{clip_text} (with `keep`)" if e.clip_optional else clip_text) if e.clip else ""
        reply = ", ".join(f"`{r.strip()}`" for r in e.reply.split(",")) if e.reply else "none"
        out.append(f"| `{e.address}` | {args} | {reply} | `{e.handler}` | {e.description} |")
    out += ["", "## Key/value pairs", ""]
    out += ["Each pair is a key `s` followed by its value.", ""]
    out += ["| key | value | range | meaning |", "|---|---|---|---|"]
    for o in api.OPTIONS:
        out.append(f"| `{o.key}` | `{o.tag}` | {_range(o.low, o.high)} | {o.description} |")
    out += ["", "Which requests take which keys (any other key is refused, naming those allowed):", ""]
    out += ["| address | keys |", "|---|---|"]
    for e in api.ENDPOINTS:
        if e.options:
            keys = [o.key for o in api.OPTIONS] if e.keys is None else list(e.keys)
            out.append(f"| `{e.address}` | {', '.join(f'`{k}`' for k in keys)} |")
    out += ["", "## Replies", "", "| address | arguments | meaning |", "|---|---|---|"]
    for r in api.REPLIES:
        out.append(f"| `{r.address}` | {_args(r.args)} | {r.description} |")
    out += ["", NOTE_REPLY, VARY_NOTE, LOCK_NOTE, TOOLS_NOTE]
    part_bytes = 16 + ((3 + 4 * api.NOTES_PER_PART + 1 + 3) // 4) * 4 + 8 + 16 * api.NOTES_PER_PART
    out.append(
        LIMIT_NOTE.format(
            max_bytes=api.MAX_DATAGRAM_BYTES,
            max_atoms=api.MAX_ATOMS_PER_MESSAGE,
            per_part=api.NOTES_PER_PART,
            atoms=2 + 4 * api.NOTES_PER_PART,
            part_bytes=part_bytes,
            max_request=api.MAX_REQUEST_BYTES,
            max_messages=api.MAX_PACKET_MESSAGES,
            max_clip=api.MAX_CLIP_NOTES,
            max_work=api.MAX_SEARCHES_PER_DATAGRAM,
            per_sender=api.MAX_PENDING_PER_SENDER,
            total=api.MAX_PENDING,
        )
    )
    low, high = _number(api.REPLY_PORT.low), _number(api.REPLY_PORT.high)
    out.append(ROUTES_NOTE.format(low=low, high=high, max_routes=api.MAX_REPLY_ROUTES))
    out.append(ERRORS.format(live_off=api.LIVE_OFF_REASON))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv != ["--markdown"]:
        print("usage: python -m companion.osc.api_doc --markdown   (prints docs/osc-api.md)", file=sys.stderr)
        return 2
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
