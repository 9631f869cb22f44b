// Nudge — the device's history: its last results, to step back and forward through, restoring the clip's
// notes and the sliders that made them. Pure data: no Max, no Live, no clock.
// A CommonJS module as Max's [js] loads it (`require("nudge_history")`; Max knows `exports`). ES5 only.
//
// Like a browser's: a new result after stepping back drops the results after the current one, and the
// oldest go first beyond `limit`. An entry is whatever the device stores (notes, length, name, sliders,
// style, seed, where it was written); the module copies it on the way in and out, so a caller changing
// its own objects never changes the history.

exports.LIMIT = 32;

exports.make = function (limit) {
    var max = limit === undefined ? exports.LIMIT : limit;
    if (!(max >= 1 && max === Math.floor(max))) throw new Error("history limit must be an int >= 1, got " + limit);
    return { entries: [], at: -1, limit: max };
};

function copy(value) {
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

// A new result becomes the current one -> its position (0-based)
exports.push = function (h, entry) {
    h.entries = h.entries.slice(0, h.at + 1);
    h.entries.push(copy(entry));
    if (h.entries.length > h.limit) h.entries = h.entries.slice(h.entries.length - h.limit);
    h.at = h.entries.length - 1;
    return h.at;
};

// One step back (-1) or forward (+1) -> the entry now current, or null when there is none that way
exports.step = function (h, direction) {
    var to = h.at + (direction < 0 ? -1 : 1);
    if (to < 0 || to >= h.entries.length) return null;
    h.at = to;
    return copy(h.entries[to]);
};

exports.current = function (h) {
    return h.at < 0 ? null : copy(h.entries[h.at]);
};

exports.canBack = function (h) {
    return h.at > 0;
};

exports.canForward = function (h) {
    return h.at >= 0 && h.at < h.entries.length - 1;
};

// "3/7": the position shown beside the arrows ("-" when empty)
exports.label = function (h) {
    return h.at < 0 ? "-" : (h.at + 1) + "/" + h.entries.length;
};

// The history as data for the device's stored dict (saved with the Live set), and back from that data or
// from its JSON text (an older set's Blob); malformed data gives an empty history, never an exception.
exports.save = function (h) {
    return { entries: copy(h.entries), at: h.at };
};

exports.load = function (value, limit) {
    var h = exports.make(limit);
    var data = value;
    if (typeof value === "string") {
        try {
            data = JSON.parse(value);
        } catch (e) {
            return h;
        }
    }
    if (!data || !Array.isArray(data.entries)) return h;
    h.entries = data.entries.slice(-h.limit);
    var at = Number(data.at) - (data.entries.length - h.entries.length);
    h.at = at >= 0 && at < h.entries.length && at === Math.floor(at) ? at : h.entries.length - 1;
    return h;
};

// ------------------------------------------------------------ compact notes, bounded bytes

var PLACES = 10000;  // times are kept to 1/10000 beat: finer than any grid or groove a clip can show

function rounded(v) {
    return Math.round(Number(v) * PLACES) / PLACES;
}

// notes as objects -> one flat list [pitch, start, duration, velocity, ...]: about 16 bytes a note as JSON,
// a quarter of the objects' size
exports.flatNotes = function (notes) {
    var flat = [];
    for (var i = 0; i < notes.length; i++) {
        var n = notes[i];
        flat.push(Math.round(n.pitch), rounded(n.start_time), rounded(n.duration), Math.round(n.velocity));
    }
    return flat;
};

// the flat list -> notes for Clip.add_new_notes (a malformed list gives the whole notes it holds)
exports.noteObjects = function (flat) {
    var notes = [];
    for (var i = 0; Array.isArray(flat) && i + 3 < flat.length; i += 4) {
        notes.push({ pitch: flat[i], start_time: flat[i + 1], duration: flat[i + 2], velocity: flat[i + 3],
            mute: 0 });
    }
    return notes;
};

// The size of the history as stored (its JSON), in bytes (its text is ASCII: numbers and the device's names)
exports.bytes = function (h) {
    return JSON.stringify(exports.save(h)).length;
};

// Drop the oldest entries (then, if need be, those after the current one) until the stored history takes at
// most maxBytes; the current one always stays -> how many were dropped
exports.trim = function (h, maxBytes) {
    var dropped = 0;
    while (h.entries.length > 1 && exports.bytes(h) > maxBytes) {
        if (h.at > 0) {
            h.entries.shift();
            h.at -= 1;
        } else {
            h.entries.pop();
        }
        dropped += 1;
    }
    return dropped;
};
