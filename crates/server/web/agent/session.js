/*
 * Signing in and out, and the agent's presence: the login form, what the page shows before and
 * after, and the presence the server confirmed.
 */
import { state, storageGet, storageSet } from "./state.js";
import { $, showBanner } from "./dom.js";
import { api, connect, disconnect, problem } from "./api.js";
import { askNotificationPermission, unlockAudio, updateNotifyButton } from "./alerts.js";
import { renderOffers } from "./offers.js";
import { renderChat, renderChatList } from "./chats.js";
import { renderQueues } from "./queues.js";
import { setView, viewFromPath } from "./views.js";

export function showLogin(message) {
  $("login-view").hidden = false;
  $("who").hidden = true;
  $("tabs").hidden = true;
  ["chats-view", "tickets-view", "supervisor-view"].forEach(function (id) { $(id).hidden = true; });
  var error = $("login-error");
  error.textContent = message || "";
  error.hidden = !message;
  $("username").focus();
}

export function showConsole() {
  $("login-view").hidden = true;
  $("who").hidden = false;
  $("tabs").hidden = false;
  $("agent-name").textContent = (state.agent && (state.agent.name || state.agent.id)) || "";
  $("presence").value = state.presence;
  renderQueues();
  updateNotifyButton();
  setView(viewFromPath(), false);
  connect();
}

export function signedOut(message) {
  state.token = null;
  state.agent = null;
  storageSet("token", null);
  storageSet("agent", null);
  disconnect();
  state.offers.clear();
  state.chats.clear();
  state.selected = null;
  renderOffers();
  renderChatList();
  renderChat();
  showLogin(message);
}

export function login(event) {
  event.preventDefault();
  unlockAudio();
  askNotificationPermission();
  var username = $("username").value.trim();
  var password = $("password").value;
  if (!username || !password) {
    showLoginError("Enter your username and password.");
    return;
  }
  var submit = $("login-submit");
  submit.disabled = true;
  api("POST", "/v1/agent/login", { username: username, password: password })
    .then(function (data) {
      state.token = data.token;
      state.agent = data.agent || { id: username };
      state.presence = storageGet("presence") || "online";
      storageSet("token", state.token);
      storageSet("agent", JSON.stringify(state.agent));
      $("password").value = "";
      showConsole();
    })
    .catch(function (error) {
      if (error.status === 401) showLoginError("Wrong username or password.");
      else if (error.status === 429) showLoginError("Too many attempts. Wait a minute and try again.");
      else showLoginError(problem(error));
    })
    .finally(function () { submit.disabled = false; });
}

function showLoginError(text) {
  var error = $("login-error");
  error.textContent = text;
  error.hidden = false;
}

export function logout() {
  var token = state.token;
  if (token) api("POST", "/v1/agent/logout").catch(function () { /* the token is forgotten anyway */ });
  storageSet("presence", null);
  signedOut("");
}

export function setPresence(presence) {
  var previous = state.presence;
  state.presence = presence;
  storageSet("presence", presence);
  $("presence").value = presence;
  return api("PUT", "/v1/agent/presence", { presence: presence })
    .then(function (data) {
      if (data && data.presence) {
        state.presence = data.presence;
        $("presence").value = data.presence;
      }
      // What the server confirmed, for people (the select) and for tests (this attribute).
      document.body.setAttribute("data-presence", state.presence);
    })
    .catch(function (error) {
      if (error.status === 401) return;
      state.presence = previous;
      storageSet("presence", previous);
      $("presence").value = previous;
      showBanner("Could not change presence: " + problem(error));
    });
}
