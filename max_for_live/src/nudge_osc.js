// Nudge — the size of an OSC message as Max's [udpsend] encodes it, so the device never sends a datagram that
// a system refuses. Pure functions: no Max, no Live.
// A CommonJS module as Max's [js] loads it (`require("nudge_osc")`, found beside the device; Max knows
// `exports`, not `module.exports`). ES5 only.
//
// [udpsend] sends a whole number as int32 ("i"), any other number as float32 ("f") and a symbol as a string
// ("s", UTF-8, NUL-terminated, padded to 4 bytes); the address is padded the same way, and the type tags are
// "," plus one letter per atom, NUL-terminated and padded.

// The largest request the device sends: macOS refuses UDP datagrams over 9,216 bytes by default
// (net.inet.udp.maxdgram); 8,192 leaves room for the OSC framing of any Max version. Linux and Windows take
// 65,507, so the smallest wins.
exports.MAX_REQUEST_BYTES = 8192;

// The daemon's limits (companion/osc/api.py and companion/core/pattern.py; a test compares them): one place
// for every script of the device and the MIDI Tools
exports.MAX_CLIP_NOTES = 1024;    // the most notes the daemon varies (MAX_CLIP_NOTES)
exports.MAX_CLIP_PARTS = 16;      // /nudge/vary/part messages of one clip (MAX_CLIP_PARTS)
exports.MAX_ID = 2147483647;      // request ids are OSC int32s (MAX_ID)
exports.MAX_BARS = 8;             // the longest pattern (MAX_BARS)
exports.MIN_INTERPOLATE = 3;      // patterns on an Interpolate path, both ends included (MIN_INTERPOLATE)
exports.MAX_INTERPOLATE = 16;     // (MAX_INTERPOLATE)
exports.MIN_AUDIO_BEATS_PER_BAR = 2;  // an audio clip's meter the daemon takes (companion/osc/audio_source.py)
exports.MAX_AUDIO_BEATS_PER_BAR = 7;

function padded(byteCount) {  // a NUL-terminated string of byteCount bytes, padded to a multiple of 4
    return (Math.floor(byteCount / 4) + 1) * 4;
}

function utf8Bytes(text) {
    var n = 0;
    for (var i = 0; i < text.length; i++) {
        var c = text.charCodeAt(i);
        if (c < 0x80) n += 1;
        else if (c < 0x800) n += 2;
        else if (c >= 0xd800 && c <= 0xdbff) { n += 4; i++; }  // a surrogate pair: one 4-byte character
        else n += 3;
    }
    return n;
}

// [address, atoms...] -> the datagram's size in bytes
exports.messageBytes = function (atoms) {
    var bytes = padded(utf8Bytes(String(atoms[0]))) + padded(atoms.length);  // address; "," + one tag each
    for (var i = 1; i < atoms.length; i++) {
        bytes += typeof atoms[i] === "number" ? 4 : padded(utf8Bytes(String(atoms[i])));
    }
    return bytes;
};

// How many (pitch, start, duration, velocity) groups fit after the atoms of `head` within limitBytes: each
// costs four type tags and four 4-byte atoms
exports.notesThatFit = function (head, limitBytes) {
    var n = Math.max(0, Math.floor((limitBytes - exports.messageBytes(head)) / 20) + 1);
    while (n > 0 && exports.messageBytes(head.concat(zeros(4 * n))) > limitBytes) n--;
    return n;
};

function zeros(count) {
    var out = [];
    for (var i = 0; i < count; i++) out.push(0);
    return out;
}

// One /nudge/vary (or a /nudge/generate with a clip), or, for a clip too long for one datagram that every system
// sends, its notes ahead in /nudge/vary/part messages and then the request that says how many (docs/osc-api.md).
// head: the request's atoms up to its key/value pairs; flat: pitch, start, duration, velocity, ...
exports.varyMessages = function (id, head, lengthBeats, flat) {
    var limit = exports.MAX_REQUEST_BYTES;
    var whole = head.concat(["notes", lengthBeats], flat);
    if (exports.messageBytes(whole) <= limit) return [whole];
    var parts = exports.MAX_CLIP_PARTS;
    var perPart = exports.notesThatFit(["/nudge/vary/part", id, parts - 1, parts], limit);
    var nParts = Math.ceil(flat.length / 4 / perPart);
    var messages = [];
    for (var p = 0; p < nParts; p++) {
        messages.push(["/nudge/vary/part", id, p, nParts].concat(flat.slice(p * perPart * 4, (p + 1) * perPart * 4)));
    }
    messages.push(head.concat(["parts", nParts, "notes", lengthBeats]));
    return messages;
};
