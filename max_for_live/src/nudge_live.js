// Nudge — everything the device reads from and writes to the Live set, through the LiveAPI.
// A CommonJS module as Max's [js] loads it (`require("nudge_live")`, found beside the device; Max knows
// `exports`, not `module.exports`). ES5 only. Its dependencies come in explicitly, so nothing here relies on
// which of Max's globals a module can see:
//   var live = require("nudge_live").make(LiveAPI, showStatus);
// `report(text, level)` shows a problem to the user and returns null; functions that fail call it and return
// its null (or "" where the caller wants a string). No LiveAPI object is made until a function is called.

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

    function selectedMidiClip() {
        var clip = new LiveAPI("live_set view detail_clip");
        if (Number(clip.id) === 0) {
            return report("No clip selected: click a MIDI clip so it shows in the Detail View.", "error");
        }
        if (Number(getOne(clip, "is_midi_clip")) !== 1) {
            return report("The selected clip is an audio clip; choose a MIDI clip.", "error");
        }
        return clip;
    }

    function readClip(clip) {  // the loop's notes as Live hands them: { raw, loopStart, lengthBeats }
        var loopStart = Number(getOne(clip, "loop_start")) || 0;
        var lengthBeats = Number(getOne(clip, "length"));
        var raw = clip.call("get_notes_extended", 0, 128, loopStart, lengthBeats);
        return { raw: raw, loopStart: loopStart, lengthBeats: lengthBeats };
    }

    function firstEmptySlot(track) {  // from the selected scene down, wrapping to the top; -1 when all are full
        var n = idList(track.get("clip_slots")).length;
        var start = Math.max(0, idList(new LiveAPI("live_set").get("scenes"))
            .indexOf(Number(new LiveAPI("live_set view selected_scene").id)));
        for (var k = 0; k < n; k++) {
            var i = (start + k) % n;
            if (Number(getOne(new LiveAPI(pathOf(track) + " clip_slots " + i), "has_clip")) === 0) return i;
        }
        return -1;
    }

    // ------------------------------------------------------------ writing clips (call from a deferred Task)

    // job: { dest: "session" | "replace" | "arrangement", targetClipId, notes, lengthBeats, name }
    // -> where the notes went (for the status line), or "" after reporting why nothing was written
    function writeJob(job) {
        var clip, where;
        if (job.dest === "replace") {
            clip = new LiveAPI("id " + job.targetClipId);
            if (!job.targetClipId || Number(clip.id) === 0) {
                return failed("The clip to replace no longer exists; nothing was written.");
            }
            clearClip(clip, job.lengthBeats);
            where = "the selected clip";
        } else {
            var track = deviceMidiTrack();
            if (!track) return "";
            if (job.dest === "arrangement") {
                clip = createArrangementClip(track, job.lengthBeats);
                where = "the Arrangement";
            } else {
                var slot = firstEmptySlot(track);
                if (slot < 0) return failed("No empty clip slot on this track: add a scene and try again.");
                var slotApi = new LiveAPI(pathOf(track) + " clip_slots " + slot);
                slotApi.call("create_clip", job.lengthBeats);
                clip = new LiveAPI(pathOf(track) + " clip_slots " + slot + " clip");
                where = "a new clip in slot " + (slot + 1);
            }
            if (!clip || Number(clip.id) === 0) return "";
        }
        clip.call("add_new_notes", { notes: job.notes });
        clip.set("name", job.name);
        return where;
    }

    function failed(text) {
        report(text, "error");
        return "";
    }

    function clearClip(clip, lengthBeats) {
        var end = Math.max(Number(getOne(clip, "end_marker")) || 0, lengthBeats);
        clip.call("remove_notes_extended", 0, 128, 0, end);
        clip.set("loop_start", 0);
        clip.set("start_marker", 0);
        clip.set("loop_end", lengthBeats);
        clip.set("end_marker", lengthBeats);
    }

    function createArrangementClip(track, lengthBeats) {  // Live 12+: Track.create_midi_clip at the insert marker
        var major = Number(new LiveAPI("live_app").call("get_major_version"));
        if (major < 12) {
            return report("Writing to the Arrangement needs Live 12 or newer; choose 'new clip' instead.", "error");
        }
        var song = new LiveAPI("live_set");
        var barBeats = 4 * Number(getOne(song, "signature_numerator")) /
            Number(getOne(song, "signature_denominator"));
        var start = Math.floor(Number(getOne(song, "current_song_time")) / barBeats) * barBeats;
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
        writeJob: writeJob
    };
};
