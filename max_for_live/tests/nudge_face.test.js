// node --test: src/nudge_face.js on its own, loaded as Max loads it, over a fake patcher of named objects.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { loadModule } = require("./fake_max.js");

/** A patcher holding objects by varname (only `names`; others are missing, as in a trimmed patch). */
function faceWith(names, values = {}) {
  const objects = new Map(names.map((n) => [n, { hidden: 0, messages: [], value: values[n],
    getvalueof() { return this.value; }, message(...args) { this.messages.push(args); } }]));
  const posted = [];
  let patcher = { getnamed: (n) => objects.get(n) || null };
  const face = loadModule("nudge_face").make(() => patcher, (line) => posted.push(line), 3);
  return { face, objects, posted, dropPatcher: () => { patcher = null; } };
}

test("status: the status line shows it, errors also go to the Max window, the last one is kept", () => {
  const { face, objects, posted } = faceWith(["nudge_status"]);
  assert.equal(face.status("Generating (#3)...", "info"), null, "null, for `return status(...)`");
  assert.equal(face.status("Daemon: unknown style 'polka'", "error"), null);
  assert.deepEqual(objects.get("nudge_status").messages, [["set", "Generating (#3)..."],
    ["set", "Daemon: unknown style 'polka'"]]);
  assert.deepEqual(posted, ["Nudge: Daemon: unknown style 'polka'"]);
  assert.deepEqual({ ...face.lastStatus() }, { text: "Daemon: unknown style 'polka'", level: "error" });
});

test("value: the control's value, or the fallback when it is missing, empty or NaN; first of a list", () => {
  const { face, dropPatcher } = faceWith(["a", "b", "c", "d"], { a: 0.25, b: [3, 4], c: NaN, d: null });
  assert.equal(face.value("a", 9), 0.25);
  assert.equal(face.value("b", 9), 3);
  assert.equal(face.value("c", 9), 9);
  assert.equal(face.value("d", 9), 9);
  assert.equal(face.value("missing", 9), 9);
  dropPatcher();
  assert.equal(face.value("a", 9), 9, "no patcher (e.g. while Max loads): the fallback");
  face.message("a", "set", 1);  // and messages go nowhere without an error
});

test("showModel: dials named after the conditions, the rest hidden, styles in the menu, extras explained", () => {
  const names = ["nudge_cond1", "nudge_cond2", "nudge_cond3", "nudge_style", "nudge_model", "nudge_status"];
  const { face, objects } = faceWith(names);
  const model = { name: "default", bars: 4, styles: ["funk", "rock"], conditions: [
    { name: "density" }, { name: "swing" }] };
  face.showModel(model);
  assert.deepEqual(objects.get("nudge_cond1").messages, [["_parameter_longname", "Density"],
    ["_parameter_shortname", "density"], ["_parameter_invisible", 0]]);
  assert.deepEqual(objects.get("nudge_cond3").messages, [["_parameter_longname", "Unused 3"],
    ["_parameter_shortname", "-"], ["_parameter_invisible", 2]], "an unused dial: hidden from automation too");
  assert.deepEqual(["nudge_cond1", "nudge_cond2", "nudge_cond3"].map((n) => objects.get(n).hidden), [0, 0, 1]);
  assert.deepEqual(objects.get("nudge_style").messages, [["_parameter_range", "any", "funk", "rock"]]);
  assert.deepEqual(objects.get("nudge_model").messages, [["set", "Model: default (4 bars)"]]);
  assert.equal(face.lastStatus().text, "Ready: model default");
  face.showModel({ ...model, conditions: [1, 2, 3, 4, 5].map((i) => ({ name: "c" + i })) });
  assert.equal(face.lastStatus().text, "Ready: model default; the first 3 of 5 conditions have dials, the rest " +
    "keep the model's defaults");
});

test("showOnline: green light when the daemon answers; red and no round trip when it does not", () => {
  const { face, objects } = faceWith(["nudge_light", "nudge_rtt"]);
  face.showOnline(true);
  face.showOnline(false);
  assert.deepEqual(objects.get("nudge_light").messages, [["bgfillcolor", 0.35, 0.8, 0.3, 1],
    ["bgfillcolor", 0.85, 0.2, 0.3, 1]]);
  assert.deepEqual(objects.get("nudge_rtt").messages, [["set", "-"]]);
});

test("long names say what a dial controls and never repeat another control's long name", () => {
  const { face } = faceWith([]);
  assert.equal(face.longName("density"), "Density");
  assert.equal(face.longName("amount"), "Amount (condition)");
  assert.equal(face.longName("Seed"), "Seed (condition)");
});

test("restoreDialNames: the names the set saved, before the daemon answers; unknown ones left alone", () => {
  const { face, objects } = faceWith(["nudge_cond1", "nudge_cond2", "nudge_cond3"]);
  face.restoreDialNames(["density", "swing"]);
  assert.deepEqual(objects.get("nudge_cond2").messages[0], ["_parameter_longname", "Swing"]);
  assert.deepEqual(objects.get("nudge_cond3").messages, []);
});
