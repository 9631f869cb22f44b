// Nudge — note replies in: /nudge/notes/begin, n /nudge/notes parts (any order) and /nudge/notes/end
// reassembled into the finished job, which goes to the clip writer. The requests in flight are nudge_requests'
// (passed on each message, as the device replaces them when it is deleted); replies as data are nudge_reply's.
// A CommonJS module as Max's [js] loads it (`require("nudge_assembly")`; Max knows `exports`). ES5 only.
//   var notesIn = require("nudge_assembly").make(clock, showStatus, 1000, function (job) { ... });

var reply = require("nudge_reply");
var rack = require("nudge_drum_rack");

exports.unusableText = function (id, why) {
    return "Reply #" + id + " was unusable (" + why + "); nothing was written.";
};

// clock: { now }; showStatus(text, kind); partsMs: how long the parts of one reply may take;
// deliver(job): the finished job, its notes (on the kit's pads) and lengthBeats set
exports.make = function (clock, showStatus, partsMs, deliver) {
    function begin(requests, args) {
        var asm = assemblyFor(requests, args[0]);
        if (!asm) return;
        var bad = reply.readBegin(asm, args.slice(1));
        if (bad) return failAssembly(requests, args[0], bad);
        tryComplete(requests, args[0]);
    }

    function part(requests, args) {
        var asm = assemblyFor(requests, args[0]);
        if (!asm) return;
        var bad = reply.readPart(asm, args.slice(1));
        if (bad) return failAssembly(requests, args[0], bad);
        tryComplete(requests, args[0]);
    }

    function end(requests, args) {
        var asm = assemblyFor(requests, args[0]);
        if (!asm) return;
        asm.endSeen = true;
        asm.deadlineMs = Math.min(asm.deadlineMs, clock.now() + partsMs / 2);
        tryComplete(requests, args[0]);
    }

    function assemblyFor(r, id) {  // the reassembly buffer for a reply we still want, else say (once) why not
        if (!r.wantsNotes(id)) {
            var why = r.late(id);
            return why ? showStatus(why, "warning") : null;
        }
        return r.assembly(id) || r.setAssembly(id, reply.newAssembly(clock.now() + partsMs));
    }

    function tryComplete(requests, id) {
        var asm = requests.assembly(id);
        var done = reply.assemble(asm);
        if (!done) return;
        if (done.error) return failAssembly(requests, id, done.error);
        var job = requests.take(id);
        job.notes = job.kit ? rack.toPads(done.notes, job.kit) : done.notes;
        job.lengthBeats = asm.lengthBeats;  // the device's name says the style, the sliders and the seed
        deliver(job);
    }

    function failAssembly(requests, id, why) {
        requests.fail(id);
        showStatus(exports.unusableText(id, why), "error");
    }

    return { begin: begin, part: part, end: end };
};
