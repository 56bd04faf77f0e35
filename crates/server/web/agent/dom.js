/*
 * Small page helpers: finding and building elements (text always as text), formatting values,
 * times and durations, and the two ways of telling the agent something (the screen reader's
 * announcer and the banner).
 */
import { state } from "./state.js";

export function $(id) { return document.getElementById(id); }

export function el(tag, className, text) {
  var node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export function display(value) {
  if (value === null || value === undefined || value === "") return "\u2014";
  if (typeof value === "string") return value;
  try { return JSON.stringify(value); } catch (e) { return String(value); }
}

export function humanize(code) {
  return String(code || "").replace(/_/g, " ");
}

export function formatTime(at) {
  var date = at ? new Date(at) : null;
  if (!date || isNaN(date.getTime())) return "";
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function formatDateTime(at) {
  var date = at ? new Date(at) : null;
  if (!date || isNaN(date.getTime())) return display(at);
  return date.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

export function formatDuration(secs) {
  secs = Math.max(0, Math.round(Number(secs) || 0));
  if (secs < 60) return secs + " s";
  var minutes = Math.floor(secs / 60);
  if (minutes < 60) return minutes + " min " + (secs % 60) + " s";
  return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
}

export function announce(text) {
  var announcer = $("announcer");
  announcer.textContent = "";
  // A fresh text node after a tick, so screen readers read the same words twice in a row too.
  setTimeout(function () { announcer.textContent = text; }, 30);
}

export function showBanner(text) {
  var banner = $("banner");
  banner.textContent = text;
  banner.hidden = !text;
  clearTimeout(state.timers.banner);
  if (text) state.timers.banner = setTimeout(function () { banner.hidden = true; }, 8000);
}
