// node --test: src/nudge_history.js on its own, loaded as Max loads it (pure).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { loadModule } = require("./fake_max.js");

const history = loadModule("nudge_history");
const plain = (x) => JSON.parse(JSON.stringify(x));

const result = (seed) => ({ name: "funk s" + seed, notes: [{ pitch: 36, start_time: 0, duration: 0.25, velocity: 100 }],
  lengthBeats: 16, sliders: { density: 0.5 }, seed });

test("back and forward through the results, restoring each; the ends say so", () => {
  const h = history.make(8);
  assert.equal(history.current(h), null);
  assert.equal(history.label(h), "-");
  for (const seed of [1, 2, 3]) history.push(h, result(seed));
  assert.equal(history.label(h), "3/3");
  assert.equal(history.canForward(h), false);
  assert.equal(history.step(h, -1).seed, 2);
  assert.equal(history.step(h, -1).seed, 1);
  assert.equal(history.step(h, -1), null, "nothing before the first");
  assert.equal(history.canBack(h), false);
  assert.equal(history.label(h), "1/3");
  assert.equal(history.step(h, 1).seed, 2);
  assert.deepEqual(plain(history.current(h)), result(2));
});

test("a new result after stepping back drops the ones after it (as a browser does)", () => {
  const h = history.make(8);
  for (const seed of [1, 2, 3]) history.push(h, result(seed));
  history.step(h, -1);
  history.step(h, -1);
  history.push(h, result(9));
  assert.equal(history.label(h), "2/2");
  assert.equal(history.step(h, -1).seed, 1);
  assert.equal(history.step(h, 1).seed, 9);
  assert.equal(history.step(h, 1), null);
});

test("the oldest go first beyond the limit; entries are copies both ways", () => {
  const h = history.make(3);
  const mine = result(1);
  history.push(h, mine);
  mine.sliders.density = 0.9;  // the caller changes its own object afterwards
  for (const seed of [2, 3, 4]) history.push(h, result(seed));
  assert.equal(history.label(h), "3/3");
  assert.deepEqual(plain(h.entries.map((e) => e.seed)), [2, 3, 4]);
  const got = history.current(h);
  got.seed = 99;
  assert.equal(history.current(h).seed, 4);
  assert.throws(() => history.make(0), /history limit must be an int >= 1/);
});

test("saved with the Live set and loaded back; malformed text is an empty history", () => {
  const h = history.make(4);
  for (const seed of [1, 2, 3]) history.push(h, result(seed));
  history.step(h, -1);
  const back = history.load(history.save(h), 4);
  assert.equal(history.label(back), "2/3");
  assert.equal(history.current(back).seed, 2);
  const shorter = history.load(history.save(h), 2);  // a smaller limit keeps the newest
  assert.deepEqual(plain(shorter.entries.map((e) => e.seed)), [2, 3]);
  assert.equal(history.current(shorter).seed, 2);
  for (const bad of ["", "{", "null", '{"entries": 3}']) assert.equal(history.label(history.load(bad, 4)), "-");
});
