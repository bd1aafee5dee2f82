// The NHub fleet page. Plain browser JavaScript, no build step, no third-party code: it reads the management API's
// /fleet routes with the API key the operator typed in, kept in this tab's sessionStorage.
"use strict";

const Api = "/api/v4/manage";
const KeyName = "nhub.fleet.apiKey";
const RefreshMs = 5000;

const state = { offset: 0, limit: 50, total: 0, timer: null };
const $ = id => document.getElementById(id);

class Unauthorized extends Error {}

async function api(path, key) {
  const response = await fetch(Api + path, { headers: { Authorization: "Bearer " + (key ?? sessionStorage.getItem(KeyName)), Accept: "application/json" } });
  if (response.status === 401) throw new Unauthorized("The API key is not valid.");
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.detail ?? body?.title ?? ("HTTP " + response.status));
  return body;
}

// Rows are built with textContent only: device ids, models and payloads never become markup.
function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  if (className) td.className = className;
  return td;
}

function fill(tableId, rows, columns, emptyText) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = cell(emptyText, "muted");
    td.colSpan = $(tableId).tHead.rows[0].cells.length;
    tr.append(td);
    body.append(tr);
    return;
  }
  for (const row of rows) {
    const tr = document.createElement("tr");
    columns(row, tr);
    body.append(tr);
  }
}

function when(iso) {
  if (!iso) return "never";
  const d = new Date(iso);
  const seconds = Math.round((Date.now() - d.getTime()) / 1000);
  const ago = seconds < 60 ? seconds + " s" : seconds < 3600 ? Math.round(seconds / 60) + " min" : Math.round(seconds / 3600) + " h";
  return d.toLocaleString() + " (" + ago + " ago)";
}

const transportName = t => t === "none" ? "never seen" : t;

function deviceRow(d, tr) {
  tr.dataset.deviceId = d.device_id;
  tr.dataset.online = String(d.online);
  tr.append(cell(d.device_id), cell(d.model), cell(d.online ? "online" : "offline", d.online ? "online" : "offline"),
    cell(transportName(d.transport)), cell(when(d.last_seen)), cell(String(d.pending_commands)), cell(d.firmware_downloading ?? ""));
}

function query() {
  const p = new URLSearchParams();
  const add = (name, value) => { if (value) p.set(name, value); };
  add("status", $("f-status").value);
  add("transport", $("f-transport").value);
  add("prefix", $("f-prefix").value.trim());
  if ($("f-pending").checked) p.set("pending", "true");
  if ($("f-firmware").checked) p.set("firmware", "true");
  add("sort", $("f-sort").value);
  p.set("offset", String(state.offset));
  p.set("limit", String(state.limit));
  return p.toString();
}

async function loadSummary() {
  const s = await api("/fleet/summary");
  $("total-devices").textContent = s.devices;
  $("total-online").textContent = s.online;
  $("total-offline").textContent = s.offline;
  $("total-pending").textContent = s.pending_commands;
  $("total-pending-devices").textContent = "on " + s.devices_with_pending_commands + (s.devices_with_pending_commands === 1 ? " device" : " devices");
  $("total-firmware").textContent = s.firmware_downloads;
  $("total-gateways").textContent = s.gateways.up + " / " + s.gateways.down;
  $("total-sessions").textContent = s.gateways.dtls_sessions + " DTLS sessions, " + s.gateways.observe_relations + " Observe relations";
  fill("transports", s.by_transport, (t, tr) => {
    tr.dataset.transport = t.transport;
    tr.append(cell(transportName(t.transport)), cell(String(t.devices)), cell(String(t.online)));
  }, "no devices");
}

async function loadDevices() {
  const page = await api("/fleet/devices?" + query());
  state.total = page.total;
  fill("devices", page.items, deviceRow, "no device matches");
  const first = page.items.length === 0 ? 0 : page.offset + 1;
  $("page-info").textContent = first + "–" + (page.offset + page.items.length) + " of " + page.total;
  $("prev").disabled = page.offset === 0;
  $("next").disabled = page.offset + page.items.length >= page.total;
}

async function loadRecent() {
  const recent = await api("/fleet/recent?limit=10");
  fill("recent", recent.items, (r, tr) => {
    tr.dataset.deviceId = r.device.device_id;
    const t = r.last_telemetry;
    const payload = t == null ? "" : t.payload != null ? JSON.stringify(t.payload) : (t.content_type + ", " + (t.payload_base64 ?? "").length + " base64 characters");
    tr.append(cell(r.device.device_id), cell(transportName(r.device.transport)), cell(when(r.device.last_seen)), cell(payload, "payload"));
  }, "no device has been seen");
}

async function loadGateways() {
  const list = await api("/fleet/gateways");
  fill("gateways", list.items, (g, tr) => {
    tr.dataset.gatewayId = g.gateway_id;
    tr.append(cell(g.host), cell(g.gateway_id), cell(g.up ? "up" : "down", g.up ? "online" : "down"), cell(String(g.dtls_sessions)),
      cell(String(g.dtls_connection_id_sessions)), cell(String(g.observe_relations)), cell(g.endpoints.join(", ")), cell(when(g.last_report_at)));
  }, "no gateway has reported");
}

async function loadFirmware() {
  const page = await api("/fleet/firmware?limit=20");
  fill("firmware", page.items, (f, tr) => {
    tr.dataset.deviceId = f.device.device_id;
    const p = f.progress;
    tr.append(cell(f.device.device_id), cell(f.device.firmware_downloading),
      cell(p ? p.percent + " % (" + p.bytes_served + " of " + p.total_bytes + " bytes)" : ""), cell(p ? when(p.last_block_at) : ""));
  }, "no download in progress");
}

async function refresh() {
  try {
    await Promise.all([loadSummary(), loadDevices(), loadRecent(), loadGateways(), loadFirmware()]);
    $("error").textContent = "";
    $("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    if (e instanceof Unauthorized) { logout(e.message); return; }
    $("error").textContent = "Could not load the fleet: " + e.message;
  }
}

function showFleet() {
  $("login").hidden = true;
  $("fleet").hidden = false;
  $("logout").hidden = false;
  $("refresh").hidden = false;
  refresh();
  clearInterval(state.timer);
  state.timer = setInterval(refresh, RefreshMs);
}

function logout(message) {
  sessionStorage.removeItem(KeyName);
  clearInterval(state.timer);
  $("fleet").hidden = true;
  $("logout").hidden = true;
  $("refresh").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message ?? "";
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", async event => {
    event.preventDefault();
    const key = $("api-key").value.trim();
    try {
      await api("/fleet/summary", key);
      sessionStorage.setItem(KeyName, key);
      $("api-key").value = "";
      $("login-error").textContent = "";
      showFleet();
    } catch (e) {
      $("login-error").textContent = e.message;
    }
  });
  $("logout").addEventListener("click", () => logout());
  $("refresh").addEventListener("click", refresh);
  for (const id of ["f-status", "f-transport", "f-pending", "f-firmware", "f-sort", "f-limit"]) {
    $(id).addEventListener("change", () => { state.offset = 0; state.limit = Number($("f-limit").value); loadDevices().catch(e => $("error").textContent = e.message); });
  }
  $("f-prefix").addEventListener("input", () => { state.offset = 0; loadDevices().catch(e => $("error").textContent = e.message); });
  $("filters").addEventListener("submit", event => event.preventDefault());
  $("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.limit); loadDevices(); });
  $("next").addEventListener("click", () => { state.offset += state.limit; loadDevices(); });
  if (sessionStorage.getItem(KeyName)) showFleet();
});
