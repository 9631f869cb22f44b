// node --test: src/nudge_saved.js on its own, loaded as Max loads it (pure): what the Live set stores.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { loadModule } = require("./fake_max.js");

const storage = loadModule("nudge_saved");
const history = loadModule("nudge_history");
const plain = (x) => JSON.parse(JSON.stringify(x));  // the module's objects come from its own realm (node:vm)

const model = (styles, names) => ({ name: "m1", styles, conditions: names.map((name) => ({ name, defaultValue: 0.5 })) });

test("save then load gives back the style, the dials' names, the pads, the settings and the history", () => {
  const saved = storage.make(4);
  saved.style = "funk";
  saved.conditions = ["density", "swing"];
  saved.settings = { host: "::1", port: 9100, command: "/opt/nudge" };
  history.push(saved.history, { name: "take 1", notes: [], lengthBeats: 16 });
  history.push(saved.history, { name: "take 2", notes: [], lengthBeats: 8 });
  const loaded = storage.load(plain(storage.data(saved, { kick: 36 })), 4);
  assert.deepEqual(plain(loaded.saved.settings), { host: "::1", port: 9100, command: "/opt/nudge" });
  assert.equal(loaded.saved.style, "funk");
  assert.deepEqual(plain(loaded.saved.conditions), ["density", "swing"]);
  assert.deepEqual(plain(loaded.pads), { kick: 36 });
  assert.equal(history.label(loaded.saved.history), "2/2");
  assert.equal(history.current(loaded.saved.history).name, "take 2");
});

test("a value that is not ours loads as nothing; odd fields fall back to the defaults", () => {
  assert.equal(storage.load("", 4), null);
  assert.equal(storage.load("not json", 4), null);
  assert.equal(storage.load("42", 4), null);
  const loaded = storage.load(JSON.stringify({ style: "", conditions: "density", history: 7 }), 4);
  assert.equal(loaded.saved.style, "any");
  assert.deepEqual(plain(loaded.saved.conditions), []);
  assert.equal(history.label(loaded.saved.history), "-");
  assert.equal(loaded.saved.history.limit, 4);
});

test("a model's info renames the dials once and warns about a renamed dial or a missing style", () => {
  const saved = storage.make(4);
  let follow = storage.followModel(saved, model(["funk"], ["density", "swing", "fills"]), 2);
  assert.deepEqual(plain(follow), { styleIndex: -1, warning: "", changed: true }, "first model: no warning");
  assert.deepEqual(plain(saved.conditions), ["density", "swing"]);
  follow = storage.followModel(saved, model(["funk"], ["density", "swing"]), 2);
  assert.deepEqual(plain(follow), { styleIndex: -1, warning: "", changed: false });
  follow = storage.followModel(saved, model(["funk"], ["density", "energy"]), 2);
  assert.equal(follow.changed, true);
  assert.match(follow.warning, /saved for density, swing; model m1 has density, energy: the dials were renamed/);
  saved.style = "jazz";
  follow = storage.followModel(saved, model(["funk", "rock"], ["density", "energy"]), 2);
  assert.equal(follow.styleIndex, -1);
  assert.match(follow.warning, /chose style jazz, which model m1 lacks: using any/);
  saved.style = "rock";
  assert.equal(storage.followModel(saved, model(["funk", "rock"], ["density", "energy"]), 2).styleIndex, 1);
});

test("an older set's Blob: notes as objects become the compact list, saved LOM ids are dropped", () => {
  const old = { style: "rock", conditions: ["density"], pads: {}, history: JSON.stringify({ at: 0, entries: [
    { name: "Nudge gen rock dens50 s1 #12", clipId: 37, lengthBeats: 4,
      notes: [{ pitch: 36, start_time: 0, duration: 0.25, velocity: 100, mute: 0 }] }] }) };
  const loaded = storage.load(JSON.stringify(old), 16);
  const entry = history.current(loaded.saved.history);
  assert.deepEqual(plain(entry.notes), [36, 0, 0.25, 100]);
  assert.equal("clipId" in entry, false);
  assert.deepEqual(plain(loaded.saved.settings), { host: "127.0.0.1", port: 9000, command: "" });
});

test("settings out of range fall back to the defaults", () => {
  assert.deepEqual(plain(storage.checkSettings({ host: "a b", port: 70000, command: 3 })),
    { host: "127.0.0.1", port: 9000, command: "" });
  assert.deepEqual(plain(storage.checkSettings({ host: "studio.local", port: 9001.5 })),
    { host: "studio.local", port: 9000, command: "" });
});

test("the store keeps one Dict reference and writes one key at a time", () => {
  const env = { dicts: new Map(), dictRefs: new Map(), dictCount: 1, dictResets: 0, dictWrites: 0,
    parameterDicts: new Set(["1nudgeStore"]) };
  const Dict = require("./fake_max.js").makeDictClass(env);
  const store = storage.store(Dict);
  assert.equal(store.read(), null);
  store.open("1nudgeStore");
  store.open("1nudgeStore");
  assert.equal(env.dictResets, 0);
  store.write("style", "funk");
  assert.deepEqual(plain(store.read()), { style: "funk", version: 2 });
});
