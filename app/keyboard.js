// radreview workspace keys, finding-row clicks and the address bar. Injected in <head>; no outside
// requests. The image's keys (arrows, w, o, tools) belong to the viewer's own script (frontend/).
//
// Every key press acts exactly once: a press is queued, and the next one is sent only when the server
// has answered this one (each review answer echoes the sequence number written into #rr-seq back into
// #rr-ack). Gradio drops a click on a button whose previous event is still pending, so without the
// queue fast presses were lost.
(function () {
  "use strict";
  if (window.__radreviewKeys) { return; }
  window.__radreviewKeys = true;

  // Reading-room default: dark theme unless the URL asks otherwise (?__theme=light).
  if (!/__theme=/.test(window.location.search)) {
    var dark = function () { document.body && document.body.classList.add("dark"); };
    if (document.body) { dark(); } else { document.addEventListener("DOMContentLoaded", dark); }
  }

  function button(id) {
    var el = document.getElementById(id);
    if (el && el.tagName !== "BUTTON") { el = el.querySelector("button") || el; }
    return el;
  }
  function field(id) {
    var root = document.getElementById(id);
    return root ? root.querySelector("textarea, input") : null;
  }
  function setField(id, value) {
    var el = field(id);
    if (!el) { return false; }
    el.value = value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
    return true;
  }
  // Text entry only: radios, checkboxes and buttons keep the keys working after they were clicked.
  var TEXT_TYPES = { text: 1, search: 1, number: 1, password: 1, email: 1, url: 1, tel: 1 };
  function typing(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable) { return true; }
    return tag === "INPUT" && !!TEXT_TYPES[(target.type || "text").toLowerCase()];
  }
  function toggleHelp(force) {
    var help = document.getElementById("rr-help");
    if (!help) { return; }
    help.hidden = force === undefined ? !help.hidden : !force;
  }
  function hint(text) {
    var box = document.getElementById("rr-message");
    if (box) { box.innerHTML = '<span class="rr-msg rr-msg-hint"></span>'; box.firstChild.textContent = text; }
  }

  // ------------------------------------------------------------------ the press queue
  var queue = [], busy = false, seq = 0;
  function acked(n) { var a = field("rr-ack"); return a && String(a.value) === String(n); }
  function pump() {
    if (busy || !queue.length) { return; }
    var job = queue.shift();
    var btn = button(job.id);
    if (!btn || btn.disabled) {  // e.g. Reject before a reason was chosen: say why, send nothing
      if (job.refused) { job.refused(); }
      pump();
      return;
    }
    if (job.before && !job.before()) { pump(); return; }
    busy = true;
    seq += 1;
    var mine = seq, started = Date.now();
    setField("rr-seq", String(mine));
    setTimeout(function () {
      btn.click();
      var wait = setInterval(function () {
        if (acked(mine) || Date.now() - started > 30000) {
          clearInterval(wait);
          busy = false;
          pump();
        }
      }, 15);
    }, 20);
  }
  function send(id, extra) {
    var job = extra || {};
    job.id = id;
    queue.push(job);
    pump();
  }
  window.__radreviewSend = send;  // for tests and the viewer script
  window.__radreviewIdle = function () { return !busy && !queue.length; };

  function reasonFirst() {
    hint("choose a reason code first — Reject and Save edit need one");
    var reason = field("rr-reason");
    if (reason) { reason.focus(); }
  }
  var keys = {
    j: function () { send("rr-key-next"); },
    k: function () { send("rr-key-prev"); },
    a: function () { send("rr-accept"); },
    r: function () { send("rr-reject", { refused: reasonFirst }); },
    n: function () { send("rr-next-case"); },
    e: function () {
      var t = field("rr-text");
      if (!t) { return; }
      t.focus();
      var end = t.value.length;
      t.setSelectionRange(end, end);  // cursor at the end: typing adds, it does not replace
    },
    "?": function () { toggleHelp(); }
  };
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      if (!ev.repeat) { send("rr-sign"); }
      return;
    }
    if (ev.key === "Escape") {
      toggleHelp(false);
      if (typing(ev.target)) { ev.target.blur(); }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) { return; }
    var fn = Object.prototype.hasOwnProperty.call(keys, ev.key) ? keys[ev.key] : null;
    if (!fn) { return; }
    ev.preventDefault();
    ev.stopPropagation();
    if (!ev.repeat) { fn(); }  // a held key does not accept a whole report
  }, true);

  // A click on a finding's row in the report selects it (the report lists each finding once).
  document.addEventListener("click", function (ev) {
    var row = ev.target && ev.target.closest && ev.target.closest("#rr-report [data-finding]");
    if (!row) { return; }
    var id = row.getAttribute("data-finding");
    send("rr-select-btn", { before: function () { return setField("rr-select", id); } });
  }, true);

  // The address keeps case and finding (from #rr-url, written by the server with every review
  // answer); the viewer script keeps plane and slice there, which survive as long as the case does.
  setInterval(function () {
    var url = field("rr-url");
    if (!url || !url.value) { return; }
    var want = new URLSearchParams(url.value);
    var now = new URLSearchParams(window.location.search);
    var next = new URLSearchParams();
    var sameCase = now.get("case") === want.get("case");
    want.forEach(function (v, k) { next.set(k, v); });
    now.forEach(function (v, k) {
      if (k === "case" || k === "finding") { return; }
      if ((k === "plane" || k === "slice") && !sameCase) { return; }
      next.set(k, v);
    });
    var query = "?" + next.toString();
    if (window.location.search !== query) {
      window.history.replaceState(null, "", window.location.pathname + query);
    }
  }, 300);
})();
