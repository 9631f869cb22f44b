// Nudge — note requests out: a Generate or Nudge click made into Takes, each one request of OSC messages
// (docs/osc-api.md). The controls are read through the device's face, the clip through nudge_live; the
// caller passes its state (ready, model, requests) and the saved style on each click.
// A CommonJS module as Max's [js] loads it (`require("nudge_jobs")`; Max knows `exports`). ES5 only.
//   var jobs = require("nudge_jobs").make({ face: face, live: live, kit: kit, clock: clock, send: send,
//       bankSize: 8, voiceNames: VOICE_NAMES });
//
// No click is lost: a click's takes go out TAKES_IN_FLIGHT at a time, the next as each returns (pump), so the
// daemon never holds more than that for this device; a new click first sends /nudge/cancel, which drops the
// earlier click's takes still waiting there, and the late reply of the one it was running is dropped here.

var reply = require("nudge_reply");
var oscSize = require("nudge_osc");
var rack = require("nudge_drum_rack");
var tools = require("nudge_tools");

exports.MAX_CLIP_NOTES = oscSize.MAX_CLIP_NOTES;
exports.MAX_CLIP_PARTS = oscSize.MAX_CLIP_PARTS;
exports.MAX_TAKES = 16;         // results per click (Takes), each in its own clip
exports.TAKES_IN_FLIGHT = 2;    // one running on the daemon, one waiting, so its worker never idles
exports.DESTINATIONS = ["session", "replace", "arrangement"];
exports.varyMessages = oscSize.varyMessages;
var SHORT = { kick: "K", snare: "S", closed_hat: "CH", open_hat: "OH", low_tom: "LT", mid_tom: "MT",
    high_tom: "HT", crash: "CR", ride: "RD" };  // the Keep row's labels
var NAMED_SLIDERS = 3;  // a clip's name shows the first three sliders (the model's input order)

// notes as objects -> pitch, start, duration, velocity, ... as the daemon reads them
exports.flatNotes = function (notes) {
    var flat = [];
    for (var i = 0; i < notes.length; i++) {
        var n = notes[i];
        flat.push(n.pitch, n.start_time, n.duration, n.velocity);
    }
    return flat;
};

// key/value pairs shared by generate and vary; sets job.controls (the dials, for the history) and job.name
// (short, as a clip slot shows it: the style, the first sliders, kept voices and the seed, so any result can be
// made again with Seed locked). Bars goes with a plain Generate only: a Nudge, or a Generate that keeps voices
// of the selected clip, keeps that clip's length.
// value(name, fallback): a control's value (nudge_face's); model: { styles, conditions: [{ name, defaultValue }] }
exports.controlPairs = function (job, model, savedStyle, value, bankSize) {
    var bars = Math.max(1, Math.min(oscSize.MAX_BARS, Math.round(Number(value("nudge_bars", 4)))));
    var style = model.styles.indexOf(savedStyle) >= 0 ? savedStyle : "any";
    var seed = job.seed;
    var fromClip = job.verb === "vary" || job.keep.length > 0;
    var pairs = (fromClip ? [] : ["bars", bars]).concat(["style", style, "seed", seed]);
    var label = [style];
    var conds = model.conditions;
    job.controls = { nudge_bars: bars, nudge_seed: seed, nudge_amount: Number(value("nudge_amount", 0.2)) };
    for (var i = 0; i < conds.length && i < bankSize; i++) {
        var v = reply.clamp01(Number(value("nudge_cond" + (i + 1), conds[i].defaultValue)));
        pairs.push(conds[i].name, v);
        if (i < NAMED_SLIDERS) label.push(conds[i].name.slice(0, 4) + Math.round(v * 100));
        job.controls["nudge_cond" + (i + 1)] = v;
    }
    if (job.keep.length) {
        pairs.push("keep", job.keep.join(","));
        label.push("keep " + job.keep.map(function (v) { return SHORT[v] || v; }).join("+"));
    }
    var verb = job.verb === "vary" ? "nudge" + Math.round(reply.clamp01(Number(job.amount)) * 100) + " " : "";
    job.name = verb + label.join(" ") + " s" + seed;
    return pairs;
};

// the status line once a result is written: which take, where, and the scenes added for the click so far
exports.writtenText = function (job, where, scenesAdded) {
    var take = job.count > 1 ? "Take " + (job.take + 1) + " of " + job.count + ": w" : "W";
    var scenes = scenesAdded ? " (added " + scenesAdded + " scene" + (scenesAdded > 1 ? "s" : "") +
        " for the takes)" : "";
    return take + "rote " + job.notes.length + " notes to " + where + ": \"" + job.name + "\"" + scenes;
};

exports.make = function (env) {
    var face = env.face;
    var live = env.live;
    var showStatus = face.status;
    var uiValue = face.value;

    function generate(state, savedStyle) {  // Takes new patterns; with voices kept, the selected clip's stay
        var job = prepareJob(state, "generate");
        if (!job) return;
        var source = job.keep.length ? selectedClipNotes(job) : null;
        if (job.keep.length && !source) return;
        sendTakes(state, job, function (take) {
            var head = ["/nudge/generate", take.id].concat(pairsFor(state, take, savedStyle));
            return source ? oscSize.varyMessages(take.id, head, source.lengthBeats, source.flat) : [head];
        });
    }

    function nudge(state, savedStyle) {  // Takes nudges of the selected clip, each its own seed
        var job = prepareJob(state, "vary");
        if (!job) return;
        var source = selectedClipNotes(job);
        if (!source) return;
        job.amount = reply.clamp01(Number(uiValue("nudge_amount", 0.2)));
        sendTakes(state, job, function (take) {
            var head = ["/nudge/vary", take.id, job.amount].concat(pairsFor(state, take, savedStyle));
            return oscSize.varyMessages(take.id, head, source.lengthBeats, source.flat);
        });
    }

    // A tool on the selected clip (nudge_tools): Takes results, each its own seed (Interpolate: Takes steps of
    // one path, one seed). Drumify of an audio clip writes its drums beside it.
    function tool(state, savedStyle, name) {
        if (!tools.RULES[name]) return showStatus("Unknown tool " + name + ".", "error");
        if (!state.ready) return showStatus("The device is still loading.", "warning");
        var clip = live.selectedClip();
        if (!clip) return;
        if (live.isAudioClip(clip)) {
            if (name === "drumify") return audioDrumify(state, savedStyle, clip);
            return showStatus(title(name) + " works on a MIDI clip; of the tools only Drumify takes an audio clip.",
                "error");
        }
        var job = prepareJob(state, name);
        if (!job) return;
        if (name === "interpolate" && job.dest === "replace") {
            return showStatus("Interpolate writes new clips: choose 'new clip' or 'Arrangement'.", "error");
        }
        var source = selectedClipNotes(job);
        if (!source) return;
        var values = { amount: uiValue("nudge_amount", 0.2) };
        var steps = null;
        if (name === "continue") {
            var room = tools.continueBars(source.lengthBeats, live.barBeats(), uiValue("nudge_bars", 1));
            if (room.error) return showStatus(room.error, "error");
            values.bars = room.bars;
        } else if (name === "interpolate") {
            var b = live.clipAfter(live.selectedMidiClip());
            if (!b) return;
            var path = tools.pathClip(source, notesOf(b, job), live.barBeats());
            if (path.error) return showStatus(path.error, "error");
            source = path;
            steps = tools.interpolateSteps(uiValue("nudge_takes", 1));
            values.count = steps.count;
            values.splitBeats = path.splitBeats;
        }
        sendTakes(state, job, function (take) {
            if (steps) {
                take.seed = job.seed;  // every step of one path: one seed
                values.step = steps.steps[take.take];
            }
            var head = tools.head(take, values, state.model, savedStyle, uiValue, env.bankSize);
            return oscSize.varyMessages(take.id, head, source.lengthBeats, source.flat);
        }, steps ? steps.steps.length : undefined);
    }

    function audioDrumify(state, savedStyle, clip) {  // its file, part and warp markers go; drums come back
        var job = prepareJob(state, "drumify", "beside");
        if (!job) return;
        var source = tools.audioSource(live.readAudioClip(clip));
        if (source.error) return showStatus(source.error, "error");
        var where = live.clipLocation(clip);
        if (!where) return showStatus("The selected audio clip is neither in a Session slot nor in the Arrangement.",
            "error");
        job.beside = where.slot !== undefined ? { slot: where.slot } : { start: where.start };
        job.sourceName = String(live.getOne(clip, "name") || "audio");
        var probe = tools.audioMessage(tools.head({ verb: "drumify", id: 0, seed: 0 }, {}, state.model, savedStyle,
            uiValue, env.bankSize), source);
        if (oscSize.messageBytes(probe) > oscSize.MAX_REQUEST_BYTES - 16) {  // a seed or id of more digits: same size
            return showStatus("The selected audio clip has " + (source.markers || []).length + " warp markers: too " +
                "many for one request. Remove some, or switch Warp off.", "error");
        }
        sendTakes(state, job, function (take) {
            var head = tools.head(take, {}, state.model, savedStyle, uiValue, env.bankSize);
            return [tools.audioMessage(head, source)];
        });
    }

    function title(name) {
        return name.charAt(0).toUpperCase() + name.slice(1);
    }

    function pairsFor(state, take, savedStyle) {
        return exports.controlPairs(take, state.model, savedStyle, uiValue, env.bankSize);
    }

    // checks that can fail before anything is sent; destination: the menu's, or `dest` ("beside" an audio clip)
    function prepareJob(state, verb, dest) {
        if (!state.ready) return showStatus("The device is still loading.", "warning");
        if (!state.model) return showStatus("The daemon has not answered yet: see the daemon line below.", "error");
        dest = dest || exports.DESTINATIONS[Math.round(Number(uiValue("nudge_dest", 0)))] || "session";
        var fromClip = verb === "generate" || verb === "vary";  // Keep is Generate's and Nudge's
        var job = { kind: "notes", verb: verb, dest: dest, sentMs: env.clock.now(), targetClipId: 0,
            keep: fromClip ? keptVoices() : [] };
        if (dest === "replace") {
            var clip = live.selectedMidiClip();
            if (!clip) return null;
            job.targetClipId = Number(clip.id);
        } else if (!live.deviceMidiTrack()) {
            return null;
        }
        job.id = state.requests.newId();
        job.seed = clickSeed();
        job.kit = env.kit.show(false);
        return job;
    }

    function keptVoices() {  // the voices whose Keep toggle is on
        return env.voiceNames.filter(function (v) { return Number(uiValue("nudge_keep_" + v, 0)) > 0; });
    }

    function clickSeed() {  // the locked seed, or a fresh one shown on the Seed box; takes count up from it
        if (Number(uiValue("nudge_seedlock", 0))) return Math.max(0, Math.round(Number(uiValue("nudge_seed", 0))));
        var seed = Math.floor(env.clock.random() * 1000000);
        face.message("nudge_seed", "set", seed);
        return seed;
    }

    function selectedClipNotes(job) {  // the selected clip's notes as the daemon reads them (the kit's pads mapped)
        var clip = live.selectedMidiClip();
        if (!clip) return null;
        var source = notesOf(clip, job);
        if (!source) return null;
        if (job.dest === "replace") job.targetClipId = Number(clip.id);
        job.sourceName = String(live.getOne(clip, "name") || "clip");
        return source;
    }

    function notesOf(clip, job) {  // { lengthBeats, flat } of a MIDI clip's loop, or null after saying why
        var read = live.readClip(clip);
        var notes = reply.clipNotes(read.raw, read.loopStart, read.lengthBeats);
        if (notes.length > exports.MAX_CLIP_NOTES) {
            return showStatus("The selected clip has " + notes.length + " notes; Nudge varies at most " +
                exports.MAX_CLIP_NOTES + ". Shorten the clip's loop and try again.", "error");
        }
        if (job.kit) notes = rack.fromPads(notes, job.kit);
        return { lengthBeats: read.lengthBeats, flat: exports.flatNotes(notes) };
    }

    // One request per take, with consecutive seeds, all of one click in one batch (the first one's id), each
    // written to its own clip. Their messages are made now, from the controls as they are at the click.
    function sendTakes(state, job, messagesFor, forcedCount) {
        var asked = forcedCount ||
            Math.max(1, Math.min(exports.MAX_TAKES, Math.round(Number(uiValue("nudge_takes", 1)))));
        var count = job.dest === "replace" ? 1 : asked;
        var takes = [];
        for (var k = 0; k < count; k++) {
            var take = {};
            for (var key in job) take[key] = job[key];
            take.id = k === 0 ? job.id : state.requests.newId();
            take.batch = job.id;
            take.take = k;
            take.count = count;
            take.seed = job.seed + k;
            take.messages = messagesFor(take);
            takes.push(take);
        }
        if (state.requests.pendingNotes() > 0) {  // the daemon may still hold the last click's takes: drop them
            var cancelId = state.requests.newId();
            state.requests.add(cancelId, { kind: "cancel", sentMs: env.clock.now() });
            env.send(["/nudge/cancel", cancelId]);
        }
        state.requests.supersede(job.id, job.batch === undefined ? job.id : job.batch);  // the newest click writes
        state.takes = { batch: job.id, queue: takes };
        pump(state);
        var doing = { vary: "Nudging", generate: "Generating" }[job.verb] || title(job.verb) + ":";
        showStatus(doing + (count > 1 ? " " + count + " takes" : "") +
            " (#" + job.id + (count > 1 ? ".." : "") + ")...", "info");
        if (count < asked) {
            showStatus("Replacing the selected clip writes one take; choose 'new clip' for " + asked + ".",
                "warning");
        }
    }

    // Send the click's next takes while fewer than TAKES_IN_FLIGHT are on their way (call after every reply,
    // error and time-out)
    function pump(state) {
        var t = state.takes;
        while (t && t.queue.length && state.requests.pendingNotes(t.batch) < exports.TAKES_IN_FLIGHT) {
            var take = t.queue.shift();
            take.sentMs = env.clock.now();
            state.requests.add(take.id, take);
            for (var i = 0; i < take.messages.length; i++) env.send(take.messages[i]);
            delete take.messages;
        }
    }

    return { generate: generate, nudge: nudge, tool: tool, pump: pump, writtenText: exports.writtenText };
};
