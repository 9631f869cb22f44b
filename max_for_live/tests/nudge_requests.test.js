// node --test: src/nudge_requests.js on its own, loaded as Max loads it (no globals: it is pure).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { loadModule } = require("./fake_max.js");

const requests = loadModule("nudge_requests");
const reply = loadModule("nudge_reply");
const plain = (x) => JSON.parse(JSON.stringify(x));  // the module's arrays come from its own realm (node:vm)
const LIMITS = { pingMs: 2500, replyMs: 3000, partsMs: 1000 };

function tracker() {
  return requests.make(LIMITS, reply.missingParts);
}

function notesJob(r, sentMs, verb = "generate", dest = "session") {
  const id = r.newId();
  r.add(id, { kind: "notes", verb, dest, id, sentMs });
  return id;
}

test("ids count up from 1, each request is taken once", () => {
  const r = tracker();
  assert.deepEqual([r.newId(), r.newId(), r.newId()], [1, 2, 3]);
  r.add(2, { kind: "ping", sentMs: 0 });
  assert.equal(r.get(2).kind, "ping");
  assert.equal(r.take(2).kind, "ping");
  assert.equal(r.take(2), undefined);
});

test("a new note request supersedes the pending one; its late reply is ignored without a word", () => {
  const r = tracker();
  const first = notesJob(r, 0);
  r.add(r.newId(), { kind: "ping", sentMs: 0 });
  const second = notesJob(r, 10);
  r.supersede(second);
  assert.equal(r.wantsNotes(first), false);
  assert.equal(r.wantsNotes(second), true, "supersede(byId) spares the request it names");
  const third = notesJob(r, 20);
  r.supersede(third);
  assert.equal(r.wantsNotes(second), false);
  assert.equal(r.wantsNotes(third), true);
  assert.equal(r.get(2).kind, "ping", "other kinds of request are not superseded");
  assert.equal(r.late(first), "", "a new click replaced it: nothing to say");
  assert.equal(r.late(second), "");
  assert.equal(r.pendingNotes(), 1);
  assert.equal(r.late(99), "Ignored a reply to unknown request #99.");
  assert.equal(r.late(99), "");
});

test("a failed note request is dropped with its assembly, and later replies to it are ignored silently", () => {
  const r = tracker();
  const id = notesJob(r, 0);
  r.setAssembly(id, reply.newAssembly(1000));
  assert.ok(r.assembly(id));
  assert.equal(r.fail(id).kind, "notes");
  assert.equal(r.assembly(id), null);
  assert.equal(r.wantsNotes(id), false);
  assert.equal(r.late(id), "");
  assert.equal(r.fail(12345), undefined, "failing an unknown id is harmless");
  assert.equal(r.late(12345), "Ignored a reply to unknown request #12345.");
});

test("expiry: silent for pings, a message for an unanswered request, a half-received reply is unusable", () => {
  const r = tracker();
  const ping = r.newId();
  r.add(ping, { kind: "ping", sentMs: 0 });
  const info = r.newId();
  r.add(info, { kind: "info", sentMs: 0 });
  const gen = notesJob(r, 0, "vary", "replace");
  const split = notesJob(r, 0);
  const asm = r.setAssembly(split, reply.newAssembly(1500));
  reply.readBegin(asm, [3, 9, 4]);
  reply.readPart(asm, [1, 36, 0, 0.25, 100]);

  assert.deepEqual(plain(r.expire(1499)), [], "nothing is due yet");
  assert.deepEqual(plain(r.expire(1500)), [{ id: split, unusable: true, text: "missing part(s) 0, 2 of 3 after 1000 ms" }]);
  assert.equal(r.wantsNotes(split), false);
  assert.deepEqual(plain(r.expire(2500)), [], "the ping is dropped without a message");
  assert.equal(r.get(ping), undefined);
  assert.deepEqual(plain(r.expire(3000)), [
    { id: info, unusable: false, text: "No answer to info within 3 s. Is `nudge serve` running?" },
    { id: gen, unusable: false, text: `No answer to Nudge #${gen} (selected clip) within 3 s. Is \`nudge serve\` running?` },
  ]);
  assert.equal(r.late(gen), `Ignored reply #${gen}: it arrived after its 3 s time-out.`);
  assert.deepEqual(plain(r.expire(100000)), []);
});

test("a reply still arriving keeps its request past the reply time-out; a missing begin marker is named", () => {
  const r = tracker();
  const id = notesJob(r, 0);
  r.setAssembly(id, reply.newAssembly(3500));
  assert.deepEqual(plain(r.expire(3200)), [], "parts are still coming: no time-out for the request");
  assert.deepEqual(plain(r.expire(3500)), [{ id, unusable: true, text: "missing the begin marker after 1000 ms" }]);
});

test("describe names requests as the status line does", () => {
  assert.equal(requests.describe({ kind: "notes", verb: "generate", dest: "arrangement", id: 4 }), "Generate #4 (Arrangement)");
  assert.equal(requests.describe({ kind: "notes", verb: "vary", dest: "session", id: 5 }), "Nudge #5 (new clip)");
  assert.equal(requests.describe({ kind: "play", verb: "panic" }), "play panic");
  assert.equal(requests.describe({ kind: "info" }), "info");
});

test("the takes of one click spare each other; the next click supersedes them all", () => {
  const r = tracker();
  const ids = [];
  for (let k = 0; k < 3; k++) {
    const id = r.newId();
    r.add(id, { kind: "notes", verb: "generate", dest: "session", sentMs: 0, batch: ids[0] ?? id });
    r.supersede(id, ids[0] ?? id);
    ids.push(id);
  }
  assert.deepEqual(ids.map((id) => r.wantsNotes(id)), [true, true, true]);
  const next = r.newId();
  r.add(next, { kind: "notes", verb: "vary", dest: "session", sentMs: 1, batch: next });
  r.supersede(next, next);
  assert.deepEqual(ids.map((id) => r.wantsNotes(id)), [false, false, false]);
  assert.equal(r.wantsNotes(next), true);
});
