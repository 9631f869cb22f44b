// Nudge — the Max for Live device's logic, for Max's [js] object (ES5: Max 8's JavaScript engine).
// OSC in from [udpreceive] via [prepend osc], OSC out of outlet 0 to [udpsend]. Wire format: docs/osc-api.md.
// Live's rules: no LiveAPI before [live.thisdevice] has banged (-> "init"); clip writes run in a deferred Task,
// never inside an observer callback or the OSC handler itself.
autowatch = 1;
inlets = 1;
outlets = 1;

var BANK_SIZE = 8;                 // fixed bank of condition dials: nudge_cond1 .. nudge_cond8
var HEARTBEAT_MS = 100;            // transport + housekeeping period
var PING_EVERY_MS = 1000;
var PING_TIMEOUT_MS = 2500;        // no pong for this long: the daemon is not running
var REPLY_TIMEOUT_MS = 3000;       // a note request with no answer at all
var PARTS_TIMEOUT_MS = 1000;       // a note reply whose parts stop arriving
var MAX_VARY_NOTES = 512;          // notes sent with /nudge/vary (keeps the request one modest datagram)
var MAX_ID = 2147483647;
var REPLY_PORT = 9001;             // the patcher's [udpreceive 9001]: every ping asks the daemon to reply there
var DESTINATIONS = ["session", "replace", "arrangement"];
var DEST_LABELS = { session: "new clip", replace: "selected clip", arrangement: "Arrangement" };
var OFFLINE_TEXT = "Daemon not answering on 127.0.0.1:9000: start it with `nudge serve`";

var jsthis = this;
var clock = { now: function () { return new Date().getTime(); } };
var state = freshState();

function freshState() {
    return {
        ready: false, nextId: 1, pending: {}, abandoned: {}, assemblies: {}, model: null,
        online: null, aliveMs: 0, lastPingMs: -PING_EVERY_MS, rttMs: -1, writes: [], lastStatus: null,
        streaming: false, heartbeat: null, writer: null, song: null, songObserver: null
    };
}
freshState.local = 1;

// ---------------------------------------------------------------- lifecycle (messages from the patcher)

function init() {  // [live.thisdevice] -> [init(: the Live API is usable from here on
    if (state.ready) return;
    state.ready = true;
    state.aliveMs = clock.now();
    state.heartbeat = new Task(heartbeat, jsthis);
    state.heartbeat.interval = HEARTBEAT_MS;
    state.heartbeat.repeat();
    state.writer = new Task(flushWrites, jsthis);
    state.song = new LiveAPI("live_set");
    state.songObserver = new LiveAPI(onSongChange, "live_set");
    state.songObserver.property = "is_playing";
    showStatus("Looking for the Nudge daemon...", "info");
    heartbeat();
}

function notifydeleted() {  // Max calls this when the device is removed
    if (state.heartbeat) state.heartbeat.cancel();
    if (state.writer) state.writer.cancel();
    if (state.songObserver) state.songObserver.property = "";
    state = freshState();
}

function heartbeat() {
    var now = clock.now();
    sendTransport();
    if (now - state.lastPingMs >= PING_EVERY_MS) sendPing(now);
    if (state.online !== false && now - state.aliveMs > PING_TIMEOUT_MS) setOnline(false);
    expireRequests(now);
}
heartbeat.local = 1;

function onSongChange(args) {  // observer callback: only sends OSC, never changes the set
    if (state.ready && args && args[0] === "is_playing") sendTransport();
}
onSongChange.local = 1;

// ---------------------------------------------------------------- user actions

function generate() {
    var job = prepareJob("generate");
    if (!job) return;
    var atoms = ["/nudge/generate", job.id].concat(controlPairs(job));
    sendNoteRequest(job, atoms);
}

function nudge() {
    var job = prepareJob("vary");
    if (!job) return;
    var clip = selectedMidiClip();
    if (!clip) return;
    var read = readClipNotes(clip);
    if (read.notes.length > MAX_VARY_NOTES) {
        return showStatus("The selected clip has " + read.notes.length + " notes; Nudge varies at most " +
            MAX_VARY_NOTES + ". Pick a shorter clip.", "error");
    }
    if (job.dest === "replace") job.targetClipId = Number(clip.id);
    var amount = clamp01(Number(uiValue("nudge_amount", 0.2)));
    var atoms = ["/nudge/vary", job.id, amount].concat(controlPairs(job), ["notes", read.lengthBeats]);
    for (var i = 0; i < read.notes.length; i++) {
        var n = read.notes[i];
        atoms.push(n.pitch, n.start_time, n.duration, n.velocity);
    }
    job.sourceName = String(getOne(clip, "name") || "clip");
    sendNoteRequest(job, atoms);
}

function play(on) {  // transport goes to the daemon only while its live MIDI stream runs
    if (!state.ready) return showStatus("The device is still loading.", "error");
    state.streaming = !!on;
    if (on) sendTransport();
    var id = newId();
    state.pending[id] = { kind: "play", verb: on ? "start" : "stop", sentMs: clock.now() };
    send(["/nudge/play/" + (on ? "start" : "stop"), id]);
}

function panic() {
    if (!state.ready) return;
    var id = newId();
    state.pending[id] = { kind: "play", verb: "panic", sentMs: clock.now() };
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
    var p = state.pending[args[0]];
    var now = clock.now();
    if (p && p.kind === "ping") {
        state.rttMs = now - p.sentMs;
        delete state.pending[args[0]];
    }
    state.aliveMs = now;
    setOnline(true);
    uiMessage("nudge_rtt", "set", state.rttMs >= 0 ? state.rttMs + " ms" : "-");
    var modelName = String(args[2]);
    if (!state.model || state.model.name !== modelName) requestModelInfo();
}
onPong.local = 1;

function onModelInfo(args) {
    delete state.pending[args[0]];
    var model = parseModelInfo(args);
    if (typeof model === "string") return showStatus("Malformed model info from the daemon: " + model, "error");
    state.model = model;
    applyModel(model);
}
onModelInfo.local = 1;

function onModelList(args) {
    delete state.pending[args[0]];
    showStatus("Models: " + args.slice(2).join(", ") + " (current: " + args[1] + ")", "info");
}
onModelList.local = 1;

function onModelLoaded(args) {
    delete state.pending[args[0]];
    showStatus("Model " + args[1] + " loaded", "info");
    requestModelInfo();
}
onModelLoaded.local = 1;

function onOk(args) {
    var p = state.pending[args[0]];
    delete state.pending[args[0]];
    if (p && p.kind === "play") {
        var text = { start: "Live MIDI stream started", stop: "Live MIDI stream stopped", panic: "All notes off" };
        showStatus(text[p.verb], "info");
    }
}
onOk.local = 1;

function onError(args) {
    var id = args[0];
    var reason = String(args[1] === undefined ? "unknown error" : args[1]);
    var p = state.pending[id];
    delete state.pending[id];
    delete state.assemblies[id];
    if (p && p.kind === "notes") state.abandoned[id] = { reason: "error", reported: true };
    if (p && p.kind === "play" && p.verb === "start") state.streaming = false;
    if (id === -1 && state.lastStatus && state.lastStatus.text === "Daemon: " + reason) return;  // e.g. transport
    showStatus("Daemon: " + reason + (p ? " (" + describe(p) + ")" : ""), "error");
}
onError.local = 1;

// --- note replies: begin, n parts (any order), end

function onNotesBegin(args) {
    var asm = assemblyFor(args[0]);
    if (!asm) return;
    if (!isInt(args[1]) || args[1] < 0 || !isInt(args[2]) || args[2] < 0 || !(Number(args[3]) > 0)) {
        return failAssembly(args[0], "malformed /nudge/notes/begin");
    }
    asm.nParts = args[1];
    asm.nNotes = args[2];
    asm.lengthBeats = Number(args[3]);
    asm.clipName = args[4] === undefined ? "" : String(args[4]);
    tryComplete(args[0]);
}
onNotesBegin.local = 1;

function onNotesPart(args) {
    var asm = assemblyFor(args[0]);
    if (!asm) return;
    var part = args[1];
    if (!isInt(part) || part < 0 || (args.length - 2) % 4 !== 0) {
        return failAssembly(args[0], "malformed /nudge/notes part");
    }
    if (!(part in asm.parts)) asm.parts[part] = args.slice(2);
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

function assemblyFor(id) {  // the reassembly buffer for a reply we still want, else report why not
    var p = state.pending[id];
    if (!p || p.kind !== "notes") {
        reportLate(id);
        return null;
    }
    if (!state.assemblies[id]) {
        state.assemblies[id] = { nParts: -1, parts: {}, endSeen: false, deadlineMs: clock.now() + PARTS_TIMEOUT_MS };
    }
    return state.assemblies[id];
}
assemblyFor.local = 1;

function reportLate(id) {
    var a = state.abandoned[id];
    if (a && a.reported) return;
    if (!a) {
        a = state.abandoned[id] = { reason: "unknown" };
    }
    a.reported = true;
    if (a.reason === "superseded") {
        showStatus("Ignored a late reply to request #" + id + ": request #" + a.by + " replaced it.", "warning");
    } else if (a.reason === "timeout") {
        showStatus("Ignored reply #" + id + ": it arrived after its " + REPLY_TIMEOUT_MS / 1000 + " s time-out.",
            "warning");
    } else {
        showStatus("Ignored a reply to unknown request #" + id + ".", "warning");
    }
}
reportLate.local = 1;

function tryComplete(id) {
    var asm = state.assemblies[id];
    if (asm.nParts < 0 || missingParts(asm).length > 0) return;
    var flat = [];
    for (var i = 0; i < asm.nParts; i++) flat = flat.concat(asm.parts[i]);
    var notes = [];
    for (var j = 0; j < flat.length; j += 4) {
        var note = { pitch: flat[j], start_time: Number(flat[j + 1]), duration: Number(flat[j + 2]),
            velocity: flat[j + 3], mute: 0 };
        var bad = badNote(note, asm.lengthBeats);
        if (bad) return failAssembly(id, "note " + j / 4 + " " + bad);
        notes.push(note);
    }
    if (notes.length !== asm.nNotes) {
        return failAssembly(id, "expected " + asm.nNotes + " notes, got " + notes.length);
    }
    var job = state.pending[id];
    delete state.pending[id];
    delete state.assemblies[id];
    job.notes = notes;
    job.lengthBeats = asm.lengthBeats;
    job.name = asm.clipName || job.name;
    state.writes.push(job);
    state.writer.schedule(0);  // deferred: the clip is written outside this OSC callback
}
tryComplete.local = 1;

function missingParts(asm) {
    var missing = [];
    for (var i = 0; i < asm.nParts; i++) if (!(i in asm.parts)) missing.push(i);
    return missing;
}
missingParts.local = 1;

function failAssembly(id, why) {
    delete state.pending[id];
    delete state.assemblies[id];
    state.abandoned[id] = { reason: "error", reported: true };
    showStatus("Reply #" + id + " was unusable (" + why + "); nothing was written.", "error");
}
failAssembly.local = 1;

function badNote(n, lengthBeats) {
    if (!isInt(n.pitch) || n.pitch < 0 || n.pitch > 127) return "has pitch " + n.pitch + " (0..127)";
    if (!isFinite(n.start_time) || n.start_time < 0 || n.start_time >= lengthBeats) {
        return "starts at " + n.start_time + " (0.." + lengthBeats + ")";
    }
    if (!isFinite(n.duration) || n.duration <= 0) return "lasts " + n.duration + " beats (> 0)";
    if (!isInt(n.velocity) || n.velocity < 1 || n.velocity > 127) return "has velocity " + n.velocity + " (1..127)";
    return "";
}
badNote.local = 1;

function expireRequests(now) {
    var id;
    for (id in state.assemblies) {
        var asm = state.assemblies[id];
        if (now < asm.deadlineMs) continue;
        var missing = asm.nParts < 0 ? "the begin marker" : "part(s) " + missingParts(asm).join(", ") + " of " +
            asm.nParts;
        failAssembly(Number(id), "missing " + missing + " after " + PARTS_TIMEOUT_MS + " ms");
    }
    for (id in state.pending) {
        var p = state.pending[id];
        var limit = p.kind === "ping" ? PING_TIMEOUT_MS : REPLY_TIMEOUT_MS;
        if (now - p.sentMs < limit || state.assemblies[id]) continue;
        delete state.pending[id];
        if (p.kind === "ping") continue;
        state.abandoned[id] = { reason: "timeout" };
        showStatus("No answer to " + describe(p) + " within " + limit / 1000 + " s. Is `nudge serve` running?",
            "error");
    }
}
expireRequests.local = 1;

// ---------------------------------------------------------------- OSC out

function send(atoms) {
    outlet(0, atoms);
}
send.local = 1;

function newId() {
    var id = state.nextId;
    state.nextId = id >= MAX_ID - 1 ? 1 : id + 1;
    return id;
}
newId.local = 1;

function sendPing(now) {
    var id = newId();
    state.lastPingMs = now;
    state.pending[id] = { kind: "ping", sentMs: now };
    send(["/nudge/ping", id, REPLY_PORT]);  // [udpsend] cannot receive: the daemon replies to REPLY_PORT
}
sendPing.local = 1;

function requestModelInfo() {
    var id = newId();
    state.pending[id] = { kind: "info", sentMs: clock.now() };
    send(["/nudge/model/info", id]);
}
requestModelInfo.local = 1;

function sendTransport() {
    if (!state.ready || !state.streaming) return;
    var song = state.song;
    send(["/nudge/transport", Number(getOne(song, "tempo")), Number(getOne(song, "current_song_time")),
        getOne(song, "is_playing") ? 1 : 0]);
}
sendTransport.local = 1;

function prepareJob(verb) {  // checks that can fail before anything is sent
    if (!state.ready) return showStatus("The device is still loading.", "error");
    var dest = DESTINATIONS[Math.round(Number(uiValue("nudge_dest", 0)))] || "session";
    var job = { kind: "notes", verb: verb, dest: dest, sentMs: clock.now(), targetClipId: 0 };
    if (dest === "replace") {
        var clip = selectedMidiClip();
        if (!clip) return null;
        job.targetClipId = Number(clip.id);
    } else if (!deviceMidiTrack()) {
        return null;
    }
    job.id = newId();
    return job;
}
prepareJob.local = 1;

function controlPairs(job) {  // key/value pairs shared by generate and vary
    var bars = Math.max(1, Math.min(8, Math.round(Number(uiValue("nudge_bars", 4)))));
    var styles = state.model ? ["any"].concat(state.model.styles) : ["any"];
    var style = styles[Math.round(Number(uiValue("nudge_style", 0)))] || "any";
    var seed;
    if (Number(uiValue("nudge_seedlock", 0))) {
        seed = Math.max(0, Math.round(Number(uiValue("nudge_seed", 0))));
    } else {
        seed = Math.floor(Math.random() * 1000000);
        uiMessage("nudge_seed", "set", seed);
    }
    var pairs = ["bars", bars, "style", style, "seed", seed];
    var label = [style];
    var conds = state.model ? state.model.conditions : [];
    for (var i = 0; i < conds.length && i < BANK_SIZE; i++) {
        var v = clamp01(Number(uiValue("nudge_cond" + (i + 1), conds[i].defaultValue)));
        pairs.push(conds[i].name, v);
        label.push(conds[i].name.slice(0, 4) + Math.round(v * 100));
    }
    job.name = (job.verb === "vary" ? "Nudge " : "Nudge gen ") + label.join(" ") + " s" + seed + " #" + job.id;
    return pairs;
}
controlPairs.local = 1;

function sendNoteRequest(job, atoms) {
    for (var id in state.pending) {  // only the newest note request may write a clip
        if (state.pending[id].kind !== "notes") continue;
        state.abandoned[id] = { reason: "superseded", by: job.id };
        delete state.pending[id];
        delete state.assemblies[id];
    }
    state.pending[job.id] = job;
    send(atoms);
    showStatus((job.verb === "vary" ? "Nudging" : "Generating") + " (#" + job.id + ")...", "info");
}
sendNoteRequest.local = 1;

// ---------------------------------------------------------------- writing clips (runs in the writer Task)

function flushWrites() {
    while (state.writes.length) {
        var job = state.writes.shift();
        var where = writeJob(job);
        if (where) {
            showStatus("Wrote " + job.notes.length + " notes to " + where + ": \"" + job.name + "\"", "info");
        }
    }
}
flushWrites.local = 1;

function writeJob(job) {
    var clip, where;
    if (job.dest === "replace") {
        clip = new LiveAPI("id " + job.targetClipId);
        if (!job.targetClipId || Number(clip.id) === 0) {
            return showStatus("The clip to replace no longer exists; nothing was written.", "error");
        }
        clearClip(clip, job.lengthBeats);
        where = "the selected clip";
    } else {
        var track = deviceMidiTrack();
        if (!track) return "";
        if (job.dest === "arrangement") {
            clip = createArrangementClip(track, job.lengthBeats);
            where = "the Arrangement";
        } else {
            var slot = firstEmptySlot(track);
            if (slot < 0) return showStatus("No empty clip slot on this track: add a scene and try again.", "error");
            var slotApi = new LiveAPI(pathOf(track) + " clip_slots " + slot);
            slotApi.call("create_clip", job.lengthBeats);
            clip = new LiveAPI(pathOf(track) + " clip_slots " + slot + " clip");
            where = "a new clip in slot " + (slot + 1);
        }
        if (!clip || Number(clip.id) === 0) return "";
    }
    clip.call("add_new_notes", { notes: job.notes });
    clip.set("name", job.name);
    return where;
}
writeJob.local = 1;

function clearClip(clip, lengthBeats) {
    clip.call("remove_notes_extended", 0, 128, 0, Math.max(Number(getOne(clip, "end_marker")) || 0, lengthBeats));
    clip.set("loop_start", 0);
    clip.set("start_marker", 0);
    clip.set("loop_end", lengthBeats);
    clip.set("end_marker", lengthBeats);
}
clearClip.local = 1;

function createArrangementClip(track, lengthBeats) {  // Live 12+: Track.create_midi_clip at the insert marker
    var major = Number(new LiveAPI("live_app").call("get_major_version"));
    if (major < 12) {
        return showStatus("Writing to the Arrangement needs Live 12 or newer; choose 'new clip' instead.", "error");
    }
    var song = new LiveAPI("live_set");
    var barBeats = 4 * Number(getOne(song, "signature_numerator")) / Number(getOne(song, "signature_denominator"));
    var start = Math.floor(Number(getOne(song, "current_song_time")) / barBeats) * barBeats;
    track.call("create_midi_clip", start, lengthBeats);
    var ids = idList(track.get("arrangement_clips"));
    for (var i = ids.length - 1; i >= 0; i--) {
        var c = new LiveAPI("id " + ids[i]);
        if (Math.abs(Number(getOne(c, "start_time")) - start) < 1e-6) return c;
    }
    return showStatus("Live did not create the Arrangement clip at beat " + start + ".", "error");
}
createArrangementClip.local = 1;

// ---------------------------------------------------------------- reading Live

function deviceMidiTrack() {  // the track holding this device (walking out of racks), or "" with a message
    var api = new LiveAPI("this_device");
    for (var hops = 0; hops < 8 && Number(api.id) !== 0; hops++) {
        var parent = api.get("canonical_parent");
        api = new LiveAPI("id " + parent[1]);
        if (/^live_set tracks \d+$/.test(pathOf(api))) {
            if (Number(getOne(api, "has_midi_input")) === 1) return api;
            return showStatus("This track is not a MIDI track: put Nudge on a MIDI track.", "error");
        }
    }
    return showStatus("Nudge must sit on a MIDI track (not a return or master track).", "error");
}
deviceMidiTrack.local = 1;

function selectedMidiClip() {
    var clip = new LiveAPI("live_set view detail_clip");
    if (Number(clip.id) === 0) {
        return showStatus("No clip selected: click a MIDI clip so it shows in the Detail View.", "error");
    }
    if (Number(getOne(clip, "is_midi_clip")) !== 1) {
        return showStatus("The selected clip is an audio clip; choose a MIDI clip.", "error");
    }
    return clip;
}
selectedMidiClip.local = 1;

function readClipNotes(clip) {  // the notes Nudge varies: unmuted, inside the loop, relative to the loop start
    var loopStart = Number(getOne(clip, "loop_start")) || 0;
    var length = Number(getOne(clip, "length"));
    var raw = clip.call("get_notes_extended", 0, 128, loopStart, length);
    if (Array.isArray(raw)) raw = raw.length === 1 ? raw[0] : raw.join(" ");
    var all = (typeof raw === "string" ? JSON.parse(raw) : raw).notes || [];
    var notes = [];
    for (var i = 0; i < all.length; i++) {
        var n = all[i];
        var start = n.start_time - loopStart;
        if (n.mute || start < 0 || start >= length) continue;
        notes.push({ pitch: Math.round(n.pitch), start_time: start, duration: n.duration,
            velocity: Math.max(1, Math.min(127, Math.round(n.velocity))) });
    }
    notes.sort(function (a, b) { return a.start_time - b.start_time || a.pitch - b.pitch; });
    return { notes: notes, lengthBeats: length };
}
readClipNotes.local = 1;

function firstEmptySlot(track) {  // from the selected scene down, wrapping to the top
    var n = idList(track.get("clip_slots")).length;
    var start = Math.max(0, idList(new LiveAPI("live_set").get("scenes"))
        .indexOf(Number(new LiveAPI("live_set view selected_scene").id)));
    for (var k = 0; k < n; k++) {
        var i = (start + k) % n;
        if (Number(getOne(new LiveAPI(pathOf(track) + " clip_slots " + i), "has_clip")) === 0) return i;
    }
    return -1;
}
firstEmptySlot.local = 1;

// ---------------------------------------------------------------- the device's face

function parseModelInfo(a) {
    if (a.length < 6 || typeof a[1] !== "string" || !isInt(a[2]) || !isInt(a[4])) return "header";
    var model = { name: a[1], bars: a[2], beatsPerBar: a[3], conditions: [], styles: [] };
    var i = 5;
    for (var c = 0; c < a[4]; c++, i += 3) {
        if (i + 2 >= a.length || typeof a[i] !== "string") return "condition " + c;
        model.conditions.push({ name: a[i], description: String(a[i + 1]), defaultValue: Number(a[i + 2]) });
    }
    if (!isInt(a[i]) || a.length !== i + 1 + a[i]) return "style list";
    model.styles = a.slice(i + 1).map(String);
    return model;
}
parseModelInfo.local = 1;

function applyModel(model) {
    for (var i = 0; i < BANK_SIZE; i++) {
        var dial = ui("nudge_cond" + (i + 1));
        if (!dial) continue;
        var cond = model.conditions[i];
        if (cond) dial.message("_parameter_shortname", cond.name);
        dial.hidden = cond ? 0 : 1;
    }
    uiMessage.apply(null, ["nudge_style", "_parameter_range", "any"].concat(model.styles));
    uiMessage("nudge_model", "set", "Model: " + model.name + " (" + model.bars + " bars)");
    var extra = model.conditions.length > BANK_SIZE ? "; the first " + BANK_SIZE + " of " +
        model.conditions.length + " conditions have dials, the rest keep the model's defaults" : "";
    showStatus("Ready: model " + model.name + extra, "info");
}
applyModel.local = 1;

function setOnline(online) {
    if (state.online === online) return;
    state.online = online;
    uiMessage("nudge_light", "bgfillcolor", online ? 0.35 : 0.85, online ? 0.8 : 0.2, 0.3, 1);
    if (!online) {
        uiMessage("nudge_rtt", "set", "-");
        showStatus(OFFLINE_TEXT, "error");
    }
}
setOnline.local = 1;

function showStatus(text, level) {  // returns null so callers can `return showStatus(...)`
    state.lastStatus = { text: text, level: level };
    uiMessage("nudge_status", "set", text);
    if (level === "error") post("Nudge: " + text + "\n");
    return null;
}
showStatus.local = 1;

function describe(p) {
    if (p.kind === "notes") return (p.verb === "vary" ? "Nudge" : "Generate") + " #" + p.id + " (" +
        DEST_LABELS[p.dest] + ")";
    return p.kind + (p.verb ? " " + p.verb : "");
}
describe.local = 1;

// ---------------------------------------------------------------- small helpers

function ui(name) {
    return jsthis.patcher ? jsthis.patcher.getnamed(name) : null;
}
ui.local = 1;

function uiMessage(name) {
    var obj = ui(name);
    if (obj) obj.message.apply(obj, Array.prototype.slice.call(arguments, 1));
}
uiMessage.local = 1;

function uiValue(name, fallback) {
    var obj = ui(name);
    var v = obj ? obj.getvalueof() : fallback;
    if (Array.isArray(v)) v = v[0];
    return v === undefined || v === null || v !== v ? fallback : v;
}
uiValue.local = 1;

function getOne(api, prop) {
    var v = api.get(prop);
    return Array.isArray(v) ? v[0] : v;
}
getOne.local = 1;

function idList(atoms) {  // ["id", 3, "id", 4] -> [3, 4]
    var ids = [];
    for (var i = 0; atoms && i + 1 < atoms.length; i += 2) if (atoms[i] === "id") ids.push(Number(atoms[i + 1]));
    return ids;
}
idList.local = 1;

function pathOf(api) {
    return String(api.unquotedpath || api.path || "").replace(/"/g, "");
}
pathOf.local = 1;

function isInt(v) {
    return typeof v === "number" && Math.floor(v) === v;
}
isInt.local = 1;

function clamp01(v) {
    return v > 1 ? 1 : v > 0 ? v : 0;
}
clamp01.local = 1;
