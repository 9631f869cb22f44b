// Nudge — the track's Drum Rack: its pads' notes and names, and Nudge's nine voices mapped onto them, so
// results play the producer's kit. Pure functions, except readPads (the LiveAPI comes in explicitly).
// A CommonJS module as Max's [js] loads it (`require("nudge_drum_rack")`; Max knows `exports`). ES5 only.
//
// The daemon speaks General MIDI pitches (one per voice, VOICES below: companion/core/drum_map.py's
// VOICE_TABLE, checked by a test). The device translates at its edge: clip notes on the rack's pads go out
// as the voices' pitches (fromPads), and replies come back onto the pads (toPads). Notes of pitches that
// no voice maps to pass both ways unchanged.

// voice        General MIDI pitch
exports.VOICES = [
    ["kick", 36], ["snare", 38], ["closed_hat", 42], ["open_hat", 46], ["low_tom", 43],
    ["mid_tom", 47], ["high_tom", 50], ["crash", 49], ["ride", 51]
];

// By name, strongest clue first; a pad is taken by the first voice whose clue matches it.
var CLUES = [
    ["kick", /kick|\bkik\b|\bbd\b|bass ?drum|\bbassdrum/],
    ["open_hat", /open|\boh\b|\bohh\b/],
    ["closed_hat", /closed|\bch\b|\bchh\b|pedal|hi-?hat|hihat|\bhh\b|\bhat\b/],
    ["snare", /snare|\bsd\b|\bsn\b/],
    ["crash", /crash|splash|china|cymbal/],
    ["ride", /ride|\bbell\b/],
    ["snare", /clap|\brim\b|rimshot|stick/],  // a kit without a snare: its backbeat sound
    ["closed_hat", /shaker|tamb/]
];

function voiceIndex(name) {
    for (var i = 0; i < exports.VOICES.length; i++) if (exports.VOICES[i][0] === name) return i;
    return -1;
}
exports.voiceIndex = voiceIndex;

// pads: [{ note, name }] of the pads that hold something; overrides: { voice: note } set by the user
// -> { pitch: { voice: note }, how: { voice: "set" | "name" | "general midi" | "no pad" } }
exports.mapVoices = function (pads, overrides) {
    var pitch = {}, how = {}, taken = {}, i, v;
    overrides = overrides || {};
    for (v in overrides) {
        if (voiceIndex(v) >= 0) {
            pitch[v] = overrides[v];
            how[v] = "set";
            taken[overrides[v]] = true;
        }
    }
    var sorted = pads.slice().sort(function (a, b) { return a.note - b.note; });
    for (var c = 0; c < CLUES.length; c++) {
        var voice = CLUES[c][0];
        if (voice in pitch) continue;
        for (i = 0; i < sorted.length; i++) {
            if (!taken[sorted[i].note] && CLUES[c][1].test(String(sorted[i].name).toLowerCase())) {
                pitch[voice] = sorted[i].note;
                how[voice] = "name";
                taken[sorted[i].note] = true;
                break;
            }
        }
    }
    mapToms(sorted, pitch, how, taken);
    var filled = {};
    for (i = 0; i < pads.length; i++) filled[pads[i].note] = true;
    for (i = 0; i < exports.VOICES.length; i++) {  // the fallback: the General MIDI pad, or nothing to play
        v = exports.VOICES[i][0];
        if (v in pitch) continue;
        var gm = exports.VOICES[i][1];
        pitch[v] = gm;
        how[v] = filled[gm] && !taken[gm] ? "general midi" : "no pad";
        taken[gm] = true;
    }
    return { pitch: pitch, how: how };
};

function mapToms(sorted, pitch, how, taken) {  // toms by name ("low", "floor", "mid", "high"), else by note
    var toms = [];
    for (var i = 0; i < sorted.length; i++) {
        if (!taken[sorted[i].note] && /tom/.test(String(sorted[i].name).toLowerCase())) toms.push(sorted[i]);
    }
    var named = [["low_tom", /low|floor|\blo\b/], ["high_tom", /high|\bhi\b/], ["mid_tom", /mid/]];
    for (var n = 0; n < named.length; n++) {
        var voice = named[n][0];
        if (voice in pitch) continue;
        for (var t = 0; t < toms.length; t++) {
            if (!taken[toms[t].note] && named[n][1].test(String(toms[t].name).toLowerCase())) {
                take(voice, toms[t].note);
                break;
            }
        }
    }
    var rest = [];
    for (var r = 0; r < toms.length; r++) if (!taken[toms[r].note]) rest.push(toms[r].note);
    var order = ["low_tom", "mid_tom", "high_tom"];  // the rest by pitch, lowest the low tom
    for (var o = 0; o < order.length && rest.length; o++) {
        if (!(order[o] in pitch)) take(order[o], rest.shift());
    }

    function take(voice, note) {
        pitch[voice] = note;
        how[voice] = "name";
        taken[note] = true;
    }
}

// notes as the daemon sends them (each voice on its General MIDI pitch) -> onto the mapped pads
exports.toPads = function (notes, mapping) {
    var to = {};
    for (var i = 0; i < exports.VOICES.length; i++) {
        to[exports.VOICES[i][1]] = mapping.pitch[exports.VOICES[i][0]];
    }
    return translate(notes, to);
};

// a clip's notes on the pads -> each mapped pad's notes on its voice's General MIDI pitch
exports.fromPads = function (notes, mapping) {
    var to = {};
    for (var i = 0; i < exports.VOICES.length; i++) {
        var v = exports.VOICES[i];
        if (mapping.how[v[0]] !== "no pad") to[mapping.pitch[v[0]]] = v[1];
    }
    return translate(notes, to);
};

function translate(notes, to) {
    var out = [];
    for (var i = 0; i < notes.length; i++) {
        var n = {}, k;
        for (k in notes[i]) n[k] = notes[i][k];
        if (n.pitch in to) n.pitch = to[n.pitch];
        out.push(n);
    }
    return out;
}

// "kick C1 (Kick 808), snare D1 (name) ..." for the status line and the Info View
exports.describe = function (mapping, pads) {
    var names = {};
    for (var i = 0; i < (pads || []).length; i++) names[pads[i].note] = pads[i].name;
    var parts = [];
    for (var v = 0; v < exports.VOICES.length; v++) {
        var voice = exports.VOICES[v][0];
        var note = mapping.pitch[voice];
        var label = names[note] ? names[note] : mapping.how[voice];
        parts.push(voice + " " + noteName(note) + " (" + label + ")");
    }
    return parts.join(", ");
};

function noteName(note) {  // Live's names: 36 = C1, 60 = C3
    var names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
    return names[note % 12] + (Math.floor(note / 12) - 2);
}
exports.noteName = noteName;

// The first Drum Rack on `track` (a LiveAPI object) -> [{ note, name }] of its pads that hold a chain,
// or null when the track has no Drum Rack.
exports.readPads = function (LiveAPI, track) {
    var devices = ids(track.get("devices"));
    for (var d = 0; d < devices.length; d++) {
        var device = new LiveAPI("id " + devices[d]);
        if (one(device, "class_name") !== "DrumGroupDevice") continue;
        var pads = [], padIds = ids(device.get("drum_pads"));
        for (var p = 0; p < padIds.length; p++) {
            var pad = new LiveAPI("id " + padIds[p]);
            if (ids(pad.get("chains")).length === 0) continue;  // an empty pad plays nothing
            pads.push({ note: Number(one(pad, "note")), name: String(one(pad, "name")) });
        }
        return pads;
    }
    return null;
};

function one(api, prop) {
    var v = api.get(prop);
    return Array.isArray(v) ? v[0] : v;
}

function ids(atoms) {  // ["id", 3, "id", 4] -> [3, 4]
    var out = [];
    for (var i = 0; atoms && i + 1 < atoms.length; i += 2) if (atoms[i] === "id") out.push(Number(atoms[i + 1]));
    return out;
}
