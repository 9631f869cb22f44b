// node --test max_for_live/tests/ : the device's JavaScript in a sandbox with a fake LiveAPI that records calls.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { makeSandbox, SRC } = require("./fake_max.js");

const INFO = ["tiny", 4, 4, 2, "density", "how many hits", 0.5, "syncopation", "off-beat weight", 0.3, 2,
  "funk", "rock"];

/** A device that has loaded, found the daemon and labelled its dials from the model. */
function readyDevice(liveOptions) {
  const env = makeSandbox(liveOptions);
  env.context.init();
  const ping = env.sentTo("/nudge/ping")[0];
  env.now += 4;
  env.osc("/nudge/pong", ping[1], "0.1.0", "tiny");
  const info = env.sentTo("/nudge/model/info")[0];
  env.osc("/nudge/model/info", info[1], ...INFO.slice(0));
  env.takeSent();
  env.setUi({ nudge_bars: 2, nudge_style: 1, nudge_seedlock: 1, nudge_seed: 7, nudge_cond1: 0.7,
    nudge_cond2: 0.25, nudge_dest: 0, nudge_amount: 0.3 });
  return env;
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

test("loading the script uses no LiveAPI and sends nothing; init starts pinging", () => {
  const env = makeSandbox();
  assert.equal(env.liveApiCount, 0);
  assert.equal(env.sent.length, 0);
  env.context.init();
  assert.ok(env.liveApiCount > 0);
  assert.deepEqual(env.sentTo("/nudge/ping").map((a) => a.length), [3]);
  assert.equal(env.sentTo("/nudge/transport").length, 0, "no transport while the live MIDI stream is off");
});

test("every ping carries the device's udpreceive port, so plain `nudge serve` replies there", () => {
  const env = makeSandbox();
  assert.equal(env.context.REPLY_PORT, 9001);
  env.context.init();
  for (let i = 0; i < 25; i++) env.advance(100);
  const pings = env.sentTo("/nudge/ping");
  assert.ok(pings.length >= 3, "pings on load and then once a second");
  for (const [, id, port] of pings) {
    assert.ok(Number.isInteger(id) && id > 0);
    assert.equal(port, 9001);  // a whole number: [udpsend] sends it as int32, as the daemon wants
  }
  assert.equal(new Set(pings.map((p) => p[1])).size, pings.length, "each ping has its own id");
});

test("pong turns the light on, shows the round trip and asks for the model; info relabels the dials", () => {
  const env = makeSandbox();
  env.context.init();
  const [, id] = env.sentTo("/nudge/ping")[0];
  env.now += 3;
  env.osc("/nudge/pong", id, "0.1.0", "tiny");
  assert.deepEqual(env.uiObject("nudge_rtt").messages.at(-1), ["set", "3 ms"]);
  assert.deepEqual(env.uiObject("nudge_light").messages.at(-1).slice(0, 2), ["bgfillcolor", 0.35]);
  const info = env.sentTo("/nudge/model/info");
  assert.equal(info.length, 1);
  env.osc("/nudge/model/info", info[0][1], ...INFO);
  assert.deepEqual(env.uiObject("nudge_cond1").messages.at(-1), ["_parameter_shortname", "density"]);
  assert.deepEqual(env.uiObject("nudge_cond2").messages.at(-1), ["_parameter_shortname", "syncopation"]);
  assert.equal(env.uiObject("nudge_cond2").hidden, 0);
  for (let i = 3; i <= 8; i++) assert.equal(env.uiObject("nudge_cond" + i).hidden, 1);
  assert.deepEqual(env.uiObject("nudge_style").messages.at(-1), ["_parameter_range", "any", "funk", "rock"]);
  assert.match(env.status().text, /Ready: model tiny/);
});

test("no pong: the device says the daemon is not running", () => {
  const env = makeSandbox();
  env.context.init();
  for (let i = 0; i < 30; i++) env.advance(100);
  assert.equal(env.status().level, "error");
  assert.match(env.status().text, /not answering.*`nudge serve`/);
  assert.doesNotMatch(env.status().text, /reply-port/, "the device no longer needs --reply-port");
  assert.deepEqual(env.uiObject("nudge_light").messages.at(-1).slice(0, 2), ["bgfillcolor", 0.85]);
  assert.ok(env.sentTo("/nudge/ping").length >= 3, "keeps pinging so it notices a later start");
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
  assert.deepEqual(env.live.callsNamed("name").map((c) => c.args[0]), ["Nudge funk d70 #1"]);
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

test("a late reply to a superseded request is ignored with a message", () => {
  const env = readyDevice();
  env.context.generate();
  env.context.generate();
  const [[, first], [, second]] = env.takeSent();
  noteReply(env, first, NOTES.slice(0, 2));
  env.flushTasks();
  assert.equal(env.live.callsNamed("add_new_notes").length, 0);
  assert.match(env.status().text, new RegExp(`late reply to request #${first}.*#${second}`));
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
  assert.deepEqual(req.slice(3, marker), ["bars", 2, "style", "funk", "seed", 7, "density", 0.7, "syncopation", 0.25]);
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

test("replace: the selected clip is emptied, resized and refilled", () => {
  const env = readyDevice();
  const clip = env.live.selectClip(0, 3, 16, [{ pitch: 40, start_time: 12, duration: 1, velocity: 50 }]);
  env.setUi({ nudge_dest: 1 });
  env.context.generate();
  const [[, id]] = env.takeSent();
  noteReply(env, id, NOTES, { length: 8 });
  env.flushTasks();
  assert.equal(env.live.callsNamed("create_clip").length, 0);
  assert.deepEqual(env.live.callsNamed("remove_notes_extended")[0].args, [0, 128, 0, 16]);
  assert.equal(clip.props.loop_end, 8);
  assert.deepEqual(clip.notes.map((n) => n.pitch), NOTES.map((n) => n.pitch));
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

test("no empty slot left: a clear message", () => {
  const env = readyDevice({ tracks: [{ midi: true, slots: 1 }], scenes: 1 });
  env.live.selectClip(0, 0, 4, []);
  env.context.generate();
  const [[, id]] = env.takeSent();
  noteReply(env, id, NOTES);
  env.flushTasks();
  assert.match(env.status().text, /No empty clip slot/);
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
  const files = fs.readdirSync(SRC).filter((f) => f.endsWith(".js"));
  assert.ok(files.length >= 5, files.join(", "));
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
  const modules = fs.readdirSync(SRC).filter((f) => f.endsWith(".js") && f !== "nudge.js").map((f) => f.slice(0, -3));
  assert.deepEqual([...env.required].sort(), modules.sort());
});
