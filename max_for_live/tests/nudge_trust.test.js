// node --test: issue 23 in the device (nudge.js in the fake Max/Live sandbox): no clip overwritten by mistake,
// no click lost, settings in the device, the history stored compactly. Each test failed on the device before
// issue 23 (with this fake Live, which learnt what the defects depend on: ids reassigned after a reload, clip
// slots versus clips, UDP datagram limits, parameter-enabled dicts).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { SRC } = require("./fake_max.js");
const { answer, readyDevice, noteReply, denseNotes, hit } = require("./device_helpers.js");

const A = [hit(36, 0), hit(42, 1)];
const B = [hit(38, 0.5), hit(46, 2)];

/** Generate once and answer it: the result goes to the next empty slot */
function generated(env, notes, length = 8) {
  env.context.generate();
  const [request] = env.takeSent().filter((m) => m[0] === "/nudge/generate");
  noteReply(env, request[1], notes, { length });
  env.flushTasks();
  return request;
}

const pitches = (clip) => clip.notes.map((n) => n.pitch);
const storeOf = (env) => JSON.parse(JSON.stringify([...env.dicts.values()].find((d) => d.history) || {}));

// ---------------------------------------------------------------- 1. Back/Forward write only where they should

test("Back after the set reopened writes into the clip the result went to (ids were reassigned)", () => {
  const env = readyDevice();
  generated(env, A);
  generated(env, B);
  const next = answer(env.reopen());
  next.context.back();
  next.flushTasks();
  const [first, second] = next.live.tracks[0].slots.map((s) => s.clip);
  assert.deepEqual(pitches(first), [36, 42], "the first result is back in its own clip");
  assert.deepEqual(pitches(second), [38, 46], "the second clip is untouched");
  assert.match(next.status().text, /^Back to "/);
  assert.equal(JSON.stringify(storeOf(next)).includes("clipId"), false, "no LOM id is saved with the set");
});

test("Back refuses a clip the device did not make at that place, and an audio clip there", () => {
  const env = readyDevice();
  generated(env, A);
  generated(env, B);
  const mine = env.live.selectClip(0, 0, 8, [hit(60, 0)], { name: "My own groove" });  // the producer's clip
  env.context.back();
  env.flushTasks();
  assert.deepEqual(pitches(mine), [60], "not touched");
  assert.match(env.status().text, /not the clip Nudge wrote/);
  const audio = env.live.selectClip(0, 0, 8, [], { name: storeOf(env).history.entries[0].name, is_midi_clip: 0,
    is_audio_clip: 1 });
  env.context.forward();
  env.context.back();
  env.flushTasks();
  assert.equal(env.live.callsNamed("add_new_notes").filter((c) => c.path === audio.path).length, 1,
    "only the first result, when it was made");
  assert.match(env.status().text, /not a MIDI clip|not the clip Nudge wrote/);
});

// ---------------------------------------------------------------- 2. Nudge keeps the clip's length

test("Nudge and Generate-with-Keep send no bars: the clip keeps its length; Bars is Generate's", () => {
  const env = readyDevice();
  env.live.selectClip(0, 0, 32, denseNotes(96, 32));
  env.setUi({ nudge_amount: 0, nudge_bars: 4 });
  env.context.nudge();
  const [vary] = env.takeSent();
  assert.equal(vary[0], "/nudge/vary");
  assert.equal(vary.includes("bars"), false, "an 8-bar clip is nudged as 8 bars");
  assert.deepEqual(vary.slice(vary.indexOf("notes"), vary.indexOf("notes") + 2), ["notes", 32]);
  env.setUi({ nudge_keep_kick: 1 });
  env.context.generate();
  const kept = env.takeSent().find((m) => m[0] === "/nudge/generate");
  assert.equal(kept.includes("bars"), false);
  env.setUi({ nudge_keep_kick: 0 });
  env.context.generate();
  const plain = env.takeSent().find((m) => m[0] === "/nudge/generate");
  assert.equal(plain[plain.indexOf("bars") + 1], 4);
});

// ---------------------------------------------------------------- 3. No click lost

test("Takes are sent as earlier ones return: two in flight, never all sixteen at once", () => {
  const env = readyDevice();
  env.setUi({ nudge_takes: 16, nudge_seed: 100 });
  env.context.generate();
  let sent = env.takeSent().filter((m) => m[0] === "/nudge/generate");
  assert.equal(sent.length, 2);
  const seeds = [];
  for (let k = 0; k < 16; k++) {
    const request = sent.shift();
    seeds.push(request[request.indexOf("seed") + 1]);
    noteReply(env, request[1], A);
    env.flushTasks();
    sent = sent.concat(env.takeSent().filter((m) => m[0] === "/nudge/generate"));
    assert.ok(sent.length <= 2, "at most two waiting on the daemon");
  }
  assert.deepEqual(seeds, Array.from({ length: 16 }, (_, k) => 100 + k));
  assert.equal(env.live.callsNamed("create_clip").length, 16);
  assert.match(env.status().text, /^Take 16 of 16: wrote/);
});

test("a new click cancels the daemon's waiting work and lands all of its own takes; late replies say nothing", () => {
  const env = readyDevice({ scenes: 16, tracks: [{ midi: true, slots: 16 }] });
  env.setUi({ nudge_takes: 16 });
  env.context.generate();
  const first = env.takeSent();
  env.context.generate();
  const second = env.takeSent();
  assert.equal(second[0][0], "/nudge/cancel", "the daemon drops the first click's waiting takes");
  env.osc("/nudge/cancelled", second[0][1], first[1][1]);
  noteReply(env, first[0][1], A);  // the first click's take the daemon was running: too late
  env.flushTasks();
  assert.equal(env.live.callsNamed("create_clip").length, 0);
  assert.doesNotMatch(env.status().text, /Ignored|busy|cancel/i);
  let waiting = second.slice(1);
  let written = 0;
  while (waiting.length) {
    const request = waiting.shift();
    noteReply(env, request[1], B);
    env.flushTasks();
    written += 1;
    waiting = waiting.concat(env.takeSent().filter((m) => m[0] === "/nudge/generate"));
  }
  assert.equal(written, 16);
  assert.equal(env.live.callsNamed("create_clip").length, 16);
});

test("a take that fails or times out does not stall the click: the next one goes", () => {
  const env = readyDevice();
  env.setUi({ nudge_takes: 4 });
  env.context.generate();
  const [one, two] = env.takeSent();
  env.osc("/nudge/error", one[1], "/nudge/generate: something broke");
  const [three] = env.takeSent().filter((m) => m[0] === "/nudge/generate");
  assert.ok(three, "take 3 went when take 1 failed");
  noteReply(env, three[1], A);
  env.flushTasks();
  const [four] = env.takeSent().filter((m) => m[0] === "/nudge/generate");
  for (let i = 0; i < 31; i++) env.advance(100);  // takes 2 and 4 never answer: both time out
  assert.match(env.status().text, new RegExp(`No answer to Generate #(${two[1]}|${four[1]})`));
  assert.equal(env.live.callsNamed("create_clip").length, 1);
  assert.equal(env.context.state.requests.pendingNotes(), 0, "nothing left waiting");
});

// ---------------------------------------------------------------- 5. Settings live in the device

test("host and port are set in the device, go to udpsend and the launcher, and come back with the set", () => {
  const env = readyDevice();
  env.context.host("text", "127.0.0.2");
  env.context.daemonport(9123);
  assert.deepEqual(env.udpsend, { host: "127.0.0.2", port: 9123 });
  assert.deepEqual(env.launcher.at(-1), ["target", "127.0.0.2", 9123]);
  assert.deepEqual(env.uiObject("nudge_replyport").messages.at(-1), ["set", "replies on 50123"]);
  env.context.nudgepath("/Users/me/.local/bin/nudge");
  const next = env.reopen();
  assert.deepEqual(next.udpsend, { host: "127.0.0.2", port: 9123 });
  assert.deepEqual(next.launcher.filter((m) => m[0] !== "ensure").slice(0, 2),
    [["command", "/Users/me/.local/bin/nudge"], ["target", "127.0.0.2", 9123]]);
  assert.deepEqual(next.uiObject("nudge_port").messages.at(-1), ["set", 9123]);
  env.context.daemonport(70000);
  assert.match(env.status().text, /port must be 1\.\.65535/);
  assert.equal(next.dictResets, 0, "one Dict reference to the stored dict, never a second one");
  next.launcher.length = 0;
  next.context.replyport(50999);  // a launcher that started late (or again) hears where the daemon is
  assert.deepEqual(next.launcher, [["command", "/Users/me/.local/bin/nudge"], ["target", "127.0.0.2", 9123]]);
});

test("the history is stored compactly in a parameter-enabled dict, capped in bytes, without notifyclients", () => {
  const env = readyDevice({ scenes: 16, tracks: [{ midi: true, slots: 32 }] });
  env.setUi({ nudge_takes: 16 });
  env.context.generate();
  let waiting = env.takeSent();
  while (waiting.length) {
    noteReply(env, waiting.shift()[1], denseNotes(128, 32), { length: 32 });
    env.flushTasks();
    waiting = waiting.concat(env.takeSent().filter((m) => m[0] === "/nudge/generate"));
  }
  assert.equal(env.notified, 0, "no Blob to tell Live about");
  const stored = JSON.stringify(storeOf(env));
  assert.ok(stored.length < 40000, `16 takes of 8 bars store ${stored.length} bytes`);
  assert.equal(storeOf(env).history.entries.length, 16);
  for (let k = 0; k < 4; k++) {
    env.context.generate();
    waiting = env.takeSent().filter((m) => m[0] === "/nudge/generate");
    while (waiting.length) {
      noteReply(env, waiting.shift()[1], denseNotes(1024, 32), { length: 32 });
      env.flushTasks();
      waiting = waiting.concat(env.takeSent().filter((m) => m[0] === "/nudge/generate"));
    }
  }
  const big = JSON.stringify(storeOf(env));
  assert.ok(big.length <= 96 * 1024, `1,024-note takes store ${big.length} bytes`);
  assert.ok(storeOf(env).history.entries.length >= 1);
  assert.equal(env.notified, 0);
});

// ---------------------------------------------------------------- 4. Locate nudge…, 7. the smaller things

test("Locate nudge…: the chosen file goes to the launcher at once and on every load", () => {
  const env = readyDevice();
  env.context.nudgepath("Macintosh", "HD:/opt/tools/nudge");  // a path with a space comes as two atoms
  assert.deepEqual(env.launcher.at(-1), ["command", "Macintosh HD:/opt/tools/nudge"],
    "as Max wrote it: the launcher (Node) reads Max's volume names, nudge_launcher.fromMaxPath");
  assert.match(env.uiObject("nudge_daemon").messages.at(-1)[1], /Macintosh HD:\/opt\/tools\/nudge/);
  env.context.nudgepath("C:/Users/me/nudge.exe");
  assert.deepEqual(env.launcher.at(-1), ["command", "C:/Users/me/nudge.exe"], "a Windows drive stays whole");
});

test("the shipped script does not watch its file; clips are named by style, sliders and seed, not request id", () => {
  assert.match(fs.readFileSync(path.join(SRC, "nudge.js"), "utf8"), /^autowatch = 0;$/m);
  const env = readyDevice();
  generated(env, A);
  const name = env.live.callsNamed("name").at(-1).args[0];
  assert.equal(name, "funk dens70 sync25 s7");
  env.live.selectClip(0, 3, 8, A);
  env.context.nudge();
  const [vary] = env.takeSent();
  noteReply(env, vary[1], B);
  env.flushTasks();
  assert.equal(env.live.callsNamed("name").at(-1).args[0], "nudge30 funk dens70 sync25 s7");
});

test("takes beyond the empty slots add scenes, and say so", () => {
  const env = readyDevice({ scenes: 2, tracks: [{ midi: true, slots: 2 }] });
  env.setUi({ nudge_takes: 4 });
  env.context.generate();
  let waiting = env.takeSent();
  while (waiting.length) {
    noteReply(env, waiting.shift()[1], A);
    env.flushTasks();
    waiting = waiting.concat(env.takeSent().filter((m) => m[0] === "/nudge/generate"));
  }
  assert.equal(env.live.callsNamed("create_scene").length, 2);
  assert.equal(env.live.tracks[0].slots.filter((s) => s.clip).length, 4);
  assert.match(env.status().text, /added 2 scenes/);
});

test("a visible version, and a help button that opens the manual beside the device, never a stranger's page", () => {
  const env = readyDevice();
  const pyproject = fs.readFileSync(path.join(SRC, "..", "..", "pyproject.toml"), "utf8");
  const version = /^version = "([^"]+)"$/m.exec(pyproject)[1];  // the device says the package's version
  assert.deepEqual(env.uiObject("nudge_version").messages.at(-1), ["set", "v" + version]);
  env.patcherPath = "Macintosh HD:/Users/me/nudge/max_for_live/frozen/Nudge.amxd";  // in a checkout, as Max says
  env.context.help();
  assert.deepEqual(env.browsed, ["file:///Users/me/nudge/docs/max-for-live.md"]);
  const manual = path.join(SRC, "..", "..", "docs", "max-for-live.md");
  assert.ok(fs.existsSync(manual), "the manual the button opens is the repository's");
  env.patcherPath = "Macintosh HD:/Users/me/Music/Ableton/User Library/Presets/Nudge.amxd";  // no docs beside it
  env.context.help();
  assert.equal(env.browsed.length, 1, "no page to open: nothing is opened");
  assert.match(env.status().text, /docs\/max-for-live\.md in Nudge's source/);
  const sources = fs.readdirSync(SRC).filter((f) => f.endsWith(".js")).map((f) => fs.readFileSync(path.join(SRC, f), "utf8"));
  assert.ok(sources.every((text) => !/https?:\/\/pypi\.org/.test(text)), "no link to PyPI's unrelated 'nudge'");
});

test("the Arrangement is written from Live 12.1.10 on (Track.create_midi_clip); before, the device says so", () => {
  for (const [minor, bugfix, works] of [[1, 9, false], [0, 5, false], [1, 10, true], [2, 0, true]]) {
    const env = readyDevice({ liveMajor: 12, liveMinor: minor, liveBugfix: bugfix });
    env.setUi({ nudge_dest: 2 });
    generated(env, A);
    assert.equal(env.live.callsNamed("create_midi_clip").length, works ? 1 : 0, `12.${minor}.${bugfix}`);
    if (!works) assert.match(env.status().text, /needs Live 12\.1\.10/);
  }
});

test("a Nudge of a dense clip never sends a datagram macOS would refuse", () => {
  const env = readyDevice();
  env.live.selectClip(0, 0, 32, denseNotes(1000, 32));
  env.setUi({ nudge_takes: 2 });
  env.context.nudge();
  assert.deepEqual(env.dropped, []);
  assert.ok(env.takeSent().length > 2);
});

test("each dial's hint is the model's own description of its condition", () => {
  const env = readyDevice();
  const messages = env.uiObject("nudge_cond1").messages;
  assert.deepEqual(messages.filter((m) => m[0] === "annotation").at(-1), ["annotation", "how many hits"]);
  assert.deepEqual(messages.filter((m) => m[0] === "annotation_name").at(-1), ["annotation_name", "Density"]);
});
