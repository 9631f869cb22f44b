// node --test: issues 22 and 27 in the device — the tool menu and Apply (Groove, Drumify, Continue, Interpolate,
// Fill on the selected clip) and Drumify of a selected audio clip, written beside it — nudge.js in the fake
// Max/Live sandbox, and src/nudge_tools.js on its own. The wire format is the daemon's registry's
// (tests/max_for_live/test_js_constants.py compares them; test_device_tools.py runs them against the daemon).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { loadModule } = require("./fake_max.js");
const { readyDevice, noteReply, hit } = require("./device_helpers.js");

const tools = loadModule("nudge_tools");
const osc = loadModule("nudge_osc");
const plain = (x) => JSON.parse(JSON.stringify(x));
const TOOL = { groove: 0, drumify: 1, continue: 2, interpolate: 3, fill: 4 };
const GROOVE = [hit(36, 0), hit(42, 0.5), hit(38, 1), hit(42, 1.5), hit(36, 2), hit(42, 2.5), hit(38, 3), hit(42, 3.5)];
const MARKERS = JSON.stringify({ warp_markers: [{ sample_time: 0.1, beat_time: 0 }, { sample_time: 2.1, beat_time: 4 },
  { sample_time: 4.1, beat_time: 8 }, { sample_time: 4.15, beat_time: 8.1 }] });  // the last: Live's shadow marker

function device(options = {}) {
  return readyDevice({ scenes: 8, tracks: [{ midi: true, slots: 8 }, { midi: false, slots: 8 }], ...options });
}

/** Apply with the tool chosen; the requests it sent (not the cancel) */
function apply(env, tool, ui = {}) {
  env.setUi({ nudge_tool: TOOL[tool], ...ui });
  env.context.tool();
  return env.takeSent().filter((m) => m[0] !== "/nudge/cancel");
}

const after = (atoms, key) => atoms[atoms.indexOf(key) + 1];
const notesAfter = (atoms) => atoms.slice(atoms.indexOf("notes") + 2);

// ---------------------------------------------------------------- the module

test("each tool's head: its address, its positional arguments, its keys, and a short clip name", () => {
  const model = { styles: ["funk"], conditions: [{ name: "density", defaultValue: 0.5 }] };
  const value = (name, fallback) => ({ nudge_cond1: 0.7 }[name] ?? fallback);
  const heads = {};
  for (const verb of tools.TOOLS) {
    const job = { verb, id: 5, seed: 9 };
    heads[verb] = [plain(tools.head(job, { amount: 0.25, bars: 2, count: 5, step: 3, splitBeats: 8 }, model, "funk",
      value, 8)), job.name];
  }
  assert.deepEqual(heads.groove, [["/nudge/groove", 5, 0.25, "style", "funk", "seed", 9], "groove25 funk s9"]);
  assert.deepEqual(heads.drumify, [["/nudge/drumify", 5, "style", "funk", "seed", 9, "density", 0.7],
    "drumify funk dens70 s9"]);
  assert.deepEqual(heads.continue, [["/nudge/continue", 5, 2, "style", "funk", "seed", 9, "density", 0.7],
    "cont+2 funk dens70 s9"]);
  assert.deepEqual(heads.interpolate, [["/nudge/interpolate", 5, 5, 3, 8, "seed", 9], "interp 3of5 s9"]);
  assert.deepEqual(heads.fill, [["/nudge/fill", 5, "style", "funk", "seed", 9], "fill funk s9"]);
});

test("Continue asks for at most the bars that keep the clip within 8; Interpolate's Takes are the steps between", () => {
  assert.deepEqual(plain(tools.continueBars(8, 4, 4)), { bars: 4 });
  assert.deepEqual(plain(tools.continueBars(24, 4, 4)), { bars: 2 }, "6 bars + 2");
  assert.match(tools.continueBars(32, 4, 1).error, /at most 8 bars: the clip has 8/);
  assert.deepEqual(plain(tools.interpolateSteps(1)), { count: 3, steps: [2] });
  assert.deepEqual(plain(tools.interpolateSteps(3)), { count: 5, steps: [2, 3, 4] });
  assert.equal(tools.interpolateSteps(99).count, tools.MAX_INTERPOLATE);
  const path = plain(tools.pathClip({ lengthBeats: 4, flat: [36, 0, 0.25, 100] }, { lengthBeats: 4, flat: [38, 1, 0.25, 90] },
    4));
  assert.deepEqual(path, { lengthBeats: 8, splitBeats: 4, flat: [36, 0, 0.25, 100, 38, 5, 0.25, 90] });
  assert.match(tools.pathClip({ lengthBeats: 4, flat: [] }, { lengthBeats: 8, flat: [] }, 4).error, /one length/);
  assert.equal(tools.pathClip({ lengthBeats: 16, flat: [] }, { lengthBeats: 16, flat: [] }, 4).error, undefined);
  const dense = new Array(4 * 600).fill(1);
  assert.match(tools.pathClip({ lengthBeats: 16, flat: dense }, { lengthBeats: 16, flat: dense }, 4).error,
    /1200 notes together; the daemon takes at most 1024/);
  assert.match(tools.pathClip({ lengthBeats: 20, flat: [] }, { lengthBeats: 20, flat: [] }, 4).error,
    /at most 4 bars \(A and B go to the daemon as one clip of at most 8\)/);
});

test("an audio clip's fields: warped (beats and markers) or unwarped (seconds); what is wrong is said", () => {
  const warped = { file_path: "/loops/break.wav", warping: 1, looping: 1, loop_start: 0, loop_end: 8,
    start_marker: 0, end_marker: 16, signature_numerator: 4, warp_markers: [MARKERS] };
  const source = plain(tools.audioSource(warped));
  assert.deepEqual(source, { file: "/loops/break.wav", warped: true, beatsPerBar: 4, startBeats: 0, endBeats: 8,
    markers: [[0.1, 0], [2.1, 4], [4.1, 8], [4.15, 8.1]] }, "the loop is what plays");
  const atoms = plain(tools.audioMessage(["/nudge/drumify", 7, "style", "any", "seed", 3], source));
  assert.deepEqual(atoms, ["/nudge/drumify", 7, "style", "any", "seed", 3, "audio", "/loops/break.wav",
    "beats_per_bar", 4, "audio_start_beats", 0, "audio_end_beats", 8, "warp", 0.1, 0, 2.1, 4, 4.1, 8, 4.15, 8.1]);
  const unwarped = plain(tools.audioSource({ ...warped, warping: 0, looping: 0, start_marker: 1.5, end_marker: 9.5,
    warp_markers: null }));
  assert.deepEqual(unwarped, { file: "/loops/break.wav", warped: false, beatsPerBar: 4, startSeconds: 1.5,
    endSeconds: 9.5 });
  assert.deepEqual(plain(tools.audioMessage(["/nudge/drumify", 7, "seed", 3], unwarped)).slice(6),
    ["beats_per_bar", 4, "audio_start_s", 1.5, "audio_end_s", 9.5]);
  assert.ok(!tools.audioMessage(["/nudge/drumify", 7], { ...unwarped, beatsPerBar: 9 }).includes("beats_per_bar"),
    "a meter the daemon does not take (2..7) is left to it");
  assert.match(tools.audioSource({ ...warped, file_path: "" }).error, /no file on disk/);
  assert.match(tools.audioSource({ ...warped, warp_markers: null }).error, /warp markers are missing/);
  const falling = JSON.stringify({ warp_markers: [{ sample_time: 1, beat_time: 0 }, { sample_time: 0.5, beat_time: 4 }] });
  assert.match(tools.audioSource({ ...warped, warp_markers: [falling] }).error, /do not rise/);
  assert.match(tools.audioSource({ ...warped, loop_end: 0 }).error, /not a part to drumify/);
  assert.equal(tools.audioSource({ ...warped, signature_numerator: 0 }).beatsPerBar, 0, "unknown: the daemon tracks it");
  assert.deepEqual(plain(tools.warpMarkers({ warp_markers: [{ sample_time: 0, beat_time: 0 }, { sample_time: 1, beat_time: 2 }] })),
    [[0, 0], [1, 2]], "the dictionary itself is read too");
});

// ---------------------------------------------------------------- the device

test("Groove: the selected clip goes with Amount, style and seed (no bars, no keep); the result lands in a new clip", () => {
  const env = device();
  env.live.selectClip(0, 0, 8, GROOVE, { name: "stiff beat" });
  const [request] = apply(env, "groove", { nudge_amount: 0.8, nudge_keep_kick: 1 });
  assert.deepEqual(request.slice(0, 8), ["/nudge/groove", request[1], 0.8, "style", "funk", "seed", 7, "notes"]);
  assert.equal(request[8], 8, "the clip's length");
  assert.equal(notesAfter(request).length, 4 * GROOVE.length);
  assert.ok(!request.includes("bars") && !request.includes("keep") && !request.includes("density"));
  noteReply(env, request[1], GROOVE.map((n) => ({ ...n, velocity: 77 })), { length: 8 });
  env.flushTasks();
  const clip = env.live.tracks[0].slots[1].clip;
  assert.equal(clip.props.name, "groove80 funk s7");
  assert.deepEqual(clip.notes.map((n) => n.velocity), GROOVE.map(() => 77));
  assert.match(env.status().text, /^Wrote 8 notes to a new clip in slot 2: "groove80 funk s7"/);
});

test("Drumify and Fill send the dials as their keys say; Takes make consecutive seeds; 'selected clip' replaces it", () => {
  const env = device();
  env.live.selectClip(0, 0, 16, [hit(40, 0), hit(43, 1.5), hit(40, 3)], { name: "bassline" });
  const drumify = apply(env, "drumify", { nudge_takes: 1 });
  assert.deepEqual(drumify[0].slice(2, 10), ["style", "funk", "seed", 7, "density", 0.7, "syncopation", 0.25]);
  env.setUi({ nudge_takes: 3 });
  const fills = apply(env, "fill");
  assert.equal(fills.length, 2, "two at a time, as Generate's takes");
  assert.deepEqual(fills.map((r) => [r[0], after(r, "seed")]), [["/nudge/fill", 7], ["/nudge/fill", 8]]);
  assert.ok(!fills[0].includes("density"), "Fill takes no sliders");
  env.setUi({ nudge_dest: 1 });
  const [replace] = apply(env, "fill");
  noteReply(env, replace[1], [hit(38, 0), hit(45, 12), hit(47, 13)], { length: 16 });
  env.flushTasks();
  const clip = env.live.tracks[0].slots[0].clip;
  assert.deepEqual(clip.notes.map((n) => n.pitch), [38, 45, 47], "the selected clip holds the fill now");
  assert.equal(clip.props.name, "fill funk s7");
});

test("Continue sends Bars new bars, at most up to 8 in all; the longer clip is written whole", () => {
  const env = device();
  env.live.selectClip(0, 0, 24, GROOVE);  // 6 bars
  const [request] = apply(env, "continue", { nudge_bars: 4 });
  assert.deepEqual(request.slice(0, 3), ["/nudge/continue", request[1], 2], "6 + 2 = 8 bars");
  noteReply(env, request[1], [hit(36, 0), hit(36, 28)], { length: 32 });
  env.flushTasks();
  const clip = env.live.tracks[0].slots[1].clip;
  assert.equal(clip.props.loop_end, 32);
  assert.equal(clip.props.name, "cont+2 funk dens70 sync25 s7");
  env.live.selectClip(0, 2, 32, GROOVE);
  assert.deepEqual(apply(env, "continue"), [], "an 8-bar clip cannot go on: nothing is sent");
  assert.match(env.status().text, /Continue makes at most 8 bars: the clip has 8 already/);
});

test("Interpolate: from the selected clip to the next clip below; Takes steps of one path, one seed", () => {
  const env = device();
  env.live.selectClip(0, 3, 4, [hit(42, 1)], { name: "B" });
  env.live.selectClip(0, 1, 4, [hit(36, 0)], { name: "A" });
  const sent = [];
  env.setUi({ nudge_takes: 3, nudge_seedlock: 0 });
  env.random = 0.5;
  sent.push(...apply(env, "interpolate"));
  assert.equal(sent.length, 2);
  noteReply(env, sent[0][1], [hit(36, 0)], { length: 4 });
  sent.push(...env.takeSent());
  assert.deepEqual(sent.map((r) => r.slice(2, 5)), [[5, 2, 4], [5, 3, 4], [5, 4, 4]], "count 5, steps 2..4, split 4");
  assert.equal(new Set(sent.map((r) => after(r, "seed"))).size, 1, "one path: one seed");
  assert.deepEqual(notesAfter(sent[0]), [36, 0, 0.25, 100, 42, 5, 0.25, 100], "A, then B after A's length");
  assert.equal(after(sent[0], "notes"), 8);
  env.live.selectClip(0, 5, 8, [hit(36, 0)], { name: "longer" });
  env.live.selectClip(0, 4, 4, [hit(36, 0)], { name: "A2" });
  assert.deepEqual(apply(env, "interpolate"), []);
  assert.match(env.status().text, /two clips of one length/);
  env.live.selectClip(0, 7, 4, [hit(36, 0)]);
  assert.deepEqual(apply(env, "interpolate"), []);
  assert.match(env.status().text, /next clip below it on its track \(B\)/);
  env.live.selectClip(0, 4, 4, [hit(36, 0)], { name: "A2" });
  assert.deepEqual(apply(env, "interpolate", { nudge_dest: 1 }), []);
  assert.match(env.status().text, /Interpolate writes new clips/);
});

test("Drumify of a warped audio clip: its file, loop and warp markers go; the drums land beside it, as long", () => {
  const env = device();
  env.live.selectClip(1, 2, 8, [], { name: "break", is_midi_clip: 0, is_audio_clip: 1, file_path: "/loops/break.wav",
    warping: 1, looping: 1, signature_numerator: 4, warp_markers: [MARKERS] });
  const [request] = apply(env, "drumify", { nudge_dest: 1, nudge_takes: 1 });
  assert.equal(request[0], tools.AUDIO_DRUMIFY);
  assert.deepEqual(request.slice(request.indexOf("audio"), request.indexOf("warp") + 3),
    ["audio", "/loops/break.wav", "beats_per_bar", 4, "audio_start_beats", 0, "audio_end_beats", 8, "warp", 0.1, 0]);
  assert.ok(!request.includes("notes"), "no note clip with an audio file");
  assert.ok(osc.messageBytes(request) <= osc.MAX_REQUEST_BYTES);
  noteReply(env, request[1], [hit(36, 0), hit(38, 1)], { length: 8 });
  env.flushTasks();
  const beside = env.live.tracks[0].slots[2].clip;
  assert.ok(beside, "the device's track, the audio clip's row");
  assert.equal(beside.props.loop_end, 8);
  assert.equal(beside.props.name, "drumify funk dens70 sync25 s7");
  assert.equal(env.live.tracks[1].slots[2].clip.props.is_audio_clip, 1, "the audio clip is left as it is");
  env.live.show(env.live.tracks[1].slots[2].clip);  // the result was shown: the producer clicks the audio again
  const again = apply(env, "drumify");
  noteReply(env, again[0][1], [hit(36, 0)], { length: 8 });
  env.flushTasks();
  assert.ok(env.live.tracks[0].slots[3].clip, "its row taken: the next empty slot below");
});

test("Drumify of an audio clip in the Arrangement lands at its start; bad audio input sends nothing", () => {
  const env = device();
  const audio = env.live.addArrangementClip(env.live.tracks[1], 16, 8);
  Object.assign(audio.props, { is_midi_clip: 0, is_audio_clip: 1, file_path: "/loops/a.aif", warping: 0,
    looping: 0, start_marker: 0.5, end_marker: 4.5, signature_numerator: 3, name: "take" });
  env.live.show(audio);
  const [request] = apply(env, "drumify");
  assert.deepEqual(request.slice(request.indexOf("audio")), ["audio", "/loops/a.aif", "beats_per_bar", 3,
    "audio_start_s", 0.5, "audio_end_s", 4.5]);
  noteReply(env, request[1], [hit(36, 0)], { length: 6 });
  env.flushTasks();
  const [clip] = env.live.tracks[0].arrangement;
  assert.deepEqual([clip.props.start_time, clip.props.end_time], [16, 22]);
  env.live.show(audio);
  audio.props.file_path = "";
  assert.deepEqual(apply(env, "drumify"), []);
  assert.match(env.status().text, /no file on disk/);
  const many = { warp_markers: Array.from({ length: 1000 }, (_, i) => ({ sample_time: i * 0.5, beat_time: i })) };
  Object.assign(audio.props, { file_path: "/loops/a.aif", warping: 1, warp_markers: [JSON.stringify(many)] });
  assert.deepEqual(apply(env, "drumify"), [], "1000 markers would pass the 8,192 bytes one request may take");
  assert.match(env.status().text, /1000 warp markers: too many for one request/);
  assert.deepEqual(apply(env, "groove"), []);
  assert.match(env.status().text, /Groove works on a MIDI clip; of the tools only Drumify takes an audio clip/);
});

test("a daemon without the tools answers an error: said with the tool's name, nothing written", () => {
  const env = device();
  env.live.selectClip(0, 0, 8, GROOVE);
  const [request] = apply(env, "fill");
  env.osc("/nudge/error", request[1], "/nudge/fill: unknown address");
  env.flushTasks();
  assert.match(env.status().text, /^Daemon: \/nudge\/fill: unknown address \(Fill #\d+ \(new clip\)\)$/);
  assert.equal(env.live.tracks[0].slots[1].clip, null);
});
