/*
 * Getting the agent's attention when an offer arrives: a short sound (after a user gesture, as
 * browsers require) and a desktop notification (after the agent allowed them).
 */
import { console_, state } from "./state.js";
import { $ } from "./dom.js";
import { setView } from "./views.js";

/* Browsers allow audio only after a user gesture: the context is created on the first one. */
export function unlockAudio() {
  var Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  try {
    if (!state.audio) state.audio = new Context();
    if (state.audio.state === "suspended") state.audio.resume();
  } catch (e) { state.audio = null; }
}

export function beep() {
  console_.beeps += 1;
  document.body.setAttribute("data-beeps", String(console_.beeps));
  var audio = state.audio;
  if (!audio) return;
  try {
    [0, 0.22].forEach(function (offset) {
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      var start = audio.currentTime + offset;
      oscillator.type = "sine";
      oscillator.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.16);
      oscillator.connect(gain);
      gain.connect(audio.destination);
      oscillator.start(start);
      oscillator.stop(start + 0.18);
    });
  } catch (e) { /* no sound is not worth an error */ }
}

function notificationsSupported() {
  return typeof window.Notification === "function";
}

export function updateNotifyButton() {
  $("notify").hidden = !(notificationsSupported() && window.Notification.permission === "default");
}

export function askNotificationPermission() {
  if (!notificationsSupported() || window.Notification.permission !== "default") return;
  try {
    var asked = window.Notification.requestPermission(function () { updateNotifyButton(); });
    if (asked && asked.then) asked.then(updateNotifyButton, updateNotifyButton);
  } catch (e) { /* an old browser without permission requests */ }
}

export function notify(title, body, tag) {
  if (!notificationsSupported() || window.Notification.permission !== "granted") return;
  try {
    var notification = new window.Notification(title, { body: body, tag: tag });
    console_.notifications += 1;
    notification.onclick = function () {
      window.focus();
      setView("chats", true);
      var button = document.querySelector("[data-offer=\"" + cssEscape(tag) + "\"] .accept");
      if (button) button.focus();
    };
  } catch (e) { /* notifications may be refused by the platform */ }
}

function cssEscape(text) {
  if (window.CSS && window.CSS.escape) return window.CSS.escape(text);
  return String(text).replace(/["\\]/g, "\\$&");
}
