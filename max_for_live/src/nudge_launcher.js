// Nudge — the device's launcher, run by [node.script nudge_launcher.js @autostart 1] (Node for Max: this file
// runs in Node, not in Max's [js], so it may use modern JavaScript; it keeps to what Node 12, the oldest Node
// that Max 8.1 ships, understands). One per device instance:
//   - on start it finds a free UDP port for the instance's [udpreceive] and sends `replyport <n>`;
//   - `target <host> <port>` says where the device expects the daemon (set in the device); `command <path>` is
//     the `nudge` the producer chose with Locate nudge... (tried first);
//   - on `ensure` (the device hears no daemon) it starts `nudge serve` unless something already holds the
//     daemon's port (a daemon started by hand, or by another Nudge): those are left alone. A lock file whose
//     process is gone, or is no `nudge serve` any more (its pid was reused), or never bound the port, is stale;
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
const STARTUP_GRACE_MS = 30000;  // a daemon it started may take this long to load its model and bind the port

/** The places a `nudge` command may be, in order: $NUDGE_COMMAND, the PATH, then where pip (the user site's
 * bin), pipx, uv, Homebrew, conda and the python.org installers put scripts: Live started from the Dock or the
 * Start menu does not see a shell's PATH. pipx links apps into $PIPX_BIN_DIR (~/.local/bin) from its venvs
 * ($PIPX_HOME/venvs/nudge); `uv tool install` into $UV_TOOL_BIN_DIR, $XDG_BIN_HOME, $XDG_DATA_HOME/../bin or
 * ~/.local/bin from $UV_TOOL_DIR ($XDG_DATA_HOME/uv/tools, ~/.local/share/uv/tools, %APPDATA%\\uv\\data\\tools);
 * the python.org installer puts Python in /Library/Frameworks/Python.framework/Versions/X.Y/bin. */
function candidates({ env = process.env, platform = process.platform, home = os.homedir(),
  frameworks = "/Library/Frameworks/Python.framework/Versions" } = {}) {
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
  const fromEnv = (...keys) => keys.filter((k) => env[k]).map((k) => env[k]);
  const venvBin = win ? "Scripts" : "bin";
  const toolVenvs = (roots) => roots.map((root) => path.join(root, "nudge", venvBin));
  dirs.push(...fromEnv("PIPX_BIN_DIR", "UV_TOOL_BIN_DIR", "XDG_BIN_HOME"));
  if (env.XDG_DATA_HOME) dirs.push(path.join(env.XDG_DATA_HOME, "..", "bin"));
  dirs.push(...toolVenvs(fromEnv("UV_TOOL_DIR")), ...toolVenvs(fromEnv("PIPX_HOME").map((h) => path.join(h, "venvs"))));
  if (win) {
    const appData = env.APPDATA || path.join(home, "AppData", "Roaming");
    const local = env.LOCALAPPDATA || path.join(home, "AppData", "Local");
    dirs.push(path.join(home, ".local", "bin"), ...globbed(path.join(appData, "Python"), "Scripts"),
      ...globbed(path.join(local, "Programs", "Python"), "Scripts"),
      ...toolVenvs([path.join(appData, "uv", "data", "tools"), path.join(home, "pipx", "venvs"),
        path.join(local, "pipx", "pipx", "Data", "venvs")]));
  } else {
    const dataHome = env.XDG_DATA_HOME || path.join(home, ".local", "share");
    dirs.push(path.join(home, ".local", "bin"), "/opt/homebrew/bin", "/usr/local/bin", "/opt/local/bin",
      ...globbed(path.join(home, "Library", "Python"), "bin"),
      ...globbed(frameworks, "bin"),
      ...toolVenvs([path.join(dataHome, "uv", "tools"), path.join(home, ".local", "pipx", "venvs"),
        path.join(dataHome, "pipx", "venvs"), path.join(home, "Library", "Application Support", "pipx", "venvs")]),
      path.join(home, ".pyenv", "shims"),
      ...["miniforge3", "miniconda3", "anaconda3"].map((d) => path.join(home, d, "bin")));
  }
  const found = env.NUDGE_COMMAND ? [env.NUDGE_COMMAND] : [];
  for (const dir of dirs) for (const name of names) found.push(path.join(dir, name));
  return found.filter((file, i) => found.indexOf(file) === i);
}

/** A path as Max's [opendialog] gives it -> one Node can open: "Macintosh HD:/Users/me/x" is /Users/me/x on the
 * boot volume, or /Volumes/Macintosh HD/Users/me/x on another; "C:/x" (Windows) and POSIX paths stay */
function fromMaxPath(text, exists = fs.existsSync) {
  const m = /^([^/:]{2,}):(\/.*)$/.exec(String(text));
  if (!m) return String(text);
  const onVolume = path.join("/Volumes", m[1], m[2]);
  return exists(m[2]) || !exists(onVolume) ? m[2] : onVolume;
}

/** The command line of a running process, or null where it cannot be read (Windows, or it is gone) */
function commandLine(pid, platform = process.platform) {
  try {
    if (platform === "linux") return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
    if (platform === "win32") return null;
    return childProcess.execFileSync("ps", ["-o", "command=", "-p", String(pid)], { encoding: "utf8" }).trim() || null;
  } catch (error) {
    return null;
  }
}

function isLoopback(host) {
  return host === "localhost" || host === "::1" || /^127\./.test(host) || /^::ffff:127\./.test(host);
}

/** The first candidate that is an executable file (`chosen`, from Locate nudge..., first), or "" */
function findNudge(options = {}) {
  for (const file of [...(options.chosen ? [options.chosen] : []), ...candidates(options)]) {
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
    extraArgs = [], env = process.env, platform = process.platform, home = os.homedir(),
    startupGraceMs = STARTUP_GRACE_MS } = {}) {
    Object.assign(this, { report, idleExitSeconds, extraArgs, env, platform, home, startupGraceMs });
    this.child = null;
    this.chosen = "";  // Locate nudge...
    this.dir = env.NUDGE_RUN_DIR || os.tmpdir();
    this.target(host, port);
  }

  /** Where the device expects the daemon: the lock and log files are per port */
  target(host, port) {
    this.host = String(host);
    this.port = Number(port);
    this.lockFile = path.join(this.dir, `nudge-serve-${this.port}.json`);  // who started the daemon on this port
    this.logFile = path.join(this.dir, `nudge-serve-${this.port}.log`);
  }

  /** The `nudge` chosen with Locate nudge... (a path as Max gives it), tried before any other */
  command(text) {
    this.chosen = text ? fromMaxPath(text) : "";
  }

  /** Start `nudge serve` unless a daemon runs or something holds its port; reports what it found or did */
  async ensure() {
    if (this.child) return this.report("running", `nudge serve (pid ${this.child.pid}) was started by this Nudge`);
    if (!isLoopback(this.host)) {
      return this.report("external", `The daemon is expected on ${this.host}:${this.port}, another machine: ` +
        "start `nudge serve --host ... --allow-remote` there.");
    }
    const bindHost = this.host === "localhost" ? DAEMON_HOST : this.host;
    const busy = await portBusy(bindHost, this.port);
    const lock = this.readLock();
    if (lock) {
      const why = this.stale(lock, busy);
      if (!why) {
        return this.report("running", `nudge serve (pid ${lock.pid}) was started by Nudge` +
          (busy ? "" : "; waiting for it to answer"));
      }
      this.removeLock(lock.pid);  // stale: start afresh
      this.staleNote = ` (an old lock, pid ${lock.pid}, ${why})`;
    }
    if (busy) {
      return this.report("external", `Something else holds ${this.host}:${this.port} (a daemon started by hand?); ` +
        "Nudge leaves it alone.");
    }
    const command = findNudge({ env: this.env, platform: this.platform, home: this.home, chosen: this.chosen });
    if (!command) {
      const chosen = this.chosen ? `${this.chosen} (chosen with Locate nudge...) cannot run, and ` : "";
      return this.report("missing", `${chosen}The nudge command was not found: install Nudge (pip install nudge), ` +
        "use Locate nudge..., or set NUDGE_COMMAND to its path.");
    }
    return this.start(command);
  }

  /** "" when the lock's daemon is (or may still be becoming) ours, else why the lock is stale */
  stale(lock, portBusy) {
    if (!alive(lock.pid)) return "names a process that is gone";
    const line = commandLine(lock.pid, this.platform);
    if (line !== null && !/\bserve\b/.test(line)) return "names a process that is not nudge serve (its pid was reused)";
    if (portBusy) return "";
    const age = Date.now() - (Number(lock.startedMs) || 0);
    return age < this.startupGraceMs ? "" : `is ${Math.round(age / 1000)} s old and nothing holds the port`;
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
    fs.writeFileSync(this.lockFile, JSON.stringify({ pid: child.pid, command, args, port: this.port,
      startedMs: Date.now() }));
    child.once("exit", (code, signal) => {
      this.child = null;
      this.removeLock(child.pid);
      if (code === 0) this.report("stopped", "nudge serve stopped (no device pinged it for a while).");
      else this.report("failed", `nudge serve ended (${signal || "code " + code}): ${lastLine(this.logFile)}`);
    });
    child.unref();  // Max may close this script; the daemon keeps serving the other instances
    const note = this.staleNote || "";
    this.staleNote = "";
    return this.report("starting", `Started ${command} serve (pid ${child.pid}); log: ${this.logFile}${note}`);
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
    try {
      if (lock && lock.pid === pid) fs.unlinkSync(this.lockFile);
    } catch (error) {
      // another instance removed it first
    }
  }
}

/** Node for Max: the messages of [node.script nudge_launcher.js] */
function bindMax(maxApi) {
  const launcher = new Launcher({ report: (state, text) => maxApi.outlet("daemon", state, text) });
  const announce = () => freePort().then((port) => maxApi.outlet("replyport", port),
    (error) => maxApi.outlet("daemon", "failed", `No free UDP port for replies: ${error.message}`));
  maxApi.addHandler("replyport", announce);
  maxApi.addHandler("target", (host, port) => launcher.target(host, port));
  maxApi.addHandler("command", (...words) => launcher.command(words.join(" ")));
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

module.exports = { candidates, findNudge, freePort, portBusy, Launcher, DAEMON_PORT, fromMaxPath, commandLine,
  isLoopback };
