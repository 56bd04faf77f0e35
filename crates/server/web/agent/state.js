/*
 * The console's state, shared by every module: the timings, what the server told us (offers,
 * chats, queues), the token, and what survives a reload in sessionStorage.
 */
const STORE = "baton-agent:";
export const MAX_BACKOFF_MS = 30000;
export const PING_MS = 25000;
export const TYPING_IDLE_MS = 3000;
export const CUSTOMER_TYPING_MS = 15000;
export const SUPERVISOR_REFRESH_MS = 3000;
export const TICKETS_REFRESH_MS = 15000;
/* Chats the server did not list again this long after `hello` ended while we were away. */
export const REBUILD_GRACE_MS = 3000;

export const state = {
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
export const console_ = { beeps: 0, notifications: 0, state: state };
window.BatonConsole = console_;

export function storageGet(key) {
  try { return window.sessionStorage.getItem(STORE + key); } catch (e) { return null; }
}

export function storageSet(key, value) {
  try {
    if (value === null || value === undefined) window.sessionStorage.removeItem(STORE + key);
    else window.sessionStorage.setItem(STORE + key, value);
  } catch (e) { /* storage disabled: this tab still works until it reloads */ }
}
