"""``nudge drumify --from LOOP.wav``: drums that follow an audio loop, written like every tool's file (the
tracked tempo, the model's meter), and one clear line with exit code 2 for what cannot be read."""

from __future__ import annotations

import mido
import pytest

from companion.cli import main
from companion.core.midi_clip import read_midi_clip
from companion.core.pattern import Grid
from tests.support.audio import ROCK_BAR, render_loop, soundfont_or_skip, write_audio
from tests.support.midi_files import write_midi
from tests.support.tiny_onnx import write_tiny_model
from tests.support.tiny_tools import write_tiny_tools

BPM = 100.0


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    soundfont_or_skip()
    folder = tmp_path_factory.mktemp("drumify_cli")
    model = write_tiny_model(folder / "tiny.onnx", grid=Grid(4, 4, 4))
    write_tiny_tools(model)
    loop = render_loop(folder / "loop.flac", bpm=BPM, bars=4, bass=False)
    return str(model), str(loop), folder


def test_an_audio_loop_is_drumified_at_its_tempo(files, capsys):
    model, loop, folder = files
    out = folder / "drums.mid"
    args = ["drumify", "--from", loop, "--end", "7.3", "--seed", "2", "--model", model, "-o", str(out)]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "bpm from" in captured.err and "onsets" in captured.err  # what was found, as a note
    midi = mido.MidiFile(out)
    tempo = mido.tempo2bpm(next(m.tempo for m in midi.tracks[0] if m.type == "set_tempo"))
    assert tempo == pytest.approx(BPM, rel=0.02)  # the tracked tempo
    clip = read_midi_clip(out)
    assert clip.bars == 3 and len(clip.notes)  # 3 whole bars in the first 7.3 s (7.2 s at 100 BPM)
    loop_steps = {bar * 16 + step for bar in range(3) for step in ROCK_BAR}
    answer_steps = {round(s * 4) for s in clip.notes["start_beats"]}
    assert len(loop_steps & answer_steps) >= 0.75 * len(loop_steps)  # the drums follow the loop
    assert main([*args, "--force"]) == 0
    assert read_midi_clip(out).notes.tolist() == clip.notes.tolist()  # same seed, same file


@pytest.mark.parametrize(
    ("extra", "source", "match"),
    [
        (["--start", "2"], "clip.mid", "--start and --end are for an audio --from"),
        (["--start", "4", "--end", "3"], "loop", "--end (3 s) must come after --start (4 s)"),
        ([], "missing.wav", "not a file"),
        ([], "silent.wav", "silent"),
        (["--start", "9.5"], "loop", "shorter than"),
    ],
)
def test_what_cannot_be_drumified_is_one_line_and_nothing_written(files, capsys, extra, source, match):
    import numpy as np

    model, loop, folder = files
    write_midi(folder / "clip.mid", [(0.0, 36, 100), (1.0, 38, 90)], bpm=BPM, end_beats=4.0)
    write_audio(folder / "silent.wav", np.zeros(44100 * 3, dtype=np.float32))
    path = loop if source == "loop" else str(folder / source)
    out = folder / "never.mid"
    assert main(["drumify", "--from", path, *extra, "--model", model, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nudge drumify: ") and match in err[0], err
    assert not out.exists()
