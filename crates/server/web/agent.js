/*
 * Baton agent console (`/agent`): sign in, set presence, take customers from the live queue,
 * read the brief and the transcript, chat in real time, transfer, end or hand back to the
 * assistant; tickets and a supervisor view.
 *
 * It uses only the agent API (docs/agent-api.md): HTTP routes under /v1/agent with a bearer
 * token kept in sessionStorage, and the WebSocket /v1/agent/events?token=…, which reconnects by
 * itself with backoff. After every (re)connect the server sends `hello`, then an `offer` for each
 * pending offer and a `chat` for each open chat, and the console rebuilds its view from those.
 *
 * Everything a customer, an agent, the assistant or the desk wrote is inserted with textContent,
 * never as markup. Plain JavaScript, no build step, no dependency.
 */
(function () {
  "use strict";

  var STORE = "baton-agent:";
  var MAX_BACKOFF_MS = 30000;
  var PING_MS = 25000;
  var TYPING_IDLE_MS = 3000;
  var CUSTOMER_TYPING_MS = 15000;
  var SUPERVISOR_REFRESH_MS = 3000;
  var TICKETS_REFRESH_MS = 15000;
  /* Chats the server did not list again this long after `hello` ended while we were away. */
  var REBUILD_GRACE_MS = 3000;

  var state = {
    token: null,
    agent: null,
    presence: "online",
    socket: null,
    socketOpen: false,
    backoff: 1000,
    reconnectTimer: null,
    pingTimer: null,
    offers: new Map(),
    seenOffers: new Set(),
    chats: new Map(),
    selected: null,
    view: "chats",
    queues: new Map(),
    audio: null,
    timers: {},
    directory: { agents: [], queues: [] }
  };

  /* What tests and curious people can look at: how many beeps and notifications fired. */
  var console_ = { beeps: 0, notifications: 0, state: state };
  window.BatonConsole = console_;

  function $(id) { return document.getElementById(id); }

  var RICH_LINK_CLASS = "rich-link";
  /*__BATON_RICHTEXT__*/

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function storageGet(key) {
    try { return window.sessionStorage.getItem(STORE + key); } catch (e) { return null; }
  }
  function storageSet(key, value) {
    try {
      if (value === null || value === undefined) window.sessionStorage.removeItem(STORE + key);
      else window.sessionStorage.setItem(STORE + key, value);
    } catch (e) { /* storage disabled: this tab still works until it reloads */ }
  }

  function display(value) {
    if (value === null || value === undefined || value === "") return "\u2014";
    if (typeof value === "string") return value;
    try { return JSON.stringify(value); } catch (e) { return String(value); }
  }

  function humanize(code) {
    return String(code || "").replace(/_/g, " ");
  }

  function formatTime(at) {
    var date = at ? new Date(at) : null;
    if (!date || isNaN(date.getTime())) return "";
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function formatDateTime(at) {
    var date = at ? new Date(at) : null;
    if (!date || isNaN(date.getTime())) return display(at);
    return date.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
  }

  function formatDuration(secs) {
    secs = Math.max(0, Math.round(Number(secs) || 0));
    if (secs < 60) return secs + " s";
    var minutes = Math.floor(secs / 60);
    if (minutes < 60) return minutes + " min " + (secs % 60) + " s";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  function announce(text) {
    var announcer = $("announcer");
    announcer.textContent = "";
    // A fresh text node after a tick, so screen readers read the same words twice in a row too.
    setTimeout(function () { announcer.textContent = text; }, 30);
  }

  function showBanner(text) {
    var banner = $("banner");
    banner.textContent = text;
    banner.hidden = !text;
    clearTimeout(state.timers.banner);
    if (text) state.timers.banner = setTimeout(function () { banner.hidden = true; }, 8000);
  }

  /* ---- HTTP ---- */

  function api(method, path, body) {
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

  function problem(error) {
    if (!error) return "Something went wrong.";
    if (error.status === undefined) return "The server cannot be reached. Check the connection.";
    return error.message || "Something went wrong.";
  }

  /* ---- sound and notifications ---- */

  /* Browsers allow audio only after a user gesture: the context is created on the first one. */
  function unlockAudio() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      if (!state.audio) state.audio = new Context();
      if (state.audio.state === "suspended") state.audio.resume();
    } catch (e) { state.audio = null; }
  }

  function beep() {
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

  function updateNotifyButton() {
    $("notify").hidden = !(notificationsSupported() && window.Notification.permission === "default");
  }

  function askNotificationPermission() {
    if (!notificationsSupported() || window.Notification.permission !== "default") return;
    try {
      var asked = window.Notification.requestPermission(function () { updateNotifyButton(); });
      if (asked && asked.then) asked.then(updateNotifyButton, updateNotifyButton);
    } catch (e) { /* an old browser without permission requests */ }
  }

  function notify(title, body, tag) {
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

  /* ---- signing in and out ---- */

  function showLogin(message) {
    $("login-view").hidden = false;
    $("who").hidden = true;
    $("tabs").hidden = true;
    ["chats-view", "tickets-view", "supervisor-view"].forEach(function (id) { $(id).hidden = true; });
    var error = $("login-error");
    error.textContent = message || "";
    error.hidden = !message;
    $("username").focus();
  }

  function showConsole() {
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

  function signedOut(message) {
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

  function login(event) {
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

  function logout() {
    var token = state.token;
    if (token) api("POST", "/v1/agent/logout").catch(function () { /* the token is forgotten anyway */ });
    storageSet("presence", null);
    signedOut("");
  }

  /* ---- presence ---- */

  function setPresence(presence) {
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

  /* ---- the event socket ---- */

  function setConnection(status, text) {
    var node = $("connection");
    node.setAttribute("data-state", status);
    node.textContent = text;
  }

  function connect() {
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

  function disconnect() {
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

  function send(frame) {
    if (!state.socket || !state.socketOpen) return false;
    try { state.socket.send(JSON.stringify(frame)); return true; } catch (e) { return false; }
  }

  function handleFrame(frame) {
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

  /* ---- offers ---- */

  function reasonSummary(brief) {
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

  function onOffer(frame) {
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

  function onOfferWithdrawn(frame) {
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

  function renderOffers() {
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

  function tickCountdowns() {
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

  /* ---- chats ---- */

  function upsertChat(id, queue, brief) {
    var chat = state.chats.get(id);
    if (!chat) {
      chat = {
        id: id,
        queue: queue || "",
        brief: brief || {},
        entries: [],
        ids: new Set(),
        unread: 0,
        ended: false,
        endedText: "",
        customerTyping: false,
        readSent: null,
        readUpTo: null,
        loading: false
      };
      state.chats.set(id, chat);
    } else {
      if (queue) chat.queue = queue;
      if (brief) chat.brief = brief;
    }
    renderChatList();
    if (state.selected === id) renderBrief(chat);
    return chat;
  }

  function onChat(frame) {
    if (!frame.transfer) return;
    if (state.rebuild) state.rebuild.add(frame.transfer);
    var known = state.chats.has(frame.transfer);
    var chat = upsertChat(frame.transfer, frame.queue, frame.brief);
    if (chat.ended) {
      chat.ended = false;
      chat.endedText = "";
    }
    // After a reconnect the transcript is fetched again: messages may have arrived meanwhile.
    loadTranscript(chat);
    if (!state.selected) selectChat(chat.id, false);
    else if (state.selected === chat.id) renderChat();
    if (!known) announce("You are in a chat with a customer from " + (chat.queue || "a queue") + ".");
  }

  /* One transcript entry from the server, in the console's shape, or null for one not shown. */
  function fromEntry(entry) {
    var payload = entry.payload || {};
    var kind = entry.kind;
    var base = { kind: kind, at: entry.at, id: payload.id || null, seq: entry.seq };
    if (kind === "event") {
      // The transfer's opening transition repeats the "transfer requested" entry beside it.
      if (payload.type === "transfer" && payload.to === "requested") return null;
      base.text = eventText(payload);
      return base;
    }
    if (kind === "agent") base.agentName = (payload.agent && (payload.agent.name || payload.agent.id)) || "Agent";
    switch (payload.type) {
      case "text": base.text = payload.text; break;
      case "options":
        base.text = (payload.title ? payload.title + " " : "") +
          "[" + (payload.choices || []).map(function (choice) { return choice.label; }).join(" | ") + "]";
        break;
      case "link": base.text = payload.label || payload.url || ""; base.url = payload.url || ""; break;
      default: base.text = payload.text !== undefined ? payload.text : display(payload);
    }
    return base;
  }

  function eventText(payload) {
    var type = payload.type || "event";
    var parts = [humanize(type)];
    if (payload.to) parts.push("\u2192 " + humanize(payload.to));
    if (payload.queue) parts.push("(" + payload.queue + ")");
    return parts.join(" ");
  }

  function loadTranscript(chat) {
    if (chat.loading) {
      chat.reload = true;
      return;
    }
    chat.loading = true;
    chat.reload = false;
    api("GET", "/v1/agent/transfers/" + encodeURIComponent(chat.id))
      .then(function (data) {
        if (data.brief) chat.brief = data.brief;
        if (data.queue) chat.queue = data.queue;
        chat.state = data.state;
        // Messages that arrived over the socket before the answer and are not in it stay.
        var live = chat.entries.filter(function (entry) { return entry.live; });
        chat.entries = [];
        chat.ids = new Set();
        (data.transcript || []).forEach(function (entry) {
          var item = fromEntry(entry);
          if (item) addEntry(chat, item, true);
        });
        live.forEach(function (entry) {
          if (!isDuplicate(chat, entry)) addEntry(chat, entry, true);
        });
        if (state.selected === chat.id) renderChat();
        renderChatList();
      })
      .catch(function (error) {
        if (error.status === 404) endChat(chat, "This chat is no longer yours.");
      })
      .finally(function () {
        chat.loading = false;
        if (chat.reload) loadTranscript(chat);
      });
  }

  function isDuplicate(chat, entry) {
    if (entry.id && chat.ids.has(entry.id)) return true;
    // Transcript entries of customers carry no message id: the same words from the same side at
    // (nearly) the same moment are the same message.
    return chat.entries.some(function (other) {
      return other.kind === entry.kind && other.text === entry.text && (!other.id || !entry.id) && sameMoment(other.at, entry.at);
    });
  }

  /* Adds an entry; `quiet` leaves the page alone (a whole transcript is rendered afterwards). */
  function addEntry(chat, entry, quiet) {
    if (entry.id && chat.ids.has(entry.id)) return;
    if (entry.id) chat.ids.add(entry.id);
    chat.entries.push(entry);
    if (quiet) return;
    if (state.selected === chat.id) {
      $("transcript").appendChild(entryNode(chat, entry));
      scrollTranscript();
    }
  }

  function entryNode(chat, entry) {
    var who = entry.kind === "customer" ? "customer" : entry.kind === "agent" ? "agent" : entry.kind === "event" ? "event" : "assistant";
    var row = el("div", "entry entry-" + who);
    if (entry.id) row.setAttribute("data-id", entry.id);
    if (who === "event") {
      row.appendChild(el("span", "event-text", entry.text));
      if (entry.at) row.appendChild(el("time", "at", formatTime(entry.at)));
      return row;
    }
    var label = who === "customer" ? "Customer" : who === "agent" ? entry.agentName || "Agent" : "Assistant";
    var head = el("div", "entry-head");
    head.appendChild(el("span", "who", label));
    if (entry.at) {
      var time = el("time", "at", formatTime(entry.at));
      time.dateTime = entry.at;
      head.appendChild(time);
    }
    row.appendChild(head);
    // The assistant's and the agents' lines as the customer saw them: links and emphasis.
    var bubble = el("div", "bubble");
    var text = entry.text === undefined || entry.text === null ? "" : String(entry.text);
    if (who === "customer") bubble.textContent = text;
    else if (entry.url !== undefined) appendLink(bubble, text, entry.url);
    else appendRichText(bubble, text);
    row.appendChild(bubble);
    if (who === "agent" && entry.id) {
      var receipt = el("span", "receipt", isRead(chat, entry) ? "Read" : "Sent");
      row.appendChild(receipt);
    }
    return row;
  }

  function isRead(chat, entry) {
    if (!chat.readUpTo) return false;
    var upTo = -1;
    var at = -1;
    chat.entries.forEach(function (candidate, index) {
      if (candidate.id === chat.readUpTo) upTo = index;
      if (candidate === entry) at = index;
    });
    return upTo >= 0 && at >= 0 && at <= upTo;
  }

  function scrollTranscript() {
    var transcript = $("transcript");
    transcript.scrollTop = transcript.scrollHeight;
  }

  function onCustomerMessage(frame) {
    var chat = state.chats.get(frame.transfer);
    var message = frame.message || {};
    if (!chat) return;
    chat.customerTyping = false;
    clearTimeout(chat.typingTimer);
    var entry = { kind: "customer", id: message.id, at: message.at, text: message.text, live: true };
    // A desk that resumed after a restart may send a message again that the transcript (whose
    // entries carry no message id) already has: the same words at the same moment are a repeat.
    if (!isDuplicate(chat, entry)) addEntry(chat, entry);
    if (state.selected === chat.id && state.view === "chats") {
      updateTyping(chat);
      sendRead(chat);
    } else {
      chat.unread += 1;
      announce("New message from the customer in " + (chat.queue || "a chat") + ".");
    }
    renderChatList();
  }

  /* Two timestamps of one message, written by different parts of the server, within 2 s. */
  function sameMoment(a, b) {
    var first = Date.parse(a);
    var second = Date.parse(b);
    if (isNaN(first) || isNaN(second)) return true;
    return Math.abs(first - second) < 2000;
  }

  function onCustomerTyping(frame) {
    var chat = state.chats.get(frame.transfer);
    if (!chat) return;
    chat.customerTyping = !!frame.typing;
    clearTimeout(chat.typingTimer);
    if (chat.customerTyping) {
      chat.typingTimer = setTimeout(function () {
        chat.customerTyping = false;
        updateTyping(chat);
      }, CUSTOMER_TYPING_MS);
    }
    updateTyping(chat);
  }

  function updateTyping(chat) {
    if (state.selected !== chat.id) return;
    $("customer-typing").hidden = !chat.customerTyping || chat.ended;
  }

  function onCustomerRead(frame) {
    var chat = state.chats.get(frame.transfer);
    if (!chat || !frame.up_to) return;
    chat.readUpTo = frame.up_to;
    if (state.selected !== chat.id) return;
    var rows = $("transcript").querySelectorAll(".entry-agent");
    var entries = chat.entries.filter(function (entry) { return entry.kind === "agent" && entry.id; });
    for (var i = 0; i < rows.length; i++) {
      var id = rows[i].getAttribute("data-id");
      var entry = entries.filter(function (candidate) { return candidate.id === id; })[0];
      var receipt = rows[i].querySelector(".receipt");
      if (entry && receipt && isRead(chat, entry)) receipt.textContent = "Read";
    }
  }

  function onChatEnded(frame) {
    var chat = state.chats.get(frame.transfer);
    if (!chat) {
      // An offer can end too (the customer cancelled before anyone accepted).
      if (state.offers.delete(frame.transfer)) renderOffers();
      return;
    }
    var by = { customer: "the customer", agent: "the agent", desk: "the desk" }[frame.by] || "the desk";
    var reason = frame.reason && frame.reason.kind ? " (" + humanize(frame.reason.kind) + ")" : "";
    endChat(chat, "The chat was ended by " + by + reason + ".");
  }

  function endChat(chat, text) {
    if (chat.ended) return;
    chat.ended = true;
    chat.endedText = text;
    chat.customerTyping = false;
    addEntry(chat, { kind: "event", text: text, at: new Date().toISOString() });
    if (state.selected === chat.id) renderChat();
    else announce(text);
    renderChatList();
  }

  function renderChatList() {
    var list = $("chat-list");
    clear(list);
    var open = 0;
    state.chats.forEach(function (chat) {
      if (!chat.ended) open += 1;
      var item = el("li");
      var button = el("button", "chat-link" + (chat.ended ? " ended" : ""));
      button.type = "button";
      button.setAttribute("data-chat", chat.id);
      if (state.selected === chat.id) button.setAttribute("aria-current", "true");
      button.appendChild(el("span", "chat-link-queue", chat.queue || "chat"));
      button.appendChild(el("span", "chat-link-reason", reasonSummary(chat.brief)));
      if (chat.ended) button.appendChild(el("span", "tag", "ended"));
      if (chat.unread) {
        var badge = el("span", "count", String(chat.unread));
        badge.setAttribute("aria-label", chat.unread + " unread");
        button.appendChild(badge);
      }
      button.addEventListener("click", function () { selectChat(chat.id, true); });
      item.appendChild(button);
      list.appendChild(item);
    });
    $("no-chats").hidden = state.chats.size > 0;
    var count = $("tab-chats-count");
    count.textContent = String(open + state.offers.size);
    count.hidden = open + state.offers.size === 0;
  }

  function selectChat(id, focus) {
    state.selected = id;
    var chat = state.chats.get(id);
    if (chat) chat.unread = 0;
    if (state.view !== "chats") setView("chats", true);
    renderChatList();
    renderChat();
    if (chat && focus) $(chat.ended ? "transcript" : "message").focus();
  }

  function renderBrief(chat) {
    var brief = chat.brief || {};
    var reason = brief.reason || {};
    $("brief-reason").textContent = reasonSummary(brief);
    $("brief-message").textContent = display(brief.message_to_agent);
    var failed = reason.failed_inputs || [];
    var failedList = $("brief-failed");
    clear(failedList);
    failed.forEach(function (text) { failedList.appendChild(el("li", "", text)); });
    $("brief-failed-box").hidden = failed.length === 0;
    fillTable($("brief-variables"), brief.variables || {}, "No variables collected.");
    var customer = {};
    Object.keys(brief.customer || {}).forEach(function (field) {
      var value = brief.customer[field];
      if (value !== null && value !== undefined && value !== "") customer[humanize(field)] = value;
    });
    $("brief-customer").hidden = Object.keys(customer).length === 0;
    fillTable($("brief-customer"), customer, "");
  }

  function fillTable(table, values, emptyText) {
    var body = table.tBodies[0];
    clear(body);
    var names = Object.keys(values).sort();
    names.forEach(function (name) {
      var row = el("tr");
      var header = el("th", "", name);
      header.scope = "row";
      row.appendChild(header);
      row.appendChild(el("td", "", display(values[name])));
      body.appendChild(row);
    });
    if (!names.length && emptyText) {
      var row = el("tr");
      var cell = el("td", "empty", emptyText);
      cell.colSpan = 2;
      row.appendChild(cell);
      body.appendChild(row);
    }
  }

  function renderChat() {
    var chat = state.selected ? state.chats.get(state.selected) : null;
    $("chat").hidden = !chat;
    $("no-chat").hidden = !!chat;
    if (!chat) return;
    $("chat-title").textContent = "Customer from " + (chat.queue || "a queue");
    $("chat-state").textContent = chat.ended ? "Ended" : "Active";
    $("chat-state").setAttribute("data-state", chat.ended ? "ended" : "active");
    renderBrief(chat);
    var transcript = $("transcript");
    clear(transcript);
    chat.entries.forEach(function (entry) { transcript.appendChild(entryNode(chat, entry)); });
    scrollTranscript();
    updateTyping(chat);
    var ended = chat.ended;
    $("message").disabled = ended;
    $("send").disabled = ended;
    $("transfer-box").hidden = ended;
    $("handback-box").hidden = ended;
    $("resolve").hidden = ended;
    $("dismiss").hidden = !ended;
    if (!ended) sendRead(chat);
  }

  /* Tells the customer their messages were seen, when this chat is on screen. */
  function sendRead(chat) {
    if (document.visibilityState === "hidden" || state.view !== "chats" || state.selected !== chat.id) return;
    var last = null;
    chat.entries.forEach(function (entry) {
      if (entry.kind === "customer" && entry.id) last = entry.id;
    });
    if (!last || chat.readSent === last) return;
    if (send({ type: "read", transfer: chat.id, up_to: last })) chat.readSent = last;
  }

  /* ---- composing ---- */

  var typing = { transfer: null, timer: null };

  function stopTyping() {
    clearTimeout(typing.timer);
    if (typing.transfer) send({ type: "typing", transfer: typing.transfer, typing: false });
    typing.transfer = null;
  }

  function onComposerInput() {
    var chat = state.selected && state.chats.get(state.selected);
    if (!chat || chat.ended) return;
    if (!$("message").value) {
      stopTyping();
      return;
    }
    if (typing.transfer !== chat.id) {
      stopTyping();
      if (send({ type: "typing", transfer: chat.id, typing: true })) typing.transfer = chat.id;
    }
    clearTimeout(typing.timer);
    typing.timer = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function sendMessage(event) {
    event.preventDefault();
    var chat = state.selected && state.chats.get(state.selected);
    var field = $("message");
    var text = field.value.trim();
    if (!chat || chat.ended || !text) return;
    stopTyping();
    field.value = "";
    var pending = { kind: "agent", text: text, agentName: (state.agent && state.agent.name) || "You", at: new Date().toISOString(), pending: true };
    addEntry(chat, pending);
    var row = $("transcript").lastChild;
    api("POST", "/v1/agent/transfers/" + encodeURIComponent(chat.id) + "/messages", { text: text })
      .then(function (message) {
        pending.pending = false;
        pending.live = true;
        if (message && message.id) {
          pending.id = message.id;
          chat.ids.add(message.id);
          if (row && row.parentNode) {
            row.setAttribute("data-id", message.id);
            // The customer may have read it before this answer came back.
            row.appendChild(el("span", "receipt", isRead(chat, pending) ? "Read" : "Sent"));
          }
        }
        if (message && message.at) pending.at = message.at;
      })
      .catch(function (error) {
        chat.entries = chat.entries.filter(function (entry) { return entry !== pending; });
        if (row && row.parentNode) row.parentNode.removeChild(row);
        if (state.selected === chat.id && !field.value) field.value = text;
        showBanner("Your message was not sent: " + problem(error));
      });
  }

  function composerKey(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit ? $("composer").requestSubmit() : sendMessage(event);
    }
  }

  /* ---- transfer, end, hand back ---- */

  function loadDirectory() {
    return api("GET", "/v1/agent/queues").then(function (data) {
      state.directory.agents = (data && data.agents) || [];
      state.directory.queues = ((data && data.queues) || []).map(function (queue) { return queue.name; });
      fillTransferOptions();
      return data;
    });
  }

  function fillTransferOptions() {
    var kind = document.querySelector("input[name='transfer-kind']:checked").value;
    var options = $("transfer-options");
    clear(options);
    var me = state.agent && state.agent.id;
    if (kind === "agent") {
      state.directory.agents.forEach(function (agent) {
        if (agent.id === me) return;
        var option = el("option");
        option.value = agent.id;
        option.label = (agent.name || agent.id) + " \u2014 " + (agent.presence || "");
        options.appendChild(option);
      });
    } else {
      state.directory.queues.forEach(function (name) {
        var option = el("option");
        option.value = name;
        options.appendChild(option);
      });
    }
  }

  function transferChat(event) {
    event.preventDefault();
    var chat = state.selected && state.chats.get(state.selected);
    var target = $("transfer-target").value.trim();
    if (!chat || chat.ended || !target) return;
    var kind = document.querySelector("input[name='transfer-kind']:checked").value;
    var body = kind === "agent" ? { agent: target } : { queue: target };
    api("POST", "/v1/agent/transfers/" + encodeURIComponent(chat.id) + "/transfer", body)
      .then(function () {
        $("transfer-target").value = "";
        $("transfer-box").open = false;
        stopTyping();
        endChat(chat, "You transferred this chat to " + (kind === "agent" ? "agent " : "queue ") + target + ".");
      })
      .catch(function (error) { showBanner("Could not transfer: " + problem(error)); });
  }

  function resolveChat() {
    var chat = state.selected && state.chats.get(state.selected);
    if (!chat || chat.ended) return;
    api("POST", "/v1/agent/transfers/" + encodeURIComponent(chat.id) + "/end", { disposition: "resolved" })
      .then(function () {
        stopTyping();
        endChat(chat, "You ended the chat as resolved.");
      })
      .catch(function (error) { showBanner("Could not end the chat: " + problem(error)); });
  }

  function addVariableRow() {
    var rows = $("handback-vars");
    var n = rows.children.length + 1;
    var row = el("div", "var-row");
    var nameId = "hb-var-name-" + n + "-" + Date.now();
    var valueId = "hb-var-value-" + n + "-" + Date.now();
    var nameLabel = el("label", "sr-only", "Variable " + n + " name");
    nameLabel.htmlFor = nameId;
    var name = el("input", "var-name");
    name.id = nameId;
    name.placeholder = "name";
    name.autocomplete = "off";
    name.spellcheck = false;
    var valueLabel = el("label", "sr-only", "Variable " + n + " value");
    valueLabel.htmlFor = valueId;
    var value = el("input", "var-value");
    value.id = valueId;
    value.placeholder = "value";
    value.autocomplete = "off";
    var remove = el("button", "secondary", "Remove");
    remove.type = "button";
    remove.setAttribute("aria-label", "Remove variable " + n);
    remove.addEventListener("click", function () { rows.removeChild(row); });
    [nameLabel, name, valueLabel, value, remove].forEach(function (node) { row.appendChild(node); });
    rows.appendChild(row);
    name.focus();
  }

  /* A value typed as 42, true or {"a":1} is that JSON value; anything else is text. */
  function parseValue(raw) {
    var text = raw.trim();
    if (/^(-?\d+(\.\d+)?|true|false|null|\{.*\}|\[.*\])$/.test(text)) {
      try { return JSON.parse(text); } catch (e) { return raw; }
    }
    return raw;
  }

  function handBack(event) {
    event.preventDefault();
    var chat = state.selected && state.chats.get(state.selected);
    if (!chat || chat.ended) return;
    var body = { disposition: "hand_back" };
    var resume = $("resume-action").value.trim();
    if (resume) body.resume = resume;
    var variables = {};
    var count = 0;
    var rows = $("handback-vars").querySelectorAll(".var-row");
    for (var i = 0; i < rows.length; i++) {
      var name = rows[i].querySelector(".var-name").value.trim();
      if (!name) continue;
      variables[name] = parseValue(rows[i].querySelector(".var-value").value);
      count += 1;
    }
    if (count) body.variables = variables;
    api("POST", "/v1/agent/transfers/" + encodeURIComponent(chat.id) + "/end", body)
      .then(function () {
        stopTyping();
        $("resume-action").value = "";
        clear($("handback-vars"));
        $("handback-box").open = false;
        endChat(chat, "You handed the customer back to the assistant" + (resume ? " to resume " + resume : "") + ".");
      })
      .catch(function (error) { showBanner("Could not hand back: " + problem(error)); });
  }

  function dismissChat() {
    var id = state.selected;
    if (!id) return;
    state.chats.delete(id);
    state.selected = null;
    var next = null;
    state.chats.forEach(function (chat) { if (!next && !chat.ended) next = chat.id; });
    if (next) selectChat(next, true);
    else {
      renderChatList();
      renderChat();
      $("main").focus();
    }
  }

  /* ---- queues summary (from `queue` frames) ---- */

  function onQueue(frame) {
    if (!frame.queue) return;
    state.queues.set(frame.queue, frame);
    renderQueues();
  }

  function renderQueues() {
    var list = $("queue-summary");
    clear(list);
    var names = Array.from(state.queues.keys()).sort();
    names.forEach(function (name) {
      var queue = state.queues.get(name);
      var item = el("li");
      item.setAttribute("data-queue", name);
      item.appendChild(el("strong", "", name));
      var waiting = Number(queue.waiting) || 0;
      var text = waiting ? waiting + " waiting, longest " + formatDuration(queue.oldest_wait_secs) : "nobody waiting";
      item.appendChild(el("span", "", text));
      list.appendChild(item);
    });
    if (!names.length) {
      var agentQueues = (state.agent && state.agent.queues) || [];
      list.appendChild(el("li", "empty", agentQueues.length ? agentQueues.join(", ") : "All queues"));
    }
  }

  /* ---- tickets ---- */

  function loadTickets() {
    return api("GET", "/v1/agent/tickets")
      .then(function (data) {
        var tickets = (data && data.tickets) || [];
        var body = $("tickets").tBodies[0];
        clear(body);
        tickets.slice().sort(function (a, b) { return String(b.created_at).localeCompare(String(a.created_at)); })
          .forEach(function (ticket) {
            var row = el("tr");
            row.setAttribute("data-ticket", ticket.id);
            var when = el("td");
            var time = el("time", "", formatDateTime(ticket.created_at));
            time.dateTime = ticket.created_at || "";
            when.appendChild(time);
            row.appendChild(when);
            row.appendChild(el("td", "", display(ticket.queue)));
            row.appendChild(el("td", "ticket-text", display(ticket.text)));
            row.appendChild(el("td", "mono", display(ticket.session_id)));
            body.appendChild(row);
          });
        $("no-tickets").hidden = tickets.length > 0;
      })
      .catch(function (error) {
        if (error.status !== 401) showBanner("Could not load tickets: " + problem(error));
      });
  }

  /* ---- supervisor ---- */

  function loadSupervisor() {
    return loadDirectory()
      .then(function (data) {
        var queues = (data && data.queues) || [];
        var body = $("sv-queues").tBodies[0];
        clear(body);
        queues.forEach(function (queue) {
          var row = el("tr");
          row.setAttribute("data-queue", queue.name);
          var name = el("th", "", queue.name);
          name.scope = "row";
          row.appendChild(name);
          row.appendChild(el("td", "num", display(queue.waiting)));
          row.appendChild(el("td", "num", queue.waiting ? formatDuration(queue.oldest_wait_secs) : "\u2014"));
          row.appendChild(el("td", "num", display(queue.agents_online)));
          body.appendChild(row);
        });

        var waiting = (data && data.waiting) || [];
        var waitBody = $("sv-waiting").tBodies[0];
        clear(waitBody);
        var now = Date.now();
        waiting.forEach(function (item) {
          var row = el("tr");
          row.setAttribute("data-transfer", item.transfer);
          row.appendChild(el("td", "", display(item.queue)));
          var since = Date.parse(item.since);
          row.appendChild(el("td", "num", isNaN(since) ? "\u2014" : formatDuration((now - since) / 1000)));
          var reason = item.reason;
          var reasonText = reason && typeof reason === "object" ? reasonSummary({ reason: reason }) : humanize(reason);
          row.appendChild(el("td", "", display(reasonText)));
          row.appendChild(el("td", "mono", display(item.transfer)));
          waitBody.appendChild(row);
        });
        $("sv-no-waiting").hidden = waiting.length > 0;

        var agents = (data && data.agents) || [];
        var agentBody = $("sv-agents").tBodies[0];
        clear(agentBody);
        agents.forEach(function (agent) {
          var row = el("tr");
          row.setAttribute("data-agent", agent.id);
          var name = el("th", "", (agent.name || agent.id) + (agent.name && agent.name !== agent.id ? " (" + agent.id + ")" : ""));
          name.scope = "row";
          row.appendChild(name);
          var presence = el("td");
          presence.appendChild(el("span", "presence-dot presence-" + String(agent.presence || "offline").replace(/[^a-z]/g, ""), display(agent.presence)));
          row.appendChild(presence);
          row.appendChild(el("td", "num", display(agent.chats) + " / " + display(agent.capacity)));
          agentBody.appendChild(row);
        });
        $("supervisor-updated").textContent = "Updated " + new Date().toLocaleTimeString();
      })
      .catch(function (error) {
        if (error.status !== 401) $("supervisor-updated").textContent = "Could not refresh: " + problem(error);
      });
  }

  /* ---- views ---- */

  function viewFromPath() {
    var path = window.location.pathname.replace(/\/+$/, "");
    if (path === "/agent/supervisor") return "supervisor";
    if (path === "/agent/tickets") return "tickets";
    return "chats";
  }

  function setView(view, push) {
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

  /* ---- start ---- */

  function start() {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", logout);
    $("notify").addEventListener("click", function () { unlockAudio(); askNotificationPermission(); });
    $("presence").addEventListener("change", function (event) { unlockAudio(); setPresence(event.target.value); });
    $("composer").addEventListener("submit", sendMessage);
    $("message").addEventListener("input", onComposerInput);
    $("message").addEventListener("keydown", composerKey);
    $("message").addEventListener("blur", stopTyping);
    $("transfer-form").addEventListener("submit", transferChat);
    $("transfer-box").addEventListener("toggle", function () {
      if ($("transfer-box").open) loadDirectory().catch(function () { /* the field still takes any id */ });
    });
    var kinds = document.querySelectorAll("input[name='transfer-kind']");
    for (var i = 0; i < kinds.length; i++) kinds[i].addEventListener("change", fillTransferOptions);
    $("resolve").addEventListener("click", resolveChat);
    $("handback-form").addEventListener("submit", handBack);
    $("add-var").addEventListener("click", addVariableRow);
    $("dismiss").addEventListener("click", dismissChat);
    $("tickets-refresh").addEventListener("click", loadTickets);
    var tabs = document.querySelectorAll("#tabs a");
    for (var j = 0; j < tabs.length; j++) {
      tabs[j].addEventListener("click", function (event) {
        if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        setView(event.currentTarget.getAttribute("data-view"), true);
      });
    }
    window.addEventListener("popstate", function () { setView(viewFromPath(), false); });
    document.addEventListener("visibilitychange", function () {
      var chat = state.selected && state.chats.get(state.selected);
      if (chat) sendRead(chat);
    });
    // Any click is a user gesture that lets the offer sound play later.
    document.addEventListener("pointerdown", unlockAudio, { once: true });
    document.addEventListener("keydown", unlockAudio, { once: true });
    setInterval(tickCountdowns, 1000);

    state.token = storageGet("token");
    try { state.agent = JSON.parse(storageGet("agent") || "null"); } catch (e) { state.agent = null; }
    state.presence = storageGet("presence") || "online";
    renderOffers();
    renderChatList();
    renderQueues();
    renderChat();
    if (state.token) showConsole();
    else showLogin("");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
