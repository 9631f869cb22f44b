// Nudge — Live 12 MIDI Tools: what the Generator and the Transformation send to the daemon and hand back to
// Live, and the apply cycle that answers inside Live's apply. Pure functions: no Max, no Live, no clock.
// A CommonJS module as Max's [js] loads it (`require("nudge_miditool")`; Max knows `exports`). ES5 only.
//
// [live.miditool.in] (Live 12, Max 8.6+) hands out, for each apply, a notes dictionary `{ notes: [...] }`
// in Clip.get_notes_extended's format (note_id, pitch, start_time, duration, velocity as a float, mute, ...;
// a Generator gets no notes) and a context dictionary `{ clip: { time_selection_start, time_selection_end,
// insert_marker_time?, first_note_start, last_note_end, lowest_pitch, highest_pitch }, scale: {...},
// grid: { interval, enabled } }`, times in beats. [live.miditool.out] takes `{ notes: [...] }` and puts those
// notes in place of the tool's input: the time selection's notes for a Generator (Live's manual: "generated
// notes will replace the existing notes"), the selected notes for a Transformation.
//
// The apply cycle (h1data/M4L-MIDI-tool-examples, memo/README.md): [live.miditool.out] must get a dictionary
// while Live's apply runs ("Did not receive a Note dictionary in time" otherwise), one that comes later is
// refused ("Received a Note dictionary asynchronously"), and messages from outside (their example: Node for
// Max) cannot start an apply. The daemon answers over UDP, later. So every apply answers at once: with the
// result kept for exactly this input and these dials when there is one, else with the input as it is (the
// Transformation) or the clip's own notes there (the Generator), so nothing changes yet; and it asks the
// daemon for that input in the background, one request at a time (the newest input waits, older ones are
// dropped). When the result comes the tool bangs [live.miditool.in] to apply again; should Live refuse that
// bang, the result is kept, and the producer's next Apply or dial move hands it out.

var osc = require("nudge_osc");
var MAX_BARS = osc.MAX_BARS;
var KEPT_RESULTS = 8;  // results kept for recent inputs (turning a dial back finds its result at once)

// context -> the selection on the clip's bar grid: { startBeats, endBeats (what the tool works on), barStart (the
// bar line at or before it), bars (whole bars from there covering it, 1..8), windowBeats (bars x beatsPerBar) },
// or { error }. Without a time range, the selected notes' span.
exports.selection = function (context, beatsPerBar) {
    var clip = (context && context.clip) || {};
    var start = Number(clip.time_selection_start);
    var end = Number(clip.time_selection_end);
    if (!(end > start)) {  // no time range selected: the selected notes' span
        start = Number(clip.first_note_start);
        end = Number(clip.last_note_end);
    }
    if (!(isFinite(start) && isFinite(end) && end > start)) {
        return { error: "Select a time range in the clip first (drag over the beats to fill)." };
    }
    var bpb = beatsPerBar > 0 ? beatsPerBar : 4;
    var barStart = Math.floor(start / bpb + 1e-9) * bpb;
    var bars = Math.max(1, Math.min(MAX_BARS, Math.ceil((end - barStart) / bpb - 1e-9)));
    return { startBeats: start, endBeats: end, barStart: barStart, bars: bars, windowBeats: bars * bpb };
};

// the Transformation's input notes -> [length_beats, pitch, start, duration, velocity, ...] of the clip
// /nudge/vary sends: the unmuted notes inside the selection, from its bar line (so beat 1 of a bar is the
// daemon's beat 0); muted notes and notes outside are left out (and left alone: see merge())
exports.clipNotes = function (notes, sel) {
    var flat = [];
    for (var i = 0; i < notes.length; i++) {
        var n = notes[i];
        var t = Number(n.start_time);
        if (n.mute || t < sel.startBeats || t >= sel.endBeats || t - sel.barStart >= sel.windowBeats) continue;
        flat.push(Number(n.pitch), t - sel.barStart, Number(n.duration), velocity(n.velocity));
    }
    return flat;
};

function velocity(v) {  // Live's float velocity -> the daemon's int 1..127
    return Math.max(1, Math.min(127, Math.round(Number(v))));
}

// request messages: a Generator's /nudge/generate of the window's bars; a Transformation's /nudge/vary of
// the window, in /nudge/vary/part messages ahead when it is too long for one datagram (as the device does)
exports.generateMessages = function (id, sel, pairs) {
    return [["/nudge/generate", id, "bars", sel.bars].concat(pairs)];
};

exports.varyMessages = function (id, amount, notes, sel, pairs) {
    var head = ["/nudge/vary", id, amount].concat(pairs);
    return osc.varyMessages(id, head, sel.windowBeats, exports.clipNotes(notes, sel));
};

// The Transformations (the Transform panel) -> what each asks the daemon: its address and the settings that are
// its positional arguments (the registry's names; the other settings go as key/value pairs: seed, the sliders).
// "transformation" is Nudge Transform (a nudge by Amount); the others are issue 22's tools.
exports.TRANSFORMS = {
    transformation: { address: "/nudge/vary", args: ["amount"] },
    groove: { address: "/nudge/groove", args: ["amount"] },
    drumify: { address: "/nudge/drumify", args: [] },
    "continue": { address: "/nudge/continue", args: ["bars"] },
    fill: { address: "/nudge/fill", args: [] }
};

// a Transformation's request: the selection's notes from its bar line, in /nudge/vary/part messages ahead when
// too long for one datagram (as the device does); settings: { amount | bars, seed, sliders... }
exports.transformMessages = function (kind, id, settings, notes, sel) {
    var rule = exports.TRANSFORMS[kind];
    var head = [rule.address, id];
    for (var a = 0; a < rule.args.length; a++) head.push(settings[rule.args[a]]);
    for (var k in settings) if (rule.args.indexOf(k) < 0) head.push(k, settings[k]);
    return osc.varyMessages(id, head, sel.windowBeats, exports.clipNotes(notes, sel));
};

// Continue needs room: the selection's bars and the new ones make at most MAX_BARS -> sel, or { error }
exports.continueRoom = function (sel, bars) {
    if (sel.error || sel.bars + bars <= MAX_BARS) return sel;
    return { error: "Continue makes at most " + MAX_BARS + " bars: select at most " + (MAX_BARS - bars) +
        " bars, or lower Bars." };
};

// where a reply longer than the window goes (Continue's new bars): the selection carried on past its end
exports.resultSelection = function (sel, lengthBeats) {
    if (!(lengthBeats > sel.windowBeats + 1e-9)) return sel;
    return { startBeats: sel.startBeats, endBeats: sel.barStart + lengthBeats, barStart: sel.barStart,
        bars: sel.bars, windowBeats: lengthBeats };
};

// the daemon's notes ({ pitch, start_time, duration, velocity } from the bar line) -> what
// [live.miditool.out] takes: placed from the bar line, repeated over a selection longer than the window
// (a Generator over more than 8 bars), kept to the selection, a note cropped at its end
exports.toolNotes = function (notes, sel) {
    var out = [];
    for (var offset = 0; sel.barStart + offset < sel.endBeats; offset += sel.windowBeats) {
        for (var i = 0; i < notes.length; i++) {
            var n = notes[i];
            var t = sel.barStart + offset + Number(n.start_time);
            if (Number(n.start_time) < 0 || Number(n.start_time) >= sel.windowBeats) continue;
            if (t < sel.startBeats || t >= sel.endBeats) continue;
            out.push({ pitch: Number(n.pitch), start_time: t, duration: Math.min(Number(n.duration), sel.endBeats - t),
                velocity: Number(n.velocity), mute: 0 });
        }
    }
    return { notes: out };
};

// a Transformation hands back every input note it does not replace: the muted ones and those outside the
// selection or the window stay as they were (without their note_id, which live.miditool.out does not take)
exports.merge = function (result, input, sel) {
    var kept = [];
    for (var i = 0; i < input.length; i++) {
        var n = input[i];
        var t = Number(n.start_time);
        if (n.mute || t < sel.startBeats || t >= sel.endBeats || t - sel.barStart >= sel.windowBeats) kept.push(plain(n));
    }
    return { notes: result.notes.concat(kept) };
};

function plain(n) {  // a note without its note_id
    var copy = {};
    for (var k in n) if (k !== "note_id") copy[k] = n[k];
    return copy;
}

exports.unchanged = function (notes) {  // the input as it is: an answer that changes nothing
    var out = [];
    for (var i = 0; i < notes.length; i++) out.push(plain(notes[i]));
    return { notes: out };
};

// what identifies one apply's input: the kind, the notes (without their ids, which Live may give anew),
// the selection and the dials
exports.inputKey = function (kind, notes, sel, settings) {
    var shape = [];
    for (var i = 0; i < notes.length; i++) {
        var n = notes[i];
        shape.push([n.pitch, n.start_time, n.duration, Math.round(Number(n.velocity)), n.mute ? 1 : 0]);
    }
    return JSON.stringify([kind, shape, sel, settings]);
};

// ------------------------------------------------------------ the apply cycle

exports.makeCycle = function () {
    return { current: null, results: [], inFlight: null, queued: null };
};

// an apply with input `key` -> { out: dict } when its result is kept (handed out now), else { out: null }
// (answer with the input unchanged: the result is being asked for)
exports.onApply = function (cycle, key) {
    cycle.current = key;
    for (var i = 0; i < cycle.results.length; i++) if (cycle.results[i].key === key) return { out: cycle.results[i].dict };
    return { out: null };
};

// the tool wants the result for `key`; request: what to send (kept until it can go) -> the request to send now,
// or null (already asked, or one is on its way: this one waits, replacing any that waited before)
exports.want = function (cycle, key, request) {
    if (cycle.inFlight && cycle.inFlight.key === key) return null;
    for (var i = 0; i < cycle.results.length; i++) if (cycle.results[i].key === key) return null;
    if (cycle.inFlight) {
        cycle.queued = { key: key, request: request };
        return null;
    }
    cycle.inFlight = { key: key, id: request.id };
    return request;
};

// the reply to request `id` is complete -> { apply: true when it is for the input Live shows now (bang
// [live.miditool.in]), next: the request that waited (send it), or null }
exports.answered = function (cycle, id, dict) {
    if (!cycle.inFlight || cycle.inFlight.id !== id) return { apply: false, next: null };
    var key = cycle.inFlight.key;
    cycle.results.unshift({ key: key, dict: dict });
    cycle.results = cycle.results.slice(0, KEPT_RESULTS);
    cycle.inFlight = null;
    return { apply: key === cycle.current, next: takeQueued(cycle) };
};

// request `id` failed or timed out -> the request that waited, or null
exports.failed = function (cycle, id) {
    if (!cycle.inFlight || cycle.inFlight.id !== id) return null;
    cycle.inFlight = null;
    return takeQueued(cycle);
};

function takeQueued(cycle) {
    var q = cycle.queued;
    cycle.queued = null;
    if (!q) return null;
    cycle.inFlight = { key: q.key, id: q.request.id };
    return q.request;
}
