"""Figures the docs state about things a test can measure here (issue 25: docs that match)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from companion.cli import main
from companion.core.midi_file import read_drum_take

ROOT = Path(__file__).resolve().parents[1]


def test_gan_md_velocity_ranges_of_the_readme_groove(tmp_path):
    """docs/gan.md describes the README's groove.mid made with the shipped model: its numbers are measured."""
    text = (ROOT / "docs" / "gan.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(r"`nudge generate (--bars 4 --style funk [^`]*-o groove\.mid)`", readme).group(1)
    assert main(["generate", *command.replace("groove.mid", str(tmp_path / "groove.mid")).split()]) == 0
    notes = read_drum_take(tmp_path / "groove.mid").notes
    by_pitch = defaultdict(list)
    for note in notes:
        by_pitch[int(note["pitch"])].append(int(note["velocity"]))
    quiet = sum(int(n["velocity"]) < 10 for n in notes)
    stated = re.search(
        r"now (\d+) of (\d+) notes is below 10: snares (\d+)-(\d+) "
        r".*?kicks (\d+)-(\d+), closed hats (\d+)-(\d+)",
        text,
        re.DOTALL,
    )
    assert stated, "docs/gan.md no longer states the groove's velocity ranges in the form this test reads"
    measured = (quiet, len(notes), *(f(by_pitch[p]) for p in (38, 36, 42) for f in (min, max)))
    assert tuple(int(x) for x in stated.groups()) == measured


def test_one_dataset_file_is_made_by_one_ingest_command_in_all_docs():
    """Two docs that write the same dataset path must build the same dataset (voice-lock.md once built
    data/gmd_4bar.npz without --beat-type beat: 45 clips where the figures had 44)."""
    from tests.test_doc_commands import ALL, PLACEHOLDER

    made: dict[str, set[str]] = defaultdict(set)
    for command in ALL:
        match = re.match(r"nudge-train ingest \S+ .*-o (\S+)", command.text)
        if match and not PLACEHOLDER.search(command.text):  # (a synopsis names no real file)
            made[match.group(1)].add(" ".join(command.text.split()))
    assert made, "the docs show no ingest command"
    for path, commands in made.items():
        assert len(commands) == 1, f"{path} is made by different commands in the docs: {sorted(commands)}"
