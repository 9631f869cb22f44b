// Drives src/nudge_tool.js (the MIDI Tools' [js]) in a sandbox of Max's [js] globals, for
// tests/max_for_live/test_miditool.py. One JSON command per stdin line, one JSON answer per stdout line:
//   {"op": "load", "kind": "generator" | "transformation", "port": N, "kit": [[note, name], ...] | null}
//   {"op": "context", "dict": {...}}   live.miditool.in's middle outlet (context) -> inlet 1
//   {"op": "notes", "dict": {...}}     its left outlet (notes) -> inlet 0
//   {"op": "osc", "messages": [[address, ...atoms], ...]}   [udpreceive] -> [prepend osc]
//   {"op": "setting", "key": k, "value": v} | {"op": "advance", "ms": N} (then expire())
// Answer: {"out": [dicts sent to live.miditool.out], "sent": [[address, ...atoms]], "bangs": N, "status": "..."}
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");
const vm = require("node:vm");
const { loadModule } = require("./fake_max.js");

const SRC = path.join(__dirname, "..", "src");
let ctx = null;
let record = null;
const dicts = new Map();
let nextDict = 1;

class Dict {
  constructor(name) {
    this.name = name || `u${nextDict++}`;
    if (!dicts.has(this.name)) dicts.set(this.name, "{}");
  }
  parse(text) { dicts.set(this.name, text); }
  stringify() { return dicts.get(this.name); }
}

/** A Live set with one MIDI track (a Drum Rack when `kit` is given) and a selected Session clip. */
function fakeLive(kit) {
  const objects = new Map();
  const add = (id, p, props) => objects.set(id, { path: p, props });
  add(1, "live_set", { signature_numerator: 4, signature_denominator: 4 });
  add(2, "live_set tracks 0", { devices: kit ? ["id", 4] : [] });
  add(3, "live_set tracks 0 clip_slots 0", { canonical_parent: ["id", 2] });
  add(5, "live_set tracks 0 clip_slots 0 clip", { canonical_parent: ["id", 3] });
  if (kit) {
    const pads = [];
    kit.forEach(([note, name], i) => {
      add(100 + i, `pad ${i}`, { note, name, chains: ["id", 500 + i] });
      pads.push("id", 100 + i);
    });
    add(4, "live_set tracks 0 devices 0", { class_name: "DrumGroupDevice", drum_pads: pads });
  }
  return function LiveAPI(p) {
    p = String(p);
    const byId = /^id (\d+)$/.exec(p);
    const id = byId ? Number(byId[1]) : p === "live_set view detail_clip" ? 5 :
      [...objects.entries()].find(([, o]) => o.path === p)?.[0] ?? 0;
    this.id = objects.has(id) ? id : 0;
    this.unquotedpath = this.id ? objects.get(this.id).path : "";
    this.get = (prop) => { const v = objects.get(this.id).props[prop]; return Array.isArray(v) ? v : [v]; };
  };
}

function load(cmd) {
  record = { out: [], sent: [], bangs: 0, status: "" };
  const globals = {
    jsarguments: ["nudge_tool.js", cmd.kind, cmd.port],
    inlet: 0,
    Dict,
    LiveAPI: fakeLive(cmd.kit),
    require: (name) => loadModule(name),
    outlet: (n, ...atoms) => {
      const list = atoms.length === 1 && Array.isArray(atoms[0]) ? atoms[0] : atoms;
      if (n === 0) record.out.push(JSON.parse(dicts.get(list[1])));
      else if (n === 1) record.sent.push(list);
      else if (n === 2) record.bangs += 1;
      else if (n === 3) record.status = list.slice(1).join(" ");
    },
    Date,
    JSON,
    Math,
  };
  ctx = vm.createContext(globals);
  new vm.Script(fs.readFileSync(path.join(SRC, "nudge_tool.js"), "utf8"), { filename: "nudge_tool.js" }).runInContext(ctx);
}

function sendDict(inlet, dict) {
  const d = new Dict();
  d.parse(JSON.stringify(dict));
  ctx.inlet = inlet;
  ctx.dictionary(d.name);
}

const OPS = {
  load,
  context(cmd) { sendDict(1, cmd.dict); },
  notes(cmd) { sendDict(0, cmd.dict); },
  osc(cmd) { for (const m of cmd.messages) ctx.osc(...m); },
  setting(cmd) { ctx.setting(cmd.key, cmd.value); },
  advance(cmd) { const now = Date.now() + cmd.ms; ctx.clock.now = () => now; ctx.expire(); },
};

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const cmd = JSON.parse(line);
  const before = record;
  if (cmd.op !== "load") record = { out: [], sent: [], bangs: 0, status: before.status };
  let answer;
  try {
    OPS[cmd.op](cmd);
    answer = record;
  } catch (error) {
    answer = { error: String(error && error.stack || error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
