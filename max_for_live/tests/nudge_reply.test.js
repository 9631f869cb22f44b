// node --test: src/nudge_reply.js on its own, loaded as Max loads it (no globals: it is pure).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { loadModule } = require("./fake_max.js");

const reply = loadModule("nudge_reply");
const plain = (x) => JSON.parse(JSON.stringify(x));  // the module's arrays come from its own realm (node:vm)

/** The atoms after the id of a begin, parts and end, as the daemon splits `notes` into `parts`. */
function atoms(notes, parts, length = 4) {
  const flat = notes.flatMap((n) => [n[0], n[1], n[2], n[3]]);
  const per = Math.ceil(notes.length / parts) * 4;
  const out = [];
  for (let p = 0; p < parts; p++) out.push([p, ...flat.slice(p * per, (p + 1) * per)]);
  return { begin: [parts, notes.length, length, "Nudge funk"], parts: out };
}

const NOTES = [[36, 0, 0.25, 110], [42, 0.5, 0.25, 70], [38, 1, 0.25, 96], [42, 1.5, 0.25, 64], [36, 3.75, 0.1, 1]];

test("parts in any order, a repeated part and the begin marker last: the notes in part order", () => {
  const { begin, parts } = atoms(NOTES, 3);
  const asm = reply.newAssembly(1000);
  for (const part of [parts[2], parts[0], parts[2]]) {
    assert.equal(reply.readPart(asm, part), "");
    assert.equal(reply.assemble(asm), null, "incomplete until the begin marker and every part are in");
  }
  assert.equal(reply.readBegin(asm, begin), "");
  assert.deepEqual(plain(reply.missingParts(asm)), [1]);
  assert.equal(reply.assemble(asm), null);
  reply.readPart(asm, parts[1]);
  const done = reply.assemble(asm);
  assert.deepEqual(plain(done.notes.map((n) => [n.pitch, n.start_time, n.duration, n.velocity])), NOTES);
  assert.ok(done.notes.every((n) => n.mute === 0));
  assert.equal(asm.clipName, "Nudge funk");
  assert.equal(asm.lengthBeats, 4);
});

test("an empty reply (0 parts, 0 notes) is complete at once", () => {
  const asm = reply.newAssembly(0);
  assert.equal(reply.readBegin(asm, [0, 0, 4]), "");
  assert.deepEqual(plain(reply.assemble(asm)), { notes: [] });
  assert.equal(asm.clipName, "", "the name is optional");
});

test("malformed begin markers and parts are refused with the message's name", () => {
  for (const bad of [["2", 5, 4], [-1, 5, 4], [1.5, 5, 4], [1, -5, 4], [1, 5, 0], [1, 5, NaN], [1, 5, "x"], []]) {
    assert.equal(reply.readBegin(reply.newAssembly(0), bad), "malformed /nudge/notes/begin", JSON.stringify(bad));
  }
  for (const bad of [["0", 36, 0, 1, 100], [-1, 36, 0, 1, 100], [0.5, 36, 0, 1, 100], [0, 36, 0, 1]]) {
    assert.equal(reply.readPart(reply.newAssembly(0), bad), "malformed /nudge/notes part", JSON.stringify(bad));
  }
});

test("a note Live cannot take fails the whole reply, naming the note, its value and the range", () => {
  const cases = [
    [[128, 0, 0.25, 100], /note 1 has pitch 128 \(0\.\.127\)/],
    [[36.5, 0, 0.25, 100], /has pitch 36\.5/],
    [[36, 4, 0.25, 100], /starts at 4 \(0\.\.4\)/],
    [[36, -0.1, 0.25, 100], /starts at -0\.1/],
    [[36, 0, 0, 100], /lasts 0 beats \(> 0\)/],
    [[36, 0, Infinity, 100], /lasts Infinity beats/],
    [[36, 0, 0.25, 0], /has velocity 0 \(1\.\.127\)/],
    [[36, 0, 0.25, 99.5], /has velocity 99\.5/],
  ];
  for (const [note, why] of cases) {
    const { begin, parts } = atoms([NOTES[0], note], 1);
    const asm = reply.newAssembly(0);
    reply.readBegin(asm, begin);
    reply.readPart(asm, parts[0]);
    assert.match(reply.assemble(asm).error, why);
  }
});

test("a note count that differs from the begin marker's fails the reply", () => {
  const asm = reply.newAssembly(0);
  reply.readBegin(asm, [1, 3, 4]);
  reply.readPart(asm, [0, ...NOTES[0], ...NOTES[1]]);
  assert.equal(reply.assemble(asm).error, "expected 3 notes, got 2");
});

test("model info: conditions with descriptions and defaults, styles; the first malformed part is named", () => {
  const info = [7, "default", 4, 4, 2, "density", "how many hits", 0.5, "swing", "late 8ths", 0.2, 2, "funk", "rock"];
  assert.deepEqual(plain(reply.parseModelInfo(info)), {
    name: "default", bars: 4, beatsPerBar: 4, styles: ["funk", "rock"],
    conditions: [{ name: "density", description: "how many hits", defaultValue: 0.5 },
      { name: "swing", description: "late 8ths", defaultValue: 0.2 }],
  });
  assert.equal(reply.parseModelInfo([7, "m", 4]), "header");
  assert.equal(reply.parseModelInfo([7, 3, 4, 4, 0, 0]), "header");
  assert.equal(reply.parseModelInfo([7, "m", 4, 4, 2, "density", "d", 0.5, 9, "x", 0.1, 0]), "condition 1");
  assert.equal(reply.parseModelInfo([7, "m", 4, 4, 0, 2, "funk"]), "style list");
  assert.equal(reply.parseModelInfo([7, "m", 4, 4, 0, 0, "extra"]), "style list");
});

test("clip notes: unmuted, inside the loop, relative to its start, whole pitches, velocities 1..127, sorted", () => {
  const live = JSON.stringify({ notes: [
    { pitch: 42, start_time: 9.5, duration: 0.25, velocity: 80, mute: 0 },
    { pitch: 36, start_time: 8, duration: 0.25, velocity: 127.6, mute: 0 },
    { pitch: 38, start_time: 9.5, duration: 0.25, velocity: 0.2, mute: 0 },
    { pitch: 46, start_time: 8.5, duration: 0.25, velocity: 90, mute: 1 },
    { pitch: 49, start_time: 7.9, duration: 0.25, velocity: 90, mute: 0 },
    { pitch: 51, start_time: 12, duration: 0.25, velocity: 90, mute: 0 },
  ] });
  const expected = [[36, 0, 127], [38, 1.5, 1], [42, 1.5, 80]];
  for (const raw of [live, [live], JSON.parse(live)]) {  // Max hands back the JSON text, maybe as one atom
    const notes = reply.clipNotes(raw, 8, 4);
    assert.deepEqual(plain(notes.map((n) => [n.pitch, n.start_time, n.velocity])), expected);
  }
  assert.deepEqual(plain(reply.clipNotes("{}", 0, 4)), []);
});

test("isInt and clamp01", () => {
  assert.deepEqual([3, 3.5, "3", NaN, -0].map(reply.isInt), [true, false, false, false, true]);
  assert.deepEqual([-1, 0, 0.3, 1, 7, NaN].map(reply.clamp01), [0, 0, 0.3, 1, 1, 0]);
});
