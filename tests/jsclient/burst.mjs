// A Parley signaling client written only from docs/signaling.md, on the official socket.io
// JavaScript client (socket.io-client from npm), run by Node.
//
//   node burst.mjs '{"url": "http://127.0.0.1:28000", "token": "<access token>",
//                    "meeting_id": "<id>", "transports": ["polling"], "burst": 100}'
//
// It connects with auth {token}, waits for `session`, joins the meeting, then sends `burst`
// `media-state` events at once, each with an acknowledgement callback, and counts the answers.
// Optional: "with_credentials" (true: the client keeps cookies, as a browser does; Node's client
// keeps none by default), "origin" (an Origin header, as a browser sends), "timeout_ms" (per
// acknowledgement, default 10000), "settle_ms" (pause between the join and the burst, default
// 100: the rate limit's bucket refills what the join took).
// It prints one JSON object on its last line and exits 0 (the caller judges the result).

import { io } from "socket.io-client";

const opts = JSON.parse(process.argv[2] ?? "{}");
const timeoutMs = opts.timeout_ms ?? 10_000;
const result = {
  transports: opts.transports ?? null,
  connected: false,
  connect_error: null,
  session: null,
  join: null,
  transport_at_burst: null,
  acks: 0,
  ok: 0,
  errors: {},
  timeouts: 0,
  burst_ms: null,
  cookies_sent: opts.with_credentials === true,
};

function finish(socket) {
  console.log(JSON.stringify(result));
  // Disconnect cleanly and let Node exit once the client has sent its last requests (over
  // long-polling, the close is one more POST); at most 3 s later in any case.
  if (socket) socket.disconnect();
  setTimeout(() => process.exit(0), 3_000).unref();
}

const extraHeaders = opts.origin ? { Origin: opts.origin } : undefined;
const socket = io(opts.url, {
  path: "/socket.io",
  transports: opts.transports ?? ["polling", "websocket"],
  auth: { token: opts.token },
  reconnection: false,
  timeout: timeoutMs,
  withCredentials: opts.with_credentials === true,
  extraHeaders,
});

const hardStop = setTimeout(() => {
  result.connect_error = result.connect_error ?? { message: "gave up after 60 s" };
  finish(socket);
}, 60_000);

socket.on("connect_error", (err) => {
  result.connect_error = { message: err.message, data: err.data ?? null, description: String(err.description ?? "") };
  clearTimeout(hardStop);
  finish(socket);
});

socket.on("session", async (session) => {
  result.connected = true;
  result.session = session;
  try {
    const join = await socket.timeout(timeoutMs).emitWithAck("join", { meeting_id: opts.meeting_id });
    result.join = join;
    if (!join.ok) return finish(socket);
    await new Promise((resolve) => setTimeout(resolve, opts.settle_ms ?? 100));
    result.transport_at_burst = socket.io.engine.transport.name;
    const started = Date.now();
    const answers = [];
    for (let i = 0; i < (opts.burst ?? 100); i++) {
      const payload = { meeting_id: opts.meeting_id, audio: i % 2 === 0, video: true, screen: false };
      answers.push(
        new Promise((resolve) => {
          socket.timeout(timeoutMs).emit("media-state", payload, (err, ack) => {
            if (err) {
              result.timeouts += 1;
            } else {
              result.acks += 1;
              if (ack && ack.ok === true) result.ok += 1;
              else {
                const code = ack?.error?.code ?? "malformed";
                result.errors[code] = (result.errors[code] ?? 0) + 1;
              }
            }
            resolve();
          });
        }),
      );
    }
    await Promise.all(answers);
    result.burst_ms = Date.now() - started;
  } catch (err) {
    result.join = result.join ?? { error: String(err) };
  }
  clearTimeout(hardStop);
  finish(socket);
});
