"""Hand-made Spotify audio-analysis payloads (the API's JSON shape) with known beat, bar and tatum times."""

from __future__ import annotations

from collections.abc import Sequence


def make_analysis(
    bpm: float = 120.0,
    beats_per_bar: int = 4,
    n_bars: int = 8,
    tatums_per_beat: int = 4,
    first_beat_s: float = 0.5,
    segments: Sequence[tuple[float, float, float]] = (),
    section_starts_s: Sequence[float] = (0.0,),
    time_signature: int | None = 4,
    confidence: float = 0.8,
) -> dict:
    """An analysis of a steady track. ``segments``: (start_s, loudness_max_db, brightness) each."""
    beat_s = 60.0 / bpm
    n_beats = beats_per_bar * n_bars
    beats = [
        {"start": round(first_beat_s + i * beat_s, 6), "duration": beat_s, "confidence": 0.5}
        for i in range(n_beats)
    ]
    bars = [
        {"start": beats[i]["start"], "duration": beat_s * beats_per_bar, "confidence": 0.4}
        for i in range(0, n_beats, beats_per_bar)
    ]
    tatum_s = beat_s / tatums_per_beat
    tatums = [
        {"start": round(first_beat_s + i * tatum_s, 6), "duration": tatum_s, "confidence": 0.3}
        for i in range(n_beats * tatums_per_beat)
    ]
    end = first_beat_s + n_beats * beat_s
    section_ends = [*section_starts_s[1:], end]
    sections = [
        {
            "start": s,
            "duration": e - s,
            "confidence": 1.0,
            "loudness": -10.0,
            "tempo": bpm,
            "tempo_confidence": 0.5,
            "key": 0,
            "key_confidence": 0.5,
            "mode": 1,
            "mode_confidence": 0.5,
            "time_signature": beats_per_bar,
            "time_signature_confidence": 1.0,
        }
        for s, e in zip(section_starts_s, section_ends, strict=True)
    ]
    segment_items = []
    for start, loudness, brightness in segments:
        segment_items.append(
            {
                "start": start,
                "duration": 0.1,
                "confidence": confidence,
                "loudness_start": loudness - 10.0,
                "loudness_max_time": 0.02,
                "loudness_max": loudness,
                "pitches": [0.5] * 12,
                "timbre": [40.0, brightness, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            }
        )
    track = {
        "duration": end + 0.5,
        "loudness": -8.0,
        "tempo": bpm,
        "tempo_confidence": 0.9,
        "time_signature": time_signature,
        "time_signature_confidence": 1.0,
        "key": 0,
        "mode": 1,
    }
    return {
        "meta": {"analyzer_version": "4.0.0", "status_code": 0, "detailed_status": "OK"},
        "track": track,
        "bars": bars,
        "beats": beats,
        "tatums": tatums,
        "sections": sections,
        "segments": segment_items,
    }


def four_on_the_floor(bpm: float = 120.0, n_bars: int = 8, first_beat_s: float = 0.5, **kwargs) -> dict:
    """Dark loud hits on every beat, bright quieter ones on every off-beat 8th."""
    beat_s = 60.0 / bpm
    segments = []
    for i in range(n_bars * 4):
        segments.append((first_beat_s + i * beat_s, -6.0, -100.0))
        segments.append((first_beat_s + (i + 0.5) * beat_s, -12.0, 100.0))
    return make_analysis(bpm=bpm, n_bars=n_bars, first_beat_s=first_beat_s, segments=segments, **kwargs)


def features(
    track_id: str, danceability: float = 0.8, energy: float = 0.7, valence: float = 0.4, tempo: float = 120.0
) -> dict:
    return {
        "id": track_id,
        "type": "audio_features",
        "danceability": danceability,
        "energy": energy,
        "valence": valence,
        "tempo": tempo,
        "time_signature": 4,
        "key": 0,
        "mode": 1,
    }
