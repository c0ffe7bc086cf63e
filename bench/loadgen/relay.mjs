// Open-loop relay load over the official socket.io client (bench/README.md, "The load generator").
//
// Usage: node relay.mjs <plan.json>   (written by bench/signaling_relay.py)
//
// plan = {
//   "targets": [{"name", "dialect": "parley" | "node", "ack": false (Parley: no acknowledgements),
//                "cpu_pids": {"label": pid, ...},
//                "pairs": [{"host": {"url", "token"?}, "guest": {"url", "token"?}, "room"}]}],
//   "rates": [msg/s, ...], "seconds": s per step, "rounds": n, "drain_s": s, "clk_tck": 100,
//   "warmup_s": s (0: none)
// }
//
// Every target's pairs connect first (WebSocket only, the client's defaults otherwise) and join
// their room: a Parley pair joins its meeting (`join` with an acknowledgement, then the guest's
// sid is the `to` of every candidate); a Node pair joins `room` (`join`, then `room_created` /
// `room_joined`). Then each target gets a warm-up step at the highest rate for `warmup_s`
// seconds, whose figures are reported apart (`warmup`) and counted nowhere else: the stack is
// still digesting the set-up's joins then (bench/README.md, "The cold first round"). Then, for
// each round, each rate and each target in turn (interleaved), the
// hosts send `rate` candidates per second for `seconds` seconds in total, round-robin over the
// pairs, open loop: message i is due at t0 + i / rate and is sent then, whatever happened to
// the previous ones; its latency is its arrival at the guest minus that due time. A message
// not arrived `drain_s` after the last one was due is lost. Its latency from the send
// (`from_send`: arrival minus the moment `emit` was called) leaves out the load generator's own
// lag behind the due time (its timers fire at most every millisecond), which both kinds of
// target pay alike. CPU per message is the growth of utime + stime (/proc/<pid>/stat) of each
// process in `cpu_pids` over the step, divided by the messages sent. Progress goes to stderr;
// one JSON object is the last line of stdout.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { io } from "socket.io-client";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const CLK_TCK = plan.clk_tck ?? 100;
const log = (...args) => console.error("[loadgen]", ...args);

function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
  } catch {
    return NaN;
  }
}

function once(socket, event, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no ${event} in ${timeoutMs} ms`)), timeoutMs);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${what}: connect_error ${err.message} ${JSON.stringify(err.data ?? null)}`));
    });
  });
}

function connect(end, what) {
  const socket = io(end.url, {
    transports: ["websocket"],
    auth: end.token ? { token: end.token } : undefined,
    reconnection: false,
  });
  return socket;
}

// Current step's bookkeeping, shared by every guest's handler.
let step = null;

function arrived(seq) {
  const now = performance.now();
  if (step === null || !(seq >= step.firstSeq && seq < step.firstSeq + step.total)) return;
  const i = seq - step.firstSeq;
  if (step.latency[i] !== undefined) {
    step.duplicates += 1;
    return;
  }
  step.latency[i] = now - step.due(i);
  step.fromSend[i] = now - step.sentAt[i];
  step.arrived += 1;
  if (step.arrived === step.total && step.onComplete) step.onComplete();
}

function seqOf(candidate) {
  const text = candidate?.candidate;
  if (typeof text !== "string") return NaN;
  return Number(text.slice("candidate:".length, text.indexOf(" ")));
}

function candidate(seq) {
  return { candidate: `candidate:${seq} 1 udp 2122260223 192.0.2.1 ${10000 + (seq % 50000)} typ host`, sdpMid: "0", sdpMLineIndex: 0 };
}

async function setUpPair(target, pair, index) {
  const what = `${target.name} pair ${index}`;
  const host = connect(pair.host);
  const guest = connect(pair.guest);
  if (target.dialect === "parley") {
    const [[hostSession], [guestSession]] = await Promise.all([
      once(host, "session", 30000, `${what} host`),
      once(guest, "session", 30000, `${what} guest`),
    ]);
    for (const [socket, role] of [[host, "host"], [guest, "guest"]]) {
      const ack = await socket.timeout(30000).emitWithAck("join", { meeting_id: pair.room });
      if (!ack?.ok) throw new Error(`${what} ${role}: join refused ${JSON.stringify(ack)}`);
    }
    guest.on("ice-candidate", (payload) => arrived(seqOf(payload?.candidate)));
    const to = guestSession.sid;
    return {
      host, guest, replicas: [hostSession.replica_id, guestSession.replica_id],
      send(seq) {
        const payload = { meeting_id: pair.room, to, candidate: candidate(seq) };
        if (target.ack === false) {
          host.emit("ice-candidate", payload); // no acknowledgement asked: the server sends none
          return;
        }
        host.emit("ice-candidate", payload, (ack) => {
          if (!ack?.ok && step !== null) step.refused.push(ack?.error?.code ?? "no_ack");
        });
      },
    };
  }
  await Promise.all([once(host, "connect", 30000, `${what} host`), once(guest, "connect", 30000, `${what} guest`)]);
  host.emit("join", pair.room);
  await once(host, "room_created", 30000, `${what} host`);
  guest.emit("join", pair.room);
  await once(guest, "room_joined", 30000, `${what} guest`);
  guest.on("webrtc_ice_candidate", (event) => arrived(seqOf(event?.candidate)));
  return {
    host, guest, replicas: [],
    send(seq) {
      host.emit("webrtc_ice_candidate", { roomId: pair.room, candidate: candidate(seq) });
    },
  };
}

// Where a step's slowest 1 % of messages were due: the number of 100-ms windows (of due time)
// that hold them, and the most in one. A tail spread over the step (about one per window) is
// the machine's noise; a few crowded windows are stalls: something held the server for
// several messages in a row (bench/README.md, "Relay: the heartbeat's burst").
function tailWindows(latency, rate) {
  const arrived = latency.map((x, i) => [x, i]).filter(([x]) => x !== undefined).sort((a, b) => b[0] - a[0]);
  const slowest = arrived.slice(0, Math.max(1, Math.floor(arrived.length / 100)));
  const perWindow = new Map();
  for (const [, i] of slowest) {
    const w = Math.floor((i * 1000) / rate / 100);
    perWindow.set(w, (perWindow.get(w) ?? 0) + 1);
  }
  return { windows: perWindow.size, most_in_one: Math.max(0, ...perWindow.values()), of: slowest.length };
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((q / 100) * sorted.length)); // nearest rank
  return Math.round(sorted[rank - 1] * 100) / 100;
}

function figures(latencies) {
  const sorted = Float64Array.from(latencies).sort();
  return {
    p50: percentile(sorted, 50), p99: percentile(sorted, 99),
    max: sorted.length ? Math.round(sorted[sorted.length - 1] * 100) / 100 : null,
  };
}

async function runStep(target, conns, rate, seconds, firstSeq) {
  const total = Math.max(1, Math.round(rate * seconds));
  const t0 = performance.now() + 20;
  const current = {
    firstSeq, total, latency: new Array(total), fromSend: new Array(total), sentAt: new Float64Array(total),
    arrived: 0, duplicates: 0, refused: [], onComplete: null,
    due: (i) => t0 + (i * 1000) / rate,
  };
  const cpuBefore = Object.fromEntries(Object.entries(target.cpu_pids ?? {}).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const selfBefore = process.cpuUsage();
  step = current;
  let next = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && current.due(next) <= now) {
        current.sentAt[next] = performance.now();
        conns[next % conns.length].send(firstSeq + next);
        next += 1;
      }
      if (next < total) setTimeout(tick, Math.max(0, Math.min(1, current.due(next) - performance.now())));
      else resolve();
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
  const sendLag = performance.now() - current.due(total - 1);
  if (current.arrived < total) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, plan.drain_s * 1000);
      current.onComplete = () => { clearTimeout(timer); resolve(); };
    });
  }
  step = null;
  const self = process.cpuUsage(selfBefore);
  const cpuMsPerMessage = {};
  for (const [label, pid] of Object.entries(target.cpu_pids ?? {})) {
    cpuMsPerMessage[label] = Math.round(((cpuSeconds(pid) - cpuBefore[label]) * 1000 / total) * 1000) / 1000;
  }
  const latencies = current.latency.filter((x) => x !== undefined);
  return {
    latencies, fromSend: current.fromSend.filter((x) => x !== undefined), tail: tailWindows(current.latency, rate),
    sent: total, lost: total - current.arrived, duplicates: current.duplicates,
    refused: current.refused, cpuMsPerMessage, sendLagMs: Math.round(sendLag * 10) / 10,
    loadgenCpuMsPerMessage: Math.round(((self.user + self.system) / 1000 / total) * 1000) / 1000,
  };
}

async function main() {
  const connections = {};
  for (const target of plan.targets) {
    const started = performance.now();
    connections[target.name] = [];
    // a few pairs at a time: the join path of every target is exercised, not flooded
    for (let i = 0; i < target.pairs.length; i += 8) {
      const batch = target.pairs.slice(i, i + 8).map((pair, j) => setUpPair(target, pair, i + j));
      connections[target.name].push(...(await Promise.all(batch)));
    }
    const replicas = [...new Set(connections[target.name].flatMap((c) => c.replicas))];
    log(`${target.name}: ${target.pairs.length} pairs ready in ${Math.round(performance.now() - started)} ms`,
      replicas.length ? `(replicas ${replicas.join(", ")})` : "");
  }
  const results = {};
  const warmup = {};
  let seq = 1;
  if (plan.warmup_s > 0) {
    const rate = Math.max(...plan.rates);
    for (const target of plan.targets) {
      const r = await runStep(target, connections[target.name], rate, plan.warmup_s, seq);
      seq += r.sent;
      const f = figures(r.latencies);
      warmup[target.name] = { rate_per_s: rate, seconds: plan.warmup_s, ...f, lost: r.lost };
      log(`warm-up ${target.name}@${rate}/s (not counted): p50 ${f.p50} p99 ${f.p99} max ${f.max} ms, lost ${r.lost}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  for (let round = 1; round <= plan.rounds; round += 1) {
    for (const rate of plan.rates) {
      for (const target of plan.targets) {
        const r = await runStep(target, connections[target.name], rate, plan.seconds, seq);
        seq += r.sent;
        const key = `${target.name}@${rate}`;
        const acc = (results[key] ??= { target: target.name, rate, latencies: [], fromSend: [], sent: 0, lost: 0,
          duplicates: 0, refused: {}, cpu: [], loadgen: [], sendLag: [], rounds: [] });
        acc.latencies.push(...r.latencies);
        acc.fromSend.push(...r.fromSend);
        acc.sent += r.sent; acc.lost += r.lost; acc.duplicates += r.duplicates;
        for (const code of r.refused) acc.refused[code] = (acc.refused[code] ?? 0) + 1;
        acc.cpu.push(r.cpuMsPerMessage); acc.loadgen.push(r.loadgenCpuMsPerMessage); acc.sendLag.push(r.sendLagMs);
        const f = figures(r.latencies);
        const s = figures(r.fromSend);
        acc.rounds.push({ round, ...f, from_send: { p50: s.p50, p99: s.p99 }, lost: r.lost, tail_windows: r.tail });
        log(`round ${round} ${key}/s: p50 ${f.p50} p99 ${f.p99} max ${f.max} ms ` +
          `(from the send: p50 ${s.p50} p99 ${s.p99}), lost ${r.lost}, ` +
          `slowest ${r.tail.of} in ${r.tail.windows} windows of 100 ms (at most ${r.tail.most_in_one} in one), ` +
          `cpu/msg ${JSON.stringify(r.cpuMsPerMessage)} ms, loadgen ${r.loadgenCpuMsPerMessage} ms/msg, send lag ${r.sendLagMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    }
  }
  const steps = Object.values(results).map((acc) => {
    const cpu = {};
    for (const label of Object.keys(acc.cpu[0] ?? {})) {
      cpu[label] = Math.round((acc.cpu.reduce((s, c) => s + c[label], 0) / acc.cpu.length) * 1000) / 1000;
    }
    return {
      target: acc.target, rate_per_s: acc.rate, sent: acc.sent, lost: acc.lost, duplicates: acc.duplicates,
      refused: acc.refused, latency_ms: figures(acc.latencies), from_send_ms: figures(acc.fromSend),
      cpu_ms_per_message: cpu,
      loadgen_cpu_ms_per_message: Math.max(...acc.loadgen), max_send_lag_ms: Math.max(...acc.sendLag),
      rounds: acc.rounds,
    };
  });
  for (const conns of Object.values(connections)) for (const c of conns) { c.host.close(); c.guest.close(); }
  console.log(JSON.stringify({ steps, warmup }));
}

main().catch((err) => {
  console.error("[loadgen] failed:", err?.stack ?? err);
  process.exit(2);
});
