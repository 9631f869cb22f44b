// node --test: src/nudge_live.js on its own, loaded as Max loads it, given the fake LiveAPI of fake_max.js.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { loadModule, makeSandbox } = require("./fake_max.js");

const NOTES = [{ pitch: 36, start_time: 0, duration: 0.25, velocity: 100, mute: 0 },
  { pitch: 42, start_time: 1.5, duration: 0.25, velocity: 70, mute: 0 }];

/** The module made with a fake Live set; `reports` collects what it shows the user. */
function liveWith(options) {
  const env = makeSandbox(options);
  env.liveReady = true;  // as after [live.thisdevice] has banged
  const reports = [];
  const live = loadModule("nudge_live").make(env.LiveAPI, (text, level) => { reports.push([level, text]); return null; });
  return { env, live, reports, fake: env.live };
}

test("making it creates no LiveAPI object (Live forbids them before the device is ready)", () => {
  const { env } = liveWith();
  const before = env.liveApiCount;
  loadModule("nudge_live").make(env.LiveAPI, () => null);
  assert.equal(env.liveApiCount, before);
});

test("the device's MIDI track, also from inside a rack; another kind of track is named", () => {
  for (const inRack of [false, true]) {
    const { live, reports } = liveWith({ inRack });
    assert.equal(live.deviceMidiTrack().unquotedpath, "live_set tracks 0");
    assert.deepEqual(reports, []);
  }
  const { live, reports } = liveWith({ tracks: [{ midi: false }] });
  assert.equal(live.deviceMidiTrack(), null);
  assert.deepEqual(reports, [["error", "This track is not a MIDI track: put Nudge on a MIDI track."]]);
});

test("the selected clip must exist and be a MIDI clip; readClip hands over its loop", () => {
  const { live, reports, fake } = liveWith();
  assert.equal(live.selectedMidiClip(), null);
  assert.match(reports.pop()[1], /No clip selected/);
  fake.selectClip(0, 1, 4, NOTES, { is_midi_clip: 0 });
  assert.equal(live.selectedMidiClip(), null);
  assert.match(reports.pop()[1], /audio clip/);
  fake.selectClip(0, 2, 8, NOTES, { loop_start: 4 });
  const clip = live.selectedMidiClip();
  const read = live.readClip(clip);
  assert.equal(read.loopStart, 4);
  assert.equal(read.lengthBeats, 8);
  assert.equal(typeof read.raw, "string", "Max's LiveAPI returns the notes dictionary as JSON text");
  assert.deepEqual(fake.callsNamed("get_notes_extended").pop().args, [0, 128, 4, 8]);
});

test("the first empty slot from the selected scene down, wrapping to the top; -1 when all are full", () => {
  const { live, fake } = liveWith({ scenes: 4 });
  const track = live.deviceMidiTrack();
  fake.view.props.selected_scene = fake.scenes[2].id;
  assert.equal(live.firstEmptySlot(track), 2);
  fake.selectClip(0, 2, 4, []);
  fake.selectClip(0, 3, 4, []);
  assert.equal(live.firstEmptySlot(track), 0, "wraps to the top");
  fake.selectClip(0, 0, 4, []);
  fake.selectClip(0, 1, 4, []);
  assert.equal(live.firstEmptySlot(track), -1);
});

test("writeJob: a new clip with the notes and the name; where it went comes back", () => {
  const { live, fake } = liveWith({ tracks: [{ midi: true, slots: 2 }], scenes: 2 });
  const where = live.writeJob({ dest: "session", notes: NOTES, lengthBeats: 8, name: "Nudge funk #3" });
  assert.equal(where, "a new clip in slot 1");
  const clip = fake.tracks[0].slots[0].clip;
  assert.equal(clip.props.length, 8);
  assert.equal(clip.props.name, "Nudge funk #3");
  assert.deepEqual(clip.notes.map((n) => [n.pitch, n.start_time, n.velocity]), [[36, 0, 100], [42, 1.5, 70]]);
});

test("writeJob: replace empties and resizes the clip; a clip that is gone or not Nudge's, and Live 11, say why", () => {
  const { live, fake, reports } = liveWith({ tracks: [{ midi: true, slots: 1 }], scenes: 1, liveMajor: 11 });
  const old = fake.selectClip(0, 0, 16, [{ pitch: 50, start_time: 12, duration: 1, velocity: 9 }]);
  assert.equal(live.writeJob({ dest: "replace", targetClipId: old.id, notes: NOTES, lengthBeats: 4, name: "n" }),
    "the selected clip");
  assert.deepEqual(old.notes.map((n) => n.pitch), [36, 42]);
  assert.deepEqual([old.props.loop_end, old.props.end_marker], [4, 4]);
  assert.equal(reports.length, 0);
  const cases = [
    [{ dest: "replace", targetClipId: 999 }, /clip to replace no longer exists/],
    [{ dest: "replace", targetClipId: fake.tracks[0].slots[0].id }, /clip to replace no longer exists/],  // a slot
    [{ dest: "arrangement" }, /needs Live 12\.1\.10/],
    [{ restoring: true, where: { track: 0, slot: 0 }, name: "other" }, /is not the clip Nudge wrote/],
    [{ restoring: true, where: { track: 0, slot: 3 }, name: "n" }, /is gone/],
  ];
  for (const [job, why] of cases) {
    assert.equal(live.writeJob({ notes: NOTES, lengthBeats: 4, name: "n", ...job }), "");
    assert.match(reports.pop()[1], why);
  }
});

test("writeJob: a full track gets a new scene at the end; a result remembers its clip's place, not its id", () => {
  const { live, fake, reports } = liveWith({ tracks: [{ midi: true, slots: 1 }], scenes: 1 });
  fake.selectClip(0, 0, 4, []);
  const job = { dest: "session", notes: NOTES, lengthBeats: 4, name: "funk s1" };
  assert.equal(live.writeJob(job), "a new clip in slot 2");
  assert.deepEqual([job.scenesAdded, job.where.track, job.where.slot], [1, 0, 1]);
  assert.equal("clipId" in job, false);
  fake.tracks[0].arrangement = [];
  const arranged = { dest: "arrangement", notes: NOTES, lengthBeats: 4, name: "funk s2" };
  live.writeJob(arranged);
  assert.deepEqual({ ...arranged.where }, { track: 0, start: 0 });
  fake.reload();
  const back = { restoring: true, where: arranged.where, name: "funk s2", notes: NOTES.slice(0, 1), lengthBeats: 4 };
  assert.equal(live.writeJob(back), "track 1, beat 0");
  assert.deepEqual(fake.tracks[0].arrangement[0].notes.map((n) => n.pitch), [36]);
  assert.deepEqual(reports, []);
});
