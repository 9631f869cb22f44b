// Nudge as a Live 12 MIDI Tool: the [js] of NudgeGenerator.amxd (a new groove for the clip's time
// selection) and NudgeTransform.amxd (nudge the selected notes by Amount). ES5, for Max's [js].
// Argument: [js nudge_tool.js generator|transformation].
//
// Patch: [live.miditool.in] outlet 1 (context) -> inlet 1, outlet 0 (notes) -> inlet 0 ("dictionary name";
// Max sends right to left, so the context is here first); [udpreceive 0] -> [prepend osc] -> inlet 0;
// dials -> [prepend setting NAME] -> inlet 0; [loadbang] -> inlet 0; [metro 1000] -> [expire( -> inlet 0.
// Outlets: 0 -> [live.miditool.out], 1 -> [udpsend 127.0.0.1 9000], 2 -> [live.miditool.in] (a bang: apply
// again), 3 -> the status line ([prepend set] -> comment), 4 -> [udpreceive] ("port n": this instance's own).
// Shares the device's modules: nudge_reply (note replies), nudge_miditool (what goes in and out, the apply
// cycle that answers inside Live's apply), nudge_osc (datagram sizes), nudge_drum_rack (the track's kit).

autowatch = 0;
inlets = 2;
outlets = 5;

// "generator" (Nudge Generator) | "transformation" (Nudge Transform) | "groove" | "drumify" | "continue" | "fill"
// (the Transformations of issue 22's tools: nudge_miditool.TRANSFORMS)
var KIND = String(jsarguments[1] || "generator");
var GENERATOR = KIND === "generator";
var REPLY_MS = 3000;
var DONE = { transformation: "Nudged", groove: "Grooved", drumify: "Drumified", "continue": "Continued",
    fill: "Filled" };  // the status once a kept result is handed out
var DIAL_MS = 100;  // a dial applies at most this often (h1data: a turned live.dial bangs for every step)

var reply = require("nudge_reply");
var tool = require("nudge_miditool");
var oscSize = require("nudge_osc");
var rack = require("nudge_drum_rack");

var state = {
    context: null,
    settings: {
        generator: { density: 0.5, syncopation: 0.3, seed: 1 }, transformation: { amount: 0.3, seed: 1 },
        groove: { amount: 1, seed: 1 }, drumify: { density: 0.5, syncopation: 0.3, seed: 1 },
        "continue": { bars: 2, seed: 1 }, fill: { seed: 1 }
    }[KIND] || { seed: 1 },
    cycle: tool.makeCycle(),
    pending: {},  // id -> { sel, notes, mapping, asm, sentMs }
    nextId: 1 + Math.floor(Math.random() * 1073741824),  // per instance, as the device's: another's reply is unknown
    port: 0,
    lastDialMs: -DIAL_MS,
    dialTask: null
};
var clock = { now: function () { return new Date().getTime(); }, random: Math.random };

// ---------------------------------------------------------------- from Max

function bang() {  // [loadbang]: a reply port of this instance's own
    if (!state.port) listen();
}

function listen() {  // a random port in the dynamic range (no Node for Max in a MIDI Tool to find a free one)
    state.port = 49152 + Math.floor(clock.random() * 16384);
    outlet(4, "port", state.port);
}
listen.local = 1;

function dictionary(name) {
    var data = JSON.parse(new Dict(name).stringify());
    if (inlet === 1) {
        state.context = data;
        return;
    }
    apply(data.notes || []);
}

function setting(key, value) {  // a dial moved: the tool applies again with it (Live shows the result live)
    if (!(key in state.settings)) return status("Unknown setting " + key);
    var v = Number(value);
    state.settings[key] = key === "seed" ? Math.max(0, Math.floor(v)) :
        key === "bars" ? Math.max(1, Math.min(oscSize.MAX_BARS - 1, Math.round(v) || 1)) : reply.clamp01(v);
    var wait = state.lastDialMs + DIAL_MS - clock.now();
    if (wait <= 0) return applyNow();
    if (!state.dialTask) state.dialTask = new Task(applyNow, this);
    state.dialTask.schedule(wait);  // the last value of a quick turn applies when the interval is over
}

function applyNow() {
    state.lastDialMs = clock.now();
    outlet(2, "bang");
}
applyNow.local = 1;

function osc(address) {  // [udpreceive] -> [prepend osc]: the daemon's replies
    var args = Array.prototype.slice.call(arguments, 1);
    var id = args[0];
    var p = state.pending[id];
    if (address === "/nudge/error") {
        if (p) finish(id, null);
        return status("nudge serve: " + args[1]);
    }
    if (!p) return;  // a pong, or a reply this tool no longer waits for
    var bad = "";
    if (address === "/nudge/notes/begin") bad = reply.readBegin(p.asm, args.slice(1));
    else if (address === "/nudge/notes") bad = reply.readPart(p.asm, args.slice(1));
    else if (address !== "/nudge/notes/end") return;
    if (bad) {
        finish(id, null);
        return status("Unusable reply: " + bad);
    }
    var done = reply.assemble(p.asm);
    if (!done) return;
    if (done.error) {
        finish(id, null);
        return status("Unusable reply: " + done.error);
    }
    var notes = p.mapping ? rack.toPads(done.notes, p.mapping) : done.notes;
    var out = tool.toolNotes(notes, tool.resultSelection(p.sel, p.asm.lengthBeats));  // Continue: longer
    if (!GENERATOR) out = tool.merge(out, p.notes, p.sel);
    finish(id, out);
}

// ---------------------------------------------------------------- the apply cycle (nudge_miditool's comment)

function apply(notes) {  // every apply answers now: Live waits for the dictionary synchronously
    var sel = tool.selection(state.context, beatsPerBar());
    if (KIND === "continue") sel = tool.continueRoom(sel, state.settings.bars);
    if (sel.error) {
        answer(!GENERATOR ? tool.unchanged(notes) : clipNotesNow(null));
        return status(sel.error);
    }
    var key = tool.inputKey(KIND, notes, sel, state.settings);
    var kept = tool.onApply(state.cycle, key).out;
    if (kept) {
        answer(kept);
        return status(GENERATOR ? "Generated " + kept.notes.length + " notes" : DONE[KIND] || "Done");
    }
    answer(!GENERATOR ? tool.unchanged(notes) : clipNotesNow(sel));
    send(tool.want(state.cycle, key, makeRequest(notes, sel)));
}
apply.local = 1;

function answer(dict) {  // to [live.miditool.out], in this apply
    var d = new Dict();
    d.parse(JSON.stringify(dict));
    outlet(0, "dictionary", d.name);
}
answer.local = 1;

function makeRequest(notes, sel) {
    var id = newId();
    var mapping = kitMapping();
    var pairs = settingPairs();
    var messages = GENERATOR ? tool.generateMessages(id, sel, pairs) :
        tool.transformMessages(KIND, id, state.settings, mapping ? rack.fromPads(notes, mapping) : notes, sel);
    return { id: id, messages: messages, sel: sel, notes: notes, mapping: mapping };
}
makeRequest.local = 1;

function send(request) {  // one request on its way at a time (nudge_miditool.want)
    if (!request) return;
    state.pending[request.id] = { sel: request.sel, notes: request.notes, mapping: request.mapping,
        asm: reply.newAssembly(0), sentMs: clock.now() };
    if (!state.port) listen();
    outlet(1, ["/nudge/ping", newId(), state.port]);  // [udpsend] cannot receive: replies go to our port
    for (var i = 0; i < request.messages.length; i++) outlet(1, request.messages[i]);
    status("Asking nudge serve...");
}
send.local = 1;

function finish(id, out) {
    delete state.pending[id];
    if (!out) return send(tool.failed(state.cycle, id));
    var next = tool.answered(state.cycle, id, out);
    status("A result is ready: press Apply (or move a dial) if the clip does not show it.");
    if (next.apply) outlet(2, "bang");  // apply again: this input's result is kept now (the apply says so)
    send(next.next);
}
finish.local = 1;

function settingPairs() {  // the key/value pairs of the request (amount is /nudge/vary's own argument)
    var out = [];
    for (var k in state.settings) if (k !== "amount") out.push(k, state.settings[k]);
    return out;
}
settingPairs.local = 1;

function newId() {
    var id = state.nextId;
    state.nextId = id >= oscSize.MAX_ID - 1 ? 1 : id + 1;
    return id;
}
newId.local = 1;

function expire() {  // called by the patch's [metro 1000]: a request with no answer is dropped and said
    var now = clock.now();
    for (var id in state.pending) {
        if (now - state.pending[id].sentMs < REPLY_MS) continue;
        finish(Number(id), null);
        listen();  // perhaps the port was taken by something else: the next request asks on another
        status("No answer from nudge serve within " + REPLY_MS / 1000 + " s: is it running?");
    }
}

// ---------------------------------------------------------------- Live

function beatsPerBar() {
    var song = new LiveAPI("live_set");
    var n = Number(one(song, "signature_numerator")), d = Number(one(song, "signature_denominator"));
    return n > 0 && d > 0 ? 4 * n / d : 4;
}
beatsPerBar.local = 1;

function clipNotesNow(sel) {  // a Generator's answer while its result is on its way: the clip's notes there
    var clip = new LiveAPI("live_set view detail_clip");
    if (!sel || Number(clip.id) === 0) return { notes: [] };
    var raw = clip.call("get_notes_extended", 0, 128, sel.startBeats, sel.endBeats - sel.startBeats);
    if (Array.isArray(raw)) raw = raw.length === 1 ? raw[0] : raw.join(" ");
    var notes = (typeof raw === "string" ? JSON.parse(raw) : raw).notes || [];
    return tool.unchanged(notes);
}
clipNotesNow.local = 1;

function kitMapping() {  // the Drum Rack of the clip's track, mapped by name; null without one
    var clip = new LiveAPI("live_set view detail_clip");
    if (Number(clip.id) === 0) return null;
    var parent = new LiveAPI("id " + clip.get("canonical_parent")[1]);
    if (!/tracks \d+$/.test(String(parent.unquotedpath || parent.path))) {  // a Session clip: its slot's track
        parent = new LiveAPI("id " + parent.get("canonical_parent")[1]);
    }
    var pads = rack.readPads(LiveAPI, parent);
    return pads ? rack.mapVoices(pads, {}) : null;
}
kitMapping.local = 1;

function one(api, prop) {
    var v = api.get(prop);
    return Array.isArray(v) ? v[0] : v;
}
one.local = 1;

function status(text) {
    outlet(3, "set", text);
}
status.local = 1;
