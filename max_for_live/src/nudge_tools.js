// Nudge — the tools (Groove, Drumify, Continue, Interpolate, Fill) as the device asks the daemon for them, and
// Drumify of an audio clip: the requests' atoms, the clips' names, and the checks that can fail before anything
// is sent. Pure functions: no Max, no Live (nudge_jobs reads the controls and the clips, nudge_live writes).
// A CommonJS module as Max's [js] loads it (`require("nudge_tools")`; Max knows `exports`). ES5 only.
// Wire format: docs/osc-api.md, *Tools*; tests/max_for_live/test_js_constants.py compares RULES with the
// daemon's registry (companion/osc/api.py), so a change on one side fails until the other follows.

var osc = require("nudge_osc");
var reply = require("nudge_reply");

exports.TOOLS = ["groove", "drumify", "continue", "interpolate", "fill"];  // the tool menu's entries, in order
exports.MIN_INTERPOLATE = osc.MIN_INTERPOLATE;  // patterns on a path from A to B, both ends included
exports.MAX_INTERPOLATE = osc.MAX_INTERPOLATE;

// tool -> its address, its positional arguments after the id (the registry's names), the keys it sends
// (style and seed; `conditions`: the dials too), and the short word its clips' names start with
exports.RULES = {
    groove: { address: "/nudge/groove", args: ["amount"], keys: ["style", "seed"], conditions: false, word: "groove" },
    drumify: { address: "/nudge/drumify", args: [], keys: ["style", "seed"], conditions: true, word: "drumify" },
    "continue": { address: "/nudge/continue", args: ["bars"], keys: ["style", "seed"], conditions: true,
        word: "cont" },
    interpolate: { address: "/nudge/interpolate", args: ["count", "step", "split_beats"], keys: ["seed"],
        conditions: false, word: "interp" },
    fill: { address: "/nudge/fill", args: [], keys: ["style", "seed"], conditions: false, word: "fill" }
};

var NAMED_SLIDERS = 3;  // a clip's name shows the first three sliders, as Generate's do

// The request's head: address, id, its positional arguments (values: { amount, bars, count, step, splitBeats }),
// then its key/value pairs. Sets job.name (style, sliders, seed: any result can be made again with Seed
// locked) and job.controls (the dials, for the history).
// model: { styles, conditions: [{ name, defaultValue }] }; value(name, fallback): a control's value
exports.head = function (job, values, model, savedStyle, value, bankSize) {
    var rule = exports.RULES[job.verb];
    var positional = { amount: reply.clamp01(Number(values.amount)), bars: values.bars, count: values.count,
        step: values.step, split_beats: values.splitBeats };
    var atoms = [rule.address, job.id];
    for (var a = 0; a < rule.args.length; a++) atoms.push(positional[rule.args[a]]);
    var style = model.styles.indexOf(savedStyle) >= 0 ? savedStyle : "any";
    var label = [rule.word + wordSuffix(job.verb, values)];
    if (rule.keys.indexOf("style") >= 0) {
        atoms.push("style", style);
        label.push(style);
    }
    atoms.push("seed", job.seed);
    job.controls = { nudge_seed: job.seed, nudge_bars: Number(value("nudge_bars", 4)),
        nudge_amount: Number(value("nudge_amount", 0.2)) };
    for (var i = 0; rule.conditions && i < model.conditions.length && i < bankSize; i++) {
        var c = model.conditions[i];
        var v = reply.clamp01(Number(value("nudge_cond" + (i + 1), c.defaultValue)));
        atoms.push(c.name, v);
        if (i < NAMED_SLIDERS) label.push(c.name.slice(0, 4) + Math.round(v * 100));
        job.controls["nudge_cond" + (i + 1)] = v;
    }
    job.name = label.join(" ") + " s" + job.seed;
    return atoms;
};

function wordSuffix(verb, values) {  // "groove30", "cont+2", "interp 2of5"
    if (verb === "groove") return String(Math.round(reply.clamp01(Number(values.amount)) * 100));
    if (verb === "continue") return "+" + values.bars;
    if (verb === "interpolate") return " " + values.step + "of" + values.count;
    return "";
}

// A clip's whole bars as the daemon counts them (a last bar counts when half played)
exports.clipBars = function (lengthBeats, beatsPerBar) {
    return Math.floor(lengthBeats / beatsPerBar + 0.5);
};

// Continue: the new bars to ask for -> { bars } or { error }: Bars, kept so that the clip and the new bars
// make at most MAX_BARS
exports.continueBars = function (lengthBeats, beatsPerBar, wanted) {
    var have = exports.clipBars(lengthBeats, beatsPerBar);
    var room = osc.MAX_BARS - have;
    if (room < 1) {
        return { error: "Continue makes at most " + osc.MAX_BARS + " bars: the clip has " + have +
            " already. Shorten its loop, or choose Fill." };
    }
    return { bars: Math.max(1, Math.min(room, Math.round(Number(wanted) || 1))) };
};

// Interpolate: Takes in-between patterns -> the path's count (both ends included) and the steps to ask for
exports.interpolateSteps = function (takes) {
    var between = Math.max(1, Math.min(exports.MAX_INTERPOLATE - 2, Math.round(Number(takes) || 1)));
    var steps = [];
    for (var s = 2; s <= between + 1; s++) steps.push(s);
    return { count: between + 2, steps: steps };
};

// Interpolate: clips A and B ({ lengthBeats, flat }) -> the one clip the daemon takes ({ lengthBeats,
// splitBeats, flat }: A's notes, then B's shifted by A's length; together at most MAX_BARS, the longest clip a
// request holds), or { error }
exports.pathClip = function (a, b, beatsPerBar) {
    if (Math.abs(a.lengthBeats - b.lengthBeats) > 1e-6) {
        return { error: "Interpolate needs two clips of one length: A has " + a.lengthBeats + " beats, B " +
            b.lengthBeats + ". Set both loops alike." };
    }
    if (2 * a.lengthBeats > osc.MAX_BARS * beatsPerBar + 1e-6) {
        return { error: "Interpolate takes clips of at most " + osc.MAX_BARS / 2 + " bars (A and B go to the " +
            "daemon as one clip of at most " + osc.MAX_BARS + "): shorten both loops." };
    }
    if ((a.flat.length + b.flat.length) / 4 > osc.MAX_CLIP_NOTES) {
        return { error: "A and B hold " + (a.flat.length + b.flat.length) / 4 + " notes together; the daemon " +
            "takes at most " + osc.MAX_CLIP_NOTES + " in one request." };
    }
    var flat = a.flat.slice();
    for (var i = 0; i + 3 < b.flat.length; i += 4) {
        flat.push(b.flat[i], b.flat[i + 1] + a.lengthBeats, b.flat[i + 2], b.flat[i + 3]);
    }
    return { lengthBeats: 2 * a.lengthBeats, splitBeats: a.lengthBeats, flat: flat };
};

// ------------------------------------------------------------ Drumify of an audio clip

// What the Live Object Model gives for an audio clip (nudge_live.readAudioClip: file_path, warping, looping,
// start_marker, end_marker, loop_start, loop_end, warp_markers as Live hands it, signature_numerator) ->
// { file, warped, startBeats/endBeats (warped) or startSeconds/endSeconds (unwarped), markers [[sample_time
// seconds, beat_time beats], ...] (warped), beatsPerBar }, or { error } naming what is wrong.
// The part is what the clip plays: its loop when looping, else start to end marker. Live gives a warped clip's
// markers and loop in beats and an unwarped clip's in seconds of the file.
exports.audioSource = function (lom) {
    var file = String(lom.file_path || "");
    if (!file) return { error: "The selected audio clip has no file on disk (Live gives no file_path): " +
        "freeze or consolidate it first." };
    var looping = Number(lom.looping) === 1;
    var start = Number(looping ? lom.loop_start : lom.start_marker);
    var end = Number(looping ? lom.loop_end : lom.end_marker);
    if (!(isFinite(start) && isFinite(end) && end > start && start >= 0)) {
        return { error: "The selected audio clip's start and end (" + start + ", " + end + ") are not a part to " +
            "drumify." };
    }
    var numerator = Math.round(Number(lom.signature_numerator));
    var source = { file: file, warped: Number(lom.warping) === 1,
        beatsPerBar: numerator >= 1 && numerator <= 16 ? numerator : 0 };
    if (!source.warped) {
        source.startSeconds = start;
        source.endSeconds = end;
        return source;
    }
    var markers = exports.warpMarkers(lom.warp_markers);
    if (typeof markers === "string") return { error: "The selected audio clip's warp markers " + markers + "." };
    source.startBeats = start;
    source.endBeats = end;
    source.markers = markers;
    return source;
};

// Clip.warp_markers as Live hands it (a one-element list holding the JSON text `{"warp_markers": [{sample_time,
// beat_time}, ...]}`, the text itself, or the dictionary) -> [[seconds, beats], ...], at least two, both
// rising; or what is wrong with them (a string)
exports.warpMarkers = function (raw) {
    var data = raw;
    if (Array.isArray(data)) data = data.length === 1 ? data[0] : data.join(" ");
    if (typeof data === "string") {
        try {
            data = JSON.parse(data);
        } catch (e) {
            return "could not be read";
        }
    }
    var list = data && Array.isArray(data.warp_markers) ? data.warp_markers : null;
    if (!list || list.length < 2) return "are missing (Live needs Live 11 or newer to give them; at least two)";
    var out = [];
    for (var i = 0; i < list.length; i++) {
        var s = Number(list[i].sample_time), b = Number(list[i].beat_time);
        if (!isFinite(s) || !isFinite(b)) return "hold a number that is not finite";
        if (i > 0 && !(s > out[i - 1][0] && b > out[i - 1][1])) return "do not rise from marker to marker";
        out.push([s, b]);
    }
    return out;
};

// The audio Drumify request (docs/osc-api.md, *Drumify an audio clip*): /nudge/drumify with Drumify's pairs
// (style, seed, the dials), then `audio path`, `beats_per_bar n` when the clip's meter is one the daemon takes
// (2..7), and either the warped part `audio_start_beats b audio_end_beats e` followed by the marker `warp`
// and the (sample_time, beat_time) pairs to the end of the message, or the unwarped part `audio_start_s s
// audio_end_s e`. The daemon reads the file (its machine's path), finds the onsets and drumifies them.
exports.AUDIO_DRUMIFY = "/nudge/drumify";

exports.audioMessage = function (head, source) {
    var atoms = [exports.AUDIO_DRUMIFY].concat(head.slice(1), ["audio", source.file]);
    var n = source.beatsPerBar;
    if (n >= osc.MIN_AUDIO_BEATS_PER_BAR && n <= osc.MAX_AUDIO_BEATS_PER_BAR) atoms.push("beats_per_bar", n);
    if (!source.warped) return atoms.concat(["audio_start_s", source.startSeconds, "audio_end_s", source.endSeconds]);
    atoms.push("audio_start_beats", source.startBeats, "audio_end_beats", source.endBeats, "warp");
    for (var i = 0; i < source.markers.length; i++) atoms.push(source.markers[i][0], source.markers[i][1]);
    return atoms;
};
