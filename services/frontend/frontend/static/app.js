// Ticketing web page: plain JS, no build step. All text goes through textContent (no HTML injection).
"use strict";

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const eventNames = new Map();

function newKey() {
  if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function say(el, text, cls) {
  el.textContent = text;
  el.className = "message" + (cls ? " " + cls : "");
}

function errorText(body, status) {
  if (body && typeof body === "object" && body.error) {
    return body.field ? `${body.error} (${body.field})` : body.error;
  }
  return `HTTP ${status}`;
}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  let body = null;
  if ((response.headers.get("Content-Type") || "").includes("json")) {
    try { body = await response.json(); } catch (_) { body = null; }
  }
  return { ok: response.ok, status: response.status, body, headers: response.headers };
}

// RFC 8288 Link header -> {rel: target}; event-catalog's targets are query-only ("?cursor=...")
function parseLinks(header) {
  const links = {};
  for (const match of (header || "").matchAll(/<([^>]*)>\s*;\s*rel="([^"]+)"/g)) links[match[2]] = match[1];
  return links;
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

// ---- events ---------------------------------------------------------------------------------

let latestByEvent = new Map();

// The page's own query (?name=...&cursor=...&limit=...) is the events query: one page of
// /api/events, whose Link header gives the next/previous pages as queries for this page too.
function eventsQuery() {
  const page = new URLSearchParams(window.location.search);
  const query = new URLSearchParams();
  for (const name of ["name", "cursor", "limit"]) if (page.get(name)) query.set(name, page.get(name));
  return query.toString();
}

function pagerLink(id, target) {
  const a = $(id);
  a.hidden = !target;
  if (target) a.href = "/" + target;  // "?cursor=...": the same query on this page
}

async function loadEvents() {
  const msg = $("events-message");
  const query = eventsQuery();
  let result;
  try { result = await api("/api/events" + (query ? "?" + query : "")); } catch (e) { say(msg, "Cannot reach the server.", "bad"); return; }
  if (!result.ok || !Array.isArray(result.body)) { say(msg, "Events unavailable: " + errorText(result.body, result.status), "bad"); return; }
  const links = parseLinks(result.headers.get("Link"));
  pagerLink("events-prev", links.prev);
  pagerLink("events-next", links.next);
  const filter = new URLSearchParams(window.location.search).get("name");
  say(msg, result.body.length ? "" : (filter ? `No events whose name contains "${filter}".` : "No events yet."));
  const tbody = $("events").tBodies[0];
  tbody.replaceChildren();
  const select = $("book-event");
  const chosen = select.value;
  select.replaceChildren();
  for (const ev of result.body) {
    eventNames.set(String(ev.id), ev.name);
    const row = tbody.insertRow();
    row.dataset.eventId = ev.id;
    cell(row, ev.id);
    cell(row, ev.name);
    cell(row, ev.date || "");
    cell(row, ev.venue || "");
    const left = Number(ev.tickets_available);
    cell(row, `${left} / ${ev.capacity}`, left <= 0 ? "num soldout seats" : "num seats");
    const last = latestByEvent.get(ev.id);
    cell(row, last ? `${last.total_tickets} tickets in ${last.booking_count} bookings` : "-", "window");
    const opt = new Option(`${ev.name} (${left} left)`, ev.id);
    opt.disabled = left <= 0;
    select.add(opt);
  }
  if (chosen) select.value = chosen;
}

// ---- users ----------------------------------------------------------------------------------

async function register(event) {
  event.preventDefault();
  const out = $("user-result");
  const payload = { name: $("user-name").value, email: $("user-email").value };
  say(out, "Registering...", "pending");
  let result;
  try {
    result = await api("/api/users", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
  } catch (e) { say(out, "Cannot reach the server.", "bad"); return; }
  if (!result.ok) { say(out, "Not registered: " + errorText(result.body, result.status), "bad"); return; }
  say(out, `Registered ${result.body.name}: user id ${result.body.user_id}`, "ok");
  $("book-user").value = result.body.user_id;
  try { localStorage.setItem("user_id", result.body.user_id); } catch (_) {}
}

// ---- bookings -------------------------------------------------------------------------------

async function pollBooking(url, bookingId, out) {
  const started = Date.now();
  let delay = 250;
  while (Date.now() - started < 60000) {
    let result;
    try { result = await api(url); } catch (e) { result = null; }
    if (result && result.ok && result.body) {
      const b = result.body;
      if (b.status === "confirmed") { say(out, `Booking ${bookingId} confirmed: ${b.ticket_count} ticket(s).`, "ok"); loadEvents(); return b; }
      if (b.status === "rejected") { say(out, `Booking ${bookingId} rejected: ${b.reason || "no reason given"}.`, "bad"); loadEvents(); return b; }
      say(out, `Booking ${bookingId}: ${b.status}...`, "pending");
    }
    await sleep(delay);
    delay = Math.min(delay * 1.5, 2000);
  }
  say(out, `Booking ${bookingId} still pending; check again later.`, "pending");
  return null;
}

async function book(event) {
  event.preventDefault();
  const out = $("booking-status");
  const button = $("book-submit");
  const payload = {
    event_id: Number($("book-event").value),
    user_id: $("book-user").value.trim(),
    ticket_count: Number($("book-count").value),
  };
  const key = newKey(); // one key per submission: retries below reuse it, so a retry never books twice
  button.disabled = true;
  say(out, "Booking...", "pending");
  try {
    let result = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        result = await api("/api/book", {
          method: "POST",
          headers: { "Content-Type": "application/json", "Idempotency-Key": key },
          body: JSON.stringify(payload),
        });
        if (![502, 503, 504].includes(result.status)) break;
      } catch (e) { result = null; }
      await sleep(300 * (attempt + 1));
    }
    if (!result) { say(out, "Cannot reach the server.", "bad"); return; }
    if (!result.ok) { say(out, "Not booked: " + errorText(result.body, result.status), "bad"); return; }
    const id = result.body.booking_id;
    out.dataset.bookingId = id;
    $("upload-booking").value = id;
    $("ticket-booking").value = id;
    say(out, `Booking ${id}: ${result.body.status}...`, "pending");
    await pollBooking(result.body.status_url || `/api/bookings/${encodeURIComponent(id)}`, id, out);
  } finally {
    button.disabled = false;
  }
}

// ---- uploads and tickets --------------------------------------------------------------------

function showTicketLink(bookingId, out) {
  out.replaceChildren();
  out.className = "message ok";
  const a = document.createElement("a");
  a.href = `/api/tickets/${encodeURIComponent(bookingId)}`;
  a.id = "ticket-link";
  a.textContent = `Download ticket for ${bookingId} (PDF)`;
  out.append(a);
}

async function checkTicket(bookingId, out, waitMs) {
  const started = Date.now();
  do {
    let response = null;
    try { response = await fetch(`/api/tickets/${encodeURIComponent(bookingId)}`, { method: "HEAD" }); } catch (_) {}
    if (response && response.ok) { showTicketLink(bookingId, out); return true; }
    if (response && response.status !== 404) { say(out, `Ticket unavailable (HTTP ${response.status}).`, "bad"); return false; }
    if (Date.now() - started >= waitMs) break;
    say(out, "Ticket is being generated...", "pending");
    await sleep(1000);
  } while (true);
  say(out, "No ticket yet: upload your ID proof first, then try again.", "pending");
  return false;
}

async function upload(event) {
  event.preventDefault();
  const out = $("upload-result");
  const bookingId = $("upload-booking").value.trim();
  const form = new FormData();
  form.append("booking_id", bookingId);
  const userId = $("book-user").value.trim();
  if (userId) form.append("user_id", userId);
  const file = $("upload-file").files[0];
  if (file) form.append("file", file);
  say(out, "Uploading...", "pending");
  let result;
  try { result = await api("/api/upload", { method: "POST", body: form }); } catch (e) { say(out, "Cannot reach the server.", "bad"); return; }
  if (!result.ok) { say(out, "Upload failed: " + errorText(result.body, result.status), "bad"); return; }
  say(out, `Uploaded ${result.body.upload_key}`, "ok");
  $("ticket-booking").value = bookingId;
  await checkTicket(bookingId, $("ticket-result"), 30000);
}

async function ticket(event) {
  event.preventDefault();
  await checkTicket($("ticket-booking").value.trim(), $("ticket-result"), 0);
}

// ---- analytics ------------------------------------------------------------------------------

async function loadAnalytics() {
  const msg = $("analytics-message");
  let result;
  try { result = await api("/api/analytics"); } catch (e) { say(msg, "Cannot reach the server.", "bad"); return; }
  if (!result.ok || !result.body) { say(msg, "Analytics unavailable: " + errorText(result.body, result.status), "bad"); return; }
  const { events, consumer } = result.body;
  const tbody = $("analytics").tBodies[0];
  tbody.replaceChildren();
  latestByEvent = new Map();
  for (const ev of events) {
    latestByEvent.set(ev.event_id, ev.latest);
    const row = tbody.insertRow();
    row.dataset.eventId = ev.event_id;
    cell(row, eventNames.get(String(ev.event_id)) || `#${ev.event_id}`);
    cell(row, `${ev.latest.window_start.slice(11, 19)}-${ev.latest.window_end.slice(11, 19)}`);
    cell(row, ev.latest.total_tickets, "num");
    cell(row, ev.latest.booking_count, "num");
    cell(row, ev.windows.slice(0, 10).map((w) => w.total_tickets).join(" "), "spark");
  }
  for (const row of $("events").tBodies[0].rows) {
    const last = latestByEvent.get(Number(row.dataset.eventId));
    if (last) row.cells[5].textContent = `${last.total_tickets} tickets in ${last.booking_count} bookings`;
  }
  if (consumer.state === "disabled") say(msg, "Analytics are off (no Kafka configured).", "pending");
  else if (!events.length) say(msg, `No windows yet (consumer ${consumer.state}).`, "pending");
  else say(msg, `Consumer ${consumer.state}; ${consumer.applied} results read.`);
}

// ---- start ----------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("user-form").addEventListener("submit", register);
  $("book-form").addEventListener("submit", book);
  $("upload-form").addEventListener("submit", upload);
  $("ticket-form").addEventListener("submit", ticket);
  $("refresh-events").addEventListener("click", loadEvents);
  try { const saved = localStorage.getItem("user_id"); if (saved) $("book-user").value = saved; } catch (_) {}
  loadEvents().then(loadAnalytics);
  setInterval(loadEvents, 5000);
  setInterval(loadAnalytics, 3000);
  document.body.dataset.ready = "true";
});
