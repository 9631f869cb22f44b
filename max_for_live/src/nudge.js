// Nudge — the Max for Live device's logic, for Max's [js] object (ES5: Max 8's JavaScript engine).
// OSC in from [udpreceive] via [prepend osc], OSC out of outlet 0 to [udpsend]. Wire format: docs/osc-api.md.
// Live's rules: no LiveAPI before [live.thisdevice] has banged (-> "init"); clip writes run in a deferred Task,
// never inside an observer callback or the OSC handler itself.
// This file holds the state and the messages in and out; it loads the other nudge_*.js files with Max's
// CommonJS require (docs/max-for-live.md lists what each does). What the set stores is in the patcher's
// [dict ---nudgeStore @parameter_enable 1] (nudge_saved.js); the daemon's place and pings in nudge_link.js.
autowatch = 0;
inlets = 1;
outlets = 3;  // 0: OSC to [udpsend]; 1: "port n" to [udpreceive]; 2: commands to [node.script nudge_launcher.js]

var VERSION = "0.1.0";             // the Nudge release this device belongs to (pyproject.toml; a test checks)
var BANK_SIZE = 8;                 // fixed bank of condition dials: nudge_cond1 .. nudge_cond8
var HEARTBEAT_MS = 100;            // transport + housekeeping period
var REPLY_TIMEOUT_MS = 3000;       // a note request with no answer at all
var PARTS_TIMEOUT_MS = 1000;       // a note reply whose parts stop arriving
var HISTORY_LIMIT = 16;            // results the device can step back through (saved with the set)

var reply = require("nudge_reply");
var requests = require("nudge_requests");
var history = require("nudge_history");
var unusableText = require("nudge_assembly").unusableText;
var storage = require("nudge_saved");
var faces = require("nudge_face");
var TOOLS = require("nudge_tools").TOOLS;  // the tool menu's entries
var isInt = reply.isInt;
var jsthis = this;
var face = faces.make(function () { return jsthis.patcher; }, postLine, BANK_SIZE);
var showStatus = face.status;
var uiValue = face.value;
var uiMessage = face.message;
var live = require("nudge_live").make(LiveAPI, showStatus);  // makes no LiveAPI object until used (after init)
var kit = require("nudge_kit").make(LiveAPI, live, face);  // likewise
showStatus.local = uiValue.local = uiMessage.local = isInt.local = 1;  // not messages
var clock = { now: function () { return new Date().getTime(); }, random: Math.random };
var LIMITS = { pingMs: require("nudge_link").PING_TIMEOUT_MS, replyMs: REPLY_TIMEOUT_MS, partsMs: PARTS_TIMEOUT_MS };
var saved = storage.make(HISTORY_LIMIT);  // the style by name, the dials' conditions, settings, history
var store = storage.store(Dict);          // ... kept in the patcher's stored dict (storename names it)
var legacy = null;                        // what an older set's Blob held, until the dict is known
var jobs = require("nudge_jobs").make({ face: face, live: live, kit: kit, clock: clock, send: send,
    bankSize: BANK_SIZE, voiceNames: require("nudge_kit").VOICE_NAMES });
var notesIn = require("nudge_assembly").make(clock, showStatus, PARTS_TIMEOUT_MS, queueWrite);
var state = freshState();
var link = makeLink();

function freshState() {
    return {
        ready: false, model: null, requests: requests.make(LIMITS, reply.missingParts,
            requests.randomFirstId(clock.random)),
        writes: [], streaming: false, heartbeat: null, writer: null, song: null, songObserver: null,
        stylesShown: false, takes: null, scenesAdded: 0
    };
}
freshState.local = 1;

function makeLink() {
    return require("nudge_link").make({ face: face, clock: clock, osc: send,
        receive: function (atoms) { outlet(1, atoms); }, launcher: function (atoms) { outlet(2, atoms); },
        requests: function () { return state.requests; } });
}
makeLink.local = 1;

// ---------------------------------------------------------------- lifecycle (messages from the patcher)

function storename(name) {  // [loadbang] -> [storename ---nudgeStore(: the stored dict, opened once
    store.open(String(name));
    var loaded = storage.load(store.read(), HISTORY_LIMIT);
    if (!loaded && legacy) {  // an older set: its Blob moves into the dict
        loaded = legacy;
        store.writeAll(storage.data(loaded.saved, loaded.pads));
    }
    legacy = null;
    if (loaded) adopt(loaded);
}

function init() {  // [live.thisdevice] -> [init(: the Live API is usable from here on
    if (state.ready) return;
    state.ready = true;
    state.heartbeat = new Task(heartbeat, jsthis);
    state.heartbeat.interval = HEARTBEAT_MS;
    state.heartbeat.repeat();
    state.writer = new Task(flushWrites, jsthis);
    state.song = new LiveAPI("live_set");
    state.songObserver = new LiveAPI(onSongChange, "live_set");
    state.songObserver.property = "is_playing";
    uiMessage("nudge_version", "set", "v" + VERSION);
    showStatus("Looking for the Nudge daemon...", "info");
    link.command(saved.settings.command);
    link.target(saved.settings.host, saved.settings.port);
    link.start(clock.now());
    heartbeat();
}

function adopt(loaded) {  // stored values in force: the dials' names, pads, history, where the daemon is
    saved = loaded.saved;
    kit.load(loaded.pads);
    face.restoreDialNames(saved.conditions);
    showHistory();
    if (state.ready) link.target(saved.settings.host, saved.settings.port);
}
adopt.local = 1;

function getvalueof() {  // the [js]'s own Blob: empty now (all is in the dict); kept to read older sets
    return "";
}

function setvalueof(value) {  // an older set's Blob (Live restores it before [live.thisdevice] bangs)
    var loaded = storage.load(String(value || ""), HISTORY_LIMIT);
    if (!loaded) return;
    if (!store.isOpen()) legacy = loaded;  // storename decides: the dict wins when it holds something
    else if (!store.read()) {
        store.writeAll(storage.data(loaded.saved, loaded.pads));
        adopt(loaded);
    }
}

function save(key) {  // one stored key, as it is now
    store.write(key, storage.data(saved, kit.saved())[key]);
}
save.local = 1;

function notifydeleted() {  // Max calls this when the device is removed
    if (state.heartbeat) state.heartbeat.cancel();
    if (state.writer) state.writer.cancel();
    if (state.songObserver) state.songObserver.property = "";
    state = freshState();
    link = makeLink();
    face.forget();
}

function heartbeat() {
    var now = clock.now();
    sendTransport();
    link.heartbeat(now);
    var expired = state.requests.expire(now);
    for (var i = 0; i < expired.length; i++) {
        var e = expired[i];
        showStatus(e.unusable ? unusableText(e.id, e.text) : e.text, "error");
    }
    jobs.pump(state);
}
heartbeat.local = 1;

function onSongChange(args) {  // observer callback: only sends OSC, never changes the set
    if (state.ready && args && args[0] === "is_playing") sendTransport();
}
onSongChange.local = 1;

// ---------------------------------------------------------------- settings (the daemon's place, Locate nudge...)

function replyport(port) {  // the launcher found a free UDP port for this instance's [udpreceive]
    if (isInt(port) && port >= 1 && port <= 65535) link.replyport(port);
}

function daemon(what) {  // the launcher's news: daemon <state> <text...>; shown on the daemon line
    var text = Array.prototype.slice.call(arguments, 1).join(" ");
    face.showDaemon(text);
    if (what === "missing" || what === "failed") showStatus(text, "warning");
}

function host() {  // [textedit] (its text, after "text" where it says so) -> [prepend host]
    var atoms = Array.prototype.slice.call(arguments).filter(function (a) { return a !== "text"; });
    setTarget(String(atoms.join("")), saved.settings.port);
}

function daemonport(port) {  // the port box
    setTarget(saved.settings.host, Number(port));
}

function setTarget(h, p) {
    var wrong = link.target(h, p);
    if (wrong) return showStatus(wrong, "error");
    saved.settings = storage.checkSettings({ host: h, port: p, command: saved.settings.command });
    save("settings");
    showStatus("The daemon is expected on " + link.address() + ".", "info");
}
setTarget.local = 1;

function nudgepath() {  // Locate nudge...: [opendialog] -> [prepend nudgepath], as Max gives it ("Disk:/path",
    var path = Array.prototype.slice.call(arguments).join(" ");  // "C:/path"): the launcher makes it Node's
    saved.settings.command = path;
    save("settings");
    link.command(path);
    face.showDaemon("Nudge will start " + path + " when no daemon answers.");
}

function help() {  // the ? button: the manual beside the device (its checkout's docs), else where it is
    var url = faces.manualUrl(jsthis.patcher && jsthis.patcher.filepath);
    if (url) max.launchbrowser(url);
    showStatus(url ? "Opened the manual, " + url : faces.MANUAL_TEXT, "info");
}

function style(index) {  // the style menu: a choice counts once the menu holds the model's styles
    if (!state.stylesShown || !state.model) return;
    var name = ["any"].concat(state.model.styles)[Math.round(Number(index))];
    if (name === undefined || name === saved.style) return;
    saved.style = name;
    save("style");
}

// ---------------------------------------------------------------- user actions

function generate() {  // Takes new patterns; with voices kept, the selected clip's kept voices stay in each
    state.scenesAdded = 0;
    jobs.generate(state, saved.style);
}

function nudge() {  // Takes nudges of the selected clip, each its own seed
    state.scenesAdded = 0;
    jobs.nudge(state, saved.style);
}

function tool() {  // Apply: the tool menu's tool (Groove, Drumify, ...) on the selected clip
    state.scenesAdded = 0;
    jobs.tool(state, saved.style, TOOLS[Math.round(Number(uiValue("nudge_tool", 0)))]);
}

function play(on) {  // transport goes to the daemon only while its live MIDI stream runs
    if (!state.ready) return null;  // a value on load (Play is not stored, but Max may send its initial one)
    state.streaming = !!on;
    if (on) sendTransport();
    sendSimple("play", on ? "start" : "stop");
}

function panic() {
    if (state.ready) sendSimple("play", "panic");
}

function sendSimple(kind, verb) {
    var id = state.requests.newId();
    state.requests.add(id, { kind: kind, verb: verb, sentMs: clock.now() });
    send(["/nudge/" + kind + "/" + verb, id]);
}
sendSimple.local = 1;

// ---------------------------------------------------------------- OSC in

var HANDLERS = {
    "/nudge/pong": onPong,
    "/nudge/model/info": onModelInfo,
    "/nudge/model/list": onModelList,
    "/nudge/model/loaded": onModelLoaded,
    "/nudge/notes/begin": function (args) { notesIn.begin(state.requests, args); },
    "/nudge/notes": function (args) { notesIn.part(state.requests, args); },
    "/nudge/notes/end": function (args) { notesIn.end(state.requests, args); },
    "/nudge/cancelled": function (args) { state.requests.take(args[0], "cancel"); },  // dropped: nothing to say
    "/nudge/ok": onOk,
    "/nudge/error": onError
};

function osc(address) {  // [udpreceive] -> [prepend osc] -> here: address then the message's atoms
    var args = Array.prototype.slice.call(arguments, 1);
    var handler = HANDLERS[address];
    if (!handler) return showStatus("Ignored an unknown message from the daemon: " + address, "error");
    if (!isInt(args[0])) return showStatus("Ignored " + address + " without a request id", "error");
    handler(args);
    jobs.pump(state);  // a take that ended (written, failed) makes room for the next
}

function onPong(args) {
    link.pong(args[0]);
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
    if (follow.changed) save("conditions");
}
onModelInfo.local = 1;

function onModelList(args) {  // not asked for by this device (a pong names the model); shown if it comes
    showStatus("Models: " + args.slice(2).join(", ") + " (current: " + args[1] + ")", "info");
}
onModelList.local = 1;

function onModelLoaded(args) {  // likewise; if it comes, the dials follow the new model
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
    if (p && p.kind === "cancel") return;  // a daemon without /nudge/cancel: the takes still arrive, later
    if (p && p.kind === "play" && p.verb === "start") state.streaming = false;
    var last = face.lastStatus();
    if (id === -1 && last && last.text === "Daemon: " + reason) return;  // e.g. transport, ten times a second
    showStatus("Daemon: " + reason + (p ? " (" + requests.describe(p) + ")" : ""), "error");
}
onError.local = 1;

// ---------------------------------------------------------------- history and kit (messages from the patcher)

function back() { restore(history.step(saved.history, -1), "earlier"); }  // its notes back in its clip, the dials too

function forward() { restore(history.step(saved.history, 1), "later"); }

function restore(entry, which) {
    showHistory();
    if (!entry) return showStatus("No " + which + " result.", "info");
    save("history");
    if (!state.ready) return null;
    var controls = entry.controls || {};
    for (var name in controls) uiMessage(name, controls[name]);  // the dials, as when it was made
    queueWrite({ kind: "notes", verb: "restore", where: entry.where, notes: history.noteObjects(entry.notes),
        lengthBeats: entry.lengthBeats, name: entry.name, restoring: true });
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
    if (state.ready && kit.choose(uiValue("nudge_pad_voice", 0), note)) save("pads");
}

function padauto() {  // the chosen voice back to its pad by name
    if (state.ready && kit.auto(uiValue("nudge_pad_voice", 0))) save("pads");
}

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
    var wrote = false;
    while (state.writes.length) {
        var job = state.writes.shift();
        var where = live.writeJob(job);
        if (!where) continue;
        if (job.restoring) {
            showStatus("Back to \"" + job.name + "\" (" + history.label(saved.history) + ")", "info");
            continue;
        }
        history.push(saved.history, { notes: history.flatNotes(job.notes), lengthBeats: job.lengthBeats,
            name: job.name, where: job.where, controls: job.controls });
        wrote = true;
        state.scenesAdded += job.scenesAdded;
        showStatus(jobs.writtenText(job, where, state.scenesAdded), "info");
    }
    if (wrote) {
        history.trim(saved.history, storage.HISTORY_MAX_BYTES);
        showHistory();
        save("history");
    }
}
flushWrites.local = 1;

function postLine(text) {  // one line in the Max window
    post(text + "\n");
}
postLine.local = 1;
