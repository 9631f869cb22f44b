// Nudge — the device's link to the daemon: where it is (host and port, set in the device), the reply port its
// [udpreceive] listens on (found by the launcher), the pings that tell whether it answers, and the launcher
// ([node.script nudge_launcher.js]) that starts `nudge serve` when none does.
// A CommonJS module as Max's [js] loads it (`require("nudge_link")`; Max knows `exports`). ES5 only.
//   var link = require("nudge_link").make({ face: face, clock: clock, osc: send, receive: toReceive,
//       launcher: toLauncher, requests: function () { return state.requests; } });
// osc(atoms) goes to [udpsend] (also its `host`/`port` messages), receive(atoms) to [udpreceive] (`port n`),
// launcher(atoms) to the launcher (`ensure`, `target host port`, `command path`).

var PING_EVERY_MS = 1000;
var PING_TIMEOUT_MS = 2500;   // no pong for this long: the daemon is not running
var LAUNCHER_WAIT_MS = 4000;  // no reply port from the launcher by then: Node for Max is not running
var ENSURE_EVERY_MS = 5000;   // while offline, ask the launcher this often to start the daemon
exports.PING_TIMEOUT_MS = PING_TIMEOUT_MS;

exports.make = function (env) {
    var face = env.face;
    var s = { online: null, aliveMs: 0, lastPingMs: -PING_EVERY_MS, rttMs: -1, replyPort: 0, launcher: false,
        ensureMs: -ENSURE_EVERY_MS, initMs: 0, ready: false, host: "127.0.0.1", port: 9000, command: "" };

    function address() {
        return (s.host.indexOf(":") >= 0 ? "[" + s.host + "]" : s.host) + ":" + s.port;
    }

    function start(now) {  // [live.thisdevice] banged
        s.ready = true;
        s.aliveMs = s.initMs = now;
        if (s.replyPort) listenOn(s.replyPort);
    }

    function replyport(port) {  // the launcher found a free UDP port for this instance's [udpreceive]
        s.launcher = true;
        s.replyPort = port;
        if (!s.ready) return;
        listenOn(port);
        // the launcher runs now: tell it again what it may have missed while Node for Max was starting
        if (s.command) env.launcher(["command", s.command]);
        env.launcher(["target", s.host, s.port]);
    }

    function listenOn(port) {  // [udpreceive] moves to the port; a ping tells the daemon at once
        env.receive(["port", port]);
        face.message("nudge_replyport", "set", "replies on " + port);
        sendPing(env.clock.now());
    }

    function useFallbackPort() {  // no Node for Max: a random port in the dynamic range, and no daemon start
        s.replyPort = 49152 + Math.floor(env.clock.random() * 16384);
        listenOn(s.replyPort);
        face.showDaemon("Node for Max is not running: start the daemon yourself with `nudge serve`.");
    }

    // where the daemon is: [udpsend] and the launcher follow; -> "" or what is wrong
    function target(host, port) {
        if (!/^[A-Za-z0-9.:%_-]{1,253}$/.test(String(host))) return "The daemon's host must be an address or a name.";
        if (!(port >= 1 && port <= 65535 && port === Math.floor(port))) return "The daemon's port must be 1..65535.";
        s.host = String(host);
        s.port = port;
        env.osc(["host", s.host]);
        env.osc(["port", s.port]);
        env.launcher(["target", s.host, s.port]);
        face.message("nudge_host", "set", s.host);
        face.message("nudge_port", "set", s.port);
        s.online = null;  // not known for the new address until it answers
        return "";
    }

    function command(path) {  // the `nudge` the launcher runs first ("" = look for it)
        s.command = String(path || "");
        if (s.command) env.launcher(["command", s.command]);
    }

    function heartbeat(now) {
        if (!s.replyPort && now - s.initMs >= LAUNCHER_WAIT_MS) useFallbackPort();
        if (s.replyPort && now - s.lastPingMs >= PING_EVERY_MS) sendPing(now);
        if (s.online !== false && now - s.aliveMs > PING_TIMEOUT_MS) setOnline(false);
        if (s.online === false && s.launcher && now - s.ensureMs >= ENSURE_EVERY_MS) {
            s.ensureMs = now;
            env.launcher(["ensure"]);  // the launcher starts `nudge serve` unless something holds the port
        }
    }

    function sendPing(now) {
        var requests = env.requests();
        var id = requests.newId();
        s.lastPingMs = now;
        requests.add(id, { kind: "ping", sentMs: now });
        env.osc(["/nudge/ping", id, s.replyPort]);  // [udpsend] cannot receive: replies go to [udpreceive]'s port
    }

    function pong(id) {  // /nudge/pong: the round trip of our own ping, the light on
        var requests = env.requests();
        var p = requests.get(id);
        var now = env.clock.now();
        if (p && p.kind === "ping") {
            s.rttMs = now - p.sentMs;
            requests.take(id, "ping");
        }
        s.aliveMs = now;
        setOnline(true);
        face.message("nudge_rtt", "set", s.rttMs >= 0 ? s.rttMs + " ms" : "-");
    }

    function setOnline(online) {
        if (s.online === online) return;
        s.online = online;
        face.showOnline(online);
        if (online) return;
        face.status("The daemon does not answer on " + address() + (s.launcher ? ": starting `nudge serve`..." :
            ": start it with `nudge serve`."), "warning");
    }

    return { start: start, replyport: replyport, target: target, command: command, heartbeat: heartbeat,
        pong: pong, address: address, state: s };
};
