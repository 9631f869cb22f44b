// Nudge — requests as OSC messages (docs/osc-api.md): the key/value pairs of generate and vary from the
// controls, and a vary split into /nudge/vary/part datagrams when the clip is too long for one. Pure: the
// controls come in as a reader function; no Max, no Live.
// A CommonJS module as Max's [js] loads it (`require("nudge_messages")`, found beside the device; Max knows
// `exports`, not `module.exports`). ES5 only.

var oscSize = require("nudge_osc");

// read(name, fallback) -> a control's value; model: { styles, conditions: [{ name, defaultValue }] };
// -> { pairs: [key, value, ...], seed, drawn (a fresh seed the seed box should show), label }
exports.controlPairs = function (read, model, styleName, random, bankSize) {
    var bars = Math.max(1, Math.min(8, Math.round(Number(read("nudge_bars", 4)))));
    var style = model.styles.indexOf(styleName) >= 0 ? styleName : "any";
    var drawn = !Number(read("nudge_seedlock", 0));
    var seed = drawn ? Math.floor(random() * 1000000) : Math.max(0, Math.round(Number(read("nudge_seed", 0))));
    var pairs = ["bars", bars, "style", style, "seed", seed];
    var label = [style];
    for (var i = 0; i < model.conditions.length && i < bankSize; i++) {
        var cond = model.conditions[i];
        var v = Number(read("nudge_cond" + (i + 1), cond.defaultValue));
        v = v > 1 ? 1 : v > 0 ? v : 0;
        pairs.push(cond.name, v);
        label.push(cond.name.slice(0, 4) + Math.round(v * 100));
    }
    return { pairs: pairs, seed: seed, drawn: drawn, label: label.join(" ") };
};

// One /nudge/vary, or, for a clip too long for one datagram that every system sends, its note groups ahead in
// /nudge/vary/part messages and then the /nudge/vary that says how many: [[address, atoms...], ...]
exports.varyMessages = function (id, head, lengthBeats, flat, maxParts) {
    var limit = oscSize.MAX_REQUEST_BYTES;
    var whole = head.concat(["notes", lengthBeats], flat);
    if (oscSize.messageBytes(whole) <= limit) return [whole];
    var perPart = oscSize.notesThatFit(["/nudge/vary/part", id, maxParts - 1, maxParts], limit);
    var nParts = Math.ceil(flat.length / 4 / perPart);
    var out = [];
    for (var p = 0; p < nParts; p++) {
        out.push(["/nudge/vary/part", id, p, nParts].concat(flat.slice(p * perPart * 4, (p + 1) * perPart * 4)));
    }
    out.push(head.concat(["parts", nParts, "notes", lengthBeats]));
    return out;
};
