// Nudge — everything the device reads from and writes to the Live set, through the LiveAPI.
// A CommonJS module as Max's [js] loads it (`require("nudge_live")`, found beside the device; Max knows
// `exports`, not `module.exports`). ES5 only. Its dependencies come in explicitly, so nothing here relies on
// which of Max's globals a module can see:
//   var live = require("nudge_live").make(LiveAPI, showStatus);
// `report(text, level)` shows a problem to the user and returns null; functions that fail call it and return
// its null (or "" where the caller wants a string). No LiveAPI object is made until a function is called.

var MAX_BEATS = 1576800;  // the latest time the LOM accepts in a clip or the Arrangement

exports.make = function (LiveAPI, report) {
    function getOne(api, prop) {
        var v = api.get(prop);
        return Array.isArray(v) ? v[0] : v;
    }

    function pathOf(api) {
        return String(api.unquotedpath || api.path || "").replace(/"/g, "");
    }

    function idList(atoms) {  // ["id", 3, "id", 4] -> [3, 4]
        var ids = [];
        for (var i = 0; atoms && i + 1 < atoms.length; i += 2) if (atoms[i] === "id") ids.push(Number(atoms[i + 1]));
        return ids;
    }

    // ------------------------------------------------------------ reading Live

    function deviceMidiTrack() {  // the track holding this device (walking out of racks), or null with a message
        var api = new LiveAPI("this_device");
        for (var hops = 0; hops < 8 && Number(api.id) !== 0; hops++) {
            var parent = api.get("canonical_parent");
            api = new LiveAPI("id " + parent[1]);
            if (/^live_set tracks \d+$/.test(pathOf(api))) {
                if (Number(getOne(api, "has_midi_input")) === 1) return api;
                return report("This track is not a MIDI track: put Nudge on a MIDI track.", "error");
            }
        }
        return report("Nudge must sit on a MIDI track (not a return or master track).", "error");
    }

    function selectedClip() {  // the clip in the Detail View, MIDI or audio, or null with a message
        var clip = new LiveAPI("live_set view detail_clip");
        if (Number(clip.id) === 0) {
            return report("No clip selected: click a MIDI clip so it shows in the Detail View.", "error");
        }
        return clip;
    }

    function selectedMidiClip() {
        var clip = selectedClip();
        if (clip && Number(getOne(clip, "is_midi_clip")) !== 1) {
            return report("The selected clip is an audio clip; choose a MIDI clip.", "error");
        }
        return clip;
    }

    function isAudioClip(clip) {
        return Number(getOne(clip, "is_audio_clip")) === 1;
    }

    // An audio clip's fields as the LOM gives them (nudge_tools.audioSource checks them); warp_markers is
    // Live 11's, so a Live without it gives none
    function readAudioClip(clip) {
        var out = {};
        var names = ["file_path", "warping", "looping", "start_marker", "end_marker", "loop_start", "loop_end",
            "signature_numerator"];
        for (var i = 0; i < names.length; i++) out[names[i]] = getOne(clip, names[i]);
        try {
            out.warp_markers = clip.get("warp_markers");
        } catch (e) {  // the fake's (and an older Live's) missing property: no markers to send
            out.warp_markers = null;
        }
        return out;
    }

    // The clip after `clip` on its track: the next Session slot below that holds a clip, or the next
    // Arrangement clip by start time; null with a message when there is none
    function clipAfter(clip) {
        var where = clipLocation(clip);
        var track = where && new LiveAPI("live_set tracks " + where.track);
        if (where && where.slot !== undefined) {
            var n = idList(track.get("clip_slots")).length;
            for (var s = where.slot + 1; s < n; s++) {
                var next = new LiveAPI("live_set tracks " + where.track + " clip_slots " + s + " clip");
                if (Number(next.id) !== 0) return next;
            }
        } else if (where) {
            var ids = idList(track.get("arrangement_clips"));
            var best = null, bestStart = Infinity;
            for (var i = 0; i < ids.length; i++) {
                var c = new LiveAPI("id " + ids[i]);
                var t = Number(getOne(c, "start_time"));
                if (t > where.start + 1e-6 && t < bestStart) {
                    best = c;
                    bestStart = t;
                }
            }
            if (best) return best;
        }
        return report("Interpolate goes from the selected clip (A) to the next clip below it on its track (B): " +
            "put B in the slot below A (or after it in the Arrangement).", "error");
    }

    function readClip(clip) {  // the loop's notes as Live hands them: { raw, loopStart, lengthBeats }
        var loopStart = Number(getOne(clip, "loop_start")) || 0;
        var lengthBeats = Number(getOne(clip, "length"));
        var raw = clip.call("get_notes_extended", 0, 128, loopStart, lengthBeats);
        return { raw: raw, loopStart: loopStart, lengthBeats: lengthBeats };
    }

    // from the selected scene (or row `fromRow`) down, wrapping to the top; -1 when all are full
    function firstEmptySlot(track, fromRow) {
        var n = idList(track.get("clip_slots")).length;
        var start = fromRow !== undefined ? fromRow : Math.max(0, idList(new LiveAPI("live_set").get("scenes"))
            .indexOf(Number(new LiveAPI("live_set view selected_scene").id)));
        for (var k = 0; k < n; k++) {
            var i = (start + k) % n;
            if (Number(getOne(new LiveAPI(pathOf(track) + " clip_slots " + i), "has_clip")) === 0) return i;
        }
        return -1;
    }

    // ------------------------------------------------------------ where a clip lives

    function clipLocation(clip) {  // { track, slot } or { track, start } (Arrangement), from the clip's own path
        var p = pathOf(clip);
        var m = /^live_set tracks (\d+) clip_slots (\d+) clip$/.exec(p);
        if (m) return { track: Number(m[1]), slot: Number(m[2]) };
        m = /^live_set tracks (\d+) arrangement_clips \d+$/.exec(p);
        if (m) return { track: Number(m[1]), start: Number(getOne(clip, "start_time")) };
        return null;
    }

    function placeText(where) {
        return "track " + (where.track + 1) + (where.slot !== undefined ? ", slot " + (where.slot + 1) :
            ", beat " + where.start);
    }

    function isMidiClip(api) {  // a Clip (not a clip slot or anything else an id may name) holding MIDI
        if (Number(api.id) === 0) return false;
        if (api.type !== undefined && api.type !== "Clip") return false;
        return Number(getOne(api, "is_midi_clip")) === 1;
    }

    // The clip at `where`, if it is a MIDI clip named `name` (the clip Nudge wrote there); else null, said why
    function clipAt(where, name) {
        var clip = null;
        if (where && where.slot !== undefined) {
            clip = new LiveAPI("live_set tracks " + where.track + " clip_slots " + where.slot + " clip");
        } else if (where && where.start !== undefined) {
            var track = new LiveAPI("live_set tracks " + where.track);
            var ids = Number(track.id) ? idList(track.get("arrangement_clips")) : [];
            for (var i = 0; i < ids.length && !clip; i++) {
                var c = new LiveAPI("id " + ids[i]);
                if (Math.abs(Number(getOne(c, "start_time")) - where.start) < 1e-6) clip = c;
            }
        }
        if (!where) return report("This result has no clip to go back to; nothing was written.", "error");
        if (!clip || Number(clip.id) === 0) {
            return report("The clip of this result (" + placeText(where) + ") is gone; nothing was written.", "error");
        }
        if (!isMidiClip(clip)) {
            return report("At " + placeText(where) + " is not a MIDI clip now; nothing was written.", "error");
        }
        var now = String(getOne(clip, "name"));
        if (now !== name) {
            return report("The clip at " + placeText(where) + " is not the clip Nudge wrote (it is named \"" + now +
                "\", not \"" + name + "\"); nothing was written.", "error");
        }
        return clip;
    }

    // ------------------------------------------------------------ writing clips (call from a deferred Task)

    // job: { dest: "session" | "replace" | "arrangement", targetClipId, notes, lengthBeats, name, take } or, to
    // restore a result of the history, { where, name, notes, lengthBeats }
    // -> where the notes went (for the status line), or "" after reporting why nothing was written; sets
    // job.where (the clip's place) and job.scenesAdded. Nothing is written into a clip the device did not make,
    // except the clip the producer selected (checked: still a MIDI clip). All of one result's changes happen
    // in this one call (one deferred Task run), so Live, which groups the API changes made between two user
    // actions, undoes them as one step.
    function writeJob(job) {
        var clip, where;
        job.scenesAdded = 0;
        if (job.restoring) {
            clip = clipAt(job.where, job.name);
            if (!clip) return "";
            clearClip(clip, job.lengthBeats);
            where = placeText(job.where);
        } else if (job.dest === "replace") {
            clip = new LiveAPI("id " + job.targetClipId);
            if (!job.targetClipId || !isMidiClip(clip)) {
                return failed("The clip to replace no longer exists; nothing was written.");
            }
            clearClip(clip, job.lengthBeats);
            where = "the selected clip";
        } else {
            var track = deviceMidiTrack();
            if (!track) return "";
            var beside = job.dest === "beside" ? job.beside : null;  // an audio clip's drums: beside it
            if (job.dest === "arrangement" || (beside && beside.start !== undefined)) {
                if (!arrangementSupported(track)) {
                    return failed("Writing to the Arrangement needs Live 12.1.10 or newer (Track.create_midi_clip); " +
                        "choose 'new clip' instead.");
                }
                var start = beside ? freeFrom(track, beside.start, job.lengthBeats) :
                    arrangementStart(track, job.lengthBeats, job.take > 0);
                if (start < 0) return "";
                clip = createArrangementClip(track, start, job.lengthBeats);
                where = "the Arrangement at bar " + (1 + Math.floor(start / barBeats() + 1e-9));
            } else {
                var row = beside ? beside.slot : undefined;  // beside an audio clip: its row, else the next
                var slot = firstEmptySlot(track, row);
                if (slot < 0) {  // every slot is taken: a new scene at the end gives this track an empty one
                    new LiveAPI("live_set").call("create_scene", -1);
                    job.scenesAdded = 1;
                    slot = firstEmptySlot(track, row);
                    if (slot < 0) return failed("No empty clip slot on this track, and no scene could be added.");
                }
                var slotApi = new LiveAPI(pathOf(track) + " clip_slots " + slot);
                slotApi.call("create_clip", job.lengthBeats);
                clip = new LiveAPI(pathOf(track) + " clip_slots " + slot + " clip");
                where = "a new clip in slot " + (slot + 1);
            }
            if (!clip || Number(clip.id) === 0) return "";
        }
        clip.call("add_new_notes", { notes: job.notes });
        clip.set("name", job.name);
        job.where = clipLocation(clip);  // the device's history finds it there again, also after a reload
        new LiveAPI("live_set view").set("detail_clip", "id " + clip.id);  // shown, so Nudge works on it next
        return where;
    }

    function failed(text) {
        report(text, "error");
        return "";
    }

    function version() {  // [major, minor, bugfix] of the running Live
        var app = new LiveAPI("live_app");
        return [Number(app.call("get_major_version")), Number(app.call("get_minor_version")),
            Number(app.call("get_bugfix_version")) || 0];
    }

    // Track.create_midi_clip (a MIDI clip in the Arrangement) came with Live 12.1.10 (see docs/max-for-live.md
    // for the sources, which disagree); the track's own description (LiveAPI.info) settles it where it is read
    function arrangementSupported(track) {
        var v = version();
        var byVersion = v[0] > 12 || (v[0] === 12 && (v[1] > 1 || (v[1] === 1 && v[2] >= 10)));
        var info = String(track.info || "");
        return info.indexOf("function ") >= 0 ? info.indexOf("function create_midi_clip") >= 0 : byVersion;
    }

    function clearClip(clip, lengthBeats) {  // every note goes, also those past the end or before the loop
        var v = version();
        if (v[0] > 11 || (v[0] === 11 && v[1] >= 1)) {  // Live 11.1+: every note by id
            var ids = noteIds(clip.call("get_all_notes_extended"));
            if (ids.length) clip.call.apply(clip, ["remove_notes_by_id"].concat(ids));
        } else {  // Live 11.0: every pitch over the whole time range a clip can hold
            clip.call("remove_notes_extended", 0, 128, 0, MAX_BEATS);
        }
        clip.set("loop_start", 0);
        clip.set("start_marker", 0);
        clip.set("loop_end", lengthBeats);
        clip.set("end_marker", lengthBeats);
    }

    function noteIds(raw) {  // get_all_notes_extended's JSON text (or dictionary) -> the note ids
        if (Array.isArray(raw)) raw = raw.length === 1 ? raw[0] : raw.join(" ");
        var notes = (typeof raw === "string" ? JSON.parse(raw) : raw).notes || [];
        var ids = [];
        for (var i = 0; i < notes.length; i++) ids.push(notes[i].note_id);
        return ids;
    }

    function barBeats() {
        var song = new LiveAPI("live_set");
        return 4 * Number(getOne(song, "signature_numerator")) / Number(getOne(song, "signature_denominator"));
    }

    // Where an Arrangement result goes, or -1 after saying why not: with the Arrangement loop on, at its start
    // (Cmd/Ctrl+L sets the loop to the time selection; the LOM shows no time selection itself), refusing a
    // place this track already uses; else the first stretch free of this track's clips from the insert
    // marker's bar on (Song.current_song_time: the insert marker while stopped), starting on a bar line
    // A click's later takes (`later`) go to the first free stretch after the loop's start instead.
    function arrangementStart(track, lengthBeats, later) {
        var song = new LiveAPI("live_set");
        var busy = arrangementSpans(track);
        var looped = Number(getOne(song, "loop")) === 1;
        if (looped && !later) {
            var loopStart = Number(getOne(song, "loop_start"));
            if (overlapping(busy, loopStart, loopStart + lengthBeats)) {
                report("The Arrangement loop (from beat " + loopStart + ") already holds a clip on this track; " +
                    "clear it, or switch the loop off to write to the next free place.", "error");
                return -1;
            }
            return loopStart;
        }
        var bar = barBeats();
        var from = looped ? Number(getOne(song, "loop_start")) : Number(getOne(song, "current_song_time"));
        var start = Math.floor(from / bar) * bar;
        var hit = overlapping(busy, start, start + lengthBeats);
        while (hit) {
            start = Math.ceil(hit[1] / bar - 1e-9) * bar;
            hit = overlapping(busy, start, start + lengthBeats);
        }
        return start;
    }

    // The first stretch of the track free of clips from beat `from` on (exactly there when it is free, else
    // from the bar line after the clip in the way)
    function freeFrom(track, from, lengthBeats) {
        var busy = arrangementSpans(track);
        var bar = barBeats();
        var start = from;
        var hit = overlapping(busy, start, start + lengthBeats);
        while (hit) {
            start = Math.ceil(hit[1] / bar - 1e-9) * bar;
            hit = overlapping(busy, start, start + lengthBeats);
        }
        return start;
    }

    function arrangementSpans(track) {  // [[start, end], ...] of the track's Arrangement clips
        var ids = idList(track.get("arrangement_clips"));
        var spans = [];
        for (var i = 0; i < ids.length; i++) {
            var c = new LiveAPI("id " + ids[i]);
            spans.push([Number(getOne(c, "start_time")), Number(getOne(c, "end_time"))]);
        }
        return spans;
    }

    function overlapping(spans, from, to) {  // the first span that overlaps [from, to), or null
        for (var i = 0; i < spans.length; i++) if (spans[i][0] < to - 1e-9 && spans[i][1] > from + 1e-9) return spans[i];
        return null;
    }

    function createArrangementClip(track, start, lengthBeats) {  // Live 12.1.10+: Track.create_midi_clip
        track.call("create_midi_clip", start, lengthBeats);
        var ids = idList(track.get("arrangement_clips"));
        for (var i = ids.length - 1; i >= 0; i--) {
            var c = new LiveAPI("id " + ids[i]);
            if (Math.abs(Number(getOne(c, "start_time")) - start) < 1e-6) return c;
        }
        return report("Live did not create the Arrangement clip at beat " + start + ".", "error");
    }

    return {
        getOne: getOne,
        deviceMidiTrack: deviceMidiTrack,
        selectedMidiClip: selectedMidiClip,
        readClip: readClip,
        firstEmptySlot: firstEmptySlot,
        selectedClip: selectedClip,
        isAudioClip: isAudioClip,
        readAudioClip: readAudioClip,
        clipAfter: clipAfter,
        barBeats: barBeats,
        clipLocation: clipLocation,
        version: version,
        writeJob: writeJob
    };
};
