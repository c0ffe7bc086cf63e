// The benchmarks' peer: a plain Node socket.io relay with the event shape of
// borjanebbal/webrtc-node-app (bench/README.md says how it differs from that app).
//
// Events (as in that app): `join` (roomId) -> `room_created` | `room_joined` | `full_room` (two
// sockets per room); `start_call`, `webrtc_offer`, `webrtc_answer` and `webrtc_ice_candidate`
// go to every other socket of the room, without acknowledgement. One line per event on stdout,
// as that app logs.
//
// Run: node server.mjs --port 25900 [--host 127.0.0.1]

import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";

const { values } = parseArgs({
  options: { port: { type: "string", default: "3000" }, host: { type: "string", default: "127.0.0.1" } },
});

const httpServer = createServer();
const io = new Server(httpServer); // socket.io's defaults: no permessage-deflate, pings every 25 s

io.on("connection", (socket) => {
  socket.on("join", (roomId) => {
    const room = io.sockets.adapter.rooms.get(roomId);
    const size = room ? room.size : 0;
    if (size >= 2) {
      console.log(`room ${roomId} is full`);
      socket.emit("full_room", roomId);
      return;
    }
    socket.join(roomId);
    console.log(`${size === 0 ? "created" : "joined"} room ${roomId}`);
    socket.emit(size === 0 ? "room_created" : "room_joined", roomId);
  });
  socket.on("start_call", (roomId) => {
    console.log(`start_call to room ${roomId}`);
    socket.to(roomId).emit("start_call");
  });
  for (const name of ["webrtc_offer", "webrtc_answer"]) {
    socket.on(name, (event) => {
      console.log(`${name} to room ${event?.roomId}`);
      socket.to(event?.roomId).emit(name, event?.sdp);
    });
  }
  socket.on("webrtc_ice_candidate", (event) => {
    console.log(`webrtc_ice_candidate to room ${event?.roomId}`);
    socket.to(event?.roomId).emit("webrtc_ice_candidate", event);
  });
});

httpServer.listen(Number(values.port), values.host, () => {
  console.log(`node relay listening on ${values.host}:${values.port}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    io.close();
    process.exit(0);
  });
}
