/*
 * Offers: customers the desk offers to this agent, with the reason, a countdown, and Accept and
 * Decline; a new one beeps, notifies and is announced.
 */
import { state } from "./state.js";
import { $, announce, clear, el, formatDuration, humanize, showBanner } from "./dom.js";
import { api, problem } from "./api.js";
import { beep, notify, unlockAudio } from "./alerts.js";
import { addEntry, loadTranscript, selectChat, upsertChat } from "./chats.js";

export function reasonSummary(brief) {
  var reason = (brief && brief.reason) || {};
  if (reason.kind === "planned") {
    var where = [reason.action ? "action " + reason.action : "", reason.step ? "step " + reason.step : ""].filter(Boolean).join(", ");
    return "Planned transfer" + (where ? " \u2014 " + where : "");
  }
  if (reason.kind === "fallback") {
    return "Fallback \u2014 " + humanize(reason.reason || "unknown reason");
  }
  return reason.kind ? humanize(reason.kind) : "Transfer";
}

/* An agent as the desk names one: a profile {id, name} or a bare id. */
function agentLabel(agent) {
  if (agent && typeof agent === "object") return String(agent.name || agent.id || "another agent");
  return String(agent);
}

export function onOffer(frame) {
  if (!frame.transfer) return;
  var isNew = !state.seenOffers.has(frame.transfer);
  state.seenOffers.add(frame.transfer);
  state.offers.set(frame.transfer, frame);
  renderOffers();
  if (!isNew) return;
  var queue = frame.queue || "a queue";
  var title = frame.from_agent ? "Transfer from " + agentLabel(frame.from_agent) + " (" + queue + ")" : "New customer in " + queue;
  beep();
  notify(title, (frame.brief && frame.brief.message_to_agent) || reasonSummary(frame.brief), frame.transfer);
  showBanner(title + ": " + reasonSummary(frame.brief));
  announce(title + ". " + reasonSummary(frame.brief) + ".");
}

export function onOfferWithdrawn(frame) {
  if (!state.offers.has(frame.transfer)) return;
  var offer = state.offers.get(frame.transfer);
  state.offers.delete(frame.transfer);
  renderOffers();
  var why = {
    declined: "it was declined",
    timed_out: "it was not accepted in time",
    customer_left: "the customer left",
    agent_offline: "you are not online",
    taken: "another agent took it"
  }[frame.reason] || humanize(frame.reason || "it was withdrawn");
  announce("The customer from " + (offer.queue || "the queue") + " is no longer offered to you: " + why + ".");
}

export function renderOffers() {
  var list = $("offers");
  clear(list);
  var now = Date.now();
  state.offers.forEach(function (offer) {
    var item = el("li", "offer");
    item.setAttribute("data-offer", offer.transfer);
    var head = el("div", "offer-head");
    head.appendChild(el("strong", "offer-queue", offer.queue || "queue"));
    if (offer.from_agent) head.appendChild(el("span", "tag", "from " + agentLabel(offer.from_agent)));
    var expires = offer.expires_at ? Date.parse(offer.expires_at) : NaN;
    var countdown = el("span", "offer-expires", isNaN(expires) ? "" : "answer within " + formatDuration((expires - now) / 1000));
    countdown.setAttribute("data-expires", isNaN(expires) ? "" : String(expires));
    head.appendChild(countdown);
    item.appendChild(head);
    item.appendChild(el("p", "offer-reason", reasonSummary(offer.brief)));
    var toAgent = offer.brief && offer.brief.message_to_agent;
    if (toAgent) item.appendChild(el("p", "offer-message", toAgent));
    var waiting = offer.waiting_messages || [];
    if (waiting.length) {
      var quotes = el("ul", "offer-waiting");
      quotes.setAttribute("aria-label", "Messages while waiting");
      waiting.slice(-3).forEach(function (message) { quotes.appendChild(el("li", "", message.text)); });
      item.appendChild(quotes);
    }
    var buttons = el("div", "offer-buttons");
    var accept = el("button", "accept", "Accept");
    accept.type = "button";
    accept.setAttribute("aria-label", "Accept the customer from " + (offer.queue || "the queue"));
    accept.addEventListener("click", function () { acceptOffer(offer, accept); });
    var decline = el("button", "decline secondary", "Decline");
    decline.type = "button";
    decline.setAttribute("aria-label", "Decline the customer from " + (offer.queue || "the queue"));
    decline.addEventListener("click", function () { declineOffer(offer, decline); });
    buttons.appendChild(accept);
    buttons.appendChild(decline);
    item.appendChild(buttons);
    list.appendChild(item);
  });
  $("offer-count").textContent = String(state.offers.size);
  $("no-offers").hidden = state.offers.size > 0;
  document.title = (state.offers.size ? "(" + state.offers.size + ") " : "") + "Baton agent console";
}

export function tickCountdowns() {
  var now = Date.now();
  var nodes = document.querySelectorAll(".offer-expires[data-expires]");
  for (var i = 0; i < nodes.length; i++) {
    var expires = Number(nodes[i].getAttribute("data-expires"));
    if (!expires) continue;
    nodes[i].textContent = expires > now ? "answer within " + formatDuration((expires - now) / 1000) : "expiring\u2026";
  }
}

function acceptOffer(offer, button) {
  unlockAudio();
  button.disabled = true;
  api("POST", "/v1/agent/transfers/" + encodeURIComponent(offer.transfer) + "/accept")
    .then(function () {
      state.offers.delete(offer.transfer);
      renderOffers();
      var chat = upsertChat(offer.transfer, offer.queue, offer.brief);
      (offer.waiting_messages || []).forEach(function (message) {
        addEntry(chat, { kind: "customer", id: message.id, at: message.at, text: message.text });
      });
      loadTranscript(chat);
      selectChat(chat.id, true);
    })
    .catch(function (error) {
      button.disabled = false;
      if (error.status === 409 || error.status === 404) {
        state.offers.delete(offer.transfer);
        renderOffers();
        showBanner("This customer is no longer waiting for you.");
        return;
      }
      showBanner("Could not accept: " + problem(error));
    });
}

function declineOffer(offer, button) {
  button.disabled = true;
  api("POST", "/v1/agent/transfers/" + encodeURIComponent(offer.transfer) + "/decline")
    .then(function () {
      state.offers.delete(offer.transfer);
      renderOffers();
    })
    .catch(function (error) {
      button.disabled = false;
      if (error.status === 409 || error.status === 404) {
        state.offers.delete(offer.transfer);
        renderOffers();
        return;
      }
      showBanner("Could not decline: " + problem(error));
    });
}
