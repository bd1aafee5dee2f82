// POST JSON telemetry with npm coap 1.5.0: node npm-coap-post.js <host> <port> <device_id> <json>
const coap = require('coap');
const [host, port, deviceId, json] = process.argv.slice(2);
const req = coap.request({ hostname: host, port: Number(port), method: 'POST', pathname: '/telemetry', query: 'id=' + deviceId, confirmable: true });
req.setOption('Content-Format', 'application/json');
req.on('response', (res) => { console.log('code=' + res.code); process.exit(res.code === '2.01' ? 0 : 1); });
req.on('error', (err) => { console.error(err); process.exit(2); });
req.on('timeout', () => { console.error('timeout'); process.exit(3); });
req.write(json);
req.end();
