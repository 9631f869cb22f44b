// node --test: src/nudge_miditool.js on its own, loaded as Max loads it (pure).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { loadModule } = require("./fake_max.js");

const tool = loadModule("nudge_miditool");
const plain = (x) => JSON.parse(JSON.stringify(x));

// a context as live.miditool.in sends it (Live 12.0.5+; h1data/M4L-MIDI-tool-examples memo/README.md)
const CONTEXT = { clip: { time_selection_start: 4, time_selection_end: 10, first_note_start: 4.5, last_note_end: 9,
  lowest_pitch: 36, highest_pitch: 42 }, scale: { scale_mode: 1, root_note: 0, scale_intervals: [0, 2, 4, 5, 7, 9, 11],
  scale_name: "Major" }, grid: { interval: 0.25, enabled: 1 } };

const NOTES = [
  { note_id: 1, pitch: 36, start_time: 4, duration: 0.25, velocity: 100.4, mute: 0, probability: 1 },
  { note_id: 2, pitch: 42, start_time: 4.5, duration: 0.25, velocity: 0.2, mute: 0, probability: 1 },
  { note_id: 3, pitch: 38, start_time: 5, duration: 0.25, velocity: 90, mute: 1, probability: 1 },
  { note_id: 4, pitch: 36, start_time: 12, duration: 0.25, velocity: 90, mute: 0, probability: 1 },
];

test("the selection: the time range, else the selected notes' span, else a clear message", () => {
  assert.deepEqual(plain(tool.selection(CONTEXT)), { startBeats: 4, lengthBeats: 6 });
  const noRange = { clip: { time_selection_start: 2, time_selection_end: 2, first_note_start: 1, last_note_end: 3 } };
  assert.deepEqual(plain(tool.selection(noRange)), { startBeats: 1, lengthBeats: 2 });
  assert.match(tool.selection({ clip: {} }).error, /Select a time range/);
  assert.match(tool.selection(undefined).error, /Select a time range/);
});

test("a Generator asks for whole bars covering the selection (1..8)", () => {
  const sel = tool.selection(CONTEXT);
  assert.deepEqual(plain(tool.generateAtoms(7, sel, 4, ["seed", 3, "density", 0.5])),
    ["/nudge/generate", 7, "bars", 2, "seed", 3, "density", 0.5]);
  assert.equal(tool.barsFor({ startBeats: 0, lengthBeats: 4 }, 4), 1);
  assert.equal(tool.barsFor({ startBeats: 0, lengthBeats: 0.5 }, 4), 1);
  assert.equal(tool.barsFor({ startBeats: 0, lengthBeats: 100 }, 4), 8);
  assert.equal(tool.barsFor({ startBeats: 0, lengthBeats: 9 }, 3), 3);
});

test("a Transformation sends the selected notes relative to the selection, unmuted, velocities as ints", () => {
  const sel = tool.selection(CONTEXT);
  assert.deepEqual(plain(tool.varyAtoms(8, 0.3, NOTES, sel, ["seed", 1])),
    ["/nudge/vary", 8, 0.3, "seed", 1, "notes", 6, 36, 0, 0.25, 100, 42, 0.5, 0.25, 1]);
});

test("the daemon's notes go to the selection, cropped to it; the notes it did not touch come back", () => {
  const sel = tool.selection(CONTEXT);
  const reply = [{ pitch: 36, start_time: 0, duration: 0.25, velocity: 100 },
    { pitch: 42, start_time: 5.9, duration: 0.5, velocity: 60 }, { pitch: 38, start_time: 6, duration: 0.25, velocity: 90 }];
  const out = plain(tool.toolNotes(reply, sel));
  assert.deepEqual(out.notes, [
    { pitch: 36, start_time: 4, duration: 0.25, velocity: 100, mute: 0 },
    { pitch: 42, start_time: 9.9, duration: 0.09999999999999964, velocity: 60, mute: 0 },
  ]);
  const merged = plain(tool.merge(out, NOTES, sel));
  assert.equal(merged.notes.length, 4);
  assert.deepEqual(merged.notes.slice(2).map((n) => [n.pitch, n.start_time, n.mute, "note_id" in n]),
    [[38, 5, 1, false], [36, 12, 0, false]]);
});

test("the apply cycle: ask, wait, hand out once for the same input; a newer input or late reply", () => {
  const c = tool.makeCycle();
  assert.deepEqual(plain(tool.onApply(c, "A")), { send: true });
  tool.sent(c, "A", 1);
  assert.deepEqual(plain(tool.onApply(c, "A")), { wait: true }, "a repeated bang while waiting sends nothing");
  assert.equal(tool.answered(c, 1, { notes: [1] }), true, "then bang live.miditool.in to continue the cycle");
  assert.deepEqual(plain(tool.onApply(c, "A")), { out: { notes: [1] } });
  assert.deepEqual(plain(tool.onApply(c, "A")), { send: true }, "handed out once; the next apply asks again");
  tool.sent(c, "A", 2);
  assert.deepEqual(plain(tool.onApply(c, "B")), { send: true }, "the input changed (a dial moved)");
  tool.sent(c, "B", 3);
  assert.equal(tool.answered(c, 2, { notes: [2] }), false, "the older request's reply is dropped");
  assert.equal(tool.answered(c, 3, { notes: [3] }), true);
  assert.deepEqual(plain(tool.onApply(c, "A")), { send: true }, "a result is for its own input only");
  tool.sent(c, "A", 4);
  tool.failed(c, 4);
  assert.deepEqual(plain(tool.onApply(c, "A")), { send: true });
});
