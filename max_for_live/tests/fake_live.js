// A small in-memory Live set for the device's tests: Live itself cannot run here. It records every call and
// follows the Live Object Model's rules that the device depends on (docs.cycling74.com/apiref/lom):
//   - every object has a class (`type`: Song, Track, ClipSlot, Clip, ...) and only that class's properties
//     and functions: a ClipSlot has no name and takes no notes, only a Clip does (and `is_midi_clip`);
//   - ids are handed out per session: `reload()` (the set closed and opened again) gives every object a new
//     id, so an id saved before names something else afterwards, perhaps a clip slot;
//   - Track.create_midi_clip (the Arrangement) exists from Live 12.1.10 (`info` lists it only there);
//   - Song.create_scene adds a slot to every track.
"use strict";

// class -> [properties that can be set, functions that can be called]
const CLASSES = {
  Song: [["tempo", "current_song_time", "is_playing", "loop", "loop_start", "loop_length"], ["create_scene"]],
  "Song.View": [["detail_clip", "selected_scene"], []],
  Application: [[], ["get_major_version", "get_minor_version", "get_bugfix_version"]],
  Scene: [[], []],
  Track: [[], ["create_midi_clip"]],
  ClipSlot: [[], ["create_clip"]],
  Clip: [["name", "loop_start", "loop_end", "start_marker", "end_marker"], ["add_new_notes", "get_notes_extended",
    "get_all_notes_extended", "remove_notes_by_id", "remove_notes_extended"]],
  Device: [[], []],
  DrumGroupDevice: [[], []],
  DrumPad: [[], []],
  Chain: [[], []],
};
const ARRANGEMENT_SINCE = [12, 1, 10];  // Track.create_midi_clip

class FakeLive {
  // kit: [[note, name], ...] puts a Drum Rack with those pads (each holding a chain) after the device
  constructor({ tracks = [{ midi: true, slots: 4 }], scenes = 4, liveMajor = 12, liveMinor = 1, liveBugfix = 10,
    deviceTrack = 0, inRack = false, kit = null } = {}) {
    this.objects = new Map();
    this.nextId = 1;
    this.calls = [];  // every call() and set() on a Live object: {path, op, name, args}
    Object.assign(this, { liveMajor, liveMinor, liveBugfix });
    this.song = this.add("live_set", "Song", { tempo: 120, current_song_time: 0, is_playing: 0,
      signature_numerator: 4, signature_denominator: 4, loop: 0, loop_start: 0, loop_length: 16 });
    this.overwritten = [];  // Arrangement clips that a create_midi_clip overlapped
    this.view = this.add("live_set view", "Song.View", { selected_scene: 0, detail_clip: 0 });
    this.app = this.add("live_app", "Application", {});
    this.scenes = [];
    for (let i = 0; i < scenes; i++) this.scenes.push(this.add(`live_set scenes ${i}`, "Scene", {}));
    this.view.props.selected_scene = this.scenes[0] ? this.scenes[0].id : 0;
    this.tracks = tracks.map((t, i) => {
      const track = this.add(`live_set tracks ${i}`, "Track", { has_midi_input: t.midi ? 1 : 0, devices: [],
        name: `${i + 1} ${t.midi ? "MIDI" : "Audio"}` });
      track.slots = [];
      for (let s = 0; s < (t.slots ?? scenes); s++) this.addSlot(track);
      track.arrangement = [];
      return track;
    });
    const host = this.tracks[deviceTrack];
    if (inRack) {
      const rack = this.add(`${host.path} devices 0`, "Device", { canonical_parent: host.id });
      const chain = this.add(`${host.path} devices 0 chains 0`, "Chain", { canonical_parent: rack.id });
      this.device = this.add(`${host.path} devices 0 chains 0 devices 0`, "Device", { canonical_parent: chain.id });
      rack.props.class_name = "MidiEffectGroupDevice";
      host.props.devices = ["id", rack.id];
    } else {
      this.device = this.add(`${host.path} devices 0`, "Device", { canonical_parent: host.id });
    }
    this.device.props.class_name = "MxDeviceMidiEffect";
    if (!inRack) host.props.devices = ["id", this.device.id];
    if (kit) {
      const drums = this.add(`${host.path} devices 1`, "DrumGroupDevice", { canonical_parent: host.id,
        class_name: "DrumGroupDevice", drum_pads: [] });
      kit.forEach(([note, name], i) => {
        const pad = this.add(`${host.path} devices 1 drum_pads ${note}`, "DrumPad", { note, name,
          chains: ["id", 90000 + i] });
        drums.props.drum_pads.push("id", pad.id);
      });
      host.props.devices.push("id", drums.id);
    }
  }

  add(p, type, props) {
    const obj = { id: this.nextId++, path: p, type, props };
    this.objects.set(obj.id, obj);
    return obj;
  }

  addSlot(track) {
    const slot = this.add(`${track.path} clip_slots ${track.slots.length}`, "ClipSlot",
      { has_clip: 0, canonical_parent: track.id });
    slot.clip = null;
    track.slots.push(slot);
    return slot;
  }

  /** The set is saved, closed and opened again: the same objects, each with a new id (Live hands ids out
   * per session, in no promised order). The Detail View shows nothing until something is clicked. */
  reload() {
    const old = [...this.objects.values()];
    const remap = new Map();
    this.objects = new Map();
    this.nextId = 1;
    for (const obj of old.reverse()) {  // another order than before, so old ids name other objects
      remap.set(obj.id, this.nextId);
      obj.id = this.nextId++;
      this.objects.set(obj.id, obj);
    }
    const ids = (list) => list.map((v, i) => (list[i - 1] === "id" && remap.has(v) ? remap.get(v) : v));
    for (const obj of this.objects.values()) {
      for (const key of ["devices", "drum_pads"]) if (Array.isArray(obj.props[key])) obj.props[key] = ids(obj.props[key]);
      if (remap.has(obj.props.canonical_parent)) obj.props.canonical_parent = remap.get(obj.props.canonical_parent);
    }
    this.view.props.selected_scene = remap.get(this.view.props.selected_scene) || 0;
    this.view.props.detail_clip = 0;
    this.calls = [];
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
    const clip = this.add(p, "Clip", { name: "", length: lengthBeats, loop_start: 0, loop_end: lengthBeats,
      start_marker: 0, end_marker: lengthBeats, is_midi_clip: 1, is_audio_clip: 0, ...extra });
    clip.notes = [];
    clip.nextNoteId = 1;
    return clip;
  }

  /** Put a clip with notes in a slot and show it in the Detail View (what a click in Live does). */
  selectClip(track, slot, lengthBeats, notes, extra = {}) {
    const s = this.tracks[track].slots[slot];
    s.clip = this.newClip(`${s.path} clip`, lengthBeats, { canonical_parent: s.id, ...extra });
    s.props.has_clip = 1;
    s.clip.notes = notes.map((n) => ({ note_id: s.clip.nextNoteId++, mute: 0, probability: 1,
      velocity_deviation: 0, release_velocity: 64, ...n }));
    this.view.props.detail_clip = s.clip.id;
    return s.clip;
  }

  /** The producer clicks a clip (shows it in the Detail View). */
  show(clip) {
    this.view.props.detail_clip = clip.id;
  }

  get versionTuple() {
    return [this.liveMajor, this.liveMinor, this.liveBugfix];
  }

  hasArrangementClips() {
    const [a, b, c] = this.versionTuple;
    const [x, y, z] = ARRANGEMENT_SINCE;
    return a > x || (a === x && (b > y || (b === y && c >= z)));
  }

  /** LiveAPI.info: "id N", "type T", then the class's properties and functions, one per line */
  info(obj) {
    const [, functions] = CLASSES[obj.type];
    const listed = functions.filter((f) => f !== "create_midi_clip" || this.hasArrangementClips());
    return [`id ${obj.id}`, `type ${obj.type}`, ...Object.keys(obj.props).map((p) => `property ${p}`),
      ...listed.map((f) => `function ${f}`), "done"].join("\n");
  }

  get(obj, prop) {
    if (prop === "clip_slots" && obj.type === "Track") return obj.slots.flatMap((s) => ["id", s.id]);
    if (prop === "arrangement_clips" && obj.type === "Track") return obj.arrangement.flatMap((c) => ["id", c.id]);
    if (prop === "scenes" && obj.type === "Song") return this.scenes.flatMap((s) => ["id", s.id]);
    if (prop === "canonical_parent") return ["id", obj.props.canonical_parent ?? 0];
    if (!(prop in obj.props)) throw new Error(`fake Live: ${obj.type} ${obj.path} has no property ${prop}`);
    const value = obj.props[prop];
    return Array.isArray(value) ? value : [value];  // a list property ("id", 3, ...) comes as it is
  }

  call(obj, name, args) {
    this.calls.push({ path: obj.path, op: "call", name, args: JSON.parse(JSON.stringify(args)) });
    if (name === "set_notes" || name === "replace_selected_notes") throw new Error(`deprecated ${name} used`);
    if (!CLASSES[obj.type][1].includes(name)) {
      throw new Error(`fake Live: ${obj.type} ${obj.path} has no function ${name}`);
    }
    if (name === "create_clip") {
      if (obj.clip) throw new Error("fake Live: create_clip on a slot that has a clip");
      obj.clip = this.newClip(`${obj.path} clip`, args[0], { canonical_parent: obj.id });
      obj.props.has_clip = 1;
      return undefined;
    }
    if (name === "create_scene") {
      const at = args[0] < 0 ? this.scenes.length : args[0];
      if (at !== this.scenes.length) throw new Error("fake Live: create_scene only appends here");
      this.scenes.push(this.add(`live_set scenes ${at}`, "Scene", {}));
      for (const track of this.tracks) this.addSlot(track);
      return undefined;
    }
    if (name === "create_midi_clip") {
      if (!this.hasArrangementClips()) throw new Error("fake Live: create_midi_clip needs Live 12.1.10");
      const [start, length] = args;
      for (const c of obj.arrangement) {
        if (c.props.start_time < start + length && c.props.end_time > start) this.overwritten.push(c);
      }
      this.addArrangementClip(obj, start, length);
      return undefined;
    }
    if (name === "get_major_version") return this.liveMajor;
    if (name === "get_minor_version") return this.liveMinor;
    if (name === "get_bugfix_version") return this.liveBugfix;
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
    const [fromPitch, pitchSpan, fromTime, timeSpan] = args;
    const inside = (n) => n.pitch >= fromPitch && n.pitch < fromPitch + pitchSpan &&
      n.start_time >= fromTime && n.start_time < fromTime + timeSpan;
    if (name === "remove_notes_extended") {
      obj.notes = obj.notes.filter((n) => !inside(n));
      return undefined;
    }
    return JSON.stringify({ notes: obj.notes.filter(inside) });  // get_notes_extended: JSON text, as Max's LiveAPI
  }

  set(obj, prop, value) {
    this.calls.push({ path: obj.path, op: "set", name: prop, args: [value] });
    if (!CLASSES[obj.type][0].includes(prop)) {
      throw new Error(`fake Live: ${obj.type} ${obj.path} has no settable property ${prop}`);
    }
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
      { start_time: start, end_time: start + length, canonical_parent: track.id });
    clip.notes = notes.map((n) => ({ note_id: clip.nextNoteId++, mute: 0, ...n }));
    track.arrangement.push(clip);
    return clip;
  }

  callsNamed(name) {
    return this.calls.filter((c) => c.name === name);
  }
}

module.exports = { FakeLive, CLASSES, ARRANGEMENT_SINCE };
