// Nudge — the kit the device plays: the track's Drum Rack (nudge_drum_rack) mapped onto Nudge's voices, with
// the producer's own pad for a voice (the Kit row: voice menu, pad box, auto), shown in the kit line.
// A CommonJS module as Max's [js] loads it (`require("nudge_kit")`; Max knows `exports`). ES5 only.
//   var kit = require("nudge_kit").make(LiveAPI, live, face);   // live: nudge_live's, face: nudge_face's

var rack = require("nudge_drum_rack");
var VOICE_NAMES = rack.VOICES.map(function (v) { return v[0]; });
exports.VOICE_NAMES = VOICE_NAMES;

exports.make = function (LiveAPI, live, face) {
    var pads = {};   // voice -> the producer's pad (MIDI note)
    var shown = "";  // the kit line as last shown

    function load(value) {  // a stored { voice: pad }: only known voices and MIDI notes are taken
        pads = {};
        for (var voice in (value && typeof value === "object" ? value : {})) {
            var note = Number(value[voice]);
            if (VOICE_NAMES.indexOf(voice) >= 0 && Math.floor(note) === note && note >= 0 && note <= 127) {
                pads[voice] = note;
            }
        }
    }

    function saved() {
        var copy = {};
        for (var v in pads) copy[v] = pads[v];
        return copy;
    }

    function mapping() {  // the track's Drum Rack mapped, or null without one
        var track = live.deviceMidiTrack();
        var found = track ? rack.readPads(LiveAPI, track) : null;
        return found ? { pads: found, map: rack.mapVoices(found, pads) } : null;
    }

    // the kit line; said in the status line too when it changed (or `always`) -> the mapping or null
    function show(always) {
        var kit = mapping();
        var text = kit ? "Kit: " + rack.describe(kit.map, kit.pads) :
            "Kit: no Drum Rack on this track (General MIDI notes)";
        face.message("nudge_kit", "set", text);
        if (always || text !== shown) face.status(text, "info");
        shown = text;
        return kit ? kit.map : null;
    }

    function showVoice(index) {  // the pad box shows the chosen voice's pad
        var voice = VOICE_NAMES[Math.round(Number(index))];
        var kit = voice ? mapping() : null;
        if (kit) face.message("nudge_pad_note", "set", kit.map.pitch[voice]);
    }

    // the chosen voice plays `note` from now on -> true when that changed something to save
    function choose(index, note) {
        var voice = VOICE_NAMES[Math.round(Number(index))];
        note = Math.round(Number(note));
        if (!voice || !(note >= 0 && note <= 127) || pads[voice] === note) return false;
        pads[voice] = note;
        show(true);
        return true;
    }

    function auto(index) {  // the chosen voice back to its pad by name -> true when it had one chosen
        var voice = VOICE_NAMES[Math.round(Number(index))];
        if (!voice || !(voice in pads)) return false;
        delete pads[voice];
        show(true);
        showVoice(index);
        return true;
    }

    return { load: load, saved: saved, show: show, showVoice: showVoice, choose: choose, auto: auto };
};
