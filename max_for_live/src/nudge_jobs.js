// Nudge — note requests out: a Generate or Nudge click made into Takes, each one request of OSC messages
// (docs/osc-api.md). The controls are read through the device's face, the clip through nudge_live; the
// caller passes its state (ready, model, requests) and the saved style on each click.
// A CommonJS module as Max's [js] loads it (`require("nudge_jobs")`; Max knows `exports`). ES5 only.
//   var jobs = require("nudge_jobs").make({ face: face, live: live, kit: kit, clock: clock, send: send,
//       bankSize: 8, voiceNames: VOICE_NAMES });

var reply = require("nudge_reply");
var oscSize = require("nudge_osc");
var rack = require("nudge_drum_rack");

exports.MAX_CLIP_NOTES = 1024;  // the most notes the daemon varies (companion.osc.api.MAX_CLIP_NOTES)
exports.MAX_CLIP_PARTS = 16;    // /nudge/vary/part messages of one clip (companion.osc.api.MAX_CLIP_PARTS)
exports.MAX_TAKES = 16;         // results per click (Takes), each in its own clip
exports.DESTINATIONS = ["session", "replace", "arrangement"];

// One /nudge/vary, or, for a clip too long for one datagram that every system sends, its notes ahead in
// /nudge/vary/part messages and then the /nudge/vary that says how many (docs/osc-api.md)
exports.varyMessages = function (id, head, lengthBeats, flat) {
    var limit = oscSize.MAX_REQUEST_BYTES;
    var whole = head.concat(["notes", lengthBeats], flat);
    if (oscSize.messageBytes(whole) <= limit) return [whole];
    var parts = exports.MAX_CLIP_PARTS;
    var perPart = oscSize.notesThatFit(["/nudge/vary/part", id, parts - 1, parts], limit);
    var nParts = Math.ceil(flat.length / 4 / perPart);
    var messages = [];
    for (var p = 0; p < nParts; p++) {
        messages.push(["/nudge/vary/part", id, p, nParts].concat(flat.slice(p * perPart * 4, (p + 1) * perPart * 4)));
    }
    messages.push(head.concat(["parts", nParts, "notes", lengthBeats]));
    return messages;
};

// notes as objects -> pitch, start, duration, velocity, ... as the daemon reads them
exports.flatNotes = function (notes) {
    var flat = [];
    for (var i = 0; i < notes.length; i++) {
        var n = notes[i];
        flat.push(n.pitch, n.start_time, n.duration, n.velocity);
    }
    return flat;
};

// key/value pairs shared by generate and vary; sets job.controls (the dials, for the history) and job.name.
// value(name, fallback): a control's value (nudge_face's); model: { styles, conditions: [{ name, defaultValue }] }
exports.controlPairs = function (job, model, savedStyle, value, bankSize) {
    var bars = Math.max(1, Math.min(8, Math.round(Number(value("nudge_bars", 4)))));
    var style = model.styles.indexOf(savedStyle) >= 0 ? savedStyle : "any";
    var seed = job.seed;
    var pairs = ["bars", bars, "style", style, "seed", seed];
    var label = [style];
    var conds = model.conditions;
    job.controls = { nudge_bars: bars, nudge_seed: seed, nudge_amount: Number(value("nudge_amount", 0.2)) };
    for (var i = 0; i < conds.length && i < bankSize; i++) {
        var v = reply.clamp01(Number(value("nudge_cond" + (i + 1), conds[i].defaultValue)));
        pairs.push(conds[i].name, v);
        label.push(conds[i].name.slice(0, 4) + Math.round(v * 100));
        job.controls["nudge_cond" + (i + 1)] = v;
    }
    if (job.keep.length) {
        pairs.push("keep", job.keep.join(","));
        label.push("keep " + job.keep.join("+"));
    }
    job.name = (job.verb === "vary" ? "Nudge " : "Nudge gen ") + label.join(" ") + " s" + seed + " #" + job.id;
    return pairs;
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
            return source ? exports.varyMessages(take.id, head, source.lengthBeats, source.flat) : [head];
        });
    }

    function nudge(state, savedStyle) {  // Takes nudges of the selected clip, each its own seed
        var job = prepareJob(state, "vary");
        if (!job) return;
        var source = selectedClipNotes(job);
        if (!source) return;
        var amount = reply.clamp01(Number(uiValue("nudge_amount", 0.2)));
        sendTakes(state, job, function (take) {
            var head = ["/nudge/vary", take.id, amount].concat(pairsFor(state, take, savedStyle));
            return exports.varyMessages(take.id, head, source.lengthBeats, source.flat);
        });
    }

    function pairsFor(state, take, savedStyle) {
        return exports.controlPairs(take, state.model, savedStyle, uiValue, env.bankSize);
    }

    function prepareJob(state, verb) {  // checks that can fail before anything is sent
        if (!state.ready) return showStatus("The device is still loading.", "warning");
        if (!state.model) return showStatus("The daemon has not answered yet: see the daemon line below.", "error");
        var dest = exports.DESTINATIONS[Math.round(Number(uiValue("nudge_dest", 0)))] || "session";
        var job = { kind: "notes", verb: verb, dest: dest, sentMs: env.clock.now(), targetClipId: 0,
            keep: keptVoices() };
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
        var read = live.readClip(clip);
        var notes = reply.clipNotes(read.raw, read.loopStart, read.lengthBeats);
        if (notes.length > exports.MAX_CLIP_NOTES) {
            return showStatus("The selected clip has " + notes.length + " notes; Nudge varies at most " +
                exports.MAX_CLIP_NOTES + ". Shorten the clip's loop and try again.", "error");
        }
        if (job.dest === "replace") job.targetClipId = Number(clip.id);
        if (job.kit) notes = rack.fromPads(notes, job.kit);
        job.sourceName = String(live.getOne(clip, "name") || "clip");
        return { lengthBeats: read.lengthBeats, flat: exports.flatNotes(notes) };
    }

    // One request per take, with consecutive seeds; all of one click share its first id as their batch, so
    // none supersedes another, and each writes its own clip (the next empty slot, the next free Arrangement place)
    function sendTakes(state, job, messagesFor) {
        var asked = Math.max(1, Math.min(exports.MAX_TAKES, Math.round(Number(uiValue("nudge_takes", 1)))));
        var count = job.dest === "replace" ? 1 : asked;
        for (var k = 0; k < count; k++) {
            var take = {};
            for (var key in job) take[key] = job[key];
            take.id = k === 0 ? job.id : state.requests.newId();
            take.batch = job.id;
            take.take = k;
            take.seed = job.seed + k;
            sendNoteRequest(state, take, messagesFor(take));
        }
        if (count > 1) showStatus((job.verb === "vary" ? "Nudging" : "Generating") + " " + count + " takes (#" +
            job.id + "..)...", "info");
        if (count < asked) {
            showStatus("Replacing the selected clip writes one take; choose 'new clip' for " + asked + ".",
                "warning");
        }
    }

    function sendNoteRequest(state, job, messages) {
        state.requests.supersede(job.id, job.batch);  // only the newest click's requests may write clips
        state.requests.add(job.id, job);
        for (var i = 0; i < messages.length; i++) env.send(messages[i]);
        showStatus((job.verb === "vary" ? "Nudging" : "Generating") + " (#" + job.id + ")...", "info");
    }

    return { generate: generate, nudge: nudge };
};
