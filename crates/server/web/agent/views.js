/*
 * The console's three views (chats, tickets, supervisor), picked from the path and kept in the
 * browser's history; the view on screen decides what refreshes.
 */
import { state, SUPERVISOR_REFRESH_MS, TICKETS_REFRESH_MS } from "./state.js";
import { $ } from "./dom.js";
import { sendRead } from "./chats.js";
import { loadSupervisor } from "./queues.js";
import { loadTickets } from "./tickets.js";

export function viewFromPath() {
  var path = window.location.pathname.replace(/\/+$/, "");
  if (path === "/agent/supervisor") return "supervisor";
  if (path === "/agent/tickets") return "tickets";
  return "chats";
}

export function setView(view, push) {
  state.view = view;
  if (push) {
    var path = view === "chats" ? "/agent" : "/agent/" + view;
    if (window.location.pathname !== path) window.history.pushState({ view: view }, "", path);
  }
  $("chats-view").hidden = view !== "chats";
  $("tickets-view").hidden = view !== "tickets";
  $("supervisor-view").hidden = view !== "supervisor";
  var links = document.querySelectorAll("#tabs a");
  for (var i = 0; i < links.length; i++) {
    if (links[i].getAttribute("data-view") === view) links[i].setAttribute("aria-current", "page");
    else links[i].removeAttribute("aria-current");
  }
  clearInterval(state.timers.refresh);
  if (!state.token) return;
  if (view === "supervisor") {
    loadSupervisor();
    state.timers.refresh = setInterval(loadSupervisor, SUPERVISOR_REFRESH_MS);
  } else if (view === "tickets") {
    loadTickets();
    state.timers.refresh = setInterval(loadTickets, TICKETS_REFRESH_MS);
  } else {
    var chat = state.selected && state.chats.get(state.selected);
    if (chat) sendRead(chat);
  }
}
