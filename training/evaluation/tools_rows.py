"""The five tasks of ``nudge-train evaluate-tools``, each with its rows (the model, its baselines, the real
drummer where it makes sense); one repeat at a time. Definitions: ``docs/evaluation.md``, *Tools*."""

from __future__ import annotations

import time

import numpy as np

from companion.core.descriptors import DESCRIPTOR_INDEX
from companion.core.pattern import HIT, Pattern
from companion.runtime import candidates, engine, interpolate, tools
from companion.runtime.search_request import SearchRequest
from training.evaluation import metrics
from training.evaluation.fill_classifier import last_bars
from training.evaluation.sampling import draw_requests
from training.evaluation.tools_context import Context, hits_of, realism
from training.evaluation.tools_groove import groove_rows


class Tasks:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.grid = ctx.model.meta.grid
        self.train_hits = hits_of(ctx.train.patterns)  # [M, V, T]
        self.train_onsets: np.ndarray = np.asarray(self.train_hits.any(axis=1))  # [M, T]: nearest-onset index
        self.seconds: dict[str, float] = {}

    def run_all(self, clips: np.ndarray, reference: np.ndarray) -> None:
        generated = self.timed("generate", self.generate, len(clips))
        one_nn, frechet = realism(generated, reference, self.grid)
        for task in ("drumify", "continue", "interpolate"):
            self.ctx.result.add(task, "generate", "one_nn", one_nn)
            self.ctx.result.add(task, "generate", "frechet", frechet)
        self.ctx.result.examples.setdefault("generate", {})["generate"] = generated[:4]
        self.timed("groove", groove_rows, self, clips)
        self.timed("drumify", self.drumify, clips, reference)
        self.timed("continue", self.continue_rows, clips, reference)
        self.timed("interpolate", self.interpolate_rows, clips, reference)
        self.timed("fill", self.fill_rows, clips, generated)

    def timed(self, name: str, function, *args):
        started = time.perf_counter()
        out = function(*args)
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
        return out

    def pattern(self, array: np.ndarray) -> Pattern:
        return Pattern.from_array(array, self.grid, 0.5)

    # ---- Generate: the realism every other task is held to ---------------------------------------------
    def generate(self, n: int) -> np.ndarray:
        """``n`` patterns of the served Generate (``engine.generate``), sliders and styles of train rows."""
        ctx, meta = self.ctx, self.ctx.model.meta
        requests = draw_requests(ctx.train, meta, n, ctx.rngs["requests"])
        out = []
        styles = [None] * n if requests.style is None else [meta.styles[s] for s in requests.style]
        for cond, style, seed in zip(requests.cond, styles, ctx.seeds(n), strict=True):
            sliders = dict(zip(meta.condition_names, map(float, cond), strict=True))
            request = SearchRequest.of(
                meta,
                seed=int(seed),
                sliders=sliders,
                style=style,
                candidates=ctx.config.candidates,
            )
            out.append(engine.generate(ctx.model, request).to_array())
        return np.stack(out)

    # ---- Drumify -------------------------------------------------------------------------------------------
    def drumify(self, clips: np.ndarray, reference: np.ndarray) -> None:
        ctx = self.ctx
        rhythms = [tools.rhythm_of(self.pattern(c)) for c in clips]
        onsets = np.stack([r.onsets for r in rhythms])  # [N, T]
        rows = {"real (the drummer)": clips, "nearest-onset train window": self.nearest_onsets(onsets)}
        seeds = ctx.seeds(len(clips))
        for name, model in (("model", ctx.model), ("search (plain generator)", ctx.plain)):
            if model is None or (name == "model" and model.tools is None):
                continue
            out = [
                tools.drumify(model, r, {}, seed=int(s), n_candidates=ctx.config.candidates)
                for r, s in zip(rhythms, seeds, strict=True)
            ]
            rows[name] = np.stack([p.to_array() for p in out])
        for name, patterns in rows.items():
            played = hits_of(patterns).any(axis=1)
            f1 = 2 * (played & onsets).sum(1) / np.maximum(played.sum(1) + onsets.sum(1), 1)
            one_nn, frechet = realism(patterns, reference, self.grid)
            ctx.result.add("drumify", name, "onset_f1", float(f1.mean()))
            ctx.result.add("drumify", name, "one_nn", one_nn)
            ctx.result.add("drumify", name, "frechet", frechet)
            ctx.result.add(
                "drumify", name, "copies", metrics.count_exact_copies(hits_of(patterns), self.train_hits)
            )
            ctx.result.add(
                "drumify", name, "hits_per_bar", hits_of(patterns).sum(axis=(1, 2)).mean() / self.grid.bars
            )
        ctx.result.examples["drumify"] = {name: p[:4] for name, p in rows.items()}

    def nearest_onsets(self, onsets: np.ndarray) -> np.ndarray:
        """For each rhythm [T] the train window whose merged onsets are nearest (Hamming; ties at random)."""
        train = self.train_onsets.astype(np.float32)  # [M, T]
        order = self.ctx.rngs["baselines"].permutation(len(train))
        train = train[order]  # [M, T]
        counts = train.sum(axis=1)  # [M]
        q = onsets.astype(np.float32)
        distance = q.sum(axis=1)[:, None] + counts[None] - 2 * q @ train.T  # [N, M]
        return self.ctx.train.patterns[order[distance.argmin(axis=1)]]

    # ---- Continue ------------------------------------------------------------------------------------------
    def continue_rows(self, clips: np.ndarray, reference: np.ndarray) -> None:
        ctx, half = self.ctx, self.grid.bars // 2  # bars 1-2 of the 4 given, bars 3-4 to continue
        cut = half * self.grid.steps_per_bar
        given = clips[..., :cut]
        inputs = [Pattern.from_array(g, self.grid.with_bars(half), 0.5) for g in given]
        seeds = ctx.seeds(len(clips))
        rows = {"real (the drummer)": clips, "repeat bars 1-2": np.concatenate([given, given], axis=-1)}
        rows["generate (its bars 3-4)"] = np.concatenate(
            [given, self.unconditioned(inputs)[..., cut:]], axis=-1
        )
        for name, model in (("model", ctx.model), ("search (plain generator)", ctx.plain)):
            if model is None or (name == "model" and model.tools is None):
                continue
            out = [
                tools.continue_pattern(
                    model, c, self.grid.bars - half, {}, seed=int(s), n_candidates=ctx.config.candidates
                )
                for c, s in zip(inputs, seeds, strict=True)
            ]
            rows[name] = np.stack([p.to_array() for p in out])
        truth = hits_of(clips)[..., cut:]
        for name, patterns in rows.items():
            hits = hits_of(patterns)
            unchanged = np.all(patterns[..., :cut] == given, axis=(1, 2, 3))
            new = hits[..., cut:]
            one_nn, frechet = realism(patterns, reference, self.grid)
            add = lambda figure, value, n=name: ctx.result.add("continue", n, figure, value)  # noqa: E731
            add("input_unchanged", float(unchanged.mean()))
            add("hamming_to_truth", float((new != truth).sum(axis=(1, 2)).mean()))
            add(
                "not_a_copy",
                float(np.mean([not np.array_equal(a, b) for a, b in zip(new, hits[..., :cut], strict=True)])),
            )
            add("one_nn", one_nn)
            add("frechet", frechet)
        ctx.result.examples["continue"] = {name: p[:4] for name, p in rows.items()}

    def unconditioned(self, inputs: list[Pattern]) -> np.ndarray:
        """Generate under each input's own measured sliders (its two bars looped) and any style."""
        ctx, meta = self.ctx, self.ctx.model.meta
        out = []
        for clip, seed in zip(inputs, ctx.seeds(len(inputs)), strict=True):
            looped = candidates.fit_clip(clip, meta.bars)
            cond = candidates.vary_conditions(ctx.model, looped, {})
            sliders = {n: float(cond[i]) for i, n in enumerate(meta.condition_names) if n in DESCRIPTOR_INDEX}
            request = SearchRequest.of(
                meta, seed=int(seed), sliders=sliders, candidates=ctx.config.candidates
            )
            out.append(engine.generate(ctx.model, request).to_array())
        return np.stack(out)

    # ---- Interpolate ---------------------------------------------------------------------------------------
    def interpolate_rows(self, clips: np.ndarray, reference: np.ndarray) -> None:
        ctx, count = self.ctx, self.ctx.config.count
        partner = np.roll(np.arange(len(clips)), 1 + int(ctx.rngs["pairs"].integers(0, len(clips) - 1)))
        seeds = ctx.seeds(len(clips))
        rows: dict[str, list[np.ndarray]] = {"model": [], "random order": []}
        for i, j in enumerate(partner):
            a, b = self.pattern(clips[i]), self.pattern(clips[j])
            path = interpolate.interpolate(
                ctx.model, a, b, count, seed=int(seeds[i]), n_candidates=ctx.config.candidates
            )
            rows["model"].append(np.stack([p.to_array() for p in path]))
            rows["random order"].append(self.random_path(a, b, count))
        for name, paths in rows.items():
            stacked = np.stack(paths)  # [N, K, 3, V, T]
            hits = stacked[:, :, HIT] > 0.5
            to_a = (hits != hits[:, :1]).sum(axis=(2, 3))  # [N, K]
            to_b = (hits != hits[:, -1:]).sum(axis=(2, 3))
            total = np.maximum(to_a[:, -1], 1)
            steps = (hits[:, 1:] != hits[:, :-1]).sum(axis=(2, 3)) / total[:, None]  # [N, K-1]
            monotone = (np.diff(to_a, axis=1) >= 0) & (np.diff(to_b, axis=1) <= 0)
            add = lambda figure, value, n=name: ctx.result.add("interpolate", n, figure, value)  # noqa: E731
            add("monotone_steps", float(monotone.mean()))
            add(
                "ends_within_15", float(np.mean((to_a[:, 0] <= 0.15 * total) & (to_b[:, -1] <= 0.15 * total)))
            )
            add("largest_step", float(steps.max(axis=1).mean()))
            add("steps_within_half", float((steps <= 0.5).mean()))
            for k in range(1, count - 1):
                add(f"one_nn_step{k + 1}", realism(stacked[:, k], reference, self.grid)[0])
        ctx.result.examples["interpolate"] = {name: np.stack(paths[:2]) for name, paths in rows.items()}

    def random_path(self, a: Pattern, b: Pattern, count: int) -> np.ndarray:
        """The same crossfade in a random order (no generator): what the generator's order is worth."""
        differ = np.flatnonzero((a.hits ^ b.hits).ravel())
        order = self.ctx.rngs["baselines"].permutation(differ)
        out = []
        for t in np.linspace(0, 1, count):
            flat_hits = a.hits.ravel().copy()  # [V*T]
            chosen = order[: int(np.rint(t * len(order)))]
            flat_hits[chosen] = b.hits.ravel()[chosen]
            hits = flat_hits.reshape(a.hits.shape)  # [V, T]
            velocity = np.where(a.hits, a.velocities, b.velocities)
            offset = np.where(a.hits, a.offsets_steps, b.offsets_steps)
            out.append(np.stack([hits, velocity * hits, offset * hits]).astype(np.float32))
        return np.stack(out)

    # ---- Fill ---------------------------------------------------------------------------------------------
    def fill_rows(self, clips: np.ndarray, generated: np.ndarray) -> None:
        ctx, spb = self.ctx, self.grid.steps_per_bar
        rows = {"real beats (their last bar)": clips, "generate (its last bar)": generated}
        if ctx.model.tools is not None and "fill" in ctx.model.tools.meta.tasks:
            seeds = ctx.seeds(len(clips))
            out = [
                tools.fill(ctx.model, self.pattern(c), {}, seed=int(s), n_candidates=ctx.config.candidates)
                for c, s in zip(clips, seeds, strict=True)
            ]
            rows["model"] = np.stack([p.to_array() for p in out])
        for name, patterns in rows.items():
            unchanged = np.all(patterns[..., :-spb] == clips[..., :-spb], axis=(1, 2, 3))
            ctx.result.add("fill", name, "before_unchanged", float(unchanged.mean()))
            ctx.result.add(
                "fill", name, "called_fill", float(ctx.classifier.is_fill(last_bars(patterns, spb)).mean())
            )
        ctx.result.examples["fill"] = {name: p[:4] for name, p in rows.items()}
