// Nudge — the device's launcher, run by [node.script nudge_launcher.js @autostart 1] (Node for Max: this file
// runs in Node, not in Max's [js], so it may use modern JavaScript; it keeps to what Node 12, the oldest Node
// that Max 8.1 ships, understands). One per device instance:
//   - on start it finds a free UDP port for the instance's [udpreceive] and sends `replyport <n>`;
//   - on `ensure` (the device hears no daemon) it starts `nudge serve` unless something already holds the
//     daemon's port (a daemon started by hand, or by another Nudge): those are left alone;
//   - it reports `daemon <state> <text>`: running | starting | external | missing | failed | stopped.
// A daemon it starts runs detached with `--idle-exit-seconds`: it outlives this device (other instances share
// it) and ends by itself once no device has pinged it for that long, e.g. after Live quits.
"use strict";
const childProcess = require("child_process");
const dgram = require("dgram");
const fs = require("fs");
const os = require("os");
const path = require("path");

const DAEMON_HOST = "127.0.0.1";
const DAEMON_PORT = 9000;  // the patcher's [udpsend 127.0.0.1 9000]
const IDLE_EXIT_SECONDS = 60;

/** The places a `nudge` command may be, in order: $NUDGE_COMMAND, the PATH, then where pip, pipx, Homebrew,
 * conda and the python.org installers put scripts (Live started from the Dock or Start menu does not see a
 * shell's PATH). */
function candidates({ env = process.env, platform = process.platform, home = os.homedir() } = {}) {
  const win = platform === "win32";
  const names = win ? ["nudge.exe"] : ["nudge"];
  const dirs = (env.PATH || env.Path || "").split(win ? ";" : ":").filter(Boolean);
  const globbed = (parent, inner) => {  // parent/*/inner, newest name first
    try {
      return fs.readdirSync(parent).sort().reverse().map((d) => path.join(parent, d, inner));
    } catch (error) {
      return [];
    }
  };
  if (win) {
    const appData = env.APPDATA || path.join(home, "AppData", "Roaming");
    const local = env.LOCALAPPDATA || path.join(home, "AppData", "Local");
    dirs.push(path.join(home, ".local", "bin"), ...globbed(path.join(appData, "Python"), "Scripts"),
      ...globbed(path.join(local, "Programs", "Python"), "Scripts"));
  } else {
    dirs.push(path.join(home, ".local", "bin"), "/opt/homebrew/bin", "/usr/local/bin", "/opt/local/bin",
      ...globbed(path.join(home, "Library", "Python"), "bin"), path.join(home, ".pyenv", "shims"),
      ...["miniforge3", "miniconda3", "anaconda3"].map((d) => path.join(home, d, "bin")));
  }
  const found = env.NUDGE_COMMAND ? [env.NUDGE_COMMAND] : [];
  for (const dir of dirs) for (const name of names) found.push(path.join(dir, name));
  return found;
}

/** The first candidate that is an executable file, or "" */
function findNudge(options = {}) {
  for (const file of candidates(options)) {
    try {
      if (!fs.statSync(file).isFile()) continue;
      if ((options.platform || process.platform) !== "win32") fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch (error) {
      continue;
    }
  }
  return "";
}

/** A UDP port that was free a moment ago on host (bound with port 0, then closed) */
function freePort(host = DAEMON_HOST) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, host, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** Whether something holds the UDP port (a bind fails with EADDRINUSE) */
function portBusy(host, port) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: "udp4", reuseAddr: false });
    socket.once("error", (error) => {
      socket.close();
      if (error.code === "EADDRINUSE" || error.code === "EACCES") resolve(true);
      else reject(error);
    });
    socket.bind(port, host, () => socket.close(() => resolve(false)));
  });
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

function lastLine(file) {
  try {
    const lines = fs.readFileSync(file, "utf8").trim().split(/\r?\n/);
    return lines[lines.length - 1] || "";
  } catch (error) {
    return "";
  }
}

class Launcher {
  /** report(state, text) tells the device; extraArgs go after `nudge serve --port P --idle-exit-seconds S` */
  constructor({ report, host = DAEMON_HOST, port = DAEMON_PORT, idleExitSeconds = IDLE_EXIT_SECONDS,
    extraArgs = [], env = process.env, platform = process.platform, home = os.homedir() } = {}) {
    Object.assign(this, { report, host, port, idleExitSeconds, extraArgs, env, platform, home });
    this.child = null;
    const dir = env.NUDGE_RUN_DIR || os.tmpdir();
    this.lockFile = path.join(dir, `nudge-serve-${port}.json`);  // who started the daemon on this port
    this.logFile = path.join(dir, `nudge-serve-${port}.log`);
  }

  /** Start `nudge serve` unless a daemon runs or something holds its port; reports what it found or did */
  async ensure() {
    if (this.child) return this.report("running", `nudge serve (pid ${this.child.pid}) was started by this Nudge`);
    const lock = this.readLock();
    if (lock && alive(lock.pid)) {
      return this.report("running", `nudge serve (pid ${lock.pid}) was started by Nudge; waiting for it to answer`);
    }
    if (await portBusy(this.host, this.port)) {
      return this.report("external", `Something else holds ${this.host}:${this.port} (a daemon started by hand?); ` +
        "Nudge leaves it alone.");
    }
    const command = findNudge({ env: this.env, platform: this.platform, home: this.home });
    if (!command) {
      return this.report("missing", "The nudge command was not found: install Nudge (pip install nudge), " +
        "or set NUDGE_COMMAND to its path.");
    }
    return this.start(command);
  }

  start(command) {
    const args = ["serve", "--port", String(this.port), "--idle-exit-seconds", String(this.idleExitSeconds),
      ...this.extraArgs];
    const log = fs.openSync(this.logFile, "w");
    let child;
    try {
      child = childProcess.spawn(command, args, { detached: true, stdio: ["ignore", log, log], env: this.env,
        windowsHide: true });
    } finally {
      fs.closeSync(log);
    }
    this.child = child;
    child.once("error", (error) => {
      this.child = null;
      this.report("failed", `Could not start ${command}: ${error.message}`);
    });
    if (!child.pid) return undefined;  // the error event follows
    fs.writeFileSync(this.lockFile, JSON.stringify({ pid: child.pid, command, args }));
    child.once("exit", (code, signal) => {
      this.child = null;
      this.removeLock(child.pid);
      if (code === 0) this.report("stopped", "nudge serve stopped (no device pinged it for a while).");
      else this.report("failed", `nudge serve ended (${signal || "code " + code}): ${lastLine(this.logFile)}`);
    });
    child.unref();  // Max may close this script; the daemon keeps serving the other instances
    return this.report("starting", `Started ${command} serve (pid ${child.pid}); log: ${this.logFile}`);
  }

  readLock() {
    try {
      const lock = JSON.parse(fs.readFileSync(this.lockFile, "utf8"));
      return Number.isInteger(lock.pid) && lock.pid > 0 ? lock : null;
    } catch (error) {
      return null;
    }
  }

  removeLock(pid) {
    const lock = this.readLock();
    if (lock && lock.pid === pid) fs.unlinkSync(this.lockFile);
  }
}

/** Node for Max: the messages of [node.script nudge_launcher.js] */
function bindMax(maxApi) {
  const launcher = new Launcher({ report: (state, text) => maxApi.outlet("daemon", state, text) });
  const announce = () => freePort().then((port) => maxApi.outlet("replyport", port),
    (error) => maxApi.outlet("daemon", "failed", `No free UDP port for replies: ${error.message}`));
  maxApi.addHandler("replyport", announce);
  maxApi.addHandler("ensure", () => launcher.ensure().catch((error) =>
    maxApi.outlet("daemon", "failed", error.message)));
  announce();
}

let maxApi = null;
try {
  maxApi = require("max-api");  // only inside Max
} catch (error) {
  maxApi = null;
}
if (maxApi) bindMax(maxApi);

module.exports = { candidates, findNudge, freePort, portBusy, Launcher, DAEMON_PORT };
