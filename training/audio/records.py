"""``nudge-train analyze audio``: audio files -> cache records with source kind ``local-audio``.

One record per file, in the fetch cache's format (``training.spotify.records``), so ``ingest spotify`` and
its ``--series`` / ``--series-midi`` read it unchanged::

    {"format": "nudge-spotify-track/1", "track_id": "<stem>-<10 hex of the content's sha1>",
     "name": "<file name>", "artists": [], "source": {"kind": "local-audio", "value": "<path>"},
     "style": "<--style>", "fetched_at": "...", "audio_analysis": {...}, "audio_features": null,
     "audio_file": {"sha1": "...", "bytes": N}}

The track id is the file's name and its content's hash, so the same file gets the same id (and split)
wherever it lies. A file whose content already has a record in the cache (under any name) is not analysed
again: re-running resumes.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from training.spotify.records import record_path, write_record
from training.spotify.validate import AnalysisError, validate_analysis

SOURCE_KIND = "local-audio"
UNSAFE = re.compile(r"[^A-Za-z0-9_\-]+")
ID_HEX = 10


@dataclass
class AnalyzeSummary:
    found: int = 0
    analysed: int = 0
    cached: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> files
    examples: dict[str, list[str]] = field(default_factory=dict)
    audio_seconds: float = 0.0
    seconds: float = 0.0

    def skip(self, reason: str, example: str) -> None:
        self.skipped[reason] += 1
        self.examples.setdefault(reason, [])
        if len(self.examples[reason]) < 3:
            self.examples[reason].append(example)

    def format(self) -> str:
        lines = [
            f"files: {self.found} found, {self.analysed} analysed, {self.cached} already in the cache, "
            f"{sum(self.skipped.values())} skipped "
            f"({self.audio_seconds:.0f} s of audio in {self.seconds:.1f} s)"
        ]
        for reason, count in self.skipped.most_common():
            lines.append(f"  skipped {count:5d}  {reason}")
            lines.extend(f"           e.g. {e}" for e in self.examples[reason])
        return "\n".join(lines)


def audio_files(paths: list[str], extensions: tuple[str, ...]) -> list[Path]:
    """The audio files named or found (recursively) in folders, sorted, without hidden files."""
    found: set[Path] = set()
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found.update(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in extensions and not p.name.startswith(".")
            )
        elif path.exists():
            found.add(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return sorted(found)


def content_id(path: Path) -> tuple[str, str, int]:
    """(track id, sha1 hex, bytes) of a file: a safe stem and 10 hex digits of its content's sha1."""
    digest = hashlib.sha1()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    stem = UNSAFE.sub("_", path.stem).strip("_")[:60] or "audio"
    return f"{stem}-{digest.hexdigest()[:ID_HEX]}", digest.hexdigest(), size


def analyse_to_cache(path: Path, cache: Path, style: str, summary: AnalyzeSummary) -> str:
    """Analyse one file into the cache unless its record is there; returns what happened."""
    from companion.audio.analysis import analyse
    from companion.audio.decode import AudioError, load_audio

    try:
        track_id, sha1, size = content_id(path)
    except OSError as error:
        summary.skip("unreadable", f"{path}: {error}")
        return "skipped"
    if record_path(cache, track_id).is_file() or any(cache.glob(f"*-{sha1[:ID_HEX]}.json")):
        summary.cached += 1  # the same audio under another name counts as cached too
        return "cached"
    try:
        audio = load_audio(path)
        analysis = analyse(audio)
        validate_analysis(analysis)  # what ingest will read: never write a record it would refuse
    except (AudioError, AnalysisError) as error:
        reason = str(error).split(" (")[0].split(":")[0]
        summary.skip(reason, f"{path.name}: {error}")
        return "skipped"
    info = {
        "name": path.name,
        "artists": [],
        "source": {"kind": SOURCE_KIND, "value": str(path)},
        "style": style,
        "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "audio_file": {"sha1": sha1, "bytes": size},
    }
    write_record(cache, track_id, analysis, None, info)
    summary.analysed += 1
    summary.audio_seconds += audio.duration_s
    return "analysed"


def analyse_files(
    paths: list[Path], cache: str | os.PathLike, style: str = "", progress: bool = True
) -> AnalyzeSummary:
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    summary = AnalyzeSummary(found=len(paths))
    started = time.perf_counter()
    iterable = paths
    if progress:
        from tqdm import tqdm

        iterable = tqdm(paths, unit="file", desc="analyse")
    for path in iterable:
        analyse_to_cache(path, cache, style, summary)
    summary.seconds = time.perf_counter() - started
    return summary
