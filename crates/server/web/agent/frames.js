/*
 * What arrives on the event socket, dispatched to the module it concerns; `hello` starts a
 * rebuild of the offers and chats from the frames that follow it.
 */
import { REBUILD_GRACE_MS, state, storageSet } from "./state.js";
import { $, display, showBanner } from "./dom.js";
import { onOffer, onOfferWithdrawn, renderOffers } from "./offers.js";
import { endChat, onChat, onChatEnded, onCustomerMessage, onCustomerRead, onCustomerTyping } from "./chats.js";
import { onQueue, renderQueues } from "./queues.js";

export function handleFrame(frame) {
  switch (frame.type) {
    case "hello": onHello(frame); break;
    case "offer": onOffer(frame); break;
    case "offer_withdrawn": onOfferWithdrawn(frame); break;
    case "chat": onChat(frame); break;
    case "customer_message": onCustomerMessage(frame); break;
    case "customer_typing": onCustomerTyping(frame); break;
    case "customer_read": onCustomerRead(frame); break;
    case "chat_ended": onChatEnded(frame); break;
    case "queue": onQueue(frame); break;
    case "presence":
      if (frame.presence) {
        state.presence = frame.presence;
        storageSet("presence", frame.presence);
        $("presence").value = frame.presence;
      }
      break;
    case "error":
      showBanner("The server refused a message: " + display(frame.error));
      break;
    default: break;
  }
}

function onHello(frame) {
  if (frame.agent) {
    state.agent = frame.agent;
    storageSet("agent", JSON.stringify(frame.agent));
    $("agent-name").textContent = frame.agent.name || frame.agent.id || "";
    renderQueues();
  }
  // Offers and chats follow this frame: rebuild from them. Offers that are not sent again are
  // gone; a chat that is not sent again ended while the socket was down.
  state.offers.clear();
  renderOffers();
  var listed = state.rebuild = new Set();
  clearTimeout(state.timers.rebuild);
  state.timers.rebuild = setTimeout(function () {
    if (state.rebuild !== listed) return;
    state.rebuild = null;
    state.chats.forEach(function (chat) {
      if (!chat.ended && !listed.has(chat.id)) {
        endChat(chat, "This chat ended while the console was disconnected.");
      }
    });
  }, REBUILD_GRACE_MS);
}
