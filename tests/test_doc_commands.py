"""Every command in README.md and docs/*.md is checked, so the docs stay true (issue 25).

Commands are found in fenced code blocks (lines that start with a program) and in inline code spans that
start with ``nudge`` or ``nudge-train``. Then, for each:

- ``nudge``/``nudge-train``: every ``--flag`` it names must be an option of that command (synopses too).
- It runs here when it can, in document order in a sandbox folder per document (so ``fit`` finds what the
  ``ingest`` before it wrote), with small arguments instead of hours-long ones (``SMALL``, ``EXTRA``), the
  Groove MIDI Dataset cut to a few files, and ``nudge serve`` on a free port that stops when idle.
- What cannot run here matches a ``NOT_RUNNABLE`` rule that says why. A command no rule covers fails the
  test: whoever adds a command to the docs makes it run here or names the reason.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
GMD = ROOT.parent / "shared" / "data" / "groove-midi-v1"
PROGRAMS = ("nudge", "nudge-train", "python", "python3", "bash", "torchrun", "pip")
TIMEOUT = 300

# (pattern, why it does not run here): the first that matches wins
NOT_RUNNABLE: tuple[tuple[str, str], ...] = (
    (
        r"^(python3? -m )?pip install",
        "changes this machine's Python packages (scripts/test.sh installs, as CI)",
    ),
    (r"^bash scripts/test\.sh|^python3? -m pytest", "the test suite itself"),
    (
        r"^python3? bench/",
        "a benchmark (minutes; its figures are quoted in bench/README.md); its --help runs",
    ),
    (r"^bash bench/", "the GPU check: needs a GPU machine (bench/README.md)"),
    (r"^torchrun", "several training processes or GPUs (test_distributed.py runs fit under torchrun)"),
    (
        r"^nudge-train fetch spotify",
        "calls the Spotify Web API: credentials and the internet (a local fake in tests)",
    ),
    (
        r"spotify",
        "needs the cache that 'nudge-train fetch spotify' writes (tests/training/spotify use a fake API)",
    ),
    (
        r"^nudge service (install|uninstall)",
        "installs or removes a login service here (test_service.py: --no-start)",
    ),
    (
        r"^python3? max_for_live/(build|render_preview)\.py$",
        "rewrites committed files (build.py --check runs)",
    ),
    (r"--midi|--clock", "live MIDI needs a JACK server or a DAW's ports (tests/commands/test_serve_live.py)"),
    (
        r"^nudge-train (analyze audio|render gmd|fit-beats|evaluate-audio)",
        "your audio files, or minutes of fluidsynth renders (tests/training/audio run each on small clips)",
    ),
)
# flag -> the value used here instead of the documented one
SMALL = {"--steps": "4", "--repeats": "1", "--time-limit-s": "0", "--checkpoint-every": "2", "--count": "2"}
# appended where the command lacks the flag: a tiny network, a short evaluation
EXTRA = {
    "nudge-train fit": "--batch-size 16 --g-hidden 32 --d-hidden 32 --bar-dim 8 --bar-hidden 16 "
    "--latent-dim 8 --val-rows 16 --no-progress",
    "nudge-train evaluate": "--repeats 1 --sweep-levels 3 --sweep-samples 2 --candidates 8",
    "nudge-train evaluate-lock": "--repeats 1 --candidates 8",
}
PLACEHOLDER = re.compile(r"\[|\.\.\.|\b[A-Z][A-Z_]{2,}\b|\|")  # [--seed 0], ..., MODEL.onnx, DIR, a|b


@dataclass(frozen=True)
class DocCommand:
    doc: Path
    line: int
    text: str
    inline: bool = False  # in running text: a mention ("`nudge generate --from`") unless it is complete

    def __str__(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}: {self.text}"


def doc_commands(doc: Path) -> list[DocCommand]:
    """The commands of one document, in order."""
    found: list[DocCommand] = []
    lines = doc.read_text(encoding="utf-8").splitlines()
    fenced, i = False, 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            fenced = not fenced
            i += 1
            continue
        if fenced:
            start, text = i + 1, line.strip()
            while text.endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text[:-1].rstrip() + " " + lines[i].strip()
            text = re.split(r"\s{2,}#", text)[0].strip()
            if text.split(" ", 1)[0] in PROGRAMS:
                found += [DocCommand(doc, start, part.strip()) for part in text.split(" && ")]
        else:
            for span in re.findall(r"`([^`]+)`", line):
                if span.split(" ", 1)[0] in ("nudge", "nudge-train") and " " in span.strip():
                    found += [DocCommand(doc, i + 1, part.strip(), True) for part in span.split(" && ")]
        i += 1
    return found


ALL = [command for doc in DOCS for command in doc_commands(doc)]


def why_not_runnable(text: str) -> str | None:
    for pattern, why in NOT_RUNNABLE:
        if re.search(pattern, text):
            return why
    return None


def test_the_docs_hold_commands_and_every_one_is_run_or_has_a_reason():
    assert len(ALL) > 30
    for command in ALL:
        words = command.text.split()
        runnable = words[0] in ("nudge", "nudge-train") or (
            words[0].startswith("python") and "max_for_live/build.py" in command.text
        )
        if not runnable and why_not_runnable(command.text) is None:
            pytest.fail(
                f"{command}\nneither runs here nor has a reason: add a rule to NOT_RUNNABLE (or make it run) "
                "in tests/test_doc_commands.py"
            )


def _options(prog: str, words: list[str]) -> tuple[str, set[str]]:
    """(the command's name, its option strings) from the real parser of ``nudge`` or ``nudge-train``."""
    from companion.cli import COMMANDS as NUDGE
    from companion.core.cli_base import build_parser
    from training.cli import COMMANDS as TRAIN

    table = NUDGE if prog == "nudge" else TRAIN
    argv = [w for w in words if not w.startswith("-")][:2]
    parser = build_parser(prog, "", table, argv)
    names = []
    while argv:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or argv[0] not in subs[0].choices:
            break
        parser = subs[0].choices[argv[0]]
        names.append(argv.pop(0))
    return " ".join(names), {s for a in parser._actions for s in a.option_strings}


@pytest.mark.parametrize(
    "command", [c for c in ALL if c.text.split()[0] in ("nudge", "nudge-train")], ids=str
)
def test_every_flag_a_doc_names_exists(command):
    words = shlex.split(command.text.replace("[", " ").replace("]", " "))
    name, options = _options(words[0], words[1:])
    assert name, f"{command}: no such command"
    flags = {w.split("=")[0] for w in words if re.fullmatch(r"--?[a-z][a-z0-9-]*(=.*)?", w)}
    unknown = sorted(flags - options)
    assert not unknown, f"{command}: {words[0]} {name} has no option {', '.join(unknown)}"


# ---- running them ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_gmd(tmp_path_factory) -> Path:
    """The Groove MIDI Dataset cut to a few files per split (its info.csv, LICENSE and layout kept)."""
    if not (GMD / "info.csv").is_file():
        pytest.skip(f"needs the Groove MIDI Dataset at {GMD} (../shared, as CI has it)")
    root = tmp_path_factory.mktemp("gmd") / "groove-midi-v1"
    with open(GMD / "info.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    wanted = {"train": 6, "validation": 5, "test": 5}  # evaluate needs 4 sources of each held-out split
    chosen = []
    for row in rows:
        four_four = row["time_signature"] == "4-4" and float(row["duration"]) > 30
        if four_four and wanted.get(row["split"], 0) > 0 and row["beat_type"] == "beat":
            wanted[row["split"]] -= 1
            chosen.append(row)
    chosen += [r for r in rows if r["beat_type"] == "fill" and r["time_signature"] == "4-4"][:2]
    root.mkdir(parents=True)
    for name in ("LICENSE", "README"):
        if (GMD / name).exists():
            shutil.copy(GMD / name, root / name)
    with open(root / "info.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(chosen)
    for row in chosen:
        (root / row["midi_filename"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(GMD / row["midi_filename"], root / row["midi_filename"])
    return root


def small(text: str, gmd: Path) -> list[str]:
    """The command with small arguments: SMALL values, EXTRA flags, the small GMD, a free port."""
    words = shlex.split(text.replace("../shared/data/groove-midi-v1", str(gmd)))
    for i, word in enumerate(words[:-1]):
        if word in SMALL:
            words[i + 1] = SMALL[word]
    name = " ".join(words[:2])
    for flag_text in EXTRA.get(name, "").split(" --"):
        flag = flag_text.strip().split(" ")
        flag[0] = "--" + flag[0].lstrip("-")
        if flag[0] != "--" and flag[0] not in words:
            words += flag
    if words[:2] == ["nudge", "serve"]:
        words = [w for i, w in enumerate(words) if w != "--port" and (i == 0 or words[i - 1] != "--port")]
        words += ["--port", "0", "--idle-exit-seconds", "1"]  # a free port; it stops by itself
    return words


def complete(words: list[str]) -> bool:
    """Whether ``nudge``/``nudge-train`` would accept these words as a whole command line."""
    from companion.cli import COMMANDS as NUDGE
    from companion.core.cli_base import build_parser
    from training.cli import COMMANDS as TRAIN

    if words[0] not in ("nudge", "nudge-train"):
        return True
    table = NUDGE if words[0] == "nudge" else TRAIN
    try:
        build_parser(words[0], "", table, words[1:]).parse_args(words[1:])
    except SystemExit:
        return False
    return True


def _sandbox(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    shutil.copy(ROOT / "models" / "default.onnx", tmp_path / "models" / "default.onnx")
    from tests.support.midi_files import write_midi

    write_midi(tmp_path / "clip.mid", [(b / 2, (36, 42, 38, 42)[b % 4], 90) for b in range(32)])
    write_midi(tmp_path / "other.mid", [(b / 4, (36, 42, 42, 38)[b % 4], 80) for b in range(64)])
    bass = [(b * 0.75, (40, 43, 45, 38)[b % 4], 100) for b in range(20)]  # a bassline on MIDI channel 1
    write_midi(tmp_path / "bass.mid", bass, channel=1, end_beats=16.0)
    if (ROOT / "models" / "default.tools.onnx").is_file():  # the tools graph beside the shipped model
        shutil.copy(ROOT / "models" / "default.tools.onnx", tmp_path / "models" / "default.tools.onnx")
    return tmp_path


def _run(words: list[str], cwd: Path) -> subprocess.CompletedProcess:
    program = {"nudge": ["-m", "companion.cli"], "nudge-train": ["-m", "training.cli"]}
    if words[0] in program:
        argv = [sys.executable, *program[words[0]], *words[1:]]
    elif words[0].startswith("python"):
        argv = [sys.executable, *(str(ROOT / w) if w.endswith(".py") else w for w in words[1:])]
    else:
        argv = words
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)


RUN_DOCS = sorted({c.doc for c in ALL if c.text.split()[0] in ("nudge", "nudge-train", "python", "python3")})


@pytest.mark.slow
@pytest.mark.parametrize("doc", RUN_DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_the_commands_of_each_doc_run(doc, small_gmd, tmp_path):
    sandbox, ran = _sandbox(tmp_path), []
    for command in doc_commands(doc):
        if why_not_runnable(command.text) or PLACEHOLDER.search(command.text):
            continue
        words = small(command.text, small_gmd)
        if words[0].startswith("python") and not words[1].startswith("max_for_live/build.py"):
            continue
        if command.inline and not complete(words):
            continue  # a mention of a command or option in the text (its flags are checked above)
        done = _run(words, sandbox)
        assert done.returncode == 0, (
            f"{command}\nran as: {shlex.join(words)}\n{done.stdout[-1500:]}\n{done.stderr[-3000:]}"
        )
        ran.append(command.text)
    print(f"\n{doc.relative_to(ROOT)}: ran {len(ran)} commands")


@pytest.mark.slow
def test_every_bench_the_docs_name_answers_help():
    benches = sorted({w for c in ALL for w in c.text.split() if re.fullmatch(r"bench/bench_\w+\.py", w)})
    assert benches
    for bench in benches:
        done = _run(["python", bench, "--help"], ROOT)
        assert done.returncode == 0 and "usage:" in done.stdout, f"{bench} --help: {done.stderr[-1000:]}"
