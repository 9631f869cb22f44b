// Nudge — the Max for Live device's logic, for Max's [js] object (ES5: Max 8's JavaScript engine).
// OSC in from [udpreceive] via [prepend osc], OSC out of outlet 0 to [udpsend]. Wire format: docs/osc-api.md.
// Live's rules: no LiveAPI before [live.thisdevice] has banged (-> "init"); clip writes run in a deferred Task,
// never inside an observer callback or the OSC handler itself.
// The files travel together; this one (state, messages in and out) loads the others with Max's CommonJS
// require: nudge_reply.js (replies as data), nudge_requests.js (requests in flight), nudge_live.js (the Live
// set), nudge_face.js (the device's controls), nudge_osc.js (datagram sizes), nudge_history.js (back and
// forward through the results), nudge_drum_rack.js and nudge_kit.js (the track's kit).
autowatch = 1;
inlets = 1;
outlets = 3;  // 0: OSC to [udpsend]; 1: "port n" to [udpreceive]; 2: commands to [node.script nudge_launcher.js]

var BANK_SIZE = 8;                 // fixed bank of condition dials: nudge_cond1 .. nudge_cond8
var HEARTBEAT_MS = 100;            // transport + housekeeping period
var PING_EVERY_MS = 1000;
var PING_TIMEOUT_MS = 2500;        // no pong for this long: the daemon is not running
var REPLY_TIMEOUT_MS = 3000;       // a note request with no answer at all
var PARTS_TIMEOUT_MS = 1000;       // a note reply whose parts stop arriving
var LAUNCHER_WAIT_MS = 4000;       // no reply port from the launcher by then: Node for Max is not running
var ENSURE_EVERY_MS = 5000;        // while offline, ask the launcher this often to start the daemon
var MAX_CLIP_NOTES = 1024;         // the most notes the daemon varies (companion.osc.api.MAX_CLIP_NOTES)
var MAX_CLIP_PARTS = 16;           // /nudge/vary/part messages of one clip (companion.osc.api.MAX_CLIP_PARTS)
var DESTINATIONS = ["session", "replace", "arrangement"];
var DAEMON_ADDRESS = "127.0.0.1:9000";  // the patcher's [udpsend 127.0.0.1 9000]
var MAX_TAKES = 16;                // results per click (Takes), each in its own clip
var HISTORY_LIMIT = 16;            // results the device can step back through (saved with the set)

var reply = require("nudge_reply");
var requests = require("nudge_requests");
var oscSize = require("nudge_osc");
var history = require("nudge_history");
var rack = require("nudge_drum_rack");
var VOICE_NAMES = require("nudge_kit").VOICE_NAMES;
var LIMITS = { pingMs: PING_TIMEOUT_MS, replyMs: REPLY_TIMEOUT_MS, partsMs: PARTS_TIMEOUT_MS };
var isInt = reply.isInt;
var clamp01 = reply.clamp01;
var jsthis = this;
var face = require("nudge_face").make(function () { return jsthis.patcher; }, postLine, BANK_SIZE);
var showStatus = face.status;
var uiValue = face.value;
var uiMessage = face.message;
var live = require("nudge_live").make(LiveAPI, showStatus);  // makes no LiveAPI object until used (after init)
var kit = require("nudge_kit").make(LiveAPI, live, face);  // likewise
showStatus.local = uiValue.local = uiMessage.local = isInt.local = clamp01.local = 1;  // not messages
var clock = { now: function () { return new Date().getTime(); }, random: Math.random };
// what the Live set stores for this device (setvalueof): the style by name, the dials' conditions, the
// history (and, in `kit`, the producer's own pad for a voice)
var saved = { style: "any", conditions: [], history: history.make(HISTORY_LIMIT) };
var state = freshState();

function freshState() {
    return {
        ready: false, model: null, online: null, aliveMs: 0, lastPingMs: -PING_EVERY_MS, rttMs: -1,
        requests: requests.make(LIMITS, reply.missingParts, requests.randomFirstId(clock.random)),
        writes: [], streaming: false, heartbeat: null, writer: null, song: null, songObserver: null,
        initMs: 0, replyPort: 0, launcher: false, ensureMs: -ENSURE_EVERY_MS, stylesShown: false
    };
}
freshState.local = 1;

// ---------------------------------------------------------------- lifecycle (messages from the patcher)

function init() {  // [live.thisdevice] -> [init(: the Live API is usable from here on
    if (state.ready) return;
    state.ready = true;
    state.aliveMs = state.initMs = clock.now();
    state.heartbeat = new Task(heartbeat, jsthis);
    state.heartbeat.interval = HEARTBEAT_MS;
    state.heartbeat.repeat();
    state.writer = new Task(flushWrites, jsthis);
    state.song = new LiveAPI("live_set");
    state.songObserver = new LiveAPI(onSongChange, "live_set");
    state.songObserver.property = "is_playing";
    showStatus("Looking for the Nudge daemon...", "info");
    if (state.replyPort) listenOn(state.replyPort);
    heartbeat();
}

// ---------------------------------------------------------------- the launcher ([node.script nudge_launcher.js])

function replyport(port) {  // the launcher found a free UDP port for this instance's [udpreceive]
    if (!isInt(port) || port < 1 || port > 65535) return;
    state.launcher = true;
    state.replyPort = port;
    if (state.ready) listenOn(port);
}

function daemon(what) {  // the launcher's news: daemon <state> <text...>; shown on the daemon line
    var text = Array.prototype.slice.call(arguments, 1).join(" ");
    face.showDaemon(text);
    if (what === "missing" || what === "failed") showStatus(text, "warning");
}

function listenOn(port) {  // [udpreceive] moves to the port; a ping tells the daemon at once
    outlet(1, "port", port);
    sendPing(clock.now());
}
listenOn.local = 1;

function useFallbackPort() {  // no Node for Max: a random port in the dynamic range, and no daemon start
    state.replyPort = 49152 + Math.floor(clock.random() * 16384);
    listenOn(state.replyPort);
    face.showDaemon("Node for Max is not running: start the daemon yourself with `nudge serve`.");
}
useFallbackPort.local = 1;

// ---------------------------------------------------------------- what the Live set stores ([js] as a parameter)

function getvalueof() {  // the style by name, the dials' conditions, pads and history (a Blob parameter)
    return JSON.stringify({ style: saved.style, conditions: saved.conditions, pads: kit.saved(),
        history: history.save(saved.history) });
}

function setvalueof(value) {  // Live restores it before [live.thisdevice] bangs
    var v;
    try {
        v = JSON.parse(String(value));
    } catch (e) {
        return;  // not ours (e.g. an empty value from an older version): keep the defaults
    }
    if (!v || typeof v !== "object") return;
    saved = { style: typeof v.style === "string" && v.style ? v.style : "any",
        conditions: Array.isArray(v.conditions) ? v.conditions.map(String) : [],
        history: history.load(String(v.history || ""), HISTORY_LIMIT) };
    kit.load(v.pads);
    face.restoreDialNames(saved.conditions);
    showHistory();
}

function style(index) {  // the style menu: a choice counts once the menu holds the model's styles
    if (!state.stylesShown || !state.model) return;
    var name = ["any"].concat(state.model.styles)[Math.round(Number(index))];
    if (name === undefined || name === saved.style) return;
    saved.style = name;
    notifyclients();
}

function notifydeleted() {  // Max calls this when the device is removed
    if (state.heartbeat) state.heartbeat.cancel();
    if (state.writer) state.writer.cancel();
    if (state.songObserver) state.songObserver.property = "";
    state = freshState();
    face.forget();
}

function heartbeat() {
    var now = clock.now();
    sendTransport();
    if (!state.replyPort && now - state.initMs >= LAUNCHER_WAIT_MS) useFallbackPort();
    if (state.replyPort && now - state.lastPingMs >= PING_EVERY_MS) sendPing(now);
    if (state.online !== false && now - state.aliveMs > PING_TIMEOUT_MS) setOnline(false);
    if (state.online === false && state.launcher && now - state.ensureMs >= ENSURE_EVERY_MS) {
        state.ensureMs = now;
        outlet(2, "ensure");  // the launcher starts `nudge serve` unless something holds the daemon's port
    }
    var expired = state.requests.expire(now);
    for (var i = 0; i < expired.length; i++) {
        var e = expired[i];
        showStatus(e.unusable ? unusableText(e.id, e.text) : e.text, "error");
    }
}
heartbeat.local = 1;

function onSongChange(args) {  // observer callback: only sends OSC, never changes the set
    if (state.ready && args && args[0] === "is_playing") sendTransport();
}
onSongChange.local = 1;

// ---------------------------------------------------------------- user actions

function generate() {  // Takes new patterns; with voices kept, the selected clip's kept voices stay in each
    var job = prepareJob("generate");
    if (!job) return;
    var source = job.keep.length ? selectedClipNotes(job) : null;
    if (job.keep.length && !source) return;
    sendTakes(job, function (take) {
        var head = ["/nudge/generate", take.id].concat(controlPairs(take));
        return source ? varyMessages(take.id, head, source.lengthBeats, source.flat) : [head];
    });
}

function nudge() {  // Takes nudges of the selected clip, each its own seed
    var job = prepareJob("vary");
    if (!job) return;
    var source = selectedClipNotes(job);
    if (!source) return;
    var amount = clamp01(Number(uiValue("nudge_amount", 0.2)));
    sendTakes(job, function (take) {
        var head = ["/nudge/vary", take.id, amount].concat(controlPairs(take));
        return varyMessages(take.id, head, source.lengthBeats, source.flat);
    });
}

function selectedClipNotes(job) {  // the selected clip's notes as the daemon reads them (the kit's pads mapped)
    var clip = live.selectedMidiClip();
    if (!clip) return null;
    var read = live.readClip(clip);
    var notes = reply.clipNotes(read.raw, read.loopStart, read.lengthBeats);
    if (notes.length > MAX_CLIP_NOTES) {
        return showStatus("The selected clip has " + notes.length + " notes; Nudge varies at most " +
            MAX_CLIP_NOTES + ". Shorten the clip's loop and try again.", "error");
    }
    if (job.dest === "replace") job.targetClipId = Number(clip.id);
    if (job.kit) notes = rack.fromPads(notes, job.kit);
    var flat = [];
    for (var i = 0; i < notes.length; i++) {
        var n = notes[i];
        flat.push(n.pitch, n.start_time, n.duration, n.velocity);
    }
    job.sourceName = String(live.getOne(clip, "name") || "clip");
    return { lengthBeats: read.lengthBeats, flat: flat };
}
selectedClipNotes.local = 1;

// One request per take, with consecutive seeds; all of one click share its first id as their batch, so none
// supersedes another, and each writes its own clip (the next empty slot, the next free Arrangement place)
function sendTakes(job, messagesFor) {
    var asked = Math.max(1, Math.min(MAX_TAKES, Math.round(Number(uiValue("nudge_takes", 1)))));
    var count = job.dest === "replace" ? 1 : asked;
    for (var k = 0; k < count; k++) {
        var take = {};
        for (var key in job) take[key] = job[key];
        take.id = k === 0 ? job.id : state.requests.newId();
        take.batch = job.id;
        take.take = k;
        take.seed = job.seed + k;
        sendNoteRequest(take, messagesFor(take));
    }
    if (count > 1) showStatus((job.verb === "vary" ? "Nudging" : "Generating") + " " + count + " takes (#" +
        job.id + "..)...", "info");
    if (count < asked) {
        showStatus("Replacing the selected clip writes one take; choose 'new clip' for " + asked + ".", "warning");
    }
}
sendTakes.local = 1;

// One /nudge/vary, or, for a clip too long for one datagram that every system sends, its notes ahead in
// /nudge/vary/part messages and then the /nudge/vary that says how many (docs/osc-api.md)
function varyMessages(id, head, lengthBeats, flat) {
    var limit = oscSize.MAX_REQUEST_BYTES;
    var whole = head.concat(["notes", lengthBeats], flat);
    if (oscSize.messageBytes(whole) <= limit) return [whole];
    var perPart = oscSize.notesThatFit(["/nudge/vary/part", id, MAX_CLIP_PARTS - 1, MAX_CLIP_PARTS], limit);
    var nParts = Math.ceil(flat.length / 4 / perPart);
    var messages = [];
    for (var p = 0; p < nParts; p++) {
        messages.push(["/nudge/vary/part", id, p, nParts].concat(flat.slice(p * perPart * 4, (p + 1) * perPart * 4)));
    }
    messages.push(head.concat(["parts", nParts, "notes", lengthBeats]));
    return messages;
}
varyMessages.local = 1;


function play(on) {  // transport goes to the daemon only while its live MIDI stream runs
    if (!state.ready) return null;  // a value on load (Play is not stored, but Max may send its initial one)
    state.streaming = !!on;
    if (on) sendTransport();
    var id = state.requests.newId();
    state.requests.add(id, { kind: "play", verb: on ? "start" : "stop", sentMs: clock.now() });
    send(["/nudge/play/" + (on ? "start" : "stop"), id]);
}

function panic() {
    if (!state.ready) return;
    var id = state.requests.newId();
    state.requests.add(id, { kind: "play", verb: "panic", sentMs: clock.now() });
    send(["/nudge/play/panic", id]);
}

// ---------------------------------------------------------------- OSC in

var HANDLERS = {
    "/nudge/pong": onPong,
    "/nudge/model/info": onModelInfo,
    "/nudge/model/list": onModelList,
    "/nudge/model/loaded": onModelLoaded,
    "/nudge/notes/begin": onNotesBegin,
    "/nudge/notes": onNotesPart,
    "/nudge/notes/end": onNotesEnd,
    "/nudge/ok": onOk,
    "/nudge/error": onError
};

function osc(address) {  // [udpreceive] -> [prepend osc] -> here: address then the message's atoms
    var args = Array.prototype.slice.call(arguments, 1);
    var handler = HANDLERS[address];
    if (!handler) return showStatus("Ignored an unknown message from the daemon: " + address, "error");
    if (!isInt(args[0])) return showStatus("Ignored " + address + " without a request id", "error");
    handler(args);
}

function onPong(args) {
    var p = state.requests.get(args[0]);
    var now = clock.now();
    if (p && p.kind === "ping") {
        state.rttMs = now - p.sentMs;
        state.requests.take(args[0], "ping");
    }
    state.aliveMs = now;
    setOnline(true);
    uiMessage("nudge_rtt", "set", state.rttMs >= 0 ? state.rttMs + " ms" : "-");
    var modelName = String(args[2]);
    if (!state.model || state.model.name !== modelName) requestModelInfo();
}
onPong.local = 1;

function onModelInfo(args) {
    state.requests.take(args[0], "info");
    var model = reply.parseModelInfo(args);
    if (typeof model === "string") return showStatus("Malformed model info from the daemon: " + model, "error");
    state.model = model;
    face.showModel(model);
    state.stylesShown = true;
    var index = model.styles.indexOf(saved.style);
    uiMessage("nudge_style", "set", index + 1);  // "set": no output, so the restored name stays as it is
    var names = model.conditions.slice(0, BANK_SIZE).map(function (c) { return c.name; });
    var before = saved.conditions.join(", ");
    if (saved.style !== "any" && index < 0) {
        showStatus("This set chose style " + saved.style + ", which model " + model.name + " lacks: using any.",
            "warning");
    } else if (before && before !== names.join(", ")) {
        showStatus("The dials were saved for " + before + "; model " + model.name + " has " + names.join(", ") +
            ": the dials were renamed, check their automation.", "warning");
    }
    if (before !== names.join(", ")) {
        saved.conditions = names;
        notifyclients();
    }
}
onModelInfo.local = 1;

function onModelList(args) {  // not asked for by this device (a pong names the model); shown if it comes
    showStatus("Models: " + args.slice(2).join(", ") + " (current: " + args[1] + ")", "info");
}
onModelList.local = 1;

function onModelLoaded(args) {  // likewise: not asked for here; if it comes, the dials follow the new model
    showStatus("Model " + args[1] + " loaded", "info");
    requestModelInfo();
}
onModelLoaded.local = 1;

function onOk(args) {
    var p = state.requests.take(args[0], "play");  // a stray ok never ends a note request
    if (p) {
        var text = { start: "Live MIDI stream started", stop: "Live MIDI stream stopped", panic: "All notes off" };
        showStatus(text[p.verb], "info");
    }
}
onOk.local = 1;

function onError(args) {
    var id = args[0];
    var reason = String(args[1] === undefined ? "unknown error" : args[1]);
    var p = state.requests.fail(id);
    if (p && p.kind === "play" && p.verb === "start") state.streaming = false;
    var last = face.lastStatus();
    if (id === -1 && last && last.text === "Daemon: " + reason) return;  // e.g. transport, ten times a second
    showStatus("Daemon: " + reason + (p ? " (" + requests.describe(p) + ")" : ""), "error");
}
onError.local = 1;

// ---------------------------------------------------------------- history and kit (messages from the patcher)

function back() {  // the previous result: its notes back in its clip, the dials as they were
    restore(history.step(saved.history, -1), "earlier");
}

function forward() {
    restore(history.step(saved.history, 1), "later");
}

function restore(entry, which) {
    showHistory();
    if (!entry) return showStatus("No " + which + " result.", "info");
    if (!state.ready) return null;
    var controls = entry.controls || {};
    for (var name in controls) uiMessage(name, controls[name]);  // the dials, as when it was made
    state.writes.push({ kind: "notes", verb: "restore", dest: "replace", targetClipId: entry.clipId,
        notes: entry.notes, lengthBeats: entry.lengthBeats, name: entry.name, restoring: true });
    state.writer.schedule(0);
}
restore.local = 1;

function showHistory() {
    uiMessage("nudge_history_pos", "set", history.label(saved.history));
}
showHistory.local = 1;

function padvoice(index) {  // the Kit row: the voice menu shows the pad the voice plays
    if (state.ready) kit.showVoice(index);
}

function padnote(note) {  // the producer's own pad for the chosen voice (not while the set loads)
    if (state.ready && kit.choose(uiValue("nudge_pad_voice", 0), note)) notifyclients();
}

function padauto() {  // the chosen voice back to its pad by name
    if (state.ready && kit.auto(uiValue("nudge_pad_voice", 0))) notifyclients();
}

// --- note replies: begin, n parts (any order), end

function onNotesBegin(args) {
    var asm = assemblyFor(args[0]);
    if (!asm) return;
    var bad = reply.readBegin(asm, args.slice(1));
    if (bad) return failAssembly(args[0], bad);
    tryComplete(args[0]);
}
onNotesBegin.local = 1;

function onNotesPart(args) {
    var asm = assemblyFor(args[0]);
    if (!asm) return;
    var bad = reply.readPart(asm, args.slice(1));
    if (bad) return failAssembly(args[0], bad);
    tryComplete(args[0]);
}
onNotesPart.local = 1;

function onNotesEnd(args) {
    var asm = assemblyFor(args[0]);
    if (!asm) return;
    asm.endSeen = true;
    asm.deadlineMs = Math.min(asm.deadlineMs, clock.now() + PARTS_TIMEOUT_MS / 2);
    tryComplete(args[0]);
}
onNotesEnd.local = 1;

function assemblyFor(id) {  // the reassembly buffer for a reply we still want, else say (once) why not
    var r = state.requests;
    if (!r.wantsNotes(id)) {
        var why = r.late(id);
        return why ? showStatus(why, "warning") : null;
    }
    return r.assembly(id) || r.setAssembly(id, reply.newAssembly(clock.now() + PARTS_TIMEOUT_MS));
}
assemblyFor.local = 1;

function tryComplete(id) {
    var asm = state.requests.assembly(id);
    var done = reply.assemble(asm);
    if (!done) return;
    if (done.error) return failAssembly(id, done.error);
    var job = state.requests.take(id);
    job.notes = job.kit ? rack.toPads(done.notes, job.kit) : done.notes;
    job.lengthBeats = asm.lengthBeats;  // the device's name says the style, the sliders and the seed
    state.writes.push(job);
    state.writer.schedule(0);  // deferred: the clip is written outside this OSC callback
}
tryComplete.local = 1;

function failAssembly(id, why) {
    state.requests.fail(id);
    showStatus(unusableText(id, why), "error");
}
failAssembly.local = 1;

function unusableText(id, why) {
    return "Reply #" + id + " was unusable (" + why + "); nothing was written.";
}
unusableText.local = 1;

// ---------------------------------------------------------------- OSC out

function send(atoms) {
    outlet(0, atoms);
}
send.local = 1;

function sendPing(now) {
    var id = state.requests.newId();
    state.lastPingMs = now;
    state.requests.add(id, { kind: "ping", sentMs: now });
    send(["/nudge/ping", id, state.replyPort]);  // [udpsend] cannot receive: replies go to [udpreceive]'s port
}
sendPing.local = 1;

function requestModelInfo() {
    var id = state.requests.newId();
    state.requests.add(id, { kind: "info", sentMs: clock.now() });
    send(["/nudge/model/info", id]);
}
requestModelInfo.local = 1;

function sendTransport() {
    if (!state.ready || !state.streaming) return;
    var song = state.song;
    send(["/nudge/transport", Number(live.getOne(song, "tempo")), Number(live.getOne(song, "current_song_time")),
        live.getOne(song, "is_playing") ? 1 : 0]);
}
sendTransport.local = 1;

function prepareJob(verb) {  // checks that can fail before anything is sent
    if (!state.ready) return showStatus("The device is still loading.", "warning");
    if (!state.model) return showStatus("The daemon has not answered yet: see the daemon line below.", "error");
    var dest = DESTINATIONS[Math.round(Number(uiValue("nudge_dest", 0)))] || "session";
    var job = { kind: "notes", verb: verb, dest: dest, sentMs: clock.now(), targetClipId: 0, keep: keptVoices() };
    if (dest === "replace") {
        var clip = live.selectedMidiClip();
        if (!clip) return null;
        job.targetClipId = Number(clip.id);
    } else if (!live.deviceMidiTrack()) {
        return null;
    }
    job.id = state.requests.newId();
    job.seed = clickSeed();
    job.kit = kit.show(false);
    return job;
}
prepareJob.local = 1;

function keptVoices() {  // the voices whose Keep toggle is on
    return VOICE_NAMES.filter(function (v) { return Number(uiValue("nudge_keep_" + v, 0)) > 0; });
}
keptVoices.local = 1;

function clickSeed() {  // the locked seed, or a fresh one shown on the Seed box; takes count up from it
    if (Number(uiValue("nudge_seedlock", 0))) return Math.max(0, Math.round(Number(uiValue("nudge_seed", 0))));
    var seed = Math.floor(clock.random() * 1000000);
    uiMessage("nudge_seed", "set", seed);
    return seed;
}
clickSeed.local = 1;

function controlPairs(job) {  // key/value pairs shared by generate and vary
    var bars = Math.max(1, Math.min(8, Math.round(Number(uiValue("nudge_bars", 4)))));
    var style = state.model.styles.indexOf(saved.style) >= 0 ? saved.style : "any";
    var seed = job.seed;
    var pairs = ["bars", bars, "style", style, "seed", seed];
    var label = [style];
    var conds = state.model.conditions;
    job.controls = { nudge_bars: bars, nudge_seed: seed, nudge_amount: Number(uiValue("nudge_amount", 0.2)) };
    for (var i = 0; i < conds.length && i < BANK_SIZE; i++) {
        var v = clamp01(Number(uiValue("nudge_cond" + (i + 1), conds[i].defaultValue)));
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
}
controlPairs.local = 1;

function sendNoteRequest(job, messages) {
    state.requests.supersede(job.id, job.batch);  // only the newest click's requests may write clips
    state.requests.add(job.id, job);
    for (var i = 0; i < messages.length; i++) send(messages[i]);
    showStatus((job.verb === "vary" ? "Nudging" : "Generating") + " (#" + job.id + ")...", "info");
}
sendNoteRequest.local = 1;

// ---------------------------------------------------------------- writing clips (runs in the writer Task)

function flushWrites() {
    while (state.writes.length) {
        var job = state.writes.shift();
        var where = live.writeJob(job);
        if (where && job.restoring) {
            showStatus("Back to \"" + job.name + "\" (" + history.label(saved.history) + ")", "info");
        } else if (where) {
            history.push(saved.history, { notes: job.notes, lengthBeats: job.lengthBeats, name: job.name,
                clipId: job.clipId, controls: job.controls });
            showHistory();
            notifyclients();
            showStatus("Wrote " + job.notes.length + " notes to " + where + ": \"" + job.name + "\"", "info");
        }
    }
}
flushWrites.local = 1;

// ---------------------------------------------------------------- the device's face

function setOnline(online) {
    if (state.online === online) return;
    state.online = online;
    face.showOnline(online);
    if (online) return;
    showStatus("The daemon does not answer on " + DAEMON_ADDRESS + (state.launcher ? ": starting `nudge serve`..." :
        ": start it with `nudge serve`."), "warning");
}
setOnline.local = 1;

function postLine(text) {  // one line in the Max window
    post(text + "\n");
}
postLine.local = 1;
