// node --test: src/nudge_jobs.js on its own, loaded as Max loads it: a click made into Takes and their OSC
// messages, with a small fake face (the controls' values) and Live (the selected clip).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { loadModule } = require("./fake_max.js");

const jobs = loadModule("nudge_jobs");
const osc = loadModule("nudge_osc");
const requests = loadModule("nudge_requests");
const reply = loadModule("nudge_reply");
const plain = (x) => JSON.parse(JSON.stringify(x));
const MODEL = { name: "m1", styles: ["funk"], conditions: [{ name: "density", defaultValue: 0.5 },
  { name: "swing", defaultValue: 0.25 }] };

function flat(n) {
  const notes = [];
  for (let i = 0; i < n; i++) notes.push({ pitch: 36, start_time: (i % 64) / 4, duration: 0.25, velocity: 100 });
  return jobs.flatNotes(notes);
}

test("a clip that fits one datagram is one /nudge/vary; a long one goes ahead in parts that each fit", () => {
  const head = ["/nudge/vary", 5, 0.2, "bars", 4];
  const small = plain(jobs.varyMessages(5, head, 16, flat(3)));
  assert.equal(small.length, 1);
  assert.deepEqual(small[0].slice(0, 7), [...head, "notes", 16]);
  assert.equal(small[0].length, 7 + 12);
  const long = plain(jobs.varyMessages(5, head, 16, flat(1000)));
  assert.ok(long.length > 2, `${long.length} messages`);
  const parts = long.slice(0, -1);
  parts.forEach((m, p) => {
    assert.deepEqual(m.slice(0, 4), ["/nudge/vary/part", 5, p, parts.length]);
    assert.ok(osc.messageBytes(m) <= osc.MAX_REQUEST_BYTES, `part ${p}: ${osc.messageBytes(m)} bytes`);
  });
  assert.equal(parts.reduce((sum, m) => sum + m.length - 4, 0), 4000, "every note sent once");
  assert.deepEqual(long[long.length - 1], [...head, "parts", parts.length, "notes", 16]);
});

test("control pairs: bars (Generate only, clamped), the saved style if the model has it, each condition, a short name", () => {
  const values = { nudge_bars: 12, nudge_cond1: 0.7, nudge_cond2: 3 };
  const value = (name, fallback) => (name in values ? values[name] : fallback);
  const job = { id: 9, verb: "vary", seed: 42, keep: ["kick", "closed_hat"], amount: 0.25 };
  const pairs = plain(jobs.controlPairs(job, MODEL, "funk", value, 8));
  assert.deepEqual(pairs, ["style", "funk", "seed", 42, "density", 0.7, "swing", 1, "keep", "kick,closed_hat"],
    "a Nudge keeps the clip's length: no bars");
  assert.equal(job.name, "nudge25 funk dens70 swin100 keep K+CH s42");
  assert.equal(job.controls.nudge_cond2, 1);
  const other = { id: 3, verb: "generate", seed: 1, keep: [] };
  assert.deepEqual(plain(jobs.controlPairs(other, MODEL, "jazz", value, 1)).slice(0, 8),
    ["bars", 8, "style", "any", "seed", 1, "density", 0.7]);
  assert.equal(other.name, "any dens70 s1");
});

test("generate: one request per take, consecutive seeds, one batch; nothing sent before the model is known", () => {
  const values = { nudge_takes: 3, nudge_seedlock: 1, nudge_seed: 100, nudge_keep_K: 0 };
  const shown = [];
  const sent = [];
  const face = { value: (name, fallback) => (name in values ? values[name] : fallback),
    status: (text, kind) => { shown.push([kind, text]); }, message: () => {} };
  const live = { deviceMidiTrack: () => ({ id: 1 }), selectedMidiClip: () => null };
  const make = () => jobs.make({ face, live, kit: { show: () => null }, clock: { now: () => 0, random: () => 0.5 },
    send: (atoms) => sent.push(plain(atoms)), bankSize: 8, voiceNames: ["K", "S"] });
  const state = { ready: true, model: null, requests: requests.make({ pingMs: 1, replyMs: 1, partsMs: 1 },
    reply.missingParts, 10) };
  make().generate(state, "funk");
  assert.deepEqual(sent, []);
  assert.match(shown[0][1], /has not answered yet/);
  state.model = MODEL;
  const maker = make();
  maker.generate(state, "funk");
  assert.deepEqual(sent.map((m) => m.slice(0, 2)), [["/nudge/generate", 10], ["/nudge/generate", 11]],
    "two takes on their way; the third waits for one of them");
  assert.deepEqual([10, 11].map((id) => state.requests.get(id).batch), [10, 10]);
  assert.match(shown[shown.length - 1][1], /Generating 3 takes \(#10\.\.\)/);
  state.requests.take(10);  // take 1's reply is in
  maker.pump(state);
  assert.deepEqual(sent.map((m) => m[1]), [10, 11, 12]);
  assert.deepEqual(sent.map((m) => m[m.indexOf("seed") + 1]), [100, 101, 102]);
  assert.equal(state.requests.get(12).batch, 10);
});
