// node --test: issue 16 in the device — several takes per click, history back and forward, the track's Drum
// Rack, voices kept — nudge.js in the fake Max/Live sandbox.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { makeSandbox } = require("./fake_max.js");

const INFO = ["tiny", 4, 4, 2, "density", "how many hits", 0.5, "syncopation", "off-beat weight", 0.3, 2,
  "funk", "rock"];
const KIT = [[60, "Kick 808"], [61, "Snare 808"], [62, "Hihat Closed 808"], [63, "Hihat Open 808"]];

function ready(liveOptions) {
  const env = makeSandbox(liveOptions);
  env.load({ launcherPort: 50123 });
  const ping = env.sentTo("/nudge/ping")[0];
  env.osc("/nudge/pong", ping[1], "0.1.0", "tiny");
  env.osc("/nudge/model/info", env.sentTo("/nudge/model/info")[0][1], ...INFO);
  env.takeSent();
  env.setUi({ nudge_bars: 2, nudge_style: 1, nudge_seedlock: 1, nudge_seed: 7, nudge_cond1: 0.7,
    nudge_cond2: 0.25, nudge_dest: 0, nudge_amount: 0.3 });
  return env;
}

function reply(env, id, notes, name) {
  env.osc("/nudge/notes/begin", id, 1, notes.length, 8, name);
  env.osc("/nudge/notes", id, 0, ...notes.flatMap((n) => [n.pitch, n.start_time, n.duration, n.velocity]));
  env.osc("/nudge/notes/end", id, 1);
}

/** What the set stores for the device: its parameter-enabled dict's contents */
const stored = (env) => JSON.parse(JSON.stringify(env.saved().dicts[`${env.deviceUid}nudgeStore`] || {}));

/** Answer every take of a click as it is sent (two at a time), in order -> the requests */
function answerAll(env, notesFor) {
  const done = [];
  let waiting = env.takeSent().filter((m) => m[0] !== "/nudge/cancel");
  while (waiting.length) {
    const r = waiting.shift();
    done.push(r);
    reply(env, r[1], notesFor(done.length - 1), `daemon name ${done.length - 1}`);
    waiting = waiting.concat(env.takeSent());
  }
  return done;
}

const take = (pitch) => [{ pitch, start_time: 0, duration: 0.25, velocity: 100 }, { pitch: 42, start_time: 1, duration: 0.25, velocity: 80 }];

test("Takes: one request per take with consecutive seeds, each written to the next empty slot, named with its seed", () => {
  const env = ready();
  env.setUi({ nudge_takes: 3 });
  env.context.generate();
  const sent = answerAll(env, () => take(36));
  assert.equal(sent.length, 3);
  assert.deepEqual(sent.map((r) => r[r.indexOf("seed") + 1]), [7, 8, 9]);
  assert.equal(new Set(sent.map((r) => r[1])).size, 3, "each take its own id");
  env.flushTasks();
  const created = env.live.callsNamed("create_clip").map((c) => c.path);
  assert.deepEqual(created, ["live_set tracks 0 clip_slots 0", "live_set tracks 0 clip_slots 1", "live_set tracks 0 clip_slots 2"]);
  const names = env.live.callsNamed("name").map((c) => c.args[0]);
  assert.deepEqual(names, [7, 8, 9].map((seed) => `funk dens70 sync25 s${seed}`),
    "each named with its style, sliders and seed");
  const [firstReq] = sent;
  assert.deepEqual(firstReq.slice(2), ["bars", 2, "style", "funk", "seed", 7, "density", 0.7, "syncopation", 0.25]);
});

test("Takes: a later click supersedes every take of the earlier one; replace writes one take", () => {
  const env = ready();
  env.setUi({ nudge_takes: 2 });
  env.context.generate();
  const first = env.takeSent();
  env.context.generate();
  const second = env.takeSent();
  assert.equal(second[0][0], "/nudge/cancel", "the daemon drops the first click's takes still waiting");
  reply(env, first[0][1], take(36), "old");
  reply(env, second[2][1], take(36), "new");
  env.flushTasks();
  assert.deepEqual(env.live.callsNamed("name").map((c) => c.args[0]), ["funk dens70 sync25 s8"],
    "only the second click's take 2 was written");
  env.live.selectClip(0, 3, 4, take(36));
  env.setUi({ nudge_dest: 1, nudge_takes: 4 });
  env.context.generate();
  assert.equal(env.takeSent().filter((m) => m[0] === "/nudge/generate").length, 1);
  assert.match(env.status().text, /writes one take/);
});

test("Takes in the Arrangement with the loop on: the first at the loop, the rest after it", () => {
  const env = ready();
  Object.assign(env.live.song.props, { loop: 1, loop_start: 16 });
  env.setUi({ nudge_takes: 2, nudge_dest: 2 });
  env.context.generate();
  answerAll(env, () => take(36));
  env.flushTasks();
  const starts = env.live.callsNamed("create_midi_clip").map((c) => c.args[0]);
  assert.deepEqual(starts, [16, 24]);
});

test("History: back and forward restore each result's notes in its clip and the dials that made it", () => {
  const env = ready();
  env.context.generate();
  reply(env, env.takeSent()[0][1], take(36), "first");
  env.flushTasks();
  env.setUi({ nudge_cond1: 0.1, nudge_seed: 9 });
  env.context.generate();
  reply(env, env.takeSent()[0][1], take(38), "second");
  env.flushTasks();
  assert.equal(env.uiObject("nudge_history_pos").messages.at(-1)[1], "2/2");
  const firstClip = env.live.tracks[0].slots[0].clip;
  env.live.calls.length = 0;
  env.context.back();
  env.flushTasks();
  assert.equal(env.uiObject("nudge_history_pos").messages.at(-1)[1], "1/2");
  assert.equal(env.uiObject("nudge_cond1").value, 0.7, "the dial as it was for the first result");
  assert.equal(env.uiObject("nudge_seed").value, 7);
  const added = env.live.callsNamed("add_new_notes");
  assert.equal(added.length, 1);
  assert.equal(added[0].path, firstClip.path, "back in the clip it was written to");
  assert.deepEqual(added[0].args[0].notes.map((n) => n.pitch), [36, 42]);
  assert.match(env.status().text, /Back to "funk dens70 sync25 s7" \(1\/2\)/);
  env.context.back();
  assert.match(env.status().text, /No earlier result/);
  env.context.forward();
  env.flushTasks();
  assert.equal(env.uiObject("nudge_cond1").value, 0.1);
  assert.deepEqual(env.live.callsNamed("add_new_notes").at(-1).args[0].notes.map((n) => n.pitch), [38, 42]);
  assert.equal(stored(env).history.entries.length, 2, "the history is saved with the set");
});

test("Drum Rack: the clip goes out on the voices' pitches, results come back on the kit's pads", () => {
  const env = ready({ kit: KIT });
  env.live.selectClip(0, 0, 4, [{ pitch: 60, start_time: 0, duration: 0.25, velocity: 100 },
    { pitch: 61, start_time: 1, duration: 0.25, velocity: 90 }, { pitch: 70, start_time: 2, duration: 0.25, velocity: 9 }]);
  env.context.nudge();
  const [req] = env.takeSent();
  const marker = req.indexOf("notes");
  assert.deepEqual(req.slice(marker + 2).filter((_, i) => i % 4 === 0), [36, 38, 70], "pads -> voices; others as they are");
  reply(env, req[1], [{ pitch: 36, start_time: 0, duration: 0.25, velocity: 100 },
    { pitch: 42, start_time: 0.5, duration: 0.25, velocity: 60 }, { pitch: 49, start_time: 1, duration: 0.25, velocity: 60 }], "n");
  env.flushTasks();
  const notes = env.live.callsNamed("add_new_notes").at(-1).args[0].notes;
  assert.deepEqual(notes.map((n) => n.pitch), [60, 62, 49], "voices -> pads; a voice without a pad keeps its GM note");
  assert.match(env.uiObject("nudge_kit").messages.at(-1)[1], /^Kit: kick C3 \(Kick 808\), snare C#3 \(Snare 808\)/);
});

test("Drum Rack: the producer picks another pad for a voice; auto gives it back", () => {
  const env = ready({ kit: KIT });
  env.setUi({ nudge_pad_voice: 0 });
  assert.deepEqual(env.uiObject("nudge_pad_note").messages.at(-1), ["set", 60]);
  env.setUi({ nudge_pad_note: 63 });
  assert.equal(stored(env).pads.kick, 63);
  env.context.generate();
  const [req] = env.takeSent();
  reply(env, req[1], [{ pitch: 36, start_time: 0, duration: 0.25, velocity: 100 }], "n");
  env.flushTasks();
  assert.deepEqual(env.live.callsNamed("add_new_notes").at(-1).args[0].notes.map((n) => n.pitch), [63]);
  env.context.padauto();
  assert.deepEqual(stored(env).pads, {});
});

test("Keep: the kept voices go with generate, with the selected clip; vary sends them as keep", () => {
  const env = ready();
  env.setUi({ nudge_keep_kick: 1, nudge_keep_snare: 1 });
  env.context.generate();
  assert.match(env.status().text, /No clip selected/, "keeping voices needs the clip they come from");
  assert.equal(env.takeSent().length, 0);
  env.live.selectClip(0, 0, 4, [{ pitch: 36, start_time: 0, duration: 0.25, velocity: 100 }]);
  env.context.generate();
  const [gen] = env.takeSent();
  assert.equal(gen[0], "/nudge/generate");
  assert.deepEqual(gen.slice(gen.indexOf("keep"), gen.indexOf("keep") + 2), ["keep", "kick,snare"]);
  assert.deepEqual(gen.slice(gen.indexOf("notes")), ["notes", 4, 36, 0, 0.25, 100]);
  env.context.nudge();
  const [vary] = env.takeSent().filter((m) => m[0] === "/nudge/vary");
  assert.equal(vary[vary.indexOf("keep") + 1], "kick,snare");
});
