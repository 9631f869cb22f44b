// node --test: src/nudge_drum_rack.js on its own, loaded as Max loads it.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { loadModule } = require("./fake_max.js");

const rack = loadModule("nudge_drum_rack");
const plain = (x) => JSON.parse(JSON.stringify(x));

// Live's 808 Core Kit as it names its pads (C1 upward), with a conga and an empty pad left out
const KIT_808 = [
  [36, "Kick 808"], [37, "Rim 808"], [38, "Snare 808"], [39, "Clap 808"], [42, "Hihat Closed 808"],
  [46, "Hihat Open 808"], [41, "Tom Low 808"], [45, "Tom Mid 808"], [48, "Tom Hi 808"], [49, "Cymbal 808"],
  [51, "Conga Hi 808"],
].map(([note, name]) => ({ note, name }));

test("a kit mapped by its pads' names; a voice without a named pad falls back to its General MIDI pad", () => {
  const m = plain(rack.mapVoices(KIT_808, {}));
  assert.deepEqual(m.pitch, { kick: 36, snare: 38, closed_hat: 42, open_hat: 46, low_tom: 41, mid_tom: 45,
    high_tom: 48, crash: 49, ride: 51 });
  assert.equal(m.how.kick, "name");
  assert.equal(m.how.ride, "general midi", "no ride pad: the conga on 51 plays it (General MIDI's ride)");
});

test("a kit laid out anywhere is found by name; toms by low/mid/high, else by pitch", () => {
  const pads = [[60, "BD Deep"], [61, "SD Crack"], [62, "HH"], [63, "OH"], [64, "Ride Bell"], [65, "Crash"],
    [70, "Tom 3"], [68, "Tom 1"], [69, "Tom 2"]].map(([note, name]) => ({ note, name }));
  const m = plain(rack.mapVoices(pads, {}));
  assert.deepEqual(m.pitch, { kick: 60, snare: 61, closed_hat: 62, open_hat: 63, ride: 64, crash: 65,
    low_tom: 68, mid_tom: 69, high_tom: 70 });
});

test("a clap stands in for a missing snare; a voice with no pad at all says so", () => {
  const pads = [{ note: 36, name: "Kick" }, { note: 39, name: "Clap" }];
  const m = plain(rack.mapVoices(pads, {}));
  assert.equal(m.pitch.snare, 39);
  assert.equal(m.how.crash, "no pad");
  assert.equal(m.pitch.crash, 49);
});

test("the producer's choice wins over names, and its pad is not given to another voice", () => {
  const m = plain(rack.mapVoices(KIT_808, { snare: 39, kick: 37, cowbell: 56 }));
  assert.equal(m.pitch.snare, 39);
  assert.equal(m.how.snare, "set");
  assert.equal(m.pitch.kick, 37);
  assert.ok(!("cowbell" in m.pitch), "unknown voices are ignored");
  assert.ok(!Object.values(m.pitch).slice(2).includes(39));
});

test("clip notes go out on the voices' pitches and replies come back onto the pads; others pass", () => {
  const pads = [{ note: 60, name: "Kick" }, { note: 61, name: "Snare" }, { note: 62, name: "Closed HH" }];
  const m = rack.mapVoices(pads, {});
  const clip = [{ pitch: 60, start_time: 0, duration: 0.25, velocity: 100 },
    { pitch: 61, start_time: 1, duration: 0.25, velocity: 90 }, { pitch: 75, start_time: 2, duration: 1, velocity: 5 }];
  const out = plain(rack.fromPads(clip, m));
  assert.deepEqual(out.map((n) => n.pitch), [36, 38, 75]);
  assert.equal(clip[0].pitch, 60, "the caller's notes are not changed");
  assert.deepEqual(plain(rack.toPads(out, m)).map((n) => n.pitch), [60, 61, 75]);
  assert.deepEqual(plain(rack.toPads([{ pitch: 42 }, { pitch: 49 }], m)).map((n) => n.pitch), [62, 49]);
});

test("the mapping in words, with Live's note names", () => {
  const text = rack.describe(rack.mapVoices(KIT_808, {}), KIT_808);
  assert.match(text, /^kick C1 \(Kick 808\), snare D1 \(Snare 808\)/);
  assert.equal(rack.noteName(60), "C3");
});

test("readPads: the first Drum Rack's pads that hold a chain, through the LiveAPI", () => {
  const objects = {
    1: { devices: ["id", 2, "id", 3] },
    2: { class_name: "MxDeviceMidiEffect" },
    3: { class_name: "DrumGroupDevice", drum_pads: ["id", 10, "id", 11, "id", 12] },
    10: { note: 36, name: "Kick", chains: ["id", 20] },
    11: { note: 37, name: "Empty", chains: [] },
    12: { note: 38, name: "Snare", chains: ["id", 21] },
  };
  function LiveAPI(path) { this.id = Number(String(path).split(" ")[1]); }
  LiveAPI.prototype.get = function (prop) { const v = objects[this.id][prop]; return Array.isArray(v) ? v : [v]; };
  assert.deepEqual(plain(rack.readPads(LiveAPI, new LiveAPI("id 1"))), [{ note: 36, name: "Kick" }, { note: 38, name: "Snare" }]);
  objects[1].devices = ["id", 2];
  assert.equal(rack.readPads(LiveAPI, new LiveAPI("id 1")), null);
});
