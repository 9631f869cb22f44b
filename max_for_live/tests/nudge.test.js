// node --test max_for_live/tests/ : the device's JavaScript in a sandbox with a fake LiveAPI that records calls.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { makeSandbox, SRC, NODE_SCRIPTS, TOOL_SCRIPTS } = require("./fake_max.js");

const INFO = ["tiny", 4, 4, 2, "density", "how many hits", 0.5, "syncopation", "off-beat weight", 0.3, 2,
  "funk", "rock"];

const PORT = 50123;  // the free port the launcher found for this instance's [udpreceive]

/** A device as Live opens it: parameters restored, [live.thisdevice] banged, the launcher's port known. */
function started(liveOptions, loadOptions = {}) {
  const env = makeSandbox(liveOptions);
  env.load({ launcherPort: PORT, ...loadOptions });
  return env;
}

/** The daemon answers the first ping and the model info request. */
function answered(env) {
  const ping = env.sentTo("/nudge/ping")[0];
  env.now += 4;
  env.osc("/nudge/pong", ping[1], "0.1.0", "tiny");
  const info = env.sentTo("/nudge/model/info")[0];
  env.osc("/nudge/model/info", info[1], ...INFO.slice(0));
  env.takeSent();
  return env;
}

/** A device that has loaded, found the daemon and labelled its dials from the model. */
function readyDevice(liveOptions, loadOptions) {
  const env = answered(started(liveOptions, loadOptions));
  env.setUi({ nudge_bars: 2, nudge_style: 1, nudge_seedlock: 1, nudge_seed: 7, nudge_cond1: 0.7,
    nudge_cond2: 0.25, nudge_dest: 0, nudge_amount: 0.3 });
  return env;
}

/** What the set stores for the device: its parameter-enabled dict's contents */
function stored(env) {
  return JSON.parse(JSON.stringify(env.saved().dicts[`${env.deviceUid}nudgeStore`] || {}));
}

function noteReply(env, id, notes, { parts = 1, length = 8, name = "Nudge funk #" + id, order = null } = {}) {
  const groups = notes.map((n) => [n.pitch, n.start_time, n.duration, n.velocity]);
  const per = Math.ceil(groups.length / parts);
  const messages = [["/nudge/notes/begin", id, parts, notes.length, length, name]];
  for (let p = 0; p < parts; p++) messages.push(["/nudge/notes", id, p, ...groups.slice(p * per, (p + 1) * per).flat()]);
  messages.push(["/nudge/notes/end", id, parts]);
  for (const i of order || messages.map((_, i) => i)) env.osc(...messages[i]);
}

const NOTES = [
  { pitch: 36, start_time: 0, duration: 0.25, velocity: 110 },
  { pitch: 42, start_time: 0.5, duration: 0.25, velocity: 70 },
  { pitch: 38, start_time: 1.02, duration: 0.25, velocity: 96 },
  { pitch: 42, start_time: 1.5, duration: 0.25, velocity: 64 },
  { pitch: 36, start_time: 2.75, duration: 0.25, velocity: 100 },
];

test("loading the script uses no LiveAPI and sends nothing; pings start once the launcher gives a port", () => {
  const env = makeSandbox();
  assert.equal(env.liveApiCount, 0);
  assert.equal(env.sent.length, 0);
  env.init();
  assert.ok(env.liveApiCount > 0);
  assert.equal(env.sentTo("/nudge/ping").length, 0, "no reply port yet: nowhere for an answer to go");
  env.context.replyport(PORT);
  assert.deepEqual(env.ports, [["port", PORT]], "[udpreceive] moves to the launcher's port");
  assert.deepEqual(env.sentTo("/nudge/ping").map((a) => a.slice(2)), [[PORT]]);
  assert.equal(env.sentTo("/nudge/transport").length, 0, "no transport while the live MIDI stream is off");
});

test("every ping carries this instance's own udpreceive port, so plain `nudge serve` replies there", () => {
  const env = started();
  for (let i = 0; i < 25; i++) env.advance(100);
  const pings = env.sentTo("/nudge/ping");
  assert.ok(pings.length >= 3, "pings on load and then once a second");
  for (const [, id, port] of pings) {
    assert.ok(Number.isInteger(id) && id > 0);
    assert.equal(port, PORT);  // a whole number: [udpsend] sends it as int32, as the daemon wants
  }
  assert.equal(new Set(pings.map((p) => p[1])).size, pings.length, "each ping has its own id");
});

test("two instances in one set: own ports, own request ids; a reply meant for the other is not taken", () => {
  const a = makeSandbox();
  const b = makeSandbox();
  a.load({ launcherPort: 50001 });
  b.load({ launcherPort: 50002 });
  const [pa, pb] = [a.sentTo("/nudge/ping")[0], b.sentTo("/nudge/ping")[0]];
  assert.deepEqual([pa[2], pb[2]], [50001, 50002]);
  assert.notEqual(pa[1], pb[1], "ids start at a random number per instance");
  b.osc("/nudge/pong", pa[1], "0.1.0", "tiny");  // A's pong, misdelivered to B
  assert.equal(b.sentTo("/nudge/model/info").length, 1, "B learns the daemon is up...");
  b.osc("/nudge/notes/begin", pa[1], 1, 1, 4, "x");
  assert.match(b.status().text, /unknown request/, "...but never takes A's request as its own");
});

test("no Node for Max: after a while a random port in the dynamic range, and the daemon line says so", () => {
  const env = makeSandbox();
  env.random = 0.5;
  env.load();
  for (let i = 0; i < 45; i++) env.advance(100);
  assert.deepEqual(env.ports, [["port", 49152 + 8192]]);
  assert.equal(env.sentTo("/nudge/ping")[0][2], 49152 + 8192);
  assert.match(env.uiObject("nudge_daemon").messages.at(-1)[1], /Node for Max is not running/);
  assert.equal(env.launcher.filter((m) => m[0] === "ensure").length, 0, "nothing to ask");
});

test("pong turns the light on, shows the round trip and asks for the model; info relabels the dials", () => {
  const env = started();
  const [, id] = env.sentTo("/nudge/ping")[0];
  env.now += 3;
  env.osc("/nudge/pong", id, "0.1.0", "tiny");
  assert.deepEqual(env.uiObject("nudge_rtt").messages.at(-1), ["set", "3 ms"]);
  assert.deepEqual(env.uiObject("nudge_light").messages.at(-1).slice(0, 2), ["bgfillcolor", 0.35]);
  const info = env.sentTo("/nudge/model/info");
  assert.equal(info.length, 1);
  env.osc("/nudge/model/info", info[0][1], ...INFO);
  assert.equal(env.uiObject("nudge_cond1").attrs.parameter_shortname, "density");
  assert.equal(env.uiObject("nudge_cond2").attrs.parameter_longname, "Syncopation");
  assert.equal(env.uiObject("nudge_cond2").hidden, 0);
  for (let i = 3; i <= 8; i++) assert.equal(env.uiObject("nudge_cond" + i).hidden, 1);
  assert.deepEqual(env.uiObject("nudge_style").attrs.parameter_enum, ["any", "funk", "rock"]);
  assert.match(env.status().text, /Ready: model tiny/);
});

test("no pong: the device asks its launcher to start the daemon, says so, and prints nothing", () => {
  const env = started();
  for (let i = 0; i < 30; i++) env.advance(100);
  assert.equal(env.status().level, "warning");
  assert.match(env.status().text, /does not answer on 127.0.0.1:9000: starting `nudge serve`/);
  assert.deepEqual(env.uiObject("nudge_light").messages.at(-1).slice(0, 2), ["bgfillcolor", 0.85]);
  const ensures = () => env.launcher.filter((m) => m[0] === "ensure");
  assert.deepEqual(env.launcher[0], ["target", "127.0.0.1", 9000], "the launcher knows where the daemon is");
  assert.deepEqual(ensures(), [["ensure"]]);
  for (let i = 0; i < 50; i++) env.advance(100);
  assert.deepEqual(ensures(), [["ensure"], ["ensure"]], "again every 5 s while the daemon is away");
  assert.ok(env.sentTo("/nudge/ping").length >= 5, "keeps pinging so it notices the start");
  env.context.daemon("missing", "The nudge command was not found: install Nudge");
  assert.deepEqual(env.uiObject("nudge_daemon").messages.at(-1), ["set", "The nudge command was not found: install Nudge"]);
  assert.deepEqual(env.posts, [], "nothing in the Max window on load, even with no daemon at all");
  for (let i = 0; i < 60; i++) {
    env.osc("/nudge/pong", env.sentTo("/nudge/ping").at(-1)[1], "0.1.0", "tiny");
    env.advance(100);
  }
  assert.equal(ensures().length, 2, "a daemon that answers is left alone");
});

test("a set opens: nothing printed, buttons and Play not restored, only stored parameters come back", () => {
  const env = makeSandbox();
  env.load({ launcherPort: PORT, saved: { nudge_play: 1, nudge_generate: 1, nudge_seed: 123456, nudge_bars: 2 } });
  assert.deepEqual(env.posts, []);
  assert.equal(env.sentTo("/nudge/generate").length, 0, "a hidden button is not restored, so never pressed");
  assert.equal(env.sentTo("/nudge/play/start").length, 0);
  assert.equal(env.uiObject("nudge_seed").value, 123456);
  for (const name of ["nudge_generate", "nudge_nudge", "nudge_panic", "nudge_play"]) {
    assert.equal(env.uiObject(name).attrs.parameter_invisible, 2, `${name} is hidden from automation`);
  }
});

test("the seed: a Float parameter shown as an integer keeps every seed; Live's Int parameters would not", () => {
  const env = readyDevice();
  const seedBox = env.uiObject("nudge_seed");
  assert.equal(seedBox.attrs.parameter_type, 0, "Float");
  assert.equal(seedBox.attrs.parameter_unitstyle, 0, "shown as an integer");
  env.setUi({ nudge_seedlock: 0 });
  env.random = 0.987654;
  env.context.generate();
  const [req] = env.takeSent();
  const seed = req[req.indexOf("seed") + 1];
  assert.ok(seed > 255, seed);
  env.setUi({ nudge_seedlock: 1 });
  env.context.generate();
  const [again] = env.takeSent().filter((m) => m[0] === "/nudge/generate");
  assert.equal(again[again.indexOf("seed") + 1], seed, "the locked seed is the seed named in the clip");
  seedBox.attrs.parameter_type = 1;  // what the device had: Live clamps an Int parameter to 0..255
  seedBox.message("set", seed);
  assert.equal(seedBox.value, 255, "the fake applies Live's rule, so the check above could fail");
});

test("the style is saved by name and comes back once the model's styles arrive (also from an older set's Blob)", () => {
  const env = readyDevice();
  env.setUi({ nudge_style: 2 });  // rock
  assert.equal(stored(env).style, "rock");
  assert.deepEqual(stored(env).conditions, ["density", "syncopation"]);
  assert.equal(env.notified, 0, "the dict is read when Live saves: nothing to tell it");
  const blob = JSON.stringify({ style: "rock", conditions: ["density", "syncopation"], pads: {},
    history: '{"entries":[],"at":-1}' });  // what the device stored before issue 23
  for (const options of [{ blob }, { blob, jsFirst: true }, { dicts: env.saved().dicts }]) {
    const reopened = answered(started(undefined, { ...options, saved: { nudge_style: 2 } }));
    // the menu's own index came back first, into ["any"] (clamped to 0), and was not taken for a choice
    assert.deepEqual(reopened.uiObject("nudge_style").messages.at(-1), ["set", 2]);
    reopened.setUi({ nudge_seedlock: 1 });
    reopened.context.generate();
    const [req] = reopened.takeSent();
    assert.equal(req[req.indexOf("style") + 1], "rock");
  }
  const other = answered(started(undefined, { blob: JSON.stringify({ style: "polka", conditions: [] }) }));
  assert.match(other.status().text, /style polka, which model tiny lacks: using any/);
  assert.equal(other.status().level, "warning");
  assert.equal(stored(other).style, "polka", "kept for a model that has it");
  assert.equal(other.context.getvalueof(), "", "the Blob holds nothing any more: the set's dict does");
});

test("dials carry the condition names into the set; another model's conditions are pointed out", () => {
  const env = makeSandbox();
  env.load({ launcherPort: PORT, blob: JSON.stringify({ style: "any", conditions: ["swing", "density"] }) });
  assert.deepEqual(env.uiObject("nudge_cond1").attrs.parameter_longname, "Swing", "named before the daemon answers");
  const ping = env.sentTo("/nudge/ping")[0];
  env.osc("/nudge/pong", ping[1], "0.1.0", "tiny");
  env.osc("/nudge/model/info", env.sentTo("/nudge/model/info")[0][1], ...INFO);
  assert.equal(env.uiObject("nudge_cond1").attrs.parameter_longname, "Density");
  assert.equal(env.uiObject("nudge_cond3").attrs.parameter_longname, "Unused 3");
  assert.equal(env.uiObject("nudge_cond3").attrs.parameter_invisible, 2, "an unused dial is not automatable");
  assert.match(env.status().text, /saved for swing, density; model tiny has density, syncopation/);
  assert.deepEqual(stored(env).conditions, ["density", "syncopation"]);
});

test("Generate sends the request the daemon expects", () => {
  const env = readyDevice();
  env.context.generate();
  const [req] = env.takeSent();
  assert.equal(req[0], "/nudge/generate");
  assert.ok(Number.isInteger(req[1]) && req[1] > 0);
  assert.deepEqual(req.slice(2), ["bars", 2, "style", "funk", "seed", 7, "density", 0.7, "syncopation", 0.25]);
});

test("an unlocked seed is drawn per request and shown in the seed box", () => {
  const env = readyDevice();
  env.setUi({ nudge_seedlock: 0 });
  env.context.generate();
  const [req] = env.takeSent();
  const seed = req[req.indexOf("seed") + 1];
  assert.ok(Number.isInteger(seed));
  assert.deepEqual(env.uiObject("nudge_seed").messages.at(-1), ["set", seed]);
  assert.equal(env.uiObject("nudge_seed").value, seed, "the seed box holds it as it is");
});

test("a reply becomes create_clip + add_new_notes with exactly the notes sent, written deferred", () => {
  const env = readyDevice();
  env.live.view.props.selected_scene = env.live.scenes[1].id;
  env.live.selectClip(0, 1, 4, []);  // slot 2 is taken: the next empty slot below the selected scene is 3
  env.live.view.props.detail_clip = 0;
  env.context.generate();
  const [[, id]] = env.takeSent();
  noteReply(env, id, NOTES, { length: 8, name: "Nudge funk d70 #1" });
  assert.equal(env.live.callsNamed("add_new_notes").length, 0, "nothing is written inside the OSC callback");
  env.flushTasks();
  const created = env.live.callsNamed("create_clip");
  assert.deepEqual(created, [{ path: "live_set tracks 0 clip_slots 2", op: "call", name: "create_clip", args: [8] }]);
  const added = env.live.callsNamed("add_new_notes");
  assert.equal(added.length, 1);
  assert.equal(added[0].path, "live_set tracks 0 clip_slots 2 clip");
  assert.deepEqual(added[0].args[0].notes, NOTES.map((n) => ({ ...n, mute: 0 })));
  const names = env.live.callsNamed("name").map((c) => c.args[0]);  // the device's: style, sliders, seed
  assert.deepEqual(names, ["funk dens70 sync25 s7"]);
  assert.equal(env.live.callsNamed("set_notes").length, 0);
  assert.match(env.status().text, /Wrote 5 notes to a new clip in slot 3/);
});

test("split replies are reassembled, also out of order", () => {
  const env = readyDevice();
  env.context.generate();
  const [[, id]] = env.takeSent();
  // parts 2 and 0 before the begin marker, the end marker before part 1
  noteReply(env, id, NOTES, { parts: 3, order: [3, 1, 0, 4, 2] });
  env.flushTasks();
  const added = env.live.callsNamed("add_new_notes");
  assert.equal(added.length, 1);
  assert.deepEqual(added[0].args[0].notes.map((n) => n.start_time), NOTES.map((n) => n.start_time));
});

test("a reply missing a part is reported on time-out and writes nothing", () => {
  const env = readyDevice();
  env.context.generate();
  const [[, id]] = env.takeSent();
  noteReply(env, id, NOTES, { parts: 3, order: [0, 1, 3, 4] });  // part 1 lost
  env.advance(1100);
  env.flushTasks();
  assert.equal(env.live.callsNamed("add_new_notes").length, 0);
  assert.equal(env.status().level, "error");
  assert.match(env.status().text, /missing part\(s\) 1 of 3/);
});

test("a late reply to a superseded request is ignored without a word (a new click replaced it)", () => {
  const env = readyDevice();
  env.context.generate();
  env.context.generate();
  const [[, first], [cancel], [, second]] = env.takeSent();
  assert.equal(cancel, "/nudge/cancel");
  noteReply(env, first, NOTES.slice(0, 2));
  env.flushTasks();
  assert.equal(env.live.callsNamed("add_new_notes").length, 0);
  assert.match(env.status().text, new RegExp(`Generating \\(#${second}\\)`), "nothing said about the old one");
  noteReply(env, second, NOTES);
  env.flushTasks();
  assert.equal(env.live.callsNamed("add_new_notes").length, 1);
});

test("no answer: a time-out message; a reply after it is ignored", () => {
  const env = readyDevice();
  env.context.generate();
  const [[, id]] = env.takeSent();
  for (let i = 0; i < 31; i++) {
    env.advance(100);
    env.osc("/nudge/pong", env.sentTo("/nudge/ping").at(-1)?.[1] ?? 0, "0.1.0", "tiny");  // daemon alive
  }
  assert.match(env.status().text, new RegExp(`No answer to Generate #${id}`));
  noteReply(env, id, NOTES);
  env.flushTasks();
  assert.equal(env.live.callsNamed("add_new_notes").length, 0);
  assert.match(env.status().text, /after its 3 s time-out/);
});

test("malformed notes in a reply are refused before anything is written", () => {
  const env = readyDevice();
  env.context.generate();
  const [[, id]] = env.takeSent();
  noteReply(env, id, [{ pitch: 200, start_time: 0, duration: 0.25, velocity: 100 }]);
  env.flushTasks();
  assert.equal(env.live.callsNamed("create_clip").length, 0);
  assert.match(env.status().text, /pitch 200/);
});

test("/nudge/error shows the daemon's reason", () => {
  const env = readyDevice();
  env.context.generate();
  const [[, id]] = env.takeSent();
  env.osc("/nudge/error", id, "unknown style 'polka' (styles: funk, rock, any)");
  assert.equal(env.status().level, "error");
  assert.match(env.status().text, /Daemon: unknown style 'polka'.*Generate #\d+/);
});

test("Nudge reads the selected clip and sends vary with its notes", () => {
  const env = readyDevice();
  const clipNotes = [
    { pitch: 36, start_time: 2, duration: 0.25, velocity: 100 },
    { pitch: 38, start_time: 3.5, duration: 0.25, velocity: 90.4 },
    { pitch: 42, start_time: 2.5, duration: 0.25, velocity: 80, mute: 1 },  // muted: not sent
    { pitch: 46, start_time: 9, duration: 0.25, velocity: 80 },  // beyond the loop: not sent
  ];
  env.live.selectClip(0, 0, 4, clipNotes, { loop_start: 2, length: 4, name: "my beat" });
  env.context.nudge();
  const gets = env.live.callsNamed("get_notes_extended");
  assert.deepEqual(gets[0].args, [0, 128, 2, 4]);
  const [req] = env.takeSent();
  assert.equal(req[0], "/nudge/vary");
  assert.equal(req[2], 0.3);
  const marker = req.indexOf("notes");
  assert.deepEqual(req.slice(3, marker), ["style", "funk", "seed", 7, "density", 0.7, "syncopation", 0.25],
    "no bars: the clip keeps its length");
  assert.deepEqual(req.slice(marker), ["notes", 4, 36, 0, 0.25, 100, 38, 1.5, 0.25, 90]);
});

test("Nudge with no clip selected, or an audio clip, says so and sends nothing", () => {
  const env = readyDevice();
  env.context.nudge();
  assert.equal(env.sent.length, 0);
  assert.match(env.status().text, /No clip selected/);
  env.live.selectClip(0, 0, 4, [], { is_midi_clip: 0 });
  env.context.nudge();
  assert.equal(env.sent.length, 0);
  assert.match(env.status().text, /audio clip/);
});

test("Generate on a track that is not a MIDI track says so", () => {
  const env = readyDevice({ tracks: [{ midi: false, slots: 2 }] });
  env.context.generate();
  assert.equal(env.sent.length, 0);
  assert.match(env.status().text, /not a MIDI track/);
});

test("inside a rack the device still finds its track", () => {
  const env = readyDevice({ inRack: true });
  env.context.generate();
  const [[, id]] = env.takeSent();
  noteReply(env, id, NOTES);
  env.flushTasks();
  assert.equal(env.live.callsNamed("create_clip")[0].path, "live_set tracks 0 clip_slots 0");
});

test("replace: every note of the selected clip goes (also past its end), then it is resized and refilled", () => {
  for (const [liveMajor, liveMinor] of [[12, 0], [11, 1], [11, 0]]) {
    const env = readyDevice({ liveMajor });
    env.live.liveMinor = liveMinor;
    const clip = env.live.selectClip(0, 3, 16, [{ pitch: 40, start_time: 12, duration: 1, velocity: 50 },
      { pitch: 41, start_time: 40, duration: 1, velocity: 50 },  // past the end marker
      { pitch: 127, start_time: 0.5, duration: 1, velocity: 50 }], { loop_start: 4, end_marker: 16 });
    env.setUi({ nudge_dest: 1 });
    env.context.generate();
    const [[, id]] = env.takeSent();
    noteReply(env, id, NOTES, { length: 8 });
    env.flushTasks();
    assert.equal(env.live.callsNamed("create_clip").length, 0);
    assert.equal(clip.props.loop_end, 8);
    assert.deepEqual(clip.notes.map((n) => n.pitch), NOTES.map((n) => n.pitch), `Live ${liveMajor}.${liveMinor}`);
    assert.equal(env.live.view.props.detail_clip, clip.id);
  }
});

test("a new clip is selected (shown in the Detail View), so Nudge works on it next", () => {
  const env = readyDevice();
  env.context.generate();
  const [[, id]] = env.takeSent();
  noteReply(env, id, NOTES);
  env.flushTasks();
  const clip = env.live.tracks[0].slots[0].clip;
  assert.equal(env.live.view.props.detail_clip, clip.id);
  env.context.nudge();
  assert.equal(env.sentTo("/nudge/vary").length, 1, "no click needed");
});

test("Arrangement: the first free place from the insert marker's bar, never over another clip", () => {
  const env = readyDevice();
  const track = env.live.tracks[0];
  env.live.addArrangementClip(track, 8, 6);  // bars 3..4.5
  env.live.addArrangementClip(track, 20, 4);  // bar 6
  env.live.song.props.current_song_time = 9.5;
  env.setUi({ nudge_dest: 2 });
  env.context.generate();
  const [[, id]] = env.takeSent();
  noteReply(env, id, NOTES, { length: 8 });
  env.flushTasks();
  assert.deepEqual(env.live.callsNamed("create_midi_clip")[0].args, [24, 8], "14..22 is too short: after 24");
  assert.deepEqual(env.live.overwritten, []);
  assert.match(env.status().text, /Arrangement at bar 7/);
});

test("Arrangement with the loop on: the loop's start (the time selection), refused when taken", () => {
  const env = readyDevice();
  Object.assign(env.live.song.props, { loop: 1, loop_start: 32, loop_length: 8, current_song_time: 0 });
  env.setUi({ nudge_dest: 2 });
  env.context.generate();
  let [[, id]] = env.takeSent();
  noteReply(env, id, NOTES, { length: 8 });
  env.flushTasks();
  assert.deepEqual(env.live.callsNamed("create_midi_clip")[0].args, [32, 8]);
  env.context.generate();
  [[, id]] = env.takeSent();
  noteReply(env, id, NOTES, { length: 8 });
  env.flushTasks();
  assert.equal(env.live.callsNamed("create_midi_clip").length, 1);
  assert.match(env.status().text, /loop .* already holds a clip/);
  assert.deepEqual(env.live.overwritten, []);
});

test("one result, one Task run: every Live change of a result happens in one deferred call", () => {
  const env = readyDevice();
  env.context.generate();
  const [[, id]] = env.takeSent();
  noteReply(env, id, NOTES);
  assert.equal(env.live.calls.length, 0, "nothing inside the OSC callback");
  const writer = env.tasks.filter((t) => t.scheduled);
  assert.equal(writer.length, 1);
  writer[0].scheduled = false;
  writer[0].execute();
  assert.deepEqual(env.live.calls.map((c) => c.name), ["create_clip", "add_new_notes", "name", "detail_clip"]);
});

test("a long clip goes in parts, each datagram under 8 KB; past the daemon's 1024 notes a clear refusal", () => {
  const { messageBytes } = require("./fake_max.js").loadModule("nudge_osc");
  const env = readyDevice();
  const many = [];
  for (let i = 0; i < 1000; i++) many.push({ pitch: 36 + (i % 8), start_time: i * 0.03125, duration: 0.1, velocity: 100 });
  env.live.selectClip(0, 0, 32, many);
  env.context.nudge();
  const sent = env.takeSent();
  assert.deepEqual(sent.map((m) => m[0]), ["/nudge/vary/part", "/nudge/vary/part", "/nudge/vary/part", "/nudge/vary"]);
  for (const m of sent) assert.ok(messageBytes(m) <= 8192, `${m[0]} is ${messageBytes(m)} bytes`);
  const id = sent[3][1];
  assert.deepEqual(sent.slice(0, 3).map((m) => m.slice(1, 4)), [[id, 0, 3], [id, 1, 3], [id, 2, 3]]);
  assert.deepEqual(sent[3].slice(-4), ["parts", 3, "notes", 32]);
  const groups = sent.slice(0, 3).flatMap((m) => m.slice(4));
  assert.equal(groups.length, 4000);
  assert.deepEqual(groups.slice(0, 4), [36, 0, 0.1, 100]);

  env.live.selectClip(0, 1, 32, many.slice(0, 300));
  env.context.nudge();
  assert.deepEqual(env.takeSent().map((m) => m[0]), ["/nudge/cancel", "/nudge/vary"],
    "a clip that fits: one message (after the cancel of the first Nudge, still on its way)");

  env.live.selectClip(0, 2, 64, [...many, ...many.slice(0, 100).map((n) => ({ ...n, start_time: n.start_time + 32 }))]);
  env.context.nudge();
  assert.equal(env.takeSent().length, 0);
  assert.match(env.status().text, /has 1100 notes; Nudge varies at most 1024/);
});

test("Arrangement: Live 12 creates the clip at the bar of the insert marker; Live 11 explains", () => {
  const env = readyDevice();
  env.live.song.props.current_song_time = 9.5;
  env.setUi({ nudge_dest: 2 });
  env.context.generate();
  let [[, id]] = env.takeSent();
  noteReply(env, id, NOTES);
  env.flushTasks();
  assert.deepEqual(env.live.callsNamed("create_midi_clip")[0].args, [8, 8]);
  assert.equal(env.live.callsNamed("add_new_notes")[0].path, "live_set tracks 0 arrangement_clips 0");

  const old = readyDevice({ liveMajor: 11 });
  old.setUi({ nudge_dest: 2 });
  old.context.generate();
  [[, id]] = old.takeSent();
  noteReply(old, id, NOTES);
  old.flushTasks();
  assert.equal(old.live.callsNamed("add_new_notes").length, 0);
  assert.match(old.status().text, /needs Live 12/);
});

test("no empty slot left: a scene is added for the result, and the status says so", () => {
  const env = readyDevice({ tracks: [{ midi: true, slots: 1 }], scenes: 1 });
  env.live.selectClip(0, 0, 4, []);
  env.context.generate();
  const [[, id]] = env.takeSent();
  noteReply(env, id, NOTES);
  env.flushTasks();
  assert.deepEqual(env.live.callsNamed("create_scene").map((c) => c.args), [[-1]]);
  assert.equal(env.live.tracks[0].slots[1].clip.notes.length, NOTES.length);
  assert.match(env.status().text, /slot 2: .*\(added 1 scene for the takes\)/);
});

test("play start/stop/panic and the daemon's ok", () => {
  const env = readyDevice();
  env.context.play(1);
  env.context.play(0);
  env.context.panic();
  const sent = env.takeSent().filter((a) => a[0] !== "/nudge/transport");
  assert.deepEqual(sent.map((a) => a[0]), ["/nudge/play/start", "/nudge/play/stop", "/nudge/play/panic"]);
  env.osc("/nudge/ok", sent[0][1]);
  assert.equal(env.status().text, "Live MIDI stream started");
});

test("while the stream plays, transport follows Live: tempo, beat position, playing", () => {
  const env = readyDevice();
  env.context.play(1);
  assert.deepEqual(env.takeSent().map((a) => a[0]), ["/nudge/transport", "/nudge/play/start"]);
  Object.assign(env.live.song.props, { tempo: 128.5, current_song_time: 17.25, is_playing: 1 });
  env.advance(100);
  assert.deepEqual(env.sentTo("/nudge/transport").at(-1), ["/nudge/transport", 128.5, 17.25, 1]);
  env.live.song.props.is_playing = 0;
  env.observers.find((o) => o.property === "is_playing")._callback(["is_playing", 0]);
  assert.deepEqual(env.sentTo("/nudge/transport").at(-1), ["/nudge/transport", 128.5, 17.25, 0]);
  env.context.play(0);
  env.takeSent();
  env.advance(100);
  assert.equal(env.sentTo("/nudge/transport").length, 0);
});

test("a daemon that refuses live MIDI: the error shows once, not ten times a second", () => {
  const env = readyDevice();
  env.context.play(1);
  const start = env.sentTo("/nudge/play/start")[0];
  env.osc("/nudge/error", -1, "live MIDI is off (start nudge serve with --midi)");
  const shown = env.uiObject("nudge_status").messages.length;
  env.osc("/nudge/error", -1, "live MIDI is off (start nudge serve with --midi)");
  assert.equal(env.uiObject("nudge_status").messages.length, shown);
  env.osc("/nudge/error", start[1], "live MIDI is off (start nudge serve with --midi)");
  env.takeSent();
  env.advance(100);
  assert.equal(env.sentTo("/nudge/transport").length, 0, "a refused start stops the transport stream");
});

test("a stray reply of another kind with a note request's id does not end that request", () => {
  const env = readyDevice();
  env.context.generate();
  const [[, id]] = env.takeSent();
  env.osc("/nudge/notes/begin", id, 1, NOTES.length, 8, "Nudge");
  env.osc("/nudge/ok", id);
  env.osc("/nudge/model/info", id, "bogus");
  const groups = NOTES.flatMap((n) => [n.pitch, n.start_time, n.duration, n.velocity]);
  env.osc("/nudge/notes", id, 0, ...groups);
  env.osc("/nudge/notes/end", id, 1);
  env.flushTasks();
  assert.equal(env.live.callsNamed("add_new_notes").length, 1);
  assert.match(env.status().text, /Wrote 5 notes/);
});

test("a removed device forgets what it said: the same daemon error shows again", () => {
  const env = readyDevice();
  env.osc("/nudge/error", -1, "live MIDI is off");
  env.context.notifydeleted();
  const shown = env.uiObject("nudge_status").messages.length;
  env.osc("/nudge/error", -1, "live MIDI is off");
  assert.equal(env.uiObject("nudge_status").messages.length, shown + 1);
});

test("unknown addresses and replies without an id are reported, not thrown", () => {
  const env = readyDevice();
  env.osc("/nudge/bogus", 1);
  assert.match(env.status().text, /unknown message.*\/nudge\/bogus/);
  env.osc("/nudge/notes/begin", "x");
  assert.match(env.status().text, /without a request id/);
});

// Max 8's [js] runs ES5 (SpiderMonkey 1.8.5): every script must parse as ES5 and use no later built-in.
// acorn is a test dependency (max_for_live/package.json; scripts/test.sh installs it).
let acorn = null;
try { acorn = require("acorn"); } catch { acorn = null; }
const NEED_ACORN = process.env.NUDGE_REQUIRE_ACORN === "1";
const LATER_BUILTINS = [[/\.includes\(/, "Array/String includes"], [/\bObject\.(assign|entries|values)\b/, "Object.assign/entries/values"],
  [/\bnew (Map|Set|WeakMap|Promise|Proxy)\b/, "Map/Set/WeakMap/Promise/Proxy"], [/\bArray\.(from|of)\b/, "Array.from/of"],
  [/\.(startsWith|endsWith|padStart|padEnd|find|findIndex|fill)\(/, "an ES2015+ method"],  // not repeat: Max's Task has one
  [/\bSymbol\b/, "Symbol"], [/\bNumber\.(isInteger|isFinite|isNaN|EPSILON)\b/, "Number.isInteger etc."],
  [/\bmodule\.exports\b/, "module.exports (Max knows only exports)"]];

test("every source file parses as ES5 and uses no later built-in", { skip: !acorn && !NEED_ACORN &&
  "acorn is not installed: run `npm ci` in max_for_live/ (scripts/test.sh does)" }, () => {
  assert.ok(acorn, "acorn is required here (NUDGE_REQUIRE_ACORN=1): run `npm ci` in max_for_live/");
  const files = fs.readdirSync(SRC).filter((f) => f.endsWith(".js") && !NODE_SCRIPTS.includes(f));
  assert.ok(files.length >= 6, files.join(", "));
  for (const file of files) {
    const text = fs.readFileSync(path.join(SRC, file), "utf8");
    assert.doesNotThrow(() => acorn.parse(text, { ecmaVersion: 5, sourceType: "script" }), `${file} is not ES5`);
    const code = text.replace(/\/\/.*$/gm, "").replace(/"(?:[^"\\]|\\.)*"/g, '""');
    for (const [pattern, what] of LATER_BUILTINS) assert.doesNotMatch(code, pattern, `${file} uses ${what}`);
  }
  for (const later of ["var f = (a) => a;", "let a = 1;", "var a = `x`;", "var {a} = b;", "for (var a of b) {}",
    "function f(a = 1) {}", "var o = { f() {} };", "f(...a);"]) {
    assert.throws(() => acorn.parse(later, { ecmaVersion: 5 }), SyntaxError, later);  // the check can fail
  }
});

test("nudge.js loads every module of src/ through Max's require, and no other file", () => {
  const env = makeSandbox();
  const modules = fs.readdirSync(SRC).filter((f) => f.endsWith(".js") && f !== "nudge.js" && !NODE_SCRIPTS.includes(f) &&
    !TOOL_SCRIPTS.includes(f))
    .map((f) => f.slice(0, -3));
  assert.deepEqual([...env.required].sort(), modules.sort());
});
