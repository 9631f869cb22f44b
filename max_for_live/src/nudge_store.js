// Nudge — what the Live set stores for the device beyond its controls: the style by name and the condition
// names the dials were labelled with. The [js] object is a Blob parameter (stored only); nudge.js's
// getvalueof/setvalueof hand this module's text to Live and back. Pure: no Max, no Live.
// A CommonJS module as Max's [js] loads it (`require("nudge_store")`, found beside the device; Max knows
// `exports`, not `module.exports`). ES5 only.
//   var store = require("nudge_store").make();

exports.make = function () {
    var saved = { style: "any", conditions: [] };

    function text() {  // for getvalueof: {"style": ..., "conditions": [...]}
        return JSON.stringify(saved);
    }

    // setvalueof's value -> the stored condition names, or null for a value that is not ours (kept defaults)
    function restore(value) {
        var v;
        try {
            v = JSON.parse(String(value));
        } catch (e) {
            return null;
        }
        if (!v || typeof v !== "object") return null;
        saved = { style: typeof v.style === "string" && v.style ? v.style : "any",
            conditions: Array.isArray(v.conditions) ? v.conditions.map(String) : [] };
        return saved.conditions;
    }

    function style() {
        return saved.style;
    }

    function chooseStyle(name) {  // the user picked a style -> true when the stored value changed
        if (name === undefined || name === saved.style) return false;
        saved.style = name;
        return true;
    }

    // A model arrived: { styleIndex (in the menu, 0 = any), warning ("" or what the user should know),
    // changed (the stored value changed) }; conditionNames: the names the dials now carry
    function meetModel(model, conditionNames) {
        var index = model.styles.indexOf(saved.style);
        var before = saved.conditions.join(", ");
        var now = conditionNames.join(", ");
        var warning = "";
        if (saved.style !== "any" && index < 0) {
            warning = "This set chose style " + saved.style + ", which model " + model.name + " lacks: using any.";
        } else if (before && before !== now) {
            warning = "The dials were saved for " + before + "; model " + model.name + " has " + now +
                ": the dials were renamed, check their automation.";
        }
        if (before !== now) saved.conditions = conditionNames.slice();
        return { styleIndex: index + 1, warning: warning, changed: before !== now };
    }

    return { text: text, restore: restore, style: style, chooseStyle: chooseStyle, meetModel: meetModel };
};
