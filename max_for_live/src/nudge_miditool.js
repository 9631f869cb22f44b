// Nudge — Live 12 MIDI Tools: what the Generator and the Transformation send to the daemon and hand back to
// Live, and the apply cycle that waits for the daemon's answer. Pure functions: no Max, no Live, no clock.
// A CommonJS module as Max's [js] loads it (`require("nudge_miditool")`; Max knows `exports`). ES5 only.
//
// [live.miditool.in] (Live 12, Max 8.6+) hands out, for each apply, a notes dictionary `{ notes: [...] }`
// in Clip.get_notes_extended's format (note_id, pitch, start_time, duration, velocity as a float, mute,
// probability, velocity_deviation, release_velocity; a Generator gets no notes) and a context dictionary
// `{ clip: { time_selection_start, time_selection_end, insert_marker_time?, first_note_start, last_note_end,
// lowest_pitch, highest_pitch }, scale: {...}, grid: { interval, enabled } }`, times in beats.
// [live.miditool.out] takes `{ notes: [...] }` (no note_id needed) and puts those notes in place of the
// tool's input: the time selection's notes for a Generator, the selected notes for a Transformation.
//
// The daemon answers over UDP, after the apply has been handed out. So an apply runs twice: the first pass
// sends the request and outputs nothing; when the reply is complete the tool bangs [live.miditool.in]
// again, which continues the same apply cycle with the same notes and context, and this second pass
// outputs the result kept for exactly that input (cycle() below).

var MAX_BARS = 8;

// context -> { startBeats, lengthBeats } of what the tool works on, or { error }
exports.selection = function (context) {
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
    return { startBeats: start, lengthBeats: end - start };
};

// bars for a Generator: the selection rounded up to whole bars, 1..8 (the daemon's range)
exports.barsFor = function (sel, beatsPerBar) {
    var bars = Math.ceil(sel.lengthBeats / beatsPerBar - 1e-9);
    return Math.max(1, Math.min(MAX_BARS, bars));
};

// the Transformation's input notes -> the clip /nudge/vary sends: [length_beats, pitch, start, duration,
// velocity, ...] relative to the selection; muted notes are left out (and left alone: see merge())
exports.clipAtoms = function (notes, sel) {
    var atoms = [sel.lengthBeats];
    for (var i = 0; i < notes.length; i++) {
        var n = notes[i];
        if (n.mute) continue;
        var start = Number(n.start_time) - sel.startBeats;
        if (start < 0 || start >= sel.lengthBeats) continue;
        atoms.push(Number(n.pitch), start, Number(n.duration), velocity(n.velocity));
    }
    return atoms;
};

function velocity(v) {  // Live's float velocity -> the daemon's int 1..127
    return Math.max(1, Math.min(127, Math.round(Number(v))));
}

// request atoms (after the address and id are known)
exports.generateAtoms = function (id, sel, beatsPerBar, pairs) {
    return ["/nudge/generate", id, "bars", exports.barsFor(sel, beatsPerBar)].concat(pairs);
};

exports.varyAtoms = function (id, amount, notes, sel, pairs) {
    return ["/nudge/vary", id, amount].concat(pairs, ["notes"], exports.clipAtoms(notes, sel));
};

// the daemon's notes ({ pitch, start_time, duration, velocity } from 0) -> what [live.miditool.out] takes:
// moved to the selection, cropped to it (a note may not outlast it)
exports.toolNotes = function (notes, sel) {
    var out = [];
    for (var i = 0; i < notes.length; i++) {
        var n = notes[i];
        var start = Number(n.start_time);
        if (start < 0 || start >= sel.lengthBeats) continue;
        out.push({
            pitch: Number(n.pitch),
            start_time: sel.startBeats + start,
            duration: Math.min(Number(n.duration), sel.lengthBeats - start),
            velocity: Number(n.velocity),
            mute: 0
        });
    }
    return { notes: out };
};

// a Transformation hands back every input note it does not replace: the muted ones and those outside the
// selection stay as they were (without their note_id, which live.miditool.out does not take)
exports.merge = function (result, input, sel) {
    var kept = [];
    for (var i = 0; i < input.length; i++) {
        var n = input[i];
        var start = Number(n.start_time) - sel.startBeats;
        if (n.mute || start < 0 || start >= sel.lengthBeats) {
            var copy = {};
            for (var k in n) if (k !== "note_id") copy[k] = n[k];
            kept.push(copy);
        }
    }
    return { notes: result.notes.concat(kept) };
};

// ------------------------------------------------------------ the apply cycle

exports.makeCycle = function () {
    return { waiting: null, ready: null };
};

// key: the input and settings of one apply, as text. -> { out: dict } when the result for exactly this
// input is ready (it is handed out once), else { send: true } to ask the daemon (a newer input replaces an
// older one still waiting), or { wait: true } while this same input is being asked.
exports.onApply = function (cycle, key) {
    if (cycle.ready && cycle.ready.key === key) {
        var out = cycle.ready.dict;
        cycle.ready = null;
        return { out: out };
    }
    if (cycle.waiting && cycle.waiting.key === key) return { wait: true };
    return { send: true };
};

exports.sent = function (cycle, key, id) {
    cycle.waiting = { key: key, id: id };
    cycle.ready = null;
};

// the reply to request id is complete -> true when the tool should bang [live.miditool.in] to hand it out
exports.answered = function (cycle, id, dict) {
    if (!cycle.waiting || cycle.waiting.id !== id) return false;  // an older request's late reply
    cycle.ready = { key: cycle.waiting.key, dict: dict };
    cycle.waiting = null;
    return true;
};

exports.failed = function (cycle, id) {
    if (cycle.waiting && cycle.waiting.id === id) cycle.waiting = null;
};
