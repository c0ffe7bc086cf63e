// A fake of what bench/loadgen/chat.mjs talks to, for tests/bench/test_chat_loadgen.py: chat's
// REST API and one signaling replica (socket.io 4.8.3 of the Node peer, bench/peers/node-relay)
// on one port. Usage: node fake_parley.mjs <port>; prints "listening" once it listens.
//
// Sockets: `auth.token` must be "host-token" or "guest-token" (else connect_error
// `unauthorized`, as signaling answers); `session`, then `join` with an ack joins the room.
// REST: GET .../messages answers 200 and sets a cookie as Traefik's sticky one; a POST without
// that cookie answers 400; POST .../messages {"message_id", "text"} answers 201 with
// the next `seq` and emits the message as `chat-message` to the room, except by the index i
// at the end of its message_id: i = 1 is answered 400 ms late, i = 3 is emitted twice, i = 5
// is held back and emitted right after the next message emitted (i = 6: one delivery whose seq
// goes down), i = 8 is never emitted (lost) and i = 9 is refused with 503 (a failed post,
// neither stored nor emitted).

import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../bench/peers/node-relay/package.json", import.meta.url));
const { Server } = require("socket.io");

const port = Number(process.argv[2]);
let seq = 0;
let held = null;

const server = http.createServer((req, res) => {
  const match = /^\/api\/chat\/meetings\/([^/?]+)\/messages/.exec(req.url);
  if (!match || req.headers.authorization !== "Bearer host-token") {
    res.writeHead(match ? 401 : 404).end();
    return;
  }
  const room = decodeURIComponent(match[1]);
  if (req.method === "GET") {
    res.writeHead(200, { "content-type": "application/json", "set-cookie": "parley_chat_replica=fake-1; Path=/api/chat; HttpOnly" })
      .end(JSON.stringify({ messages: [], next_cursor: null }));
    return;
  }
  if (!(req.headers.cookie ?? "").split("; ").includes("parley_chat_replica=fake-1")) {
    res.writeHead(400, { "content-type": "application/json" }).end('{"detail": "no sticky cookie"}');
    return;
  }
  let body = "";
  req.on("data", (chunk) => { body += chunk; });
  req.on("end", () => {
    const { message_id: messageId, text } = JSON.parse(body);
    const i = Number(messageId.slice(messageId.lastIndexOf("-") + 1));
    if (i === 9) {
      res.writeHead(503, { "content-type": "application/json" }).end('{"detail": "unavailable"}');
      return;
    }
    seq += 1;
    const message = { message_id: messageId, meeting_id: room, sender_id: "host", sender_name: "Host", text,
      posted_at: new Date().toISOString(), seq };
    const answer = () => res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify(message));
    if (i === 1) setTimeout(answer, 400);
    else answer();
    if (i === 5) { held = message; return; }
    if (i === 8) return;
    io.to(room).emit("chat-message", message);
    if (i === 3) io.to(room).emit("chat-message", message);
    if (held) { io.to(room).emit("chat-message", held); held = null; }
  });
});

const io = new Server(server);
io.use((socket, next) => {
  const token = socket.handshake.auth?.token;
  if (token === "host-token" || token === "guest-token") return next();
  const err = new Error("unauthorized");
  err.data = { code: "unauthorized", message: "the access token is not valid" };
  return next(err);
});
io.on("connection", (socket) => {
  socket.emit("session", { protocol_version: 1, sid: socket.id, replica_id: "fake-1", user_id: socket.handshake.auth.token });
  socket.on("join", (payload, ack) => {
    socket.join(payload.meeting_id);
    ack({ ok: true, data: { meeting_id: payload.meeting_id, peers: [], replica_id: "fake-1" } });
  });
});

server.listen(port, "127.0.0.1", () => console.log("listening"));
process.on("SIGTERM", () => process.exit(0));
