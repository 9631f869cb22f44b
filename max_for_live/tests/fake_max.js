// A sandbox for nudge.js: fakes of Max's [js] globals (outlet, post, Task, this.patcher, require) and of Live's
// LiveAPI, backed by a small in-memory Live set that records every call. Live itself cannot run here.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const SRC = path.join(__dirname, "..", "src");
const SOURCE = path.join(SRC, "nudge.js");
const NODE_SCRIPTS = ["nudge_launcher.js"];  // run by [node.script] in Node, not by Max's [js]
const TOOL_SCRIPTS = ["nudge_tool.js", "nudge_miditool.js"];  // the MIDI Tools' own (build_tools.py), not Nudge.amxd's

// ------------------------------------------------------------------ the fake Live set

class FakeLive {
  // kit: [[note, name], ...] puts a Drum Rack with those pads (each holding a chain) after the device
  constructor({ tracks = [{ midi: true, slots: 4 }], scenes = 4, liveMajor = 12, deviceTrack = 0, inRack = false,
    kit = null } = {}) {
    this.objects = new Map();
    this.nextId = 1;
    this.calls = [];  // every call() and set() on a Live object: {path, op, name, args}
    this.liveMajor = liveMajor;
    this.liveMinor = 1;
    this.song = this.add("live_set", { tempo: 120, current_song_time: 0, is_playing: 0,
      signature_numerator: 4, signature_denominator: 4, loop: 0, loop_start: 0, loop_length: 16 });
    this.overwritten = [];  // Arrangement clips that a create_midi_clip overlapped
    this.view = this.add("live_set view", { selected_scene: 0, detail_clip: 0 });
    this.app = this.add("live_app", {});
    this.scenes = [];
    for (let i = 0; i < scenes; i++) this.scenes.push(this.add(`live_set scenes ${i}`, {}));
    this.view.props.selected_scene = this.scenes[0] ? this.scenes[0].id : 0;
    this.tracks = tracks.map((t, i) => {
      const track = this.add(`live_set tracks ${i}`, { has_midi_input: t.midi ? 1 : 0, devices: [] });
      track.slots = [];
      for (let s = 0; s < (t.slots ?? scenes); s++) {
        const slot = this.add(`live_set tracks ${i} clip_slots ${s}`, { has_clip: 0 });
        slot.clip = null;
        track.slots.push(slot);
      }
      track.arrangement = [];
      return track;
    });
    const host = this.tracks[deviceTrack];
    if (inRack) {
      const rack = this.add(`${host.path} devices 0`, { canonical_parent: host.id });
      const chain = this.add(`${host.path} devices 0 chains 0`, { canonical_parent: rack.id });
      this.device = this.add(`${host.path} devices 0 chains 0 devices 0`, { canonical_parent: chain.id });
      rack.props.class_name = "MidiEffectGroupDevice";
      host.props.devices = ["id", rack.id];
    } else {
      this.device = this.add(`${host.path} devices 0`, { canonical_parent: host.id });
    }
    this.device.props.class_name = "MxDeviceMidiEffect";
    if (!inRack) host.props.devices = ["id", this.device.id];
    if (kit) {
      const drums = this.add(`${host.path} devices 1`, { canonical_parent: host.id, class_name: "DrumGroupDevice",
        drum_pads: [] });
      kit.forEach(([note, name], i) => {
        const pad = this.add(`${host.path} devices 1 drum_pads ${note}`, { note, name, chains: ["id", 90000 + i] });
        drums.props.drum_pads.push("id", pad.id);
      });
      host.props.devices.push("id", drums.id);
    }
  }

  add(p, props) {
    const obj = { id: this.nextId++, path: p, props };
    this.objects.set(obj.id, obj);
    return obj;
  }

  resolve(p) {
    p = String(p).trim().replace(/"/g, "");
    let m = /^id (\d+)$/.exec(p);
    if (m) return this.objects.get(Number(m[1])) || null;
    if (p === "this_device") return this.device;
    if (p === "live_set view detail_clip") return this.objects.get(this.view.props.detail_clip) || null;
    if (p === "live_set view selected_scene") return this.objects.get(this.view.props.selected_scene) || null;
    m = /^(live_set tracks \d+ clip_slots \d+) clip$/.exec(p);
    if (m) {
      const slot = [...this.objects.values()].find((o) => o.path === m[1]);
      return slot && slot.clip ? slot.clip : null;
    }
    return [...this.objects.values()].find((o) => o.path === p) || null;
  }

  newClip(p, lengthBeats, extra = {}) {
    const clip = this.add(p, { name: "", length: lengthBeats, loop_start: 0, loop_end: lengthBeats,
      start_marker: 0, end_marker: lengthBeats, is_midi_clip: 1, ...extra });
    clip.notes = [];
    clip.nextNoteId = 1;
    return clip;
  }

  /** Put a clip with notes in a slot and show it in the Detail View (what a click in Live does). */
  selectClip(track, slot, lengthBeats, notes, extra = {}) {
    const s = this.tracks[track].slots[slot];
    s.clip = this.newClip(`${s.path} clip`, lengthBeats, extra);
    s.props.has_clip = 1;
    s.clip.notes = notes.map((n) => ({ note_id: s.clip.nextNoteId++, mute: 0, probability: 1,
      velocity_deviation: 0, release_velocity: 64, ...n }));
    this.view.props.detail_clip = s.clip.id;
    return s.clip;
  }

  get(obj, prop) {
    if (prop === "clip_slots") return obj.slots.flatMap((s) => ["id", s.id]);
    if (prop === "arrangement_clips") return obj.arrangement.flatMap((c) => ["id", c.id]);
    if (prop === "scenes") return this.scenes.flatMap((s) => ["id", s.id]);
    if (prop === "canonical_parent") return ["id", obj.props.canonical_parent ?? 0];
    if (!(prop in obj.props)) throw new Error(`fake Live: ${obj.path} has no property ${prop}`);
    const value = obj.props[prop];
    return Array.isArray(value) ? value : [value];  // a list property ("id", 3, ...) comes as it is
  }

  call(obj, name, args) {
    this.calls.push({ path: obj.path, op: "call", name, args: JSON.parse(JSON.stringify(args)) });
    if (name === "create_clip") {
      if (obj.clip) throw new Error("fake Live: create_clip on a slot that has a clip");
      obj.clip = this.newClip(`${obj.path} clip`, args[0]);
      obj.props.has_clip = 1;
      return undefined;
    }
    if (name === "create_midi_clip") {
      if (this.liveMajor < 12) throw new Error("fake Live: create_midi_clip needs Live 12");
      const [start, length] = args;
      for (const c of obj.arrangement) {
        if (c.props.start_time < start + length && c.props.end_time > start) this.overwritten.push(c);
      }
      this.addArrangementClip(obj, start, length);
      return undefined;
    }
    if (name === "get_major_version") return this.liveMajor;
    if (name === "get_minor_version") return this.liveMinor;
    if (name === "get_all_notes_extended") {
      if (this.liveMajor === 11 && this.liveMinor < 1) throw new Error("fake Live: get_all_notes_extended needs 11.1");
      return JSON.stringify({ notes: obj.notes });
    }
    if (name === "remove_notes_by_id") {
      const ids = new Set(args);
      obj.notes = obj.notes.filter((n) => !ids.has(n.note_id));
      return undefined;
    }
    if (name === "add_new_notes") {
      for (const n of args[0].notes) obj.notes.push({ note_id: obj.nextNoteId++, ...n });
      return undefined;
    }
    if (name === "remove_notes_extended") {
      const [fromPitch, pitchSpan, fromTime, timeSpan] = args;
      obj.notes = obj.notes.filter((n) => !(n.pitch >= fromPitch && n.pitch < fromPitch + pitchSpan &&
        n.start_time >= fromTime && n.start_time < fromTime + timeSpan));
      return undefined;
    }
    if (name === "get_notes_extended") {
      const [fromPitch, pitchSpan, fromTime, timeSpan] = args;
      const notes = obj.notes.filter((n) => n.pitch >= fromPitch && n.pitch < fromPitch + pitchSpan &&
        n.start_time >= fromTime && n.start_time < fromTime + timeSpan);
      return JSON.stringify({ notes });  // Max's JS LiveAPI hands back the dictionary as JSON text
    }
    if (name === "set_notes" || name === "replace_selected_notes") throw new Error(`deprecated ${name} used`);
    throw new Error(`fake Live: unknown function ${name} on ${obj.path}`);
  }

  set(obj, prop, value) {
    this.calls.push({ path: obj.path, op: "set", name: prop, args: [value] });
    if (prop === "detail_clip") {  // Live takes "id N" and shows that clip
      const m = /^id (\d+)$/.exec(String(value));
      if (!m || !this.objects.has(Number(m[1]))) throw new Error(`fake Live: detail_clip wants "id N", got ${value}`);
      value = Number(m[1]);
    }
    obj.props[prop] = value;
  }

  /** An Arrangement clip on a track, [start, start + length) in beats */
  addArrangementClip(track, start, length, notes = []) {
    const clip = this.newClip(`${track.path} arrangement_clips ${track.arrangement.length}`, length,
      { start_time: start, end_time: start + length });
    clip.notes = notes.map((n) => ({ note_id: clip.nextNoteId++, mute: 0, ...n }));
    track.arrangement.push(clip);
    return clip;
  }

  callsNamed(name) {
    return this.calls.filter((c) => c.name === name);
  }
}

// ------------------------------------------------------------------ the device's patcher, as Live runs it

const PATCHER = JSON.parse(fs.readFileSync(path.join(SRC, "Nudge.maxpat.json"), "utf8")).patcher;
const BOXES = new Map(PATCHER.boxes.map((b) => [b.box.id, b.box]));
const JS_BOX = PATCHER.boxes.map((b) => b.box).find((b) => b.text === "js nudge.js");

/**
 * A named object of the patcher with Live's parameter rules (Max's "Parameters" and live.* reference):
 * parameter_type 0 Float holds [mmin, mmax]; 1 Int holds whole numbers, and Live's Int parameters only
 * 0..255 whatever the range says; 2 Enum an index into its enum (which `_parameter_range` replaces at run
 * time). A number message sets the value and sends it out; "set" sets it quietly; `_parameter_*` messages
 * change the parameter's attributes. parameter_invisible: 0 automated and stored, 1 stored only, 2 hidden.
 */
class UiObject {
  constructor(box, deliver) {
    this.box = box;
    this.name = box.varname;
    this.deliver = deliver;  // (box id, value) -> the patch cords from outlet 0
    this.attrs = { ...(box.saved_attribute_attributes || {}).valueof };
    this.isParameter = box.parameter_enable === 1;
    this.hidden = 0;
    this.messages = [];
    this.value = undefined;
  }

  clamp(v) {
    const a = this.attrs;
    if (!this.isParameter || typeof v !== "number") return v;
    if (a.parameter_type === 2) return Math.max(0, Math.min((a.parameter_enum || []).length - 1, Math.round(v)));
    if (a.parameter_type === 1) {
      return Math.max(Math.max(0, a.parameter_mmin ?? 0), Math.min(Math.min(255, a.parameter_mmax ?? 255), Math.round(v)));
    }
    if (a.parameter_type === 0) return Math.max(a.parameter_mmin ?? 0, Math.min(a.parameter_mmax ?? 1, v));
    return v;
  }

  getvalueof() { return this.value; }

  message(...args) {
    this.messages.push(JSON.parse(JSON.stringify(args)));
    const [head, ...rest] = args;
    if (typeof head === "number") { this.value = this.clamp(head); this.deliver(this.box.id, this.value); }
    else if (head === "set" && this.isParameter) this.value = this.clamp(rest[0]);
    else if (head === "_parameter_range") { this.attrs.parameter_enum = rest.map(String); this.value = this.clamp(this.value ?? 0); }
    else if (typeof head === "string" && head.startsWith("_parameter_")) this.attrs[head.slice(1)] = rest.length === 1 ? rest[0] : rest;
  }

  /** What Live restores when a set opens: the stored value, else the initial one; nothing for a hidden one */
  restoredValue(saved) {
    if (!this.isParameter || this.attrs.parameter_invisible === 2) return undefined;
    if (saved !== undefined) return this.clamp(saved);
    return this.attrs.parameter_initial_enable ? this.clamp(this.attrs.parameter_initial[0]) : undefined;
  }
}

// ------------------------------------------------------------------ the sandbox

function makeSandbox(liveOptions = {}) {
  const live = new FakeLive(liveOptions);
  const env = { live, sent: [], ports: [], launcher: [], posts: [], tasks: [], ui: new Map(), now: 1000,
    liveApiCount: 0, observers: [], notified: 0, liveReady: false, random: 0.25 };

  class Task {
    constructor(fn, that) { this.fn = fn; this.that = that; this.interval = 0; this.repeating = false;
      this.scheduled = false; env.tasks.push(this); }
    schedule() { this.scheduled = true; }  // runs later, never inside the caller
    repeat() { this.repeating = true; }
    cancel() { this.repeating = false; this.scheduled = false; }
    execute() { this.fn.call(this.that); }
  }

  class LiveAPI {
    constructor(a, b) {
      if (!env.liveReady) throw new Error("fake Live: Live API is not initialized, use live.thisdevice to " +
        "determine when initialization is complete");
      env.liveApiCount += 1;
      const callback = typeof a === "function" ? a : null;
      const p = typeof a === "function" ? b : a;
      this._obj = p === undefined ? null : live.resolve(p);
      this._callback = callback;
      this._property = "";
    }
    get id() { return String(this._obj ? this._obj.id : 0); }
    get path() { return this._obj ? `"${this._obj.path}"` : ""; }
    get unquotedpath() { return this._obj ? this._obj.path : ""; }
    get property() { return this._property; }
    set property(p) { this._property = p; if (p) env.observers.push(this); }
    get(prop) { this._need(); return live.get(this._obj, prop); }
    set(prop, value) { this._need(); live.set(this._obj, prop, value); }
    call(name, ...args) { this._need(); return live.call(this._obj, name, args); }
    _need() { if (!this._obj) throw new Error("fake LiveAPI: no object (id 0)"); }
  }

  /** A value leaving a box's outlet 0, followed along the patch cords to the [js] (message boxes, prepend) */
  function deliver(fromId, value) {
    for (const { patchline: l } of PATCHER.lines) {
      if (l.source[0] !== fromId || l.source[1] !== 0) continue;
      const to = BOXES.get(l.destination[0]);
      if (to === JS_BOX) context[typeof value === "string" ? value : "msg_float"](value);
      else if (to.maxclass === "message") deliver(to.id, to.text);
      else if (/^prepend /.test(to.text || "")) deliverList(to.id, [to.text.slice(8), value]);
    }
  }

  function deliverList(fromId, atoms) {
    for (const { patchline: l } of PATCHER.lines) {
      if (l.source[0] === fromId && BOXES.get(l.destination[0]) === JS_BOX) context[atoms[0]](...atoms.slice(1));
    }
  }

  for (const box of BOXES.values()) if (box.varname && box !== JS_BOX) env.ui.set(box.varname, new UiObject(box, deliver));

  function uiObject(name) {
    if (!env.ui.has(name)) throw new Error(`fake Max: the patcher has no object named ${name}`);
    return env.ui.get(name);
  }

  const sandbox = {
    outlet(n, ...atoms) {
      const list = atoms.length === 1 && Array.isArray(atoms[0]) ? Array.from(atoms[0]) : atoms;
      if (n === 0) env.sent.push({ outlet: n, atoms: list });
      else if (n === 1) env.ports.push(list);
      else env.launcher.push(list);
    },
    post(...args) { env.posts.push(args.join(" ")); },
    notifyclients() { env.notified += 1; },
    Task,
    LiveAPI,
    patcher: { getnamed: (name) => env.ui.get(name) || null },  // Max: null for a name the patcher lacks
  };
  const context = vm.createContext(sandbox);
  sandbox.require = maxRequire(env);
  new vm.Script(fs.readFileSync(SOURCE, "utf8"), { filename: "nudge.js" }).runInContext(context);
  context.clock.now = () => env.now;
  context.clock.random = () => env.random;

  Object.assign(env, {
    context,
    uiObject,
    /** [live.thisdevice] bangs: the Live API is usable from now on */
    init() { env.liveReady = true; context.init(); },
    /**
     * Live opens a set holding this device: every stored parameter is restored (its saved value, else its
     * initial one) and sent out through its patch cords, the [js]'s own value (a Blob) comes back through
     * setvalueof, and only then does [live.thisdevice] bang. `jsFirst` restores the [js] before the controls.
     */
    load({ saved = {}, blob, jsFirst = false, launcherPort = 0 } = {}) {
      const restoreJs = () => { if (blob !== undefined) context.setvalueof(blob); };
      if (jsFirst) restoreJs();
      for (const ui of env.ui.values()) {
        const v = ui.restoredValue(saved[ui.name]);
        if (v === undefined) continue;
        ui.value = v;
        deliver(ui.box.id, v);
      }
      if (!jsFirst) restoreJs();
      if (launcherPort) context.replyport(launcherPort);
      env.init();
    },
    /** Deliver one OSC message the way [udpreceive] -> [prepend osc] does: address, then atoms. */
    osc(address, ...args) { context.osc(address, ...args); },
    /** Run one-shot tasks (the deferred clip writer), as Max's scheduler would after the callback returns. */
    flushTasks() { for (const t of env.tasks) if (t.scheduled) { t.scheduled = false; t.execute(); } },
    /** Advance the clock and run repeating tasks (the heartbeat) once. */
    advance(ms) { env.now += ms; for (const t of env.tasks) if (t.repeating) t.execute(); },
    status() { return context.face.lastStatus() || { text: "", level: "" }; },
    takeSent() { const s = env.sent.map((m) => m.atoms); env.sent.length = 0; return s; },
    sentTo(address) { return env.sent.map((m) => m.atoms).filter((a) => a[0] === address); },
    /** The user turns controls: each takes the value as Live would (clamped) and sends it out */
    setUi(values) { for (const [k, v] of Object.entries(values)) uiObject(k).message(v); },
    LiveAPI,
  });
  return env;
}

/**
 * Max's CommonJS require for [js] as its JS Require Guide describes it: require("name") finds name.js in the
 * search path (here: src/, where the files sit beside the device), runs it once in its own scope and returns
 * its `exports`. Max gives a module `exports` (no `module`, no node require), so a module written for node's
 * `module.exports` fails here as it would in Max. Stricter than Max on purpose: a module runs in a context of
 * its own that holds only `exports`, `require` and JavaScript's built-ins (not even Max's `post`, nor the
 * script's globals), so a module that leans on a global the guide does not promise fails here first.
 */
function maxRequire(env) {
  const cache = new Map();
  env.required = [];
  return function require(name) {
    if (typeof name !== "string" || !/^[A-Za-z0-9_-]+$/.test(name)) {
      throw new Error(`fake Max: require wants a file name without folder or extension, got ${name}`);
    }
    if (cache.has(name)) return cache.get(name);
    const file = path.join(SRC, `${name}.js`);
    if (!fs.existsSync(file)) throw new Error(`fake Max: require: ${name}.js is not in the search path`);
    const exports = {};
    cache.set(name, exports);
    env.required.push(name);
    const wrapped = `(function (exports) {${fs.readFileSync(file, "utf8")}\n})`;
    const own = vm.createContext({ require });
    new vm.Script(wrapped, { filename: `${name}.js` }).runInContext(own)(exports);
    return exports;
  };
}

/** One module of src/ loaded the way Max loads it: for testing a module on its own. */
function loadModule(name) {
  return maxRequire({})(name);
}

module.exports = { makeSandbox, loadModule, FakeLive, SOURCE, SRC, TOOL_SCRIPTS, PATCHER, NODE_SCRIPTS };
