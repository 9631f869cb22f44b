// Drives src/nudge_launcher.js (the device's [node.script]) for tests/max_for_live/test_launcher.py, without Max:
// `node launcher_harness.js '{"port": P, "extraArgs": [...], "idleExitSeconds": S}'`, then one JSON command
// per stdin line ({"op": "ensure"} | {"op": "freeport"} | {"op": "command", "path": P} |
// {"op": "target", "host": H, "port": P}); every report goes to stdout as one JSON line
// ({"state", "text"} as the device would get `daemon <state> <text>`, or {"port"}).
"use strict";
const readline = require("node:readline");
const { Launcher, freePort } = require("../src/nudge_launcher.js");

const options = JSON.parse(process.argv[2] || "{}");
const say = (object) => process.stdout.write(JSON.stringify(object) + "\n");
const launcher = new Launcher({ ...options, report: (state, text) => say({ state, text }) });
const OPS = {
  ensure: () => launcher.ensure(),
  freeport: () => freePort().then((port) => say({ port })),
  command: ({ path }) => launcher.command(path),
  target: ({ host, port }) => launcher.target(host, port),
};
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const command = JSON.parse(line);
  Promise.resolve(OPS[command.op](command)).catch((error) => say({ state: "error", text: String(error.stack || error) }));
});
