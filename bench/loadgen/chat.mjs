// Open-loop chat posts and live delivery (bench/README.md, "The load generator"; bench/chat.py).
//
// Usage: node chat.mjs <plan.json>   (written by bench/chat.py)
//
// plan = {
//   "base_url": Traefik's URL, "token": the poster's (host's) access token, "meeting_id",
//   "rate": posts/s, "duration_s": s of posting, "drain_s": s, "run": message id tag,
//   "watch": {"url": the guest's signaling replica, "token"},   // counted: chat-message
//   "hold": [{"url", "token"}, ...]?   // other sockets joined to the room, not counted
// }
//
// The watching socket (and every `hold` socket) connects straight to its replica over
// WebSocket only (the client's defaults otherwise), waits for `session` and joins the meeting
// (`join` with an acknowledgement that must be ok, docs/signaling.md). Then message i
// (message_id `bench-<run>-<i, 6 digits>`) is due at t0 + i / rate and is posted then,
// whatever happened to the earlier ones: `POST {base_url}/api/chat/meetings/{meeting_id}/messages`
// with `{"message_id", "text"}` and the bearer token, over node:http with a keep-alive agent
// (no limit on connections; a post not answered in 30 s fails), keeping the cookies answers set
// as a browser would (Traefik's sticky chat cookie). Node's fetch (undici) was the
// first choice but costs 2-2.5 times node:http's CPU per post here (bench/README.md). One
// history read (limit 1) before the clock starts opens the first connection. A post's latency
// runs from its due time to the 201's body; its live latency from its due time to the watching
// socket's `chat-message` of that message_id. After the last post is answered, a message not
// arrived within `drain_s` is not waited for.
//
// The last line of stdout is one JSON object: {"replicas": {"watch", "hold": [...]},
// "messages", "posts": [[post_ms, seq] | null per message], "failures": ["i: why", ...],
// "arrivals": [[i, seq, live_ms] in arrival order, repeats included], "disconnects",
// "loadgen_cpu_ms_per_message" (this process's user + system CPU from the first due time to
// the end of the drain, over the messages), "max_send_lag_ms" (the latest a post left after
// its due time)}. Progress and errors go to stderr; exit 2 when the set-up failed.

import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { performance } from "node:perf_hooks";
import { io } from "socket.io-client";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const log = (...args) => console.error("[loadgen]", ...args);
const round2 = (x) => Math.round(x * 100) / 100;

function joined(end, meetingId, what) {
  const socket = io(end.url, {
    transports: ["websocket"],
    auth: { token: end.token },
    reconnection: false,
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no session in 30 s`)), 30000);
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${what}: connect_error ${err.message} ${JSON.stringify(err.data ?? null)}`));
    });
    socket.once("session", async (session) => {
      clearTimeout(timer);
      try {
        const ack = await socket.timeout(30000).emitWithAck("join", { meeting_id: meetingId });
        if (!ack?.ok) throw new Error(`join refused ${JSON.stringify(ack)}`);
        resolve({ socket, replica: session?.replica_id });
      } catch (err) {
        reject(new Error(`${what}: ${err.message}`));
      }
    });
  });
}

async function main() {
  const total = Math.max(1, Math.round(plan.rate * plan.duration_s));
  const prefix = `bench-${plan.run}-`;
  const watch = await joined(plan.watch, plan.meeting_id, "watching socket");
  const hold = await Promise.all((plan.hold ?? []).map((end, i) => joined(end, plan.meeting_id, `hold socket ${i}`)));
  for (const h of hold) h.socket.on("chat-message", () => {}); // a client of the room, like the host's tab
  log(`watching on ${watch.replica}` + (hold.length ? `, holding ${hold.map((h) => h.replica).join(", ")}` : ""));

  let t0 = Infinity; // set when the posting starts
  const due = (i) => t0 + (i * 1000) / plan.rate;
  const posts = new Array(total).fill(null);
  const failures = [];
  const arrivals = [];
  const firstArrived = new Set();
  let disconnects = 0;
  let acked = 0;
  let onDelivered = null;

  watch.socket.on("chat-message", (message) => {
    const now = performance.now();
    const id = message?.message_id;
    if (typeof id !== "string" || !id.startsWith(prefix)) return;
    const i = Number(id.slice(prefix.length));
    if (!(Number.isInteger(i) && i >= 0 && i < total)) return;
    arrivals.push([i, message.seq ?? 0, round2(now - due(i))]);
    firstArrived.add(i);
    if (onDelivered) onDelivered();
  });
  watch.socket.on("disconnect", (reason) => {
    disconnects += 1;
    log(`watching socket disconnected: ${reason}`);
  });

  const url = new URL(`/api/chat/meetings/${encodeURIComponent(plan.meeting_id)}/messages`, plan.base_url);
  const client = url.protocol === "https:" ? https : http;
  const agent = new client.Agent({ keepAlive: true }); // connections reused, no limit on their number
  const headers = { authorization: `Bearer ${plan.token}`, "content-type": "application/json" };
  const cookies = new Map(); // a browser's cookie jar, for Traefik's sticky chat cookie
  const request = (method, target, body) => new Promise((resolve, reject) => {
    const cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    const req = client.request(target, { method, agent, headers: cookie ? { ...headers, cookie } : headers }, (res) => {
      for (const line of res.headers["set-cookie"] ?? []) {
        const [pair] = line.split(";");
        const at = pair.indexOf("=");
        if (at > 0) cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
      }
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => { text += chunk; });
      res.on("end", () => resolve([res.statusCode, text]));
      res.on("error", reject);
    });
    req.setTimeout(30000, () => req.destroy(new Error("no answer in 30 s")));
    req.on("error", reject);
    req.end(body);
  });
  async function post(i) {
    try {
      const [status, body] = await request("POST", url, JSON.stringify({ message_id: prefix + String(i).padStart(6, "0"), text: `bench message ${i}` }));
      if (status !== 201) {
        failures.push(`${i}: ${status} ${body.slice(0, 200)}`);
        return;
      }
      posts[i] = [round2(performance.now() - due(i)), JSON.parse(body).seq];
      acked += 1;
    } catch (err) {
      failures.push(`${i}: ${err.name} ${err.code ?? ""} ${err.message}`);
    }
  }
  // one history read before the clock starts: the first connection and the code's warm-up are not the load's
  const [warmStatus, warmBody] = await request("GET", new URL(`${url.pathname}?limit=1`, url));
  if (warmStatus !== 200) throw new Error(`history read before posting answered ${warmStatus} ${warmBody.slice(0, 200)}`);

  const cpuBefore = process.cpuUsage();
  t0 = performance.now() + 50;
  const pending = [];
  let maxLag = 0;
  let next = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && due(next) <= now) {
        maxLag = Math.max(maxLag, now - due(next));
        pending.push(post(next));
        next += 1;
      }
      if (next < total) setTimeout(tick, Math.max(0, due(next) - performance.now()));
      else resolve();
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
  log(`${total} posts sent (worst send lag ${round2(maxLag)} ms); waiting for their answers`);
  await Promise.all(pending);
  log(`${acked} acknowledged, ${failures.length} failed, ${firstArrived.size} delivered so far; draining`);
  if (firstArrived.size < acked) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, plan.drain_s * 1000);
      onDelivered = () => {
        if (firstArrived.size >= acked) { clearTimeout(timer); resolve(); }
      };
    });
  }
  const cpu = process.cpuUsage(cpuBefore);
  const result = {
    replicas: { watch: watch.replica, hold: hold.map((h) => h.replica) },
    messages: total, posts, failures, arrivals, disconnects,
    loadgen_cpu_ms_per_message: Math.round(((cpu.user + cpu.system) / 1000 / total) * 1000) / 1000,
    max_send_lag_ms: round2(maxLag),
  };
  watch.socket.off("disconnect");
  watch.socket.close();
  for (const h of hold) h.socket.close();
  // exit once the line is written: stdout to a pipe is asynchronous, and exiting at once cut
  // a longer result short (a 12,000-message result at 128 KiB)
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch((err) => {
  console.error("[loadgen] failed:", err?.stack ?? err);
  process.exit(2);
});
