// Shared by the device's node tests: a device that found the daemon, and note replies as the daemon sends them.
"use strict";
const { makeSandbox } = require("./fake_max.js");

const INFO = ["tiny", 4, 4, 2, "density", "how many hits", 0.5, "syncopation", "off-beat weight", 0.3, 2,
  "funk", "rock"];
const PORT = 50123;  // the free port the launcher found for this instance's [udpreceive]

/** The daemon answers the device's first ping and its model info request. */
function answer(env) {
  const ping = env.sentTo("/nudge/ping").at(-1);
  env.osc("/nudge/pong", ping[1], "0.1.0", "tiny");
  const info = env.sentTo("/nudge/model/info").at(-1);
  if (info) env.osc("/nudge/model/info", info[1], ...INFO);
  env.takeSent();
  return env;
}

const CONTROLS = { nudge_bars: 2, nudge_style: 1, nudge_seedlock: 1, nudge_seed: 7, nudge_cond1: 0.7,
  nudge_cond2: 0.25, nudge_dest: 0, nudge_amount: 0.3 };

/** A device that has loaded, found the daemon and labelled its dials from the model. */
function readyDevice(liveOptions, loadOptions = {}) {
  const env = makeSandbox(liveOptions);
  env.load({ launcherPort: PORT, ...loadOptions });
  answer(env);
  env.setUi(CONTROLS);
  return env;
}

/** A whole note reply to request `id` (begin, parts, end), delivered as [udpreceive] would */
function noteReply(env, id, notes, { length = 8, name = "daemon name" } = {}) {
  const groups = notes.map((n) => [n.pitch, n.start_time, n.duration, n.velocity]);
  env.osc("/nudge/notes/begin", id, 1, notes.length, length, name);
  env.osc("/nudge/notes", id, 0, ...groups.flat());
  env.osc("/nudge/notes/end", id, 1);
}

/** n notes spread over lengthBeats (a dense drum clip) */
function denseNotes(n, lengthBeats) {
  const notes = [];
  for (let i = 0; i < n; i++) {
    notes.push({ pitch: [36, 42, 38, 42][i % 4], start_time: (i * lengthBeats) / n, duration: 0.25,
      velocity: 60 + (i % 60) });
  }
  return notes;
}

const hit = (pitch, start = 0) => ({ pitch, start_time: start, duration: 0.25, velocity: 100 });

module.exports = { INFO, PORT, answer, readyDevice, noteReply, denseNotes, hit, CONTROLS };
