// Nudge — the device's face: its named live.* controls and comments (varnames in src/Nudge.maxpat.json), the
// status line, the daemon light and the condition dials labelled from the model.
// A CommonJS module as Max's [js] loads it (`require("nudge_face")`, found beside the device; Max knows
// `exports`, not `module.exports`). ES5 only. Max's objects come in explicitly:
//   var face = require("nudge_face").make(function () { return jsthis.patcher; }, postLine, BANK_SIZE);
// where postLine(text) writes one line to the Max window.

// The ? button's manual: docs/max-for-live.md of the Nudge checkout the device sits in (max_for_live/Nudge.amxd
// or max_for_live/frozen/Nudge.amxd), as a file URL; "" for a device elsewhere (a User Library), which has no
// manual beside it. Nudge has no web page of its own (the PyPI name "nudge" is another project's).
// filepath: the patcher's, as Max gives it ("Macintosh HD:/Users/me/nudge/max_for_live/Nudge.amxd" (the volume
// name is dropped: the boot disk's), "C:/Users/...", or a POSIX path)
exports.MANUAL = "docs/max-for-live.md";
exports.MANUAL_TEXT = "The manual is " + exports.MANUAL + " in Nudge's source (docs/midi-tools.md for the MIDI " +
    "Tools); `nudge --help` lists the daemon's commands.";

exports.manualUrl = function (filepath) {
    var p = String(filepath || "").replace(/\\/g, "/");
    var m = /^(.*)\/max_for_live\/(frozen\/)?[^\/]+\.amxd$/i.exec(p);
    if (!m) return "";
    var root = m[1];
    if (/^[A-Za-z]:\//.test(root)) return "file:///" + root + "/" + exports.MANUAL;  // Windows: C:/...
    root = root.replace(/^[^\/:]+:(?=\/)/, "");  // Max's "Volume:/path" on macOS
    return root.charAt(0) === "/" ? "file://" + root + "/" + exports.MANUAL : "";
};

exports.make = function (getPatcher, postLine, bankSize) {
    var last = null;  // the status line's { text, level }

    function ui(name) {
        var patcher = getPatcher();
        return patcher ? patcher.getnamed(name) : null;
    }

    function message(name) {  // message(name, selector, atoms...) to the named object, if the patcher has it
        var obj = ui(name);
        if (obj) obj.message.apply(obj, Array.prototype.slice.call(arguments, 1));
    }

    function value(name, fallback) {  // the control's value; fallback when it is missing, empty or NaN
        var obj = ui(name);
        var v = obj ? obj.getvalueof() : fallback;
        if (Array.isArray(v)) v = v[0];
        return v === undefined || v === null || v !== v ? fallback : v;
    }

    function status(text, level) {  // level: "info" | "warning" | "error"; returns null for `return status(...)`
        last = { text: text, level: level };
        message("nudge_status", "set", text);
        if (level === "error") postLine("Nudge: " + text);
        return null;
    }

    function lastStatus() {
        return last;
    }

    function forget() {  // the device is going away: nothing said is remembered
        last = null;
    }

    function showOnline(online) {  // the light: green when the daemon answers, red when it does not
        message("nudge_light", "bgfillcolor", online ? 0.35 : 0.85, online ? 0.8 : 0.2, 0.3, 1);
        if (!online) message("nudge_rtt", "set", "-");
    }

    // The long names automation lanes and mappings show: the condition's name ("Density"); a name another
    // control already has gets " (condition)" so every long name in the device stays unique
    var TAKEN = { amount: 1, bars: 1, seed: 1, "seed lock": 1, style: 1, destination: 1, generate: 1, nudge: 1,
        "live midi": 1, panic: 1 };

    function longName(condName) {
        var name = condName.charAt(0).toUpperCase() + condName.slice(1);
        return TAKEN[name.toLowerCase()] ? name + " (condition)" : name;
    }

    // a used dial: named for its condition, automatable; its hint (Live's Info View) is the model's own
    // description of the condition (/nudge/model/info), so the device says what the daemon says
    function nameDial(dial, condName, description) {
        dial.message("_parameter_longname", longName(condName));
        dial.message("_parameter_shortname", condName);
        dial.message("_parameter_invisible", 0);
        if (description) {
            dial.message("annotation_name", longName(condName));
            dial.message("annotation", description);
        }
        dial.hidden = 0;
    }

    function retireDial(dial, index) {  // an unused dial: hidden, not automatable, named so a lane says so
        dial.message("_parameter_longname", "Unused " + (index + 1));
        dial.message("_parameter_shortname", "-");
        dial.message("_parameter_invisible", 2);
        dial.hidden = 1;
    }

    // Dials named as the set saved them, before the daemon answers (automation lanes keep their names)
    function restoreDialNames(names) {
        for (var i = 0; i < bankSize && i < names.length; i++) {
            var dial = ui("nudge_cond" + (i + 1));
            if (dial && names[i]) nameDial(dial, names[i]);
        }
    }

    function showModel(model) {  // dials named after the model's conditions (the rest retired), its styles
        for (var i = 0; i < bankSize; i++) {
            var dial = ui("nudge_cond" + (i + 1));
            if (!dial) continue;
            var cond = model.conditions[i];
            if (cond) nameDial(dial, cond.name, cond.description);
            else retireDial(dial, i);
        }
        message.apply(null, ["nudge_style", "_parameter_range", "any"].concat(model.styles));
        message("nudge_model", "set", "Model: " + model.name + " (" + model.bars + " bars)");
        var extra = model.conditions.length > bankSize ? "; the first " + bankSize + " of " +
            model.conditions.length + " conditions have dials, the rest keep the model's defaults" : "";
        status("Ready: model " + model.name + extra, "info");
    }

    function showDaemon(text) {  // the daemon's line: who runs it, and its last error
        message("nudge_daemon", "set", text);
    }

    return {
        message: message,
        value: value,
        status: status,
        lastStatus: lastStatus,
        forget: forget,
        showOnline: showOnline,
        showModel: showModel,
        restoreDialNames: restoreDialNames,
        showDaemon: showDaemon,
        longName: longName
    };
};
