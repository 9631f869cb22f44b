"""Issue 22's targets read off a tools report: each row says whether its figure meets it."""

from __future__ import annotations

from training.evaluation.tools_targets import target_rows, targets_table


def _m(mean: float, sd: float = 0.0) -> dict:
    return {"mean": mean, "sd": sd, "values": [mean]}


def _metrics(offset_overlap: float, drumify_nn: float, fill: float) -> dict:
    groove = {"hits_kept": _m(1), "velocity_overlap": _m(0.9), "offset_overlap": _m(offset_overlap)}
    groove |= {"velocity_r": _m(0.58), "offset_r": _m(0.17)}
    template = {"velocity_r": _m(0.56), "offset_r": _m(0.12)}
    humaniser = {"velocity_r": _m(0.0), "offset_r": _m(0.0)}
    return {
        "tasks": {
            "groove": {"model": groove, "groove template": template, "random humaniser": humaniser},
            "drumify": {
                "generate": {"one_nn": _m(0.76)},
                "model": {"onset_f1": _m(0.92), "one_nn": _m(drumify_nn), "copies": _m(0)},
            },
            "fill": {
                "model": {"before_unchanged": _m(1), "called_fill": _m(fill)},
                "generate (its last bar)": {"called_fill": _m(0.05)},
            },
        }
    }


def test_each_target_is_met_or_not_by_its_figure():
    rows = {(r.task, r.target): r.met for r in target_rows(_metrics(0.905, 0.96, 0.86))}
    assert rows[("Groove", "offset overlap >= 0.92")] is False
    assert rows[("Groove", "velocity overlap >= 0.88")] is True
    assert rows[("Groove", "per-clip offset r above the template's and the random humaniser's")] is True
    assert rows[("Drumify", "realism (1-NN) within 0.05 of Generate's")] is False
    assert rows[("Fill", "called a fill in >= 70 %")] is True
    good = {(r.task, r.target): r.met for r in target_rows(_metrics(0.93, 0.80, 0.6))}
    assert (
        good[("Groove", "offset overlap >= 0.92")]
        and good[("Drumify", "realism (1-NN) within 0.05 of Generate's")]
    )
    assert not good[("Fill", "called a fill in >= 70 %")]
    table = targets_table(_metrics(0.905, 0.96, 0.86))
    assert table[0] == "| task | target | figure | met |" and any("**no**" in line for line in table)
