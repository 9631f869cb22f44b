// Drives src/nudge_tool.js (the MIDI Tools' [js]) in a sandbox of Max's [js] globals with a fake of Live's MIDI
// Tool apply cycle, for tests/max_for_live/test_miditool.py and the node tests. One JSON command per stdin line,
// one JSON answer per stdout line (or use makeTool() from node).
//
// The fake apply cycle follows h1data/M4L-MIDI-tool-examples (memo/README.md) and Live's manual (MIDI Tools):
//   - an apply (Live's Apply, a changed setting with Auto Apply, or a bang into [live.miditool.in]) sends the
//     context then the notes (a Transformation: the selected notes; a Generator: none); [live.miditool.out]
//     must get a dictionary before the apply returns, else Live says "Did not receive a Note dictionary in
//     time. Make sure that the dictionary is synchronous." and nothing changes;
//   - a dictionary outside an apply is refused: "Received a Note dictionary asynchronously...";
//   - the output replaces the input: the selected notes (Transformation), the time selection's notes
//     (Generator), in the fake clip, so a test can look at the clip after each apply. While the tool stays
//     open with Auto Apply, each apply starts again from the notes as they were (Live's manual: switching
//     Auto Apply off "will restore notes to their original state"): a Transformation's input is always those;
//   - a bang into [live.miditool.in] from the [js] while it handles a UDP reply (`outsideBangs`): "apply"
//     continues as an apply; "ignored" as h1data found for Node for Max's messages (Live must confirm which);
//   - [udpsend]: datagrams over macOS's 9,216 bytes are refused (EMSGSIZE) and counted, not sent.
// Commands: {"op": "load", "kind", "kit": [[note, name]] | null, "clip": {"length", "notes"}, "selection":
//   {"start", "end"} | {"notes": true}, "outsideBangs": "apply" | "ignored", "random": 0..1}
//   {"op": "apply"} | {"op": "setting", "key", "value"} | {"op": "osc", "messages": [[address, ...atoms]]}
//   {"op": "advance", "ms"} (time passes: due Tasks run, then expire()) | {"op": "select", "selection"}
// Answer: {"out": [dicts], "sent": [[address, ...]], "dropped": [[...]], "applies": n, "errors": [...],
//   "ports": [[...]], "status": "...", "clip": [notes]}
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");
const vm = require("node:vm");
const { loadModule, datagramBytes, MACOS_MAX_DATAGRAM } = require("./fake_max.js");

const SRC = path.join(__dirname, "..", "src");
const IN_TIME = "Did not receive a Note dictionary in time. Make sure that the dictionary is synchronous.";
const ASYNC = "Received a Note dictionary asynchronously. Make sure that the dictionary is synchronous.";

function makeTool(cmd) {
  const dicts = new Map();
  let nextDict = 1;
  let now = 1000;
  let inApply = false;
  let handlingReply = false;
  let answered = 0;
  const clip = { length: cmd.clip?.length ?? 16, notes: (cmd.clip?.notes ?? []).map((n, i) => ({ note_id: i + 1,
    mute: 0, ...n })) };
  let nextNoteId = clip.notes.length + 1;
  let selection = cmd.selection || { start: 0, end: clip.length };
  const record = { out: [], sent: [], dropped: [], applies: 0, errors: [], ports: [], status: "", refusedBangs: 0 };
  const tasks = [];

  class Dict {
    constructor(name) { this.name = name || `u${nextDict++}`; if (!dicts.has(this.name)) dicts.set(this.name, "{}"); }
    parse(text) { dicts.set(this.name, text); }
    stringify() { return dicts.get(this.name); }
  }

  class Task {
    constructor(fn, that) { this.fn = fn; this.that = that; this.due = null; tasks.push(this); }
    schedule(ms = 0) { this.due = now + ms; }
    cancel() { this.due = null; }
  }

  /** The fake Live set the tool reads: one MIDI track (a Drum Rack with `kit`) whose first slot holds `clip` */
  function LiveAPI(p) {
    const objects = new Map([[1, { path: "live_set", props: { signature_numerator: 4, signature_denominator: 4 } }],
      [2, { path: "live_set tracks 0", props: { devices: cmd.kit ? ["id", 4] : [] } }],
      [3, { path: "live_set tracks 0 clip_slots 0", props: { canonical_parent: ["id", 2] } }],
      [5, { path: "live_set tracks 0 clip_slots 0 clip", props: { canonical_parent: ["id", 3] } }]]);
    if (cmd.kit) {
      const pads = [];
      cmd.kit.forEach(([note, name], i) => {
        objects.set(100 + i, { path: `pad ${i}`, props: { note, name, chains: ["id", 500 + i] } });
        pads.push("id", 100 + i);
      });
      objects.set(4, { path: "live_set tracks 0 devices 0", props: { class_name: "DrumGroupDevice", drum_pads: pads } });
    }
    p = String(p);
    const byId = /^id (\d+)$/.exec(p);
    const id = byId ? Number(byId[1]) : p === "live_set view detail_clip" ? 5 :
      [...objects.entries()].find(([, o]) => o.path === p)?.[0] ?? 0;
    this.id = objects.has(id) ? id : 0;
    this.unquotedpath = this.id ? objects.get(this.id).path : "";
    this.get = (prop) => { const v = objects.get(this.id).props[prop]; return Array.isArray(v) ? v : [v]; };
    this.call = (name, ...args) => {
      if (this.id !== 5 || name !== "get_notes_extended") throw new Error(`fake Live: ${name} on ${p}`);
      const [lo, span, from, length] = args;
      return JSON.stringify({ notes: clip.notes.filter((n) => n.pitch >= lo && n.pitch < lo + span &&
        n.start_time >= from && n.start_time < from + length) });
    };
  }

  function context() {
    const sel = selection.notes ? selectedNotes() : [];
    const span = selection.notes ? { time_selection_start: 0, time_selection_end: 0,
      first_note_start: Math.min(...sel.map((n) => n.start_time)),
      last_note_end: Math.max(...sel.map((n) => n.start_time + n.duration)) } :
      { time_selection_start: selection.start, time_selection_end: selection.end };
    return { clip: { ...span, lowest_pitch: 36, highest_pitch: 51 }, scale: { scale_mode: 0, root_note: 0,
      scale_intervals: [0, 2, 4, 5, 7, 9, 11], scale_name: "Major" }, grid: { interval: 0.25, enabled: 1 } };
  }

  function inSelection(n) {
    return selection.notes ? !!n.selected : n.start_time >= selection.start && n.start_time < selection.end;
  }

  function selectedNotes() {
    return clip.notes.filter((n) => inSelection(n)).map(({ selected, ...n }) => n);
  }
  let originals = null;  // the selection's notes before the first apply of this session

  /** One apply as Live runs it: context, then the notes; a dictionary must come back before it returns */
  function apply() {
    record.applies += 1;
    inApply = true;
    answered = 0;
    if (!originals) originals = selectedNotes();
    const input = cmd.kind !== "generator" ? originals : [];  // a Transformation (any kind but the Generator)
    try {
      sendDict(1, context());
      sendDict(0, { notes: input });
    } finally {
      inApply = false;
    }
    if (!answered) record.errors.push(IN_TIME);
  }

  function sendDict(inlet, data) {
    const d = new Dict();
    d.parse(JSON.stringify(data));
    ctx.inlet = inlet;
    ctx.dictionary(d.name);
  }

  /** [live.miditool.out] takes the notes: they replace the tool's input in the clip */
  function output(dict) {
    if (!inApply) return record.errors.push(ASYNC);
    answered += 1;
    record.out.push(dict);
    for (const n of dict.notes) {
      if (!("pitch" in n && "start_time" in n && "duration" in n)) return record.errors.push("malformed note");
    }
    const keep = clip.notes.filter((n) => !inSelection(n));
    clip.notes = keep.concat(dict.notes.map((n) => ({ note_id: nextNoteId++, mute: 0, ...n,
      selected: cmd.kind !== "generator" && selection.notes })));
  }

  const globals = {
    jsarguments: ["nudge_tool.js", cmd.kind],
    inlet: 0,
    Dict,
    Task,
    LiveAPI,
    require: (name) => loadModule(name),
    outlet: (n, ...atoms) => {
      const list = atoms.length === 1 && Array.isArray(atoms[0]) ? atoms[0] : atoms;
      if (n === 0) output(JSON.parse(dicts.get(list[1])));
      else if (n === 1 && datagramBytes(list) > MACOS_MAX_DATAGRAM) record.dropped.push(list);
      else if (n === 1) record.sent.push(list);
      else if (n === 2 && handlingReply && cmd.outsideBangs === "ignored") record.refusedBangs += 1;
      else if (n === 2 && inApply) record.errors.push("a bang into live.miditool.in during its own apply");
      else if (n === 2) apply();
      else if (n === 3) record.status = list.slice(1).join(" ");
      else if (n === 4) record.ports.push(list);
    },
    JSON,
    Math: Object.create(Math, { random: { value: () => cmd.random ?? 0.5 } }),
  };
  globals.Date = function FakeDate() { return { getTime: () => now }; };  // the tool's clock
  const ctx = vm.createContext(globals);
  new vm.Script(fs.readFileSync(path.join(SRC, "nudge_tool.js"), "utf8"), { filename: "nudge_tool.js" }).runInContext(ctx);
  ctx.clock.random = () => cmd.random ?? 0.5;
  ctx.bang();  // [loadbang]

  return {
    record,
    clip,
    ops: {
      apply,
      setting(c) { ctx.setting(c.key, c.value); },
      osc(c) {
        handlingReply = true;
        try { for (const m of c.messages) ctx.osc(...m); } finally { handlingReply = false; }
      },
      advance(c) {
        now += c.ms;
        for (const t of tasks) if (t.due !== null && t.due <= now) { t.due = null; t.fn.call(t.that); }
        ctx.expire();
      },
      select(c) {
        originals = null;
        selection = c.selection;
        if (selection.notes) clip.notes.forEach((n) => { n.selected = n.start_time >= selection.from && n.start_time < selection.to; });
      },
    },
  };
}

module.exports = { makeTool, IN_TIME, ASYNC };

if (require.main === module) {
  let tool = null;
  readline.createInterface({ input: process.stdin }).on("line", (line) => {
    const cmd = JSON.parse(line);
    let answer;
    try {
      if (cmd.op === "load") tool = makeTool(cmd);
      else {
        Object.assign(tool.record, { out: [], sent: [], dropped: [], errors: [], ports: [], applies: 0 });
        tool.ops[cmd.op](cmd);
      }
      answer = { ...tool.record, clip: tool.clip.notes.map(({ note_id, selected, ...n }) => n) };
    } catch (error) {
      answer = { error: String(error && error.stack || error) };
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
  });
}
