// Nudge as a Live 12 MIDI Tool: the [js] of NudgeGenerator.amxd (a new groove for the clip's time
// selection) and NudgeTransform.amxd (nudge the selected notes by Amount). ES5, for Max's [js].
// Arguments: [js nudge_tool.js generator|transformation REPLY_PORT].
//
// Patch: [live.miditool.in] outlet 1 (context) -> inlet 1, outlet 0 (notes) -> inlet 0 ("dictionary name";
// Max sends right to left, so the context is here first); [udpreceive REPLY_PORT] -> [prepend osc] -> inlet 0;
// dials -> [prepend setting NAME] -> inlet 0. Outlets: 0 -> [live.miditool.out], 1 -> [udpsend 127.0.0.1
// 9000], 2 -> [live.miditool.in] (a bang: apply again), 3 -> the status line ([prepend set] -> comment).
// Shares the device's modules: nudge_reply (note replies), nudge_miditool (what goes in and out, the apply
// cycle), nudge_drum_rack (the clip's track's kit). The apply cycle: nudge_miditool's comment.

autowatch = 0;
inlets = 2;
outlets = 4;

var KIND = String(jsarguments[1] || "generator");  // "generator" | "transformation"
var REPLY_PORT = Number(jsarguments[2]) || 9011;
var REPLY_MS = 3000;
var MAX_ID = 2147483647;

var reply = require("nudge_reply");
var tool = require("nudge_miditool");
var rack = require("nudge_drum_rack");

var state = {
    context: null,
    settings: KIND === "generator" ? { density: 0.5, syncopation: 0.3, seed: 1 } : { amount: 0.3, seed: 1 },
    cycle: tool.makeCycle(),
    pending: {},  // id -> { sel, notes, mapping, asm, sentMs }
    nextId: 1
};
var clock = { now: function () { return new Date().getTime(); } };

// ---------------------------------------------------------------- from Max

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
    state.settings[key] = key === "seed" ? Math.max(0, Math.floor(Number(value))) : reply.clamp01(Number(value));
    outlet(2, "bang");
}

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
    var out = tool.toolNotes(notes, p.sel);
    if (KIND === "transformation") out = tool.merge(out, p.notes, p.sel);
    finish(id, out);
}

// ---------------------------------------------------------------- the apply cycle

function apply(notes) {
    var sel = tool.selection(state.context);
    if (sel.error) return status(sel.error);
    var key = JSON.stringify([KIND, notes, sel, state.settings]);
    var step = tool.onApply(state.cycle, key);
    if (step.out) {
        var d = new Dict();
        d.parse(JSON.stringify(step.out));
        outlet(0, "dictionary", d.name);
        return status(KIND === "generator" ? "Generated " + step.out.notes.length + " notes" : "Nudged");
    }
    if (step.wait) return;
    var id = newId();
    var mapping = kitMapping();
    var atoms;
    if (KIND === "generator") {
        atoms = tool.generateAtoms(id, sel, beatsPerBar(), pairs());
    } else {
        var sent = mapping ? rack.fromPads(notes, mapping) : notes;
        atoms = tool.varyAtoms(id, state.settings.amount, sent, sel, pairs());
    }
    state.pending[id] = { sel: sel, notes: notes, mapping: mapping, asm: reply.newAssembly(0), sentMs: clock.now() };
    tool.sent(state.cycle, key, id);
    outlet(1, ["/nudge/ping", newId(), REPLY_PORT]);  // [udpsend] cannot receive: replies go to REPLY_PORT
    outlet(1, atoms);
    status("Asking nudge serve…");
}
apply.local = 1;

function finish(id, out) {
    delete state.pending[id];
    if (out && tool.answered(state.cycle, id, out)) {
        outlet(2, "bang");  // continue the apply cycle: the same input comes back and gets the result
    } else if (!out) {
        tool.failed(state.cycle, id);
    }
}
finish.local = 1;

function pairs() {  // the key/value pairs of the request (amount is /nudge/vary's own argument)
    var out = [];
    for (var k in state.settings) if (k !== "amount") out.push(k, state.settings[k]);
    return out;
}
pairs.local = 1;

function newId() {
    var id = state.nextId;
    state.nextId = id >= MAX_ID - 1 ? 1 : id + 1;
    return id;
}
newId.local = 1;

function expire() {  // called by the patch's [metro 1000]: a request with no answer is dropped and said
    var now = clock.now();
    for (var id in state.pending) {
        if (now - state.pending[id].sentMs < REPLY_MS) continue;
        finish(Number(id), null);
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
