// The npm socket.io-client at its defaults (long polling first, then the WebSocket upgrade), as
// a third-party dashboard would connect: `node listen.js URL TOKEN [LOCAL_ADDRESS]`. Prints one
// JSON line per happening: open (with its first transport), upgrade, connect, connect_error, disconnect and every server event.
// LOCAL_ADDRESS only changes the source address (another loopback address: another client).
const http = require("http");
const https = require("https");
const { io } = require("socket.io-client");

const [url, token, localAddress] = process.argv.slice(2);
const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const options = { auth: { token }, reconnection: false };
// an https:// URL's certificate is trusted through NODE_EXTRA_CA_CERTS (the test's own)
const agents = url.startsWith("https:") ? https : http;
if (localAddress) options.agent = new agents.Agent({ localAddress });

const socket = io(url, options);
socket.io.on("open", () => {
  print({ event: "open", transport: socket.io.engine.transport.name });
  socket.io.engine.on("upgrade", (transport) => print({ event: "upgrade", transport: transport.name }));
});
socket.on("connect", () => print({ event: "connect" }));
socket.on("connect_error", (error) => print({ event: "connect_error", message: String(error.message) }));
socket.on("disconnect", (reason) => print({ event: "disconnect", reason }));
socket.onAny((event, data) => print({ event, data }));
process.on("SIGTERM", () => { socket.close(); process.exit(0); });
