// Boot: find the Gradio host (#rr-viewer), watch the state textbox (#rr-viewer-state), send events
// through #rr-viewer-event + #rr-viewer-event-btn, own the reading hotkeys (document level, capture).
import { Viewer } from "./viewer.js";

const HOST_ID = "rr-viewer", STATE_ID = "rr-viewer-state", EVENT_ID = "rr-viewer-event";
const EVENT_BTN_ID = "rr-viewer-event-btn";
const POLL_MS = 25;
const EVENT_TIMEOUT_MS = 20000;

const field = (id) => document.querySelector(`#${id} textarea, #${id} input`);

/** JS → Python events, one at a time: the next goes once the state changed (the handler refreshed it). */
class Bridge {
  constructor() { this.queue = []; this.busy = false; this.rev = null; this.timer = 0; this.sent = []; }

  send(event) { this.queue.push(event); this.pump(); }

  pump() {
    if (this.busy || !this.queue.length) return;
    const box = field(EVENT_ID), btn = document.getElementById(EVENT_BTN_ID);
    if (!box || !btn) { setTimeout(() => this.pump(), 200); return; }
    const event = this.queue.shift();
    this.busy = true;
    this.waitRev = this.rev;
    box.value = JSON.stringify(event);
    box.dispatchEvent(new Event("input", { bubbles: true }));
    this.sent.push(event);
    // let Gradio take the new value before the click reads it
    setTimeout(() => (btn.querySelector("button") || btn).click(), 0);
    this.timer = setTimeout(() => { this.busy = false; this.pump(); }, EVENT_TIMEOUT_MS);
  }

  onState(rev) {
    this.rev = rev;
    if (this.busy && rev !== this.waitRev) {
      clearTimeout(this.timer);
      this.busy = false;
      this.pump();
    }
  }
}

const bridge = new Bridge();
let viewer = null;
let lastState = null;

function poll() {
  const host = document.getElementById(HOST_ID);
  if (host) {
    const mount = host.querySelector(`#${HOST_ID}-canvas`) || host;
    if (!viewer) viewer = new Viewer(mount, bridge);
    else if (!viewer.root.isConnected || viewer.root !== mount && !mount.querySelector(".rr-vw")) viewer.attach(mount);
    const box = field(STATE_ID);
    if (box && box.value !== lastState) {
      lastState = box.value;
      viewer.setState(lastState);
    }
  }
}

function typing(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  if (target.tagName === "TEXTAREA") return true;
  if (target.tagName === "SELECT") return false;
  if (target.tagName !== "INPUT") return false;
  return !["checkbox", "radio", "button", "range", "submit", "reset", "file", "color"].includes(target.type);
}

function onKey(e) {
  if (!viewer || typing(e.target)) return;
  if (viewer.onKey(e)) {
    e.preventDefault();
    e.stopImmediatePropagation();
  }
}

window.addEventListener("keydown", onKey, true);
setInterval(poll, POLL_MS);
window.rrViewer = {
  get viewer() { return viewer; },
  bridge,
  snapshot: () => (viewer ? viewer.snapshot() : null),
};
