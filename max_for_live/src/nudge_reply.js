// Nudge — the daemon's replies as data: split note replies reassembled, notes checked, model info parsed, and
// the notes of a Live clip as /nudge/vary sends them. Pure functions: no Max, no Live, no clock.
// A CommonJS module as Max's [js] loads it: `require("nudge_reply")` finds this file in the search path
// (beside the device) and returns `exports` (Max knows `exports`, not `module.exports`). ES5 only.

// A note reply: /nudge/notes/begin id n_parts n_notes length_beats [name], /nudge/notes id part (pitch,
// start_beats, duration_beats, velocity)..., /nudge/notes/end id n_parts, the parts in any order.

exports.newAssembly = function (deadlineMs) {
    return { nParts: -1, nNotes: -1, lengthBeats: 0, clipName: "", parts: {}, endSeen: false,
        deadlineMs: deadlineMs };
};

// /nudge/notes/begin's atoms after the id -> "" when taken, else what is wrong
exports.readBegin = function (asm, args) {
    if (!isInt(args[0]) || args[0] < 0 || !isInt(args[1]) || args[1] < 0 || !(Number(args[2]) > 0)) {
        return "malformed /nudge/notes/begin";
    }
    asm.nParts = args[0];
    asm.nNotes = args[1];
    asm.lengthBeats = Number(args[2]);
    asm.clipName = args[3] === undefined ? "" : String(args[3]);
    return "";
};

// /nudge/notes's atoms after the id -> "" when taken (a repeated part keeps the first), else what is wrong
exports.readPart = function (asm, args) {
    var part = args[0];
    if (!isInt(part) || part < 0 || (args.length - 1) % 4 !== 0) return "malformed /nudge/notes part";
    if (!(part in asm.parts)) asm.parts[part] = args.slice(1);
    return "";
};

exports.missingParts = function (asm) {
    var missing = [];
    for (var i = 0; i < asm.nParts; i++) if (!(i in asm.parts)) missing.push(i);
    return missing;
};

// -> null while parts are missing, else { notes: [...] } ready for add_new_notes, or { error: "..." }
exports.assemble = function (asm) {
    if (asm.nParts < 0 || exports.missingParts(asm).length > 0) return null;
    var flat = [];
    for (var i = 0; i < asm.nParts; i++) flat = flat.concat(asm.parts[i]);
    var notes = [];
    for (var j = 0; j < flat.length; j += 4) {
        var note = { pitch: flat[j], start_time: Number(flat[j + 1]), duration: Number(flat[j + 2]),
            velocity: flat[j + 3], mute: 0 };
        var bad = exports.badNote(note, asm.lengthBeats);
        if (bad) return { error: "note " + j / 4 + " " + bad };
        notes.push(note);
    }
    if (notes.length !== asm.nNotes) return { error: "expected " + asm.nNotes + " notes, got " + notes.length };
    return { notes: notes };
};

// -> "" for a note Live can take in a clip of lengthBeats, else what is wrong with it and the allowed range
exports.badNote = function (n, lengthBeats) {
    if (!isInt(n.pitch) || n.pitch < 0 || n.pitch > 127) return "has pitch " + n.pitch + " (0..127)";
    if (!isFinite(n.start_time) || n.start_time < 0 || n.start_time >= lengthBeats) {
        return "starts at " + n.start_time + " (0.." + lengthBeats + ")";
    }
    if (!isFinite(n.duration) || n.duration <= 0) return "lasts " + n.duration + " beats (> 0)";
    if (!isInt(n.velocity) || n.velocity < 1 || n.velocity > 127) return "has velocity " + n.velocity + " (1..127)";
    return "";
};

// /nudge/model/info's atoms (id name bars beats_per_bar n_conditions (name description default)... n_styles
// style...) -> { name, bars, beatsPerBar, conditions: [{ name, description, defaultValue }], styles }, or the
// name of the first part that is malformed (a string)
exports.parseModelInfo = function (a) {
    if (a.length < 6 || typeof a[1] !== "string" || !isInt(a[2]) || !isInt(a[4])) return "header";
    var model = { name: a[1], bars: a[2], beatsPerBar: a[3], conditions: [], styles: [] };
    var i = 5;
    for (var c = 0; c < a[4]; c++, i += 3) {
        if (i + 2 >= a.length || typeof a[i] !== "string") return "condition " + c;
        model.conditions.push({ name: a[i], description: String(a[i + 1]), defaultValue: Number(a[i + 2]) });
    }
    if (!isInt(a[i]) || a.length !== i + 1 + a[i]) return "style list";
    model.styles = a.slice(i + 1).map(String);
    return model;
};

// get_notes_extended's answer (JSON text, or its dictionary) -> the notes Nudge varies: unmuted, inside the
// loop [loopStart, loopStart + lengthBeats), start_time relative to the loop start, whole pitches, velocities
// 1..127, sorted by time then pitch
exports.clipNotes = function (raw, loopStart, lengthBeats) {
    if (Array.isArray(raw)) raw = raw.length === 1 ? raw[0] : raw.join(" ");
    var all = (typeof raw === "string" ? JSON.parse(raw) : raw).notes || [];
    var notes = [];
    for (var i = 0; i < all.length; i++) {
        var n = all[i];
        var start = n.start_time - loopStart;
        if (n.mute || start < 0 || start >= lengthBeats) continue;
        notes.push({ pitch: Math.round(n.pitch), start_time: start, duration: n.duration,
            velocity: Math.max(1, Math.min(127, Math.round(n.velocity))) });
    }
    notes.sort(function (a, b) { return a.start_time - b.start_time || a.pitch - b.pitch; });
    return notes;
};

function isInt(v) {
    return typeof v === "number" && Math.floor(v) === v;
}
exports.isInt = isInt;

exports.clamp01 = function (v) {
    return v > 1 ? 1 : v > 0 ? v : 0;
};
