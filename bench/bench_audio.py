"""Time ``nudge-train analyze audio``'s analysis of one minute of audio, as a ratio to decoding alone.

    python bench/bench_audio.py [FILE ...] [--repeats 5]

Audio: the files given, else one minute made of two rendered GMD test clips (``render gmd``, needs
fluidsynth and the shared data). Baseline, measured in the same run: decoding alone
(``companion.audio.decode.load_audio``: libsndfile + resampling to 22.05 kHz mono), the least any
analysis must do. Measured: decode + the whole Spotify-shaped analysis (``companion.audio.analysis``)

- warm: in this process, after one analysis (median of ``--repeats``), against decoding alone here;
- cold: in a fresh Python process each time, imports and the ONNX session included (what a one-off
  ``nudge drumify --from loop.wav`` pays), against a fresh process that only imports and decodes (median
  of ``--cold-repeats``); the line says whether librosa or numba got imported (they must not: their
  compilation cost 20-30 s here before ``companion/audio/dsp.py`` replaced them).

Target: one minute analysed in <= 5 s on the 2-core machine, warm and cold.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GMD = ROOT.parent / "shared" / "data" / "groove-midi-v1"
TARGET_S_PER_MINUTE = 5.0


def one_minute(folder: Path) -> Path:
    import numpy as np
    import soundfile

    from training.audio.render import choose_clips, find_soundfont, render_clip

    soundfont = find_soundfont()
    parts = []
    for spec in choose_clips(GMD, "test", 2, 31.0, seed=7):
        wav, _ = render_clip(spec, GMD, folder, soundfont)
        audio, rate = soundfile.read(wav, always_2d=True)
        parts.append(audio)
    audio = np.concatenate(parts)[: 60 * rate]
    target = folder / "minute.wav"
    soundfile.write(target, audio, rate, subtype="PCM_16")
    return target


# a fresh process: the imports, then the work, timed from the first import
DECODE_CODE = (
    "import sys, time; t = time.perf_counter()\n"
    "from companion.audio.decode import load_audio\n"
    "load_audio(sys.argv[1]); print(time.perf_counter() - t)\n"
)
ANALYSE_CODE = (
    "import sys, time; t = time.perf_counter()\n"
    "from companion.audio.analysis import analyse\nfrom companion.audio.decode import load_audio\n"
    "analyse(load_audio(sys.argv[1])); print(time.perf_counter() - t)\n"
    "print(' '.join(m for m in ('librosa', 'numba') if m in sys.modules))\n"
)


def _fresh(code: str, path: Path, modules: bool = False):
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=ROOT, check=True
    )
    lines = [*result.stdout.splitlines(), ""]
    seconds = float(lines[0])
    return (seconds, set(lines[1].split())) if modules else seconds


def _time(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cold-repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nudge-bench-audio-") as scratch:
        files = args.files or [one_minute(Path(scratch))]
        cold_decode = statistics.median(_fresh(DECODE_CODE, files[0]) for _ in range(args.cold_repeats))
        cold_runs = [_fresh(ANALYSE_CODE, files[0], modules=True) for _ in range(args.cold_repeats)]
        cold = statistics.median(t for t, _ in cold_runs)
        heavy = sorted(set().union(*(m for _, m in cold_runs)))
        from companion.audio.analysis import analyse
        from companion.audio.decode import load_audio

        analyse(load_audio(files[0]))  # warm: imports, numba, the ONNX session
        print(f"{'file':32s} {'minutes':>7s} {'decode s':>9s} {'analyse s':>10s} {'ratio':>6s} {'s/min':>6s}")
        for path in files:
            minutes = load_audio(path).duration_s / 60.0
            decode = _time(lambda p=path: load_audio(p), args.repeats)
            full = _time(lambda p=path: analyse(load_audio(p)), args.repeats)
            per_minute = full / minutes
            verdict = "met" if per_minute <= TARGET_S_PER_MINUTE else "MISSED"
            print(
                f"{path.name[:32]:32s} {minutes:7.2f} {decode:9.3f} {full:10.3f} {full / decode:6.1f} "
                f"{per_minute:6.2f}  target <= {TARGET_S_PER_MINUTE:g} s/min: {verdict}"
            )
        minutes = load_audio(files[0]).duration_s / 60.0
        verdict = "met" if cold / minutes <= TARGET_S_PER_MINUTE else "MISSED"
        print(
            f"cold, fresh process, {files[0].name[:24]}: decode {cold_decode:.2f} s, analyse {cold:.2f} s, "
            f"ratio {cold / cold_decode:.1f}, {cold / minutes:.2f} s/min  target <= "
            f"{TARGET_S_PER_MINUTE:g} s/min: {verdict}; librosa/numba imported: {', '.join(heavy) or 'no'}"
        )


if __name__ == "__main__":
    main()
