// node --test: src/nudge_saved.js on its own, loaded as Max loads it (pure): what the Live set stores.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { loadModule } = require("./fake_max.js");

const storage = loadModule("nudge_saved");
const history = loadModule("nudge_history");
const plain = (x) => JSON.parse(JSON.stringify(x));  // the module's objects come from its own realm (node:vm)

const model = (styles, names) => ({ name: "m1", styles, conditions: names.map((name) => ({ name, defaultValue: 0.5 })) });

test("save then load gives back the style, the dials' names, the pads and the history", () => {
  const saved = storage.make(4);
  saved.style = "funk";
  saved.conditions = ["density", "swing"];
  history.push(saved.history, { name: "take 1", notes: [], lengthBeats: 16 });
  history.push(saved.history, { name: "take 2", notes: [], lengthBeats: 8 });
  const loaded = storage.load(storage.save(saved, { kick: 36 }), 4);
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
