// Nudge — the requests in flight, by id: what was asked and when, which note replies are being reassembled,
// and why a reply is no longer wanted (superseded, timed out, failed). Pure bookkeeping: no Max, no Live; the
// caller passes the time and shows the messages this returns.
// A CommonJS module as Max's [js] loads it (`require("nudge_requests")`, found beside the device; Max knows
// `exports`, not `module.exports`). ES5 only.
//   var requests = require("nudge_requests").make(
//       { pingMs: 2500, replyMs: 3000, partsMs: 1000 }, reply.missingParts);

var MAX_ID = require("nudge_osc").MAX_ID;  // ids are OSC int32s
var QUIET = { ping: true, cancel: true };  // requests whose time-out the device does not report

// a random first id in 1..2^30: ids of two instances meet only after a billion requests
exports.randomFirstId = function (random) {
    return 1 + Math.floor(random() * 1073741824);
};
var DEST_LABELS = { session: "new clip", replace: "selected clip", arrangement: "Arrangement",
    beside: "beside the audio clip" };

// a request as the user would name it: "Nudge #12 (new clip)", "Groove #13 (selected clip)", "play start"
exports.describe = function (p) {
    if (p.kind === "notes") {
        var verb = p.verb === "vary" ? "Nudge" : p.verb.charAt(0).toUpperCase() + p.verb.slice(1);
        return verb + " #" + p.id + " (" + DEST_LABELS[p.dest] + ")";
    }
    return p.kind + (p.verb ? " " + p.verb : "");
};

// limits: { pingMs, replyMs (a request with no answer), partsMs (a split reply whose parts stop arriving) };
// missingParts(assembly) -> the part numbers not yet received; firstId: where this device's ids start (each
// instance starts at a random one, so two devices in one set never share an id, and a reply meant for another
// instance is taken for an unknown request)
exports.make = function (limits, missingParts, firstId) {
    var nextId = firstId >= 1 && firstId < MAX_ID ? Math.floor(firstId) : 1;
    var pending = {};     // id -> { kind: "ping" | "info" | "notes" | "play", sentMs, ... }
    var abandoned = {};   // id -> { reason: "superseded" | "timeout" | "error" | "unknown", by, reported }
    var assemblies = {};  // id -> the note reply being reassembled for a pending "notes" request

    function newId() {
        var id = nextId;
        nextId = id >= MAX_ID - 1 ? 1 : id + 1;
        return id;
    }

    function add(id, request) {
        pending[id] = request;
    }

    function get(id) {
        return pending[id];
    }

    function take(id, kind) {  // the request, no longer pending; with kind, only a request of that kind
        var p = pending[id];
        if (kind !== undefined && (!p || p.kind !== kind)) return undefined;  // e.g. a stray reply: leave it
        delete pending[id];
        delete assemblies[id];
        return p;
    }

    function fail(id) {  // take it; a later reply to a failed note request is ignored silently
        var p = take(id);
        if (p && p.kind === "notes") abandoned[id] = { reason: "error", reported: true };
        return p;
    }

    // note requests on their way (of one click's `batch`, or of all clicks)
    function pendingNotes(batch) {
        var n = 0;
        for (var id in pending) {
            var p = pending[id];
            if (p.kind === "notes" && (batch === undefined || p.batch === batch)) n += 1;
        }
        return n;
    }

    // only the newest click's note requests may write clips: drop the others (their late replies are dropped
    // without a word: a new click replaced them). A click may send several (takes): those carry the same
    // `batch` (the first one's id) and spare each other.
    function supersede(byId, batch) {
        for (var id in pending) {
            var p = pending[id];
            if (p.kind !== "notes" || Number(id) === byId || (batch !== undefined && p.batch === batch)) continue;
            abandoned[id] = { reason: "superseded", by: byId };
            take(id);
        }
    }

    function wantsNotes(id) {
        return !!pending[id] && pending[id].kind === "notes";
    }

    function late(id) {  // why a reply to id is ignored, said once per id ("" after that)
        var a = abandoned[id];
        if (a && (a.reported || a.reason === "superseded")) return "";
        if (!a) a = abandoned[id] = { reason: "unknown" };
        a.reported = true;
        if (a.reason === "timeout") {
            return "Ignored reply #" + id + ": it arrived after its " + limits.replyMs / 1000 + " s time-out.";
        }
        return "Ignored a reply to unknown request #" + id + ".";
    }

    function assembly(id) {
        return assemblies[id] || null;
    }

    function setAssembly(id, asm) {
        assemblies[id] = asm;
        return asm;
    }

    // drop what has waited too long -> [{ id, unusable: true | false, text }]: an unusable (half-received)
    // reply, or a request with no answer at all (pings and cancels time out silently: the light says it)
    function expire(nowMs) {
        var out = [];
        var id;
        for (id in assemblies) {
            var asm = assemblies[id];
            if (nowMs < asm.deadlineMs) continue;
            var missing = asm.nParts < 0 ? "the begin marker" : "part(s) " + missingParts(asm).join(", ") +
                " of " + asm.nParts;
            fail(Number(id));
            out.push({ id: Number(id), unusable: true, text: "missing " + missing + " after " + limits.partsMs +
                " ms" });
        }
        for (id in pending) {
            var p = pending[id];
            var limit = p.kind === "ping" ? limits.pingMs : limits.replyMs;
            if (nowMs - p.sentMs < limit || assemblies[id]) continue;
            take(id);
            if (QUIET[p.kind]) continue;
            abandoned[id] = { reason: "timeout" };
            out.push({ id: Number(id), unusable: false, text: "No answer to " + exports.describe(p) + " within " +
                limit / 1000 + " s. Is `nudge serve` running?" });
        }
        return out;
    }

    return {
        newId: newId,
        add: add,
        get: get,
        take: take,
        fail: fail,
        supersede: supersede,
        pendingNotes: pendingNotes,
        wantsNotes: wantsNotes,
        late: late,
        assembly: assembly,
        setAssembly: setAssembly,
        expire: expire
    };
};
