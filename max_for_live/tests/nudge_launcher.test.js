// node --test: where the launcher (src/nudge_launcher.js, Node for Max) looks for `nudge` when Live, started from
// the Dock or the Start menu, does not have the shell's PATH (issue 23), and the paths Max's dialog gives.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { candidates, findNudge, fromMaxPath, isLoopback } = require("../src/nudge_launcher.js");

test("macOS: the python.org framework, the user site's bin, pipx and uv tool paths, after the PATH", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "nudge-cand-"));
  const frameworks = path.join(root, "Frameworks");
  for (const v of ["3.11", "3.12"]) fs.mkdirSync(path.join(frameworks, v, "bin"), { recursive: true });
  const home = path.join(root, "home");
  const found = candidates({ env: { PATH: "/usr/bin" }, platform: "darwin", home, frameworks });
  assert.equal(found[0], "/usr/bin/nudge", "the PATH first");
  for (const want of [
    path.join(frameworks, "3.12", "bin", "nudge"),  // newest Python first
    path.join(frameworks, "3.11", "bin", "nudge"),
    path.join(home, ".local", "bin", "nudge"),  // pip --user on Linux, pipx's and uv's links
    path.join(home, ".local", "share", "uv", "tools", "nudge", "bin", "nudge"),
    path.join(home, ".local", "pipx", "venvs", "nudge", "bin", "nudge"),
    path.join(home, "Library", "Application Support", "pipx", "venvs", "nudge", "bin", "nudge"),
    "/opt/homebrew/bin/nudge",
  ]) assert.ok(found.includes(want), want);
  assert.ok(found.indexOf(path.join(frameworks, "3.12", "bin", "nudge")) <
    found.indexOf(path.join(frameworks, "3.11", "bin", "nudge")));
  assert.equal(new Set(found).size, found.length, "each place once");
});

test("the pipx and uv variables, and Windows' places", () => {
  const env = { PATH: "", PIPX_BIN_DIR: "/p/bin", UV_TOOL_BIN_DIR: "/u/bin", XDG_BIN_HOME: "/x/bin",
    UV_TOOL_DIR: "/u/tools", PIPX_HOME: "/p/home" };
  const found = candidates({ env, platform: "linux", home: "/home/me" });
  for (const want of ["/p/bin/nudge", "/u/bin/nudge", "/x/bin/nudge", "/u/tools/nudge/bin/nudge",
    "/p/home/venvs/nudge/bin/nudge"]) assert.ok(found.includes(want), want);
  const win = candidates({ env: { Path: "", APPDATA: "C:\\Users\\me\\AppData\\Roaming" }, platform: "win32",
    home: "C:\\Users\\me" });
  assert.ok(win.some((f) => /uv.data.tools.nudge.Scripts.nudge\.exe$/.test(f)), "uv tool on Windows");
  assert.ok(win.every((f) => f.endsWith("nudge.exe")));
});

test("the file chosen with Locate nudge... is tried first; a Max path is made one Node can open", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "nudge-find-"));
  const chosen = path.join(root, "nudge");
  fs.writeFileSync(chosen, "#!/bin/sh\n");
  fs.chmodSync(chosen, 0o755);
  assert.equal(findNudge({ env: { PATH: "" }, platform: "linux", home: root, chosen }), chosen);
  assert.equal(fromMaxPath(`Macintosh HD:${chosen}`), chosen, "the boot volume");
  assert.equal(fromMaxPath("Studio SSD:/bin/x", (p) => p.startsWith("/Volumes")), "/Volumes/Studio SSD/bin/x");
  assert.equal(fromMaxPath("C:/Users/me/nudge.exe"), "C:/Users/me/nudge.exe", "a Windows drive stays");
  assert.ok(isLoopback("127.0.0.1") && isLoopback("::1") && isLoopback("localhost") && !isLoopback("10.0.0.2"));
});
