/*
 * The connection to the server: the agent API over HTTP (a 401 signs the agent out) and the
 * agent event socket, which reconnects by itself with backoff and pings to stay open.
 */
import { MAX_BACKOFF_MS, PING_MS, state } from "./state.js";
import { $ } from "./dom.js";
import { handleFrame } from "./frames.js";
import { setPresence, signedOut } from "./session.js";

export function api(method, path, body) {
  var init = { method: method, headers: {}, credentials: "omit", cache: "no-store" };
  if (state.token) init.headers.Authorization = "Bearer " + state.token;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return fetch(path, init).then(function (response) {
    return response.text().then(function (text) {
      var data = null;
      try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
      if (!response.ok) {
        var error = new Error((data && data.error) || "HTTP " + response.status);
        error.status = response.status;
        error.code = data && data.baton_code;
        if (response.status === 401 && state.token && path !== "/v1/agent/login") signedOut("Your session expired. Please sign in again.");
        throw error;
      }
      return data;
    });
  });
}

export function problem(error) {
  if (!error) return "Something went wrong.";
  if (error.status === undefined) return "The server cannot be reached. Check the connection.";
  return error.message || "Something went wrong.";
}

function setConnection(status, text) {
  var node = $("connection");
  node.setAttribute("data-state", status);
  node.textContent = text;
}

export function connect() {
  if (!state.token || state.socket) return;
  clearTimeout(state.reconnectTimer);
  var url = window.location.origin.replace(/^http/, "ws") + "/v1/agent/events?token=" + encodeURIComponent(state.token);
  var socket;
  try { socket = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
  state.socket = socket;
  setConnection("connecting", "Connecting\u2026");
  socket.onopen = function () {
    state.socketOpen = true;
    state.backoff = 1000;
    setConnection("online", "Connected");
    // The server may have restarted or dropped us: it gets our presence again.
    setPresence(state.presence);
    clearInterval(state.pingTimer);
    state.pingTimer = setInterval(function () { send({ type: "ping" }); }, PING_MS);
  };
  socket.onmessage = function (message) {
    var frame;
    try { frame = JSON.parse(message.data); } catch (e) { return; }
    if (frame && typeof frame === "object") handleFrame(frame);
  };
  socket.onclose = function () {
    var wasOpen = state.socketOpen;
    state.socket = null;
    state.socketOpen = false;
    clearInterval(state.pingTimer);
    if (!state.token) return;
    setConnection("offline", "Reconnecting\u2026");
    // A socket refused before it opened may be an expired token: ask a plain route to find out.
    if (!wasOpen) api("GET", "/v1/agent/tickets").catch(function () { /* 401 signs out */ });
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  clearTimeout(state.reconnectTimer);
  var delay = state.backoff + Math.floor(Math.random() * 400);
  state.backoff = Math.min(state.backoff * 2, MAX_BACKOFF_MS);
  state.reconnectTimer = setTimeout(connect, delay);
}

export function disconnect() {
  clearTimeout(state.reconnectTimer);
  clearInterval(state.pingTimer);
  var socket = state.socket;
  state.socket = null;
  state.socketOpen = false;
  if (socket) {
    socket.onclose = null;
    try { socket.close(); } catch (e) { /* already closed */ }
  }
}

export function send(frame) {
  if (!state.socket || !state.socketOpen) return false;
  try { state.socket.send(JSON.stringify(frame)); return true; } catch (e) { return false; }
}
