// node --test: src/nudge_miditool.js on its own, loaded as Max loads it (pure), and nudge_tool.js in the fake
// MIDI Tool apply cycle of tool_harness.js (h1data/M4L-MIDI-tool-examples' rules) with a scripted daemon.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { loadModule, datagramBytes } = require("./fake_max.js");
const { makeTool, IN_TIME, ASYNC } = require("./tool_harness.js");

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

test("the selection on the clip's bar grid: the time range, else the selected notes' span, else a message", () => {
  assert.deepEqual(plain(tool.selection(CONTEXT, 4)), { startBeats: 4, endBeats: 10, barStart: 4, bars: 2,
    windowBeats: 8 });
  const notesOnly = { clip: { time_selection_start: 2, time_selection_end: 2, first_note_start: 5.5, last_note_end: 7 } };
  assert.deepEqual(plain(tool.selection(notesOnly, 4)), { startBeats: 5.5, endBeats: 7, barStart: 4, bars: 1,
    windowBeats: 4 }, "from the bar line before the first selected note, not from the note");
  assert.equal(tool.selection({ clip: { time_selection_start: 0, time_selection_end: 100 } }, 4).bars, 8);
  assert.equal(tool.selection({ clip: { time_selection_start: 0, time_selection_end: 9 } }, 3).bars, 3);
  assert.match(tool.selection({ clip: {} }, 4).error, /Select a time range/);
  assert.match(tool.selection(undefined, 4).error, /Select a time range/);
});

test("a Transformation sends the selected notes from the bar line, unmuted, velocities as ints", () => {
  const sel = tool.selection(CONTEXT, 4);
  assert.deepEqual(plain(tool.varyMessages(8, 0.3, NOTES, sel, ["seed", 1])),
    [["/nudge/vary", 8, 0.3, "seed", 1, "notes", 8, 36, 0, 0.25, 100, 42, 0.5, 0.25, 1]]);
  assert.deepEqual(plain(tool.generateMessages(7, sel, ["seed", 3])), [["/nudge/generate", 7, "bars", 2, "seed", 3]]);
});

test("a large selection goes ahead in parts, each datagram well under macOS's 9,216 bytes", () => {
  const many = [];
  for (let i = 0; i < 900; i++) many.push({ pitch: 36 + (i % 8), start_time: i * 32 / 900, duration: 0.1, velocity: 90 });
  const sel = tool.selection({ clip: { time_selection_start: 0, time_selection_end: 32 } }, 4);
  const messages = plain(tool.varyMessages(5, 0.3, many, sel, ["seed", 1]));
  assert.ok(messages.length >= 3);
  for (const m of messages) assert.ok(datagramBytes(m) <= 8192, `${m[0]}: ${datagramBytes(m)} bytes`);
  assert.deepEqual(messages.at(-1).slice(-4), ["parts", messages.length - 1, "notes", 32]);
});

test("the daemon's notes go from the bar line into the selection, repeated past 8 bars, cropped at its end", () => {
  const sel = tool.selection(CONTEXT, 4);
  const reply = [{ pitch: 36, start_time: 0, duration: 0.25, velocity: 100 },
    { pitch: 42, start_time: 5.9, duration: 0.5, velocity: 60 }, { pitch: 38, start_time: 6.5, duration: 0.25, velocity: 90 }];
  assert.deepEqual(plain(tool.toolNotes(reply, sel)).notes, [
    { pitch: 36, start_time: 4, duration: 0.25, velocity: 100, mute: 0 },
    { pitch: 42, start_time: 9.9, duration: 0.09999999999999964, velocity: 60, mute: 0 },
  ]);
  const long = tool.selection({ clip: { time_selection_start: 0, time_selection_end: 40 } }, 4);
  assert.deepEqual(plain(tool.toolNotes([reply[0]], long)).notes.map((n) => n.start_time), [0, 32],
    "a 10-bar selection: the 8-bar groove again from bar 9");
  const merged = plain(tool.merge(tool.toolNotes(reply, sel), NOTES, sel));
  assert.deepEqual(merged.notes.slice(2).map((n) => [n.pitch, n.start_time, n.mute, "note_id" in n]),
    [[38, 5, 1, false], [36, 12, 0, false]], "muted and outside notes stay, without their note ids");
});

test("the apply cycle: a result per input, one request on its way, the newest input waiting", () => {
  const c = tool.makeCycle();
  assert.deepEqual(plain(tool.onApply(c, "A")), { out: null });
  assert.deepEqual(plain(tool.want(c, "A", { id: 1 })), { id: 1 });
  assert.equal(tool.want(c, "A", { id: 2 }), null, "already asked");
  assert.equal(tool.want(c, "B", { id: 3 }), null, "waits for request 1");
  assert.equal(tool.want(c, "C", { id: 4 }), null, "replaces B: only the newest input waits");
  assert.deepEqual(plain(tool.answered(c, 1, { notes: [1] })), { apply: true, next: { id: 4 } });
  assert.deepEqual(plain(tool.onApply(c, "A")), { out: { notes: [1] } }, "kept: handed out on every apply");
  tool.onApply(c, "C");
  assert.deepEqual(plain(tool.answered(c, 9, { notes: [9] })), { apply: false, next: null }, "not ours");
  assert.equal(tool.failed(c, 4), null);
  assert.deepEqual(plain(tool.want(c, "C", { id: 5 })), { id: 5 }, "after a failure it asks again");
  assert.equal(tool.inputKey("t", [{ note_id: 1, pitch: 36, start_time: 0, duration: 1, velocity: 99.6 }], {}, {}),
    tool.inputKey("t", [{ note_id: 7, pitch: 36, start_time: 0, duration: 1, velocity: 100 }], {}, {}),
    "the same notes with new ids are the same input");
});

test("the fake apply cycle refuses what Live refuses: no answer in time, an answer outside an apply", () => {
  const t = makeTool({ kind: "transformation", clip: { length: 8, notes: [] }, selection: { start: 0, end: 4 } });
  t.ops.apply();
  assert.deepEqual(t.record.errors, [], "nudge_tool answers every apply at once");
  assert.match(IN_TIME, /in time/);
  assert.match(ASYNC, /asynchronously/);
});

test("a reply makes the tool apply again, and the result replaces the selected notes", () => {
  const notes = [{ pitch: 36, start_time: 4, duration: 0.25, velocity: 100 }, { pitch: 42, start_time: 5, duration: 0.25, velocity: 80 }];
  const t = makeTool({ kind: "transformation", clip: { length: 16, notes }, selection: { start: 4, end: 8 } });
  t.ops.apply();
  const request = t.record.sent.find((m) => m[0] === "/nudge/vary");
  const id = request[1];
  t.ops.osc({ messages: [["/nudge/notes/begin", id, 1, 1, 4, "x"], ["/nudge/notes", id, 0, 38, 1, 0.25, 110],
    ["/nudge/notes/end", id, 1]] });
  assert.equal(t.record.applies, 2);
  assert.deepEqual(t.record.errors, []);
  assert.deepEqual(t.clip.notes.map((n) => [n.pitch, n.start_time]), [[38, 5]]);
});

test("the tools' Transformations: each its address and positional setting, the rest as pairs; Continue's room", () => {
  const sel = tool.selection(CONTEXT, 4);  // bars 2, from beat 4
  const settings = { groove: { amount: 1, seed: 3 }, drumify: { density: 0.5, syncopation: 0.3, seed: 3 },
    continue: { bars: 2, seed: 3 }, fill: { seed: 3 }, transformation: { amount: 0.3, seed: 3 } };
  const heads = {};
  for (const [kind, s] of Object.entries(settings)) {
    const [message] = plain(tool.transformMessages(kind, 9, s, NOTES, sel));
    heads[kind] = message.slice(0, message.indexOf("notes"));
    assert.deepEqual(message.slice(message.indexOf("notes"), message.indexOf("notes") + 6), ["notes", 8, 36, 0, 0.25, 100]);
  }
  assert.deepEqual(heads, {
    groove: ["/nudge/groove", 9, 1, "seed", 3],
    drumify: ["/nudge/drumify", 9, "density", 0.5, "syncopation", 0.3, "seed", 3],
    continue: ["/nudge/continue", 9, 2, "seed", 3],
    fill: ["/nudge/fill", 9, "seed", 3],
    transformation: ["/nudge/vary", 9, 0.3, "seed", 3],
  });
  assert.equal(tool.continueRoom(sel, 6), sel, "2 + 6 bars fit");
  assert.match(tool.continueRoom(sel, 7).error, /at most 8 bars: select at most 1 bars, or lower Bars/);
  const longer = plain(tool.resultSelection(sel, 16));
  assert.deepEqual(longer, { startBeats: 4, endBeats: 20, barStart: 4, bars: 2, windowBeats: 16 });
  assert.equal(tool.resultSelection(sel, 8), sel, "a reply as long as the window stays in the selection");
  const placed = plain(tool.toolNotes([{ pitch: 36, start_time: 0, duration: 0.25, velocity: 90 },
    { pitch: 38, start_time: 12, duration: 0.25, velocity: 90 }], tool.resultSelection(sel, 16)));
  assert.deepEqual(placed.notes.map((n) => [n.pitch, n.start_time]), [[36, 4], [38, 16]], "the new bars after it");
});
