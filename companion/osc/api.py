"""The OSC API of ``nudge serve``: ONE registry of every address, its arguments (with OSC type tags), its
reply and its handler. Request parsing (``companion.osc.request``) and ``docs/osc-api.md``
(``python -m companion.osc.api_doc --markdown``) are both derived from these tables, and a test fails when
the committed document differs.

Type tags: ``i`` int32, ``f`` float32, ``s`` string. Max sends whole numbers as ``i``; where an int is
expected, a whole float (``4.0``) is accepted too, never a lossy one (``4.5``).
"""

from __future__ import annotations

from dataclasses import dataclass

from companion import __version__
from companion.core import osc_codec
from companion.core.drum_map import VOICES
from companion.core.midi_values import MAX_BPM, MAX_SONG_BEATS, MIN_BPM, PITCH, VELOCITY
from companion.core.model_meta import STYLE_ANY
from companion.core.pattern import DEFAULT_CANDIDATES, MAX_BARS, MAX_CANDIDATES, MIN_CANDIDATES

VERSION = __version__
MAX_ID = 2**31 - 1
MAX_DATAGRAM_BYTES = osc_codec.MAX_DATAGRAM_BYTES  # largest reply datagram (see LIMIT_NOTE)
MAX_ATOMS_PER_MESSAGE = 256  # the default list length of Max's list objects (zl and friends)
NOTES_PER_PART = 60  # 2 + 4 * 60 = 242 atoms, 1228 bytes per /nudge/notes datagram: under both limits
MAX_REQUEST_BYTES = 32768
MAX_PACKET_MESSAGES = 16  # messages in one datagram (a bundle): each may be a generate; more is refused
MAX_OSC_CANDIDATES = MAX_CANDIDATES  # the widest search one request may ask for (= generate --candidates)
MAX_SEARCHES_PER_DATAGRAM = 1.0  # what one datagram may buy, in maximal searches (companion.osc.searches)
MAX_PENDING_PER_SENDER = 16  # generate/vary requests of one sender waiting for the worker; more are busy
MAX_PENDING = 256  # of all senders together
MAX_CLIP_NOTES = 1024
MAX_CLIP_PARTS = 16  # /nudge/vary/part messages of one clip
MAX_PENDING_CLIPS = 16  # clips whose parts are held until their /nudge/vary comes (the oldest go first)
CLIP_PARTS_SECONDS = 10.0  # parts of a clip whose /nudge/vary does not follow within this are dropped
MAX_KEY_VALUE_PAIRS = 64
MAX_REPLY_ROUTES = 64  # senders whose /nudge/ping reply_port is remembered (least recently used go first)
CLIP_MARKER = "notes"
KEEP_NONE = "none"
LIVE_OFF_REASON = "live MIDI is off (start nudge serve with --midi)"


@dataclass(frozen=True)
class Arg:
    name: str
    tag: str  # "i", "f" or "s"
    description: str = ""
    low: float | None = None
    high: float | None = None
    optional: bool = False  # may be left off (only at the end, and only where no key/value pairs follow)

    def spec(self) -> str:
        return f"[{self.name}:{self.tag}]" if self.optional else f"{self.name}:{self.tag}"


@dataclass(frozen=True)
class Repeat:
    """A group of arguments that repeats (``[pitch:i start_beats:f ...]*``)."""

    args: tuple[Arg, ...]

    def spec(self) -> str:
        return "[" + " ".join(a.spec() for a in self.args) + "]*"


@dataclass(frozen=True)
class Endpoint:
    address: str
    args: tuple[Arg | Repeat, ...]  # positional, in order (the id first where has_id)
    reply: str  # reply address(es), or "" for none
    handler: str  # method of companion.osc.dispatch.Daemon
    description: str
    options: bool = False  # key/value pairs follow the positional arguments
    clip: bool = False  # then the marker "notes", length_beats:f and the clip's note groups
    clip_optional: bool = False  # the clip may be left off (generate: needed only with `keep`)
    has_id: bool = True
    keys: tuple[str, ...] | None = None  # the option keys it takes (CONDITIONS: any condition); None: all


@dataclass(frozen=True)
class Option:
    key: str
    tag: str
    description: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Reply:
    address: str
    args: tuple[Arg | Repeat, ...]
    description: str


ID = Arg("id", "i", "request id chosen by the client, echoed in every reply", 0, MAX_ID)
NOTE_GROUP = Repeat(
    (
        Arg("pitch", "i", "MIDI pitch", PITCH.low, PITCH.high),
        Arg("start_beats", "f", "start in beats from the clip start", 0, None),
        Arg("duration_beats", "f", "length in beats", 0, None),
        Arg("velocity", "i", "MIDI velocity (a float is rounded)", VELOCITY.low, VELOCITY.high),
    )
)

NOTES_REPLY = "/nudge/notes/begin, /nudge/notes, /nudge/notes/end"
CONDITIONS = "<condition>"  # in Endpoint.keys: every condition of the loaded model
TOOL_KEYS = ("style", "seed", "candidates", "parts")
MIN_INTERPOLATE, MAX_INTERPOLATE = 3, 16  # patterns from A to B, both ends included

REPLY_PORT = Arg(
    "reply_port",
    "i",
    "reply to this port of the sender's host, now and for later requests from the same host and port",
    1,
    65535,
    optional=True,
)

# address              arguments                              reply                      handler
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "/nudge/ping",
        (ID, REPLY_PORT),
        "/nudge/pong",
        "ping",
        "is the daemon there, and which model serves? `reply_port` (1..65535): this reply and every later "
        "one to this sender go to that port of its host (see *Where replies go*)",
    ),
    Endpoint(
        "/nudge/generate",
        (ID,),
        "/nudge/notes/begin, /nudge/notes, /nudge/notes/end",
        "generate",
        "a new pattern that meets the sliders; key/value pairs follow the id. With `keep`, the clip follows "
        "(as in `/nudge/vary`): its kept voices stay exactly and the others are generated to fit them",
        options=True,
        clip=True,
        clip_optional=True,
    ),
    Endpoint(
        "/nudge/vary",
        (ID, Arg("amount", "f", "0 = the clip unchanged, 1 = a fresh pattern", 0, 1)),
        "/nudge/notes/begin, /nudge/notes, /nudge/notes/end",
        "vary",
        "nudge the current clip: key/value pairs, then `notes:s length_beats:f` and the clip's note groups "
        "`[pitch:i start_beats:f duration_beats:f velocity:i]*`; with `keep`, the kept voices never change",
        options=True,
        clip=True,
    ),
    Endpoint(
        "/nudge/vary/part",
        (
            ID,
            Arg("part", "i", "0-based", 0, MAX_CLIP_PARTS - 1),
            Arg("n_parts", "i", "parts of this clip", 1, MAX_CLIP_PARTS),
            NOTE_GROUP,
        ),
        "",
        "vary_part",
        "a part of a clip too long for one datagram: its note groups, held for the `/nudge/vary` with "
        "the same id and `parts n_parts`, which must follow within "
        f"{CLIP_PARTS_SECONDS:g} s (no reply; an error when malformed)",
    ),
    Endpoint(
        "/nudge/groove",
        (
            ID,
            Arg(
                "amount", "f", "0 = the clip's own velocities and timing, 1 = a drummer's (the model's)", 0, 1
            ),
        ),
        NOTES_REPLY,
        "groove",
        "humanise the clip: every note comes back with the same pitch, 16th step and length, with a "
        "drummer's velocity and micro-timing (see *Tools*)",
        options=True,
        clip=True,
        keys=TOOL_KEYS,
    ),
    Endpoint(
        "/nudge/drumify",
        (ID,),
        NOTES_REPLY,
        "drumify",
        "drums for any clip (a bassline, a melody, taps; any pitch): their onsets follow the clip's; the "
        "style and the sliders apply",
        options=True,
        clip=True,
        keys=(*TOOL_KEYS, CONDITIONS),
    ),
    Endpoint(
        "/nudge/continue",
        (
            ID,
            Arg("bars", "i", "new bars after the clip (the clip and them: at most 8 bars)", 1, MAX_BARS - 1),
        ),
        NOTES_REPLY,
        "continue",
        "the clip's notes exactly as sent, then `bars` new bars that go on from them (the reply is the "
        "whole, longer clip)",
        options=True,
        clip=True,
        keys=(*TOOL_KEYS, CONDITIONS),
    ),
    Endpoint(
        "/nudge/interpolate",
        (
            ID,
            Arg(
                "count",
                "i",
                "patterns on the path from A to B, both ends included",
                MIN_INTERPOLATE,
                MAX_INTERPOLATE,
            ),
            Arg("step", "i", "which one to answer: 1 is A, `count` is B", 1, MAX_INTERPOLATE),
            Arg(
                "split_beats",
                "f",
                "where B starts in the clip: A is the notes before, B those after",
                0,
                None,
            ),
        ),
        NOTES_REPLY,
        "interpolate",
        "one pattern of a path from clip A to clip B, sent as one clip: A's notes, then B's from "
        "`split_beats` on (A and B must be equally long; the same seed gives the same path for every step)",
        options=True,
        clip=True,
        keys=("seed", "candidates", "parts"),
    ),
    Endpoint(
        "/nudge/fill",
        (ID,),
        NOTES_REPLY,
        "fill",
        "the clip's notes before its last bar exactly as sent, and a fill in its last bar that leads back to "
        "the downbeat",
        options=True,
        clip=True,
        keys=TOOL_KEYS,
    ),
    Endpoint(
        "/nudge/cancel",
        (ID,),
        "/nudge/cancelled",
        "cancel",
        "a newer request supersedes the older ones: this sender's generate, vary and tool requests that "
        "wait and have not started are dropped (no reply of their own; their held `/nudge/vary/part`s go "
        "too). The one running finishes and replies. Answered at once, before any request sent after it "
        "starts (see *Work and fairness*)",
    ),
    Endpoint("/nudge/model/list", (ID,), "/nudge/model/list", "model_list", "models in the models folder"),
    Endpoint(
        "/nudge/model/load",
        (ID, Arg("name", "s", "model name without .onnx")),
        "/nudge/model/loaded",
        "model_load",
        "hot swap: load a model of the models folder by name (the old one serves until it is ready,"
        " and keeps serving if the load fails)",
    ),
    Endpoint(
        "/nudge/model/info",
        (ID,),
        "/nudge/model/info",
        "model_info",
        "what the device needs to label its sliders",
    ),
    Endpoint(
        "/nudge/play/start",
        (ID,),
        "/nudge/ok",
        "play_start",
        "start the live MIDI stream (needs --midi). Before anything was generated it starts all the same "
        "and plays the first pattern that `/nudge/generate` or `/nudge/vary` makes, as soon as it is made",
    ),
    Endpoint(
        "/nudge/play/stop",
        (ID,),
        "/nudge/ok",
        "play_stop",
        "stop it, with a note-off for every sounding note",
    ),
    Endpoint("/nudge/play/panic", (ID,), "/nudge/ok", "play_panic", "all notes off on the live MIDI channel"),
    Endpoint(
        "/nudge/transport",
        (
            Arg("bpm", "f", "the DAW's tempo", MIN_BPM, MAX_BPM),
            Arg("beat", "f", "song position in beats (what a set can hold)", 0, MAX_SONG_BEATS),
            Arg("playing", "i", "1 playing, 0 stopped", 0, 1),
        ),
        "",
        "transport",
        "tempo and transport from the device, sent continuously: no id, no reply "
        "(an error only when malformed; ignored while live MIDI is off)",
        has_id=False,
    ),
)
ENDPOINT_BY_ADDRESS: dict[str, Endpoint] = {e.address: e for e in ENDPOINTS}

# key            tag   description                                                           range
OPTIONS: tuple[Option, ...] = (
    Option(
        "bars",
        "i",
        "length of the pattern in bars (default: the model's bars; vary: the clip's)",
        1,
        MAX_BARS,
    ),
    Option("style", "s", f"a style of the model, or `{STYLE_ANY}` (default)"),
    Option("seed", "i", "same seed + same request = same pattern (default: a fresh seed)", 0, MAX_ID),
    Option(
        "candidates",
        "i",
        f"search width: generator samples per request (default {DEFAULT_CANDIDATES}; the same range as "
        "`nudge generate --candidates`)",
        MIN_CANDIDATES,
        MAX_OSC_CANDIDATES,
    ),
    Option(
        "keep",
        "s",
        "voices whose notes stay exactly as in the clip, comma-separated: "
        f"{', '.join(VOICES)} (or `hats`, `toms`, `cymbals`); `none` keeps none. The others are generated "
        "to fit them (see *Voice lock*)",
    ),
    Option(
        "parts",
        "i",
        "with a clip (vary, generate with keep, the tools): its notes came first in this many "
        "`/nudge/vary/part` messages with this id (they go before any notes after `notes length_beats`)",
        1,
        MAX_CLIP_PARTS,
    ),
    Option(
        "<condition>",
        "f",
        "any condition of the loaded model (see /nudge/model/info); missing ones take the "
        "model's defaults (vary: the clip's own measured value)",
        0,
        1,
    ),
)
OPTION_BY_KEY: dict[str, Option] = {o.key: o for o in OPTIONS if not o.key.startswith("<")}
CONDITION_OPTION = OPTIONS[-1]

REPLIES: tuple[Reply, ...] = (
    Reply("/nudge/pong", (ID, Arg("version", "s"), Arg("model_name", "s")), "answer to /nudge/ping"),
    Reply(
        "/nudge/notes/begin",
        (ID, Arg("n_parts", "i"), Arg("n_notes", "i"), Arg("length_beats", "f"), Arg("clip_name", "s")),
        "first message of a note reply",
    ),
    Reply(
        "/nudge/notes",
        (ID, Arg("part", "i", "0-based"), NOTE_GROUP),
        f"one part: at most {NOTES_PER_PART} notes",
    ),
    Reply("/nudge/notes/end", (ID, Arg("n_parts", "i")), "last message of a note reply"),
    Reply(
        "/nudge/cancelled",
        (ID, Repeat((Arg("dropped_id", "i"),))),
        "answer to /nudge/cancel: the ids of the requests it dropped (none when nothing waited)",
    ),
    Reply("/nudge/model/list", (ID, Arg("current", "s"), Repeat((Arg("name", "s"),))), "names without .onnx"),
    Reply("/nudge/model/loaded", (ID, Arg("name", "s")), "the model now serving"),
    Reply(
        "/nudge/model/info",
        (
            ID,
            Arg("name", "s"),
            Arg("bars", "i"),
            Arg("beats_per_bar", "i"),
            Arg("n_conditions", "i"),
            Repeat((Arg("cond_name", "s"), Arg("description", "s"), Arg("default", "f"))),
            Arg("n_styles", "i"),
            Repeat((Arg("style", "s"),)),
        ),
        "conditions in the model's input order",
    ),
    Reply("/nudge/ok", (ID,), "done"),
    Reply(
        "/nudge/error",
        (ID, Arg("reason", "s")),
        "the request was malformed or failed; nothing changed (id -1 "
        "when the request's id could not be read)",
    ),
)
