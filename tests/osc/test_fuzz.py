"""A standing fuzz test of the daemon's doors (issue 17): malformed datagrams over a real UDP socket, hostile
model files and names (load, hot reload, ``load_model``), and bad command lines. Seeded and bounded in time.
``tests/osc/test_fuzz_numbers.py`` is its systematic half (issue 26): every numeric argument of every
request with each finite-but-absurd number, self-addressed replies, IPv6, and live MIDI's transport.

Targets: no crash (the server answers a ping after every datagram), no internal error (no reply or log
record says "internal error"), and a bad model never replaces the serving one (every style of the serving
model still generates after every attack). ``NUDGE_FUZZ_SEED`` and ``NUDGE_FUZZ_SECONDS`` (default 0 and
15, the datagram part's budget) change the run; the figures are printed (``pytest -s``).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import struct
import time

import numpy as np
import onnx
import pytest

from companion.cli import main
from companion.core.osc_codec import encode_bundle, encode_message
from companion.core.pattern import Grid
from companion.osc.dispatch import Daemon
from companion.osc.guard import RateLimit
from companion.osc.server import UdpServer
from companion.runtime.model import ModelError, load_model
from companion.runtime.models_dir import ModelsDir
from tests.osc.test_server import Client, Running
from tests.support.tiny_onnx import tiny_meta, tiny_model_bytes, write_tiny_model

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEED = int(os.environ.get("NUDGE_FUZZ_SEED", "0"))
SECONDS = float(os.environ.get("NUDGE_FUZZ_SECONDS", "15"))
CLIP = (36, 0.0, 0.25, 100, 38, 1.0, 0.25, 90, 42, 0.5, 0.1, 60)
VALID = [
    ("/nudge/ping", "i", (1,)),
    ("/nudge/ping", "ii", (2, 9)),  # a reply port: the sync ping below sets ours back
    ("/nudge/model/info", "i", (3,)),
    ("/nudge/model/list", "i", (4,)),
    ("/nudge/model/load", "is", (5, "default")),
    ("/nudge/generate", "isisf", (6, "seed", 3, "density", 0.4)),
    ("/nudge/generate", "isisisssi", (7, "bars", 8, "candidates", 1024, "style", "funk", "seed", 1)),
    ("/nudge/vary", "ifsf" + "iffi" * 3, (8, 0.3, "notes", 4.0, *CLIP)),
    ("/nudge/vary", "ifsisf" + "iffi" * 3, (9, 0.0, "bars", 2, "notes", 4.0, *CLIP)),
    ("/nudge/generate", "isssf" + "iffi" * 3, (12, "keep", "kick,snare", "notes", 4.0, *CLIP)),
    ("/nudge/vary", "ifsssf" + "iffi" * 3, (13, 0.5, "keep", "hats", "notes", 4.0, *CLIP)),
    ("/nudge/play/start", "i", (10,)),
    ("/nudge/play/panic", "i", (11,)),
    ("/nudge/transport", "ffi", (120.0, 0.001, 1)),
]
ODD_VALUES = [0, -1, 2**31 - 1, -(2**31), 1e30, -1e-30, float("nan"), float("inf"), "", "x" * 300,
              "any", "../default", "default\n", "\u00e9\U0001f941", 4096, 9,
              3e38, -3e38, 1e-38, 16777217.0, 65536]  # fmt: skip
TAGS = "ifsbhdTFNIcrm[]"


def mutate(rng: np.random.Generator, data: bytes) -> bytes:
    """One of the attacks on a valid datagram's bytes."""
    raw = bytearray(data)
    kind = int(rng.integers(8))
    if kind == 0 and raw:  # flip bits
        for _ in range(int(rng.integers(1, 8))):
            raw[int(rng.integers(len(raw)))] ^= 1 << int(rng.integers(8))
    elif kind == 1:  # cut anywhere
        raw = raw[: int(rng.integers(len(raw) + 1))]
    elif kind == 2:  # junk after
        raw += rng.bytes(int(rng.integers(1, 64)))
    elif kind == 3:  # a type tag swapped
        comma = raw.find(b",")
        if comma >= 0 and comma + 1 < len(raw) and raw[comma + 1]:
            raw[comma + 1 + int(rng.integers(max(1, raw.find(b"\0", comma) - comma - 1)))] = ord(
                TAGS[int(rng.integers(len(TAGS)))]
            )
    elif kind == 4:  # a bundle around it, maybe nested too deeply, maybe with a lying size
        for _ in range(int(rng.integers(1, 7))):
            raw = bytearray(encode_bundle([bytes(raw)]))
        if rng.random() < 0.3:
            struct.pack_into(">i", raw, 16, int(rng.integers(-8, 1 << 20)))
    elif kind == 5:  # random bytes that look like OSC at first
        raw = bytearray(b"/nudge/" + rng.bytes(int(rng.integers(0, 200))))
    elif kind == 6:  # very large
        raw += b"\0" * int(rng.integers(32768, 65000))
    else:  # a 4-byte word overwritten with an extreme number
        if len(raw) >= 8:
            at = 4 * int(rng.integers(len(raw) // 4))
            raw[at : at + 4] = struct.pack(">i", int(rng.choice([0, -1, 2**31 - 1, -(2**31), 0x7FC00000])))
    return bytes(raw)


def odd_request(rng: np.random.Generator) -> bytes:
    """A well-formed message with odd values in a valid request's places."""
    address, tags, args = VALID[int(rng.integers(len(VALID)))]
    args = list(args)
    for _ in range(int(rng.integers(1, 4))):
        i = int(rng.integers(len(args)))
        args[i] = ODD_VALUES[int(rng.integers(len(ODD_VALUES)))]
    tags = "".join("s" if isinstance(a, str) else "f" if isinstance(a, float) else "i" for a in args)
    try:
        return encode_message(address, tags, args)
    except Exception:  # e.g. an int beyond int32: send it as a double
        return encode_message(
            address,
            tags.replace("i", "d"),
            [float(a) if tag == "i" else a for a, tag in zip(args, tags, strict=True)],
        )


def no_internal_error(message) -> bool:
    return not (message.address == "/nudge/error" and "internal error" in str(message.args[1:]))


@pytest.fixture
def folder(tmp_path):
    write_tiny_model(tmp_path / "default.onnx", grid=Grid(4, 4, 2))
    write_tiny_model(tmp_path / "other.onnx", name="other", styles=("rock",))
    return tmp_path


def test_malformed_datagrams_never_crash_the_daemon_nor_cause_an_internal_error(folder, caplog):
    caplog.set_level(logging.ERROR)
    rng = np.random.default_rng(SEED)
    daemon = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder), seed=SEED)
    # the rate limit is lifted: the fuzz sends as fast as the daemon answers (test_no_loops checks the limit)
    unlimited = RateLimit(rate=1e9, burst=1e9)
    running = Running(UdpServer(daemon, "127.0.0.1", 0, poll_seconds=3600, rate_limit=unlimited))
    client = Client(running.server.address)
    valid = [encode_message(*request) for request in VALID]
    own_port = client.sock.getsockname()[1]
    sent, replies, sync_id = 0, [], 1_000_000
    deadline = time.monotonic() + SECONDS
    try:
        while time.monotonic() < deadline:
            datagram = (
                mutate(rng, valid[int(rng.integers(len(valid)))]) if rng.random() < 0.7 else odd_request(rng)
            )
            client.sock.sendto(datagram, client.server)
            sent += 1
            sync_id += 1  # every datagram is followed by a ping: answered, so the daemon is alive (its
            client.send("/nudge/ping", "ii", sync_id, own_port)  # reply port: ours, whatever came before)
            while True:
                message = client.receive()
                replies.append(message)
                if message.address == "/nudge/pong" and message.args[0] == sync_id:
                    break
        client.send("/nudge/ping", "ii", 7, own_port)
        while (final := client.receive()).address != "/nudge/pong" or final.args[0] != 7:
            replies.append(final)  # (the last generates' replies may come after the last sync pong)
    finally:
        client.close()
        running.stop()
    internal = [m for m in replies if not no_internal_error(m)]
    logged = [r.getMessage() for r in caplog.records if "internal error" in r.getMessage()]
    errors = sum(m.address == "/nudge/error" for m in replies)
    print(f"\nfuzz seed {SEED}: {sent} datagrams in {SECONDS:g} s, {len(replies)} replies ({errors} errors), "
          f"{len(internal)} internal errors, {len(logged)} logged")  # fmt: skip
    assert sent >= 100 and internal == [] and logged == []
    assert final.address == "/nudge/pong" and final.args[2] in ("default", "other")


def hostile_files(folder, rng: np.random.Generator) -> list[str]:
    """Write the hostile models into ``folder``; returns their names."""
    good = tiny_model_bytes(tiny_meta(name="x"))
    proto = onnx.load_from_string(good)

    def with_meta(text: str) -> bytes:
        del proto.metadata_props[:]
        onnx.helper.set_model_props(proto, {"nudge": text})
        return proto.SerializeToString()

    files = {
        "empty": b"",
        "garbage": rng.bytes(4096),
        "styles3": with_meta(tiny_meta(styles=("funk", "rock", "jazz")).to_json()),
        "styles1": with_meta(tiny_meta(styles=("funk",)).to_json()),
        "deep": with_meta("[" * 50_000 + "]" * 50_000),
        "notjson": with_meta("{"),
        "latin": with_meta("Q" * 8).replace(b"Q" * 8, b"\xff" * 8),
        "long": with_meta(" " * (1 << 20) + "{}"),
        "nometa": with_meta("{}"),
    }
    for i in range(12):  # cut and bit-flipped copies of a good model
        cut = good[: int(rng.integers(len(good)))]
        flipped = bytearray(good)
        for _ in range(8):
            flipped[int(rng.integers(len(flipped)))] ^= 0xFF
        files[f"cut{i}"], files[f"flip{i}"] = cut, bytes(flipped)
    for name, data in files.items():
        (folder / f"{name}.onnx").write_bytes(data)
    (folder / "passwd.onnx").symlink_to("/etc/passwd")
    (folder / "loop.onnx").symlink_to(folder / "loop.onnx")
    os.mkfifo(folder / "fifo.onnx")
    (folder / "folder.onnx").mkdir()
    return [*files, "passwd", "loop", "fifo", "folder", "missing", "default\n", "../default", "a" * 65]


def test_hostile_model_files_and_names_never_replace_the_serving_model(folder, caplog):
    caplog.set_level(logging.ERROR)
    rng = np.random.default_rng(SEED)
    names = hostile_files(folder, rng)
    daemon = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder), seed=SEED)
    running = Running(UdpServer(daemon, "127.0.0.1", 0, poll_seconds=3600))
    client = Client(running.server.address)
    outcomes: dict[str, list[str]] = {"refused": [], "loaded": []}
    try:
        for i, name in enumerate(names):
            reply = client.ask("/nudge/model/load", "is", i, name)
            assert no_internal_error(reply), (name, reply)
            outcomes["refused" if reply.address == "/nudge/error" else "loaded"].append(name)
            for j, style in enumerate(daemon.model.meta.styles or ("any",)):  # whatever serves, serves
                client.send("/nudge/generate", "isssi", 100 + j, "style", style, "seed", 1)
                first = client.receive()
                assert first.address == "/nudge/notes/begin", (name, first)
                while client.receive().address != "/nudge/notes/end":
                    pass
            client.ask("/nudge/model/load", "is", 99, "default")
        for name in names:  # the same files over the serving one: the hot reload keeps the good model
            path = folder / f"{name}.onnx"
            if path.is_file() and not path.is_symlink():
                os.replace(path, folder / "default.onnx")
                daemon.poll_models()
                assert client.ask("/nudge/ping", "i", 5).address == "/nudge/pong"
                write_tiny_model(folder / "default.onnx", grid=Grid(4, 4, 2))
                daemon.poll_models()
        for name in names:  # and nudge's own loader (nudge info / generate --model) says ModelError only
            with contextlib.suppress(ModelError):
                load_model(folder / f"{name}.onnx")
    finally:
        client.close()
        running.stop()
    refused, loaded = outcomes["refused"], outcomes["loaded"]
    print(f"\nhostile models: {len(names)} names, {len(refused)} refused, loaded {loaded}")
    # valid after all (each generated every style above): flipped bytes in weights, and fewer declared styles
    # than the network has (every declared index works); nothing else loads
    assert all(name.startswith("flip") or name == "styles1" for name in loaded)
    assert [r.getMessage() for r in caplog.records if "internal error" in r.getMessage()] == []


def bad_command_lines(folder) -> list[list[str]]:
    model = str(folder / "default.onnx")
    (folder / "junk.mid").write_bytes(b"MThd junk")
    os.mkfifo(folder / "pipe.mid")
    (folder / "link.mid").symlink_to("/etc/passwd")
    lines = []
    values = {
        "--bars": ["0", "-1", "9", "x", "1e3", ""],
        "--tempo": ["nan", "inf", "0", "-5", "1e9", "x", "19.9", "1000"],
        "--count": ["0", "1001", "-1", "x"],
        "--candidates": ["0", "5000", "-3", "x"],
        "--amount": ["-1", "2", "nan", "x"],
        "--seed": ["x", "1.5", ""],
        "--style": ["", "polka", "\x01"],
        "--density": ["2", "-1", "nan", "inf", "x", "1.0001"],
        "--syncopation": ["2", "-0.1", "nan"],
        "--cond": ["a", "=1", "density=", "swing=0.5", "density=nan"],
        "--from": [str(folder / "none.mid"), str(folder), str(folder / "junk.mid"), str(folder / "pipe.mid")],
        "--model": [str(folder / "none.onnx"), str(folder), str(folder / "junk.mid"), "/etc/passwd"],
    }
    for option, options in values.items():
        for value in options:
            lines.append(["generate", "--model", model, option, value, "-o", str(folder / "out.mid")])
    for target in (
        folder,
        folder / "link.mid",
        folder / "pipe.mid",
    ):
        lines.append(["generate", "--model", model, "-o", str(target)])
    lines.append(
        ["generate", "--model", model, "--from", str(folder / "link.mid"), "-o", str(folder / "o.mid")]
    )
    for value in (str(folder / "none.onnx"), str(folder), "/etc/passwd", str(folder / "pipe.mid")):
        lines.append(["info", "--model", value])
    serve_values = {
        "--port": ["-1", "70000", "x"],
        "--reply-port": ["0", "65536"],
        "--poll-seconds": ["0", "nan", "x"],
        "--host": ["8.8.8.8", "no such host name.invalid"],
        "--midi-channel": ["0", "17", "x"],
        "--bpm": ["0", "1000", "nan"],
        "--switch": ["later", ""],
        "--midi-api": ["nope", ""],
        "--clock": ["atomic", ""],
        "--allow": ["no such host name.invalid"],
        "--model": [str(folder / "none.onnx"), str(folder / "junk.mid")],
    }
    for option, options in serve_values.items():
        for value in options:
            lines.append(["serve", "--model", model, "--port", "0", option, value])
    lines += [
        ["nosuch"],
        ["generate"],
        ["serve", "--port"],
        ["info", "--model"],
        ["--verbose", "generate", "-o"],
    ]
    return lines


def test_bad_command_lines_end_with_a_clear_message_never_a_traceback(folder):
    lines = bad_command_lines(folder)
    before = sorted(os.listdir(folder))

    def too_long(signum, frame):
        raise TimeoutError("still running after 30 s: a command line that should fail did not")

    previous = signal.signal(signal.SIGALRM, too_long)
    for argv in lines:
        err = io.StringIO()
        signal.alarm(30)  # a `serve` that starts after all would serve forever
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as exit_:  # argparse's own refusals
                code = exit_.code
            finally:
                signal.alarm(0)
        text = err.getvalue()
        assert code == 2, (argv, code, text)
        assert "Traceback" not in text and text.strip(), (argv, text)
    signal.signal(signal.SIGALRM, previous)
    assert sorted(os.listdir(folder)) == before  # nothing written, nothing replaced
    print(f"\n{len(lines)} bad command lines: each exit status 2 with a message")
