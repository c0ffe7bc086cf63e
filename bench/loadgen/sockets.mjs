// Idle sockets per process (bench/README.md): open N sockets at a constant rate, join each to
// a room, hold them, close them; report RSS per socket and connect+join latency.
//
// Usage: node sockets.mjs <plan.json>   (written by bench/sockets.py)
//
// plan = {
//   "targets": [{"name", "dialect": "parley" | "node", "url", "pid", "rooms": [..],
//                "members": [[member tokens, host first] per room]?}],
//   "sockets": n, "rate": new sockets per second, "settle_s": s, "after_close_s": s, "clk_tck": 100
// }
//
// For each target in turn: socket i is due at t0 + i / rate; it connects over WebSocket (the
// client's defaults otherwise) and joins rooms[i % rooms.length] (Parley: with the token of
// that room's next member, so each socket of a room is another participant, after `session`,
// `join` with an acknowledgement that must be ok; Node: `join`, then `room_created` or
// `room_joined`). Its connect+join time runs from its due time to the join's answer; for
// Parley it is also split (`phases_ms`) into start_lag (due time to the generator's start of
// the socket), session (to Parley's `session` event) and join (to the join's answer). After
// every socket is in (or failed), `settle_s` seconds later, the server's RSS is read; every
// socket is then closed and the RSS read again `after_close_s` seconds later.
// Progress goes to stderr; one JSON object is the last line of stdout.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { io } from "socket.io-client";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const CLK_TCK = plan.clk_tck ?? 100;
const log = (...args) => console.error("[loadgen]", ...args);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// null once the process is gone: a signaling replica that a burst of sockets left holding
// memory starts afresh after they close (docs/signaling.md, "Memory after a burst").
function rssKiB(pid) {
  let status;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch (error) {
    if (error.code === "ENOENT") return null;
    throw error;
  }
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  return Math.round(sorted[Math.max(1, Math.ceil((q / 100) * sorted.length)) - 1]);
}

function summary(values) {
  const sorted = Float64Array.from(values).sort();
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: percentile(sorted, 100) };
}

function memberToken(target, i) {
  const members = target.members[i % target.rooms.length];
  return members[Math.floor(i / target.rooms.length) % members.length];
}

function open(target, i) {
  return new Promise((resolve) => {
    const opened = performance.now();
    const socket = io(target.url, {
      transports: ["websocket"],
      auth: target.members ? { token: memberToken(target, i) } : undefined,
      reconnection: false,
      timeout: 60000,
    });
    const room = target.rooms[i % target.rooms.length];
    const fail = (why) => resolve({ socket, error: why });
    const timer = setTimeout(() => fail("no join answer in 60 s"), 60000);
    const done = (result) => { clearTimeout(timer); resolve(result); };
    socket.once("connect_error", (err) => done({ socket, error: `connect_error ${err.message}` }));
    if (target.dialect === "parley") {
      socket.once("session", async () => {
        const session = performance.now();
        try {
          const ack = await socket.timeout(60000).emitWithAck("join", { meeting_id: room });
          const phases = { session: session - opened, join: performance.now() - session };
          done(ack?.ok ? { socket, phases } : { socket, error: `join ${ack?.error?.code}` });
        } catch (err) {
          done({ socket, error: `join: ${err.message}` });
        }
      });
    } else {
      socket.once("connect", () => socket.emit("join", room));
      socket.once("room_created", () => done({ socket }));
      socket.once("room_joined", () => done({ socket }));
      socket.once("full_room", () => done({ socket, error: "full_room" }));
    }
    socket.once("disconnect", (reason) => done({ socket, error: `disconnect ${reason}` }));
  });
}

async function runTarget(target) {
  const rssBefore = rssKiB(target.pid);
  const cpuBefore = cpuSeconds(target.pid);
  const t0 = performance.now() + 50;
  const latencies = [];
  const phases = { start_lag: [], session: [], join: [] }; // parley's: where connect+join went
  const errors = {};
  const sockets = [];
  const pending = [];
  let lateStarts = 0;
  for (let i = 0; i < plan.sockets; i += 1) {
    const due = t0 + (i * 1000) / plan.rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    else if (wait < -50) lateStarts += 1;
    const startLag = performance.now() - due;
    pending.push(open(target, i).then(({ socket, error, phases: took }) => {
      sockets.push(socket);
      if (error) errors[error] = (errors[error] ?? 0) + 1;
      else latencies.push(performance.now() - due);
      if (took) {
        phases.start_lag.push(startLag);
        phases.session.push(took.session);
        phases.join.push(took.join);
      }
    }));
    if ((i + 1) % 1000 === 0) log(`${target.name}: ${i + 1} sockets started, rss ${rssKiB(target.pid)} KiB`);
  }
  await Promise.all(pending);
  const cpuMs = (cpuSeconds(target.pid) - cpuBefore) * 1000;
  await sleep(plan.settle_s * 1000);
  const rssHeld = rssKiB(target.pid);
  const connected = sockets.filter((s) => s.connected).length;
  for (const socket of sockets) socket.close();
  await sleep(plan.after_close_s * 1000);
  const rssAfterClose = rssKiB(target.pid);
  const failed = Object.values(errors).reduce((a, b) => a + b, 0);
  const result = {
    target: target.name, sockets: plan.sockets, rate_per_s: plan.rate, joined: latencies.length, failed,
    errors, still_connected_at_end: connected, late_starts: lateStarts,
    connect_join_ms: summary(latencies),
    cpu_ms_per_socket: Math.round((cpuMs / plan.sockets) * 100) / 100,
    rss_kib: { before: rssBefore, held: rssHeld, after_close: rssAfterClose },
    rss_kib_per_socket: Math.round(((rssHeld - rssBefore) / plan.sockets) * 10) / 10,
  };
  if (phases.join.length > 0) {
    // connect+join = start_lag (this generator late, from the schedule) + session (WebSocket,
    // Engine.IO open, socket.io CONNECT, until Parley's `session` event) + join (to its ack)
    result.phases_ms = Object.fromEntries(Object.entries(phases).map(([name, values]) => [name, summary(values)]));
  }
  log(JSON.stringify(result));
  return result;
}

async function main() {
  const targets = [];
  for (const target of plan.targets) targets.push(await runTarget(target));
  // exit once the line is written: stdout to a pipe is asynchronous, and exiting at once cut
  // a longer result short (a 12,000-message result at 128 KiB)
  process.stdout.write(`${JSON.stringify({ targets })}\n`, () => process.exit(0));
}

main().catch((err) => {
  console.error("[loadgen] failed:", err?.stack ?? err);
  process.exit(2);
});
