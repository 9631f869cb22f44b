// A sandbox for nudge.js: fakes of Max's [js] globals (outlet, post, Task, this.patcher, require) and of Live's
// LiveAPI, backed by a small in-memory Live set that records every call. Live itself cannot run here.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const { FakeLive } = require("./fake_live.js");

const SRC = process.env.NUDGE_M4L_SRC || path.join(__dirname, "..", "src");  // another copy for bench/
const SOURCE = path.join(SRC, "nudge.js");
const NODE_SCRIPTS = ["nudge_launcher.js"];  // run by [node.script] in Node, not by Max's [js]
const TOOL_SCRIPTS = ["nudge_tool.js", "nudge_miditool.js"];  // the MIDI Tools' own (build_tools.py), not Nudge.amxd's

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

/** The size of a datagram as Max's [udpsend] encodes a message: the address and each string NUL-terminated and
 * padded to 4 bytes, "," and one type tag per atom likewise, 4 bytes per int32 or float32. Written here on its
 * own, not shared with the device's nudge_osc.js, so the two check each other. */
function datagramBytes(atoms) {
  const pad = (n) => (Math.floor(n / 4) + 1) * 4;
  let bytes = pad(Buffer.byteLength(String(atoms[0]), "utf8")) + pad(atoms.length);
  for (const a of atoms.slice(1)) bytes += typeof a === "number" ? 4 : pad(Buffer.byteLength(String(a), "utf8"));
  return bytes;
}
const MACOS_MAX_DATAGRAM = 9216;  // net.inet.udp.maxdgram: macOS refuses larger UDP datagrams (EMSGSIZE)

/**
 * Max's [dict] for [js] (`new Dict(name)`: the same name is the same data). A [dict NAME @parameter_enable 1]
 * of the patcher keeps its contents in the Live set (as zsteinkamp/m4l-Knobbler4's `---settingsDict`), and, as
 * Knobbler4 documents, a second `new Dict(name)` of such a dict can reset its contents: the fake resets it.
 */
function makeDictClass(env) {
  return class Dict {
    constructor(name) {
      this.name = name || `u${env.dictCount++}`;
      if (env.parameterDicts.has(this.name)) {
        const refs = (env.dictRefs.get(this.name) || 0) + 1;
        env.dictRefs.set(this.name, refs);
        if (refs > 1) { env.dicts.set(this.name, {}); env.dictResets += 1; }
      }
      if (!env.dicts.has(this.name)) env.dicts.set(this.name, {});
    }
    get _data() { return env.dicts.get(this.name); }
    stringify() { return JSON.stringify(this._data); }
    parse(text) { env.dicts.set(this.name, JSON.parse(text)); env.dictWrites += 1; }
    get(key) { const v = this._data[key]; return v && typeof v === "object" && !Array.isArray(v) ? null : v; }
    set(key, ...values) { this._data[key] = values.length === 1 ? values[0] : values; env.dictWrites += 1; }
    setparse(key, text) { this._data[key] = JSON.parse(text); env.dictWrites += 1; }
    replace(key, ...values) { this.set(key, ...values); }
    remove(key) { delete this._data[key]; env.dictWrites += 1; }
    contains(key) { return key in this._data; }
    getkeys() { return Object.keys(this._data); }
    clear() { env.dicts.set(this.name, {}); env.dictWrites += 1; }
  };
}

function makeSandbox(liveOptions = {}) {
  const live = liveOptions.live || new FakeLive(liveOptions);
  const env = { live, sent: [], ports: [], launcher: [], posts: [], tasks: [], ui: new Map(), now: 1000,
    liveApiCount: 0, observers: [], notified: 0, liveReady: false, random: 0.25, dropped: [],
    maxDatagramBytes: MACOS_MAX_DATAGRAM, udpsend: { host: "127.0.0.1", port: 9000 }, browsed: [],
    dicts: new Map(), dictRefs: new Map(), dictCount: 1, dictResets: 0, dictWrites: 0,
    deviceUid: String(liveOptions.deviceUid || 1001), parameterDicts: new Set(), patcherPath: "" };
  for (const box of BOXES.values()) {
    const m = /^dict (\S+) .*@parameter_enable 1/.exec(box.text || "");
    if (m) env.parameterDicts.add(m[1].replace(/^---/, env.deviceUid));
  }

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
    get type() { return this._obj ? this._obj.type : ""; }
    get info() { return this._obj ? live.info(this._obj) : "No object"; }
    get path() { return this._obj ? `"${this._obj.path}"` : ""; }
    get unquotedpath() { return this._obj ? this._obj.path : ""; }
    get property() { return this._property; }
    set property(p) { this._property = p; if (p) env.observers.push(this); }
    get(prop) { this._need(); return live.get(this._obj, prop); }
    set(prop, value) { this._need(); live.set(this._obj, prop, value); }
    call(name, ...args) { this._need(); return live.call(this._obj, name, args); }
    _need() { if (!this._obj) throw new Error("fake LiveAPI: no object (id 0)"); }
  }

  /** A value leaving a box's outlet 0, followed along the patch cords to the [js] (message boxes, prepend);
   * `---` in a message box is the device's own number, as Max for Live replaces it */
  function deliver(fromId, value) {
    for (const { patchline: l } of PATCHER.lines) {
      if (l.source[0] !== fromId || l.source[1] !== 0) continue;
      const to = BOXES.get(l.destination[0]);
      const atoms = Array.isArray(value) ? value : typeof value === "string" ? value.split(" ") : [value];
      if (to === JS_BOX) {
        if (typeof atoms[0] === "number") context.msg_float(atoms[0]);
        else context[atoms[0]](...atoms.slice(1));
      } else if (to.maxclass === "message") {
        deliver(to.id, to.text.replace(/---/g, env.deviceUid).split(" "));
      } else if (/^prepend /.test(to.text || "")) {
        deliver(to.id, [...to.text.slice(8).split(" "), ...atoms]);
      }
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
      if (n === 0 && (list[0] === "host" || list[0] === "port")) env.udpsend[list[0]] = list[1];
      else if (n === 0 && datagramBytes(list) > env.maxDatagramBytes) env.dropped.push(list);  // EMSGSIZE
      else if (n === 0) env.sent.push({ outlet: n, atoms: list });
      else if (n === 1) env.ports.push(list);
      else env.launcher.push(list);
    },
    post(...args) { env.posts.push(args.join(" ")); },
    notifyclients() { env.notified += 1; },
    Task,
    LiveAPI,
    Dict: makeDictClass(env),
    max: { launchbrowser(url) { env.browsed.push(url); } },
    patcher: { getnamed: (name) => env.ui.get(name) || null,  // Max: null for a name the patcher lacks
      get filepath() { return env.patcherPath; } },  // the device's file, as Max writes paths ("Disk:/...")
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
     * setvalueof, the parameter-enabled [dict]s get their stored contents, [loadbang] bangs, and only then does
     * [live.thisdevice] bang. `jsFirst` restores the [js] before the controls.
     */
    load({ saved = {}, blob, jsFirst = false, launcherPort = 0, dicts = {} } = {}) {
      const restoreJs = () => { if (blob !== undefined) context.setvalueof(blob); };
      if (jsFirst) restoreJs();
      for (const ui of env.ui.values()) {
        const v = ui.restoredValue(saved[ui.name]);
        if (v === undefined) continue;
        ui.value = v;
        deliver(ui.box.id, v);
      }
      if (!jsFirst) restoreJs();
      for (const [name, data] of Object.entries(dicts)) env.dicts.set(name, JSON.parse(JSON.stringify(data)));
      for (const box of BOXES.values()) if (box.text === "loadbang") deliver(box.id, "bang");
      if (launcherPort) context.replyport(launcherPort);
      env.init();
    },
    /** What the Live set holds for this device when it is saved: the stored parameters, the [js]'s Blob and the
     * parameter-enabled dicts' contents */
    saved() {
      const values = {};
      for (const ui of env.ui.values()) if (ui.isParameter && ui.value !== undefined) values[ui.name] = ui.value;
      const dicts = {};
      for (const name of env.parameterDicts) if (env.dicts.has(name)) dicts[name] = env.dicts.get(name);
      return { saved: values, blob: context.getvalueof(), dicts: JSON.parse(JSON.stringify(dicts)) };
    },
    /** The set is saved, closed and opened again: a new device instance in the same Live set, whose objects all
     * got new ids (FakeLive.reload), loaded with what was saved */
    reopen(loadOptions = {}) {
      const kept = env.saved();
      live.reload();
      const next = makeSandbox({ live, deviceUid: env.deviceUid });
      next.load({ ...kept, launcherPort: 50123, ...loadOptions });
      return next;
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

module.exports = { makeSandbox, loadModule, FakeLive, SOURCE, SRC, TOOL_SCRIPTS, PATCHER, NODE_SCRIPTS, datagramBytes,
  MACOS_MAX_DATAGRAM, makeDictClass };
