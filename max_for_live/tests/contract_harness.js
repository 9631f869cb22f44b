// Drives nudge.js (in the fake Max/Live sandbox) for tests/max_for_live/test_device_files.py's contract tests.
// One JSON command per stdin line, one JSON answer per stdout line:
//   {"op": "init", "port": reply port} | {"op": "osc", "messages": [[address, ...atoms], ...]} | {"op": "ui", "values": {...}}
//   {"op": "call", "name": "generate" | "nudge" | "play" | "panic", "args": [...]}
//   {"op": "select_last_clip"} | {"op": "advance", "ms": N}
//   {"op": "select_clip", "slot": S, "length": beats, "notes": [...]} (a clip the producer made, shown)
//   {"op": "select_audio", "slot": S, "length": beats, "props": {file_path, warping, ...}} (an audio clip on
//   track 2, an audio track, shown)
//   {"op": "clips"} -> answer.clips: every Session clip of track 1 ({slot, name, notes, loop_end})
//   {"op": "stored"} -> answer.stored: what the set stores for the device ({blob, dicts, notified})
// Answer: {"sent": [[address, ...atoms], ...], "calls": [new LiveAPI calls], "status": {...}, "ui": {...}, "error"?}
// Atoms keep JavaScript's number type; the Python side types them as Max's [udpsend] does
// (a whole number goes out as int32 "i", any other number as float32 "f", a string as "s").
"use strict";
const readline = require("node:readline");
const { makeSandbox } = require("./fake_max.js");

const env = makeSandbox({ scenes: 20, tracks: [{ midi: true, slots: 20 }, { midi: false, slots: 20 }] });
let callsSeen = 0;

function lastClip() {
  const clips = [...env.live.objects.values()].filter((o) => Array.isArray(o.notes));
  return clips[clips.length - 1];
}

const OPS = {
  init(cmd) { env.load({ launcherPort: cmd.port || 50123 }); },
  osc(cmd) { for (const m of cmd.messages) env.osc(...m); env.flushTasks(); },
  ui(cmd) { env.setUi(cmd.values); },
  call(cmd) { env.context[cmd.name](...(cmd.args || [])); env.flushTasks(); },
  select_last_clip() { env.live.view.props.detail_clip = lastClip().id; },
  select_clip(cmd) { env.live.selectClip(0, cmd.slot, cmd.length, cmd.notes); },
  select_audio(cmd) {
    env.live.selectClip(1, cmd.slot, cmd.length, [], { is_midi_clip: 0, is_audio_clip: 1, ...cmd.props });
  },
  stored(cmd, answer) {
    answer.stored = { blob: env.context.getvalueof(), dicts: env.saved ? env.saved().dicts : {}, notified: env.notified };
  },
  clips(cmd, answer) {
    answer.clips = env.live.tracks[0].slots.map((s, slot) => s.clip && { slot, name: s.clip.props.name,
      loop_end: s.clip.props.loop_end, notes: s.clip.notes.map((n) => [n.pitch, n.start_time, n.duration, n.velocity]) })
      .filter(Boolean);
  },
  advance(cmd) { env.advance(cmd.ms); env.flushTasks(); },
};

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const cmd = JSON.parse(line);
  const answer = {};
  try {
    if (!OPS[cmd.op]) throw new Error(`unknown op ${cmd.op}`);
    OPS[cmd.op](cmd, answer);
  } catch (error) {
    answer.error = String(error && error.stack ? error.stack : error);
  }
  answer.sent = env.takeSent();
  answer.calls = env.live.calls.slice(callsSeen);
  callsSeen = env.live.calls.length;
  answer.status = env.status();
  answer.ui = Object.fromEntries([...env.ui.entries()].map(([k, o]) => [k, { hidden: o.hidden, attrs: o.attrs,
    last: o.messages.length ? o.messages[o.messages.length - 1] : null }]));
  answer.ports = env.ports.splice(0);
  process.stdout.write(JSON.stringify(answer) + "\n");
});
