// node --test: src/nudge_assembly.js on its own, loaded as Max loads it: note replies reassembled from their
// parts, with the requests in flight of nudge_requests.js and a clock the test moves.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { loadModule } = require("./fake_max.js");

const assembly = loadModule("nudge_assembly");
const requests = loadModule("nudge_requests");
const reply = loadModule("nudge_reply");
const plain = (x) => JSON.parse(JSON.stringify(x));

function setup() {
  const clock = { ms: 0, now() { return this.ms; } };
  const shown = [];
  const delivered = [];
  const r = requests.make({ pingMs: 2500, replyMs: 3000, partsMs: 1000 }, reply.missingParts);
  const notesIn = assembly.make(clock, (text, kind) => { shown.push([kind, text]); }, 1000, (job) => delivered.push(job));
  const id = r.newId();
  r.add(id, { kind: "notes", verb: "generate", dest: "session", id, sentMs: 0 });
  return { clock, shown, delivered, r, notesIn, id };
}

test("parts in any order complete the job once: notes and length set, the request taken", () => {
  const { shown, delivered, r, notesIn, id } = setup();
  notesIn.part(r, [id, 1, 38, 1, 0.25, 90]);
  notesIn.begin(r, [id, 2, 2, 4, "funk"]);
  assert.equal(delivered.length, 0, "part 0 still missing");
  notesIn.part(r, [id, 0, 36, 0, 0.25, 100]);
  assert.equal(delivered.length, 1);
  assert.equal(delivered[0].id, id);
  assert.equal(delivered[0].lengthBeats, 4);
  assert.deepEqual(plain(delivered[0].notes.map((n) => n.pitch)), [36, 38]);
  assert.equal(r.get(id), undefined, "no longer pending");
  notesIn.end(r, [id]);
  assert.equal(delivered.length, 1, "a late end writes nothing more");
  assert.deepEqual(shown, [["warning", `Ignored a reply to unknown request #${id}.`]], "said once, as the device does");
  notesIn.part(r, [id, 0, 36, 0, 0.25, 100]);
  assert.equal(shown.length, 1);
});

test("a bad reply fails the request, says why and delivers nothing; end shortens the parts' deadline", () => {
  const bad = setup();
  bad.notesIn.begin(bad.r, [bad.id, 1, 1, 4]);
  bad.notesIn.part(bad.r, [bad.id, 0, 200, 0, 0.25, 100]);
  assert.equal(bad.delivered.length, 0);
  assert.deepEqual(bad.shown, [["error", `Reply #${bad.id} was unusable (note 0 has pitch 200 (0..127)); nothing was written.`]]);
  assert.equal(bad.r.get(bad.id), undefined);
  assert.equal(assembly.unusableText(7, "why"), "Reply #7 was unusable (why); nothing was written.");

  const late = setup();
  late.clock.ms = 100;
  late.notesIn.begin(late.r, [late.id, 2, 2, 4]);
  assert.equal(late.r.assembly(late.id).deadlineMs, 1100);
  late.clock.ms = 200;
  late.notesIn.end(late.r, [late.id]);
  assert.equal(late.r.assembly(late.id).endSeen, true);
  assert.equal(late.r.assembly(late.id).deadlineMs, 700, "end: half the parts' time from now");
});
