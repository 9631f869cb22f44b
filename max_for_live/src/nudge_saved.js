// Nudge — what the Live set stores for the device, and where: a [dict ---nudgeStore @parameter_enable 1] in
// the patcher (as zsteinkamp/m4l-Knobbler4 keeps its `---settingsDict`), whose contents Live saves with the set:
// the style by name, the dials' conditions, the producer's own pads (nudge_kit's), the daemon's host and port,
// the `nudge` command chosen with Locate nudge..., and the history (compact, at most HISTORY_MAX_BYTES).
// Each change writes only its own key; Live is not told (no notifyclients): it reads the dict when it saves.
// A CommonJS module as Max's [js] loads it (`require("nudge_saved")`; Max knows `exports`). ES5 only.

var history = require("nudge_history");

exports.HISTORY_MAX_BYTES = 65536;  // 16 takes of 8 dense bars fit; 1,024-note results keep the newest ~4
exports.DEFAULT_HOST = "127.0.0.1";
exports.DEFAULT_PORT = 9000;
var VERSION = 2;  // of the stored data (1: the [js] Blob of earlier devices, one JSON text)

exports.make = function (historyLimit) {  // the defaults, before anything is stored
    return { style: "any", conditions: [], history: history.make(historyLimit),
        settings: { host: exports.DEFAULT_HOST, port: exports.DEFAULT_PORT, command: "" } };
};

// the stored dict's contents (or an older set's Blob text) -> { saved, pads }, or null for a value that is not
// ours (empty, or from something else): the caller keeps its defaults
exports.load = function (value, historyLimit) {
    var v = value;
    if (typeof value === "string") {
        try {
            v = JSON.parse(value);
        } catch (e) {
            return null;
        }
    }
    if (!v || typeof v !== "object" || Array.isArray(v)) return null;
    var known = ["style", "conditions", "history", "pads", "settings"].filter(function (k) { return k in v; });
    if (!known.length) return null;
    var saved = exports.make(historyLimit);
    if (typeof v.style === "string" && v.style) saved.style = v.style;
    if (Array.isArray(v.conditions)) saved.conditions = v.conditions.map(String);
    saved.history = history.load(upgradeHistory(v.history), historyLimit);
    saved.settings = exports.checkSettings(v.settings);
    return { saved: saved, pads: v.pads };
};

// a stored history: version 2's data, or version 1's JSON text whose entries hold notes as objects and the
// clip's LOM id (dropped: ids are handed out anew each time a set opens)
function upgradeHistory(stored) {
    var h = history.load(stored || "", 1000);
    for (var i = 0; i < h.entries.length; i++) {
        var e = h.entries[i];
        if (e.notes && e.notes.length && typeof e.notes[0] === "object") e.notes = history.flatNotes(e.notes);
        delete e.clipId;
    }
    return history.save(h);
}

// host (an IPv4/IPv6 literal or a name), port 1..65535, command (a path, or "") -> checked copies
exports.checkSettings = function (s) {
    s = s && typeof s === "object" ? s : {};
    var host = typeof s.host === "string" && /^[A-Za-z0-9.:%_-]{1,253}$/.test(s.host) ? s.host : exports.DEFAULT_HOST;
    var port = Number(s.port);
    return { host: host, port: port >= 1 && port <= 65535 && port === Math.floor(port) ? port : exports.DEFAULT_PORT,
        command: typeof s.command === "string" ? s.command : "" };
};

// -> the value to store under each key (what store.write takes)
exports.data = function (saved, pads) {
    return { version: VERSION, style: saved.style, conditions: saved.conditions, pads: pads || {},
        settings: saved.settings, history: history.save(saved.history) };
};

// The stored dict. ONE Dict reference for the device's life: a second `new Dict(name)` of a parameter-enabled
// dict can reset its contents (Knobbler4's notes). open(name) comes from the patcher's [loadbang].
exports.store = function (DictClass) {
    var dict = null;

    function open(name) {
        if (!dict) dict = new DictClass(name);
        return dict;
    }

    function read() {  // the stored contents, or null while there are none
        if (!dict) return null;
        var text = dict.stringify();
        var data = text ? JSON.parse(text) : null;
        return data && typeof data === "object" && Object.keys(data).length ? data : null;
    }

    function write(key, value) {  // one key (its JSON); nothing before the patcher named the dict
        if (!dict || value === undefined) return false;
        dict.setparse(key, JSON.stringify(value));
        dict.setparse("version", String(VERSION));
        return true;
    }

    function writeAll(values) {
        for (var key in values) write(key, values[key]);
    }

    return { open: open, read: read, write: write, writeAll: writeAll, isOpen: function () { return !!dict; } };
};

// A model's info arrived: the saved dial names become its first bankSize conditions' (saved.conditions is
// set). -> { styleIndex (of the saved style in model.styles, -1 if it lacks it), warning (text or ""),
// changed (the stored value changed) }
exports.followModel = function (saved, model, bankSize) {
    var index = model.styles.indexOf(saved.style);
    var names = model.conditions.slice(0, bankSize).map(function (c) { return c.name; }).join(", ");
    var before = saved.conditions.join(", ");
    var warning = "";
    if (saved.style !== "any" && index < 0) {
        warning = "This set chose style " + saved.style + ", which model " + model.name + " lacks: using any.";
    } else if (before && before !== names) {
        warning = "The dials were saved for " + before + "; model " + model.name + " has " + names +
            ": the dials were renamed, check their automation.";
    }
    var changed = before !== names;
    if (changed) saved.conditions = model.conditions.slice(0, bankSize).map(function (c) { return c.name; });
    return { styleIndex: index, warning: warning, changed: changed };
};
