// Nudge — the Max for Live device's logic, for Max's [js] object (ES5: Max 8's JavaScript engine).
// OSC in from [udpreceive] via [prepend osc], OSC out of outlet 0 to [udpsend]. Wire format: docs/osc-api.md.
// Live's rules: no LiveAPI before [live.thisdevice] has banged (-> "init"); clip writes run in a deferred Task,
// never inside an observer callback or the OSC handler itself.
// The files travel together; this one (state, messages in and out) loads the others with Max's CommonJS
// require: nudge_reply.js (replies as data), nudge_requests.js (requests in flight), nudge_live.js (the Live
// set), nudge_face.js (the device's controls), nudge_osc.js (datagram sizes), nudge_history.js (back and
// forward through the results), nudge_drum_rack.js and nudge_kit.js (the track's kit), nudge_jobs.js (a
// click's requests), nudge_assembly.js (note replies reassembled), nudge_saved.js (what the set stores).
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
var DAEMON_ADDRESS = "127.0.0.1:9000";  // the patcher's [udpsend 127.0.0.1 9000]
var HISTORY_LIMIT = 16;            // results the device can step back through (saved with the set)

var reply = require("nudge_reply");
var requests = require("nudge_requests");
var history = require("nudge_history");
var unusableText = require("nudge_assembly").unusableText;
var LIMITS = { pingMs: PING_TIMEOUT_MS, replyMs: REPLY_TIMEOUT_MS, partsMs: PARTS_TIMEOUT_MS };
var isInt = reply.isInt;
var jsthis = this;
var face = require("nudge_face").make(function () { return jsthis.patcher; }, postLine, BANK_SIZE);
var showStatus = face.status;
var uiValue = face.value;
var uiMessage = face.message;
var live = require("nudge_live").make(LiveAPI, showStatus);  // makes no LiveAPI object until used (after init)
var kit = require("nudge_kit").make(LiveAPI, live, face);  // likewise
showStatus.local = uiValue.local = uiMessage.local = isInt.local = 1;  // not messages
var clock = { now: function () { return new Date().getTime(); }, random: Math.random };
// what the Live set stores for this device (setvalueof): the style by name, the dials' conditions, the
// history (and, in `kit`, the producer's own pad for a voice)
var storage = require("nudge_saved");
var saved = storage.make(HISTORY_LIMIT);
var jobs = require("nudge_jobs").make({ face: face, live: live, kit: kit, clock: clock, send: send,
    bankSize: BANK_SIZE, voiceNames: require("nudge_kit").VOICE_NAMES });
var notesIn = require("nudge_assembly").make(clock, showStatus, PARTS_TIMEOUT_MS, queueWrite);
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
    return storage.save(saved, kit.saved());
}

function setvalueof(value) {  // Live restores it before [live.thisdevice] bangs
    var loaded = storage.load(value, HISTORY_LIMIT);
    if (!loaded) return;  // not ours (e.g. an empty value from an older version): keep the defaults
    saved = loaded.saved;
    kit.load(loaded.pads);
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
    jobs.generate(state, saved.style);
}

function nudge() {  // Takes nudges of the selected clip, each its own seed
    jobs.nudge(state, saved.style);
}

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
    var follow = storage.followModel(saved, model, BANK_SIZE);  // the dials take the model's conditions
    uiMessage("nudge_style", "set", follow.styleIndex + 1);  // "set": no output, so the restored name stays
    if (follow.warning) showStatus(follow.warning, "warning");
    if (follow.changed) notifyclients();
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
    queueWrite({ kind: "notes", verb: "restore", dest: "replace", targetClipId: entry.clipId,
        notes: entry.notes, lengthBeats: entry.lengthBeats, name: entry.name, restoring: true });
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
    notesIn.begin(state.requests, args);
}
onNotesBegin.local = 1;

function onNotesPart(args) {
    notesIn.part(state.requests, args);
}
onNotesPart.local = 1;

function onNotesEnd(args) {
    notesIn.end(state.requests, args);
}
onNotesEnd.local = 1;

function queueWrite(job) {  // deferred: the clip is written by the writer Task, outside any OSC callback
    state.writes.push(job);
    state.writer.schedule(0);
}
queueWrite.local = 1;

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
