// Nudge — what the Live set stores for the device ([js] as a Blob parameter: getvalueof/setvalueof): the
// style by name, the dials' conditions, the producer's own pads (nudge_kit's) and the history. Pure data.
// A CommonJS module as Max's [js] loads it (`require("nudge_saved")`; Max knows `exports`). ES5 only.

var history = require("nudge_history");

exports.make = function (historyLimit) {  // the defaults, before anything is stored
    return { style: "any", conditions: [], history: history.make(historyLimit) };
};

exports.save = function (saved, pads) {  // -> the stored string
    return JSON.stringify({ style: saved.style, conditions: saved.conditions, pads: pads,
        history: history.save(saved.history) });
};

// the stored string -> { saved, pads }, or null for a value that is not ours (e.g. an empty one from an older
// version): the caller keeps its defaults
exports.load = function (value, historyLimit) {
    var v;
    try {
        v = JSON.parse(String(value));
    } catch (e) {
        return null;
    }
    if (!v || typeof v !== "object") return null;
    return { saved: { style: typeof v.style === "string" && v.style ? v.style : "any",
        conditions: Array.isArray(v.conditions) ? v.conditions.map(String) : [],
        history: history.load(String(v.history || ""), historyLimit) }, pads: v.pads };
};

// A model's info arrived: the saved dial names become its first bankSize conditions' (saved.conditions is
// set). -> { styleIndex (of the saved style in model.styles, -1 if it lacks it), warning (text or ""),
// changed (the stored value changed: tell Live) }
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
