// One CoAP POST over DTLS PSK with node-coap-client 2.1.0 (node-dtls-client underneath).
// Usage: node node-coap-dtls-psk.js PORT IDENTITY KEY PAYLOAD. Prints "RESPONSE <code> <payload>" or "ERROR ...".
const { CoapClient } = require("node-coap-client");
const [port, identity, key, payload] = process.argv.slice(2);
const guard = setTimeout(() => { console.log("ERROR timeout"); process.exit(3); }, 20000);
CoapClient.setSecurityParams("127.0.0.1", { psk: { [identity]: key } });
CoapClient.request(`coaps://127.0.0.1:${port}/test`, "post", Buffer.from(payload))
  .then((response) => {
    console.log(`RESPONSE ${response.code} ${response.payload ? response.payload.toString() : ""}`);
    clearTimeout(guard);
    CoapClient.reset();
    process.exit(0);
  })
  .catch((error) => {
    console.log(`ERROR ${error && error.message ? error.message : error}`);
    clearTimeout(guard);
    CoapClient.reset();
    process.exit(2);
  });
